/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/adoption.c - helpers of the adoption verbs (cli/adoption.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"
#include "adoption.h"
#include "lib/flowfilter.h"

int
cli_path_begin(struct cli_path *p, const char *base)
{
	memset(p, 0, sizeof(*p));
	if ((p->f = open_memstream(&p->buf, &p->len)) == NULL)
		return -1;
	fputs(base, p->f);
	return 0;
}

void
cli_path_param(struct cli_path *p, const char *name, const char *value)
{
	fprintf(p->f, "%c%s=", p->nparams++ ? '&' : '?', name);
	for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
		if (isalnum(*c) || strchr("-_.~", *c) != NULL)
			fputc(*c, p->f);
		else
			fprintf(p->f, "%%%02X", *c);
	}
}

const char *
cli_path_end(struct cli_path *p)
{
	if (p->f != NULL) {
		fclose(p->f);
		p->f = NULL;
	}
	return p->buf;
}

void
cli_path_free(struct cli_path *p)
{
	if (p->f != NULL)
		fclose(p->f);
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

int
cli_since_check(const char *verb, const char *value)
{
	uint64_t t;

	if (bw_flowfilter_parse_time(value, 1, &t) < 0)
		return cli_usage_error(verb, "--since: '%s' is neither a duration (30s, 15m, "
				       "24h) nor a time (2026-11-26T09:00:00Z)", value);
	return 0;
}

const char *
cli_join(json_t *arr, const char *sep, char *buf, size_t len)
{
	size_t off = 0, i;
	json_t *v;

	buf[0] = '\0';
	json_array_foreach(arr, i, v) {
		int n = snprintf(buf + off, len > off ? len - off : 0, "%s%s", i ? sep : "",
				 json_string_value(v) ? json_string_value(v) : "?");

		if (n < 0 || off + (size_t)n >= len)
			break;
		off += (size_t)n;
	}
	return buf[0] ? buf : "-";
}

const char *
cli_short_time(const char *t, char *buf, size_t len)
{
	if (t == NULL || strlen(t) < 19)
		return t != NULL ? t : "-";
	snprintf(buf, len, "%.10s %.8s", t, t + 11);
	return buf;
}

char *
cli_read_input(const char *file, size_t *len)
{
	FILE *f = strcmp(file, "-") ? fopen(file, "rb") : stdin;
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f) {
		fprintf(stderr, CLI_PROG ": cannot read %s: %s\n", file, strerror(errno));
		return NULL;
	}
	for (;;) {
		size_t r;

		if (n + 65536 + 1 > cap) {
			char *nb;

			cap = cap ? cap * 2 : 131072;
			nb = realloc(buf, cap);
			if (!nb) {
				fprintf(stderr, CLI_PROG ": out of memory\n");
				free(buf);
				buf = NULL;
				goto out;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, CLI_PROG ": cannot read %s: %s\n", file, strerror(errno));
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
	*len = n;
out:
	if (f != stdin)
		fclose(f);
	return buf;
}
