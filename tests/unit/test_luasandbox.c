/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_luasandbox.c - core/lua/luasandbox.c: what a script
 * cannot do, and that every way out tried is contained: no io, os (but
 * time and clock), require (but "bulwark"), debug, coroutine, dofile,
 * loadfile, string.dump; no bytecode, also through load(); finalizers
 * refused; memory bombs stopped by the allocator; infinite loops, loops
 * that pcall their way on, deep recursion and library calls that take too
 * long stopped by the budgets; errors that carry tables. Each test runs a
 * chunk as a script's top level (bw_lsb_load) or as a hook call
 * (bw_lsb_run) and checks the failure the host would count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <lauxlib.h>
#include <lualib.h>

#include "core/lua/luasandbox.h"

static const struct bw_lsb_limits lim_default = {
	.memory = 4u << 20,
	.instructions = 1000000,
	.time_ns = 2000000000ull, /* generous: a loaded CI machine */
};

static char logged[1024];

static int
fake_log(lua_State *L)
{
	snprintf(logged, sizeof(logged), "%s", luaL_checkstring(L, -1));
	return 0;
}

/* The host table as the sandbox sees it, minimal: log() only. */
static int
fake_host(lua_State *L, void *arg)
{
	lua_newtable(L);
	lua_pushcfunction(L, fake_log);
	lua_setfield(L, -2, "log");
	lua_pushliteral(L, "test");
	lua_setfield(L, -2, "script");
	return 1;
}

static struct bw_lsb *
sandbox(const struct bw_lsb_limits *lim)
{
	char err[256];
	struct bw_lsb *sb = bw_lsb_new("test", lim ? lim : &lim_default, fake_host,
				       NULL, err, sizeof(err));

	ck_assert_msg(sb != NULL, "sandbox: %s", err);
	return sb;
}

/* Load code as a script's top level: the failure, and the message in err. */
static int
run_top(struct bw_lsb *sb, const char *code, char *err, size_t errlen,
	unsigned *hooks)
{
	unsigned h = 0;
	int rc = bw_lsb_load(sb, code, strlen(code), "=test", &h, err, errlen);

	if (hooks)
		*hooks = h;
	return rc;
}

/* A fresh sandbox runs code; it must succeed. */
static void
ok(const char *code)
{
	struct bw_lsb *sb = sandbox(NULL);
	char err[256];
	int rc = run_top(sb, code, err, sizeof(err), NULL);

	ck_assert_msg(rc == BW_LSB_OK, "%s\n-> %s: %s", code, bw_lsb_fail_name(rc), err);
	bw_lsb_free(sb);
}

/* A fresh sandbox runs code; it must fail with fail and err matching. */
static void
fails(const char *code, int fail, const char *needle)
{
	struct bw_lsb *sb = sandbox(NULL);
	char err[256];
	int rc = run_top(sb, code, err, sizeof(err), NULL);

	ck_assert_msg(rc == fail, "%s\n-> %s (wanted %s): %s", code,
		      bw_lsb_fail_name(rc), bw_lsb_fail_name(fail), err);
	if (needle != NULL)
		ck_assert_msg(strstr(err, needle) != NULL, "%s\n-> '%s' lacks '%s'",
			      code, err, needle);
	bw_lsb_free(sb);
}

START_TEST(only_the_safe_libraries_are_there)
{
	ok("assert(io == nil) assert(debug == nil) assert(package == nil)"
	   " assert(coroutine == nil) assert(dofile == nil) assert(loadfile == nil)"
	   " assert(warn == nil) assert(string.dump == nil)");
	ok("assert(os.execute == nil) assert(os.getenv == nil) assert(os.remove == nil)"
	   " assert(os.exit == nil) assert(os.date == nil) assert(type(os.time()) == 'number')"
	   " assert(type(os.clock()) == 'number')");
	ok("assert(string.format('%d', 5) == '5') assert(table.concat({1,2}, ',') == '1,2')"
	   " assert(math.max(1, 2) == 2) assert(utf8.char(72) == 'H')");
	ok("assert(require('bulwark').script == 'test')");
}
END_TEST

START_TEST(escapes_through_the_os_and_io_fail)
{
	fails("os.execute('touch /tmp/bw-escaped')", BW_LSB_FAIL_ERROR,
	      "attempt to call a nil value");
	fails("io.open('/etc/passwd')", BW_LSB_FAIL_ERROR, "attempt to index a nil value");
	fails("require('os')", BW_LSB_FAIL_ERROR, "not available in the sandbox");
	fails("require('io')", BW_LSB_FAIL_ERROR, "not available in the sandbox");
	fails("local ffi = require('ffi')", BW_LSB_FAIL_ERROR, "not available");
	fails("package.loadlib('libc.so.6', 'system')", BW_LSB_FAIL_ERROR, NULL);
	fails("debug.sethook()", BW_LSB_FAIL_ERROR, NULL);
}
END_TEST

