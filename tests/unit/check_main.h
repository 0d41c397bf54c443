/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/check_main.h - the main() of a one-suite Check unit test:
 *
 *   BW_CHECK_MAIN("prefix", test_a, test_b, ...)
 *
 * puts the tests (START_TEST names) in one suite and one test case of
 * that name, runs them (each in its own process, Check's default) and
 * exits non-zero when one failed.
 */
#ifndef BW_TEST_CHECK_MAIN_H
#define BW_TEST_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

#define BW_CHECK_MAIN(name, ...)                                             \
	int main(void)                                                       \
	{                                                                    \
		const TTest *tests[] = { __VA_ARGS__ };                      \
		Suite *s = suite_create(name);                               \
		TCase *tc = tcase_create(name);                              \
		SRunner *sr;                                                 \
		int failed;                                                  \
                                                                             \
		for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) \
			tcase_add_test(tc, tests[i]);                        \
		suite_add_tcase(s, tc);                                      \
		sr = srunner_create(s);                                      \
		srunner_run_all(sr, CK_NORMAL);                              \
		failed = srunner_ntests_failed(sr);                          \
		srunner_free(sr);                                            \
		return failed ? EXIT_FAILURE : EXIT_SUCCESS;                 \
	}

#endif /* BW_TEST_CHECK_MAIN_H */
