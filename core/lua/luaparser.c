/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/lua/luaparser.c - L7 protocol parsers written in Lua: a script's
 * `protocol = {name, frame, request, denied, response}` becomes a parser of
 * the L7 proxy engine (<bulwark/l7.h>), selected from policy as Cilium's generic
 * L7 rules are (`rules: {l7proto: NAME, l7: [{key: value}, ...]}`), the
 * l7 list handed to request() as a list of tables.
 *
 * The engine's parsers decide synchronously inside data(); the script runs
 * on the bw-lua thread, so each data() call hands a copy of the undecided
 * request bytes to the worker and waits for the answer (frame length,
 * verdict, flow fields, denial bytes), at most [lua] decision_timeout,
 * as bw_hooks_*_wait() do. Responses pass unparsed, unless the protocol
 * frames them (response()): then a denial waits (BW_L7_WAIT) until the
 * responses to the requests passed before it have gone through, so that
 * it keeps its place in a pipeline.
 *
 * One engine parser per protocol name, registered the first time a script
 * defines it and kept (the engine has no unregistration): it follows the
 * script that defines the name now. Without one (the script was removed,
 * disabled or failed) its connections are closed: fail closed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <lauxlib.h>

#include "core/log.h"
#include "core/lua/lua_int.h"
#include "core/proxy/proxy.h"

#define LP_FIELDS_MAX 32
#define LP_DENIED_MAX 4096
#define LP_RULES_CACHE 64

struct lp_parser {
	struct lp_parser *next;
	char name[64];
	char description[96];
	struct bw_l7_parser p;
	struct lh_script *script; /* the script defining it now (loop thread) */
	int response;             /* the script frames responses too */
	int logged;               /* "no script" said once */
};

struct lp_conn {
	bw_l7_conn *conn;
	struct lp_parser *lp;
	struct bw_l7_conn_info info;
	/* with protocol.response: requests passed whose responses have not
	 * all come back, and a denied request held until they have (so that
	 * its denial follows the earlier responses) */
	uint32_t outstanding;
	int held;
	size_t held_n;
	char *held_denied;
	size_t held_denied_len;
};

/* Kept for the daemon's life: the engine keeps the parser (and its name). */
static struct lp_parser *lp_list;

/* ---- the engine's calls (loop thread) ---------------------------------------------- */

static int
lp_compile(void *ud, const char *json, size_t len, void **out, char *err,
	   size_t errlen)
{
	json_error_t jerr;
	json_t *a = json_loadb(json, len, 0, &jerr), *r, *v;
	const char *k;
	size_t i;

	if (!json_is_array(a)) {
		snprintf(err, errlen, "the l7 rules must be a list of {key: value} maps");
		json_decref(a);
		return -EINVAL;
	}
	json_array_foreach(a, i, r) {
		if (!json_is_object(r)) {
			snprintf(err, errlen, "l7[%zu]: must be a {key: value} map", i);
			json_decref(a);
			return -EINVAL;
		}
		json_object_foreach(r, k, v) {
			if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v)) {
				snprintf(err, errlen, "l7[%zu].%s: must be a string", i, k);
				json_decref(a);
				return -EINVAL;
			}
		}
	}
	json_decref(a);
	*out = strndup(json, len);
	return *out != NULL ? 0 : -ENOMEM;
}

static void
lp_rules_free(void *ud, void *rules)
{
	free(rules);
}

static int
lp_open(void *ud, bw_l7_conn *conn, const struct bw_l7_conn_info *info,
	void **state)
{
	struct lp_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	c->conn = conn;
	c->lp = ud;
	c->info = *info;
	c->info.endpoint_ns = c->info.endpoint_pod = NULL; /* not kept */
	*state = c;
	return 0;
}

static void
lp_close(void *state)
{
	struct lp_conn *c = state;

	free(c->held_denied);
	free(c);
}

static void
lp_abort(void *state, enum bw_l7_abort why, enum bw_l7_dir dir)
{
	/* the engine closes the connection; nothing of the protocol to say */
}

static int
lp_active(const struct lh_script *s)
{
	int st;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&lh.mu);
	st = s->state;
	pthread_mutex_unlock(&lh.mu);
	return st == LH_ST_ACTIVE;
}

