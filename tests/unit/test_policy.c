/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_policy.c - core/policy/policy.c: the repository's all-or-nothing
 * batches, revisions, sources, the rule table and the error messages a user
 * sees. The Kubernetes format module is compiled in and registered the way
 * the daemon registers it; no datapath is involved (nothing is resolved
 * before bw_policy_recompute()).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "bpf/bw_datapath.h"
#include "core/policy/policy.h"
#include "core/policy/policy_int.h"
#include "core/module/registry.h"
#include "core/policy/resolver.h"
#include "tests/unit/fake_core.h"

extern const struct bw_module bw_module_desc;

static char err[4096];

static int format_add(bw_module_ctx *ctx, const struct bw_policy_format *f)
{
	return bw_policy_format_add(f, NULL);
}

static void setup(void)
{
	bw_log_set_level(BW_LOG_WARNING);
	fake_core_reset();
	fake_core.format_add = format_add; /* into the core's real registry */
	ck_assert_int_eq(bw_module_desc.init(NULL, fake_core_api(), NULL), 0);
	ck_assert_int_eq(bw_policy_init(NULL), 0);
}

static void teardown(void)
{
	bw_policy_fini();
	bw_registry_fini();
}

#define NP_HEAD(name) \
	"apiVersion: networking.k8s.io/v1\n" \
	"kind: NetworkPolicy\n" \
	"metadata:\n" \
	"  name: " name "\n" \
	"  namespace: x\n"

static const char *const good2 =
	NP_HEAD("allow-a")
	"spec:\n"
	"  podSelector:\n"
	"    matchLabels:\n"
	"      app: a\n"
	"  ingress:\n"
	"  - from:\n"
	"    - podSelector:\n"
	"        matchLabels:\n"
	"          app: b\n"
	"    ports:\n"
	"    - port: 80\n"
	"---\n"
	NP_HEAD("deny-all")
	"spec:\n"
	"  podSelector: {}\n";

/* Parse and apply like POST /v1/policies (replace for PUT). */
static int load(const char *text, int replace, unsigned *changed)
{
	struct bw_pol_batch b;
	int e;

	err[0] = '\0';
	e = bw_pol_batch_parse(text, strlen(text), "test.yaml", &b, err, sizeof(err));
	if (e < 0)
		return e;
	e = bw_pol_apply(&b, BW_POLICY_SOURCE_API, replace, changed, err, sizeof(err));
	bw_pol_batch_free(&b);
	return e;
}

START_TEST(test_import_adds_every_document)
{
	unsigned changed;
	struct bw_pol *p;

	ck_assert_int_eq(load(good2, 0, &changed), 0);
	ck_assert_uint_eq(changed, 2);
	ck_assert_uint_eq(bw_policy_count(), 2);
	p = bw_pol_find("x", "allow-a", NULL, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->kind, "NetworkPolicy");
	ck_assert_str_eq(p->source, "api");
	ck_assert_uint_eq(p->revision, 1);
	ck_assert_uint_eq(p->rv->nrules, 1);
}
END_TEST

START_TEST(test_import_is_all_or_nothing)
{
	static const char *const bad =
		NP_HEAD("one")
		"spec:\n"
		"  podSelector: {}\n"
		"---\n"
		NP_HEAD("two")
		"spec:\n"
		"  podSelector: {}\n"
		"  ingress:\n"
		"  - from:\n"
		"    - ipBlock:\n"
		"        cidr: 10.0.0.0/33\n";
	unsigned changed = 99;

	ck_assert_int_eq(load(bad, 0, &changed), -EINVAL);
	ck_assert_uint_eq(bw_policy_count(), 0);
	/* the field's own line first, then the document */
	ck_assert_msg(strstr(err, "test.yaml:19: document 2 (line 9): ") == err, "%s", err);
	ck_assert_msg(strstr(err, "spec.ingress[0].from[0].ipBlock.cidr") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "10.0.0.0/33") != NULL, "%s", err);
	/* an existing policy is not touched by a failed import */
	ck_assert_int_eq(load(good2, 0, NULL), 0);
	ck_assert_int_eq(load(bad, 0, NULL), -EINVAL);
	ck_assert_uint_eq(bw_policy_count(), 2);
	ck_assert_ptr_null(bw_pol_find("x", "one", NULL, NULL));
}
END_TEST

