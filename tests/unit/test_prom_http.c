/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_prom_http.c - the prometheus module's L7 families
 * (modules/prometheus/prom_http.c, prom_flows.c): Hubble's httpV2 metrics
 * from HTTP response flows (requests_total with method, protocol, status,
 * reporter; the duration histogram with Prometheus' default buckets),
 * hubble_policy_verdicts_total{match="l7/http"} for every L7 flow,
 * hubble_flows_processed_total's L7 protocol and subtype, and Hubble's
 * Kafka metrics (prom_kafka.c) from Kafka request flows.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "prom.h"

static char *
render(struct prom_flows *f)
{
	struct evbuffer *b = evbuffer_new();
	size_t n;
	char *s;

	prom_flows_write(f, b);
	n = evbuffer_get_length(b);
	s = malloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

static void
http_flow(struct prom_flows *f, enum bw_flow_l7_type type, int dir, int verdict,
	  const char *method, unsigned code, uint64_t latency_ns)
{
	struct bw_flow_http h = { .code = code, .method = method, .url = "http://h/",
				  .protocol = "HTTP/1.1" };
	struct bw_flow_l7 l7 = { .size = sizeof(l7), .type = type,
				 .latency_ns = latency_ns, .http = &h };
	struct bw_flow flow = { .size = sizeof(flow), .type = BW_FLOW_TYPE_L7,
				.event_type = BW_FLOW_EVENT_L7, .verdict = verdict,
				.traffic_direction = dir, .protocol = 6, .ip_version = 4,
				.l7 = &l7 };

	prom_flows_count(&flow, f);
}

START_TEST(responses_count_with_hubble_labels)
{
	struct prom_flows *f = prom_flows_new(100);
	char *s;

	/* a request (not counted in httpV2), two responses */
	http_flow(f, BW_FLOW_L7_REQUEST, BW_FLOW_TRAFFIC_INGRESS, BW_FLOW_VERDICT_FORWARDED, "GET", 0, 0);
	http_flow(f, BW_FLOW_L7_RESPONSE, BW_FLOW_TRAFFIC_INGRESS, BW_FLOW_VERDICT_FORWARDED, "GET", 200, 3000000);
	http_flow(f, BW_FLOW_L7_RESPONSE, BW_FLOW_TRAFFIC_EGRESS, BW_FLOW_VERDICT_FORWARDED, "POST", 503, 700000000);
	s = render(f);
	ck_assert_ptr_nonnull(strstr(s, "# TYPE hubble_http_requests_total counter\n"));
	ck_assert_msg(strstr(s, "hubble_http_requests_total{method=\"GET\",protocol=\"HTTP/1.1\",status=\"200\",reporter=\"server\"} 1\n") != NULL, "%s", s);
	ck_assert_ptr_nonnull(strstr(s, "hubble_http_requests_total{method=\"POST\",protocol=\"HTTP/1.1\",status=\"503\",reporter=\"client\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "# TYPE hubble_http_request_duration_seconds histogram\n"));
	/* 3 ms: in the 0.005 bucket and every one above */
	ck_assert_msg(strstr(s, "hubble_http_request_duration_seconds_bucket{method=\"GET\",reporter=\"server\",le=\"0.005\"} 1\n") != NULL, "%s", s);
	ck_assert_ptr_nonnull(strstr(s, "hubble_http_request_duration_seconds_bucket{method=\"GET\",reporter=\"server\",le=\"+Inf\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "hubble_http_request_duration_seconds_count{method=\"GET\",reporter=\"server\"} 1\n"));
	/* 0.7 s: not under 0.5, under 1 */
	ck_assert_ptr_nonnull(strstr(s, "hubble_http_request_duration_seconds_bucket{method=\"POST\",reporter=\"client\",le=\"0.5\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(s, "hubble_http_request_duration_seconds_bucket{method=\"POST\",reporter=\"client\",le=\"1\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "hubble_http_request_duration_seconds_sum{method=\"POST\",reporter=\"client\"} 0.7\n"));
	free(s);
	prom_flows_free(f);
}
END_TEST

START_TEST(l7_flows_in_policy_and_processed)
{
	struct prom_flows *f = prom_flows_new(100);
	char *s;

	http_flow(f, BW_FLOW_L7_REQUEST, BW_FLOW_TRAFFIC_INGRESS, BW_FLOW_VERDICT_DROPPED, "PUT", 0, 0);
	http_flow(f, BW_FLOW_L7_REQUEST, BW_FLOW_TRAFFIC_INGRESS, BW_FLOW_VERDICT_FORWARDED, "GET", 0, 0);
	s = render(f);
	ck_assert_msg(strstr(s, "hubble_policy_verdicts_total{direction=\"ingress\",match=\"l7/http\",action=\"dropped\"} 1\n") != NULL, "%s", s);
	ck_assert_ptr_nonnull(strstr(s, "hubble_policy_verdicts_total{direction=\"ingress\",match=\"l7/http\",action=\"forwarded\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "hubble_flows_processed_total{protocol=\"HTTP\",type=\"L7\",subtype=\"HTTP\",verdict=\"DROPPED\"} 1\n"));
	free(s);
	prom_flows_free(f);
}
END_TEST

START_TEST(methods_are_bounded)
{
	struct prom_flows *f = prom_flows_new(4);
	char m[16], *s;

	for (int i = 0; i < 50; i++) {
		snprintf(m, sizeof(m), "M%d", i);
		http_flow(f, BW_FLOW_L7_RESPONSE, BW_FLOW_TRAFFIC_INGRESS,
			  BW_FLOW_VERDICT_FORWARDED, m, 200, 1000);
	}
	s = render(f);
	ck_assert_ptr_nonnull(strstr(s, "hubble_http_request_duration_seconds_count{method=\"other\",reporter=\"server\"} 46\n"));
	ck_assert_ptr_null(strstr(s, "method=\"M10\""));
	free(s);
	prom_flows_free(f);
}
END_TEST

static void
kafka_flow(struct prom_flows *f, enum bw_flow_l7_type type, int dir, const char *key,
	   const char *topic, int err)
{
	struct bw_flow_kafka k = { .error_code = err, .api_version = 7, .api_key = key,
				   .correlation_id = 1, .topic = topic };
	struct bw_flow_l7 l7 = { .size = sizeof(l7), .type = type, .kafka = &k };
	struct bw_flow flow = { .size = sizeof(flow), .type = BW_FLOW_TYPE_L7,
				.event_type = BW_FLOW_EVENT_L7, .verdict = BW_FLOW_VERDICT_FORWARDED,
				.traffic_direction = dir, .protocol = 6, .ip_version = 4,
				.l7 = &l7 };

	prom_flows_count(&flow, f);
}

START_TEST(kafka_requests_count_as_hubble_does)
{
	struct prom_flows *f = prom_flows_new(2);
	char *s;

	kafka_flow(f, BW_FLOW_L7_REQUEST, BW_FLOW_TRAFFIC_INGRESS, "produce", "orders", 0);
	kafka_flow(f, BW_FLOW_L7_REQUEST, BW_FLOW_TRAFFIC_INGRESS, "produce", "orders", 0);
	kafka_flow(f, BW_FLOW_L7_REQUEST, BW_FLOW_TRAFFIC_EGRESS, "fetch", "audit", 0);
	/* responses are not counted (Hubble's kafka plugin counts requests) */
	kafka_flow(f, BW_FLOW_L7_RESPONSE, BW_FLOW_TRAFFIC_INGRESS, "produce", "orders", 3);
	/* a third topic: the family is full (max_series 2), it folds */
	kafka_flow(f, BW_FLOW_L7_REQUEST, BW_FLOW_TRAFFIC_INGRESS, "produce", "t3", 0);
	s = render(f);
	ck_assert_msg(strstr(s, "# TYPE hubble_kafka_requests_total counter\n") != NULL, "%s", s);
	ck_assert_msg(strstr(s, "hubble_kafka_requests_total{topic=\"orders\",api_key=\"produce\","
			     "error_code=\"0\",reporter=\"server\"} 2\n") != NULL, "%s", s);
	ck_assert_msg(strstr(s, "hubble_kafka_requests_total{topic=\"audit\",api_key=\"fetch\","
			     "error_code=\"0\",reporter=\"client\"} 1\n") != NULL, "%s", s);
	ck_assert_msg(strstr(s, "topic=\"other\"") != NULL, "%s", s);
	ck_assert_msg(strstr(s, "error_code=\"3\"") == NULL, "%s", s);
	ck_assert_msg(strstr(s, "hubble_kafka_request_duration_seconds_bucket{topic=\"orders\","
			     "api_key=\"produce\",reporter=\"server\",le=\"0.005\"} 2\n") != NULL, "%s", s);
	ck_assert_msg(strstr(s, "hubble_kafka_request_duration_seconds_count{topic=\"orders\","
			     "api_key=\"produce\",reporter=\"server\"} 2\n") != NULL, "%s", s);
	ck_assert_msg(strstr(s, "hubble_policy_verdicts_total{direction=\"ingress\",match=\"l7/kafka\","
			     "action=\"forwarded\"}") != NULL, "%s", s);
	free(s);
	prom_flows_free(f);
}
END_TEST

static Suite *
prom_http_suite(void)
{
	Suite *s = suite_create("prom_http");
	TCase *tc = tcase_create("http");

	tcase_add_test(tc, responses_count_with_hubble_labels);
	tcase_add_test(tc, l7_flows_in_policy_and_processed);
	tcase_add_test(tc, methods_are_bounded);
	tcase_add_test(tc, kafka_requests_count_as_hubble_does);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(prom_http_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
