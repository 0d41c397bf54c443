/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/cmd_identity.c - bulwark identity list: the security identities
 * bulwarkd knows (reserved ones, endpoint identities, node-local CIDR
 * identities), their labels and how many users reference them.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "output.h"

static void identity_usage(FILE *f)
{
	fprintf(f,
		"Usage: " CLI_PROG " identity list [-o table|json]\n"
		"\n"
		"List the security identities: the reserved ones (1-11, Cilium's\n"
		"numbers), endpoint identities (256 and up, one per distinct set of\n"
		"security-relevant labels) and node-local CIDR/FQDN identities (16777217\n"
		"and up). REFS counts the endpoints or policy peers using an identity.\n"
		"Labels are printed one per line, as `cilium identity list` does.\n"
		"\n"
		"Options:\n"
		"  -o, --output FMT  table (default) or json\n"
		"  -h, --help        show this help\n");
}

static int identity_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const headers[] = { "ID", "SCOPE", "REFS", "LABELS", NULL };
	enum cli_format fmt = CLI_OUT_TABLE;
	json_t *doc = NULL, *list, *id;
	struct cli_table *t;
	size_t i;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (cli_output_parse("identity list", optarg, &fmt) < 0)
				return 2;
			break;
		case 'h':
			identity_usage(stdout);
			return 0;
		case ':':
			return cli_usage_error("identity list", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("identity list", "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("identity list", "unexpected argument '%s'",
				       argv[optind]);
	if (cli_call("GET", "/v1/identities", NULL, &doc) != 200) {
		json_decref(doc);
		return 1;
	}
	if (fmt == CLI_OUT_JSON) {
		cli_print_json(doc);
		json_decref(doc);
		return 0;
	}
	list = json_object_get(doc, "identities");
	t = cli_table_new(headers);
	json_array_foreach(list, i, id) {
		json_t *labels = json_object_get(id, "labels");
		char num[32], refs[32];
		size_t j;

		snprintf(num, sizeof(num), "%lld",
			 (long long)json_integer_value(json_object_get(id, "id")));
		snprintf(refs, sizeof(refs), "%lld",
			 (long long)json_integer_value(json_object_get(id, "refs")));
		for (j = 0; j < json_array_size(labels) || j == 0; j++) {
			const char *l = json_string_value(json_array_get(labels, j));
			const char *row[] = {
				j ? "" : num,
				j ? "" : cli_json_str(id, "scope", "?"),
				j ? "" : refs,
				l ? l : "-",
			};

			cli_table_row(t, row);
		}
	}
	cli_table_print(t, stdout);
	json_decref(doc);
	return 0;
}

int cmd_identity(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub) {
		identity_usage(stderr);
		return 2;
	}
	if (!strcmp(sub, "-h") || !strcmp(sub, "--help") || !strcmp(sub, "help")) {
		identity_usage(stdout);
		return 0;
	}
	if (!strcmp(sub, "list"))
		return identity_list(argc - 1, argv + 1);
	return cli_usage_error("identity", "unknown command '%s' (list)", sub);
}
