/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/advisor/advisor_rows.c - the history of one request: the rows
 * the history provider hands over (on its own thread), aggregated by
 * connection key (source, destination, port, protocol, direction) with
 * their counts per verdict, names interned so that a key is a handful of
 * pointers and integers; and a small string map the other files use.
 *
 * A provider row is a (key, verdict, policies) aggregate over the window;
 * the advisor asks about connections, so verdicts are summed per key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/flowpeer.h"
#include "advisor.h"

static uint64_t
adv_hash(const void *p, size_t n, uint64_t h)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

#define ADV_HASH_INIT UINT64_C(14695981039346656037)

/* ---- a string map ------------------------------------------------------------------ */

struct adv_mentry {
	struct adv_mentry *next;
	uint64_t h;
	char *key;
	void *val;
};

void
adv_map_init(struct adv_map *m)
{
	memset(m, 0, sizeof(*m));
}

void
adv_map_clear(struct adv_map *m, void (*free_val)(void *))
{
	for (size_t i = 0; i < m->nb; i++) {
		struct adv_mentry *e = m->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			if (free_val != NULL && e->val != NULL)
				free_val(e->val);
			free(e->key);
			free(e);
		}
	}
	free(m->b);
	memset(m, 0, sizeof(*m));
}

void *
adv_map_get(const struct adv_map *m, const char *key)
{
	uint64_t h;

	if (m->nb == 0)
		return NULL;
	h = adv_hash(key, strlen(key), ADV_HASH_INIT);
	for (struct adv_mentry *e = m->b[h % m->nb]; e; e = e->next)
		if (e->h == h && !strcmp(e->key, key))
			return e->val;
	return NULL;
}

static int
adv_map_grow(struct adv_map *m)
{
	size_t nb = m->nb ? m->nb * 2 : 64;
	struct adv_mentry **b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < m->nb; i++) {
		struct adv_mentry *e = m->b[i], *next;

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

int
adv_map_put(struct adv_map *m, const char *key, void *val)
{
	uint64_t h = adv_hash(key, strlen(key), ADV_HASH_INIT);
	struct adv_mentry *e;

	for (e = m->nb ? m->b[h % m->nb] : NULL; e; e = e->next)
		if (e->h == h && !strcmp(e->key, key)) {
			e->val = val;
			return 0;
		}
	if ((m->n + 1) * 2 > m->nb && adv_map_grow(m) < 0)
		return -ENOMEM;
	if ((e = calloc(1, sizeof(*e))) == NULL || (e->key = strdup(key)) == NULL) {
		free(e);
		return -ENOMEM;
	}
	e->h = h;
	e->val = val;
	e->next = m->b[h % m->nb];
	m->b[h % m->nb] = e;
	m->n++;
	return 0;
}

static int
adv_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **
adv_map_keys(const struct adv_map *m, size_t *n)
{
	const char **v;
	size_t k = 0;

	*n = 0;
	if (m->n == 0 || (v = calloc(m->n, sizeof(*v))) == NULL)
		return NULL;
	for (size_t i = 0; i < m->nb; i++)
		for (struct adv_mentry *e = m->b[i]; e; e = e->next)
			v[k++] = e->key;
	qsort(v, k, sizeof(*v), adv_strcmp_p);
	*n = k;
	return v;
}

/* ---- a pointer-keyed map ------------------------------------------------------------- */

struct adv_pentry {
	const void *a, *b;
	uint64_t c;
	void *val;
	int used;
};

void
adv_pmap_init(struct adv_pmap *m)
{
	memset(m, 0, sizeof(*m));
}

void
adv_pmap_clear(struct adv_pmap *m)
{
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static size_t
adv_pmap_slot(const struct adv_pmap *m, const void *a, const void *b, uint64_t c)
{
	uint64_t h = (uint64_t)(uintptr_t)a * UINT64_C(0x9e3779b97f4a7c15);

	h ^= (uint64_t)(uintptr_t)b * UINT64_C(0xc2b2ae3d27d4eb4f);
	h ^= c * UINT64_C(0x165667b19e3779f9);
	h ^= h >> 29;
	return (size_t)h & (m->cap - 1);
}

void *
adv_pmap_get(const struct adv_pmap *m, const void *a, const void *b, uint64_t c)
{
	if (m->cap == 0)
		return NULL;
	for (size_t i = adv_pmap_slot(m, a, b, c);; i = (i + 1) & (m->cap - 1)) {
		const struct adv_pentry *e = &m->v[i];

		if (!e->used)
			return NULL;
		if (e->a == a && e->b == b && e->c == c)
			return e->val;
	}
}

int
adv_pmap_put(struct adv_pmap *m, const void *a, const void *b, uint64_t c, void *val)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		struct adv_pmap nm = { NULL, m->cap ? m->cap * 2 : 256, 0 };

		if ((nm.v = calloc(nm.cap, sizeof(*nm.v))) == NULL)
			return -ENOMEM;
		for (size_t k = 0; k < m->cap; k++)
			if (m->v[k].used)
				adv_pmap_put(&nm, m->v[k].a, m->v[k].b, m->v[k].c, m->v[k].val);
		free(m->v);
		*m = nm;
	}
	for (i = adv_pmap_slot(m, a, b, c); m->v[i].used; i = (i + 1) & (m->cap - 1))
		if (m->v[i].a == a && m->v[i].b == b && m->v[i].c == c) {
			m->v[i].val = val;
			return 0;
		}
	m->v[i] = (struct adv_pentry){ a, b, c, val, 1 };
	m->n++;
	return 0;
}

