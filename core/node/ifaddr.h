/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/node/ifaddr.h - one interface's loopback flag and addresses, asked of
 * that interface alone (core/node/ifaddr.c).
 */
#ifndef BW_NODE_IFADDR_H
#define BW_NODE_IFADDR_H

#include <stddef.h>

/*
 * *loopback: the interface is the loopback; addr: the first address it
 * holds other than an IPv6 link-local one, as text ("" when none). 0, or
 * -errno when the kernel could not be asked (-ENODEV: no such interface).
 */
int bw_ifaddr_probe(int ifindex, int *loopback, char *addr, size_t addrlen);

#endif
