/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_advisor.c - modules/advisor: the recommendation generator
 * on recorded histories (the coarse and the fine YAML of a model cluster,
 * byte for byte, read back by the daemon's own policy parser with the
 * netpol-cilium format; stable whatever order history comes in; names
 * become toFQDNs, addresses toCIDR; what the check does not cover is
 * listed), simulate's JSON, broad-rules' findings and suggestions, and
 * the YAML writer's quoting. The core is tests/unit/fake_core.c: its
 * what-if answers what each test says.
 *
 * BW_ADVISOR_GOLDEN_WRITE=DIR writes the YAML the tests compare with into
 * DIR instead of comparing (to update tests/unit/data/advisor/ after a
 * deliberate change of the output).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/flow.h"
#include "core/log.h"
#include "core/module/registry.h"
#include "core/policy/policy_int.h"
#include "core/policy/policydoc.h"
#include "modules/advisor/advisor.h"
#include "tests/unit/fake_core.h"

extern const struct bw_module bw_module_desc; /* netpol-cilium, compiled in */

#define IN BW_FLOW_TRAFFIC_INGRESS
#define EG BW_FLOW_TRAFFIC_EGRESS
#define FWD BW_FLOW_VERDICT_FORWARDED
#define DROP BW_FLOW_VERDICT_DROPPED
#define POD BW_HISTORY_PEER_POD
#define WORLD BW_HISTORY_PEER_WORLD

#define ROW(s_, sk_, sns_, d_, dk_, dns_, port_, proto_, dir_, verdict_, count_)            \
	{ .size = sizeof(struct bw_history_row), .source = s_, .source_kind = sk_,            \
	  .source_ns = sns_, .destination = d_, .destination_kind = dk_,                      \
	  .destination_ns = dns_, .port = port_, .protocol = proto_, .direction = dir_,       \
	  .verdict = verdict_, .policies = "", .count = count_, .first_ms = 1764979200000,    \
	  .last_ms = 1764979260000 }
/* a connection between two pods of the node: a record at each side */
#define P2P(s, sns, d, dns, port, count) \
	ROW(s, POD, sns, d, POD, dns, port, 6, EG, FWD, count), \
	ROW(s, POD, sns, d, POD, dns, port, 6, IN, FWD, count)

/* The model cluster of tests/e2e/test_advisor.sh, as its history records it. */
static const struct bw_history_row model[] = {
	ROW("203.0.113.50/32", WORLD, NULL, "shop/frontend", POD, "shop", 80, 6, IN, FWD, 2),
	P2P("shop/frontend", "shop", "shop/cart", "shop", 8080, 2),
	P2P("shop/cart", "shop", "shop/db", "shop", 5432, 2),
	P2P("shop/cart", "shop", "pay/api", "pay", 8443, 2),
	ROW("pay/worker", POD, "pay", "203.0.113.10/32", WORLD, NULL, 443, 6, EG, FWD, 2),
	P2P("mon/prometheus", "mon", "shop/frontend", "shop", 9090, 2),
	P2P("mon/prometheus", "mon", "pay/api", "pay", 9090, 2),
	ROW("shop/frontend", POD, "shop", "198.51.100.53/32", WORLD, NULL, 53, 17, EG, FWD, 2),
	ROW("shop/cart", POD, "shop", "198.51.100.53/32", WORLD, NULL, 53, 17, EG, FWD, 2),
	ROW("pay/worker", POD, "pay", "198.51.100.53/32", WORLD, NULL, 53, 17, EG, FWD, 2),
	ROW("mon/prometheus", POD, "mon", "198.51.100.53/32", WORLD, NULL, 53, 17, EG, FWD, 2),
	/* denied attempts are not recommended */
	ROW("pay/worker", POD, "pay", "shop/db", POD, "shop", 5432, 6, EG, DROP, 3),
};

static const char *const lab_frontend[] = { "k8s:app=frontend" };
static const char *const lab_cart[] = { "k8s:app=cart" };
static const char *const lab_db[] = { "k8s:app=db" };
static const char *const lab_api[] = { "k8s:app=api" };
static const char *const lab_worker[] = { "k8s:app=worker" };
static const char *const lab_prom[] = { "k8s:app=prometheus" };

#define EP(i, n, p, l) { .size = sizeof(struct bw_endpoint_view), .id = i, .identity = 256 + i, \
			 .ns = n, .pod = p, .labels = l, .n_labels = 1 }
