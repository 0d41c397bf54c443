// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bw_lxc.bpf.c - the endpoint programs, attached to the tc hooks (tcx links
 * where the kernel has them, else clsact; core/datapath/tcattach.c) of each
 * endpoint's HOST-SIDE veth:
 *   bw_from_lxc  tc ingress: traffic LEAVING the endpoint -> anti-spoofing
 *                and the endpoint's EGRESS policy; with eBPF host routing
 *                (lib/hostroute.h) also the destination endpoint's INGRESS
 *                policy, then straight into its namespace;
 *   bw_to_lxc    tc egress: traffic ENTERING the endpoint -> its INGRESS
 *                policy.
 * The endpoint is found by ifindex in bw_endpoints; an interface without an
 * entry passes untouched. Per packet: parse (once), fragment resolution,
 * anti-spoofing (from_lxc, against the addresses in the endpoint entry), NDP/
 * MLD pass, then bw_stage() for each endpoint whose policy applies:
 * conntrack, and only for NEW packets in an enforced direction the peer's
 * identity (ipcache) and the policy map (ESTABLISHED and REPLY packets take
 * both from their entry, see docs/datapath.md). Connections whose policy
 * entry names a proxy class are handed to that local proxy (lib/redirect.h,
 * docs/redirect.md); they never take the host-routing fast path.
 *
 * bw_clock is not attached anywhere: the daemon runs it (BPF_PROG_TEST_RUN)
 * to read the clock the conntrack deadlines are kept in (jiffies).
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
#include "lib/hostroute.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* bw_stage() modes (with the direction in the low bits) */
#define BW_STAGE_DIR_MASK 0x3
#define BW_STAGE_HR (1u << 2)   /* egress with host routing on: say whether
				 * the packet may take the fast path */
#define BW_STAGE_PEER (1u << 3) /* ingress of a local destination, run by
				 * the sender's bw_from_lxc (host routing) */
/* a new packet's trace is due (bw_stage(), with BW_EV_F_* flags) */
#define BW_STAGE_TRACE (1u << 31)
/* bw_stage() in BW_STAGE_PEER mode: this packet cannot take the fast path
 * (a proxy is involved); nothing was recorded, the stack delivers it */
#define BW_NOT_FAST 1000

