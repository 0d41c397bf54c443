/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/prometheus/prom_flows.c - counters fed by every flow the core
 * publishes (flow_subscribe), with Hubble's metric names, labels and
 * rules where Hubble has the metric (pkg/hubble/metrics/{flow,drop,policy,
 * tcp,port-distribution}), plus bulwark's per-namespace counters for the
 * dashboards. Every family is bounded by [prometheus] max_series.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

struct prom_flows {
	struct prom_vec *processed; /* hubble_flows_processed_total */
	struct prom_vec *drop;      /* hubble_drop_total */
	struct prom_vec *policy;    /* hubble_policy_verdicts_total */
	struct prom_vec *tcp;       /* hubble_tcp_flags_total */
	struct prom_vec *ports;     /* hubble_port_distribution_total */
	struct prom_vec *by_ns;     /* bulwark_policy_verdicts_by_namespace_total */
	struct prom_vec *denied;    /* bulwark_denied_flows_total */
	struct prom_dns *dns;       /* hubble_dns_* (prom_dns.c) */
	struct prom_http *http;     /* hubble_http_* (prom_http.c) */
	struct prom_kafka *kafka;   /* hubble_kafka_* (prom_kafka.c) */
};

static const char *const processed_labels[] = { "protocol", "type", "subtype", "verdict" };
static const char *const drop_labels[] = { "reason", "protocol" };
static const char *const policy_labels[] = { "direction", "match", "action" };
static const char *const tcp_labels[] = { "flag", "family" };
static const char *const ports_labels[] = { "protocol", "port" };
static const char *const by_ns_labels[] = { "namespace", "direction", "action" };
static const char *const denied_labels[] = {
	"source_namespace", "source_workload",
	"destination_namespace", "destination_workload",
};

#define NLABELS(a) (unsigned)(sizeof(a) / sizeof((a)[0]))

/* Hubble's Verdict enum names. */
const char *
prom_verdict_name(int verdict)
{
	static const char *const names[] = {
		"VERDICT_UNKNOWN", "FORWARDED", "DROPPED", "ERROR", "AUDIT",
		"REDIRECTED", "TRACED", "TRANSLATED",
	};

	if (verdict >= 0 && verdict < (int)NLABELS(names))
		return names[verdict];
	return "VERDICT_UNKNOWN";
}

/* The L7 record of a flow, when the daemon's flow has one we can read. */
static const struct bw_flow_l7 *
flows_l7(const struct bw_flow *flow)
{
	if (!BW_FLOW_HAS(flow, l7) || flow->l7 == NULL ||
	    flow->l7->size < offsetof(struct bw_flow_l7, proto))
		return NULL;
	return flow->l7;
}

static const char *
flows_l7_protocol(const struct bw_flow *flow)
{
	const struct bw_flow_l7 *l7 = flows_l7(flow);

	if (l7 == NULL)
		return "Unknown L7";
	if (l7->dns != NULL)
		return "DNS";
	if (l7->http != NULL)
		return "HTTP";
	if (l7->kafka != NULL)
		return "Kafka";
	return "Unknown L7";
}

/* Hubble's FlowProtocol(). */
const char *
prom_flow_protocol(const struct bw_flow *flow)
{
	switch (flow->event_type) {
	case BW_FLOW_EVENT_L7:
		return flows_l7_protocol(flow);
	case BW_FLOW_EVENT_DROP:
	case BW_FLOW_EVENT_TRACE:
	case BW_FLOW_EVENT_POLICY_VERDICT:
	case 3: /* capture */
		break;
	default:
		return "Unknown flow";
	}
	switch (flow->protocol) {
	case 6:
		return "TCP";
	case 17:
		return "UDP";
	case 1:
		return "ICMPv4";
	case 58:
		return "ICMPv6";
	case 132:
		return "SCTP";
	case 112:
		return "VRRP";
	case 2:
		return "IGMP";
	default:
		return "Unknown L4";
	}
}

