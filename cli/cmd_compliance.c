/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/cmd_compliance.c - bulwark compliance: the proof that default deny is
 * enforced, per endpoint and direction (GET /v1/compliance, the flowstore
 * module): whether the endpoint is default-deny, in enforce or audit mode,
 * because of which policies, how many connections were denied in the
 * window, and which staged policies would make it default-deny.
 * Endpoints that no policy selects come first: they are the gap.
 *
 * Outputs: a table, the daemon's JSON, a Markdown report, and an HTML
 * report: one self-contained page (inline style, no script, no external
 * resource) a security team can attach to an audit.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "output.h"
#include "adoption.h"

enum comp_fmt { COMP_TABLE, COMP_JSON, COMP_MARKDOWN, COMP_HTML };

static void
compliance_usage(FILE *f)
{
	fprintf(f,
"Usage: " CLI_PROG " compliance [--namespace NS] [--since DUR] [-o table|json|markdown|html]\n"
"\n"
"Prove that default deny is enforced: for every endpoint on this node and\n"
"each direction, whether it is default-deny (what no policy allows is\n"
"dropped), in enforce or audit mode (audit: would-be drops pass and are\n"
"recorded as AUDIT), by which policies, how many connections were denied\n"
"(and audited) since DUR ago, and which staged policies would make it\n"
"default-deny. Read from the policy the kernel enforces now. Endpoints that\n"
"no policy selects (mode none: everything is allowed) come first.\n"
"\n"
"Options:\n"
"  -n, --namespace NS   only the endpoints of this namespace\n"
"      --since DUR      the window of the denied counts (30m, 24h, 7d or a\n"
"                       time; default: the flowstore module's window, 24h)\n"
"  -o, --output FMT     table (default), json, markdown, or html (a\n"
"                       self-contained report page)\n"
"  -h, --help           show this help\n");
}

struct comp_summary {
	int endpoints;
	int dd[2], enforce[2], audit[2], staged[2];
	long long denied[2];
};

static void
comp_summarise(json_t *doc, struct comp_summary *s)
{
	json_t *e;
	size_t i;

	memset(s, 0, sizeof(*s));
	json_array_foreach(json_object_get(doc, "endpoints"), i, e) {
		s->endpoints++;
		for (int d = 0; d < 2; d++) {
			json_t *x = json_object_get(e, d ? "egress" : "ingress");
			const char *m = cli_json_str(x, "mode", "none");

			s->dd[d] += json_is_true(json_object_get(x, "default_deny"));
			s->enforce[d] += !strcmp(m, "enforce");
			s->audit[d] += !strcmp(m, "audit");
			s->staged[d] += json_array_size(json_object_get(x, "staged")) > 0;
			s->denied[d] += json_integer_value(json_object_get(x, "denied"));
		}
	}
}

static const char *
comp_dir_text(json_t *x, char *buf, size_t len)
{
	const char *m = cli_json_str(x, "mode", "none");

	if (json_array_size(json_object_get(x, "staged")) > 0 && !strcmp(m, "none"))
		snprintf(buf, len, "none (staged)");
	else
		snprintf(buf, len, "%s", m);
	return buf;
}

static void
comp_table(json_t *doc)
{
	static const char *const headers[] = {
		"ENDPOINT", "INGRESS", "EGRESS", "DENIED IN/OUT", "INGRESS POLICIES",
		"EGRESS POLICIES", "STAGED", NULL,
	};
	struct cli_table *t = cli_table_new(headers);
	struct comp_summary s;
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(doc, "endpoints"), i, e) {
		json_t *in = json_object_get(e, "ingress"), *out = json_object_get(e, "egress");
		char a[64], b[64], den[64], pi[1024], pe[1024], st[1024], st2[1024];
		const char *row[7];

		snprintf(den, sizeof(den), "%lld/%lld",
			 (long long)json_integer_value(json_object_get(in, "denied")),
			 (long long)json_integer_value(json_object_get(out, "denied")));
		row[0] = cli_json_str(e, "endpoint", "?");
		row[1] = comp_dir_text(in, a, sizeof(a));
		row[2] = comp_dir_text(out, b, sizeof(b));
		row[3] = den;
		row[4] = cli_join(json_object_get(in, "policies"), ", ", pi, sizeof(pi));
		row[5] = cli_join(json_object_get(out, "policies"), ", ", pe, sizeof(pe));
		cli_join(json_object_get(in, "staged"), ", ", st, sizeof(st));
		cli_join(json_object_get(out, "staged"), ", ", st2, sizeof(st2));
		row[6] = strcmp(st, "-") ? st : st2;
		cli_table_row(t, row);
	}
	cli_table_print(t, stdout);
	comp_summarise(doc, &s);
	printf("\nDefault deny: ingress %d/%d endpoints (enforce %d, audit %d), "
	       "egress %d/%d (enforce %d, audit %d); denied since %s: %lld in, %lld out\n",
	       s.dd[0], s.endpoints, s.enforce[0], s.audit[0], s.dd[1], s.endpoints,
	       s.enforce[1], s.audit[1], cli_json_str(doc, "since", "?"), s.denied[0],
	       s.denied[1]);
}

