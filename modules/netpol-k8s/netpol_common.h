/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/netpol-k8s/netpol_common.h - helpers shared by the two policy
 * format modules (netpol-k8s and netpol-cilium; the latter compiles
 * netpol_common.c into its own shared object, so nothing is exported).
 *
 * They cover what both formats validate the same way: the field path used
 * in every message (`spec.ingress[0].from[1].ipBlock.except[0]: ...`),
 * JSON type checks, unknown-field refusal, Kubernetes names, label
 * selectors, CIDR prefixes and port names. Output is the canonical rule
 * model of docs/rule-model.md.
 */
#ifndef BW_NETPOL_COMMON_H
#define BW_NETPOL_COMMON_H

#include <stddef.h>

#include <jansson.h>

#define NP_PATH_MAX 512

/* The translation context: where we are in the input, and the error sink. */
struct np_ctx {
	char path[NP_PATH_MAX];
	size_t plen;
	char *err;
	size_t errlen;
};

void np_ctx_init(struct np_ctx *c, char *err, size_t errlen);

/* Descend into a field / list element; np_pop() restores the saved length. */
size_t np_push_key(struct np_ctx *c, const char *key);
size_t np_push_index(struct np_ctx *c, size_t index);
/* A key of a free-form mapping (matchLabels): "[key]", since keys hold dots. */
size_t np_push_mapkey(struct np_ctx *c, const char *key);
void np_pop(struct np_ctx *c, size_t saved);

/* Write "<path>: <message>" into the error buffer; returns -EINVAL. */
int np_fail(struct np_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same for a field below the current path ("<path>.<key>: ..."). */
int np_fail_at(struct np_ctx *c, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int np_nomem(struct np_ctx *c);

/* "a string", "an integer", "a mapping", ... for messages. */
const char *np_type_name(const json_t *v);

/* A field's value, or NULL when it is absent or null (Go's nil). */
json_t *np_get(json_t *obj, const char *key);

/* Type checks at the current path; 0 or -EINVAL with a message. */
int np_want_object(struct np_ctx *c, json_t *v);
int np_want_array(struct np_ctx *c, json_t *v);
int np_want_string(struct np_ctx *c, json_t *v);
int np_want_bool(struct np_ctx *c, json_t *v);

/*
 * Refuse any field of obj (at the current path) not named in allowed
 * (NULL-terminated): "<path>.<key>: unknown field".
 */
int np_check_fields(struct np_ctx *c, json_t *obj, const char *const *allowed);

/* Kubernetes object names. */
int np_dns1123_subdomain(const char *s); /* metadata.name */
int np_dns1123_label(const char *s);     /* metadata.namespace */
/* IANA_SVC_NAME: a named port. */
int np_port_name_valid(const char *s);

/*
 * Translate a Kubernetes LabelSelector (at the current path) into a
 * canonical selector's match_labels (object) and match_expressions (array),
 * appending to both. Each key is rewritten:
 *   NP_KEYS_PREFIX  prefix + key (key must be a Kubernetes label key),
 *                   e.g. "k8s:" or "k8s:io.cilium.k8s.namespace.labels."
 *   NP_KEYS_CILIUM  Cilium syntax: "source:key" kept, a bare key becomes
 *                   "any:key"; prefix is unused.
 * An empty or missing selector adds nothing (selects everything).
 */
#define NP_KEYS_PREFIX 1
#define NP_KEYS_CILIUM 2
int np_selector(struct np_ctx *c, json_t *sel, int mode, const char *prefix,
		json_t *match_labels, json_t *match_expressions);

/* Build {"match_labels":..., "match_expressions":...}, empty parts left out.
 * Steals both arguments. */
json_t *np_selector_json(json_t *match_labels, json_t *match_expressions);

/*
 * Translate a CIDR rule object {cidr, except} at the current path into a
 * canonical CIDR peer. strict_except: each except must be strictly longer
 * than cidr (Kubernetes); otherwise merely inside it (Cilium).
 */
int np_cidr_rule(struct np_ctx *c, json_t *obj, int allow_bare,
		 int strict_except, int match_endpoints, json_t **peer);

/* A CIDR peer from one prefix string at the current path. */
int np_cidr_string(struct np_ctx *c, json_t *v, int allow_bare,
		   int match_endpoints, json_t **peer);

/* json_dumps() of the policy into *out (malloc'd); steals policy. */
int np_finish(struct np_ctx *c, json_t *policy, char **out);

#endif /* BW_NETPOL_COMMON_H */
