/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * parse.h - packet parsing into struct bw_pkt: IPv4, IPv6 with extension
 * headers (hop-by-hop, routing, destination options, fragment, AH), TCP,
 * UDP, SCTP ports, ICMP/ICMPv6 type and echo identifier, and the embedded
 * tuple of ICMP errors. Everything is read with bw_load (common.h): from the
 * linear data, or with bpf_skb_load_bytes where a header is not there.
 * Returns 0 or -BW_DROP_*.
 */
#ifndef BW_LIB_PARSE_H
#define BW_LIB_PARSE_H

#include "lib/common.h"

#define BW_V6_MAX_EXTHDRS 8

/* Ports (CT form) of an embedded or outer L4 header at @off. */
static __always_inline int bw_parse_ports(struct __sk_buff *skb, __u32 off, __u8 proto,
					  int is_v6, __be16 *sport, __be16 *dport)
{
	__u8 b[8];

	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP) {
		if (bw_load(skb, off, b, 4) < 0)
			return -BW_DROP_CT_INVALID_HDR;
		__builtin_memcpy(sport, &b[0], 2);
		__builtin_memcpy(dport, &b[2], 2);
		return 0;
	}
	if ((!is_v6 && proto == IPPROTO_ICMP) || (is_v6 && proto == IPPROTO_ICMPV6)) {
		__u8 req = is_v6 ? ICMPV6_ECHO_REQUEST : ICMP_ECHO;
		__u8 rep = is_v6 ? ICMPV6_ECHO_REPLY : ICMP_ECHOREPLY;

		if (bw_load(skb, off, b, 8) < 0)
			return -BW_DROP_CT_INVALID_HDR;
		*sport = 0;
		*dport = 0;
		if (b[0] == req)
			__builtin_memcpy(sport, &b[4], 2);
		else if (b[0] == rep)
			__builtin_memcpy(dport, &b[4], 2);
		return 0;
	}
	*sport = 0;
	*dport = 0;
	return 0;
}

/* Inner header of an ICMPv4 error at @off (the embedded IPv4 header). */
static __always_inline int bw_parse_icmp4_inner(struct __sk_buff *skb, __u32 off,
						struct bw_pkt *p)
{
	struct iphdr ip;

	if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)) < 0)
		return 0; /* truncated quote: no RELATED match, policy decides */
	if (ip.ihl < 5)
		return 0;
	if (bpf_ntohs(ip.frag_off) & 0x1fff)
		return 0;
	bw_addr_map4(p->in_saddr, ip.saddr);
	bw_addr_map4(p->in_daddr, ip.daddr);
	p->in_proto = ip.protocol;
	if (bw_parse_ports(skb, off + ip.ihl * 4, ip.protocol, 0, &p->in_sport,
			   &p->in_dport) < 0)
		return 0;
	p->flags |= BW_PKT_ICMP_ERR;
	return 0;
}

static __always_inline int bw_parse_icmp6_inner(struct __sk_buff *skb, __u32 off,
						struct bw_pkt *p)
{
	struct ipv6hdr ip6;

	if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)) < 0)
		return 0;
	/* Only quotes whose L4 header follows directly are matched. */
	bw_addr_copy(p->in_saddr, (const __u8 *)&ip6.saddr);
	bw_addr_copy(p->in_daddr, (const __u8 *)&ip6.daddr);
	p->in_proto = ip6.nexthdr;
	if (bw_parse_ports(skb, off + sizeof(ip6), ip6.nexthdr, 1, &p->in_sport,
			   &p->in_dport) < 0)
		return 0;
	p->flags |= BW_PKT_ICMP_ERR;
	return 0;
}

