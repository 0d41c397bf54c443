/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_hubble_pb.c - the hubble-observer module's encodings
 * (modules/hubble-observer/hubble_pb.c, hubble_req.c) without a server:
 *
 *   - one flow model, two encodings: each sample flow (TCP, UDP, SCTP,
 *     ICMPv4/v6, no IP, drops with policies, a closed connection, L7 HTTP
 *     request/response/denied by a hook, DNS, Kafka, a protocol Hubble has
 *     no message for, staged verdicts, proxy_port, Lua extensions) goes
 *     through hubble_pb_flow(), is packed and unpacked as flow.Flow, and
 *     its proto3 JSON (protobuf's JSON mapping, written here from the
 *     message descriptors, proto field names) must equal what
 *     lib/flowjson.c prints for `bulwark observe -o json`;
 *   - a few fields checked one by one in the decoded message (L7 type,
 *     latency, HTTP headers, DNS, Kafka, TCP flags left out of L7 flows);
 *   - field masks: what they keep, what they refuse;
 *   - FlowFilter -> lib/flowfilter.c JSON: Hubble's fields, bulwark's
 *     FlowFilterExtensions carried as field numbers, an unknown number and
 *     CEL refused;
 *   - grpc-timeout values.
 *
 * hubble_pb.c and hubble_req.c reach nothing of the core, so no core API
 * (tests/unit/fake_core.c) is needed.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "tests/unit/check_main.h"
#include "hubble.h"
#include "lib/flowfilter.h"
#include "lib/flowjson.h"
#include "bulwark/extensions.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/struct.pb-c.h"
#include "google/protobuf/wrappers.pb-c.h"

/* ---- protobuf's JSON mapping, from the descriptors ---------------------------- */

static json_t *pj_msg(const ProtobufCMessage *m);

static json_t *
pj_time(const Google__Protobuf__Timestamp *t)
{
	char buf[64], frac[16] = "";
	time_t secs = (time_t)t->seconds;
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	if (t->nanos == 0)
		;
	else if (t->nanos % 1000000 == 0)
		snprintf(frac, sizeof(frac), ".%03d", t->nanos / 1000000);
	else if (t->nanos % 1000 == 0)
		snprintf(frac, sizeof(frac), ".%06d", t->nanos / 1000);
	else
		snprintf(frac, sizeof(frac), ".%09d", t->nanos);
	strcat(buf, frac);
	strcat(buf, "Z");
	return json_string(buf);
}

static json_t *
pj_struct_value(const Google__Protobuf__Value *v)
{
	json_t *o;

	switch (v->kind_case) {
	case GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE:
		/* an integral number compares as the integer JSON has */
		if (v->number_value == (double)(json_int_t)v->number_value)
			return json_integer((json_int_t)v->number_value);
		return json_real(v->number_value);
	case GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE:
		return json_string(v->string_value);
	case GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE:
		return json_boolean(v->bool_value);
	case GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE:
		return pj_msg(&v->struct_value->base);
	case GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE:
		o = json_array();
		for (size_t i = 0; i < v->list_value->n_values; i++)
			json_array_append_new(o, pj_struct_value(v->list_value->values[i]));
		return o;
	default:
		return json_null();
	}
}

static json_t *
pj_value(const ProtobufCFieldDescriptor *fd, const void *member)
{
	char buf[32];
	const ProtobufCEnumValue *ev;

	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)member);
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)member);
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		snprintf(buf, sizeof(buf), "%lld", (long long)*(const int64_t *)member);
		return json_string(buf);
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)*(const uint64_t *)member);
		return json_string(buf);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)member);
	case PROTOBUF_C_TYPE_FLOAT:
		return json_real(*(const float *)member);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_real(*(const double *)member);
	case PROTOBUF_C_TYPE_ENUM:
		ev = protobuf_c_enum_descriptor_get_value(fd->descriptor, *(const int *)member);
		return ev != NULL ? json_string(ev->name) : json_integer(*(const int *)member);
	case PROTOBUF_C_TYPE_STRING:
		return json_string(*(char *const *)member);
	case PROTOBUF_C_TYPE_MESSAGE:
		return pj_msg(*(ProtobufCMessage *const *)member);
	case PROTOBUF_C_TYPE_BYTES:
		break;
	}
	ck_abort_msg("bytes field %s: not in flow.Flow", fd->name);
	return NULL;
}

static size_t
pj_size(const ProtobufCFieldDescriptor *fd)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 4;
	}
}

