/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/policy_batch.c - from an input (a policy file, an API body)
 * to a batch of parsed and compiled documents, nothing applied yet: the
 * documents are read (core/policy/policydoc.c), translated by the policy
 * format module of their apiVersion/kind, checked and compiled for the
 * resolver. Errors name the document, its line and the field. Applying a
 * batch is policy.c's (bw_pol_apply).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/module/registry.h"
#include "core/policy/policy_int.h"
#include "core/policy/policydoc.h"
#include "core/policy/resolver.h"

/* Check a canonical policy object; fills kind/ns/name. */
static int pol_check_doc(const json_t *doc, const char **kind, const char **ns,
			 const char **name, char *err, size_t errlen)
{
	*kind = json_string_value(json_object_get(doc, "kind"));
	*ns = json_string_value(json_object_get(doc, "namespace"));
	*name = json_string_value(json_object_get(doc, "name"));
	if (!json_is_object(doc) || !*kind || !**kind || !*name || !**name) {
		snprintf(err, errlen, "the policy has no kind or name");
		return -EINVAL;
	}
	if (!*ns)
		*ns = "";
	return 0;
}

void bw_pol_item_clear(struct bw_pol_item *it)
{
	free(it->kind);
	free(it->ns);
	free(it->name);
	json_decref(it->doc);
	free(it->doc_text);
	bw_rv_policy_free(it->rv);
	memset(it, 0, sizeof(*it));
}

void bw_pol_batch_free(struct bw_pol_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		bw_pol_item_clear(&b->v[i]);
	free(b->v);
	b->v = NULL;
	b->n = 0;
}

/* Compile a canonical object into an item. */
int bw_pol_item_from_doc(json_t *doc, struct bw_pol_item *it, char *err,
			 size_t errlen)
{
	const char *kind, *ns, *name;
	int e = pol_check_doc(doc, &kind, &ns, &name, err, errlen);

	if (e < 0)
		return e;
	it->rv = bw_rv_policy_compile(json_object_get(doc, "rules"), err, errlen);
	if (!it->rv)
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	it->staged = json_is_true(json_object_get(doc, "staged"));
	it->kind = strdup(kind);
	it->ns = strdup(ns);
	it->name = strdup(name);
	it->doc = json_incref(doc);
	it->doc_text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	if (!it->kind || !it->ns || !it->name || !it->doc_text)
		return -ENOMEM;
	return 0;
}

int bw_pol_item_from_canonical(json_t *doc, struct bw_pol_item *it, char *err,
			       size_t errlen)
{
	int e;

	memset(it, 0, sizeof(*it));
	e = bw_pol_item_from_doc(doc, it, err, errlen);
	if (e < 0)
		bw_pol_item_clear(it);
	return e;
}

struct pol_kinds {
	char *buf;
	size_t len, cap;
};

static int pol_kinds_cb(const struct bw_policy_format *fmt, void *arg)
{
	struct pol_kinds *k = arg;

	for (size_t a = 0; fmt->api_versions && fmt->api_versions[a]; a++)
		for (size_t i = 0; fmt->kinds && fmt->kinds[i]; i++) {
			int n = snprintf(k->buf + k->len, k->cap - k->len, "%s%s %s",
					 k->len ? ", " : "", fmt->api_versions[a],
					 fmt->kinds[i]);

			if (n > 0 && k->len + (size_t)n < k->cap)
				k->len += (size_t)n;
		}
	return 0;
}

/*
 * "SOURCE: WHERE: MSG", or "SOURCE:LINE: WHERE: MSG" when MSG starts with
 * the path of a field of document d ("spec.ingress[0].from: ...") that can
 * be found in the input: LINE is that field's line.
 */
static void pol_doc_error(char *err, size_t errlen, const char *buf, size_t len,
			  const char *source_name, const char *where,
			  const struct bw_policydoc *d, const char *msg)
{
	const char *colon = strstr(msg, ": ");
	unsigned fl;
	char path[512];

	if (colon && colon > msg && (size_t)(colon - msg) < sizeof(path) &&
	    !memchr(msg, ' ', (size_t)(colon - msg))) {
		memcpy(path, msg, (size_t)(colon - msg));
		path[colon - msg] = '\0';
		if (bw_policydoc_locate(buf, len, d->line, d->column, path, &fl) == 0) {
			snprintf(err, errlen, "%s:%u: %s: %s", source_name, fl, where, msg);
			return;
		}
	}
	snprintf(err, errlen, "%s: %s: %s", source_name, where, msg);
}

/*
 * An error in a document made of `cilium policy import` rules: its path
 * "specs[K].rest" names the K-th rule of the policy: say which input item
 * that was, at its line.
 */
static void pol_rule_error(char *err, size_t errlen, const char *buf, size_t len,
			   const char *source_name, const struct bw_pol_rulelist *m,
			   const char *where, const struct bw_policydoc *d, const char *msg)
{
	unsigned long k;
	char *end;

	if (!strncmp(msg, "specs[", 6) && (k = strtoul(msg + 6, &end, 10), end[0] == ']') &&
	    k < m->n && (end[1] == '.' || end[1] == ':')) {
		const struct bw_pol_rule_origin *o = &m->o[k];
		struct bw_policydoc rd = *d;
		char w[96];

		rd.line = o->line;
		rd.column = o->column;
		if (o->item >= 0)
			snprintf(w, sizeof(w), "document %u, item %d (line %u)", o->index + 1,
				 o->item, o->line);
		else
			snprintf(w, sizeof(w), "document %u (line %u)", o->index + 1, o->line);
		pol_doc_error(err, errlen, buf, len, source_name, w, &rd,
			      end[1] == '.' ? end + 2 : end + 3);
		return;
	}
	pol_doc_error(err, errlen, buf, len, source_name, where, d, msg);
}

