/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/flowjson.c - render flow records as Hubble's GetFlowsResponse JSON.
 *
 * Hubble marshals with protojson (UseProtoNames): keys are the proto field
 * names in declaration order, enums are names, 64-bit integers are strings,
 * zero values and empty lists are left out, a set message is printed even
 * when empty, and is_reply (a BoolValue wrapper) is printed also when
 * false. We keep the same key order so that a diff against real Hubble
 * output is quiet. See cilium-hubble.md sections 5.1-5.4.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/flowjson.h"

/* ---- enum names ---------------------------------------------------------- */

static const char *const flowjson_verdicts[] = {
	"VERDICT_UNKNOWN", "FORWARDED", "DROPPED", "ERROR", "AUDIT",
	"REDIRECTED", "TRACED", "TRANSLATED",
};

static const char *const flowjson_types[] = {
	"UNKNOWN_TYPE", "L3_L4", "L7", "SOCK",
};

static const char *const flowjson_directions[] = {
	"TRAFFIC_DIRECTION_UNKNOWN", "INGRESS", "EGRESS",
};

static const char *const flowjson_reasons[] = {
	"TRACE_REASON_UNKNOWN", "NEW", "ESTABLISHED", "REPLY", "RELATED",
};

static const char *const flowjson_matches[] = {
	"none", "L3-Only", "L3-L4", "L4-Only", "all", "L3-Proto", "Proto-Only",
};

#define FLOWJSON_N(a) (sizeof(a) / sizeof((a)[0]))

const char *
bw_flowjson_verdict_name(unsigned v)
{
	return v < FLOWJSON_N(flowjson_verdicts) ? flowjson_verdicts[v] : NULL;
}

int
bw_flowjson_verdict_parse(const char *name)
{
	for (unsigned i = 0; i < FLOWJSON_N(flowjson_verdicts); i++)
		if (strcasecmp(name, flowjson_verdicts[i]) == 0)
			return (int)i;
	return -1;
}

const char *
bw_flowjson_type_name(unsigned t)
{
	return t < FLOWJSON_N(flowjson_types) ? flowjson_types[t] : NULL;
}

const char *
bw_flowjson_direction_name(unsigned d)
{
	return d < FLOWJSON_N(flowjson_directions) ? flowjson_directions[d] : NULL;
}

int
bw_flowjson_direction_parse(const char *name)
{
	for (unsigned i = 0; i < FLOWJSON_N(flowjson_directions); i++)
		if (strcasecmp(name, flowjson_directions[i]) == 0)
			return (int)i;
	return -1;
}

const char *
bw_flowjson_obs_point_name(unsigned p)
{
	switch (p) {
	case BW_FLOW_OBS_UNKNOWN_POINT: return "UNKNOWN_POINT";
	case BW_FLOW_OBS_TO_PROXY: return "TO_PROXY";
	case BW_FLOW_OBS_TO_HOST: return "TO_HOST";
	case BW_FLOW_OBS_TO_STACK: return "TO_STACK";
	case 4: return "TO_OVERLAY";
	case BW_FLOW_OBS_FROM_ENDPOINT: return "FROM_ENDPOINT";
	case BW_FLOW_OBS_FROM_PROXY: return "FROM_PROXY";
	case BW_FLOW_OBS_FROM_HOST: return "FROM_HOST";
	case BW_FLOW_OBS_FROM_STACK: return "FROM_STACK";
	case 9: return "FROM_OVERLAY";
	case BW_FLOW_OBS_FROM_NETWORK: return "FROM_NETWORK";
	case BW_FLOW_OBS_TO_NETWORK: return "TO_NETWORK";
	case 12: return "FROM_CRYPTO";
	case 13: return "TO_CRYPTO";
	case BW_FLOW_OBS_TO_ENDPOINT: return "TO_ENDPOINT";
	}
	return NULL;
}

const char *
bw_flowjson_trace_reason_name(unsigned r)
{
	return r < FLOWJSON_N(flowjson_reasons) ? flowjson_reasons[r] : NULL;
}

const char *
bw_flowjson_match_name(unsigned m)
{
	return m < FLOWJSON_N(flowjson_matches) ? flowjson_matches[m] : NULL;
}

