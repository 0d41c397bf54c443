/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/flowjson.h - Hubble JSON encoding of flow records.
 *
 * A struct bw_flow becomes the JSON that `hubble observe -o json` prints:
 * one GetFlowsResponse {"flow": {...}, "node_name": ..., "time": ...} per
 * line, protojson with proto field names, enum names, 64-bit integers as
 * strings, zero values omitted (cilium-hubble.md 5.1-5.4). bulwark's own
 * fields go under "extensions". The enum name tables live here too; the
 * filter parser and the CLI use them.
 */
#ifndef BW_CORE_FLOWJSON_H
#define BW_CORE_FLOWJSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bulwark/flow.h"

/* The Flow message (new reference, NULL on ENOMEM). */
json_t *bw_flowjson_flow(const struct bw_flow *f);
/* {"flow": Flow, "node_name": ..., "time": ...} (new reference). */
json_t *bw_flowjson_response(const struct bw_flow *f);
/* The response as compact text, malloc'd in *out. 0 or -ENOMEM. */
int bw_flowjson_text(const struct bw_flow *f, char **out);

/* ---- field masks (lib/flowmask.c) ------------------------------------- */

/*
 * A Hubble field mask (hubble-export-fieldmask): Flow field paths
 * ("time", "source.namespace", "l4", "IP.source") separated by blank space
 * or commas, checked against the fields of Hubble's Flow message. Parse it
 * once; pass it to the writer for every flow.
 */
struct bw_flowmask;

/*
 * Parse text into *out; "" (or only separators) gives *out = NULL, no mask.
 * Returns 0, or -EINVAL / -ENOMEM with a message naming the bad path in err
 * ("'sorce.namespace': Flow has no field 'sorce'").
 */
int bw_flowmask_parse(const char *text, struct bw_flowmask **out, char *err,
		      size_t errlen);
void bw_flowmask_free(struct bw_flowmask *m);

/*
 * Keep only the masked fields of a GetFlowsResponse object's "flow", in
 * their order (node_name and time of the response stay). m NULL: nothing
 * changes. Returns 0 or -ENOMEM.
 */
int bw_flowmask_apply(const struct bw_flowmask *m, json_t *response);

/*
 * bw_flowjson_text() with a field mask applied to the object before it is
 * written (m NULL: every field). 0 or -ENOMEM.
 */
int bw_flowjson_text_masked(const struct bw_flow *f, const struct bw_flowmask *m,
			    char **out);

/*
 * {"lost_events": {"source": SOURCE, "num_events_lost": "N"},
 *  "node_name": ..., "time": ...}; source is a LostEventSource name
 * (PERF_EVENT_RING_BUFFER, OBSERVER_EVENTS_QUEUE, HUBBLE_RING_BUFFER).
 */
json_t *bw_flowjson_lost(const char *source, uint64_t n, const char *node_name,
			 uint64_t time_ns);

/*
 * RFC 3339 UTC time as protojson writes a Timestamp: 0, 3, 6 or 9
 * fractional digits, "Z". buf needs 32 bytes.
 */
void bw_flowjson_time(uint64_t time_ns, char *buf, size_t len);

/* Hubble's Summary string for an L3/L4 flow ("TCP Flags: SYN, ACK", ...). */
void bw_flowjson_summary(const struct bw_flow *f, char *buf, size_t len);

/* Enum names (NULL for an unknown value) and their inverse (-1 unknown;
 * the parse functions are case-insensitive). */
const char *bw_flowjson_verdict_name(unsigned v);
int bw_flowjson_verdict_parse(const char *name);
const char *bw_flowjson_type_name(unsigned t);
const char *bw_flowjson_direction_name(unsigned d);
int bw_flowjson_direction_parse(const char *name);
const char *bw_flowjson_obs_point_name(unsigned p);
const char *bw_flowjson_trace_reason_name(unsigned r);
/* "REQUEST", "RESPONSE", ... for bw_flow_l7.type. */
const char *bw_flowjson_l7_type_name(unsigned t);
/* ICMP type names as gopacket prints them ("EchoRequest"). */
const char *bw_flowjson_icmp4_name(unsigned type);
const char *bw_flowjson_icmp6_name(unsigned type);
/* "none", "L3-Only", ... for policy_match_type (the CLI's spelling). */
const char *bw_flowjson_match_name(unsigned m);

#endif /* BW_CORE_FLOWJSON_H */
