/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_http_parse.c - modules/http/http_parse.c: message heads,
 * framing and chunked coding, and every request-smuggling shape of RFC 9112
 * section 11 that the proxy must refuse instead of guessing. The smuggling
 * table below is also what tests/bench/bench_http_parser.c runs through
 * nodejs's http-parser for comparison.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "http_parse.h"
#include "http_smuggling.h"

static struct http_msg msg;

/* Parse a whole request head; returns the status (0 = accepted). */
static int
req(const char *s)
{
	size_t scan = 0;
	const char *err = NULL;
	long end = http_head_end((const uint8_t *)s, strlen(s), &scan, &err);

	if (end < 0)
		return 400;
	if (end == 0)
		return -1; /* incomplete */
	return http_parse_request((const uint8_t *)s, (size_t)end, &msg);
}

static int
resp(const char *s)
{
	size_t scan = 0;
	const char *err = NULL;
	long end = http_head_end((const uint8_t *)s, strlen(s), &scan, &err);

	if (end <= 0)
		return end == 0 ? -1 : 502;
	return http_parse_response((const uint8_t *)s, (size_t)end, &msg);
}

START_TEST(test_simple_get)
{
	ck_assert_int_eq(req("GET /a?b=1 HTTP/1.1\r\nHost: example.example\r\n"
			     "User-Agent: curl\r\n\r\n"), 0);
	ck_assert_int_eq(msg.method_len, 3);
	ck_assert(memcmp(msg.method, "GET", 3) == 0);
	ck_assert_int_eq(msg.target_len, 6);
	ck_assert(memcmp(msg.target, "/a?b=1", 6) == 0);
	ck_assert_uint_eq(msg.version, 11);
	ck_assert_uint_eq(msg.n_fields, 2);
	ck_assert_int_eq(msg.host, 0);
	ck_assert_int_eq(msg.content_length, -1);
	ck_assert(!msg.chunked);
	ck_assert_int_eq(msg.field[1].value_len, 4);
	ck_assert(memcmp(msg.field[1].value, "curl", 4) == 0);
}
END_TEST

START_TEST(test_ows_trimmed_and_connection_tokens)
{
	ck_assert_int_eq(req("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length:  12 \t\r\n"
			     "Connection: Keep-Alive, Upgrade\r\nUpgrade: websocket\r\n"
			     "Expect: 100-continue\r\n\r\n"), 0);
	ck_assert_int_eq(msg.content_length, 12);
	ck_assert(msg.conn_keepalive && msg.conn_upgrade && !msg.conn_close);
	ck_assert(msg.expect_continue);
	ck_assert_int_eq(msg.upgrade, 3);
}
END_TEST

START_TEST(test_head_found_a_byte_at_a_time)
{
	const char *s = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
	size_t scan = 0, n = strlen(s);
	const char *err = NULL;

	for (size_t i = 1; i < n; i++)
		ck_assert_int_eq(http_head_end((const uint8_t *)s, i, &scan, &err), 0);
	ck_assert_int_eq(http_head_end((const uint8_t *)s, n, &scan, &err), (long)n);
}
END_TEST

