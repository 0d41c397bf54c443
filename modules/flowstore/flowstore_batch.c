/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/flowstore/flowstore_batch.c - one batch of connection records,
 * aggregated on the loop thread before it goes to the writer thread.
 *
 * Aggregating here is what keeps the writer's work (and the queue between
 * the threads) proportional to the distinct (source, destination, port,
 * protocol, direction, verdict, policies) keys of a flush interval rather
 * than to the flows: a thousand connections of one client to one server
 * are one row update. Three small tables ride along: denied connections
 * per endpoint (compliance), the last time each workload's exposure path
 * carried traffic, and optionally the raw flow lines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flowstore.h"

int64_t
fs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
fs_time_text(int64_t ms, char *buf, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	char base[32];

	gmtime_r(&s, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", base, (int)(ms % 1000));
}

uint64_t
fs_hash(const void *p, size_t n, uint64_t h)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

static uint64_t
fs_hash_str(const char *s, uint64_t h)
{
	return fs_hash(s != NULL ? s : "", s != NULL ? strlen(s) + 1 : 1, h);
}

static size_t
fs_pow2(size_t n)
{
	size_t p = 64;

	while (p < n && p < ((size_t)1 << 24))
		p <<= 1;
	return p;
}

struct fs_batch *
fs_batch_new(size_t max_keys)
{
	struct fs_batch *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->nbuckets = fs_pow2(max_keys);
	b->ndbuckets = 256;
	b->nsbuckets = 256;
	b->recs = calloc(b->nbuckets, sizeof(*b->recs));
	b->denies = calloc(b->ndbuckets, sizeof(*b->denies));
	b->seen = calloc(b->nsbuckets, sizeof(*b->seen));
	if (b->recs == NULL || b->denies == NULL || b->seen == NULL) {
		fs_batch_free(b);
		return NULL;
	}
	return b;
}

void
fs_batch_free(struct fs_batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; b->recs != NULL && i < b->nbuckets; i++)
		for (struct fs_rec *r = b->recs[i], *n; r != NULL; r = n) {
			n = r->hnext;
			free(r->src);
			free(r->dst);
			free(r->src_ns);
			free(r->dst_ns);
			free(r->policies);
			free(r);
		}
	for (size_t i = 0; b->denies != NULL && i < b->ndbuckets; i++)
		for (struct fs_deny *d = b->denies[i], *n; d != NULL; d = n) {
			n = d->hnext;
			free(d->endpoint);
			free(d);
		}
	for (size_t i = 0; b->seen != NULL && i < b->nsbuckets; i++)
		for (struct fs_seen *s = b->seen[i], *n; s != NULL; s = n) {
			n = s->hnext;
			free(s->workload);
			free(s);
		}
	for (size_t i = 0; i < b->nraw; i++)
		free(b->raw[i]);
	free(b->raw);
	free(b->raw_time);
	free(b->recs);
	free(b->denies);
	free(b->seen);
	free(b);
}

static int
fs_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static char *
fs_dup(const char *s, int *err)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*err = 1;
	return d;
}

int
fs_batch_add(struct fs_batch *b, const struct fs_rec *r)
{
	uint64_t h = FS_HASH_INIT;
	struct fs_rec *e;
	size_t i;
	int err = 0;

	h = fs_hash(&r->bucket, sizeof(r->bucket), h);
	h = fs_hash_str(r->src, h);
	h = fs_hash_str(r->dst, h);
	h = fs_hash(&r->port, sizeof(r->port), h);
	h = fs_hash(&r->proto, sizeof(r->proto), h);
	h = fs_hash(&r->dir, sizeof(r->dir), h);
	h = fs_hash(&r->verdict, sizeof(r->verdict), h);
	h = fs_hash_str(r->policies, h);
	i = (size_t)(h & (b->nbuckets - 1));
	for (e = b->recs[i]; e != NULL; e = e->hnext)
		if (e->hash == h && e->bucket == r->bucket && e->port == r->port &&
		    e->proto == r->proto && e->dir == r->dir &&
		    e->verdict == r->verdict && !strcmp(e->src, r->src) &&
		    !strcmp(e->dst, r->dst) && fs_streq(e->policies, r->policies))
			break;
	if (e == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL)
			return -ENOMEM;
		*e = *r;
		e->hash = h;
		e->count = 0;
		e->src = fs_dup(r->src, &err);
		e->dst = fs_dup(r->dst, &err);
		e->src_ns = fs_dup(r->src_ns, &err);
		e->dst_ns = fs_dup(r->dst_ns, &err);
		e->policies = fs_dup(r->policies != NULL ? r->policies : "", &err);
		e->first = r->first;
		e->last = r->last;
		if (err) {
			free(e->src);
			free(e->dst);
			free(e->src_ns);
			free(e->dst_ns);
			free(e->policies);
			free(e);
			return -ENOMEM;
		}
		e->hnext = b->recs[i];
		b->recs[i] = e;
		b->nrecs++;
	}
	e->count += r->count;
	if (r->first < e->first)
		e->first = r->first;
	if (r->last > e->last)
		e->last = r->last;
	b->flows += r->count;
	return 0;
}

