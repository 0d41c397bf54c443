/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/cmd_observe.c - bulwark observe: flows, like `hubble observe`.
 *
 * The flags build Hubble FlowFilters exactly as hubble's CLI does
 * (lib/flowfilter.c, linked into the CLI): flags naming one side go into
 * every filter, either-side flags (--pod, --ip, --label, --namespace,
 * --identity, --port, --workload) give a {source=...} filter OR a
 * {destination=...} one, and --not sends the next flag to the blacklist. The request goes to
 * GET /v1/flows; each NDJSON line is a GetFlowsResponse, printed as it is
 * (-o json) or rendered like hubble's compact, table and dict outputs.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "client.h"
#include "output.h"
#include "lib/dropreason.h"
#include "lib/flowfilter.h"
#include "cli/flowfilter_flags.h"
#include "lib/flowjson.h"

enum observe_fmt { OBS_COMPACT, OBS_JSON, OBS_TABLE, OBS_DICT };

struct observe {
	enum observe_fmt fmt;
	int print_node;
	struct cli_table *table;
	unsigned long flows;
	int dict_sep;
};

static void
observe_usage(FILE *f)
{
	fprintf(f,
"Usage: " CLI_PROG " observe [--last N | --first N | --all] [-f] [--since T] [--until T]\n"
"                       [filters] [-o compact|json|jsonpb|table|dict]\n"
"\n"
"Show flows from bulwarkd's flow ring, newest last, like `hubble observe`.\n"
"Without --follow, --first, --all, --since or --until the last 20 are shown.\n"
"\n"
"Selection:\n"
"      --last N             the last N flows that match\n"
"      --first N            the first (oldest) N flows that match\n"
"      --all                every flow in the ring that matches\n"
"  -f, --follow             keep running and print new flows as they come\n"
"      --since T            flows since T: a duration before now (3s, 4m, 1h43m)\n"
"                           or a time (2026-11-26T09:00:00Z, 2026-11-26)\n"
"      --until T            flows until T (ignored with --follow)\n"
"\n"
"Filters (repeat a flag to accept any of its values; different flags must\n"
"all match; the plain form of a from-/to- pair matches either side):\n"
"  -n, --namespace NS       --from-namespace NS, --to-namespace NS\n"
"      --pod [NS/]POD       --from-pod, --to-pod: pod name prefix; no NS means\n"
"                           'default', '/POD' any namespace, 'NS/' every pod of NS\n"
"  -l, --label SELECTOR     --from-label, --to-label: label selector, e.g.\n"
"                           'app=web', 'k8s:app in (a,b)', '!tier', 'reserved:world'\n"
"      --ip IP|CIDR         --from-ip, --to-ip\n"
"      --identity ID        --from-identity, --to-identity: number or reserved name\n"
"                           (host, world, ...)\n"
"      --port PORT          --from-port, --to-port\n"
"      --workload [KIND/]NAME  --from-workload, --to-workload: the pod's workload,\n"
"                           e.g. web, Deployment/web, or Deployment/ (any\n"
"                           Deployment); names and kinds match exactly\n"
"      --fqdn PATTERN       --from-fqdn, --to-fqdn: a DNS name the node learned\n"
"                           for the peer's address ('*' wildcards, e.g.\n"
"                           '*.example.com'; a '*' may cross dots, as in hubble)\n"
"      --dns-query REGEX    DNS flows whose query matches the regular expression\n"
"      --verdict V          FORWARDED, DROPPED, AUDIT, REDIRECTED, ERROR\n"
"  -t, --type T             trace[:SUBTYPE], drop, policy-verdict, l7, or a number\n"
"      --protocol P         tcp, udp, sctp, icmp, icmpv4, icmpv6, dns, http, kafka\n"
"      --traffic-direction D  ingress or egress\n"
"      --tcp-flags F[,F]    flows with all these TCP flags set (syn,ack)\n"
"      --drop-reason-desc R e.g. POLICY_DENIED\n"
"      --ip-version V       v4 or v6 (-4, -6)\n"
"      --node-name PATTERN  --uuid UUID\n"
"      --http-status CODE   HTTP responses with this status (404), or a prefix\n"
"                           (4+, 40+)\n"
"      --http-method M      HTTP flows with this method (any case)\n"
"      --http-path REGEX    HTTP flows whose URL path matches (unanchored)\n"
"      --http-url REGEX     HTTP flows whose full URL matches (unanchored)\n"
"      --http-header K:V    HTTP flows with this header and value\n"
"      --kafka-topic T      Kafka flows of this topic (bulwark; not in hubble)\n"
"      --kafka-api-key K    Kafka flows of this API key: produce, fetch, offsets,\n"
"                           metadata, ... or a number (bulwark; not in hubble)\n"
"      --not                put the next filter flag on the deny list\n"
"\n"
"Output:\n"
"  -o, --output FMT         compact (default), json or jsonpb (one Hubble\n"
"                           GetFlowsResponse per line), table, dict\n"
"      --print-node-name    show the node name in compact output\n"
"      --print-raw-filters  print the filters that would be sent and exit\n"
"  -h, --help               show this help\n");
}

