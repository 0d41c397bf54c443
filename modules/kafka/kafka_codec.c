/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/kafka/kafka_codec.c - reading Kafka requests and responses and
 * writing refusals, driven by the message definitions of kafka_schema.c.
 *
 * One walker reads any described body: it follows the fields present in
 * the version, in the classic encoding (int16-prefixed strings, int32
 * counts) or the flexible one (KIP-482: varint lengths of N+1, a tagged
 * field section closing every struct, skipped by its sizes), and applies
 * each field's role: a new topic entry, its name or ID, a partition, an
 * error code, acks, the fetch session. Request header v2's client_id keeps
 * its int16 length (RequestHeader.json: flexibleVersions "none").
 *
 * Prefixes: a request whose frame is longer than what the proxy holds is
 * read as far as its bytes go. On the way out of the truncated walk every
 * level tells whether a topic could still follow (a field with topics
 * after this one, more elements of an array of topic entries); if none
 * can, the request's topics are all known (m->complete) and a large
 * Produce can be decided from its first bytes.
 *
 * One writer produces, for a request and its version, the response a
 * broker sends when it refuses: the same correlation id, response header
 * v1 for flexible versions (v0 for ApiVersions, KIP-511), every topic and
 * partition of the request echoed with the entry's error code, error
 * fields outside topics set to the message's error, defaults elsewhere,
 * empty arrays, no tagged fields.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_proto.h"

/* ---- reading ------------------------------------------------------------------------- */

struct rd {
	const uint8_t *p, *end;
};

static inline int
rd_has(const struct rd *r, size_t n)
{
	return (size_t)(r->end - r->p) >= n;
}

static inline uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t
be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Kafka's UNSIGNED_VARINT (at most 5 bytes for 32 bits). */
static int
rd_uvarint(struct rd *r, uint32_t *v)
{
	uint32_t x = 0;

	for (int i = 0; i < 5; i++) {
		uint8_t b;

		if (!rd_has(r, 1))
			return -1;
		b = *r->p++;
		if (i == 4 && (b & 0xf0) != 0)
			return -2; /* more than 32 bits */
		x |= (uint32_t)(b & 0x7f) << (7 * i);
		if ((b & 0x80) == 0) {
			*v = x;
			return 0;
		}
	}
	return -2;
}

/* ---- the decoder ---------------------------------------------------------------------- */

struct dc {
	struct rd r;
	struct kafka_msg *m;
	int16_t v;
	uint8_t flex;
	uint8_t prefix;     /* the bytes may end before the message */
	int status;         /* 0, KAFKA_SHORT, or a negative errno */
	int64_t entry;      /* the entry at hand, -1: none */
	uint16_t grp;       /* the key at hand */
	uint8_t incomplete; /* a topic may follow the truncation */
	int64_t broker;     /* the broker at hand, -1: none */
};

/* Running out of bytes: a short prefix, or a malformed message. */
static int
dc_short(struct dc *d)
{
	if (d->status == 0)
		d->status = d->prefix ? KAFKA_SHORT : -EBADMSG;
	return -1;
}

static int
dc_bad(struct dc *d)
{
	if (d->status == 0 || d->status == KAFKA_SHORT)
		d->status = -EBADMSG;
	return -1;
}

static int
dc_grow(struct dc *d, void **arr, uint32_t *cap, uint32_t n, size_t elem, uint32_t max)
{
	uint32_t nc;
	void *na;

	if (n < *cap)
		return 0;
	if (n >= max) {
		d->status = -E2BIG;
		return -1;
	}
	nc = *cap ? *cap * 2 : 16;
	if (nc > max)
		nc = max;
	if ((na = realloc(*arr, (size_t)nc * elem)) == NULL) {
		d->status = -ENOMEM;
		return -1;
	}
	*arr = na;
	*cap = nc;
	return 0;
}

static int
dc_new_entry(struct dc *d, int forgotten, int res)
{
	struct kafka_msg *m = d->m;
	struct kafka_entry *e;

	if (dc_grow(d, (void **)&m->entries, &m->cap_entries, m->n_entries,
		    sizeof(*e), KAFKA_MAX_ENTRIES) < 0)
		return -1;
	e = &m->entries[m->n_entries];
	memset(e, 0, sizeof(*e));
	e->is_topic = !res;
	e->forgotten = (uint8_t)forgotten;
	e->rtype = -1;
	e->grp = d->grp;
	e->part0 = m->n_parts;
	d->entry = m->n_entries++;
	return 0;
}

