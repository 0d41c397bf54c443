/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ipcache.h - address -> (identity, owning endpoint) through the
 * bw_ipcache4/bw_ipcache6 LPM tries. A miss is the world identity.
 */
#ifndef BW_LIB_IPCACHE_H
#define BW_LIB_IPCACHE_H

#include "lib/maps.h"

/* @addr is IPv4-mapped when @family is 4. Returns NULL on a miss. */
static __always_inline struct bw_ipcache_value *bw_ipcache_lookup(__u8 family, const __u8 *addr)
{
	if (family == 4) {
		struct bw_ipcache4_key k = { .prefixlen = 32 };

		__builtin_memcpy(k.addr, &addr[12], 4);
		return bpf_map_lookup_elem(&bw_ipcache4, &k);
	} else {
		struct bw_ipcache6_key k = { .prefixlen = 128 };

		__builtin_memcpy(k.addr, addr, 16);
		return bpf_map_lookup_elem(&bw_ipcache6, &k);
	}
}

static __always_inline __u32 bw_ipcache_identity(__u8 family, const __u8 *addr)
{
	struct bw_ipcache_value *v = bw_ipcache_lookup(family, addr);

	return v && v->identity ? v->identity : BW_ID_WORLD;
}

#endif /* BW_LIB_IPCACHE_H */
