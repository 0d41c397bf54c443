/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/kafka/kafka_topics.h - topic ID -> name maps, learnt from the
 * brokers' answers (Metadata, DescribeTopicPartitions, CreateTopics), so
 * that requests naming topics by ID (Fetch v13+, Produce v13+,
 * OffsetCommit v10+, ...) are checked against topic names.
 *
 * Entries are keyed by (scope, ID): the scope is the answering broker's
 * security identity for the node-wide map, so one broker cannot teach
 * names for another's IDs, or 0 for a connection's own map. Bounded: the
 * least recently used entry goes when the map is full.
 */
#ifndef BW_KAFKA_TOPICS_H
#define BW_KAFKA_TOPICS_H

#include <stddef.h>
#include <stdint.h>

struct kafka_topics;

struct kafka_topics *kafka_topics_new(size_t max);
void kafka_topics_free(struct kafka_topics *t);
/* Change the bound (entries over it go now). */
void kafka_topics_set_max(struct kafka_topics *t, size_t max);
/* Learn id -> name (replacing an older name). 0 or -ENOMEM. */
int kafka_topics_put(struct kafka_topics *t, uint32_t scope, const uint8_t id[16],
		     const uint8_t *name, size_t len);
/* The name of id, NUL-terminated, or NULL; valid until the next put. */
const char *kafka_topics_get(struct kafka_topics *t, uint32_t scope, const uint8_t id[16]);
size_t kafka_topics_size(const struct kafka_topics *t);

/*
 * The brokers, cluster id and controller of the last Metadata answer from
 * each scope (as for IDs: a broker's security identity), for the Metadata
 * answers the module writes itself. At most KAFKA_CLUSTERS_MAX scopes
 * (the least recently updated goes).
 */
#define KAFKA_CLUSTERS_MAX 64
struct kafka_msg;
struct kafka_cluster;
struct kafka_clusters;

struct kafka_clusters *kafka_clusters_new(void);
void kafka_clusters_free(struct kafka_clusters *c);
/* Remember m's brokers (a decoded Metadata answer listing some). */
int kafka_clusters_put(struct kafka_clusters *c, uint32_t scope, const struct kafka_msg *m);
const struct kafka_cluster *kafka_clusters_get(struct kafka_clusters *c, uint32_t scope);

#endif /* BW_KAFKA_TOPICS_H */
