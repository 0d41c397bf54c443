/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_kafka_proto.c - modules/kafka's wire layer against
 * vectors built from Apache Kafka's JSON message definitions
 * (tests/unit/data/kafka_vectors.txt, written by tests/unit/kafka_vectors.py
 * from apache/kafka@1eb7644349cb for Kafka 3.x versions and the Kafka 4.3
 * definitions copied in dpkp/kafka-python@a3b3836ff3a4). For every API key
 * and version the module describes:
 *
 *   - a request as a client encodes it is read: header, every topic name
 *     and ID, partitions, groups, acks, fetch session, and every unknown
 *     tagged field skipped;
 *   - read from every prefix of its bytes, it never claims to know all its
 *     topics before it does, and never reads past the bytes given;
 *   - the refusal written for it is byte for byte the broker's encoding of
 *     that response with error 29 on every topic and partition;
 *   - a broker's response is read: per-topic errors, topic IDs, the fetch
 *     session id.
 *
 * Plus hand-written cases for what the vectors do not cover: headers,
 * malformed input, ApiVersions capping, UUID text.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_proto.h"

#ifndef KAFKA_VECTORS
#error KAFKA_VECTORS must name tests/unit/data/kafka_vectors.txt
#endif

static uint8_t *
unhex(const char *h, size_t *len)
{
	size_t n = strlen(h) / 2;
	uint8_t *b = malloc(n ? n : 1);

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		sscanf(h + 2 * i, "%2x", &v);
		b[i] = (uint8_t)v;
	}
	*len = n;
	return b;
}

static int
topics_equal(const struct kafka_msg *m, const struct kafka_msg *full)
{
	if (m->n_entries < full->n_entries)
		return 0;
	for (uint32_t i = 0; i < full->n_entries; i++) {
		const struct kafka_entry *a = &m->entries[i], *b = &full->entries[i];

		if (a->has_id != b->has_id || (a->has_id && memcmp(a->id, b->id, 16)))
			return 0;
		if ((a->name == NULL) != (b->name == NULL) || a->name_len != b->name_len ||
		    (a->name && memcmp(a->name, b->name, a->name_len)))
			return 0;
	}
	return 1;
}

/* The expectations of a "req" line: entries=name/idhex/parts/forgotten/grp/rtype/topic,... */
static void
check_entries(const struct kafka_msg *m, const char *spec, const char *what)
{
	char buf[4096], *save = NULL, *tok;
	uint32_t i = 0;

	snprintf(buf, sizeof(buf), "%s", spec);
	if (strcmp(buf, "-") == 0) {
		ck_assert_msg(m->n_entries == 0, "%s: %u entries, none expected", what,
			      m->n_entries);
		return;
	}
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save), i++) {
		char name[256], id[64], parts[256];
		int forgotten, grp, rtype, topic;
		const struct kafka_entry *e;
		char got[256] = "";

		ck_assert_msg(sscanf(tok, "%255[^/]/%63[^/]/%255[^/]/%d/%d/%d/%d", name, id,
				     parts, &forgotten, &grp, &rtype, &topic) == 7, "%s", tok);
		ck_assert_msg(i < m->n_entries, "%s: entry %u (%s) missing", what, i, tok);
		e = &m->entries[i];
		if (strcmp(name, "-") == 0)
			ck_assert_msg(e->name == NULL, "%s: entry %u has a name", what, i);
		else
			ck_assert_msg(e->name != NULL && e->name_len == strlen(name) &&
				      !memcmp(e->name, name, e->name_len),
				      "%s: entry %u name, want %s", what, i, name);
		if (strcmp(id, "-") == 0) {
			ck_assert_msg(!e->has_id, "%s: entry %u has an id", what, i);
		} else {
			char hex[33];

			for (int k = 0; k < 16; k++)
				snprintf(hex + 2 * k, 3, "%02x", e->id[k]);
			ck_assert_msg(e->has_id && !strcmp(hex, id), "%s: entry %u id %s, want %s",
				      what, i, hex, id);
		}
		for (uint32_t k = 0; k < e->n_parts; k++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%d",
				 k ? ":" : "", m->parts[e->part0 + k]);
		if (e->n_parts == 0)
			strcpy(got, "-");
		ck_assert_msg(!strcmp(got, parts), "%s: entry %u parts %s, want %s", what, i,
			      got, parts);
		ck_assert_msg(e->forgotten == forgotten, "%s: entry %u forgotten", what, i);
		ck_assert_msg(e->grp == grp, "%s: entry %u group %u, want %d", what, i, e->grp, grp);
		ck_assert_msg(e->rtype == rtype, "%s: entry %u rtype", what, i);
		ck_assert_msg(e->is_topic == topic, "%s: entry %u is_topic", what, i);
	}
	ck_assert_msg(i == m->n_entries, "%s: %u entries, want %u", what, m->n_entries, i);
}

