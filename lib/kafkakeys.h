/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/kafkakeys.h - Kafka API key names, one table for the policy format
 * (rules.kafka apiKey), the kafka module (its rules and flows) and flow
 * filters (observe --kafka-api-key).
 *
 * Two spellings: Cilium's (cilium/proxy pkg/policy/api/kafka APIKeyMap,
 * keys 0-33: "produce", "offsets", "findcoordinator", ...), which is also
 * how Hubble's l7.kafka.api_key shows a key, and Kafka's own
 * ("ListOffsets", "ConsumerGroupHeartbeat", ...; keys 0-92 of Kafka 4.3).
 */
#ifndef BW_KAFKAKEYS_H
#define BW_KAFKAKEYS_H

#include <stddef.h>

/* Cilium's name of key (0-33), or NULL. Static storage. */
const char *bw_kafka_key_cilium(int key);
/* Kafka's name of key ("Produce"), or NULL. Static storage. */
const char *bw_kafka_key_kafka(int key);

/*
 * The key a rule's apiKey names: Cilium's names for keys 0-33, and, past
 * Cilium's table, Kafka's names (bulwark's extension), any case. -1 when
 * none.
 */
int bw_kafka_key_by_name(const char *name);

/*
 * The key a filter value names: what bw_kafka_key_by_name() takes, Kafka's
 * name of any key ("ListOffsets"), or a number 0-32767. -1 when none.
 */
int bw_kafka_key_parse(const char *s);

/* How flows show key (Hubble's api_key): Cilium's name, else the number
 * as text (in buf). */
const char *bw_kafka_key_flow_name(int key, char *buf, size_t len);

#endif /* BW_KAFKAKEYS_H */
