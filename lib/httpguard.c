/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/httpguard.c - connection cap, request deadline and accept back-off
 * for an evhttp server (lib/httpguard.h).
 *
 * How connections are seen: evhttp asks the bevcb for each accepted
 * connection's bufferevent. The guard creates it without
 * BEV_OPT_CLOSE_ON_FREE (so evhttp closes the socket itself when it frees
 * the connection, libevent 2.1's evhttp_connection_free) and keeps one
 * reference: when evhttp frees the connection, bufferevent_free() clears
 * its callbacks but the reference keeps the object, so the guard sees an
 * evhttp connection end as "callbacks gone" on its next tick, drops its
 * reference and counts the connection closed. A connection to close (its
 * deadline passed, or over the cap) gets shutdown(2): evhttp reads the end
 * and frees it as any closed connection.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* memmem */
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "lib/httpguard.h"

#define HG_TICK_MS 250
#define HG_BACKOFF_MIN_MS 100
#define HG_BACKOFF_MAX_MS 2000
#define HG_MAX_LISTENERS 4

struct hg_conn {
	struct bw_httpguard *g;
	struct bufferevent *bev;
	uint64_t deadline_ms; /* 0: none (a handler or a stream has the request) */
	int kill;             /* close at the next tick */
	int rewriting;        /* inside the output rewrite (no recursion) */
};

struct bw_httpguard {
	struct event_base *base;
	struct evhttp *http;
	char what[32];
	unsigned max_conns, timeout_s;
	void (*log)(void *arg, int level, const char *msg);
	void *arg;
	struct hg_conn **c;
	size_t n, cap;
	int json_errors;
	struct evconnlistener *lev[HG_MAX_LISTENERS];
	size_t nlev;
	struct event *tick;
	struct event *resume;
	unsigned backoff_ms;
	int paused_cap, paused_err;
	struct bw_httpguard_stats st;
};

static uint64_t hg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

__attribute__((format(printf, 3, 4))) static void hg_log(struct bw_httpguard *g, int level,
							 const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!g->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	g->log(g->arg, level, msg);
}

static void hg_listeners(struct bw_httpguard *g, int on)
{
	for (size_t i = 0; i < g->nlev; i++) {
		if (on)
			evconnlistener_enable(g->lev[i]);
		else
			evconnlistener_disable(g->lev[i]);
	}
	g->st.paused = !on;
}

static void hg_tick_arm(struct bw_httpguard *g, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (g->tick && (!evtimer_pending(g->tick, NULL) || ms == 0))
		evtimer_add(g->tick, &tv);
}

/*
 * evhttp's own error pages (a request it could not read: 400, too large:
 * 413, a method it does not take: 501) are HTML. With json_errors the
 * page, complete in the connection's output buffer before it is written,
 * is replaced by the same status with {"error": "..."} as the JSON
 * answers of the server's handlers.
 */
static void hg_out_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	static const char head[] = "<HTML><HEAD>\n<TITLE>", tail[] = "</BODY></HTML>\n";
	struct hg_conn *c = arg;
	size_t len = evbuffer_get_length(buf), hl = sizeof(head) - 1, tl = sizeof(tail) - 1;
	const char *p, *body, *sp;
	int code, major, minor;
	char reason[64], json[256];
	const char *why;

	if (c->rewriting || !info->n_added || len < 32 || len > 2048)
		return;
	p = (const char *)evbuffer_pullup(buf, -1);
	if (!p || strncmp(p, "HTTP/1.", 7))
		return;
	body = memmem(p, len, "\r\n\r\n", 4);
	if (!body)
		return;
	body += 4;
	if ((size_t)(p + len - body) < hl + tl || memcmp(body, head, hl) ||
	    memcmp(p + len - tl, tail, tl))
		return;
	if (sscanf(p, "HTTP/%d.%d %d", &major, &minor, &code) != 3)
		return;
	sp = memchr(p + 12, ' ', (size_t)(body - p - 12));
	snprintf(reason, sizeof(reason), "%.*s", sp ? (int)strcspn(sp + 1, "\r") : 0,
		 sp ? sp + 1 : "");
	why = code == 413 ? "the request is too large"
	      : code == 501 ? "this method is not implemented"
	      : code == 400 ? "the request could not be read (a malformed request line, header or body)"
			    : "the request could not be served";
	snprintf(json, sizeof(json), "{\"error\": \"%d %s: %s\"}\n", code, reason, why);
	c->rewriting = 1;
	evbuffer_drain(buf, len);
	evbuffer_add_printf(buf,
			    "HTTP/%d.%d %d %s\r\nContent-Type: application/json\r\n"
			    "Connection: close\r\nContent-Length: %zu\r\n\r\n%s",
			    major, minor, code, reason, strlen(json), json);
	c->rewriting = 0;
}

