/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_netpol_k8s.c - the Kubernetes NetworkPolicy format module
 * (modules/netpol-k8s). The module source is compiled in and registered
 * through its descriptor with a minimal core API, exactly as the daemon
 * does; inputs go through the policy document reader first, as YAML users
 * write them. Each translation rule of docs/policy.md has a test here, and
 * each refusal is checked with its exact message.
 */
#include <dirent.h>
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

/* Translate one JSON document; 0 and policy set, or -errno and err set. */
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

/* Translate a one-document YAML text. */
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
rule0(void)
{
	return json_array_get(json_object_get(policy, "rules"), 0);
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
	ck_assert_int_eq(tr(yaml), -EINVAL);
	ck_assert_str_eq(err, message);
}

#define HDR "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\n  namespace: x\n"

START_TEST(registers_for_networking_k8s_io_v1)
{
	ck_assert_str_eq(bw_module_desc.name, "netpol-k8s");
	ck_assert_uint_eq(fmt->size, sizeof(struct bw_policy_format));
	ck_assert_str_eq(fmt->api_versions[0], "networking.k8s.io/v1");
	ck_assert_ptr_null(fmt->api_versions[1]);
	ck_assert_str_eq(fmt->kinds[0], "NetworkPolicy");
	ck_assert_ptr_null(fmt->kinds[1]);
}
END_TEST

START_TEST(default_deny_ingress_policy)
{
	expect_ok(HDR "spec:\n  podSelector: {}\n  ingress: []\n  policyTypes: [Ingress]\n");
	expect_json(policy,
		    "{\"kind\":\"NetworkPolicy\",\"name\":\"p\",\"namespace\":\"x\",\"rules\":[{"
		    "\"subject\":{\"match_labels\":{\"k8s:io.kubernetes.pod.namespace\":\"x\"}},"
		    "\"ingress\":[],\"egress\":[],"
		    "\"default_deny\":{\"ingress\":true,\"egress\":false}}]}");
}
END_TEST

START_TEST(subject_keys_get_k8s_source_and_namespace)
{
	expect_ok(HDR "spec:\n  podSelector:\n    matchLabels: {pod: a, app.kubernetes.io/name: web}\n"
		  "    matchExpressions:\n    - {key: tier, operator: NotIn, values: [db]}\n");
	expect_json(json_object_get(rule0(), "subject"),
		    "{\"match_labels\":{\"k8s:pod\":\"a\",\"k8s:app.kubernetes.io/name\":\"web\","
		    "\"k8s:io.kubernetes.pod.namespace\":\"x\"},"
		    "\"match_expressions\":[{\"key\":\"k8s:tier\",\"operator\":\"NotIn\",\"values\":[\"db\"]}]}");
}
END_TEST

START_TEST(namespace_defaults_to_default)
{
	expect_ok("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}}\n");
	ck_assert_str_eq(json_string_value(json_object_get(policy, "namespace")),
			 "default");
	expect_json(json_object_get(rule0(), "subject"),
		    "{\"match_labels\":{\"k8s:io.kubernetes.pod.namespace\":\"default\"}}");
}
END_TEST

START_TEST(missing_spec_isolates_every_pod_for_ingress)
{
	expect_ok("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\n");
	expect_json(json_object_get(rule0(), "default_deny"),
		    "{\"ingress\":true,\"egress\":false}");
}
END_TEST

