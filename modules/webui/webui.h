/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/webui/webui.h - what the web UI module's files share: the
 * instance, its config, and the entry points of the static file server
 * (webui_static.c), the control API proxy (webui_proxy.c) and the live
 * flow stream (webui_events.c). webui.c owns the listener, TLS, the access
 * checks every request passes first, and the lifecycle.
 */
#ifndef BW_WEBUI_H
#define BW_WEBUI_H

#include <stddef.h>
#include <stdint.h>

#include <bulwark/module.h>

struct evhttp;
struct evhttp_request;
struct event;
struct event_base;
struct webui_client;

struct webui_conf {
	char *listen;
	char *assets;
	char *token_file;
	char *tls_cert;
	char *tls_key;
	int allow_changes;
	int64_t max_clients;
	int64_t client_queue; /* bytes */
};

struct webui {
	bw_module_ctx *ctx;
	const struct bw_core_api *api;
	const struct webui_conf *conf;
	struct event_base *base;
	struct evhttp *http;
	void *ssl_ctx;          /* SSL_CTX *, NULL without TLS */
	int loopback;           /* the listener is on a loopback address */
	unsigned char token_sha[32]; /* SHA-256 of the bearer token */
	int have_token;
	char scheme[8];         /* "http" or "https" */

	/* live flow streams (webui_events.c) */
	struct webui_client *clients;
	size_t nclients;
	struct event *keepalive;

	/* counters (GET /api/ui, metrics) */
	uint64_t requests, unauthorized, forbidden;
	uint64_t flows_sent, flows_dropped;
};

#define webui_log(w, lvl, ...) (w)->api->log((w)->ctx, (lvl), __VA_ARGS__)

/* ---- webui.c: replies every part uses ------------------------------------------------ */

/* The security headers every reply carries (and a CSP for HTML). */
void webui_headers(struct evhttp_request *req, const char *content_type);
/* Reply {"error": "<message>"} with status. */
void webui_reply_error(struct evhttp_request *req, int status, const char *fmt,
		       ...) __attribute__((format(printf, 3, 4)));
/* Reply JSON text as it is (status, "\n" appended). */
void webui_reply_json(struct evhttp_request *req, int status, const char *json);
const char *webui_reason(int status);

/* ---- webui_static.c ---------------------------------------------------------------------- */

/*
 * Serve GET/HEAD of path (URL-encoded, as on the wire) from the assets
 * directory: "/" is index.html; a path that leaves the directory, names a
 * hidden file or is not a regular file is refused with a JSON error.
 */
void webui_static(struct webui *w, struct evhttp_request *req, const char *path);
/*
 * The file path under root for the URL path upath (URL-encoded), in out:
 * 0, or -EINVAL (a ".." or "." segment, a hidden name, a NUL, a backslash,
 * an empty segment), -ENAMETOOLONG. No file system access; the caller
 * still checks the resolved path stays under root.
 */
int webui_static_path(const char *root, const char *upath, char *out,
		      size_t outlen);

/* ---- webui_proxy.c ----------------------------------------------------------------------- */

/*
 * /api/v1/...: the daemon's control API route /v1/... called in-process
 * (bw_core_api.api_call), its reply passed on as it is. GET is always
 * allowed (except following streams: /api/events), POST /v1/simulate (a
 * what-if, it changes nothing) too; policy import, replace and delete only
 * with allow_changes.
 */
void webui_proxy(struct webui *w, struct evhttp_request *req, const char *path,
		 const char *query);

/* ---- webui_events.c ---------------------------------------------------------------------- */

/* GET /api/events: flows as Server-Sent Events (filters as /v1/flows). */
void webui_events(struct webui *w, struct evhttp_request *req, const char *query);
/* Subscribe to the flow pipeline and start the keepalive timer. */
int webui_events_init(struct webui *w);
/* End every stream (the loop is stopping). */
void webui_events_stop(struct webui *w);

#endif /* BW_WEBUI_H */
