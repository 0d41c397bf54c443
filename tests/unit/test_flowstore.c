/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_flowstore.c - the flowstore module's parts without a
 * daemon: the loop's aggregation of a batch, and the database thread:
 * writes, the history query with its filters and window, denied counts per
 * endpoint, retention by age and by size, a damaged file moved aside, an
 * unclean stop reported, a full queue counted.
 */
#include <check.h>
#include <errno.h>
#include <glob.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "lib/flowpeer.h"
#include "modules/flowstore/flowstore.h"

static char basedir[256], tmpdir[300], dbpath[360];

/*
 * The parent makes one directory for the whole case and removes it after
 * the last test, also when a test failed (a failing test's own teardown
 * does not run: it runs in the test's process); each test works in a
 * directory of its own inside it.
 */
static void
case_setup(void)
{
	snprintf(basedir, sizeof(basedir), "/tmp/test_flowstore.XXXXXX");
	if (mkdtemp(basedir) == NULL)
		abort();
}

static void
case_teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", basedir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", basedir);
}

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/t.XXXXXX", basedir);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/flows.db", tmpdir);
}

static void
teardown(void)
{
}

static struct fs_rec
rec(int64_t bucket, const char *src, const char *dst, uint16_t port, int verdict,
    const char *pols, uint64_t count, int64_t t)
{
	struct fs_rec r;

	memset(&r, 0, sizeof(r));
	r.bucket = bucket;
	r.src = (char *)src;
	r.dst = (char *)dst;
	r.src_kind = BW_PEER_POD;
	r.dst_kind = strchr(dst, '.') ? BW_PEER_WORLD : BW_PEER_POD;
	r.src_ns = (char *)"x";
	r.dst_ns = r.dst_kind == BW_PEER_POD ? (char *)"y" : NULL;
	r.port = port;
	r.proto = 6;
	r.dir = BW_FLOW_TRAFFIC_INGRESS;
	r.verdict = (uint8_t)verdict;
	r.policies = (char *)pols;
	r.count = count;
	r.first = r.last = t;
	return r;
}

static struct fs_db *
start(int64_t retention, int64_t max_size, size_t queue, int *fd)
{
	struct fs_db_settings s = {
		.path = dbpath, .retention = retention, .raw_retention = retention,
		.max_size = max_size, .bucket = 60000, .queue_max = queue,
	};
	struct fs_db *db = NULL;

	ck_assert_int_eq(fs_db_start(&db, &s, fd), 0);
	return db;
}

static void
wait_stats(struct fs_db *db, int (*cond)(const struct fs_db_stats *))
{
	struct fs_db_stats st;

	/* generous: a loaded machine (CI, shared hosts) may be slow */
	for (int i = 0; i < 6000; i++) {
		fs_db_stats(db, &st);
		if (cond(&st))
			return;
		usleep(10000);
	}
	ck_abort_msg("the database thread did not get there in 60 s");
}

static int st_available(const struct fs_db_stats *st) { return st->available || st->error[0]; }
static int st_one_batch(const struct fs_db_stats *st) { return st->batches + st->write_errors >= 1; }
static int st_deleted(const struct fs_db_stats *st) { return st->deleted_rows > 0; }

struct result {
	int done;
	json_t *doc;
	char error[512];
};

static void
query_done(struct fs_query *q)
{
	struct result *r = q->arg;

	r->done = 1;
	r->doc = json_incref(q->result);
	snprintf(r->error, sizeof(r->error), "%s", q->error);
	fs_query_free(q);
}

/* Run a query and wait for its answer on the "loop" (this thread). */
static json_t *
query(struct fs_db *db, int fd, enum fs_query_kind kind, int64_t since, const char *filter)
{
	struct fs_query *q = calloc(1, sizeof(*q));
	struct result r = { 0 };
	char err[256];

	q->kind = kind;
	q->since_ms = since;
	q->limit = 100;
	q->done = query_done;
	q->arg = &r;
	if (filter != NULL) {
		json_t *wl = json_loads(filter, 0, NULL);

		ck_assert_int_eq(bw_flowfilters_parse(&q->filters, wl, NULL, err, sizeof(err)), 0);
		json_decref(wl);
		q->has_filters = 1;
	}
	fs_db_query(db, q);
	for (int i = 0; i < 1000 && !r.done; i++) {
		struct pollfd p = { fd, POLLIN, 0 };

		poll(&p, 1, 10);
		fs_db_complete(db);
	}
	ck_assert_msg(r.done, "no answer in 10 s");
	ck_assert_msg(r.doc != NULL, "query failed: %s", r.error);
	return r.doc;
}

