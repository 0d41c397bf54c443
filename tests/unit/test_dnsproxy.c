/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_dnsproxy.c - modules/dnsproxy: the message path (queries,
 * answers through CNAME chains, the proxy's own answers, EDNS0, bad
 * messages), the DNS rules, and the engine end to end on loopback against a
 * scripted upstream: allowed and denied queries (REFUSED / NXDOMAIN), a
 * fresh ID towards the server and the workload's ID back, answers
 * published to the core before they are released, TC and EDNS0 passed
 * through, an upstream that never answers (SERVFAIL after the timeout), a
 * forged answer ignored, DNS over TCP with pipelined queries answered out
 * of order, the concurrency limit, and the L7 flows.
 *
 * The upstream is this test's own responder (it must misbehave on cue);
 * the e2e tests (tests/e2e/test_fqdn*.sh) use real servers.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include <bulwark/flow.h>
#include <bulwark/hook.h>
#include <bulwark/module.h>

#include "modules/dnsproxy/dnsproxy_engine.h"
#include "modules/dnsproxy/dnsproxy_msg.h"
#include "modules/dnsproxy/dnsproxy_rules.h"

/* ---- building messages ------------------------------------------------------ */

static size_t put_name(uint8_t *b, const char *n)
{
	size_t o = 0;
	const char *p = n;

	while (*p && strcmp(p, ".")) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		b[o++] = (uint8_t)l;
		memcpy(b + o, p, l);
		o += l;
		p += l + (dot != NULL);
	}
	b[o++] = 0;
	return o;
}

static size_t put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
	return 2;
}

static size_t mk_query(uint8_t *b, uint16_t id, const char *name, uint16_t type, int edns)
{
	size_t o = 0;

	o += put16(b + o, id);
	o += put16(b + o, 0x0100);
	o += put16(b + o, 1);
	o += put16(b + o, 0);
	o += put16(b + o, 0);
	o += put16(b + o, edns ? 1 : 0);
	o += put_name(b + o, name);
	o += put16(b + o, type);
	o += put16(b + o, 1);
	if (edns) {
		static const uint8_t opt[11] = { 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0 };

		memcpy(b + o, opt, 11);
		o += 11;
	}
	return o;
}

struct rec {
	const char *owner;
	uint16_t type;
	uint32_t ttl;
	const char *data; /* name (CNAME) or address text */
};

/* an answer to the query in q (copied question), flags, records */
static size_t mk_answer(uint8_t *b, const uint8_t *q, size_t qend, uint16_t flags,
			const struct rec *r, size_t n)
{
	size_t o = qend;

	memcpy(b, q, qend);
	put16(b + 2, flags);
	put16(b + 6, (uint16_t)n);
	put16(b + 8, 0);
	put16(b + 10, 0);
	for (size_t i = 0; i < n; i++) {
		uint8_t rd[64];
		size_t rl = 0;

		o += put_name(b + o, r[i].owner);
		o += put16(b + o, r[i].type);
		o += put16(b + o, 1);
		b[o++] = (uint8_t)(r[i].ttl >> 24);
		b[o++] = (uint8_t)(r[i].ttl >> 16);
		b[o++] = (uint8_t)(r[i].ttl >> 8);
		b[o++] = (uint8_t)r[i].ttl;
		if (r[i].type == 5)
			rl = put_name(rd, r[i].data);
		else if (r[i].type == 1 && inet_pton(AF_INET, r[i].data, rd) == 1)
			rl = 4;
		else if (r[i].type == 28 && inet_pton(AF_INET6, r[i].data, rd) == 1)
			rl = 16;
		o += put16(b + o, (uint16_t)rl);
		memcpy(b + o, rd, rl);
		o += rl;
	}
	return o;
}

/* ---- the message path ------------------------------------------------------------ */

START_TEST(queries_are_read_and_normalised)
{
	uint8_t b[512];
	struct dpm_query q;
	size_t n = mk_query(b, 0xbeef, "WWW.Example.COM", 28, 1);

	ck_assert_int_eq(dpm_parse_query(b, n, &q), DPM_OK);
	ck_assert_uint_eq(q.id, 0xbeef);
	ck_assert_str_eq(q.qname, "www.example.com.");
	ck_assert_uint_eq(q.qtype, 28);
	ck_assert(q.edns);
	ck_assert(q.rd);
	ck_assert_int_eq(dpm_parse_query(b, 5, &q), DPM_SHORT);
	ck_assert_int_eq(dpm_parse_query(b, n - 14, &q), DPM_MALFORMED); /* cut mid-question */
	b[2] |= 0x80; /* an answer is no query */
	ck_assert_int_eq(dpm_parse_query(b, n, &q), DPM_NOT_QUERY);
	{
		uint8_t big[DPM_MAX_QUERY + 10];

		memset(big, 0, sizeof(big));
		memcpy(big, b, n);
		ck_assert_int_eq(dpm_parse_query(big, sizeof(big), &q), DPM_OVERSIZED);
	}
}
END_TEST

