/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/kafka/kafka_conn.c - one proxied Kafka connection: requests read
 * and decided one after the other, their answers matched by correlation
 * id, flows for both.
 *
 * Requests. A frame that fits the engine's buffer (KAFKA_SMALL_FRAME) is
 * awaited whole and decided in place: forwarded (PASS) or refused (DROP,
 * and the broker-style refusal written back). A larger one (a Produce
 * batch) is first read as a prefix: when its first bytes already name all
 * its topics and the rules allow them, the whole frame is passed as it
 * arrives, without a copy. Otherwise its bytes are collected (DROPped from
 * the engine into our buffer, up to [kafka] max_request) and the whole
 * frame decided: an allowed one is injected back towards the broker.
 *
 * Answers. Kafka answers a connection's requests in order, so a queue of
 * pending requests pairs each response with its request (by correlation
 * id) and carries our own refusals: a refused request queued behind
 * forwarded ones is answered only after their responses went back, so a
 * client that checks the order of correlation ids (the Java client does)
 * sees them in order. Produce with acks=0 expects no answer: forwarded it
 * queues nothing; refused, the connection is closed, as a broker does.
 *
 * Responses are read for flows (the error code of each topic) and to learn
 * topic IDs (Metadata, DescribeTopicPartitions, CreateTopics), in place
 * when they fit the buffer, else from a copy of their first
 * [kafka] response_scan bytes (or all of a Metadata answer up to
 * [kafka] max_metadata) while they pass. ApiVersions answers are lowered
 * to the versions this module reads ([kafka] cap_versions).
 *
 * Fetch sessions (KIP-227): an incremental fetch names only what changed,
 * so the topics of each session are kept from the requests and answers
 * that built it and checked again on every fetch. A session this
 * connection never saw, or an incremental fetch that is refused, gets
 * FETCH_SESSION_ID_NOT_FOUND, and the client starts a full one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bulwark/hook.h>
#include <bulwark/l7.h>
#include <bulwark/module.h>

#include "kafka.h"
#include "kafka_proto.h"
#include "kafka_rules.h"
#include "kafka_topics.h"

/* Frames up to this size are awaited whole in the engine's buffer. */
#define KAFKA_SMALL_FRAME 16384
/*
 * Larger requests are not Kafka's: brokers refuse them (socket.request.
 * max.bytes, 100 MiB by default) and so does the proxy, at once; a TLS
 * ClientHello (16 03 01 ..) reads as one of about 369 MB.
 */
#define KAFKA_MAX_FRAME (100u << 20)
#define KAFKA_MAX_SESSIONS 4

enum { RQ_FRAME, RQ_COLLECT };
enum { RS_FRAME, RS_STREAM, RS_COPY };
enum { HOOK_NONE, HOOK_PENDING, HOOK_ANSWERED };

/* A topic of a pending request (for its response's flows and sessions). */
struct kafka_ptopic {
	const char *name;      /* the name, or an unresolved ID's text */
	uint8_t id[16];
	uint8_t has_id, forgotten;
};

struct kafka_pending {
	struct kafka_pending *next;
	uint64_t start_ns;
	int32_t corr;
	int16_t key, version;
	int32_t fetch_session, fetch_epoch;
	uint8_t local;         /* our answer instead of the broker's */
	uint8_t close_after;   /* close the connection in its turn */
	uint8_t *answer;
	size_t answer_len;
	uint32_t n_topics;
	struct kafka_ptopic topics[];
};

struct kafka_stopic {
	uint8_t has_id;
	uint8_t id[16];
	char *name;
};

struct kafka_session {
	int32_t id;            /* 0: free */
	uint32_t n, cap;
	struct kafka_stopic *t;
};

struct kafka_conn {
	struct kafka_mod *mod;
	bw_l7_conn *conn;
	const struct bw_l7_conn_info *info;
	uint8_t rq, rs;
	uint8_t stop;          /* a closing decision was taken: drop what follows */
	uint8_t injected;      /* something was injected during this call */
	uint8_t rs_unmatched;  /* the response passing answers no known request */
	/* a large request being collected */
	uint8_t *coll;
	size_t coll_len, coll_frame, coll_last;
	/* a large response being read */
	uint8_t *rbuf;
	size_t rbuf_len, rbuf_cap, rs_left;
	struct kafka_pending *q, *q_tail;
	unsigned q_len;
	struct {
		int state;
		uint64_t ticket;
		int32_t corr;
		int deny;
		char *ext;
	} hook;
	struct kafka_topics *ids; /* [kafka] topic_ids = connection */
	struct kafka_session sess[KAFKA_MAX_SESSIONS];
};

/* What the rules and flows look at in one request. */
struct kafka_check {
	const char **names;    /* NUL-terminated; NULL: unknown */
	size_t *lens;
	int *by;
	int16_t *errs;
	uint32_t n, cap;
};

static struct kafka_check chk;

/* ---- scratch ---------------------------------------------------------------------- */

static void
kc_scratch_begin(struct kafka_mod *m, size_t need)
{
	m->scratch_len = 0;
	if (need > m->scratch_cap) {
		char *p = realloc(m->scratch, need);

		if (p != NULL) {
			m->scratch = p;
			m->scratch_cap = need;
		}
	}
}

static char *
kc_sdup(struct kafka_mod *m, const void *s, size_t n)
{
	char *p;

	if (m->scratch == NULL || m->scratch_len + n + 1 > m->scratch_cap)
		return NULL;
	p = m->scratch + m->scratch_len;
	memcpy(p, s, n);
	p[n] = '\0';
	m->scratch_len += n + 1;
	return p;
}

/* n bytes of scratch, aligned for pointers. */
static void *
kc_salloc(struct kafka_mod *m, size_t n)
{
	size_t off = (m->scratch_len + 7) & ~(size_t)7;

	if (m->scratch == NULL || off + n > m->scratch_cap)
		return NULL;
	m->scratch_len = off + n;
	return m->scratch + off;
}

static int
kc_chk_reserve(uint32_t n)
{
	if (n <= chk.cap)
		return 0;
	free(chk.names);
	free(chk.lens);
	free(chk.by);
	free(chk.errs);
	chk.names = calloc(n, sizeof(*chk.names));
	chk.lens = calloc(n, sizeof(*chk.lens));
	chk.by = calloc(n, sizeof(*chk.by));
	chk.errs = calloc(n, sizeof(*chk.errs));
	if (chk.names == NULL || chk.lens == NULL || chk.by == NULL || chk.errs == NULL) {
		chk.cap = 0;
		return -ENOMEM;
	}
	chk.cap = n;
	return 0;
}

