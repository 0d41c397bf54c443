/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/kafka/kafka_rules.c - CiliumNetworkPolicy `rules.kafka` with
 * Cilium's meaning (cilium/proxy pkg/policy/api/kafka and the matching of
 * proxylib/kafka/kafkalib/policy.go):
 *
 *   role      "produce" or "consume" (any case): Cilium's API-key sets,
 *             produce = {Produce, Metadata, ApiVersions}; consume = {Fetch,
 *             ListOffsets, Metadata, OffsetCommit, OffsetFetch,
 *             FindCoordinator, JoinGroup, Heartbeat, LeaveGroup, SyncGroup,
 *             ApiVersions}. Not with apiKey.
 *   apiKey    one key by Cilium's name ("produce", "offsets", ...); keys
 *             past Cilium's table (34 and up) by Kafka's name, lower-case
 *             ("consumergroupheartbeat") - Cilium refuses those.
 *   apiVersion  a decimal int16, matched exactly.
 *   clientID  the request header's client id, matched exactly.
 *   topic     a topic name, matched exactly.
 *
 * Every field is optional; an empty rule allows every request. Rules are
 * OR-ed. A rule with a topic applies its topic only to requests that name
 * topics ("topic keys"); such a request is allowed when every topic it
 * names is covered by some matching rule, and one naming no topic (a
 * Metadata request for all topics) only by a rule without a topic.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "kafka_proto.h"
#include "kafka_rules.h"

struct kafka_rule {
	uint64_t keys[2];   /* bit per API key 0..127; all zero: any key */
	int any_key;
	int32_t version;    /* -1: any */
	char *client_id;    /* NULL: any */
	char *topic;        /* NULL: any */
	size_t client_id_len, topic_len;
};

struct kafka_rules {
	size_t n;
	struct kafka_rule r[];
};

static const int16_t kafka_role_produce[] = { 0, 3, 18 };
static const int16_t kafka_role_consume[] = { 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 18 };

#define KAFKA_MAX_TOPIC_LEN 255

/* "kafka[i].field: detail" (field "" for the rule itself) */
static int
kr_err(char *err, size_t errlen, size_t i, const char *field, const char *detail)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "kafka[%zu]%s%s: %s", i, *field ? "." : "", field, detail);
	return -EINVAL;
}

static void
kr_set_key(struct kafka_rule *r, int key)
{
	r->keys[key / 64] |= 1ull << (key % 64);
}

static int
kr_charset(const char *s, int allow_empty)
{
	if (*s == '\0')
		return allow_empty;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

static void
kr_free_rule(struct kafka_rule *r)
{
	free(r->client_id);
	free(r->topic);
}

void
kafka_rules_free(struct kafka_rules *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->n; i++)
		kr_free_rule(&rs->r[i]);
	free(rs);
}

size_t
kafka_rules_count(const struct kafka_rules *rs)
{
	return rs != NULL ? rs->n : 0;
}

