/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/advisor/advisor_yaml.c - the advisor's policy documents as YAML
 * with comments.
 *
 * Written by hand on purpose: the recommendation must carry a comment on
 * every rule (the flows that justify it), and libyaml's emitter, the
 * Debian library the daemon reads YAML with, cannot write comments. The
 * documents are small JSON trees (objects, arrays, strings, integers,
 * booleans) in block style, kubectl's layout (a list under a key is not
 * indented further); a scalar is written plain only when YAML would read
 * it back as the same string, else double-quoted with JSON's escapes, which
 * YAML's double-quoted style shares. The tests read every document back
 * through the daemon's own parser.
 *
 * Comments: an object's "#" member (lines joined by '\n') is written as
 * comment lines right before the object (before its "- " in a list).
 * Every member whose name starts with '#' is left out of the YAML.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "advisor.h"

static int
y_plain_ok(const char *s)
{
	static const char *const words[] = {
		"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~", NULL,
	};
	char *end;
	size_t n = strlen(s);

	if (n == 0 || n > 200)
		return 0;
	if (!isalnum((unsigned char)s[0]) && s[0] != '_' && s[0] != '/' && s[0] != '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && !strchr("_./:@+-", c))
			return 0;
	}
	if (s[n - 1] == ':')
		return 0;
	for (size_t i = 0; words[i] != NULL; i++)
		if (!strcasecmp(s, words[i]))
			return 0;
	/* anything YAML could read as a number stays a string by quoting it */
	(void)strtod(s, &end);
	if (*end == '\0')
		return 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b'))
		return 0;
	if (s[0] == '.' && (!strcasecmp(s, ".inf") || !strcasecmp(s, ".nan")))
		return 0;
	return 1;
}

static void
y_string(FILE *f, const char *s)
{
	if (y_plain_ok(s)) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\x%02x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void
y_scalar(FILE *f, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		y_string(f, json_string_value(v));
		break;
	case JSON_INTEGER:
		fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		fprintf(f, "%.17g", json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("true", f);
		break;
	case JSON_FALSE:
		fputs("false", f);
		break;
	default:
		fputs("null", f);
	}
}

static int
y_is_scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

/* Members written (names not starting with '#'). */
static size_t
y_members(const json_t *o)
{
	const char *k;
	json_t *v;
	size_t n = 0;

	json_object_foreach((json_t *)o, k, v)
		n += k[0] != '#';
	return n;
}

static void
y_indent(FILE *f, int n)
{
	for (int i = 0; i < n; i++)
		fputc(' ', f);
}

static void
y_comment(FILE *f, const json_t *o, int indent)
{
	const char *c = json_is_object(o) ? json_string_value(json_object_get(o, "#")) : NULL;

	while (c != NULL && *c) {
		const char *nl = strchr(c, '\n');
		size_t n = nl != NULL ? (size_t)(nl - c) : strlen(c);

		y_indent(f, indent);
		fprintf(f, "# %.*s\n", (int)n, c);
		c = nl != NULL ? nl + 1 : NULL;
	}
}

static void y_map(FILE *f, const json_t *o, int indent, int inline_first);
static void y_seq(FILE *f, const json_t *a, int indent);

/* A list of scalars on one line: [a, b]. */
static int
y_flow_ok(const json_t *a)
{
	size_t i, len = 0;
	json_t *v;

	json_array_foreach((json_t *)a, i, v) {
		if (!y_is_scalar(v))
			return 0;
		len += json_is_string(v) ? strlen(json_string_value(v)) + 2 : 8;
	}
	return len < 72;
}

/* The value after "key:" (or after "- " for nested lists). */
static void
y_value(FILE *f, const json_t *v, int indent)
{
	if (y_is_scalar(v)) {
		fputc(' ', f);
		y_scalar(f, v);
		fputc('\n', f);
	} else if (json_is_object(v)) {
		if (y_members(v) == 0) {
			fputs(" {}\n", f);
			return;
		}
		fputc('\n', f);
		y_comment(f, v, indent + 2);
		y_map(f, v, indent + 2, 0);
	} else if (json_array_size(v) == 0) {
		fputs(" []\n", f);
	} else if (y_flow_ok(v)) {
		size_t i;
		json_t *x;

		fputs(" [", f);
		json_array_foreach((json_t *)v, i, x) {
			if (i)
				fputs(", ", f);
			y_scalar(f, x);
		}
		fputs("]\n", f);
	} else {
		fputc('\n', f);
		y_seq(f, v, indent);
	}
}

static void
y_map(FILE *f, const json_t *o, int indent, int inline_first)
{
	const char *k;
	json_t *v;
	int first = 1;

	json_object_foreach((json_t *)o, k, v) {
		if (k[0] == '#')
			continue;
		if (!(first && inline_first))
			y_indent(f, indent);
		first = 0;
		y_string(f, k);
		fputc(':', f);
		y_value(f, v, indent);
	}
}

static void
y_seq(FILE *f, const json_t *a, int indent)
{
	size_t i;
	json_t *v;

	json_array_foreach((json_t *)a, i, v) {
		y_comment(f, v, indent);
		y_indent(f, indent);
		fputs("-", f);
		if (y_is_scalar(v)) {
			fputc(' ', f);
			y_scalar(f, v);
			fputc('\n', f);
		} else if (json_is_object(v)) {
			if (y_members(v) == 0) {
				fputs(" {}\n", f);
				continue;
			}
			fputc(' ', f);
			y_map(f, v, indent + 2, 1);
		} else if (json_array_size(v) == 0) {
			fputs(" []\n", f);
		} else {
			fputc('\n', f);
			y_seq(f, v, indent + 2);
		}
	}
}

char *
adv_yaml_dump(json_t *const *docs, size_t n, const char *header)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	while (header != NULL && *header) {
		const char *nl = strchr(header, '\n');
		size_t k = nl != NULL ? (size_t)(nl - header) : strlen(header);

		fprintf(f, "# %.*s\n", (int)k, header);
		header = nl != NULL ? nl + 1 : NULL;
	}
	for (size_t i = 0; i < n; i++) {
		fputs("---\n", f);
		y_comment(f, docs[i], 0);
		y_map(f, docs[i], 0, 0);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

json_t *
adv_strip_comments(const json_t *doc)
{
	if (json_is_object(doc)) {
		json_t *o = json_object();
		const char *k;
		json_t *v;

		json_object_foreach((json_t *)doc, k, v)
			if (k[0] != '#')
				json_object_set_new(o, k, adv_strip_comments(v));
		return o;
	}
	if (json_is_array(doc)) {
		json_t *a = json_array();
		size_t i;
		json_t *v;

		json_array_foreach((json_t *)doc, i, v)
			json_array_append_new(a, adv_strip_comments(v));
		return a;
	}
	return json_deep_copy(doc);
}
