/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/cmd_endpoint.c - bulwark endpoint (add, update, delete, list, get) and
 * bulwark namespace (set, list).
 *
 * The CLI checks only the shape of its arguments (NS/POD, K=V); the daemon
 * validates everything else and answers with a message naming the field,
 * which the client prints. A verb that changes state returns once the
 * daemon has applied the change to the datapath.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "output.h"

static void endpoint_usage(FILE *f)
{
	fprintf(f,
		"Usage: " CLI_PROG " endpoint add NS/POD --host-ifname IF --ip ADDR [--ip ADDR]\n"
		"                [--label K=V]... [--named-port NAME=PORT/PROTO]... [--audit on|off]\n"
		"                [--workload KIND/NAME] [--proxy-visibility SPEC]\n"
		"       " CLI_PROG " endpoint update NS/POD [--label K=V]... [--audit on|off]\n"
		"                [--workload KIND/NAME|none] [--proxy-visibility SPEC|none]\n"
		"       " CLI_PROG " endpoint delete NS/POD\n"
		"       " CLI_PROG " endpoint list [-o table|json]\n"
		"       " CLI_PROG " endpoint get NS/POD [-o table|json]\n"
		"\n"
		"Manage the workloads (endpoints) bulwarkd enforces policy for.\n"
		"\n"
		"  add     register the pod POD of namespace NS whose host-side veth is IF,\n"
		"          with its addresses (IPv4 and/or IPv6), pod labels and named ports\n"
		"          (PROTO is TCP, UDP or SCTP). The endpoint is enforced when the\n"
		"          command returns.\n"
		"  update  replace the pod's labels with the --label options given (no\n"
		"          --label at all: no labels); with only --audit, --workload and/or\n"
		"          --proxy-visibility, those change and the labels stay.\n"
		"  delete  remove the endpoint and its datapath state.\n"
		"  list    every endpoint: id, addresses, identity, audit, labels, workload.\n"
		"  get     one endpoint, with its identity and information labels.\n"
		"\n"
		"Options:\n"
		"  --host-ifname IF          host-side interface of the pod's veth pair (not lo,\n"
		"                            not an interface holding the node's addresses)\n"
		"  --ip ADDR                 an address of the pod (repeat for IPv4 + IPv6)\n"
		"  --label K=V               a pod label (repeat); Kubernetes key/value rules\n"
		"  --named-port N=PORT/PROTO a named container port, e.g. http=8080/TCP\n"
		"  --audit on|off            audit mode: policy drops become AUDIT verdicts\n"
		"  --workload KIND/NAME      the workload the pod belongs to, e.g.\n"
		"                            Deployment/web, StatefulSet/db, DaemonSet/agent\n"
		"                            (flows show it as `workloads`). Without it, the\n"
		"                            pod name tells when it is unambiguous:\n"
		"                            NAME-<hash>-<xxxxx> is Deployment NAME,\n"
		"                            NAME-<N> is StatefulSet NAME. 'none' (update)\n"
		"                            forgets a given workload\n"
		"  --proxy-visibility SPEC   send these ports through the local proxies\n"
		"                            with every request allowed, to see L7 flows\n"
		"                            before writing L7 rules: Cilium's\n"
		"                            <Direction/Port/L4Proto/L7Proto>,... e.g.\n"
		"                            '<Ingress/80/TCP/HTTP>,<Egress/53/ANY/DNS>'\n"
		"                            ('none' clears it). Never widens policy\n"
		"                            (docs/redirect.md, \"Visibility\")\n"
		"  -o, --output FMT          table (default) or json\n"
		"  -h, --help                show this help\n");
}

static void namespace_usage(FILE *f)
{
	fprintf(f,
		"Usage: " CLI_PROG " namespace set NS [--label K=V]... [--audit on|off]\n"
		"       " CLI_PROG " namespace list [-o table|json]\n"
		"\n"
		"  set   replace the labels of namespace NS (kubernetes.io/metadata.name=NS\n"
		"        is always present). Every endpoint of NS gets the new labels as\n"
		"        k8s:io.cilium.k8s.namespace.labels.<K>=<V>, hence new identities.\n"
		"        --audit sets the namespace's audit mode (left alone when absent).\n"
		"  list  namespaces, their labels, audit mode and number of endpoints.\n"
		"\n"
		"Options:\n"
		"  --label K=V     a namespace label (repeat)\n"
		"  --audit on|off  audit mode for every endpoint of the namespace\n"
		"  -o, --output FMT  table (default) or json\n"
		"  -h, --help      show this help\n");
}

