/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/cmd_policy.c - bulwark policy (import, replace, delete, list, get,
 * trace, resolved).
 *
 * import and replace send the file as it is (YAML or JSON, one or many
 * documents); the daemon reads, translates and compiles every document
 * before it changes anything and answers with a message naming the
 * document, line, field and reason. Like every verb that changes state,
 * they return once the datapath enforces the change.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "client.h"
#include "output.h"
#include "adoption.h"

static void policy_usage(FILE *f)
{
	fprintf(f,
		"Usage: " CLI_PROG " policy import FILE|- [--namespace NS]\n"
		"       " CLI_PROG " policy replace FILE|- [--namespace NS]\n"
		"       " CLI_PROG " policy delete [NS/]NAME [--kind KIND]\n"
		"       " CLI_PROG " policy list [-o table|json]\n"
		"       " CLI_PROG " policy get [NS/]NAME [--kind KIND] [-o json]\n"
		"       " CLI_PROG " policy trace --from NS/POD --to NS/POD|IP --port N\n"
		"                [--protocol TCP|UDP|SCTP|ICMP|ICMPv6] [-o table|json]\n"
		"       " CLI_PROG " policy resolved NS/POD [-o table|json]\n"
		"\n"
		"Manage the API-managed policies (files in policy.dir are managed by\n"
		"editing the files) and ask what the datapath enforces.\n"
		"\n"
		"  import    add or update every policy of a YAML/JSON file (several\n"
		"            documents, `---` separated, or a List), all or nothing.\n"
		"            Kinds: Kubernetes NetworkPolicy, CiliumNetworkPolicy,\n"
		"            CiliumClusterwideNetworkPolicy (as the loaded modules accept),\n"
		"            and `cilium policy import` JSON: a list of Cilium rules with\n"
		"            their labels; the policy's name is the rule's name label (else\n"
		"            the file's name), its namespace the rule's\n"
		"            io.cilium.k8s.policy.namespace label, else --namespace NS,\n"
		"            else none (a cluster-wide policy).\n"
		"  replace   make the API-managed set exactly the file's policies (an\n"
		"            empty file removes them all), all or nothing.\n"
		"  delete    remove an API-managed policy. Without NS: a cluster-wide\n"
		"            policy, or the only policy of that name.\n"
		"  list      every policy: namespace, name, kind, revision, source, rule\n"
		"            count and how many local endpoints it selects.\n"
		"  get       one policy with its rules in bulwark's canonical form.\n"
		"  trace     would FROM reach TO on PORT? The answer is read from the\n"
		"            policy map the kernel uses: the egress check of FROM and the\n"
		"            ingress check of TO (when they are local endpoints), each with\n"
		"            its verdict and the policy and rule behind it.\n"
		"  resolved  the policy map entries of an endpoint as bulwark computed\n"
		"            them, and whether the kernel's map holds exactly those.\n"
		"\n"
		"Options:\n"
		"  --kind KIND        NetworkPolicy, CiliumNetworkPolicy, ... when a name\n"
		"                     is used by several kinds\n"
		"  --from NS/POD      source endpoint (or an IP address)\n"
		"  --to NS/POD|IP     destination endpoint or address\n"
		"  --port N           destination port (ICMP: the ICMP type)\n"
		"  --protocol P       TCP (default), UDP, SCTP, ICMP, ICMPv6\n"
		"  -o, --output FMT   table (default) or json\n"
		"  -h, --help         show this help\n"
		"\n"
		"Exit status: 0 on success (trace: whatever the verdict), 1 when the\n"
		"daemon refused or failed (nothing changed), 2 on a usage error.\n");
}

/* Percent-encode a path segment or query value. */
static char *policy_urlenc(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(strlen(s) * 3 + 1), *o = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
		    c == '~' || c == '/') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}


static const char *policy_int_str(json_t *v, char *buf, size_t len)
{
	if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else
		snprintf(buf, len, "-");
	return buf;
}

