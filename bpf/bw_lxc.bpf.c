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
 * Connections whose policy entry names a proxy class are handed to that
 * local proxy (lib/redirect.h, docs/redirect.md).
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/ipcache.h"
#include "lib/policy.h"
#include "lib/conntrack.h"
#include "lib/frag.h"
#include "lib/events.h"
#include "lib/redirect.h"

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
		      c->to_proxy		? BW_TRACE_TO_PROXY
		      : c->dir == BW_DIR_EGRESS ? BW_TRACE_FROM_ENDPOINT
						: BW_TRACE_TO_ENDPOINT,
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
				     __u8 dir, int *peer_local, __u32 *peer_ep)
{
	struct bw_ipcache_value *v =
		bw_ipcache_lookup(p->family, dir == BW_DIR_EGRESS ? p->daddr : p->saddr);

	*peer_local = v && v->ep_id != 0 && v->ep_id != ep->ep_id;
	*peer_ep = *peer_local ? v->ep_id : 0;
	return v && v->identity ? v->identity : BW_ID_WORLD;
}

static __always_inline void bw_ctx_peer(struct bw_ev_ctx *c, const struct bw_endpoint_info *ep,
					__u32 peer_id)
{
	c->src_identity = c->dir == BW_DIR_EGRESS ? ep->identity : peer_id;
	c->dst_identity = c->dir == BW_DIR_EGRESS ? peer_id : ep->identity;
}

/*
 * A packet bw_to_lxc turned around into this veth's ingress for a local
 * proxy (marks never cross from a pod's namespace, so only the node sets
 * one): hand it to the proxy's socket, or, with class 0 (a reply to a
 * proxy's upstream socket), only deliver it locally. Counted and traced
 * where it was turned around.
 */
static __always_inline int bw_hairpin_in(struct __sk_buff *skb, const struct bw_pkt *p,
					 const struct bw_ev_ctx *c)
{
	__u8 cls = BW_MARK_CLASS(skb->mark);
	int rc;

	if (!cls) {
		skb->mark = BW_MARK_TO_PROXY;
		return TC_ACT_OK;
	}
	rc = bw_redirect_assign(skb, p, cls);
	if (rc < 0)
		return bw_drop(p, c, -rc, 0, 0);
	return TC_ACT_OK;
}

/*
 * A tracked packet of a connection that involves a proxy. Returns
 * TC_ACT_OK to let it go on as usual (with a mark where needed), a
 * redirect (hairpin), or a negative drop reason.
 */
static __always_inline int bw_redirect_tracked(struct __sk_buff *skb, const struct bw_pkt *p,
					       struct bw_ev_ctx *c, const struct bw_ct_entry *e,
					       int is_reply, __u8 dir)
{
	const struct bw_proxy_info *pi;
	int rc;

	if (is_reply) {
		/* the server's reply to a proxy's upstream socket */
		if (dir == BW_DIR_EGRESS && (e->flags & BW_CT_F_FROM_PROXY))
			skb->mark = BW_MARK_TO_PROXY;
		else if (dir == BW_DIR_INGRESS && (e->flags & BW_CT_F_UPSTREAM))
			return 1; /* turn around, class 0 */
		return 0;
	}
	if (!e->proxy_class)
		return 0;
	if (bw_redirect_fragment(p))
		return -BW_DROP_PROXY_UNSUPPORTED;
	pi = bw_proxy_info(e->proxy_class);
	if (!bw_proxy_present(e->proxy_class, p))
		return bw_proxy_passes(pi) ? 0 : -BW_DROP_SOCKET_LOOKUP_FAILED;
	c->to_proxy = 1;
	c->proxy_port = bw_proxy_port(pi, p);
	if (dir == BW_DIR_INGRESS)
		return 2; /* turn around, with the class */
	rc = bw_redirect_assign(skb, p, e->proxy_class);
	return rc < 0 ? rc : 0;
}

/*
 * The redirect decision for a new connection whose verdict v (allowed, in
 * an enforced direction) names a proxy class. Returns the class to hand it
 * to, 0 to let it go on without a proxy (the class passes without its
 * socket, or the connection comes from the proxy itself), or a negative
 * drop reason. turn_around: at bw_to_lxc, where the packet has to be turned
 * around into the veth's ingress to reach the proxy. *later gets the class
 * of a UDP flow that goes on without its proxy now.
 */
