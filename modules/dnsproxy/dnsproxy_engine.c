/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/dnsproxy/dnsproxy_engine.c - lookups in flight (see
 * dnsproxy_engine.h).
 *
 * UDP: forwarded queries go out through connected sockets towards the
 * server, shared by lookups whose sockets would be alike (ops.upstream_key:
 * the same server, direction and, towards a local endpoint, client
 * address); a socket carries at most DPE_USOCK_USES queries and takes new
 * ones for at most DPE_USOCK_AGE_MS, so source ports keep changing, and
 * each query has a fresh random ID no other query waiting on its socket
 * has; answers are matched by ID and question. Each query has a timer.
 * TCP: a client
 * connection gets one connection to its server, opened with the first
 * query it forwards; queries are written to it as they come (pipelined)
 * and answers are matched by ID, in whatever order the server sends them.
 * At most DPE_TCP_PIPELINE queries of one connection wait at a time (the
 * connection is not read further until one completes).
 *
 * Everything runs on the daemon's loop thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <bulwark/flow.h>
#include <bulwark/hook.h>

#include "dnsproxy_engine.h"

#define DPE_TCP_PIPELINE 64
#define DPE_MAX_MSG 65535

const double dpe_latency_bounds[11] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5,
};

struct dpe_conn;
struct dpe_usock;

struct dpe_req {
	struct dpe *e;
	struct dpe_conn *conn;        /* TCP client connection, NULL for UDP */
	struct dpe_req *prev, *next;  /* every request in flight */
	struct dpe_req *cnext;        /* the connection's pending list */
	struct dpe_origin o;          /* rules referenced */
	struct dpm_query q;
	uint8_t *buf;                 /* the query as forwarded (our ID) */
	size_t len;
	uint16_t client_id, up_id;
	uint32_t rule_ref;            /* the rule that allowed it */
	uint64_t t0;                  /* arrival, CLOCK_MONOTONIC ns */
	int up_fd;                    /* UDP: a socket of its own towards the server */
	struct dpe_usock *usock;      /* UDP: or a shared one */
	struct dpe_req *uprev, *unext; /* the shared socket's queries */
	struct event *up_ev;
	struct event *timer;
	uint64_t hook_ticket;         /* a decision hook is asked (hook_pending) */
	int hook_pending;
};

struct dpe_conn {
	struct dpe *e;
	struct bufferevent *cl;       /* the workload's connection */
	struct bufferevent *up;       /* towards the server, NULL until needed */
	struct dpe_origin o;
	struct dpe_req *pending;
	size_t npending;
	int eof;                      /* the workload closed its side */
	struct dpe_conn *prev, *next;
};

/* A UDP socket towards a server, shared by queries (ops.upstream_key). */
struct dpe_usock {
	struct dpe *e;
	int fd;
	struct event *ev;
	uint8_t key[DPE_USOCK_KEY];
	size_t klen;
	unsigned uses;                /* queries sent through it */
	unsigned ninflight;
	uint64_t born;                /* CLOCK_MONOTONIC ns */
	int open;                     /* takes new queries */
	int busy;                     /* in its read callback: do not free */
	struct dpe_req *inflight;
	struct dpe_usock *prev, *next;
};

struct dpe {
	struct event_base *base;
	const struct bw_core_api *api;
	bw_module_ctx *ctx;
	struct dpe_conf conf;
	struct dpe_ops ops;
	struct dpe_req *reqs;
	struct dpe_conn *conns;
	struct dpe_usock *usocks;
	struct dpe_stats st;
	uint8_t rnd[256];
	size_t rnd_left;
};

/* ---- small helpers ---------------------------------------------------------- */

static uint64_t dpe_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t dpe_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint16_t dpe_random16(struct dpe *e)
{
	uint16_t v;

	if (e->rnd_left < 2) {
		if (getrandom(e->rnd, sizeof(e->rnd), 0) != (ssize_t)sizeof(e->rnd)) {
			/* no entropy source: still unpredictable enough per process */
			for (size_t i = 0; i < sizeof(e->rnd); i++)
				e->rnd[i] = (uint8_t)(dpe_mono_ns() >> (i % 8));
		}
		e->rnd_left = sizeof(e->rnd);
	}
	memcpy(&v, e->rnd + sizeof(e->rnd) - e->rnd_left, 2);
	e->rnd_left -= 2;
	return v;
}

static int dpe_family(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? 6 : 4;
}

