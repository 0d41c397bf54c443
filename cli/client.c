/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/client.c - HTTP/1.1 over bulwarkd's Unix socket for the CLI.
 *
 * A blocking socket and a small reply reader are all a command-line tool
 * needs: one request per connection ("Connection: close"), a status line,
 * headers, and a body framed by Content-Length, chunked encoding or the end
 * of the connection. Streams (NDJSON) are read chunk by chunk and handed on
 * line by line, so `observe --follow` prints flows as they come.
 *
 * How long to wait for an answer: a verb that changes state (POST, PUT,
 * DELETE) returns only once the datapath enforces the change, which for a
 * large policy import can take long; it waits without a limit. Reads wait
 * 300 s. BULWARK_TIMEOUT=SECONDS (0 = no limit) sets the wait for every
 * request; a command that sets its own (status --wait) keeps it. When the
 * daemon closes the connection before answering a change, the CLI says the
 * change may or may not have been applied and how to check.
 */
#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"

const char *cli_socket = CLI_DEFAULT_SOCKET;
#define CLI_READ_TIMEOUT 300 /* seconds, for requests that change nothing */
static unsigned cli_timeout = CLI_READ_TIMEOUT;
static int cli_timeout_set; /* a command chose cli_timeout */

struct rd {
	int fd;
	char buf[65536];
	size_t off, len;
	int eof;
};

void
cli_set_timeout(unsigned seconds)
{
	cli_timeout = seconds;
	cli_timeout_set = 1;
}

static int
cli_changes_state(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

/* Seconds to wait for the daemon (0 = no limit); see the top of the file. */
static unsigned
cli_timeout_for(const char *method)
{
	const char *env = getenv("BULWARK_TIMEOUT");
	char *end;
	unsigned long v;

	if (cli_timeout_set)
		return cli_timeout;
	if (env != NULL && env[0] != '\0') {
		errno = 0;
		v = strtoul(env, &end, 10);
		if (errno == 0 && *end == '\0' && env[0] != '-' && v <= 86400UL * 365)
			return (unsigned)v;
		fprintf(stderr, CLI_PROG ": ignoring BULWARK_TIMEOUT=%s (not a "
			"number of seconds)\n", env);
	}
	return cli_changes_state(method) ? 0 : CLI_READ_TIMEOUT;
}

/* The command that shows whether a change to path went through. */
static const char *
cli_check_hint(const char *path)
{
	static const struct { const char *prefix, *cmd; } hints[] = {
		{ "/v1/policies", CLI_PROG " policy list" },
		{ "/v1/endpoints", CLI_PROG " endpoint list" },
		{ "/v1/namespaces", CLI_PROG " namespace list" },
		{ "/v1/identities", CLI_PROG " identity list" },
	};

	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (!strncmp(path, hints[i].prefix, strlen(hints[i].prefix)))
			return hints[i].cmd;
	return CLI_PROG " status";
}

void
cli_print_unreachable(int err)
{
	fprintf(stderr,
		CLI_PROG ": cannot reach bulwarkd at %s: %s (is it running? "
		"set -s or BULWARK_SOCKET)\n", cli_socket, strerror(err));
}

const char *
cli_error_message(json_t *reply)
{
	json_t *e = json_is_object(reply) ? json_object_get(reply, "error") : NULL;

	return json_is_string(e) ? json_string_value(e) : NULL;
}

static int
cli_connect(void)
{
	struct sockaddr_un sun;
	int fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(cli_socket) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, cli_socket);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static int
cli_write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read more into the buffer; 0, or -errno (-ETIMEDOUT). */
static int
rd_fill(struct rd *r, int timeout)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	ssize_t n;
	int rc;

	if (r->off > 0) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	if (r->len == sizeof(r->buf))
		return -EMSGSIZE;
	do
		rc = poll(&pfd, 1, timeout > 0 ? timeout * 1000 : -1);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	if (rc == 0)
		return -ETIMEDOUT;
	n = read(r->fd, r->buf + r->len, sizeof(r->buf) - r->len);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 0)
		r->eof = 1;
	r->len += (size_t)n;
	return 0;
}

