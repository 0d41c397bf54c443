/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/datapath/datapath_ct.c - the user side of connection tracking: walking bw_ct
 * (batched lookups), garbage collection, flushing an endpoint's
 * connections, and revalidation (connections a policy or ipcache change
 * denies become tombstones), with the batches that coalesce revalidations.
 * The datapath's life cycle and the other maps are in core/datapath/datapath.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "core/datapath/datapath.h"
#include "core/datapath/datapath_int.h"
#include "core/log.h"

/* ---- connection tracking --------------------------------------------------------- */

/* One entry at a time: for kernels without batch lookups on hash maps. */
static int dp_ct_foreach_slow(int fd, int (*fn)(const struct bw_ct_key *,
						const struct bw_ct_entry *, void *),
			      void *arg)
{
	struct bw_ct_key key, next;
	struct bw_ct_entry val;
	int rc, first = 1;

	for (;;) {
		if (bpf_map_get_next_key(fd, first ? NULL : &key, &next) < 0)
			return errno == ENOENT ? 0 : -errno;
		first = 0;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &val) < 0)
			continue;
		rc = fn(&key, &val, arg);
		if (rc)
			return rc < 0 ? rc : 0;
	}
}

#define DP_CT_BATCH 4096

/*
 * The walks (gc, revalidation) run on the daemon's event loop, so they read
 * the table in batches of DP_CT_BATCH entries per syscall rather than two
 * syscalls per entry.
 */
int bw_datapath_ct_foreach(int (*fn)(const struct bw_ct_key *, const struct bw_ct_entry *, void *),
			   void *arg)
{
	struct bw_ct_key *keys;
	struct bw_ct_entry *vals;
	__u32 in_tok = 0, out_tok = 0, count, i;
	int fd, rc = dp_ready(), first = 1, done = 0;

	if (rc < 0)
		return rc;
	fd = dp_fd_ct();
	keys = calloc(DP_CT_BATCH, sizeof(*keys));
	vals = calloc(DP_CT_BATCH, sizeof(*vals));
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	while (!done) {
		count = DP_CT_BATCH;
		rc = bpf_map_lookup_batch(fd, first ? NULL : &in_tok, &out_tok, keys, vals, &count,
					  NULL);
		if (rc < 0) {
			rc = -errno;
			if (rc == -ENOENT) {
				done = 1; /* last batch (count may still be > 0) */
			} else if (first && (rc == -EINVAL || rc == -EOPNOTSUPP || rc == -524)) {
				/* 524: the kernel's ENOTSUPP */
				rc = dp_ct_foreach_slow(fd, fn, arg);
				goto out;
			} else {
				goto out;
			}
		}
		first = 0;
		in_tok = out_tok;
		for (i = 0; i < count; i++) {
			rc = fn(&keys[i], &vals[i], arg);
			if (rc) {
				rc = rc < 0 ? rc : 0;
				goto out;
			}
		}
	}
	rc = 0;
out:
	free(keys);
	free(vals);
	return rc;
}

struct dp_ct_sel {
	int mode;          /* 0 gc, 1 flush endpoint, 2 revalidate */
	uint32_t ep_id;
	uint32_t now;      /* jiffies (struct bw_ct_entry) */
	struct bw_ct_key *keys; /* matching keys, acted on after the walk */
	struct bw_ct_entry *vals;
	size_t n, cap;
};

static int dp_ct_enforced(const struct bw_endpoint_info *ep, uint8_t dir)
{
	if (dp_config()->enforcement == BW_ENFORCE_NEVER)
		return 0;
	if (dp_config()->enforcement == BW_ENFORCE_ALWAYS)
		return 1;
	return (ep->flags & (dir == BW_DIR_INGRESS ? BW_EP_F_ENFORCE_INGRESS
						   : BW_EP_F_ENFORCE_EGRESS)) != 0;
}

/* Would the current policy deny this tracked connection? */
static int dp_ct_denied_now(const struct dp_ct_sel *s, const struct bw_ct_key *k)
{
	const struct bw_endpoint_info *ep = dp_ep_info(k->ep_id);
	struct bw_policy_verdict v;
	uint32_t peer;
	uint16_t port;

	(void)s;
	if (!ep || !dp_ct_enforced(ep, k->direction))
		return 0;
	if ((ep->flags & BW_EP_F_AUDIT) || (dp_config()->flags & BW_CFG_F_AUDIT))
		return 0;
	peer = dp_ipcache_identity(k->family,
				   k->direction == BW_DIR_EGRESS ? k->daddr : k->saddr);
	if (k->protocol == IPPROTO_ICMP)
		port = 8; /* only echo requests are tracked */
	else if (k->protocol == IPPROTO_ICMPV6)
		port = 128;
	else
		port = ntohs(k->dport);
	if (bw_datapath_policy_lookup(k->ep_id, peer, k->direction, k->protocol, port, &v) < 0)
		return 0;
	return !v.allowed;
}

/* Deadlines are jiffies truncated to 32 bits: signed differences. */
static int dp_ct_expired(const struct bw_ct_entry *v, uint32_t now)
{
	return (int32_t)(v->expires - now) < 0;
}

