/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/dnsproxy/dnsproxy.c - the transparent DNS proxy (docs/fqdn.md):
 * the module, its sockets and its metrics.
 *
 * The datapath hands DNS traffic of endpoints whose egress policy has
 * toPorts[].rules.dns to the proxy's sockets (socket assignment from the tc
 * program; the redirect, docs/redirect.md), keeping the workload's source
 * address and the server it asked as the packet's destination. The sockets
 * are the redirect service's class "dns" sockets (redirect_listen) on
 * [dnsproxy] port, UDP and TCP, IPv4 and IPv6: a UDP datagram's original
 * destination comes with it (redirect_recvmsg), an accepted TCP
 * connection's local address is the server's. Answers to UDP queries leave
 * from the server's address and port, through a transparent socket bound
 * there (kept per server), so the workload sees them come from the server
 * it asked. Queries go to the server through redirect_upstream sockets,
 * which the server's side sees as coming from the workload.
 *
 * Which endpoint asked and which DNS rules apply (dnsproxy_origin) come
 * from the core's redirect service; the lookups then go to the engine
 * (dnsproxy_engine.c). When the proxy is not running (the daemon restarts),
 * the datapath finds no socket and lets the query go to the server
 * directly, under the endpoint's L3/L4 policy.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include <bulwark/module.h>

#include "dnsproxy_engine.h"

#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT 19
#endif
#ifndef IP_RECVORIGDSTADDR
#define IP_RECVORIGDSTADDR 20
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif
#ifndef IPV6_RECVORIGDSTADDR
#define IPV6_RECVORIGDSTADDR 74
#endif

#define DNSP_MAX_REPLY_SOCKS 64

static const char *const dnsp_deny_values[] = { "refused", "nxdomain", NULL };

struct dnsp_conf {
	int64_t port;
	int deny_response;          /* index into dnsp_deny_values */
	int64_t upstream_timeout;   /* ms */
	int64_t max_inflight;
	int64_t tcp_idle_timeout;   /* ms */
	int64_t max_tcp_connections;
	int flows;
};

static const struct bw_conf_key dnsp_keys[] = {
	{ "port", BW_CONF_INT, "10053", offsetof(struct dnsp_conf, port), 1, 65535, NULL, 0,
	  "port the proxy listens on (UDP and TCP, transparent); the datapath redirects DNS there" },
	{ "deny_response", BW_CONF_ENUM, "refused", offsetof(struct dnsp_conf, deny_response),
	  0, 0, dnsp_deny_values, BW_CONF_F_RELOADABLE,
	  "answer to a query the DNS rules deny: refused (RCODE 5) or nxdomain (RCODE 3)" },
	{ "upstream_timeout", BW_CONF_DURATION, "4s", offsetof(struct dnsp_conf, upstream_timeout),
	  10, 60000, NULL, BW_CONF_F_RELOADABLE,
	  "a server that has not answered by then: the workload gets SERVFAIL" },
	{ "max_inflight", BW_CONF_INT, "10000", offsetof(struct dnsp_conf, max_inflight),
	  1, 10000000, NULL, BW_CONF_F_RELOADABLE,
	  "queries waiting for servers at most; more are answered REFUSED (counted)" },
	{ "tcp_idle_timeout", BW_CONF_DURATION, "10s", offsetof(struct dnsp_conf, tcp_idle_timeout),
	  100, 3600000, NULL, BW_CONF_F_RELOADABLE,
	  "a DNS-over-TCP connection with nothing to do is closed after this long" },
	{ "max_tcp_connections", BW_CONF_INT, "1000", offsetof(struct dnsp_conf, max_tcp_connections),
	  1, 1000000, NULL, BW_CONF_F_RELOADABLE,
	  "DNS-over-TCP connections at most; more are closed at once (counted)" },
	{ "flows", BW_CONF_BOOL, "true", offsetof(struct dnsp_conf, flows), 0, 0, NULL,
	  BW_CONF_F_RELOADABLE, "record every query and answer as an L7 DNS flow" },
	BW_CONF_KEY_END,
};

struct dnsp_lent;

struct dnsp_reply_sock {
	struct sockaddr_storage addr;
	int fd;
	uint64_t used;
};

