/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/hubble-observer/hubble_server.c - gRPC over HTTP/2 on the
 * daemon's event loop: listeners, connections, calls.
 *
 * HTTP/2 is nghttp2's (framing, HPACK, flow control, stream states); this
 * file only adds what gRPC puts on top of it (PROTOCOL-HTTP2.md in grpc):
 * a POST to /Service/Method with content-type application/grpc, messages
 * as a 1-byte compressed flag, a 4-byte big-endian length and the protobuf
 * body (protobuf-c's), the status in trailers (grpc-status, grpc-message),
 * or in the only HEADERS frame ("Trailers-Only") when a call fails before
 * any message, and the grpc-timeout deadline.
 *
 * Sockets are libevent bufferevents; TLS is bufferevent_openssl with ALPN
 * "h2". Each call has an output buffer (framed messages) that nghttp2's
 * data provider drains as the client's flow-control window and the
 * socket allow; a handler checks hubble_call_full() before queueing more,
 * so a client that does not read holds at most client_buffer bytes here
 * and in the socket, and costs the loop nothing while it waits.
 *
 * Output is sent from a per-connection deferred event, so a burst of
 * messages (a batch of flows to many followers) becomes a few large
 * writes instead of one write per message.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "hubble.h"
#include "grpc/health/v1/health.pb-c.h"
#include "observer/observer.pb-c.h"
#include "peer/peer.pb-c.h"

#define SRV_MAX_REQUEST (1u << 20)  /* bytes of one request message */
#define SRV_OUT_HIGH (256u << 10)   /* connection output: stop taking from calls */
#define SRV_OUT_LOW (64u << 10)     /* ... resume below this */
#define SRV_WINDOW (1u << 20)       /* our receive window (requests are small) */
#define SRV_NHDR 8

struct hubble_conn;

struct hubble_call {
	struct hubble_conn *conn;
	struct hubble_call *next, *prev;
	int32_t stream_id;
	const struct hubble_method *m;
	unsigned midx;
	struct evbuffer *in;
	struct evbuffer *out;
	char *hdr_name[SRV_NHDR];
	char *hdr_value[SRV_NHDR];
	unsigned nhdr;
	int bad;             /* refused at HEADERS time: ignore its DATA */
	int answered;        /* response HEADERS submitted */
	int live;            /* handler owns it: start() ran, no finish yet */
	int finishing;       /* send trailers once out is empty */
	int trailers;        /* trailers submitted */
	int deferred;        /* the data provider is waiting for data */
	int want_writable;
	enum hubble_code code;
	char *message;
	struct event *deadline;
	uint64_t progress_ms; /* last time the client took output */
	void *data;
};

struct hubble_conn {
	struct hubble_srv *srv;
	struct hubble_conn *next, *prev;
	struct bufferevent *bev;
	nghttp2_session *ng;
	struct hubble_call *calls;
	unsigned ncalls;
	struct event *flush_ev;
	uint64_t stuck_since_ms; /* output at SRV_OUT_HIGH since then, 0 = not */
	int closing;
	int tls;
};

struct hubble_srv {
	struct hubble *h;
	struct evconnlistener *unix_l, *tcp_l;
	SSL_CTX *ssl;
	char *unix_path;
	char address[300];
	struct hubble_conn *conns;
	struct hubble_srv_stats st;
	int stopping;
};

/* ---- the methods ------------------------------------------------------------- */

static const struct hubble_method srv_methods[] = {
	{ "/observer.Observer/GetFlows", "GetFlows",
	  &observer__get_flows_request__descriptor, hubble_getflows_start,
	  hubble_getflows_end, hubble_getflows_writable },
	{ "/observer.Observer/ServerStatus", "ServerStatus",
	  &observer__server_status_request__descriptor,
	  hubble_rpc_server_status, NULL, NULL },
	{ "/observer.Observer/GetNodes", "GetNodes",
	  &observer__get_nodes_request__descriptor, hubble_rpc_get_nodes, NULL,
	  NULL },
	{ "/observer.Observer/GetNamespaces", "GetNamespaces",
	  &observer__get_namespaces_request__descriptor,
	  hubble_rpc_get_namespaces, NULL, NULL },
	{ "/observer.Observer/GetAgentEvents", "GetAgentEvents",
	  &observer__get_agent_events_request__descriptor,
	  hubble_rpc_agent_events, hubble_rpc_open_end, NULL },
	{ "/observer.Observer/GetDebugEvents", "GetDebugEvents",
	  &observer__get_debug_events_request__descriptor,
	  hubble_rpc_debug_events, hubble_rpc_open_end, NULL },
	{ "/grpc.health.v1.Health/Check", "Health.Check",
	  &grpc__health__v1__health_check_request__descriptor,
	  hubble_rpc_health_check, NULL, NULL },
	{ "/grpc.health.v1.Health/Watch", "Health.Watch",
	  &grpc__health__v1__health_check_request__descriptor,
	  hubble_rpc_health_watch, hubble_rpc_open_end, NULL },
	{ "/peer.Peer/Notify", "Peer.Notify", &peer__notify_request__descriptor,
	  hubble_rpc_peer_notify, hubble_rpc_open_end, NULL },
};
#define SRV_NMETHODS (sizeof(srv_methods) / sizeof(srv_methods[0]))

const struct hubble_method *
hubble_methods(size_t *n)
{
	*n = SRV_NMETHODS;
	return srv_methods;
}

/* ---- small helpers ------------------------------------------------------------- */

static uint64_t
srv_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void srv_conn_free(struct hubble_conn *cn);
static void srv_conn_flush2(struct hubble_conn *cn);
static void srv_trailers_only(struct hubble_call *c, enum hubble_code code,
			      const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void srv_conn_schedule(struct hubble_conn *cn);

/* grpc-message: percent-encode what is not printable ASCII, and '%'. */
static char *
srv_pct_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s), o = 0;
	char *out = malloc(3 * n + 1);

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch > 0x7e || ch == '%') {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o] = '\0';
	return out;
}