/* ---- rendering ------------------------------------------------------------- */

static const char *
observe_time(json_t *resp, json_t *flow, char *buf, size_t len)
{
	const char *t = cli_json_str(flow, "time", cli_json_str(resp, "time", NULL));
	uint64_t ns;
	time_t sec;
	struct tm tm;
	size_t n;

	if (t == NULL || bw_flowfilter_parse_time(t, 0, &ns) < 0)
		return t != NULL ? t : "-";
	sec = (time_t)(ns / 1000000000u);
	localtime_r(&sec, &tm);
	n = strftime(buf, len, "%b %e %H:%M:%S", &tm); /* hubble's StampMilli */
	snprintf(buf + n, len - n, ".%03u", (unsigned)(ns % 1000000000u / 1000000u));
	return buf;
}

static const char *
observe_identity(json_t *ep, char *buf, size_t len)
{
	json_int_t id = json_integer_value(json_object_get(ep, "identity"));
	const char *name = id >= 0 && id <= 0xffffffffLL
				   ? bw_flowfilter_identity_name((uint32_t)id) : NULL;

	if (name != NULL && id != 0)
		snprintf(buf, len, "(%s)", name);
	else
		snprintf(buf, len, "(ID:%lld)", (long long)id);
	return buf;
}

/*
 * ns/pod:port, else the DNS names learned for the address, comma-separated
 * (as hubble prints them), else ip:port ([ip]:port for IPv6)
 */
static const char *
observe_host(json_t *flow, int src, char *buf, size_t len)
{
	json_t *ep = json_object_get(flow, src ? "source" : "destination");
	json_t *ip = json_object_get(flow, "IP");
	json_t *l4 = json_object_get(flow, "l4"), *proto, *name;
	json_t *names = json_object_get(flow, src ? "source_names" : "destination_names");
	const char *ns = cli_json_str(ep, "namespace", NULL);
	const char *pod = cli_json_str(ep, "pod_name", NULL);
	const char *addr = cli_json_str(ip, src ? "source" : "destination", "");
	json_int_t port = 0;
	const char *k;
	size_t n, i;

	json_object_foreach(l4, k, proto) {
		if (!strcmp(k, "TCP") || !strcmp(k, "UDP") || !strcmp(k, "SCTP"))
			port = json_integer_value(json_object_get(proto,
					src ? "source_port" : "destination_port"));
	}
	if (pod != NULL) {
		n = (size_t)snprintf(buf, len, "%s/%s", ns != NULL ? ns : "", pod);
	} else if (json_array_size(names) > 0) {
		n = 0;
		json_array_foreach(names, i, name)
			if (json_is_string(name) && n < len)
				n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "",
						      json_string_value(name));
	} else if (strchr(addr, ':') != NULL && port != 0)
		n = (size_t)snprintf(buf, len, "[%s]", addr);
	else
		n = (size_t)snprintf(buf, len, "%s", addr);
	if (port != 0 && n < len)
		snprintf(buf + n, len - n, ":%lld", (long long)port);
	return buf;
}

static const char *
observe_drop_string(json_t *flow)
{
	json_int_t code = json_integer_value(json_object_get(flow, "drop_reason"));
	const char *desc = cli_json_str(flow, "drop_reason_desc", NULL);
	const char *s = NULL;

	if (code == 0 && desc != NULL && bw_dropreason_from_name(desc) > 0)
		code = bw_dropreason_from_name(desc);
	if (code > 0)
		s = bw_dropreason_string((int)code);
	return s != NULL ? s : desc != NULL ? desc : "drop";
}