/* Cilium's trace observation point names (monitor/api TraceObservationPoints). */
static const char *
flows_trace_point(uint32_t sub_type)
{
	static const char *const names[] = {
		"to-endpoint", "to-proxy", "to-host", "to-stack", "to-overlay",
		"from-endpoint", "from-proxy", "from-host", "from-stack",
		"from-overlay", "from-network", "to-network", "from-crypto",
		"to-crypto",
	};

	return sub_type < NLABELS(names) ? names[sub_type] : "";
}

/* Cilium's PolicyMatchType names, lower-cased as Hubble's policy metric does. */
static const char *
flows_match_name(uint32_t match)
{
	static const char *const names[] = {
		"none", "l3-only", "l3-l4", "l4-only", "all", "l3-proto",
		"proto-only",
	};

	return match < NLABELS(names) ? names[match] : "unknown";
}

static const char *
flows_direction(int dir)
{
	return dir == BW_FLOW_TRAFFIC_INGRESS ? "ingress" :
	       dir == BW_FLOW_TRAFFIC_EGRESS ? "egress" :
	       "traffic_direction_unknown";
}

/* Lower-case verdict name into buf (Hubble's policy "action"). */
static const char *
flows_action(int verdict, char *buf, size_t len)
{
	const char *v = prom_verdict_name(verdict);
	size_t i;

	for (i = 0; v[i] != '\0' && i + 1 < len; i++)
		buf[i] = (char)(v[i] >= 'A' && v[i] <= 'Z' ? v[i] + 32 : v[i]);
	buf[i] = '\0';
	return buf;
}

/*
 * The workload of one side for bulwark_denied_flows_total: the workload
 * name, else the pod name, else the identity's first label (e.g.
 * "reserved:world", "cidr:192.0.2.0/24"), else "".
 */
static const char *
flows_workload(const struct bw_flow_endpoint *ep)
{
	if (ep->workload_name != NULL && ep->workload_name[0] != '\0')
		return ep->workload_name;
	if (ep->pod_name != NULL && ep->pod_name[0] != '\0')
		return ep->pod_name;
	if (ep->n_labels > 0 && ep->labels != NULL && ep->labels[0] != NULL)
		return ep->labels[0];
	return "";
}

static const char *
flows_ns(const struct bw_flow_endpoint *ep)
{
	return ep->ns != NULL ? ep->ns : "";
}

struct prom_flows *
prom_flows_new(size_t max_series)
{
	struct prom_flows *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->processed = prom_vec_new("hubble_flows_processed_total",
		"Total number of flows processed", "counter",
		processed_labels, NLABELS(processed_labels), max_series, 0xf);
	f->drop = prom_vec_new("hubble_drop_total",
		"Number of drops", "counter",
		drop_labels, NLABELS(drop_labels), max_series, 0x3);
	f->policy = prom_vec_new("hubble_policy_verdicts_total",
		"Number of policy verdicts by direction, match type and action",
		"counter", policy_labels, NLABELS(policy_labels), max_series, 0x7);
	f->tcp = prom_vec_new("hubble_tcp_flags_total",
		"TCP flag occurrences", "counter",
		tcp_labels, NLABELS(tcp_labels), max_series, 0x3);
	f->ports = prom_vec_new("hubble_port_distribution_total",
		"Numbers of packets distributed by destination port", "counter",
		ports_labels, NLABELS(ports_labels), max_series, 0x2);
	f->by_ns = prom_vec_new("bulwark_policy_verdicts_by_namespace_total",
		"Policy verdicts by the namespace of the endpoint whose policy decided, direction and action",
		"counter", by_ns_labels, NLABELS(by_ns_labels), max_series, 0x1);
	f->denied = prom_vec_new("bulwark_denied_flows_total",
		"Connections denied by policy, by source and destination namespace and workload",
		"counter", denied_labels, NLABELS(denied_labels), max_series, 0xf);
	f->dns = prom_dns_new(max_series);
	f->http = prom_http_new(max_series);
	f->kafka = prom_kafka_new(max_series);
	if (!f->processed || !f->drop || !f->policy || !f->tcp || !f->ports ||
	    !f->by_ns || !f->denied || !f->dns || !f->http || !f->kafka) {
		prom_flows_free(f);
		return NULL;
	}
	return f;
}