START_TEST(test_http10_and_versions)
{
	ck_assert_int_eq(req("GET / HTTP/1.0\r\n\r\n"), 0); /* no Host needed */
	ck_assert_uint_eq(msg.version, 10);
	ck_assert_int_eq(req("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), 505);
	ck_assert_int_eq(req("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
	ck_assert_int_eq(req("GET / HTTP/1.1\r\n\r\n"), 400);   /* no Host */
	ck_assert_int_eq(req("GET / http/1.1\r\nHost: h\r\n\r\n"), 400);
	ck_assert_int_eq(req("GET /\r\nHost: h\r\n\r\n"), 400); /* HTTP/0.9 */
}
END_TEST

START_TEST(test_expectations)
{
	ck_assert_int_eq(req("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n"
			     "Content-Length: 1\r\n\r\n"), 0);
	ck_assert(msg.expect_continue);
	ck_assert_int_eq(req("PUT / HTTP/1.1\r\nHost: h\r\nExpect: teapot\r\n\r\n"), 417);
}
END_TEST

START_TEST(test_too_many_fields)
{
	static char buf[HTTP_MAX_FIELDS * 16 + 64];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: h\r\n");

	for (int i = 0; i < HTTP_MAX_FIELDS; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%d: v\r\n", i);
	snprintf(buf + n, sizeof(buf) - n, "\r\n");
	ck_assert_int_eq(req(buf), 431);
}
END_TEST

/* Every smuggling shape is refused with 400 (the table is shared with the
 * parser comparison benchmark). */
START_TEST(test_smuggling_refused)
{
	for (size_t i = 0; i < http_n_smuggling; i++) {
		const struct http_smuggling *t = &http_smuggling[i];
		int rc = req(t->request);

		if (t->chunked_body != NULL && rc == 0) {
			/* the head is fine; the chunked body is not */
			struct http_chunked c;
			const char *body = t->chunked_body, *err = NULL;
			size_t used, off = 0, len = strlen(body);
			uint64_t data;
			int r;

			http_chunked_init(&c);
			do {
				r = http_chunked_step(&c, (const uint8_t *)body + off,
						      len - off, &used, &data, &err);
				off += used + data;
			} while (r == HTTP_CHUNK_DATA && off <= len);
			ck_assert_msg(r == HTTP_CHUNK_ERROR, "%s: chunked body accepted",
				      t->name);
			continue;
		}
		ck_assert_msg(rc == 400, "%s: got %d, want 400", t->name, rc);
	}
}
END_TEST

START_TEST(test_transfer_encoding_framing)
{
	ck_assert_int_eq(req("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 0);
	ck_assert(msg.chunked);
	ck_assert_int_eq(req("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n"
			     "Transfer-Encoding: chunked\r\n\r\n"), 0);
	ck_assert(msg.chunked);
	/* a response: chunked not last means "read to the close" */
	ck_assert_int_eq(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), 0);
	ck_assert(!msg.chunked && msg.te);
	/* a response with both: Transfer-Encoding wins */
	ck_assert_int_eq(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
			      "Content-Length: 5\r\n\r\n"), 0);
	ck_assert(msg.chunked);
	ck_assert_int_eq(msg.content_length, -1);
}
END_TEST

START_TEST(test_status_lines)
{
	ck_assert_int_eq(resp("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"), 0);
	ck_assert_uint_eq(msg.status, 200);
	ck_assert_int_eq(msg.content_length, 3);
	ck_assert_int_eq(resp("HTTP/1.1 204\r\n\r\n"), 0); /* no reason, no SP */
	ck_assert_uint_eq(msg.status, 204);
	ck_assert_int_eq(resp("HTTP/1.0 404 Not Found\r\nConnection: keep-alive\r\n\r\n"), 0);
	ck_assert_uint_eq(msg.version, 10);
	ck_assert_int_eq(resp("HTTP/1.1 20 OK\r\n\r\n"), 502);
	ck_assert_int_eq(resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), 502);
	ck_assert_int_eq(resp("ICY 200 OK\r\n\r\n"), 502);
}
END_TEST

/*
 * Feed a chunked body as the engine would: bytes arrive piece bytes at a
 * time, chunk data announced by the parser passes without it. Returns the
 * last step result; *total is how far the parser got.
 */
static int
chunked_feed(const char *body, size_t piece, size_t *total)
{
	struct http_chunked c;
	size_t len = strlen(body), off = 0, avail = 0;
	uint64_t skip = 0;
	const char *err = NULL;
	int r = HTTP_CHUNK_MORE;

	http_chunked_init(&c);
	for (;;) {
		size_t used, k;
		uint64_t data;

		if (avail == len && r == HTTP_CHUNK_MORE && off == avail)
			break;
		avail = avail + piece < len ? avail + piece : len;
		for (;;) {
			k = avail - off < skip ? avail - off : (size_t)skip;
			off += k;
			skip -= k;
			if (skip > 0)
				break;
			r = http_chunked_step(&c, (const uint8_t *)body + off,
					      avail - off, &used, &data, &err);
			off += used;
			if (r == HTTP_CHUNK_ERROR || r == HTTP_CHUNK_DONE) {
				*total = off;
				return r;
			}
			if (r == HTTP_CHUNK_MORE)
				break;
			skip = data;
		}
		if (avail == len && skip == 0 && r == HTTP_CHUNK_MORE)
			break;
		if (avail == len && skip > 0)
			break; /* data announced past the end */
	}
	*total = off;
	return r;
}

START_TEST(test_chunked_in_pieces)
{
	const char *body = "5\r\nhello\r\n1a;ext=\"x y\"\r\nabcdefghijklmnopqrstuvwxyz\r\n"
			   "0\r\nX-Trailer: yes\r\n\r\n";
	size_t total;

	for (size_t piece = 1; piece <= strlen(body); piece++) {
		ck_assert_int_eq(chunked_feed(body, piece, &total), HTTP_CHUNK_DONE);
		ck_assert_uint_eq(total, strlen(body));
	}
}
END_TEST

START_TEST(test_chunked_errors)
{
	size_t total;

	ck_assert_int_eq(chunked_feed("5\r\nhelloXY0\r\n\r\n", 64, &total), HTTP_CHUNK_ERROR);
	ck_assert_int_eq(chunked_feed("5\nhello\r\n0\r\n\r\n", 64, &total), HTTP_CHUNK_ERROR);
	ck_assert_int_eq(chunked_feed("-5\r\nhello\r\n0\r\n\r\n", 64, &total), HTTP_CHUNK_ERROR);
	ck_assert_int_eq(chunked_feed("0x5\r\nhello\r\n0\r\n\r\n", 64, &total), HTTP_CHUNK_ERROR);
	ck_assert_int_eq(chunked_feed("ffffffffffffffff\r\n", 64, &total), HTTP_CHUNK_ERROR);
	ck_assert_int_eq(chunked_feed("0\r\n folded: x\r\n\r\n", 64, &total), HTTP_CHUNK_ERROR);
	ck_assert_int_eq(chunked_feed("0\r\nBad Trailer: x\r\n\r\n", 64, &total), HTTP_CHUNK_ERROR);
	ck_assert_int_eq(chunked_feed("5;\x01\r\nhello\r\n0\r\n\r\n", 64, &total), HTTP_CHUNK_ERROR);
}
END_TEST

static Suite *
http_parse_suite(void)
{
	Suite *s = suite_create("http_parse");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_simple_get);
	tcase_add_test(tc, test_ows_trimmed_and_connection_tokens);
	tcase_add_test(tc, test_head_found_a_byte_at_a_time);
	tcase_add_test(tc, test_http10_and_versions);
	tcase_add_test(tc, test_expectations);
	tcase_add_test(tc, test_too_many_fields);
	tcase_add_test(tc, test_smuggling_refused);
	tcase_add_test(tc, test_transfer_encoding_framing);
	tcase_add_test(tc, test_status_lines);
	tcase_add_test(tc, test_chunked_in_pieces);
	tcase_add_test(tc, test_chunked_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(http_parse_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
