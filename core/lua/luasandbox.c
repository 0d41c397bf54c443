/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/lua/luasandbox.c - one sandboxed Lua 5.4 state per script.
 *
 * Modelled on Suricata's Lua sandbox: a counting allocator that refuses
 * to grow a state past its cap, a count hook (every LSB_STEP VM
 * instructions) that enforces an instruction budget and a wall-clock
 * deadline reset before every run, and only the safe parts of the safe
 * libraries. Unlike a plain count hook, an exhausted budget stays
 * exhausted: the hook then fires on every instruction and raises the
 * error again, so a script cannot pcall() its way past it; the error
 * climbs to our own lua_pcall.
 *
 * What is taken out or wrapped, and why:
 *  - io, os (but os.time, os.clock), package, debug, coroutine: never
 *    opened. require() is ours and returns only the host table.
 *  - dofile, loadfile: file access. string.dump: bytecode out.
 *  - load: forced to mode "t"; the loader of the script file too
 *    (luaL_loadbufferx with "t"): binary chunks can crash the VM.
 *  - setmetatable: a metatable with __gc is refused. Finalizers run inside
 *    the garbage collector with hooks off (Lua 5.4 clears allowhook for
 *    them), so a looping __gc would run outside every budget.
 *  - collectgarbage: only "count", "step", "collect" and "isrunning";
 *    stopping the collector or retuning it is not a script's business.
 *  - xpcall: the message handler runs after the protected call returns
 *    (see lsb_xpcall); otherwise it could run with hooks off.
 *  - warn: gone (it writes to stderr); print goes to the daemon's log
 *    through the host table's log().
 *
 * Every host-side Lua API call that can raise an error (allocation
 * included) runs inside lua_pcall: the table building for a hook call is
 * done by the C function given to bw_lsb_run(), itself run protected.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

#include "core/lua/luasandbox.h"

#define LSB_STEP 1000          /* VM instructions between two hook calls */
#define LSB_HOST_KEY "bulwark.host"
#define LSB_ERRMAX 256

struct bw_lsb {
	lua_State *L;
	char name[64];
	struct bw_lsb_limits lim;
	void *user;

	/* the allocator */
	size_t mem_used, mem_peak;
	int mem_refused;      /* allocations refused during the current run */

	/* the current run */
	int running;
	uint64_t instr_used;
	uint64_t start_ns, deadline_ns;
	int tripped;          /* BW_LSB_FAIL_INSTRUCTIONS / _TIME once exhausted */
	int bad_return;
	char trip_msg[96];

	int hook_ref[BW_LUA_NHOOKS]; /* LUA_NOREF when not defined */
	int proto_ref;               /* the protocol table, LUA_NOREF: none */
	int proto_response;          /* it has a response() framer */
	char proto_name[64];
};

static const char *const lsb_fail_names[BW_LSB_NFAIL] = {
	"ok", "error", "instructions", "time", "memory", "return",
};

static const char *const lsb_hook_names[BW_LUA_NHOOKS] = {
	"on_flow", "on_verdict", "on_dns", "on_http", "on_kafka", "on_alert",
};

const char *
bw_lsb_fail_name(int fail)
{
	return fail >= 0 && fail < BW_LSB_NFAIL ? lsb_fail_names[fail] : "error";
}

const char *
bw_lua_hook_name(int hook)
{
	if (hook == BW_LUA_PROTOCOL)
		return "protocol";
	return hook >= 0 && hook < BW_LUA_NHOOKS ? lsb_hook_names[hook] : "?";
}

static uint64_t
lsb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- allocator ------------------------------------------------------------ */

static void *
lsb_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct bw_lsb *sb = ud;
	size_t old = ptr != NULL ? osize : 0; /* osize is a type tag when ptr is NULL */
	void *p;

	if (nsize == 0) {
		if (ptr != NULL) {
			sb->mem_used -= old;
			free(ptr);
		}
		return NULL;
	}
	if (nsize > old && sb->mem_used - old + nsize > sb->lim.memory) {
		/* Lua collects and asks again once before it raises the error */
		sb->mem_refused++;
		return NULL;
	}
	p = realloc(ptr, nsize);
	if (p == NULL)
		return nsize <= old ? ptr : NULL; /* Lua assumes shrinking works */
	sb->mem_used = sb->mem_used - old + nsize;
	if (sb->mem_used > sb->mem_peak)
		sb->mem_peak = sb->mem_used;
	return p;
}

