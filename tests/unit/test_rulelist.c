/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_rulelist.c - core/policy/policy_rulelist.c: Cilium's
 * `cilium policy import` JSON (a bare list of rules with their labels)
 * read into CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy: names
 * and namespaces from the labels, the file name or --namespace, rules of
 * one name grouped, errors naming the item and its line. The netpol-cilium
 * format module is compiled in and registered as the daemon registers it.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/module/registry.h"
#include "core/policy/policy.h"
#include "core/policy/policy_int.h"
#include "core/policy/resolver.h"
#include "tests/unit/fake_core.h"

extern const struct bw_module bw_module_desc;

static char err[4096];
static struct bw_pol_batch B;

static int format_add(bw_module_ctx *ctx, const struct bw_policy_format *f)
{
	return bw_policy_format_add(f, NULL);
}

static void setup(void)
{
	bw_log_set_level(BW_LOG_WARNING);
	fake_core_reset();
	fake_core.format_add = format_add;
	ck_assert_int_eq(bw_module_desc.init(NULL, fake_core_api(), NULL), 0);
	memset(&B, 0, sizeof(B));
}

static void teardown(void)
{
	bw_pol_batch_free(&B);
	bw_registry_fini();
}

static int parse(const char *src, const char *ns, const char *text)
{
	bw_pol_batch_free(&B);
	err[0] = '\0';
	return bw_pol_batch_parse_ns(text, strlen(text), src, ns, &B, err, sizeof(err));
}

/* The n-th policy: kind, namespace, name, number of rules. */
static void expect_policy(size_t n, const char *kind, const char *ns, const char *name,
			  size_t nrules)
{
	ck_assert_uint_gt(B.n, n);
	ck_assert_str_eq(B.v[n].kind, kind);
	ck_assert_str_eq(B.v[n].ns, ns);
	ck_assert_str_eq(B.v[n].name, name);
	ck_assert_uint_eq(B.v[n].rv->nrules, nrules);
}

static const char *subject(size_t n, size_t rule)
{
	static char buf[512];
	json_t *s = json_object_get(json_array_get(json_object_get(B.v[n].doc, "rules"), rule),
				    "subject");
	char *t = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);

	snprintf(buf, sizeof(buf), "%s", t ? t : "?");
	free(t);
	return buf;
}

/* Unlabelled rules of one file: one cluster-wide policy named by the file. */
START_TEST(unlabelled_rules_take_the_file_name)
{
	ck_assert_int_eq(parse("/srv/policies/Isolate_Namespaces.json", NULL,
			       "[\n"
			       "  {\"endpointSelector\": {\"matchLabels\": {\"k8s:io.kubernetes.pod.namespace\": \"ns1\"}},\n"
			       "   \"ingress\": [{\"fromEndpoints\": [{\"matchLabels\": {\"k8s:io.kubernetes.pod.namespace\": \"ns1\"}}]}]},\n"
			       "  {\"endpointSelector\": {\"matchLabels\": {\"k8s:io.kubernetes.pod.namespace\": \"ns2\"}},\n"
			       "   \"ingress\": [{\"fromEndpoints\": [{\"matchLabels\": {\"k8s:io.kubernetes.pod.namespace\": \"ns2\"}}]}]}\n"
			       "]\n"),
			 0);
	ck_assert_uint_eq(B.n, 1);
	expect_policy(0, "CiliumClusterwideNetworkPolicy", "", "isolate-namespaces", 2);
	ck_assert_str_eq(subject(0, 0),
			 "{\"match_labels\":{\"k8s:io.kubernetes.pod.namespace\":\"ns1\"}}");
	ck_assert_str_eq(subject(0, 1),
			 "{\"match_labels\":{\"k8s:io.kubernetes.pod.namespace\":\"ns2\"}}");
}
END_TEST

/* Cilium's l4/init.json shape: a name label, reserved:init. */
START_TEST(name_label_and_reserved_init)
{
	ck_assert_int_eq(parse("init.json", NULL,
			       "[{\n"
			       "  \"labels\": [{\"key\": \"name\", \"value\": \"init\"}],\n"
			       "  \"endpointSelector\": {\"matchLabels\": {\"reserved:init\": \"\"}},\n"
			       "  \"ingress\": [{\"fromEntities\": [\"host\"]}],\n"
			       "  \"egress\": [{\"toEntities\": [\"all\"],\n"
			       "    \"toPorts\": [{\"ports\": [{\"port\": \"53\", \"protocol\": \"UDP\"}]}]}]\n"
			       "}]\n"),
			 0);
	expect_policy(0, "CiliumClusterwideNetworkPolicy", "", "init", 1);
	ck_assert_str_eq(subject(0, 0), "{\"match_labels\":{\"reserved:init\":\"\"}}");
}
END_TEST

/* The namespace label, the policy name label, the short label form. */
START_TEST(namespace_and_name_labels)
{
	int e = parse("x.json", "fallback",
			       "[{\"labels\": [{\"key\": \"io.cilium.k8s.policy.name\", \"value\": \"web\", \"source\": \"k8s\"},\n"
			       "              {\"key\": \"io.cilium.k8s.policy.namespace\", \"value\": \"shop\", \"source\": \"k8s\"},\n"
			       "              {\"key\": \"name\", \"value\": \"ignored\"}],\n"
			       "  \"endpointSelector\": {\"matchLabels\": {\"app\": \"web\"}},\n"
			       "  \"ingress\": [{\"fromEndpoints\": [{\"matchLabels\": {\"app\": \"client\"}}]}]},\n"
			       " {\"labels\": [\"k8s:io.cilium.k8s.policy.name=db\"],\n"
			       "  \"endpointSelector\": {\"matchLabels\": {\"app\": \"db\"}},\n"
			       "  \"ingress\": [{\"fromEndpoints\": [{\"matchLabels\": {\"app\": \"web\"}}]}]}]\n");

	ck_assert_msg(e == 0, "%s", err);
	ck_assert_uint_eq(B.n, 2);
	expect_policy(0, "CiliumNetworkPolicy", "shop", "web", 1);
	/* no namespace label: --namespace's */
	expect_policy(1, "CiliumNetworkPolicy", "fallback", "db", 1);
	/* a namespaced policy confines its selectors as a CNP does */
	ck_assert_str_eq(subject(1, 0),
			 "{\"match_labels\":{\"any:app\":\"db\",\"k8s:io.kubernetes.pod.namespace\":\"fallback\"}}");
}
END_TEST