struct dnsp {
	const struct bw_core_api *api;
	bw_module_ctx *ctx;
	struct dnsp_conf conf;
	struct dpe *engine;
	int udp_fd[2], tcp_fd[2];      /* [0] IPv4, [1] IPv6 */
	struct event *udp_ev[2], *tcp_ev[2];
	struct dnsp_reply_sock reply[DNSP_MAX_REPLY_SOCKS];
	uint64_t reply_clock;
	uint64_t unknown_origin;       /* lookups the redirect service could not place */
	uint64_t reply_errors;
	struct dnsp_lent *lcache;      /* recent UDP lookups (dnsp_origin) */
	uint64_t lcache_hits, lcache_misses;
	char *rule_text[256];          /* compiled rule lists by text (dnsp_rules) */
	struct dpr_rules *rule_set[256];
	size_t nrules;
	int rules_err_logged;
};

static const struct bw_core_api *dnsp_api;

#define dnsp_log(p, lvl, ...) (p)->api->log((p)->ctx, (lvl), __VA_ARGS__)

static void dnsp_engine_conf(const struct dnsp_conf *c, struct dpe_conf *out)
{
	memset(out, 0, sizeof(*out));
	out->deny_rcode = c->deny_response == 1 ? DPM_NXDOMAIN : DPM_REFUSED;
	out->upstream_timeout_ms = c->upstream_timeout;
	out->max_inflight = c->max_inflight;
	out->tcp_idle_ms = c->tcp_idle_timeout;
	out->max_tcp_conns = c->max_tcp_connections;
	out->flows = c->flows;
}

/* ---- where a lookup comes from ------------------------------------------- */

/* What the redirect service said about one lookup (the engine's cookie). */
struct dnsp_lookup {
	unsigned refs;
	const struct bw_core_api *api;
	struct bw_redirect_conn conn;
};

static void dnsp_lookup_ref(void *cookie)
{
	((struct dnsp_lookup *)cookie)->refs++;
}

static void dnsp_lookup_unref(void *cookie)
{
	struct dnsp_lookup *l = cookie;

	if (!l || --l->refs)
		return;
	l->api->redirect_release(&l->conn);
	free(l);
}

/* The proxy's socket towards the server, as the redirect service makes it. */
static int dnsp_upstream(void *arg, const struct dpe_origin *o, int protocol)
{
	struct dnsp *p = arg;
	struct dnsp_lookup *l = o->cookie;

	if (!l)
		return -ENOENT;
	return p->api->redirect_upstream(p->ctx, &l->conn);
}

/*
 * What the redirect service's UDP socket for a lookup is: towards which
 * server, for which direction (the socket's mark), and, towards a local
 * endpoint, bound to which client address (docs/redirect.md). Lookups
 * with equal keys may share sockets (the engine's pool).
 */
static size_t dnsp_upstream_key(void *arg, const struct dpe_origin *o, uint8_t *key,
				size_t len)
{
	struct dnsp_lookup *l = o->cookie;
	uint8_t addr[16];
	size_t n = 0;
	uint16_t port;

	if (!l || len < 2 + 2 * 18)
		return 0;
	key[n++] = (uint8_t)l->conn.direction;
	key[n++] = o->server.ss_family == AF_INET6 ? 6 : 4;
	memset(addr, 0, sizeof(addr));
	if (o->server.ss_family == AF_INET6) {
		memcpy(addr, &((const struct sockaddr_in6 *)&o->server)->sin6_addr, 16);
		port = ((const struct sockaddr_in6 *)&o->server)->sin6_port;
	} else {
		memcpy(addr, &((const struct sockaddr_in *)&o->server)->sin_addr, 4);
		port = ((const struct sockaddr_in *)&o->server)->sin_port;
	}
	memcpy(key + n, addr, 16);
	n += 16;
	memcpy(key + n, &port, 2);
	n += 2;
	if (l->conn.server_endpoint) {
		memset(addr, 0, sizeof(addr));
		if (o->client.ss_family == AF_INET6)
			memcpy(addr, &((const struct sockaddr_in6 *)&o->client)->sin6_addr, 16);
		else
			memcpy(addr, &((const struct sockaddr_in *)&o->client)->sin_addr, 4);
		memcpy(key + n, addr, 16);
		n += 16;
	}
	return n;
}

/*
 * Compiled rule lists by their JSON text: a list is compiled once however
 * many lookups it applies to (the cache is emptied when it grows past
 * DNSP_RULE_CACHE: policies changed a lot).
 */
#define DNSP_RULE_CACHE 256

static struct dpr_rules *dnsp_rules(struct dnsp *p, const char *json)
{
	char err[256];
	struct dpr_rules *r;