struct bw_lsb *
bw_lsb_of(lua_State *L)
{
	void *ud = NULL;

	lua_getallocf(L, &ud);
	return ud;
}

/* ---- the count hook ------------------------------------------------------- */

static void
lsb_hook(lua_State *L, lua_Debug *ar)
{
	struct bw_lsb *sb = bw_lsb_of(L);

	if (!sb->tripped) {
		sb->instr_used += LSB_STEP;
		if (sb->instr_used > sb->lim.instructions) {
			sb->tripped = BW_LSB_FAIL_INSTRUCTIONS;
			snprintf(sb->trip_msg, sizeof(sb->trip_msg),
				 "instruction budget exhausted (%llu instructions)",
				 (unsigned long long)sb->lim.instructions);
		} else if (lsb_now() > sb->deadline_ns) {
			sb->tripped = BW_LSB_FAIL_TIME;
			snprintf(sb->trip_msg, sizeof(sb->trip_msg),
				 "time budget exhausted (%llu ms)",
				 (unsigned long long)(sb->lim.time_ns / 1000000u));
		} else {
			return;
		}
	}
	/* from now on every instruction raises it again */
	lua_sethook(L, lsb_hook, LUA_MASKCOUNT, 1);
	/* say where the script was ("x.lua:12: ...") */
	if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0)
		luaL_error(L, "%s:%d: %s", ar->short_src, ar->currentline,
			   sb->trip_msg);
	luaL_error(L, "%s", sb->trip_msg);
}

/* ---- wrapped library functions ---------------------------------------------- */

/* load(chunk [, chunkname [, mode [, env]]]): mode is always "t". */
static int
lsb_load(lua_State *L)
{
	int n = lua_gettop(L);

	lua_pushvalue(L, lua_upvalueindex(1));
	lua_pushvalue(L, 1);
	if (n >= 2)
		lua_pushvalue(L, 2);
	else
		lua_pushnil(L);
	lua_pushliteral(L, "t");
	if (n >= 4) /* an explicit nil env means "no environment" */
		lua_pushvalue(L, 4);
	lua_call(L, n >= 4 ? 4 : 3, LUA_MULTRET);
	return lua_gettop(L) - n;
}

/*
 * xpcall(f, msgh, ...): Lua calls a message handler from where the error
 * was raised, and an error our count hook raises is raised with hooks
 * off (Lua clears allowhook while a hook runs): a looping handler would
 * then run forever. So the handler is called here instead, after the
 * protected call has returned and hooks are on again. Scripts lose
 * nothing they could use: without the debug library a handler cannot
 * look at the stack it would otherwise have run on.
 */
static int
lsb_xpcall(lua_State *L)
{
	int n = lua_gettop(L), status;

	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_pushvalue(L, 1);
	for (int i = 3; i <= n; i++)
		lua_pushvalue(L, i);
	status = lua_pcall(L, n - 2, LUA_MULTRET, 0);
	if (status == LUA_OK) {
		lua_pushboolean(L, 1);
		lua_insert(L, n + 1);
		return lua_gettop(L) - n;
	}
	lua_pushvalue(L, 2);
	lua_insert(L, -2);
	lua_call(L, 1, 1);
	lua_pushboolean(L, 0);
	lua_insert(L, -2);
	return 2;
}