/* The held denial, once the responses before it have come back. */
static int
lp_release(struct lp_conn *c, size_t *n)
{
	if (c->outstanding > 0)
		return BW_L7_WAIT;
	if (c->held_denied != NULL && c->held_denied_len > 0)
		bw_proxy_inject(c->conn, BW_L7_DIR_REPLY, c->held_denied,
				c->held_denied_len);
	*n = c->held_n;
	free(c->held_denied);
	c->held_denied = NULL;
	c->held_denied_len = 0;
	c->held = 0;
	return BW_L7_DROP;
}

/* Ask the script (on the bw-lua thread; the loop waits). NULL: close. */
static struct lh_dec *
lp_ask(struct lp_conn *c, const struct bw_l7_input *in, int resp)
{
	struct lh_dec *d = calloc(1, sizeof(*d));

	if (d == NULL || (d->pdata = malloc(in->len)) == NULL ||
	    (!resp && in->rules != NULL && (d->prules = strdup(in->rules)) == NULL)) {
		if (d != NULL)
			bw_luaw_dec_free(d);
		return NULL;
	}
	d->hook = BW_LUA_PROTOCOL;
	d->presp = resp;
	d->pscript = c->lp->script;
	memcpy(d->pdata, in->data, in->len);
	d->plen = in->len;
	d->prule = -1;
	inet_ntop(c->info.ip_version == 6 ? AF_INET6 : AF_INET, c->info.client_addr,
		  d->cip, sizeof(d->cip));
	inet_ntop(c->info.ip_version == 6 ? AF_INET6 : AF_INET, c->info.server_addr,
		  d->sip, sizeof(d->sip));
	d->cport = c->info.client_port;
	d->sport = c->info.server_port;
	d->pdir = c->info.direction;
	if (bw_luaw_decide_sync(d) < 0)
		return NULL; /* no answer in time: the worker frees d */
	return d;
}

static int
lp_data(void *state, const struct bw_l7_input *in, size_t *n)
{
	struct lp_conn *c = state;
	struct lh_dec *d;
	struct bw_flow_l7 l7;
	struct bw_l7_record rec;
	int op;

	*n = 0;
	if (in->dir == BW_L7_DIR_REPLY) {
		/* responses are framed only to keep denials in order */
		if (in->len == 0 || !c->lp->response || c->outstanding == 0 ||
		    !lp_active(c->lp->script)) {
			*n = in->len;
			return BW_L7_PASS;
		}
		d = lp_ask(c, in, 1);
		if (d == NULL)
			return BW_L7_CLOSE;
		op = d->pop;
		if (op == BW_L7_PASS) {
			*n = d->pn;
			c->outstanding--;
		}
		bw_luaw_dec_free(d);
		return op == BW_L7_PASS || op == BW_L7_MORE ? op : BW_L7_CLOSE;
	}
	if (c->held)
		return lp_release(c, n);
	if (in->len == 0)
		return BW_L7_PASS;
	if (!lp_active(c->lp->script)) {
		if (!c->lp->logged)
			bw_warn("lua: protocol %s: no active script defines it; its "
				"connections are closed", c->lp->name);
		c->lp->logged = 1;
		return BW_L7_CLOSE;
	}
	c->lp->logged = 0;
	d = lp_ask(c, in, 0);
	if (d == NULL)
		return BW_L7_CLOSE;
	op = d->pop;
	if (op == BW_L7_MORE || op == BW_L7_CLOSE) {
		bw_luaw_dec_free(d);
		return op;
	}
	memset(&l7, 0, sizeof(l7));
	l7.size = sizeof(l7);
	l7.type = BW_FLOW_L7_REQUEST;
	l7.proto = c->lp->name;
	l7.fields = d->fields;
	l7.n_fields = d->nfields;
	memset(&rec, 0, sizeof(rec));
	rec.size = sizeof(rec);
	rec.l7 = &l7;
	rec.verdict = op == BW_L7_PASS ? BW_FLOW_VERDICT_FORWARDED : BW_FLOW_VERDICT_DROPPED;
	rec.rule = d->prule;
	(void)bw_proxy_record(c->conn, &rec);
	if (op == BW_L7_DROP) {
		c->held = 1;
		c->held_n = d->pn;
		c->held_denied = d->denied; /* taken over */
		c->held_denied_len = d->denied_len;
		d->denied = NULL;
		op = lp_release(c, n);
	} else {
		*n = d->pn;
		if (c->lp->response)
			c->outstanding++;
		op = BW_L7_PASS;
	}
	bw_luaw_dec_free(d);
	return op;
}