#define SRV_NV(name, value)                                              \
	{ (uint8_t *)(name), (uint8_t *)(value), sizeof(name) - 1,        \
	  strlen(value), NGHTTP2_NV_FLAG_NONE }

/* ---- calls ------------------------------------------------------------------------- */

void
hubble_call_set_data(struct hubble_call *c, void *data)
{
	c->data = data;
}

void *
hubble_call_data(const struct hubble_call *c)
{
	return c->data;
}

const char *
hubble_call_header(const struct hubble_call *c, const char *name)
{
	for (unsigned i = 0; i < c->nhdr; i++)
		if (strcmp(c->hdr_name[i], name) == 0)
			return c->hdr_value[i];
	return NULL;
}

size_t
hubble_call_pending(const struct hubble_call *c)
{
	return c->out != NULL ? evbuffer_get_length(c->out) : 0;
}

int
hubble_call_full(const struct hubble_call *c)
{
	return hubble_call_pending(c) >= (size_t)c->conn->srv->h->conf->client_buffer;
}

uint64_t
hubble_call_stalled_ms(const struct hubble_call *c)
{
	return srv_mono_ms() - c->progress_ms;
}

static void
srv_call_resume(struct hubble_call *c)
{
	if (c->deferred && c->answered && c->conn->ng != NULL) {
		c->deferred = 0;
		nghttp2_session_resume_data(c->conn->ng, c->stream_id);
	}
	srv_conn_schedule(c->conn);
}

int
hubble_call_send_framed(struct hubble_call *c, const uint8_t *buf, size_t len)
{
	if (c == NULL || c->finishing || c->out == NULL)
		return -EPIPE;
	if (evbuffer_add(c->out, buf, len) < 0)
		return -ENOMEM;
	srv_call_resume(c);
	return 0;
}

int
hubble_call_send(struct hubble_call *c, const ProtobufCMessage *msg)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t hdr[5];
	struct evbuffer_iovec v;

	if (c == NULL || c->finishing || c->out == NULL)
		return -EPIPE;
	hdr[0] = 0;
	hdr[1] = (uint8_t)(n >> 24);
	hdr[2] = (uint8_t)(n >> 16);
	hdr[3] = (uint8_t)(n >> 8);
	hdr[4] = (uint8_t)n;
	if (evbuffer_add(c->out, hdr, 5) < 0 ||
	    evbuffer_reserve_space(c->out, n > 0 ? n : 1, &v, 1) < 1)
		return -ENOMEM;
	protobuf_c_message_pack(msg, v.iov_base);
	v.iov_len = n;
	if (evbuffer_commit_space(c->out, &v, 1) < 0)
		return -ENOMEM;
	srv_call_resume(c);
	return 0;
}

static void
srv_call_vfinish(struct hubble_call *c, enum hubble_code code,
		 const char *fmt, va_list ap)
{
	char msg[512];

	if (c->finishing)
		return;
	c->finishing = 1;
	c->live = 0;
	c->code = code;
	if (fmt != NULL) {
		vsnprintf(msg, sizeof(msg), fmt, ap);
		c->message = srv_pct_encode(msg);
	}
	if (code < 17)
		c->conn->srv->st.codes_total[code]++;
	if (c->deadline != NULL)
		event_del(c->deadline);
	srv_call_resume(c);
}

void
hubble_call_finish(struct hubble_call *c, enum hubble_code code,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	srv_call_vfinish(c, code, fmt, ap);
	va_end(ap);
}

void
hubble_call_reset(struct hubble_call *c)
{
	struct hubble_conn *cn = c->conn;

	if (c->finishing)
		return;
	c->finishing = c->trailers = 1;
	c->live = 0;
	if (c->out != NULL)
		evbuffer_drain(c->out, evbuffer_get_length(c->out));
	if (c->deadline != NULL)
		event_del(c->deadline);
	cn->srv->st.codes_total[HUBBLE_RESOURCE_EXHAUSTED]++;
	/* gRPC maps ENHANCE_YOUR_CALM to RESOURCE_EXHAUSTED; RST_STREAM is
	 * not held back by flow control, trailers would be */
	nghttp2_submit_rst_stream(cn->ng, NGHTTP2_FLAG_NONE, c->stream_id,
				  NGHTTP2_ENHANCE_YOUR_CALM);
	srv_conn_schedule(cn);
}

