/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/cmd_status.c - bulwark status: is the daemon up, and ready?
 *
 * Without --wait it asks once and exits 0 whenever the daemon answered,
 * ready or not (the output says which). With --wait SECONDS it asks again
 * every 200 ms until the daemon answers ready=true, and exits 1 with a
 * message if that does not happen in time: what scripts and tests use to
 * wait for a freshly started daemon.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "client.h"
#include "output.h"

static void
status_usage(FILE *f)
{
	fprintf(f,
		"Usage: " CLI_PROG " status [--wait SECONDS] [-o table|json]\n"
		"\n"
		"Show whether bulwarkd answers and is ready: version, pid, uptime,\n"
		"modules loaded and failed, and the sections other parts add.\n"
		"\n"
		"Options:\n"
		"  -w, --wait SECONDS  retry until bulwarkd answers ready, for at most\n"
		"                      SECONDS; exit 1 if it is not ready in time\n"
		"  -o, --output FMT    table (default) or json (the /v1/status document)\n"
		"  -h, --help          show this help\n"
		"\n"
		"Exit status: 0 when bulwarkd answered (with --wait: answered ready),\n"
		"1 otherwise.\n");
}

static double
status_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
status_scalar(json_t *v)
{
	char *s = NULL;

	if (json_is_string(v))
		s = strdup(json_string_value(v));
	else if (json_is_true(v))
		s = strdup("yes");
	else if (json_is_false(v))
		s = strdup("no");
	else
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	return s;
}

/* A section added by another subsystem: "key: a=1, b=2" for an object. */
static char *
status_section(json_t *v)
{
	const char *k;
	json_t *sub;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	if (!json_is_object(v))
		return status_scalar(v);
	if ((f = open_memstream(&out, &len)) == NULL)
		return NULL;
	json_object_foreach(v, k, sub) {
		char *s = status_scalar(sub);

		fprintf(f, "%s%s=%s", ftell(f) > 0 ? ", " : "", k, s ? s : "?");
		free(s);
	}
	fclose(f);
	return out;
}

static void
status_print(json_t *doc)
{
	const char *labels[32], *values[32];
	char *owned[32];
	char up[32], pid[32], mods[64];
	json_t *m = json_object_get(doc, "modules"), *v;
	const char *k;
	size_t n = 0, nown = 0;

	labels[n] = "ready";
	values[n++] = json_is_true(json_object_get(doc, "ready")) ? "yes" : "no";
	labels[n] = "version";
	values[n++] = cli_json_str(doc, "version", "-");
	snprintf(pid, sizeof(pid), "%lld",
		 (long long)json_integer_value(json_object_get(doc, "pid")));
	labels[n] = "pid";
	values[n++] = pid;
	cli_format_duration(json_integer_value(json_object_get(doc,
							       "uptime_seconds")),
			    up, sizeof(up));
	labels[n] = "uptime";
	values[n++] = up;
	if (json_is_object(m)) {
		snprintf(mods, sizeof(mods), "%lld loaded, %lld failed",
			 (long long)json_integer_value(json_object_get(m, "loaded")),
			 (long long)json_integer_value(json_object_get(m, "failed")));
		labels[n] = "modules";
		values[n++] = mods;
	}
	json_object_foreach(doc, k, v) {
		if (!strcmp(k, "ready") || !strcmp(k, "version") ||
		    !strcmp(k, "pid") || !strcmp(k, "uptime_seconds") ||
		    !strcmp(k, "modules") || n + 1 >= 32)
			continue;
		owned[nown] = status_section(v);
		labels[n] = k;
		values[n++] = owned[nown++];
	}
	labels[n] = values[n] = NULL;
	cli_print_fields(stdout, labels, values);
	for (size_t i = 0; i < nown; i++)
		free(owned[i]);
}

int
cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "wait", required_argument, NULL, 'w' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum cli_format fmt = CLI_OUT_TABLE;
	double wait = -1, deadline;
	json_t *doc = NULL;
	int c, st, last = 0;
	char *end;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:w:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			wait = strtod(optarg, &end);
			if (end == optarg || *end != '\0' || wait < 0)
				return cli_usage_error("status", "--wait: '%s' is "
						       "not a number of seconds",
						       optarg);
			break;
		case 'o':
			if (cli_output_parse("status", optarg, &fmt) < 0)
				return 2;
			break;
		case 'h':
			status_usage(stdout);
			return 0;
		case ':':
			return cli_usage_error("status", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("status", "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("status", "unexpected argument '%s'",
				       argv[optind]);

	if (wait < 0) {
		st = cli_call("GET", "/v1/status", NULL, &doc);
		if (st != 200) {
			json_decref(doc);
			return 1;
		}
	} else {
		deadline = status_now() + wait;
		for (;;) {
			double left = deadline - status_now();

			cli_set_timeout(left > 5 ? 5 : left < 1 ? 1 : (unsigned)left);
			json_decref(doc);
			doc = NULL;
			st = cli_request("GET", "/v1/status", NULL, &doc, CLI_QUIET);
			if (st == 200 && json_is_true(json_object_get(doc, "ready")))
				break;
			last = st;
			if (status_now() >= deadline) {
				if (st == 200)
					fprintf(stderr, CLI_PROG ": bulwarkd at %s "
						"answers but is not ready after %g "
						"seconds\n", cli_socket, wait);
				else if (last < 0)
					fprintf(stderr, CLI_PROG ": bulwarkd at %s "
						"did not answer within %g seconds: "
						"%s (is it running? set -s or "
						"BULWARK_SOCKET)\n", cli_socket,
						wait, strerror(-last));
				else
					fprintf(stderr, CLI_PROG ": bulwarkd at %s "
						"answered HTTP %d to GET /v1/status\n",
						cli_socket, last);
				json_decref(doc);
				return 1;
			}
			nanosleep(&(struct timespec){ 0, 200 * 1000 * 1000 }, NULL);
		}
	}
	if (fmt == CLI_OUT_JSON)
		cli_print_json(doc);
	else
		status_print(doc);
	json_decref(doc);
	return 0;
}