static int
lsb_setmetatable(lua_State *L)
{
	lua_settop(L, 2);
	if (lua_type(L, 2) == LUA_TTABLE) {
		lua_pushliteral(L, "__gc");
		if (lua_rawget(L, 2) != LUA_TNIL)
			return luaL_error(L, "setmetatable: __gc metamethods are "
					     "not allowed in the sandbox");
		lua_pop(L, 1);
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_pushvalue(L, 1);
	lua_pushvalue(L, 2);
	lua_call(L, 2, 1);
	return 1;
}

static int
lsb_collectgarbage(lua_State *L)
{
	static const char *const ok[] = { "collect", "count", "step", "isrunning",
					   NULL };
	const char *opt = luaL_optstring(L, 1, "collect");
	int n = lua_gettop(L);

	for (int i = 0; ok[i] != NULL; i++) {
		if (strcmp(opt, ok[i]) == 0) {
			lua_pushvalue(L, lua_upvalueindex(1));
			lua_insert(L, 1);
			if (n == 0) {
				lua_pushstring(L, opt);
				n = 1;
			}
			lua_call(L, n, LUA_MULTRET);
			return lua_gettop(L);
		}
	}
	return luaL_error(L, "collectgarbage: option '%s' is not available in "
			     "the sandbox", opt);
}

static int
lsb_require(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);

	if (strcmp(name, "bulwark") != 0)
		return luaL_error(L, "module '%s' not available in the sandbox "
				     "(only \"bulwark\")", name);
	lua_getfield(L, LUA_REGISTRYINDEX, LSB_HOST_KEY);
	return 1;
}

/* print(...): the arguments, tab-separated, to the host table's log(). */
static int
lsb_print(lua_State *L)
{
	int n = lua_gettop(L);
	luaL_Buffer b;

	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	lua_getfield(L, LUA_REGISTRYINDEX, LSB_HOST_KEY);
	if (lua_getfield(L, -1, "log") != LUA_TFUNCTION)
		return 0;
	lua_pushvalue(L, -3);
	lua_call(L, 1, 0);
	return 0;
}

/* ---- creation ------------------------------------------------------------------ */

struct lsb_setup {
	int (*open_host)(lua_State *L, void *arg);
	void *arg;
};

static int
lsb_setup(lua_State *L)
{
	const struct lsb_setup *st = lua_touserdata(L, 1);
	static const luaL_Reg libs[] = {
		{ LUA_GNAME, luaopen_base },
		{ LUA_TABLIBNAME, luaopen_table },
		{ LUA_STRLIBNAME, luaopen_string },
		{ LUA_MATHLIBNAME, luaopen_math },
		{ LUA_UTF8LIBNAME, luaopen_utf8 },
	};
	static const char *const drop[] = { "dofile", "loadfile", "warn", NULL };
	static const struct {
		const char *name;
		lua_CFunction fn;
	} wrap[] = {
		{ "load", lsb_load },
		{ "setmetatable", lsb_setmetatable },
		{ "collectgarbage", lsb_collectgarbage },
	};

	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		luaL_requiref(L, libs[i].name, libs[i].func, 1);
		lua_pop(L, 1);
	}
	for (int i = 0; drop[i] != NULL; i++) {
		lua_pushnil(L);
		lua_setglobal(L, drop[i]);
	}
	for (size_t i = 0; i < sizeof(wrap) / sizeof(wrap[0]); i++) {
		lua_getglobal(L, wrap[i].name);
		lua_pushcclosure(L, wrap[i].fn, 1);
		lua_setglobal(L, wrap[i].name);
	}
	lua_register(L, "xpcall", lsb_xpcall);
	lua_getglobal(L, LUA_STRLIBNAME);
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_pop(L, 1);

	/* os: time and clock only */
	luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
	lua_createtable(L, 0, 2);
	lua_getfield(L, -2, "time");
	lua_setfield(L, -2, "time");
	lua_getfield(L, -2, "clock");
	lua_setfield(L, -2, "clock");
	lua_setglobal(L, LUA_OSLIBNAME);
	lua_pop(L, 1);

	/* the host table, require("bulwark") and print() */
	if (st->open_host != NULL)
		st->open_host(L, st->arg);
	else
		lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, LSB_HOST_KEY);
	lua_register(L, "require", lsb_require);
	lua_register(L, "print", lsb_print);
	return 0;
}

static int
lsb_panic(lua_State *L)
{
	/* every API call that can raise runs protected: this is a bug */
	fprintf(stderr, "bulwarkd: unprotected Lua error: %s\n",
		lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?");
	abort();
	return 0;
}

/* The error object as text, without running any script code. */
static void
lsb_errtext(lua_State *L, int idx, char *err, size_t errlen)
{
	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
	case LUA_TNUMBER:
		snprintf(err, errlen, "%s", lua_tostring(L, idx));
		break;
	case LUA_TNONE:
		snprintf(err, errlen, "unknown error");
		break;
	default:
		snprintf(err, errlen, "error object is a %s value",
			 luaL_typename(L, idx));
		break;
	}
}

