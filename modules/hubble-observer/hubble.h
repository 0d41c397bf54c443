/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/hubble-observer/hubble.h - what the files of the hubble-observer
 * module share.
 *
 *   hubble_observer.c  the module: config keys, lifecycle, metrics, status
 *   hubble_server.c    gRPC over HTTP/2 (nghttp2) on libevent: listeners
 *                      (Unix socket, TCP with optional TLS), connections,
 *                      calls, message framing, trailers, deadlines, caps
 *   hubble_flows.c     observer.Observer/GetFlows: history and followers
 *   hubble_pb.c        struct bw_flow -> flow.Flow, field masks, FlowFilter
 *                      -> the JSON lib/flowfilter.c parses
 *   hubble_req.c       what clients send, read: grpc-timeout, a
 *                      GetFlowsRequest's filters, field mask, extensions
 *   hubble_rpc.c       the other RPCs: ServerStatus, GetNodes,
 *                      GetNamespaces, GetAgentEvents, GetDebugEvents,
 *                      grpc.health.v1.Health, peer.Peer/Notify
 *
 * Everything runs on the daemon's event loop thread.
 */
#ifndef BW_HUBBLE_H
#define BW_HUBBLE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include <bulwark/flow.h>
#include <bulwark/module.h>

#include "flow/flow.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "observer/observer.pb-c.h"

struct event_base;
struct bw_flowfilters;

/* gRPC status codes (grpc/doc/statuscodes.md). */
enum hubble_code {
	HUBBLE_OK = 0,
	HUBBLE_CANCELLED = 1,
	HUBBLE_UNKNOWN = 2,
	HUBBLE_INVALID_ARGUMENT = 3,
	HUBBLE_DEADLINE_EXCEEDED = 4,
	HUBBLE_NOT_FOUND = 5,
	HUBBLE_RESOURCE_EXHAUSTED = 8,
	HUBBLE_FAILED_PRECONDITION = 9,
	HUBBLE_INTERNAL = 13,
	HUBBLE_UNAVAILABLE = 14,
	HUBBLE_UNIMPLEMENTED = 12,
};

/* ---- configuration (hubble_observer.c) ------------------------------------ */

struct hubble_conf {
	char *socket;
	char *socket_group;
	char *listen;
	char *tls_cert;
	char *tls_key;
	char *tls_client_ca;
	int64_t max_connections;
	int64_t max_streams;
	int64_t max_streams_per_connection;
	int64_t client_buffer;
	int64_t stall_timeout; /* ms */
};

/* The instance: one per [hubble-observer] section. */
struct hubble {
	bw_module_ctx *ctx;
	const struct bw_core_api *api;
	const struct hubble_conf *conf;
	struct event_base *base;
	struct hubble_srv *srv;
	struct hubble_flows *flows;
	uint64_t start_ns;     /* wall clock when the module started */
	/* seen_flows once a second over the last minute, for flows_rate */
	uint64_t rate_seen[61];
	uint64_t rate_t[61];
	unsigned rate_n, rate_pos;
	struct event *tick;
};

