/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/log.c - levels, stderr/journal/syslog output, libbpf routing.
 *
 * One formatting path for every message: the text is formatted once into a
 * line buffer (so a message is one write(2) on stderr and never interleaves
 * with another thread's), then handed to stderr or syslog(3).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "core/log.h"

#define LOG_LINE_MAX 2048

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

	if (log_target == BW_LOG_TARGET_STDERR) {
		if (log_journal < 0)
			log_journal = log_stderr_is_journal();
		if (log_journal)
			n = snprintf(line, sizeof(line), "<%d>", level);
		else
			n = snprintf(line, sizeof(line), "%s: ", log_names[level]);
		off = n > 0 ? (size_t)n : 0;
	}
	if (prefix && *prefix) {
		n = snprintf(line + off, sizeof(line) - off, "%s: ", prefix);
		if (n > 0)
			off += (size_t)n < sizeof(line) - off ? (size_t)n : sizeof(line) - off - 1;
	}
	n = vsnprintf(line + off, sizeof(line) - off, fmt, ap);
	if (n > 0)
		off += (size_t)n < sizeof(line) - off ? (size_t)n : sizeof(line) - off - 1;
	/* One message, one line: drop trailing newlines (libbpf sends them). */
	while (off > 0 && (line[off - 1] == '\n' || line[off - 1] == '\r'))
		line[--off] = '\0';

	if (log_target == BW_LOG_TARGET_SYSLOG) {
		syslog(level, "%s", line);
	} else {
		if (off >= sizeof(line) - 1)
			off = sizeof(line) - 2;
		line[off++] = '\n';
		if (write(STDERR_FILENO, line, off) < 0) {
			/* Nowhere left to report it. */
		}
	}
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