	for (size_t i = 0; i < p->nrules; i++)
		if (!strcmp(p->rule_text[i], json))
			return dpr_ref(p->rule_set[i]);
	r = dpr_compile(json, err, sizeof(err));
	if (!r) {
		if (!p->rules_err_logged)
			dnsp_log(p, BW_LOG_ERR, "cannot use the DNS rules of a redirect: %s", err);
		p->rules_err_logged = 1;
		return NULL;
	}
	if (p->nrules == DNSP_RULE_CACHE) {
		for (size_t i = 0; i < p->nrules; i++) {
			free(p->rule_text[i]);
			dpr_unref(p->rule_set[i]);
		}
		p->nrules = 0;
	}
	p->rule_text[p->nrules] = strdup(json);
	if (p->rule_text[p->nrules])
		p->rule_set[p->nrules++] = dpr_ref(r);
	return r;
}

/* The rule_ref of the first item of a rules list (denials name it). */
static uint32_t dnsp_first_ref(const char *json)
{
	const char *k = strstr(json, "\"rule_ref\":");

	return k ? (uint32_t)strtoul(k + 11, NULL, 10) : 0;
}

/*
 * Recent UDP lookups by (client address, server address and port): a
 * workload sends many queries to one server, each from its own port, and
 * what the redirect service says about them is the same while the policy
 * generation is (redirect_generation) and for at most DNSP_LCACHE_NS (an
 * address that changed hands without a policy change). Direct-mapped.
 */
#define DNSP_LCACHE 256
#define DNSP_LCACHE_NS 1000000000ull

struct dnsp_lent {
	struct sockaddr_storage client; /* port 0 */
	struct sockaddr_storage server;
	struct dnsp_lookup *l;          /* NULL: empty */
	struct dpr_rules *rules;
	uint32_t rule_ref;
	uint64_t gen, born;
};

