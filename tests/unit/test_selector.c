/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_selector.c - label selectors: every operator with
 * Kubernetes semantics, any: against k8s: keys, the empty selector,
 * normalisation (equal/hash/canonical text) and field-naming errors.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/node/labels.h"
#include "core/node/selector.h"

static struct bw_labelset *ls_of(const char *text)
{
	struct bw_labelset *ls = bw_labelset_from_text(text, NULL, 0);

	ck_assert_ptr_nonnull(ls);
	return ls;
}

static struct bw_selector *sel_of(const char *json)
{
	char err[512] = "";
	struct bw_selector *s = bw_selector_parse_text(json, err, sizeof(err));

	ck_assert_msg(s != NULL, "%s: %s", json, err);
	return s;
}

static int matches(const char *sel, const char *labels)
{
	struct bw_selector *s = sel_of(sel);
	struct bw_labelset *ls = ls_of(labels);
	int m = bw_selector_matches(s, ls);

	bw_selector_free(s);
	bw_labelset_free(ls);
	return m;
}

START_TEST(empty_selector_matches_everything)
{
	ck_assert(matches("{}", "k8s:app=web"));
	ck_assert(matches("{}", ""));
	ck_assert(matches("{}", "reserved:world"));
	{
		struct bw_selector *s = sel_of("{}");

		ck_assert(bw_selector_is_wildcard(s));
		ck_assert_str_eq(bw_selector_to_string(s), "{}");
		bw_selector_free(s);
	}
}
END_TEST

START_TEST(match_labels_is_equality)
{
	ck_assert(matches("{\"match_labels\": {\"k8s:app\": \"web\"}}", "k8s:app=web\nk8s:x=y"));
	ck_assert(!matches("{\"match_labels\": {\"k8s:app\": \"web\"}}", "k8s:app=db"));
	ck_assert(!matches("{\"match_labels\": {\"k8s:app\": \"web\"}}", "k8s:x=y"));
	ck_assert(!matches("{\"match_labels\": {\"k8s:app\": \"web\", \"k8s:tier\": \"a\"}}",
			   "k8s:app=web"));
}
END_TEST

START_TEST(any_source_matches_every_source_but_not_the_reverse)
{
	ck_assert(matches("{\"match_labels\": {\"app\": \"web\"}}", "k8s:app=web"));
	ck_assert(matches("{\"match_labels\": {\"any:app\": \"web\"}}", "container:app=web"));
	ck_assert(matches("{\"match_labels\": {\"any:app\": \"web\"}}", "k8s:app=web"));
	ck_assert(!matches("{\"match_labels\": {\"k8s:app\": \"web\"}}", "container:app=web"));
	ck_assert(matches("{\"match_labels\": {\"reserved:world\": \"\"}}", "reserved:world"));
	ck_assert(!matches("{\"match_labels\": {\"k8s:world\": \"\"}}", "reserved:world"));
}
END_TEST

START_TEST(operator_in)
{
	const char *s = "{\"match_expressions\": [{\"key\": \"k8s:tier\", \"operator\": \"In\","
			" \"values\": [\"web\", \"api\"]}]}";

	ck_assert(matches(s, "k8s:tier=web"));
	ck_assert(matches(s, "k8s:tier=api"));
	ck_assert(!matches(s, "k8s:tier=db"));
	ck_assert(!matches(s, "k8s:other=web"));
}
END_TEST

START_TEST(operator_notin_matches_absent_key)
{
	const char *s = "{\"match_expressions\": [{\"key\": \"k8s:tier\", \"operator\": \"NotIn\","
			" \"values\": [\"db\"]}]}";

	ck_assert(matches(s, "k8s:tier=web"));
	ck_assert(!matches(s, "k8s:tier=db"));
	ck_assert(matches(s, "k8s:app=x"));
	ck_assert(matches(s, ""));
}
END_TEST

START_TEST(operator_exists)
{
	const char *s = "{\"match_expressions\": [{\"key\": \"k8s:debug\", \"operator\": \"Exists\"}]}";

	ck_assert(matches(s, "k8s:debug"));
	ck_assert(matches(s, "k8s:debug=yes"));
	ck_assert(!matches(s, "k8s:app=web"));
	ck_assert(!matches(s, "container:debug"));
}
END_TEST

START_TEST(operator_does_not_exist)
{
	const char *s = "{\"match_expressions\": [{\"key\": \"debug\", \"operator\": \"DoesNotExist\"}]}";

	ck_assert(matches(s, "k8s:app=web"));
	ck_assert(matches(s, ""));
	ck_assert(!matches(s, "k8s:debug"));
	ck_assert(!matches(s, "container:debug=1"));
}
END_TEST

START_TEST(requirements_are_anded)
{
	const char *s = "{\"match_labels\": {\"k8s:app\": \"web\"}, \"match_expressions\": ["
			"{\"key\": \"k8s:io.kubernetes.pod.namespace\", \"operator\": \"In\", \"values\": [\"x\"]}]}";

	ck_assert(matches(s, "k8s:app=web\nk8s:io.kubernetes.pod.namespace=x"));
	ck_assert(!matches(s, "k8s:app=web\nk8s:io.kubernetes.pod.namespace=y"));
	ck_assert(!matches(s, "k8s:io.kubernetes.pod.namespace=x"));
}
END_TEST

