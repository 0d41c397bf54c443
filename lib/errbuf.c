/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/errbuf.c - writing the caller's message buffer (lib/errbuf.h).
 */
#include <errno.h>
#include <stdio.h>

#include "lib/errbuf.h"

int
bw_errbuf_vset(char *err, size_t errlen, const char *fmt, va_list ap)
{
	if (err != NULL && errlen > 0)
		vsnprintf(err, errlen, fmt, ap);
	return -EINVAL;
}

int
bw_errbuf_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bw_errbuf_vset(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}
