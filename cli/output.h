/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/output.h - how the CLI prints: human tables by default, -o json.
 *
 * Tables have a header row in capitals and columns padded to their widest
 * cell; JSON is the daemon's document, pretty-printed with two spaces.
 */
#ifndef BW_CLI_OUTPUT_H
#define BW_CLI_OUTPUT_H

#include <stdio.h>

#include <jansson.h>

enum cli_format {
	CLI_OUT_TABLE = 0,
	CLI_OUT_JSON,
};

/*
 * Parse the argument of -o for verb ("table" or "json"; a verb may accept
 * more, like observe's compact, by checking before calling this). Prints
 * the error and returns -1 when arg is not one of them.
 */
int cli_output_parse(const char *verb, const char *arg, enum cli_format *fmt);

/* Print doc as indented JSON on stdout. */
void cli_print_json(json_t *doc);

/* A string member, or def when missing, null or not a string. */
const char *cli_json_str(json_t *obj, const char *key, const char *def);

/* Print "bulwark VERB: message" and "Try 'bulwark VERB --help'."; returns 2. */
int cli_usage_error(const char *verb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- tables ------------------------------------------------------------- */

struct cli_table;

/* A table with ncols columns named by the NULL-terminated headers. */
struct cli_table *cli_table_new(const char *const *headers);

/* Add a row of ncols cells (NULL prints as "-"). Strings are copied. */
void cli_table_row(struct cli_table *t, const char *const *cells);

/* Print with aligned columns (the last one unpadded) and free the table. */
void cli_table_print(struct cli_table *t, FILE *f);

/*
 * Print "label:  value" pairs aligned on the value column. labels and
 * values are NULL-terminated arrays of the same length.
 */
void cli_print_fields(FILE *f, const char *const *labels,
		      const char *const *values);

/* "3d4h", "2h5m", "4m12s", "7s" */
void cli_format_duration(long long seconds, char *buf, size_t len);

#endif /* BW_CLI_OUTPUT_H */
