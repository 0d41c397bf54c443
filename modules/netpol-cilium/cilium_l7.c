/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/netpol-cilium/cilium_l7.c - toPorts[].rules of a CiliumNetworkPolicy
 * (reference sheet sections 1.8, 1.13-1.15, 10): http, kafka, dns, and
 * l7proto with l7. Each kind is checked with Cilium's rules and written
 * into the rule model's PORT "rules" object (docs/rule-model.md), normalised
 * where Cilium normalises (DNS names lower-case with a trailing dot, Kafka
 * roles and API keys lower-case). HTTP path, method and host are checked
 * with PCRE2, the engine the HTTP proxy matches them with, so that a
 * pattern the proxy could not use is refused here, naming the field.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>

#include "lib/kafkakeys.h"

#include "cilium_l7.h"

#define CIL_DNS_NAME_MAX 255
#define CIL_KAFKA_TOPIC_MAX 255

static const char *const cil_l7_fields[] = { "http", "kafka", "dns", "l7proto", "l7", NULL };
static const char *const cil_http_fields[] = {
	"path", "method", "host", "headers", "headerMatches", NULL,
};
static const char *const cil_hm_fields[] = { "name", "value", "secret", "mismatch", NULL };
static const char *const cil_kafka_fields[] = {
	"role", "apiKey", "apiVersion", "clientID", "topic", NULL,
};
static const char *const cil_dns_fields[] = { "matchName", "matchPattern", NULL };