static int
dc_new_part(struct dc *d, int32_t part)
{
	struct kafka_msg *m = d->m;

	if (d->entry < 0)
		return 0;
	if (dc_grow(d, (void **)&m->parts, &m->cap_parts, m->n_parts,
		    sizeof(*m->parts), KAFKA_MAX_PARTS) < 0)
		return -1;
	m->parts[m->n_parts++] = part;
	m->entries[d->entry].n_parts++;
	return 0;
}

static int
dc_new_key(struct dc *d, const uint8_t *s, uint16_t len, int null)
{
	struct kafka_msg *m = d->m;

	if (dc_grow(d, (void **)&m->keys, &m->cap_keys, m->n_keys, sizeof(*m->keys),
		    KAFKA_MAX_ENTRIES) < 0)
		return -1;
	m->keys[m->n_keys].s = s;
	m->keys[m->n_keys].len = len;
	m->keys[m->n_keys].null = (uint8_t)null;
	d->grp = (uint16_t)(m->n_keys < UINT16_MAX ? m->n_keys : UINT16_MAX);
	m->n_keys++;
	return 0;
}

static int
dc_new_broker(struct dc *d)
{
	struct kafka_msg *m = d->m;

	if (dc_grow(d, (void **)&m->brokers, &m->cap_brokers, m->n_brokers,
		    sizeof(*m->brokers), KAFKA_MAX_ENTRIES) < 0)
		return -1;
	memset(&m->brokers[m->n_brokers], 0, sizeof(m->brokers[0]));
	m->brokers[m->n_brokers].rack_len = -1;
	d->broker = m->n_brokers++;
	return 0;
}

/* A string or bytes length: -1 for null. */
static int
dc_len(struct dc *d, int bytes, int64_t *len)
{
	if (d->flex) {
		uint32_t v;
		int rc = rd_uvarint(&d->r, &v);

		if (rc == -1)
			return dc_short(d);
		if (rc < 0)
			return dc_bad(d);
		*len = (int64_t)v - 1;
		return 0;
	}
	if (bytes) {
		if (!rd_has(&d->r, 4))
			return dc_short(d);
		*len = (int32_t)be32(d->r.p);
		d->r.p += 4;
	} else {
		if (!rd_has(&d->r, 2))
			return dc_short(d);
		*len = (int16_t)be16(d->r.p);
		d->r.p += 2;
	}
	if (*len < -1)
		return dc_bad(d);
	return 0;
}

/* Skip n bytes of a value (records may run past a prefix: then short). */
static int
dc_skip(struct dc *d, int64_t n)
{
	if (n < 0)
		return 0;
	if ((uint64_t)n > (uint64_t)(d->r.end - d->r.p)) {
		d->r.p = d->r.end;
		return dc_short(d);
	}
	d->r.p += n;
	return 0;
}

static int
dc_tagged(struct dc *d)
{
	uint32_t n, tag, size;
	int rc;

	if ((rc = rd_uvarint(&d->r, &n)) < 0)
		return rc == -1 ? dc_short(d) : dc_bad(d);
	for (uint32_t i = 0; i < n; i++) {
		if ((rc = rd_uvarint(&d->r, &tag)) < 0 || (rc = rd_uvarint(&d->r, &size)) < 0)
			return rc == -1 ? dc_short(d) : dc_bad(d);
		if (dc_skip(d, size) < 0)
			return -1;
	}
	return 0;
}

/* An array's count: -1 for null. */
static int
dc_count(struct dc *d, int64_t *count)
{
	if (d->flex) {
		uint32_t v;
		int rc = rd_uvarint(&d->r, &v);

		if (rc == -1)
			return dc_short(d);
		if (rc < 0)
			return dc_bad(d);
		*count = (int64_t)v - 1;
	} else {
		if (!rd_has(&d->r, 4))
			return dc_short(d);
		*count = (int32_t)be32(d->r.p);
		d->r.p += 4;
		if (*count < -1)
			return dc_bad(d);
	}
	/* every element takes at least one byte */
	if (*count > 0 && !d->prefix && (uint64_t)*count > (uint64_t)(d->r.end - d->r.p))
		return dc_bad(d);
	return 0;
}