START_TEST(answers_follow_cname_chains)
{
	uint8_t qb[512], ab[1024];
	struct dpm_query q;
	struct dpm_answer a;
	static const struct rec rr[] = {
		{ "other.example", 1, 60, "198.51.100.9" },        /* another name: ignored */
		{ "edge.cdn.example", 1, 30, "192.0.2.7" },
		{ "www.example.com", 5, 300, "edge.cdn.example" },
		{ "edge.cdn.example", 1, 120, "192.0.2.8" },
	};
	size_t qn = mk_query(qb, 7, "www.example.com", 1, 0), an;
	char ip[64];

	ck_assert_int_eq(dpm_parse_query(qb, qn, &q), DPM_OK);
	an = mk_answer(ab, qb, q.question_end, 0x8180, rr, 4);
	ck_assert_int_eq(dpm_parse_answer(ab, an, &q, &a), DPM_OK);
	ck_assert_uint_eq(a.n_cnames, 1);
	ck_assert_str_eq(a.cnames[0], "edge.cdn.example.");
	ck_assert_uint_eq(a.n_ips, 2);
	inet_ntop(AF_INET, a.ips[0].addr, ip, sizeof(ip));
	ck_assert_str_eq(ip, "192.0.2.7");
	ck_assert_uint_eq(a.ttl, 30); /* the smallest along the chain */
	ck_assert_uint_eq(a.n_rrtypes, 2);
	/* an answer to another question is not ours */
	{
		struct dpm_query other = q;

		strcpy(other.qname, "api.example.com.");
		ck_assert_int_eq(dpm_parse_answer(ab, an, &other, &a), DPM_MISMATCH);
	}
	/* a CNAME loop ends the chain */
	{
		static const struct rec loop[] = {
			{ "www.example.com", 5, 60, "x.example" },
			{ "x.example", 5, 60, "www.example.com" },
			{ "x.example", 1, 60, "192.0.2.9" },
		};

		an = mk_answer(ab, qb, q.question_end, 0x8180, loop, 3);
		ck_assert_int_eq(dpm_parse_answer(ab, an, &q, &a), DPM_OK);
		ck_assert_uint_eq(a.n_cnames, 1);
		ck_assert_uint_eq(a.n_ips, 1);
	}
}
END_TEST

START_TEST(pointer_loops_and_chains_are_refused_quickly)
{
	/* a name that is a pointer to itself */
	static const uint8_t loop[] = { 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
					0xc0, 0x0c, 0, 1, 0, 1 };
	struct dpm_query q;
	uint8_t b[2048];
	size_t o;

	/* a pointer back into a label that runs over the pointer itself */
	static const uint8_t overlap[] = { 0, 2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
					   1, 3, 0xc0, 0x0d, 'x', 0, 0, 1, 0, 1 };

	ck_assert_int_eq(dpm_parse_query(loop, sizeof(loop), &q), DPM_MALFORMED);
	ck_assert_int_eq(dpm_parse_query(overlap, sizeof(overlap), &q), DPM_MALFORMED);
	/* an answer whose records' owners point at pointers */
	o = mk_query(b, 1, "a.example", 1, 0);
	ck_assert_int_eq(dpm_parse_query(b, o, &q), DPM_OK);
	b[2] = 0x81;
	put16(b + 6, 100);
	for (int i = 0; i < 100; i++) {
		size_t here = o;

		o += put16(b + o, (uint16_t)(0xc000 | (i ? here - 16 : 12)));
		o += put16(b + o, 1);
		o += put16(b + o, 1);
		o += put16(b + o, 0);
		o += put16(b + o, 60);
		o += put16(b + o, 4);
		b[o++] = 10;
		b[o++] = 0;
		b[o++] = 0;
		b[o++] = (uint8_t)i;
	}
	{
		struct dpm_answer a;

		ck_assert_int_eq(dpm_parse_answer(b, o, &q, &a), DPM_MALFORMED);
	}
}
END_TEST

START_TEST(own_answers_echo_the_question)
{
	uint8_t qb[512], out[600];
	struct dpm_query q;
	struct dpm_answer a;
	size_t qn = mk_query(qb, 0x55aa, "denied.example", 1, 1), n;

	ck_assert_int_eq(dpm_parse_query(qb, qn, &q), DPM_OK);
	n = dpm_make_reply(qb, qn, &q, DPM_REFUSED, out, sizeof(out));
	ck_assert_uint_eq(n, q.question_end + 11); /* with an OPT record */
	ck_assert_uint_eq(dpm_get_id(out), 0x55aa);
	ck_assert_uint_eq(out[3] & 0x0f, DPM_REFUSED);
	ck_assert(out[2] & 0x80);
	ck_assert(out[2] & 0x01); /* RD kept */
	ck_assert_int_eq(dpm_parse_answer(out, n, &q, &a), DPM_OK);
	ck_assert_uint_eq(a.rcode, DPM_REFUSED);
	/* FORMERR to an unreadable query: the header alone */
	n = dpm_make_reply(qb, qn, NULL, DPM_FORMERR, out, sizeof(out));
	ck_assert_uint_eq(n, DPM_HEADER);
	ck_assert_uint_eq(out[5], 0);
	ck_assert_uint_eq(dpm_make_reply(qb, 3, NULL, DPM_FORMERR, out, sizeof(out)), 0);
}
END_TEST