const char *
bw_flowjson_icmp4_name(unsigned type)
{
	switch (type) {
	case 0: return "EchoReply";
	case 3: return "DestinationUnreachable";
	case 4: return "SourceQuench";
	case 5: return "Redirect";
	case 8: return "EchoRequest";
	case 9: return "RouterAdvertisement";
	case 10: return "RouterSolicitation";
	case 11: return "TimeExceeded";
	case 12: return "ParameterProblem";
	case 13: return "TimestampRequest";
	case 14: return "TimestampReply";
	case 15: return "InfoRequest";
	case 16: return "InfoReply";
	case 17: return "AddressMaskRequest";
	case 18: return "AddressMaskReply";
	}
	return NULL;
}

const char *
bw_flowjson_icmp6_name(unsigned type)
{
	switch (type) {
	case 1: return "DestinationUnreachable";
	case 2: return "PacketTooBig";
	case 3: return "TimeExceeded";
	case 4: return "ParameterProblem";
	case 128: return "EchoRequest";
	case 129: return "EchoReply";
	case 130: return "MLDv1MulticastListenerQuery";
	case 131: return "MLDv1MulticastListenerReport";
	case 132: return "MLDv1MulticastListenerDone";
	case 133: return "RouterSolicitation";
	case 134: return "RouterAdvertisement";
	case 135: return "NeighborSolicitation";
	case 136: return "NeighborAdvertisement";
	case 137: return "Redirect";
	case 143: return "MLDv2MulticastListenerReport";
	}
	return NULL;
}

/*
 * Code names as gopacket's ICMPv4TypeCode/ICMPv6TypeCode.String() print
 * them (Hubble's Summary): NULL table = the type has no codes.
 */
static const char *const flowjson_icmp4_unreach[] = {
	"Net", "Host", "Protocol", "Port", "FragmentationNeeded",
	"SourceRoutingFailed", "NetUnknown", "HostUnknown", "SourceIsolated",
	"NetAdminProhibited", "HostAdminProhibited", "NetTOS", "HostTOS",
	"CommAdminProhibited", "HostPrecedence", "PrecedenceCutoff",
};
static const char *const flowjson_icmp4_redirect[] = {
	"Net", "Host", "TOS+Net", "TOS+Host",
};
static const char *const flowjson_icmp4_time[] = {
	"TTLExceeded", "FragmentReassemblyTimeExceeded",
};
static const char *const flowjson_icmp4_param[] = {
	"PointerIndicatesError", "MissingOption", "BadLength",
};
static const char *const flowjson_icmp6_unreach[] = {
	"NoRouteToDst", "AdminProhibited", "BeyondScopeOfSrc",
	"AddressUnreachable", "PortUnreachable", "SrcAddressFailedPolicy",
	"RejectRouteToDst",
};
static const char *const flowjson_icmp6_time[] = {
	"HopLimitExceeded", "FragmentReassemblyTimeExceeded",
};
static const char *const flowjson_icmp6_param[] = {
	"ErroneousHeaderField", "UnrecognizedNextHeader", "UnrecognizedIPv6Option",
};

/* *has_codes: whether the type has a code table; the name or NULL. */
static const char *
flowjson_icmp_code_name(int v6, unsigned type, unsigned code, int *has_codes)
{
	const char *const *t = NULL;
	size_t n = 0;

#define FJ_T(a) (t = (a), n = FLOWJSON_N(a))
	if (!v6) {
		switch (type) {
		case 3: FJ_T(flowjson_icmp4_unreach); break;
		case 5: FJ_T(flowjson_icmp4_redirect); break;
		case 11: FJ_T(flowjson_icmp4_time); break;
		case 12: FJ_T(flowjson_icmp4_param); break;
		}
	} else {
		switch (type) {
		case 1: FJ_T(flowjson_icmp6_unreach); break;
		case 3: FJ_T(flowjson_icmp6_time); break;
		case 4: FJ_T(flowjson_icmp6_param); break;
		}
	}
#undef FJ_T
	*has_codes = t != NULL;
	return t != NULL && code < n ? t[code] : NULL;
}

/* ---- helpers ------------------------------------------------------------- */

