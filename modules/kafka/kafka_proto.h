/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/kafka/kafka_proto.h - the Kafka wire protocol as the kafka module
 * needs it: which messages exist (kafka_schema.c, written from Apache
 * Kafka's JSON message definitions), reading a request or a response into
 * the parts policy and flows look at (topics, topic IDs, partitions, error
 * codes, acks, fetch sessions), and writing the response a broker would
 * send to a request it refuses (kafka_codec.c).
 *
 * No I/O, no allocation per message beyond growing the arrays of one
 * struct kafka_msg that a caller reuses; everything here is pure so the
 * unit tests and the fuzz target drive it byte by byte.
 */
#ifndef BW_KAFKA_PROTO_H
#define BW_KAFKA_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* Error codes used by the module (Kafka's Errors.java). */
#define KAFKA_ERR_NONE 0
#define KAFKA_ERR_CORRUPT_MESSAGE 2
#define KAFKA_ERR_TOPIC_AUTH 29     /* TOPIC_AUTHORIZATION_FAILED */
#define KAFKA_ERR_GROUP_AUTH 30     /* GROUP_AUTHORIZATION_FAILED */
#define KAFKA_ERR_CLUSTER_AUTH 31   /* CLUSTER_AUTHORIZATION_FAILED */
#define KAFKA_ERR_TXN_AUTH 53       /* TRANSACTIONAL_ID_AUTHORIZATION_FAILED */
#define KAFKA_ERR_SASL_AUTH 58      /* SASL_AUTHENTICATION_FAILED */
#define KAFKA_ERR_SESSION_NOT_FOUND 70 /* FETCH_SESSION_ID_NOT_FOUND */
#define KAFKA_ERR_UNKNOWN_TOPIC_ID 100

/* API keys the module treats specially. */
#define KAFKA_PRODUCE 0
#define KAFKA_FETCH 1
#define KAFKA_METADATA 3
#define KAFKA_CONTROLLED_SHUTDOWN 7
#define KAFKA_FIND_COORDINATOR 10
#define KAFKA_INIT_PRODUCER_ID 22
#define KAFKA_API_VERSIONS 18
#define KAFKA_MAX_KEY 127          /* keys above are refused as garbage */

/* ---- message definitions (kafka_schema.c) ------------------------------------ */

/* Field types. */
enum kafka_type {
	KT_INT8 = 1, KT_INT16, KT_INT32, KT_INT64, KT_UINT16, KT_UINT32,
	KT_FLOAT64, KT_BOOL, KT_UUID, KT_STRING, KT_BYTES, KT_RECORDS,
	KT_ARRAY,   /* of a primitive (elem) or of structs (sub) */
	KT_STRUCT,  /* a nested, non-array struct (sub) */
};

/* What a field means to the module (the "@role" of kafka_schema.c). */
enum kafka_role {
	KR_NONE = 0,
	KR_TOPIC,     /* string: a topic's name (of the entry at hand) */
	KR_TOPICID,   /* uuid: a topic's ID */
	KR_TOPICS,    /* array: each element is a topic entry */
	KR_FORGOTTEN, /* array: topic entries leaving a fetch session */
	KR_RES,       /* array: config resources (a topic when type is 2) */
	KR_RTYPE,     /* int8: the resource type of the entry at hand */
	KR_NAMES,     /* array of strings: each a topic entry by name */
	KR_PART,      /* int32: a partition of the entry at hand */
	KR_PARTS,     /* array: partitions of the entry at hand */
	KR_KEYS,      /* array: groups / transactional ids (strings or structs) */
	KR_KEY,       /* string: the key at hand */
	KR_ERR,       /* int16: an error code */
	KR_ACKS,      /* int16: Produce acks */
	KR_SESSID,    /* int32: fetch session id */
	KR_EPOCH,     /* int32: fetch session epoch */
	KR_TXNID,     /* nullable string: a transactional id */
	KR_KEYTYPE,   /* int8: FindCoordinator key type */
	KR_REGEX,     /* nullable string: a subscription regex */
	KR_BROKERS,   /* array: the cluster's brokers (Metadata) */
	KR_NODEID,    /* int32: the broker at hand's id */
	KR_HOST,      /* string: its host */
	KR_PORT,      /* int32: its port */
	KR_RACK,      /* nullable string: its rack */
	KR_CLUSTER,   /* nullable string: the cluster id */
	KR_CONTROLLER, /* int32: the controller's broker id */
};

struct kafka_field {
	const char *name;      /* in the definition's text, name_len bytes */
	uint8_t name_len;
	uint8_t type;          /* enum kafka_type */
	uint8_t elem;          /* KT_ARRAY of a primitive: its type; 0: structs */
	uint8_t role;          /* enum kafka_role */
	uint8_t def_null;      /* default: null (strings, arrays, structs) */
	uint8_t nullable;      /* KT_STRUCT: a presence byte precedes it */
	uint8_t has_topics;    /* it, or something inside it, names topics */
	int16_t vmin, vmax;    /* versions the field is in */
	int64_t def;           /* default value of numbers (bool: 0/1) */
	const struct kafka_field *sub; /* struct fields */
	uint16_t n_sub;
};

/* One API: its versions, and its request and response bodies. */
struct kafka_api {
	int16_t key;
	const char *name;        /* Kafka's name, "Produce" */
	const char *flow_name;   /* Hubble's l7.kafka.api_key, "produce"; keys
				  * Cilium has no name for are numbers */
	int16_t max_version;     /* highest version described */
	int16_t flex_from;       /* first flexible version; -1: none */
	int16_t deny_err;        /* error for a refusal outside topics */
	uint8_t topic_key;       /* the request names topics (a topic check applies) */
	uint8_t topics_optional; /* no topics named: no topic check (a heartbeat) */
	uint8_t resp_topic_err;  /* the response has an error per topic */
	const struct kafka_field *req, *resp;
	uint16_t n_req, n_resp;
};

/*
 * Compile the definitions (once; idempotent). 0, or -EINVAL with the
 * offending definition in err (a bug caught by the unit tests).
 */
int kafka_schema_init(char *err, size_t errlen);
void kafka_schema_fini(void);
/* The API with this key, or NULL (not described). */
const struct kafka_api *kafka_api_get(int16_t key);
/* The API key of a name as Cilium's apiKey spells it ("offsets",
 * "findcoordinator", ...; Kafka's names, lower-case, for the keys Cilium
 * has no name for), or -1. Case-insensitive. */
int kafka_api_key_by_name(const char *name);
/* The name Hubble's flows use for a key ("produce"; a number as text
 * beyond Cilium's table). Static or in buf. */
const char *kafka_api_flow_name(int16_t key, char *buf, size_t len);
/* Does a key's request name topics (described or not; unknown keys do)? */
int kafka_key_names_topics(int16_t key);
/* Is (key, version) flexible? -1 when unknown. */
int kafka_api_flexible(int16_t key, int16_t version);

/* ---- decoded messages (kafka_codec.c) ------------------------------------------ */

/* A topic (or config resource) a message names. */
struct kafka_entry {
	const uint8_t *name;   /* in the message; NULL: none (by ID, or null) */
	uint16_t name_len;
	uint8_t has_id;        /* id is set (a non-zero UUID) */
	uint8_t is_topic;      /* 0: a config resource that is not a topic */
	uint8_t forgotten;     /* Fetch: leaving the session, not read */
	int8_t rtype;          /* config resources: the type */
	uint8_t id[16];
	uint16_t grp;          /* index of the key (group) it belongs to */
	int16_t err;           /* decoding a response: its first error;
				* encoding: the error to answer */
	uint32_t part0, n_parts; /* its partitions in kafka_msg.parts */
	const char *resolved;  /* the module: the name of an ID (kafka.c) */
};

struct kafka_key {
	const uint8_t *s;
	uint16_t len;
	uint8_t null;
};

/* A broker a Metadata answer lists. */
struct kafka_broker {
	int32_t node_id, port;
	const uint8_t *host;
	uint16_t host_len;
	int16_t rack_len;      /* -1: null */
	const uint8_t *rack;
};

/*
 * What a module remembers of a cluster from its Metadata answers, to put
 * in the Metadata answers it writes itself (clients such as kafka-python
 * ignore an answer that lists no broker). Strings are NUL-terminated.
 */
struct kafka_cluster {
	uint32_t n_brokers;
	struct {
		int32_t node_id, port;
		char *host;
		char *rack;        /* NULL: null */
	} *brokers;
	char *cluster_id;      /* NULL: null */
	int32_t controller;
};

struct kafka_msg {
	/* header */
	int16_t api_key, api_version;
	int32_t correlation_id;
	const uint8_t *client_id;   /* NULL: null (or header v0) */
	uint16_t client_id_len;
	uint32_t size;              /* the frame's size field: 4 + size bytes */
	uint32_t header_len;        /* 4 + header bytes: where the body starts */
	uint8_t flexible;
	uint8_t known;              /* api and version described: body read */
	/* body */
	int16_t acks;               /* Produce; -2: none */
	int32_t session_id, session_epoch; /* Fetch; 0 / -1 when absent */
	int8_t keytype;             /* FindCoordinator; -1 when absent */
	uint8_t txnid;              /* a non-null transactional id */
	uint8_t regex;              /* a non-null subscription regex */
	uint8_t complete;           /* every topic of the message was read */
	int16_t top_err;            /* a response: its first error outside topics */
	struct kafka_entry *entries;
	uint32_t n_entries, cap_entries;
	int32_t *parts;
	uint32_t n_parts, cap_parts;
	struct kafka_key *keys;
	uint32_t n_keys, cap_keys;
	/* a Metadata answer: its brokers, cluster id and controller */
	struct kafka_broker *brokers;
	uint32_t n_brokers, cap_brokers;
	const uint8_t *cluster_id;
	int16_t cluster_id_len;     /* -1: null or absent */
	int32_t controller;
};

/* Results of kafka_decode_*(). */
#define KAFKA_OK 0
#define KAFKA_SHORT 1   /* prefix mode: the bytes end before the message */

/* Limits of one decoded message (more: -E2BIG). */
#define KAFKA_MAX_ENTRIES 100000
#define KAFKA_MAX_PARTS 1000000

void kafka_msg_free(struct kafka_msg *m);

/*
 * Read the request header of buf[0..len) (len >= 14 or the whole frame):
 * size, api key and version, correlation id, client id, and where the body
 * starts. 0, KAFKA_SHORT (more bytes needed; *need set when known), or
 * -EBADMSG (not a Kafka request: negative size, key out of range, bad
 * client id).
 */
int kafka_decode_header(const uint8_t *buf, size_t len, struct kafka_msg *m,
			size_t *need);

/*
 * Read a request: the header, then the body's topics, partitions and the
 * other roles. buf holds len bytes of the frame; when len is shorter than
 * the frame (a prefix), reading stops at its end and m->complete says
 * whether every topic had been seen by then (the rest holds no topic
 * name or ID). A key or version not described leaves m->known 0 (only
 * the header is read). Returns KAFKA_OK, KAFKA_SHORT (prefix shorter than
 * the header), -EBADMSG (malformed), -E2BIG (over the limits), -ENOMEM.
 */
int kafka_decode_request(const uint8_t *buf, size_t len, struct kafka_msg *m);

/*
 * Read a response to a request of (key, version): correlation id, errors
 * (m->top_err, each entry's first error), topics with their IDs, the fetch
 * session id. A prefix reads what it holds (m->complete 0). Returns
 * KAFKA_OK, KAFKA_SHORT, -EBADMSG, -E2BIG, -ENOMEM.
 */
int kafka_decode_response(const uint8_t *buf, size_t len, int16_t key,
			  int16_t version, struct kafka_msg *m);

/*
 * Write the response to req (a decoded request, complete) that refuses it:
 * the same correlation id, the version's header and encoding, every entry
 * echoed with its err (the caller sets them), top_err in the error fields
 * outside entries, defaults elsewhere; a Metadata answer lists cl's
 * brokers (cl may be NULL: none). *out is malloc'd. 0, -ENOTSUP (no
 * response described for this key or version), -ENOMEM.
 */
int kafka_encode_refusal(const struct kafka_msg *req, int16_t top_err,
			 const struct kafka_cluster *cl, uint8_t **out, size_t *len);

/*
 * An ApiVersions response body in buf[0..len) (the whole frame): lower
 * each listed max version of an API the module describes to what it can
 * read (max_version), in place. Returns the number of keys lowered, or
 * -EBADMSG.
 */
int kafka_cap_api_versions(uint8_t *buf, size_t len, int16_t version);

/* Text of a UUID, 22 characters of Kafka's base64url form + NUL. */
void kafka_uuid_text(const uint8_t id[16], char out[23]);

#endif /* BW_KAFKA_PROTO_H */
