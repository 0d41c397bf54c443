/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_errbuf.c - lib/errbuf.c: the message buffer lower layers
 * fill is written, truncated and terminated, and may be absent.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/errbuf.h"

START_TEST(the_message_is_formatted_and_minus_einval_returned)
{
	char err[64] = "old";

	ck_assert_int_eq(bw_errbuf_set(err, sizeof(err), "%s: %d", "rules[0]", 7), -EINVAL);
	ck_assert_str_eq(err, "rules[0]: 7");
}
END_TEST

START_TEST(a_long_message_is_truncated_and_terminated)
{
	char err[8];

	memset(err, 'x', sizeof(err));
	bw_errbuf_set(err, sizeof(err), "%s", "0123456789");
	ck_assert_str_eq(err, "0123456");
}
END_TEST

START_TEST(no_buffer_means_nothing_is_written)
{
	char err[4] = "abc";

	ck_assert_int_eq(bw_errbuf_set(NULL, 64, "x"), -EINVAL);
	ck_assert_int_eq(bw_errbuf_set(err, 0, "x"), -EINVAL);
	ck_assert_str_eq(err, "abc");
}
END_TEST

static Suite *
errbuf_suite(void)
{
	Suite *s = suite_create("errbuf");
	TCase *tc = tcase_create("errbuf");

	tcase_add_test(tc, the_message_is_formatted_and_minus_einval_returned);
	tcase_add_test(tc, a_long_message_is_truncated_and_terminated);
	tcase_add_test(tc, no_buffer_means_nothing_is_written);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(errbuf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
