/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/webui/webui.c - the web UI module: a single-page application
 * (the service map, flows, policies and the adoption reports) served by
 * bulwarkd on its own HTTP listener, [webui] listen (127.0.0.1:9963).
 *
 *   /                 the page and its assets, files read from [webui]
 *                     assets (P/share/bulwark/webui) at each request
 *                     (webui_static.c)
 *   /api/v1/...       the daemon's control API routes /v1/..., called
 *                     in-process (bw_core_api.api_call): the same JSON,
 *                     errors and streams the CLI gets (webui_proxy.c)
 *   /api/events       new flows as Server-Sent Events, with /v1/flows'
 *                     filters and a bounded queue per client
 *                     (webui_events.c)
 *   /api/ui           what the page needs to know about this listener
 *
 * Access, checked here before anything else:
 *   - off loopback the listener needs TLS (tls_cert, tls_key) and a bearer
 *     token (token_file): check() refuses the config otherwise; on
 *     loopback both are optional;
 *   - with a token, every /api/ request must carry "Authorization: Bearer
 *     TOKEN" (compared in constant time: SHA-256 of both, CRYPTO_memcmp),
 *     else 401; the page itself carries no data and is served to anyone,
 *     so that it can ask for the token;
 *   - without a token (loopback only) the Host header must name a
 *     loopback host, so that a web page cannot reach the API through DNS
 *     rebinding;
 *   - no CORS headers at all, and requests that are not GET/HEAD must
 *     carry "X-Requested-With: bulwark-webui" (which a cross-origin page
 *     cannot send without a preflight, which is refused) and, if they have
 *     an Origin, the listener's own;
 *   - the control API is read-only through the UI unless allow_changes,
 *     which needs a token even on loopback (every local user reaches a
 *     loopback listener; the control socket is for root and its group).
 * Every error is a JSON object {"error": "..."}.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "lib/listenaddr.h"
#include "webui.h"

#ifndef BW_WEBUI_DIR
#define BW_WEBUI_DIR "/usr/local/share/bulwark/webui"
#endif

#define WEBUI_VERSION "1.0"
#define WEBUI_MAX_BODY (4u << 20)  /* policy files, simulate candidates */
#define WEBUI_TOKEN_MIN 16
#define WEBUI_TOKEN_MAX 4096

/* The core's table (the same for every instance; stop/fini do not get it). */
static const struct bw_core_api *webui_api;

static const struct bw_conf_key webui_keys[] = {
	{ .name = "listen", .type = BW_CONF_STRING, .def = "127.0.0.1:9963",
	  .offset = offsetof(struct webui_conf, listen), .flags = BW_CONF_F_LISTEN,
	  .help = "address of the web UI: HOST:PORT, [IPV6]:PORT or :PORT; off loopback it needs tls_cert, tls_key and token_file" },
	{ .name = "assets", .type = BW_CONF_STRING, .def = BW_WEBUI_DIR,
	  .offset = offsetof(struct webui_conf, assets),
	  .help = "directory of the page and its assets (installed with bulwark)" },
	{ .name = "token_file", .type = BW_CONF_STRING, .def = "",
	  .offset = offsetof(struct webui_conf, token_file),
	  .flags = BW_CONF_F_RELOADABLE,
	  .help = "file holding the bearer token the API requires (not readable by others); empty: no token (loopback only)" },
	{ .name = "tls_cert", .type = BW_CONF_STRING, .def = "",
	  .offset = offsetof(struct webui_conf, tls_cert),
	  .help = "PEM certificate (chain) for HTTPS; empty: plain HTTP (loopback only)" },
	{ .name = "tls_key", .type = BW_CONF_STRING, .def = "",
	  .offset = offsetof(struct webui_conf, tls_key),
	  .help = "PEM private key of tls_cert" },
	{ .name = "allow_changes", .type = BW_CONF_BOOL, .def = "false",
	  .offset = offsetof(struct webui_conf, allow_changes),
	  .flags = BW_CONF_F_RELOADABLE,
	  .help = "let the UI import, replace and delete policies (needs token_file; read-only when false)" },
	{ .name = "max_clients", .type = BW_CONF_INT, .def = "16",
	  .offset = offsetof(struct webui_conf, max_clients), .min = 1, .max = 1024,
	  .help = "live flow streams (/api/events) served at once (1 .. 1024)" },
	{ .name = "client_queue", .type = BW_CONF_SIZE, .def = "1M",
	  .offset = offsetof(struct webui_conf, client_queue), .min = 65536,
	  .max = INT64_C(64) << 20,
	  .help = "bytes of live flows queued for one slow client before its flows are dropped (and counted)" },
	BW_CONF_KEY_END,
};

