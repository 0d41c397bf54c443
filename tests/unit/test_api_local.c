/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_api_local.c - in-process calls of control API routes
 * (bw_api_local_call(), the core side of bw_core_api.api_call, ABI 1.2):
 * a module gets exactly what a client of the socket gets - the handler's
 * reply, 404 and 405 errors as JSON, query strings and bodies decoded the
 * same way, NDJSON streams line by line whether they end in the handler or
 * later, and deferred replies (reply_later) - and a stream it cancels tells
 * the stream's owner that its client went away, after which nothing more
 * reaches the caller. Calls nested too deep are refused.
 *
 * No listener is needed: the route table is independent of the socket.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "core/api.h"
#include "core/log.h"

/* What the caller's callback saw. */
struct seen {
	int replies, begins, lines, ends;
	int status;
	char text[4096];  /* the reply, or the lines joined by '|' */
};

static void
record(enum bw_api_call_event ev, int status, const char *text, size_t len,
       void *arg)
{
	struct seen *s = arg;
	size_t used = strlen(s->text);

	s->status = status;
	switch (ev) {
	case BW_API_CALL_REPLY:
		s->replies++;
		snprintf(s->text, sizeof(s->text), "%.*s", (int)len, text);
		break;
	case BW_API_CALL_STREAM_BEGIN:
		ck_assert_ptr_null(text);
		s->begins++;
		break;
	case BW_API_CALL_STREAM_LINE:
		ck_assert_ptr_nonnull(text);
		ck_assert_ptr_null(memchr(text, '\n', len));
		s->lines++;
		snprintf(s->text + used, sizeof(s->text) - used, "%s%.*s",
			 used ? "|" : "", (int)len, text);
		break;
	case BW_API_CALL_STREAM_END:
		ck_assert_ptr_null(text);
		s->ends++;
		break;
	}
}

static json_t *
reply_json(const struct seen *s)
{
	json_error_t jerr;
	json_t *doc = json_loads(s->text, 0, &jerr);

	ck_assert_msg(doc != NULL, "not JSON: %s", s->text);
	return doc;
}

static void
setup(void)
{
	bw_log_set_level(BW_LOG_ERR);
}

static void
teardown(void)
{
	bw_api_fini(); /* drops every route */
}

/* Echo the request: method, path, query "q", body. */
static int
h_echo(struct bw_api_request *req, void *arg)
{
	const char *q = bw_api_req_query(req, "q");
	size_t len = 0;
	const char *body = bw_api_req_body(req, &len);

	return bw_api_reply_json(req, 200,
				 json_pack("{s:s, s:s, s:s?, s:s#}", "method",
					   bw_api_req_method(req), "path",
					   bw_api_req_path(req), "q", q, "body",
					   body, (int)len));
}

START_TEST(a_route_answers_in_process_as_on_the_socket)
{
	struct seen s = { 0 };
	struct bw_api_request *h = (void *)1;
	json_t *doc;

	ck_assert_int_eq(bw_api_route_add("GET", "/v1/things/", h_echo, NULL), 0);
	ck_assert_int_eq(bw_api_local_call("GET", "/v1/things/ns%2Fpod?q=a%20b&x=1",
					   NULL, 0, record, &s, &h), 0);
	ck_assert_ptr_null(h);
	ck_assert_int_eq(s.replies, 1);
	ck_assert_int_eq(s.status, 200);
	doc = reply_json(&s);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "method")), "GET");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "path")),
			 "/v1/things/ns/pod");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "q")), "a b");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "body")), "");
	json_decref(doc);
}
END_TEST

START_TEST(a_body_reaches_the_handler)
{
	struct seen s = { 0 };
	const char body[] = "kind: X\nname: y\n";
	json_t *doc;

	ck_assert_int_eq(bw_api_route_add("POST", "/v1/import", h_echo, NULL), 0);
	ck_assert_int_eq(bw_api_local_call("POST", "/v1/import", body,
					   strlen(body), record, &s, NULL), 0);
	ck_assert_int_eq(s.status, 200);
	doc = reply_json(&s);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "method")), "POST");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "body")), body);
	json_decref(doc);
}
END_TEST

START_TEST(unknown_path_and_wrong_method_are_json_errors)
{
	struct seen s = { 0 };
	json_t *doc;

	ck_assert_int_eq(bw_api_route_add("GET", "/v1/only-get", h_echo, NULL), 0);
	ck_assert_int_eq(bw_api_local_call("GET", "/v1/exposure", NULL, 0, record,
					   &s, NULL), 0);
	ck_assert_int_eq(s.status, 404);
	doc = reply_json(&s);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(doc, "error")),
				     "no API endpoint at /v1/exposure"));
	json_decref(doc);

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(bw_api_local_call("DELETE", "/v1/only-get", NULL, 0,
					   record, &s, NULL), 0);
	ck_assert_int_eq(s.status, 405);
	doc = reply_json(&s);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(doc, "error")),
				     "use GET"));
	json_decref(doc);
}
END_TEST

