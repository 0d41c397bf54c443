/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/webui/webui_proxy.c - /api/v1/...: the daemon's own control API
 * routes, called in-process (bw_core_api.api_call, ABI 1.2) with the
 * request's method, target and body, and their reply passed on as it is:
 * the same JSON documents, error objects and statuses `bulwark` gets on
 * the control socket, and NDJSON streams (GET /v1/flows) as chunked
 * application/x-ndjson. A route may answer after api_call() returned (a
 * deferred reply, a stream that goes on): the call then waits for it, and
 * a browser that goes away first cancels it (the route's owner sees its
 * client go, as on the socket).
 *
 * What the UI may call:
 *   GET                       every route (they only read), except a
 *                             following flow stream: live flows come from
 *                             /api/events, whose queue per client is bounded
 *   POST /v1/simulate         a what-if replay; it changes nothing
 *   POST, PUT /v1/policies,   policy import, replace and delete: only with
 *   DELETE /v1/policies/...   [webui] allow_changes = true
 * Anything else is refused with 403, naming what would allow it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "webui.h"

/*
 * One proxied call. It lives until the core's last callback (a reply, or a
 * stream's end) or until the browser goes: the route may answer after
 * api_call() returned (a deferred reply, a stream that goes on).
 */
struct webui_call {
	struct webui *w;
	struct evhttp_request *req;
	bw_api_call *going;  /* the core's handle while an answer is pending */
	struct event *end_ev;
	int in_call;         /* api_call() has not returned yet */
	int streaming;       /* the reply started as a stream */
	int done;            /* the last callback came */
	int gone;            /* the browser went away */
};

static void
webui_call_free(struct webui_call *c)
{
	if (c->end_ev != NULL)
		event_free(c->end_ev);
	free(c);
}

/* The answer is complete (or the browser gone): forget the connection. */
static void
webui_call_release(struct webui_call *c)
{
	struct evhttp_connection *evcon;

	if (c->gone)
		return;
	evcon = evhttp_request_get_connection(c->req);
	if (evcon != NULL)
		evhttp_connection_set_closecb(evcon, NULL, NULL);
}

static void
webui_call_cb(enum bw_api_call_event ev, int status, const char *text,
	      size_t len, void *arg)
{
	struct webui_call *c = arg;
	struct evbuffer *buf;

	switch (ev) {
	case BW_API_CALL_REPLY:
		c->done = 1;
		webui_call_release(c);
		if ((buf = evbuffer_new()) == NULL) {
			evhttp_send_error(c->req, 500, NULL);
			break;
		}
		evbuffer_add(buf, text, len);
		evbuffer_add(buf, "\n", 1);
		webui_headers(c->req, "application/json");
		evhttp_add_header(evhttp_request_get_output_headers(c->req),
				  "Cache-Control", "no-store");
		evhttp_send_reply(c->req, status, webui_reason(status), buf);
		evbuffer_free(buf);
		break;
	case BW_API_CALL_STREAM_BEGIN:
		c->streaming = 1;
		webui_headers(c->req, "application/x-ndjson");
		evhttp_add_header(evhttp_request_get_output_headers(c->req),
				  "Cache-Control", "no-store");
		evhttp_send_reply_start(c->req, 200, "OK");
		return;
	case BW_API_CALL_STREAM_LINE:
		if ((buf = evbuffer_new()) == NULL)
			return;
		evbuffer_add(buf, text, len);
		evbuffer_add(buf, "\n", 1);
		evhttp_send_reply_chunk(c->req, buf);
		evbuffer_free(buf);
		return;
	case BW_API_CALL_STREAM_END:
		c->done = 1;
		webui_call_release(c);
		evhttp_send_reply_end(c->req);
		break;
	}
	/* after api_call() returned, the last callback ends the call */
	if (!c->in_call)
		webui_call_free(c);
}

/* From the loop: finish a stream whose browser went away. */
static void
webui_call_end(evutil_socket_t fd, short what, void *arg)
{
	struct webui_call *c = arg;

	/* also frees an evhttp request whose connection is gone */
	evhttp_send_reply_end(c->req);
	webui_call_free(c);
}