struct bw_lsb *
bw_lsb_new(const char *name, const struct bw_lsb_limits *lim,
	   int (*open_host)(lua_State *L, void *arg), void *arg, char *err,
	   size_t errlen)
{
	struct lsb_setup st = { open_host, arg };
	struct bw_lsb *sb = calloc(1, sizeof(*sb));
	int rc;

	if (sb == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(sb->name, sizeof(sb->name), "%s", name);
	sb->lim = *lim;
	for (int i = 0; i < BW_LUA_NHOOKS; i++)
		sb->hook_ref[i] = LUA_NOREF;
	sb->proto_ref = LUA_NOREF;
	sb->L = lua_newstate(lsb_alloc, sb);
	if (sb->L == NULL) {
		snprintf(err, errlen, "cannot create a Lua state within "
			 "memory_limit (%llu bytes)",
			 (unsigned long long)lim->memory);
		free(sb);
		return NULL;
	}
	lua_atpanic(sb->L, lsb_panic);
	/*
	 * Generational collection: each hook call makes short-lived garbage
	 * (the flow or request table) while the script's own state lives
	 * long; minor collections free the former without walking the latter
	 * every few calls (measured: tests/bench/bench_lua.c).
	 */
	lua_gc(sb->L, LUA_GCGEN, 0, 0);
	lua_pushcfunction(sb->L, lsb_setup);
	lua_pushlightuserdata(sb->L, &st);
	rc = lua_pcall(sb->L, 1, 0, 0);
	if (rc != LUA_OK) {
		if (rc == LUA_ERRMEM)
			snprintf(err, errlen, "cannot set up a Lua state within "
				 "memory_limit (%llu bytes)",
				 (unsigned long long)lim->memory);
		else
			lsb_errtext(sb->L, -1, err, errlen);
		bw_lsb_free(sb);
		return NULL;
	}
	return sb;
}

void
bw_lsb_free(struct bw_lsb *sb)
{
	if (sb == NULL)
		return;
	if (sb->L != NULL)
		lua_close(sb->L); /* no __gc can exist: nothing of the script runs */
	free(sb);
}

void
bw_lsb_set_limits(struct bw_lsb *sb, const struct bw_lsb_limits *lim)
{
	sb->lim = *lim;
}

const char *
bw_lsb_name(const struct bw_lsb *sb)
{
	return sb->name;
}

void
bw_lsb_set_user(struct bw_lsb *sb, void *user)
{
	sb->user = user;
}

void *
bw_lsb_user(const struct bw_lsb *sb)
{
	return sb->user;
}

size_t
bw_lsb_memory(const struct bw_lsb *sb)
{
	return sb->mem_used;
}

size_t
bw_lsb_memory_peak(const struct bw_lsb *sb)
{
	return sb->mem_peak;
}

int
bw_lsb_running(const struct bw_lsb *sb)
{
	return sb->running;
}

void
bw_lsb_pause_clock(struct bw_lsb *sb, uint64_t ns)
{
	sb->deadline_ns += ns;
	sb->start_ns += ns;
}

/* ---- runs ---------------------------------------------------------------------- */

int
bw_lsb_bad_return(lua_State *L, const char *fmt, ...)
{
	struct bw_lsb *sb = bw_lsb_of(L);
	char msg[LSB_ERRMAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sb->bad_return = 1;
	lua_pushstring(L, msg);
	return lua_error(L);
}

void
bw_lsb_push_hook(lua_State *L, int hook)
{
	struct bw_lsb *sb = bw_lsb_of(L);

	lua_rawgeti(L, LUA_REGISTRYINDEX, sb->hook_ref[hook]);
}

/* Run fn(arg, extra...) protected, with the nextra values on top of the
 * stack passed after arg. */
static int
lsb_run_n(struct bw_lsb *sb, lua_CFunction fn, void *arg, int nextra,
	  char *err, size_t errlen)
{
	lua_State *L = sb->L;
	uint64_t end;
	int rc, fail = BW_LSB_OK;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	sb->running = 1;
	sb->instr_used = 0;
	sb->tripped = 0;
	sb->bad_return = 0;
	sb->mem_refused = 0;
	sb->start_ns = lsb_now();
	sb->deadline_ns = sb->start_ns + sb->lim.time_ns;
	lua_sethook(L, lsb_hook, LUA_MASKCOUNT, LSB_STEP);
	lua_pushcfunction(L, fn);
	lua_pushlightuserdata(L, arg);
	lua_rotate(L, -(nextra + 2), 2);
	rc = lua_pcall(L, 1 + nextra, 0, 0);
	end = lsb_now();
	lua_sethook(L, NULL, 0, 0);
	if (rc != LUA_OK) {
		if (sb->tripped)
			fail = sb->tripped;
		else if (rc == LUA_ERRMEM || sb->mem_refused)
			fail = BW_LSB_FAIL_MEMORY;
		else if (sb->bad_return)
			fail = BW_LSB_FAIL_RETURN;
		else
			fail = BW_LSB_FAIL_ERROR;
		if (err != NULL) {
			if (fail == BW_LSB_FAIL_MEMORY)
				snprintf(err, errlen, "memory limit exceeded "
					 "(%llu bytes): %s",
					 (unsigned long long)sb->lim.memory,
					 lua_type(L, -1) == LUA_TSTRING
						 ? lua_tostring(L, -1)
						 : "not enough memory");
			else
				lsb_errtext(L, -1, err, errlen);
		}
	} else if (end - sb->start_ns > sb->lim.time_ns) {
		/* finished, but late: a library call the hook cannot see */
		fail = BW_LSB_FAIL_TIME;
		if (err != NULL)
			snprintf(err, errlen, "time budget exhausted (%llu ms; "
				 "the call took %llu ms)",
				 (unsigned long long)(sb->lim.time_ns / 1000000u),
				 (unsigned long long)((end - sb->start_ns) / 1000000u));
	}
	lua_settop(L, 0);
	sb->running = 0;
	return fail;
}

int
bw_lsb_run(struct bw_lsb *sb, lua_CFunction fn, void *arg, char *err,
	   size_t errlen)
{
	lua_settop(sb->L, 0);
	return lsb_run_n(sb, fn, arg, 0, err, errlen);
}

/* ---- loading ------------------------------------------------------------------- */

struct lsb_loadrun {
	unsigned hooks;
};

/* Protected: run the chunk, then check the globals it left. */
static int
lsb_load_run(lua_State *L)
{
	struct lsb_loadrun *lr = lua_touserdata(L, 1);
	struct bw_lsb *sb = bw_lsb_of(L);

	lua_pushvalue(L, 2); /* the compiled chunk */
	lua_call(L, 0, 0);

	lua_pushglobaltable(L);
	lua_pushnil(L);
	while (lua_next(L, -2) != 0) {
		const char *k;
		int h;

		if (lua_type(L, -2) != LUA_TSTRING) {
			lua_pop(L, 1);
			continue;
		}
		k = lua_tostring(L, -2);
		if (strncmp(k, "on_", 3) != 0) {
			lua_pop(L, 1);
			continue;
		}
		for (h = 0; h < BW_LUA_NHOOKS; h++)
			if (strcmp(k, lsb_hook_names[h]) == 0)
				break;
		if (h == BW_LUA_NHOOKS)
			return luaL_error(L, "'%s' is not a hook (the hooks are "
					     "on_flow, on_verdict, on_dns, on_http, "
					     "on_kafka, on_alert)", k);
		if (lua_type(L, -1) != LUA_TFUNCTION)
			return luaL_error(L, "hook '%s' must be a function, not "
					     "a %s", k, luaL_typename(L, -1));
		lua_pushvalue(L, -1);
		sb->hook_ref[h] = luaL_ref(L, LUA_REGISTRYINDEX);
		lr->hooks |= 1u << h;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);

	/* protocol = {name = ..., frame = f, request = f [, denied = f]} */
	switch (lua_getglobal(L, "protocol")) {
	case LUA_TNIL:
		return 0;
	case LUA_TTABLE:
		break;
	default:
		return luaL_error(L, "'protocol' must be a table, not a %s",
				  luaL_typename(L, -1));
	}
	{
		size_t n;
		const char *name;

		if (lua_getfield(L, -1, "name") != LUA_TSTRING)
			return luaL_error(L, "protocol.name must be a string (the "
					     "l7proto name policies use)");
		name = lua_tolstring(L, -1, &n);
		if (n == 0 || n >= sizeof(sb->proto_name) ||
		    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") != n)
			return luaL_error(L, "protocol.name '%s' is not a protocol "
					     "name (1 to 63 of [a-z0-9._-])", name);
		if (!strcmp(name, "http") || !strcmp(name, "kafka") || !strcmp(name, "dns"))
			return luaL_error(L, "protocol.name '%s' is built in", name);
		snprintf(sb->proto_name, sizeof(sb->proto_name), "%s", name);
		lua_pop(L, 1);
	}
	if (lua_getfield(L, -1, "frame") != LUA_TFUNCTION)
		return luaL_error(L, "protocol.frame must be a function (data) -> "
				     "length of the next request, or nil");
	lua_pop(L, 1);
	if (lua_getfield(L, -1, "request") != LUA_TFUNCTION)
		return luaL_error(L, "protocol.request must be a function (frame, "
				     "rules, conn) -> \"allow\" | \"deny\", fields");
	lua_pop(L, 1);
	{
		int t = lua_getfield(L, -1, "response");

		if (t != LUA_TNIL && t != LUA_TFUNCTION)
			return luaL_error(L, "protocol.response must be a function (data) "
					     "-> length of the next response, or nil");
		sb->proto_response = t == LUA_TFUNCTION;
		lua_pop(L, 1);
	}
	{
		int t = lua_getfield(L, -1, "denied");

		if (t != LUA_TNIL && t != LUA_TFUNCTION && t != LUA_TSTRING)
			return luaL_error(L, "protocol.denied must be a string or "
					     "a function (frame) -> string");
		lua_pop(L, 1);
	}
	sb->proto_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lr->hooks |= 1u << BW_LUA_PROTOCOL;
	return 0;
}

const char *
bw_lsb_protocol(const struct bw_lsb *sb)
{
	return sb->proto_ref != LUA_NOREF ? sb->proto_name : NULL;
}

int
bw_lsb_protocol_response(const struct bw_lsb *sb)
{
	return sb->proto_ref != LUA_NOREF && sb->proto_response;
}

void
bw_lsb_push_protocol(lua_State *L)
{
	struct bw_lsb *sb = bw_lsb_of(L);

	lua_rawgeti(L, LUA_REGISTRYINDEX, sb->proto_ref);
}

int
bw_lsb_load(struct bw_lsb *sb, const char *text, size_t len,
	    const char *chunkname, unsigned *hooks, char *err, size_t errlen)
{
	struct lsb_loadrun lr = { 0 };
	lua_State *L = sb->L;
	int rc;

	*hooks = 0;
	lua_settop(L, 0);
	rc = luaL_loadbufferx(L, text, len, chunkname, "t");
	if (rc != LUA_OK) {
		if (rc == LUA_ERRMEM)
			snprintf(err, errlen, "memory limit exceeded while "
				 "compiling (%llu bytes)",
				 (unsigned long long)sb->lim.memory);
		else
			lsb_errtext(L, -1, err, errlen);
		lua_settop(L, 0);
		return rc == LUA_ERRMEM ? BW_LSB_FAIL_MEMORY : BW_LSB_FAIL_ERROR;
	}
	rc = lsb_run_n(sb, lsb_load_run, &lr, 1, err, errlen);
	if (rc != BW_LSB_OK) {
		for (int i = 0; i < BW_LUA_NHOOKS; i++) {
			luaL_unref(L, LUA_REGISTRYINDEX, sb->hook_ref[i]);
			sb->hook_ref[i] = LUA_NOREF;
		}
		luaL_unref(L, LUA_REGISTRYINDEX, sb->proto_ref);
		sb->proto_ref = LUA_NOREF;
		sb->proto_response = 0;
		return rc;
	}
	*hooks = lr.hooks;
	return BW_LSB_OK;
}
