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

/* Add one {"match_name"|"match_pattern": ...} selector with ref. */
static int dpr_add(struct dpr_rules *r, size_t *cap, const json_t *el, uint32_t ref,
		   const char *path, char *err, size_t errlen)
{
	/* the rule model's spelling, or Cilium's (as the redirect hands it) */
	const json_t *mn = json_object_get(el, "match_name");
	const json_t *mp = json_object_get(el, "match_pattern");
	const char *field;

	if (!mn && !mp) {
		mn = json_object_get(el, "matchName");
		mp = json_object_get(el, "matchPattern");
		field = mn ? "matchName" : "matchPattern";
	} else {
		field = mn ? "match_name" : "match_pattern";
	}
	struct bw_fqdn_matcher *m;
	char why[256];

	if (!json_is_object(el) || !!mn + !!mp != 1 || !json_is_string(mn ? mn : mp)) {
		snprintf(err, errlen, "%s: must be {\"match_name\": NAME} or {\"match_pattern\": PATTERN}",
			 path);
		return -EINVAL;
	}
	m = bw_fqdn_matcher_new(mn ? BW_FQDN_MATCH_NAME : BW_FQDN_MATCH_PATTERN,
				json_string_value(mn ? mn : mp), why, sizeof(why));
	if (!m) {
		if (errno == ENOMEM)
			return -ENOMEM;
		snprintf(err, errlen, "%s.%s: %s", path, field, why);
		return -EINVAL;
	}
	if (r->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct dpr_rule *v = realloc(r->v, nc * sizeof(*v));

		if (!v) {
			bw_fqdn_matcher_free(m);
			return -ENOMEM;
		}
		r->v = v;
		*cap = nc;
	}
	r->v[r->n].m = m;
	r->v[r->n].ref = ref;
	r->n++;
	return 0;
}

static uint32_t dpr_ref_of(const json_t *el)
{
	const json_t *ref = json_object_get(el, "rule_ref");

	return json_is_integer(ref) ? (uint32_t)json_integer_value(ref) : 0;
}

struct dpr_rules *dpr_compile(const char *json, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc = json_loads(json ? json : "", 0, &jerr), *el, *d;
	struct dpr_rules *r;
	size_t i, j, cap = 0;
	char path[64];
	int rc = 0;

	if (!json_is_array(doc)) {
		snprintf(err, errlen, "DNS rules must be a JSON list");
		json_decref(doc);
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		json_decref(doc);
		errno = ENOMEM;
		return NULL;
	}
	r->refs = 1;
	json_array_foreach(doc, i, el) {
		uint32_t ref = dpr_ref_of(el);
		const json_t *dns = json_object_get(el, "dns");

		if (json_is_true(json_object_get(el, "allow_all"))) {
			/* a policy rule behind the redirect without DNS rules */
			json_t *all = json_pack("{s:s}", "match_pattern", "*");

			rc = all ? dpr_add(r, &cap, all, ref, "", err, errlen) : -ENOMEM;
			json_decref(all);
		} else if (dns) {
			/* the redirect's form: one item per policy rule */
			if (!json_is_array(dns)) {
				snprintf(err, errlen, "[%zu].dns: must be a list", i);
				rc = -EINVAL;
			}
			json_array_foreach(dns, j, d) {
				if (rc < 0)
					break;
				snprintf(path, sizeof(path), "[%zu].dns[%zu]", i, j);
				rc = dpr_add(r, &cap, d, ref, path, err, errlen);
			}
		} else if (json_object_get(el, "http") || json_object_get(el, "kafka") ||
			   json_object_get(el, "l7proto")) {
			continue; /* rules of another protocol allow no DNS query */
		} else {
			snprintf(path, sizeof(path), "[%zu]", i);
			rc = dpr_add(r, &cap, el, ref, path, err, errlen);
		}
		if (rc < 0)
			break;
	}
	json_decref(doc);
	if (rc < 0) {
		dpr_free(r);
		errno = -rc;
		return NULL;
	}
	if (r->n > 1) /* qsort takes no NULL array, even empty */
		qsort(r->v, r->n, sizeof(*r->v), dpr_cmp);
	return r;
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
