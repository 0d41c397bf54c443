/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bulwark/flow.h - the flow record: one decoded and enriched datapath (or
 * proxy) event, as modules receive it through bw_core_api.flow_subscribe().
 *
 * The record mirrors Hubble's Flow message (cilium api/v1/flow/flow.proto):
 * the field names below are the proto's, in C spelling, and the enums keep
 * Hubble's numbers, so bw_core_api.flow_to_json() can render the exact
 * GetFlowsResponse JSON that `hubble observe -o json` prints.
 *
 * Lifetime: a struct bw_flow handed to a subscriber, and everything it
 * points to, is valid only during the callback. Copy what you keep (or keep
 * the JSON text from flow_to_json()).
 *
 * Compatibility: struct bw_flow begins with its size and only grows at the
 * end; test `flow->size >= offsetof(struct bw_flow, member) + sizeof(...)`
 * (BW_FLOW_HAS) before reading a member added after ABI 1.0's first flow
 * release.
 *
 * C99, self-contained.
 */
#ifndef BULWARK_FLOW_H
#define BULWARK_FLOW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Hubble's Verdict enum. */
enum bw_flow_verdict {
	BW_FLOW_VERDICT_UNKNOWN = 0,
	BW_FLOW_VERDICT_FORWARDED = 1,
	BW_FLOW_VERDICT_DROPPED = 2,
	BW_FLOW_VERDICT_ERROR = 3,
	BW_FLOW_VERDICT_AUDIT = 4,
	BW_FLOW_VERDICT_REDIRECTED = 5,
	BW_FLOW_VERDICT_TRACED = 6,
	BW_FLOW_VERDICT_TRANSLATED = 7,
};

/* Hubble's FlowType enum (the "Type" field). */
enum bw_flow_type {
	BW_FLOW_TYPE_UNKNOWN = 0,
	BW_FLOW_TYPE_L3_L4 = 1,
	BW_FLOW_TYPE_L7 = 2,
	BW_FLOW_TYPE_SOCK = 3,
};

/* Hubble's TrafficDirection enum. */
enum bw_flow_direction {
	BW_FLOW_TRAFFIC_UNKNOWN = 0,
	BW_FLOW_TRAFFIC_INGRESS = 1,
	BW_FLOW_TRAFFIC_EGRESS = 2,
};

/* Hubble's TraceObservationPoint enum (the values bulwark produces). */
enum bw_flow_obs_point {
	BW_FLOW_OBS_UNKNOWN_POINT = 0,
	BW_FLOW_OBS_TO_PROXY = 1,
	BW_FLOW_OBS_TO_HOST = 2,
	BW_FLOW_OBS_TO_STACK = 3,
	BW_FLOW_OBS_FROM_ENDPOINT = 5,
	BW_FLOW_OBS_FROM_PROXY = 6,
	BW_FLOW_OBS_FROM_HOST = 7,
	BW_FLOW_OBS_FROM_STACK = 8,
	BW_FLOW_OBS_FROM_NETWORK = 10,
	BW_FLOW_OBS_TO_NETWORK = 11,
	BW_FLOW_OBS_TO_ENDPOINT = 101,
};

/* Hubble's TraceReason enum. */
enum bw_flow_trace_reason {
	BW_FLOW_REASON_UNKNOWN = 0,
	BW_FLOW_REASON_NEW = 1,
	BW_FLOW_REASON_ESTABLISHED = 2,
	BW_FLOW_REASON_REPLY = 3,
	BW_FLOW_REASON_RELATED = 4,
};

/* Hubble event_type.type values (cilium pkg/monitor/api/types.go). */
#define BW_FLOW_EVENT_DROP 1
#define BW_FLOW_EVENT_TRACE 4
#define BW_FLOW_EVENT_POLICY_VERDICT 5
#define BW_FLOW_EVENT_L7 129

