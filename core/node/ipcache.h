/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/node/ipcache.h - IP prefix -> identity, the user-side truth of the
 * datapath's bw_ipcache4/bw_ipcache6 LPM tries.
 *
 * Each prefix may be claimed by several owners (an endpoint address, a CIDR
 * identity, an address DNS gave for a toFQDNs name, the node itself, an
 * address a Kubernetes ipBlock splits off its endpoint's identity); the
 * entry written to the kernel is the one of the strongest owner (host >
 * ipblock > endpoint > fqdn > cidr: a name that resolves to a pod or node
 * address does not change that address's identity, as in Cilium). Lookups
 * follow the kernel's longest-prefix-match semantics so that trace and flow
 * enrichment give the same answer the datapath gives. An address no prefix covers belongs to
 * reserved:world (identity 2), as in the datapath.
 *
 * Every change is written through to the datapath (bw_datapath_ipcache_put
 * / _del) before the call returns, except inside bw_ipcache_defer_begin/end
 * (below); on a datapath error the table is left as it was. Everything
 * here runs on the loop thread.
 */
#ifndef BW_IPCACHE_H
#define BW_IPCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lib/prefix.h"

/*
 * Owners, weakest first. IPBLOCK: an endpoint address that Kubernetes
 * ipBlock peers split off its endpoint's identity (the policy repository
 * claims it with the split identity and the same endpoint id; docs/policy.md).
 */
enum bw_ipcache_owner {
	BW_IPCACHE_OWNER_CIDR = 1,
	BW_IPCACHE_OWNER_FQDN,
	BW_IPCACHE_OWNER_ENDPOINT,
	BW_IPCACHE_OWNER_IPBLOCK,
	BW_IPCACHE_OWNER_HOST,
};

struct bw_ipcache_entry {
	struct bw_prefix prefix;
	uint32_t identity;
	uint32_t ep_id;   /* local endpoint owning the address, 0 if none */
	enum bw_ipcache_owner owner;
};

/*
 * Start the table and map every address of the daemon's network namespace
 * (getifaddrs) to reserved:host. Returns 0 or a negative errno.
 */
int bw_ipcache_init(void);
void bw_ipcache_fini(void);

/*
 * Claim prefix for owner with (identity, ep_id); replaces that owner's
 * earlier claim. The kernel entry is written when this owner is the
 * strongest on the prefix. Returns 0 or a negative errno (datapath).
 */
int bw_ipcache_upsert(const struct bw_prefix *p, uint32_t identity,
		      uint32_t ep_id, enum bw_ipcache_owner owner);

/*
 * Deferred writes (an import's CIDR peers): between bw_ipcache_defer_begin()
 * and bw_ipcache_defer_end(), a new prefix that names no endpoint (and
 * whose covering prefix names none) enters the table at once but reaches
 * the kernel at the end, in one batch (bw_datapath_ipcache_put_many),
 * instead of with a lookup, an update and an anti-spoofing delete each.
 * Any other change, a removal or bw_ipcache_prune() writes what is pending
 * first, so the kernel sees the changes in the order they were made.
 * Nesting counts; the outermost end writes. bw_ipcache_defer_end() returns
 * 0 or a negative errno; then *failed (if not NULL) is the first prefix not
 * written, and the caller releases the claims it made (their removal
 * tolerates the missing kernel entries).
 */
void bw_ipcache_defer_begin(void);
int bw_ipcache_defer_end(struct bw_prefix *failed);

/*
 * Drop owner's claim on prefix; the kernel entry falls back to the next
 * owner or is deleted. Returns 0, -ENOENT, or a negative errno.
 */
int bw_ipcache_remove(const struct bw_prefix *p, enum bw_ipcache_owner owner);

/*
 * Longest-prefix match for an address (family 4 or 6, addr in network
 * order). Fills out and returns 0; -ENOENT when nothing covers it (out is
 * then set to reserved:world, identity 2, ep_id 0).
 */
int bw_ipcache_lookup(int family, const uint8_t *addr,
		      struct bw_ipcache_entry *out);

/*
 * Delete the kernel entries no owner claims (left by an earlier run: a
 * CIDR peer of a policy removed while the daemon was down, an address of
 * the node it no longer has). Run once at start, after endpoints and
 * policies are restored and resolved (bw_endpoint_attach_all() does it
 * before attaching). Returns 0 or a negative errno.
 */
int bw_ipcache_prune(void);

/* Prefixes of a family (4 or 6) in the table, each once (= kernel entries). */
size_t bw_ipcache_count(int family);
/* True when the exact prefix is in the table. */
int bw_ipcache_has(const struct bw_prefix *p);
/*
 * The longest prefix covering the address that owner claims (whether or
 * not that claim is the effective one). Returns 0 and fills out, or -ENOENT.
 */
int bw_ipcache_lookup_owner(int family, const uint8_t *addr,
			    enum bw_ipcache_owner owner,
			    struct bw_ipcache_entry *out);

/* True when the address is one of the node's own (owner host). */
int bw_ipcache_is_host_addr(int family, const uint8_t *addr);

/* Visit the effective entries; stops when cb returns non-zero. */
void bw_ipcache_foreach(int (*cb)(const struct bw_ipcache_entry *e, void *arg),
			void *arg);

/* All effective entries as a JSON array (API, tests). */
json_t *bw_ipcache_to_json(void);

#endif /* BW_IPCACHE_H */