/* ---- argument helpers --------------------------------------------------- */

static int ep_split_name(const char *verb, const char *arg, char *ns, size_t nslen,
			 const char **pod)
{
	const char *slash = strchr(arg, '/');

	if (!slash || slash == arg || !slash[1] || strchr(slash + 1, '/') ||
	    (size_t)(slash - arg) >= nslen) {
		cli_usage_error(verb, "'%s' is not NAMESPACE/POD", arg);
		return -1;
	}
	memcpy(ns, arg, (size_t)(slash - arg));
	ns[slash - arg] = '\0';
	*pod = slash + 1;
	return 0;
}

static int ep_add_label(const char *verb, json_t *labels, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *key;
	int rc = 0;

	if (!eq || eq == arg) {
		cli_usage_error(verb, "--label '%s' is not KEY=VALUE", arg);
		return -1;
	}
	key = strndup(arg, (size_t)(eq - arg));
	if (!key)
		return -1;
	if (json_object_get(labels, key)) {
		cli_usage_error(verb, "label key '%s' is given twice", key);
		rc = -1;
	} else {
		json_object_set_new(labels, key, json_string(eq + 1));
	}
	free(key);
	return rc;
}

static int ep_parse_onoff(const char *verb, const char *arg, int *v)
{
	if (!strcmp(arg, "on") || !strcmp(arg, "true") || !strcmp(arg, "yes"))
		*v = 1;
	else if (!strcmp(arg, "off") || !strcmp(arg, "false") || !strcmp(arg, "no"))
		*v = 0;
	else {
		cli_usage_error(verb, "--audit takes on or off, not '%s'", arg);
		return -1;
	}
	return 0;
}

static void ep_join_labels(json_t *labels, char *buf, size_t len)
{
	const char *k;
	json_t *v;
	size_t off = 0;

	buf[0] = '\0';
	json_object_foreach(labels, k, v) {
		const char *s = json_string_value(v);
		int n = snprintf(buf + off, len - off, "%s%s%s%s", off ? "," : "", k,
				 s && *s ? "=" : "", s ? s : "");

		if (n < 0 || (size_t)n >= len - off) {
			if (len > 4)
				snprintf(buf + len - 4, 4, "...");
			return;
		}
		off += (size_t)n;
	}
}

static void ep_join_array(json_t *a, const char *sep, char *buf, size_t len)
{
	size_t i, off = 0;
	json_t *v;

	buf[0] = '\0';
	json_array_foreach(a, i, v) {
		int n = snprintf(buf + off, len - off, "%s%s", off ? sep : "",
				 json_string_value(v) ? json_string_value(v) : "?");

		if (n < 0 || (size_t)n >= len - off)
			return;
		off += (size_t)n;
	}
}

/* ---- endpoint ------------------------------------------------------------ */

enum {
	OPT_IFNAME = 256,
	OPT_IP,
	OPT_LABEL,
	OPT_NAMED_PORT,
	OPT_AUDIT,
	OPT_WORKLOAD,
	OPT_VISIBILITY,
};

