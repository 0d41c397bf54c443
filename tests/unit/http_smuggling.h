/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/http_smuggling.h - request shapes a proxy must refuse because
 * a server behind it may frame them differently (RFC 9112 section 11.2 and
 * the usual desynchronisation variants). Each is a request head; where the
 * head is fine and the chunked body is the problem, chunked_body holds it.
 * Used by tests/unit/test_http_parse.c (each must be refused),
 * tests/e2e/test_http.sh (the answer is 400 and the connection closes)
 * and tests/bench/bench_http_parser.c (how nodejs's http-parser reads them).
 */
#ifndef BW_TEST_HTTP_SMUGGLING_H
#define BW_TEST_HTTP_SMUGGLING_H

#include <stddef.h>

struct http_smuggling {
	const char *name;
	const char *request;      /* the head (and a body, for the parsers that want one) */
	const char *chunked_body; /* NULL, or the chunked body that is wrong */
};

#define SM_H "POST / HTTP/1.1\r\nHost: h\r\n"

static const struct http_smuggling http_smuggling[] = {
	{ "CL.TE: Content-Length and Transfer-Encoding",
	  SM_H "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", NULL },
	{ "TE.CL: Transfer-Encoding and Content-Length",
	  SM_H "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", NULL },
	{ "two different Content-Length",
	  SM_H "Content-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", NULL },
	{ "two equal Content-Length",
	  SM_H "Content-Length: 4\r\nContent-Length: 4\r\n\r\nabcd", NULL },
	{ "Content-Length list", SM_H "Content-Length: 4, 4\r\n\r\nabcd", NULL },
	{ "Content-Length with a sign", SM_H "Content-Length: +4\r\n\r\nabcd", NULL },
	{ "negative Content-Length", SM_H "Content-Length: -1\r\n\r\n", NULL },
	{ "Content-Length in hex", SM_H "Content-Length: 0x4\r\n\r\nabcd", NULL },
	{ "Content-Length with a suffix", SM_H "Content-Length: 4a\r\n\r\nabcd", NULL },
	{ "Content-Length with inner space", SM_H "Content-Length: 4 4\r\n\r\nabcd", NULL },
	{ "empty Content-Length", SM_H "Content-Length:\r\n\r\n", NULL },
	{ "Content-Length overflow",
	  SM_H "Content-Length: 99999999999999999999999\r\n\r\n", NULL },
	{ "chunked not the last coding",
	  SM_H "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", NULL },
	{ "chunked twice", SM_H "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", NULL },
	{ "chunked then another field",
	  SM_H "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n", NULL },
	{ "an unknown last coding", SM_H "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", NULL },
	{ "chunked with parameters",
	  SM_H "Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n", NULL },
	{ "Transfer-Encoding in HTTP/1.0",
	  "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", NULL },
	{ "space before the colon",
	  SM_H "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", NULL },
	{ "tab before the colon", SM_H "Content-Length\t: 4\r\n\r\nabcd", NULL },
	{ "obs-fold of Transfer-Encoding",
	  SM_H "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", NULL },
	{ "obs-fold of a field", SM_H "X-A: a\r\n\tb\r\nContent-Length: 0\r\n\r\n", NULL },
	{ "bare LF line ends", "GET / HTTP/1.1\nHost: h\n\n", NULL },
	{ "bare LF after a field", "GET / HTTP/1.1\r\nHost: h\nX-A: b\r\n\r\n", NULL },
	{ "bare LF ending the head", "GET / HTTP/1.1\r\nHost: h\r\n\n", NULL },
	{ "bare CR in a value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", NULL },
	{ "NUL in a value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x01" "b\r\n\r\n", NULL },
	{ "DEL in a field name", "GET / HTTP/1.1\r\nHost: h\r\nX\x7f" "A: b\r\n\r\n", NULL },
	{ "space in a field name", "GET / HTTP/1.1\r\nHost: h\r\nX A: b\r\n\r\n", NULL },
	{ "empty field name", "GET / HTTP/1.1\r\nHost: h\r\n: b\r\n\r\n", NULL },
	{ "field without a colon", "GET / HTTP/1.1\r\nHost: h\r\nX-A\r\n\r\n", NULL },
	{ "two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", NULL },
	{ "Host with userinfo", "GET / HTTP/1.1\r\nHost: u@h\r\n\r\n", NULL },
	{ "Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", NULL },
	{ "space in the request target", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", NULL },
	{ "two spaces in the request line", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", NULL },
	{ "lower-case HTTP version", "GET / http/1.1\r\nHost: h\r\n\r\n", NULL },
	{ "chunk data longer than its size",
	  SM_H "Transfer-Encoding: chunked\r\n\r\n", "3\r\nabcde\r\n0\r\n\r\n" },
	{ "chunk size ended by a bare LF",
	  SM_H "Transfer-Encoding: chunked\r\n\r\n", "3\nabc\r\n0\r\n\r\n" },
	{ "chunk size with 0x",
	  SM_H "Transfer-Encoding: chunked\r\n\r\n", "0x3\r\nabc\r\n0\r\n\r\n" },
	{ "chunk size overflow",
	  SM_H "Transfer-Encoding: chunked\r\n\r\n", "10000000000000003\r\nabc\r\n0\r\n\r\n" },
	{ "chunk extension with a bare CR",
	  SM_H "Transfer-Encoding: chunked\r\n\r\n", "3;a\rb\r\nabc\r\n0\r\n\r\n" },
	{ "obs-fold in a trailer",
	  SM_H "Transfer-Encoding: chunked\r\n\r\n", "0\r\nX-T: a\r\n b\r\n\r\n" },
};

static const size_t http_n_smuggling = sizeof(http_smuggling) / sizeof(http_smuggling[0]);

#endif /* BW_TEST_HTTP_SMUGGLING_H */