/* L4 header at @off (not called for non-first fragments). */
static __always_inline int bw_parse_l4(struct __sk_buff *skb, __u32 off, struct bw_pkt *p)
{
	__u8 b[14];
	int is_v6 = p->family == 6;

	switch (p->proto) {
	case IPPROTO_TCP:
		if (bw_load(skb, off, b, 14) < 0)
			return -BW_DROP_CT_INVALID_HDR;
		__builtin_memcpy(&p->sport, &b[0], 2);
		__builtin_memcpy(&p->dport, &b[2], 2);
		p->tcp_flags = b[13];
		p->pol_port = p->dport;
		return 0;
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		if (bw_parse_ports(skb, off, p->proto, is_v6, &p->sport, &p->dport) < 0)
			return -BW_DROP_CT_INVALID_HDR;
		p->pol_port = p->dport;
		return 0;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if ((p->proto == IPPROTO_ICMP) == is_v6)
			return 0; /* ICMP in IPv6 or ICMPv6 in IPv4: no ports */
		if (bw_load(skb, off, b, 8) < 0)
			return -BW_DROP_CT_INVALID_HDR;
		p->flags |= BW_PKT_ICMP;
		p->icmp_type = b[0];
		p->icmp_code = b[1];
		p->pol_port = bpf_htons((__u16)b[0] << 8);
		if (!is_v6) {
			switch (b[0]) {
			case ICMP_ECHO:
				p->flags |= BW_PKT_ECHO_REQ;
				__builtin_memcpy(&p->sport, &b[4], 2);
				break;
			case ICMP_ECHOREPLY:
				p->flags |= BW_PKT_ECHO_REP;
				__builtin_memcpy(&p->dport, &b[4], 2);
				break;
			case ICMP_DEST_UNREACH:
			case ICMP_TIME_EXCEEDED:
			case ICMP_PARAMETERPROB:
			case ICMP_SOURCE_QUENCH:
				return bw_parse_icmp4_inner(skb, off + 8, p);
			}
		} else {
			switch (b[0]) {
			case ICMPV6_ECHO_REQUEST:
				p->flags |= BW_PKT_ECHO_REQ;
				__builtin_memcpy(&p->sport, &b[4], 2);
				break;
			case ICMPV6_ECHO_REPLY:
				p->flags |= BW_PKT_ECHO_REP;
				__builtin_memcpy(&p->dport, &b[4], 2);
				break;
			case ICMPV6_DEST_UNREACH:
			case ICMPV6_PKT_TOOBIG:
			case ICMPV6_TIME_EXCEED:
			case ICMPV6_PARAMPROB:
				return bw_parse_icmp6_inner(skb, off + 8, p);
			case 130: /* MLD query */
			case 131: /* MLDv1 report */
			case 132: /* MLDv1 done */
			case 143: /* MLDv2 report */
			case 133: /* router solicitation */
			case 134: /* router advertisement */
			case 135: /* neighbour solicitation */
			case 136: /* neighbour advertisement */
			case 137: /* redirect */
				p->flags |= BW_PKT_NDP;
				break;
			}
		}
		return 0;
	default:
		return 0; /* other protocols: tracked by addresses and protocol */
	}
}

static __always_inline int bw_parse_ipv4(struct __sk_buff *skb, struct bw_pkt *p)
{
	struct iphdr ip;
	__u16 frag;

	if (bw_load(skb, ETH_HLEN, &ip, sizeof(ip)) < 0)
		return -BW_DROP_INVALID_PACKET;
	if (ip.ihl < 5 || ip.version != 4)
		return -BW_DROP_INVALID_PACKET;
	p->family = 4;
	p->proto = ip.protocol;
	p->ttl = ip.ttl;
	bw_addr_map4(p->saddr, ip.saddr);
	bw_addr_map4(p->daddr, ip.daddr);
	frag = bpf_ntohs(ip.frag_off);
	p->frag_id = ip.id;
	if (frag & 0x1fff) {
		p->flags |= BW_PKT_FRAG_LATER;
		return 0;
	}
	if (frag & 0x2000)
		p->flags |= BW_PKT_FRAG_FIRST;
	return bw_parse_l4(skb, ETH_HLEN + ip.ihl * 4, p);
}

struct bw_frag6_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 id;
};

static __always_inline int bw_parse_ipv6(struct __sk_buff *skb, struct bw_pkt *p)
{
	struct ipv6hdr ip6;
	__u32 off = ETH_HLEN + sizeof(ip6);
	__u8 nh;
	int i;

	if (bw_load(skb, ETH_HLEN, &ip6, sizeof(ip6)) < 0)
		return -BW_DROP_INVALID_PACKET;
	if (ip6.version != 6)
		return -BW_DROP_INVALID_PACKET;
	p->family = 6;
	p->ttl = ip6.hop_limit;
	bw_addr_copy(p->saddr, (const __u8 *)&ip6.saddr);
	bw_addr_copy(p->daddr, (const __u8 *)&ip6.daddr);
	nh = ip6.nexthdr;

#pragma unroll
	for (i = 0; i < BW_V6_MAX_EXTHDRS; i++) {
		__u8 h[2];
		struct bw_frag6_hdr fh;
		__u16 fo;

		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if (bpf_skb_load_bytes(skb, off, h, 2) < 0)
				return -BW_DROP_INVALID_IPV6_EXTHDR;
			nh = h[0];
			off += ((__u32)h[1] + 1) * 8;
			break;
		case IPPROTO_AH:
			if (bpf_skb_load_bytes(skb, off, h, 2) < 0)
				return -BW_DROP_INVALID_IPV6_EXTHDR;
			nh = h[0];
			off += ((__u32)h[1] + 2) * 4;
			break;
		case IPPROTO_FRAGMENT:
			if (bpf_skb_load_bytes(skb, off, &fh, sizeof(fh)) < 0)
				return -BW_DROP_INVALID_IPV6_EXTHDR;
			nh = fh.nexthdr;
			off += sizeof(fh);
			fo = bpf_ntohs(fh.frag_off);
			p->frag_id = fh.id;
			if (fo & 0xfff8) {
				p->proto = nh;
				p->flags |= BW_PKT_FRAG_LATER;
				return 0;
			}
			if (fo & 1)
				p->flags |= BW_PKT_FRAG_FIRST;
			break;
		default:
			goto l4;
		}
	}
	return -BW_DROP_INVALID_IPV6_EXTHDR;
l4:
	p->proto = nh;
	if (nh == IPPROTO_NONE)
		return 0;
	return bw_parse_l4(skb, off, p);
}

#endif /* BW_LIB_PARSE_H */
