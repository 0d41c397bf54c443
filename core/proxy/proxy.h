/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/proxy/proxy.h - the L7 proxy engine (DESIGN 6): listeners for
 * redirected connections, the connections themselves, the registry of
 * protocol parsers (<bulwark/l7.h>) and the compiled rule sets they match.
 *
 * Who calls what:
 *   - bulwarkd: bw_proxy_init() after the flow pipeline, bw_proxy_stop()
 *     when the loop stops (listeners closed, connections closed cleanly),
 *     bw_proxy_fini() last.
 *   - modules (through bw_core_api): l7_parser_register, l7_inject,
 *     l7_record, l7_conn_info -> bw_proxy_parser_add(), bw_proxy_inject(),
 *     bw_proxy_record(), bw_proxy_conn_info().
 *   - the redirect (whoever sends connections here): a listening socket and
 *     a struct bw_proxy_redirect_ops that says, for each accepted socket,
 *     where it was going, which endpoint's policy applies and which rule
 *     set (bw_proxy_ruleset_get()); bw_proxy_reclassify() after a policy
 *     change re-asks it for every open connection.
 *   - decision hooks (Lua on_http, ...) are asked by the parsers themselves
 *     through bw_core_api.hook_http (core/module/hooks.h); the engine
 *     offers bw_proxy_resume() for their asynchronous answers.
 *
 * Everything runs on the loop thread.
 */
#ifndef BW_CORE_PROXY_H
#define BW_CORE_PROXY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bulwark/flow.h"
#include "bulwark/l7.h"

struct event_base;
struct bw_daemon_conf;

/* ---- limits ([proxy] section) -------------------------------------------- */

struct bw_proxy_limits {
	uint32_t max_connections;    /* proxied connections at once */
	uint32_t buffer_size;        /* per-direction buffer while bytes are in flight */
	uint32_t max_message_head;   /* undecided bytes a parser may ask for */
	uint64_t head_timeout_ms;    /* undecided bytes may wait this long */
	uint64_t idle_timeout_ms;    /* no byte either way: close (0: never) */
	uint64_t connect_timeout_ms; /* to the original destination */
};

/* ---- life cycle ------------------------------------------------------------- */

/* Start the engine on base with the limits of dc ([proxy]); registers the
 * control API routes and metrics. 0 or a negative errno (logged). */
int bw_proxy_init(struct event_base *base, const struct bw_daemon_conf *dc);
/* Apply new limits (SIGHUP); open connections keep their buffers. */
void bw_proxy_set_limits(const struct bw_proxy_limits *lim);
void bw_proxy_get_limits(struct bw_proxy_limits *lim);
/*
 * The loop is stopping: close the listeners, flush what each connection
 * has queued (without blocking), read away what is unread so that close()
 * sends a FIN rather than a reset, and close every connection.
 */
void bw_proxy_stop(void);
/* Free everything (parsers are dropped with their owners). */
void bw_proxy_fini(void);

/* ---- parsers ------------------------------------------------------------------- */

/*
 * Register a parser (copied; the size prefix is honoured: a shorter
 * struct from an older module gets zeros for what it lacks). owner is the
 * module instance (NULL for the core); bw_registry_drop_owner() drops it.
 * 0, -EEXIST (name taken), -EINVAL (no name or no data/conn_open).
 */
int bw_proxy_parser_add(const struct bw_l7_parser *p, const void *owner);
/* The registered parser called name, or NULL. */
const struct bw_l7_parser *bw_proxy_parser_find(const char *name);
/* Visit the parsers in registration order. */
void bw_proxy_parser_foreach(void (*cb)(const struct bw_l7_parser *p, void *arg),
			     void *arg);

/* ---- rule sets ---------------------------------------------------------------- */

/*
 * A compiled rule list for one parser, shared (refcounted) by every
 * connection it applies to. policies[i] is the policy that contributed
 * rule i of the JSON array (flow attribution); it may be shorter than the
 * array (the remaining rules are unattributed).
 */
struct bw_proxy_ruleset;

/*
 * The rule set for parser name and rules json (a JSON array), compiled
 * once and cached by content: the same text gives the same set. The
 * policies are copied. Returns a new reference, or NULL with errno set
 * and a message in err (-ENOENT: no such parser; -EINVAL: the parser
 * refused the rules, its message in err).
 */
struct bw_proxy_ruleset *bw_proxy_ruleset_get(const char *parser, const char *json,
					      const struct bw_flow_policy *policies,
					      size_t n_policies, char *err,
					      size_t errlen);
struct bw_proxy_ruleset *bw_proxy_ruleset_ref(struct bw_proxy_ruleset *rs);
void bw_proxy_ruleset_unref(struct bw_proxy_ruleset *rs);
/* Check rules without keeping them (policy import): 0 or -errno + err. */
int bw_proxy_rules_check(const char *parser, const char *json, char *err,
			 size_t errlen);

/* ---- listeners and the redirect ------------------------------------------------ */