static size_t
dc_fixed(uint8_t type)
{
	switch (type) {
	case KT_INT8: case KT_BOOL: return 1;
	case KT_INT16: case KT_UINT16: return 2;
	case KT_INT32: case KT_UINT32: return 4;
	case KT_INT64: case KT_FLOAT64: return 8;
	case KT_UUID: return 16;
	}
	return 0;
}

/* One primitive value of type (a field, or an element of an array). */
static int
dc_prim(struct dc *d, uint8_t type, uint8_t role)
{
	struct kafka_msg *m = d->m;
	size_t fixed = dc_fixed(type);

	if (fixed > 0) {
		const uint8_t *p = d->r.p;
		int64_t v = 0;

		if (!rd_has(&d->r, fixed))
			return dc_short(d);
		d->r.p += fixed;
		switch (type) {
		case KT_INT8: v = (int8_t)p[0]; break;
		case KT_INT16: v = (int16_t)be16(p); break;
		case KT_INT32: v = (int32_t)be32(p); break;
		}
		switch (role) {
		case KR_TOPICID:
			if (d->entry >= 0) {
				struct kafka_entry *e = &m->entries[d->entry];
				static const uint8_t zero[16];

				memcpy(e->id, p, 16);
				e->has_id = memcmp(p, zero, 16) != 0;
			}
			break;
		case KR_PART:
		case KR_PARTS:
			return dc_new_part(d, (int32_t)v);
		case KR_ERR:
			if (v == 0)
				break;
			if (d->entry >= 0 && m->entries[d->entry].err == 0)
				m->entries[d->entry].err = (int16_t)v;
			else if (d->entry < 0 && m->top_err == 0)
				m->top_err = (int16_t)v;
			break;
		case KR_ACKS: m->acks = (int16_t)v; break;
		case KR_SESSID: m->session_id = (int32_t)v; break;
		case KR_EPOCH: m->session_epoch = (int32_t)v; break;
		case KR_KEYTYPE: m->keytype = (int8_t)v; break;
		case KR_NODEID:
			if (d->broker >= 0)
				m->brokers[d->broker].node_id = (int32_t)v;
			break;
		case KR_PORT:
			if (d->broker >= 0)
				m->brokers[d->broker].port = (int32_t)v;
			break;
		case KR_CONTROLLER: m->controller = (int32_t)v; break;
		case KR_RTYPE:
			if (d->entry >= 0)
				m->entries[d->entry].rtype = (int8_t)v;
			break;
		}
		return 0;
	}
	if (type == KT_STRING || type == KT_BYTES || type == KT_RECORDS) {
		int64_t len;
		const uint8_t *s;

		if (dc_len(d, type != KT_STRING, &len) < 0)
			return -1;
		s = d->r.p;
		if (type != KT_STRING || role == KR_NONE)
			return dc_skip(d, len);
		if (!rd_has(&d->r, len < 0 ? 0 : (size_t)len))
			return dc_short(d);
		d->r.p += len < 0 ? 0 : len;
		if (len > UINT16_MAX)
			return dc_bad(d);
		switch (role) {
		case KR_NAMES:
			if (dc_new_entry(d, 0, 0) < 0)
				return -1;
			/* fall through */
		case KR_TOPIC:
			if (d->entry >= 0 && len >= 0) {
				m->entries[d->entry].name = s;
				m->entries[d->entry].name_len = (uint16_t)len;
			}
			if (role == KR_NAMES)
				d->entry = -1;
			break;
		case KR_KEYS:
			return dc_new_key(d, s, (uint16_t)(len < 0 ? 0 : len), len < 0);
		case KR_KEY:
			if (m->n_keys == 0 && dc_new_key(d, s, 0, 1) < 0)
				return -1;
			m->keys[d->grp].s = s;
			m->keys[d->grp].len = (uint16_t)(len < 0 ? 0 : len);
			m->keys[d->grp].null = len < 0;
			break;
		case KR_TXNID: m->txnid = len >= 0; break;
		case KR_REGEX: m->regex = len >= 0; break;
		case KR_HOST:
			if (d->broker >= 0 && len >= 0) {
				m->brokers[d->broker].host = s;
				m->brokers[d->broker].host_len = (uint16_t)len;
			}
			break;
		case KR_RACK:
			if (d->broker >= 0) {
				m->brokers[d->broker].rack = s;
				m->brokers[d->broker].rack_len = (int16_t)len;
			}
			break;
		case KR_CLUSTER:
			m->cluster_id = s;
			m->cluster_id_len = (int16_t)len;
			break;
		}
		return 0;
	}
	return dc_bad(d);
}

