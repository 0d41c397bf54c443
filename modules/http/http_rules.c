/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/http/http_rules.c - compile and match CiliumNetworkPolicy
 * `rules.http` entries (see http_rules.h).
 *
 * Regular expressions: Cilium validates them with Go's RE2 and Envoy
 * evaluates them with RE2 against the whole header value. We compile them
 * with PCRE2 anchored at both ends (PCRE2_ANCHORED | PCRE2_ENDANCHORED) and
 * JIT-compile them: every RE2 pattern Cilium accepts means the same here;
 * PCRE2 additionally accepts backreferences and lookaround, which RE2
 * refuses. One match-data block serves every match (the loop is single
 * threaded).
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <pcre2.h>

#include "http_rules.h"

struct http_hdr_rule {
	char *name;
	char *value;    /* NULL: presence only */
	enum http_mismatch mismatch;
};

struct http_rule {
	pcre2_code *method, *path, *host;
	struct http_hdr_rule *hdr;
	size_t n_hdr;
};

struct http_rules {
	struct http_rule *rule;
	size_t n;
};

static pcre2_match_data *http_md;

static void
http_rule_free(struct http_rule *r)
{
	pcre2_code_free(r->method);
	pcre2_code_free(r->path);
	pcre2_code_free(r->host);
	for (size_t i = 0; i < r->n_hdr; i++) {
		free(r->hdr[i].name);
		free(r->hdr[i].value);
	}
	free(r->hdr);
}

void
http_rules_free(struct http_rules *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->n; i++)
		http_rule_free(&rs->rule[i]);
	free(rs->rule);
	free(rs);
}

size_t
http_rules_count(const struct http_rules *rs)
{
	return rs != NULL ? rs->n : 0;
}

static int
http_regex(json_t *v, size_t i, const char *field, pcre2_code **out, char *err,
	   size_t errlen)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	int code;
	const char *pat;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "http[%zu].%s: must be a string", i, field);
		return -EINVAL;
	}
	pat = json_string_value(v);
	if (pat[0] == '\0')
		return 0; /* empty: any value */
	*out = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
			     PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOLLAR_ENDONLY,
			     &code, &off, NULL);
	if (*out == NULL) {
		pcre2_get_error_message(code, msg, sizeof(msg));
		snprintf(err, errlen,
			 "http[%zu].%s: '%s' is not a valid regular expression: %s (at offset %zu)",
			 i, field, pat, (const char *)msg, (size_t)off);
		return -EINVAL;
	}
	/* without JIT (an architecture without it) pcre2_match() interprets */
	(void)pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE);
	return 0;
}

static int
http_mismatch_parse(const char *s, enum http_mismatch *out)
{
	static const char *const names[] = { "", "LOG", "ADD", "DELETE", "REPLACE" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i]) == 0) {
			*out = (enum http_mismatch)i;
			return 0;
		}
	}
	return -1;
}

static int
http_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s >= 0x7f || *s == ':')
			return 0;
	return 1;
}

static int
http_hdr_add(struct http_rule *r, const char *name, size_t name_len,
	     const char *value, enum http_mismatch mm)
{
	struct http_hdr_rule *h = realloc(r->hdr, (r->n_hdr + 1) * sizeof(*h));

	if (h == NULL)
		return -ENOMEM;
	r->hdr = h;
	h = &r->hdr[r->n_hdr];
	memset(h, 0, sizeof(*h));
	h->name = strndup(name, name_len);
	h->value = value != NULL ? strdup(value) : NULL;
	h->mismatch = mm;
	if (h->name == NULL || (value != NULL && h->value == NULL)) {
		free(h->name);
		free(h->value);
		return -ENOMEM;
	}
	r->n_hdr++;
	return 0;
}

