/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_ipcache.c - core/node/ipcache.c's table against a brute-force
 * model: random IPv4 and IPv6 prefixes claimed and released by the three
 * owners, in random order; after every step a longest-prefix lookup of
 * random addresses must give what a linear scan of the model gives, and the
 * entries written to the "datapath" must be exactly the strongest claim of
 * every claimed prefix.
 *
 * The deferred mode (bw_ipcache_defer_begin/end) is held to the same model,
 * and the batched writes must say what each new prefix covered before
 * exactly as the kernel's longest-prefix match would.
 *
 * The datapath writes are the functions below (this test links
 * core/node/ipcache.c with them instead of core/datapath/datapath.c): they record what
 * would be in the kernel's LPM tries. The kernel side itself is tested by
 * the e2e tests.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/config.h" /* before bw_datapath.h */
#include "bpf/bw_datapath.h"
#include "core/datapath/datapath.h" /* the prototypes of the two functions below */
#include "core/node/ipcache.h"

/* core/config.c is not linked: no config (bw_ipcache_prune is not used here) */
const struct bw_daemon_conf *bw_conf;

/* ---- the recorded "datapath" ------------------------------------------------ */

#define MAXP 4096

struct dpent {
	int used, family, plen;
	uint8_t addr[16];
	struct bw_ipcache_value v;
};
static struct dpent DP[MAXP];

static struct dpent *dp_find(int family, const void *addr, int plen, int create)
{
	uint8_t a[16] = { 0 };
	struct dpent *free_slot = NULL;