/* ---- topic IDs ---------------------------------------------------------------------- */

/* The scope of what this connection's answers teach: the broker's
 * identity node-wide, or 0 in the connection's own map. */
static uint32_t
kc_scope(const struct kafka_conn *kc)
{
	return kc->ids != NULL ? 0 : kc->info->server_identity;
}

static const char *
kc_id_name(struct kafka_conn *kc, const uint8_t id[16])
{
	if (kc->ids != NULL)
		return kafka_topics_get(kc->ids, 0, id);
	return kafka_topics_get(kc->mod->ids, kc->info->server_identity, id);
}

static void
kc_id_learn(struct kafka_conn *kc, const struct kafka_entry *e)
{
	int rc;

	if (!e->has_id || e->name == NULL || e->name_len == 0 || e->err != 0)
		return;
	if (kc->ids != NULL)
		rc = kafka_topics_put(kc->ids, 0, e->id, e->name, e->name_len);
	else
		rc = kafka_topics_put(kc->mod->ids, kc->info->server_identity, e->id,
				      e->name, e->name_len);
	if (rc == 0)
		kc->mod->ids_learnt++;
}

/* The name of a topic entry (NUL-terminated in scratch), or NULL when it
 * names an ID no answer taught us. */
static const char *
kc_entry_name(struct kafka_conn *kc, const struct kafka_entry *e, size_t *len)
{
	const char *s;

	if (e->name != NULL) {
		*len = e->name_len;
		return kc_sdup(kc->mod, e->name, e->name_len);
	}
	if (e->has_id && (s = kc_id_name(kc, e->id)) != NULL) {
		*len = strlen(s);
		return kc_sdup(kc->mod, s, *len);
	}
	*len = 0;
	return NULL;
}

/* ---- fetch sessions ------------------------------------------------------------------- */

static struct kafka_session *
kc_session(struct kafka_conn *kc, int32_t id)
{
	for (int i = 0; i < KAFKA_MAX_SESSIONS; i++)
		if (id != 0 && kc->sess[i].id == id)
			return &kc->sess[i];
	return NULL;
}

static void
kc_session_drop(struct kafka_session *s)
{
	for (uint32_t i = 0; i < s->n; i++)
		free(s->t[i].name);
	free(s->t);
	memset(s, 0, sizeof(*s));
}

static int
kc_stopic_same(const struct kafka_stopic *a, const struct kafka_ptopic *b)
{
	if (a->has_id || b->has_id)
		return a->has_id && b->has_id && memcmp(a->id, b->id, 16) == 0;
	return a->name != NULL && b->name != NULL && strcmp(a->name, b->name) == 0;
}

/* Apply a fetch's topics (and forgotten ones) to session s. */
static void
kc_session_apply(struct kafka_session *s, const struct kafka_pending *p)
{
	for (uint32_t i = 0; i < p->n_topics; i++) {
		const struct kafka_ptopic *t = &p->topics[i];
		uint32_t k;

		for (k = 0; k < s->n; k++)
			if (kc_stopic_same(&s->t[k], t))
				break;
		if (t->forgotten) {
			if (k < s->n) {
				free(s->t[k].name);
				s->t[k] = s->t[--s->n];
			}
			continue;
		}
		if (k < s->n)
			continue;
		if (s->n == s->cap) {
			uint32_t cap = s->cap ? s->cap * 2 : 8;
			struct kafka_stopic *nt = realloc(s->t, cap * sizeof(*nt));

			if (nt == NULL)
				return;
			s->t = nt;
			s->cap = cap;
		}
		s->t[s->n].has_id = t->has_id;
		memcpy(s->t[s->n].id, t->id, 16);
		s->t[s->n].name = t->has_id ? NULL : strdup(t->name);
		s->n++;
	}
}

/* A Fetch answer: start, update or end the session it belongs to. */
static void
kc_session_answer(struct kafka_conn *kc, const struct kafka_pending *p,
		  const struct kafka_msg *r)
{
	struct kafka_session *s = kc_session(kc, p->fetch_session);

	if (r->top_err != 0) {
		if (s != NULL)
			kc_session_drop(s);
		return;
	}
	if (p->fetch_epoch == 0 && r->session_id != 0) {
		/* a new session (a full fetch) */
		if ((s = kc_session(kc, r->session_id)) != NULL)
			kc_session_drop(s);
		s = &kc->sess[0];
		for (int i = 0; i < KAFKA_MAX_SESSIONS; i++)
			if (kc->sess[i].id == 0) {
				s = &kc->sess[i];
				break;
			}
		kc_session_drop(s);
		s->id = r->session_id;
		kc_session_apply(s, p);
	} else if (p->fetch_epoch > 0 && s != NULL) {
		kc_session_apply(s, p);
	} else if (p->fetch_epoch < 0 && s != NULL) {
		kc_session_drop(s); /* the client closed it */
	}
}

/* ---- the queue -------------------------------------------------------------------------- */

static void
kc_pop(struct kafka_conn *kc)
{
	struct kafka_pending *p = kc->q;

	if (p == NULL)
		return;
	kc->q = p->next;
	if (kc->q == NULL)
		kc->q_tail = NULL;
	kc->q_len--;
	free(p->answer);
	free(p);
}

/* The text a topic entry shows in flows: its name, the name its ID was
 * taught, or the ID itself. */
static const char *
kc_entry_text(struct kafka_conn *kc, const struct kafka_entry *e, char txt[23], size_t *len)
{
	const char *s;

	if (e->name != NULL) {
		*len = e->name_len;
		return (const char *)e->name;
	}
	if (e->has_id && (s = kc_id_name(kc, e->id)) != NULL) {
		*len = strlen(s);
		return s;
	}
	if (e->has_id) {
		kafka_uuid_text(e->id, txt);
		*len = strlen(txt);
		return txt;
	}
	*len = 0;
	return "";
}

