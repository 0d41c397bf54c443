/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/prometheus/prom.h - what the prometheus module's files share:
 * bounded label vectors and the text exposition writer (prom_vec.c), the
 * flow counters (prom_flows.c) and the scrape-time families read from the
 * core (prom_node.c). prometheus.c holds the module glue and the HTTP
 * server.
 */
#ifndef BW_PROM_H
#define BW_PROM_H

#include <stddef.h>
#include <stdint.h>

#include <bulwark/flow.h>
#include <bulwark/module.h>

struct evbuffer;

/* The label value series are folded into once a family is full. */
#define PROM_OTHER "other"
/* the metrics port: connections at once, seconds for a whole request */
#define PROM_MAX_CONNS 64
#define PROM_REQUEST_TIMEOUT 10

/* ---- label vectors (prom_vec.c) ----------------------------------------- */

/*
 * One metric family: a name, help, type ("counter", "gauge") and a fixed
 * list of label names; series are keyed by their label values. A family
 * holds at most max_series series (0: no limit); a new label combination
 * that would go beyond it is counted in a series whose labels in fold_mask
 * (bit i = label i) are PROM_OTHER, which does not count against the limit.
 * So a family has at most max_series + (combinations of the labels outside
 * fold_mask) series.
 */
struct prom_vec;

struct prom_vec *prom_vec_new(const char *name, const char *help,
			      const char *type, const char *const *labels,
			      unsigned nlabels, size_t max_series,
			      unsigned fold_mask);
void prom_vec_free(struct prom_vec *v);
/* Add n to the series of these label values (nlabels strings, NULL = ""). */
void prom_vec_add(struct prom_vec *v, const char *const *values, double n);
/* Write "# HELP", "# TYPE" and every series, sorted by label values. */
void prom_vec_write(const struct prom_vec *v, struct evbuffer *out);
const char *prom_vec_name(const struct prom_vec *v);
size_t prom_vec_series(const struct prom_vec *v);
/* Additions that went to a folded series because the family was full. */
uint64_t prom_vec_folded(const struct prom_vec *v);

/* "# HELP name help\n# TYPE name type\n". */
void prom_family(struct evbuffer *out, const char *name, const char *help,
		 const char *type);
/* One unlabelled sample "name value\n". */
void prom_sample(struct evbuffer *out, const char *name, double value);
/* A value as the text format writes it (integers without a fraction). */
void prom_value(struct evbuffer *out, double value);

/* ---- flow counters (prom_flows.c) ------------------------------------- */

struct prom_flows;

struct prom_flows *prom_flows_new(size_t max_series);
void prom_flows_free(struct prom_flows *f);
/* Count one flow (the flow_subscribe callback). */
void prom_flows_count(const struct bw_flow *flow, void *arg);
/* Write every flow family. */
void prom_flows_write(const struct prom_flows *f, struct evbuffer *out);
/* Visit the bounded families (for bulwark_metrics_series/_folded). */
void prom_flows_foreach_vec(const struct prom_flows *f,
			    void (*cb)(const struct prom_vec *v, void *arg),
			    void *arg);

/* ---- DNS families (prom_dns.c) -------------------------------------------- */

struct prom_dns;

struct prom_dns *prom_dns_new(size_t max_series);
void prom_dns_free(struct prom_dns *d);
/* Count one flow (only L7 flows with a DNS record count). */
void prom_dns_count(struct prom_dns *d, const struct bw_flow *flow);
/* Write hubble_dns_queries_total, _responses_total, _response_types_total. */
void prom_dns_write(const struct prom_dns *d, struct evbuffer *out);
void prom_dns_foreach_vec(const struct prom_dns *d,
			  void (*cb)(const struct prom_vec *v, void *arg), void *arg);

/* ---- HTTP families (prom_http.c) ------------------------------------------ */

struct prom_http;

struct prom_http *prom_http_new(size_t max_series);
void prom_http_free(struct prom_http *h);
/* Count one flow (only L7 HTTP responses count). */
void prom_http_count(struct prom_http *h, const struct bw_flow *flow);
/* Write hubble_http_requests_total and hubble_http_request_duration_seconds. */
void prom_http_write(struct prom_http *h, struct evbuffer *out);
/* The bounded counter family (for bulwark_metrics_series/_folded). */
const struct prom_vec *prom_http_requests(const struct prom_http *h);

/* ---- Kafka families (prom_kafka.c) ----------------------------------------- */

struct prom_kafka;

struct prom_kafka *prom_kafka_new(size_t max_series);
void prom_kafka_free(struct prom_kafka *k);
/* Count one flow (only L7 Kafka requests count, as in Hubble). */
void prom_kafka_count(struct prom_kafka *k, const struct bw_flow *flow);
/* Write hubble_kafka_requests_total and hubble_kafka_request_duration_seconds. */
void prom_kafka_write(struct prom_kafka *k, struct evbuffer *out);
/* The bounded counter family (for bulwark_metrics_series/_folded). */
const struct prom_vec *prom_kafka_requests(const struct prom_kafka *k);

/* ---- node families read at scrape time (prom_node.c) ----------------------- */

/*
 * Write the families read from the core on each scrape: lost events, flow
 * pipeline, endpoints and their enforcement, policies, regeneration time,
 * BPF map pressure and the datapath's forward/drop counters. Members the
 * daemon's API table lacks are left out. Returns the number of series of
 * the bounded bulwark_policy_endpoint_enforcement_status family.
 */
size_t prom_node_write(const struct bw_core_api *api, size_t max_series,
		     struct evbuffer *out);

/* ---- names shared by the families (prom_flows.c) --------------------------- */

const char *prom_verdict_name(int verdict);
const char *prom_flow_protocol(const struct bw_flow *flow);

#endif /* BW_PROM_H */
