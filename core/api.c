/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/api.c - the control API: evhttp on a Unix socket, the route table,
 * JSON replies, NDJSON streams and GET /v1/status.
 *
 * The socket is created here rather than by evhttp so that we control what
 * happens to an existing file (a stale socket is removed only when nothing
 * answers on it), its mode (0660, set through the umask before bind() so it
 * is never more open than that) and its group. evhttp is told to accept
 * every method and to hand us every path, so that all errors that reach a
 * handler decision - 404, 405, bad bodies - are JSON objects.
 *
 * Handlers run synchronously on the loop. evhttp's timeout (api.timeout) is
 * an idle timeout on the connection's reads and writes, and libevent
 * computes every deadline from the loop's cached time: the time the
 * current loop turn began. A reply queued at the end of a handler that ran
 * longer than the timeout therefore got a write deadline already in the
 * past (and so had the read deadline set while the request was read), and
 * the next turn dropped the connection instead of sending the answer.
 * Every reply and stream write first refreshes the cached time and the
 * connection's deadlines (api_clock_now()), so they count from when the
 * answer is queued.
 */
#ifdef HAVE_CONFIG_H
#include "core/config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "core/api.h"
#include "core/log.h"
#include "lib/httpguard.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

struct bw_api_route {
	struct bw_api_route *next;
	char *method;
	char *path;
	size_t len;
	int prefix;
	bw_api_fn fn;
	void *arg;
	bw_free_fn free_fn;
	const void *owner;
};

struct bw_api_status_sec {
	struct bw_api_status_sec *next;
	char *key;
	json_t *(*fn)(void *);
	void *arg;
};

struct bw_api_request {
	struct evhttp_request *evreq;
	const char *method;
	char *path;
	struct evkeyvalq query;
	int have_query;
	char *body;
	size_t body_len;
	int replied;
	int streaming;
	int in_handler; /* the route handler is running: dispatch frees */
	int ended;      /* bw_api_stream_end() was called */
	int deferred;   /* bw_api_reply_later(): a later reply frees it */
	int closed;
	void (*on_close)(struct bw_api_request *, void *);
	void *on_close_arg;
	/* An in-process call (bw_api_local_call()): no evhttp request; the reply
	 * goes to sink, which bw_api_local_cancel() clears. */
	int local;
	bw_api_call_fn sink;
	void *sink_arg;
};

struct api_hook {
	void (*before)(void *arg);
	void (*after)(void *arg);
	void *arg;
};

static struct {
	struct event_base *base;
	int call_depth; /* nested bw_api_local_call()s running */
	struct evhttp *http;
	char *path;
	dev_t dev;
	ino_t ino;
	int ready;
	int timeout; /* seconds of silence before evhttp drops a connection */
	struct timespec started;
	struct bw_api_route *routes;
	struct bw_api_status_sec *status;
	struct api_hook *hooks;
	size_t nhooks;
	struct bw_httpguard *guard; /* connection cap, request deadline, accept back-off */
	unsigned max_conns, request_timeout;
} api;

static const struct {
	const char *name;
	enum evhttp_cmd_type cmd;
} api_methods[] = {
	{ "GET", EVHTTP_REQ_GET },
	{ "POST", EVHTTP_REQ_POST },
	{ "PUT", EVHTTP_REQ_PUT },
	{ "DELETE", EVHTTP_REQ_DELETE },
	{ "HEAD", EVHTTP_REQ_HEAD },
	{ "PATCH", EVHTTP_REQ_PATCH },
	{ "OPTIONS", EVHTTP_REQ_OPTIONS },
	{ "TRACE", EVHTTP_REQ_TRACE },
	{ "CONNECT", EVHTTP_REQ_CONNECT },
};

static const char *
api_method_name(enum evhttp_cmd_type cmd)
{
	for (size_t i = 0; i < sizeof(api_methods) / sizeof(api_methods[0]); i++)
		if (api_methods[i].cmd == cmd)
			return api_methods[i].name;
	return "UNKNOWN";
}

/* The table's own spelling of a method name (a string that stays valid). */
static const char *
api_method_name_of(const char *m)
{
	for (size_t i = 0; i < sizeof(api_methods) / sizeof(api_methods[0]); i++)
		if (!strcmp(api_methods[i].name, m))
			return api_methods[i].name;
	return "UNKNOWN";
}

static int
api_method_valid(const char *m)
{
	return !strcmp(m, "GET") || !strcmp(m, "POST") || !strcmp(m, "PUT") ||
	       !strcmp(m, "DELETE");
}