/* address bytes (IPv4 in the first 4) and port (host order) */
static void dpe_addr(const struct sockaddr_storage *ss, uint8_t out[16], uint16_t *port)
{
	memset(out, 0, 16);
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		memcpy(out, &s6->sin6_addr, 16);
		*port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		memcpy(out, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
	}
}

static socklen_t dpe_sslen(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					 : sizeof(struct sockaddr_in);
}

static void dpe_latency(struct dpe *e, uint64_t t0)
{
	double s = (double)(dpe_mono_ns() - t0) / 1e9;
	size_t b = 0;

	while (b < 11 && s > dpe_latency_bounds[b])
		b++;
	e->st.latency_bucket[b]++;
	e->st.latency_count++;
	e->st.latency_sum += s;
}

/* ---- flows -------------------------------------------------------------------- */

static void dpe_flow_ext(struct dpe *e, const struct dpe_origin *o, int tcp,
			 enum bw_flow_verdict verdict, int response,
			 const struct dpm_query *q, const struct dpm_answer *a,
			 uint8_t rcode, uint32_t rule_ref, const char *ext)
{
	struct bw_flow f;
	struct bw_flow_l7 l7;
	struct bw_flow_dns dns;
	char qt[16], ipbuf[DPM_MAX_IPS][48], tbuf[DPM_MAX_TYPES][16];
	const char *qtypes[1], *ips[DPM_MAX_IPS], *cnames[DPM_MAX_CNAMES],
		*rrtypes[DPM_MAX_TYPES];
	const struct sockaddr_storage *src = response ? &o->server : &o->client;
	const struct sockaddr_storage *dst = response ? &o->client : &o->server;

	if (!e->conf.flows || !BW_API_HAS(e->api, flow_publish))
		return;
	memset(&f, 0, sizeof(f));
	memset(&l7, 0, sizeof(l7));
	memset(&dns, 0, sizeof(dns));
	f.size = sizeof(f);
	f.verdict = verdict;
	f.type = BW_FLOW_TYPE_L7;
	f.event_type = BW_FLOW_EVENT_L7;
	f.ip_version = (uint8_t)dpe_family(src);
	dpe_addr(src, f.src_addr, &f.src_port);
	dpe_addr(dst, f.dst_addr, &f.dst_port);
	f.protocol = tcp ? 6 : 17;
	if (response)
		f.destination.id = o->ep_id;
	else
		f.source.id = o->ep_id;
	f.traffic_direction = BW_FLOW_TRAFFIC_EGRESS;
	f.is_reply = response;
	f.rule_ref = rule_ref;
	f.extensions_json = ext;
	l7.size = sizeof(l7);
	l7.type = response ? BW_FLOW_L7_RESPONSE : BW_FLOW_L7_REQUEST;
	l7.dns = &dns;
	f.l7 = &l7;
	dns.query = q->qname;
	qtypes[0] = dpm_type_name(q->qtype, qt, sizeof(qt));
	dns.qtypes = qtypes;
	dns.n_qtypes = 1;
	dns.observation_source = "proxy";
	if (response) {
		dns.rcode = rcode;
		if (a) {
			for (size_t i = 0; i < a->n_ips; i++) {
				inet_ntop(a->ips[i].family == 4 ? AF_INET : AF_INET6,
					  a->ips[i].addr, ipbuf[i], sizeof(ipbuf[i]));
				ips[i] = ipbuf[i];
			}
			dns.ips = ips;
			dns.n_ips = (uint32_t)a->n_ips;
			dns.ttl = a->ttl;
			for (size_t i = 0; i < a->n_cnames; i++)
				cnames[i] = a->cnames[i];
			dns.cnames = cnames;
			dns.n_cnames = (uint32_t)a->n_cnames;
			for (size_t i = 0; i < a->n_rrtypes; i++)
				rrtypes[i] = dpm_type_name(a->rrtypes[i], tbuf[i], sizeof(tbuf[i]));
			dns.rrtypes = rrtypes;
			dns.n_rrtypes = (uint32_t)a->n_rrtypes;
		}
	}
	e->api->flow_publish(e->ctx, &f);
}

static void dpe_flow(struct dpe *e, const struct dpe_origin *o, int tcp,
		     enum bw_flow_verdict verdict, int response,
		     const struct dpm_query *q, const struct dpm_answer *a,
		     uint8_t rcode, uint32_t rule_ref)
{
	dpe_flow_ext(e, o, tcp, verdict, response, q, a, rcode, rule_ref, NULL);
}

/* ---- requests -------------------------------------------------------------------- */

