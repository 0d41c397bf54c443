/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_identity.c - identities: the reserved numbers and labels,
 * equal label sets getting equal numbers through the core and the
 * identity-local module, the local (CIDR) range and Cilium's CIDR label
 * spelling, and the module's table surviving a fresh instance on the same
 * state directory; 10,000 allocations in one loop turn written once, and
 * pending changes written at stop and when the allocator goes.
 *
 * The identity-local module is compiled into this test (its source is
 * included) and driven through its descriptor with the tests' fake core
 * (tests/unit/fake_core.h), the way the daemon drives it.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/node/identity.h"
#include "core/node/ipcache.h"
#include "core/node/labels.h"
#include "core/module/registry.h"
#include "tests/unit/fake_core.h"
#include "bpf/bw_datapath.h"

#include "modules/identity-local/identity_local.c"
#include "tests/unit/tmpdir.h"

/* ---- the module, driven through the tests' fake core ------------------------ */

static struct fake_ctx ctx1 = { .module = "identity-local" },
		       ctx2 = { .module = "identity-local" };

/* The "daemon's loop": the tests turn it by hand (loop_turn()). */
static struct event_base *fake_base;

/* Into the core's real registry, with the instance as the owner. */
static int allocator_set(bw_module_ctx *ctx, const struct bw_identity_allocator *a)
{
	return bw_identity_allocator_set(a, ctx);
}

static char statedir[256];

static void start_module(struct fake_ctx *c, const char *keep)
{
	struct idl_conf conf = { .keep_released = 0 };

	if (!strcmp(keep, "24h"))
		conf.keep_released = 24LL * 3600 * 1000;
	c->state_dir = statedir;
	c->data = NULL;
	ck_assert_int_eq(bw_module_desc.init(FAKE_CTX(c), fake_core_api(), &conf), 0);
	ck_assert_ptr_nonnull(bw_identity_allocator_get());
}

static void stop_module(struct fake_ctx *c)
{
	bw_registry_drop_owner(c);
	ck_assert_ptr_null(bw_identity_allocator_get());
}

