/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/policy_room.c - will the ipcache hold the CIDR peers of a
 * batch? Checked before anything is acquired, so that a policy with more
 * CIDR peers than the datapath's ipcache holds is refused at once, naming
 * the limit and daemon.ipcache_max_entries, instead of filling the maps
 * for many seconds and failing half way with "No space left on device".
 *
 * Counted: every distinct prefix (cidr and except, not /0) of the batch's
 * new policy versions that the ipcache does not hold yet, per address
 * family, on top of what it holds. Prefixes the replaced versions free are
 * not subtracted (they are released after the new ones are in).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/datapath/datapath.h"
#include "core/node/ipcache.h"
#include "core/policy/policy_int.h"
#include "core/policy/resolver.h"
#include "core/policy/resolver_util.h"
#include "lib/errbuf.h"
#include "lib/prefix.h"

struct room_key {
	uint8_t family, plen;
	uint8_t addr[16];
};

static int room_count(struct rv_map *seen, int family, const uint8_t *addr, int plen,
		      size_t need[2])
{
	struct room_key k;
	struct bw_prefix p;

	if (!plen)
		return 0; /* reserved:world */
	memset(&k, 0, sizeof(k));
	memset(&p, 0, sizeof(p));
	k.family = (uint8_t)family;
	k.plen = (uint8_t)plen;
	memcpy(k.addr, addr, 16);
	if (rv_map_get(seen, &k, sizeof(k)))
		return 0;
	if (rv_map_put(seen, &k, sizeof(k), (void *)1) < 0)
		return -ENOMEM;
	p.family = family;
	p.plen = plen;
	memcpy(p.addr, addr, 16);
	if (!bw_ipcache_has(&p))
		need[family == 4 ? 0 : 1]++;
	return 0;
}

int bw_pol_ipcache_room(struct bw_rv_policy *const *pols, size_t n, char *err, size_t errlen)
{
	struct rv_map seen;
	size_t need[2] = { 0, 0 }, have[2], max = bw_datapath_ipcache_max();
	int rc = 0;

	rv_map_init(&seen);
	for (size_t x = 0; x < n && rc == 0; x++) {
		const struct bw_rv_policy *p = pols[x];

		for (size_t i = 0; p && i < p->nrules && rc == 0; i++)
			for (int d = 1; d <= 2 && rc == 0; d++)
				for (size_t j = 0; j < p->rules[i].nentries[d] && rc == 0; j++) {
					const struct bw_rv_ruleentry *en = &p->rules[i].entries[d][j];

					for (size_t k = 0; k < en->npeers && rc == 0; k++) {
						const struct bw_rv_peerdef *pd = &en->peers[k];

						if (pd->type != BW_RV_PEER_CIDR)
							continue;
						rc = room_count(&seen, pd->family, pd->addr, pd->plen, need);
						for (size_t e = 0; e < pd->nexcept && rc == 0; e++)
							rc = room_count(&seen, pd->except[e].family,
									pd->except[e].addr,
									pd->except[e].plen, need);
					}
				}
	}
	rv_map_clear(&seen);
	if (rc < 0)
		return bw_errbuf_set(err, errlen, "out of memory"), -ENOMEM;
	have[0] = bw_ipcache_count(4);
	have[1] = bw_ipcache_count(6);
	for (int f = 0; f < 2; f++)
		if (have[f] + need[f] > max) {
			snprintf(err, errlen,
				 "nothing changed: the policies need %zu more IPv%d ipcache entries (CIDR peers) and the ipcache holds %zu of at most %zu; raise daemon.ipcache_max_entries or use fewer CIDR peers",
				 need[f], f ? 6 : 4, have[f], max);
			return -E2BIG;
		}
	return 0;
}
