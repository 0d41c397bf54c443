/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/lua/luaapi.c - the `bulwark` table: everything a script may ask of
 * the daemon (docs/lua.md, "The bulwark table"), and nothing else.
 *
 * The functions run on the bw-lua thread (or on the loop while a script
 * is being loaded). What needs the core's state (endpoints, identities,
 * policies, quarantine) goes to the loop thread as a host call
 * (bw_luaw_rpc), whose waiting time does not count against the script's
 * wall-clock budget. What only has to happen (webhooks, emitted flows)
 * is queued for the loop without waiting. Metrics live in the script
 * object under lh.mu, bounded in names, labels and label sets.
 *
 * The Lua half of the table, lua/bulwark.lua, is compiled in
 * (bulwark_lua.inc, generated at build time) and runs last, with the
 * table as its argument.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "core/flow/flow.h"
#include "core/log.h"
#include "core/lua/lua_int.h"
#include "core/node/endpoint.h"
#include "core/node/identity.h"
#include "core/node/ipcache.h"
#include "core/node/labels.h"
#include "core/policy/policy_int.h"
#include "core/policy/quarantine.h"
#include "lib/prefix.h"
#include "lib/flowjson.h"

/* lua/bulwark.lua as a C string: static const char luaapi_helpers[] */
#include "core/lua/bulwark_lua.inc"

static struct lh_script *
api_script(lua_State *L)
{
	return bw_lsb_user(bw_lsb_of(L));
}

/* A host call; the wait is taken out of the wall-clock budget. */
static int
api_rpc(lua_State *L, struct lh_rpc *r)
{
	uint64_t t0 = bw_lua_now_ns();
	int rc;

	r->script = api_script(L);
	rc = bw_luaw_rpc(r);
	bw_lsb_pause_clock(bw_lsb_of(L), bw_lua_now_ns() - t0);
	if (rc < 0)
		luaL_error(L, "the daemon is stopping");
	return rc;
}

/* ---- log, now ------------------------------------------------------------------- */

static int
api_level(const char *s)
{
	static const struct {
		const char *n;
		int l;
	} t[] = {
		{ "err", BW_LOG_ERR }, { "error", BW_LOG_ERR },
		{ "warning", BW_LOG_WARNING }, { "warn", BW_LOG_WARNING },
		{ "notice", BW_LOG_NOTICE }, { "info", BW_LOG_INFO },
		{ "debug", BW_LOG_DEBUG },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].n) == 0)
			return t[i].l;
	return -1;
}

static int
api_log(lua_State *L)
{
	struct lh_script *s = api_script(L);
	int level = BW_LOG_INFO, allow;
	const char *msg;
	uint64_t dropped = 0;
	char prefix[LH_NAME_MAX + 8];

	if (lua_gettop(L) >= 2) {
		level = api_level(luaL_checkstring(L, 1));
		if (level < 0)
			return luaL_error(L, "bulwark.log: level '%s' is not one of "
					     "err, warning, notice, info, debug",
					  lua_tostring(L, 1));
		msg = luaL_checkstring(L, 2);
	} else {
		msg = luaL_checkstring(L, 1);
	}
	if (!bw_log_enabled(level))
		return 0;
	pthread_mutex_lock(&lh.mu);
	allow = bw_lua_rate_allow(&s->rl_log, LH_LOG_RATE, LH_LOG_RATE);
	if (allow) {
		dropped = s->rl_log.dropped;
		s->rl_log.dropped = 0;
	} else {
		s->log_dropped++;
	}
	pthread_mutex_unlock(&lh.mu);
	if (!allow)
		return 0;
	snprintf(prefix, sizeof(prefix), "lua/%s", s->name);
	if (dropped > 0)
		bw_logx(prefix, BW_LOG_NOTICE, "(%llu log lines suppressed: at "
			"most %d a second)", (unsigned long long)dropped, LH_LOG_RATE);
	bw_logx(prefix, level, "%.*s", 1024, msg);
	return 0;
}

static int
api_now(lua_State *L)
{
	lua_pushnumber(L, (lua_Number)bw_lua_wall_ns() / 1e9);
	return 1;
}

/* ---- reads (host calls) ----------------------------------------------------------- */

static json_t *
api_labels_json(const struct bw_labelset *ls)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && ls != NULL && i < bw_labelset_count(ls); i++) {
		const struct bw_label *l = bw_labelset_at(ls, i);

		if (l != NULL && l->text != NULL)
			json_array_append_new(a, json_string(l->text));
	}
	return a;
}