/* One CRLF- or LF-terminated line, NUL-terminated in place. */
static int
rd_line(struct rd *r, char **line, int timeout)
{
	for (;;) {
		char *nl = memchr(r->buf + r->off, '\n', r->len - r->off);
		int rc;

		if (nl != NULL) {
			*line = r->buf + r->off;
			r->off = (size_t)(nl - r->buf) + 1;
			*nl = '\0';
			if (nl > *line && nl[-1] == '\r')
				nl[-1] = '\0';
			return 0;
		}
		if (r->eof)
			return -EPROTO;
		if ((rc = rd_fill(r, timeout)) < 0)
			return rc;
	}
}

/* Body sink: whole-body accumulation or line splitting for streams. */
struct sink {
	char *data;
	size_t len, cap;
	int (*line)(json_t *, void *);
	void *arg;
	int stop;     /* line() returned non-zero */
	int bad;      /* a stream line did not parse */
};

static int
sink_add(struct sink *s, const char *p, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *d;

		while (cap < s->len + n + 1)
			cap *= 2;
		if ((d = realloc(s->data, cap)) == NULL)
			return -ENOMEM;
		s->data = d;
		s->cap = cap;
	}
	memcpy(s->data + s->len, p, n);
	s->len += n;
	s->data[s->len] = '\0';
	if (s->line == NULL)
		return 0;
	/* Hand on every complete line. */
	for (;;) {
		char *nl = memchr(s->data, '\n', s->len);
		json_error_t jerr;
		json_t *obj;
		size_t used;

		if (nl == NULL || s->stop)
			break;
		used = (size_t)(nl - s->data) + 1;
		if (used > 1) {
			obj = json_loadb(s->data, used - 1, 0, &jerr);
			if (obj == NULL) {
				fprintf(stderr, CLI_PROG ": bulwarkd sent a "
					"malformed stream line: %s\n", jerr.text);
				s->bad = 1;
				s->stop = -EPROTO;
			} else {
				s->stop = s->line(obj, s->arg);
				json_decref(obj);
			}
		}
		memmove(s->data, s->data + used, s->len - used);
		s->len -= used;
		s->data[s->len] = '\0';
	}
	return 0;
}

/* Read n body bytes (n < 0: until the connection ends) into the sink. */
static int
rd_body(struct rd *r, struct sink *s, long long n, int timeout)
{
	int rc;

	while (n != 0 && !s->stop) {
		size_t avail = r->len - r->off, take;

		if (avail == 0) {
			if (r->eof)
				return n < 0 ? 0 : -EPROTO;
			if ((rc = rd_fill(r, timeout)) < 0)
				return rc;
			continue;
		}
		take = n < 0 || (unsigned long long)n > avail ? avail : (size_t)n;
		if ((rc = sink_add(s, r->buf + r->off, take)) < 0)
			return rc;
		r->off += take;
		if (n > 0)
			n -= (long long)take;
	}
	return 0;
}

static int
rd_chunked(struct rd *r, struct sink *s, int timeout)
{
	char *line, *end;
	int rc;

	while (!s->stop) {
		unsigned long long size;

		if ((rc = rd_line(r, &line, timeout)) < 0)
			return rc;
		size = strtoull(line, &end, 16);
		if (end == line)
			return -EPROTO;
		if (size == 0) {
			/* Trailers until an empty line. */
			do
				if ((rc = rd_line(r, &line, timeout)) < 0)
					return 0;
			while (line[0] != '\0');
			return 0;
		}
		if ((rc = rd_body(r, s, (long long)size, timeout)) < 0)
			return rc;
		if (s->stop)
			break;
		if ((rc = rd_line(r, &line, timeout)) < 0)
			return rc;
	}
	return 0;
}