int
fs_batch_deny(struct fs_batch *b, int64_t bucket, const char *endpoint,
	      uint8_t dir, uint8_t verdict)
{
	uint64_t h = FS_HASH_INIT;
	struct fs_deny *d;
	size_t i;

	h = fs_hash(&bucket, sizeof(bucket), h);
	h = fs_hash_str(endpoint, h);
	h = fs_hash(&dir, 1, h);
	h = fs_hash(&verdict, 1, h);
	i = (size_t)(h & (b->ndbuckets - 1));
	for (d = b->denies[i]; d != NULL; d = d->hnext)
		if (d->hash == h && d->bucket == bucket && d->dir == dir &&
		    d->verdict == verdict && !strcmp(d->endpoint, endpoint))
			break;
	if (d == NULL) {
		if ((d = calloc(1, sizeof(*d))) == NULL ||
		    (d->endpoint = strdup(endpoint)) == NULL) {
			free(d);
			return -ENOMEM;
		}
		d->hash = h;
		d->bucket = bucket;
		d->dir = dir;
		d->verdict = verdict;
		d->hnext = b->denies[i];
		b->denies[i] = d;
		b->ndenies++;
	}
	d->count++;
	return 0;
}

/* Find or add workload in a seen hash table. */
static struct fs_seen *
fs_seen_get(struct fs_seen **v, size_t nb, size_t *n, const char *workload,
	    int create)
{
	uint64_t h = fs_hash_str(workload, FS_HASH_INIT);
	size_t i = (size_t)(h & (nb - 1));
	struct fs_seen *s;

	for (s = v[i]; s != NULL; s = s->hnext)
		if (s->hash == h && !strcmp(s->workload, workload))
			return s;
	if (!create)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->workload = strdup(workload)) == NULL) {
		free(s);
		return NULL;
	}
	s->hash = h;
	s->hnext = v[i];
	v[i] = s;
	(*n)++;
	return s;
}

int
fs_batch_seen(struct fs_batch *b, const char *workload, int path, int64_t ms)
{
	struct fs_seen *s;

	if (path < 0 || path >= FS_NPATHS)
		return -EINVAL;
	if ((s = fs_seen_get(b->seen, b->nsbuckets, &b->nseen, workload, 1)) == NULL)
		return -ENOMEM;
	if (ms > s->last[path])
		s->last[path] = ms;
	return 0;
}

int
fs_batch_raw(struct fs_batch *b, const char *line, int64_t ms)
{
	if (b->nraw == b->rawcap) {
		size_t nc = b->rawcap ? b->rawcap * 2 : 256;
		char **v = realloc(b->raw, nc * sizeof(*v));
		int64_t *t;

		if (v == NULL)
			return -ENOMEM;
		b->raw = v;
		if ((t = realloc(b->raw_time, nc * sizeof(*t))) == NULL)
			return -ENOMEM;
		b->raw_time = t;
		b->rawcap = nc;
	}
	if ((b->raw[b->nraw] = strdup(line)) == NULL)
		return -ENOMEM;
	b->raw_time[b->nraw++] = ms;
	return 0;
}

/* ---- the loop's table of seen paths --------------------------------------------- */

int
fs_seen_table_init(struct fs_seen_table *t)
{
	t->nbuckets = 1024;
	t->n = 0;
	t->v = calloc(t->nbuckets, sizeof(*t->v));
	return t->v != NULL ? 0 : -ENOMEM;
}

void
fs_seen_table_clear(struct fs_seen_table *t)
{
	for (size_t i = 0; t->v != NULL && i < t->nbuckets; i++)
		for (struct fs_seen *s = t->v[i], *n; s != NULL; s = n) {
			n = s->hnext;
			free(s->workload);
			free(s);
		}
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

int
fs_seen_table_note(struct fs_seen_table *t, const char *workload, int path,
		   int64_t ms)
{
	struct fs_seen *s;

	if (path < 0 || path >= FS_NPATHS || t->v == NULL)
		return -EINVAL;
	if ((s = fs_seen_get(t->v, t->nbuckets, &t->n, workload, 1)) == NULL)
		return -ENOMEM;
	if (ms > s->last[path])
		s->last[path] = ms;
	return 0;
}

const struct fs_seen *
fs_seen_table_get(const struct fs_seen_table *t, const char *workload)
{
	size_t n = t->n;

	if (t->v == NULL)
		return NULL;
	return fs_seen_get(t->v, t->nbuckets, &n, workload, 0);
}

size_t
fs_seen_table_prune(struct fs_seen_table *t, int64_t before)
{
	size_t removed = 0;

	for (size_t i = 0; t->v != NULL && i < t->nbuckets; i++)
		for (struct fs_seen **pp = &t->v[i]; *pp != NULL;) {
			struct fs_seen *s = *pp;
			int64_t last = 0;

			for (int p = 0; p < FS_NPATHS; p++)
				if (s->last[p] > last)
					last = s->last[p];
			if (last >= before) {
				pp = &s->hnext;
				continue;
			}
			*pp = s->hnext;
			free(s->workload);
			free(s);
			t->n--;
			removed++;
		}
	return removed;
}
