/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/cmd_modules.c - bulwark modules: the module instances bulwarkd has,
 * their state (running, disabled, failed) and, for those not running, why.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "output.h"

static void
modules_usage(FILE *f)
{
	fprintf(f,
		"Usage: " CLI_PROG " modules [-o table|json]\n"
		"\n"
		"List bulwarkd's module instances (one per daemon.modules entry):\n"
		"instance, module, version, state and, for an instance that is not\n"
		"running, the reason. States: running; disabled (its init or start\n"
		"failed); failed (the file was refused: missing, not a module, built\n"
		"for another module ABI, ...).\n"
		"\n"
		"Options:\n"
		"  -o, --output FMT  table (default) or json (with file and description)\n"
		"  -h, --help        show this help\n");
}

int
cmd_modules(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const headers[] = {
		"INSTANCE", "MODULE", "VERSION", "STATE", "DETAIL", NULL,
	};
	enum cli_format fmt = CLI_OUT_TABLE;
	struct cli_table *t;
	json_t *doc = NULL, *list, *m;
	size_t i;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (cli_output_parse("modules", optarg, &fmt) < 0)
				return 2;
			break;
		case 'h':
			modules_usage(stdout);
			return 0;
		case ':':
			return cli_usage_error("modules", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("modules", "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("modules", "unexpected argument '%s'",
				       argv[optind]);
	if (cli_call("GET", "/v1/modules", NULL, &doc) != 200) {
		json_decref(doc);
		return 1;
	}
	if (fmt == CLI_OUT_JSON) {
		cli_print_json(doc);
		json_decref(doc);
		return 0;
	}
	list = json_object_get(doc, "modules");
	if (!json_is_array(list) || json_array_size(list) == 0) {
		printf("no modules (daemon.modules is empty)\n");
		json_decref(doc);
		return 0;
	}
	t = cli_table_new(headers);
	json_array_foreach(list, i, m) {
		const char *state = cli_json_str(m, "state", "-");
		const char *detail = strcmp(state, "running") ?
			cli_json_str(m, "error", NULL) :
			cli_json_str(m, "description", NULL);
		const char *row[] = {
			cli_json_str(m, "instance", "-"),
			cli_json_str(m, "module", "-"),
			cli_json_str(m, "version", "-"),
			state,
			detail != NULL ? detail : "",
		};

		cli_table_row(t, row);
	}
	cli_table_print(t, stdout);
	json_decref(doc);
	return 0;
}
