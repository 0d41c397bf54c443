/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_svcmap.c - the servicemap module through its descriptor,
 * with a fake core: which flows count (one per connection, replies never,
 * every drop, audits), how peers become nodes (world with addresses, CIDR,
 * host, reserved, bare identity or address), the memory bounds (the least
 * recently seen edges go first, nodes follow), the policies each edge's
 * verdicts name (allowed by, denied by, default deny), and GET /v1/map's
 * namespace and since parameters.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "bulwark/flow.h"
#include "bulwark/module.h"
#include "tests/unit/fake_core.h"

extern const struct bw_module bw_module_desc;

/* ---- the instance, on the tests' fake core (tests/unit/fake_core.h) ---------------- */

static struct fake_ctx fk_ctx = { .module = "servicemap" };

/* GET /v1/map's parameters for the next fake_core_request() */
static void
fk_query(const char *ns, const char *since)
{
	memset(fake_core.query, 0, sizeof(fake_core.query));
	fake_core.query[0][0] = "namespace";
	fake_core.query[0][1] = ns;
	fake_core.query[1][0] = "since";
	fake_core.query[1][1] = since;
}

struct sm_conf_t {
	int64_t max_nodes, max_edges, retention;
};

static void
sm_setup(int64_t max_nodes, int64_t max_edges)
{
	static struct sm_conf_t conf;

	ck_assert_uint_eq(bw_module_desc.conf_size, sizeof(conf));
	fake_core_reset();
	fake_core.base = event_base_new();
	conf.max_nodes = max_nodes;
	conf.max_edges = max_edges;
	conf.retention = 3600000;
	ck_assert_int_eq(bw_module_desc.init(FAKE_CTX(&fk_ctx), fake_core_api(), &conf), 0);
	ck_assert_int_eq(bw_module_desc.start(FAKE_CTX(&fk_ctx)), 0);
	ck_assert_ptr_nonnull(fake_core.flow_cb);
	ck_assert_ptr_nonnull(fake_core.handler);
	ck_assert_str_eq(fake_core.route_method, "GET");
	ck_assert_str_eq(fake_core.route_path, "/v1/map");
}

static void
sm_teardown(void)
{
	bw_module_desc.stop(FAKE_CTX(&fk_ctx));
	fake_core.flow_free(fake_core.flow_ud);
	event_base_free(fake_core.base);
	fake_core_reset();
}

/* GET /v1/map with the given parameters; the parsed reply. */
static json_t *
sm_get(const char *ns, const char *since)
{
	json_t *doc;

	fk_query(ns, since);
	ck_assert_int_eq(fake_core_request(), 0);
	ck_assert_int_eq(fake_core.status, 200);
	doc = json_loads(fake_core.reply, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	return doc;
}

/* The edge SRC -> DST PROTO/PORT, or NULL. */
static json_t *
sm_edge(json_t *doc, const char *src, const char *dst, const char *proto, int port)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(doc, "edges"), i, e)
		if (!strcmp(json_string_value(json_object_get(e, "source")), src) &&
		    !strcmp(json_string_value(json_object_get(e, "destination")), dst) &&
		    !strcmp(json_string_value(json_object_get(e, "protocol")), proto) &&
		    json_integer_value(json_object_get(e, "port")) == port)
			return e;
	return NULL;
}

static json_t *
sm_node(json_t *doc, const char *id)
{
	json_t *n;
	size_t i;

	json_array_foreach(json_object_get(doc, "nodes"), i, n)
		if (!strcmp(json_string_value(json_object_get(n, "id")), id))
			return n;
	return NULL;
}