/* hubble's compact TYPE of an L7 flow: http-request, dns-response proxy, ... */
static const char *
observe_l7_type(json_t *flow)
{
	json_t *l7 = json_object_get(flow, "l7");
	int resp = !strcmp(cli_json_str(l7, "type", ""), "RESPONSE");

	if (json_object_get(l7, "http") != NULL)
		return resp ? "http-response" : "http-request";
	if (json_object_get(l7, "dns") != NULL)
		return resp ? "dns-response proxy" : "dns-request proxy";
	if (json_object_get(l7, "kafka") != NULL)
		return resp ? "kafka-response" : "kafka-request";
	return resp ? "l7-response" : "l7-request";
}

static const char *
observe_type(json_t *flow, char *buf, size_t len)
{
	json_t *et = json_object_get(flow, "event_type");
	json_int_t type = json_integer_value(json_object_get(et, "type"));
	json_int_t sub = json_integer_value(json_object_get(et, "sub_type"));
	static const char *const points[] = {
		"to-endpoint", "to-proxy", "to-host", "to-stack", "to-overlay",
		"from-endpoint", "from-proxy", "from-host", "from-stack",
		"from-overlay", "from-network", "to-network", "from-crypto",
		"to-crypto",
	};
	const char *m;

	switch (type) {
	case 1:
		return observe_drop_string(flow);
	case 4:
		if (sub >= 0 && sub < (json_int_t)(sizeof(points) / sizeof(points[0])))
			return points[sub];
		snprintf(buf, len, "trace:%lld", (long long)sub);
		return buf;
	case 5:
		m = bw_flowjson_match_name((unsigned)json_integer_value(
			json_object_get(flow, "policy_match_type")));
		snprintf(buf, len, "policy-verdict:%s %s", m != NULL ? m : "none",
			 cli_json_str(flow, "traffic_direction", "TRAFFIC_DIRECTION_UNKNOWN"));
		return buf;
	case 129:
		return observe_l7_type(flow);
	}
	snprintf(buf, len, "%lld", (long long)type);
	return buf;
}

static const char *
observe_verdict(json_t *flow)
{
	const char *v = cli_json_str(flow, "verdict", "VERDICT_UNKNOWN");
	json_int_t type = json_integer_value(json_object_get(
		json_object_get(flow, "event_type"), "type"));

	if (type != 5)
		return v;
	if (!strcmp(v, "FORWARDED") || !strcmp(v, "REDIRECTED"))
		return "ALLOWED";
	if (!strcmp(v, "DROPPED") || !strcmp(v, "ERROR"))
		return "DENIED";
	if (!strcmp(v, "AUDIT"))
		return "AUDITED";
	return v;
}

static const char *
observe_arrow(json_t *flow)
{
	json_t *r = json_object_get(flow, "is_reply");

	if (r == NULL)
		return "<>";
	return json_is_true(r) ? "<-" : "->";
}

static void
observe_lost(struct observe *o, json_t *le)
{
	const char *n = cli_json_str(le, "num_events_lost", "?");

	if (o->fmt == OBS_TABLE) {
		fprintf(stderr, "EVENTS LOST: %s %s\n",
			cli_json_str(le, "source", "UNKNOWN_LOST_EVENT_SOURCE"), n);
		return;
	}
	printf("EVENTS LOST: %s %s\n",
	       cli_json_str(le, "source", "UNKNOWN_LOST_EVENT_SOURCE"), n);
}