START_TEST(rules_match_names_and_patterns)
{
	char err[256];
	uint32_t ref = 0;
	struct dpr_rules *r = dpr_compile("[{\"match_pattern\":\"*.example.com\",\"rule_ref\":7},"
					  "{\"match_name\":\"api.example.org\",\"rule_ref\":9}]",
					  err, sizeof(err));

	ck_assert_ptr_nonnull(r);
	ck_assert(dpr_allows(r, "api.example.org.", &ref));
	ck_assert_uint_eq(ref, 9);
	ck_assert(dpr_allows(r, "www.example.com.", &ref));
	ck_assert_uint_eq(ref, 7);
	ck_assert(!dpr_allows(r, "example.com.", &ref));
	ck_assert(!dpr_allows(NULL, "www.example.com.", &ref));
	dpr_unref(r);
	ck_assert_ptr_null(dpr_compile("[{\"match_pattern\":\"a b\"}]", err, sizeof(err)));
	ck_assert_str_eq(err, "[0].match_pattern: \"a b\": only a-z, A-Z, 0-9, '-', '_', '.' and '*' are allowed in a matchPattern");
	ck_assert_ptr_null(dpr_compile("{}", err, sizeof(err)));
	/* the redirect service's form: one item per policy rule */
	r = dpr_compile("[{\"rule_ref\":3,\"policy\":{\"name\":\"p\"},\"dns\":[{\"match_name\":\"a.example\"}]},"
			"{\"rule_ref\":4,\"http\":[{\"method\":\"GET\"}]},"
			"{\"rule_ref\":5,\"dns\":[{\"matchPattern\":\"**.b.example.\"}]}]",
			err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert(dpr_allows(r, "a.example.", &ref));
	ck_assert_uint_eq(ref, 3);
	ck_assert(dpr_allows(r, "x.y.b.example.", &ref));
	ck_assert_uint_eq(ref, 5);
	ck_assert(!dpr_allows(r, "c.example.", &ref));
	dpr_unref(r);
	r = dpr_compile("[{\"rule_ref\":8,\"allow_all\":true}]", err, sizeof(err));
	ck_assert(dpr_allows(r, "anything.example.", &ref));
	ck_assert_uint_eq(ref, 8);
	dpr_unref(r);
	ck_assert_ptr_null(dpr_compile("[{\"rule_ref\":3,\"dns\":[{\"match_name\":\"*\"}]}]", err, sizeof(err)));
	ck_assert_str_eq(err, "[0].dns[0].match_name: \"*\": '*' is not allowed in a matchName (use matchPattern)");
	r = dpr_compile("[]", err, sizeof(err));
	ck_assert(!dpr_allows(r, "a.example.", &ref)); /* [] allows nothing */
	dpr_unref(r);
}
END_TEST

/* ---- the engine ------------------------------------------------------------------- */

static struct event_base *BASE;
static struct dpe *E;
static int UP_UDP, UP_TCP, UP_TCP_CONN = -1;
static struct event *UP_UDP_EV, *UP_TCP_EV, *UP_CONN_EV;
static struct sockaddr_storage UP_ADDR_U, UP_ADDR_T;
static int UP_SAW_EDNS;
static uint16_t UP_LAST_ID;
static int UP_QUERIES;

/* what the workload got (UDP) */
static uint8_t GOT[8][1024];
static size_t GOT_LEN[8];
static int NGOT;

/* what the core was told */
static int NPUB, NFLOWS;
static char PUB_NAME[256];
static size_t PUB_IPS;
static int PUB_AT_GOT;
static enum bw_flow_verdict FLOW_VERDICT[32];
static int FLOW_RESPONSE[32];
static uint32_t FLOW_REF[32];
static char FLOW_EXT[32][128];

static void up_answer(const uint8_t *qb, size_t qn, uint8_t *out, size_t *outn, int tcp,
		      int *skip)
{
	struct dpm_query q;
	static const struct rec a1[] = { { "a.example", 1, 60, "192.0.2.1" } };
	static const struct rec cn[] = { { "cname.example", 5, 300, "target.example" },
					 { "target.example", 1, 20, "192.0.2.2" } };
	static const struct rec big[] = { { "big.example", 1, 60, "192.0.2.5" } };
	struct rec ed[1] = { { "edns.example", 1, 60, NULL } };

	*skip = 0;
	if (dpm_parse_query(qb, qn, &q) != DPM_OK) {
		*skip = 1;
		return;
	}
	UP_QUERIES++;
	UP_LAST_ID = q.id;
	UP_SAW_EDNS = q.edns;
	if (!strcmp(q.qname, "a.example.") || !strcmp(q.qname, "p1.example.") ||
	    !strcmp(q.qname, "p2.example.") || !strcmp(q.qname, "p3.example.")) {
		struct rec r = a1[0];

		r.owner = q.qname;
		*outn = mk_answer(out, qb, q.question_end, 0x8180, &r, 1);
	} else if (!strcmp(q.qname, "cname.example.")) {
		*outn = mk_answer(out, qb, q.question_end, 0x8180, cn, 2);
	} else if (!strcmp(q.qname, "big.example.")) {
		*outn = tcp ? mk_answer(out, qb, q.question_end, 0x8180, big, 1)
			    : mk_answer(out, qb, q.question_end, 0x8380, NULL, 0);
	} else if (!strcmp(q.qname, "edns.example.")) {
		ed[0].data = q.edns ? "192.0.2.3" : "192.0.2.4";
		*outn = mk_answer(out, qb, q.question_end, 0x8180, ed, 1);
	} else if (!strcmp(q.qname, "garbage.example.")) {
		memcpy(out, qb, 2);
		memset(out + 2, 0xff, 30);
		out[2] = 0x81;
		*outn = 32;
	} else {
		*skip = 1; /* slow.example: never answered */
	}
}

static void up_udp_cb(evutil_socket_t fd, short what, void *arg)
{
	uint8_t b[1024], out[2048];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(fd, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
	size_t on = 0;
	int skip;

	if (n <= 0)
		return;
	up_answer(b, (size_t)n, out, &on, 0, &skip);
	if (skip)
		return;
	if (strstr((char *)b + 12, "spoof") == NULL &&
	    dpm_parse_query(b, (size_t)n, &(struct dpm_query){ 0 }) == DPM_OK) {
		struct dpm_query q;

		dpm_parse_query(b, (size_t)n, &q);
		if (!strcmp(q.qname, "a.example.")) {
			/* a forged answer first (wrong ID): must be ignored */
			uint8_t forged[2048];

			memcpy(forged, out, on);
			dpm_set_id(forged, (uint16_t)(dpm_get_id(out) + 1));
			forged[on - 1] = 66; /* 192.0.2.66 */
			sendto(fd, forged, on, 0, (struct sockaddr *)&from, fl);
		}
	}
	sendto(fd, out, on, 0, (struct sockaddr *)&from, fl);
}

/* TCP upstream: read every framed query, answer all of them in reverse */
static uint8_t UP_TBUF[8192];
static size_t UP_TLEN;

static void up_conn_cb(evutil_socket_t fd, short what, void *arg)
{
	ssize_t n = read(fd, UP_TBUF + UP_TLEN, sizeof(UP_TBUF) - UP_TLEN);
	size_t off = 0, nq = 0, qo[16], ql[16];

	if (n <= 0) {
		event_del(UP_CONN_EV);
		close(fd);
		UP_TCP_CONN = -1;
		return;
	}
	UP_TLEN += (size_t)n;
	while (off + 2 <= UP_TLEN) {
		size_t l = (size_t)UP_TBUF[off] << 8 | UP_TBUF[off + 1];

		if (off + 2 + l > UP_TLEN || nq == 16)
			break;
		qo[nq] = off + 2;
		ql[nq++] = l;
		off += 2 + l;
	}
	/* wait until three pipelined queries are there, then answer in reverse */
	if (nq < 3 && !(nq == 1 && strstr((char *)UP_TBUF + qo[0] + 12, "big")))
		return;
	for (size_t i = nq; i-- > 0;) {
		uint8_t out[2048], hdr[2];
		size_t on = 0;
		int skip;

		up_answer(UP_TBUF + qo[i], ql[i], out, &on, 1, &skip);
		if (skip)
			continue;
		put16(hdr, (uint16_t)on);
		if (write(fd, hdr, 2) != 2 || write(fd, out, on) != (ssize_t)on)
			return;
	}
	memmove(UP_TBUF, UP_TBUF + off, UP_TLEN - off);
	UP_TLEN -= off;
}

static void up_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK);

	if (c < 0)
		return;
	UP_TCP_CONN = c;
	UP_TLEN = 0;
	UP_CONN_EV = event_new(BASE, c, EV_READ | EV_PERSIST, up_conn_cb, NULL);
	event_add(UP_CONN_EV, NULL);
}