static void
check_keys(const struct kafka_msg *m, const char *spec, const char *what)
{
	char buf[1024], *save = NULL, *tok;
	uint32_t i = 0;

	snprintf(buf, sizeof(buf), "%s", spec);
	if (strcmp(buf, "-") == 0) {
		ck_assert_msg(m->n_keys == 0, "%s: keys", what);
		return;
	}
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save), i++) {
		ck_assert_msg(i < m->n_keys, "%s: key %u missing", what, i);
		ck_assert_msg(!m->keys[i].null && m->keys[i].len == strlen(tok) &&
			      !memcmp(m->keys[i].s, tok, m->keys[i].len), "%s: key %u", what, i);
	}
	ck_assert_msg(i == m->n_keys, "%s: %u keys, want %u", what, m->n_keys, i);
}

static const char *
field(const char *line, const char *name)
{
	const char *p = strstr(line, name);

	ck_assert_msg(p != NULL, "no %s in vector", name);
	return p + strlen(name);
}

static char *
word(const char *p)
{
	size_t n = strcspn(p, " \n");
	char *s = malloc(n + 1);

	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void
free_last(struct kafka_msg *last)
{
	for (uint32_t i = 0; i < last->n_entries; i++)
		free((char *)last->entries[i].resolved);
	for (uint32_t i = 0; i < last->n_keys; i++)
		if (!last->keys[i].null)
			free((char *)last->keys[i].s);
	kafka_msg_free(last);
}

static unsigned n_req, n_deny, n_rsp, n_prefix;

static void
run_req(char *line, struct kafka_msg *last)
{
	int key, ver;
	char hex[1 << 16];
	size_t len;
	uint8_t *b;
	struct kafka_msg m = { 0 }, p = { 0 };
	char what[64], *s;
	int rc;

	ck_assert(sscanf(line, "req %d %d %65535s", &key, &ver, hex) == 3);
	snprintf(what, sizeof(what), "request %d v%d", key, ver);
	b = unhex(hex, &len);
	rc = kafka_decode_request(b, len, &m);
	ck_assert_msg(rc == KAFKA_OK, "%s: rc %d", what, rc);
	ck_assert_msg(m.known && m.complete, "%s: not read whole", what);
	ck_assert_int_eq(m.api_key, key);
	ck_assert_int_eq(m.api_version, ver);
	ck_assert_int_eq(m.correlation_id, 0x01020304);
	ck_assert_msg(m.client_id != NULL && m.client_id_len == 4 &&
		      !memcmp(m.client_id, "kcat", 4), "%s: client id", what);
	s = word(field(line, "entries="));
	check_entries(&m, s, what);
	free(s);
	s = word(field(line, "keys="));
	check_keys(&m, s, what);
	free(s);
	ck_assert_msg(m.acks == atoi(field(line, "acks=")), "%s: acks %d", what, m.acks);
	ck_assert_msg(m.session_id == atoi(field(line, "sess=")), "%s: session", what);
	ck_assert_msg(m.session_epoch == atoi(field(line, "epoch=")), "%s: epoch", what);
	ck_assert_msg(m.keytype == atoi(field(line, "keytype=")), "%s: keytype", what);
	ck_assert_msg(m.txnid == atoi(field(line, "txnid=")), "%s: txnid", what);
	ck_assert_msg(m.regex == atoi(field(line, "regex=")), "%s: regex", what);

	/* every prefix: no read past it, and "complete" only when it is */
	for (size_t k = 0; k < len; k++) {
		uint8_t *cut = malloc(k ? k : 1);

		memcpy(cut, b, k);
		rc = kafka_decode_request(cut, k, &p);
		ck_assert_msg(rc == KAFKA_OK || rc == KAFKA_SHORT, "%s: prefix %zu rc %d",
			      what, k, rc);
		if (rc == KAFKA_OK && p.complete) {
			ck_assert_msg(topics_equal(&p, &m),
				      "%s: prefix %zu of %zu claims all topics", what, k, len);
			n_prefix++;
		}
		free(cut);
	}
	kafka_msg_free(&p);
	free_last(last);
	/* kept for the "deny" line that follows; its names point into b */
	*last = m;
	last->client_id = NULL;
	for (uint32_t i = 0; i < last->n_entries; i++) {
		if (last->entries[i].name != NULL) {
			char *copy = strndup((const char *)last->entries[i].name,
					     last->entries[i].name_len);

			last->entries[i].name = NULL;
			last->entries[i].resolved = copy;
		}
	}
	for (uint32_t i = 0; i < last->n_keys; i++)
		if (!last->keys[i].null)
			last->keys[i].s = (const uint8_t *)strndup((const char *)last->keys[i].s,
								   last->keys[i].len);
	free(b);
	n_req++;
}

static void
run_deny(const char *line, struct kafka_msg *req)
{
	int key, ver, top;
	char hex[1 << 16];
	uint8_t *want, *got;
	size_t wlen, glen;
	int rc;

	ck_assert(sscanf(line, "deny %d %d %d %65535s", &key, &ver, &top, hex) == 4);
	ck_assert(req->api_key == key && req->api_version == ver);
	want = unhex(hex, &wlen);
	for (uint32_t i = 0; i < req->n_entries; i++)
		req->entries[i].err = KAFKA_ERR_TOPIC_AUTH;
	rc = kafka_encode_refusal(req, (int16_t)top, NULL, &got, &glen);
	ck_assert_msg(rc == 0, "refusal %d v%d: rc %d", key, ver, rc);
	if (glen != wlen || memcmp(got, want, wlen) != 0) {
		size_t k = 0;

		while (k < glen && k < wlen && got[k] == want[k])
			k++;
		ck_abort_msg("refusal %d v%d: %zu bytes, want %zu; first difference at %zu",
			     key, ver, glen, wlen, k);
	}
	free(got);
	free(want);
	n_deny++;
}

static void
run_rsp(const char *line)
{
	int key, ver;
	char hex[1 << 16], buf[1024], *save = NULL, *tok, *spec;
	struct kafka_msg m = { 0 };
	uint8_t *b;
	size_t len;
	uint32_t i = 0;
	int rc;

	ck_assert(sscanf(line, "rsp %d %d %65535s", &key, &ver, hex) == 3);
	b = unhex(hex, &len);
	rc = kafka_decode_response(b, len, (int16_t)key, (int16_t)ver, &m);
	ck_assert_msg(rc == KAFKA_OK && m.complete, "response %d v%d: rc %d", key, ver, rc);
	ck_assert_int_eq(m.correlation_id, 0x0a0b0c0d);
	ck_assert_msg(m.session_id == atoi(field(line, "sess=")), "response %d v%d: session",
		      key, ver);
	spec = word(field(line, "entries="));
	snprintf(buf, sizeof(buf), "%s", spec);
	free(spec);
	if (strcmp(buf, "-") != 0) {
		for (tok = strtok_r(buf, ",", &save); tok != NULL;
		     tok = strtok_r(NULL, ",", &save), i++) {
			char name[256], id[64];
			int err;
			const struct kafka_entry *e;

			ck_assert(sscanf(tok, "%255[^/]/%63[^/]/%d", name, id, &err) == 3);
			ck_assert_msg(i < m.n_entries, "response %d v%d: entry %u missing", key, ver, i);
			e = &m.entries[i];
			if (strcmp(name, "-") != 0)
				ck_assert_msg(e->name && e->name_len == strlen(name) &&
					      !memcmp(e->name, name, e->name_len),
					      "response %d v%d: entry %u name", key, ver, i);
			ck_assert_msg((strcmp(id, "-") != 0) == e->has_id,
				      "response %d v%d: entry %u id", key, ver, i);
			ck_assert_msg(e->err == err, "response %d v%d: entry %u error %d, want %d",
				      key, ver, i, e->err, err);
		}
	}
	ck_assert_msg(i == m.n_entries, "response %d v%d: %u entries, want %u", key, ver,
		      m.n_entries, i);
	for (size_t k = 0; k < len; k++) {
		rc = kafka_decode_response(b, k, (int16_t)key, (int16_t)ver, &m);
		ck_assert_msg(rc == KAFKA_OK || rc == KAFKA_SHORT, "response %d v%d prefix %zu",
			      key, ver, k);
	}
	kafka_msg_free(&m);
	free(b);
	n_rsp++;
}

START_TEST(every_api_and_version_matches_the_json_definitions)
{
	FILE *f = fopen(KAFKA_VECTORS, "r");
	static char line[1 << 17];
	struct kafka_msg last = { 0 };
	unsigned n_max = 0;

	ck_assert_msg(f != NULL, "cannot open %s", KAFKA_VECTORS);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "max ", 4) == 0) {
			int key, max;
			const struct kafka_api *a;

			ck_assert(sscanf(line, "max %d %d", &key, &max) == 2);
			a = kafka_api_get((int16_t)key);
			ck_assert_msg(a != NULL && a->max_version == max,
				      "api %d: described up to v%d, Kafka has v%d", key,
				      a ? a->max_version : -1, max);
			n_max++;
		} else if (strncmp(line, "req ", 4) == 0) {
			run_req(line, &last);
		} else if (strncmp(line, "deny ", 5) == 0) {
			run_deny(line, &last);
		} else if (strncmp(line, "rsp ", 4) == 0) {
			run_rsp(line);
		}
	}
	fclose(f);
	free_last(&last);
	printf("kafka vectors: %u APIs, %u requests, %u refusals, %u responses, "
	       "%u prefixes that knew all their topics\n", n_max, n_req, n_deny, n_rsp, n_prefix);
	ck_assert_uint_gt(n_max, 40);
	ck_assert_uint_eq(n_req, n_deny);
}
END_TEST

