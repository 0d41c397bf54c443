/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_proxy.c - the L7 proxy engine (core/proxy/) with real
 * sockets on loopback: a client, the engine on an event loop, and an echo
 * server in a thread. A small line protocol parser (below) stands for a
 * protocol module: "ALLOW x" lines pass, "DENY x" lines are dropped and
 * answered with "DENIED", "LEN n" passes the line and n bytes after it
 * without looking, "CLOSE" says "BYE" and closes. Each test checks what a
 * client sees (bytes, their order, FIN or reset) and what the engine
 * reports (flows, counters, memory held).
 *
 * The redirect is played by classify(): the connection goes to the echo
 * server, with the rules of the test's rule set.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/flow/flow.h"
#include "core/module/registry.h"
#include "core/proxy/proxy.h"

static const struct bw_core_api *api_unused;
static struct event_base *base;
static int echo_fd = -1;
static struct sockaddr_in echo_addr;
static struct sockaddr_in proxy_addr;
static int echo_slow_us;       /* the echo server pauses before each read */
static int upstream_closed;    /* classify sends connections to a dead port */
static struct bw_proxy_ruleset *rules;

/* ---- the line protocol parser ------------------------------------------------- */

struct line_conn {
	bw_l7_conn *conn;
	int closed;
	int await;  /* a PING is waiting for its answer: the next line waits */
};

static int line_opens, line_closes;
static int flows_fwd, flows_drop, flows_resp;
static char last_flow_policy[64];

static int
line_compile(void *ud, const char *json, size_t len, void **out, char *err,
	     size_t errlen)
{
	if (strstr(json, "BAD") != NULL) {
		snprintf(err, errlen, "rules[0]: BAD is not a verb");
		return -EINVAL;
	}
	*out = strdup(json);
	return *out != NULL ? 0 : -ENOMEM;
}

static void
line_rules_free(void *ud, void *r)
{
	free(r);
}

static int
line_open(void *ud, bw_l7_conn *conn, const struct bw_l7_conn_info *info,
	  void **state)
{
	struct line_conn *lc = calloc(1, sizeof(*lc));

	if (lc == NULL)
		return -ENOMEM;
	lc->conn = conn;
	*state = lc;
	line_opens++;
	return 0;
}

static void
line_record(struct line_conn *lc, const char *verb, int verdict, int rule)
{
	struct bw_flow_kv kv = { "verb", verb };
	struct bw_flow_l7 l7 = {
		.size = sizeof(l7), .type = BW_FLOW_L7_REQUEST, .proto = "line",
		.fields = &kv, .n_fields = 1,
	};

	struct bw_l7_record rec = { .size = sizeof(rec), .l7 = &l7,
				    .verdict = verdict, .rule = rule };

	bw_proxy_record(lc->conn, &rec);
}

static int
line_data(void *state, const struct bw_l7_input *in, size_t *n)
{
	struct line_conn *lc = state;
	const uint8_t *nl;
	size_t len;

	if (in->dir == BW_L7_DIR_REPLY) {
		if (in->len > 0)
			lc->await = 0;
		*n = in->len;
		return BW_L7_PASS;
	}
	if (in->len == 0) {
		*n = 0;
		return BW_L7_PASS;
	}
	if (lc->await) /* in order: after the answer (HTTP pipelining) */
		return BW_L7_WAIT;
	nl = memchr(in->data, '\n', in->len);
	if (nl == NULL) {
		*n = 0;
		return BW_L7_MORE;
	}
	len = (size_t)(nl - in->data) + 1;
	if (len >= 5 && memcmp(in->data, "ALLOW", 5) == 0) {
		line_record(lc, "ALLOW", BW_FLOW_VERDICT_FORWARDED, 0);
		*n = len;
		return BW_L7_PASS;
	}
	if (len >= 4 && memcmp(in->data, "PING", 4) == 0) {
		lc->await = 1;
		*n = len;
		return BW_L7_PASS;
	}
	if (len >= 4 && memcmp(in->data, "LEN ", 4) == 0) {
		*n = len + strtoul((const char *)in->data + 4, NULL, 10);
		return BW_L7_PASS;
	}
	if (len >= 5 && memcmp(in->data, "CLOSE", 5) == 0) {
		bw_proxy_inject(lc->conn, BW_L7_DIR_REPLY, "BYE\n", 4);
		return BW_L7_CLOSE;
	}
	line_record(lc, "DENY", BW_FLOW_VERDICT_DROPPED, -1);
	bw_proxy_inject(lc->conn, BW_L7_DIR_REPLY, "DENIED\n", 7);
	*n = len;
	return BW_L7_DROP;
}

