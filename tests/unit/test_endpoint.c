/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_endpoint.c - endpoint and namespace requests that must be
 * refused: each gives -EINVAL (400), -ENOENT (404) or the reason it cannot
 * be applied, with a message naming the field, and leaves the registry
 * exactly as it was (no endpoint, no namespace, no state file). Also the
 * workload: its KIND/NAME validation and what a pod name implies.
 *
 * Successful adds need the datapath and run in tests/e2e/test_endpoint.sh.
 * The interfaces the requests name are veths in a network namespace of the
 * test's own (root and ip(8); skipped without them).
 */
#include <check.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/node/endpoint.h"
#include "core/node/identity.h"
#include "core/node/labels.h"
#include "tests/unit/tmpdir.h"

static char statedir[256];
static struct bw_conf *conf;

static void setup(void)
{
	char override[300], err[512];
	char *ov[1] = { override };

	bw_test_tmp(statedir, sizeof(statedir), "bw-test-endpoint-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(statedir));
	snprintf(override, sizeof(override), "daemon.state_dir=%s", statedir);
	conf = bw_conf_load_string("test.conf", "[daemon]\nmodules =\n", ov, 1, err,
				   sizeof(err));
	ck_assert_msg(conf != NULL, "%s", err);
	bw_conf_set_current(conf);
	ck_assert_int_eq(bw_identity_init(), 0);
}

static void teardown(void)
{
	char cmd[512];

	bw_endpoint_fini();
	bw_identity_fini();
	bw_conf_set_current(NULL);
	bw_conf_free(conf);
	conf = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", statedir);
	ck_assert_int_eq(system(cmd), 0);
}

static void assert_untouched(void)
{
	char path[512];

	ck_assert_uint_eq(bw_endpoint_count(), 0);
	ck_assert_ptr_null(bw_namespace_labels("x"));
	ck_assert_ptr_null(bw_endpoint_find("x", "a"));
	snprintf(path, sizeof(path), "%s/endpoints.json", statedir);
	ck_assert_int_eq(access(path, F_OK), -1);
}

/* Add with a body (JSON text); expect rc and a message containing msg. */
static void add_fails(const char *body, int rc, const char *msg)
{
	char err[512] = "";
	json_error_t je;
	json_t *j = json_loads(body, 0, &je);
	struct bw_endpoint *ep = NULL;

	ck_assert_msg(j != NULL, "bad test JSON %s: %s", body, je.text);
	ck_assert_int_eq(bw_endpoint_add(j, &ep, err, sizeof(err)), rc);
	json_decref(j);
	ck_assert_msg(strstr(err, msg) != NULL, "error \"%s\" lacks \"%s\"", err, msg);
	assert_untouched();
}

/* a host-side interface as a veth is: up, no address (main() makes it) */
#define TEST_IF "bwt-veth0"
#define GOOD "\"namespace\": \"x\", \"pod\": \"a\", \"host_ifname\": \"" TEST_IF "\""

START_TEST(names_are_checked)
{
	add_fails("{\"pod\": \"a\", \"host_ifname\": \"" TEST_IF "\", \"ips\": [\"10.0.0.1\"]}",
		  -EINVAL, "namespace: missing");
	add_fails("{\"namespace\": \"X_y\", \"pod\": \"a\", \"host_ifname\": \"" TEST_IF "\", \"ips\": [\"10.0.0.1\"]}",
		  -EINVAL, "namespace: \"X_y\" is not a valid DNS label");
	add_fails("{\"namespace\": \"x\", \"pod\": \"A\", \"host_ifname\": \"" TEST_IF "\", \"ips\": [\"10.0.0.1\"]}",
		  -EINVAL, "pod: \"A\" is not a valid DNS subdomain");
	add_fails("{\"namespace\": \"x\", \"ips\": [\"10.0.0.1\"], \"host_ifname\": \"" TEST_IF "\"}",
		  -EINVAL, "pod: missing");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"color\": \"red\"}",
		  -EINVAL, "unknown field \"color\"");
	add_fails("[]", -EINVAL, "request body must be a JSON object");
}
END_TEST

