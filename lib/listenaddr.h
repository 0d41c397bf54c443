/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/listenaddr.h - listen addresses of the daemon's TCP listeners
 * (BW_CONF_F_LISTEN config keys: prometheus.listen, webui.listen):
 * "HOST:PORT", "[IPV6]:PORT" or ":PORT" (every address), PORT 1..65535, HOST
 * an IPv4 address or a host name. One parser for the core's config check
 * and the modules that bind.
 */
#ifndef BW_LIB_LISTENADDR_H
#define BW_LIB_LISTENADDR_H

#include <stddef.h>
#include <stdint.h>

/*
 * Split v into host (":PORT" gives "::", dual stack) and port. Returns
 * NULL when v is a listen address, else what is wrong with it (a static
 * string). host may be NULL when only the check is wanted.
 */
const char *bw_listen_parse(const char *v, char *host, size_t hostlen,
			    uint16_t *port);

/*
 * Whether host (as bw_listen_parse gives it) is a loopback address:
 * 127.0.0.0/8, ::1, or the name "localhost". Every other host, names
 * included, counts as reachable from elsewhere.
 */
int bw_listen_is_loopback(const char *host);

#endif /* BW_LIB_LISTENADDR_H */