static void
rpc_endpoint(struct lh_rpc *r)
{
	struct bw_endpoint *ep = NULL;
	const struct bw_ep_addr *ips;
	const struct bw_ep_workload *wl;
	const struct bw_labelset *ls;
	const char *slash = strchr(r->s1, '/');
	uint8_t addr[16];
	char buf[64];
	size_t n;
	json_t *a;

	memset(addr, 0, sizeof(addr));
	if (inet_pton(AF_INET, r->s1, addr) == 1) {
		ep = bw_endpoint_find_by_ip(4, addr);
	} else if (inet_pton(AF_INET6, r->s1, addr) == 1) {
		ep = bw_endpoint_find_by_ip(6, addr);
	} else if (slash != NULL && slash != r->s1 && (size_t)(slash - r->s1) < sizeof(buf)) {
		snprintf(buf, sizeof(buf), "%.*s", (int)(slash - r->s1), r->s1);
		ep = bw_endpoint_find(buf, slash + 1);
	}
	if (ep == NULL)
		return;
	ls = bw_identity_labels(bw_endpoint_identity(ep));
	if (ls == NULL)
		ls = bw_endpoint_identity_labels(ep);
	a = json_array();
	ips = bw_endpoint_ips(ep, &n);
	for (size_t i = 0; a != NULL && i < n; i++) {
		inet_ntop(ips[i].family == 4 ? AF_INET : AF_INET6, ips[i].addr, buf,
			  sizeof(buf));
		json_array_append_new(a, json_string(buf));
	}
	r->out = json_pack("{s:s, s:s, s:I, s:I, s:o, s:o}",
			   "namespace", bw_endpoint_ns(ep), "pod", bw_endpoint_pod(ep),
			   "id", (json_int_t)bw_endpoint_id(ep),
			   "identity", (json_int_t)bw_endpoint_identity(ep),
			   "labels", api_labels_json(ls), "ips", a);
	wl = bw_endpoint_workload(ep, NULL);
	if (r->out != NULL && wl != NULL)
		json_object_set_new(r->out, "workload",
				    json_pack("{s:s, s:s}", "kind", wl->kind,
					      "name", wl->name));
}

static int
api_endpoint(lua_State *L)
{
	struct lh_rpc r;

	memset(&r, 0, sizeof(r));
	r.fn = rpc_endpoint;
	r.s1 = luaL_checkstring(L, 1);
	api_rpc(L, &r);
	if (r.out == NULL)
		return 0;
	bw_luac_push_json(L, r.out);
	json_decref(r.out);
	return 1;
}

static void
rpc_identity(struct lh_rpc *r)
{
	const struct bw_labelset *ls = bw_identity_labels((uint32_t)r->n1);

	if (ls == NULL)
		return;
	r->out = json_pack("{s:I, s:o}", "id", (json_int_t)r->n1, "labels",
			   api_labels_json(ls));
}

static int
api_identity(lua_State *L)
{
	struct lh_rpc r;

	memset(&r, 0, sizeof(r));
	r.fn = rpc_identity;
	r.n1 = luaL_checkinteger(L, 1);
	if (r.n1 <= 0 || r.n1 > UINT32_MAX)
		return 0;
	api_rpc(L, &r);
	if (r.out == NULL)
		return 0;
	bw_luac_push_json(L, r.out);
	json_decref(r.out);
	return 1;
}

static void
rpc_policies(struct lh_rpc *r)
{
	r->out = json_array();
	for (const struct bw_pol *p = bw_pol_first(); r->out != NULL && p != NULL;
	     p = p->next)
		json_array_append_new(r->out, json_pack("{s:s, s:s, s:s, s:s}",
			"namespace", p->ns, "name", p->name, "kind", p->kind,
			"source", p->source));
}

static int
api_policies(lua_State *L)
{
	struct lh_rpc r;

	memset(&r, 0, sizeof(r));
	r.fn = rpc_policies;
	api_rpc(L, &r);
	if (r.out == NULL) {
		lua_newtable(L);
		return 1;
	}
	bw_luac_push_json(L, r.out);
	json_decref(r.out);
	return 1;
}

/* ---- quarantine -------------------------------------------------------------------- */

/* On the loop: apply what a script asked for (the outcome goes to the log). */
void bw_luaapi_quarantine(const struct lh_action *a);