/* ---- route table -------------------------------------------------------- */

int
bw_api_route_add_owned(const char *method, const char *path, bw_api_fn fn,
		       void *arg, bw_free_fn free_fn, const void *owner)
{
	struct bw_api_route *r, **tail;

	if (method == NULL || path == NULL || fn == NULL || path[0] != '/' ||
	    !api_method_valid(method))
		return -EINVAL;
	for (tail = &api.routes; *tail != NULL; tail = &(*tail)->next)
		if (!strcmp((*tail)->method, method) &&
		    !strcmp((*tail)->path, path))
			return -EEXIST;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -ENOMEM;
	r->method = strdup(method);
	r->path = strdup(path);
	if (r->method == NULL || r->path == NULL) {
		free(r->method);
		free(r->path);
		free(r);
		return -ENOMEM;
	}
	r->len = strlen(path);
	r->prefix = path[r->len - 1] == '/';
	r->fn = fn;
	r->arg = arg;
	r->free_fn = free_fn;
	r->owner = owner;
	*tail = r;
	return 0;
}

int
bw_api_route_add(const char *method, const char *path, bw_api_fn fn, void *arg)
{
	return bw_api_route_add_owned(method, path, fn, arg, NULL, NULL);
}

static void
api_route_free(struct bw_api_route *r)
{
	if (r->free_fn != NULL)
		r->free_fn(r->arg);
	free(r->method);
	free(r->path);
	free(r);
}

int
bw_api_route_remove(const char *method, const char *path)
{
	for (struct bw_api_route **p = &api.routes; *p != NULL; p = &(*p)->next) {
		struct bw_api_route *r = *p;

		if (!strcmp(r->method, method) && !strcmp(r->path, path)) {
			*p = r->next;
			api_route_free(r);
			return 0;
		}
	}
	return -ENOENT;
}

void
bw_api_route_remove_owner(const void *owner)
{
	struct bw_api_route **p = &api.routes;

	if (owner == NULL)
		return;
	while (*p != NULL) {
		struct bw_api_route *r = *p;

		if (r->owner == owner) {
			*p = r->next;
			api_route_free(r);
		} else
			p = &r->next;
	}
}

