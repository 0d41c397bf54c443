/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/hubble-observer/hubble_pb.c - the flow record in Hubble's
 * protobuf messages (the code protoc-c generated from flow.proto), field
 * masks, and FlowFilter messages as the JSON lib/flowfilter.c parses.
 *
 * One flow model, two encodings: hubble_pb_flow() fills flow.Flow from
 * struct bw_flow with exactly the fields and values lib/flowjson.c writes
 * for `bulwark observe -o json` (the same zero-value rules: what the JSON
 * leaves out is left unset here, and protobuf's JSON mapping of the result
 * is that JSON). The e2e test compares the two field by field. When a
 * field is added to the flow record, add it to both.
 *
 * Field masks and the FlowFilter conversion walk protobuf-c's message
 * descriptors, so they know every field of the .proto files without a
 * table of our own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubble.h"
#include "lib/flowjson.h"
#include "bulwark/extensions.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/struct.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "google/protobuf/wrappers.pb-c.h"

/* ---- arena ---------------------------------------------------------------------- */

struct hubble_arena_chunk {
	struct hubble_arena_chunk *next;
	max_align_t data[];
};

void *
hubble_arena_alloc(struct hubble_arena *a, size_t n)
{
	size_t off = (a->len + 15) & ~(size_t)15;
	struct hubble_arena_chunk *ch;

	if (a->buf == NULL) {
		a->cap = 16384;
		a->buf = malloc(a->cap);
		if (a->buf == NULL)
			return NULL;
		a->len = off = 0;
	}
	if (off + n <= a->cap) {
		a->len = off + n;
		memset(a->buf + off, 0, n);
		return a->buf + off;
	}
	/* rare: a huge flow; chain a chunk that reset() frees */
	ch = calloc(1, sizeof(*ch) + n);
	if (ch == NULL)
		return NULL;
	ch->next = a->more;
	a->more = ch;
	return ch->data;
}

char *
hubble_arena_strdup(struct hubble_arena *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = hubble_arena_alloc(a, n);

	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

void
hubble_arena_reset(struct hubble_arena *a)
{
	while (a->more != NULL) {
		struct hubble_arena_chunk *n = a->more->next;

		free(a->more);
		a->more = n;
	}
	a->len = 0;
}

void
hubble_arena_free(struct hubble_arena *a)
{
	hubble_arena_reset(a);
	free(a->buf);
	a->buf = NULL;
	a->cap = 0;
}

#define ARENA_NEW(a, type, init)                                   \
	({                                                         \
		type *p_ = hubble_arena_alloc((a), sizeof(type));  \
		if (p_ != NULL) {                                  \
			type i_ = init;                            \
			*p_ = i_;                                  \
		}                                                  \
		p_;                                                \
	})

/* A string the message may point to: "" stays protobuf-c's empty string. */
static char *
pb_str(const char *s)
{
	return s != NULL ? (char *)s : (char *)protobuf_c_empty_string;
}

/* ---- flow.Flow from struct bw_flow ------------------------------------------------ */

void
hubble_pb_time(uint64_t ns, struct hubble_arena *a, Google__Protobuf__Timestamp **out)
{
	Google__Protobuf__Timestamp *t =
		ARENA_NEW(a, Google__Protobuf__Timestamp, GOOGLE__PROTOBUF__TIMESTAMP__INIT);

	if (t != NULL) {
		t->seconds = (int64_t)(ns / 1000000000u);
		t->nanos = (int32_t)(ns % 1000000000u);
	}
	*out = t;
}

static char **
pb_strv(struct hubble_arena *a, const char *const *v, uint32_t n, size_t *out_n)
{
	char **arr;
	size_t k = 0;

	*out_n = 0;
	if (v == NULL || n == 0)
		return NULL;
	arr = hubble_arena_alloc(a, n * sizeof(*arr));
	if (arr == NULL)
		return NULL;
	for (uint32_t i = 0; i < n; i++)
		if (v[i] != NULL)
			arr[k++] = (char *)v[i];
	*out_n = k;
	return arr;
}

static Flow__Endpoint *
pb_endpoint(struct hubble_arena *a, const struct bw_flow_endpoint *ep)
{
	Flow__Endpoint *e;
	int has_wl = ep->workload_name != NULL && *ep->workload_name != '\0';

	/* flowjson leaves an endpoint with nothing set out */
	if (ep->id == 0 && ep->identity == 0 && (ep->ns == NULL || !*ep->ns) &&
	    (ep->pod_name == NULL || !*ep->pod_name) && ep->n_labels == 0 && !has_wl)
		return NULL;
	e = ARENA_NEW(a, Flow__Endpoint, FLOW__ENDPOINT__INIT);
	if (e == NULL)
		return NULL;
	e->id = ep->id;
	e->identity = ep->identity;
	e->namespace_ = pb_str(ep->ns);
	e->pod_name = pb_str(ep->pod_name);
	e->labels = pb_strv(a, ep->labels, ep->n_labels, &e->n_labels);
	if (has_wl) {
		Flow__Workload *w = ARENA_NEW(a, Flow__Workload, FLOW__WORKLOAD__INIT);
		Flow__Workload **wv = hubble_arena_alloc(a, sizeof(*wv));

		if (w != NULL && wv != NULL) {
			w->name = pb_str(ep->workload_name);
			w->kind = pb_str(ep->workload_kind);
			wv[0] = w;
			e->workloads = wv;
			e->n_workloads = 1;
		}
	}
	return e;
}

static Flow__Policy **
pb_policies(struct hubble_arena *a, const struct bw_flow_policy *p, uint32_t n,
	    size_t *out_n)
{
	Flow__Policy **v;

	*out_n = 0;
	if (p == NULL || n == 0)
		return NULL;
	v = hubble_arena_alloc(a, n * sizeof(*v));
	if (v == NULL)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		Flow__Policy *q = ARENA_NEW(a, Flow__Policy, FLOW__POLICY__INIT);

		if (q == NULL)
			return NULL;
		q->name = pb_str(p[i].name);
		q->namespace_ = pb_str(p[i].ns);
		q->labels = pb_strv(a, p[i].labels, p[i].n_labels, &q->n_labels);
		q->revision = p[i].revision;
		q->kind = pb_str(p[i].kind);
		v[i] = q;
	}
	*out_n = n;
	return v;
}

