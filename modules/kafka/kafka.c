/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/kafka/kafka.c - Kafka for the L7 proxy engine: CiliumNetworkPolicy
 * `rules.kafka` enforced on every request, for every protocol version
 * Kafka 3.x and 4.x brokers accept (flexible versions and topic IDs
 * included), and Hubble's l7.kafka flows.
 *
 * This file is the module: its [kafka] keys, the parser it registers with
 * the engine (kafka_conn.c does the connections), the node-wide topic ID
 * map, and its metrics. kafka_proto.h has the wire format, kafka_rules.h
 * the rules.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bulwark/l7.h>
#include <bulwark/module.h>

#include "kafka.h"
#include "kafka_proto.h"
#include "kafka_rules.h"
#include "kafka_topics.h"

const struct bw_core_api *kafka_api;
void kafka_conn_fini(void);

static const char *const kafka_id_scopes[] = { "node", "connection", NULL };

static const struct bw_conf_key kafka_keys[] = {
	{ "topic_ids", BW_CONF_ENUM, "node", offsetof(struct kafka_conf, topic_ids),
	  0, 0, kafka_id_scopes, 0,
	  "where topic ID -> name is learnt from brokers' answers: node (shared, per broker "
	  "identity) or connection" },
	{ "topic_ids_max", BW_CONF_INT, "100000", offsetof(struct kafka_conf, topic_ids_max),
	  16, 10000000, NULL, BW_CONF_F_RELOADABLE,
	  "topic IDs remembered (the least recently used go first)" },
	{ "max_request", BW_CONF_SIZE, "8M", offsetof(struct kafka_conf, max_request),
	  16384, 1073741824, NULL, BW_CONF_F_RELOADABLE,
	  "largest request held whole to decide on (larger ones whose first bytes do not "
	  "settle it close the connection)" },
	{ "max_metadata", BW_CONF_SIZE, "4M", offsetof(struct kafka_conf, max_metadata),
	  16384, 1073741824, NULL, BW_CONF_F_RELOADABLE,
	  "largest Metadata answer read whole to learn topic IDs" },
	{ "response_scan", BW_CONF_SIZE, "16k", offsetof(struct kafka_conf, response_scan),
	  64, 16777216, NULL, BW_CONF_F_RELOADABLE,
	  "first bytes of a large response read for the error codes flows show" },
	{ "cap_versions", BW_CONF_BOOL, "true", offsetof(struct kafka_conf, cap_versions),
	  0, 0, NULL, BW_CONF_F_RELOADABLE,
	  "lower brokers' ApiVersions answers to the versions this module reads" },
	{ "max_pipeline", BW_CONF_INT, "1024", offsetof(struct kafka_conf, max_pipeline),
	  1, 1000000, NULL, BW_CONF_F_RELOADABLE,
	  "requests of one connection awaiting answers before the proxy reads more" },
	BW_CONF_KEY_END,
};

/* ---- rules ------------------------------------------------------------------------ */

static int
kafka_compile(void *ud, const char *json, size_t len, void **rules, char *err,
	      size_t errlen)
{
	struct kafka_rules *rs;
	int rc = kafka_rules_compile(json, len, &rs, err, errlen);

	(void)ud;
	if (rc == 0)
		*rules = rs;
	return rc;
}

static void
kafka_rules_release(void *ud, void *rules)
{
	(void)ud;
	kafka_rules_free(rules);
}

/* ---- metrics ------------------------------------------------------------------------ */

