/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/datapath/datapath_int.h - what core/datapath/datapath.c and core/datapath/datapath_ct.c share;
 * nothing else includes it.
 */
#ifndef BW_CORE_DATAPATH_INT_H
#define BW_CORE_DATAPATH_INT_H

#include <stdint.h>

struct bw_config;
struct bw_endpoint_info;
struct bw_policy_entry_spec;

/* core/datapath/datapath.c */
int dp_ready(void);                     /* 0, or -ENXIO before init */
/* the conntrack clock: jiffies now (32 bits, as struct bw_ct_entry keeps
 * them; compare as signed differences), and seconds in jiffies */
uint32_t dp_ct_now(void);
uint32_t dp_ct_ticks(uint32_t seconds);
int dp_fd_ct(void);                     /* bw_ct */
int dp_fd_endpoints(void);              /* bw_endpoints */
int dp_fd_epslots(void);                /* bw_epslots */
int dp_fd_epaddr(void);                 /* bw_epaddr */
int dp_fd_proxy(void);                  /* bw_proxy */
int dp_fd_proxy_socks(void);            /* bw_proxy_socks */
const struct bw_config *dp_config(void); /* what bw_config holds */
/* identity of an address (IPv4-mapped when family is 4), as the kernel sees it */
uint32_t dp_ipcache_identity(uint8_t family, const uint8_t *addr);

/* bw_datapath_policy_sync, with or without the revalidation of the
 * endpoint's connections */
int dp_policy_sync(uint32_t ep_id, const struct bw_policy_entry_spec *entries, size_t n,
		   int revalidate);
/* an ipcache host entry of endpoint ep_id gets its interface */
void dp_ipcache_set_ifindex(int family, const void *addr, uint32_t ep_id, uint32_t ifindex);

/* core/datapath/datapath_ct.c: revalidate every connection, or mark it to be done
 * at the end of the current batch (bw_datapath_batch_begin). */
int dp_revalidate_all_req(void);

/* core/datapath/datapath_ep.c */
/* an endpoint's address came (ep_id) or went (ep_id 0; old_ep its owner) */
int dp_ep_addr(int family, const void *addr, uint32_t ep_id, uint32_t old_ep);
uint32_t dp_ep_ifindex(uint32_t ep_id); /* its host veth, 0 if unknown */
int dp_ep_live(uint32_t ep_id);         /* its entry exists (conntrack sweep) */
const struct bw_endpoint_info *dp_ep_info(uint32_t ep_id); /* its entry, or NULL */
int dp_ep_may_have_ct(uint32_t ep_id); /* 0: its veth never had the programs */
/* the programs are on its veth now (1), or about to be taken off (0) */
void dp_ep_ready(int ifindex, int ready);
void dp_eps_collected(void);            /* the sweep removed the dead ones' entries */
void dp_eps_free(void);

/* core/datapath/veth.c: the MACs of a veth pair (zeros where unknown) */
int dp_veth_macs(int ifindex, uint8_t host_mac[6], uint8_t peer_mac[6]);
/* bpffs.c: daemon.bpffs_dir on a BPF filesystem, mounting one if need be
 * (logs its failures); 0 or -errno */
int dp_bpffs_prepare(const char *dir);

#endif /* BW_CORE_DATAPATH_INT_H */