static Flow__Layer4 *
pb_l4(struct hubble_arena *a, const struct bw_flow *f)
{
	Flow__Layer4 *l4 = ARENA_NEW(a, Flow__Layer4, FLOW__LAYER4__INIT);

	if (l4 == NULL)
		return NULL;
	switch (f->protocol) {
	case 6: {
		Flow__TCP *t = ARENA_NEW(a, Flow__TCP, FLOW__TCP__INIT);

		if (t == NULL)
			return NULL;
		t->source_port = f->src_port;
		t->destination_port = f->dst_port;
		if (f->tcp_flags != 0 && f->type != BW_FLOW_TYPE_L7) {
			Flow__TCPFlags *fl = ARENA_NEW(a, Flow__TCPFlags, FLOW__TCPFLAGS__INIT);

			if (fl != NULL) {
				fl->fin = !!(f->tcp_flags & BW_FLOW_TCP_FIN);
				fl->syn = !!(f->tcp_flags & BW_FLOW_TCP_SYN);
				fl->rst = !!(f->tcp_flags & BW_FLOW_TCP_RST);
				fl->psh = !!(f->tcp_flags & BW_FLOW_TCP_PSH);
				fl->ack = !!(f->tcp_flags & BW_FLOW_TCP_ACK);
				fl->urg = !!(f->tcp_flags & BW_FLOW_TCP_URG);
				fl->ece = !!(f->tcp_flags & BW_FLOW_TCP_ECE);
				fl->cwr = !!(f->tcp_flags & BW_FLOW_TCP_CWR);
			}
			t->flags = fl;
		}
		l4->protocol_case = FLOW__LAYER4__PROTOCOL_TCP;
		l4->tcp = t;
		break;
	}
	case 17: {
		Flow__UDP *u = ARENA_NEW(a, Flow__UDP, FLOW__UDP__INIT);

		if (u == NULL)
			return NULL;
		u->source_port = f->src_port;
		u->destination_port = f->dst_port;
		l4->protocol_case = FLOW__LAYER4__PROTOCOL_UDP;
		l4->udp = u;
		break;
	}
	case 132: {
		Flow__SCTP *s = ARENA_NEW(a, Flow__SCTP, FLOW__SCTP__INIT);

		if (s == NULL)
			return NULL;
		s->source_port = f->src_port;
		s->destination_port = f->dst_port;
		l4->protocol_case = FLOW__LAYER4__PROTOCOL_SCTP;
		l4->sctp = s;
		break;
	}
	case 1: {
		Flow__ICMPv4 *i = ARENA_NEW(a, Flow__ICMPv4, FLOW__ICMPV4__INIT);

		if (i == NULL)
			return NULL;
		i->type = f->icmp_type;
		i->code = f->icmp_code;
		l4->protocol_case = FLOW__LAYER4__PROTOCOL_ICMPV4;
		l4->icmpv4 = i;
		break;
	}
	case 58: {
		Flow__ICMPv6 *i = ARENA_NEW(a, Flow__ICMPv6, FLOW__ICMPV6__INIT);

		if (i == NULL)
			return NULL;
		i->type = f->icmp_type;
		i->code = f->icmp_code;
		l4->protocol_case = FLOW__LAYER4__PROTOCOL_ICMPV6;
		l4->icmpv6 = i;
		break;
	}
	default:
		return NULL;
	}
	return l4;
}

