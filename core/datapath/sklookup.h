/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/datapath/sklookup.h - the sk_lookup program on the daemon's network
 * namespace (bpf/bw_sklookup.bpf.c): a redirected SYN whose tuple a
 * proxy's TIME_WAIT socket holds goes to the proxy's listener (the
 * kernel retires the TIME_WAIT socket), instead of being answered by the
 * TIME_WAIT socket (the client would connect a second later). See
 * bpf/bw_datapath.h, bw_tw_syn.
 *
 * The link is held by the daemon, not pinned: the kernel removes it when
 * the daemon exits, however it ends (its proxies are gone then too).
 */
#ifndef BW_DATAPATH_SKLOOKUP_H
#define BW_DATAPATH_SKLOOKUP_H

/*
 * Load the program on the pinned maps (after bw_datapath_init()) and
 * attach it to the calling process's network namespace. A kernel without
 * sk_lookup (< 5.9) is a warning: returns 0 and such clients keep the
 * one-second retry. Returns 0 or -errno (logged).
 */
int bw_sklookup_init(const char *bpffs_dir);

/* Detach and unload (stop). */
void bw_sklookup_close(void);

#endif /* BW_DATAPATH_SKLOOKUP_H */
