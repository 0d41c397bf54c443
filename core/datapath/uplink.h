/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/datapath/uplink.h - the program on the node's uplinks
 * (bpf/bw_uplink.bpf.c; datapath.uplinks; docs/redirect.md, section 2):
 * TCP connections from outside the node to a pod port that the pod's
 * ingress policy redirects to a local proxy are handed to the proxy at
 * the uplink's tc ingress hook.
 *
 * The program is loaded only while some uplink is configured; it shares
 * the datapath's pinned maps (loaded after bw_datapath_init()). Each
 * uplink gets it on its tc ingress hook, with a tcx link held by the
 * daemon (the kernel removes it when the daemon exits, also after a
 * crash) or, without tcx, a clsact filter of its own (handle 0xb02,
 * priority 1), removed when the daemon stops or the interface leaves the
 * list; the names are kept in <state_dir>/uplinks so that the start after
 * a crash removes filters of interfaces no longer listed. Nothing else of
 * the interface is changed.
 *
 * Runs on the daemon's loop thread; returns 0 or -errno and logs what it
 * decides (an interface that does not exist is a warning: it is attached
 * at the next reload that finds it).
 */
#ifndef BW_DATAPATH_UPLINK_H
#define BW_DATAPATH_UPLINK_H

/* Attach to the interfaces of list ("IF[,IF...]", datapath.uplinks). */
int bw_uplink_init(const char *bpffs_dir, const char *state_dir, const char *list);

/* Make the attached set equal to list (SIGHUP); registers the watcher. */
int bw_uplink_set(const char *list);
int bw_uplink_watch(void);

/* Detach from every uplink and unload the program (stop). */
void bw_uplink_close(void);

#endif /* BW_DATAPATH_UPLINK_H */
