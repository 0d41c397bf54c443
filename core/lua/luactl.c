/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/lua/luactl.c - the Lua host's control API, status and metrics.
 *
 *   GET  /v1/lua                       the scripts and the host's counters
 *   POST /v1/lua/reload[?name=NAME]    re-read one script, or all of them
 *   POST /v1/lua/disable?name=NAME     stop asking a script
 *
 * Metrics (docs/lua.md, "Metrics"): bulwark_lua_scripts{state},
 * bulwark_lua_calls_total, _failures_total, _call_seconds_total,
 * _denials_total{script,hook}, bulwark_lua_memory_bytes{script},
 * bulwark_lua_flows_skipped_total, bulwark_lua_decision_timeouts_total,
 * bulwark_lua_webhooks_total{result}, the scripts' own bw.counter /
 * bw.gauge series, and bulwark_quarantines / _added_total.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/api.h"
#include "core/flow/flow.h"
#include "core/log.h"
#include "core/lua/lua_int.h"
#include "core/module/hooks.h"
#include "core/module/registry.h"
#include "core/policy/quarantine.h"

static const char *const luactl_states[] = { "active", "failed", "disabled", "error" };

static json_t *
luactl_script_json(const struct lh_script *s)
{
	json_t *o, *hooks = json_array(), *stats = json_object();
	uint64_t calls = 0, fails = 0;

	for (int h = 0; h <= BW_LUA_PROTOCOL; h++) {
		const struct lh_hookstats *st = &s->st[h];
		json_t *f = json_object();
		uint64_t hf = 0;

		if (s->hooks & (1u << h))
			json_array_append_new(hooks, json_string(bw_lua_hook_name(h)));
		if (!(s->hooks & (1u << h)) && st->calls == 0) {
			json_decref(f);
			continue;
		}
		for (int r = 1; r < BW_LSB_NFAIL; r++) {
			if (st->fails[r] == 0)
				continue;
			json_object_set_new(f, bw_lsb_fail_name(r),
					    json_integer((json_int_t)st->fails[r]));
			hf += st->fails[r];
		}
		json_object_set_new(stats, bw_lua_hook_name(h),
				    json_pack("{s:I, s:I, s:o, s:f}",
					      "calls", (json_int_t)st->calls,
					      "denials", (json_int_t)st->denials,
					      "failures", f,
					      "seconds", (double)st->ns / 1e9));
		calls += st->calls;
		fails += hf;
	}
	o = json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:o}",
		      "name", s->name, "file", s->path,
		      "state", luactl_states[s->state], "hooks", hooks,
		      "calls", (json_int_t)calls, "failures", (json_int_t)fails,
		      "memory_bytes", (json_int_t)s->memory, "stats", stats);
	if (o == NULL)
		return NULL;
	if (s->last_error[0] != '\0') {
		json_object_set_new(o, "last_error", json_string(s->last_error));
		json_object_set_new(o, "last_error_at",
				    json_integer((json_int_t)(s->last_error_ns / 1000000000u)));
	}
	if (s->loaded_ns != 0)
		json_object_set_new(o, "loaded_at",
				    json_integer((json_int_t)(s->loaded_ns / 1000000000u)));
	if (s->log_dropped != 0)
		json_object_set_new(o, "log_suppressed",
				    json_integer((json_int_t)s->log_dropped));
	return o;
}

static json_t *
luactl_json(void)
{
	struct bw_flow_stage_stats fs;
	json_t *a = json_array(), *o;

	bw_flow_stage_stats(&fs);
	pthread_mutex_lock(&lh.mu);
	for (size_t i = 0; a != NULL && i < lh.nscripts; i++)
		json_array_append_new(a, luactl_script_json(lh.scripts[i]));
	o = json_pack("{s:s, s:o, s:{s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I}, "
		      "s:{s:I, s:I, s:I}, s:I}",
		      "dir", lh.dir != NULL ? lh.dir : "", "scripts", a,
		      "flows", "seen", (json_int_t)lh.flows_seen,
		      "submitted", (json_int_t)fs.submitted,
		      "skipped", (json_int_t)fs.skipped,
		      "late", (json_int_t)fs.late,
		      "held", (json_int_t)fs.held,
		      "decisions", "asked", (json_int_t)lh.decisions,
		      "timeouts", (json_int_t)lh.decision_timeouts,
		      "pending", (json_int_t)bw_hooks_pending(),
		      "webhooks", "sent", (json_int_t)lh.webhooks_sent,
		      "failed", (json_int_t)lh.webhooks_failed,
		      "dropped", (json_int_t)lh.webhooks_dropped,
		      "emitted_flows", (json_int_t)lh.emitted);
	if (o != NULL)
		json_object_set_new(o, "alerts",
				    json_pack("{s:I, s:I, s:I}", "seen", (json_int_t)lh.alerts_seen,
					      "queued", (json_int_t)lh.al_n,
					      "dropped", (json_int_t)lh.alerts_dropped));
	pthread_mutex_unlock(&lh.mu);
	return o;
}

