/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/kafka/kafka_topics.c - the topic ID -> name map: chained hash
 * buckets over (scope, ID) and a doubly linked list in order of use, the
 * least recently used at the head (evicted first when the map is full).
 * Topic IDs are random UUIDs, so their first bytes hash well as they are.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_proto.h"
#include "kafka_topics.h"

struct kt_entry {
	struct kt_entry *hnext;        /* bucket chain */
	struct kt_entry *prev, *next;  /* use order */
	uint32_t scope;
	uint8_t id[16];
	char *name;
};

struct kafka_topics {
	struct kt_entry **buckets;
	size_t n_buckets, n, max;
	struct kt_entry *oldest, *newest;
};

static size_t
kt_hash(const struct kafka_topics *t, uint32_t scope, const uint8_t id[16])
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));
	h ^= (uint64_t)scope * 0x9e3779b97f4a7c15ull;
	h ^= h >> 29;
	return (size_t)(h % t->n_buckets);
}

struct kafka_topics *
kafka_topics_new(size_t max)
{
	struct kafka_topics *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->max = max > 0 ? max : 1;
	t->n_buckets = 1024;
	if ((t->buckets = calloc(t->n_buckets, sizeof(*t->buckets))) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

static void
kt_unlink(struct kafka_topics *t, struct kt_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		t->oldest = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		t->newest = e->prev;
	e->prev = e->next = NULL;
}

static void
kt_append(struct kafka_topics *t, struct kt_entry *e)
{
	e->prev = t->newest;
	e->next = NULL;
	if (t->newest != NULL)
		t->newest->next = e;
	else
		t->oldest = e;
	t->newest = e;
}

static void
kt_remove(struct kafka_topics *t, struct kt_entry *e)
{
	struct kt_entry **pp = &t->buckets[kt_hash(t, e->scope, e->id)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	kt_unlink(t, e);
	free(e->name);
	free(e);
	t->n--;
}

void
kafka_topics_free(struct kafka_topics *t)
{
	if (t == NULL)
		return;
	while (t->oldest != NULL)
		kt_remove(t, t->oldest);
	free(t->buckets);
	free(t);
}

void
kafka_topics_set_max(struct kafka_topics *t, size_t max)
{
	t->max = max > 0 ? max : 1;
	while (t->n > t->max)
		kt_remove(t, t->oldest);
}

/* Grow the bucket array as the map grows (chains stay short). */
static void
kt_rehash(struct kafka_topics *t)
{
	size_t nb = t->n_buckets * 4;
	struct kt_entry **b = calloc(nb, sizeof(*b));
	size_t old = t->n_buckets;

	if (b == NULL)
		return; /* longer chains, still correct */
	t->n_buckets = nb;
	for (size_t i = 0; i < old; i++) {
		struct kt_entry *e = t->buckets[i], *next;

		for (; e != NULL; e = next) {
			size_t h = kt_hash(t, e->scope, e->id);

			next = e->hnext;
			e->hnext = b[h];
			b[h] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
}

static struct kt_entry *
kt_find(struct kafka_topics *t, uint32_t scope, const uint8_t id[16])
{
	struct kt_entry *e = t->buckets[kt_hash(t, scope, id)];

	for (; e != NULL; e = e->hnext)
		if (e->scope == scope && memcmp(e->id, id, 16) == 0)
			return e;
	return NULL;
}

int
kafka_topics_put(struct kafka_topics *t, uint32_t scope, const uint8_t id[16],
		 const uint8_t *name, size_t len)
{
	struct kt_entry *e = kt_find(t, scope, id);
	char *s;
	size_t h;

	if (e != NULL && strlen(e->name) == len && memcmp(e->name, name, len) == 0) {
		kt_unlink(t, e);
		kt_append(t, e);
		return 0;
	}
	if ((s = malloc(len + 1)) == NULL)
		return -ENOMEM;
	memcpy(s, name, len);
	s[len] = '\0';
	if (e != NULL) {
		free(e->name);
		e->name = s;
		kt_unlink(t, e);
		kt_append(t, e);
		return 0;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		free(s);
		return -ENOMEM;
	}
	e->scope = scope;
	memcpy(e->id, id, 16);
	e->name = s;
	while (t->n >= t->max && t->oldest != NULL)
		kt_remove(t, t->oldest);
	if (t->n >= t->n_buckets)
		kt_rehash(t);
	h = kt_hash(t, scope, id);
	e->hnext = t->buckets[h];
	t->buckets[h] = e;
	kt_append(t, e);
	t->n++;
	return 0;
}

const char *
kafka_topics_get(struct kafka_topics *t, uint32_t scope, const uint8_t id[16])
{
	struct kt_entry *e = kt_find(t, scope, id);

	if (e == NULL)
		return NULL;
	kt_unlink(t, e);
	kt_append(t, e);
	return e->name;
}

size_t
kafka_topics_size(const struct kafka_topics *t)
{
	return t != NULL ? t->n : 0;
}

/* ---- clusters --------------------------------------------------------------------------- */

struct kafka_clusters {
	struct {
		uint32_t scope;
		uint64_t used;     /* 0: free */
		struct kafka_cluster cl;
	} e[KAFKA_CLUSTERS_MAX];
	uint64_t clock;
};

static void
kc_cluster_clear(struct kafka_cluster *cl)
{
	for (uint32_t i = 0; i < cl->n_brokers; i++) {
		free(cl->brokers[i].host);
		free(cl->brokers[i].rack);
	}
	free(cl->brokers);
	free(cl->cluster_id);
	memset(cl, 0, sizeof(*cl));
}

struct kafka_clusters *
kafka_clusters_new(void)
{
	return calloc(1, sizeof(struct kafka_clusters));
}

void
kafka_clusters_free(struct kafka_clusters *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < KAFKA_CLUSTERS_MAX; i++)
		kc_cluster_clear(&c->e[i].cl);
	free(c);
}

static char *
kc_strndup(const uint8_t *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

int
kafka_clusters_put(struct kafka_clusters *c, uint32_t scope, const struct kafka_msg *m)
{
	struct kafka_cluster cl = { 0 };
	int slot = -1;

	if (m->n_brokers == 0)
		return 0;
	if ((cl.brokers = calloc(m->n_brokers, sizeof(*cl.brokers))) == NULL)
		return -ENOMEM;
	cl.n_brokers = m->n_brokers;
	for (uint32_t i = 0; i < m->n_brokers; i++) {
		const struct kafka_broker *b = &m->brokers[i];

		cl.brokers[i].node_id = b->node_id;
		cl.brokers[i].port = b->port;
		cl.brokers[i].host = kc_strndup(b->host != NULL ? b->host : (const uint8_t *)"",
						b->host_len);
		if (b->rack_len >= 0)
			cl.brokers[i].rack = kc_strndup(b->rack, (size_t)b->rack_len);
		if (cl.brokers[i].host == NULL) {
			kc_cluster_clear(&cl);
			return -ENOMEM;
		}
	}
	if (m->cluster_id_len >= 0)
		cl.cluster_id = kc_strndup(m->cluster_id, (size_t)m->cluster_id_len);
	cl.controller = m->controller;
	for (int i = 0; i < KAFKA_CLUSTERS_MAX && slot < 0; i++)
		if (c->e[i].used != 0 && c->e[i].scope == scope)
			slot = i;
	for (int i = 0; i < KAFKA_CLUSTERS_MAX && slot < 0; i++)
		if (c->e[i].used == 0)
			slot = i;
	if (slot < 0) {
		slot = 0;
		for (int i = 1; i < KAFKA_CLUSTERS_MAX; i++)
			if (c->e[i].used < c->e[slot].used)
				slot = i;
	}
	kc_cluster_clear(&c->e[slot].cl);
	c->e[slot].cl = cl;
	c->e[slot].scope = scope;
	c->e[slot].used = ++c->clock;
	return 0;
}

const struct kafka_cluster *
kafka_clusters_get(struct kafka_clusters *c, uint32_t scope)
{
	for (int i = 0; i < KAFKA_CLUSTERS_MAX; i++)
		if (c->e[i].used != 0 && c->e[i].scope == scope)
			return &c->e[i].cl;
	return NULL;
}