static void policy_print_table(json_t *arr)
{
	static const char *const hdr[] = { "NAMESPACE", "NAME", "KIND", "REVISION",
					   "RULES", "ENDPOINTS", "SOURCE", NULL };
	struct cli_table *t = cli_table_new(hdr);
	size_t i;
	json_t *p;

	json_array_foreach(arr, i, p) {
		char rev[32], rules[32], eps[32], src[512];
		const char *ns = cli_json_str(p, "namespace", "");
		const char *cells[] = {
			*ns ? ns : "(cluster)",
			cli_json_str(p, "name", "-"),
			cli_json_str(p, "kind", "-"),
			policy_int_str(json_object_get(p, "revision"), rev, sizeof(rev)),
			policy_int_str(json_object_get(p, "rules_count"), rules, sizeof(rules)),
			policy_int_str(json_object_get(p, "selected_endpoints"), eps, sizeof(eps)),
			src,
		};

		/* a staged policy is resolved, not enforced: say so where it is listed */
		snprintf(src, sizeof(src), "%s%s", cli_json_str(p, "source", "-"),
			 json_is_true(json_object_get(p, "staged")) ? " (staged)" : "");
		cli_table_row(t, cells);
	}
	cli_table_print(t, stdout);
}

static int policy_load(const char *verb, int argc, char **argv)
{
	const char *method = strcmp(verb, "replace") ? "POST" : "PUT";
	const char *file = NULL, *ns = NULL;
	char *data, *src, *nsq, *path;
	size_t len = 0, plen;
	json_t *reply = NULL;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--namespace") || !strcmp(argv[i], "-n")) {
			if (i + 1 >= argc)
				return cli_usage_error("policy", "%s needs a namespace", argv[i]);
			ns = argv[++i];
		} else if (!strncmp(argv[i], "--namespace=", 12)) {
			ns = argv[i] + 12;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return cli_usage_error("policy", "%s: unknown option %s", verb, argv[i]);
		} else if (file) {
			return cli_usage_error("policy", "%s needs one FILE (or - for stdin)", verb);
		} else {
			file = argv[i];
		}
	}
	if (!file)
		return cli_usage_error("policy", "%s needs one FILE (or - for stdin)", verb);
	data = cli_read_input(file, &len);
	if (!data)
		return 1;
	src = policy_urlenc(strcmp(file, "-") ? file : "stdin");
	nsq = ns ? policy_urlenc(ns) : NULL;
	plen = 64 + (src ? strlen(src) : 0) + (nsq ? strlen(nsq) : 0);
	path = malloc(plen);
	if (!path || !src || (ns && !nsq)) {
		free(path);
		free(src);
		free(nsq);
		free(data);
		fprintf(stderr, "bulwark: out of memory\n");
		return 1;
	}
	snprintf(path, plen, "/v1/policies?source=%s%s%s", src, nsq ? "&namespace=" : "",
		 nsq ? nsq : "");
	free(src);
	free(nsq);
	rc = cli_call_raw(method, path, "application/yaml", data, len, &reply);
	free(data);
	free(path);
	if (rc != 200) {
		json_decref(reply);
		return 1;
	}
	printf("%s: %lld policies, %lld changed; %lld policies in total\n", file,
	       (long long)json_array_size(json_object_get(reply, "policies")),
	       (long long)json_integer_value(json_object_get(reply, "changed")),
	       (long long)json_integer_value(json_object_get(reply, "total")));
	if (json_array_size(json_object_get(reply, "policies")))
		policy_print_table(json_object_get(reply, "policies"));
	json_decref(reply);
	return 0;
}

struct policy_opts {
	const char *kind, *from, *to, *port, *proto;
	enum cli_format fmt;
	int nargs;
	char *args[4];
};

