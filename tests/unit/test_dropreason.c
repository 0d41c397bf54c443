/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_dropreason.c - lib/dropreason.c, the one table of drop
 * reasons: Cilium's names and strings, and a name for every BW_DROP_*
 * constant of bpf/bw_datapath.h. The header is read as text, so a constant
 * added there without a row in the table fails here.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/bw_datapath.h"
#include "lib/dropreason.h"
#include "tests/unit/check_main.h"

START_TEST(names_and_strings_follow_cilium)
{
	ck_assert_str_eq(bw_dropreason_name(133), "POLICY_DENIED");
	ck_assert_str_eq(bw_dropreason_string(133), "Policy denied");
	ck_assert_str_eq(bw_dropreason_name(181), "POLICY_DENY");
	ck_assert_str_eq(bw_dropreason_string(181), "Policy denied by denylist");
	ck_assert_str_eq(bw_dropreason_name(132), "INVALID_SOURCE_IP");
	ck_assert_str_eq(bw_dropreason_name(157), "IP_FRAGMENTATION_NOT_SUPPORTED");
	ck_assert_str_eq(bw_dropreason_name(175), "FIRST_LOGICAL_DATAGRAM_FRAGMENT_NOT_FOUND");
	ck_assert_str_eq(bw_dropreason_string(136), "Fragmentation needed");
	ck_assert_str_eq(bw_dropreason_name(0), "DROP_REASON_UNKNOWN");
	ck_assert_ptr_null(bw_dropreason_name(159));
	ck_assert_ptr_null(bw_dropreason_string(12));
	ck_assert_int_eq(bw_dropreason_from_name("policy_denied"), 133);
	ck_assert_int_eq(bw_dropreason_from_name("NO_SUCH_REASON"), -ENOENT);
}
END_TEST

START_TEST(every_bw_drop_constant_has_a_name_and_a_string)
{
	char line[512], name[128];
	const char *path = BW_TEST_TOP_SRCDIR "/bpf/bw_datapath.h";
	FILE *f = fopen(path, "r");
	unsigned n = 0;
	int code;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "#define BW_DROP_%127s %d", name, &code) != 2)
			continue;
		n++;
		ck_assert_msg(bw_dropreason_name(code) != NULL,
			      "BW_DROP_%s (%d) has no name in lib/dropreason.c", name, code);
		ck_assert_msg(bw_dropreason_string(code) != NULL,
			      "BW_DROP_%s (%d) has no string in lib/dropreason.c", name, code);
		ck_assert_int_eq(bw_dropreason_from_name(bw_dropreason_name(code)), code);
	}
	fclose(f);
	/* the header's constants were found (the scan itself works) */
	ck_assert_uint_ge(n, 13);
	ck_assert_str_eq(bw_dropreason_name(BW_DROP_POLICY), "POLICY_DENIED");
	ck_assert_str_eq(bw_dropreason_name(BW_DROP_POLICY_DENY), "POLICY_DENY");
}
END_TEST

BW_CHECK_MAIN("dropreason",
	      names_and_strings_follow_cilium,
	      every_bw_drop_constant_has_a_name_and_a_string)
