/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/resolver_util.h - the resolver's small containers (hash map,
 * identity sets, pointer lists, prefix indexes) and its entity names
 * (core/policy/resolver_util.c). The bottom of the resolver's files; the
 * repository (policy.c) uses the hash map too.
 */
#ifndef BW_CORE_RESOLVER_UTIL_H
#define BW_CORE_RESOLVER_UTIL_H

#include <stddef.h>
#include <stdint.h>

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

/* The RV_ENT_* index of an entity name, or -1. */
int rv_entity_lookup(const char *name);

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

#endif /* BW_CORE_RESOLVER_UTIL_H */
