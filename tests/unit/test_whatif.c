/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_whatif.c - core/policy/policy_whatif.c: how a candidate
 * policy set is made from the repository and a batch of documents (import
 * and replace semantics, staged policies left out, file policies kept), the
 * errors a bad candidate gets (the import path's, naming document, line and
 * field; duplicates; a policy.dir file's policy), and connections that
 * cannot be replayed, with the reason. No datapath here: lookups against
 * real endpoints are tests/e2e/test_advisor.sh's (simulate, recommend's
 * check, broad-rules). The Kubernetes format module is compiled in.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/module/registry.h"
#include "core/policy/policy.h"
#include "core/policy/policy_int.h"
#include "core/policy/whatif.h"
#include "tests/unit/fake_core.h"

extern const struct bw_module bw_module_desc;

static char err[4096];

static int
format_add(bw_module_ctx *ctx, const struct bw_policy_format *f)
{
	return bw_policy_format_add(f, NULL);
}

static void
setup(void)
{
	bw_log_set_level(BW_LOG_WARNING);
	fake_core_reset();
	fake_core.format_add = format_add;
	ck_assert_int_eq(bw_module_desc.init(NULL, fake_core_api(), NULL), 0);
	ck_assert_int_eq(bw_policy_init(NULL), 0);
}

static void
teardown(void)
{
	bw_policy_fini();
	bw_registry_fini();
}

#define NP(name, extra)                                  \
	"apiVersion: networking.k8s.io/v1\n"             \
	"kind: NetworkPolicy\n"                          \
	"metadata:\n"                                    \
	"  name: " name "\n"                             \
	"  namespace: x\n" extra                         \
	"spec:\n"                                        \
	"  podSelector: {}\n"                            \
	"  ingress:\n"                                   \
	"  - ports:\n"                                   \
	"    - port: 80\n"

static int
load(const char *text, const char *source)
{
	struct bw_pol_batch b;
	int e;

	e = bw_pol_batch_parse(text, strlen(text), "test.yaml", &b, err, sizeof(err));
	if (e < 0)
		return e;
	e = bw_pol_apply(&b, source, 0, NULL, err, sizeof(err));
	bw_pol_batch_free(&b);
	return e;
}

static struct bw_whatif *
whatif(const char *cand, unsigned flags)
{
	err[0] = '\0';
	return bw_whatif_new(cand, cand != NULL ? strlen(cand) : 0, "c.yaml", flags, err, sizeof(err));
}

START_TEST(candidate_adds_to_the_enforced_set_or_replaces_the_api_set)
{
	struct bw_whatif *w;
	size_t cur, cand;

	ck_assert_int_eq(load(NP("a", "") "---\n" NP("b", ""), BW_POLICY_SOURCE_API), 0);
	ck_assert_int_eq(load(NP("from-file", ""), "/etc/bulwark/policies/f.yaml"), 0);
	/* nothing: the candidate is the current set */
	ck_assert_ptr_nonnull(w = whatif(NULL, 0));
	bw_whatif_counts(w, &cur, &cand, NULL);
	ck_assert_uint_eq(cur, 3);
	ck_assert_uint_eq(cand, 3);
	bw_whatif_free(w);
	/* import: a new policy joins, one of the same name takes the old one's place */
	ck_assert_ptr_nonnull(w = whatif(NP("c", "") "---\n" NP("a", ""), 0));
	bw_whatif_counts(w, &cur, &cand, NULL);
	ck_assert_uint_eq(cur, 3);
	ck_assert_uint_eq(cand, 4);
	bw_whatif_free(w);
	/* replace: the API-managed set goes, the file's policy stays */
	ck_assert_ptr_nonnull(w = whatif(NP("c", ""), BW_WHATIF_F_REPLACE));
	bw_whatif_counts(w, &cur, &cand, NULL);
	ck_assert_uint_eq(cand, 2);
	bw_whatif_free(w);
	/* replace with nothing: only what files define */
	ck_assert_ptr_nonnull(w = whatif(NULL, BW_WHATIF_F_REPLACE));
	bw_whatif_counts(w, &cur, &cand, NULL);
	ck_assert_uint_eq(cand, 1);
	bw_whatif_free(w);
	/* the repository itself did not change */
	ck_assert_uint_eq(bw_policy_count(), 3);
}
END_TEST

