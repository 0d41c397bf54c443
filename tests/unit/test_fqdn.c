/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_fqdn.c - core/node/fqdn.c: FQDN identities. One identity
 * per selector set (not per address), labelled fqdn:<selector> and
 * reserved:world (plus the cidr: label of a covering CIDR identity);
 * addresses whose names no selector matches get none; selectors coming
 * and going relabel the addresses; and the order that keeps connections
 * alive: an identity exists (the policy layer has heard of it) before the
 * ipcache points at it, and is released only after nothing points at it.
 *
 * Linked with core/node/ipcache.c and recording stand-ins for the datapath
 * writes and the identity registry (as test_ipcache does), so the table is
 * tested alone; the daemon path is tested by tests/e2e/test_fqdn*.sh.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/config.h" /* before bw_datapath.h */
#include "bpf/bw_datapath.h"
#include "core/datapath/datapath.h"
#include "core/node/fqdn.h"
#include "core/node/identity.h"
#include "core/node/ipcache.h"
#include "core/node/labels.h"

const struct bw_daemon_conf *bw_conf;

/* ---- recorded datapath: host prefixes only --------------------------------- */

#define MAXDP 512
static struct {
	int used, family, plen;
	uint8_t addr[16];
	uint32_t identity;
} DP[MAXDP];

static int dp_slot(int family, const void *addr, int plen, int create)
{
	uint8_t a[16] = { 0 };
	int free_slot = -1;

	memcpy(a, addr, family == AF_INET ? 4 : 16);
	for (int i = 0; i < MAXDP; i++) {
		if (DP[i].used && DP[i].family == family && DP[i].plen == plen &&
		    !memcmp(DP[i].addr, a, 16))
			return i;
		if (!DP[i].used && free_slot < 0)
			free_slot = i;
	}
	if (!create || free_slot < 0)
		return -1;
	memset(&DP[free_slot], 0, sizeof(DP[free_slot]));
	DP[free_slot].used = 1;
	DP[free_slot].family = family;
	DP[free_slot].plen = plen;
	memcpy(DP[free_slot].addr, a, 16);
	return free_slot;
}

/* identities as the "policy layer" knows them: acquired and not released */
#define MAXID 64
static struct {
	uint32_t id;
	char labels[512];
	unsigned refs;
} IDS[MAXID];
static uint32_t next_id;
static int acquires, releases;

static int id_known(uint32_t id)
{
	for (int i = 0; i < MAXID; i++)
		if (IDS[i].refs && IDS[i].id == id)
			return 1;
	return id < BW_ID_LOCAL_SCOPE; /* CIDR and endpoint ids of the tests */
}

int bw_datapath_ipcache_put(int family, const void *addr, int prefixlen,
			    const struct bw_ipcache_value *v)
{
	int i = dp_slot(family, addr, prefixlen, 1);

	ck_assert_int_ge(i, 0);
	/* never point an address at an identity policy has not heard of */
	ck_assert_msg(id_known(v->identity), "ipcache -> unknown identity %u", v->identity);
	DP[i].identity = v->identity;
	return 0;
}

int bw_datapath_ipcache_put_many(const struct bw_ipcache_write *w, size_t n, size_t *nwritten)
{
	*nwritten = 0;
	for (size_t i = 0; i < n; i++) {
		int rc = bw_datapath_ipcache_put(w[i].family, w[i].addr, w[i].prefixlen, &w[i].v);

		if (rc < 0)
			return rc;
		(*nwritten)++;
	}
	return 0;
}

int bw_datapath_ipcache_del(int family, const void *addr, int prefixlen)
{
	int i = dp_slot(family, addr, prefixlen, 0);

	if (i < 0)
		return -ENOENT;
	DP[i].used = 0;
	return 0;
}

int bw_datapath_epaddr_prune(int (*keep)(int family, const uint8_t *addr, uint32_t ep_id),
			     int *pruned)
{
	return 0;
}