	memcpy(a, addr, family == AF_INET ? 4 : 16);
	for (int i = 0; i < MAXP; i++) {
		if (DP[i].used && DP[i].family == family && DP[i].plen == plen &&
		    !memcmp(DP[i].addr, a, 16))
			return &DP[i];
		if (!DP[i].used && !free_slot)
			free_slot = &DP[i];
	}
	if (!create || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = 1;
	free_slot->family = family;
	free_slot->plen = plen;
	memcpy(free_slot->addr, a, 16);
	return free_slot;
}

int bw_datapath_ipcache_put(int family, const void *addr, int prefixlen,
			    const struct bw_ipcache_value *v)
{
	struct dpent *e = dp_find(family, addr, prefixlen, 1);

	if (!e)
		return -ENOSPC;
	e->v = *v;
	return 0;
}

int bw_datapath_ipcache_del(int family, const void *addr, int prefixlen)
{
	struct dpent *e = dp_find(family, addr, prefixlen, 0);

	if (!e)
		return -ENOENT;
	e->used = 0;
	return 0;
}

/*
 * Deferred writes. What the caller says each new prefix resolved to before
 * must be what the kernel's longest-prefix match among the entries not
 * longer than it gives (miss: world, no endpoint). DP_FAIL_AT >= 0 makes
 * the write of that entry (counted over all calls) fail with -E2BIG.
 */
static long DP_MANY_CALLS, DP_MANY_ENTRIES, DP_FAIL_AT = -1;

static void dp_covering(int family, const uint8_t *addr, int plen, uint32_t *id, uint32_t *ep)
{
	const struct dpent *best = NULL;

	for (int i = 0; i < MAXP; i++) {
		struct bw_prefix p = { .family = family == AF_INET ? 4 : 6, .plen = DP[i].plen };

		if (!DP[i].used || DP[i].family != family || DP[i].plen > plen)
			continue;
		memcpy(p.addr, DP[i].addr, 16);
		if (bw_prefix_contains(&p, p.family, addr) && (!best || DP[i].plen > best->plen))
			best = &DP[i];
	}
	*id = best ? best->v.identity : BW_ID_WORLD;
	*ep = best ? best->v.ep_id : 0;
}

int bw_datapath_ipcache_put_many(const struct bw_ipcache_write *w, size_t n, size_t *nwritten)
{
	*nwritten = 0;
	DP_MANY_CALLS++;
	for (size_t i = 0; i < n; i++) {
		uint32_t id, ep;
		int rc;

		ck_assert_uint_eq(w[i].v.ep_id, 0);
		dp_covering(w[i].family, w[i].addr, w[i].prefixlen, &id, &ep);
		ck_assert_uint_eq(w[i].old_identity, id);
		ck_assert_uint_eq(w[i].old_ep_id, ep);
		if (DP_FAIL_AT >= 0 && DP_MANY_ENTRIES == DP_FAIL_AT)
			return -E2BIG;
		rc = bw_datapath_ipcache_put(w[i].family, w[i].addr, w[i].prefixlen, &w[i].v);
		if (rc < 0)
			return rc;
		DP_MANY_ENTRIES++;
		(*nwritten)++;
	}
	return 0;
}

int bw_datapath_epaddr_prune(int (*keep)(int family, const uint8_t *addr, uint32_t ep_id),
			     int *pruned)
{
	(void)keep;
	(void)pruned;
	return 0;
}

/* ---- the model ------------------------------------------------------------------ */

struct claim {
	int valid;
	uint32_t identity, ep_id;
};

struct mpfx {
	struct bw_prefix p;
	struct claim c[5]; /* by owner */
};
static struct mpfx M[MAXP];
static int NM;

static int m_effective(const struct mpfx *m)
{
	for (int o = 4; o > 0; o--)
		if (m->c[o].valid)
			return o;
	return 0;
}

static struct mpfx *m_get(const struct bw_prefix *p)
{
	for (int i = 0; i < NM; i++)
		if (bw_prefix_equal(&M[i].p, p))
			return &M[i];
	if (NM == MAXP)
		return NULL;
	memset(&M[NM], 0, sizeof(M[NM]));
	M[NM].p = *p;
	return &M[NM++];
}

static void random_prefix(unsigned *seed, struct bw_prefix *p)
{
	static const int l4[] = { 0, 8, 16, 24, 28, 31, 32, 32 };
	static const int l6[] = { 0, 32, 48, 64, 112, 127, 128, 128 };
	int k = rand_r(seed) % 8;

	memset(p, 0, sizeof(*p));
	p->family = rand_r(seed) % 3 ? 4 : 6;
	if (p->family == 4) {
		p->addr[0] = 10;
		p->addr[1] = (uint8_t)(rand_r(seed) % 2);
		p->addr[2] = (uint8_t)(rand_r(seed) % 2);
		p->addr[3] = (uint8_t)(rand_r(seed) % 4);
		p->plen = l4[k];
	} else {
		p->addr[0] = 0x20;
		p->addr[1] = 0x01;
		p->addr[3] = (uint8_t)(rand_r(seed) % 2);
		p->addr[9] = (uint8_t)(rand_r(seed) % 2);
		p->addr[15] = (uint8_t)(rand_r(seed) % 4);
		p->plen = l6[k];
	}
	for (int b = p->plen; b < (p->family == 4 ? 32 : 128); b++)
		p->addr[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
}

static void check_all(unsigned *seed, int step)
{
	int want_entries = 0, have_entries = 0;

	/* lookups of random addresses */
	for (int t = 0; t < 64; t++) {
		struct bw_prefix a;
		struct bw_ipcache_entry e;
		const struct mpfx *best = NULL;
		int rc;

		random_prefix(seed, &a);
		a.plen = a.family == 4 ? 32 : 128;
		for (int i = 0; i < NM; i++)
			if (m_effective(&M[i]) && bw_prefix_contains(&M[i].p, a.family, a.addr) &&
			    (!best || M[i].p.plen > best->p.plen))
				best = &M[i];
		rc = bw_ipcache_lookup(a.family, a.addr, &e);
		if (!best) {
			ck_assert_msg(rc == -ENOENT, "step %d: lookup found a prefix the model has not", step);
			ck_assert_uint_eq(e.identity, BW_ID_WORLD);
		} else {
			int o = m_effective(best);

			ck_assert_msg(rc == 0, "step %d: lookup missed /%d", step, best->p.plen);
			ck_assert_msg(bw_prefix_equal(&e.prefix, &best->p), "step %d: wrong prefix /%d vs /%d",
				      step, e.prefix.plen, best->p.plen);
			ck_assert_uint_eq(e.identity, best->c[o].identity);
			ck_assert_uint_eq(e.ep_id, best->c[o].ep_id);
			ck_assert_int_eq((int)e.owner, o);
		}
	}
	/* the datapath holds the strongest claim of every claimed prefix, no more */
	for (int i = 0; i < NM; i++) {
		int o = m_effective(&M[i]);
		const struct dpent *d;

		if (!o)
			continue;
		want_entries++;
		d = dp_find(M[i].p.family == 4 ? AF_INET : AF_INET6, M[i].p.addr, M[i].p.plen, 0);
		ck_assert_msg(d != NULL, "step %d: /%d not in the datapath", step, M[i].p.plen);
		ck_assert_uint_eq(d->v.identity, M[i].c[o].identity);
		ck_assert_uint_eq(d->v.ep_id, M[i].c[o].ep_id);
	}
	for (int i = 0; i < MAXP; i++)
		have_entries += DP[i].used;
	ck_assert_int_eq(have_entries, want_entries);
}

START_TEST(test_table_matches_model)
{
	unsigned seed = 4242;

	memset(DP, 0, sizeof(DP));
	NM = 0;
	for (int step = 0; step < 6000; step++) {
		struct bw_prefix p;
		struct mpfx *m;
		int owner = 1 + rand_r(&seed) % 4, rc;

		random_prefix(&seed, &p);
		m = m_get(&p);
		ck_assert_ptr_nonnull(m);
		/* bursts of adds, then bursts of removals, to grow and shrink */
		if ((step / 1000) % 2 == 0 ? rand_r(&seed) % 4 != 0 : rand_r(&seed) % 4 == 0) {
			uint32_t id = 1000 + (uint32_t)(rand_r(&seed) % 50);
			uint32_t ep = owner == BW_IPCACHE_OWNER_ENDPOINT ? 1 + (uint32_t)(rand_r(&seed) % 9) : 0;

			rc = bw_ipcache_upsert(&p, id, ep, (enum bw_ipcache_owner)owner);
			ck_assert_int_eq(rc, 0);
			m->c[owner].valid = 1;
			m->c[owner].identity = id;
			m->c[owner].ep_id = ep;
		} else {
			rc = bw_ipcache_remove(&p, (enum bw_ipcache_owner)owner);
			ck_assert_int_eq(rc, m->c[owner].valid ? 0 : -ENOENT);
			m->c[owner].valid = 0;
		}
		if (step % 50 == 0)
			check_all(&seed, step);
	}
	check_all(&seed, -1);
	bw_ipcache_fini();
}
END_TEST

/*
 * The same random claims and releases in bursts between
 * bw_ipcache_defer_begin() and _end(): after each burst the table and the
 * "datapath" are what they would be without deferring, and the new
 * prefixes of the bursts went through the batched write.
 */
START_TEST(test_deferred_matches_model)
{
	unsigned seed = 777;

	memset(DP, 0, sizeof(DP));
	NM = 0;
	DP_MANY_CALLS = DP_MANY_ENTRIES = 0;
	for (int burst = 0; burst < 300; burst++) {
		bw_ipcache_defer_begin();
		for (int k = 0; k < 20; k++) {
			int step = burst * 20 + k;
			struct bw_prefix p;
			struct mpfx *m;
			int owner = 1 + rand_r(&seed) % 4, rc;

			random_prefix(&seed, &p);
			m = m_get(&p);
			ck_assert_ptr_nonnull(m);
			if ((step / 1000) % 2 == 0 ? rand_r(&seed) % 4 != 0 : rand_r(&seed) % 4 == 0) {
				uint32_t id = 1000 + (uint32_t)(rand_r(&seed) % 50);
				uint32_t ep = owner == BW_IPCACHE_OWNER_ENDPOINT
						      ? 1 + (uint32_t)(rand_r(&seed) % 9) : 0;

				rc = bw_ipcache_upsert(&p, id, ep, (enum bw_ipcache_owner)owner);
				ck_assert_int_eq(rc, 0);
				m->c[owner].valid = 1;
				m->c[owner].identity = id;
				m->c[owner].ep_id = ep;
			} else {
				rc = bw_ipcache_remove(&p, (enum bw_ipcache_owner)owner);
				ck_assert_int_eq(rc, m->c[owner].valid ? 0 : -ENOENT);
				m->c[owner].valid = 0;
			}
		}
		ck_assert_int_eq(bw_ipcache_defer_end(NULL), 0);
		check_all(&seed, burst);
	}
	ck_assert_int_gt(DP_MANY_ENTRIES, 100);
	bw_ipcache_fini();
}
END_TEST

/* 10.16.x.y/32 for i = x * 256 + y */
static void host_prefix(int i, struct bw_prefix *p)
{
	memset(p, 0, sizeof(*p));
	p->family = 4;
	p->plen = 32;
	p->addr[0] = 10;
	p->addr[1] = 16;
	p->addr[2] = (uint8_t)(i / 256);
	p->addr[3] = (uint8_t)(i % 256);
}

/* Many host prefixes in, lookups right, all out: the table ends empty. */
START_TEST(test_many_hosts)
{
	struct bw_prefix p;
	struct bw_ipcache_entry e;

	memset(DP, 0, sizeof(DP));
	for (int i = 0; i < 3000; i++) {
		host_prefix(i, &p);
		ck_assert_int_eq(bw_ipcache_upsert(&p, 0x01000000u + (uint32_t)i, 0,
						   BW_IPCACHE_OWNER_CIDR), 0);
	}
	for (int i = 0; i < 3000; i += 7) {
		uint8_t a[4] = { 10, 16, (uint8_t)(i / 256), (uint8_t)(i % 256) };

		ck_assert_int_eq(bw_ipcache_lookup(4, a, &e), 0);
		ck_assert_uint_eq(e.identity, 0x01000000u + (uint32_t)i);
	}
	for (int i = 0; i < 3000; i++) {
		host_prefix(i, &p);
		ck_assert_int_eq(bw_ipcache_remove(&p, BW_IPCACHE_OWNER_CIDR), 0);
	}
	{
		uint8_t a[4] = { 10, 16, 0, 5 };

		ck_assert_int_eq(bw_ipcache_lookup(4, a, &e), -ENOENT);
	}
	for (int i = 0; i < MAXP; i++)
		ck_assert_int_eq(DP[i].used, 0);
	bw_ipcache_fini();
}
END_TEST

/*
 * 1,000 new host prefixes deferred: one batched write at the end, none
 * before; a failed write names the first prefix not written, and releasing
 * every claim then leaves the "datapath" empty (the apply's rollback).
 */
START_TEST(test_deferred_batch_and_failure)
{
	struct bw_prefix p, failed;
	struct bw_ipcache_entry e;
	int used = 0;

	memset(DP, 0, sizeof(DP));
	DP_MANY_CALLS = DP_MANY_ENTRIES = 0;
	bw_ipcache_defer_begin();
	bw_ipcache_defer_begin(); /* nested: the outer end writes */
	for (int i = 0; i < 1000; i++) {
		host_prefix(i, &p);
		ck_assert_int_eq(bw_ipcache_upsert(&p, 0x01000000u + (uint32_t)i, 0,
						   BW_IPCACHE_OWNER_CIDR), 0);
	}
	{
		uint8_t a[4] = { 10, 16, 1, 7 };

		/* the table answers at once; the kernel has nothing yet */
		ck_assert_int_eq(bw_ipcache_lookup(4, a, &e), 0);
		ck_assert_uint_eq(e.identity, 0x01000000u + 263);
	}
	ck_assert_int_eq(bw_ipcache_defer_end(NULL), 0);
	for (int i = 0; i < MAXP; i++)
		used += DP[i].used;
	ck_assert_int_eq(used, 0);
	ck_assert_int_eq(bw_ipcache_defer_end(NULL), 0);
	ck_assert_int_eq(DP_MANY_CALLS, 1);
	ck_assert_int_eq(DP_MANY_ENTRIES, 1000);
	for (int i = 0; i < 1000; i++) {
		host_prefix(i, &p);
		ck_assert_int_eq(bw_ipcache_remove(&p, BW_IPCACHE_OWNER_CIDR), 0);
	}
	/* a failure after 600 entries */
	DP_MANY_ENTRIES = 0;
	DP_FAIL_AT = 600;
	bw_ipcache_defer_begin();
	for (int i = 0; i < 1000; i++) {
		host_prefix(i, &p);
		ck_assert_int_eq(bw_ipcache_upsert(&p, 0x02000000u + (uint32_t)i, 0,
						   BW_IPCACHE_OWNER_CIDR), 0);
	}
	ck_assert_int_eq(bw_ipcache_defer_end(&failed), -E2BIG);
	DP_FAIL_AT = -1;
	host_prefix(600, &p);
	ck_assert(bw_prefix_equal(&failed, &p));
	for (int i = 0; i < 1000; i++) {
		host_prefix(i, &p);
		ck_assert_int_eq(bw_ipcache_remove(&p, BW_IPCACHE_OWNER_CIDR), 0);
	}
	for (int i = 0; i < MAXP; i++)
		ck_assert_int_eq(DP[i].used, 0);
	bw_ipcache_fini();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ipcache");
	TCase *tc = tcase_create("table");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_table_matches_model);
	tcase_add_test(tc, test_many_hosts);
	tcase_add_test(tc, test_deferred_matches_model);
	tcase_add_test(tc, test_deferred_batch_and_failure);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