static int64_t
now_ms(void)
{
	return (int64_t)time(NULL) * 1000;
}

/* ---- the batch ------------------------------------------------------------------ */

START_TEST(test_batch_aggregates_one_key)
{
	struct fs_batch *b = fs_batch_new(1000);
	struct fs_rec r1 = rec(60000, "x/a", "y/b", 80, BW_FLOW_VERDICT_FORWARDED, "", 1, 61000);
	struct fs_rec r2 = rec(60000, "x/a", "y/b", 80, BW_FLOW_VERDICT_FORWARDED, "", 1, 65000);
	struct fs_rec r3 = rec(120000, "x/a", "y/b", 80, BW_FLOW_VERDICT_FORWARDED, "", 1, 121000);
	struct fs_rec r4 = rec(60000, "x/a", "y/b", 80, BW_FLOW_VERDICT_DROPPED,
			       "NetworkPolicy y/deny", 1, 62000);
	struct fs_rec *e = NULL;

	ck_assert_int_eq(fs_batch_add(b, &r2), 0);
	ck_assert_int_eq(fs_batch_add(b, &r1), 0);
	ck_assert_int_eq(fs_batch_add(b, &r3), 0);
	ck_assert_int_eq(fs_batch_add(b, &r4), 0);
	/* same key and bucket: one record; another bucket or verdict: another */
	ck_assert_uint_eq(b->nrecs, 3);
	ck_assert_uint_eq(b->flows, 4);
	for (size_t i = 0; i < b->nbuckets; i++)
		for (struct fs_rec *x = b->recs[i]; x != NULL; x = x->hnext)
			if (x->bucket == 60000 && x->verdict == BW_FLOW_VERDICT_FORWARDED)
				e = x;
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->count, 2);
	ck_assert_int_eq(e->first, 61000);
	ck_assert_int_eq(e->last, 65000);
	fs_batch_free(b);
}
END_TEST

START_TEST(test_seen_keeps_the_latest)
{
	struct fs_seen_table t;
	const struct fs_seen *s;

	ck_assert_int_eq(fs_seen_table_init(&t), 0);
	fs_seen_table_note(&t, "x/web", FS_PATH_INGRESS_WORLD, 2000);
	fs_seen_table_note(&t, "x/web", FS_PATH_INGRESS_WORLD, 1000);
	fs_seen_table_note(&t, "x/web", FS_PATH_EGRESS_WORLD, 500);
	s = fs_seen_table_get(&t, "x/web");
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->last[FS_PATH_INGRESS_WORLD], 2000);
	ck_assert_int_eq(s->last[FS_PATH_INGRESS_OTHER_NS], 0);
	ck_assert_int_eq(s->last[FS_PATH_EGRESS_WORLD], 500);
	ck_assert_ptr_null(fs_seen_table_get(&t, "x/other"));
	ck_assert_int_eq(fs_seen_table_note(&t, "x/web", FS_NPATHS, 1), -EINVAL);
	fs_seen_table_note(&t, "x/old", FS_PATH_EGRESS_WORLD, 100);
	/* pruning keeps a workload while any of its paths is recent */
	ck_assert_uint_eq(fs_seen_table_prune(&t, 1000), 1);
	ck_assert_ptr_null(fs_seen_table_get(&t, "x/old"));
	ck_assert_ptr_nonnull(fs_seen_table_get(&t, "x/web"));
	fs_seen_table_clear(&t);
}
END_TEST

/* ---- the database ------------------------------------------------------------------ */