/* every UDP answer: how many, and how many answered another query's ID */
static int NANS, NANS_WRONG;

static int t_udp_reply(void *arg, const struct sockaddr_storage *server,
		       const struct sockaddr_storage *client, const uint8_t *buf, size_t len)
{
	struct dpm_query q;
	char want[32];

	NANS++;
	/* shared-socket test: the workload's ID i asked p(1 + i % 3).example */
	if (len > DPM_HEADER && dpm_get_id(buf) >= 1000 &&
	    dpm_parse_query(buf, len, &q) == DPM_OK) {
		snprintf(want, sizeof(want), "p%d.example.", 1 + (dpm_get_id(buf) - 1000) % 3);
		NANS_WRONG += strcmp(q.qname, want) != 0;
	}
	if (NGOT < 8) {
		memcpy(GOT[NGOT], buf, len < 1024 ? len : 1024);
		GOT_LEN[NGOT++] = len;
	}
	return 0;
}

static int t_dns_publish(bw_module_ctx *ctx, const struct bw_dns_answer *a)
{
	NPUB++;
	snprintf(PUB_NAME, sizeof(PUB_NAME), "%s", a->qname);
	PUB_IPS = a->n_ips;
	/* how many answers the workload had when this one was published */
	PUB_AT_GOT = NGOT;
	return 0;
}

static int t_flow_publish(bw_module_ctx *ctx, const struct bw_flow *f)
{
	if (NFLOWS < 32) {
		FLOW_VERDICT[NFLOWS] = f->verdict;
		FLOW_RESPONSE[NFLOWS] = f->l7 && f->l7->type == BW_FLOW_L7_RESPONSE;
		FLOW_REF[NFLOWS] = f->rule_ref;
		snprintf(FLOW_EXT[NFLOWS], sizeof(FLOW_EXT[0]), "%s",
			 f->extensions_json ? f->extensions_json : "");
		ck_assert_ptr_nonnull(f->l7);
		ck_assert_ptr_nonnull(f->l7->dns);
		ck_assert_str_eq(f->l7->dns->observation_source, "proxy");
		ck_assert_uint_eq(f->event_type, BW_FLOW_EVENT_L7);
	}
	NFLOWS++;
	return 0;
}

static void t_log(bw_module_ctx *ctx, enum bw_log_level l, const char *fmt, ...)
{
}

static struct bw_core_api API;

static int bind_lo(int type, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	socklen_t sl = sizeof(*s4);
	int fd = socket(AF_INET, type | SOCK_NONBLOCK, 0);

	memset(ss, 0, sizeof(*ss));
	s4->sin_family = AF_INET;
	s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)s4, sl), 0);
	if (type == SOCK_STREAM)
		ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)ss, &sl), 0);
	return fd;
}

/* a decision hook (Lua on_dns) that answers later */
static void (*HOOK_DONE)(const struct bw_hook_result *res, void *user_data);
static void *HOOK_ARG;
static char HOOK_NAME[256];
static int HOOK_CANCELLED;

