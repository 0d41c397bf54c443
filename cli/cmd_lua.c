/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/cmd_lua.c - bulwark lua: the rule scripts bulwarkd runs (GET
 * /v1/lua), reloading one or all of them, disabling one; and bulwark
 * quarantine: the time-limited denies scripts (or operators) asked for
 * (GET/POST /v1/quarantines, DELETE /v1/quarantines/NS/NAME).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "output.h"

static void
lua_usage(FILE *f)
{
	fprintf(f,
		"Usage: " CLI_PROG " lua list [-o table|json]\n"
		"       " CLI_PROG " lua reload [NAME]\n"
		"       " CLI_PROG " lua disable NAME\n"
		"\n"
		"The Lua rule scripts of [lua] dir (docs/lua.md). A script is the\n"
		"file NAME.lua; bulwarkd watches the directory, so adding, editing or\n"
		"removing a file applies by itself.\n"
		"\n"
		"  list     every script: state, hooks, calls, failures, memory and\n"
		"           its last error. States: active; failed (disabled after\n"
		"           too many failures: its decisions answer [lua]\n"
		"           default_verdict); disabled (by `lua disable`: not asked);\n"
		"           error (its file does not load).\n"
		"  reload   read NAME (or every script) again now; enables a failed or\n"
		"           disabled script. A file that does not load is refused and\n"
		"           the running version stays (exit status 1).\n"
		"  disable  stop asking NAME, until it is reloaded.\n"
		"\n"
		"Options:\n"
		"  -o, --output FMT  table (default) or json (GET /v1/lua)\n"
		"  -h, --help        show this help\n");
}

static int
lua_list(enum cli_format fmt)
{
	static const char *const headers[] = {
		"NAME", "STATE", "HOOKS", "CALLS", "FAILURES", "MEMORY", "LAST ERROR", NULL,
	};
	json_t *doc = NULL, *list, *s, *h;
	struct cli_table *t;
	size_t i, j;

	if (cli_call("GET", "/v1/lua", NULL, &doc) != 200) {
		json_decref(doc);
		return 1;
	}
	if (fmt == CLI_OUT_JSON) {
		cli_print_json(doc);
		json_decref(doc);
		return 0;
	}
	list = json_object_get(doc, "scripts");
	if (!json_is_array(list) || json_array_size(list) == 0) {
		printf("no scripts in %s\n", cli_json_str(doc, "dir", "[lua] dir"));
		json_decref(doc);
		return 0;
	}
	t = cli_table_new(headers);
	json_array_foreach(list, i, s) {
		char hooks[256] = "", calls[32], fails[32], mem[32];
		size_t o = 0;
		long long m = json_integer_value(json_object_get(s, "memory_bytes"));

		json_array_foreach(json_object_get(s, "hooks"), j, h)
			o += (size_t)snprintf(hooks + o, o < sizeof(hooks) ? sizeof(hooks) - o : 0,
					      "%s%s", o ? "," : "", json_string_value(h));
		snprintf(calls, sizeof(calls), "%lld",
			 (long long)json_integer_value(json_object_get(s, "calls")));
		snprintf(fails, sizeof(fails), "%lld",
			 (long long)json_integer_value(json_object_get(s, "failures")));
		if (m >= 1024 * 1024)
			snprintf(mem, sizeof(mem), "%.1fM", m / 1048576.0);
		else
			snprintf(mem, sizeof(mem), "%lldk", (m + 1023) / 1024);
		{
			const char *row[] = {
				cli_json_str(s, "name", "-"), cli_json_str(s, "state", "-"),
				*hooks ? hooks : "-", calls, fails, m ? mem : "-",
				cli_json_str(s, "last_error", ""),
			};

			cli_table_row(t, row);
		}
	}
	cli_table_print(t, stdout);
	json_decref(doc);
	return 0;
}

static int
lua_reload(const char *name)
{
	json_t *doc = NULL, *e;
	char path[256];
	size_t i;
	int rc = 0;

	if (name != NULL)
		snprintf(path, sizeof(path), "/v1/lua/reload?name=%s", name);
	else
		snprintf(path, sizeof(path), "/v1/lua/reload");
	if (cli_call("POST", path, NULL, &doc) != 200) {
		json_decref(doc);
		return 1;
	}
	json_array_foreach(json_object_get(doc, "reloaded"), i, e)
		printf("reloaded %s\n", json_string_value(e));
	json_array_foreach(json_object_get(doc, "errors"), i, e) {
		fprintf(stderr, CLI_PROG ": %s: %s\n", cli_json_str(e, "name", "?"),
			cli_json_str(e, "error", "?"));
		rc = 1;
	}
	json_decref(doc);
	return rc;
}

