/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/output.c - tables, field lists and JSON printing for the CLI.
 *
 * Column widths count bytes, which is what a terminal shows for the ASCII
 * the daemon's names are made of (label values and paths are ASCII in
 * practice; a wider character only shifts its own row).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"

struct cli_table {
	size_t ncols;
	size_t nrows, cap;
	char **cells; /* (nrows + 1) * ncols, row 0 = headers */
};

int
cli_output_parse(const char *verb, const char *arg, enum cli_format *fmt)
{
	if (!strcmp(arg, "json"))
		*fmt = CLI_OUT_JSON;
	else if (!strcmp(arg, "table"))
		*fmt = CLI_OUT_TABLE;
	else {
		cli_usage_error(verb, "-o: '%s' is not one of table, json", arg);
		return -1;
	}
	return 0;
}

void
cli_print_json(json_t *doc)
{
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fputc('\n', stdout);
}

const char *
cli_json_str(json_t *obj, const char *key, const char *def)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : def;
}

int
cli_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, CLI_PROG "%s%s: ", verb ? " " : "", verb ? verb : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '" CLI_PROG "%s%s --help'.\n", verb ? " " : "",
		verb ? verb : "");
	return 2;
}

static void
cli_table_put(struct cli_table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **c = realloc(t->cells, cap * t->ncols * sizeof(*c));

		if (c == NULL) {
			perror(CLI_PROG);
			exit(1);
		}
		t->cells = c;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		char *s = strdup(cells[i] != NULL ? cells[i] : "-");

		if (s == NULL) {
			perror(CLI_PROG);
			exit(1);
		}
		/* One cell, one line. */
		for (char *p = s; *p; p++)
			if (*p == '\n' || *p == '\t')
				*p = ' ';
		t->cells[t->nrows * t->ncols + i] = s;
	}
	t->nrows++;
}

struct cli_table *
cli_table_new(const char *const *headers)
{
	struct cli_table *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		perror(CLI_PROG);
		exit(1);
	}
	while (headers[t->ncols] != NULL)
		t->ncols++;
	cli_table_put(t, headers);
	return t;
}

void
cli_table_row(struct cli_table *t, const char *const *cells)
{
	cli_table_put(t, cells);
}

void
cli_table_print(struct cli_table *t, FILE *f)
{
	size_t *w = calloc(t->ncols, sizeof(*w));

	if (w == NULL) {
		perror(CLI_PROG);
		exit(1);
	}
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t l = strlen(t->cells[r * t->ncols + c]);

			if (l > w[c])
				w[c] = l;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];

			if (c + 1 < t->ncols)
				fprintf(f, "%-*s   ", (int)w[c], s);
			else
				fprintf(f, "%s\n", s);
		}
	}
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(w);
	free(t);
}

void
cli_print_fields(FILE *f, const char *const *labels, const char *const *values)
{
	size_t w = 0;

	for (size_t i = 0; labels[i] != NULL; i++)
		if (strlen(labels[i]) + 1 > w)
			w = strlen(labels[i]) + 1;
	for (size_t i = 0; labels[i] != NULL; i++) {
		char l[256];

		snprintf(l, sizeof(l), "%s:", labels[i]);
		fprintf(f, "%-*s  %s\n", (int)w, l,
			values[i] != NULL ? values[i] : "-");
	}
}

void
cli_format_duration(long long s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(buf, len, "%lldd%lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%lldh%lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, len, "%lldm%llds", s / 60, s % 60);
	else
		snprintf(buf, len, "%llds", s);
}