static uint64_t dnsp_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The key of a lookup: the client's address without its port, the server's. */
static size_t dnsp_lkey(const struct dpe_origin *o, struct sockaddr_storage *client)
{
	const uint8_t *b;
	size_t n, h = 1469598103934665603ull;

	memset(client, 0, sizeof(*client));
	if (o->client.ss_family == AF_INET6) {
		struct sockaddr_in6 *c6 = (struct sockaddr_in6 *)client;

		c6->sin6_family = AF_INET6;
		c6->sin6_addr = ((const struct sockaddr_in6 *)&o->client)->sin6_addr;
		b = (const uint8_t *)&c6->sin6_addr;
		n = 16;
	} else {
		struct sockaddr_in *c4 = (struct sockaddr_in *)client;

		c4->sin_family = AF_INET;
		c4->sin_addr = ((const struct sockaddr_in *)&o->client)->sin_addr;
		b = (const uint8_t *)&c4->sin_addr;
		n = 4;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	if (o->server.ss_family == AF_INET6) {
		b = (const uint8_t *)&((const struct sockaddr_in6 *)&o->server)->sin6_addr;
		n = 16;
	} else {
		b = (const uint8_t *)&((const struct sockaddr_in *)&o->server)->sin_addr;
		n = 4;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	h ^= h >> 29;
	return (size_t)(h % DNSP_LCACHE);
}

static int dnsp_same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

static void dnsp_lent_clear(struct dnsp_lent *le)
{
	if (!le->l)
		return;
	dpr_unref(le->rules);
	dnsp_lookup_unref(le->l);
	le->l = NULL;
	le->rules = NULL;
}

static void dnsp_lcache_clear(struct dnsp *p)
{
	if (!p->lcache)
		return;
	for (size_t i = 0; i < DNSP_LCACHE; i++)
		dnsp_lent_clear(&p->lcache[i]);
}

/*
 * The endpoint behind the client address and the DNS rules of the policy
 * entries that redirected client -> server, from the core's redirect
 * service (docs/redirect.md), or from a recent lookup of the same client
 * and server (UDP). A lookup it does not know (a race with a policy
 * change) gets no rules: it is answered as denied, and counted.
 */
static int dnsp_origin(struct dnsp *p, int proto, struct dpe_origin *o)
{
	struct dnsp_lookup *l;
	struct dnsp_lent *le = NULL;
	struct sockaddr_storage ckey;
	uint64_t gen = 0, now = 0;
	int rc;

	o->ep_id = 0;
	o->rule_ref = 0;
	o->rules = NULL;
	o->cookie = NULL;
	if (proto == 17 && p->lcache && BW_API_HAS(p->api, redirect_generation)) {
		le = &p->lcache[dnsp_lkey(o, &ckey)];
		gen = p->api->redirect_generation();
		now = dnsp_mono_ns();
		if (le->l && le->gen == gen && now - le->born < DNSP_LCACHE_NS &&
		    dnsp_same_addr(&le->client, &ckey) && dnsp_same_addr(&le->server, &o->server)) {
			p->lcache_hits++;
			o->ep_id = le->l->conn.client_endpoint;
			o->rules = dpr_ref(le->rules);
			o->rule_ref = le->rule_ref;
			dnsp_lookup_ref(le->l);
			o->cookie = le->l;
			return 0;
		}
		p->lcache_misses++;
	}
	if (!BW_API_HAS(p->api, redirect_lookup) || !(l = calloc(1, sizeof(*l)))) {
		p->unknown_origin++;
		return -ENOENT;
	}
	l->refs = 1;
	l->api = p->api;
	l->conn.size = sizeof(l->conn);
	rc = p->api->redirect_lookup(p->ctx, proto, (const struct sockaddr *)&o->client,
				     (const struct sockaddr *)&o->server, &l->conn);
	if (rc < 0) {
		free(l);
		p->unknown_origin++;
		return rc;
	}
	o->ep_id = l->conn.client_endpoint;
	o->rules = l->conn.rules ? dnsp_rules(p, l->conn.rules) : NULL;
	o->rule_ref = l->conn.rules ? dnsp_first_ref(l->conn.rules) : 0;
	o->cookie = l;
	if (le && l->conn.generation == gen) {
		dnsp_lent_clear(le);
		le->client = ckey;
		le->server = o->server;
		le->l = l;
		dnsp_lookup_ref(l);
		le->rules = dpr_ref(o->rules);
		le->rule_ref = o->rule_ref;
		le->gen = gen;
		le->born = now;
	}
	return 0;
}

/* ---- UDP answers from the server's address ----------------------------------- */

static int dnsp_same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return !memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			       &((const struct sockaddr_in *)b)->sin_addr, 4) &&
		       ((const struct sockaddr_in *)a)->sin_port ==
			       ((const struct sockaddr_in *)b)->sin_port;
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)b)->sin6_addr, 16) &&
	       ((const struct sockaddr_in6 *)a)->sin6_port ==
		       ((const struct sockaddr_in6 *)b)->sin6_port;
}

/* A transparent socket bound to the server's address and port (cached). */
static int dnsp_reply_fd(struct dnsp *p, const struct sockaddr_storage *server)
{
	struct dnsp_reply_sock *slot = &p->reply[0];
	int fd, one = 1, v6 = server->ss_family == AF_INET6;

	for (size_t i = 0; i < DNSP_MAX_REPLY_SOCKS; i++) {
		if (p->reply[i].fd > 0 && dnsp_same_addr(&p->reply[i].addr, server)) {
			p->reply[i].used = ++p->reply_clock;
			return p->reply[i].fd;
		}
		if (p->reply[i].fd <= 0 || p->reply[i].used < slot->used ||
		    (slot->fd > 0 && p->reply[i].fd <= 0))
			slot = &p->reply[i];
	}
	fd = socket(server->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_TRANSPARENT : IP_TRANSPARENT,
		       &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)server,
		 v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	if (slot->fd > 0)
		close(slot->fd);
	slot->fd = fd;
	slot->addr = *server;
	slot->used = ++p->reply_clock;
	return fd;
}

static int dnsp_udp_reply(void *arg, const struct sockaddr_storage *server,
			  const struct sockaddr_storage *client, const uint8_t *buf,
			  size_t len)
{
	struct dnsp *p = arg;
	int fd = dnsp_reply_fd(p, server);

	if (fd < 0 ||
	    sendto(fd, buf, len, 0, (const struct sockaddr *)client,
		   client->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						 : sizeof(struct sockaddr_in)) < 0) {
		p->reply_errors++;
		return fd < 0 ? fd : -errno;
	}
	return 0;
}

/* ---- listeners ------------------------------------------------------------------ */