START_TEST(bytecode_is_refused)
{
	struct bw_lsb *sb = sandbox(NULL);
	char err[256];
	unsigned h;
	/* a real Lua 5.4 binary chunk, made outside the sandbox */
	lua_State *L = luaL_newstate();
	const char *chunk;
	size_t n;
	char *code;
	int rc;

	luaL_openlibs(L);
	ck_assert_int_eq(luaL_loadstring(L, "return string.dump(function() return 42 end)"),
			 LUA_OK);
	ck_assert_int_eq(lua_pcall(L, 0, 1, 0), LUA_OK);
	chunk = lua_tolstring(L, -1, &n);
	ck_assert(n > 4 && chunk[0] == 0x1b);

	/* as the script file itself */
	rc = bw_lsb_load(sb, chunk, n, "=bytecode", &h, err, sizeof(err));
	ck_assert_int_eq(rc, BW_LSB_FAIL_ERROR);
	ck_assert_msg(strstr(err, "binary") != NULL, "%s", err);

	/* through load(), whatever mode the script asks for */
	code = malloc(n * 4 + 128);
	strcpy(code, "local s = '");
	for (size_t i = 0; i < n; i++)
		sprintf(code + strlen(code), "\\%u", (unsigned char)chunk[i]);
	strcat(code, "' local f, e = load(s, 'x', 'b') assert(f == nil) "
		     "assert(e:find('binary')) f, e = load(s) assert(f == nil) "
		     "return true");
	bw_lsb_free(sb);
	sb = sandbox(NULL);
	rc = bw_lsb_load(sb, code, strlen(code), "=t", &h, err, sizeof(err));
	ck_assert_msg(rc == BW_LSB_OK, "%s", err);
	free(code);
	lua_close(L);
	bw_lsb_free(sb);
}
END_TEST

START_TEST(text_load_still_works_with_its_environment)
{
	ok("local f = load('return 1 + 1') assert(f() == 2)");
	ok("local env = {x = 5} local f = load('return x', 'c', 't', env) assert(f() == 5)");
	ok("local f = load('return x', 'c', 'bt', {x = 7}) assert(f() == 7)");
}
END_TEST

START_TEST(finalizers_are_refused)
{
	fails("setmetatable({}, {__gc = function() while true do end end})",
	      BW_LSB_FAIL_ERROR, "__gc");
	/* setmetatable still works otherwise, and adding __gc later does nothing */
	ok("local mt = {__index = function() return 1 end} local t = setmetatable({}, mt)"
	   " assert(t.x == 1) mt.__gc = function() while true do end end t = nil"
	   " collectgarbage('collect')");
}
END_TEST

START_TEST(collectgarbage_is_restricted)
{
	ok("assert(collectgarbage('count') > 0) collectgarbage() collectgarbage('step')");
	fails("collectgarbage('stop')", BW_LSB_FAIL_ERROR, "not available");
	fails("collectgarbage('generational')", BW_LSB_FAIL_ERROR, "not available");
	fails("collectgarbage('setpause', 1000)", BW_LSB_FAIL_ERROR, "not available");
}
END_TEST

START_TEST(memory_bombs_hit_the_cap)
{
	fails("local s = string.rep('x', 64 * 1024 * 1024)", BW_LSB_FAIL_MEMORY,
	      "memory limit");
	fails("local s = 'x' while true do s = s .. s end", BW_LSB_FAIL_MEMORY, NULL);
	fails("local t = {} for i = 1, 1e9 do t[i] = i end", BW_LSB_FAIL_MEMORY, NULL);
	fails("local t = {} for i = 1, 1e9 do t['k' .. i] = {} end", BW_LSB_FAIL_MEMORY, NULL);
	fails("local t = table.concat({string.rep('y', 3 * 1024 * 1024), "
	      "string.rep('z', 3 * 1024 * 1024)})", BW_LSB_FAIL_MEMORY, NULL);
}
END_TEST

START_TEST(a_state_never_grows_past_its_cap)
{
	struct bw_lsb *sb = sandbox(NULL);
	char err[256];

	run_top(sb, "local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 100) end",
		err, sizeof(err), NULL);
	ck_assert_uint_le(bw_lsb_memory_peak(sb), lim_default.memory);
	bw_lsb_free(sb);
}
END_TEST

START_TEST(infinite_loops_run_out_of_instructions)
{
	fails("while true do end", BW_LSB_FAIL_INSTRUCTIONS, "instruction budget");
	fails("local function f() return f() end f()", BW_LSB_FAIL_INSTRUCTIONS, NULL);
	fails("repeat local x = 1 until false", BW_LSB_FAIL_INSTRUCTIONS, NULL);
}
END_TEST

