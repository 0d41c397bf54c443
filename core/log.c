/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/log.c - levels, stderr/journal/syslog output, libbpf routing.
 *
 * One formatting path for every message: the text is formatted once into a
 * line buffer (so a message is one write(2) on stderr and never interleaves
 * with another thread's), then handed to stderr or syslog(3).
 *
 * Repeated lines are rate-limited: the same message (same level and text)
 * more than LOG_BURST times within LOG_WINDOW_MS is held back and counted,
 * and "the last message was repeated N times" is written before the next
 * different message (or the same one once the window has passed). A loop
 * that fails a million times a second writes a few lines a second, not
 * hundreds of megabytes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "core/log.h"

#define LOG_LINE_MAX 2048
#define LOG_BURST 10
#define LOG_WINDOW_MS 1000

/* The repeat limiter's state (any thread may log). */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char line[LOG_LINE_MAX]; /* the last message, without its level prefix */
	int level;
	unsigned burst;          /* times in the current window */
	unsigned long held;      /* held back since it was last written */
	uint64_t window_ms;      /* start of the window */
} log_rep;

static int log_target = BW_LOG_TARGET_STDERR;
static int log_level = BW_LOG_INFO;
static int log_journal = -1; /* stderr is the journal: -1 unknown */

/*
 * systemd sets JOURNAL_STREAM=DEV:INODE when stderr is connected to the
 * journal; it is only ours if stderr is still that stream (a child with
 * redirected stderr inherits the variable).
 */
static int
log_stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (v == NULL || sscanf(v, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

static const char *const log_names[] = {
	[BW_LOG_ERR] = "err",
	[BW_LOG_WARNING] = "warning",
	[BW_LOG_NOTICE] = "notice",
	[BW_LOG_INFO] = "info",
	[BW_LOG_DEBUG] = "debug",
};

const char *
bw_log_level_name(int level)
{
	if (level < BW_LOG_ERR)
		level = BW_LOG_ERR;
	if (level > BW_LOG_DEBUG)
		level = BW_LOG_DEBUG;
	return log_names[level];
}

void
bw_log_init(int target, int level)
{
	if (log_target == BW_LOG_TARGET_SYSLOG && target != BW_LOG_TARGET_SYSLOG)
		closelog();
	if (target == BW_LOG_TARGET_SYSLOG && log_target != BW_LOG_TARGET_SYSLOG)
		openlog("bulwarkd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_target = target;
	bw_log_set_level(level);
}

void
bw_log_set_level(int level)
{
	if (level < BW_LOG_ERR)
		level = BW_LOG_ERR;
	if (level > BW_LOG_DEBUG)
		level = BW_LOG_DEBUG;
	log_level = level;
}

int
bw_log_get_level(void)
{
	return log_level;
}

int
bw_log_enabled(int level)
{
	return level <= log_level;
}

/* Write one formatted message line (level prefix added here). */
static void
log_emit(int level, const char *msg)
{
	char line[LOG_LINE_MAX + 32];
	size_t off = 0;
	int n;

	if (log_target == BW_LOG_TARGET_SYSLOG) {
		syslog(level, "%s", msg);
		return;
	}
	if (log_journal < 0)
		log_journal = log_stderr_is_journal();
	if (log_journal)
		n = snprintf(line, sizeof(line), "<%d>%s\n", level, msg);
	else
		n = snprintf(line, sizeof(line), "%s: %s\n", log_names[level], msg);
	if (n <= 0)
		return;
	off = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	if (line[off - 1] != '\n')
		line[off - 1] = '\n';
	if (write(STDERR_FILENO, line, off) < 0) {
		/* Nowhere left to report it. */
	}
}

static uint64_t
log_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The repeat limiter (under log_lock): write msg, or hold it back. */
static void
log_limited(int level, const char *msg)
{
	uint64_t now = log_now_ms();
	int same = level == log_rep.level && !strcmp(msg, log_rep.line);

	if (same && now - log_rep.window_ms < LOG_WINDOW_MS) {
		if (++log_rep.burst > LOG_BURST) {
			log_rep.held++;
			return;
		}
		log_emit(level, msg);
		return;
	}
	if (log_rep.held) {
		char note[128];

		snprintf(note, sizeof(note), "the last message was repeated %lu more times",
			 log_rep.held);
		log_emit(log_rep.level, note);
	}
	log_rep.held = 0;
	log_rep.burst = 1;
	log_rep.window_ms = now;
	if (!same) {
		log_rep.level = level;
		snprintf(log_rep.line, sizeof(log_rep.line), "%s", msg);
	}
	log_emit(level, msg);
}

void
bw_vlogx(const char *prefix, int level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t off = 0;
	int saved = errno, n;

	if (!bw_log_enabled(level))
		return;
	if (level < BW_LOG_ERR)
		level = BW_LOG_ERR;
	if (level > BW_LOG_DEBUG)
		level = BW_LOG_DEBUG;
	if (prefix && *prefix) {
		n = snprintf(line, sizeof(line), "%s: ", prefix);
		if (n > 0)
			off = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	}
	n = vsnprintf(line + off, sizeof(line) - off, fmt, ap);
	if (n > 0)
		off += (size_t)n < sizeof(line) - off ? (size_t)n : sizeof(line) - off - 1;
	/* One message, one line: drop trailing newlines (libbpf sends them). */
	while (off > 0 && (line[off - 1] == '\n' || line[off - 1] == '\r'))
		line[--off] = '\0';
	pthread_mutex_lock(&log_lock);
	log_limited(level, line);
	pthread_mutex_unlock(&log_lock);
	errno = saved;
}

void
bw_logx(const char *prefix, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bw_vlogx(prefix, level, fmt, ap);
	va_end(ap);
}

void
bw_vlog(int level, const char *fmt, va_list ap)
{
	bw_vlogx(NULL, level, fmt, ap);
}

void
bw_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bw_vlogx(NULL, level, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 4, 0))) static void
log_verrno(const char *prefix, int level, int err, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX];
	int saved = errno;

	if (!bw_log_enabled(level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	bw_logx(prefix, level, "%s: %s", msg, strerror(err < 0 ? -err : err));
	errno = saved;
}

void
bw_log_errno(int level, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_verrno(NULL, level, err, fmt, ap);
	va_end(ap);
}

void
bw_logx_errno(const char *prefix, int level, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_verrno(prefix, level, err, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 2, 0))) static int
log_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int bwlevel;

	switch (level) {
	case LIBBPF_WARN:
		bwlevel = BW_LOG_WARNING;
		break;
	case LIBBPF_INFO:
		bwlevel = BW_LOG_INFO;
		break;
	default:
		bwlevel = BW_LOG_DEBUG;
		break;
	}
	bw_vlogx("libbpf", bwlevel, fmt, ap);
	return 0;
}

void
bw_log_libbpf(void)
{
	libbpf_set_print(log_libbpf_print);
}
