/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/prefix.h - IP prefixes ("10.0.0.0/8", "2001:db8::/32", a bare
 * address): the one parser, printer and containment test that the
 * ipcache, the resolver, the flow filters and the policy format modules
 * share.
 */
#ifndef BW_LIB_PREFIX_H
#define BW_LIB_PREFIX_H

#include <stddef.h>
#include <stdint.h>

struct bw_prefix {
	int family;       /* 4 or 6 */
	int plen;         /* 0..32 / 0..128 */
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
};

/* bw_prefix_parse() flags */
#define BW_PREFIX_STRICT 0x1   /* host bits must be zero (else they are cleared) */
#define BW_PREFIX_NEED_LEN 0x2 /* "ADDR/LEN" only: a bare address is refused */

/*
 * Parse "ADDR/LEN" or, unless BW_PREFIX_NEED_LEN, a bare "ADDR" (a host
 * prefix, /32 or /128). LEN is one to three decimal digits, at most the
 * family's width. Host bits are cleared, or refused with BW_PREFIX_STRICT;
 * the rest of addr is zero. Returns 0 or -EINVAL (p is then zeroed).
 */
int bw_prefix_parse(const char *s, unsigned flags, struct bw_prefix *p);

/*
 * Parse the key of a "cidr:" label ("10.0.0.0/8", "2001-db8--/32": IPv6
 * labels write ':' as '-', as Cilium does). Host bits are cleared.
 * Returns 0 or -EINVAL.
 */
int bw_prefix_parse_label(const char *key, struct bw_prefix *p);

/* "10.0.0.0/8"; with_len 0 prints the address only. Returns buf. */
const char *bw_prefix_format(const struct bw_prefix *p, int with_len,
			     char *buf, size_t buflen);

/* Clear the host bits of p (and the unused bytes of an IPv4 address). */
void bw_prefix_mask(struct bw_prefix *p);

/* True when p contains the address (family 4 or 6, network order). */
int bw_prefix_contains(const struct bw_prefix *p, int family,
		       const uint8_t *addr);

/*
 * True when inner lies within outer: same family, at least as long, and
 * equal on outer's bits; with strict, inner must also be longer.
 */
int bw_prefix_within(const struct bw_prefix *inner,
		     const struct bw_prefix *outer, int strict);

int bw_prefix_equal(const struct bw_prefix *a, const struct bw_prefix *b);

#endif /* BW_LIB_PREFIX_H */