static const struct bw_endpoint_view model_eps[] = {
	EP(1, "shop", "frontend", lab_frontend), EP(2, "shop", "cart", lab_cart),
	EP(3, "shop", "db", lab_db), EP(4, "pay", "api", lab_api),
	EP(5, "pay", "worker", lab_worker), EP(6, "mon", "prom", lab_prom),
};

static const struct adv_conf conf = {
	.window = 7 * 86400000LL, .max_rows = 1000000, .comment_flows = 3,
	.shared_percent = 50, .broad_max_peers = 16, .broad_max_ports = 3,
	.baseline_name = "bulwark-baseline", .policy_name = "bulwark-recommended",
};

static char err[1024];

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
	fake_core.format_add = format_add; /* the real registry: the parser reads it back */
	ck_assert_int_eq(bw_module_desc.init(NULL, fake_core_api(), NULL), 0);
}

static void
teardown(void)
{
	bw_registry_fini();
}

/* Rows of a recorded history into a request's table, as the scan hands them. */
static void
load_rows(struct adv_rows *rows, const struct bw_history_row *v, size_t n, int reverse)
{
	ck_assert_int_eq(adv_rows_init(rows, 1000000), 0);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(adv_rows_add(rows, &v[reverse ? n - 1 - i : i]), 0);
}

static json_t *
recommend(const struct bw_history_row *v, size_t n, int fine, const char *const *nss,
	  size_t nns, int reverse)
{
	struct adv_recommend_opts o = { .namespaces = nss, .nns = nns, .fine = fine,
					.since_text = "7d" };
	struct adv_world world;
	struct adv_rows rows;
	json_t *doc = NULL;

	fake_core.endpoints = model_eps;
	fake_core.n_endpoints = sizeof(model_eps) / sizeof(*model_eps);
	ck_assert_int_eq(adv_world_load(&world, fake_core_api()), 0);
	load_rows(&rows, v, n, reverse);
	err[0] = '\0';
	ck_assert_msg(adv_recommend(fake_core_api(), NULL, &conf, &world, &rows, &o, &doc, err,
				    sizeof(err)) == 0, "recommend: %s", err);
	adv_rows_free(&rows);
	adv_world_free(&world);
	ck_assert_ptr_nonnull(doc);
	return doc;
}

/* The daemon's import path: documents read, translated, compiled. */
static size_t
parse_back(const char *yaml)
{
	struct bw_pol_batch b = { 0 };
	size_t n;

	err[0] = '\0';
	ck_assert_msg(bw_pol_batch_parse(yaml, strlen(yaml), "recommended.yaml", &b, err,
					 sizeof(err)) == 0, "the YAML does not import: %s", err);
	n = b.n;
	bw_pol_batch_free(&b);
	return n;
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int c;

	if (f == NULL)
		return NULL;
	m = open_memstream(&buf, &len);
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(m);
	fclose(f);
	return buf;
}

static void
golden(const char *name, const char *text)
{
	const char *dir = getenv("BW_ADVISOR_GOLDEN_WRITE");
	char path[4096];
	char *want;

	if (dir != NULL) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, name);
		ck_assert_ptr_nonnull(f = fopen(path, "w"));
		fputs(text, f);
		fclose(f);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", BW_TEST_ADVISOR_DATA, name);
	want = slurp(path);
	ck_assert_msg(want != NULL, "cannot read %s", path);
	ck_assert_msg(!strcmp(want, text), "%s differs; got:\n%s", name, text);
	free(want);
}

/* ---- recommend ------------------------------------------------------------------------ */

START_TEST(recommend_coarse_model_cluster_golden_and_imports)
{
	json_t *doc = recommend(model, sizeof(model) / sizeof(*model), 0, NULL, 0, 0);
	const char *yaml = json_string_value(json_object_get(doc, "yaml"));

	golden("coarse.yaml", yaml);
	ck_assert_uint_eq(parse_back(yaml), 4);
	/* the fake what-if lets every connection through: all 16 that worked, none left */
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(doc, "verification"),
							   "allowed")), 16);
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "not_covered")), 0);
	/* the check replaced the API-managed set, as `policy replace` does */
	ck_assert_uint_eq(fake_core.whatif_flags, BW_WHATIF_REPLACE);
	/* ... the very documents printed (the header then says how the check went) */
	ck_assert_ptr_nonnull(fake_core.whatif_candidate);
	ck_assert(!strcmp(strstr(fake_core.whatif_candidate, "\n---\n"), strstr(yaml, "\n---\n")));
	json_decref(doc);
}
END_TEST