int
bw_api_hook_add(void (*before)(void *arg), void (*after)(void *arg), void *arg)
{
	struct api_hook *h;

	for (size_t i = 0; i < api.nhooks; i++)
		if (api.hooks[i].before == before && api.hooks[i].after == after &&
		    api.hooks[i].arg == arg)
			return -EEXIST;
	h = realloc(api.hooks, (api.nhooks + 1) * sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	api.hooks = h;
	h[api.nhooks].before = before;
	h[api.nhooks].after = after;
	h[api.nhooks].arg = arg;
	api.nhooks++;
	return 0;
}

void
bw_api_hook_remove(void (*before)(void *arg), void (*after)(void *arg),
		   void *arg)
{
	for (size_t i = 0; i < api.nhooks; i++) {
		struct api_hook *h = &api.hooks[i];

		if (h->before != before || h->after != after || h->arg != arg)
			continue;
		memmove(h, h + 1, (api.nhooks - i - 1) * sizeof(*h));
		api.nhooks--;
		return;
	}
}

static int
api_route_matches(const struct bw_api_route *r, const char *path)
{
	if (r->prefix)
		return !strncmp(r->path, path, r->len);
	return !strcmp(r->path, path);
}

/*
 * Find the route for method and path: the exact route, else the longest
 * prefix. When some route matches the path but none the method, fill
 * allow with the methods that would have matched.
 */
static struct bw_api_route *
api_route_find(const char *method, const char *path, char *allow,
	       size_t allowlen)
{
	struct bw_api_route *best = NULL;
	size_t bestlen = 0;
	int bestexact = 0, any = 0;

	allow[0] = '\0';
	for (struct bw_api_route *r = api.routes; r != NULL; r = r->next) {
		if (!api_route_matches(r, path))
			continue;
		any = 1;
		if (strstr(allow, r->method) == NULL) {
			if (allow[0] != '\0')
				strncat(allow, ", ", allowlen - strlen(allow) - 1);
			strncat(allow, r->method, allowlen - strlen(allow) - 1);
		}
		if (strcmp(r->method, method))
			continue;
		if (!r->prefix) {
			best = r;
			bestexact = 1;
		} else if (!bestexact && r->len > bestlen) {
			best = r;
			bestlen = r->len;
		}
	}
	if (!any)
		allow[0] = '\0';
	return best;
}

/* ---- requests ----------------------------------------------------------- */

const char *
bw_api_req_method(struct bw_api_request *req)
{
	return req->method;
}

const char *
bw_api_req_path(struct bw_api_request *req)
{
	return req->path;
}

const char *
bw_api_req_query(struct bw_api_request *req, const char *name)
{
	if (!req->have_query)
		return NULL;
	return evhttp_find_header(&req->query, name);
}

const char *
bw_api_req_body(struct bw_api_request *req, size_t *len)
{
	if (len != NULL)
		*len = req->body_len;
	return req->body;
}

json_t *
bw_api_req_json(struct bw_api_request *req)
{
	json_error_t jerr;
	json_t *doc;

	if (req->body_len == 0) {
		bw_api_reply_error(req, 400,
				   "request body is empty; expected a JSON document");
		return NULL;
	}
	doc = json_loadb(req->body, req->body_len, 0, &jerr);
	if (doc == NULL) {
		bw_api_reply_error(req, 400,
				   "malformed JSON body at line %d, column %d: %s",
				   jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	return doc;
}

/* ---- replies ------------------------------------------------------------ */

/*
 * Make libevent's cached time the real time before queueing output, and
 * restart the connection's read and write deadlines from it, so that they
 * count from now and not from when the loop turn (and a possibly long
 * handler) began. See the comment at the top of the file.
 */
static void
api_clock_now(struct bw_api_request *req)
{
	struct evhttp_connection *evcon;
	struct bufferevent *bev;
	struct timeval tv = { api.timeout, 0 };

	if (api.base != NULL)
		event_base_update_cache_time(api.base);
	/* A stream sets its own (no read timeout: bw_api_stream_begin()). */
	if (req->evreq == NULL || req->closed || req->streaming || api.timeout <= 0)
		return;
	evcon = evhttp_request_get_connection(req->evreq);
	bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
	if (bev != NULL)
		bufferevent_set_timeouts(bev, &tv, &tv);
}

static const char *
api_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 422: return "Unprocessable Entity";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return status < 400 ? "OK" : "Error";
	}
}

static void api_req_free(struct bw_api_request *req);

static int
api_reply_send(struct bw_api_request *req, int status, const char *json)
{
	struct evhttp_connection *evcon;
	struct evbuffer *buf;

	if (req->local) {
		if (req->closed || req->sink == NULL)
			return -EPIPE;
		req->sink(BW_API_CALL_REPLY, status, json, strlen(json),
			  req->sink_arg);
		return 0;
	}
	if (req->closed || req->evreq == NULL)
		return -EPIPE;
	if ((buf = evbuffer_new()) == NULL)
		return -ENOMEM;
	if (req->deferred &&
	    (evcon = evhttp_request_get_connection(req->evreq)) != NULL)
		evhttp_connection_set_closecb(evcon, NULL, NULL);
	api_clock_now(req);
	evbuffer_add(buf, json, strlen(json));
	evbuffer_add(buf, "\n", 1);
	evhttp_add_header(evhttp_request_get_output_headers(req->evreq),
			  "Content-Type", "application/json");
	/* the next request on this connection has its deadline from now */
	bw_httpguard_replied(api.guard, req->evreq);
	evhttp_send_reply(req->evreq, status, api_reason(status), buf);
	evbuffer_free(buf);
	return 0;
}

int
bw_api_reply_text(struct bw_api_request *req, int status, const char *json)
{
	int rc;

	if (req->replied || req->streaming)
		return -EALREADY;
	req->replied = 1;
	rc = api_reply_send(req, status, json);
	/* a deferred request answered after its handler returned is ours */
	if (req->deferred && !req->in_handler)
		api_req_free(req);
	return rc;
}

int
bw_api_reply_json(struct bw_api_request *req, int status, json_t *doc)
{
	char *text;
	int rc;

	if (doc == NULL)
		return bw_api_reply_error(req, 500, "out of memory");
	text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(doc);
	if (text == NULL)
		return bw_api_reply_error(req, 500, "out of memory");
	rc = bw_api_reply_text(req, status, text);
	free(text);
	return rc;
}

int
bw_api_reply_verror(struct bw_api_request *req, int status, const char *fmt,
		    va_list ap)
{
	char msg[1024];
	json_t *doc;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* A client's mistake (4xx) is the client's to read; a failure of the
	 * daemon (5xx) is logged here, once, for whoever runs it. */
	if (status >= 500)
		bw_err("api: %s %s: %s", req->method, req->path, msg);
	doc = json_pack("{s:s}", "error", msg);
	if (doc == NULL)
		return bw_api_reply_text(req, status,
					 "{\"error\":\"out of memory\"}");
	return bw_api_reply_json(req, status, doc);
}

int
bw_api_reply_error(struct bw_api_request *req, int status, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = bw_api_reply_verror(req, status, fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- streams and deferred replies ---------------------------------------- */

static void
api_stream_closed(struct evhttp_connection *evcon, void *arg)
{
	struct bw_api_request *req = arg;

	(void)evcon;
	if (req->closed)
		return;
	req->closed = 1;
	if (req->on_close != NULL)
		req->on_close(req, req->on_close_arg);
}

int
bw_api_stream_begin(struct bw_api_request *req)
{
	struct evhttp_connection *evcon;

	if (req->replied || req->streaming)
		return -EALREADY;
	req->streaming = 1;
	if (req->local) {
		if (req->sink != NULL)
			req->sink(BW_API_CALL_STREAM_BEGIN, 200, NULL, 0,
				  req->sink_arg);
		return 0;
	}
	api_clock_now(req);
	evhttp_add_header(evhttp_request_get_output_headers(req->evreq),
			  "Content-Type", "application/x-ndjson");
	evhttp_send_reply_start(req->evreq, 200, "OK");
	evcon = evhttp_request_get_connection(req->evreq);
	if (evcon != NULL) {
		struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
		struct timeval wtv = { api.timeout, 0 };

		evhttp_connection_set_closecb(evcon, api_stream_closed, req);
		/*
		 * A followed stream may be quiet for hours and the client
		 * sends nothing: no read timeout, or evhttp would close it.
		 * Keep the write timeout, so a client that stops reading is
		 * dropped instead of the daemon buffering for it forever.
		 */
		if (bev != NULL)
			bufferevent_set_timeouts(bev, NULL, &wtv);
	}
	return 0;
}

int
bw_api_reply_later(struct bw_api_request *req)
{
	struct evhttp_connection *evcon;

	if (req->replied || req->streaming)
		return -EALREADY;
	req->deferred = 1;
	/* evhttp frees the request if the client goes: remember it */
	evcon = req->evreq != NULL ? evhttp_request_get_connection(req->evreq) : NULL;
	if (evcon != NULL)
		evhttp_connection_set_closecb(evcon, api_stream_closed, req);
	return 0;
}

void
bw_api_stream_on_close(struct bw_api_request *req,
		       void (*cb)(struct bw_api_request *, void *), void *arg)
{
	req->on_close = cb;
	req->on_close_arg = arg;
}

int
bw_api_stream_text(struct bw_api_request *req, const char *json)
{
	struct evbuffer *buf;

	if (!req->streaming || req->ended)
		return -EINVAL;
	if (req->closed)
		return -EPIPE;
	if (req->local) {
		if (req->sink != NULL)
			req->sink(BW_API_CALL_STREAM_LINE, 200, json, strlen(json),
				  req->sink_arg);
		return 0;
	}
	if ((buf = evbuffer_new()) == NULL)
		return -ENOMEM;
	api_clock_now(req);
	evbuffer_add(buf, json, strlen(json));
	evbuffer_add(buf, "\n", 1);
	evhttp_send_reply_chunk(req->evreq, buf);
	evbuffer_free(buf);
	return 0;
}

int
bw_api_stream_json(struct bw_api_request *req, json_t *line)
{
	char *text;
	int rc;

	if (line == NULL)
		return -ENOMEM;
	text = json_dumps(line, JSON_COMPACT);
	json_decref(line);
	if (text == NULL)
		return -ENOMEM;
	rc = bw_api_stream_text(req, text);
	free(text);
	return rc;
}

int
bw_api_stream_end(struct bw_api_request *req)
{
	struct evhttp_connection *evcon;
	int rc = req->closed ? -EPIPE : 0;

	if (!req->streaming || req->ended)
		return -EINVAL;
	if (req->local) {
		bw_api_call_fn sink = req->sink;

		req->sink = NULL;
		req->ended = 1;
		if (sink != NULL && !req->closed)
			sink(BW_API_CALL_STREAM_END, 200, NULL, 0, req->sink_arg);
		if (!req->in_handler)
			api_req_free(req);
		return rc;
	}
	evcon = evhttp_request_get_connection(req->evreq);
	if (evcon != NULL)
		evhttp_connection_set_closecb(evcon, NULL, NULL);
	api_clock_now(req);
	bw_httpguard_replied(api.guard, req->evreq);
	/* Also frees an evhttp request whose connection is gone. */
	evhttp_send_reply_end(req->evreq);
	req->evreq = NULL;
	req->ended = 1;
	if (!req->in_handler)
		api_req_free(req);
	return rc;
}

/* ---- dispatch ----------------------------------------------------------- */

static void
api_req_free(struct bw_api_request *req)
{
	if (req->have_query)
		evhttp_clear_headers(&req->query);
	free(req->path);
	free(req->body);
	free(req);
}

static int
api_req_setup(struct bw_api_request *req, struct evhttp_request *evreq)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(evreq);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	const char *q = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	struct evbuffer *in = evhttp_request_get_input_buffer(evreq);
	size_t plen;

	req->evreq = evreq;
	req->method = api_method_name(evhttp_request_get_command(evreq));
	if (path == NULL || path[0] == '\0')
		path = "/";
	req->path = evhttp_uridecode(path, 0, &plen);
	if (req->path == NULL)
		return -ENOMEM;
	if (strlen(req->path) != plen)
		return -EINVAL;
	TAILQ_INIT(&req->query);
	if (q != NULL) {
		if (evhttp_parse_query_str(q, &req->query) < 0)
			return -EINVAL;
		req->have_query = 1;
	}
	req->body_len = evbuffer_get_length(in);
	if ((req->body = malloc(req->body_len + 1)) == NULL)
		return -ENOMEM;
	evbuffer_remove(in, req->body, req->body_len);
	req->body[req->body_len] = '\0';
	return 0;
}

/*
 * Route one request and run its handler. Returns 1 when the request lives
 * on (a stream its owner ends later), 0 when it has been answered and
 * freed.
 */
static int
api_run(struct bw_api_request *req)
{
	struct bw_api_route *r;
	const char *method;
	char allow[64];
	int rc;

	/* HEAD is GET without a body; evhttp drops the body for us. */
	method = strcmp(req->method, "HEAD") ? req->method : "GET";
	r = api_route_find(method, req->path, allow, sizeof(allow));
	if (r == NULL) {
		if (allow[0] != '\0') {
			if (req->evreq != NULL)
				evhttp_add_header(evhttp_request_get_output_headers(req->evreq),
						  "Allow", allow);
			bw_api_reply_error(req, 405,
					   "method %s is not allowed on %s; use %s",
					   req->method, req->path, allow);
		} else
			bw_api_reply_error(req, 404,
					   "no API endpoint at %s; check the path "
					   "and that the module serving it is loaded "
					   "(bulwark modules)",
					   req->path);
		goto done;
	}
	req->in_handler = 1;
	for (size_t i = 0; i < api.nhooks; i++)
		if (api.hooks[i].before != NULL)
			api.hooks[i].before(api.hooks[i].arg);
	rc = r->fn(req, r->arg);
	for (size_t i = api.nhooks; i-- > 0;)
		if (api.hooks[i].after != NULL)
			api.hooks[i].after(api.hooks[i].arg);
	req->in_handler = 0;
	if (req->streaming) {
		if (req->ended)
			goto done;
		return 1; /* the stream's owner ends it */
	}
	if (req->deferred && !req->replied && rc >= 0)
		return 1; /* a later reply answers and frees it */
	if (!req->replied) {
		if (rc < 0)
			bw_api_reply_error(req, 500, "%s %s failed: %s",
					   req->method, req->path, strerror(-rc));
		else
			bw_api_reply_error(req, 500,
					   "internal error: %s %s gave no answer",
					   req->method, req->path);
	}
done:
	api_req_free(req);
	return 0;
}

static void
api_dispatch(struct evhttp_request *evreq, void *arg)
{
	struct bw_api_request *req;
	int rc;

	(void)arg;
	/* the whole request is in: its connection's deadline stops */
	bw_httpguard_request(api.guard, evreq);
	if ((req = calloc(1, sizeof(*req))) == NULL) {
		evhttp_send_error(evreq, 500, "out of memory");
		return;
	}
	rc = api_req_setup(req, evreq);
	if (rc == -EINVAL) {
		bw_api_reply_error(req, 400,
				   "malformed request path or query string");
		api_req_free(req);
		return;
	} else if (rc < 0) {
		bw_api_reply_error(req, 500, "out of memory");
		api_req_free(req);
		return;
	}
	/*
	 * CONNECT would open a tunnel: never here. evhttp keeps a connection
	 * that sent one open whatever the answer says, so close it after.
	 */
	if (!strcmp(req->method, "CONNECT")) {
		bw_httpguard_close_after(api.guard, evreq);
		evhttp_add_header(evhttp_request_get_output_headers(evreq), "Connection", "close");
		bw_api_reply_error(req, 405, "method CONNECT is not allowed on the control API");
		api_req_free(req);
		return;
	}
	api_run(req);
}

/* ---- in-process calls --------------------------------------------------- */

/* Like api_req_setup(), from a request target "/v1/...?query". */
static int
api_req_setup_local(struct bw_api_request *req, const char *method,
		    const char *target, const char *body, size_t body_len)
{
	struct evhttp_uri *uri;
	const char *path, *q;
	size_t plen;
	int rc = 0;

	req->local = 1;
	req->method = method;
	TAILQ_INIT(&req->query);
	if ((uri = evhttp_uri_parse_with_flags(target, 0)) == NULL)
		return -EINVAL;
	path = evhttp_uri_get_path(uri);
	q = evhttp_uri_get_query(uri);
	if (path == NULL || path[0] != '/' || evhttp_uri_get_host(uri) != NULL) {
		rc = -EINVAL;
		goto out;
	}
	if ((req->path = evhttp_uridecode(path, 0, &plen)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if (strlen(req->path) != plen) {
		rc = -EINVAL;
		goto out;
	}
	if (q != NULL) {
		if (evhttp_parse_query_str(q, &req->query) < 0) {
			rc = -EINVAL;
			goto out;
		}
		req->have_query = 1;
	}
	req->body_len = body != NULL ? body_len : 0;
	if ((req->body = malloc(req->body_len + 1)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if (req->body_len > 0)
		memcpy(req->body, body, req->body_len);
	req->body[req->body_len] = '\0';
out:
	evhttp_uri_free(uri);
	return rc;
}

int
bw_api_local_call(const char *method, const char *target, const char *body,
	    size_t body_len, bw_api_call_fn cb, void *arg,
	    struct bw_api_request **handle)
{
	struct bw_api_request *req;
	int rc;

	if (handle != NULL)
		*handle = NULL;
	if (method == NULL || target == NULL || cb == NULL ||
	    !api_method_valid(method) || target[0] != '/')
		return -EINVAL;
	if (body_len > BW_API_MAX_BODY)
		return -E2BIG;
	if (api.call_depth >= BW_API_CALL_DEPTH)
		return -ELOOP;
	if ((req = calloc(1, sizeof(*req))) == NULL)
		return -ENOMEM;
	req->sink = cb;
	req->sink_arg = arg;
	rc = api_req_setup_local(req, api_method_name_of(method), target, body,
				 body_len);
	if (rc == -EINVAL) {
		bw_api_reply_error(req, 400,
				   "malformed request path or query string");
		api_req_free(req);
		return 0;
	} else if (rc < 0) {
		api_req_free(req);
		return rc;
	}
	api.call_depth++;
	rc = api_run(req);
	api.call_depth--;
	if (rc == 1 && handle != NULL)
		*handle = req;
	return 0;
}

void
bw_api_local_cancel(struct bw_api_request *req)
{
	if (req == NULL || !req->local)
		return;
	req->sink = NULL;
	if (req->closed)
		return;
	req->closed = 1;
	/* The owner may end the stream (and so free req) right here. */
	if (req->on_close != NULL)
		req->on_close(req, req->on_close_arg);
}

/* ---- status ------------------------------------------------------------- */

int
bw_api_status_add(const char *key, json_t *(*fn)(void *), void *arg)
{
	struct bw_api_status_sec *s, **tail;

	if (key == NULL || fn == NULL)
		return -EINVAL;
	for (tail = &api.status; *tail != NULL; tail = &(*tail)->next)
		if (!strcmp((*tail)->key, key))
			return -EEXIST;
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->key = strdup(key)) == NULL) {
		free(s);
		return -ENOMEM;
	}
	s->fn = fn;
	s->arg = arg;
	*tail = s;
	return 0;
}

void
bw_api_status_remove(const char *key)
{
	for (struct bw_api_status_sec **p = &api.status; *p != NULL; p = &(*p)->next) {
		struct bw_api_status_sec *s = *p;

		if (!strcmp(s->key, key)) {
			*p = s->next;
			free(s->key);
			free(s);
			return;
		}
	}
}

void
bw_api_set_timeout(int seconds)
{
	api.timeout = seconds > 0 ? seconds : BW_API_TIMEOUT;
	if (api.http != NULL)
		evhttp_set_timeout(api.http, api.timeout);
}

void
bw_api_set_limits(unsigned max_conns, unsigned request_timeout_s)
{
	api.max_conns = max_conns;
	api.request_timeout = request_timeout_s;
}

void
bw_api_set_ready(int ready)
{
	api.ready = !!ready;
}

int
bw_api_is_ready(void)
{
	return api.ready;
}

static int
api_status(struct bw_api_request *req, void *arg)
{
	struct timespec now;
	json_t *doc;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &now);
	doc = json_pack("{s:b, s:s, s:I, s:I}", "ready", api.ready, "version",
			PACKAGE_VERSION, "uptime_seconds",
			(json_int_t)(now.tv_sec - api.started.tv_sec), "pid",
			(json_int_t)getpid());
	if (doc == NULL)
		return -ENOMEM;
	if (api.guard) {
		struct bw_httpguard_stats st;

		bw_httpguard_stats(api.guard, &st);
		json_object_set_new(doc, "api",
				    json_pack("{s:I,s:i,s:I,s:I,s:I,s:I,s:b}", "connections",
					      (json_int_t)st.open, "max_connections",
					      (int)(api.max_conns ? api.max_conns : BW_API_MAX_CONNS),
					      "accepted", (json_int_t)st.accepted,
					      "refused_over_cap", (json_int_t)st.over_cap,
					      "timed_out", (json_int_t)st.timed_out,
					      "accept_errors", (json_int_t)st.accept_errors,
					      "paused", st.paused));
	}
	for (struct bw_api_status_sec *s = api.status; s != NULL; s = s->next) {
		json_t *v = s->fn(s->arg);

		if (v != NULL)
			json_object_set_new(doc, s->key, v);
	}
	return bw_api_reply_json(req, 200, doc);
}

/* ---- the listener ------------------------------------------------------- */

static int
api_mkdir_parent(const char *path)
{
	char *dir = strdup(path), *p;
	int rc = 0;

	if (dir == NULL)
		return -ENOMEM;
	if ((p = strrchr(dir, '/')) == NULL || p == dir) {
		free(dir);
		return 0;
	}
	*p = '\0';
	for (p = dir + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
				rc = -errno;
				break;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	free(dir);
	return rc;
}

/*
 * Decide what to do about an existing file at the socket path: nothing there
 * or a dead socket (removed) -> 0; a live daemon -> -EADDRINUSE; anything
 * else -> -EEXIST.
 */
static int
api_clear_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		bw_err("api: %s exists and is not a socket; remove it or set "
		       "daemon.socket to another path", path);
		return -EEXIST;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (rc == 0) {
		bw_err("api: another daemon is listening on %s; stop it or set "
		       "daemon.socket to another path", path);
		return -EADDRINUSE;
	}
	if (errno != ECONNREFUSED) {
		rc = -errno;
		bw_err_errno(errno, "api: cannot tell whether %s is in use",
			     path);
		return rc;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		rc = -errno;
		bw_err_errno(errno, "api: cannot remove stale socket %s", path);
		return rc;
	}
	bw_info("api: removed stale socket %s", path);
	return 0;
}

static void
api_guard_log(void *arg, int level, const char *msg)
{
	bw_log(level, "%s", msg);
}

static int
api_group_id(const char *group, gid_t *gid)
{
	struct group gr, *res = NULL;
	char buf[4096];
	int rc;

	rc = getgrnam_r(group, &gr, buf, sizeof(buf), &res);
	if (res == NULL) {
		bw_err("api: daemon.socket_group: no such group '%s'%s%s", group,
		       rc ? ": " : "", rc ? strerror(rc) : "");
		return rc ? -rc : -ENOENT;
	}
	*gid = gr.gr_gid;
	return 0;
}

int
bw_api_init(struct event_base *base, const char *socket_path,
	    const char *group)
{
	struct sockaddr_un sun;
	struct stat st;
	gid_t gid = (gid_t)-1;
	mode_t old;
	int fd = -1, rc;

	if (api.http != NULL)
		return -EALREADY;
	clock_gettime(CLOCK_MONOTONIC, &api.started);
	if (socket_path == NULL || socket_path[0] == '\0') {
		bw_err("api: daemon.socket is empty");
		return -EINVAL;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(socket_path) >= sizeof(sun.sun_path)) {
		bw_err("api: daemon.socket %s is longer than %zu bytes; choose "
		       "a shorter path", socket_path, sizeof(sun.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, socket_path);
	if (group != NULL && group[0] != '\0' &&
	    (rc = api_group_id(group, &gid)) < 0)
		return rc;
	if ((rc = api_mkdir_parent(socket_path)) < 0) {
		bw_err_errno(rc, "api: cannot create the directory of %s",
			     socket_path);
		return rc;
	}
	if ((rc = api_clear_stale(socket_path, &sun)) < 0)
		return rc;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		bw_err_errno(errno, "api: socket");
		return rc;
	}
	old = umask(0117);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0) {
		rc = -errno;
		bw_err_errno(errno, "api: cannot bind %s", socket_path);
		close(fd);
		return rc;
	}
	if (chmod(socket_path, 0660) < 0 ||
	    (gid != (gid_t)-1 && chown(socket_path, (uid_t)-1, gid) < 0)) {
		rc = -errno;
		bw_err_errno(errno, "api: cannot set the owner or mode of %s",
			     socket_path);
		goto fail;
	}
	if (stat(socket_path, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	if (listen(fd, 64) < 0) {
		rc = -errno;
		bw_err_errno(errno, "api: listen on %s", socket_path);
		goto fail;
	}
	if ((api.http = evhttp_new(base)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	evhttp_set_allowed_methods(api.http,
				   EVHTTP_REQ_GET | EVHTTP_REQ_POST |
				   EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
				   EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
				   EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
				   EVHTTP_REQ_PATCH);
	evhttp_set_max_body_size(api.http, BW_API_MAX_BODY);
	if (api.timeout <= 0)
		api.timeout = BW_API_TIMEOUT;
	evhttp_set_timeout(api.http, api.timeout);
	evhttp_set_gencb(api.http, api_dispatch, NULL);
	evhttp_set_max_headers_size(api.http, BW_API_MAX_HEADERS);
	{
		struct bw_httpguard_limits lim = {
			api.max_conns ? api.max_conns : BW_API_MAX_CONNS,
			api.request_timeout ? api.request_timeout : BW_API_REQUEST_TIMEOUT, 1
		};
		struct evhttp_bound_socket *bs;

		api.guard = bw_httpguard_new(base, api.http, &lim, "api", api_guard_log, NULL);
		bs = api.guard ? evhttp_accept_socket_with_handle(api.http, fd) : NULL;
		if (bs == NULL || bw_httpguard_attach(api.guard, bs) < 0) {
			rc = api.guard ? -EIO : -ENOMEM;
			bw_err("api: cannot accept on %s", socket_path);
			evhttp_free(api.http);
			api.http = NULL;
			bw_httpguard_free(api.guard);
			api.guard = NULL;
			if (bs)
				fd = -1; /* freed with the server */
			goto fail;
		}
	}
	fd = -1; /* evhttp owns it */
	if ((api.path = strdup(socket_path)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	api.base = base;
	api.dev = st.st_dev;
	api.ino = st.st_ino;
	rc = bw_api_route_add("GET", "/v1/status", api_status, NULL);
	if (rc < 0 && rc != -EEXIST)
		goto fail;
	bw_info("api: listening on %s", socket_path);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (api.http != NULL) {
		evhttp_free(api.http);
		api.http = NULL;
	}
	free(api.path);
	api.path = NULL;
	unlink(socket_path);
	return rc;
}

void
bw_api_fini(void)
{
	struct stat st;

	if (api.http != NULL) {
		evhttp_free(api.http);
		api.http = NULL;
	}
	bw_httpguard_free(api.guard); /* after its server: connections closed */
	api.guard = NULL;
	/* Remove the socket only if it is still ours. */
	if (api.path != NULL && stat(api.path, &st) == 0 &&
	    st.st_dev == api.dev && st.st_ino == api.ino)
		unlink(api.path);
	free(api.path);
	api.path = NULL;
	while (api.routes != NULL) {
		struct bw_api_route *r = api.routes;

		api.routes = r->next;
		api_route_free(r);
	}
	while (api.status != NULL) {
		struct bw_api_status_sec *s = api.status;

		api.status = s->next;
		free(s->key);
		free(s);
	}
	free(api.hooks);
	api.hooks = NULL;
	api.nhooks = 0;
	api.ready = 0;
}