void
bw_luaapi_quarantine(const struct lh_action *a)
{
	char name[64], err[512], by[LH_NAME_MAX + 8];

	snprintf(by, sizeof(by), "lua:%s", a->script);
	if (bw_quarantine_add(a->url, a->peer, a->seconds, a->body, by, name,
			      sizeof(name), err, sizeof(err)) < 0)
		bw_logx(by, BW_LOG_ERR, "quarantine of %s from %s refused: %s",
			a->url, a->peer, err);
}

/*
 * bulwark.quarantine(endpoint, peer, seconds, reason): the arguments are
 * checked here; the quarantine itself is applied by the loop right after
 * the hook returns (a policy change must not run inside a hook, and the
 * loop may itself be waiting for this thread). While a script is being
 * loaded (on the loop) it is applied at once.
 */
static int
api_quarantine(lua_State *L)
{
	struct lh_script *s = api_script(L);
	const char *ep = luaL_checkstring(L, 1);
	const char *peer = luaL_checkstring(L, 2);
	lua_Integer secs = luaL_checkinteger(L, 3);
	const char *reason = luaL_optstring(L, 4, "");
	const char *slash = strchr(ep, '/');
	struct lh_action *a;
	struct bw_prefix p;
	int allow;

	if (slash == NULL || slash == ep || slash[1] == '\0' || strchr(slash + 1, '/')) {
		lua_pushnil(L);
		lua_pushfstring(L, "endpoint '%s': expected \"NAMESPACE/POD\"", ep);
		return 2;
	}
	if (bw_prefix_parse(peer, 0, &p) < 0) {
		lua_pushnil(L);
		lua_pushfstring(L, "peer '%s' is not an address or a CIDR", peer);
		return 2;
	}
	if (secs < 1 || secs > BW_QUARANTINE_MAX_SECONDS) {
		lua_pushnil(L);
		lua_pushfstring(L, "seconds must be within 1 .. %d",
				BW_QUARANTINE_MAX_SECONDS);
		return 2;
	}
	pthread_mutex_lock(&lh.mu);
	allow = bw_lua_rate_allow(&s->rl_quarantine, LH_QUARANTINE_RATE,
				  LH_QUARANTINE_RATE);
	pthread_mutex_unlock(&lh.mu);
	if (!allow) {
		lua_pushnil(L);
		lua_pushliteral(L, "rate limited (at most 10 quarantines a second)");
		return 2;
	}
	if (bw_lua_on_loop()) {
		char name[64], err[512], by[LH_NAME_MAX + 8];

		snprintf(by, sizeof(by), "lua:%s", s->name);
		if (bw_quarantine_add(ep, peer, secs, reason, by, name, sizeof(name),
				      err, sizeof(err)) < 0) {
			lua_pushnil(L);
			lua_pushstring(L, err);
			return 2;
		}
		lua_pushboolean(L, 1);
		return 1;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL || (a->url = strdup(ep)) == NULL || (a->peer = strdup(peer)) == NULL ||
	    (a->body = strdup(reason)) == NULL) {
		if (a != NULL) {
			free(a->url);
			free(a->peer);
		}
		free(a);
		return luaL_error(L, "bulwark.quarantine: out of memory");
	}
	a->kind = LH_ACT_QUARANTINE;
	a->seconds = secs;
	snprintf(a->script, sizeof(a->script), "%s", s->name);
	bw_luaw_action(a);
	lua_pushboolean(L, 1);
	return 1;
}

/* ---- metrics ---------------------------------------------------------------------- */