/* Queue a request (m NULL: one of our answers) with its topics. */
static struct kafka_pending *
kc_push(struct kafka_conn *kc, const struct kafka_msg *m, uint64_t now)
{
	size_t bytes = sizeof(struct kafka_pending);
	struct kafka_pending *p;
	uint32_t n = 0;
	char txt[23], *s;
	size_t len;

	for (uint32_t i = 0; m != NULL && i < m->n_entries; i++) {
		if (!m->entries[i].is_topic)
			continue;
		kc_entry_text(kc, &m->entries[i], txt, &len);
		bytes += sizeof(struct kafka_ptopic) + len + 1;
		n++;
	}
	if ((p = calloc(1, bytes)) == NULL)
		return NULL;
	p->start_ns = now;
	if (m != NULL) {
		p->corr = m->correlation_id;
		p->key = m->api_key;
		p->version = m->api_version;
		p->fetch_session = m->session_id;
		p->fetch_epoch = m->session_epoch;
	}
	p->n_topics = n;
	s = (char *)&p->topics[n];
	for (uint32_t i = 0, t = 0; m != NULL && i < m->n_entries; i++) {
		const struct kafka_entry *e = &m->entries[i];
		const char *text;

		if (!e->is_topic)
			continue;
		text = kc_entry_text(kc, e, txt, &len);
		p->topics[t].has_id = e->has_id && e->name == NULL;
		memcpy(p->topics[t].id, e->id, 16);
		p->topics[t].forgotten = e->forgotten;
		memcpy(s, text, len);
		s[len] = '\0';
		p->topics[t].name = s;
		s += len + 1;
		t++;
	}
	if (kc->q_tail != NULL)
		kc->q_tail->next = p;
	else
		kc->q = p;
	kc->q_tail = p;
	kc->q_len++;
	return p;
}

/*
 * Send our answers that are at the head of the queue; 1 when one of them
 * closes the connection.
 */
static int
kc_flush_locals(struct kafka_conn *kc)
{
	while (kc->q != NULL && kc->q->local) {
		if (kc->q->close_after) {
			kc_pop(kc);
			kc->stop = 1;
			return 1;
		}
		if (kc->q->answer_len > 0 &&
		    kafka_api->l7_inject(kc->conn, BW_L7_DIR_REPLY, kc->q->answer,
					 kc->q->answer_len) == 0)
			kc->injected = 1;
		kc_pop(kc);
	}
	return 0;
}

/* ---- flows ---------------------------------------------------------------------------- */

static void
kc_record(struct kafka_conn *kc, int16_t key, int16_t version, int32_t corr,
	  enum bw_flow_l7_type type, int verdict, const char *const *topics,
	  const int *by, const int16_t *errs, uint32_t n, int16_t err0, uint64_t latency,
	  const char *by_name, const char *reason, const char *ext)
{
	char keybuf[8];
	struct bw_flow_kafka k = {
		.api_version = version,
		.api_key = kafka_api_flow_name(key, keybuf, sizeof(keybuf)),
		.correlation_id = corr,
	};
	struct bw_flow_l7 l7 = { .size = sizeof(l7), .type = type, .latency_ns = latency,
				 .kafka = &k };
	struct bw_l7_record rec = { .size = sizeof(rec), .l7 = &l7, .verdict = verdict,
				    .verdict_by = by_name, .verdict_reason = reason,
				    .extensions_json = ext };

	/* one record per topic, as Cilium's Kafka proxy logs them; one
	 * without a topic for a request that names none */
	for (uint32_t i = 0; i < (n > 0 ? n : 1); i++) {
		k.topic = n > 0 ? topics[i] : "";
		k.error_code = type == BW_FLOW_L7_REQUEST ? 0 : (n > 0 && errs ? errs[i] : err0);
		rec.rule = by != NULL && n > 0 ? by[i] : -1;
		if (verdict != BW_FLOW_VERDICT_FORWARDED)
			rec.rule = -1;
		kafka_api->l7_record(kc->conn, &rec);
	}
}

static void
kc_count(struct kafka_conn *kc, int16_t key, int v)
{
	if (key >= 0 && key <= KAFKA_MAX_KEY)
		kc->mod->requests[key][v]++;
}

/* ---- decision hooks (Lua on_kafka) ------------------------------------------------------ */

static void
kc_hook_clear(struct kafka_conn *kc)
{
	free(kc->hook.ext);
	memset(&kc->hook, 0, sizeof(kc->hook));
}

static void
kc_hook_done(const struct bw_hook_result *res, void *ud)
{
	struct kafka_conn *kc = ud;

	kc->hook.state = HOOK_ANSWERED;
	kc->hook.deny = res->verdict != BW_HOOK_ALLOW;
	kc->hook.ext = res->extensions_json != NULL ? strdup(res->extensions_json) : NULL;
	kafka_api->l7_resume(kc->conn, BW_L7_DIR_REQUEST);
}

static void
kc_hook_peer(struct kafka_mod *m, struct bw_hook_peer *p, const uint8_t *addr,
	     uint16_t port, uint32_t identity, const char *ns, const char *pod, int v6)
{
	char ip[48];

	memset(p, 0, sizeof(*p));
	inet_ntop(v6 ? AF_INET6 : AF_INET, addr, ip, sizeof(ip));
	p->ip = kc_sdup(m, ip, strlen(ip));
	p->port = port;
	p->identity = identity;
	p->ns = ns;
	p->pod = pod;
}

/*
 * Ask the rule scripts about a request the rules allow: 1 answered (or no
 * script hooks Kafka: allowed), 0 the answer comes later (wait).
 */
