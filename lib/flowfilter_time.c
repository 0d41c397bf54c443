/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/flowfilter_time.c - the times of a flow request: --since/--until
 * values as `hubble observe` takes them, a Go-style duration before now
 * ("3s", "1h43m") or an absolute RFC 3339 time or date. Shared by the flow
 * API (core/flow/flowapi.c) and the CLI; libc only.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/flowfilter.h"

#define FF_N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- time ------------------------------------------------------------------ */

/* Go-style duration: [0-9.]+(ns|us|µs|ms|s|m|h), repeated. */
static int
ff_parse_duration(const char *s, uint64_t *out)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {
		{"ns", 1}, {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
		{"s", 1e9}, {"m", 60e9}, {"h", 3600e9},
	};
	double total = 0;
	const char *p = s;

	if (*p == '\0')
		return -EINVAL;
	while (*p != '\0') {
		char *end;
		double v;
		size_t best = 0, blen = 0;

		if (!isdigit((unsigned char)*p) && *p != '.')
			return -EINVAL;
		v = strtod(p, &end);
		if (end == p)
			return -EINVAL;
		p = end;
		/* longest unit that matches ("ms" before "m") */
		for (size_t i = 0; i < FF_N(units); i++) {
			size_t ul = strlen(units[i].unit);

			if (strncmp(p, units[i].unit, ul) == 0 && ul > blen) {
				best = i;
				blen = ul;
			}
		}
		if (blen == 0)
			return -EINVAL;
		total += v * units[best].ns;
		p += blen;
		/* Go's time.ParseDuration refuses what does not fit an int64 of
		 * nanoseconds (about 2562047h) */
		if (!(total < 9223372036854775808.0))
			return -ERANGE;
	}
	*out = (uint64_t)total;
	return 0;
}

static int
ff_digits(const char *p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -EINVAL;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

int
bw_flowfilter_parse_time(const char *s, uint64_t now_ns, uint64_t *out)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0, oh, om;
	int64_t off = 0, t;
	uint64_t frac = 0, dur;
	const char *p;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	switch (ff_parse_duration(s, &dur)) {
	case 0:
		*out = dur < now_ns ? now_ns - dur : 0;
		return 0;
	case -ERANGE:
		return -ERANGE;
	default:
		break;
	}
	if (strlen(s) < 10 || ff_digits(s, 4, &y) || s[4] != '-' ||
	    ff_digits(s + 5, 2, &mo) || s[7] != '-' || ff_digits(s + 8, 2, &d))
		return -EINVAL;
	p = s + 10;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		if (ff_digits(p + 1, 2, &h) || p[3] != ':' ||
		    ff_digits(p + 4, 2, &mi) || p[6] != ':' ||
		    ff_digits(p + 7, 2, &sec))
			return -EINVAL;
		p += 9;
		if (*p == '.') {
			uint64_t scale = 100000000;

			p++;
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
			while (isdigit((unsigned char)*p)) {
				frac += (uint64_t)(*p - '0') * scale;
				scale /= 10;
				p++;
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			if (ff_digits(p + 1, 2, &oh) || p[3] != ':' ||
			    ff_digits(p + 4, 2, &om))
				return -EINVAL;
			off = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
			p += 6;
		}
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60)
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm) - off;
	if (t < 0)
		return -EINVAL;
	*out = (uint64_t)t * 1000000000u + frac;
	return 0;
}