START_TEST(policy_types_unspecified_follow_the_rules)
{
	/* No policyTypes, no rules: ingress only. */
	expect_ok(HDR "spec:\n  podSelector: {}\n");
	expect_json(json_object_get(rule0(), "default_deny"),
		    "{\"ingress\":true,\"egress\":false}");
	/* No policyTypes, egress rules: both directions. */
	expect_ok(HDR "spec:\n  podSelector: {}\n  egress:\n  - {}\n");
	expect_json(json_object_get(rule0(), "default_deny"),
		    "{\"ingress\":true,\"egress\":true}");
	expect_json(json_object_get(rule0(), "egress"), "[{\"deny\":false}]");
	/* An empty egress list is no egress rule. */
	expect_ok(HDR "spec:\n  podSelector: {}\n  egress: []\n");
	expect_json(json_object_get(rule0(), "default_deny"),
		    "{\"ingress\":true,\"egress\":false}");
	/* policyTypes: [] is unspecified. */
	expect_ok(HDR "spec:\n  podSelector: {}\n  policyTypes: []\n");
	expect_json(json_object_get(rule0(), "default_deny"),
		    "{\"ingress\":true,\"egress\":false}");
}
END_TEST

START_TEST(policy_types_listed_decide_the_directions)
{
	expect_ok(HDR "spec:\n  podSelector: {}\n  policyTypes: [Egress]\n");
	expect_json(json_object_get(rule0(), "default_deny"),
		    "{\"ingress\":false,\"egress\":true}");
	expect_ok(HDR "spec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n  ingress: []\n  egress: []\n");
	expect_json(json_object_get(rule0(), "default_deny"),
		    "{\"ingress\":true,\"egress\":true}");
	/* Rules of a direction the policy does not cover have no effect. */
	expect_ok(HDR "spec:\n  podSelector: {}\n  policyTypes: [Ingress]\n  egress:\n  - to: [{podSelector: {}}]\n");
	expect_json(rule0(), "{\"subject\":{\"match_labels\":{\"k8s:io.kubernetes.pod.namespace\":\"x\"}},"
		    "\"ingress\":[],\"egress\":[],\"default_deny\":{\"ingress\":true,\"egress\":false}}");
	expect_ok(HDR "spec:\n  podSelector: {}\n  policyTypes: [Egress]\n  ingress:\n  - {}\n");
	expect_json(json_object_get(rule0(), "ingress"), "[]");
}
END_TEST

START_TEST(empty_or_missing_from_means_any_peer)
{
	expect_ok(HDR "spec:\n  podSelector: {}\n  ingress:\n  - {}\n  - from: []\n  - from:\n    ports: []\n");
	expect_json(json_object_get(rule0(), "ingress"),
		    "[{\"deny\":false},{\"deny\":false},{\"deny\":false}]");
}
END_TEST

START_TEST(pod_selector_peer_is_scoped_to_the_policy_namespace)
{
	expect_ok(HDR "spec:\n  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from:\n    - podSelector:\n        matchLabels: {pod: b}\n    - podSelector: {}\n");
	expect_json(json_object_get(rule0(), "ingress"),
		    "[{\"deny\":false,\"peers\":["
		    "{\"selector\":{\"match_labels\":{\"k8s:pod\":\"b\",\"k8s:io.kubernetes.pod.namespace\":\"x\"}}},"
		    "{\"selector\":{\"match_labels\":{\"k8s:io.kubernetes.pod.namespace\":\"x\"}}}]}]");
}
END_TEST

START_TEST(namespace_selector_keys_become_namespace_labels_of_pods)
{
	expect_ok(HDR "spec:\n  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: y\n");
	expect_json(json_object_get(rule0(), "ingress"),
		    "[{\"deny\":false,\"peers\":[{\"selector\":{\"match_labels\":"
		    "{\"k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name\":\"y\"},"
		    "\"match_expressions\":[{\"key\":\"k8s:io.kubernetes.pod.namespace\",\"operator\":\"Exists\"}]}}]}]");
}
END_TEST