START_TEST(recommend_fine_model_cluster_golden_and_imports)
{
	json_t *doc = recommend(model, sizeof(model) / sizeof(*model), 1, NULL, 0, 0);
	const char *yaml = json_string_value(json_object_get(doc, "yaml"));

	golden("fine.yaml", yaml);
	ck_assert_uint_eq(parse_back(yaml), 4);
	json_decref(doc);
}
END_TEST

START_TEST(recommend_is_stable_whatever_the_order_history_comes_in)
{
	json_t *a = recommend(model, sizeof(model) / sizeof(*model), 0, NULL, 0, 0);
	json_t *b = recommend(model, sizeof(model) / sizeof(*model), 0, NULL, 0, 1);

	ck_assert_str_eq(json_string_value(json_object_get(a, "yaml")),
			 json_string_value(json_object_get(b, "yaml")));
	json_decref(a);
	json_decref(b);
}
END_TEST

START_TEST(recommend_rules_list_each_commented_element_with_its_flows)
{
	json_t *doc = recommend(model, sizeof(model) / sizeof(*model), 0, NULL, 0, 0);
	json_t *rules = json_object_get(doc, "rules"), *r;
	size_t i;
	char *text;
	int found = 0;

	ck_assert_uint_gt(json_array_size(rules), 5);
	json_array_foreach(rules, i, r) {
		if (strcmp(json_string_value(json_object_get(r, "policy")),
			   "CiliumNetworkPolicy pay/bulwark-recommended"))
			continue;
		if (strcmp(json_string_value(json_object_get(r, "rule")), "specs[1].ingress[0]"))
			continue;
		found = 1;
		ck_assert_int_eq(json_integer_value(json_object_get(r, "connections")), 2);
		ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
					 json_object_get(r, "flows"), 0), "source")), "shop/cart");
	}
	ck_assert_msg(found, "no rule for pay/api's ingress from shop");
	/* the policies of the JSON carry no comment members */
	text = json_dumps(json_object_get(doc, "policies"), 0);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_null(strstr(text, "\"#"));
	free(text);
	json_decref(doc);
}
END_TEST

static const struct bw_history_row named[] = {
	ROW("shop/cart", POD, "shop", "api.example", WORLD, NULL, 443, 6, EG, FWD, 5),
	ROW("shop/cart", POD, "shop", "cdn.example", WORLD, NULL, 443, 6, EG, FWD, 1),
	ROW("shop/cart", POD, "shop", "203.0.113.99/32", WORLD, NULL, 8443, 6, EG, FWD, 1),
	ROW("shop/frontend", POD, "shop", "198.51.100.53/32", WORLD, NULL, 53, 17, EG, FWD, 9),
};

START_TEST(recommend_egress_by_dns_name_else_by_address)
{
	json_t *doc = recommend(named, sizeof(named) / sizeof(*named), 0, NULL, 0, 0);
	json_t *eg = json_object_get(json_array_get(json_object_get(json_array_get(
					     json_object_get(doc, "policies"), 1), "specs"), 0),
				     "egress");
	char *text = json_dumps(eg, JSON_COMPACT);

	ck_assert_str_eq(text,
		"[{\"toCIDR\":[\"203.0.113.99/32\"],"
		"\"toPorts\":[{\"ports\":[{\"port\":\"8443\",\"protocol\":\"TCP\"}]}]},"
		"{\"toFQDNs\":[{\"matchName\":\"api.example\"},{\"matchName\":\"cdn.example\"}],"
		"\"toPorts\":[{\"ports\":[{\"port\":\"443\",\"protocol\":\"TCP\"}]}]}]");
	free(text);
	json_decref(doc);
}
END_TEST

static const char *dropped_dst = "shop/db";

static void
judge_drop_one(const struct bw_whatif_conn *c, struct bw_whatif_result *r)
{
	if (!strcmp(c->destination, dropped_dst) && c->direction == IN) {
		r->candidate.verdict = DROP;
		r->candidate.isolated_by = "CiliumClusterwideNetworkPolicy bulwark-baseline";
	}
	if (!strcmp(c->source, "pay/worker") && c->port == 443)
		r->checked = 0, r->why = "pay/worker has no endpoint on this node now";
}