/* A classic Produce v7 request: one topic, one partition, 1000 bytes of records. */
static size_t
produce_v7(uint8_t *b, const char *topic, size_t records)
{
	size_t n = 4, tl = strlen(topic);

	memcpy(b + n, "\x00\x00\x00\x07\x00\x00\x00\x2a\x00\x04kcat", 14); /* key 0 v7 corr 42 */
	n += 14;
	memcpy(b + n, "\xff\xff\xff\xff\x00\x00\x75\x30", 8); /* txn null, acks -1, timeout */
	n += 8;
	memcpy(b + n, "\x00\x00\x00\x01", 4);
	n += 4;
	b[n++] = (uint8_t)(tl >> 8);
	b[n++] = (uint8_t)tl;
	memcpy(b + n, topic, tl);
	n += tl;
	memcpy(b + n, "\x00\x00\x00\x01\x00\x00\x00\x00", 8); /* 1 partition: 0 */
	n += 8;
	b[n++] = (uint8_t)(records >> 24);
	b[n++] = (uint8_t)(records >> 16);
	b[n++] = (uint8_t)(records >> 8);
	b[n++] = (uint8_t)records;
	memset(b + n, 'r', records);
	n += records;
	b[0] = (uint8_t)((n - 4) >> 24);
	b[1] = (uint8_t)((n - 4) >> 16);
	b[2] = (uint8_t)((n - 4) >> 8);
	b[3] = (uint8_t)(n - 4);
	return n;
}