START_TEST(namespace_and_pod_selectors_combine)
{
	expect_ok(HDR "spec:\n  podSelector: {}\n  ingress:\n  - from:\n    - podSelector:\n        matchLabels: {pod: b}\n"
		  "      namespaceSelector:\n        matchExpressions:\n        - key: kubernetes.io/metadata.name\n          operator: NotIn\n          values: [x]\n");
	expect_json(json_object_get(rule0(), "ingress"),
		    "[{\"deny\":false,\"peers\":[{\"selector\":{"
		    "\"match_labels\":{\"k8s:pod\":\"b\"},"
		    "\"match_expressions\":[{\"key\":\"k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name\","
		    "\"operator\":\"NotIn\",\"values\":[\"x\"]},{\"key\":\"k8s:io.kubernetes.pod.namespace\",\"operator\":\"Exists\"}]}}]}]");
}
END_TEST

START_TEST(empty_namespace_selector_means_every_namespace)
{
	expect_ok(HDR "spec:\n  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector: {}\n    - namespaceSelector: {}\n      podSelector: {matchLabels: {pod: c}}\n");
	expect_json(json_object_get(rule0(), "ingress"),
		    "[{\"deny\":false,\"peers\":["
		    "{\"selector\":{\"match_expressions\":[{\"key\":\"k8s:io.kubernetes.pod.namespace\",\"operator\":\"Exists\"}]}},"
		    "{\"selector\":{\"match_labels\":{\"k8s:pod\":\"c\"},"
		    "\"match_expressions\":[{\"key\":\"k8s:io.kubernetes.pod.namespace\",\"operator\":\"Exists\"}]}}]}]");
}
END_TEST

START_TEST(ip_block_matches_endpoints_too)
{
	expect_ok(HDR "spec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 10.0.0.0/8\n        except: [10.1.0.0/16, 10.2.3.4/32]\n"
		  "    - ipBlock: {cidr: '2001:db8::/32'}\n    - ipBlock: {cidr: 192.0.2.77/24}\n");
	expect_json(json_object_get(rule0(), "egress"),
		    "[{\"deny\":false,\"peers\":["
		    "{\"cidr\":\"10.0.0.0/8\",\"except\":[\"10.1.0.0/16\",\"10.2.3.4/32\"],\"match_endpoints\":true},"
		    "{\"cidr\":\"2001:db8::/32\",\"match_endpoints\":true},"
		    "{\"cidr\":\"192.0.2.0/24\",\"match_endpoints\":true}]}]");
}
END_TEST

START_TEST(ports_default_to_tcp_and_all_ports)
{
	expect_ok(HDR "spec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - port: 80\n    - protocol: UDP\n    - protocol: SCTP\n      port: 81\n"
		  "    - port: 5000\n      endPort: 5010\n    - port: 6000\n      endPort: 6000\n    - port: serve-80-tcp\n    - protocol: UDP\n      port: dns\n");
	expect_json(json_object_get(rule0(), "ingress"),
		    "[{\"deny\":false,\"ports\":["
		    "{\"port\":80,\"protocol\":\"TCP\"},"
		    "{\"port\":0,\"protocol\":\"UDP\"},"
		    "{\"port\":81,\"protocol\":\"SCTP\"},"
		    "{\"port\":5000,\"end_port\":5010,\"protocol\":\"TCP\"},"
		    "{\"port\":6000,\"protocol\":\"TCP\"},"
		    "{\"name\":\"serve-80-tcp\",\"protocol\":\"TCP\"},"
		    "{\"name\":\"dns\",\"protocol\":\"UDP\"}]}]");
}
END_TEST

START_TEST(peers_and_ports_together)
{
	expect_ok(HDR "spec:\n  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - ports:\n    - protocol: TCP\n      port: 81\n    from:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: y\n  policyTypes:\n  - Ingress\n");
	expect_json(rule0(),
		    "{\"subject\":{\"match_labels\":{\"k8s:pod\":\"a\",\"k8s:io.kubernetes.pod.namespace\":\"x\"}},"
		    "\"ingress\":[{\"deny\":false,"
		    "\"peers\":[{\"selector\":{\"match_labels\":{\"k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name\":\"y\"},"
		    "\"match_expressions\":[{\"key\":\"k8s:io.kubernetes.pod.namespace\",\"operator\":\"Exists\"}]}}],"
		    "\"ports\":[{\"port\":81,\"protocol\":\"TCP\"}]}],"
		    "\"egress\":[],\"default_deny\":{\"ingress\":true,\"egress\":false}}");
}
END_TEST