static int
api_name_ok(const char *s, int first_underscore)
{
	if (!((*s >= 'a' && *s <= 'z') || (first_underscore && *s == '_')))
		return 0;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

/* Render the labels table at idx as `a="x",b="y"` (sorted) into buf. */
static void
api_render_labels(lua_State *L, int idx, const char *fn, char *buf, size_t len)
{
	const char *keys[LH_METRIC_LABELS], *vals[LH_METRIC_LABELS];
	int n = 0;
	size_t o = 0;

	buf[0] = '\0';
	if (lua_isnoneornil(L, idx))
		return;
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;

		if (k == NULL || !api_name_ok(k, 1) || strlen(k) > 32 ||
		    strcmp(k, "script") == 0)
			luaL_error(L, "bulwark.%s: label names are [a-z_][a-z0-9_]* "
				      "(at most 32, not \"script\")", fn);
		/* strings only: the table keeps them alive while we use them */
		if (lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "bulwark.%s: label %s: the value must be a "
				      "string (use tostring())", fn, k);
		if (n == LH_METRIC_LABELS)
			luaL_error(L, "bulwark.%s: at most %d labels", fn,
				   LH_METRIC_LABELS);
		keys[n] = k;
		vals[n] = lua_tostring(L, -1);
		if (strlen(vals[n]) > 64)
			luaL_error(L, "bulwark.%s: label %s: the value is over 64 "
				      "bytes", fn, k);
		n++;
		lua_pop(L, 1);
	}
	/* sort by name (n <= 4) */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			const char *tk = keys[j], *tv = vals[j];

			keys[j] = keys[j - 1];
			vals[j] = vals[j - 1];
			keys[j - 1] = tk;
			vals[j - 1] = tv;
		}
	for (int i = 0; i < n && o < len; i++) {
		o += (size_t)snprintf(buf + o, len - o, "%s%s=\"", i ? "," : "", keys[i]);
		for (const char *v = vals[i]; *v && o + 3 < len; v++) {
			if (*v == '\\' || *v == '"') {
				buf[o++] = '\\';
				buf[o++] = *v;
			} else if (*v == '\n') {
				buf[o++] = '\\';
				buf[o++] = 'n';
			} else {
				buf[o++] = *v;
			}
		}
		if (o + 1 < len)
			buf[o++] = '"';
		buf[o < len ? o : len - 1] = '\0';
	}
}

static int
api_metric(lua_State *L, int gauge)
{
	const char *fn = gauge ? "gauge" : "counter";
	struct lh_script *s = api_script(L);
	const char *name = luaL_checkstring(L, 1);
	char labels[512];
	lua_Number v;
	struct lh_family *fam = NULL;
	const char *err = NULL;

	if (!api_name_ok(name, 0) || strlen(name) > 40)
		return luaL_error(L, "bulwark.%s: '%s': names are [a-z][a-z0-9_]*, "
				     "at most 40 characters", fn, name);
	api_render_labels(L, 2, fn, labels, sizeof(labels));
	v = gauge ? luaL_checknumber(L, 3) : luaL_optnumber(L, 3, 1);
	if (!gauge && v < 0)
		return luaL_error(L, "bulwark.counter: a counter only goes up");
	pthread_mutex_lock(&lh.mu);
	for (size_t i = 0; i < s->nfam; i++)
		if (strcmp(s->fam[i].name, name) == 0)
			fam = &s->fam[i];
	if (fam != NULL && fam->gauge != gauge) {
		err = "is already a metric of the other type";
	} else if (fam == NULL) {
		if (s->nfam >= LH_METRIC_NAMES) {
			err = "too many metric names (at most 16 per script)";
		} else {
			struct lh_family *nf = realloc(s->fam, (s->nfam + 1) * sizeof(*nf));

			if (nf == NULL) {
				err = "out of memory";
			} else {
				s->fam = nf;
				fam = &s->fam[s->nfam++];
				memset(fam, 0, sizeof(*fam));
				snprintf(fam->name, sizeof(fam->name), "%s", name);
				fam->gauge = gauge;
			}
		}
	}
	if (err == NULL) {
		struct lh_series *se = NULL;

		for (size_t i = 0; i < fam->n; i++)
			if (strcmp(fam->v[i].labels, labels) == 0)
				se = &fam->v[i];
		if (se == NULL) {
			struct lh_series *nv;

			if (fam->n >= LH_METRIC_SERIES) {
				err = "too many label sets for this name (at most 64)";
			} else if ((nv = realloc(fam->v, (fam->n + 1) * sizeof(*nv))) == NULL) {
				err = "out of memory";
			} else {
				fam->v = nv;
				se = &fam->v[fam->n];
				se->labels = strdup(labels);
				se->value = 0;
				if (se->labels == NULL)
					err = "out of memory";
				else
					fam->n++;
			}
		}
		if (err == NULL) {
			if (gauge)
				se->value = v;
			else
				se->value += v;
		}
	}
	pthread_mutex_unlock(&lh.mu);
	if (err != NULL)
		return luaL_error(L, "bulwark.%s: %s: %s", fn, name, err);
	return 0;
}

static int
api_counter(lua_State *L)
{
	return api_metric(L, 0);
}

static int
api_gauge(lua_State *L)
{
	return api_metric(L, 1);
}

/* ---- webhooks and emitted flows ------------------------------------------------ */

static int
api_url_allowed(const char *url)
{
	int ok = 0;

	if (strncmp(url, "http://", 7) != 0)
		return 0;
	pthread_mutex_lock(&lh.mu);
	if (lh.webhooks != NULL) {
		const char *p = lh.webhooks;

		while (*p && !ok) {
			size_t n;

			while (*p == ' ' || *p == '\t' || *p == ',')
				p++;
			n = strcspn(p, " \t,");
			if (n > 0 && strncmp(url, p, n) == 0)
				ok = 1;
			p += n;
		}
	}
	pthread_mutex_unlock(&lh.mu);
	return ok;
}

