/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_flowfilter.c - Hubble FlowFilter semantics
 * (lib/flowfilter.c): every filter field on hand-built flows, AND across
 * fields and OR within one, whitelist/blacklist, and the `observe` flag
 * builder: either-side flags giving two filters, --not, conflicts, and the
 * exact JSON hubble's --print-raw-filters would show. Also --since/--until
 * time parsing.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/flowfilter.h"
#include "cli/flowfilter_flags.h"

/* A TCP SYN from batch/client (10.0.1.7:40000) to shop/web (10.0.1.12:8080). */
static const char *const cli_labels[] = {
	"k8s:app=client", "k8s:io.kubernetes.pod.namespace=batch", "k8s:tier=backend",
};
static const char *const web_labels[] = {
	"k8s:app=web", "k8s:io.kubernetes.pod.namespace=shop",
	"k8s:io.cilium.k8s.namespace.labels.team=blue", "k8s:version=",
};
static const char *const world_labels[] = { "reserved:world" };

static struct bw_flow flow;

static void
make_flow(void)
{
	memset(&flow, 0, sizeof(flow));
	flow.size = sizeof(flow);
	strcpy(flow.uuid, "6f1d2c0e-8b7a-4c53-9d8e-2a41f7c3b915");
	flow.node_name = "node-1";
	flow.verdict = BW_FLOW_VERDICT_FORWARDED;
	flow.type = BW_FLOW_TYPE_L3_L4;
	flow.event_type = 4;
	flow.event_sub_type = 0;
	flow.ip_version = 4;
	strcpy(flow.src_ip, "10.0.1.7");
	strcpy(flow.dst_ip, "10.0.1.12");
	inet_pton(AF_INET, flow.src_ip, flow.src_addr);
	inet_pton(AF_INET, flow.dst_ip, flow.dst_addr);
	flow.protocol = 6;
	flow.tcp_flags = BW_FLOW_TCP_SYN;
	flow.src_port = 40000;
	flow.dst_port = 8080;
	flow.source.id = 7;
	flow.source.identity = 38214;
	flow.source.ns = "batch";
	flow.source.pod_name = "client";
	flow.source.labels = cli_labels;
	flow.source.n_labels = 3;
	flow.destination.id = 12;
	flow.destination.identity = 51920;
	flow.destination.ns = "shop";
	flow.destination.pod_name = "web-7d4b9c8f6-lm5vz";
	flow.destination.labels = web_labels;
	flow.destination.n_labels = 4;
	flow.destination.workload_name = "web";
	flow.destination.workload_kind = "Deployment";
	flow.traffic_direction = BW_FLOW_TRAFFIC_INGRESS;
	flow.is_reply = 0;
}

/* Does the flow match the one filter given as JSON text? */
static int
m(const char *json)
{
	json_error_t jerr;
	json_t *doc = json_loads(json, 0, &jerr);
	struct bw_flowfilter *ff;
	char err[256] = "";
	int rc;

	ck_assert_msg(doc != NULL, "bad test JSON %s: %s", json, jerr.text);
	rc = bw_flowfilter_parse(doc, &ff, err, sizeof(err));
	ck_assert_msg(rc == 0, "%s: %s", json, err);
	rc = bw_flowfilter_match(ff, &flow);
	bw_flowfilter_free(ff);
	json_decref(doc);
	return rc;
}

/* The parse error for a filter, or "" when it parses. */
static const char *
perr(const char *json)
{
	static char err[256];
	json_t *doc = json_loads(json, 0, NULL);
	struct bw_flowfilter *ff = NULL;

	ck_assert_ptr_nonnull(doc);
	err[0] = '\0';
	if (bw_flowfilter_parse(doc, &ff, err, sizeof(err)) == 0)
		bw_flowfilter_free(ff);
	json_decref(doc);
	return err;
}

START_TEST(test_ip)
{
	make_flow();
	ck_assert(m("{\"source_ip\": [\"10.0.1.7\"]}"));
	ck_assert(!m("{\"source_ip\": [\"10.0.1.12\"]}"));
	ck_assert(m("{\"destination_ip\": [\"10.0.1.12\"]}"));
	ck_assert(m("{\"source_ip\": [\"10.0.0.0/16\"]}"));
	ck_assert(m("{\"source_ip\": [\"10.0.1.6/31\"]}"));
	ck_assert(!m("{\"source_ip\": [\"10.0.1.8/30\"]}"));
	ck_assert(m("{\"source_ip\": [\"192.0.2.1\", \"10.0.1.7\"]}")); /* OR */
	ck_assert(!m("{\"source_ip\": [\"::/0\"]}")); /* other family */
	ck_assert(m("{\"source_ip\": [\"0.0.0.0/0\"]}"));
	ck_assert_str_eq(perr("{\"source_ip\": [\"10.0.1.300\"]}"),
			 "source_ip: '10.0.1.300' is not an IP address or CIDR");
	ck_assert_str_eq(perr("{\"source_ip\": [\"10.0.0.0/33\"]}"),
			 "source_ip: '10.0.0.0/33' is not an IP address or CIDR");

	flow.ip_version = 6;
	inet_pton(AF_INET6, "fd00::7", flow.src_addr);
	ck_assert(m("{\"source_ip\": [\"fd00::/8\"]}"));
	ck_assert(!m("{\"source_ip\": [\"fd01::/16\"]}"));
	ck_assert(!m("{\"source_ip\": [\"10.0.0.0/8\"]}"));
}
END_TEST

START_TEST(test_pod)
{
	make_flow();
	ck_assert(m("{\"source_pod\": [\"batch/client\"]}"));
	ck_assert(m("{\"source_pod\": [\"batch/cli\"]}"));       /* prefix */
	ck_assert(!m("{\"source_pod\": [\"default/client\"]}")); /* namespace */
	ck_assert(m("{\"source_pod\": [\"batch/\"]}"));          /* whole ns */
	ck_assert(m("{\"source_pod\": [\"/client\"]}"));         /* any ns */
	ck_assert(m("{\"source_pod\": [\"client\"]}"));          /* any ns */
	ck_assert(!m("{\"source_pod\": [\"shop/\"]}"));
	ck_assert(m("{\"destination_pod\": [\"shop/web-\"]}"));
	ck_assert(!m("{\"destination_pod\": [\"shop/client\"]}"));
	/* a peer that is no pod never matches */
	flow.source.ns = NULL;
	flow.source.pod_name = NULL;
	ck_assert(!m("{\"source_pod\": [\"/\"]}"));
	ck_assert_str_eq(perr("{\"source_pod\": [\"\"]}"),
			 "source_pod: invalid value '', must be [namespace/][pod-prefix]");
}
END_TEST

