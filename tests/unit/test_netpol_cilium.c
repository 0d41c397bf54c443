/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_netpol_cilium.c - the Cilium policy format module
 * (modules/netpol-cilium): CiliumNetworkPolicy and
 * CiliumClusterwideNetworkPolicy. The module source is compiled in and
 * registered through its descriptor with a minimal core API; inputs go
 * through the policy document reader first. Each translation rule of
 * docs/policy.md has a test, and each refusal is checked with its exact
 * message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include <bulwark/module.h>

#include "core/policy/policydoc.h"
#include "tests/unit/fake_core.h"

extern const struct bw_module bw_module_desc;

static const struct bw_policy_format *fmt;
static char err[1024];
static json_t *policy;

static void
setup(void)
{
	fake_core_reset();
	ck_assert_int_eq(bw_module_desc.init(NULL, fake_core_api(), NULL), 0);
	fmt = fake_core.format;
	ck_assert_ptr_nonnull(fmt);
}

static void
teardown(void)
{
	json_decref(policy);
	policy = NULL;
}

static int
tr_json(const char *json, size_t len)
{
	char *out = NULL;
	int rc;

	json_decref(policy);
	policy = NULL;
	err[0] = '\0';
	rc = fmt->parse(fmt->user_data, json, len, &out, err, sizeof(err));
	if (rc == 0) {
		ck_assert_ptr_nonnull(out);
		policy = json_loads(out, 0, NULL);
		ck_assert_ptr_nonnull(policy);
		free(out);
	} else {
		ck_assert_ptr_null(out);
		ck_assert_msg(err[0] != '\0', "refusal without a message");
	}
	return rc;
}

static int
tr(const char *yaml)
{
	struct bw_policydoc_set set = { 0 };
	char rerr[256];
	int rc;

	rc = bw_policydoc_read(yaml, strlen(yaml), "test.yaml", &set, rerr,
			       sizeof(rerr));
	ck_assert_msg(rc == 0, "reader: %s", rerr);
	ck_assert_uint_eq(set.count, 1);
	rc = tr_json(set.docs[0].json, set.docs[0].json_len);
	bw_policydoc_set_free(&set);
	return rc;
}

static void
expect_json(json_t *actual, const char *expected)
{
	json_error_t e;
	json_t *want = json_loads(expected, 0, &e);
	char *a, *w;

	ck_assert_msg(want != NULL, "bad expected JSON: %s", e.text);
	a = json_dumps(actual, JSON_COMPACT | JSON_SORT_KEYS);
	w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_msg(json_equal(actual, want), "\n got:  %s\n want: %s", a, w);
	free(a);
	free(w);
	json_decref(want);
}

static json_t *
rule(size_t i)
{
	return json_array_get(json_object_get(policy, "rules"), i);
}

static json_t *
field0(const char *f)
{
	return json_object_get(rule(0), f);
}

static void
expect_ok(const char *yaml)
{
	int rc = tr(yaml);

	ck_assert_msg(rc == 0, "refused: %s", err);
}

static void
expect_refused(const char *yaml, const char *message)
{
	int rc = tr(yaml);

	ck_assert_msg(rc == -EINVAL, "accepted (%d), expected: %s", rc, message);
	ck_assert_str_eq(err, message);
}

#define CNP "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: x}\n"
#define CCNP "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: p}\n"
#define SPEC "spec:\n  endpointSelector: {}\n"
#define NSX "\"k8s:io.kubernetes.pod.namespace\":\"x\""
#define NS_EXISTS "{\"key\":\"k8s:io.kubernetes.pod.namespace\",\"operator\":\"Exists\"}"

START_TEST(registers_for_cilium_io_v2)
{
	ck_assert_str_eq(bw_module_desc.name, "netpol-cilium");
	ck_assert_str_eq(fmt->api_versions[0], "cilium.io/v2");
	ck_assert_ptr_null(fmt->api_versions[1]);
	ck_assert_str_eq(fmt->kinds[0], "CiliumNetworkPolicy");
	ck_assert_str_eq(fmt->kinds[1], "CiliumClusterwideNetworkPolicy");
	ck_assert_ptr_null(fmt->kinds[2]);
}
END_TEST

START_TEST(cnp_whole_policy)
{
	expect_ok(CNP "spec:\n  endpointSelector:\n    matchLabels: {app: api}\n  ingress:\n  - fromEndpoints:\n    - matchLabels: {k8s:app: web}\n    toPorts:\n    - ports:\n      - port: \"8080\"\n        protocol: TCP\n");
	expect_json(policy,
		    "{\"kind\":\"CiliumNetworkPolicy\",\"name\":\"p\",\"namespace\":\"x\",\"rules\":[{"
		    "\"subject\":{\"match_labels\":{\"any:app\":\"api\"," NSX "}},"
		    "\"ingress\":[{\"deny\":false,"
		    "\"peers\":[{\"selector\":{\"match_labels\":{\"k8s:app\":\"web\"," NSX "}}}],"
		    "\"ports\":[{\"port\":8080,\"protocol\":\"TCP\"}]}],"
		    "\"egress\":[],"
		    "\"default_deny\":{\"ingress\":true,\"egress\":false}}]}");
}
END_TEST

START_TEST(cnp_subject_is_confined_to_the_policy_namespace)
{
	expect_ok(CNP "spec:\n  endpointSelector:\n    matchLabels:\n      k8s:io.kubernetes.pod.namespace: other\n      io.kubernetes.pod.namespace: other2\n      reserved:host: ''\n  ingress: [{}]\n");
	expect_json(field0("subject"),
		    "{\"match_labels\":{\"reserved:host\":\"\"," NSX "}}");
	expect_ok("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p}\n" SPEC "  egress: [{}]\n");
	ck_assert_str_eq(json_string_value(json_object_get(policy, "namespace")),
			 "default");
	expect_json(field0("subject"),
		    "{\"match_labels\":{\"k8s:io.kubernetes.pod.namespace\":\"default\"}}");
}
END_TEST