static int
pj_is_default(const ProtobufCFieldDescriptor *fd, const void *member)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_STRING:
		return **(char *const *)member == '\0';
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(void *const *)member == NULL;
	case PROTOBUF_C_TYPE_BOOL:
		return !*(const protobuf_c_boolean *)member;
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)member)->len == 0;
	default: {
		static const char zero[8];

		return memcmp(member, zero, pj_size(fd)) == 0;
	}
	}
}

static json_t *
pj_msg(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	json_t *o;

	if (d == &google__protobuf__timestamp__descriptor)
		return pj_time((const Google__Protobuf__Timestamp *)m);
	if (d == &google__protobuf__bool_value__descriptor)
		return json_boolean(((const Google__Protobuf__BoolValue *)m)->value);
	if (d == &google__protobuf__struct__descriptor) {
		const Google__Protobuf__Struct *st = (const Google__Protobuf__Struct *)m;

		o = json_object();
		for (size_t i = 0; i < st->n_fields; i++)
			json_object_set_new(o, st->fields[i]->key,
					    pj_struct_value(st->fields[i]->value));
		return o;
	}
	if (d == &google__protobuf__any__descriptor) {
		const Google__Protobuf__Any *any = (const Google__Protobuf__Any *)m;
		FlowExtensions *x;

		ck_assert_str_eq(any->type_url, "bulwark.io/FlowExtensions");
		x = flow_extensions__unpack(NULL, any->value.len, any->value.data);
		ck_assert_ptr_nonnull(x);
		o = pj_msg(&x->base);
		json_object_set_new(o, "@type", json_string(any->type_url));
		flow_extensions__free_unpacked(x, NULL);
		return o;
	}
	o = json_object();
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];
		const char *member = (const char *)m + fd->offset;

		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)m + fd->quantifier_offset);
			const char *arr = *(const char *const *)member;
			json_t *a;

			if (n == 0)
				continue;
			a = json_array();
			for (size_t k = 0; k < n; k++)
				json_array_append_new(a, pj_value(fd, arr + k * pj_size(fd)));
			json_object_set_new(o, fd->name, a);
		} else if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			/* a oneof member is printed when set, even at its default */
			if (*(const uint32_t *)((const char *)m + fd->quantifier_offset) == fd->id)
				json_object_set_new(o, fd->name, pj_value(fd, member));
		} else if (!pj_is_default(fd, member)) {
			json_object_set_new(o, fd->name, pj_value(fd, member));
		}
	}
	return o;
}

/* Encode f as GetFlows sends it, decode it again, print proto3 JSON. */
static json_t *
pj_flow(const struct bw_flow *f, int extensions, const struct hubble_mask *mask)
{
	struct hubble_arena a = { 0 };
	Flow__Flow msg, *back;
	uint8_t *buf;
	size_t len;
	json_t *o;

	hubble_pb_flow(f, extensions, &a, &msg);
	hubble_mask_apply(mask, &msg.base);
	buf = hubble_pb_frame(&msg.base, &len);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(buf[0], 0);
	ck_assert_uint_eq((size_t)buf[1] << 24 | (size_t)buf[2] << 16 |
			  (size_t)buf[3] << 8 | buf[4], len - 5);
	back = flow__flow__unpack(NULL, len - 5, buf + 5);
	ck_assert_ptr_nonnull(back);
	o = pj_msg(&back->base);
	flow__flow__free_unpacked(back, NULL);
	free(buf);
	hubble_arena_free(&a);
	return o;
}

static void
assert_same(const struct bw_flow *f, const char *what)
{
	json_t *want = bw_flowjson_flow(f), *got = pj_flow(f, 1, NULL);
	char *ws = json_dumps(want, JSON_SORT_KEYS), *gs = json_dumps(got, JSON_SORT_KEYS);

	ck_assert_msg(json_equal(want, got), "%s:\n observe -o json: %s\n GetFlows:        %s",
		      what, ws, gs);
	free(ws);
	free(gs);
	json_decref(want);
	json_decref(got);
}

/* ---- sample flows ------------------------------------------------------------------- */

static const char *const web_labels[] = {
	"k8s:app=web", "k8s:io.cilium.k8s.policy.cluster=default",
	"k8s:io.kubernetes.pod.namespace=shop",
};
static const char *const cli_labels[] = { "k8s:app=client", "k8s:io.kubernetes.pod.namespace=batch" };
static const char *const pol_labels[] = {
	"k8s:io.cilium.k8s.policy.derived-from=CiliumNetworkPolicy",
	"k8s:io.cilium.k8s.policy.name=allow-web",
};
static const struct bw_flow_policy allow_web = {
	.name = "allow-web", .ns = "shop", .kind = "CiliumNetworkPolicy",
	.revision = 7, .labels = pol_labels, .n_labels = 2,
};
static const struct bw_flow_policy deny_all[] = {
	{ .name = "default-deny", .ns = "shop", .kind = "NetworkPolicy", .revision = 3 },
	{ .name = "cluster-lock", .kind = "CiliumClusterwideNetworkPolicy", .revision = 1 },
};