/* Markdown: escape the characters that would break a table cell. */
static void
md_put(FILE *f, const char *s)
{
	for (; s != NULL && *s; s++) {
		if (*s == '|' || *s == '\\' || *s == '*' || *s == '_' || *s == '`')
			fputc('\\', f);
		fputc(*s, f);
	}
}

static void
md_list(FILE *f, json_t *arr)
{
	json_t *v;
	size_t i;

	if (json_array_size(arr) == 0) {
		fputs("-", f);
		return;
	}
	json_array_foreach(arr, i, v) {
		if (i)
			fputs(", ", f);
		md_put(f, json_string_value(v));
	}
}

static void
comp_markdown(json_t *doc)
{
	struct comp_summary s;
	json_t *e;
	size_t i;

	comp_summarise(doc, &s);
	printf("# Default-deny compliance report\n\n");
	printf("- Generated: %s\n", cli_json_str(doc, "generated", "?"));
	printf("- Denied connections counted since: %s\n", cli_json_str(doc, "since", "?"));
	printf("- Endpoints: %d\n", s.endpoints);
	printf("- Ingress default deny: %d of %d (enforce %d, audit %d)\n", s.dd[0],
	       s.endpoints, s.enforce[0], s.audit[0]);
	printf("- Egress default deny: %d of %d (enforce %d, audit %d)\n", s.dd[1],
	       s.endpoints, s.enforce[1], s.audit[1]);
	if (json_object_get(doc, "warning") != NULL)
		printf("- Warning: %s\n", cli_json_str(doc, "warning", ""));
	printf("\nSource: the policy bulwarkd enforces in the kernel when the report was\n"
	       "made; mode \"none\" means no policy selects the endpoint in that direction\n"
	       "and every connection is allowed.\n\n");
	printf("| Endpoint | Direction | Default deny | Mode | Policies | Denied | Audited | Staged |\n");
	printf("| --- | --- | --- | --- | --- | ---: | ---: | --- |\n");
	json_array_foreach(json_object_get(doc, "endpoints"), i, e)
		for (int d = 0; d < 2; d++) {
			json_t *x = json_object_get(e, d ? "egress" : "ingress");

			printf("| ");
			md_put(stdout, cli_json_str(e, "endpoint", "?"));
			printf(" | %s | %s | %s | ", d ? "egress" : "ingress",
			       json_is_true(json_object_get(x, "default_deny")) ? "yes" : "**no**",
			       cli_json_str(x, "mode", "none"));
			md_list(stdout, json_object_get(x, "policies"));
			printf(" | %lld | %lld | ",
			       (long long)json_integer_value(json_object_get(x, "denied")),
			       (long long)json_integer_value(json_object_get(x, "audited")));
			md_list(stdout, json_object_get(x, "staged"));
			printf(" |\n");
		}
}

static void
html_put(FILE *f, const char *s)
{
	for (; s != NULL && *s; s++)
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
}

static void
html_list(FILE *f, json_t *arr)
{
	json_t *v;
	size_t i;

	if (json_array_size(arr) == 0) {
		fputs("&ndash;", f);
		return;
	}
	json_array_foreach(arr, i, v) {
		if (i)
			fputs("<br>", f);
		html_put(f, json_string_value(v));
	}
}