static int
luactl_get(struct bw_api_request *req, void *arg)
{
	json_t *o = luactl_json();

	if (o == NULL)
		return -ENOMEM;
	return bw_api_reply_json(req, 200, o);
}

static int
luactl_reload(struct bw_api_request *req, void *arg)
{
	const char *name = bw_api_req_query(req, "name");
	char err[LH_ERR_MAX];
	json_t *ok, *bad;

	if (name != NULL && *name != '\0') {
		struct lh_script *s = bw_lua_script_find(name);

		if (s == NULL) {
			/* a new file not picked up yet? */
			bw_lua_rescan();
			s = bw_lua_script_find(name);
			if (s == NULL)
				return bw_api_reply_error(req, 404, "no script %s "
							  "(no %s/%s.lua)", name,
							  lh.dir, name);
			if (s->state == LH_ST_ERROR)
				return bw_api_reply_error(req, 400, "%s: %s", name,
							  s->last_error);
			return bw_api_reply_json(req, 200, json_pack(
				"{s:[s], s:[]}", "reloaded", name, "errors"));
		}
		if (bw_lua_reload_one(s, err, sizeof(err)) < 0)
			return bw_api_reply_error(req, 400, "%s: %s", name, err);
		return bw_api_reply_json(req, 200, json_pack("{s:[s], s:[]}",
							     "reloaded", name, "errors"));
	}
	/* everything: new and removed files, and a fresh load of each */
	bw_lua_rescan();
	ok = json_array();
	bad = json_array();
	for (size_t i = 0; i < lh.nscripts; i++) {
		struct lh_script *s = lh.scripts[i];

		if (bw_lua_reload_one(s, err, sizeof(err)) < 0)
			json_array_append_new(bad, json_pack("{s:s, s:s}", "name",
							     s->name, "error", err));
		else
			json_array_append_new(ok, json_string(s->name));
	}
	return bw_api_reply_json(req, 200, json_pack("{s:o, s:o}", "reloaded", ok,
						     "errors", bad));
}

static int
luactl_disable(struct bw_api_request *req, void *arg)
{
	const char *name = bw_api_req_query(req, "name");
	struct lh_script *s;

	if (name == NULL || *name == '\0')
		return bw_api_reply_error(req, 400, "say which script: ?name=NAME");
	s = bw_lua_script_find(name);
	if (s == NULL)
		return bw_api_reply_error(req, 404, "no script %s", name);
	bw_lua_disable(s);
	return bw_api_reply_json(req, 200, json_pack("{s:s}", "disabled", name));
}

static json_t *
luactl_status(void *arg)
{
	unsigned n[4] = { 0, 0, 0, 0 };

	pthread_mutex_lock(&lh.mu);
	for (size_t i = 0; i < lh.nscripts; i++)
		n[lh.scripts[i]->state]++;
	pthread_mutex_unlock(&lh.mu);
	return json_pack("{s:s, s:I, s:I, s:I, s:I}", "dir", lh.dir ? lh.dir : "",
			 "active", (json_int_t)n[0], "failed", (json_int_t)n[1],
			 "disabled", (json_int_t)n[2], "error", (json_int_t)n[3]);
}

/* ---- metrics ----------------------------------------------------------------------- */

