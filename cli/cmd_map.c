/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/cmd_map.c - bulwark map: the service map of the node, from GET
 * /v1/map (modules/servicemap).
 *
 * The daemon answers with nodes and edges in JSON; everything else happens
 * here: the edge table (default), Graphviz dot text with one cluster per
 * namespace, and SVG, for which this command runs Graphviz's `dot -Tsvg`
 * itself (the daemon never spawns processes).
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "output.h"
#include "lib/flowfilter.h"

enum map_format { MAP_TABLE, MAP_JSON, MAP_DOT, MAP_SVG };

static void
map_usage(FILE *f)
{
	fprintf(f,
		"Usage: " CLI_PROG " map [--namespace NS] [--since T] "
		"[-o table|json|dot|svg]\n"
		"\n"
		"Show who talks to whom on this node, from the flows bulwarkd has seen\n"
		"(the servicemap module keeps them in memory, bounded). Workloads are\n"
		"grouped by namespace; peers that are not pods (world, host, a CIDR)\n"
		"are nodes of their own. Each edge is source -> destination, protocol\n"
		"and port, with the connections forwarded, the packets dropped and the\n"
		"connections audited (policy would have dropped them).\n"
		"\n"
		"Options:\n"
		"  -n, --namespace NS  only edges from or to workloads of NS\n"
		"      --since T       only edges seen since T: a duration before now\n"
		"                      (5m, 1h30m) or a time (2026-11-26T09:00:00Z)\n"
		"  -o, --output FMT    table (default): one line per edge; json: nodes\n"
		"                      and edges; dot: Graphviz source; svg: rendered by\n"
		"                      Graphviz's dot (package graphviz; $BULWARK_DOT\n"
		"                      names another dot binary)\n"
		"  -h, --help          show this help\n"
		"\n"
		"Example: " CLI_PROG " map -o svg > map.svg\n");
}

/* ---- helpers ------------------------------------------------------------------ */

static char *
map_urlenc(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(strlen(s) * 3 + 1);
	size_t o = 0;

	if (!out) {
		fprintf(stderr, CLI_PROG ": out of memory\n");
		exit(1);
	}
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
		    c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

static long long
map_int(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* "5s ago" from an RFC 3339 UTC time the daemon wrote. */
static void
map_ago(const char *t, char *buf, size_t len)
{
	struct tm tm;
	time_t then;
	char d[32];

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || strptime(t, "%Y-%m-%dT%H:%M:%S", &tm) == NULL) {
		snprintf(buf, len, "-");
		return;
	}
	then = timegm(&tm);
	cli_format_duration(time(NULL) > then ? (long long)(time(NULL) - then) : 0,
			    d, sizeof(d));
	snprintf(buf, len, "%s ago", d);
}

/* How a node is named in the table: its id, with addresses for peers. */
static void
map_node_label(json_t *nodes, const char *id, char *buf, size_t len)
{
	json_t *n, *addrs;
	size_t i, j;

	snprintf(buf, len, "%s", id);
	json_array_foreach(nodes, i, n) {
		if (strcmp(cli_json_str(n, "id", ""), id) != 0)
			continue;
		addrs = json_object_get(n, "addresses");
		if (json_array_size(addrs) == 0 ||
		    !strcmp(cli_json_str(n, "kind", ""), "host"))
			return;
		snprintf(buf + strlen(buf), len - strlen(buf), " (");
		for (j = 0; j < json_array_size(addrs) && j < 3; j++)
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",
				 j ? ", " : "",
				 json_string_value(json_array_get(addrs, j)));
		snprintf(buf + strlen(buf), len - strlen(buf), "%s)",
			 json_array_size(addrs) > 3 ? ", ..." : "");
		return;
	}
}

static void
map_print_table(json_t *doc)
{
	static const char *const headers[] = {
		"SOURCE", "DESTINATION", "PROTOCOL", "PORT", "FORWARDED",
		"DROPPED", "AUDIT", "LAST SEEN", NULL
	};
	json_t *nodes = json_object_get(doc, "nodes");
	json_t *edges = json_object_get(doc, "edges"), *e;
	struct cli_table *t;
	size_t i;

	if (json_array_size(edges) == 0) {
		fprintf(stderr, CLI_PROG " map: no edges (no flows seen yet%s)\n",
			json_object_get(doc, "namespace") != NULL ||
					json_object_get(doc, "since") != NULL ?
				", or none match" : "");
		return;
	}
	t = cli_table_new(headers);
	json_array_foreach(edges, i, e) {
		char src[256], dst[256], port[16], fw[24], dr[24], au[24], ago[48];
		const char *proto = cli_json_str(e, "protocol", "?");
		const char *row[8];

		map_node_label(nodes, cli_json_str(e, "source", "?"), src, sizeof(src));
		map_node_label(nodes, cli_json_str(e, "destination", "?"), dst,
			       sizeof(dst));
		if (map_int(e, "port") != 0)
			snprintf(port, sizeof(port), "%lld", map_int(e, "port"));
		else
			snprintf(port, sizeof(port), "-");
		snprintf(fw, sizeof(fw), "%lld", map_int(e, "forwarded"));
		snprintf(dr, sizeof(dr), "%lld", map_int(e, "dropped"));
		snprintf(au, sizeof(au), "%lld", map_int(e, "audit"));
		map_ago(cli_json_str(e, "last_seen", NULL), ago, sizeof(ago));
		row[0] = src;
		row[1] = dst;
		row[2] = proto;
		row[3] = port;
		row[4] = fw;
		row[5] = dr;
		row[6] = au;
		row[7] = ago;
		cli_table_row(t, row);
	}
	cli_table_print(t, stdout);
}

