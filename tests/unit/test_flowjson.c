/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_flowjson.c - the flow pipeline without the kernel:
 * hand-built struct bw_event records go through bw_flow_handle_event()
 * with fake enrichment sources, and the stored flow is rendered with
 * lib/flowjson.c. Each test checks what `bulwark observe -o json` would
 * print: Hubble's field names, enum names, 64-bit integers as strings, zero
 * values left out, is_reply printed when known, attribution of verdicts to
 * policies, and the flow ring's and subscribers' behaviour.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "bpf/bw_datapath.h"
#include "core/flow/flow.h"
#include "lib/flowjson.h"

/* ---- fake node: two pods and the policies behind the rules ----------------- */

#define EP_WEB 12   /* shop/web-7d4b9c8f6-lm5vz (Deployment web), 10.0.1.12, identity 51920 */
#define EP_CLI 7    /* batch/client, 10.0.1.7, identity 38214 */
#define ID_WEB 51920
#define ID_CLI 38214
#define ID_CIDR (BW_ID_LOCAL_SCOPE + 5)
#define RULE_ALLOW 3
#define RULE_DENY 4

static int
fake_endpoint(uint32_t ep_id, struct bw_flow_peer *out)
{
	static const char *const web[] = {
		"k8s:io.kubernetes.pod.namespace=shop", "k8s:app=web",
		"k8s:io.cilium.k8s.policy.cluster=default",
	};
	static const char *const cli[] = {
		"k8s:io.kubernetes.pod.namespace=batch", "k8s:app=client",
	};
	const char *const *l;
	size_t n;

	if (ep_id == EP_WEB) {
		out->identity = ID_WEB;
		out->ns = "shop";
		out->pod = "web-7d4b9c8f6-lm5vz";
		out->ifname = "lxcweb";
		out->workload_name = "web";
		out->workload_kind = "Deployment";
		l = web;
		n = 3;
	} else if (ep_id == EP_CLI) {
		out->identity = ID_CLI;
		out->ns = "batch";
		out->pod = "client";
		out->ifname = "lxccli";
		l = cli;
		n = 2;
	} else {
		return -ENOENT;
	}
	out->ep_id = ep_id;
	for (size_t i = 0; i < n && i < out->labels_cap; i++)
		out->labels[i] = l[i];
	out->n_labels = n;
	return 0;
}

static int
fake_ipcache(int family, const uint8_t *addr, uint32_t *identity,
	     uint32_t *ep_id)
{
	static const uint8_t web[4] = {10, 0, 1, 12}, cli[4] = {10, 0, 1, 7};

	*identity = BW_ID_WORLD;
	*ep_id = 0;
	if (family == 4 && memcmp(addr, web, 4) == 0) {
		*identity = ID_WEB;
		*ep_id = EP_WEB;
	} else if (family == 4 && memcmp(addr, cli, 4) == 0) {
		*identity = ID_CLI;
		*ep_id = EP_CLI;
	}
	return 0;
}

static size_t
fake_identity_labels(uint32_t id, const char **out, size_t max)
{
	if (id == ID_CIDR && max >= 3) {
		out[0] = "cidr:192.0.2.0/24";
		out[1] = "reserved:world";
		out[2] = "cidr:192.0.0.0/16";
		return 3;
	}
	return 0; /* reserved ones: the pipeline's own table */
}

static int
fake_rule(uint32_t rule_ref, struct bw_flow_policy *out, int *deny)
{
	if (rule_ref == RULE_ALLOW) {
		out->name = "allow-client";
		out->ns = "shop";
		out->kind = "CiliumNetworkPolicy";
		out->revision = 7;
		*deny = 0;
		return 0;
	}
	if (rule_ref == RULE_DENY) {
		out->name = "deny-world";
		out->ns = "";
		out->kind = "CiliumClusterwideNetworkPolicy";
		out->revision = 12345678901ULL;
		*deny = 1;
		return 0;
	}
	return -ENOENT;
}

static int
fake_isolating(uint32_t ep_id, int dir,
	       void (*cb)(const struct bw_flow_policy *p, void *arg), void *arg)
{
	struct bw_flow_policy p = { .name = "default-deny", .ns = "shop",
				    .kind = "NetworkPolicy", .revision = 2 };

	if (ep_id != EP_WEB || dir != BW_DIR_INGRESS)
		return 0;
	cb(&p, arg);
	p.name = "web-ingress";
	p.kind = "CiliumNetworkPolicy";
	p.revision = 3;
	cb(&p, arg);
	return 2;
}

static uint64_t fake_lost_value;

static uint64_t
fake_lost(void)
{
	return fake_lost_value;
}

static const struct bw_flow_sources fake_sources = {
	.endpoint = fake_endpoint,
	.ipcache = fake_ipcache,
	.identity_labels = fake_identity_labels,
	.rule = fake_rule,
	.isolating = fake_isolating,
	.events_lost = fake_lost,
};

static void
setup(void)
{
	bw_flow_set_sources(&fake_sources);
	bw_flow_set_node_name("node-1");
	ck_assert_int_eq(bw_flow_ring_init(64), 0);
}

static void
teardown(void)
{
	bw_flow_detach(); /* frees the ring and subscribers */
}

/* ---- event builders ------------------------------------------------------------- */

static void
ev_v4(struct bw_event *ev, const char *src, const char *dst, uint8_t proto,
      uint16_t sport, uint16_t dport)
{
	memset(ev, 0, sizeof(*ev));
	ck_assert_int_eq(inet_pton(AF_INET, src, ev->saddr), 1);
	ck_assert_int_eq(inet_pton(AF_INET, dst, ev->daddr), 1);
	ev->protocol = proto;
	ev->sport = htons(sport);
	ev->dport = htons(dport);
	ev->pkt_len = 60;
}

/* Push ev through the pipeline; return the stored flow's response JSON. */
static json_t *
run(const struct bw_event *ev)
{
	uint64_t seq = bw_flow_ring_next();
	const struct bw_flow *f;

	ck_assert_int_eq(bw_flow_handle_event(ev, sizeof(*ev)), 0);
	f = bw_flow_ring_at(seq);
	ck_assert_ptr_nonnull(f);
	return bw_flowjson_response(f);
}

static const char *
jstr(json_t *o, const char *path)
{
	json_t *v = o;
	char buf[256], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL && v != NULL;
	     tok = strtok_r(NULL, ".", &save))
		v = json_object_get(v, tok);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static json_t *
jget(json_t *o, const char *path)
{
	json_t *v = o;
	char buf[256], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL && v != NULL;
	     tok = strtok_r(NULL, ".", &save))
		v = json_object_get(v, tok);
	return v;
}

static long long
jint(json_t *o, const char *path)
{
	json_t *v = jget(o, path);

	ck_assert_msg(json_is_integer(v), "%s is not an integer", path);
	return json_integer_value(v);
}

static void
assert_matches(const char *s, const char *re)
{
	regex_t r;

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(regexec(&r, s, 0, NULL, 0) == 0, "'%s' does not match %s", s, re);
	regfree(&r);
}

/* ---- tests ------------------------------------------------------------------------ */

