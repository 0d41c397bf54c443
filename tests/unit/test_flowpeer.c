/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_flowpeer.c - lib/flowpeer.c: how the adoption tools name
 * workloads, outside peers, reserved identities and policies.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lib/flowpeer.h"

START_TEST(test_workload_from_labels_then_workload_then_pod)
{
	const char *l1[] = { "k8s:app=web", "k8s:app.kubernetes.io/name=shop",
			     "k8s:io.kubernetes.pod.namespace=x" };
	const char *l2[] = { "k8s:k8s-app=dns", "k8s:app=" };
	const char *l3[] = { "k8s:tier=db" };
	char buf[64];

	ck_assert_str_eq(bw_flowpeer_workload(l1, 3, "web-deploy", "web-1", buf, sizeof(buf)),
			 "shop");
	ck_assert_str_eq(bw_flowpeer_workload(l2, 2, NULL, "dns-1", buf, sizeof(buf)), "dns");
	ck_assert_str_eq(bw_flowpeer_workload(l3, 1, "db", "db-0", buf, sizeof(buf)), "db");
	ck_assert_str_eq(bw_flowpeer_workload(l3, 1, NULL, "db-0", buf, sizeof(buf)), "db-0");
	ck_assert_str_eq(bw_flowpeer_workload(NULL, 0, "", "a", buf, sizeof(buf)), "a");
}
END_TEST

START_TEST(test_names_of_sides)
{
	const char *pod[] = { "k8s:app=web", "k8s:io.kubernetes.pod.namespace=x" };
	const char *world[] = { "reserved:world" };
	const char *cidr[] = { "cidr:203.0.113.0/24", "reserved:world" };
	const char *rn[] = { "reserved:remote-node" };
	struct bw_flow_endpoint e;
	const char *ns;
	char buf[128];

	memset(&e, 0, sizeof(e));
	e.ns = "x";
	e.pod_name = "a";
	e.labels = pod;
	e.n_labels = 2;
	ck_assert_int_eq(bw_flowpeer_name(&e, "10.1.0.1", buf, sizeof(buf), &ns), BW_PEER_POD);
	ck_assert_str_eq(buf, "x/web");
	ck_assert_str_eq(ns, "x");

	memset(&e, 0, sizeof(e));
	e.identity = 2;
	e.labels = world;
	e.n_labels = 1;
	ck_assert_int_eq(bw_flowpeer_name(&e, "203.0.113.7", buf, sizeof(buf), &ns), BW_PEER_WORLD);
	ck_assert_str_eq(buf, "203.0.113.7/32");
	ck_assert_ptr_null(ns);
	ck_assert_int_eq(bw_flowpeer_name(&e, "2001:db8::7", buf, sizeof(buf), NULL), BW_PEER_WORLD);
	ck_assert_str_eq(buf, "2001:db8::7/128");

	e.identity = 16777217;
	e.labels = cidr;
	e.n_labels = 2;
	ck_assert_int_eq(bw_flowpeer_name(&e, "203.0.113.9", buf, sizeof(buf), NULL), BW_PEER_WORLD);
	ck_assert_str_eq(buf, "203.0.113.9/32");

	memset(&e, 0, sizeof(e));
	e.identity = 1;
	ck_assert_int_eq(bw_flowpeer_name(&e, "10.0.0.1", buf, sizeof(buf), NULL), BW_PEER_HOST);
	ck_assert_str_eq(buf, "host");
	e.identity = 6;
	e.labels = rn;
	e.n_labels = 1;
	ck_assert_int_eq(bw_flowpeer_name(&e, "10.9.0.1", buf, sizeof(buf), NULL),
			 BW_PEER_RESERVED);
	ck_assert_str_eq(buf, "remote-node");
}
END_TEST

START_TEST(test_policies_of_a_verdict)
{
	struct bw_flow_policy iso[2] = {
		{ .name = "zeta", .ns = "x", .kind = "NetworkPolicy" },
		{ .name = "baseline", .ns = "", .kind = "CiliumClusterwideNetworkPolicy" },
	};
	struct bw_flow_policy deny = { .name = "no-world", .ns = "x", .kind = "CiliumNetworkPolicy" };
	struct bw_flow f;
	char buf[512];

	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	f.traffic_direction = BW_FLOW_TRAFFIC_INGRESS;
	f.isolated_by = iso;
	f.n_isolated_by = 2;
	ck_assert_uint_eq(bw_flowpeer_policies(&f, buf, sizeof(buf)), 2);
	ck_assert_str_eq(buf, "CiliumClusterwideNetworkPolicy baseline\nNetworkPolicy x/zeta");
	memset(&f, 0, sizeof(f));
	f.traffic_direction = BW_FLOW_TRAFFIC_EGRESS;
	f.egress_denied_by = &deny;
	f.n_egress_denied_by = 1;
	f.ingress_denied_by = iso; /* the other direction is not this verdict's */
	f.n_ingress_denied_by = 1;
	ck_assert_uint_eq(bw_flowpeer_policies(&f, buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "CiliumNetworkPolicy x/no-world");
	memset(&f, 0, sizeof(f));
	ck_assert_uint_eq(bw_flowpeer_policies(&f, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(test_ports_and_protocols)
{
	struct bw_flow f;
	char b[8];

	memset(&f, 0, sizeof(f));
	f.protocol = 6;
	f.dst_port = 443;
	ck_assert_uint_eq(bw_flowpeer_port(&f), 443);
	f.protocol = 1;
	f.icmp_type = 8;
	ck_assert_uint_eq(bw_flowpeer_port(&f), 8);
	f.protocol = 47;
	ck_assert_uint_eq(bw_flowpeer_port(&f), 0);
	ck_assert_str_eq(bw_flowpeer_proto_name(17, b, sizeof(b)), "UDP");
	ck_assert_str_eq(bw_flowpeer_proto_name(47, b, sizeof(b)), "47");
	ck_assert_int_eq(bw_flowpeer_proto_parse("icmpv6"), 58);
	ck_assert_int_eq(bw_flowpeer_proto_parse("SCTP"), 132);
	ck_assert_int_eq(bw_flowpeer_proto_parse("nope"), -1);
	ck_assert_int_eq(bw_peer_kind_parse(bw_peer_kind_name(BW_PEER_WORLD)), BW_PEER_WORLD);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("flowpeer");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_workload_from_labels_then_workload_then_pod);
	tcase_add_test(tc, test_names_of_sides);
	tcase_add_test(tc, test_policies_of_a_verdict);
	tcase_add_test(tc, test_ports_and_protocols);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
