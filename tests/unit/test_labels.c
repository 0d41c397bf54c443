/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_labels.c - labels: parsing and printing as Hubble does,
 * sorted canonical text, the security-relevance filter and the Kubernetes
 * naming rules.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/node/labels.h"

START_TEST(parse_prints_source_key_value)
{
	struct bw_label l;
	char err[256];

	ck_assert_int_eq(bw_label_parse("k8s:app=web", NULL, &l, err, sizeof(err)), 0);
	ck_assert_str_eq(l.source, "k8s");
	ck_assert_str_eq(l.key, "app");
	ck_assert_str_eq(l.value, "web");
	ck_assert_str_eq(l.text, "k8s:app=web");
	bw_label_clear(&l);
}
END_TEST

START_TEST(empty_value_prints_without_equals)
{
	struct bw_label l;

	ck_assert_int_eq(bw_label_parse("reserved:world", NULL, &l, NULL, 0), 0);
	ck_assert_str_eq(l.value, "");
	ck_assert_str_eq(l.text, "reserved:world");
	bw_label_clear(&l);
	ck_assert_int_eq(bw_label_parse("k8s:flag=", NULL, &l, NULL, 0), 0);
	ck_assert_str_eq(l.text, "k8s:flag");
	bw_label_clear(&l);
}
END_TEST

START_TEST(colon_after_equals_is_part_of_value)
{
	struct bw_label l;

	ck_assert_int_eq(bw_label_parse("url=http://x", "k8s", &l, NULL, 0), 0);
	ck_assert_str_eq(l.source, "k8s");
	ck_assert_str_eq(l.key, "url");
	ck_assert_str_eq(l.value, "http://x");
	bw_label_clear(&l);
	ck_assert_int_eq(bw_label_parse("app=web", NULL, &l, NULL, 0), 0);
	ck_assert_str_eq(l.source, "unspec");
	bw_label_clear(&l);
}
END_TEST

START_TEST(unknown_source_and_empty_key_are_refused)
{
	struct bw_label l;
	char err[256];

	ck_assert_int_eq(bw_label_parse("bogus:app=web", NULL, &l, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "unknown source \"bogus\""));
	ck_assert_int_eq(bw_label_parse("k8s:=web", NULL, &l, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "empty key"));
}
END_TEST

START_TEST(set_is_sorted_and_canonical)
{
	struct bw_labelset *a = bw_labelset_new(), *b = bw_labelset_new();
	char *ta, *tb;

	bw_labelset_add(a, "k8s", "zeta", "1");
	bw_labelset_add(a, "k8s", "app", "web");
	bw_labelset_add(a, "reserved", "host", NULL);
	bw_labelset_add(b, "reserved", "host", "");
	bw_labelset_add(b, "k8s", "app", "web");
	bw_labelset_add(b, "k8s", "zeta", "1");
	ta = bw_labelset_text(a);
	tb = bw_labelset_text(b);
	ck_assert_str_eq(ta, "k8s:app=web\nk8s:zeta=1\nreserved:host");
	ck_assert_str_eq(ta, tb);
	ck_assert(bw_labelset_equal(a, b));
	free(ta);
	free(tb);
	bw_labelset_free(a);
	bw_labelset_free(b);
}
END_TEST

START_TEST(add_replaces_same_source_and_key)
{
	struct bw_labelset *a = bw_labelset_new();
	char *t;

	bw_labelset_add(a, "k8s", "app", "web");
	bw_labelset_add(a, "k8s", "app", "db");
	bw_labelset_add(a, "container", "app", "x");
	ck_assert_uint_eq(bw_labelset_count(a), 2);
	t = bw_labelset_text(a);
	ck_assert_str_eq(t, "container:app=x\nk8s:app=db");
	free(t);
	ck_assert_str_eq(bw_labelset_get(a, "k8s", "app")->value, "db");
	ck_assert_ptr_nonnull(bw_labelset_get(a, "any", "app"));
	ck_assert_ptr_null(bw_labelset_get(a, "reserved", "app"));
	ck_assert_int_eq(bw_labelset_remove(a, "k8s", "app"), 1);
	ck_assert_int_eq(bw_labelset_remove(a, "k8s", "app"), 0);
	bw_labelset_free(a);
}
END_TEST

START_TEST(text_round_trips)
{
	char err[128];
	struct bw_labelset *a = bw_labelset_from_text("k8s:b=2\nk8s:a=1;reserved:world",
						      err, sizeof(err));
	char *t;

	ck_assert_ptr_nonnull(a);
	t = bw_labelset_text(a);
	ck_assert_str_eq(t, "k8s:a=1\nk8s:b=2\nreserved:world");
	free(t);
	bw_labelset_free(a);
	a = bw_labelset_new();
	t = bw_labelset_text(a);
	ck_assert_str_eq(t, "");
	free(t);
	bw_labelset_free(a);
}
END_TEST

