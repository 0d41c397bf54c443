/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/errbuf.h - the message buffer lower layers fill for the caller.
 *
 * Functions that can fail for a reason a user must read take a
 * (char *err, size_t errlen) pair, return a negative errno, and write one
 * line into err; the layer that decides what to do with the failure logs
 * it or sends it back (CONVENTIONS.md, "Errors and logs"). err may be NULL
 * or errlen 0: then nothing is written. This is the one helper that writes
 * such a buffer; files keep no private copy of it.
 */
#ifndef BW_LIB_ERRBUF_H
#define BW_LIB_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Format fmt into err (truncated to errlen, always terminated) unless err
 * is NULL or errlen 0. Returns -EINVAL, the usual code for bad input, so
 * a parser can write `return bw_errbuf_set(err, errlen, "...", ...);`.
 */
int bw_errbuf_set(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int bw_errbuf_vset(char *err, size_t errlen, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif /* BW_LIB_ERRBUF_H */