/* ---- L7 ------------------------------------------------------------------------------ */

/* The flow's L7 record, when it has one the daemon filled far enough. */
static const struct bw_flow_l7 *
pb_l7_of(const struct bw_flow *f)
{
	if (!BW_FLOW_HAS(f, l7) || f->l7 == NULL ||
	    f->l7->size < offsetof(struct bw_flow_l7, proto))
		return NULL;
	return f->l7;
}

static Flow__HTTPHeader **
pb_kv(struct hubble_arena *a, const struct bw_flow_kv *kv, uint32_t n, size_t *out_n)
{
	Flow__HTTPHeader **v;

	*out_n = 0;
	if (kv == NULL || n == 0)
		return NULL;
	v = hubble_arena_alloc(a, n * sizeof(*v));
	if (v == NULL)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		Flow__HTTPHeader *h = ARENA_NEW(a, Flow__HTTPHeader, FLOW__HTTPHEADER__INIT);

		if (h == NULL)
			return NULL;
		h->key = pb_str(kv[i].key);
		h->value = pb_str(kv[i].value);
		v[i] = h;
	}
	*out_n = n;
	return v;
}

/* Flow.l7 (as flowjson's "l7"). Kafka is deprecated in flow.proto. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static Flow__Layer7 *
pb_l7(struct hubble_arena *a, const struct bw_flow_l7 *l7)
{
	Flow__Layer7 *o = ARENA_NEW(a, Flow__Layer7, FLOW__LAYER7__INIT);

	if (o == NULL)
		return NULL;
	o->type = (Flow__L7FlowType)l7->type;
	o->latency_ns = l7->latency_ns;
	if (l7->dns != NULL) {
		const struct bw_flow_dns *d = l7->dns;
		Flow__DNS *m = ARENA_NEW(a, Flow__DNS, FLOW__DNS__INIT);

		if (m == NULL)
			return o;
		m->query = pb_str(d->query);
		m->ips = pb_strv(a, d->ips, d->n_ips, &m->n_ips);
		m->ttl = d->ttl;
		m->cnames = pb_strv(a, d->cnames, d->n_cnames, &m->n_cnames);
		m->observation_source = pb_str(d->observation_source);
		m->rcode = d->rcode;
		m->qtypes = pb_strv(a, d->qtypes, d->n_qtypes, &m->n_qtypes);
		m->rrtypes = pb_strv(a, d->rrtypes, d->n_rrtypes, &m->n_rrtypes);
		o->record_case = FLOW__LAYER7__RECORD_DNS;
		o->dns = m;
	} else if (l7->http != NULL) {
		const struct bw_flow_http *h = l7->http;
		Flow__HTTP *m = ARENA_NEW(a, Flow__HTTP, FLOW__HTTP__INIT);

		if (m == NULL)
			return o;
		m->code = h->code;
		m->method = pb_str(h->method);
		m->url = pb_str(h->url);
		m->protocol = pb_str(h->protocol);
		m->headers = pb_kv(a, h->headers, h->n_headers, &m->n_headers);
		o->record_case = FLOW__LAYER7__RECORD_HTTP;
		o->http = m;
	} else if (l7->kafka != NULL) {
		const struct bw_flow_kafka *k = l7->kafka;
		Flow__Kafka *m = ARENA_NEW(a, Flow__Kafka, FLOW__KAFKA__INIT);

		if (m == NULL)
			return o;
		m->error_code = k->error_code;
		m->api_version = k->api_version;
		m->api_key = pb_str(k->api_key);
		m->correlation_id = k->correlation_id;
		m->topic = pb_str(k->topic);
		o->record_case = FLOW__LAYER7__RECORD_KAFKA;
		o->kafka = m;
	}
	return o;
}
#pragma GCC diagnostic pop

/* ---- JSON -> google.protobuf.Struct / Value ---------------------------------------- */

static Google__Protobuf__Struct *pb_struct(struct hubble_arena *a, json_t *o);

