/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_flowstage.c - core/flow/flowstage.c: a stage (the Lua
 * host's on_flow) may hold flows back and add extensions, but the ring
 * gets every flow, in the order published, whatever the stage does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "core/flow/flow.h"
#include "lib/flowjson.h"

/* The fake stage: what it wants is taken from the flow's src_port. */
static struct {
	int mode;            /* BW_FLOW_STAGE_* for every flow */
	uint64_t tokens[64];
	const struct bw_flow *copies[64];
	int n;
	int refuse;
} stg;

static int
stg_wants(void *arg, const struct bw_flow *f)
{
	return stg.mode;
}

static int
stg_submit(void *arg, const struct bw_flow *f, uint64_t token)
{
	if (stg.refuse)
		return -1;
	stg.copies[stg.n] = f;
	stg.tokens[stg.n++] = token;
	return 0;
}

static void
stage_on(int mode, unsigned capacity, uint64_t delay_ns)
{
	struct bw_flow_stage st = {
		.wants = stg_wants,
		.submit = stg_submit,
		.capacity = capacity,
		.max_delay_ns = delay_ns,
	};

	memset(&stg, 0, sizeof(stg));
	stg.mode = mode;
	ck_assert_int_eq(bw_flow_stage_set(NULL, &st), 0);
}

static void
setup(void)
{
	bw_flow_set_sources(NULL);
	bw_flow_set_node_name("node-1");
	ck_assert_int_eq(bw_flow_ring_init(256), 0);
}

static void
teardown(void)
{
	bw_flow_stage_set(NULL, NULL);
}

/* Publish a flow whose source port numbers it. */
static void
publish(uint16_t n)
{
	struct bw_flow f;

	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	f.verdict = BW_FLOW_VERDICT_FORWARDED;
	f.type = BW_FLOW_TYPE_L3_L4;
	f.protocol = 6;
	f.src_port = n;
	f.is_reply = -1;
	ck_assert_int_eq(bw_flow_publish(&f), 0);
}

/* The source ports of the flows stored since seq, in ring order. */
static void
stored_since(uint64_t seq, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (; seq < bw_flow_ring_next(); seq++) {
		const struct bw_flow *f = bw_flow_ring_at(seq);

		o += (size_t)snprintf(buf + o, len - o, "%s%u", o ? "," : "",
				      f ? f->src_port : 0);
	}
}

START_TEST(held_flows_wait_for_the_stage_and_keep_their_order)
{
	uint64_t seq = bw_flow_ring_next();
	char got[128];

	stage_on(BW_FLOW_STAGE_HOLD, 16, 60ull * 1000000000u);
	publish(1);
	publish(2);
	publish(3);
	stored_since(seq, got, sizeof(got));
	ck_assert_str_eq(got, "");
	ck_assert_int_eq(stg.n, 3);
	/* the stage finishes out of order: storing waits for the first */
	bw_flow_stage_done(stg.tokens[1], NULL);
	stored_since(seq, got, sizeof(got));
	ck_assert_str_eq(got, "");
	bw_flow_stage_done(stg.tokens[0], NULL);
	stored_since(seq, got, sizeof(got));
	ck_assert_str_eq(got, "1,2");
	bw_flow_stage_done(stg.tokens[2], NULL);
	stored_since(seq, got, sizeof(got));
	ck_assert_str_eq(got, "1,2,3");
}
END_TEST

START_TEST(extensions_of_the_stage_are_in_the_stored_flow)
{
	uint64_t seq = bw_flow_ring_next();
	char *text;

	stage_on(BW_FLOW_STAGE_HOLD, 16, 60ull * 1000000000u);
	publish(7);
	ck_assert_int_eq(stg.n, 1);
	/* the copy the stage reads is the flow */
	ck_assert_uint_eq(stg.copies[0]->src_port, 7);
	bw_flow_stage_done(stg.tokens[0], "{\"lua\":{\"tagger\":{\"team\":\"a\"}}}");
	ck_assert_int_eq(bw_flowjson_text(bw_flow_ring_at(seq), &text), 0);
	ck_assert_ptr_nonnull(strstr(text, "\"lua\":{\"tagger\":{\"team\":\"a\"}}"));
	free(text);
}
END_TEST

START_TEST(observed_flows_are_stored_at_once)
{
	uint64_t seq = bw_flow_ring_next();
	char got[128];

	stage_on(BW_FLOW_STAGE_OBSERVE, 16, 60ull * 1000000000u);
	publish(1);
	publish(2);
	stored_since(seq, got, sizeof(got));
	ck_assert_str_eq(got, "1,2");
	ck_assert_int_eq(stg.n, 2);
	/* the copies stay readable until done */
	ck_assert_uint_eq(stg.copies[1]->src_port, 2);
	bw_flow_stage_done(stg.tokens[0], "{\"x\":1}");
	bw_flow_stage_done(stg.tokens[1], NULL);
}
END_TEST

START_TEST(a_flow_that_waited_too_long_is_stored_without_the_stage)
{
	uint64_t seq = bw_flow_ring_next();
	struct bw_flow_stage_stats st;
	char got[128], *text;

	stage_on(BW_FLOW_STAGE_HOLD, 16, 0); /* no wait allowed at all */
	publish(1);
	stored_since(seq, got, sizeof(got));
	ck_assert_str_eq(got, "1");
	bw_flow_stage_stats(&st);
	ck_assert_uint_eq(st.late, 1);
	/* a late answer changes nothing */
	bw_flow_stage_done(stg.tokens[0], "{\"lua\":{}}");
	ck_assert_int_eq(bw_flowjson_text(bw_flow_ring_at(seq), &text), 0);
	ck_assert_ptr_null(strstr(text, "\"lua\""));
	free(text);
}
END_TEST

START_TEST(a_full_stage_never_loses_a_flow)
{
	uint64_t seq = bw_flow_ring_next();
	struct bw_flow_stage_stats st;
	char got[256];

	stage_on(BW_FLOW_STAGE_HOLD, 4, 60ull * 1000000000u);
	for (uint16_t i = 1; i <= 10; i++)
		publish(i);
	/* 4 held; the 5th found it full: the 4 are stored, the 5th too, and
	 * the next ones skip the stage while its copies are still busy */
	stored_since(seq, got, sizeof(got));
	ck_assert_str_eq(got, "1,2,3,4,5,6,7,8,9,10");
	bw_flow_stage_stats(&st);
	ck_assert_uint_eq(st.submitted, 4);
	ck_assert_uint_eq(st.skipped, 6);
	ck_assert_uint_eq(st.late, 4);
	/* the stage finishing later frees the room */
	for (int i = 0; i < 4; i++)
		bw_flow_stage_done(stg.tokens[i], NULL);
	publish(11);
	ck_assert_int_eq(stg.n, 5);
	bw_flow_stage_done(stg.tokens[4], NULL);
	stored_since(seq, got, sizeof(got));
	ck_assert_str_eq(got, "1,2,3,4,5,6,7,8,9,10,11");
}
END_TEST

START_TEST(flows_the_stage_skips_wait_behind_held_ones)
{
	uint64_t seq = bw_flow_ring_next();
	char got[128];

	stage_on(BW_FLOW_STAGE_HOLD, 16, 60ull * 1000000000u);
	publish(1);
	stg.mode = BW_FLOW_STAGE_SKIP;
	publish(2);
	stored_since(seq, got, sizeof(got));
	ck_assert_str_eq(got, "");
	bw_flow_stage_done(stg.tokens[0], NULL);
	stored_since(seq, got, sizeof(got));
	ck_assert_str_eq(got, "1,2");
	publish(3); /* nothing ahead: straight in */
	stored_since(seq, got, sizeof(got));
	ck_assert_str_eq(got, "1,2,3");
}
END_TEST

START_TEST(removing_the_stage_stores_what_it_held)
{
	uint64_t seq = bw_flow_ring_next();
	char got[128];

	stage_on(BW_FLOW_STAGE_HOLD, 16, 60ull * 1000000000u);
	publish(1);
	publish(2);
	bw_flow_stage_set(NULL, NULL);
	stored_since(seq, got, sizeof(got));
	ck_assert_str_eq(got, "1,2");
	publish(3);
	stored_since(seq, got, sizeof(got));
	ck_assert_str_eq(got, "1,2,3");
}
END_TEST

START_TEST(a_refused_submission_is_a_skip)
{
	uint64_t seq = bw_flow_ring_next();
	struct bw_flow_stage_stats st;
	char got[128];

	stage_on(BW_FLOW_STAGE_HOLD, 16, 60ull * 1000000000u);
	stg.refuse = 1;
	publish(1);
	stored_since(seq, got, sizeof(got));
	ck_assert_str_eq(got, "1");
	bw_flow_stage_stats(&st);
	ck_assert_uint_eq(st.skipped, 1);
}
END_TEST

static Suite *
flowstage_suite(void)
{
	Suite *s = suite_create("flowstage");
	TCase *tc = tcase_create("stage");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, held_flows_wait_for_the_stage_and_keep_their_order);
	tcase_add_test(tc, extensions_of_the_stage_are_in_the_stored_flow);
	tcase_add_test(tc, observed_flows_are_stored_at_once);
	tcase_add_test(tc, a_flow_that_waited_too_long_is_stored_without_the_stage);
	tcase_add_test(tc, a_full_stage_never_loses_a_flow);
	tcase_add_test(tc, flows_the_stage_skips_wait_behind_held_ones);
	tcase_add_test(tc, removing_the_stage_stores_what_it_held);
	tcase_add_test(tc, a_refused_submission_is_a_skip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(flowstage_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