START_TEST(a_large_single_topic_produce_is_known_from_its_first_bytes)
{
	static uint8_t b[2000];
	struct kafka_msg m = { 0 };
	size_t n = produce_v7(b, "orders", 1000);

	/* 64 bytes: the header, acks, the topic's name, into the records */
	ck_assert_int_eq(kafka_decode_request(b, 64, &m), KAFKA_OK);
	ck_assert(m.complete);
	ck_assert_uint_eq(m.n_entries, 1);
	ck_assert(m.entries[0].name_len == 6 && !memcmp(m.entries[0].name, "orders", 6));
	ck_assert_int_eq(m.acks, -1);
	/* the name cut short: not known */
	ck_assert_int_eq(kafka_decode_request(b, 36, &m), KAFKA_OK);
	ck_assert(!m.complete);
	ck_assert_int_eq(kafka_decode_request(b, n, &m), KAFKA_OK);
	ck_assert(m.complete);
	kafka_msg_free(&m);
}
END_TEST

START_TEST(malformed_requests_are_refused)
{
	struct kafka_msg m = { 0 };
	static uint8_t b[2000];
	size_t n = produce_v7(b, "orders", 10);

	/* a size below the header's */
	ck_assert_int_eq(kafka_decode_request((const uint8_t *)"\x00\x00\x00\x04\x00\x00\x00\x00", 8, &m),
			 -EBADMSG);
	/* a negative size (TLS: 0x16 0x03 ...) is not Kafka */
	ck_assert_int_eq(kafka_decode_request((const uint8_t *)"\x96\x03\x01\x02\x00\x00\x00\x00", 8, &m),
			 -EBADMSG);
	/* an api key out of range */
	b[4] = 0x7f;
	ck_assert_int_eq(kafka_decode_request(b, n, &m), -EBADMSG);
	b[4] = 0;
	/* a client id longer than the frame */
	b[12] = 0x7f;
	ck_assert_int_eq(kafka_decode_request(b, n, &m), -EBADMSG);
	b[12] = 0;
	/* a topic count larger than the bytes left */
	b[26] = 0x7f;
	ck_assert_int_eq(kafka_decode_request(b, n, &m), -EBADMSG);
	b[26] = 0;
	/* a topic name running past the frame */
	b[30] = 0x7f;
	ck_assert_int_eq(kafka_decode_request(b, n, &m), -EBADMSG);
	b[30] = 0;
	ck_assert_int_eq(kafka_decode_request(b, n, &m), KAFKA_OK);
	kafka_msg_free(&m);
}
END_TEST