START_TEST(cnp_peer_selectors_get_the_policy_namespace)
{
	expect_ok(CNP SPEC "  ingress:\n  - fromEndpoints:\n    - {}\n    - matchLabels: {app: a}\n"
		  "    - matchExpressions: [{key: tier, operator: Exists}]\n");
	expect_json(json_object_get(json_array_get(field0("ingress"), 0), "peers"),
		    "[{\"selector\":{\"match_labels\":{" NSX "}}},"
		    "{\"selector\":{\"match_labels\":{\"any:app\":\"a\"," NSX "}}},"
		    "{\"selector\":{\"match_labels\":{" NSX "},"
		    "\"match_expressions\":[{\"key\":\"any:tier\",\"operator\":\"Exists\"}]}}]");
}
END_TEST

START_TEST(cnp_explicit_namespaces_are_kept)
{
	expect_ok(CNP SPEC "  ingress:\n  - fromEndpoints:\n"
		  "    - matchLabels: {k8s:io.kubernetes.pod.namespace: y}\n"
		  "    - matchLabels: {io.kubernetes.pod.namespace: z}\n"
		  "    - matchExpressions: [{key: k8s:io.kubernetes.pod.namespace, operator: In, values: [a, b]}]\n"
		  "    - matchLabels: {k8s:io.cilium.k8s.namespace.labels.team: ops}\n"
		  "    - matchLabels: {reserved:host: ''}\n");
	expect_json(json_object_get(json_array_get(field0("ingress"), 0), "peers"),
		    "[{\"selector\":{\"match_labels\":{\"k8s:io.kubernetes.pod.namespace\":\"y\"}}},"
		    "{\"selector\":{\"match_labels\":{\"any:io.kubernetes.pod.namespace\":\"z\"}}},"
		    "{\"selector\":{\"match_expressions\":[{\"key\":\"k8s:io.kubernetes.pod.namespace\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]}]}},"
		    "{\"selector\":{\"match_labels\":{\"k8s:io.cilium.k8s.namespace.labels.team\":\"ops\"}}},"
		    "{\"selector\":{\"match_labels\":{\"reserved:host\":\"\"}}}]");
}
END_TEST

START_TEST(ccnp_peers_are_limited_to_pods_in_any_namespace)
{
	expect_ok(CCNP SPEC "  egress:\n  - toEndpoints:\n    - {}\n    - matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system}\n"
		  "    - matchLabels: {k8s:io.cilium.k8s.namespace.labels.team: ops}\n");
	ck_assert_str_eq(json_string_value(json_object_get(policy, "namespace")), "");
	ck_assert_str_eq(json_string_value(json_object_get(policy, "kind")),
			 "CiliumClusterwideNetworkPolicy");
	expect_json(field0("subject"), "{}");
	expect_json(json_object_get(json_array_get(field0("egress"), 0), "peers"),
		    "[{\"selector\":{\"match_expressions\":[" NS_EXISTS "]}},"
		    "{\"selector\":{\"match_labels\":{\"k8s:io.kubernetes.pod.namespace\":\"kube-system\"}}},"
		    "{\"selector\":{\"match_labels\":{\"k8s:io.cilium.k8s.namespace.labels.team\":\"ops\"},"
		    "\"match_expressions\":[" NS_EXISTS "]}}]");
}
END_TEST

START_TEST(ccnp_namespace_is_ignored_and_init_subjects_are_special)
{
	expect_ok("apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: p, namespace: x}\n"
		  "spec:\n  endpointSelector:\n    matchLabels: {reserved:init: ''}\n  ingress:\n  - fromEndpoints: [{}]\n");
	ck_assert_str_eq(json_string_value(json_object_get(policy, "namespace")), "");
	expect_json(field0("subject"), "{\"match_labels\":{\"reserved:init\":\"\"}}");
	expect_json(json_object_get(json_array_get(field0("ingress"), 0), "peers"),
		    "[{\"selector\":{}}]");
}
END_TEST

/* Cilium's own examples (examples/policies/l4/init.yaml) write "reserved.init";
 * Cilium's label parser reads it, and "$init", as reserved:init. */
START_TEST(reserved_dot_and_dollar_keys_are_reserved_labels)
{
	expect_ok("apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: init}\n"
		  "specs:\n  - endpointSelector:\n      matchLabels:\n        \"reserved.init\": \"\"\n"
		  "    ingress:\n    - fromEntities: [host]\n"
		  "    egress:\n    - toEntities: [all]\n      toPorts:\n      - ports:\n        - port: \"53\"\n          protocol: UDP\n");
	expect_json(field0("subject"), "{\"match_labels\":{\"reserved:init\":\"\"}}");
	expect_ok(CNP SPEC "  ingress:\n  - fromEndpoints:\n    - matchLabels: {$host: ''}\n"
		  "    - matchExpressions: [{key: reserved.health, operator: Exists}]\n");
	expect_json(json_object_get(json_array_get(field0("ingress"), 0), "peers"),
		    "[{\"selector\":{\"match_labels\":{\"reserved:host\":\"\"}}},"
		    "{\"selector\":{\"match_expressions\":[{\"key\":\"reserved:health\",\"operator\":\"Exists\"}]}}]");
	/* only without a ':' (then the part before it is the source) */
	expect_ok(CNP SPEC "  ingress:\n  - fromEndpoints:\n    - matchLabels: {k8s:reserved.x: a}\n");
	expect_refused(CNP SPEC "  ingress:\n  - fromEndpoints:\n    - matchLabels: {reserved.: ''}\n",
		       "spec.ingress[0].fromEndpoints[0].matchLabels[reserved.]: \"reserved.\" is not a valid label key");
}
END_TEST

START_TEST(nil_and_empty_peer_lists_differ)
{
	expect_ok(CNP SPEC "  ingress:\n"
		  "  - toPorts: [{ports: [{port: '80'}]}]\n"
		  "  - fromEndpoints: []\n    toPorts: [{ports: [{port: '80'}]}]\n"
		  "  - {}\n"
		  "  - fromEndpoints:\n    toPorts: [{ports: [{port: '81'}]}]\n"
		  "  - icmps: [{fields: [{type: 8}]}]\n");
	expect_json(field0("ingress"),
		    "[{\"deny\":false,\"ports\":[{\"port\":80,\"protocol\":\"ANY\"}]},"
		    "{\"deny\":false,\"peers\":[],\"ports\":[{\"port\":80,\"protocol\":\"ANY\"}]},"
		    "{\"deny\":false,\"peers\":[]},"
		    "{\"deny\":false,\"ports\":[{\"port\":81,\"protocol\":\"ANY\"}]},"
		    "{\"deny\":false,\"icmps\":[{\"family\":4,\"type\":8}]}]");
}
END_TEST

