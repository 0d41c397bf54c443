/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bulwark/l7.h - L7 protocol parsers for the proxy engine (ABI 1.2).
 *
 * Connections that policy sends to L7 inspection (a toPorts entry with
 * `rules`, or a port with visibility turned on) are redirected to the
 * daemon's proxy engine (core/proxy). The engine accepts them, connects to
 * the original destination and moves the bytes; a parser, registered by a
 * module with bw_core_api.l7_parser_register(), decides what happens to
 * them. The engine owns sockets, buffers, backpressure, timeouts and
 * limits; the parser owns the protocol: message boundaries, rules, its own
 * denial (HTTP 403, a Kafka authorization error) and its flows.
 *
 * The calls, all on the daemon's loop thread (never concurrently):
 *
 *   rules_compile  once per distinct rule list (policy change), never per
 *                  connection: turn the rule-model JSON into an opaque
 *                  value the parser matches quickly.
 *   conn_open      a redirected connection was accepted; create the
 *                  parser's per-connection state.
 *   data           bytes arrived (or the sender closed) in one direction:
 *                  look at the undecided bytes and return an operation.
 *   abort          the engine gives up on undecided bytes (too many, or
 *                  waiting too long) or on the server (unreachable): the
 *                  parser may inject its protocol's error before the
 *                  connection closes.
 *   conn_close     the connection is gone; free the state.
 *
 * data() and operations. in->data/in->len are the direction's bytes the
 * parser has not decided yet, contiguous, starting at the first undecided
 * byte. The parser returns one of enum bw_l7_op with *n:
 *
 *   BW_L7_MORE   the message is incomplete; *n is the total number of
 *                undecided bytes needed before the next call (0: call again
 *                on any new byte). More than the engine's limit
 *                ([proxy] max_message_head) ends in abort(BW_L7_ABORT_TOO_LARGE).
 *   BW_L7_PASS   forward the next *n bytes unchanged. *n may exceed
 *                in->len: the engine forwards the rest as it arrives,
 *                without calling the parser (bodies of known length).
 *   BW_L7_DROP   discard the next *n bytes (may exceed in->len as well).
 *   BW_L7_WAIT   cannot decide before the other direction makes progress
 *                (a response the parser must see first, a bounded
 *                pipeline): data() is called again for this direction after
 *                the next data() call of the other direction returns.
 *   BW_L7_CLOSE  stop: pass the next *n bytes (0: none), send what was
 *                passed and injected, then close both sides (a smuggling
 *                attempt answered with 400; a last response before a
 *                "Connection: close" answer).
 *   BW_L7_TUNNEL pass everything of this direction from now on without
 *                calling the parser again (after a permitted upgrade).
 *
 * A negative errno closes the connection at once (a parser bug or no
 * memory; counted as a parse error). After PASS or DROP the engine calls
 * data() again as long as undecided bytes remain, and once more when the
 * last byte of a PASS or DROP longer than in->len has gone by (then
 * in->len may be 0): the parser learns that a message it let through
 * unseen is complete. PASS 0 with bytes waiting is allowed only after an
 * injection into the same direction ("inject here, then call me again");
 * otherwise it is an error, as nothing could progress. in->eos says the sender
 * shut down its side after these bytes: no more will come in this
 * direction (what is passed is then flushed and the shutdown propagated;
 * undecided bytes left over are discarded).
 *
 * Injection. bw_core_api.l7_inject(conn, dir, bytes) queues bytes of the
 * parser's own in direction dir (BW_L7_DIR_REPLY: towards the client).
 * Bytes injected during a data() call into the direction being decided are
 * sent after the bytes that call passes (so "DROP the request head, inject
 * a rewritten one, PASS the body" and "PASS this response, inject the 403
 * of the next, already dropped, pipelined request" both come out in
 * order); bytes injected into the other direction are queued after what
 * that direction has passed so far.
 *
 * Flows. bw_core_api.l7_record(conn, &rec) records one request or
 * response as an L7 flow (rec.l7 is Hubble's l7 message: struct
 * bw_flow_l7 in <bulwark/flow.h>); the engine fills addresses, endpoints,
 * direction and the policy behind rec.rule.
 *
 * Decision hooks. A request the rules allow may still be refused by the
 * rule scripts (Lua on_http, on_kafka): ask with bw_core_api.hook_http /
 * hook_kafka (<bulwark/hook.h>). The answer may come later (BW_HOOK_PENDING):
 * return BW_L7_WAIT meanwhile and call bw_core_api.l7_resume(conn, dir) from
 * the done() callback, so that data() is called again for that direction;
 * cancel the ticket in conn_close. A script's deny gets the protocol's own
 * denial, and the flow its extensions_json (rec.extensions_json).
 *
 * Rules. in->rules is the value rules_compile() made of the rules that
 * apply to this connection now (the engine swaps it when policy changes,
 * between two calls), or NULL on a visibility-only port, where everything
 * is allowed and only flows are recorded. rule numbers index the JSON
 * array given to rules_compile(); the engine maps them to the policy that
 * contributed the rule (flow attribution).
 *
 * Compatibility: both structs begin with their size and only grow at the
 * end; the engine reads a struct bw_l7_parser member only when the
 * parser's size covers it, and a parser reads a newer struct
 * bw_l7_input / bw_l7_conn_info member only when in->size covers it.
 *
 * C99, self-contained apart from its companions <bulwark/module.h> and
 * <bulwark/flow.h>.
 */
