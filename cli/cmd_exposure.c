/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/cmd_exposure.c - bulwark exposure: the risk-exposure measures of the
 * zero-trust adoption talk, per namespace and workload (GET /v1/exposure,
 * the flowstore module): which workloads the live policy lets the world
 * reach, lets other namespaces reach, and lets reach the world, and
 * whether any traffic used that path in the window. A path allowed but
 * unused is the exposure that can be cut without breaking anything.
 *
 * The table ranks namespaces by exposure (unused paths first, then allowed
 * ones); -o json prints the daemon's document (namespaces by name).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "output.h"
#include "adoption.h"

static const char *const exposure_paths[] = {
	"ingress_from_world", "ingress_from_other_namespaces", "egress_to_world",
};

static void
exposure_usage(FILE *f)
{
	fprintf(f,
"Usage: " CLI_PROG " exposure [--namespace NS] [--since DUR] [-o table|json]\n"
"\n"
"Risk exposure per namespace and workload, from the live policy (what the\n"
"kernel enforces now) and the flow history: for each workload (a namespace\n"
"and its app.kubernetes.io/name, app or k8s-app label, else the workload,\n"
"else the pod name), whether\n"
"  - the world may connect to it         (ingress from world)\n"
"  - other namespaces may connect to it  (ingress from other namespaces)\n"
"  - it may connect to the world         (egress to world)\n"
"and whether traffic used that path since DUR ago. A path that is allowed\n"
"but unused is exposure a policy can remove without breaking anything: the\n"
"UNUSED columns count those workloads. Namespaces are ranked by exposure.\n"
"\n"
"Options:\n"
"  -n, --namespace NS   only this namespace\n"
"      --since DUR      the window for \"seen\" (30m, 24h, 7d or a time;\n"
"                       default: the flowstore module's window, 24h)\n"
"  -o, --output FMT     table (default) or json\n"
"  -h, --help           show this help\n");
}

static int
exposure_unused(json_t *ns)
{
	int n = 0;

	for (size_t p = 0; p < 3; p++) {
		char key[64];

		snprintf(key, sizeof(key), "unused_%s", exposure_paths[p]);
		n += (int)json_integer_value(json_object_get(ns, key));
	}
	return n;
}

static int
exposure_allowed(json_t *ns)
{
	json_t *w;
	size_t i;
	int n = 0;

	json_array_foreach(json_object_get(ns, "workloads"), i, w)
		for (size_t p = 0; p < 3; p++)
			n += json_is_true(json_object_get(json_object_get(w, exposure_paths[p]),
							  "allowed"));
	return n;
}

static int
exposure_rank_cmp(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int ux = exposure_unused(x), uy = exposure_unused(y);
	int ax = exposure_allowed(x), ay = exposure_allowed(y);

	if (ux != uy)
		return uy - ux;
	if (ax != ay)
		return ay - ax;
	return strcmp(cli_json_str(x, "namespace", ""), cli_json_str(y, "namespace", ""));
}

static const char *
exposure_cell(json_t *w, const char *path)
{
	json_t *p = json_object_get(w, path);
	int allowed = json_is_true(json_object_get(p, "allowed"));
	int seen = json_is_true(json_object_get(p, "seen"));

	if (!allowed)
		return seen ? "denied (seen)" : "denied";
	return seen ? "allowed, used" : "allowed, UNUSED";
}

static void
exposure_table(json_t *doc)
{
	static const char *const h1[] = {
		"RANK", "NAMESPACE", "WORKLOADS", "UNUSED FROM WORLD", "UNUSED FROM OTHER NS",
		"UNUSED TO WORLD", "ALLOWED PATHS", NULL,
	};
	static const char *const h2[] = {
		"WORKLOAD", "INGRESS FROM WORLD", "INGRESS FROM OTHER NS", "EGRESS TO WORLD",
		NULL,
	};
	json_t *nss = json_object_get(doc, "namespaces");
	size_t n = json_array_size(nss), i, j;
	json_t **v = calloc(n ? n : 1, sizeof(*v)), *w;
	struct cli_table *t;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		v[i] = json_array_get(nss, i);
	qsort(v, n, sizeof(*v), exposure_rank_cmp);
	t = cli_table_new(h1);
	for (i = 0; i < n; i++) {
		char rank[16], wls[16], u[3][16], al[16];
		const char *row[7];

		snprintf(rank, sizeof(rank), "%zu", i + 1);
		snprintf(wls, sizeof(wls), "%zu", json_array_size(json_object_get(v[i], "workloads")));
		for (size_t p = 0; p < 3; p++) {
			char key[64];

			snprintf(key, sizeof(key), "unused_%s", exposure_paths[p]);
			snprintf(u[p], sizeof(u[p]), "%lld",
				 (long long)json_integer_value(json_object_get(v[i], key)));
		}
		snprintf(al, sizeof(al), "%d", exposure_allowed(v[i]));
		row[0] = rank;
		row[1] = cli_json_str(v[i], "namespace", "?");
		row[2] = wls;
		row[3] = u[0];
		row[4] = u[1];
		row[5] = u[2];
		row[6] = al;
		cli_table_row(t, row);
	}
	cli_table_print(t, stdout);
	printf("\n");
	t = cli_table_new(h2);
	for (i = 0; i < n; i++)
		json_array_foreach(json_object_get(v[i], "workloads"), j, w) {
			char name[512];
			const char *row[4];

			snprintf(name, sizeof(name), "%s/%s", cli_json_str(v[i], "namespace", "?"),
				 cli_json_str(w, "name", "?"));
			row[0] = name;
			row[1] = exposure_cell(w, exposure_paths[0]);
			row[2] = exposure_cell(w, exposure_paths[1]);
			row[3] = exposure_cell(w, exposure_paths[2]);
			cli_table_row(t, row);
		}
	cli_table_print(t, stdout);
	if (n == 0)
		fprintf(stderr, "(no endpoints%s)\n",
			json_object_get(doc, "namespace") ? " in that namespace" : "");
	free(v);
}

int
cmd_exposure(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, 'o' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "since", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	enum cli_format fmt = CLI_OUT_TABLE;
	const char *ns = NULL, *since = NULL;
	struct cli_path path;
	json_t *doc = NULL;
	int c, rc = 1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:n:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			exposure_usage(stdout);
			return 0;
		case 'o':
			if (cli_output_parse("exposure", optarg, &fmt) < 0)
				return 2;
			break;
		case 'n':
			if (optarg[0] == '\0')
				return cli_usage_error("exposure", "--namespace: give a namespace");
			ns = optarg;
			break;
		case 's':
			if (cli_since_check("exposure", optarg))
				return 2;
			since = optarg;
			break;
		case ':':
			return cli_usage_error("exposure", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("exposure", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("exposure", "unexpected argument '%s'", argv[optind]);
	if (cli_path_begin(&path, "/v1/exposure") < 0)
		return 1;
	if (ns != NULL)
		cli_path_param(&path, "namespace", ns);
	if (since != NULL)
		cli_path_param(&path, "since", since);
	if (cli_call("GET", cli_path_end(&path), NULL, &doc) == 200) {
		if (json_object_get(doc, "warning") != NULL)
			fprintf(stderr, CLI_PROG ": warning: %s\n", cli_json_str(doc, "warning", ""));
		if (fmt == CLI_OUT_JSON)
			cli_print_json(doc);
		else
			exposure_table(doc);
		rc = 0;
	}
	json_decref(doc);
	cli_path_free(&path);
	return rc;
}
