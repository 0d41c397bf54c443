/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_webui.c - the webui module through its descriptor, with
 * a fake core and a real HTTP listener on 127.0.0.1 (requests written on
 * plain sockets while the test turns the loop):
 *  - the page and its assets are served from the assets directory; paths
 *    that leave it (.., %2e%2e, a symbolic link out of it), hidden files
 *    and other methods are refused with JSON errors; a missing directory
 *    is a 503 JSON error;
 *  - /api/v1/... reaches the core's api_call with the method, the target
 *    and the body as sent, and its reply (status, JSON, NDJSON stream) comes
 *    back as it is, also when it comes after api_call returned (a deferred
 *    reply, a stream that goes on); a browser that goes away cancels what
 *    is pending; follow is refused;
 *  - read-only unless allow_changes, which needs a token; changes need the
 *    UI's header and a same-origin Origin; no CORS headers; the Host must
 *    be loopback without a token;
 *  - with a token file: 401 JSON with WWW-Authenticate without the right
 *    bearer token, the page itself still served; token files others can
 *    read, or too short, stop init;
 *  - /api/events: flows as Server-Sent Events, with /v1/flows' filters;
 *    a client that does not read has its flows dropped (counted) once its
 *    queue is full, and is told how many with a "lost" event;
 *  - check(): off-loopback needs TLS and a token; cert and key go together.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <jansson.h>

#include "bulwark/flow.h"
#include "bulwark/module.h"
#include "modules/webui/webui.h"
#include "tests/unit/fake_core.h"

extern const struct bw_module bw_module_desc;

/* ---- what the core answers (tests/unit/fake_core.h) ------------------------------- */

static struct fake_ctx fctx = { .module = "webui", .instance = "webui" };
static int going_handle;
/* the pending call of /v1/going or /v1/later */
static bw_api_call_fn pending_cb;
static void *pending_ud;

#define W ((struct webui *)fctx.data)

static int
answer(const char *method, const char *target, const char *body, size_t body_len,
       bw_api_call_fn cb, void *ud, bw_api_call **call)
{
	static const char notfound[] = "{\"error\":\"no API endpoint at /v1/nope; check the path\"}";

	if (!strcmp(target, "/v1/later")) {
		/* answered later (a deferred reply) */
		pending_cb = cb;
		pending_ud = ud;
		*call = (bw_api_call *)&going_handle;
		return 0;
	}
	if (!strncmp(target, "/v1/flows", 9) || !strcmp(target, "/v1/going")) {
		cb(BW_API_CALL_STREAM_BEGIN, 200, NULL, 0, ud);
		cb(BW_API_CALL_STREAM_LINE, 200, "{\"n\":1}", 7, ud);
		if (!strcmp(target, "/v1/going")) {
			pending_cb = cb;
			pending_ud = ud;
			*call = (bw_api_call *)&going_handle;
			return 0;
		}
		cb(BW_API_CALL_STREAM_LINE, 200, "{\"n\":2}", 7, ud);
		cb(BW_API_CALL_STREAM_END, 200, NULL, 0, ud);
	} else if (!strcmp(target, "/v1/nope")) {
		cb(BW_API_CALL_REPLY, 404, notfound, sizeof(notfound) - 1, ud);
	} else {
		char reply[1200];

		snprintf(reply, sizeof(reply), "{\"method\":\"%s\",\"target\":\"%s\"}",
			 method, target);
		cb(BW_API_CALL_REPLY, 200, reply, strlen(reply), ud);
	}
	return 0;
}

/* ---- the module ---------------------------------------------------------------------- */

static char dir[256], assets[300], outside[300], listen_at[64], token_path[300];
static uint16_t port;
static struct webui_conf conf;

