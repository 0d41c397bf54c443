/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/http/http_rules.h - CiliumNetworkPolicy `rules.http` entries,
 * compiled for matching: method, path and host as regular expressions
 * (PCRE2 with JIT) that must match the whole value, as Envoy's safe_regex
 * does in Cilium; headers by presence or "Name: value"; headerMatches with
 * their mismatch actions. Entries are OR-ed; within one, every field must
 * match (cilium-hubble.md 10.1).
 */
#ifndef BW_HTTP_RULES_H
#define BW_HTTP_RULES_H

#include <stddef.h>

#include "http_parse.h"

/* headerMatches[].mismatch */
enum http_mismatch {
	HTTP_MISMATCH_DENY = 0, /* no mismatch action: the entry does not match */
	HTTP_MISMATCH_LOG,
	HTTP_MISMATCH_ADD,
	HTTP_MISMATCH_DELETE,
	HTTP_MISMATCH_REPLACE,
};

struct http_rules;

/* What is matched: the request's method, path (the request target as
 * sent, query included), host (Host, or the authority of an absolute
 * target) and fields. */
struct http_req_view {
	const char *method;
	size_t method_len;
	const char *path;
	size_t path_len;
	const char *host;
	size_t host_len;
	const struct http_msg *msg;
};

/* A mismatch action of the entry that matched. */
struct http_action {
	enum http_mismatch action;
	const char *name;   /* header name */
	const char *value;  /* expected value */
};

#define HTTP_MAX_ACTIONS 16

/*
 * Compile a JSON array of rules.http entries. Field names are Cilium's
 * (method, path, host, headers, headerMatches; header_matches is taken
 * too). Returns 0, or -EINVAL with a message naming the entry and field
 * ("http[1].path: '(' is not a valid regular expression: ...").
 */
int http_rules_compile(const char *json, struct http_rules **out, char *err,
		       size_t errlen);
void http_rules_free(struct http_rules *rs);
size_t http_rules_count(const struct http_rules *rs);

/*
 * The index of the first entry the request matches, or -1. acts (room for
 * HTTP_MAX_ACTIONS) gets the matched entry's mismatch actions to apply
 * (LOG, ADD, DELETE, REPLACE), *n_acts their number.
 */
int http_rules_match(const struct http_rules *rs, const struct http_req_view *v,
		     struct http_action *acts, size_t *n_acts);

#endif /* BW_HTTP_RULES_H */
