/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * redirect.h - handing connections to the local proxies (docs/redirect.md).
 *
 * A policy entry with a proxy class redirects a new TCP or UDP connection
 * to that class's socket in the node's network namespace, transparently:
 * the packet keeps its addresses and ports, and the proxy learns the
 * original destination from its socket (getsockname() of the accepted TCP
 * socket, IP_ORIGDSTADDR for UDP).
 *
 *  - At tc ingress of a host veth (traffic leaving a pod) the packet is
 *    given to the proxy's listening socket with bpf_sk_assign() (a TCP SYN,
 *    every UDP datagram) and marked BW_MARK_TO_PROXY, so that the
 *    policy-routing rule the daemon installs delivers it locally instead of
 *    forwarding it; later TCP segments only need the mark (the accepted
 *    socket is found by its tuple).
 *  - At tc egress (traffic entering a pod) no socket can be assigned: the
 *    packet is turned around into the ingress of the same veth with
 *    BW_MARK_HAIRPIN and the class in the mark, and assigned there.
 *
 * The proxies' sockets live in bw_proxy_socks (a SOCKMAP): a closed socket
 * (the daemon stopped) leaves the map by itself, and the class's
 * BW_PROXY_F_PASS flag decides whether its connections then go to their
 * original destination (DNS) or are dropped.
 */
#ifndef BW_LIB_REDIRECT_H
#define BW_LIB_REDIRECT_H

#include "lib/maps.h"

static __always_inline int bw_redirectable(const struct bw_pkt *p)
{
	return p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP;
}

/* Fragments cannot be handed to a socket one by one: a redirected port
 * drops them (BW_DROP_PROXY_UNSUPPORTED) rather than letting them past the
 * proxy. */
static __always_inline int bw_redirect_fragment(const struct bw_pkt *p)
{
	return (p->flags & (BW_PKT_FRAG_LATER | BW_PKT_FRAG_FIRST)) != 0;
}

static __always_inline const struct bw_proxy_info *bw_proxy_info(__u8 cls)
{
	__u32 k = cls;

	return bpf_map_lookup_elem(&bw_proxy, &k);
}

static __always_inline __be16 bw_proxy_port(const struct bw_proxy_info *pi,
					    const struct bw_pkt *p)
{
	if (!pi)
		return 0;
	return p->proto == IPPROTO_UDP ? pi->port_udp : pi->port;
}

/* Without a socket: 1 if the class lets the connection go to its original
 * destination, 0 if it is dropped. */
static __always_inline int bw_proxy_passes(const struct bw_proxy_info *pi)
{
	return pi && (pi->flags & BW_PROXY_F_PASS);
}

static __always_inline struct bpf_sock *bw_proxy_sock(__u8 cls, const struct bw_pkt *p)
{
	__u32 k = BW_PROXY_SOCK_KEY(cls, p->proto == IPPROTO_UDP, p->family == 6);

	return bpf_map_lookup_elem(&bw_proxy_socks, &k);
}

/* Is the class's proxy socket there (the daemon and its proxy run)? */
static __always_inline int bw_proxy_present(__u8 cls, const struct bw_pkt *p)
{
	struct bpf_sock *sk = bw_proxy_sock(cls, p);

	if (!sk)
		return 0;
	bpf_sk_release(sk);
	return 1;
}

/*
 * A socket of the node that already has this TCP tuple (a SYN retransmit of
 * a connection the proxy already accepted or is accepting). When it is a
 * TIME_WAIT socket (the client reuses its port while the proxy's side of
 * its previous connection waits), the SYN goes to it all the same - a
 * listener assigned here would be refused the tuple - and the class is
 * noted in bw_tw_syn for the sk_lookup program (bw_datapath.h).
 */
static __always_inline int bw_tcp_tuple_taken(struct __sk_buff *skb, const struct bw_pkt *p,
					      __u8 cls)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 sz;
	int taken;

	if (p->family == 4) {
		__builtin_memcpy(&t.ipv4.saddr, &p->saddr[12], 4);
		__builtin_memcpy(&t.ipv4.daddr, &p->daddr[12], 4);
		t.ipv4.sport = p->sport;
		t.ipv4.dport = p->dport;
		sz = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, p->saddr, 16);
		__builtin_memcpy(t.ipv6.daddr, p->daddr, 16);
		t.ipv6.sport = p->sport;
		t.ipv6.dport = p->dport;
		sz = sizeof(t.ipv6);
	}
	sk = bpf_skc_lookup_tcp(skb, &t, sz, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	taken = sk->state != BPF_TCP_LISTEN;
	if (sk->state == BPF_TCP_TIME_WAIT) {
		struct bw_twsyn_key k = { .sport = p->sport, .dport = p->dport,
					  .family = p->family };
		__u32 v = cls;

		__builtin_memcpy(k.saddr, p->saddr, 16);
		__builtin_memcpy(k.daddr, p->daddr, 16);
		bpf_map_update_elem(&bw_tw_syn, &k, &v, BPF_ANY);
	}
	bpf_sk_release(sk);
	return taken;
}

/*
 * Give the packet to the class's proxy (at a tc ingress hook). Returns 0,
 * -BW_DROP_SOCKET_LOOKUP_FAILED when the class has no socket, or
 * -BW_DROP_SOCKET_ASSIGN_FAILED.
 */
static __always_inline int bw_redirect_assign(struct __sk_buff *skb, const struct bw_pkt *p,
					      __u8 cls)
{
	struct bpf_sock *sk;
	long rc;

	if (p->proto == IPPROTO_TCP &&
	    ((p->tcp_flags & (BW_TCP_SYN | BW_TCP_ACK)) != BW_TCP_SYN ||
	     bw_tcp_tuple_taken(skb, p, cls))) {
		skb->mark = BW_MARK_TO_PROXY; /* the proxy's socket has the tuple */
		return 0;
	}
	sk = bw_proxy_sock(cls, p);
	if (!sk)
		return -BW_DROP_SOCKET_LOOKUP_FAILED;
	rc = bpf_sk_assign(skb, sk, 0);
	bpf_sk_release(sk);
	if (rc)
		return -BW_DROP_SOCKET_ASSIGN_FAILED;
	skb->mark = BW_MARK_TO_PROXY;
	return 0;
}

/*
 * Turn a packet that is about to enter the pod (tc egress of its host
 * veth) around into the ingress of the same veth, where bw_from_lxc hands
 * it to the proxy of class cls (0: only deliver it locally, to the socket
 * its tuple names). The MAC addresses are swapped so that the veth accepts
 * it as addressed to itself.
 */
static __always_inline int bw_hairpin(struct __sk_buff *skb, __u8 cls)
{
	__u8 mac[12];

	if (bpf_skb_load_bytes(skb, 0, mac, 12) < 0 ||
	    bpf_skb_store_bytes(skb, 0, &mac[6], 6, 0) < 0 ||
	    bpf_skb_store_bytes(skb, 6, &mac[0], 6, 0) < 0)
		return TC_ACT_SHOT;
	skb->mark = BW_MARK_HAIRPIN | ((__u32)cls << BW_MARK_CLASS_SHIFT);
	return bpf_redirect(skb->ifindex, BPF_F_INGRESS);
}

#endif /* BW_LIB_REDIRECT_H */