START_TEST(test_label)
{
	make_flow();
	ck_assert(m("{\"source_label\": [\"k8s:app=client\"]}"));
	ck_assert(m("{\"source_label\": [\"app=client\"]}"));      /* any source */
	ck_assert(m("{\"source_label\": [\"any:app=client\"]}"));
	ck_assert(!m("{\"source_label\": [\"reserved:app=client\"]}"));
	ck_assert(!m("{\"source_label\": [\"app=web\"]}"));
	ck_assert(m("{\"source_label\": [\"app==client\"]}"));
	ck_assert(m("{\"source_label\": [\"app\"]}"));             /* exists */
	ck_assert(!m("{\"source_label\": [\"!app\"]}"));
	ck_assert(m("{\"source_label\": [\"!color\"]}"));
	ck_assert(m("{\"source_label\": [\"app!=web\"]}"));
	ck_assert(m("{\"source_label\": [\"color!=red\"]}"));      /* absent: true */
	ck_assert(!m("{\"source_label\": [\"app!=client\"]}"));
	ck_assert(m("{\"source_label\": [\"app in (web, client)\"]}"));
	ck_assert(m("{\"source_label\": [\"k8s:app in (web,client)\"]}"));
	ck_assert(!m("{\"source_label\": [\"app in (web,db)\"]}"));
	ck_assert(m("{\"source_label\": [\"app notin (web,db)\"]}"));
	ck_assert(!m("{\"source_label\": [\"app notin (client)\"]}"));
	/* requirements in one selector all hold (AND) */
	ck_assert(m("{\"source_label\": [\"app=client,tier=backend\"]}"));
	ck_assert(!m("{\"source_label\": [\"app=client, tier=frontend\"]}"));
	/* selectors in the list: any (OR) */
	ck_assert(m("{\"source_label\": [\"app=web\", \"tier=backend\"]}"));
	/* keys with dots and slashes; a label with an empty value */
	ck_assert(m("{\"destination_label\": [\"k8s:io.cilium.k8s.namespace.labels.team=blue\"]}"));
	ck_assert(m("{\"destination_label\": [\"io.kubernetes.pod.namespace=shop\"]}"));
	ck_assert(m("{\"destination_label\": [\"version\"]}"));
	ck_assert(m("{\"destination_label\": [\"version=\"]}"));
	/* reserved labels */
	flow.destination.labels = world_labels;
	flow.destination.n_labels = 1;
	ck_assert(m("{\"destination_label\": [\"reserved:world\"]}"));
	ck_assert(!m("{\"destination_label\": [\"reserved:host\"]}"));
	ck_assert(!m("{\"destination_label\": [\"k8s:world\"]}"));
	ck_assert_str_eq(perr("{\"source_label\": [\"app in (a,b\"]}"),
			 "source_label: invalid label selector 'app in (a,b'");
	ck_assert_str_eq(perr("{\"source_label\": [\"=x\"]}"),
			 "source_label: invalid label selector '=x'");
}
END_TEST

START_TEST(test_identity_port_protocol)
{
	make_flow();
	ck_assert(m("{\"source_identity\": [38214]}"));
	ck_assert(!m("{\"source_identity\": [51920]}"));
	ck_assert(m("{\"destination_identity\": [1, 51920]}"));
	flow.destination.identity = 2;
	ck_assert(m("{\"destination_identity\": [\"world\"]}"));
	ck_assert(m("{\"destination_identity\": [\"reserved:world\"]}"));
	ck_assert(!m("{\"destination_identity\": [\"host\"]}"));
	ck_assert_str_eq(perr("{\"source_identity\": [\"nowhere\"]}"),
			 "source_identity: identity must be a number or a reserved name");

	ck_assert(m("{\"source_port\": [\"40000\"]}"));
	ck_assert(m("{\"destination_port\": [\"8080\"]}"));
	ck_assert(!m("{\"destination_port\": [\"80\"]}"));
	ck_assert(m("{\"destination_port\": [\"80\", \"8080\"]}"));
	ck_assert_str_eq(perr("{\"destination_port\": [\"http\"]}"),
			 "destination_port: 'http' is not a port number");

	ck_assert(m("{\"protocol\": [\"tcp\"]}"));
	ck_assert(m("{\"protocol\": [\"TCP\"]}"));
	ck_assert(!m("{\"protocol\": [\"udp\"]}"));
	ck_assert(m("{\"protocol\": [\"udp\", \"tcp\"]}"));
	ck_assert(!m("{\"protocol\": [\"http\"]}")); /* an L7 protocol: L7 flows only */
	flow.protocol = 58;
	ck_assert(m("{\"protocol\": [\"icmp\"]}"));
	ck_assert(m("{\"protocol\": [\"icmpv6\"]}"));
	ck_assert(!m("{\"protocol\": [\"icmpv4\"]}"));
	/* ICMP has no ports */
	ck_assert(!m("{\"destination_port\": [\"8080\"]}"));
	ck_assert_str_eq(perr("{\"protocol\": [\"gopher\"]}"),
			 "protocol: unknown protocol 'gopher' (tcp, udp, sctp, icmp, icmpv4, icmpv6, dns, http, kafka)");
}
END_TEST

