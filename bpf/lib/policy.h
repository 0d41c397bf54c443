/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * policy.h - the policy decision for a new connection: two lookups in the
 * bw_policy LPM trie, one with the exact peer identity (L3) and one with
 * identity 0 (L4-only), combined with Cilium's precedence:
 *   1. a deny entry in either lookup wins (L3 first);
 *   2. otherwise a redirect to a proxy beats a plain allow (Cilium's
 *      proxy_port_priority);
 *   3. otherwise the longer protocol/port prefix wins;
 *   4. on a tie the L3 entry wins.
 * No entry is DROP_POLICY (133); a deny entry is DROP_POLICY_DENY (181).
 * A visibility entry (BW_POL_F_VISIBILITY, identity 0 only) takes no part
 * in the verdict; an allowed connection that no entry redirects goes to
 * its proxy class.
 * core/datapath/datapath.c (bw_datapath_policy_lookup) mirrors this in user space
 * over the same map; keep the two in step.
 */
#ifndef BW_LIB_POLICY_H
#define BW_LIB_POLICY_H

#include "lib/maps.h"

struct bw_verdict {
	__u32 rule_ref;
	__u8 reason;     /* 0 allowed, else BW_DROP_POLICY or BW_DROP_POLICY_DENY */
	__u8 match_type; /* BW_MATCH_* */
	__u8 proxy_class; /* allowed and redirected to this proxy class */
	__u8 pending;     /* bw_stage: the BW_VERDICT_* of a POLICY_VERDICT event
			   * still to send, else 0 */
};

static __always_inline __u8 bw_policy_match_type(int is_l3, __u8 plen)
{
	if (is_l3)
		return plen == 0 ? BW_MATCH_L3_ONLY : plen <= 8 ? BW_MATCH_L3_PROTO : BW_MATCH_L3_L4;
	return plen == 0 ? BW_MATCH_ALL : plen <= 8 ? BW_MATCH_PROTO_ONLY : BW_MATCH_L4_ONLY;
}

static __always_inline void bw_policy_check(__u32 ep_id, __u32 peer_id, __u8 dir, __u8 proto,
					    __be16 port, struct bw_verdict *v)
{
	struct bw_policy_key k = {
		.prefixlen = BW_POLICY_FULL_BITS,
		.ep_id = bpf_htonl(ep_id),
		.identity = bpf_htonl(peer_id),
		.direction = dir,
		.protocol = proto,
		.dport = port,
	};
	struct bw_policy_value *l3, *l4, *win;
	__u8 vis = 0;
	int is_l3;

	l3 = bpf_map_lookup_elem(&bw_policy, &k);
	if (l3 && (l3->flags & BW_POL_F_DENY)) {
		v->reason = BW_DROP_POLICY_DENY;
		v->rule_ref = l3->rule_ref;
		v->match_type = bw_policy_match_type(1, l3->prefix_len);
		return;
	}
	k.identity = 0;
	l4 = bpf_map_lookup_elem(&bw_policy, &k);
	if (l4 && (l4->flags & BW_POL_F_VISIBILITY)) {
		/* no verdict of its own: only a proxy for what is allowed */
		vis = l4->proxy_class;
		l4 = NULL;
	}
	if (l4 && (l4->flags & BW_POL_F_DENY)) {
		v->reason = BW_DROP_POLICY_DENY;
		v->rule_ref = l4->rule_ref;
		v->match_type = bw_policy_match_type(0, l4->prefix_len);
		return;
	}
	if (l3 && l4) {
		if (!l3->proxy_class != !l4->proxy_class)
			is_l3 = l3->proxy_class != 0;
		else
			is_l3 = l3->prefix_len >= l4->prefix_len;
		win = is_l3 ? l3 : l4;
	} else if (l3) {
		is_l3 = 1;
		win = l3;
	} else if (l4) {
		is_l3 = 0;
		win = l4;
	} else {
		v->reason = BW_DROP_POLICY;
		v->rule_ref = 0;
		v->match_type = BW_MATCH_NONE;
		return;
	}
	v->reason = 0;
	v->rule_ref = win->rule_ref;
	v->match_type = bw_policy_match_type(is_l3, win->prefix_len);
	v->proxy_class = win->proxy_class ? win->proxy_class : vis;
}

#endif /* BW_LIB_POLICY_H */
