/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_luaproxy.c - on_http and on_kafka asked by a parser of
 * the L7 proxy engine, with real sockets on loopback: a client, the
 * engine and the Lua host on one event loop, an echo server in a thread.
 * A tiny parser stands for the HTTP and Kafka modules and does what they
 * do with a request policy allowed: it asks the scripts with
 * bw_hooks_http_wait() / bw_hooks_kafka_wait() (core/module/hooks.h; the
 * engine's parsers decide synchronously), answers a denial with "403
 * Access denied" and drops the request, and records the flow DROPPED with
 * the answer's extensions. Each line "METHOD URL [name:value]..." is an
 * HTTP request, each line "KAFKA APIKEY TOPIC" a Kafka request. The
 * scripts' answers must decide what the client gets, and the answer must
 * name the script and its reason.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/config.h"
#include "core/flow/flow.h"
#include "core/lua/lua.h"
#include "core/lua/lua_int.h"
#include "core/module/hooks.h"
#include "core/proxy/proxy.h"

static struct event_base *base;
static struct bw_conf *cf;
static char sdir[PATH_MAX];
static int echo_fd = -1;
static struct sockaddr_in echo_addr, proxy_addr;
static char last_script[64], last_reason[512], last_ext[1024];
static int drops, fallbacks;
static const char *conn_parser = "http";      /* what classify says */
static struct bw_proxy_ruleset *conn_rules;   /* and the rules in force */
static char l7_flows[2048];                   /* "VERDICT proto k=v,..;" */

/* ---- the stand-in parser -------------------------------------------------------- */

struct tp_conn {
	bw_l7_conn *conn;
};

static int
tp_compile(void *ud, const char *json, size_t len, void **out, char *err,
	   size_t errlen)
{
	*out = strdup(json);
	return *out != NULL ? 0 : -ENOMEM;
}

static void
tp_rules_free(void *ud, void *r)
{
	free(r);
}

static int
tp_open(void *ud, bw_l7_conn *conn, const struct bw_l7_conn_info *info,
	void **state)
{
	struct tp_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	c->conn = conn;
	*state = c;
	return 0;
}

/* What the HTTP and Kafka modules do with an allowed request: ask. */
static int
tp_ask(struct tp_conn *c, const struct bw_flow_l7 *l7)
{
	const struct bw_l7_conn_info *ci = bw_proxy_conn_info(c->conn);
	struct bw_hook_header hdr[8];
	struct bw_hook_answer a;
	char sip[64], dip[64];
	struct bw_hook_peer src = { 0 }, dst = { 0 };
	int rc, v = BW_FLOW_VERDICT_FORWARDED;

	inet_ntop(AF_INET, ci->client_addr, sip, sizeof(sip));
	inet_ntop(AF_INET, ci->server_addr, dip, sizeof(dip));
	src.ip = sip;
	src.port = ci->client_port;
	dst.ip = dip;
	dst.port = ci->server_port;
	if (l7->http != NULL) {
		struct bw_hook_http r = { .size = sizeof(r) };
		const char *path = strchr(l7->http->url + 7, '/');
		char host[128];

		snprintf(host, sizeof(host), "%.*s",
			 (int)(path ? path - (l7->http->url + 7) : 0), l7->http->url + 7);
		r.method = l7->http->method;
		r.path = path != NULL ? path : "/";
		r.host = host;
		for (uint32_t i = 0; i < l7->http->n_headers; i++) {
			hdr[i].name = l7->http->headers[i].key;
			hdr[i].value = l7->http->headers[i].value;
		}
		r.headers = hdr;
		r.n_headers = l7->http->n_headers;
		r.source = src;
		r.destination = dst;
		rc = bw_hooks_http_wait(&r, &a);
	} else {
		struct bw_hook_kafka k = { .size = sizeof(k) };
		const char *topic = l7->kafka->topic;

		k.api_key = strcmp(l7->kafka->api_key, "produce") == 0 ? 0 : 1;
		k.api_version = (uint16_t)l7->kafka->api_version;
		k.correlation_id = l7->kafka->correlation_id;
		k.topics = &topic;
		k.n_topics = 1;
		k.source = src;
		k.destination = dst;
		rc = bw_hooks_kafka_wait(&k, &a);
	}
	if (rc == BW_HOOK_NONE)
		return v;
	if (rc < 0)
		return BW_FLOW_VERDICT_DROPPED;
	if (a.res.verdict == BW_HOOK_DENY) {
		v = BW_FLOW_VERDICT_DROPPED;
		drops++;
		fallbacks += a.res.fallback;
		snprintf(last_script, sizeof(last_script), "%s",
			 a.res.script ? a.res.script : "");
		snprintf(last_reason, sizeof(last_reason), "%s",
			 a.res.reason ? a.res.reason : "");
		snprintf(last_ext, sizeof(last_ext), "%s",
			 a.res.extensions_json ? a.res.extensions_json : "");
	}
	bw_hooks_answer_free(&a);
	return v;
}

static int
tp_data(void *state, const struct bw_l7_input *in, size_t *n)
{
	struct tp_conn *c = state;
	struct bw_flow_kv hdr[8];
	struct bw_flow_http http;
	struct bw_flow_kafka kafka;
	struct bw_flow_l7 l7;
	char line[1024], *save = NULL, *w1, *w2, *w;
	const uint8_t *nl;
	size_t len;
	int v;

	if (in->dir == BW_L7_DIR_REPLY || in->len == 0) {
		*n = in->len;
		return BW_L7_PASS;
	}
	nl = memchr(in->data, '\n', in->len);
	if (nl == NULL) {
		*n = 0;
		return BW_L7_MORE;
	}
	len = (size_t)(nl - in->data) + 1;
	snprintf(line, sizeof(line), "%.*s", (int)(len - 1), in->data);
	memset(&l7, 0, sizeof(l7));
	l7.size = sizeof(l7);
	l7.type = BW_FLOW_L7_REQUEST;
	w1 = strtok_r(line, " ", &save);
	w2 = strtok_r(NULL, " ", &save);
	if (w1 != NULL && strcmp(w1, "KAFKA") == 0) {
		memset(&kafka, 0, sizeof(kafka));
		kafka.api_key = w2;
		kafka.api_version = 9;
		kafka.correlation_id = 5;
		kafka.topic = strtok_r(NULL, " ", &save);
		l7.kafka = &kafka;
		l7.proto = "kafka";
	} else {
		memset(&http, 0, sizeof(http));
		http.method = w1;
		http.url = w2;
		http.protocol = "HTTP/1.1";
		while ((w = strtok_r(NULL, " ", &save)) != NULL && http.n_headers < 8) {
			char *colon = strchr(w, ':');

			if (colon == NULL)
				continue;
			*colon = '\0';
			hdr[http.n_headers].key = w;
			hdr[http.n_headers++].value = colon + 1;
		}
		http.headers = hdr;
		l7.http = &http;
		l7.proto = "http";
	}
	v = tp_ask(c, &l7);
	{
		struct bw_l7_record rec = { .size = sizeof(rec), .l7 = &l7, .verdict = v,
					    .rule = 0 };

		bw_proxy_record(c->conn, &rec);
	}
	*n = len;
	if (v == BW_FLOW_VERDICT_DROPPED) {
		bw_proxy_inject(c->conn, BW_L7_DIR_REPLY, "403 Access denied\n", 18);
		return BW_L7_DROP;
	}
	return BW_L7_PASS;
}

static void
tp_abort(void *state, enum bw_l7_abort why, enum bw_l7_dir dir)
{
}

static void
tp_close(void *state)
{
	free(state);
}

static const struct bw_l7_parser tp_parser = {
	.size = sizeof(struct bw_l7_parser),
	.name = "http",
	.description = "HTTP and Kafka stand-in for the Lua hook tests",
	.rules_compile = tp_compile,
	.rules_free = tp_rules_free,
	.conn_open = tp_open,
	.data = tp_data,
	.abort = tp_abort,
	.conn_close = tp_close,
};

static void
on_flow(const struct bw_flow *f, void *ud)
{
	size_t o = strlen(l7_flows);

	if (f->type != BW_FLOW_TYPE_L7 || f->l7 == NULL || f->l7->proto == NULL ||
	    strcmp(f->l7->proto, "kvline") != 0)
		return;
	o += (size_t)snprintf(l7_flows + o, sizeof(l7_flows) - o, "%s %s",
			      f->verdict == BW_FLOW_VERDICT_DROPPED ? "DROPPED" : "FORWARDED",
			      f->l7->proto);
	for (uint32_t i = 0; i < f->l7->n_fields && o < sizeof(l7_flows); i++)
		o += (size_t)snprintf(l7_flows + o, sizeof(l7_flows) - o, " %s=%s",
				      f->l7->fields[i].key, f->l7->fields[i].value);
	if (o < sizeof(l7_flows) - 1)
		snprintf(l7_flows + o, sizeof(l7_flows) - o, ";");
}

/* ---- the redirect and the echo server ------------------------------------------------ */

static int
tp_classify(void *arg, int fd, const struct sockaddr *peer,
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
	t->info.endpoint_pod = "web";
	t->parser = conn_parser;
	/* http: visibility (every request allowed by policy); a Lua protocol:
	 * the test's rule set */
	t->rules = conn_rules != NULL ? bw_proxy_ruleset_ref(conn_rules) : NULL;
	*u = echo_addr;
	t->upstream_len = sizeof(*u);
	return 0;
}

static const struct bw_proxy_redirect_ops tp_ops = { .classify = tp_classify };

static void *
echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break;
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

/* ---- helpers ----------------------------------------------------------------------- */

static void
pump(void)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
	usleep(500);
	event_base_loop(base, EVLOOP_NONBLOCK);
}

