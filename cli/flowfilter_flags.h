/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/flowfilter_flags.h - the `observe` flag builder: hubble observe's
 * flags turned into FlowFilter JSON lists (whitelist and blacklist) that
 * the daemon's /v1/flows route and lib/flowfilter.c understand.
 */
#ifndef BW_CLI_FLOWFILTER_FLAGS_H
#define BW_CLI_FLOWFILTER_FLAGS_H

#include <stddef.h>

#include <jansson.h>

/* ---- building filters from `observe` flags ---------------------------------- */

/*
 * Each of whitelist and blacklist is built like hubble's filterTracker: a
 * "left" and a "right" filter. Flags naming one side (--from-pod,
 * --verdict, ...) go into both; either-side flags (--pod, --ip, --label,
 * --namespace, --identity, --port, --workload) put the source form into
 * left and the destination form into right, giving {source=x, ...} OR
 * {destination=x, ...}. Identical left and right collapse into one filter.
 */
struct bw_flowfilter_builder {
	json_t *allow[2]; /* left, right */
	json_t *deny[2];
	int negate_next;  /* the previous flag was --not */
	unsigned set_allow; /* FLAG_* bits seen, for conflict checks */
	unsigned set_deny;
};

void bw_flowfilter_builder_init(struct bw_flowfilter_builder *b);
void bw_flowfilter_builder_free(struct bw_flowfilter_builder *b);
/*
 * Add one flag (its long name without dashes: "pod", "from-label", "not",
 * "verdict", "type", ...) and its value (NULL for "not"). Values are
 * checked here so that the CLI names the flag in its error. Returns 0,
 * -ENOENT for a flag that is not a filter flag, -EINVAL with a message.
 */
int bw_flowfilter_builder_add(struct bw_flowfilter_builder *b, const char *flag,
			      const char *value, char *err, size_t errlen);
/*
 * The resulting lists (new references, JSON arrays, possibly empty).
 * Fails with -EINVAL when a --not is left dangling.
 */
int bw_flowfilter_builder_finish(struct bw_flowfilter_builder *b,
				 json_t **whitelist, json_t **blacklist,
				 char *err, size_t errlen);

#endif /* BW_CLI_FLOWFILTER_FLAGS_H */