START_TEST(metadata_is_validated)
{
	expect_refused("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nspec: {}\n",
		       "metadata: required");
	expect_refused("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {namespace: x}\n",
		       "metadata.name: required");
	expect_refused("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: Web_1}\n",
		       "metadata.name: \"Web_1\" is not a valid name (lowercase letters, digits, '-' and '.', starting and ending alphanumeric, at most 253 characters)");
	expect_refused("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: w, namespace: a.b}\n",
		       "metadata.namespace: \"a.b\" is not a valid namespace (lowercase letters, digits and '-', starting and ending alphanumeric, at most 63 characters)");
	expect_refused("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: 5}\n",
		       "metadata.name: expected a string, got an integer");
	expect_refused("apiVersion: networking.k8s.io/v1beta1\nkind: NetworkPolicy\nmetadata: {name: p}\n",
		       "apiVersion: expected \"networking.k8s.io/v1\"");
	/* Other metadata (labels, annotations, uid, ...) is accepted. */
	expect_ok("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\n  labels: {a: b}\n  annotations: {x: y}\n  uid: 1234\n");
}
END_TEST

START_TEST(unknown_fields_are_refused_with_their_path)
{
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingres: []\n",
		       "spec.ingres: unknown field");
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - from:\n    - podSelector: {}\n      namespaceSelectr: {}\n",
		       "spec.ingress[0].from[0].namespaceSelectr: unknown field");
	expect_refused(HDR "spec:\n  podSelector: {matchLabel: {a: b}}\n",
		       "spec.podSelector.matchLabel: unknown field");
	expect_refused(HDR "spec:\n  podSelector: {}\n  egress:\n  - to: []\n    port: []\n",
		       "spec.egress[0].port: unknown field");
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - ports: [{port: 80, name: x}]\n",
		       "spec.ingress[0].ports[0].name: unknown field");
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - from: [{ipBlock: {cidr: 10.0.0.0/8, excpt: []}}]\n",
		       "spec.ingress[0].from[0].ipBlock.excpt: unknown field");
	expect_refused(HDR "extra: 1\n", "extra: unknown field");
}
END_TEST

START_TEST(quoted_port_number_is_refused)
{
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - port: \"80\"\n",
		       "spec.ingress[0].ports[0].port: \"80\" is a quoted string, so it would be a port name, and a port name must contain a letter; write the number without quotes (port: 80)");
}
END_TEST

START_TEST(bad_ports_are_refused)
{
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - port: 0\n",
		       "spec.ingress[0].ports[0].port: 0 is not a valid port number (1-65535)");
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - port: 70000\n",
		       "spec.ingress[0].ports[0].port: 70000 is not a valid port number (1-65535)");
	expect_refused(HDR "spec:\n  podSelector: {}\n  egress:\n  - ports:\n    - {port: 90, endPort: 80}\n",
		       "spec.egress[0].ports[0].endPort: must be greater than or equal to port (90)");
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - {port: http, endPort: 80}\n",
		       "spec.ingress[0].ports[0].endPort: may not be specified when port is a named port");
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - {endPort: 80}\n",
		       "spec.ingress[0].ports[0].endPort: may not be specified when port is not specified");
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - {protocol: ICMP}\n",
		       "spec.ingress[0].ports[0].protocol: \"ICMP\" is not a supported protocol (TCP, UDP, SCTP)");
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - {protocol: tcp}\n",
		       "spec.ingress[0].ports[0].protocol: \"tcp\" is not a supported protocol (TCP, UDP, SCTP)");
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - {port: Serve-HTTP}\n",
		       "spec.ingress[0].ports[0].port: \"Serve-HTTP\" is not a valid port name (at most 15 characters [a-z0-9-], at least one letter, no leading, trailing or double '-')");
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - {port: 80.5}\n",
		       "spec.ingress[0].ports[0].port: expected a port number or a port name, got a number");
}
END_TEST

