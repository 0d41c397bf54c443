/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/adoption.h - what the adoption verbs (history, exposure, compliance)
 * share: building a request path with query parameters, checking --since,
 * and small formatting helpers.
 */
#ifndef BW_CLI_ADOPTION_H
#define BW_CLI_ADOPTION_H

#include <stdio.h>

#include <jansson.h>

/* A request path: "base?name=value&..." with values URL-encoded. */
struct cli_path {
	FILE *f;
	char *buf;
	size_t len;
	int nparams;
};

int cli_path_begin(struct cli_path *p, const char *base);
void cli_path_param(struct cli_path *p, const char *name, const char *value);
/* The path (owned by p until cli_path_free). */
const char *cli_path_end(struct cli_path *p);
void cli_path_free(struct cli_path *p);

/*
 * Check a --since value (a duration before now or a time); prints a usage
 * error naming the argument and returns 2 when it is neither, else 0.
 */
int cli_since_check(const char *verb, const char *value);

/* The strings of a JSON array joined by sep into buf ("-" when empty). */
const char *cli_join(json_t *arr, const char *sep, char *buf, size_t len);

/* A JSON time (RFC 3339) shortened for tables: "2026-11-26 08:26:32". */
const char *cli_short_time(const char *rfc3339, char *buf, size_t len);

/*
 * The whole of FILE ("-": stdin), NUL-terminated, its length in *len
 * (malloc'd); NULL after printing why it cannot be read.
 */
char *cli_read_input(const char *file, size_t *len);

#endif /* BW_CLI_ADOPTION_H */