static __always_inline int bw_drop(const struct bw_pkt *p, struct bw_ev_ctx *c, __u8 reason,
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

static __always_inline void bw_trace(const struct bw_pkt *p, struct bw_ev_ctx *c, __u32 flags,
				     __u32 rule_ref, __u64 pk, __u64 by)
{
	bw_event_send(p, c, BW_EVENT_TRACE,
		      c->to_proxy		? BW_TRACE_TO_PROXY
		      : c->dir == BW_DIR_EGRESS ? BW_TRACE_FROM_ENDPOINT
						: BW_TRACE_TO_ENDPOINT,
		      BW_VERDICT_FORWARDED, flags, rule_ref, 0, pk, by);
}

/* The POLICY_VERDICT event of verdict v (flags: the BW_EV_F_WITH_* of a
 * record that stands for two events). */
static __always_inline void bw_verdict_send(const struct bw_pkt *p, struct bw_ev_ctx *c,
					    const struct bw_verdict *v, __u8 verdict, __u32 flags)
{
	if (verdict == BW_VERDICT_AUDIT)
		flags |= BW_EV_F_AUDITED;
	bw_event_send(p, c, BW_EVENT_POLICY_VERDICT, v->reason, verdict, flags, v->rule_ref,
		      v->match_type, 0, 0);
}

/* Whether a new connection from this endpoint (egress, no proxy of its own
 * yet) goes to a local server whose ingress policy may redirect it to a
 * proxy: decided at the client's veth (see bw_redirect_new). */
static __always_inline int bw_in_redirect(const struct bw_pkt *p, const struct bw_config *cfg,
					  __u8 dir, int cls, __u32 peer_ep)
{
	return dir == BW_DIR_EGRESS && !cls && peer_ep &&
	       (cfg->flags & BW_CFG_F_INGRESS_REDIRECT) && bw_redirectable(p);
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

static __always_inline int bw_audit(const struct bw_endpoint_info *ep, const struct bw_config *cfg)
{
	return (ep->flags & BW_EP_F_AUDIT) || (cfg->flags & BW_CFG_F_AUDIT);
}

/* What bw_peer() tells about the other end of a new packet. */
struct bw_peer_info {
	__u32 identity;
	__u32 ep_id;   /* a local endpoint other than this one, else 0 */
	__u32 ifindex; /* its host veth, 0 if unknown */
};

/*
 * The peer's identity, and whether the peer is another local endpoint (whose
 * own program traces the packet at aggregated monitor levels).
 */
static __always_inline void bw_peer(const struct bw_pkt *p, const struct bw_endpoint_info *ep,
				    __u8 dir, struct bw_peer_info *pi)
{
	struct bw_ipcache_value *v =
		bw_ipcache_lookup(p->family, dir == BW_DIR_EGRESS ? p->daddr : p->saddr);

	pi->identity = v && v->identity ? v->identity : BW_ID_WORLD;
	if (v && v->ep_id != 0 && v->ep_id != ep->ep_id) {
		pi->ep_id = v->ep_id;
		pi->ifindex = v->ifindex;
	} else {
		pi->ep_id = 0;
		pi->ifindex = 0;
	}
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
					 struct bw_ev_ctx *c)
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

/*
 * Conntrack, policy, events and counters of one endpoint (ep, whose host
 * veth is ifindex) for the parsed packet s->pkt in direction
 * mode & BW_STAGE_DIR_MASK. Returns the tc verdict (TC_ACT_OK, TC_ACT_SHOT,
 * a redirect), or BW_NOT_FAST in BW_STAGE_PEER mode. With BW_STAGE_HR an
 * egress stage that lets the packet go sets s->hr_ok when the packet may
 * take the host-routing fast path, and s->hr_peer to the destination's
 * host veth when that is a local endpoint.
 *
 * A global function: the verifier checks it once, on its own, however often
 * it is called (bw_from_lxc runs it twice with host routing: its own egress
 * and the destination's ingress), and the programs keep one copy. s and ep
 * are map values (per-CPU scratch, the endpoint entry).
 */
__noinline int bw_stage(struct __sk_buff *skb, struct bw_scratch *s,
			const struct bw_endpoint_info *ep, __u32 ifindex, __u32 mode)
{
	struct bw_pkt *p;
	__u8 dir = mode & BW_STAGE_DIR_MASK;
	int peer_mode = (mode & BW_STAGE_PEER) != 0;
	__u32 zero = 0, ct_flags = 0, now;
	struct bw_peer_info pi;
	struct bw_config *cfg;
	struct bw_ct_entry *e;
	struct bw_verdict v = {};
	struct bw_ev_ctx c = {};
	struct bw_ct_new *cn;
	int enforced, audit, state, level, trace_all, per_packet, tx_side, rc;
	int cls = 0, later = 0;
	__u32 trace = 0; /* BW_STAGE_TRACE: a trace to send, with these BW_EV_F_* */
	__u8 verdict = 0;

	if (!skb || !s || !ep)
		return TC_ACT_OK;
	p = &s->pkt;
	cfg = bpf_map_lookup_elem(&bw_config, &zero);
	if (!cfg)
		return TC_ACT_SHOT; /* bw_from_lxc / bw_to_lxc checked it */
	c.ep_id = ep->ep_id;
	c.ifindex = ifindex;
	c.dir = dir;
	c.cfg_flags = cfg->flags;
	enforced = bw_enforced(ep, cfg, dir);
	audit = bw_audit(ep, cfg);
	/*
	 * Monitor aggregation (Cilium's levels): none traces every packet at
	 * both programs; lowest and low trace every packet once, at its
	 * transmit side; medium and maximum trace at the transmit side only
	 * when conntrack reports (bw_ct_update).
	 */
	level = cfg->monitor_level;
	trace_all = level == BW_MONITOR_NONE;
	per_packet = level < BW_MONITOR_MEDIUM;

	now = (__u32)bpf_jiffies64();
	state = bw_ct_lookup(p, ep->ep_id, dir, now, &s->ct_key, &e);
	if (state == BW_CT_ESTABLISHED && e && p->proto == IPPROTO_TCP &&
	    (e->flags & (BW_CT_F_FIN_SEEN | BW_CT_F_RST_SEEN)) &&
	    (p->tcp_flags & (BW_TCP_SYN | BW_TCP_ACK)) == BW_TCP_SYN) {
		if (peer_mode)
			return BW_NOT_FAST;
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
		int rep, turn = 0;

		if (peer_mode && (e->flags & BW_CT_F_PROXY_ANY))
			return BW_NOT_FAST;
		rep = bw_ct_update(e, p, is_reply, cfg, now);
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
		bw_metrics_add(0, dir, p->len);
		if (turn)
			return bw_hairpin(skb, turn == 2 ? e->proxy_class : 0);
		if ((mode & BW_STAGE_HR) && !(e->flags & BW_CT_F_PROXY_ANY) && !skb->mark) {
			s->hr_ok = 1;
			s->hr_peer = (e->flags & BW_CT_F_PEER_LOCAL) ? e->peer_ifindex : 0;
		}
		return TC_ACT_OK;
	}

	bw_peer(p, ep, dir, &pi);
	bw_ctx_peer(&c, ep, pi.identity);
	tx_side = !(dir == BW_DIR_EGRESS && pi.ep_id);
	if (state == BW_CT_RELATED) {
		if (trace_all || (tx_side && per_packet))
			bw_trace(p, &c, BW_EV_F_CT_RELATED, 0, 0, 0);
		bw_metrics_add(0, dir, p->len);
		if ((mode & BW_STAGE_HR) && !skb->mark) {
			s->hr_ok = 1;
			s->hr_peer = pi.ifindex;
		}
		return TC_ACT_OK;
	}

	/* NEW (or a tombstone): the policy decides, once per connection */
	if (enforced) {
		bw_policy_check(ep->ep_id, pi.identity, dir, p->proto, p->pol_port, &v);
		if (!v.reason && v.proxy_class) {
			if (peer_mode)
				return BW_NOT_FAST; /* the stack takes it to bw_to_lxc */
			cls = bw_redirect_new(skb, p, &c, v.proxy_class, dir == BW_DIR_INGRESS,
					      &later);
			if (cls < 0) {
				v.reason = (__u8)-cls;
				cls = 0;
			}
		}
	}
	if ((state == BW_CT_DENIED_FWD || state == BW_CT_DENIED_REV) && e)
		e->expires = now + cfg->ct_nontcp_j; /* keep it while used */
	if (enforced) {
		verdict = !v.reason ? (cls ? BW_VERDICT_REDIRECTED : BW_VERDICT_FORWARDED)
		      : audit	    ? BW_VERDICT_AUDIT
				    : BW_VERDICT_DROPPED;
		/*
		 * A plain allowed (or audited) connection: no other event comes
		 * between its verdict and the trace of its creation, which then
		 * share one record (sent with the trace, below). A denied one:
		 * the verdict and the drop share one.
		 */
		v.pending = verdict != BW_VERDICT_DROPPED && !cls && !bw_in_redirect(p, cfg, dir, cls, pi.ep_id) ? verdict : 0;
		if (!v.pending) {
			__u32 with = verdict == BW_VERDICT_DROPPED && bw_event_enabled(&c, BW_EVENT_POLICY_VERDICT) &&
					     bw_event_enabled(&c, BW_EVENT_DROP)
					     ? BW_EV_F_WITH_DROP
					     : 0;

			bw_verdict_send(p, &c, &v, verdict, with);
			if (with) {
				bw_metrics_add(v.reason, c.dir, p->len);
				return TC_ACT_SHOT;
			}
			if (verdict == BW_VERDICT_DROPPED)
				return bw_drop(p, &c, v.reason, v.rule_ref, v.match_type);
		}
	}
	/*
	 * The server is a local endpoint whose ingress policy may redirect
	 * this connection to a proxy: that is decided here, at the client's
	 * veth, before the kernel routes the packet (see bw_redirect_new).
	 */
	if (bw_in_redirect(p, cfg, dir, cls, pi.ep_id)) {
		struct bw_verdict vi = {};

		bw_policy_check(pi.ep_id, ep->identity, BW_DIR_INGRESS, p->proto, p->pol_port, &vi);
		if (!vi.reason && vi.proxy_class) {
			struct bw_ev_ctx ci = c;
			int later_in = 0;
			int r = bw_redirect_new(skb, p, &ci, vi.proxy_class, 0, &later_in);

			ci.ep_id = pi.ep_id;
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
		if (trace_all || tx_side || cls)
			trace = BW_STAGE_TRACE | BW_EV_F_CT_NEW |
				(enforced && v.reason ? BW_EV_F_AUDITED : 0);
		cn = &s->cn;
		cn->peer_id = pi.identity;
		cn->peer_ifindex = pi.ifindex;
		cn->rule_ref = v.rule_ref;
		cn->extra_flags = ct_flags;
		cn->match_type = v.match_type;
		cn->audited = enforced && v.reason;
		cn->peer_local = pi.ep_id != 0;
		cn->proxy_class = (__u8)(cls ? cls : later);
		bw_ct_create(p, ep->ep_id, dir, cfg, now, cn, &s->ct_key, &s->ct_new);
	} else if (trace_all || (tx_side && per_packet)) {
		trace = BW_STAGE_TRACE;
	}
	if (v.pending) {
		__u32 with = (trace & BW_EV_F_CT_NEW) &&
				     bw_event_enabled(&c, BW_EVENT_POLICY_VERDICT) &&
				     bw_event_enabled(&c, BW_EVENT_TRACE)
				     ? BW_EV_F_WITH_TRACE
				     : 0;

		/* with the trace of the creation in one record */
		bw_verdict_send(p, &c, &v, v.pending, with);
		if (with)
			trace = 0;
	}
	if (trace) {
		int pk = (trace & BW_EV_F_CT_NEW) != 0;

		bw_trace(p, &c, trace & ~BW_STAGE_TRACE, v.rule_ref, pk, pk ? p->len : 0);
	}
	bw_metrics_add(0, dir, p->len);
	if (cls && dir == BW_DIR_INGRESS)
		return bw_hairpin(skb, (__u8)cls);
	if ((mode & BW_STAGE_HR) && !cls && !later && !ct_flags && !skb->mark) {
		s->hr_ok = 1;
		s->hr_peer = pi.ifindex;
	}
	return TC_ACT_OK;
}

/*
 * Everything before the stage, once per packet: the endpoint, the parse,
 * anti-spoofing (egress), NDP, fragments. Returns a tc verdict, or -1 when
 * the stage has to decide; *epp and *sp are set then.
 */
static __noinline int bw_prepare(struct __sk_buff *skb, __u8 dir,
				      struct bw_endpoint_info **epp, struct bw_scratch **sp)
{
	__u32 ifindex = skb->ifindex, zero = 0;
	struct bw_endpoint_info *ep;
	struct bw_config *cfg;
	struct bw_scratch *s;
	struct bw_ev_ctx c = {};
	struct bw_pkt *p;
	int enforced, audit, rc;

	ep = bw_endpoint(ifindex);
	if (!ep)
		return TC_ACT_OK;
	s = bpf_map_lookup_elem(&bw_scratch, &zero);
	if (!s)
		return TC_ACT_OK;
	p = &s->pkt;
	__builtin_memset(p, 0, sizeof(*p));
	p->len = skb->len;
	s->hr_ok = 0;
	s->hr_peer = 0;
	c.ep_id = ep->ep_id;
	c.ifindex = ifindex;
	c.dir = dir;
	cfg = bpf_map_lookup_elem(&bw_config, &zero);
	if (!cfg)
		return bw_drop(p, &c, BW_DROP_NO_CONFIG, 0, 0);
	c.cfg_flags = cfg->flags;
	enforced = bw_enforced(ep, cfg, dir);
	audit = bw_audit(ep, cfg);

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
		int own;

		if (p->family == 6 && (bw_is_v6_linklocal(p->saddr) || bw_is_v6_unspec(p->saddr))) {
			if (!(p->flags & BW_PKT_NDP))
				return bw_drop(p, &c, BW_DROP_INVALID_SOURCE_IP, 0, 0);
			own = 1;
		} else if (p->family == 4 && (ep->flags & BW_EP_F_HAS_IPV4) &&
			   !(ep->flags & BW_EP_F_EPADDR)) {
			own = *(const __u32 *)&p->saddr[12] == *(const __u32 *)ep->ipv4;
		} else if (p->family == 6 && (ep->flags & BW_EP_F_HAS_IPV6) &&
			   !(ep->flags & BW_EP_F_EPADDR)) {
			const __u64 *a = (const __u64 *)p->saddr, *b = (const __u64 *)ep->ipv6;

			own = a[0] == b[0] && a[1] == b[1];
		} else if (ep->flags & BW_EP_F_EPADDR) {
			struct bw_epaddr_key ak = { .family = p->family };
			__u32 *owner;

			__builtin_memcpy(ak.addr, p->saddr, 16);
			owner = bpf_map_lookup_elem(&bw_epaddr, &ak);
			own = owner && *owner == ep->ep_id;
		} else {
			own = 0; /* no address of this family */
		}
		if (!own) {
			/*
			 * Not the pod's packet: one bw_to_lxc turned around for a
			 * proxy (marks never cross from the pod's namespace), or
			 * a spoofed one.
			 */
			if ((skb->mark & BW_MARK_MAGIC_MASK) == BW_MARK_HAIRPIN)
				return bw_hairpin_in(skb, p, &c);
			return bw_drop(p, &c, BW_DROP_INVALID_SOURCE_IP, 0, 0);
		}
	}
	if (p->flags & BW_PKT_NDP)
		return bw_pass(p, &c);

	/* fragments: later ones take the L4 fields of their first fragment */
	if (p->flags & BW_PKT_FRAG_LATER) {
		if (bw_frag_resolve(p, &s->frag_key) < 0) {
			if (enforced && !audit) {
				struct bw_peer_info pi;

				bw_peer(p, ep, dir, &pi);
				bw_ctx_peer(&c, ep, pi.identity);
				return bw_drop(p, &c, BW_DROP_FRAG_NOT_FOUND, 0, 0);
			}
			return bw_pass(p, &c);
		}
	} else if (p->flags & BW_PKT_FRAG_FIRST) {
		bw_frag_record(p, &s->frag_key);
	}
	*epp = ep;
	*sp = s;
	return -1;
}

/*
 * eBPF host routing: the sender's egress policy let the packet go and it
 * may take the fast path. A local destination gets its ingress stage here
 * (what its bw_to_lxc would do) and then the packet, straight into its
 * namespace; anything else goes to the FIB's next hop.
 */
static __always_inline int bw_host_route(struct __sk_buff *skb, struct bw_scratch *s)
{
	struct bw_pkt *p = &s->pkt;
	struct bw_endpoint_info *pep;
	__u32 peer = s->hr_peer;
	int rc;

	if (p->ttl <= 1)
		return TC_ACT_OK; /* the stack answers with time exceeded */
	if (!peer)
		return bw_hr_remote(skb, p);
	pep = bw_endpoint(peer);
	if (!pep || !(pep->flags & BW_EP_F_READY))
		return TC_ACT_OK; /* not set up yet: the stack takes it to its veth */
	rc = bw_stage(skb, s, pep, peer, BW_DIR_INGRESS | BW_STAGE_PEER);
	if (rc == BW_NOT_FAST)
		return TC_ACT_OK;
	if (rc != TC_ACT_OK)
		return rc;
	return bw_hr_local(skb, p, pep, peer);
}

SEC("tc")
int bw_from_lxc(struct __sk_buff *skb)
{
	struct bw_endpoint_info *ep = NULL;
	struct bw_scratch *s = NULL;
	struct bw_config *cfg;
	__u32 zero = 0, mode = BW_DIR_EGRESS;
	int rc = bw_prepare(skb, BW_DIR_EGRESS, &ep, &s);

	if (rc >= 0 || !ep || !s)
		return rc >= 0 ? rc : TC_ACT_OK;
	cfg = bpf_map_lookup_elem(&bw_config, &zero);
	if (cfg && (cfg->flags & BW_CFG_F_HOST_ROUTING))
		mode |= BW_STAGE_HR;
	rc = bw_stage(skb, s, ep, skb->ifindex, mode);
	if (rc != TC_ACT_OK || !s->hr_ok)
		return rc;
	return bw_host_route(skb, s);
}

SEC("tc")
int bw_to_lxc(struct __sk_buff *skb)
{
	struct bw_endpoint_info *ep = NULL;
	struct bw_scratch *s = NULL;
	int rc = bw_prepare(skb, BW_DIR_INGRESS, &ep, &s);

	if (rc >= 0 || !ep || !s)
		return rc >= 0 ? rc : TC_ACT_OK;
	return bw_stage(skb, s, ep, skb->ifindex, BW_DIR_INGRESS);
}

/*
 * The conntrack clock, for the daemon (BPF_PROG_TEST_RUN; never attached):
 * jiffies now, and the kernel's tick rate when libbpf found the kernel's
 * configuration (0 otherwise; the daemon then measures it).
 */
extern unsigned int CONFIG_HZ __kconfig __weak;
__u64 bw_clock_jiffies;
__u32 bw_clock_hz;

SEC("tc")
int bw_clock(struct __sk_buff *skb)
{
	bw_clock_jiffies = bpf_jiffies64();
	bw_clock_hz = CONFIG_HZ;
	return TC_ACT_OK;
}