static int dc_fields(struct dc *d, const struct kafka_field *fs, uint16_t n);

/* A topic could follow field j of fs (present in this version)? */
static int
dc_topics_after(const struct dc *d, const struct kafka_field *fs, uint16_t n, uint16_t j)
{
	for (uint16_t k = j; k < n; k++)
		if (fs[k].has_topics && d->v >= fs[k].vmin && d->v <= fs[k].vmax)
			return 1;
	return 0;
}

static int
dc_array(struct dc *d, const struct kafka_field *f)
{
	int64_t count, i;
	int64_t outer_entry = d->entry;
	uint16_t outer_grp = d->grp;
	int rc = 0;

	if (dc_count(d, &count) < 0) {
		if (f->has_topics)
			d->incomplete = 1;
		return -1;
	}
	for (i = 0; i < count; i++) {
		if (f->elem != 0) {
			if (dc_prim(d, f->elem, f->role) < 0) {
				if (f->has_topics)
					d->incomplete = 1; /* this element was a name */
				rc = -1;
				break;
			}
			continue;
		}
		/* an element: a struct */
		if (f->role == KR_TOPICS || f->role == KR_FORGOTTEN || f->role == KR_RES) {
			if (dc_new_entry(d, f->role == KR_FORGOTTEN, f->role == KR_RES) < 0) {
				rc = -1;
				break;
			}
		} else if (f->role == KR_KEYS) {
			if (dc_new_key(d, NULL, 0, 1) < 0) {
				rc = -1;
				break;
			}
			d->entry = -1;
		} else if (f->role == KR_BROKERS) {
			if (dc_new_broker(d) < 0) {
				rc = -1;
				break;
			}
		}
		rc = dc_fields(d, f->sub, f->n_sub);
		d->broker = -1;
		if (rc == 0 && d->flex)
			rc = dc_tagged(d);
		if (f->role == KR_RES && d->entry >= 0)
			d->m->entries[d->entry].is_topic = d->m->entries[d->entry].rtype == 2;
		d->entry = outer_entry;
		if (f->role == KR_KEYS)
			d->grp = outer_grp;
		if (rc < 0)
			break;
	}
	d->entry = outer_entry;
	d->grp = outer_grp;
	if (rc < 0 && f->has_topics && i < count - 1)
		d->incomplete = 1; /* more elements, each naming topics */
	return rc;
}

static int
dc_fields(struct dc *d, const struct kafka_field *fs, uint16_t n)
{
	for (uint16_t j = 0; j < n; j++) {
		const struct kafka_field *f = &fs[j];
		int rc;

		if (d->v < f->vmin || d->v > f->vmax)
			continue;
		if (f->type == KT_ARRAY) {
			rc = dc_array(d, f);
		} else if (f->type == KT_STRUCT) {
			rc = 0;
			if (f->nullable) {
				if (!rd_has(&d->r, 1)) {
					rc = dc_short(d);
				} else if ((int8_t)*d->r.p++ < 0) {
					continue; /* null */
				}
			}
			if (rc == 0)
				rc = dc_fields(d, f->sub, f->n_sub);
			if (rc == 0 && d->flex)
				rc = dc_tagged(d);
		} else {
			rc = dc_prim(d, f->type, f->role);
			/* a topic field cut short: its name is not known */
			if (rc < 0 && f->has_topics)
				d->incomplete = 1;
		}
		if (rc < 0) {
			if (dc_topics_after(d, fs, n, (uint16_t)(j + 1)))
				d->incomplete = 1;
			return -1;
		}
	}
	return 0;
}

static void
dc_reset(struct kafka_msg *m)
{
	m->n_entries = m->n_parts = m->n_keys = 0;
	m->acks = -2;
	m->session_id = 0;
	m->session_epoch = -1;
	m->keytype = -1;
	m->txnid = m->regex = 0;
	m->complete = 0;
	m->known = 0;
	m->top_err = 0;
	m->n_brokers = 0;
	m->cluster_id = NULL;
	m->cluster_id_len = -1;
	m->controller = -1;
}