static __always_inline int bw_redirect_new(struct __sk_buff *skb, const struct bw_pkt *p,
					   struct bw_ev_ctx *c, __u8 cls, int turn_around,
					   int *later)
{
	const struct bw_proxy_info *pi;

	if (!bw_redirectable(p))
		return 0;
	if (turn_around && (skb->mark & BW_MARK_MAGIC_MASK) == BW_MARK_FROM_PROXY_INGRESS)
		return 0; /* the ingress proxy's own upstream: inspected already */
	if (bw_redirect_fragment(p))
		return -BW_DROP_PROXY_UNSUPPORTED;
	pi = bw_proxy_info(cls);
	if (!bw_proxy_present(cls, p)) {
		if (!bw_proxy_passes(pi))
			return -BW_DROP_SOCKET_LOOKUP_FAILED;
		/* a UDP flow remembers its class: its next datagram goes to the
		 * proxy once it is back (a TCP connection stays direct) */
		if (p->proto == IPPROTO_UDP)
			*later = cls;
		return 0;
	}
	/*
	 * A TCP connection forwarded from another interface (from outside the
	 * node) cannot be turned around here: the kernel's early demux would
	 * find the proxy's socket for its later segments before any program
	 * of ours sees them, and drop them as forwarded packets with a socket.
	 * Local pods are redirected at their own veth (bw_ingress_at_client),
	 * the node's own connections (ingress_ifindex 0) here.
	 */
	if (turn_around && p->proto == IPPROTO_TCP && skb->ingress_ifindex != 0)
		return -BW_DROP_PROXY_UNSUPPORTED;
	c->proxy_port = bw_proxy_port(pi, p);
	return cls;
}