/* ---- config ---------------------------------------------------------------------------- */

static int
webui_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* check() (ABI 1.1): only the config, no I/O. */
static int
webui_check(const void *confp, char *err, size_t errlen, const char **key)
{
	const struct webui_conf *conf = confp;
	char host[256];
	uint16_t port;
	const char *why;

	*key = "listen";
	if ((why = bw_listen_parse(conf->listen, host, sizeof(host), &port)) != NULL) {
		snprintf(err, errlen, "'%s' is not a listen address (HOST:PORT, "
			 "[IPV6]:PORT or :PORT): %s",
			 conf->listen != NULL ? conf->listen : "", why);
		return -EINVAL;
	}
	if (webui_set(conf->tls_cert) != webui_set(conf->tls_key)) {
		*key = webui_set(conf->tls_cert) ? "tls_key" : "tls_cert";
		snprintf(err, errlen, "tls_cert and tls_key go together: set both "
			 "for HTTPS, or neither");
		return -EINVAL;
	}
	if (!bw_listen_is_loopback(host) &&
	    (!webui_set(conf->tls_cert) || !webui_set(conf->token_file))) {
		snprintf(err, errlen, "%s is not a loopback address: the web UI "
			 "serves other hosts only over HTTPS with a bearer token; "
			 "set tls_cert, tls_key and token_file (docs/webui.md)",
			 conf->listen);
		return -EINVAL;
	}
	if (conf->allow_changes && !webui_set(conf->token_file)) {
		*key = "allow_changes";
		snprintf(err, errlen, "policy changes through the web UI need a "
			 "bearer token, even on loopback (every user of this host "
			 "can reach it): set token_file");
		return -EINVAL;
	}
	if (conf->assets == NULL || conf->assets[0] != '/') {
		*key = "assets";
		snprintf(err, errlen, "'%s' is not an absolute path",
			 conf->assets != NULL ? conf->assets : "");
		return -EINVAL;
	}
	return 0;
}

/*
 * Read the bearer token from path into sha (its SHA-256): one line of
 * printable characters without blanks, WEBUI_TOKEN_MIN or more, in a
 * regular file that others cannot read. Logs what is wrong.
 */
static int
webui_token_load(struct webui *w, const char *path, unsigned char sha[32])
{
	char buf[WEBUI_TOKEN_MAX + 2];
	struct stat st;
	ssize_t n;
	size_t len;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		rc = -errno;
		webui_log(w, BW_LOG_ERR, "token_file %s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		webui_log(w, BW_LOG_ERR, "token_file %s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		webui_log(w, BW_LOG_ERR, "token_file %s: others may read it (mode "
			  "%03o); chmod o-rw %s", path, (unsigned)(st.st_mode & 0777),
			  path);
		close(fd);
		return -EPERM;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		rc = -errno;
		webui_log(w, BW_LOG_ERR, "token_file %s: %s", path, strerror(errno));
		return rc;
	}
	buf[n] = '\0';
	len = (size_t)n;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (len > WEBUI_TOKEN_MAX) {
		webui_log(w, BW_LOG_ERR, "token_file %s: longer than %d bytes", path,
			  WEBUI_TOKEN_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++)
		if (buf[i] <= ' ' || buf[i] > '~') {
			webui_log(w, BW_LOG_ERR, "token_file %s: the token must be "
				  "one line of printable characters without blanks",
				  path);
			return -EINVAL;
		}
	if (len < WEBUI_TOKEN_MIN) {
		webui_log(w, BW_LOG_ERR, "token_file %s: the token has %zu "
			  "characters; use %d or more (e.g. openssl rand -hex 32)",
			  path, len, WEBUI_TOKEN_MIN);
		return -EINVAL;
	}
	if (EVP_Digest(buf, len, sha, NULL, EVP_sha256(), NULL) != 1)
		rc = -EIO;
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

/* ---- TLS ------------------------------------------------------------------------------- */

static void
webui_ssl_error(struct webui *w, const char *what, const char *path)
{
	char msg[256];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, msg, sizeof(msg));
	webui_log(w, BW_LOG_ERR, "%s %s: %s", what, path, e ? msg : "failed");
	ERR_clear_error();
}

static int
webui_tls_init(struct webui *w)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL)
		return -ENOMEM;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, w->conf->tls_cert) != 1) {
		webui_ssl_error(w, "tls_cert", w->conf->tls_cert);
		SSL_CTX_free(ctx);
		return -EINVAL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, w->conf->tls_key, SSL_FILETYPE_PEM) != 1) {
		webui_ssl_error(w, "tls_key", w->conf->tls_key);
		SSL_CTX_free(ctx);
		return -EINVAL;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		webui_ssl_error(w, "tls_key does not match tls_cert:", w->conf->tls_key);
		SSL_CTX_free(ctx);
		return -EINVAL;
	}
	w->ssl_ctx = ctx;
	return 0;
}