START_TEST(bad_peers_are_refused)
{
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - from:\n    - {}\n",
		       "spec.ingress[0].from[0]: must specify a peer (podSelector, namespaceSelector or ipBlock)");
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - from:\n    - podSelector: {}\n      ipBlock: {cidr: 10.0.0.0/8}\n",
		       "spec.ingress[0].from[0]: may not specify both ipBlock and another peer");
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - from:\n    - podSelector: {}\n    - ipBlock:\n        cidr: 10.0.0.0/8\n        except: [10.0.0.0/24, 11.0.0.0/24]\n",
		       "spec.ingress[0].from[1].ipBlock.except[1]: \"11.0.0.0/24\" is not a strict subset of 10.0.0.0/8");
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock:\n        cidr: 10.0.0.0/8\n        except: [10.0.0.0/8]\n",
		       "spec.ingress[0].from[0].ipBlock.except[0]: \"10.0.0.0/8\" is not a strict subset of 10.0.0.0/8");
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/33}\n",
		       "spec.ingress[0].from[0].ipBlock.cidr: \"10.0.0.0/33\" is not a valid CIDR");
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.1.2.3}\n",
		       "spec.ingress[0].from[0].ipBlock.cidr: \"10.1.2.3\" is not a valid CIDR");
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {except: [10.0.0.0/8]}\n",
		       "spec.ingress[0].from[0].ipBlock.cidr: required");
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: '2001:db8::/32', except: [10.0.0.0/8]}\n",
		       "spec.ingress[0].from[0].ipBlock.except[0]: \"10.0.0.0/8\" is not a strict subset of 2001:db8::/32");
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - from: {podSelector: {}}\n",
		       "spec.ingress[0].from: expected a list, got a mapping");
}
END_TEST

START_TEST(bad_selectors_are_refused)
{
	expect_refused(HDR "spec:\n  podSelector:\n    matchLabels: {pod: 5}\n",
		       "spec.podSelector.matchLabels[pod]: expected a string, got an integer (quote numbers and booleans used as label values)");
	expect_refused(HDR "spec:\n  podSelector:\n    matchLabels: {pod: 'a b'}\n",
		       "spec.podSelector.matchLabels[pod]: \"a b\" is not a valid label value (at most 63 characters [A-Za-z0-9._-] starting and ending alphanumeric)");
	expect_refused(HDR "spec:\n  podSelector:\n    matchLabels: {'k8s:pod': a}\n",
		       "spec.podSelector.matchLabels[k8s:pod]: \"k8s:pod\" is not a valid label key (an optional DNS subdomain prefix and '/', then at most 63 characters [A-Za-z0-9._-] starting and ending alphanumeric)");
	expect_refused(HDR "spec:\n  podSelector:\n    matchExpressions:\n    - {key: pod, operator: In}\n",
		       "spec.podSelector.matchExpressions[0].values: must be non-empty when operator is In");
	expect_refused(HDR "spec:\n  podSelector:\n    matchExpressions:\n    - {key: pod, operator: Exists, values: [a]}\n",
		       "spec.podSelector.matchExpressions[0].values: must be empty when operator is Exists");
	expect_refused(HDR "spec:\n  podSelector:\n    matchExpressions:\n    - {key: pod, operator: Equals, values: [a]}\n",
		       "spec.podSelector.matchExpressions[0].operator: \"Equals\" is not a valid operator (In, NotIn, Exists, DoesNotExist)");
	expect_refused(HDR "spec:\n  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector:\n        matchExpressions:\n        - {operator: Exists}\n",
		       "spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].key: required");
}
END_TEST