static void setup(void)
{
	bw_test_tmp(statedir, sizeof(statedir), "bw-test-identity-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(statedir));
	ck_assert_ptr_nonnull(fake_base = event_base_new());
	fake_core_reset();
	fake_core.base = fake_base;
	fake_core.log_stderr = 1;
	fake_core.allocator_set = allocator_set;
	ck_assert_int_eq(bw_identity_init(), 0);
}

static void teardown(void)
{
	char cmd[512];

	bw_identity_fini();
	event_base_free(fake_base);
	fake_base = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", statedir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct bw_labelset *ls_of(const char *text)
{
	struct bw_labelset *ls = bw_labelset_from_text(text, NULL, 0);

	ck_assert_ptr_nonnull(ls);
	return ls;
}

static char *labels_text(uint32_t id)
{
	const struct bw_labelset *ls = bw_identity_labels(id);

	ck_assert_msg(ls != NULL, "identity %u has no labels", id);
	return bw_labelset_text(ls);
}

/* ---- tests ------------------------------------------------------------------ */

START_TEST(reserved_identities_have_ciliums_numbers)
{
	static const struct { uint32_t id; const char *labels; } want[] = {
		{ 1, "reserved:host" }, { 2, "reserved:world" },
		{ 3, "reserved:unmanaged" }, { 4, "reserved:health" },
		{ 5, "reserved:init" }, { 6, "reserved:remote-node" },
		{ 7, "reserved:kube-apiserver\nreserved:remote-node" },
		{ 8, "reserved:ingress" }, { 9, "reserved:world-ipv4" },
		{ 10, "reserved:world-ipv6" }, { 11, "reserved:overlay-to-encrypt" },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char *t = labels_text(want[i].id);

		ck_assert_str_eq(t, want[i].labels);
		free(t);
		ck_assert_int_eq(bw_identity_scope_of(want[i].id), BW_IDENTITY_SCOPE_RESERVED);
	}
	ck_assert_ptr_null(bw_identity_labels(0));
	ck_assert_ptr_null(bw_identity_labels(12));
	ck_assert_ptr_null(bw_identity_labels(256));
}
END_TEST

START_TEST(reserved_labels_give_the_reserved_number)
{
	struct bw_labelset *ls = ls_of("reserved:host");
	uint32_t id = 0;

	/* No allocator needed: reserved sets never reach it. */
	ck_assert_int_eq(bw_identity_acquire(ls, &id), 0);
	ck_assert_uint_eq(id, BW_ID_HOST);
	bw_identity_release(id);
	ck_assert_ptr_nonnull(bw_identity_labels(BW_ID_HOST));
	bw_labelset_free(ls);
}
END_TEST

START_TEST(no_identity_module_is_an_error)
{
	struct bw_labelset *ls = ls_of("k8s:app=web");
	uint32_t id = 0;

	ck_assert_int_eq(bw_identity_acquire(ls, &id), -ENODEV);
	bw_labelset_free(ls);
}
END_TEST

START_TEST(equal_labels_get_equal_numbers)
{
	struct bw_labelset *a = ls_of("k8s:app=web\nk8s:io.kubernetes.pod.namespace=x");
	struct bw_labelset *a2 = ls_of("k8s:io.kubernetes.pod.namespace=x\nk8s:app=web");
	struct bw_labelset *b = ls_of("k8s:app=db\nk8s:io.kubernetes.pod.namespace=x");
	uint32_t ia, ia2, ib;

	start_module(&ctx1, "24h");
	ck_assert_int_eq(bw_identity_acquire(a, &ia), 0);
	ck_assert_int_eq(bw_identity_acquire(a2, &ia2), 0);
	ck_assert_int_eq(bw_identity_acquire(b, &ib), 0);
	ck_assert_uint_eq(ia, 256);
	ck_assert_uint_eq(ia2, ia);
	ck_assert_uint_eq(ib, 257);
	ck_assert_uint_eq(bw_identity_refs(ia), 2);
	ck_assert_uint_eq(bw_identity_refs(ib), 1);
	ck_assert_int_eq(bw_identity_scope_of(ia), BW_IDENTITY_SCOPE_GLOBAL);
	ck_assert(bw_labelset_equal(bw_identity_labels(ia), a));
	bw_identity_release(ia);
	ck_assert_uint_eq(bw_identity_refs(ia), 1);
	bw_identity_release(ia);
	ck_assert_ptr_null(bw_identity_labels(ia));
	/* The same labels come back: the same number (kept for 24h). */
	ck_assert_int_eq(bw_identity_acquire(a, &ia2), 0);
	ck_assert_uint_eq(ia2, ia);
	bw_identity_release(ia2);
	bw_identity_release(ib);
	stop_module(&ctx1);
	bw_labelset_free(a);
	bw_labelset_free(a2);
	bw_labelset_free(b);
}
END_TEST

START_TEST(numbers_survive_a_fresh_allocator)
{
	struct bw_labelset *a = ls_of("k8s:app=web"), *b = ls_of("k8s:app=db");
	struct bw_labelset *c = ls_of("k8s:app=cache");
	uint32_t ia, ib, ic, ja, jb;
	char path[512];

	start_module(&ctx1, "24h");
	ck_assert_int_eq(bw_identity_acquire(a, &ia), 0);
	ck_assert_int_eq(bw_identity_acquire(b, &ib), 0);
	ck_assert_int_eq(bw_identity_acquire(c, &ic), 0);
	bw_identity_release(ic); /* released, but kept */
	/* Daemon "stops": the core forgets, the module instance goes. */
	bw_identity_fini();
	stop_module(&ctx1);
	snprintf(path, sizeof(path), "%s/identities.json", statedir);
	ck_assert_int_eq(access(path, R_OK), 0);

	/* "Restart": a new instance on the same directory. Acquire in another
	 * order; the numbers must be those of the first run. */
	ck_assert_int_eq(bw_identity_init(), 0);
	start_module(&ctx2, "24h");
	ck_assert_int_eq(bw_identity_acquire(b, &jb), 0);
	ck_assert_int_eq(bw_identity_acquire(a, &ja), 0);
	ck_assert_uint_eq(ja, ia);
	ck_assert_uint_eq(jb, ib);
	ck_assert_int_eq(bw_identity_acquire(c, &ic), 0);
	ck_assert_uint_eq(ic, 258);
	/* A new label set does not take a kept number. */
	{
		struct bw_labelset *d = ls_of("k8s:app=new");
		uint32_t id;

		ck_assert_int_eq(bw_identity_acquire(d, &id), 0);
		ck_assert_uint_eq(id, 259);
		bw_identity_release(id);
		bw_labelset_free(d);
	}
	bw_identity_release(ja);
	bw_identity_release(jb);
	bw_identity_release(ic);
	stop_module(&ctx2);
	bw_labelset_free(a);
	bw_labelset_free(b);
	bw_labelset_free(c);
}
END_TEST

START_TEST(released_numbers_are_reused_when_keep_is_zero)
{
	struct bw_labelset *a = ls_of("k8s:app=web"), *b = ls_of("k8s:app=db");
	uint32_t ia, ib;

	start_module(&ctx1, "0");
	ck_assert_int_eq(bw_identity_acquire(a, &ia), 0);
	bw_identity_release(ia);
	ck_assert_int_eq(bw_identity_acquire(b, &ib), 0);
	ck_assert_uint_eq(ib, ia);
	bw_identity_release(ib);
	stop_module(&ctx1);
	bw_labelset_free(a);
	bw_labelset_free(b);
}
END_TEST

START_TEST(local_scope_starts_at_0x01000001)
{
	const struct bw_identity_allocator *al;
	uint32_t id, id2, g;

	start_module(&ctx1, "24h");
	al = bw_identity_allocator_get();
	ck_assert_int_eq(al->allocate(al->user_data, "cidr:10.0.0.0/8\nreserved:world", 1, &id), 0);
	ck_assert_uint_eq(id, 0x01000001u);
	ck_assert_int_eq(bw_identity_scope_of(id), BW_IDENTITY_SCOPE_LOCAL);
	ck_assert_int_eq(al->allocate(al->user_data, "cidr:10.0.0.0/8\nreserved:world", 1, &id2), 0);
	ck_assert_uint_eq(id2, id);
	ck_assert_int_eq(al->allocate(al->user_data, "k8s:app=x", 0, &g), 0);
	ck_assert_uint_eq(g, 256);
	ck_assert_int_eq(al->release(al->user_data, id), 0);
	ck_assert_int_eq(al->release(al->user_data, id), 0);
	ck_assert_int_eq(al->release(al->user_data, id), -ENOENT);
	ck_assert_int_eq(al->release(al->user_data, g), 0);
	stop_module(&ctx1);
}
END_TEST

START_TEST(cidr_labels_use_ciliums_spelling)
{
	char buf[96];

	ck_assert_int_eq(bw_identity_cidr_label("10.0.0.0/8", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "10.0.0.0/8");
	ck_assert_int_eq(bw_identity_cidr_label("192.0.2.7", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "192.0.2.7/32");
	ck_assert_int_eq(bw_identity_cidr_label("2001:db8::/32", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "2001-db8--0/32");
	ck_assert_int_eq(bw_identity_cidr_label("::/0", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "0--0/0");
	ck_assert_int_eq(bw_identity_cidr_label("::1/128", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "0--1/128");
	ck_assert_int_eq(bw_identity_cidr_label("f00d::/16", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "f00d--0/16");
	ck_assert_int_eq(bw_identity_cidr_label("10.0.0.1/8", buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(bw_identity_cidr_label("10.0.0.0/33", buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(bw_identity_cidr_label("nope", buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(lookup_of_an_unknown_address_is_world)
{
	struct bw_ipcache_entry e;
	uint8_t a[16] = { 192, 0, 2, 1 };

	ck_assert_int_eq(bw_ipcache_lookup(4, a, &e), -ENOENT);
	ck_assert_uint_eq(e.identity, BW_ID_WORLD);
	ck_assert_uint_eq(e.ep_id, 0);
}
END_TEST

static int count_cb(uint32_t id, const struct bw_labelset *labels, void *arg)
{
	(*(unsigned *)arg)++;
	return 0;
}

START_TEST(foreach_and_json_list_every_identity)
{
	struct bw_labelset *a = ls_of("k8s:app=web");
	unsigned n = 0;
	uint32_t ia;
	json_t *j;

	start_module(&ctx1, "24h");
	ck_assert_int_eq(bw_identity_acquire(a, &ia), 0);
	bw_identity_foreach(count_cb, &n);
	ck_assert_uint_eq(n, 12);
	j = bw_identity_to_json(ia);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "id")), 256);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "refs")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(j, "scope")), "global");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "labels"), 0)),
			 "k8s:app=web");
	json_decref(j);
	j = bw_identity_to_json(7);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "labels")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(j, "scope")), "reserved");
	json_decref(j);
	bw_identity_release(ia);
	stop_module(&ctx1);
	bw_labelset_free(a);
}
END_TEST

/* One turn of the loop: runs the module's pending save, if any. */
static void loop_turn(void)
{
	ck_assert_int_ge(event_base_loop(fake_base, EVLOOP_NONBLOCK), 0);
}

static struct idl *module_state(struct fake_ctx *c)
{
	ck_assert_ptr_nonnull(c->data);
	return c->data;
}

static void cidr_labels(char *buf, size_t len, int i)
{
	snprintf(buf, len, "cidr:10.%d.%d.%d/32\nreserved:world", 16 + (i >> 16),
		 (i >> 8) & 255, i & 255);
}

/* Entries in the state file with its journal's records applied, or -1 if
 * there is no file. */
static int file_entries(void)
{
	char path[512], line[4096];
	json_t *doc, *a;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "%s/identities.json", statedir);
	doc = json_load_file(path, 0, NULL);
	if (!doc)
		return -1;
	a = json_object_get(doc, "identities");
	strcat(path, ".journal");
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		json_t *rec = json_loads(line, 0, NULL), *put;
		json_int_t id;
		size_t i;

		ck_assert_ptr_nonnull(rec);
		put = json_object_get(rec, "put");
		id = put ? json_integer_value(json_object_get(put, "id"))
			 : json_integer_value(json_object_get(rec, "del"));
		for (i = 0; i < json_array_size(a); i++)
			if (json_integer_value(json_object_get(json_array_get(a, i), "id")) == id)
				break;
		if (i < json_array_size(a))
			json_array_remove(a, i);
		if (put)
			json_array_append(a, put);
		json_decref(rec);
	}
	if (f)
		fclose(f);
	n = (int)json_array_size(a);
	json_decref(doc);
	return n;
}