void
prom_flows_free(struct prom_flows *f)
{
	if (f == NULL)
		return;
	prom_vec_free(f->processed);
	prom_vec_free(f->drop);
	prom_vec_free(f->policy);
	prom_vec_free(f->tcp);
	prom_vec_free(f->ports);
	prom_vec_free(f->by_ns);
	prom_vec_free(f->denied);
	prom_dns_free(f->dns);
	prom_http_free(f->http);
	prom_kafka_free(f->kafka);
	free(f);
}

/* hubble_flows_processed_total: type and subtype as Hubble's flow plugin. */
static void
flows_count_processed(struct prom_flows *f, const struct bw_flow *flow,
		      const char *proto)
{
	const char *type, *subtype = "";
	const char *v[4];

	switch (flow->event_type) {
	case BW_FLOW_EVENT_L7:
		type = "L7";
		subtype = strcmp(proto, "Unknown L7") != 0 ? proto : "";
		break;
	case BW_FLOW_EVENT_DROP:
		type = "Drop";
		break;
	case 3:
		type = "Capture";
		break;
	case BW_FLOW_EVENT_TRACE:
		type = "Trace";
		subtype = flows_trace_point(flow->event_sub_type);
		break;
	case BW_FLOW_EVENT_POLICY_VERDICT:
		type = "PolicyVerdict";
		break;
	default:
		type = "Unknown";
	}
	v[0] = proto;
	v[1] = type;
	v[2] = subtype;
	v[3] = prom_verdict_name(flow->verdict);
	prom_vec_add(f->processed, v, 1);
}

/* hubble_tcp_flags_total and hubble_port_distribution_total. */
static void
flows_count_forwarded(struct prom_flows *f, const struct bw_flow *flow,
		      const char *proto)
{
	const char *family = flow->ip_version == 6 ? "IPv6" : "IPv4";
	char port[8];
	const char *v[2];

	if (flow->verdict != BW_FLOW_VERDICT_FORWARDED &&
	    flow->verdict != BW_FLOW_VERDICT_REDIRECTED)
		return;
	if (flow->protocol == 6 && flow->ip_version != 0) {
		v[1] = family;
		if (flow->tcp_flags & BW_FLOW_TCP_SYN) {
			v[0] = (flow->tcp_flags & BW_FLOW_TCP_ACK) ? "SYN-ACK" : "SYN";
			prom_vec_add(f->tcp, v, 1);
		}
		if (flow->tcp_flags & BW_FLOW_TCP_FIN) {
			v[0] = "FIN";
			prom_vec_add(f->tcp, v, 1);
		}
		if (flow->tcp_flags & BW_FLOW_TCP_RST) {
			v[0] = "RST";
			prom_vec_add(f->tcp, v, 1);
		}
	}
	/* Port distribution: requests only (is_reply known and false). */
	if (flow->is_reply != 0)
		return;
	switch (flow->protocol) {
	case 6:
	case 17:
	case 132:
		snprintf(port, sizeof(port), "%u", (unsigned)flow->dst_port);
		break;
	case 1:
	case 58:
		snprintf(port, sizeof(port), "0");
		break;
	default:
		return;
	}
	v[0] = proto;
	v[1] = port;
	prom_vec_add(f->ports, v, 1);
}