static Google__Protobuf__Value *
pb_value(struct hubble_arena *a, json_t *v)
{
	Google__Protobuf__Value *pv =
		ARENA_NEW(a, Google__Protobuf__Value, GOOGLE__PROTOBUF__VALUE__INIT);

	if (pv == NULL)
		return NULL;
	if (json_is_object(v)) {
		pv->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
		pv->struct_value = pb_struct(a, v);
	} else if (json_is_array(v)) {
		Google__Protobuf__ListValue *l = ARENA_NEW(a, Google__Protobuf__ListValue,
							   GOOGLE__PROTOBUF__LIST_VALUE__INIT);
		size_t n = json_array_size(v);

		if (l == NULL)
			return NULL;
		l->values = n > 0 ? hubble_arena_alloc(a, n * sizeof(*l->values)) : NULL;
		for (size_t i = 0; l->values != NULL && i < n; i++)
			l->values[l->n_values++] = pb_value(a, json_array_get(v, i));
		pv->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE;
		pv->list_value = l;
	} else if (json_is_string(v)) {
		pv->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
		pv->string_value = hubble_arena_strdup(a, json_string_value(v));
	} else if (json_is_number(v)) {
		pv->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
		pv->number_value = json_number_value(v);
	} else if (json_is_boolean(v)) {
		pv->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
		pv->bool_value = json_is_true(v);
	} else {
		pv->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE;
		pv->null_value = GOOGLE__PROTOBUF__NULL_VALUE__NULL_VALUE;
	}
	return pv;
}

static Google__Protobuf__Struct *
pb_struct(struct hubble_arena *a, json_t *o)
{
	Google__Protobuf__Struct *st =
		ARENA_NEW(a, Google__Protobuf__Struct, GOOGLE__PROTOBUF__STRUCT__INIT);
	size_t n = json_object_size(o);
	const char *k;
	json_t *v;

	if (st == NULL || n == 0)
		return st;
	st->fields = hubble_arena_alloc(a, n * sizeof(*st->fields));
	if (st->fields == NULL)
		return st;
	json_object_foreach(o, k, v) {
		Google__Protobuf__Struct__FieldsEntry *e =
			ARENA_NEW(a, Google__Protobuf__Struct__FieldsEntry,
				  GOOGLE__PROTOBUF__STRUCT__FIELDS_ENTRY__INIT);

		if (e == NULL)
			break;
		e->key = hubble_arena_strdup(a, k);
		e->value = pb_value(a, v);
		st->fields[st->n_fields++] = e;
	}
	return st;
}

/* Flow.extensions: bulwark's FlowExtensions in an Any (as flowjson). */
static Google__Protobuf__Any *
pb_extensions(struct hubble_arena *a, const struct bw_flow *f)
{
	FlowExtensions x = FLOW_EXTENSIONS__INIT;
	FlowExtensions__Connection conn = FLOW_EXTENSIONS__CONNECTION__INIT;
	Google__Protobuf__Any *any;
	size_t n;
	uint8_t *buf;

	json_t *more = NULL, *lua;

	if (BW_FLOW_HAS(f, extensions_json) && f->extensions_json != NULL) {
		more = json_loads(f->extensions_json, 0, NULL);
		if (more != NULL && !json_is_object(more)) {
			json_decref(more);
			more = NULL;
		}
	}
	const struct bw_flow_l7 *l7 = pb_l7_of(f);
	const char *by = BW_FLOW_HAS(f, verdict_by) ? f->verdict_by : NULL;
	int l7ext = l7 != NULL && l7->http == NULL && l7->dns == NULL &&
		    l7->kafka == NULL && (l7->proto != NULL || l7->n_fields > 0);
	int staged = BW_FLOW_HAS(f, n_staged_by) &&
		     f->staged_verdict != BW_FLOW_VERDICT_UNKNOWN;
	FlowExtensions__VerdictBy vb = FLOW_EXTENSIONS__VERDICT_BY__INIT;
	FlowExtensions__L7 xl7 = FLOW_EXTENSIONS__L7__INIT;
	FlowExtensions__Staged st = FLOW_EXTENSIONS__STAGED__INIT;

	if (f->n_isolated_by == 0 && f->rule_ref == 0 &&
	    !(f->flags & BW_FLOW_F_CT_CLOSE) && more == NULL && by == NULL &&
	    !l7ext && !staged) {
		json_decref(more);
		return NULL;
	}
	if (staged) {
		st.verdict = (Flow__Verdict)f->staged_verdict;
		st.policies = pb_policies(a, f->staged_by, f->n_staged_by,
					  &st.n_policies);
		x.staged = &st;
	}
	if (by != NULL) {
		vb.by = (char *)by;
		vb.reason = pb_str(f->verdict_reason);
		x.verdict_by = &vb;
	}
	if (l7ext) {
		xl7.proto = pb_str(l7->proto);
		xl7.fields = pb_kv(a, l7->fields, l7->n_fields, &xl7.n_fields);
		x.l7 = &xl7;
	}
	/* extra members: "lua" is the one FlowExtensions has a field for */
	lua = json_object_get(more, "lua");
	if (json_is_object(lua))
		x.lua = pb_struct(a, lua);
	json_decref(more);
	x.rule_ref = f->rule_ref;
	x.isolated_by = pb_policies(a, f->isolated_by, f->n_isolated_by,
				    &x.n_isolated_by);
	if (f->flags & BW_FLOW_F_CT_CLOSE) {
		conn.closed = 1;
		conn.packets = f->ct_packets;
		conn.bytes = f->ct_bytes;
		x.connection = &conn;
	}
	n = flow_extensions__get_packed_size(&x);
	any = ARENA_NEW(a, Google__Protobuf__Any, GOOGLE__PROTOBUF__ANY__INIT);
	buf = hubble_arena_alloc(a, n > 0 ? n : 1);
	if (any == NULL || buf == NULL)
		return NULL;
	flow_extensions__pack(&x, buf);
	any->type_url = (char *)"bulwark.io/FlowExtensions";
	any->value.data = buf;
	any->value.len = n;
	return any;
}