static int
h_fail(struct bw_api_request *req, void *arg)
{
	return -EIO;
}

START_TEST(a_failing_handler_gives_a_500_json_error)
{
	struct seen s = { 0 };
	json_t *doc;

	ck_assert_int_eq(bw_api_route_add("GET", "/v1/broken", h_fail, NULL), 0);
	ck_assert_int_eq(bw_api_local_call("GET", "/v1/broken", NULL, 0, record,
					   &s, NULL), 0);
	ck_assert_int_eq(s.replies, 1);
	ck_assert_int_eq(s.status, 500);
	doc = reply_json(&s);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(doc, "error")),
				     "GET /v1/broken failed"));
	json_decref(doc);
}
END_TEST

START_TEST(bad_arguments_are_refused_without_a_call)
{
	struct seen s = { 0 };

	ck_assert_int_eq(bw_api_local_call("GET", "v1/x", NULL, 0, record, &s, NULL),
			 -EINVAL);
	ck_assert_int_eq(bw_api_local_call("PATCH", "/v1/x", NULL, 0, record, &s,
					   NULL), -EINVAL);
	ck_assert_int_eq(bw_api_local_call("GET", "/v1/x", NULL, 0, NULL, NULL,
					   NULL), -EINVAL);
	ck_assert_int_eq(bw_api_local_call("POST", "/v1/x", "", BW_API_MAX_BODY + 1,
					   record, &s, NULL), -E2BIG);
	ck_assert_int_eq(s.replies + s.begins, 0);
	/* A path with an encoded NUL is the client's error, as on the socket. */
	ck_assert_int_eq(bw_api_local_call("GET", "/v1/x%00y", NULL, 0, record, &s,
					   NULL), 0);
	ck_assert_int_eq(s.status, 400);
}
END_TEST

