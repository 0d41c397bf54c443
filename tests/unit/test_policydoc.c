/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_policydoc.c - the policy document reader: YAML scalar
 * typing (quoted stays a string), multi-document streams, kubectl Lists,
 * JSON input, and errors that name the source, line and column.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "core/policy/policydoc.h"

static struct bw_policydoc_set set;
static char err[512];
static int rc;

static void
rd(const char *text)
{
	bw_policydoc_set_free(&set);
	err[0] = '\0';
	rc = bw_policydoc_read(text, strlen(text), "policies.yaml", &set, err,
			       sizeof(err));
}

static void
teardown(void)
{
	bw_policydoc_set_free(&set);
}

/* Read a one-document input and return its JSON text. */
static const char *
one(const char *text)
{
	rd(text);
	ck_assert_msg(rc == 0, "read failed: %s", err);
	ck_assert_uint_eq(set.count, 1);
	return set.docs[0].json;
}

START_TEST(plain_scalars_are_typed_by_the_core_schema)
{
	ck_assert_str_eq(one("a: 1\nb: -5\nc: +12\nd: 0x1F\ne: 0o17\nf: 012\n"),
			 "{\"a\":1,\"b\":-5,\"c\":12,\"d\":31,\"e\":15,\"f\":12}");
	ck_assert_str_eq(one("a: 1.5\nb: 1e3\nc: .5\n"),
			 "{\"a\":1.5,\"b\":1000.0,\"c\":0.5}");
	ck_assert_str_eq(one("a: true\nb: False\nc: TRUE\n"),
			 "{\"a\":true,\"b\":false,\"c\":true}");
	ck_assert_str_eq(one("a: ~\nb:\nc: null\nd: NULL\n"),
			 "{\"a\":null,\"b\":null,\"c\":null,\"d\":null}");
	/* YAML 1.1 booleans and other lookalikes are strings in 1.2. */
	ck_assert_str_eq(one("a: yes\nb: on\nc: 1_000\nd: 1.2.3\ne: 10.0.0.0/8\n"),
			 "{\"a\":\"yes\",\"b\":\"on\",\"c\":\"1_000\",\"d\":\"1.2.3\",\"e\":\"10.0.0.0/8\"}");
}
END_TEST

START_TEST(quoted_scalars_stay_strings)
{
	ck_assert_str_eq(one("port: \"80\"\n"), "{\"port\":\"80\"}");
	ck_assert_str_eq(one("port: '80'\n"), "{\"port\":\"80\"}");
	ck_assert_str_eq(one("port: 80\n"), "{\"port\":80}");
	ck_assert_str_eq(one("a: \"true\"\nb: 'null'\nc: \"\"\n"),
			 "{\"a\":\"true\",\"b\":\"null\",\"c\":\"\"}");
	ck_assert_str_eq(one("a: |\n  80\n"), "{\"a\":\"80\\n\"}");
	/* Keys are always strings, whatever they look like. */
	ck_assert_str_eq(one("80: x\ntrue: y\n"), "{\"80\":\"x\",\"true\":\"y\"}");
}
END_TEST

