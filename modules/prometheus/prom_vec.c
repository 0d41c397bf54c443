/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/prometheus/prom_vec.c - metric families with labels, bounded in
 * cardinality, and the Prometheus text exposition format (0.0.4) writer.
 *
 * A series is keyed by its label values joined with a unit separator
 * (0x1f, which no label value we emit contains), kept in an open-addressing
 * hash table. A scrape sorts the keys, so the output order is stable:
 * families in the order the module writes them, series by label values.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "prom.h"

#define PROM_SEP '\x1f'
#define PROM_KEY_MAX 2048

struct prom_series {
	char *key;
	double value;
	int folded; /* the overflow series (does not count against the limit) */
};

struct prom_vec {
	const char *name, *help, *type;
	const char *const *labels;
	unsigned nlabels;
	size_t max_series;
	unsigned fold_mask;
	struct prom_series *tab; /* open addressing, power-of-two size */
	size_t cap, n, nregular;
	uint64_t folded;
};

static uint64_t
vec_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

struct prom_vec *
prom_vec_new(const char *name, const char *help, const char *type,
	     const char *const *labels, unsigned nlabels, size_t max_series,
	     unsigned fold_mask)
{
	struct prom_vec *v = calloc(1, sizeof(*v));

	if (v == NULL)
		return NULL;
	v->name = name;
	v->help = help;
	v->type = type;
	v->labels = labels;
	v->nlabels = nlabels;
	v->max_series = max_series;
	v->fold_mask = fold_mask;
	return v;
}

void
prom_vec_free(struct prom_vec *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->cap; i++)
		free(v->tab[i].key);
	free(v->tab);
	free(v);
}

const char *
prom_vec_name(const struct prom_vec *v)
{
	return v->name;
}

size_t
prom_vec_series(const struct prom_vec *v)
{
	return v->n;
}

uint64_t
prom_vec_folded(const struct prom_vec *v)
{
	return v->folded;
}

static struct prom_series *
vec_slot(struct prom_series *tab, size_t cap, const char *key)
{
	size_t i = (size_t)vec_hash(key) & (cap - 1);

	while (tab[i].key != NULL && strcmp(tab[i].key, key) != 0)
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static int
vec_grow(struct prom_vec *v)
{
	size_t ncap = v->cap ? v->cap * 2 : 16;
	struct prom_series *nt = calloc(ncap, sizeof(*nt));

	if (nt == NULL)
		return -1;
	for (size_t i = 0; i < v->cap; i++)
		if (v->tab[i].key != NULL)
			*vec_slot(nt, ncap, v->tab[i].key) = v->tab[i];
	free(v->tab);
	v->tab = nt;
	v->cap = ncap;
	return 0;
}

/* Join values into key; a value's 0x1f bytes (never expected) become '_'. */
static void
vec_key(const struct prom_vec *v, const char *const *values, unsigned fold,
	char *key, size_t len)
{
	size_t k = 0;

	for (unsigned i = 0; i < v->nlabels; i++) {
		const char *s = (fold & (1u << i)) ? PROM_OTHER :
				values[i] != NULL ? values[i] : "";

		if (i > 0 && k + 1 < len)
			key[k++] = PROM_SEP;
		for (; *s != '\0' && k + 1 < len; s++)
			key[k++] = *s == PROM_SEP ? '_' : *s;
	}
	key[k] = '\0';
}

void
prom_vec_add(struct prom_vec *v, const char *const *values, double n)
{
	char key[PROM_KEY_MAX];
	struct prom_series *s;
	int folded = 0;

	vec_key(v, values, 0, key, sizeof(key));
	if (v->cap == 0 && vec_grow(v) < 0)
		return;
	s = vec_slot(v->tab, v->cap, key);
	if (s->key == NULL && v->max_series > 0 && v->nregular >= v->max_series) {
		/* Full: count it in the overflow series of its kind. */
		vec_key(v, values, v->fold_mask, key, sizeof(key));
		s = vec_slot(v->tab, v->cap, key);
		folded = 1;
		v->folded++;
	}
	if (s->key == NULL) {
		if ((v->n + 1) * 2 > v->cap) {
			if (vec_grow(v) < 0)
				return;
			s = vec_slot(v->tab, v->cap, key);
		}
		if ((s->key = strdup(key)) == NULL)
			return;
		s->value = 0;
		s->folded = folded;
		v->n++;
		if (!folded)
			v->nregular++;
	}
	s->value += n;
}

void
prom_value(struct evbuffer *out, double value)
{
	if (isnan(value))
		evbuffer_add_printf(out, "NaN");
	else if (isinf(value))
		evbuffer_add_printf(out, value > 0 ? "+Inf" : "-Inf");
	else if (value == floor(value) && fabs(value) < 1e15)
		evbuffer_add_printf(out, "%.0f", value);
	else
		evbuffer_add_printf(out, "%.9g", value);
}

void
prom_family(struct evbuffer *out, const char *name, const char *help,
	    const char *type)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
			    name, type);
}

void
prom_sample(struct evbuffer *out, const char *name, double value)
{
	evbuffer_add_printf(out, "%s ", name);
	prom_value(out, value);
	evbuffer_add(out, "\n", 1);
}

/* A label value, escaped as the text format wants (\\, \", \n). */
static void
vec_write_value(struct evbuffer *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '\\':
			evbuffer_add(out, "\\\\", 2);
			break;
		case '"':
			evbuffer_add(out, "\\\"", 2);
			break;
		case '\n':
			evbuffer_add(out, "\\n", 2);
			break;
		default:
			evbuffer_add(out, &s[i], 1);
		}
	}
}

static int
vec_cmp(const void *a, const void *b)
{
	const struct prom_series *x = *(const struct prom_series *const *)a;
	const struct prom_series *y = *(const struct prom_series *const *)b;

	return strcmp(x->key, y->key);
}

void
prom_vec_write(const struct prom_vec *v, struct evbuffer *out)
{
	const struct prom_series **all;
	size_t n = 0;

	prom_family(out, v->name, v->help, v->type);
	if (v->n == 0)
		return;
	if ((all = calloc(v->n, sizeof(*all))) == NULL)
		return;
	for (size_t i = 0; i < v->cap; i++)
		if (v->tab[i].key != NULL)
			all[n++] = &v->tab[i];
	qsort(all, n, sizeof(*all), vec_cmp);
	for (size_t i = 0; i < n; i++) {
		const char *p = all[i]->key;

		evbuffer_add_printf(out, "%s", v->name);
		for (unsigned l = 0; l < v->nlabels; l++) {
			const char *end = strchr(p, PROM_SEP);
			size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

			evbuffer_add_printf(out, "%s%s=\"", l == 0 ? "{" : ",",
					    v->labels[l]);
			vec_write_value(out, p, len);
			evbuffer_add(out, "\"", 1);
			p += len + (end != NULL);
		}
		evbuffer_add_printf(out, "%s ", v->nlabels > 0 ? "}" : "");
		prom_value(out, all[i]->value);
		evbuffer_add(out, "\n", 1);
	}
	free(all);
}
