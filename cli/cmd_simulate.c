/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/cmd_simulate.c - bulwark simulate: what-if replay of the flow history
 * against a candidate policy set (POST /v1/simulate, the advisor module).
 * The daemon resolves the current set and the candidate with its own
 * resolver, apart from the datapath, and looks every connection of the
 * window up in both with the datapath's decision; the answer is the
 * difference: connections the candidate would drop, and connections it
 * would let through that are dropped now.
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
simulate_usage(FILE *f)
{
	fprintf(f,
"Usage: " CLI_PROG " simulate -f FILE [--replace] [--since DUR] [--limit N]\n"
"                [-o table|json]\n"
"\n"
"Replay the flow history against the policies in force plus those of FILE\n"
"(YAML or JSON documents, as `policy import` reads them; - for stdin), or with\n"
"--replace against what `policy replace FILE` would leave (FILE instead of the\n"
"API-managed policies; those of policy.dir files stay). The daemon resolves\n"
"both sets with the resolver that programs the datapath, without changing\n"
"anything it enforces, and looks each connection seen since DUR up in both.\n"
"Listed: the connections the candidate would drop that pass now (NEWLY\n"
"DROPPED), and those it would let through that are dropped now (NEWLY\n"
"ALLOWED); connections that cannot be replayed (a workload gone from the node)\n"
"are counted and named.\n"
"\n"
"Options:\n"
"  -f, --file FILE      the candidate policies (required)\n"
"      --replace        the candidate replaces the API-managed set\n"
"      --since DUR      the history to replay (30m, 24h, 7d or a time;\n"
"                       default: the advisor module's window, 7d)\n"
"      --limit N        list at most N connections of each kind, the busiest\n"
"                       (default 1000; 0: all); the totals count them all\n"
"  -o, --output FMT     table (default) or json\n"
"  -h, --help           show this help\n");
}

static void
simulate_table(json_t *list, const char *title, int dropped)
{
	static const char *const hdr[] = {
		"SOURCE", "DESTINATION", "PORT", "DIRECTION", "COUNT", "LAST SEEN", "WHY", NULL,
	};
	struct cli_table *t;
	size_t i;
	json_t *v;

	printf("%s (%zu)\n", title, json_array_size(list));
	if (json_array_size(list) == 0) {
		printf("  none\n");
		return;
	}
	t = cli_table_new(hdr);
	json_array_foreach(list, i, v) {
		char port[48], count[32], tb[32];
		const char *row[7];

		snprintf(port, sizeof(port), "%s/%lld", cli_json_str(v, "protocol", "?"),
			 (long long)json_integer_value(json_object_get(v, "port")));
		snprintf(count, sizeof(count), "%lld",
			 (long long)json_integer_value(json_object_get(v, "count")));
		row[0] = cli_json_str(v, "source", "?");
		row[1] = cli_json_str(v, "destination", "?");
		row[2] = port;
		row[3] = cli_json_str(v, "direction", "?");
		row[4] = count;
		row[5] = cli_short_time(cli_json_str(v, "last_seen", NULL), tb, sizeof(tb));
		row[6] = cli_json_str(v, dropped ? "reason" : "was", "-");
		cli_table_row(t, row);
	}
	cli_table_print(t, stdout);
}

int
cmd_simulate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, 'o' },
		{ "file", required_argument, NULL, 'f' },
		{ "replace", no_argument, NULL, 'r' },
		{ "since", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	enum cli_format fmt = CLI_OUT_TABLE;
	const char *file = NULL, *since = NULL, *limit = NULL;
	int replace = 0, c, rc = 1;
	struct cli_path path;
	json_t *doc = NULL, *v;
	char *data;
	size_t len = 0, i;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:f:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			simulate_usage(stdout);
			return 0;
		case 'o':
			if (cli_output_parse("simulate", optarg, &fmt) < 0)
				return 2;
			break;
		case 'f':
			file = optarg;
			break;
		case 'r':
			replace = 1;
			break;
		case 's':
			if (cli_since_check("simulate", optarg))
				return 2;
			since = optarg;
			break;
		case 'l':
			if (optarg[0] == '\0' || strspn(optarg, "0123456789") != strlen(optarg))
				return cli_usage_error("simulate", "--limit %s: give a number (0: all)",
						       optarg);
			limit = optarg;
			break;
		case ':':
			return cli_usage_error("simulate", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("simulate", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("simulate", "unexpected argument '%s'", argv[optind]);
	if (file == NULL || *file == '\0')
		return cli_usage_error("simulate", "-f FILE: give the candidate policies (- for stdin)");
	if ((data = cli_read_input(file, &len)) == NULL)
		return 1;
	if (strspn(data, " \t\r\n") == len) {
		free(data);
		fprintf(stderr, CLI_PROG ": simulate: %s holds no policy\n", file);
		return 1;
	}
	if (cli_path_begin(&path, "/v1/simulate") < 0) {
		free(data);
		return 1;
	}
	if (replace)
		cli_path_param(&path, "replace", "true");
	cli_path_param(&path, "source", strcmp(file, "-") ? file : "stdin");
	if (since != NULL)
		cli_path_param(&path, "since", since);
	if (limit != NULL)
		cli_path_param(&path, "limit", limit);
	if (cli_call_raw("POST", cli_path_end(&path), "application/yaml", data, len, &doc) == 200) {
		if (json_object_get(doc, "warning") != NULL)
			fprintf(stderr, CLI_PROG ": warning: %s\n", cli_json_str(doc, "warning", ""));
		if (fmt == CLI_OUT_JSON) {
			cli_print_json(doc);
		} else {
			simulate_table(json_object_get(doc, "newly_dropped"), "NEWLY DROPPED", 1);
			printf("\n");
			simulate_table(json_object_get(doc, "newly_allowed"), "NEWLY ALLOWED", 0);
			if ((size_t)json_integer_value(json_object_get(doc, "newly_dropped_total")) >
				    json_array_size(json_object_get(doc, "newly_dropped")) ||
			    (size_t)json_integer_value(json_object_get(doc, "newly_allowed_total")) >
				    json_array_size(json_object_get(doc, "newly_allowed")))
				printf("\n(the busiest listed: %lld newly dropped and %lld newly allowed "
				       "in all; --limit 0 lists every one)\n",
				       (long long)json_integer_value(json_object_get(doc, "newly_dropped_total")),
				       (long long)json_integer_value(json_object_get(doc, "newly_allowed_total")));
			printf("\nreplayed %lld of %lld distinct connections seen since %s",
			       (long long)json_integer_value(json_object_get(doc, "replayed")),
			       (long long)(json_integer_value(json_object_get(doc, "replayed")) +
					   json_integer_value(json_object_get(doc, "not_replayed_count"))),
			       cli_json_str(doc, "since", "?"));
			printf("%s\n", replace ? " (the candidate replacing the API-managed set)"
					       : " (the candidate added to the policies in force)");
			json_array_foreach(json_object_get(doc, "not_replayed"), i, v)
				if (i < 10)
					printf("not replayed: %s -> %s %s/%lld: %s\n",
					       cli_json_str(v, "source", "?"),
					       cli_json_str(v, "destination", "?"),
					       cli_json_str(v, "protocol", "?"),
					       (long long)json_integer_value(json_object_get(v, "port")),
					       cli_json_str(v, "reason", "?"));
		}
		rc = 0;
	}
	json_decref(doc);
	cli_path_free(&path);
	free(data);
	return rc;
}
