/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/alerts/alerts_webhook.c - alerts as HTTP POSTs of JSON to a
 * webhook, with libevent's evhttp client on the daemon's loop (nothing
 * blocks: connecting, TLS and the reply are events).
 *
 * Alerts wait in a queue bounded in number; a full queue refuses (and
 * counts) the new alert. One POST is in flight at a time, in order. A POST
 * that fails (no connection, a timeout, a reply other than 2xx) is tried
 * again after a backoff that doubles from `backoff` up to a minute; after
 * `retries` failed tries the alert is given up and counted. https:// URLs
 * are verified against the system's CA certificates (or `webhook_ca`),
 * host name included (OpenSSL through libevent's bufferevent_openssl).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "alerts.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

struct wh_item {
	struct wh_item *next;
	char *body;
	int attempts;
};

struct alerts_webhook {
	struct event_base *base;
	char *host;
	int port;
	char *path;        /* path and query */
	int https;
	SSL_CTX *ssl_ctx;
	struct evhttp_connection *conn;
	int conn_bad;      /* free and reconnect before the next POST */
	struct wh_item *head, *tail;
	size_t n, max;
	int inflight;
	int waiting;       /* a retry is scheduled */
	struct event *retry_ev;
	int retries;
	int64_t backoff_ms, timeout_ms;
	struct alerts_webhook_stats st;
};

static int
wh_parse(const char *url, char **host, int *port, char **path, int *https, char *err,
	 size_t errlen)
{
	struct evhttp_uri *u = evhttp_uri_parse(url);
	const char *scheme, *h, *p, *q;

	if (u == NULL) {
		snprintf(err, errlen, "'%s' is not a URL", url);
		return -EINVAL;
	}
	scheme = evhttp_uri_get_scheme(u);
	h = evhttp_uri_get_host(u);
	if (scheme == NULL || (strcasecmp(scheme, "http") && strcasecmp(scheme, "https"))) {
		snprintf(err, errlen, "'%s': give an http:// or https:// URL", url);
		evhttp_uri_free(u);
		return -EINVAL;
	}
	if (h == NULL || *h == '\0') {
		snprintf(err, errlen, "'%s' has no host", url);
		evhttp_uri_free(u);
		return -EINVAL;
	}
	if (evhttp_uri_get_userinfo(u) != NULL) {
		snprintf(err, errlen, "'%s': credentials in the URL are not supported", url);
		evhttp_uri_free(u);
		return -EINVAL;
	}
	if (host != NULL) {
		*https = !strcasecmp(scheme, "https");
		*port = evhttp_uri_get_port(u);
		if (*port <= 0)
			*port = *https ? 443 : 80;
		p = evhttp_uri_get_path(u);
		q = evhttp_uri_get_query(u);
		*host = strdup(h);
		if (asprintf(path, "%s%s%s", p != NULL && *p ? p : "/", q != NULL ? "?" : "",
			     q != NULL ? q : "") < 0)
			*path = NULL;
		if (*host == NULL || *path == NULL) {
			evhttp_uri_free(u);
			return -ENOMEM;
		}
	}
	evhttp_uri_free(u);
	return 0;
}

int
alerts_webhook_check(const char *url, char *err, size_t errlen)
{
	return wh_parse(url, NULL, NULL, NULL, NULL, err, errlen);
}

static void __attribute__((format(printf, 2, 3)))
wh_error(struct alerts_webhook *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->st.last_error, sizeof(w->st.last_error), fmt, ap);
	va_end(ap);
	w->st.error_seq++;
}