/* ---- interned strings ---------------------------------------------------------------- */

#define ADV_CHUNK 65536

struct adv_chunk {
	struct adv_chunk *next;
	size_t used;
	char data[ADV_CHUNK];
};

struct adv_strpool {
	struct adv_chunk *chunks;
	const char **slots; /* open addressing */
	uint64_t *hashes;
	size_t nslots, n;
};

static struct adv_strpool *
adv_pool_new(void)
{
	struct adv_strpool *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->nslots = 1024;
	p->slots = calloc(p->nslots, sizeof(*p->slots));
	p->hashes = calloc(p->nslots, sizeof(*p->hashes));
	if (p->slots == NULL || p->hashes == NULL) {
		free(p->slots);
		free(p->hashes);
		free(p);
		return NULL;
	}
	return p;
}

static void
adv_pool_free(struct adv_strpool *p)
{
	struct adv_chunk *c, *next;

	if (p == NULL)
		return;
	for (c = p->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(p->slots);
	free(p->hashes);
	free(p);
}

static char *
adv_pool_alloc(struct adv_strpool *p, size_t n)
{
	struct adv_chunk *c = p->chunks;

	if (n > ADV_CHUNK / 4) {
		/* a big string gets a chunk of its own, behind the current one */
		struct adv_chunk *big = malloc(sizeof(*big) - ADV_CHUNK + n);

		if (big == NULL)
			return NULL;
		big->used = n;
		if (c != NULL) {
			big->next = c->next;
			c->next = big;
		} else {
			big->next = NULL;
			p->chunks = big;
		}
		return big->data;
	}
	if (c == NULL || c->used + n > ADV_CHUNK) {
		if ((c = malloc(sizeof(*c))) == NULL)
			return NULL;
		c->used = 0;
		c->next = p->chunks;
		p->chunks = c;
	}
	c->used += n;
	return c->data + c->used - n;
}

static int
adv_pool_grow(struct adv_strpool *p)
{
	size_t ns = p->nslots * 2;
	const char **slots = calloc(ns, sizeof(*slots));
	uint64_t *hashes = calloc(ns, sizeof(*hashes));

	if (slots == NULL || hashes == NULL) {
		free(slots);
		free(hashes);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->nslots; i++) {
		size_t j;

		if (p->slots[i] == NULL)
			continue;
		for (j = p->hashes[i] & (ns - 1); slots[j] != NULL; j = (j + 1) & (ns - 1))
			;
		slots[j] = p->slots[i];
		hashes[j] = p->hashes[i];
	}
	free(p->slots);
	free(p->hashes);
	p->slots = slots;
	p->hashes = hashes;
	p->nslots = ns;
	return 0;
}

static const char *
adv_pool_intern(struct adv_strpool *p, const char *s)
{
	size_t len = strlen(s), j;
	uint64_t h = adv_hash(s, len, ADV_HASH_INIT);
	char *copy;

	for (j = h & (p->nslots - 1); p->slots[j] != NULL; j = (j + 1) & (p->nslots - 1))
		if (p->hashes[j] == h && !strcmp(p->slots[j], s))
			return p->slots[j];
	if ((copy = adv_pool_alloc(p, len + 1)) == NULL)
		return NULL;
	memcpy(copy, s, len + 1);
	p->slots[j] = copy;
	p->hashes[j] = h;
	if (++p->n * 2 > p->nslots && adv_pool_grow(p) < 0)
		return NULL;
	return copy;
}

/* ---- rows ------------------------------------------------------------------------------ */

int
adv_rows_init(struct adv_rows *t, size_t max)
{
	memset(t, 0, sizeof(*t));
	t->max = max;
	t->nslots = 4096;
	t->slots = calloc(t->nslots, sizeof(*t->slots));
	t->strs = adv_pool_new();
	if (t->slots == NULL || t->strs == NULL) {
		adv_rows_free(t);
		return -ENOMEM;
	}
	return 0;
}

void
adv_rows_free(struct adv_rows *t)
{
	free(t->v);
	free(t->slots);
	adv_pool_free(t->strs);
	memset(t, 0, sizeof(*t));
}

const char *
adv_rows_intern(struct adv_rows *t, const char *s)
{
	const char *r = s != NULL ? adv_pool_intern(t->strs, s) : NULL;

	if (s != NULL && r == NULL)
		t->nomem = 1;
	return r;
}

static uint64_t
adv_row_hash(const struct adv_row *r)
{
	uint64_t h = ADV_HASH_INIT;

	h = adv_hash(&r->src, sizeof(r->src), h);
	h = adv_hash(&r->dst, sizeof(r->dst), h);
	h = adv_hash(&r->port, sizeof(r->port), h);
	h = adv_hash(&r->proto, sizeof(r->proto), h);
	return adv_hash(&r->dir, sizeof(r->dir), h);
}

static int
adv_row_same(const struct adv_row *a, const struct adv_row *b)
{
	return a->src == b->src && a->dst == b->dst && a->port == b->port &&
	       a->proto == b->proto && a->dir == b->dir;
}

static int
adv_rows_grow_slots(struct adv_rows *t)
{
	size_t ns = t->nslots * 2;
	uint32_t *slots = calloc(ns, sizeof(*slots));

	if (slots == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		size_t j;

		for (j = adv_row_hash(&t->v[i]) & (ns - 1); slots[j] != 0; j = (j + 1) & (ns - 1))
			;
		slots[j] = (uint32_t)(i + 1);
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = ns;
	return 0;
}

int
adv_rows_add(struct adv_rows *t, const struct bw_history_row *r)
{
	struct adv_row k = { 0 }, *row;
	size_t j;

	t->records++;
	if (r->source == NULL || r->destination == NULL)
		return 0;
	k.src = adv_rows_intern(t, r->source);
	k.dst = adv_rows_intern(t, r->destination);
	if (k.src == NULL || k.dst == NULL)
		return -ENOMEM;
	k.port = r->port;
	k.proto = r->protocol;
	k.dir = r->direction;
	for (j = adv_row_hash(&k) & (t->nslots - 1); t->slots[j] != 0;
	     j = (j + 1) & (t->nslots - 1))
		if (adv_row_same(&t->v[t->slots[j] - 1], &k))
			break;
	if (t->slots[j] != 0) {
		row = &t->v[t->slots[j] - 1];
	} else {
		if (t->n >= t->max) {
			t->skipped += r->count;
			return 0;
		}
		if (t->n == t->cap) {
			size_t nc = t->cap ? t->cap * 2 : 1024;
			struct adv_row *v = realloc(t->v, nc * sizeof(*v));

			if (v == NULL)
				return -ENOMEM;
			t->v = v;
			t->cap = nc;
		}
		row = &t->v[t->n];
		*row = k;
		row->src_ns = adv_rows_intern(t, r->source_ns);
		row->dst_ns = adv_rows_intern(t, r->destination_ns);
		row->src_kind = (uint8_t)r->source_kind;
		row->dst_kind = (uint8_t)r->destination_kind;
		row->first = r->first_ms;
		t->slots[j] = (uint32_t)++t->n;
		if (t->n * 2 > t->nslots && adv_rows_grow_slots(t) < 0)
			return -ENOMEM;
		row = &t->v[t->n - 1];
	}
	switch (r->verdict) {
	case BW_FLOW_VERDICT_DROPPED:
		row->dropped += r->count;
		break;
	case BW_FLOW_VERDICT_AUDIT:
		row->audited += r->count;
		break;
	default:
		row->forwarded += r->count;
		break;
	}
	if (r->first_ms < row->first)
		row->first = r->first_ms;
	if (r->last_ms > row->last)
		row->last = r->last_ms;
	if (r->verdict != BW_FLOW_VERDICT_DROPPED && r->last_ms > row->last_ok)
		row->last_ok = r->last_ms;
	return 0;
}

void
adv_rows_name(struct adv_rows *t, const struct bw_core_api *api)
{
	if (api == NULL || !BW_API_HAS(api, fqdn_names) || api->fqdn_names == NULL)
		return;
	for (size_t i = 0; i < t->n; i++) {
		struct adv_row *r = &t->v[i];
		const char *const *names = NULL;
		const char *best = NULL, *name;
		size_t n;

		if (r->dst_kind != BW_HISTORY_PEER_WORLD || r->dst_addr != NULL ||
		    (n = api->fqdn_names(r->dst, &names)) == 0)
			continue;
		for (size_t k = 0; k < n; k++)
			if (names[k] != NULL && *names[k] && (best == NULL || strcmp(names[k], best) < 0))
				best = names[k];
		if (best == NULL || (name = adv_rows_intern(t, best)) == NULL)
			continue;
		r->dst_addr = r->dst;
		r->dst = name;
	}
}

int
adv_row_order(const struct adv_row *a, const struct adv_row *b)
{
	int c = a->src == b->src ? 0 : strcmp(a->src, b->src);

	if (c == 0)
		c = a->dst == b->dst ? 0 : strcmp(a->dst, b->dst);
	if (c == 0)
		c = (int)a->port - (int)b->port;
	if (c == 0)
		c = (int)a->proto - (int)b->proto;
	if (c == 0)
		c = (int)a->dir - (int)b->dir;
	if (c == 0 && a->dst_addr != b->dst_addr) /* two addresses of one name */
		c = a->dst_addr == NULL ? -1 : b->dst_addr == NULL ? 1 : strcmp(a->dst_addr, b->dst_addr);
	return c;
}

int
adv_row_rank(const struct adv_row *a, uint64_t ca, const struct adv_row *b, uint64_t cb)
{
	if (ca != cb)
		return ca > cb ? -1 : 1;
	return adv_row_order(a, b);
}

const char *
adv_proto_name(unsigned proto, char *buf, size_t len)
{
	return bw_flowpeer_proto_name(proto, buf, len);
}

void
adv_time_text(int64_t ms, char *buf, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	char d[32];

	gmtime_r(&s, &tm);
	strftime(d, sizeof(d), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", d, (int)(ms % 1000));
}
