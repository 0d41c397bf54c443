/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * events.h - metrics counters (per CPU, by reason and direction) and
 * struct bw_event records to the bw_events ring buffer. A full ring buffer
 * is counted in bw_events_lost, never retried. A class of events that the
 * configuration switched off (BW_CFG_F_NO_*) is not written at all.
 *
 * Records are submitted without waking the reader (BPF_RB_NO_WAKEUP) until
 * BW_EVENTS_WAKEUP_BYTES are waiting: the daemon reads the ring on a short
 * timer as well, so it wakes per batch, not per event.
 */
#ifndef BW_LIB_EVENTS_H
#define BW_LIB_EVENTS_H

#include "lib/maps.h"

static __always_inline void bw_metrics_add(__u8 reason, __u8 dir, __u32 len)
{
	__u32 idx = BW_METRICS_IDX(reason, dir);
	struct bw_metrics_value *v;

	if (idx >= BW_METRICS_SLOTS)
		return;
	v = bpf_map_lookup_elem(&bw_metrics, &idx);
	if (!v)
		return;
	v->packets += 1;
	v->bytes += len;
}

/* Everything an event needs that is not in the packet. */
struct bw_ev_ctx {
	__u32 ep_id;
	__u32 ifindex;
	__u32 src_identity;
	__u32 dst_identity;
	__u32 cfg_flags; /* struct bw_config flags: the BW_CFG_F_NO_* switches */
	__u8 dir;
	__u8 to_proxy;    /* traces say TO_PROXY */
	__be16 proxy_port; /* copied into the events (REDIRECTED, to-proxy) */
};

static __always_inline int bw_event_enabled(const struct bw_ev_ctx *c, __u8 type)
{
	__u32 off = type == BW_EVENT_TRACE ? BW_CFG_F_NO_TRACE
		  : type == BW_EVENT_DROP ? BW_CFG_F_NO_DROP
					  : BW_CFG_F_NO_POLICY_VERDICT;

	return !(c->cfg_flags & off);
}

static __always_inline void bw_event_send(const struct bw_pkt *p, const struct bw_ev_ctx *c,
					  __u8 type, __u8 subtype, __u8 verdict, __u32 flags,
					  __u32 rule_ref, __u8 match_type, __u64 ct_packets,
					  __u64 ct_bytes)
{
	struct bw_event *e;
	__u64 wake;

	if (!bw_event_enabled(c, type))
		return;
	e = bpf_ringbuf_reserve(&bw_events, sizeof(*e), 0);
	if (!e) {
		__u32 zero = 0;
		__u64 *lost = bpf_map_lookup_elem(&bw_events_lost, &zero);

		if (lost)
			*lost += 1;
		return;
	}
	e->type = type;
	e->subtype = subtype;
	e->direction = c->dir;
	e->protocol = p->proto;
	e->flags = flags | (p->family == 6 ? BW_EV_F_IPV6 : 0);
	e->ts_ns = bpf_ktime_get_ns();
	e->ep_id = c->ep_id;
	e->ifindex = c->ifindex;
	e->src_identity = c->src_identity;
	e->dst_identity = c->dst_identity;
	e->rule_ref = rule_ref;
	e->match_type = match_type;
	e->tcp_flags = p->tcp_flags;
	e->verdict = verdict;
	e->icmp_type = p->icmp_type;
	if (p->family == 6) {
		__builtin_memcpy(e->saddr, p->saddr, 16);
		__builtin_memcpy(e->daddr, p->daddr, 16);
	} else {
		__builtin_memset(e->saddr, 0, 16);
		__builtin_memset(e->daddr, 0, 16);
		__builtin_memcpy(e->saddr, &p->saddr[12], 4);
		__builtin_memcpy(e->daddr, &p->daddr[12], 4);
	}
	if (p->flags & BW_PKT_ICMP) {
		/* ICMP: sport = echo identifier, dport = the code (the type is in
		 * icmp_type); a later fragment's code is unknown (0) */
		e->sport = p->sport ? p->sport : p->dport;
		e->dport = bpf_htons((__u16)p->icmp_code);
	} else {
		e->sport = p->sport;
		e->dport = p->dport;
	}
	e->pkt_len = p->len;
	e->ct_packets = ct_packets;
	e->ct_bytes = ct_bytes;
	e->proxy_port = c->proxy_port;
	__builtin_memset(e->pad0, 0, sizeof(e->pad0));
	wake = bpf_ringbuf_query(&bw_events, BPF_RB_AVAIL_DATA) >= BW_EVENTS_WAKEUP_BYTES
		       ? BPF_RB_FORCE_WAKEUP
		       : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, wake);
}

#endif /* BW_LIB_EVENTS_H */