static void
line_abort(void *state, enum bw_l7_abort why, enum bw_l7_dir dir)
{
	struct line_conn *lc = state;
	const char *msg = why == BW_L7_ABORT_TOO_LARGE ? "TOO LARGE\n"
			  : why == BW_L7_ABORT_TIMEOUT ? "TIMEOUT\n" : "UPSTREAM\n";

	bw_proxy_inject(lc->conn, BW_L7_DIR_REPLY, msg, strlen(msg));
}

static void
line_close(void *state)
{
	line_closes++;
	free(state);
}

static const struct bw_l7_parser line_parser = {
	.size = sizeof(struct bw_l7_parser),
	.name = "line",
	.description = "a line protocol for the engine's tests",
	.rules_compile = line_compile,
	.rules_free = line_rules_free,
	.conn_open = line_open,
	.data = line_data,
	.abort = line_abort,
	.conn_close = line_close,
};

static void
on_flow(const struct bw_flow *f, void *ud)
{
	if (f->type != BW_FLOW_TYPE_L7 || f->l7 == NULL)
		return;
	if (f->l7->type == BW_FLOW_L7_RESPONSE)
		flows_resp++;
	else if (f->verdict == BW_FLOW_VERDICT_FORWARDED)
		flows_fwd++;
	else if (f->verdict == BW_FLOW_VERDICT_DROPPED)
		flows_drop++;
	if (f->n_ingress_allowed_by > 0)
		snprintf(last_flow_policy, sizeof(last_flow_policy), "%s/%s",
			 f->ingress_allowed_by[0].ns, f->ingress_allowed_by[0].name);
	else if (f->n_isolated_by > 0)
		snprintf(last_flow_policy, sizeof(last_flow_policy), "isolated:%s",
			 f->isolated_by[0].name);
}

/* ---- the redirect ------------------------------------------------------------------ */

static int
test_classify(void *arg, int fd, const struct sockaddr *peer,
	      const struct sockaddr *local, struct bw_proxy_target *t)
{
	const struct sockaddr_in *p = (const struct sockaddr_in *)peer;
	struct sockaddr_in *u = (struct sockaddr_in *)&t->upstream;

	t->info.direction = BW_FLOW_TRAFFIC_INGRESS;
	t->info.ip_version = 4;
	memcpy(t->info.client_addr, &p->sin_addr, 4);
	t->info.client_port = ntohs(p->sin_port);
	memcpy(t->info.server_addr, &echo_addr.sin_addr, 4);
	t->info.server_port = ntohs(echo_addr.sin_port);
	t->info.endpoint_ns = "x";
	t->info.endpoint_pod = "a";
	t->parser = "line";
	t->rules = bw_proxy_ruleset_ref(rules);
	*u = echo_addr;
	if (upstream_closed)
		u->sin_port = htons(1); /* nothing listens there */
	t->upstream_len = sizeof(*u);
	return 0;
}

static const struct bw_proxy_redirect_ops test_ops = { .classify = test_classify };

/* ---- the echo server -------------------------------------------------------------- */

static void *
echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[65536];
	ssize_t n;

	for (;;) {
		if (echo_slow_us > 0)
			usleep((useconds_t)echo_slow_us);
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));

			if (w <= 0)
				goto out;
			off += w;
		}
	}
	shutdown(fd, SHUT_WR);
out:
	close(fd);
	return NULL;
}

