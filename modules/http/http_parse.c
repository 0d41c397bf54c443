/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/http/http_parse.c - strict HTTP/1.1 message heads and chunked
 * framing (RFC 9112), see http_parse.h.
 *
 * Why not a library: the one packaged in Debian, nodejs's http-parser
 * 2.9.4 (libhttp-parser-dev), has been unmaintained since Node.js moved to
 * llhttp, which Debian 12 does not package as a C library. Debian builds
 * http-parser with HTTP_PARSER_STRICT=0, and in that mode it takes a bare
 * LF as a line end, folds obsolete continuation lines into the value, and
 * accepts any byte where a CRLF must end chunk data: exactly the shapes a
 * proxy must refuse so that it never frames a message differently from
 * the server (tests/bench/bench_http_parser.c runs the smuggling cases of
 * tests/unit/test_http_parse.c through both and measures both). The
 * grammar a proxy needs is small: a message head, a framing decision and
 * the chunked coding.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "http_parse.h"

/* tchar (RFC 9110 5.6.2) */
static const uint8_t http_tchar[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
	['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['|'] = 1, ['~'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
};

/* field-vchar / SP / HTAB: what a field value may hold */
static int
http_value_char(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* The first byte of p[0..n) a field value may not hold, or NULL. */
static const uint8_t *
http_value_bad(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			return p + i;
	return NULL;
}

static int
http_hex(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Line by line with memchr (a vectorised scan): each LF must follow a CR,
 * and the line before it must hold no other CR. *scan always points at
 * the start of a line not yet checked.
 */
long
http_head_end(const uint8_t *buf, size_t len, size_t *scan, const char **err)
{
	size_t i = *scan;

	while (i < len) {
		const uint8_t *lf = memchr(buf + i, '\n', len - i);
		size_t e;

		if (lf == NULL) {
			/* an incomplete line: only its last byte may be a CR */
			const uint8_t *cr = memchr(buf + i, '\r', len - i);

			if (cr != NULL && cr != buf + len - 1) {
				*err = "bare CR in the message head";
				return -1;
			}
			break;
		}
		e = (size_t)(lf - buf);
		if (e == 0 || buf[e - 1] != '\r') {
			*err = "bare LF in the message head";
			return -1;
		}
		if (e > i + 1 && memchr(buf + i, '\r', e - 1 - i) != NULL) {
			*err = "bare CR in the message head";
			return -1;
		}
		/* "\r\n\r\n": the empty line ends the head */
		if (e == i + 1 && i >= 2)
			return (long)(e + 1);
		i = e + 1;
	}
	*scan = i;
	return 0;
}

int
http_name_is(const struct http_field *f, const char *name)
{
	size_t n = strlen(name);

	return f->name_len == n && (f->name[0] | 0x20) == (name[0] | 0x20) &&
	       strncasecmp(f->name, name, n) == 0;
}

const struct http_field *
http_field_get(const struct http_msg *m, const char *name)
{
	for (unsigned i = 0; i < m->n_fields; i++)
		if (http_name_is(&m->field[i], name))
			return &m->field[i];
	return NULL;
}

/* Does the comma-separated list v contain token t (case-insensitive)? */
static int
http_list_each(const char *v, size_t len,
	       int (*cb)(const char *tok, size_t n, void *arg), void *arg)
{
	size_t i = 0;

	while (i < len) {
		size_t s, e;
		int rc;

		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < len && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e > s && (rc = cb(v + s, e - s, arg)) != 0)
			return rc;
	}
	return 0;
}

static int
http_tok_eq(const char *tok, size_t n, const char *s)
{
	return strlen(s) == n && strncasecmp(tok, s, n) == 0;
}

static int
http_conn_tok(const char *tok, size_t n, void *arg)
{
	struct http_msg *m = arg;

	if (http_tok_eq(tok, n, "close"))
		m->conn_close = 1;
	else if (http_tok_eq(tok, n, "keep-alive"))
		m->conn_keepalive = 1;
	else if (http_tok_eq(tok, n, "upgrade"))
		m->conn_upgrade = 1;
	return 0;
}

struct http_te {
	int codings;
	int chunked_seen;   /* chunked appeared */
	int chunked_last;   /* ... as the last coding so far */
	int bad;
};

static int
http_te_tok(const char *tok, size_t n, void *arg)
{
	struct http_te *te = arg;
	size_t k = 0;

	/* a coding may carry parameters: "gzip;q=1" (chunked takes none) */
	while (k < n && tok[k] != ';' && tok[k] != ' ' && tok[k] != '\t')
		k++;
	for (size_t i = 0; i < k; i++)
		if (!http_tchar[(uint8_t)tok[i]])
			te->bad = 1;
	te->codings++;
	if (http_tok_eq(tok, k, "chunked")) {
		if (te->chunked_seen || k != n)
			te->bad = 1; /* twice, or with parameters */
		te->chunked_seen = 1;
		te->chunked_last = 1;
	} else {
		te->chunked_last = 0;
	}
	return 0;
}

/*
 * The request line or status line and the fields: syntax only. p..end is
 * the head minus its final empty line's CRLF.
 */
static int
http_parse_fields(const uint8_t *p, const uint8_t *end, struct http_msg *m)
{
	while (p < end) {
		const uint8_t *line_end, *v, *ve;
		struct http_field *f;

		/* http_head_end() checked that every CR starts a CRLF */
		line_end = memchr(p, '\r', (size_t)(end - p));
		if (line_end == NULL)
			line_end = end;
		if (p == line_end) { /* the empty line */
			p += 2;
			continue;
		}
		if (*p == ' ' || *p == '\t') {
			m->error = "obsolete line folding";
			return 400;
		}
		f = &m->field[m->n_fields];
		f->name = (const char *)p;
		while (p < line_end && http_tchar[*p])
			p++;
		if (p == (const uint8_t *)f->name) {
			m->error = "a header field without a name";
			return 400;
		}
		if (p == line_end || *p != ':') {
			m->error = (p < line_end && (*p == ' ' || *p == '\t'))
					   ? "whitespace between a field name and its colon"
					   : "a bad character in a field name";
			return 400;
		}
		f->name_len = (uint32_t)(p - (const uint8_t *)f->name);
		p++;
		while (p < line_end && (*p == ' ' || *p == '\t'))
			p++;
		v = p;
		if (http_value_bad(p, (size_t)(line_end - p)) != NULL) {
			m->error = "a control character in a field value";
			return 400;
		}
		ve = line_end;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		f->value = (const char *)v;
		f->value_len = (uint32_t)(ve - v);
		if (++m->n_fields == HTTP_MAX_FIELDS && line_end + 2 < end) {
			m->error = "too many header fields";
			return 431;
		}
		p = line_end + 2;
	}
	return 0;
}

static void
http_msg_reset(struct http_msg *m)
{
	m->method = m->target = NULL;
	m->method_len = m->target_len = 0;
	m->status = 0;
	m->version = 11;
	m->n_fields = 0;
	m->host = m->upgrade = -1;
	m->content_length = -1;
	m->chunked = m->te = 0;
	m->conn_close = m->conn_keepalive = m->conn_upgrade = 0;
	m->expect_continue = m->expect_other = 0;
	m->error = NULL;
}

/* "HTTP/1.x": 10 or 11; 0 when malformed; -1 when another major. */
static int
http_version(const uint8_t *p, const uint8_t *end)
{
	if (end - p < 8 || memcmp(p, "HTTP/", 5) != 0 || p[5] < '0' || p[5] > '9' ||
	    p[6] != '.' || p[7] < '0' || p[7] > '9')
		return 0;
	if (p[5] != '1')
		return -1;
	return p[7] == '0' ? 10 : 11;
}

/* Framing and connection semantics shared by requests and responses. */
static int
http_semantics(struct http_msg *m, int request)
{
	struct http_te te = { 0, 0, 0, 0 };
	int hosts = 0, cls = 0;

	for (unsigned i = 0; i < m->n_fields; i++) {
		const struct http_field *f = &m->field[i];

		/* only a few names matter here: skip the rest by length */
		switch (f->name_len) {
		case 4:  /* host */
		case 6:  /* expect */
		case 7:  /* upgrade */
		case 10: /* connection */
		case 14: /* content-length */
		case 17: /* transfer-encoding */
			break;
		default:
			continue;
		}
		if (http_name_is(f, "content-length")) {
			int64_t v = 0;

			if (cls++ > 0) {
				m->error = "more than one Content-Length";
				return 400;
			}
			if (f->value_len == 0 || f->value_len > 18) {
				m->error = "a Content-Length that is not a number";
				return 400;
			}
			for (uint32_t k = 0; k < f->value_len; k++) {
				char c = f->value[k];

				if (c < '0' || c > '9') {
					m->error = "a Content-Length that is not a number";
					return 400;
				}
				v = v * 10 + (c - '0');
			}
			m->content_length = v;
		} else if (http_name_is(f, "transfer-encoding")) {
			m->te = 1;
			http_list_each(f->value, f->value_len, http_te_tok, &te);
		} else if (http_name_is(f, "host")) {
			hosts++;
			m->host = (int)i;
			for (uint32_t k = 0; k < f->value_len; k++) {
				uint8_t c = (uint8_t)f->value[k];

				if (c <= ' ' || c >= 0x7f || c == '/' || c == '?' ||
				    c == '#' || c == '@' || c == '"' || c == '\\') {
					m->error = "a bad character in Host";
					return 400;
				}
			}
		} else if (http_name_is(f, "connection")) {
			http_list_each(f->value, f->value_len, http_conn_tok, m);
		} else if (http_name_is(f, "expect") && request) {
			if (f->value_len == 12 && strncasecmp(f->value, "100-continue", 12) == 0)
				m->expect_continue = 1;
			else if (f->value_len > 0)
				m->expect_other = 1;
		} else if (http_name_is(f, "upgrade")) {
			m->upgrade = (int)i;
		}
	}
	if (m->te) {
		if (te.bad || te.codings == 0) {
			m->error = "a malformed Transfer-Encoding";
			return 400;
		}
		if (request) {
			if (m->version == 10) {
				m->error = "Transfer-Encoding in an HTTP/1.0 request";
				return 400;
			}
			if (!te.chunked_last) {
				m->error = "a request Transfer-Encoding that does not end with chunked";
				return 400;
			}
			if (cls > 0) {
				m->error = "both Content-Length and Transfer-Encoding";
				return 400;
			}
		}
		m->chunked = te.chunked_last;
		if (!request && cls > 0)
			m->content_length = -1; /* Transfer-Encoding wins (RFC 9112 6.3) */
	}
	if (request) {
		if (hosts > 1) {
			m->error = "more than one Host";
			return 400;
		}
		if (m->version == 11 && hosts == 0) {
			m->error = "an HTTP/1.1 request without Host";
			return 400;
		}
		if (m->expect_other) {
			m->error = "an expectation other than 100-continue";
			return 417;
		}
	}
	return 0;
}

int
http_parse_request(const uint8_t *buf, size_t len, struct http_msg *m)
{
	const uint8_t *p = buf, *end = buf + len - 2, *le;
	int v, rc;

	http_msg_reset(m);
	m->head_len = (uint32_t)len;
	le = memchr(p, '\r', (size_t)(end - p));
	if (le == NULL)
		le = end;
	/* method SP request-target SP HTTP-version */
	m->method = (const char *)p;
	while (p < le && http_tchar[*p])
		p++;
	m->method_len = (uint32_t)(p - buf);
	if (m->method_len == 0 || p == le || *p != ' ') {
		m->error = "a malformed request line";
		return 400;
	}
	p++;
	m->target = (const char *)p;
	while (p < le && *p > ' ' && *p != 0x7f)
		p++;
	m->target_len = (uint32_t)(p - (const uint8_t *)m->target);
	if (m->target_len == 0 || p == le || *p != ' ') {
		m->error = "a malformed request line";
		return 400;
	}
	p++;
	v = http_version(p, le);
	if (v == 0 || p + 8 != le) {
		m->error = "a malformed HTTP version";
		return 400;
	}
	if (v < 0) {
		m->error = "not HTTP/1.x";
		return 505;
	}
	m->version = (unsigned)v;
	if ((rc = http_parse_fields(le + 2, end, m)) != 0)
		return rc;
	return http_semantics(m, 1);
}

int
http_parse_response(const uint8_t *buf, size_t len, struct http_msg *m)
{
	const uint8_t *p = buf, *end = buf + len - 2, *le;
	int v, rc;

	http_msg_reset(m);
	m->head_len = (uint32_t)len;
	le = memchr(p, '\r', (size_t)(end - p));
	if (le == NULL)
		le = end;
	/* HTTP-version SP 3DIGIT SP [reason] (the last SP is often missing) */
	v = http_version(p, le);
	if (v <= 0 || le - p < 12 || p[8] != ' ' || p[9] < '1' || p[9] > '9' ||
	    p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9' ||
	    (le - p > 12 && p[12] != ' ')) {
		m->error = "a malformed status line";
		return 502;
	}
	m->version = (unsigned)v;
	m->status = (unsigned)((p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0'));
	for (const uint8_t *r = p + 12; r < le; r++) {
		if (!http_value_char(*r)) {
			m->error = "a control character in the reason phrase";
			return 502;
		}
	}
	if ((rc = http_parse_fields(le + 2, end, m)) != 0)
		return 502;
	if ((rc = http_semantics(m, 0)) != 0)
		return 502;
	return 0;
}

/* ---- chunked ------------------------------------------------------------------ */

enum { CH_SIZE, CH_DATA_END, CH_TRAILER };

void
http_chunked_init(struct http_chunked *c)
{
	memset(c, 0, sizeof(*c));
	c->state = CH_SIZE;
}

/* A complete line p[0..n) (CRLF included), or 0 when incomplete; -1 bad. */
static long
http_line(const uint8_t *p, size_t len, size_t max, const char **err)
{
	const uint8_t *lf = memchr(p, '\n', len < max ? len : max);

	if (lf == NULL) {
		if (len >= max) {
			*err = "a chunk line or trailer field too long";
			return -1;
		}
		return 0;
	}
	if (lf == p || lf[-1] != '\r') {
		*err = "bare LF in chunked framing";
		return -1;
	}
	for (const uint8_t *q = p; q < lf - 1; q++) {
		if (*q == '\r') {
			*err = "bare CR in chunked framing";
			return -1;
		}
	}
	return (long)(lf - p + 1);
}

static int
http_chunk_size_line(struct http_chunked *c, const uint8_t *p, size_t n,
		     const char **err)
{
	const uint8_t *end = p + n - 2;
	uint64_t size = 0;
	int digits = 0, h;

	while (p < end && (h = http_hex(*p)) >= 0) {
		if (++digits > 15) {
			*err = "a chunk size too large";
			return -1;
		}
		size = size * 16 + (uint64_t)h;
		p++;
	}
	if (digits == 0) {
		*err = "a malformed chunk size";
		return -1;
	}
	/* BWS and chunk extensions: printable text only */
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p < end && *p != ';') {
		*err = "a malformed chunk size";
		return -1;
	}
	for (; p < end; p++) {
		if (*p != '\t' && (*p < 0x20 || *p == 0x7f)) {
			*err = "a control character in a chunk extension";
			return -1;
		}
	}
	c->size = size;
	return 0;
}

static int
http_trailer_line(const uint8_t *p, size_t n, const char **err)
{
	const uint8_t *end = p + n - 2, *q = p;

	if (*p == ' ' || *p == '\t') {
		*err = "obsolete line folding in a trailer";
		return -1;
	}
	while (q < end && http_tchar[*q])
		q++;
	if (q == p || q == end || *q != ':') {
		*err = "a malformed trailer field";
		return -1;
	}
	for (q++; q < end; q++) {
		if (!http_value_char(*q)) {
			*err = "a control character in a trailer field";
			return -1;
		}
	}
	return 0;
}

int
http_chunked_step(struct http_chunked *c, const uint8_t *p, size_t len,
		  size_t *consumed, uint64_t *data, const char **err)
{
	size_t off = 0;
	long n;

	*consumed = 0;
	*data = 0;
	for (;;) {
		switch (c->state) {
		case CH_SIZE:
			n = http_line(p + off, len - off, HTTP_MAX_CHUNK_LINE, err);
			if (n < 0)
				return HTTP_CHUNK_ERROR;
			if (n == 0)
				goto more;
			if (http_chunk_size_line(c, p + off, (size_t)n, err) < 0)
				return HTTP_CHUNK_ERROR;
			off += (size_t)n;
			if (c->size == 0) {
				c->state = CH_TRAILER;
				c->trailer = 0;
				continue;
			}
			c->state = CH_DATA_END;
			*consumed = off;
			*data = c->size;
			return HTTP_CHUNK_DATA;
		case CH_DATA_END:
			if (len - off < 2)
				goto more;
			if (p[off] != '\r' || p[off + 1] != '\n') {
				*err = "chunk data not followed by CRLF";
				return HTTP_CHUNK_ERROR;
			}
			off += 2;
			c->state = CH_SIZE;
			continue;
		case CH_TRAILER:
			n = http_line(p + off, len - off, HTTP_MAX_CHUNK_LINE, err);
			if (n < 0)
				return HTTP_CHUNK_ERROR;
			if (n == 0)
				goto more;
			if (n == 2) { /* the empty line */
				off += 2;
				http_chunked_init(c);
				*consumed = off;
				return HTTP_CHUNK_DONE;
			}
			if (http_trailer_line(p + off, (size_t)n, err) < 0)
				return HTTP_CHUNK_ERROR;
			c->trailer += (uint32_t)n;
			if (c->trailer > HTTP_MAX_TRAILER) {
				*err = "a trailer section too large";
				return HTTP_CHUNK_ERROR;
			}
			off += (size_t)n;
			continue;
		}
	}
more:
	*consumed = off;
	return HTTP_CHUNK_MORE;
}