/* Policy-verdict events: Hubble's policy metric and bulwark's own. */
static void
flows_count_verdict(struct prom_flows *f, const struct bw_flow *flow)
{
	const struct bw_flow_endpoint *local;
	char action[24];
	const char *v[4];

	flows_action(flow->verdict, action, sizeof(action));
	/* Hubble ignores verdicts on traffic from the host. */
	if (flow->source.identity != 1) {
		v[0] = flows_direction(flow->traffic_direction);
		v[1] = flows_match_name(flow->policy_match_type);
		v[2] = action;
		prom_vec_add(f->policy, v, 1);
	}
	/* The namespace whose policy decided: the destination for ingress. */
	local = flow->traffic_direction == BW_FLOW_TRAFFIC_EGRESS ?
		&flow->source : &flow->destination;
	v[0] = flows_ns(local);
	v[1] = flows_direction(flow->traffic_direction);
	v[2] = action;
	prom_vec_add(f->by_ns, v, 1);

	if (flow->verdict == BW_FLOW_VERDICT_DROPPED) {
		v[0] = flows_ns(&flow->source);
		v[1] = flows_workload(&flow->source);
		v[2] = flows_ns(&flow->destination);
		v[3] = flows_workload(&flow->destination);
		prom_vec_add(f->denied, v, 1);
	}
}

/* L7 flows in Hubble's policy metric: match "l7/http", "l7/dns", ... */
static void
flows_count_l7(struct prom_flows *f, const struct bw_flow *flow, const char *proto)
{
	const struct bw_flow_l7 *l7 = flows_l7(flow);
	char action[24], match[32];
	const char *v[3];

	snprintf(match, sizeof(match), "l7/%s",
		 l7 == NULL ? "" : l7->dns != NULL ? "dns" : l7->http != NULL ? "http"
		 : l7->kafka != NULL ? "kafka" : "");
	v[0] = flows_direction(flow->traffic_direction);
	v[1] = match;
	v[2] = flows_action(flow->verdict, action, sizeof(action));
	prom_vec_add(f->policy, v, 1);
	(void)proto;
}

void
prom_flows_count(const struct bw_flow *flow, void *arg)
{
	struct prom_flows *f = arg;
	const char *proto = prom_flow_protocol(flow);
	char code[16];
	const char *v[2];

	flows_count_processed(f, flow, proto);
	if (flow->verdict == BW_FLOW_VERDICT_DROPPED) {
		if (flow->drop_reason_desc != NULL) {
			v[0] = flow->drop_reason_desc;
		} else if (flow->drop_reason == 0) {
			v[0] = "DROP_REASON_UNKNOWN";
		} else {
			snprintf(code, sizeof(code), "%u", (unsigned)flow->drop_reason);
			v[0] = code;
		}
		v[1] = proto;
		prom_vec_add(f->drop, v, 1);
	}
	flows_count_forwarded(f, flow, proto);
	if (flow->event_type == BW_FLOW_EVENT_POLICY_VERDICT)
		flows_count_verdict(f, flow);
	prom_dns_count(f->dns, flow);
	if (flow->event_type == BW_FLOW_EVENT_L7) {
		flows_count_l7(f, flow, proto);
		prom_http_count(f->http, flow);
		prom_kafka_count(f->kafka, flow);
	}
}

void
prom_flows_foreach_vec(const struct prom_flows *f,
		       void (*cb)(const struct prom_vec *v, void *arg), void *arg)
{
	const struct prom_vec *all[] = {
		f->processed, f->drop, f->policy, f->tcp, f->ports, f->by_ns,
		f->denied, prom_http_requests(f->http), prom_kafka_requests(f->kafka),
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		cb(all[i], arg);
	prom_dns_foreach_vec(f->dns, cb, arg);
}

void
prom_flows_write(const struct prom_flows *f, struct evbuffer *out)
{
	prom_vec_write(f->processed, out);
	prom_vec_write(f->drop, out);
	prom_vec_write(f->policy, out);
	prom_vec_write(f->tcp, out);
	prom_vec_write(f->ports, out);
	prom_vec_write(f->by_ns, out);
	prom_vec_write(f->denied, out);
	prom_dns_write(f->dns, out);
	prom_http_write(f->http, out);
	prom_kafka_write(f->kafka, out);
}