void
kafka_msg_free(struct kafka_msg *m)
{
	free(m->entries);
	free(m->parts);
	free(m->keys);
	free(m->brokers);
	memset(m, 0, sizeof(*m));
}

int
kafka_decode_header(const uint8_t *buf, size_t len, struct kafka_msg *m, size_t *need)
{
	int32_t size;
	int16_t cid_len;
	size_t end, off;
	int flex;

	if (need != NULL)
		*need = 0;
	if (len < 4) {
		if (need != NULL)
			*need = 4;
		return KAFKA_SHORT;
	}
	size = (int32_t)be32(buf);
	if (size < 8)
		return -EBADMSG;
	m->size = (uint32_t)size;
	end = 4 + (size_t)size;
	if (len > end)
		len = end;
	if (len < 12) {
		if (need != NULL)
			*need = end < 14 ? end : 14;
		return KAFKA_SHORT;
	}
	m->api_key = (int16_t)be16(buf + 4);
	m->api_version = (int16_t)be16(buf + 6);
	m->correlation_id = (int32_t)be32(buf + 8);
	m->client_id = NULL;
	m->client_id_len = 0;
	if (m->api_key < 0 || m->api_key > KAFKA_MAX_KEY || m->api_version < 0)
		return -EBADMSG;
	flex = kafka_api_flexible(m->api_key, m->api_version);
	m->flexible = flex > 0;
	if (m->api_key == KAFKA_CONTROLLED_SHUTDOWN && m->api_version == 0) {
		m->header_len = 12; /* header v0: no client id */
		return KAFKA_OK;
	}
	if (len < 14) {
		if (need != NULL)
			*need = end < 14 ? end : 14;
		return end < 14 ? -EBADMSG : KAFKA_SHORT;
	}
	cid_len = (int16_t)be16(buf + 12);
	if (cid_len < -1)
		return -EBADMSG;
	off = 14 + (cid_len > 0 ? (size_t)cid_len : 0);
	if (off > end)
		return -EBADMSG;
	if (len < off) {
		if (need != NULL)
			*need = off;
		return KAFKA_SHORT;
	}
	if (cid_len >= 0) {
		m->client_id = buf + 14;
		m->client_id_len = (uint16_t)cid_len;
	}
	if (flex > 0) {
		struct dc d = { .r = { buf + off, buf + len }, .m = m, .flex = 1,
				.prefix = len < end, .entry = -1, .broker = -1 };

		if (dc_tagged(&d) < 0) {
			if (d.status == KAFKA_SHORT && need != NULL)
				*need = len + 1 <= end ? len + 1 : end;
			return d.status;
		}
		off = (size_t)(d.r.p - buf);
	}
	m->header_len = (uint32_t)off;
	return KAFKA_OK;
}

int
kafka_decode_request(const uint8_t *buf, size_t len, struct kafka_msg *m)
{
	const struct kafka_api *a;
	struct dc d;
	size_t end;
	int rc;

	dc_reset(m);
	if ((rc = kafka_decode_header(buf, len, m, NULL)) != KAFKA_OK)
		return rc;
	end = 4 + (size_t)m->size;
	a = kafka_api_get(m->api_key);
	if (a == NULL || m->api_version > a->max_version)
		return KAFKA_OK; /* not described: the header only */
	memset(&d, 0, sizeof(d));
	d.r.p = buf + m->header_len;
	d.r.end = buf + (len < end ? len : end);
	d.m = m;
	d.v = m->api_version;
	d.flex = m->flexible;
	d.prefix = len < end;
	d.entry = -1;
	d.broker = -1;
	m->known = 1;
	if (dc_fields(&d, a->req, a->n_req) < 0) {
		if (d.status != KAFKA_SHORT)
			return d.status;
		m->complete = !d.incomplete;
		return KAFKA_OK;
	}
	m->complete = 1;
	return KAFKA_OK;
}

int
kafka_decode_response(const uint8_t *buf, size_t len, int16_t key, int16_t version,
		      struct kafka_msg *m)
{
	const struct kafka_api *a = kafka_api_get(key);
	struct dc d;
	size_t end;
	int32_t size;
	int flex;