static int
kc_hook_ask(struct kafka_conn *kc, const struct kafka_msg *m, uint32_t n)
{
	struct kafka_mod *mod = kc->mod;
	const struct bw_l7_conn_info *ci = kc->info;
	struct bw_hook_kafka req = { .size = sizeof(req) };
	int ingress = ci->direction == BW_FLOW_TRAFFIC_INGRESS, v6 = ci->ip_version == 6;
	const char **topics;
	int rc;

	if (kc->hook.state != HOOK_NONE && kc->hook.corr != m->correlation_id)
		kc_hook_clear(kc); /* an answer about an earlier request */
	if (kc->hook.state == HOOK_ANSWERED)
		return 1;
	if (kc->hook.state == HOOK_PENDING)
		return 0;
	if (!BW_API_HAS(kafka_api, hook_kafka) ||
	    !(kafka_api->hook_active(mod->ctx) & BW_HOOK_F_KAFKA))
		return 1;
	req.api_key = (uint16_t)m->api_key;
	req.api_version = (uint16_t)m->api_version;
	req.correlation_id = m->correlation_id;
	req.client_id = m->client_id != NULL ? kc_sdup(mod, m->client_id, m->client_id_len) : NULL;
	topics = kc_salloc(mod, (n + 1) * sizeof(char *));
	if (topics != NULL) {
		for (uint32_t i = 0; i < n; i++)
			topics[i] = chk.names[i] != NULL ? chk.names[i] : "";
		req.topics = topics;
		req.n_topics = n;
	}
	kc_hook_peer(mod, &req.source, ci->client_addr, ci->client_port, ci->client_identity,
		     ingress ? NULL : ci->endpoint_ns, ingress ? NULL : ci->endpoint_pod, v6);
	kc_hook_peer(mod, &req.destination, ci->server_addr, ci->server_port,
		     ci->server_identity, ingress ? ci->endpoint_ns : NULL,
		     ingress ? ci->endpoint_pod : NULL, v6);
	kc->hook.corr = m->correlation_id;
	rc = kafka_api->hook_kafka(mod->ctx, &req, kc_hook_done, kc, &kc->hook.ticket);
	if (rc == BW_HOOK_NONE)
		return 1;
	if (rc == BW_HOOK_PENDING) {
		if (kc->hook.state == HOOK_NONE)
			kc->hook.state = HOOK_PENDING;
		return kc->hook.state == HOOK_ANSWERED;
	}
	kc->hook.state = HOOK_ANSWERED;
	kc->hook.deny = 1;
	return 1;
}

/* ---- requests ------------------------------------------------------------------------- */

/* How a request was decided (mapped to engine operations by the caller). */
enum { OUT_MORE, OUT_COLLECT, OUT_WAIT, OUT_FORWARD, OUT_REFUSED, OUT_CLOSE };

/* The error a refusal carries outside topic entries. */
static int16_t
kc_top_err(const struct kafka_api *a, const struct kafka_msg *m, uint32_t listed)
{
	if (a == NULL)
		return KAFKA_ERR_CLUSTER_AUTH;
	if (m->api_key == KAFKA_FIND_COORDINATOR)
		return m->keytype == 1 ? KAFKA_ERR_TXN_AUTH : KAFKA_ERR_GROUP_AUTH;
	if (m->api_key == KAFKA_INIT_PRODUCER_ID)
		return m->txnid ? KAFKA_ERR_TXN_AUTH : KAFKA_ERR_CLUSTER_AUTH;
	if (a->resp_topic_err && listed > 0)
		return KAFKA_ERR_NONE;
	return a->deny_err;
}

/* Queue (or send now) our answer to a refused request, or a close. */
static int
kc_refuse(struct kafka_conn *kc, struct kafka_msg *m, const struct kafka_api *a,
	  uint32_t n, uint64_t now)
{
	struct kafka_pending *p;
	uint8_t *ans = NULL;
	size_t len = 0;
	int close = 0, incremental = m->api_key == KAFKA_FETCH && m->session_epoch > 0;
	uint32_t listed = 0, unknown = 0, denied_known = 0;
	int16_t top;

	if (m->api_key == KAFKA_PRODUCE && m->acks == 0) {
		close = 1; /* no answer expected: a broker closes the connection */
	} else {
		/* errors per entry: an ID we cannot name is UNKNOWN_TOPIC_ID (the
		 * client refreshes its metadata, which teaches us the name) */
		for (uint32_t i = 0, t = 0; i < m->n_entries; i++) {
			struct kafka_entry *e = &m->entries[i];

			if (e->forgotten)
				continue;
			listed++;
			if (!e->is_topic)
				continue;
			if (t < n && chk.names[t] == NULL)
				unknown++;
			else if (t < n && chk.by[t] < 0)
				denied_known++;
			t++;
		}
		for (uint32_t i = 0, t = 0; i < m->n_entries; i++) {
			struct kafka_entry *e = &m->entries[i];

			if (e->forgotten) {
				e->err = 0;
				continue;
			}
			if (!e->is_topic) {
				e->err = KAFKA_ERR_CLUSTER_AUTH;
				continue;
			}
			e->err = (t < n && chk.names[t] == NULL) || (unknown > 0 && denied_known == 0)
					 ? KAFKA_ERR_UNKNOWN_TOPIC_ID : KAFKA_ERR_TOPIC_AUTH;
			e->resolved = t < n ? chk.names[t] : NULL;
			t++;
		}
		top = kc_top_err(a, m, listed);
		if (incremental) {
			/* the client starts a full session, which is checked whole */
			struct kafka_session *s = kc_session(kc, m->session_id);

			if (s != NULL)
				kc_session_drop(s);
			m->n_entries = 0;
			top = KAFKA_ERR_SESSION_NOT_FOUND;
		}
		if (kafka_encode_refusal(m, top, kafka_clusters_get(kc->mod->clusters,
								    kc_scope(kc)),
					 &ans, &len) < 0)
			close = 1; /* nothing to answer with: as for an unknown request */
	}
	if (close)
		kc->mod->closes++;
	else
		kc->mod->refusals++;
	if (kc->q == NULL) {
		if (close) {
			kc->stop = 1;
			free(ans);
			return OUT_CLOSE;
		}
		if (kafka_api->l7_inject(kc->conn, BW_L7_DIR_REPLY, ans, len) == 0)
			kc->injected = 1;
		free(ans);
		return OUT_REFUSED;
	}
	if ((p = kc_push(kc, NULL, now)) == NULL) {
		free(ans);
		return -ENOMEM;
	}
	p->local = 1;
	p->close_after = (uint8_t)close;
	p->answer = ans;
	p->answer_len = len;
	if (close)
		kc->stop = 1; /* nothing after it is read */
	return OUT_REFUSED;
}