START_TEST(pcall_cannot_swallow_an_exhausted_budget)
{
	fails("while true do pcall(function() while true do end end) end",
	      BW_LSB_FAIL_INSTRUCTIONS, "instruction budget");
	fails("for i = 1, 1e12 do pcall(error, 'x') end", BW_LSB_FAIL_INSTRUCTIONS, NULL);
	fails("local function h() while true do end end "
	      "while true do xpcall(h, function() while true do end end) end",
	      BW_LSB_FAIL_INSTRUCTIONS, NULL);
	fails("while true do pcall(string.rep, 'x', 1e9) end",
	      BW_LSB_FAIL_INSTRUCTIONS, NULL);
}
END_TEST

START_TEST(xpcall_still_calls_its_handler)
{
	ok("local ok, e = xpcall(function() error('x', 0) end, function(m) return 'handled ' .. m end)"
	   " assert(not ok and e == 'handled x')");
	ok("local ok, a, b = xpcall(function(x, y) return x + y, 'z' end, print, 1, 2)"
	   " assert(ok and a == 3 and b == 'z')");
	fails("xpcall(function() end)", BW_LSB_FAIL_ERROR, "function expected");
}
END_TEST

START_TEST(deep_recursion_is_an_error)
{
	struct bw_lsb_limits big = lim_default;
	struct bw_lsb *sb;
	char err[256];
	int rc;

	big.memory = 64u << 20;
	big.instructions = 100000000;
	sb = sandbox(&big);
	rc = run_top(sb, "local function f(n) return 1 + f(n + 1) end f(1)", err,
		     sizeof(err), NULL);
	ck_assert_msg(rc == BW_LSB_FAIL_ERROR || rc == BW_LSB_FAIL_MEMORY,
		      "%s: %s", bw_lsb_fail_name(rc), err);
	bw_lsb_free(sb);
	/* through C: string.gsub calling back into Lua */
	fails("local function f(s) return (s:gsub('.', f)) end f('ab')",
	      BW_LSB_FAIL_ERROR, "stack overflow");
}
END_TEST

START_TEST(library_calls_that_take_too_long_hit_the_time_budget)
{
	struct bw_lsb_limits slow = lim_default;
	char err[256];
	struct bw_lsb *sb;
	int rc;

	/* few instructions, much C work: only the clock catches it */
	slow.memory = 64u << 20;
	slow.instructions = 1000000000;
	slow.time_ns = 20000000; /* 20 ms */
	sb = sandbox(&slow);
	rc = run_top(sb, "for i = 1, 1e9 do local s = string.rep('x', 4000000) end",
		     err, sizeof(err), NULL);
	ck_assert_msg(rc == BW_LSB_FAIL_TIME, "%s: %s", bw_lsb_fail_name(rc), err);
	ck_assert_msg(strstr(err, "time budget") != NULL, "%s", err);
	bw_lsb_free(sb);
}
END_TEST

START_TEST(error_objects_are_reported_without_running_script_code)
{
	fails("error(setmetatable({}, {__tostring = function() while true do end end}))",
	      BW_LSB_FAIL_ERROR, "error object is a table value");
	fails("error('plain')", BW_LSB_FAIL_ERROR, "plain");
	fails("error(42)", BW_LSB_FAIL_ERROR, "42");
	fails("error()", BW_LSB_FAIL_ERROR, "nil value");
}
END_TEST

START_TEST(hooks_are_checked_when_loading)
{
	struct bw_lsb *sb = sandbox(NULL);
	char err[256];
	unsigned hooks;
	int rc;

	rc = run_top(sb, "function on_flow(f) end function on_http(r) return 'deny' end",
		     err, sizeof(err), &hooks);
	ck_assert_int_eq(rc, BW_LSB_OK);
	ck_assert_uint_eq(hooks, (1u << BW_LUA_ON_FLOW) | (1u << BW_LUA_ON_HTTP));
	bw_lsb_free(sb);
	fails("function on_flows(f) end", BW_LSB_FAIL_ERROR, "'on_flows' is not a hook");
	fails("on_http = 'deny'", BW_LSB_FAIL_ERROR, "must be a function");
	fails("function on_dns(q) end x = ", BW_LSB_FAIL_ERROR, "unexpected symbol");
	/* other globals are the script's business */
	ok("one = 1 function helper() end");
}
END_TEST

/* A hook call through bw_lsb_run: the contract errors are counted apart. */
static int
call_on_http(lua_State *L)
{
	bw_lsb_push_hook(L, BW_LUA_ON_HTTP);
	lua_newtable(L);
	lua_call(L, 1, 1);
	if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
		bw_lsb_bad_return(L, "on_http returned a %s", luaL_typename(L, -1));
	return 0;
}