static void dpe_origin_copy(struct dpe *e, struct dpe_origin *d,
			    const struct dpe_origin *s)
{
	*d = *s;
	dpr_ref(d->rules);
	if (d->cookie && e->ops.cookie_ref)
		e->ops.cookie_ref(d->cookie);
}

static void dpe_origin_clear(struct dpe *e, struct dpe_origin *o)
{
	dpr_unref(o->rules);
	o->rules = NULL;
	if (o->cookie && e->ops.cookie_unref)
		e->ops.cookie_unref(o->cookie);
	o->cookie = NULL;
}

/* The socket towards the server: the module's (redirect service), or ours. */
static int dpe_upstream_fd(struct dpe *e, const struct dpe_origin *o, int protocol)
{
	int fd;

	if (e->ops.upstream)
		return e->ops.upstream(e->ops.arg, o, protocol);
	fd = socket(o->server.ss_family,
		    (protocol == 6 ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&o->server, dpe_sslen(&o->server)) < 0 &&
	    errno != EINPROGRESS) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

static void dpe_usock_free(struct dpe_usock *u)
{
	struct dpe *e = u->e;

	if (u->prev)
		u->prev->next = u->next;
	else if (e->usocks == u)
		e->usocks = u->next;
	if (u->next)
		u->next->prev = u->prev;
	if (u->ev)
		event_free(u->ev);
	if (u->fd >= 0)
		close(u->fd);
	free(u);
}

/* r no longer waits on its shared socket; a retired socket goes when idle. */
static void dpe_usock_unlink(struct dpe_req *r)
{
	struct dpe_usock *u = r->usock;

	if (r->uprev)
		r->uprev->unext = r->unext;
	else if (u->inflight == r)
		u->inflight = r->unext;
	if (r->unext)
		r->unext->uprev = r->uprev;
	r->usock = NULL;
	r->uprev = r->unext = NULL;
	u->ninflight--;
	if (!u->open && !u->ninflight && !u->busy)
		dpe_usock_free(u);
}

static void dpe_req_free(struct dpe_req *r)
{
	struct dpe *e = r->e;

	if (r->prev)
		r->prev->next = r->next;
	else if (e->reqs == r)
		e->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	if (r->conn) {
		struct dpe_req **pp;

		for (pp = &r->conn->pending; *pp; pp = &(*pp)->cnext)
			if (*pp == r) {
				*pp = r->cnext;
				r->conn->npending--;
				break;
			}
	}
	if (r->hook_pending && BW_API_HAS(e->api, hook_cancel))
		e->api->hook_cancel(e->ctx, r->hook_ticket);
	if (r->up_ev)
		event_free(r->up_ev);
	if (r->timer)
		event_free(r->timer);
	if (r->up_fd >= 0)
		close(r->up_fd);
	if (r->usock)
		dpe_usock_unlink(r);
	if (r->buf)
		e->st.inflight--;
	dpe_origin_clear(e, &r->o);
	free(r->buf);
	free(r);
}

static void dpe_conn_maybe_done(struct dpe_conn *c);
static void dpe_conn_resume(struct dpe_conn *c);

/* Write a message to the workload (UDP from the server's address, or TCP). */
static void dpe_send(struct dpe *e, struct dpe_conn *c, const struct dpe_origin *o,
		     const uint8_t *buf, size_t len)
{
	if (c) {
		uint8_t hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };

		if (c->cl) {
			bufferevent_write(c->cl, hdr, 2);
			bufferevent_write(c->cl, buf, len);
		}
		return;
	}
	if (e->ops.udp_reply)
		e->ops.udp_reply(e->ops.arg, &o->server, &o->client, buf, len);
}

/* Our own answer (rcode) to the query in q/query; the workload's id. */
static void dpe_answer_own(struct dpe *e, struct dpe_conn *c, const struct dpe_origin *o,
			   const uint8_t *query, size_t qlen, const struct dpm_query *q,
			   uint16_t client_id, uint8_t rcode)
{
	uint8_t out[DPM_MAX_QUERY + 16];
	size_t n = dpm_make_reply(query, qlen, q, rcode, out, sizeof(out));

	if (!n)
		return;
	dpm_set_id(out, client_id);
	dpe_send(e, c, o, out, n);
}

/* The request is over: release its slot; a TCP connection may read again. */
static void dpe_req_done(struct dpe_req *r)
{
	struct dpe_conn *c = r->conn;

	dpe_req_free(r);
	if (c) {
		dpe_conn_resume(c);
		dpe_conn_maybe_done(c);
	}
}