static void
base_flow(struct bw_flow *f)
{
	memset(f, 0, sizeof(*f));
	f->size = sizeof(*f);
	f->seq = 42;
	f->time_ns = 1796000000123456789ull;
	strcpy(f->uuid, "6f1d2c0e-8b7a-4c53-9d8e-2a41f7c3b915");
	f->node_name = "default/node.example";
	f->verdict = BW_FLOW_VERDICT_FORWARDED;
	f->type = BW_FLOW_TYPE_L3_L4;
	f->event_type = BW_FLOW_EVENT_TRACE;
	f->ip_version = 4;
	strcpy(f->src_ip, "10.0.1.7");
	strcpy(f->dst_ip, "10.0.1.12");
	f->protocol = 6;
	f->tcp_flags = BW_FLOW_TCP_SYN;
	f->src_port = 51644;
	f->dst_port = 8080;
	f->source = (struct bw_flow_endpoint){
		.id = 7, .identity = 38214, .ns = "batch", .pod_name = "client",
		.labels = cli_labels, .n_labels = 2,
	};
	f->destination = (struct bw_flow_endpoint){
		.id = 12, .identity = 51920, .ns = "shop", .pod_name = "web-7d4b9c8f6-lm5vz",
		.labels = web_labels, .n_labels = 3, .workload_name = "web",
		.workload_kind = "Deployment",
	};
	f->traffic_direction = BW_FLOW_TRAFFIC_INGRESS;
	f->trace_observation_point = BW_FLOW_OBS_TO_ENDPOINT;
	f->trace_reason = BW_FLOW_REASON_NEW;
	f->is_reply = 0;
	f->ifindex = 17;
	f->ifname = "lxc5b2e9a41c0d7";
	f->ingress_allowed_by = &allow_web;
	f->n_ingress_allowed_by = 1;
	f->policy_match_type = 1;
}

static const struct bw_flow_kv req_headers[] = {
	{ ":authority", "10.0.1.12" }, { "user-agent", "curl/8.5.0" }, { "x-token", "HIDDEN" },
};
static const struct bw_flow_http http_req = {
	.method = "GET", .url = "http://10.0.1.12/public/a?x=1", .protocol = "HTTP/1.1",
	.headers = req_headers, .n_headers = 3,
};
static const struct bw_flow_http http_resp = {
	.code = 200, .method = "GET", .url = "http://10.0.1.12/public/a?x=1",
	.protocol = "HTTP/1.1",
};
static const char *const dns_ips[] = { "192.0.2.10", "2001:db8::10" };
static const char *const dns_cnames[] = { "edge.api.example." };
static const char *const dns_qtypes[] = { "A" };
static const char *const dns_rrtypes[] = { "CNAME", "A", "AAAA" };
static const struct bw_flow_dns dns_answer = {
	.query = "api.example.", .ips = dns_ips, .n_ips = 2, .ttl = 300,
	.cnames = dns_cnames, .n_cnames = 1, .observation_source = "proxy",
	.qtypes = dns_qtypes, .n_qtypes = 1, .rrtypes = dns_rrtypes, .n_rrtypes = 3,
};
static const struct bw_flow_dns dns_nx = {
	.query = "nope.example.", .observation_source = "proxy", .rcode = 3,
	.qtypes = dns_qtypes, .n_qtypes = 1,
};
static const struct bw_flow_kafka kafka_req = {
	.api_version = 9, .api_key = "produce", .correlation_id = 17, .topic = "orders",
};
static const struct bw_flow_kafka kafka_denied = {
	.error_code = 29, .api_key = "fetch", .correlation_id = 18, .topic = "payments",
};
static const struct bw_flow_kv redis_fields[] = { { "cmd", "GET" }, { "key", "session:1" } };

static struct bw_flow_l7 l7_rec;