/* flow.proto marks drop_reason, reply and Summary deprecated; Hubble fills them. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
void
hubble_pb_flow(const struct bw_flow *f, int extensions, struct hubble_arena *a,
	       Flow__Flow *o)
{
	Flow__Flow init = FLOW__FLOW__INIT;
	char sbuf[128];

	*o = init;
	hubble_pb_time(f->time_ns, a, &o->time);
	o->uuid = pb_str(f->uuid);
	o->verdict = (Flow__Verdict)f->verdict;
	o->drop_reason = f->drop_reason;
	if (f->ip_version == 4 || f->ip_version == 6) {
		Flow__IP *ip = ARENA_NEW(a, Flow__IP, FLOW__IP__INIT);

		if (ip != NULL) {
			ip->source = (char *)f->src_ip;
			ip->destination = (char *)f->dst_ip;
			ip->ipversion = f->ip_version == 4 ? FLOW__IPVERSION__IPv4
							   : FLOW__IPVERSION__IPv6;
		}
		o->ip = ip;
	}
	o->l4 = pb_l4(a, f);
	o->source = pb_endpoint(a, &f->source);
	o->destination = pb_endpoint(a, &f->destination);
	o->type = (Flow__FlowType)f->type;
	o->node_name = pb_str(f->node_name);
	if (BW_FLOW_HAS(f, proxy_port))
		o->proxy_port = f->proxy_port;
	if (pb_l7_of(f) != NULL)
		o->l7 = pb_l7(a, pb_l7_of(f));
	o->reply = f->is_reply == 1;
	if (f->event_type != 0) {
		Flow__CiliumEventType *et =
			ARENA_NEW(a, Flow__CiliumEventType, FLOW__CILIUM_EVENT_TYPE__INIT);

		if (et != NULL) {
			et->type = (int32_t)f->event_type;
			et->sub_type = (int32_t)f->event_sub_type;
		}
		o->event_type = et;
	}
	o->traffic_direction = (Flow__TrafficDirection)f->traffic_direction;
	o->policy_match_type = f->policy_match_type;
	o->trace_observation_point = (Flow__TraceObservationPoint)f->trace_observation_point;
	o->trace_reason = (Flow__TraceReason)f->trace_reason;
	/* DropReason by the name flowjson prints (the same number for every
	 * code lib/dropreason.c names); unset when the code has no name */
	if (f->drop_reason != 0 && f->drop_reason_desc != NULL) {
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(
			&flow__drop_reason__descriptor, f->drop_reason_desc);

		o->drop_reason_desc = (Flow__DropReason)(ev != NULL ? (uint32_t)ev->value
								    : f->drop_reason);
	}
	if (f->is_reply >= 0) {
		Google__Protobuf__BoolValue *b =
			ARENA_NEW(a, Google__Protobuf__BoolValue, GOOGLE__PROTOBUF__BOOL_VALUE__INIT);

		if (b != NULL)
			b->value = f->is_reply != 0;
		o->is_reply = b;
	}
	if (f->ifindex != 0 || (f->ifname != NULL && *f->ifname != '\0')) {
		Flow__NetworkInterface *itf =
			ARENA_NEW(a, Flow__NetworkInterface, FLOW__NETWORK_INTERFACE__INIT);

		if (itf != NULL) {
			itf->index = f->ifindex;
			itf->name = pb_str(f->ifname);
		}
		o->interface = itf;
	}
	if (f->summary != NULL) {
		o->summary = (char *)f->summary;
	} else if (pb_l7_of(f) != NULL) {
		/* the L7 summary is lib/flowjson.c's: take it from there */
		json_t *fj = bw_flowjson_flow(f);
		const char *sum = json_string_value(json_object_get(fj, "Summary"));

		o->summary = hubble_arena_strdup(a, sum != NULL ? sum : "");
		if (o->summary == NULL)
			o->summary = (char *)protobuf_c_empty_string;
		json_decref(fj);
	} else {
		bw_flowjson_summary(f, sbuf, sizeof(sbuf));
		o->summary = hubble_arena_strdup(a, sbuf);
		if (o->summary == NULL)
			o->summary = (char *)protobuf_c_empty_string;
	}
	if (extensions)
		o->extensions = pb_extensions(a, f);
	if (BW_FLOW_HAS(f, proxy_port))
		o->proxy_port = f->proxy_port;
	if (BW_FLOW_HAS(f, n_destination_names)) {
		o->source_names = pb_strv(a, f->source_names, f->n_source_names,
					  &o->n_source_names);
		o->destination_names = pb_strv(a, f->destination_names,
					       f->n_destination_names,
					       &o->n_destination_names);
	}
	o->egress_allowed_by = pb_policies(a, f->egress_allowed_by,
					   f->n_egress_allowed_by,
					   &o->n_egress_allowed_by);
	o->ingress_allowed_by = pb_policies(a, f->ingress_allowed_by,
					    f->n_ingress_allowed_by,
					    &o->n_ingress_allowed_by);
	o->egress_denied_by = pb_policies(a, f->egress_denied_by,
					  f->n_egress_denied_by,
					  &o->n_egress_denied_by);
	o->ingress_denied_by = pb_policies(a, f->ingress_denied_by,
					   f->n_ingress_denied_by,
					   &o->n_ingress_denied_by);
}
#pragma GCC diagnostic pop