/* The server failed us (timeout, refused, reset): SERVFAIL to the workload. */
static void dpe_req_fail(struct dpe_req *r, int timeout)
{
	struct dpe *e = r->e;

	if (timeout)
		e->st.timeouts++;
	else
		e->st.upstream_errors++;
	dpe_answer_own(e, r->conn, &r->o, r->buf, r->len, &r->q, r->client_id, DPM_SERVFAIL);
	dpe_flow(e, &r->o, r->conn != NULL, BW_FLOW_VERDICT_FORWARDED, 1, &r->q, NULL,
		 DPM_SERVFAIL, r->rule_ref);
	dpe_latency(e, r->t0);
	dpe_req_done(r);
}

/*
 * An answer from the server for r (our ID): check it is an answer to the
 * question, let the core learn from it (the datapath is updated when
 * dns_publish returns), then release it with the workload's ID. Returns 0,
 * or -1 when it is not r's answer (ignored; r keeps waiting).
 */
static int dpe_req_answer(struct dpe_req *r, uint8_t *buf, size_t len)
{
	struct dpe *e = r->e;
	uint64_t arrived = dpe_real_ns();
	struct dpm_answer a;
	enum dpm_error err;

	if (len < DPM_HEADER || dpm_get_id(buf) != r->up_id)
		return -1;
	err = dpm_parse_answer(buf, len, &r->q, &a);
	if (err == DPM_MISMATCH) {
		e->st.bad[err]++;
		return -1;
	}
	if (err != DPM_OK) {
		e->st.bad[err]++;
		dpe_req_fail(r, 0);
		return 0;
	}
	e->st.answers++;
	if (a.tc)
		e->st.truncated++;
	if (BW_API_HAS(e->api, dns_publish)) {
		struct bw_dns_answer da;
		struct bw_dns_ip ips[DPM_MAX_IPS];
		const char *cn[DPM_MAX_CNAMES];

		memset(&da, 0, sizeof(da));
		da.size = sizeof(da);
		da.time_ns = arrived; /* the FQDN module measures from here */
		da.ep_id = r->o.ep_id;
		da.client_family = dpe_family(&r->o.client);
		{
			uint16_t port;

			dpe_addr(&r->o.client, da.client_addr, &port);
		}
		da.qname = r->q.qname;
		da.qtype = r->q.qtype;
		da.rcode = a.rcode;
		da.truncated = (uint8_t)a.tc;
		for (size_t i = 0; i < a.n_ips; i++) {
			ips[i].family = a.ips[i].family;
			memcpy(ips[i].addr, a.ips[i].addr, 16);
		}
		da.ips = ips;
		da.n_ips = a.n_ips;
		da.ttl = a.ttl;
		for (size_t i = 0; i < a.n_cnames; i++)
			cn[i] = a.cnames[i];
		da.cnames = cn;
		da.n_cnames = a.n_cnames;
		e->api->dns_publish(e->ctx, &da);
	}
	dpm_set_id(buf, r->client_id);
	dpe_send(e, r->conn, &r->o, buf, len);
	dpe_latency(e, r->t0);
	/* the record after the answer is out: it costs no latency */
	dpe_flow(e, &r->o, r->conn != NULL, BW_FLOW_VERDICT_FORWARDED, 1, &r->q, &a,
		 a.rcode, r->rule_ref);
	dpe_req_done(r);
	return 0;
}

static void dpe_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	dpe_req_fail(arg, 1);
}

static void dpe_udp_up_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dpe_req *r = arg;
	uint8_t buf[DPE_MAX_MSG];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			dpe_req_fail(r, 0); /* ECONNREFUSED: nothing listens there */
			return;
		}
		if (dpe_req_answer(r, buf, (size_t)n) == 0)
			return; /* r is gone */
	}
}

static int dpe_req_timer(struct dpe_req *r)
{
	struct timeval tv = { r->e->conf.upstream_timeout_ms / 1000,
			      (r->e->conf.upstream_timeout_ms % 1000) * 1000 };

	r->timer = evtimer_new(r->e->base, dpe_timer_cb, r);
	if (!r->timer || evtimer_add(r->timer, &tv) < 0)
		return -ENOMEM;
	return 0;
}

/* Answers on a shared socket: each goes to the query waiting with its ID. */
static void dpe_usock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dpe_usock *u = arg;
	uint8_t buf[DPE_MAX_MSG];

	u->busy = 1;
	for (int n = 0; n < 64; n++) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct dpe_req *r;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			/* ECONNREFUSED: nothing listens there; every query on it fails */
			u->open = 0;
			while (u->inflight)
				dpe_req_fail(u->inflight, 0);
			break;
		}
		if ((size_t)len < DPM_HEADER)
			continue;
		for (r = u->inflight; r; r = r->unext)
			if (r->up_id == dpm_get_id(buf))
				break;
		if (r)
			dpe_req_answer(r, buf, (size_t)len);
	}
	u->busy = 0;
	if (!u->open && !u->ninflight)
		dpe_usock_free(u);
}

