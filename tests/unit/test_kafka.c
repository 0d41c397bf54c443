/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_kafka.c - the kafka module on the real proxy engine,
 * byte by byte: a client socket and a scripted broker socket (the test
 * writes the broker's answers), the redirect played by classify(). What
 * each side receives is checked exactly, for what Debian's clients do not
 * send (flexible Fetch, topic IDs, fetch sessions, large batches) and the
 * ordering the engine must keep:
 *
 *   - pipelined requests: a refusal is answered in its turn, after the
 *     broker's answers to the requests before it;
 *   - a large single-topic Produce passes as it arrives; a large
 *     two-topic one is collected and reaches the broker byte for byte; a
 *     large refused one never does;
 *   - acks=0 refused behind a pending request: its answer, then a close;
 *   - topic IDs (Fetch v13+) allowed once a Metadata answer named them,
 *     UNKNOWN_TOPIC_ID before, TOPIC_AUTHORIZATION_FAILED for a known
 *     refused one;
 *   - fetch sessions: an incremental fetch of an allowed session passes,
 *     one of a session never seen gets FETCH_SESSION_ID_NOT_FOUND;
 *   - ApiVersions answers lowered to what the module reads;
 *   - a Lua decision hook answering later (the request waits), and one
 *     denying;
 *   - a malformed request: an ERROR flow and a close.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/flow/flow.h"
#include "core/module/coreapi.h"
#include "core/module/hooks.h"
#include "core/module/module.h"
#include "core/module/registry.h"
#include "core/proxy/proxy.h"
#include "kafka.h"
#include "kafka_proto.h"

extern const struct bw_module bw_module_desc;

static struct event_base *base;
static struct sockaddr_in proxy_addr, broker_addr;
static int broker_lfd = -1;
static struct bw_proxy_ruleset *rules;
static struct bw_module_ctx modctx;
static struct bw_core_api api;
static int sub_id;
static struct kafka_conf conf = {
	.topic_ids = KAFKA_IDS_NODE,
	.topic_ids_max = 1000,
	.max_request = 8 << 20,
	.max_metadata = 4 << 20,
	.response_scan = 16384,
	.cap_versions = 1,
	.max_pipeline = 64,
};

/* ---- flows -------------------------------------------------------------------------- */

struct seen {
	int verdict, type, error, version;
	char key[32], topic[64], policy[64], by[32];
};

static struct seen seen[256];
static int n_seen;

static void
on_flow(const struct bw_flow *f, void *ud)
{
	struct seen *s;

	(void)ud;
	if (f->l7 == NULL || f->l7->kafka == NULL || n_seen >= 256)
		return;
	s = &seen[n_seen++];
	memset(s, 0, sizeof(*s));
	s->verdict = f->verdict;
	s->type = f->l7->type;
	s->error = f->l7->kafka->error_code;
	s->version = f->l7->kafka->api_version;
	snprintf(s->key, sizeof(s->key), "%s", f->l7->kafka->api_key);
	snprintf(s->topic, sizeof(s->topic), "%s", f->l7->kafka->topic ? f->l7->kafka->topic : "");
	if (f->n_ingress_allowed_by > 0)
		snprintf(s->policy, sizeof(s->policy), "%s", f->ingress_allowed_by[0].name);
	if (BW_FLOW_HAS(f, verdict_by) && f->verdict_by != NULL)
		snprintf(s->by, sizeof(s->by), "%s", f->verdict_by);
}

static int
count_seen(int type, int verdict, const char *key)
{
	int n = 0;

	for (int i = 0; i < n_seen; i++)
		if (seen[i].type == type && seen[i].verdict == verdict &&
		    (key == NULL || strcmp(seen[i].key, key) == 0))
			n++;
	return n;
}

/* ---- the redirect ---------------------------------------------------------------------- */

static int
classify(void *arg, int fd, const struct sockaddr *peer, const struct sockaddr *local,
	 struct bw_proxy_target *t)
{
	const struct sockaddr_in *p = (const struct sockaddr_in *)peer;

	(void)arg;
	(void)fd;
	(void)local;
	t->info.direction = BW_FLOW_TRAFFIC_INGRESS;
	t->info.ip_version = 4;
	memcpy(t->info.client_addr, &p->sin_addr, 4);
	t->info.client_port = ntohs(p->sin_port);
	memcpy(t->info.server_addr, &broker_addr.sin_addr, 4);
	t->info.server_port = ntohs(broker_addr.sin_port);
	t->info.server_identity = 4242;
	t->parser = "kafka";
	t->rules = rules != NULL ? bw_proxy_ruleset_ref(rules) : NULL;
	memcpy(&t->upstream, &broker_addr, sizeof(broker_addr));
	t->upstream_len = sizeof(broker_addr);
	return 0;
}

static const struct bw_proxy_redirect_ops ops = { .classify = classify };

static void
set_rules(const char *json)
{
	struct bw_flow_policy pol = { .name = "kafka-l7", .ns = "x",
				      .kind = "CiliumNetworkPolicy", .revision = 1 };
	struct bw_flow_policy pols[8] = { pol, pol, pol, pol, pol, pol, pol, pol };
	char err[512];

	bw_proxy_ruleset_unref(rules);
	rules = NULL;
	if (json != NULL) {
		rules = bw_proxy_ruleset_get("kafka", json, pols, 8, err, sizeof(err));
		ck_assert_msg(rules != NULL, "%s", err);
	}
}

/* ---- sockets ------------------------------------------------------------------------------ */

static void
pump(void)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
	usleep(300);
	event_base_loop(base, EVLOOP_NONBLOCK);
}

