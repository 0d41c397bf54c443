/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_kafka.c - fuzz target for modules/kafka's wire layer
 * (kafka_codec.c, kafka_schema.c) and rules (kafka_rules.c). The first
 * byte chooses what the rest is:
 *
 *   'Q' a request frame: read whole and from every 7th prefix; when read
 *       whole, the refusal written for it must read back as a complete
 *       response to the same key and version, with the same correlation
 *       id and one topic entry per topic of the request;
 *   'R' a response: two bytes of API key, two of version, then the frame;
 *       an ApiVersions body is also capped in place;
 *   '[' rules.kafka JSON, compiled and matched against a fixed request.
 *
 * Invariants (abort() otherwise): names and client ids lie inside the
 * bytes given, a prefix never claims topics the whole request lacks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_proto.h"
#include "kafka_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct kafka_msg whole, part, back;

static void
fuzz_inside(const struct kafka_msg *m, const uint8_t *buf, size_t len)
{
	if (m->client_id != NULL &&
	    (m->client_id < buf || m->client_id + m->client_id_len > buf + len))
		abort();
	for (uint32_t i = 0; i < m->n_entries; i++) {
		const struct kafka_entry *e = &m->entries[i];

		if (e->name != NULL && (e->name < buf || e->name + e->name_len > buf + len))
			abort();
		if (e->part0 + e->n_parts > m->n_parts)
			abort();
	}
}

static void
fuzz_request(const uint8_t *buf, size_t len)
{
	uint8_t *out;
	size_t olen;
	int rc = kafka_decode_request(buf, len, &whole);

	if (rc == KAFKA_OK)
		fuzz_inside(&whole, buf, len);
	for (size_t k = 0; k < len; k += 7) {
		if (kafka_decode_request(buf, k, &part) != KAFKA_OK)
			continue;
		fuzz_inside(&part, buf, k);
		/* a prefix that knows all its topics knows the whole's */
		if (rc == KAFKA_OK && whole.complete && part.complete &&
		    part.n_entries < whole.n_entries && part.known)
			abort();
	}
	if (rc != KAFKA_OK || !whole.known || !whole.complete || len < 4 + (size_t)whole.size)
		return;
	for (uint32_t i = 0; i < whole.n_entries; i++)
		whole.entries[i].err = KAFKA_ERR_TOPIC_AUTH;
	if (kafka_encode_refusal(&whole, 0, NULL, &out, &olen) != 0)
		return;
	if (kafka_decode_response(out, olen, whole.api_key, whole.api_version, &back) != KAFKA_OK ||
	    !back.complete || back.correlation_id != whole.correlation_id)
		abort();
	free(out);
}

static void
fuzz_response(const uint8_t *d, size_t n)
{
	int16_t key, version;
	uint8_t *copy;

	if (n < 4)
		return;
	key = (int16_t)((d[0] << 8 | d[1]) & 0x7f);
	version = (int16_t)((d[2] << 8 | d[3]) & 0x1f);
	d += 4;
	n -= 4;
	if (kafka_decode_response(d, n, key, version, &back) == KAFKA_OK)
		fuzz_inside(&back, d, n);
	if (key == KAFKA_API_VERSIONS && n > 0 && (copy = malloc(n)) != NULL) {
		memcpy(copy, d, n);
		kafka_cap_api_versions(copy, n, version);
		free(copy);
	}
}

static void
fuzz_rules(const uint8_t *d, size_t n)
{
	struct kafka_rules *rs;
	static const char *const topics[] = { "orders", NULL };
	static const size_t lens[] = { 6, 0 };
	int by[2];
	struct kafka_req_view v = {
		.api_key = 0, .api_version = 7, .client_id = (const uint8_t *)"kcat",
		.client_id_len = 4, .topic_check = 1, .topics = topics, .topic_lens = lens,
		.n_topics = 2,
	};
	char *json = malloc(n + 1), err[256];

	if (json == NULL)
		return;
	memcpy(json, d, n);
	json[n] = '\0';
	if (kafka_rules_compile(json, n, &rs, err, sizeof(err)) == 0) {
		/* the unknown (NULL) topic is never covered by a topic rule */
		int r = kafka_rules_match(rs, &v, by);

		if (r >= 0 && by[1] < 0)
			abort();
		v.n_topics = 1;
		kafka_rules_match(rs, &v, by);
		kafka_rules_free(rs);
	}
	free(json);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	char err[256];

	if (!ready) {
		if (kafka_schema_init(err, sizeof(err)) < 0)
			abort();
		ready = 1;
	}
	if (size < 1)
		return 0;
	switch (data[0]) {
	case 'Q':
		fuzz_request(data + 1, size - 1);
		break;
	case 'R':
		fuzz_response(data + 1, size - 1);
		break;
	case '[':
		fuzz_rules(data, size);
		break;
	}
	return 0;
}