/* A string field (optional); *out NULL when absent. */
static int cil_opt_string(struct np_ctx *c, json_t *obj, const char *key, const char **out)
{
	json_t *v = np_get(obj, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return np_fail_at(c, key, "expected a string, got %s", np_type_name(v));
	*out = json_string_value(v);
	return 0;
}

/* An HTTP regex field: must compile with PCRE2 (the HTTP proxy's engine). */
static int cil_regex(struct np_ctx *c, json_t *obj, const char *key, json_t *out)
{
	char msg[160];
	const char *s;
	pcre2_code *re;
	PCRE2_SIZE off;
	int rc = cil_opt_string(c, obj, key, &s), ecode;

	if (rc < 0 || s == NULL)
		return rc;
	re = pcre2_compile((PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, 0, &ecode, &off, NULL);
	if (re == NULL) {
		pcre2_get_error_message(ecode, (PCRE2_UCHAR *)msg, sizeof(msg));
		return np_fail_at(c, key, "\"%s\" is not a valid regular expression: %s at offset %zu",
				  s, msg, (size_t)off);
	}
	pcre2_code_free(re);
	json_object_set_new(out, key, json_string(s));
	return 0;
}

static int cil_http_item(struct np_ctx *c, json_t *it, json_t **out)
{
	json_t *o, *hl, *hm, *v;
	size_t i, saved;
	int rc;

	*out = NULL;
	if ((rc = np_want_object(c, it)) < 0 || (rc = np_check_fields(c, it, cil_http_fields)) < 0)
		return rc;
	o = json_object();
	if (o == NULL)
		return np_nomem(c);
	if ((rc = cil_regex(c, it, "path", o)) < 0 || (rc = cil_regex(c, it, "method", o)) < 0 ||
	    (rc = cil_regex(c, it, "host", o)) < 0)
		goto fail;
	if ((hl = np_get(it, "headers")) != NULL) {
		json_t *arr = json_array();

		saved = np_push_key(c, "headers");
		rc = np_want_array(c, hl);
		json_array_foreach(hl, i, v) {
			size_t s2;

			if (rc < 0)
				break;
			s2 = np_push_index(c, i);
			rc = np_want_string(c, v);
			if (rc == 0 && !*json_string_value(v))
				rc = np_fail(c, "a header name is required");
			if (rc == 0)
				json_array_append(arr, v);
			np_pop(c, s2);
		}
		np_pop(c, saved);
		json_object_set_new(o, "headers", arr);
		if (rc < 0)
			goto fail;
	}
	if ((hm = np_get(it, "headerMatches")) != NULL) {
		json_t *arr = json_array();

		saved = np_push_key(c, "headerMatches");
		rc = np_want_array(c, hm);
		json_array_foreach(hm, i, v) {
			const char *name = NULL, *value = NULL, *mm = NULL;
			size_t s2;

			if (rc < 0)
				break;
			s2 = np_push_index(c, i);
			rc = np_want_object(c, v);
			if (rc == 0)
				rc = np_check_fields(c, v, cil_hm_fields);
			if (rc == 0 && np_get(v, "secret") != NULL)
				rc = np_fail_at(c, "secret",
						"header values from Kubernetes secrets are not supported");
			if (rc == 0)
				rc = cil_opt_string(c, v, "name", &name);
			if (rc == 0 && (name == NULL || !*name))
				rc = np_fail_at(c, "name", "required");
			if (rc == 0)
				rc = cil_opt_string(c, v, "value", &value);
			if (rc == 0)
				rc = cil_opt_string(c, v, "mismatch", &mm);
			if (rc == 0 && mm != NULL && strcmp(mm, "LOG") && strcmp(mm, "ADD") &&
			    strcmp(mm, "DELETE") && strcmp(mm, "REPLACE"))
				rc = np_fail_at(c, "mismatch",
						"\"%s\" is not one of LOG, ADD, DELETE, REPLACE", mm);
			if (rc == 0) {
				json_t *x = json_pack("{s:s}", "name", name);

				if (value != NULL)
					json_object_set_new(x, "value", json_string(value));
				if (mm != NULL)
					json_object_set_new(x, "mismatch", json_string(mm));
				json_array_append_new(arr, x);
			}
			np_pop(c, s2);
		}
		np_pop(c, saved);
		json_object_set_new(o, "headerMatches", arr);
		if (rc < 0)
			goto fail;
	}
	*out = o;
	return 0;
fail:
	json_decref(o);
	return rc;
}

static int cil_kafka_topic_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CIL_KAFKA_TOPIC_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static void cil_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static int cil_kafka_item(struct np_ctx *c, json_t *it, json_t **out)
{
	const char *role, *key, *ver, *cid, *topic;
	char buf[64];
	json_t *o;
	int rc;

	*out = NULL;
	if ((rc = np_want_object(c, it)) < 0 || (rc = np_check_fields(c, it, cil_kafka_fields)) < 0 ||
	    (rc = cil_opt_string(c, it, "role", &role)) < 0 ||
	    (rc = cil_opt_string(c, it, "apiKey", &key)) < 0 ||
	    (rc = cil_opt_string(c, it, "clientID", &cid)) < 0 ||
	    (rc = cil_opt_string(c, it, "topic", &topic)) < 0)
		return rc;
	/* apiVersion is a numeric string in the CRD; a plain number means the same */
	ver = NULL;
	if (json_is_integer(np_get(it, "apiVersion"))) {
		if (json_integer_value(np_get(it, "apiVersion")) < 0)
			return np_fail_at(c, "apiVersion", "must not be negative");
		snprintf(buf, sizeof(buf), "%lld",
			 (long long)json_integer_value(np_get(it, "apiVersion")));
		ver = buf;
	} else if ((rc = cil_opt_string(c, it, "apiVersion", &ver)) < 0) {
		return rc;
	}
	if (ver != NULL && (!*ver || strspn(ver, "0123456789") != strlen(ver) || strlen(ver) > 5))
		return np_fail_at(c, "apiVersion", "\"%s\" is not an API version number", ver);
	if (role != NULL && key != NULL)
		return np_fail(c, "role and apiKey cannot both be set");
	o = json_object();
	if (o == NULL)
		return np_nomem(c);
	if (role != NULL) {
		if (strcasecmp(role, "produce") && strcasecmp(role, "consume")) {
			json_decref(o);
			return np_fail_at(c, "role", "\"%s\" is not produce or consume", role);
		}
		snprintf(buf, sizeof(buf), "%s", role);
		cil_lower(buf);
		json_object_set_new(o, "role", json_string(buf));
	}
	if (key != NULL) {
		/* Cilium's names (0-33); past them Kafka's (bulwark's extension) */
		int k = bw_kafka_key_by_name(key);

		if (k < 0) {
			json_decref(o);
			return np_fail_at(c, "apiKey",
					  "\"%s\" is not a Kafka API key name (produce, fetch, offsets, metadata, ...)",
					  key);
		}
		if (bw_kafka_key_cilium(k) != NULL) {
			json_object_set_new(o, "apiKey", json_string(bw_kafka_key_cilium(k)));
		} else {
			snprintf(buf, sizeof(buf), "%s", bw_kafka_key_kafka(k));
			cil_lower(buf);
			json_object_set_new(o, "apiKey", json_string(buf));
		}
	}
	if (ver != NULL)
		json_object_set_new(o, "apiVersion", json_string(ver));
	if (cid != NULL)
		json_object_set_new(o, "clientID", json_string(cid));
	if (topic != NULL) {
		if (!cil_kafka_topic_ok(topic)) {
			json_decref(o);
			return np_fail_at(c, "topic",
					  "\"%s\" is not a valid topic (1 to %d characters of [a-zA-Z0-9._-])",
					  topic, CIL_KAFKA_TOPIC_MAX);
		}
		json_object_set_new(o, "topic", json_string(topic));
	}
	*out = o;
	return 0;
}

/*
 * A DNS name or pattern as Cilium normalises it: lower-case, a trailing dot
 * added; characters [-a-zA-Z0-9_.] (and '*' in a pattern).
 */
static int cil_dns_name(struct np_ctx *c, const char *key, const char *s, int pattern,
			json_t *out)
{
	char buf[CIL_DNS_NAME_MAX + 2];
	size_t n = strlen(s);

	if (n == 0)
		return np_fail_at(c, key, "must not be empty");
	if (n > CIL_DNS_NAME_MAX)
		return np_fail_at(c, key, "at most %d characters", CIL_DNS_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
		      (pattern && ch == '*')))
			return np_fail_at(c, key,
					  "\"%s\" has a character that is not allowed (%s)", s,
					  pattern ? "[-a-zA-Z0-9_.*]" : "[-a-zA-Z0-9_.]");
	}
	memcpy(buf, s, n + 1);
	cil_lower(buf);
	if (buf[n - 1] != '.') {
		buf[n] = '.';
		buf[n + 1] = '\0';
	}
	json_object_set_new(out, key, json_string(buf));
	return 0;
}