/* evhttp's bufferevent factory: every connection speaks TLS. */
static struct bufferevent *
webui_bevcb(struct event_base *base, void *arg)
{
	struct webui *w = arg;
	struct bufferevent *bev;
	SSL *ssl = SSL_new(w->ssl_ctx);

	if (ssl == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
					     BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (bev != NULL)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* ---- replies -------------------------------------------------------------------------- */

const char *
webui_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return status < 400 ? "OK" : "Error";
	}
}

void
webui_headers(struct evhttp_request *req, const char *content_type)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	if (content_type != NULL)
		evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Cross-Origin-Resource-Policy", "same-origin");
	if (content_type != NULL && !strncmp(content_type, "text/html", 9))
		evhttp_add_header(h, "Content-Security-Policy",
				  "default-src 'self'; img-src 'self' data: blob:; "
				  "style-src 'self'; script-src 'self'; "
				  "connect-src 'self'; object-src 'none'; "
				  "base-uri 'none'; form-action 'none'; "
				  "frame-ancestors 'none'");
}

void
webui_reply_json(struct evhttp_request *req, int status, const char *json)
{
	struct evbuffer *buf = evbuffer_new();

	if (buf == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	webui_headers(req, "application/json");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control",
			  "no-store");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* evhttp would send a body: the length alone */
		char len[32];

		snprintf(len, sizeof(len), "%zu", strlen(json) + 1);
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Content-Length", len);
	} else {
		evbuffer_add(buf, json, strlen(json));
		evbuffer_add(buf, "\n", 1);
	}
	evhttp_send_reply(req, status, webui_reason(status), buf);
	evbuffer_free(buf);
}

void
webui_reply_error(struct evhttp_request *req, int status, const char *fmt, ...)
{
	char msg[1024], *text;
	va_list ap;
	json_t *doc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	doc = json_pack("{s:s}", "error", msg);
	text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	webui_reply_json(req, status, text != NULL ? text : "{\"error\":\"out of memory\"}");
	free(text);
}

/* ---- access --------------------------------------------------------------------------- */

/* The Host header's host part (without port and brackets) in out. */
static int
webui_host_of(struct evhttp_request *req, char *out, size_t outlen)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req),
					   "Host");
	const char *end;
	size_t n;

	if (h == NULL || h[0] == '\0')
		return -ENOENT;
	if (h[0] == '[') {
		if ((end = strchr(h, ']')) == NULL)
			return -EINVAL;
		h++;
	} else if ((end = strchr(h, ':')) == NULL) {
		end = h + strlen(h);
	}
	n = (size_t)(end - h);
	if (n == 0 || n >= outlen)
		return -EINVAL;
	memcpy(out, h, n);
	out[n] = '\0';
	return 0;
}

/* Without a token (loopback only): the Host must be a loopback name. */
static int
webui_host_ok(struct webui *w, struct evhttp_request *req)
{
	char host[256];

	if (w->have_token)
		return 1;
	return webui_host_of(req, host, sizeof(host)) == 0 &&
	       bw_listen_is_loopback(host);
}