static int dp_ct_select(const struct bw_ct_key *k, const struct bw_ct_entry *v, void *arg)
{
	struct dp_ct_sel *s = arg;
	int take;

	switch (s->mode) {
	case 0:
		/* expired, or of an endpoint that no longer exists
		 * (bw_datapath_endpoint_del leaves them to this sweep) */
		take = dp_ct_expired(v, s->now) || !dp_ep_live(k->ep_id);
		break;
	case 1:
		take = k->ep_id == s->ep_id;
		break;
	default:
		/* a proxy's upstream entry was not made by the endpoint's policy */
		take = (!s->ep_id || k->ep_id == s->ep_id) &&
		       !(v->flags & (BW_CT_F_DENIED | BW_CT_F_UPSTREAM)) &&
		       !dp_ct_expired(v, s->now) && dp_ct_denied_now(s, k);
		break;
	}
	if (!take)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct bw_ct_key *nk = realloc(s->keys, cap * sizeof(*nk));
		struct bw_ct_entry *nv;

		if (!nk)
			return -ENOMEM;
		s->keys = nk;
		nv = realloc(s->vals, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		s->vals = nv;
		s->cap = cap;
	}
	s->keys[s->n] = *k;
	s->vals[s->n] = *v;
	s->n++;
	return 0;
}

static int dp_ct_run(int mode, uint32_t ep_id)
{
	static const char *what[] = { "garbage collection", "flush", "revalidation" };
	struct dp_ct_sel s = { .mode = mode, .ep_id = ep_id, .now = dp_ct_now() };
	int fd, rc = dp_ready(), done = 0;
	size_t i;

	if (rc < 0)
		return rc;
	/* never ready (its veth never had the programs): no connection */
	if (mode != 0 && ep_id && !dp_ep_may_have_ct(ep_id))
		return 0;
	rc = bw_datapath_ct_foreach(dp_ct_select, &s);
	if (rc < 0)
		goto out;
	fd = dp_fd_ct();
	for (i = 0; i < s.n; i++) {
		if (mode == 2) {
			struct bw_ct_entry v = s.vals[i];
			uint32_t life = dp_config()->ct_nontcp_s ? dp_config()->ct_nontcp_s
							   : BW_CT_LIFETIME_NONTCP;

			v.flags |= BW_CT_F_DENIED;
			v.expires = s.now + dp_ct_ticks(life);
			if (bpf_map_update_elem(fd, &s.keys[i], &v, BPF_EXIST) == 0)
				done++;
		} else if (bpf_map_delete_elem(fd, &s.keys[i]) == 0) {
			done++;
		}
	}
	rc = done;
	if (mode == 0)
		dp_eps_collected();
out:
	if (rc < 0)
		bw_err_errno(rc, "datapath: conntrack %s", what[mode]);
	free(s.keys);
	free(s.vals);
	return rc;
}

int bw_datapath_ct_gc(void)
{
	return dp_ct_run(0, 0);
}

int bw_datapath_ct_flush_endpoint(uint32_t ep_id)
{
	return dp_ct_run(1, ep_id);
}

int bw_datapath_ct_revalidate(uint32_t ep_id)
{
	return dp_ct_run(2, ep_id);
}

static int dp_revalidate_all(void)
{
	int rc = dp_ct_run(2, 0);

	return rc < 0 ? rc : 0;
}

/*
 * Batches: inside bw_datapath_batch_begin()/end() (an API request, a policy
 * directory rescan) the revalidations of every connection that ipcache
 * changes ask for are done once, at the end, instead of once per changed
 * prefix: releasing 10,000 CIDR identities walks the conntrack table once,
 * not 10,000 times. The end comes before the loop runs again, so before a
 * request's reply leaves.
 */
static unsigned dp_batch_depth;
static int dp_batch_reval_all;

int dp_revalidate_all_req(void)
{
	if (dp_batch_depth) {
		dp_batch_reval_all = 1;
		return 0;
	}
	return dp_revalidate_all();
}

void bw_datapath_batch_begin(void)
{
	dp_batch_depth++;
}

int bw_datapath_batch_end(void)
{
	if (!dp_batch_depth || --dp_batch_depth || !dp_batch_reval_all)
		return 0;
	dp_batch_reval_all = 0;
	return dp_ready() < 0 ? 0 : dp_revalidate_all();
}

int bw_datapath_ct_get(const struct bw_ct_key *k, struct bw_ct_entry *e)
{
	int rc = dp_ready();

	if (rc < 0)
		return rc;
	if (bpf_map_lookup_elem(dp_fd_ct(), k, e) < 0)
		return -errno;
	if (dp_ct_expired(e, dp_ct_now()))
		return -ENOENT;
	return 0;
}

int bw_datapath_ct_put(const struct bw_ct_key *k, const struct bw_ct_entry *e)
{
	int rc = dp_ready();

	if (rc < 0)
		return rc;
	if (bpf_map_update_elem(dp_fd_ct(), k, e, BPF_ANY) < 0) {
		rc = -errno;
		bw_err("datapath: writing a connection tracking entry: %s", strerror(errno));
		return rc;
	}
	return 0;
}