/* Finish from the server's side: tell the handler first. */
static void
srv_call_abort(struct hubble_call *c, enum hubble_code code, const char *fmt, ...)
{
	va_list ap;

	if (c->live) {
		c->live = 0;
		if (c->m != NULL && c->m->end != NULL)
			c->m->end(c);
	}
	va_start(ap, fmt);
	srv_call_vfinish(c, code, fmt, ap);
	va_end(ap);
}

static void
srv_call_free(struct hubble_call *c)
{
	struct hubble_conn *cn = c->conn;

	if (c->live) {
		c->live = 0;
		if (c->m != NULL && c->m->end != NULL)
			c->m->end(c);
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (cn->calls == c)
		cn->calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	cn->ncalls--;
	cn->srv->st.streams--;
	if (c->deadline != NULL)
		event_free(c->deadline);
	if (c->in != NULL)
		evbuffer_free(c->in);
	if (c->out != NULL)
		evbuffer_free(c->out);
	for (unsigned i = 0; i < c->nhdr; i++) {
		free(c->hdr_name[i]);
		free(c->hdr_value[i]);
	}
	free(c->message);
	free(c);
}

static void
srv_call_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct hubble_call *c = arg;

	c->conn->srv->st.deadlines++;
	if (!c->answered)
		srv_trailers_only(c, HUBBLE_DEADLINE_EXCEEDED, "deadline exceeded");
	else
		srv_call_abort(c, HUBBLE_DEADLINE_EXCEEDED, "deadline exceeded");
}

/* The status in the only HEADERS frame of the response. */
static void
srv_trailers_only(struct hubble_call *c, enum hubble_code code, const char *fmt, ...)
{
	char msg[512], status[16];
	char *enc;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	enc = srv_pct_encode(msg);
	snprintf(status, sizeof(status), "%d", (int)code);
	{
		nghttp2_nv nv[] = {
			SRV_NV(":status", "200"),
			SRV_NV("content-type", "application/grpc"),
			SRV_NV("grpc-status", status),
			SRV_NV("grpc-message", enc != NULL ? enc : ""),
		};

		nghttp2_submit_response(c->conn->ng, c->stream_id, nv,
					sizeof(nv) / sizeof(nv[0]), NULL);
	}
	free(enc);
	c->answered = c->trailers = c->finishing = 1;
	c->bad = 1;
	if (code < 17)
		c->conn->srv->st.codes_total[code]++;
	srv_conn_schedule(c->conn);
}

static ssize_t
srv_data_read(nghttp2_session *ng, int32_t sid, uint8_t *buf, size_t length,
	      uint32_t *flags, nghttp2_data_source *src, void *user_data)
{
	struct hubble_call *c = src->ptr;
	size_t have = evbuffer_get_length(c->out);
	size_t half = (size_t)c->conn->srv->h->conf->client_buffer / 2;
	int n;

	if (have > 0) {
		n = evbuffer_remove(c->out, buf, length);
		if (n < 0)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		c->progress_ms = srv_mono_ms();
		c->conn->srv->st.bytes_sent += (uint64_t)n;
		if (c->live && c->m->writable != NULL && have >= half &&
		    have - (size_t)n < half)
			c->want_writable = 1;
		return n;
	}
	if (c->finishing) {
		char status[16];
		nghttp2_nv nv[2];
		size_t nn = 0;

		snprintf(status, sizeof(status), "%d", (int)c->code);
		nv[nn++] = (nghttp2_nv)SRV_NV("grpc-status", status);
		if (c->message != NULL)
			nv[nn++] = (nghttp2_nv)SRV_NV("grpc-message", c->message);
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (nghttp2_submit_trailer(ng, sid, nv, nn) == 0)
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
		c->trailers = 1;
		return 0;
	}
	c->deferred = 1;
	return NGHTTP2_ERR_DEFERRED;
}