static void eng_setup(void)
{
	struct dpe_conf c = { .deny_rcode = DPM_REFUSED, .upstream_timeout_ms = 300,
			      .max_inflight = 100, .tcp_idle_ms = 5000, .max_tcp_conns = 10,
			      .flows = 1 };
	struct dpe_ops ops = { .udp_reply = t_udp_reply };

	memset(&API, 0, sizeof(API));
	API.size = sizeof(API);
	API.log = t_log;
	API.dns_publish = t_dns_publish;
	API.flow_publish = t_flow_publish;
	BASE = event_base_new();
	E = dpe_new(BASE, &API, NULL, &c, &ops);
	UP_UDP = bind_lo(SOCK_DGRAM, &UP_ADDR_U);
	UP_TCP = bind_lo(SOCK_STREAM, &UP_ADDR_T);
	UP_UDP_EV = event_new(BASE, UP_UDP, EV_READ | EV_PERSIST, up_udp_cb, NULL);
	UP_TCP_EV = event_new(BASE, UP_TCP, EV_READ | EV_PERSIST, up_accept_cb, NULL);
	event_add(UP_UDP_EV, NULL);
	event_add(UP_TCP_EV, NULL);
	NGOT = NPUB = NFLOWS = UP_QUERIES = NANS = NANS_WRONG = HOOK_CANCELLED = 0;
	UP_CONN_EV = NULL;
}

static void eng_teardown(void)
{
	dpe_free(E);
	event_free(UP_UDP_EV);
	event_free(UP_TCP_EV);
	if (UP_CONN_EV)
		event_free(UP_CONN_EV);
	close(UP_UDP);
	close(UP_TCP);
	if (UP_TCP_CONN >= 0)
		close(UP_TCP_CONN);
	UP_TCP_CONN = -1;
	event_base_free(BASE);
}

static void run_until(int *counter, int want)
{
	for (int i = 0; i < 500 && *counter < want; i++) {
		struct timeval tv = { 0, 10000 };

		event_base_loopexit(BASE, &tv);
		event_base_dispatch(BASE);
	}
}

static struct dpe_origin origin(struct sockaddr_storage *server, struct dpr_rules *rules)
{
	struct dpe_origin o;
	struct sockaddr_in *c = (struct sockaddr_in *)&o.client;

	memset(&o, 0, sizeof(o));
	o.ep_id = 5;
	o.rule_ref = 11;
	o.rules = rules;
	c->sin_family = AF_INET;
	c->sin_addr.s_addr = htonl(0x0a010001);
	c->sin_port = htons(40000);
	o.server = *server;
	return o;
}

static struct dpr_rules *rules(const char *json)
{
	char err[256];
	struct dpr_rules *r = dpr_compile(json, err, sizeof(err));

	ck_assert_msg(r != NULL, "%s", err);
	return r;
}

START_TEST(allowed_queries_are_forwarded_with_a_fresh_id_and_learned_first)
{
	struct dpr_rules *r = rules("[{\"match_pattern\":\"*.example\",\"rule_ref\":21}]");
	struct dpe_origin o = origin(&UP_ADDR_U, r);
	uint8_t qb[512];
	size_t qn = mk_query(qb, 0x1111, "a.example", 1, 0);
	struct dpm_query q;
	struct dpm_answer a;
	struct dpe_stats st;
	uint16_t first_id;

	ck_assert_int_eq(dpe_udp_query(E, qb, qn, &o), 0);
	run_until(&NGOT, 1);
	ck_assert_int_eq(NGOT, 1);
	ck_assert_int_eq(UP_QUERIES, 1);
	first_id = UP_LAST_ID;
	dpm_parse_query(qb, qn, &q);
	ck_assert_int_eq(dpm_parse_answer(GOT[0], GOT_LEN[0], &q, &a), DPM_OK);
	ck_assert_uint_eq(a.id, 0x1111); /* the workload's ID back */
	ck_assert_uint_eq(a.n_ips, 1);
	ck_assert_uint_eq(a.ips[0].addr[3], 1); /* the forged 192.0.2.66 was ignored */
	ck_assert_int_eq(NPUB, 1);
	ck_assert_int_eq(PUB_AT_GOT, 0); /* published before it was released */
	ck_assert_str_eq(PUB_NAME, "a.example.");
	ck_assert_uint_eq(PUB_IPS, 1);
	/* a REQUEST and a RESPONSE flow, both FORWARDED, naming the rule */
	ck_assert_int_eq(NFLOWS, 2);
	ck_assert_int_eq(FLOW_VERDICT[0], BW_FLOW_VERDICT_FORWARDED);
	ck_assert_int_eq(FLOW_RESPONSE[0], 0);
	ck_assert_int_eq(FLOW_RESPONSE[1], 1);
	ck_assert_uint_eq(FLOW_REF[0], 21);
	dpe_stats(E, &st);
	ck_assert_uint_eq(st.queries[0][DPE_ALLOWED], 1);
	ck_assert_uint_eq(st.bad[DPM_MISMATCH], 0);
	ck_assert_uint_eq(st.inflight, 0);
	/* the same query again: the server never sees the workload's ID twice
	 * (a fresh random ID each time; equal only with probability 2^-32) */
	ck_assert_int_eq(dpe_udp_query(E, qb, qn, &o), 0);
	run_until(&NGOT, 2);
	ck_assert(first_id != 0x1111 || UP_LAST_ID != 0x1111);
	dpr_unref(r);
}
END_TEST