#define MANY 10000

START_TEST(many_allocations_are_written_once_and_survive)
{
	static uint32_t ids[MANY];
	const struct bw_identity_allocator *al;
	struct timespec t0, t1;
	struct idl *s;
	char l[96];
	uint32_t id;

	start_module(&ctx1, "24h");
	al = bw_identity_allocator_get();
	s = module_state(&ctx1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < MANY; i++) {
		cidr_labels(l, sizeof(l), i);
		ck_assert_int_eq(al->allocate(al->user_data, l, 1, &ids[i]), 0);
		ck_assert_uint_eq(ids[i], 0x01000001u + (uint32_t)i);
	}
	/* Nothing written while the "handler" runs ... */
	ck_assert_uint_eq(s->saves, 0);
	ck_assert_int_eq(file_entries(), -1);
	/* ... and one file once the loop turns. */
	loop_turn();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# %d local-scope allocations and their save: %.1f ms\n", MANY,
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	ck_assert_uint_eq(s->saves, 1);
	ck_assert_int_eq(file_entries(), MANY);
	loop_turn();
	ck_assert_uint_eq(s->saves, 1);
	/* Lookups of known label sets write nothing. */
	cidr_labels(l, sizeof(l), 4711);
	ck_assert_int_eq(al->allocate(al->user_data, l, 1, &id), 0);
	ck_assert_uint_eq(id, ids[4711]);
	ck_assert_int_eq(al->release(al->user_data, id), 0);
	loop_turn();
	ck_assert_uint_eq(s->saves, 1);
	/* Releasing all of them (a policy deleted): one more write. */
	for (int i = 0; i < MANY; i++)
		ck_assert_int_eq(al->release(al->user_data, ids[i]), 0);
	loop_turn();
	ck_assert_uint_eq(s->saves, 2);
	stop_module(&ctx1);

	/* A fresh instance on the same directory, label sets asked for in
	 * the reverse order: the numbers of the first run. */
	start_module(&ctx2, "24h");
	al = bw_identity_allocator_get();
	s = module_state(&ctx2);
	for (int i = MANY - 1; i >= 0; i--) {
		cidr_labels(l, sizeof(l), i);
		ck_assert_int_eq(al->allocate(al->user_data, l, 1, &id), 0);
		ck_assert_uint_eq(id, ids[i]);
	}
	/* A new label set gets the next free number, not a kept one. */
	cidr_labels(l, sizeof(l), MANY);
	ck_assert_int_eq(al->allocate(al->user_data, l, 1, &id), 0);
	ck_assert_uint_eq(id, 0x01000001u + MANY);
	loop_turn();
	ck_assert_uint_eq(s->saves, 1);
	ck_assert_int_eq(file_entries(), MANY + 1);
	stop_module(&ctx2);
}
END_TEST