	dc_reset(m);
	m->api_key = key;
	m->api_version = version;
	if (len < 8)
		return KAFKA_SHORT;
	size = (int32_t)be32(buf);
	if (size < 4)
		return -EBADMSG;
	m->size = (uint32_t)size;
	m->correlation_id = (int32_t)be32(buf + 4);
	end = 4 + (size_t)size;
	if (a == NULL || version < 0 || version > a->max_version)
		return KAFKA_OK;
	flex = kafka_api_flexible(key, version) > 0;
	memset(&d, 0, sizeof(d));
	d.r.p = buf + 8;
	d.r.end = buf + (len < end ? len : end);
	d.m = m;
	d.flex = (uint8_t)flex;
	d.prefix = len < end;
	d.entry = -1;
	d.broker = -1;
	/* ApiVersions answers an unsupported version in v0 (and header v0) */
	if (key == KAFKA_API_VERSIONS && d.r.end - d.r.p >= 2 && be16(d.r.p) == 35) {
		version = 0;
		d.flex = 0;
	}
	d.v = version;
	if (d.flex && key != KAFKA_API_VERSIONS && dc_tagged(&d) < 0)
		return d.status;
	m->header_len = (uint32_t)(d.r.p - buf);
	m->known = 1;
	if (dc_fields(&d, a->resp, a->n_resp) < 0)
		return d.status;
	m->complete = 1;
	return KAFKA_OK;
}

/* ---- the encoder ----------------------------------------------------------------------- */

struct en {
	uint8_t *buf;
	size_t len, cap;
	int failed;
	int16_t v;
	uint8_t flex;
	const struct kafka_msg *req;
	int16_t top_err;
	int64_t entry;      /* the entry being written, -1: none */
	int64_t key;        /* the key being written, -1: none */
	int32_t part;       /* the partition being written */
	const struct kafka_cluster *cl;
	int64_t broker;     /* the broker being written, -1: none */
};

static void
en_put(struct en *e, const void *p, size_t n)
{
	if (e->failed)
		return;
	if (e->len + n > e->cap) {
		size_t cap = e->cap ? e->cap : 256;
		uint8_t *nb;

		while (cap < e->len + n)
			cap *= 2;
		if ((nb = realloc(e->buf, cap)) == NULL) {
			e->failed = 1;
			return;
		}
		e->buf = nb;
		e->cap = cap;
	}
	memcpy(e->buf + e->len, p, n);
	e->len += n;
}

static void
en_int(struct en *e, uint8_t type, int64_t v)
{
	uint8_t b[8];
	size_t n = dc_fixed(type);

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)((uint64_t)v >> (8 * (n - 1 - i)));
	en_put(e, b, n);
}

