/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/dnsproxy/dnsproxy_rules.h - the DNS rules (toPorts[].rules.dns)
 * that apply to one redirected lookup, compiled once per distinct list.
 *
 * A list is a JSON array of either
 *  - the redirect service's items (docs/redirect.md), one per policy rule
 *    behind the redirect: {"rule_ref": N, "dns": [SELECTOR, ...]}, or
 *    {"rule_ref": N, "allow_all": true} (an L4 rule on the same port:
 *    every name); items of other protocols (http, kafka) allow nothing;
 *  - or plain selectors, each optionally with its "rule_ref":
 *    {"match_name": "..."} | {"match_pattern": "..."}.
 * A query is allowed when one selector matches its name (Cilium: only the
 * name counts, the type does not); the selector's rule_ref names the
 * policy in the flow.
 */
#ifndef BW_DNSPROXY_RULES_H
#define BW_DNSPROXY_RULES_H

#include <stddef.h>
#include <stdint.h>

struct dpr_rules;

/*
 * Compile a list (JSON text). Returns NULL with errno EINVAL and a reason
 * in err (naming the element: "[2].match_pattern: ..."), or ENOMEM.
 */
struct dpr_rules *dpr_compile(const char *json, char *err, size_t errlen);

/* Reference counting: one compiled list is shared by the lookups using it. */
struct dpr_rules *dpr_ref(struct dpr_rules *r);
void dpr_unref(struct dpr_rules *r);

/*
 * Does the list allow qname (normalised)? Returns 1 and the matching
 * element's rule_ref in *ref (0 when it had none), or 0.
 */
int dpr_allows(const struct dpr_rules *r, const char *qname, uint32_t *ref);

size_t dpr_count(const struct dpr_rules *r);

#endif /* BW_DNSPROXY_RULES_H */