/* TCP flag bits of bw_flow.tcp_flags (the header's order). */
#define BW_FLOW_TCP_FIN 0x01
#define BW_FLOW_TCP_SYN 0x02
#define BW_FLOW_TCP_RST 0x04
#define BW_FLOW_TCP_PSH 0x08
#define BW_FLOW_TCP_ACK 0x10
#define BW_FLOW_TCP_URG 0x20
#define BW_FLOW_TCP_ECE 0x40
#define BW_FLOW_TCP_CWR 0x80

/* bw_flow.flags */
#define BW_FLOW_F_CT_NEW (1u << 0)   /* first packet of a connection */
#define BW_FLOW_F_CT_CLOSE (1u << 1) /* connection closed; ct_* are totals */
#define BW_FLOW_F_AUDITED (1u << 2)  /* audit mode turned a drop into AUDIT */
/*
 * ABI 1.2. On policy verdicts (their own direction) and on the trace of a
 * new connection (BW_FLOW_F_CT_NEW): the connection was checked against
 * policy at that side, so a policy-verdict flow names the verdict there:
 *   INGRESS_ENFORCED  the destination is a local endpoint whose ingress is
 *                     enforced (default deny, or deny rules)
 *   EGRESS_ENFORCED   the source is a local endpoint whose egress is
 * A side without its flag was not checked: nothing selects the endpoint
 * in that direction and the connection passed without a verdict event.
 */
#define BW_FLOW_F_INGRESS_ENFORCED (1u << 3)
#define BW_FLOW_F_EGRESS_ENFORCED (1u << 4)
#define BW_FLOW_F_SCRIPT (1u << 5)   /* emitted by a Lua script (bulwark.emit_flow) */

/* Hubble's L7FlowType enum (l7.type). */
enum bw_flow_l7_type {
	BW_FLOW_L7_UNKNOWN = 0,
	BW_FLOW_L7_REQUEST = 1,
	BW_FLOW_L7_RESPONSE = 2,
	BW_FLOW_L7_SAMPLE = 3,
};

/* One header (Hubble's HTTPHeader) or one key/value field. */
struct bw_flow_kv {
	const char *key;
	const char *value;
};

/* Hubble's HTTP message (l7.http). */
struct bw_flow_http {
	uint32_t code;           /* status code; 0 on requests */
	const char *method;      /* "GET" */
	const char *url;         /* "http://host/path?query" */
	const char *protocol;    /* "HTTP/1.1" */
	const struct bw_flow_kv *headers;
	uint32_t n_headers;
};

/* Hubble's DNS message (l7.dns). */
struct bw_flow_dns {
	const char *query;       /* "api.example.com." */
	const char *const *ips;
	uint32_t n_ips;
	uint32_t ttl;
	const char *const *cnames;
	uint32_t n_cnames;
	const char *observation_source; /* "proxy" */
	uint32_t rcode;
	const char *const *qtypes;      /* "A" */
	uint32_t n_qtypes;
	const char *const *rrtypes;
	uint32_t n_rrtypes;
};

/* Hubble's Kafka message (l7.kafka). */
struct bw_flow_kafka {
	int32_t error_code;
	int32_t api_version;
	const char *api_key;     /* "produce" */
	int32_t correlation_id;
	const char *topic;
};

/*
 * Hubble's Layer7 message: the L7 part of a flow of Type L7 (event type
 * BW_FLOW_EVENT_L7), built by a proxy. At most one of dns, http, kafka is
 * set; a parser of another protocol (a Lua-written one, a third-party
 * module) names itself in proto and puts its fields in fields, which the
 * JSON has under extensions.l7 (Hubble has no message for them).
 */
struct bw_flow_l7 {
	size_t size;             /* sizeof(struct bw_flow_l7) */
	enum bw_flow_l7_type type;
	uint64_t latency_ns;     /* responses: time since the request */
	const struct bw_flow_dns *dns;
	const struct bw_flow_http *http;
	const struct bw_flow_kafka *kafka;
	const char *proto;       /* the parser's name ("http", "kafka", ...) */
	const struct bw_flow_kv *fields;
	uint32_t n_fields;
};