START_TEST(denied_queries_are_answered_at_once)
{
	struct dpr_rules *r = rules("[{\"match_name\":\"a.example\"}]");
	struct dpe_origin o = origin(&UP_ADDR_U, r);
	struct dpe_conf c = { .deny_rcode = DPM_NXDOMAIN, .upstream_timeout_ms = 300,
			      .max_inflight = 100, .tcp_idle_ms = 5000, .max_tcp_conns = 10,
			      .flows = 1 };
	uint8_t qb[512];
	size_t qn = mk_query(qb, 0x2222, "evil.example", 1, 1);

	ck_assert_int_eq(dpe_udp_query(E, qb, qn, &o), 0);
	ck_assert_int_eq(NGOT, 1); /* no waiting */
	ck_assert_uint_eq(dpm_get_id(GOT[0]), 0x2222);
	ck_assert_uint_eq(GOT[0][3] & 0x0f, DPM_REFUSED);
	ck_assert_int_eq(UP_QUERIES, 0);
	ck_assert_int_eq(NFLOWS, 1);
	ck_assert_int_eq(FLOW_VERDICT[0], BW_FLOW_VERDICT_DROPPED);
	ck_assert_uint_eq(FLOW_REF[0], 11); /* the policy entry that redirected */
	dpe_set_conf(E, &c);
	ck_assert_int_eq(dpe_udp_query(E, qb, qn, &o), 0);
	ck_assert_uint_eq(GOT[1][3] & 0x0f, DPM_NXDOMAIN);
	/* no rules at all: nothing is allowed */
	o.rules = NULL;
	qn = mk_query(qb, 0x2223, "a.example", 1, 0);
	ck_assert_int_eq(dpe_udp_query(E, qb, qn, &o), 0);
	ck_assert_uint_eq(GOT[2][3] & 0x0f, DPM_NXDOMAIN);
	dpr_unref(r);
}
END_TEST

START_TEST(tc_edns_and_cname_chains_pass_through)
{
	struct dpr_rules *r = rules("[{\"match_pattern\":\"*\"}]");
	struct dpe_origin o = origin(&UP_ADDR_U, r);
	uint8_t qb[512];
	size_t qn;

	qn = mk_query(qb, 1, "big.example", 1, 0);
	dpe_udp_query(E, qb, qn, &o);
	run_until(&NGOT, 1);
	ck_assert_int_eq(NGOT, 1);
	ck_assert(GOT[0][2] & 0x02); /* TC as the server sent it */
	qn = mk_query(qb, 2, "edns.example", 1, 1);
	dpe_udp_query(E, qb, qn, &o);
	run_until(&NGOT, 2);
	ck_assert(UP_SAW_EDNS);
	ck_assert_uint_eq(GOT[1][GOT_LEN[1] - 1], 3); /* 192.0.2.3: the server saw EDNS */
	qn = mk_query(qb, 3, "cname.example", 1, 0);
	dpe_udp_query(E, qb, qn, &o);
	run_until(&NGOT, 3);
	ck_assert_int_eq(NPUB, 3);
	ck_assert_str_eq(PUB_NAME, "cname.example.");
	ck_assert_uint_eq(PUB_IPS, 1);
	dpr_unref(r);
}
END_TEST

START_TEST(servers_that_fail_get_servfail)
{
	struct dpr_rules *r = rules("[{\"match_pattern\":\"*\"}]");
	struct dpe_origin o = origin(&UP_ADDR_U, r);
	uint8_t qb[512];
	size_t qn;
	struct dpe_stats st;

	qn = mk_query(qb, 0x3333, "slow.example", 1, 0);
	dpe_udp_query(E, qb, qn, &o);
	run_until(&NGOT, 1); /* after upstream_timeout (300 ms) */
	ck_assert_int_eq(NGOT, 1);
	ck_assert_uint_eq(dpm_get_id(GOT[0]), 0x3333);
	ck_assert_uint_eq(GOT[0][3] & 0x0f, DPM_SERVFAIL);
	qn = mk_query(qb, 0x3334, "garbage.example", 1, 0);
	dpe_udp_query(E, qb, qn, &o);
	run_until(&NGOT, 2);
	ck_assert_uint_eq(GOT[1][3] & 0x0f, DPM_SERVFAIL);
	/* nothing listens there: refused at once, SERVFAIL */
	{
		struct sockaddr_storage dead;
		int fd = bind_lo(SOCK_DGRAM, &dead);

		close(fd);
		o.server = dead;
		qn = mk_query(qb, 0x3335, "x.example", 1, 0);
		dpe_udp_query(E, qb, qn, &o);
		run_until(&NGOT, 3);
		ck_assert_uint_eq(GOT[2][3] & 0x0f, DPM_SERVFAIL);
	}
	dpe_stats(E, &st);
	ck_assert_uint_eq(st.timeouts, 1);
	ck_assert_uint_eq(st.upstream_errors, 2);
	ck_assert_uint_eq(st.bad[DPM_MALFORMED], 1);
	ck_assert_uint_eq(st.inflight, 0);
	dpr_unref(r);
}
END_TEST

START_TEST(bad_queries_are_counted_and_answered_formerr)
{
	struct dpr_rules *r = rules("[{\"match_pattern\":\"*\"}]");
	struct dpe_origin o = origin(&UP_ADDR_U, r);
	static const uint8_t loop[] = { 0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
					0xc0, 0x0c, 0, 1, 0, 1 };
	struct dpe_stats st;

	ck_assert_int_eq(dpe_udp_query(E, loop, sizeof(loop), &o), -EBADMSG);
	ck_assert_int_eq(NGOT, 1);
	ck_assert_uint_eq(GOT[0][3] & 0x0f, DPM_FORMERR);
	ck_assert_uint_eq(dpm_get_id(GOT[0]), 9);
	ck_assert_int_eq(dpe_udp_query(E, loop, 5, &o), -EMSGSIZE); /* dropped */
	ck_assert_int_eq(NGOT, 1);
	dpe_stats(E, &st);
	ck_assert_uint_eq(st.bad[DPM_MALFORMED], 1);
	ck_assert_uint_eq(st.bad[DPM_SHORT], 1);
	dpr_unref(r);
}
END_TEST

