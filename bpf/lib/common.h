/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * common.h - includes, small helpers and the per-packet parse result shared
 * by every bulwark BPF program. Header-only; included by bpf/bw_*.bpf.c.
 */
#ifndef BW_LIB_COMMON_H
#define BW_LIB_COMMON_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bw_datapath.h"

/* ICMPv4 types (linux/icmp.h pulls in libc headers, so not included) */
#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_SOURCE_QUENCH 4
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif

/* TCP flag bits as in byte 13 of the TCP header */
#define BW_TCP_FIN 0x01
#define BW_TCP_SYN 0x02
#define BW_TCP_RST 0x04
#define BW_TCP_PSH 0x08
#define BW_TCP_ACK 0x10

/* bw_pkt.flags */
#define BW_PKT_FRAG_FIRST (1u << 0) /* first fragment of a fragmented datagram */
#define BW_PKT_FRAG_LATER (1u << 1) /* non-first fragment: no L4 header */
#define BW_PKT_ICMP_ERR (1u << 2)   /* ICMP error with a parsed inner tuple */
#define BW_PKT_NDP (1u << 3)        /* ICMPv6 NDP or MLD: always passes */
#define BW_PKT_ECHO_REQ (1u << 4)   /* ICMP(v6) echo request */
#define BW_PKT_ECHO_REP (1u << 5)   /* ICMP(v6) echo reply */
#define BW_PKT_ICMP (1u << 6)       /* ICMP or ICMPv6 */

/*
 * One parsed packet. Addresses are IPv4-mapped (::ffff:a.b.c.d) for IPv4 so
 * that CT keys serve both families. sport/dport are in "CT form": for ICMP
 * echo the identifier is in sport (request) or dport (reply), so that the
 * reverse of a request's tuple is its reply's tuple. pol_port is what the
 * policy lookup uses: dport, or for ICMP the type in the first byte.
 */
struct bw_pkt {
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport;
	__be16 dport;
	__be16 pol_port;
	__u8 family; /* 4 or 6 */
	__u8 proto;
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 flags; /* BW_PKT_* */
	__u8 in_proto; /* ICMP error: inner protocol */
	__u8 icmp_code;
	__u8 ttl;      /* IPv4 TTL / IPv6 hop limit (host routing) */
	__u8 pad0[2];
	__u32 frag_id;
	__u32 len;
	/* ICMP error: the embedded (inner) tuple, CT form */
	__u8 in_saddr[16];
	__u8 in_daddr[16];
	__be16 in_sport;
	__be16 in_dport;
};

static __always_inline int bw_is_v6_linklocal(const __u8 *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static __always_inline int bw_is_v6_unspec(const __u8 *a)
{
	const __u64 *w = (const __u64 *)a;

	return w[0] == 0 && w[1] == 0;
}

/*
 * Copy len bytes at offset off of the packet: straight from the linear data
 * when they are there (the usual case: headers), else with
 * bpf_skb_load_bytes (non-linear skbs need no pulling).
 */
/* skb->data / data_end read straight from the context (clang may otherwise
 * keep &skb->data in a register, which the verifier refuses) */
static __always_inline void *bw_skb_data(const struct __sk_buff *skb)
{
	void *d;

	asm volatile("%0 = *(u32 *)(%1 + %2)"
		     : "=r"(d)
		     : "r"(skb), "i"(__builtin_offsetof(struct __sk_buff, data)));
	return d;
}

static __always_inline void *bw_skb_data_end(const struct __sk_buff *skb)
{
	void *d;

	asm volatile("%0 = *(u32 *)(%1 + %2)"
		     : "=r"(d)
		     : "r"(skb), "i"(__builtin_offsetof(struct __sk_buff, data_end)));
	return d;
}

static __always_inline int bw_load(struct __sk_buff *skb, __u32 off, void *to, const __u32 len)
{
	void *data = bw_skb_data(skb);
	void *end = bw_skb_data_end(skb);

	if (off < 256 && data + off + len <= end) {
		__builtin_memcpy(to, data + off, len);
		return 0;
	}
	return bpf_skb_load_bytes(skb, off, to, len);
}

static __always_inline void bw_addr_copy(__u8 *dst, const __u8 *src)
{
	__builtin_memcpy(dst, src, 16);
}

static __always_inline void bw_addr_map4(__u8 *dst, __be32 a)
{
	__u64 *w = (__u64 *)dst;

	w[0] = 0;
	dst[8] = 0;
	dst[9] = 0;
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(&dst[12], &a, 4);
}

#endif /* BW_LIB_COMMON_H */