static int
kr_compile_one(json_t *o, size_t i, struct kafka_rule *r, char *err, size_t errlen)
{
	const char *k, *role = NULL, *api_key = NULL;
	json_t *v;

	memset(r, 0, sizeof(*r));
	r->version = -1;
	if (!json_is_object(o))
		return kr_err(err, errlen, i, "", "must be an object");
	json_object_foreach(o, k, v) {
		const char *s;

		if (!json_is_string(v))
			return kr_err(err, errlen, i, k, "must be a string");
		s = json_string_value(v);
		if (strcmp(k, "role") == 0) {
			role = s;
		} else if (strcmp(k, "apiKey") == 0) {
			api_key = s;
		} else if (strcmp(k, "apiVersion") == 0) {
			char *end;
			long n;

			if (*s == '\0')
				continue;
			errno = 0;
			n = strtol(s, &end, 10);
			if (*end != '\0' || errno != 0 || n < INT16_MIN || n > INT16_MAX)
				return kr_err(err, errlen, i, k,
					      "must be a decimal number from 0 to 32767");
			r->version = n < 0 ? -1 : (int32_t)n;
		} else if (strcmp(k, "clientID") == 0) {
			if (*s == '\0')
				continue;
			if (!kr_charset(s, 0))
				return kr_err(err, errlen, i, k,
					      "may hold only letters, digits, '.', '_' and '-'");
			if ((r->client_id = strdup(s)) == NULL)
				return -ENOMEM;
			r->client_id_len = strlen(s);
		} else if (strcmp(k, "topic") == 0) {
			if (*s == '\0')
				continue;
			if (strlen(s) > KAFKA_MAX_TOPIC_LEN)
				return kr_err(err, errlen, i, k,
					      "longer than 255 characters");
			if (!kr_charset(s, 0))
				return kr_err(err, errlen, i, k,
					      "may hold only letters, digits, '.', '_' and '-'");
			if ((r->topic = strdup(s)) == NULL)
				return -ENOMEM;
			r->topic_len = strlen(s);
		} else {
			return kr_err(err, errlen, i, k,
				      "unknown field (role, apiKey, apiVersion, clientID, topic)");
		}
	}
	if (role != NULL && *role != '\0' && api_key != NULL && *api_key != '\0')
		return kr_err(err, errlen, i, "role",
			      "cannot be combined with apiKey");
	if (role != NULL && *role != '\0') {
		const int16_t *set;
		size_t n;

		if (strcasecmp(role, "produce") == 0) {
			set = kafka_role_produce;
			n = sizeof(kafka_role_produce) / sizeof(kafka_role_produce[0]);
		} else if (strcasecmp(role, "consume") == 0) {
			set = kafka_role_consume;
			n = sizeof(kafka_role_consume) / sizeof(kafka_role_consume[0]);
		} else {
			return kr_err(err, errlen, i, "role",
				      "must be produce or consume");
		}
		for (size_t k2 = 0; k2 < n; k2++)
			kr_set_key(r, set[k2]);
	} else if (api_key != NULL && *api_key != '\0') {
		int key = kafka_api_key_by_name(api_key);

		if (key < 0) {
			char msg[160];

			snprintf(msg, sizeof(msg), "unknown API key '%.60s' (Cilium's names: "
				 "produce, fetch, offsets, metadata, ...)", api_key);
			return kr_err(err, errlen, i, "apiKey", msg);
		}
		kr_set_key(r, key);
	} else {
		r->any_key = 1;
	}
	return 0;
}

int
kafka_rules_compile(const char *json, size_t len, struct kafka_rules **out, char *err,
		    size_t errlen)
{
	json_error_t jerr;
	json_t *a = json_loadb(json, len, 0, &jerr);
	struct kafka_rules *rs;
	size_t n;
	int rc;

	*out = NULL;
	if (a == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "kafka: not JSON: %s", jerr.text);
		return -EINVAL;
	}
	if (!json_is_array(a)) {
		json_decref(a);
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "kafka: must be a list of rules");
		return -EINVAL;
	}
	n = json_array_size(a);
	if ((rs = calloc(1, sizeof(*rs) + n * sizeof(rs->r[0]))) == NULL) {
		json_decref(a);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if ((rc = kr_compile_one(json_array_get(a, i), i, &rs->r[i], err, errlen)) < 0) {
			rs->n = i + 1;
			kafka_rules_free(rs);
			json_decref(a);
			return rc;
		}
	}
	rs->n = n;
	json_decref(a);
	*out = rs;
	return 0;
}

static int
kr_matches(const struct kafka_rule *r, const struct kafka_req_view *v)
{
	if (!r->any_key && (v->api_key < 0 || v->api_key > 127 ||
			    !(r->keys[v->api_key / 64] & (1ull << (v->api_key % 64)))))
		return 0;
	if (r->version >= 0 && r->version != v->api_version)
		return 0;
	if (r->client_id != NULL &&
	    (v->client_id == NULL || v->client_id_len != r->client_id_len ||
	     memcmp(v->client_id, r->client_id, r->client_id_len) != 0))
		return 0;
	return 1;
}

int
kafka_rules_match(const struct kafka_rules *rs, const struct kafka_req_view *v, int *by)
{
	size_t left = v->n_topics;

	for (size_t t = 0; t < v->n_topics; t++)
		by[t] = -1;
	if (rs == NULL)
		return -1;
	for (size_t i = 0; i < rs->n; i++) {
		const struct kafka_rule *r = &rs->r[i];

		if (!kr_matches(r, v))
			continue;
		if (r->topic == NULL || !v->topic_check) {
			for (size_t t = 0; t < v->n_topics; t++)
				if (by[t] < 0)
					by[t] = (int)i;
			return v->n_topics > 0 ? by[0] : (int)i;
		}
		for (size_t t = 0; t < v->n_topics; t++) {
			if (by[t] >= 0 || v->topics[t] == NULL ||
			    v->topic_lens[t] != r->topic_len ||
			    memcmp(v->topics[t], r->topic, r->topic_len) != 0)
				continue;
			by[t] = (int)i;
			left--;
		}
		if (v->n_topics > 0 && left == 0)
			return by[0];
	}
	return -1;
}