START_TEST(recommend_lists_what_the_check_does_not_cover)
{
	json_t *doc, *nc;
	const char *yaml;

	fake_core.whatif_judge = judge_drop_one;
	doc = recommend(model, sizeof(model) / sizeof(*model), 0, NULL, 0, 0);
	nc = json_object_get(doc, "not_covered");
	yaml = json_string_value(json_object_get(doc, "yaml"));
	ck_assert_uint_eq(json_array_size(nc), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(nc, 0), "reason")),
			 "not checked: pay/worker has no endpoint on this node now");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(nc, 1), "reason")),
			 "denied by default deny (isolated by CiliumClusterwideNetworkPolicy "
			 "bulwark-baseline)");
	ck_assert_ptr_nonnull(strstr(yaml, "# checked by replaying them through these policies: "
					   "14 of 16 stay allowed\n"));
	ck_assert_ptr_nonnull(strstr(yaml, "# NOT COVERED: shop/cart -> shop/db TCP/5432 (INGRESS): "
					   "denied by default deny"));
	json_decref(doc);
}
END_TEST

START_TEST(recommend_one_namespace)
{
	static const char *const nss[] = { "pay" };
	json_t *doc = recommend(model, sizeof(model) / sizeof(*model), 0, nss, 1, 0);
	json_t *pols = json_object_get(doc, "policies");
	char *sel = json_dumps(json_object_get(json_array_get(json_object_get(json_array_get(pols, 0),
									       "specs"), 0),
					       "endpointSelector"), JSON_COMPACT);

	ck_assert_str_eq(sel, "{\"matchLabels\":{\"io.kubernetes.pod.namespace\":\"pay\"}}");
	free(sel);
	/* the baseline and pay's own; nothing for shop or mon */
	ck_assert_uint_eq(json_array_size(pols), 2);
	/* one namespace: only DNS is shared; the scraper is pay's own ingress, from mon */
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(doc, "yaml")),
				     "  #   mon/prometheus -> pay/api TCP/9090: 2\n"
				     "  - fromEndpoints:\n"
				     "    - matchLabels:\n"
				     "        io.kubernetes.pod.namespace: mon\n"));
	ck_assert_uint_eq(parse_back(json_string_value(json_object_get(doc, "yaml"))), 2);
	json_decref(doc);
}
END_TEST

START_TEST(recommend_refuses_a_namespace_without_endpoints)
{
	static const char *const nss[] = { "nope" };
	struct adv_recommend_opts o = { .namespaces = nss, .nns = 1 };
	struct adv_world world;
	struct adv_rows rows;
	json_t *doc = NULL;

	fake_core.endpoints = model_eps;
	fake_core.n_endpoints = sizeof(model_eps) / sizeof(*model_eps);
	ck_assert_int_eq(adv_world_load(&world, fake_core_api()), 0);
	load_rows(&rows, model, 1, 0);
	ck_assert_int_eq(adv_recommend(fake_core_api(), NULL, &conf, &world, &rows, &o, &doc, err,
				       sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "--namespace nope: no endpoint of that namespace is on this node");
	ck_assert_ptr_null(doc);
	adv_rows_free(&rows);
	adv_world_free(&world);
}
END_TEST

/* ---- simulate ----------------------------------------------------------------------------- */

static void
judge_flip(const struct bw_whatif_conn *c, struct bw_whatif_result *r)
{
	if (!strcmp(c->source, "shop/cart") && !strcmp(c->destination, "shop/db") &&
	    c->direction == IN) {
		r->candidate.verdict = DROP;
		r->candidate.kind = "CiliumNetworkPolicy";
		r->candidate.ns = "shop";
		r->candidate.name = "deny-cart-db";
		r->candidate.rule_index = 0;
		r->candidate.entry_index = 0;
		r->candidate.deny = 1;
	}
	if (!strcmp(c->source, "pay/worker") && !strcmp(c->destination, "shop/db")) {
		r->current.verdict = DROP;
		r->current.isolated_by = "CiliumNetworkPolicy pay/bulwark-recommended";
		r->candidate.kind = "CiliumNetworkPolicy";
		r->candidate.ns = "pay";
		r->candidate.name = "open";
	}
}

START_TEST(simulate_reports_newly_dropped_and_newly_allowed_in_the_issue_s_shape)
{
	struct adv_rows rows;
	json_t *doc = NULL, *d, *a;
	char *text;

	fake_core.whatif_judge = judge_flip;
	load_rows(&rows, model, sizeof(model) / sizeof(*model), 0);
	ck_assert_int_eq(adv_simulate(fake_core_api(), (bw_whatif *)(void *)&fake_core, &rows, 0,
				      &doc), 0);
	d = json_object_get(doc, "newly_dropped");
	a = json_object_get(doc, "newly_allowed");
	ck_assert_uint_eq(json_array_size(d), 1);
	ck_assert_uint_eq(json_array_size(a), 1);
	text = json_dumps(json_array_get(d, 0), JSON_COMPACT | JSON_PRESERVE_ORDER);
	ck_assert_str_eq(text,
		"{\"source\":\"shop/cart\",\"destination\":\"shop/db\",\"port\":5432,"
		"\"protocol\":\"TCP\",\"direction\":\"INGRESS\",\"count\":2,"
		"\"last_seen\":\"2025-12-06T00:01:00.000Z\",\"verdict\":\"DROPPED\","
		"\"policies\":[\"CiliumNetworkPolicy shop/deny-cart-db\"],"
		"\"reason\":\"denied by CiliumNetworkPolicy shop/deny-cart-db (rule 0, deny entry 0)\"}");
	free(text);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "source")),
			 "pay/worker");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(a, 0), "count")), 3);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "was")),
			 "denied by default deny (isolated by CiliumNetworkPolicy "
			 "pay/bulwark-recommended)");
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "replayed")), 17);
	json_decref(doc);
	adv_rows_free(&rows);
}
END_TEST

