/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/lua/luasandbox.h - one sandboxed Lua 5.4 state per script.
 *
 * A sandbox is a lua_State with a counting allocator (memory cap), the
 * safe parts of base, table, string, math and utf8, os.time and os.clock,
 * and a require() that knows only "bulwark" (the host table, built by a
 * callback the host passes in). Every run of Lua code goes through
 * bw_lsb_run(), which arms a count hook with a fresh instruction budget
 * and a wall-clock deadline and runs a C function in protected mode, so
 * that no Lua error, budget overrun or allocation failure can escape into
 * the daemon.
 *
 * A sandbox is used by one thread at a time (it may be created on one and
 * handed to another).
 */
#ifndef BW_CORE_LUASANDBOX_H
#define BW_CORE_LUASANDBOX_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

/* Why a run failed (0: it did not). */
enum bw_lsb_fail {
	BW_LSB_OK = 0,
	BW_LSB_FAIL_ERROR,        /* a runtime error (or a syntax error at load) */
	BW_LSB_FAIL_INSTRUCTIONS, /* the instruction budget ran out */
	BW_LSB_FAIL_TIME,         /* the wall-clock budget ran out */
	BW_LSB_FAIL_MEMORY,       /* an allocation beyond the memory cap */
	BW_LSB_FAIL_RETURN,       /* a hook returned what the contract forbids */
	BW_LSB_NFAIL
};

/* "error", "instructions", "time", "memory", "return" (metric labels). */
const char *bw_lsb_fail_name(int fail);

struct bw_lsb_limits {
	uint64_t memory;       /* bytes the state may hold */
	uint64_t instructions; /* VM instructions per run */
	uint64_t time_ns;      /* wall clock per run */
};

/* The hooks a script may define (bit i = hook i). */
enum bw_lua_hook {
	BW_LUA_ON_FLOW = 0,
	BW_LUA_ON_VERDICT,
	BW_LUA_ON_DNS,
	BW_LUA_ON_HTTP,
	BW_LUA_ON_KAFKA,
	BW_LUA_ON_ALERT,
	BW_LUA_NHOOKS
};

/* Not a hook but checked with them: a `protocol = {...}` table (an L7
 * protocol parser written in Lua); its bit in the hooks of a script. */
#define BW_LUA_PROTOCOL BW_LUA_NHOOKS

/* "on_flow", ... */
const char *bw_lua_hook_name(int hook);

/* The protocol's name when the script defines one, else NULL. */
struct bw_lsb;
const char *bw_lsb_protocol(const struct bw_lsb *sb);
/* 1 when that protocol frames responses too (protocol.response). */
int bw_lsb_protocol_response(const struct bw_lsb *sb);
/* Push the script's protocol table (during a run). */
void bw_lsb_push_protocol(lua_State *L);

struct bw_lsb;

/*
 * Create a sandbox. open_host(L, arg) runs protected during creation and
 * must push one value, the table require("bulwark") returns. Returns the
 * sandbox, or NULL with a message in err.
 */
struct bw_lsb *bw_lsb_new(const char *name, const struct bw_lsb_limits *lim,
			  int (*open_host)(lua_State *L, void *arg), void *arg,
			  char *err, size_t errlen);
void bw_lsb_free(struct bw_lsb *sb);

/* New limits, used from the next run (the memory cap at once). */
void bw_lsb_set_limits(struct bw_lsb *sb, const struct bw_lsb_limits *lim);

/*
 * Load a script: compile text (text chunks only: bytecode is refused),
 * run its top level under the budgets, and check its hooks: every global
 * whose name starts with "on_" must be one of the hooks and a function.
 * *hooks gets the bits of the hooks it defines. Returns BW_LSB_OK or a
 * BW_LSB_FAIL_* with a message in err.
 */
int bw_lsb_load(struct bw_lsb *sb, const char *text, size_t len,
		const char *chunkname, unsigned *hooks, char *err,
		size_t errlen);

/*
 * Run fn(L) in protected mode under fresh budgets, with arg as a light
 * userdata at stack index 1. fn pushes the hook's arguments, calls it
 * with bw_lsb_push_hook() + lua_call(), and reads its results (raising an
 * error through bw_lsb_bad_return() when they break the contract).
 * Returns BW_LSB_OK or the failure, with a message in err; a run that
 * completes but overran a budget is a failure too.
 */
int bw_lsb_run(struct bw_lsb *sb, lua_CFunction fn, void *arg, char *err,
	       size_t errlen);

/* Push the script's hook function (from the registry: a script cannot
 * swap it out at run time). */
void bw_lsb_push_hook(lua_State *L, int hook);

/* Raise a contract error ("on_http returned ...") counted as
 * BW_LSB_FAIL_RETURN. Does not return. */
int bw_lsb_bad_return(lua_State *L, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The sandbox a state belongs to. */
struct bw_lsb *bw_lsb_of(lua_State *L);
const char *bw_lsb_name(const struct bw_lsb *sb);
/* Opaque pointer of the host's (the script object). */
void bw_lsb_set_user(struct bw_lsb *sb, void *user);
void *bw_lsb_user(const struct bw_lsb *sb);

/* Bytes the state holds now, and at most so far. */
size_t bw_lsb_memory(const struct bw_lsb *sb);
size_t bw_lsb_memory_peak(const struct bw_lsb *sb);

/* Non-zero while a run is in progress (for host functions). */
int bw_lsb_running(const struct bw_lsb *sb);

/* Time the current (or last) run has taken so far, nanoseconds; and
 * leave time out of the wall-clock budget (a host call waiting on the
 * loop thread). */
void bw_lsb_pause_clock(struct bw_lsb *sb, uint64_t ns);

#endif /* BW_CORE_LUASANDBOX_H */