static void *
echo_main(void *arg)
{
	for (;;) {
		pthread_t t;
		int fd = accept(echo_fd, NULL, NULL);

		if (fd < 0)
			return NULL;
		pthread_create(&t, NULL, echo_conn, (void *)(intptr_t)fd);
		pthread_detach(t);
	}
}

/* ---- client helpers ------------------------------------------------------------ */

/* Run the loop a little: callbacks that are due, then a short pause. */
static void
pump(void)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
	usleep(1000);
	event_base_loop(base, EVLOOP_NONBLOCK);
}

static int
client_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&proxy_addr,
				 sizeof(proxy_addr)), 0);
	for (int i = 0; i < 5; i++)
		pump();
	return fd;
}

static void
client_send(int fd, const char *s)
{
	ck_assert_int_eq(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/*
 * Read until the peer's FIN (returns 0), a reset (-ECONNRESET), or want
 * bytes; the loop runs in between. out gets what was read (NUL-terminated).
 */
static int
client_read(int fd, char *out, size_t cap, size_t want)
{
	size_t got = 0;

	for (int i = 0; i < 20000; i++) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		pump();
		if (poll(&p, 1, 0) <= 0)
			continue;
		n = recv(fd, out + got, cap - 1 - got, MSG_DONTWAIT);
		if (n > 0) {
			got += (size_t)n;
			out[got] = '\0';
			if (want > 0 && got >= want)
				return (int)got;
			continue;
		}
		out[got] = '\0';
		if (n == 0)
			return (int)got;
		if (errno == ECONNRESET)
			return -ECONNRESET;
	}
	out[got] = '\0';
	return -ETIMEDOUT;
}

/* Run the loop until cond() holds (or give up after many rounds). */
static int
pump_until(int (*cond)(void))
{
	for (int i = 0; i < 20000; i++) {
		if (cond())
			return 1;
		pump();
	}
	return cond();
}

static int
no_connections(void)
{
	struct bw_proxy_stats st;

	bw_proxy_stats_get(&st);
	return st.active == 0;
}

/* ---- fixture ------------------------------------------------------------------- */

static void
setup(void)
{
	struct bw_flow_policy pol = { .name = "allow-lines", .ns = "x",
				      .kind = "CiliumNetworkPolicy", .revision = 1 };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(struct sockaddr_in);
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	pthread_t t;
	char err[256];
	int lfd;

	(void)api_unused;
	/* each test starts afresh, also in CK_FORK=no runs */
	flows_fwd = flows_drop = flows_resp = 0;
	line_opens = line_closes = 0;
	upstream_closed = 0;
	echo_slow_us = 0;
	last_flow_policy[0] = '\0';
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(bw_flow_ring_init(256), 0);
	ck_assert_int_ge(bw_flow_subscribe(NULL, on_flow, NULL, NULL), 1);
	ck_assert_int_eq(bw_proxy_init(base, NULL), 0);
	ck_assert_int_eq(bw_proxy_parser_add(&line_parser, NULL), 0);
	rules = bw_proxy_ruleset_get("line", "[\"ALLOW\"]", &pol, 1, err, sizeof(err));
	ck_assert_ptr_nonnull(rules);

	echo_fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&echo_addr, 0, sizeof(echo_addr));
	echo_addr.sin_family = AF_INET;
	echo_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(echo_fd, (struct sockaddr *)&echo_addr, sizeof(echo_addr)), 0);
	ck_assert_int_eq(listen(echo_fd, 64), 0);
	len = sizeof(echo_addr);
	getsockname(echo_fd, (struct sockaddr *)&echo_addr, &len);
	pthread_create(&t, NULL, echo_main, NULL);
	pthread_detach(t);

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	len = sizeof(*sin);
	lfd = bw_proxy_listen_socket(&ss, &len, 0);
	ck_assert_int_ge(lfd, 0);
	memcpy(&proxy_addr, sin, sizeof(proxy_addr));
	ck_assert_int_gt(bw_proxy_listener_add("test", lfd, &test_ops), 0);
}