/* Parse options common to the sub-verbs; returns 0, or an exit status. */
static int policy_opts_parse(int argc, char **argv, struct policy_opts *o)
{
	static const struct option lo[] = {
		{ "kind", required_argument, NULL, 'k' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "protocol", required_argument, NULL, 'P' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
		switch (c) {
		case 'k':
			o->kind = optarg;
			break;
		case 'f':
			o->from = optarg;
			break;
		case 't':
			o->to = optarg;
			break;
		case 'p':
			o->port = optarg;
			break;
		case 'P':
			o->proto = optarg;
			break;
		case 'o':
			if (cli_output_parse("policy", optarg, &o->fmt) < 0)
				return 2;
			break;
		case 'h':
			policy_usage(stdout);
			return -1;
		default:
			return cli_usage_error("policy", "unknown option");
		}
	}
	for (; optind < argc; optind++) {
		if (o->nargs == 4)
			return cli_usage_error("policy", "too many arguments");
		o->args[o->nargs++] = argv[optind];
	}
	return 0;
}

static char *policy_named_path(const char *name, const char *kind)
{
	char *n = policy_urlenc(name), *k = kind ? policy_urlenc(kind) : NULL, *path;

	if (!n || (kind && !k)) {
		free(n);
		free(k);
		return NULL;
	}
	path = cli_pathf("/v1/policies/%s%s%s", n, k ? "?kind=" : "", k ? k : "");
	free(n);
	free(k);
	return path;
}

static int policy_list(struct policy_opts *o)
{
	json_t *reply = NULL;
	int rc = cli_call("GET", "/v1/policies", NULL, &reply);

	if (rc != 200) {
		json_decref(reply);
		return 1;
	}
	if (o->fmt == CLI_OUT_JSON)
		cli_print_json(json_object_get(reply, "policies"));
	else
		policy_print_table(json_object_get(reply, "policies"));
	json_decref(reply);
	return 0;
}

static int policy_get_delete(const char *verb, struct policy_opts *o)
{
	char *path;
	json_t *reply = NULL;
	int rc;

	if (o->nargs != 1)
		return cli_usage_error("policy", "%s needs [NS/]NAME", verb);
	if (!(path = policy_named_path(o->args[0], o->kind)))
		return 1;
	rc = cli_call(strcmp(verb, "delete") ? "GET" : "DELETE", path, NULL, &reply);
	free(path);
	if (rc != 200) {
		json_decref(reply);
		return 1;
	}
	if (!strcmp(verb, "delete")) {
		const char *ns = cli_json_str(reply, "namespace", "");

		printf("deleted %s %s%s%s\n", cli_json_str(reply, "kind", ""), ns,
		       *ns ? "/" : "", cli_json_str(reply, "name", ""));
	} else {
		cli_print_json(reply);
	}
	json_decref(reply);
	return 0;
}

static void policy_print_step(json_t *s)
{
	json_t *pol = json_object_get(s, "policy");
	const char *verdict = cli_json_str(s, "verdict", "?");

	printf("  %s of %s: %s, %s", cli_json_str(s, "direction", "?"),
	       cli_json_str(s, "endpoint", "?"),
	       json_is_true(json_object_get(s, "enforced")) ? "enforced" : "not enforced",
	       verdict);
	if (json_object_get(s, "match_type") && strcmp(cli_json_str(s, "match_type", "none"), "none"))
		printf(" (match %s)", cli_json_str(s, "match_type", ""));
	printf("\n    %s\n", cli_json_str(s, "reason", ""));
	if (json_is_object(json_object_get(s, "proxy"))) {
		json_t *px = json_object_get(s, "proxy"), *r;
		size_t i;

		printf("    proxy: %s, port %lld\n", cli_json_str(px, "class", "?"),
		       (long long)json_integer_value(json_object_get(px, "port")));
		json_array_foreach(json_object_get(px, "l7_rules"), i, r) {
			char *txt;
			json_t *copy = json_deep_copy(r);

			json_object_del(copy, "policy");
			json_object_del(copy, "rule_ref");
			json_object_del(copy, "rule_index");
			json_object_del(copy, "direction");
			json_object_del(copy, "entry_index");
			json_object_del(copy, "port_index");
			txt = json_dumps(copy, JSON_COMPACT);
			printf("    L7 rule of %s %s%s%s: %s\n",
			       cli_json_str(json_object_get(r, "policy"), "kind", "?"),
			       cli_json_str(json_object_get(r, "policy"), "namespace", ""),
			       *cli_json_str(json_object_get(r, "policy"), "namespace", "") ? "/" : "",
			       cli_json_str(json_object_get(r, "policy"), "name", "?"),
			       txt ? txt : "?");
			free(txt);
			json_decref(copy);
		}
	}
	if (json_is_object(pol)) {
		const char *ns = cli_json_str(pol, "namespace", "");

		printf("    policy: %s %s%s%s, rule %lld, %s entry %lld, revision %lld%s\n",
		       cli_json_str(pol, "kind", ""), ns, *ns ? "/" : "",
		       cli_json_str(pol, "name", ""),
		       (long long)json_integer_value(json_object_get(pol, "rule_index")),
		       cli_json_str(pol, "direction", ""),
		       (long long)json_integer_value(json_object_get(pol, "entry_index")),
		       (long long)json_integer_value(json_object_get(pol, "revision")),
		       json_is_false(json_object_get(pol, "current")) ? " (since changed)" : "");
	}
}

static int policy_trace(struct policy_opts *o)
{
	char *path;
	char *f, *t, *p, *pr;
	json_t *reply = NULL, *steps, *s;
	size_t i;
	int rc;

	if (o->nargs)
		return cli_usage_error("policy", "trace takes options only");
	if (!o->from || !o->to)
		return cli_usage_error("policy", "trace needs --from and --to");
	if (!o->port && (!o->proto || (strcasecmp(o->proto, "ICMP") &&
				       strcasecmp(o->proto, "ICMPv6"))))
		return cli_usage_error("policy", "trace needs --port");
	f = policy_urlenc(o->from);
	t = policy_urlenc(o->to);
	p = policy_urlenc(o->port ? o->port : "");
	pr = policy_urlenc(o->proto ? o->proto : "TCP");
	path = cli_pathf("/v1/policy/trace?from=%s&to=%s&port=%s&protocol=%s", f ? f : "",
			 t ? t : "", p ? p : "", pr ? pr : "");
	free(f);
	free(t);
	free(p);
	free(pr);
	rc = cli_call("GET", path, NULL, &reply);
	free(path);
	if (rc != 200) {
		json_decref(reply);
		return 1;
	}
	if (o->fmt == CLI_OUT_JSON) {
		cli_print_json(reply);
		json_decref(reply);
		return 0;
	}
	printf("%s (identity %lld) -> %s (identity %lld) %s/%lld\n",
	       cli_json_str(reply, "from", "?"),
	       (long long)json_integer_value(json_object_get(reply, "from_identity")),
	       cli_json_str(reply, "to", "?"),
	       (long long)json_integer_value(json_object_get(reply, "to_identity")),
	       cli_json_str(reply, "protocol", "?"),
	       (long long)json_integer_value(json_object_get(reply, "port")));
	/* an ipBlock split the address off its endpoint's identity */
	if (json_object_get(reply, "from_identity_split_of"))
		printf("  identity %lld: the address of %s that an ipBlock splits off identity %lld\n",
		       (long long)json_integer_value(json_object_get(reply, "from_identity")),
		       cli_json_str(reply, "from", "?"),
		       (long long)json_integer_value(json_object_get(reply, "from_identity_split_of")));
	if (json_object_get(reply, "to_identity_split_of"))
		printf("  identity %lld: the address of %s that an ipBlock splits off identity %lld\n",
		       (long long)json_integer_value(json_object_get(reply, "to_identity")),
		       cli_json_str(reply, "to", "?"),
		       (long long)json_integer_value(json_object_get(reply, "to_identity_split_of")));
	steps = json_object_get(reply, "steps");
	json_array_foreach(steps, i, s)
		policy_print_step(s);
	printf("Verdict: %s\n", cli_json_str(reply, "verdict", "?"));
	json_decref(reply);
	return 0;
}

static void policy_join_labels(json_t *arr, char *buf, size_t len)
{
	size_t i;
	json_t *l;

	buf[0] = '\0';
	json_array_foreach(arr, i, l) {
		size_t n = strlen(buf);

		snprintf(buf + n, len - n, "%s%s", i ? "," : "",
			 json_is_string(l) ? json_string_value(l) : "?");
	}
}

static void policy_iso_names(json_t *arr, char *buf, size_t len)
{
	size_t i;
	json_t *p;

	snprintf(buf, len, "-");
	json_array_foreach(arr, i, p) {
		size_t n = i ? strlen(buf) : 0;
		const char *ns = cli_json_str(p, "namespace", "");

		snprintf(buf + n, len - n, "%s%s %s%s%s", i ? ", " : "",
			 cli_json_str(p, "kind", ""), ns, *ns ? "/" : "",
			 cli_json_str(p, "name", ""));
	}
}

static int policy_resolved(struct policy_opts *o)
{
	static const char *const hdr[] = { "DIRECTION", "PEER", "LABELS", "PROTO", "PORTS",
					   "ACTION", "POLICY", NULL };
	char *path, *n, iso_in[1024], iso_eg[1024];
	json_t *reply = NULL, *flags, *e;
	struct cli_table *t;
	size_t i;
	int rc;

	if (o->nargs != 1)
		return cli_usage_error("policy", "resolved needs NS/POD");
	n = policy_urlenc(o->args[0]);
	path = cli_pathf("/v1/policy/resolved/%s", n ? n : "");
	free(n);
	rc = cli_call("GET", path, NULL, &reply);
	free(path);
	if (rc != 200) {
		json_decref(reply);
		return 1;
	}
	if (o->fmt == CLI_OUT_JSON) {
		cli_print_json(reply);
		json_decref(reply);
		return 0;
	}
	flags = json_object_get(reply, "flags");
	policy_iso_names(json_object_get(json_object_get(reply, "isolated_by"), "ingress"),
			 iso_in, sizeof(iso_in));
	policy_iso_names(json_object_get(json_object_get(reply, "isolated_by"), "egress"),
			 iso_eg, sizeof(iso_eg));
	printf("Endpoint %s (id %lld, identity %lld)\n", cli_json_str(reply, "endpoint", "?"),
	       (long long)json_integer_value(json_object_get(reply, "endpoint_id")),
	       (long long)json_integer_value(json_object_get(reply, "identity")));
	printf("  ingress: %s; isolated by: %s\n",
	       json_is_true(json_object_get(flags, "enforce_ingress")) ? "enforced" : "not enforced",
	       iso_in);
	printf("  egress:  %s; isolated by: %s\n",
	       json_is_true(json_object_get(flags, "enforce_egress")) ? "enforced" : "not enforced",
	       iso_eg);
	printf("  audit:   %s\n", json_is_true(json_object_get(flags, "audit")) ? "on" : "off");
	t = cli_table_new(hdr);
	json_array_foreach(json_object_get(reply, "entries"), i, e) {
		char peer[32], labels[1024], ports[32], pol[512], action[80];
		json_t *p = json_object_get(e, "policy");
		long long lo = json_integer_value(json_object_get(e, "port_lo"));
		long long hi = json_integer_value(json_object_get(e, "port_hi"));
		const char *cells[7];

		snprintf(peer, sizeof(peer), "%lld",
			 (long long)json_integer_value(json_object_get(e, "identity")));
		policy_join_labels(json_object_get(e, "labels"), labels, sizeof(labels));
		if (!lo && !hi)
			snprintf(ports, sizeof(ports), "*");
		else if (lo == hi)
			snprintf(ports, sizeof(ports), "%lld", lo);
		else
			snprintf(ports, sizeof(ports), "%lld-%lld", lo, hi);
		if (json_is_object(p)) {
			const char *ns = cli_json_str(p, "namespace", "");

			snprintf(pol, sizeof(pol), "%s %s%s%s rule %lld",
				 cli_json_str(p, "kind", ""), ns, *ns ? "/" : "",
				 cli_json_str(p, "name", ""),
				 (long long)json_integer_value(json_object_get(p, "rule_index")));
		} else {
			snprintf(pol, sizeof(pol), "(not default-deny: deny rules only)");
		}
		cells[0] = cli_json_str(e, "direction", "?");
		cells[1] = peer;
		cells[2] = labels;
		cells[3] = cli_json_str(e, "protocol", "?");
		cells[4] = ports;
		if (json_is_string(json_object_get(e, "proxy_class"))) {
			snprintf(action, sizeof(action), "redirect:%s",
				 cli_json_str(e, "proxy_class", "?"));
			cells[5] = action;
		} else {
			cells[5] = cli_json_str(e, "action", "?");
		}
		cells[6] = pol;
		cli_table_row(t, cells);
	}
	cli_table_print(t, stdout);
	if (json_is_boolean(json_object_get(reply, "in_sync")))
		printf("Kernel map: %lld entries, %s\n",
		       (long long)json_integer_value(json_object_get(reply, "map_entries")),
		       json_is_true(json_object_get(reply, "in_sync"))
			       ? "the same as the resolved state"
			       : "DIFFERENT from the resolved state");
	else
		printf("Kernel map: could not be read\n");
	json_decref(reply);
	return 0;
}

int cmd_policy(int argc, char **argv)
{
	struct policy_opts o;
	const char *sub;
	int rc;

	if (argc < 2) {
		policy_usage(stderr);
		return 2;
	}
	sub = argv[1];
	if (!strcmp(sub, "-h") || !strcmp(sub, "--help") || !strcmp(sub, "help")) {
		policy_usage(stdout);
		return 0;
	}
	if (!strcmp(sub, "import") || !strcmp(sub, "replace")) {
		if (argc == 3 && (!strcmp(argv[2], "-h") || !strcmp(argv[2], "--help"))) {
			policy_usage(stdout);
			return 0;
		}
		return policy_load(sub, argc - 1, argv + 1);
	}
	rc = policy_opts_parse(argc - 1, argv + 1, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (!strcmp(sub, "list"))
		return o.nargs ? cli_usage_error("policy", "list takes no argument")
			       : policy_list(&o);
	if (!strcmp(sub, "get") || !strcmp(sub, "delete"))
		return policy_get_delete(sub, &o);
	if (!strcmp(sub, "trace"))
		return policy_trace(&o);
	if (!strcmp(sub, "resolved"))
		return policy_resolved(&o);
	return cli_usage_error("policy", "unknown sub-command '%s'", sub);
}