static int
api_webhook(lua_State *L)
{
	struct lh_script *s = api_script(L);
	const char *url = luaL_checkstring(L, 1);
	struct lh_action *a;
	char err[128];
	json_t *body;
	int allow;

	luaL_checkany(L, 2);
	if (!api_url_allowed(url)) {
		lua_pushnil(L);
		lua_pushfstring(L, "%s is not under one of [lua] webhooks", url);
		return 2;
	}
	body = bw_luac_to_json(L, 2, 8, err, sizeof(err));
	if (body == NULL)
		return luaL_error(L, "bulwark.webhook: the payload is %s", err);
	pthread_mutex_lock(&lh.mu);
	allow = bw_lua_rate_allow(&s->rl_webhook, LH_WEBHOOK_RATE, LH_WEBHOOK_RATE);
	if (!allow)
		lh.webhooks_dropped++;
	pthread_mutex_unlock(&lh.mu);
	if (!allow) {
		json_decref(body);
		lua_pushnil(L);
		lua_pushliteral(L, "rate limited (at most 10 webhooks a second)");
		return 2;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL || (a->url = strdup(url)) == NULL ||
	    (a->body = json_dumps(body, JSON_COMPACT)) == NULL) {
		if (a != NULL)
			free(a->url);
		free(a);
		json_decref(body);
		return luaL_error(L, "bulwark.webhook: out of memory");
	}
	json_decref(body);
	a->kind = LH_ACT_WEBHOOK;
	snprintf(a->script, sizeof(a->script), "%s", s->name);
	bw_luaw_action(a);
	lua_pushboolean(L, 1);
	return 1;
}

static int
api_emit_flow(lua_State *L)
{
	struct lh_script *s = api_script(L);
	struct lh_action *a;
	char err[128];
	json_t *t;
	int allow;

	luaL_checktype(L, 1, LUA_TTABLE);
	t = bw_luac_to_json(L, 1, LH_EXT_DEPTH + 2, err, sizeof(err));
	if (t == NULL)
		return luaL_error(L, "bulwark.emit_flow: the flow is %s", err);
	pthread_mutex_lock(&lh.mu);
	allow = bw_lua_rate_allow(&s->rl_emit, LH_EMIT_RATE, LH_EMIT_RATE);
	pthread_mutex_unlock(&lh.mu);
	if (!allow) {
		json_decref(t);
		lua_pushnil(L);
		lua_pushliteral(L, "rate limited (at most 100 flows a second)");
		return 2;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL || (a->body = json_dumps(t, JSON_COMPACT)) == NULL) {
		free(a);
		json_decref(t);
		return luaL_error(L, "bulwark.emit_flow: out of memory");
	}
	json_decref(t);
	a->kind = LH_ACT_EMIT;
	snprintf(a->script, sizeof(a->script), "%s", s->name);
	bw_luaw_action(a);
	lua_pushboolean(L, 1);
	return 1;
}

/* One side of an emitted flow, from its address (loop thread). */
static void
api_emit_side(struct bw_flow_endpoint *side, const char **labels, size_t max,
	      int family, const uint8_t *addr)
{
	struct bw_endpoint *ep = bw_endpoint_find_by_ip(family, addr);
	const struct bw_labelset *ls;
	struct bw_ipcache_entry e;
	size_t n = 0;

	if (ep != NULL) {
		side->id = bw_endpoint_id(ep);
		side->identity = bw_endpoint_identity(ep);
		side->ns = bw_endpoint_ns(ep);
		side->pod_name = bw_endpoint_pod(ep);
	} else {
		memset(&e, 0, sizeof(e));
		bw_ipcache_lookup(family, addr, &e);
		side->identity = e.identity;
	}
	ls = bw_identity_labels(side->identity);
	for (size_t i = 0; ls != NULL && i < bw_labelset_count(ls) && n < max; i++) {
		const struct bw_label *l = bw_labelset_at(ls, i);

		if (l != NULL && l->text != NULL)
			labels[n++] = l->text;
	}
	side->labels = labels;
	side->n_labels = (uint32_t)n;
}

void bw_luaapi_emit(const char *script, const char *json);