void
bw_flowjson_time(uint64_t time_ns, char *buf, size_t len)
{
	time_t sec = (time_t)(time_ns / 1000000000u);
	uint32_t nsec = (uint32_t)(time_ns % 1000000000u);
	struct tm tm;
	char frac[16] = "";
	size_t n;

	gmtime_r(&sec, &tm);
	/* protojson: 0, 3, 6 or 9 digits, whatever keeps the value exact */
	if (nsec == 0)
		frac[0] = '\0';
	else if (nsec % 1000000 == 0)
		snprintf(frac, sizeof(frac), ".%03u", nsec / 1000000);
	else if (nsec % 1000 == 0)
		snprintf(frac, sizeof(frac), ".%06u", nsec / 1000);
	else
		snprintf(frac, sizeof(frac), ".%09u", nsec);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n == 0 && len > 0) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf + n, len - n, "%sZ", frac);
}

static int
flowjson_set(json_t *obj, const char *key, json_t *v)
{
	if (v == NULL)
		return -ENOMEM;
	return json_object_set_new(obj, key, v) == 0 ? 0 : -ENOMEM;
}

static void
flowjson_set_str(json_t *obj, const char *key, const char *s)
{
	if (s != NULL && *s != '\0')
		flowjson_set(obj, key, json_string(s));
}

static void
flowjson_set_u32(json_t *obj, const char *key, uint32_t v)
{
	if (v != 0)
		flowjson_set(obj, key, json_integer((json_int_t)v));
}

static void
flowjson_set_u64(json_t *obj, const char *key, uint64_t v)
{
	char buf[24];

	if (v == 0)
		return;
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	flowjson_set(obj, key, json_string(buf));
}

static void
flowjson_set_strv(json_t *obj, const char *key, const char *const *v,
		  uint32_t n)
{
	json_t *a;

	if (n == 0 || v == NULL)
		return;
	a = json_array();
	if (a == NULL)
		return;
	for (uint32_t i = 0; i < n; i++)
		if (v[i] != NULL)
			json_array_append_new(a, json_string(v[i]));
	flowjson_set(obj, key, a);
}

/* ---- summary ------------------------------------------------------------- */

void
bw_flowjson_summary(const struct bw_flow *f, char *buf, size_t len)
{
	/* Hubble lists TCP flags in this order, not the header's */
	static const struct {
		uint8_t bit;
		const char *name;
	} order[] = {
		{BW_FLOW_TCP_SYN, "SYN"}, {BW_FLOW_TCP_ACK, "ACK"}, {BW_FLOW_TCP_RST, "RST"},
		{BW_FLOW_TCP_FIN, "FIN"}, {BW_FLOW_TCP_PSH, "PSH"}, {BW_FLOW_TCP_URG, "URG"},
		{BW_FLOW_TCP_ECE, "ECE"}, {BW_FLOW_TCP_CWR, "CWR"},
	};
	const char *name, *code;
	int has_codes, v6;
	size_t n;

	if (len == 0)
		return;
	buf[0] = '\0';
	switch (f->protocol) {
	case 6:
		n = (size_t)snprintf(buf, len, "TCP Flags:");
		for (size_t i = 0; i < FLOWJSON_N(order) && n < len; i++) {
			if (!(f->tcp_flags & order[i].bit))
				continue;
			n += (size_t)snprintf(buf + n, len - n, "%s %s",
					      n > strlen("TCP Flags:") ? "," : "",
					      order[i].name);
		}
		break;
	case 17:
		snprintf(buf, len, "UDP");
		break;
	case 132:
		snprintf(buf, len, "SCTP");
		break;
	case 1:
	case 58:
		/* gopacket's TypeCode.String(): "EchoRequest",
		 * "DestinationUnreachable(Port)", "EchoRequest(Code: 1)",
		 * "42(0)" for an unknown type */
		v6 = f->protocol == 58;
		name = v6 ? bw_flowjson_icmp6_name(f->icmp_type)
			  : bw_flowjson_icmp4_name(f->icmp_type);
		code = flowjson_icmp_code_name(v6, f->icmp_type, f->icmp_code,
					       &has_codes);
		n = (size_t)snprintf(buf, len, "ICMPv%c ", v6 ? '6' : '4');
		if (n >= len)
			break;
		if (name == NULL)
			snprintf(buf + n, len - n, "%u(%u)", f->icmp_type,
				 f->icmp_code);
		else if (code != NULL)
			snprintf(buf + n, len - n, "%s(%s)", name, code);
		else if (has_codes || f->icmp_code != 0)
			snprintf(buf + n, len - n, "%s(Code: %u)", name,
				 f->icmp_code);
		else
			snprintf(buf + n, len - n, "%s", name);
		break;
	default:
		if (f->ip_version != 0)
			snprintf(buf, len, "IPv%u protocol %u", f->ip_version,
				 f->protocol);
		break;
	}
}

