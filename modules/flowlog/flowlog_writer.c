/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/flowlog/flowlog_writer.c - the flow log file and the thread that
 * owns it.
 *
 * The event loop never touches the file (DESIGN 1): it appends complete
 * lines to an in-memory queue bounded in bytes and wakes the worker; when
 * the queue is full the line is dropped and counted. The worker swaps the
 * queue for an empty buffer and writes the whole batch with as few
 * write(2) calls as rotation allows, so a burst of flows costs one write.
 *
 * Rotation follows Hubble's file exporter (max size, max backups) with
 * numbered backups: before a batch would grow the file past max_size, the
 * file is fsync'd and renamed events.log -> events.log.1 -> ... ->
 * events.log.N, the oldest is removed, and a new file is started. A file
 * always ends at a line boundary: a line is never split across files, and
 * a write that fails half-way is cut back to the last complete line.
 *
 * Restarts: the file is opened for appending, never truncated; a partial
 * last line left by a crash (the process died in the middle of a write) is
 * cut at open, so every line in the file is a complete JSON object.
 * Closing writes what is queued and fsyncs.
 *
 * The worker never logs (the daemon's log is the loop thread's): it
 * records its last error and counters, which the module reads under the
 * mutex and reports from the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flowlog.h"

struct flowlog_writer {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int started;
	int stopping;

	/* the queue: complete lines, filled by the loop thread */
	char *q;
	size_t qlen, qcap;
	size_t queue_max;

	/* settings, read by the worker at each batch */
	int64_t max_size;
	int max_backups;

	/* the file: the worker's once started */
	char *path;
	int fd;
	uint64_t size;

	struct flowlog_writer_stats st; /* under mu */
};

/* Record an error for the loop thread to report (mu must not be held). */
static void __attribute__((format(printf, 2, 3)))
flowlog_w_error(struct flowlog_writer *w, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&w->mu);
	va_start(ap, fmt);
	vsnprintf(w->st.error, sizeof(w->st.error), fmt, ap);
	va_end(ap);
	w->st.error_seq++;
	pthread_mutex_unlock(&w->mu);
}

static int
flowlog_mkdir_p(const char *dir)
{
	char buf[PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(buf))
		return n == 0 ? 0 : -ENAMETOOLONG;
	memcpy(buf, dir, n + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0750) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* fsync the directory holding path, so renames and creations persist. */
static void
flowlog_sync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (slash == NULL) {
		strcpy(dir, ".");
	} else {
		size_t n = (size_t)(slash - path);

		if (n >= sizeof(dir))
			return;
		if (n == 0)
			n = 1;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/*
 * Cut a partial last line: find the last '\n' and truncate after it (or to
 * zero if there is none). Sets *cut to the number of bytes removed.
 */
static int
flowlog_repair(int fd, uint64_t *size, uint64_t *cut)
{
	char buf[65536];
	off_t end = (off_t)*size, pos;
	ssize_t n;

	*cut = 0;
	if (end == 0)
		return 0;
	if (pread(fd, buf, 1, end - 1) != 1)
		return -errno ? -errno : -EIO;
	if (buf[0] == '\n')
		return 0;
	pos = end;
	while (pos > 0) {
		size_t chunk = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
		char *nl;

		pos -= (off_t)chunk;
		n = pread(fd, buf, chunk, pos);
		if (n != (ssize_t)chunk)
			return n < 0 ? -errno : -EIO;
		nl = memrchr(buf, '\n', chunk);
		if (nl != NULL) {
			pos += (off_t)(nl - buf) + 1;
			break;
		}
	}
	if (ftruncate(fd, pos) < 0)
		return -errno;
	(void)fsync(fd);
	*cut = (uint64_t)(end - pos);
	*size = (uint64_t)pos;
	return 0;
}

static int
flowlog_open_file(struct flowlog_writer *w, uint64_t *cut, char *err,
		  size_t errlen)
{
	struct stat sb;
	int rc;

	w->fd = open(w->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (w->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open %s: %s", w->path,
			 strerror(-rc));
		return rc;
	}
	if (fstat(w->fd, &sb) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot stat %s: %s", w->path,
			 strerror(-rc));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = -EINVAL;
		snprintf(err, errlen, "%s is not a regular file", w->path);
		goto fail;
	}
	w->size = (uint64_t)sb.st_size;
	if (cut != NULL && (rc = flowlog_repair(w->fd, &w->size, cut)) < 0) {
		snprintf(err, errlen, "cannot repair the last line of %s: %s",
			 w->path, strerror(-rc));
		goto fail;
	}
	return 0;
fail:
	close(w->fd);
	w->fd = -1;
	return rc;
}

static char *
flowlog_backup_name(const char *path, int i)
{
	char *s;

	if (asprintf(&s, "%s.%d", path, i) < 0)
		return NULL;
	return s;
}

/* Remove backups numbered above max_backups (left by a larger setting). */
static void
flowlog_prune(const char *path, int max_backups)
{
	for (int i = max_backups + 1; i <= 10000; i++) {
		char *b = flowlog_backup_name(path, i);
		int gone;

		if (b == NULL)
			return;
		gone = unlink(b) < 0 && errno == ENOENT;
		free(b);
		if (gone)
			return;
	}
}

/* Close the full file, shift the backups, start a new file. */
static int
flowlog_rotate(struct flowlog_writer *w, int max_backups)
{
	char err[256];
	int rc = 0;

	(void)fsync(w->fd);
	close(w->fd);
	w->fd = -1;
	if (max_backups <= 0) {
		if (unlink(w->path) < 0 && errno != ENOENT)
			rc = -errno;
	} else {
		char *from, *to = flowlog_backup_name(w->path, max_backups);

		if (to == NULL)
			return -ENOMEM;
		(void)unlink(to);
		for (int i = max_backups - 1; i >= 0 && rc == 0; i--) {
			from = i == 0 ? strdup(w->path) :
					flowlog_backup_name(w->path, i);
			if (from == NULL) {
				rc = -ENOMEM;
				break;
			}
			if (rename(from, to) < 0 && errno != ENOENT)
				rc = -errno;
			free(to);
			to = from;
		}
		free(to);
	}
	flowlog_prune(w->path, max_backups);
	if (rc < 0)
		flowlog_w_error(w, "cannot rotate %s: %s", w->path,
				strerror(-rc));
	if (flowlog_open_file(w, NULL, err, sizeof(err)) < 0) {
		flowlog_w_error(w, "%s", err);
		return -EIO;
	}
	flowlog_sync_dir(w->path);
	pthread_mutex_lock(&w->mu);
	w->st.rotations++;
	pthread_mutex_unlock(&w->mu);
	return 0;
}

static uint64_t
flowlog_count_lines(const char *p, size_t n)
{
	uint64_t lines = 0;
	const char *end = p + n;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		lines++;
		p++;
	}
	return lines;
}

