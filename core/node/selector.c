/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/node/selector.c - label selectors: compile from rule-model JSON,
 * normalise, print, hash, and match against label sets.
 *
 * The canonical text is built from the normalised requirements and is what
 * equality and the hash are computed on, so the three always agree.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/node/labels.h"
#include "core/node/selector.h"
#include "lib/errbuf.h"

struct selector_req {
	char *source; /* "any" when the key had no source */
	char *key;
	enum bw_selector_op op;
	char **values; /* sorted, unique; NULL-terminated for the accessor */
	size_t nvalues;
};

struct bw_selector {
	struct selector_req *reqs;
	size_t n, cap;
	char *text;    /* canonical text, rebuilt after each change */
	uint64_t hash;
};

static const char *selector_op_name(enum bw_selector_op op)
{
	switch (op) {
	case BW_SEL_IN: return "In";
	case BW_SEL_NOT_IN: return "NotIn";
	case BW_SEL_EXISTS: return "Exists";
	case BW_SEL_DOES_NOT_EXIST: return "DoesNotExist";
	}
	return "?";
}

static void selector_req_clear(struct selector_req *r)
{
	free(r->source);
	free(r->key);
	for (size_t i = 0; i < r->nvalues; i++)
		free(r->values[i]);
	free(r->values);
	memset(r, 0, sizeof(*r));
}

static int selector_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int selector_req_cmp(const struct selector_req *a,
			    const struct selector_req *b)
{
	int c = strcmp(a->key, b->key);

	if (c)
		return c;
	if ((c = strcmp(a->source, b->source)))
		return c;
	if (a->op != b->op)
		return a->op < b->op ? -1 : 1;
	for (size_t i = 0; i < a->nvalues && i < b->nvalues; i++)
		if ((c = strcmp(a->values[i], b->values[i])))
			return c;
	return a->nvalues < b->nvalues ? -1 : a->nvalues > b->nvalues ? 1 : 0;
}

/* Rebuild canonical text and hash (FNV-1a over the text). */
static int selector_rebuild(struct bw_selector *sel)
{
	size_t len = 3, off = 0;
	char *t;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < sel->n; i++) {
		const struct selector_req *r = &sel->reqs[i];

		len += strlen(r->source) + strlen(r->key) + 16;
		for (size_t j = 0; j < r->nvalues; j++)
			len += strlen(r->values[j]) + 1;
	}
	t = malloc(len);
	if (!t)
		return -ENOMEM;
	if (sel->n == 0)
		off = (size_t)snprintf(t, len, "{}");
	for (size_t i = 0; i < sel->n; i++) {
		const struct selector_req *r = &sel->reqs[i];

		if (i)
			off += (size_t)snprintf(t + off, len - off, ", ");
		switch (r->op) {
		case BW_SEL_IN:
		case BW_SEL_NOT_IN:
			if (r->op == BW_SEL_IN && r->nvalues == 1) {
				off += (size_t)snprintf(t + off, len - off, "%s:%s=%s",
							r->source, r->key, r->values[0]);
				break;
			}
			off += (size_t)snprintf(t + off, len - off, "%s:%s %s (",
						r->source, r->key,
						r->op == BW_SEL_IN ? "in" : "notin");
			for (size_t j = 0; j < r->nvalues; j++)
				off += (size_t)snprintf(t + off, len - off, "%s%s",
							j ? "," : "", r->values[j]);
			off += (size_t)snprintf(t + off, len - off, ")");
			break;
		case BW_SEL_EXISTS:
			off += (size_t)snprintf(t + off, len - off, "%s:%s",
						r->source, r->key);
			break;
		case BW_SEL_DOES_NOT_EXIST:
			off += (size_t)snprintf(t + off, len - off, "!%s:%s",
						r->source, r->key);
			break;
		}
	}
	for (const char *p = t; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 0x100000001b3ULL;
	}
	free(sel->text);
	sel->text = t;
	sel->hash = h;
	return 0;
}

struct bw_selector *bw_selector_new(void)
{
	struct bw_selector *sel = calloc(1, sizeof(*sel));

