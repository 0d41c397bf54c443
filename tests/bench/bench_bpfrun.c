/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/bench_bpfrun.c - per-packet cost of the endpoint programs
 * (bpf/bw_lxc.bpf.c), path by path, for one or more builds side by side,
 * with BPF_PROG_TEST_RUN (docs/benchmarks.md, "Per-path cost"). Not part of
 * make check's verdict; tests/bench/bench_datapath.sh (--micro) and
 * tests/bench/bench_redirect.sh run it in a network namespace of their own.
 *
 *   bench_bpfrun --ifindex A --ifindex2 B [--rounds R] [--repeat K]
 *                [--new N] [--events on|off] [--host-routing on|off]
 *                NAME=OBJECT...
 *
 * Each OBJECT (a bw_lxc.bpf.o) is loaded on its own (private, unpinned
 * maps) and given the same state: two endpoints with both directions
 * enforced, ep 1 "cli" 10.1.0.1 (identity 256) on ifindex A and ep 2 "srv"
 * 10.1.0.2 (identity 257) on ifindex B (a veth pair in the caller's netns),
 * and a policy that lets cli reach srv on TCP 80 and UDP 53 (egress entries
 * of cli, ingress entries of srv). One TCP connection cli:40000 -> srv:80
 * and one UDP flow cli:5000 -> srv:53 are tracked before the measurement.
 * The paths, each through the program that sees it:
 *
 *   from_lxc est      cli's ACK leaving cli (its egress entry: one CT hit)
 *   from_lxc reply    srv's ACK leaving srv (srv's ingress entry, reversed)
 *   from_lxc udp-est  cli's UDP datagram leaving cli
 *   from_lxc new      cli's SYN to srv:80 (policy allows, a CT entry and,
 *                     with events on, a policy verdict and a trace)
 *   from_lxc denied   cli's SYN to srv:81 (no entry: policy drop)
 *   to_lxc   est      cli's ACK entering srv (srv's ingress entry)
 *   to_lxc   reply    srv's ACK entering cli (cli's egress entry, reversed)
 *   to_lxc   new      a SYN entering srv on port 80 (allowed, new entry)
 *   to_lxc   denied   a SYN entering srv on port 81
 *   (both)   denied-hot  the same denied SYN run K/10 times in a row: the
 *                     cost of a new connection's lookups with warm caches
 *   (both)   est-1    est measured like the new paths (single runs, timer
 *                     overhead subtracted): what the host-routing paths are
 *                     compared with
 *
 * Tracked paths run K times per measurement on the same packet (`repeat`):
 * the kernel's average. With host routing on, bw_from_lxc's tracked paths
 * take the fast path, which rewrites the packet (TTL, MACs): they run like
 * new connections, N single runs on fresh copies. Both endpoints are ready
 * (programs attached) with MAC addresses, so the fast path runs the
 * destination's ingress stage and ends in bpf_redirect_peer. A new connection is new only once, so "new" and
 * "denied" run N distinct packets (new source ports) once each; from each
 * run's duration the same measurement of an empty program (the timer's own
 * cost) is taken off, and the median is the figure. Measurements of the
 * objects are interleaved R times (rotating order); per object and path
 * the median over the rounds is printed.
 *
 * --events and --host-routing apply to the objects named after them, so
 * one run can interleave configurations of the same object (e.g.
 * "--events on on=X --events off off=X --host-routing on hr=X").
 * Events on (the default, as a user runs bulwark): the ring buffer is
 * drained after every measurement, as the daemon would. Output: one line
 * per figure, "figure NAME PROG PATH ns=X", and "xlated NAME PROG insns=N
 * jited=BYTES" (the program's size after the verifier).
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
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "bpf/bw_datapath.h"

#define MAXOBJ 6
#define MAXROUNDS 512

enum { P_FROM, P_TO, NPROG };
static const char *const prog_names[NPROG] = { "from_lxc", "to_lxc" };

enum { K_EST, K_REPLY, K_UDP, K_NEW, K_DENIED, K_DENIED_HOT, K_EST1, NKIND };
static const char *const kind_names[NKIND] = { "est", "reply", "udp-est", "new", "denied",
					       "denied-hot", "est-1" };

struct path {
	int prog, kind;
};