/* ---- scripts come and go (loop thread) ------------------------------------------------ */

static struct lp_parser *
lp_find(const char *name)
{
	for (struct lp_parser *lp = lp_list; lp != NULL; lp = lp->next)
		if (strcmp(lp->name, name) == 0)
			return lp;
	return NULL;
}

void
bw_luaparser_forget(struct lh_script *s)
{
	for (struct lp_parser *lp = lp_list; lp != NULL; lp = lp->next)
		if (lp->script == s)
			lp->script = NULL;
}

void
bw_luaparser_script(struct lh_script *s, const char *name, int response)
{
	struct lp_parser *lp;
	int rc;

	if (name == NULL) {
		bw_luaparser_forget(s);
		return;
	}
	lp = lp_find(name);
	if (lp != NULL && lp->script != NULL && lp->script != s) {
		bw_err("lua/%s: protocol %s is already defined by script %s; "
		       "this one is not used", s->name, name, lp->script->name);
		pthread_mutex_lock(&lh.mu);
		snprintf(s->last_error, sizeof(s->last_error), "protocol %s is "
			 "already defined by script %s", name, lp->script->name);
		pthread_mutex_unlock(&lh.mu);
		return;
	}
	bw_luaparser_forget(s); /* it may have defined another name before */
	if (lp == NULL) {
		lp = calloc(1, sizeof(*lp));
		if (lp == NULL)
			return;
		snprintf(lp->name, sizeof(lp->name), "%s", name);
		snprintf(lp->description, sizeof(lp->description),
			 "written in Lua (script %s)", s->name);
		lp->p.size = sizeof(lp->p);
		lp->p.name = lp->name;
		lp->p.description = lp->description;
		lp->p.rules_compile = lp_compile;
		lp->p.rules_free = lp_rules_free;
		lp->p.conn_open = lp_open;
		lp->p.data = lp_data;
		lp->p.abort = lp_abort;
		lp->p.conn_close = lp_close;
		lp->p.user_data = lp;
		lp->next = lp_list;
		lp_list = lp;
	}
	lp->script = s;
	lp->response = response;
	if (bw_proxy_parser_find(name) == NULL) {
		rc = bw_proxy_parser_add(&lp->p, NULL);
		if (rc < 0) {
			bw_err_errno(rc, "lua/%s: cannot register protocol %s with the "
				     "L7 engine", s->name, name);
			lp->script = NULL;
			return;
		}
		bw_notice("lua/%s: protocol %s registered with the L7 engine "
			  "(policies select it with rules: {l7proto: %s})", s->name,
			  name, name);
	} else if (bw_proxy_parser_find(name)->user_data != lp) {
		bw_err("lua/%s: protocol %s: the L7 engine has a parser of that "
		       "name already", s->name, name);
		lp->script = NULL;
	}
}

/* ---- the worker ---------------------------------------------------------------------- */

static const char lp_rules_key; /* registry: JSON text -> rules table cache */

/* Push the rules of JSON text json as a list of tables (nil: no rules). */
static void
lp_push_rules(lua_State *L, const char *json)
{
	json_t *a;
	int n = 0;

	if (json == NULL) {
		lua_pushnil(L);
		return;
	}
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &lp_rules_key) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_rawsetp(L, LUA_REGISTRYINDEX, &lp_rules_key);
	}
	if (lua_getfield(L, -1, json) == LUA_TTABLE) {
		lua_remove(L, -2);
		return;
	}
	lua_pop(L, 1);
	/* a bounded cache: rule lists change with policy, rarely */
	lua_pushnil(L);
	while (lua_next(L, -2) != 0) {
		lua_pop(L, 1);
		n++;
	}
	if (n >= LP_RULES_CACHE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_rawsetp(L, LUA_REGISTRYINDEX, &lp_rules_key);
	}
	a = json_loads(json, 0, NULL);
	if (a == NULL) {
		lua_pop(L, 1);
		lua_pushnil(L);
		return;
	}
	bw_luac_push_json(L, a);
	json_decref(a);
	lua_pushvalue(L, -1);
	lua_setfield(L, -3, json);
	lua_remove(L, -2);
}

