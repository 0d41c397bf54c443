/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/datapath/datapath_lookup.c - the datapath's policy decision over a
 * set of expanded entries held in memory instead of the pinned map.
 *
 * bw_datapath_policy_lookup() reads the kernel's map. A resolver whose
 * entries are not written to the map (staged policies, the advisor's
 * what-if) needs the same decision over its own entries: they are
 * expanded with bw_datapath_policy_expand() (the exact keys policy_sync
 * would write) and looked up here with the LPM trie's rule (the longest
 * prefix of the key's bits wins) and the same precedence function
 * (bw_datapath_policy_decide()), so the two answers cannot drift apart.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/datapath/datapath.h"

/* The first bits of a and b agree (LPM data: everything after prefixlen). */
static int
dpl_prefix_match(const struct bw_policy_key *entry, const struct bw_policy_key *k)
{
	const unsigned char *a = (const unsigned char *)entry + sizeof(entry->prefixlen);
	const unsigned char *b = (const unsigned char *)k + sizeof(k->prefixlen);
	unsigned bits = entry->prefixlen, full = bits / 8, rest = bits % 8;

	if (bits > BW_POLICY_FULL_BITS)
		return 0;
	if (memcmp(a, b, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ b[full]) & (0xffu << (8 - rest)) & 0xffu) == 0;
}

/* The entry an LPM trie lookup of k returns among kv, or NULL. */
static const struct bw_policy_value *
dpl_lpm(const struct bw_policy_kv *kv, size_t n, const struct bw_policy_key *k)
{
	const struct bw_policy_kv *best = NULL;

	for (size_t i = 0; i < n; i++)
		if (dpl_prefix_match(&kv[i].key, k) &&
		    (best == NULL || kv[i].key.prefixlen > best->key.prefixlen))
			best = &kv[i];
	return best != NULL ? &best->value : NULL;
}

int
bw_datapath_policy_lookup_set(const struct bw_policy_kv *kv, size_t n,
			      uint32_t ep_id, uint32_t identity, uint8_t direction,
			      uint8_t protocol, uint16_t port,
			      struct bw_policy_verdict *out)
{
	struct bw_policy_key k;
	const struct bw_policy_value *l3, *l4;
	int icmp = protocol == 1 || protocol == 58;

	if (out == NULL || (n > 0 && kv == NULL))
		return -EINVAL;
	memset(&k, 0, sizeof(k));
	k.prefixlen = BW_POLICY_FULL_BITS;
	k.ep_id = htonl(ep_id);
	k.identity = htonl(identity);
	k.direction = direction;
	k.protocol = protocol;
	k.dport = icmp ? htons((uint16_t)((port & 0xff) << 8)) : htons(port);
	l3 = dpl_lpm(kv, n, &k);
	k.identity = 0;
	l4 = dpl_lpm(kv, n, &k);
	bw_datapath_policy_decide(l3, l4, out);
	return 0;
}

/*
 * The same lookup over many keys (the what-if replays history): entries
 * sorted by their fixed part (endpoint, identity, direction: 72 bits that
 * bw_datapath_policy_expand() always writes whole), so that the candidates
 * of a key are found by binary search and the longest match is taken among
 * them with the trie's rule, as above.
 */
#define DPL_FIXED_BITS (BW_POLICY_FULL_BITS - 24)
#define DPL_FIXED_BYTES (DPL_FIXED_BITS / 8)

static int
dpl_fixed_cmp(const struct bw_policy_key *a, const struct bw_policy_key *b)
{
	return memcmp((const unsigned char *)a + sizeof(a->prefixlen),
		      (const unsigned char *)b + sizeof(b->prefixlen), DPL_FIXED_BYTES);
}

static int
dpl_kv_cmp(const void *pa, const void *pb)
{
	const struct bw_policy_kv *a = pa, *b = pb;
	int c = dpl_fixed_cmp(&a->key, &b->key);

	if (c != 0)
		return c;
	return a->key.prefixlen < b->key.prefixlen ? -1 : a->key.prefixlen > b->key.prefixlen;
}

int
bw_datapath_policy_sort(struct bw_policy_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (kv[i].key.prefixlen < DPL_FIXED_BITS)
			return -EINVAL;
	if (n > 1)
		qsort(kv, n, sizeof(*kv), dpl_kv_cmp);
	return 0;
}

static const struct bw_policy_value *
dpl_lpm_sorted(const struct bw_policy_kv *kv, size_t n, const struct bw_policy_key *k)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (dpl_fixed_cmp(&kv[mid].key, k) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (hi = lo; hi < n && dpl_fixed_cmp(&kv[hi].key, k) == 0; hi++)
		;
	return dpl_lpm(kv + lo, hi - lo, k);
}

int
bw_datapath_policy_lookup_sorted(const struct bw_policy_kv *kv, size_t n, uint32_t ep_id,
				 uint32_t identity, uint8_t direction, uint8_t protocol,
				 uint16_t port, struct bw_policy_verdict *out)
{
	struct bw_policy_key k;
	const struct bw_policy_value *l3, *l4;
	int icmp = protocol == 1 || protocol == 58;

	if (out == NULL || (n > 0 && kv == NULL))
		return -EINVAL;
	memset(&k, 0, sizeof(k));
	k.prefixlen = BW_POLICY_FULL_BITS;
	k.ep_id = htonl(ep_id);
	k.identity = htonl(identity);
	k.direction = direction;
	k.protocol = protocol;
	k.dport = icmp ? htons((uint16_t)((port & 0xff) << 8)) : htons(port);
	l3 = dpl_lpm_sorted(kv, n, &k);
	k.identity = 0;
	l4 = dpl_lpm_sorted(kv, n, &k);
	bw_datapath_policy_decide(l3, l4, out);
	return 0;
}