static void
script(const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.lua", sdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	bw_lua_rescan();
	ck_assert_ptr_nonnull(bw_lua_script_find(name));
	ck_assert_int_eq(bw_lua_script_find(name)->state, LH_ST_ACTIVE);
}

/* Send bytes on a new connection; what comes back until nlines lines. */
static void
ask_n(const char *line, char *out, size_t cap, int nlines);

/* Send one line on a new connection; the first line that comes back. */
static void
ask(const char *line, char *out, size_t cap)
{
	ask_n(line, out, cap, 1);
}

static int
lines_in(const char *s, size_t n)
{
	int k = 0;

	for (size_t i = 0; i < n; i++)
		k += s[i] == '\n';
	return k;
}

static void
ask_n(const char *line, char *out, size_t cap, int nlines)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t got = 0;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&proxy_addr,
				 sizeof(proxy_addr)), 0);
	ck_assert_int_eq(send(fd, line, strlen(line), MSG_NOSIGNAL),
			 (ssize_t)strlen(line));
	out[0] = '\0';
	for (int i = 0; i < 20000 && lines_in(out, got) < nlines; i++) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		pump();
		if (poll(&p, 1, 0) <= 0)
			continue;
		n = recv(fd, out + got, cap - 1 - got, MSG_DONTWAIT);
		if (n <= 0)
			break;
		got += (size_t)n;
		out[got] = '\0';
	}
	close(fd);
	for (int i = 0; i < 10; i++)
		pump();
}