START_TEST(unknown_keys_and_versions_give_the_header_only)
{
	struct kafka_msg m = { 0 };
	/* key 88 (StreamsGroupHeartbeat) v0, client id "app" */
	static const uint8_t b[] = "\x00\x00\x00\x0f\x00\x58\x00\x00\x00\x00\x00\x05\x00\x03"
				   "app\x00\x00";

	ck_assert_int_eq(kafka_decode_request(b, 19, &m), KAFKA_OK);
	ck_assert_int_eq(m.api_key, 88);
	ck_assert_int_eq(m.correlation_id, 5);
	ck_assert(m.client_id_len == 3 && !memcmp(m.client_id, "app", 3));
	ck_assert(!m.known);
	ck_assert(kafka_key_names_topics(88));
	ck_assert(!kafka_key_names_topics(11));
	kafka_msg_free(&m);
}
END_TEST

START_TEST(controlled_shutdown_v0_has_no_client_id)
{
	struct kafka_msg m = { 0 };
	static const uint8_t b[] = "\x00\x00\x00\x0c\x00\x07\x00\x00\x00\x00\x00\x09\x00\x00\x00\x01";

	ck_assert_int_eq(kafka_decode_request(b, 16, &m), KAFKA_OK);
	ck_assert_int_eq(m.header_len, 12);
	ck_assert(m.client_id == NULL);
	kafka_msg_free(&m);
}
END_TEST