START_TEST(bad_policy_types_are_refused)
{
	expect_refused(HDR "spec:\n  podSelector: {}\n  policyTypes: [Ingress, Both]\n",
		       "spec.policyTypes[1]: \"Both\" is not a valid policy type (Ingress, Egress)");
	expect_refused(HDR "spec:\n  podSelector: {}\n  policyTypes: Ingress\n",
		       "spec.policyTypes: expected a list, got a string");
}
END_TEST

START_TEST(invalid_json_is_refused)
{
	ck_assert_int_eq(tr_json("{\"a\":", 5), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "invalid JSON at line 1"));
}
END_TEST

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	buf = malloc(1 << 20);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

START_TEST(multi_document_file_translates)
{
	struct bw_policydoc_set set = { 0 };
	char rerr[256];
	size_t len;
	char *buf = slurp(BW_TEST_POLICY_DATA "/k8s-multi.yaml", &len);

	ck_assert_int_eq(bw_policydoc_read(buf, len, "k8s-multi.yaml", &set,
					   rerr, sizeof(rerr)), 0);
	free(buf);
	ck_assert_uint_eq(set.count, 2);
	ck_assert_int_eq(tr_json(set.docs[0].json, set.docs[0].json_len), 0);
	expect_json(policy,
		    "{\"kind\":\"NetworkPolicy\",\"name\":\"web-allow\",\"namespace\":\"shop\",\"rules\":[{"
		    "\"subject\":{\"match_labels\":{\"k8s:app\":\"web\",\"k8s:io.kubernetes.pod.namespace\":\"shop\"}},"
		    "\"ingress\":[{\"deny\":false,\"peers\":["
		    "{\"selector\":{\"match_labels\":{\"k8s:role\":\"frontend\",\"k8s:io.kubernetes.pod.namespace\":\"shop\"}}},"
		    "{\"selector\":{\"match_labels\":{\"k8s:io.cilium.k8s.namespace.labels.team\":\"ops\"},"
		    "\"match_expressions\":[{\"key\":\"k8s:tier\",\"operator\":\"In\",\"values\":[\"api\",\"web\"]},"
		    "{\"key\":\"k8s:io.kubernetes.pod.namespace\",\"operator\":\"Exists\"}]}},"
		    "{\"cidr\":\"192.0.2.0/24\",\"except\":[\"192.0.2.128/25\"],\"match_endpoints\":true}],"
		    "\"ports\":[{\"port\":80,\"protocol\":\"TCP\"},{\"port\":5000,\"end_port\":5010,\"protocol\":\"UDP\"},"
		    "{\"name\":\"http-alt\",\"protocol\":\"TCP\"}]}],"
		    "\"egress\":[{\"deny\":false,\"peers\":[{\"selector\":{\"match_expressions\":"
		    "[{\"key\":\"k8s:io.kubernetes.pod.namespace\",\"operator\":\"Exists\"}]}}],"
		    "\"ports\":[{\"port\":53,\"protocol\":\"UDP\"}]}],"
		    "\"default_deny\":{\"ingress\":true,\"egress\":true}}]}");
	ck_assert_int_eq(tr_json(set.docs[1].json, set.docs[1].json_len), 0);
	ck_assert_str_eq(json_string_value(json_object_get(policy, "namespace")),
			 "default");
	bw_policydoc_set_free(&set);
}
END_TEST

/*
 * Every NetworkPolicy of the Kubernetes conformance cases translates
 * (templated ipBlock placeholders replaced by example addresses).
 */
