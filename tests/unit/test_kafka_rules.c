/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_kafka_rules.c - CiliumNetworkPolicy rules.kafka as the
 * kafka module compiles and matches them: Cilium's role sets, apiKey
 * names, exact apiVersion and clientID, topics, OR-ed rules, every topic
 * of a request covered, requests without topics, unknown topic IDs, and
 * errors that name the rule and field (cilium/proxy pkg/policy/api/kafka,
 * proxylib/kafka/kafkalib/policy.go).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kafka_proto.h"
#include "kafka_rules.h"

static struct kafka_rules *
compile(const char *json)
{
	struct kafka_rules *rs = NULL;
	char err[256] = "";

	ck_assert_msg(kafka_rules_compile(json, strlen(json), &rs, err, sizeof(err)) == 0,
		      "%s: %s", json, err);
	return rs;
}

static const char *
refused(const char *json)
{
	static char err[256];
	struct kafka_rules *rs = NULL;

	err[0] = '\0';
	ck_assert_msg(kafka_rules_compile(json, strlen(json), &rs, err, sizeof(err)) == -EINVAL,
		      "%s was accepted", json);
	return err;
}

/* Match a request of key/version/client naming topics (NULL: unknown ID). */
static int
match(const struct kafka_rules *rs, int key, int version, const char *client,
      int topic_check, const char *const *topics, size_t n, int *by)
{
	size_t lens[16];
	int local_by[16];
	struct kafka_req_view v = {
		.api_key = (int16_t)key, .api_version = (int16_t)version,
		.client_id = (const uint8_t *)client,
		.client_id_len = client != NULL ? strlen(client) : 0,
		.topic_check = topic_check, .topics = topics, .topic_lens = lens,
		.n_topics = n,
	};

	for (size_t i = 0; i < n; i++)
		lens[i] = topics[i] != NULL ? strlen(topics[i]) : 0;
	return kafka_rules_match(rs, &v, by != NULL ? by : local_by);
}

START_TEST(produce_role_allows_cilium_set_only)
{
	struct kafka_rules *rs = compile("[{\"role\":\"Produce\",\"topic\":\"orders\"}]");
	const char *orders[] = { "orders" }, *other[] = { "payments" };

	ck_assert_int_eq(match(rs, 0, 7, "kcat", 1, orders, 1, NULL), 0);        /* produce */
	ck_assert_int_eq(match(rs, 3, 4, "kcat", 1, orders, 1, NULL), 0);        /* metadata */
	ck_assert_int_eq(match(rs, 18, 3, "kcat", 0, NULL, 0, NULL), 0);         /* apiversions */
	ck_assert_int_eq(match(rs, 0, 7, "kcat", 1, other, 1, NULL), -1);        /* other topic */
	ck_assert_int_eq(match(rs, 1, 11, "kcat", 1, orders, 1, NULL), -1);      /* fetch */
	ck_assert_int_eq(match(rs, 22, 4, "kcat", 0, NULL, 0, NULL), -1);        /* initproducerid */
	kafka_rules_free(rs);
}
END_TEST

START_TEST(consume_role_allows_group_requests_without_topics)
{
	struct kafka_rules *rs = compile("[{\"role\":\"consume\",\"topic\":\"orders\"}]");
	const char *orders[] = { "orders" };
	static const int keys[] = { 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 18 };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		int topic_key = kafka_key_names_topics((int16_t)keys[i]);

		ck_assert_msg(match(rs, keys[i], 0, "c", topic_key, orders, topic_key ? 1 : 0,
				    NULL) == 0, "key %d", keys[i]);
	}
	ck_assert_int_eq(match(rs, 0, 7, "c", 1, orders, 1, NULL), -1); /* no produce */
	ck_assert_int_eq(match(rs, 68, 0, "c", 0, NULL, 0, NULL), -1);  /* not in Cilium's set */
	kafka_rules_free(rs);
}
END_TEST

START_TEST(every_topic_of_a_request_must_be_covered)
{
	struct kafka_rules *rs = compile("[{\"apiKey\":\"fetch\",\"topic\":\"a\"},"
					 "{\"apiKey\":\"fetch\",\"topic\":\"b\"}]");
	const char *ab[] = { "a", "b" }, *ac[] = { "a", "c" }, *ba[] = { "b", "a", "b" };
	int by[3];

	ck_assert_int_eq(match(rs, 1, 11, "c", 1, ab, 2, by), 0);
	ck_assert_int_eq(by[0], 0);
	ck_assert_int_eq(by[1], 1);
	/* first topic's rule attributes the request */
	ck_assert_int_eq(match(rs, 1, 11, "c", 1, ba, 3, by), 1);
	ck_assert_int_eq(by[2], 1);
	ck_assert_int_eq(match(rs, 1, 11, "c", 1, ac, 2, by), -1);
	ck_assert_int_eq(by[0], 0);
	ck_assert_int_eq(by[1], -1);
	kafka_rules_free(rs);
}
END_TEST

START_TEST(a_topic_rule_never_allows_a_request_without_topics)
{
	struct kafka_rules *rs = compile("[{\"role\":\"produce\",\"topic\":\"orders\"}]");
	struct kafka_rules *open = compile("[{\"role\":\"produce\"}]");

	/* Metadata for all topics (or none): a topic key naming no topic */
	ck_assert_int_eq(match(rs, 3, 4, "c", 1, NULL, 0, NULL), -1);
	ck_assert_int_eq(match(open, 3, 4, "c", 1, NULL, 0, NULL), 0);
	kafka_rules_free(rs);
	kafka_rules_free(open);
}
END_TEST

