/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/dnsproxy/dnsproxy_rules.h - the DNS rules (toPorts[].rules.dns)
 * that apply to one redirected lookup, compiled once per distinct list.
 *
 * A list is the rule model's JSON array [{"match_name": "..."} |
 * {"match_pattern": "..."}, ...], each element optionally carrying the
 * "rule_ref" of the policy entry it came from (flow attribution). A query
 * is allowed when one element matches its name (Cilium: only the name
 * counts, the type does not).
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
