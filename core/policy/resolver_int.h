/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/resolver_int.h - what the resolver's files (resolver.c,
 * resolver_compile.c, resolver_entries.c) share and nothing else includes:
 * the resolver's state. Calls go one way: resolver.c uses
 * resolver_compile.c and resolver_entries.c, and all three use
 * resolver_util.c (resolver_util.h), which uses none of them.
 */
#ifndef BW_CORE_RESOLVER_INT_H
#define BW_CORE_RESOLVER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/policy/resolver.h"
#include "core/policy/resolver_util.h"

/* Internal peer type: any peer (peers absent, or entity "all"). */
#define BW_RV_PEER_ANY 4

struct rv_ident {
	uint32_t id;
	struct bw_labelset *labels;
	int world;      /* carries reserved:world* */
	int has_cidr;   /* carries a cidr: label (longest one below) */
	int family;
	uint8_t addr[16];
	int plen;
};

/* A selector cache entry. */
struct bw_rv_sel {
	char *key;
	int type;                   /* BW_RV_PEER_SEL / _ENTITY / _CIDR / _ANY */
	struct bw_selector *sel;
	int entity;
	int family;
	uint8_t addr[16];
	int plen;
	struct bw_rv_prefix *except;
	size_t nexcept;
	int match_endpoints;
	char *fqdn;                 /* BW_RV_PEER_FQDN: canonical text */
	struct rv_ids ids;          /* sorted */
	/*
	 * match_endpoints (Kubernetes ipBlock): the endpoint and split
	 * identities whose addresses lie in it, as the last address pass
	 * (resolver_split.c) found them; also in ids.
	 */
	struct rv_ids epids;
	struct rv_ids epnew;        /* the address pass's scratch */
	unsigned refs;
	int changed;
};

struct bw_rv_endpoint {
	uint32_t ep_id, ifindex, identity;
	char *ns, *pod;
	int audit;
	struct bw_rv_addr *addrs;
	size_t naddrs;
	/* per address: the split identity the ipcache maps it to (0 = the
	 * endpoint's own), as the last address pass decided; NULL = none */
	uint32_t *addr_ids;
	struct bw_rv_named_port *ports; /* names owned */
	size_t nports;
	struct bw_rv_visibility *vis;
	size_t nvis;
	int dirty;
	int synced;
	/* resolved state as last synced */
	uint32_t flags;
	struct bw_rv_entry *e;
	size_t n;
	struct bw_rv_l7 *l7; /* L7 contributions of the redirects */
	size_t nl7;
	void **iso[3];   /* owners making it default-deny, per direction */
	size_t niso[3];
};

struct bw_resolver {
	struct bw_resolver_ops ops;
	int enforcement;
	int audit;
	struct rv_map idents; /* u32 id -> struct rv_ident */
	struct rv_map eps;    /* u32 ep_id -> struct bw_rv_endpoint */
	struct rv_map sels;   /* key -> struct bw_rv_sel */
	struct rv_map index;  /* "any:key=value" -> struct rv_ids (unsorted) */
	/*
	 * Prefix indexes, so that large CIDR policies cost O(N), not O(N^2):
	 * cidr_ids maps a CIDR identity's (longest) prefix to its identities,
	 * cidr_sels a CIDR selector's prefix to the selectors with it;
	 * other_sels holds every selector that is not a CIDR one. Keys are
	 * struct rv_pfx_key (resolver.c).
	 */
	struct rv_map cidr_ids;   /* prefix -> struct rv_ptrlist of struct rv_ident */
	struct rv_map cidr_sels;  /* prefix -> struct rv_ptrlist of struct bw_rv_sel */
	struct rv_ptrlist other_sels; /* struct bw_rv_sel */
	struct bw_rv_policy *policies;
	size_t npolicies;
	struct rv_ids pending; /* CIDR identities to release after the next flush */
	/*
	 * Addresses split off their endpoint identity by ipBlock peers
	 * (resolver_split.c): the split identities in use, the address ->
	 * identity mappings written through ops.split_map, and whether the
	 * address pass must run again (endpoints or ipBlock selectors changed).
	 */
	struct rv_split *splits;
	size_t nsplits, capsplits;
	struct rv_map addrmap;      /* struct rv_amap_key -> struct rv_amap */
	struct rv_ptrlist ipblock_sels; /* struct bw_rv_sel with match_endpoints */
	int split_dirty;
	int split_retry; /* a split identity could not be had: try on the next flush */
	int flushing;
	uint64_t flushes, syncs;
	uint64_t regenerations, regen_ns; /* flushes that synced, their time */
};

/* A split identity (resolver_split.c). */
struct rv_split {
	uint32_t id;        /* from ops.split_acquire */
	uint32_t base;      /* the endpoint identity it splits */
	char sigkey[17];    /* hex hash of the keys of the ipBlocks holding its addresses */
	int used;           /* wanted by the last address pass */
};

/* resolver_entries.c */
#define BW_RV_EP_ADDR_IDS 64 /* identities one endpoint's addresses map to, at most */
int rv_resolve_and_sync(struct bw_resolver *r, struct bw_rv_endpoint *ep);
/* The identities an endpoint's addresses map to (its own unless split),
 * each once; returns how many (at most max). */
size_t rv_ep_addr_identities(const struct bw_rv_endpoint *ep, uint32_t *out, size_t max);

/* resolver.c */
void rv_propagate_changed(struct bw_resolver *r, int endpoints_changed);
int rv_is_endpoint_identity(const struct bw_resolver *r, uint32_t id);

/* resolver_split.c: the address pass and its writes (docs/policy.md) */
int rv_split_update(struct bw_resolver *r);
int rv_split_apply(struct bw_resolver *r);
void rv_split_release_unused(struct bw_resolver *r);
const struct rv_split *rv_split_find(const struct bw_resolver *r, uint32_t id);
void rv_split_free(struct bw_resolver *r);

#endif /* BW_CORE_RESOLVER_INT_H */