START_TEST(every_entity_is_accepted)
{
	expect_ok(CNP SPEC "  ingress:\n  - fromEntities: [all, world, world-ipv4, world-ipv6, cluster, host, remote-node, kube-apiserver, ingress, init, health, unmanaged, none]\n");
	expect_json(json_object_get(json_array_get(field0("ingress"), 0), "peers"),
		    "[{\"entity\":\"all\"},{\"entity\":\"world\"},{\"entity\":\"world-ipv4\"},"
		    "{\"entity\":\"world-ipv6\"},{\"entity\":\"cluster\"},{\"entity\":\"host\"},"
		    "{\"entity\":\"remote-node\"},{\"entity\":\"kube-apiserver\"},{\"entity\":\"ingress\"},"
		    "{\"entity\":\"init\"},{\"entity\":\"health\"},{\"entity\":\"unmanaged\"},{\"entity\":\"none\"}]");
	expect_refused(CNP SPEC "  egress:\n  - toEntities: [world, internet]\n",
		       "spec.egress[0].toEntities[1]: \"internet\" is not a valid entity (all, world, world-ipv4, world-ipv6, cluster, host, remote-node, kube-apiserver, ingress, init, health, unmanaged, none)");
}
END_TEST

START_TEST(cidr_peers_never_match_endpoints)
{
	expect_ok(CNP SPEC "  egress:\n  - toCIDR: [192.0.2.1, 10.0.0.0/8, '2001:db8::1', 192.0.2.9/24]\n"
		  "  - toCIDRSet:\n    - cidr: 198.51.100.0/24\n      except: [198.51.100.0/24, 198.51.100.7]\n    - cidr: 203.0.113.5\n");
	expect_json(field0("egress"),
		    "[{\"deny\":false,\"peers\":["
		    "{\"cidr\":\"192.0.2.1/32\",\"match_endpoints\":false},"
		    "{\"cidr\":\"10.0.0.0/8\",\"match_endpoints\":false},"
		    "{\"cidr\":\"2001:db8::1/128\",\"match_endpoints\":false},"
		    "{\"cidr\":\"192.0.2.0/24\",\"match_endpoints\":false}]},"
		    "{\"deny\":false,\"peers\":["
		    "{\"cidr\":\"198.51.100.0/24\",\"except\":[\"198.51.100.0/24\",\"198.51.100.7/32\"],\"match_endpoints\":false},"
		    "{\"cidr\":\"203.0.113.5/32\",\"match_endpoints\":false}]}]");
	expect_json(field0("default_deny"), "{\"ingress\":false,\"egress\":true}");
}
END_TEST

START_TEST(bad_cidrs_are_refused)
{
	expect_refused(CNP SPEC "  egress:\n  - toCIDR: [10.0.0.0/40]\n",
		       "spec.egress[0].toCIDR[0]: \"10.0.0.0/40\" is not a valid IP address or CIDR");
	expect_refused(CNP SPEC "  ingress:\n  - fromCIDRSet:\n    - cidr: 10.0.0.0/8\n      except: [11.0.0.0/16]\n",
		       "spec.ingress[0].fromCIDRSet[0].except[0]: \"11.0.0.0/16\" is not inside 10.0.0.0/8");
	expect_refused(CNP SPEC "  ingress:\n  - fromCIDRSet:\n    - cidrGroupRef: office\n",
		       "spec.ingress[0].fromCIDRSet[0].cidrGroupRef: CIDR groups (cidrGroupRef) are not supported");
	expect_refused(CNP SPEC "  ingress:\n  - fromCIDRSet:\n    - cidrGroupSelector: {}\n",
		       "spec.ingress[0].fromCIDRSet[0].cidrGroupSelector: CIDR groups (cidrGroupSelector) are not supported");
	expect_refused(CNP SPEC "  ingress:\n  - fromCIDRSet:\n    - except: [10.0.0.0/8]\n",
		       "spec.ingress[0].fromCIDRSet[0].cidr: required");
}
END_TEST

START_TEST(to_fqdns_become_canonical_fqdn_peers)
{
	expect_ok(CNP SPEC "  egress:\n  - toFQDNs:\n    - matchName: API.Example.com.\n"
		  "    - matchPattern: '*.cdn.example'\n    - matchPattern: '**.'\n"
		  "    toPorts: [{ports: [{port: '443', protocol: TCP}]}]\n");
	expect_json(field0("egress"),
		    "[{\"deny\":false,\"peers\":["
		    "{\"fqdn\":{\"match_name\":\"api.example.com\"}},"
		    "{\"fqdn\":{\"match_pattern\":\"*.cdn.example\"}},"
		    "{\"fqdn\":{\"match_pattern\":\"*\"}}],"
		    "\"ports\":[{\"port\":443,\"protocol\":\"TCP\"}]}]");
	expect_json(field0("default_deny"), "{\"ingress\":false,\"egress\":true}");
}
END_TEST

START_TEST(bad_fqdn_selectors_are_refused)
{
	expect_refused(CNP SPEC "  egress:\n  - toFQDNs: [{matchName: '*.example'}]\n",
		       "spec.egress[0].toFQDNs[0].matchName: \"*.example\": '*' is not allowed in a matchName (use matchPattern)");
	expect_refused(CNP SPEC "  egress:\n  - toFQDNs: [{matchPattern: 'a b.example'}]\n",
		       "spec.egress[0].toFQDNs[0].matchPattern: \"a b.example\": only a-z, A-Z, 0-9, '-', '_', '.' and '*' are allowed in a matchPattern");
	expect_refused(CNP SPEC "  egress:\n  - toFQDNs: [{matchName: a.example, matchPattern: '*'}]\n",
		       "spec.egress[0].toFQDNs[0]: only one of matchName or matchPattern may be set");
	expect_refused(CNP SPEC "  egress:\n  - toFQDNs: [{}]\n",
		       "spec.egress[0].toFQDNs[0]: one of matchName or matchPattern is required");
	expect_refused(CNP SPEC "  egress:\n  - toFQDNs: [{matchName: a..example}]\n",
		       "spec.egress[0].toFQDNs[0].matchName: \"a..example\" has an empty label (a leading dot or two dots in a row)");
	expect_refused(CNP SPEC "  egress:\n  - toFQDNs: [{matchName: a.example}]\n    toCIDR: [10.0.0.0/8]\n",
		       "spec.egress[0]: combining toCIDR and toFQDNs is not supported");
	expect_refused(CNP SPEC "  ingress:\n  - fromFQDNs: [{matchName: a.example}]\n",
		       "spec.ingress[0].fromFQDNs: fromFQDNs is not supported (Cilium has no fromFQDNs either: the source address of a connection says nothing about the names it has; use fromCIDR or fromEndpoints)");
}
END_TEST

