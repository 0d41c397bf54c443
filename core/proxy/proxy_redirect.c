/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/proxy/proxy_redirect.c - the engine on the datapath's transparent
 * redirect (docs/redirect.md): one transparent listener per registered
 * parser and address family, a proxy class named like the parser ("http",
 * "kafka", an l7proto name), and, for each accepted connection, what the
 * redirect service (core/policy/proxyconn.h) knows about it: the two
 * sides, whose policy sent it here, and the L7 rules with the policies
 * behind them.
 *
 * The service's rule list has one item per policy rule that redirects the
 * port ({"policy": {...}, "http": [...]}, or {"allow_all": true} for a
 * plain allow of the same port). The parser gets one JSON array: the
 * items' rules one after the other, an allow_all item as an empty rule
 * (an entry that allows everything), and the engine keeps the policy of
 * each rule for the flows. Equal lists share one compiled rule set.
 *
 * A policy change (bw_policy_generation() moved; checked every
 * PXR_POLL_MS) makes the engine ask again for every open connection, so
 * that the next request is decided by the rules in force, and empties the
 * rule sets kept per (endpoint, direction, peer, port, parser) (below).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "bpf/bw_datapath.h"
#include "core/log.h"
#include "core/policy/policy.h"
#include "core/policy/proxyconn.h"
#include "core/proxy/proxy_int.h"

#define PXR_POLL_MS 500
#define PXR_MAX_RULES 4096 /* rules of one connection (more are refused) */

/*
 * The rule set of a connection depends only on the policy's endpoint, the
 * direction, the peer's identity, the port, the class (the parser) and the
 * policy generation (core/policy/proxyconn.h): classify() keeps the rule
 * sets it built under that key, so that a new connection with the same key
 * costs no policy lookup, no JSON and no compilation (which a rule set
 * whose last connection closed would otherwise need again: what
 * Connection: close traffic did for every request). The table is
 * direct-mapped (a collision replaces the entry) and emptied when the
 * generation moves.
 */
#define PXR_CACHE_SIZE 1024 /* a power of two */

struct pxr_key {
	uint64_t generation;
	uint32_t policy_ep, peer;
	uint16_t port;
	uint8_t direction, protocol;
	const char *parser; /* the listener's (stable while it is open) */
};

struct pxr_cached {
	struct pxr_key key;
	struct bw_proxy_ruleset *rules; /* a reference; NULL: empty slot */
};

struct pxr_listener {
	struct pxr_listener *next;
	char *parser;
	int id[2];             /* engine listener ids: IPv4, IPv6 (0: none) */
	uint16_t port[2];
};

static struct {
	int on;
	struct event_base *base;
	struct pxr_listener *listeners;
	struct event *poll;
	uint64_t generation;
	struct pxr_cached *cache; /* PXR_CACHE_SIZE slots, or NULL */
	uint64_t cache_gen;
} pxr;

static void
pxr_cache_flush(void)
{
	if (pxr.cache == NULL)
		return;
	for (size_t i = 0; i < PXR_CACHE_SIZE; i++) {
		bw_proxy_ruleset_unref(pxr.cache[i].rules);
		pxr.cache[i].rules = NULL;
	}
}

static struct pxr_cached *
pxr_cache_slot(const struct pxr_key *k)
{
	uint64_t h = k->generation * 0x9e3779b97f4a7c15ull;

	if (pxr.cache == NULL &&
	    (pxr.cache = calloc(PXR_CACHE_SIZE, sizeof(*pxr.cache))) == NULL)
		return NULL;
	if (k->generation != pxr.cache_gen) {
		pxr_cache_flush();
		pxr.cache_gen = k->generation;
	}
	h ^= ((uint64_t)k->policy_ep << 32 | k->peer) * 0xff51afd7ed558ccdull;
	h ^= ((uint64_t)k->port << 16 | (uint64_t)k->direction << 8 | k->protocol) *
	     0xc4ceb9fe1a85ec53ull;
	h ^= (uint64_t)(uintptr_t)k->parser;
	h ^= h >> 29;
	return &pxr.cache[h & (PXR_CACHE_SIZE - 1)];
}

/* ---- the connection's rules --------------------------------------------------------- */

static void
pxr_policies_free(struct bw_flow_policy *p, size_t n)
{
	(void)n;
	free(p); /* the strings belong to the JSON document */
}

/*
 * The parser's rule list for class cls out of the service's items, as
 * JSON text (malloc'd), and the policy of each rule (strings borrowed
 * from items). -ENOMEM or -E2BIG.
 */