START_TEST(concurrency_limit_answers_refused)
{
	struct dpr_rules *r = rules("[{\"match_pattern\":\"*\"}]");
	struct dpe_origin o = origin(&UP_ADDR_U, r);
	struct dpe_conf c = { .deny_rcode = DPM_REFUSED, .upstream_timeout_ms = 200,
			      .max_inflight = 2, .tcp_idle_ms = 5000, .max_tcp_conns = 10,
			      .flows = 1 };
	uint8_t qb[512];
	struct dpe_stats st;

	dpe_set_conf(E, &c);
	for (int i = 0; i < 3; i++) {
		size_t qn = mk_query(qb, (uint16_t)(100 + i), "slow.example", 1, 0);

		dpe_udp_query(E, qb, qn, &o);
	}
	ck_assert_int_eq(NGOT, 1); /* the third at once */
	ck_assert_uint_eq(dpm_get_id(GOT[0]), 102);
	ck_assert_uint_eq(GOT[0][3] & 0x0f, DPM_REFUSED);
	dpe_stats(E, &st);
	ck_assert_uint_eq(st.queries[0][DPE_LIMITED], 1);
	ck_assert_uint_eq(st.inflight, 2);
	run_until(&NGOT, 3);
	dpr_unref(r);
}
END_TEST

static unsigned t_hook_active(bw_module_ctx *ctx)
{
	return BW_HOOK_F_DNS;
}

static int t_hook_dns(bw_module_ctx *ctx, const struct bw_hook_dns *q,
		      void (*done)(const struct bw_hook_result *res, void *user_data),
		      void *user_data, uint64_t *ticket)
{
	snprintf(HOOK_NAME, sizeof(HOOK_NAME), "%s", q->name);
	HOOK_DONE = done;
	HOOK_ARG = user_data;
	*ticket = 7;
	return BW_HOOK_PENDING;
}

static void t_hook_cancel(bw_module_ctx *ctx, uint64_t ticket)
{
	HOOK_CANCELLED++;
}

START_TEST(decision_hooks_narrow_what_policy_allows)
{
	struct dpr_rules *r = rules("[{\"match_pattern\":\"*.example\",\"rule_ref\":21}]");
	struct dpe_origin o = origin(&UP_ADDR_U, r);
	struct bw_hook_result deny = { .size = sizeof(deny), .verdict = BW_HOOK_DENY,
				       .script = "s", .hook = "on_dns", .reason = "no",
				       .extensions_json = "{\"lua\":{\"verdict\":\"deny\"}}" };
	struct bw_hook_result allow = { .size = sizeof(allow), .verdict = BW_HOOK_ALLOW };
	uint8_t qb[512];
	size_t qn;
	struct dpe_stats st;

	API.hook_active = t_hook_active;
	API.hook_dns = t_hook_dns;
	API.hook_cancel = t_hook_cancel;
	/* denied by the script: REFUSED, a DROPPED flow carrying its extensions */
	qn = mk_query(qb, 0x4444, "a.example", 1, 0);
	ck_assert_int_eq(dpe_udp_query(E, qb, qn, &o), 0);
	ck_assert_str_eq(HOOK_NAME, "a.example.");
	ck_assert_int_eq(NGOT, 0); /* waiting for the script */
	HOOK_DONE(&deny, HOOK_ARG);
	ck_assert_int_eq(NGOT, 1);
	ck_assert_uint_eq(dpm_get_id(GOT[0]), 0x4444);
	ck_assert_uint_eq(GOT[0][3] & 0x0f, DPM_REFUSED);
	ck_assert_int_eq(UP_QUERIES, 0);
	ck_assert_int_eq(NFLOWS, 1);
	ck_assert_int_eq(FLOW_VERDICT[0], BW_FLOW_VERDICT_DROPPED);
	ck_assert_str_eq(FLOW_EXT[0], "{\"lua\":{\"verdict\":\"deny\"}}");
	dpe_stats(E, &st);
	ck_assert_uint_eq(st.hook_denied, 1);
	ck_assert_uint_eq(st.queries[0][DPE_DENIED], 1);
	/* allowed by the script: forwarded as usual */
	qn = mk_query(qb, 0x4445, "a.example", 1, 0);
	ck_assert_int_eq(dpe_udp_query(E, qb, qn, &o), 0);
	HOOK_DONE(&allow, HOOK_ARG);
	run_until(&NGOT, 2);
	ck_assert_int_eq(NGOT, 2);
	ck_assert_uint_eq(GOT[1][3] & 0x0f, 0);
	ck_assert_int_eq(UP_QUERIES, 1);
	/* a query denied by policy never reaches the script */
	HOOK_NAME[0] = '\0';
	qn = mk_query(qb, 0x4446, "a.example.org", 1, 0);
	ck_assert_int_eq(dpe_udp_query(E, qb, qn, &o), 0);
	ck_assert_str_eq(HOOK_NAME, "");
	/* a query still waiting for its script when the engine goes: cancelled */
	qn = mk_query(qb, 0x4447, "a.example", 1, 0);
	ck_assert_int_eq(dpe_udp_query(E, qb, qn, &o), 0);
	dpe_free(E);
	E = NULL;
	ck_assert_int_eq(HOOK_CANCELLED, 1);
	dpr_unref(r);
}
END_TEST

