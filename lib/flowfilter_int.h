/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/flowfilter_int.h - what lib/flowfilter.c (parsing and matching) and
 * cli/flowfilter_flags.c (the observe flag builder) share; nothing else
 * includes it.
 */
#ifndef BW_CORE_FLOWFILTER_INT_H
#define BW_CORE_FLOWFILTER_INT_H

#include <stddef.h>
#include <stdint.h>

#define FF_N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- model --------------------------------------------------------------- */

struct ff_pod {
	char *ns;     /* NULL: any namespace */
	char *prefix; /* pod name prefix, "" = every pod */
};

enum ff_op { FF_EXISTS, FF_NOT_EXISTS, FF_EQ, FF_NEQ, FF_IN, FF_NOTIN };

struct ff_req {
	char *source; /* NULL: any source */
	char *key;
	enum ff_op op;
	char **values;
	size_t n_values;
};

struct ff_selector {
	struct ff_req *reqs;
	size_t n_reqs;
};

struct ff_workload {
	char *name; /* NULL: any name */
	char *kind; /* NULL: any kind */
};

struct ff_event_type {
	uint32_t type;
	uint32_t sub_type;
	int match_sub_type;
};

/* ---- names ---------------------------------------------------------------- */

struct ff_name_value {
	const char *name;
	uint32_t value;
};

extern const char *const ff_verdicts[];        /* Hubble Verdict names by number */
extern const size_t ff_n_verdicts;
extern const struct ff_name_value ff_tcp_flag_names[]; /* "SYN" -> bit */
extern const size_t ff_n_tcp_flag_names;
extern const struct ff_name_value ff_event_types[];    /* "drop" -> 1, ... */
extern const size_t ff_n_event_types;
extern const char *const ff_trace_points[];    /* observation points by number */
extern const size_t ff_n_trace_points;

/* ---- helpers (lib/flowfilter.c) -------------------------------------------- */

int ff_verdict_parse(const char *s);         /* -1 when unknown */
int ff_direction_parse(const char *s);       /* -1 when unknown */
/* L7 protocols of --protocol (Hubble's FlowProtocol names) */
#define FF_PROTO_DNS (-4)
#define FF_PROTO_HTTP (-5)
#define FF_PROTO_KAFKA (-6)
int ff_protocol_parse(const char *s);        /* IPPROTO_*, -1 any ICMP, FF_PROTO_*, -3 unknown */
int ff_tcp_flag_parse(const char *s, size_t len); /* bit, -1 when unknown */
int ff_parse_u32(const char *s, uint32_t max, uint32_t *out);
int ff_parse_workload_text(const char *s, struct ff_workload *w);
/* Grow *arr (of element size sz) by one zeroed element; NULL on ENOMEM. */
void *ff_push(void *arrp, size_t *n, size_t sz);

/* ---- label selectors (lib/flowfilter_label.c) ------------------------------- */

int ff_selector_parse(const char *s, struct ff_selector *sel);
void ff_selector_free(struct ff_selector *sel);
struct bw_flow_endpoint;
/* 1 when the endpoint's labels satisfy every requirement of sel. */
int ff_selector_match(const struct ff_selector *sel,
		      const struct bw_flow_endpoint *ep);

#endif /* BW_CORE_FLOWFILTER_INT_H */
