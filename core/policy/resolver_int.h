/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/resolver_int.h - what the resolver's files (resolver.c,
 * resolver_compile.c, resolver_entries.c) share and nothing else includes.
 */
#ifndef BW_CORE_RESOLVER_INT_H
#define BW_CORE_RESOLVER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/policy/resolver.h"

/* Entities, in the order of the rule model's list. */
enum {
	RV_ENT_ALL = 0,
	RV_ENT_WORLD,
	RV_ENT_WORLD4,
	RV_ENT_WORLD6,
	RV_ENT_CLUSTER,
	RV_ENT_HOST,
	RV_ENT_REMOTE_NODE,
	RV_ENT_KUBE_APISERVER,
	RV_ENT_INGRESS,
	RV_ENT_INIT,
	RV_ENT_HEALTH,
	RV_ENT_UNMANAGED,
	RV_ENT_NONE,
};

/* Internal peer type: any peer (peers absent, or entity "all"). */
#define BW_RV_PEER_ANY 4

/* Hash map with byte-string keys (copied) and pointer values. */
struct rv_map {
	struct rv_mentry **b;
	size_t nb, n;
};

void rv_map_init(struct rv_map *m);
void rv_map_clear(struct rv_map *m);
void *rv_map_get(const struct rv_map *m, const void *key, size_t klen);
int rv_map_put(struct rv_map *m, const void *key, size_t klen, void *val);
void *rv_map_del(struct rv_map *m, const void *key, size_t klen);
void rv_map_foreach(const struct rv_map *m, void (*cb)(void *val, void *arg),
		    void *arg);

/* Sorted set of identities (also used unsorted for index buckets). */
struct rv_ids {
	uint32_t *v;
	size_t n, cap;
};

int rv_ids_has(const struct rv_ids *s, uint32_t id);
int rv_ids_add(struct rv_ids *s, uint32_t id);   /* keeps it sorted */
int rv_ids_del(struct rv_ids *s, uint32_t id);
void rv_ids_sort_uniq(struct rv_ids *s);
/* the unsorted use (index buckets): append, remove by swapping */
int rv_bucket_add(struct rv_ids *b, uint32_t id);
void rv_bucket_del(struct rv_ids *b, uint32_t id);
/* every value of m in a new array (NULL when empty or ENOMEM) */
void **rv_map_values(const struct rv_map *m, size_t *n);

/* a/alen lies inside b/blen. */
int rv_prefix_within(int fa, const uint8_t *a, int alen, int fb,
		     const uint8_t *b, int blen);

int rv_entity_lookup(const char *name);
const char *rv_entity_name(int ent);

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
	unsigned refs;
	int changed;
};

struct bw_rv_endpoint {
	uint32_t ep_id, ifindex, identity;
	char *ns, *pod;
	int audit;
	struct bw_rv_addr *addrs;
	size_t naddrs;
	struct bw_rv_named_port *ports; /* names owned */
	size_t nports;
	int dirty;
	int synced;
	/* resolved state as last synced */
	uint32_t flags;
	struct bw_rv_entry *e;
	size_t n;
	void **iso[3];   /* owners making it default-deny, per direction */
	size_t niso[3];
};

/* An unordered list of pointers (identities, selector cache entries). */
struct rv_ptrlist {
	void **v;
	size_t n, cap;
};

int rv_ptrlist_add(struct rv_ptrlist *l, void *p);
void rv_ptrlist_del(struct rv_ptrlist *l, const void *p);
/* Prefix indexes: m maps an exact prefix (family, addr masked to plen) to
 * a struct rv_ptrlist; add p to (or take it out of) that prefix's list. */
int rv_pfx_index(struct rv_map *m, int family, const uint8_t *addr, int plen, void *p,
		 int add);
/* The list of prefix (family, addr, plen) in m, NULL when empty. */
const struct rv_ptrlist *rv_pfx_list(const struct rv_map *m, int family,
				     const uint8_t *addr, int plen);

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
	uint64_t flushes, syncs;
	uint64_t regenerations, regen_ns; /* flushes that synced, their time */
};

/* resolver_entries.c */
int rv_resolve_and_sync(struct bw_resolver *r, struct bw_rv_endpoint *ep);
void rv_endpoint_desc(const struct bw_rv_endpoint *ep,
		      struct bw_rv_endpoint_desc *d);
const struct bw_rv_endpoint *rv_endpoint_get(const struct bw_resolver *r,
					     uint32_t ep_id);

#endif /* BW_CORE_RESOLVER_INT_H */