/* The request is complete: decode it and hand it to the method. */
static void
srv_call_dispatch(struct hubble_call *c)
{
	struct hubble_srv *srv = c->conn->srv;
	size_t len = evbuffer_get_length(c->in);
	uint8_t *p;
	uint32_t mlen;
	ProtobufCMessage *req;
	nghttp2_data_provider prd;
	nghttp2_nv nv[] = {
		SRV_NV(":status", "200"),
		SRV_NV("content-type", "application/grpc"),
	};

	if (len < 5) {
		srv_trailers_only(c, HUBBLE_INTERNAL,
				  "the request has no message (%zu bytes)", len);
		return;
	}
	p = evbuffer_pullup(c->in, (ssize_t)len);
	mlen = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 8 | p[4];
	if (p[0] != 0) {
		srv_trailers_only(c, HUBBLE_UNIMPLEMENTED,
				  "compressed requests are not supported (send grpc-encoding identity)");
		return;
	}
	if ((size_t)mlen > len - 5) {
		srv_trailers_only(c, HUBBLE_INTERNAL,
				  "the request message is truncated (%u bytes announced, %zu sent)",
				  mlen, len - 5);
		return;
	}
	req = protobuf_c_message_unpack(c->m->req, NULL, mlen, p + 5);
	if (req == NULL) {
		srv_trailers_only(c, HUBBLE_INTERNAL,
				  "grpc: error unmarshalling request: not a valid %s",
				  c->m->req->name);
		return;
	}
	c->out = evbuffer_new();
	if (c->out == NULL) {
		protobuf_c_message_free_unpacked(req, NULL);
		srv_trailers_only(c, HUBBLE_INTERNAL, "out of memory");
		return;
	}
	prd.source.ptr = c;
	prd.read_callback = srv_data_read;
	if (nghttp2_submit_response(c->conn->ng, c->stream_id, nv,
				    sizeof(nv) / sizeof(nv[0]), &prd) != 0) {
		protobuf_c_message_free_unpacked(req, NULL);
		nghttp2_submit_rst_stream(c->conn->ng, NGHTTP2_FLAG_NONE,
					  c->stream_id, NGHTTP2_INTERNAL_ERROR);
		return;
	}
	c->answered = 1;
	c->live = 1;
	c->progress_ms = srv_mono_ms();
	srv->st.calls_total[c->midx]++;
	c->m->start(srv->h, c, req);
	protobuf_c_message_free_unpacked(req, NULL);
	srv_conn_schedule(c->conn);
}

/* HEADERS complete: route, check limits, arm the deadline. */
static void
srv_call_headers(struct hubble_call *c)
{
	struct hubble_srv *srv = c->conn->srv;
	const struct hubble_conf *cf = srv->h->conf;
	const char *path = hubble_call_header(c, ":path");
	const char *method = hubble_call_header(c, ":method");
	const char *ctype = hubble_call_header(c, "content-type");
	const char *tmo = hubble_call_header(c, "grpc-timeout");
	const char *enc = hubble_call_header(c, "grpc-encoding");
	int64_t ms;

	if (method == NULL || strcmp(method, "POST") != 0 || ctype == NULL ||
	    strncmp(ctype, "application/grpc", 16) != 0 ||
	    (ctype[16] != '\0' && ctype[16] != '+' && ctype[16] != ';')) {
		nghttp2_nv nv[] = { SRV_NV(":status", "415") };

		nghttp2_submit_response(c->conn->ng, c->stream_id, nv, 1, NULL);
		c->answered = c->trailers = c->finishing = c->bad = 1;
		return;
	}
	for (size_t i = 0; i < SRV_NMETHODS && path != NULL; i++)
		if (strcmp(path, srv_methods[i].path) == 0) {
			c->m = &srv_methods[i];
			c->midx = (unsigned)i;
		}
	if (c->m == NULL) {
		srv_trailers_only(c, HUBBLE_UNIMPLEMENTED, "unknown method %s",
				  path != NULL ? path : "(none)");
		return;
	}
	if (enc != NULL && strcmp(enc, "identity") != 0) {
		srv_trailers_only(c, HUBBLE_UNIMPLEMENTED,
				  "grpc-encoding %s is not supported (identity only)", enc);
		return;
	}
	if (srv->st.streams > (uint64_t)cf->max_streams) {
		srv->st.streams_refused++;
		srv_trailers_only(c, HUBBLE_RESOURCE_EXHAUSTED,
				  "too many concurrent calls (max_streams = %lld)",
				  (long long)cf->max_streams);
		return;
	}
	if (tmo != NULL) {
		struct timeval tv;

		ms = hubble_grpc_timeout_ms(tmo);
		if (ms < 0) {
			srv_trailers_only(c, HUBBLE_INTERNAL,
					  "malformed grpc-timeout '%s'", tmo);
			return;
		}
		c->deadline = evtimer_new(srv->h->base, srv_call_deadline, c);
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		if (c->deadline != NULL)
			evtimer_add(c->deadline, &tv);
	}
	c->in = evbuffer_new();
	if (c->in == NULL)
		srv_trailers_only(c, HUBBLE_INTERNAL, "out of memory");
}

/* ---- nghttp2 callbacks ----------------------------------------------------------------- */