/* ---- broad rules ---------------------------------------------------------------------------- */

static const char *broad_policies =
	"{\"policies\": [{\"kind\": \"CiliumNetworkPolicy\", \"namespace\": \"pay\","
	" \"name\": \"worker-https\", \"source\": \"api\", \"revision\": 1, \"staged\": false,"
	" \"rules\": [{\"subject\": {\"match_labels\": {\"any:app\": \"worker\","
	"   \"k8s:io.kubernetes.pod.namespace\": \"pay\"}},"
	"  \"ingress\": [], \"egress\": [{\"deny\": false, \"peers\": [{\"cidr\": \"0.0.0.0/0\"}],"
	"   \"ports\": [{\"port\": 443, \"protocol\": \"TCP\"}]},"
	"   {\"deny\": false, \"ports\": [{\"port\": 53, \"protocol\": \"ANY\"}]}],"
	"  \"default_deny\": {\"ingress\": false, \"egress\": true}}]}]}";

static void
judge_worker_https(const struct bw_whatif_conn *c, struct bw_whatif_result *r)
{
	if (!strcmp(c->source, "pay/worker") && c->direction == EG) {
		r->current.kind = "CiliumNetworkPolicy";
		r->current.ns = "pay";
		r->current.name = "worker-https";
		r->current.rule_index = 0;
		r->current.entry_index = c->port == 443 ? 0 : 1;
	}
}

START_TEST(broad_rules_flag_an_egress_to_the_internet_used_for_one_destination)
{
	struct adv_world world;
	struct adv_rows rows;
	json_t *doc = NULL, *rules, *r;
	const char *sugg;

	fake_core.policies = broad_policies;
	fake_core.whatif_judge = judge_worker_https;
	fake_core.endpoints = model_eps;
	fake_core.n_endpoints = sizeof(model_eps) / sizeof(*model_eps);
	ck_assert_int_eq(adv_world_load(&world, fake_core_api()), 0);
	load_rows(&rows, model, sizeof(model) / sizeof(*model), 0);
	ck_assert_int_eq(adv_broad(fake_core_api(), &conf, &world, &rows, &doc, err, sizeof(err)), 0);
	rules = json_object_get(doc, "rules");
	/* egress[0] (0.0.0.0/0:443) is broad; egress[1] (any peer on 53) too: one peer used */
	ck_assert_uint_eq(json_array_size(rules), 2);
	r = json_array_get(rules, 0);
	ck_assert_str_eq(json_string_value(json_object_get(r, "policy")), "pay/worker-https");
	ck_assert_str_eq(json_string_value(json_object_get(r, "rule")), "egress[0]");
	ck_assert_str_eq(json_string_value(json_object_get(r, "allowed")), "0.0.0.0/0 on TCP/443");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(r, "used_by"), 0),
							   "destination")), "203.0.113.10/32");
	sugg = json_string_value(json_object_get(r, "suggestion"));
	ck_assert_msg(strstr(sugg, "  - toCIDR: [203.0.113.10/32]\n") != NULL, "%s", sugg);
	ck_assert_msg(strstr(sugg, "0.0.0.0/0") == NULL || strstr(sugg, "# was: 0.0.0.0/0") != NULL,
		      "%s", sugg);
	ck_assert_uint_eq(parse_back(sugg), 1);
	/* the suggestion was replayed through the (fake) what-if: it keeps the use */
	ck_assert(json_is_true(json_object_get(r, "suggestion_checked")));
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rules, 1), "rule")),
			 "egress[1]");
	json_decref(doc);
	adv_rows_free(&rows);
	adv_world_free(&world);
}
END_TEST