int bw_identity_local_acquire(const struct bw_labelset *labels, uint32_t *id)
{
	char *text = bw_labelset_text(labels);
	int free_slot = -1;

	ck_assert_ptr_nonnull(text);
	for (int i = 0; i < MAXID; i++) {
		if (IDS[i].refs && !strcmp(IDS[i].labels, text)) {
			IDS[i].refs++;
			*id = IDS[i].id;
			free(text);
			return 0;
		}
		if (!IDS[i].refs && free_slot < 0)
			free_slot = i;
	}
	ck_assert_int_ge(free_slot, 0);
	IDS[free_slot].id = next_id++;
	IDS[free_slot].refs = 1;
	snprintf(IDS[free_slot].labels, sizeof(IDS[free_slot].labels), "%s", text);
	free(text);
	*id = IDS[free_slot].id;
	acquires++;
	return 0;
}

void bw_identity_release(uint32_t id)
{
	for (int i = 0; i < MAXID; i++)
		if (IDS[i].refs && IDS[i].id == id) {
			if (--IDS[i].refs)
				return;
			/* nothing in the datapath may point at it any more */
			for (int j = 0; j < MAXDP; j++)
				ck_assert_msg(!(DP[j].used && DP[j].identity == id),
					      "identity %u released while mapped", id);
			releases++;
			return;
		}
	ck_abort_msg("release of unknown identity %u", id);
}

/* IPv4 only here: "a.b.c.d/len" */
int bw_identity_cidr_label(const char *prefix, char *buf, size_t buflen)
{
	snprintf(buf, buflen, "%s", prefix);
	return 0;
}

/* ---- helpers ------------------------------------------------------------------- */

static void addr4(const char *s, uint8_t a[16])
{
	memset(a, 0, 16);
	ck_assert_int_eq(inet_pton(AF_INET, s, a), 1);
}

static void set(const char *ip, const char *n1, const char *n2)
{
	uint8_t a[16];
	const char *names[2] = { n1, n2 };

	addr4(ip, a);
	ck_assert_int_eq(bw_fqdn_ip_set(4, a, names, n1 ? (n2 ? 2 : 1) : 0), 0);
}

static uint32_t dp_id(const char *ip)
{
	uint8_t a[16];
	int i;

	addr4(ip, a);
	i = dp_slot(AF_INET, a, 32, 0);
	return i < 0 ? 0 : DP[i].identity;
}

static const char *labels_of(uint32_t id)
{
	for (int i = 0; i < MAXID; i++)
		if (IDS[i].refs && IDS[i].id == id)
			return IDS[i].labels;
	return NULL;
}

static void setup(void)
{
	memset(DP, 0, sizeof(DP));
	memset(IDS, 0, sizeof(IDS));
	next_id = BW_ID_LOCAL_SCOPE + 1;
	acquires = releases = 0;
}

static void teardown(void)
{
	bw_fqdn_fini();
	bw_ipcache_fini();
}

/* ---- tests ----------------------------------------------------------------------- */

START_TEST(unselected_names_get_no_identity)
{
	const char *const *names;
	uint8_t a[16];

	set("192.0.2.1", "WWW.Example.COM", NULL);
	ck_assert_int_eq(bw_fqdn_sync(), 0);
	ck_assert_uint_eq(dp_id("192.0.2.1"), 0);
	ck_assert_int_eq(acquires, 0);
	addr4("192.0.2.1", a);
	ck_assert_uint_eq(bw_fqdn_names(4, a, &names), 1);
	ck_assert_str_eq(names[0], "www.example.com");
	ck_assert_uint_eq(bw_fqdn_ip_identity(4, a), 0);
}
END_TEST

