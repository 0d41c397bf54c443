/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/bench_lua.c - the cost of the Lua hooks (docs/benchmarks.md,
 * "Lua hooks"), through the code the daemon links (libbwcore). Not a
 * test: nothing is asserted about time.
 *
 * Part 1, one hook call, in one sandbox, on this thread (what the bw-lua
 * thread does per call): each case runs N calls, R repetitions, and
 * reports ns per call (median of the repetitions):
 *   empty         bw_lsb_run() of a C function that does nothing: the
 *                 sandbox's fixed cost (budgets armed, protected call) -
 *                 the baseline;
 *   on_flow       a trivial on_flow(flow) (returns nothing) given a
 *                 policy-verdict flow as the Hubble table;
 *   on_flow_read  on_flow reading three fields and returning nil;
 *   on_flow_tag   on_flow returning a two-field table (JSON-encoded);
 *   on_http       a trivial on_http(req) given a request with 6 headers;
 *   on_dns        a trivial on_dns(q).
 * Part 2, through the host (bw-lua thread, loop thread, event loop):
 *   flows         N flows published with a trivial on_flow loaded, time
 *                 until all are stored, against the same N flows with no
 *                 script (flows/s of each and their ratio);
 *   http_async    N on_http decisions asked through core/module/hooks.h
 *                 (what the DNS proxy module does), 64 in flight: per
 *                 decision time;
 *   http_sync     N on_http decisions asked as the L7 engine asks (the loop
 *                 waits for each): round-trip time per decision.
 *
 * Usage: bench_lua [-n CALLS] [-r REPS] [-o FILE.json] [-c CASE]
 * -c CASE runs only that part-1 case (empty, on_flow, on_flow_read,
 * on_flow_tag, on_http, on_dns), for counting instructions per call under
 * valgrind --tool=callgrind, which a loaded machine does not disturb:
 *   (Ir of -n N  -  Ir of -n 0) / N.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <lauxlib.h>

#include "core/config.h"
#include "core/flow/flow.h"
#include "core/log.h"
#include "core/lua/lua.h"
#include "core/lua/lua_int.h"
#include "core/module/hooks.h"

static uint64_t
bl_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int
bl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
bl_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bl_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
bl_die(const char *what)
{
	fprintf(stderr, "bench_lua: %s\n", what);
	exit(1);
}

/* ---- the inputs ---------------------------------------------------------------- */

static const char *web_labels[] = {
	"k8s:app=web", "k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=shop",
	"k8s:io.cilium.k8s.policy.cluster=default", "k8s:io.kubernetes.pod.namespace=shop",
};
static const char *cli_labels[] = {
	"k8s:app=client", "k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=batch",
	"k8s:io.cilium.k8s.policy.cluster=default", "k8s:io.kubernetes.pod.namespace=batch",
};
static const struct bw_flow_policy pol = {
	.name = "allow-web", .ns = "shop", .kind = "CiliumNetworkPolicy", .revision = 3,
};

static struct bw_flow
bl_flow(uint16_t port)
{
	struct bw_flow f;

	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	f.time_ns = 1796545451123456789ull;
	snprintf(f.uuid, sizeof(f.uuid), "6f1c2b1e-3d2a-4f5e-9a1b-0c2d3e4f5a6b");
	f.node_name = "node-1";
	f.verdict = BW_FLOW_VERDICT_FORWARDED;
	f.type = BW_FLOW_TYPE_L3_L4;
	f.event_type = BW_FLOW_EVENT_POLICY_VERDICT;
	f.ip_version = 4;
	snprintf(f.src_ip, sizeof(f.src_ip), "10.0.1.7");
	snprintf(f.dst_ip, sizeof(f.dst_ip), "10.0.1.12");
	f.protocol = 6;
	f.tcp_flags = BW_FLOW_TCP_SYN;
	f.src_port = 43122;
	f.dst_port = port;
	f.source.id = 7;
	f.source.identity = 38214;
	f.source.ns = "batch";
	f.source.pod_name = "client";
	f.source.labels = cli_labels;
	f.source.n_labels = 4;
	f.destination.id = 12;
	f.destination.identity = 51920;
	f.destination.ns = "shop";
	f.destination.pod_name = "web-7d4b9c8f6-lm5vz";
	f.destination.labels = web_labels;
	f.destination.n_labels = 4;
	f.destination.workload_name = "web";
	f.destination.workload_kind = "Deployment";
	f.traffic_direction = BW_FLOW_TRAFFIC_INGRESS;
	f.is_reply = 0;
	f.policy_match_type = 2;
	f.ifindex = 17;
	f.ifname = "lxcweb";
	f.rule_ref = 3;
	f.ingress_allowed_by = &pol;
	f.n_ingress_allowed_by = 1;
	return f;
}