static int ep_add_or_update(int argc, char **argv, int add)
{
	static const struct option opts[] = {
		{ "host-ifname", required_argument, NULL, OPT_IFNAME },
		{ "ip", required_argument, NULL, OPT_IP },
		{ "label", required_argument, NULL, OPT_LABEL },
		{ "named-port", required_argument, NULL, OPT_NAMED_PORT },
		{ "audit", required_argument, NULL, OPT_AUDIT },
		{ "workload", required_argument, NULL, OPT_WORKLOAD },
		{ "proxy-visibility", required_argument, NULL, OPT_VISIBILITY },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *verb = add ? "endpoint add" : "endpoint update";
	const char *workload = NULL, *visibility = NULL;
	json_t *body = json_object(), *labels = json_object(), *ips = json_array(),
	       *ports = json_array(), *reply = NULL;
	const char *ifname = NULL, *pod;
	char ns[256], *path;
	int c, audit = -1, rc = 2, status, nlabels = 0;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_IFNAME:
			if (!add)
				goto not_for_update;
			ifname = optarg;
			break;
		case OPT_IP:
			if (!add)
				goto not_for_update;
			json_array_append_new(ips, json_string(optarg));
			break;
		case OPT_LABEL:
			if (ep_add_label(verb, labels, optarg) < 0)
				goto out;
			nlabels++;
			break;
		case OPT_NAMED_PORT:
			if (!add)
				goto not_for_update;
			json_array_append_new(ports, json_string(optarg));
			break;
		case OPT_AUDIT:
			if (ep_parse_onoff(verb, optarg, &audit) < 0)
				goto out;
			break;
		case OPT_WORKLOAD: {
			const char *sl = strchr(optarg, '/');

			if (!add && !strcmp(optarg, "none")) {
				workload = optarg;
				break;
			}
			if (!sl || sl == optarg || !sl[1] || strchr(sl + 1, '/')) {
				rc = cli_usage_error(verb, "--workload '%s' is not KIND/NAME (e.g. Deployment/web)%s",
						     optarg, add ? "" : ", or none");
				goto out;
			}
			workload = optarg;
			break;
		}
		case OPT_VISIBILITY:
			visibility = optarg;
			break;
		case 'h':
			endpoint_usage(stdout);
			rc = 0;
			goto out;
		case ':':
			rc = cli_usage_error(verb, "option '%s' needs a value", argv[optind - 1]);
			goto out;
		default:
			rc = cli_usage_error(verb, "unknown option '%s'", argv[optind - 1]);
			goto out;
		}
	}
	if (optind >= argc) {
		rc = cli_usage_error(verb, "missing NAMESPACE/POD");
		goto out;
	}
	if (optind + 1 < argc) {
		rc = cli_usage_error(verb, "unexpected argument '%s'", argv[optind + 1]);
		goto out;
	}
	if (ep_split_name(verb, argv[optind], ns, sizeof(ns), &pod) < 0)
		goto out;
	if (add) {
		if (!ifname) {
			rc = cli_usage_error(verb, "--host-ifname is required");
			goto out;
		}
		if (json_array_size(ips) == 0) {
			rc = cli_usage_error(verb, "at least one --ip is required");
			goto out;
		}
		json_object_set_new(body, "namespace", json_string(ns));
		json_object_set_new(body, "pod", json_string(pod));
		json_object_set_new(body, "host_ifname", json_string(ifname));
		json_object_set(body, "ips", ips);
		if (json_array_size(ports))
			json_object_set(body, "named_ports", ports);
	}
	/* update: the labels given replace the pod's; with only --audit
	 * and/or --workload given, the labels stay as they are. */
	if (add || nlabels || (audit < 0 && !workload && !visibility))
		json_object_set(body, "labels", labels);
	if (visibility)
		json_object_set_new(body, "proxy_visibility", json_string(visibility));
	if (audit >= 0)
		json_object_set_new(body, "audit", json_boolean(audit));
	if (workload)
		json_object_set_new(body, "workload", strcmp(workload, "none") ?
				    json_string(workload) : json_null());
	if (add) {
		status = cli_call("POST", "/v1/endpoints", body, &reply);
	} else {
		path = cli_pathf("/v1/endpoints/%s/%s", ns, pod);
		status = cli_call("PUT", path, body, &reply);
		free(path);
	}
	if (status != 200 && status != 201) {
		rc = 1;
		goto out;
	}
	printf("endpoint %s/%s %s: id %lld, identity %lld\n", ns, pod,
	       add ? "added" : "updated",
	       (long long)json_integer_value(json_object_get(reply, "id")),
	       (long long)json_integer_value(json_object_get(reply, "identity")));
	rc = 0;
	goto out;
not_for_update:
	rc = cli_usage_error(verb, "'%s' is only for endpoint add (delete and add again)",
			     argv[optind - 1]);
out:
	json_decref(body);
	json_decref(labels);
	json_decref(ips);
	json_decref(ports);
	json_decref(reply);
	return rc;
}