/*
 * A shared socket for r (opened when none takes queries), NULL when r's
 * lookup gets a socket of its own; *err is set on failure.
 */
static struct dpe_usock *dpe_usock_get(struct dpe_req *r, int *err)
{
	struct dpe *e = r->e;
	struct dpe_usock *u, *next;
	uint8_t key[DPE_USOCK_KEY];
	size_t klen = 0;
	uint64_t now;
	int fd;

	*err = 0;
	if (e->ops.upstream_key) {
		klen = e->ops.upstream_key(e->ops.arg, &r->o, key, sizeof(key));
	} else if (!e->ops.upstream) {
		klen = dpe_sslen(&r->o.server);
		memcpy(key, &r->o.server, klen);
	}
	if (!klen || klen > sizeof(key))
		return NULL;
	now = dpe_mono_ns();
	for (u = e->usocks; u; u = next) {
		next = u->next;
		if (!u->open)
			continue;
		if (u->uses >= DPE_USOCK_USES ||
		    now - u->born > (uint64_t)DPE_USOCK_AGE_MS * 1000000u) {
			u->open = 0;
			if (!u->ninflight && !u->busy)
				dpe_usock_free(u);
			continue;
		}
		if (u->klen == klen && !memcmp(u->key, key, klen))
			return u;
	}
	fd = dpe_upstream_fd(e, &r->o, 17);
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (!u || !(u->ev = event_new(e->base, fd, EV_READ | EV_PERSIST, dpe_usock_cb, u)) ||
	    event_add(u->ev, NULL) < 0) {
		if (u && u->ev)
			event_free(u->ev);
		free(u);
		close(fd);
		*err = -ENOMEM;
		return NULL;
	}
	e->st.upstream_sockets++;
	u->e = e;
	u->fd = fd;
	memcpy(u->key, key, klen);
	u->klen = klen;
	u->born = now;
	u->open = 1;
	u->next = e->usocks;
	if (e->usocks)
		e->usocks->prev = u;
	e->usocks = u;
	return u;
}

static int dpe_udp_forward(struct dpe_req *r)
{
	struct dpe *e = r->e;
	struct dpe_usock *u;
	int fd, err, clash;

	u = dpe_usock_get(r, &err);
	if (err < 0)
		return err;
	if (u) {
		/* an ID no other query waiting on this socket has */
		do {
			r->up_id = dpe_random16(e);
			clash = 0;
			for (struct dpe_req *p = u->inflight; p && !clash; p = p->unext)
				clash = p->up_id == r->up_id;
		} while (clash);
		dpm_set_id(r->buf, r->up_id);
		if (send(u->fd, r->buf, r->len, 0) < 0) {
			err = -errno;
			u->open = 0; /* a pending error (ECONNREFUSED): start afresh */
			if (!u->ninflight && !u->busy)
				dpe_usock_free(u);
			return err;
		}
		u->uses++;
		u->ninflight++;
		r->usock = u;
		r->unext = u->inflight;
		if (u->inflight)
			u->inflight->uprev = r;
		u->inflight = r;
		return dpe_req_timer(r);
	}
	fd = dpe_upstream_fd(e, &r->o, 17);
	if (fd < 0)
		return fd;
	e->st.upstream_sockets++;
	r->up_fd = fd;
	if (send(fd, r->buf, r->len, 0) < 0)
		return -errno;
	r->up_ev = event_new(e->base, fd, EV_READ | EV_PERSIST, dpe_udp_up_cb, r);
	if (!r->up_ev || event_add(r->up_ev, NULL) < 0)
		return -ENOMEM;
	return dpe_req_timer(r);
}

static int dpe_tcp_forward(struct dpe_req *r);

/* Forward an allowed request to its server. */
static void dpe_req_go(struct dpe_req *r)
{
	int rc;

	rc = r->conn ? dpe_tcp_forward(r) : dpe_udp_forward(r);
	/* the REQUEST record once the query is on its way (before any answer) */
	dpe_flow(r->e, &r->o, r->conn != NULL, BW_FLOW_VERDICT_FORWARDED, 0, &r->q, NULL,
		 0, r->rule_ref);
	if (rc < 0)
		dpe_req_fail(r, 0);
}