START_TEST(test_history_sums_across_batches_and_buckets)
{
	int fd;
	struct fs_db *db = start(7LL * 86400000, 1LL << 30, 64, &fd);
	int64_t t = now_ms() - now_ms() % 60000;
	struct fs_batch *b = fs_batch_new(1000);
	struct fs_rec r = rec(t - 60000, "x/a", "y/b", 80, BW_FLOW_VERDICT_FORWARDED, "", 2,
			      t - 50000);
	json_t *doc, *f;

	wait_stats(db, st_available);
	fs_batch_add(b, &r);
	r = rec(t, "x/a", "y/b", 80, BW_FLOW_VERDICT_FORWARDED, "", 3, t + 10);
	fs_batch_add(b, &r);
	r = rec(t, "x/a", "203.0.113.7/32", 443, BW_FLOW_VERDICT_DROPPED,
		"CiliumNetworkPolicy x/egress\nNetworkPolicy x/deny", 1, t + 20);
	fs_batch_add(b, &r);
	ck_assert_int_eq(fs_db_push(db, b), 0);
	b = fs_batch_new(1000);
	r = rec(t, "x/a", "y/b", 80, BW_FLOW_VERDICT_FORWARDED, "", 1, t + 30);
	fs_batch_add(b, &r);
	ck_assert_int_eq(fs_db_push(db, b), 0);

	doc = query(db, fd, FS_Q_HISTORY, 0, NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "flows")), 2);
	/* newest first: the x/a -> y/b row was last seen at t + 30 */
	f = json_array_get(json_object_get(doc, "flows"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(f, "source")), "x/a");
	ck_assert_str_eq(json_string_value(json_object_get(f, "destination")), "y/b");
	ck_assert_int_eq(json_integer_value(json_object_get(f, "count")), 6);
	ck_assert_str_eq(json_string_value(json_object_get(f, "protocol")), "TCP");
	ck_assert_str_eq(json_string_value(json_object_get(f, "direction")), "INGRESS");
	ck_assert_str_eq(json_string_value(json_object_get(f, "verdict")), "FORWARDED");
	ck_assert_uint_eq(json_array_size(json_object_get(f, "policies")), 0);
	f = json_array_get(json_object_get(doc, "flows"), 1);
	ck_assert_str_eq(json_string_value(json_object_get(f, "verdict")), "DROPPED");
	ck_assert_uint_eq(json_array_size(json_object_get(f, "policies")), 2);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(f, "policies"), 1)),
			 "NetworkPolicy x/deny");
	json_decref(doc);

	/* --since: only what was seen since then (the older bucket drops out) */
	doc = query(db, fd, FS_Q_HISTORY, t, NULL);
	f = json_array_get(json_object_get(doc, "flows"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(f, "count")), 4);
	json_decref(doc);

	/* FlowFilters: verdict, the outside by address, a workload prefix */
	doc = query(db, fd, FS_Q_HISTORY, 0, "[{\"verdict\":[\"DROPPED\"]}]");
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "flows")), 1);
	json_decref(doc);
	doc = query(db, fd, FS_Q_HISTORY, 0, "[{\"destination_ip\":[\"203.0.113.0/24\"]}]");
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "flows")), 1);
	json_decref(doc);
	doc = query(db, fd, FS_Q_HISTORY, 0, "[{\"destination_pod\":[\"y/\"]}]");
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "flows")), 1);
	json_decref(doc);
	doc = query(db, fd, FS_Q_HISTORY, 0, "[{\"destination_port\":[\"443\"],\"verdict\":[\"FORWARDED\"]}]");
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "flows")), 0);
	json_decref(doc);
	fs_db_stop(db);
}
END_TEST