START_TEST(staged_policies_are_not_enforced_in_either_set)
{
	struct bw_whatif *w;
	size_t cur, cand;

	ck_assert_int_eq(load(NP("s", "  annotations: {bulwark.io/staged: \"true\"}\n"),
			      BW_POLICY_SOURCE_API), 0);
	ck_assert_ptr_nonnull(w = whatif(NP("t", "  annotations: {bulwark.io/staged: \"true\"}\n"), 0));
	bw_whatif_counts(w, &cur, &cand, NULL);
	ck_assert_uint_eq(cur, 0);
	ck_assert_uint_eq(cand, 0);
	bw_whatif_free(w);
}
END_TEST

START_TEST(a_bad_candidate_is_refused_like_an_import)
{
	ck_assert_ptr_null(whatif(NP("ok", "") "---\n"
				  "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
				  "metadata: {name: bad, namespace: x}\n"
				  "spec:\n  podSelector: {}\n  ingress:\n  - from:\n"
				  "    - ipBlock: {cidr: 10.0.0.0/33}\n", 0));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_msg(strstr(err, "c.yaml:19: document 2 (line 12): spec.ingress[0].from[0].ipBlock.cidr")
		      == err, "%s", err);
	ck_assert_ptr_null(whatif(NP("twice", "") "---\n" NP("twice", ""), 0));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_msg(strstr(err, "NetworkPolicy x/twice is already defined by document 1") != NULL,
		      "%s", err);
	ck_assert_int_eq(load(NP("mine", ""), "/etc/bulwark/policies/f.yaml"), 0);
	ck_assert_ptr_null(whatif(NP("mine", ""), 0));
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_msg(strstr(err, "is defined by file /etc/bulwark/policies/f.yaml; change it there") != NULL,
		      "%s", err);
}
END_TEST

START_TEST(connections_that_cannot_be_replayed_say_why)
{
	struct bw_whatif_conn c[3] = {
		{ .size = sizeof(c[0]), .source = "x/a", .destination = "203.0.113.7/32",
		  .source_kind = 1, .destination_kind = 2, .direction = 2, .protocol = 6,
		  .port = 443 },
		{ .size = sizeof(c[0]), .source = "y/b", .destination = "x/a", .source_kind = 1,
		  .destination_kind = 1, .direction = 1, .protocol = 6, .port = 80 },
		{ .size = sizeof(c[0]), .source = "x/a", .destination = "x/b", .direction = 0 },
	};
	struct bw_whatif_result r[3];
	struct bw_whatif *w;

	for (int i = 0; i < 3; i++)
		r[i].size = sizeof(r[i]);
	ck_assert_ptr_nonnull(w = whatif(NULL, 0));
	ck_assert_int_eq(bw_whatif_replay(w, c, 3, r), 0);
	ck_assert_int_eq(r[0].checked, 0);
	ck_assert_str_eq(r[0].why, "x/a has no endpoint on this node now");
	ck_assert_int_eq(r[1].checked, 0);
	ck_assert_str_eq(r[1].why, "x/a has no endpoint on this node now");
	ck_assert_int_eq(r[2].checked, 0);
	ck_assert_str_eq(r[2].why, "not a connection check (no direction)");
	bw_whatif_free(w);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("whatif");
	TCase *tc = tcase_create("whatif");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, candidate_adds_to_the_enforced_set_or_replaces_the_api_set);
	tcase_add_test(tc, staged_policies_are_not_enforced_in_either_set);
	tcase_add_test(tc, a_bad_candidate_is_refused_like_an_import);
	tcase_add_test(tc, connections_that_cannot_be_replayed_say_why);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
