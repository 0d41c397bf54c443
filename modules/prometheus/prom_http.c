/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/prometheus/prom_http.c - Hubble's HTTP metrics (the httpV2
 * plugin, pkg/hubble/metrics/http): from every L7 RESPONSE flow with an
 * HTTP record,
 *   hubble_http_requests_total{method, protocol, status, reporter}
 *   hubble_http_request_duration_seconds{method, reporter} (histogram,
 *     Prometheus' default buckets, which Hubble uses)
 * reporter is "client" when the flow's traffic direction is egress (the
 * local endpoint made the request), "server" on ingress, else "unknown".
 * Both families are bounded by [prometheus] max_series: method values come
 * from clients, so a family that is full counts new methods as "other".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "prom.h"

static const double http_buckets[] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};
#define HTTP_NB (sizeof(http_buckets) / sizeof(http_buckets[0]))

struct http_hist_series {
	char *method;
	const char *reporter;
	uint64_t bucket[HTTP_NB];
	uint64_t count;
	double sum;
};

struct prom_http {
	struct prom_vec *requests;
	struct http_hist_series *hist;
	size_t n_hist, cap_hist, max_series;
	uint64_t folded;
};

static const char *const http_req_labels[] = { "method", "protocol", "status", "reporter" };

struct prom_http *
prom_http_new(size_t max_series)
{
	struct prom_http *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->max_series = max_series;
	h->requests = prom_vec_new("hubble_http_requests_total", "Count of HTTP requests",
				   "counter", http_req_labels, 4, max_series, 0x7);
	if (h->requests == NULL) {
		free(h);
		return NULL;
	}
	return h;
}

void
prom_http_free(struct prom_http *h)
{
	if (h == NULL)
		return;
	prom_vec_free(h->requests);
	for (size_t i = 0; i < h->n_hist; i++)
		free(h->hist[i].method);
	free(h->hist);
	free(h);
}

const struct prom_vec *
prom_http_requests(const struct prom_http *h)
{
	return h->requests;
}

static struct http_hist_series *
http_hist_get(struct prom_http *h, const char *method, const char *reporter)
{
	struct http_hist_series *s;

	for (size_t i = 0; i < h->n_hist; i++)
		if (h->hist[i].reporter == reporter && strcmp(h->hist[i].method, method) == 0)
			return &h->hist[i];
	if (h->max_series > 0 && h->n_hist >= h->max_series && strcmp(method, PROM_OTHER) != 0) {
		h->folded++;
		return http_hist_get(h, PROM_OTHER, reporter);
	}
	if (h->n_hist == h->cap_hist) {
		size_t cap = h->cap_hist ? h->cap_hist * 2 : 8;
		struct http_hist_series *n = realloc(h->hist, cap * sizeof(*n));

		if (n == NULL)
			return NULL;
		h->hist = n;
		h->cap_hist = cap;
	}
	s = &h->hist[h->n_hist];
	memset(s, 0, sizeof(*s));
	if ((s->method = strdup(method)) == NULL)
		return NULL;
	s->reporter = reporter;
	h->n_hist++;
	return s;
}

void
prom_http_count(struct prom_http *h, const struct bw_flow *flow)
{
	const struct bw_flow_l7 *l7;
	const struct bw_flow_http *http;
	struct http_hist_series *s;
	const char *reporter, *v[4];
	char status[16];
	double secs;

	if (!BW_FLOW_HAS(flow, l7) || (l7 = flow->l7) == NULL ||
	    l7->size < offsetof(struct bw_flow_l7, proto) || (http = l7->http) == NULL ||
	    l7->type != BW_FLOW_L7_RESPONSE)
		return;
	reporter = flow->traffic_direction == BW_FLOW_TRAFFIC_EGRESS ? "client"
		   : flow->traffic_direction == BW_FLOW_TRAFFIC_INGRESS ? "server"
		   : "unknown";
	snprintf(status, sizeof(status), "%u", http->code);
	v[0] = http->method != NULL ? http->method : "";
	v[1] = http->protocol != NULL ? http->protocol : "";
	v[2] = status;
	v[3] = reporter;
	prom_vec_add(h->requests, v, 1);
	if ((s = http_hist_get(h, v[0], reporter)) == NULL)
		return;
	secs = (double)l7->latency_ns / 1e9;
	for (size_t i = 0; i < HTTP_NB; i++)
		if (secs <= http_buckets[i])
			s->bucket[i]++;
	s->count++;
	s->sum += secs;
}

static int
http_hist_cmp(const void *a, const void *b)
{
	const struct http_hist_series *x = a, *y = b;
	int c = strcmp(x->method, y->method);

	return c != 0 ? c : strcmp(x->reporter, y->reporter);
}

/* A label value with \, " and newline escaped. */
static void
http_label(struct evbuffer *out, const char *s)
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

void
prom_http_write(struct prom_http *h, struct evbuffer *out)
{
	static const char *const name = "hubble_http_request_duration_seconds";

	prom_vec_write(h->requests, out);
	prom_family(out, name, "Quantiles of HTTP request duration in seconds", "histogram");
	if (h->n_hist > 1) /* qsort takes no NULL array, even empty */
		qsort(h->hist, h->n_hist, sizeof(*h->hist), http_hist_cmp);
	for (size_t i = 0; i < h->n_hist; i++) {
		const struct http_hist_series *s = &h->hist[i];

		for (size_t b = 0; b <= HTTP_NB; b++) {
			evbuffer_add_printf(out, "%s_bucket{method=\"", name);
			http_label(out, s->method);
			evbuffer_add_printf(out, "\",reporter=\"%s\",le=\"", s->reporter);
			if (b < HTTP_NB)
				prom_value(out, http_buckets[b]);
			else
				evbuffer_add_printf(out, "+Inf");
			evbuffer_add_printf(out, "\"} ");
			prom_value(out, (double)(b < HTTP_NB ? s->bucket[b] : s->count));
			evbuffer_add(out, "\n", 1);
		}
		evbuffer_add_printf(out, "%s_sum{method=\"", name);
		http_label(out, s->method);
		evbuffer_add_printf(out, "\",reporter=\"%s\"} ", s->reporter);
		prom_value(out, s->sum);
		evbuffer_add_printf(out, "\n%s_count{method=\"", name);
		http_label(out, s->method);
		evbuffer_add_printf(out, "\",reporter=\"%s\"} ", s->reporter);
		prom_value(out, (double)s->count);
		evbuffer_add(out, "\n", 1);
	}
}
