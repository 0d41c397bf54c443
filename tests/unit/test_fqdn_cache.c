/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_fqdn_cache.c - modules/fqdn/fqdn_cache.c, the FQDN
 * module's DNS cache: TTL and min_ttl, refresh, expiry through conntrack
 * (live connections keep an address, idle_grace after the last one), the
 * per-name cap on rotating addresses (never cutting a live connection),
 * the zombie cap, clean by pattern, what is handed to the core, and the
 * file round trip across a restart.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/fqdn/fqdn_cache.h"

static struct fqc *C;
static struct fqc_conf CONF = { .min_ttl_ms = 0, .idle_grace_ms = 0,
				.max_ips_per_name = 1000, .max_zombies = 10000 };

/* what the core was told last, per address */
#define MAXSEEN 512
static struct {
	char ip[64];
	char names[256];
} SEEN[MAXSEEN];
static int NSEEN;

static void seen_cb(const struct fqc_addr *a, const char *const *names, size_t n,
		    void *arg)
{
	char ip[64], buf[256] = "";
	int i;

	inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->addr, ip, sizeof(ip));
	for (size_t k = 0; k < n; k++) {
		strncat(buf, k ? "," : "", sizeof(buf) - strlen(buf) - 1);
		strncat(buf, names[k], sizeof(buf) - strlen(buf) - 1);
	}
	for (i = 0; i < NSEEN && strcmp(SEEN[i].ip, ip); i++)
		;
	if (i == NSEEN) {
		ck_assert_int_lt(NSEEN, MAXSEEN);
		NSEEN++;
	}
	snprintf(SEEN[i].ip, sizeof(SEEN[i].ip), "%s", ip);
	snprintf(SEEN[i].names, sizeof(SEEN[i].names), "%s", buf);
}

/* names the core has for ip after draining ("" none, NULL never told) */
static const char *core_names(const char *ip)
{
	fqc_drain_changed(C, seen_cb, NULL);
	for (int i = 0; i < NSEEN; i++)
		if (!strcmp(SEEN[i].ip, ip))
			return SEEN[i].names;
	return NULL;
}

static struct fqc_addr A(const char *s)
{
	struct fqc_addr a = { 4, { 0 } };

	if (inet_pton(AF_INET, s, a.addr) != 1) {
		a.family = 6;
		ck_assert_int_eq(inet_pton(AF_INET6, s, a.addr), 1);
	}
	return a;
}

static void learn(const char *name, const char *ip, uint32_t ttl, int64_t now)
{
	struct fqc_addr a = A(ip);

	ck_assert_int_ge(fqc_learn(C, name, &a, 1, ttl, 7, now), 0);
}

/* one GC round; live: addresses with a connection ("" none) */
static size_t gc(int64_t now, const char *const *live)
{
	uint8_t (*addrs)[16];
	size_t n = fqc_gc_candidates(C, now, &addrs), removed;
	uint8_t *alive = calloc(n ? n : 1, 1);

	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; live && live[k]; k++) {
			struct fqc_addr a = A(live[k]);
			uint8_t m[16] = { 0 };

			if (a.family == 4) {
				m[10] = m[11] = 0xff;
				memcpy(m + 12, a.addr, 4);
			} else {
				memcpy(m, a.addr, 16);
			}
			if (!memcmp(m, addrs[i], 16))
				alive[i] = 1;
		}
	removed = fqc_gc_apply(C, now, (const uint8_t (*)[16])addrs, alive, n);
	free(addrs);
	free(alive);
	return removed;
}

static struct fqc_stats stats(void)
{
	struct fqc_stats st;

	fqc_stats(C, &st);
	return st;
}

static void setup(void)
{
	C = fqc_new(&CONF);
	NSEEN = 0;
}

static void teardown(void)
{
	fqc_free(C);
}

START_TEST(answers_are_learned_and_handed_to_the_core)
{
	struct fqc_addr two[2] = { A("192.0.2.1"), A("2001:db8::1") };

	ck_assert_int_eq(fqc_learn(C, "api.example.com.", two, 2, 60, 3, 1000), 2);
	ck_assert_str_eq(core_names("192.0.2.1"), "api.example.com.");
	ck_assert_str_eq(core_names("2001:db8::1"), "api.example.com.");
	/* the same answer again refreshes, tells the core nothing new */
	NSEEN = 0;
	ck_assert_int_eq(fqc_learn(C, "api.example.com.", two, 2, 60, 3, 2000), 0);
	ck_assert_ptr_null(core_names("192.0.2.1"));
	ck_assert_uint_eq(stats().refreshed, 2);
	/* a second name for an address: the core gets both */
	learn("www.example.com.", "192.0.2.1", 60, 3000);
	ck_assert_str_eq(core_names("192.0.2.1"), "www.example.com.,api.example.com.");
	ck_assert_uint_eq(stats().names, 2);
	ck_assert_uint_eq(stats().addresses, 2);
	ck_assert_uint_eq(stats().entries, 3);
	ck_assert_int_eq(fqc_learn(C, "", two, 1, 1, 0, 0), -EINVAL);
}
END_TEST

