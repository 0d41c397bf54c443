/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/datapath/earlydemux.h - the kernel's TCP and UDP early demux in the
 * daemon's network namespace (daemon.early_demux, docs/redirect.md
 * "TIME_WAIT and early demux").
 *
 * A connection a local proxy took part in leaves sockets in the node's
 * network namespace with the pod's tuple (the transparent accepted socket
 * client:port <-> server:port, the upstream socket bound to the client's
 * address), in TIME_WAIT for 60 s once closed. A later connection with the
 * same tuple that is NOT redirected (the L7 rule was removed, the proxy
 * stopped) is forwarded by the node; early demux, which runs before the
 * routing decision, attaches the matching socket to its packets and
 * ip_forward() drops every forwarded packet that has one. With early
 * demux off the routing decision comes first and such packets are
 * forwarded; what it costs (a route lookup per packet received for a
 * local socket) is measured in docs/benchmarks.md.
 *
 * bw_earlydemux_apply() turns net.ipv4.tcp_early_demux and
 * net.ipv4.udp_early_demux (they serve IPv6 too) off while the daemon
 * runs, in its own network namespace only, and bw_earlydemux_restore()
 * writes the previous values back. The previous values are kept in
 * <state_dir>/early_demux until they are restored, so that the start
 * after a crash still knows them.
 */
#ifndef BW_DATAPATH_EARLYDEMUX_H
#define BW_DATAPATH_EARLYDEMUX_H

/* daemon.early_demux (the order of its enum strings in core/config.c) */
enum bw_earlydemux_mode {
	BW_EARLYDEMUX_OFF = 0, /* off while bulwarkd runs (default) */
	BW_EARLYDEMUX_KEEP,    /* the kernel's setting is left alone */
};

/*
 * Apply mode: OFF saves the current values (unless a saved file from an
 * earlier run exists: those are the original ones) and writes 0; KEEP
 * restores saved values, if any. Failures are warnings (only connections
 * that reuse a proxy's tuple are affected); returns 0 or -errno.
 */
int bw_earlydemux_apply(int mode, const char *state_dir);

/* Write the saved values back and forget them (stop). */
void bw_earlydemux_restore(void);

/* Follow daemon.early_demux on SIGHUP (registers a config watcher). */
int bw_earlydemux_watch(void);

#endif /* BW_DATAPATH_EARLYDEMUX_H */