/* judge_worker_https, and the replay must get the address, not the name */
static void
judge_worker_https_by_address(const struct bw_whatif_conn *c, struct bw_whatif_result *r)
{
	if (c->port == 443)
		ck_assert_str_eq(c->destination, "203.0.113.10/32");
	judge_worker_https(c, r);
}

START_TEST(broad_rules_name_an_outside_address_by_the_name_dns_gave_for_it)
{
	struct adv_world world;
	struct adv_rows rows;
	json_t *doc = NULL, *r, *use;
	const char *sugg;

	fake_core.policies = broad_policies;
	fake_core.whatif_judge = judge_worker_https_by_address;
	fake_core.endpoints = model_eps;
	fake_core.n_endpoints = sizeof(model_eps) / sizeof(*model_eps);
	fake_core.fqdn_address = "203.0.113.10";
	fake_core.fqdn_name = "api.example";
	ck_assert_int_eq(adv_world_load(&world, fake_core_api()), 0);
	load_rows(&rows, model, sizeof(model) / sizeof(*model), 0);
	adv_rows_name(&rows, fake_core_api()); /* as the module does once the rows are in */
	ck_assert_int_eq(adv_broad(fake_core_api(), &conf, &world, &rows, &doc, err, sizeof(err)), 0);
	r = json_array_get(json_object_get(doc, "rules"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(r, "rule")), "egress[0]");
	use = json_array_get(json_object_get(r, "used_by"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(use, "destination")), "api.example");
	ck_assert_str_eq(json_string_value(json_object_get(use, "destination_address")),
			 "203.0.113.10/32");
	sugg = json_string_value(json_object_get(r, "suggestion"));
	ck_assert_msg(strstr(sugg, "toFQDNs") != NULL && strstr(sugg, "matchName: api.example") != NULL,
		      "%s", sugg);
	ck_assert_msg(strstr(sugg, "toCIDR: [203.0.113.10/32]") == NULL, "%s", sugg);
	ck_assert_uint_eq(parse_back(sugg), 1);
	json_decref(doc);
	adv_rows_free(&rows);
	adv_world_free(&world);
}
END_TEST

static const char *ports_policies =
	"{\"policies\": [{\"kind\": \"NetworkPolicy\", \"namespace\": \"shop\","
	" \"name\": \"db-from-cart\", \"source\": \"api\", \"revision\": 1, \"staged\": false,"
	" \"rules\": [{\"subject\": {\"match_labels\": {\"k8s:app\": \"db\","
	"   \"k8s:io.kubernetes.pod.namespace\": \"shop\"}},"
	"  \"ingress\": [{\"deny\": false, \"peers\": [{\"selector\": {\"match_labels\":"
	"   {\"k8s:app\": \"cart\", \"k8s:io.kubernetes.pod.namespace\": \"shop\"}}}]}],"
	"  \"egress\": [], \"default_deny\": {\"ingress\": true, \"egress\": false}}]}]}";

static void
judge_db_from_cart(const struct bw_whatif_conn *c, struct bw_whatif_result *r)
{
	if (!strcmp(c->destination, "shop/db") && c->direction == IN) {
		r->current.kind = "NetworkPolicy";
		r->current.ns = "shop";
		r->current.name = "db-from-cart";
		r->current.rule_index = 0;
		r->current.entry_index = 0;
	}
}