START_TEST(security_filter_follows_cilium_defaults)
{
	ck_assert(bw_label_security_relevant("reserved", "host"));
	ck_assert(bw_label_security_relevant("k8s", "app"));
	ck_assert(bw_label_security_relevant("k8s", "io.kubernetes.pod.namespace"));
	ck_assert(bw_label_security_relevant("k8s",
		"io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name"));
	ck_assert(bw_label_security_relevant("k8s", "app.kubernetes.io/name"));
	ck_assert(bw_label_security_relevant("k8s", "io.cilium.k8s.policy.cluster"));
	ck_assert(bw_label_security_relevant("k8s", "io.cilium.k8s.policy.serviceaccount"));
	ck_assert(!bw_label_security_relevant("k8s", "pod-template-hash"));
	ck_assert(!bw_label_security_relevant("k8s", "controller-revision-hash"));
	ck_assert(!bw_label_security_relevant("k8s", "io.kubernetes.container.name"));
	ck_assert(!bw_label_security_relevant("k8s", "kubernetes.io/hostname"));
	ck_assert(!bw_label_security_relevant("k8s", "statefulset.kubernetes.io/pod-name"));
	ck_assert(!bw_label_security_relevant("k8s", "failure-domain.beta.kubernetes.io/zone"));
	ck_assert(!bw_label_security_relevant("k8s", "topology.kubernetes.io/zone"));
	ck_assert(!bw_label_security_relevant("k8s", "annotation.foo"));
}
END_TEST

START_TEST(filter_keeps_identity_labels_only)
{
	struct bw_labelset *a = bw_labelset_new(), *f;
	char *t;

	bw_labelset_add(a, "k8s", "app", "web");
	bw_labelset_add(a, "k8s", "pod-template-hash", "abc");
	bw_labelset_add(a, "k8s", "io.kubernetes.pod.namespace", "x");
	f = bw_labelset_filter_identity(a);
	t = bw_labelset_text(f);
	ck_assert_str_eq(t, "k8s:app=web\nk8s:io.kubernetes.pod.namespace=x");
	free(t);
	bw_labelset_free(f);
	bw_labelset_free(a);
}
END_TEST

START_TEST(kubernetes_names)
{
	char err[256];

	ck_assert_int_eq(bw_k8s_label_key_valid("app", err, sizeof(err)), 0);
	ck_assert_int_eq(bw_k8s_label_key_valid("app.kubernetes.io/name", err, sizeof(err)), 0);
	ck_assert_int_eq(bw_k8s_label_key_valid("My_Key.x-1", err, sizeof(err)), 0);
	ck_assert_int_eq(bw_k8s_label_key_valid("", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(bw_k8s_label_key_valid("-app", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(bw_k8s_label_key_valid("a b", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(bw_k8s_label_key_valid("Bad_Prefix/x", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "prefix"));
	ck_assert_int_eq(bw_k8s_label_key_valid("k8s:app", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(bw_k8s_label_key_valid(
		"a234567890123456789012345678901234567890123456789012345678901234", err,
		sizeof(err)), -EINVAL);
	ck_assert_int_eq(bw_k8s_label_value_valid("", err, sizeof(err)), 0);
	ck_assert_int_eq(bw_k8s_label_value_valid("v1.2_x-y", err, sizeof(err)), 0);
	ck_assert_int_eq(bw_k8s_label_value_valid("a/b", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(bw_k8s_label_value_valid("end-", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(bw_k8s_dns_label_valid("kube-system", err, sizeof(err)), 0);
	ck_assert_int_eq(bw_k8s_dns_label_valid("Kube", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(bw_k8s_dns_label_valid("a.b", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(bw_k8s_dns_subdomain_valid("web-1.x", err, sizeof(err)), 0);
	ck_assert_int_eq(bw_k8s_dns_subdomain_valid("web..x", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(bw_k8s_dns_subdomain_valid("web_1", err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(json_is_hubble_string_list)
{
	struct bw_labelset *a = bw_labelset_new();
	json_t *j;
	char *s;

	bw_labelset_add(a, "reserved", "world", "");
	bw_labelset_add(a, "cidr", "10.0.0.0/8", "");
	j = bw_labelset_to_json(a);
	s = json_dumps(j, JSON_COMPACT);
	ck_assert_str_eq(s, "[\"cidr:10.0.0.0/8\",\"reserved:world\"]");
	free(s);
	json_decref(j);
	bw_labelset_free(a);
}
END_TEST

static Suite *labels_suite(void)
{
	Suite *s = suite_create("labels");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, parse_prints_source_key_value);
	tcase_add_test(tc, empty_value_prints_without_equals);
	tcase_add_test(tc, colon_after_equals_is_part_of_value);
	tcase_add_test(tc, unknown_source_and_empty_key_are_refused);
	tcase_add_test(tc, set_is_sorted_and_canonical);
	tcase_add_test(tc, add_replaces_same_source_and_key);
	tcase_add_test(tc, text_round_trips);
	tcase_add_test(tc, security_filter_follows_cilium_defaults);
	tcase_add_test(tc, filter_keeps_identity_labels_only);
	tcase_add_test(tc, kubernetes_names);
	tcase_add_test(tc, json_is_hubble_string_list);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(labels_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