static void
setup(void)
{
	char conf[1024], err[512], tmpl[] = "/tmp/bw-luaproxy-test.XXXXXX";
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	socklen_t len;
	pthread_t t;
	int lfd;

	drops = fallbacks = 0;
	last_script[0] = last_reason[0] = last_ext[0] = '\0';
	l7_flows[0] = '\0';
	conn_parser = "http";
	conn_rules = NULL;
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	snprintf(sdir, sizeof(sdir), "%s", tmpl);
	snprintf(conf, sizeof(conf), "[daemon]\nstate_dir = %s\n[lua]\ndir = %s\n"
		 "time_limit = 5s\ndecision_timeout = 60s\n", sdir, sdir);
	cf = bw_conf_load_string("t.conf", conf, NULL, 0, err, sizeof(err));
	ck_assert_msg(cf != NULL, "%s", err);
	bw_conf_set_current(cf);
	base = event_base_new();
	ck_assert_int_eq(bw_flow_ring_init(256), 0);
	ck_assert_int_ge(bw_flow_subscribe(NULL, on_flow, NULL, NULL), 1);
	ck_assert_int_eq(bw_proxy_init(base, NULL), 0);
	ck_assert_int_eq(bw_proxy_parser_add(&tp_parser, NULL), 0);
	ck_assert_int_eq(bw_lua_init(base), 0);

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
	ck_assert_int_gt(bw_proxy_listener_add("test", lfd, &tp_ops), 0);
}