static void
luactl_metrics(struct bw_metrics_out *out, void *arg)
{
	struct bw_flow_stage_stats fs;
	unsigned n[4] = { 0, 0, 0, 0 };

	if (!lh.up)
		return; /* stopped: nothing to report */
	bw_flow_stage_stats(&fs);
	pthread_mutex_lock(&lh.mu);
	for (size_t i = 0; i < lh.nscripts; i++)
		n[lh.scripts[i]->state]++;
	bw_metrics_printf(out, "# HELP bulwark_lua_scripts Lua scripts by state.\n"
			  "# TYPE bulwark_lua_scripts gauge\n");
	for (int i = 0; i < 4; i++)
		bw_metrics_printf(out, "bulwark_lua_scripts{state=\"%s\"} %u\n",
				  luactl_states[i], n[i]);
	bw_metrics_printf(out, "# HELP bulwark_lua_calls_total Hook calls.\n"
			  "# TYPE bulwark_lua_calls_total counter\n");
	for (size_t i = 0; i < lh.nscripts; i++)
		for (int h = 0; h <= BW_LUA_PROTOCOL; h++)
			if (lh.scripts[i]->hooks & (1u << h) || lh.scripts[i]->st[h].calls)
				bw_metrics_printf(out, "bulwark_lua_calls_total{script=\"%s\",hook=\"%s\"} %llu\n",
						  lh.scripts[i]->name, bw_lua_hook_name(h),
						  (unsigned long long)lh.scripts[i]->st[h].calls);
	bw_metrics_printf(out, "# HELP bulwark_lua_failures_total Hook calls that failed, by reason.\n"
			  "# TYPE bulwark_lua_failures_total counter\n");
	for (size_t i = 0; i < lh.nscripts; i++)
		for (int h = 0; h <= BW_LUA_PROTOCOL; h++)
			for (int r = 1; r < BW_LSB_NFAIL; r++)
				if (lh.scripts[i]->st[h].fails[r])
					bw_metrics_printf(out, "bulwark_lua_failures_total{script=\"%s\",hook=\"%s\",reason=\"%s\"} %llu\n",
							  lh.scripts[i]->name, bw_lua_hook_name(h),
							  bw_lsb_fail_name(r),
							  (unsigned long long)lh.scripts[i]->st[h].fails[r]);
	bw_metrics_printf(out, "# HELP bulwark_lua_call_seconds_total Time spent in hook calls.\n"
			  "# TYPE bulwark_lua_call_seconds_total counter\n");
	for (size_t i = 0; i < lh.nscripts; i++)
		for (int h = 0; h <= BW_LUA_PROTOCOL; h++)
			if (lh.scripts[i]->st[h].calls)
				bw_metrics_printf(out, "bulwark_lua_call_seconds_total{script=\"%s\",hook=\"%s\"} %.9f\n",
						  lh.scripts[i]->name, bw_lua_hook_name(h),
						  (double)lh.scripts[i]->st[h].ns / 1e9);
	bw_metrics_printf(out, "# HELP bulwark_lua_denials_total Decisions a script denied.\n"
			  "# TYPE bulwark_lua_denials_total counter\n");
	for (size_t i = 0; i < lh.nscripts; i++)
		for (int h = BW_LUA_ON_DNS; h <= BW_LUA_PROTOCOL; h++)
			if (h != BW_LUA_ON_ALERT && (lh.scripts[i]->hooks & (1u << h)))
				bw_metrics_printf(out, "bulwark_lua_denials_total{script=\"%s\",hook=\"%s\"} %llu\n",
						  lh.scripts[i]->name, bw_lua_hook_name(h),
						  (unsigned long long)lh.scripts[i]->st[h].denials);
	bw_metrics_printf(out, "# HELP bulwark_lua_memory_bytes Memory a script's Lua state holds.\n"
			  "# TYPE bulwark_lua_memory_bytes gauge\n");
	for (size_t i = 0; i < lh.nscripts; i++)
		bw_metrics_printf(out, "bulwark_lua_memory_bytes{script=\"%s\"} %llu\n",
				  lh.scripts[i]->name,
				  (unsigned long long)lh.scripts[i]->memory);
	bw_metrics_printf(out,
		"# HELP bulwark_lua_flows_skipped_total Flows stored without the scripts seeing them (queue full).\n"
		"# TYPE bulwark_lua_flows_skipped_total counter\n"
		"bulwark_lua_flows_skipped_total %llu\n"
		"# HELP bulwark_lua_flows_late_total Flows stored before on_flow finished (flow_delay).\n"
		"# TYPE bulwark_lua_flows_late_total counter\n"
		"bulwark_lua_flows_late_total %llu\n"
		"# HELP bulwark_lua_decision_timeouts_total Decisions answered by decision_timeout.\n"
		"# TYPE bulwark_lua_decision_timeouts_total counter\n"
		"bulwark_lua_decision_timeouts_total %llu\n"
		"# HELP bulwark_lua_webhooks_total Webhook posts by result.\n"
		"# TYPE bulwark_lua_webhooks_total counter\n"
		"bulwark_lua_webhooks_total{result=\"sent\"} %llu\n"
		"bulwark_lua_webhooks_total{result=\"failed\"} %llu\n"
		"bulwark_lua_webhooks_total{result=\"dropped\"} %llu\n"
		"# HELP bulwark_lua_alerts_dropped_total Alerts on_alert did not see (queue full).\n"
		"# TYPE bulwark_lua_alerts_dropped_total counter\n"
		"bulwark_lua_alerts_dropped_total %llu\n",
		(unsigned long long)fs.skipped, (unsigned long long)fs.late,
		(unsigned long long)lh.decision_timeouts,
		(unsigned long long)lh.webhooks_sent,
		(unsigned long long)lh.webhooks_failed,
		(unsigned long long)lh.webhooks_dropped,
		(unsigned long long)lh.alerts_dropped);
	/* the scripts' own metrics */
	for (size_t i = 0; i < lh.nscripts; i++) {
		const struct lh_script *s = lh.scripts[i];

		for (size_t j = 0; j < s->nfam; j++) {
			const struct lh_family *f = &s->fam[j];

			bw_metrics_printf(out, "# TYPE bulwark_lua_%s%s %s\n", f->name,
					  f->gauge ? "" : "_total",
					  f->gauge ? "gauge" : "counter");
			for (size_t k = 0; k < f->n; k++)
				bw_metrics_printf(out, "bulwark_lua_%s%s{script=\"%s\"%s%s} %.17g\n",
						  f->name, f->gauge ? "" : "_total", s->name,
						  *f->v[k].labels ? "," : "", f->v[k].labels,
						  f->v[k].value);
		}
	}
	pthread_mutex_unlock(&lh.mu);
	bw_metrics_printf(out,
		"# HELP bulwark_quarantines Quarantines in force.\n"
		"# TYPE bulwark_quarantines gauge\n"
		"bulwark_quarantines %u\n"
		"# HELP bulwark_quarantines_added_total Quarantines added since the start.\n"
		"# TYPE bulwark_quarantines_added_total counter\n"
		"bulwark_quarantines_added_total %llu\n",
		bw_quarantine_count(), (unsigned long long)bw_quarantine_added_total());
}