struct pair {
	int client, broker;
};

static struct pair
open_pair(void)
{
	struct pair p = { -1, -1 };

	p.client = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(p.client, (struct sockaddr *)&proxy_addr, sizeof(proxy_addr)), 0);
	fcntl(p.client, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 20000 && p.broker < 0; i++) {
		pump();
		p.broker = accept(broker_lfd, NULL, NULL);
	}
	ck_assert_int_ge(p.broker, 0);
	fcntl(p.broker, F_SETFL, O_NONBLOCK);
	return p;
}

static void
close_pair(struct pair *p)
{
	close(p->client);
	close(p->broker);
	for (int i = 0; i < 20; i++)
		pump();
}

static void
send_all(int fd, const void *b, size_t n)
{
	size_t off = 0;

	for (int i = 0; off < n && i < 200000; i++) {
		ssize_t k = send(fd, (const uint8_t *)b + off, n - off, MSG_NOSIGNAL);

		if (k > 0)
			off += (size_t)k;
		pump();
	}
	ck_assert_uint_eq(off, n);
}

/*
 * Read exactly n bytes from fd (pumping the engine), or until the peer
 * closes: returns the count read; *eof set on a close.
 */
static size_t
recv_n(int fd, uint8_t *b, size_t n, int *eof)
{
	size_t got = 0;

	*eof = 0;
	for (int i = 0; got < n && i < 40000; i++) {
		ssize_t k;

		pump();
		k = recv(fd, b + got, n - got, 0);
		if (k > 0) {
			got += (size_t)k;
			i = 0;
		} else if (k == 0 || (k < 0 && errno == ECONNRESET)) {
			*eof = 1;
			break;
		}
	}
	return got;
}

/* Nothing arrives on fd for a while (the proxy kept it back). */
static int
quiet(int fd)
{
	uint8_t b[1];

	for (int i = 0; i < 300; i++) {
		pump();
		if (recv(fd, b, 1, MSG_PEEK) > 0)
			return 0;
	}
	return 1;
}

/* One whole frame from fd into b (cap bytes); its length, 0 on a close. */
static size_t
recv_frame(int fd, uint8_t *b, size_t cap)
{
	int eof;
	size_t n = recv_n(fd, b, 4, &eof), size;

	if (n < 4)
		return 0;
	size = ((size_t)b[0] << 24) | ((size_t)b[1] << 16) | ((size_t)b[2] << 8) | b[3];
	ck_assert_uint_le(4 + size, cap);
	n = recv_n(fd, b + 4, size, &eof);
	ck_assert_uint_eq(n, size);
	return 4 + size;
}

static int32_t
corr_of(const uint8_t *frame)
{
	return (int32_t)(((uint32_t)frame[4] << 24) | ((uint32_t)frame[5] << 16) |
			 ((uint32_t)frame[6] << 8) | frame[7]);
}

/* ---- frames --------------------------------------------------------------------------------- */

struct buf {
	uint8_t *b;
	size_t n, cap;
};