static void dnsp_udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dnsp *p = arg;
	uint8_t buf[DPM_MAX_QUERY + 1];

	for (int n = 0; n < 64; n++) { /* a batch per wake-up */
		struct dpe_origin o;
		long len;

		memset(&o, 0, sizeof(o));
		len = p->api->redirect_recvmsg(fd, buf, sizeof(buf), &o.client, &o.server);
		if (len < 0)
			return;
		dnsp_origin(p, 17, &o);
		dpe_udp_query(p->engine, buf, (size_t)len, &o);
		dpr_unref(o.rules);
		dnsp_lookup_unref(o.cookie);
	}
}

static void dnsp_tcp_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct dnsp *p = arg;

	for (int n = 0; n < 64; n++) {
		struct dpe_origin o;
		socklen_t sl = sizeof(o.client), dl = sizeof(o.server);
		int fd;

		memset(&o, 0, sizeof(o));
		fd = accept4(lfd, (struct sockaddr *)&o.client, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (getsockname(fd, (struct sockaddr *)&o.server, &dl) < 0) {
			close(fd);
			continue;
		}
		dnsp_origin(p, 6, &o);
		dpe_tcp_accept(p->engine, fd, &o);
		dpr_unref(o.rules);
		dnsp_lookup_unref(o.cookie);
	}
}

/* The class "dns" socket of the redirect service for (family, type). */
static int dnsp_listen(struct dnsp *p, int v6, int type)
{
	uint16_t bound = 0;
	int fd = p->api->redirect_listen(p->ctx, "dns", type == SOCK_DGRAM ? 17 : 6,
					 v6 ? AF_INET6 : AF_INET, (uint16_t)p->conf.port, &bound);

	if (fd >= 0 && bound != p->conf.port)
		dnsp_log(p, BW_LOG_WARNING, "listening on port %u, not %" PRId64,
			 (unsigned)bound, p->conf.port);
	return fd;
}

static void dnsp_close_listeners(struct dnsp *p)
{
	for (int i = 0; i < 2; i++) {
		if (p->udp_ev[i])
			event_free(p->udp_ev[i]);
		if (p->tcp_ev[i])
			event_free(p->tcp_ev[i]);
		if (p->udp_fd[i] > 0)
			close(p->udp_fd[i]);
		if (p->tcp_fd[i] > 0)
			close(p->tcp_fd[i]);
		p->udp_ev[i] = p->tcp_ev[i] = NULL;
		p->udp_fd[i] = p->tcp_fd[i] = -1;
	}
	for (size_t i = 0; i < DNSP_MAX_REPLY_SOCKS; i++)
		if (p->reply[i].fd > 0) {
			close(p->reply[i].fd);
			p->reply[i].fd = 0;
		}
}