/* A decision hook (Lua on_dns) answered: go ahead, or deny like policy. */
static void dpe_hook_done(const struct bw_hook_result *res, void *arg)
{
	struct dpe_req *r = arg;
	struct dpe *e = r->e;
	int tcp = r->conn != NULL;

	r->hook_pending = 0;
	if (res && res->verdict == BW_HOOK_ALLOW) {
		dpe_req_go(r);
		return;
	}
	e->st.queries[tcp][DPE_ALLOWED]--;
	e->st.queries[tcp][DPE_DENIED]++;
	e->st.hook_denied++;
	dpe_flow_ext(e, &r->o, tcp, BW_FLOW_VERDICT_DROPPED, 0, &r->q, NULL, 0, r->rule_ref,
		     res ? res->extensions_json : NULL);
	dpe_answer_own(e, r->conn, &r->o, r->buf, r->len, &r->q, r->client_id,
		       (uint8_t)e->conf.deny_rcode);
	dpe_req_done(r);
}

/*
 * Ask the rule scripts (on_dns) about a request policy allowed. Returns
 * 1 when the answer comes later (dpe_hook_done), 0 to go ahead now.
 */
static int dpe_hook(struct dpe_req *r)
{
	struct dpe *e = r->e;
	struct bw_hook_dns h;
	char cip[64], sip[64];
	uint8_t a[16];
	uint16_t cport, sport;
	int rc;

	if (!BW_API_HAS(e->api, hook_dns) || !BW_API_HAS(e->api, hook_active) ||
	    !(e->api->hook_active(e->ctx) & BW_HOOK_F_DNS))
		return 0;
	memset(&h, 0, sizeof(h));
	h.size = sizeof(h);
	h.name = r->q.qname;
	h.qtype = r->q.qtype;
	dpe_addr(&r->o.client, a, &cport);
	inet_ntop(r->o.client.ss_family, a, cip, sizeof(cip));
	dpe_addr(&r->o.server, a, &sport);
	inet_ntop(r->o.server.ss_family, a, sip, sizeof(sip));
	h.source.ip = cip;
	h.source.port = cport;
	h.destination.ip = sip;
	h.destination.port = sport;
	rc = e->api->hook_dns(e->ctx, &h, dpe_hook_done, r, &r->hook_ticket);
	if (rc == BW_HOOK_NONE)
		return 0;
	if (rc == BW_HOOK_PENDING) {
		r->hook_pending = 1;
		return 1;
	}
	dpe_hook_done(NULL, r); /* an error is a deny */
	return 1;
}

/*
 * One query from a workload. c is its TCP connection (NULL for UDP).
 * Returns 0, or -errno when it was dropped (counted).
 */
static int dpe_query(struct dpe *e, struct dpe_conn *c, const uint8_t *buf, size_t len,
		     const struct dpe_origin *o)
{
	struct dpm_query q;
	enum dpm_error err = dpm_parse_query(buf, len, &q);
	int tcp = c != NULL;
	uint32_t ref = 0;
	struct dpe_req *r;

	if (err != DPM_OK) {
		e->st.bad[err]++;
		if (err == DPM_SHORT || err == DPM_OVERSIZED)
			return -EMSGSIZE;
		/* the header can be read: say FORMERR */
		dpe_answer_own(e, c, o, buf, len, NULL, dpm_get_id(buf), DPM_FORMERR);
		return -EBADMSG;
	}
	if (!dpr_allows(o->rules, q.qname, &ref)) {
		e->st.queries[tcp][DPE_DENIED]++;
		dpe_flow(e, o, tcp, BW_FLOW_VERDICT_DROPPED, 0, &q, NULL, 0, o->rule_ref);
		dpe_answer_own(e, c, o, buf, len, &q, q.id, (uint8_t)e->conf.deny_rcode);
		return 0;
	}
	if (e->conf.max_inflight > 0 && e->st.inflight >= (uint64_t)e->conf.max_inflight) {
		e->st.queries[tcp][DPE_LIMITED]++;
		dpe_flow(e, o, tcp, BW_FLOW_VERDICT_ERROR, 0, &q, NULL, 0, ref ? ref : o->rule_ref);
		dpe_answer_own(e, c, o, buf, len, &q, q.id, DPM_REFUSED);
		return 0;
	}
	e->st.queries[tcp][DPE_ALLOWED]++;
	r = calloc(1, sizeof(*r));
	if (!r || !(r->buf = malloc(len))) {
		free(r);
		dpe_answer_own(e, c, o, buf, len, &q, q.id, DPM_SERVFAIL);
		return -ENOMEM;
	}
	e->st.inflight++;
	r->e = e;
	r->conn = c;
	r->up_fd = -1;
	r->t0 = dpe_mono_ns();
	dpe_origin_copy(e, &r->o, o);
	r->q = q;
	r->len = len;
	memcpy(r->buf, buf, len);
	r->client_id = q.id;
	r->rule_ref = ref ? ref : o->rule_ref;
	r->next = e->reqs;
	if (e->reqs)
		e->reqs->prev = r;
	e->reqs = r;
	if (c) {
		/* an ID no other query of this connection uses */
		int clash;

		do {
			r->up_id = dpe_random16(e);
			clash = 0;
			for (struct dpe_req *p = c->pending; p && !clash; p = p->cnext)
				clash = p->up_id == r->up_id;
		} while (clash);
		r->cnext = c->pending;
		c->pending = r;
		c->npending++;
	} else {
		r->up_id = dpe_random16(e);
	}
	dpm_set_id(r->buf, r->up_id);
	if (!dpe_hook(r))
		dpe_req_go(r);
	return 0;
}