static struct evhttp_connection *
wh_connect(struct alerts_webhook *w)
{
	struct bufferevent *bev = NULL;
	struct evhttp_connection *c;

	if (w->https) {
		SSL *ssl = SSL_new(w->ssl_ctx);

		if (ssl == NULL)
			return NULL;
		SSL_set_tlsext_host_name(ssl, w->host);
		SSL_set1_host(ssl, w->host);
		bev = bufferevent_openssl_socket_new(w->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
						     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		if (bev == NULL) {
			SSL_free(ssl);
			return NULL;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	}
	c = evhttp_connection_base_bufferevent_new(w->base, NULL, bev, w->host,
						   (unsigned short)w->port);
	if (c == NULL)
		return NULL;
	evhttp_connection_set_timeout(c, (int)((w->timeout_ms + 999) / 1000));
	return c;
}

static void wh_kick(struct alerts_webhook *w);

static void
wh_pop(struct alerts_webhook *w)
{
	struct wh_item *it = w->head;

	if (it == NULL)
		return;
	w->head = it->next;
	if (w->head == NULL)
		w->tail = NULL;
	w->n--;
	free(it->body);
	free(it);
}

static void
wh_done(struct evhttp_request *req, void *arg)
{
	struct alerts_webhook *w = arg;
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;
	struct wh_item *it = w->head;

	w->inflight = 0;
	if (it == NULL)
		return;
	if (code >= 200 && code < 300) {
		w->st.sent++;
		wh_pop(w);
		wh_kick(w);
		return;
	}
	if (code == 0) {
		unsigned long e = ERR_get_error();

		wh_error(w, "POST http%s://%s:%d%s: %s", w->https ? "s" : "", w->host, w->port,
			 w->path, e != 0 ? ERR_reason_error_string(e)
					 : "no answer (connection refused, reset or timed out)");
		w->conn_bad = 1;
	} else {
		wh_error(w, "POST http%s://%s:%d%s: the webhook answered %d", w->https ? "s" : "",
			 w->host, w->port, w->path, code);
	}
	it->attempts++;
	{
		int64_t ms = w->backoff_ms;
		struct timeval tv;

		for (int i = 1; i < it->attempts && ms < 60000; i++)
			ms *= 2;
		if (ms > 60000)
			ms = 60000;
		if (it->attempts > w->retries) {
			/* given up; the next alert goes out from the timer, not
			 * from inside this callback (the connection may be freed) */
			w->st.failed++;
			wh_pop(w);
			ms = 0;
		} else {
			w->st.retries++;
		}
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		w->waiting = 1;
		event_add(w->retry_ev, &tv);
	}
}

static void
wh_retry(evutil_socket_t fd, short what, void *arg)
{
	struct alerts_webhook *w = arg;

	(void)fd;
	(void)what;
	w->waiting = 0;
	wh_kick(w);
}

static void
wh_kick(struct alerts_webhook *w)
{
	struct evhttp_request *req;
	struct evkeyvalq *h;
	char hostport[300];

	if (w->inflight || w->waiting || w->head == NULL)
		return;
	if (w->conn_bad && w->conn != NULL) {
		evhttp_connection_free(w->conn);
		w->conn = NULL;
	}
	w->conn_bad = 0;
	if (w->conn == NULL && (w->conn = wh_connect(w)) == NULL) {
		wh_error(w, "cannot create a connection to %s:%d", w->host, w->port);
		return;
	}
	if ((req = evhttp_request_new(wh_done, w)) == NULL)
		return;
	h = evhttp_request_get_output_headers(req);
	if ((w->https && w->port == 443) || (!w->https && w->port == 80))
		snprintf(hostport, sizeof(hostport), "%s", w->host);
	else
		snprintf(hostport, sizeof(hostport), "%s:%d", w->host, w->port);
	evhttp_add_header(h, "Host", hostport);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "User-Agent", "bulwark/" PACKAGE_VERSION);
	evbuffer_add(evhttp_request_get_output_buffer(req), w->head->body,
		     strlen(w->head->body));
	w->inflight = 1;
	if (evhttp_make_request(w->conn, req, EVHTTP_REQ_POST, w->path) < 0) {
		/* the request was freed; treat it as a failed try */
		wh_done(NULL, w);
	}
}

int
alerts_webhook_new(struct alerts_webhook **out, struct event_base *base, const char *url,
		   size_t queue_max, int retries, int64_t backoff_ms, int64_t timeout_ms,
		   char *err, size_t errlen)
{
	struct alerts_webhook *w = calloc(1, sizeof(*w));
	int rc;

	if (w == NULL)
		return -ENOMEM;
	w->base = base;
	w->max = queue_max;
	w->retries = retries;
	w->backoff_ms = backoff_ms > 0 ? backoff_ms : 1000;
	w->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	if ((rc = wh_parse(url, &w->host, &w->port, &w->path, &w->https, err, errlen)) < 0)
		goto fail;
	if (w->https) {
		if ((w->ssl_ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
			snprintf(err, errlen, "cannot create a TLS context");
			rc = -ENOMEM;
			goto fail;
		}
		SSL_CTX_set_verify(w->ssl_ctx, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_min_proto_version(w->ssl_ctx, TLS1_2_VERSION);
		SSL_CTX_set_default_verify_paths(w->ssl_ctx);
	}
	if ((w->retry_ev = event_new(base, -1, 0, wh_retry, w)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	*out = w;
	return 0;
fail:
	alerts_webhook_free(w);
	return rc;
}

/* Trust only this CA file (webhook_ca). */
int
alerts_webhook_set_ca(struct alerts_webhook *w, const char *file, char *err, size_t errlen)
{
	if (!w->https || file == NULL || *file == '\0')
		return 0;
	if (SSL_CTX_load_verify_locations(w->ssl_ctx, file, NULL) != 1) {
		snprintf(err, errlen, "cannot read CA certificates from %s", file);
		return -EINVAL;
	}
	return 0;
}

int
alerts_webhook_send(struct alerts_webhook *w, const char *json)
{
	struct wh_item *it;

	if (w->n >= w->max) {
		w->st.queue_full++;
		return -ENOBUFS;
	}
	if ((it = calloc(1, sizeof(*it))) == NULL || (it->body = strdup(json)) == NULL) {
		free(it);
		return -ENOMEM;
	}
	if (w->tail != NULL)
		w->tail->next = it;
	else
		w->head = it;
	w->tail = it;
	w->n++;
	wh_kick(w);
	return 0;
}

void
alerts_webhook_stats(struct alerts_webhook *w, struct alerts_webhook_stats *st)
{
	*st = w->st;
	st->queued = w->n;
}

void
alerts_webhook_free(struct alerts_webhook *w)
{
	if (w == NULL)
		return;
	if (w->conn != NULL)
		evhttp_connection_free(w->conn);
	if (w->retry_ev != NULL)
		event_free(w->retry_ev);
	while (w->head != NULL)
		wh_pop(w);
	if (w->ssl_ctx != NULL)
		SSL_CTX_free(w->ssl_ctx);
	free(w->host);
	free(w->path);
	free(w);
}