static void
teardown(void)
{
	char cmd[PATH_MAX + 16];

	if (conn_rules != NULL)
		bw_proxy_ruleset_unref(conn_rules);
	bw_lua_fini();
	bw_proxy_fini();
	bw_flow_unsubscribe_owner(NULL);
	bw_flow_stage_set(NULL, NULL);
	event_base_free(base);
	shutdown(echo_fd, SHUT_RDWR);
	close(echo_fd);
	bw_conf_set_current(NULL);
	bw_conf_free(cf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* ---- tests --------------------------------------------------------------------------- */

static const char guard[] =
	"local bw = require('bulwark')\n"
	"function on_http(req)\n"
	"  assert(req.destination.port > 0 and req.source.ip == '127.0.0.1')\n"
	"  if req.path:sub(1, 6) == '/admin' and req.headers['x-role'] ~= 'admin' then\n"
	"    return 'deny', req.method .. ' ' .. req.path .. ' needs x-role: admin (host ' ..\n"
	"      tostring(req.host) .. ')'\n"
	"  end\n"
	"end\n";

START_TEST(an_allowed_request_reaches_the_server)
{
	char out[256];

	script("guard", guard);
	ask("GET http://web.shop/ok\n", out, sizeof(out));
	ck_assert_str_eq(out, "GET http://web.shop/ok\n");
	ck_assert_int_eq(drops, 0);
}
END_TEST

START_TEST(on_http_deny_gets_403_and_a_flow_naming_the_script)
{
	char out[256];

	script("guard", guard);
	ask("GET http://web.shop/admin/users\n", out, sizeof(out));
	ck_assert_str_eq(out, "403 Access denied\n");
	ck_assert_int_eq(drops, 1);
	ck_assert_int_eq(fallbacks, 0);
	ck_assert_str_eq(last_script, "guard");
	ck_assert_str_eq(last_reason, "GET /admin/users needs x-role: admin (host web.shop)");
	ck_assert_msg(strstr(last_ext, "\"lua\":{\"script\":\"guard\",\"hook\":\"on_http\"") != NULL,
		      "%s", last_ext);
	/* the same path with the header passes */
	ask("GET http://web.shop/admin/users X-Role:admin\n", out, sizeof(out));
	ck_assert_str_eq(out, "GET http://web.shop/admin/users X-Role:admin\n");
	ck_assert_uint_eq(bw_lua_script_find("guard")->st[BW_LUA_ON_HTTP].denials, 1);
}
END_TEST

START_TEST(a_failing_on_http_denies_by_default)
{
	char out[256];

	script("oops", "function on_http(req) error('bug') end\n");
	ask("GET http://web.shop/\n", out, sizeof(out));
	ck_assert_str_eq(out, "403 Access denied\n");
	ck_assert_int_eq(fallbacks, 1);
	ck_assert_str_eq(last_script, "oops");
	ck_assert_msg(strstr(last_reason, "script error: oops.lua:1: bug") != NULL, "%s",
		      last_reason);
}
END_TEST

START_TEST(on_http_may_look_things_up_while_the_loop_waits)
{
	char out[256];

	/* bulwark.endpoint() is a call the loop thread answers, while it is
	 * itself waiting for this decision */
	script("lookup", "local bw = require('bulwark')\n"
	       "function on_http(req)\n"
	       "  if bw.endpoint('x/nobody') == nil and #bw.policies() == 0 then\n"
	       "    return 'deny', 'looked up'\n"
	       "  end\n"
	       "end\n");
	ask("GET http://web.shop/\n", out, sizeof(out));
	ck_assert_str_eq(out, "403 Access denied\n");
	ck_assert_str_eq(last_script, "lookup");
	ck_assert_str_eq(last_reason, "looked up");
}
END_TEST

START_TEST(on_kafka_sees_the_request)
{
	char out[256];

	script("topics", "function on_kafka(r)\n"
	       "  if r.api_key == 'produce' and r.topics[1] == 'payments' then\n"
	       "    return 'deny', 'no writes to payments (v' .. r.api_version .. ')'\n"
	       "  end\n"
	       "end\n");
	ask("KAFKA produce orders\n", out, sizeof(out));
	ck_assert_str_eq(out, "KAFKA produce orders\n");
	ask("KAFKA produce payments\n", out, sizeof(out));
	ck_assert_str_eq(out, "403 Access denied\n");
	ck_assert_str_eq(last_script, "topics");
	ck_assert_str_eq(last_reason, "no writes to payments (v9)");
}
END_TEST

START_TEST(without_a_script_the_engine_is_not_held_up)
{
	char out[256];

	script("flows-only", "function on_flow(f) end\n");
	ask("GET http://web.shop/admin\n", out, sizeof(out));
	ck_assert_str_eq(out, "GET http://web.shop/admin\n");
	ck_assert_uint_eq(lh.decisions, 0);
}
END_TEST

/* The shipped example, as a rule author would install it. */
static void
kvline_on(void)
{
	struct bw_flow_policy pol = { .name = "cache-readers", .ns = "shop",
				      .kind = "CiliumNetworkPolicy", .revision = 1 };
	char path[PATH_MAX], err[256], *text;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/line-protocol.lua", BW_TEST_LUA_EXAMPLES);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	ck_assert_uint_eq(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	script("line-protocol", text);
	free(text);
	/* the engine knows the protocol now: policies can use it */
	ck_assert_ptr_nonnull(bw_proxy_parser_find("kvline"));
	conn_parser = "kvline";
	conn_rules = bw_proxy_ruleset_get("kvline",
		"[{\"cmd\":\"GET\"},{\"cmd\":\"SET\",\"key\":\"public:.*\"}]",
		&pol, 1, err, sizeof(err));
	ck_assert_msg(conn_rules != NULL, "%s", err);
}

START_TEST(a_protocol_written_in_lua_decides_per_command)
{
	char out[256];

	kvline_on();
	ask("GET secret\n", out, sizeof(out));
	ck_assert_str_eq(out, "GET secret\n");
	ask("SET public:greeting hello\r\n", out, sizeof(out));
	ck_assert_str_eq(out, "SET public:greeting hello\r\n");
	ask("SET secret x\r\n", out, sizeof(out));
	ck_assert_str_eq(out, "-ERR access denied by policy\r\n");
	ask("DEL anything\n", out, sizeof(out));
	ck_assert_str_eq(out, "-ERR access denied by policy\r\n");
	/* every command is a flow with the parser's fields */
	ck_assert_msg(strstr(l7_flows, "FORWARDED kvline") != NULL, "%s", l7_flows);
	ck_assert_msg(strstr(l7_flows, "DROPPED kvline") != NULL &&
		      strstr(l7_flows, "cmd=SET") != NULL &&
		      strstr(l7_flows, "key=secret") != NULL, "%s", l7_flows);
	/* frame+request per command, and response() for each echoed reply */
	ck_assert_uint_eq(bw_lua_script_find("line-protocol")->st[BW_LUA_PROTOCOL].calls, 6);
	ck_assert_uint_eq(bw_lua_script_find("line-protocol")->st[BW_LUA_PROTOCOL].denials, 2);
}
END_TEST

START_TEST(a_denial_keeps_its_place_among_pipelined_replies)
{
	char out[512];

	kvline_on();
	/* one segment: the denial must come after GET a's reply, before GET b's */
	ask_n("GET a\nSET secret 1\nGET b\n", out, sizeof(out), 3);
	ck_assert_str_eq(out, "GET a\n-ERR access denied by policy\r\nGET b\n");
}
END_TEST

START_TEST(a_request_split_over_segments_is_put_together_first)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char out[256];
	size_t got = 0;

	kvline_on();
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&proxy_addr, sizeof(proxy_addr)), 0);
	ck_assert_int_eq(send(fd, "SE", 2, MSG_NOSIGNAL), 2);
	for (int i = 0; i < 50; i++)
		pump();
	ck_assert_int_eq(send(fd, "T secret 1\n", 11, MSG_NOSIGNAL), 11);
	out[0] = '\0';
	for (int i = 0; i < 20000 && memchr(out, '\n', got) == NULL; i++) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		pump();
		if (poll(&p, 1, 0) <= 0)
			continue;
		n = recv(fd, out + got, sizeof(out) - 1 - got, MSG_DONTWAIT);
		if (n <= 0)
			break;
		got += (size_t)n;
		out[got] = '\0';
	}
	close(fd);
	ck_assert_str_eq(out, "-ERR access denied by policy\r\n");
}
END_TEST