START_TEST(pending_changes_are_written_at_stop_and_when_the_allocator_goes)
{
	const struct bw_identity_allocator *al;
	uint32_t a, b, c, id;
	struct idl *s;

	start_module(&ctx1, "24h");
	al = bw_identity_allocator_get();
	s = module_state(&ctx1);
	ck_assert_int_eq(al->allocate(al->user_data, "k8s:app=a", 0, &a), 0);
	ck_assert_int_eq(al->allocate(al->user_data, "k8s:app=b", 0, &b), 0);
	ck_assert_int_eq(file_entries(), -1);
	/* The loop stops before it ran the save: stop writes it. */
	bw_module_desc.stop((bw_module_ctx *)(void *)&ctx1);
	ck_assert_uint_eq(s->saves, 1);
	ck_assert_int_eq(file_entries(), 2);
	/* After stop (the core's teardown), changes wait for the end. */
	ck_assert_int_eq(al->allocate(al->user_data, "k8s:app=c", 0, &c), 0);
	loop_turn();
	ck_assert_uint_eq(s->saves, 1);
	ck_assert_int_eq(file_entries(), 2);
	stop_module(&ctx1); /* the allocator goes: written */
	ck_assert_int_eq(file_entries(), 3);

	start_module(&ctx2, "24h");
	al = bw_identity_allocator_get();
	ck_assert_int_eq(al->allocate(al->user_data, "k8s:app=c", 0, &id), 0);
	ck_assert_uint_eq(id, c);
	ck_assert_int_eq(al->allocate(al->user_data, "k8s:app=b", 0, &id), 0);
	ck_assert_uint_eq(id, b);
	ck_assert_int_eq(al->allocate(al->user_data, "k8s:app=a", 0, &id), 0);
	ck_assert_uint_eq(id, a);
	stop_module(&ctx2);
}
END_TEST

