/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/state.c - atomic file replacement and mkdir -p.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/state.h"
#include "lib/atomicfile.h"

int
bw_state_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	struct stat st;
	size_t len;
	char *p;

	len = strlen(path);
	if (len == 0)
		return -EINVAL;
	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';

	for (p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(buf, mode) < 0) {
			if (errno != EEXIST)
				return -errno;
			if (stat(buf, &st) < 0)
				return -errno;
			if (!S_ISDIR(st.st_mode))
				return -ENOTDIR;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}

int
bw_state_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	return bw_file_write_atomic(path, data, len, mode);
}

int
bw_state_write_json(const char *path, const json_t *doc)
{
	char *text;
	size_t len;
	int rc;

	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL)
		return -ENOMEM;
	len = strlen(text);
	/* json_dumps leaves room for nothing: append the newline by hand. */
	char *line = realloc(text, len + 2);

	if (line == NULL) {
		free(text);
		return -ENOMEM;
	}
	line[len] = '\n';
	line[len + 1] = '\0';
	rc = bw_state_write_file(path, line, len + 1, 0600);
	free(line);
	return rc;
}

json_t *
bw_state_read_json(const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc;
	FILE *f;

	f = fopen(path, "re");
	if (f == NULL)
		return NULL;
	doc = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (doc == NULL) {
		if (err && errlen)
			snprintf(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
		errno = EINVAL;
	}
	return doc;
}

/* ---- journals ------------------------------------------------------------------- */

int
bw_state_journal_append(const char *path, const json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	size_t len, off = 0;
	int fd, rc = 0;

	if (text == NULL)
		return -ENOMEM;
	len = strlen(text);
	text[len] = '\n'; /* json_dumps' terminating NUL becomes the newline */
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		free(text);
		return rc;
	}
	while (off < len + 1) {
		ssize_t n = write(fd, text + off, len + 1 - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	free(text);
	return rc;
}

int
bw_state_journal_read(const char *path, int (*fn)(const json_t *rec, void *arg), void *arg,
		      char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int count = 0, lineno = 0, rc = 0;

	if (f == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((n = getline(&line, &cap, f)) >= 0) {
		json_error_t jerr;
		json_t *rec;
		int last;

		lineno++;
		last = n == 0 || line[n - 1] != '\n';
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0)
			continue;
		rec = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
		if (rec == NULL) {
			if (last)
				break; /* cut short by a crash: the change was not acknowledged */
			if (err && errlen)
				snprintf(err, errlen, "%s:%d: %s", path, lineno, jerr.text);
			rc = -EINVAL;
			break;
		}
		rc = fn(rec, arg);
		json_decref(rec);
		if (rc < 0)
			break;
		count++;
	}
	free(line);
	fclose(f);
	return rc < 0 ? rc : count;
}

int
bw_state_journal_reset(const char *path)
{
	if (truncate(path, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* ---- state documents --------------------------------------------------------------- */

json_t *
bw_state_read_doc(const char *path, int version, const char *const *lists, char *err,
		  size_t errlen)
{
	json_error_t jerr;
	struct stat st;
	json_t *doc, *v;
	FILE *f;
	int fd;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int e = errno;

		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (unsigned long long)st.st_size > BW_STATE_MAX_BYTES) {
		int reg = S_ISREG(st.st_mode);

		if (err && errlen)
			snprintf(err, errlen, reg ? "%s: larger than %u MiB: not a bulwark state file"
						  : "%s: not a regular file",
				 path, BW_STATE_MAX_BYTES >> 20);
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	f = fdopen(fd, "r");
	if (f == NULL) {
		close(fd);
		return NULL;
	}
	doc = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (doc == NULL) {
		if (err && errlen)
			snprintf(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
		errno = EINVAL;
		return NULL;
	}
	v = json_object_get(doc, "version");
	if (!json_is_object(doc) || !json_is_integer(v) || json_integer_value(v) != version) {
		if (err && errlen && !json_is_object(doc))
			snprintf(err, errlen,
				 "%s: not a bulwark state file (a %s, not an object with \"version\": %d)",
				 path, json_is_array(doc) ? "list" : "single value", version);
		else if (err && errlen && !json_is_integer(v))
			snprintf(err, errlen, "%s: not a bulwark state file (no \"version\": %d)",
				 path, version);
		else if (err && errlen)
			snprintf(err, errlen, "%s: version %lld, this bulwarkd reads version %d", path,
				 (long long)json_integer_value(v), version);
		json_decref(doc);
		errno = EINVAL;
		return NULL;
	}
	for (size_t i = 0; lists && lists[i]; i++) {
		if (!json_is_array(json_object_get(doc, lists[i]))) {
			if (err && errlen)
				snprintf(err, errlen, "%s: \"%s\" is %s, not a list", path, lists[i],
					 json_object_get(doc, lists[i]) ? "something else" : "missing");
			json_decref(doc);
			errno = EINVAL;
			return NULL;
		}
	}
	return doc;
}