START_TEST(interface_must_exist)
{
	add_fails("{\"namespace\": \"x\", \"pod\": \"a\", \"ips\": [\"10.0.0.1\"]}",
		  -EINVAL, "host_ifname: missing");
	add_fails("{\"namespace\": \"x\", \"pod\": \"a\", \"host_ifname\": \"bw-nosuchif0\", \"ips\": [\"10.0.0.1\"]}",
		  -EINVAL, "host_ifname: no interface \"bw-nosuchif0\" in the daemon's network namespace");
	add_fails("{\"namespace\": \"x\", \"pod\": \"a\", \"host_ifname\": \"a-very-long-interface-name\", \"ips\": [\"10.0.0.1\"]}",
		  -EINVAL, "is not a valid interface name");
}
END_TEST

/* An endpoint's host-side interface is a veth without addresses: neither
 * the loopback interface nor one holding the node's addresses. */
START_TEST(loopback_and_address_holding_interfaces_are_refused)
{
	add_fails("{\"namespace\": \"x\", \"pod\": \"a\", \"host_ifname\": \"lo\", \"ips\": [\"10.0.0.1\"]}",
		  -EINVAL, "host_ifname: \"lo\" is the loopback interface, not an endpoint's host-side veth");
	add_fails("{\"namespace\": \"x\", \"pod\": \"a\", \"host_ifname\": \"bwt-node0\", \"ips\": [\"10.0.0.1\"]}",
		  -EINVAL, "host_ifname: \"bwt-node0\" holds the node's address 192.0.2.1: not an endpoint's host-side veth");
}
END_TEST

START_TEST(addresses_are_checked)
{
	add_fails("{" GOOD "}", -EINVAL, "ips: at least one address is needed");
	add_fails("{" GOOD ", \"ips\": []}", -EINVAL, "ips: at least one address is needed");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.300\"]}", -EINVAL,
		  "ips[0]: \"10.0.0.300\" is not an IPv4 or IPv6 address");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1/24\"]}", -EINVAL,
		  "ips[0]: \"10.0.0.1/24\" is not an IPv4 or IPv6 address");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\", \"10.0.0.1\"]}", -EINVAL,
		  "ips[1]: \"10.0.0.1\" is given twice");
	add_fails("{" GOOD ", \"ips\": [\"224.0.0.1\"]}", -EINVAL,
		  "ips[0]: \"224.0.0.1\" is not a unicast address");
	add_fails("{" GOOD ", \"ips\": [\"0.0.0.0\"]}", -EINVAL, "is not a unicast address");
	add_fails("{" GOOD ", \"ips\": [\"ff02::1\"]}", -EINVAL, "is not a unicast address");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\", 5]}", -EINVAL, "ips[1]: must be a string");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\", \"10.0.0.2\", \"10.0.0.3\", \"10.0.0.4\", \"10.0.0.5\"]}",
		  -EINVAL, "ips: at most 4 addresses");
}
END_TEST

START_TEST(labels_follow_kubernetes_rules)
{
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"labels\": {\"-bad\": \"x\"}}", -EINVAL,
		  "labels: label key \"-bad\"");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"labels\": {\"app\": \"has space\"}}", -EINVAL,
		  "labels: label value \"has space\"");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"labels\": {\"app\": 3}}", -EINVAL,
		  "labels: value of \"app\" must be a string");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"labels\": [\"app=web\"]}", -EINVAL,
		  "labels: must be an object");
	/* A pod cannot claim another namespace. */
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"labels\": {\"io.kubernetes.pod.namespace\": \"y\"}}",
		  -EINVAL, "is reserved");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"labels\": {\"io.cilium.k8s.namespace.labels.team\": \"y\"}}",
		  -EINVAL, "is reserved");
}
END_TEST

