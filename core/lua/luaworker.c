/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/lua/luaworker.c - the bw-lua thread: it owns the Lua states of the
 * installed scripts and runs every hook, so that a slow script costs this
 * thread and never the daemon's loop.
 *
 * Work comes in three queues under lh.mu: commands (install or remove a
 * script's state), decisions (on_dns/on_http/on_kafka, first) and flows
 * (on_flow/on_verdict, in batches, so a decision waits for at most one
 * batch). Answers, finished flows, host calls and actions go back in
 * queues of their own; one eventfd wakes the loop, written only when the
 * loop is not already due to look (lh.efd_armed).
 *
 * On the loop side (the same file, so the protocol between the two is in
 * one place): decisions in flight are kept oldest first; a timer answers
 * those past decision_timeout with the default verdict (their late answer
 * is dropped) and reports a call stuck in a library function for far
 * longer than its budget, which no hook can interrupt.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <lauxlib.h>

#include "core/flow/flow.h"
#include "core/log.h"
#include "core/lua/lua_int.h"
#include "core/module/hooks.h"

#define LW_FLOW_BATCH 64
#define LW_WEBHOOK_INFLIGHT 32
#define LW_WEBHOOK_TIMEOUT 5 /* seconds */

/* ---- waking the other side -------------------------------------------------- */

/* Call with lh.mu held. */
static void
lw_wake_loop(void)
{
	uint64_t one = 1;

	if (lh.efd_armed)
		return;
	lh.efd_armed = 1;
	if (write(lh.efd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow: the loop reads it */
	}
}

/* Call with lh.mu held. */
static void
lw_wake_worker(void)
{
	if (lh.idle)
		pthread_cond_signal(&lh.cv);
}

/* ---- the worker: decisions ---------------------------------------------------- */

struct lw_call {
	struct lh_dec *d;
	int hook;
	void *box;                  /* the request table's handle */
	int verdict;                /* BW_HOOK_ALLOW / _DENY */
	char reason[LH_REASON_MAX];
	int has_reason;
	/* header edits (on_http), malloc'd, freed by the caller */
	struct bw_hook_header *set;
	char **remove;
	uint32_t nset, nremove;
};

static int
lw_header_name_ok(const char *s)
{
	/* an RFC 9110 token */
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-.^_`|~", *s)))
			return 0;
	return 1;
}

static int
lw_header_value_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
			return 0;
	return 1;
}

static char *
lw_lower_dup(const char *s)
{
	char *d = strdup(s);

	for (char *p = d; p != NULL && *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return d;
}

/* Check (raising contract errors), then copy, the header edits at idx. */
static void
lw_read_edits(lua_State *L, int idx, struct lw_call *c)
{
	const char *hook = bw_lua_hook_name(c->hook);
	uint32_t nadd = 0, nrem = 0;

	idx = lua_absindex(L, idx);
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;

		if (k == NULL || (strcmp(k, "add") != 0 && strcmp(k, "remove") != 0))
			bw_lsb_bad_return(L, "%s: header edits have only 'add' "
					  "and 'remove'", hook);
		if (lua_type(L, -1) != LUA_TTABLE)
			bw_lsb_bad_return(L, "%s: header edits '%s' must be a "
					  "table", hook, k);
		lua_pop(L, 1);
	}
	if (lua_getfield(L, idx, "add") == LUA_TTABLE) {
		lua_pushnil(L);
		while (lua_next(L, -2) != 0) {
			size_t vn;
			const char *v;

			if (lua_type(L, -2) != LUA_TSTRING ||
			    !lw_header_name_ok(lua_tostring(L, -2)))
				bw_lsb_bad_return(L, "%s: add: a header name must "
						  "be a token string", hook);
			if (lua_type(L, -1) != LUA_TSTRING)
				bw_lsb_bad_return(L, "%s: add: header %s: the "
						  "value must be a string", hook,
						  lua_tostring(L, -2));
			v = lua_tolstring(L, -1, &vn);
			if (!lw_header_value_ok(v, vn) || vn > 8192)
				bw_lsb_bad_return(L, "%s: add: header %s: the "
						  "value has CR, LF or NUL, or is "
						  "over 8 KiB", hook,
						  lua_tostring(L, -2));
			nadd++;
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	if (lua_getfield(L, idx, "remove") == LUA_TTABLE) {
		lua_Integer n = (lua_Integer)lua_rawlen(L, -1);

		for (lua_Integer i = 1; i <= n; i++) {
			if (lua_rawgeti(L, -1, i) != LUA_TSTRING ||
			    !lw_header_name_ok(lua_tostring(L, -1)))
				bw_lsb_bad_return(L, "%s: remove: a header name "
						  "must be a token string", hook);
			lua_pop(L, 1);
			nrem++;
		}
	}
	lua_pop(L, 1);
	if (nadd > 64 || nrem > 64)
		bw_lsb_bad_return(L, "%s: at most 64 headers to add and 64 to "
				  "remove", hook);
	/* copy: nothing below raises */
	c->set = calloc(nadd ? nadd : 1, sizeof(*c->set));
	c->remove = calloc(nrem ? nrem : 1, sizeof(*c->remove));
	if (c->set == NULL || c->remove == NULL)
		return;
	if (lua_getfield(L, idx, "add") == LUA_TTABLE) {
		lua_pushnil(L);
		while (lua_next(L, -2) != 0 && c->nset < nadd) {
			c->set[c->nset].name = lw_lower_dup(lua_tostring(L, -2));
			c->set[c->nset].value = strdup(lua_tostring(L, -1));
			c->nset++;
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	if (lua_getfield(L, idx, "remove") == LUA_TTABLE) {
		for (uint32_t i = 1; i <= nrem; i++) {
			lua_rawgeti(L, -1, i);
			c->remove[c->nremove++] = lw_lower_dup(lua_tostring(L, -1));
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
}

/* Protected: push the request, call the hook, read its answer. */
static int
lw_call_decision(lua_State *L)
{
	struct lw_call *c = lua_touserdata(L, 1);
	const char *hook = bw_lua_hook_name(c->hook);
	const char *v;

	bw_lsb_push_hook(L, c->hook);
	switch (c->hook) {
	case BW_LUA_ON_DNS:
		c->box = bw_luac_push_dns(L, &c->d->req.dns);
		break;
	case BW_LUA_ON_HTTP:
		c->box = bw_luac_push_http(L, &c->d->req.http);
		break;
	default:
		c->box = bw_luac_push_kafka(L, &c->d->req.kafka);
		break;
	}
	lua_call(L, 1, 3);
	/* 1: verdict */
	switch (lua_type(L, -3)) {
	case LUA_TNIL:
		c->verdict = BW_HOOK_ALLOW;
		break;
	case LUA_TSTRING:
		v = lua_tostring(L, -3);
		if (strcmp(v, "allow") == 0)
			c->verdict = BW_HOOK_ALLOW;
		else if (strcmp(v, "deny") == 0)
			c->verdict = BW_HOOK_DENY;
		else
			bw_lsb_bad_return(L, "%s returned \"%.32s\" (expected "
					  "nil, \"allow\" or \"deny\")", hook, v);
		break;
	default:
		bw_lsb_bad_return(L, "%s returned a %s (expected nil, \"allow\" "
				  "or \"deny\")", hook, luaL_typename(L, -3));
	}
	/* 2: reason */
	if (lua_type(L, -2) == LUA_TSTRING) {
		snprintf(c->reason, sizeof(c->reason), "%s", lua_tostring(L, -2));
		c->has_reason = 1;
	} else if (!lua_isnil(L, -2)) {
		bw_lsb_bad_return(L, "%s: the reason must be a string, not a %s",
				  hook, luaL_typename(L, -2));
	}
	/* 3: header edits, on_http only */
	if (!lua_isnil(L, -1)) {
		if (c->hook != BW_LUA_ON_HTTP || lua_type(L, -1) != LUA_TTABLE)
			bw_lsb_bad_return(L, "%s returned a third value (only "
					  "on_http may, a table of header edits)",
					  hook);
		if (c->verdict == BW_HOOK_ALLOW)
			lw_read_edits(L, -1, c);
	}
	return 0;
}

static void
lw_call_free(struct lw_call *c)
{
	for (uint32_t i = 0; i < c->nset; i++) {
		free((char *)c->set[i].name);
		free((char *)c->set[i].value);
	}
	for (uint32_t i = 0; i < c->nremove; i++)
		free(c->remove[i]);
	free(c->set);
	free(c->remove);
}

/* Merge one script's edits into the decision's (a later script wins). */
static void
lw_merge_edits(struct lh_dec *d, struct lw_call *c)
{
	for (uint32_t i = 0; i < c->nset; i++) {
		uint32_t j;

		for (j = 0; j < d->nremove; j++)
			if (strcmp(d->remove[j], c->set[i].name) == 0) {
				free(d->remove[j]);
				d->remove[j] = d->remove[--d->nremove];
				break;
			}
		for (j = 0; j < d->nset; j++)
			if (strcmp(d->set[j].name, c->set[i].name) == 0)
				break;
		if (j == d->nset) {
			struct bw_hook_header *n = realloc(d->set, (d->nset + 1) * sizeof(*n));

			if (n == NULL)
				continue;
			d->set = n;
			d->set[d->nset].name = c->set[i].name;
			d->set[d->nset++].value = c->set[i].value;
		} else {
			free((char *)d->set[j].value);
			free((char *)c->set[i].name);
			d->set[j].value = c->set[i].value;
		}
		c->set[i].name = c->set[i].value = NULL;
	}
	c->nset = 0;
	for (uint32_t i = 0; i < c->nremove; i++) {
		uint32_t j;
		char **n;

		for (j = 0; j < d->nset; j++)
			if (strcmp(d->set[j].name, c->remove[i]) == 0) {
				free((char *)d->set[j].name);
				free((char *)d->set[j].value);
				d->set[j] = d->set[--d->nset];
				break;
			}
		for (j = 0; j < d->nremove; j++)
			if (strcmp(d->remove[j], c->remove[i]) == 0)
				break;
		if (j < d->nremove)
			continue;
		n = realloc(d->remove, (d->nremove + 1) * sizeof(*n));
		if (n == NULL)
			continue;
		d->remove = n;
		d->remove[d->nremove++] = c->remove[i];
		c->remove[i] = NULL;
	}
}

static void
lw_set_deny(struct lh_dec *d, const struct lh_script *s, const char *reason,
	    int fallback)
{
	json_t *j;

	d->res.verdict = BW_HOOK_DENY;
	d->res.fallback = fallback;
	snprintf(d->script, sizeof(d->script), "%s", s != NULL ? s->name : "");
	snprintf(d->reason, sizeof(d->reason), "%s", reason != NULL ? reason : "");
	j = json_pack("{s:{s:s, s:s, s:s}}", "lua", "script", d->script,
		      "hook", bw_lua_hook_name(d->hook), "verdict", "deny");
	if (j != NULL) {
		json_t *in = json_object_get(j, "lua");

		if (reason != NULL && *reason != '\0')
			json_object_set_new(in, "reason", json_string(d->reason));
		if (fallback)
			json_object_set_new(in, "fallback", json_true());
		d->ext = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(j);
	}
}

void
bw_luaw_stats(struct lh_script *s, int hook, uint64_t ns, int denied)
{
	pthread_mutex_lock(&lh.mu);
	s->st[hook].calls++;
	s->st[hook].ns += ns;
	if (denied)
		s->st[hook].denials++;
	s->memory = bw_lsb_memory(s->sb);
	pthread_mutex_unlock(&lh.mu);
}

void
bw_luaw_busy(struct lh_script *s, int hook)
{
	__atomic_store_n(&lh.busy_script, s, __ATOMIC_RELAXED);
	__atomic_store_n(&lh.busy_hook, hook, __ATOMIC_RELAXED);
	__atomic_store_n(&lh.busy_since_ns, s != NULL ? bw_lua_now_ns() : 0,
			 __ATOMIC_RELEASE);
}

static void
lw_decide(struct lh_dec *d, const struct lh_limits *lim)
{
	char err[LH_ERR_MAX], msg[LH_ERR_MAX + 64];

	d->res.size = sizeof(d->res);
	d->res.verdict = BW_HOOK_ALLOW;
	if (__atomic_load_n(&d->cancelled, __ATOMIC_ACQUIRE))
		return;
	for (size_t i = 0; i < lh.nwscripts; i++) {
		struct lh_script *s = lh.wscripts[i];
		struct lw_call c;
		uint64_t t0;
		int st, fail;
		unsigned hooks;

		pthread_mutex_lock(&lh.mu);
		st = s->state;
		hooks = s->hooks;
		pthread_mutex_unlock(&lh.mu);
		if (!(hooks & (1u << d->hook)) || s->sb == NULL ||
		    st == LH_ST_DISABLED || st == LH_ST_ERROR)
			continue;
		if (st == LH_ST_FAILED) {
			/* making a script fail must not be a way around it */
			if (lim->default_deny) {
				lw_set_deny(d, s, "the script is disabled after "
					    "too many failures", 1);
				return;
			}
			continue;
		}
		memset(&c, 0, sizeof(c));
		c.d = d;
		c.hook = d->hook;
		bw_lsb_set_limits(s->sb, &lim->lsb);
		bw_luaw_busy(s, d->hook);
		t0 = bw_lua_now_ns();
		fail = bw_lsb_run(s->sb, lw_call_decision, &c, err, sizeof(err));
		bw_luac_done(c.box);
		bw_luaw_busy(NULL, 0);
		bw_luaw_stats(s, d->hook, bw_lua_now_ns() - t0,
			 !fail && c.verdict == BW_HOOK_DENY);
		if (fail) {
			lw_call_free(&c);
			bw_lua_failure(s, d->hook, fail, err);
			if (lim->default_deny) {
				snprintf(msg, sizeof(msg), "script %s: %s",
					 bw_lsb_fail_name(fail), err);
				lw_set_deny(d, s, msg, 1);
				return;
			}
			continue;
		}
		if (c.verdict == BW_HOOK_DENY) {
			lw_call_free(&c);
			lw_set_deny(d, s, c.has_reason ? c.reason : NULL, 0);
			return;
		}
		lw_merge_edits(d, &c);
		lw_call_free(&c);
	}
}

/* ---- the worker: flows --------------------------------------------------------- */

struct lw_fcall {
	const struct bw_flow *f;
	int hook;
	json_t *out;
	void *box;   /* the flow table's handle, emptied after the call */
};

static int
lw_call_flow(lua_State *L)
{
	struct lw_fcall *c = lua_touserdata(L, 1);
	char err[128];
	char *text;
	size_t n;

	bw_lsb_push_hook(L, c->hook);
	c->box = bw_luac_push_flow(L, c->f); /* emptied by the caller after the run */
	lua_call(L, 1, 1);
	if (c->hook != BW_LUA_ON_FLOW || lua_isnil(L, -1))
		return 0; /* on_verdict: whatever it returns is ignored */
	if (lua_type(L, -1) != LUA_TTABLE)
		return bw_lsb_bad_return(L, "on_flow returned a %s (expected "
					 "nil or a table)", luaL_typename(L, -1));
	c->out = bw_luac_to_json(L, -1, LH_EXT_DEPTH, err, sizeof(err));
	if (c->out == NULL)
		return bw_lsb_bad_return(L, "on_flow returned %s", err);
	text = json_dumps(c->out, JSON_COMPACT);
	n = text != NULL ? strlen(text) : 0;
	free(text);
	if (n > LH_EXT_MAX)
		return bw_lsb_bad_return(L, "on_flow returned %zu bytes of JSON "
					 "(at most %d)", n, LH_EXT_MAX);
	return 0;
}

/* Flows that on_verdict sees: verdicts, drops, denied L7 requests. */
static int
lw_is_verdict(const struct bw_flow *f)
{
	return f->event_type == BW_FLOW_EVENT_POLICY_VERDICT ||
	       f->event_type == BW_FLOW_EVENT_DROP ||
	       (f->type == BW_FLOW_TYPE_L7 && f->verdict == BW_FLOW_VERDICT_DROPPED);
}

static void
lw_flow(struct lh_flowjob *job, const struct lh_limits *lim)
{
	int verdict = lw_is_verdict(job->f);
	json_t *lua = NULL;
	char err[LH_ERR_MAX];

	for (size_t i = 0; i < lh.nwscripts; i++) {
		struct lh_script *s = lh.wscripts[i];
		unsigned hooks;
		int st;

		pthread_mutex_lock(&lh.mu);
		st = s->state;
		hooks = s->hooks;
		pthread_mutex_unlock(&lh.mu);
		if (st != LH_ST_ACTIVE || s->sb == NULL)
			continue;
		bw_lsb_set_limits(s->sb, &lim->lsb);
		for (int h = BW_LUA_ON_FLOW; h <= BW_LUA_ON_VERDICT; h++) {
			struct lw_fcall c = { job->f, h, NULL, NULL };
			uint64_t t0;
			int fail;

			if (!(hooks & (1u << h)) || (h == BW_LUA_ON_VERDICT && !verdict))
				continue;
			bw_luaw_busy(s, h);
			t0 = bw_lua_now_ns();
			fail = bw_lsb_run(s->sb, lw_call_flow, &c, err, sizeof(err));
			bw_luaw_busy(NULL, 0);
			bw_luac_done(c.box); /* also when the call failed */
			bw_luaw_stats(s, h, bw_lua_now_ns() - t0, 0);
			if (fail) {
				json_decref(c.out);
				bw_lua_failure(s, h, fail, err);
				break;
			}
			if (c.out != NULL) {
				if (lua == NULL)
					lua = json_object();
				if (lua != NULL)
					json_object_set_new(lua, s->name, c.out);
				else
					json_decref(c.out);
			}
		}
	}
	if (lua != NULL) {
		json_t *ext = json_pack("{s:o}", "lua", lua);

		if (ext != NULL) {
			/* sorted: a Lua table has no order, the output should */
			job->ext = json_dumps(ext, JSON_COMPACT | JSON_SORT_KEYS);
			json_decref(ext);
		}
	}
}

/* ---- the worker: alerts ----------------------------------------------------------- */

struct lw_acall {
	json_t *rec;
};

static int
lw_call_alert(lua_State *L)
{
	struct lw_acall *c = lua_touserdata(L, 1);

	bw_lsb_push_hook(L, BW_LUA_ON_ALERT);
	bw_luac_push_json(L, c->rec);
	lua_call(L, 1, 0); /* whatever it returns is ignored */
	return 0;
}

/* One alert record to every active script with on_alert, in name order. */
static void
lw_alert(struct lh_alert *a, const struct lh_limits *lim)
{
	struct lw_acall c = { json_loads(a->json, 0, NULL) };
	char err[LH_ERR_MAX];

	if (!json_is_object(c.rec)) {
		json_decref(c.rec);
		return;
	}
	for (size_t i = 0; i < lh.nwscripts; i++) {
		struct lh_script *s = lh.wscripts[i];
		uint64_t t0;
		unsigned hooks;
		int st, fail;

		pthread_mutex_lock(&lh.mu);
		st = s->state;
		hooks = s->hooks;
		pthread_mutex_unlock(&lh.mu);
		if (st != LH_ST_ACTIVE || s->sb == NULL || !(hooks & (1u << BW_LUA_ON_ALERT)))
			continue;
		bw_lsb_set_limits(s->sb, &lim->lsb);
		bw_luaw_busy(s, BW_LUA_ON_ALERT);
		t0 = bw_lua_now_ns();
		fail = bw_lsb_run(s->sb, lw_call_alert, &c, err, sizeof(err));
		bw_luaw_busy(NULL, 0);
		bw_luaw_stats(s, BW_LUA_ON_ALERT, bw_lua_now_ns() - t0, 0);
		if (fail)
			bw_lua_failure(s, BW_LUA_ON_ALERT, fail, err);
	}
	json_decref(c.rec);
}

/* ---- the worker: commands --------------------------------------------------------- */

static void
lw_install(struct lh_cmd *c)
{
	struct lh_script *s = c->s;
	struct bw_lsb *old;
	size_t i;

	for (i = 0; i < lh.nwscripts; i++)
		if (lh.wscripts[i] == s)
			break;
	if (i == lh.nwscripts) {
		struct lh_script **n = realloc(lh.wscripts,
						(lh.nwscripts + 1) * sizeof(*n));

		if (n == NULL) {
			bw_lsb_free(c->sb);
			return;
		}
		lh.wscripts = n;
		for (i = 0; i < lh.nwscripts; i++)
			if (strcmp(lh.wscripts[i]->name, s->name) > 0)
				break;
		memmove(&lh.wscripts[i + 1], &lh.wscripts[i],
			(lh.nwscripts - i) * sizeof(*n));
		lh.wscripts[i] = s;
		lh.nwscripts++;
	}
	old = s->sb;
	s->sb = c->sb;
	pthread_mutex_lock(&lh.mu);
	s->hooks = c->hooks;
	s->pending = 0;
	s->memory = bw_lsb_memory(c->sb);
	if (s->state != LH_ST_DISABLED)
		s->state = LH_ST_ACTIVE;
	bw_lua_recompute_active();
	pthread_mutex_unlock(&lh.mu);
	bw_lsb_free(old);
}

/* Returns 1 when the command goes back to the loop (an ack). */
static int
lw_remove(struct lh_cmd *c)
{
	for (size_t i = 0; i < lh.nwscripts; i++) {
		if (lh.wscripts[i] != c->s)
			continue;
		memmove(&lh.wscripts[i], &lh.wscripts[i + 1],
			(lh.nwscripts - i - 1) * sizeof(lh.wscripts[0]));
		lh.nwscripts--;
		break;
	}
	bw_lsb_free(c->s->sb);
	c->s->sb = NULL;
	pthread_mutex_lock(&lh.mu);
	bw_lua_recompute_active();
	pthread_mutex_unlock(&lh.mu);
	return 1;
}

static void *
lw_main(void *arg)
{
	struct lh_flowjob batch[LW_FLOW_BATCH];
	sigset_t all;

	/* signals are the loop's business */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&lh.mu);
	for (;;) {
		struct lh_limits lim = lh.lim;

		if (lh.cmd_head != NULL) {
			struct lh_cmd *c = lh.cmd_head, *next;

			lh.cmd_head = NULL;
			lh.cmd_tail = &lh.cmd_head;
			pthread_mutex_unlock(&lh.mu);
			for (; c != NULL; c = next) {
				int ack = 0;

				next = c->next;
				c->next = NULL;
				if (c->kind == LH_CMD_INSTALL)
					lw_install(c);
				else
					ack = lw_remove(c);
				pthread_mutex_lock(&lh.mu);
				if (ack) {
					*lh.ack_tail = c;
					lh.ack_tail = &c->next;
					lw_wake_loop();
				} else {
					free(c);
				}
				pthread_mutex_unlock(&lh.mu);
			}
			pthread_mutex_lock(&lh.mu);
			continue;
		}
		if (lh.stop)
			break;
		if (lh.dec_head != NULL) {
			struct lh_dec *d = lh.dec_head;

			lh.dec_head = d->next;
			if (lh.dec_head == NULL)
				lh.dec_tail = &lh.dec_head;
			d->next = NULL;
			pthread_mutex_unlock(&lh.mu);
			if (d->hook == BW_LUA_PROTOCOL)
				bw_luaparser_run(d, &lim);
			else
				lw_decide(d, &lim);
			pthread_mutex_lock(&lh.mu);
			if (d->sync && d->abandoned) {
				bw_luaw_dec_free(d); /* the loop gave up on it */
			} else if (d->sync) {
				d->done = 1;
				pthread_cond_broadcast(&lh.sync_cv);
			} else {
				*lh.ans_tail = d;
				lh.ans_tail = &d->next;
				lw_wake_loop();
			}
			continue;
		}
		if (lh.al_head != NULL) {
			struct lh_alert *a = lh.al_head;

			lh.al_head = a->next;
			if (lh.al_head == NULL)
				lh.al_tail = &lh.al_head;
			lh.al_n--;
			pthread_mutex_unlock(&lh.mu);
			lw_alert(a, &lim);
			free(a);
			pthread_mutex_lock(&lh.mu);
			lh.alerts_seen++;
			continue;
		}
		if (lh.fq_n > 0) {
			unsigned n = lh.fq_n < LW_FLOW_BATCH ? lh.fq_n : LW_FLOW_BATCH;

			for (unsigned i = 0; i < n; i++) {
				batch[i] = lh.fq[lh.fq_head];
				lh.fq_head = (lh.fq_head + 1) % lh.fq_cap;
			}
			lh.fq_n -= n;
			pthread_mutex_unlock(&lh.mu);
			for (unsigned i = 0; i < n; i++)
				lw_flow(&batch[i], &lim);
			pthread_mutex_lock(&lh.mu);
			if (lh.fdone_n + n > lh.fdone_cap) {
				unsigned cap = lh.fdone_cap ? lh.fdone_cap * 2 : 256;
				struct lh_flowjob *nf;

				while (cap < lh.fdone_n + n)
					cap *= 2;
				nf = realloc(lh.fdone, cap * sizeof(*nf));
				if (nf != NULL) {
					lh.fdone = nf;
					lh.fdone_cap = cap;
				}
			}
			for (unsigned i = 0; i < n; i++) {
				if (lh.fdone_n < lh.fdone_cap)
					lh.fdone[lh.fdone_n++] = batch[i];
				else
					free(batch[i].ext); /* the flow waits out flow_delay */
			}
			lh.flows_seen += n;
			lw_wake_loop();
			continue;
		}
		lh.idle = 1;
		pthread_cond_wait(&lh.cv, &lh.mu);
		lh.idle = 0;
	}
	pthread_mutex_unlock(&lh.mu);
	return NULL;
}

/* ---- the loop side: queueing ---------------------------------------------------------- */

/* The alert bus's subscriber (loop thread): queue a copy for on_alert. */
void
bw_luaw_alert(const char *json, void *ud)
{
	size_t n = strlen(json);
	struct lh_alert *a;

	if (!(__atomic_load_n(&lh.active, __ATOMIC_ACQUIRE) & (1u << BW_LUA_ON_ALERT)))
		return;
	pthread_mutex_lock(&lh.mu);
	if (lh.al_n >= LH_ALERT_QUEUE || (a = malloc(sizeof(*a) + n + 1)) == NULL) {
		lh.alerts_dropped++;
		pthread_mutex_unlock(&lh.mu);
		return;
	}
	memcpy(a->json, json, n + 1);
	a->next = NULL;
	*lh.al_tail = a;
	lh.al_tail = &a->next;
	lh.al_n++;
	lw_wake_worker();
	pthread_mutex_unlock(&lh.mu);
}

void
bw_luaw_command(struct lh_cmd *c)
{
	c->next = NULL;
	pthread_mutex_lock(&lh.mu);
	*lh.cmd_tail = c;
	lh.cmd_tail = &c->next;
	lw_wake_worker();
	pthread_mutex_unlock(&lh.mu);
}

/* Wake up at the earliest deadline of a decision still unanswered. */
static void
lw_arm_deadline(void)
{
	uint64_t now = bw_lua_now_ns(), first = 0, us;
	struct timeval tv;

	if (lh.deadline_ev == NULL)
		return;
	for (struct lh_dec *d = lh.inflight; d != NULL; d = d->pnext)
		if (!d->answered && !d->cancelled &&
		    (first == 0 || d->deadline_ns < first))
			first = d->deadline_ns;
	if (first == 0) {
		event_del(lh.deadline_ev);
		return;
	}
	us = first > now ? (first - now + 999) / 1000 : 0;
	tv.tv_sec = (time_t)(us / 1000000u);
	tv.tv_usec = (suseconds_t)(us % 1000000u);
	event_add(lh.deadline_ev, &tv);
}

int
bw_luaw_decide(struct lh_dec *d)
{
	d->next = NULL;
	pthread_mutex_lock(&lh.mu);
	d->deadline_ns = bw_lua_now_ns() + lh.lim.decision_timeout_ns;
	lh.decisions++;
	*lh.dec_tail = d;
	lh.dec_tail = &d->next;
	lw_wake_worker();
	pthread_mutex_unlock(&lh.mu);
	/* in flight, oldest first (loop thread only) */
	d->pnext = NULL;
	d->pprev = lh.inflight_tail;
	if (lh.inflight_tail != NULL)
		lh.inflight_tail->pnext = d;
	else
		lh.inflight = d;
	lh.inflight_tail = d;
	lw_arm_deadline();
	return 0;
}

void
bw_luaw_dec_result(struct lh_dec *d)
{
	d->res.size = sizeof(d->res);
	d->res.script = d->res.verdict == BW_HOOK_DENY ? d->script : NULL;
	d->res.hook = bw_lua_hook_name(d->hook);
	d->res.reason = d->reason[0] ? d->reason : NULL;
	d->res.set_headers = d->set;
	d->res.n_set_headers = d->nset;
	d->res.remove_headers = (const char *const *)d->remove;
	d->res.n_remove_headers = d->nremove;
	d->res.extensions_json = d->ext;
}

void
bw_luaw_dec_free(struct lh_dec *d)
{
	for (uint32_t i = 0; i < d->nfields; i++) {
		free((char *)d->fields[i].key);
		free((char *)d->fields[i].value);
	}
	free(d->fields);
	free(d->denied);
	free(d->pdata);
	free(d->prules);
	for (uint32_t i = 0; i < d->nset; i++) {
		free((char *)d->set[i].name);
		free((char *)d->set[i].value);
	}
	for (uint32_t i = 0; i < d->nremove; i++)
		free(d->remove[i]);
	free(d->set);
	free(d->remove);
	free(d->ext);
	free(d->arena);
	free(d);
}

/* Run the host calls the worker is waiting for (lh.mu held, released meanwhile). */
static void
lw_run_rpcs_locked(void)
{
	while (lh.rpc_head != NULL) {
		struct lh_rpc *r = lh.rpc_head;

		lh.rpc_head = NULL;
		lh.rpc_tail = &lh.rpc_head;
		pthread_mutex_unlock(&lh.mu);
		while (r != NULL) {
			struct lh_rpc *next = r->next;

			r->fn(r);
			pthread_mutex_lock(&lh.mu);
			r->done = 1;
			pthread_cond_broadcast(&lh.rpc_cv);
			pthread_mutex_unlock(&lh.mu);
			r = next;
		}
		pthread_mutex_lock(&lh.mu);
	}
}

int
bw_luaw_decide_sync(struct lh_dec *d)
{
	struct timespec ts;
	uint64_t deadline;

	d->next = NULL;
	d->sync = 1;
	pthread_mutex_lock(&lh.mu);
	deadline = bw_lua_now_ns() + lh.lim.decision_timeout_ns;
	lh.decisions++;
	*lh.dec_tail = d;
	lh.dec_tail = &d->next;
	lw_wake_worker();
	ts.tv_sec = (time_t)(deadline / 1000000000u);
	ts.tv_nsec = (long)(deadline % 1000000000u);
	while (!d->done && !lh.stop) {
		lw_run_rpcs_locked();
		if (d->done || bw_lua_now_ns() >= deadline)
			break;
		pthread_cond_timedwait(&lh.sync_cv, &lh.mu, &ts);
	}
	if (!d->done) {
		d->abandoned = 1; /* the worker frees it when it gets there */
		lh.decision_timeouts++;
		pthread_mutex_unlock(&lh.mu);
		return -ETIMEDOUT;
	}
	pthread_mutex_unlock(&lh.mu);
	return 0;
}

int
bw_luaw_flow(const struct bw_flow *f, uint64_t token)
{
	pthread_mutex_lock(&lh.mu);
	if (lh.fq_n == lh.fq_cap) {
		pthread_mutex_unlock(&lh.mu);
		return -ENOSPC;
	}
	lh.fq[(lh.fq_head + lh.fq_n) % lh.fq_cap] =
		(struct lh_flowjob){ .f = f, .token = token };
	lh.fq_n++;
	lw_wake_worker();
	pthread_mutex_unlock(&lh.mu);
	return 0;
}

static void
lw_inflight_unlink(struct lh_dec *d)
{
	if (d->pprev != NULL)
		d->pprev->pnext = d->pnext;
	else if (lh.inflight == d)
		lh.inflight = d->pnext;
	if (d->pnext != NULL)
		d->pnext->pprev = d->pprev;
	else if (lh.inflight_tail == d)
		lh.inflight_tail = d->pprev;
	d->pnext = d->pprev = NULL;
}

void
bw_luaw_cancel(uint64_t ticket)
{
	for (struct lh_dec *d = lh.inflight; d != NULL; d = d->pnext)
		if (d->ticket == ticket) {
			__atomic_store_n(&d->cancelled, 1, __ATOMIC_RELEASE);
			return;
		}
}

void
bw_luaw_action(struct lh_action *a)
{
	a->next = NULL;
	if (bw_lua_on_loop() && !lh.thread_up) {
		/* nowhere to queue it (tests without a worker) */
		free(a->url);
		free(a->body);
		free(a);
		return;
	}
	pthread_mutex_lock(&lh.mu);
	*lh.act_tail = a;
	lh.act_tail = &a->next;
	lw_wake_loop();
	pthread_mutex_unlock(&lh.mu);
}

int
bw_luaw_rpc(struct lh_rpc *r)
{
	r->done = 0;
	r->next = NULL;
	if (bw_lua_on_loop()) {
		r->fn(r);
		r->done = 1;
		return 0;
	}
	pthread_mutex_lock(&lh.mu);
	if (lh.stop) {
		pthread_mutex_unlock(&lh.mu);
		return -ECANCELED;
	}
	*lh.rpc_tail = r;
	lh.rpc_tail = &r->next;
	lw_wake_loop();
	pthread_cond_broadcast(&lh.sync_cv); /* a loop waiting in a decision */
	while (!r->done && !lh.stop)
		pthread_cond_wait(&lh.rpc_cv, &lh.mu);
	pthread_mutex_unlock(&lh.mu);
	return r->done ? 0 : -ECANCELED;
}

/* ---- the loop side: webhooks and emitted flows ------------------------------------------ */

static void
lw_webhook_done(struct evhttp_request *req, void *arg)
{
	char *what = arg;
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;

	pthread_mutex_lock(&lh.mu);
	lh.webhooks_inflight--;
	if (code >= 200 && code < 300)
		lh.webhooks_sent++;
	else
		lh.webhooks_failed++;
	pthread_mutex_unlock(&lh.mu);
	if (code < 200 || code >= 300)
		bw_warn("lua: %s: %s", what, code != 0 ? "the server answered"
		        " with an error status" : "no answer (connection failed or timed out)");
	free(what);
}

static void
lw_webhook_send(struct lh_action *a)
{
	struct evhttp_uri *u = evhttp_uri_parse(a->url);
	struct evhttp_connection *con = NULL;
	struct evhttp_request *req;
	const char *host = u != NULL ? evhttp_uri_get_host(u) : NULL;
	const char *path = u != NULL ? evhttp_uri_get_path(u) : NULL;
	const char *query = u != NULL ? evhttp_uri_get_query(u) : NULL;
	int port = u != NULL ? evhttp_uri_get_port(u) : -1;
	char target[2048], hosthdr[300], *what;

	if (host == NULL || lh.webhooks_inflight >= LW_WEBHOOK_INFLIGHT) {
		pthread_mutex_lock(&lh.mu);
		lh.webhooks_dropped++;
		pthread_mutex_unlock(&lh.mu);
		goto out;
	}
	if (port < 0)
		port = 80;
	snprintf(target, sizeof(target), "%s%s%s", path && *path ? path : "/",
		 query ? "?" : "", query ? query : "");
	snprintf(hosthdr, sizeof(hosthdr), "%s:%d", host, port);
	{
		uint8_t ip[16];
		int literal = inet_pton(AF_INET, host, ip) == 1 ||
			      inet_pton(AF_INET6, host, ip) == 1;

		/* a name is resolved without blocking the loop */
		if (!literal && lh.dns == NULL)
			lh.dns = evdns_base_new(lh.base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
		con = evhttp_connection_base_new(lh.base, literal ? NULL : lh.dns,
						 host, (unsigned short)port);
	}
	if (asprintf(&what, "lua/%s: webhook %s", a->script, a->url) < 0)
		what = NULL;
	req = con != NULL && what != NULL ? evhttp_request_new(lw_webhook_done, what) : NULL;
	if (req == NULL) {
		free(what);
		if (con != NULL)
			evhttp_connection_free(con);
		pthread_mutex_lock(&lh.mu);
		lh.webhooks_failed++;
		pthread_mutex_unlock(&lh.mu);
		goto out;
	}
	evhttp_connection_set_timeout(con, LW_WEBHOOK_TIMEOUT);
	evhttp_connection_free_on_completion(con);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", hosthdr);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	evhttp_add_header(evhttp_request_get_output_headers(req), "User-Agent",
			  "bulwarkd-lua");
	evbuffer_add(evhttp_request_get_output_buffer(req), a->body, strlen(a->body));
	if (evhttp_make_request(con, req, EVHTTP_REQ_POST, target) < 0) {
		/* libevent freed the request */
		pthread_mutex_lock(&lh.mu);
		lh.webhooks_failed++;
		pthread_mutex_unlock(&lh.mu);
		goto out;
	}
	pthread_mutex_lock(&lh.mu);
	lh.webhooks_inflight++;
	pthread_mutex_unlock(&lh.mu);
out:
	if (u != NULL)
		evhttp_uri_free(u);
}

/* Implemented with the host table (luaapi.c): build and publish a flow;
 * apply a quarantine a script asked for. */
void bw_luaapi_emit(const char *script, const char *json);
void bw_luaapi_quarantine(const struct lh_action *a);

/* ---- the loop side: the eventfd --------------------------------------------------------- */

static void
lw_loop_ready(evutil_socket_t fd, short what, void *arg)
{
	struct lh_cmd *acks;
	struct lh_dec *ans;
	struct lh_rpc *rpc;
	struct lh_action *act;
	struct lh_flowjob *fdone;
	unsigned nfdone;
	uint64_t v;

	if (read(lh.efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: someone else drained it */
	}
	pthread_mutex_lock(&lh.mu);
	lh.efd_armed = 0;
	acks = lh.ack_head;
	lh.ack_head = NULL;
	lh.ack_tail = &lh.ack_head;
	ans = lh.ans_head;
	lh.ans_head = NULL;
	lh.ans_tail = &lh.ans_head;
	rpc = lh.rpc_head;
	lh.rpc_head = NULL;
	lh.rpc_tail = &lh.rpc_head;
	act = lh.act_head;
	lh.act_head = NULL;
	lh.act_tail = &lh.act_head;
	fdone = lh.fdone;
	nfdone = lh.fdone_n;
	lh.fdone = NULL;
	lh.fdone_n = lh.fdone_cap = 0;
	pthread_mutex_unlock(&lh.mu);

	while (rpc != NULL) {
		struct lh_rpc *next = rpc->next;

		rpc->fn(rpc);
		pthread_mutex_lock(&lh.mu);
		rpc->done = 1; /* the worker may free it from here on */
		pthread_cond_broadcast(&lh.rpc_cv);
		pthread_mutex_unlock(&lh.mu);
		rpc = next;
	}
	while (ans != NULL) {
		struct lh_dec *next = ans->next;

		lw_inflight_unlink(ans);
		if (!ans->answered && !ans->cancelled) {
			bw_luaw_dec_result(ans);
			bw_hooks_answer(ans->ticket, &ans->res);
		}
		bw_luaw_dec_free(ans);
		ans = next;
	}
	for (unsigned i = 0; i < nfdone; i++) {
		bw_flow_stage_done(fdone[i].token, fdone[i].ext);
		free(fdone[i].ext);
	}
	free(fdone);
	while (act != NULL) {
		struct lh_action *next = act->next;

		if (act->kind == LH_ACT_WEBHOOK)
			lw_webhook_send(act);
		else if (act->kind == LH_ACT_EMIT)
			bw_luaapi_emit(act->script, act->body);
		else
			bw_luaapi_quarantine(act);
		free(act->url);
		free(act->body);
		free(act->peer);
		free(act);
		act = next;
	}
	while (acks != NULL) {
		struct lh_cmd *next = acks->next;
		struct lh_script *s = acks->s;

		pthread_mutex_lock(&lh.mu);
		for (size_t i = 0; i < s->nfam; i++) {
			for (size_t j = 0; j < s->fam[i].n; j++)
				free(s->fam[i].v[j].labels);
			free(s->fam[i].v);
		}
		pthread_mutex_unlock(&lh.mu);
		free(s->fam);
		free(s->fail_ns);
		free(s->path);
		free(s);
		free(acks);
		acks = next;
	}
}

/* ---- the loop side: the timer ------------------------------------------------------- */

/* Answer the decisions past their deadline with the default verdict. */
static void
lw_deadlines(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = bw_lua_now_ns();
	struct lh_dec *d, *next;

	for (d = lh.inflight; d != NULL; d = next) {
		struct bw_hook_result res;
		char reason[128];
		int deny;

		next = d->pnext;
		if (d->answered || d->cancelled || now < d->deadline_ns)
			continue;
		pthread_mutex_lock(&lh.mu);
		deny = lh.lim.default_deny;
		lh.decision_timeouts++;
		pthread_mutex_unlock(&lh.mu);
		d->answered = 1;
		memset(&res, 0, sizeof(res));
		res.size = sizeof(res);
		res.verdict = deny ? BW_HOOK_DENY : BW_HOOK_ALLOW;
		res.hook = bw_lua_hook_name(d->hook);
		snprintf(reason, sizeof(reason), "no answer from the scripts "
			 "within decision_timeout");
		res.reason = reason;
		res.fallback = 1;
		res.extensions_json = deny ?
			"{\"lua\":{\"verdict\":\"deny\",\"fallback\":true,"
			"\"reason\":\"no answer from the scripts within decision_timeout\"}}"
			: NULL;
		bw_hooks_answer(d->ticket, &res);
	}
	lw_arm_deadline();
}

void
bw_luaw_tick(void)
{
	uint64_t now = bw_lua_now_ns(), since, limit;

	since = __atomic_load_n(&lh.busy_since_ns, __ATOMIC_ACQUIRE);
	pthread_mutex_lock(&lh.mu);
	limit = lh.lim.lsb.time_ns * 10;
	pthread_mutex_unlock(&lh.mu);
	if (limit < 1000000000u)
		limit = 1000000000u;
	if (since == 0) {
		lh.stuck_logged = 0;
	} else if (now > since + limit && !lh.stuck_logged) {
		struct lh_script *s = __atomic_load_n(&lh.busy_script, __ATOMIC_ACQUIRE);

		lh.stuck_logged = 1;
		bw_err("lua/%s: %s has been running for %llu ms, far past its "
		       "budget: it is inside a library call the budgets cannot "
		       "interrupt (a pathological string pattern?); decisions "
		       "answer the default and flows skip the scripts until it "
		       "returns", s != NULL ? s->name : "?",
		       bw_lua_hook_name(__atomic_load_n(&lh.busy_hook, __ATOMIC_RELAXED)),
		       (unsigned long long)((now - since) / 1000000u));
	}
}

/* ---- start and stop ----------------------------------------------------------------- */

int
bw_luaw_start(void)
{
	int rc;

	lh.ack_tail = &lh.ack_head;
	lh.ans_tail = &lh.ans_head;
	lh.rpc_tail = &lh.rpc_head;
	lh.act_tail = &lh.act_head;
	lh.cmd_tail = &lh.cmd_head;
	lh.dec_tail = &lh.dec_head;
	lh.al_tail = &lh.al_head;
	lh.efd_ev = event_new(lh.base, lh.efd, EV_READ | EV_PERSIST,
			      lw_loop_ready, NULL);
	lh.deadline_ev = evtimer_new(lh.base, lw_deadlines, NULL);
	if (lh.efd_ev == NULL || lh.deadline_ev == NULL ||
	    event_add(lh.efd_ev, NULL) < 0)
		return -ENOMEM;
	rc = pthread_create(&lh.thread, NULL, lw_main, NULL);
	if (rc != 0)
		return -rc;
	pthread_setname_np(lh.thread, "bw-lua");
	lh.thread_up = 1;
	return 0;
}

void
bw_luaw_stop(void)
{
	struct timespec ts;

	if (lh.thread_up) {
		pthread_mutex_lock(&lh.mu);
		lh.stop = 1;
		/* a worker waiting in a host call gives up; nobody runs it now */
		lh.rpc_head = NULL;
		lh.rpc_tail = &lh.rpc_head;
		pthread_cond_broadcast(&lh.cv);
		pthread_cond_broadcast(&lh.rpc_cv);
		pthread_cond_broadcast(&lh.sync_cv);
		pthread_mutex_unlock(&lh.mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 5;
		if (pthread_timedjoin_np(lh.thread, NULL, &ts) != 0) {
			/* stuck in a library call: leave it, the process ends */
			bw_err("lua: the bw-lua thread does not stop (a script is "
			       "stuck in a library call); leaving it");
			lh.thread_up = -1;
			return;
		}
		lh.thread_up = 0;
	}
	/* what the worker left for the loop: answer, store, free */
	if (lh.efd_ev != NULL) {
		lw_loop_ready(lh.efd, 0, NULL);
		event_free(lh.efd_ev);
		lh.efd_ev = NULL;
	}
	if (lh.deadline_ev != NULL) {
		event_free(lh.deadline_ev);
		lh.deadline_ev = NULL;
	}
	if (lh.dns != NULL) {
		evdns_base_free(lh.dns, 1);
		lh.dns = NULL;
	}
}