static int
pxr_rules(const char *cls, json_t *items, char **json, struct bw_flow_policy **pol,
	  size_t *npol)
{
	const char *key = !strcmp(cls, "http") || !strcmp(cls, "kafka") || !strcmp(cls, "dns")
				  ? cls : "l7";
	json_t *out = json_array(), *item, *r;
	size_t i, k, n = 0, cap = 16;
	struct bw_flow_policy *p = calloc(cap, sizeof(*p));

	*json = NULL;
	*pol = NULL;
	*npol = 0;
	if (out == NULL || p == NULL)
		goto nomem;
	json_array_foreach(items, i, item) {
		json_t *pj = json_object_get(item, "policy"), *list;
		struct bw_flow_policy one = {
			.name = json_string_value(json_object_get(pj, "name")),
			.ns = json_string_value(json_object_get(pj, "namespace")),
			.kind = json_string_value(json_object_get(pj, "kind")),
			.revision = (uint64_t)json_integer_value(json_object_get(pj, "revision")),
		};
		json_t *single = NULL;

		if (json_is_true(json_object_get(item, "allow_all"))) {
			single = json_array();
			json_array_append_new(single, json_object());
			list = single;
		} else {
			list = json_object_get(item, key);
		}
		json_array_foreach(list, k, r) {
			if (n == PXR_MAX_RULES) {
				json_decref(single);
				json_decref(out);
				free(p);
				return -E2BIG;
			}
			if (n == cap) {
				struct bw_flow_policy *q = realloc(p, 2 * cap * sizeof(*p));

				if (q == NULL) {
					json_decref(single);
					goto nomem;
				}
				p = q;
				cap *= 2;
			}
			p[n++] = one;
			json_array_append(out, r);
		}
		json_decref(single);
	}
	*json = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(out);
	if (*json == NULL) {
		free(p);
		return -ENOMEM;
	}
	*pol = p;
	*npol = n;
	return 0;
nomem:
	json_decref(out);
	free(p);
	return -ENOMEM;
}

/* ---- the redirect ops ---------------------------------------------------------------- */

static void
pxr_addr(struct bw_l7_conn_info *info, const struct sockaddr_storage *ss, int client)
{
	uint8_t *a = client ? info->client_addr : info->server_addr;
	uint16_t *port = client ? &info->client_port : &info->server_port;

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		memcpy(a, &s6->sin6_addr, 16);
		*port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		memcpy(a, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
	}
}

/* Build the rule set of c's key (a policy lookup, JSON, maybe a compile). */
static struct bw_proxy_ruleset *
pxr_ruleset_build(const char *parser, struct bw_proxyconn *c, int *rc)
{
	struct bw_flow_policy *pol = NULL;
	struct bw_proxy_ruleset *rs;
	size_t npol = 0;
	char *json = NULL, err[512];

	if ((*rc = bw_proxyconn_lookup_rules(c)) < 0)
		return NULL;
	if ((*rc = pxr_rules(parser, c->rules, &json, &pol, &npol)) < 0) {
		bw_warn("proxy: the L7 rules of a %s connection cannot be used: %s",
			parser, *rc == -E2BIG ? "more than 4096 rules" : strerror(-*rc));
		return NULL;
	}
	rs = bw_proxy_ruleset_get(parser, json, pol, npol, err, sizeof(err));
	*rc = rs != NULL ? 0 : -errno;
	if (rs == NULL)
		bw_warn("proxy: %s connection refused: its L7 rules do not compile: %s",
			parser, err);
	free(json);
	pxr_policies_free(pol, npol);
	return rs;
}

static int
pxr_classify(void *arg, int fd, const struct sockaddr *peer, const struct sockaddr *local,
	     struct bw_proxy_target *t)
{
	const char *parser = arg;
	struct bw_proxyconn c;
	const struct bw_proxyconn_side *ep;
	struct pxr_cached *slot;
	struct pxr_key key;
	int rc;

	rc = bw_proxyconn_lookup_conn(IPPROTO_TCP, peer, local, &c);
	if (rc < 0)
		return rc;
	if (c.class_name == NULL || strcmp(c.class_name, parser) != 0) {
		/* another class's connection on this socket: not ours */
		bw_proxyconn_release(&c);
		return -ENOENT;
	}
	t->info.direction = c.direction == BW_DIR_EGRESS ? BW_FLOW_TRAFFIC_EGRESS
							 : BW_FLOW_TRAFFIC_INGRESS;
	t->info.ip_version = c.family == AF_INET6 ? 6 : 4;
	pxr_addr(&t->info, &c.client.addr, 1);
	pxr_addr(&t->info, &c.server.addr, 0);
	t->info.client_identity = c.client.identity;
	t->info.server_identity = c.server.identity;
	t->info.endpoint_id = c.policy_ep;
	ep = c.direction == BW_DIR_EGRESS ? &c.client : &c.server;
	t->info.endpoint_ns = ep->ns;   /* copied by the engine */
	t->info.endpoint_pod = ep->pod;
	t->parser = parser;

