/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/proxy/parsers.c - the registry of L7 protocol parsers, the rule sets
 * compiled by them, and the request hooks.
 *
 * A parser arrives from a module as a size-prefixed struct bw_l7_parser;
 * we keep a copy sized to our header (zeros for members an older module
 * does not know). Rule sets are compiled once per distinct (parser, JSON
 * text) and shared by reference: a policy change that leaves an
 * endpoint's rules as they were costs no recompilation, and ten thousand
 * connections on one port hold one compiled set.
 *
 * When a module instance is dropped, its parsers go with it: connections
 * that use them are closed first (their state belongs to the module),
 * then the rule sets they compiled are freed (the rule set structs live
 * on, unattached, while someone holds a reference).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/module/registry.h"
#include "core/proxy/proxy_int.h"

static struct px_parser *parsers;
static struct bw_proxy_ruleset *rulesets;

/* ---- parsers ------------------------------------------------------------------ */

struct px_parser *
px_parser_lookup(const char *name)
{
	for (struct px_parser *p = parsers; p != NULL; p = p->next)
		if (strcmp(p->p.name, name) == 0)
			return p;
	return NULL;
}

const struct bw_l7_parser *
bw_proxy_parser_find(const char *name)
{
	struct px_parser *p = name != NULL ? px_parser_lookup(name) : NULL;

	return p != NULL ? &p->p : NULL;
}

void
bw_proxy_parser_foreach(void (*cb)(const struct bw_l7_parser *p, void *arg),
			void *arg)
{
	for (struct px_parser *p = parsers; p != NULL; p = p->next)
		cb(&p->p, arg);
}

static void px_parsers_drop_owner(const void *owner);

int
bw_proxy_parser_add(const struct bw_l7_parser *in, const void *owner)
{
	struct px_parser *p, **tail;
	size_t n;
	int rc;

	if (in == NULL || in->size < offsetof(struct bw_l7_parser, conn_close) +
					  sizeof(in->conn_close))
		return -EINVAL;
	if (in->name == NULL || in->name[0] == '\0' || in->data == NULL ||
	    in->conn_open == NULL)
		return -EINVAL;
	if (px_parser_lookup(in->name) != NULL)
		return -EEXIST;
	if (owner != NULL &&
	    (rc = bw_registry_add_dropper(px_parsers_drop_owner)) < 0)
		return rc;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -ENOMEM;
	n = in->size < sizeof(p->p) ? in->size : sizeof(p->p);
	memcpy(&p->p, in, n);
	p->p.size = sizeof(p->p);
	p->owner = owner;
	for (tail = &parsers; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = p;
	bw_info("proxy: L7 parser '%s' registered", p->p.name);
	px_redirect_parser_added(p->p.name);
	return 0;
}

/* Free the compiled rules of rule sets made by p; detach them. */
static void
px_rulesets_detach(struct px_parser *p)
{
	for (struct bw_proxy_ruleset *rs = rulesets; rs != NULL; rs = rs->next) {
		if (rs->parser != p)
			continue;
		if (p->p.rules_free != NULL && p->p.rules_compile != NULL &&
		    rs->compiled != NULL)
			p->p.rules_free(p->p.user_data, rs->compiled);
		rs->compiled = NULL;
		rs->parser = NULL;
	}
}

static void
px_parser_free(struct px_parser *p)
{
	px_redirect_parser_dropped(p->p.name);
	px_engine_close_parser(p);
	px_rulesets_detach(p);
	if (p->p.free_user_data != NULL)
		p->p.free_user_data(p->p.user_data);
	free(p);
}

static void
px_parsers_drop_owner(const void *owner)
{
	struct px_parser **pp = &parsers;

	while (*pp != NULL) {
		struct px_parser *p = *pp;

		if (p->owner != owner) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		bw_info("proxy: L7 parser '%s' dropped", p->p.name);
		px_parser_free(p);
	}
}

/* ---- rule sets ------------------------------------------------------------------ */

static void
px_policies_free(struct bw_flow_policy *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)v[i].name);
		free((char *)v[i].ns);
		free((char *)v[i].kind);
		for (uint32_t j = 0; j < v[i].n_labels; j++)
			free((char *)v[i].labels[j]);
		free((void *)v[i].labels);
	}
	free(v);
}

static char *
px_strdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static struct bw_flow_policy *
px_policies_copy(const struct bw_flow_policy *in, size_t n)
{
	struct bw_flow_policy *v;

	if (n == 0)
		return NULL;
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		v[i].name = px_strdup(in[i].name);
		v[i].ns = px_strdup(in[i].ns);
		v[i].kind = px_strdup(in[i].kind);
		v[i].revision = in[i].revision;
		if (in[i].n_labels > 0) {
			const char **l = calloc(in[i].n_labels, sizeof(*l));

			if (l == NULL)
				goto fail;
			v[i].labels = l;
			v[i].n_labels = in[i].n_labels;
			for (uint32_t j = 0; j < in[i].n_labels; j++)
				if ((l[j] = px_strdup(in[i].labels[j])) == NULL)
					goto fail;
		}
		if ((in[i].name != NULL && v[i].name == NULL) ||
		    (in[i].ns != NULL && v[i].ns == NULL) ||
		    (in[i].kind != NULL && v[i].kind == NULL))
			goto fail;
	}
	return v;