START_TEST(ttl_and_min_ttl_decide_expiry)
{
	struct fqc_conf conf = CONF;

	learn("a.example.", "192.0.2.1", 5, 0);
	ck_assert_int_eq(fqc_next_expiry(C), 5000);
	ck_assert_uint_eq(gc(4999, NULL), 0);
	ck_assert_uint_eq(gc(5000, NULL), 1);
	ck_assert_str_eq(core_names("192.0.2.1"), "");
	ck_assert_uint_eq(stats().entries, 0);
	ck_assert_uint_eq(stats().gc_deletions, 1);
	conf.min_ttl_ms = 60000;
	fqc_set_conf(C, &conf);
	learn("a.example.", "192.0.2.1", 0, 10000); /* a TTL of 0 still lasts a minute */
	ck_assert_uint_eq(gc(69999, NULL), 0);
	ck_assert_uint_eq(gc(70000, NULL), 1);
	/* a refresh with a shorter TTL never shortens */
	conf.min_ttl_ms = 0;
	fqc_set_conf(C, &conf);
	learn("b.example.", "192.0.2.2", 100, 0);
	learn("b.example.", "192.0.2.2", 1, 1000);
	ck_assert_uint_eq(gc(50000, NULL), 0);
}
END_TEST

START_TEST(live_connections_keep_expired_addresses)
{
	const char *const live[] = { "192.0.2.1", NULL };
	struct fqc_conf conf = CONF;

	learn("a.example.", "192.0.2.1", 10, 0);
	learn("a.example.", "192.0.2.2", 10, 0);
	/* expired: .1 carries a connection, .2 does not */
	ck_assert_uint_eq(gc(10000, live), 1);
	ck_assert_str_eq(core_names("192.0.2.1"), "a.example.");
	ck_assert_str_eq(core_names("192.0.2.2"), "");
	ck_assert_uint_eq(stats().zombies, 1);
	ck_assert_uint_eq(gc(20000, live), 0);
	/* the connection closed: gone at the next round (no grace) */
	ck_assert_uint_eq(gc(30000, NULL), 1);
	ck_assert_uint_eq(stats().zombies, 0);
	/* with a grace period: it stays that long after the last sign of life */
	conf.idle_grace_ms = 15000;
	fqc_set_conf(C, &conf);
	learn("a.example.", "192.0.2.1", 10, 100000);
	ck_assert_uint_eq(gc(110000, live), 0); /* expired, alive at 110000 */
	ck_assert_uint_eq(gc(120000, NULL), 0); /* 10 s idle */
	ck_assert_uint_eq(gc(124999, NULL), 0);
	ck_assert_uint_eq(gc(125000, NULL), 1); /* 15 s idle */
	/* never alive: grace counts from the expiry */
	learn("a.example.", "192.0.2.3", 1, 200000);
	ck_assert_uint_eq(gc(215999, NULL), 0);
	ck_assert_uint_eq(gc(216000, NULL), 1);
	/* a fresh answer revives a zombie */
	learn("a.example.", "192.0.2.4", 1, 300000);
	ck_assert_uint_eq(gc(302000, live), 0);
	ck_assert_uint_eq(stats().zombies, 1); /* in its grace period */
	learn("a.example.", "192.0.2.4", 100, 303000);
	ck_assert_uint_eq(stats().zombies, 0);
}
END_TEST

START_TEST(rotating_addresses_respect_the_cap_without_cutting_connections)
{
	struct fqc_conf conf = CONF;
	char ip[32];

	conf.max_ips_per_name = 10;
	fqc_set_conf(C, &conf);
	/* a name with 100 rotating addresses, 8 per answer */
	for (int i = 0; i < 100; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%d", i);
		learn("s3.example.", ip, 5, i * 100);
	}
	ck_assert_uint_eq(stats().evictions, 90);
	/* the capped ones go the zombie way: the one with a connection stays */
	{
		const char *const live[] = { "198.51.100.3", NULL };

		ck_assert_uint_eq(gc(20000, live), 99);
		ck_assert_str_eq(core_names("198.51.100.3"), "s3.example.");
		ck_assert_str_eq(core_names("198.51.100.4"), "");
	}
}
END_TEST

START_TEST(zombie_cap_drops_the_oldest)
{
	struct fqc_conf conf = CONF;
	const char *const live[] = { "192.0.2.1", "192.0.2.2", "192.0.2.3", NULL };

	conf.max_zombies = 2;
	fqc_set_conf(C, &conf);
	learn("a.example.", "192.0.2.1", 1, 0);
	learn("b.example.", "192.0.2.2", 1, 1000);
	learn("c.example.", "192.0.2.3", 1, 2000);
	ck_assert_uint_eq(gc(3000, live), 1);
	ck_assert_uint_eq(stats().zombie_evictions, 1);
	ck_assert_uint_eq(stats().zombies, 2);
	/* all showed life in the same round: the earliest expiry goes */
	ck_assert_str_eq(core_names("192.0.2.1"), "");
	ck_assert_str_eq(core_names("192.0.2.3"), "c.example.");
}
END_TEST