char *
cli_pathf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fprintf(stderr, CLI_PROG ": out of memory\n");
		exit(1);
	}
	return p;
}

static const char *
cli_reason_text(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "error";
	}
}

/*
 * The whole exchange. A stream hands 2xx bodies to line(); otherwise the
 * body is parsed as one JSON document into *reply.
 */
static int
cli_exchange(const char *method, const char *path, const char *ctype,
	     const char *data, size_t len, json_t **reply,
	     int (*line)(json_t *, void *), void *arg, int flags)
{
	struct rd *r;
	struct sink s = { NULL, 0, 0, NULL, NULL, 0, 0 };
	char *head = NULL, *l;
	long long clen = -1;
	int chunked = 0, status, rc, fd, got_status = 0;
	unsigned timeout = cli_timeout_for(method);

	if (reply != NULL)
		*reply = NULL;
	if (data != NULL && len > CLI_MAX_BODY) {
		fprintf(stderr, CLI_PROG ": the request is %zu bytes, more than "
			"bulwarkd accepts (%u MiB); split it\n", len,
			CLI_MAX_BODY / (1024 * 1024));
		return -EMSGSIZE;
	}
	if ((fd = cli_connect()) < 0) {
		if (!(flags & CLI_QUIET))
			cli_print_unreachable(-fd);
		return fd;
	}
	/* as long as the path is: no fixed-size buffer cuts a request */
	if (data != NULL)
		rc = asprintf(&head,
			      "%s %s HTTP/1.1\r\nHost: bulwarkd\r\nConnection: close\r\n"
			      "Accept: application/json\r\nUser-Agent: bulwark\r\n"
			      "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
			      method, path, ctype, len);
	else
		rc = asprintf(&head,
			      "%s %s HTTP/1.1\r\nHost: bulwarkd\r\nConnection: close\r\n"
			      "Accept: application/json\r\nUser-Agent: bulwark\r\n\r\n",
			      method, path);
	if (rc < 0) {
		close(fd);
		return -ENOMEM;
	}
	rc = cli_write_all(fd, head, strlen(head));
	free(head);
	if (rc == 0 && data != NULL && len > 0)
		rc = cli_write_all(fd, data, len);
	if (rc < 0) {
		close(fd);
		if (!(flags & CLI_QUIET))
			cli_print_unreachable(-rc);
		return rc;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		close(fd);
		return -ENOMEM;
	}
	r->fd = fd;
	rc = rd_line(r, &l, (int)timeout);
	if (rc < 0)
		goto fail;
	if (sscanf(l, "HTTP/1.%*d %d", &status) != 1 || status < 100) {
		rc = -EPROTO;
		goto fail;
	}
	got_status = 1;
	for (;;) {
		char *colon, *v;

		if ((rc = rd_line(r, &l, (int)timeout)) < 0)
			goto fail;
		if (l[0] == '\0')
			break;
		if ((colon = strchr(l, ':')) == NULL)
			continue;
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (!strcasecmp(l, "Content-Length"))
			clen = strtoll(v, NULL, 10);
		else if (!strcasecmp(l, "Transfer-Encoding") &&
			 strcasestr(v, "chunked") != NULL)
			chunked = 1;
	}
	if (line != NULL && status >= 200 && status < 300) {
		s.line = line;
		s.arg = arg;
	}
	if (!strcmp(method, "HEAD") || status == 204 || status == 304)
		rc = 0;
	else if (chunked)
		rc = rd_chunked(r, &s, (int)timeout);
	else
		rc = rd_body(r, &s, clen, (int)timeout);
	if (rc < 0)
		goto fail;
	if (s.line != NULL) {
		/* A last line without its newline. */
		if (!s.stop && s.len > 0)
			sink_add(&s, "\n", 1);
		rc = s.bad ? -EPROTO : s.stop ? s.stop : 0;
		free(s.data);
		free(r);
		close(fd);
		return rc;
	}
	if (s.len > 0) {
		json_error_t jerr;
		json_t *doc = json_loadb(s.data, s.len, JSON_DECODE_ANY, &jerr);

		if (doc == NULL && status < 300) {
			if (!(flags & CLI_QUIET))
				fprintf(stderr, CLI_PROG ": bulwarkd sent a "
					"reply that is not JSON: %s\n", jerr.text);
			rc = -EPROTO;
			free(s.data);
			free(r);
			close(fd);
			return rc;
		}
		if (status >= 300 && !(flags & CLI_QUIET)) {
			const char *msg = cli_error_message(doc);

			if (msg != NULL)
				fprintf(stderr, CLI_PROG ": %s\n", msg);
			else
				fprintf(stderr, CLI_PROG ": bulwarkd answered "
					"HTTP %d %s\n", status,
					cli_reason_text(status));
		}
		if (reply != NULL)
			*reply = doc;
		else
			json_decref(doc);
	} else if (status >= 300 && !(flags & CLI_QUIET))
		fprintf(stderr, CLI_PROG ": bulwarkd answered HTTP %d %s\n",
			status, cli_reason_text(status));
	free(s.data);
	free(r);
	close(fd);
	return status;
fail:
	{
		/* Nothing at all came back, or the answer was cut short. */
		int closed = r->eof || rc == -ECONNRESET || rc == -EPIPE;
		int nothing = closed && !got_status && r->len == 0;

		free(s.data);
		free(r);
		close(fd);
		if (flags & CLI_QUIET)
			return closed ? -ECONNRESET : rc;
		if (rc == -ETIMEDOUT)
			fprintf(stderr, CLI_PROG ": bulwarkd at %s did not "
				"answer within %u seconds%s%s%s\n", cli_socket,
				timeout,
				cli_changes_state(method) ?
				" (the change may or may not have been applied; "
				"check with '" : "",
				cli_changes_state(method) ? cli_check_hint(path) : "",
				cli_changes_state(method) ? "')" : "");
		else if (closed && cli_changes_state(method))
			fprintf(stderr, CLI_PROG ": bulwarkd closed the connection "
				"%s (the change may or may not have been applied; "
				"check with '%s')\n",
				nothing ? "before answering" : "in the middle of its answer",
				cli_check_hint(path));
		else if (closed)
			fprintf(stderr, CLI_PROG ": bulwarkd closed the connection "
				"%s; try again\n",
				nothing ? "before answering" : "in the middle of its answer");
		else if (rc == -EPROTO)
			fprintf(stderr, CLI_PROG ": bulwarkd at %s sent a "
				"malformed HTTP reply\n", cli_socket);
		else
			cli_print_unreachable(-rc);
		return closed ? -ECONNRESET : rc;
	}
}

int
cli_request(const char *method, const char *path, json_t *body,
	    json_t **reply, int flags)
{
	char *text = NULL;
	int rc;

	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL)
		return -ENOMEM;
	rc = cli_exchange(method, path, "application/json", text,
			  text ? strlen(text) : 0, reply, NULL, NULL, flags);
	free(text);
	return rc;
}

int
cli_call(const char *method, const char *path, json_t *body, json_t **reply)
{
	return cli_request(method, path, body, reply, 0);
}

int
cli_call_raw(const char *method, const char *path, const char *ctype,
	     const char *data, size_t len, json_t **reply)
{
	return cli_exchange(method, path, ctype, data != NULL ? data : "", len,
			    reply, NULL, NULL, 0);
}

int
cli_stream(const char *path, int (*line)(json_t *, void *), void *arg)
{
	unsigned saved = cli_timeout;
	int saved_set = cli_timeout_set, rc;

	cli_timeout = 0; /* a followed stream may be quiet for long */
	cli_timeout_set = 1;
	rc = cli_exchange("GET", path, NULL, NULL, 0, NULL, line, arg, 0);
	cli_timeout = saved;
	cli_timeout_set = saved_set;
	if (rc >= 200 && rc < 300)
		return 0;
	return rc;
}