/* Parse [-o FMT] and exactly nargs positional arguments. */
static int ep_simple_opts(const char *verb, int argc, char **argv, int nargs,
			  enum cli_format *fmt, void (*usage)(FILE *))
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!fmt)
				return cli_usage_error(verb, "unknown option '%s'",
						       argv[optind - 1]);
			if (cli_output_parse(verb, optarg, fmt) < 0)
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			return cli_usage_error(verb, "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error(verb, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind < nargs)
		return cli_usage_error(verb, "missing argument");
	if (argc - optind > nargs)
		return cli_usage_error(verb, "unexpected argument '%s'", argv[optind + nargs]);
	return -1; /* go on */
}

static int ep_delete(int argc, char **argv)
{
	const char *pod;
	char ns[256], *path;
	json_t *reply = NULL;
	int rc = ep_simple_opts("endpoint delete", argc, argv, 1, NULL, endpoint_usage);

	if (rc >= 0)
		return rc;
	if (ep_split_name("endpoint delete", argv[optind], ns, sizeof(ns), &pod) < 0)
		return 2;
	path = cli_pathf("/v1/endpoints/%s/%s", ns, pod);
	rc = cli_call("DELETE", path, NULL, &reply);
	free(path);
	if (rc != 200) {
		json_decref(reply);
		return 1;
	}
	printf("endpoint %s/%s deleted\n", ns, pod);
	json_decref(reply);
	return 0;
}

/* "KIND/NAME" of an endpoint's workload, "-" when it has none. */
static void ep_workload(json_t *ep, char *buf, size_t len)
{
	json_t *w = json_object_get(ep, "workload");

	if (!json_is_object(w))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s/%s", cli_json_str(w, "kind", "?"),
			 cli_json_str(w, "name", "?"));
}

static void ep_print_one(json_t *ep)
{
	char ips[256], labels[2048], idl[4096], info[4096], ports[1024], id[32], ident[32];
	const char *fl[] = {
		"Endpoint", "Id", "Interface", "Addresses", "Identity", "Audit",
		"Labels", "Identity labels", "Information labels", "Named ports",
		"Workload", "Proxy visibility", NULL,
	};
	char name[600], audit[64], wl[400];
	size_t i, off = 0;
	json_t *p;

	snprintf(name, sizeof(name), "%s/%s", cli_json_str(ep, "namespace", "?"),
		 cli_json_str(ep, "pod", "?"));
	snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(ep, "id")));
	snprintf(ident, sizeof(ident), "%lld",
		 (long long)json_integer_value(json_object_get(ep, "identity")));
	ep_join_array(json_object_get(ep, "ips"), ", ", ips, sizeof(ips));
	ep_join_labels(json_object_get(ep, "labels"), labels, sizeof(labels));
	ep_join_array(json_object_get(ep, "identity_labels"), ", ", idl, sizeof(idl));
	ep_join_array(json_object_get(ep, "information_labels"), ", ", info, sizeof(info));
	ports[0] = '\0';
	json_array_foreach(json_object_get(ep, "named_ports"), i, p) {
		int n = snprintf(ports + off, sizeof(ports) - off, "%s%s=%lld/%s",
				 off ? ", " : "", cli_json_str(p, "name", "?"),
				 (long long)json_integer_value(json_object_get(p, "port")),
				 cli_json_str(p, "protocol", "?"));

		if (n < 0 || (size_t)n >= sizeof(ports) - off)
			break;
		off += (size_t)n;
	}
	snprintf(audit, sizeof(audit), "%s%s",
		 json_is_true(json_object_get(ep, "audit")) ? "on" : "off",
		 json_is_true(json_object_get(ep, "namespace_audit")) ? " (namespace: on)" : "");
	ep_workload(ep, wl, sizeof(wl));
	if (json_is_true(json_object_get(ep, "workload_derived")))
		snprintf(wl + strlen(wl), sizeof(wl) - strlen(wl), " (from the pod name)");
	{
		const char *vals[] = {
			name, id, cli_json_str(ep, "host_ifname", "?"), ips, ident, audit,
			labels[0] ? labels : "-", idl, info[0] ? info : "-",
			ports[0] ? ports : "-", wl,
			cli_json_str(ep, "proxy_visibility", "-"), NULL,
		};

		cli_print_fields(stdout, fl, vals);
	}
}