/* Write one chunk of complete lines; on failure cut the file back. */
static int
flowlog_write_chunk(struct flowlog_writer *w, const char *p, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = write(w->fd, p + done, n - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int rc = r < 0 ? -errno : -EIO;

			if (done > 0 && ftruncate(w->fd, (off_t)w->size) < 0)
				done = 0; /* nothing more we can do */
			flowlog_w_error(w, "cannot write to %s: %s", w->path,
					strerror(-rc));
			return rc;
		}
		done += (size_t)r;
	}
	w->size += n;
	return 0;
}

/* Write a batch of complete lines, rotating as needed. */
static void
flowlog_write_batch(struct flowlog_writer *w, const char *data, size_t len,
		    int64_t max_size, int max_backups)
{
	uint64_t lines = 0, bytes = 0, lost = 0;
	size_t off = 0;

	while (off < len) {
		const char *p = data + off, *nl;
		size_t rest = len - off, room, chunk;

		if (w->fd < 0) {
			/* a failed rotation left no file: try again */
			char err[256];

			if (flowlog_open_file(w, NULL, err, sizeof(err)) < 0) {
				flowlog_w_error(w, "%s", err);
				lost += flowlog_count_lines(p, rest);
				break;
			}
		}
		room = w->size < (uint64_t)max_size ?
			       (size_t)((uint64_t)max_size - w->size) : 0;
		if (rest <= room) {
			chunk = rest;
		} else {
			nl = room > 0 ? memrchr(p, '\n', room) : NULL;
			chunk = nl != NULL ? (size_t)(nl - p) + 1 : 0;
		}
		if (chunk == 0) {
			if (w->size > 0) {
				if (flowlog_rotate(w, max_backups) < 0) {
					lost += flowlog_count_lines(p, rest);
					break;
				}
				continue;
			}
			/* one line longer than max_size: it gets a file */
			nl = memchr(p, '\n', rest);
			chunk = nl != NULL ? (size_t)(nl - p) + 1 : rest;
		}
		if (flowlog_write_chunk(w, p, chunk) < 0)
			lost += flowlog_count_lines(p, chunk);
		else {
			lines += flowlog_count_lines(p, chunk);
			bytes += chunk;
		}
		off += chunk;
	}
	pthread_mutex_lock(&w->mu);
	w->st.lines += lines;
	w->st.bytes += bytes;
	w->st.write_errors += lost;
	w->st.file_size = w->size;
	pthread_mutex_unlock(&w->mu);
}