START_TEST(test_verdict_type_direction)
{
	make_flow();
	ck_assert(m("{\"verdict\": [\"FORWARDED\"]}"));
	ck_assert(!m("{\"verdict\": [\"DROPPED\"]}"));
	ck_assert(m("{\"verdict\": [\"DROPPED\", \"FORWARDED\"]}"));
	ck_assert_str_eq(perr("{\"verdict\": [\"MAYBE\"]}"),
			 "verdict: unknown verdict 'MAYBE' (FORWARDED, DROPPED, ERROR, AUDIT, REDIRECTED, ...)");

	ck_assert(m("{\"event_type\": [{\"type\": 4}]}"));
	ck_assert(!m("{\"event_type\": [{\"type\": 1}]}"));
	ck_assert(m("{\"event_type\": [{\"type\": 4, \"match_sub_type\": true, \"sub_type\": 0}]}"));
	ck_assert(!m("{\"event_type\": [{\"type\": 4, \"match_sub_type\": true, \"sub_type\": 5}]}"));
	/* without match_sub_type the sub type is not compared */
	ck_assert(m("{\"event_type\": [{\"type\": 4, \"match_sub_type\": false, \"sub_type\": 5}]}"));
	ck_assert(m("{\"event_type\": [{\"type\": 1}, {\"type\": 4}]}"));

	ck_assert(m("{\"traffic_direction\": [\"INGRESS\"]}"));
	ck_assert(!m("{\"traffic_direction\": [\"EGRESS\"]}"));

	flow.verdict = BW_FLOW_VERDICT_DROPPED;
	flow.drop_reason = 133;
	flow.drop_reason_desc = "POLICY_DENIED";
	ck_assert(m("{\"drop_reason_desc\": [\"POLICY_DENIED\"]}"));
	ck_assert(!m("{\"drop_reason_desc\": [\"POLICY_DENY\"]}"));
}
END_TEST

START_TEST(test_tcp_flags_and_more)
{
	make_flow();
	ck_assert(m("{\"tcp_flags\": [{\"SYN\": true}]}"));
	ck_assert(!m("{\"tcp_flags\": [{\"SYN\": true, \"ACK\": true}]}"));
	ck_assert(m("{\"tcp_flags\": [{\"FIN\": true}, {\"SYN\": true}]}"));
	/* a flag's value is a boolean, as in Hubble's TCPFlags */
	ck_assert_str_eq(perr("{\"tcp_flags\": [{\"SYN\": \"yes\"}]}"), "tcp_flags: SYN must be true or false");
	ck_assert_str_eq(perr("{\"tcp_flags\": [{\"SYN\": 1}]}"), "tcp_flags: SYN must be true or false");
	ck_assert_str_eq(perr("{\"tcp_flags\": [{\"SYN\": false, \"ACK\": true}]}"), "");
	flow.tcp_flags = BW_FLOW_TCP_SYN | BW_FLOW_TCP_ACK;
	ck_assert(m("{\"tcp_flags\": [{\"SYN\": true, \"ACK\": true}]}"));
	flow.protocol = 17;
	ck_assert(!m("{\"tcp_flags\": [{\"SYN\": true}]}"));
	ck_assert_str_eq(perr("{\"tcp_flags\": [{\"SYNACK\": true}]}"),
			 "tcp_flags: unknown flag 'SYNACK'");

	ck_assert(m("{\"ip_version\": [\"IPv4\"]}"));
	ck_assert(!m("{\"ip_version\": [\"IPv6\"]}"));
	ck_assert(m("{\"reply\": [false]}"));
	ck_assert(!m("{\"reply\": [true]}"));
	ck_assert(m("{\"node_name\": [\"node-*\"]}"));
	ck_assert(!m("{\"node_name\": [\"other\"]}"));
	ck_assert(m("{\"uuid\": [\"6f1d2c0e-8b7a-4c53-9d8e-2a41f7c3b915\"]}"));
	ck_assert(!m("{\"uuid\": [\"0c7e4a52-1f39-4d8e-b6a1-93e2d5f8a7c4\"]}"));

	ck_assert_str_eq(perr("{\"cel_expression\": [\"true\"]}"),
			 "unsupported FlowFilter field 'cel_expression'");
	ck_assert_str_eq(perr("{\"verdict\": \"DROPPED\"}"),
			 "FlowFilter field 'verdict' must be a list");
	ck_assert_str_eq(perr("{}"), "");
}
END_TEST

/* interface and encrypted; the fields no bulwark flow can match. */
START_TEST(test_interface_encrypted_unmatchable)
{
	make_flow();
	ck_assert(!m("{\"interface\": [{\"name\": \"lxcweb\"}]}")); /* no interface */
	flow.ifindex = 17;
	flow.ifname = "lxcweb";
	ck_assert(m("{\"interface\": [{\"name\": \"lxcweb\"}]}"));
	ck_assert(m("{\"interface\": [{\"index\": 17}]}"));
	ck_assert(m("{\"interface\": [{\"index\": 17, \"name\": \"lxcweb\"}]}"));
	ck_assert(m("{\"interface\": [{\"index\": 0, \"name\": \"\"}]}")); /* any */
	ck_assert(!m("{\"interface\": [{\"index\": 18, \"name\": \"lxcweb\"}]}"));
	ck_assert(m("{\"interface\": [{\"name\": \"eth0\"}, {\"index\": 17}]}"));
	ck_assert_str_eq(perr("{\"interface\": [\"lxcweb\"]}"),
			 "interface: each value is an object {\"index\": N, \"name\": \"...\"}");
	ck_assert_str_eq(perr("{\"interface\": [{\"ifname\": \"lxcweb\"}]}"),
			 "interface: each value is an object {\"index\": N, \"name\": \"...\"}");
	/* bulwark encrypts nothing */
	ck_assert(m("{\"encrypted\": [false]}"));
	ck_assert(!m("{\"encrypted\": [true]}"));
	ck_assert(m("{\"encrypted\": [true, false]}"));
	ck_assert_str_eq(perr("{\"encrypted\": [\"no\"]}"), "encrypted: values are true or false");
	ck_assert_str_eq(perr("{\"source_service\": [\"shop/web\"]}"),
			 "FlowFilter field 'source_service' is not supported: bulwark's flows name no Kubernetes services");
	ck_assert_str_eq(perr("{\"node_labels\": [\"a=b\"]}"),
			 "FlowFilter field 'node_labels' is not supported: bulwark's flows carry no node labels");
	ck_assert_str_eq(perr("{\"source_ip_xlated\": [\"10.0.0.1\"]}"),
			 "FlowFilter field 'source_ip_xlated' is not supported: bulwark translates no addresses: flows have no IP.source_xlated");
}
END_TEST

