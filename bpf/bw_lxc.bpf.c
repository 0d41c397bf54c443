// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bw_lxc.bpf.c - the endpoint programs, attached to the tc hooks (tcx links
 * where the kernel has them, else clsact; core/datapath/tcattach.c) of each
 * endpoint's HOST-SIDE veth:
 *   bw_from_lxc  tc ingress: traffic LEAVING the endpoint -> anti-spoofing
 *                and the endpoint's EGRESS policy;
 *   bw_to_lxc    tc egress: traffic ENTERING the endpoint -> its INGRESS
 *                policy.
 * The endpoint is found by ifindex in bw_endpoints; an interface without an
 * entry passes untouched. Per packet: parse, fragment resolution, anti-
 * spoofing (from_lxc), NDP/MLD pass, peer identity from the ipcache,
 * conntrack; only NEW packets in an enforced direction consult the policy
 * map (ESTABLISHED and REPLY packets do not, see docs/datapath.md).
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/ipcache.h"
#include "lib/policy.h"
#include "lib/conntrack.h"
#include "lib/frag.h"
#include "lib/events.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline int bw_drop(const struct bw_pkt *p, const struct bw_ev_ctx *c, __u8 reason,
				   __u32 rule_ref, __u8 match_type)
{
	bw_metrics_add(reason, c->dir, p->len);
	bw_event_send(p, c, BW_EVENT_DROP, reason, BW_VERDICT_DROPPED, 0, rule_ref, match_type, 0,
		      0);
	return TC_ACT_SHOT;
}

static __always_inline int bw_pass(const struct bw_pkt *p, const struct bw_ev_ctx *c)
{
	bw_metrics_add(0, c->dir, p->len);
	return TC_ACT_OK;
}

static __always_inline void bw_trace(const struct bw_pkt *p, const struct bw_ev_ctx *c,
				     __u32 flags, __u32 rule_ref, __u64 pk, __u64 by)
{
	bw_event_send(p, c, BW_EVENT_TRACE,
		      c->dir == BW_DIR_EGRESS ? BW_TRACE_FROM_ENDPOINT : BW_TRACE_TO_ENDPOINT,
		      BW_VERDICT_FORWARDED, flags, rule_ref, 0, pk, by);
}

static __always_inline int bw_enforced(const struct bw_endpoint_info *ep,
				       const struct bw_config *cfg, __u8 dir)
{
	if (cfg->enforcement == BW_ENFORCE_NEVER)
		return 0;
	if (cfg->enforcement == BW_ENFORCE_ALWAYS)
		return 1;
	return (ep->flags &
		(dir == BW_DIR_INGRESS ? BW_EP_F_ENFORCE_INGRESS : BW_EP_F_ENFORCE_EGRESS)) != 0;
}

/*
 * The peer's identity, and whether the peer is another local endpoint (whose
 * own program traces the packet at aggregated monitor levels).
 */
static __always_inline __u32 bw_peer(const struct bw_pkt *p, const struct bw_endpoint_info *ep,
				     __u8 dir, int *peer_local)
{
	struct bw_ipcache_value *v =
		bw_ipcache_lookup(p->family, dir == BW_DIR_EGRESS ? p->daddr : p->saddr);

	*peer_local = v && v->ep_id != 0 && v->ep_id != ep->ep_id;
	return v && v->identity ? v->identity : BW_ID_WORLD;
}

static __always_inline void bw_ctx_peer(struct bw_ev_ctx *c, const struct bw_endpoint_info *ep,
					__u32 peer_id)
{
	c->src_identity = c->dir == BW_DIR_EGRESS ? ep->identity : peer_id;
	c->dst_identity = c->dir == BW_DIR_EGRESS ? peer_id : ep->identity;
}

