/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_prom_vec.c - the prometheus module's label vectors
 * (modules/prometheus/prom_vec.c): the text they write (HELP/TYPE, sorted
 * series, escaped label values, number formatting) and the cardinality
 * bound (a full family folds new label values into "other", keeps the
 * labels outside the fold mask, and goes on counting existing series).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "prom.h"

static const char *const two[] = { "namespace", "action" };

/* The vector's text, malloc'd. */
static char *
render(const struct prom_vec *v)
{
	struct evbuffer *b = evbuffer_new();
	size_t n;
	char *s;

	prom_vec_write(v, b);
	n = evbuffer_get_length(b);
	s = malloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

static void
add2(struct prom_vec *v, const char *a, const char *b, double n)
{
	const char *vals[2] = { a, b };

	prom_vec_add(v, vals, n);
}

START_TEST(empty_family_has_help_and_type)
{
	struct prom_vec *v = prom_vec_new("x_total", "Things", "counter", two, 2, 0, 0);
	char *s = render(v);

	ck_assert_str_eq(s, "# HELP x_total Things\n# TYPE x_total counter\n");
	ck_assert_uint_eq(prom_vec_series(v), 0);
	free(s);
	prom_vec_free(v);
}
END_TEST

START_TEST(series_sorted_by_labels_and_summed)
{
	struct prom_vec *v = prom_vec_new("x_total", "Things", "counter", two, 2, 0, 0);
	char *s;

	add2(v, "b", "dropped", 1);
	add2(v, "a", "forwarded", 2);
	add2(v, "b", "audit", 1);
	add2(v, "a", "forwarded", 3);
	add2(v, "a", NULL, 1);
	s = render(v);
	ck_assert_str_eq(s,
		"# HELP x_total Things\n# TYPE x_total counter\n"
		"x_total{namespace=\"a\",action=\"\"} 1\n"
		"x_total{namespace=\"a\",action=\"forwarded\"} 5\n"
		"x_total{namespace=\"b\",action=\"audit\"} 1\n"
		"x_total{namespace=\"b\",action=\"dropped\"} 1\n");
	ck_assert_uint_eq(prom_vec_series(v), 4);
	free(s);
	prom_vec_free(v);
}
END_TEST

START_TEST(label_values_are_escaped)
{
	struct prom_vec *v = prom_vec_new("x_total", "Things", "counter", two, 2, 0, 0);
	char *s;

	add2(v, "a\"b\\c\nd", "x", 1);
	s = render(v);
	ck_assert_ptr_nonnull(strstr(s, "x_total{namespace=\"a\\\"b\\\\c\\nd\",action=\"x\"} 1\n"));
	free(s);
	prom_vec_free(v);
}
END_TEST

START_TEST(full_family_folds_into_other)
{
	/* At most 2 series; namespace (bit 0) folds, action is kept. */
	struct prom_vec *v = prom_vec_new("x_total", "Things", "counter", two, 2, 2, 0x1);
	char *s;

	add2(v, "a", "dropped", 1);
	add2(v, "b", "dropped", 1);
	add2(v, "c", "dropped", 1);   /* full: other/dropped */
	add2(v, "d", "dropped", 2);   /* other/dropped again */
	add2(v, "e", "forwarded", 1); /* other/forwarded */
	add2(v, "a", "dropped", 10);  /* existing series go on */
	s = render(v);
	ck_assert_str_eq(s,
		"# HELP x_total Things\n# TYPE x_total counter\n"
		"x_total{namespace=\"a\",action=\"dropped\"} 11\n"
		"x_total{namespace=\"b\",action=\"dropped\"} 1\n"
		"x_total{namespace=\"other\",action=\"dropped\"} 3\n"
		"x_total{namespace=\"other\",action=\"forwarded\"} 1\n");
	ck_assert_uint_eq(prom_vec_folded(v), 3);
	ck_assert_uint_eq(prom_vec_series(v), 4);
	free(s);
	prom_vec_free(v);
}
END_TEST

START_TEST(bound_holds_under_many_values)
{
	struct prom_vec *v = prom_vec_new("x_total", "Things", "counter", two, 2, 100, 0x3);
	char ns[32];

	for (int i = 0; i < 5000; i++) {
		snprintf(ns, sizeof(ns), "ns-%d", i);
		add2(v, ns, i % 2 ? "dropped" : "forwarded", 1);
	}
	/* 100 regular series plus the one all-"other" series. */
	ck_assert_uint_eq(prom_vec_series(v), 101);
	ck_assert_uint_eq(prom_vec_folded(v), 4900);
	prom_vec_free(v);
}
END_TEST

START_TEST(no_limit_without_max_series)
{
	struct prom_vec *v = prom_vec_new("x_total", "Things", "counter", two, 2, 0, 0x3);
	char ns[32];

	for (int i = 0; i < 3000; i++) {
		snprintf(ns, sizeof(ns), "ns-%d", i);
		add2(v, ns, "x", 1);
	}
	ck_assert_uint_eq(prom_vec_series(v), 3000);
	ck_assert_uint_eq(prom_vec_folded(v), 0);
	prom_vec_free(v);
}
END_TEST

START_TEST(values_are_formatted_for_the_text_format)
{
	struct evbuffer *b = evbuffer_new();
	char s[256];
	size_t n;

	prom_sample(b, "a", 3);
	prom_sample(b, "b", 0.25);
	prom_sample(b, "c", 12345678901234.0);
	prom_sample(b, "d", 0);
	n = evbuffer_get_length(b);
	ck_assert_uint_lt(n, sizeof(s));
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	ck_assert_str_eq(s, "a 3\nb 0.25\nc 12345678901234\nd 0\n");
	evbuffer_free(b);
}
END_TEST

static Suite *
prom_vec_suite(void)
{
	Suite *s = suite_create("prom_vec");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, empty_family_has_help_and_type);
	tcase_add_test(tc, series_sorted_by_labels_and_summed);
	tcase_add_test(tc, label_values_are_escaped);
	tcase_add_test(tc, full_family_folds_into_other);
	tcase_add_test(tc, bound_holds_under_many_values);
	tcase_add_test(tc, no_limit_without_max_series);
	tcase_add_test(tc, values_are_formatted_for_the_text_format);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(prom_vec_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