START_TEST(without_its_script_a_protocol_fails_closed)
{
	char out[256], path[PATH_MAX];

	kvline_on();
	snprintf(path, sizeof(path), "%s/line-protocol.lua", sdir);
	unlink(path);
	bw_lua_rescan();
	ask("GET secret\n", out, sizeof(out));
	ck_assert_str_eq(out, ""); /* closed, nothing forwarded */
}
END_TEST

static Suite *
luaproxy_suite(void)
{
	Suite *s = suite_create("luaproxy");
	TCase *tc = tcase_create("engine");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, an_allowed_request_reaches_the_server);
	tcase_add_test(tc, on_http_deny_gets_403_and_a_flow_naming_the_script);
	tcase_add_test(tc, a_failing_on_http_denies_by_default);
	tcase_add_test(tc, on_http_may_look_things_up_while_the_loop_waits);
	tcase_add_test(tc, on_kafka_sees_the_request);
	tcase_add_test(tc, without_a_script_the_engine_is_not_held_up);
	tcase_add_test(tc, a_protocol_written_in_lua_decides_per_command);
	tcase_add_test(tc, a_denial_keeps_its_place_among_pipelined_replies);
	tcase_add_test(tc, a_request_split_over_segments_is_put_together_first);
	tcase_add_test(tc, without_its_script_a_protocol_fails_closed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(luaproxy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