/* A field's line is found in List items and in JSON too. */
START_TEST(test_errors_name_the_field_line)
{
	static const char *const list =
		"apiVersion: networking.k8s.io/v1\n"
		"kind: NetworkPolicyList\n"
		"items:\n"
		"- metadata: {name: a, namespace: x}\n"
		"  spec:\n"
		"    podSelector: {}\n"
		"- metadata: {name: b, namespace: x}\n"
		"  spec:\n"
		"    podSelector: {}\n"
		"    ingress:\n"
		"    - ports:\n"
		"      - port: 80\n"
		"      - port: 99999\n";
	static const char *const json =
		"{\"apiVersion\": \"networking.k8s.io/v1\", \"kind\": \"NetworkPolicy\",\n"
		" \"metadata\": {\"name\": \"j\", \"namespace\": \"x\"},\n"
		" \"spec\": {\"podSelector\": {},\n"
		"  \"egress\": [{\"to\": [{\"ipBlock\": {\"cidr\": \"300.0.0.0/8\"}}]}]}}\n";

	ck_assert_int_eq(load(list, 0, NULL), -EINVAL);
	ck_assert_msg(strstr(err, "test.yaml:13: document 1, item 1 (line 7): spec.ingress[0].ports[1]") == err,
		      "%s", err);
	ck_assert_int_eq(load(json, 0, NULL), -EINVAL);
	ck_assert_msg(strstr(err, "test.yaml:4: document 1 (line 1): spec.egress[0].to[0].ipBlock.cidr") == err,
		      "%s", err);
}
END_TEST

START_TEST(test_unknown_kind_names_accepted_kinds)
{
	static const char *const doc =
		NP_HEAD("ok")
		"spec:\n"
		"  podSelector: {}\n"
		"---\n"
		"apiVersion: example.com/v1\n"
		"kind: FirewallRule\n"
		"metadata:\n"
		"  name: x\n";

	ck_assert_int_eq(load(doc, 0, NULL), -EINVAL);
	ck_assert_msg(strstr(err, "document 2 (line 9)") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "apiVersion \"example.com/v1\" kind \"FirewallRule\" is not a policy kind bulwark accepts") != NULL,
		      "%s", err);
	ck_assert_msg(strstr(err, "networking.k8s.io/v1 NetworkPolicy") != NULL, "%s", err);
	ck_assert_uint_eq(bw_policy_count(), 0);
}
END_TEST

START_TEST(test_duplicate_in_one_input)
{
	char doc[2048];

	snprintf(doc, sizeof(doc), "%s---\n%s", good2, good2);
	ck_assert_int_eq(load(doc, 0, NULL), -EINVAL);
	ck_assert_msg(strstr(err, "document 3 (line 26): NetworkPolicy x/allow-a is already defined by document 1 (line 1)") != NULL,
		      "%s", err);
}
END_TEST

START_TEST(test_revisions_and_unchanged)
{
	unsigned changed;
	char doc[2048];
	struct bw_pol *p;

	ck_assert_int_eq(load(good2, 0, NULL), 0);
	ck_assert_int_eq(load(good2, 0, &changed), 0);
	ck_assert_uint_eq(changed, 0);
	ck_assert_uint_eq(bw_pol_find("x", "allow-a", NULL, NULL)->revision, 1);
	snprintf(doc, sizeof(doc), "%s", good2);
	memcpy(strstr(doc, "port: 80"), "port: 81", 8);
	ck_assert_int_eq(load(doc, 0, &changed), 0);
	ck_assert_uint_eq(changed, 1);
	p = bw_pol_find("x", "allow-a", NULL, NULL);
	ck_assert_uint_eq(p->revision, 2);
	ck_assert_uint_eq(bw_pol_find("x", "deny-all", NULL, NULL)->revision, 1);
}
END_TEST

START_TEST(test_replace)
{
	unsigned changed;

	ck_assert_int_eq(load(good2, 0, NULL), 0);
	ck_assert_int_eq(load(NP_HEAD("only") "spec:\n  podSelector: {}\n", 1, &changed), 0);
	ck_assert_uint_eq(changed, 3);
	ck_assert_uint_eq(bw_policy_count(), 1);
	ck_assert_ptr_nonnull(bw_pol_find("x", "only", NULL, NULL));
	/* an empty file empties the API-managed set */
	ck_assert_int_eq(load("", 1, &changed), 0);
	ck_assert_uint_eq(changed, 1);
	ck_assert_uint_eq(bw_policy_count(), 0);
}
END_TEST

START_TEST(test_sources_do_not_take_over)
{
	struct bw_pol_batch b;

	ck_assert_int_eq(bw_pol_batch_parse(good2, strlen(good2), "/p/a.yaml", &b, err,
					    sizeof(err)), 0);
	ck_assert_int_eq(bw_pol_apply(&b, "/p/a.yaml", 1, NULL, err, sizeof(err)), 0);
	bw_pol_batch_free(&b);
	ck_assert_int_eq(load(good2, 0, NULL), -EEXIST);
	ck_assert_msg(strstr(err, "NetworkPolicy x/allow-a is already defined by file /p/a.yaml; change it there") != NULL,
		      "%s", err);
	ck_assert_int_eq(bw_pol_delete("x", "allow-a", NULL, err, sizeof(err)), -EPERM);
	ck_assert_msg(strstr(err, "comes from the file /p/a.yaml") != NULL, "%s", err);
	/* the file goes away, and its policies with it */
	ck_assert_int_eq(bw_pol_drop_source("/p/a.yaml"), 0);
	ck_assert_uint_eq(bw_policy_count(), 0);
}
END_TEST