START_TEST(one_identity_per_selector_set)
{
	uint32_t a, b, c;

	ck_assert_int_eq(bw_fqdn_selector_ref("*.example.com"), 0);
	ck_assert_int_eq(bw_fqdn_selector_ref("api.example.com"), 0);
	set("192.0.2.1", "www.example.com", NULL);
	set("192.0.2.2", "www.example.com", NULL);
	set("192.0.2.3", "img.example.com", NULL);
	set("192.0.2.4", "api.example.com", NULL);
	set("192.0.2.5", "other.example", NULL);
	ck_assert_int_eq(bw_fqdn_sync(), 0);
	a = dp_id("192.0.2.1");
	b = dp_id("192.0.2.4");
	ck_assert_uint_ne(a, 0);
	ck_assert_uint_eq(dp_id("192.0.2.2"), a);
	ck_assert_uint_eq(dp_id("192.0.2.3"), a);
	ck_assert_uint_ne(b, a);
	ck_assert_uint_eq(dp_id("192.0.2.5"), 0);
	ck_assert_str_eq(labels_of(a), "fqdn:*.example.com\nreserved:world");
	ck_assert_str_eq(labels_of(b), "fqdn:*.example.com\nfqdn:api.example.com\nreserved:world");
	ck_assert_int_eq(acquires, 2);
	/* 100 more addresses of a known name: no new identity */
	for (int i = 10; i < 110; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "198.51.100.%d", i);
		set(ip, "www.example.com", NULL);
	}
	ck_assert_int_eq(bw_fqdn_sync(), 0);
	ck_assert_int_eq(acquires, 2);
	ck_assert_uint_eq(dp_id("198.51.100.77"), a);
	/* an address of two names carries the selectors of both */
	set("192.0.2.1", "www.example.com", "api.example.com");
	ck_assert_int_eq(bw_fqdn_sync(), 0);
	ck_assert_uint_eq(dp_id("192.0.2.1"), b);
	c = dp_id("192.0.2.3");
	ck_assert_uint_eq(c, a);
	{
		struct bw_fqdn_counts n;

		bw_fqdn_counts(&n);
		ck_assert_uint_eq(n.selectors, 2);
		ck_assert_uint_eq(n.identities, 2);
		ck_assert_uint_eq(n.addresses, 105);
		ck_assert_uint_eq(n.selected, 104);
	}
}
END_TEST

START_TEST(forgotten_addresses_leave_the_ipcache_then_identities_go)
{
	uint8_t a[16];
	uint32_t id;

	bw_fqdn_selector_ref("api.example.com");
	set("192.0.2.1", "api.example.com", NULL);
	set("192.0.2.2", "api.example.com", NULL);
	ck_assert_int_eq(bw_fqdn_sync(), 0);
	id = dp_id("192.0.2.1");
	set("192.0.2.1", NULL, NULL);
	ck_assert_int_eq(bw_fqdn_sync(), 0);
	ck_assert_uint_eq(dp_id("192.0.2.1"), 0);
	ck_assert_int_eq(releases, 0); /* still used by .2 */
	ck_assert_ptr_nonnull(labels_of(id));
	set("192.0.2.2", NULL, NULL);
	ck_assert_int_eq(bw_fqdn_sync(), 0);
	ck_assert_uint_eq(dp_id("192.0.2.2"), 0);
	ck_assert_int_eq(releases, 1); /* checked: nothing mapped to it then */
	addr4("192.0.2.2", a);
	ck_assert_uint_eq(bw_fqdn_names(4, a, &(const char *const *){ NULL }), 0);
}
END_TEST

START_TEST(selectors_coming_and_going_relabel_addresses)
{
	uint32_t a, b;

	set("192.0.2.1", "www.example.com", NULL);
	set("192.0.2.2", "api.example.com", NULL);
	ck_assert_int_eq(bw_fqdn_sync(), 0);
	ck_assert_uint_eq(dp_id("192.0.2.1"), 0);
	/* a policy with toFQDNs arrives: the addresses learned before it get
	 * their identity without a new lookup */
	bw_fqdn_selector_ref("*.example.com");
	ck_assert(bw_fqdn_pending());
	ck_assert_int_eq(bw_fqdn_relabel(), 0);
	ck_assert_uint_eq(dp_id("192.0.2.1"), 0); /* not before the commit */
	ck_assert_int_eq(bw_fqdn_commit(), 0);
	a = dp_id("192.0.2.1");
	ck_assert_uint_ne(a, 0);
	ck_assert_uint_eq(dp_id("192.0.2.2"), a);
	bw_fqdn_selector_ref("api.example.com");
	ck_assert_int_eq(bw_fqdn_sync(), 0);
	b = dp_id("192.0.2.2");
	ck_assert_uint_ne(b, a);
	ck_assert_uint_eq(dp_id("192.0.2.1"), a);
	/* the same selector twice: no change; once gone: back */
	bw_fqdn_selector_ref("api.example.com");
	bw_fqdn_selector_unref("api.example.com");
	ck_assert_int_eq(bw_fqdn_sync(), 0);
	ck_assert_uint_eq(dp_id("192.0.2.2"), b);
	bw_fqdn_selector_unref("api.example.com");
	ck_assert_int_eq(bw_fqdn_sync(), 0);
	ck_assert_uint_eq(dp_id("192.0.2.2"), a);
	ck_assert_int_eq(releases, 1);
	bw_fqdn_selector_unref("*.example.com");
	ck_assert_int_eq(bw_fqdn_sync(), 0);
	ck_assert_uint_eq(dp_id("192.0.2.1"), 0);
	ck_assert_uint_eq(dp_id("192.0.2.2"), 0);
	ck_assert_int_eq(releases, 2);
}
END_TEST