/* The browser went away while the answer was pending. */
static void
webui_call_closed(struct evhttp_connection *evcon, void *arg)
{
	struct webui_call *c = arg;

	evhttp_connection_set_closecb(evcon, NULL, NULL);
	c->gone = 1;
	/* no more callbacks: the route's owner sees its client go */
	c->w->api->api_call_cancel(c->going);
	if (c->streaming)
		event_active(c->end_ev, EV_TIMEOUT, 0);
	else
		webui_call_free(c); /* evhttp frees a request it never answered */
}

static int
webui_truthy(const char *v)
{
	return v != NULL && (!strcasecmp(v, "true") || !strcmp(v, "1") ||
			     !strcasecmp(v, "yes"));
}

/* GET /v1/flows?follow=true (or with {"follow": true} in its body). */
static int
webui_follows(const char *path, const char *query, const char *body, size_t len)
{
	struct evkeyvalq q;
	int follow = 0;

	if (strcmp(path, "/v1/flows") != 0)
		return 0;
	if (query != NULL) {
		TAILQ_INIT(&q);
		if (evhttp_parse_query_str(query, &q) == 0)
			follow = webui_truthy(evhttp_find_header(&q, "follow"));
		evhttp_clear_headers(&q);
	}
	if (!follow && len > 0) {
		json_t *doc = json_loadb(body, len, 0, NULL);

		follow = json_is_true(json_object_get(doc, "follow"));
		json_decref(doc);
	}
	return follow;
}

/* NULL when the UI may make this call, else why not. */
static const char *
webui_allowed(const struct webui *w, enum evhttp_cmd_type cmd, const char *path)
{
	int policies = !strcmp(path, "/v1/policies") ||
		       !strncmp(path, "/v1/policies/", 13);

	switch (cmd) {
	case EVHTTP_REQ_GET:
	case EVHTTP_REQ_HEAD:
		return NULL;
	case EVHTTP_REQ_POST:
		if (!strcmp(path, "/v1/simulate"))
			return NULL;
		/* fall through */
	case EVHTTP_REQ_PUT:
	case EVHTTP_REQ_DELETE:
		if (!policies)
			return "the web UI changes nothing but policies";
		if (!w->conf->allow_changes)
			return "the web UI is read-only: set [webui] allow_changes = "
			       "true to import, replace or delete policies from it";
		return NULL;
	default:
		return "method not served by the web UI";
	}
}

static const char *
webui_method(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_HEAD: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	default: return NULL;
	}
}

void
webui_proxy(struct webui *w, struct evhttp_request *req, const char *path,
	    const char *query)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct evhttp_connection *evcon;
	struct webui_call *c;
	char *target, *body;
	const char *why, *method = webui_method(cmd);
	size_t len = evbuffer_get_length(in);
	int rc;

	if ((why = webui_allowed(w, cmd, path)) != NULL || method == NULL) {
		w->forbidden++;
		webui_reply_error(req, 403, "%s %s: %s",
				  method != NULL ? method : "this method", path,
				  why != NULL ? why : "method not served by the web UI");
		return;
	}
	body = (char *)evbuffer_pullup(in, -1);
	if (webui_follows(path, query, body, len)) {
		webui_reply_error(req, 400, "follow: live flows are served as "
				  "Server-Sent Events at /api/events (same filters)");
		return;
	}
	if (asprintf(&target, "%s%s%s", path, query != NULL ? "?" : "",
		     query != NULL ? query : "") < 0) {
		webui_reply_error(req, 500, "out of memory");
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->end_ev = evtimer_new(w->base, webui_call_end, c)) == NULL) {
		free(c);
		free(target);
		webui_reply_error(req, 500, "out of memory");
		return;
	}
	c->w = w;
	c->req = req;
	c->in_call = 1;
	rc = w->api->api_call(w->ctx, method, target, body, len, webui_call_cb, c,
			      &c->going);
	c->in_call = 0;
	free(target);
	if (rc < 0) {
		webui_call_free(c);
		webui_reply_error(req, rc == -E2BIG ? 413 : 500, "%s %s: %s", method,
				  path, strerror(-rc));
		return;
	}
	if (c->done || c->going == NULL) {
		/* answered in full (a route that answers nothing and keeps
		 * nothing open would be a core bug: say so rather than hang) */
		if (!c->done)
			webui_reply_error(req, 500, "%s %s: no answer", method, path);
		webui_call_free(c);
		return;
	}
	/* the answer comes later: until then, watch for the browser going */
	evcon = evhttp_request_get_connection(req);
	if (evcon != NULL)
		evhttp_connection_set_closecb(evcon, webui_call_closed, c);
}