uint8_t *
hubble_pb_frame(const ProtobufCMessage *msg, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(n + 5);

	if (buf == NULL)
		return NULL;
	buf[0] = 0;
	buf[1] = (uint8_t)(n >> 24);
	buf[2] = (uint8_t)(n >> 16);
	buf[3] = (uint8_t)(n >> 8);
	buf[4] = (uint8_t)n;
	protobuf_c_message_pack(msg, buf + 5);
	*len = n + 5;
	return buf;
}

/* ---- field masks --------------------------------------------------------------- */

struct hubble_mask {
	const ProtobufCMessageDescriptor *desc;
	struct mask_node {
		const ProtobufCFieldDescriptor *field;
		struct hubble_mask *sub; /* NULL: the whole field */
	} *nodes;
	size_t n;
	char *key;
};

static struct hubble_mask *
mask_new(const ProtobufCMessageDescriptor *desc)
{
	struct hubble_mask *m = calloc(1, sizeof(*m));

	if (m != NULL)
		m->desc = desc;
	return m;
}

void
hubble_mask_free(struct hubble_mask *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		hubble_mask_free(m->nodes[i].sub);
	free(m->nodes);
	free(m->key);
	free(m);
}

static struct mask_node *
mask_find(struct hubble_mask *m, const ProtobufCFieldDescriptor *fd)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->nodes[i].field == fd)
			return &m->nodes[i];
	return NULL;
}

/* Add one dotted path below m; -EINVAL names the bad part in err. */
static int
mask_add(struct hubble_mask *m, const char *path, const char *full, char *err,
	 size_t errlen)
{
	const char *dot = strchr(path, '.');
	size_t len = dot != NULL ? (size_t)(dot - path) : strlen(path);
	const ProtobufCFieldDescriptor *fd = NULL;
	struct mask_node *node, *nv;

	for (unsigned i = 0; i < m->desc->n_fields; i++)
		if (strlen(m->desc->fields[i].name) == len &&
		    strncmp(m->desc->fields[i].name, path, len) == 0)
			fd = &m->desc->fields[i];
	if (fd == NULL) {
		snprintf(err, errlen, "invalid field mask path '%s': %s has no field '%.*s'",
			 full, m->desc->name, (int)len, path);
		return -EINVAL;
	}
	if (dot != NULL && fd->type != PROTOBUF_C_TYPE_MESSAGE) {
		snprintf(err, errlen, "invalid field mask path '%s': '%.*s' has no subfields",
			 full, (int)len, path);
		return -EINVAL;
	}
	node = mask_find(m, fd);
	if (node == NULL) {
		nv = realloc(m->nodes, (m->n + 1) * sizeof(*nv));
		if (nv == NULL)
			return -ENOMEM;
		m->nodes = nv;
		node = &m->nodes[m->n++];
		node->field = fd;
		node->sub = NULL;
		if (dot != NULL && (node->sub = mask_new(fd->descriptor)) == NULL)
			return -ENOMEM;
	} else if (dot == NULL) {
		/* the whole field wins over some of its subfields */
		hubble_mask_free(node->sub);
		node->sub = NULL;
		return 0;
	} else if (node->sub == NULL) {
		return 0; /* the whole field is kept already */
	}
	return dot != NULL ? mask_add(node->sub, dot + 1, full, err, errlen) : 0;
}

