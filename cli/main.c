/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/main.c - bulwark, the command-line client of bulwarkd.
 *
 * Global options come before the verb: -s/--socket (or BULWARK_SOCKET)
 * names the daemon's control socket. The verb table below is the one place
 * a new verb is added: one line with its function (declared in cli/cli.h)
 * and a one-line summary for `bulwark --help`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "output.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

static const struct cli_verb verbs[] = {
	{ "status", cmd_status, "show whether bulwarkd is up and ready" },
	{ "modules", cmd_modules, "list module instances, their state and errors" },
	{ "observe", cmd_observe, "show flows (Hubble-compatible), -f to follow" },
	{ "endpoint", cmd_endpoint, "add, update, delete and list endpoints (workloads)" },
	{ "namespace", cmd_namespace, "set and list namespace labels and audit mode" },
	{ "identity", cmd_identity, "list security identities and their labels" },
	{ "policy", cmd_policy, "import, list, delete policies; trace and resolved verdicts" },
	{ "map", cmd_map, "service map: who talks to whom (table, json, dot, svg)" },
	{ "fqdn", cmd_fqdn, "the DNS cache behind toFQDNs policy: list, clean" },
	{ "lua", cmd_lua, "Lua rule scripts: list, reload, disable" },
	{ "quarantine", cmd_quarantine, "time-limited denies of a peer: list, add, delete" },
	{ "history", cmd_history, "durable flow history: who talked to whom, allowed or denied" },
	{ "exposure", cmd_exposure, "risk exposure per namespace: allowed paths, used or not" },
	{ "compliance", cmd_compliance, "default-deny proof per endpoint (table, json, markdown, html)" },
	{ "recommend", cmd_recommend, "policies from the flow history: baseline + per namespace" },
	{ "simulate", cmd_simulate, "replay the flow history against candidate policies" },
	{ "broad-rules", cmd_broad_rules, "rules that allow far more than they were used for" },
	/* One line per verb; keep the order of `bulwark --help`. */
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: " CLI_PROG " [-s SOCKET] VERB [ARGS...]\n"
		"\n"
		"Talk to bulwarkd, the bulwark node daemon, over its control socket.\n"
		"\n"
		"Options:\n"
		"  -s, --socket SOCKET  bulwarkd's control socket (default: "
		"$BULWARK_SOCKET,\n"
		"                       else " CLI_DEFAULT_SOCKET ")\n"
		"  -h, --help           show this help\n"
		"      --version        show the version\n"
		"\n"
		"Verbs:\n");
	for (size_t i = 0; i < NVERBS; i++)
		fprintf(f, "  %-11s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f,
		"\n"
		"Run '" CLI_PROG " VERB --help' for a verb's options. Every verb "
		"prints human\n"
		"output by default and JSON with -o json. Exit status: 0 success, "
		"1 failure,\n"
		"2 usage error.\n"
		"\n"
		"Environment: BULWARK_SOCKET (the socket), BULWARK_TIMEOUT (seconds to\n"
		"wait for an answer; 0 = no limit; default: no limit for changes, 300\n"
		"for reads).\n");
}

static const struct cli_verb *
find_verb(const char *name)
{
	for (size_t i = 0; i < NVERBS; i++)
		if (!strcmp(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	const struct cli_verb *v;
	const char *env = getenv("BULWARK_SOCKET");
	int i;

	if (env != NULL && env[0] != '\0')
		cli_socket = env;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--version")) {
			printf(CLI_PROG " %s\n", PACKAGE_VERSION);
			return 0;
		} else if (!strcmp(a, "-s") || !strcmp(a, "--socket")) {
			if (i + 1 >= argc)
				return cli_usage_error(NULL, "%s needs a socket path", a);
			cli_socket = argv[++i];
		} else if (!strncmp(a, "--socket=", 9)) {
			cli_socket = a + 9;
		} else if (!strncmp(a, "-s", 2)) {
			cli_socket = a + 2;
		} else
			return cli_usage_error(NULL, "unknown option '%s'", a);
		if (cli_socket[0] == '\0')
			return cli_usage_error(NULL, "the socket path is empty");
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[i], "help")) {
		char help[] = "--help";
		char *hargv[] = { argv[i + 1], help, NULL };

		if (i + 1 >= argc) {
			usage(stdout);
			return 0;
		}
		if ((v = find_verb(argv[i + 1])) == NULL)
			return cli_usage_error(NULL, "unknown verb '%s'", argv[i + 1]);
		return v->fn(2, hargv);
	}
	if ((v = find_verb(argv[i])) == NULL)
		return cli_usage_error(NULL, "unknown verb '%s'", argv[i]);
	return v->fn(argc - i, argv + i);
}
