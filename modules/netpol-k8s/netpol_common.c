/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/netpol-k8s/netpol_common.c - validation and translation helpers
 * shared by the netpol-k8s and netpol-cilium policy formats: field paths in
 * messages, type checks, unknown fields, Kubernetes names, label selectors
 * and CIDR prefixes. Compiled into each module (hidden visibility), so the
 * two shared objects never depend on each other or on the daemon.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/prefix.h"
#include "netpol_common.h"

void
np_ctx_init(struct np_ctx *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->err = err;
	c->errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
}

size_t
np_push_key(struct np_ctx *c, const char *key)
{
	size_t saved = c->plen;
	int n;

	n = snprintf(c->path + c->plen, sizeof(c->path) - c->plen, "%s%s",
		     c->plen ? "." : "", key);
	if (n > 0)
		c->plen += (size_t)n < sizeof(c->path) - c->plen
				   ? (size_t)n
				   : sizeof(c->path) - c->plen - 1;
	return saved;
}

size_t
np_push_mapkey(struct np_ctx *c, const char *key)
{
	size_t saved = c->plen;
	int n;

	n = snprintf(c->path + c->plen, sizeof(c->path) - c->plen, "[%s]", key);
	if (n > 0)
		c->plen += (size_t)n < sizeof(c->path) - c->plen
				   ? (size_t)n
				   : sizeof(c->path) - c->plen - 1;
	return saved;
}

size_t
np_push_index(struct np_ctx *c, size_t index)
{
	size_t saved = c->plen;
	int n;

	n = snprintf(c->path + c->plen, sizeof(c->path) - c->plen, "[%zu]",
		     index);
	if (n > 0)
		c->plen += (size_t)n < sizeof(c->path) - c->plen
				   ? (size_t)n
				   : sizeof(c->path) - c->plen - 1;
	return saved;
}

void
np_pop(struct np_ctx *c, size_t saved)
{
	c->plen = saved;
	c->path[saved] = '\0';
}

static int
np_vfail(struct np_ctx *c, const char *fmt, va_list ap)
{
	char msg[384];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (c->err != NULL && c->errlen > 0) {
		if (c->plen)
			snprintf(c->err, c->errlen, "%s: %s", c->path, msg);
		else
			snprintf(c->err, c->errlen, "%s", msg);
	}
	return -EINVAL;
}

int
np_fail(struct np_ctx *c, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = np_vfail(c, fmt, ap);
	va_end(ap);
	return rc;
}

int
np_fail_at(struct np_ctx *c, const char *key, const char *fmt, ...)
{
	size_t saved = np_push_key(c, key);
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = np_vfail(c, fmt, ap);
	va_end(ap);
	np_pop(c, saved);
	return rc;
}

int
np_nomem(struct np_ctx *c)
{
	if (c->err != NULL && c->errlen > 0)
		snprintf(c->err, c->errlen, "out of memory");
	return -ENOMEM;
}

const char *
np_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "a mapping";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

json_t *
np_get(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

int
np_want_object(struct np_ctx *c, json_t *v)
{
	if (!json_is_object(v))
		return np_fail(c, "expected a mapping, got %s", np_type_name(v));
	return 0;
}

int
np_want_array(struct np_ctx *c, json_t *v)
{
	if (!json_is_array(v))
		return np_fail(c, "expected a list, got %s", np_type_name(v));
	return 0;
}

int
np_want_string(struct np_ctx *c, json_t *v)
{
	if (!json_is_string(v))
		return np_fail(c, "expected a string, got %s", np_type_name(v));
	return 0;
}

int
np_want_bool(struct np_ctx *c, json_t *v)
{
	if (!json_is_boolean(v))
		return np_fail(c, "expected true or false, got %s",
			       np_type_name(v));
	return 0;
}

int
np_check_fields(struct np_ctx *c, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		size_t i;

		for (i = 0; allowed[i] != NULL; i++)
			if (!strcmp(allowed[i], key))
				break;
		if (allowed[i] == NULL)
			return np_fail_at(c, key, "unknown field");
	}
	return 0;
}

/* ---- names -------------------------------------------------------------- */

