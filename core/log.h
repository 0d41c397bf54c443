/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/log.h - the daemon's log: levels, stderr or syslog, prefixes.
 *
 * A small err(3)-shaped API in the spirit of OpenBSD's log.c. Every message
 * has a level (enum bw_log_level from bulwark/module.h, syslog numbering);
 * messages above the configured level are dropped. On stderr a message reads
 * "LEVEL: [PREFIX: ]TEXT"; when stderr is the systemd journal
 * (JOURNAL_STREAM names it) it reads "<N>[PREFIX: ]TEXT" so the journal keeps the
 * priority. With syslog, messages go to the daemon facility as "bulwarkd".
 * libbpf's output is routed in by bw_log_libbpf().
 */
#ifndef BW_LOG_H
#define BW_LOG_H

#include <stdarg.h>

#include <bulwark/module.h>

#define BW_LOG_TARGET_STDERR 0
#define BW_LOG_TARGET_SYSLOG 1

/*
 * Start logging to stderr (target BW_LOG_TARGET_STDERR) or syslog
 * (BW_LOG_TARGET_SYSLOG) at the given level. May be called again to switch
 * (SIGHUP). Before the first call messages go to stderr at BW_LOG_INFO.
 */
void bw_log_init(int target, int level);

/* Change the level only. */
void bw_log_set_level(int level);
int bw_log_get_level(void);

/* Non-zero if a message at this level would be written. */
int bw_log_enabled(int level);

/* Log one message; a trailing newline in fmt is not needed. */
void bw_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bw_vlog(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* The same with a prefix ("netpol-k8s", "flowlog:audit", "libbpf"). */
void bw_logx(const char *prefix, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void bw_vlogx(const char *prefix, int level, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/*
 * Log one message followed by ": " and strerror(err). err is an errno
 * value, positive or negative, so a function's -errno return is passed as
 * it is: bw_err_errno(rc, "cannot write %s", path). This is the call for
 * the layer that decides about a failure (CONVENTIONS.md: log once, where
 * the decision is taken); lower layers return -errno and a message.
 */
void bw_log_errno(int level, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void bw_logx_errno(const char *prefix, int level, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Route libbpf's messages into the log (warn, info, debug levels). */
void bw_log_libbpf(void);

/* Name of a level: "err", "warning", "notice", "info", "debug". */
const char *bw_log_level_name(int level);

#define bw_err(...) bw_log(BW_LOG_ERR, __VA_ARGS__)
#define bw_warn(...) bw_log(BW_LOG_WARNING, __VA_ARGS__)
#define bw_notice(...) bw_log(BW_LOG_NOTICE, __VA_ARGS__)
#define bw_info(...) bw_log(BW_LOG_INFO, __VA_ARGS__)
#define bw_debug(...) bw_log(BW_LOG_DEBUG, __VA_ARGS__)
#define bw_err_errno(err, ...) bw_log_errno(BW_LOG_ERR, (err), __VA_ARGS__)
#define bw_warn_errno(err, ...) bw_log_errno(BW_LOG_WARNING, (err), __VA_ARGS__)

#endif /* BW_LOG_H */