START_TEST(one_peer_family_per_element)
{
	expect_refused(CNP SPEC "  ingress:\n  - fromEndpoints: [{}]\n    fromCIDR: [10.0.0.0/8]\n",
		       "spec.ingress[0]: combining fromEndpoints and fromCIDR is not supported");
	expect_refused(CNP SPEC "  egress:\n  - toCIDR: [10.0.0.0/8]\n    toEntities: [world]\n",
		       "spec.egress[0]: combining toCIDR and toEntities is not supported");
	/* An empty list of another family is no combination. */
	expect_ok(CNP SPEC "  egress:\n  - toCIDR: [10.0.0.0/8]\n    toEndpoints: []\n");
	expect_json(json_object_get(json_array_get(field0("egress"), 0), "peers"),
		    "[{\"cidr\":\"10.0.0.0/8\",\"match_endpoints\":false}]");
}
END_TEST

START_TEST(ports_and_protocols)
{
	expect_ok(CNP SPEC "  ingress:\n  - toPorts:\n    - ports:\n      - port: '80'\n      - port: 81\n        protocol: UDP\n"
		  "      - port: '0'\n        protocol: SCTP\n      - port: ''\n        protocol: TCP\n      - {protocol: ANY}\n"
		  "      - port: '5000'\n        endPort: 5100\n        protocol: TCP\n      - port: http\n"
		  "    - ports:\n      - port: '9090'\n        endPort: 0\n");
	expect_json(json_object_get(json_array_get(field0("ingress"), 0), "ports"),
		    "[{\"port\":80,\"protocol\":\"ANY\"},{\"port\":81,\"protocol\":\"UDP\"},"
		    "{\"port\":0,\"protocol\":\"SCTP\"},{\"port\":0,\"protocol\":\"TCP\"},"
		    "{\"port\":0,\"protocol\":\"ANY\"},"
		    "{\"port\":5000,\"end_port\":5100,\"protocol\":\"TCP\"},"
		    "{\"name\":\"http\",\"protocol\":\"ANY\"},"
		    "{\"port\":9090,\"protocol\":\"ANY\"}]");
}
END_TEST

START_TEST(bad_ports_are_refused)
{
	char buf[4096];
	int n;

	expect_refused(CNP SPEC "  ingress:\n  - toPorts: [{ports: [{port: '70000'}]}]\n",
		       "spec.ingress[0].toPorts[0].ports[0].port: \"70000\" is not a valid port number (0-65535)");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts: [{ports: [{port: 'HTTP_1'}]}]\n",
		       "spec.ingress[0].toPorts[0].ports[0].port: \"HTTP_1\" is neither a port number nor a valid port name (at most 15 characters [a-z0-9-], at least one letter)");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts: [{ports: [{port: '80', protocol: VRRP}]}]\n",
		       "spec.ingress[0].toPorts[0].ports[0].protocol: protocol VRRP is not supported");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts: [{ports: [{port: '80', protocol: ICMP}]}]\n",
		       "spec.ingress[0].toPorts[0].ports[0].protocol: ICMP is not allowed in toPorts; use icmps");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts: [{ports: [{port: '80', protocol: tcp}]}]\n",
		       "spec.ingress[0].toPorts[0].ports[0].protocol: \"tcp\" is not a valid protocol (TCP, UDP, SCTP, ANY)");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts: [{ports: [{port: '90', endPort: 80}]}]\n",
		       "spec.ingress[0].toPorts[0].ports[0].endPort: must be greater than or equal to port (90)");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts: [{ports: [{port: http, endPort: 80}]}]\n",
		       "spec.ingress[0].toPorts[0].ports[0].endPort: may not be used with a named port");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts: [{ports: [{endPort: 80}]}]\n",
		       "spec.ingress[0].toPorts[0].ports[0].endPort: requires a non-zero port");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts: [{ports: []}]\n",
		       "spec.ingress[0].toPorts[0].ports: at least one port is required");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts: [{ports: [{port: '80', name: x}]}]\n",
		       "spec.ingress[0].toPorts[0].ports[0].name: unknown field");
	n = snprintf(buf, sizeof(buf), CNP SPEC "  ingress:\n  - toPorts:\n    - ports:\n");
	for (int i = 0; i < 41; i++)
		n += snprintf(buf + n, sizeof(buf) - n, "      - port: '%d'\n", 1000 + i);
	expect_refused(buf, "spec.ingress[0].toPorts[0].ports: at most 40 ports are allowed");
}
END_TEST

