/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/resolver_util.c - the resolver's small containers (a hash map with
 * byte-string keys, sorted identity sets, pointer lists), prefix
 * containment, and the prefix indexes (exact prefix -> list) behind its
 * CIDR identities and selectors, and the entity names. The bottom of the
 * resolver's files: it calls none of the others. Declared in
 * core/policy/resolver_util.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/policy/resolver.h"
#include "core/policy/resolver_util.h"

/* ---- small containers ---------------------------------------------------- */

static uint64_t rv_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 1469598103934665603ull;

	while (len--) {
		h ^= *p++;
		h *= 1099511628211ull;
	}
	return h;
}

struct rv_mentry {
	struct rv_mentry *next;
	uint64_t h;
	void *val;
	size_t klen;
	char key[];
};

void rv_map_init(struct rv_map *m)
{
	memset(m, 0, sizeof(*m));
}

void rv_map_clear(struct rv_map *m)
{
	for (size_t i = 0; i < m->nb; i++) {
		struct rv_mentry *e = m->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->b);
	memset(m, 0, sizeof(*m));
}

void *rv_map_get(const struct rv_map *m, const void *key, size_t klen)
{
	uint64_t h;

	if (!m->nb)
		return NULL;
	h = rv_hash(key, klen);
	for (struct rv_mentry *e = m->b[h % m->nb]; e; e = e->next)
		if (e->h == h && e->klen == klen && !memcmp(e->key, key, klen))
			return e->val;
	return NULL;
}

static int rv_map_grow(struct rv_map *m)
{
	size_t nb = m->nb ? m->nb * 2 : 64;
	struct rv_mentry **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < m->nb; i++) {
		struct rv_mentry *e = m->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->h % nb];
			b[e->h % nb] = e;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
	return 0;
}

/* Insert or replace. */
int rv_map_put(struct rv_map *m, const void *key, size_t klen, void *val)
{
	uint64_t h = rv_hash(key, klen);
	struct rv_mentry *e;

	if (m->nb)
		for (e = m->b[h % m->nb]; e; e = e->next)
			if (e->h == h && e->klen == klen &&
			    !memcmp(e->key, key, klen)) {
				e->val = val;
				return 0;
			}
	if (m->n + 1 > m->nb && rv_map_grow(m) < 0)
		return -ENOMEM;
	e = malloc(sizeof(*e) + klen + 1);
	if (!e)
		return -ENOMEM;
	e->h = h;
	e->val = val;
	e->klen = klen;
	memcpy(e->key, key, klen);
	e->key[klen] = '\0';
	e->next = m->b[h % m->nb];
	m->b[h % m->nb] = e;
	m->n++;
	return 0;
}

void *rv_map_del(struct rv_map *m, const void *key, size_t klen)
{
	uint64_t h;
	struct rv_mentry **pp;

	if (!m->nb)
		return NULL;
	h = rv_hash(key, klen);
	for (pp = &m->b[h % m->nb]; *pp; pp = &(*pp)->next) {
		struct rv_mentry *e = *pp;

		if (e->h == h && e->klen == klen && !memcmp(e->key, key, klen)) {
			void *val = e->val;

			*pp = e->next;
			free(e);
			m->n--;
			return val;
		}
	}
	return NULL;
}

/* Visit every value; cb may not change the map. */
void rv_map_foreach(const struct rv_map *m, void (*cb)(void *val, void *arg),
		    void *arg)
{
	for (size_t i = 0; i < m->nb; i++)
		for (struct rv_mentry *e = m->b[i]; e; e = e->next)
			cb(e->val, arg);
}

/* Collect every value into a new array (NULL when empty or ENOMEM). */
void **rv_map_values(const struct rv_map *m, size_t *n)
{
	void **v;
	size_t k = 0;

	*n = 0;
	if (!m->n)
		return NULL;
	v = malloc(m->n * sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < m->nb; i++)
		for (struct rv_mentry *e = m->b[i]; e; e = e->next)
			v[k++] = e->val;
	*n = k;
	return v;
}