static int ep_get(int argc, char **argv)
{
	enum cli_format fmt = CLI_OUT_TABLE;
	const char *pod;
	char ns[256], *path;
	json_t *reply = NULL;
	int rc = ep_simple_opts("endpoint get", argc, argv, 1, &fmt, endpoint_usage);

	if (rc >= 0)
		return rc;
	if (ep_split_name("endpoint get", argv[optind], ns, sizeof(ns), &pod) < 0)
		return 2;
	path = cli_pathf("/v1/endpoints/%s/%s", ns, pod);
	rc = cli_call("GET", path, NULL, &reply);
	free(path);
	if (rc != 200) {
		json_decref(reply);
		return 1;
	}
	if (fmt == CLI_OUT_JSON)
		cli_print_json(reply);
	else
		ep_print_one(reply);
	json_decref(reply);
	return 0;
}

static int ep_list(int argc, char **argv)
{
	static const char *const headers[] = {
		"ID", "ENDPOINT", "IFNAME", "IPS", "IDENTITY", "AUDIT", "LABELS", "WORKLOAD",
		NULL,
	};
	enum cli_format fmt = CLI_OUT_TABLE;
	json_t *doc = NULL, *list, *ep;
	struct cli_table *t;
	size_t i;
	int rc = ep_simple_opts("endpoint list", argc, argv, 0, &fmt, endpoint_usage);

	if (rc >= 0)
		return rc;
	if (cli_call("GET", "/v1/endpoints", NULL, &doc) != 200) {
		json_decref(doc);
		return 1;
	}
	if (fmt == CLI_OUT_JSON) {
		cli_print_json(doc);
		json_decref(doc);
		return 0;
	}
	list = json_object_get(doc, "endpoints");
	if (json_array_size(list) == 0) {
		printf("no endpoints\n");
		json_decref(doc);
		return 0;
	}
	t = cli_table_new(headers);
	json_array_foreach(list, i, ep) {
		char id[32], ident[32], name[600], ips[256], labels[2048], wl[400];
		const char *audit = json_is_true(json_object_get(ep, "audit")) ? "on" :
			json_is_true(json_object_get(ep, "namespace_audit")) ? "on (ns)" : "off";

		snprintf(id, sizeof(id), "%lld",
			 (long long)json_integer_value(json_object_get(ep, "id")));
		snprintf(ident, sizeof(ident), "%lld",
			 (long long)json_integer_value(json_object_get(ep, "identity")));
		snprintf(name, sizeof(name), "%s/%s", cli_json_str(ep, "namespace", "?"),
			 cli_json_str(ep, "pod", "?"));
		ep_join_array(json_object_get(ep, "ips"), ",", ips, sizeof(ips));
		ep_join_labels(json_object_get(ep, "labels"), labels, sizeof(labels));
		ep_workload(ep, wl, sizeof(wl));
		{
			const char *row[] = {
				id, name, cli_json_str(ep, "host_ifname", "?"), ips, ident,
				audit, labels[0] ? labels : "-", wl,
			};

			cli_table_row(t, row);
		}
	}
	cli_table_print(t, stdout);
	json_decref(doc);
	return 0;
}

int cmd_endpoint(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub) {
		endpoint_usage(stderr);
		return 2;
	}
	if (!strcmp(sub, "-h") || !strcmp(sub, "--help") || !strcmp(sub, "help")) {
		endpoint_usage(stdout);
		return 0;
	}
	if (!strcmp(sub, "add"))
		return ep_add_or_update(argc - 1, argv + 1, 1);
	if (!strcmp(sub, "update"))
		return ep_add_or_update(argc - 1, argv + 1, 0);
	if (!strcmp(sub, "delete"))
		return ep_delete(argc - 1, argv + 1);
	if (!strcmp(sub, "list"))
		return ep_list(argc - 1, argv + 1);
	if (!strcmp(sub, "get"))
		return ep_get(argc - 1, argv + 1);
	return cli_usage_error("endpoint", "unknown command '%s' (add, update, delete, list, get)",
			       sub);
}