/* ---- the Flow message ---------------------------------------------------- */

static json_t *
flowjson_endpoint(const struct bw_flow_endpoint *ep)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	flowjson_set_u32(o, "ID", ep->id);
	flowjson_set_u32(o, "identity", ep->identity);
	flowjson_set_str(o, "namespace", ep->ns);
	flowjson_set_strv(o, "labels", ep->labels, ep->n_labels);
	flowjson_set_str(o, "pod_name", ep->pod_name);
	if (ep->workload_name != NULL && *ep->workload_name != '\0') {
		json_t *w = json_object();

		flowjson_set_str(w, "name", ep->workload_name);
		flowjson_set_str(w, "kind", ep->workload_kind);
		flowjson_set(o, "workloads", json_pack("[o]", w));
	}
	return o;
}

static json_t *
flowjson_policy(const struct bw_flow_policy *p)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	flowjson_set_str(o, "name", p->name);
	flowjson_set_str(o, "namespace", p->ns);
	flowjson_set_strv(o, "labels", p->labels, p->n_labels);
	flowjson_set_u64(o, "revision", p->revision);
	flowjson_set_str(o, "kind", p->kind);
	return o;
}

static void
flowjson_set_policies(json_t *obj, const char *key,
		      const struct bw_flow_policy *p, uint32_t n)
{
	json_t *a;

	if (n == 0 || p == NULL)
		return;
	a = json_array();
	if (a == NULL)
		return;
	for (uint32_t i = 0; i < n; i++)
		json_array_append_new(a, flowjson_policy(&p[i]));
	flowjson_set(obj, key, a);
}

static json_t *
flowjson_l4(const struct bw_flow *f)
{
	static const struct {
		uint8_t bit;
		const char *name;
	} flags[] = {
		/* proto declaration order */
		{BW_FLOW_TCP_FIN, "FIN"}, {BW_FLOW_TCP_SYN, "SYN"}, {BW_FLOW_TCP_RST, "RST"},
		{BW_FLOW_TCP_PSH, "PSH"}, {BW_FLOW_TCP_ACK, "ACK"}, {BW_FLOW_TCP_URG, "URG"},
		{BW_FLOW_TCP_ECE, "ECE"}, {BW_FLOW_TCP_CWR, "CWR"},
	};
	json_t *inner = json_object(), *fl;
	const char *key;

	if (inner == NULL)
		return NULL;
	switch (f->protocol) {
	case 6:
		key = "TCP";
		break;
	case 17:
		key = "UDP";
		break;
	case 132:
		key = "SCTP";
		break;
	case 1:
		key = "ICMPv4";
		break;
	case 58:
		key = "ICMPv6";
		break;
	default:
		json_decref(inner);
		return NULL;
	}
	if (f->protocol == 1 || f->protocol == 58) {
		flowjson_set_u32(inner, "type", f->icmp_type);
		flowjson_set_u32(inner, "code", f->icmp_code);
	} else {
		flowjson_set_u32(inner, "source_port", f->src_port);
		flowjson_set_u32(inner, "destination_port", f->dst_port);
	}
	if (f->protocol == 6 && f->tcp_flags != 0 && f->type != BW_FLOW_TYPE_L7) {
		fl = json_object();
		for (size_t i = 0; i < FLOWJSON_N(flags); i++)
			if (f->tcp_flags & flags[i].bit)
				json_object_set_new(fl, flags[i].name, json_true());
		flowjson_set(inner, "flags", fl);
	}
	return json_pack("{s:o}", key, inner);
}