START_TEST(a_broken_contract_is_its_own_failure)
{
	struct bw_lsb *sb = sandbox(NULL);
	char err[256];
	unsigned hooks;

	ck_assert_int_eq(run_top(sb, "function on_http(r) return {} end", err,
				 sizeof(err), &hooks), BW_LSB_OK);
	ck_assert_int_eq(bw_lsb_run(sb, call_on_http, NULL, err, sizeof(err)),
			 BW_LSB_FAIL_RETURN);
	ck_assert_msg(strstr(err, "returned a table") != NULL, "%s", err);
	bw_lsb_free(sb);
}
END_TEST

START_TEST(each_call_gets_a_fresh_budget)
{
	struct bw_lsb_limits small = lim_default;
	struct bw_lsb *sb;
	char err[256];
	unsigned hooks;

	small.instructions = 200000;
	sb = sandbox(&small);
	ck_assert_int_eq(run_top(sb, "function on_http(r) for i = 1, 10000 do end "
				 "return 'allow' end", err, sizeof(err), &hooks),
			 BW_LSB_OK);
	/* each call costs ~40k instructions: many calls, never exhausted */
	for (int i = 0; i < 50; i++)
		ck_assert_int_eq(bw_lsb_run(sb, call_on_http, NULL, err, sizeof(err)),
				 BW_LSB_OK);
	bw_lsb_free(sb);
}
END_TEST

START_TEST(the_state_lives_on_after_a_failed_call)
{
	struct bw_lsb *sb = sandbox(NULL);
	char err[256];
	unsigned hooks;

	ck_assert_int_eq(run_top(sb, "n = 0 function on_http(r) n = n + 1 "
				 "if n == 2 then while true do end end return 'allow' end",
				 err, sizeof(err), &hooks), BW_LSB_OK);
	ck_assert_int_eq(bw_lsb_run(sb, call_on_http, NULL, err, sizeof(err)), BW_LSB_OK);
	ck_assert_int_eq(bw_lsb_run(sb, call_on_http, NULL, err, sizeof(err)),
			 BW_LSB_FAIL_INSTRUCTIONS);
	/* the next call starts clean: the budget error does not stick */
	ck_assert_int_eq(bw_lsb_run(sb, call_on_http, NULL, err, sizeof(err)), BW_LSB_OK);
	bw_lsb_free(sb);
}
END_TEST

START_TEST(print_goes_to_the_host_log)
{
	logged[0] = '\0';
	ok("print('a', 1, true, nil)");
	ck_assert_str_eq(logged, "a\t1\ttrue\tnil");
}
END_TEST

START_TEST(a_cap_too_small_for_a_state_is_refused)
{
	struct bw_lsb_limits tiny = lim_default;
	char err[256];

	tiny.memory = 4096;
	ck_assert_ptr_null(bw_lsb_new("tiny", &tiny, fake_host, NULL, err, sizeof(err)));
	ck_assert_msg(strstr(err, "memory_limit") != NULL, "%s", err);
}
END_TEST

static Suite *
sandbox_suite(void)
{
	Suite *s = suite_create("luasandbox");
	TCase *tc = tcase_create("sandbox");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, only_the_safe_libraries_are_there);
	tcase_add_test(tc, escapes_through_the_os_and_io_fail);
	tcase_add_test(tc, bytecode_is_refused);
	tcase_add_test(tc, text_load_still_works_with_its_environment);
	tcase_add_test(tc, finalizers_are_refused);
	tcase_add_test(tc, collectgarbage_is_restricted);
	tcase_add_test(tc, memory_bombs_hit_the_cap);
	tcase_add_test(tc, a_state_never_grows_past_its_cap);
	tcase_add_test(tc, infinite_loops_run_out_of_instructions);
	tcase_add_test(tc, pcall_cannot_swallow_an_exhausted_budget);
	tcase_add_test(tc, xpcall_still_calls_its_handler);
	tcase_add_test(tc, deep_recursion_is_an_error);
	tcase_add_test(tc, library_calls_that_take_too_long_hit_the_time_budget);
	tcase_add_test(tc, error_objects_are_reported_without_running_script_code);
	tcase_add_test(tc, hooks_are_checked_when_loading);
	tcase_add_test(tc, a_broken_contract_is_its_own_failure);
	tcase_add_test(tc, each_call_gets_a_fresh_budget);
	tcase_add_test(tc, the_state_lives_on_after_a_failed_call);
	tcase_add_test(tc, print_goes_to_the_host_log);
	tcase_add_test(tc, a_cap_too_small_for_a_state_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sandbox_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