/* The names a request's topics are checked under (into chk). */
static int
kc_check_list(struct kafka_conn *kc, const struct kafka_msg *m, const struct kafka_api *a,
	      uint32_t *n_out, uint32_t *n_req, int *topic_check)
{
	struct kafka_session *s = NULL;
	uint32_t n = 0, need = m->n_entries + 1;

	if (m->api_key == KAFKA_FETCH && m->session_epoch > 0 &&
	    (s = kc_session(kc, m->session_id)) != NULL)
		need += s->n;
	if (kc_chk_reserve(need) < 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < m->n_entries; i++) {
		const struct kafka_entry *e = &m->entries[i];

		if (!e->is_topic || e->forgotten)
			continue;
		chk.names[n] = kc_entry_name(kc, e, &chk.lens[n]);
		if (chk.names[n] == NULL && e->has_id)
			kc->mod->unknown_ids++;
		n++;
	}
	*n_req = n;
	/* the session's topics that this fetch does not forget */
	for (uint32_t k = 0; s != NULL && k < s->n; k++) {
		const struct kafka_stopic *st = &s->t[k];
		int forgotten = 0;

		for (uint32_t i = 0; i < m->n_entries; i++) {
			const struct kafka_entry *e = &m->entries[i];

			if (e->forgotten && ((st->has_id && e->has_id && !memcmp(st->id, e->id, 16)) ||
					     (!st->has_id && e->name != NULL &&
					      strlen(st->name) == e->name_len &&
					      !memcmp(st->name, e->name, e->name_len))))
				forgotten = 1;
		}
		if (forgotten)
			continue;
		if (st->has_id) {
			const char *nm = kc_id_name(kc, st->id);

			chk.names[n] = nm != NULL ? kc_sdup(kc->mod, nm, strlen(nm)) : NULL;
			chk.lens[n] = nm != NULL ? strlen(nm) : 0;
		} else {
			chk.names[n] = st->name;
			chk.lens[n] = strlen(st->name);
		}
		n++;
	}
	if (a == NULL || !m->known) {
		/* not read: a request of a topic key names topics we do not know */
		*topic_check = kafka_key_names_topics(m->api_key);
		if (*topic_check) {
			chk.names[n] = NULL;
			chk.lens[n] = 0;
			n++;
		}
	} else {
		*topic_check = a->topic_key;
		if (a->topics_optional && n == 0 && !m->regex)
			*topic_check = 0;
		if (m->regex) {
			chk.names[n] = NULL; /* a pattern: its topics are not known */
			chk.lens[n] = 0;
			n++;
		}
	}
	*n_out = n;
	return 0;
}

/* Texts for flows of the request's own topics (chk[0..n)): names, or
 * the text of an ID we could not name. */
static const char **
kc_flow_names(struct kafka_conn *kc, const struct kafka_msg *m, uint32_t n)
{
	const char **out = kc_salloc(kc->mod, (n + 1) * sizeof(char *));
	uint32_t t = 0;

	if (out == NULL)
		return NULL;
	for (uint32_t i = 0; i < m->n_entries && t < n; i++) {
		const struct kafka_entry *e = &m->entries[i];
		char txt[23];

		if (!e->is_topic || e->forgotten)
			continue;
		if (chk.names[t] != NULL) {
			out[t] = chk.names[t];
		} else if (e->has_id) {
			kafka_uuid_text(e->id, txt);
			out[t] = kc_sdup(kc->mod, txt, strlen(txt));
		} else {
			out[t] = NULL;
		}
		if (out[t] == NULL)
			out[t] = "";
		t++;
	}
	for (; t < n; t++)
		out[t] = "";
	return out;
}

/*
 * Decide a request whose first len bytes (of frame) are in buf. Returns
 * an OUT_* value (with *need for OUT_MORE) or a negative errno.
 */
static int
kc_decide(struct kafka_conn *kc, const struct bw_l7_input *in, const uint8_t *buf,
	  size_t len, size_t frame, size_t *need)
{
	struct kafka_mod *mod = kc->mod;
	struct kafka_msg *m = &mod->req;
	const struct kafka_api *a;
	const char *ext = NULL, *by_name = NULL, *reason = NULL;
	const char **names;
	uint32_t n = 0, n_req = 0;
	int topic_check, rule, rc, allowed;

	rc = kafka_decode_request(buf, len, m);
	if (rc == KAFKA_SHORT) {
		*need = len < KAFKA_SMALL_FRAME ? KAFKA_SMALL_FRAME : len + 1;
		return OUT_MORE;
	}
	if (rc < 0)
		return rc;
	if (len < frame && !m->complete) {
		/* the topics are further in: more of the frame, or all of it */
		if (len < KAFKA_SMALL_FRAME) {
			*need = KAFKA_SMALL_FRAME;
			return OUT_MORE;
		}
		return OUT_COLLECT;
	}
	a = kafka_api_get(m->api_key);
	if (a != NULL && m->api_version > a->max_version)
		a = NULL;
	{
		/* room for every name (Kafka's are at most 249 bytes, the wire
		 * allows 32767), ID texts, pointer arrays, the hook's strings */
		size_t room = 4096 + m->client_id_len;
		const struct kafka_session *ss = m->api_key == KAFKA_FETCH && m->session_epoch > 0
						 ? kc_session(kc, m->session_id) : NULL;

		for (uint32_t i = 0; i < m->n_entries; i++)
			room += (size_t)m->entries[i].name_len + 300;
		if (ss != NULL)
			room += (size_t)ss->n * 300;
		kc_scratch_begin(mod, room);
	}
	if ((rc = kc_check_list(kc, m, a, &n, &n_req, &topic_check)) < 0)
		return rc;
	if (in->rules == NULL) {
		rule = -1; /* visibility only */
		allowed = 1;
		for (uint32_t i = 0; i < n; i++)
			chk.by[i] = -1;
	} else {
		struct kafka_req_view v = {
			.api_key = m->api_key, .api_version = m->api_version,
			.client_id = m->client_id, .client_id_len = m->client_id_len,
			.topic_check = topic_check, .topics = chk.names,
			.topic_lens = chk.lens, .n_topics = n,
		};

		rule = kafka_rules_match(in->rules, &v, chk.by);
		allowed = rule >= 0;
	}
	if (!allowed && len < frame)
		return OUT_COLLECT; /* a refusal echoes every partition: read them all */
	if (allowed) {
		if (kc_hook_ask(kc, m, n_req) == 0)
			return OUT_WAIT; /* kc_hook_done() resumes us */
		if (kc->hook.state == HOOK_ANSWERED) {
			ext = kc->hook.ext;
			if (kc->hook.deny) {
				allowed = 0;
				if (ext == NULL) {
					by_name = "lua";
					reason = "a decision hook denied the request";
				}
				if (len < frame) {
					/* keep the answer for the whole frame */
					return OUT_COLLECT;
				}
			}
		}
	}
	names = kc_flow_names(kc, m, n_req);
	kc_record(kc, m->api_key, m->api_version, m->correlation_id, BW_FLOW_L7_REQUEST,
		  allowed ? BW_FLOW_VERDICT_FORWARDED : BW_FLOW_VERDICT_DROPPED,
		  names, chk.by, NULL, names != NULL ? n_req : 0, 0, 0, by_name, reason, ext);
	kc_count(kc, m->api_key, allowed ? KAFKA_V_FORWARDED : KAFKA_V_DROPPED);
	if (allowed) {
		kc_hook_clear(kc);
		/* acks=0: no answer will come */
		if (!(m->api_key == KAFKA_PRODUCE && m->acks == 0) && kc_push(kc, m, in->now_ns) == NULL)
			return -ENOMEM;
		return OUT_FORWARD;
	}
	kc_hook_clear(kc);
	return kc_refuse(kc, m, a, n, in->now_ns);
}