/* Close what is due, forget what evhttp let go of; then the cap again. */
static void hg_sweep(struct bw_httpguard *g)
{
	uint64_t now = hg_now_ms();
	size_t i = 0;

	while (i < g->n) {
		struct hg_conn *c = g->c[i];
		bufferevent_event_cb ecb = NULL;
		bufferevent_data_cb rcb = NULL, wcb = NULL;
		void *cbarg = NULL;

		/*
		 * evhttp set the callbacks right after the bevcb returned, in
		 * the same call; a sweep always runs later: no callbacks now
		 * means bufferevent_free(). The socket is still open (closed
		 * on free, with the last reference: this one).
		 */
		bufferevent_getcb(c->bev, &rcb, &wcb, &ecb, &cbarg);
		if (!ecb && !rcb) { /* evhttp freed the connection */
			evbuffer_remove_cb(bufferevent_get_output(c->bev), hg_out_cb, c);
			bufferevent_decref(c->bev);
			free(c);
			g->c[i] = g->c[--g->n];
			g->st.open = g->n;
			continue;
		}
		if (c->kill || (c->deadline_ms && now >= c->deadline_ms)) {
			evutil_socket_t fd = bufferevent_getfd(c->bev);

			if (!c->kill)
				g->st.timed_out++;
			c->kill = 0;
			c->deadline_ms = 0;
			if (fd >= 0)
				shutdown(fd, SHUT_RDWR); /* evhttp reads the end, frees it */
		}
		i++;
	}
	if (g->paused_cap && g->n < g->max_conns) {
		g->paused_cap = 0;
		if (!g->paused_err)
			hg_listeners(g, 1);
	}
}

static void hg_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bw_httpguard *g = arg;

	hg_sweep(g);
	if (g->n)
		hg_tick_arm(g, HG_TICK_MS);
}

/* evhttp's bufferevent for a new connection: counted and watched. */
static struct bufferevent *hg_bevcb(struct event_base *base, void *arg)
{
	struct bw_httpguard *g = arg;
	/*
	 * Closed on free, not by evhttp: this guard keeps a reference, so
	 * the socket stays open until the sweep lets the bufferevent go. Had
	 * evhttp closed it, its number could be reused by another socket (a
	 * proxy's upstream) while this bufferevent's read event, still
	 * registered under that number, took the new socket's data.
	 */
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	struct hg_conn *c;

	if (!bev)
		return NULL;
	hg_sweep(g);
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 16;
		struct hg_conn **v = realloc(g->c, cap * sizeof(*v));

		if (!v)
			return bev; /* not tracked: evhttp's own limits only */
		g->c = v;
		g->cap = cap;
	}
	if (!(c = calloc(1, sizeof(*c))))
		return bev;
	bufferevent_incref(bev);
	c->g = g;
	c->bev = bev;
	c->deadline_ms = hg_now_ms() + (uint64_t)g->timeout_s * 1000u;
	if (g->json_errors)
		evbuffer_add_cb(bufferevent_get_output(bev), hg_out_cb, c);
	g->st.accepted++;
	if (g->backoff_ms) {
		hg_log(g, 5, "%s: accepting connections again", g->what);
		g->backoff_ms = 0;
	}
	if (g->n >= g->max_conns) {
		/* accepted in the same burst as the cap was reached */
		c->kill = 1;
		g->st.over_cap++;
		hg_tick_arm(g, 0);
	}
	g->c[g->n++] = c;
	g->st.open = g->n;
	if (g->n >= g->max_conns && !g->paused_cap) {
		g->paused_cap = 1;
		hg_listeners(g, 0);
		hg_log(g, 4, "%s: %u connections open, the most it takes: not accepting more until one closes",
		       g->what, g->max_conns);
	}
	hg_tick_arm(g, HG_TICK_MS);
	return bev;
}

static void hg_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bw_httpguard *g = arg;

	g->paused_err = 0;
	if (!g->paused_cap)
		hg_listeners(g, 1);
}

/*
 * Every guard, to find the one of a listener: a listener's callbacks get
 * its argument, which evhttp set to the server.
 */
static struct bw_httpguard *hg_all[16];

static struct bw_httpguard *hg_of_listener(const struct evconnlistener *lev)
{
	for (size_t i = 0; i < sizeof(hg_all) / sizeof(hg_all[0]); i++)
		for (size_t j = 0; hg_all[i] && j < hg_all[i]->nlev; j++)
			if (hg_all[i]->lev[j] == lev)
				return hg_all[i];
	return NULL;
}

