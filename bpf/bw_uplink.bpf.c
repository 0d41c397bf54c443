// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bw_uplink.bpf.c - the program on the node's uplinks (datapath.uplinks),
 * attached to their tc ingress hook (core/datapath/uplink.c):
 *   bw_from_uplink  traffic arriving from outside the node.
 *
 * It does one thing: a TCP connection from outside to a local endpoint
 * whose ingress policy sends that port to a local proxy is handed to the
 * proxy here, before the kernel routes the packet. The endpoint's own
 * program cannot do it for such a connection: at tc egress of the pod's
 * veth no socket can be assigned, and turned around into the veth's
 * ingress, the connection's later segments would meet the kernel's early
 * demux on the uplink first (docs/redirect.md, section 2).
 *
 * Per packet, only while some endpoint's ingress redirects
 * (BW_CFG_F_INGRESS_REDIRECT): parse; TCP to an address of a local
 * endpoint (ipcache); its connection-tracking entry, in the endpoint's
 * ingress direction as bw_to_lxc keys it. A tracked connection that was
 * handed to a proxy keeps going there (mark BW_MARK_TO_PROXY); a new
 * connection (a SYN) is looked up in the endpoint's ingress policy and,
 * when an allow names a proxy class whose socket is open, assigned to that
 * socket, with the policy-verdict event (REDIRECTED, the endpoint's
 * ingress), the tracking entry and a to-proxy trace, as bw_to_lxc would
 * write them. Everything else - other protocols, other destinations,
 * denied or plainly allowed connections, a proxy that is not there - is
 * passed on untouched, and the endpoint's bw_to_lxc decides as before.
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/ipcache.h"
#include "lib/policy.h"
#include "lib/conntrack.h"
#include "lib/events.h"
#include "lib/redirect.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline int bw_up_drop(const struct bw_pkt *p, struct bw_ev_ctx *c,
				      __u8 reason, __u32 rule_ref, __u8 match_type)
{
	bw_metrics_add(reason, c->dir, p->len);
	bw_event_send(p, c, BW_EVENT_DROP, reason, BW_VERDICT_DROPPED, 0, rule_ref, match_type, 0,
		      0);
	return TC_ACT_SHOT;
}