START_TEST(named_ports_are_checked)
{
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"named_ports\": [\"http\"]}", -EINVAL,
		  "named_ports[0]: \"http\" is not NAME=PORT/PROTO");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"named_ports\": [\"http=80/ICMP\"]}", -EINVAL,
		  "named_ports[0]: protocol \"ICMP\" is not one of TCP, UDP, SCTP");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"named_ports\": [\"http=70000/TCP\"]}", -EINVAL,
		  "named_ports[0]: port \"70000\" is not a number in 1-65535");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"named_ports\": [\"http=0/TCP\"]}", -EINVAL,
		  "is not a number in 1-65535");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"named_ports\": [\"Http=80/TCP\"]}", -EINVAL,
		  "port name \"Http\"");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"named_ports\": [\"8080=80/TCP\"]}", -EINVAL,
		  "port name \"8080\"");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"named_ports\": [\"http=80/TCP\", \"http=81/UDP\"]}",
		  -EINVAL, "named_ports[1]: port name \"http\" is given twice");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"named_ports\": [{\"name\": \"dns\", \"port\": 0}]}",
		  -EINVAL, "named_ports[0].port: must be a number in 1-65535");
}
END_TEST

START_TEST(audit_must_be_boolean)
{
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"audit\": \"on\"}", -EINVAL,
		  "audit: must be true or false");
}
END_TEST

START_TEST(workload_is_checked)
{
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"workload\": \"web\"}", -EINVAL,
		  "workload: \"web\" is not KIND/NAME (e.g. Deployment/web)");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"workload\": \"Deployment/\"}", -EINVAL,
		  "workload: \"Deployment/\" is not KIND/NAME");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"workload\": \"/web\"}", -EINVAL,
		  "workload: \"/web\" is not KIND/NAME");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"workload\": \"deploy ment/web\"}", -EINVAL,
		  "workload: kind \"deploy ment\" is not a Kubernetes kind");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"workload\": \"rollout/web\"}", -EINVAL,
		  "workload: kind \"rollout\" is not a Kubernetes kind");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"workload\": \"Deployment/Web_1\"}", -EINVAL,
		  "workload: name: \"Web_1\" is not a valid DNS subdomain");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"workload\": \"Deployment/a/b\"}", -EINVAL,
		  "workload: name: \"a/b\" is not a valid DNS subdomain");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"workload\": 7}", -EINVAL,
		  "workload: must be \"KIND/NAME\" or {\"kind\", \"name\"} (or null)");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"workload\": {\"kind\": \"Deployment\"}}",
		  -EINVAL, "workload: \"kind\" and \"name\" are both needed");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"workload\": {\"kind\": \"Job\", \"name\": \"x\", \"uid\": \"1\"}}",
		  -EINVAL, "workload: unknown field \"uid\"");
	/* A valid workload passes validation: the add then fails at the
	 * identity step (no identity module), as any valid add does here. */
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"workload\": \"statefulset/db\"}",
		  -ENODEV, "no identity module is loaded");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"workload\": {\"kind\": \"Rollout\", \"name\": \"web\"}}",
		  -ENODEV, "no identity module is loaded");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"workload\": null}",
		  -ENODEV, "no identity module is loaded");
}
END_TEST

