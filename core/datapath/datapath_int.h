/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/datapath/datapath_int.h - what core/datapath/datapath.c and core/datapath/datapath_ct.c share;
 * nothing else includes it.
 */
#ifndef BW_CORE_DATAPATH_INT_H
#define BW_CORE_DATAPATH_INT_H

#include <stdint.h>

struct bw_config;

/* core/datapath/datapath.c */
int dp_ready(void);                     /* 0, or -ENXIO before init */
uint64_t dp_now_ns(void);               /* CLOCK_MONOTONIC = bpf_ktime_get_ns() */
int dp_fd_ct(void);                     /* bw_ct */
int dp_fd_endpoints(void);              /* bw_endpoints */
int dp_fd_proxy(void);                  /* bw_proxy */
int dp_fd_proxy_socks(void);            /* bw_proxy_socks */
const struct bw_config *dp_config(void); /* what bw_config holds */
/* identity of an address (IPv4-mapped when family is 4), as the kernel sees it */
uint32_t dp_ipcache_identity(uint8_t family, const uint8_t *addr);

/* core/datapath/datapath_ct.c: revalidate every connection, or mark it to be done
 * at the end of the current batch (bw_datapath_batch_begin). */
int dp_revalidate_all_req(void);

/* bpffs.c: daemon.bpffs_dir on a BPF filesystem, mounting one if need be
 * (logs its failures); 0 or -errno */
int dp_bpffs_prepare(const char *dir);

#endif /* BW_CORE_DATAPATH_INT_H */