static int
h_stream(struct bw_api_request *req, void *arg)
{
	ck_assert_int_eq(bw_api_stream_begin(req), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(bw_api_stream_json(req, json_pack("{s:i}", "n", i)), 0);
	return bw_api_stream_end(req);
}

START_TEST(a_stream_ended_by_its_handler_arrives_whole)
{
	struct seen s = { 0 };
	struct bw_api_request *h = (void *)1;

	ck_assert_int_eq(bw_api_route_add("GET", "/v1/flows", h_stream, NULL), 0);
	ck_assert_int_eq(bw_api_local_call("GET", "/v1/flows?number=3", NULL, 0,
					   record, &s, &h), 0);
	ck_assert_ptr_null(h);
	ck_assert_int_eq(s.begins, 1);
	ck_assert_int_eq(s.lines, 3);
	ck_assert_int_eq(s.ends, 1);
	ck_assert_int_eq(s.replies, 0);
	ck_assert_str_eq(s.text, "{\"n\":0}|{\"n\":1}|{\"n\":2}");
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

START_TEST(a_stream_that_goes_on_delivers_later_lines_and_its_end)
{
	struct seen s = { 0 };
	struct bw_api_request *h = NULL;

	held = NULL;
	closed_calls = 0;
	ck_assert_int_eq(bw_api_route_add("GET", "/v1/follow", h_follow, NULL), 0);
	ck_assert_int_eq(bw_api_local_call("GET", "/v1/follow", NULL, 0, record, &s,
					   &h), 0);
	ck_assert_ptr_eq(h, held);
	ck_assert_int_eq(s.begins, 1);
	ck_assert_int_eq(s.lines, 1);
	ck_assert_int_eq(bw_api_stream_text(held, "{\"second\":2}"), 0);
	ck_assert_int_eq(s.lines, 2);
	ck_assert_int_eq(s.ends, 0);
	ck_assert_int_eq(bw_api_stream_end(held), 0);
	ck_assert_int_eq(s.ends, 1);
	ck_assert_int_eq(closed_calls, 0);
	ck_assert_str_eq(s.text, "{\"first\":1}|{\"second\":2}");
}
END_TEST

START_TEST(a_cancelled_stream_tells_its_owner_and_stays_quiet)
{
	struct seen s = { 0 };
	struct bw_api_request *h = NULL;

	held = NULL;
	closed_calls = 0;
	ck_assert_int_eq(bw_api_route_add("GET", "/v1/follow", h_follow, NULL), 0);
	ck_assert_int_eq(bw_api_local_call("GET", "/v1/follow", NULL, 0, record, &s,
					   &h), 0);
	ck_assert_ptr_nonnull(h);
	bw_api_local_cancel(h);
	ck_assert_int_eq(closed_calls, 1);
	/* The owner's writes fail as for a client that went away. */
	ck_assert_int_eq(bw_api_stream_text(held, "{\"late\":1}"), -EPIPE);
	ck_assert_int_eq(bw_api_stream_end(held), -EPIPE);
	ck_assert_int_eq(s.lines, 1);
	ck_assert_int_eq(s.ends, 0);
	held = NULL;
}
END_TEST

/* A handler that answers later (flowstore's reply_later). */
static struct bw_api_request *later;

static int
h_later(struct bw_api_request *req, void *arg)
{
	ck_assert_int_eq(bw_api_reply_later(req), 0);
	later = req;
	return 0;
}

START_TEST(a_deferred_reply_arrives_later)
{
	struct seen s = { 0 };
	struct bw_api_request *h = NULL;

	later = NULL;
	ck_assert_int_eq(bw_api_route_add("GET", "/v1/exposure", h_later, NULL), 0);
	ck_assert_int_eq(bw_api_local_call("GET", "/v1/exposure", NULL, 0, record, &s,
					   &h), 0);
	ck_assert_ptr_nonnull(h);
	ck_assert_ptr_eq(h, later);
	ck_assert_int_eq(s.replies, 0);
	ck_assert_int_eq(bw_api_reply_json(later, 200, json_pack("{s:i}", "done", 1)), 0);
	ck_assert_int_eq(s.replies, 1);
	ck_assert_int_eq(s.status, 200);
	ck_assert_str_eq(s.text, "{\"done\":1}");
}
END_TEST

START_TEST(a_cancelled_deferred_reply_goes_nowhere)
{
	struct seen s = { 0 };
	struct bw_api_request *h = NULL;

	later = NULL;
	ck_assert_int_eq(bw_api_route_add("GET", "/v1/exposure", h_later, NULL), 0);
	ck_assert_int_eq(bw_api_local_call("GET", "/v1/exposure", NULL, 0, record, &s,
					   &h), 0);
	ck_assert_ptr_nonnull(h);
	bw_api_local_cancel(h);
	/* the owner still answers (and so frees it), as for a gone client */
	ck_assert_int_eq(bw_api_reply_json(later, 200, json_pack("{s:i}", "done", 1)),
			 -EPIPE);
	ck_assert_int_eq(s.replies, 0);
}
END_TEST

/* A handler that calls its own route in-process, over and over. */
static int nested_calls, nested_refusals;

static int
h_recurse(struct bw_api_request *req, void *arg)
{
	struct seen s = { 0 };
	int rc;

	nested_calls++;
	rc = bw_api_local_call("GET", "/v1/again", NULL, 0, record, &s, NULL);
	if (rc == -ELOOP)
		nested_refusals++;
	return bw_api_reply_json(req, 200, json_pack("{s:i}", "rc", rc));
}

START_TEST(nesting_too_deep_is_refused)
{
	struct seen s = { 0 };

	nested_calls = nested_refusals = 0;
	ck_assert_int_eq(bw_api_route_add("GET", "/v1/again", h_recurse, NULL), 0);
	ck_assert_int_eq(bw_api_local_call("GET", "/v1/again", NULL, 0, record, &s,
					   NULL), 0);
	ck_assert_int_eq(s.status, 200);
	ck_assert_int_eq(nested_calls, BW_API_CALL_DEPTH);
	ck_assert_int_eq(nested_refusals, 1);
}
END_TEST

static Suite *
api_local_suite(void)
{
	Suite *s = suite_create("api_local");
	TCase *tc = tcase_create("calls");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_route_answers_in_process_as_on_the_socket);
	tcase_add_test(tc, a_body_reaches_the_handler);
	tcase_add_test(tc, unknown_path_and_wrong_method_are_json_errors);
	tcase_add_test(tc, a_failing_handler_gives_a_500_json_error);
	tcase_add_test(tc, bad_arguments_are_refused_without_a_call);
	tcase_add_test(tc, a_stream_ended_by_its_handler_arrives_whole);
	tcase_add_test(tc, a_stream_that_goes_on_delivers_later_lines_and_its_end);
	tcase_add_test(tc, a_cancelled_stream_tells_its_owner_and_stays_quiet);
	tcase_add_test(tc, a_deferred_reply_arrives_later);
	tcase_add_test(tc, a_cancelled_deferred_reply_goes_nowhere);
	tcase_add_test(tc, nesting_too_deep_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(api_local_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
