/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/api.h - the control API: HTTP/1.1 + JSON over a Unix socket.
 *
 * bulwarkd answers the CLI (and anything else allowed on the socket) with
 * libevent's evhttp. Parts of the core and modules register routes; the
 * route table lives here and is independent of the listener, so routes may
 * be added before bw_api_init() runs. Every error reply is a JSON object
 * {"error": "..."} with a message a person can act on.
 *
 * Everything here runs on the loop thread.
 */
#ifndef BW_CORE_API_H
#define BW_CORE_API_H

#include <stdarg.h>
#include <stddef.h>

#include <jansson.h>

#include "bulwark/module.h" /* struct bw_api_request, bw_free_fn */

struct event_base;

/* Largest request body the daemon reads (bytes). */
#define BW_API_MAX_BODY (16u * 1024 * 1024)

/* Seconds a client may stay silent mid-request (streams excepted). */
#define BW_API_TIMEOUT 60
/* Connections the control socket takes at once, and how long a client has
 * to send a whole request (headers and body) once connected or answered
 * (lib/httpguard.h), and the largest request head. */
#define BW_API_MAX_CONNS 256
#define BW_API_REQUEST_TIMEOUT 10
#define BW_API_MAX_HEADERS (64 * 1024)

/*
 * A route handler. Return 0 after replying or after bw_api_stream_begin();
 * a negative errno makes the core answer 500 with that error's text if the
 * handler has not replied yet.
 */
typedef int (*bw_api_fn)(struct bw_api_request *req, void *arg);

/*
 * Start listening on socket_path (mode 0660; group `group` when not NULL or
 * empty). A stale socket file is removed only when nothing answers on it;
 * if another daemon listens there, start-up is refused. Logs the reason of
 * any failure. Returns 0 or a negative errno.
 */
int bw_api_init(struct event_base *base, const char *socket_path,
		const char *group);

/* Change the idle timeout (tests); 0 restores BW_API_TIMEOUT. */
void bw_api_set_timeout(int seconds);
/*
 * Connections at once and the request deadline in seconds (daemon.
 * api_max_connections, api_request_timeout), before bw_api_init(); 0 keeps
 * BW_API_MAX_CONNS / BW_API_REQUEST_TIMEOUT.
 */
void bw_api_set_limits(unsigned max_conns, unsigned request_timeout_s);

/* Close the listener, remove the socket file, drop every route. */
void bw_api_fini(void);

/* Readiness reported by GET /v1/status ("ready"). */
void bw_api_set_ready(int ready);
int bw_api_is_ready(void);

/*
 * Add a route. path starts with '/'; it matches exactly, or as a prefix
 * when it ends in '/' (e.g. "/v1/endpoints/"). The longest match wins.
 * Returns 0, -EEXIST when the method and path are taken, -EINVAL.
 */
int bw_api_route_add(const char *method, const char *path, bw_api_fn fn,
		     void *arg);

/*
 * Same, with a free function the core calls with arg when the route is
 * dropped, and an owner tag (a module instance) so that every route of an
 * owner can be dropped at once.
 */
int bw_api_route_add_owned(const char *method, const char *path, bw_api_fn fn,
			   void *arg, bw_free_fn free_fn, const void *owner);
/* Drop one route; returns 0 or -ENOENT. */
int bw_api_route_remove(const char *method, const char *path);
/* Drop every route added with this owner. */
void bw_api_route_remove_owner(const void *owner);

/*
 * Request hooks: before(arg) runs just before every route handler and
 * after(arg) just after it returns (for a stream, after its first part),
 * before the loop runs again. The transport knows no subsystem; a layer
 * that must act per request registers a hook (the datapath coalesces the
 * conntrack revalidations a request asks for). Hooks run in registration
 * order, the after ones in reverse. Returns 0, -EEXIST for the same
 * (before, after, arg) twice, -ENOMEM. bw_api_fini() drops them all.
 */
int bw_api_hook_add(void (*before)(void *arg), void (*after)(void *arg),
		    void *arg);
void bw_api_hook_remove(void (*before)(void *arg), void (*after)(void *arg),
			void *arg);

/* ---- requests ---------------------------------------------------------- */