static const struct path all_paths[] = {
	{ P_FROM, K_EST }, { P_FROM, K_REPLY }, { P_FROM, K_UDP }, { P_FROM, K_NEW },
	{ P_FROM, K_DENIED }, { P_FROM, K_DENIED_HOT }, { P_TO, K_EST }, { P_TO, K_REPLY },
	{ P_TO, K_NEW }, { P_TO, K_DENIED }, { P_TO, K_DENIED_HOT },
	{ P_FROM, K_EST1 }, { P_TO, K_EST1 },
};
#define NPATH (sizeof(all_paths) / sizeof(all_paths[0]))

struct obj {
	const char *name, *path;
	struct bpf_object *bo;
	struct ring_buffer *rb;
	int prog[NPROG];
	double samples[NPATH][MAXROUNDS];
	int events, hr; /* the configuration it runs with */
};

static int ifx_cli, ifx_srv, repeat = 200000, nnew = 2000, events = 1, hr;
static uint16_t next_port = 1024;
static int empty_fd = -1;

static int map_fd(struct bpf_object *bo, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(bo, name);

	return m ? bpf_map__fd(m) : -1;
}

/* Ethernet + IPv4 + TCP/UDP from src:sport to dst:dport. */
static size_t pkt_build(unsigned char *buf, int udp, const char *src, uint16_t sport,
			const char *dst, uint16_t dport, uint8_t flags)
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
	inet_pton(AF_INET, src, &ip->saddr);
	inet_pton(AF_INET, dst, &ip->daddr);
	if (udp) {
		struct udphdr *u = (struct udphdr *)(ip + 1);

		u->source = htons(sport);
		u->dest = htons(dport);
		u->len = htons((uint16_t)(l4 + 16));
	} else {
		struct tcphdr *t = (struct tcphdr *)(ip + 1);

		t->source = htons(sport);
		t->dest = htons(dport);
		t->doff = 5;
		((unsigned char *)t)[13] = flags;
	}
	return sizeof(*eth) + sizeof(*ip) + l4 + 16;
}

static int drain_cb(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	return 0;
}

/*
 * Write one entry. The value is cut or zero-padded to the map's value size:
 * an older build (a baseline for A/B runs) has shorter structs whose fields
 * are a prefix of today's (endpoint, ipcache value, config).
 */
static int put(struct bpf_object *bo, const char *map, const void *k, const void *v, size_t vlen)
{
	struct bpf_map *m = bpf_object__find_map_by_name(bo, map);
	unsigned char buf[256];
	size_t vs;

	if (!m)
		return -ENOENT;
	vs = bpf_map__value_size(m);
	if (vs > sizeof(buf))
		return -E2BIG;
	memset(buf, 0, sizeof(buf));
	memcpy(buf, v, vlen < vs ? vlen : vs);
	return bpf_map_update_elem(bpf_map__fd(m), k, buf, 0) ? -errno : 0;
}

static int ep_setup(struct bpf_object *bo, int ifindex, uint32_t ep_id, uint32_t identity,
		    const char *addr)
{
	struct bw_endpoint_info ep = { .ep_id = ep_id, .identity = identity,
				       .flags = BW_EP_F_ENFORCE_EGRESS | BW_EP_F_ENFORCE_INGRESS |
						BW_EP_F_HAS_IPV4 | BW_EP_F_READY,
				       /* the veth pair's MACs, as the daemon reads them */
				       .mac = { 0x02, 0, 0, 0, 0, (uint8_t)ep_id },
				       .host_mac = { 0x02, 0, 0, 0, 1, (uint8_t)ep_id } };
	struct bw_epaddr_key ak = { .family = 4 };
	struct bw_ipcache4_key ik = { .prefixlen = 32 };
	struct bw_ipcache_value iv = { .identity = identity, .ep_id = ep_id };
	uint32_t key = (uint32_t)ifindex;
	int rc;

	ak.addr[10] = ak.addr[11] = 0xff;
	inet_pton(AF_INET, addr, &ak.addr[12]);
	inet_pton(AF_INET, addr, ik.addr);
	inet_pton(AF_INET, addr, ep.ipv4);
	ep.ifindex = (uint32_t)ifindex;
	iv.ifindex = (uint32_t)ifindex;
	if ((rc = put(bo, "bw_endpoints", &key, &ep, sizeof(ep))) ||
	    (rc = put(bo, "bw_epaddr", &ak, &ep_id, sizeof(ep_id))) ||
	    (rc = put(bo, "bw_ipcache4", &ik, &iv, sizeof(iv))))
		return rc;
	key = (uint32_t)ifindex % BW_EPSLOTS; /* the direct-mapped copy, where there is one */
	rc = put(bo, "bw_epslots", &key, &ep, sizeof(ep));
	return rc == -ENOENT ? 0 : rc;
}

