/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * maps.h - the map set (names, types, sizes as in bw_datapath.h). Defined
 * once per object: include from exactly one bpf/bw_*.bpf.c per object. The
 * loader pins every map under daemon.bpffs_dir and reuses existing pins.
 */
#ifndef BW_LIB_MAPS_H
#define BW_LIB_MAPS_H

#include "lib/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BW_ENDPOINTS_MAX);
	__type(key, __u32);
	__type(value, struct bw_endpoint_info);
} bw_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BW_EPSLOTS);
	__type(key, __u32);
	__type(value, struct bw_endpoint_info);
} bw_epslots SEC(".maps");

/* The endpoint behind a host veth: its slot in bw_epslots (an array access),
 * else bw_endpoints. NULL: not an endpoint's interface. */
static __always_inline struct bw_endpoint_info *bw_endpoint(__u32 ifindex)
{
	__u32 slot = ifindex & (BW_EPSLOTS - 1);
	struct bw_endpoint_info *ep = bpf_map_lookup_elem(&bw_epslots, &slot);

	if (ep && ep->ifindex == ifindex && ep->ep_id)
		return ep;
	return bpf_map_lookup_elem(&bw_endpoints, &ifindex);
}

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, BW_IPCACHE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bw_ipcache4_key);
	__type(value, struct bw_ipcache_value);
} bw_ipcache4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, BW_IPCACHE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bw_ipcache6_key);
	__type(value, struct bw_ipcache_value);
} bw_ipcache6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, BW_POLICY_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bw_policy_key);
	__type(value, struct bw_policy_value);
} bw_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BW_CT_MAX);
	__type(key, struct bw_ct_key);
	__type(value, struct bw_ct_entry);
} bw_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BW_EPADDR_MAX);
	__type(key, struct bw_epaddr_key);
	__type(value, __u32);
} bw_epaddr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BW_METRICS_SLOTS);
	__type(key, __u32);
	__type(value, struct bw_metrics_value);
} bw_metrics SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bw_config);
} bw_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, BW_EVENTS_BYTES);
} bw_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} bw_events_lost SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BW_FRAG_MAX);
	__type(key, struct bw_frag_key);
	__type(value, struct bw_frag_value);
} bw_frag SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BW_PROXY_CLASSES);
	__type(key, __u32);
	__type(value, struct bw_proxy_info);
} bw_proxy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, BW_PROXY_SOCKS_MAX);
	__type(key, __u32);
	__type(value, __u64);
} bw_proxy_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BW_TWSYN_MAX);
	__type(key, struct bw_twsyn_key);
	__type(value, __u32);
} bw_tw_syn SEC(".maps");

/* What a new conntrack entry records besides the packet (lib/conntrack.h). */
struct bw_ct_new {
	__u32 peer_id;
	__u32 peer_ifindex; /* the peer is a local endpoint on this veth, else 0 */
	__u32 rule_ref;
	__u32 extra_flags;
	__u8 match_type;
	__u8 audited;
	__u8 peer_local;
	__u8 proxy_class;
};

/* Per-CPU scratch space (the BPF stack is 512 bytes); not pinned. */
struct bw_scratch {
	struct bw_pkt pkt;
	struct bw_ct_key ct_key;
	struct bw_ct_entry ct_new;
	struct bw_ct_new cn; /* bw_stage(): what its new entry records */
	struct bw_frag_key frag_key;
	__u32 hr_ok;   /* host routing: the packet may take the fast path */
	__u32 hr_peer; /* ... to the local endpoint on this host veth (0: FIB) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bw_scratch);
} bw_scratch SEC(".maps");

#endif /* BW_LIB_MAPS_H */
