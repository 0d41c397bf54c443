/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_http.c - the http module on the proxy engine, between
 * real clients (curl, and raw sockets for what curl will not send) and a
 * real server (nginx on loopback, started by the test). The redirect is
 * played by classify(): every connection to the engine's listener goes to
 * nginx with the test's rules.http. What the client sees is checked: status
 * codes, the 403 body, the order of pipelined answers, a connection that
 * stays usable or is closed, and the flows the requests leave.
 *
 * Skips (77) when nginx or curl is not installed.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/flow/flow.h"
#include "core/module/coreapi.h"
#include "core/module/hooks.h"
#include "core/module/module.h"
#include "core/module/registry.h"
#include "core/proxy/proxy.h"
#include "http.h"
#include "http_smuggling.h"

extern const struct bw_module bw_module_desc;

static struct event_base *base;
static char tmpdir[256];
static pid_t nginx_pid;
static int nginx_port;
static struct sockaddr_in proxy_addr;
static struct bw_proxy_ruleset *rules;
static struct bw_module_ctx modctx;
static struct bw_core_api api;
static int sub_id;
static struct http_conf conf = {
	.headers_allow = "user-agent,content-type",
	.flow_headers = 1,
	.allow_upgrade = "",
	.max_pipeline = 32,
};

#define RULES "[{\"method\":\"GET|HEAD\",\"path\":\"/public(/.*)?\"}," \
	"{\"method\":\"PUT\",\"path\":\"/dav/.*\"}," \
	"{\"method\":\"GET\",\"path\":\"/hosted\",\"host\":\"api\\\\.example\"}," \
	"{\"method\":\"GET\",\"path\":\"/token\",\"headers\":[\"X-Token\"]}]"

/* ---- flows ------------------------------------------------------------------- */

struct seen {
	int verdict, type, code;
	char method[16], url[256], policy[64];
	char auth[64], ua[64];
	uint64_t latency;
};

static struct seen seen[64];
static int n_seen;

static void
on_flow(const struct bw_flow *f, void *ud)
{
	struct seen *s;

	if (f->l7 == NULL || f->l7->http == NULL || n_seen >= 64)
		return;
	s = &seen[n_seen++];
	memset(s, 0, sizeof(*s));
	s->verdict = f->verdict;
	s->type = f->l7->type;
	s->code = (int)f->l7->http->code;
	s->latency = f->l7->latency_ns;
	snprintf(s->method, sizeof(s->method), "%s", f->l7->http->method ? f->l7->http->method : "");
	snprintf(s->url, sizeof(s->url), "%s", f->l7->http->url ? f->l7->http->url : "");
	if (f->n_ingress_allowed_by > 0)
		snprintf(s->policy, sizeof(s->policy), "%s", f->ingress_allowed_by[0].name);
	for (uint32_t i = 0; i < f->l7->http->n_headers; i++) {
		const struct bw_flow_kv *kv = &f->l7->http->headers[i];

		if (!strcmp(kv->key, "authorization"))
			snprintf(s->auth, sizeof(s->auth), "%s", kv->value);
		if (!strcmp(kv->key, "user-agent"))
			snprintf(s->ua, sizeof(s->ua), "%s", kv->value);
	}
}

/* ---- the redirect --------------------------------------------------------------- */

static int
classify(void *arg, int fd, const struct sockaddr *peer, const struct sockaddr *local,
	 struct bw_proxy_target *t)
{
	const struct sockaddr_in *p = (const struct sockaddr_in *)peer;
	struct sockaddr_in *u = (struct sockaddr_in *)&t->upstream;

	t->info.direction = BW_FLOW_TRAFFIC_INGRESS;
	t->info.ip_version = 4;
	memcpy(t->info.client_addr, &p->sin_addr, 4);
	t->info.client_port = ntohs(p->sin_port);
	u->sin_family = AF_INET;
	u->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	u->sin_port = htons((uint16_t)nginx_port);
	memcpy(t->info.server_addr, &u->sin_addr, 4);
	t->info.server_port = (uint16_t)nginx_port;
	t->parser = "http";
	t->rules = bw_proxy_ruleset_ref(rules);
	t->upstream_len = sizeof(*u);
	return 0;
}

static const struct bw_proxy_redirect_ops ops = { .classify = classify };