START_TEST(test_delete)
{
	ck_assert_int_eq(bw_pol_delete("x", "nope", NULL, err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "no policy x/nope");
	ck_assert_int_eq(load(good2, 0, NULL), 0);
	ck_assert_int_eq(bw_pol_delete("x", "deny-all", NULL, err, sizeof(err)), 0);
	ck_assert_uint_eq(bw_policy_count(), 1);
	ck_assert_ptr_null(bw_pol_find("x", "deny-all", NULL, NULL));
}
END_TEST

START_TEST(test_rule_refs_stable_and_never_reused)
{
	char doc[2048];
	struct bw_pol *p;
	uint32_t ref_a, ref_a2, ref_deny;
	const struct bw_policy_ruleinfo *ri;

	ck_assert_int_eq(load(good2, 0, NULL), 0);
	p = bw_pol_find("x", "allow-a", NULL, NULL);
	ref_a = p->rv->rules[0].entries[BW_DIR_INGRESS][0].rule_ref;
	ck_assert_uint_ne(ref_a, 0);
	ri = bw_policy_rule_lookup(ref_a);
	ck_assert_ptr_nonnull(ri);
	ck_assert_str_eq(ri->name, "allow-a");
	ck_assert_str_eq(ri->namespace, "x");
	ck_assert_str_eq(ri->kind, "NetworkPolicy");
	ck_assert_uint_eq(ri->rule_index, 0);
	ck_assert_int_eq(ri->direction, BW_DIR_INGRESS);
	ck_assert_uint_eq(ri->entry_index, 0);
	ck_assert_int_eq(ri->current, 1);
	/* deny-all has no entries: default deny only, no refs */
	p = bw_pol_find("x", "deny-all", NULL, NULL);
	ck_assert_uint_eq(p->nrefs, 0);
	/* re-importing the same text keeps the ref */
	ck_assert_int_eq(load(good2, 0, NULL), 0);
	ck_assert_uint_eq(bw_pol_find("x", "allow-a", NULL, NULL)->rv->rules[0]
				  .entries[BW_DIR_INGRESS][0].rule_ref, ref_a);
	/* a changed rule gets a new ref; the old one stays answerable, not current */
	snprintf(doc, sizeof(doc), "%s", good2);
	memcpy(strstr(doc, "port: 80"), "port: 81", 8);
	ck_assert_int_eq(load(doc, 0, NULL), 0);
	ref_a2 = bw_pol_find("x", "allow-a", NULL, NULL)->rv->rules[0]
			 .entries[BW_DIR_INGRESS][0].rule_ref;
	ck_assert_uint_gt(ref_a2, ref_a);
	ri = bw_policy_rule_lookup(ref_a);
	ck_assert_ptr_nonnull(ri);
	ck_assert_int_eq(ri->current, 0);
	ck_assert_int_eq(bw_policy_rule_lookup(ref_a2)->current, 1);
	ck_assert_uint_eq(bw_policy_rule_lookup(ref_a2)->revision, 2);
	/* back to the first text: still a new ref (never reuse) */
	ck_assert_int_eq(load(good2, 0, NULL), 0);
	ref_deny = bw_pol_find("x", "allow-a", NULL, NULL)->rv->rules[0]
			   .entries[BW_DIR_INGRESS][0].rule_ref;
	ck_assert_uint_gt(ref_deny, ref_a2);
}
END_TEST

START_TEST(test_cluster_wide_and_json)
{
	struct bw_pol *p;
	json_t *j;

	ck_assert_int_eq(load(good2, 0, NULL), 0);
	p = bw_pol_find("x", "allow-a", NULL, NULL);
	j = bw_pol_to_json(p, 1);
	ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "allow-a");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "rules_count")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "revision")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(j, "source")), "api");
	ck_assert(json_is_array(json_object_get(j, "rules")));
	json_decref(j);
}
END_TEST

static Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("repository");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_import_adds_every_document);
	tcase_add_test(tc, test_import_is_all_or_nothing);
	tcase_add_test(tc, test_errors_name_the_field_line);
	tcase_add_test(tc, test_unknown_kind_names_accepted_kinds);
	tcase_add_test(tc, test_duplicate_in_one_input);
	tcase_add_test(tc, test_revisions_and_unchanged);
	tcase_add_test(tc, test_replace);
	tcase_add_test(tc, test_sources_do_not_take_over);
	tcase_add_test(tc, test_delete);
	tcase_add_test(tc, test_rule_refs_stable_and_never_reused);
	tcase_add_test(tc, test_cluster_wide_and_json);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(policy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