static int
srv_on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame,
		     void *user_data)
{
	struct hubble_conn *cn = user_data;
	struct hubble_call *c;

	if (frame->hd.type != NGHTTP2_HEADERS ||
	    frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	c->conn = cn;
	c->stream_id = frame->hd.stream_id;
	c->next = cn->calls;
	if (cn->calls != NULL)
		cn->calls->prev = c;
	cn->calls = c;
	cn->ncalls++;
	cn->srv->st.streams++;
	nghttp2_session_set_stream_user_data(ng, c->stream_id, c);
	return 0;
}

static int
srv_on_header(nghttp2_session *ng, const nghttp2_frame *frame,
	      const uint8_t *name, size_t namelen, const uint8_t *value,
	      size_t valuelen, uint8_t flags, void *user_data)
{
	struct hubble_call *c;
	static const char *const keep[] = {
		":path", ":method", "content-type", "grpc-timeout",
		"grpc-encoding", "user-agent", "te",
	};

	if (frame->hd.type != NGHTTP2_HEADERS ||
	    frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	c = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
	if (c == NULL || c->nhdr >= SRV_NHDR)
		return 0;
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		if (strlen(keep[i]) != namelen || memcmp(keep[i], name, namelen) != 0)
			continue;
		c->hdr_name[c->nhdr] = strndup((const char *)name, namelen);
		c->hdr_value[c->nhdr] = strndup((const char *)value, valuelen);
		if (c->hdr_name[c->nhdr] == NULL || c->hdr_value[c->nhdr] == NULL) {
			free(c->hdr_name[c->nhdr]);
			free(c->hdr_value[c->nhdr]);
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		}
		c->nhdr++;
		break;
	}
	return 0;
}

static int
srv_on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t sid,
		  const uint8_t *data, size_t len, void *user_data)
{
	struct hubble_call *c = nghttp2_session_get_stream_user_data(ng, sid);

	if (c == NULL || c->bad || c->in == NULL || c->answered)
		return 0;
	if (evbuffer_get_length(c->in) + len > SRV_MAX_REQUEST + 5) {
		srv_trailers_only(c, HUBBLE_RESOURCE_EXHAUSTED,
				  "the request is larger than %u bytes", SRV_MAX_REQUEST);
		return 0;
	}
	evbuffer_add(c->in, data, len);
	return 0;
}

static int
srv_on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame,
		  void *user_data)
{
	struct hubble_call *c;

	if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
		return 0;
	c = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
	if (c == NULL)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS &&
	    frame->headers.cat == NGHTTP2_HCAT_REQUEST)
		srv_call_headers(c);
	if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && !c->bad &&
	    !c->answered && !c->finishing && c->m != NULL)
		srv_call_dispatch(c);
	return 0;
}

static int
srv_on_stream_close(nghttp2_session *ng, int32_t sid, uint32_t error_code,
		    void *user_data)
{
	struct hubble_call *c = nghttp2_session_get_stream_user_data(ng, sid);

	if (c == NULL)
		return 0;
	if (!c->trailers)
		c->conn->srv->st.cancelled++;
	nghttp2_session_set_stream_user_data(ng, sid, NULL);
	srv_call_free(c);
	return 0;
}

/* ---- connections ----------------------------------------------------------------------- */

static void
srv_conn_flush(struct hubble_conn *cn)
{
	if (cn->ng != NULL && cn->bev != NULL &&
	    evbuffer_get_length(bufferevent_get_output(cn->bev)) >= SRV_OUT_HIGH &&
	    cn->stuck_since_ms != 0 &&
	    srv_mono_ms() - cn->stuck_since_ms > (uint64_t)cn->srv->h->conf->stall_timeout) {
		/* the socket itself takes nothing: nothing we send arrives */
		hubble_log(cn->srv->h, BW_LOG_NOTICE,
			   "closing a connection whose client read nothing for %lld ms",
			   (long long)cn->srv->h->conf->stall_timeout);
		srv_conn_free(cn);
		return;
	}
	srv_conn_flush2(cn);
}

static void
srv_conn_flush2(struct hubble_conn *cn)
{
	struct evbuffer *out;
	int rounds = 0, again;

	if (cn->ng == NULL)
		return;
	out = bufferevent_get_output(cn->bev);
	do {
		again = 0;
		while (evbuffer_get_length(out) < SRV_OUT_HIGH) {
			const uint8_t *data;
			ssize_t n = nghttp2_session_mem_send(cn->ng, &data);

			if (n < 0) {
				srv_conn_free(cn);
				return;
			}
			if (n == 0)
				break;
			evbuffer_add(out, data, (size_t)n);
		}
		for (struct hubble_call *c = cn->calls; c != NULL; c = c->next) {
			if (!c->want_writable)
				continue;
			c->want_writable = 0;
			if (c->live && c->m->writable != NULL) {
				c->m->writable(c);
				again = 1;
			}
		}
	} while (again && ++rounds < 4);
	if (again)
		srv_conn_schedule(cn);
	if (evbuffer_get_length(out) < SRV_OUT_HIGH)
		cn->stuck_since_ms = 0;
	else if (cn->stuck_since_ms == 0)
		cn->stuck_since_ms = srv_mono_ms();
	if (!nghttp2_session_want_read(cn->ng) &&
	    !nghttp2_session_want_write(cn->ng) && evbuffer_get_length(out) == 0)
		srv_conn_free(cn);
}

static void
srv_conn_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	srv_conn_flush(arg);
}

static void
srv_conn_schedule(struct hubble_conn *cn)
{
	if (cn->flush_ev != NULL)
		event_active(cn->flush_ev, EV_TIMEOUT, 0);
}

static void
srv_conn_read(struct bufferevent *bev, void *arg)
{
	struct hubble_conn *cn = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	unsigned char *data = evbuffer_pullup(in, -1);
	ssize_t n;

	n = nghttp2_session_mem_recv(cn->ng, data, len);
	if (n < 0) {
		hubble_log(cn->srv->h, BW_LOG_DEBUG, "HTTP/2 error from a client: %s",
			   nghttp2_strerror((int)n));
		srv_conn_free(cn);
		return;
	}
	evbuffer_drain(in, (size_t)n);
	srv_conn_flush(cn);
}

