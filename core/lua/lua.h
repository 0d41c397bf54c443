/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/lua/lua.h - the Lua host (docs/lua.md): rule scripts from [lua] dir,
 * each in its own sandbox, hooked on flows, verdicts and the proxies'
 * decisions, run on a thread of their own.
 *
 * bulwarkd starts it after the policy repository (scripts may read
 * policies and ask for quarantines) and the flow pipeline, and stops it
 * before the flow pipeline (it holds flows back for on_flow).
 */
#ifndef BW_CORE_LUA_H
#define BW_CORE_LUA_H

struct event_base;

/*
 * Read [lua], start the bw-lua thread, become the decision-hook provider
 * and the flow pipeline's stage, register GET /v1/lua and friends and the
 * bulwark_lua_* metrics, load the scripts and watch their directory.
 * A script that does not load is reported, not fatal. Returns 0 or a
 * negative errno (logged).
 */
int bw_lua_init(struct event_base *base);

/* Stop the thread (pending decisions get the fallback deny, held flows
 * are stored), forget every script. */
void bw_lua_fini(void);

#endif /* BW_CORE_LUA_H */