static int
np_is_lower_alnum(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

int
np_dns1123_label(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || !np_is_lower_alnum((unsigned char)s[0]) ||
	    !np_is_lower_alnum((unsigned char)s[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!np_is_lower_alnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

int
np_dns1123_subdomain(const char *s)
{
	size_t n = strlen(s);
	const char *p = s;

	if (n == 0 || n > 253)
		return 0;
	/* Each dot-separated part: lower alnum at both ends, '-' inside. */
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		if (len == 0 || !np_is_lower_alnum((unsigned char)p[0]) ||
		    !np_is_lower_alnum((unsigned char)p[len - 1]))
			return 0;
		for (size_t i = 0; i < len; i++)
			if (!np_is_lower_alnum((unsigned char)p[i]) && p[i] != '-')
				return 0;
		if (dot == NULL)
			return 1;
		p = dot + 1;
	}
}

int
np_port_name_valid(const char *s)
{
	size_t n = strlen(s);
	int letter = 0;

	if (n == 0 || n > 15 || s[0] == '-' || s[n - 1] == '-' ||
	    strstr(s, "--") != NULL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = 1;
		else if (!(s[i] >= '0' && s[i] <= '9') && s[i] != '-')
			return 0;
	}
	return letter;
}

/* Kubernetes label name part / value: [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])? */
static int
np_label_name(const char *s, size_t n)
{
	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' &&
		    s[i] != '.')
			return 0;
	return 1;
}

static int
np_label_value(const char *s)
{
	return *s == '\0' || np_label_name(s, strlen(s));
}

/* A Kubernetes label key: [DNS-subdomain "/"] name. */
static int
np_label_key(const char *s)
{
	const char *slash = strchr(s, '/');
	char prefix[254];
	size_t plen;

	if (slash == NULL)
		return np_label_name(s, strlen(s));
	plen = (size_t)(slash - s);
	if (plen == 0 || plen >= sizeof(prefix))
		return 0;
	memcpy(prefix, s, plen);
	prefix[plen] = '\0';
	return np_dns1123_subdomain(prefix) &&
	       np_label_name(slash + 1, strlen(slash + 1));
}

static const char *const np_cilium_sources[] = {
	"k8s", "reserved", "any", "cidr", "fqdn", "cidrgroup", "node",
	"container", "cni", "unspec", NULL,
};

/*
 * Rewrite one selector key into buf. Messages name the key (at the path of
 * the matchLabels key or the expression's key field).
 */
static int
np_key(struct np_ctx *c, const char *key, int mode, const char *prefix,
       char *buf, size_t buflen)
{
	if (mode == NP_KEYS_PREFIX) {
		if (!np_label_key(key))
			return np_fail(c,
				       "\"%s\" is not a valid label key (an optional DNS subdomain prefix and '/', then at most 63 characters [A-Za-z0-9._-] starting and ending alphanumeric)",
				       key);
		if ((size_t)snprintf(buf, buflen, "%s%s", prefix, key) >= buflen)
			return np_fail(c, "label key \"%s\" is too long", key);
		return 0;
	}

	/*
	 * Cilium: "source:key" or a bare key (source any). As Cilium's label
	 * parser (pkg/labels ParseSource with ':') does, "$name" and, without
	 * a ':', "reserved.name" are the reserved label name (Cilium's own
	 * examples write "reserved.init").
	 */
	const char *colon = strchr(key, ':');
	const char *name = colon ? colon + 1 : key;
	size_t i;

	if (key[0] == '$' || (colon == NULL && !strncmp(key, "reserved.", 9))) {
		name = key + (key[0] == '$' ? 1 : 9);
		if (*name == '\0' || strlen(name) > 317)
			return np_fail(c, "\"%s\" is not a valid label key", key);
		for (i = 0; name[i]; i++)
			if (isspace((unsigned char)name[i]) || !isprint((unsigned char)name[i]) ||
			    name[i] == '=' || name[i] == ',')
				return np_fail(c, "\"%s\" is not a valid label key", key);
		if ((size_t)snprintf(buf, buflen, "reserved:%s", name) >= buflen)
			return np_fail(c, "label key \"%s\" is too long", key);
		return 0;
	}

	if (colon != NULL) {
		for (i = 0; np_cilium_sources[i] != NULL; i++)
			if (strlen(np_cilium_sources[i]) == (size_t)(colon - key) &&
			    !strncmp(np_cilium_sources[i], key, colon - key))
				break;
		if (np_cilium_sources[i] == NULL)
			return np_fail(c,
				       "\"%s\": unknown label source \"%.*s\" (k8s, reserved, any, cidr, fqdn, ...)",
				       key, (int)(colon - key), key);
	}
	if (*name == '\0' || strlen(name) > 317)
		return np_fail(c, "\"%s\" is not a valid label key", key);
	for (i = 0; name[i]; i++)
		if (isspace((unsigned char)name[i]) || !isprint((unsigned char)name[i]) ||
		    name[i] == '=' || name[i] == ',')
			return np_fail(c, "\"%s\" is not a valid label key", key);
	if ((size_t)snprintf(buf, buflen, "%s%s", colon ? "" : "any:", key) >=
	    buflen)
		return np_fail(c, "label key \"%s\" is too long", key);
	return 0;
}

static int
np_set_label(struct np_ctx *c, json_t *ml, const char *key, const char *value)
{
	const char *old = json_string_value(json_object_get(ml, key));

	if (old != NULL && strcmp(old, value) != 0)
		return np_fail(c, "label \"%s\" is required to be both \"%s\" and \"%s\"",
			       key, old, value);
	if (json_object_set_new(ml, key, json_string(value)) < 0)
		return np_nomem(c);
	return 0;
}

static const char *const np_selector_fields[] = {
	"matchLabels", "matchExpressions", NULL,
};
static const char *const np_expr_fields[] = {
	"key", "operator", "values", NULL,
};

static int
np_expression(struct np_ctx *c, json_t *e, int mode, const char *prefix,
	      json_t *me)
{
	json_t *key, *op, *values, *out, *ovals, *v;
	const char *ops;
	char kbuf[640];
	size_t i, saved;
	int rc, want_values;

	if ((rc = np_want_object(c, e)) < 0 ||
	    (rc = np_check_fields(c, e, np_expr_fields)) < 0)
		return rc;
	key = np_get(e, "key");
	op = np_get(e, "operator");
	values = np_get(e, "values");
	if (key == NULL)
		return np_fail_at(c, "key", "required");
	saved = np_push_key(c, "key");
	rc = np_want_string(c, key);
	if (rc == 0)
		rc = np_key(c, json_string_value(key), mode, prefix, kbuf,
			    sizeof(kbuf));
	np_pop(c, saved);
	if (rc < 0)
		return rc;
	if (op == NULL)
		return np_fail_at(c, "operator", "required");
	saved = np_push_key(c, "operator");
	rc = np_want_string(c, op);
	np_pop(c, saved);
	if (rc < 0)
		return rc;
	ops = json_string_value(op);
	if (!strcmp(ops, "In") || !strcmp(ops, "NotIn"))
		want_values = 1;
	else if (!strcmp(ops, "Exists") || !strcmp(ops, "DoesNotExist"))
		want_values = 0;
	else
		return np_fail_at(c, "operator",
				  "\"%s\" is not a valid operator (In, NotIn, Exists, DoesNotExist)",
				  ops);
	if (values != NULL) {
		saved = np_push_key(c, "values");
		rc = np_want_array(c, values);
		np_pop(c, saved);
		if (rc < 0)
			return rc;
	}
	if (want_values && json_array_size(values) == 0)
		return np_fail_at(c, "values",
				  "must be non-empty when operator is %s", ops);
	if (!want_values && json_array_size(values) > 0)
		return np_fail_at(c, "values",
				  "must be empty when operator is %s", ops);

	out = json_pack("{s:s, s:s}", "key", kbuf, "operator", ops);
	if (out == NULL)
		return np_nomem(c);
	if (want_values) {
		ovals = json_array();
		json_object_set_new(out, "values", ovals);
		json_array_foreach(values, i, v) {
			saved = np_push_key(c, "values");
			np_push_index(c, i);
			rc = np_want_string(c, v);
			if (rc == 0 && !np_label_value(json_string_value(v)))
				rc = np_fail(c,
					     "\"%s\" is not a valid label value (at most 63 characters [A-Za-z0-9._-] starting and ending alphanumeric)",
					     json_string_value(v));
			np_pop(c, saved);
			if (rc < 0) {
				json_decref(out);
				return rc;
			}
			json_array_append(ovals, v);
		}
	}
	if (json_array_append_new(me, out) < 0)
		return np_nomem(c);
	return 0;
}

int
np_selector(struct np_ctx *c, json_t *sel, int mode, const char *prefix,
	    json_t *ml, json_t *me)
{
	json_t *labels, *exprs, *v;
	const char *key;
	char kbuf[640];
	size_t saved, i;
	int rc;

	if (sel == NULL || json_is_null(sel))
		return 0;
	if ((rc = np_want_object(c, sel)) < 0 ||
	    (rc = np_check_fields(c, sel, np_selector_fields)) < 0)
		return rc;
	labels = np_get(sel, "matchLabels");
	exprs = np_get(sel, "matchExpressions");
	if (labels != NULL) {
		saved = np_push_key(c, "matchLabels");
		rc = np_want_object(c, labels);
		json_object_foreach(labels, key, v) {
			size_t s2;

			if (rc < 0)
				break;
			s2 = np_push_mapkey(c, key);
			rc = np_key(c, key, mode, prefix, kbuf, sizeof(kbuf));
			if (rc == 0 && !json_is_string(v))
				rc = np_fail(c,
					     "expected a string, got %s (quote numbers and booleans used as label values)",
					     np_type_name(v));
			if (rc == 0 && !np_label_value(json_string_value(v)))
				rc = np_fail(c,
					     "\"%s\" is not a valid label value (at most 63 characters [A-Za-z0-9._-] starting and ending alphanumeric)",
					     json_string_value(v));
			if (rc == 0)
				rc = np_set_label(c, ml, kbuf, json_string_value(v));
			np_pop(c, s2);
		}
		np_pop(c, saved);
		if (rc < 0)
			return rc;
	}
	if (exprs != NULL) {
		saved = np_push_key(c, "matchExpressions");
		rc = np_want_array(c, exprs);
		json_array_foreach(exprs, i, v) {
			size_t s2;

			if (rc < 0)
				break;
			s2 = np_push_index(c, i);
			rc = np_expression(c, v, mode, prefix, me);
			np_pop(c, s2);
		}
		np_pop(c, saved);
		if (rc < 0)
			return rc;
	}
	return 0;
}

json_t *
np_selector_json(json_t *ml, json_t *me)
{
	json_t *sel = json_object();

	if (sel == NULL) {
		json_decref(ml);
		json_decref(me);
		return NULL;
	}
	if (json_object_size(ml) > 0)
		json_object_set(sel, "match_labels", ml);
	if (json_array_size(me) > 0)
		json_object_set(sel, "match_expressions", me);
	json_decref(ml);
	json_decref(me);
	return sel;
}

/* ---- prefixes ----------------------------------------------------------- */

static int
np_prefix_value(struct np_ctx *c, json_t *v, int allow_bare,
		struct bw_prefix *p)
{
	int rc = np_want_string(c, v);

	if (rc < 0)
		return rc;
	if (bw_prefix_parse(json_string_value(v),
			    allow_bare ? 0 : BW_PREFIX_NEED_LEN, p) < 0)
		return np_fail(c, "\"%s\" is not a valid %s",
			       json_string_value(v),
			       allow_bare ? "IP address or CIDR" : "CIDR");
	return 0;
}

int
np_cidr_string(struct np_ctx *c, json_t *v, int allow_bare,
	       int match_endpoints, json_t **peer)
{
	struct bw_prefix p;
	char buf[64];
	int rc;

	rc = np_prefix_value(c, v, allow_bare, &p);
	if (rc < 0)
		return rc;
	bw_prefix_format(&p, 1, buf, sizeof(buf));
	*peer = json_pack("{s:s, s:b}", "cidr", buf, "match_endpoints",
			  match_endpoints);
	return *peer ? 0 : np_nomem(c);
}

int
np_cidr_rule(struct np_ctx *c, json_t *obj, int allow_bare, int strict_except,
	     int match_endpoints, json_t **peer)
{
	json_t *cidr = np_get(obj, "cidr"), *except = np_get(obj, "except");
	json_t *out, *oexc, *v;
	struct bw_prefix base, ex;
	char buf[64];
	size_t saved, i;
	int rc;

	*peer = NULL;
	if (cidr == NULL)
		return np_fail_at(c, "cidr", "required");
	saved = np_push_key(c, "cidr");
	rc = np_prefix_value(c, cidr, allow_bare, &base);
	np_pop(c, saved);
	if (rc < 0)
		return rc;
	bw_prefix_format(&base, 1, buf, sizeof(buf));
	out = json_pack("{s:s}", "cidr", buf);
	if (out == NULL)
		return np_nomem(c);
	if (except != NULL) {
		saved = np_push_key(c, "except");
		rc = np_want_array(c, except);
		oexc = json_array();
		json_array_foreach(except, i, v) {
			size_t s2;

			if (rc < 0)
				break;
			s2 = np_push_index(c, i);
			rc = np_prefix_value(c, v, allow_bare, &ex);
			if (rc == 0 && !bw_prefix_within(&ex, &base, strict_except))
				rc = np_fail(c, "\"%s\" is not %s %s",
					     json_string_value(v),
					     strict_except ? "a strict subset of"
							   : "inside",
					     buf);
			if (rc == 0) {
				char eb[64];

				bw_prefix_format(&ex, 1, eb, sizeof(eb));
				json_array_append_new(oexc, json_string(eb));
			}
			np_pop(c, s2);
		}
		np_pop(c, saved);
		if (json_array_size(oexc) > 0)
			json_object_set(out, "except", oexc);
		json_decref(oexc);
		if (rc < 0) {
			json_decref(out);
			return rc;
		}
	}
	json_object_set_new(out, "match_endpoints", json_boolean(match_endpoints));
	*peer = out;
	return 0;
}

int
np_finish(struct np_ctx *c, json_t *policy, char **out)
{
	*out = json_dumps(policy, JSON_COMPACT);
	json_decref(policy);
	if (*out == NULL)
		return np_nomem(c);
	return 0;
}