START_TEST(a_failed_write_makes_allocation_synchronous_until_one_succeeds)
{
	const struct bw_identity_allocator *al;
	char path[512];
	struct idl *s;
	uint32_t id;

	start_module(&ctx1, "24h");
	al = bw_identity_allocator_get();
	s = module_state(&ctx1);
	/* A directory where the file goes: every write fails. */
	snprintf(path, sizeof(path), "%s/identities.json", statedir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(mkdir(strcat(path, "/x"), 0700), 0);
	ck_assert_int_eq(al->allocate(al->user_data, "k8s:app=a", 0, &id), 0);
	ck_assert_uint_eq(id, 256);
	loop_turn(); /* fails, logged */
	ck_assert_uint_eq(s->saves, 0);
	ck_assert_int_ne(al->allocate(al->user_data, "k8s:app=b", 0, &id), 0);
	/* The disk is back: allocation works and is written at once. */
	ck_assert_int_eq(rmdir(path), 0);
	path[strlen(path) - 2] = '\0';
	ck_assert_int_eq(rmdir(path), 0);
	ck_assert_int_eq(al->allocate(al->user_data, "k8s:app=b", 0, &id), 0);
	ck_assert_uint_eq(id, 257);
	ck_assert_uint_eq(s->saves, 1);
	ck_assert_int_eq(file_entries(), 2);
	stop_module(&ctx1);
}
END_TEST

static Suite *identity_suite(void)
{
	Suite *s = suite_create("identity");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, reserved_identities_have_ciliums_numbers);
	tcase_add_test(tc, reserved_labels_give_the_reserved_number);
	tcase_add_test(tc, no_identity_module_is_an_error);
	tcase_add_test(tc, equal_labels_get_equal_numbers);
	tcase_add_test(tc, numbers_survive_a_fresh_allocator);
	tcase_add_test(tc, released_numbers_are_reused_when_keep_is_zero);
	tcase_add_test(tc, local_scope_starts_at_0x01000001);
	tcase_add_test(tc, cidr_labels_use_ciliums_spelling);
	tcase_add_test(tc, foreach_and_json_list_every_identity);
	tcase_add_test(tc, lookup_of_an_unknown_address_is_world);
	tcase_add_test(tc, many_allocations_are_written_once_and_survive);
	tcase_add_test(tc, pending_changes_are_written_at_stop_and_when_the_allocator_goes);
	tcase_add_test(tc, a_failed_write_makes_allocation_synchronous_until_one_succeeds);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(identity_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