START_TEST(core_tags_are_honoured)
{
	ck_assert_str_eq(one("a: !!str 80\nb: !!int \"80\"\nc: !!float 3\nd: !!bool \"true\"\n"),
			 "{\"a\":\"80\",\"b\":80,\"c\":3.0,\"d\":true}");
	rd("a: !!int x\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err, "policies.yaml:1:4: \"x\" is not a valid !!int");
	rd("a: !custom x\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err, "policies.yaml:1:4: unsupported tag !custom");
}
END_TEST

START_TEST(values_json_cannot_hold_are_refused)
{
	rd("a: 1\nb: .inf\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err, "policies.yaml:2:4: .inf cannot be represented in JSON");
	rd("a: 99999999999999999999\n");
	ck_assert_str_eq(err, "policies.yaml:1:4: integer 99999999999999999999 is out of range");
}
END_TEST

START_TEST(multi_document_stream_keeps_index_and_line)
{
	rd("---\n# nothing here\n---\nkind: A\nx: 1\n---\n\n---\n~\n---\n\nkind: B\n...\n");
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(set.count, 2);
	ck_assert_str_eq(set.docs[0].json, "{\"kind\":\"A\",\"x\":1}");
	ck_assert_uint_eq(set.docs[0].index, 1);
	ck_assert_int_eq(set.docs[0].item, -1);
	ck_assert_uint_eq(set.docs[0].line, 4);
	ck_assert_uint_eq(set.docs[0].column, 1);
	ck_assert_str_eq(set.docs[1].json, "{\"kind\":\"B\"}");
	ck_assert_uint_eq(set.docs[1].index, 4);
	ck_assert_uint_eq(set.docs[1].line, 12);
	ck_assert_uint_eq(set.docs[1].json_len, strlen(set.docs[1].json));
}
END_TEST

START_TEST(empty_input_gives_no_documents)
{
	rd("");
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(set.count, 0);
	rd("# just a comment\n");
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(set.count, 0);
	rd("  \n\n");
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(set.count, 0);
}
END_TEST

START_TEST(kubectl_list_is_expanded)
{
	rd("apiVersion: v1\nkind: List\nitems:\n- apiVersion: a/v1\n  kind: A\n  metadata: {name: x}\n-  apiVersion: b/v1\n   kind: B\n");
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(set.count, 2);
	ck_assert_str_eq(set.docs[0].json,
			 "{\"apiVersion\":\"a/v1\",\"kind\":\"A\",\"metadata\":{\"name\":\"x\"}}");
	ck_assert_int_eq(set.docs[0].item, 0);
	ck_assert_uint_eq(set.docs[0].line, 4);
	ck_assert_uint_eq(set.docs[0].column, 3);
	ck_assert_str_eq(set.docs[1].json, "{\"apiVersion\":\"b/v1\",\"kind\":\"B\"}");
	ck_assert_int_eq(set.docs[1].item, 1);
	ck_assert_uint_eq(set.docs[1].line, 7);
	ck_assert_uint_eq(set.docs[1].column, 4);
	ck_assert_uint_eq(set.docs[1].index, 0);
}
END_TEST

START_TEST(typed_list_items_inherit_kind_and_api_version)
{
	rd("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicyList\nmetadata: {}\nitems:\n  - metadata: {name: x}\n  - kind: Other\n    metadata: {name: y}\n");
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(set.count, 2);
	ck_assert_str_eq(set.docs[0].json,
			 "{\"metadata\":{\"name\":\"x\"},\"kind\":\"NetworkPolicy\",\"apiVersion\":\"networking.k8s.io/v1\"}");
	ck_assert_str_eq(set.docs[1].json,
			 "{\"kind\":\"Other\",\"metadata\":{\"name\":\"y\"}}");
	ck_assert_uint_eq(set.docs[1].line, 6);
}
END_TEST

START_TEST(empty_list_gives_no_documents)
{
	rd("apiVersion: v1\nkind: List\nitems: []\n");
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(set.count, 0);
	rd("apiVersion: v1\nkind: List\nitems: 3\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err, "policies.yaml:1:1: items: a List must hold a sequence");
}
END_TEST

START_TEST(top_level_sequence_is_a_list_of_documents)
{
	rd("- kind: A\n- kind: B\n");
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(set.count, 2);
	ck_assert_str_eq(set.docs[1].json, "{\"kind\":\"B\"}");
	ck_assert_uint_eq(set.docs[1].line, 2);
	rd("- kind: A\n- 3\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err, "policies.yaml:2:3: a policy document must be a mapping, not a scalar");
}
END_TEST

START_TEST(json_input_keeps_exact_numbers)
{
	rd("{\"a\": 9007199254740993, \"b\": \"80\", \"c\": 80}");
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(set.count, 1);
	ck_assert_str_eq(set.docs[0].json,
			 "{\"a\":9007199254740993,\"b\":\"80\",\"c\":80}");
}
END_TEST

START_TEST(json_stream_and_array)
{
	rd("{\"kind\": \"A\"}\n\n  {\"kind\": \"B\"}\n[{\"kind\": \"C\"}, {\"kind\": \"D\"}]\n");
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(set.count, 4);
	ck_assert_uint_eq(set.docs[0].line, 1);
	ck_assert_uint_eq(set.docs[1].line, 3);
	ck_assert_uint_eq(set.docs[1].column, 3);
	ck_assert_uint_eq(set.docs[1].index, 1);
	ck_assert_str_eq(set.docs[3].json, "{\"kind\":\"D\"}");
	ck_assert_uint_eq(set.docs[3].index, 2);
	ck_assert_int_eq(set.docs[3].item, -1);
	/* Array elements are located too, although jansson keeps no positions. */
	ck_assert_uint_eq(set.docs[2].line, 4);
	ck_assert_uint_eq(set.docs[2].column, 2);
	ck_assert_uint_eq(set.docs[3].line, 4);
	ck_assert_uint_eq(set.docs[3].column, 17);
	rd("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{\"kind\":\"A\"},{\"kind\":\"B\"}]}");
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(set.count, 2);
	ck_assert_int_eq(set.docs[1].item, 1);
	ck_assert_uint_eq(set.docs[1].column, 56);
	/* List items in JSON, with a decoy "items" deeper and a tricky string. */
	rd("{\n \"kind\": \"List\",\n \"x\": {\"items\": [1]},\n \"items\": [\n   {\"kind\": \"A\", \"s\": \"a\\\"],{\"},\n   {\"kind\": \"B\"}\n ]\n}\n");
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(set.count, 2);
	ck_assert_str_eq(set.docs[0].json, "{\"kind\":\"A\",\"s\":\"a\\\"],{\"}");
	ck_assert_uint_eq(set.docs[0].line, 5);
	ck_assert_uint_eq(set.docs[0].column, 4);
	ck_assert_uint_eq(set.docs[1].line, 6);
	ck_assert_uint_eq(set.docs[1].column, 4);
}
END_TEST

START_TEST(json_errors_name_line_and_column)
{
	rd("{\"a\": 1,\n \"b\": }");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err, "policies.yaml:2:7: unexpected token near '}'");
	rd("{\"a\": 1, \"a\": 2}");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err, "policies.yaml:1:12: duplicate object key near '\"a\"'");
	rd("{\"a\": 1}\nkind: x\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err, "policies.yaml:2:1: expected '{' or '[' to start the next JSON document");
	/* What was read before the error is kept (and freed by the caller). */
	ck_assert_uint_eq(set.count, 1);
}
END_TEST

START_TEST(yaml_syntax_errors_name_line_and_column)
{
	rd("kind: A\nspec:\n  podSelector: x: y\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err, "policies.yaml:3:17: mapping values are not allowed in this context");
	rd("a: [1, 2\nb: 3\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err, "policies.yaml:2:2: did not find expected ',' or ']' (while parsing a flow sequence at line 1, column 4)");
	rd("a:\n\tb: 1\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "policies.yaml:2:1: "));
}
END_TEST

START_TEST(unreadable_bytes_and_nul_are_placed_where_they_are)
{
	static const char bad_utf8[] = "kind: A\nspec:\n  a: 1\n  b: \"x\xff\"\n";
	static const char nul_after_doc[] = "kind: A\n---\nkind: B\nx: 1\0\n";

	/* invalid UTF-8 on line 4, a NUL on line 4 after document 1: said
	 * there, not at 1:1 */
	bw_policydoc_set_free(&set);
	rc = bw_policydoc_read(bad_utf8, sizeof(bad_utf8) - 1, "policies.yaml",
			       &set, err, sizeof(err));
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err, "policies.yaml:4:8: invalid leading UTF-8 octet (byte 0xff)");
	bw_policydoc_set_free(&set);
	rc = bw_policydoc_read(nul_after_doc, sizeof(nul_after_doc) - 1,
			       "policies.yaml", &set, err, sizeof(err));
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err, "policies.yaml:4:5: control characters are not allowed (byte 0x00)");
	/* a NUL written as an escape in a name is refused where it is, not
	 * mistaken for a document without apiVersion and kind */
	rd("apiVersion: v1\nkind: A\nmetadata:\n  name: \"a\\0b\"\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err, "policies.yaml:4:9: a string may not contain NUL (\\0)");
}
END_TEST

START_TEST(duplicate_keys_are_refused)
{
	rd("kind: A\nspec:\n  ingress: []\n  ingress: []\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err, "policies.yaml:4:3: duplicate key \"ingress\"");
}
END_TEST

START_TEST(documents_must_be_mappings)
{
	rd("just a scalar\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err, "policies.yaml:1:1: a policy document must be a mapping, not a scalar");
	rd("? [a]\n: 1\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err, "policies.yaml:1:3: a mapping key must be a scalar, not a mapping or sequence");
}
END_TEST

START_TEST(aliases_expand_within_a_budget)
{
	char *big;
	size_t n = 0;

	ck_assert_str_eq(one("x: &a [1, 2]\ny: *a\nz: &k key\n*k : 3\n"),
			 "{\"x\":[1,2],\"y\":[1,2],\"z\":\"key\",\"key\":3}");
	rd("a: *nope\n");
	ck_assert_str_eq(err, "policies.yaml:1:4: unknown anchor \"nope\"");
	rd("<<: {a: 1}\n");
	ck_assert_str_eq(err, "policies.yaml:1:1: merge keys (<<) are not supported");

	/* "Billion laughs": ten levels of ten aliases each. */
	big = malloc(8192);
	ck_assert_ptr_nonnull(big);
	n += sprintf(big + n, "a: &a [x,x,x,x,x,x,x,x,x,x]\n");
	for (char c = 'b'; c <= 'k'; c++) {
		n += sprintf(big + n, "%c: &%c [", c, c);
		for (int i = 0; i < 10; i++)
			n += sprintf(big + n, "%s*%c", i ? "," : "", c - 1);
		n += sprintf(big + n, "]\n");
	}
	rd(big);
	free(big);
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "aliases expand to more than 100000 nodes"));
}
END_TEST

START_TEST(nesting_is_limited)
{
	char buf[512];
	int i, n = 0;

	n += sprintf(buf + n, "a: ");
	for (i = 0; i < 100; i++)
		buf[n++] = '[';
	for (i = 0; i < 100; i++)
		buf[n++] = ']';
	buf[n] = '\0';
	rd(buf);
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err, "policies.yaml:1:67: nesting deeper than 64 levels");
}
END_TEST

START_TEST(input_need_not_be_nul_terminated)
{
	const char text[] = { 'a', ':', ' ', '1', '\n', 'b', ':', ' ', '2' };

	bw_policydoc_set_free(&set);
	rc = bw_policydoc_read(text, 4, "x", &set, err, sizeof(err));
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(set.docs[0].json, "{\"a\":1}");
}
END_TEST

START_TEST(kind_helper)
{
	char av[64], kind[8];

	ck_assert_int_eq(bw_policydoc_kind("{\"apiVersion\":\"cilium.io/v2\",\"kind\":\"Foo\"}",
					   av, sizeof(av), kind, sizeof(kind)), 0);
	ck_assert_str_eq(av, "cilium.io/v2");
	ck_assert_str_eq(kind, "Foo");
	ck_assert_int_eq(bw_policydoc_kind("{\"kind\":\"Foo\"}", av, sizeof(av),
					   kind, sizeof(kind)), -ENOENT);
	ck_assert_str_eq(av, "");
	ck_assert_str_eq(kind, "Foo");
	ck_assert_int_eq(bw_policydoc_kind("{\"apiVersion\":\"v1\",\"kind\":\"NetworkPolicy\"}",
					   av, sizeof(av), kind, sizeof(kind)),
			 -ENAMETOOLONG);
	ck_assert_str_eq(kind, "Network");
	ck_assert_int_eq(bw_policydoc_kind("[1]", av, sizeof(av), kind,
					   sizeof(kind)), -EINVAL);
}
END_TEST

START_TEST(every_test_data_file_reads)
{
	static const char *const files[] = {
		"k8s-multi.yaml", "cilium-examples.yaml", "list.json",
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[1024], *buf;
		size_t len;
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", BW_TEST_POLICY_DATA, files[i]);
		f = fopen(path, "rb");
		ck_assert_msg(f != NULL, "cannot open %s", path);
		buf = malloc(1 << 20);
		len = fread(buf, 1, 1 << 20, f);
		fclose(f);
		bw_policydoc_set_free(&set);
		rc = bw_policydoc_read(buf, len, files[i], &set, err, sizeof(err));
		free(buf);
		ck_assert_msg(rc == 0, "%s: %s", files[i], err);
		ck_assert_uint_gt(set.count, 0);
	}
}
END_TEST

static Suite *
policydoc_suite(void)
{
	Suite *s = suite_create("policydoc");
	TCase *tc = tcase_create("read");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, plain_scalars_are_typed_by_the_core_schema);
	tcase_add_test(tc, quoted_scalars_stay_strings);
	tcase_add_test(tc, core_tags_are_honoured);
	tcase_add_test(tc, values_json_cannot_hold_are_refused);
	tcase_add_test(tc, multi_document_stream_keeps_index_and_line);
	tcase_add_test(tc, empty_input_gives_no_documents);
	tcase_add_test(tc, kubectl_list_is_expanded);
	tcase_add_test(tc, typed_list_items_inherit_kind_and_api_version);
	tcase_add_test(tc, empty_list_gives_no_documents);
	tcase_add_test(tc, top_level_sequence_is_a_list_of_documents);
	tcase_add_test(tc, json_input_keeps_exact_numbers);
	tcase_add_test(tc, json_stream_and_array);
	tcase_add_test(tc, json_errors_name_line_and_column);
	tcase_add_test(tc, yaml_syntax_errors_name_line_and_column);
	tcase_add_test(tc, duplicate_keys_are_refused);
	tcase_add_test(tc, documents_must_be_mappings);
	tcase_add_test(tc, aliases_expand_within_a_budget);
	tcase_add_test(tc, nesting_is_limited);
	tcase_add_test(tc, input_need_not_be_nul_terminated);
	tcase_add_test(tc, kind_helper);
	tcase_add_test(tc, unreadable_bytes_and_nul_are_placed_where_they_are);
	tcase_add_test(tc, every_test_data_file_reads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(policydoc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