/* Protected: frame(), then request(), then denied(). */
static int
lp_call(lua_State *L)
{
	struct lh_dec *d = lua_touserdata(L, 1);
	lua_Integer len;
	const char *v;
	int proto;

	bw_lsb_push_protocol(L);
	proto = lua_gettop(L);
	if (d->presp) {
		/* response(data): the length of the next complete response */
		lua_getfield(L, proto, "response");
		lua_pushlstring(L, d->pdata, d->plen);
		lua_call(L, 1, 1);
		if (lua_isnil(L, -1) || (lua_isboolean(L, -1) && !lua_toboolean(L, -1))) {
			d->pop = BW_L7_MORE;
			return 0;
		}
		if (!lua_isinteger(L, -1) || (len = lua_tointeger(L, -1)) < 1 ||
		    (size_t)len > d->plen)
			return bw_lsb_bad_return(L, "protocol.response returned %s "
						 "(expected nil, or the response's "
						 "length 1..#data)",
						 lua_isinteger(L, -1) ? "a length outside the data"
								      : luaL_typename(L, -1));
		d->pn = (size_t)len;
		d->pop = BW_L7_PASS;
		return 0;
	}
	lua_getfield(L, proto, "frame");
	lua_pushlstring(L, d->pdata, d->plen);
	lua_call(L, 1, 1);
	if (lua_isnil(L, -1) || (lua_isboolean(L, -1) && !lua_toboolean(L, -1))) {
		d->pop = BW_L7_MORE;
		return 0;
	}
	if (!lua_isinteger(L, -1) || (len = lua_tointeger(L, -1)) < 1 ||
	    (size_t)len > d->plen)
		return bw_lsb_bad_return(L, "protocol.frame returned %s (expected "
					 "nil, or the request's length 1..#data)",
					 lua_isinteger(L, -1) ? "a length outside the data"
							      : luaL_typename(L, -1));
	d->pn = (size_t)len;
	lua_pop(L, 1);

	lua_getfield(L, proto, "request");
	lua_pushlstring(L, d->pdata, d->pn);
	lp_push_rules(L, d->prules);
	lua_createtable(L, 0, 3);
	lua_createtable(L, 0, 2);
	lua_pushstring(L, d->cip);
	lua_setfield(L, -2, "ip");
	lua_pushinteger(L, d->cport);
	lua_setfield(L, -2, "port");
	lua_setfield(L, -2, "source");
	lua_createtable(L, 0, 2);
	lua_pushstring(L, d->sip);
	lua_setfield(L, -2, "ip");
	lua_pushinteger(L, d->sport);
	lua_setfield(L, -2, "port");
	lua_setfield(L, -2, "destination");
	lua_pushstring(L, d->pdir == BW_FLOW_TRAFFIC_EGRESS ? "EGRESS" : "INGRESS");
	lua_setfield(L, -2, "direction");
	lua_call(L, 3, 3);
	/* 1: verdict */
	v = lua_type(L, -3) == LUA_TSTRING ? lua_tostring(L, -3) : "";
	if (lua_isnil(L, -3) || strcmp(v, "allow") == 0) {
		d->pop = BW_L7_PASS;
	} else if (strcmp(v, "deny") == 0) {
		d->pop = BW_L7_DROP;
	} else {
		return bw_lsb_bad_return(L, "protocol.request returned a %s (expected "
					 "\"allow\" or \"deny\")", luaL_typename(L, -3));
	}
	/* 3: the matching rule (1-based), for the flow's attribution */
	if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1)
		d->prule = (int)lua_tointeger(L, -1) - 1;
	else if (!lua_isnil(L, -1))
		return bw_lsb_bad_return(L, "protocol.request: the third value must "
					 "be the index of the matching rule");
	/* 2: the flow's fields {key = value}: checked, then copied */
	if (lua_type(L, -2) == LUA_TTABLE) {
		uint32_t n = 0;

		lua_pushnil(L);
		while (lua_next(L, -3) != 0) {
			if (lua_type(L, -2) != LUA_TSTRING ||
			    (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER &&
			     lua_type(L, -1) != LUA_TBOOLEAN))
				return bw_lsb_bad_return(L, "protocol.request: the fields "
							 "must be {name = string}");
			n++;
			lua_pop(L, 1);
		}
		if (n > LP_FIELDS_MAX)
			return bw_lsb_bad_return(L, "protocol.request: at most %d fields",
						 LP_FIELDS_MAX);
		d->fields = calloc(n ? n : 1, sizeof(*d->fields));
		lua_pushnil(L);
		while (d->fields != NULL && lua_next(L, -3) != 0) {
			const char *val = lua_type(L, -1) == LUA_TBOOLEAN
				? (lua_toboolean(L, -1) ? "true" : "false")
				: lua_tostring(L, -1);

			d->fields[d->nfields].key = strdup(lua_tostring(L, -2));
			d->fields[d->nfields].value = strndup(val, 1024);
			d->nfields++;
			lua_pop(L, 1);
		}
	} else if (!lua_isnil(L, -2)) {
		return bw_lsb_bad_return(L, "protocol.request: the second value must "
					 "be a table of flow fields");
	}
	lua_pop(L, 3);
	if (d->pop != BW_L7_DROP)
		return 0;
	/* what the client gets instead */
	switch (lua_getfield(L, proto, "denied")) {
	case LUA_TFUNCTION:
		lua_pushlstring(L, d->pdata, d->pn);
		lua_call(L, 1, 1);
		break;
	case LUA_TSTRING:
	case LUA_TNIL:
		break;
	default:
		lua_pop(L, 1);
		lua_pushnil(L);
	}
	if (lua_type(L, -1) == LUA_TSTRING) {
		size_t n;
		const char *b = lua_tolstring(L, -1, &n);

		if (n > LP_DENIED_MAX)
			return bw_lsb_bad_return(L, "protocol.denied: at most %d bytes",
						 LP_DENIED_MAX);
		d->denied = malloc(n ? n : 1);
		if (d->denied != NULL) {
			memcpy(d->denied, b, n);
			d->denied_len = n;
		}
	} else if (!lua_isnil(L, -1)) {
		return bw_lsb_bad_return(L, "protocol.denied must give a string");
	}
	return 0;
}

