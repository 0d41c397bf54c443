/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_policy_lookup.c - bw_datapath_policy_lookup_set(): the
 * datapath's decision over entries held in memory (staged policies; and
 * bw_datapath_policy_lookup_sorted(), the what-if's, which must agree), with
 * the LPM trie's longest match and the kernel's precedence: a deny in the
 * exact-identity or the any-identity lookup wins, then the longer port
 * prefix, then the exact identity.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/datapath/datapath.h"

#define EP 7

static const struct bw_policy_entry_spec specs[] = {
	{ .identity = 300, .direction = BW_DIR_INGRESS, .protocol = 6, .port_lo = 80,
	  .port_hi = 90, .rule_ref = 1 },
	{ .identity = 0, .direction = BW_DIR_INGRESS, .protocol = 6, .port_lo = 85,
	  .port_hi = 85, .deny = 1, .rule_ref = 2 },
	{ .identity = 0, .direction = BW_DIR_INGRESS, .protocol = 17, .rule_ref = 3 },
	{ .identity = 0, .direction = BW_DIR_EGRESS, .protocol = 0, .rule_ref = 4 },
	{ .identity = 400, .direction = BW_DIR_INGRESS, .protocol = 0, .deny = 1, .rule_ref = 5 },
	{ .identity = 500, .direction = BW_DIR_INGRESS, .protocol = 1, .port_lo = 8,
	  .port_hi = 8, .rule_ref = 6 },
};

static const struct {
	uint32_t identity;
	uint8_t dir, proto;
	uint16_t port;
	int allowed;
	uint32_t ref;
	uint8_t reason;
} cases[] = {
	{ 300, BW_DIR_INGRESS, 6, 80, 1, 1, 0 },
	{ 300, BW_DIR_INGRESS, 6, 90, 1, 1, 0 },
	{ 300, BW_DIR_INGRESS, 6, 85, 0, 2, BW_DROP_POLICY_DENY },  /* the any-peer deny wins */
	{ 300, BW_DIR_INGRESS, 6, 91, 0, 0, BW_DROP_POLICY },       /* no entry: default deny */
	{ 301, BW_DIR_INGRESS, 6, 80, 0, 0, BW_DROP_POLICY },
	{ 301, BW_DIR_INGRESS, 17, 53, 1, 3, 0 },
	{ 400, BW_DIR_INGRESS, 17, 53, 0, 5, BW_DROP_POLICY_DENY }, /* its own deny beats any-peer allow */
	{ 999, BW_DIR_EGRESS, 6, 1, 1, 4, 0 },
	{ 999, BW_DIR_EGRESS, 132, 9, 1, 4, 0 },
	{ 500, BW_DIR_INGRESS, 1, 8, 1, 6, 0 },                     /* ICMP: the type */
	{ 500, BW_DIR_INGRESS, 1, 0, 0, 0, BW_DROP_POLICY },
};

START_TEST(test_lookup_set_follows_the_datapath)
{
	struct bw_policy_kv *kv = NULL;
	size_t n = 0;

	ck_assert_int_eq(bw_datapath_policy_expand(EP, specs, sizeof(specs) / sizeof(*specs),
						   &kv, &n), 0);
	ck_assert_uint_gt(n, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct bw_policy_verdict v;

		ck_assert_int_eq(bw_datapath_policy_lookup_set(kv, n, EP, cases[i].identity,
							       cases[i].dir, cases[i].proto,
							       cases[i].port, &v), 0);
		ck_assert_msg(v.allowed == cases[i].allowed && v.rule_ref == cases[i].ref &&
				      v.reason == cases[i].reason,
			      "case %zu (identity %u proto %u port %u): allowed %d ref %u reason %u",
			      i, cases[i].identity, cases[i].proto, cases[i].port, v.allowed,
			      v.rule_ref, v.reason);
	}
	/* another endpoint's entries never match */
	{
		struct bw_policy_verdict v;

		bw_datapath_policy_lookup_set(kv, n, EP + 1, 300, BW_DIR_INGRESS, 6, 80, &v);
		ck_assert_int_eq(v.allowed, 0);
	}
	free(kv);
}
END_TEST

/* The sorted lookup (the what-if's) answers every key as lookup_set does. */
START_TEST(test_lookup_sorted_agrees_with_lookup_set)
{
	static const uint32_t ids[] = { 0, 1, 300, 301, 400, 500, 999 };
	static const uint8_t protos[] = { 0, 1, 6, 17, 132 };
	static const uint16_t ports[] = { 0, 1, 8, 53, 79, 80, 84, 85, 86, 90, 91, 65535 };
	struct bw_policy_kv *kv = NULL, *sorted;
	size_t n = 0, checked = 0;

	ck_assert_int_eq(bw_datapath_policy_expand(EP, specs, sizeof(specs) / sizeof(*specs),
						   &kv, &n), 0);
	sorted = malloc(n * sizeof(*sorted));
	memcpy(sorted, kv, n * sizeof(*kv));
	ck_assert_int_eq(bw_datapath_policy_sort(sorted, n), 0);
	for (int ep = EP; ep <= EP + 1; ep++)
		for (size_t a = 0; a < sizeof(ids) / sizeof(*ids); a++)
			for (uint8_t dir = BW_DIR_INGRESS; dir <= BW_DIR_EGRESS; dir++)
				for (size_t b = 0; b < sizeof(protos); b++)
					for (size_t c = 0; c < sizeof(ports) / sizeof(*ports); c++) {
						struct bw_policy_verdict v1, v2;

						bw_datapath_policy_lookup_set(kv, n, ep, ids[a], dir,
									      protos[b], ports[c], &v1);
						bw_datapath_policy_lookup_sorted(sorted, n, ep, ids[a], dir,
										 protos[b], ports[c], &v2);
						ck_assert_msg(!memcmp(&v1, &v2, sizeof(v1)),
							      "identity %u dir %u proto %u port %u",
							      ids[a], dir, protos[b], ports[c]);
						checked++;
					}
	ck_assert_uint_eq(checked, 2 * 7 * 2 * 5 * 12);
	free(sorted);
	free(kv);
}
END_TEST

START_TEST(test_empty_set_is_default_deny)
{
	struct bw_policy_verdict v;

	ck_assert_int_eq(bw_datapath_policy_lookup_set(NULL, 0, EP, 1, BW_DIR_INGRESS, 6, 80, &v), 0);
	ck_assert_int_eq(v.allowed, 0);
	ck_assert_int_eq(v.reason, BW_DROP_POLICY);
	ck_assert_int_eq(bw_datapath_policy_lookup_set(NULL, 1, EP, 1, BW_DIR_INGRESS, 6, 80, &v),
			 -EINVAL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("policy_lookup");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_lookup_set_follows_the_datapath);
	tcase_add_test(tc, test_lookup_sorted_agrees_with_lookup_set);
	tcase_add_test(tc, test_empty_set_is_default_deny);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
