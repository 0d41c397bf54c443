/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/cmd_fqdn.c - bulwark fqdn cache [-o json] [--name PATTERN] and
 * bulwark fqdn cache clean [NAME|PATTERN]: the names and addresses the
 * FQDN module learned from DNS answers (GET / DELETE /v1/fqdn/cache).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "output.h"

static void fqdn_usage(FILE *f)
{
	fprintf(f,
		"Usage: " CLI_PROG " fqdn cache [--name PATTERN] [-o table|json]\n"
		"       " CLI_PROG " fqdn cache clean [NAME|PATTERN]\n"
		"\n"
		"The DNS cache behind toFQDNs policy: every name a workload resolved\n"
		"through the DNS proxy, the addresses of the answer, the FQDN identity\n"
		"each address is mapped to (0: no toFQDNs selector matches its names),\n"
		"the answer's TTL and when the pair expires. An expired pair stays while\n"
		"a connection to the address lives (STATE 'kept'), so an established\n"
		"connection is never cut by a TTL.\n"
		"\n"
		"'clean' forgets every pair (or those whose name matches NAME, or a\n"
		"pattern such as '*.example.com', with toFQDNs wildcard rules): their\n"
		"addresses are no longer allowed until they are resolved again, and\n"
		"connections to them are cut.\n"
		"\n"
		"Options:\n"
		"      --name PATTERN  only names matching PATTERN\n"
		"  -o, --output FMT    table (default) or json\n"
		"  -h, --help          show this help\n");
}

/* name=PATTERN query string (the pattern's characters need no escaping) */
static int fqdn_path(char *buf, size_t len, const char *pattern)
{
	if (!pattern || !*pattern)
		return snprintf(buf, len, "/v1/fqdn/cache") >= (int)len ? -1 : 0;
	for (const char *p = pattern; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.*", *p))
			return -1;
	return snprintf(buf, len, "/v1/fqdn/cache?name=%s", pattern) >= (int)len ? -1 : 0;
}

static int fqdn_clean(int argc, char **argv)
{
	char path[512];
	json_t *doc = NULL;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fqdn_usage(stdout);
		return 0;
	}
	if (argc > 2)
		return cli_usage_error("fqdn cache clean", "unexpected argument '%s'", argv[2]);
	if (fqdn_path(path, sizeof(path), argc > 1 ? argv[1] : NULL) < 0)
		return cli_usage_error("fqdn cache clean",
				       "'%s' is not a name or pattern (letters, digits, '-', '_', '.', '*')",
				       argv[1]);
	if (cli_call("DELETE", path, NULL, &doc) != 200) {
		json_decref(doc);
		return 1;
	}
	printf("removed %lld cache entries\n",
	       (long long)json_integer_value(json_object_get(doc, "removed")));
	json_decref(doc);
	return 0;
}

static void fqdn_print_table(json_t *doc)
{
	static const char *const headers[] = { "NAME", "IP", "IDENTITY", "TTL", "EXPIRES",
					       "STATE", "ENDPOINTS", NULL };
	json_t *list = json_object_get(doc, "entries"), *e, *sels;
	struct cli_table *t = cli_table_new(headers);
	size_t i;

	json_array_foreach(list, i, e) {
		char id[32], ttl[32], exp[32], eps[128] = "";
		json_t *ev = json_object_get(e, "endpoints"), *x;
		long long left = json_integer_value(json_object_get(e, "expires_in_s"));
		int zombie = json_is_true(json_object_get(e, "zombie"));
		size_t k;
		const char *row[8];

		snprintf(id, sizeof(id), "%lld",
			 (long long)json_integer_value(json_object_get(e, "identity")));
		snprintf(ttl, sizeof(ttl), "%llds",
			 (long long)json_integer_value(json_object_get(e, "ttl")));
		if (left > 0)
			cli_format_duration(left, exp, sizeof(exp));
		else
			snprintf(exp, sizeof(exp), "expired");
		json_array_foreach(ev, k, x) {
			size_t l = strlen(eps);

			snprintf(eps + l, sizeof(eps) - l, "%s%lld", k ? "," : "",
				 (long long)json_integer_value(x));
		}
		row[0] = cli_json_str(e, "name", "?");
		row[1] = cli_json_str(e, "ip", "?");
		row[2] = id;
		row[3] = ttl;
		row[4] = exp;
		row[5] = zombie ? "kept" : left > 0 ? "fresh" : "expiring";
		row[6] = eps[0] ? eps : "-";
		row[7] = NULL;
		cli_table_row(t, row);
	}
	cli_table_print(t, stdout);
	sels = json_object_get(doc, "selectors");
	if (json_array_size(sels)) {
		printf("\ntoFQDNs selectors in use:");
		json_array_foreach(sels, i, e)
			printf(" %s", json_string_value(e));
		printf("\n");
	}
}

static int fqdn_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "name", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum cli_format fmt = CLI_OUT_TABLE;
	const char *name = NULL;
	char path[512];
	json_t *doc = NULL;
	int c;

	if (argc > 1 && !strcmp(argv[1], "clean"))
		return fqdn_clean(argc - 1, argv + 1);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (cli_output_parse("fqdn cache", optarg, &fmt) < 0)
				return 2;
			break;
		case 'N':
			name = optarg;
			break;
		case 'h':
			fqdn_usage(stdout);
			return 0;
		case ':':
			return cli_usage_error("fqdn cache", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("fqdn cache", "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("fqdn cache", "unexpected argument '%s' (did you mean 'clean'?)",
				       argv[optind]);
	if (fqdn_path(path, sizeof(path), name) < 0)
		return cli_usage_error("fqdn cache",
				       "--name: '%s' is not a name or pattern (letters, digits, '-', '_', '.', '*')",
				       name);
	if (cli_call("GET", path, NULL, &doc) != 200) {
		json_decref(doc);
		return 1;
	}
	if (fmt == CLI_OUT_JSON)
		cli_print_json(doc);
	else
		fqdn_print_table(doc);
	json_decref(doc);
	return 0;
}

int cmd_fqdn(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub) {
		fqdn_usage(stderr);
		return 2;
	}
	if (!strcmp(sub, "-h") || !strcmp(sub, "--help") || !strcmp(sub, "help")) {
		fqdn_usage(stdout);
		return 0;
	}
	if (!strcmp(sub, "cache"))
		return fqdn_list(argc - 1, argv + 1);
	return cli_usage_error("fqdn", "unknown command '%s' (cache, cache clean)", sub);
}