/* ---- L7 -------------------------------------------------------------------- */

static const char *const flowjson_l7_types[] = {
	"UNKNOWN_L7_TYPE", "REQUEST", "RESPONSE", "SAMPLE",
};

const char *
bw_flowjson_l7_type_name(unsigned t)
{
	return t < FLOWJSON_N(flowjson_l7_types) ? flowjson_l7_types[t] : NULL;
}

/* The flow's L7 record when it is one we can read (size checked). */
static const struct bw_flow_l7 *
flowjson_l7_of(const struct bw_flow *f)
{
	if (!BW_FLOW_HAS(f, l7) || f->l7 == NULL ||
	    f->l7->size < offsetof(struct bw_flow_l7, proto))
		return NULL;
	return f->l7;
}

static json_t *
flowjson_kv_array(const struct bw_flow_kv *v, uint32_t n)
{
	json_t *a = json_array();

	if (a == NULL)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		json_t *h = json_object();

		flowjson_set_str(h, "key", v[i].key);
		flowjson_set_str(h, "value", v[i].value);
		json_array_append_new(a, h);
	}
	return a;
}

static json_t *
flowjson_l7(const struct bw_flow_l7 *l7)
{
	json_t *o = json_object(), *m;
	const char *name;

	if (o == NULL)
		return NULL;
	if (l7->type != BW_FLOW_L7_UNKNOWN &&
	    (name = bw_flowjson_l7_type_name(l7->type)) != NULL)
		flowjson_set_str(o, "type", name);
	flowjson_set_u64(o, "latency_ns", l7->latency_ns);
	if (l7->dns != NULL) {
		const struct bw_flow_dns *d = l7->dns;

		m = json_object();
		flowjson_set_str(m, "query", d->query);
		flowjson_set_strv(m, "ips", d->ips, d->n_ips);
		flowjson_set_u32(m, "ttl", d->ttl);
		flowjson_set_strv(m, "cnames", d->cnames, d->n_cnames);
		flowjson_set_str(m, "observation_source", d->observation_source);
		flowjson_set_u32(m, "rcode", d->rcode);
		flowjson_set_strv(m, "qtypes", d->qtypes, d->n_qtypes);
		flowjson_set_strv(m, "rrtypes", d->rrtypes, d->n_rrtypes);
		flowjson_set(o, "dns", m);
	}
	if (l7->http != NULL) {
		const struct bw_flow_http *h = l7->http;

		m = json_object();
		flowjson_set_u32(m, "code", h->code);
		flowjson_set_str(m, "method", h->method);
		flowjson_set_str(m, "url", h->url);
		flowjson_set_str(m, "protocol", h->protocol);
		if (h->n_headers > 0 && h->headers != NULL)
			flowjson_set(m, "headers",
				     flowjson_kv_array(h->headers, h->n_headers));
		flowjson_set(o, "http", m);
	}
	if (l7->kafka != NULL) {
		const struct bw_flow_kafka *k = l7->kafka;

		m = json_object();
		if (k->error_code != 0)
			flowjson_set(m, "error_code", json_integer(k->error_code));
		if (k->api_version != 0)
			flowjson_set(m, "api_version", json_integer(k->api_version));
		flowjson_set_str(m, "api_key", k->api_key);
		if (k->correlation_id != 0)
			flowjson_set(m, "correlation_id", json_integer(k->correlation_id));
		flowjson_set_str(m, "topic", k->topic);
		flowjson_set(o, "kafka", m);
	}
	return o;
}

