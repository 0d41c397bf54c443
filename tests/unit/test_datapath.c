/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_datapath.c - the parts of core/datapath/datapath.c that
 * need no kernel: the layout of the structs shared with the BPF programs,
 * port-range splitting into LPM blocks, the expansion of policy entries
 * into map entries (deny shadowing included), and Cilium's precedence
 * between the L3 and L4-only lookups (drop reason names:
 * tests/unit/test_dropreason.c).
 * The expansion is checked against a direct evaluation of the entries over
 * every TCP port, through a model of the kernel's LPM lookups.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/datapath/datapath.h"

START_TEST(test_struct_layout)
{
	ck_assert_uint_eq(sizeof(struct bw_endpoint_info), 56);
	ck_assert_uint_eq(sizeof(struct bw_ipcache4_key), 8);
	ck_assert_uint_eq(sizeof(struct bw_ipcache6_key), 20);
	ck_assert_uint_eq(sizeof(struct bw_ipcache_value), 12);
	ck_assert_uint_eq(sizeof(struct bw_policy_key), 16);
	ck_assert_uint_eq(offsetof(struct bw_policy_key, ep_id), 4);
	ck_assert_uint_eq(offsetof(struct bw_policy_key, dport), 14);
	ck_assert_uint_eq(sizeof(struct bw_policy_value), 8);
	ck_assert_uint_eq(sizeof(struct bw_ct_key), 44);
	ck_assert_uint_eq(sizeof(struct bw_ct_entry), 64);
	ck_assert_uint_eq(sizeof(struct bw_config), 64);
	ck_assert_uint_eq(sizeof(struct bw_metrics_key), 4);
	ck_assert_uint_eq(sizeof(struct bw_event), 104);
	ck_assert_uint_eq(offsetof(struct bw_event, proxy_port), 96);
	ck_assert_uint_eq(sizeof(struct bw_proxy_info), 8);
	ck_assert_uint_eq(offsetof(struct bw_event, saddr), 40);
	ck_assert_uint_eq(sizeof(struct bw_frag_key), 40);
	/* the fixed part of the policy key is exactly ep_id|identity|direction */
	ck_assert_int_eq(BW_POLICY_FIXED_BITS, (4 + 4 + 1) * 8);
	ck_assert_int_eq(BW_POLICY_FULL_BITS, BW_POLICY_FIXED_BITS + 8 + 16);
}
END_TEST

/* blocks must be aligned, disjoint, in order and cover exactly [lo, hi] */
static void check_blocks(uint32_t lo, uint32_t hi, int width)
{
	uint32_t starts[40], next = lo;
	uint8_t bits[40];
	int n, i;

	n = bw_datapath_port_blocks(lo, hi, width, starts, bits, 40);
	ck_assert_int_gt(n, 0);
	ck_assert_int_le(n, 2 * width);
	for (i = 0; i < n; i++) {
		ck_assert_uint_eq(starts[i], next);
		ck_assert_uint_eq(starts[i] & ((1u << bits[i]) - 1), 0);
		next = starts[i] + (1u << bits[i]);
	}
	ck_assert_uint_eq(next - 1, hi);
}

START_TEST(test_port_blocks)
{
	uint32_t starts[40];
	uint8_t bits[40];
	int n;

	n = bw_datapath_port_blocks(80, 80, 16, starts, bits, 40);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(starts[0], 80);
	ck_assert_uint_eq(bits[0], 0);

	n = bw_datapath_port_blocks(0, 65535, 16, starts, bits, 40);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(bits[0], 16);

	n = bw_datapath_port_blocks(8000, 8007, 16, starts, bits, 40);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(bits[0], 3);

	n = bw_datapath_port_blocks(1, 65535, 16, starts, bits, 40);
	ck_assert_int_eq(n, 16);

	/* the worst case of a 16-bit range is 30 blocks */
	n = bw_datapath_port_blocks(1, 65534, 16, starts, bits, 40);
	ck_assert_int_eq(n, 30);

	ck_assert_int_eq(bw_datapath_port_blocks(10, 9, 16, starts, bits, 40), -EINVAL);
	ck_assert_int_eq(bw_datapath_port_blocks(0, 300, 8, starts, bits, 40), -EINVAL);
	ck_assert_int_eq(bw_datapath_port_blocks(1, 65534, 16, starts, bits, 4), -ENOSPC);

	check_blocks(8000, 9000, 16);
	check_blocks(1, 1023, 16);
	check_blocks(1024, 65535, 16);
	check_blocks(65535, 65535, 16);
	check_blocks(0, 0, 16);
	check_blocks(3, 200, 8);
	for (n = 0; n < 200; n++) {
		uint32_t a = (uint32_t)rand() % 65536, b = (uint32_t)rand() % 65536;

		check_blocks(a < b ? a : b, a < b ? b : a, 16);
	}
}
END_TEST

