/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/bench_bpfrun.c - per-packet cost of the endpoint programs
 * (bpf/bw_lxc.bpf.c) of two builds, side by side, with BPF_PROG_TEST_RUN
 * (docs/benchmarks.md, "Redirect: the cost for traffic that is not
 * redirected"). Not part of make check's verdict; tests/bench/
 * bench_redirect.sh runs it in a network namespace of its own.
 *
 *   bench_bpfrun --ifindex N [--rounds R] [--repeat K] NAME=OBJECT...
 *
 * Each OBJECT (a bw_lxc.bpf.o) is loaded on its own (private, unpinned
 * maps) and given the same state: endpoint 1 (identity 256, 10.1.0.1) on
 * ifindex N with egress enforced, a peer 10.1.0.2 (identity 257), a policy
 * allowing TCP 80 to it, and every event class switched off (nobody reads
 * the ring buffer; the figure is the datapath's own work). Packets, each
 * run K times per measurement through bw_from_lxc (tc ingress of the
 * endpoint's veth):
 *   established  TCP ACK 10.1.0.1:40000 -> 10.1.0.2:80 of a tracked
 *                connection (the common case: one conntrack hit)
 *   new-denied   TCP SYN to port 81 (no entry: the policy lookups, a
 *                drop; no conntrack entry is made, so every run is new)
 *   udp-est      UDP 10.1.0.1:5000 -> 10.1.0.2:80 of a tracked flow
 * Measurements of the objects are interleaved R times; per object and
 * packet the median of the kernel's average run time (ns) is printed, with
 * the ratio to the first object, and the program's size after the
 * verifier (xlated instructions). Output: one line per figure,
 * "figure NAME PACKET ns=X" / "xlated NAME PROG insns=N".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "bpf/bw_datapath.h"

#define MAXOBJ 4
#define NPKT 3

struct obj {
	const char *name, *path;
	struct bpf_object *bo;
	int prog;
	double samples[NPKT][512];
};

static const char *const pkt_names[NPKT] = { "established", "new-denied", "udp-est" };

static int map_fd(struct bpf_object *bo, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(bo, name);

	return m ? bpf_map__fd(m) : -1;
}

/* Ethernet + IPv4 + TCP/UDP, 10.1.0.1 -> 10.1.0.2. */
static size_t pkt_build(unsigned char *buf, int udp, uint16_t dport, uint8_t flags)
{
	struct ethhdr *eth = (struct ethhdr *)buf;
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	size_t l4 = udp ? sizeof(struct udphdr) : sizeof(struct tcphdr);

	memset(buf, 0, 128);
	memcpy(eth->h_dest, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(eth->h_source, "\x02\x00\x00\x00\x00\x02", 6);
	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = udp ? IPPROTO_UDP : IPPROTO_TCP;
	ip->tot_len = htons((uint16_t)(sizeof(*ip) + l4 + 16));
	inet_pton(AF_INET, "10.1.0.1", &ip->saddr);
	inet_pton(AF_INET, "10.1.0.2", &ip->daddr);
	if (udp) {
		struct udphdr *u = (struct udphdr *)(ip + 1);

		u->source = htons(5000);
		u->dest = htons(dport);
		u->len = htons((uint16_t)(l4 + 16));
	} else {
		struct tcphdr *t = (struct tcphdr *)(ip + 1);

		t->source = htons(40000);
		t->dest = htons(dport);
		t->doff = 5;
		((unsigned char *)t)[13] = flags;
	}
	return sizeof(*eth) + sizeof(*ip) + l4 + 16;
}

static int obj_setup(struct obj *o, int ifindex)
{
	struct bw_config cfg = { 0 };
	struct bw_endpoint_info ep = { .ep_id = 1, .identity = 256,
				       .flags = BW_EP_F_ENFORCE_EGRESS };
	struct bw_epaddr_key ak = { .family = 4 };
	struct bw_ipcache4_key ik = { .prefixlen = 32 };
	struct bw_ipcache_value iv = { .identity = 257 };
	struct bw_policy_key pk = { 0 };
	struct bw_policy_value pv = { .rule_ref = 1, .prefix_len = 24 };
	uint32_t zero = 0, epid = 1, key = (uint32_t)ifindex;
	struct bpf_program *p;
	int err;

	o->bo = bpf_object__open_file(o->path, NULL);
	if (!o->bo)
		return -errno;
	/* unpinned, private maps */
	for (struct bpf_map *m = bpf_object__next_map(o->bo, NULL); m;
	     m = bpf_object__next_map(o->bo, m))
		bpf_map__set_pin_path(m, NULL);
	err = bpf_object__load(o->bo);
	if (err)
		return err;
	p = bpf_object__find_program_by_name(o->bo, "bw_from_lxc");
	if (!p)
		return -ENOENT;
	o->prog = bpf_program__fd(p);
	cfg.enforcement = BW_ENFORCE_DEFAULT;
	cfg.flags = BW_CFG_F_NO_TRACE | BW_CFG_F_NO_DROP | BW_CFG_F_NO_POLICY_VERDICT;
	cfg.monitor_level = BW_MONITOR_MEDIUM;
	ak.addr[10] = ak.addr[11] = 0xff;
	inet_pton(AF_INET, "10.1.0.1", &ak.addr[12]);
	inet_pton(AF_INET, "10.1.0.2", ik.addr);
	pk.prefixlen = BW_POLICY_FULL_BITS;
	pk.ep_id = htonl(1);
	pk.identity = htonl(257);
	pk.direction = BW_DIR_EGRESS;
	pk.protocol = IPPROTO_TCP;
	pk.dport = htons(80);
	if (bpf_map_update_elem(map_fd(o->bo, "bw_config"), &zero, &cfg, 0) ||
	    bpf_map_update_elem(map_fd(o->bo, "bw_endpoints"), &key, &ep, 0) ||
	    bpf_map_update_elem(map_fd(o->bo, "bw_epaddr"), &ak, &epid, 0) ||
	    bpf_map_update_elem(map_fd(o->bo, "bw_ipcache4"), &ik, &iv, 0) ||
	    bpf_map_update_elem(map_fd(o->bo, "bw_policy"), &pk, &pv, 0))
		return -errno;
	pk.protocol = IPPROTO_UDP;
	if (bpf_map_update_elem(map_fd(o->bo, "bw_policy"), &pk, &pv, 0))
		return -errno;
	return 0;
}

/* One measurement: the kernel's average ns per run of K runs. */
static double run(struct obj *o, int which, int ifindex, int repeat)
{
	unsigned char buf[128];
	struct __sk_buff ctx = { .ifindex = (uint32_t)ifindex };
	size_t len;
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	switch (which) {
	case 0:
		len = pkt_build(buf, 0, 80, 0x10); /* ACK */
		break;
	case 1:
		len = pkt_build(buf, 0, 81, 0x02); /* SYN, denied */
		break;
	default:
		len = pkt_build(buf, 1, 80, 0);
		break;
	}
	opts.data_in = buf;
	opts.data_size_in = (uint32_t)len;
	opts.ctx_in = &ctx;
	opts.ctx_size_in = sizeof(ctx);
	opts.repeat = repeat;
	if (bpf_prog_test_run_opts(o->prog, &opts) < 0) {
		fprintf(stderr, "bench_bpfrun: test run of %s: %s\n", o->name, strerror(errno));
		return -1;
	}
	return (double)opts.duration;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct obj objs[MAXOBJ];
	int nobj = 0, ifindex = 0, rounds = 15, repeat = 200000;

	memset(objs, 0, sizeof(objs));
	for (int i = 1; i < argc; i++) {
		char *eq;

		if (!strcmp(argv[i], "--ifindex") && i + 1 < argc)
			ifindex = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = atoi(argv[++i]);
		else if ((eq = strchr(argv[i], '=')) && nobj < MAXOBJ) {
			*eq = '\0';
			objs[nobj].name = argv[i];
			objs[nobj].path = eq + 1;
			nobj++;
		} else {
			fprintf(stderr, "usage: bench_bpfrun --ifindex N [--rounds R] [--repeat K] NAME=OBJECT...\n");
			return 2;
		}
	}
	if (!ifindex || !nobj || rounds < 1 || rounds > 512) {
		fprintf(stderr, "usage: bench_bpfrun --ifindex N [--rounds R] [--repeat K] NAME=OBJECT...\n");
		return 2;
	}
	for (int o = 0; o < nobj; o++) {
		int err = obj_setup(&objs[o], ifindex);

		if (err) {
			fprintf(stderr, "bench_bpfrun: %s (%s): %s\n", objs[o].name, objs[o].path,
				strerror(err < 0 ? -err : err));
			return 1;
		}
		for (int which = 0; which < NPKT; which++) /* establish the flows */
			run(&objs[o], which, ifindex, 1);
	}
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < nobj; k++) {
			int o = (r + k) % nobj; /* rotate the order */

			for (int which = 0; which < NPKT; which++)
				objs[o].samples[which][r] = run(&objs[o], which, ifindex, repeat);
		}
	for (int o = 0; o < nobj; o++) {
		struct bpf_prog_info info;
		uint32_t ilen = sizeof(info);

		for (int which = 0; which < NPKT; which++) {
			qsort(objs[o].samples[which], (size_t)rounds, sizeof(double), dcmp);
			printf("figure %s %s ns=%.2f\n", objs[o].name, pkt_names[which],
			       objs[o].samples[which][rounds / 2]);
		}
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(objs[o].prog, &info, &ilen) == 0)
			printf("xlated %s bw_from_lxc insns=%u\n", objs[o].name,
			       info.xlated_prog_len / 8);
		bpf_object__close(objs[o].bo);
	}
	return 0;
}
