/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/httpguard.h - limits for an evhttp server that faces clients it
 * does not trust to behave: the control socket (core/api.c) and the
 * metrics port (modules/prometheus).
 *
 * libevent 2.1's evhttp has an idle timeout that restarts with every byte
 * and no connection limit, and its listener retries a failing accept()
 * (EMFILE) at once, forever. The guard adds, per evhttp server:
 *
 *  - a connection cap: at max_conns open connections the listener stops
 *    accepting (the kernel's backlog queues the next ones) until one
 *    closes; connections accepted beyond it in one burst are closed;
 *  - a request deadline: a connection must deliver a whole request
 *    (headers and body) within request_timeout seconds of being accepted
 *    or of its previous reply, else it is closed, however slowly it
 *    trickles bytes in (streams being answered are exempt);
 *  - accept back-off: when accept() fails for lack of resources (EMFILE,
 *    ENFILE, ENOBUFS, ENOMEM) the listener pauses, 100 ms doubling up to
 *    2 s, instead of spinning; logged once per episode, with the recovery;
 *  - optionally, JSON instead of evhttp's own HTML error pages (400, 413,
 *    501: requests it could not read).
 *
 * It tracks connections through evhttp_set_bevcb (it creates each
 * connection's bufferevent and keeps a reference, so it can tell when
 * evhttp has let go of it). Everything runs on the server's event loop.
 */
#ifndef BW_LIB_HTTPGUARD_H
#define BW_LIB_HTTPGUARD_H

#include <stdint.h>

struct event_base;
struct evhttp;
struct evhttp_bound_socket;
struct evhttp_request;

struct bw_httpguard_limits {
	unsigned max_conns;       /* 0 = BW_HTTPGUARD_MAX_CONNS */
	unsigned request_timeout; /* seconds; 0 = BW_HTTPGUARD_REQUEST_TIMEOUT */
	int json_errors;          /* evhttp's own HTML error pages become JSON */
};

#define BW_HTTPGUARD_MAX_CONNS 128
#define BW_HTTPGUARD_REQUEST_TIMEOUT 10

struct bw_httpguard_stats {
	uint64_t open;           /* connections open now */
	uint64_t accepted;       /* since start */
	uint64_t over_cap;       /* closed at once: the cap was reached */
	uint64_t timed_out;      /* closed: no whole request in time */
	uint64_t accept_errors;  /* accept() failures (EMFILE, ...) */
	int paused;              /* the listener is paused (cap or back-off) */
};

/*
 * log(arg, level, message): level is a syslog-style number (3 err, 4
 * warning, 5 notice, 6 info); what is a name for messages ("api").
 */
struct bw_httpguard *bw_httpguard_new(struct event_base *base, struct evhttp *http,
				      const struct bw_httpguard_limits *lim, const char *what,
				      void (*log)(void *arg, int level, const char *msg),
				      void *arg);
/* Watch a listener of http (evhttp_bind_socket_with_handle's result). 0 or -errno. */
int bw_httpguard_attach(struct bw_httpguard *g, struct evhttp_bound_socket *bs);
/* A request reached its handler: its connection's deadline stops. */
void bw_httpguard_request(struct bw_httpguard *g, struct evhttp_request *req);
/* Its reply (or stream) is done: the next request's deadline starts. */
void bw_httpguard_replied(struct bw_httpguard *g, struct evhttp_request *req);
/* Close the connection once this request's reply is written (CONNECT:
 * evhttp keeps such a connection open whatever the reply says). */
void bw_httpguard_close_after(struct bw_httpguard *g, struct evhttp_request *req);
void bw_httpguard_stats(const struct bw_httpguard *g, struct bw_httpguard_stats *st);
/* After evhttp_free() of its server (which closes the connections). */
void bw_httpguard_free(struct bw_httpguard *g);

#endif /* BW_LIB_HTTPGUARD_H */
