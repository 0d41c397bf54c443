/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * hostroute.h - eBPF host routing (datapath.host_routing = bpf,
 * docs/datapath.md "eBPF host routing"): once both programs' policy has let
 * a packet leaving an endpoint through, it is delivered without the node's
 * routing and netfilter:
 *   - to another local endpoint straight into its namespace with
 *     bpf_redirect_peer() on that endpoint's host veth (the packet appears
 *     on the pod's eth0 as if the veth had carried it);
 *   - to anything else the node routes out of an interface, with
 *     bpf_fib_lookup() in the node's tables and bpf_redirect() (the
 *     neighbour known) or bpf_redirect_neigh() (the kernel resolves it).
 * Like the kernel's forwarding, the TTL / hop limit goes down by one and
 * the MAC addresses are the next hop's; a packet whose TTL would run out,
 * or that the node's tables deliver locally or refuse, goes the usual way
 * (the stack sends the ICMP error).
 */
#ifndef BW_LIB_HOSTROUTE_H
#define BW_LIB_HOSTROUTE_H

#include "lib/common.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

#define BW_IP_TTL_OFF (ETH_HLEN + 8)   /* iphdr.ttl */
#define BW_IP_CSUM_OFF (ETH_HLEN + 10) /* iphdr.check */
#define BW_IP6_HOPLIMIT_OFF (ETH_HLEN + 7)

/* Forwarding's TTL / hop limit decrement (p->ttl > 1, checked by the caller),
 * with the helpers: for a packet whose headers are not in the linear data. */
static __noinline int bw_hr_ttl_dec_slow(struct __sk_buff *skb, const struct bw_pkt *p)
{
	__u8 ttl = p->ttl - 1;

	if (p->family == 4) {
		/* the 16-bit word holding ttl and protocol, for the checksum */
		__be16 oldw = bpf_htons(((__u16)p->ttl << 8) | p->proto);
		__be16 neww = bpf_htons(((__u16)ttl << 8) | p->proto);

		if (bpf_l3_csum_replace(skb, BW_IP_CSUM_OFF, oldw, neww, 2) < 0)
			return -1;
		return bpf_skb_store_bytes(skb, BW_IP_TTL_OFF, &ttl, 1, 0) < 0 ? -1 : 0;
	}
	return bpf_skb_store_bytes(skb, BW_IP6_HOPLIMIT_OFF, &ttl, 1, 0) < 0 ? -1 : 0;
}

static __always_inline int bw_mac_set(const __u8 *m)
{
	return m[0] | m[1] | m[2] | m[3] | m[4] | m[5];
}

/*
 * What the kernel's forwarding does to a packet's headers: the TTL / hop
 * limit down by one (IPv4: the checksum updated incrementally, as
 * ip_decrease_ttl does), and, when dmac is given, the next hop's MAC as
 * destination and smac as source. Written straight into the linear data
 * (no helper call); headers that are not there take the helpers. 0, or -1
 * (the packet is left to the stack).
 */
static __always_inline int bw_hr_rewrite(struct __sk_buff *skb, const struct bw_pkt *p,
					 const __u8 *dmac, const __u8 *smac)
{
	void *data = bw_skb_data(skb);
	void *end = bw_skb_data_end(skb);

	if (data + ETH_HLEN + (p->family == 4 ? 20 : 40) <= end) {
		__u8 *ip = (__u8 *)data + ETH_HLEN;

		if (p->family == 4) {
			__u16 *csum;
			__u32 c;

			if ((void *)(ip + 20) > end)
				return -1;
			csum = (__u16 *)(ip + 10);
			ip[8] = p->ttl - 1;
			c = (__u32)*csum + (__u32)bpf_htons(0x0100);
			*csum = (__u16)(c + (c >= 0xffff));
		} else {
			if ((void *)(ip + 40) > end)
				return -1;
			ip[7] = p->ttl - 1;
		}
		if (dmac) {
			if (data + ETH_HLEN > end)
				return -1;
			__builtin_memcpy(data, dmac, 6);
			__builtin_memcpy((__u8 *)data + 6, smac, 6);
		}
		return 0;
	}
	if (bw_hr_ttl_dec_slow(skb, p) < 0)
		return -1;
	if (dmac) {
		__u8 mac[12];

		__builtin_memcpy(mac, dmac, 6);
		__builtin_memcpy(&mac[6], smac, 6);
		if (bpf_skb_store_bytes(skb, 0, mac, 12, 0) < 0)
			return -1;
	}
	return 0;
}

/*
 * Deliver into the local endpoint whose host veth is ifindex (its ingress
 * policy has passed): its pod's MAC as destination, its host veth's as
 * source (what the kernel's forwarding would write), then the veth's peer.
 */
static __always_inline int bw_hr_local(struct __sk_buff *skb, const struct bw_pkt *p,
				       const struct bw_endpoint_info *pep, __u32 ifindex)
{
	__u8 dmac[6], smac[6];
	int macs = bw_mac_set(pep->mac) && bw_mac_set(pep->host_mac);

	if (macs) {
		__builtin_memcpy(dmac, pep->mac, 6);
		__builtin_memcpy(smac, pep->host_mac, 6);
	}
	if (bw_hr_rewrite(skb, p, macs ? dmac : NULL, smac) < 0)
		return TC_ACT_OK;
	return bpf_redirect_peer(ifindex, 0);
}

/*
 * Everything that is not a local endpoint: the node's FIB decides. Returns
 * TC_ACT_OK (the stack goes on: a local destination, no route, a TTL that
 * runs out, ...), or the redirect.
 */
static __noinline int bw_hr_remote(struct __sk_buff *skb, const struct bw_pkt *p)
{
	struct bpf_fib_lookup f = {};
	long rc;

	f.ifindex = skb->ingress_ifindex;
	f.l4_protocol = p->proto;
	f.sport = p->sport;
	f.dport = p->dport;
	if (p->family == 4) {
		f.family = AF_INET;
		__builtin_memcpy(&f.ipv4_src, &p->saddr[12], 4);
		__builtin_memcpy(&f.ipv4_dst, &p->daddr[12], 4);
	} else {
		f.family = AF_INET6;
		__builtin_memcpy(f.ipv6_src, p->saddr, 16);
		__builtin_memcpy(f.ipv6_dst, p->daddr, 16);
	}
	rc = bpf_fib_lookup(skb, &f, sizeof(f), 0);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		if (bw_hr_rewrite(skb, p, f.dmac, f.smac) < 0)
			return TC_ACT_OK;
		return bpf_redirect(f.ifindex, 0);
	}
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		struct bpf_redir_neigh nh = {};

		if (bw_hr_rewrite(skb, p, NULL, NULL) < 0)
			return TC_ACT_OK;
		if (f.family == AF_INET) {
			nh.nh_family = AF_INET;
			nh.ipv4_nh = f.ipv4_dst; /* the gateway, or the destination */
		} else {
			nh.nh_family = AF_INET6;
			__builtin_memcpy(nh.ipv6_nh, f.ipv6_dst, 16);
		}
		return bpf_redirect_neigh(f.ifindex, &nh, sizeof(nh), 0);
	}
	return TC_ACT_OK;
}

#endif /* BW_LIB_HOSTROUTE_H */