/* What the redirect says about one accepted connection. */
struct bw_proxy_target {
	struct bw_l7_conn_info info;  /* addresses, endpoint, direction */
	const char *parser;           /* the parser's name ("http") */
	/* The rules in force (a reference the engine takes over), or NULL
	 * for a visibility-only port (allow everything, record flows). */
	struct bw_proxy_ruleset *rules;
	/* Where to connect; normally info.server_addr:server_port. */
	struct sockaddr_storage upstream;
	socklen_t upstream_len;
	/*
	 * Set by the engine: 1 when classify() runs for a new connection
	 * (not a reclassify); classify() may then open the socket towards
	 * the server itself, connect in progress, and put it in upstream_fd
	 * (the engine preset it to -1 and owns what it gets).
	 */
	int want_upstream;
	int upstream_fd;
};

struct bw_proxy_redirect_ops {
	/*
	 * Describe the accepted socket fd (peer: the client's address; local:
	 * the address it connected to, the original destination for
	 * socket-assigned and TPROXY connections). 0 and *out filled, or a
	 * negative errno: the connection is refused (closed with a reset).
	 * Also called by bw_proxy_reclassify() for open connections: then
	 * -ENOENT means "no longer inspected" (the connection goes on with
	 * every request allowed) and any other error closes it.
	 */
	int (*classify)(void *arg, int fd, const struct sockaddr *peer,
			const struct sockaddr *local, struct bw_proxy_target *out);
	/*
	 * Optional: create the (non-blocking, unconnected) socket towards
	 * the server: keep the client's source address (IP_TRANSPARENT +
	 * bind), mark it for the datapath. Without it the engine uses a
	 * plain socket of the node.
	 */
	int (*upstream_socket)(void *arg, const struct bw_proxy_target *t, int *fd);
	void *arg;
};

/*
 * Accept connections on fd (a listening TCP socket, made non-blocking
 * here; the engine owns and closes it). name shows up in status and
 * logs. Returns a listener id > 0 or a negative errno.
 */
int bw_proxy_listener_add(const char *name, int fd,
			  const struct bw_proxy_redirect_ops *ops);
/* Close one listener (open connections stay). */
void bw_proxy_listener_remove(int id);

/*
 * Open a listening socket for the redirect: TCP on addr (port 0: any
 * free port; the chosen address is written back), SO_REUSEADDR, and
 * IP_TRANSPARENT/IPV6_TRANSPARENT when transparent, so that it may accept
 * connections for addresses that are not the node's. Returns the fd or a
 * negative errno.
 */
int bw_proxy_listen_socket(struct sockaddr_storage *addr, socklen_t *len,
			   int transparent);

/* Ask the redirect again about every open connection (policy changed). */
void bw_proxy_reclassify(void);

/*
 * The datapath's redirect (core/proxy/proxy_redirect.c): from now on
 * every parser registered (and every one registered later) gets a
 * transparent listener per address family, for the proxy class of its
 * name, whose connections are described by core/policy/proxyconn.h; a
 * policy change re-reads the rules of open connections. bulwarkd calls it
 * after bw_proxy_init() (unit tests use their own listeners instead).
 */
int bw_proxy_redirect_start(struct event_base *base);
/* Visit the redirect listeners: parser, address family (4, 6), port. */
void bw_proxy_redirect_ports(void (*cb)(const char *parser, int family, uint16_t port,
					void *arg),
			     void *arg);

/* ---- connections (what the bw_core_api members call) --------------------------- */

int bw_proxy_inject(bw_l7_conn *c, int dir, const void *data, size_t len);
int bw_proxy_record(bw_l7_conn *c, const struct bw_l7_record *rec);
const struct bw_l7_conn_info *bw_proxy_conn_info(bw_l7_conn *c);
/* Call the parser's data() for dir again soon (an asynchronous answer). */
int bw_proxy_resume(bw_l7_conn *c, int dir);

/* ---- counters ---------------------------------------------------------------- */

struct bw_proxy_stats {
	uint64_t accepted;         /* connections accepted */
	uint64_t refused;          /* refused: limit, classify error, no parser */
	uint64_t upstream_errors;  /* the server could not be reached */
	uint64_t closed;
	uint64_t timeouts_head;    /* undecided bytes waited too long */
	uint64_t timeouts_idle;
	uint64_t too_large;        /* undecided bytes over the limit */
	uint64_t parse_errors;     /* a parser returned an error */
	uint64_t requests;         /* REQUEST records */
	uint64_t forwarded;        /* ... with verdict FORWARDED */
	uint64_t denied;           /* ... DROPPED */
	uint64_t responses;        /* RESPONSE records */
	uint32_t active;           /* open connections */
	uint32_t listeners;
	uint64_t buffer_bytes;     /* bytes of buffers held by connections now */
};
void bw_proxy_stats_get(struct bw_proxy_stats *st);

#endif /* BW_CORE_PROXY_H */
