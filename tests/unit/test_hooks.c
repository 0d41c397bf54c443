/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_hooks.c - core/module/hooks.c: the decision-hook contract
 * the proxies rely on (include/bulwark/hook.h), with a fake provider.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/module/hooks.h"
#include "core/module/registry.h"

/* ---- a fake provider that records what it was asked ---------------------- */

static struct {
	unsigned active;
	int refuse;          /* return this from the decision calls when < 0 */
	uint64_t last_ticket;
	char last_name[256];
	int asked, cancelled;
} fake;

static unsigned
fake_active(void *arg)
{
	return fake.active;
}

static int
fake_dns(void *arg, const struct bw_hook_dns *q, uint64_t ticket)
{
	if (fake.refuse < 0)
		return fake.refuse;
	fake.asked++;
	fake.last_ticket = ticket;
	snprintf(fake.last_name, sizeof(fake.last_name), "%s", q->name);
	return 0;
}

static int
fake_http(void *arg, const struct bw_hook_http *req, uint64_t ticket)
{
	if (fake.refuse < 0)
		return fake.refuse;
	fake.asked++;
	fake.last_ticket = ticket;
	snprintf(fake.last_name, sizeof(fake.last_name), "%s %s", req->method,
		 req->path);
	return 0;
}

static void
fake_cancel(void *arg, uint64_t ticket)
{
	fake.cancelled++;
}

static int fake_freed;

static int
fake_wait(void *arg, unsigned kind, const void *req, struct bw_hook_answer *a)
{
	static char reason[] = "waited";

	fake.asked++;
	a->res.size = sizeof(a->res);
	a->res.verdict = kind == BW_HOOK_F_HTTP ? BW_HOOK_DENY : BW_HOOK_ALLOW;
	a->res.reason = reason;
	a->priv = reason;
	return 0;
}

static void
fake_answer_free(void *arg, struct bw_hook_answer *a)
{
	fake_freed++;
}

static const struct bw_hook_provider fake_prov = {
	.active = fake_active,
	.dns = fake_dns,
	.http = fake_http,
	.cancel = fake_cancel,
	.wait = fake_wait,
	.answer_free = fake_answer_free,
};

/* ---- what the asker sees --------------------------------------------------- */

struct answer {
	int calls;
	enum bw_hook_verdict verdict;
	int fallback;
	char reason[128];
};

static void
got_answer(const struct bw_hook_result *res, void *ud)
{
	struct answer *a = ud;

	a->calls++;
	a->verdict = res->verdict;
	a->fallback = res->fallback;
	snprintf(a->reason, sizeof(a->reason), "%s",
		 res->reason != NULL ? res->reason : "");
}

static struct bw_hook_dns
dns_query(const char *name)
{
	struct bw_hook_dns q;

	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.name = name;
	q.qtype = 1;
	q.source.ip = "10.1.0.2";
	return q;
}

static void
setup(void)
{
	memset(&fake, 0, sizeof(fake));
	fake.active = BW_HOOK_F_DNS | BW_HOOK_F_HTTP;
	ck_assert_int_eq(bw_hooks_provider_set(&fake_prov), 0);
}

static void
teardown(void)
{
	bw_hooks_provider_set(NULL);
	bw_registry_fini();
}

START_TEST(no_provider_means_no_objection)
{
	struct bw_hook_dns q = dns_query("www.example.com");
	struct answer a = { 0 };
	uint64_t t = 99;

	bw_hooks_provider_set(NULL);
	ck_assert_uint_eq(bw_hooks_active(), 0);
	ck_assert_int_eq(bw_hooks_dns(&q, got_answer, &a, &t, NULL), BW_HOOK_NONE);
	ck_assert_int_eq(a.calls, 0);
	ck_assert(t == 0);
}
END_TEST

START_TEST(a_hook_no_script_defines_is_not_asked)
{
	struct bw_hook_kafka k = { .size = sizeof(k) };
	struct answer a = { 0 };

	ck_assert_int_eq(bw_hooks_kafka(&k, got_answer, &a, NULL, NULL),
			 BW_HOOK_NONE);
	ck_assert_int_eq(fake.asked, 0);
}
END_TEST

START_TEST(pending_request_is_answered_once)
{
	struct bw_hook_dns q = dns_query("www.example.com");
	struct answer a = { 0 };
	struct bw_hook_result res = { .size = sizeof(res), .verdict = BW_HOOK_DENY,
				      .reason = "blocked name" };
	uint64_t t = 0;

	ck_assert_int_eq(bw_hooks_dns(&q, got_answer, &a, &t, NULL),
			 BW_HOOK_PENDING);
	ck_assert(t != 0);
	ck_assert_str_eq(fake.last_name, "www.example.com");
	/* never answered from inside the call */
	ck_assert_int_eq(a.calls, 0);
	ck_assert_uint_eq(bw_hooks_pending(), 1);
	bw_hooks_answer(t, &res);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(a.verdict, BW_HOOK_DENY);
	ck_assert_str_eq(a.reason, "blocked name");
	/* a second answer for the same ticket is dropped */
	bw_hooks_answer(t, &res);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_uint_eq(bw_hooks_pending(), 0);
}
END_TEST

START_TEST(cancelled_request_is_never_answered)
{
	struct bw_hook_http r = { .size = sizeof(r), .method = "GET", .path = "/" };
	struct bw_hook_result res = { .size = sizeof(res), .verdict = BW_HOOK_ALLOW };
	struct answer a = { 0 };
	uint64_t t = 0;

	ck_assert_int_eq(bw_hooks_http(&r, got_answer, &a, &t, NULL),
			 BW_HOOK_PENDING);
	ck_assert_str_eq(fake.last_name, "GET /");
	bw_hooks_cancel(t);
	ck_assert_int_eq(fake.cancelled, 1);
	bw_hooks_answer(t, &res);
	ck_assert_int_eq(a.calls, 0);
}
END_TEST