static int
observe_line(json_t *resp, void *arg)
{
	struct observe *o = arg;
	json_t *flow = json_object_get(resp, "flow");
	char tbuf[64], sbuf[320], dbuf[320], sid[64], did[64], tybuf[96];
	const char *src, *dst, *sid_s, *did_s, *arrow, *type;

	if (o->fmt == OBS_JSON) {
		char *text = json_dumps(resp, JSON_COMPACT | JSON_PRESERVE_ORDER);

		if (text != NULL) {
			puts(text);
			free(text);
		}
		fflush(stdout);
		return 0;
	}
	if (flow == NULL) {
		json_t *le = json_object_get(resp, "lost_events");

		if (le != NULL)
			observe_lost(o, le);
		fflush(stdout);
		return 0;
	}
	o->flows++;
	observe_time(resp, flow, tbuf, sizeof(tbuf));
	src = observe_host(flow, 1, sbuf, sizeof(sbuf));
	dst = observe_host(flow, 0, dbuf, sizeof(dbuf));
	sid_s = observe_identity(json_object_get(flow, "source"), sid, sizeof(sid));
	did_s = observe_identity(json_object_get(flow, "destination"), did, sizeof(did));
	arrow = observe_arrow(flow);
	if (!strcmp(arrow, "<-")) {
		/* a reply: print the connection's direction, like hubble */
		const char *t = src;

		src = dst;
		dst = t;
		t = sid_s;
		sid_s = did_s;
		did_s = t;
	}
	type = observe_type(flow, tybuf, sizeof(tybuf));
	switch (o->fmt) {
	case OBS_COMPACT:
		printf("%s", tbuf);
		if (o->print_node)
			printf(" [%s]", cli_json_str(resp, "node_name", "-"));
		printf(": %s %s %s %s %s %s %s", src, sid_s, arrow, dst, did_s,
		       type, observe_verdict(flow));
		if (cli_json_str(flow, "Summary", NULL) != NULL)
			printf(" (%s)", cli_json_str(flow, "Summary", ""));
		printf("\n");
		break;
	case OBS_TABLE: {
		char s2[400], d2[400];
		const char *cells[7];

		snprintf(s2, sizeof(s2), "%s %s", src, sid_s);
		snprintf(d2, sizeof(d2), "%s %s", dst, did_s);
		cells[0] = tbuf;
		cells[1] = s2;
		cells[2] = d2;
		cells[3] = type;
		cells[4] = observe_verdict(flow);
		cells[5] = cli_json_str(flow, "Summary", "");
		cells[6] = NULL;
		cli_table_row(o->table, cells);
		break;
	}
	case OBS_DICT: {
		char s2[400], d2[400];
		const char *labels[] = {"TIMESTAMP", "SOURCE", "DESTINATION",
					"TYPE", "VERDICT", "SUMMARY", NULL};
		const char *values[7];

		snprintf(s2, sizeof(s2), "%s %s", src, sid_s);
		snprintf(d2, sizeof(d2), "%s %s", dst, did_s);
		values[0] = tbuf;
		values[1] = s2;
		values[2] = d2;
		values[3] = type;
		values[4] = observe_verdict(flow);
		values[5] = cli_json_str(flow, "Summary", "");
		values[6] = NULL;
		if (o->dict_sep)
			printf("------------\n");
		o->dict_sep = 1;
		cli_print_fields(stdout, labels, values);
		break;
	}
	case OBS_JSON:
		break;
	}
	fflush(stdout);
	return 0;
}

/* ---- the request ------------------------------------------------------------ */

static int
observe_urlenc(FILE *f, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-_.~", c) != NULL)
			fputc(c, f);
		else
			fprintf(f, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
	return 0;
}

static void
observe_param(FILE *f, const char *name, const char *value)
{
	fprintf(f, "%c%s=", ftell(f) > (long)strlen("/v1/flows") ? '&' : '?', name);
	observe_urlenc(f, value);
}

static void
observe_print_raw(json_t *wl, json_t *bl)
{
	/* the YAML `hubble observe --print-raw-filters` prints */
	for (int i = 0; i < 2; i++) {
		json_t *list = i == 0 ? wl : bl, *v;
		size_t j;

		if (json_array_size(list) == 0)
			continue;
		printf("%s:\n", i == 0 ? "allowlist" : "denylist");
		json_array_foreach(list, j, v) {
			char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);

			printf("    - '%s'\n", text != NULL ? text : "{}");
			free(text);
		}
	}
}

enum {
	OPT_LAST = 1000, OPT_FIRST, OPT_ALL, OPT_SINCE, OPT_UNTIL,
	OPT_RAW, OPT_NODE, OPT_NOT, OPT_FILTER,
};