START_TEST(udp_queries_share_upstream_sockets)
{
	struct dpr_rules *r = rules("[{\"match_pattern\":\"*\"}]");
	struct dpe_origin o = origin(&UP_ADDR_U, r);
	uint8_t qb[512];
	struct dpe_stats st;
	char name[32];
	int n = 90; /* under max_inflight (100) */

	for (int i = 0; i < n; i++) {
		size_t qn;

		snprintf(name, sizeof(name), "p%d.example", 1 + i % 3);
		qn = mk_query(qb, (uint16_t)(1000 + i), name, 1, 0);
		((struct sockaddr_in *)&o.client)->sin_port = htons((uint16_t)(40000 + i));
		ck_assert_int_eq(dpe_udp_query(E, qb, qn, &o), 0);
	}
	dpe_stats(E, &st);
	/* 64 queries a socket: two sockets for 90 queries sent at once */
	ck_assert_uint_eq(st.upstream_sockets, (n + DPE_USOCK_USES - 1) / DPE_USOCK_USES);
	ck_assert_uint_eq(st.inflight, n);
	run_until(&NANS, n);
	ck_assert_int_eq(NANS, n);
	ck_assert_int_eq(NANS_WRONG, 0); /* each answer went to its own query */
	dpe_stats(E, &st);
	ck_assert_uint_eq(st.answers, n);
	ck_assert_uint_eq(st.inflight, 0);
	ck_assert_int_eq(UP_QUERIES, n);
	dpr_unref(r);
}
END_TEST

/* complete length-prefixed messages in buf */
static int frames(const uint8_t *buf, size_t len)
{
	size_t p = 0;
	int k = 0;

	while (p + 2 <= len && p + 2 + ((size_t)buf[p] << 8 | buf[p + 1]) <= len) {
		p += 2 + ((size_t)buf[p] << 8 | buf[p + 1]);
		k++;
	}
	return k;
}

START_TEST(tcp_pipelined_queries_are_answered_out_of_order)
{
	struct dpr_rules *r = rules("[{\"match_pattern\":\"*.example\"}]");
	struct dpe_origin o = origin(&UP_ADDR_T, r);
	int sv[2];
	uint8_t buf[4096];
	size_t off = 0;
	int ids[3] = { 0 };
	ssize_t n;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	ck_assert_int_eq(dpe_tcp_accept(E, sv[0], &o), 0);
	for (int i = 0; i < 3; i++) {
		uint8_t qb[512];
		char name[32];
		size_t qn;

		snprintf(name, sizeof(name), "p%d.example", i + 1);
		qn = mk_query(qb + 2, (uint16_t)(0x7000 + i), name, 1, 0);
		put16(qb, (uint16_t)qn);
		ck_assert_int_eq(write(sv[1], qb, qn + 2), (ssize_t)(qn + 2));
	}
	/* three answers come back, each with the workload's ID */
	for (int i = 0; i < 500 && frames(buf, off) < 3; i++) {
		struct timeval tv = { 0, 10000 };

		event_base_loopexit(BASE, &tv);
		event_base_dispatch(BASE);
		n = read(sv[1], buf + off, sizeof(buf) - off);
		if (n > 0)
			off += (size_t)n;
	}
	{
		size_t p = 0;
		int k = 0;

		while (p + 2 <= off && k < 3) {
			size_t l = (size_t)buf[p] << 8 | buf[p + 1];

			ids[k++] = dpm_get_id(buf + p + 2);
			p += 2 + l;
		}
		ck_assert_int_eq(k, 3);
	}
	/* the upstream answered in reverse order */
	ck_assert_int_eq(ids[0], 0x7002);
	ck_assert_int_eq(ids[1], 0x7001);
	ck_assert_int_eq(ids[2], 0x7000);
	ck_assert_int_eq(NPUB, 3);
	close(sv[1]);
	dpr_unref(r);
}
END_TEST

static Suite *dnsproxy_suite(void)
{
	Suite *s = suite_create("dnsproxy");
	TCase *msg = tcase_create("messages");
	TCase *eng = tcase_create("engine");

	tcase_add_test(msg, queries_are_read_and_normalised);
	tcase_add_test(msg, answers_follow_cname_chains);
	tcase_add_test(msg, pointer_loops_and_chains_are_refused_quickly);
	tcase_add_test(msg, own_answers_echo_the_question);
	tcase_add_test(msg, rules_match_names_and_patterns);
	suite_add_tcase(s, msg);
	tcase_add_checked_fixture(eng, eng_setup, eng_teardown);
	tcase_add_test(eng, allowed_queries_are_forwarded_with_a_fresh_id_and_learned_first);
	tcase_add_test(eng, denied_queries_are_answered_at_once);
	tcase_add_test(eng, tc_edns_and_cname_chains_pass_through);
	tcase_add_test(eng, servers_that_fail_get_servfail);
	tcase_add_test(eng, bad_queries_are_counted_and_answered_formerr);
	tcase_add_test(eng, concurrency_limit_answers_refused);
	tcase_add_test(eng, udp_queries_share_upstream_sockets);
	tcase_add_test(eng, decision_hooks_narrow_what_policy_allows);
	tcase_add_test(eng, tcp_pipelined_queries_are_answered_out_of_order);
	suite_add_tcase(s, eng);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dnsproxy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