/* ---- namespace ------------------------------------------------------------ */

static int ns_set(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "label", required_argument, NULL, OPT_LABEL },
		{ "audit", required_argument, NULL, OPT_AUDIT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *verb = "namespace set";
	json_t *body = json_object(), *labels = json_object(), *reply = NULL;
	char *path;
	int c, audit = -1, rc = 2;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_LABEL:
			if (ep_add_label(verb, labels, optarg) < 0)
				goto out;
			break;
		case OPT_AUDIT:
			if (ep_parse_onoff(verb, optarg, &audit) < 0)
				goto out;
			break;
		case 'h':
			namespace_usage(stdout);
			rc = 0;
			goto out;
		case ':':
			rc = cli_usage_error(verb, "option '%s' needs a value", argv[optind - 1]);
			goto out;
		default:
			rc = cli_usage_error(verb, "unknown option '%s'", argv[optind - 1]);
			goto out;
		}
	}
	if (optind >= argc) {
		rc = cli_usage_error(verb, "missing NAMESPACE");
		goto out;
	}
	if (optind + 1 < argc) {
		rc = cli_usage_error(verb, "unexpected argument '%s'", argv[optind + 1]);
		goto out;
	}
	if (strchr(argv[optind], '/') || !argv[optind][0]) {
		rc = cli_usage_error(verb, "'%s' is not a namespace name", argv[optind]);
		goto out;
	}
	json_object_set(body, "labels", labels);
	if (audit >= 0)
		json_object_set_new(body, "audit", json_boolean(audit));
	path = cli_pathf("/v1/namespaces/%s", argv[optind]);
	rc = cli_call("PUT", path, body, &reply);
	free(path);
	if (rc != 200) {
		rc = 1;
		goto out;
	}
	printf("namespace %s set: %lld endpoints\n", argv[optind],
	       (long long)json_integer_value(json_object_get(reply, "endpoints")));
	rc = 0;
out:
	json_decref(body);
	json_decref(labels);
	json_decref(reply);
	return rc;
}

static int ns_list(int argc, char **argv)
{
	static const char *const headers[] = {
		"NAMESPACE", "ENDPOINTS", "AUDIT", "LABELS", NULL,
	};
	enum cli_format fmt = CLI_OUT_TABLE;
	json_t *doc = NULL, *list, *n;
	struct cli_table *t;
	size_t i;
	int rc = ep_simple_opts("namespace list", argc, argv, 0, &fmt, namespace_usage);

	if (rc >= 0)
		return rc;
	if (cli_call("GET", "/v1/namespaces", NULL, &doc) != 200) {
		json_decref(doc);
		return 1;
	}
	if (fmt == CLI_OUT_JSON) {
		cli_print_json(doc);
		json_decref(doc);
		return 0;
	}
	list = json_object_get(doc, "namespaces");
	if (json_array_size(list) == 0) {
		printf("no namespaces\n");
		json_decref(doc);
		return 0;
	}
	t = cli_table_new(headers);
	json_array_foreach(list, i, n) {
		char cnt[32], labels[2048];

		snprintf(cnt, sizeof(cnt), "%lld",
			 (long long)json_integer_value(json_object_get(n, "endpoints")));
		ep_join_labels(json_object_get(n, "labels"), labels, sizeof(labels));
		{
			const char *row[] = {
				cli_json_str(n, "name", "?"), cnt,
				json_is_true(json_object_get(n, "audit")) ? "on" : "off",
				labels,
			};

			cli_table_row(t, row);
		}
	}
	cli_table_print(t, stdout);
	json_decref(doc);
	return 0;
}

int cmd_namespace(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub) {
		namespace_usage(stderr);
		return 2;
	}
	if (!strcmp(sub, "-h") || !strcmp(sub, "--help") || !strcmp(sub, "help")) {
		namespace_usage(stdout);
		return 0;
	}
	if (!strcmp(sub, "set"))
		return ns_set(argc - 1, argv + 1);
	if (!strcmp(sub, "list"))
		return ns_list(argc - 1, argv + 1);
	return cli_usage_error("namespace", "unknown command '%s' (set, list)", sub);
}