fail:
	px_policies_free(v, n);
	return NULL;
}

static int
px_policies_equal(const struct bw_proxy_ruleset *rs,
		  const struct bw_flow_policy *p, size_t n)
{
	if (rs->n_policies != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct bw_flow_policy *a = &rs->policies[i], *b = &p[i];

		if (a->revision != b->revision ||
		    strcmp(a->name ? a->name : "", b->name ? b->name : "") ||
		    strcmp(a->ns ? a->ns : "", b->ns ? b->ns : "") ||
		    strcmp(a->kind ? a->kind : "", b->kind ? b->kind : ""))
			return 0;
	}
	return 1;
}

int
bw_proxy_rules_check(const char *parser, const char *json, char *err,
		     size_t errlen)
{
	struct px_parser *p = parser != NULL ? px_parser_lookup(parser) : NULL;
	void *compiled = NULL;
	int rc;

	if (p == NULL) {
		snprintf(err, errlen, "no L7 parser '%s' is loaded",
			 parser != NULL ? parser : "(null)");
		return -ENOENT;
	}
	if (p->p.rules_compile == NULL)
		return 0;
	err[0] = '\0';
	rc = p->p.rules_compile(p->p.user_data, json, strlen(json), &compiled,
				err, errlen);
	if (rc < 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s rules refused: %s", parser,
				 strerror(-rc));
		return rc;
	}
	if (p->p.rules_free != NULL && compiled != NULL)
		p->p.rules_free(p->p.user_data, compiled);
	return 0;
}

struct bw_proxy_ruleset *
bw_proxy_ruleset_get(const char *parser, const char *json,
		     const struct bw_flow_policy *policies, size_t n_policies,
		     char *err, size_t errlen)
{
	struct px_parser *p = parser != NULL ? px_parser_lookup(parser) : NULL;
	struct bw_proxy_ruleset *rs;
	int rc;

	if (p == NULL) {
		snprintf(err, errlen, "no L7 parser '%s' is loaded",
			 parser != NULL ? parser : "(null)");
		errno = ENOENT;
		return NULL;
	}
	if (json == NULL)
		json = "[]";
	for (rs = rulesets; rs != NULL; rs = rs->next)
		if (rs->parser == p && strcmp(rs->json, json) == 0 &&
		    px_policies_equal(rs, policies, n_policies))
			return bw_proxy_ruleset_ref(rs);
	if ((rs = calloc(1, sizeof(*rs))) == NULL ||
	    (rs->json = strdup(json)) == NULL ||
	    (n_policies > 0 &&
	     (rs->policies = px_policies_copy(policies, n_policies)) == NULL)) {
		if (rs != NULL)
			free(rs->json);
		free(rs);
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	rs->n_policies = n_policies;
	if (p->p.rules_compile != NULL) {
		err[0] = '\0';
		rc = p->p.rules_compile(p->p.user_data, rs->json, strlen(rs->json),
					&rs->compiled, err, errlen);
		if (rc < 0) {
			if (err[0] == '\0')
				snprintf(err, errlen, "%s rules refused: %s",
					 parser, strerror(-rc));
			px_policies_free(rs->policies, rs->n_policies);
			free(rs->json);
			free(rs);
			errno = -rc;
			return NULL;
		}
	} else {
		rs->compiled = rs->json;
	}
	rs->parser = p;
	rs->refs = 1;
	rs->next = rulesets;
	rulesets = rs;
	return rs;
}

struct bw_proxy_ruleset *
bw_proxy_ruleset_ref(struct bw_proxy_ruleset *rs)
{
	if (rs != NULL)
		rs->refs++;
	return rs;
}

void
bw_proxy_ruleset_unref(struct bw_proxy_ruleset *rs)
{
	struct bw_proxy_ruleset **pp;

	if (rs == NULL || --rs->refs > 0)
		return;
	for (pp = &rulesets; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == rs) {
			*pp = rs->next;
			break;
		}
	}
	if (rs->parser != NULL && rs->parser->p.rules_compile != NULL &&
	    rs->parser->p.rules_free != NULL && rs->compiled != NULL)
		rs->parser->p.rules_free(rs->parser->p.user_data, rs->compiled);
	px_policies_free(rs->policies, rs->n_policies);
	free(rs->json);
	free(rs);
}

/* ---- teardown ------------------------------------------------------------------------ */

void
px_parsers_fini(void)
{
	while (parsers != NULL) {
		struct px_parser *p = parsers;

		parsers = p->next;
		px_parser_free(p);
	}
	/* rule sets still referenced (by the redirect) stay until unref'd */
}
