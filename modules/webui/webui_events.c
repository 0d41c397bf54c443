/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/webui/webui_events.c - GET /api/events: the flow pipeline's new
 * flows as Server-Sent Events, for the page's live map and flow table.
 *
 *   event: hello    data: {"max_clients":N,"client_queue":BYTES}
 *   event: flow     data: one GetFlowsResponse (what observe -o json prints)
 *   event: lost     data: {"lost_events":{"source":"WEBUI_CLIENT_QUEUE",
 *                          "num_events_lost":"N"}}
 *   : keepalive     every 15 s (proxies and dead peers)
 *
 * The query takes /v1/flows' filters: whitelist and blacklist, JSON arrays
 * of Hubble FlowFilter objects (lib/flowfilter.c, the same parser).
 *
 * Each client's queue is what its connection has not sent yet: when it
 * holds [webui] client_queue bytes, further flows for that client are
 * dropped and counted, and once it has drained to half, a "lost" event
 * says how many it missed. A slow browser never makes the daemon buffer
 * without bound, and never slows the pipeline or the other clients.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include <bulwark/flow.h>

#include "lib/flowfilter.h"
#include "webui.h"

#define WEBUI_KEEPALIVE_S 15

struct webui_client {
	struct webui *w;
	struct evhttp_request *req;
	struct bw_flowfilters filters;
	uint64_t lost;      /* flows dropped since the last "lost" event */
	int closed;
	struct event *end_ev;
	struct webui_client *next;
};

/* Bytes queued on the client's connection. */
static size_t
webui_client_pending(const struct webui_client *c)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(c->req);
	struct bufferevent *bev = evcon != NULL ?
		evhttp_connection_get_bufferevent(evcon) : NULL;

	return bev != NULL ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

static void
webui_client_send(struct webui_client *c, const char *event, const char *data)
{
	struct evbuffer *buf = evbuffer_new();

	if (buf == NULL)
		return;
	if (event != NULL)
		evbuffer_add_printf(buf, "event: %s\ndata: %s\n\n", event, data);
	else
		evbuffer_add_printf(buf, "%s", data);
	evhttp_send_reply_chunk(c->req, buf);
	evbuffer_free(buf);
}

/* Unlink and free; the evhttp request is finished (also when its
 * connection is gone: evhttp frees it then). From the loop only. */
static void
webui_client_end(evutil_socket_t fd, short what, void *arg)
{
	struct webui_client *c = arg;
	struct webui *w = c->w;
	struct evhttp_connection *evcon;

	for (struct webui_client **pp = &w->clients; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			w->nclients--;
			break;
		}
	evcon = evhttp_request_get_connection(c->req);
	if (evcon != NULL)
		evhttp_connection_set_closecb(evcon, NULL, NULL);
	evhttp_send_reply_end(c->req);
	bw_flowfilters_clear(&c->filters);
	if (c->end_ev != NULL)
		event_free(c->end_ev);
	free(c);
}

static void
webui_client_closed(struct evhttp_connection *evcon, void *arg)
{
	struct webui_client *c = arg;

	if (c->closed)
		return;
	c->closed = 1;
	event_active(c->end_ev, EV_TIMEOUT, 0);
}

static void
webui_on_flow(const struct bw_flow *f, void *arg)
{
	struct webui *w = arg;
	char *json = NULL;
	size_t max;

	if (w->clients == NULL)
		return;
	max = (size_t)w->conf->client_queue;
	for (struct webui_client *c = w->clients; c != NULL; c = c->next) {
		size_t pending;

		if (c->closed || !bw_flowfilters_match(&c->filters, f))
			continue;
		pending = webui_client_pending(c);
		if (pending >= max) {
			c->lost++;
			w->flows_dropped++;
			continue;
		}
		if (c->lost > 0 && pending <= max / 2) {
			char lost[160];

			snprintf(lost, sizeof(lost),
				 "{\"lost_events\":{\"source\":\"WEBUI_CLIENT_QUEUE\","
				 "\"num_events_lost\":\"%llu\"}}",
				 (unsigned long long)c->lost);
			webui_client_send(c, "lost", lost);
			c->lost = 0;
		}
		if (json == NULL && w->api->flow_to_json(f, &json) < 0)
			return;
		webui_client_send(c, "flow", json);
		w->flows_sent++;
	}
	free(json);
}

static void
webui_keepalive(evutil_socket_t fd, short what, void *arg)
{
	struct webui *w = arg;

	for (struct webui_client *c = w->clients; c != NULL; c = c->next)
		if (!c->closed)
			webui_client_send(c, NULL, ": keepalive\n\n");
}

