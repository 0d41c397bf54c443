/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/prometheus/prom_kafka.c - Hubble's Kafka metrics (the kafka
 * plugin, pkg/hubble/metrics/kafka): from every L7 REQUEST flow with a
 * Kafka record,
 *   hubble_kafka_requests_total{topic, api_key, error_code, reporter}
 *   hubble_kafka_request_duration_seconds{topic, api_key, reporter}
 *     (histogram, Prometheus' default buckets)
 * As in Hubble, requests are counted (not responses), so error_code and
 * the duration are those of the request record: 0. reporter is "client"
 * when the flow's direction is egress, "server" on ingress, else
 * "unknown". Topics come from clients: both families are bounded by
 * [prometheus] max_series, and a full family counts new topics as "other".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "prom.h"

static const double kafka_buckets[] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};
#define KAFKA_NB (sizeof(kafka_buckets) / sizeof(kafka_buckets[0]))

struct kafka_hist_series {
	char *topic, *api_key;
	const char *reporter;
	uint64_t bucket[KAFKA_NB];
	uint64_t count;
	double sum;
};

struct prom_kafka {
	struct prom_vec *requests;
	struct kafka_hist_series *hist;
	size_t n_hist, cap_hist, max_series;
};

static const char *const kafka_req_labels[] = { "topic", "api_key", "error_code", "reporter" };

struct prom_kafka *
prom_kafka_new(size_t max_series)
{
	struct prom_kafka *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	k->max_series = max_series;
	/* topics come from clients: fold them (label bit 0) into "other" */
	k->requests = prom_vec_new("hubble_kafka_requests_total", "Count of Kafka requests",
				   "counter", kafka_req_labels, 4, max_series, 0x1);
	if (k->requests == NULL) {
		free(k);
		return NULL;
	}
	return k;
}

void
prom_kafka_free(struct prom_kafka *k)
{
	if (k == NULL)
		return;
	prom_vec_free(k->requests);
	for (size_t i = 0; i < k->n_hist; i++) {
		free(k->hist[i].topic);
		free(k->hist[i].api_key);
	}
	free(k->hist);
	free(k);
}

const struct prom_vec *
prom_kafka_requests(const struct prom_kafka *k)
{
	return k->requests;
}

static struct kafka_hist_series *
kafka_hist_get(struct prom_kafka *k, const char *topic, const char *api_key,
	       const char *reporter)
{
	struct kafka_hist_series *s;

	for (size_t i = 0; i < k->n_hist; i++)
		if (k->hist[i].reporter == reporter && strcmp(k->hist[i].topic, topic) == 0 &&
		    strcmp(k->hist[i].api_key, api_key) == 0)
			return &k->hist[i];
	if (k->max_series > 0 && k->n_hist >= k->max_series && strcmp(topic, PROM_OTHER) != 0)
		return kafka_hist_get(k, PROM_OTHER, api_key, reporter);
	if (k->n_hist == k->cap_hist) {
		size_t cap = k->cap_hist ? k->cap_hist * 2 : 8;
		struct kafka_hist_series *n = realloc(k->hist, cap * sizeof(*n));

		if (n == NULL)
			return NULL;
		k->hist = n;
		k->cap_hist = cap;
	}
	s = &k->hist[k->n_hist];
	memset(s, 0, sizeof(*s));
	s->topic = strdup(topic);
	s->api_key = strdup(api_key);
	if (s->topic == NULL || s->api_key == NULL) {
		free(s->topic);
		free(s->api_key);
		return NULL;
	}
	s->reporter = reporter;
	k->n_hist++;
	return s;
}

void
prom_kafka_count(struct prom_kafka *k, const struct bw_flow *flow)
{
	const struct bw_flow_l7 *l7;
	const struct bw_flow_kafka *kf;
	struct kafka_hist_series *s;
	const char *reporter, *v[4];
	char err[16];
	double secs;

	if (!BW_FLOW_HAS(flow, l7) || (l7 = flow->l7) == NULL ||
	    l7->size < offsetof(struct bw_flow_l7, proto) || (kf = l7->kafka) == NULL ||
	    l7->type != BW_FLOW_L7_REQUEST)
		return;
	reporter = flow->traffic_direction == BW_FLOW_TRAFFIC_EGRESS ? "client"
		   : flow->traffic_direction == BW_FLOW_TRAFFIC_INGRESS ? "server"
		   : "unknown";
	snprintf(err, sizeof(err), "%d", kf->error_code);
	v[0] = kf->topic != NULL ? kf->topic : "";
	v[1] = kf->api_key != NULL ? kf->api_key : "";
	v[2] = err;
	v[3] = reporter;
	prom_vec_add(k->requests, v, 1);
	if ((s = kafka_hist_get(k, v[0], v[1], reporter)) == NULL)
		return;
	secs = (double)l7->latency_ns / 1e9;
	for (size_t i = 0; i < KAFKA_NB; i++)
		if (secs <= kafka_buckets[i])
			s->bucket[i]++;
	s->count++;
	s->sum += secs;
}

static int
kafka_hist_cmp(const void *a, const void *b)
{
	const struct kafka_hist_series *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);

	if (c == 0)
		c = strcmp(x->api_key, y->api_key);
	return c != 0 ? c : strcmp(x->reporter, y->reporter);
}

/* A label value with \, " and newline escaped. */
static void
kafka_label(struct evbuffer *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			evbuffer_add_printf(out, "\\%c", *s);
		else if (*s == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, s, 1);
	}
}

static void
kafka_series_labels(struct evbuffer *out, const char *name, const char *suffix,
		    const struct kafka_hist_series *s)
{
	evbuffer_add_printf(out, "%s%s{topic=\"", name, suffix);
	kafka_label(out, s->topic);
	evbuffer_add_printf(out, "\",api_key=\"");
	kafka_label(out, s->api_key);
	evbuffer_add_printf(out, "\",reporter=\"%s\"", s->reporter);
}

void
prom_kafka_write(struct prom_kafka *k, struct evbuffer *out)
{
	static const char *const name = "hubble_kafka_request_duration_seconds";

	prom_vec_write(k->requests, out);
	prom_family(out, name, "Quantiles of Kafka request duration in seconds", "histogram");
	if (k->n_hist > 1) /* qsort takes no NULL array, even empty */
		qsort(k->hist, k->n_hist, sizeof(*k->hist), kafka_hist_cmp);
	for (size_t i = 0; i < k->n_hist; i++) {
		const struct kafka_hist_series *s = &k->hist[i];

		for (size_t b = 0; b <= KAFKA_NB; b++) {
			kafka_series_labels(out, name, "_bucket", s);
			evbuffer_add_printf(out, ",le=\"");
			if (b < KAFKA_NB)
				prom_value(out, kafka_buckets[b]);
			else
				evbuffer_add_printf(out, "+Inf");
			evbuffer_add_printf(out, "\"} ");
			prom_value(out, (double)(b < KAFKA_NB ? s->bucket[b] : s->count));
			evbuffer_add(out, "\n", 1);
		}
		kafka_series_labels(out, name, "_sum", s);
		evbuffer_add(out, "} ", 2);
		prom_value(out, s->sum);
		evbuffer_add(out, "\n", 1);
		kafka_series_labels(out, name, "_count", s);
		evbuffer_add(out, "} ", 2);
		prom_value(out, (double)s->count);
		evbuffer_add(out, "\n", 1);
	}
}