static int cil_dns_item(struct np_ctx *c, json_t *it, json_t **out)
{
	const char *name, *pat;
	json_t *o;
	int rc;

	*out = NULL;
	if ((rc = np_want_object(c, it)) < 0 || (rc = np_check_fields(c, it, cil_dns_fields)) < 0 ||
	    (rc = cil_opt_string(c, it, "matchName", &name)) < 0 ||
	    (rc = cil_opt_string(c, it, "matchPattern", &pat)) < 0)
		return rc;
	if ((name == NULL) == (pat == NULL))
		return np_fail(c, "exactly one of matchName and matchPattern is required");
	o = json_object();
	if (o == NULL)
		return np_nomem(c);
	rc = name != NULL ? cil_dns_name(c, "matchName", name, 0, o)
			  : cil_dns_name(c, "matchPattern", pat, 1, o);
	if (rc < 0) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return 0;
}

static int cil_l7_item(struct np_ctx *c, json_t *it, json_t **out)
{
	const char *k;
	json_t *v;
	int rc;

	*out = NULL;
	if ((rc = np_want_object(c, it)) < 0)
		return rc;
	json_object_foreach(it, k, v)
		if (!json_is_string(v))
			return np_fail_at(c, k, "expected a string, got %s", np_type_name(v));
	*out = json_copy(it);
	return *out ? 0 : np_nomem(c);
}

typedef int (*cil_item_fn)(struct np_ctx *c, json_t *it, json_t **out);