START_TEST(unsupported_features_are_refused)
{
	expect_refused(CNP SPEC "  egress:\n  - toServices: [{k8sService: {serviceName: a, namespace: b}}]\n",
		       "spec.egress[0].toServices: toServices is not supported yet");
	expect_refused(CNP SPEC "  egress:\n  - toGroups: [{aws: {securityGroupsIds: [sg-1]}}]\n",
		       "spec.egress[0].toGroups: toGroups (cloud provider groups) is not supported");
	expect_refused(CNP SPEC "  ingress:\n  - fromGroups: [{aws: {}}]\n",
		       "spec.ingress[0].fromGroups: fromGroups (cloud provider groups) is not supported");
	expect_refused(CNP SPEC "  ingress:\n  - fromNodes: [{}]\n",
		       "spec.ingress[0].fromNodes: fromNodes (node selectors) is not supported");
	expect_refused(CNP SPEC "  egress:\n  - toNodes: [{}]\n",
		       "spec.egress[0].toNodes: toNodes (node selectors) is not supported");
	expect_refused(CNP SPEC "  ingress:\n  - fromRequires: [{}]\n",
		       "spec.ingress[0].fromRequires: fromRequires was removed in Cilium 1.19 and is not supported");
	expect_refused(CNP SPEC "  ingress:\n  - fromEndpoints: [{}]\n    authentication: {mode: required}\n",
		       "spec.ingress[0].authentication: authentication (mutual authentication) is not supported");
	expect_refused(CNP SPEC "  egress:\n  - toPorts:\n    - ports: [{port: '443'}]\n      terminatingTLS: {secret: {name: s}}\n",
		       "spec.egress[0].toPorts[0].terminatingTLS: terminatingTLS is not supported yet");
	expect_refused(CNP SPEC "  egress:\n  - toPorts:\n    - ports: [{port: '443'}]\n      originatingTLS: {secret: {name: s}}\n",
		       "spec.egress[0].toPorts[0].originatingTLS: originatingTLS is not supported yet");
	expect_refused(CNP SPEC "  egress:\n  - toPorts:\n    - ports: [{port: '443'}]\n      serverNames: [a.example]\n",
		       "spec.egress[0].toPorts[0].serverNames: serverNames is not supported yet");
	expect_refused(CNP SPEC "  egress:\n  - toPorts:\n    - ports: [{port: '443'}]\n      listener: {name: l}\n",
		       "spec.egress[0].toPorts[0].listener: listener (CiliumEnvoyConfig) is not supported");
	expect_refused(CCNP "spec:\n  nodeSelector: {}\n  ingress: [{}]\n",
		       "spec.nodeSelector: host policies (nodeSelector) are not supported");
}
END_TEST

START_TEST(icmp_types_by_number_and_name)
{
	expect_ok(CNP SPEC "  egress:\n  - toEntities: [world]\n    icmps:\n    - fields:\n      - type: EchoRequest\n      - {family: IPv4, type: 0}\n      - {family: IPv6, type: EchoRequest}\n"
		  "      - {family: IPv6, type: '135'}\n    - fields:\n      - type: TimeExceeded\n");
	expect_json(json_array_get(field0("egress"), 0),
		    "{\"deny\":false,\"peers\":[{\"entity\":\"world\"}],\"icmps\":["
		    "{\"family\":4,\"type\":8},{\"family\":4,\"type\":0},{\"family\":6,\"type\":128},"
		    "{\"family\":6,\"type\":135},{\"family\":4,\"type\":11}]}");
	expect_refused(CNP SPEC "  egress:\n  - icmps: [{fields: [{family: IPv6, type: Echo}]}]\n",
		       "spec.egress[0].icmps[0].fields[0].type: \"Echo\" is not a valid IPv6 ICMP type");
	expect_refused(CNP SPEC "  egress:\n  - icmps: [{fields: [{family: ipv4, type: 8}]}]\n",
		       "spec.egress[0].icmps[0].fields[0].family: expected IPv4 or IPv6");
	expect_refused(CNP SPEC "  egress:\n  - icmps: [{fields: [{type: 256}]}]\n",
		       "spec.egress[0].icmps[0].fields[0].type: 256 is not a valid ICMP type (0-255)");
	expect_refused(CNP SPEC "  egress:\n  - icmps: [{fields: [{family: IPv4}]}]\n",
		       "spec.egress[0].icmps[0].fields[0].type: required");
	expect_refused(CNP SPEC "  egress:\n  - icmps: [{fields: [{type: 8}]}]\n    toPorts: [{ports: [{port: '80'}]}]\n",
		       "spec.egress[0]: toPorts and icmps cannot be combined in one rule");
}
END_TEST

START_TEST(deny_rules_follow_allow_rules)
{
	expect_ok(CNP SPEC "  ingressDeny:\n  - fromCIDR: [192.0.2.0/24]\n    toPorts: [{ports: [{port: '22', protocol: TCP}]}]\n"
		  "  ingress:\n  - fromEntities: [all]\n  egressDeny:\n  - toEntities: [world]\n    icmps: [{fields: [{type: 8}]}]\n");
	expect_json(field0("ingress"),
		    "[{\"deny\":false,\"peers\":[{\"entity\":\"all\"}]},"
		    "{\"deny\":true,\"peers\":[{\"cidr\":\"192.0.2.0/24\",\"match_endpoints\":false}],"
		    "\"ports\":[{\"port\":22,\"protocol\":\"TCP\"}]}]");
	expect_json(field0("egress"),
		    "[{\"deny\":true,\"peers\":[{\"entity\":\"world\"}],\"icmps\":[{\"family\":4,\"type\":8}]}]");
	expect_json(field0("default_deny"), "{\"ingress\":true,\"egress\":true}");
	expect_refused(CNP SPEC "  ingressDeny:\n  - toPorts: [{ports: [{port: '80'}], rules: {http: [{}]}}]\n",
		       "spec.ingressDeny[0].toPorts[0].rules: L7 rules are not allowed in deny rules");
	expect_refused(CNP SPEC "  egressDeny:\n  - toFQDNs: [{matchName: a.example}]\n",
		       "spec.egressDeny[0].toFQDNs: toFQDNs is not allowed in deny rules");
	expect_refused(CNP SPEC "  egressDeny:\n  - toPorts: [{ports: [{port: '80'}], serverNames: [a]}]\n",
		       "spec.egressDeny[0].toPorts[0].serverNames: unknown field");
}
END_TEST

START_TEST(enable_default_deny_overrides_per_direction)
{
	expect_ok(CNP SPEC "  ingress: [{}]\n  egress: [{}]\n  enableDefaultDeny: {ingress: false}\n");
	expect_json(field0("default_deny"), "{\"ingress\":false,\"egress\":true}");
	expect_ok(CNP SPEC "  ingress: [{}]\n  enableDefaultDeny: {ingress: true, egress: true}\n");
	expect_json(field0("default_deny"), "{\"ingress\":true,\"egress\":false}");
	expect_ok(CNP SPEC "  egressDeny: [{toEntities: [world]}]\n  enableDefaultDeny: {egress: false}\n");
	expect_json(field0("default_deny"), "{\"ingress\":false,\"egress\":false}");
	expect_refused(CNP SPEC "  ingress: [{}]\n  enableDefaultDeny: {ingress: 'no'}\n",
		       "spec.enableDefaultDeny.ingress: expected true or false, got a string");
}
END_TEST

