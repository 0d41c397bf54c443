/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/cmd_history.c - bulwark history: the durable flow history kept by the
 * flowstore module (GET /v1/history), aggregated per (source, destination,
 * port, protocol, direction, verdict, policies) with counts and first/last
 * seen times.
 *
 * The filters are observe's flags, turned into Hubble FlowFilters by the
 * same builder (cli/flowfilter_flags.c); the history keeps workloads,
 * addresses, ports, verdicts and directions, so the flags about labels,
 * identities, TCP flags and the like are refused by name.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "output.h"
#include "adoption.h"
#include "cli/flowfilter_flags.h"

static void
history_usage(FILE *f)
{
	fprintf(f,
"Usage: " CLI_PROG " history [--since DUR] [--limit N] [filters] [-o table|json]\n"
"\n"
"Show the flow history bulwarkd keeps on this node (the flowstore module):\n"
"one line per source, destination, port, protocol, direction, verdict and\n"
"policies, with how many connections (for DROPPED: denied attempts) and when\n"
"they were first and last seen, newest first. Sources and destinations are\n"
"NS/WORKLOAD for pods (the app.kubernetes.io/name, app or k8s-app label,\n"
"else the workload, else the pod name), an address as a CIDR for the\n"
"outside world, or host, remote-node, ...\n"
"\n"
"Options:\n"
"      --since DUR          only what was seen since DUR ago (30s, 15m, 24h) or\n"
"                           since a time (2026-11-26T09:00:00Z); default: all\n"
"                           that is kept (the module's retention)\n"
"      --limit N            at most N lines (default 1000; 0: all)\n"
"  -o, --output FMT         table (default) or json\n"
"  -h, --help               show this help\n"
"\n"
"Filters (observe's flags; repeat a flag to accept any of its values):\n"
"  -n, --namespace NS       --from-namespace NS, --to-namespace NS\n"
"      --pod [NS/]NAME      --from-pod, --to-pod: workload name prefix ('NS/'\n"
"                           every workload of NS)\n"
"      --workload NAME      --from-workload, --to-workload\n"
"      --ip IP|CIDR         --from-ip, --to-ip: outside peers by address\n"
"      --port PORT          --to-port: the destination port (ICMP: the type)\n"
"      --verdict V          FORWARDED, DROPPED, AUDIT\n"
"      --protocol P         tcp, udp, sctp, icmp, icmpv4, icmpv6\n"
"      --traffic-direction D  ingress or egress\n"
"      --ip-version V       v4 or v6 (-4, -6)\n"
"      --not                put the next filter flag on the deny list\n"
"\n"
"JSON: {\"flows\": [{\"source\", \"destination\", \"port\", \"protocol\",\n"
"\"direction\", \"verdict\", \"policies\": [\"Kind NS/NAME\", ...], \"count\",\n"
"\"first_seen\", \"last_seen\"}]} (docs/adoption.md).\n");
}

enum { OPT_SINCE = 1000, OPT_LIMIT, OPT_NOT, OPT_FILTER, OPT_REFUSED };

static const struct option history_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "output", required_argument, NULL, 'o' },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "not", no_argument, NULL, OPT_NOT },
	{ "namespace", required_argument, NULL, 'n' },
	{ "from-namespace", required_argument, NULL, OPT_FILTER },
	{ "to-namespace", required_argument, NULL, OPT_FILTER },
	{ "pod", required_argument, NULL, OPT_FILTER },
	{ "from-pod", required_argument, NULL, OPT_FILTER },
	{ "to-pod", required_argument, NULL, OPT_FILTER },
	{ "workload", required_argument, NULL, OPT_FILTER },
	{ "from-workload", required_argument, NULL, OPT_FILTER },
	{ "to-workload", required_argument, NULL, OPT_FILTER },
	{ "ip", required_argument, NULL, OPT_FILTER },
	{ "from-ip", required_argument, NULL, OPT_FILTER },
	{ "to-ip", required_argument, NULL, OPT_FILTER },
	{ "port", required_argument, NULL, OPT_FILTER },
	{ "to-port", required_argument, NULL, OPT_FILTER },
	{ "verdict", required_argument, NULL, OPT_FILTER },
	{ "protocol", required_argument, NULL, OPT_FILTER },
	{ "traffic-direction", required_argument, NULL, OPT_FILTER },
	{ "ip-version", required_argument, NULL, OPT_FILTER },
	/* observe's flags the history cannot answer: refused by name */
	{ "label", required_argument, NULL, OPT_REFUSED },
	{ "from-label", required_argument, NULL, OPT_REFUSED },
	{ "to-label", required_argument, NULL, OPT_REFUSED },
	{ "identity", required_argument, NULL, OPT_REFUSED },
	{ "from-identity", required_argument, NULL, OPT_REFUSED },
	{ "to-identity", required_argument, NULL, OPT_REFUSED },
	{ "from-port", required_argument, NULL, OPT_REFUSED },
	{ "type", required_argument, NULL, OPT_REFUSED },
	{ "tcp-flags", required_argument, NULL, OPT_REFUSED },
	{ "drop-reason-desc", required_argument, NULL, OPT_REFUSED },
	{ "node-name", required_argument, NULL, OPT_REFUSED },
	{ "uuid", required_argument, NULL, OPT_REFUSED },
	{ NULL, 0, NULL, 0 },
};