#ifndef BULWARK_L7_H
#define BULWARK_L7_H

#include <stddef.h>
#include <stdint.h>

#include <bulwark/flow.h>
#include <bulwark/module.h>

#ifdef __cplusplus
extern "C" {
#endif

/* bw_l7_conn is declared in <bulwark/module.h>: one proxied connection. */

/* The two directions of a proxied connection. */
enum bw_l7_dir {
	BW_L7_DIR_REQUEST = 0, /* from the client (who connected) to the server */
	BW_L7_DIR_REPLY = 1,   /* from the server back to the client */
};

/* What data() asks the engine to do (see above). */
enum bw_l7_op {
	BW_L7_MORE = 1,
	BW_L7_PASS = 2,
	BW_L7_DROP = 3,
	BW_L7_WAIT = 4,
	BW_L7_CLOSE = 5,
	BW_L7_TUNNEL = 6,
};

/* Why abort() is called. */
enum bw_l7_abort {
	BW_L7_ABORT_TOO_LARGE = 1, /* undecided bytes reached [proxy] max_message_head */
	BW_L7_ABORT_TIMEOUT = 2,   /* undecided bytes older than [proxy] head_timeout */
	BW_L7_ABORT_UPSTREAM = 3,  /* the server cannot be reached or reset the connection */
};

/* The connection, as the engine learnt it from the redirect. */
struct bw_l7_conn_info {
	size_t size;          /* sizeof(struct bw_l7_conn_info) as the daemon knows it */
	/* INGRESS: the client connects to the local endpoint; EGRESS: the
	 * local endpoint is the client. */
	enum bw_flow_direction direction;
	uint8_t ip_version;   /* 4 or 6 */
	uint8_t client_addr[16]; /* IPv4 in the first 4 bytes */
	uint8_t server_addr[16]; /* the original destination */
	uint16_t client_port; /* host order */
	uint16_t server_port;
	uint32_t client_identity;
	uint32_t server_identity;
	uint32_t endpoint_id; /* the local endpoint whose policy applies */
	const char *endpoint_ns;  /* its namespace and pod (valid while open) */
	const char *endpoint_pod;
	int visibility_only;  /* no rules: allow everything, record flows */
};

/* One data() call. */
struct bw_l7_input {
	size_t size;          /* sizeof(struct bw_l7_input) as the daemon knows it */
	enum bw_l7_dir dir;
	const uint8_t *data;  /* undecided bytes of dir */
	size_t len;
	int eos;              /* the sender has shut down its side */
	const void *rules;    /* compiled rules in force; NULL: allow all */
	uint64_t now_ns;      /* CLOCK_MONOTONIC at the call (latencies) */
};

struct bw_l7_parser {
	size_t size;          /* sizeof(struct bw_l7_parser) */
	/*
	 * The protocol's name: the rule-model key of its rules ("http" for
	 * toPorts[].rules.http, "kafka"), or an l7proto name for a generic
	 * parser. Unique among registered parsers.
	 */
	const char *name;
	const char *description; /* one line, for `bulwark status` */

	/*
	 * Compile a rule list: json (len bytes, NUL-terminated) is a JSON
	 * array of the protocol's rule objects as the rule model carries them
	 * (for HTTP: Cilium's {method, path, host, headers, headerMatches}).
	 * Store an opaque value in *rules, or return a negative errno with a
	 * message naming the offending rule and field in err (a policy that
	 * does not compile is refused at import). Optional: without it the
	 * parser gets the JSON text itself as in->rules.
	 */
	int (*rules_compile)(void *user_data, const char *json, size_t len,
			     void **rules, char *err, size_t errlen);
	void (*rules_free)(void *user_data, void *rules);

	/* A connection was accepted: create *state. 0 or a negative errno
	 * (the connection is then closed). */
	int (*conn_open)(void *user_data, bw_l7_conn *conn,
			 const struct bw_l7_conn_info *info, void **state);
	/* Decide on undecided bytes: returns enum bw_l7_op and sets *n, or a
	 * negative errno. */
	int (*data)(void *state, const struct bw_l7_input *in, size_t *n);
	/* The engine gives up (optional): inject a last word, record a flow. */
	void (*abort)(void *state, enum bw_l7_abort why, enum bw_l7_dir dir);
	/* The connection is closed; free state. */
	void (*conn_close)(void *state);

	void *user_data;
	bw_free_fn free_user_data; /* called when the parser is dropped */
};

/* One L7 record for bw_core_api.l7_record(). */
struct bw_l7_record {
	size_t size;                 /* sizeof(struct bw_l7_record) */
	const struct bw_flow_l7 *l7; /* the request or response */
	int verdict;                 /* enum bw_flow_verdict: FORWARDED, DROPPED, ERROR */
	int rule;                    /* index of the matching rule; -1: none */
	/*
	 * Something other than the rules decided (the parser itself, e.g.
	 * "an upgrade not allowed"): who and why, shown as the flow's
	 * extensions.verdict_by; NULL when the rules decided.
	 */
	const char *verdict_by;
	const char *verdict_reason;
	/* Merged under the flow's "extensions" (a decision hook's answer:
	 * bw_hook_result.extensions_json); NULL: none. */
	const char *extensions_json;
};

/* Hubble spells a redacted value this way. */
#define BW_L7_REDACTED "HUBBLE_REDACTED"

#ifdef __cplusplus
}
#endif

#endif /* BULWARK_L7_H */