START_TEST(module_going_away_cancels_its_requests)
{
	struct bw_hook_dns q = dns_query("a.example");
	struct bw_hook_result res = { .size = sizeof(res), .verdict = BW_HOOK_ALLOW };
	struct answer mine = { 0 }, other = { 0 };
	static int owner1, owner2;
	uint64_t t1, t2;

	ck_assert_int_eq(bw_hooks_dns(&q, got_answer, &mine, &t1, &owner1),
			 BW_HOOK_PENDING);
	ck_assert_int_eq(bw_hooks_dns(&q, got_answer, &other, &t2, &owner2),
			 BW_HOOK_PENDING);
	bw_registry_drop_owner(&owner1);
	bw_hooks_answer(t1, &res);
	bw_hooks_answer(t2, &res);
	ck_assert_int_eq(mine.calls, 0);
	ck_assert_int_eq(other.calls, 1);
}
END_TEST

START_TEST(provider_going_away_denies_what_is_pending)
{
	struct bw_hook_dns q = dns_query("a.example");
	struct answer a = { 0 };

	ck_assert_int_eq(bw_hooks_dns(&q, got_answer, &a, NULL, NULL),
			 BW_HOOK_PENDING);
	bw_hooks_provider_set(NULL);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(a.verdict, BW_HOOK_DENY);
	ck_assert_int_eq(a.fallback, 1);
	ck_assert_uint_eq(bw_hooks_pending(), 0);
}
END_TEST

START_TEST(provider_refusal_is_an_error_not_a_pending_request)
{
	struct bw_hook_dns q = dns_query("a.example");
	struct answer a = { 0 };

	fake.refuse = -ENOMEM;
	ck_assert_int_eq(bw_hooks_dns(&q, got_answer, &a, NULL, NULL), -ENOMEM);
	fake.refuse = -EIO;
	ck_assert_int_eq(bw_hooks_dns(&q, got_answer, &a, NULL, NULL), -EINVAL);
	ck_assert_uint_eq(bw_hooks_pending(), 0);
	ck_assert_int_eq(a.calls, 0);
}
END_TEST

START_TEST(incomplete_requests_are_refused)
{
	struct bw_hook_dns q = dns_query(NULL);
	struct bw_hook_http r = { .size = sizeof(r), .method = "GET" };
	struct answer a = { 0 };

	ck_assert_int_eq(bw_hooks_dns(&q, got_answer, &a, NULL, NULL), -EINVAL);
	ck_assert_int_eq(bw_hooks_http(&r, got_answer, &a, NULL, NULL), -EINVAL);
	q = dns_query("a.example");
	ck_assert_int_eq(bw_hooks_dns(&q, NULL, &a, NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(only_one_provider)
{
	ck_assert_int_eq(bw_hooks_provider_set(&fake_prov), -EBUSY);
}
END_TEST

START_TEST(many_requests_in_flight)
{
	enum { N = 5000 };
	static uint64_t t[N];
	static struct answer a[N];
	struct bw_hook_dns q = dns_query("a.example");
	struct bw_hook_result res = { .size = sizeof(res), .verdict = BW_HOOK_ALLOW };

	for (int i = 0; i < N; i++)
		ck_assert_int_eq(bw_hooks_dns(&q, got_answer, &a[i], &t[i], NULL),
				 BW_HOOK_PENDING);
	ck_assert_uint_eq(bw_hooks_pending(), N);
	for (int i = N - 1; i >= 0; i -= 2)
		bw_hooks_cancel(t[i]);
	for (int i = 0; i < N; i++)
		bw_hooks_answer(t[i], &res);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(a[i].calls, (N - 1 - i) % 2 == 0 ? 0 : 1);
	ck_assert_uint_eq(bw_hooks_pending(), 0);
}
END_TEST

START_TEST(a_caller_may_wait_for_the_answer)
{
	struct bw_hook_http r = { .size = sizeof(r), .method = "GET", .path = "/" };
	struct bw_hook_kafka k = { .size = sizeof(k) };
	struct bw_hook_answer a;

	fake_freed = 0;
	ck_assert_int_eq(bw_hooks_http_wait(&r, &a), 0);
	ck_assert_int_eq(a.res.verdict, BW_HOOK_DENY);
	ck_assert_str_eq(a.res.reason, "waited");
	bw_hooks_answer_free(&a);
	ck_assert_int_eq(fake_freed, 1);
	/* no script defines on_kafka: no wait, no answer to free */
	ck_assert_int_eq(bw_hooks_kafka_wait(&k, &a), BW_HOOK_NONE);
	ck_assert_int_eq(bw_hooks_http_wait(NULL, &a), -EINVAL);
	ck_assert_uint_eq(bw_hooks_pending(), 0);
}
END_TEST

static Suite *
hooks_suite(void)
{
	Suite *s = suite_create("hooks");
	TCase *tc = tcase_create("contract");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, no_provider_means_no_objection);
	tcase_add_test(tc, a_hook_no_script_defines_is_not_asked);
	tcase_add_test(tc, pending_request_is_answered_once);
	tcase_add_test(tc, cancelled_request_is_never_answered);
	tcase_add_test(tc, module_going_away_cancels_its_requests);
	tcase_add_test(tc, provider_going_away_denies_what_is_pending);
	tcase_add_test(tc, provider_refusal_is_an_error_not_a_pending_request);
	tcase_add_test(tc, incomplete_requests_are_refused);
	tcase_add_test(tc, only_one_provider);
	tcase_add_test(tc, many_requests_in_flight);
	tcase_add_test(tc, a_caller_may_wait_for_the_answer);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(hooks_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