static void
comp_html(json_t *doc)
{
	struct comp_summary s;
	json_t *e;
	size_t i;

	comp_summarise(doc, &s);
	printf("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	       "<title>Default-deny compliance report</title>\n<style>\n"
	       "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\n"
	       "h1{font-size:1.5em}table{border-collapse:collapse;width:100%%}\n"
	       "th,td{border:1px solid #bbb;padding:.3em .5em;text-align:left;vertical-align:top}\n"
	       "th{background:#eee}td.n{text-align:right}\n"
	       ".none{background:#fdd}.audit{background:#ffd}.enforce{background:#dfd}\n"
	       "dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}\n"
	       "</style>\n</head>\n<body>\n<h1>Default-deny compliance report</h1>\n<dl>\n");
	printf("<dt>Generated</dt><dd>");
	html_put(stdout, cli_json_str(doc, "generated", "?"));
	printf("</dd>\n<dt>Denied connections counted since</dt><dd>");
	html_put(stdout, cli_json_str(doc, "since", "?"));
	printf("</dd>\n<dt>Endpoints</dt><dd>%d</dd>\n", s.endpoints);
	printf("<dt>Ingress default deny</dt><dd>%d of %d (enforce %d, audit %d)</dd>\n",
	       s.dd[0], s.endpoints, s.enforce[0], s.audit[0]);
	printf("<dt>Egress default deny</dt><dd>%d of %d (enforce %d, audit %d)</dd>\n",
	       s.dd[1], s.endpoints, s.enforce[1], s.audit[1]);
	if (json_object_get(doc, "warning") != NULL) {
		printf("<dt>Warning</dt><dd>");
		html_put(stdout, cli_json_str(doc, "warning", ""));
		printf("</dd>\n");
	}
	printf("</dl>\n<p>Read from the policy bulwarkd enforced in the kernel when the report "
	       "was made. Mode <em>none</em>: no policy selects the endpoint in that "
	       "direction and every connection is allowed; <em>audit</em>: would-be drops "
	       "pass and are recorded; <em>enforce</em>: what no policy allows is dropped.</p>\n");
	printf("<table>\n<thead><tr><th>Endpoint</th><th>Direction</th><th>Default deny</th>"
	       "<th>Mode</th><th>Policies</th><th>Denied</th><th>Audited</th><th>Staged</th>"
	       "</tr></thead>\n<tbody>\n");
	json_array_foreach(json_object_get(doc, "endpoints"), i, e)
		for (int d = 0; d < 2; d++) {
			json_t *x = json_object_get(e, d ? "egress" : "ingress");
			const char *m = cli_json_str(x, "mode", "none");

			printf("<tr class=\"%s\"><td>", !strcmp(m, "enforce") ? "enforce"
							: !strcmp(m, "audit") ? "audit" : "none");
			html_put(stdout, cli_json_str(e, "endpoint", "?"));
			printf("</td><td>%s</td><td>%s</td><td>", d ? "egress" : "ingress",
			       json_is_true(json_object_get(x, "default_deny")) ? "yes" : "no");
			html_put(stdout, m);
			printf("</td><td>");
			html_list(stdout, json_object_get(x, "policies"));
			printf("</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td>",
			       (long long)json_integer_value(json_object_get(x, "denied")),
			       (long long)json_integer_value(json_object_get(x, "audited")));
			html_list(stdout, json_object_get(x, "staged"));
			printf("</td></tr>\n");
		}
	printf("</tbody>\n</table>\n</body>\n</html>\n");
}

int
cmd_compliance(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, 'o' },
		{ "since", required_argument, NULL, 's' },
		{ "namespace", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	enum comp_fmt fmt = COMP_TABLE;
	const char *since = NULL, *ns = NULL;
	struct cli_path path;
	json_t *doc = NULL;
	int c, rc = 1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:n:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			compliance_usage(stdout);
			return 0;
		case 'n':
			if (optarg[0] == '\0')
				return cli_usage_error("compliance", "--namespace: give a namespace");
			ns = optarg;
			break;
		case 'o':
			if (!strcmp(optarg, "table"))
				fmt = COMP_TABLE;
			else if (!strcmp(optarg, "json"))
				fmt = COMP_JSON;
			else if (!strcmp(optarg, "markdown") || !strcmp(optarg, "md"))
				fmt = COMP_MARKDOWN;
			else if (!strcmp(optarg, "html"))
				fmt = COMP_HTML;
			else
				return cli_usage_error("compliance", "-o: unknown output '%s' "
						       "(table, json, markdown, html)", optarg);
			break;
		case 's':
			if (cli_since_check("compliance", optarg))
				return 2;
			since = optarg;
			break;
		case ':':
			return cli_usage_error("compliance", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("compliance", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("compliance", "unexpected argument '%s'", argv[optind]);
	if (cli_path_begin(&path, "/v1/compliance") < 0)
		return 1;
	if (ns != NULL)
		cli_path_param(&path, "namespace", ns);
	if (since != NULL)
		cli_path_param(&path, "since", since);
	if (cli_call("GET", cli_path_end(&path), NULL, &doc) == 200) {
		if (json_object_get(doc, "warning") != NULL && fmt != COMP_JSON)
			fprintf(stderr, CLI_PROG ": warning: %s\n", cli_json_str(doc, "warning", ""));
		switch (fmt) {
		case COMP_JSON: cli_print_json(doc); break;
		case COMP_MARKDOWN: comp_markdown(doc); break;
		case COMP_HTML: comp_html(doc); break;
		default: comp_table(doc); break;
		}
		rc = 0;
	}
	json_decref(doc);
	cli_path_free(&path);
	return rc;
}
