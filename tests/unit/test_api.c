/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_api.c - the control API (core/api.c) against a real
 * evhttp listening on a temporary Unix socket: routing (exact, prefix,
 * longest match, 404, 405 with Allow), JSON error bodies, request bodies
 * and their parse errors, query strings, NDJSON streams, /v1/status and its
 * sections, a handler that blocks the loop longer than the idle timeout,
 * and what bw_api_init() does with the socket path.
 *
 * The test is single-threaded: the client writes its whole request on a
 * connected socket, then the test turns the event loop and reads the
 * reply until the daemon side closes the connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>
#include <jansson.h>

#include "core/api.h"
#include "core/log.h"
#include "tests/unit/tmpdir.h"

static struct event_base *base;
static char dir[256], sock[300];

struct reply {
	int status;
	char head[4096];
	char *body;
};

static void
setup(void)
{
	bw_test_tmp(dir, sizeof(dir), "bwapi.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	bw_log_set_level(BW_LOG_ERR);
	signal(SIGPIPE, SIG_IGN); /* as bulwarkd does */
}

static void
teardown(void)
{
	char cmd[300];

	bw_api_fini();
	bw_api_set_timeout(0);
	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
up(void)
{
	ck_assert_int_eq(bw_api_init(base, sock, NULL), 0);
}

/* Send a raw request and read the reply while turning the loop. */
static void
raw(const char *req, size_t len, struct reply *r)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char *all = NULL;
	size_t n = 0;
	int fd, done = 0, spins = 0;
	char *sep;

	memset(r, 0, sizeof(*r));
	strcpy(sun.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (size_t off = 0; off < len;) {
		ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);

		if (w > 0)
			off += (size_t)w;
		else if (w < 0 && errno != EAGAIN && errno != EINTR)
			break; /* the server answered early and closed */
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	while (!done && spins++ < 200000) {
		char buf[4096];
		ssize_t rd;

		event_base_loop(base, EVLOOP_NONBLOCK);
		rd = read(fd, buf, sizeof(buf));
		if (rd > 0) {
			all = realloc(all, n + (size_t)rd + 1);
			memcpy(all + n, buf, (size_t)rd);
			n += (size_t)rd;
			all[n] = '\0';
		} else if (rd == 0)
			done = 1;
		else
			poll(NULL, 0, 1);
	}
	close(fd);
	ck_assert_msg(done, "no complete reply");
	ck_assert_ptr_nonnull(all);
	ck_assert_int_eq(sscanf(all, "HTTP/1.1 %d", &r->status), 1);
	sep = strstr(all, "\r\n\r\n");
	ck_assert_ptr_nonnull(sep);
	*sep = '\0';
	snprintf(r->head, sizeof(r->head), "%s", all);
	r->body = strdup(sep + 4);
	free(all);
}

static void
call(const char *method, const char *path, const char *body, struct reply *r)
{
	char req[8192];
	int len;

	len = snprintf(req, sizeof(req),
		       "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		       "Content-Length: %zu\r\n\r\n%s",
		       method, path, body ? strlen(body) : 0, body ? body : "");
	raw(req, (size_t)len, r);
}

/* The body of a reply as JSON, asserting it parses. */
static json_t *
body_json(struct reply *r)
{
	json_error_t jerr;
	json_t *doc = json_loads(r->body, JSON_DECODE_ANY, &jerr);

	ck_assert_msg(doc != NULL, "reply is not JSON: %s", r->body);
	return doc;
}

/* The "error" string of an error reply. */
static char *
error_of(struct reply *r)
{
	json_t *doc = body_json(r);
	json_t *e = json_object_get(doc, "error");
	char *s;

	ck_assert_msg(json_is_string(e), "no \"error\" in %s", r->body);
	ck_assert_uint_eq(json_object_size(doc), 1);
	s = strdup(json_string_value(e));
	json_decref(doc);
	return s;
}

static int
h_name(struct bw_api_request *req, void *arg)
{
	return bw_api_reply_json(req, 200,
				 json_pack("{s:s, s:s, s:s}", "handler",
					   (const char *)arg, "path",
					   bw_api_req_path(req), "method",
					   bw_api_req_method(req)));
}

static const char *
handler_of(struct reply *r)
{
	static char name[64];
	json_t *doc = body_json(r);

	snprintf(name, sizeof(name), "%s",
		 json_string_value(json_object_get(doc, "handler")));
	json_decref(doc);
	return name;
}

START_TEST(exact_route_answers)
{
	struct reply r;

	ck_assert_int_eq(bw_api_route_add("GET", "/v1/thing", h_name, "thing"), 0);
	up();
	call("GET", "/v1/thing", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(handler_of(&r), "thing");
	ck_assert_ptr_nonnull(strstr(r.head, "Content-Type: application/json"));
	free(r.body);
	/* An exact route does not match longer paths. */
	call("GET", "/v1/thing/more", NULL, &r);
	ck_assert_int_eq(r.status, 404);
	free(r.body);
}
END_TEST

/* Request hooks: what ran, in order ("b1 b2 h a2 a1 "). */
static char hook_log[256];

static void
hook_note(const char *what)
{
	strncat(hook_log, what, sizeof(hook_log) - strlen(hook_log) - 1);
}

static void hook_b1(void *arg) { hook_note("b1 "); }
static void hook_a1(void *arg) { hook_note("a1 "); }
static void hook_b2(void *arg) { hook_note(arg); }
static void hook_a2(void *arg) { hook_note("a2 "); }

static int
h_logged(struct bw_api_request *req, void *arg)
{
	hook_note("h ");
	return h_name(req, arg);
}

START_TEST(request_hooks_run_around_every_handler)
{
	struct reply r;

	hook_log[0] = '\0';
	ck_assert_int_eq(bw_api_route_add("GET", "/v1/thing", h_logged, "thing"), 0);
	ck_assert_int_eq(bw_api_hook_add(hook_b1, hook_a1, NULL), 0);
	ck_assert_int_eq(bw_api_hook_add(hook_b2, hook_a2, "b2 "), 0);
	ck_assert_int_eq(bw_api_hook_add(hook_b1, hook_a1, NULL), -EEXIST);
	up();
	call("GET", "/v1/thing", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	free(r.body);
	ck_assert_str_eq(hook_log, "b1 b2 h a2 a1 ");
	/* no handler, no hooks */
	call("GET", "/v1/nothing", NULL, &r);
	ck_assert_int_eq(r.status, 404);
	free(r.body);
	ck_assert_str_eq(hook_log, "b1 b2 h a2 a1 ");
	bw_api_hook_remove(hook_b1, hook_a1, NULL);
	hook_log[0] = '\0';
	call("GET", "/v1/thing", NULL, &r);
	free(r.body);
	ck_assert_str_eq(hook_log, "b2 h a2 ");
}
END_TEST

START_TEST(prefix_routes_longest_wins_exact_beats_prefix)
{
	struct reply r;

	ck_assert_int_eq(bw_api_route_add("GET", "/v1/items/", h_name, "items"), 0);
	ck_assert_int_eq(bw_api_route_add("GET", "/v1/items/deep/", h_name, "deep"), 0);
	ck_assert_int_eq(bw_api_route_add("GET", "/v1/items/special", h_name, "special"), 0);
	up();
	call("GET", "/v1/items/a/b", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(handler_of(&r), "items");
	free(r.body);
	call("GET", "/v1/items/deep/x", NULL, &r);
	ck_assert_str_eq(handler_of(&r), "deep");
	free(r.body);
	call("GET", "/v1/items/special", NULL, &r);
	ck_assert_str_eq(handler_of(&r), "special");
	free(r.body);
	/* The path is decoded and has no query. */
	call("GET", "/v1/items/ns%2Fpod?x=1", NULL, &r);
	{
		json_t *doc = body_json(&r);

		ck_assert_str_eq(json_string_value(json_object_get(doc, "path")),
				 "/v1/items/ns/pod");
		json_decref(doc);
	}
	free(r.body);
}
END_TEST

START_TEST(unknown_path_is_404_json)
{
	struct reply r;
	char *e;

	up();
	call("GET", "/v1/nope", NULL, &r);
	ck_assert_int_eq(r.status, 404);
	e = error_of(&r);
	ck_assert_ptr_nonnull(strstr(e, "/v1/nope"));
	/* Nothing about the routes that exist. */
	ck_assert_ptr_null(strstr(e, "/v1/status"));
	free(e);
	free(r.body);
}
END_TEST

START_TEST(wrong_method_is_405_with_allow)
{
	struct reply r;
	char *e;

	ck_assert_int_eq(bw_api_route_add("GET", "/v1/thing", h_name, "g"), 0);
	ck_assert_int_eq(bw_api_route_add("PUT", "/v1/thing", h_name, "p"), 0);
	up();
	call("DELETE", "/v1/thing", NULL, &r);
	ck_assert_int_eq(r.status, 405);
	ck_assert_ptr_nonnull(strstr(r.head, "Allow: GET, PUT"));
	e = error_of(&r);
	ck_assert_str_eq(e, "method DELETE is not allowed on /v1/thing; use GET, PUT");
	free(e);
	free(r.body);
	/* Methods evhttp knows but we never route are JSON errors too. */
	call("PATCH", "/v1/thing", "{}", &r);
	ck_assert_int_eq(r.status, 405);
	free(error_of(&r));
	free(r.body);
	/* HEAD is served by the GET route. */
	call("HEAD", "/v1/thing", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	free(r.body);
}
END_TEST

START_TEST(route_add_checks)
{
	ck_assert_int_eq(bw_api_route_add("GET", "/v1/a", h_name, "a"), 0);
	ck_assert_int_eq(bw_api_route_add("GET", "/v1/a", h_name, "a"), -EEXIST);
	ck_assert_int_eq(bw_api_route_add("POST", "/v1/a", h_name, "a"), 0);
	ck_assert_int_eq(bw_api_route_add("FETCH", "/v1/b", h_name, "b"), -EINVAL);
	ck_assert_int_eq(bw_api_route_add("GET", "v1/b", h_name, "b"), -EINVAL);
	ck_assert_int_eq(bw_api_route_add("GET", "/v1/b", NULL, "b"), -EINVAL);
	ck_assert_int_eq(bw_api_route_remove("GET", "/v1/a"), 0);
	ck_assert_int_eq(bw_api_route_remove("GET", "/v1/a"), -ENOENT);
}
END_TEST

static int freed;

static void
count_free(void *arg)
{
	freed++;
}

START_TEST(owner_routes_dropped_with_free)
{
	struct reply r;
	int owner = 0;

	freed = 0;
	ck_assert_int_eq(bw_api_route_add_owned("GET", "/v1/m/a", h_name, "a",
						count_free, &owner), 0);
	ck_assert_int_eq(bw_api_route_add_owned("GET", "/v1/m/b", h_name, "b",
						count_free, &owner), 0);
	up();
	call("GET", "/v1/m/a", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	free(r.body);
	bw_api_route_remove_owner(&owner);
	ck_assert_int_eq(freed, 2);
	call("GET", "/v1/m/a", NULL, &r);
	ck_assert_int_eq(r.status, 404);
	free(r.body);
}
END_TEST

static int
h_echo(struct bw_api_request *req, void *arg)
{
	json_t *doc = bw_api_req_json(req);

	if (doc == NULL)
		return 0; /* replied 400 */
	return bw_api_reply_json(req, 201, doc);
}

START_TEST(json_body_parsed_and_errors_named)
{
	struct reply r;
	char *e;

	ck_assert_int_eq(bw_api_route_add("POST", "/v1/echo", h_echo, NULL), 0);
	up();
	call("POST", "/v1/echo", "{\"a\": [1, 2]}", &r);
	ck_assert_int_eq(r.status, 201);
	ck_assert_str_eq(r.body, "{\"a\":[1,2]}\n");
	free(r.body);

	call("POST", "/v1/echo", "{\"a\": 1,\n \"b\": }", &r);
	ck_assert_int_eq(r.status, 400);
	e = error_of(&r);
	ck_assert_msg(strstr(e, "malformed JSON body at line 2, column") == e,
		      "got: %s", e);
	free(e);
	free(r.body);

	call("POST", "/v1/echo", NULL, &r);
	ck_assert_int_eq(r.status, 400);
	e = error_of(&r);
	ck_assert_str_eq(e, "request body is empty; expected a JSON document");
	free(e);
	free(r.body);
}
END_TEST

START_TEST(body_over_limit_refused)
{
	struct reply r;
	size_t big = BW_API_MAX_BODY + 16;
	char head[256];
	char *req;
	int hl;

	ck_assert_int_eq(bw_api_route_add("POST", "/v1/echo", h_echo, NULL), 0);
	up();
	hl = snprintf(head, sizeof(head),
		      "POST /v1/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		      "Content-Length: %zu\r\n\r\n", big);
	req = malloc((size_t)hl + big);
	memcpy(req, head, (size_t)hl);
	memset(req + hl, ' ', big);
	raw(req, (size_t)hl + big, &r);
	ck_assert_int_eq(r.status, 413);
	free(r.body);
	free(req);
}
END_TEST

static int
h_query(struct bw_api_request *req, void *arg)
{
	const char *v = bw_api_req_query(req, "name");

	return bw_api_reply_json(req, 200, json_pack("{s:s?}", "name", v));
}

START_TEST(query_decoded)
{
	struct reply r;

	ck_assert_int_eq(bw_api_route_add("GET", "/v1/q", h_query, NULL), 0);
	up();
	call("GET", "/v1/q?name=a%20b&x=1", NULL, &r);
	ck_assert_str_eq(r.body, "{\"name\":\"a b\"}\n");
	free(r.body);
	call("GET", "/v1/q", NULL, &r);
	ck_assert_str_eq(r.body, "{\"name\":null}\n");
	free(r.body);
}
END_TEST

static int
h_fail(struct bw_api_request *req, void *arg)
{
	return -ENOENT;
}

static int
h_silent(struct bw_api_request *req, void *arg)
{
	return 0;
}

static int
h_conflict(struct bw_api_request *req, void *arg)
{
	return bw_api_reply_error(req, 409, "endpoint %s exists", "ns/pod");
}

START_TEST(handler_errors_are_json)
{
	struct reply r;
	char *e;

	ck_assert_int_eq(bw_api_route_add("GET", "/v1/fail", h_fail, NULL), 0);
	ck_assert_int_eq(bw_api_route_add("GET", "/v1/silent", h_silent, NULL), 0);
	ck_assert_int_eq(bw_api_route_add("GET", "/v1/conflict", h_conflict, NULL), 0);
	up();
	call("GET", "/v1/fail", NULL, &r);
	ck_assert_int_eq(r.status, 500);
	e = error_of(&r);
	ck_assert_str_eq(e, "GET /v1/fail failed: No such file or directory");
	free(e);
	free(r.body);
	call("GET", "/v1/silent", NULL, &r);
	ck_assert_int_eq(r.status, 500);
	free(error_of(&r));
	free(r.body);
	call("GET", "/v1/conflict", NULL, &r);
	ck_assert_int_eq(r.status, 409);
	e = error_of(&r);
	ck_assert_str_eq(e, "endpoint ns/pod exists");
	free(e);
	free(r.body);
}
END_TEST

static int
h_stream(struct bw_api_request *req, void *arg)
{
	ck_assert_int_eq(bw_api_stream_begin(req), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(bw_api_stream_json(req, json_pack("{s:i}", "n", i)), 0);
	ck_assert_int_eq(bw_api_stream_text(req, "{\"last\":true}"), 0);
	return bw_api_stream_end(req);
}

START_TEST(ndjson_stream_chunked)
{
	struct reply r;

	ck_assert_int_eq(bw_api_route_add("GET", "/v1/flows", h_stream, NULL), 0);
	up();
	call("GET", "/v1/flows", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.head, "Transfer-Encoding: chunked"));
	ck_assert_ptr_nonnull(strstr(r.head, "Content-Type: application/x-ndjson"));
	/* Chunk framing around each line. */
	ck_assert_ptr_nonnull(strstr(r.body, "{\"n\":0}\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "{\"n\":2}\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "{\"last\":true}\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "\r\n0\r\n\r\n"));
	free(r.body);
}
END_TEST

/* A handler that keeps the loop busy longer than the idle timeout. */
static int
h_slow(struct bw_api_request *req, void *arg)
{
	sleep(2);
	return bw_api_reply_json(req, 200, json_pack("{s:b}", "done", 1));
}

START_TEST(a_handler_longer_than_the_idle_timeout_still_answers)
{
	struct reply r;
	json_t *doc;

	ck_assert_int_eq(bw_api_route_add("POST", "/v1/slow", h_slow, NULL), 0);
	up();
	bw_api_set_timeout(1);
	call("POST", "/v1/slow", "{}", &r);
	ck_assert_int_eq(r.status, 200);
	doc = body_json(&r);
	ck_assert(json_is_true(json_object_get(doc, "done")));
	json_decref(doc);
	free(r.body);
}
END_TEST

static struct bw_api_request *held;
static int closed_calls;

static void
on_closed(struct bw_api_request *req, void *arg)
{
	ck_assert_ptr_eq(req, held);
	closed_calls++;
}

static int
h_follow(struct bw_api_request *req, void *arg)
{
	ck_assert_int_eq(bw_api_stream_begin(req), 0);
	bw_api_stream_on_close(req, on_closed, NULL);
	ck_assert_int_eq(bw_api_stream_text(req, "{\"first\":1}"), 0);
	held = req; /* ended later, like observe --follow */
	return 0;
}

START_TEST(stream_outlives_handler_and_sees_client_go)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *req = "GET /v1/follow HTTP/1.1\r\nHost: x\r\n\r\n";
	char buf[4096];
	size_t n = 0;
	int fd, spins = 0;

	held = NULL;
	closed_calls = 0;
	ck_assert_int_eq(bw_api_route_add("GET", "/v1/follow", h_follow, NULL), 0);
	up();
	bw_api_set_timeout(1);
	strcpy(sun.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	/* Read until the first line has arrived. */
	while (spins++ < 100000) {
		ssize_t rd;

		event_base_loop(base, EVLOOP_NONBLOCK);
		rd = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (rd > 0) {
			n += (size_t)rd;
			buf[n] = '\0';
			if (strstr(buf, "{\"first\":1}\n") != NULL)
				break;
		} else
			poll(NULL, 0, 1);
	}
	ck_assert_ptr_nonnull(strstr(buf, "{\"first\":1}\n"));
	ck_assert_ptr_nonnull(held);
	/* A quiet stream outlives the idle timeout (1 s here). */
	{
		struct timeval tv = { 2, 500000 };

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	ck_assert_int_eq(closed_calls, 0);
	/* More lines while the client is there. */
	ck_assert_int_eq(bw_api_stream_text(held, "{\"second\":2}"), 0);
	for (spins = 0; spins < 100000; spins++) {
		ssize_t rd;

		event_base_loop(base, EVLOOP_NONBLOCK);
		rd = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (rd > 0) {
			n += (size_t)rd;
			buf[n] = '\0';
			if (strstr(buf, "{\"second\":2}\n") != NULL)
				break;
		} else if (rd == 0)
			break;
		else
			poll(NULL, 0, 1);
	}
	ck_assert_ptr_nonnull(strstr(buf, "{\"second\":2}\n"));
	close(fd);
	for (spins = 0; closed_calls == 0 && spins < 100000; spins++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (closed_calls == 0)
			bw_api_stream_text(held, "{\"more\":3}");
		poll(NULL, 0, 1);
	}
	ck_assert_int_eq(closed_calls, 1);
	ck_assert_int_eq(bw_api_stream_text(held, "{\"late\":4}"), -EPIPE);
	ck_assert_int_eq(bw_api_stream_end(held), -EPIPE);
	held = NULL;
}
END_TEST

static json_t *
sec_endpoints(void *arg)
{
	return json_pack("{s:i}", "count", *(int *)arg);
}

START_TEST(status_document_and_sections)
{
	struct reply r;
	json_t *doc;
	int n = 4;

	up();
	call("GET", "/v1/status", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	doc = body_json(&r);
	ck_assert(json_is_false(json_object_get(doc, "ready")));
	ck_assert(json_is_string(json_object_get(doc, "version")));
	ck_assert(json_is_integer(json_object_get(doc, "uptime_seconds")));
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "pid")), getpid());
	ck_assert_ptr_null(json_object_get(doc, "endpoints"));
	json_decref(doc);
	free(r.body);

	bw_api_set_ready(1);
	ck_assert_int_eq(bw_api_status_add("endpoints", sec_endpoints, &n), 0);
	ck_assert_int_eq(bw_api_status_add("endpoints", sec_endpoints, &n), -EEXIST);
	call("GET", "/v1/status", NULL, &r);
	doc = body_json(&r);
	ck_assert(json_is_true(json_object_get(doc, "ready")));
	ck_assert_int_eq(json_integer_value(json_object_get(
		json_object_get(doc, "endpoints"), "count")), 4);
	json_decref(doc);
	free(r.body);
}
END_TEST

START_TEST(socket_mode_0660)
{
	struct stat st;

	up();
	ck_assert_int_eq(stat(sock, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0660);
	bw_api_fini();
	ck_assert_int_eq(stat(sock, &st), -1); /* removed on exit */
}
END_TEST

START_TEST(socket_parent_created_and_group_set)
{
	struct stat st;

	snprintf(sock, sizeof(sock), "%s/sub/dir/api.sock", dir);
	ck_assert_int_eq(bw_api_init(base, sock, "root"), 0);
	ck_assert_int_eq(stat(sock, &st), 0);
	ck_assert_int_eq(st.st_gid, 0);
}
END_TEST

START_TEST(unknown_group_refused)
{
	struct stat st;

	ck_assert_int_eq(bw_api_init(base, sock, "no-such-group-bw"), -ENOENT);
	ck_assert_int_eq(stat(sock, &st), -1);
}
END_TEST

START_TEST(stale_socket_replaced)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct reply r;

	strcpy(sun.sun_path, sock);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd); /* a socket file nobody listens on: a crashed daemon's */
	up();
	call("GET", "/v1/status", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	free(r.body);
}
END_TEST

START_TEST(live_socket_refused)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct stat st;

	strcpy(sun.sun_path, sock);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_int_eq(bw_api_init(base, sock, NULL), -EADDRINUSE);
	/* The other daemon's socket is left alone. */
	ck_assert_int_eq(stat(sock, &st), 0);
	close(fd);
}
END_TEST

START_TEST(non_socket_file_refused)
{
	FILE *f = fopen(sock, "w");

	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(bw_api_init(base, sock, NULL), -EEXIST);
}
END_TEST

START_TEST(socket_path_too_long_refused)
{
	char path[200];

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	ck_assert_int_eq(bw_api_init(base, path, NULL), -ENAMETOOLONG);
}
END_TEST

static Suite *
api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("routing");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, exact_route_answers);
	tcase_add_test(tc, request_hooks_run_around_every_handler);
	tcase_add_test(tc, prefix_routes_longest_wins_exact_beats_prefix);
	tcase_add_test(tc, unknown_path_is_404_json);
	tcase_add_test(tc, wrong_method_is_405_with_allow);
	tcase_add_test(tc, route_add_checks);
	tcase_add_test(tc, owner_routes_dropped_with_free);
	tcase_add_test(tc, handler_errors_are_json);
	tcase_add_test(tc, query_decoded);
	suite_add_tcase(s, tc);

	tc = tcase_create("bodies");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, json_body_parsed_and_errors_named);
	tcase_add_test(tc, body_over_limit_refused);
	tcase_add_test(tc, ndjson_stream_chunked);
	tcase_add_test(tc, stream_outlives_handler_and_sees_client_go);
	tcase_add_test(tc, a_handler_longer_than_the_idle_timeout_still_answers);
	tcase_add_test(tc, status_document_and_sections);
	suite_add_tcase(s, tc);

	tc = tcase_create("socket");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, socket_mode_0660);
	tcase_add_test(tc, socket_parent_created_and_group_set);
	tcase_add_test(tc, unknown_group_refused);
	tcase_add_test(tc, stale_socket_replaced);
	tcase_add_test(tc, live_socket_refused);
	tcase_add_test(tc, non_socket_file_refused);
	tcase_add_test(tc, socket_path_too_long_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(api_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