/* Rules of the same name are one policy, in input order; others apart. */
START_TEST(rules_of_one_name_group)
{
	ck_assert_int_eq(parse("request", NULL,
			       "[{\"labels\": [{\"key\": \"name\", \"value\": \"a\"}], \"endpointSelector\": {}, \"ingress\": [{}]},\n"
			       " {\"labels\": [{\"key\": \"name\", \"value\": \"b\"}], \"endpointSelector\": {}, \"egress\": [{}]},\n"
			       " {\"labels\": [{\"key\": \"name\", \"value\": \"a\"}], \"endpointSelector\": {\"matchLabels\": {\"x\": \"y\"}}, \"egress\": [{}]}]\n"),
			 0);
	ck_assert_uint_eq(B.n, 2);
	expect_policy(0, "CiliumClusterwideNetworkPolicy", "", "a", 2);
	expect_policy(1, "CiliumClusterwideNetworkPolicy", "", "b", 1);
	ck_assert_str_eq(subject(0, 1), "{\"match_labels\":{\"any:x\":\"y\"}}");
}
END_TEST

/* Input without a file name: a name from the rules' content, stable. */
START_TEST(no_file_name_hashes_the_rules)
{
	static const char *const in = "[{\"endpointSelector\": {}, \"ingress\": [{}]}]";
	char first[256];

	ck_assert_int_eq(parse("stdin", NULL, in), 0);
	ck_assert_msg(!strncmp(B.v[0].name, "rules-", 6), "%s", B.v[0].name);
	snprintf(first, sizeof(first), "%s", B.v[0].name);
	ck_assert_int_eq(parse("request", NULL, in), 0);
	ck_assert_str_eq(B.v[0].name, first);
}
END_TEST

/* Mistakes name the item and its line; a field inside a rule too. */
START_TEST(errors_name_the_item)
{
	ck_assert_int_eq(parse("r.json", NULL,
			       "[{\"labels\": \"oops\", \"endpointSelector\": {}}]"),
			 -EINVAL);
	ck_assert_str_eq(err, "r.json: document 1 (line 1): labels: must be a list of labels ({key, value, source} or \"source:key=value\")");
	ck_assert_int_eq(parse("r.json", NULL,
			       "[{\"labels\": [{\"key\": \"name\", \"value\": \"Not_OK\"}], \"endpointSelector\": {}}]"),
			 -EINVAL);
	ck_assert_msg(strstr(err, "the rule's name \"Not_OK\" is not a valid policy name"), "%s", err);
	ck_assert_int_eq(parse("r.json", "Bad NS",
			       "[{\"endpointSelector\": {}, \"ingress\": [{}]}]"),
			 -EINVAL);
	ck_assert_msg(strstr(err, "\"Bad NS\" is not a valid namespace"), "%s", err);
	ck_assert_int_eq(parse("r.json", NULL,
			       "[\n"
			       "  {\"endpointSelector\": {}, \"ingress\": [{}]},\n"
			       "  {\"endpointSelector\": {},\n"
			       "   \"ingress\": [{\"toPorts\": [{\"ports\": [{\"port\": \"99999\"}]}]}]}\n"
			       "]\n"),
			 -EINVAL);
	ck_assert_msg(strstr(err, "r.json:4: document 1, item 1 (line 3): ingress[0].toPorts[0].ports[0].port") == err,
		      "%s", err);
	/* nothing else is mistaken for a rule */
	ck_assert_int_eq(parse("r.json", NULL, "[{\"foo\": 1}]"), -EINVAL);
	ck_assert_msg(strstr(err, "apiVersion and kind are required"), "%s", err);
}
END_TEST

/* Ordinary documents next to rules are read as before. */
START_TEST(documents_and_rules_together)
{
	ck_assert_int_eq(parse("mix.json", NULL,
			       "{\"apiVersion\": \"cilium.io/v2\", \"kind\": \"CiliumNetworkPolicy\","
			       " \"metadata\": {\"name\": \"p\", \"namespace\": \"x\"},"
			       " \"spec\": {\"endpointSelector\": {}, \"ingress\": [{}]}}\n"
			       "[{\"endpointSelector\": {}, \"ingress\": [{}]}]\n"),
			 0);
	ck_assert_uint_eq(B.n, 2);
	expect_policy(0, "CiliumNetworkPolicy", "x", "p", 1);
	expect_policy(1, "CiliumClusterwideNetworkPolicy", "", "mix", 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rulelist");
	TCase *tc = tcase_create("rulelist");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, unlabelled_rules_take_the_file_name);
	tcase_add_test(tc, name_label_and_reserved_init);
	tcase_add_test(tc, namespace_and_name_labels);
	tcase_add_test(tc, rules_of_one_name_group);
	tcase_add_test(tc, no_file_name_hashes_the_rules);
	tcase_add_test(tc, errors_name_the_item);
	tcase_add_test(tc, documents_and_rules_together);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
