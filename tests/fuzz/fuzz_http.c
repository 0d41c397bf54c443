/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_http.c - fuzz target for modules/http's parser
 * (http_parse.c) and rules (http_rules.c). The input is read as a client's
 * byte stream: message heads one after the other (a request, or a
 * response when the first byte is 'H'), each followed by the body its
 * framing announces, chunked bodies fed in pieces whose sizes come from
 * the input, so the byte-at-a-time paths run too. When the input starts
 * with '[' it is also compiled as rules.http JSON and matched against a
 * fixed request. Invariants (abort() otherwise): a head never ends past the
 * bytes given, every field lies inside the head, a refusal carries a
 * status and a reason, chunked framing never consumes more than it got.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"
#include "http_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct http_msg msg;

static void
fuzz_fields_inside(const uint8_t *head, size_t len)
{
	for (unsigned i = 0; i < msg.n_fields; i++) {
		const struct http_field *f = &msg.field[i];

		if ((const uint8_t *)f->name < head ||
		    (const uint8_t *)f->value + f->value_len > head + len ||
		    f->name_len == 0)
			abort();
	}
}

/* chunked framing over p[0..len) in pieces of piece bytes */
static size_t
fuzz_chunked(const uint8_t *p, size_t len, size_t piece)
{
	struct http_chunked c;
	size_t off = 0, avail = 0;
	uint64_t skip = 0;
	const char *err;

	http_chunked_init(&c);
	while (avail < len) {
		avail = avail + piece < len ? avail + piece : len;
		for (;;) {
			size_t used, k = avail - off < skip ? avail - off : (size_t)skip;
			uint64_t d;
			int r;

			off += k;
			skip -= k;
			if (skip > 0)
				break;
			err = NULL;
			r = http_chunked_step(&c, p + off, avail - off, &used, &d, &err);
			if (used > avail - off)
				abort();
			off += used;
			if (r == HTTP_CHUNK_ERROR) {
				if (err == NULL)
					abort();
				return len; /* refused: nothing after it is read */
			}
			if (r == HTTP_CHUNK_DONE)
				return off;
			if (r == HTTP_CHUNK_MORE)
				break;
			skip = d;
		}
	}
	return len;
}

static void
fuzz_rules(const uint8_t *data, size_t size)
{
	static const char head[] = "GET /api/v1?x=1 HTTP/1.1\r\nHost: api.example\r\n"
				   "X-Token: t\r\n\r\n";
	struct http_action acts[HTTP_MAX_ACTIONS];
	struct http_rules *rs = NULL;
	struct http_req_view v;
	char *json = malloc(size + 1), err[512];
	size_t scan = 0, n;
	const char *e;
	long end;
	int i;

	if (json == NULL)
		return;
	memcpy(json, data, size);
	json[size] = '\0';
	if (http_rules_compile(json, &rs, err, sizeof(err)) == 0) {
		end = http_head_end((const uint8_t *)head, sizeof(head) - 1, &scan, &e);
		if (end <= 0 || http_parse_request((const uint8_t *)head, (size_t)end, &msg) != 0)
			abort();
		v.method = msg.method;
		v.method_len = msg.method_len;
		v.path = msg.target;
		v.path_len = msg.target_len;
		v.host = msg.field[0].value;
		v.host_len = msg.field[0].value_len;
		v.msg = &msg;
		i = http_rules_match(rs, &v, acts, &n);
		if (i >= (int)http_rules_count(rs) || n > HTTP_MAX_ACTIONS)
			abort();
		http_rules_free(rs);
	} else if (err[0] == '\0') {
		abort();
	}
	free(json);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int response = size > 0 && data[0] == 'H';
	size_t off = 0, piece = size > 1 ? (size_t)(data[size - 1] % 7) + 1 : 1;

	if (size > 0 && data[0] == '[')
		fuzz_rules(data, size);
	for (int messages = 0; off < size && messages < 16; messages++) {
		size_t scan = 0;
		const char *err = NULL;
		long end = http_head_end(data + off, size - off, &scan, &err);
		int rc;

		if (end < 0) {
			if (err == NULL)
				abort();
			break;
		}
		if (end == 0 || (size_t)end > size - off)
			break;
		rc = response ? http_parse_response(data + off, (size_t)end, &msg)
			      : http_parse_request(data + off, (size_t)end, &msg);
		if (rc != 0) {
			if (msg.error == NULL || rc < 400)
				abort();
			break;
		}
		fuzz_fields_inside(data + off, (size_t)end);
		if (msg.head_len != (size_t)end)
			abort();
		off += (size_t)end;
		if (msg.chunked)
			off += fuzz_chunked(data + off, size - off, piece);
		else if (msg.content_length > 0)
			off += (uint64_t)msg.content_length < size - off
				       ? (size_t)msg.content_length : size - off;
	}
	return 0;
}