static void
srv_conn_write(struct bufferevent *bev, void *arg)
{
	srv_conn_flush(arg);
}

static void
srv_conn_event(struct bufferevent *bev, short events, void *arg)
{
	struct hubble_conn *cn = arg;

	if (events & BEV_EVENT_CONNECTED)
		return;
	if (events & BEV_EVENT_ERROR) {
		unsigned long e = bufferevent_get_openssl_error(bev);

		if (e != 0)
			hubble_log(cn->srv->h, BW_LOG_INFO, "TLS: %s",
				   ERR_reason_error_string(e));
	}
	if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		srv_conn_free(cn);
}

static void
srv_conn_free(struct hubble_conn *cn)
{
	struct hubble_srv *srv = cn->srv;

	/* calls first: their handlers may still look at the connection */
	while (cn->calls != NULL) {
		struct hubble_call *c = cn->calls;

		if (!c->trailers)
			srv->st.cancelled++;
		if (cn->ng != NULL)
			nghttp2_session_set_stream_user_data(cn->ng, c->stream_id, NULL);
		srv_call_free(c);
	}
	if (cn->ng != NULL)
		nghttp2_session_del(cn->ng);
	cn->ng = NULL;
	if (cn->flush_ev != NULL)
		event_free(cn->flush_ev);
	if (cn->bev != NULL)
		bufferevent_free(cn->bev);
	if (cn->prev != NULL)
		cn->prev->next = cn->next;
	else if (srv->conns == cn)
		srv->conns = cn->next;
	if (cn->next != NULL)
		cn->next->prev = cn->prev;
	srv->st.connections--;
	free(cn);
}

static int
srv_conn_session(struct hubble_conn *cn)
{
	const struct hubble_conf *cf = cn->srv->h->conf;
	nghttp2_session_callbacks *cbs;
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS,
		  (uint32_t)cf->max_streams_per_connection },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, SRV_WINDOW },
	};
	int rc;

	if (nghttp2_session_callbacks_new(&cbs) != 0)
		return -ENOMEM;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, srv_on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cbs, srv_on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, srv_on_data_chunk);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, srv_on_frame_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, srv_on_stream_close);
	rc = nghttp2_session_server_new(&cn->ng, cbs, cn);
	nghttp2_session_callbacks_del(cbs);
	if (rc != 0)
		return -ENOMEM;
	if (nghttp2_submit_settings(cn->ng, NGHTTP2_FLAG_NONE, iv,
				    sizeof(iv) / sizeof(iv[0])) != 0)
		return -ENOMEM;
	return 0;
}

static void
srv_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
	   int salen, void *arg)
{
	struct hubble_srv *srv = arg;
	struct hubble_conn *cn;
	int tls = l == srv->tcp_l && srv->ssl != NULL;

	if (srv->stopping ||
	    srv->st.connections >= (uint64_t)srv->h->conf->max_connections) {
		srv->st.connections_refused++;
		evutil_closesocket(fd);
		return;
	}
	cn = calloc(1, sizeof(*cn));
	if (cn == NULL) {
		evutil_closesocket(fd);
		return;
	}
	cn->srv = srv;
	cn->tls = tls;
	if (tls) {
		SSL *ssl = SSL_new(srv->ssl);

		cn->bev = ssl == NULL ? NULL
			: bufferevent_openssl_socket_new(srv->h->base, fd, ssl,
							 BUFFEREVENT_SSL_ACCEPTING,
							 BEV_OPT_CLOSE_ON_FREE);
		if (cn->bev == NULL && ssl != NULL)
			SSL_free(ssl);
	} else {
		cn->bev = bufferevent_socket_new(srv->h->base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	if (cn->bev == NULL) {
		evutil_closesocket(fd);
		free(cn);
		return;
	}
	cn->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = cn;
	srv->conns = cn;
	srv->st.connections++;
	srv->st.connections_total++;
	cn->flush_ev = event_new(srv->h->base, -1, 0, srv_conn_flush_cb, cn);
	if (cn->flush_ev == NULL || srv_conn_session(cn) < 0) {
		srv_conn_free(cn);
		return;
	}
	bufferevent_setwatermark(cn->bev, EV_WRITE, SRV_OUT_LOW, 0);
	bufferevent_setcb(cn->bev, srv_conn_read, srv_conn_write, srv_conn_event, cn);
	bufferevent_enable(cn->bev, EV_READ | EV_WRITE);
	srv_conn_flush(cn);
}

/* ---- listeners ------------------------------------------------------------------------- */

static int
srv_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		const unsigned char *in, unsigned int inlen, void *arg)
{
	/* gRPC clients offer "h2"; nothing else is served here */
	for (unsigned i = 0; i + 1 <= inlen; i += 1u + in[i]) {
		if (in[i] == 2 && i + 3 <= inlen && memcmp(in + i + 1, "h2", 2) == 0) {
			*out = in + i + 1;
			*outlen = 2;
			return SSL_TLSEXT_ERR_OK;
		}
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static int
srv_tls_init(struct hubble_srv *srv, char *err, size_t errlen)
{
	const struct hubble_conf *cf = srv->h->conf;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		snprintf(err, errlen, "cannot create a TLS context");
		return -ENOMEM;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cf->tls_cert) != 1) {
		snprintf(err, errlen, "tls_cert: cannot load %s: %s", cf->tls_cert,
			 ERR_reason_error_string(ERR_get_error()));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cf->tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "tls_key: cannot load %s or it does not match tls_cert: %s",
			 cf->tls_key, ERR_reason_error_string(ERR_get_error()));
		goto fail;
	}
	if (cf->tls_client_ca != NULL && *cf->tls_client_ca != '\0') {
		if (SSL_CTX_load_verify_locations(ctx, cf->tls_client_ca, NULL) != 1) {
			snprintf(err, errlen, "tls_client_ca: cannot load %s: %s",
				 cf->tls_client_ca,
				 ERR_reason_error_string(ERR_get_error()));
			goto fail;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
				   NULL);
	}
	SSL_CTX_set_alpn_select_cb(ctx, srv_alpn_select, NULL);
	srv->ssl = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return -EINVAL;
}

