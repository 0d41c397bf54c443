/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/dnsproxy/dnsproxy_rules.c - compiled DNS rule lists (see
 * dnsproxy_rules.h): lib/fqdnmatch.c matchers, exact names first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/fqdnmatch.h"
#include "dnsproxy_rules.h"

struct dpr_rule {
	struct bw_fqdn_matcher *m;
	uint32_t ref;
};

struct dpr_rules {
	unsigned refs;
	struct dpr_rule *v;
	size_t n;
};

static void dpr_free(struct dpr_rules *r)
{
	for (size_t i = 0; i < r->n; i++)
		bw_fqdn_matcher_free(r->v[i].m);
	free(r->v);
	free(r);
}

/* exact names before patterns: the common case stops at a memcmp */
static int dpr_cmp(const void *a, const void *b)
{
	const struct dpr_rule *x = a, *y = b;

	return bw_fqdn_matcher_is_name(y->m) - bw_fqdn_matcher_is_name(x->m);
}

struct dpr_rules *dpr_compile(const char *json, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc = json_loads(json ? json : "", 0, &jerr), *el;
	struct dpr_rules *r;
	size_t i;

	if (!json_is_array(doc)) {
		snprintf(err, errlen, "DNS rules must be a JSON list");
		json_decref(doc);
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r || (json_array_size(doc) && !(r->v = calloc(json_array_size(doc), sizeof(*r->v))))) {
		free(r);
		json_decref(doc);
		errno = ENOMEM;
		return NULL;
	}
	r->refs = 1;
	json_array_foreach(doc, i, el) {
		const json_t *mn = json_object_get(el, "match_name");
		const json_t *mp = json_object_get(el, "match_pattern");
		const json_t *ref = json_object_get(el, "rule_ref");
		const char *field = mn ? "match_name" : "match_pattern";
		char why[256];

		if (!json_is_object(el) || !!mn + !!mp != 1 || !json_is_string(mn ? mn : mp)) {
			snprintf(err, errlen, "[%zu]: must be {\"match_name\": NAME} or {\"match_pattern\": PATTERN}",
				 i);
			goto bad;
		}
		r->v[r->n].m = bw_fqdn_matcher_new(mn ? BW_FQDN_MATCH_NAME : BW_FQDN_MATCH_PATTERN,
						   json_string_value(mn ? mn : mp), why, sizeof(why));
		if (!r->v[r->n].m) {
			if (errno == ENOMEM)
				goto nomem;
			snprintf(err, errlen, "[%zu].%s: %s", i, field, why);
			goto bad;
		}
		r->v[r->n].ref = json_is_integer(ref) ? (uint32_t)json_integer_value(ref) : 0;
		r->n++;
	}
	json_decref(doc);
	qsort(r->v, r->n, sizeof(*r->v), dpr_cmp);
	return r;
bad:
	json_decref(doc);
	dpr_free(r);
	errno = EINVAL;
	return NULL;
nomem:
	json_decref(doc);
	dpr_free(r);
	errno = ENOMEM;
	return NULL;
}

struct dpr_rules *dpr_ref(struct dpr_rules *r)
{
	if (r)
		r->refs++;
	return r;
}

void dpr_unref(struct dpr_rules *r)
{
	if (r && --r->refs == 0)
		dpr_free(r);
}

int dpr_allows(const struct dpr_rules *r, const char *qname, uint32_t *ref)
{
	for (size_t i = 0; r && i < r->n; i++)
		if (bw_fqdn_matcher_match(r->v[i].m, qname)) {
			if (ref)
				*ref = r->v[i].ref;
			return 1;
		}
	return 0;
}

size_t dpr_count(const struct dpr_rules *r)
{
	return r ? r->n : 0;
}