static void
put(struct buf *w, const void *p, size_t n)
{
	if (w->n + n > w->cap) {
		w->cap = (w->n + n) * 2 + 64;
		w->b = realloc(w->b, w->cap);
	}
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void
put8(struct buf *w, int v)
{
	uint8_t b = (uint8_t)v;

	put(w, &b, 1);
}

static void
put16(struct buf *w, int v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(w, b, 2);
}

static void
put32(struct buf *w, int64_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	put(w, b, 4);
}

static void
put64(struct buf *w, int64_t v)
{
	put32(w, v >> 32);
	put32(w, v);
}

static void
uvar(struct buf *w, uint32_t v)
{
	do {
		put8(w, (v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v != 0);
}

static void
str16(struct buf *w, const char *s)
{
	put16(w, (int)strlen(s));
	put(w, s, strlen(s));
}

static void
cstr(struct buf *w, const char *s)
{
	uvar(w, (uint32_t)strlen(s) + 1);
	put(w, s, strlen(s));
}

/* Start a request frame: size placeholder and header v1 (v2: + tags). */
static struct buf
req_begin(int key, int version, int32_t corr, int flexible)
{
	struct buf w = { 0 };

	put32(&w, 0);
	put16(&w, key);
	put16(&w, version);
	put32(&w, corr);
	str16(&w, "test-client");
	if (flexible)
		put8(&w, 0);
	return w;
}

/* Start a response frame: header v0 (v1: + tags). */
static struct buf
resp_begin(int32_t corr, int flexible)
{
	struct buf w = { 0 };

	put32(&w, 0);
	put32(&w, corr);
	if (flexible)
		put8(&w, 0);
	return w;
}

static void
finish(struct buf *w)
{
	size_t n = w->n - 4;

	w->b[0] = (uint8_t)(n >> 24);
	w->b[1] = (uint8_t)(n >> 16);
	w->b[2] = (uint8_t)(n >> 8);
	w->b[3] = (uint8_t)n;
}

/* Metadata v1 request naming topics. */
static struct buf
metadata_v1(int32_t corr, const char *const *topics, int n)
{
	struct buf w = req_begin(3, 1, corr, 0);

	put32(&w, n);
	for (int i = 0; i < n; i++)
		str16(&w, topics[i]);
	finish(&w);
	return w;
}

/* Its answer: one broker, each topic with error 0 and no partitions. */
static struct buf
metadata_v1_answer(int32_t corr, const char *const *topics, int n)
{
	struct buf w = resp_begin(corr, 0);

	put32(&w, 1);
	put32(&w, 1);
	str16(&w, "broker.example");
	put32(&w, 9092);
	put16(&w, -1);
	put32(&w, 1);
	put32(&w, n);
	for (int i = 0; i < n; i++) {
		put16(&w, 0);
		str16(&w, topics[i]);
		put8(&w, 0);
		put32(&w, 0);
	}
	finish(&w);
	return w;
}

/* Produce v7: one partition (0) per topic, records of len bytes each. */
static struct buf
produce_v7(int32_t corr, int acks, const char *const *topics, int n, size_t len)
{
	struct buf w = req_begin(0, 7, corr, 0);
	uint8_t *rec = malloc(len ? len : 1);

	memset(rec, 'r', len);
	put16(&w, -1);
	put16(&w, acks);
	put32(&w, 30000);
	put32(&w, n);
	for (int i = 0; i < n; i++) {
		str16(&w, topics[i]);
		put32(&w, 1);
		put32(&w, 0);
		put32(&w, (int64_t)len);
		put(&w, rec, len);
	}
	free(rec);
	finish(&w);
	return w;
}

static struct buf
produce_v7_answer(int32_t corr, const char *const *topics, int n)
{
	struct buf w = resp_begin(corr, 0);

	put32(&w, n);
	for (int i = 0; i < n; i++) {
		str16(&w, topics[i]);
		put32(&w, 1);
		put32(&w, 0);
		put16(&w, 0);
		put64(&w, 42);
		put64(&w, -1);
		put64(&w, 0);
	}
	put32(&w, 0);
	finish(&w);
	return w;
}

/* Metadata v12 (flexible) naming topics by name; its answer with IDs. */
static struct buf
metadata_v12(int32_t corr, const char *const *topics, int n)
{
	struct buf w = req_begin(3, 12, corr, 1);
	uint8_t zero[16] = { 0 };

	uvar(&w, (uint32_t)n + 1);
	for (int i = 0; i < n; i++) {
		put(&w, zero, 16);
		cstr(&w, topics[i]);
		put8(&w, 0);
	}
	put8(&w, 1);   /* allow auto topic creation */
	put8(&w, 0);   /* include topic authorized operations */
	put8(&w, 0);
	finish(&w);
	return w;
}

static struct buf
metadata_v12_answer(int32_t corr, const char *const *topics, const uint8_t (*ids)[16], int n)
{
	struct buf w = resp_begin(corr, 1);

	put32(&w, 0);            /* throttle */
	uvar(&w, 2);             /* one broker */
	put32(&w, 1);
	cstr(&w, "broker.example");
	put32(&w, 9092);
	uvar(&w, 0);             /* rack: null */
	put8(&w, 0);
	cstr(&w, "cluster-1");
	put32(&w, 1);            /* controller */
	uvar(&w, (uint32_t)n + 1);
	for (int i = 0; i < n; i++) {
		put16(&w, 0);
		cstr(&w, topics[i]);
		put(&w, ids[i], 16);
		put8(&w, 0);     /* is internal */
		uvar(&w, 1);     /* no partitions */
		put32(&w, INT32_MIN);
		put8(&w, 0);
	}
	put8(&w, 0);
	finish(&w);
	return w;
}

/* Fetch (flexible, v12 by name or v13 by ID): one partition per topic. */
static struct buf
fetch_flex(int version, int32_t corr, int32_t session, int32_t epoch, const char *const *names,
	   const uint8_t (*ids)[16], int n)
{
	struct buf w = req_begin(1, version, corr, 1);

	put32(&w, -1);           /* replica id */
	put32(&w, 500);
	put32(&w, 1);
	put32(&w, 1 << 20);
	put8(&w, 0);
	put32(&w, session);
	put32(&w, epoch);
	uvar(&w, (uint32_t)n + 1);
	for (int i = 0; i < n; i++) {
		if (version >= 13)
			put(&w, ids[i], 16);
		else
			cstr(&w, names[i]);
		uvar(&w, 2);
		put32(&w, 0);    /* partition */
		put32(&w, -1);   /* current leader epoch */
		put64(&w, 0);    /* fetch offset */
		put32(&w, -1);   /* last fetched epoch */
		put64(&w, -1);   /* log start offset */
		put32(&w, 1 << 20);
		put8(&w, 0);
		put8(&w, 0);
	}
	uvar(&w, 1);             /* forgotten: none */
	cstr(&w, "");            /* rack */
	put8(&w, 0);
	finish(&w);
	return w;
}

/* A Fetch v12 answer: the session id, each topic's partition 0 without data. */
static struct buf
fetch_v12_answer(int32_t corr, int16_t err, int32_t session, const char *const *names, int n)
{
	struct buf w = resp_begin(corr, 1);

	put32(&w, 0);
	put16(&w, err);
	put32(&w, session);
	uvar(&w, (uint32_t)n + 1);
	for (int i = 0; i < n; i++) {
		cstr(&w, names[i]);
		uvar(&w, 2);
		put32(&w, 0);
		put16(&w, 0);
		put64(&w, 0);
		put64(&w, 0);
		put64(&w, 0);
		uvar(&w, 1);     /* aborted transactions: none */
		put32(&w, -1);
		uvar(&w, 1);     /* records: empty */
		put8(&w, 0);
		put8(&w, 0);
	}
	put8(&w, 0);
	finish(&w);
	return w;
}

/* ---- fixture ------------------------------------------------------------------------------------ */

static void
setup(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	socklen_t len = sizeof(*sin);
	int lfd, one = 1;

	n_seen = 0;
	base = event_base_new();
	ck_assert_int_eq(bw_flow_ring_init(256), 0);
	sub_id = bw_flow_subscribe(NULL, on_flow, NULL, NULL);
	ck_assert_int_ge(sub_id, 1);
	ck_assert_int_eq(bw_proxy_init(base, NULL), 0);
	api = *bw_coreapi_get();
	memset(&modctx, 0, sizeof(modctx));
	modctx.instance = "kafka";
	modctx.prefix = "kafka";
	ck_assert_int_eq(bw_module_desc.init(&modctx, &api, &conf), 0);
	set_rules("[{\"topic\":\"orders\"},{\"topic\":\"t-a\"},{\"apiKey\":\"apiversions\"}]");
	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = bw_proxy_listen_socket(&ss, &len, 0);
	ck_assert_int_ge(lfd, 0);
	memcpy(&proxy_addr, sin, sizeof(proxy_addr));
	ck_assert_int_gt(bw_proxy_listener_add("test", lfd, &ops), 0);
	/* the scripted broker */
	broker_lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(broker_lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&broker_addr, 0, sizeof(broker_addr));
	broker_addr.sin_family = AF_INET;
	broker_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(broker_lfd, (struct sockaddr *)&broker_addr, sizeof(broker_addr)), 0);
	len = sizeof(broker_addr);
	getsockname(broker_lfd, (struct sockaddr *)&broker_addr, &len);
	ck_assert_int_eq(listen(broker_lfd, 16), 0);
	fcntl(broker_lfd, F_SETFL, O_NONBLOCK);
}

static void
teardown(void)
{
	bw_proxy_ruleset_unref(rules);
	rules = NULL;
	bw_proxy_stop();
	bw_registry_drop_owner(&modctx);
	bw_proxy_fini();
	bw_flow_unsubscribe(sub_id);
	event_base_free(base);
	close(broker_lfd);
	broker_lfd = -1;
}

/* Decode a refusal the client got: its entries' errors. */
static void
expect_refusal(const uint8_t *frame, size_t len, int16_t key, int16_t version, int32_t corr,
	       int16_t err0, int16_t err1, int16_t top)
{
	struct kafka_msg r = { 0 };

	ck_assert_int_eq(kafka_decode_response(frame, len, key, version, &r), KAFKA_OK);
	ck_assert(r.complete);
	ck_assert_int_eq(r.correlation_id, corr);
	if (err0 >= 0) {
		ck_assert_uint_ge(r.n_entries, 1);
		ck_assert_int_eq(r.entries[0].err, err0);
	}
	if (err1 >= 0) {
		ck_assert_uint_ge(r.n_entries, 2);
		ck_assert_int_eq(r.entries[1].err, err1);
	}
	ck_assert_int_eq(r.top_err, top);
	kafka_msg_free(&r);
}

/* ---- tests ----------------------------------------------------------------------------------------- */

START_TEST(pipelined_refusal_is_answered_in_its_turn)
{
	static const char *const orders[] = { "orders" }, *const secret[] = { "secret" };
	struct buf a = metadata_v1(1, orders, 1), b = produce_v7(2, 1, secret, 1, 10),
		   c = metadata_v1(3, orders, 1), all = { 0 };
	struct buf ra = metadata_v1_answer(1, orders, 1), rc = metadata_v1_answer(3, orders, 1);
	struct pair p = open_pair();
	uint8_t got[4096];
	size_t n;

	put(&all, a.b, a.n);
	put(&all, b.b, b.n);
	put(&all, c.b, c.n);
	send_all(p.client, all.b, all.n);
	/* the broker gets the two allowed requests, not the refused one */
	n = recv_frame(p.broker, got, sizeof(got));
	ck_assert(n == a.n && memcmp(got, a.b, n) == 0);
	n = recv_frame(p.broker, got, sizeof(got));
	ck_assert(n == c.n && memcmp(got, c.b, n) == 0);
	/* nothing goes back before the broker answers the first */
	ck_assert(quiet(p.client));
	send_all(p.broker, ra.b, ra.n);
	n = recv_frame(p.client, got, sizeof(got));
	ck_assert_int_eq(corr_of(got), 1);
	n = recv_frame(p.client, got, sizeof(got));
	ck_assert_int_eq(corr_of(got), 2);
	expect_refusal(got, n, 0, 7, 2, KAFKA_ERR_TOPIC_AUTH, -1, 0);
	ck_assert(quiet(p.client));
	send_all(p.broker, rc.b, rc.n);
	n = recv_frame(p.client, got, sizeof(got));
	ck_assert_int_eq(corr_of(got), 3);
	ck_assert_int_eq(count_seen(BW_FLOW_L7_REQUEST, BW_FLOW_VERDICT_DROPPED, "produce"), 1);
	ck_assert_int_eq(count_seen(BW_FLOW_L7_RESPONSE, BW_FLOW_VERDICT_FORWARDED, "metadata"), 2);
	close_pair(&p);
	free(a.b), free(b.b), free(c.b), free(all.b), free(ra.b), free(rc.b);
}
END_TEST

START_TEST(large_produce_batches_pass_intact)
{
	static const char *const orders[] = { "orders" }, *const two[] = { "orders", "t-a" },
			 *const mixed[] = { "orders", "secret" };
	struct buf one = produce_v7(10, -1, orders, 1, 300000), both = produce_v7(11, -1, two, 2, 150000),
		   bad = produce_v7(12, -1, mixed, 2, 150000);
	struct buf r1 = produce_v7_answer(10, orders, 1), r2 = produce_v7_answer(11, two, 2);
	struct pair p = open_pair();
	uint8_t *got = malloc(1 << 20);
	size_t n;

	/* one topic: decided from the first bytes, passed as it arrives */
	send_all(p.client, one.b, one.n);
	n = recv_frame(p.broker, got, 1 << 20);
	ck_assert(n == one.n && memcmp(got, one.b, n) == 0);
	send_all(p.broker, r1.b, r1.n);
	n = recv_frame(p.client, got, 1 << 20);
	ck_assert_int_eq(corr_of(got), 10);
	/* two topics: collected, decided whole, the same bytes go on */
	send_all(p.client, both.b, both.n);
	n = recv_frame(p.broker, got, 1 << 20);
	ck_assert(n == both.n && memcmp(got, both.b, n) == 0);
	send_all(p.broker, r2.b, r2.n);
	n = recv_frame(p.client, got, 1 << 20);
	ck_assert_int_eq(corr_of(got), 11);
	/* a refused one: the client gets 29 for both topics, the broker nothing */
	send_all(p.client, bad.b, bad.n);
	n = recv_frame(p.client, got, 1 << 20);
	expect_refusal(got, n, 0, 7, 12, KAFKA_ERR_TOPIC_AUTH, KAFKA_ERR_TOPIC_AUTH, 0);
	ck_assert(quiet(p.broker));
	ck_assert_int_eq(count_seen(BW_FLOW_L7_REQUEST, BW_FLOW_VERDICT_FORWARDED, "produce"), 3);
	ck_assert_int_eq(count_seen(BW_FLOW_L7_REQUEST, BW_FLOW_VERDICT_DROPPED, "produce"), 2);
	close_pair(&p);
	free(got);
	free(one.b), free(both.b), free(bad.b), free(r1.b), free(r2.b);
}
END_TEST

START_TEST(acks0_refused_closes_after_pending_answers)
{
	static const char *const orders[] = { "orders" }, *const secret[] = { "secret" };
	struct buf a = metadata_v1(1, orders, 1), z = produce_v7(2, 0, secret, 1, 10);
	struct buf ra = metadata_v1_answer(1, orders, 1);
	struct pair p = open_pair();
	uint8_t got[4096];
	int eof;
	size_t n;

	send_all(p.client, a.b, a.n);
	send_all(p.client, z.b, z.n);
	n = recv_frame(p.broker, got, sizeof(got));
	ck_assert(n == a.n);
	send_all(p.broker, ra.b, ra.n);
	n = recv_frame(p.client, got, sizeof(got));
	ck_assert_int_eq(corr_of(got), 1);
	/* then the connection closes: no answer to an acks=0 request */
	n = recv_n(p.client, got, 1, &eof);
	ck_assert_uint_eq(n, 0);
	ck_assert(eof);
	close_pair(&p);
	free(a.b), free(z.b), free(ra.b);
}
END_TEST

START_TEST(topic_ids_are_learnt_from_metadata)
{
	static const char *const names[] = { "t-a", "t-b" };
	static const uint8_t ids[2][16] = { { 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
					      0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11 },
					    { 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
					      0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22 } };
	struct buf f1 = fetch_flex(13, 1, 0, -1, NULL, ids, 1);
	struct buf md = metadata_v12(2, names, 1), mda = metadata_v12_answer(2, names, ids, 2);
	struct buf f2 = fetch_flex(13, 3, 0, -1, NULL, ids, 1);
	struct buf f3 = fetch_flex(13, 4, 0, -1, NULL, ids, 2);
	struct pair p = open_pair();
	uint8_t got[4096];
	size_t n;

	/* an ID no answer named yet: UNKNOWN_TOPIC_ID, nothing forwarded */
	send_all(p.client, f1.b, f1.n);
	n = recv_frame(p.client, got, sizeof(got));
	expect_refusal(got, n, 1, 13, 1, KAFKA_ERR_UNKNOWN_TOPIC_ID, -1, 0);
	/* the client refreshes its metadata: the answer names t-a and t-b */
	send_all(p.client, md.b, md.n);
	n = recv_frame(p.broker, got, sizeof(got));
	ck_assert(n == md.n && memcmp(got, md.b, n) == 0);
	send_all(p.broker, mda.b, mda.n);
	n = recv_frame(p.client, got, sizeof(got));
	ck_assert(n == mda.n && memcmp(got, mda.b, n) == 0);
	/* now the ID of t-a is allowed */
	send_all(p.client, f2.b, f2.n);
	n = recv_frame(p.broker, got, sizeof(got));
	ck_assert(n == f2.n && memcmp(got, f2.b, n) == 0);
	/* and t-b's, known but not allowed, is TOPIC_AUTHORIZATION_FAILED */
	send_all(p.client, f3.b, f3.n);
	ck_assert(quiet(p.client)); /* in its turn: after f2's answer */
	{
		struct buf fa = fetch_v12_answer(3, 0, 0, names, 0);

		/* f2's answer (an empty v13 body has the v12 layout without topics) */
		send_all(p.broker, fa.b, fa.n);
		free(fa.b);
	}
	n = recv_frame(p.client, got, sizeof(got));
	ck_assert_int_eq(corr_of(got), 3);
	n = recv_frame(p.client, got, sizeof(got));
	expect_refusal(got, n, 1, 13, 4, KAFKA_ERR_TOPIC_AUTH, KAFKA_ERR_TOPIC_AUTH, 0);
	/* flows show the names of IDs they know */
	{
		int named = 0;

		for (int i = 0; i < n_seen; i++)
			if (!strcmp(seen[i].key, "fetch") && !strcmp(seen[i].topic, "t-b"))
				named++;
		ck_assert_int_ge(named, 1);
	}
	close_pair(&p);
	free(f1.b), free(md.b), free(mda.b), free(f2.b), free(f3.b);
}
END_TEST

START_TEST(fetch_sessions_are_checked_whole)
{
	static const char *const ta[] = { "t-a" };
	struct buf full = fetch_flex(12, 1, 0, 0, ta, NULL, 1);
	struct buf fa = fetch_v12_answer(1, 0, 77, ta, 1);
	struct buf inc = fetch_flex(12, 2, 77, 1, NULL, NULL, 0);
	struct buf unknown = fetch_flex(12, 3, 99, 5, NULL, NULL, 0);
	struct pair p = open_pair();
	uint8_t got[4096];
	size_t n;

	send_all(p.client, full.b, full.n);
	n = recv_frame(p.broker, got, sizeof(got));
	ck_assert(n == full.n);
	send_all(p.broker, fa.b, fa.n);
	n = recv_frame(p.client, got, sizeof(got));
	ck_assert_int_eq(corr_of(got), 1);
	/* an incremental fetch naming nothing: session 77's topics are allowed */
	send_all(p.client, inc.b, inc.n);
	n = recv_frame(p.broker, got, sizeof(got));
	ck_assert(n == inc.n && memcmp(got, inc.b, n) == 0);
	{
		struct buf ia = fetch_v12_answer(2, 0, 77, ta, 0);

		send_all(p.broker, ia.b, ia.n);
		free(ia.b);
	}
	n = recv_frame(p.client, got, sizeof(got));
	ck_assert_int_eq(corr_of(got), 2);
	/* a session this connection never saw: the client must start over */
	send_all(p.client, unknown.b, unknown.n);
	n = recv_frame(p.client, got, sizeof(got));
	expect_refusal(got, n, 1, 12, 3, -1, -1, KAFKA_ERR_SESSION_NOT_FOUND);
	close_pair(&p);
	free(full.b), free(fa.b), free(inc.b), free(unknown.b);
}
END_TEST

START_TEST(api_versions_answers_are_lowered)
{
	struct buf rq = req_begin(18, 3, 5, 1), rs = resp_begin(5, 0);
	struct pair p = open_pair();
	uint8_t got[4096];
	size_t n;

	cstr(&rq, "librdkafka");
	cstr(&rq, "2.0.2");
	put8(&rq, 0);
	finish(&rq);
	put16(&rs, 0);
	uvar(&rs, 3);
	put16(&rs, 0), put16(&rs, 0), put16(&rs, 20), put8(&rs, 0);  /* Produce 0..20 */
	put16(&rs, 1), put16(&rs, 4), put16(&rs, 12), put8(&rs, 0);  /* Fetch 4..12 */
	put32(&rs, 0);
	put8(&rs, 0);
	finish(&rs);
	send_all(p.client, rq.b, rq.n);
	n = recv_frame(p.broker, got, sizeof(got));
	ck_assert(n == rq.n && memcmp(got, rq.b, n) == 0);
	send_all(p.broker, rs.b, rs.n);
	n = recv_frame(p.client, got, sizeof(got));
	ck_assert_uint_eq(n, rs.n);
	ck_assert_int_eq((got[15] << 8) | got[16], kafka_api_get(0)->max_version);
	ck_assert_int_eq((got[22] << 8) | got[23], 12);
	close_pair(&p);
	free(rq.b), free(rs.b);
}
END_TEST

START_TEST(malformed_request_is_an_error_and_a_close)
{
	/* the start of a TLS ClientHello: a client speaking TLS to a plaintext port */
	static const uint8_t garbage[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01,
					   0xfc, 0x03, 0x03, 0x5b, 0x1c, 0x8e, 0x33, 0x07 };
	struct pair p = open_pair();
	uint8_t got[16];
	int eof;

	send_all(p.client, garbage, sizeof(garbage));
	ck_assert_uint_eq(recv_n(p.client, got, 1, &eof), 0);
	ck_assert(eof);
	ck_assert(quiet(p.broker));
	ck_assert_int_eq(count_seen(BW_FLOW_L7_REQUEST, BW_FLOW_VERDICT_ERROR, NULL), 1);
	close_pair(&p);
}
END_TEST

/* ---- a decision hook (Lua on_kafka) ------------------------------------------------------------ */

static uint64_t hook_ticket;
static int hook_calls;
static char hook_topic[64];

static unsigned
hook_active(void *arg)
{
	(void)arg;
	return BW_HOOK_F_KAFKA;
}

static int
hook_kafka(void *arg, const struct bw_hook_kafka *req, uint64_t ticket)
{
	(void)arg;
	hook_calls++;
	hook_ticket = ticket;
	snprintf(hook_topic, sizeof(hook_topic), "%s", req->n_topics > 0 ? req->topics[0] : "");
	return 0;
}

START_TEST(a_decision_hook_answers_later)
{
	static const char *const orders[] = { "orders" };
	struct bw_hook_provider prov = { .active = hook_active, .kafka = hook_kafka };
	struct bw_hook_result allow = { .size = sizeof(allow), .verdict = BW_HOOK_ALLOW };
	struct bw_hook_result deny = { .size = sizeof(deny), .verdict = BW_HOOK_DENY,
				       .extensions_json = "{\"lua\":{\"script\":\"t\"}}" };
	struct buf a = produce_v7(1, 1, orders, 1, 10), b = produce_v7(2, 1, orders, 1, 10);
	struct buf ra = produce_v7_answer(1, orders, 1);
	struct pair p;
	uint8_t got[4096];
	size_t n;

	ck_assert_int_eq(bw_hooks_provider_set(&prov), 0);
	hook_calls = 0;
	p = open_pair();
	send_all(p.client, a.b, a.n);
	ck_assert(quiet(p.broker)); /* waiting for the script */
	ck_assert_int_eq(hook_calls, 1);
	ck_assert_str_eq(hook_topic, "orders");
	bw_hooks_answer(hook_ticket, &allow);
	n = recv_frame(p.broker, got, sizeof(got));
	ck_assert(n == a.n && memcmp(got, a.b, n) == 0);
	send_all(p.broker, ra.b, ra.n);
	recv_frame(p.client, got, sizeof(got));
	/* the next one the script denies: refused like a policy denial */
	send_all(p.client, b.b, b.n);
	ck_assert(quiet(p.client));
	bw_hooks_answer(hook_ticket, &deny);
	n = recv_frame(p.client, got, sizeof(got));
	expect_refusal(got, n, 0, 7, 2, KAFKA_ERR_TOPIC_AUTH, -1, 0);
	ck_assert(quiet(p.broker));
	ck_assert_int_eq(hook_calls, 2);
	close_pair(&p);
	bw_hooks_provider_set(NULL);
	free(a.b), free(b.b), free(ra.b);
}
END_TEST

static Suite *
kafka_suite(void)
{
	Suite *s = suite_create("kafka");
	TCase *tc = tcase_create("engine");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, pipelined_refusal_is_answered_in_its_turn);
	tcase_add_test(tc, large_produce_batches_pass_intact);
	tcase_add_test(tc, acks0_refused_closes_after_pending_answers);
	tcase_add_test(tc, topic_ids_are_learnt_from_metadata);
	tcase_add_test(tc, fetch_sessions_are_checked_whole);
	tcase_add_test(tc, api_versions_answers_are_lowered);
	tcase_add_test(tc, malformed_request_is_an_error_and_a_close);
	tcase_add_test(tc, a_decision_hook_answers_later);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(kafka_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