static void *
flowlog_worker(void *arg)
{
	struct flowlog_writer *w = arg;
	char *batch = NULL;
	size_t bcap = 0;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		char *tmp;
		size_t len, cap;
		int64_t max_size;
		int max_backups;

		while (w->qlen == 0 && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->qlen == 0)
			break; /* stopping, and everything is written */
		/* take the queue, leave an empty buffer in its place */
		tmp = w->q;
		len = w->qlen;
		cap = w->qcap;
		w->q = batch;
		w->qcap = bcap;
		w->qlen = 0;
		batch = tmp;
		bcap = cap;
		max_size = w->max_size;
		max_backups = w->max_backups;
		w->st.queued = 0;
		pthread_mutex_unlock(&w->mu);

		flowlog_write_batch(w, batch, len, max_size, max_backups);

		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	free(batch);
	return NULL;
}

int
flowlog_writer_open(struct flowlog_writer **out, const char *path,
		    int64_t max_size, int max_backups, size_t queue_max,
		    char *err, size_t errlen)
{
	struct flowlog_writer *w;
	const char *slash;
	uint64_t cut = 0;
	int rc;

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->path = strdup(path)) == NULL) {
		free(w);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	w->fd = -1;
	w->max_size = max_size;
	w->max_backups = max_backups;
	w->queue_max = queue_max;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);

	slash = strrchr(path, '/');
	if (slash != NULL && slash != path) {
		char dir[PATH_MAX];
		size_t n = (size_t)(slash - path);

		if (n >= sizeof(dir)) {
			rc = -ENAMETOOLONG;
			snprintf(err, errlen, "path %s is too long", path);
			goto fail;
		}
		memcpy(dir, path, n);
		dir[n] = '\0';
		if ((rc = flowlog_mkdir_p(dir)) < 0) {
			snprintf(err, errlen, "cannot create directory %s: %s",
				 dir, strerror(-rc));
			goto fail;
		}
	}
	if ((rc = flowlog_open_file(w, &cut, err, errlen)) < 0)
		goto fail;
	flowlog_prune(path, max_backups);
	w->st.repaired = cut;
	w->st.file_size = w->size;
	rc = pthread_create(&w->thread, NULL, flowlog_worker, w);
	if (rc != 0) {
		rc = -rc;
		snprintf(err, errlen, "cannot start the writer thread: %s",
			 strerror(-rc));
		goto fail;
	}
	w->started = 1;
	*out = w;
	return 0;
fail:
	if (w->fd >= 0)
		close(w->fd);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w->path);
	free(w);
	return rc;
}

int
flowlog_writer_push(struct flowlog_writer *w, const char *line, size_t len)
{
	int rc = 0, wake;

	pthread_mutex_lock(&w->mu);
	if (w->stopping || w->qlen + len + 1 > w->queue_max) {
		w->st.dropped++;
		rc = -ENOBUFS;
		goto out;
	}
	if (w->qlen + len + 1 > w->qcap) {
		size_t cap = w->qcap ? w->qcap : 65536;
		char *q;

		while (cap < w->qlen + len + 1)
			cap *= 2;
		if (cap > w->queue_max)
			cap = w->queue_max;
		if ((q = realloc(w->q, cap)) == NULL) {
			w->st.dropped++;
			rc = -ENOBUFS;
			goto out;
		}
		w->q = q;
		w->qcap = cap;
	}
	wake = w->qlen == 0;
	memcpy(w->q + w->qlen, line, len);
	w->q[w->qlen + len] = '\n';
	w->qlen += len + 1;
	w->st.queued = w->qlen;
	if (wake)
		pthread_cond_signal(&w->cv);
out:
	pthread_mutex_unlock(&w->mu);
	return rc;
}

void
flowlog_writer_set_limits(struct flowlog_writer *w, int64_t max_size,
			  int max_backups, size_t queue_max)
{
	pthread_mutex_lock(&w->mu);
	w->max_size = max_size;
	w->max_backups = max_backups;
	w->queue_max = queue_max;
	pthread_mutex_unlock(&w->mu);
}

void
flowlog_writer_stats(struct flowlog_writer *w, struct flowlog_writer_stats *st)
{
	pthread_mutex_lock(&w->mu);
	*st = w->st;
	pthread_mutex_unlock(&w->mu);
}

void
flowlog_writer_close(struct flowlog_writer *w, struct flowlog_writer_stats *final)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (w->started)
		pthread_join(w->thread, NULL);
	if (w->fd >= 0) {
		(void)fsync(w->fd);
		close(w->fd);
	}
	flowlog_sync_dir(w->path);
	if (final != NULL)
		*final = w->st;
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w->q);
	free(w->path);
	free(w);
}