/* A request we cannot read: an ERROR flow, then close. */
static int
kc_bad_request(struct kafka_conn *kc, const struct bw_l7_input *in, int rc, size_t *n)
{
	struct kafka_msg *m = &kc->mod->req;
	const char *reason = rc == -E2BIG ? "request too large to decide"
			     : rc == -ENOMEM ? "out of memory"
			     : "malformed Kafka request";

	if (rc == -ENOMEM)
		return rc;
	kc_record(kc, m->api_key, m->api_version, m->correlation_id, BW_FLOW_L7_REQUEST,
		  BW_FLOW_VERDICT_ERROR, NULL, NULL, NULL, 0, KAFKA_ERR_CORRUPT_MESSAGE, 0,
		  "kafka", reason, NULL);
	kc_count(kc, m->api_key, KAFKA_V_ERROR);
	kc->stop = 1;
	kc->rq = RQ_FRAME;
	*n = 0;
	(void)in;
	return BW_L7_CLOSE;
}

static int
kc_collect_start(struct kafka_conn *kc, const struct bw_l7_input *in, size_t frame,
		 size_t *n)
{
	if ((int64_t)frame > kc->mod->conf->max_request)
		return kc_bad_request(kc, in, -E2BIG, n);
	free(kc->coll);
	if ((kc->coll = malloc(frame)) == NULL)
		return -ENOMEM;
	kc->coll_frame = frame;
	kc->coll_len = in->len < frame ? in->len : frame;
	memcpy(kc->coll, in->data, kc->coll_len);
	kc->coll_last = kc->coll_len;
	kc->rq = RQ_COLLECT;
	if (kc->coll_len < frame) {
		*n = kc->coll_len;
		return BW_L7_DROP;
	}
	return -EAGAIN; /* complete already: decide now */
}

static void
kc_collect_end(struct kafka_conn *kc)
{
	kc->rq = RQ_FRAME;
	free(kc->coll);
	kc->coll = NULL;
	kc->coll_len = kc->coll_frame = kc->coll_last = 0;
}

/* A collected frame is complete (its last coll_last bytes still undecided). */
static int
kc_collected(struct kafka_conn *kc, const struct bw_l7_input *in, size_t *n)
{
	size_t need = 0;
	int out = kc_decide(kc, in, kc->coll, kc->coll_frame, kc->coll_frame, &need);

	if (out < 0)
		return out == -ENOMEM ? out : kc_bad_request(kc, in, out, n);
	switch (out) {
	case OUT_WAIT:
		return BW_L7_WAIT;
	case OUT_FORWARD:
		if (kafka_api->l7_inject(kc->conn, BW_L7_DIR_REQUEST, kc->coll,
					 kc->coll_frame) < 0) {
			kc_collect_end(kc);
			*n = 0;
			return BW_L7_CLOSE;
		}
		*n = kc->coll_last;
		kc_collect_end(kc);
		return BW_L7_DROP;
	case OUT_REFUSED:
		*n = kc->coll_last;
		kc_collect_end(kc);
		return BW_L7_DROP;
	case OUT_CLOSE:
		kc_collect_end(kc);
		*n = 0;
		return BW_L7_CLOSE;
	}
	/* OUT_MORE / OUT_COLLECT cannot happen on a whole frame */
	kc_collect_end(kc);
	return kc_bad_request(kc, in, -EBADMSG, n);
}

static int
kc_collect(struct kafka_conn *kc, const struct bw_l7_input *in, size_t *n)
{
	if (kc->coll_len < kc->coll_frame) {
		size_t k = kc->coll_frame - kc->coll_len;

		if (in->len == 0)
			return in->eos ? kc_bad_request(kc, in, -EBADMSG, n) : BW_L7_MORE;
		if (k > in->len)
			k = in->len;
		memcpy(kc->coll + kc->coll_len, in->data, k);
		kc->coll_len += k;
		kc->coll_last = k;
		if (kc->coll_len < kc->coll_frame) {
			*n = k;
			return BW_L7_DROP;
		}
	}
	return kc_collected(kc, in, n);
}

