/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_fqdnmatch.c - lib/fqdnmatch.c: Cilium's matchName and
 * matchPattern semantics (the cases of the reference sheet, section 1.7,
 * and of Cilium's matchpattern tests), names normalised, selectors checked
 * and canonicalised.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fqdnmatch.h"
#include "tests/unit/check_main.h"

#define PAT BW_FQDN_MATCH_PATTERN
#define NAME BW_FQDN_MATCH_NAME

START_TEST(names_are_lower_case_with_a_trailing_dot)
{
	char out[300];

	ck_assert_int_eq(bw_fqdn_name_normalize("WWW.Example.COM", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "www.example.com.");
	ck_assert_int_eq(bw_fqdn_name_normalize("a.example.", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "a.example.");
	ck_assert_int_eq(bw_fqdn_name_normalize("", out, sizeof(out)), 0);
	ck_assert_str_eq(out, ".");
	ck_assert_int_eq(bw_fqdn_name_normalize("abc", out, 4), -ENOSPC);
}
END_TEST

START_TEST(match_name_is_exact_and_case_insensitive)
{
	ck_assert(bw_fqdn_match(NAME, "api.example.com", "api.example.com."));
	ck_assert(bw_fqdn_match(NAME, "API.Example.com.", "api.EXAMPLE.com"));
	ck_assert(!bw_fqdn_match(NAME, "api.example.com", "www.api.example.com."));
	ck_assert(!bw_fqdn_match(NAME, "api.example.com", "example.com."));
	ck_assert(!bw_fqdn_match(NAME, "api.example.com", "api.example.co."));
	ck_assert(bw_fqdn_match(NAME, "under_score.example", "under_score.example."));
}
END_TEST

START_TEST(star_stays_inside_one_label)
{
	/* reference 1.7: "*.cilium.io" matches www.cilium.io only */
	ck_assert(bw_fqdn_match(PAT, "*.cilium.io", "www.cilium.io."));
	ck_assert(bw_fqdn_match(PAT, "*.cilium.io", "blog.cilium.io"));
	ck_assert(!bw_fqdn_match(PAT, "*.cilium.io", "cilium.io."));
	ck_assert(!bw_fqdn_match(PAT, "*.cilium.io", "a.b.cilium.io."));
	/* "*cilium.io" matches cilium.io and subcilium.io */
	ck_assert(bw_fqdn_match(PAT, "*cilium.io", "cilium.io."));
	ck_assert(bw_fqdn_match(PAT, "*cilium.io", "subcilium.io."));
	ck_assert(!bw_fqdn_match(PAT, "*cilium.io", "sub.cilium.io."));
	/* inside a label */
	ck_assert(bw_fqdn_match(PAT, "part*ial.com", "partial.com."));
	ck_assert(bw_fqdn_match(PAT, "part*ial.com", "part-of-ial.com."));
	ck_assert(!bw_fqdn_match(PAT, "part*ial.com", "part.ial.com."));
	ck_assert(bw_fqdn_match(PAT, "sub*.cilium.io", "sub.cilium.io."));
	ck_assert(bw_fqdn_match(PAT, "sub*.cilium.io", "subdomain.cilium.io."));
	ck_assert(!bw_fqdn_match(PAT, "sub*.cilium.io", "www.cilium.io."));
	/* several stars, several labels */
	ck_assert(bw_fqdn_match(PAT, "*.*.svc.cluster.local", "api.prod.svc.cluster.local."));
	ck_assert(!bw_fqdn_match(PAT, "*.*.svc.cluster.local", "prod.svc.cluster.local."));
	ck_assert(bw_fqdn_match(PAT, "a*b*c.example", "a-x-b-y-c.example."));
	ck_assert(bw_fqdn_match(PAT, "a*b*c.example", "abc.example."));
	ck_assert(!bw_fqdn_match(PAT, "a*b*c.example", "acb.example."));
	/* a star never matches characters outside [-a-z0-9_] */
	ck_assert(!bw_fqdn_match(PAT, "*.example", "a\\032b.example."));
	/* case */
	ck_assert(bw_fqdn_match(PAT, "*.EXAMPLE.com", "WWW.example.COM"));
}
END_TEST

START_TEST(stars_only_match_every_name)
{
	const char *all[] = { "*", "**", "*.", "**.", "***" };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		ck_assert_msg(bw_fqdn_match(PAT, all[i], "example.com."), "%s", all[i]);
		ck_assert_msg(bw_fqdn_match(PAT, all[i], "a.b.c.d.example."), "%s", all[i]);
		ck_assert_msg(bw_fqdn_match(PAT, all[i], "."), "%s", all[i]);
		ck_assert_msg(bw_fqdn_match(PAT, all[i], "x."), "%s", all[i]);
	}
	/* the Cilium regex (^([-a-zA-Z0-9_]+[.])+$)|(^[.]$) needs plain labels */
	ck_assert(!bw_fqdn_match(PAT, "*", "a..b."));
	ck_assert(!bw_fqdn_match(PAT, "*", "a b.example."));
}
END_TEST

START_TEST(leading_double_star_covers_one_or_more_labels)
{
	ck_assert(bw_fqdn_match(PAT, "**.cilium.io", "a.cilium.io."));
	ck_assert(bw_fqdn_match(PAT, "**.cilium.io", "a.b.cilium.io."));
	ck_assert(bw_fqdn_match(PAT, "**.cilium.io", "x.y.z.cilium.io."));
	ck_assert(!bw_fqdn_match(PAT, "**.cilium.io", "cilium.io."));
	ck_assert(!bw_fqdn_match(PAT, "**.cilium.io", "a.cilium.org."));
	/* more stars are the same; a star after the prefix is a label star */
	ck_assert(bw_fqdn_match(PAT, "***.cilium.io", "a.b.cilium.io."));
	ck_assert(bw_fqdn_match(PAT, "**.api-*.example", "x.y.api-eu.example."));
	ck_assert(!bw_fqdn_match(PAT, "**.api-*.example", "x.y.web-eu.example."));
	/* "**" elsewhere is one star: it does not cross dots */
	ck_assert(bw_fqdn_match(PAT, "a.**.example", "a.b.example."));
	ck_assert(!bw_fqdn_match(PAT, "a.**.example", "a.b.c.example."));
}
END_TEST

START_TEST(selectors_are_checked)
{
	char err[256];

	ck_assert_int_eq(bw_fqdn_selector_check(NAME, "api.example.com", err, sizeof(err)), 0);
	ck_assert_int_eq(bw_fqdn_selector_check(NAME, "api.example.com.", err, sizeof(err)), 0);
	ck_assert_int_eq(bw_fqdn_selector_check(PAT, "*.example.com", err, sizeof(err)), 0);
	ck_assert_int_eq(bw_fqdn_selector_check(PAT, "*", err, sizeof(err)), 0);
	ck_assert_int_eq(bw_fqdn_selector_check(NAME, "*.example.com", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "matchPattern"));
	ck_assert_int_eq(bw_fqdn_selector_check(PAT, "ex ample.com", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "only a-z"));
	ck_assert_int_eq(bw_fqdn_selector_check(PAT, "[a-z].com", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(bw_fqdn_selector_check(NAME, "", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(bw_fqdn_selector_check(NAME, ".example.com", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "empty label"));
	ck_assert_int_eq(bw_fqdn_selector_check(NAME, "a..example.com", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(bw_fqdn_selector_check(NAME, "a.example..", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(bw_fqdn_selector_check(NAME, ".", err, sizeof(err)), -EINVAL);
	{
		char longname[300];

		memset(longname, 'a', 256);
		longname[256] = '\0';
		ck_assert_int_eq(bw_fqdn_selector_check(NAME, longname, err, sizeof(err)), -EINVAL);
		ck_assert_ptr_nonnull(strstr(err, "255"));
		longname[255] = '\0';
		ck_assert_int_eq(bw_fqdn_selector_check(NAME, longname, err, sizeof(err)), 0);
	}
}
END_TEST

START_TEST(canonical_text_is_the_identity_label)
{
	char out[BW_FQDN_SELECTOR_MAX + 1];
	struct bw_fqdn_matcher *m;

	ck_assert_int_eq(bw_fqdn_selector_canonical(NAME, "API.Example.com.", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "api.example.com");
	ck_assert_int_eq(bw_fqdn_selector_canonical(PAT, "*.Example.com", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "*.example.com");
	ck_assert_int_eq(bw_fqdn_selector_canonical(PAT, "**.", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "*");
	ck_assert_int_eq(bw_fqdn_selector_canonical(PAT, "bad name", out, sizeof(out)), -EINVAL);
	m = bw_fqdn_matcher_from_canonical("api.example.com");
	ck_assert_ptr_nonnull(m);
	ck_assert(bw_fqdn_matcher_is_name(m));
	ck_assert(bw_fqdn_matcher_match(m, "api.example.com."));
	bw_fqdn_matcher_free(m);
	m = bw_fqdn_matcher_new(PAT, "**.Example", NULL, 0);
	ck_assert_ptr_nonnull(m);
	ck_assert(!bw_fqdn_matcher_is_name(m));
	ck_assert_str_eq(bw_fqdn_matcher_text(m), "**.example");
	ck_assert(bw_fqdn_matcher_match(m, "a.example."));
	bw_fqdn_matcher_free(m);
	ck_assert_ptr_null(bw_fqdn_matcher_new(NAME, "*", NULL, 0));
}
END_TEST

START_TEST(names_that_are_not_names_never_match)
{
	struct bw_fqdn_matcher *m = bw_fqdn_matcher_new(PAT, "*.example", NULL, 0);
	char huge[4096];

	ck_assert(!bw_fqdn_matcher_match(m, "www.example")); /* not normalised */
	ck_assert(!bw_fqdn_matcher_match(m, ""));
	memset(huge, 'a', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	huge[sizeof(huge) - 2] = '.';
	ck_assert(!bw_fqdn_matcher_match(m, huge));
	for (size_t i = 0; i < sizeof(huge) - 2; i += 2)
		huge[i] = '.';
	ck_assert(!bw_fqdn_matcher_match(m, huge));
	bw_fqdn_matcher_free(m);
}
END_TEST

BW_CHECK_MAIN("fqdnmatch", names_are_lower_case_with_a_trailing_dot,
	      match_name_is_exact_and_case_insensitive, star_stays_inside_one_label,
	      stars_only_match_every_name, leading_double_star_covers_one_or_more_labels,
	      selectors_are_checked, canonical_text_is_the_identity_label,
	      names_that_are_not_names_never_match)