/* "Authorization: Bearer TOKEN", compared in constant time. */
static int
webui_authorized(struct webui *w, struct evhttp_request *req)
{
	const char *a;
	unsigned char sha[32];

	if (!w->have_token)
		return 1;
	a = evhttp_find_header(evhttp_request_get_input_headers(req),
			       "Authorization");
	if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0)
		return 0;
	a += 7;
	while (*a == ' ')
		a++;
	if (EVP_Digest(a, strlen(a), sha, NULL, EVP_sha256(), NULL) != 1)
		return 0;
	return CRYPTO_memcmp(sha, w->token_sha, sizeof(sha)) == 0;
}

/*
 * A request that may change something: it must carry the UI's header
 * (a cross-origin page cannot, without a preflight we refuse), and an
 * Origin, if any, must be this listener.
 */
static const char *
webui_same_origin(struct webui *w, struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *xrw = evhttp_find_header(in, "X-Requested-With");
	const char *origin = evhttp_find_header(in, "Origin");
	const char *host = evhttp_find_header(in, "Host");
	char want[512];

	if (xrw == NULL || strcmp(xrw, "bulwark-webui") != 0)
		return "requests that change or submit something must carry "
		       "'X-Requested-With: bulwark-webui'";
	if (origin != NULL) { /* "null" (a sandboxed or file: page) too */
		snprintf(want, sizeof(want), "%s://%s", w->scheme,
			 host != NULL ? host : "");
		if (host == NULL || strcasecmp(origin, want) != 0)
			return "cross-origin requests are refused";
	}
	return NULL;
}

/* ---- the listener --------------------------------------------------------------------- */

static void
webui_ui_info(struct webui *w, struct evhttp_request *req)
{
	json_t *doc = json_pack("{s:s, s:s, s:b, s:s, s:b, s:I, s:I, s:I}",
				"version", WEBUI_VERSION, "instance",
				w->api->instance_name(w->ctx), "allow_changes",
				w->conf->allow_changes, "auth",
				w->have_token ? "token" : "none", "tls",
				w->ssl_ctx != NULL, "max_clients",
				(json_int_t)w->conf->max_clients, "clients",
				(json_int_t)w->nclients, "client_queue",
				(json_int_t)w->conf->client_queue);
	char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;

	json_decref(doc);
	if (text == NULL) {
		webui_reply_error(req, 500, "out of memory");
		return;
	}
	webui_reply_json(req, 200, text);
	free(text);
}

static void
webui_http_cb(struct evhttp_request *req, void *arg)
{
	struct webui *w = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	int read_only = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;
	const char *why;

	w->requests++;
	if (path == NULL || path[0] == '\0')
		path = "/";
	if (!webui_host_ok(w, req)) {
		w->forbidden++;
		webui_reply_error(req, 403, "the Host header must name this "
				  "loopback listener (127.0.0.1, [::1] or localhost): "
				  "open http://%s/", w->conf->listen);
		return;
	}
	if (strncmp(path, "/api/", 5) != 0) {
		if (!read_only) {
			evhttp_add_header(evhttp_request_get_output_headers(req),
					  "Allow", "GET, HEAD");
			webui_reply_error(req, 405, "the page and its files are "
					  "read with GET");
			return;
		}
		webui_static(w, req, path);
		return;
	}
	if (!webui_authorized(w, req)) {
		w->unauthorized++;
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "WWW-Authenticate", "Bearer realm=\"bulwark\"");
		webui_reply_error(req, 401, "this API needs 'Authorization: "
				  "Bearer TOKEN' with the token of [webui] token_file");
		return;
	}
	if (cmd == EVHTTP_REQ_OPTIONS) {
		webui_reply_error(req, 405, "cross-origin requests are not served");
		return;
	}
	if (cmd == EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
				  "GET");
		webui_reply_error(req, 405, "use GET for %s", path);
		return;
	}
	if (!read_only && (why = webui_same_origin(w, req)) != NULL) {
		w->forbidden++;
		webui_reply_error(req, 403, "%s", why);
		return;
	}
	if (!strcmp(path, "/api/ui")) {
		if (!read_only)
			webui_reply_error(req, 405, "use GET /api/ui");
		else
			webui_ui_info(w, req);
	} else if (!strcmp(path, "/api/events")) {
		if (!read_only)
			webui_reply_error(req, 405, "use GET /api/events");
		else
			webui_events(w, req, query);
	} else if (!strncmp(path, "/api/v1/", 8)) {
		webui_proxy(w, req, path + 4, query);
	} else {
		webui_reply_error(req, 404, "no web UI API at %s: the control API "
				  "is under /api/v1/, live flows at /api/events", path);
	}
}