static long long
ji(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

/* ---- flows -------------------------------------------------------------------------- */

static uint64_t now_ns = 1764145592000000000ull; /* 2025-11-26T08:26:32Z */

static const char *const lab_world[] = { "reserved:world" };
static const char *const lab_cidr[] = { "cidr:203.0.113.0/24", "reserved:world" };
static const char *const lab_rnode[] = { "reserved:remote-node" };

static void
ep_pod(struct bw_flow_endpoint *ep, uint32_t id, const char *ns, const char *pod)
{
	memset(ep, 0, sizeof(*ep));
	ep->id = id;
	ep->identity = 256 + id;
	ep->ns = ns;
	ep->pod_name = pod;
}

/* A new-connection trace from SRC to DST (pods unless set after). */
static void
flow_base(struct bw_flow *f, int event, enum bw_flow_verdict v, uint8_t proto,
	  uint16_t port)
{
	memset(f, 0, sizeof(*f));
	f->size = sizeof(*f);
	f->time_ns = (now_ns += 1000000);
	f->verdict = v;
	f->type = BW_FLOW_TYPE_L3_L4;
	f->event_type = (uint32_t)event;
	f->ip_version = 4;
	strcpy(f->src_ip, "10.1.0.2");
	strcpy(f->dst_ip, "10.1.0.1");
	f->protocol = proto;
	f->src_port = 40000;
	f->dst_port = port;
	f->is_reply = 0;
	ep_pod(&f->source, 2, "x", "b");
	ep_pod(&f->destination, 1, "x", "a");
	if (event == BW_FLOW_EVENT_TRACE) {
		/* pod to pod: traced where it enters the destination (medium) */
		f->trace_reason = BW_FLOW_REASON_NEW;
		f->flags = BW_FLOW_F_CT_NEW;
		f->trace_observation_point = BW_FLOW_OBS_TO_ENDPOINT;
	}
}

static void
feed(struct bw_flow *f)
{
	fake_core.flow_cb(f, fake_core.flow_ud);
}

START_TEST(test_counts_one_per_connection)
{
	struct bw_flow f;
	json_t *doc, *e;

	sm_setup(100, 100);
	/* a connection x/b -> x/a:80 seen leaving b and entering a
	 * (aggregation none): once */
	flow_base(&f, BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED, 6, 80);
	f.trace_observation_point = BW_FLOW_OBS_FROM_ENDPOINT;
	feed(&f);
	f.trace_observation_point = BW_FLOW_OBS_TO_ENDPOINT;
	feed(&f);
	/* the SYN-ACK (a reply) and later packets: no count, no edge a -> b */
	flow_base(&f, BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED, 6, 40000);
	ep_pod(&f.source, 1, "x", "a");
	ep_pod(&f.destination, 2, "x", "b");
	f.is_reply = 1;
	f.trace_reason = BW_FLOW_REASON_REPLY;
	f.flags = 0;
	feed(&f);
	flow_base(&f, BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED, 6, 80);
	f.trace_reason = BW_FLOW_REASON_ESTABLISHED;
	f.flags = 0;
	feed(&f);
	/* an allowed policy verdict adds nothing to the trace's count */
	flow_base(&f, BW_FLOW_EVENT_POLICY_VERDICT, BW_FLOW_VERDICT_FORWARDED, 6, 80);
	feed(&f);
	/* a second connection, traced only where it enters a (medium) */
	flow_base(&f, BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED, 6, 80);
	feed(&f);

	/* drops: every packet; audits: every verdict */
	flow_base(&f, BW_FLOW_EVENT_DROP, BW_FLOW_VERDICT_DROPPED, 6, 81);
	f.is_reply = -1;
	feed(&f);
	feed(&f);
	flow_base(&f, BW_FLOW_EVENT_POLICY_VERDICT, BW_FLOW_VERDICT_DROPPED, 6, 81);
	feed(&f); /* the verdict of a dropped packet: the drop event counts */
	flow_base(&f, BW_FLOW_EVENT_POLICY_VERDICT, BW_FLOW_VERDICT_AUDIT, 17, 53);
	feed(&f);
	flow_base(&f, BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED, 17, 53);
	feed(&f);
	/* L7 flows do not count (their connection did) */
	flow_base(&f, BW_FLOW_EVENT_L7, BW_FLOW_VERDICT_FORWARDED, 6, 80);
	f.type = BW_FLOW_TYPE_L7;
	feed(&f);

	doc = sm_get(NULL, NULL);
	ck_assert_int_eq(json_array_size(json_object_get(doc, "edges")), 3);
	e = sm_edge(doc, "x/b", "x/a", "TCP", 80);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(ji(e, "forwarded"), 2);
	ck_assert_int_eq(ji(e, "dropped"), 0);
	e = sm_edge(doc, "x/b", "x/a", "TCP", 81);
	ck_assert_int_eq(ji(e, "dropped"), 2);
	ck_assert_int_eq(ji(e, "forwarded"), 0);
	e = sm_edge(doc, "x/b", "x/a", "UDP", 53);
	ck_assert_int_eq(ji(e, "audit"), 1);
	ck_assert_int_eq(ji(e, "forwarded"), 1);
	ck_assert_ptr_null(sm_edge(doc, "x/a", "x/b", "TCP", 40000));
	ck_assert_int_eq(ji(json_object_get(doc, "stats"), "flows_mapped"), 6);
	json_decref(doc);
	sm_teardown();
}
END_TEST

/* The policy entry {kind, namespace, name, effect} of edge e, or NULL. */
static json_t *
sm_pol(json_t *e, const char *ns, const char *name, const char *effect)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(e, "policies"), i, p)
		if (!strcmp(json_string_value(json_object_get(p, "namespace")), ns) &&
		    !strcmp(json_string_value(json_object_get(p, "name")), name) &&
		    !strcmp(json_string_value(json_object_get(p, "effect")), effect))
			return p;
	return NULL;
}