static struct bw_policy_entry_spec spec(uint32_t id, uint8_t dir, uint8_t proto, uint16_t lo,
					uint16_t hi, int deny, uint32_t ref)
{
	struct bw_policy_entry_spec e;

	memset(&e, 0, sizeof(e));
	e.identity = id;
	e.direction = dir;
	e.protocol = proto;
	e.port_lo = lo;
	e.port_hi = hi;
	e.deny = deny;
	e.rule_ref = ref;
	return e;
}

START_TEST(test_expand_keys)
{
	struct bw_policy_entry_spec e[4];
	struct bw_policy_kv *kv;
	size_t n;

	e[0] = spec(1001, BW_DIR_INGRESS, IPPROTO_TCP, 80, 80, 0, 7);
	ck_assert_int_eq(bw_datapath_policy_expand(42, e, 1, &kv, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(kv[0].key.prefixlen, 96);
	ck_assert_uint_eq(ntohl(kv[0].key.ep_id), 42);
	ck_assert_uint_eq(ntohl(kv[0].key.identity), 1001);
	ck_assert_uint_eq(kv[0].key.direction, BW_DIR_INGRESS);
	ck_assert_uint_eq(kv[0].key.protocol, IPPROTO_TCP);
	ck_assert_uint_eq(ntohs(kv[0].key.dport), 80);
	ck_assert_uint_eq(kv[0].value.prefix_len, 24);
	ck_assert_uint_eq(kv[0].value.rule_ref, 7);
	ck_assert_uint_eq(kv[0].value.flags, 0);
	free(kv);

	/* any protocol: only the fixed part */
	e[0] = spec(0, BW_DIR_EGRESS, 0, 0, 0, 1, 3);
	ck_assert_int_eq(bw_datapath_policy_expand(1, e, 1, &kv, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(kv[0].key.prefixlen, 72);
	ck_assert_uint_eq(kv[0].value.prefix_len, 0);
	ck_assert_uint_eq(kv[0].value.flags, BW_POL_F_DENY);
	free(kv);

	/* protocol, all ports */
	e[0] = spec(5, BW_DIR_EGRESS, IPPROTO_UDP, 0, 0, 0, 3);
	ck_assert_int_eq(bw_datapath_policy_expand(1, e, 1, &kv, &n), 0);
	ck_assert_uint_eq(kv[0].key.prefixlen, 80);
	ck_assert_uint_eq(kv[0].key.dport, 0);
	free(kv);

	/* ICMP type in the first byte of dport, code wildcard */
	e[0] = spec(5, BW_DIR_INGRESS, IPPROTO_ICMP, 8, 8, 0, 3);
	ck_assert_int_eq(bw_datapath_policy_expand(1, e, 1, &kv, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(kv[0].key.prefixlen, 88);
	ck_assert_uint_eq(((uint8_t *)&kv[0].key.dport)[0], 8);
	ck_assert_uint_eq(((uint8_t *)&kv[0].key.dport)[1], 0);
	free(kv);

	/* a range is a few blocks, not one entry per port */
	e[0] = spec(5, BW_DIR_INGRESS, IPPROTO_TCP, 1024, 65535, 0, 3);
	ck_assert_int_eq(bw_datapath_policy_expand(1, e, 1, &kv, &n), 0);
	ck_assert_uint_eq(n, 6);
	free(kv);

	/* the same key twice: one entry, a deny wins */
	e[0] = spec(5, BW_DIR_INGRESS, IPPROTO_TCP, 80, 80, 0, 3);
	e[1] = spec(5, BW_DIR_INGRESS, IPPROTO_TCP, 80, 80, 1, 4);
	e[2] = spec(5, BW_DIR_INGRESS, IPPROTO_TCP, 80, 80, 0, 2);
	ck_assert_int_eq(bw_datapath_policy_expand(1, e, 3, &kv, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(kv[0].value.flags, BW_POL_F_DENY);
	ck_assert_uint_eq(kv[0].value.rule_ref, 4);
	free(kv);

	/* an allow inside a deny of the same peer becomes that deny */
	e[0] = spec(5, BW_DIR_INGRESS, IPPROTO_TCP, 80, 80, 0, 3);
	e[1] = spec(5, BW_DIR_INGRESS, 0, 0, 0, 1, 9);
	e[2] = spec(6, BW_DIR_INGRESS, IPPROTO_TCP, 80, 80, 0, 3);
	ck_assert_int_eq(bw_datapath_policy_expand(1, e, 3, &kv, &n), 0);
	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < n; i++) {
		if (ntohl(kv[i].key.identity) == 5) {
			ck_assert_uint_eq(kv[i].value.flags, BW_POL_F_DENY);
			ck_assert_uint_eq(kv[i].value.rule_ref, 9);
		} else {
			ck_assert_uint_eq(kv[i].value.flags, 0); /* other peer untouched */
		}
	}
	free(kv);

	/* bad entries */
	e[0] = spec(5, BW_DIR_INGRESS, 0, 80, 80, 0, 3);
	ck_assert_int_eq(bw_datapath_policy_expand(1, e, 1, &kv, &n), -EINVAL);
	e[0] = spec(5, 3, IPPROTO_TCP, 80, 80, 0, 3);
	ck_assert_int_eq(bw_datapath_policy_expand(1, e, 1, &kv, &n), -EINVAL);
	e[0] = spec(5, BW_DIR_INGRESS, IPPROTO_TCP, 90, 80, 0, 3);
	ck_assert_int_eq(bw_datapath_policy_expand(1, e, 1, &kv, &n), -EINVAL);
	e[0] = spec(5, BW_DIR_INGRESS, IPPROTO_ICMP, 300, 300, 0, 3);
	ck_assert_int_eq(bw_datapath_policy_expand(1, e, 1, &kv, &n), -EINVAL);
	ck_assert_int_eq(bw_datapath_policy_expand(1, NULL, 0, &kv, &n), 0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

static struct bw_policy_value pv(uint8_t plen, int deny, uint32_t ref)
{
	struct bw_policy_value v;

	memset(&v, 0, sizeof(v));
	v.prefix_len = plen;
	v.flags = deny ? BW_POL_F_DENY : 0;
	v.rule_ref = ref;
	return v;
}

START_TEST(test_decide_precedence)
{
	struct bw_policy_verdict out;
	struct bw_policy_value a, b;

	bw_datapath_policy_decide(NULL, NULL, &out);
	ck_assert_int_eq(out.allowed, 0);
	ck_assert_uint_eq(out.reason, BW_DROP_POLICY);
	ck_assert_uint_eq(out.match_type, BW_MATCH_NONE);

	a = pv(24, 0, 1);
	b = pv(8, 0, 2);
	bw_datapath_policy_decide(&a, &b, &out);
	ck_assert_int_eq(out.allowed, 1);
	ck_assert_uint_eq(out.rule_ref, 1);
	ck_assert_uint_eq(out.match_type, BW_MATCH_L3_L4);

	/* the longer port prefix wins even from the L4-only lookup */
	a = pv(0, 0, 1);
	b = pv(24, 0, 2);
	bw_datapath_policy_decide(&a, &b, &out);
	ck_assert_uint_eq(out.rule_ref, 2);
	ck_assert_uint_eq(out.match_type, BW_MATCH_L4_ONLY);

	/* tie: the L3 entry */
	a = pv(8, 0, 1);
	b = pv(8, 0, 2);
	bw_datapath_policy_decide(&a, &b, &out);
	ck_assert_uint_eq(out.rule_ref, 1);
	ck_assert_uint_eq(out.match_type, BW_MATCH_L3_PROTO);

	/* a deny in either lookup wins */
	a = pv(24, 0, 1);
	b = pv(0, 1, 2);
	bw_datapath_policy_decide(&a, &b, &out);
	ck_assert_int_eq(out.allowed, 0);
	ck_assert_uint_eq(out.reason, BW_DROP_POLICY_DENY);
	ck_assert_uint_eq(out.rule_ref, 2);

	bw_datapath_policy_decide(NULL, &b, &out);
	ck_assert_uint_eq(out.match_type, BW_MATCH_ALL);
	b = pv(8, 0, 2);
	bw_datapath_policy_decide(NULL, &b, &out);
	ck_assert_uint_eq(out.match_type, BW_MATCH_PROTO_ONLY);
	a = pv(0, 0, 1);
	bw_datapath_policy_decide(&a, NULL, &out);
	ck_assert_uint_eq(out.match_type, BW_MATCH_L3_ONLY);
}
END_TEST

START_TEST(test_decide_redirect_beats_plain_allow)
{
	struct bw_policy_verdict out;
	struct bw_policy_value a, b;

	/* a more specific plain allow (L3-L4) loses to an L4-only redirect */
	a = pv(24, 0, 1);
	b = pv(24, 0, 2);
	b.proxy_class = BW_PROXY_CLASS_HTTP;
	bw_datapath_policy_decide(&a, &b, &out);
	ck_assert_int_eq(out.allowed, 1);
	ck_assert_uint_eq(out.proxy_class, BW_PROXY_CLASS_HTTP);
	ck_assert_uint_eq(out.rule_ref, 2);
	/* even an L3-only allow of every port */
	a = pv(0, 0, 1);
	bw_datapath_policy_decide(&a, &b, &out);
	ck_assert_uint_eq(out.proxy_class, BW_PROXY_CLASS_HTTP);
	/* two redirects: the longer prefix, as for allows */
	a = pv(16, 0, 1);
	a.proxy_class = BW_PROXY_CLASS_DNS;
	bw_datapath_policy_decide(&a, &b, &out);
	ck_assert_uint_eq(out.proxy_class, BW_PROXY_CLASS_HTTP);
	/* a deny still beats a redirect */
	a = pv(0, 1, 3);
	bw_datapath_policy_decide(&a, &b, &out);
	ck_assert_int_eq(out.allowed, 0);
	ck_assert_uint_eq(out.proxy_class, 0);
	ck_assert_uint_eq(out.reason, BW_DROP_POLICY_DENY);
}
END_TEST

START_TEST(test_decide_visibility)
{
	struct bw_policy_verdict out;
	struct bw_policy_value a, vis;

	vis = pv(24, 0, 0);
	vis.flags = BW_POL_F_VISIBILITY;
	vis.proxy_class = BW_PROXY_CLASS_HTTP;
	/* allowed by the identity's entry: redirected for visibility */
	a = pv(0, 0, 1);
	bw_datapath_policy_decide(&a, &vis, &out);
	ck_assert_int_eq(out.allowed, 1);
	ck_assert_uint_eq(out.rule_ref, 1);
	ck_assert_uint_eq(out.proxy_class, BW_PROXY_CLASS_HTTP);
	ck_assert_uint_eq(out.match_type, BW_MATCH_L3_ONLY);
	/* nothing else: the visibility entry allows nothing */
	bw_datapath_policy_decide(NULL, &vis, &out);
	ck_assert_int_eq(out.allowed, 0);
	ck_assert_uint_eq(out.reason, BW_DROP_POLICY);
	/* the identity's own redirect keeps its class */
	a.proxy_class = BW_PROXY_CLASS_KAFKA;
	bw_datapath_policy_decide(&a, &vis, &out);
	ck_assert_uint_eq(out.proxy_class, BW_PROXY_CLASS_KAFKA);
	/* and its deny wins */
	a = pv(24, 1, 2);
	bw_datapath_policy_decide(&a, &vis, &out);
	ck_assert_int_eq(out.allowed, 0);
	ck_assert_uint_eq(out.proxy_class, 0);
}
END_TEST

START_TEST(test_expand_redirects)
{
	struct bw_policy_entry_spec e[] = {
		/* the same port: a plain allow and a redirect -> the redirect */
		{ .identity = 7, .direction = BW_DIR_EGRESS, .protocol = 6, .port_lo = 80,
		  .port_hi = 80, .rule_ref = 1 },
		{ .identity = 7, .direction = BW_DIR_EGRESS, .protocol = 6, .port_lo = 80,
		  .port_hi = 80, .rule_ref = 2, .proxy_class = BW_PROXY_CLASS_HTTP },
		/* a redirect inside a deny block becomes the deny */
		{ .identity = 8, .direction = BW_DIR_EGRESS, .protocol = 6, .port_lo = 443,
		  .port_hi = 443, .rule_ref = 3, .proxy_class = BW_PROXY_CLASS_HTTP },
		{ .identity = 8, .direction = BW_DIR_EGRESS, .protocol = 6, .deny = 1, .rule_ref = 4 },
	};
	struct bw_policy_kv *kv = NULL;
	size_t n = 0;

	ck_assert_int_eq(bw_datapath_policy_expand(5, e, 4, &kv, &n), 0);
	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < n; i++) {
		if (ntohl(kv[i].key.identity) == 7) {
			ck_assert_uint_eq(kv[i].value.proxy_class, BW_PROXY_CLASS_HTTP);
			ck_assert_uint_eq(kv[i].value.rule_ref, 2);
		} else {
			ck_assert(kv[i].value.flags & BW_POL_F_DENY);
			ck_assert_uint_eq(kv[i].value.proxy_class, 0);
			ck_assert_uint_eq(kv[i].value.rule_ref, 4);
		}
	}
	free(kv);
}
END_TEST

/* ---- model of the kernel: LPM lookups over the expanded entries ---------- */

static const struct bw_policy_kv *lpm(const struct bw_policy_kv *kv, size_t n, uint32_t id,
				      uint8_t dir, uint8_t proto, uint16_t port)
{
	const struct bw_policy_kv *best = NULL;
	uint32_t var = ((uint32_t)proto << 16) | port;
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t kvar = ((uint32_t)kv[i].key.protocol << 16) | ntohs(kv[i].key.dport);
		int pl = kv[i].value.prefix_len;

		if (ntohl(kv[i].key.identity) != id || kv[i].key.direction != dir)
			continue;
		if (pl && ((kvar ^ var) >> (24 - pl)) != 0)
			continue;
		if (!best || pl > best->value.prefix_len)
			best = &kv[i];
	}
	return best;
}

/* the meaning of a spec set: deny if any deny matches, else allow if any allow does */
static int reference(const struct bw_policy_entry_spec *e, size_t n, uint32_t id, uint8_t dir,
		     uint8_t proto, uint16_t port)
{
	int allow = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		int m = (e[i].identity == 0 || e[i].identity == id) && e[i].direction == dir &&
			(e[i].protocol == 0 || e[i].protocol == proto) &&
			((e[i].port_lo == 0 && e[i].port_hi == 0) ||
			 (port >= e[i].port_lo && port <= e[i].port_hi));

		if (m && e[i].deny)
			return 0;
		if (m)
			allow = 1;
	}
	return allow;
}

START_TEST(test_expand_matches_reference)
{
	struct bw_policy_entry_spec e[8];
	int round;

	srand(1);
	for (round = 0; round < 60; round++) {
		struct bw_policy_kv *kv;
		size_t n, ne = 2 + (size_t)(rand() % 6), i;
		uint32_t port;

		for (i = 0; i < ne; i++) {
			uint32_t lo = (uint32_t)(rand() % 65536), hi = lo + (uint32_t)(rand() % 3000);
			int kind = rand() % 4;

			if (hi > 65535)
				hi = 65535;
			e[i] = spec((uint32_t)(rand() % 3 == 0 ? 0 : 1001), BW_DIR_INGRESS,
				    kind == 0 ? 0 : IPPROTO_TCP, kind <= 1 ? 0 : (uint16_t)lo,
				    kind <= 1 ? 0 : (uint16_t)hi, rand() % 3 == 0, (uint32_t)i + 1);
		}
		ck_assert_int_eq(bw_datapath_policy_expand(9, e, ne, &kv, &n), 0);
		for (port = 0; port < 65536; port += 7) {
			struct bw_policy_verdict v;
			const struct bw_policy_kv *l3, *l4;

			l3 = lpm(kv, n, 1001, BW_DIR_INGRESS, IPPROTO_TCP, (uint16_t)port);
			l4 = lpm(kv, n, 0, BW_DIR_INGRESS, IPPROTO_TCP, (uint16_t)port);
			bw_datapath_policy_decide(l3 ? &l3->value : NULL, l4 ? &l4->value : NULL, &v);
			ck_assert_msg(v.allowed == reference(e, ne, 1001, BW_DIR_INGRESS,
							     IPPROTO_TCP, (uint16_t)port),
				      "round %d port %u", round, port);
		}
		free(kv);
	}
}
END_TEST

START_TEST(test_api_before_init)
{
	struct bw_policy_verdict v;

	ck_assert_int_eq(bw_datapath_events_fd(), -ENXIO);
	ck_assert_int_eq(bw_datapath_policy_sync(1, NULL, 0), -ENXIO);
	ck_assert_int_eq(bw_datapath_policy_lookup(1, 2, BW_DIR_INGRESS, 6, 80, &v), -ENXIO);
	ck_assert_int_eq(bw_datapath_ct_gc(), -ENXIO);
	bw_datapath_close(); /* harmless */
}
END_TEST

static Suite *datapath_suite(void)
{
	Suite *s = suite_create("datapath");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_struct_layout);
	tcase_add_test(tc, test_port_blocks);
	tcase_add_test(tc, test_expand_keys);
	tcase_add_test(tc, test_decide_precedence);
	tcase_add_test(tc, test_decide_redirect_beats_plain_allow);
	tcase_add_test(tc, test_expand_redirects);
	tcase_add_test(tc, test_decide_visibility);
	tcase_add_test(tc, test_expand_matches_reference);
	tcase_add_test(tc, test_api_before_init);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(datapath_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