/* A list of rules of one kind at the current path + key. */
static int cil_l7_list(struct np_ctx *c, json_t *list, const char *key, cil_item_fn fn,
		       json_t **out)
{
	size_t saved = np_push_key(c, key), i;
	json_t *v, *arr = json_array(), *x;
	int rc = np_want_array(c, list);

	*out = NULL;
	if (arr == NULL)
		rc = np_nomem(c);
	json_array_foreach(list, i, v) {
		size_t s2;

		if (rc < 0)
			break;
		s2 = np_push_index(c, i);
		rc = fn(c, v, &x);
		np_pop(c, s2);
		if (rc == 0)
			json_array_append_new(arr, x);
	}
	np_pop(c, saved);
	if (rc < 0) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

int cil_l7_rules(struct np_ctx *c, json_t *rules, int ingress, int *kind, json_t **out)
{
	static const struct {
		const char *key;
		int kind;
		cil_item_fn fn;
	} kinds[] = {
		{ "http", CIL_L7_HTTP, cil_http_item },
		{ "kafka", CIL_L7_KAFKA, cil_kafka_item },
		{ "dns", CIL_L7_DNS, cil_dns_item },
	};
	json_t *proto, *l7, *list;
	const char *first = NULL;
	size_t saved = np_push_key(c, "rules");
	int rc;

	*kind = CIL_L7_NONE;
	*out = NULL;
	if ((rc = np_want_object(c, rules)) < 0 || (rc = np_check_fields(c, rules, cil_l7_fields)) < 0)
		goto out;
	proto = np_get(rules, "l7proto");
	l7 = np_get(rules, "l7");
	/* "rules" is a union: one kind per port rule (an empty list counts as none) */
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		list = np_get(rules, kinds[i].key);
		if (list == NULL || (json_is_array(list) && json_array_size(list) == 0))
			continue;
		if (first != NULL) {
			rc = np_fail(c, "%s and %s cannot be combined in one port rule", first,
				     kinds[i].key);
			goto out;
		}
		first = kinds[i].key;
		*kind = kinds[i].kind;
	}
	if (proto != NULL && first != NULL) {
		rc = np_fail(c, "%s and l7proto cannot be combined in one port rule", first);
		goto out;
	}
	if (l7 != NULL && proto == NULL) {
		rc = np_fail_at(c, "l7", "needs l7proto (the name of the L7 protocol)");
		goto out;
	}
	if (ingress && *kind == CIL_L7_DNS) {
		rc = np_fail_at(c, "dns", "DNS rules are not allowed in ingress rules");
		goto out;
	}
	if (proto != NULL) {
		const char *name;
		json_t *items = NULL;

		if ((rc = cil_opt_string(c, rules, "l7proto", &name)) < 0)
			goto out;
		if (!*name) {
			rc = np_fail_at(c, "l7proto", "must not be empty");
			goto out;
		}
		for (const char *p = name; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
			      *p == '_' || *p == '-') || p - name >= 63) {
				rc = np_fail_at(c, "l7proto",
						"\"%s\" is not a valid protocol name (at most 63 characters of [a-z0-9._-])",
						name);
				goto out;
			}
		if (l7 != NULL && (rc = cil_l7_list(c, l7, "l7", cil_l7_item, &items)) < 0)
			goto out;
		*kind = CIL_L7_PROTO;
		*out = json_pack("{s:s,s:o}", "l7proto", name, "l7", items ? items : json_array());
		rc = *out ? 0 : np_nomem(c);
		goto out;
	}
	if (first == NULL)
		goto out; /* no L7 rules: a plain port */
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		json_t *arr;

		if (kinds[i].kind != *kind)
			continue;
		rc = cil_l7_list(c, np_get(rules, kinds[i].key), kinds[i].key, kinds[i].fn, &arr);
		if (rc == 0) {
			*out = json_pack("{s:o}", kinds[i].key, arr);
			rc = *out ? 0 : np_nomem(c);
		}
	}
out:
	np_pop(c, saved);
	if (rc < 0)
		*kind = CIL_L7_NONE;
	return rc;
}

const char *cil_l7_kind_name(int kind)
{
	switch (kind) {
	case CIL_L7_HTTP:
		return "http";
	case CIL_L7_KAFKA:
		return "kafka";
	case CIL_L7_DNS:
		return "dns";
	case CIL_L7_PROTO:
		return "l7proto";
	}
	return "none";
}