#define BW_FLOW_L7_HAS(l7, member) \
	((l7)->size >= offsetof(struct bw_flow_l7, member) + sizeof((l7)->member))

/* One side of a flow (Hubble's Endpoint message). */
struct bw_flow_endpoint {
	uint32_t id;          /* local endpoint id; 0 when not a local endpoint */
	uint32_t identity;    /* security identity; 0 unknown */
	const char *ns;       /* Kubernetes namespace, NULL when none */
	const char *pod_name; /* NULL when none */
	/* Labels, sorted, each "source:key=value" ("source:key" when empty). */
	const char *const *labels;
	uint32_t n_labels;
	/*
	 * The pod's workload (Hubble's workloads[0]: name, kind such as
	 * "Deployment"): given with the endpoint (`endpoint add --workload`)
	 * or derived from the pod name; both NULL when unknown.
	 */
	const char *workload_name;
	const char *workload_kind;
};

/* A policy named by a verdict (Hubble's Policy message). */
struct bw_flow_policy {
	const char *name;
	const char *ns;   /* NULL or "" for cluster-scoped policies */
	const char *kind; /* "NetworkPolicy", "CiliumNetworkPolicy", ... */
	uint64_t revision;
	const char *const *labels;
	uint32_t n_labels;
};

struct bw_flow {
	size_t size; /* sizeof(struct bw_flow) as the daemon knows it */

	uint64_t seq;       /* position in the daemon's flow ring, increasing */
	uint64_t time_ns;   /* wall clock, nanoseconds since the epoch (UTC) */
	char uuid[40];      /* RFC 4122 text, NUL-terminated */
	const char *node_name;

	enum bw_flow_verdict verdict;
	enum bw_flow_type type;
	uint32_t event_type;     /* BW_FLOW_EVENT_* */
	uint32_t event_sub_type; /* drop reason / trace observation point */
	uint32_t drop_reason;    /* Cilium drop reason code, 0 = none */
	const char *drop_reason_desc; /* DropReason enum name, or NULL */

	/* L3 */
	uint8_t ip_version;      /* 4, 6, or 0 when no IP */
	char src_ip[48];         /* text, "" when none */
	char dst_ip[48];
	uint8_t src_addr[16];    /* IPv4 in the first 4 bytes */
	uint8_t dst_addr[16];

	/* L4 */
	uint8_t protocol;        /* IPPROTO_* (6 TCP, 17 UDP, 132 SCTP, 1 ICMP, 58 ICMPv6) */
	uint8_t tcp_flags;       /* BW_FLOW_TCP_* of this packet */
	uint8_t icmp_type;       /* ICMP/ICMPv6 type and code */
	uint8_t icmp_code;
	uint16_t src_port;       /* host order; 0 when none */
	uint16_t dst_port;

	struct bw_flow_endpoint source;
	struct bw_flow_endpoint destination;

	enum bw_flow_direction traffic_direction;
	enum bw_flow_obs_point trace_observation_point;
	enum bw_flow_trace_reason trace_reason;
	int is_reply;            /* 1, 0, or -1 when unknown */
	uint32_t policy_match_type; /* Cilium numbering, 0 = none */

	uint32_t ifindex;        /* observing interface (host-side veth) */
	const char *ifname;      /* NULL when unknown */

	const char *summary;     /* Hubble's Summary string; NULL for datapath
				  * flows: the serialisers compute it */

