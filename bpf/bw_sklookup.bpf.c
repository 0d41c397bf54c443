// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bw_sklookup.bpf.c - the program on the daemon's network namespace's
 * socket lookup (BPF sk_lookup, core/datapath/sklookup.c):
 *   bw_sk_lookup  a listener lookup the kernel makes for a TCP SYN.
 *
 * One case only: a SYN that the tc programs redirected to a local proxy
 * while a TIME_WAIT socket of that proxy still holds its tuple (the client
 * reuses its port; the proxy closed the previous connection first). The
 * kernel gives such a SYN to the TIME_WAIT socket, which looks for a
 * listener on the connection's own destination port - there is none for a
 * transparent redirect, and the client would get an ACK, reset and retry
 * a second later. The tc programs noted the tuple in bw_tw_syn
 * (bpf/lib/redirect.h); here the class's listener is picked for it, and
 * the kernel then retires the TIME_WAIT socket and accepts the connection
 * on the listener, as it does for iptables TPROXY. Every other lookup -
 * one hash miss - is left to the kernel.
 */
#include "lib/common.h"
#include "lib/maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("sk_lookup")
int bw_sk_lookup(struct bpf_sk_lookup *ctx)
{
	struct bw_twsyn_key k = {};
	struct bpf_sock *sk;
	__u32 *cls, sock_key;

	if (ctx->protocol != IPPROTO_TCP)
		return SK_PASS;
	k.sport = ctx->remote_port;
	k.dport = bpf_htons((__u16)ctx->local_port);
	if (ctx->family == 2 /* AF_INET */) {
		k.family = 4;
		bw_addr_map4(k.saddr, ctx->remote_ip4);
		bw_addr_map4(k.daddr, ctx->local_ip4);
	} else if (ctx->family == 10 /* AF_INET6 */) {
		__u32 *s = (__u32 *)k.saddr, *d = (__u32 *)k.daddr;

		/* the context allows 4-byte loads only */
		k.family = 6;
		s[0] = ctx->remote_ip6[0];
		s[1] = ctx->remote_ip6[1];
		s[2] = ctx->remote_ip6[2];
		s[3] = ctx->remote_ip6[3];
		d[0] = ctx->local_ip6[0];
		d[1] = ctx->local_ip6[1];
		d[2] = ctx->local_ip6[2];
		d[3] = ctx->local_ip6[3];
	} else {
		return SK_PASS;
	}
	cls = bpf_map_lookup_elem(&bw_tw_syn, &k);
	if (!cls)
		return SK_PASS;
	sock_key = BW_PROXY_SOCK_KEY(*cls, 0, k.family == 6);
	bpf_map_delete_elem(&bw_tw_syn, &k);
	sk = bpf_map_lookup_elem(&bw_proxy_socks, &sock_key);
	if (!sk)
		return SK_PASS; /* the proxy is gone: the kernel's answer */
	bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	return SK_PASS;
}