START_TEST(test_edges_name_the_policies_of_their_verdicts)
{
	static const struct bw_flow_policy web = { "web", "x", "CiliumNetworkPolicy", 1, NULL, 0 };
	static const struct bw_flow_policy base = { "baseline", "", "CiliumClusterwideNetworkPolicy", 2, NULL, 0 };
	static const struct bw_flow_policy deny = { "no-db", "x", "CiliumNetworkPolicy", 1, NULL, 0 };
	struct bw_flow f;
	json_t *doc, *e, *p;

	sm_setup(100, 100);
	/* two allowed connections x/b -> x/a:80: web allowed them at a's
	 * ingress, the baseline at b's egress */
	for (int i = 0; i < 2; i++) {
		flow_base(&f, BW_FLOW_EVENT_POLICY_VERDICT, BW_FLOW_VERDICT_FORWARDED, 6, 80);
		f.traffic_direction = BW_FLOW_TRAFFIC_INGRESS;
		f.ingress_allowed_by = &web;
		f.n_ingress_allowed_by = 1;
		feed(&f);
		flow_base(&f, BW_FLOW_EVENT_POLICY_VERDICT, BW_FLOW_VERDICT_FORWARDED, 6, 80);
		f.traffic_direction = BW_FLOW_TRAFFIC_EGRESS;
		f.egress_allowed_by = &base;
		f.n_egress_allowed_by = 1;
		f.ingress_allowed_by = &deny; /* the other direction's: not this verdict's */
		f.n_ingress_allowed_by = 1;
		feed(&f);
		flow_base(&f, BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED, 6, 80);
		feed(&f);
	}
	/* x/b -> x/a:5432 denied by a deny rule */
	flow_base(&f, BW_FLOW_EVENT_POLICY_VERDICT, BW_FLOW_VERDICT_DROPPED, 6, 5432);
	f.traffic_direction = BW_FLOW_TRAFFIC_INGRESS;
	f.ingress_denied_by = &deny;
	f.n_ingress_denied_by = 1;
	f.isolated_by = &web; /* a deny rule answers: not default deny */
	f.n_isolated_by = 1;
	feed(&f);
	/* x/b -> x/a:22 dropped by default deny: web isolates a */
	flow_base(&f, BW_FLOW_EVENT_POLICY_VERDICT, BW_FLOW_VERDICT_DROPPED, 6, 22);
	f.traffic_direction = BW_FLOW_TRAFFIC_INGRESS;
	f.isolated_by = &web;
	f.n_isolated_by = 1;
	feed(&f);
	feed(&f);

	doc = sm_get(NULL, NULL);
	e = sm_edge(doc, "x/b", "x/a", "TCP", 80);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(ji(e, "forwarded"), 2);
	ck_assert_int_eq(json_array_size(json_object_get(e, "policies")), 2);
	/* sorted: cluster-wide (namespace "") first */
	p = json_array_get(json_object_get(e, "policies"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(p, "name")), "baseline");
	ck_assert_str_eq(json_string_value(json_object_get(p, "kind")),
			 "CiliumClusterwideNetworkPolicy");
	ck_assert_int_eq(ji(p, "verdicts"), 2);
	p = sm_pol(e, "x", "web", "allow");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(ji(p, "verdicts"), 2);
	ck_assert_ptr_null(sm_pol(e, "x", "no-db", "allow"));

	e = sm_edge(doc, "x/b", "x/a", "TCP", 5432);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(ji(e, "forwarded") + ji(e, "dropped"), 0);
	ck_assert_ptr_nonnull(sm_pol(e, "x", "no-db", "deny"));
	ck_assert_int_eq(json_array_size(json_object_get(e, "policies")), 1);

	e = sm_edge(doc, "x/b", "x/a", "TCP", 22);
	p = sm_pol(e, "x", "web", "default-deny");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(ji(p, "verdicts"), 2);
	/* attribution alone is not a mapped flow */
	ck_assert_int_eq(ji(json_object_get(doc, "stats"), "flows_mapped"), 2);
	json_decref(doc);
	sm_teardown();
}
END_TEST