void
bw_luaparser_run(struct lh_dec *d, const struct lh_limits *lim)
{
	struct lh_script *s = d->pscript;
	char err[LH_ERR_MAX];
	uint64_t t0;
	int fail, abandoned, st;

	pthread_mutex_lock(&lh.mu);
	abandoned = d->abandoned; /* then s may be gone: do not touch it */
	st = abandoned ? LH_ST_ERROR : s->state;
	pthread_mutex_unlock(&lh.mu);
	d->pop = BW_L7_CLOSE;
	if (abandoned || st != LH_ST_ACTIVE || s->sb == NULL)
		return;
	bw_lsb_set_limits(s->sb, &lim->lsb);
	bw_luaw_busy(s, BW_LUA_PROTOCOL);
	t0 = bw_lua_now_ns();
	fail = bw_lsb_run(s->sb, lp_call, d, err, sizeof(err));
	bw_luaw_busy(NULL, 0);
	bw_luaw_stats(s, BW_LUA_PROTOCOL, bw_lua_now_ns() - t0,
		      !fail && d->pop == BW_L7_DROP);
	if (!fail)
		return;
	bw_lua_failure(s, BW_LUA_PROTOCOL, fail, err);
	/* a request whose length is known gets the default verdict; else the
	 * connection cannot go on */
	if (d->pn > 0 && d->pop != BW_L7_MORE)
		d->pop = lim->default_deny ? BW_L7_DROP : BW_L7_PASS;
	else
		d->pop = BW_L7_CLOSE;
}