	if (!sel)
		return NULL;
	if (selector_rebuild(sel) < 0) {
		free(sel);
		errno = ENOMEM;
		return NULL;
	}
	return sel;
}

void bw_selector_free(struct bw_selector *sel)
{
	if (!sel)
		return;
	for (size_t i = 0; i < sel->n; i++)
		selector_req_clear(&sel->reqs[i]);
	free(sel->reqs);
	free(sel->text);
	free(sel);
}

int bw_selector_add(struct bw_selector *sel, const char *key,
		    enum bw_selector_op op, const char *const *values,
		    size_t nvalues, char *err, size_t errlen)
{
	struct selector_req r;
	const char *colon = strchr(key, ':');
	size_t pos, i;

	memset(&r, 0, sizeof(r));
	if (op < BW_SEL_IN || op > BW_SEL_DOES_NOT_EXIST) {
		bw_errbuf_set(err, errlen, "unknown operator");
		return -EINVAL;
	}
	if ((op == BW_SEL_IN || op == BW_SEL_NOT_IN) && nvalues == 0) {
		bw_errbuf_set(err, errlen, "operator %s needs at least one value",
			      selector_op_name(op));
		return -EINVAL;
	}
	if ((op == BW_SEL_EXISTS || op == BW_SEL_DOES_NOT_EXIST) && nvalues) {
		bw_errbuf_set(err, errlen, "operator %s takes no values",
			      selector_op_name(op));
		return -EINVAL;
	}
	if (colon) {
		r.source = strndup(key, (size_t)(colon - key));
		r.key = strdup(colon + 1);
	} else {
		r.source = strdup(BW_LABEL_SOURCE_ANY);
		r.key = strdup(key);
	}
	if (!r.source || !r.key)
		goto nomem;
	if (!*r.key) {
		bw_errbuf_set(err, errlen, "key \"%s\" has an empty name", key);
		selector_req_clear(&r);
		return -EINVAL;
	}
	if (!bw_label_source_valid(r.source)) {
		bw_errbuf_set(err, errlen, "key \"%s\" has an unknown source \"%s\"",
			      key, r.source);
		selector_req_clear(&r);
		return -EINVAL;
	}
	if (strpbrk(r.key, " \t\n,()!")) {
		bw_errbuf_set(err, errlen, "key \"%s\" contains a space or one of ,()!", key);
		selector_req_clear(&r);
		return -EINVAL;
	}
	r.op = op;
	if (nvalues) {
		r.values = calloc(nvalues + 1, sizeof(char *));
		if (!r.values)
			goto nomem;
		for (i = 0; i < nvalues; i++) {
			if (strpbrk(values[i], " \t\n,()")) {
				bw_errbuf_set(err, errlen,
					      "value \"%s\" contains a space or one of ,()",
					      values[i]);
				selector_req_clear(&r);
				return -EINVAL;
			}
			r.values[r.nvalues] = strdup(values[i]);
			if (!r.values[r.nvalues])
				goto nomem;
			r.nvalues++;
		}
		qsort(r.values, r.nvalues, sizeof(char *), selector_strcmp);
		for (i = 1; i < r.nvalues;) {
			if (strcmp(r.values[i], r.values[i - 1]) == 0) {
				free(r.values[i]);
				memmove(&r.values[i], &r.values[i + 1],
					(r.nvalues - i) * sizeof(char *));
				r.nvalues--;
			} else {
				i++;
			}
		}
	}
	/* Insert in order, dropping an identical requirement. */
	for (pos = 0; pos < sel->n; pos++) {
		int c = selector_req_cmp(&sel->reqs[pos], &r);

		if (c == 0) {
			selector_req_clear(&r);
			return 0;
		}
		if (c > 0)
			break;
	}
	if (sel->n == sel->cap) {
		size_t cap = sel->cap ? sel->cap * 2 : 4;
		struct selector_req *v = realloc(sel->reqs, cap * sizeof(*v));

		if (!v)
			goto nomem;
		sel->reqs = v;
		sel->cap = cap;
	}
	memmove(&sel->reqs[pos + 1], &sel->reqs[pos],
		(sel->n - pos) * sizeof(sel->reqs[0]));
	sel->reqs[pos] = r;
	sel->n++;
	if (selector_rebuild(sel) < 0) {
		bw_errbuf_set(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
nomem:
	selector_req_clear(&r);
	bw_errbuf_set(err, errlen, "out of memory");
	return -ENOMEM;
}

static struct bw_selector *selector_fail(struct bw_selector *sel, int rc)
{
	bw_selector_free(sel);
	errno = rc < 0 ? -rc : rc;
	return NULL;
}

static int selector_parse_op(const char *s, enum bw_selector_op *op)
{
	static const struct { const char *name; enum bw_selector_op op; } ops[] = {
		{ "In", BW_SEL_IN }, { "NotIn", BW_SEL_NOT_IN },
		{ "Exists", BW_SEL_EXISTS },
		{ "DoesNotExist", BW_SEL_DOES_NOT_EXIST },
	};

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(s, ops[i].name) == 0) {
			*op = ops[i].op;
			return 0;
		}
	}
	return -EINVAL;
}