static int
kc_request(struct kafka_conn *kc, const struct bw_l7_input *in, size_t *n)
{
	struct kafka_msg *m = &kc->mod->req;
	size_t need = 0, frame;
	int rc, out;

	*n = 0;
	if (kc->stop) {
		*n = in->len;
		return in->len > 0 ? BW_L7_DROP : BW_L7_PASS;
	}
	if (kc->rq == RQ_COLLECT)
		return kc_collect(kc, in, n);
	if (in->len == 0)
		return in->eos ? BW_L7_PASS : BW_L7_MORE;
	if (kc->q_len >= (unsigned)kc->mod->conf->max_pipeline)
		return BW_L7_WAIT; /* answers first */
	rc = kafka_decode_header(in->data, in->len, m, &need);
	if (in->len >= 4 && ((uint32_t)in->data[0] << 24 | (uint32_t)in->data[1] << 16 |
			     (uint32_t)in->data[2] << 8 | in->data[3]) > KAFKA_MAX_FRAME)
		return kc_bad_request(kc, in, -EBADMSG, n);
	if (rc == KAFKA_SHORT) {
		if (in->eos)
			return kc_bad_request(kc, in, -EBADMSG, n);
		*n = need > in->len ? need : in->len + 1;
		return BW_L7_MORE;
	}
	if (rc < 0)
		return kc_bad_request(kc, in, rc, n);
	frame = 4 + (size_t)m->size;
	if (frame > in->len && frame <= KAFKA_SMALL_FRAME) {
		if (in->eos)
			return kc_bad_request(kc, in, -EBADMSG, n);
		*n = frame;
		return BW_L7_MORE;
	}
	out = kc_decide(kc, in, in->data, frame < in->len ? frame : in->len, frame, &need);
	if (out < 0)
		return out == -ENOMEM ? out : kc_bad_request(kc, in, out, n);
	switch (out) {
	case OUT_MORE:
		if (in->eos)
			return kc_bad_request(kc, in, -EBADMSG, n);
		*n = need < frame ? need : frame;
		return BW_L7_MORE;
	case OUT_COLLECT:
		rc = kc_collect_start(kc, in, frame, n);
		return rc == -EAGAIN ? kc_collected(kc, in, n) : rc;
	case OUT_WAIT:
		return BW_L7_WAIT;
	case OUT_FORWARD:
		*n = frame;
		return BW_L7_PASS;
	case OUT_REFUSED:
		*n = frame;
		return BW_L7_DROP;
	case OUT_CLOSE:
		*n = 0;
		return BW_L7_CLOSE;
	}
	return -EINVAL;
}

/* ---- responses --------------------------------------------------------------------------- */

/* Keys whose answers name topics with their IDs. */
static int
kc_teaches_ids(int16_t key)
{
	return key == KAFKA_METADATA || key == 75 /* DescribeTopicPartitions */ ||
	       key == 19 /* CreateTopics */;
}

/* The answer to the request at the head of the queue went by (buf holds
 * it, or its first len bytes): learn, flow, pop. */
static void
kc_response_done(struct kafka_conn *kc, const uint8_t *buf, size_t len, uint64_t now)
{
	struct kafka_mod *mod = kc->mod;
	struct kafka_pending *p = kc->q;
	struct kafka_msg *r = &mod->rsp;
	const char **names;
	int16_t *errs;
	int rc;

	if (p == NULL || p->local)
		return;
	rc = kafka_decode_response(buf, len, p->key, p->version, r);
	if (rc < 0)
		r->n_entries = 0;
	for (uint32_t i = 0; i < r->n_entries; i++)
		kc_id_learn(kc, &r->entries[i]);
	if (p->key == KAFKA_METADATA && rc == KAFKA_OK && r->complete)
		kafka_clusters_put(mod->clusters, kc_scope(kc), r);
	if (p->key == KAFKA_FETCH && rc == KAFKA_OK && r->known)
		kc_session_answer(kc, p, r);
	/* each topic of the request with the error its answer gave it */
	if (kc_chk_reserve(p->n_topics + 1) == 0) {
		uint32_t nt = 0;

		errs = chk.errs;
		names = (const char **)chk.names;
		for (uint32_t i = 0; i < p->n_topics; i++) {
			const struct kafka_ptopic *t = &p->topics[i];

			if (t->forgotten)
				continue;
			names[nt] = t->name;
			errs[nt] = r->top_err;
			for (uint32_t k = 0; k < r->n_entries; k++) {
				const struct kafka_entry *e = &r->entries[k];

				if ((t->has_id && e->has_id && !memcmp(t->id, e->id, 16)) ||
				    (!t->has_id && e->name != NULL && strlen(t->name) == e->name_len &&
				     !memcmp(t->name, e->name, e->name_len))) {
					errs[nt] = e->err;
					break;
				}
			}
			nt++;
		}
		kc_record(kc, p->key, p->version, p->corr, BW_FLOW_L7_RESPONSE,
			  BW_FLOW_VERDICT_FORWARDED, names, NULL, errs, nt,
			  r->top_err, now > p->start_ns ? now - p->start_ns : 0, NULL, NULL, NULL);
	}
	mod->responses++;
	kc_pop(kc);
}

static int
kc_rbuf_put(struct kafka_conn *kc, const uint8_t *d, size_t k, size_t max)
{
	if (kc->rbuf_len + k > max)
		k = max > kc->rbuf_len ? max - kc->rbuf_len : 0;
	if (k == 0)
		return 0;
	if (kc->rbuf_len + k > kc->rbuf_cap) {
		size_t cap = kc->rbuf_len + k;
		uint8_t *nb = realloc(kc->rbuf, cap);

		if (nb == NULL)
			return -ENOMEM;
		kc->rbuf = nb;
		kc->rbuf_cap = cap;
	}
	memcpy(kc->rbuf + kc->rbuf_len, d, k);
	kc->rbuf_len += k;
	return 0;
}

static void
kc_rbuf_reset(struct kafka_conn *kc)
{
	kc->rbuf_len = 0;
	if (kc->rbuf_cap > 65536) {
		free(kc->rbuf);
		kc->rbuf = NULL;
		kc->rbuf_cap = 0;
	}
}

/* Lower an ApiVersions answer to what we read: the rewritten copy is
 * injected and the original dropped. 1 when rewritten. */
static int
kc_cap_versions(struct kafka_conn *kc, const struct bw_l7_input *in, size_t frame)
{
	uint8_t *copy;
	int lowered;

	if (!kc->mod->conf->cap_versions || (copy = malloc(frame)) == NULL)
		return 0;
	memcpy(copy, in->data, frame);
	lowered = kafka_cap_api_versions(copy, frame, kc->q->version);
	if (lowered > 0 &&
	    kafka_api->l7_inject(kc->conn, BW_L7_DIR_REPLY, copy, frame) == 0) {
		free(copy);
		return 1;
	}
	free(copy);
	return 0;
}