static void
kafka_collect(bw_metrics_out *out, void *ud)
{
	struct kafka_mod *m = ud;
	static const char *const verdicts[KAFKA_V_N] = { "forwarded", "dropped", "error" };
	char buf[8];

	kafka_api->metrics_printf(out,
		"# HELP bulwark_kafka_requests_total Kafka requests the proxy decided on, by API key and verdict.\n"
		"# TYPE bulwark_kafka_requests_total counter\n");
	for (int k = 0; k <= KAFKA_MAX_KEY; k++)
		for (int v = 0; v < KAFKA_V_N; v++)
			if (m->requests[k][v] > 0)
				kafka_api->metrics_printf(out,
					"bulwark_kafka_requests_total{api_key=\"%s\",verdict=\"%s\"} %llu\n",
					kafka_api_flow_name((int16_t)k, buf, sizeof(buf)), verdicts[v],
					(unsigned long long)m->requests[k][v]);
	kafka_api->metrics_printf(out,
		"# HELP bulwark_kafka_responses_total Kafka responses that went back to clients.\n"
		"# TYPE bulwark_kafka_responses_total counter\n"
		"bulwark_kafka_responses_total %llu\n"
		"# HELP bulwark_kafka_refusals_total Refused requests answered with an authorization error.\n"
		"# TYPE bulwark_kafka_refusals_total counter\n"
		"bulwark_kafka_refusals_total %llu\n"
		"# HELP bulwark_kafka_closes_total Refused requests that closed the connection (acks=0, no answer possible).\n"
		"# TYPE bulwark_kafka_closes_total counter\n"
		"bulwark_kafka_closes_total %llu\n"
		"# HELP bulwark_kafka_unknown_topic_ids_total Topic IDs in requests that no broker answer had named.\n"
		"# TYPE bulwark_kafka_unknown_topic_ids_total counter\n"
		"bulwark_kafka_unknown_topic_ids_total %llu\n"
		"# HELP bulwark_kafka_topic_ids Topic IDs whose names the node-wide map holds.\n"
		"# TYPE bulwark_kafka_topic_ids gauge\n"
		"bulwark_kafka_topic_ids %zu\n",
		(unsigned long long)m->responses, (unsigned long long)m->refusals,
		(unsigned long long)m->closes, (unsigned long long)m->unknown_ids,
		kafka_topics_size(m->ids));
}

/* ---- module ------------------------------------------------------------------------- */

static void
kafka_mod_free(void *ud)
{
	struct kafka_mod *m = ud;

	kafka_msg_free(&m->req);
	kafka_msg_free(&m->rsp);
	kafka_topics_free(m->ids);
	kafka_clusters_free(m->clusters);
	free(m->scratch);
	free(m);
	kafka_conn_fini();
	kafka_schema_fini();
}

static int
kafka_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf)
{
	struct bw_l7_parser p = {
		.size = sizeof(p),
		.name = "kafka",
		.description = "Kafka: CiliumNetworkPolicy rules.kafka, Hubble l7.kafka flows",
		.rules_compile = kafka_compile,
		.rules_free = kafka_rules_release,
		.conn_open = kafka_conn_open,
		.data = kafka_conn_data,
		.abort = kafka_conn_abort,
		.conn_close = kafka_conn_close,
		.free_user_data = kafka_mod_free,
	};
	const struct kafka_conf *c = conf;
	struct kafka_mod *m;
	char err[256];
	int rc;

	if (!BW_API_HAS(api, l7_resume)) {
		api->log(ctx, BW_LOG_ERR, "this daemon has no L7 proxy engine (ABI < 1.2)");
		return -ENOTSUP;
	}
	if ((rc = kafka_schema_init(err, sizeof(err))) < 0) {
		api->log(ctx, BW_LOG_ERR, "%s", err);
		return rc;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -ENOMEM;
	kafka_api = api;
	m->api = api;
	m->ctx = ctx;
	m->conf = c;
	if ((m->ids = kafka_topics_new((size_t)c->topic_ids_max)) == NULL ||
	    (m->clusters = kafka_clusters_new()) == NULL) {
		kafka_topics_free(m->ids);
		free(m);
		return -ENOMEM;
	}
	p.user_data = m;
	/* the parser owns m once registered (its free_user_data frees it
	 * when the instance is dropped); before that, a failure frees it here */
	if ((rc = api->l7_parser_register(ctx, &p)) < 0) {
		kafka_topics_free(m->ids);
		kafka_clusters_free(m->clusters);
		free(m);
		return rc;
	}
	api->set_data(ctx, m);
	return api->metrics_register(ctx, kafka_collect, m, NULL);
}

static int
kafka_reload(bw_module_ctx *ctx, const void *new_conf)
{
	struct kafka_mod *m = kafka_api->get_data(ctx);
	const struct kafka_conf *c = new_conf;

	if (m == NULL)
		return 0;
	m->conf = c;
	kafka_topics_set_max(m->ids, (size_t)c->topic_ids_max);
	return 0;
}

BW_MODULE_DEFINE(
	.name = "kafka",
	.version = "1.0",
	.description = "Kafka L7 policy (rules.kafka) and flows for the proxy engine",
	.conf_keys = kafka_keys,
	.conf_size = sizeof(struct kafka_conf),
	.init = kafka_init,
	.reload = kafka_reload,
);