static __always_inline int bw_handle(struct __sk_buff *skb, __u8 dir)
{
	__u32 ifindex = skb->ifindex, zero = 0, peer_id, peer_ep = 0, ct_flags = 0;
	struct bw_endpoint_info *ep;
	struct bw_config *cfg;
	struct bw_ct_entry *e;
	struct bw_scratch *s;
	struct bw_verdict v = {};
	struct bw_ev_ctx c = {};
	struct bw_pkt *p;
	int enforced, audit, rc, state, level, trace_all, per_packet, tx_side, peer_local;
	int cls = 0, later = 0;
	__u8 verdict;
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

	if (dir == BW_DIR_EGRESS) {
		/* anti-spoofing: what leaves the endpoint carries its own address */
		if (p->family == 6 && (bw_is_v6_linklocal(p->saddr) || bw_is_v6_unspec(p->saddr))) {
			if (!(p->flags & BW_PKT_NDP))
				return bw_drop(p, &c, BW_DROP_INVALID_SOURCE_IP, 0, 0);
		} else {
			struct bw_epaddr_key ak = { .family = p->family };
			__u32 *owner;

			__builtin_memcpy(ak.addr, p->saddr, 16);
			owner = bpf_map_lookup_elem(&bw_epaddr, &ak);
			if (!owner || *owner != ep->ep_id) {
				/*
				 * Not the pod's packet: one bw_to_lxc turned
				 * around for a proxy (marks never cross from
				 * the pod's namespace), or a spoofed one.
				 */
				if ((skb->mark & BW_MARK_MAGIC_MASK) == BW_MARK_HAIRPIN)
					return bw_hairpin_in(skb, p, &c);
				return bw_drop(p, &c, BW_DROP_INVALID_SOURCE_IP, 0, 0);
			}
		}
	}
	if (p->flags & BW_PKT_NDP)
		return bw_pass(p, &c);

	/* fragments: later ones take the L4 fields of their first fragment */
	if (p->flags & BW_PKT_FRAG_LATER) {
		if (bw_frag_resolve(p, &s->frag_key) < 0) {
			if (enforced && !audit) {
				bw_ctx_peer(&c, ep, bw_peer(p, ep, dir, &peer_local, &peer_ep));
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
		int turn = 0;

		if (e->flags & BW_CT_F_PROXY_ANY) {
			turn = bw_redirect_tracked(skb, p, &c, e, is_reply, dir);
			if (turn < 0) {
				bw_ctx_peer(&c, ep, e->peer_identity);
				return bw_drop(p, &c, -turn, e->rule_ref, e->match_type);
			}
		}
		tx_side = !(dir == BW_DIR_EGRESS && (e->flags & BW_CT_F_PEER_LOCAL));
		if (trace_all || c.to_proxy || (tx_side && (per_packet || rep))) {
			bw_ctx_peer(&c, ep, e->peer_identity);
			bw_trace(p, &c,
				 (is_reply ? BW_EV_F_IS_REPLY : 0) | ((rep & 2) ? BW_EV_F_CT_CLOSE : 0) |
					 ((e->flags & BW_CT_F_AUDITED) ? BW_EV_F_AUDITED : 0),
				 e->rule_ref, e->packets_fwd + e->packets_rev,
				 e->bytes_fwd + e->bytes_rev);
		}
		bw_metrics_add(0, c.dir, p->len);
		if (turn)
			return bw_hairpin(skb, turn == 2 ? e->proxy_class : 0);
		return TC_ACT_OK;
	}

	peer_id = bw_peer(p, ep, dir, &peer_local, &peer_ep);
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
		bw_policy_check(ep->ep_id, peer_id, dir, p->proto, p->pol_port, &v);
		if (!v.reason && v.proxy_class) {
			cls = bw_redirect_new(skb, p, &c, v.proxy_class, dir == BW_DIR_INGRESS,
					      &later);
			if (cls < 0) {
				v.reason = (__u8)-cls;
				cls = 0;
			}
		}
		verdict = !v.reason ? (cls ? BW_VERDICT_REDIRECTED : BW_VERDICT_FORWARDED)
		      : audit	    ? BW_VERDICT_AUDIT
				    : BW_VERDICT_DROPPED;
		bw_event_send(p, &c, BW_EVENT_POLICY_VERDICT, v.reason, verdict,
			      verdict == BW_VERDICT_AUDIT ? BW_EV_F_AUDITED : 0, v.rule_ref,
			      v.match_type, 0, 0);
		if (v.reason && !audit)
			return bw_drop(p, &c, v.reason, v.rule_ref, v.match_type);
	}
	/*
	 * The server is a local endpoint whose ingress policy may redirect
	 * this connection to a proxy: that is decided here, at the client's
	 * veth, before the kernel routes the packet (see bw_redirect_new).
	 */
	if (dir == BW_DIR_EGRESS && !cls && peer_local && (cfg->flags & BW_CFG_F_INGRESS_REDIRECT) &&
	    bw_redirectable(p)) {
		struct bw_verdict vi = {};

		bw_policy_check(peer_ep, ep->identity, BW_DIR_INGRESS, p->proto, p->pol_port, &vi);
		if (!vi.reason && vi.proxy_class) {
			struct bw_ev_ctx ci = c;
			int later_in = 0;
			int r = bw_redirect_new(skb, p, &ci, vi.proxy_class, 0, &later_in);

			ci.ep_id = peer_ep;
			ci.dir = BW_DIR_INGRESS;
			bw_event_send(p, &ci, BW_EVENT_POLICY_VERDICT, r < 0 ? (__u8)-r : 0,
				      r < 0 ? BW_VERDICT_DROPPED
				      : r   ? BW_VERDICT_REDIRECTED
					    : BW_VERDICT_FORWARDED,
				      0, vi.rule_ref, vi.match_type, 0, 0);
			if (r < 0)
				return bw_drop(p, &ci, -r, vi.rule_ref, vi.match_type);
			if (r || later_in) {
				ct_flags = BW_CT_F_PROXY_INGRESS;
				later = later_in;
			}
			if (r) {
				cls = r;
				c.proxy_port = ci.proxy_port;
				v.rule_ref = v.rule_ref ? v.rule_ref : vi.rule_ref;
			}
		}
	}
	if (cls && dir == BW_DIR_EGRESS) {
		rc = bw_redirect_assign(skb, p, (__u8)cls);
		if (rc < 0)
			return bw_drop(p, &c, -rc, v.rule_ref, v.match_type);
	}
	if (cls)
		c.to_proxy = 1;
	if (dir == BW_DIR_INGRESS &&
	    ((skb->mark & BW_MARK_MAGIC_MASK) == BW_MARK_FROM_PROXY_EGRESS ||
	     (skb->mark & BW_MARK_MAGIC_MASK) == BW_MARK_FROM_PROXY_INGRESS))
		ct_flags |= BW_CT_F_FROM_PROXY;
	if (state != BW_CT_DENIED_REV && bw_ct_creates(p, enforced)) {
		int audited = enforced && v.reason;

		bw_ct_create(p, ep->ep_id, dir, cfg, now, peer_id, peer_local, v.rule_ref,
			     v.match_type, audited, ct_flags, (__u8)(cls ? cls : later),
			     &s->ct_key, &s->ct_new);
		if (trace_all || tx_side || cls)
			bw_trace(p, &c, BW_EV_F_CT_NEW | (audited ? BW_EV_F_AUDITED : 0),
				 v.rule_ref, 1, p->len);
	} else if (trace_all || (tx_side && per_packet)) {
		bw_trace(p, &c, 0, v.rule_ref, 0, 0);
	}
	bw_metrics_add(0, c.dir, p->len);
	if (cls && dir == BW_DIR_INGRESS)
		return bw_hairpin(skb, (__u8)cls);
	return TC_ACT_OK;
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