	memset(&key, 0, sizeof(key));
	key.generation = c.generation;
	key.policy_ep = c.policy_ep;
	key.peer = bw_proxyconn_peer(&c);
	key.port = bw_proxyconn_port(&c);
	key.direction = (uint8_t)c.direction;
	key.protocol = IPPROTO_TCP;
	key.parser = parser;
	slot = pxr_cache_slot(&key);
	if (slot != NULL && slot->rules != NULL && !memcmp(&slot->key, &key, sizeof(key))) {
		t->rules = bw_proxy_ruleset_ref(slot->rules);
	} else {
		t->rules = pxr_ruleset_build(parser, &c, &rc);
		if (t->rules == NULL) {
			bw_proxyconn_release(&c);
			return rc;
		}
		if (slot != NULL) {
			bw_proxy_ruleset_unref(slot->rules);
			slot->key = key;
			slot->rules = bw_proxy_ruleset_ref(t->rules);
		}
	}
	if (t->want_upstream) {
		int up = bw_proxyconn_upstream(&c);

		if (up < 0) {
			bw_proxy_ruleset_unref(t->rules);
			t->rules = NULL;
			rc = up;
		} else {
			t->upstream_fd = up;
		}
	}
	memcpy(&t->upstream, &c.server.addr, sizeof(t->upstream));
	t->upstream_len = c.family == AF_INET6 ? sizeof(struct sockaddr_in6)
					       : sizeof(struct sockaddr_in);
	/* the side's strings live in the service's tables, valid until the
	 * loop runs on: the engine copies them before that */
	bw_proxyconn_release(&c);
	(void)fd;
	return rc;
}

/* ---- listeners per parser ------------------------------------------------------------- */

static void
pxr_listen(const char *name)
{
	static const int fam[2] = { AF_INET, AF_INET6 };
	struct bw_proxy_redirect_ops ops = { .classify = pxr_classify };
	struct pxr_listener *l;

	for (l = pxr.listeners; l != NULL; l = l->next)
		if (!strcmp(l->parser, name))
			return;
	if ((l = calloc(1, sizeof(*l))) == NULL || (l->parser = strdup(name)) == NULL) {
		free(l);
		bw_err("proxy: out of memory opening the %s listener", name);
		return;
	}
	ops.arg = l->parser;
	for (int i = 0; i < 2; i++) {
		char lname[96];
		int fd, id;

		fd = bw_proxyconn_listen(name, IPPROTO_TCP, fam[i], 0, &l->port[i]);
		if (fd < 0)
			continue; /* logged; IPv6 may be off */
		snprintf(lname, sizeof(lname), "%s/IPv%d", name, i ? 6 : 4);
		if ((id = bw_proxy_listener_add(lname, fd, &ops)) < 0) {
			close(fd);
			bw_err_errno(id, "proxy: cannot watch the %s listener", lname);
			continue;
		}
		l->id[i] = id;
	}
	l->next = pxr.listeners;
	pxr.listeners = l;
}

static void
pxr_unlisten(const char *name)
{
	pxr_cache_flush(); /* the keys name the parser by its listener's string */
	for (struct pxr_listener **pp = &pxr.listeners; *pp != NULL; pp = &(*pp)->next) {
		struct pxr_listener *l = *pp;

		if (strcmp(l->parser, name) != 0)
			continue;
		for (int i = 0; i < 2; i++)
			if (l->id[i] > 0)
				bw_proxy_listener_remove(l->id[i]);
		*pp = l->next;
		free(l->parser);
		free(l);
		return;
	}
}

void
px_redirect_parser_added(const char *name)
{
	if (pxr.on)
		pxr_listen(name);
}

void
px_redirect_parser_dropped(const char *name)
{
	if (pxr.on)
		pxr_unlisten(name);
}

static void
pxr_open_one(const struct bw_l7_parser *p, void *arg)
{
	pxr_listen(p->name);
}

static void
pxr_tick(evutil_socket_t fd, short what, void *arg)
{
	uint64_t g = bw_policy_generation();

	if (g != pxr.generation) {
		pxr.generation = g;
		pxr_cache_flush();
		bw_proxy_reclassify();
	}
}

int
bw_proxy_redirect_start(struct event_base *base)
{
	struct timeval tv = { 0, PXR_POLL_MS * 1000 };

	pxr.on = 1;
	pxr.base = base;
	pxr.generation = bw_policy_generation();
	bw_proxy_parser_foreach(pxr_open_one, NULL);
	pxr.poll = event_new(base, -1, EV_PERSIST, pxr_tick, NULL);
	if (pxr.poll == NULL || event_add(pxr.poll, &tv) < 0) {
		bw_err("proxy: cannot watch for policy changes");
		return -ENOMEM;
	}
	return 0;
}

void
px_redirect_stop(void)
{
	while (pxr.listeners != NULL)
		pxr_unlisten(pxr.listeners->parser);
	if (pxr.poll != NULL) {
		event_free(pxr.poll);
		pxr.poll = NULL;
	}
	pxr_cache_flush();
	free(pxr.cache);
	pxr.cache = NULL;
	pxr.on = 0;
}

void
bw_proxy_redirect_ports(void (*cb)(const char *parser, int family, uint16_t port, void *arg),
			void *arg)
{
	for (struct pxr_listener *l = pxr.listeners; l != NULL; l = l->next)
		for (int i = 0; i < 2; i++)
			if (l->id[i] > 0)
				cb(l->parser, i ? 6 : 4, l->port[i], arg);
}