int bw_pol_batch_parse(const char *buf, size_t len, const char *source_name,
		       struct bw_pol_batch *b, char *err, size_t errlen)
{
	return bw_pol_batch_parse_ns(buf, len, source_name, NULL, b, err, errlen);
}

int bw_pol_batch_parse_ns(const char *buf, size_t len, const char *source_name,
			  const char *default_ns, struct bw_pol_batch *b, char *err,
			  size_t errlen)
{
	struct bw_policydoc_set set = { 0 };
	struct bw_pol_rulelist *rl = NULL;
	char msg[1024];
	int e;

	memset(b, 0, sizeof(*b));
	e = bw_policydoc_read(buf, len, source_name, &set, err, errlen);
	if (e == 0)
		e = bw_pol_rulelist_convert(&set, source_name, default_ns, buf, len, &rl, err,
					    errlen);
	if (e < 0) {
		bw_policydoc_set_free(&set);
		return e;
	}
	if (set.count) {
		b->v = calloc(set.count, sizeof(*b->v));
		if (!b->v) {
			bw_pol_rulelist_free(rl, set.count);
			bw_policydoc_set_free(&set);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < set.count; i++) {
		struct bw_policydoc *d = &set.docs[i];
		struct bw_pol_item *it = &b->v[i];
		char av[128], kind[128], where[96];
		const struct bw_policy_format *fmt;
		char *out = NULL;
		json_t *doc;
		json_error_t jerr;

		b->n = i + 1;
		it->doc_index = d->index + 1;
		it->line = d->line;
		if (d->item >= 0)
			snprintf(where, sizeof(where), "document %u, item %d (line %u)",
				 d->index + 1, d->item, d->line);
		else
			snprintf(where, sizeof(where), "document %u (line %u)",
				 d->index + 1, d->line);
		e = bw_policydoc_kind_of(d, av, sizeof(av), kind, sizeof(kind));
		fmt = e == 0 ? bw_policy_format_find(av, kind) : NULL;
		if (!fmt) {
			char kinds[1024];
			struct pol_kinds k = { kinds, 0, sizeof(kinds) };

			kinds[0] = '\0';
			bw_policy_format_foreach(pol_kinds_cb, &k);
			if (e < 0)
				snprintf(err, errlen,
					 "%s: %s: apiVersion and kind are required; bulwark accepts %s",
					 source_name, where,
					 k.len ? kinds : "no kind (no policy format module is loaded)");
			else
				snprintf(err, errlen,
					 "%s: %s: apiVersion \"%s\" kind \"%s\" is not a policy kind bulwark accepts (%s)",
					 source_name, where, av, kind,
					 k.len ? kinds : "no policy format module is loaded");
			goto fail;
		}
		msg[0] = '\0';
		e = fmt->parse(fmt->user_data, d->json, d->json_len, &out, msg, sizeof(msg));
		if (e < 0 || !out) {
			if (rl && rl[i].n)
				pol_rule_error(err, errlen, buf, len, source_name, &rl[i], where,
					       d, msg[0] ? msg : strerror(e < 0 ? -e : EINVAL));
			else
				pol_doc_error(err, errlen, buf, len, source_name, where, d,
					      msg[0] ? msg : strerror(e < 0 ? -e : EINVAL));
			free(out);
			goto fail;
		}
		doc = json_loads(out, 0, &jerr);
		free(out);
		if (!doc) {
			snprintf(err, errlen,
				 "%s: %s: the %s format produced invalid rules: %s",
				 source_name, where, fmt->name, jerr.text);
			goto fail;
		}
		/* bulwark.io/staged: the core reads it from the input itself */
		if ((d->obj ? bw_pol_staged_annotation_obj(d->obj, doc, msg, sizeof(msg))
			    : bw_pol_staged_annotation(d->json, d->json_len, doc, msg,
						       sizeof(msg))) < 0) {
			json_decref(doc);
			pol_doc_error(err, errlen, buf, len, source_name, where, d, msg);
			goto fail;
		}
		e = bw_pol_item_from_doc(doc, it, msg, sizeof(msg));
		json_decref(doc);
		if (e < 0) {
			pol_doc_error(err, errlen, buf, len, source_name, where, d, msg);
			goto fail;
		}
		/* the same policy twice in one input */
		for (size_t j = 0; j < i; j++)
			if (!strcmp(b->v[j].kind, it->kind) && !strcmp(b->v[j].ns, it->ns) &&
			    !strcmp(b->v[j].name, it->name)) {
				snprintf(err, errlen,
					 "%s: %s: %s %s%s%s is already defined by document %u (line %u)",
					 source_name, where, it->kind, it->ns,
					 *it->ns ? "/" : "", it->name, b->v[j].doc_index,
					 b->v[j].line);
				goto fail;
			}
	}
	bw_pol_rulelist_free(rl, set.count);
	bw_policydoc_set_free(&set);
	return 0;
fail:
	bw_pol_rulelist_free(rl, set.count);
	bw_policydoc_set_free(&set);
	bw_pol_batch_free(b);
	return -EINVAL;
}