/* headers: ["Name"] (presence) or ["Name: value"] (split at the first space). */
static int
http_headers(json_t *v, size_t i, struct http_rule *r, char *err, size_t errlen)
{
	size_t k;
	json_t *e;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v)) {
		snprintf(err, errlen, "http[%zu].headers: must be a list of strings", i);
		return -EINVAL;
	}
	json_array_foreach(v, k, e) {
		const char *s = json_string_value(e), *sp;
		size_t nl;
		int rc;

		if (s == NULL) {
			snprintf(err, errlen, "http[%zu].headers[%zu]: must be a string", i, k);
			return -EINVAL;
		}
		sp = strchr(s, ' ');
		nl = sp != NULL ? (size_t)(sp - s) : strlen(s);
		while (nl > 0 && s[nl - 1] == ':') /* "X-Key: value" */
			nl--;
		if (nl == 0) {
			snprintf(err, errlen, "http[%zu].headers[%zu]: '%s' has no header name",
				 i, k, s);
			return -EINVAL;
		}
		rc = http_hdr_add(r, s, nl, sp != NULL ? sp + 1 : NULL, HTTP_MISMATCH_DENY);
		if (rc < 0) {
			snprintf(err, errlen, "out of memory");
			return rc;
		}
	}
	return 0;
}

static int
http_header_matches(json_t *v, size_t i, const char *key, struct http_rule *r,
		    char *err, size_t errlen)
{
	size_t k;
	json_t *e;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v)) {
		snprintf(err, errlen, "http[%zu].%s: must be a list", i, key);
		return -EINVAL;
	}
	json_array_foreach(v, k, e) {
		const char *name = NULL, *value = NULL, *mm = NULL, *f;
		enum http_mismatch m = HTTP_MISMATCH_DENY;
		json_t *fv;

		if (!json_is_object(e)) {
			snprintf(err, errlen, "http[%zu].%s[%zu]: must be an object", i, key, k);
			return -EINVAL;
		}
		json_object_foreach(e, f, fv) {
			if (!strcmp(f, "secret")) {
				snprintf(err, errlen,
					 "http[%zu].%s[%zu].secret: values from Kubernetes "
					 "secrets are not supported; give the value", i, key, k);
				return -EINVAL;
			}
			if (strcmp(f, "name") && strcmp(f, "value") && strcmp(f, "mismatch")) {
				snprintf(err, errlen, "http[%zu].%s[%zu]: unknown field '%s'",
					 i, key, k, f);
				return -EINVAL;
			}
			if (!json_is_string(fv) && !json_is_null(fv)) {
				snprintf(err, errlen, "http[%zu].%s[%zu].%s: must be a string",
					 i, key, k, f);
				return -EINVAL;
			}
		}
		name = json_string_value(json_object_get(e, "name"));
		value = json_string_value(json_object_get(e, "value"));
		mm = json_string_value(json_object_get(e, "mismatch"));
		if (name == NULL || !http_name_ok(name)) {
			snprintf(err, errlen, "http[%zu].%s[%zu].name: a header name is required",
				 i, key, k);
			return -EINVAL;
		}
		if (mm != NULL && http_mismatch_parse(mm, &m) < 0) {
			snprintf(err, errlen,
				 "http[%zu].%s[%zu].mismatch: '%s' is not one of LOG, ADD, DELETE, REPLACE",
				 i, key, k, mm);
			return -EINVAL;
		}
		if ((m == HTTP_MISMATCH_ADD || m == HTTP_MISMATCH_REPLACE) &&
		    (value == NULL || *value == '\0')) {
			snprintf(err, errlen, "http[%zu].%s[%zu]: mismatch %s needs a value",
				 i, key, k, mm);
			return -EINVAL;
		}
		if (http_hdr_add(r, name, strlen(name),
				 value != NULL && *value != '\0' ? value : NULL, m) < 0) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	return 0;
}