const char *bw_api_req_method(struct bw_api_request *req);
/* URL-decoded path, without the query string. */
const char *bw_api_req_path(struct bw_api_request *req);
/* Query parameter, URL-decoded, or NULL. */
const char *bw_api_req_query(struct bw_api_request *req, const char *name);
/* Request body as a NUL-terminated copy owned by the request ("" if none). */
const char *bw_api_req_body(struct bw_api_request *req, size_t *len);
/*
 * The body parsed as JSON (a new reference the caller owns). On a malformed
 * or empty body it replies 400 naming the line and column and returns NULL.
 */
json_t *bw_api_req_json(struct bw_api_request *req);

/* ---- replies ----------------------------------------------------------- */

/* Reply with a JSON document; steals doc. Returns 0 or -errno. */
int bw_api_reply_json(struct bw_api_request *req, int status, json_t *doc);
/* Reply with JSON text as it is (the text is copied). */
int bw_api_reply_text(struct bw_api_request *req, int status,
		      const char *json);
/*
 * Reply {"error": "<message>"}; 400 bad input, 404 unknown object,
 * 409 conflict, 500 internal. A 5xx reply is also logged here ("api:
 * METHOD PATH: message"): a handler that replies 5xx does not log the
 * failure itself (log once).
 */
int bw_api_reply_error(struct bw_api_request *req, int status,
		       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int bw_api_reply_verror(struct bw_api_request *req, int status,
			const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/*
 * Answer later: a handler that waits for something off the loop thread
 * (a database query on a worker thread) calls this and returns 0; the
 * request stays open until one of the reply functions above answers it,
 * later and on the loop thread, exactly once. When the client went away in
 * the meantime that reply returns -EPIPE and only frees the request.
 * Returns 0, or -EALREADY after a reply or a stream began.
 */
int bw_api_reply_later(struct bw_api_request *req);

/*
 * NDJSON streaming (chunked reply, Content-Type application/x-ndjson).
 * After bw_api_stream_begin() the request outlives its handler until
 * bw_api_stream_end(), which the owner must always call, also after the
 * client went away (then the write calls return -EPIPE and the close
 * callback, if set, has been called once).
 */
int bw_api_stream_begin(struct bw_api_request *req);
int bw_api_stream_json(struct bw_api_request *req, json_t *line); /* steals */
int bw_api_stream_text(struct bw_api_request *req, const char *json);
int bw_api_stream_end(struct bw_api_request *req);
void bw_api_stream_on_close(struct bw_api_request *req,
			    void (*cb)(struct bw_api_request *req, void *arg),
			    void *arg);

/* ---- in-process calls ---------------------------------------------------- */

/* How deeply in-process calls may nest (a handler calling a route ...). */
#define BW_API_CALL_DEPTH 4

/*
 * Run the route for method and target ("/v1/...?query", URL-encoded as on
 * the wire) as if a client had sent it, with the same handlers, replies and
 * errors; the reply goes to cb (see bw_api_call_fn in bulwark/module.h)
 * instead of a socket. The route runs before this returns: a plain reply,
 * an error, or a stream ended by its handler has reached cb by then. A
 * stream that goes on, or a deferred reply (bw_api_reply_later), sets
 * *handle (else NULL): cb gets it later, from the loop, and
 * bw_api_local_cancel(*handle) stops it.
 * Returns 0 once cb has been called at least once, or a negative errno
 * (-EINVAL, -E2BIG, -ELOOP, -ENOMEM) when cb was not called at all.
 */
int bw_api_local_call(const char *method, const char *target, const char *body,
		size_t body_len, bw_api_call_fn cb, void *arg,
		struct bw_api_request **handle);
/*
 * The caller of a going stream no longer wants it: cb is not called again,
 * and the stream's owner sees its client go (its close callback), as when
 * a socket client disconnects. Not after cb got BW_API_CALL_STREAM_END.
 */
void bw_api_local_cancel(struct bw_api_request *req);

/* ---- status document ---------------------------------------------------- */

/*
 * Add a section to GET /v1/status: fn(arg) returns a new JSON value stored
 * under key (NULL to omit it this time). Returns 0, -EEXIST, -ENOMEM.
 */
int bw_api_status_add(const char *key, json_t *(*fn)(void *arg), void *arg);
void bw_api_status_remove(const char *key);

#endif /* BW_CORE_API_H */