START_TEST(log_value_is_kept)
{
	expect_ok(CNP SPEC "  ingress: [{}]\n  log: {value: 'api-ingress #1'}\n  description: free text\n  labels: [{key: team, value: ops}]\n");
	ck_assert_str_eq(json_string_value(field0("log")), "api-ingress #1");
	expect_refused(CNP SPEC "  ingress: [{}]\n  log: {value: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}\n",
		       "spec.log.value: at most 32 characters");
	expect_refused(CNP SPEC "  ingress: [{}]\n  log: {value: \"a\\tb\"}\n",
		       "spec.log.value: only printable ASCII characters are allowed");
}
END_TEST

START_TEST(rules_are_validated)
{
	expect_refused(CNP SPEC, "spec: a rule needs at least one of ingress, ingressDeny, egress or egressDeny");
	expect_refused(CNP SPEC "  ingress: []\n", "spec: a rule needs at least one of ingress, ingressDeny, egress or egressDeny");
	expect_refused(CNP "spec:\n  ingress: [{}]\n", "spec.endpointSelector: required");
	expect_refused(CNP, "spec or specs is required");
	expect_refused(CNP SPEC "  ingress:\n  - fromEndpoint: [{}]\n",
		       "spec.ingress[0].fromEndpoint: unknown field");
	expect_refused(CNP SPEC "  ingres: []\n", "spec.ingres: unknown field");
	expect_refused(CNP SPEC "  ingress: {}\n", "spec.ingress: expected a list, got a mapping");
	expect_refused(CNP "specs:\n- endpointSelector: {}\n  ingress: [{}]\n- endpointSelector: {matchLabels: {'bad key': x}}\n  egress: [{}]\n",
		       "specs[1].endpointSelector.matchLabels[bad key]: \"bad key\" is not a valid label key");
	expect_refused(CNP SPEC "  ingress:\n  - fromEndpoints: [{matchLabels: {'foo:app': x}}]\n",
		       "spec.ingress[0].fromEndpoints[0].matchLabels[foo:app]: \"foo:app\": unknown label source \"foo\" (k8s, reserved, any, cidr, fqdn, ...)");
	expect_refused("apiVersion: cilium.io/v2\nkind: CiliumEnvoyConfig\nmetadata: {name: p}\n",
		       "kind: expected \"CiliumNetworkPolicy\" or \"CiliumClusterwideNetworkPolicy\"");
	expect_refused("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p}\nspec: {}\nstatus: {}\nextra: 1\n",
		       "extra: unknown field");
}
END_TEST

START_TEST(spec_and_specs_give_several_rules)
{
	expect_ok(CNP "spec:\n  endpointSelector: {matchLabels: {a: b}}\n  ingress: [{}]\nspecs:\n- endpointSelector: {}\n  egress: [{}]\n- endpointSelector: {}\n  ingressDeny: [{fromEntities: [world]}]\n");
	ck_assert_uint_eq(json_array_size(json_object_get(policy, "rules")), 3);
	expect_json(json_object_get(rule(0), "subject"),
		    "{\"match_labels\":{\"any:a\":\"b\"," NSX "}}");
	expect_json(json_object_get(rule(1), "default_deny"),
		    "{\"ingress\":false,\"egress\":true}");
	expect_json(json_object_get(rule(2), "ingress"),
		    "[{\"deny\":true,\"peers\":[{\"entity\":\"world\"}]}]");
}
END_TEST

START_TEST(example_file_translates)
{
	struct bw_policydoc_set set = { 0 };
	char rerr[256], buf[8192];
	FILE *f = fopen(BW_TEST_POLICY_DATA "/cilium-examples.yaml", "rb");
	size_t len;

	ck_assert_ptr_nonnull(f);
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	ck_assert_int_eq(bw_policydoc_read(buf, len, "cilium-examples.yaml", &set,
					   rerr, sizeof(rerr)), 0);
	ck_assert_uint_eq(set.count, 2);
	ck_assert_int_eq(tr_json(set.docs[0].json, set.docs[0].json_len), 0);
	expect_json(policy,
		    "{\"kind\":\"CiliumNetworkPolicy\",\"name\":\"api-policy\",\"namespace\":\"shop\",\"rules\":[{"
		    "\"subject\":{\"match_labels\":{\"any:app\":\"api\",\"k8s:io.kubernetes.pod.namespace\":\"shop\"}},"
		    "\"ingress\":[{\"deny\":false,\"peers\":[{\"selector\":{\"match_labels\":{\"k8s:app\":\"web\",\"k8s:io.kubernetes.pod.namespace\":\"shop\"}}}],"
		    "\"ports\":[{\"port\":8080,\"protocol\":\"TCP\"}]},"
		    "{\"deny\":false,\"peers\":[{\"entity\":\"host\"},{\"entity\":\"remote-node\"}]}],"
		    "\"egress\":[{\"deny\":false,\"peers\":[{\"cidr\":\"198.51.100.0/24\",\"except\":[\"198.51.100.7/32\"],\"match_endpoints\":false}],"
		    "\"ports\":[{\"port\":443,\"protocol\":\"ANY\"}]},"
		    "{\"deny\":false,\"icmps\":[{\"family\":4,\"type\":8},{\"family\":6,\"type\":128}]},"
		    "{\"deny\":true,\"peers\":[{\"cidr\":\"203.0.113.9/32\",\"match_endpoints\":false}]}],"
		    "\"default_deny\":{\"ingress\":true,\"egress\":true},\"log\":\"api\"}]}");
	ck_assert_int_eq(tr_json(set.docs[1].json, set.docs[1].json_len), 0);
	expect_json(policy,
		    "{\"kind\":\"CiliumClusterwideNetworkPolicy\",\"name\":\"dns\",\"namespace\":\"\",\"rules\":[{"
		    "\"subject\":{},\"ingress\":[],"
		    "\"egress\":[{\"deny\":false,\"peers\":[{\"selector\":{\"match_labels\":{\"k8s:io.kubernetes.pod.namespace\":\"kube-system\",\"k8s:k8s-app\":\"kube-dns\"}}}],"
		    "\"ports\":[{\"port\":53,\"protocol\":\"UDP\"}]}],"
		    "\"default_deny\":{\"ingress\":false,\"egress\":false}}]}");
	bw_policydoc_set_free(&set);
}
END_TEST