static void
teardown(void)
{
	bw_proxy_ruleset_unref(rules);
	bw_proxy_fini();
	bw_flow_unsubscribe_owner(NULL);
	event_base_free(base);
	shutdown(echo_fd, SHUT_RDWR); /* wakes the echo server's accept() */
	close(echo_fd);
}

static void
set_limits(uint32_t buffer, uint32_t head, uint64_t head_ms, uint64_t idle_ms,
	   uint32_t maxconn)
{
	struct bw_proxy_limits lim;

	bw_proxy_get_limits(&lim);
	lim.buffer_size = buffer;
	lim.max_message_head = head;
	lim.head_timeout_ms = head_ms;
	lim.idle_timeout_ms = idle_ms;
	lim.max_connections = maxconn;
	bw_proxy_set_limits(&lim);
}

/* ---- tests ----------------------------------------------------------------------- */

START_TEST(test_allowed_lines_reach_the_server)
{
	char buf[256];
	int fd = client_connect();

	client_send(fd, "ALLOW one\nALLOW two\n");
	ck_assert_int_eq(client_read(fd, buf, sizeof(buf), 20), 20);
	ck_assert_str_eq(buf, "ALLOW one\nALLOW two\n");
	ck_assert_int_eq(flows_fwd, 2);
	ck_assert_str_eq(last_flow_policy, "x/allow-lines");
	close(fd);
	ck_assert(pump_until(no_connections));
	ck_assert_int_eq(line_closes, 1);
}
END_TEST

START_TEST(test_denied_line_answered_in_order)
{
	char buf[256];
	int fd = client_connect();

	client_send(fd, "DENY x\nALLOW y\nDENY z\n");
	ck_assert_int_eq(client_read(fd, buf, sizeof(buf), 22), 22);
	/* the denial of x comes first, y's echo next; z's denial after it
	 * or before it depending on when the echo arrives: both are fine,
	 * but DENIED for x precedes ALLOW y */
	ck_assert_ptr_nonnull(strstr(buf, "ALLOW y\n"));
	ck_assert(strncmp(buf, "DENIED\n", 7) == 0);
	ck_assert_int_eq(flows_drop, 2);
	ck_assert_int_eq(flows_fwd, 1);
	ck_assert_str_eq(last_flow_policy, "isolated:allow-lines");
	close(fd);
}
END_TEST

START_TEST(test_half_close_propagates)
{
	char buf[256];
	int fd = client_connect();

	client_send(fd, "ALLOW bye\n");
	shutdown(fd, SHUT_WR);
	/* the echo server sees our FIN, answers, closes: we read it all and EOF */
	ck_assert_int_eq(client_read(fd, buf, sizeof(buf), 0), 10);
	ck_assert_str_eq(buf, "ALLOW bye\n");
	close(fd);
	ck_assert(pump_until(no_connections));
}
END_TEST

START_TEST(test_close_op_flushes_then_closes)
{
	char buf[256];
	int fd = client_connect();

	client_send(fd, "CLOSE\nALLOW never\n");
	ck_assert_int_eq(client_read(fd, buf, sizeof(buf), 0), 4);
	ck_assert_str_eq(buf, "BYE\n");
	close(fd);
	ck_assert(pump_until(no_connections));
}
END_TEST

START_TEST(test_too_large_head_is_refused)
{
	static char big[70000];
	char buf[256];
	int fd;

	set_limits(16384, 65536, 30000, 3600000, 100);
	fd = client_connect();
	memset(big, 'A', sizeof(big) - 1);
	/* no newline: the parser keeps asking for more */
	for (size_t off = 0; off < sizeof(big) - 1;) {
		ssize_t w = send(fd, big + off, sizeof(big) - 1 - off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w > 0)
			off += (size_t)w;
		else
			pump();
	}
	ck_assert_int_eq(client_read(fd, buf, sizeof(buf), 0), 10);
	ck_assert_str_eq(buf, "TOO LARGE\n");
	close(fd);
	ck_assert(pump_until(no_connections));
}
END_TEST