/* Sorted identity sets. */
static int rv_ids_reserve(struct rv_ids *s, size_t n)
{
	uint32_t *v;
	size_t cap;

	if (n <= s->cap)
		return 0;
	cap = s->cap ? s->cap : 8;
	while (cap < n)
		cap *= 2;
	v = realloc(s->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->v = v;
	s->cap = cap;
	return 0;
}

/* Index of id or of where it would go. */
static size_t rv_ids_pos(const struct rv_ids *s, uint32_t id)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int rv_ids_has(const struct rv_ids *s, uint32_t id)
{
	size_t i = rv_ids_pos(s, id);

	return i < s->n && s->v[i] == id;
}

int rv_ids_add(struct rv_ids *s, uint32_t id)
{
	size_t i = rv_ids_pos(s, id);

	if (i < s->n && s->v[i] == id)
		return 0;
	if (rv_ids_reserve(s, s->n + 1) < 0)
		return -ENOMEM;
	memmove(s->v + i + 1, s->v + i, (s->n - i) * sizeof(*s->v));
	s->v[i] = id;
	s->n++;
	return 1;
}

int rv_ids_del(struct rv_ids *s, uint32_t id)
{
	size_t i = rv_ids_pos(s, id);

	if (i >= s->n || s->v[i] != id)
		return 0;
	memmove(s->v + i, s->v + i + 1, (s->n - i - 1) * sizeof(*s->v));
	s->n--;
	return 1;
}

static int rv_u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void rv_ids_sort_uniq(struct rv_ids *s)
{
	size_t k = 0;

	if (!s->n)
		return;
	qsort(s->v, s->n, sizeof(*s->v), rv_u32_cmp);
	for (size_t i = 1; i < s->n; i++)
		if (s->v[i] != s->v[k])
			s->v[++k] = s->v[i];
	s->n = k + 1;
}

/* Unsorted buckets of the label index. */
int rv_bucket_add(struct rv_ids *b, uint32_t id)
{
	if (rv_ids_reserve(b, b->n + 1) < 0)
		return -ENOMEM;
	b->v[b->n++] = id;
	return 0;
}

void rv_bucket_del(struct rv_ids *b, uint32_t id)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i] == id) {
			b->v[i] = b->v[--b->n];
			return;
		}
}

/* ---- prefixes ------------------------------------------------------------ */

int rv_prefix_within(int fa, const uint8_t *a, int alen, int fb,
		     const uint8_t *b, int blen)
{
	int full, rem;

	if (fa != fb || alen < blen)
		return 0;
	full = blen / 8;
	rem = blen % 8;
	if (memcmp(a, b, full))
		return 0;
	if (rem) {
		uint8_t mask = (uint8_t)(0xff << (8 - rem));

		if ((a[full] & mask) != (b[full] & mask))
			return 0;
	}
	return 1;
}

/* ---- prefix indexes ------------------------------------------------------- */

struct rv_pfx_key {
	uint8_t family;
	uint8_t plen;
	uint8_t addr[16]; /* host bits cleared */
};

static void rv_pfx_key_make(struct rv_pfx_key *k, int family, const uint8_t *addr, int plen)
{
	int full = plen / 8, rem = plen % 8;

	memset(k, 0, sizeof(*k));
	k->family = (uint8_t)family;
	k->plen = (uint8_t)plen;
	if (full > 16)
		full = 16;
	memcpy(k->addr, addr, (size_t)full);
	if (rem && full < 16)
		k->addr[full] = (uint8_t)(addr[full] & (0xff << (8 - rem)));
}

int rv_ptrlist_add(struct rv_ptrlist *l, void *p)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		void **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = p;
	return 0;
}

void rv_ptrlist_del(struct rv_ptrlist *l, const void *p)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == p) {
			l->v[i] = l->v[--l->n];
			return;
		}
}

/* Add p to (or take it out of) the list of prefix (family, addr, plen) in m. */
int rv_pfx_index(struct rv_map *m, int family, const uint8_t *addr, int plen, void *p,
			int add)
{
	struct rv_pfx_key k;
	struct rv_ptrlist *l;

	rv_pfx_key_make(&k, family, addr, plen);
	l = rv_map_get(m, &k, sizeof(k));
	if (add) {
		if (!l) {
			l = calloc(1, sizeof(*l));
			if (!l || rv_map_put(m, &k, sizeof(k), l) < 0) {
				free(l);
				return -ENOMEM;
			}
		}
		return rv_ptrlist_add(l, p);
	}
	if (l) {
		rv_ptrlist_del(l, p);
		if (!l->n) {
			rv_map_del(m, &k, sizeof(k));
			free(l->v);
			free(l);
		}
	}
	return 0;
}

/* The list of prefix (family, addr, plen) in m, NULL when empty. */
const struct rv_ptrlist *rv_pfx_list(const struct rv_map *m, int family,
					    const uint8_t *addr, int plen)
{
	struct rv_pfx_key k;

	rv_pfx_key_make(&k, family, addr, plen);
	return rv_map_get(m, &k, sizeof(k));
}

/* ---- entities --------------------------------------------------------------- */

static const char *const rv_entity_names[] = {
	[RV_ENT_ALL] = "all",
	[RV_ENT_WORLD] = "world",
	[RV_ENT_WORLD4] = "world-ipv4",
	[RV_ENT_WORLD6] = "world-ipv6",
	[RV_ENT_CLUSTER] = "cluster",
	[RV_ENT_HOST] = "host",
	[RV_ENT_REMOTE_NODE] = "remote-node",
	[RV_ENT_KUBE_APISERVER] = "kube-apiserver",
	[RV_ENT_INGRESS] = "ingress",
	[RV_ENT_INIT] = "init",
	[RV_ENT_HEALTH] = "health",
	[RV_ENT_UNMANAGED] = "unmanaged",
	[RV_ENT_NONE] = "none",
};

int rv_entity_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(rv_entity_names) / sizeof(*rv_entity_names); i++)
		if (rv_entity_names[i] && !strcmp(rv_entity_names[i], name))
			return (int)i;
	return -1;
}

int bw_resolver_entity_valid(const char *name)
{
	return rv_entity_lookup(name) >= 0;
}