static void
history_table(json_t *doc)
{
	static const char *const headers[] = {
		"LAST SEEN", "SOURCE", "DESTINATION", "PORT", "PROTO", "DIRECTION",
		"VERDICT", "COUNT", "POLICIES", NULL,
	};
	struct cli_table *t = cli_table_new(headers);
	json_t *flows = json_object_get(doc, "flows"), *f;
	size_t i;

	json_array_foreach(flows, i, f) {
		char port[16], count[32], tb[40], pols[1024];
		const char *row[9];

		snprintf(port, sizeof(port), "%lld",
			 (long long)json_integer_value(json_object_get(f, "port")));
		snprintf(count, sizeof(count), "%lld",
			 (long long)json_integer_value(json_object_get(f, "count")));
		row[0] = cli_short_time(cli_json_str(f, "last_seen", NULL), tb, sizeof(tb));
		row[1] = cli_json_str(f, "source", "?");
		row[2] = cli_json_str(f, "destination", "?");
		row[3] = port;
		row[4] = cli_json_str(f, "protocol", "?");
		row[5] = cli_json_str(f, "direction", "?");
		row[6] = cli_json_str(f, "verdict", "?");
		row[7] = count;
		row[8] = cli_join(json_object_get(f, "policies"), ", ", pols, sizeof(pols));
		cli_table_row(t, row);
	}
	cli_table_print(t, stdout);
	if (json_array_size(flows) == 0)
		fprintf(stderr, "(no flows recorded in that window)\n");
}

int
cmd_history(int argc, char **argv)
{
	struct bw_flowfilter_builder fb;
	enum cli_format fmt = CLI_OUT_TABLE;
	const char *since = NULL, *limit = NULL, *flag;
	struct cli_path path;
	json_t *wl = NULL, *bl = NULL, *doc = NULL;
	char err[512];
	int c, idx, rc = 2;

	bw_flowfilter_builder_init(&fb);
	memset(&path, 0, sizeof(path));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:n:46", history_opts, &idx)) != -1) {
		flag = NULL;
		switch (c) {
		case 'h':
			history_usage(stdout);
			rc = 0;
			goto out;
		case 'o':
			if (cli_output_parse("history", optarg, &fmt) < 0)
				goto out;
			continue;
		case OPT_SINCE:
			if (cli_since_check("history", optarg))
				goto out;
			since = optarg;
			continue;
		case OPT_LIMIT:
			if (optarg[0] == '\0' || strspn(optarg, "0123456789") != strlen(optarg)) {
				cli_usage_error("history", "--limit: '%s' is not a number", optarg);
				goto out;
			}
			limit = optarg;
			continue;
		case OPT_NOT:
			flag = "not";
			break;
		case 'n':
			flag = "namespace";
			break;
		case '4':
		case '6':
			flag = "ip-version";
			optarg = c == '4' ? "v4" : "v6";
			break;
		case OPT_FILTER:
			flag = history_opts[idx].name;
			break;
		case OPT_REFUSED:
			cli_usage_error("history", "--%s: the history keeps workloads, addresses, "
					"ports, verdicts and directions, not %s; see 'bulwark "
					"history --help' (bulwark observe filters the live flows)",
					history_opts[idx].name,
					strstr(history_opts[idx].name, "label") ? "labels"
					: strstr(history_opts[idx].name, "identity") ? "identities"
					: strstr(history_opts[idx].name, "port") ? "source ports"
										 : "that");
			goto out;
		case ':':
			cli_usage_error("history", "option '%s' needs a value", argv[optind - 1]);
			goto out;
		default:
			cli_usage_error("history", "unknown option '%s'", argv[optind - 1]);
			goto out;
		}
		if (bw_flowfilter_builder_add(&fb, flag, c == OPT_NOT ? NULL : optarg, err,
					      sizeof(err)) < 0) {
			cli_usage_error("history", "%s", err);
			goto out;
		}
	}
	if (optind < argc) {
		cli_usage_error("history", "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (bw_flowfilter_builder_finish(&fb, &wl, &bl, err, sizeof(err)) < 0) {
		cli_usage_error("history", "%s", err);
		goto out;
	}
	rc = 1;
	if (cli_path_begin(&path, "/v1/history") < 0) {
		perror(CLI_PROG ": history");
		goto out;
	}
	if (since != NULL)
		cli_path_param(&path, "since", since);
	if (limit != NULL)
		cli_path_param(&path, "limit", limit);
	for (int i = 0; i < 2; i++) {
		json_t *list = i == 0 ? wl : bl;
		char *text;

		if (json_array_size(list) == 0)
			continue;
		text = json_dumps(list, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (text != NULL)
			cli_path_param(&path, i == 0 ? "whitelist" : "blacklist", text);
		free(text);
	}
	if (cli_call("GET", cli_path_end(&path), NULL, &doc) != 200)
		goto out;
	if (fmt == CLI_OUT_JSON)
		cli_print_json(doc);
	else
		history_table(doc);
	rc = 0;
out:
	json_decref(doc);
	json_decref(wl);
	json_decref(bl);
	cli_path_free(&path);
	bw_flowfilter_builder_free(&fb);
	return rc;
}