static int dnsp_open_listeners(struct dnsp *p)
{
	struct event_base *base = p->api->event_base(p->ctx);

	for (int v6 = 0; v6 < 2; v6++) {
		int u = dnsp_listen(p, v6, SOCK_DGRAM), t;

		if (u < 0) {
			if (v6 && (u == -EAFNOSUPPORT || u == -EADDRNOTAVAIL))
				continue; /* no IPv6 on this node */
			dnsp_log(p, BW_LOG_ERR, "port: cannot listen on UDP %s port %" PRId64 ": %s",
				 v6 ? "[::]" : "0.0.0.0", p->conf.port, strerror(-u));
			return u;
		}
		p->udp_fd[v6] = u;
		t = dnsp_listen(p, v6, SOCK_STREAM);
		if (t < 0) {
			dnsp_log(p, BW_LOG_ERR, "port: cannot listen on TCP %s port %" PRId64 ": %s",
				 v6 ? "[::]" : "0.0.0.0", p->conf.port, strerror(-t));
			return t;
		}
		p->tcp_fd[v6] = t;
		p->udp_ev[v6] = event_new(base, u, EV_READ | EV_PERSIST, dnsp_udp_cb, p);
		p->tcp_ev[v6] = event_new(base, t, EV_READ | EV_PERSIST, dnsp_tcp_cb, p);
		if (!p->udp_ev[v6] || !p->tcp_ev[v6] || event_add(p->udp_ev[v6], NULL) < 0 ||
		    event_add(p->tcp_ev[v6], NULL) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* ---- metrics ----------------------------------------------------------------------- */

static void dnsp_collect(bw_metrics_out *out, void *arg)
{
	static const char *const verdicts[DPE_NVERDICTS] = { "allowed", "denied", "limited" };
	struct dnsp *p = arg;
	const struct bw_core_api *api = p->api;
	const char *inst = api->instance_name(p->ctx);
	struct dpe_stats st;
	uint64_t cum = 0;

	dpe_stats(p->engine, &st);
	api->metrics_printf(out, "# HELP bulwark_dns_proxy_queries_total Queries the DNS proxy received, by transport and outcome (limited: over max_inflight, answered REFUSED).\n"
			    "# TYPE bulwark_dns_proxy_queries_total counter\n");
	for (int t = 0; t < 2; t++)
		for (int v = 0; v < DPE_NVERDICTS; v++)
			api->metrics_printf(out,
					    "bulwark_dns_proxy_queries_total{instance=\"%s\",protocol=\"%s\",outcome=\"%s\"} %" PRIu64 "\n",
					    inst, t ? "tcp" : "udp", verdicts[v], st.queries[t][v]);
	api->metrics_printf(out, "# HELP bulwark_dns_proxy_bad_messages_total Messages the proxy could not use, by reason (dropped or answered FORMERR).\n"
			    "# TYPE bulwark_dns_proxy_bad_messages_total counter\n");
	for (int r = 1; r < DPM_NERRORS; r++)
		api->metrics_printf(out,
				    "bulwark_dns_proxy_bad_messages_total{instance=\"%s\",reason=\"%s\"} %" PRIu64 "\n",
				    inst, dpm_error_name((enum dpm_error)r), st.bad[r]);
#define C(name, help, val)                                                          \
	api->metrics_printf(out, "# HELP " name " " help "\n# TYPE " name " counter\n" name \
			    "{instance=\"%s\"} %" PRIu64 "\n", inst, (uint64_t)(val))
	C("bulwark_dns_proxy_answers_total", "Answers relayed from servers.", st.answers);
	C("bulwark_dns_proxy_truncated_total", "Relayed answers with TC set (the client retries over TCP).", st.truncated);
	C("bulwark_dns_proxy_upstream_timeouts_total", "Queries answered SERVFAIL because the server did not answer in time.", st.timeouts);
	C("bulwark_dns_proxy_upstream_errors_total", "Queries answered SERVFAIL because the server could not be reached.", st.upstream_errors);
	C("bulwark_dns_proxy_hook_denied_total", "Queries a decision hook (Lua on_dns) denied.", st.hook_denied);
	C("bulwark_dns_proxy_upstream_sockets_total", "UDP sockets opened towards servers (each carries up to 64 queries, for up to 2 s).", st.upstream_sockets);
	C("bulwark_dns_proxy_tcp_refused_total", "TCP connections closed at once (max_tcp_connections).", st.tcp_refused);
	C("bulwark_dns_proxy_unplaced_total", "Lookups whose endpoint or rules the redirect service did not know (answered as denied).", p->unknown_origin);
	C("bulwark_dns_proxy_reply_errors_total", "UDP answers that could not be sent to the workload.", p->reply_errors);
	C("bulwark_dns_proxy_origin_cache_hits_total", "UDP queries whose endpoint and rules came from a recent lookup of the same client and server.", p->lcache_hits);
	C("bulwark_dns_proxy_origin_cache_misses_total", "UDP queries that asked the redirect service.", p->lcache_misses);
#undef C
	api->metrics_printf(out, "# HELP bulwark_dns_proxy_inflight Queries waiting for a server.\n"
			    "# TYPE bulwark_dns_proxy_inflight gauge\n"
			    "bulwark_dns_proxy_inflight{instance=\"%s\"} %" PRIu64 "\n"
			    "# HELP bulwark_dns_proxy_tcp_connections Open DNS-over-TCP connections.\n"
			    "# TYPE bulwark_dns_proxy_tcp_connections gauge\n"
			    "bulwark_dns_proxy_tcp_connections{instance=\"%s\"} %" PRIu64 "\n",
			    inst, st.inflight, inst, st.tcp_conns);
	api->metrics_printf(out, "# HELP bulwark_dns_proxy_latency_seconds Time from a query's arrival to its answer's release (forwarded queries).\n"
			    "# TYPE bulwark_dns_proxy_latency_seconds histogram\n");
	for (int b = 0; b < 11; b++) {
		cum += st.latency_bucket[b];
		api->metrics_printf(out,
				    "bulwark_dns_proxy_latency_seconds_bucket{instance=\"%s\",le=\"%g\"} %" PRIu64 "\n",
				    inst, dpe_latency_bounds[b], cum);
	}
	api->metrics_printf(out,
			    "bulwark_dns_proxy_latency_seconds_bucket{instance=\"%s\",le=\"+Inf\"} %" PRIu64 "\n"
			    "bulwark_dns_proxy_latency_seconds_sum{instance=\"%s\"} %.9f\n"
			    "bulwark_dns_proxy_latency_seconds_count{instance=\"%s\"} %" PRIu64 "\n",
			    inst, st.latency_count, inst, st.latency_sum, inst, st.latency_count);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static void dnsp_free(struct dnsp *p)
{
	if (!p)
		return;
	dnsp_close_listeners(p);
	dpe_free(p->engine);
	dnsp_lcache_clear(p);
	free(p->lcache);
	for (size_t i = 0; i < p->nrules; i++) {
		free(p->rule_text[i]);
		dpr_unref(p->rule_set[i]);
	}
	free(p);
}

static int dnsp_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf)
{
	struct dnsp *p;
	struct dpe_conf ec;
	struct dpe_ops ops;
	int rc;

	if (!BW_API_HAS(api, dns_publish) || !BW_API_HAS(api, flow_publish) ||
	    !BW_API_HAS(api, redirect_listen) || !BW_API_HAS(api, redirect_lookup)) {
		api->log(ctx, BW_LOG_ERR, "this daemon has no DNS proxy support (module ABI 1.2 needed)");
		return -ENOTSUP;
	}
	dnsp_api = api;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->api = api;
	p->ctx = ctx;
	p->conf = *(const struct dnsp_conf *)conf;
	for (int i = 0; i < 2; i++)
		p->udp_fd[i] = p->tcp_fd[i] = -1;
	p->lcache = calloc(DNSP_LCACHE, sizeof(*p->lcache)); /* NULL: no cache */
	dnsp_engine_conf(&p->conf, &ec);
	memset(&ops, 0, sizeof(ops));
	ops.udp_reply = dnsp_udp_reply;
	ops.upstream = dnsp_upstream;
	ops.upstream_key = dnsp_upstream_key;
	ops.cookie_ref = dnsp_lookup_ref;
	ops.cookie_unref = dnsp_lookup_unref;
	ops.arg = p;
	p->engine = dpe_new(api->event_base(ctx), api, ctx, &ec, &ops);
	if (!p->engine) {
		free(p);
		return -ENOMEM;
	}
	rc = dnsp_open_listeners(p);
	if (rc < 0) {
		dnsp_free(p);
		return rc;
	}
	rc = api->metrics_register(ctx, dnsp_collect, p, NULL);
	if (rc < 0) {
		dnsp_free(p);
		return rc;
	}
	api->set_data(ctx, p);
	dnsp_log(p, BW_LOG_INFO, "listening on port %" PRId64 " (UDP and TCP, transparent)",
		 p->conf.port);
	return 0;
}

static int dnsp_reload(bw_module_ctx *ctx, const void *new_conf)
{
	struct dnsp *p = dnsp_api ? dnsp_api->get_data(ctx) : NULL;
	const struct dnsp_conf *nc = new_conf;
	struct dpe_conf ec;

	if (!p)
		return -EINVAL;
	if (nc->port != p->conf.port)
		return -ENOTSUP;
	p->conf = *nc;
	dnsp_engine_conf(&p->conf, &ec);
	dpe_set_conf(p->engine, &ec);
	return 0;
}

/* The loop stops: close the sockets (the datapath then lets DNS through). */
static void dnsp_stop(bw_module_ctx *ctx)
{
	struct dnsp *p = dnsp_api ? dnsp_api->get_data(ctx) : NULL;

	if (p) {
		dnsp_close_listeners(p);
		dnsp_lcache_clear(p);
	}
}

static void dnsp_fini(bw_module_ctx *ctx)
{
	struct dnsp *p = dnsp_api ? dnsp_api->get_data(ctx) : NULL;

	if (!p)
		return;
	dnsp_api->set_data(ctx, NULL);
	dnsp_free(p);
}

BW_MODULE_DEFINE(.name = "dnsproxy", .version = "1.0",
		 .description = "transparent DNS proxy: DNS rules, FQDN learning, L7 DNS flows",
		 .conf_keys = dnsp_keys, .conf_size = sizeof(struct dnsp_conf),
		 .init = dnsp_init, .reload = dnsp_reload, .stop = dnsp_stop,
		 .fini = dnsp_fini);