/* ---- nginx ---------------------------------------------------------------------- */

static int
nginx_start(void)
{
	char path[512], cmd[600];
	FILE *f;

	snprintf(tmpdir, sizeof(tmpdir), "%s/bw-test-http.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/dav", tmpdir);
	mkdir(path, 0777);
	chmod(tmpdir, 0777);
	chmod(path, 0777);
	nginx_port = 20000 + (int)(getpid() % 20000);
	snprintf(path, sizeof(path), "%s/nginx.conf", tmpdir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f,
		"%s"
		"worker_processes 1;\n"
		"error_log %s/error.log;\n"
		"pid %s/nginx.pid;\n"
		"events { worker_connections 128; }\n"
		"http {\n"
		"  access_log off;\n"
		"  client_body_temp_path %s/body;\n"
		"  proxy_temp_path %s/proxy;\n"
		"  fastcgi_temp_path %s/fastcgi;\n"
		"  uwsgi_temp_path %s/uwsgi;\n"
		"  scgi_temp_path %s/scgi;\n"
		"  large_client_header_buffers 32 16k;\n"
		"  keepalive_requests 100000;\n"
		"  server {\n"
		"    listen 127.0.0.1:%d;\n"
		"    location / { return 200 \"$request_method $request_uri\\n\"; }\n"
		"    location /public/hdr { return 200 \"x-strip=$http_x_strip x-added=$http_x_added\\n\"; }\n"
		"    location /dav/ { root %s; dav_methods PUT; client_max_body_size 16m; }\n"
		"  }\n"
		"}\n",
		geteuid() == 0 ? "user root root;\n" : "",
		tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, nginx_port, tmpdir);
	fclose(f);
	nginx_pid = fork();
	if (nginx_pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, 1);
		dup2(devnull, 2);
		execlp("nginx", "nginx", "-g", "daemon off;", "-p", tmpdir, "-c", path,
		       (char *)NULL);
		_exit(127);
	}
	/* wait until it answers */
	for (int i = 0; i < 500; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_port = htons((uint16_t)nginx_port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int fd = socket(AF_INET, SOCK_STREAM, 0), rc;

		rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
		close(fd);
		if (rc == 0)
			return 0;
		if (waitpid(nginx_pid, NULL, WNOHANG) == nginx_pid)
			return -1;
		usleep(10000);
	}
	(void)cmd;
	return -1;
}

static void
nginx_stop(void)
{
	char cmd[512];

	if (nginx_pid > 0) {
		kill(nginx_pid, SIGTERM);
		waitpid(nginx_pid, NULL, 0);
	}
	if (tmpdir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
}

/* ---- clients ------------------------------------------------------------------- */

static void
pump(void)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
	usleep(500);
	event_base_loop(base, EVLOOP_NONBLOCK);
}

/*
 * Send req on a new connection; read until the proxy or server closes
 * (FIN), a reset, or until stop (if not NULL) appears want times.
 * Returns the bytes read (-1 reset); out is NUL-terminated.
 */
static int
raw(const char *req, size_t reqlen, char *out, size_t cap, const char *stop, int want,
    int *closed)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), hits = 0;
	size_t got = 0, sent = 0;

	*closed = 0;
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&proxy_addr, sizeof(proxy_addr)), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	out[0] = '\0';
	for (int i = 0; i < 40000; i++) {
		ssize_t n;

		pump();
		if (sent < reqlen) {
			n = send(fd, req + sent, reqlen - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
		}
		n = recv(fd, out + got, cap - 1 - got, 0);
		if (n > 0) {
			got += (size_t)n;
			out[got] = '\0';
			if (stop != NULL) {
				hits = 0;
				for (const char *p = out; (p = strstr(p, stop)) != NULL; p++)
					hits++;
				if (hits >= want)
					break;
			}
			continue;
		}
		if (n == 0) {
			*closed = 1;
			break;
		}
		if (errno == ECONNRESET) {
			close(fd);
			return -1;
		}
	}
	close(fd);
	return (int)got;
}

static int
raw_str(const char *req, char *out, size_t cap, const char *stop, int want, int *closed)
{
	return raw(req, strlen(req), out, cap, stop, want, closed);
}

