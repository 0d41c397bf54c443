/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/kafka/kafka_rules.h - CiliumNetworkPolicy `rules.kafka`:
 * compiling the rule list and matching a request against it.
 */
#ifndef BW_KAFKA_RULES_H
#define BW_KAFKA_RULES_H

#include <stddef.h>
#include <stdint.h>

struct kafka_rules;

/* What a rule sees of one request. */
struct kafka_req_view {
	int16_t api_key, api_version;
	const uint8_t *client_id;  /* NULL: null */
	size_t client_id_len;
	/* Topics are checked: the key's requests name topics (a heartbeat
	 * that names none is not checked). */
	int topic_check;
	/* The topics the request names; NULL: an ID the module could not
	 * resolve (no rule naming a topic covers it). */
	const char *const *topics;
	const size_t *topic_lens;
	size_t n_topics;
};

/*
 * Compile json (a JSON array of Cilium kafka rule objects: role, apiKey,
 * apiVersion, clientID, topic) into *out. 0, or -EINVAL with a message
 * naming the entry and field ("kafka[1].apiKey: unknown API key 'x'"),
 * or -ENOMEM.
 */
int kafka_rules_compile(const char *json, size_t len, struct kafka_rules **out,
			char *err, size_t errlen);
void kafka_rules_free(struct kafka_rules *rs);
size_t kafka_rules_count(const struct kafka_rules *rs);

/*
 * Match a request: the rules are OR-ed, and a request naming topics is
 * allowed only when every topic is covered (possibly by different rules).
 * Returns the index of the rule that allowed it (for a request with
 * topics: the rule that covered its first topic), or -1: denied. by[i]
 * (n_topics entries, may be NULL) gets the rule that covered topic i, or
 * -1 for a topic no rule covers.
 */
int kafka_rules_match(const struct kafka_rules *rs, const struct kafka_req_view *v,
		      int *by);

#endif /* BW_KAFKA_RULES_H */