static const struct option observe_opts[] = {
	{"help", no_argument, NULL, 'h'},
	{"output", required_argument, NULL, 'o'},
	{"follow", no_argument, NULL, 'f'},
	{"last", required_argument, NULL, OPT_LAST},
	{"first", required_argument, NULL, OPT_FIRST},
	{"all", no_argument, NULL, OPT_ALL},
	{"since", required_argument, NULL, OPT_SINCE},
	{"until", required_argument, NULL, OPT_UNTIL},
	{"print-raw-filters", no_argument, NULL, OPT_RAW},
	{"print-node-name", no_argument, NULL, OPT_NODE},
	{"not", no_argument, NULL, OPT_NOT},
	{"namespace", required_argument, NULL, 'n'},
	{"label", required_argument, NULL, 'l'},
	{"type", required_argument, NULL, 't'},
	{"from-namespace", required_argument, NULL, OPT_FILTER},
	{"to-namespace", required_argument, NULL, OPT_FILTER},
	{"pod", required_argument, NULL, OPT_FILTER},
	{"from-pod", required_argument, NULL, OPT_FILTER},
	{"to-pod", required_argument, NULL, OPT_FILTER},
	{"from-label", required_argument, NULL, OPT_FILTER},
	{"to-label", required_argument, NULL, OPT_FILTER},
	{"ip", required_argument, NULL, OPT_FILTER},
	{"from-ip", required_argument, NULL, OPT_FILTER},
	{"to-ip", required_argument, NULL, OPT_FILTER},
	{"identity", required_argument, NULL, OPT_FILTER},
	{"from-identity", required_argument, NULL, OPT_FILTER},
	{"to-identity", required_argument, NULL, OPT_FILTER},
	{"port", required_argument, NULL, OPT_FILTER},
	{"from-port", required_argument, NULL, OPT_FILTER},
	{"to-port", required_argument, NULL, OPT_FILTER},
	{"workload", required_argument, NULL, OPT_FILTER},
	{"from-workload", required_argument, NULL, OPT_FILTER},
	{"to-workload", required_argument, NULL, OPT_FILTER},
	{"fqdn", required_argument, NULL, OPT_FILTER},
	{"from-fqdn", required_argument, NULL, OPT_FILTER},
	{"to-fqdn", required_argument, NULL, OPT_FILTER},
	{"dns-query", required_argument, NULL, OPT_FILTER},
	{"verdict", required_argument, NULL, OPT_FILTER},
	{"protocol", required_argument, NULL, OPT_FILTER},
	{"traffic-direction", required_argument, NULL, OPT_FILTER},
	{"tcp-flags", required_argument, NULL, OPT_FILTER},
	{"drop-reason-desc", required_argument, NULL, OPT_FILTER},
	{"node-name", required_argument, NULL, OPT_FILTER},
	{"uuid", required_argument, NULL, OPT_FILTER},
	{"ip-version", required_argument, NULL, OPT_FILTER},
	{"http-status", required_argument, NULL, OPT_FILTER},
	{"http-method", required_argument, NULL, OPT_FILTER},
	{"http-path", required_argument, NULL, OPT_FILTER},
	{"http-url", required_argument, NULL, OPT_FILTER},
	{"http-header", required_argument, NULL, OPT_FILTER},
	{"kafka-topic", required_argument, NULL, OPT_FILTER},
	{"kafka-api-key", required_argument, NULL, OPT_FILTER},
	{NULL, 0, NULL, 0},
};

static int
observe_count(const char *flag, const char *s, unsigned long long *out)
{
	char *end;

	if (*s == '\0' || *s == '-' || (*out = strtoull(s, &end, 10), *end != '\0'))
		return cli_usage_error("observe", "--%s: '%s' is not a number", flag, s);
	return 0;
}

