/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/cmd_broad_rules.c - bulwark broad-rules: allow rules whose allowed
 * space far exceeds their use in the flow history (GET /v1/broad-rules, the
 * advisor module), each with the use seen and a tighter replacement
 * policy that keeps it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "output.h"
#include "adoption.h"

static void
broad_usage(FILE *f)
{
	fprintf(f,
"Usage: " CLI_PROG " broad-rules [--since DUR] [-o table|json]\n"
"\n"
"Find allow rules that allow far more than they were used for since DUR:\n"
"  - wide peers (any peer, the world, a /16 or wider, every pod of a namespace)\n"
"    used for a few peers only (an egress to 0.0.0.0/0:443 used for three DNS\n"
"    names; a namespace-wide allow used by one workload);\n"
"  - every port, or a range of 16 or more, used on a few ports only.\n"
"The use of a rule is what the daemon's resolver attributes to it (the rule\n"
"that decided each connection that worked). Each finding comes with a tighter\n"
"replacement policy (YAML) that allows exactly the peers and ports seen on the\n"
"wide side, checked by replaying the rule's connections through it.\n"
"\n"
"Options:\n"
"      --since DUR      the history to read (30m, 24h, 7d or a time;\n"
"                       default: the advisor module's window, 7d)\n"
"  -o, --output FMT     table (default: each rule, its use, its suggestion) or json\n"
"  -h, --help           show this help\n");
}

static void
broad_print(json_t *doc)
{
	json_t *rules = json_object_get(doc, "rules"), *r, *u, *why;
	size_t i, j;

	if (json_array_size(rules) == 0) {
		printf("No rule allows far more than it was used for since %s (%lld connections "
		       "checked).\n", cli_json_str(doc, "since", "?"),
		       (long long)json_integer_value(json_object_get(doc, "connections_checked")));
		return;
	}
	json_array_foreach(rules, i, r) {
		printf("%s%s %s %s\n", i ? "\n" : "", cli_json_str(r, "kind", "?"),
		       cli_json_str(r, "policy", "?"), cli_json_str(r, "rule", "?"));
		printf("  allows:  %s\n", cli_json_str(r, "allowed", "?"));
		json_array_foreach(json_object_get(r, "reasons"), j, why)
			printf("  broad:   %s\n", json_string_value(why));
		json_array_foreach(json_object_get(r, "used_by"), j, u)
			printf("  used by: %s -> %s %s/%lld (%lld)\n", cli_json_str(u, "source", "?"),
			       cli_json_str(u, "destination", "?"), cli_json_str(u, "protocol", "?"),
			       (long long)json_integer_value(json_object_get(u, "port")),
			       (long long)json_integer_value(json_object_get(u, "count")));
		if (json_is_false(json_object_get(r, "suggestion_checked")))
			printf("  CAUTION: the suggestion did not keep every use: %s\n",
			       cli_json_str(r, "suggestion_problem", "?"));
		printf("  suggestion:\n");
		for (const char *s = cli_json_str(r, "suggestion", ""); *s;) {
			const char *nl = strchr(s, '\n');
			size_t n = nl != NULL ? (size_t)(nl - s) : strlen(s);

			printf("    %.*s\n", (int)n, s);
			s = nl != NULL ? nl + 1 : s + n;
		}
	}
}

int
cmd_broad_rules(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, 'o' },
		{ "since", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	enum cli_format fmt = CLI_OUT_TABLE;
	const char *since = NULL;
	struct cli_path path;
	json_t *doc = NULL;
	int c, rc = 1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			broad_usage(stdout);
			return 0;
		case 'o':
			if (cli_output_parse("broad-rules", optarg, &fmt) < 0)
				return 2;
			break;
		case 's':
			if (cli_since_check("broad-rules", optarg))
				return 2;
			since = optarg;
			break;
		case ':':
			return cli_usage_error("broad-rules", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("broad-rules", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("broad-rules", "unexpected argument '%s'", argv[optind]);
	if (cli_path_begin(&path, "/v1/broad-rules") < 0)
		return 1;
	if (since != NULL)
		cli_path_param(&path, "since", since);
	if (cli_call("GET", cli_path_end(&path), NULL, &doc) == 200) {
		if (json_object_get(doc, "warning") != NULL)
			fprintf(stderr, CLI_PROG ": warning: %s\n", cli_json_str(doc, "warning", ""));
		if (fmt == CLI_OUT_JSON)
			cli_print_json(doc);
		else
			broad_print(doc);
		rc = 0;
	}
	json_decref(doc);
	cli_path_free(&path);
	return rc;
}