START_TEST(test_peers_become_nodes)
{
	struct bw_flow f;
	json_t *doc, *n, *e;
	char ip[32];
	int i;

	sm_setup(100, 100);
	/* x/b -> world on 10 addresses: one node, 8 addresses kept */
	for (i = 0; i < 10; i++) {
		flow_base(&f, BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED, 6, 443);
		memset(&f.destination, 0, sizeof(f.destination));
		f.destination.identity = 2;
		f.destination.labels = lab_world;
		f.destination.n_labels = 1;
		f.trace_observation_point = BW_FLOW_OBS_FROM_ENDPOINT;
		snprintf(ip, sizeof(ip), "192.0.2.%d", 10 + i);
		strcpy(f.dst_ip, ip);
		feed(&f);
	}
	/* x/b -> world:53 redirected to the DNS proxy (proxy visibility or
	 * DNS rules): traced where it enters the proxy only, counted there;
	 * the same to a local pod counts where it enters the pod */
	flow_base(&f, BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED, 17, 53);
	memset(&f.destination, 0, sizeof(f.destination));
	f.destination.identity = 2;
	f.destination.labels = lab_world;
	f.destination.n_labels = 1;
	f.trace_observation_point = BW_FLOW_OBS_TO_PROXY;
	strcpy(f.dst_ip, "192.0.2.53");
	feed(&f);
	flow_base(&f, BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED, 6, 9092);
	f.trace_observation_point = BW_FLOW_OBS_TO_PROXY;
	feed(&f);
	f.trace_observation_point = BW_FLOW_OBS_TO_ENDPOINT;
	feed(&f);
	/* a CIDR identity */
	flow_base(&f, BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED, 6, 80);
	memset(&f.destination, 0, sizeof(f.destination));
	f.destination.identity = 16777217;
	f.destination.labels = lab_cidr;
	f.destination.n_labels = 2;
	f.trace_observation_point = BW_FLOW_OBS_FROM_ENDPOINT;
	strcpy(f.dst_ip, "203.0.113.10");
	feed(&f);
	/* host -> x/a: counted where it enters a (the source is no local pod) */
	flow_base(&f, BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED, 6, 80);
	memset(&f.source, 0, sizeof(f.source));
	f.source.identity = 1;
	strcpy(f.src_ip, "10.0.0.1");
	f.trace_observation_point = BW_FLOW_OBS_TO_ENDPOINT;
	feed(&f);
	/* remote-node, a bare identity, an unknown address */
	flow_base(&f, BW_FLOW_EVENT_DROP, BW_FLOW_VERDICT_DROPPED, 6, 80);
	memset(&f.source, 0, sizeof(f.source));
	f.source.identity = 6;
	f.source.labels = lab_rnode;
	f.source.n_labels = 1;
	feed(&f);
	flow_base(&f, BW_FLOW_EVENT_DROP, BW_FLOW_VERDICT_DROPPED, 1, 0);
	memset(&f.source, 0, sizeof(f.source));
	f.source.identity = 70000;
	feed(&f);
	flow_base(&f, BW_FLOW_EVENT_DROP, BW_FLOW_VERDICT_DROPPED, 6, 22);
	memset(&f.source, 0, sizeof(f.source));
	strcpy(f.src_ip, "10.9.9.9");
	feed(&f);

	doc = sm_get(NULL, NULL);
	n = sm_node(doc, "world");
	ck_assert_ptr_nonnull(n);
	ck_assert_str_eq(json_string_value(json_object_get(n, "kind")), "world");
	ck_assert_int_eq(json_array_size(json_object_get(n, "addresses")), 8);
	ck_assert_ptr_null(json_object_get(n, "namespace"));
	e = sm_edge(doc, "x/b", "world", "TCP", 443);
	ck_assert_int_eq(ji(e, "forwarded"), 10);
	ck_assert_int_eq(ji(sm_edge(doc, "x/b", "world", "UDP", 53), "forwarded"), 1);
	ck_assert_int_eq(ji(sm_edge(doc, "x/b", "x/a", "TCP", 9092), "forwarded"), 1);
	n = sm_node(doc, "cidr:203.0.113.0/24");
	ck_assert_str_eq(json_string_value(json_object_get(n, "kind")), "cidr");
	ck_assert_str_eq(json_string_value(json_object_get(n, "name")), "203.0.113.0/24");
	ck_assert_int_eq(ji(sm_edge(doc, "host", "x/a", "TCP", 80), "forwarded"), 1);
	ck_assert_str_eq(json_string_value(json_object_get(sm_node(doc, "host"), "kind")),
			 "host");
	ck_assert_str_eq(json_string_value(json_object_get(sm_node(doc, "remote-node"),
							   "kind")), "reserved");
	ck_assert_int_eq(ji(sm_edge(doc, "identity:70000", "x/a", "ICMPv4", 0),
			    "dropped"), 1);
	ck_assert_int_eq(ji(sm_edge(doc, "ip:10.9.9.9", "x/a", "TCP", 22), "dropped"), 1);
	n = sm_node(doc, "x/a");
	ck_assert_str_eq(json_string_value(json_object_get(n, "namespace")), "x");
	ck_assert_str_eq(json_string_value(json_object_get(n, "name")), "a");
	ck_assert_int_eq(ji(n, "identity"), 257);
	json_decref(doc);
	sm_teardown();
}
END_TEST