void
bw_luaapi_emit(const char *script, const char *json)
{
	static const char *labels[2][64];
	json_t *t = json_loads(json, 0, NULL), *ext, *x;
	const char *v, *proto;
	struct bw_flow f;
	char *exttext = NULL;
	int vd;

	if (t == NULL)
		return;
	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	f.type = BW_FLOW_TYPE_L3_L4;
	f.is_reply = -1;
	f.flags = BW_FLOW_F_SCRIPT;
	v = json_string_value(json_object_get(t, "verdict"));
	vd = v != NULL ? bw_flowjson_verdict_parse(v) : -1;
	f.verdict = vd > 0 ? (enum bw_flow_verdict)vd : BW_FLOW_VERDICT_FORWARDED;
	v = json_string_value(json_object_get(t, "source_ip"));
	if (v != NULL && inet_pton(AF_INET, v, f.src_addr) == 1)
		f.ip_version = 4;
	else if (v != NULL && inet_pton(AF_INET6, v, f.src_addr) == 1)
		f.ip_version = 6;
	if (f.ip_version != 0) {
		snprintf(f.src_ip, sizeof(f.src_ip), "%s", v);
		v = json_string_value(json_object_get(t, "destination_ip"));
		if (v == NULL || inet_pton(f.ip_version == 4 ? AF_INET : AF_INET6, v,
					   f.dst_addr) != 1) {
			memset(f.dst_addr, 0, sizeof(f.dst_addr));
			v = f.ip_version == 4 ? "0.0.0.0" : "::";
		}
		snprintf(f.dst_ip, sizeof(f.dst_ip), "%s", v);
		api_emit_side(&f.source, labels[0], 64, f.ip_version, f.src_addr);
		api_emit_side(&f.destination, labels[1], 64, f.ip_version, f.dst_addr);
	}
	proto = json_string_value(json_object_get(t, "protocol"));
	if (proto != NULL) {
		if (!strcasecmp(proto, "TCP"))
			f.protocol = 6;
		else if (!strcasecmp(proto, "UDP"))
			f.protocol = 17;
		else if (!strcasecmp(proto, "SCTP"))
			f.protocol = 132;
	}
	x = json_object_get(t, "source_port");
	if (json_is_integer(x) && json_integer_value(x) > 0 && json_integer_value(x) < 65536)
		f.src_port = (uint16_t)json_integer_value(x);
	x = json_object_get(t, "destination_port");
	if (json_is_integer(x) && json_integer_value(x) > 0 && json_integer_value(x) < 65536)
		f.dst_port = (uint16_t)json_integer_value(x);
	v = json_string_value(json_object_get(t, "summary"));
	f.summary = v != NULL ? v : "emitted by a Lua script";
	v = json_string_value(json_object_get(t, "traffic_direction"));
	if (v != NULL && bw_flowjson_direction_parse(v) > 0)
		f.traffic_direction = (enum bw_flow_direction)bw_flowjson_direction_parse(v);
	ext = json_object_get(t, "extensions");
	x = json_pack("{s:{s:s}}", "lua", "emitted_by", script);
	if (x != NULL && json_is_object(ext))
		json_object_set(json_object_get(x, "lua"), "extensions", ext);
	if (x != NULL)
		exttext = json_dumps(x, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(x);
	f.extensions_json = exttext;
	bw_flow_publish(&f);
	free(exttext);
	json_decref(t);
	pthread_mutex_lock(&lh.mu);
	lh.emitted++;
	pthread_mutex_unlock(&lh.mu);
}

/* ---- the table ------------------------------------------------------------------- */

int
bw_luaapi_open(lua_State *L, void *script)
{
	static const luaL_Reg fns[] = {
		{ "log", api_log },
		{ "now", api_now },
		{ "endpoint", api_endpoint },
		{ "identity", api_identity },
		{ "policies", api_policies },
		{ "quarantine", api_quarantine },
		{ "counter", api_counter },
		{ "gauge", api_gauge },
		{ "webhook", api_webhook },
		{ "emit_flow", api_emit_flow },
		{ NULL, NULL },
	};
	struct lh_script *s = script;

	luaL_newlib(L, fns);
	lua_pushstring(L, s != NULL ? s->name : "");
	lua_setfield(L, -2, "script");
	/* the Lua half, with the table as its argument */
	if (luaL_loadbufferx(L, luaapi_helpers, sizeof(luaapi_helpers) - 1,
			     "=bulwark.lua", "t") != LUA_OK)
		return lua_error(L);
	lua_pushvalue(L, -2);
	lua_call(L, 1, 0);
	return 1;
}
