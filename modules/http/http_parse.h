/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/http/http_parse.h - a strict HTTP/1.1 message parser (RFC 9112):
 * message heads (request and status lines, header fields), the framing of
 * a message body (Content-Length, chunked, close-delimited), and the
 * chunked coding, byte for byte.
 *
 * Strict where RFC 9112 allows a recipient to be lenient, because a proxy
 * that reads a message differently from the server behind it is how
 * request smuggling works (RFC 9112 section 11.2): a bare CR or LF, obsolete
 * line folding, whitespace between a field name and its colon, control
 * characters, a Content-Length that is not one plain number, Content-Length
 * with Transfer-Encoding, chunked not last, a malformed chunk size or chunk
 * end are refused (400) rather than guessed at.
 *
 * Pure functions on caller-owned bytes, no allocation: the parsed message
 * points into the buffer it was parsed from.
 */
#ifndef BW_HTTP_PARSE_H
#define BW_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_FIELDS 256 /* header fields per message head (more: 431) */
#define HTTP_MAX_CHUNK_LINE 4096
#define HTTP_MAX_TRAILER 65536

struct http_field {
	const char *name;
	const char *value;    /* OWS around it trimmed */
	uint32_t name_len;
	uint32_t value_len;
};

struct http_msg {
	/* request line */
	const char *method;
	const char *target;
	uint32_t method_len;
	uint32_t target_len;
	/* status line */
	unsigned status;
	/* both */
	unsigned version;       /* 10 (HTTP/1.0) or 11 (HTTP/1.1 and later 1.x) */
	uint32_t head_len;      /* bytes of the head, the empty line included */
	struct http_field field[HTTP_MAX_FIELDS];
	unsigned n_fields;
	int host;               /* index of the Host field, -1 when none */
	int upgrade;            /* index of the Upgrade field, -1 */
	int64_t content_length; /* -1 when none */
	unsigned chunked : 1;   /* Transfer-Encoding ends with chunked */
	unsigned te : 1;        /* a Transfer-Encoding field is present */
	unsigned conn_close : 1;
	unsigned conn_keepalive : 1;
	unsigned conn_upgrade : 1;
	unsigned expect_continue : 1;
	unsigned expect_other : 1;  /* an expectation other than 100-continue */
	const char *error;      /* why it was refused (static text) */
};

/*
 * Find the end of a message head in buf[0..len). *scan is where the
 * previous call stopped (0 the first time), so a head arriving a byte at
 * a time is scanned once. Returns the head's length (the empty line
 * included), 0 when it is not complete yet, or -1 for a bare CR or LF
 * (*err says which).
 */
long http_head_end(const uint8_t *buf, size_t len, size_t *scan, const char **err);

/*
 * Parse a complete request head (len = http_head_end()'s result). Returns
 * 0, or the status to answer with: 400 (malformed, smuggling shapes), 431
 * (too many fields), 505 (not HTTP/1.x), 501 (a transfer coding we cannot
 * frame), 417 (an unknown expectation); m->error says what was wrong.
 */
int http_parse_request(const uint8_t *buf, size_t len, struct http_msg *m);

/* Parse a complete response head: 0, or 502 (m->error says why). */
int http_parse_response(const uint8_t *buf, size_t len, struct http_msg *m);

/* Case-insensitive field name comparison with a NUL-terminated name. */
int http_name_is(const struct http_field *f, const char *name);
/* The first field called name, or NULL. */
const struct http_field *http_field_get(const struct http_msg *m, const char *name);

/* ---- chunked coding --------------------------------------------------------- */

struct http_chunked {
	int state;
	uint64_t size;      /* of the chunk being read */
	uint32_t line;      /* bytes of the current size line or trailer line */
	uint32_t trailer;   /* bytes of trailer section so far */
};

enum http_chunk_rc {
	HTTP_CHUNK_MORE = 0,  /* the framing needs more bytes */
	HTTP_CHUNK_DATA = 1,  /* *data bytes of chunk data follow the consumed ones */
	HTTP_CHUNK_DONE = 2,  /* the last chunk and the trailers ended */
	HTTP_CHUNK_ERROR = -1,
};

void http_chunked_init(struct http_chunked *c);
/*
 * Read chunked framing from p[0..len) (which starts where the previous
 * call's consumed bytes ended; chunk data announced by HTTP_CHUNK_DATA is
 * not given back). *consumed is set to the framing bytes read; with
 * HTTP_CHUNK_DATA, *data to the chunk's size: the caller lets that many
 * bytes after the consumed ones through and calls again after them.
 * HTTP_CHUNK_ERROR sets *err.
 */
int http_chunked_step(struct http_chunked *c, const uint8_t *p, size_t len,
		      size_t *consumed, uint64_t *data, const char **err);

#endif /* BW_HTTP_PARSE_H */