/* Hubble's Summary of an L7 flow (pkg/hubble/parser/seven). */
static void
flowjson_l7_summary(const struct bw_flow *f, const struct bw_flow_l7 *l7,
		    char *buf, size_t len)
{
	int resp = l7->type == BW_FLOW_L7_RESPONSE;

	buf[0] = '\0';
	if (l7->http != NULL) {
		const struct bw_flow_http *h = l7->http;
		const char *proto = h->protocol != NULL ? h->protocol : "";

		if (resp)
			snprintf(buf, len, "%s %u %llums (%s %s)", proto, h->code,
				 (unsigned long long)(l7->latency_ns / 1000000u),
				 h->method != NULL ? h->method : "",
				 h->url != NULL ? h->url : "");
		else
			snprintf(buf, len, "%s %s %s", proto,
				 h->method != NULL ? h->method : "",
				 h->url != NULL ? h->url : "");
	} else if (l7->dns != NULL) {
		const struct bw_flow_dns *d = l7->dns;
		char types[128] = "", ips[512] = "";
		size_t n = 0;

		for (uint32_t i = 0; i < d->n_qtypes && n < sizeof(types); i++)
			n += (size_t)snprintf(types + n, sizeof(types) - n, "%s%s",
					      i ? "," : "", d->qtypes[i]);
		if (!resp) {
			snprintf(buf, len, "DNS Query %s %s",
				 d->query != NULL ? d->query : "", types);
			return;
		}
		n = 0;
		for (uint32_t i = 0; i < d->n_ips && n < sizeof(ips); i++)
			n += (size_t)snprintf(ips + n, sizeof(ips) - n, "%s%s",
					      i ? "," : "", d->ips[i]);
		if (d->rcode != 0)
			snprintf(buf, len, "DNS Answer RCode: %u (%s %s %s)", d->rcode,
				 d->observation_source != NULL &&
				 strcmp(d->observation_source, "proxy") == 0 ? "Proxy" : "Query",
				 d->query != NULL ? d->query : "", types);
		else
			snprintf(buf, len, "DNS Answer \"%s\" TTL: %u (%s %s %s)", ips,
				 d->ttl,
				 d->observation_source != NULL &&
				 strcmp(d->observation_source, "proxy") == 0 ? "Proxy" : "Query",
				 d->query != NULL ? d->query : "", types);
	} else if (l7->kafka != NULL) {
		const struct bw_flow_kafka *k = l7->kafka;

		if (resp)
			snprintf(buf, len, "Kafka response %s correlation id %d topic '%s' return code %d",
				 k->api_key != NULL ? k->api_key : "", k->correlation_id,
				 k->topic != NULL ? k->topic : "", k->error_code);
		else
			snprintf(buf, len, "Kafka request %s correlation id %d topic '%s'",
				 k->api_key != NULL ? k->api_key : "", k->correlation_id,
				 k->topic != NULL ? k->topic : "");
	} else {
		size_t n = (size_t)snprintf(buf, len, "%s %s",
					    l7->proto != NULL ? l7->proto : "L7",
					    resp ? "response" : "request");

		for (uint32_t i = 0; i < l7->n_fields && n < len; i++)
			n += (size_t)snprintf(buf + n, len - n, " %s=%s",
					      l7->fields[i].key ? l7->fields[i].key : "",
					      l7->fields[i].value ? l7->fields[i].value : "");
	}
	(void)f;
}