static __always_inline int bw_handle(struct __sk_buff *skb, __u8 dir)
{
	__u32 ifindex = skb->ifindex, zero = 0, peer_id;
	struct bw_endpoint_info *ep;
	struct bw_config *cfg;
	struct bw_ct_entry *e;
	struct bw_scratch *s;
	struct bw_verdict v = {};
	struct bw_ev_ctx c = {};
	struct bw_pkt *p;
	int enforced, audit, rc, state, level, trace_all, per_packet, tx_side, peer_local;
	__u64 now;

	ep = bpf_map_lookup_elem(&bw_endpoints, &ifindex);
	if (!ep)
		return TC_ACT_OK;
	s = bpf_map_lookup_elem(&bw_scratch, &zero);
	if (!s)
		return TC_ACT_OK;
	p = &s->pkt;
	__builtin_memset(p, 0, sizeof(*p));
	p->len = skb->len;
	c.ep_id = ep->ep_id;
	c.ifindex = ifindex;
	c.dir = dir;
	cfg = bpf_map_lookup_elem(&bw_config, &zero);
	if (!cfg)
		return bw_drop(p, &c, BW_DROP_NO_CONFIG, 0, 0);
	c.cfg_flags = cfg->flags;
	enforced = bw_enforced(ep, cfg, dir);
	audit = (ep->flags & BW_EP_F_AUDIT) || (cfg->flags & BW_CFG_F_AUDIT);
	/*
	 * Monitor aggregation (Cilium's levels): none traces every packet at
	 * both programs; lowest and low trace every packet once, at its
	 * transmit side; medium and maximum trace at the transmit side only
	 * when conntrack reports (bw_ct_update).
	 */
	level = cfg->monitor_level;
	trace_all = level == BW_MONITOR_NONE;
	per_packet = level < BW_MONITOR_MEDIUM;

	if (skb->protocol == bpf_htons(ETH_P_IP))
		rc = bw_parse_ipv4(skb, p);
	else if (skb->protocol == bpf_htons(ETH_P_IPV6))
		rc = bw_parse_ipv6(skb, p);
	else if (skb->protocol == bpf_htons(ETH_P_ARP))
		return TC_ACT_OK;
	else if (enforced && !audit)
		return bw_drop(p, &c, BW_DROP_UNSUPPORTED_L3, 0, 0);
	else
		return TC_ACT_OK;
	if (rc < 0) {
		if (enforced && !audit)
			return bw_drop(p, &c, -rc, 0, 0);
		return bw_pass(p, &c);
	}

	/* anti-spoofing: what leaves the endpoint carries its own address */
	if (dir == BW_DIR_EGRESS) {
		if (p->family == 6 && (bw_is_v6_linklocal(p->saddr) || bw_is_v6_unspec(p->saddr))) {
			if (!(p->flags & BW_PKT_NDP))
				return bw_drop(p, &c, BW_DROP_INVALID_SOURCE_IP, 0, 0);
		} else {
			struct bw_epaddr_key ak = { .family = p->family };
			__u32 *owner;

			__builtin_memcpy(ak.addr, p->saddr, 16);
			owner = bpf_map_lookup_elem(&bw_epaddr, &ak);
			if (!owner || *owner != ep->ep_id)
				return bw_drop(p, &c, BW_DROP_INVALID_SOURCE_IP, 0, 0);
		}
	}
	if (p->flags & BW_PKT_NDP)
		return bw_pass(p, &c);

	/* fragments: later ones take the L4 fields of their first fragment */
	if (p->flags & BW_PKT_FRAG_LATER) {
		if (bw_frag_resolve(p, &s->frag_key) < 0) {
			if (enforced && !audit) {
				bw_ctx_peer(&c, ep, bw_peer(p, ep, dir, &peer_local));
				return bw_drop(p, &c, BW_DROP_FRAG_NOT_FOUND, 0, 0);
			}
			return bw_pass(p, &c);
		}
	} else if (p->flags & BW_PKT_FRAG_FIRST) {
		bw_frag_record(p, &s->frag_key);
	}

	now = bpf_ktime_get_ns();
	state = bw_ct_lookup(p, ep->ep_id, dir, now, &s->ct_key, &e);
	if (state == BW_CT_ESTABLISHED && e && p->proto == IPPROTO_TCP &&
	    (e->flags & (BW_CT_F_FIN_SEEN | BW_CT_F_RST_SEEN)) &&
	    (p->tcp_flags & (BW_TCP_SYN | BW_TCP_ACK)) == BW_TCP_SYN) {
		/* a new connection reusing a closing tuple: policy again */
		bpf_map_delete_elem(&bw_ct, &s->ct_key);
		state = BW_CT_NEW;
	}
	if ((state == BW_CT_ESTABLISHED || state == BW_CT_REPLY) && e) {
		/*
		 * A tracked packet needs no ipcache lookup: the entry keeps the
		 * peer's identity and whether the peer is a local endpoint.
		 */
		int is_reply = state == BW_CT_REPLY;
		int rep = bw_ct_update(e, p, is_reply, cfg, now);

		tx_side = !(dir == BW_DIR_EGRESS && (e->flags & BW_CT_F_PEER_LOCAL));
		if (trace_all || (tx_side && (per_packet || rep))) {
			bw_ctx_peer(&c, ep, e->peer_identity);
			bw_trace(p, &c,
				 (is_reply ? BW_EV_F_IS_REPLY : 0) | ((rep & 2) ? BW_EV_F_CT_CLOSE : 0) |
					 ((e->flags & BW_CT_F_AUDITED) ? BW_EV_F_AUDITED : 0),
				 e->rule_ref, e->packets_fwd + e->packets_rev,
				 e->bytes_fwd + e->bytes_rev);
		}
		return bw_pass(p, &c);
	}

	peer_id = bw_peer(p, ep, dir, &peer_local);
	bw_ctx_peer(&c, ep, peer_id);
	tx_side = !(dir == BW_DIR_EGRESS && peer_local);
	if (state == BW_CT_RELATED) {
		if (trace_all || (tx_side && per_packet))
			bw_trace(p, &c, BW_EV_F_CT_RELATED, 0, 0, 0);
		return bw_pass(p, &c);
	}

	/* NEW (or a tombstone): the policy decides, once per connection */
	if ((state == BW_CT_DENIED_FWD || state == BW_CT_DENIED_REV) && e)
		e->expires_ns = now + bw_ct_lifetime(cfg, IPPROTO_UDP, 0); /* keep it while used */
	if (enforced) {
		__u8 verdict;

		bw_policy_check(ep->ep_id, peer_id, dir, p->proto, p->pol_port, &v);
		verdict = !v.reason ? BW_VERDICT_FORWARDED : audit ? BW_VERDICT_AUDIT
								   : BW_VERDICT_DROPPED;
		bw_event_send(p, &c, BW_EVENT_POLICY_VERDICT, v.reason, verdict,
			      verdict == BW_VERDICT_AUDIT ? BW_EV_F_AUDITED : 0, v.rule_ref,
			      v.match_type, 0, 0);
		if (v.reason && !audit)
			return bw_drop(p, &c, v.reason, v.rule_ref, v.match_type);
	}
	if (state != BW_CT_DENIED_REV && bw_ct_creates(p, enforced)) {
		int audited = enforced && v.reason;

		bw_ct_create(p, ep->ep_id, dir, cfg, now, peer_id, peer_local, v.rule_ref,
			     v.match_type, audited, &s->ct_key, &s->ct_new);
		if (trace_all || tx_side)
			bw_trace(p, &c, BW_EV_F_CT_NEW | (audited ? BW_EV_F_AUDITED : 0),
				 v.rule_ref, 1, p->len);
	} else if (trace_all || (tx_side && per_packet)) {
		bw_trace(p, &c, 0, v.rule_ref, 0, 0);
	}
	return bw_pass(p, &c);
}

SEC("tc")
int bw_from_lxc(struct __sk_buff *skb)
{
	return bw_handle(skb, BW_DIR_EGRESS);
}

SEC("tc")
int bw_to_lxc(struct __sk_buff *skb)
{
	return bw_handle(skb, BW_DIR_INGRESS);
}