/* ---- L7 rules (toPorts[].rules) -------------------------------------- */

static json_t *
port0(const char *dir)
{
	return json_array_get(json_object_get(json_array_get(field0(dir), 0), "ports"), 0);
}

START_TEST(l7_http_rules_are_carried_on_each_port)
{
	expect_ok(CNP SPEC "  ingress:\n  - toPorts:\n    - ports: [{port: '80', protocol: TCP}, {port: '8080'}]\n"
		  "      rules:\n        http:\n        - {method: GET, path: '/public/.*'}\n"
		  "        - {method: POST, host: 'api\\.example', headers: ['X-Token'],\n"
		  "           headerMatches: [{name: X-Env, value: prod, mismatch: LOG}]}\n");
	expect_json(json_object_get(field0("ingress"), "ports") ? field0("ingress")
							      : json_array_get(field0("ingress"), 0),
		    "{\"deny\":false,\"ports\":["
		    "{\"port\":80,\"protocol\":\"TCP\",\"rules\":{\"http\":["
		    "{\"method\":\"GET\",\"path\":\"/public/.*\"},"
		    "{\"method\":\"POST\",\"host\":\"api\\\\.example\",\"headers\":[\"X-Token\"],"
		    "\"headerMatches\":[{\"name\":\"X-Env\",\"value\":\"prod\",\"mismatch\":\"LOG\"}]}]}},"
		    "{\"port\":8080,\"protocol\":\"ANY\",\"rules\":{\"http\":["
		    "{\"method\":\"GET\",\"path\":\"/public/.*\"},"
		    "{\"method\":\"POST\",\"host\":\"api\\\\.example\",\"headers\":[\"X-Token\"],"
		    "\"headerMatches\":[{\"name\":\"X-Env\",\"value\":\"prod\",\"mismatch\":\"LOG\"}]}]}}]}");
}
END_TEST

START_TEST(l7_dns_kafka_and_l7proto_rules)
{
	expect_ok(CNP SPEC "  egress:\n  - toPorts:\n    - ports: [{port: '53', protocol: ANY}]\n"
		  "      rules:\n        dns: [{matchName: API.Example}, {matchPattern: '*.Example.'}]\n");
	expect_json(json_object_get(port0("egress"), "rules"),
		    "{\"dns\":[{\"matchName\":\"api.example.\"},{\"matchPattern\":\"*.example.\"}]}");
	expect_ok(CNP SPEC "  ingress:\n  - toPorts:\n    - ports: [{port: '9092', protocol: TCP}]\n"
		  "      rules:\n        kafka: [{role: Produce, topic: orders}, {apiKey: Metadata, apiVersion: '3', clientID: c1}]\n");
	expect_json(json_object_get(port0("ingress"), "rules"),
		    "{\"kafka\":[{\"role\":\"produce\",\"topic\":\"orders\"},"
		    "{\"apiKey\":\"metadata\",\"apiVersion\":\"3\",\"clientID\":\"c1\"}]}");
	/* past Cilium's table, Kafka's names (a bulwark extension), lower-cased */
	expect_ok(CNP SPEC "  ingress:\n  - toPorts:\n    - ports: [{port: '9092', protocol: TCP}]\n"
		  "      rules:\n        kafka: [{apiKey: ConsumerGroupHeartbeat}, {apiKey: InitProducerId}]\n");
	expect_json(json_object_get(port0("ingress"), "rules"),
		    "{\"kafka\":[{\"apiKey\":\"consumergroupheartbeat\"},{\"apiKey\":\"initproducerid\"}]}");
	expect_ok(CNP SPEC "  ingress:\n  - toPorts:\n    - ports: [{port: '4040', protocol: TCP}]\n"
		  "      rules:\n        l7proto: r2d2\n        l7: [{cmd: READ, file: '/public/.*'}]\n");
	expect_json(json_object_get(port0("ingress"), "rules"),
		    "{\"l7proto\":\"r2d2\",\"l7\":[{\"cmd\":\"READ\",\"file\":\"/public/.*\"}]}");
	/* empty lists are no L7 rules (Cilium's IsEmpty): a plain port */
	expect_ok(CNP SPEC "  ingress:\n  - toPorts:\n    - ports: [{port: '80', protocol: TCP}]\n      rules: {http: []}\n");
	ck_assert_ptr_null(json_object_get(port0("ingress"), "rules"));
}
END_TEST