static int pol_put(struct bpf_object *bo, uint32_t ep_id, uint32_t peer, uint8_t dir,
		   uint8_t proto, uint16_t port)
{
	struct bw_policy_key pk = { 0 };
	struct bw_policy_value pv = { .rule_ref = 1, .prefix_len = 24 };

	pk.prefixlen = BW_POLICY_FULL_BITS;
	pk.ep_id = htonl(ep_id);
	pk.identity = htonl(peer);
	pk.direction = dir;
	pk.protocol = proto;
	pk.dport = htons(port);
	return put(bo, "bw_policy", &pk, &pv, sizeof(pv));
}

static double run_one(int prog, const unsigned char *buf, size_t len, int ifindex, int rep);

static int obj_setup(struct obj *o)
{
	struct bw_config cfg = { 0 };
	uint32_t zero = 0;
	unsigned char buf[128];
	size_t len;
	int rc;

	o->bo = bpf_object__open_file(o->path, NULL);
	if (!o->bo)
		return -errno;
	/* unpinned, private maps */
	for (struct bpf_map *m = bpf_object__next_map(o->bo, NULL); m;
	     m = bpf_object__next_map(o->bo, m))
		bpf_map__set_pin_path(m, NULL);
	rc = bpf_object__load(o->bo);
	if (rc)
		return rc;
	for (int p = 0; p < NPROG; p++) {
		char nm[32];
		struct bpf_program *bp;

		snprintf(nm, sizeof(nm), "bw_%s", prog_names[p]);
		bp = bpf_object__find_program_by_name(o->bo, nm);
		if (!bp)
			return -ENOENT;
		o->prog[p] = bpf_program__fd(bp);
	}
	cfg.enforcement = BW_ENFORCE_DEFAULT;
	cfg.ct_tcp_syn_s = BW_CT_LIFETIME_TCP_SYN;
	cfg.ct_tcp_s = BW_CT_LIFETIME_TCP;
	cfg.ct_tcp_close_s = BW_CT_LIFETIME_TCP_CLOSE;
	cfg.ct_nontcp_s = BW_CT_LIFETIME_NONTCP;
	cfg.monitor_level = BW_MONITOR_MEDIUM;
	cfg.monitor_interval_ms = BW_MONITOR_INTERVAL_MS;
	cfg.monitor_tcp_flags = 0xff;
	cfg.hz = 1000; /* any rate: the runs take far less than a tick */
	cfg.ct_tcp_syn_j = cfg.ct_tcp_syn_s * cfg.hz;
	cfg.ct_tcp_j = cfg.ct_tcp_s * cfg.hz;
	cfg.ct_tcp_close_j = cfg.ct_tcp_close_s * cfg.hz;
	cfg.ct_nontcp_j = cfg.ct_nontcp_s * cfg.hz;
	cfg.monitor_interval_j = cfg.monitor_interval_ms;
	if (o->hr)
		cfg.flags |= BW_CFG_F_HOST_ROUTING;
	if (!o->events)
		cfg.flags |= BW_CFG_F_NO_TRACE | BW_CFG_F_NO_DROP | BW_CFG_F_NO_POLICY_VERDICT;
	if ((rc = put(o->bo, "bw_config", &zero, &cfg, sizeof(cfg))) ||
	    (rc = ep_setup(o->bo, ifx_cli, 1, 256, "10.1.0.1")) ||
	    (rc = ep_setup(o->bo, ifx_srv, 2, 257, "10.1.0.2")) ||
	    (rc = pol_put(o->bo, 1, 257, BW_DIR_EGRESS, IPPROTO_TCP, 80)) ||
	    (rc = pol_put(o->bo, 1, 257, BW_DIR_EGRESS, IPPROTO_UDP, 53)) ||
	    (rc = pol_put(o->bo, 2, 256, BW_DIR_INGRESS, IPPROTO_TCP, 80)) ||
	    (rc = pol_put(o->bo, 2, 256, BW_DIR_INGRESS, IPPROTO_UDP, 53)))
		return rc;
	o->rb = ring_buffer__new(map_fd(o->bo, "bw_events"), drain_cb, NULL, NULL);
	if (!o->rb)
		return -errno;
	/* the tracked connection and flow, as the real path makes them */
	len = pkt_build(buf, 0, "10.1.0.1", 40000, "10.1.0.2", 80, 0x02);
	run_one(o->prog[P_FROM], buf, len, ifx_cli, 1);
	run_one(o->prog[P_TO], buf, len, ifx_srv, 1);
	len = pkt_build(buf, 0, "10.1.0.2", 80, "10.1.0.1", 40000, 0x12);
	run_one(o->prog[P_FROM], buf, len, ifx_srv, 1);
	run_one(o->prog[P_TO], buf, len, ifx_cli, 1);
	len = pkt_build(buf, 1, "10.1.0.1", 5000, "10.1.0.2", 53, 0);
	run_one(o->prog[P_FROM], buf, len, ifx_cli, 1);
	run_one(o->prog[P_TO], buf, len, ifx_srv, 1);
	ring_buffer__consume(o->rb);
	return 0;
}