/* Hubble's HTTP filters (pkg/hubble/filters/http.go) on L7 flows. */
START_TEST(test_http_filters)
{
	static const struct bw_flow_kv hdrs[] = {
		{ "user-agent", "curl/7.88" }, { ":authority", "web.shop" },
	};
	struct bw_flow_http h = { .code = 404, .method = "GET",
				  .url = "http://web.shop:8080/api/v1/it%20em?limit=10",
				  .protocol = "HTTP/1.1", .headers = hdrs, .n_headers = 2 };
	struct bw_flow_l7 l7 = { .size = sizeof(l7), .type = BW_FLOW_L7_RESPONSE,
				 .http = &h };

	make_flow();
	/* an L3/L4 flow has no HTTP record: HTTP filters never match it */
	ck_assert(!m("{\"http_method\": [\"GET\"]}"));
	flow.type = BW_FLOW_TYPE_L7;
	flow.event_type = BW_FLOW_EVENT_L7;
	flow.l7 = &l7;
	ck_assert(m("{\"http_status_code\": [\"404\"]}"));
	ck_assert(m("{\"http_status_code\": [\"4+\"]}"));
	ck_assert(m("{\"http_status_code\": [\"40+\"]}"));
	ck_assert(!m("{\"http_status_code\": [\"41+\", \"5+\"]}"));
	ck_assert(m("{\"http_method\": [\"post\", \"get\"]}"));
	ck_assert(!m("{\"http_method\": [\"POST\"]}"));
	/* the path is unescaped and has no query; unanchored like Go's regexp */
	ck_assert(m("{\"http_path\": [\"^/api/v1/it em$\"]}"));
	ck_assert(m("{\"http_path\": [\"v1\"]}"));
	ck_assert(!m("{\"http_path\": [\"limit\"]}"));
	ck_assert(m("{\"http_url\": [\"limit=10$\"]}"));
	ck_assert(!m("{\"http_url\": [\"^https:\"]}"));
	ck_assert(m("{\"http_header\": [{\"key\": \"user-agent\", \"value\": \"curl/7.88\"}]}"));
	ck_assert(!m("{\"http_header\": [{\"key\": \"user-agent\", \"value\": \"curl\"}]}"));
	ck_assert(m("{\"protocol\": [\"http\"]}"));
	ck_assert(!m("{\"protocol\": [\"dns\", \"kafka\"]}"));
	ck_assert(m("{\"event_type\": [{\"type\": 129}], \"http_method\": [\"GET\"]}"));
	/* a request has no status: a status filter never matches it */
	l7.type = BW_FLOW_L7_REQUEST;
	h.code = 0;
	ck_assert(!m("{\"http_status_code\": [\"4+\"]}"));
	ck_assert(m("{\"http_method\": [\"GET\"]}"));

	ck_assert_str_eq(perr("{\"http_status_code\": [\"4x\"]}"),
			 "http_status_code: invalid status code prefix: \"4x\"");
	ck_assert_str_eq(perr("{\"http_status_code\": [\"600\"]}"),
			 "http_status_code: invalid status code prefix: \"600\"");
	ck_assert_str_eq(perr("{\"event_type\": [{\"type\": 1}], \"http_method\": [\"GET\"]}"),
			 "filtering by http method requires the event type filter to only match 'l7' events");
	ck_assert_str_eq(perr("{\"http_path\": [\"(\"]}"),
			 "http_path: '(': Unmatched ( or \\(");
}
END_TEST

/* bulwark's Kafka filters (observe --kafka-topic / --kafka-api-key). */
START_TEST(test_kafka_filters)
{
	struct bw_flow_kafka k = { .api_version = 7, .api_key = "produce",
				   .correlation_id = 4, .topic = "orders" };
	struct bw_flow_l7 l7 = { .size = sizeof(l7), .type = BW_FLOW_L7_REQUEST, .kafka = &k };

	make_flow();
	ck_assert(!m("{\"kafka_topic\": [\"orders\"]}"));
	flow.type = BW_FLOW_TYPE_L7;
	flow.event_type = BW_FLOW_EVENT_L7;
	flow.l7 = &l7;
	ck_assert(m("{\"kafka_topic\": [\"orders\"]}"));
	ck_assert(m("{\"kafka_topic\": [\"audit\", \"orders\"]}"));
	ck_assert(!m("{\"kafka_topic\": [\"order\"]}"));      /* exact */
	ck_assert(m("{\"kafka_api_key\": [\"Produce\"]}"));
	ck_assert(m("{\"kafka_api_key\": [\"0\"]}"));          /* by number */
	ck_assert(!m("{\"kafka_api_key\": [\"fetch\"]}"));
	ck_assert(m("{\"kafka_api_key\": [\"produce\"], \"kafka_topic\": [\"orders\"]}"));
	ck_assert(!m("{\"kafka_api_key\": [\"produce\"], \"kafka_topic\": [\"audit\"]}"));
	ck_assert(m("{\"protocol\": [\"kafka\"]}"));
	k.api_key = "offsets";
	ck_assert(m("{\"kafka_api_key\": [\"ListOffsets\"]}")); /* Kafka's name */
	k.api_key = "68";
	ck_assert(m("{\"kafka_api_key\": [\"68\"]}"));          /* past Cilium's names */
	ck_assert_str_eq(perr("{\"kafka_api_key\": [\"nosuchkey\"]}"),
			 "kafka_api_key: unknown API key 'nosuchkey' (produce, fetch, offsets, metadata, ..., or a number)");
	ck_assert_str_eq(perr("{\"event_type\": [{\"type\": 1}], \"kafka_topic\": [\"x\"]}"),
			 "filtering by kafka topic requires the event type filter to only match 'l7' events");
}
END_TEST