	/* Attribution (policy-verdict flows). */
	const struct bw_flow_policy *ingress_allowed_by;
	uint32_t n_ingress_allowed_by;
	const struct bw_flow_policy *egress_allowed_by;
	uint32_t n_egress_allowed_by;
	const struct bw_flow_policy *ingress_denied_by;
	uint32_t n_ingress_denied_by;
	const struct bw_flow_policy *egress_denied_by;
	uint32_t n_egress_denied_by;
	/*
	 * bulwark extension: for a drop by default deny (no policy entry
	 * matched), the policies that make the endpoint default-deny in the
	 * flow's direction.
	 */
	const struct bw_flow_policy *isolated_by;
	uint32_t n_isolated_by;
	uint32_t rule_ref;       /* the daemon's rule reference, 0 = none */

	uint32_t flags;          /* BW_FLOW_F_* */
	uint32_t pkt_len;        /* length of the packet behind the event */
	uint64_t ct_packets;     /* with BW_FLOW_F_CT_CLOSE: connection totals */
	uint64_t ct_bytes;

	/* ---- added in ABI 1.2 (test with BW_FLOW_HAS) ---- */

	/*
	 * More members of the flow's "extensions" object: a JSON object text
	 * ("{\"lua\":{...}}"), NULL when none. Set by the Lua host (what an
	 * on_flow hook returned) and by the proxies (a decision hook's deny,
	 * bw_hook_result.extensions_json). The core's own members
	 * ("@type", "rule_ref", ...) win over a member of the same name.
	 */
	const char *extensions_json;

	/* The L7 record of a Type L7 flow (a proxy's), NULL otherwise. */
	const struct bw_flow_l7 *l7;
	/*
	 * bulwark extension, L7 flows: the verdict came from something other
	 * than the policy's rules (a Lua hook): its name and reason; NULL when
	 * the rules decided.
	 */
	const char *verdict_by;
	const char *verdict_reason;
	/*
	 * Hubble's proxy_port: the local proxy a REDIRECTED policy verdict
	 * or a to-proxy trace handed the connection to (0 = none).
	 */
	uint16_t proxy_port;

	/*
	 * bulwark extension, staged policies (annotation bulwark.io/staged:
	 * "true"): the verdict they would give this connection if they were
	 * enforced, BW_FLOW_VERDICT_FORWARDED or BW_FLOW_VERDICT_DROPPED;
	 * BW_FLOW_VERDICT_UNKNOWN (0) when no staged policy selects a local
	 * endpoint of the flow in the direction checked. Set on policy
	 * verdicts and on the trace of a new connection at the side where it
	 * is first seen. staged_by: the policies behind it (the rule's
	 * policy; for a default deny, the policies that would isolate the
	 * endpoint).
	 */
	enum bw_flow_verdict staged_verdict;
	const struct bw_flow_policy *staged_by;
	uint32_t n_staged_by;
	/*
	 * Hubble's source_names / destination_names: the DNS names the node
	 * learned for an address that is not a local endpoint (through the
	 * DNS proxy), lower case, without the trailing dot (as Cilium's
	 * GetNamesOf gives them).
	 */
	const char *const *source_names;
	uint32_t n_source_names;
	const char *const *destination_names;
	uint32_t n_destination_names;
};

#define BW_FLOW_HAS(flow, member) \
	((flow)->size >= offsetof(struct bw_flow, member) + sizeof((flow)->member))

/* Flow pipeline counters (bw_core_api.flow_stats). */
struct bw_flow_stats {
	size_t size;             /* set by the caller to sizeof(struct bw_flow_stats) */
	uint64_t events;         /* ring buffer records read */
	uint64_t flows;          /* flows published */
	uint64_t decode_errors;  /* records that could not be decoded */
	uint64_t lost_datapath;  /* events the datapath could not queue (ring buffer full) */
	uint64_t lost_followers; /* flows a slow `observe --follow` reader missed */
	uint64_t ring_evicted;   /* flows pushed out of the flow ring by newer ones */
	uint32_t ring_capacity;  /* flows.capacity */
	uint32_t ring_used;
	uint32_t followers;      /* open follow streams */
	uint32_t subscribers;    /* module and core subscribers */
};

#ifdef __cplusplus
}
#endif

#endif /* BULWARK_FLOW_H */