START_TEST(clean_by_name_or_pattern)
{
	learn("a.example.", "192.0.2.1", 60, 0);
	learn("b.example.", "192.0.2.2", 60, 0);
	learn("x.other.", "192.0.2.3", 60, 0);
	ck_assert_int_eq(fqc_clean(C, "a.example"), 1);
	ck_assert_str_eq(core_names("192.0.2.1"), "");
	ck_assert_int_eq(fqc_clean(C, "*.EXAMPLE."), 1);
	ck_assert_int_eq(fqc_clean(C, "nothing.example"), 0);
	ck_assert_int_eq(fqc_clean(C, "bad pattern"), -EINVAL);
	ck_assert_int_eq(fqc_clean(C, NULL), 1);
	ck_assert_uint_eq(stats().entries, 0);
	ck_assert_uint_eq(stats().cleaned, 3);
}
END_TEST

START_TEST(file_round_trip_keeps_pairs_and_expired_ones_as_zombies)
{
	json_t *doc, *bad;
	struct fqc *c2;
	char *text;

	learn("a.example.", "192.0.2.1", 60, 0);
	learn("b.example.", "2001:db8::5", 5, 0);
	doc = fqc_to_json(C, 0, NULL, NULL);
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_ptr_nonnull(strstr(text, "\"ip\":\"192.0.2.1\""));
	ck_assert_ptr_nonnull(strstr(text, "\"endpoints\":[7]"));
	free(text);
	/* a restart 30 s later: b expired while the daemon was down */
	c2 = fqc_new(&CONF);
	ck_assert_int_eq(fqc_restore(c2, doc, 30000), 2);
	{
		struct fqc_stats st;

		fqc_stats(c2, &st);
		ck_assert_uint_eq(st.entries, 2);
		ck_assert_uint_eq(st.zombies, 1);
		ck_assert_uint_eq(st.learned, 0);
	}
	fqc_free(C);
	C = c2;
	fqc_mark_all_changed(C);
	ck_assert_str_eq(core_names("192.0.2.1"), "a.example.");
	ck_assert_str_eq(core_names("2001:db8::5"), "b.example.");
	/* b goes at the next collection unless conntrack says otherwise */
	ck_assert_uint_eq(gc(30000, NULL), 1);
	ck_assert_int_eq(fqc_next_expiry(C), 60000);
	json_decref(doc);
	/* a bad file keeps nothing */
	bad = json_loads("{\"version\":1,\"entries\":[{\"name\":\"a.example.\",\"ip\":\"192.0.2.9\","
			 "\"expires\":1,\"lookup\":1},{\"name\":\"NOT normal\",\"ip\":\"1.2.3.4\","
			 "\"expires\":1,\"lookup\":1}]}", 0, NULL);
	c2 = fqc_new(&CONF);
	ck_assert_int_eq(fqc_restore(c2, bad, 0), -EINVAL);
	{
		struct fqc_stats st;

		fqc_stats(c2, &st);
		ck_assert_uint_eq(st.entries, 0);
	}
	fqc_free(c2);
	json_decref(bad);
	bad = json_loads("{\"version\":2,\"entries\":[]}", 0, NULL);
	c2 = fqc_new(&CONF);
	ck_assert_int_eq(fqc_restore(c2, bad, 0), -EINVAL);
	fqc_free(c2);
	json_decref(bad);
}
END_TEST

static void count_cb(const struct fqc_addr *a, const char *const *names, size_t n,
		     void *arg)
{
	(*(size_t *)arg)++;
}

START_TEST(many_names_and_addresses)
{
	char name[64], ip[32];
	size_t told = 0;

	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "n%d.example.", i % 5000);
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", 100 + i / 65536, (i / 256) % 256, i % 256);
		learn(name, ip, 30, i);
	}
	ck_assert_uint_eq(stats().names, 5000);
	ck_assert_uint_eq(stats().addresses, 20000);
	fqc_drain_changed(C, count_cb, &told);
	ck_assert_uint_eq(told, 20000);
	ck_assert_uint_eq(gc(100000, NULL), 20000);
	told = 0;
	fqc_drain_changed(C, count_cb, &told);
	ck_assert_uint_eq(told, 20000);
	ck_assert_uint_eq(stats().entries, 0);
}
END_TEST

static Suite *fqdn_cache_suite(void)
{
	Suite *s = suite_create("fqdn_cache");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, answers_are_learned_and_handed_to_the_core);
	tcase_add_test(tc, ttl_and_min_ttl_decide_expiry);
	tcase_add_test(tc, live_connections_keep_expired_addresses);
	tcase_add_test(tc, rotating_addresses_respect_the_cap_without_cutting_connections);
	tcase_add_test(tc, zombie_cap_drops_the_oldest);
	tcase_add_test(tc, clean_by_name_or_pattern);
	tcase_add_test(tc, file_round_trip_keeps_pairs_and_expired_ones_as_zombies);
	tcase_add_test(tc, many_names_and_addresses);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fqdn_cache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