START_TEST(api_versions_answers_are_capped_to_what_can_be_read)
{
	/* v3 response: error 0, 2 keys: Produce 0..15, Fetch 4..12, each with
	 * an empty tagged section; throttle; tagged */
	uint8_t b[] = { 0, 0, 0, 0x1b, 0, 0, 0, 1, 0, 0, 3,
			0, 0, 0, 0, 0, 15, 0,
			0, 1, 0, 4, 0, 12, 0,
			0, 0, 0, 0, 0 };
	const struct kafka_api *a = kafka_api_get(KAFKA_PRODUCE);

	ck_assert_int_eq(sizeof(b), 4 + 0x1b - 1);
	b[3] = sizeof(b) - 4;
	ck_assert_int_eq(kafka_cap_api_versions(b, sizeof(b), 3), 1);
	ck_assert_int_eq((b[15] << 8) | b[16], a->max_version);
	ck_assert_int_eq(b[23], 12); /* Fetch untouched */
	ck_assert_int_eq(kafka_cap_api_versions(b, sizeof(b) - 1, 3), -EBADMSG);
}
END_TEST

START_TEST(names_of_api_keys_follow_cilium)
{
	char buf[16];

	ck_assert_int_eq(kafka_api_key_by_name("Produce"), 0);
	ck_assert_int_eq(kafka_api_key_by_name("offsets"), 2);
	ck_assert_int_eq(kafka_api_key_by_name("findcoordinator"), 10);
	ck_assert_int_eq(kafka_api_key_by_name("alterconfigs"), 33);
	ck_assert_int_eq(kafka_api_key_by_name("consumergroupheartbeat"), 68);
	ck_assert_int_eq(kafka_api_key_by_name("listoffsets"), -1); /* Cilium says offsets */
	ck_assert_int_eq(kafka_api_key_by_name("nosuch"), -1);
	ck_assert_str_eq(kafka_api_flow_name(2, buf, sizeof(buf)), "offsets");
	ck_assert_str_eq(kafka_api_flow_name(68, buf, sizeof(buf)), "68");
}
END_TEST

START_TEST(uuids_print_as_kafka_does)
{
	uint8_t id[16];
	char s[23];

	memset(id, 0, sizeof(id));
	kafka_uuid_text(id, s);
	ck_assert_str_eq(s, "AAAAAAAAAAAAAAAAAAAAAA");
	memset(id, 0xff, sizeof(id));
	kafka_uuid_text(id, s);
	ck_assert_str_eq(s, "_____________________w");
}
END_TEST

static Suite *
kafka_proto_suite(void)
{
	Suite *s = suite_create("kafka_proto");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, every_api_and_version_matches_the_json_definitions);
	tcase_add_test(tc, a_large_single_topic_produce_is_known_from_its_first_bytes);
	tcase_add_test(tc, malformed_requests_are_refused);
	tcase_add_test(tc, unknown_keys_and_versions_give_the_header_only);
	tcase_add_test(tc, controlled_shutdown_v0_has_no_client_id);
	tcase_add_test(tc, api_versions_answers_are_capped_to_what_can_be_read);
	tcase_add_test(tc, names_of_api_keys_follow_cilium);
	tcase_add_test(tc, uuids_print_as_kafka_does);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(kafka_proto_suite());
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