static json_t *
flowjson_extensions(const struct bw_flow *f)
{
	const struct bw_flow_l7 *l7 = flowjson_l7_of(f);
	const char *by = BW_FLOW_HAS(f, verdict_by) ? f->verdict_by : NULL;
	int l7ext = l7 != NULL && l7->http == NULL && l7->dns == NULL &&
		    l7->kafka == NULL && (l7->proto != NULL || l7->n_fields > 0);
	json_t *o, *more = NULL;
	const char *k;
	json_t *v;
	int staged = BW_FLOW_HAS(f, n_staged_by) &&
		     f->staged_verdict != BW_FLOW_VERDICT_UNKNOWN;

	if (BW_FLOW_HAS(f, extensions_json) && f->extensions_json != NULL) {
		more = json_loads(f->extensions_json, 0, NULL);
		if (more != NULL && !json_is_object(more)) {
			json_decref(more);
			more = NULL;
		}
	}
	if (f->n_isolated_by == 0 && f->rule_ref == 0 &&
	    !(f->flags & BW_FLOW_F_CT_CLOSE) && by == NULL && !l7ext &&
	    more == NULL && !staged)
		return NULL;
	o = json_object();
	if (o == NULL) {
		json_decref(more);
		return NULL;
	}
	flowjson_set(o, "@type", json_string("bulwark.io/FlowExtensions"));
	flowjson_set_u32(o, "rule_ref", f->rule_ref);
	flowjson_set_policies(o, "isolated_by", f->isolated_by, f->n_isolated_by);
	if (f->flags & BW_FLOW_F_CT_CLOSE) {
		json_t *c = json_object();

		json_object_set_new(c, "closed", json_true());
		flowjson_set_u64(c, "packets", f->ct_packets);
		flowjson_set_u64(c, "bytes", f->ct_bytes);
		flowjson_set(o, "connection", c);
	}
	if (staged) {
		json_t *st = json_object();
		const char *vn = bw_flowjson_verdict_name(f->staged_verdict);

		flowjson_set_str(st, "verdict", vn != NULL ? vn : "UNKNOWN");
		flowjson_set_policies(st, "policies", f->staged_by, f->n_staged_by);
		flowjson_set(o, "staged", st);
	}
	if (by != NULL) {
		json_t *b = json_object();

		flowjson_set_str(b, "by", by);
		flowjson_set_str(b, "reason", f->verdict_reason);
		flowjson_set(o, "verdict_by", b);
	}
	if (l7ext) {
		json_t *x = json_object();

		flowjson_set_str(x, "proto", l7->proto);
		if (l7->n_fields > 0 && l7->fields != NULL)
			flowjson_set(x, "fields",
				     flowjson_kv_array(l7->fields, l7->n_fields));
		flowjson_set(o, "l7", x);
	}
	if (more != NULL) {
		/* the core's own members win: a script cannot fake them */
		json_object_foreach(more, k, v)
			if (json_object_get(o, k) == NULL)
				json_object_set(o, k, v);
		json_decref(more);
	}
	return o;
}