static void
l7_flow(struct bw_flow *f, enum bw_flow_l7_type type, uint64_t latency)
{
	base_flow(f);
	f->type = BW_FLOW_TYPE_L7;
	f->event_type = BW_FLOW_EVENT_L7;
	f->trace_observation_point = BW_FLOW_OBS_UNKNOWN_POINT;
	f->trace_reason = BW_FLOW_REASON_UNKNOWN;
	f->tcp_flags = BW_FLOW_TCP_ACK | BW_FLOW_TCP_PSH; /* never shown for L7 */
	f->is_reply = type == BW_FLOW_L7_RESPONSE;
	memset(&l7_rec, 0, sizeof(l7_rec));
	l7_rec.size = sizeof(l7_rec);
	l7_rec.type = type;
	l7_rec.latency_ns = latency;
	f->l7 = &l7_rec;
}

/* ---- one model, two encodings ----------------------------------------------------- */

START_TEST(test_same_l3l4)
{
	struct bw_flow f;

	base_flow(&f);
	assert_same(&f, "TCP SYN, ingress, allowed by a policy, workload, interface");
	f.is_reply = -1;
	f.protocol = 17;
	f.tcp_flags = 0;
	f.traffic_direction = BW_FLOW_TRAFFIC_EGRESS;
	assert_same(&f, "UDP, egress, is_reply unknown");
	f.protocol = 132;
	assert_same(&f, "SCTP");
	f.protocol = 1;
	f.src_port = f.dst_port = 0;
	f.icmp_type = 8;
	assert_same(&f, "ICMPv4 echo request");
	f.ip_version = 6;
	strcpy(f.src_ip, "fd00::1:2");
	strcpy(f.dst_ip, "2001:db8::10");
	f.protocol = 58;
	f.icmp_type = 1;
	f.icmp_code = 4;
	memset(&f.destination, 0, sizeof(f.destination));
	f.destination.identity = 2;
	f.destination.labels = (const char *const[]){ "reserved:world" };
	f.destination.n_labels = 1;
	assert_same(&f, "ICMPv6 port unreachable, to the world");
	f.ip_version = 0;
	f.src_ip[0] = f.dst_ip[0] = '\0';
	f.protocol = 0;
	memset(&f.source, 0, sizeof(f.source));
	assert_same(&f, "no IP, no source");

	/* the names the DNS proxy learnt for the peers (Hubble's
	 * source_names / destination_names) */
	base_flow(&f);
	f.destination_names = (const char *const[]){ "api.example", "edge.api.example" };
	f.n_destination_names = 2;
	assert_same(&f, "a connection to an address with two learnt names");
	f.source_names = (const char *const[]){ "db.example" };
	f.n_source_names = 1;
	f.destination_names = NULL;
	f.n_destination_names = 0;
	assert_same(&f, "a reply from an address with a learnt name");
}
END_TEST

START_TEST(test_same_drops_and_extensions)
{
	struct bw_flow f;

	base_flow(&f);
	f.verdict = BW_FLOW_VERDICT_DROPPED;
	f.event_type = BW_FLOW_EVENT_DROP;
	f.event_sub_type = 133;
	f.drop_reason = 133;
	f.drop_reason_desc = "POLICY_DENIED";
	f.n_ingress_allowed_by = 0;
	f.ingress_denied_by = deny_all;
	f.n_ingress_denied_by = 1;
	f.isolated_by = deny_all;
	f.n_isolated_by = 2;
	f.rule_ref = 4;
	f.trace_observation_point = BW_FLOW_OBS_UNKNOWN_POINT;
	assert_same(&f, "a drop denied by a policy, isolated by two, with a rule reference");
	f.drop_reason_desc = NULL;
	assert_same(&f, "a drop without a reason name");

	base_flow(&f);
	f.flags = BW_FLOW_F_CT_CLOSE;
	f.ct_packets = 12;
	f.ct_bytes = 4096;
	f.tcp_flags = BW_FLOW_TCP_FIN | BW_FLOW_TCP_ACK;
	f.trace_reason = BW_FLOW_REASON_ESTABLISHED;
	assert_same(&f, "a closed connection's totals (extensions.connection)");

	base_flow(&f);
	f.verdict = BW_FLOW_VERDICT_REDIRECTED;
	f.event_type = BW_FLOW_EVENT_POLICY_VERDICT;
	f.proxy_port = 15001;
	f.staged_verdict = BW_FLOW_VERDICT_DROPPED;
	f.staged_by = deny_all;
	f.n_staged_by = 1;
	assert_same(&f, "a redirect to a proxy port, with a staged verdict");

	base_flow(&f);
	f.extensions_json = "{\"lua\":{\"script\":\"audit.lua\",\"hook\":\"on_flow\",\"n\":3,"
			    "\"ratio\":0.5,\"ok\":true,\"tags\":[\"a\",1,null],\"sub\":{\"k\":\"v\"}}}";
	assert_same(&f, "what a Lua hook attached (extensions.lua)");
	base_flow(&f);
	f.summary = "TCP Flags: SYN";
	f.time_ns = 1796000000000000000ull;
	assert_same(&f, "a Summary given by the datapath, a time on a whole second");
	f.time_ns += 5000000;
	assert_same(&f, "a time with milliseconds");
	f.time_ns += 7000;
	assert_same(&f, "a time with microseconds");
}
END_TEST