static int selector_parse_expr(struct bw_selector *sel, const json_t *e,
			       const char *p, char *err, size_t errlen)
{
	const char *k, *ks = NULL, *ops = NULL;
	const json_t *v, *vals = NULL;
	const char **values = NULL;
	size_t n = 0, i;
	enum bw_selector_op op;
	char sub[256];
	int rc;

	if (!json_is_object(e)) {
		bw_errbuf_set(err, errlen, "%s: must be an object", p);
		return -EINVAL;
	}
	json_object_foreach((json_t *)e, k, v) {
		if (strcmp(k, "key") == 0) {
			if (!json_is_string(v)) {
				bw_errbuf_set(err, errlen, "%s.key: must be a string", p);
				return -EINVAL;
			}
			ks = json_string_value(v);
		} else if (strcmp(k, "operator") == 0) {
			if (!json_is_string(v)) {
				bw_errbuf_set(err, errlen, "%s.operator: must be a string", p);
				return -EINVAL;
			}
			ops = json_string_value(v);
		} else if (strcmp(k, "values") == 0) {
			if (!json_is_array(v) && !json_is_null(v)) {
				bw_errbuf_set(err, errlen, "%s.values: must be an array of strings", p);
				return -EINVAL;
			}
			vals = v;
		} else {
			bw_errbuf_set(err, errlen, "%s: unknown field \"%s\"", p, k);
			return -EINVAL;
		}
	}
	if (!ks) {
		bw_errbuf_set(err, errlen, "%s.key: missing", p);
		return -EINVAL;
	}
	if (!ops) {
		bw_errbuf_set(err, errlen, "%s.operator: missing", p);
		return -EINVAL;
	}
	if (selector_parse_op(ops, &op) < 0) {
		bw_errbuf_set(err, errlen,
			      "%s.operator: \"%s\" is not one of In, NotIn, Exists, DoesNotExist",
			      p, ops);
		return -EINVAL;
	}
	n = json_is_array(vals) ? json_array_size(vals) : 0;
	if (n) {
		values = calloc(n, sizeof(char *));
		if (!values) {
			bw_errbuf_set(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	for (i = 0; i < n; i++) {
		const json_t *s = json_array_get(vals, i);

		if (!json_is_string(s)) {
			bw_errbuf_set(err, errlen, "%s.values[%zu]: must be a string", p, i);
			free(values);
			return -EINVAL;
		}
		values[i] = json_string_value(s);
	}
	if ((op == BW_SEL_IN || op == BW_SEL_NOT_IN) && n == 0) {
		bw_errbuf_set(err, errlen,
			      "%s.values: operator %s needs at least one value", p, ops);
		free(values);
		return -EINVAL;
	}
	if ((op == BW_SEL_EXISTS || op == BW_SEL_DOES_NOT_EXIST) && n) {
		bw_errbuf_set(err, errlen,
			      "%s.values: must be empty for operator %s", p, ops);
		free(values);
		return -EINVAL;
	}
	rc = bw_selector_add(sel, ks, op, values, n, sub, sizeof(sub));
	free(values);
	if (rc < 0)
		bw_errbuf_set(err, errlen, "%s: %s", p, sub);
	return rc;
}

struct bw_selector *bw_selector_parse(const json_t *obj, const char *path,
				      char *err, size_t errlen)
{
	struct bw_selector *sel;
	const char *k;
	const json_t *v;
	char sub[256], p[512];
	int rc;

	if (!path)
		path = "selector";
	if (!json_is_object(obj)) {
		bw_errbuf_set(err, errlen, "%s: must be an object", path);
		errno = EINVAL;
		return NULL;
	}
	sel = bw_selector_new();
	if (!sel)
		return NULL;
	json_object_foreach((json_t *)obj, k, v) {
		if (strcmp(k, "match_labels") == 0) {
			const char *lk;
			const json_t *lv;

			if (json_is_null(v))
				continue;
			if (!json_is_object(v)) {
				bw_errbuf_set(err, errlen, "%s.match_labels: must be an object",
					      path);
				return selector_fail(sel, EINVAL);
			}
			json_object_foreach((json_t *)v, lk, lv) {
				const char *val;

				if (!json_is_string(lv)) {
					bw_errbuf_set(err, errlen,
						      "%s.match_labels.%s: must be a string",
						      path, lk);
					return selector_fail(sel, EINVAL);
				}
				val = json_string_value(lv);
				rc = bw_selector_add(sel, lk, BW_SEL_IN, &val, 1, sub,
						     sizeof(sub));
				if (rc < 0) {
					bw_errbuf_set(err, errlen, "%s.match_labels.%s: %s",
						      path, lk, sub);
					return selector_fail(sel, rc);
				}
			}
		} else if (strcmp(k, "match_expressions") == 0) {
			if (json_is_null(v))
				continue;
			if (!json_is_array(v)) {
				bw_errbuf_set(err, errlen,
					      "%s.match_expressions: must be an array", path);
				return selector_fail(sel, EINVAL);
			}
			for (size_t i = 0; i < json_array_size(v); i++) {
				snprintf(p, sizeof(p), "%s.match_expressions[%zu]", path, i);
				rc = selector_parse_expr(sel, json_array_get(v, i), p,
							 err, errlen);
				if (rc < 0)
					return selector_fail(sel, rc);
			}
		} else {
			bw_errbuf_set(err, errlen,
				      "%s: unknown field \"%s\" (expected match_labels, match_expressions)",
				      path, k);
			return selector_fail(sel, EINVAL);
		}
	}
	return sel;
}

struct bw_selector *bw_selector_parse_text(const char *text, char *err,
					   size_t errlen)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	struct bw_selector *sel;

	if (!j) {
		bw_errbuf_set(err, errlen, "selector: line %d: %s", je.line, je.text);
		errno = EINVAL;
		return NULL;
	}
	sel = bw_selector_parse(j, "selector", err, errlen);
	json_decref(j);
	return sel;
}

struct bw_selector *bw_selector_dup(const struct bw_selector *sel)
{
	struct bw_selector *d = bw_selector_new();

	if (!d)
		return NULL;
	for (size_t i = 0; i < sel->n; i++) {
		const struct selector_req *r = &sel->reqs[i];
		char key[512];

		snprintf(key, sizeof(key), "%s:%s", r->source, r->key);
		if (bw_selector_add(d, key, r->op, (const char *const *)r->values,
				    r->nvalues, NULL, 0) < 0)
			return selector_fail(d, ENOMEM);
	}
	return d;
}

/* Does some label with this key (source "any" = any source) have a value in r? */
static int selector_req_in(const struct selector_req *r,
			   const struct bw_labelset *ls, int *exists)
{
	int any = strcmp(r->source, BW_LABEL_SOURCE_ANY) == 0;

	*exists = 0;
	for (size_t i = 0; i < bw_labelset_count(ls); i++) {
		const struct bw_label *l = bw_labelset_at(ls, i);

		if (strcmp(l->key, r->key) != 0)
			continue;
		if (!any && strcmp(l->source, r->source) != 0)
			continue;
		*exists = 1;
		if (r->nvalues && bsearch(&l->value, r->values, r->nvalues, sizeof(char *),
					  selector_strcmp))
			return 1;
	}
	return 0;
}

int bw_selector_matches(const struct bw_selector *sel,
			const struct bw_labelset *ls)
{
	for (size_t i = 0; i < sel->n; i++) {
		const struct selector_req *r = &sel->reqs[i];
		int exists, in = selector_req_in(r, ls, &exists);

		switch (r->op) {
		case BW_SEL_IN:
			if (!in)
				return 0;
			break;
		case BW_SEL_NOT_IN:
			if (in)
				return 0;
			break;
		case BW_SEL_EXISTS:
			if (!exists)
				return 0;
			break;
		case BW_SEL_DOES_NOT_EXIST:
			if (exists)
				return 0;
			break;
		}
	}
	return 1;
}

int bw_selector_is_wildcard(const struct bw_selector *sel)
{
	return sel->n == 0;
}

int bw_selector_equal(const struct bw_selector *a, const struct bw_selector *b)
{
	return a->hash == b->hash && strcmp(a->text, b->text) == 0;
}

uint64_t bw_selector_hash(const struct bw_selector *sel)
{
	return sel->hash;
}

const char *bw_selector_to_string(const struct bw_selector *sel)
{
	return sel->text;
}

json_t *bw_selector_to_json(const struct bw_selector *sel)
{
	json_t *o = json_object(), *ml = json_object(), *me = json_array();
	char key[512];

	if (!o || !ml || !me)
		goto fail;
	for (size_t i = 0; i < sel->n; i++) {
		const struct selector_req *r = &sel->reqs[i];

		snprintf(key, sizeof(key), "%s:%s", r->source, r->key);
		if (r->op == BW_SEL_IN && r->nvalues == 1 && !json_object_get(ml, key)) {
			if (json_object_set_new(ml, key, json_string(r->values[0])) < 0)
				goto fail;
		} else {
			json_t *e = json_object(), *vals = json_array();

			if (!e || !vals ||
			    json_object_set_new(e, "key", json_string(key)) < 0 ||
			    json_object_set_new(e, "operator",
						json_string(selector_op_name(r->op))) < 0) {
				json_decref(e);
				json_decref(vals);
				goto fail;
			}
			for (size_t j = 0; j < r->nvalues; j++)
				json_array_append_new(vals, json_string(r->values[j]));
			if (r->nvalues)
				json_object_set_new(e, "values", vals);
			else
				json_decref(vals);
			if (json_array_append_new(me, e) < 0)
				goto fail;
		}
	}
	if (json_object_size(ml))
		json_object_set_new(o, "match_labels", ml);
	else
		json_decref(ml);
	ml = NULL;
	if (json_array_size(me))
		json_object_set_new(o, "match_expressions", me);
	else
		json_decref(me);
	return o;
fail:
	json_decref(o);
	json_decref(ml);
	json_decref(me);
	return NULL;
}

size_t bw_selector_count(const struct bw_selector *sel)
{
	return sel->n;
}

int bw_selector_req(const struct bw_selector *sel, size_t i,
		    const char **source, const char **key,
		    enum bw_selector_op *op, const char *const **values,
		    size_t *nvalues)
{
	const struct selector_req *r;

	if (i >= sel->n)
		return -ENOENT;
	r = &sel->reqs[i];
	if (source)
		*source = r->source;
	if (key)
		*key = r->key;
	if (op)
		*op = r->op;
	if (values)
		*values = (const char *const *)r->values;
	if (nvalues)
		*nvalues = r->nvalues;
	return 0;
}

int bw_selector_has_key(const struct bw_selector *sel, const char *source,
			const char *key)
{
	int any = !source || strcmp(source, BW_LABEL_SOURCE_ANY) == 0;

	for (size_t i = 0; i < sel->n; i++) {
		const struct selector_req *r = &sel->reqs[i];

		if (strcmp(r->key, key) != 0)
			continue;
		if (any || strcmp(r->source, source) == 0 ||
		    strcmp(r->source, BW_LABEL_SOURCE_ANY) == 0)
			return 1;
	}
	return 0;
}