static const struct bw_hook_header hdrs[] = {
	{ "host", "web.shop" }, { "user-agent", "curl/7.88.1" }, { "accept", "*/*" },
	{ "x-request-id", "6f1c2b1e" }, { "content-length", "0" }, { "x-debug", "1" },
};

static struct bw_hook_http
bl_http(void)
{
	struct bw_hook_http r;

	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.method = "GET";
	r.path = "/api/v1/items?limit=5";
	r.host = "web.shop";
	r.headers = hdrs;
	r.n_headers = 6;
	r.source.ns = "batch";
	r.source.pod = "client";
	r.source.labels = cli_labels;
	r.source.n_labels = 4;
	r.source.identity = 38214;
	r.source.ip = "10.0.1.7";
	r.source.port = 43122;
	r.destination.ns = "shop";
	r.destination.pod = "web";
	r.destination.labels = web_labels;
	r.destination.n_labels = 4;
	r.destination.identity = 51920;
	r.destination.ip = "10.0.1.12";
	r.destination.port = 80;
	return r;
}

/* ---- part 1: one call --------------------------------------------------------------- */

struct bl_call {
	int hook;
	const void *in;
	int want_out;
};

static int
bl_empty(lua_State *L)
{
	return 0;
}

static int
bl_call(lua_State *L)
{
	struct bl_call *c = lua_touserdata(L, 1);

	bw_lsb_push_hook(L, c->hook);
	switch (c->hook) {
	case BW_LUA_ON_FLOW:
		bw_luac_push_flow(L, c->in);
		break;
	case BW_LUA_ON_HTTP:
		bw_luac_push_http(L, c->in);
		break;
	default:
		bw_luac_push_dns(L, c->in);
		break;
	}
	lua_call(L, 1, 1);
	if (c->want_out && lua_type(L, -1) == LUA_TTABLE) {
		char err[64];
		json_t *j = bw_luac_to_json(L, -1, 4, err, sizeof(err));
		char *t = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

		free(t);
		json_decref(j);
	}
	return 0;
}

static int
bl_host(lua_State *L, void *arg)
{
	lua_newtable(L);
	return 1;
}

static double
bl_case(const char *code, lua_CFunction fn, struct bl_call *c, int n, int reps,
	double *runs)
{
	struct bw_lsb_limits lim = { 16u << 20, 1000000, 1000000000ull };
	char err[256];
	unsigned hooks;
	struct bw_lsb *sb = bw_lsb_new("bench", &lim, bl_host, NULL, err, sizeof(err));

	if (sb == NULL || bw_lsb_load(sb, code, strlen(code), "=bench", &hooks, err,
				      sizeof(err)) != BW_LSB_OK)
		bl_die(err);
	for (int i = 0; i < n / 10; i++) /* warm up */
		bw_lsb_run(sb, fn, c, err, sizeof(err));
	for (int r = 0; r < reps; r++) {
		uint64_t t0 = bl_now();

		for (int i = 0; i < n; i++)
			if (bw_lsb_run(sb, fn, c, err, sizeof(err)) != BW_LSB_OK)
				bl_die(err);
		runs[r] = (double)(bl_now() - t0) / n;
	}
	bw_lsb_free(sb);
	return bl_median(runs, reps);
}

/* ---- part 2: through the host ----------------------------------------------------------- */

static struct event_base *base;
static struct bw_conf *cf;
static char dir[PATH_MAX];

static void
bl_host_start(const char *script_text)
{
	char conf[1024], err[512], path[PATH_MAX + 16], tmpl[] = "/tmp/bw-bench-lua.XXXXXX";
	FILE *f;

	if (mkdtemp(tmpl) == NULL)
		bl_die("mkdtemp");
	snprintf(dir, sizeof(dir), "%s", tmpl);
	if (script_text != NULL) {
		snprintf(path, sizeof(path), "%s/bench.lua", dir);
		f = fopen(path, "w");
		if (f == NULL)
			bl_die("cannot write the script");
		fputs(script_text, f);
		fclose(f);
	}
	snprintf(conf, sizeof(conf), "[daemon]\nstate_dir = %s\nlog_level = warning\n"
		 "[lua]\ndir = %s\nflow_queue = 65536\nflow_delay = 10s\n"
		 "decision_timeout = 60s\n", dir, dir);
	cf = bw_conf_load_string("bench.conf", conf, NULL, 0, err, sizeof(err));
	if (cf == NULL)
		bl_die(err);
	bw_conf_set_current(cf);
	bw_log_set_level(BW_LOG_WARNING);
	bw_flow_set_sources(NULL);
	bw_flow_set_node_name("node-1");
	if (bw_flow_ring_init(65536) < 0)
		bl_die("flow ring");
	base = event_base_new();
	if (base == NULL || bw_lua_init(base) < 0)
		bl_die("Lua host");
	/* wait until the worker runs the script */
	for (int i = 0; script_text != NULL && i < 100000; i++) {
		if (__atomic_load_n(&lh.active, __ATOMIC_ACQUIRE) != 0 &&
		    lh.nwscripts > 0)
			break;
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(100);
	}
}