START_TEST(test_same_l7)
{
	struct bw_flow f;

	l7_flow(&f, BW_FLOW_L7_REQUEST, 0);
	l7_rec.http = &http_req;
	assert_same(&f, "an HTTP request with headers");
	l7_flow(&f, BW_FLOW_L7_RESPONSE, 1873000);
	l7_rec.http = &http_resp;
	f.traffic_direction = BW_FLOW_TRAFFIC_EGRESS;
	assert_same(&f, "an HTTP response with its latency");
	l7_flow(&f, BW_FLOW_L7_REQUEST, 0);
	l7_rec.http = &http_req;
	f.verdict = BW_FLOW_VERDICT_DROPPED;
	f.n_ingress_allowed_by = 0;
	f.isolated_by = &allow_web;
	f.n_isolated_by = 1;
	f.verdict_by = "lua:guard.lua";
	f.verdict_reason = "no tokens after 18:00";
	assert_same(&f, "an HTTP request a hook denied (extensions.verdict_by)");

	l7_flow(&f, BW_FLOW_L7_REQUEST, 0);
	l7_rec.dns = &dns_answer;
	f.protocol = 17;
	assert_same(&f, "a DNS request");
	l7_flow(&f, BW_FLOW_L7_RESPONSE, 912000);
	l7_rec.dns = &dns_answer;
	f.protocol = 17;
	assert_same(&f, "a DNS answer with addresses and a CNAME");
	l7_rec.dns = &dns_nx;
	assert_same(&f, "a DNS NXDOMAIN answer");

	l7_flow(&f, BW_FLOW_L7_REQUEST, 0);
	l7_rec.kafka = &kafka_req;
	assert_same(&f, "a Kafka produce request");
	l7_flow(&f, BW_FLOW_L7_RESPONSE, 2000);
	l7_rec.kafka = &kafka_denied;
	f.verdict = BW_FLOW_VERDICT_DROPPED;
	assert_same(&f, "a Kafka fetch refused (TOPIC_AUTHORIZATION_FAILED)");

	l7_flow(&f, BW_FLOW_L7_REQUEST, 0);
	l7_rec.proto = "redis";
	l7_rec.fields = redis_fields;
	l7_rec.n_fields = 2;
	assert_same(&f, "a protocol Hubble has no message for (extensions.l7)");
}
END_TEST

/* ---- fields one by one ---------------------------------------------------------- */

START_TEST(test_l7_fields)
{
	struct bw_flow f;
	struct hubble_arena a = { 0 };
	Flow__Flow m;

	l7_flow(&f, BW_FLOW_L7_RESPONSE, 1873000);
	l7_rec.http = &http_resp;
	hubble_pb_flow(&f, 0, &a, &m);
	ck_assert_int_eq(m.type, FLOW__FLOW_TYPE__L7);
	ck_assert_ptr_nonnull(m.l7);
	ck_assert_int_eq(m.l7->type, FLOW__L7_FLOW_TYPE__RESPONSE);
	ck_assert_uint_eq(m.l7->latency_ns, 1873000);
	ck_assert_int_eq(m.l7->record_case, FLOW__LAYER7__RECORD_HTTP);
	ck_assert_uint_eq(m.l7->http->code, 200);
	ck_assert_str_eq(m.l7->http->url, "http://10.0.1.12/public/a?x=1");
	ck_assert_ptr_null(m.l4->tcp->flags); /* L7 flows show no TCP flags */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	ck_assert_str_eq(m.summary, "HTTP/1.1 200 1ms (GET http://10.0.1.12/public/a?x=1)");
#pragma GCC diagnostic pop
	ck_assert_ptr_null(m.extensions); /* not asked for */
	hubble_arena_reset(&a);

	l7_flow(&f, BW_FLOW_L7_REQUEST, 0);
	l7_rec.http = &http_req;
	hubble_pb_flow(&f, 0, &a, &m);
	ck_assert_uint_eq(m.l7->http->n_headers, 3);
	ck_assert_str_eq(m.l7->http->headers[1]->key, "user-agent");
	ck_assert_str_eq(m.l7->http->headers[1]->value, "curl/8.5.0");
	hubble_arena_reset(&a);

	l7_flow(&f, BW_FLOW_L7_RESPONSE, 5);
	l7_rec.dns = &dns_answer;
	hubble_pb_flow(&f, 0, &a, &m);
	ck_assert_int_eq(m.l7->record_case, FLOW__LAYER7__RECORD_DNS);
	ck_assert_str_eq(m.l7->dns->query, "api.example.");
	ck_assert_uint_eq(m.l7->dns->n_ips, 2);
	ck_assert_str_eq(m.l7->dns->ips[1], "2001:db8::10");
	ck_assert_uint_eq(m.l7->dns->ttl, 300);
	ck_assert_str_eq(m.l7->dns->rrtypes[0], "CNAME");
	hubble_arena_reset(&a);

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	l7_flow(&f, BW_FLOW_L7_RESPONSE, 5);
	l7_rec.kafka = &kafka_denied;
	hubble_pb_flow(&f, 0, &a, &m);
	ck_assert_int_eq(m.l7->record_case, FLOW__LAYER7__RECORD_KAFKA);
	ck_assert_int_eq(m.l7->kafka->error_code, 29);
	ck_assert_str_eq(m.l7->kafka->topic, "payments");
	ck_assert_str_eq(m.l7->kafka->api_key, "fetch");
#pragma GCC diagnostic pop
	hubble_arena_free(&a);
}
END_TEST