START_TEST(covering_cidr_identity_adds_its_label)
{
	struct bw_prefix p;
	uint32_t in, out;

	bw_fqdn_selector_ref("*.example.com");
	set("203.0.113.5", "a.example.com", NULL);
	set("192.0.2.5", "b.example.com", NULL);
	ck_assert_int_eq(bw_fqdn_sync(), 0);
	ck_assert_uint_eq(dp_id("203.0.113.5"), dp_id("192.0.2.5"));
	/* a toCIDR peer 203.0.113.0/24 appears (its CIDR identity is 77) */
	ck_assert_int_eq(bw_prefix_parse("203.0.113.0/24", 1, &p), 0);
	ck_assert_int_eq(bw_ipcache_upsert(&p, 77, 0, BW_IPCACHE_OWNER_CIDR), 0);
	bw_fqdn_cidr_changed();
	ck_assert_int_eq(bw_fqdn_sync(), 0);
	in = dp_id("203.0.113.5");
	out = dp_id("192.0.2.5");
	ck_assert_uint_ne(in, out);
	ck_assert_str_eq(labels_of(in), "cidr:203.0.113.0/24\nfqdn:*.example.com\nreserved:world");
	ck_assert_str_eq(labels_of(out), "fqdn:*.example.com\nreserved:world");
	/* it goes again */
	ck_assert_int_eq(bw_ipcache_remove(&p, BW_IPCACHE_OWNER_CIDR), 0);
	bw_fqdn_cidr_changed();
	ck_assert_int_eq(bw_fqdn_sync(), 0);
	ck_assert_uint_eq(dp_id("203.0.113.5"), out);
}
END_TEST

START_TEST(endpoint_addresses_keep_their_identity)
{
	struct bw_prefix p;
	uint8_t a[16];

	bw_fqdn_selector_ref("*.example.com");
	ck_assert_int_eq(bw_prefix_parse("10.1.0.5/32", 1, &p), 0);
	ck_assert_int_eq(bw_ipcache_upsert(&p, 1000, 3, BW_IPCACHE_OWNER_ENDPOINT), 0);
	set("10.1.0.5", "pod.example.com", NULL);
	ck_assert_int_eq(bw_fqdn_sync(), 0);
	ck_assert_uint_eq(dp_id("10.1.0.5"), 1000);
	addr4("10.1.0.5", a);
	ck_assert_uint_ne(bw_fqdn_ip_identity(4, a), 0); /* claimed, not effective */
	set("10.1.0.5", NULL, NULL);
	ck_assert_int_eq(bw_fqdn_sync(), 0);
	ck_assert_uint_eq(dp_id("10.1.0.5"), 1000);
}
END_TEST

START_TEST(json_lists_selectors_and_identities)
{
	json_t *j;

	bw_fqdn_selector_ref("b.example");
	bw_fqdn_selector_ref("a.example");
	set("192.0.2.1", "a.example", NULL);
	ck_assert_int_eq(bw_fqdn_sync(), 0);
	j = bw_fqdn_to_json();
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "selectors"), 0)),
			 "a.example");
	ck_assert_uint_eq(json_array_size(json_object_get(j, "identities")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "selected")), 1);
	json_decref(j);
}
END_TEST

static Suite *fqdn_suite(void)
{
	Suite *s = suite_create("fqdn");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, unselected_names_get_no_identity);
	tcase_add_test(tc, one_identity_per_selector_set);
	tcase_add_test(tc, forgotten_addresses_leave_the_ipcache_then_identities_go);
	tcase_add_test(tc, selectors_coming_and_going_relabel_addresses);
	tcase_add_test(tc, covering_cidr_identity_adds_its_label);
	tcase_add_test(tc, endpoint_addresses_keep_their_identity);
	tcase_add_test(tc, json_lists_selectors_and_identities);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fqdn_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