int
http_rules_compile(const char *json, struct http_rules **out, char *err,
		   size_t errlen)
{
	struct http_rules *rs;
	json_error_t jerr;
	json_t *doc, *e;
	size_t i;
	int rc = 0;

	*out = NULL;
	doc = json_loads(json, JSON_DECODE_ANY, &jerr);
	if (doc == NULL || !json_is_array(doc)) {
		snprintf(err, errlen, "http: the rules must be a JSON list%s%s",
			 doc == NULL ? ": " : "", doc == NULL ? jerr.text : "");
		json_decref(doc);
		return -EINVAL;
	}
	if (http_md == NULL && (http_md = pcre2_match_data_create(1, NULL)) == NULL) {
		json_decref(doc);
		return -ENOMEM;
	}
	if ((rs = calloc(1, sizeof(*rs))) == NULL ||
	    (json_array_size(doc) > 0 &&
	     (rs->rule = calloc(json_array_size(doc), sizeof(*rs->rule))) == NULL)) {
		free(rs);
		json_decref(doc);
		return -ENOMEM;
	}
	json_array_foreach(doc, i, e) {
		struct http_rule *r = &rs->rule[i];
		const char *f;
		json_t *fv;

		rs->n = i + 1;
		if (!json_is_object(e)) {
			snprintf(err, errlen, "http[%zu]: must be an object", i);
			rc = -EINVAL;
			break;
		}
		json_object_foreach(e, f, fv) {
			if (strcmp(f, "method") && strcmp(f, "path") && strcmp(f, "host") &&
			    strcmp(f, "headers") && strcmp(f, "headerMatches") &&
			    strcmp(f, "header_matches")) {
				snprintf(err, errlen, "http[%zu]: unknown field '%s'", i, f);
				rc = -EINVAL;
				break;
			}
		}
		if (rc < 0 ||
		    (rc = http_regex(json_object_get(e, "method"), i, "method", &r->method, err, errlen)) < 0 ||
		    (rc = http_regex(json_object_get(e, "path"), i, "path", &r->path, err, errlen)) < 0 ||
		    (rc = http_regex(json_object_get(e, "host"), i, "host", &r->host, err, errlen)) < 0 ||
		    (rc = http_headers(json_object_get(e, "headers"), i, r, err, errlen)) < 0 ||
		    (rc = http_header_matches(json_object_get(e, "headerMatches"), i,
					      "headerMatches", r, err, errlen)) < 0 ||
		    (rc = http_header_matches(json_object_get(e, "header_matches"), i,
					      "header_matches", r, err, errlen)) < 0)
			break;
	}
	json_decref(doc);
	if (rc < 0) {
		http_rules_free(rs);
		return rc;
	}
	*out = rs;
	return 0;
}

static int
http_re_match(const pcre2_code *re, const char *s, size_t n)
{
	int rc;

	if (re == NULL)
		return 1;
	rc = pcre2_jit_match(re, (PCRE2_SPTR)s, n, 0, 0, http_md, NULL);
	if (rc == PCRE2_ERROR_JIT_BADOPTION) /* no JIT code for this pattern */
		rc = pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, http_md, NULL);
	return rc >= 0;
}

/* Does the request have the header (with the value, when one is given)? */
static int
http_hdr_match(const struct http_msg *m, const struct http_hdr_rule *h)
{
	size_t vl = h->value != NULL ? strlen(h->value) : 0;

	for (unsigned i = 0; i < m->n_fields; i++) {
		const struct http_field *f = &m->field[i];

		if (!http_name_is(f, h->name))
			continue;
		if (h->value == NULL ||
		    (f->value_len == vl && memcmp(f->value, h->value, vl) == 0))
			return 1;
	}
	return 0;
}

int
http_rules_match(const struct http_rules *rs, const struct http_req_view *v,
		 struct http_action *acts, size_t *n_acts)
{
	*n_acts = 0;
	if (rs == NULL)
		return -1;
	for (size_t i = 0; i < rs->n; i++) {
		const struct http_rule *r = &rs->rule[i];
		size_t na = 0, k;

		if (!http_re_match(r->method, v->method, v->method_len) ||
		    !http_re_match(r->path, v->path, v->path_len) ||
		    !http_re_match(r->host, v->host, v->host_len))
			continue;
		for (k = 0; k < r->n_hdr; k++) {
			const struct http_hdr_rule *h = &r->hdr[k];

			if (http_hdr_match(v->msg, h))
				continue;
			if (h->mismatch == HTTP_MISMATCH_DENY)
				break;
			if (na < HTTP_MAX_ACTIONS) {
				acts[na].action = h->mismatch;
				acts[na].name = h->name;
				acts[na].value = h->value;
				na++;
			}
		}
		if (k < r->n_hdr)
			continue;
		*n_acts = na;
		return (int)i;
	}
	return -1;
}