/* ---- field masks ----------------------------------------------------------------- */

static json_t *
masked(const struct bw_flow *f, const char *const *paths, size_t n)
{
	struct hubble_mask *m = NULL;
	char err[256];
	json_t *o;

	ck_assert_int_eq(hubble_mask_parse((char **)paths, n, &m, err, sizeof(err)), 0);
	o = pj_flow(f, hubble_mask_has(m, "extensions"), m);
	hubble_mask_free(m);
	return o;
}

START_TEST(test_mask)
{
	static const char *const p1[] = { "uuid", "l7.http.code", "source.pod_name" };
	static const char *const p2[] = { "l7.http", "l7", "extensions" };
	struct bw_flow f;
	struct hubble_mask *m = NULL;
	char err[256];
	json_t *o, *want;

	l7_flow(&f, BW_FLOW_L7_RESPONSE, 99);
	l7_rec.http = &http_resp;
	f.rule_ref = 9;
	o = masked(&f, p1, 3);
	want = json_pack("{s:s, s:{s:{s:i}}, s:{s:s}}", "uuid", f.uuid, "l7", "http", "code", 200,
			 "source", "pod_name", "client");
	ck_assert_msg(json_equal(o, want), "%s", json_dumps(o, JSON_SORT_KEYS));
	json_decref(o);
	json_decref(want);
	/* the whole field wins over some of its subfields */
	o = masked(&f, p2, 3);
	ck_assert_uint_eq(json_object_size(o), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "l7"), "latency_ns")), "99");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o, "extensions"), "rule_ref")), 9);
	json_decref(o);

	ck_assert_int_eq(hubble_mask_parse((char *[]){ "sorce.pod_name" }, 1, &m, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(m);
	ck_assert_str_eq(err, "invalid field mask path 'sorce.pod_name': flow.Flow has no field 'sorce'");
	ck_assert_int_eq(hubble_mask_parse((char *[]){ "uuid.x" }, 1, &m, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "invalid field mask path 'uuid.x': 'uuid' has no subfields");
	ck_assert_int_eq(hubble_mask_parse((char *[]){ "" }, 1, &m, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(hubble_mask_parse(NULL, 0, &m, err, sizeof(err)), 0);
	ck_assert_ptr_null(m); /* no paths: every field */
	ck_assert_int_eq(hubble_mask_parse((char *[]){ "verdict", "IP.source" }, 2, &m, err, sizeof(err)), 0);
	ck_assert_str_eq(hubble_mask_key(m), "IP.source verdict");
	hubble_mask_free(m);
}
END_TEST

/* ---- FlowFilter -> lib/flowfilter.c ---------------------------------------------- */

/* A FlowFilter decoded from bytes (as the server gets it), extra appended. */
static Flow__FlowFilter *
filter_with(const Flow__FlowFilter *ff, const uint8_t *extra, size_t n_extra)
{
	size_t n = flow__flow_filter__get_packed_size(ff);
	uint8_t *buf = malloc(n + n_extra + 1);
	Flow__FlowFilter *out;

	ck_assert_ptr_nonnull(buf);
	flow__flow_filter__pack(ff, buf);
	if (n_extra > 0)
		memcpy(buf + n, extra, n_extra);
	out = flow__flow_filter__unpack(NULL, n + n_extra, buf);
	free(buf);
	return out;
}

START_TEST(test_filter_json)
{
	Flow__FlowFilter ff = FLOW__FLOW_FILTER__INIT, *got;
	Flow__EventTypeFilter et = FLOW__EVENT_TYPE_FILTER__INIT, *etv[] = { &et };
	Flow__HTTPHeader hh = FLOW__HTTPHEADER__INIT, *hhv[] = { &hh };
	Flow__NetworkInterface itf = FLOW__NETWORK_INTERFACE__INIT, *itfv[] = { &itf };
	FlowFilterExtensions x = FLOW_FILTER_EXTENSIONS__INIT;
	char *pods[] = { "x/b" }, *codes[] = { "4+" }, *topics[] = { "orders" };
	protobuf_c_boolean enc[] = { 0 };
	uint8_t xb[64];
	size_t xn;
	char err[256] = "";
	json_t *o, *want;

	ff.source_pod = pods;
	ff.n_source_pod = 1;
	et.type = 129;
	ff.event_type = etv;
	ff.n_event_type = 1;
	ff.http_status_code = codes;
	ff.n_http_status_code = 1;
	hh.key = ":authority";
	hh.value = "10.1.0.5";
	ff.http_header = hhv;
	ff.n_http_header = 1;
	itf.name = "lxcw";
	ff.interface = itfv;
	ff.n_interface = 1;
	ff.encrypted = enc;
	ff.n_encrypted = 1;
	x.kafka_topic = topics;
	x.n_kafka_topic = 1;
	xn = flow_filter_extensions__get_packed_size(&x);
	ck_assert_uint_lt(xn, sizeof(xb));
	flow_filter_extensions__pack(&x, xb);
	got = filter_with(&ff, xb, xn);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(got->base.n_unknown_fields, 1); /* 150001 */
	o = hubble_pb_filter_json(got, err, sizeof(err));
	ck_assert_msg(o != NULL, "%s", err);
	want = json_pack("{s:[s], s:[{s:i, s:i, s:b}], s:[s], s:[{s:s, s:s}], s:[{s:i, s:s}], s:[b], s:[s]}",
			 "source_pod", "x/b", "event_type", "type", 129, "sub_type", 0,
			 "match_sub_type", 0, "http_status_code", "4+", "http_header", "key",
			 ":authority", "value", "10.1.0.5", "interface", "index", 0, "name", "lxcw",
			 "encrypted", 0, "kafka_topic", "orders");
	ck_assert_msg(json_equal(o, want), "%s", json_dumps(o, JSON_SORT_KEYS));
	json_decref(want);
	json_decref(o);
	flow__flow_filter__free_unpacked(got, NULL);

	/* a field number neither Hubble's nor bulwark's: refused, named */
	got = filter_with(&ff, (const uint8_t *)"\xc8\x3e\x01", 3);
	ck_assert_ptr_null(hubble_pb_filter_json(got, err, sizeof(err)));
	ck_assert_str_eq(err, "FlowFilter field number 1001 is not known to bulwark (a newer Hubble's?)");
	flow__flow_filter__free_unpacked(got, NULL);

	/* CEL is not evaluated */
	{
		Flow__FlowFilter__Experimental ex = FLOW__FLOW_FILTER__EXPERIMENTAL__INIT;
		char *cel[] = { "true" };
		Flow__FlowFilter f2 = FLOW__FLOW_FILTER__INIT;

		ex.cel_expression = cel;
		ex.n_cel_expression = 1;
		f2.experimental = &ex;
		ck_assert_ptr_null(hubble_pb_filter_json(&f2, err, sizeof(err)));
		ck_assert_str_eq(err, "FlowFilter.experimental.cel_expression is not supported");
	}
}
END_TEST

static size_t
ff_slot(const char *name)
{
	const char *n;

	for (size_t i = 0; (n = hubble_ff_field_name(i)) != NULL; i++)
		if (strcmp(n, name) == 0)
			return i;
	ck_abort_msg("no FlowFilter field slot %s", name);
	return 0;
}

/* The request: filters refused by lib/flowfilter.c name the list and index. */
START_TEST(test_request_filters)
{
	Observer__GetFlowsRequest r = OBSERVER__GET_FLOWS_REQUEST__INIT;
	Flow__FlowFilter a = FLOW__FLOW_FILTER__INIT, b = FLOW__FLOW_FILTER__INIT;
	Flow__FlowFilter *wl[] = { &a }, *bl[] = { &a, &b };
	char *ok[] = { "x/b" }, *svc[] = { "x/web" };
	struct bw_flowfilters fs = { 0 };
	struct hubble_ff_stats st = { 0 };
	struct bw_flow f;
	char err[512];

	a.source_pod = ok;
	a.n_source_pod = 1;
	b.source_service = svc;
	b.n_source_service = 1;
	r.whitelist = wl;
	r.n_whitelist = 1;
	ck_assert_int_eq(hubble_req_filters(&r, &fs, &st, err, sizeof(err)), 0);
	base_flow(&f);
	f.source.ns = "x";
	f.source.pod_name = "b";
	ck_assert_int_eq(bw_flowfilters_match(&fs, &f), 1);
	f.source.pod_name = "c";
	ck_assert_int_eq(bw_flowfilters_match(&fs, &f), 0);
	bw_flowfilters_clear(&fs);
	r.blacklist = bl;
	r.n_blacklist = 2;
	ck_assert_int_eq(hubble_req_filters(&r, &fs, &st, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "blacklist[1]: FlowFilter field 'source_service' is not supported: "
			      "bulwark's flows name no Kubernetes services");
	ck_assert_uint_eq(fs.n_allow + fs.n_deny, 0);
	/* counted: filters using each field, the field a request was refused for */
	ck_assert_uint_eq(st.used[ff_slot("source_pod")], 3);
	ck_assert_uint_eq(st.used[ff_slot("source_service")], 1);
	ck_assert_uint_eq(st.refused[ff_slot("source_service")], 1);
	ck_assert_uint_eq(st.refused[ff_slot("source_pod")], 0);
	/* an HTTP field without an l7 event type: the combination, event_type */
	{
		Flow__FlowFilter c = FLOW__FLOW_FILTER__INIT, *cv[] = { &c };
		Flow__EventTypeFilter et = FLOW__EVENT_TYPE_FILTER__INIT, *etv[] = { &et };
		char *get[] = { "GET" };

		et.type = 4;
		c.event_type = etv;
		c.n_event_type = 1;
		c.http_method = get;
		c.n_http_method = 1;
		r.whitelist = cv;
		r.n_blacklist = 0;
		ck_assert_int_eq(hubble_req_filters(&r, &fs, &st, err, sizeof(err)), -EINVAL);
		ck_assert_uint_eq(st.refused[ff_slot("event_type")], 1);
	}
	ck_assert_str_eq(hubble_ff_field_name(ff_slot("kafka_topic")), "kafka_topic");
	ck_assert_str_eq(hubble_ff_field_name(ff_slot("unknown_field_number")), "unknown_field_number");
	ck_assert_ptr_null(hubble_ff_field_name(ff_slot("unknown_field_number") + 1));
}
END_TEST

START_TEST(test_grpc_timeout)
{
	ck_assert_int_eq(hubble_grpc_timeout_ms("1S"), 1000);
	ck_assert_int_eq(hubble_grpc_timeout_ms("250m"), 250);
	ck_assert_int_eq(hubble_grpc_timeout_ms("2M"), 120000);
	ck_assert_int_eq(hubble_grpc_timeout_ms("1H"), 3600000);
	ck_assert_int_eq(hubble_grpc_timeout_ms("1500u"), 2);   /* rounded up */
	ck_assert_int_eq(hubble_grpc_timeout_ms("1n"), 1);
	ck_assert_int_eq(hubble_grpc_timeout_ms("99999999H"), 99999999LL * 3600000);
	ck_assert_int_eq(hubble_grpc_timeout_ms("5"), -1);      /* no unit */
	ck_assert_int_eq(hubble_grpc_timeout_ms("S"), -1);      /* no digits */
	ck_assert_int_eq(hubble_grpc_timeout_ms(""), -1);
	ck_assert_int_eq(hubble_grpc_timeout_ms("123456789m"), -1); /* 9 digits */
	ck_assert_int_eq(hubble_grpc_timeout_ms("1x"), -1);
	ck_assert_int_eq(hubble_grpc_timeout_ms("1Ss"), -1);
}
END_TEST

BW_CHECK_MAIN("hubble_pb", test_same_l3l4, test_same_drops_and_extensions, test_same_l7,
	      test_l7_fields, test_mask, test_filter_json, test_request_filters,
	      test_grpc_timeout)