json_t *
bw_flowjson_flow(const struct bw_flow *f)
{
	json_t *o = json_object(), *l4, *ext;
	const struct bw_flow_l7 *l7 = flowjson_l7_of(f);
	char tbuf[40];
	char sbuf[1024];
	const char *name;

	if (o == NULL)
		return NULL;
	bw_flowjson_time(f->time_ns, tbuf, sizeof(tbuf));
	flowjson_set_str(o, "time", tbuf);
	flowjson_set_str(o, "uuid", f->uuid);
	if (f->verdict != BW_FLOW_VERDICT_UNKNOWN &&
	    (name = bw_flowjson_verdict_name(f->verdict)) != NULL)
		flowjson_set_str(o, "verdict", name);
	flowjson_set_u32(o, "drop_reason", f->drop_reason);
	if (f->ip_version == 4 || f->ip_version == 6) {
		json_t *ip = json_object();

		flowjson_set_str(ip, "source", f->src_ip);
		flowjson_set_str(ip, "destination", f->dst_ip);
		flowjson_set_str(ip, "ipVersion", f->ip_version == 4 ? "IPv4" : "IPv6");
		flowjson_set(o, "IP", ip);
	}
	l4 = flowjson_l4(f);
	if (l4 != NULL)
		flowjson_set(o, "l4", l4);
	for (int i = 0; i < 2; i++) {
		json_t *ep = flowjson_endpoint(i == 0 ? &f->source : &f->destination);

		if (ep != NULL && json_object_size(ep) == 0) /* unset: omitted */
			json_decref(ep);
		else
			flowjson_set(o, i == 0 ? "source" : "destination", ep);
	}
	if (f->type != BW_FLOW_TYPE_UNKNOWN &&
	    (name = bw_flowjson_type_name(f->type)) != NULL)
		flowjson_set_str(o, "Type", name);
	flowjson_set_str(o, "node_name", f->node_name);
	if (BW_FLOW_HAS(f, n_destination_names)) {
		flowjson_set_strv(o, "source_names", f->source_names, f->n_source_names);
		flowjson_set_strv(o, "destination_names", f->destination_names,
				  f->n_destination_names);
	}
	if (l7 != NULL)
		flowjson_set(o, "l7", flowjson_l7(l7));
	if (f->is_reply == 1)
		flowjson_set(o, "reply", json_true());
	if (f->event_type != 0) {
		json_t *et = json_object();

		flowjson_set_u32(et, "type", f->event_type);
		flowjson_set_u32(et, "sub_type", f->event_sub_type);
		flowjson_set(o, "event_type", et);
	}
	if (f->traffic_direction != BW_FLOW_TRAFFIC_UNKNOWN &&
	    (name = bw_flowjson_direction_name(f->traffic_direction)) != NULL)
		flowjson_set_str(o, "traffic_direction", name);
	flowjson_set_u32(o, "policy_match_type", f->policy_match_type);
	if (f->trace_observation_point != BW_FLOW_OBS_UNKNOWN_POINT &&
	    (name = bw_flowjson_obs_point_name(f->trace_observation_point)) != NULL)
		flowjson_set_str(o, "trace_observation_point", name);
	if (f->trace_reason != BW_FLOW_REASON_UNKNOWN &&
	    (name = bw_flowjson_trace_reason_name(f->trace_reason)) != NULL)
		flowjson_set_str(o, "trace_reason", name);
	/* a code without a name is left out, as protobuf's JSON leaves the
	 * enum's zero out (GetFlows prints the same) */
	if (f->drop_reason != 0 && f->drop_reason_desc != NULL)
		flowjson_set_str(o, "drop_reason_desc", f->drop_reason_desc);
	if (f->is_reply >= 0)
		flowjson_set(o, "is_reply", json_boolean(f->is_reply != 0));
	if (f->ifindex != 0 || (f->ifname != NULL && *f->ifname != '\0')) {
		json_t *itf = json_object();

		flowjson_set_u32(itf, "index", f->ifindex);
		flowjson_set_str(itf, "name", f->ifname);
		flowjson_set(o, "interface", itf);
	}
	if (BW_FLOW_HAS(f, proxy_port))
		flowjson_set_u32(o, "proxy_port", f->proxy_port);
	if (f->summary != NULL) {
		flowjson_set_str(o, "Summary", f->summary);
	} else if (l7 != NULL) {
		flowjson_l7_summary(f, l7, sbuf, sizeof(sbuf));
		flowjson_set_str(o, "Summary", sbuf);
	} else {
		bw_flowjson_summary(f, sbuf, sizeof(sbuf));
		flowjson_set_str(o, "Summary", sbuf);
	}
	ext = flowjson_extensions(f);
	if (ext != NULL)
		flowjson_set(o, "extensions", ext);
	flowjson_set_policies(o, "egress_allowed_by", f->egress_allowed_by,
			      f->n_egress_allowed_by);
	flowjson_set_policies(o, "ingress_allowed_by", f->ingress_allowed_by,
			      f->n_ingress_allowed_by);
	flowjson_set_policies(o, "egress_denied_by", f->egress_denied_by,
			      f->n_egress_denied_by);
	flowjson_set_policies(o, "ingress_denied_by", f->ingress_denied_by,
			      f->n_ingress_denied_by);
	return o;
}

json_t *
bw_flowjson_response(const struct bw_flow *f)
{
	json_t *o = json_object(), *flow;
	char tbuf[40];

	if (o == NULL)
		return NULL;
	flow = bw_flowjson_flow(f);
	if (flow == NULL) {
		json_decref(o);
		return NULL;
	}
	flowjson_set(o, "flow", flow);
	flowjson_set_str(o, "node_name", f->node_name);
	bw_flowjson_time(f->time_ns, tbuf, sizeof(tbuf));
	flowjson_set_str(o, "time", tbuf);
	return o;
}

int
bw_flowjson_text(const struct bw_flow *f, char **out)
{
	json_t *doc = bw_flowjson_response(f);

	*out = NULL;
	if (doc == NULL)
		return -ENOMEM;
	*out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return *out != NULL ? 0 : -ENOMEM;
}

json_t *
bw_flowjson_lost(const char *source, uint64_t n, const char *node_name,
		 uint64_t time_ns)
{
	json_t *o = json_object(), *le = json_object();
	char tbuf[40];

	if (o == NULL || le == NULL) {
		json_decref(o);
		json_decref(le);
		return NULL;
	}
	flowjson_set_str(le, "source", source);
	flowjson_set_u64(le, "num_events_lost", n);
	flowjson_set(o, "lost_events", le);
	flowjson_set_str(o, "node_name", node_name);
	bw_flowjson_time(time_ns, tbuf, sizeof(tbuf));
	flowjson_set_str(o, "time", tbuf);
	return o;
}