static void
bl_host_stop(void)
{
	char cmd[PATH_MAX + 16];

	bw_lua_fini();
	bw_flow_stage_set(NULL, NULL);
	event_base_free(base);
	bw_conf_set_current(NULL);
	bw_conf_free(cf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		bl_die("cleanup");
}

/* Publish n flows and turn the loop until the last is stored: flows/s. */
static double
bl_flows(int n)
{
	uint64_t first = bw_flow_ring_next(), last = first + (uint64_t)n - 1, t0;

	t0 = bl_now();
	for (int i = 0; i < n; i++) {
		struct bw_flow f = bl_flow((uint16_t)(1 + i % 60000));

		if (bw_flow_publish(&f) < 0)
			bl_die("publish");
		if ((i & 63) == 0)
			event_base_loop(base, EVLOOP_NONBLOCK);
	}
	while (bw_flow_ring_at(last) == NULL)
		event_base_loop(base, EVLOOP_ONCE);
	return (double)n / ((double)(bl_now() - t0) / 1e9);
}

static int answered;

static void
bl_done(const struct bw_hook_result *res, void *ud)
{
	answered++;
}

static double
bl_async(int n)
{
	struct bw_hook_http r = bl_http();
	uint64_t t0 = bl_now();
	int asked = 0;

	answered = 0;
	while (answered < n) {
		while (asked < n && asked - answered < 64) {
			if (bw_hooks_http(&r, bl_done, NULL, NULL, NULL) != BW_HOOK_PENDING)
				bl_die("hook not pending");
			asked++;
		}
		event_base_loop(base, EVLOOP_ONCE);
	}
	return (double)(bl_now() - t0) / n;
}

static double
bl_sync(int n)
{
	struct bw_hook_http r = bl_http();
	uint64_t t0 = bl_now();

	for (int i = 0; i < n; i++) {
		struct lh_dec *d = calloc(1, sizeof(*d));

		d->hook = BW_LUA_ON_HTTP;
		if (bw_luac_copy_http(d, &r) < 0 || bw_luaw_decide_sync(d) < 0)
			bl_die("sync decision");
		bw_luaw_dec_free(d);
	}
	return (double)(bl_now() - t0) / n;
}

int
main(int argc, char **argv)
{
	int n = 200000, reps = 5, c, nflows, ndec;
	const char *out = NULL, *only = NULL;
	double runs[64];
	struct bw_flow flow = bl_flow(80);
	struct bw_hook_http http;
	struct bw_hook_dns dns;
	double empty, on_flow, on_flow_read, on_flow_tag, on_http, on_dns;
	double f_none, f_lua, h_async, h_sync;
	json_t *doc;

	while ((c = getopt(argc, argv, "n:r:o:c:")) != -1) {
		switch (c) {
		case 'c':
			only = optarg;
			break;
		case 'n':
			n = atoi(optarg);
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench_lua [-n CALLS] [-r REPS] [-o FILE.json]\n");
			return 2;
		}
	}
	if ((n < 100 && only == NULL) || n < 0 || reps < 1 || reps > 64)
		bl_die("bad -n or -r");
	/* the host copies requests with their peers enriched: give them all */
	http = bl_http();
	{
		struct lh_dec tmp;

		memset(&tmp, 0, sizeof(tmp));
		if (bw_luac_copy_http(&tmp, &http) < 0)
			bl_die("copy");
		http = tmp.req.http;
	}
	memset(&dns, 0, sizeof(dns));
	dns.size = sizeof(dns);
	dns.name = "api.example.com";
	dns.qtype = 1;
	dns.source = http.source;
	dns.destination = http.destination;

	if (only != NULL) {
		static const struct {
			const char *name, *code;
			int hook, tag;
		} cases[] = {
			{ "on_flow", "function on_flow(f) end", BW_LUA_ON_FLOW, 0 },
			{ "on_flow_read", "function on_flow(f) local v, p, d = f.verdict, "
			  "f.l4.TCP.destination_port, f.destination.namespace end",
			  BW_LUA_ON_FLOW, 0 },
			{ "on_flow_tag", "function on_flow(f) return {team = 'storefront', "
			  "port = f.l4.TCP.destination_port} end", BW_LUA_ON_FLOW, 1 },
			{ "on_http", "function on_http(r) end", BW_LUA_ON_HTTP, 0 },
			{ "on_dns", "function on_dns(q) end", BW_LUA_ON_DNS, 0 },
		};

		if (strcmp(only, "empty") == 0) {
			bl_case("", bl_empty, NULL, n, 1, runs);
			return 0;
		}
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct bl_call call = { cases[i].hook, NULL, cases[i].tag };

			if (strcmp(only, cases[i].name) != 0)
				continue;
			call.in = cases[i].hook == BW_LUA_ON_FLOW ? (const void *)&flow
				: cases[i].hook == BW_LUA_ON_HTTP ? (const void *)&http
				: (const void *)&dns;
			bl_case(cases[i].code, bl_call, &call, n, 1, runs);
			return 0;
		}
		bl_die("unknown case");
	}
	empty = bl_case("", bl_empty, NULL, n, reps, runs);
	on_flow = bl_case("function on_flow(f) end", bl_call,
			  &(struct bl_call){ BW_LUA_ON_FLOW, &flow, 0 }, n, reps, runs);
	on_flow_read = bl_case("function on_flow(f) local v, p, d = f.verdict, "
			       "f.l4.TCP.destination_port, f.destination.namespace "
			       "if v == 'DROPPED' and p == 22 and d == 'x' then return {} end end",
			       bl_call, &(struct bl_call){ BW_LUA_ON_FLOW, &flow, 0 }, n,
			       reps, runs);
	on_flow_tag = bl_case("function on_flow(f) return {team = 'storefront', "
			      "port = f.l4.TCP.destination_port} end", bl_call,
			      &(struct bl_call){ BW_LUA_ON_FLOW, &flow, 1 }, n, reps, runs);
	on_http = bl_case("function on_http(r) end", bl_call,
			  &(struct bl_call){ BW_LUA_ON_HTTP, &http, 0 }, n, reps, runs);
	on_dns = bl_case("function on_dns(q) end", bl_call,
			 &(struct bl_call){ BW_LUA_ON_DNS, &dns, 0 }, n, reps, runs);

	nflows = n / 2 > 65536 ? 65536 : n / 2;
	ndec = n / 10;
	bl_host_start(NULL);
	for (int r = 0; r < reps; r++)
		runs[r] = bl_flows(nflows);
	f_none = bl_median(runs, reps);
	bl_host_stop();
	bl_host_start("function on_flow(f) end\nfunction on_http(r) end\n");
	for (int r = 0; r < reps; r++)
		runs[r] = bl_flows(nflows);
	f_lua = bl_median(runs, reps);
	for (int r = 0; r < reps; r++)
		runs[r] = bl_async(ndec);
	h_async = bl_median(runs, reps);
	for (int r = 0; r < reps; r++)
		runs[r] = bl_sync(ndec);
	h_sync = bl_median(runs, reps);
	bl_host_stop();

	printf("Lua hooks: one call (median of %d x %d calls, ns per call)\n", reps, n);
	printf("  %-14s %9s %9s\n", "case", "ns/call", "x empty");
	printf("  %-14s %9.0f %9.2f\n", "empty", empty, 1.0);
	printf("  %-14s %9.0f %9.2f\n", "on_flow", on_flow, on_flow / empty);
	printf("  %-14s %9.0f %9.2f\n", "on_flow_read", on_flow_read, on_flow_read / empty);
	printf("  %-14s %9.0f %9.2f\n", "on_flow_tag", on_flow_tag, on_flow_tag / empty);
	printf("  %-14s %9.0f %9.2f\n", "on_http", on_http, on_http / empty);
	printf("  %-14s %9.0f %9.2f\n", "on_dns", on_dns, on_dns / empty);
	printf("Through the host (median of %d)\n", reps);
	printf("  flows/s, no script       %10.0f\n", f_none);
	printf("  flows/s, trivial on_flow %10.0f  (%.2f x)\n", f_lua, f_lua / f_none);
	printf("  on_http async, ns/decision (64 in flight) %8.0f\n", h_async);
	printf("  on_http sync, ns/round trip               %8.0f\n", h_sync);
	if (out != NULL) {
		doc = json_pack("{s:s, s:i, s:i, s:{s:f, s:f, s:f, s:f, s:f, s:f}, "
				"s:{s:i, s:f, s:f, s:f}, s:{s:i, s:f, s:f}}",
				"bench", "lua", "calls", n, "reps", reps,
				"ns_per_call", "empty", empty, "on_flow", on_flow,
				"on_flow_read", on_flow_read, "on_flow_tag", on_flow_tag,
				"on_http", on_http, "on_dns", on_dns,
				"pipeline", "flows", nflows, "flows_per_s_none", f_none,
				"flows_per_s_on_flow", f_lua, "ratio", f_lua / f_none,
				"decisions", "n", ndec, "async_ns", h_async, "sync_ns", h_sync);
		if (doc == NULL || json_dump_file(doc, out, JSON_INDENT(2)) < 0)
			bl_die("cannot write the JSON");
		json_decref(doc);
	}
	return 0;
}