static int
kc_response(struct kafka_conn *kc, const struct bw_l7_input *in, size_t *n)
{
	struct kafka_pending *p;
	size_t frame, k;
	int32_t size, corr;
	int rewritten = 0;

	*n = 0;
	if (kc->rs == RS_STREAM) {
		/* the rest of a large answer went by */
		if (!kc->rs_unmatched)
			kc_response_done(kc, kc->rbuf, kc->rbuf_len, in->now_ns);
		kc->rs = RS_FRAME;
		kc->rs_unmatched = 0;
		kc_rbuf_reset(kc);
		if (kc_flush_locals(kc))
			return BW_L7_CLOSE;
		if (in->len == 0)
			return BW_L7_PASS;
	}
	if (kc->rs == RS_COPY) {
		k = in->len < kc->rs_left ? in->len : kc->rs_left;
		if (kc_rbuf_put(kc, in->data, k, (size_t)-1) < 0)
			return -ENOMEM;
		kc->rs_left -= k;
		*n = k;
		if (kc->rs_left > 0)
			return k > 0 ? BW_L7_PASS : BW_L7_MORE;
		kc_response_done(kc, kc->rbuf, kc->rbuf_len, in->now_ns);
		kc->rs = RS_FRAME;
		kc_rbuf_reset(kc);
		return kc_flush_locals(kc) ? BW_L7_CLOSE : BW_L7_PASS;
	}
	if (kc_flush_locals(kc))
		return BW_L7_CLOSE;
	if (in->len == 0)
		return in->eos || kc->injected ? BW_L7_PASS : BW_L7_MORE;
	if (in->len < 8) {
		if (in->eos) {
			*n = in->len;
			return BW_L7_PASS;
		}
		*n = 8;
		return BW_L7_MORE;
	}
	size = (int32_t)((uint32_t)in->data[0] << 24 | (uint32_t)in->data[1] << 16 |
			 (uint32_t)in->data[2] << 8 | in->data[3]);
	corr = (int32_t)((uint32_t)in->data[4] << 24 | (uint32_t)in->data[5] << 16 |
			 (uint32_t)in->data[6] << 8 | in->data[7]);
	if (size < 4) {
		/* not Kafka: nothing after this can be framed */
		kc->stop = 1;
		return BW_L7_CLOSE;
	}
	frame = 4 + (size_t)size;
	p = kc->q;
	if (p == NULL || p->corr != corr) {
		/* an answer to no request we know: let it by, unrecorded */
		*n = frame;
		if (frame > in->len) {
			kc->rs = RS_STREAM;
			kc->rs_unmatched = 1;
		}
		return BW_L7_PASS;
	}
	if (frame <= in->len) {
		if (p->key == KAFKA_API_VERSIONS)
			rewritten = kc_cap_versions(kc, in, frame);
		kc_response_done(kc, in->data, frame, in->now_ns);
		*n = frame;
		if (kc_flush_locals(kc)) {
			if (rewritten)
				*n = 0;
			return BW_L7_CLOSE;
		}
		return rewritten ? BW_L7_DROP : BW_L7_PASS;
	}
	if (frame <= KAFKA_SMALL_FRAME) {
		if (in->eos) {
			*n = in->len;
			return BW_L7_PASS;
		}
		*n = frame;
		return BW_L7_MORE;
	}
	kc->rbuf_len = 0;
	if (kc_teaches_ids(p->key) && (int64_t)frame <= kc->mod->conf->max_metadata) {
		/* all of it, as it passes: the IDs are learnt at its end */
		kc->rs = RS_COPY;
		kc->rs_left = frame;
		k = in->len;
		if (kc_rbuf_put(kc, in->data, k, (size_t)-1) < 0)
			return -ENOMEM;
		kc->rs_left -= k;
		*n = k;
		return BW_L7_PASS;
	}
	/* its first bytes for the flow; the rest passes unseen */
	if (kc_rbuf_put(kc, in->data, in->len, (size_t)kc->mod->conf->response_scan) < 0)
		return -ENOMEM;
	kc->rs = RS_STREAM;
	*n = frame;
	return BW_L7_PASS;
}

/* ---- the parser's callbacks -------------------------------------------------------------- */

int
kafka_conn_data(void *state, const struct bw_l7_input *in, size_t *n)
{
	struct kafka_conn *kc = state;

	kc->injected = 0;
	if (in->dir == BW_L7_DIR_REQUEST)
		return kc_request(kc, in, n);
	return kc_response(kc, in, n);
}

int
kafka_conn_open(void *ud, bw_l7_conn *conn, const struct bw_l7_conn_info *info,
		void **state)
{
	struct kafka_mod *mod = ud;
	struct kafka_conn *kc = calloc(1, sizeof(*kc));

	if (kc == NULL)
		return -ENOMEM;
	kc->mod = mod;
	kc->conn = conn;
	kc->info = info;
	if (mod->conf->topic_ids == KAFKA_IDS_CONNECTION &&
	    (kc->ids = kafka_topics_new((size_t)mod->conf->topic_ids_max)) == NULL) {
		free(kc);
		return -ENOMEM;
	}
	*state = kc;
	return 0;
}

void
kafka_conn_abort(void *state, enum bw_l7_abort why, enum bw_l7_dir dir)
{
	struct kafka_conn *kc = state;
	struct kafka_msg *m = &kc->mod->req;

	/* Kafka has no answer for "too large" or "server unreachable": the
	 * client sees the connection close; the flow says why */
	if (dir == BW_L7_DIR_REQUEST && why != BW_L7_ABORT_UPSTREAM) {
		kc_record(kc, m->api_key, m->api_version, m->correlation_id, BW_FLOW_L7_REQUEST,
			  BW_FLOW_VERDICT_ERROR, NULL, NULL, NULL, 0, 0, 0, "kafka",
			  why == BW_L7_ABORT_TOO_LARGE ? "request larger than [proxy] max_message_head"
						       : "request too slow ([proxy] head_timeout)",
			  NULL);
		kc_count(kc, m->api_key, KAFKA_V_ERROR);
	}
}

void
kafka_conn_close(void *state)
{
	struct kafka_conn *kc = state;

	if (kc->hook.state == HOOK_PENDING)
		kafka_api->hook_cancel(kc->mod->ctx, kc->hook.ticket);
	kc_hook_clear(kc);
	while (kc->q != NULL)
		kc_pop(kc);
	for (int i = 0; i < KAFKA_MAX_SESSIONS; i++)
		kc_session_drop(&kc->sess[i]);
	kafka_topics_free(kc->ids);
	free(kc->coll);
	free(kc->rbuf);
	free(kc);
}

/* Free the module-wide check arrays (module fini). */
void kafka_conn_fini(void);

void
kafka_conn_fini(void)
{
	free(chk.names);
	free(chk.lens);
	free(chk.by);
	free(chk.errs);
	memset(&chk, 0, sizeof(chk));
}