START_TEST(test_bounds_evict_least_recent)
{
	struct bw_flow f;
	json_t *doc, *st;
	char pod[16];
	int i;

	/* 16 edges at most: 20 ports, the first 4 go */
	sm_setup(100, 16);
	for (i = 0; i < 20; i++) {
		flow_base(&f, BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED, 6,
			  (uint16_t)(1000 + i));
		feed(&f);
		if (i == 10) {
			/* port 1000 is seen again: it is recent now */
			flow_base(&f, BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED,
				  6, 1000);
			feed(&f);
		}
	}
	doc = sm_get(NULL, NULL);
	ck_assert_int_eq(json_array_size(json_object_get(doc, "edges")), 16);
	ck_assert_ptr_nonnull(sm_edge(doc, "x/b", "x/a", "TCP", 1000));
	ck_assert_int_eq(ji(sm_edge(doc, "x/b", "x/a", "TCP", 1000), "forwarded"), 2);
	for (i = 1; i <= 4; i++)
		ck_assert_ptr_null(sm_edge(doc, "x/b", "x/a", "TCP", 1000 + i));
	ck_assert_ptr_nonnull(sm_edge(doc, "x/b", "x/a", "TCP", 1019));
	st = json_object_get(doc, "stats");
	ck_assert_int_eq(ji(st, "evicted_edges"), 4);
	ck_assert_int_eq(ji(st, "edges"), 16);
	json_decref(doc);
	sm_teardown();

	/* 16 nodes at most: 20 clients of x/a; old edges go with their nodes */
	sm_setup(16, 100);
	for (i = 0; i < 20; i++) {
		flow_base(&f, BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED, 6, 80);
		snprintf(pod, sizeof(pod), "c%02d", i);
		ep_pod(&f.source, (uint32_t)(10 + i), "y", pod);
		feed(&f);
	}
	doc = sm_get(NULL, NULL);
	st = json_object_get(doc, "stats");
	ck_assert_int_le(ji(st, "nodes"), 16);
	ck_assert_int_eq(ji(st, "nodes"), (long long)json_array_size(json_object_get(doc, "nodes")));
	ck_assert_ptr_nonnull(sm_edge(doc, "y/c19", "x/a", "TCP", 80));
	ck_assert_ptr_null(sm_edge(doc, "y/c00", "x/a", "TCP", 80));
	ck_assert_ptr_null(sm_node(doc, "y/c00"));
	ck_assert_int_eq(ji(st, "edges") + 1, ji(st, "nodes"));
	json_decref(doc);
	sm_teardown();
}
END_TEST

