/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/kafka/kafka.h - what the files of the kafka module share: its
 * config, the instance state, and the parser callbacks kafka_conn.c gives
 * kafka.c.
 */
#ifndef BW_KAFKA_H
#define BW_KAFKA_H

#include <stdint.h>

#include <bulwark/l7.h>
#include <bulwark/module.h>

#include "kafka_proto.h"
#include "kafka_topics.h"

/* [kafka] keys (modules/kafka/README.md) */
enum { KAFKA_IDS_NODE = 0, KAFKA_IDS_CONNECTION = 1 };

struct kafka_conf {
	int topic_ids;            /* KAFKA_IDS_*: where ID -> name is learnt */
	int64_t topic_ids_max;    /* entries of each ID map */
	int64_t max_request;      /* largest request held whole to decide */
	int64_t max_metadata;     /* largest answer read whole to learn IDs */
	int64_t response_scan;    /* bytes of a large response read for flows */
	int cap_versions;         /* lower ApiVersions answers to what we read */
	int64_t max_pipeline;     /* requests awaiting answers per connection */
};

/* Verdict columns of the request counters. */
enum { KAFKA_V_FORWARDED, KAFKA_V_DROPPED, KAFKA_V_ERROR, KAFKA_V_N };

/* One instance. The loop is single threaded: one decoded request, one
 * decoded response and one scratch area serve every connection. */
struct kafka_mod {
	const struct bw_core_api *api;
	bw_module_ctx *ctx;
	const struct kafka_conf *conf;
	struct kafka_msg req, rsp;
	struct kafka_topics *ids;  /* node-wide ID map */
	struct kafka_clusters *clusters; /* brokers of each scope's Metadata */
	char *scratch;
	size_t scratch_len, scratch_cap;
	uint64_t requests[KAFKA_MAX_KEY + 1][KAFKA_V_N];
	uint64_t responses;
	uint64_t unknown_ids;      /* requests naming an ID no answer taught */
	uint64_t ids_learnt;
	uint64_t refusals;         /* answers written for refused requests */
	uint64_t closes;           /* connections closed (acks=0, unanswerable) */
};

/* kafka_conn.c: the parser's connection callbacks. */
int kafka_conn_open(void *ud, bw_l7_conn *conn, const struct bw_l7_conn_info *info,
		    void **state);
int kafka_conn_data(void *state, const struct bw_l7_input *in, size_t *n);
void kafka_conn_abort(void *state, enum bw_l7_abort why, enum bw_l7_dir dir);
void kafka_conn_close(void *state);
/* The core API table (set once by init). */
extern const struct bw_core_api *kafka_api;

#endif /* BW_KAFKA_H */
