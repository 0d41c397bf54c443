/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/proxy/proxy_int.h - what the files of the proxy engine share:
 * the parser registry entry, rule sets, the connection, and the counters.
 * Nothing outside core/proxy/ includes it.
 */
#ifndef BW_CORE_PROXY_INT_H
#define BW_CORE_PROXY_INT_H

#include <stdint.h>

#include <event2/event.h>

#include "core/proxy/proxy.h"

/* A registered parser: the module's struct, copied to our size. */
struct px_parser {
	struct px_parser *next;
	struct bw_l7_parser p;
	const void *owner;
	uint64_t conns;       /* connections opened with it */
	uint32_t active;
	uint64_t received, forwarded, denied, parse_errors; /* requests */
};

struct bw_proxy_ruleset {
	struct bw_proxy_ruleset *next; /* cache list */
	struct px_parser *parser;      /* NULL once the parser is gone */
	char *json;
	void *compiled;                /* rules_compile()'s value, or json */
	struct bw_flow_policy *policies;
	size_t n_policies;
	unsigned refs;
};

/* ---- parsers.c -------------------------------------------------------------- */

struct px_parser *px_parser_lookup(const char *name);
/* Parsers and rule sets: the engine stopped. */
void px_parsers_fini(void);

/* ---- engine.c ----------------------------------------------------------------- */

int px_engine_start(struct event_base *base);
void px_engine_fini(void);

/* Close every connection that uses parser p (it is being dropped). */
void px_engine_close_parser(struct px_parser *p);
/* The ruleset a connection matches now (NULL: allow all). */
const struct bw_proxy_ruleset *px_conn_ruleset(const bw_l7_conn *c);
struct px_parser *px_conn_parser(const bw_l7_conn *c);
extern struct bw_proxy_stats px_stats;

/* ---- sockets.c ------------------------------------------------------------------ */

/* Fill ss with address addr (4 or 16 bytes, v 4 or 6) and port (host
 * order); returns its length. */
socklen_t px_sockaddr(struct sockaddr_storage *ss, uint8_t v, const uint8_t *addr,
		      uint16_t port);

/* ---- proxy_redirect.c ---------------------------------------------------------- */

void px_redirect_parser_added(const char *name);
void px_redirect_parser_dropped(const char *name);
void px_redirect_stop(void);

/* ---- proxy_flow.c ---------------------------------------------------------------- */

/* Build and publish the flow of one L7 record (see bw_proxy_record()). */
int px_flow_publish(const struct bw_l7_conn_info *info, const char *parser,
		    const struct bw_proxy_ruleset *rs, const struct bw_l7_record *rec);

/* ---- proxy_api.c ---------------------------------------------------------------- */

int px_api_init(void);

#endif /* BW_CORE_PROXY_INT_H */
