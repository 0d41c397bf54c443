/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_lua.c - the Lua host (core/lua/) as a script author sees
 * it, without the kernel: scripts are written into a directory, the host
 * loads them and runs their hooks on its own thread, flows go through the
 * flow pipeline's stage into the ring, decisions are asked through
 * core/module/hooks.h as the proxies ask them. Each test states what a
 * script returns and checks what the flow, the decision or `bulwark lua
 * list` (the script's state and counters) then says: every hook, every
 * return value, failures and the fallback verdict, reloads, disabling,
 * the flow queue overflowing, and the flow table equal to `observe -o json`.
 *
 * Waiting for the host's thread is a condition evaluated on every turn of
 * the event loop; the bound on the number of turns only keeps a broken
 * build from hanging.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>
#include <jansson.h>
#include <lauxlib.h>
#include <lualib.h>

#include "core/config.h"
#include "core/flow/flow.h"
#include "core/lua/lua.h"
#include "core/lua/lua_int.h"
#include "core/module/alertbus.h"
#include "core/module/hooks.h"
#include "core/module/registry.h"
#include "core/node/identity.h"
#include "lib/flowjson.h"

static struct event_base *base;
static struct bw_conf *cf;
static char dir[PATH_MAX];

/* ---- the host in a sandbox of its own -------------------------------------------- */

static void
start_host(const char *extra_conf)
{
	char conf[4096], err[512], tmpl[] = "/tmp/bw-lua-test.XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	snprintf(dir, sizeof(dir), "%s", tmpl);
	snprintf(conf, sizeof(conf),
		 "[daemon]\nstate_dir = %s\n[lua]\ndir = %s\ntime_limit = 5s\n"
		 "decision_timeout = 60s\n%s",
		 dir, dir, extra_conf != NULL ? extra_conf : "");
	cf = bw_conf_load_string("t.conf", conf, NULL, 0, err, sizeof(err));
	ck_assert_msg(cf != NULL, "%s", err);
	bw_conf_set_current(cf);
	bw_flow_set_sources(NULL);
	bw_flow_set_node_name("node-1");
	ck_assert_int_eq(bw_flow_ring_init(4096), 0);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(bw_lua_init(base), 0);
}

static void
stop_host(void)
{
	char cmd[PATH_MAX + 16];

	bw_lua_fini();
	bw_flow_stage_set(NULL, NULL);
	event_base_free(base);
	base = NULL;
	bw_conf_set_current(NULL);
	bw_conf_free(cf);
	cf = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
setup(void)
{
	start_host(NULL);
}

static void
teardown(void)
{
	stop_host();
}

/* Turn the loop until cond(arg) holds; false if it never did. */
static int
wait_for(int (*cond)(void *arg), void *arg)
{
	for (int i = 0; i < 20000; i++) {
		if (cond(arg))
			return 1;
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (cond(arg))
			return 1;
		usleep(500);
	}
	return 0;
}

static int
script_installed(void *arg)
{
	const char *name = arg;
	int yes = 0;

	pthread_mutex_lock(&lh.mu);
	for (size_t i = 0; i < lh.nwscripts; i++)
		if (strcmp(lh.wscripts[i]->name, name) == 0 && lh.wscripts[i]->sb)
			yes = 1;
	pthread_mutex_unlock(&lh.mu);
	return yes;
}

/* Write DIR/NAME.lua, have the host read the directory, wait until the
 * worker runs it. */
static void
script(const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;
	struct lh_script *s;

	snprintf(path, sizeof(path), "%s/%s.lua", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	bw_lua_rescan();
	s = bw_lua_script_find(name);
	ck_assert_ptr_nonnull(s);
	ck_assert_msg(s->state != LH_ST_ERROR, "%s did not load: %s", name,
		      s->last_error);
	ck_assert(wait_for(script_installed, (void *)name));
}

/* Remove a script's file and let the host notice. */
static void
remove_script(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s.lua", dir, name);
	ck_assert_int_eq(unlink(path), 0);
	bw_lua_rescan();
	ck_assert_ptr_null(bw_lua_script_find(name));
}

static const char *
state_of(const char *name)
{
	static const char *const names[] = { "active", "failed", "disabled", "error" };
	struct lh_script *s = bw_lua_script_find(name);
	int st;

	if (s == NULL)
		return "gone";
	pthread_mutex_lock(&lh.mu);
	st = s->state;
	pthread_mutex_unlock(&lh.mu);
	return names[st];
}

static uint64_t
calls_of(const char *name, int hook)
{
	struct lh_script *s = bw_lua_script_find(name);
	uint64_t n;

	pthread_mutex_lock(&lh.mu);
	n = s->st[hook].calls;
	pthread_mutex_unlock(&lh.mu);
	return n;
}

static uint64_t
fails_of(const char *name, int hook, int reason)
{
	struct lh_script *s = bw_lua_script_find(name);
	uint64_t n;

	pthread_mutex_lock(&lh.mu);
	n = s->st[hook].fails[reason];
	pthread_mutex_unlock(&lh.mu);
	return n;
}

/* ---- flows ------------------------------------------------------------------------ */

static const char *web_labels[] = {
	"k8s:app=web", "k8s:io.kubernetes.pod.namespace=shop",
};
static const char *cli_labels[] = {
	"k8s:app=client", "k8s:io.kubernetes.pod.namespace=batch",
};
static const struct bw_flow_policy pol_allow = {
	.name = "allow-web", .ns = "shop", .kind = "CiliumNetworkPolicy", .revision = 3,
};

static struct bw_flow
a_flow(int event, enum bw_flow_verdict verdict, uint16_t dport)
{
	struct bw_flow f;

	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	f.verdict = verdict;
	f.type = BW_FLOW_TYPE_L3_L4;
	f.event_type = (uint32_t)event;
	f.ip_version = 4;
	snprintf(f.src_ip, sizeof(f.src_ip), "10.0.1.7");
	snprintf(f.dst_ip, sizeof(f.dst_ip), "10.0.1.12");
	f.protocol = 6;
	f.tcp_flags = BW_FLOW_TCP_SYN;
	f.src_port = 43122;
	f.dst_port = dport;
	f.source.id = 7;
	f.source.identity = 38214;
	f.source.ns = "batch";
	f.source.pod_name = "client";
	f.source.labels = cli_labels;
	f.source.n_labels = 2;
	f.destination.id = 12;
	f.destination.identity = 51920;
	f.destination.ns = "shop";
	f.destination.pod_name = "web-7d4b9c8f6-lm5vz";
	f.destination.labels = web_labels;
	f.destination.n_labels = 2;
	f.destination.workload_name = "web";
	f.destination.workload_kind = "Deployment";
	f.traffic_direction = BW_FLOW_TRAFFIC_INGRESS;
	f.is_reply = verdict == BW_FLOW_VERDICT_DROPPED ? -1 : 0;
	f.ifindex = 17;
	f.ifname = "lxcweb";
	f.rule_ref = 3;
	if (event == BW_FLOW_EVENT_POLICY_VERDICT) {
		f.policy_match_type = 2;
		f.ingress_allowed_by = &pol_allow;
		f.n_ingress_allowed_by = 1;
	}
	if (verdict == BW_FLOW_VERDICT_DROPPED) {
		f.drop_reason = 133;
		f.drop_reason_desc = "POLICY_DENIED";
	}
	return f;
}

static int
flow_stored(void *arg)
{
	return bw_flow_ring_at(*(uint64_t *)arg) != NULL;
}

/* Publish f; wait until it is in the ring; its flow JSON (decref it). */
static json_t *
publish_and_get(const struct bw_flow *f)
{
	uint64_t seq = bw_flow_ring_next();
	json_t *doc;
	char *text;

	ck_assert_int_eq(bw_flow_publish(f), 0);
	ck_assert(wait_for(flow_stored, &seq));
	ck_assert_int_eq(bw_flowjson_text(bw_flow_ring_at(seq), &text), 0);
	doc = json_loads(text, 0, NULL);
	free(text);
	ck_assert_ptr_nonnull(doc);
	return doc;
}

static json_t *
jget(json_t *o, const char *path)
{
	char buf[256], *save = NULL, *part;

	snprintf(buf, sizeof(buf), "%s", path);
	for (part = strtok_r(buf, ".", &save); part && o; part = strtok_r(NULL, ".", &save))
		o = json_object_get(o, part);
	return o;
}

START_TEST(on_flow_sees_the_flow_as_observe_prints_it_and_adds_extensions)
{
	struct bw_flow f = a_flow(BW_FLOW_EVENT_POLICY_VERDICT, BW_FLOW_VERDICT_FORWARDED, 80);
	json_t *doc, *mine;

	script("tagger",
	       "function on_flow(flow)\n"
	       "  return { verdict = flow.verdict, src = flow.IP.source,\n"
	       "           dport = flow.l4.TCP.destination_port,\n"
	       "           syn = flow.l4.TCP.flags.SYN,\n"
	       "           ns = flow.destination.namespace,\n"
	       "           label = flow.destination.labels[1],\n"
	       "           workload = flow.destination.workloads[1].kind,\n"
	       "           policy = flow.ingress_allowed_by[1].name,\n"
	       "           revision = flow.ingress_allowed_by[1].revision,\n"
	       "           direction = flow.traffic_direction,\n"
	       "           summary = flow.Summary, type = flow.Type,\n"
	       "           etype = flow.event_type.type, rule = flow.extensions.rule_ref }\n"
	       "end\n");
	doc = publish_and_get(&f);
	mine = jget(doc, "flow.extensions.lua.tagger");
	ck_assert_ptr_nonnull(mine);
	ck_assert_str_eq(json_string_value(json_object_get(mine, "verdict")), "FORWARDED");
	ck_assert_str_eq(json_string_value(json_object_get(mine, "src")), "10.0.1.7");
	ck_assert_int_eq(json_integer_value(json_object_get(mine, "dport")), 80);
	ck_assert(json_is_true(json_object_get(mine, "syn")));
	ck_assert_str_eq(json_string_value(json_object_get(mine, "ns")), "shop");
	ck_assert_str_eq(json_string_value(json_object_get(mine, "label")), "k8s:app=web");
	ck_assert_str_eq(json_string_value(json_object_get(mine, "workload")), "Deployment");
	ck_assert_str_eq(json_string_value(json_object_get(mine, "policy")), "allow-web");
	ck_assert_str_eq(json_string_value(json_object_get(mine, "revision")), "3");
	ck_assert_str_eq(json_string_value(json_object_get(mine, "direction")), "INGRESS");
	ck_assert_str_eq(json_string_value(json_object_get(mine, "summary")), "TCP Flags: SYN");
	ck_assert_str_eq(json_string_value(json_object_get(mine, "type")), "L3_L4");
	ck_assert_int_eq(json_integer_value(json_object_get(mine, "etype")), 5);
	ck_assert_int_eq(json_integer_value(json_object_get(mine, "rule")), 3);
	/* the core's own extensions are still there */
	ck_assert_int_eq(json_integer_value(jget(doc, "flow.extensions.rule_ref")), 3);
	json_decref(doc);
	ck_assert_uint_eq(calls_of("tagger", BW_LUA_ON_FLOW), 1);
}
END_TEST

START_TEST(on_flow_returning_nothing_adds_nothing)
{
	struct bw_flow f = a_flow(BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED, 80);
	json_t *doc;

	script("quiet", "function on_flow(flow) end\n");
	doc = publish_and_get(&f);
	ck_assert_ptr_null(jget(doc, "flow.extensions.lua"));
	json_decref(doc);
}
END_TEST

START_TEST(on_verdict_sees_verdicts_and_drops_only)
{
	struct bw_flow trace = a_flow(BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED, 80);
	struct bw_flow verdict = a_flow(BW_FLOW_EVENT_POLICY_VERDICT,
					BW_FLOW_VERDICT_FORWARDED, 80);
	struct bw_flow drop = a_flow(BW_FLOW_EVENT_DROP, BW_FLOW_VERDICT_DROPPED, 22);

	script("alerts", "seen = {}\nfunction on_verdict(v)\n"
		"  require('bulwark').counter('verdicts', {verdict = v.verdict})\nend\n");
	json_decref(publish_and_get(&trace));
	json_decref(publish_and_get(&verdict));
	json_decref(publish_and_get(&drop));
	/* observed, not held: wait until the worker has seen both */
	{
		struct lh_script *s = bw_lua_script_find("alerts");
		int i;

		for (i = 0; i < 20000 && calls_of("alerts", BW_LUA_ON_VERDICT) < 2; i++) {
			event_base_loop(base, EVLOOP_NONBLOCK);
			usleep(500);
		}
		ck_assert_uint_eq(calls_of("alerts", BW_LUA_ON_VERDICT), 2);
		pthread_mutex_lock(&lh.mu);
		ck_assert_uint_eq(s->nfam, 1);
		ck_assert_uint_eq(s->fam[0].n, 2);
		pthread_mutex_unlock(&lh.mu);
	}
}
END_TEST

/* on_alert: the alert bus's records (modules/alerts), as tables. */
static void
wait_calls(const char *name, int hook, uint64_t n)
{
	for (int i = 0; i < 20000 && calls_of(name, hook) < n; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(500);
	}
	ck_assert_uint_eq(calls_of(name, hook), n);
}

START_TEST(on_alert_sees_the_alert_records)
{
	static const char rec[] =
		"{\"source\":\"y/other\",\"destination\":\"x/web\",\"port\":80,"
		"\"protocol\":\"TCP\",\"verdict\":\"DROPPED\",\"count\":3,"
		"\"policies\":[\"NetworkPolicy x/deny-all\"]}";
	struct lh_script *s;

	/* no script with on_alert: the host does not listen */
	script("flows", "function on_flow(f) end\n");
	ck_assert_int_eq(bw_alert_publish(rec), 0);
	ck_assert_uint_eq(bw_alert_subscribers(), 0);
	script("pager",
	       "local bw = require('bulwark')\n"
	       "function on_alert(a)\n"
	       "  assert(a.policies[1] == 'NetworkPolicy x/deny-all')\n"
	       "  bw.counter('denies', {to = a.destination, port = tostring(a.port)}, a.count)\n"
	       "end\n");
	script("broken", "function on_alert(a) error('boom') end\n");
	ck_assert_str_eq(state_of("pager"), "active");
	ck_assert_int_eq(bw_alert_publish(rec), 1);
	wait_calls("pager", BW_LUA_ON_ALERT, 1);
	wait_calls("broken", BW_LUA_ON_ALERT, 1);
	ck_assert_uint_eq(fails_of("broken", BW_LUA_ON_ALERT, BW_LSB_FAIL_ERROR), 1);
	ck_assert_uint_eq(fails_of("pager", BW_LUA_ON_ALERT, BW_LSB_FAIL_ERROR), 0);
	s = bw_lua_script_find("pager");
	pthread_mutex_lock(&lh.mu);
	ck_assert_uint_eq(s->nfam, 1);
	ck_assert_uint_eq(s->fam[0].n, 1);
	pthread_mutex_unlock(&lh.mu);
	ck_assert_uint_eq(lh.alerts_dropped, 0);
	ck_assert_uint_eq(bw_alert_subscribers(), 1);
	/* the last script with on_alert gone: off the bus again */
	remove_script("pager");
	ck_assert_uint_eq(bw_alert_subscribers(), 1);
	remove_script("broken");
	ck_assert_uint_eq(bw_alert_subscribers(), 0);
}
END_TEST

START_TEST(a_failing_on_flow_is_counted_and_its_flow_still_stored)
{
	struct bw_flow f = a_flow(BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED, 80);
	json_t *doc;

	script("broken", "function on_flow(flow) error('boom') end\n");
	doc = publish_and_get(&f);
	ck_assert_ptr_null(jget(doc, "flow.extensions.lua"));
	json_decref(doc);
	ck_assert_uint_eq(fails_of("broken", BW_LUA_ON_FLOW, BW_LSB_FAIL_ERROR), 1);
	ck_assert_msg(strstr(bw_lua_script_find("broken")->last_error, "boom") != NULL,
		      "%s", bw_lua_script_find("broken")->last_error);
}
END_TEST

START_TEST(on_flow_garbage_is_a_failure)
{
	static const char *const bad[] = {
		"return 42", "return 'tag'", "return {f = function() end}",
		"return {[true] = 1}", "local t = {} t.self = t return t",
		"return {s = string.rep('x', 5000)}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct bw_flow f = a_flow(BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED, 80);
		char text[256], name[16];
		json_t *doc;

		snprintf(name, sizeof(name), "garbage%zu", i);
		snprintf(text, sizeof(text), "function on_flow(flow) %s end\n", bad[i]);
		script(name, text);
		doc = publish_and_get(&f);
		ck_assert_ptr_null(jget(doc, "flow.extensions.lua"));
		json_decref(doc);
		ck_assert_msg(fails_of(name, BW_LUA_ON_FLOW, BW_LSB_FAIL_RETURN) == 1,
			      "%s: not counted as a bad return: %s", bad[i],
			      bw_lua_script_find(name)->last_error);
		unlink(bw_lua_script_find(name)->path);
		bw_lua_rescan();
	}
}
END_TEST

/* ---- decisions -------------------------------------------------------------------- */

struct answer {
	int calls;
	enum bw_hook_verdict verdict;
	int fallback;
	char script[64], reason[300], ext[600];
	char headers[512];
};

static void
got(const struct bw_hook_result *res, void *ud)
{
	struct answer *a = ud;
	size_t o = 0;

	a->calls++;
	a->verdict = res->verdict;
	a->fallback = res->fallback;
	snprintf(a->script, sizeof(a->script), "%s", res->script ? res->script : "");
	snprintf(a->reason, sizeof(a->reason), "%s", res->reason ? res->reason : "");
	snprintf(a->ext, sizeof(a->ext), "%s",
		 res->extensions_json ? res->extensions_json : "");
	a->headers[0] = '\0';
	for (uint32_t i = 0; i < res->n_set_headers; i++)
		o += (size_t)snprintf(a->headers + o, sizeof(a->headers) - o, "+%s=%s;",
				      res->set_headers[i].name, res->set_headers[i].value);
	for (uint32_t i = 0; i < res->n_remove_headers; i++)
		o += (size_t)snprintf(a->headers + o, sizeof(a->headers) - o, "-%s;",
				      res->remove_headers[i]);
}

static int
answered(void *arg)
{
	return ((struct answer *)arg)->calls > 0;
}

static const struct bw_hook_header req_headers[] = {
	{ "Host", "web.shop" }, { "User-Agent", "curl/7.88.1" },
	{ "X-Debug", "1" }, { "Accept", "text/html" }, { "accept", "*/*" },
};

static struct bw_hook_http
an_http(void)
{
	struct bw_hook_http r;

	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.method = "GET";
	r.path = "/admin?x=1";
	r.host = "web.shop";
	r.headers = req_headers;
	r.n_headers = 5;
	r.source.ns = "batch";
	r.source.pod = "client";
	r.source.labels = cli_labels;
	r.source.n_labels = 2;
	r.source.identity = 38214;
	r.source.ip = "10.0.1.7";
	r.source.port = 43122;
	r.destination.ip = "10.0.1.12";
	r.destination.port = 80;
	return r;
}

static void
ask_http(struct answer *a)
{
	struct bw_hook_http r = an_http();

	memset(a, 0, sizeof(*a));
	ck_assert_int_eq(bw_hooks_http(&r, got, a, NULL, NULL), BW_HOOK_PENDING);
	ck_assert_int_eq(a->calls, 0); /* never from inside the call */
	ck_assert(wait_for(answered, a));
	ck_assert_int_eq(a->calls, 1);
}

START_TEST(no_decision_hook_means_no_objection)
{
	struct bw_hook_http r = an_http();
	struct answer a = { 0 };

	script("flowonly", "function on_flow(f) end\n");
	ck_assert_uint_eq(bw_hooks_active() & BW_HOOK_F_HTTP, 0);
	ck_assert_int_eq(bw_hooks_http(&r, got, &a, NULL, NULL), BW_HOOK_NONE);
}
END_TEST

START_TEST(on_http_sees_the_request)
{
	struct answer a;

	script("inspect",
	       "function on_http(req)\n"
	       "  assert(req.method == 'GET', req.method)\n"
	       "  assert(req.path == '/admin?x=1')\n"
	       "  assert(req.host == 'web.shop')\n"
	       "  assert(req.headers['x-debug'] == '1')\n"
	       "  assert(req.headers['user-agent'] == 'curl/7.88.1')\n"
	       "  assert(req.headers['accept'] == 'text/html, */*', req.headers.accept)\n"
	       "  assert(req.source.namespace == 'batch' and req.source.pod == 'client')\n"
	       "  assert(req.source.labels[1] == 'k8s:app=client')\n"
	       "  assert(req.source.identity == 38214 and req.source.port == 43122)\n"
	       "  assert(req.destination.ip == '10.0.1.12' and req.destination.port == 80)\n"
	       "  return 'allow'\n"
	       "end\n");
	ck_assert_uint_ne(bw_hooks_active() & BW_HOOK_F_HTTP, 0);
	ask_http(&a);
	ck_assert_msg(a.verdict == BW_HOOK_ALLOW && !a.fallback, "%s",
		      bw_lua_script_find("inspect")->last_error);
}
END_TEST

/* A proxy that knows only the address and the identity of a peer (from
 * the connection): the host fills in the identity's labels. */
START_TEST(a_peer_given_by_identity_gets_its_labels)
{
	struct bw_hook_http r = an_http();
	struct answer a;

	ck_assert_int_eq(bw_identity_init(), 0);
	script("who",
	       "local bw = require('bulwark')\n"
	       "function on_http(req)\n"
	       "  assert(req.source.identity == 2, req.source.identity)\n"
	       "  assert(bw.has_label(req.source.labels, 'reserved:world'),\n"
	       "         table.concat(req.source.labels or {}, ','))\n"
	       "  assert(req.source.namespace == nil and req.source.ip == '192.0.2.1')\n"
	       "  return 'allow'\n"
	       "end\n");
	r.source.ns = r.source.pod = NULL;
	r.source.labels = NULL;
	r.source.n_labels = 0;
	r.source.identity = 2;
	r.source.ip = "192.0.2.1";
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(bw_hooks_http(&r, got, &a, NULL, NULL), BW_HOOK_PENDING);
	ck_assert(wait_for(answered, &a));
	ck_assert_msg(a.verdict == BW_HOOK_ALLOW && !a.fallback, "%s",
		      bw_lua_script_find("who")->last_error);
	bw_identity_fini();
}
END_TEST

START_TEST(on_http_deny_names_the_script_and_reason)
{
	struct answer a;
	json_t *ext;

	script("nodebug",
	       "local bw = require('bulwark')\n"
	       "function on_http(req)\n"
	       "  if req.headers['x-debug'] and not bw.has_label(req.source.labels, 'app=tester') then\n"
	       "    return 'deny', 'x-debug from ' .. req.source.namespace .. '/' .. req.source.pod\n"
	       "  end\n"
	       "end\n");
	ask_http(&a);
	ck_assert_int_eq(a.verdict, BW_HOOK_DENY);
	ck_assert_int_eq(a.fallback, 0);
	ck_assert_str_eq(a.script, "nodebug");
	ck_assert_str_eq(a.reason, "x-debug from batch/client");
	ext = json_loads(a.ext, 0, NULL);
	ck_assert_ptr_nonnull(ext);
	ck_assert_str_eq(json_string_value(jget(ext, "lua.script")), "nodebug");
	ck_assert_str_eq(json_string_value(jget(ext, "lua.hook")), "on_http");
	ck_assert_str_eq(json_string_value(jget(ext, "lua.verdict")), "deny");
	ck_assert_str_eq(json_string_value(jget(ext, "lua.reason")),
			 "x-debug from batch/client");
	json_decref(ext);
	ck_assert_uint_eq(bw_lua_script_find("nodebug")->st[BW_LUA_ON_HTTP].denials, 1);
}
END_TEST

START_TEST(every_allow_form_allows)
{
	static const char *const forms[] = {
		"", "return", "return nil", "return 'allow'", "return 'allow', 'fine'",
		"return nil, nil, nil",
	};

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char text[128];
		struct answer a;

		snprintf(text, sizeof(text), "function on_http(r) %s end\n", forms[i]);
		script("allower", text);
		ask_http(&a);
		ck_assert_msg(a.verdict == BW_HOOK_ALLOW && !a.fallback,
			      "'%s' did not allow: %s", forms[i],
			      bw_lua_script_find("allower")->last_error);
	}
}
END_TEST

START_TEST(garbage_decisions_fall_back_to_deny)
{
	static const char *const bad[] = {
		"return 42", "return 'maybe'", "return {}", "return true",
		"return 'deny', 5", "return 'allow', nil, 'x'",
		"return 'allow', nil, {add = {['x y'] = '1'}}",
		"return 'allow', nil, {add = {x = 'a\\r\\nb'}}",
		"return 'allow', nil, {frobnicate = {}}",
		"error('no')", "while true do end",
		"local t = {} while true do t[#t + 1] = string.rep('x', 1000) end",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[256], name[16];
		struct answer a;

		snprintf(name, sizeof(name), "bad%zu", i);
		snprintf(text, sizeof(text), "function on_http(r) %s end\n", bad[i]);
		script(name, text);
		ask_http(&a);
		ck_assert_msg(a.verdict == BW_HOOK_DENY && a.fallback,
			      "'%s': verdict %d fallback %d", bad[i], a.verdict, a.fallback);
		ck_assert_str_eq(a.script, name);
		ck_assert_msg(strstr(a.ext, "\"fallback\":true") != NULL, "%s", a.ext);
		unlink(bw_lua_script_find(name)->path);
		bw_lua_rescan();
	}
}
END_TEST

START_TEST(header_edits_of_allowing_scripts_add_up)
{
	struct answer a;

	script("a-first", "function on_http(r) return 'allow', nil,"
	       " {add = {['X-Checked'] = 'a', ['x-team'] = 'shop'}, remove = {'x-debug'}} end\n");
	script("b-second", "function on_http(r) return nil, nil,"
	       " {add = {['x-checked'] = 'b'}, remove = {'cookie'}} end\n");
	ask_http(&a);
	ck_assert_int_eq(a.verdict, BW_HOOK_ALLOW);
	/* the later script's value of the same header wins; names lower case */
	ck_assert_msg(strstr(a.headers, "+x-checked=b;") != NULL, "%s", a.headers);
	ck_assert_msg(strstr(a.headers, "+x-team=shop;") != NULL, "%s", a.headers);
	ck_assert_msg(strstr(a.headers, "-x-debug;") != NULL, "%s", a.headers);
	ck_assert_msg(strstr(a.headers, "-cookie;") != NULL, "%s", a.headers);
}
END_TEST

START_TEST(the_first_deny_decides_in_name_order)
{
	struct answer a;

	script("a-allow", "function on_http(r) return 'allow' end\n");
	script("b-deny", "function on_http(r) return 'deny', 'b says no' end\n");
	script("c-deny", "function on_http(r) return 'deny', 'c says no' end\n");
	ask_http(&a);
	ck_assert_str_eq(a.script, "b-deny");
	ck_assert_str_eq(a.reason, "b says no");
	ck_assert_uint_eq(calls_of("c-deny", BW_LUA_ON_HTTP), 0);
	ck_assert_uint_eq(calls_of("a-allow", BW_LUA_ON_HTTP), 1);
}
END_TEST

START_TEST(on_dns_sees_the_question)
{
	struct bw_hook_dns q;
	struct answer a = { 0 };

	script("dnsguard",
	       "function on_dns(q)\n"
	       "  assert(q.name == 'mining.example', q.name)\n"
	       "  assert(q.qtype == 'AAAA' and q.qtype_num == 28)\n"
	       "  assert(q.source.ip == '10.0.1.7' and q.destination.port == 53)\n"
	       "  if q.name:find('mining') then return 'deny', 'no mining' end\n"
	       "end\n");
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.name = "Mining.Example."; /* the host lower-cases and drops the dot */
	q.qtype = 28;
	q.source.ip = "10.0.1.7";
	q.source.port = 40000;
	q.destination.ip = "10.96.0.10";
	q.destination.port = 53;
	ck_assert_int_eq(bw_hooks_dns(&q, got, &a, NULL, NULL), BW_HOOK_PENDING);
	ck_assert(wait_for(answered, &a));
	ck_assert_msg(a.verdict == BW_HOOK_DENY && !a.fallback, "%s",
		      bw_lua_script_find("dnsguard")->last_error);
	ck_assert_str_eq(a.reason, "no mining");
}
END_TEST

START_TEST(on_kafka_sees_the_request)
{
	static const char *const topics[] = { "orders", "payments" };
	struct bw_hook_kafka k;
	struct answer a = { 0 };

	script("kafkaguard",
	       "function on_kafka(r)\n"
	       "  assert(r.api_key == 'produce' and r.api_key_num == 0)\n"
	       "  assert(r.api_version == 9 and r.correlation_id == 17)\n"
	       "  assert(r.client_id == 'billing')\n"
	       "  for _, t in ipairs(r.topics) do\n"
	       "    if t == 'payments' then return 'deny', 'billing may not write payments' end\n"
	       "  end\n"
	       "end\n");
	memset(&k, 0, sizeof(k));
	k.size = sizeof(k);
	k.api_key = 0;
	k.api_version = 9;
	k.correlation_id = 17;
	k.client_id = "billing";
	k.topics = topics;
	k.n_topics = 2;
	k.source.ip = "10.0.1.7";
	k.destination.ip = "10.0.1.12";
	k.destination.port = 9092;
	ck_assert_int_eq(bw_hooks_kafka(&k, got, &a, NULL, NULL), BW_HOOK_PENDING);
	ck_assert(wait_for(answered, &a));
	ck_assert_msg(a.verdict == BW_HOOK_DENY && !a.fallback, "%s",
		      bw_lua_script_find("kafkaguard")->last_error);
	ck_assert_str_eq(a.reason, "billing may not write payments");
}
END_TEST

START_TEST(too_many_failures_fail_the_script_and_it_keeps_denying)
{
	struct answer a;

	script("flaky", "n = 0\nfunction on_http(r) n = n + 1 error('oops ' .. n) end\n");
	for (int i = 0; i < 5; i++) {
		ck_assert_str_eq(state_of("flaky"), "active");
		ask_http(&a);
		ck_assert(a.verdict == BW_HOOK_DENY && a.fallback);
	}
	ck_assert_str_eq(state_of("flaky"), "failed");
	/* not called any more, but its decisions still get the default */
	ask_http(&a);
	ck_assert(a.verdict == BW_HOOK_DENY && a.fallback);
	ck_assert_str_eq(a.script, "flaky");
	ck_assert_uint_eq(calls_of("flaky", BW_LUA_ON_HTTP), 5);
	/* a reload brings it back from scratch */
	ck_assert_int_eq(bw_lua_reload_one(bw_lua_script_find("flaky"), a.reason,
					   sizeof(a.reason)), 0);
	ck_assert_str_eq(state_of("flaky"), "active");
}
END_TEST

START_TEST(operator_disable_means_not_asked)
{
	struct bw_hook_http r = an_http();
	struct answer a = { 0 };

	script("strict", "function on_http(r) return 'deny' end\n");
	bw_lua_disable(bw_lua_script_find("strict"));
	ck_assert_str_eq(state_of("strict"), "disabled");
	ck_assert_int_eq(bw_hooks_http(&r, got, &a, NULL, NULL), BW_HOOK_NONE);
	/* it stays disabled across an edit of its file, until reloaded */
	script("strict", "function on_http(r) return 'deny', 'v2' end\n");
	ck_assert_str_eq(state_of("strict"), "disabled");
	ck_assert_int_eq(bw_lua_reload_one(bw_lua_script_find("strict"), a.reason,
					   sizeof(a.reason)), 0);
	ask_http(&a);
	ck_assert_str_eq(a.reason, "v2");
}
END_TEST

START_TEST(a_broken_edit_keeps_the_running_version)
{
	char path[PATH_MAX];
	struct answer a;
	FILE *f;

	script("edit", "function on_http(r) return 'deny', 'v1' end\n");
	snprintf(path, sizeof(path), "%s/edit.lua", dir);
	f = fopen(path, "w");
	fputs("function on_http(r) return 'deny', 'v2' end end end\n", f);
	fclose(f);
	bw_lua_rescan();
	ck_assert_str_eq(state_of("edit"), "active");
	ck_assert_msg(strstr(bw_lua_script_find("edit")->last_error, "load:") != NULL,
		      "%s", bw_lua_script_find("edit")->last_error);
	ask_http(&a);
	ck_assert_str_eq(a.reason, "v1");
	/* fixed: the new version runs */
	script("edit", "function on_http(r) return 'deny', 'v3' end\n");
	ask_http(&a);
	ck_assert_str_eq(a.reason, "v3");
	ck_assert_str_eq(bw_lua_script_find("edit")->last_error, "");
	/* removed: gone */
	unlink(path);
	bw_lua_rescan();
	ck_assert_str_eq(state_of("edit"), "gone");
}
END_TEST

START_TEST(a_script_keeps_its_state_across_calls)
{
	struct answer a;

	script("counter", "n = 0\nfunction on_http(r) n = n + 1 return 'deny', tostring(n) end\n");
	ask_http(&a);
	ck_assert_str_eq(a.reason, "1");
	ask_http(&a);
	ck_assert_str_eq(a.reason, "2");
}
END_TEST

START_TEST(a_cancelled_decision_is_never_answered)
{
	struct bw_hook_http r = an_http();
	struct answer a = { 0 }, b = { 0 };
	uint64_t t;

	script("slowish", "function on_http(r) return 'deny' end\n");
	ck_assert_int_eq(bw_hooks_http(&r, got, &a, &t, NULL), BW_HOOK_PENDING);
	bw_hooks_cancel(t);
	/* a second request, asked after: once it is answered, the first was
	 * processed (or skipped) by the worker */
	ck_assert_int_eq(bw_hooks_http(&r, got, &b, NULL, NULL), BW_HOOK_PENDING);
	ck_assert(wait_for(answered, &b));
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(a.calls, 0);
}
END_TEST

START_TEST(the_bulwark_table_is_there)
{
	struct answer a;

	script("api",
	       "local bw = require('bulwark')\n"
	       "assert(bw.script == 'api')\n"
	       "assert(type(bw.now()) == 'number' and bw.now() > 1e9)\n"
	       "assert(bw.endpoint('nobody/here') == nil)\n"
	       "assert(bw.identity(2) == nil or type(bw.identity(2)) == 'table')\n"
	       "assert(type(bw.policies()) == 'table')\n"
	       "local q, e = bw.quarantine('nobody/here', '10.0.0.0/8', 60, 'test')\n"
	       "assert(q == nil and e:find('no endpoint'), e)\n"
	       "local ok, e2 = bw.webhook('http://192.0.2.1/x', {a = 1})\n"
	       "assert(ok == nil and e2:find('webhooks'))\n"
	       "assert(bw.cidr('10.0.0.0/8'):contains('10.2.3.4'))\n"
	       "assert(not bw.in_cidrs('192.0.2.1', {'10.0.0.0/8'}))\n"
	       "bw.counter('hits', {kind = 'x'}, 2)\n"
	       "bw.gauge('level', nil, 7.5)\n"
	       "assert(not pcall(bw.counter, 'Bad-Name'))\n"
	       "assert(not pcall(bw.counter, 'x', {script = 'y'}))\n"
	       "assert(not pcall(bw.counter, 'x', {a = 1}))\n"
	       "for i = 1, 14 do bw.counter('m' .. i) end\n"
	       "assert(not pcall(bw.counter, 'one_too_many'))\n"
	       "for i = 1, 63 do bw.counter('hits', {kind = tostring(i)}) end\n"
	       "assert(not pcall(bw.counter, 'hits', {kind = 'sixtyfifth'}))\n"
	       "function on_http(r) return 'deny', 'table ok' end\n");
	ask_http(&a);
	ck_assert_str_eq(a.reason, "table ok");
}
END_TEST

static int
decisions_timed_out(void *arg)
{
	int n;

	pthread_mutex_lock(&lh.mu);
	n = lh.decision_timeouts > 0;
	pthread_mutex_unlock(&lh.mu);
	return n;
}

/* Every shipped example loads in the sandbox with the host table. */
START_TEST(the_example_scripts_load)
{
	static const char *const examples[] = {
		"deny-debug-header", "alert-repeated-denies", "quarantine-portscan",
		"tag-flows", "dns-denylist",
	};

	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		char path[PATH_MAX], *text;
		FILE *f;
		long n;

		snprintf(path, sizeof(path), "%s/%s.lua", BW_TEST_LUA_EXAMPLES,
			 examples[i]);
		f = fopen(path, "r");
		ck_assert_msg(f != NULL, "%s", path);
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		rewind(f);
		text = calloc(1, (size_t)n + 1);
		ck_assert_uint_eq(fread(text, 1, (size_t)n, f), (size_t)n);
		fclose(f);
		script(examples[i], text);
		ck_assert_str_eq(state_of(examples[i]), "active");
		free(text);
	}
}
END_TEST

START_TEST(an_unanswered_decision_gets_the_default_after_the_timeout)
{
	struct answer a;

	stop_host();
	start_host("decision_timeout = 10ms\ninstruction_limit = 1000000000\n"
		   "time_limit = 1s\n");
	/* it runs until its 1 s time budget stops it: 100 times the timeout */
	script("sluggish", "function on_http(r) while true do end end\n");
	ask_http(&a);
	ck_assert(a.verdict == BW_HOOK_DENY && a.fallback);
	ck_assert_msg(strstr(a.reason, "decision_timeout") != NULL, "%s", a.reason);
	ck_assert(decisions_timed_out(NULL));
}
END_TEST

START_TEST(default_verdict_allow_lets_failures_through)
{
	struct answer a;

	stop_host();
	start_host("default_verdict = allow\n");
	script("oops", "function on_http(r) error('x') end\n");
	ask_http(&a);
	ck_assert(a.verdict == BW_HOOK_ALLOW);
}
END_TEST

static int
flows_stored_upto(void *arg)
{
	return bw_flow_ring_at(*(uint64_t *)arg) != NULL;
}

START_TEST(a_slow_on_flow_never_loses_a_flow)
{
	struct bw_flow_stage_stats st;
	uint64_t first, last;

	stop_host();
	start_host("flow_queue = 16\nflow_delay = 10s\ninstruction_limit = 1000000000\n");
	script("slow", "function on_flow(f) local x = 0 for i = 1, 2e5 do x = x + i end "
	       "return {port = f.l4.TCP.destination_port} end\n");
	first = bw_flow_ring_next();
	for (int i = 0; i < 200; i++) {
		struct bw_flow f = a_flow(BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED,
					  (uint16_t)(1000 + i));

		ck_assert_int_eq(bw_flow_publish(&f), 0);
	}
	last = first + 199;
	ck_assert(wait_for(flows_stored_upto, &last));
	/* every flow, in order */
	for (uint64_t s = first; s <= last; s++)
		ck_assert_uint_eq(bw_flow_ring_at(s)->dst_port, 1000 + (s - first));
	bw_flow_stage_stats(&st);
	ck_assert_uint_gt(st.skipped, 0);
	ck_assert_uint_eq(st.submitted + st.skipped, 200);
}
END_TEST

/* ---- the flow table is observe's JSON ------------------------------------------------- */

static int
push_flow_protected(lua_State *L)
{
	bw_luac_push_flow(L, lua_touserdata(L, 1));
	return 1;
}

START_TEST(the_flow_table_is_the_observe_json)
{
	static const char *const iso_labels[] = { "k8s:a=b" };
	struct bw_flow_policy iso = { .name = "lockdown", .ns = "shop",
				      .kind = "NetworkPolicy", .revision = 12,
				      .labels = iso_labels, .n_labels = 1 };
	struct bw_flow flows[6];
	lua_State *L = luaL_newstate();

	flows[0] = a_flow(BW_FLOW_EVENT_POLICY_VERDICT, BW_FLOW_VERDICT_FORWARDED, 80);
	flows[1] = a_flow(BW_FLOW_EVENT_DROP, BW_FLOW_VERDICT_DROPPED, 22);
	flows[1].isolated_by = &iso;
	flows[1].n_isolated_by = 1;
	flows[2] = a_flow(BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED, 443);
	flows[2].trace_observation_point = BW_FLOW_OBS_TO_ENDPOINT;
	flows[2].trace_reason = BW_FLOW_REASON_ESTABLISHED;
	flows[2].flags = BW_FLOW_F_CT_CLOSE;
	flows[2].ct_packets = 12;
	flows[2].ct_bytes = 3400;
	flows[2].is_reply = 1;
	flows[3] = a_flow(BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED, 0);
	flows[3].protocol = 1;
	flows[3].icmp_type = 3;
	flows[3].icmp_code = 3;
	flows[4] = a_flow(BW_FLOW_EVENT_POLICY_VERDICT, BW_FLOW_VERDICT_AUDIT, 53);
	flows[4].protocol = 17;
	flows[4].ip_version = 6;
	snprintf(flows[4].src_ip, sizeof(flows[4].src_ip), "fd00::1:7");
	snprintf(flows[4].dst_ip, sizeof(flows[4].dst_ip), "fd00::1:12");
	flows[4].extensions_json = "{\"lua\":{\"x\":{\"y\":[1,2]}},\"rule_ref\":9}";
	flows[5] = a_flow(BW_FLOW_EVENT_TRACE, BW_FLOW_VERDICT_FORWARDED, 80);
	memset(&flows[5].destination, 0, sizeof(flows[5].destination));
	flows[5].time_ns = 1796545451123456789ull;
	snprintf(flows[5].uuid, sizeof(flows[5].uuid), "u-1");
	flows[5].node_name = "node-1";

	for (size_t i = 0; i < sizeof(flows) / sizeof(flows[0]); i++) {
		json_t *want = bw_flowjson_flow(&flows[i]), *have;
		char err[128], *a, *b;

		lua_settop(L, 0);
		lua_pushcfunction(L, push_flow_protected);
		lua_pushlightuserdata(L, &flows[i]);
		ck_assert_int_eq(lua_pcall(L, 1, 1, 0), LUA_OK);
		have = bw_luac_to_json(L, -1, 16, err, sizeof(err));
		ck_assert_msg(have != NULL, "%s", err);
		a = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
		b = json_dumps(have, JSON_SORT_KEYS | JSON_COMPACT);
		ck_assert_msg(json_equal(want, have), "flow %zu:\n json: %s\n  lua: %s", i, a, b);
		free(a);
		free(b);
		json_decref(want);
		json_decref(have);
	}
	lua_close(L);
}
END_TEST

static Suite *
lua_suite(void)
{
	Suite *s = suite_create("lua");
	TCase *tc = tcase_create("host");
	TCase *conv = tcase_create("conversions");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, on_flow_sees_the_flow_as_observe_prints_it_and_adds_extensions);
	tcase_add_test(tc, on_flow_returning_nothing_adds_nothing);
	tcase_add_test(tc, on_verdict_sees_verdicts_and_drops_only);
	tcase_add_test(tc, on_alert_sees_the_alert_records);
	tcase_add_test(tc, a_failing_on_flow_is_counted_and_its_flow_still_stored);
	tcase_add_test(tc, on_flow_garbage_is_a_failure);
	tcase_add_test(tc, no_decision_hook_means_no_objection);
	tcase_add_test(tc, on_http_sees_the_request);
	tcase_add_test(tc, a_peer_given_by_identity_gets_its_labels);
	tcase_add_test(tc, on_http_deny_names_the_script_and_reason);
	tcase_add_test(tc, every_allow_form_allows);
	tcase_add_test(tc, garbage_decisions_fall_back_to_deny);
	tcase_add_test(tc, header_edits_of_allowing_scripts_add_up);
	tcase_add_test(tc, the_first_deny_decides_in_name_order);
	tcase_add_test(tc, on_dns_sees_the_question);
	tcase_add_test(tc, on_kafka_sees_the_request);
	tcase_add_test(tc, too_many_failures_fail_the_script_and_it_keeps_denying);
	tcase_add_test(tc, operator_disable_means_not_asked);
	tcase_add_test(tc, a_broken_edit_keeps_the_running_version);
	tcase_add_test(tc, a_script_keeps_its_state_across_calls);
	tcase_add_test(tc, a_cancelled_decision_is_never_answered);
	tcase_add_test(tc, the_bulwark_table_is_there);
	tcase_add_test(tc, the_example_scripts_load);
	tcase_add_test(tc, an_unanswered_decision_gets_the_default_after_the_timeout);
	tcase_add_test(tc, default_verdict_allow_lets_failures_through);
	tcase_add_test(tc, a_slow_on_flow_never_loses_a_flow);
	suite_add_tcase(s, tc);
	tcase_add_test(conv, the_flow_table_is_the_observe_json);
	suite_add_tcase(s, conv);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(lua_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