START_TEST(an_unknown_topic_id_is_not_covered)
{
	struct kafka_rules *rs = compile("[{\"apiKey\":\"fetch\",\"topic\":\"a\"}]");
	struct kafka_rules *any = compile("[{\"apiKey\":\"fetch\"}]");
	const char *t[] = { "a", NULL };

	ck_assert_int_eq(match(rs, 1, 13, "c", 1, t, 2, NULL), -1);
	ck_assert_int_eq(match(any, 1, 13, "c", 1, t, 2, NULL), 0);
	kafka_rules_free(rs);
	kafka_rules_free(any);
}
END_TEST

START_TEST(version_and_client_id_match_exactly)
{
	struct kafka_rules *rs = compile("[{\"apiKey\":\"produce\",\"apiVersion\":\"7\","
					 "\"clientID\":\"billing\"}]");
	const char *t[] = { "x" };

	ck_assert_int_eq(match(rs, 0, 7, "billing", 1, t, 1, NULL), 0);
	ck_assert_int_eq(match(rs, 0, 9, "billing", 1, t, 1, NULL), -1);
	ck_assert_int_eq(match(rs, 0, 7, "billing-2", 1, t, 1, NULL), -1);
	ck_assert_int_eq(match(rs, 0, 7, "billin", 1, t, 1, NULL), -1);
	ck_assert_int_eq(match(rs, 0, 7, NULL, 1, t, 1, NULL), -1);
	kafka_rules_free(rs);
}
END_TEST

START_TEST(rules_are_ored_and_an_empty_rule_allows_all)
{
	struct kafka_rules *rs = compile("[{\"apiKey\":\"produce\",\"topic\":\"a\"},{}]");
	const char *t[] = { "z" };

	ck_assert_int_eq(match(rs, 0, 7, "c", 1, t, 1, NULL), 1);
	ck_assert_int_eq(match(rs, 42, 2, "c", 0, NULL, 0, NULL), 1);
	kafka_rules_free(rs);
	rs = compile("[]");
	ck_assert_int_eq(match(rs, 18, 3, "c", 0, NULL, 0, NULL), -1);
	kafka_rules_free(rs);
}
END_TEST

START_TEST(keys_past_cilium_table_by_kafka_name)
{
	struct kafka_rules *rs = compile("[{\"apiKey\":\"ConsumerGroupHeartbeat\"},"
					 "{\"apiKey\":\"initproducerid\"}]");

	ck_assert_int_eq(match(rs, 68, 1, "c", 0, NULL, 0, NULL), 0);
	ck_assert_int_eq(match(rs, 22, 4, "c", 0, NULL, 0, NULL), 1);
	kafka_rules_free(rs);
}
END_TEST

START_TEST(bad_rules_are_refused_naming_entry_and_field)
{
	ck_assert_str_eq(refused("[{},{\"role\":\"admin\"}]"),
			 "kafka[1].role: must be produce or consume");
	ck_assert_str_eq(refused("[{\"role\":\"produce\",\"apiKey\":\"fetch\"}]"),
			 "kafka[0].role: cannot be combined with apiKey");
	ck_assert(strstr(refused("[{\"apiKey\":\"listoffsets\"}]"),
			 "kafka[0].apiKey: unknown API key 'listoffsets'") != NULL);
	ck_assert_str_eq(refused("[{\"apiVersion\":\"seven\"}]"),
			 "kafka[0].apiVersion: must be a decimal number from 0 to 32767");
	ck_assert_str_eq(refused("[{\"apiVersion\":\"70000\"}]"),
			 "kafka[0].apiVersion: must be a decimal number from 0 to 32767");
	ck_assert_str_eq(refused("[{\"topic\":\"a b\"}]"),
			 "kafka[0].topic: may hold only letters, digits, '.', '_' and '-'");
	ck_assert_str_eq(refused("[{\"clientID\":\"x/y\"}]"),
			 "kafka[0].clientID: may hold only letters, digits, '.', '_' and '-'");
	ck_assert_str_eq(refused("[{\"topics\":\"a\"}]"),
			 "kafka[0].topics: unknown field (role, apiKey, apiVersion, clientID, topic)");
	ck_assert_str_eq(refused("[{\"topic\":7}]"), "kafka[0].topic: must be a string");
	ck_assert_str_eq(refused("{}"), "kafka: must be a list of rules");
	{
		char long_topic[300];

		memset(long_topic, 'a', sizeof(long_topic));
		snprintf(long_topic, sizeof(long_topic), "[{\"topic\":\"%0256d\"}]", 0);
		ck_assert_str_eq(refused(long_topic), "kafka[0].topic: longer than 255 characters");
	}
}
END_TEST

static Suite *
kafka_rules_suite(void)
{
	Suite *s = suite_create("kafka_rules");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, produce_role_allows_cilium_set_only);
	tcase_add_test(tc, consume_role_allows_group_requests_without_topics);
	tcase_add_test(tc, every_topic_of_a_request_must_be_covered);
	tcase_add_test(tc, a_topic_rule_never_allows_a_request_without_topics);
	tcase_add_test(tc, an_unknown_topic_id_is_not_covered);
	tcase_add_test(tc, version_and_client_id_match_exactly);
	tcase_add_test(tc, rules_are_ored_and_an_empty_rule_allows_all);
	tcase_add_test(tc, keys_past_cilium_table_by_kafka_name);
	tcase_add_test(tc, bad_rules_are_refused_naming_entry_and_field);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(kafka_rules_suite());
	char err[256];
	int failed;

	if (kafka_schema_init(err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	kafka_schema_fini();
	return failed ? 1 : 0;
}