int dpe_udp_query(struct dpe *e, const uint8_t *buf, size_t len,
		  const struct dpe_origin *o)
{
	return dpe_query(e, NULL, buf, len, o);
}

/* ---- TCP ------------------------------------------------------------------------- */

static void dpe_conn_free(struct dpe_conn *c)
{
	struct dpe *e = c->e;

	while (c->pending) {
		struct dpe_req *r = c->pending;

		r->conn = NULL; /* do not touch the connection while freeing */
		c->pending = r->cnext;
		dpe_req_free(r);
	}
	if (c->cl)
		bufferevent_free(c->cl);
	if (c->up)
		bufferevent_free(c->up);
	if (c->prev)
		c->prev->next = c->next;
	else if (e->conns == c)
		e->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	e->st.tcp_conns--;
	dpe_origin_clear(e, &c->o);
	free(c);
}

/* After the workload closed its side: gone once every answer is out. */
static void dpe_conn_maybe_done(struct dpe_conn *c)
{
	if (c->eof && !c->npending &&
	    (!c->cl || evbuffer_get_length(bufferevent_get_output(c->cl)) == 0))
		dpe_conn_free(c);
}

static void dpe_conn_resume(struct dpe_conn *c)
{
	if (c->cl && !c->eof && c->npending < DPE_TCP_PIPELINE)
		bufferevent_enable(c->cl, EV_READ);
}

static void dpe_up_read_cb(struct bufferevent *bev, void *arg)
{
	struct dpe_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t hdr[2], buf[DPE_MAX_MSG];

	while (evbuffer_get_length(in) >= 2) {
		size_t len;

		evbuffer_copyout(in, hdr, 2);
		len = (size_t)hdr[0] << 8 | hdr[1];
		if (evbuffer_get_length(in) < 2 + len)
			return;
		evbuffer_drain(in, 2);
		evbuffer_remove(in, buf, len);
		if (len < DPM_HEADER)
			continue;
		for (struct dpe_req *r = c->pending; r; r = r->cnext)
			if (r->up_id == dpm_get_id(buf)) {
				/* may free c (after the last answer to a closed client) */
				int last = c->eof && c->npending == 1;

				dpe_req_answer(r, buf, len);
				if (last)
					return;
				break;
			}
	}
}

static void dpe_up_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct dpe_conn *c = arg;

	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	/* the server went away: every query waiting on it fails */
	bufferevent_free(c->up);
	c->up = NULL;
	while (c->pending) {
		struct dpe_req *r = c->pending;
		int last = c->eof && c->npending == 1;

		dpe_req_fail(r, 0);
		if (last)
			return; /* c is gone */
	}
}

static int dpe_tcp_forward(struct dpe_req *r)
{
	struct dpe_conn *c = r->conn;
	uint8_t hdr[2] = { (uint8_t)(r->len >> 8), (uint8_t)r->len };

	if (!c->up) {
		/* a socket whose connect is in progress: bufferevent writes once
		 * it is connected and reports a failed connect as an error */
		int fd = dpe_upstream_fd(r->e, &c->o, 6);

		if (fd < 0)
			return fd;
		c->up = bufferevent_socket_new(r->e->base, fd, BEV_OPT_CLOSE_ON_FREE);
		if (!c->up) {
			close(fd);
			return -ENOMEM;
		}
		bufferevent_setcb(c->up, dpe_up_read_cb, NULL, dpe_up_event_cb, c);
		bufferevent_enable(c->up, EV_READ | EV_WRITE);
	}
	if (bufferevent_write(c->up, hdr, 2) < 0 || bufferevent_write(c->up, r->buf, r->len) < 0)
		return -ENOMEM;
	return dpe_req_timer(r);
}