static void
put(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static uint16_t
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static void
setup(void)
{
	char p[400];

	signal(SIGPIPE, SIG_IGN);
	fake_core_reset();
	fctx.data = NULL;
	pending_cb = NULL;
	strcpy(dir, "/tmp/bwwebui.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(assets, sizeof(assets), "%s/webui", dir);
	snprintf(outside, sizeof(outside), "%s/secret.txt", dir);
	snprintf(token_path, sizeof(token_path), "%s/token", dir);
	ck_assert_int_eq(mkdir(assets, 0755), 0);
	snprintf(p, sizeof(p), "%s/assets", assets);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/index.html", assets);
	put(p, "<!DOCTYPE html><title>bulwark</title>", 0644);
	snprintf(p, sizeof(p), "%s/assets/app.js", assets);
	put(p, "console.log('bulwark');", 0644);
	snprintf(p, sizeof(p), "%s/.hidden", assets);
	put(p, "hidden", 0644);
	put(outside, "SECRET-OUTSIDE", 0644);
	snprintf(p, sizeof(p), "%s/assets/escape.txt", assets);
	ck_assert_int_eq(symlink(outside, p), 0);
	fake_core.base = event_base_new();
	fake_core.api_call_fn = answer;
	port = free_port();
	snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%u", port);
	memset(&conf, 0, sizeof(conf));
	conf.listen = listen_at;
	conf.assets = assets;
	conf.token_file = "";
	conf.tls_cert = "";
	conf.tls_key = "";
	conf.max_clients = 4;
	conf.client_queue = 65536;
}

static void
teardown(void)
{
	char cmd[300];

	if (fctx.data != NULL) {
		bw_module_desc.stop(FAKE_CTX(&fctx));
		bw_module_desc.fini(FAKE_CTX(&fctx));
	}
	event_base_free(fake_core.base);
	fake_core_reset();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
up(void)
{
	ck_assert_uint_eq(bw_module_desc.conf_size, sizeof(conf));
	ck_assert_int_eq(bw_module_desc.init(FAKE_CTX(&fctx), fake_core_api(), &conf), 0);
	ck_assert_ptr_nonnull(fake_core.flow_cb);
}

/* ---- the client ---------------------------------------------------------------------- */

struct reply {
	int status;
	char head[4096];
	char *body;
};

static int
connect_to(int rcvbuf)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static void
send_all(int fd, const char *req)
{
	size_t len = strlen(req);

	for (size_t off = 0; off < len;) {
		ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);

		if (w > 0)
			off += (size_t)w;
		event_base_loop(fake_core.base, EVLOOP_NONBLOCK);
	}
}

/* Read (turning the loop) until the peer closes or until text appears. */
static char *
read_until(int fd, const char *text, size_t *total)
{
	char *all = calloc(1, 1);
	size_t n = 0;
	int spins = 0;

	while (spins++ < 200000) {
		char buf[16384];
		ssize_t rd;

		event_base_loop(fake_core.base, EVLOOP_NONBLOCK);
		rd = read(fd, buf, sizeof(buf));
		if (rd > 0) {
			all = realloc(all, n + (size_t)rd + 1);
			memcpy(all + n, buf, (size_t)rd);
			n += (size_t)rd;
			all[n] = '\0';
			if (text != NULL && strstr(all, text) != NULL)
				break;
		} else if (rd == 0) {
			break;
		} else {
			poll(NULL, 0, 1);
		}
	}
	if (total != NULL)
		*total = n;
	return all;
}

/* Read what is there until the connection stays quiet for a while. */
static char *
drain(int fd)
{
	char *all = calloc(1, 1);
	size_t n = 0;
	int quiet = 0;

	while (quiet < 50) {
		char buf[16384];
		ssize_t rd;

		event_base_loop(fake_core.base, EVLOOP_NONBLOCK);
		rd = read(fd, buf, sizeof(buf));
		if (rd > 0) {
			all = realloc(all, n + (size_t)rd + 1);
			memcpy(all + n, buf, (size_t)rd);
			n += (size_t)rd;
			all[n] = '\0';
			quiet = 0;
		} else {
			quiet++;
			poll(NULL, 0, 1);
		}
	}
	return all;
}

/* Turn the loop for a while (nothing to read). */
static void
spin(void)
{
	for (int i = 0; i < 50; i++) {
		event_base_loop(fake_core.base, EVLOOP_NONBLOCK);
		poll(NULL, 0, 1);
	}
}

static void
request(const char *req, struct reply *r)
{
	int fd = connect_to(0);
	char *all, *sep;

	send_all(fd, req);
	all = read_until(fd, NULL, NULL);
	close(fd);
	memset(r, 0, sizeof(*r));
	ck_assert_msg(sscanf(all, "HTTP/1.1 %d", &r->status) == 1, "no reply: %s", all);
	sep = strstr(all, "\r\n\r\n");
	ck_assert_ptr_nonnull(sep);
	*sep = '\0';
	snprintf(r->head, sizeof(r->head), "%s", all);
	r->body = strdup(sep + 4);
	free(all);
}

/* METHOD PATH with extra header lines ("" for none), Host 127.0.0.1. */
static void
call(const char *method, const char *path, const char *headers, const char *body,
     struct reply *r)
{
	char req[8192];

	snprintf(req, sizeof(req),
		 "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n%s"
		 "Content-Length: %zu\r\n\r\n%s",
		 method, path, port, headers, body ? strlen(body) : 0, body ? body : "");
	request(req, r);
}

static int
has_header(const struct reply *r, const char *line)
{
	return strstr(r->head, line) != NULL;
}

/* The "error" string of a JSON error reply. */
static char *
error_of(const struct reply *r)
{
	json_t *doc = json_loads(r->body, 0, NULL);
	char *e;

	ck_assert_msg(doc != NULL, "not JSON: %s", r->body);
	ck_assert_msg(json_is_string(json_object_get(doc, "error")), "no error in %s", r->body);
	ck_assert(has_header(r, "Content-Type: application/json"));
	e = strdup(json_string_value(json_object_get(doc, "error")));
	json_decref(doc);
	return e;
}

static void
expect_error(const char *method, const char *path, const char *headers,
	     int status, const char *text)
{
	struct reply r;
	char *e;

	call(method, path, headers, NULL, &r);
	ck_assert_msg(r.status == status, "%s %s: %d, not %d (%s)", method, path,
		      r.status, status, r.body);
	e = error_of(&r);
	ck_assert_msg(strstr(e, text) != NULL, "%s %s: '%s' lacks '%s'", method, path,
		      e, text);
	ck_assert_ptr_null(strstr(r.body, "SECRET-OUTSIDE"));
	ck_assert_ptr_null(strstr(r.head, "Access-Control-Allow-Origin"));
	free(e);
	free(r.body);
}

/* ---- static files ------------------------------------------------------------------- */

START_TEST(the_page_and_its_assets_are_served)
{
	struct reply r;

	up();
	call("GET", "/", "", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert(has_header(&r, "Content-Type: text/html; charset=utf-8"));
	ck_assert(has_header(&r, "Content-Security-Policy: default-src 'self'"));
	ck_assert(has_header(&r, "X-Content-Type-Options: nosniff"));
	ck_assert(has_header(&r, "X-Frame-Options: DENY"));
	ck_assert_str_eq(r.body, "<!DOCTYPE html><title>bulwark</title>");
	free(r.body);
	call("GET", "/assets/app.js", "", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert(has_header(&r, "Content-Type: text/javascript"));
	ck_assert_str_eq(r.body, "console.log('bulwark');");
	free(r.body);
	call("HEAD", "/index.html", "", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert(has_header(&r, "Content-Length: 37"));
	ck_assert(!has_header(&r, "Content-Length: 0"));
	ck_assert_str_eq(r.body, "");
	free(r.body);
	call("HEAD", "/api/v1/status", "", NULL, &r);
	ck_assert_int_eq(r.status, 405);
	ck_assert_str_eq(r.body, "");
	free(r.body);
}
END_TEST

START_TEST(paths_out_of_the_assets_are_refused)
{
	static const char *const bad[] = {
		"/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt",
		"/assets/%2E%2E/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt",
		"/.hidden", "/assets/./app.js", "/assets//app.js",
		"/a%00b", "/assets\\..\\..\\secret.txt", "/assets/escape.txt",
	};

	up();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_error("GET", bad[i], "", 403, "not a file of the web UI");
	expect_error("GET", "/nothing.js", "", 404, "no such file");
	/* an authority, not a path: "//etc/passwd" asks for /passwd */
	expect_error("GET", "//etc/passwd", "", 404, "no such file");
	expect_error("POST", "/index.html", "", 405, "read with GET");
}
END_TEST

START_TEST(missing_assets_are_a_json_503)
{
	char p[400];

	snprintf(p, sizeof(p), "%s/gone", dir);
	conf.assets = p;
	up();
	expect_error("GET", "/", "", 503, "not installed");
}
END_TEST

/* ---- the control API ------------------------------------------------------------------ */

START_TEST(api_calls_reach_the_core_as_sent)
{
	struct reply r;
	json_t *doc;

	up();
	call("GET", "/api/v1/policies/shop/web?kind=NetworkPolicy", "", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert(has_header(&r, "Content-Type: application/json"));
	ck_assert(has_header(&r, "Cache-Control: no-store"));
	ck_assert_str_eq(fake_core.api_call_method, "GET");
	ck_assert_str_eq(fake_core.api_call_target, "/v1/policies/shop/web?kind=NetworkPolicy");
	doc = json_loads(r.body, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	json_decref(doc);
	free(r.body);
	/* the core's own errors come back as they are */
	expect_error("GET", "/api/v1/nope", "", 404, "no API endpoint at /v1/nope");
	/* the web UI's own */
	expect_error("GET", "/api/other", "", 404, "control API is under /api/v1/");
}
END_TEST

START_TEST(streams_are_passed_on_and_follow_is_refused)
{
	struct reply r;

	up();
	call("GET", "/api/v1/flows?number=2", "", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert(has_header(&r, "Content-Type: application/x-ndjson"));
	ck_assert_ptr_nonnull(strstr(r.body, "{\"n\":1}\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "{\"n\":2}\n"));
	free(r.body);
	fake_core.api_calls = 0;
	expect_error("GET", "/api/v1/flows?follow=true", "", 400, "/api/events");
	ck_assert_int_eq(fake_core.api_calls, 0);
}
END_TEST

START_TEST(answers_that_come_later_are_passed_on)
{
	char req[256], *got;
	int fd;

	up();
	snprintf(req, sizeof(req), "GET /api/v1/later HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		 "Connection: close\r\n\r\n");
	fd = connect_to(0);
	send_all(fd, req);
	free(drain(fd));
	ck_assert_ptr_nonnull(pending_cb);
	/* the route answers after api_call returned (a deferred reply) */
	pending_cb(BW_API_CALL_REPLY, 200, "{\"later\":true}", 14, pending_ud);
	got = read_until(fd, NULL, NULL);
	ck_assert_ptr_nonnull(strstr(got, "HTTP/1.1 200"));
	ck_assert_ptr_nonnull(strstr(got, "{\"later\":true}\n"));
	free(got);
	close(fd);

	/* a stream that goes on: its later lines and its end */
	snprintf(req, sizeof(req), "GET /api/v1/going HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		 "Connection: close\r\n\r\n");
	fd = connect_to(0);
	send_all(fd, req);
	free(read_until(fd, "{\"n\":1}\n", NULL));
	pending_cb(BW_API_CALL_STREAM_LINE, 200, "{\"n\":2}", 7, pending_ud);
	pending_cb(BW_API_CALL_STREAM_END, 200, NULL, 0, pending_ud);
	got = read_until(fd, NULL, NULL);
	ck_assert_ptr_nonnull(strstr(got, "{\"n\":2}\n"));
	ck_assert_ptr_nonnull(strstr(got, "\r\n0\r\n\r\n"));
	free(got);
	close(fd);
	ck_assert_int_eq(fake_core.api_call_cancels, 0);
}
END_TEST

START_TEST(a_browser_that_goes_cancels_what_is_pending)
{
	static const char req[] = "GET /api/v1/going HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	static const char later[] = "GET /api/v1/later HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	int fd;

	up();
	/* a stream that goes on is cancelled when its browser goes */
	fd = connect_to(0);
	send_all(fd, req);
	free(read_until(fd, "{\"n\":1}\n", NULL));
	ck_assert_ptr_nonnull(pending_cb);
	close(fd);
	for (int n = 0; n < 2000 && fake_core.api_call_cancels == 0; n++) {
		event_base_loop(fake_core.base, EVLOOP_NONBLOCK);
		/* writing is how a gone peer shows; never after a cancel */
		if (fake_core.api_call_cancels == 0)
			pending_cb(BW_API_CALL_STREAM_LINE, 200, "{}", 2, pending_ud);
		poll(NULL, 0, 1);
	}
	ck_assert_int_eq(fake_core.api_call_cancels, 1);
	event_base_loop(fake_core.base, EVLOOP_NONBLOCK); /* ends the stream */
	/* a deferred reply whose browser went away meanwhile goes nowhere */
	fd = connect_to(0);
	send_all(fd, later);
	free(drain(fd));
	ck_assert_ptr_nonnull(pending_cb);
	close(fd);
	spin();
	pending_cb(BW_API_CALL_REPLY, 200, "{}", 2, pending_ud);
	spin();
}
END_TEST

START_TEST(read_only_unless_allow_changes)
{
	static const char ui[] = "X-Requested-With: bulwark-webui\r\n";
	struct reply r;

	up();
	fake_core.api_calls = 0;
	expect_error("POST", "/api/v1/policies", ui, 403, "allow_changes = true");
	expect_error("PUT", "/api/v1/policies", ui, 403, "read-only");
	expect_error("DELETE", "/api/v1/policies/shop/web", ui, 403, "read-only");
	expect_error("POST", "/api/v1/endpoints", ui, 403, "changes nothing but policies");
	ck_assert_int_eq(fake_core.api_calls, 0);
	/* a what-if changes nothing: always allowed */
	call("POST", "/api/v1/simulate?since=1h", ui, "kind: X\n", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(fake_core.api_call_method, "POST");
	ck_assert_str_eq(fake_core.api_call_target, "/v1/simulate?since=1h");
	ck_assert_str_eq(fake_core.api_call_body, "kind: X\n");
	free(r.body);
}
END_TEST

#define AUTH "Authorization: Bearer 3f9a0c5e1b7d42a8b6e0f1c2d3e4f5a6\r\n"

START_TEST(changes_need_a_token_the_ui_header_and_the_same_origin)
{
	struct reply r;
	char hdr[256];

	conf.allow_changes = 1;
	/* every local user reaches a loopback listener: no token, no changes */
	ck_assert_int_eq(bw_module_desc.init(FAKE_CTX(&fctx), fake_core_api(), &conf), -EINVAL);
	put(token_path, "3f9a0c5e1b7d42a8b6e0f1c2d3e4f5a6\n", 0600);
	conf.token_file = token_path;
	up();
	fake_core.api_calls = 0;
	expect_error("POST", "/api/v1/policies", AUTH, 403, "X-Requested-With: bulwark-webui");
	expect_error("POST", "/api/v1/policies",
		     AUTH "X-Requested-With: bulwark-webui\r\nOrigin: http://evil.example\r\n",
		     403, "cross-origin");
	expect_error("POST", "/api/v1/policies",
		     AUTH "X-Requested-With: bulwark-webui\r\nOrigin: null\r\n",
		     403, "cross-origin");
	expect_error("OPTIONS", "/api/v1/policies",
		     AUTH "Origin: http://evil.example\r\nAccess-Control-Request-Method: POST\r\n",
		     405, "cross-origin");
	ck_assert_int_eq(fake_core.api_calls, 0);
	snprintf(hdr, sizeof(hdr), AUTH "X-Requested-With: bulwark-webui\r\nOrigin: http://127.0.0.1:%u\r\n",
		 port);
	call("POST", "/api/v1/policies?source=webui", hdr, "kind: NetworkPolicy\n", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(fake_core.api_call_target, "/v1/policies?source=webui");
	ck_assert_str_eq(fake_core.api_call_body, "kind: NetworkPolicy\n");
	ck_assert_ptr_null(strstr(r.head, "Access-Control-Allow-Origin"));
	free(r.body);
}
END_TEST

START_TEST(a_foreign_host_header_is_refused_without_a_token)
{
	struct reply r;

	up();
	request("GET /api/v1/status HTTP/1.1\r\nHost: rebind.example:9963\r\n"
		"Connection: close\r\n\r\n", &r);
	ck_assert_int_eq(r.status, 403);
	free(error_of(&r));
	free(r.body);
	request("GET /api/v1/status HTTP/1.1\r\nHost: localhost\r\n"
		"Connection: close\r\n\r\n", &r);
	ck_assert_int_eq(r.status, 200);
	free(r.body);
	request("GET /api/v1/status HTTP/1.1\r\nHost: [::1]:9963\r\n"
		"Connection: close\r\n\r\n", &r);
	ck_assert_int_eq(r.status, 200);
	free(r.body);
}
END_TEST

/* ---- the token ------------------------------------------------------------------------ */

START_TEST(the_api_needs_the_bearer_token)
{
	static const char token[] = "3f9a0c5e1b7d42a8b6e0f1c2d3e4f5a6";
	struct reply r;
	char hdr[256];

	put(token_path, "3f9a0c5e1b7d42a8b6e0f1c2d3e4f5a6\n", 0600);
	conf.token_file = token_path;
	up();
	fake_core.api_calls = 0;
	call("GET", "/api/v1/status", "", NULL, &r);
	ck_assert_int_eq(r.status, 401);
	ck_assert(has_header(&r, "WWW-Authenticate: Bearer"));
	free(error_of(&r));
	free(r.body);
	expect_error("GET", "/api/v1/status", "Authorization: Bearer wrong-token-of-some-length\r\n",
		     401, "Authorization: Bearer TOKEN");
	expect_error("GET", "/api/events", "Authorization: Basic Zm9vOmJhcg==\r\n",
		     401, "token_file");
	expect_error("GET", "/api/ui", "Authorization: Bearer 3f9a0c5e1b7d42a8b6e0f1c2d3e4f5a\r\n",
		     401, "token_file");
	ck_assert_int_eq(fake_core.api_calls, 0);
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", token);
	call("GET", "/api/v1/status", hdr, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	free(r.body);
	/* the page carries no data: served, so that it can ask for the token */
	call("GET", "/", "", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	free(r.body);
	/* with a token, any Host will do (the listener may have a name) */
	snprintf(hdr, sizeof(hdr), "GET /api/ui HTTP/1.1\r\nHost: node-1.example\r\n"
		 "Authorization: Bearer %s\r\nConnection: close\r\n\r\n", token);
	request(hdr, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"auth\":\"token\""));
	free(r.body);
}
END_TEST

START_TEST(bad_token_files_stop_init)
{
	conf.token_file = token_path;
	put(token_path, "3f9a0c5e1b7d42a8b6e0f1c2d3e4f5a6\n", 0604);
	ck_assert_int_eq(bw_module_desc.init(FAKE_CTX(&fctx), fake_core_api(), &conf), -EPERM);
	put(token_path, "short\n", 0600);
	ck_assert_int_eq(bw_module_desc.init(FAKE_CTX(&fctx), fake_core_api(), &conf), -EINVAL);
	put(token_path, "has a blank in it somewhere\n", 0600);
	ck_assert_int_eq(bw_module_desc.init(FAKE_CTX(&fctx), fake_core_api(), &conf), -EINVAL);
	unlink(token_path);
	ck_assert_int_eq(bw_module_desc.init(FAKE_CTX(&fctx), fake_core_api(), &conf), -ENOENT);
	ck_assert_ptr_null(fctx.data);
}
END_TEST

/* ---- live flows ----------------------------------------------------------------------- */

static void
push(uint64_t seq, enum bw_flow_verdict v)
{
	struct bw_flow f;

	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	f.seq = seq;
	snprintf(f.uuid, sizeof(f.uuid), "%llu", (unsigned long long)seq);
	f.verdict = v;
	f.type = BW_FLOW_TYPE_L3_L4;
	f.ip_version = 4;
	fake_core.flow_cb(&f, fake_core.flow_ud);
}

static int
sse_open(const char *query, int rcvbuf)
{
	char req[1024];
	int fd = connect_to(rcvbuf);
	char *got;

	snprintf(req, sizeof(req), "GET /api/events%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
		 query);
	send_all(fd, req);
	got = read_until(fd, "event: hello", NULL);
	ck_assert_ptr_nonnull(strstr(got, "Content-Type: text/event-stream"));
	ck_assert_ptr_nonnull(strstr(got, "data: {\"max_clients\":4"));
	free(got);
	return fd;
}

START_TEST(live_flows_are_server_sent_events_with_filters)
{
	/* [{"verdict":["DROPPED"]}], URL-encoded */
	int all = 0, dropped = 0;
	char *got;

	up();
	all = sse_open("", 0);
	dropped = sse_open("?whitelist=%5B%7B%22verdict%22%3A%5B%22DROPPED%22%5D%7D%5D", 0);
	push(1, BW_FLOW_VERDICT_FORWARDED);
	push(2, BW_FLOW_VERDICT_DROPPED);
	got = read_until(all, "\"uuid\":\"2\"", NULL);
	ck_assert_ptr_nonnull(strstr(got, "event: flow\ndata: {\"flow\":{\"time\":"));
	ck_assert_ptr_nonnull(strstr(got, "\"uuid\":\"1\",\"verdict\":\"FORWARDED\""));
	ck_assert_ptr_nonnull(strstr(got, "\"uuid\":\"2\""));
	free(got);
	got = read_until(dropped, "\"uuid\":\"2\"", NULL);
	ck_assert_ptr_null(strstr(got, "\"uuid\":\"1\""));
	ck_assert_ptr_nonnull(strstr(got, "\"uuid\":\"2\",\"verdict\":\"DROPPED\""));
	free(got);
	ck_assert_uint_eq(W->nclients, 2);
	close(all);
	close(dropped);
	/* the server notices the clients went */
	for (int i = 0; i < 2000 && W->nclients > 0; i++) {
		push(3, BW_FLOW_VERDICT_DROPPED);
		event_base_loop(fake_core.base, EVLOOP_NONBLOCK);
		poll(NULL, 0, 1);
	}
	ck_assert_uint_eq(W->nclients, 0);
}
END_TEST

START_TEST(bad_filters_and_too_many_clients_are_refused)
{
	int fds[4];

	up();
	expect_error("GET", "/api/events?whitelist=%5B%7B%22sorce_pod%22%3A%5B%22x%22%5D%7D%5D",
		     "", 400, "sorce_pod");
	expect_error("GET", "/api/events?whitelist=nope", "", 400, "not JSON");
	for (int i = 0; i < 4; i++)
		fds[i] = sse_open("", 0);
	expect_error("GET", "/api/events", "", 503, "max_clients");
	for (int i = 0; i < 4; i++)
		close(fds[i]);
}
END_TEST

START_TEST(a_slow_client_loses_flows_and_is_told)
{
	struct webui *w;
	uint64_t seq = 10;
	char *got, *lost;
	unsigned long long nlost = 0;
	int fd;

	up();
	w = W;
	fd = sse_open("", 4096);
	/* the client reads nothing: once its queue holds client_queue bytes,
	 * its flows are dropped (counted), the pipeline does not wait */
	while (w->flows_dropped == 0 && seq < 200000) {
		push(seq++, BW_FLOW_VERDICT_FORWARDED);
		if (seq % 64 == 0)
			event_base_loop(fake_core.base, EVLOOP_NONBLOCK);
	}
	ck_assert_uint_gt(w->flows_dropped, 0);
	for (int i = 0; i < 50; i++)
		push(seq++, BW_FLOW_VERDICT_FORWARDED);
	/* it catches up: a "lost" event says how many it missed */
	free(drain(fd));
	for (int i = 0; i < 100 && nlost == 0; i++) {
		push(seq++, BW_FLOW_VERDICT_FORWARDED);
		got = drain(fd);
		if ((lost = strstr(got, "event: lost\ndata: ")) != NULL)
			sscanf(lost, "event: lost\ndata: {\"lost_events\":{\"source\":"
			       "\"WEBUI_CLIENT_QUEUE\",\"num_events_lost\":\"%llu\"", &nlost);
		free(got);
	}
	ck_assert_uint_gt(nlost, 0);
	ck_assert_uint_eq(nlost, w->flows_dropped);
	close(fd);
}
END_TEST

/* ---- config ----------------------------------------------------------------------------- */

START_TEST(check_refuses_what_is_unsafe_or_incomplete)
{
	char err[512];
	const char *key;

	conf.listen = "0.0.0.0:9963";
	ck_assert_int_eq(bw_module_desc.check(&conf, err, sizeof(err), &key), -EINVAL);
	ck_assert_str_eq(key, "listen");
	ck_assert_ptr_nonnull(strstr(err, "not a loopback address"));
	conf.tls_cert = "/etc/bulwark/webui.crt";
	conf.tls_key = "/etc/bulwark/webui.key";
	ck_assert_int_eq(bw_module_desc.check(&conf, err, sizeof(err), &key), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "token_file"));
	conf.token_file = "/etc/bulwark/webui.token";
	ck_assert_int_eq(bw_module_desc.check(&conf, err, sizeof(err), &key), 0);
	conf.tls_key = "";
	ck_assert_int_eq(bw_module_desc.check(&conf, err, sizeof(err), &key), -EINVAL);
	ck_assert_str_eq(key, "tls_key");
	conf.listen = "[::1]:9963";
	conf.tls_cert = "";
	conf.token_file = "";
	ck_assert_int_eq(bw_module_desc.check(&conf, err, sizeof(err), &key), 0);
	conf.listen = "localhost:9963";
	ck_assert_int_eq(bw_module_desc.check(&conf, err, sizeof(err), &key), 0);
	conf.listen = "127.0.0.1";
	ck_assert_int_eq(bw_module_desc.check(&conf, err, sizeof(err), &key), -EINVAL);
	ck_assert_str_eq(key, "listen");
	conf.listen = "127.0.0.1:9963";
	conf.allow_changes = 1;
	ck_assert_int_eq(bw_module_desc.check(&conf, err, sizeof(err), &key), -EINVAL);
	ck_assert_str_eq(key, "allow_changes");
	ck_assert_ptr_nonnull(strstr(err, "token_file"));
	conf.allow_changes = 0;
	conf.assets = "share/webui";
	ck_assert_int_eq(bw_module_desc.check(&conf, err, sizeof(err), &key), -EINVAL);
	ck_assert_str_eq(key, "assets");
}
END_TEST

static Suite *
webui_suite(void)
{
	Suite *s = suite_create("webui");
	TCase *tc = tcase_create("static");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, the_page_and_its_assets_are_served);
	tcase_add_test(tc, paths_out_of_the_assets_are_refused);
	tcase_add_test(tc, missing_assets_are_a_json_503);
	suite_add_tcase(s, tc);

	tc = tcase_create("api");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, api_calls_reach_the_core_as_sent);
	tcase_add_test(tc, streams_are_passed_on_and_follow_is_refused);
	tcase_add_test(tc, answers_that_come_later_are_passed_on);
	tcase_add_test(tc, a_browser_that_goes_cancels_what_is_pending);
	tcase_add_test(tc, read_only_unless_allow_changes);
	tcase_add_test(tc, changes_need_a_token_the_ui_header_and_the_same_origin);
	tcase_add_test(tc, a_foreign_host_header_is_refused_without_a_token);
	suite_add_tcase(s, tc);

	tc = tcase_create("token");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, the_api_needs_the_bearer_token);
	tcase_add_test(tc, bad_token_files_stop_init);
	suite_add_tcase(s, tc);

	tc = tcase_create("events");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, live_flows_are_server_sent_events_with_filters);
	tcase_add_test(tc, bad_filters_and_too_many_clients_are_refused);
	tcase_add_test(tc, a_slow_client_loses_flows_and_is_told);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, check_refuses_what_is_unsafe_or_incomplete);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(webui_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