START_TEST(test_slow_head_times_out)
{
	char buf[256];
	struct bw_proxy_stats st;
	int fd;

	set_limits(16384, 65536, 200, 3600000, 100);
	fd = client_connect();
	client_send(fd, "ALLO");
	ck_assert_int_eq(client_read(fd, buf, sizeof(buf), 0), 8);
	ck_assert_str_eq(buf, "TIMEOUT\n");
	bw_proxy_stats_get(&st);
	ck_assert_uint_eq(st.timeouts_head, 1);
	close(fd);
}
END_TEST

/*
 * A complete request behind one whose answer is slow waits without its
 * head timer running: the timer is for heads that are slow to arrive,
 * not for a slow server (the bug: 408 to a pipelined request).
 */
START_TEST(test_head_timer_waits_for_a_slow_answer)
{
	char buf[256];
	struct bw_proxy_stats st0, st;
	int fd;

	set_limits(16384, 65536, 200, 3600000, 100);
	bw_proxy_stats_get(&st0);
	echo_slow_us = 900000; /* well past the 200 ms head timeout */
	fd = client_connect();
	client_send(fd, "PING\nALLOW after\n");
	ck_assert_int_eq(client_read(fd, buf, sizeof(buf), 17), 17);
	ck_assert_str_eq(buf, "PING\nALLOW after\n");
	bw_proxy_stats_get(&st);
	ck_assert_uint_eq(st.timeouts_head, st0.timeouts_head);
	echo_slow_us = 0;
	close(fd);
	ck_assert(pump_until(no_connections));
}
END_TEST

START_TEST(test_idle_connection_is_closed)
{
	char buf[256];
	int fd;

	set_limits(16384, 65536, 30000, 200, 100);
	fd = client_connect();
	client_send(fd, "ALLOW a\n");
	ck_assert_int_eq(client_read(fd, buf, sizeof(buf), 8), 8);
	/* then nothing: the engine closes it with a FIN */
	ck_assert_int_eq(client_read(fd, buf, sizeof(buf), 0), 0);
	close(fd);
	ck_assert(pump_until(no_connections));
}
END_TEST

START_TEST(test_connection_limit)
{
	char buf[64];
	int a, b;

	set_limits(16384, 65536, 30000, 3600000, 1);
	a = client_connect();
	b = client_connect();
	/* the second is refused with a reset */
	ck_assert_int_eq(client_read(b, buf, sizeof(buf), 0), -ECONNRESET);
	client_send(a, "ALLOW still\n");
	ck_assert_int_eq(client_read(a, buf, sizeof(buf), 12), 12);
	close(a);
	close(b);
}
END_TEST

START_TEST(test_unreachable_server)
{
	char buf[64];
	int fd;

	upstream_closed = 1;
	fd = client_connect();
	client_send(fd, "ALLOW x\n");
	/* the parser's word, then the end; or a reset when it came first */
	int n = client_read(fd, buf, sizeof(buf), 0);

	ck_assert(n == 9 || n == -ECONNRESET);
	if (n == 9)
		ck_assert_str_eq(buf, "UPSTREAM\n");
	close(fd);
	ck_assert(pump_until(no_connections));
}
END_TEST

/*
 * Backpressure: 8 MiB pass through (LEN framing) to a server that reads
 * slowly; the engine's buffers never exceed a few buffer sizes.
 */
