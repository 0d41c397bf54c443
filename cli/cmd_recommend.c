/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/cmd_recommend.c - bulwark recommend: policies from the flow history
 * (GET /v1/recommend, the advisor module): a cluster-wide baseline and
 * per-namespace policies that keep every connection seen working, each
 * rule commented with the connections behind it, checked by the daemon
 * before it answers. The YAML goes to stdout, ready for `bulwark policy
 * replace`; what could not be covered goes to stderr.
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
recommend_usage(FILE *f)
{
	fprintf(f,
"Usage: " CLI_PROG " recommend [--namespace NS]... [--mode coarse|fine] [--since DUR]\n"
"                 [-o yaml|json]\n"
"\n"
"Recommend policies from the flow history: policies that keep every connection\n"
"seen since DUR working and deny everything else.\n"
"  - a CiliumClusterwideNetworkPolicy baseline: default deny, ingress and egress,\n"
"    for the pods of the chosen namespaces; the services most of them use (DNS,\n"
"    with rules.dns so that FQDN policy learns names; monitoring); in coarse\n"
"    mode, everything within each namespace;\n"
"  - one CiliumNetworkPolicy per namespace with what it needs beyond that:\n"
"    coarse: each workload others reach, opened on the ports seen to exactly the\n"
"    namespaces (or the world, the node) that reached it; egress to other\n"
"    namespaces by namespace and port, to the outside by DNS name and port\n"
"    (toFQDNs), by address where no name was seen;\n"
"    fine: the same per workload, with workload selectors on both sides.\n"
"Every rule carries a comment with the connections and counts behind it. Before\n"
"answering, the daemon replays the history through the policies (as `policy\n"
"replace` would apply them) and lists what would not stay allowed (stderr).\n"
"Apply with: " CLI_PROG " recommend > p.yaml && " CLI_PROG " simulate -f p.yaml --replace &&\n"
"            " CLI_PROG " policy replace p.yaml\n"
"\n"
"Options:\n"
"  -n, --namespace NS   only these namespaces (repeat, or NS,NS; default: every\n"
"                       namespace with endpoints on this node)\n"
"  -m, --mode MODE      coarse (default: per namespace) or fine (per workload)\n"
"      --since DUR      the history to learn from (30m, 24h, 7d or a time;\n"
"                       default: the advisor module's window, 7d)\n"
"  -o, --output FMT     yaml (default) or json (the daemon's whole document)\n"
"  -h, --help           show this help\n");
}

int
cmd_recommend(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, 'o' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "mode", required_argument, NULL, 'm' },
		{ "since", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mode = NULL, *since = NULL;
	char *nslist = NULL;
	size_t nslen = 0;
	FILE *nsf = NULL;
	int json = 0, c, rc = 1, nns = 0;
	struct cli_path path;
	json_t *doc = NULL, *v;
	size_t i;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:n:m:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			recommend_usage(stdout);
			free(nslist);
			return 0;
		case 'o':
			if (!strcmp(optarg, "json"))
				json = 1;
			else if (!strcmp(optarg, "yaml"))
				json = 0;
			else
				return cli_usage_error("recommend", "-o: '%s' is not one of yaml, json",
						       optarg);
			break;
		case 'n':
			if (optarg[0] == '\0' || strspn(optarg, ",") == strlen(optarg))
				return cli_usage_error("recommend", "--namespace: give a namespace");
			if (nsf == NULL && (nsf = open_memstream(&nslist, &nslen)) == NULL)
				return 1;
			fprintf(nsf, "%s%s", nns++ ? "," : "", optarg);
			break;
		case 'm':
			if (strcmp(optarg, "coarse") && strcmp(optarg, "fine"))
				return cli_usage_error("recommend", "--mode: '%s' is not one of coarse, "
						       "fine", optarg);
			mode = optarg;
			break;
		case 's':
			if (cli_since_check("recommend", optarg))
				return 2;
			since = optarg;
			break;
		case ':':
			return cli_usage_error("recommend", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("recommend", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (nsf != NULL)
		fclose(nsf);
	if (optind < argc) {
		free(nslist);
		return cli_usage_error("recommend", "unexpected argument '%s'", argv[optind]);
	}
	if (cli_path_begin(&path, "/v1/recommend") < 0) {
		free(nslist);
		return 1;
	}
	if (nslist != NULL)
		cli_path_param(&path, "namespace", nslist);
	if (mode != NULL)
		cli_path_param(&path, "mode", mode);
	if (since != NULL)
		cli_path_param(&path, "since", since);
	if (cli_call("GET", cli_path_end(&path), NULL, &doc) == 200) {
		if (json_object_get(doc, "warning") != NULL)
			fprintf(stderr, CLI_PROG ": warning: %s\n", cli_json_str(doc, "warning", ""));
		if (json)
			cli_print_json(doc);
		else
			fputs(cli_json_str(doc, "yaml", ""), stdout);
		json_array_foreach(json_object_get(doc, "not_covered"), i, v)
			fprintf(stderr, CLI_PROG ": not covered: %s -> %s %s/%lld (%s, %lld "
				"connections): %s\n",
				cli_json_str(v, "source", "?"), cli_json_str(v, "destination", "?"),
				cli_json_str(v, "protocol", "?"),
				(long long)json_integer_value(json_object_get(v, "port")),
				cli_json_str(v, "direction", "?"),
				(long long)json_integer_value(json_object_get(v, "count")),
				cli_json_str(v, "reason", "?"));
		json_array_foreach(json_object_get(doc, "notes"), i, v)
			fprintf(stderr, CLI_PROG ": note: %s\n", json_string_value(v));
		rc = 0;
	}
	json_decref(doc);
	cli_path_free(&path);
	free(nslist);
	return rc;
}
