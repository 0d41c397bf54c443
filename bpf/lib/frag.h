/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * frag.h - fragment tracking. The first fragment of a datagram records its
 * L4 ports (CT form) and ICMP type under (src, dst, id, protocol); later
 * fragments, which carry no L4 header, take them from there and then go
 * through conntrack and policy like any packet, so fragmentation never
 * bypasses policy. A later fragment whose first fragment was not seen is
 * dropped with BW_DROP_FRAG_NOT_FOUND in an enforced direction.
 */
#ifndef BW_LIB_FRAG_H
#define BW_LIB_FRAG_H

#include "lib/maps.h"

static __always_inline void bw_frag_key_fill(struct bw_frag_key *k, const struct bw_pkt *p)
{
	__builtin_memcpy(k->saddr, p->saddr, 16);
	__builtin_memcpy(k->daddr, p->daddr, 16);
	k->id = p->frag_id;
	k->protocol = p->proto;
	k->family = p->family;
	k->pad0[0] = 0;
	k->pad0[1] = 0;
}

static __always_inline void bw_frag_record(const struct bw_pkt *p, struct bw_frag_key *k)
{
	struct bw_frag_value v = {
		.sport = p->sport,
		.dport = p->dport,
		.icmp_type = p->icmp_type,
		.flags = p->flags & (BW_PKT_ECHO_REQ | BW_PKT_ECHO_REP | BW_PKT_ICMP),
	};

	bw_frag_key_fill(k, p);
	bpf_map_update_elem(&bw_frag, k, &v, BPF_ANY);
}

/* Fill a later fragment's L4 fields. Returns 0, or -1 if not tracked. */
static __always_inline int bw_frag_resolve(struct bw_pkt *p, struct bw_frag_key *k)
{
	struct bw_frag_value *v;

	bw_frag_key_fill(k, p);
	v = bpf_map_lookup_elem(&bw_frag, k);
	if (!v)
		return -1;
	p->sport = v->sport;
	p->dport = v->dport;
	p->icmp_type = v->icmp_type;
	p->flags |= v->flags;
	if (v->flags & BW_PKT_ICMP)
		p->pol_port = bpf_htons((__u16)v->icmp_type << 8);
	else
		p->pol_port = v->dport;
	return 0;
}

#endif /* BW_LIB_FRAG_H */
