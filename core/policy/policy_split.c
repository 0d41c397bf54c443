/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/policy_split.c - the repository's side of split identities:
 * Kubernetes ipBlock peers match addresses, so an address an ipBlock
 * splits off its endpoint's identity gets an identity of its own
 * (core/policy/resolver_split.c decides which; docs/policy.md). Here the
 * identity is acquired from the identity registry and the address is
 * pointed at it in the ipcache (owner ipblock).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "core/log.h"
#include "core/node/identity.h"
#include "core/node/ipcache.h"
#include "core/node/labels.h"
#include "core/policy/policy_int.h"
#include "core/policy/resolver.h"
#include "lib/prefix.h"

/*
 * Split identities (core/policy/resolver_split.c): the base identity's
 * labels plus reserved:ipblock-split=<sigkey>, acquired like an endpoint
 * identity (so the identity module keeps its number across restarts). A
 * failure leaves the addresses on their base identity, which the ipBlock
 * then does not select (fail closed); it is logged once until it works.
 */
int bw_pol_split_acquire(void *arg, uint32_t base, const char *sigkey, uint32_t *id)
{
	static int failed;
	const struct bw_labelset *bl = bw_identity_labels(base);
	struct bw_labelset *ls = bl ? bw_labelset_dup(bl) : NULL;
	int err = ls ? 0 : -ENOMEM;

	if (!bl)
		err = -ENOENT;
	if (!err)
		err = bw_labelset_add(ls, BW_LABEL_SOURCE_RESERVED, BW_RV_SPLIT_LABEL, sigkey);
	if (!err)
		err = bw_identity_acquire(ls, id);
	bw_labelset_free(ls);
	if (err < 0 && !failed++)
		bw_err_errno(err,
			     "policy: cannot get an identity for the addresses of identity %u that an ipBlock holds (the ipBlock does not admit them until it can)",
			     base);
	else if (!err)
		failed = 0;
	return err;
}

void bw_pol_split_release(void *arg, uint32_t id)
{
	bw_identity_release(id);
}

int bw_pol_split_map(void *arg, uint32_t ep_id, const struct bw_rv_addr *a, uint32_t id)
{
	struct bw_prefix p = { .family = a->family, .plen = a->family == 4 ? 32 : 128 };
	int err;

	memcpy(p.addr, a->addr, 16);
	if (id)
		err = bw_ipcache_upsert(&p, id, ep_id, BW_IPCACHE_OWNER_IPBLOCK);
	else
		err = bw_ipcache_remove(&p, BW_IPCACHE_OWNER_IPBLOCK);
	if (err == -ENOENT)
		err = 0;
	if (err < 0) {
		char buf[INET6_ADDRSTRLEN + 8];

		bw_err_errno(err, "policy: cannot point %s at identity %u in the ipcache",
			     bw_prefix_format(&p, 0, buf, sizeof(buf)), id);
	}
	return err;
}
