/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bulwark/module.h - the interface between bulwarkd and its modules.
 *
 * A module is a shared object loaded with dlopen(3) from the daemon's
 * module_dir. It exports exactly one data symbol, BW_MODULE_SYMBOL, a
 * struct bw_module descriptor (use BW_MODULE_DEFINE). The daemon checks the
 * descriptor's ABI major/minor, size and build signature before anything else.
 *
 * The daemon loads <module_dir>/<module>.so for each entry "module" or
 * "module:instance" of daemon.modules, and creates one instance per entry,
 * named like the entry; the instance's config section has the same name:
 * [module] or [module:instance]. For each instance it fills a config struct of desc->conf_size bytes
 * from desc->conf_keys and the section, then calls init() with the core's
 * service table (struct bw_core_api). Everything a module may ask of the
 * core goes through that table; a module never relies on symbols exported
 * by the daemon binary. Every section also accepts "required = true": an
 * instance that is refused or whose init() fails then stops the daemon's
 * start instead of being disabled.
 *
 * Build a module with -fvisibility=hidden so that bw_module_desc is its only
 * exported symbol: cc -shared -fPIC -fvisibility=hidden
 * $(pkg-config --cflags bulwark-module) -o hello.so hello.c
 *
 * Compatibility rules:
 *  - struct bw_core_api and every struct passed across this boundary begin
 *    with their size and only ever grow at the end. Before calling a member
 *    added after ABI 1.0, check it with BW_API_HAS(api, member).
 *  - BW_MODULE_ABI_MAJOR changes only when something is removed or changes
 *    meaning; the daemon refuses a module of another major, or of a newer
 *    minor than its own.
 *  - BW_MODULE_ABI_MINOR grows by one whenever a minor adds a member; the
 *    daemon still loads modules of every older minor of its major (their
 *    descriptor is shorter: the core reads a struct bw_module member only
 *    when the module's descriptor size covers it).
 *
 * What each minor added:
 *  1.0  the first published ABI: struct bw_module up to and including fini;
 *       struct bw_core_api up to and including map_usage (the flow, metrics
 *       and read-only view members, flow_subscribe .. map_usage, and conf,
 *       were appended while 1.0 was being written, before any daemon was
 *       released, so every 1.x daemon has them; checking them with
 *       BW_API_HAS stays harmless); struct bw_policy_format,
 *       struct bw_identity_allocator and struct bw_node_stats as below.
 *  1.1  bw_module.check (a config check run before init, also by
 *       bulwarkd -n and on SIGHUP). BW_MODULE_DEFINE marks every module
 *       built against this header 1.1, which a 1.0 daemon refuses (newer
 *       minor), so a module never runs without its check being honoured.
 *  1.2  struct bw_core_api: hook_active, hook_dns, hook_http, hook_kafka,
 *       hook_cancel (decision hooks, <bulwark/hook.h>); struct bw_flow:
 *       extensions_json. L7 parsers for the proxy engine (<bulwark/l7.h>):
 *       bw_core_api.l7_parser_register, l7_inject, l7_record,
 *       l7_conn_info; struct bw_flow gained l7, verdict_by and
 *       verdict_reason (<bulwark/flow.h>).
 *       Then daemon_info (and struct bw_daemon_info), flow_ring_range,
 *       flow_ring_at, namespace_foreach, flow_followers_account
 *       (hubble-observer).
 *       Then transparent redirects to proxies (docs/redirect.md):
 *       bw_core_api.redirect_listen, redirect_lookup, redirect_release,
 *       redirect_upstream, redirect_recvmsg, redirect_reply_udp, and
 *       struct bw_redirect_conn.
 *       Then the adoption tools (flowstore, alerts): bw_core_api.reply_later,
 *       endpoint_walk (struct bw_endpoint_view), policy_reach,
 *       policy_isolation, alert_subscribe, alert_publish; struct bw_flow:
 *       staged_verdict, staged_by, n_staged_by and the flags
 *       BW_FLOW_F_INGRESS_ENFORCED, BW_FLOW_F_EGRESS_ENFORCED.
 *       Then api_call, api_call_cancel (in-process calls of the control
 *       API's routes; enum bw_api_call_event, bw_api_call_fn; webui).
 *       Then l7_resume (the L7 engine: resume a parser after an
 *       asynchronous answer); l7_record takes a struct bw_l7_record.
 *       Then DNS and FQDN policy (docs/fqdn.md): bw_core_api.fqdn_ip_set,
 *       fqdn_sync, fqdn_ip_identity, fqdn_selector_foreach,
 *       ct_peers_alive, dns_subscribe, dns_publish, flow_publish,
 *       redirect_generation;
 *       struct bw_dns_answer; struct bw_flow: source_names,
 *       destination_names.
 *       Then the advisor (recommend, simulate, broad-rules):
 *       bw_core_api.history_provider_register, history_scan (struct
 *       bw_history_provider, struct bw_history_row), whatif_new,
 *       whatif_replay, whatif_free (struct bw_whatif_conn, struct
 *       bw_whatif_result), policy_export, fqdn_names.
 *
 * This header is C99 and self-contained: it needs no other bulwark header,
 * and no libevent, jansson or libbpf header.
 */
#ifndef BULWARK_MODULE_H
#define BULWARK_MODULE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BW_MODULE_ABI_MAJOR 1
#define BW_MODULE_ABI_MINOR 2 /* see "What each minor added" above */

/* The one symbol a module exports. */
#define BW_MODULE_SYMBOL "bw_module_desc"

/*
 * Build signature: what must agree between the daemon and a module beyond
 * the ABI numbers (pointer size, byte order, the bw_conf_key layout).
 */
#define BW_STR_(x) #x
#define BW_STR(x) BW_STR_(x)
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define BW_MODULE_ENDIAN_ "be"
#else
#define BW_MODULE_ENDIAN_ "le"
#endif
#define BW_MODULE_SIGNATURE \
	"bulwark:" BW_STR(BW_MODULE_ABI_MAJOR) ":ptr" BW_STR(__SIZEOF_POINTER__) \
	":" BW_MODULE_ENDIAN_ ":conf1"

/* Opaque handles. */
typedef struct bw_module_ctx bw_module_ctx;   /* one module instance */
typedef struct bw_api_request bw_api_request; /* one control API request */
typedef struct bw_metrics_out bw_metrics_out; /* metrics being collected */
typedef struct bw_l7_conn bw_l7_conn;         /* one proxied connection (<bulwark/l7.h>) */
typedef struct bw_api_call bw_api_call;       /* an in-process API call (1.2) */
typedef struct bw_whatif bw_whatif;           /* a candidate policy set (ABI 1.2) */

/* Log levels (syslog numbering). */
enum bw_log_level {
	BW_LOG_ERR = 3,
	BW_LOG_WARNING = 4,
	BW_LOG_NOTICE = 5,
	BW_LOG_INFO = 6,
	BW_LOG_DEBUG = 7,
};

/* ---- configuration ------------------------------------------------------ */

/*
 * Types of config keys and where their value lands in the module's config
 * struct (at bw_conf_key.offset):
 *   BW_CONF_BOOL      int       "true|false|yes|no|on|off|1|0"
 *   BW_CONF_INT       int64_t   decimal, within [min, max]
 *   BW_CONF_SIZE      int64_t   bytes; suffixes k, M, G (powers of 1024)
 *   BW_CONF_DURATION  int64_t   milliseconds; suffixes ms, s, m, h, d
 *   BW_CONF_STRING    char *    owned by the core, valid until fini/reload
 *   BW_CONF_ENUM      int       index into enum_values
 */
enum bw_conf_type {
	BW_CONF_BOOL = 1,
	BW_CONF_INT,
	BW_CONF_SIZE,
	BW_CONF_DURATION,
	BW_CONF_STRING,
	BW_CONF_ENUM,
};

/* Flags of a config key. */
#define BW_CONF_F_RELOADABLE (1u << 0) /* SIGHUP may change it */
/*
 * BW_CONF_STRING only: the value is a listen address, "HOST:PORT" (an IPv4
 * address or a host name), "[IPV6]:PORT" or ":PORT" (every address), with
 * PORT 1..65535. The core refuses anything else as a config error naming
 * the file and line (a daemon that does not know the flag takes any
 * string: check the value again in init()).
 */
#define BW_CONF_F_LISTEN (1u << 1)

struct bw_conf_key {
	const char *name;
	enum bw_conf_type type;
	const char *def;                 /* default, as written in the file; NULL = none */
	size_t offset;                   /* offsetof() in the config struct */
	int64_t min, max;                /* range for INT, SIZE, DURATION (0,0 = any) */
	const char *const *enum_values;  /* NULL-terminated, for BW_CONF_ENUM */
	unsigned flags;                  /* BW_CONF_F_* */
	const char *help;                /* one line */
};

#define BW_CONF_KEY_END { NULL, (enum bw_conf_type)0, NULL, 0, 0, 0, NULL, 0, NULL }

/* ---- control API -------------------------------------------------------- */

/*
 * A route handler. Return 0 after replying (or after starting a stream);
 * a negative errno makes the core answer 500 with that error's text.
 */
typedef int (*bw_api_handler)(bw_api_request *req, void *user_data);
typedef void (*bw_free_fn)(void *user_data);

/*
 * ABI 1.2: what an in-process call of a control API route (api_call below)
 * hands back, in this order:
 *   BW_API_CALL_REPLY         a plain reply: status and the JSON text (an
 *                             error is {"error": ...} with its status); the
 *                             last call
 *   BW_API_CALL_STREAM_BEGIN  an NDJSON stream starts (status 200, no text)
 *   BW_API_CALL_STREAM_LINE   one line of it (a JSON object, no newline)
 *   BW_API_CALL_STREAM_END    the stream ended (no text); the last call
 * text is valid during the call only and is not NUL-terminated past len.
 */
enum bw_api_call_event {
	BW_API_CALL_REPLY = 1,
	BW_API_CALL_STREAM_BEGIN,
	BW_API_CALL_STREAM_LINE,
	BW_API_CALL_STREAM_END,
};
typedef void (*bw_api_call_fn)(enum bw_api_call_event ev, int status,
			       const char *text, size_t len, void *user_data);

/* ---- policy formats ----------------------------------------------------- */

/*
 * A policy format turns one document (JSON text, converted from YAML by the
 * core) into the core's canonical rule model (docs/rule-model.md).
 * parse() returns 0 and stores a malloc'd JSON string in *out, or returns a
 * negative errno and writes a message naming the offending field into err.
 */
struct bw_policy_format {
	size_t size;            /* sizeof(struct bw_policy_format) */
	const char *name;       /* e.g. "kubernetes" */
	const char *const *api_versions; /* NULL-terminated, e.g. "networking.k8s.io/v1" */
	const char *const *kinds;        /* NULL-terminated, e.g. "NetworkPolicy" */
	int (*parse)(void *user_data, const char *json, size_t len, char **out,
		     char *err, size_t errlen);
	void *user_data;
	bw_free_fn free_user_data;
};

/* ---- identity allocation ------------------------------------------------ */

/*
 * An identity allocator maps a canonical label set (sorted, one
 * "source:key=value" per line, '\n'-separated) to a numeric identity.
 * scope_local selects the node-local range (CIDR/FQDN identities).
 */
struct bw_identity_allocator {
	size_t size; /* sizeof(struct bw_identity_allocator) */
	const char *name;
	int (*allocate)(void *user_data, const char *labels, int scope_local,
			uint32_t *id);
	int (*release)(void *user_data, uint32_t id);
	/* Visit every allocated identity (for listing); stop if cb returns non-zero. */
	int (*foreach)(void *user_data,
		       int (*cb)(uint32_t id, const char *labels, unsigned refs,
				 void *arg),
		       void *arg);
	void *user_data;
	bw_free_fn free_user_data;
};

/* ---- transparent redirects (ABI 1.2) ----------------------------------- */

/*
 * A proxy module (the DNS proxy) opens a transparent socket of its proxy
 * class with redirect_listen(); the datapath then hands it the connections
 * (TCP) and datagrams (UDP) whose policy entry names that class, with their
 * addresses untouched: getsockname() of an accepted TCP socket, or
 * redirect_recvmsg() for UDP, gives the original destination.
 * redirect_lookup() says who the client and the server are and which L7
 * rules apply; redirect_upstream() opens the proxy's own connection to the
 * original destination. docs/redirect.md has the details and an example.
 */
struct sockaddr;
struct sockaddr_storage;

#define BW_REDIRECT_INGRESS 1 /* the server's ingress policy redirected it */
#define BW_REDIRECT_EGRESS 2  /* the client's egress policy redirected it */

struct bw_redirect_conn {
	size_t size;            /* set by the caller: sizeof(struct bw_redirect_conn) */
	/* filled by redirect_lookup(); strings valid until redirect_release() */
	int protocol;           /* 6 (TCP) or 17 (UDP) */
	int family;             /* AF_INET or AF_INET6 */
	int direction;          /* BW_REDIRECT_EGRESS or BW_REDIRECT_INGRESS */
	const char *proxy_class; /* "dns", "http", "kafka" or the l7proto name */
	uint16_t proxy_port;    /* the class's listening port */
	int redirected;         /* 0: the policy no longer redirects this port
				 * (rules then say what the L3/L4 verdict allows) */
	const char *client_ip;  /* text */
	uint16_t client_port;
	uint32_t client_identity;
	uint32_t client_endpoint; /* local endpoint id, 0 = none */
	const char *client_namespace; /* NULL when not a local endpoint */
	const char *client_pod;
	const char *server_ip;  /* the original destination */
	uint16_t server_port;
	uint32_t server_identity;
	uint32_t server_endpoint;
	const char *server_namespace;
	const char *server_pod;
	/*
	 * The L7 rules that apply, a JSON array: one object per policy rule
	 * behind the redirect, {"rule_ref", "policy": {"kind", "namespace",
	 * "name", "revision"}, "rule_index", "direction", "entry_index",
	 * "peer_identity", ...} with either the port's rules ("http": [...],
	 * "kafka": [...], "dns": [...], or "l7proto" and "l7") or
	 * "allow_all": true. A request is allowed if any item allows it; "[]"
	 * allows nothing.
	 */
	const char *rules;
	const char *json;       /* all of the above (and the labels) as one object */
	uint64_t generation;    /* changes whenever any endpoint's resolved policy
				 * changes: a cache of lookups keyed by it stays valid */
	void *core_private;     /* the core's, for redirect_release() */
};

/* ---- the core's service table ------------------------------------------ */

struct bw_flow;       /* <bulwark/flow.h> */
struct bw_hook_dns;   /* <bulwark/hook.h> */
struct bw_hook_http;
struct bw_hook_kafka;
struct bw_hook_result;
struct bw_flow_stats; /* <bulwark/flow.h> */
struct bw_node_stats; /* below */
struct bw_flow_l7;    /* <bulwark/flow.h> */
struct bw_l7_parser;  /* <bulwark/l7.h> */
struct bw_l7_conn_info; /* <bulwark/l7.h> */
struct bw_daemon_info; /* below */
struct bw_l7_record;  /* <bulwark/l7.h> */
struct bw_flow_policy; /* <bulwark/flow.h> */
struct bw_endpoint_view; /* below */
struct bw_dns_answer; /* below (ABI 1.2) */
struct bw_history_provider; /* below (ABI 1.2) */
struct bw_history_row;
struct bw_whatif_conn;
struct bw_whatif_result;

struct bw_core_api {
	size_t size; /* sizeof(struct bw_core_api) as the daemon knows it */

	/* Logging, prefixed with the module instance name. */
	void (*log)(bw_module_ctx *ctx, enum bw_log_level level, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));
	void (*vlog)(bw_module_ctx *ctx, enum bw_log_level level, const char *fmt,
		     va_list ap);

	/* Identity of the instance. */
	const char *(*module_name)(bw_module_ctx *ctx);
	const char *(*instance_name)(bw_module_ctx *ctx);

	/* Per-instance private data. */
	void (*set_data)(bw_module_ctx *ctx, void *data);
	void *(*get_data)(bw_module_ctx *ctx);

	/* The daemon's libevent loop (a struct event_base *). */
	void *(*event_base)(bw_module_ctx *ctx);

	/*
	 * The instance's own state directory, <daemon.state_dir>/<instance>/,
	 * created (mode 0700) on the first call. Keep the instance's files
	 * there. Returns NULL and sets errno if it cannot be created.
	 */
	const char *(*state_dir)(bw_module_ctx *ctx);

	/*
	 * The instance's current config struct (the one init() got, or the
	 * one the last successful reload() got).
	 */
	const void *(*conf)(bw_module_ctx *ctx);

	/*
	 * Control API routes. method is "GET", "POST", "PUT" or "DELETE"; path
	 * starts with "/v1/" and matches exactly, or as a prefix if it ends in
	 * '/'. The core calls free_fn(user_data) when it drops the route.
	 */
	int (*api_route)(bw_module_ctx *ctx, const char *method, const char *path,
			 bw_api_handler handler, void *user_data, bw_free_fn free_fn);
	const char *(*req_method)(bw_api_request *req);
	const char *(*req_path)(bw_api_request *req);
	/* Query parameter, URL-decoded, or NULL. */
	const char *(*req_query)(bw_api_request *req, const char *name);
	/* Request body (NUL-terminated copy owned by the request). */
	const char *(*req_body)(bw_api_request *req, size_t *len);
	/*
	 * Reply with a JSON document (the text is copied). Text that is not
	 * JSON is refused with -EINVAL and the client gets a 500 error.
	 */
	int (*reply_json)(bw_api_request *req, int status, const char *json);
	/* Reply {"error": "<message>"} with an HTTP status. */
	int (*reply_error)(bw_api_request *req, int status, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
	/*
	 * NDJSON streaming: begin, write lines (each one JSON object, without
	 * a newline), end. A stream may outlive its handler (keep req and end
	 * it later); stream_end must always be called, and after the client
	 * has gone stream_line and stream_end return -EPIPE.
	 */
	int (*stream_begin)(bw_api_request *req);
	int (*stream_line)(bw_api_request *req, const char *json);
	int (*stream_end)(bw_api_request *req);

	/* Policy formats and identity allocation. */
	int (*policy_format_register)(bw_module_ctx *ctx,
				      const struct bw_policy_format *fmt);
	int (*identity_allocator_register)(bw_module_ctx *ctx,
					   const struct bw_identity_allocator *alloc);

	/*
	 * Metrics: collect() is called on each scrape and appends Prometheus
	 * text with metrics_printf(). The core calls free_fn(user_data) on exit.
	 */
	int (*metrics_register)(bw_module_ctx *ctx,
				void (*collect)(bw_metrics_out *out, void *user_data),
				void *user_data, bw_free_fn free_fn);
	int (*metrics_printf)(bw_metrics_out *out, const char *fmt, ...)
		__attribute__((format(printf, 2, 3)));

	/*
	 * Flows (the record is in <bulwark/flow.h>). flow_subscribe: cb runs on
	 * the loop thread for every flow published after the call; the flow
	 * and what it points to are valid during the call only. The core
	 * calls free_fn(user_data) when it drops the subscription (the
	 * instance stops, or the daemon exits). Returns 0 or a negative errno.
	 */
	int (*flow_subscribe)(bw_module_ctx *ctx,
			      void (*cb)(const struct bw_flow *flow, void *user_data),
			      void *user_data, bw_free_fn free_fn);
	/*
	 * The flow as one Hubble GetFlowsResponse JSON object on one line
	 * ({"flow": {...}, "node_name": ..., "time": ...}, no newline), what
	 * `bulwark observe -o json` prints. *out is malloc'd: free() it.
	 * Returns 0 or -ENOMEM.
	 */
	int (*flow_to_json)(const struct bw_flow *flow, char **out);
	/* Flow pipeline counters; set stats->size = sizeof(*stats) first. */
	void (*flow_stats)(struct bw_flow_stats *stats);

	/*
	 * ---- read-only views for metrics exporters ----
	 *
	 * metrics_collect: run every collector registered with
	 * metrics_register() (by any instance) and return their text, for the
	 * module that serves GET /metrics. *out is malloc'd and NUL-terminated
	 * (free() it); *len (may be NULL) gets its length. Returns 0 or
	 * -ENOMEM.
	 */
	int (*metrics_collect)(char **out, size_t *len);
	/* Node-wide counts; set st->size = sizeof(*st) first. */
	void (*node_stats)(struct bw_node_stats *st);
	/*
	 * Visit every endpoint (in id order): its namespace and pod and the
	 * BW_ENDPOINT_F_* flags of its last policy sync (what the datapath
	 * enforces). The strings are valid during the call only.
	 */
	void (*endpoint_foreach)(void (*cb)(const char *ns, const char *pod,
					    unsigned flags, void *arg),
				 void *arg);
	/*
	 * The datapath's packet counters, summed over CPUs: one call per
	 * (reason, direction) seen. reason 0 is "forwarded", anything else a
	 * drop reason (Cilium's code) with Cilium's human string in
	 * reason_text (NULL for a code without one); direction is
	 * BW_FLOW_TRAFFIC_INGRESS or BW_FLOW_TRAFFIC_EGRESS (1, 2), 0 unknown.
	 * Returns 0, or -ENXIO when the datapath is not loaded.
	 */
	int (*datapath_counters)(void (*cb)(uint32_t reason,
					    const char *reason_text,
					    uint32_t direction, uint64_t packets,
					    uint64_t bytes, void *arg),
				 void *arg);
	/*
	 * Fill level of the datapath's maps (endpoints, ipcache4, ipcache6,
	 * policy, ct), named by their pin names ("bw_policy", ...): entries
	 * counted by walking the keys (for a busy connection-tracking map an
	 * approximation) and the map's capacity. Maps that are not pinned are
	 * left out. Returns 0 or a negative errno.
	 */
	int (*map_usage)(void (*cb)(const char *map_name, uint64_t entries,
				    uint64_t max_entries, void *arg),
			 void *arg);

	/*
	 * ABI 1.0 ends here. Members of later minors are appended below this
	 * line, each marked with its minor; test them with BW_API_HAS().
	 */

	/* ---- ABI 1.2 ---- */

	/*
	 * Decision hooks (<bulwark/hook.h>, whose comment has the contract;
	 * docs/lua.md): ask the rule scripts whether a request that policy
	 * allowed may go ahead. hook_active() returns the BW_HOOK_F_* of the
	 * hooks some enabled script defines (skip building a request when its
	 * bit is clear). hook_dns/http/kafka return BW_HOOK_NONE (allowed,
	 * done is not called), BW_HOOK_PENDING (done(result, user_data) is
	 * called later on the loop thread, exactly once, unless hook_cancel()
	 * is called with *ticket first), or a negative errno (deny). Requests
	 * still pending when the instance stops are cancelled by the core.
	 */
	unsigned (*hook_active)(bw_module_ctx *ctx);
	int (*hook_dns)(bw_module_ctx *ctx, const struct bw_hook_dns *q,
			void (*done)(const struct bw_hook_result *res,
				     void *user_data),
			void *user_data, uint64_t *ticket);
	int (*hook_http)(bw_module_ctx *ctx, const struct bw_hook_http *req,
			 void (*done)(const struct bw_hook_result *res,
				      void *user_data),
			 void *user_data, uint64_t *ticket);
	int (*hook_kafka)(bw_module_ctx *ctx, const struct bw_hook_kafka *req,
			  void (*done)(const struct bw_hook_result *res,
				       void *user_data),
			  void *user_data, uint64_t *ticket);
	void (*hook_cancel)(bw_module_ctx *ctx, uint64_t ticket);

	/* L7 parsers (<bulwark/l7.h>) */

	/*
	 * Register a protocol parser with the proxy engine (the struct is
	 * copied; its strings must live until it is dropped, when the
	 * instance stops: free_user_data(user_data) is then called).
	 * 0, -EEXIST when a parser of that name is registered, -EINVAL.
	 */
	int (*l7_parser_register)(bw_module_ctx *ctx,
				  const struct bw_l7_parser *parser);
	/*
	 * Queue the parser's own bytes in direction dir (enum bw_l7_dir:
	 * BW_L7_DIR_REPLY goes to the client), copied; see <bulwark/l7.h>
	 * for where they land. 0, -ENOMEM, -EPIPE when that side is closed.
	 */
	int (*l7_inject)(bw_l7_conn *conn, int dir, const void *data, size_t len);
	/*
	 * Record a request or a response of conn as an L7 flow (struct
	 * bw_l7_record: the l7 message, the verdict, the matching rule's
	 * index, who decided, extensions). 0, or -EINVAL for a bad record.
	 */
	int (*l7_record)(bw_l7_conn *conn, const struct bw_l7_record *rec);
	/* What the engine knows of conn (valid while it is open). */
	const struct bw_l7_conn_info *(*l7_conn_info)(bw_l7_conn *conn);

	/* The daemon's version, node name and start time; set
	 * info->size = sizeof(*info) first. */
	void (*daemon_info)(struct bw_daemon_info *info);
	/*
	 * The flow ring, for readers that replay history and follow it with a
	 * cursor (as `observe` does): *first is the oldest sequence number
	 * still held, *next the one the next flow will get; flows first ..
	 * next-1 can be read with flow_ring_at(). Sequence numbers only grow.
	 */
	void (*flow_ring_range)(uint64_t *first, uint64_t *next);
	/*
	 * The flow with sequence number seq, or NULL when it was overwritten
	 * (or is not there yet). The flow is valid until control returns to
	 * the event loop: the next flow published may reuse its memory.
	 */
	const struct bw_flow *(*flow_ring_at)(uint64_t seq);
	/*
	 * Visit every namespace the node knows (set with `bulwark namespace
	 * set`, or holding an endpoint), each once; the string is valid
	 * during the call only.
	 */
	void (*namespace_foreach)(void (*cb)(const char *ns, void *arg),
				  void *arg);
	/*
	 * A module that streams flows to clients (as `observe --follow` does)
	 * reports them in flow_stats: delta +1 when a follower starts, -1
	 * when it ends (followers), and flows a slow follower missed
	 * (lost_followers).
	 */
	void (*flow_followers_account)(int delta, uint64_t lost);

	/* Transparent redirects to proxies (docs/redirect.md) */

	/*
	 * Open the transparent socket of a proxy class ("dns", "http",
	 * "kafka" or an l7proto name) for protocol (6 TCP: a listener, 17 UDP)
	 * and family (AF_INET or AF_INET6), non-blocking, on port (0: the port
	 * the class's other sockets have, else any). The datapath hands it the
	 * class's redirected traffic until it is closed (close it in stop()).
	 * *bound_port gets the port. Returns the fd, or a negative errno
	 * (-EBUSY: an open socket serves that class, protocol and family).
	 */
	int (*redirect_listen)(bw_module_ctx *ctx, const char *proxy_class, int protocol,
			       int family, uint16_t port, uint16_t *bound_port);
	/*
	 * What the core knows about the redirected connection client ->
	 * orig_dst (the peer address of an accepted socket and its
	 * getsockname(), or redirect_recvmsg()'s two addresses). Set
	 * conn->size first. Returns 0 (call redirect_release() later),
	 * -ENOENT when the datapath redirected no such connection, or a
	 * negative errno.
	 */
	int (*redirect_lookup)(bw_module_ctx *ctx, int protocol, const struct sockaddr *client,
			       const struct sockaddr *orig_dst, struct bw_redirect_conn *conn);
	void (*redirect_release)(struct bw_redirect_conn *conn);
	/*
	 * The proxy's connection to conn's original destination: a
	 * non-blocking socket, connect in progress (TCP) or connected (UDP),
	 * which the destination's policy sees as coming from the client
	 * (docs/redirect.md). Returns the fd or a negative errno.
	 */
	int (*redirect_upstream)(bw_module_ctx *ctx, const struct bw_redirect_conn *conn);
	/*
	 * One datagram from a UDP redirect socket, with the client's address
	 * and the original destination. Returns its length, or a negative
	 * errno (-EAGAIN when none waits).
	 */
	long (*redirect_recvmsg)(int fd, void *buf, size_t len, struct sockaddr_storage *client,
				 struct sockaddr_storage *orig_dst);
	/*
	 * Answer a UDP client from its original destination's address and
	 * port (what the client expects to hear from). Returns 0 or a
	 * negative errno.
	 */
	int (*redirect_reply_udp)(const struct sockaddr *orig_dst, const struct sockaddr *client,
				  const void *buf, size_t len);

	/* ABI 1.2, the adoption tools (flowstore, alerts) */

	/*
	 * Answer a request later: a handler that waits for its own worker
	 * thread (a database query) calls this and returns 0; it answers
	 * afterwards, on the loop thread, with reply_json or reply_error,
	 * exactly once. If the client went away meanwhile, that reply
	 * returns -EPIPE (and only frees the request). 0 or -EALREADY.
	 */
	int (*reply_later)(bw_api_request *req);

	/*
	 * Visit every endpoint (in id order) with its labels and workload
	 * (struct bw_endpoint_view below, valid during the call only).
	 */
	void (*endpoint_walk)(void (*cb)(const struct bw_endpoint_view *ep,
					 void *arg),
			      void *arg);

	/*
	 * Exposure: can a peer of class peer_class (BW_PEER_CLASS_*) reach
	 * endpoint endpoint_id in direction (BW_FLOW_TRAFFIC_INGRESS: the
	 * peer connects to the endpoint; _EGRESS: the endpoint connects to
	 * the peer)? Read from the policy the datapath holds (the endpoint's
	 * enforcement flags and lookups in the kernel's policy map, as
	 * `bulwark policy trace` does), never from a second evaluation of the
	 * rules. Returns a BW_REACH_* mask, or a negative errno (-ENOENT: no
	 * such endpoint or no resolved policy yet). cb (may be NULL) gets
	 * each policy whose rule allows such a peer.
	 */
	int (*policy_reach)(uint32_t endpoint_id, int direction, int peer_class,
			    void (*cb)(const struct bw_flow_policy *p, void *arg),
			    void *arg);

	/*
	 * Compliance: is endpoint endpoint_id default-deny in direction, and
	 * by which policies? Returns a BW_ISOLATION_* mask or a negative
	 * errno. cb (may be NULL) gets each policy that makes it default-deny
	 * (staged 0) and each staged policy that would (staged 1).
	 */
	int (*policy_isolation)(uint32_t endpoint_id, int direction,
				void (*cb)(const struct bw_flow_policy *p,
					   int staged, void *arg),
				void *arg);

	/*
	 * The alert bus: alert records (one JSON object per alert, on one
	 * line; docs/adoption.md gives the fields) published by the module
	 * that raises deny alerts, handed to every subscriber (other modules,
	 * the Lua host) on the loop thread, the text valid during the call.
	 * The core calls free_fn(user_data) when it drops the subscription.
	 * alert_subscribe returns 0 or a negative errno; alert_publish the
	 * number of subscribers reached, or -EINVAL for text that is not one
	 * JSON object on one line.
	 */
	int (*alert_subscribe)(bw_module_ctx *ctx,
			       void (*cb)(const char *json, void *user_data),
			       void *user_data, bw_free_fn free_fn);
	int (*alert_publish)(bw_module_ctx *ctx, const char *json);

	/*
	 * Call one of the daemon's control API routes in-process, exactly as
	 * a client of the control socket would (`bulwark` and the web UI use
	 * the same routes): method "GET", "POST", "PUT" or "DELETE"; target
	 * the request target as on the wire, "/v1/...?a=b" with its query
	 * URL-encoded; body and body_len the request body (NULL, 0: none).
	 * The route runs before api_call returns, and cb gets its reply (see
	 * enum bw_api_call_event). An answer that comes after its handler
	 * returned - a stream that goes on, or a reply the route deferred with
	 * reply_later - sets *call (may be NULL if the caller takes no such
	 * answers; otherwise set to NULL for every other reply): cb then gets
	 * it later, on the loop thread, and api_call_cancel(*call) stops it
	 * (cb is not called again). Returns 0 once cb has been called, or a
	 * negative errno when it was not called at all: -EINVAL (bad
	 * arguments), -E2BIG (body over the API's limit), -ELOOP (calls
	 * nested too deep), -ENOMEM.
	 */
	int (*api_call)(bw_module_ctx *ctx, const char *method,
			const char *target, const char *body, size_t body_len,
			bw_api_call_fn cb, void *user_data, bw_api_call **call);
	void (*api_call_cancel)(bw_api_call *call);

	/* ABI 1.2, the L7 engine */

	/*
	 * Have data() called again for direction dir of conn soon (on the
	 * loop, never from inside this call): after an asynchronous answer
	 * (a decision hook's done()) the parser was waiting for. 0 or -EPIPE.
	 */
	int (*l7_resume)(bw_l7_conn *conn, int dir);

	/* DNS and FQDN policy (docs/fqdn.md) */

	/*
	 * FQDN identities. fqdn_ip_set records the names DNS gave for one
	 * address (family 4 or 6, addr in network order, IPv4 in the first 4
	 * bytes; names as in DNS, compared case-insensitively, a missing
	 * trailing dot added; nnames 0 forgets the address) and only takes
	 * note. fqdn_sync applies what was noted: every address whose names
	 * a toFQDNs selector of the policies matches is mapped to the
	 * node-local identity of its selector set, and fqdn_sync returns once
	 * the datapath allows that identity where policy says so. Addresses
	 * nothing selects keep no identity (their names still show in flows).
	 * Return 0 or a negative errno (-EINVAL bad address, -ENOMEM, the
	 * datapath's error).
	 */
	int (*fqdn_ip_set)(bw_module_ctx *ctx, int family, const uint8_t *addr,
			   const char *const *names, size_t nnames);
	int (*fqdn_sync)(bw_module_ctx *ctx);
	/* The FQDN identity an address is mapped to now, 0 when none. */
	uint32_t (*fqdn_ip_identity)(int family, const uint8_t *addr);
	/*
	 * The toFQDNs selectors the policies use, in canonical form (lower
	 * case, no trailing dot, "*" for every name). Valid during the call.
	 */
	void (*fqdn_selector_foreach)(void (*cb)(const char *selector, void *arg),
				      void *arg);
	/*
	 * Connection tracking: which of n addresses (16 bytes each, IPv4 as
	 * ::ffff:a.b.c.d) is a peer of a connection the datapath still
	 * tracks (not expired). alive[i] is set to 1 or 0. One walk of the
	 * table for the whole list. Returns 0, -ENXIO without a datapath, or
	 * a negative errno.
	 */
	int (*ct_peers_alive)(const uint8_t (*addrs)[16], size_t n,
			      uint8_t *alive);

	/*
	 * DNS answers between modules: a DNS proxy publishes each answer it
	 * is about to release (dns_publish), the core calls every subscriber
	 * (an FQDN cache) at once, in subscription order, on the loop thread,
	 * and dns_publish returns after the last one: what they asked of the
	 * core (fqdn_sync) is in the datapath by then. The answer and what it
	 * points to are valid during the calls only.
	 */
	int (*dns_subscribe)(bw_module_ctx *ctx,
			     void (*cb)(const struct bw_dns_answer *answer,
					void *user_data),
			     void *user_data, bw_free_fn free_fn);
	int (*dns_publish)(bw_module_ctx *ctx, const struct bw_dns_answer *answer);

	/*
	 * Publish a flow a module built (a proxy's L7 record, <bulwark/flow.h>)
	 * to the flow ring, observe streams and subscribers. The core fills
	 * what is left empty: uuid, time_ns (now), node_name, ip_version and
	 * the address texts from src_addr/dst_addr, and each side's identity,
	 * namespace, pod, workload and labels from its id (local endpoint) or
	 * address (ipcache); the policies named by rule_ref go to
	 * egress/ingress_allowed_by or _denied_by by the flow's direction and
	 * verdict. The flow is copied. Returns 0 or a negative errno.
	 */
	int (*flow_publish)(bw_module_ctx *ctx, const struct bw_flow *flow);
	/*
	 * The generation redirect_lookup() would report now (struct
	 * bw_redirect_conn.generation): a proxy may keep using what a lookup
	 * said about a client and server while the generation is unchanged,
	 * instead of asking again for every datagram.
	 */
	uint64_t (*redirect_generation)(void);
	/* ABI 1.2, the advisor (recommend, simulate, broad-rules) */

	/*
	 * Flow history between modules: the module that keeps it (flowstore)
	 * registers a provider (the struct is copied; its strings must live
	 * until the instance stops, when free_user_data(user_data) is
	 * called); the first one registered serves. history_scan() asks it
	 * for the aggregated connection records seen since since_ms (struct
	 * bw_history_row below; a key may come several times, once per
	 * period the store aggregates by: sum them): row(r, arg) is called
	 * for each, on the
	 * provider's own thread (copy what you keep; return non-zero to
	 * stop), then done(err, message, arg) exactly once on the loop
	 * thread (err 0, or a negative errno and a message a person can act
	 * on: -EAGAIN "history is unavailable: ..."). Returns 0, or a
	 * negative errno and calls neither (-ENOENT: no history is kept).
	 */
	int (*history_provider_register)(bw_module_ctx *ctx,
					 const struct bw_history_provider *p);
	int (*history_scan)(bw_module_ctx *ctx, int64_t since_ms,
			    int (*row)(const struct bw_history_row *r, void *arg),
			    void (*done)(int err, const char *message, void *arg),
			    void *arg);

	/*
	 * What-if (docs/adoption.md, "simulate"): the policy set now in
	 * force, and a candidate: the current set plus the policies of
	 * candidate (YAML or JSON documents, as `bulwark policy import`
	 * reads them), or with BW_WHATIF_REPLACE what `bulwark policy
	 * replace` would leave (the candidate instead of the API-managed
	 * set; policies of policy.dir files stay); source names it in
	 * messages (a file name; NULL: "candidate"). Both are resolved by the
	 * daemon's resolver from the live identities and endpoints, apart
	 * from the datapath (nothing the kernel holds changes), and
	 * whatif_replay() looks connections up in their entries with the
	 * datapath's own decision. candidate NULL (and no flag): the
	 * candidate is the current set. Returns NULL with errno and a
	 * message in err naming the document, line and field (EINVAL), or
	 * the conflict (EEXIST: a policy of a policy.dir file).
	 * Loop thread only; free with whatif_free().
	 */
	bw_whatif *(*whatif_new)(bw_module_ctx *ctx, const char *candidate, size_t len,
				 const char *source, unsigned flags, char *err,
				 size_t errlen);
	/*
	 * Replay n connections (struct bw_whatif_conn, named as history
	 * names them) against both sets; out[i] gets the verdicts of
	 * conns[i] (set out[i].size first). Strings in out are valid until
	 * whatif_free(). Returns 0 or a negative errno.
	 */
	int (*whatif_replay)(bw_whatif *w, const struct bw_whatif_conn *conns, size_t n,
			     struct bw_whatif_result *out);
	void (*whatif_free)(bw_whatif *w);
	/*
	 * Every policy of the repository as one JSON document (malloc'd,
	 * free() it): {"policies": [{"kind", "namespace", "name", "source",
	 * "revision", "staged", "rules": [canonical rules, docs/rule-model.md]}]},
	 * sorted by kind, namespace and name. 0 or -ENOMEM.
	 */
	int (*policy_export)(char **json);
	/*
	 * The names DNS gave for an outside address (its text, "203.0.113.10"
	 * or "2001:db8::10", optionally with /32 or /128) as the node's FQDN
	 * cache holds them now (docs/fqdn.md), in the form flows show them
	 * (lower case, no trailing dot). *names points into the cache: use
	 * it before returning to the loop. Loop thread. Returns how many,
	 * 0 when none (unknown address, no DNS proxy).
	 */
	size_t (*fqdn_names)(const char *address, const char *const **names);
};

/* bw_core_api.whatif_new flags. */
#define BW_WHATIF_REPLACE (1u << 0) /* the candidate replaces the API-managed set */

/* bw_core_api.history_scan: one aggregated connection record (ABI 1.2). */
struct bw_history_row {
	size_t size;             /* sizeof(struct bw_history_row) as the provider knows it */
	/* the two sides, named as `bulwark history` names them (NS/WORKLOAD,
	 * a DNS name or an address as a host CIDR, host, remote-node, ...) */
	const char *source, *destination;
	const char *source_ns, *destination_ns; /* NULL unless a pod */
	int source_kind, destination_kind;      /* BW_HISTORY_PEER_* */
	uint16_t port;           /* destination port; ICMP: the type */
	uint8_t protocol;        /* 6, 17, 132, 1, 58 */
	uint8_t direction;       /* BW_FLOW_TRAFFIC_INGRESS / _EGRESS (<bulwark/flow.h>) */
	uint8_t verdict;         /* BW_FLOW_VERDICT_FORWARDED / _DROPPED / _AUDIT */
	const char *policies;    /* "Kind NS/NAME" lines joined by '\n', "" when none */
	uint64_t count;          /* connections (denied attempts for DROPPED) */
	int64_t first_ms, last_ms; /* wall clock, milliseconds */
};

/* bw_history_row.source_kind / destination_kind (= lib/flowpeer.h's kinds) */
#define BW_HISTORY_PEER_UNKNOWN 0
#define BW_HISTORY_PEER_POD 1      /* NS/WORKLOAD */
#define BW_HISTORY_PEER_WORLD 2    /* outside the cluster: a name or an address */
#define BW_HISTORY_PEER_HOST 3     /* the node */
#define BW_HISTORY_PEER_RESERVED 4 /* another reserved identity (remote-node, ...) */

struct bw_history_provider {
	size_t size;             /* sizeof(struct bw_history_provider) */
	const char *name;
	/*
	 * Start a scan (what bw_core_api.history_scan says); the provider
	 * returns 0 and calls row() on its thread and done() later on the
	 * loop thread, or returns a negative errno and calls neither.
	 */
	int (*scan)(void *user_data, int64_t since_ms,
		    int (*row)(const struct bw_history_row *r, void *arg),
		    void (*done)(int err, const char *message, void *arg), void *arg);
	void *user_data;
	bw_free_fn free_user_data;
};

/* bw_core_api.whatif_replay: one connection to look up (ABI 1.2). */
struct bw_whatif_conn {
	size_t size;             /* sizeof(struct bw_whatif_conn) */
	const char *source, *destination; /* as struct bw_history_row names them */
	int source_kind, destination_kind; /* BW_HISTORY_PEER_*; 0: guessed from the name */
	uint8_t direction;       /* which side's policy: BW_FLOW_TRAFFIC_INGRESS
				  * (the destination's) or _EGRESS (the source's) */
	uint8_t protocol;
	uint16_t port;           /* ICMP: the type */
};

/* The verdict of one policy set for one connection. */
struct bw_whatif_verdict {
	int verdict;             /* BW_FLOW_VERDICT_FORWARDED, _DROPPED or _AUDIT
				  * (audit mode: policy denies, the packet passes) */
	int enforced;            /* the direction is default-deny for the endpoint */
	/* the rule behind it: its policy, the rule's index in the policy's
	 * canonical rules[] and the entry's in its ingress[] / egress[];
	 * kind NULL when no rule decided (default deny, or not enforced) */
	const char *kind, *ns, *name; /* ns "" when cluster-wide */
	int rule_index, entry_index;
	int deny;                /* the entry is a deny */
	/* a default deny: the policies isolating the endpoint, "Kind NS/NAME"
	 * lines joined by '\n' ("" otherwise) */
	const char *isolated_by;
};

struct bw_whatif_result {
	size_t size;             /* set by the caller: sizeof(struct bw_whatif_result) */
	int checked;             /* 1: replayed; 0: it could not be (why says why) */
	const char *why;
	unsigned endpoints;      /* local endpoints of the checked side looked at */
	struct bw_whatif_verdict current, candidate;
};

/* bw_core_api.policy_reach peer classes. */
#define BW_PEER_CLASS_WORLD 1            /* outside the cluster: world, CIDR, FQDN identities */
#define BW_PEER_CLASS_OTHER_NAMESPACES 2 /* pods of a namespace other than the endpoint's */

/* bw_core_api.policy_reach result bits. */
#define BW_REACH_ALLOWED (1 << 0)  /* such a peer gets through on some port */
#define BW_REACH_ENFORCED (1 << 1) /* the direction is default-deny (else all is allowed) */
#define BW_REACH_AUDIT (1 << 2)    /* audit mode: what policy denies passes as AUDIT */

/* bw_core_api.policy_isolation result bits. */
#define BW_ISOLATION_DEFAULT_DENY (1 << 0)        /* enforced in that direction */
#define BW_ISOLATION_AUDIT (1 << 1)               /* audit mode: drops pass as AUDIT */
#define BW_ISOLATION_ALWAYS (1 << 2)              /* policy.enforcement=always */
#define BW_ISOLATION_STAGED_DEFAULT_DENY (1 << 3) /* with the staged policies it would be */

/* bw_core_api.endpoint_walk: one endpoint. */
struct bw_endpoint_view {
	size_t size;                /* sizeof(struct bw_endpoint_view) as the daemon knows it */
	uint32_t id;                /* endpoint id */
	uint32_t identity;
	const char *ns;
	const char *pod;
	const char *const *labels;  /* the pod's labels, "k8s:key=value", sorted */
	uint32_t n_labels;
	const char *workload_name;  /* Hubble's workload (given or derived), NULL when unknown */
	const char *workload_kind;
	unsigned flags;             /* BW_ENDPOINT_F_* (the datapath's flags) */
};

/* bw_core_api.endpoint_foreach flags (the datapath's endpoint flags). */
#define BW_ENDPOINT_F_ENFORCE_INGRESS (1u << 0) /* ingress is default-deny */
#define BW_ENDPOINT_F_ENFORCE_EGRESS (1u << 1)  /* egress is default-deny */
#define BW_ENDPOINT_F_AUDIT (1u << 2)           /* drops become AUDIT verdicts */

/* bw_core_api.node_stats: counts for metrics and status. */
struct bw_node_stats {
	size_t size;             /* set by the caller to sizeof(struct bw_node_stats) */
	uint64_t endpoints;      /* endpoints registered */
	uint64_t policies;       /* policies in the repository (every source) */
	uint64_t identities;     /* identities the policy resolver knows */
	uint64_t selectors;      /* distinct selectors in the selector cache */
	uint64_t policy_entries; /* resolved policy entries, every endpoint */
	uint64_t regenerations;  /* resolver flushes that recomputed an endpoint */
	uint64_t regeneration_ns;/* time spent in them, nanoseconds (monotonic) */
	uint64_t endpoint_syncs; /* endpoint policy syncs to the datapath */
};

/*
 * bw_core_api.dns_publish (ABI 1.2): one DNS answer on its way back to a
 * workload, as a DNS proxy saw it.
 */
struct bw_dns_ip {
	int family;       /* 4 or 6 */
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
};

struct bw_dns_answer {
	size_t size;             /* sizeof(struct bw_dns_answer) */
	uint64_t time_ns;        /* when the answer arrived (CLOCK_REALTIME) */
	uint32_t ep_id;          /* the endpoint that asked, 0 when unknown */
	int client_family;       /* its address */
	uint8_t client_addr[16];
	const char *qname;       /* lower case, with the trailing dot */
	uint16_t qtype;          /* 1 A, 28 AAAA, ... */
	uint8_t rcode;           /* 0 NOERROR, 3 NXDOMAIN, ... */
	uint8_t truncated;       /* TC was set: the client retries over TCP */
	/*
	 * The A and AAAA records of the qname, followed through the CNAME
	 * chain (records of other names are left out), and the chain's names.
	 */
	const struct bw_dns_ip *ips;
	size_t n_ips;
	uint32_t ttl;            /* the smallest TTL along the chain */
	const char *const *cnames;
	size_t n_cnames;
};

/* bw_core_api.daemon_info (ABI 1.2). */
struct bw_daemon_info {
	size_t size;           /* set by the caller to sizeof(struct bw_daemon_info) */
	const char *version;   /* bulwarkd's version, e.g. "0.1.0" */
	const char *node_name; /* the node name flows carry */
	uint64_t start_ns;     /* when the daemon started, wall clock ns (UTC) */
	uint64_t uptime_ns;    /* since then, monotonic */
};

/* True when the daemon's table has the member (for members added later). */
#define BW_API_HAS(api, member) \
	((api)->size >= offsetof(struct bw_core_api, member) + sizeof((api)->member) && \
	 (api)->member != NULL)

/* ---- the module descriptor ---------------------------------------------- */

struct bw_module {
	uint32_t abi_major;   /* BW_MODULE_ABI_MAJOR */
	uint32_t abi_minor;   /* BW_MODULE_ABI_MINOR */
	uint32_t size;        /* sizeof(struct bw_module) */
	uint32_t flags;       /* reserved, 0 */
	const char *name;     /* unique among loaded modules; normally the .so base name */
	const char *version;  /* the module's own version */
	const char *signature;/* BW_MODULE_SIGNATURE */
	const char *description;

	const struct bw_conf_key *conf_keys; /* terminated by BW_CONF_KEY_END; may be NULL */
	size_t conf_size;                    /* size of the config struct */

	/*
	 * Lifecycle, each optional but init:
	 *   init    config parsed and passed check (below); register routes,
	 *           formats, allocators. A negative errno disables the
	 *           instance (fatal if required); the core then drops what it
	 *           registered and does not call fini, so clean up before
	 *           returning the error.
	 *   start   every instance is initialised; the loop is about to run.
	 *   reload  SIGHUP with the instance's new config; return -ENOTSUP for
	 *           "cannot change without restart" (the core says so).
	 *   stop    the loop is stopping; release sockets and events.
	 *   fini    last call; free everything.
	 */
	int (*init)(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf);
	int (*start)(bw_module_ctx *ctx);
	int (*reload)(bw_module_ctx *ctx, const void *new_conf);
	void (*stop)(bw_module_ctx *ctx);
	void (*fini)(bw_module_ctx *ctx);

	/* ---- ABI 1.1 ---- */

	/*
	 * Optional: check a config's values beyond what the key table can say
	 * (JSON in a string, paths, keys that must agree with each other). The
	 * core calls it once the key table has been applied to a section:
	 * for bulwarkd -n, at start before init(), and on SIGHUP with the new
	 * config before anything is reloaded. It must only look at conf (no
	 * core API, no I/O, no side effects) and may be called more than once.
	 * Return 0, or a negative errno with a one-line message in err and
	 * *key set to the offending key's name (a string that stays valid,
	 * e.g. from the key table; NULL for a problem of the whole section).
	 * The core turns it into a config error naming the file and line
	 * where the key was set, the section and the key:
	 *   /etc/bulwark/bulwark.conf:12: [flowlog] field_mask: 'sorce': Flow has no field 'sorce'
	 * which, like a bad value in the key table, stops a start, fails
	 * bulwarkd -n and refuses a reload as a whole (the running config is
	 * kept).
	 */
	int (*check)(const void *conf, char *err, size_t errlen, const char **key);
};

#if defined(__GNUC__)
#define BW_MODULE_EXPORT __attribute__((visibility("default")))
#else
#define BW_MODULE_EXPORT
#endif

/*
 * Define the module's descriptor (the module's one exported symbol):
 *   BW_MODULE_DEFINE(.name = "hello", .version = "1.0", .init = hello_init);
 */
#define BW_MODULE_DEFINE(...)                                  \
	BW_MODULE_EXPORT const struct bw_module bw_module_desc = { \
		.abi_major = BW_MODULE_ABI_MAJOR,                  \
		.abi_minor = BW_MODULE_ABI_MINOR,                  \
		.size = sizeof(struct bw_module),                  \
		.signature = BW_MODULE_SIGNATURE,                  \
		__VA_ARGS__}

#ifdef __cplusplus
}
#endif

#endif /* BULWARK_MODULE_H */
