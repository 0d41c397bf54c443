/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/bench_http_parser.c - why modules/http has its own parser:
 * the same inputs through it (modules/http/http_parse.c) and through the
 * HTTP parser Debian packages, nodejs's http-parser 2.9.4
 * (libhttp-parser-dev), as Debian builds it.
 *
 *   1. the request-smuggling shapes of tests/unit/http_smuggling.h: which
 *      of them each parser refuses (a proxy must refuse every one);
 *   2. speed: request heads of three sizes parsed N times each, with
 *      every header field located (what a policy check needs), in ns per
 *      head, median of R runs.
 *
 * Usage: bench_http_parser [-n HEADS] [-r RUNS] [-o FILE.json]
 * Prints a table; -o writes the figures as JSON. Reports only.
 */
#include <getopt.h>
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_parse.h"
#include "http_smuggling.h"

/* ---- http-parser --------------------------------------------------------- */

struct hp_state {
	int complete;
	unsigned fields;
	const char *last_field;
	size_t last_len;
};

static int
hp_field(http_parser *p, const char *at, size_t len)
{
	struct hp_state *st = p->data;

	st->fields++;
	st->last_field = at;
	st->last_len = len;
	return 0;
}

static int
hp_value(http_parser *p, const char *at, size_t len)
{
	struct hp_state *st = p->data;

	st->last_field = at;
	st->last_len = len;
	return 0;
}

static int
hp_headers_complete(http_parser *p)
{
	return 0;
}

static int
hp_complete(http_parser *p)
{
	((struct hp_state *)p->data)->complete = 1;
	return 0;
}

static http_parser_settings hp_settings = {
	.on_header_field = hp_field,
	.on_header_value = hp_value,
	.on_headers_complete = hp_headers_complete,
	.on_message_complete = hp_complete,
};

/* 1: http-parser accepted the request (and its body) without an error */
static int
hp_accepts(const char *req)
{
	http_parser p;
	struct hp_state st = { 0 };
	size_t n = strlen(req), got;

	http_parser_init(&p, HTTP_REQUEST);
	p.data = &st;
	got = http_parser_execute(&p, &hp_settings, req, n);
	return HTTP_PARSER_ERRNO(&p) == HPE_OK && got == n;
}

/* ---- ours ------------------------------------------------------------------ */

static struct http_msg msg;

static int
ours_accepts(const struct http_smuggling *t)
{
	size_t scan = 0;
	const char *err = NULL;
	long end = http_head_end((const uint8_t *)t->request, strlen(t->request), &scan, &err);

	if (end <= 0 || http_parse_request((const uint8_t *)t->request, (size_t)end, &msg) != 0)
		return 0;
	if (t->chunked_body != NULL) {
		struct http_chunked c;
		const char *b = t->chunked_body;
		size_t off = 0, len = strlen(b), used;
		uint64_t data;
		int r;

		http_chunked_init(&c);
		do {
			r = http_chunked_step(&c, (const uint8_t *)b + off, len - off, &used,
					      &data, &err);
			off += used + data;
		} while (r == HTTP_CHUNK_DATA && off <= len);
		return r == HTTP_CHUNK_DONE;
	}
	return 1;
}

/* ---- speed ------------------------------------------------------------------ */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static volatile unsigned sink;

static double
time_ours(const char *req, size_t n, long heads)
{
	uint64_t t0 = now_ns();

	for (long i = 0; i < heads; i++) {
		size_t scan = 0;
		const char *err;
		long end = http_head_end((const uint8_t *)req, n, &scan, &err);

		if (end <= 0 || http_parse_request((const uint8_t *)req, (size_t)end, &msg) != 0)
			abort();
		sink += msg.n_fields;
	}
	return (double)(now_ns() - t0) / (double)heads;
}