static void dpe_cl_read_cb(struct bufferevent *bev, void *arg)
{
	struct dpe_conn *c = arg;
	struct dpe *e = c->e;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t hdr[2], buf[DPE_MAX_MSG];

	while (evbuffer_get_length(in) >= 2) {
		size_t len;

		if (c->npending >= DPE_TCP_PIPELINE) {
			bufferevent_disable(bev, EV_READ); /* resumed by dpe_conn_resume */
			return;
		}
		evbuffer_copyout(in, hdr, 2);
		len = (size_t)hdr[0] << 8 | hdr[1];
		if (len > DPM_MAX_QUERY) {
			/* oversized: we will not read that much; drop the connection */
			e->st.bad[DPM_OVERSIZED]++;
			c->eof = 1;
			evbuffer_drain(in, evbuffer_get_length(in));
			bufferevent_disable(bev, EV_READ);
			dpe_conn_maybe_done(c);
			return;
		}
		if (evbuffer_get_length(in) < 2 + len)
			return;
		evbuffer_drain(in, 2);
		evbuffer_remove(in, buf, len);
		dpe_query(e, c, buf, len, &c->o);
	}
}

static void dpe_cl_write_cb(struct bufferevent *bev, void *arg)
{
	dpe_conn_maybe_done(arg);
}

static void dpe_cl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct dpe_conn *c = arg;

	if (what & BEV_EVENT_TIMEOUT) {
		if (c->npending) { /* waiting for the server is not idling */
			bufferevent_enable(bev, EV_READ);
			return;
		}
		dpe_conn_free(c);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		dpe_conn_free(c);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		c->eof = 1;
		bufferevent_disable(bev, EV_READ);
		dpe_conn_maybe_done(c);
	}
}

int dpe_tcp_accept(struct dpe *e, int fd, const struct dpe_origin *o)
{
	struct dpe_conn *c;
	struct timeval tv = { e->conf.tcp_idle_ms / 1000, (e->conf.tcp_idle_ms % 1000) * 1000 };

	if (e->conf.max_tcp_conns > 0 && e->st.tcp_conns >= (uint64_t)e->conf.max_tcp_conns) {
		e->st.tcp_refused++;
		close(fd);
		return -EMFILE;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->e = e;
	c->cl = bufferevent_socket_new(e->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->cl) {
		close(fd);
		free(c);
		return -ENOMEM;
	}
	dpe_origin_copy(e, &c->o, o);
	bufferevent_setcb(c->cl, dpe_cl_read_cb, dpe_cl_write_cb, dpe_cl_event_cb, c);
	bufferevent_set_timeouts(c->cl, &tv, NULL);
	bufferevent_enable(c->cl, EV_READ);
	c->next = e->conns;
	if (e->conns)
		e->conns->prev = c;
	e->conns = c;
	e->st.tcp_conns++;
	return 0;
}

/* ---- lifetime ------------------------------------------------------------------------ */

struct dpe *dpe_new(struct event_base *base, const struct bw_core_api *api,
		    bw_module_ctx *ctx, const struct dpe_conf *conf,
		    const struct dpe_ops *ops)
{
	struct dpe *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->base = base;
	e->api = api;
	e->ctx = ctx;
	e->conf = *conf;
	if (ops)
		e->ops = *ops;
	return e;
}

void dpe_set_conf(struct dpe *e, const struct dpe_conf *conf)
{
	e->conf = *conf;
}

void dpe_free(struct dpe *e)
{
	if (!e)
		return;
	while (e->conns)
		dpe_conn_free(e->conns);
	for (struct dpe_usock *u = e->usocks; u; u = u->next)
		u->open = 0; /* each goes with its last query */
	while (e->reqs) {
		struct dpe_req *r = e->reqs;

		/* UDP queries waiting: SERVFAIL rather than silence */
		dpe_answer_own(e, NULL, &r->o, r->buf, r->len, &r->q, r->client_id,
			       DPM_SERVFAIL);
		dpe_req_free(r);
	}
	while (e->usocks)
		dpe_usock_free(e->usocks);
	free(e);
}

void dpe_stats(const struct dpe *e, struct dpe_stats *st)
{
	*st = e->st;
}
