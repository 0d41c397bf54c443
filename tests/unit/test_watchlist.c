/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_watchlist.c - lib/watchlist.c: watchers are called in
 * registration order with their own argument and their own type, removal
 * takes exactly the (callback, argument) pair, clear forgets all.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "lib/watchlist.h"
#include "tests/unit/check_main.h"

static char seen[64];

static int
note(const char *who, int ev, void *arg)
{
	size_t n = strlen(seen);

	snprintf(seen + n, sizeof(seen) - n, "%s%d%s ", who, ev, (const char *)arg);
	return 0;
}

static int w_a(const char *who, int ev, void *arg) { return note("a", ev, arg); }
static int w_b(const char *who, int ev, void *arg) { return note("b", ev, arg); }

static void
notify(struct bw_watchlist *l, int ev)
{
	for (size_t i = 0; i < l->n; i++) {
		int (*fn)(const char *, int, void *) =
			(int (*)(const char *, int, void *))l->v[i].fn;

		fn("x", ev, l->v[i].arg);
	}
}

START_TEST(watchers_run_in_order_and_leave_by_pair)
{
	struct bw_watchlist l = { 0 };

	seen[0] = '\0';
	ck_assert_int_eq(bw_watchlist_add(&l, BW_WATCH_FN(w_a), "1"), 0);
	ck_assert_int_eq(bw_watchlist_add(&l, BW_WATCH_FN(w_b), "2"), 0);
	ck_assert_int_eq(bw_watchlist_add(&l, BW_WATCH_FN(w_a), "3"), 0);
	notify(&l, 7);
	ck_assert_str_eq(seen, "a71 b72 a73 ");
	/* the pair, not the function: a with "3" stays */
	bw_watchlist_remove(&l, BW_WATCH_FN(w_a), "1");
	bw_watchlist_remove(&l, BW_WATCH_FN(w_b), "9"); /* not there */
	seen[0] = '\0';
	notify(&l, 8);
	ck_assert_str_eq(seen, "b82 a83 ");
	bw_watchlist_clear(&l);
	ck_assert_uint_eq(l.n, 0);
	seen[0] = '\0';
	notify(&l, 9);
	ck_assert_str_eq(seen, "");
}
END_TEST

BW_CHECK_MAIN("watchlist",
	      watchers_run_in_order_and_leave_by_pair)