START_TEST(test_trace_syn_to_endpoint)
{
	struct bw_event ev;
	json_t *r, *flow, *labels;
	char *text;

	/* client -> web:8080 SYN, seen entering web (its ingress) */
	ev_v4(&ev, "10.0.1.7", "10.0.1.12", 6, 51644, 8080);
	ev.type = BW_EVENT_TRACE;
	ev.subtype = BW_TRACE_TO_ENDPOINT;
	ev.direction = BW_DIR_INGRESS;
	ev.flags = BW_EV_F_CT_NEW;
	ev.ep_id = EP_WEB;
	ev.ifindex = 17;
	ev.src_identity = ID_CLI;
	ev.dst_identity = ID_WEB;
	ev.tcp_flags = 0x02;
	r = run(&ev);
	flow = json_object_get(r, "flow");

	/* GetFlowsResponse shape */
	ck_assert_ptr_nonnull(flow);
	ck_assert_str_eq(jstr(r, "node_name"), "node-1");
	ck_assert_str_eq(jstr(r, "time"), jstr(flow, "time"));
	assert_matches(jstr(flow, "time"),
		       "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.([0-9]{3}|[0-9]{6}|[0-9]{9}))?Z$");
	assert_matches(jstr(flow, "uuid"),
		       "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

	ck_assert_str_eq(jstr(flow, "verdict"), "FORWARDED");
	ck_assert_str_eq(jstr(flow, "IP.source"), "10.0.1.7");
	ck_assert_str_eq(jstr(flow, "IP.destination"), "10.0.1.12");
	ck_assert_str_eq(jstr(flow, "IP.ipVersion"), "IPv4");
	ck_assert_int_eq(jint(flow, "l4.TCP.source_port"), 51644);
	ck_assert_int_eq(jint(flow, "l4.TCP.destination_port"), 8080);
	ck_assert(json_is_true(jget(flow, "l4.TCP.flags.SYN")));
	ck_assert_ptr_null(jget(flow, "l4.TCP.flags.ACK"));

	/* enrichment: both sides are local pods */
	ck_assert_int_eq(jint(flow, "source.ID"), EP_CLI);
	ck_assert_int_eq(jint(flow, "source.identity"), ID_CLI);
	ck_assert_str_eq(jstr(flow, "source.namespace"), "batch");
	ck_assert_str_eq(jstr(flow, "source.pod_name"), "client");
	ck_assert_int_eq(jint(flow, "destination.ID"), EP_WEB);
	ck_assert_str_eq(jstr(flow, "destination.namespace"), "shop");
	ck_assert_str_eq(jstr(flow, "destination.pod_name"), "web-7d4b9c8f6-lm5vz");
	labels = jget(flow, "destination.labels");
	ck_assert_int_eq(json_array_size(labels), 3);
	/* sorted */
	ck_assert_str_eq(json_string_value(json_array_get(labels, 0)), "k8s:app=web");
	ck_assert_str_eq(json_string_value(json_array_get(labels, 2)),
			 "k8s:io.kubernetes.pod.namespace=shop");
	/* workloads: Hubble's [{name, kind}]; none known for the client */
	ck_assert_int_eq(json_array_size(jget(flow, "destination.workloads")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(
		json_array_get(jget(flow, "destination.workloads"), 0), "name")), "web");
	ck_assert_str_eq(json_string_value(json_object_get(
		json_array_get(jget(flow, "destination.workloads"), 0), "kind")), "Deployment");
	ck_assert_ptr_null(jget(flow, "source.workloads"));

	ck_assert_str_eq(jstr(flow, "Type"), "L3_L4");
	ck_assert_str_eq(jstr(flow, "node_name"), "node-1");
	ck_assert_int_eq(jint(flow, "event_type.type"), 4);
	ck_assert_ptr_null(jget(flow, "event_type.sub_type")); /* 0: omitted */
	ck_assert_str_eq(jstr(flow, "traffic_direction"), "INGRESS");
	ck_assert_str_eq(jstr(flow, "trace_observation_point"), "TO_ENDPOINT");
	ck_assert_str_eq(jstr(flow, "trace_reason"), "NEW");
	ck_assert(json_is_false(jget(flow, "is_reply")));
	ck_assert_ptr_null(jget(flow, "reply"));
	ck_assert_int_eq(jint(flow, "interface.index"), 17);
	ck_assert_str_eq(jstr(flow, "interface.name"), "lxcweb");
	ck_assert_str_eq(jstr(flow, "Summary"), "TCP Flags: SYN");
	/* zero values left out */
	ck_assert_ptr_null(jget(flow, "drop_reason"));
	ck_assert_ptr_null(jget(flow, "drop_reason_desc"));
	ck_assert_ptr_null(jget(flow, "policy_match_type"));
	ck_assert_ptr_null(jget(flow, "extensions"));

	/* the text keeps proto order: time, uuid, verdict, ... Summary */
	text = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_matches(text, "^\\{\"flow\":\\{\"time\":\"[^\"]+\",\"uuid\":\"[^\"]+\",\"verdict\":\"FORWARDED\",\"IP\":");
	ck_assert_ptr_nonnull(strstr(text, "\"Summary\":\"TCP Flags: SYN\"},\"node_name\":\"node-1\",\"time\":"));
	/* Endpoint proto order: ..., labels, pod_name, workloads */
	ck_assert_ptr_nonnull(strstr(text, "\"pod_name\":\"web-7d4b9c8f6-lm5vz\","
					   "\"workloads\":[{\"name\":\"web\",\"kind\":\"Deployment\"}]}"));
	free(text);
	json_decref(r);
}
END_TEST

START_TEST(test_trace_reply_from_endpoint)
{
	struct bw_event ev;
	json_t *r, *flow;

	/* web's SYN-ACK back to the client, leaving web: a reply */
	ev_v4(&ev, "10.0.1.12", "10.0.1.7", 6, 8080, 51644);
	ev.type = BW_EVENT_TRACE;
	ev.subtype = BW_TRACE_FROM_ENDPOINT;
	ev.direction = BW_DIR_EGRESS;
	ev.flags = BW_EV_F_IS_REPLY;
	ev.ep_id = EP_WEB;
	ev.src_identity = ID_WEB;
	ev.dst_identity = ID_CLI;
	ev.tcp_flags = 0x12;
	ev.ct_packets = 2;
	r = run(&ev);
	flow = json_object_get(r, "flow");
	ck_assert_str_eq(jstr(flow, "source.pod_name"), "web-7d4b9c8f6-lm5vz");
	ck_assert_str_eq(jstr(flow, "destination.pod_name"), "client");
	ck_assert_int_eq(jint(flow, "event_type.sub_type"), 5);
	ck_assert_str_eq(jstr(flow, "trace_observation_point"), "FROM_ENDPOINT");
	ck_assert_str_eq(jstr(flow, "trace_reason"), "REPLY");
	/* the endpoint is the source, but it is a reply: the connection is ingress */
	ck_assert_str_eq(jstr(flow, "traffic_direction"), "INGRESS");
	ck_assert(json_is_true(jget(flow, "is_reply")));
	ck_assert(json_is_true(jget(flow, "reply")));
	ck_assert_str_eq(jstr(flow, "Summary"), "TCP Flags: SYN, ACK");
	json_decref(r);
}
END_TEST

START_TEST(test_trace_close_counts)
{
	struct bw_event ev;
	json_t *r, *flow;

	ev_v4(&ev, "10.0.1.7", "10.0.1.12", 6, 51644, 8080);
	ev.type = BW_EVENT_TRACE;
	ev.subtype = BW_TRACE_FROM_ENDPOINT;
	ev.direction = BW_DIR_EGRESS;
	ev.flags = BW_EV_F_CT_CLOSE;
	ev.ep_id = EP_CLI;
	ev.tcp_flags = 0x11;
	ev.ct_packets = 10;
	ev.ct_bytes = 5000000000ULL;
	r = run(&ev);
	flow = json_object_get(r, "flow");
	ck_assert_str_eq(jstr(flow, "trace_reason"), "ESTABLISHED");
	ck_assert_str_eq(jstr(flow, "traffic_direction"), "EGRESS");
	ck_assert_str_eq(jstr(flow, "extensions.@type"), "bulwark.io/FlowExtensions");
	ck_assert(json_is_true(jget(flow, "extensions.connection.closed")));
	/* 64-bit integers are strings */
	ck_assert_str_eq(jstr(flow, "extensions.connection.packets"), "10");
	ck_assert_str_eq(jstr(flow, "extensions.connection.bytes"), "5000000000");
	ck_assert_str_eq(jstr(flow, "Summary"), "TCP Flags: ACK, FIN");
	json_decref(r);
}
END_TEST

START_TEST(test_policy_verdict_allowed)
{
	struct bw_event ev;
	json_t *r, *flow, *by;

	ev_v4(&ev, "10.0.1.7", "10.0.1.12", 6, 51644, 8080);
	ev.type = BW_EVENT_POLICY_VERDICT;
	ev.direction = BW_DIR_INGRESS;
	ev.verdict = BW_VERDICT_FORWARDED;
	ev.ep_id = EP_WEB;
	ev.src_identity = ID_CLI;
	ev.dst_identity = ID_WEB;
	ev.rule_ref = RULE_ALLOW;
	ev.match_type = BW_MATCH_L3_L4;
	ev.tcp_flags = 0x02;
	r = run(&ev);
	flow = json_object_get(r, "flow");
	ck_assert_str_eq(jstr(flow, "verdict"), "FORWARDED");
	ck_assert_int_eq(jint(flow, "event_type.type"), 5);
	ck_assert_ptr_null(jget(flow, "event_type.sub_type"));
	ck_assert_int_eq(jint(flow, "policy_match_type"), 2);
	ck_assert_str_eq(jstr(flow, "traffic_direction"), "INGRESS");
	ck_assert(json_is_false(jget(flow, "is_reply")));
	ck_assert_ptr_null(jget(flow, "trace_observation_point"));
	by = jget(flow, "ingress_allowed_by");
	ck_assert_int_eq(json_array_size(by), 1);
	ck_assert_str_eq(jstr(json_array_get(by, 0), "name"), "allow-client");
	ck_assert_str_eq(jstr(json_array_get(by, 0), "namespace"), "shop");
	ck_assert_str_eq(jstr(json_array_get(by, 0), "kind"), "CiliumNetworkPolicy");
	ck_assert_str_eq(jstr(json_array_get(by, 0), "revision"), "7");
	ck_assert_ptr_null(jget(flow, "egress_allowed_by"));
	ck_assert_ptr_null(jget(flow, "ingress_denied_by"));
	ck_assert_str_eq(jstr(flow, "extensions.@type"), "bulwark.io/FlowExtensions");
	ck_assert_int_eq(jint(flow, "extensions.rule_ref"), RULE_ALLOW);
	ck_assert_ptr_null(jget(flow, "extensions.isolated_by"));
	json_decref(r);
}
END_TEST

START_TEST(test_policy_verdict_default_deny)
{
	struct bw_event ev;
	json_t *r, *flow, *iso;

	ev_v4(&ev, "10.0.1.7", "10.0.1.12", 6, 40112, 8080);
	ev.type = BW_EVENT_POLICY_VERDICT;
	ev.subtype = BW_DROP_POLICY;
	ev.direction = BW_DIR_INGRESS;
	ev.verdict = BW_VERDICT_DROPPED;
	ev.ep_id = EP_WEB;
	ev.src_identity = ID_CLI;
	ev.dst_identity = ID_WEB;
	ev.tcp_flags = 0x02;
	r = run(&ev);
	flow = json_object_get(r, "flow");
	ck_assert_str_eq(jstr(flow, "verdict"), "DROPPED");
	ck_assert_int_eq(jint(flow, "drop_reason"), 133);
	ck_assert_str_eq(jstr(flow, "drop_reason_desc"), "POLICY_DENIED");
	ck_assert_ptr_null(jget(flow, "is_reply")); /* unknown for drops */
	ck_assert_ptr_null(jget(flow, "policy_match_type"));
	ck_assert_ptr_null(jget(flow, "ingress_denied_by"));
	iso = jget(flow, "extensions.isolated_by");
	ck_assert_int_eq(json_array_size(iso), 2);
	ck_assert_str_eq(jstr(json_array_get(iso, 0), "name"), "default-deny");
	ck_assert_str_eq(jstr(json_array_get(iso, 0), "kind"), "NetworkPolicy");
	ck_assert_str_eq(jstr(json_array_get(iso, 0), "revision"), "2");
	ck_assert_str_eq(jstr(json_array_get(iso, 1), "name"), "web-ingress");
	ck_assert_ptr_null(jget(flow, "extensions.rule_ref"));
	json_decref(r);
}
END_TEST

START_TEST(test_policy_verdict_explicit_deny)
{
	struct bw_event ev;
	json_t *r, *flow, *by;

	/* client -> 203.0.113.5:443, denied by a deny rule on its egress */
	ev_v4(&ev, "10.0.1.7", "203.0.113.5", 6, 40000, 443);
	ev.type = BW_EVENT_POLICY_VERDICT;
	ev.subtype = BW_DROP_POLICY_DENY;
	ev.direction = BW_DIR_EGRESS;
	ev.verdict = BW_VERDICT_DROPPED;
	ev.ep_id = EP_CLI;
	ev.src_identity = ID_CLI;
	ev.dst_identity = BW_ID_WORLD;
	ev.rule_ref = RULE_DENY;
	ev.match_type = BW_MATCH_L3_ONLY;
	ev.tcp_flags = 0x02;
	r = run(&ev);
	flow = json_object_get(r, "flow");
	ck_assert_int_eq(jint(flow, "drop_reason"), 181);
	ck_assert_str_eq(jstr(flow, "drop_reason_desc"), "POLICY_DENY");
	ck_assert_str_eq(jstr(flow, "traffic_direction"), "EGRESS");
	ck_assert_int_eq(jint(flow, "policy_match_type"), 1);
	by = jget(flow, "egress_denied_by");
	ck_assert_int_eq(json_array_size(by), 1);
	ck_assert_str_eq(jstr(json_array_get(by, 0), "name"), "deny-world");
	ck_assert_ptr_null(jget(json_array_get(by, 0), "namespace")); /* "" omitted */
	ck_assert_str_eq(jstr(json_array_get(by, 0), "kind"), "CiliumClusterwideNetworkPolicy");
	ck_assert_str_eq(jstr(json_array_get(by, 0), "revision"), "12345678901");
	/* the peer is the world */
	ck_assert_int_eq(jint(flow, "destination.identity"), BW_ID_WORLD);
	ck_assert_int_eq(json_array_size(jget(flow, "destination.labels")), 1);
	ck_assert_str_eq(json_string_value(json_array_get(jget(flow, "destination.labels"), 0)),
			 "reserved:world");
	ck_assert_ptr_null(jget(flow, "destination.namespace"));
	ck_assert_ptr_null(jget(flow, "destination.ID"));
	ck_assert_ptr_null(jget(flow, "extensions.isolated_by"));
	json_decref(r);
}
END_TEST

START_TEST(test_drop_event)
{
	struct bw_event ev;
	json_t *r, *flow;

	ev_v4(&ev, "10.0.1.7", "10.0.1.12", 6, 40112, 8080);
	ev.type = BW_EVENT_DROP;
	ev.subtype = BW_DROP_POLICY;
	ev.direction = BW_DIR_INGRESS;
	ev.verdict = BW_VERDICT_DROPPED;
	ev.ep_id = EP_WEB;
	ev.src_identity = ID_CLI;
	ev.dst_identity = ID_WEB;
	ev.tcp_flags = 0x02;
	r = run(&ev);
	flow = json_object_get(r, "flow");
	ck_assert_str_eq(jstr(flow, "verdict"), "DROPPED");
	ck_assert_int_eq(jint(flow, "event_type.type"), 1);
	ck_assert_int_eq(jint(flow, "event_type.sub_type"), 133);
	ck_assert_int_eq(jint(flow, "drop_reason"), 133);
	ck_assert_str_eq(jstr(flow, "drop_reason_desc"), "POLICY_DENIED");
	ck_assert_str_eq(jstr(flow, "traffic_direction"), "INGRESS");
	ck_assert_ptr_null(jget(flow, "is_reply"));
	ck_assert_ptr_null(jget(flow, "ingress_denied_by")); /* verdict events only */
	ck_assert_int_eq(json_array_size(jget(flow, "extensions.isolated_by")), 2);
	json_decref(r);
}
END_TEST

/*
 * A record the datapath wrote for two events (BW_EV_F_WITH_TRACE /
 * BW_EV_F_WITH_DROP) gives the two flows that the two records a and b
 * would have given, in that order.
 */
static void
assert_record_is(const struct bw_event *rec, const struct bw_event *a, const struct bw_event *b)
{
	uint64_t seq = bw_flow_ring_next();
	json_t *got[2], *want[2];
	int i;

	ck_assert_int_eq(bw_flow_handle_event(rec, sizeof(*rec)), 0);
	ck_assert_uint_eq(bw_flow_ring_next(), seq + 2);
	for (i = 0; i < 2; i++)
		got[i] = bw_flowjson_response(bw_flow_ring_at(seq + i));
	want[0] = run(a);
	want[1] = run(b);
	for (i = 0; i < 2; i++) {
		char *g, *w;

		json_object_del(json_object_get(got[i], "flow"), "uuid");
		json_object_del(json_object_get(want[i], "flow"), "uuid");
		g = json_dumps(got[i], JSON_SORT_KEYS);
		w = json_dumps(want[i], JSON_SORT_KEYS);
		ck_assert_str_eq(g, w);
		free(g);
		free(w);
		json_decref(got[i]);
		json_decref(want[i]);
	}
}

START_TEST(test_record_with_trace)
{
	struct bw_event rec, verdict, trace;
	int v6;

	for (v6 = 0; v6 < 2; v6++) {
		/* an allowed new connection entering web: its verdict and its
		 * creation's trace */
		ev_v4(&verdict, "10.0.1.7", "10.0.1.12", 6, 51644, 8080);
		if (v6)
			verdict.flags = BW_EV_F_IPV6; /* addresses aside: the flag is kept */
		verdict.type = BW_EVENT_POLICY_VERDICT;
		verdict.direction = BW_DIR_INGRESS;
		verdict.verdict = BW_VERDICT_FORWARDED;
		verdict.ep_id = EP_WEB;
		verdict.ifindex = 41;
		verdict.src_identity = ID_CLI;
		verdict.dst_identity = ID_WEB;
		verdict.rule_ref = RULE_ALLOW;
		verdict.match_type = BW_MATCH_L3_L4;
		verdict.tcp_flags = 0x02;
		verdict.ts_ns = 1000000;
		trace = verdict;
		trace.type = BW_EVENT_TRACE;
		trace.subtype = BW_TRACE_TO_ENDPOINT;
		trace.flags |= BW_EV_F_CT_NEW;
		trace.match_type = 0;
		trace.ct_packets = 1;
		trace.ct_bytes = verdict.pkt_len;
		rec = verdict;
		rec.flags |= BW_EV_F_WITH_TRACE;
		assert_record_is(&rec, &verdict, &trace);
	}

	/* audited, leaving client */
	ev_v4(&verdict, "10.0.1.7", "203.0.113.9", 17, 40000, 53);
	verdict.type = BW_EVENT_POLICY_VERDICT;
	verdict.subtype = BW_DROP_POLICY;
	verdict.direction = BW_DIR_EGRESS;
	verdict.verdict = BW_VERDICT_AUDIT;
	verdict.flags = BW_EV_F_AUDITED;
	verdict.ep_id = EP_CLI;
	verdict.src_identity = ID_CLI;
	verdict.dst_identity = BW_ID_WORLD;
	verdict.ts_ns = 2000000;
	trace = verdict;
	trace.type = BW_EVENT_TRACE;
	trace.subtype = BW_TRACE_FROM_ENDPOINT;
	trace.verdict = BW_VERDICT_FORWARDED;
	trace.flags = BW_EV_F_CT_NEW | BW_EV_F_AUDITED;
	trace.ct_packets = 1;
	trace.ct_bytes = verdict.pkt_len;
	rec = verdict;
	rec.flags |= BW_EV_F_WITH_TRACE;
	assert_record_is(&rec, &verdict, &trace);
}
END_TEST

START_TEST(test_record_with_drop)
{
	struct bw_event rec, verdict, drop;

	ev_v4(&verdict, "10.0.1.7", "10.0.1.12", 6, 40112, 8080);
	verdict.type = BW_EVENT_POLICY_VERDICT;
	verdict.subtype = BW_DROP_POLICY_DENY;
	verdict.direction = BW_DIR_INGRESS;
	verdict.verdict = BW_VERDICT_DROPPED;
	verdict.ep_id = EP_WEB;
	verdict.src_identity = ID_CLI;
	verdict.dst_identity = ID_WEB;
	verdict.rule_ref = RULE_DENY;
	verdict.match_type = BW_MATCH_L3_L4;
	verdict.tcp_flags = 0x02;
	verdict.ts_ns = 3000000;
	drop = verdict;
	drop.type = BW_EVENT_DROP;
	rec = verdict;
	rec.flags |= BW_EV_F_WITH_DROP;
	assert_record_is(&rec, &verdict, &drop);
}
END_TEST

START_TEST(test_audit_verdict)
{
	struct bw_event ev;
	json_t *r, *flow;

	ev_v4(&ev, "10.0.1.7", "10.0.1.12", 17, 5353, 53);
	ev.type = BW_EVENT_POLICY_VERDICT;
	ev.subtype = BW_DROP_POLICY; /* the reason it would have had */
	ev.direction = BW_DIR_INGRESS;
	ev.verdict = BW_VERDICT_AUDIT;
	ev.flags = BW_EV_F_AUDITED;
	ev.ep_id = EP_WEB;
	ev.src_identity = ID_CLI;
	ev.dst_identity = ID_WEB;
	r = run(&ev);
	flow = json_object_get(r, "flow");
	ck_assert_str_eq(jstr(flow, "verdict"), "AUDIT");
	ck_assert_ptr_null(jget(flow, "drop_reason"));
	ck_assert(json_is_false(jget(flow, "is_reply")));
	ck_assert_int_eq(jint(flow, "l4.UDP.source_port"), 5353);
	ck_assert_int_eq(jint(flow, "l4.UDP.destination_port"), 53);
	ck_assert_str_eq(jstr(flow, "Summary"), "UDP");
	/* audit of a default-deny drop names the isolating policies */
	ck_assert_int_eq(json_array_size(jget(flow, "extensions.isolated_by")), 2);
	json_decref(r);
}
END_TEST

START_TEST(test_icmp_and_cidr_peer)
{
	struct bw_event ev;
	json_t *r, *flow, *labels;

	ev_v4(&ev, "10.0.1.7", "192.0.2.9", 1, 0, 0);
	ev.type = BW_EVENT_TRACE;
	ev.subtype = BW_TRACE_FROM_ENDPOINT;
	ev.direction = BW_DIR_EGRESS;
	ev.flags = BW_EV_F_CT_NEW;
	ev.ep_id = EP_CLI;
	ev.src_identity = ID_CLI;
	ev.dst_identity = ID_CIDR;
	ev.icmp_type = 8;
	ev.sport = htons(77); /* echo identifier: not a port */
	r = run(&ev);
	flow = json_object_get(r, "flow");
	ck_assert_int_eq(jint(flow, "l4.ICMPv4.type"), 8);
	ck_assert_ptr_null(jget(flow, "l4.ICMPv4.code"));
	ck_assert_str_eq(jstr(flow, "Summary"), "ICMPv4 EchoRequest");
	ck_assert_str_eq(jstr(flow, "traffic_direction"), "EGRESS");
	/* Hubble keeps only the longest cidr: label of a local identity */
	labels = jget(flow, "destination.labels");
	ck_assert_int_eq(json_array_size(labels), 2);
	ck_assert_str_eq(json_string_value(json_array_get(labels, 0)), "cidr:192.0.2.0/24");
	ck_assert_str_eq(json_string_value(json_array_get(labels, 1)), "reserved:world");
	ck_assert_int_eq(jint(flow, "destination.identity"), ID_CIDR);
	json_decref(r);

	/* echo reply: type 0 still gives the (empty) ICMPv4 message */
	ev.icmp_type = 0;
	ev.flags = BW_EV_F_IS_REPLY;
	r = run(&ev);
	flow = json_object_get(r, "flow");
	ck_assert(json_is_object(jget(flow, "l4.ICMPv4")));
	ck_assert_int_eq(json_object_size(jget(flow, "l4.ICMPv4")), 0);
	ck_assert_str_eq(jstr(flow, "Summary"), "ICMPv4 EchoReply");
	json_decref(r);
}
END_TEST

/* The datapath puts the ICMP code in dport (network order). */
static json_t *
run_icmp(uint8_t proto, uint8_t type, uint8_t code)
{
	struct bw_event ev;

	ev_v4(&ev, "192.0.2.9", "10.0.1.7", proto, 0, 0);
	if (proto == 58) {
		memset(ev.saddr, 0, sizeof(ev.saddr));
		memset(ev.daddr, 0, sizeof(ev.daddr));
		ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::9", ev.saddr), 1);
		ck_assert_int_eq(inet_pton(AF_INET6, "fd00::7", ev.daddr), 1);
		ev.flags = BW_EV_F_IPV6;
	}
	ev.type = BW_EVENT_TRACE;
	ev.subtype = BW_TRACE_TO_ENDPOINT;
	ev.direction = BW_DIR_INGRESS;
	ev.flags |= BW_EV_F_CT_RELATED;
	ev.ep_id = EP_CLI;
	ev.src_identity = BW_ID_WORLD;
	ev.dst_identity = ID_CLI;
	ev.icmp_type = type;
	ev.dport = htons(code);
	return run(&ev);
}

START_TEST(test_icmp_code)
{
	static const struct {
		uint8_t proto, type, code;
		const char *summary;
	} t[] = {
		/* gopacket's TypeCode.String(), as Hubble prints it */
		{1, 3, 3, "ICMPv4 DestinationUnreachable(Port)"},
		{1, 3, 0, "ICMPv4 DestinationUnreachable(Net)"},
		{1, 3, 13, "ICMPv4 DestinationUnreachable(CommAdminProhibited)"},
		{1, 3, 99, "ICMPv4 DestinationUnreachable(Code: 99)"},
		{1, 11, 0, "ICMPv4 TimeExceeded(TTLExceeded)"},
		{1, 5, 1, "ICMPv4 Redirect(Host)"},
		{1, 12, 2, "ICMPv4 ParameterProblem(BadLength)"},
		{1, 8, 0, "ICMPv4 EchoRequest"},
		{1, 8, 1, "ICMPv4 EchoRequest(Code: 1)"},
		{1, 42, 7, "ICMPv4 42(7)"},
		{58, 1, 4, "ICMPv6 DestinationUnreachable(PortUnreachable)"},
		{58, 1, 1, "ICMPv6 DestinationUnreachable(AdminProhibited)"},
		{58, 2, 0, "ICMPv6 PacketTooBig"},
		{58, 3, 0, "ICMPv6 TimeExceeded(HopLimitExceeded)"},
		{58, 129, 0, "ICMPv6 EchoReply"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		json_t *r = run_icmp(t[i].proto, t[i].type, t[i].code);
		json_t *flow = json_object_get(r, "flow");
		const char *key = t[i].proto == 1 ? "l4.ICMPv4" : "l4.ICMPv6";
		json_t *l4 = jget(flow, key);

		ck_assert_msg(json_is_object(l4), "%s missing", key);
		if (t[i].type != 0)
			ck_assert_int_eq(json_integer_value(json_object_get(l4, "type")), t[i].type);
		/* protojson: a zero code is left out */
		if (t[i].code != 0)
			ck_assert_int_eq(json_integer_value(json_object_get(l4, "code")), t[i].code);
		else
			ck_assert_ptr_null(json_object_get(l4, "code"));
		ck_assert_str_eq(jstr(flow, "Summary"), t[i].summary);
		ck_assert_str_eq(jstr(flow, "trace_reason"), "RELATED");
		json_decref(r);
	}
}
END_TEST

START_TEST(test_ipv6)
{
	struct bw_event ev;
	json_t *r, *flow;

	memset(&ev, 0, sizeof(ev));
	ck_assert_int_eq(inet_pton(AF_INET6, "fd00::7", ev.saddr), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", ev.daddr), 1);
	ev.type = BW_EVENT_TRACE;
	ev.subtype = BW_TRACE_FROM_ENDPOINT;
	ev.direction = BW_DIR_EGRESS;
	ev.flags = BW_EV_F_IPV6 | BW_EV_F_CT_NEW;
	ev.protocol = 58;
	ev.icmp_type = 128;
	ev.ep_id = EP_CLI;
	ev.src_identity = ID_CLI;
	ev.dst_identity = BW_ID_WORLD_IPV6;
	r = run(&ev);
	flow = json_object_get(r, "flow");
	ck_assert_str_eq(jstr(flow, "IP.source"), "fd00::7");
	ck_assert_str_eq(jstr(flow, "IP.destination"), "2001:db8::1");
	ck_assert_str_eq(jstr(flow, "IP.ipVersion"), "IPv6");
	ck_assert_int_eq(jint(flow, "l4.ICMPv6.type"), 128);
	ck_assert_str_eq(jstr(flow, "Summary"), "ICMPv6 EchoRequest");
	ck_assert_str_eq(json_string_value(json_array_get(jget(flow, "destination.labels"), 0)),
			 "reserved:world-ipv6");
	json_decref(r);
}
END_TEST

START_TEST(test_time_conversion)
{
	struct bw_event ev;
	struct timespec mono, real;
	const struct bw_flow *f;
	uint64_t seq, mono_ns, real_ns, diff;
	char buf[40];

	/* RFC 3339 as protojson writes it: 0, 3, 6 or 9 fractional digits */
	bw_flowjson_time(1748942067000000000ULL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2025-06-03T09:14:27Z");
	bw_flowjson_time(1748942067512000000ULL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2025-06-03T09:14:27.512Z");
	bw_flowjson_time(1748942067512094000ULL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2025-06-03T09:14:27.512094Z");
	bw_flowjson_time(1748942067512094871ULL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2025-06-03T09:14:27.512094871Z");

	/* a monotonic kernel timestamp becomes wall-clock time */
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	mono_ns = (uint64_t)mono.tv_sec * 1000000000u + (uint64_t)mono.tv_nsec;
	real_ns = (uint64_t)real.tv_sec * 1000000000u + (uint64_t)real.tv_nsec;
	ev_v4(&ev, "10.0.1.7", "10.0.1.12", 17, 1, 2);
	ev.type = BW_EVENT_TRACE;
	ev.direction = BW_DIR_INGRESS;
	ev.ep_id = EP_WEB;
	ev.ts_ns = mono_ns - 2000000000ULL; /* two seconds ago */
	seq = bw_flow_ring_next();
	ck_assert_int_eq(bw_flow_handle_event(&ev, sizeof(ev)), 0);
	f = bw_flow_ring_at(seq);
	ck_assert_ptr_nonnull(f);
	diff = real_ns > f->time_ns ? real_ns - f->time_ns : f->time_ns - real_ns;
	/* about two seconds before now; a wide margin, this is no timing test */
	ck_assert_msg(diff > 1000000000ULL && diff < 60000000000ULL,
		      "converted time is %llu ns away from now", (unsigned long long)diff);
}
END_TEST

static int sub_calls;
static int sub_freed;
static int sub_id;

static void
sub_cb(const struct bw_flow *f, void *ud)
{
	sub_calls++;
	ck_assert_ptr_eq(ud, &sub_calls);
	ck_assert_uint_ge(f->size, sizeof(struct bw_flow));
	if (sub_calls == 2)
		bw_flow_unsubscribe(sub_id); /* from inside the callback */
}

static void
sub_free(void *ud)
{
	sub_freed++;
}

START_TEST(test_ring_and_subscribers)
{
	struct bw_event ev;
	struct bw_flow_stats st = { .size = sizeof(st) };
	int other;

	ck_assert_int_eq(bw_flow_ring_init(4), 0);
	sub_calls = sub_freed = 0;
	sub_id = bw_flow_subscribe(&sub_calls, sub_cb, &sub_calls, sub_free);
	ck_assert_int_gt(sub_id, 0);
	other = bw_flow_subscribe((void *)1, sub_cb, &sub_calls, sub_free);
	ck_assert_int_gt(other, 0);
	bw_flow_unsubscribe_owner((void *)1);
	ck_assert_int_eq(sub_freed, 1);

	ev_v4(&ev, "10.0.1.7", "10.0.1.12", 17, 1, 2);
	ev.type = BW_EVENT_TRACE;
	ev.direction = BW_DIR_INGRESS;
	ev.ep_id = EP_WEB;
	uint64_t start = bw_flow_ring_next();
	for (int i = 0; i < 6; i++) {
		ev.sport = htons((uint16_t)(1000 + i));
		ck_assert_int_eq(bw_flow_handle_event(&ev, sizeof(ev)), 0);
	}
	/* unsubscribed after its second flow; freed once */
	ck_assert_int_eq(sub_calls, 2);
	ck_assert_int_eq(sub_freed, 2);
	/* capacity 4: the two oldest are gone */
	ck_assert_ptr_null(bw_flow_ring_at(start));
	ck_assert_ptr_null(bw_flow_ring_at(start + 1));
	ck_assert_ptr_nonnull(bw_flow_ring_at(start + 2));
	ck_assert_uint_eq(bw_flow_ring_at(start + 5)->src_port, 1005);
	ck_assert_uint_eq(bw_flow_ring_first(), start + 2);
	ck_assert_uint_eq(bw_flow_ring_next(), start + 6);
	ck_assert_ptr_null(bw_flow_ring_at(start + 6));

	/* a short record is refused and counted */
	ck_assert_int_eq(bw_flow_handle_event(&ev, sizeof(ev) - 1), -EINVAL);
	ev.type = 99;
	ck_assert_int_eq(bw_flow_handle_event(&ev, sizeof(ev)), -EINVAL);
	bw_flow_stats_get(&st);
	ck_assert_uint_ge(st.decode_errors, 2);
	ck_assert_uint_eq(st.ring_capacity, 4);
	ck_assert_uint_eq(st.ring_used, 4);
	ck_assert_uint_ge(st.ring_evicted, 2);
	ck_assert_uint_eq(st.subscribers, 0);
}
END_TEST

/*
 * The ring recycles the memory of evicted flows: flows of growing and
 * shrinking sizes through a ring of 3 each come back whole.
 */
START_TEST(test_ring_recycles_memory)
{
	char pods[40][64];
	char lab[40][8][96];
	const char *labels[40][8];
	uint64_t first;

	ck_assert_int_eq(bw_flow_ring_init(3), 0);
	first = bw_flow_ring_next();
	for (int i = 0; i < 40; i++) {
		struct bw_flow f;
		int nl = (i * 7) % 8 + 1, len = 4 + (i * 13) % 50;

		memset(&f, 0, sizeof(f));
		f.size = sizeof(f);
		f.verdict = BW_FLOW_VERDICT_FORWARDED;
		f.type = BW_FLOW_TYPE_L3_L4;
		f.is_reply = -1;
		f.src_port = (uint16_t)i;
		memset(pods[i], 'a' + i % 26, (size_t)len);
		pods[i][len] = '\0';
		f.source.ns = "ns";
		f.source.pod_name = pods[i];
		for (int k = 0; k < nl; k++) {
			snprintf(lab[i][k], sizeof(lab[i][k]), "k8s:l%d=%0*d", k, len, i);
			labels[i][k] = lab[i][k];
		}
		f.source.labels = labels[i];
		f.source.n_labels = (uint32_t)nl;
		ck_assert_int_eq(bw_flow_publish(&f), 0);
		/* every flow still in the ring is intact */
		for (int j = i > 2 ? i - 2 : 0; j <= i; j++) {
			const struct bw_flow *g = bw_flow_ring_at(first + (uint64_t)j);

			ck_assert_ptr_nonnull(g);
			ck_assert_uint_eq(g->src_port, j);
			ck_assert_str_eq(g->source.pod_name, pods[j]);
			ck_assert_uint_eq(g->source.n_labels, (j * 7) % 8 + 1);
			for (uint32_t k = 0; k < g->source.n_labels; k++)
				ck_assert_str_eq(g->source.labels[k], lab[j][k]);
		}
	}
	ck_assert_ptr_null(bw_flow_ring_at(first + 36));
	ck_assert_int_eq(bw_flow_ring_init(64), 0);
}
END_TEST

START_TEST(test_publish_copies)
{
	struct bw_flow f;
	const struct bw_flow *stored;
	char ns[] = "shop", pod[] = "web";
	const char *labels[] = { "k8s:app=web" };
	char *text;
	uint64_t seq = bw_flow_ring_next();

	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	f.verdict = BW_FLOW_VERDICT_FORWARDED;
	f.type = BW_FLOW_TYPE_L3_L4;
	f.is_reply = -1;
	f.source.ns = ns;
	f.source.pod_name = pod;
	f.source.labels = labels;
	f.source.n_labels = 1;
	ck_assert_int_eq(bw_flow_publish(&f), 0);
	strcpy(ns, "XXXX"); /* the stored copy does not follow */
	labels[0] = "gone";
	stored = bw_flow_ring_at(seq);
	ck_assert_ptr_nonnull(stored);
	ck_assert_str_eq(stored->source.ns, "shop");
	ck_assert_str_eq(stored->source.labels[0], "k8s:app=web");
	ck_assert_str_eq(stored->node_name, "node-1");
	ck_assert(stored->uuid[0] != '\0');
	ck_assert(stored->time_ns != 0);
	ck_assert_int_eq(bw_flowjson_text(stored, &text), 0);
	ck_assert_ptr_null(strchr(text, '\n'));
	ck_assert_ptr_nonnull(strstr(text, "\"source\":{\"namespace\":\"shop\",\"labels\":[\"k8s:app=web\"],\"pod_name\":\"web\"}"));
	ck_assert_ptr_null(strstr(text, "is_reply"));
	free(text);
}
END_TEST

/* Extensions added by a script (or a proxy's decision) are copied with the
 * flow and merged under "extensions"; the core's own members win. */
START_TEST(test_extra_extensions)
{
	struct bw_flow f;
	const struct bw_flow *stored;
	char ext[] = "{\"lua\":{\"tagger\":{\"team\":\"payments\"}},\"rule_ref\":99}";
	json_t *doc, *flow;
	char *text;
	uint64_t seq = bw_flow_ring_next();

	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	f.verdict = BW_FLOW_VERDICT_FORWARDED;
	f.type = BW_FLOW_TYPE_L3_L4;
	f.is_reply = -1;
	f.rule_ref = 7;
	f.extensions_json = ext;
	ck_assert_int_eq(bw_flow_publish(&f), 0);
	memset(ext, 'X', sizeof(ext) - 1); /* the stored copy does not follow */
	stored = bw_flow_ring_at(seq);
	ck_assert_ptr_nonnull(stored);
	ck_assert_int_eq(bw_flowjson_text(stored, &text), 0);
	doc = json_loads(text, 0, NULL);
	free(text);
	ck_assert_ptr_nonnull(doc);
	flow = json_object_get(doc, "flow");
	ck_assert_str_eq(json_string_value(jget(flow, "extensions.lua.tagger.team")),
			 "payments");
	ck_assert_str_eq(json_string_value(jget(flow, "extensions.@type")),
			 "bulwark.io/FlowExtensions");
	ck_assert_int_eq(json_integer_value(jget(flow, "extensions.rule_ref")), 7);
	json_decref(doc);

	/* text that is not a JSON object is left out, the flow still renders */
	f.rule_ref = 0;
	f.extensions_json = "[1,2]";
	seq = bw_flow_ring_next();
	ck_assert_int_eq(bw_flow_publish(&f), 0);
	ck_assert_int_eq(bw_flowjson_text(bw_flow_ring_at(seq), &text), 0);
	ck_assert_ptr_null(strstr(text, "extensions"));
	free(text);
}
END_TEST

/*
 * A proxy's L7 flow (core/proxy builds them; here by hand): Hubble's l7
 * message in proto order, latency as a string, the HTTP Summary, no TCP
 * flags, and every string deep-copied into the ring.
 */
START_TEST(test_l7_http_flow)
{
	char method[] = "GET", url[] = "http://web.shop:8080/api?limit=10";
	struct bw_flow_kv hdrs[] = { { ":authority", "web.shop:8080" },
				     { "authorization", "HUBBLE_REDACTED" } };
	struct bw_flow_http h = { .code = 200, .method = method, .url = url,
				  .protocol = "HTTP/1.1", .headers = hdrs, .n_headers = 2 };
	struct bw_flow_l7 l7 = { .size = sizeof(l7), .type = BW_FLOW_L7_RESPONSE,
				 .latency_ns = 3412876, .http = &h };
	struct bw_flow f;
	const struct bw_flow *stored;
	uint64_t seq = bw_flow_ring_next();
	char *text;

	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	f.verdict = BW_FLOW_VERDICT_FORWARDED;
	f.type = BW_FLOW_TYPE_L7;
	f.event_type = BW_FLOW_EVENT_L7;
	f.ip_version = 4;
	strcpy(f.src_ip, "10.0.1.12");
	strcpy(f.dst_ip, "10.0.1.7");
	f.protocol = 6;
	f.tcp_flags = BW_FLOW_TCP_ACK;
	f.src_port = 8080;
	f.dst_port = 51644;
	f.traffic_direction = BW_FLOW_TRAFFIC_INGRESS;
	f.is_reply = 1;
	f.l7 = &l7;
	ck_assert_int_eq(bw_flow_publish(&f), 0);
	strcpy(method, "PUT"); /* the stored copy does not follow */
	hdrs[0].value = "gone";
	stored = bw_flow_ring_at(seq);
	ck_assert_ptr_nonnull(stored);
	ck_assert_ptr_nonnull(stored->l7);
	ck_assert_str_eq(stored->l7->http->method, "GET");
	ck_assert_int_eq(bw_flowjson_text(stored, &text), 0);
	ck_assert_msg(strstr(text, "\"l4\":{\"TCP\":{\"source_port\":8080,\"destination_port\":51644}}") != NULL,
		      "%s", text);
	ck_assert_msg(strstr(text, "\"Type\":\"L7\",\"node_name\":\"node-1\",\"l7\":{\"type\":\"RESPONSE\","
			     "\"latency_ns\":\"3412876\",\"http\":{\"code\":200,\"method\":\"GET\","
			     "\"url\":\"http://web.shop:8080/api?limit=10\",\"protocol\":\"HTTP/1.1\","
			     "\"headers\":[{\"key\":\":authority\",\"value\":\"web.shop:8080\"},"
			     "{\"key\":\"authorization\",\"value\":\"HUBBLE_REDACTED\"}]}},\"reply\":true,"
			     "\"event_type\":{\"type\":129},\"traffic_direction\":\"INGRESS\",\"is_reply\":true") != NULL,
		      "%s", text);
	ck_assert_msg(strstr(text, "\"Summary\":\"HTTP/1.1 200 3ms (GET http://web.shop:8080/api?limit=10)\"") != NULL,
		      "%s", text);
	free(text);

	/* the request: Summary "HTTP/1.1 GET url"; a hook's denial in extensions */
	l7.type = BW_FLOW_L7_REQUEST;
	l7.latency_ns = 0;
	h.code = 0;
	f.verdict = BW_FLOW_VERDICT_DROPPED;
	f.is_reply = 0;
	f.verdict_by = "lua:deny-admin";
	f.verdict_reason = "no admin from batch";
	seq = bw_flow_ring_next();
	ck_assert_int_eq(bw_flow_publish(&f), 0);
	ck_assert_int_eq(bw_flowjson_text(bw_flow_ring_at(seq), &text), 0);
	ck_assert_msg(strstr(text, "\"Summary\":\"HTTP/1.1 PUT http://web.shop:8080/api?limit=10\"") != NULL,
		      "%s", text);
	ck_assert_msg(strstr(text, "\"verdict_by\":{\"by\":\"lua:deny-admin\",\"reason\":\"no admin from batch\"}") != NULL,
		      "%s", text);
	free(text);
}
END_TEST

/* Datapath flows store no Summary (the serialiser computes it) and get a
 * distinct, well-formed v4 UUID each. */
START_TEST(test_lazy_summary_and_uuids)
{
	struct bw_event ev;
	const struct bw_flow *f;
	char seen[40][40];
	json_t *r;

	ck_assert_int_eq(bw_flow_ring_init(64), 0);
	ev_v4(&ev, "10.0.1.7", "10.0.1.12", 6, 51644, 8080);
	ev.type = BW_EVENT_TRACE;
	ev.subtype = BW_TRACE_TO_ENDPOINT;
	ev.direction = BW_DIR_INGRESS;
	ev.flags = BW_EV_F_CT_NEW;
	ev.ep_id = EP_WEB;
	ev.src_identity = ID_CLI;
	ev.dst_identity = ID_WEB;
	ev.tcp_flags = 0x12; /* SYN, ACK */
	for (int i = 0; i < 40; i++) {
		uint64_t seq = bw_flow_ring_next();

		ck_assert_int_eq(bw_flow_handle_event(&ev, sizeof(ev)), 0);
		f = bw_flow_ring_at(seq);
		ck_assert_ptr_nonnull(f);
		ck_assert_ptr_null(f->summary);
		assert_matches(f->uuid,
			       "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
		snprintf(seen[i], sizeof(seen[i]), "%s", f->uuid);
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(seen[j], seen[i]);
	}
	r = bw_flowjson_response(f);
	ck_assert_str_eq(jstr(r, "flow.Summary"), "TCP Flags: SYN, ACK");
	json_decref(r);
}
END_TEST

static char lost_source[64];
static uint64_t lost_n;

static void
lost_handler(const char *source, uint64_t n)
{
	snprintf(lost_source, sizeof(lost_source), "%s", source);
	lost_n += n;
}

START_TEST(test_datapath_lost_events)
{
	struct bw_flow_stats st = { .size = sizeof(st) };

	lost_n = 0;
	lost_source[0] = '\0';
	bw_flow_set_lost_handler(lost_handler);
	fake_lost_value = 5;   /* lost before we started: counted, not reported */
	bw_flow_set_sources(&fake_sources);
	bw_flow_check_lost();
	ck_assert_uint_eq(lost_n, 0);
	fake_lost_value = 12;
	bw_flow_check_lost();
	ck_assert_uint_eq(lost_n, 7);
	ck_assert_str_eq(lost_source, "PERF_EVENT_RING_BUFFER");
	bw_flow_check_lost();  /* no change, no report */
	ck_assert_uint_eq(lost_n, 7);
	bw_flow_stats_get(&st);
	ck_assert_uint_eq(st.lost_datapath, 12);
	bw_flow_set_lost_handler(NULL);
}
END_TEST

START_TEST(test_lost_events_json)
{
	json_t *r = bw_flowjson_lost("HUBBLE_RING_BUFFER", 42, "node-1",
				     1748942067000000000ULL);
	char *text = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);

	ck_assert_str_eq(text, "{\"lost_events\":{\"source\":\"HUBBLE_RING_BUFFER\","
			       "\"num_events_lost\":\"42\"},\"node_name\":\"node-1\","
			       "\"time\":\"2025-06-03T09:14:27Z\"}");
	free(text);
	json_decref(r);
}
END_TEST

START_TEST(test_monitor_levels)
{
	ck_assert_int_eq(bw_flow_monitor_level("none"), BW_MONITOR_NONE);
	ck_assert_int_eq(bw_flow_monitor_level("lowest"), BW_MONITOR_LOWEST);
	ck_assert_int_eq(bw_flow_monitor_level("low"), BW_MONITOR_LOW);
	ck_assert_int_eq(bw_flow_monitor_level("2"), BW_MONITOR_LOW);
	ck_assert_int_eq(bw_flow_monitor_level("3"), BW_MONITOR_MEDIUM);
	ck_assert_int_eq(bw_flow_monitor_level("4"), BW_MONITOR_MAX);
	ck_assert_int_eq(bw_flow_monitor_level("5"), -1);
	ck_assert_int_eq(bw_flow_monitor_level("medium"), BW_MONITOR_MEDIUM);
	ck_assert_int_eq(bw_flow_monitor_level("maximum"), BW_MONITOR_MAX);
	ck_assert_int_eq(bw_flow_monitor_level("max"), BW_MONITOR_MAX);
	ck_assert_int_eq(bw_flow_monitor_level("loud"), -1);
}
END_TEST

START_TEST(test_enum_names)
{
	ck_assert_str_eq(bw_flowjson_verdict_name(4), "AUDIT");
	ck_assert_int_eq(bw_flowjson_verdict_parse("dropped"), 2);
	ck_assert_str_eq(bw_flowjson_obs_point_name(BW_FLOW_OBS_TO_ENDPOINT), "TO_ENDPOINT");
	ck_assert_str_eq(bw_flowjson_obs_point_name(BW_FLOW_OBS_FROM_ENDPOINT), "FROM_ENDPOINT");
	ck_assert_str_eq(bw_flowjson_match_name(2), "L3-L4");
	ck_assert_str_eq(bw_flowjson_match_name(6), "Proto-Only");
	ck_assert_str_eq(bw_flowjson_trace_reason_name(3), "REPLY");
	ck_assert_ptr_null(bw_flowjson_verdict_name(99));
}
END_TEST

static Suite *
flowjson_suite(void)
{
	Suite *s = suite_create("flowjson");
	TCase *tc = tcase_create("pipeline");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_trace_syn_to_endpoint);
	tcase_add_test(tc, test_trace_reply_from_endpoint);
	tcase_add_test(tc, test_trace_close_counts);
	tcase_add_test(tc, test_policy_verdict_allowed);
	tcase_add_test(tc, test_policy_verdict_default_deny);
	tcase_add_test(tc, test_policy_verdict_explicit_deny);
	tcase_add_test(tc, test_drop_event);
	tcase_add_test(tc, test_audit_verdict);
	tcase_add_test(tc, test_record_with_trace);
	tcase_add_test(tc, test_record_with_drop);
	tcase_add_test(tc, test_icmp_and_cidr_peer);
	tcase_add_test(tc, test_icmp_code);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_time_conversion);
	tcase_add_test(tc, test_ring_and_subscribers);
	tcase_add_test(tc, test_publish_copies);
	tcase_add_test(tc, test_ring_recycles_memory);
	tcase_add_test(tc, test_lost_events_json);
	tcase_add_test(tc, test_datapath_lost_events);
	tcase_add_test(tc, test_monitor_levels);
	tcase_add_test(tc, test_enum_names);
	tcase_add_test(tc, test_lazy_summary_and_uuids);
	tcase_add_test(tc, test_l7_http_flow);
	tcase_add_test(tc, test_extra_extensions);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(flowjson_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