static int luactl_registered;

int
bw_luactl_init(void)
{
	static const struct {
		const char *method, *path;
		bw_api_fn fn;
	} routes[] = {
		{ "GET", "/v1/lua", luactl_get },
		{ "POST", "/v1/lua/reload", luactl_reload },
		{ "POST", "/v1/lua/disable", luactl_disable },
	};
	int rc;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		rc = bw_api_route_add(routes[i].method, routes[i].path, routes[i].fn,
				      NULL);
		if (rc < 0) {
			bw_err_errno(rc, "lua: cannot register %s %s", routes[i].method,
				     routes[i].path);
			return rc;
		}
	}
	rc = bw_api_status_add("lua", luactl_status, NULL);
	if (rc < 0 && rc != -EEXIST)
		bw_warn_errno(rc, "lua: no status section");
	if (!luactl_registered) {
		/* registry collectors live until the daemon exits */
		rc = bw_metrics_register(luactl_metrics, NULL, NULL, NULL);
		if (rc < 0)
			bw_warn_errno(rc, "lua: no metrics");
		else
			luactl_registered = 1;
	}
	return 0;
}

void
bw_luactl_fini(void)
{
	bw_api_route_remove("GET", "/v1/lua");
	bw_api_route_remove("POST", "/v1/lua/reload");
	bw_api_route_remove("POST", "/v1/lua/disable");
	bw_api_status_remove("lua");
}