START_TEST(test_backpressure_bounds_memory)
{
	const size_t total = 8u << 20;
	char hdr[64], *rbuf = malloc(1 << 16);
	uint8_t chunk[16384];
	size_t sent = 0, recvd = 0, hlen;
	uint64_t max_held = 0;
	struct bw_proxy_stats st;
	int fd;

	set_limits(16384, 65536, 30000, 3600000, 100);
	echo_slow_us = 200;
	fd = client_connect();
	hlen = (size_t)snprintf(hdr, sizeof(hdr), "LEN %zu\n", total);
	client_send(fd, hdr);
	memset(chunk, 'z', sizeof(chunk));
	for (int i = 0; i < 400000 && recvd < total + hlen; i++) {
		ssize_t n;

		if (sent < total) {
			size_t k = total - sent < sizeof(chunk) ? total - sent : sizeof(chunk);

			n = send(fd, chunk, k, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
		n = recv(fd, rbuf, 1 << 16, MSG_DONTWAIT);
		if (n > 0)
			recvd += (size_t)n;
		bw_proxy_stats_get(&st);
		if (st.buffer_bytes > max_held)
			max_held = st.buffer_bytes;
		if (n <= 0)
			usleep(100);
	}
	ck_assert_uint_eq(recvd, total + hlen);
	/* two directions, one buffer each */
	ck_assert_uint_le(max_held, 2 * 16384);
	close(fd);
	free(rbuf);
	echo_slow_us = 0;
}
END_TEST

START_TEST(test_stop_closes_with_fin)
{
	char buf[64];
	int fd = client_connect();

	client_send(fd, "ALLOW a\n");
	ck_assert_int_eq(client_read(fd, buf, sizeof(buf), 8), 8);
	bw_proxy_stop();
	ck_assert_int_eq(recv(fd, buf, sizeof(buf), 0), 0); /* FIN, not a reset */
	ck_assert_int_eq(line_closes, 1);
	close(fd);
}
END_TEST

START_TEST(test_rules_compiled_once_and_checked)
{
	char err[256];
	struct bw_proxy_ruleset *a, *b;

	a = bw_proxy_ruleset_get("line", "[\"ALLOW\"]", NULL, 0, err, sizeof(err));
	b = bw_proxy_ruleset_get("line", "[\"ALLOW\"]", NULL, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_eq(a, b);
	bw_proxy_ruleset_unref(a);
	bw_proxy_ruleset_unref(b);
	ck_assert_int_eq(bw_proxy_rules_check("line", "[\"BAD\"]", err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "rules[0]: BAD is not a verb");
	ck_assert_int_eq(bw_proxy_rules_check("nope", "[]", err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "no L7 parser 'nope' is loaded");
	ck_assert_int_eq(bw_proxy_parser_add(&line_parser, NULL), -EEXIST);
}
END_TEST

/* A module's parser goes away with the module: its connections close first. */
START_TEST(test_parser_dropped_with_its_owner)
{
	static int owner;
	struct bw_l7_parser p = line_parser;
	char buf[64];
	int fd;

	p.name = "line2";
	ck_assert_int_eq(bw_proxy_parser_add(&p, &owner), 0);
	ck_assert_ptr_nonnull(bw_proxy_parser_find("line2"));
	fd = client_connect();
	bw_registry_drop_owner(&owner);
	ck_assert_ptr_null(bw_proxy_parser_find("line2"));
	/* "line" is still there and so is our connection (it uses "line") */
	client_send(fd, "ALLOW a\n");
	ck_assert_int_eq(client_read(fd, buf, sizeof(buf), 8), 8);
	close(fd);
}
END_TEST

static Suite *
proxy_suite(void)
{
	Suite *s = suite_create("proxy");
	TCase *tc = tcase_create("engine");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_allowed_lines_reach_the_server);
	tcase_add_test(tc, test_denied_line_answered_in_order);
	tcase_add_test(tc, test_half_close_propagates);
	tcase_add_test(tc, test_close_op_flushes_then_closes);
	tcase_add_test(tc, test_too_large_head_is_refused);
	tcase_add_test(tc, test_slow_head_times_out);
	tcase_add_test(tc, test_head_timer_waits_for_a_slow_answer);
	tcase_add_test(tc, test_idle_connection_is_closed);
	tcase_add_test(tc, test_connection_limit);
	tcase_add_test(tc, test_unreachable_server);
	tcase_add_test(tc, test_backpressure_bounds_memory);
	tcase_add_test(tc, test_stop_closes_with_fin);
	tcase_add_test(tc, test_rules_compiled_once_and_checked);
	tcase_add_test(tc, test_parser_dropped_with_its_owner);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(proxy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