START_TEST(broad_rules_flag_every_port_used_on_one_and_keep_the_peers)
{
	struct adv_world world;
	struct adv_rows rows;
	json_t *doc = NULL, *r;
	const char *sugg;

	fake_core.policies = ports_policies;
	fake_core.whatif_judge = judge_db_from_cart;
	fake_core.endpoints = model_eps;
	fake_core.n_endpoints = sizeof(model_eps) / sizeof(*model_eps);
	ck_assert_int_eq(adv_world_load(&world, fake_core_api()), 0);
	load_rows(&rows, model, sizeof(model) / sizeof(*model), 0);
	ck_assert_int_eq(adv_broad(fake_core_api(), &conf, &world, &rows, &doc, err, sizeof(err)), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "rules")), 1);
	r = json_array_get(json_object_get(doc, "rules"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(r, "allowed")), "pods k8s:app=cart on every port");
	sugg = json_string_value(json_object_get(r, "suggestion"));
	/* a NetworkPolicy's suggestion is a CiliumNetworkPolicy of the same name, said so */
	ck_assert_msg(strstr(sugg, "kind: CiliumNetworkPolicy\n") != NULL, "%s", sugg);
	ck_assert_msg(strstr(sugg, "replaces the NetworkPolicy of the same name") != NULL, "%s", sugg);
	ck_assert_msg(strstr(sugg, "        k8s:app: cart\n") != NULL, "%s", sugg);
	ck_assert_msg(strstr(sugg, "      - port: \"5432\"\n        protocol: TCP\n") != NULL, "%s",
		      sugg);
	ck_assert_uint_eq(parse_back(sugg), 1);
	/* not checked: importing it would leave the NetworkPolicy in force */
	ck_assert_ptr_null(json_object_get(r, "suggestion_checked"));
	json_decref(doc);
	adv_rows_free(&rows);
	adv_world_free(&world);
}
END_TEST

/* ---- YAML ------------------------------------------------------------------------------------ */

START_TEST(yaml_writer_quotes_what_yaml_would_read_otherwise)
{
	json_t *doc = json_pack("{s:s,s:[s,s,s,s,s,s,s,s,s,s],s:{s:i,s:b},s:[],s:{}}", "#",
				"a comment\nover two lines", "strings", "*", "80", "true", "no",
				"a: b", "-x", "", "0x10", "k8s:app", "quote\"and\\back",
				"nested", "n", 1, "flag", 1, "empty_list", "empty_map");
	char *yaml = adv_yaml_dump(&doc, 1, "header");
	struct bw_policydoc_set set = { 0 };
	json_t *back, *want = adv_strip_comments(doc);

	ck_assert_ptr_nonnull(yaml);
	ck_assert_ptr_nonnull(strstr(yaml, "# header\n---\n# a comment\n# over two lines\n"));
	ck_assert_int_eq(bw_policydoc_read(yaml, strlen(yaml), "t.yaml", &set, err, sizeof(err)), 0);
	ck_assert_uint_eq(set.count, 1);
	back = json_loads(set.docs[0].json, 0, NULL);
	ck_assert_msg(json_equal(back, want), "read back: %s\nfrom:\n%s", set.docs[0].json, yaml);
	json_decref(back);
	json_decref(want);
	json_decref(doc);
	bw_policydoc_set_free(&set);
	free(yaml);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("advisor");
	TCase *tc = tcase_create("advisor");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, recommend_coarse_model_cluster_golden_and_imports);
	tcase_add_test(tc, recommend_fine_model_cluster_golden_and_imports);
	tcase_add_test(tc, recommend_is_stable_whatever_the_order_history_comes_in);
	tcase_add_test(tc, recommend_rules_list_each_commented_element_with_its_flows);
	tcase_add_test(tc, recommend_egress_by_dns_name_else_by_address);
	tcase_add_test(tc, recommend_lists_what_the_check_does_not_cover);
	tcase_add_test(tc, recommend_one_namespace);
	tcase_add_test(tc, recommend_refuses_a_namespace_without_endpoints);
	tcase_add_test(tc, simulate_reports_newly_dropped_and_newly_allowed_in_the_issue_s_shape);
	tcase_add_test(tc, broad_rules_flag_an_egress_to_the_internet_used_for_one_destination);
	tcase_add_test(tc, broad_rules_name_an_outside_address_by_the_name_dns_gave_for_it);
	tcase_add_test(tc, broad_rules_flag_every_port_used_on_one_and_keep_the_peers);
	tcase_add_test(tc, yaml_writer_quotes_what_yaml_would_read_otherwise);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