START_TEST(l7_rules_are_validated)
{
	expect_refused(CNP SPEC "  ingress:\n  - toPorts:\n    - ports: [{port: '80', protocol: UDP}]\n      rules: {http: [{method: GET}]}\n",
		       "spec.ingress[0].toPorts[0].ports[0].protocol: L7 rules can only apply to TCP (not UDP) except for DNS rules");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts:\n    - ports: [{port: '0', protocol: TCP}]\n      rules: {http: [{method: GET}]}\n",
		       "spec.ingress[0].toPorts[0].ports[0].port: http rules need a port number or name (not 0)");
	expect_refused(CNP SPEC "  egress:\n  - toPorts:\n    - ports: [{port: '53', endPort: 54}]\n      rules: {dns: [{matchName: a.example}]}\n",
		       "spec.egress[0].toPorts[0].ports[0].endPort: DNS rules do not support port ranges");
	expect_refused(CNP SPEC "  egress:\n  - toPorts:\n    - ports: [{port: '53', protocol: SCTP}]\n      rules: {dns: [{matchName: a.example}]}\n",
		       "spec.egress[0].toPorts[0].ports[0].protocol: DNS rules apply to TCP, UDP or ANY, not SCTP");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts:\n    - ports: [{port: '53'}]\n      rules: {dns: [{matchName: a.example}]}\n",
		       "spec.ingress[0].toPorts[0].rules.dns: DNS rules are not allowed in ingress rules");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts:\n    - ports: [{port: '80'}]\n      rules: {http: [{path: '/('}]}\n",
		       "spec.ingress[0].toPorts[0].rules.http[0].path: \"/(\" is not a valid regular expression: missing closing parenthesis at offset 2");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts:\n    - ports: [{port: '80'}]\n      rules: {http: [{verb: GET}]}\n",
		       "spec.ingress[0].toPorts[0].rules.http[0].verb: unknown field");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts:\n    - ports: [{port: '80'}]\n      rules: {http: [{headerMatches: [{name: X, mismatch: DROP}]}]}\n",
		       "spec.ingress[0].toPorts[0].rules.http[0].headerMatches[0].mismatch: \"DROP\" is not one of LOG, ADD, DELETE, REPLACE");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts:\n    - ports: [{port: '80'}]\n      rules: {http: [{headerMatches: [{name: X, secret: {name: s}}]}]}\n",
		       "spec.ingress[0].toPorts[0].rules.http[0].headerMatches[0].secret: header values from Kubernetes secrets are not supported");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts:\n    - ports: [{port: '80'}]\n      rules: {http: [{method: GET}], kafka: [{topic: t}]}\n",
		       "spec.ingress[0].toPorts[0].rules: http and kafka cannot be combined in one port rule");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts:\n    - ports: [{port: '9092'}]\n      rules: {kafka: [{role: produce, apiKey: fetch}]}\n",
		       "spec.ingress[0].toPorts[0].rules.kafka[0]: role and apiKey cannot both be set");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts:\n    - ports: [{port: '9092'}]\n      rules: {kafka: [{role: write}]}\n",
		       "spec.ingress[0].toPorts[0].rules.kafka[0].role: \"write\" is not produce or consume");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts:\n    - ports: [{port: '9092'}]\n      rules: {kafka: [{apiKey: teleport}]}\n",
		       "spec.ingress[0].toPorts[0].rules.kafka[0].apiKey: \"teleport\" is not a Kafka API key name (produce, fetch, offsets, metadata, ...)");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts:\n    - ports: [{port: '9092'}]\n      rules: {kafka: [{topic: 'a b'}]}\n",
		       "spec.ingress[0].toPorts[0].rules.kafka[0].topic: \"a b\" is not a valid topic (1 to 255 characters of [a-zA-Z0-9._-])");
	expect_refused(CNP SPEC "  egress:\n  - toPorts:\n    - ports: [{port: '53'}]\n      rules: {dns: [{matchName: a.example, matchPattern: '*'}]}\n",
		       "spec.egress[0].toPorts[0].rules.dns[0]: exactly one of matchName and matchPattern is required");
	expect_refused(CNP SPEC "  egress:\n  - toPorts:\n    - ports: [{port: '53'}]\n      rules: {dns: [{matchName: 'a*.example'}]}\n",
		       "spec.egress[0].toPorts[0].rules.dns[0].matchName: \"a*.example\" has a character that is not allowed ([-a-zA-Z0-9_.])");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts:\n    - ports: [{port: '80'}]\n      rules: {l7: [{a: b}]}\n",
		       "spec.ingress[0].toPorts[0].rules.l7: needs l7proto (the name of the L7 protocol)");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts:\n    - ports: [{port: '80'}]\n      rules: {l7proto: R2D2}\n",
		       "spec.ingress[0].toPorts[0].rules.l7proto: \"R2D2\" is not a valid protocol name (at most 63 characters of [a-z0-9._-])");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts:\n    - ports: [{port: '80'}]\n      rules: {l7proto: r2d2, l7: [{a: 1}]}\n",
		       "spec.ingress[0].toPorts[0].rules.l7[0].a: expected a string, got an integer");
	expect_refused(CNP SPEC "  ingress:\n  - toPorts:\n    - ports: [{port: '80', protocol: TCP}]\n      rules: {http: [{method: GET}]}\n"
		       "    - ports: [{port: '80', protocol: TCP}]\n      rules: {kafka: [{topic: t}]}\n",
		       "spec.ingress[0].toPorts: port 80/TCP has http rules in one port rule and kafka rules in another; one port takes one kind of L7 rules");
	expect_refused(CNP SPEC "  ingressDeny:\n  - toPorts:\n    - ports: [{port: '80'}]\n      rules: {http: [{method: GET}]}\n",
		       "spec.ingressDeny[0].toPorts[0].rules: L7 rules are not allowed in deny rules");
}
END_TEST

static Suite *
netpol_cilium_suite(void)
{
	Suite *s = suite_create("netpol-cilium");
	TCase *tc = tcase_create("translate");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, registers_for_cilium_io_v2);
	tcase_add_test(tc, cnp_whole_policy);
	tcase_add_test(tc, cnp_subject_is_confined_to_the_policy_namespace);
	tcase_add_test(tc, cnp_peer_selectors_get_the_policy_namespace);
	tcase_add_test(tc, cnp_explicit_namespaces_are_kept);
	tcase_add_test(tc, ccnp_peers_are_limited_to_pods_in_any_namespace);
	tcase_add_test(tc, ccnp_namespace_is_ignored_and_init_subjects_are_special);
	tcase_add_test(tc, reserved_dot_and_dollar_keys_are_reserved_labels);
	tcase_add_test(tc, nil_and_empty_peer_lists_differ);
	tcase_add_test(tc, every_entity_is_accepted);
	tcase_add_test(tc, cidr_peers_never_match_endpoints);
	tcase_add_test(tc, bad_cidrs_are_refused);
	tcase_add_test(tc, one_peer_family_per_element);
	tcase_add_test(tc, to_fqdns_become_canonical_fqdn_peers);
	tcase_add_test(tc, bad_fqdn_selectors_are_refused);
	tcase_add_test(tc, ports_and_protocols);
	tcase_add_test(tc, bad_ports_are_refused);
	tcase_add_test(tc, unsupported_features_are_refused);
	tcase_add_test(tc, l7_http_rules_are_carried_on_each_port);
	tcase_add_test(tc, l7_dns_kafka_and_l7proto_rules);
	tcase_add_test(tc, l7_rules_are_validated);
	tcase_add_test(tc, icmp_types_by_number_and_name);
	tcase_add_test(tc, deny_rules_follow_allow_rules);
	tcase_add_test(tc, enable_default_deny_overrides_per_direction);
	tcase_add_test(tc, log_value_is_kept);
	tcase_add_test(tc, rules_are_validated);
	tcase_add_test(tc, spec_and_specs_give_several_rules);
	tcase_add_test(tc, example_file_translates);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(netpol_cilium_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