static void
en_uvarint(struct en *e, uint32_t v)
{
	uint8_t b[5];
	size_t n = 0;

	do {
		b[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			b[n] |= 0x80;
		n++;
	} while (v != 0);
	en_put(e, b, n);
}

/* A length (strings, bytes) or a count (arrays); -1: null. */
static void
en_len(struct en *e, int bytes_or_array, int64_t n)
{
	if (e->flex)
		en_uvarint(e, (uint32_t)(n + 1));
	else if (bytes_or_array)
		en_int(e, KT_INT32, n);
	else
		en_int(e, KT_INT16, n);
}

static void
en_string(struct en *e, const uint8_t *s, int64_t n)
{
	en_len(e, 0, n);
	if (n > 0)
		en_put(e, s, (size_t)n);
}

static const struct kafka_entry *
en_entry(const struct en *e)
{
	return e->entry >= 0 ? &e->req->entries[e->entry] : NULL;
}

static void
en_prim(struct en *e, const struct kafka_field *f)
{
	const struct kafka_entry *ent = en_entry(e);
	static const uint8_t zero[16];

	switch (f->type) {
	case KT_STRING:
		if ((f->role == KR_HOST || f->role == KR_RACK) && e->broker >= 0) {
			const char *v = f->role == KR_HOST ? e->cl->brokers[e->broker].host
							     : e->cl->brokers[e->broker].rack;

			en_string(e, (const uint8_t *)v, v != NULL ? (int64_t)strlen(v) : -1);
		} else if (f->role == KR_CLUSTER && e->cl != NULL) {
			en_string(e, (const uint8_t *)e->cl->cluster_id,
				  e->cl->cluster_id != NULL ? (int64_t)strlen(e->cl->cluster_id) : -1);
		} else if (f->role == KR_TOPIC && ent != NULL && (ent->name != NULL || ent->resolved != NULL)) {
			if (ent->name != NULL)
				en_string(e, ent->name, ent->name_len);
			else
				en_string(e, (const uint8_t *)ent->resolved,
					  (int64_t)strlen(ent->resolved));
		} else if (f->role == KR_KEY && e->key >= 0 && e->key < e->req->n_keys &&
			   !e->req->keys[e->key].null) {
			en_string(e, e->req->keys[e->key].s, e->req->keys[e->key].len);
		} else {
			en_len(e, 0, f->def_null ? -1 : 0);
		}
		return;
	case KT_BYTES:
	case KT_RECORDS:
		en_len(e, 1, f->def_null ? -1 : 0);
		return;
	case KT_UUID:
		en_put(e, f->role == KR_TOPICID && ent != NULL && ent->has_id ? ent->id : zero, 16);
		return;
	}
	switch (f->role) {
	case KR_ERR:
		en_int(e, f->type, ent != NULL ? ent->err : e->top_err);
		return;
	case KR_PART:
		en_int(e, f->type, e->part);
		return;
	case KR_RTYPE:
		en_int(e, f->type, ent != NULL ? ent->rtype : f->def);
		return;
	case KR_NODEID:
	case KR_PORT:
		if (e->broker >= 0) {
			en_int(e, f->type, f->role == KR_NODEID ? e->cl->brokers[e->broker].node_id
							      : e->cl->brokers[e->broker].port);
			return;
		}
		break;
	case KR_CONTROLLER:
		if (e->cl != NULL) {
			en_int(e, f->type, e->cl->controller);
			return;
		}
		break;
	}
	en_int(e, f->type, f->def);
}

static void en_fields(struct en *e, const struct kafka_field *fs, uint16_t n);

/* Entries a topics array of the response lists (in the key at hand). */
static int
en_lists(const struct en *e, const struct kafka_entry *ent)
{
	return !ent->forgotten && (e->key < 0 || ent->grp == e->key);
}

static void
en_struct_elem(struct en *e, const struct kafka_field *f)
{
	en_fields(e, f->sub, f->n_sub);
	if (e->flex)
		en_uvarint(e, 0); /* no tagged fields */
}

static void
en_array(struct en *e, const struct kafka_field *f)
{
	const struct kafka_msg *q = e->req;
	int64_t outer_entry = e->entry, outer_key = e->key;
	int64_t count = 0;

	switch (f->role) {
	case KR_TOPICS:
	case KR_RES:
		for (uint32_t i = 0; i < q->n_entries; i++)
			count += en_lists(e, &q->entries[i]);
		en_len(e, 1, count);
		for (uint32_t i = 0; i < q->n_entries; i++) {
			if (!en_lists(e, &q->entries[i]))
				continue;
			e->entry = i;
			en_struct_elem(e, f);
		}
		break;
	case KR_PARTS: {
		const struct kafka_entry *ent = en_entry(e);
		uint32_t np = ent != NULL ? ent->n_parts : 0;

		en_len(e, 1, np);
		for (uint32_t i = 0; i < np; i++) {
			e->part = q->parts[ent->part0 + i];
			if (f->elem != 0)
				en_int(e, f->elem, e->part);
			else
				en_struct_elem(e, f);
		}
		break;
	}
	case KR_BROKERS:
		en_len(e, 1, e->cl != NULL ? e->cl->n_brokers : 0);
		for (uint32_t i = 0; e->cl != NULL && i < e->cl->n_brokers; i++) {
			e->broker = i;
			en_struct_elem(e, f);
		}
		e->broker = -1;
		break;
	case KR_KEYS:
		en_len(e, 1, q->n_keys);
		for (uint32_t i = 0; i < q->n_keys; i++) {
			e->key = i;
			if (f->elem == KT_STRING)
				en_string(e, q->keys[i].s, q->keys[i].null ? -1 : q->keys[i].len);
			else
				en_struct_elem(e, f);
		}
		break;
	default:
		en_len(e, 1, f->def_null ? -1 : 0);
		break;
	}
	e->entry = outer_entry;
	e->key = outer_key;
}

static void
en_fields(struct en *e, const struct kafka_field *fs, uint16_t n)
{
	for (uint16_t j = 0; j < n; j++) {
		const struct kafka_field *f = &fs[j];

		if (e->v < f->vmin || e->v > f->vmax)
			continue;
		if (f->type == KT_ARRAY) {
			en_array(e, f);
		} else if (f->type == KT_STRUCT) {
			if (f->nullable) {
				en_int(e, KT_INT8, f->def_null ? -1 : 1);
				if (f->def_null)
					continue;
			}
			en_struct_elem(e, f);
		} else {
			en_prim(e, f);
		}
	}
}

int
kafka_encode_refusal(const struct kafka_msg *req, int16_t top_err,
		     const struct kafka_cluster *cl, uint8_t **out, size_t *len)
{
	const struct kafka_api *a = kafka_api_get(req->api_key);
	struct en e;

	*out = NULL;
	*len = 0;
	if (a == NULL || req->api_version > a->max_version || a->n_resp == 0)
		return -ENOTSUP;
	memset(&e, 0, sizeof(e));
	e.v = req->api_version;
	e.flex = req->flexible;
	e.req = req;
	e.top_err = top_err;
	e.entry = -1;
	e.key = -1;
	e.broker = -1;
	e.cl = cl;
	en_int(&e, KT_INT32, 0); /* the size, below */
	en_int(&e, KT_INT32, req->correlation_id);
	if (e.flex && req->api_key != KAFKA_API_VERSIONS)
		en_uvarint(&e, 0); /* response header v1 */
	en_fields(&e, a->resp, a->n_resp);
	if (e.flex)
		en_uvarint(&e, 0);
	if (e.failed) {
		free(e.buf);
		return -ENOMEM;
	}
	for (int i = 0; i < 4; i++)
		e.buf[i] = (uint8_t)((e.len - 4) >> (8 * (3 - i)));
	*out = e.buf;
	*len = e.len;
	return 0;
}

/* ---- ApiVersions ------------------------------------------------------------------------- */

int
kafka_cap_api_versions(uint8_t *buf, size_t len, int16_t version)
{
	struct kafka_msg m = { 0 };
	struct dc d = { .m = &m, .entry = -1, .broker = -1 };
	int64_t count;
	int lowered = 0;

	if (len < 10 || 4 + (size_t)be32(buf) != len)
		return -EBADMSG;
	d.r.p = buf + 8; /* header v0 always */
	d.r.end = buf + len;
	if (be16(d.r.p) == 35) /* UNSUPPORTED_VERSION: answered in v0 */
		version = 0;
	d.flex = version >= 3;
	d.r.p += 2;
	if (dc_count(&d, &count) < 0)
		return -EBADMSG;
	for (int64_t i = 0; i < count; i++) {
		uint8_t *p = (uint8_t *)d.r.p;
		const struct kafka_api *a;
		int16_t key, max;

		if (!rd_has(&d.r, 6))
			return -EBADMSG;
		key = (int16_t)be16(p);
		max = (int16_t)be16(p + 4);
		d.r.p += 6;
		if (d.flex && dc_tagged(&d) < 0)
			return -EBADMSG;
		if ((a = kafka_api_get(key)) != NULL && max > a->max_version &&
		    (int16_t)be16(p + 2) <= a->max_version) {
			p[4] = (uint8_t)(a->max_version >> 8);
			p[5] = (uint8_t)a->max_version;
			lowered++;
		}
	}
	return lowered;
}

/* ---- UUIDs -------------------------------------------------------------------------------- */

void
kafka_uuid_text(const uint8_t id[16], char out[23])
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;

	/* Kafka's Uuid.toString(): base64url of the 16 bytes, no padding */
	for (size_t i = 0; i < 16; i += 3) {
		uint32_t v = (uint32_t)id[i] << 16;

		if (i + 1 < 16)
			v |= (uint32_t)id[i + 1] << 8;
		if (i + 2 < 16)
			v |= id[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		if (i + 1 < 16)
			out[o++] = b64[(v >> 6) & 63];
		if (i + 2 < 16)
			out[o++] = b64[v & 63];
	}
	out[o] = '\0';
}