/* The whitelist/blacklist of the query, as /v1/flows reads them. */
static int
webui_filters(const char *query, struct bw_flowfilters *fs, char *err,
	      size_t errlen)
{
	struct evkeyvalq q;
	json_t *lists[2] = { NULL, NULL };
	static const char *const names[2][2] = {
		{ "whitelist", "allowlist" }, { "blacklist", "denylist" },
	};
	int rc = 0;

	TAILQ_INIT(&q);
	if (query != NULL && evhttp_parse_query_str(query, &q) < 0) {
		snprintf(err, errlen, "malformed query string");
		return -EINVAL;
	}
	for (int i = 0; i < 2 && rc == 0; i++) {
		const char *v = evhttp_find_header(&q, names[i][0]);
		json_error_t jerr;

		if (v == NULL)
			v = evhttp_find_header(&q, names[i][1]);
		if (v == NULL)
			continue;
		if ((lists[i] = json_loads(v, JSON_DECODE_ANY, &jerr)) == NULL) {
			snprintf(err, errlen, "%s: not JSON: %s", names[i][0], jerr.text);
			rc = -EINVAL;
		} else if (json_is_object(lists[i])) {
			lists[i] = json_pack("[o]", lists[i]);
		}
	}
	if (rc == 0)
		rc = bw_flowfilters_parse(fs, lists[0], lists[1], err, errlen);
	json_decref(lists[0]);
	json_decref(lists[1]);
	evhttp_clear_headers(&q);
	return rc;
}

void
webui_events(struct webui *w, struct evhttp_request *req, const char *query)
{
	struct webui_client *c;
	struct evhttp_connection *evcon;
	struct bufferevent *bev;
	char err[512], hello[128];

	if (w->nclients >= (size_t)w->conf->max_clients) {
		webui_reply_error(req, 503, "%zu live flow streams are open, the "
				  "most [webui] max_clients allows; close one",
				  w->nclients);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		webui_reply_error(req, 500, "out of memory");
		return;
	}
	if (webui_filters(query, &c->filters, err, sizeof(err)) < 0) {
		free(c);
		webui_reply_error(req, 400, "%s", err);
		return;
	}
	c->w = w;
	c->req = req;
	if ((c->end_ev = evtimer_new(w->base, webui_client_end, c)) == NULL) {
		bw_flowfilters_clear(&c->filters);
		free(c);
		webui_reply_error(req, 500, "out of memory");
		return;
	}
	webui_headers(req, "text/event-stream; charset=utf-8");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control",
			  "no-store");
	evhttp_send_reply_start(req, 200, "OK");
	evcon = evhttp_request_get_connection(req);
	if (evcon != NULL) {
		struct timeval wtv = { 60, 0 };

		evhttp_connection_set_closecb(evcon, webui_client_closed, c);
		/* the client sends nothing: no read timeout; a client that
		 * stops reading is dropped by the write timeout */
		bev = evhttp_connection_get_bufferevent(evcon);
		if (bev != NULL)
			bufferevent_set_timeouts(bev, NULL, &wtv);
	}
	c->next = w->clients;
	w->clients = c;
	w->nclients++;
	snprintf(hello, sizeof(hello), "{\"max_clients\":%lld,\"client_queue\":%lld}",
		 (long long)w->conf->max_clients, (long long)w->conf->client_queue);
	webui_client_send(c, NULL, "retry: 3000\n\n");
	webui_client_send(c, "hello", hello);
}

int
webui_events_init(struct webui *w)
{
	struct timeval tv = { WEBUI_KEEPALIVE_S, 0 };
	int rc;

	w->keepalive = event_new(w->base, -1, EV_PERSIST, webui_keepalive, w);
	if (w->keepalive == NULL || event_add(w->keepalive, &tv) < 0)
		return -ENOMEM;
	rc = w->api->flow_subscribe(w->ctx, webui_on_flow, w, NULL);
	if (rc < 0)
		webui_log(w, BW_LOG_ERR, "cannot subscribe to flows: %s",
			  strerror(-rc));
	return rc;
}

void
webui_events_stop(struct webui *w)
{
	while (w->clients != NULL) {
		w->clients->closed = 1;
		webui_client_end(-1, 0, w->clients);
	}
	if (w->keepalive != NULL) {
		event_free(w->keepalive);
		w->keepalive = NULL;
	}
}
