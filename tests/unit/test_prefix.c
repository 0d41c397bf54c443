/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_prefix.c - lib/prefix.c, the one IP prefix parser the
 * ipcache, the resolver, the flow filters and the policy format modules
 * share: what it accepts and refuses, how it prints, containment.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/prefix.h"
#include "tests/unit/check_main.h"

START_TEST(prefixes_parse_strictly_and_match_by_length)
{
	struct bw_prefix p;
	uint8_t a[16];
	char buf[64];

	ck_assert_int_eq(bw_prefix_parse("10.1.0.0/16", BW_PREFIX_STRICT, &p), 0);
	ck_assert_int_eq(p.family, 4);
	ck_assert_int_eq(p.plen, 16);
	ck_assert_str_eq(bw_prefix_format(&p, 1, buf, sizeof(buf)), "10.1.0.0/16");
	ck_assert_int_eq(bw_prefix_parse("10.1.2.3/16", BW_PREFIX_STRICT, &p), -EINVAL);
	ck_assert_int_eq(bw_prefix_parse("10.1.2.3/16", 0, &p), 0);
	ck_assert_str_eq(bw_prefix_format(&p, 1, buf, sizeof(buf)), "10.1.0.0/16");
	ck_assert_int_eq(bw_prefix_parse("10.1.2.3", BW_PREFIX_STRICT, &p), 0);
	ck_assert_int_eq(p.plen, 32);
	ck_assert_int_eq(bw_prefix_parse("10.1.2.3/", BW_PREFIX_STRICT, &p), -EINVAL);
	ck_assert_int_eq(bw_prefix_parse("10.1.2.3/-1", BW_PREFIX_STRICT, &p), -EINVAL);
	ck_assert_int_eq(bw_prefix_parse("10.1.2.3/33", BW_PREFIX_STRICT, &p), -EINVAL);
	ck_assert_int_eq(bw_prefix_parse("2001:db8::/129", BW_PREFIX_STRICT, &p), -EINVAL);
	ck_assert_int_eq(bw_prefix_parse("2001:db8::/32", BW_PREFIX_STRICT, &p), 0);
	ck_assert_int_eq(p.family, 6);
	inet_pton(AF_INET6, "2001:db8:ffff::1", a);
	ck_assert(bw_prefix_contains(&p, 6, a));
	inet_pton(AF_INET6, "2001:db9::1", a);
	ck_assert(!bw_prefix_contains(&p, 6, a));
	ck_assert(!bw_prefix_contains(&p, 4, a));
	ck_assert_int_eq(bw_prefix_parse("10.0.0.0/9", BW_PREFIX_STRICT, &p), 0);
	inet_pton(AF_INET, "10.127.255.255", a);
	ck_assert(bw_prefix_contains(&p, 4, a));
	inet_pton(AF_INET, "10.128.0.0", a);
	ck_assert(!bw_prefix_contains(&p, 4, a));
	ck_assert_int_eq(bw_prefix_parse("0.0.0.0/0", BW_PREFIX_STRICT, &p), 0);
	ck_assert(bw_prefix_contains(&p, 4, a));
}
END_TEST

START_TEST(a_bare_address_is_a_host_prefix_unless_a_length_is_needed)
{
	struct bw_prefix p;
	char buf[64];

	ck_assert_int_eq(bw_prefix_parse("2001:db8::1", 0, &p), 0);
	ck_assert_int_eq(p.plen, 128);
	ck_assert_str_eq(bw_prefix_format(&p, 1, buf, sizeof(buf)), "2001:db8::1/128");
	ck_assert_int_eq(bw_prefix_parse("10.0.0.1", BW_PREFIX_NEED_LEN, &p), -EINVAL);
	ck_assert_int_eq(p.family, 0);
	ck_assert_int_eq(bw_prefix_parse("10.0.0.1/32", BW_PREFIX_NEED_LEN, &p), 0);
	ck_assert_str_eq(bw_prefix_format(&p, 0, buf, sizeof(buf)), "10.0.0.1");
}
END_TEST

START_TEST(malformed_prefixes_are_refused)
{
	static const char *const bad[] = {
		"", "/8", "10.0.0.0/", "10.0.0.0/8/8", "10.0.0.0/ 8", "10.0.0.0/+8",
		"10.0.0.0/0008", "10.0.0.0/8x", "10.0.0", "10.0.0.256/32",
		"example.test/8", "2001:db8::/1280", ":::/64",
		"2001:0db8:0000:0000:0000:0000:0000:0000:0000/64",
	};
	struct bw_prefix p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(bw_prefix_parse(bad[i], 0, &p) == -EINVAL,
			      "\"%s\" was accepted", bad[i]);
	ck_assert_int_eq(bw_prefix_parse(NULL, 0, &p), -EINVAL);
}
END_TEST

START_TEST(cidr_label_keys_write_ipv6_colons_as_dashes)
{
	struct bw_prefix p;
	char buf[64];

	ck_assert_int_eq(bw_prefix_parse_label("2001-db8--/32", &p), 0);
	ck_assert_str_eq(bw_prefix_format(&p, 1, buf, sizeof(buf)), "2001:db8::/32");
	ck_assert_int_eq(bw_prefix_parse_label("10.1.2.0/24", &p), 0);
	ck_assert_str_eq(bw_prefix_format(&p, 1, buf, sizeof(buf)), "10.1.2.0/24");
	ck_assert_int_eq(bw_prefix_parse_label("10-1-2-0/24", &p), -EINVAL);
}
END_TEST

START_TEST(within_compares_families_lengths_and_bits)
{
	struct bw_prefix a, b, c, d;

	ck_assert_int_eq(bw_prefix_parse("10.0.0.0/8", 0, &a), 0);
	ck_assert_int_eq(bw_prefix_parse("10.1.0.0/16", 0, &b), 0);
	ck_assert_int_eq(bw_prefix_parse("11.1.0.0/16", 0, &c), 0);
	ck_assert_int_eq(bw_prefix_parse("a00::/8", 0, &d), 0);
	ck_assert(bw_prefix_within(&b, &a, 1));
	ck_assert(!bw_prefix_within(&a, &b, 0));
	ck_assert(!bw_prefix_within(&c, &a, 0));
	ck_assert(!bw_prefix_within(&d, &a, 0));
	ck_assert(bw_prefix_within(&a, &a, 0));
	ck_assert(!bw_prefix_within(&a, &a, 1));
	ck_assert(bw_prefix_equal(&a, &a));
	ck_assert(!bw_prefix_equal(&a, &b));
}
END_TEST

BW_CHECK_MAIN("prefix",
	      prefixes_parse_strictly_and_match_by_length,
	      a_bare_address_is_a_host_prefix_unless_a_length_is_needed,
	      malformed_prefixes_are_refused,
	      cidr_label_keys_write_ipv6_colons_as_dashes,
	      within_compares_families_lengths_and_bits)