void hubble_log(struct hubble *h, enum bw_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Node name, daemon version, daemon start (wall clock ns). */
const char *hubble_node_name(struct hubble *h);
const char *hubble_version(struct hubble *h);
uint64_t hubble_daemon_start_ns(struct hubble *h);
uint64_t hubble_now_ns(void);
/* Flows per second seen over the last minute. */
double hubble_flows_rate(struct hubble *h);

/* ---- the gRPC server (hubble_server.c) ------------------------------------- */

struct hubble_srv;
struct hubble_call;

/*
 * One RPC. start() gets the decoded request (freed after start returns:
 * copy what you keep) and answers with hubble_call_send() and, once,
 * hubble_call_finish(). end() is called exactly once if the call goes away
 * before the handler finished it (client cancel or reset, deadline,
 * connection closed, server shut down): drop the call then and never use
 * it again. writable() (optional) runs when the call's queued output fell
 * below half of client_buffer.
 */
struct hubble_method {
	const char *path;  /* "/observer.Observer/GetFlows" */
	const char *name;  /* "GetFlows", for metrics */
	const ProtobufCMessageDescriptor *req;
	void (*start)(struct hubble *h, struct hubble_call *call,
		      const ProtobufCMessage *req);
	void (*end)(struct hubble_call *call);
	void (*writable)(struct hubble_call *call);
};

int hubble_srv_start(struct hubble *h, char *err, size_t errlen);
void hubble_srv_stop(struct hubble *h);

/* Queue one response message. 0, or -EPIPE when the call is gone. */
int hubble_call_send(struct hubble_call *c, const ProtobufCMessage *msg);
/* Queue an already framed message (5-byte gRPC prefix + body). */
int hubble_call_send_framed(struct hubble_call *c, const uint8_t *buf,
			    size_t len);
/* Bytes queued on the call and not yet taken by HTTP/2. */
size_t hubble_call_pending(const struct hubble_call *c);
/* Room left before the call's buffer is full (client_buffer). */
int hubble_call_full(const struct hubble_call *c);
/* End the call with a status (message may be NULL); after this the
 * handler must not use the call again, end() is not called. */
void hubble_call_finish(struct hubble_call *c, enum hubble_code code,
			const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * Drop the call at once (RST_STREAM ENHANCE_YOUR_CALM, which gRPC clients
 * see as RESOURCE_EXHAUSTED), its queued output discarded; a connection
 * whose socket drains nothing for stall_timeout is closed. As finish():
 * the handler must not use the call again.
 */
void hubble_call_reset(struct hubble_call *c);
void hubble_call_set_data(struct hubble_call *c, void *data);
void *hubble_call_data(const struct hubble_call *c);
/* A header of the request (lower-case name), or NULL. */
const char *hubble_call_header(const struct hubble_call *c, const char *name);
/* Milliseconds since the client last took output of this call (or it started). */
uint64_t hubble_call_stalled_ms(const struct hubble_call *c);

/* Counters of the server, for status and metrics. */
struct hubble_srv_stats {
	uint64_t connections;       /* open now */
	uint64_t connections_total;
	uint64_t connections_refused; /* max_connections */
	uint64_t streams;           /* calls open now */
	uint64_t streams_refused;   /* max_streams, max_streams_per_connection */
	uint64_t deadlines;         /* calls ended by their deadline */
	uint64_t cancelled;         /* calls the client cancelled */
	uint64_t bytes_sent;
	uint64_t calls_total[16];   /* per method index */
	uint64_t codes_total[17];   /* per gRPC status code */
};
void hubble_srv_stats(struct hubble *h, struct hubble_srv_stats *st);
/* The methods the server knows (for metrics labels). */
const struct hubble_method *hubble_methods(size_t *n);
/* "unix:///path" and, when set, "host:port" (tls or not). */
const char *hubble_srv_address(struct hubble *h);
int hubble_srv_tls(struct hubble *h);
/*
 * 1 when a listen address is on loopback only ("127.0.0.1:4245",
 * "[::1]:4245", "localhost:4245": names are resolved), 0 when not (":4245"
 * is every address), -errno when it cannot be parsed or resolved.
 */
int hubble_listen_is_loopback(const char *listen);

/* ---- GetFlows (hubble_flows.c) ---------------------------------------------- */

int hubble_flows_init(struct hubble *h);
void hubble_flows_fini(struct hubble *h);
void hubble_getflows_start(struct hubble *h, struct hubble_call *call,
			   const ProtobufCMessage *req);
void hubble_getflows_end(struct hubble_call *call);
void hubble_getflows_writable(struct hubble_call *call);

enum { HUBBLE_L7_HTTP, HUBBLE_L7_DNS, HUBBLE_L7_KAFKA, HUBBLE_L7_OTHER, HUBBLE_L7_N };
struct hubble_flows_stats {
	uint64_t followers;       /* GetFlows calls open now */
	uint64_t flows_sent;
	uint64_t l7_sent[HUBBLE_L7_N]; /* of which L7, by protocol */
	uint64_t lost_sent;       /* flows reported lost to clients (LostEvent) */
	uint64_t stalled_dropped; /* followers disconnected for not reading */
};
void hubble_flows_stats(struct hubble *h, struct hubble_flows_stats *st);
const struct hubble_ff_stats *hubble_flows_ff_stats(struct hubble *h);

/* ---- protobuf helpers (hubble_pb.c) ----------------------------------------- */

/* A bump allocator for building one message tree; reset per message. */
struct hubble_arena {
	char *buf;
	size_t len, cap;
	struct hubble_arena_chunk *more; /* overflow chunks */
};
void *hubble_arena_alloc(struct hubble_arena *a, size_t n);
char *hubble_arena_strdup(struct hubble_arena *a, const char *s);
void hubble_arena_reset(struct hubble_arena *a);
void hubble_arena_free(struct hubble_arena *a);

/* A parsed field mask: a tree of field names. */
struct hubble_mask;
/*
 * Parse FieldMask paths against the Flow message. NULL with a message in
 * err when a path names no field; *out NULL for an empty mask (all
 * fields).
 */
int hubble_mask_parse(char **paths, size_t n, struct hubble_mask **out,
		      char *err, size_t errlen);
void hubble_mask_free(struct hubble_mask *m);
/* The mask's paths, sorted, space-separated (a cache key). */
const char *hubble_mask_key(const struct hubble_mask *m);
/* Whether the mask keeps the top-level field "name". */
int hubble_mask_has(const struct hubble_mask *m, const char *name);
/* Clear every field of msg the mask does not keep. */
void hubble_mask_apply(const struct hubble_mask *m, ProtobufCMessage *msg);

/* Fill *out (a zeroed Flow__Flow) from f; allocations come from a. */
void hubble_pb_flow(const struct bw_flow *f, int extensions,
		    struct hubble_arena *a, Flow__Flow *out);
/* Timestamp from wall-clock nanoseconds. */
void hubble_pb_time(uint64_t ns, struct hubble_arena *a,
		    Google__Protobuf__Timestamp **out);
/*
 * A FlowFilter as the JSON object lib/flowfilter.c parses (proto field
 * names, enums as names), bulwark's FlowFilterExtensions fields (carried
 * as field numbers Hubble does not use) included. NULL with a message
 * naming the field when the filter uses something bulwark does not
 * evaluate (a CEL expression) or a field number it does not know.
 */
json_t *hubble_pb_filter_json(const Flow__FlowFilter *ff, char *err,
			      size_t errlen);
/* Serialise msg with the 5-byte gRPC prefix into a malloc'd buffer. */
uint8_t *hubble_pb_frame(const ProtobufCMessage *msg, size_t *len);

/* ---- requests (hubble_req.c) ------------------------------------------------- */

/* grpc-timeout ("1 to 8 digits" and H, M, S, m, u or n) in ms; -1 when bad. */
int64_t hubble_grpc_timeout_ms(const char *v);
/*
 * FlowFilter fields clients use and bulwark refuses, by field: slots are
 * flow.FlowFilter's fields in descriptor order, then FlowFilterExtensions'
 * fields, then "unknown_field_number".
 */
#define HUBBLE_FF_MAX 64
struct hubble_ff_stats {
	uint64_t used[HUBBLE_FF_MAX];    /* filters that set the field */
	uint64_t refused[HUBBLE_FF_MAX]; /* requests refused for the field */
};
/* The name of slot i, NULL past the last. */
const char *hubble_ff_field_name(size_t i);
/*
 * The request's whitelist and blacklist into fs (lib/flowfilter.c),
 * counting in st (may be NULL). 0, or -EINVAL with a message naming the
 * filter ("whitelist[1]: ...").
 */
int hubble_req_filters(const Observer__GetFlowsRequest *r,
		       struct bw_flowfilters *fs, struct hubble_ff_stats *st,
		       char *err, size_t errlen);
/* The field mask (field_mask, or experimental.field_mask of hubble before
 * 1.16); *out NULL for all fields. 0 or -EINVAL with a message. */
int hubble_req_mask(const Observer__GetFlowsRequest *r, struct hubble_mask **out,
		    char *err, size_t errlen);
/* 1 when the request's extensions ask for Flow.extensions. */
int hubble_req_extensions(const Observer__GetFlowsRequest *r);

/* ---- the other RPCs (hubble_rpc.c) -------------------------------------------- */

void hubble_rpc_server_status(struct hubble *h, struct hubble_call *call,
			      const ProtobufCMessage *req);
void hubble_rpc_get_nodes(struct hubble *h, struct hubble_call *call,
			  const ProtobufCMessage *req);
void hubble_rpc_get_namespaces(struct hubble *h, struct hubble_call *call,
			       const ProtobufCMessage *req);
void hubble_rpc_agent_events(struct hubble *h, struct hubble_call *call,
			     const ProtobufCMessage *req);
void hubble_rpc_debug_events(struct hubble *h, struct hubble_call *call,
			     const ProtobufCMessage *req);
void hubble_rpc_health_check(struct hubble *h, struct hubble_call *call,
			     const ProtobufCMessage *req);
void hubble_rpc_health_watch(struct hubble *h, struct hubble_call *call,
			     const ProtobufCMessage *req);
void hubble_rpc_peer_notify(struct hubble *h, struct hubble_call *call,
			    const ProtobufCMessage *req);
/* end() of the calls that stay open (follow, Watch, Notify). */
void hubble_rpc_open_end(struct hubble_call *call);

#endif /* BW_HUBBLE_H */