START_TEST(test_and_or_and_lists)
{
	struct bw_flowfilters fs;
	json_t *wl, *bl;
	char err[256];

	make_flow();
	/* fields AND */
	ck_assert(m("{\"source_pod\": [\"batch/\"], \"verdict\": [\"FORWARDED\"]}"));
	ck_assert(!m("{\"source_pod\": [\"batch/\"], \"verdict\": [\"DROPPED\"]}"));

	/* whitelist OR, blacklist excludes */
	memset(&fs, 0, sizeof(fs));
	wl = json_loads("[{\"source_pod\": [\"shop/\"]}, {\"destination_pod\": [\"shop/\"]}]", 0, NULL);
	bl = json_loads("[{\"destination_port\": [\"8080\"]}]", 0, NULL);
	ck_assert_int_eq(bw_flowfilters_parse(&fs, wl, NULL, err, sizeof(err)), 0);
	ck_assert(bw_flowfilters_match(&fs, &flow));
	bw_flowfilters_clear(&fs);
	ck_assert_int_eq(bw_flowfilters_parse(&fs, wl, bl, err, sizeof(err)), 0);
	ck_assert(!bw_flowfilters_match(&fs, &flow));
	bw_flowfilters_clear(&fs);
	/* an empty whitelist lets everything through the blacklist */
	ck_assert_int_eq(bw_flowfilters_parse(&fs, NULL, bl, err, sizeof(err)), 0);
	ck_assert(!bw_flowfilters_match(&fs, &flow));
	flow.dst_port = 80;
	ck_assert(bw_flowfilters_match(&fs, &flow));
	bw_flowfilters_clear(&fs);
	ck_assert_int_eq(bw_flowfilters_parse(&fs, NULL, NULL, err, sizeof(err)), 0);
	ck_assert(bw_flowfilters_match(&fs, &flow));
	bw_flowfilters_clear(&fs);
	json_decref(wl);
	json_decref(bl);

	/* errors name the list and index */
	wl = json_loads("[{}, {\"verdict\": [\"NOPE\"]}]", 0, NULL);
	ck_assert_int_eq(bw_flowfilters_parse(&fs, wl, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "whitelist[1]: verdict: unknown verdict 'NOPE' (FORWARDED, DROPPED, ERROR, AUDIT, REDIRECTED, ...)");
	json_decref(wl);
}
END_TEST

START_TEST(test_workload)
{
	make_flow();
	/* Workload objects, as hubble sends them: name and/or kind */
	ck_assert(m("{\"destination_workload\": [{\"name\": \"web\", \"kind\": \"Deployment\"}]}"));
	ck_assert(m("{\"destination_workload\": [{\"name\": \"web\"}]}"));
	ck_assert(m("{\"destination_workload\": [{\"kind\": \"Deployment\"}]}"));
	ck_assert(m("{\"destination_workload\": [{}]}")); /* any workload */
	ck_assert(!m("{\"destination_workload\": [{\"name\": \"web\", \"kind\": \"StatefulSet\"}]}"));
	ck_assert(!m("{\"destination_workload\": [{\"name\": \"we\"}]}")); /* exact, no prefix */
	ck_assert(!m("{\"destination_workload\": [{\"kind\": \"deployment\"}]}")); /* case matters */
	/* OR within the field */
	ck_assert(m("{\"destination_workload\": [{\"name\": \"db\"}, {\"name\": \"web\"}]}"));
	/* plain strings: NAME or KIND/NAME ("KIND/" any of that kind) */
	ck_assert(m("{\"destination_workload\": [\"web\"]}"));
	ck_assert(m("{\"destination_workload\": [\"Deployment/web\"]}"));
	ck_assert(m("{\"destination_workload\": [\"Deployment/\"]}"));
	ck_assert(!m("{\"destination_workload\": [\"DaemonSet/web\"]}"));
	/* the source has no workload: nothing matches it, not even {} */
	ck_assert(!m("{\"source_workload\": [{}]}"));
	ck_assert(!m("{\"source_workload\": [\"client\"]}"));
	flow.source.workload_name = "client";
	flow.source.workload_kind = "StatefulSet";
	ck_assert(m("{\"source_workload\": [\"StatefulSet/client\"], "
		    "\"destination_workload\": [\"web\"]}"));
	ck_assert(!m("{\"source_workload\": [\"StatefulSet/client\"], "
		     "\"destination_workload\": [\"db\"]}"));
	/* a workload without a kind matches a name-only filter only */
	flow.source.workload_kind = NULL;
	ck_assert(m("{\"source_workload\": [\"client\"]}"));
	ck_assert(!m("{\"source_workload\": [\"StatefulSet/client\"]}"));

	ck_assert_str_eq(perr("{\"source_workload\": [{\"name\": \"a\", \"namespace\": \"x\"}]}"),
			 "source_workload: each value is a Workload {\"name\", \"kind\"} or \"[KIND/]NAME\"");
	ck_assert_str_eq(perr("{\"destination_workload\": [42]}"),
			 "destination_workload: each value is a Workload {\"name\", \"kind\"} or \"[KIND/]NAME\"");
	ck_assert_str_eq(perr("{\"destination_workload\": [\"\"]}"),
			 "destination_workload: each value is a Workload {\"name\", \"kind\"} or \"[KIND/]NAME\"");
	ck_assert_str_eq(perr("{\"source_workload\": \"web\"}"),
			 "FlowFilter field 'source_workload' must be a list");
}
END_TEST

/* ---- the flag builder ----------------------------------------------------------- */

/* Run flags ("name", "value", ..., NULL) and compare the JSON lists. */
static void
build(const char *const *flags, const char *want_wl, const char *want_bl,
      const char *want_err)
{
	struct bw_flowfilter_builder b;
	json_t *wl = NULL, *bl = NULL;
	char err[512] = "";
	char *t;
	int rc = 0;

	bw_flowfilter_builder_init(&b);
	for (size_t i = 0; flags[i] != NULL && rc == 0; i++) {
		const char *val = NULL;

		if (strcmp(flags[i], "not") != 0)
			val = flags[++i];
		rc = bw_flowfilter_builder_add(&b, flags[i - (val != NULL)], val,
					       err, sizeof(err));
	}
	if (rc == 0)
		rc = bw_flowfilter_builder_finish(&b, &wl, &bl, err, sizeof(err));
	if (want_err != NULL) {
		ck_assert_int_ne(rc, 0);
		ck_assert_str_eq(err, want_err);
	} else {
		ck_assert_msg(rc == 0, "builder failed: %s", err);
		t = json_dumps(wl, JSON_COMPACT | JSON_PRESERVE_ORDER);
		ck_assert_str_eq(t, want_wl);
		free(t);
		t = json_dumps(bl, JSON_COMPACT | JSON_PRESERVE_ORDER);
		ck_assert_str_eq(t, want_bl);
		free(t);
	}
	json_decref(wl);
	json_decref(bl);
	bw_flowfilter_builder_free(&b);
}

START_TEST(test_builder_either_side)
{
	const char *const pod[] = { "pod", "web", NULL };
	const char *const pod_verdict[] = { "pod", "shop/web", "verdict", "dropped", NULL };
	const char *const ns[] = { "namespace", "shop", NULL };
	const char *const ip[] = { "ip", "10.0.0.0/8", NULL };
	const char *const label[] = { "label", "app in (a,b)", NULL };
	const char *const ident[] = { "identity", "world", NULL };
	const char *const port[] = { "port", "53", NULL };
	const char *const wl[] = { "workload", "Deployment/web", NULL };
	const char *const wl_name[] = { "workload", "web", "workload", "StatefulSet/", NULL };

	/* no namespace means "default"; two filters: source OR destination */
	build(pod, "[{\"source_pod\":[\"default/web\"]},{\"destination_pod\":[\"default/web\"]}]",
	      "[]", NULL);
	/* one-sided flags go into both */
	build(pod_verdict,
	      "[{\"source_pod\":[\"shop/web\"],\"verdict\":[\"DROPPED\"]},"
	      "{\"destination_pod\":[\"shop/web\"],\"verdict\":[\"DROPPED\"]}]",
	      "[]", NULL);
	build(ns, "[{\"source_pod\":[\"shop/\"]},{\"destination_pod\":[\"shop/\"]}]", "[]", NULL);
	build(ip, "[{\"source_ip\":[\"10.0.0.0/8\"]},{\"destination_ip\":[\"10.0.0.0/8\"]}]", "[]", NULL);
	build(label, "[{\"source_label\":[\"app in (a,b)\"]},{\"destination_label\":[\"app in (a,b)\"]}]",
	      "[]", NULL);
	build(ident, "[{\"source_identity\":[2]},{\"destination_identity\":[2]}]", "[]", NULL);
	build(port, "[{\"source_port\":[\"53\"]},{\"destination_port\":[\"53\"]}]", "[]", NULL);
	/* hubble's Workload messages: {name, kind}, empty parts left out */
	build(wl, "[{\"source_workload\":[{\"name\":\"web\",\"kind\":\"Deployment\"}]},"
		  "{\"destination_workload\":[{\"name\":\"web\",\"kind\":\"Deployment\"}]}]",
	      "[]", NULL);
	build(wl_name, "[{\"source_workload\":[{\"name\":\"web\"},{\"kind\":\"StatefulSet\"}]},"
		       "{\"destination_workload\":[{\"name\":\"web\"},{\"kind\":\"StatefulSet\"}]}]",
	      "[]", NULL);
}
END_TEST

START_TEST(test_builder_one_side)
{
	const char *const a[] = { "from-pod", "/web", "to-namespace", "kube-system",
				  "to-port", "53", "protocol", "udp", NULL };
	const char *const b[] = { "from-pod", "shop/a", "from-pod", "shop/b", NULL };
	const char *const t[] = { "type", "trace:to-endpoint", "type", "drop",
				  "type", "policy-verdict", "type", "129", NULL };
	const char *const f[] = { "tcp-flags", "syn,ack", "tcp-flags", "fin",
				  "traffic-direction", "egress", NULL };
	const char *const id[] = { "from-identity", "1234", "to-identity", "host", NULL };
	const char *const v[] = { "verdict", "AUDIT", "ip-version", "v6",
				  "drop-reason-desc", "policy_denied", NULL };
	const char *const w[] = { "from-workload", "DaemonSet/agent", "to-workload", "web", NULL };

	build(a, "[{\"source_pod\":[\"/web\"],\"destination_pod\":[\"kube-system/\"],"
		 "\"destination_port\":[\"53\"],\"protocol\":[\"udp\"]}]", "[]", NULL);
	/* repeating a flag: values OR in one field */
	build(b, "[{\"source_pod\":[\"shop/a\",\"shop/b\"]}]", "[]", NULL);
	build(t, "[{\"event_type\":[{\"type\":4,\"match_sub_type\":true,\"sub_type\":0},"
		 "{\"type\":1},{\"type\":5},{\"type\":129}]}]", "[]", NULL);
	build(f, "[{\"tcp_flags\":[{\"SYN\":true,\"ACK\":true},{\"FIN\":true}],"
		 "\"traffic_direction\":[\"EGRESS\"]}]", "[]", NULL);
	build(id, "[{\"source_identity\":[1234],\"destination_identity\":[1]}]", "[]", NULL);
	build(v, "[{\"verdict\":[\"AUDIT\"],\"ip_version\":[\"IPv6\"],"
		 "\"drop_reason_desc\":[\"POLICY_DENIED\"]}]", "[]", NULL);
	build(w, "[{\"source_workload\":[{\"name\":\"agent\",\"kind\":\"DaemonSet\"}],"
		 "\"destination_workload\":[{\"name\":\"web\"}]}]", "[]", NULL);
}
END_TEST

START_TEST(test_fqdn_and_dns_query)
{
	static const char *const names[] = { "api.example.com", "edge.cdn.example" };
	static const char *const ips[] = { "192.0.2.7" };
	static const char *const qt[] = { "A" };
	struct bw_flow_dns dns = { .query = "api.example.com.", .ips = ips, .n_ips = 1,
				   .observation_source = "proxy", .qtypes = qt, .n_qtypes = 1 };
	struct bw_flow_l7 l7 = { .size = sizeof(l7), .type = BW_FLOW_L7_RESPONSE, .dns = &dns };
	const char *const either[] = { "fqdn", "*.example.com", NULL };
	const char *const sides[] = { "from-fqdn", "a.example", "to-fqdn", "B.Example.", NULL };
	const char *const query[] = { "dns-query", "example\\.com\\.$", NULL };
	const char *const conflict[] = { "fqdn", "a.example", "to-fqdn", "b.example", NULL };
	const char *const badchar[] = { "to-fqdn", "a b", NULL };

	make_flow();
	/* no names: an FQDN filter matches nothing */
	ck_assert(!m("{\"destination_fqdn\": [\"*\"]}"));
	flow.destination.id = 0;
	flow.destination_names = names;
	flow.n_destination_names = 2;
	ck_assert(m("{\"destination_fqdn\": [\"api.example.com\"]}"));
	ck_assert(m("{\"destination_fqdn\": [\"API.EXAMPLE.COM.\"]}"));
	ck_assert(m("{\"destination_fqdn\": [\"*.example.com\"]}"));
	/* as in hubble, a '*' of a flow filter may cross dots */
	ck_assert(m("{\"destination_fqdn\": [\"*.example\"]}"));
	ck_assert(m("{\"destination_fqdn\": [\"*cdn*\"]}"));
	ck_assert(!m("{\"destination_fqdn\": [\"example.com\"]}"));
	ck_assert(!m("{\"source_fqdn\": [\"*\"]}"));
	ck_assert(m("{\"destination_fqdn\": [\"nope.example\", \"edge.*\"]}"));
	ck_assert_str_eq(perr("{\"destination_fqdn\": [\"a[b]\"]}"),
			 "destination_fqdn: 'a[b]': only letters, digits, '-', '_', '.' and '*' are allowed");
	/* dns_query: a regular expression on l7.dns.query, DNS flows only */
	ck_assert(!m("{\"dns_query\": [\"example\"]}"));
	flow.type = BW_FLOW_TYPE_L7;
	flow.l7 = &l7;
	ck_assert(m("{\"dns_query\": [\"example\"]}"));
	ck_assert(m("{\"dns_query\": [\"^api\\\\.\", \"zzz\"]}"));
	ck_assert(!m("{\"dns_query\": [\"^www\\\\.\"]}"));
	ck_assert_ptr_nonnull(strstr(perr("{\"dns_query\": [\"(\"]}"),
				  "dns_query: '(' is not a regular expression"));
	/* the observe flags */
	build(either, "[{\"source_fqdn\":[\"*.example.com\"]},{\"destination_fqdn\":[\"*.example.com\"]}]",
	      "[]", NULL);
	build(sides, "[{\"source_fqdn\":[\"a.example\"],\"destination_fqdn\":[\"B.Example.\"]}]",
	      "[]", NULL);
	build(query, "[{\"dns_query\":[\"example\\\\.com\\\\.$\"]}]", "[]", NULL);
	build(conflict, NULL, NULL, "--to-fqdn cannot be combined with --fqdn");
	build(badchar, NULL, NULL,
	      "--to-fqdn: 'a b': only letters, digits, '-', '_', '.' and '*' are allowed");
}
END_TEST

START_TEST(test_builder_not)
{
	const char *const a[] = { "not", "verdict", "FORWARDED", NULL };
	const char *const b[] = { "from-namespace", "shop", "not", "to-port", "53",
				  "not", "pod", "kube-system/", NULL };
	const char *const dbl[] = { "not", "not", "verdict", "DROPPED", NULL };
	const char *const trailing[] = { "verdict", "DROPPED", "not", NULL };

	build(a, "[]", "[{\"verdict\":[\"FORWARDED\"]}]", NULL);
	/* each --not negates only the next flag; either-side in the deny list too */
	build(b, "[{\"source_pod\":[\"shop/\"]}]",
	      "[{\"destination_port\":[\"53\"],\"source_pod\":[\"kube-system/\"]},"
	      "{\"destination_port\":[\"53\"],\"destination_pod\":[\"kube-system/\"]}]", NULL);
	build(dbl, NULL, NULL, "--not: two --not in a row");
	build(trailing, NULL, NULL, "--not must be followed by a filter flag");
}
END_TEST

START_TEST(test_builder_errors)
{
	const char *const c1[] = { "ip", "10.0.0.1", "from-ip", "10.0.0.2", NULL };
	const char *const c2[] = { "to-label", "app=a", "label", "app=b", NULL };
	const char *const c3[] = { "not", "ip", "10.0.0.1", "from-ip", "10.0.0.2", NULL };
	const char *const c4[] = { "workload", "web", "to-workload", "db", NULL };
	const char *const c5[] = { "from-workload", "web", "workload", "db", NULL };
	const char *const bad[][3] = {
		{ "ip", "10.0.0.256", NULL },
		{ "verdict", "ok", NULL },
		{ "type", "bogus", NULL },
		{ "type", "trace:sideways", NULL },
		{ "port", "99999", NULL },
		{ "identity", "nobody", NULL },
		{ "label", "a in (b", NULL },
		{ "tcp-flags", "syn,bogus", NULL },
		{ "traffic-direction", "up", NULL },
		{ "namespace", "a/b", NULL },
		{ "workload", "", NULL },
		{ "to-workload", "/", NULL },
	};
	const char *const want[] = {
		"--ip: '10.0.0.256' is not an IP address or CIDR",
		"--verdict: unknown verdict 'ok' (FORWARDED, DROPPED, AUDIT, REDIRECTED, ERROR, TRACED, TRANSLATED)",
		"--type: unknown event type 'bogus' (trace[:SUBTYPE], drop, policy-verdict, l7, capture, trace-sock, or a number)",
		"--type: unknown sub-type 'sideways' of 'trace'",
		"--port: '99999' is not a port number",
		"--identity: 'nobody' is neither a number nor a reserved identity (host, world, unmanaged, health, init, remote-node, kube-apiserver, ingress, world-ipv4, world-ipv6)",
		"--label: invalid label selector 'a in (b'",
		"--tcp-flags: unknown flag 'bogus' (SYN, ACK, FIN, RST, PSH, URG, ECE, CWR, NS)",
		"--traffic-direction: must be ingress or egress, not 'up'",
		"--namespace: 'a/b' is not a namespace name",
		"--workload: '' is not [KIND/]NAME (e.g. web, Deployment/web, Deployment/)",
		"--to-workload: '/' is not [KIND/]NAME (e.g. web, Deployment/web, Deployment/)",
	};
	struct bw_flowfilter_builder b;
	char err[256];

	build(c1, NULL, NULL, "--from-ip cannot be combined with --ip");
	build(c2, NULL, NULL, "--label cannot be combined with --from-label or --to-label");
	build(c4, NULL, NULL, "--to-workload cannot be combined with --workload");
	build(c5, NULL, NULL, "--workload cannot be combined with --from-workload or --to-workload");
	/* conflicts are per list: --not ip and from-ip do not clash */
	build(c3, "[{\"source_ip\":[\"10.0.0.2\"]}]",
	      "[{\"source_ip\":[\"10.0.0.1\"]},{\"destination_ip\":[\"10.0.0.1\"]}]", NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		build(bad[i], NULL, NULL, want[i]);

	bw_flowfilter_builder_init(&b);
	ck_assert_int_eq(bw_flowfilter_builder_add(&b, "follow", NULL, err, sizeof(err)), -ENOENT);
	bw_flowfilter_builder_free(&b);
}
END_TEST

START_TEST(test_builder_output_parses)
{
	/* what the builder makes, the parser takes, and it selects the flow */
	const char *const flags[] = { "pod", "batch/cli", "to-port", "8080",
				      "label", "k8s:app in (client, web)",
				      "tcp-flags", "syn", "not", "verdict", "DROPPED",
				      "to-workload", "Deployment/web", NULL };
	struct bw_flowfilter_builder b;
	struct bw_flowfilters fs;
	json_t *wl, *bl;
	char err[256];

	make_flow();
	bw_flowfilter_builder_init(&b);
	for (size_t i = 0; flags[i] != NULL; i++) {
		if (!strcmp(flags[i], "not")) {
			ck_assert_int_eq(bw_flowfilter_builder_add(&b, "not", NULL, err, sizeof(err)), 0);
			continue;
		}
		ck_assert_int_eq(bw_flowfilter_builder_add(&b, flags[i], flags[i + 1], err, sizeof(err)), 0);
		i++;
	}
	ck_assert_int_eq(bw_flowfilter_builder_finish(&b, &wl, &bl, err, sizeof(err)), 0);
	memset(&fs, 0, sizeof(fs));
	ck_assert_int_eq(bw_flowfilters_parse(&fs, wl, bl, err, sizeof(err)), 0);
	ck_assert(bw_flowfilters_match(&fs, &flow));
	flow.verdict = BW_FLOW_VERDICT_DROPPED;
	ck_assert(!bw_flowfilters_match(&fs, &flow));
	flow.verdict = BW_FLOW_VERDICT_FORWARDED;
	flow.destination.workload_kind = "StatefulSet";
	ck_assert(!bw_flowfilters_match(&fs, &flow));
	flow.destination.workload_kind = "Deployment";
	ck_assert(bw_flowfilters_match(&fs, &flow));
	flow.dst_port = 9090;
	ck_assert(!bw_flowfilters_match(&fs, &flow));
	bw_flowfilters_clear(&fs);
	json_decref(wl);
	json_decref(bl);
	bw_flowfilter_builder_free(&b);
}
END_TEST

START_TEST(test_time)
{
	uint64_t now = 1748942067000000000ULL, t;

	ck_assert_int_eq(bw_flowfilter_parse_time("3s", now, &t), 0);
	ck_assert_uint_eq(t, now - 3000000000ULL);
	ck_assert_int_eq(bw_flowfilter_parse_time("1h43m", now, &t), 0);
	ck_assert_uint_eq(t, now - (103ULL * 60) * 1000000000ULL);
	ck_assert_int_eq(bw_flowfilter_parse_time("250ms", now, &t), 0);
	ck_assert_uint_eq(t, now - 250000000ULL);
	ck_assert_int_eq(bw_flowfilter_parse_time("1.5h", now, &t), 0);
	ck_assert_uint_eq(t, now - 5400ULL * 1000000000ULL);
	ck_assert_int_eq(bw_flowfilter_parse_time("2025-06-03T09:14:27Z", now, &t), 0);
	ck_assert_uint_eq(t, 1748942067000000000ULL);
	ck_assert_int_eq(bw_flowfilter_parse_time("2025-06-03T09:14:27.5Z", now, &t), 0);
	ck_assert_uint_eq(t, 1748942067500000000ULL);
	ck_assert_int_eq(bw_flowfilter_parse_time("2025-06-03T11:14:27+02:00", now, &t), 0);
	ck_assert_uint_eq(t, 1748942067000000000ULL);
	ck_assert_int_eq(bw_flowfilter_parse_time("2025-06-03T09:14:27.512094871Z", now, &t), 0);
	ck_assert_uint_eq(t, 1748942067512094871ULL);
	ck_assert_int_eq(bw_flowfilter_parse_time("2025-06-03", now, &t), 0);
	ck_assert_uint_eq(t, 1748908800000000000ULL);
	ck_assert_int_eq(bw_flowfilter_parse_time("yesterday", now, &t), -EINVAL);
	ck_assert_int_eq(bw_flowfilter_parse_time("3x", now, &t), -EINVAL);
	ck_assert_int_eq(bw_flowfilter_parse_time("2025-13-03", now, &t), -EINVAL);
	ck_assert_int_eq(bw_flowfilter_parse_time("", now, &t), -EINVAL);
	/* as Go's time.ParseDuration: no more than an int64 of nanoseconds */
	ck_assert_int_eq(bw_flowfilter_parse_time("99999999999999999h", now, &t), -ERANGE);
	ck_assert_int_eq(bw_flowfilter_parse_time("2562048h", now, &t), -ERANGE);
	ck_assert_int_eq(bw_flowfilter_parse_time("2562047h", now, &t), 0);
	ck_assert_uint_eq(t, 0);
}
END_TEST

static Suite *
flowfilter_suite(void)
{
	Suite *s = suite_create("flowfilter");
	TCase *tc = tcase_create("filters");

	tcase_add_test(tc, test_ip);
	tcase_add_test(tc, test_pod);
	tcase_add_test(tc, test_label);
	tcase_add_test(tc, test_identity_port_protocol);
	tcase_add_test(tc, test_verdict_type_direction);
	tcase_add_test(tc, test_tcp_flags_and_more);
	tcase_add_test(tc, test_and_or_and_lists);
	tcase_add_test(tc, test_workload);
	tcase_add_test(tc, test_builder_either_side);
	tcase_add_test(tc, test_builder_one_side);
	tcase_add_test(tc, test_builder_not);
	tcase_add_test(tc, test_fqdn_and_dns_query);
	tcase_add_test(tc, test_builder_errors);
	tcase_add_test(tc, test_builder_output_parses);
	tcase_add_test(tc, test_time);
	tcase_add_test(tc, test_http_filters);
	tcase_add_test(tc, test_interface_encrypted_unmatchable);
	tcase_add_test(tc, test_kafka_filters);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(flowfilter_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