static int
mask_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
hubble_mask_parse(char **paths, size_t n, struct hubble_mask **out, char *err,
		  size_t errlen)
{
	struct hubble_mask *m;
	char **sorted;
	size_t klen = 1;
	int rc = 0;

	*out = NULL;
	if (n == 0)
		return 0;
	if ((m = mask_new(&flow__flow__descriptor)) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (paths[i] == NULL || *paths[i] == '\0') {
			snprintf(err, errlen, "invalid field mask path: empty");
			rc = -EINVAL;
		} else {
			rc = mask_add(m, paths[i], paths[i], err, errlen);
		}
		klen += paths[i] != NULL ? strlen(paths[i]) + 1 : 1;
	}
	sorted = malloc(n * sizeof(*sorted));
	m->key = malloc(klen);
	if (rc == 0 && (sorted == NULL || m->key == NULL))
		rc = -ENOMEM;
	if (rc < 0) {
		free(sorted);
		hubble_mask_free(m);
		return rc;
	}
	memcpy(sorted, paths, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), mask_cmp);
	m->key[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(m->key, " ");
		strcat(m->key, sorted[i]);
	}
	free(sorted);
	*out = m;
	return 0;
}

const char *
hubble_mask_key(const struct hubble_mask *m)
{
	return m != NULL ? m->key : "";
}

int
hubble_mask_has(const struct hubble_mask *m, const char *name)
{
	if (m == NULL)
		return 1;
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->nodes[i].field->name, name) == 0)
			return 1;
	return 0;
}

/* Reset one field of msg to its zero value (nothing is freed: the tree is
 * the arena's). */
static void
mask_clear(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *fd)
{
	char *member = (char *)msg + fd->offset;

	if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
		*(size_t *)((char *)msg + fd->quantifier_offset) = 0;
		*(void **)member = NULL;
		return;
	}
	if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		uint32_t *qcase = (uint32_t *)((char *)msg + fd->quantifier_offset);

		if (*qcase == fd->id)
			*qcase = 0;
		return;
	}
	switch (fd->type) {
	case PROTOBUF_C_TYPE_STRING:
		*(const char **)member = protobuf_c_empty_string;
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		*(void **)member = NULL;
		break;
	case PROTOBUF_C_TYPE_BYTES:
		memset(member, 0, sizeof(ProtobufCBinaryData));
		break;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
		memset(member, 0, 8);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		memset(member, 0, sizeof(protobuf_c_boolean));
		break;
	default: /* 32-bit numbers and enums */
		memset(member, 0, 4);
		break;
	}
	if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->quantifier_offset != 0 &&
	    fd->type != PROTOBUF_C_TYPE_STRING && fd->type != PROTOBUF_C_TYPE_MESSAGE)
		*(protobuf_c_boolean *)((char *)msg + fd->quantifier_offset) = 0;
}

void
hubble_mask_apply(const struct hubble_mask *m, ProtobufCMessage *msg)
{
	if (m == NULL || msg == NULL)
		return;
	for (unsigned i = 0; i < m->desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &m->desc->fields[i];
		const struct mask_node *node = mask_find((struct hubble_mask *)m, fd);

		if (node == NULL) {
			mask_clear(msg, fd);
			continue;
		}
		if (node->sub == NULL || fd->label == PROTOBUF_C_LABEL_REPEATED)
			continue;
		if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(uint32_t *)((char *)msg + fd->quantifier_offset) != fd->id)
			continue;
		hubble_mask_apply(node->sub,
				  *(ProtobufCMessage **)((char *)msg + fd->offset));
	}
}

/* ---- FlowFilter -> JSON --------------------------------------------------------- */

static json_t *pb_msg_json(const ProtobufCMessage *msg, int defaults);

/* One value of a field (member points at it). */
static json_t *
pb_value_json(const ProtobufCFieldDescriptor *fd, const void *member)
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
		snprintf(buf, sizeof(buf), "%llu",
			 (unsigned long long)*(const uint64_t *)member);
		return json_string(buf);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)member);
	case PROTOBUF_C_TYPE_FLOAT:
		return json_real(*(const float *)member);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_real(*(const double *)member);
	case PROTOBUF_C_TYPE_ENUM:
		ev = protobuf_c_enum_descriptor_get_value(fd->descriptor,
							  *(const int *)member);
		return ev != NULL ? json_string(ev->name)
				  : json_integer(*(const int *)member);
	case PROTOBUF_C_TYPE_STRING:
		return json_string(*(char *const *)member != NULL
					   ? *(char *const *)member : "");
	case PROTOBUF_C_TYPE_MESSAGE:
		return pb_msg_json(*(ProtobufCMessage *const *)member, 1);
	case PROTOBUF_C_TYPE_BYTES:
		break;
	}
	return json_null();
}