static int
lua_disable(const char *name)
{
	json_t *doc = NULL;
	char path[256];

	snprintf(path, sizeof(path), "/v1/lua/disable?name=%s", name);
	if (cli_call("POST", path, NULL, &doc) != 200) {
		json_decref(doc);
		return 1;
	}
	printf("disabled %s\n", name);
	json_decref(doc);
	return 0;
}

static int
lua_name_ok(const char *n)
{
	if (*n == '\0' || strlen(n) > 63)
		return 0;
	for (; *n; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') ||
		      (*n >= '0' && *n <= '9') || *n == '_' || *n == '-' || *n == '.'))
			return 0;
	return 1;
}

int
cmd_lua(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum cli_format fmt = CLI_OUT_TABLE;
	const char *sub;
	int c;

	if (argc < 2) {
		lua_usage(stderr);
		return 2;
	}
	sub = argv[1];
	if (!strcmp(sub, "-h") || !strcmp(sub, "--help") || !strcmp(sub, "help")) {
		lua_usage(stdout);
		return 0;
	}
	optind = 0;
	opterr = 0;
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "+:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (cli_output_parse("lua", optarg, &fmt) < 0)
				return 2;
			break;
		case 'h':
			lua_usage(stdout);
			return 0;
		case ':':
			return cli_usage_error("lua", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("lua", "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (!strcmp(sub, "list")) {
		if (optind < argc)
			return cli_usage_error("lua", "list takes no argument");
		return lua_list(fmt);
	}
	if (!strcmp(sub, "reload") || !strcmp(sub, "disable")) {
		const char *name = optind < argc ? argv[optind] : NULL;

		if (optind + 1 < argc)
			return cli_usage_error("lua", "%s takes one script name", sub);
		if (name == NULL && !strcmp(sub, "disable"))
			return cli_usage_error("lua", "disable needs a script name");
		if (name != NULL && !lua_name_ok(name))
			return cli_usage_error("lua", "'%s' is not a script name (the "
					       "file name without .lua)", name);
		return !strcmp(sub, "reload") ? lua_reload(name) : lua_disable(name);
	}
	return cli_usage_error("lua", "unknown sub-command '%s'", sub);
}

/* ---- bulwark quarantine ----------------------------------------------------------- */

static void
quarantine_usage(FILE *f)
{
	fprintf(f,
		"Usage: " CLI_PROG " quarantine list [-o table|json]\n"
		"       " CLI_PROG " quarantine add NS/POD --peer CIDR --for DURATION [--reason TEXT]\n"
		"       " CLI_PROG " quarantine delete NS/NAME\n"
		"\n"
		"Quarantines: time-limited denies of a peer for one endpoint, both\n"
		"directions, pods in the CIDR included. Lua scripts ask for them with\n"
		"bulwark.quarantine() (docs/lua.md); each is a policy of kind\n"
		"Quarantine named quarantine-N in the endpoint's namespace, shown by\n"
		"`policy list`, `policy resolved` and `policy trace` like any policy.\n"
		"\n"
		"  list     the quarantines in force, who asked, why, time left\n"
		"  add      quarantine NS/POD from --peer (an address or CIDR;\n"
		"           0.0.0.0/0 for every IPv4 peer) for --for (30s, 5m, 2h;\n"
		"           at most 1d); returns when the datapath enforces it\n"
		"  delete   lift one now\n"
		"\n"
		"Options:\n"
		"  -o, --output FMT  table (default) or json\n"
		"  -h, --help        show this help\n");
}

/* "30s", "5m", "2h", "1d", "90" (seconds) -> seconds; -1 when bad. */
static long long
quarantine_duration(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (end == s || v <= 0)
		return -1;
	if (*end == '\0' || !strcmp(end, "s"))
		return v;
	if (!strcmp(end, "m"))
		return v * 60;
	if (!strcmp(end, "h"))
		return v * 3600;
	if (!strcmp(end, "d"))
		return v * 86400;
	return -1;
}

static int
quarantine_list(enum cli_format fmt)
{
	static const char *const headers[] = {
		"NAME", "ENDPOINT", "PEER", "LEFT", "BY", "REASON", NULL,
	};
	json_t *doc = NULL, *q;
	struct cli_table *t;
	size_t i;

	if (cli_call("GET", "/v1/quarantines", NULL, &doc) != 200) {
		json_decref(doc);
		return 1;
	}
	if (fmt == CLI_OUT_JSON) {
		cli_print_json(doc);
		json_decref(doc);
		return 0;
	}
	if (json_array_size(json_object_get(doc, "quarantines")) == 0) {
		printf("no quarantines\n");
		json_decref(doc);
		return 0;
	}
	t = cli_table_new(headers);
	json_array_foreach(json_object_get(doc, "quarantines"), i, q) {
		char name[256], ep[256], left[32];
		const char *row[6];

		snprintf(name, sizeof(name), "%s/%s", cli_json_str(q, "namespace", "?"),
			 cli_json_str(q, "name", "?"));
		snprintf(ep, sizeof(ep), "%s/%s", cli_json_str(q, "namespace", "?"),
			 cli_json_str(q, "pod", "?"));
		cli_format_duration(json_integer_value(json_object_get(q, "seconds_left")),
				    left, sizeof(left));
		row[0] = name;
		row[1] = ep;
		row[2] = cli_json_str(q, "peer", "-");
		row[3] = left;
		row[4] = cli_json_str(q, "by", "-");
		row[5] = cli_json_str(q, "reason", "");
		cli_table_row(t, row);
	}
	cli_table_print(t, stdout);
	json_decref(doc);
	return 0;
}

int
cmd_quarantine(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "peer", required_argument, NULL, 'p' },
		{ "for", required_argument, NULL, 'f' },
		{ "reason", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum cli_format fmt = CLI_OUT_TABLE;
	const char *sub, *peer = NULL, *reason = NULL;
	long long secs = 0;
	json_t *doc = NULL;
	char path[600];
	int c;

	if (argc < 2) {
		quarantine_usage(stderr);
		return 2;
	}
	sub = argv[1];
	if (!strcmp(sub, "-h") || !strcmp(sub, "--help") || !strcmp(sub, "help")) {
		quarantine_usage(stdout);
		return 0;
	}
	optind = 0;
	opterr = 0;
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (cli_output_parse("quarantine", optarg, &fmt) < 0)
				return 2;
			break;
		case 'p':
			peer = optarg;
			break;
		case 'f':
			secs = quarantine_duration(optarg);
			if (secs < 0)
				return cli_usage_error("quarantine", "--for '%s': expected "
						       "a duration like 30s, 5m, 2h", optarg);
			break;
		case 'r':
			reason = optarg;
			break;
		case 'h':
			quarantine_usage(stdout);
			return 0;
		case ':':
			return cli_usage_error("quarantine", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("quarantine", "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (!strcmp(sub, "list")) {
		if (optind < argc)
			return cli_usage_error("quarantine", "list takes no argument");
		return quarantine_list(fmt);
	}
	if (!strcmp(sub, "add")) {
		json_t *body;
		int st;

		if (optind + 1 != argc || strchr(argv[optind], '/') == NULL)
			return cli_usage_error("quarantine", "add needs one NS/POD");
		if (peer == NULL || secs == 0)
			return cli_usage_error("quarantine", "add needs --peer and --for");
		body = json_pack("{s:s, s:s, s:I, s:s}", "endpoint", argv[optind],
				 "peer", peer, "seconds", (json_int_t)secs, "reason",
				 reason != NULL ? reason : "added with bulwark quarantine add");
		st = cli_call("POST", "/v1/quarantines", body, &doc);
		json_decref(body);
		if (st != 200) {
			json_decref(doc);
			return 1;
		}
		printf("%s/%s\n", strchr(argv[optind], '/') ?
		       (snprintf(path, sizeof(path), "%.*s",
				 (int)(strchr(argv[optind], '/') - argv[optind]),
				 argv[optind]), path) : "",
		       cli_json_str(doc, "name", "?"));
		json_decref(doc);
		return 0;
	}
	if (!strcmp(sub, "delete")) {
		if (optind + 1 != argc || strchr(argv[optind], '/') == NULL)
			return cli_usage_error("quarantine", "delete needs one NS/NAME");
		snprintf(path, sizeof(path), "/v1/quarantines/%s", argv[optind]);
		if (cli_call("DELETE", path, NULL, &doc) != 200) {
			json_decref(doc);
			return 1;
		}
		printf("lifted %s\n", argv[optind]);
		json_decref(doc);
		return 0;
	}
	return cli_usage_error("quarantine", "unknown sub-command '%s'", sub);
}