static double
time_hp(const char *req, size_t n, long heads)
{
	uint64_t t0 = now_ns();

	for (long i = 0; i < heads; i++) {
		http_parser p;
		struct hp_state st = { 0 };

		http_parser_init(&p, HTTP_REQUEST);
		p.data = &st;
		if (http_parser_execute(&p, &hp_settings, req, n) != n || !st.complete)
			abort();
		sink += st.fields;
	}
	return (double)(now_ns() - t0) / (double)heads;
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	static const char *const small =
		"GET /api/v1/items?limit=10 HTTP/1.1\r\nHost: web.shop.svc.cluster.local\r\n"
		"User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
	static const char *const browser =
		"GET /assets/app.js?v=3 HTTP/1.1\r\nHost: www.example.example\r\n"
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n"
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
		"Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n"
		"Referer: https://www.example.example/\r\nConnection: keep-alive\r\n"
		"Cookie: session=0123456789abcdef0123456789abcdef; theme=dark; consent=yes\r\n"
		"Sec-Fetch-Dest: script\r\nSec-Fetch-Mode: no-cors\r\nSec-Fetch-Site: same-origin\r\n"
		"If-None-Match: \"5f3c-1a2b3c4d\"\r\nCache-Control: max-age=0\r\n\r\n";
	static char big[16384];
	const char *names[3] = { "small (curl, 4 fields)", "browser (13 fields)", "large (100 fields)" };
	const char *reqs[3];
	double ours[3], hp[3];
	long heads = 200000;
	int runs = 5, c, refused_ours = 0, refused_hp = 0;
	const char *out = NULL;
	FILE *jf = NULL;
	size_t n;

	while ((c = getopt(argc, argv, "n:r:o:h")) != -1) {
		switch (c) {
		case 'n': heads = atol(optarg); break;
		case 'r': runs = atoi(optarg); break;
		case 'o': out = optarg; break;
		default:
			fprintf(stderr, "usage: bench_http_parser [-n HEADS] [-r RUNS] [-o FILE.json]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	n = (size_t)snprintf(big, sizeof(big), "POST /upload HTTP/1.1\r\nHost: h\r\n");
	for (int i = 0; i < 99; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "X-Field-%02d: value-%02d-abcdefghijklmnopqrstuvwxyz\r\n", i, i);
	snprintf(big + n, sizeof(big) - n, "\r\n");
	reqs[0] = small;
	reqs[1] = browser;
	reqs[2] = big;

	printf("http-parser %lu.%lu.%lu (libhttp-parser, Debian) vs modules/http/http_parse.c\n\n",
	       http_parser_version() >> 16, (http_parser_version() >> 8) & 255,
	       http_parser_version() & 255);
	printf("1. request-smuggling shapes (tests/unit/http_smuggling.h): refused?\n");
	printf("   %-46s %-8s %s\n", "shape", "ours", "http-parser");
	for (size_t i = 0; i < http_n_smuggling; i++) {
		const struct http_smuggling *t = &http_smuggling[i];
		char full[1024];
		int o = !ours_accepts(t), h;

		snprintf(full, sizeof(full), "%s%s", t->request, t->chunked_body ? t->chunked_body : "");
		h = !hp_accepts(full);
		refused_ours += o;
		refused_hp += h;
		printf("   %-46s %-8s %s\n", t->name, o ? "400" : "ACCEPTS", h ? "error" : "ACCEPTS");
	}
	printf("   refused: ours %d of %zu, http-parser %d of %zu\n\n", refused_ours,
	       http_n_smuggling, refused_hp, http_n_smuggling);

	printf("2. speed: ns per request head, every field located (median of %d runs of %ld heads)\n",
	       runs, heads);
	printf("   %-26s %8s %12s %10s\n", "head", "ours", "http-parser", "ratio");
	for (int k = 0; k < 3; k++) {
		double *a = calloc((size_t)runs, sizeof(double)), *b = calloc((size_t)runs, sizeof(double));
		size_t len = strlen(reqs[k]);

		for (int r = 0; r < runs; r++) {
			a[r] = time_ours(reqs[k], len, heads);
			b[r] = time_hp(reqs[k], len, heads);
		}
		qsort(a, (size_t)runs, sizeof(double), dcmp);
		qsort(b, (size_t)runs, sizeof(double), dcmp);
		ours[k] = a[runs / 2];
		hp[k] = b[runs / 2];
		printf("   %-26s %8.0f %12.0f %9.2fx\n", names[k], ours[k], hp[k], hp[k] / ours[k]);
		free(a);
		free(b);
	}
	printf("   (ratio > 1: ours is faster)\n");
	if (out != NULL && (jf = fopen(out, "w")) != NULL) {
		fprintf(jf, "{\"smuggling_shapes\": %zu, \"refused_ours\": %d, \"refused_http_parser\": %d,"
			" \"heads\": %ld, \"runs\": %d, \"ns_per_head\": {", http_n_smuggling,
			refused_ours, refused_hp, heads, runs);
		for (int k = 0; k < 3; k++)
			fprintf(jf, "%s\"%s\": {\"ours\": %.1f, \"http_parser\": %.1f}", k ? ", " : "",
				k == 0 ? "small" : k == 1 ? "browser" : "large", ours[k], hp[k]);
		fprintf(jf, "}}\n");
		fclose(jf);
	}
	return 0;
}