int
cmd_observe(int argc, char **argv)
{
	struct bw_flowfilter_builder fb;
	struct observe o = { .fmt = OBS_COMPACT };
	unsigned long long last = 0, first = 0;
	int have_last = 0, have_first = 0, all = 0, follow = 0, raw = 0;
	const char *since = NULL, *until = NULL, *flag;
	json_t *wl = NULL, *bl = NULL;
	char err[512], *path = NULL;
	size_t pathlen = 0;
	uint64_t tmp;
	FILE *pf;
	int c, idx, rc = 2, trc;

	bw_flowfilter_builder_init(&fb);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:fn:l:t:46", observe_opts, &idx)) != -1) {
		flag = NULL;
		switch (c) {
		case 'h':
			observe_usage(stdout);
			rc = 0;
			goto out;
		case 'o':
			if (!strcmp(optarg, "compact"))
				o.fmt = OBS_COMPACT;
			else if (!strcmp(optarg, "json") || !strcmp(optarg, "jsonpb"))
				o.fmt = OBS_JSON;
			else if (!strcmp(optarg, "table") || !strcmp(optarg, "tab"))
				o.fmt = OBS_TABLE;
			else if (!strcmp(optarg, "dict"))
				o.fmt = OBS_DICT;
			else {
				cli_usage_error("observe", "-o: unknown output '%s' (compact, json, jsonpb, table, dict)", optarg);
				goto out;
			}
			continue;
		case 'f':
			follow = 1;
			continue;
		case OPT_LAST:
			if (observe_count("last", optarg, &last))
				goto out;
			have_last = 1;
			continue;
		case OPT_FIRST:
			if (observe_count("first", optarg, &first))
				goto out;
			have_first = 1;
			continue;
		case OPT_ALL:
			all = 1;
			continue;
		case OPT_SINCE:
		case OPT_UNTIL:
			trc = bw_flowfilter_parse_time(optarg, 1, &tmp);
			if (trc == -ERANGE) {
				cli_usage_error("observe", "--%s: '%s' is longer than a duration can be (at most 2562047h)",
						c == OPT_SINCE ? "since" : "until", optarg);
				goto out;
			}
			if (trc < 0) {
				cli_usage_error("observe", "--%s: '%s' is neither a duration (3s, 4m, 1h43m) nor a time (RFC 3339)",
						c == OPT_SINCE ? "since" : "until", optarg);
				goto out;
			}
			*(c == OPT_SINCE ? &since : &until) = optarg;
			continue;
		case OPT_RAW:
			raw = 1;
			continue;
		case OPT_NODE:
			o.print_node = 1;
			continue;
		case OPT_NOT:
			flag = "not";
			break;
		case 'n':
			flag = "namespace";
			break;
		case 'l':
			flag = "label";
			break;
		case 't':
			flag = "type";
			break;
		case '4':
		case '6':
			flag = "ip-version";
			optarg = c == '4' ? "v4" : "v6";
			break;
		case OPT_FILTER:
			flag = observe_opts[idx].name;
			break;
		case ':':
			cli_usage_error("observe", "option '%s' needs a value", argv[optind - 1]);
			goto out;
		default:
			cli_usage_error("observe", "unknown option '%s'", argv[optind - 1]);
			goto out;
		}
		if (bw_flowfilter_builder_add(&fb, flag, c == OPT_NOT ? NULL : optarg,
					      err, sizeof(err)) < 0) {
			cli_usage_error("observe", "%s", err);
			goto out;
		}
	}
	if (optind < argc) {
		cli_usage_error("observe", "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (bw_flowfilter_builder_finish(&fb, &wl, &bl, err, sizeof(err)) < 0) {
		cli_usage_error("observe", "%s", err);
		goto out;
	}
	if (have_first && (have_last || all || follow)) {
		cli_usage_error("observe", "--first cannot be combined with --last, --all or --follow");
		goto out;
	}
	if (have_last && all) {
		cli_usage_error("observe", "--last cannot be combined with --all");
		goto out;
	}
	if (o.fmt == OBS_TABLE && follow) {
		cli_usage_error("observe", "-o table cannot be used with --follow");
		goto out;
	}
	if (raw) {
		observe_print_raw(wl, bl);
		rc = 0;
		goto out;
	}
	if (!have_last && !have_first && !all && !follow && since == NULL &&
	    until == NULL) {
		last = 20;
		have_last = 1;
	}

	pf = open_memstream(&path, &pathlen);
	if (pf == NULL) {
		perror(CLI_PROG ": observe");
		rc = 1;
		goto out;
	}
	fputs("/v1/flows", pf);
	if (have_first || (have_last && !all)) {
		char n[32];

		snprintf(n, sizeof(n), "%llu", have_first ? first : last);
		observe_param(pf, "number", n);
	}
	if (have_first)
		observe_param(pf, "first", "true");
	if (follow)
		observe_param(pf, "follow", "true");
	if (since != NULL)
		observe_param(pf, "since", since);
	if (until != NULL)
		observe_param(pf, "until", until);
	for (int i = 0; i < 2; i++) {
		json_t *list = i == 0 ? wl : bl;
		char *text;

		if (json_array_size(list) == 0)
			continue;
		text = json_dumps(list, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (text != NULL)
			observe_param(pf, i == 0 ? "whitelist" : "blacklist", text);
		free(text);
	}
	fclose(pf);

	if (o.fmt == OBS_TABLE) {
		static const char *const headers[] = {
			"TIMESTAMP", "SOURCE", "DESTINATION", "TYPE", "VERDICT",
			"SUMMARY", NULL,
		};

		o.table = cli_table_new(headers);
	}
	rc = cli_stream(path, observe_line, &o);
	if (o.table != NULL) {
		cli_table_print(o.table, stdout);
		o.table = NULL;
	}
	rc = rc == 0 ? 0 : 1;
out:
	free(path);
	json_decref(wl);
	json_decref(bl);
	bw_flowfilter_builder_free(&fb);
	return rc;
}