/* ---- dot ------------------------------------------------------------------------- */

/* A dot double-quoted string (quotes and backslashes escaped, newlines
 * as dot's \n). */
static void
map_dot_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '\n') {
			fputs("\\n", f); /* dot's centred line break */
			continue;
		}
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void
map_dot_node(FILE *f, json_t *n, const char *indent)
{
	const char *kind = cli_json_str(n, "kind", "");
	json_t *addrs = json_object_get(n, "addresses");
	char label[512];
	size_t j;

	snprintf(label, sizeof(label), "%s", cli_json_str(n, "name", "?"));
	if (strcmp(kind, "host") != 0)
		for (j = 0; j < json_array_size(addrs) && j < 4; j++)
			snprintf(label + strlen(label), sizeof(label) - strlen(label),
				 "\n%s", json_string_value(json_array_get(addrs, j)));
	fprintf(f, "%s", indent);
	map_dot_str(f, cli_json_str(n, "id", "?"));
	fprintf(f, " [label=");
	map_dot_str(f, label);
	if (!strcmp(kind, "workload"))
		fprintf(f, ", shape=box, style=\"rounded,filled\", fillcolor=\"#e8f0fe\"");
	else if (!strcmp(kind, "world") || !strcmp(kind, "cidr") ||
		 !strcmp(kind, "address"))
		fprintf(f, ", shape=ellipse, style=filled, fillcolor=\"#fff4e5\"");
	else
		fprintf(f, ", shape=hexagon, style=filled, fillcolor=\"#eeeeee\"");
	fprintf(f, "];\n");
}

static void
map_print_dot(FILE *f, json_t *doc)
{
	json_t *nodes = json_object_get(doc, "nodes"), *n, *e;
	json_t *edges = json_object_get(doc, "edges");
	const char *cur = NULL;
	size_t i;

	fprintf(f, "digraph \"bulwark\" {\n"
		"\tgraph [rankdir=LR, fontname=\"Helvetica\", labelloc=t, "
		"label=\"bulwark service map\"];\n"
		"\tnode [fontname=\"Helvetica\", fontsize=11];\n"
		"\tedge [fontname=\"Helvetica\", fontsize=9];\n");
	/* nodes come sorted by namespace: one cluster per namespace */
	json_array_foreach(nodes, i, n) {
		const char *ns = cli_json_str(n, "namespace", NULL);

		if (cur != NULL && (ns == NULL || strcmp(ns, cur) != 0)) {
			fprintf(f, "\t}\n");
			cur = NULL;
		}
		if (ns != NULL && cur == NULL) {
			char cl[300], lab[300];

			snprintf(cl, sizeof(cl), "cluster_%s", ns);
			snprintf(lab, sizeof(lab), "namespace %s", ns);
			fprintf(f, "\tsubgraph ");
			map_dot_str(f, cl);
			fprintf(f, " {\n\t\tlabel=");
			map_dot_str(f, lab);
			fprintf(f, ";\n\t\tstyle=\"rounded,dashed\";\n\t\tlabeljust=l;\n");
			cur = ns;
		}
		map_dot_node(f, n, cur != NULL ? "\t\t" : "\t");
	}
	if (cur != NULL)
		fprintf(f, "\t}\n");
	json_array_foreach(edges, i, e) {
		long long fw = map_int(e, "forwarded"), dr = map_int(e, "dropped");
		long long au = map_int(e, "audit");
		char label[256];
		const char *color = "darkgreen", *style = "solid";

		if (map_int(e, "port") != 0)
			snprintf(label, sizeof(label), "%s/%lld",
				 cli_json_str(e, "protocol", "?"), map_int(e, "port"));
		else
			snprintf(label, sizeof(label), "%s",
				 cli_json_str(e, "protocol", "?"));
		if (fw)
			snprintf(label + strlen(label), sizeof(label) - strlen(label),
				 "\n%lld forwarded", fw);
		if (dr)
			snprintf(label + strlen(label), sizeof(label) - strlen(label),
				 "\n%lld dropped", dr);
		if (au)
			snprintf(label + strlen(label), sizeof(label) - strlen(label),
				 "\n%lld audit", au);
		if (dr && !fw)
			color = "red";
		else if (dr)
			color = "darkorange";
		if (au) {
			style = "dashed";
			if (!dr)
				color = "darkorange";
		}
		fprintf(f, "\t");
		map_dot_str(f, cli_json_str(e, "source", "?"));
		fprintf(f, " -> ");
		map_dot_str(f, cli_json_str(e, "destination", "?"));
		fprintf(f, " [label=");
		map_dot_str(f, label);
		fprintf(f, ", color=\"%s\", fontcolor=\"%s\", style=%s];\n", color,
			color, style);
	}
	fprintf(f, "}\n");
}

