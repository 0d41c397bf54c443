/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_http_rules.c - modules/http/http_rules.c: Cilium's
 * rules.http semantics (cilium-hubble.md 10.1): method, path and host are
 * regular expressions that must match the whole value; headers by presence
 * or "Name: value"; headerMatches with and without a mismatch action;
 * entries OR-ed; errors name the entry and the field.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "http_parse.h"
#include "http_rules.h"

static struct http_rules *rs;
static struct http_msg msg;
static char err[512];

static void
compile(const char *json)
{
	http_rules_free(rs);
	rs = NULL;
	ck_assert_msg(http_rules_compile(json, &rs, err, sizeof(err)) == 0, "%s", err);
}

/* Does this request match; which entry? */
static int
match_req(const char *head, size_t *n_acts, struct http_action *acts)
{
	struct http_req_view v;
	size_t scan = 0, dummy;
	struct http_action a[HTTP_MAX_ACTIONS];
	const char *e = NULL;
	long end = http_head_end((const uint8_t *)head, strlen(head), &scan, &e);

	ck_assert_int_gt(end, 0);
	ck_assert_int_eq(http_parse_request((const uint8_t *)head, (size_t)end, &msg), 0);
	v.method = msg.method;
	v.method_len = msg.method_len;
	v.path = msg.target;
	v.path_len = msg.target_len;
	v.host = msg.field[msg.host].value;
	v.host_len = msg.field[msg.host].value_len;
	v.msg = &msg;
	return http_rules_match(rs, &v, acts != NULL ? acts : a,
				n_acts != NULL ? n_acts : &dummy);
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: api.example\r\n\r\n"

static void
teardown(void)
{
	http_rules_free(rs);
	rs = NULL;
}

START_TEST(test_path_matches_whole_value)
{
	compile("[{\"method\":\"GET\",\"path\":\"/public\"}]");
	ck_assert_int_eq(match_req(GET("/public"), NULL, NULL), 0);
	ck_assert_int_eq(match_req(GET("/public/x"), NULL, NULL), -1);
	ck_assert_int_eq(match_req(GET("/x/public"), NULL, NULL), -1);
	/* the query is part of the path, as Envoy's :path */
	ck_assert_int_eq(match_req(GET("/public?a=1"), NULL, NULL), -1);
	compile("[{\"path\":\"/public/.*\"}]");
	ck_assert_int_eq(match_req(GET("/public/x?a=1"), NULL, NULL), 0);
	ck_assert_int_eq(match_req(GET("/publicx"), NULL, NULL), -1);
}
END_TEST

START_TEST(test_method_regex_and_case)
{
	compile("[{\"method\":\"GET|HEAD\"}]");
	ck_assert_int_eq(match_req(GET("/"), NULL, NULL), 0);
	ck_assert_int_eq(match_req("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", NULL, NULL), 0);
	ck_assert_int_eq(match_req("POST / HTTP/1.1\r\nHost: h\r\n\r\n", NULL, NULL), -1);
	ck_assert_int_eq(match_req("get / HTTP/1.1\r\nHost: h\r\n\r\n", NULL, NULL), -1);
	/* "GETX" is not "GET" */
	ck_assert_int_eq(match_req("GETX / HTTP/1.1\r\nHost: h\r\n\r\n", NULL, NULL), -1);
}
END_TEST

START_TEST(test_host)
{
	compile("[{\"host\":\"api\\\\.example\"}]");
	ck_assert_int_eq(match_req(GET("/"), NULL, NULL), 0);
	ck_assert_int_eq(match_req("GET / HTTP/1.1\r\nHost: api.example:8080\r\n\r\n",
				   NULL, NULL), -1);
	ck_assert_int_eq(match_req("GET / HTTP/1.1\r\nHost: apixexample\r\n\r\n", NULL, NULL), -1);
}
END_TEST

START_TEST(test_entries_are_ored_first_wins)
{
	compile("[{\"method\":\"POST\"},{\"path\":\"/a\"},{\"path\":\"/.*\"}]");
	ck_assert_int_eq(match_req(GET("/a"), NULL, NULL), 1);
	ck_assert_int_eq(match_req(GET("/b"), NULL, NULL), 2);
	compile("[]");
	ck_assert_int_eq(match_req(GET("/a"), NULL, NULL), -1);
	compile("[{}]"); /* an empty entry allows everything */
	ck_assert_int_eq(match_req(GET("/a"), NULL, NULL), 0);
}
END_TEST

START_TEST(test_headers_presence_and_value)
{
	compile("[{\"headers\":[\"X-Token\",\"X-Env: prod\"]}]");
	ck_assert_int_eq(match_req(GET("/"), NULL, NULL), -1);
	ck_assert_int_eq(match_req("GET / HTTP/1.1\r\nHost: h\r\nx-token: 1\r\n"
				   "X-Env: prod\r\n\r\n", NULL, NULL), 0);
	ck_assert_int_eq(match_req("GET / HTTP/1.1\r\nHost: h\r\nX-Token: 1\r\n"
				   "X-Env: Prod\r\n\r\n", NULL, NULL), -1);
	/* any of several fields of that name may match */
	ck_assert_int_eq(match_req("GET / HTTP/1.1\r\nHost: h\r\nX-Token: 1\r\n"
				   "X-Env: dev\r\nX-Env: prod\r\n\r\n", NULL, NULL), 0);
}
END_TEST

START_TEST(test_header_matches_and_actions)
{
	struct http_action acts[HTTP_MAX_ACTIONS];
	size_t n = 0;

	compile("[{\"headerMatches\":[{\"name\":\"X-Key\",\"value\":\"s3cret\"}]}]");
	ck_assert_int_eq(match_req("GET / HTTP/1.1\r\nHost: h\r\nX-Key: s3cret\r\n\r\n",
				   NULL, NULL), 0);
	ck_assert_int_eq(match_req("GET / HTTP/1.1\r\nHost: h\r\nX-Key: other\r\n\r\n",
				   NULL, NULL), -1);
	compile("[{\"headerMatches\":[{\"name\":\"X-Key\"}]}]"); /* no value: presence */
	ck_assert_int_eq(match_req("GET / HTTP/1.1\r\nHost: h\r\nX-Key: any\r\n\r\n",
				   NULL, NULL), 0);
	compile("[{\"path\":\"/a\",\"headerMatches\":[{\"name\":\"X-Key\",\"value\":\"v\","
		"\"mismatch\":\"REPLACE\"},{\"name\":\"X-Log\",\"value\":\"1\",\"mismatch\":\"LOG\"}]}]");
	/* a mismatch with an action still matches, and reports the action */
	ck_assert_int_eq(match_req("GET /a HTTP/1.1\r\nHost: h\r\nX-Key: bad\r\n\r\n",
				   &n, acts), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(acts[0].action, HTTP_MISMATCH_REPLACE);
	ck_assert_str_eq(acts[0].name, "X-Key");
	ck_assert_str_eq(acts[0].value, "v");
	ck_assert_int_eq(acts[1].action, HTTP_MISMATCH_LOG);
	ck_assert_int_eq(match_req("GET /a HTTP/1.1\r\nHost: h\r\nX-Key: v\r\nX-Log: 1\r\n\r\n",
				   &n, acts), 0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_errors_name_entry_and_field)
{
	ck_assert_int_eq(http_rules_compile("[{\"path\":\"/a\"},{\"path\":\"(\"}]", &rs,
					    err, sizeof(err)), -EINVAL);
	ck_assert_msg(strncmp(err, "http[1].path: '(' is not a valid regular expression", 50) == 0,
		      "%s", err);
	ck_assert_int_eq(http_rules_compile("[{\"verb\":\"GET\"}]", &rs, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "http[0]: unknown field 'verb'");
	ck_assert_int_eq(http_rules_compile("[{\"headerMatches\":[{\"name\":\"a\","
					    "\"mismatch\":\"DROP\"}]}]", &rs, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "http[0].headerMatches[0].mismatch: 'DROP' is not one of LOG, ADD, DELETE, REPLACE");
	ck_assert_int_eq(http_rules_compile("[{\"headerMatches\":[{\"name\":\"a\","
					    "\"secret\":{\"name\":\"s\"}}]}]", &rs, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(http_rules_compile("[{\"method\":7}]", &rs, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "http[0].method: must be a string");
	ck_assert_int_eq(http_rules_compile("{}", &rs, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(rs);
}
END_TEST

static Suite *
http_rules_suite(void)
{
	Suite *s = suite_create("http_rules");
	TCase *tc = tcase_create("rules");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_path_matches_whole_value);
	tcase_add_test(tc, test_method_regex_and_case);
	tcase_add_test(tc, test_host);
	tcase_add_test(tc, test_entries_are_ored_first_wins);
	tcase_add_test(tc, test_headers_presence_and_value);
	tcase_add_test(tc, test_header_matches_and_actions);
	tcase_add_test(tc, test_errors_name_entry_and_field);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(http_rules_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