START_TEST(test_denies_per_endpoint_and_direction)
{
	int fd;
	struct fs_db *db = start(7LL * 86400000, 1LL << 30, 64, &fd);
	int64_t t = now_ms() - now_ms() % 60000;
	struct fs_batch *b = fs_batch_new(1000);
	json_t *doc;

	wait_stats(db, st_available);
	fs_batch_deny(b, t, "x/a", BW_FLOW_TRAFFIC_INGRESS, BW_FLOW_VERDICT_DROPPED);
	fs_batch_deny(b, t, "x/a", BW_FLOW_TRAFFIC_INGRESS, BW_FLOW_VERDICT_DROPPED);
	fs_batch_deny(b, t, "x/a", BW_FLOW_TRAFFIC_EGRESS, BW_FLOW_VERDICT_AUDIT);
	fs_batch_deny(b, t - 3600000, "x/a", BW_FLOW_TRAFFIC_INGRESS, BW_FLOW_VERDICT_DROPPED);
	ck_assert_int_eq(fs_db_push(db, b), 0);
	doc = query(db, fd, FS_Q_DENIES, t - 60000, NULL);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
				 json_object_get(doc, "x/a"), "ingress"), "denied")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
				 json_object_get(doc, "x/a"), "egress"), "audited")), 1);
	json_decref(doc);
	doc = query(db, fd, FS_Q_DENIES, 0, NULL);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
				 json_object_get(doc, "x/a"), "ingress"), "denied")), 3);
	json_decref(doc);
	fs_db_stop(db);
}
END_TEST

START_TEST(test_retention_by_age)
{
	int fd;
	struct fs_db *db = start(86400000, 1LL << 30, 64, &fd);
	int64_t t = now_ms() - now_ms() % 60000;
	struct fs_batch *b = fs_batch_new(1000);
	struct fs_rec r = rec(t - 10LL * 86400000, "x/old", "y/b", 80, BW_FLOW_VERDICT_FORWARDED,
			      "", 1, t - 10LL * 86400000);
	struct fs_db_settings s = {
		.path = dbpath, .retention = 86400000, .raw_retention = 86400000,
		.max_size = 1LL << 30, .bucket = 60000, .queue_max = 64,
	};
	json_t *doc;

	wait_stats(db, st_available);
	fs_batch_add(b, &r);
	r = rec(t, "x/new", "y/b", 80, BW_FLOW_VERDICT_FORWARDED, "", 1, t);
	fs_batch_add(b, &r);
	ck_assert_int_eq(fs_db_push(db, b), 0);
	wait_stats(db, st_one_batch);
	fs_db_settings_update(db, &s); /* check retention now */
	wait_stats(db, st_deleted);
	doc = query(db, fd, FS_Q_HISTORY, 0, NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "flows")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
				 json_object_get(doc, "flows"), 0), "source")), "x/new");
	json_decref(doc);
	fs_db_stop(db);
}
END_TEST

static int64_t retention_oldest;
static int st_oldest_moved(const struct fs_db_stats *st) { return st->oldest_ms > retention_oldest; }

