/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/webui/webui_static.c - the page and its assets, read from
 * [webui] assets at each request (an upgrade that installs new files needs
 * no restart).
 *
 * A URL path is decoded once and must be a plain relative path below the
 * directory: no "..", "." or empty segment, no hidden name (".git"), no
 * NUL or backslash. The file found must then still be below the
 * directory once every symbolic link is resolved (realpath), and be a
 * regular file. Anything else is a JSON error, and nothing outside the
 * directory is ever opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "webui.h"

#define WEBUI_FILE_MAX (64u << 20)

static const struct {
	const char *ext, *type;
} webui_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".map", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".woff2", "font/woff2" },
	{ ".txt", "text/plain; charset=utf-8" },
};

static const char *
webui_type_of(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (dot != NULL && strchr(dot, '/') == NULL)
		for (size_t i = 0; i < sizeof(webui_types) / sizeof(webui_types[0]); i++)
			if (!strcmp(dot, webui_types[i].ext))
				return webui_types[i].type;
	return "application/octet-stream";
}

int
webui_static_path(const char *root, const char *upath, char *out, size_t outlen)
{
	char *dec;
	size_t dlen;
	const char *seg, *rel;
	int rc = 0;

	if (upath == NULL || upath[0] != '/')
		return -EINVAL;
	if ((dec = evhttp_uridecode(upath, 0, &dlen)) == NULL)
		return -ENOMEM;
	if (strlen(dec) != dlen || strchr(dec, '\\') != NULL) {
		rc = -EINVAL;
		goto out;
	}
	rel = dec + 1;
	if (rel[0] == '\0')
		rel = "index.html";
	/* every segment a plain, visible name */
	for (seg = rel; ; ) {
		const char *slash = strchr(seg, '/');
		size_t n = slash != NULL ? (size_t)(slash - seg) : strlen(seg);

		if (n == 0 || seg[0] == '.') {
			rc = -EINVAL;
			goto out;
		}
		if (slash == NULL)
			break;
		seg = slash + 1;
	}
	if ((size_t)snprintf(out, outlen, "%s/%s", root, rel) >= outlen)
		rc = -ENAMETOOLONG;
out:
	free(dec);
	return rc;
}

void
webui_static(struct webui *w, struct evhttp_request *req, const char *path)
{
	const char *root = w->conf->assets;
	char file[PATH_MAX], rroot[PATH_MAX], rfile[PATH_MAX];
	struct evbuffer *buf;
	struct stat st;
	size_t rl;
	int fd, rc;

	rc = webui_static_path(root, path, file, sizeof(file));
	if (rc == -EINVAL) {
		w->forbidden++;
		webui_reply_error(req, 403, "%s: not a file of the web UI", path);
		return;
	} else if (rc < 0) {
		webui_reply_error(req, rc == -ENOMEM ? 500 : 404, "%s: %s", path,
				  strerror(-rc));
		return;
	}
	if (realpath(root, rroot) == NULL) {
		webui_reply_error(req, 503, "the web UI's files are not installed "
				  "in %s ([webui] assets): %s", root, strerror(errno));
		return;
	}
	if (realpath(file, rfile) == NULL) {
		webui_reply_error(req, 404, "%s: no such file in the web UI", path);
		return;
	}
	rl = strlen(rroot);
	if (strncmp(rfile, rroot, rl) != 0 || rfile[rl] != '/') {
		w->forbidden++;
		webui_reply_error(req, 403, "%s: not a file of the web UI", path);
		return;
	}
	if ((fd = open(rfile, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		webui_reply_error(req, 404, "%s: %s", path, strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > WEBUI_FILE_MAX) {
		close(fd);
		webui_reply_error(req, 404, "%s: no such file in the web UI", path);
		return;
	}
	if ((buf = evbuffer_new()) == NULL) {
		close(fd);
		webui_reply_error(req, 500, "out of memory");
		return;
	}
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* evhttp would send the body: the length, and no body */
		char len[32];

		close(fd);
		snprintf(len, sizeof(len), "%lld", (long long)st.st_size);
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Content-Length", len);
	} else if (st.st_size > 0) {
		if (evbuffer_add_file(buf, fd, 0, st.st_size) < 0) {
			evbuffer_free(buf);
			webui_reply_error(req, 500, "%s: cannot read it", path);
			return;
		}
	} else {
		close(fd);
	}
	webui_headers(req, webui_type_of(rfile));
	/* small files, updated with the daemon: always revalidate */
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control",
			  "no-cache");
	evhttp_send_reply(req, 200, "OK", buf);
	evbuffer_free(buf);
}
