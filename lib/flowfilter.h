/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/flowfilter.h - Hubble FlowFilter: parse, match, and build from
 * `observe` flags.
 *
 * Semantics follow `hubble observe` (cilium-hubble.md 7.3): inside one
 * filter every populated field must match (AND) and any value of a field is
 * enough (OR); a flow passes a filter set when it matches at least one
 * whitelist filter (an empty whitelist matches everything) and no blacklist
 * filter.
 *
 * Filters are read from JSON FlowFilter objects with the proto field names
 * (source_pod, destination_label, verdict, event_type, ...), the same text
 * `hubble observe --print-raw-filters` and Hubble's exporter
 * allowlist/denylist use, so the flow API, the CLI and the flow-log exporter
 * share one parser.
 *
 * This file depends only on libc and jansson: the CLI links it too, to
 * build filters from its flags (struct bw_flowfilter_builder).
 */
#ifndef BW_CORE_FLOWFILTER_H
#define BW_CORE_FLOWFILTER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bulwark/flow.h"

struct bw_flowfilter; /* one parsed FlowFilter */

/* A whitelist and a blacklist. Zero-initialise; free with _clear(). */
struct bw_flowfilters {
	struct bw_flowfilter **allow;
	size_t n_allow;
	struct bw_flowfilter **deny;
	size_t n_deny;
};

/*
 * Parse one FlowFilter object. Unknown fields and bad values are errors;
 * the message names the field and the value. Returns 0 and *out, or
 * -EINVAL with a message in err.
 */
int bw_flowfilter_parse(const json_t *obj, struct bw_flowfilter **out,
			char *err, size_t errlen);
void bw_flowfilter_free(struct bw_flowfilter *ff);
/* 1 when the flow matches the filter, else 0. */
int bw_flowfilter_match(const struct bw_flowfilter *ff,
			const struct bw_flow *f);

/*
 * Parse a whitelist and a blacklist (JSON arrays of FlowFilter objects;
 * NULL or null for none) into fs. Returns 0 or -EINVAL with a message.
 */
int bw_flowfilters_parse(struct bw_flowfilters *fs, const json_t *whitelist,
			 const json_t *blacklist, char *err, size_t errlen);
int bw_flowfilters_match(const struct bw_flowfilters *fs,
			 const struct bw_flow *f);
void bw_flowfilters_clear(struct bw_flowfilters *fs);

/* ---- time (lib/flowfilter_time.c) ------------------------------------------ */

/*
 * Parse a --since/--until value: a duration before now ("3s", "4m",
 * "1h43m", "1.5h", "250ms"), or an absolute time (RFC 3339 with or without
 * fraction and offset, "2006-01-02T15:04:05" taken as UTC, "2006-01-02").
 * now_ns and *out are wall-clock nanoseconds. 0 or -EINVAL.
 */
int bw_flowfilter_parse_time(const char *s, uint64_t now_ns, uint64_t *out);

/* Reserved identity name ("world", "host", ...) -> number, or -1. */
int bw_flowfilter_identity_parse(const char *name);
/* Reserved identity number -> name, or NULL. */
const char *bw_flowfilter_identity_name(uint32_t id);

#endif /* BW_CORE_FLOWFILTER_H */