/* Render through Graphviz: dot text into `dot -Tsvg`, SVG on stdout. */
static int
map_print_svg(json_t *doc)
{
	const char *dot = getenv("BULWARK_DOT");
	int fds[2], status;
	pid_t pid;
	FILE *f;

	if (dot == NULL || dot[0] == '\0')
		dot = "dot";
	if (pipe(fds) < 0) {
		fprintf(stderr, CLI_PROG " map: pipe: %s\n", strerror(errno));
		return 1;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, CLI_PROG " map: fork: %s\n", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return 1;
	}
	if (pid == 0) {
		dup2(fds[0], 0);
		close(fds[0]);
		close(fds[1]);
		execlp(dot, dot, "-Tsvg", (char *)NULL);
		fprintf(stderr, CLI_PROG " map: cannot run %s: %s (-o svg needs "
			"Graphviz: apt-get install graphviz)\n", dot,
			strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	if ((f = fdopen(fds[1], "w")) == NULL) {
		close(fds[1]);
		waitpid(pid, &status, 0);
		return 1;
	}
	map_print_dot(f, doc);
	fclose(f);
	if (waitpid(pid, &status, 0) < 0)
		return 1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFEXITED(status) && WEXITSTATUS(status) != 127)
			fprintf(stderr, CLI_PROG " map: %s -Tsvg failed (exit "
				"status %d)\n", dot, WEXITSTATUS(status));
		return 1;
	}
	return 0;
}

/* ---- the verb --------------------------------------------------------------------- */

int
cmd_map(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "namespace", required_argument, NULL, 'n' },
		{ "since", required_argument, NULL, 'S' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum map_format fmt = MAP_TABLE;
	const char *ns = NULL, *since = NULL;
	char *path, *ens = NULL, *esince = NULL;
	json_t *doc = NULL;
	int c, rc, st;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (optarg[0] == '\0')
				return cli_usage_error("map", "--namespace needs a name");
			ns = optarg;
			break;
		case 'S':
			since = optarg;
			break;
		case 'o':
			if (!strcmp(optarg, "table") || !strcmp(optarg, "text"))
				fmt = MAP_TABLE;
			else if (!strcmp(optarg, "json"))
				fmt = MAP_JSON;
			else if (!strcmp(optarg, "dot"))
				fmt = MAP_DOT;
			else if (!strcmp(optarg, "svg"))
				fmt = MAP_SVG;
			else
				return cli_usage_error("map", "unknown output format "
						       "'%s' (table, json, dot, svg)",
						       optarg);
			break;
		case 'h':
			map_usage(stdout);
			return 0;
		case ':':
			return cli_usage_error("map", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("map", "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("map", "unexpected argument '%s'", argv[optind]);
	if (since != NULL) {
		struct timespec ts;
		uint64_t out;

		clock_gettime(CLOCK_REALTIME, &ts);
		if (bw_flowfilter_parse_time(since, (uint64_t)ts.tv_sec * 1000000000u +
						       (uint64_t)ts.tv_nsec, &out) < 0)
			return cli_usage_error("map", "--since: '%s' is neither a "
					       "duration (5m, 1h30m) nor a time "
					       "(2026-11-26T09:00:00Z)", since);
	}

	if (ns != NULL)
		ens = map_urlenc(ns);
	if (since != NULL)
		esince = map_urlenc(since);
	path = cli_pathf("/v1/map%s%s%s%s", ens ? "?namespace=" : "", ens ? ens : "",
			 esince ? (ens ? "&since=" : "?since=") : "", esince ? esince : "");
	free(ens);
	free(esince);
	st = cli_request("GET", path, NULL, &doc, CLI_QUIET);
	free(path);
	if (st != 200) {
		const char *msg = cli_error_message(doc);

		if (st == 404 && (msg == NULL || strstr(msg, "no API endpoint")))
			fprintf(stderr, CLI_PROG " map: bulwarkd has no service map "
				"(load the servicemap module: daemon.modules)\n");
		else if (st < 0)
			cli_print_unreachable(-st);
		else
			fprintf(stderr, CLI_PROG ": %s\n",
				msg != NULL ? msg : "request failed");
		json_decref(doc);
		return 1;
	}
	switch (fmt) {
	case MAP_JSON:
		cli_print_json(doc);
		rc = 0;
		break;
	case MAP_DOT:
		map_print_dot(stdout, doc);
		rc = 0;
		break;
	case MAP_SVG:
		rc = map_print_svg(doc);
		break;
	default:
		map_print_table(doc);
		rc = 0;
		break;
	}
	json_decref(doc);
	return rc;
}