static void hg_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct bw_httpguard *g = hg_of_listener(lev);
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv;

	if (!g)
		return;

	g->st.accept_errors++;
	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
		hg_log(g, 3, "%s: accept: %s", g->what, strerror(err));
		return;
	}
	/* out of resources: pause instead of spinning on a readable socket */
	if (!g->backoff_ms) {
		g->backoff_ms = HG_BACKOFF_MIN_MS;
		hg_log(g, 4, "%s: cannot accept connections: %s; pausing (retried after %u ms, up to every %u ms)",
		       g->what, strerror(err), HG_BACKOFF_MIN_MS, HG_BACKOFF_MAX_MS);
	} else if (g->backoff_ms < HG_BACKOFF_MAX_MS) {
		g->backoff_ms *= 2;
		if (g->backoff_ms > HG_BACKOFF_MAX_MS)
			g->backoff_ms = HG_BACKOFF_MAX_MS;
	}
	g->paused_err = 1;
	hg_listeners(g, 0);
	tv.tv_sec = g->backoff_ms / 1000;
	tv.tv_usec = (g->backoff_ms % 1000) * 1000;
	evtimer_add(g->resume, &tv);
}

struct bw_httpguard *bw_httpguard_new(struct event_base *base, struct evhttp *http,
				      const struct bw_httpguard_limits *lim, const char *what,
				      void (*log)(void *arg, int level, const char *msg), void *arg)
{
	struct bw_httpguard *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->base = base;
	g->http = http;
	snprintf(g->what, sizeof(g->what), "%s", what ? what : "http");
	g->max_conns = lim && lim->max_conns ? lim->max_conns : BW_HTTPGUARD_MAX_CONNS;
	g->timeout_s = lim && lim->request_timeout ? lim->request_timeout
						   : BW_HTTPGUARD_REQUEST_TIMEOUT;
	g->log = log;
	g->arg = arg;
	g->json_errors = lim ? lim->json_errors : 0;
	g->tick = evtimer_new(base, hg_tick_cb, g);
	g->resume = evtimer_new(base, hg_resume_cb, g);
	if (!g->tick || !g->resume) {
		bw_httpguard_free(g);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(hg_all) / sizeof(hg_all[0]); i++)
		if (!hg_all[i]) {
			hg_all[i] = g;
			break;
		}
	evhttp_set_bevcb(http, hg_bevcb, g);
	return g;
}

int bw_httpguard_attach(struct bw_httpguard *g, struct evhttp_bound_socket *bs)
{
	struct evconnlistener *lev = bs ? evhttp_bound_socket_get_listener(bs) : NULL;

	if (!lev)
		return -EINVAL;
	if (g->nlev == HG_MAX_LISTENERS)
		return -ENOSPC;
	if (!hg_of_listener(lev) && g->nlev == 0) {
		size_t i;

		for (i = 0; i < sizeof(hg_all) / sizeof(hg_all[0]) && hg_all[i] != g; i++)
			;
		if (i == sizeof(hg_all) / sizeof(hg_all[0]))
			return -ENOSPC; /* more guards than the table holds */
	}
	g->lev[g->nlev++] = lev;
	evconnlistener_set_error_cb(lev, hg_accept_error_cb);
	return 0;
}

static struct hg_conn *hg_find(struct bw_httpguard *g, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = req ? evhttp_request_get_connection(req) : NULL;
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;

	for (size_t i = 0; bev && i < g->n; i++)
		if (g->c[i]->bev == bev)
			return g->c[i];
	return NULL;
}

void bw_httpguard_request(struct bw_httpguard *g, struct evhttp_request *req)
{
	struct hg_conn *c = g ? hg_find(g, req) : NULL;

	if (c)
		c->deadline_ms = 0;
}

void bw_httpguard_replied(struct bw_httpguard *g, struct evhttp_request *req)
{
	struct hg_conn *c = g ? hg_find(g, req) : NULL;

	if (c && !c->kill)
		c->deadline_ms = hg_now_ms() + (uint64_t)g->timeout_s * 1000u;
}

static void hg_close_cb(struct evhttp_request *req, void *arg)
{
	struct hg_conn *c = hg_find(arg, req);

	if (c) {
		c->kill = 1;
		hg_tick_arm(c->g, 0);
	}
}

void bw_httpguard_close_after(struct bw_httpguard *g, struct evhttp_request *req)
{
	if (g && req)
		evhttp_request_set_on_complete_cb(req, hg_close_cb, g);
}

void bw_httpguard_stats(const struct bw_httpguard *g, struct bw_httpguard_stats *st)
{
	if (g)
		*st = g->st;
	else
		memset(st, 0, sizeof(*st));
}

void bw_httpguard_free(struct bw_httpguard *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < sizeof(hg_all) / sizeof(hg_all[0]); i++)
		if (hg_all[i] == g)
			hg_all[i] = NULL;
	if (g->tick)
		event_free(g->tick);
	if (g->resume)
		event_free(g->resume);
	for (size_t i = 0; i < g->n; i++) {
		bufferevent_decref(g->c[i]->bev);
		free(g->c[i]);
	}
	free(g->c);
	free(g);
}