static size_t
pb_type_size(const ProtobufCFieldDescriptor *fd)
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

/*
 * Proto field names as keys, enums as names. Repeated fields only when
 * not empty; singular fields when set, or always with defaults (inside a
 * sub-message, so that {"type": 4, "match_sub_type": false} keeps saying
 * "do not match the sub-type").
 */
static json_t *
pb_msg_json(const ProtobufCMessage *msg, int defaults)
{
	const ProtobufCMessageDescriptor *d;
	json_t *o;

	if (msg == NULL)
		return json_null();
	d = msg->descriptor;
	o = json_object();
	for (unsigned i = 0; o != NULL && i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];
		const char *member = (const char *)msg + fd->offset;

		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)msg + fd->quantifier_offset);
			const char *arr = *(const char *const *)member;
			json_t *a;

			if (n == 0)
				continue;
			a = json_array();
			for (size_t k = 0; a != NULL && k < n; k++)
				json_array_append_new(a, pb_value_json(fd, arr + k * pb_type_size(fd)));
			json_object_set_new(o, fd->name, a);
			continue;
		}
		if (fd->type == PROTOBUF_C_TYPE_MESSAGE &&
		    *(ProtobufCMessage *const *)member == NULL)
			continue;
		if (!defaults && fd->type != PROTOBUF_C_TYPE_MESSAGE) {
			json_t *v = pb_value_json(fd, member);
			int zero = json_is_false(v) || (json_is_integer(v) && json_integer_value(v) == 0) ||
				   (json_is_string(v) && *json_string_value(v) == '\0');

			if (zero)
				json_decref(v);
			else
				json_object_set_new(o, fd->name, v);
			continue;
		}
		json_object_set_new(o, fd->name, pb_value_json(fd, member));
	}
	return o;
}

/*
 * bulwark's FlowFilterExtensions fields travel as fields of the FlowFilter
 * that Hubble's descriptor does not know (protobuf-c keeps them as
 * unknown fields): decode the filter's bytes again as FlowFilterExtensions
 * and add what it finds to o. Any other unknown field number is refused:
 * a filter field of a newer Hubble must not be dropped silently (the
 * filter would match more than its sender asked for).
 */
static int
pb_filter_ext(const Flow__FlowFilter *ff, json_t *o, char *err, size_t errlen)
{
	const ProtobufCMessageDescriptor *xd = &flow_filter_extensions__descriptor;
	FlowFilterExtensions *x;
	json_t *xo;
	uint8_t *buf;
	size_t n;

	if (ff->base.n_unknown_fields == 0)
		return 0;
	for (unsigned i = 0; i < ff->base.n_unknown_fields; i++) {
		uint32_t tag = ff->base.unknown_fields[i].tag;

		if (protobuf_c_message_descriptor_get_field(xd, tag) == NULL) {
			snprintf(err, errlen,
				 "FlowFilter field number %u is not known to bulwark (a newer Hubble's?)",
				 tag);
			return -EINVAL;
		}
	}
	n = protobuf_c_message_get_packed_size(&ff->base);
	buf = malloc(n > 0 ? n : 1);
	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	protobuf_c_message_pack(&ff->base, buf);
	x = flow_filter_extensions__unpack(NULL, n, buf);
	free(buf);
	if (x == NULL) {
		snprintf(err, errlen, "FlowFilter: bulwark's extension fields (FlowFilterExtensions) do not decode");
		return -EINVAL;
	}
	xo = pb_msg_json(&x->base, 0);
	flow_filter_extensions__free_unpacked(x, NULL);
	if (xo == NULL || json_object_update(o, xo) < 0) {
		json_decref(xo);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_decref(xo);
	return 0;
}

json_t *
hubble_pb_filter_json(const Flow__FlowFilter *ff, char *err, size_t errlen)
{
	json_t *o = pb_msg_json(&ff->base, 0);
	json_t *x;

	if (o == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* experimental: only cel_expression, which bulwark does not evaluate */
	x = json_object_get(o, "experimental");
	if (x != NULL) {
		if (json_array_size(json_object_get(x, "cel_expression")) > 0) {
			snprintf(err, errlen,
				 "FlowFilter.experimental.cel_expression is not supported");
			json_decref(o);
			return NULL;
		}
		json_object_del(o, "experimental");
	}
	if (pb_filter_ext(ff, o, err, errlen) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}