/* The kernel's average ns per run of rep runs (-1 on error). */
static double run_one(int prog, const unsigned char *buf, size_t len, int ifindex, int rep)
{
	unsigned char out[256];
	struct __sk_buff ctx = { .ifindex = (uint32_t)ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	opts.data_in = buf;
	opts.data_size_in = (uint32_t)len;
	opts.data_out = out;
	opts.data_size_out = sizeof(out);
	opts.ctx_in = &ctx;
	opts.ctx_size_in = sizeof(ctx);
	opts.repeat = rep;
	if (bpf_prog_test_run_opts(prog, &opts) < 0) {
		fprintf(stderr, "bench_bpfrun: test run: %s\n", strerror(errno));
		return -1;
	}
	return (double)opts.duration;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The timer's own cost of one run: an empty program, run once. */
static double empty_cost(void)
{
	static double cached = -1;
	double *v;

	if (cached >= 0)
		return cached;
	v = calloc((size_t)nnew, sizeof(*v));
	if (!v)
		return 0;
	for (int i = 0; i < nnew; i++) {
		unsigned char buf[128];
		size_t len = pkt_build(buf, 0, "10.1.0.1", 1, "10.1.0.2", 81, 0x02);

		v[i] = run_one(empty_fd, buf, len, ifx_cli, 1);
	}
	qsort(v, (size_t)nnew, sizeof(*v), dcmp);
	cached = v[nnew / 2];
	free(v);
	return cached;
}

/*
 * The median of nnew runs of one packet, each on a fresh copy (repeat 1),
 * less the timer's own cost: for the host-routing fast path, which
 * rewrites the packet (TTL, MACs), so that K runs on one skb would measure
 * a TTL running out.
 */
static double run_distinct(int prog, const unsigned char *buf, size_t len, int ifindex)
{
	double *v = calloc((size_t)nnew, sizeof(*v)), r;

	if (!v)
		return -1;
	for (int i = 0; i < nnew; i++)
		v[i] = run_one(prog, buf, len, ifindex, 1);
	qsort(v, (size_t)nnew, sizeof(*v), dcmp);
	r = v[nnew / 2] - empty_cost();
	free(v);
	return r;
}

static double measure(struct obj *o, const struct path *pa)
{
	unsigned char buf[128];
	size_t len;
	int prog = o->prog[pa->prog];
	int from = pa->prog == P_FROM;
	double r;

	switch (pa->kind) {
	case K_EST: /* cli -> srv, seen leaving cli or entering srv */
		len = pkt_build(buf, 0, "10.1.0.1", 40000, "10.1.0.2", 80, 0x10);
		r = o->hr && from ? run_distinct(prog, buf, len, ifx_cli)
				  : run_one(prog, buf, len, from ? ifx_cli : ifx_srv, repeat);
		break;
	case K_EST1: /* est, measured like new connections: single runs */
		len = pkt_build(buf, 0, "10.1.0.1", 40000, "10.1.0.2", 80, 0x10);
		r = run_distinct(prog, buf, len, from ? ifx_cli : ifx_srv);
		break;
	case K_REPLY: /* srv -> cli, leaving srv or entering cli */
		len = pkt_build(buf, 0, "10.1.0.2", 80, "10.1.0.1", 40000, 0x10);
		r = o->hr && from ? run_distinct(prog, buf, len, ifx_srv)
				  : run_one(prog, buf, len, from ? ifx_srv : ifx_cli, repeat);
		break;
	case K_UDP:
		len = pkt_build(buf, 1, "10.1.0.1", 5000, "10.1.0.2", 53, 0);
		r = o->hr && from ? run_distinct(prog, buf, len, ifx_cli)
				  : run_one(prog, buf, len, from ? ifx_cli : ifx_srv, repeat);
		break;
	case K_DENIED_HOT: /* the same denied SYN K times: no state, caches warm */
		len = pkt_build(buf, 0, "10.1.0.1", 1000, "10.1.0.2", 81, 0x02);
		r = run_one(prog, buf, len, from ? ifx_cli : ifx_srv, repeat / 10 + 1);
		break;
	default: {
		double *v = calloc((size_t)nnew, sizeof(*v));
		uint16_t dport = pa->kind == K_NEW ? 80 : 81;

		if (!v)
			return -1;
		for (int i = 0; i < nnew; i++) {
			if (++next_port < 1024 || next_port == 40000)
				next_port = 1024;
			len = pkt_build(buf, 0, "10.1.0.1", next_port, "10.1.0.2", dport, 0x02);
			v[i] = run_one(prog, buf, len, from ? ifx_cli : ifx_srv, 1);
			if ((i & 255) == 255)
				ring_buffer__consume(o->rb);
		}
		qsort(v, (size_t)nnew, sizeof(*v), dcmp);
		r = v[nnew / 2] - empty_cost();
		free(v);
		break;
	}
	}
	ring_buffer__consume(o->rb);
	return r;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_bpfrun --ifindex A --ifindex2 B [--rounds R] [--repeat K] [--new N]\n"
		"                    [--events on|off] [--host-routing on|off] NAME=OBJECT...\n"
		"Per-path cost of bw_from_lxc / bw_to_lxc with BPF_PROG_TEST_RUN (see the\n"
		"head of tests/bench/bench_bpfrun.c). A and B: interfaces of this netns.\n");
}

int main(int argc, char **argv)
{
	static struct obj objs[MAXOBJ];
	int nobj = 0, rounds = 15;
	struct bpf_insn empty[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = TC_ACT_OK },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	for (int i = 1; i < argc; i++) {
		char *eq;

		if (!strcmp(argv[i], "--ifindex") && i + 1 < argc)
			ifx_cli = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--ifindex2") && i + 1 < argc)
			ifx_srv = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--new") && i + 1 < argc)
			nnew = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--events") && i + 1 < argc)
			events = strcmp(argv[++i], "off") != 0;
		else if (!strcmp(argv[i], "--host-routing") && i + 1 < argc)
			hr = strcmp(argv[++i], "off") != 0;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage();
			return 0;
		} else if ((eq = strchr(argv[i], '=')) && nobj < MAXOBJ) {
			*eq = '\0';
			objs[nobj].name = argv[i];
			objs[nobj].path = eq + 1;
			objs[nobj].events = events;
			objs[nobj].hr = hr;
			nobj++;
		} else {
			usage();
			return 2;
		}
	}
	if (!ifx_cli || !ifx_srv || !nobj || rounds < 1 || rounds > MAXROUNDS || repeat < 1 ||
	    nnew < 1) {
		usage();
		return 2;
	}
	empty_fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "bw_empty", "GPL", empty, 2, NULL);
	if (empty_fd < 0) {
		fprintf(stderr, "bench_bpfrun: loading an empty program: %s\n", strerror(errno));
		return 1;
	}
	for (int o = 0; o < nobj; o++) {
		int err = obj_setup(&objs[o]);

		if (err) {
			fprintf(stderr, "bench_bpfrun: %s (%s): %s\n", objs[o].name, objs[o].path,
				strerror(err < 0 ? -err : err));
			return 1;
		}
	}
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < nobj; k++) {
			int o = (r + k) % nobj; /* rotate the order */

			for (size_t p = 0; p < NPATH; p++)
				objs[o].samples[p][r] = measure(&objs[o], &all_paths[p]);
		}
	printf("timer overhead of one run (subtracted from new/denied): %.1f ns\n", empty_cost());
	for (int o = 0; o < nobj; o++) {
		for (size_t p = 0; p < NPATH; p++) {
			qsort(objs[o].samples[p], (size_t)rounds, sizeof(double), dcmp);
			printf("figure %s %s %s ns=%.2f\n", objs[o].name,
			       prog_names[all_paths[p].prog], kind_names[all_paths[p].kind],
			       objs[o].samples[p][rounds / 2]);
		}
		for (int p = 0; p < NPROG; p++) {
			struct bpf_prog_info info;
			uint32_t ilen = sizeof(info);

			memset(&info, 0, sizeof(info));
			if (bpf_obj_get_info_by_fd(objs[o].prog[p], &info, &ilen) == 0)
				printf("xlated %s %s insns=%u jited=%u\n", objs[o].name, prog_names[p],
				       info.xlated_prog_len / 8, info.jited_prog_len);
		}
		ring_buffer__free(objs[o].rb);
		bpf_object__close(objs[o].bo);
	}
	close(empty_fd);
	return 0;
}