/* Run curl with args through the proxy; its stdout into out; exit code. */
static int
curl(char *out, size_t cap, const char *const *args)
{
	const char *argv[40];
	char url_base[64];
	int p[2], n = 0, status = 0;
	size_t got = 0;
	pid_t pid;

	snprintf(url_base, sizeof(url_base), "http://127.0.0.1:%u",
		 ntohs(proxy_addr.sin_port));
	argv[n++] = "curl";
	argv[n++] = "-sS";
	argv[n++] = "--max-time";
	argv[n++] = "20";
	for (; *args != NULL && n < 38; args++) {
		static char full[40][512];

		if (strncmp(*args, "URL:", 4) == 0) {
			snprintf(full[n], sizeof(full[0]), "%s%s", url_base, *args + 4);
			argv[n] = full[n];
			n++;
		} else {
			argv[n++] = *args;
		}
	}
	argv[n] = NULL;
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execvp("curl", (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	out[0] = '\0';
	for (int i = 0; i < 80000; i++) {
		ssize_t k;

		pump();
		k = read(p[0], out + got, cap - 1 - got);
		if (k > 0) {
			got += (size_t)k;
			out[got] = '\0';
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			while ((k = read(p[0], out + got, cap - 1 - got)) > 0)
				got += (size_t)k;
			out[got] = '\0';
			break;
		}
	}
	close(p[0]);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define CURL(out, ...) curl(out, sizeof(out), (const char *const[]){ __VA_ARGS__, NULL })

/* ---- fixture ---------------------------------------------------------------------- */

static void
setup_rules(const char *json)
{
	struct bw_flow_policy pol = { .name = "l7-web", .ns = "x",
				      .kind = "CiliumNetworkPolicy", .revision = 3 };
	char err[512];

	bw_proxy_ruleset_unref(rules);
	rules = NULL;
	if (json != NULL) {
		struct bw_flow_policy pols[4] = { pol, pol, pol, pol };

		rules = bw_proxy_ruleset_get("http", json, pols, 4, err, sizeof(err));
		ck_assert_msg(rules != NULL, "%s", err);
	}
}

static void
setup(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	socklen_t len = sizeof(*sin);
	int lfd;

	n_seen = 0;
	base = event_base_new();
	ck_assert_int_eq(bw_flow_ring_init(256), 0);
	sub_id = bw_flow_subscribe(NULL, on_flow, NULL, NULL);
	ck_assert_int_ge(sub_id, 1);
	ck_assert_int_eq(bw_proxy_init(base, NULL), 0);
	api = *bw_coreapi_get();
	memset(&modctx, 0, sizeof(modctx));
	modctx.instance = "http";
	modctx.prefix = "http";
	ck_assert_int_eq(bw_module_desc.init(&modctx, &api, &conf), 0);
	setup_rules(RULES);
	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = bw_proxy_listen_socket(&ss, &len, 0);
	ck_assert_int_ge(lfd, 0);
	memcpy(&proxy_addr, sin, sizeof(proxy_addr));
	ck_assert_int_gt(bw_proxy_listener_add("test", lfd, &ops), 0);
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
}

static int
count_seen(int type, int verdict)
{
	int n = 0;

	for (int i = 0; i < n_seen; i++)
		if (seen[i].type == type && seen[i].verdict == verdict)
			n++;
	return n;
}

/* ---- tests ------------------------------------------------------------------------- */

START_TEST(test_allowed_request_and_its_flows)
{
	char out[4096];

	ck_assert_int_eq(CURL(out, "-H", "Authorization: Bearer s3cret", "-A", "tester/1",
			      "URL:/public/a?x=1"), 0);
	ck_assert_str_eq(out, "GET /public/a?x=1\n");
	ck_assert_int_eq(count_seen(BW_FLOW_L7_REQUEST, BW_FLOW_VERDICT_FORWARDED), 1);
	ck_assert_int_eq(count_seen(BW_FLOW_L7_RESPONSE, BW_FLOW_VERDICT_FORWARDED), 1);
	ck_assert_str_eq(seen[0].method, "GET");
	ck_assert_msg(strstr(seen[0].url, "/public/a?x=1") != NULL, "%s", seen[0].url);
	ck_assert(strncmp(seen[0].url, "http://127.0.0.1:", 17) == 0);
	ck_assert_str_eq(seen[0].policy, "l7-web");
	ck_assert_str_eq(seen[0].auth, "HUBBLE_REDACTED");
	ck_assert_str_eq(seen[0].ua, "tester/1");
	ck_assert_int_eq(seen[1].code, 200);
	ck_assert_uint_gt(seen[1].latency, 0);
}
END_TEST

START_TEST(test_denied_gets_403_access_denied)
{
	char out[4096];
	int closed;

	ck_assert_int_eq(CURL(out, "-i", "URL:/private"), 0);
	ck_assert_msg(strncmp(out, "HTTP/1.1 403 Forbidden\r\n", 24) == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "\r\n\r\nAccess denied\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "content-length: 15\r\n"));
	ck_assert_int_eq(count_seen(BW_FLOW_L7_REQUEST, BW_FLOW_VERDICT_DROPPED), 1);
	/* the connection stays usable: a denied request, then an allowed one */
	raw_str("GET /private HTTP/1.1\r\nHost: h\r\n\r\n"
		"GET /public HTTP/1.1\r\nHost: h\r\n\r\n", out, sizeof(out),
		"GET /public\n", 1, &closed);
	ck_assert_msg(strstr(out, "403 Forbidden") < strstr(out, "200 OK"), "%s", out);
	ck_assert(!closed);
}
END_TEST

START_TEST(test_pipelining_answers_in_order)
{
	char out[8192];
	int closed;
	const char *a, *b, *c, *d;

	raw_str("GET /public/1 HTTP/1.1\r\nHost: h\r\n\r\n"
		"GET /private HTTP/1.1\r\nHost: h\r\n\r\n"
		"GET /public/2 HTTP/1.1\r\nHost: h\r\n\r\n"
		"DELETE /public/3 HTTP/1.1\r\nHost: h\r\n\r\n"
		"GET /public/4 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		out, sizeof(out), NULL, 0, &closed);
	a = strstr(out, "GET /public/1\n");
	b = strstr(out, "Access denied");
	c = strstr(out, "GET /public/2\n");
	d = strstr(out, "GET /public/4\n");
	ck_assert_msg(a && b && c && d, "%s", out);
	ck_assert(a < b && b < c && c < d);
	/* the second denial (DELETE) sits between /public/2 and /public/4 */
	ck_assert_ptr_nonnull(strstr(c, "Access denied"));
	ck_assert(strstr(c, "Access denied") < d);
	ck_assert(closed);
	ck_assert_int_eq(count_seen(BW_FLOW_L7_REQUEST, BW_FLOW_VERDICT_DROPPED), 2);
	ck_assert_int_eq(count_seen(BW_FLOW_L7_RESPONSE, BW_FLOW_VERDICT_FORWARDED), 3);
}
END_TEST

START_TEST(test_denied_body_is_dropped_connection_usable)
{
	char out[4096];
	int closed;

	/* a denied POST with a body, then an allowed GET: the body never
	 * reaches nginx (it would be read as a request) */
	raw_str("POST /public HTTP/1.1\r\nHost: h\r\nContent-Length: 35\r\n\r\n"
		"GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n"
		"GET /public/after HTTP/1.1\r\nHost: h\r\n\r\n",
		out, sizeof(out), "GET /public/after\n", 1, &closed);
	ck_assert_ptr_nonnull(strstr(out, "403 Forbidden"));
	ck_assert_ptr_null(strstr(out, "smuggled"));
	ck_assert_ptr_nonnull(strstr(out, "GET /public/after\n"));
	/* the same with a chunked body */
	raw_str("POST /public HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
		"23\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n\r\n0\r\n\r\n"
		"GET /public/after HTTP/1.1\r\nHost: h\r\n\r\n",
		out, sizeof(out), "GET /public/after\n", 1, &closed);
	ck_assert_ptr_nonnull(strstr(out, "403 Forbidden"));
	ck_assert_ptr_null(strstr(out, "smuggled"));
	ck_assert_ptr_nonnull(strstr(out, "GET /public/after\n"));
}
END_TEST

START_TEST(test_bodies_reach_the_server)
{
	char out[4096], body[100000], path[600];
	FILE *f;
	size_t n;

	for (size_t i = 0; i < sizeof(body) - 1; i++)
		body[i] = (char)('a' + i % 26);
	body[sizeof(body) - 1] = '\0';
	snprintf(path, sizeof(path), "%s/upload", tmpdir);
	f = fopen(path, "w");
	fputs(body, f);
	fclose(f);
	snprintf(path, sizeof(path), "@%s/upload", tmpdir);
	/* Content-Length, chunked, and Expect: 100-continue */
	ck_assert_int_eq(CURL(out, "-o", "/dev/null", "-w", "%{http_code}", "-T",
			      path + 1, "URL:/dav/cl"), 0);
	ck_assert_str_eq(out, "201");
	ck_assert_int_eq(CURL(out, "-o", "/dev/null", "-w", "%{http_code}", "-T",
			      path + 1, "-H", "Transfer-Encoding: chunked", "URL:/dav/chunked"), 0);
	ck_assert_str_eq(out, "201");
	ck_assert_int_eq(CURL(out, "-o", "/dev/null", "-w", "%{http_code}", "-T",
			      path + 1, "-H", "Expect: 100-continue", "URL:/dav/expect"), 0);
	ck_assert_str_eq(out, "201");
	for (int i = 0; i < 3; i++) {
		static const char *const names[] = { "cl", "chunked", "expect" };
		char fn[600], *got = malloc(sizeof(body));

		snprintf(fn, sizeof(fn), "%s/dav/%s", tmpdir, names[i]);
		f = fopen(fn, "r");
		ck_assert_ptr_nonnull(f);
		n = fread(got, 1, sizeof(body), f);
		fclose(f);
		ck_assert_uint_eq(n, sizeof(body) - 1);
		ck_assert(memcmp(got, body, n) == 0);
		free(got);
	}
}
END_TEST

START_TEST(test_expect_continue_denied_closes)
{
	char out[4096];
	int closed;

	raw_str("PUT /nowhere HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
		"Expect: 100-continue\r\n\r\n", out, sizeof(out), NULL, 0, &closed);
	ck_assert_msg(strncmp(out, "HTTP/1.1 403 Forbidden\r\n", 24) == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "connection: close\r\n"));
	ck_assert(closed);
}
END_TEST

START_TEST(test_smuggling_gets_400_and_close)
{
	char out[4096];
	int closed;

	setup_rules(NULL); /* everything allowed: only framing is judged */
	for (size_t i = 0; i < http_n_smuggling; i++) {
		const struct http_smuggling *t = &http_smuggling[i];
		char req[1024];
		int n;

		n = snprintf(req, sizeof(req), "%s%s", t->request,
			     t->chunked_body != NULL ? t->chunked_body : "");
		/* the attack hides a second request; a proxy that framed it
		 * differently from nginx would let it through */
		n += snprintf(req + n, sizeof(req) - (size_t)n,
			      "GET /public/hidden HTTP/1.1\r\nHost: h\r\n\r\n");
		raw(req, (size_t)n, out, sizeof(out), NULL, 0, &closed);
		ck_assert_msg(strncmp(out, "HTTP/1.1 400 Bad Request\r\n", 26) == 0,
			      "%s: %s", t->name, out);
		ck_assert_msg(closed, "%s: not closed", t->name);
		ck_assert_msg(strstr(out, "hidden") == NULL, "%s: %s", t->name, out);
	}
	ck_assert_int_ge(count_seen(BW_FLOW_L7_REQUEST, BW_FLOW_VERDICT_ERROR),
			 (int)http_n_smuggling - 10);
}
END_TEST

START_TEST(test_big_headers)
{
	static char req[80 * 1024], out[8192];
	int closed, n;

	/* 60 KiB of headers pass (nginx takes 32 x 16k) */
	n = snprintf(req, sizeof(req), "GET /public/big HTTP/1.1\r\nHost: h\r\n");
	for (int i = 0; i < 60; i++)
		n += snprintf(req + n, sizeof(req) - (size_t)n, "X-Pad-%02d: %01000d\r\n", i, 0);
	n += snprintf(req + n, sizeof(req) - (size_t)n, "Connection: close\r\n\r\n");
	raw(req, (size_t)n, out, sizeof(out), NULL, 0, &closed);
	ck_assert_msg(strstr(out, "GET /public/big\n") != NULL, "%.200s", out);
	/* more than [proxy] max_message_head (64 KiB): 431, closed */
	n = snprintf(req, sizeof(req), "GET /public/big HTTP/1.1\r\nHost: h\r\n");
	for (int i = 0; i < 70; i++)
		n += snprintf(req + n, sizeof(req) - (size_t)n, "X-Pad-%02d: %01000d\r\n", i, 0);
	n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
	raw(req, (size_t)n, out, sizeof(out), NULL, 0, &closed);
	ck_assert_msg(strncmp(out, "HTTP/1.1 431 ", 13) == 0, "%.200s", out);
	ck_assert(closed);
}
END_TEST

START_TEST(test_host_and_header_rules)
{
	char out[4096];

	ck_assert_int_eq(CURL(out, "-H", "Host: api.example", "URL:/hosted"), 0);
	ck_assert_str_eq(out, "GET /hosted\n");
	ck_assert_int_eq(CURL(out, "-H", "Host: other.example", "URL:/hosted"), 0);
	ck_assert_str_eq(out, "Access denied\r\n");
	ck_assert_int_eq(CURL(out, "-H", "X-Token: 1", "URL:/token"), 0);
	ck_assert_str_eq(out, "GET /token\n");
	ck_assert_int_eq(CURL(out, "URL:/token"), 0);
	ck_assert_str_eq(out, "Access denied\r\n");
}
END_TEST

START_TEST(test_head_response_has_no_body)
{
	char out[4096];
	int closed;

	raw_str("HEAD /public HTTP/1.1\r\nHost: h\r\n\r\n"
		"GET /public/next HTTP/1.1\r\nHost: h\r\n\r\n", out, sizeof(out),
		"GET /public/next\n", 1, &closed);
	ck_assert_ptr_nonnull(strstr(out, "GET /public/next\n"));
}
END_TEST

START_TEST(test_upgrade_refused)
{
	char out[4096];
	int closed;

	raw_str("GET /public HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n"
		"Upgrade: websocket\r\n\r\n", out, sizeof(out), NULL, 0, &closed);
	ck_assert_msg(strncmp(out, "HTTP/1.1 403 Forbidden\r\n", 24) == 0, "%s", out);
	ck_assert(closed);
	raw_str("CONNECT example.example:443 HTTP/1.1\r\nHost: example.example:443\r\n\r\n",
		out, sizeof(out), NULL, 0, &closed);
	ck_assert_msg(strncmp(out, "HTTP/1.1 403 Forbidden\r\n", 24) == 0, "%s", out);
}
END_TEST

START_TEST(test_visibility_only_allows_everything)
{
	char out[4096];

	setup_rules(NULL);
	ck_assert_int_eq(CURL(out, "-X", "DELETE", "URL:/anything"), 0);
	ck_assert_str_eq(out, "DELETE /anything\n");
	ck_assert_int_eq(count_seen(BW_FLOW_L7_REQUEST, BW_FLOW_VERDICT_FORWARDED), 1);
	ck_assert_int_eq(count_seen(BW_FLOW_L7_RESPONSE, BW_FLOW_VERDICT_FORWARDED), 1);
}
END_TEST

START_TEST(test_http10_denied_closes)
{
	char out[4096];
	int closed;

	raw_str("GET /private HTTP/1.0\r\n\r\n", out, sizeof(out), NULL, 0, &closed);
	ck_assert_msg(strncmp(out, "HTTP/1.1 403 Forbidden\r\n", 24) == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "connection: close"));
	ck_assert(closed);
	raw_str("GET /public HTTP/1.0\r\n\r\n", out, sizeof(out), NULL, 0, &closed);
	ck_assert_ptr_nonnull(strstr(out, "GET /public\n"));
	ck_assert(closed);
}
END_TEST

/* ---- decision hooks: a provider standing for the Lua host ------------------- */

struct hook_answer {
	uint64_t ticket;
	int deny, strip;
};

static int hooks_asked;

static void
hook_answer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook_answer *a = arg;
	static const struct bw_hook_header set[] = { { "x-added", "yes" } };
	static const char *const rm[] = { "x-strip" };
	struct bw_hook_result res = { .size = sizeof(res) };

	res.verdict = a->deny ? BW_HOOK_DENY : BW_HOOK_ALLOW;
	if (a->deny) {
		res.script = "deny-marked";
		res.hook = "on_http";
		res.reason = "marked";
		res.extensions_json = "{\"lua\":{\"script\":\"deny-marked\",\"verdict\":\"deny\"}}";
	} else if (a->strip) {
		res.set_headers = set;
		res.n_set_headers = 1;
		res.remove_headers = rm;
		res.n_remove_headers = 1;
	}
	bw_hooks_answer(a->ticket, &res);
	free(a);
}

static unsigned
hook_active(void *arg)
{
	return BW_HOOK_F_HTTP;
}

/* Answers later, from the loop, as the Lua host does. */
static int
hook_http(void *arg, const struct bw_hook_http *req, uint64_t ticket)
{
	struct hook_answer *a = calloc(1, sizeof(*a));
	struct timeval tv = { 0, 2000 };

	hooks_asked++;
	a->ticket = ticket;
	for (uint32_t i = 0; i < req->n_headers; i++) {
		if (strcasecmp(req->headers[i].name, "x-deny") == 0)
			a->deny = 1;
		if (strcasecmp(req->headers[i].name, "x-strip") == 0)
			a->strip = 1;
	}
	/* the peers are filled: the client's address, the server's port */
	ck_assert_str_eq(req->source.ip, "127.0.0.1");
	ck_assert_int_eq(req->destination.port, nginx_port);
	ck_assert_str_eq(req->method, "GET");
	event_base_once(base, -1, EV_TIMEOUT, hook_answer_cb, a, &tv);
	return 0;
}

static void
hook_cancel(void *arg, uint64_t ticket)
{
}

START_TEST(test_decision_hooks)
{
	struct bw_hook_provider prov = { .active = hook_active, .http = hook_http,
					 .cancel = hook_cancel };
	char out[8192];
	int closed;
	const char *a, *b, *c;

	ck_assert_int_eq(bw_hooks_provider_set(&prov), 0);
	/* a script's deny: 403, the connection usable; answers stay in order */
	raw_str("GET /public/1 HTTP/1.1\r\nHost: h\r\nX-Deny: 1\r\n\r\n"
		"GET /public/2 HTTP/1.1\r\nHost: h\r\n\r\n"
		"GET /private HTTP/1.1\r\nHost: h\r\n\r\n"
		"GET /public/3 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		out, sizeof(out), NULL, 0, &closed);
	a = strstr(out, "Access denied");
	b = strstr(out, "GET /public/2\n");
	c = strstr(out, "GET /public/3\n");
	ck_assert_msg(a && b && c && a < b && b < c, "%s", out);
	ck_assert_ptr_nonnull(strstr(b, "Access denied")); /* /private, by the rules */
	/* the rules' denial is not asked about: only 3 of the 4 */
	ck_assert_int_eq(hooks_asked, 3);
	ck_assert_int_eq(count_seen(BW_FLOW_L7_REQUEST, BW_FLOW_VERDICT_DROPPED), 2);
	/* a script's header changes reach the server */
	ck_assert_int_eq(CURL(out, "-H", "X-Strip: secret", "URL:/public/hdr"), 0);
	ck_assert_str_eq(out, "x-strip= x-added=yes\n");
	bw_hooks_provider_set(NULL);
}
END_TEST

static Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("proxy");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_allowed_request_and_its_flows);
	tcase_add_test(tc, test_denied_gets_403_access_denied);
	tcase_add_test(tc, test_pipelining_answers_in_order);
	tcase_add_test(tc, test_denied_body_is_dropped_connection_usable);
	tcase_add_test(tc, test_bodies_reach_the_server);
	tcase_add_test(tc, test_expect_continue_denied_closes);
	tcase_add_test(tc, test_smuggling_gets_400_and_close);
	tcase_add_test(tc, test_big_headers);
	tcase_add_test(tc, test_host_and_header_rules);
	tcase_add_test(tc, test_head_response_has_no_body);
	tcase_add_test(tc, test_upgrade_refused);
	tcase_add_test(tc, test_visibility_only_allows_everything);
	tcase_add_test(tc, test_http10_denied_closes);
	tcase_add_test(tc, test_decision_hooks);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (system("command -v nginx >/dev/null && command -v curl >/dev/null") != 0) {
		fprintf(stderr, "SKIP: nginx or curl is not installed\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	if (nginx_start() < 0) {
		fprintf(stderr, "cannot start nginx (see %s/error.log)\n", tmpdir);
		nginx_stop();
		return 99;
	}
	sr = srunner_create(http_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nginx_stop();
	return failed == 0 ? 0 : 1;
}
