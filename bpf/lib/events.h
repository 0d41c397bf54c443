/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * events.h - metrics counters (per CPU, by reason and direction) and
 * struct bw_event records to the bw_events ring buffer. A full ring buffer
 * is counted in bw_events_lost, never retried. A class of events that the
 * configuration switched off (BW_CFG_F_NO_*) is not written at all.
 *
 * Records are submitted without waking the reader (BPF_RB_NO_WAKEUP); the
 * one that brings the waiting data to BW_EVENTS_WAKEUP_BYTES wakes it: the
 * daemon reads the ring on a short timer as well, so it wakes per batch,
 * not per event.
 */
#ifndef BW_LIB_EVENTS_H
#define BW_LIB_EVENTS_H

#include "lib/maps.h"

/* what one record takes in the ring: the event and the ring's 8-byte header */
#define BW_EVENT_REC_BYTES (((sizeof(struct bw_event) + 7) & ~7ul) + 8)

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
	__u64 ts;         /* bpf_ktime_get_ns() of the packet's first event, 0 before */
};

static __always_inline int bw_event_enabled(const struct bw_ev_ctx *c, __u8 type)
{
	__u32 off = type == BW_EVENT_TRACE ? BW_CFG_F_NO_TRACE
		  : type == BW_EVENT_DROP ? BW_CFG_F_NO_DROP
					  : BW_CFG_F_NO_POLICY_VERDICT;

	return !(c->cfg_flags & off);
}

/* The record of one event, or of two (flags BW_EV_F_WITH_*: the second is
 * counted lost with the first when the ring is full). */
static __always_inline void bw_event_send(const struct bw_pkt *p, struct bw_ev_ctx *c,
					  __u8 type, __u8 subtype, __u8 verdict, __u32 flags,
					  __u32 rule_ref, __u8 match_type, __u64 ct_packets,
					  __u64 ct_bytes)
{
	struct bw_event *e;
	__u64 wake, avail;

	if (!bw_event_enabled(c, type))
		return;
	e = bpf_ringbuf_reserve(&bw_events, sizeof(*e), 0);
	if (!e) {
		__u32 zero = 0;
		__u64 *lost = bpf_map_lookup_elem(&bw_events_lost, &zero);

		if (lost)
			*lost += (flags & (BW_EV_F_WITH_TRACE | BW_EV_F_WITH_DROP)) ? 2 : 1;
		return;
	}
	e->type = type;
	e->subtype = subtype;
	e->direction = c->dir;
	e->protocol = p->proto;
	e->flags = flags | (p->family == 6 ? BW_EV_F_IPV6 : 0);
	if (!c->ts)
		c->ts = bpf_ktime_get_ns(); /* one clock read per packet */
	e->ts_ns = c->ts;
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
	/*
	 * Only the record that takes the unread data across the threshold
	 * wakes the reader (it drains everything then): waking on every
	 * record above it costs an irq_work per event whenever the reader
	 * lags, microseconds each.
	 */
	avail = bpf_ringbuf_query(&bw_events, BPF_RB_AVAIL_DATA);
	wake = avail >= BW_EVENTS_WAKEUP_BYTES && avail < BW_EVENTS_WAKEUP_BYTES + BW_EVENT_REC_BYTES
		       ? BPF_RB_FORCE_WAKEUP
		       : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, wake);
}

#endif /* BW_LIB_EVENTS_H */