static unsigned
conformance_dir(const char *dir)
{
	struct dirent **names;
	unsigned policies = 0;
	int n = scandir(dir, &names, NULL, alphasort);

	ck_assert_msg(n >= 0, "cannot read %s", dir);
	for (int i = 0; i < n; i++) {
		struct bw_policydoc_set set = { 0 };
		char path[1024], rerr[256], *buf, *p;
		json_t *doc, *steps, *step, *pols, *pol;
		size_t len, si, pi;

		if (strstr(names[i]->d_name, ".yaml") == NULL) {
			free(names[i]);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		buf = slurp(path, &len);
		/* '{{hostCIDR x/b}}' -> '10.0.1.2/32', largeCIDR -> '0.0.0.0/4' */
		while ((p = strstr(buf, "{{hostCIDR")) != NULL) {
			char *end = strstr(p, "}}");

			memmove(p + 11, end + 2, strlen(end + 2) + 1);
			memcpy(p, "10.0.1.2/32", 11);
		}
		while ((p = strstr(buf, "{{largeCIDR")) != NULL) {
			char *end = strstr(p, "}}");

			memmove(p + 9, end + 2, strlen(end + 2) + 1);
			memcpy(p, "0.0.0.0/4", 9);
		}
		ck_assert_msg(bw_policydoc_read(buf, strlen(buf), path, &set, rerr,
						sizeof(rerr)) == 0, "%s", rerr);
		free(buf);
		doc = json_loads(set.docs[0].json, 0, NULL);
		steps = json_object_get(doc, "steps");
		json_array_foreach(steps, si, step) {
			pols = json_object_get(step, "policies");
			json_array_foreach(pols, pi, pol) {
				char *text = json_dumps(pol, JSON_COMPACT);

				ck_assert_msg(tr_json(text, strlen(text)) == 0,
					      "%s step %zu policy %zu: %s", path,
					      si, pi, err);
				free(text);
				policies++;
			}
		}
		json_decref(doc);
		bw_policydoc_set_free(&set);
		free(names[i]);
	}
	free(names);
	return policies;
}

START_TEST(conformance_policies_translate)
{
	unsigned n = conformance_dir(BW_TEST_CONFORMANCE_DIR);

	n += conformance_dir(BW_TEST_CONFORMANCE_DIR "/templated");
	ck_assert_uint_gt(n, 25);
}
END_TEST

static Suite *
netpol_k8s_suite(void)
{
	Suite *s = suite_create("netpol-k8s");
	TCase *tc = tcase_create("translate");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, registers_for_networking_k8s_io_v1);
	tcase_add_test(tc, default_deny_ingress_policy);
	tcase_add_test(tc, subject_keys_get_k8s_source_and_namespace);
	tcase_add_test(tc, namespace_defaults_to_default);
	tcase_add_test(tc, missing_spec_isolates_every_pod_for_ingress);
	tcase_add_test(tc, policy_types_unspecified_follow_the_rules);
	tcase_add_test(tc, policy_types_listed_decide_the_directions);
	tcase_add_test(tc, empty_or_missing_from_means_any_peer);
	tcase_add_test(tc, pod_selector_peer_is_scoped_to_the_policy_namespace);
	tcase_add_test(tc, namespace_selector_keys_become_namespace_labels_of_pods);
	tcase_add_test(tc, namespace_and_pod_selectors_combine);
	tcase_add_test(tc, empty_namespace_selector_means_every_namespace);
	tcase_add_test(tc, ip_block_matches_endpoints_too);
	tcase_add_test(tc, ports_default_to_tcp_and_all_ports);
	tcase_add_test(tc, peers_and_ports_together);
	tcase_add_test(tc, metadata_is_validated);
	tcase_add_test(tc, unknown_fields_are_refused_with_their_path);
	tcase_add_test(tc, quoted_port_number_is_refused);
	tcase_add_test(tc, bad_ports_are_refused);
	tcase_add_test(tc, bad_peers_are_refused);
	tcase_add_test(tc, bad_selectors_are_refused);
	tcase_add_test(tc, bad_policy_types_are_refused);
	tcase_add_test(tc, invalid_json_is_refused);
	tcase_add_test(tc, multi_document_file_translates);
	tcase_add_test(tc, conformance_policies_translate);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(netpol_k8s_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