START_TEST(equal_selectors_compare_and_hash_equal)
{
	struct bw_selector *a = sel_of("{\"match_labels\": {\"k8s:app\": \"web\", \"tier\": \"x\"}}");
	struct bw_selector *b = sel_of("{\"match_expressions\": ["
				       "{\"key\": \"any:tier\", \"operator\": \"In\", \"values\": [\"x\", \"x\"]},"
				       "{\"key\": \"k8s:app\", \"operator\": \"In\", \"values\": [\"web\"]}]}");
	struct bw_selector *c = sel_of("{\"match_labels\": {\"k8s:app\": \"web\"}}");
	struct bw_selector *d;

	ck_assert(bw_selector_equal(a, b));
	ck_assert_uint_eq(bw_selector_hash(a), bw_selector_hash(b));
	ck_assert_str_eq(bw_selector_to_string(a), bw_selector_to_string(b));
	ck_assert_str_eq(bw_selector_to_string(a), "k8s:app=web, any:tier=x");
	ck_assert(!bw_selector_equal(a, c));
	d = bw_selector_dup(a);
	ck_assert(bw_selector_equal(a, d));
	bw_selector_free(a);
	bw_selector_free(b);
	bw_selector_free(c);
	bw_selector_free(d);
}
END_TEST

START_TEST(canonical_text_of_each_operator)
{
	struct bw_selector *s = sel_of("{\"match_expressions\": ["
		"{\"key\": \"k8s:t\", \"operator\": \"In\", \"values\": [\"web\", \"api\"]},"
		"{\"key\": \"k8s:u\", \"operator\": \"NotIn\", \"values\": [\"db\"]},"
		"{\"key\": \"k8s:v\", \"operator\": \"Exists\"},"
		"{\"key\": \"k8s:w\", \"operator\": \"DoesNotExist\"}]}");
	json_t *j;
	struct bw_selector *back;
	char err[256];

	ck_assert_str_eq(bw_selector_to_string(s),
			 "k8s:t in (api,web), k8s:u notin (db), k8s:v, !k8s:w");
	ck_assert_uint_eq(bw_selector_count(s), 4);
	j = bw_selector_to_json(s);
	back = bw_selector_parse(j, "x", err, sizeof(err));
	ck_assert_ptr_nonnull(back);
	ck_assert(bw_selector_equal(s, back));
	json_decref(j);
	bw_selector_free(back);
	bw_selector_free(s);
}
END_TEST

static void expect_error(const char *json, const char *path, const char *msg)
{
	char err[512] = "";
	json_t *j = json_loads(json, 0, NULL);
	struct bw_selector *s;

	ck_assert_ptr_nonnull(j);
	s = bw_selector_parse(j, path, err, sizeof(err));
	json_decref(j);
	ck_assert_msg(s == NULL, "%s parsed", json);
	ck_assert_msg(strstr(err, msg) != NULL, "error \"%s\" lacks \"%s\"", err, msg);
}

START_TEST(errors_name_the_field)
{
	expect_error("{\"match_expressions\": [{\"key\": \"k8s:a\", \"operator\": \"Is\", \"values\": [\"x\"]}]}",
		     "rules[0].subject",
		     "rules[0].subject.match_expressions[0].operator: \"Is\" is not one of In, NotIn, Exists, DoesNotExist");
	expect_error("{\"match_expressions\": [{\"key\": \"k8s:a\", \"operator\": \"In\"}]}",
		     "s", "s.match_expressions[0].values: operator In needs at least one value");
	expect_error("{\"match_expressions\": [{\"key\": \"k8s:a\", \"operator\": \"Exists\", \"values\": [\"x\"]}]}",
		     "s", "s.match_expressions[0].values: must be empty for operator Exists");
	expect_error("{\"match_expressions\": [{\"operator\": \"Exists\"}]}", "s",
		     "s.match_expressions[0].key: missing");
	expect_error("{\"match_labels\": {\"k8s:a\": 1}}", "s", "s.match_labels.k8s:a: must be a string");
	expect_error("{\"match_labels\": {\"bogus:a\": \"x\"}}", "s",
		     "unknown source \"bogus\"");
	expect_error("{\"matchLabels\": {}}", "p.subject", "p.subject: unknown field \"matchLabels\"");
	expect_error("[]", "p", "p: must be an object");
}
END_TEST

START_TEST(has_key_sees_any_source)
{
	struct bw_selector *s = sel_of("{\"match_labels\": {\"io.kubernetes.pod.namespace\": \"x\"}}");

	ck_assert(bw_selector_has_key(s, "k8s", "io.kubernetes.pod.namespace"));
	ck_assert(bw_selector_has_key(s, NULL, "io.kubernetes.pod.namespace"));
	ck_assert(!bw_selector_has_key(s, "k8s", "app"));
	bw_selector_free(s);
}
END_TEST

static Suite *selector_suite(void)
{
	Suite *s = suite_create("selector");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, empty_selector_matches_everything);
	tcase_add_test(tc, match_labels_is_equality);
	tcase_add_test(tc, any_source_matches_every_source_but_not_the_reverse);
	tcase_add_test(tc, operator_in);
	tcase_add_test(tc, operator_notin_matches_absent_key);
	tcase_add_test(tc, operator_exists);
	tcase_add_test(tc, operator_does_not_exist);
	tcase_add_test(tc, requirements_are_anded);
	tcase_add_test(tc, equal_selectors_compare_and_hash_equal);
	tcase_add_test(tc, canonical_text_of_each_operator);
	tcase_add_test(tc, errors_name_the_field);
	tcase_add_test(tc, has_key_sees_any_source);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(selector_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