START_TEST(test_retention_by_size_drops_the_oldest_buckets)
{
	int fd;
	struct fs_db *db = start(365LL * 86400000, 1LL << 30, 1000, &fd);
	int64_t t = now_ms() - now_ms() % 60000;
	struct fs_db_settings s = {
		.path = dbpath, .retention = 365LL * 86400000, .raw_retention = 365LL * 86400000,
		.max_size = 1 << 20, .bucket = 60000, .queue_max = 1000,
	};
	struct fs_db_stats st;
	char src[64], line[512];
	sqlite3 *h;
	sqlite3_stmt *q;
	int64_t live = 0;

	wait_stats(db, st_available);
	/* about 4 MiB over 100 buckets (raw lines make it large quickly) */
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	for (int k = 0; k < 100; k++) {
		struct fs_batch *b = fs_batch_new(1000);
		int64_t bucket = t - (int64_t)(100 - k) * 60000;

		for (int i = 0; i < 80; i++) {
			struct fs_rec r;

			snprintf(src, sizeof(src), "x/w%d", i);
			r = rec(bucket, src, "y/b", 80, BW_FLOW_VERDICT_FORWARDED, "", 1, bucket);
			fs_batch_add(b, &r);
			fs_batch_raw(b, line, bucket + i);
		}
		ck_assert_int_eq(fs_db_push(db, b), 0);
	}
	for (int i = 0; i < 1000; i++) {
		fs_db_stats(db, &st);
		if (st.batches >= 100)
			break;
		usleep(10000);
	}
	ck_assert_uint_eq(st.batches, 100);
	retention_oldest = t - 100 * 60000;
	fs_db_settings_update(db, &s);
	wait_stats(db, st_oldest_moved);
	wait_stats(db, st_deleted);
	fs_db_stop(db);
	/* the live data is back under max_size, the newest buckets kept */
	ck_assert_int_eq(sqlite3_open(dbpath, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT (page_count - freelist_count) * page_size"
					    " FROM pragma_page_count, pragma_freelist_count, pragma_page_size",
					    -1, &q, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	live = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	ck_assert_msg(live <= (1 << 20), "live data %lld bytes > 1 MiB", (long long)live);
	ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT max(bucket) FROM flows", -1, &q, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int64(q, 0), t - 60000);
	sqlite3_finalize(q);
	sqlite3_close(h);
}
END_TEST

START_TEST(test_damaged_file_is_moved_aside)
{
	FILE *f = fopen(dbpath, "w");
	struct fs_db_stats st;
	struct fs_db *db;
	glob_t g;
	char pat[400];
	int fd;

	for (int i = 0; i < 512; i++)
		fputs("not a database ", f);
	fclose(f);
	db = start(86400000, 1LL << 30, 64, &fd);
	wait_stats(db, st_available);
	fs_db_stats(db, &st);
	ck_assert_int_eq(st.available, 1);
	ck_assert_msg(strstr(st.notice, "was damaged") && strstr(st.notice, "moved it to"),
		      "notice: %s", st.notice);
	fs_db_stop(db);
	snprintf(pat, sizeof(pat), "%s.bad-*", dbpath);
	ck_assert_int_eq(glob(pat, 0, NULL, &g), 0);
	ck_assert_uint_eq(g.gl_pathc, 1);
	globfree(&g);
}
END_TEST

START_TEST(test_unclean_stop_is_reported)
{
	struct fs_db_stats st;
	struct fs_db *db;
	sqlite3 *h;
	int fd;

	db = start(86400000, 1LL << 30, 64, &fd);
	wait_stats(db, st_available);
	fs_db_stats(db, &st);
	ck_assert_int_eq(st.unclean_start, 0);
	fs_db_stop(db);
	/* what a kill -9 leaves: the mark of a running daemon */
	ck_assert_int_eq(sqlite3_open(dbpath, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(h, "UPDATE meta SET value = '0' WHERE key = 'clean'",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	db = start(86400000, 1LL << 30, 64, &fd);
	wait_stats(db, st_available);
	fs_db_stats(db, &st);
	ck_assert_int_eq(st.unclean_start, 1);
	ck_assert_msg(strstr(st.notice, "did not close") != NULL, "notice: %s", st.notice);
	fs_db_stop(db);
}
END_TEST

START_TEST(test_full_queue_is_counted)
{
	struct fs_db_stats st;
	struct fs_batch *b = fs_batch_new(1000);
	struct fs_rec r = rec(0, "x/a", "y/b", 80, BW_FLOW_VERDICT_FORWARDED, "", 5, 1);
	int fd;
	struct fs_db *db = start(86400000, 1LL << 30, 0, &fd);

	fs_batch_add(b, &r);
	ck_assert_int_eq(fs_db_push(db, b), -ENOBUFS);
	fs_db_stats(db, &st);
	ck_assert_uint_eq(st.dropped, 1);
	ck_assert_uint_eq(st.dropped_flows, 5);
	fs_db_stop(db);
}
END_TEST

static Suite *
flowstore_suite(void)
{
	Suite *s = suite_create("flowstore");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_batch_aggregates_one_key);
	tcase_add_test(tc, test_seen_keeps_the_latest);
	tcase_add_test(tc, test_history_sums_across_batches_and_buckets);
	tcase_add_test(tc, test_denies_per_endpoint_and_direction);
	tcase_add_test(tc, test_retention_by_age);
	tcase_add_test(tc, test_retention_by_size_drops_the_oldest_buckets);
	tcase_add_test(tc, test_damaged_file_is_moved_aside);
	tcase_add_test(tc, test_unclean_stop_is_reported);
	tcase_add_test(tc, test_full_queue_is_counted);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(flowstore_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