START_TEST(test_api_namespace_and_since)
{
	struct bw_flow f;
	json_t *doc;
	char since[64];

	sm_setup(100, 100);
	flow_base(&f, BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED, 6, 80);
	feed(&f); /* x/b -> x/a, at now_ns */
	now_ns += 5000000000ull;
	/* a time between the two flows (08:26:32.001 and 08:26:37.002) */
	snprintf(since, sizeof(since), "2025-11-26T08:26:36.500Z");
	flow_base(&f, BW_FLOW_EVENT_DROP, BW_FLOW_VERDICT_DROPPED, 6, 80);
	ep_pod(&f.source, 3, "y", "c");
	feed(&f); /* y/c -> x/a */

	doc = sm_get("y", NULL);
	ck_assert_int_eq(json_array_size(json_object_get(doc, "edges")), 1);
	ck_assert_ptr_nonnull(sm_edge(doc, "y/c", "x/a", "TCP", 80));
	ck_assert_int_eq(json_array_size(json_object_get(doc, "nodes")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "namespace")), "y");
	json_decref(doc);

	doc = sm_get("x", NULL);
	ck_assert_int_eq(json_array_size(json_object_get(doc, "edges")), 2);
	/* nodes sorted by namespace, then id */
	ck_assert_str_eq(json_string_value(json_object_get(
		json_array_get(json_object_get(doc, "nodes"), 0), "id")), "x/a");
	ck_assert_str_eq(json_string_value(json_object_get(
		json_array_get(json_object_get(doc, "nodes"), 2), "id")), "y/c");
	json_decref(doc);

	doc = sm_get(NULL, since);
	ck_assert_int_eq(json_array_size(json_object_get(doc, "edges")), 1);
	ck_assert_ptr_nonnull(sm_edge(doc, "y/c", "x/a", "TCP", 80));
	json_decref(doc);

	fk_query(NULL, "soon");
	ck_assert_int_eq(fake_core_request(), 0);
	ck_assert_int_eq(fake_core.status, 400);
	ck_assert_ptr_nonnull(strstr(fake_core.reply, "since: 'soon'"));
	sm_teardown();
}
END_TEST

static Suite *
svcmap_suite(void)
{
	Suite *s = suite_create("servicemap");
	TCase *tc = tcase_create("map");

	tcase_add_test(tc, test_counts_one_per_connection);
	tcase_add_test(tc, test_peers_become_nodes);
	tcase_add_test(tc, test_edges_name_the_policies_of_their_verdicts);
	tcase_add_test(tc, test_bounds_evict_least_recent);
	tcase_add_test(tc, test_api_namespace_and_since);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(svcmap_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
