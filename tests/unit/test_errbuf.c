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
#include "tests/unit/check_main.h"

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

BW_CHECK_MAIN("errbuf",
	      the_message_is_formatted_and_minus_einval_returned,
	      a_long_message_is_truncated_and_terminated,
	      no_buffer_means_nothing_is_written)