START_TEST(workload_parse_spells_kinds)
{
	struct bw_ep_workload w;
	char err[256];

	ck_assert_int_eq(bw_endpoint_workload_parse("deployment/web", &w, err, sizeof(err)), 0);
	ck_assert_str_eq(w.kind, "Deployment");
	ck_assert_str_eq(w.name, "web");
	ck_assert_int_eq(bw_endpoint_workload_parse("STATEFULSET/db", &w, err, sizeof(err)), 0);
	ck_assert_str_eq(w.kind, "StatefulSet");
	ck_assert_int_eq(bw_endpoint_workload_parse("cronjob/report.daily", &w, err, sizeof(err)), 0);
	ck_assert_str_eq(w.kind, "CronJob");
	ck_assert_str_eq(w.name, "report.daily");
	/* custom kinds keep their spelling */
	ck_assert_int_eq(bw_endpoint_workload_parse("Rollout/web", &w, err, sizeof(err)), 0);
	ck_assert_str_eq(w.kind, "Rollout");
	ck_assert_int_eq(bw_endpoint_workload_parse("Deployment", &w, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "\"Deployment\" is not KIND/NAME (e.g. Deployment/web)");
	ck_assert_int_eq(bw_endpoint_workload_parse(NULL, &w, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(proxy_visibility_is_parsed_like_cilium)
{
	struct bw_ep_visibility v[BW_EP_MAX_VISIBILITY];
	char err[256], buf[512];
	size_t n;

	ck_assert_int_eq(bw_ep_visibility_parse("<Ingress/80/TCP/HTTP>, <egress/53/any/dns>,"
						"<Ingress/9092/TCP/Kafka>,<Egress/4040/TCP/r2d2>",
						v, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(v[0].direction, 1);
	ck_assert_uint_eq(v[0].port, 80);
	ck_assert_uint_eq(v[0].protocol, 6);
	ck_assert_str_eq(v[0].l7, "http");
	ck_assert_int_eq(v[1].direction, 2);
	ck_assert_uint_eq(v[1].protocol, 0);
	ck_assert_str_eq(v[1].l7, "dns");
	bw_ep_visibility_format(v, n, buf, sizeof(buf));
	ck_assert_str_eq(buf, "<Ingress/80/TCP/HTTP>,<Egress/53/ANY/DNS>,<Ingress/9092/TCP/Kafka>,"
			      "<Egress/4040/TCP/r2d2>");
	ck_assert_int_eq(bw_ep_visibility_parse("none", v, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(bw_ep_visibility_parse("", v, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 0);

	ck_assert_int_eq(bw_ep_visibility_parse("<Sideways/80/TCP/HTTP>", v, &n, err,
						sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "\"<Sideways/80/TCP/HTTP>\": the direction must be Ingress or Egress");
	ck_assert_int_eq(bw_ep_visibility_parse("<Ingress/0/TCP/HTTP>", v, &n, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "\"<Ingress/0/TCP/HTTP>\": the port must be a number from 1 to 65535");
	ck_assert_int_eq(bw_ep_visibility_parse("<Ingress/80/SCTP/HTTP>", v, &n, err,
						sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "\"<Ingress/80/SCTP/HTTP>\": the L4 protocol must be TCP, UDP or ANY");
	ck_assert_int_eq(bw_ep_visibility_parse("<Ingress/80/UDP/HTTP>", v, &n, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "\"<Ingress/80/UDP/HTTP>\": only DNS is proxied over UDP");
	ck_assert_int_eq(bw_ep_visibility_parse("<Ingress/80/TCP>", v, &n, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "\"<Ingress/80/TCP>\": expected <Direction/Port/L4Protocol/L7Protocol>");
	ck_assert_int_eq(bw_ep_visibility_parse("<Ingress/80/TCP/HTTP> <Egress/53/UDP/DNS>", v, &n,
						err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "\"<Egress/53/UDP/DNS>\": items are separated by commas");
	ck_assert_int_eq(bw_ep_visibility_parse("<Ingress/80/TCP/HTTP>,<ingress/80/tcp/http>", v,
						&n, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "\"<ingress/80/tcp/http>\" is given twice");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"proxy_visibility\": 80}", -EINVAL,
		  "proxy_visibility: must be a string");
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\"], \"proxy_visibility\": \"<In/80/TCP/HTTP>\"}",
		  -EINVAL, "proxy_visibility: \"<In/80/TCP/HTTP>\": the direction must be Ingress or Egress");
}
END_TEST

/* The workload a pod name implies: "KIND/NAME", or "" for none. */
static const char *derived(const char *pod)
{
	static char buf[400];
	struct bw_ep_workload w;

	buf[0] = '\0';
	if (bw_endpoint_workload_derive(pod, &w))
		snprintf(buf, sizeof(buf), "%s/%s", w.kind, w.name);
	else
		ck_assert_msg(w.kind[0] == '\0' && w.name[0] == '\0', "%s: left-overs", pod);
	return buf;
}

START_TEST(workload_derived_from_pod_name)
{
	/* Deployment -> ReplicaSet NAME-<pod-template-hash> -> pod NAME-<hash>-<5> */
	ck_assert_str_eq(derived("web-7d4b9c8f6-lm5vz"), "Deployment/web");
	ck_assert_str_eq(derived("coredns-5d78c9869d-4tq8r"), "Deployment/coredns");
	ck_assert_str_eq(derived("my-shop-frontend-6c9f8d7b5-2xkqp"), "Deployment/my-shop-frontend");
	ck_assert_str_eq(derived("api-b5f4c-x2z9q"), "Deployment/api");      /* 5-char hash */
	ck_assert_str_eq(derived("api-bcdfghjk26-x2z9q"), "Deployment/api"); /* 10-char hash */
	/* StatefulSet pods: NAME-<ordinal> */
	ck_assert_str_eq(derived("db-0"), "StatefulSet/db");
	ck_assert_str_eq(derived("redis-cluster-12"), "StatefulSet/redis-cluster");
	ck_assert_str_eq(derived("web-12345"), "StatefulSet/web"); /* has 1 and 3: not random */
	/* ambiguous or unknown: nothing */
	ck_assert_str_eq(derived("client"), "");
	ck_assert_str_eq(derived("agent-x2z9q"), "");        /* DaemonSet, ReplicaSet or Job */
	ck_assert_str_eq(derived("web-24567"), "");          /* ordinal or random suffix */
	ck_assert_str_eq(derived("report-28971234-x8z2k"), ""); /* CronJob's Job: 1 and 3 */
	ck_assert_str_eq(derived("report-29468456-x8z2k"), ""); /* all digits: maybe a CronJob's */
	ck_assert_str_eq(derived("api-7d4b-x2z9q"), "");     /* hash too short */
	ck_assert_str_eq(derived("api-7d4b9c8f6bb-x2z9q"), ""); /* hash too long */
	ck_assert_str_eq(derived("api-7d4b9c8f6-x2z9a"), ""); /* 'a' is not in the alphabet */
	ck_assert_str_eq(derived("api-7d4b9c8f6-x2z9"), "");
	ck_assert_str_eq(derived("7d4b9c8f6-x2z9q"), "");    /* no name */
	ck_assert_str_eq(derived("db-01"), "");              /* leading zero */
	ck_assert_str_eq(derived("db-1234567890"), "");
	ck_assert_str_eq(derived("db-"), "");
	ck_assert_str_eq(derived("-0"), "");
	ck_assert_str_eq(derived(""), "");
	ck_assert_str_eq(derived(NULL), "");
}
END_TEST

START_TEST(valid_add_without_identity_module_changes_nothing)
{
	/* Everything is valid, but no identity module is loaded: the add
	 * fails at its first step and the implicit namespace goes too. */
	add_fails("{" GOOD ", \"ips\": [\"10.0.0.1\", \"fd00::1\"], \"labels\": {\"app\": \"web\"},"
		  " \"named_ports\": [\"http=80/TCP\"], \"audit\": true}",
		  -ENODEV, "no identity module is loaded");
}
END_TEST

START_TEST(unknown_endpoints_are_404)
{
	char err[256] = "";
	json_t *j = json_loads("{\"labels\": {\"app\": \"x\"}}", 0, NULL);

	ck_assert_int_eq(bw_endpoint_update("x", "a", j, err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "no endpoint x/a");
	ck_assert_int_eq(bw_endpoint_http_status(-ENOENT), 404);
	ck_assert_int_eq(bw_endpoint_delete("x", "a", err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "no endpoint x/a");
	json_decref(j);
	/* A bad update body is 400 before the endpoint is looked up. */
	j = json_loads("{\"labels\": {\"app\": \"x y\"}}", 0, NULL);
	ck_assert_int_eq(bw_endpoint_update("x", "a", j, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(bw_endpoint_http_status(-EINVAL), 400);
	json_decref(j);
	j = json_loads("{\"host_ifname\": \"lo\"}", 0, NULL);
	ck_assert_int_eq(bw_endpoint_update("x", "a", j, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "unknown field \"host_ifname\"");
	json_decref(j);
	j = json_loads("{\"workload\": \"Deployment\"}", 0, NULL);
	ck_assert_int_eq(bw_endpoint_update("x", "a", j, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "workload: \"Deployment\" is not KIND/NAME (e.g. Deployment/web)");
	json_decref(j);
	j = json_loads("{\"workload\": \"Deployment/web\"}", 0, NULL);
	ck_assert_int_eq(bw_endpoint_update("x", "a", j, err, sizeof(err)), -ENOENT);
	json_decref(j);
	ck_assert_int_eq(bw_endpoint_http_status(-EEXIST), 409);
	assert_untouched();
}
END_TEST

START_TEST(namespace_set_is_validated)
{
	char err[256] = "";
	json_t *j = json_loads("{\"labels\": {\"team\": \"a b\"}}", 0, NULL);

	ck_assert_int_eq(bw_namespace_set("x", j, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "labels: label value \"a b\""));
	json_decref(j);
	j = json_loads("{\"labels\": {\"kubernetes.io/metadata.name\": \"y\"}}", 0, NULL);
	ck_assert_int_eq(bw_namespace_set("x", j, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "kubernetes.io/metadata.name must be \"x\""));
	json_decref(j);
	j = json_loads("{}", 0, NULL);
	ck_assert_int_eq(bw_namespace_set("Bad!", j, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "namespace: \"Bad!\" is not a valid DNS label"));
	json_decref(j);
	assert_untouched();
}
END_TEST

START_TEST(namespace_set_persists_and_keeps_its_name_label)
{
	char err[256] = "", path[512];
	json_t *j = json_loads("{\"labels\": {\"team\": \"blue\"}, \"audit\": true}", 0, NULL);
	const struct bw_labelset *ls;
	json_t *doc;

	ck_assert_int_eq(bw_namespace_set("x", j, err, sizeof(err)), 0);
	json_decref(j);
	ls = bw_namespace_labels("x");
	ck_assert_ptr_nonnull(ls);
	ck_assert_str_eq(bw_labelset_get(ls, "k8s", "kubernetes.io/metadata.name")->value, "x");
	ck_assert_str_eq(bw_labelset_get(ls, "k8s", "team")->value, "blue");
	ck_assert_int_eq(bw_namespace_audit("x"), 1);
	snprintf(path, sizeof(path), "%s/endpoints.json", statedir);
	doc = json_load_file(path, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
		json_object_get(doc, "namespaces"), 0), "name")), "x");
	json_decref(doc);
	/* A fresh registry restores it. */
	bw_endpoint_fini();
	ck_assert_ptr_null(bw_namespace_labels("x"));
	ck_assert_int_eq(bw_endpoint_restore(), 0);
	ck_assert_str_eq(bw_labelset_get(bw_namespace_labels("x"), "k8s", "team")->value, "blue");
	ck_assert_int_eq(bw_namespace_audit("x"), 1);
}
END_TEST

static Suite *endpoint_suite(void)
{
	Suite *s = suite_create("endpoint");
	TCase *tc = tcase_create("validation");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, names_are_checked);
	tcase_add_test(tc, interface_must_exist);
	tcase_add_test(tc, loopback_and_address_holding_interfaces_are_refused);
	tcase_add_test(tc, addresses_are_checked);
	tcase_add_test(tc, labels_follow_kubernetes_rules);
	tcase_add_test(tc, named_ports_are_checked);
	tcase_add_test(tc, audit_must_be_boolean);
	tcase_add_test(tc, workload_is_checked);
	tcase_add_test(tc, workload_parse_spells_kinds);
	tcase_add_test(tc, proxy_visibility_is_parsed_like_cilium);
	tcase_add_test(tc, workload_derived_from_pod_name);
	tcase_add_test(tc, valid_add_without_identity_module_changes_nothing);
	tcase_add_test(tc, unknown_endpoints_are_404);
	tcase_add_test(tc, namespace_set_is_validated);
	tcase_add_test(tc, namespace_set_persists_and_keeps_its_name_label);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	/* The interfaces the requests name, in a network namespace of this
	 * test's own (gone when it exits; the host's are never touched). */
	if (unshare(CLONE_NEWNET) < 0 ||
	    system("ip link add " TEST_IF " type veth peer name bwt-pod0 &&"
		   " ip link set " TEST_IF " up &&"
		   " ip link add bwt-node0 type veth peer name bwt-node1 &&"
		   " ip addr add 192.0.2.1/24 dev bwt-node0") != 0) {
		printf("SKIP: a network namespace with veth interfaces needs root and ip(8)\n");
		return 77;
	}
	sr = srunner_create(endpoint_suite());

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