SEC("tc")
int bw_from_uplink(struct __sk_buff *skb)
{
	__u32 zero = 0, ep_id, peer_id;
	struct bw_ipcache_value *dst;
	struct bw_config *cfg;
	struct bw_ct_entry *e;
	struct bw_scratch *s;
	struct bw_verdict v = {};
	struct bw_ev_ctx c = {};
	struct bw_pkt *p;
	struct bw_ct_new cn = {};
	int state, rc, rep, per_packet;
	__u32 now;

	cfg = bpf_map_lookup_elem(&bw_config, &zero);
	if (!cfg || !(cfg->flags & BW_CFG_F_INGRESS_REDIRECT) ||
	    cfg->enforcement == BW_ENFORCE_NEVER)
		return TC_ACT_OK;
	if (skb->protocol != bpf_htons(ETH_P_IP) && skb->protocol != bpf_htons(ETH_P_IPV6))
		return TC_ACT_OK;
	s = bpf_map_lookup_elem(&bw_scratch, &zero);
	if (!s)
		return TC_ACT_OK;
	p = &s->pkt;
	__builtin_memset(p, 0, sizeof(*p));
	p->len = skb->len;
	rc = skb->protocol == bpf_htons(ETH_P_IP) ? bw_parse_ipv4(skb, p) : bw_parse_ipv6(skb, p);
	/* fragments of a redirected port are the endpoint program's to drop */
	if (rc < 0 || p->proto != IPPROTO_TCP || bw_redirect_fragment(p))
		return TC_ACT_OK;
	dst = bw_ipcache_lookup(p->family, p->daddr);
	if (!dst || !dst->ep_id)
		return TC_ACT_OK;
	ep_id = dst->ep_id;
	c.ep_id = ep_id;
	c.ifindex = skb->ifindex;
	c.dir = BW_DIR_INGRESS;
	c.cfg_flags = cfg->flags;
	c.dst_identity = dst->identity;
	per_packet = cfg->monitor_level < BW_MONITOR_MEDIUM;

	now = (__u32)bpf_jiffies64(); /* the conntrack clock (lib/conntrack.h) */
	state = bw_ct_lookup(p, ep_id, BW_DIR_INGRESS, now, &s->ct_key, &e);
	if (state == BW_CT_ESTABLISHED && e &&
	    (e->flags & (BW_CT_F_FIN_SEEN | BW_CT_F_RST_SEEN)) &&
	    (p->tcp_flags & (BW_TCP_SYN | BW_TCP_ACK)) == BW_TCP_SYN) {
		/* a new connection reusing a closing tuple: policy again */
		bpf_map_delete_elem(&bw_ct, &s->ct_key);
		state = BW_CT_NEW;
	}
	if (state == BW_CT_ESTABLISHED && e) {
		/* only the connections this program handed to a proxy */
		if (!e->proxy_class || (e->flags & (BW_CT_F_FROM_PROXY | BW_CT_F_UPSTREAM)))
			return TC_ACT_OK;
		rep = bw_ct_update(e, p, 0, cfg, now);
		c.src_identity = e->peer_identity;
		c.to_proxy = 1;
		c.proxy_port = bw_proxy_port(bw_proxy_info(e->proxy_class), p);
		/* the mark (a SYN retransmit: the socket that has its tuple) */
		rc = bw_redirect_assign(skb, p, e->proxy_class);
		if (rc < 0)
			return bw_up_drop(p, &c, (__u8)-rc, e->rule_ref, e->match_type);
		if (per_packet || rep)
			bw_event_send(p, &c, BW_EVENT_TRACE, BW_TRACE_TO_PROXY, BW_VERDICT_FORWARDED,
				      (rep & 2) ? BW_EV_F_CT_CLOSE : 0, e->rule_ref, 0,
				      e->packets_fwd + e->packets_rev, e->bytes_fwd + e->bytes_rev);
		bw_metrics_add(0, BW_DIR_INGRESS, p->len);
		return TC_ACT_OK;
	}
	/* replies, tombstones, ICMP: the endpoint's program */
	if (state != BW_CT_NEW || (p->tcp_flags & (BW_TCP_SYN | BW_TCP_ACK)) != BW_TCP_SYN)
		return TC_ACT_OK;

	peer_id = bw_ipcache_identity(p->family, p->saddr);
	bw_policy_check(ep_id, peer_id, BW_DIR_INGRESS, IPPROTO_TCP, p->pol_port, &v);
	/* denied, plainly allowed, or the class cannot take it now: bw_to_lxc
	 * decides and reports (a missing proxy is its drop or pass) */
	if (v.reason || !v.proxy_class || !bw_proxy_present(v.proxy_class, p))
		return TC_ACT_OK;
	c.src_identity = peer_id;
	c.proxy_port = bw_proxy_port(bw_proxy_info(v.proxy_class), p);
	rc = bw_redirect_assign(skb, p, v.proxy_class);
	if (rc < 0) {
		bw_event_send(p, &c, BW_EVENT_POLICY_VERDICT, (__u8)-rc, BW_VERDICT_DROPPED, 0,
			      v.rule_ref, v.match_type, 0, 0);
		return bw_up_drop(p, &c, (__u8)-rc, v.rule_ref, v.match_type);
	}
	bw_event_send(p, &c, BW_EVENT_POLICY_VERDICT, 0, BW_VERDICT_REDIRECTED, 0, v.rule_ref,
		      v.match_type, 0, 0);
	cn.peer_id = peer_id;
	cn.rule_ref = v.rule_ref;
	cn.match_type = v.match_type;
	cn.proxy_class = v.proxy_class;
	bw_ct_create(p, ep_id, BW_DIR_INGRESS, cfg, now, &cn, &s->ct_key, &s->ct_new);
	c.to_proxy = 1;
	bw_event_send(p, &c, BW_EVENT_TRACE, BW_TRACE_TO_PROXY, BW_VERDICT_FORWARDED,
		      BW_EV_F_CT_NEW, v.rule_ref, 0, 1, p->len);
	bw_metrics_add(0, BW_DIR_INGRESS, p->len);
	return TC_ACT_OK;
}