/* An existing socket file: remove it unless a server still answers on it. */
static int
srv_unix_stale(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "socket: %s exists and is not a socket", path);
		return -EEXIST;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "socket: %s is in use by another server", path);
		return -EADDRINUSE;
	}
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

static int
srv_mkdir_p(const char *dir)
{
	char buf[PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(buf))
		return n == 0 ? 0 : -ENAMETOOLONG;
	memcpy(buf, dir, n + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int
srv_listen_unix(struct hubble_srv *srv, char *err, size_t errlen)
{
	const struct hubble_conf *cf = srv->h->conf;
	struct sockaddr_un sun;
	char dir[PATH_MAX];
	char *slash;
	int fd, rc;

	if (strlen(cf->socket) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket: %s is longer than %zu bytes", cf->socket,
			 sizeof(sun.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	snprintf(dir, sizeof(dir), "%s", cf->socket);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if ((rc = srv_mkdir_p(dir)) < 0) {
			snprintf(err, errlen, "socket: cannot create %s: %s", dir,
				 strerror(-rc));
			return rc;
		}
	}
	if ((rc = srv_unix_stale(cf->socket, err, errlen)) < 0) {
		if (rc != -EEXIST && rc != -EADDRINUSE)
			snprintf(err, errlen, "socket: cannot remove the old %s: %s",
				 cf->socket, strerror(-rc));
		return rc;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, cf->socket, strlen(cf->socket));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: cannot bind %s: %s", cf->socket,
			 strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if (chmod(cf->socket, 0660) < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: chmod %s: %s", cf->socket, strerror(-rc));
		goto fail;
	}
	if (cf->socket_group != NULL && *cf->socket_group != '\0') {
		struct group *gr = getgrnam(cf->socket_group);

		if (gr == NULL) {
			rc = -ENOENT;
			snprintf(err, errlen, "socket_group: no group '%s'", cf->socket_group);
			goto fail;
		}
		if (chown(cf->socket, (uid_t)-1, gr->gr_gid) < 0) {
			rc = -errno;
			snprintf(err, errlen, "socket_group: chown %s: %s", cf->socket,
				 strerror(-rc));
			goto fail;
		}
	}
	srv->unix_l = evconnlistener_new(srv->h->base, srv_accept, srv,
					 LEV_OPT_CLOSE_ON_FREE, 128, fd);
	if (srv->unix_l == NULL) {
		rc = -errno ? -errno : -ENOMEM;
		snprintf(err, errlen, "socket: cannot listen on %s: %s", cf->socket,
			 strerror(-rc));
		goto fail;
	}
	srv->unix_path = strdup(cf->socket);
	return 0;
fail:
	close(fd);
	unlink(cf->socket);
	return rc;
}

/* Split HOST:PORT / [V6]:PORT / :PORT. */
static int
srv_split_listen(const char *s, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon;

	if (*s == '[') {
		const char *end = strchr(s, ']');

		if (end == NULL || end[1] != ':')
			return -EINVAL;
		snprintf(host, hlen, "%.*s", (int)(end - s - 1), s + 1);
		snprintf(port, plen, "%s", end + 2);
		return 0;
	}
	colon = strrchr(s, ':');
	if (colon == NULL)
		return -EINVAL;
	snprintf(host, hlen, "%.*s", (int)(colon - s), s);
	snprintf(port, plen, "%s", colon + 1);
	return 0;
}

static int
srv_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return 0;
}

/*
 * Whether a listen address is on loopback only ("127.0.0.1:4245",
 * "[::1]:4245", "localhost:4245"); names are resolved. -errno when the
 * address cannot be parsed or resolved.
 */
int
hubble_listen_is_loopback(const char *listen)
{
	char host[256], port[16];
	struct addrinfo hints, *ai = NULL;
	int loop = 1;

	if (srv_split_listen(listen, host, sizeof(host), port, sizeof(port)) < 0)
		return -EINVAL;
	if (host[0] == '\0')
		return 0; /* every address */
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL)
		return -ENOENT;
	for (struct addrinfo *a = ai; a != NULL; a = a->ai_next)
		if (!srv_is_loopback(a->ai_addr))
			loop = 0;
	freeaddrinfo(ai);
	return loop;
}

static int
srv_listen_tcp(struct hubble_srv *srv, char *err, size_t errlen)
{
	const struct hubble_conf *cf = srv->h->conf;
	char host[256], port[16];
	struct addrinfo hints, *ai = NULL;
	int rc, gai;

	if (srv_split_listen(cf->listen, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, errlen, "listen: '%s' is not HOST:PORT", cf->listen);
		return -EINVAL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	gai = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &ai);
	if (gai != 0 || ai == NULL) {
		snprintf(err, errlen, "listen: cannot resolve '%s': %s", cf->listen,
			 gai_strerror(gai));
		return -ENOENT;
	}
	srv->tcp_l = evconnlistener_new_bind(srv->h->base, srv_accept, srv,
					     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
					     LEV_OPT_CLOSE_ON_EXEC, 128,
					     ai->ai_addr, (int)ai->ai_addrlen);
	rc = srv->tcp_l == NULL ? -errno : 0;
	freeaddrinfo(ai);
	if (rc < 0) {
		snprintf(err, errlen, "listen: cannot listen on %s: %s", cf->listen,
			 strerror(rc == 0 ? EINVAL : -rc));
		return rc == 0 ? -EINVAL : rc;
	}
	return 0;
}

int
hubble_srv_start(struct hubble *h, char *err, size_t errlen)
{
	const struct hubble_conf *cf = h->conf;
	struct hubble_srv *srv = calloc(1, sizeof(*srv));
	int rc;

	if (srv == NULL)
		return -ENOMEM;
	srv->h = h;
	h->srv = srv;
	if (cf->tls_cert != NULL && *cf->tls_cert != '\0' &&
	    cf->listen != NULL && *cf->listen != '\0' &&
	    (rc = srv_tls_init(srv, err, errlen)) < 0)
		goto fail;
	if (cf->socket != NULL && *cf->socket != '\0' &&
	    (rc = srv_listen_unix(srv, err, errlen)) < 0)
		goto fail;
	if (cf->listen != NULL && *cf->listen != '\0' &&
	    (rc = srv_listen_tcp(srv, err, errlen)) < 0)
		goto fail;
	if (srv->unix_path != NULL)
		snprintf(srv->address, sizeof(srv->address), "unix://%s", srv->unix_path);
	else
		snprintf(srv->address, sizeof(srv->address), "%s%s",
			 srv->ssl != NULL ? "tls://" : "", cf->listen);
	return 0;
fail:
	hubble_srv_stop(h);
	return rc;
}

/* Best effort: write what is queued now, without waiting. */
static void
srv_conn_drain_now(struct hubble_conn *cn)
{
	struct evbuffer *out = bufferevent_get_output(cn->bev);
	evutil_socket_t fd = bufferevent_getfd(cn->bev);

	if (cn->tls || fd < 0)
		return;
	while (evbuffer_get_length(out) > 0 && evbuffer_write(out, fd) > 0)
		;
}

void
hubble_srv_stop(struct hubble *h)
{
	struct hubble_srv *srv = h->srv;

	if (srv == NULL)
		return;
	srv->stopping = 1;
	if (srv->unix_l != NULL)
		evconnlistener_free(srv->unix_l);
	if (srv->tcp_l != NULL)
		evconnlistener_free(srv->tcp_l);
	srv->unix_l = srv->tcp_l = NULL;
	/* end every call with UNAVAILABLE, say GOAWAY, send what we can */
	while (srv->conns != NULL) {
		struct hubble_conn *cn = srv->conns;

		for (struct hubble_call *c = cn->calls; c != NULL; c = c->next)
			if (!c->finishing)
				srv_call_abort(c, HUBBLE_UNAVAILABLE,
					       "the server is shutting down");
		if (cn->ng != NULL) {
			nghttp2_submit_goaway(cn->ng, NGHTTP2_FLAG_NONE,
					      nghttp2_session_get_last_proc_stream_id(cn->ng),
					      NGHTTP2_NO_ERROR, NULL, 0);
			srv_conn_flush(cn);
			if (srv->conns != cn)
				continue; /* the flush closed it */
			srv_conn_drain_now(cn);
		}
		srv_conn_free(cn);
	}
	if (srv->unix_path != NULL) {
		unlink(srv->unix_path);
		free(srv->unix_path);
	}
	if (srv->ssl != NULL)
		SSL_CTX_free(srv->ssl);
	free(srv);
	h->srv = NULL;
}

void
hubble_srv_stats(struct hubble *h, struct hubble_srv_stats *st)
{
	if (h->srv != NULL)
		*st = h->srv->st;
	else
		memset(st, 0, sizeof(*st));
}

const char *
hubble_srv_address(struct hubble *h)
{
	return h->srv != NULL ? h->srv->address : "";
}

int
hubble_srv_tls(struct hubble *h)
{
	return h->srv != NULL && h->srv->ssl != NULL;
}