/* ---- metrics -------------------------------------------------------------------------- */

static void
webui_metrics(bw_metrics_out *out, void *arg)
{
	struct webui *w = arg;
	const char *inst = w->api->instance_name(w->ctx);
	const struct bw_core_api *a = w->api;

	a->metrics_printf(out, "# HELP bulwark_webui_requests_total Requests the web UI listener answered\n"
			  "# TYPE bulwark_webui_requests_total counter\n"
			  "bulwark_webui_requests_total{instance=\"%s\"} %llu\n", inst,
			  (unsigned long long)w->requests);
	a->metrics_printf(out, "# HELP bulwark_webui_refused_total Requests refused: 401 without the token, 403 by the Host or origin checks\n"
			  "# TYPE bulwark_webui_refused_total counter\n"
			  "bulwark_webui_refused_total{instance=\"%s\",reason=\"unauthorized\"} %llu\n"
			  "bulwark_webui_refused_total{instance=\"%s\",reason=\"forbidden\"} %llu\n",
			  inst, (unsigned long long)w->unauthorized, inst,
			  (unsigned long long)w->forbidden);
	a->metrics_printf(out, "# HELP bulwark_webui_stream_clients Live flow streams open\n"
			  "# TYPE bulwark_webui_stream_clients gauge\n"
			  "bulwark_webui_stream_clients{instance=\"%s\"} %zu\n", inst,
			  w->nclients);
	a->metrics_printf(out, "# HELP bulwark_webui_stream_flows_total Flows for live streams: sent, or dropped because the client's queue was full\n"
			  "# TYPE bulwark_webui_stream_flows_total counter\n"
			  "bulwark_webui_stream_flows_total{instance=\"%s\",outcome=\"sent\"} %llu\n"
			  "bulwark_webui_stream_flows_total{instance=\"%s\",outcome=\"dropped\"} %llu\n",
			  inst, (unsigned long long)w->flows_sent, inst,
			  (unsigned long long)w->flows_dropped);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static void
webui_free(struct webui *w)
{
	if (w == NULL)
		return;
	webui_events_stop(w);
	if (w->http != NULL)
		evhttp_free(w->http);
	if (w->ssl_ctx != NULL)
		SSL_CTX_free(w->ssl_ctx);
	OPENSSL_cleanse(w->token_sha, sizeof(w->token_sha));
	free(w);
}

static int
webui_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *confp)
{
	const struct webui_conf *conf = confp;
	const char *key = NULL;
	struct webui *w;
	struct stat st;
	char host[256], err[512];
	uint16_t port = 0;
	int rc;

	if (!BW_API_HAS(api, api_call) || !BW_API_HAS(api, api_call_cancel) ||
	    !BW_API_HAS(api, flow_subscribe) || !BW_API_HAS(api, flow_to_json)) {
		api->log(ctx, BW_LOG_ERR, "this bulwarkd cannot serve the web UI "
			 "(no in-process API calls, ABI 1.2); upgrade it");
		return -ENOTSUP;
	}
	if (webui_check(conf, err, sizeof(err), &key) < 0) {
		api->log(ctx, BW_LOG_ERR, "%s: %s", key, err);
		return -EINVAL;
	}
	bw_listen_parse(conf->listen, host, sizeof(host), &port);
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -ENOMEM;
	webui_api = api;
	w->ctx = ctx;
	w->api = api;
	w->conf = conf;
	w->base = api->event_base(ctx);
	w->loopback = bw_listen_is_loopback(host);
	snprintf(w->scheme, sizeof(w->scheme), "%s",
		 webui_set(conf->tls_cert) ? "https" : "http");
	if (webui_set(conf->token_file)) {
		if ((rc = webui_token_load(w, conf->token_file, w->token_sha)) < 0)
			goto fail;
		w->have_token = 1;
	}
	if (webui_set(conf->tls_cert) && (rc = webui_tls_init(w)) < 0)
		goto fail;
	if ((w->http = evhttp_new(w->base)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	if (w->ssl_ctx != NULL)
		evhttp_set_bevcb(w->http, webui_bevcb, w);
	/* every method reaches us, so that every refusal is JSON */
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
				   EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
				   EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
				   EVHTTP_REQ_PATCH | EVHTTP_REQ_TRACE |
				   EVHTTP_REQ_CONNECT);
	evhttp_set_gencb(w->http, webui_http_cb, w);
	evhttp_set_timeout(w->http, 60);
	evhttp_set_max_headers_size(w->http, 32768);
	evhttp_set_max_body_size(w->http, WEBUI_MAX_BODY);
	if (evhttp_bind_socket_with_handle(w->http, host, port) == NULL) {
		rc = errno != 0 ? -errno : -EADDRNOTAVAIL;
		api->log(ctx, BW_LOG_ERR, "listen: cannot listen on %s: %s",
			 conf->listen, strerror(-rc));
		goto fail;
	}
	if ((rc = webui_events_init(w)) < 0)
		goto fail;
	if (BW_API_HAS(api, metrics_register) &&
	    (rc = api->metrics_register(ctx, webui_metrics, w, NULL)) < 0)
		goto fail;
	api->set_data(ctx, w);
	if (stat(conf->assets, &st) < 0 || !S_ISDIR(st.st_mode))
		api->log(ctx, BW_LOG_WARNING, "assets: %s is not a directory: the "
			 "page cannot be served until it is installed (the API is)",
			 conf->assets);
	api->log(ctx, BW_LOG_NOTICE, "serving the web UI at %s://%s/%s%s",
		 w->scheme, conf->listen, w->have_token ? " (bearer token)" : "",
		 conf->allow_changes ? " (policy changes allowed)" : " (read-only)");
	return 0;
fail:
	api->set_data(ctx, NULL);
	webui_free(w);
	return rc;
}

/* SIGHUP: a new token file (or its new content) and allow_changes. */
static int
webui_reload(bw_module_ctx *ctx, const void *new_conf)
{
	struct webui *w = webui_api != NULL ? webui_api->get_data(ctx) : NULL;
	const struct webui_conf *conf = new_conf;
	unsigned char sha[32];
	int rc, have = 0;

	if (w == NULL)
		return 0;
	if (webui_set(conf->token_file)) {
		if ((rc = webui_token_load(w, conf->token_file, sha)) < 0)
			return rc;
		have = 1;
	} else if (!w->loopback) {
		webui_log(w, BW_LOG_ERR, "token_file: required off loopback");
		return -EINVAL;
	}
	memcpy(w->token_sha, sha, sizeof(sha));
	w->have_token = have;
	OPENSSL_cleanse(sha, sizeof(sha));
	w->conf = conf;
	webui_log(w, BW_LOG_NOTICE, "reloaded: %s, %s",
		  have ? "bearer token required" : "no token",
		  conf->allow_changes ? "policy changes allowed" : "read-only");
	return 0;
}

static void
webui_stop(bw_module_ctx *ctx)
{
	struct webui *w = webui_api != NULL ? webui_api->get_data(ctx) : NULL;

	if (w == NULL)
		return;
	webui_events_stop(w);
	if (w->http != NULL) {
		evhttp_free(w->http);
		w->http = NULL;
	}
}

static void
webui_fini(bw_module_ctx *ctx)
{
	struct webui *w = webui_api != NULL ? webui_api->get_data(ctx) : NULL;

	webui_free(w);
	if (webui_api != NULL)
		webui_api->set_data(ctx, NULL);
}

BW_MODULE_DEFINE(
	.name = "webui",
	.version = WEBUI_VERSION,
	.description = "the web UI: service map, flows, policies and adoption reports in a browser",
	.conf_keys = webui_keys,
	.conf_size = sizeof(struct webui_conf),
	.init = webui_init,
	.reload = webui_reload,
	.stop = webui_stop,
	.fini = webui_fini,
	.check = webui_check,
);
