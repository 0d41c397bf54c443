/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/e2e/bwdp.c - test driver for the eBPF datapath (not installed).
 *
 * Drives core/datapath/datapath.c directly, so the kernel datapath can be tested with
 * real traffic before (and independently of) the policy layer. Usage:
 *
 *   bwdp -d BPFFS_DIR [-v] [-m auto|tcx|clsact] [-e COMMAND]...
 *                                               (or commands on stdin)
 *
 * -m (or the environment variable BW_TC_ATTACH) sets the attach mode
 * (daemon.tc_attach), default auto.
 *
 * One command per -e or per input line; '#' starts a comment. The datapath
 * is opened (pins reused or created) before the first command that needs it,
 * with the config of a preceding `config` command or the defaults. Commands:
 *
 *   config [audit=0|1] [enforcement=default|always|never]
 *          [monitor=none|low|medium|max] [ct_tcp_syn=S] [ct_tcp=S]
 *          [ct_tcp_close=S] [ct_nontcp=S]
 *   attach IFNAME                   prints "ifindex IFNAME N"
 *   detach IFNAME
 *   attach-mode                     prints "attach-mode tcx" (or clsact)
 *   tcx IFNAME                      the programs on the interface's tcx hooks
 *                                   (does not open the datapath)
 *                                   ("tcx HOOK count=N NAME:PROG_ID...") and
 *                                   bulwark's pinned links ("link HOOK id=L
 *                                   prog=P ifindex=I", "link HOOK none")
 *   ep IFNAME EP_ID IDENTITY [ingress] [egress] [audit]
 *   ep-del IFNAME
 *   ipc ADDR[/PLEN] IDENTITY [EP_ID]
 *   ipc-del ADDR[/PLEN]
 *   policy EP_ID [ENTRY]...         make EP_ID's entries exactly these;
 *          ENTRY = DIR:PEER:PROTO:PORTS:VERDICT[:RULE]
 *          DIR in|out, PEER identity or any, PROTO tcp|udp|sctp|icmp|icmp6|
 *          any|NUMBER, PORTS any|N|LO-HI (ICMP: type), VERDICT allow|deny
 *   ep-list | ipc-list              what the (reused) maps hold
 *   policy-dump [EP_ID]
 *   lookup EP_ID PEER DIR PROTO PORT
 *   events [WAIT_MS]                print pending events until none came for
 *                                   WAIT_MS (default 300)
 *   metrics | lost | ct | ct-gc | ct-flush EP_ID | ct-revalidate EP_ID
 *   sleep MS
 *
 * Exit status: 0 if every command succeeded, 1 otherwise (the failing
 * command is named on stderr).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/datapath/datapath.h"
#include "lib/dropreason.h"
#include "core/log.h"

#define MAXARGS 64

static const char *bwdp_dir;
static struct bw_config bwdp_cfg;
static int bwdp_open;
static int bwdp_mode = BW_TC_ATTACH_AUTO;

static int bwdp_ensure(void)
{
	int rc;

	if (bwdp_open)
		return 0;
	rc = bw_datapath_set_attach_mode(bwdp_mode);
	if (rc < 0)
		return rc;
	rc = bw_datapath_init(bwdp_dir, &bwdp_cfg);
	if (rc == 0)
		bwdp_open = 1;
	return rc;
}

static const char *bwdp_dir_name(int d)
{
	return d == BW_DIR_INGRESS ? "ingress" : d == BW_DIR_EGRESS ? "egress" : "?";
}

static const char *bwdp_match_name(int m)
{
	static const char *names[] = { "none",    "L3-Only",  "L3-L4",     "L4-Only",
				       "all",     "L3-Proto", "Proto-Only" };

	return m >= 0 && m <= 6 ? names[m] : "?";
}

static const char *bwdp_proto_name(int p, char *buf, size_t len)
{
	switch (p) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_SCTP:
		return "sctp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmp6";
	case 0:
		return "any";
	}
	snprintf(buf, len, "%d", p);
	return buf;
}

static int bwdp_parse_proto(const char *s)
{
	char *end;
	long v;

	if (!strcmp(s, "tcp"))
		return IPPROTO_TCP;
	if (!strcmp(s, "udp"))
		return IPPROTO_UDP;
	if (!strcmp(s, "sctp"))
		return IPPROTO_SCTP;
	if (!strcmp(s, "icmp"))
		return IPPROTO_ICMP;
	if (!strcmp(s, "icmp6") || !strcmp(s, "icmpv6"))
		return IPPROTO_ICMPV6;
	if (!strcmp(s, "any"))
		return 0;
	v = strtol(s, &end, 10);
	if (*end || v < 0 || v > 255)
		return -1;
	return (int)v;
}

static int bwdp_parse_dir(const char *s)
{
	if (!strcmp(s, "in") || !strcmp(s, "ingress"))
		return BW_DIR_INGRESS;
	if (!strcmp(s, "out") || !strcmp(s, "egress"))
		return BW_DIR_EGRESS;
	return -1;
}

static int bwdp_parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || end == s || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* ADDR[/PLEN] -> family, 16 bytes of address, prefix length */
static int bwdp_parse_prefix(const char *s, int *family, uint8_t *addr, int *plen)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		*plen = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = AF_INET6;
		*plen = 128;
	} else {
		return -1;
	}
	if (slash)
		*plen = atoi(slash);
	return 0;
}

static int bwdp_ifindex(const char *name)
{
	unsigned int i = if_nametoindex(name);

	if (!i) {
		fprintf(stderr, "bwdp: no interface %s\n", name);
		return -ENODEV;
	}
	return (int)i;
}

/* ---- commands ---------------------------------------------------------------- */

static int cmd_config(int argc, char **argv)
{
	int i;

	bw_datapath_config_default(&bwdp_cfg);
	for (i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		uint32_t v = 0;

		if (!eq)
			return -EINVAL;
		*eq++ = 0;
		if (!strcmp(argv[i], "enforcement")) {
			bwdp_cfg.enforcement = !strcmp(eq, "always")  ? BW_ENFORCE_ALWAYS
					       : !strcmp(eq, "never") ? BW_ENFORCE_NEVER
								      : BW_ENFORCE_DEFAULT;
			continue;
		}
		if (!strcmp(argv[i], "monitor")) {
			bwdp_cfg.monitor_level = !strcmp(eq, "none")	? BW_MONITOR_NONE
						 : !strcmp(eq, "lowest") ? BW_MONITOR_LOWEST
						 : !strcmp(eq, "low")	? BW_MONITOR_LOW
						 : !strcmp(eq, "max")	? BW_MONITOR_MAX
									: BW_MONITOR_MEDIUM;
			continue;
		}
		if (bwdp_parse_u32(eq, &v) < 0)
			return -EINVAL;
		if (!strcmp(argv[i], "audit"))
			bwdp_cfg.flags = v ? (bwdp_cfg.flags | BW_CFG_F_AUDIT)
					   : (bwdp_cfg.flags & ~BW_CFG_F_AUDIT);
		else if (!strcmp(argv[i], "ct_tcp_syn"))
			bwdp_cfg.ct_tcp_syn_s = v;
		else if (!strcmp(argv[i], "ct_tcp"))
			bwdp_cfg.ct_tcp_s = v;
		else if (!strcmp(argv[i], "ct_tcp_close"))
			bwdp_cfg.ct_tcp_close_s = v;
		else if (!strcmp(argv[i], "ct_nontcp"))
			bwdp_cfg.ct_nontcp_s = v;
		else
			return -EINVAL;
	}
	if (bwdp_open)
		return bw_datapath_set_config(&bwdp_cfg);
	return bwdp_ensure(); /* init writes bwdp_cfg */
}

static int cmd_attach(int argc, char **argv)
{
	int idx, rc;

	if (argc != 2)
		return -EINVAL;
	rc = bw_datapath_attach(argv[1], &idx);
	if (rc == 0)
		printf("ifindex %s %d\n", argv[1], idx);
	return rc;
}

static int cmd_detach(int argc, char **argv)
{
	int idx;

	if (argc != 2)
		return -EINVAL;
	idx = bwdp_ifindex(argv[1]);
	return idx < 0 ? idx : bw_datapath_detach(idx);
}

/* uapi 6.6+ (not in Debian 12's linux/bpf.h) */
#define BWDP_TCX_INGRESS 46
#define BWDP_TCX_EGRESS 47

static int cmd_tcx(int argc, char **argv)
{
	static const char *const hook[] = { "ingress", "egress" };
	int idx, h;

	if (argc != 2)
		return -EINVAL;
	idx = bwdp_ifindex(argv[1]);
	if (idx < 0)
		return idx;
	for (h = 0; h < 2; h++) {
		__u32 ids[16], cnt = 16, flags = 0, i;
		struct bpf_link_info li;
		__u32 len, u[2];
		char path[PATH_MAX];
		int rc, fd;

		rc = bpf_prog_query(idx, (enum bpf_attach_type)(h ? BWDP_TCX_EGRESS : BWDP_TCX_INGRESS),
				    0, &flags, ids, &cnt);
		if (rc < 0)
			return rc;
		printf("tcx %s count=%u", hook[h], cnt);
		for (i = 0; i < cnt && i < 16; i++) {
			struct bpf_prog_info pi;

			memset(&pi, 0, sizeof(pi));
			len = sizeof(pi);
			fd = bpf_prog_get_fd_by_id(ids[i]);
			if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &pi, &len) == 0)
				printf(" %s:%u", pi.name, ids[i]);
			else
				printf(" ?:%u", ids[i]);
			if (fd >= 0)
				close(fd);
		}
		printf("\n");
		snprintf(path, sizeof(path), "%s/links/%d-%s", bwdp_dir, idx, hook[h]);
		fd = bpf_obj_get(path);
		if (fd < 0) {
			printf("link %s none\n", hook[h]);
			continue;
		}
		memset(&li, 0, sizeof(li));
		len = sizeof(li);
		rc = bpf_obj_get_info_by_fd(fd, &li, &len);
		close(fd);
		if (rc < 0)
			return rc;
		/* tcx { ifindex, attach_type } opens the union (xdp.ifindex in 6.1's header) */
		memcpy(u, (const char *)&li + offsetof(struct bpf_link_info, xdp), sizeof(u));
		printf("link %s id=%u type=%u prog=%u ifindex=%u\n", hook[h], li.id, li.type,
		       li.prog_id, u[0]);
	}
	return 0;
}

static int cmd_ep(int argc, char **argv)
{
	struct bw_endpoint_info info = { 0 };
	int idx, i;

	if (argc < 4)
		return -EINVAL;
	idx = bwdp_ifindex(argv[1]);
	if (idx < 0)
		return idx;
	if (bwdp_parse_u32(argv[2], &info.ep_id) < 0 || bwdp_parse_u32(argv[3], &info.identity) < 0)
		return -EINVAL;
	for (i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "ingress"))
			info.flags |= BW_EP_F_ENFORCE_INGRESS;
		else if (!strcmp(argv[i], "egress"))
			info.flags |= BW_EP_F_ENFORCE_EGRESS;
		else if (!strcmp(argv[i], "audit"))
			info.flags |= BW_EP_F_AUDIT;
		else
			return -EINVAL;
	}
	return bw_datapath_endpoint_put(idx, &info);
}

static int bwdp_find_ep(int ifindex, const struct bw_endpoint_info *i, void *arg)
{
	uint32_t *want = arg;

	if ((uint32_t)ifindex != want[0])
		return 0;
	want[1] = i->ep_id;
	return 1;
}

/* The daemon leaves a deleted endpoint's connections to its next garbage
 * collection; this one-shot tool has none, so it removes them at once. */
static int cmd_ep_del(int argc, char **argv)
{
	uint32_t q[2] = { 0, 0 };
	int idx, rc;

	if (argc != 2)
		return -EINVAL;
	idx = bwdp_ifindex(argv[1]);
	if (idx < 0)
		return idx;
	q[0] = (uint32_t)idx;
	bw_datapath_endpoint_foreach(bwdp_find_ep, q);
	rc = bw_datapath_endpoint_del(idx);
	if (rc == 0 && q[1])
		rc = bw_datapath_ct_flush_endpoint(q[1]);
	return rc < 0 ? rc : 0;
}

static int cmd_ipc(int argc, char **argv)
{
	struct bw_ipcache_value v = { 0 };
	uint8_t addr[16];
	int fam, plen;

	if (argc < 3 || argc > 4 || bwdp_parse_prefix(argv[1], &fam, addr, &plen) < 0 ||
	    bwdp_parse_u32(argv[2], &v.identity) < 0 ||
	    (argc == 4 && bwdp_parse_u32(argv[3], &v.ep_id) < 0))
		return -EINVAL;
	return bw_datapath_ipcache_put(fam, addr, plen, &v);
}

static int cmd_ipc_del(int argc, char **argv)
{
	uint8_t addr[16];
	int fam, plen;

	if (argc != 2 || bwdp_parse_prefix(argv[1], &fam, addr, &plen) < 0)
		return -EINVAL;
	return bw_datapath_ipcache_del(fam, addr, plen);
}

static int bwdp_parse_entry(char *s, struct bw_policy_entry_spec *e)
{
	char *f[6] = { 0 }, *save = NULL, *tok;
	int n = 0, p, d;

	memset(e, 0, sizeof(*e));
	for (tok = strtok_r(s, ":", &save); tok && n < 6; tok = strtok_r(NULL, ":", &save))
		f[n++] = tok;
	if (n < 5)
		return -1;
	d = bwdp_parse_dir(f[0]);
	if (d < 0)
		return -1;
	e->direction = (uint8_t)d;
	if (strcmp(f[1], "any") && bwdp_parse_u32(f[1], &e->identity) < 0)
		return -1;
	p = bwdp_parse_proto(f[2]);
	if (p < 0)
		return -1;
	e->protocol = (uint8_t)p;
	if (strcmp(f[3], "any")) {
		char *dash = strchr(f[3], '-');
		uint32_t lo, hi;

		if (dash)
			*dash++ = 0;
		if (bwdp_parse_u32(f[3], &lo) < 0 || bwdp_parse_u32(dash ? dash : f[3], &hi) < 0 ||
		    hi > 65535)
			return -1;
		e->port_lo = (uint16_t)lo;
		e->port_hi = (uint16_t)hi;
	}
	if (!strcmp(f[4], "deny"))
		e->deny = 1;
	else if (strcmp(f[4], "allow"))
		return -1;
	if (f[5] && bwdp_parse_u32(f[5], &e->rule_ref) < 0)
		return -1;
	return 0;
}

static int cmd_policy(int argc, char **argv)
{
	struct bw_policy_entry_spec e[MAXARGS];
	uint32_t ep;
	int i;

	if (argc < 2 || bwdp_parse_u32(argv[1], &ep) < 0)
		return -EINVAL;
	for (i = 2; i < argc; i++)
		if (bwdp_parse_entry(argv[i], &e[i - 2]) < 0) {
			fprintf(stderr, "bwdp: bad policy entry '%s'\n", argv[i]);
			return -EINVAL;
		}
	return bw_datapath_policy_sync(ep, e, (size_t)(argc - 2));
}

static int bwdp_print_policy(const struct bw_policy_key *k, const struct bw_policy_value *v,
			     void *arg)
{
	char pb[8];

	printf("policy ep=%u peer=%u dir=%s proto=%s dport=%u plen=%u %s rule=%u\n",
	       ntohl(k->ep_id), ntohl(k->identity), bwdp_dir_name(k->direction),
	       bwdp_proto_name(k->protocol, pb, sizeof(pb)), ntohs(k->dport), k->prefixlen,
	       (v->flags & BW_POL_F_DENY) ? "deny" : "allow", v->rule_ref);
	return 0;
}

static int cmd_policy_dump(int argc, char **argv)
{
	uint32_t ep = 0;

	if (argc > 1 && bwdp_parse_u32(argv[1], &ep) < 0)
		return -EINVAL;
	return bw_datapath_policy_foreach(ep, bwdp_print_policy, NULL);
}

static int cmd_lookup(int argc, char **argv)
{
	struct bw_policy_verdict v;
	uint32_t ep, peer, port;
	int d, p, rc;

	if (argc != 6 || bwdp_parse_u32(argv[1], &ep) < 0 || bwdp_parse_u32(argv[2], &peer) < 0 ||
	    (d = bwdp_parse_dir(argv[3])) < 0 || (p = bwdp_parse_proto(argv[4])) < 0 ||
	    bwdp_parse_u32(argv[5], &port) < 0 || port > 65535)
		return -EINVAL;
	rc = bw_datapath_policy_lookup(ep, peer, (uint8_t)d, (uint8_t)p, (uint16_t)port, &v);
	if (rc == 0)
		printf("lookup verdict=%s reason=%u rule=%u match=%s\n",
		       v.allowed ? "allowed" : "denied", v.reason, v.rule_ref,
		       bwdp_match_name(v.match_type));
	return rc;
}

static void bwdp_addr(char *buf, size_t len, const uint8_t *a, int v6)
{
	inet_ntop(v6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)len);
}

static int bwdp_event_one(const struct bw_event *e, size_t size);

/* a record may stand for two events (bw_event_expand) */
static int bwdp_event(void *ctx, void *data, size_t size)
{
	struct bw_event ev[2];
	int i, n;

	if (size < sizeof(ev[0]))
		return 0;
	n = bw_event_expand(data, ev);
	for (i = 0; i < n; i++)
		bwdp_event_one(&ev[i], sizeof(ev[i]));
	return 0;
}

static int bwdp_event_one(const struct bw_event *e, size_t size)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], pb[8], fl[96] = "";
	const char *type, *verdict, *reason = NULL;
	int v6 = (e->flags & BW_EV_F_IPV6) != 0;

	if (size < sizeof(*e))
		return 0;
	type = e->type == BW_EVENT_DROP		  ? "drop"
	       : e->type == BW_EVENT_TRACE	  ? "trace"
	       : e->type == BW_EVENT_POLICY_VERDICT ? "policy-verdict"
						    : "?";
	verdict = e->verdict == BW_VERDICT_FORWARDED ? "forwarded"
		  : e->verdict == BW_VERDICT_DROPPED ? "dropped"
		  : e->verdict == BW_VERDICT_AUDIT   ? "audit"
						     : "?";
	if (e->type != BW_EVENT_TRACE && e->subtype)
		reason = bw_dropreason_name(e->subtype);
	if (e->flags & BW_EV_F_CT_NEW)
		strcat(fl, ",ct-new");
	if (e->flags & BW_EV_F_CT_CLOSE)
		strcat(fl, ",ct-close");
	if (e->flags & BW_EV_F_IS_REPLY)
		strcat(fl, ",reply");
	if (e->flags & BW_EV_F_AUDITED)
		strcat(fl, ",audited");
	if (e->flags & BW_EV_F_CT_RELATED)
		strcat(fl, ",related");
	bwdp_addr(s, sizeof(s), e->saddr, v6);
	bwdp_addr(d, sizeof(d), e->daddr, v6);
	printf("event type=%s verdict=%s dir=%s ep=%u proto=%s src=%s sport=%u dst=%s dport=%u "
	       "src_id=%u dst_id=%u rule=%u match=%s reason=%s tcp=0x%02x icmp=%u flags=%s "
	       "ct_packets=%llu\n",
	       type, verdict, bwdp_dir_name(e->direction), e->ep_id,
	       bwdp_proto_name(e->protocol, pb, sizeof(pb)), s, ntohs(e->sport), d,
	       ntohs(e->dport), e->src_identity, e->dst_identity, e->rule_ref,
	       bwdp_match_name(e->match_type), reason ? reason : "-", e->tcp_flags, e->icmp_type,
	       fl[0] ? fl + 1 : "-", (unsigned long long)e->ct_packets);
	return 0;
}

static int cmd_events(int argc, char **argv)
{
	struct ring_buffer *rb;
	int wait = argc > 1 ? atoi(argv[1]) : 300, n, fd;

	fd = bw_datapath_events_fd();
	if (fd < 0)
		return fd;
	rb = ring_buffer__new(fd, bwdp_event, NULL, NULL);
	if (!rb)
		return -errno;
	do {
		n = ring_buffer__poll(rb, wait);
	} while (n > 0);
	ring_buffer__free(rb);
	fflush(stdout);
	return n < 0 && n != -EINTR ? n : 0;
}

static int bwdp_print_metric(const struct bw_metrics_key *k, const struct bw_metrics_value *v,
			     void *arg)
{
	const char *name = k->reason ? bw_dropreason_name(k->reason) : "FORWARDED";

	printf("metric reason=%u name=%s dir=%s packets=%llu bytes=%llu\n", k->reason,
	       name ? name : "?", bwdp_dir_name(k->direction), (unsigned long long)v->packets,
	       (unsigned long long)v->bytes);
	return 0;
}

static int bwdp_print_ct(const struct bw_ct_key *k, const struct bw_ct_entry *v, void *arg)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], pb[8];
	int v6 = k->family == 6;

	bwdp_addr(s, sizeof(s), v6 ? k->saddr : k->saddr + 12, v6);
	bwdp_addr(d, sizeof(d), v6 ? k->daddr : k->daddr + 12, v6);
	printf("ct ep=%u dir=%s proto=%s src=%s sport=%u dst=%s dport=%u flags=0x%x "
	       "fwd=%llu rev=%llu rule=%u peer=%u\n",
	       k->ep_id, bwdp_dir_name(k->direction), bwdp_proto_name(k->protocol, pb, sizeof(pb)),
	       s, ntohs(k->sport), d, ntohs(k->dport), v->flags,
	       (unsigned long long)v->packets_fwd, (unsigned long long)v->packets_rev, v->rule_ref,
	       v->peer_identity);
	return 0;
}

/* flags: what ep put (BW_EP_F_ENFORCE_*, AUDIT); dp: what the datapath adds
 * (BW_EP_F_HAS_IPV4/6, EPADDR, READY) */
static int bwdp_print_ep(int ifindex, const struct bw_endpoint_info *i, void *arg)
{
	printf("ep ifindex=%d id=%u identity=%u flags=0x%x dp=0x%x\n", ifindex, i->ep_id,
	       i->identity, i->flags & ~BW_EP_F_DP_MASK, i->flags & BW_EP_F_DP_MASK);
	return 0;
}

static int bwdp_print_ipc(int family, const void *addr, int plen,
			  const struct bw_ipcache_value *v, void *arg)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, a, sizeof(a));
	printf("ipc %s/%d identity=%u ep=%u\n", a, plen, v->identity, v->ep_id);
	return 0;
}

static int bwdp_run(int argc, char **argv)
{
	uint32_t ep;
	int rc;

	if (!strcmp(argv[0], "config"))
		return cmd_config(argc, argv);
	if (!strcmp(argv[0], "sleep")) {
		usleep((useconds_t)(argc > 1 ? atoi(argv[1]) : 100) * 1000);
		return 0;
	}
	if (!strcmp(argv[0], "tcx")) /* reads the kernel and the pins only */
		return cmd_tcx(argc, argv);
	rc = bwdp_ensure();
	if (rc < 0)
		return rc;
	if (!strcmp(argv[0], "attach"))
		return cmd_attach(argc, argv);
	if (!strcmp(argv[0], "detach"))
		return cmd_detach(argc, argv);
	if (!strcmp(argv[0], "attach-mode")) {
		printf("attach-mode %s\n", bw_datapath_attach_mode());
		return 0;
	}
	if (!strcmp(argv[0], "ep"))
		return cmd_ep(argc, argv);
	if (!strcmp(argv[0], "ep-del"))
		return cmd_ep_del(argc, argv);
	if (!strcmp(argv[0], "ipc"))
		return cmd_ipc(argc, argv);
	if (!strcmp(argv[0], "ipc-del"))
		return cmd_ipc_del(argc, argv);
	if (!strcmp(argv[0], "policy"))
		return cmd_policy(argc, argv);
	if (!strcmp(argv[0], "ep-list"))
		return bw_datapath_endpoint_foreach(bwdp_print_ep, NULL);
	if (!strcmp(argv[0], "ipc-list"))
		return bw_datapath_ipcache_foreach(bwdp_print_ipc, NULL);
	if (!strcmp(argv[0], "policy-dump"))
		return cmd_policy_dump(argc, argv);
	if (!strcmp(argv[0], "lookup"))
		return cmd_lookup(argc, argv);
	if (!strcmp(argv[0], "events"))
		return cmd_events(argc, argv);
	if (!strcmp(argv[0], "metrics"))
		return bw_datapath_metrics_read(bwdp_print_metric, NULL);
	if (!strcmp(argv[0], "lost")) {
		uint64_t lost = 0;

		rc = bw_datapath_events_lost(&lost);
		if (rc == 0)
			printf("lost %llu\n", (unsigned long long)lost);
		return rc;
	}
	if (!strcmp(argv[0], "ct"))
		return bw_datapath_ct_foreach(bwdp_print_ct, NULL);
	if (!strcmp(argv[0], "ct-gc")) {
		rc = bw_datapath_ct_gc();
		if (rc >= 0)
			printf("ct-gc deleted %d\n", rc);
		return rc < 0 ? rc : 0;
	}
	if (!strcmp(argv[0], "ct-flush") || !strcmp(argv[0], "ct-revalidate")) {
		if (argc != 2 || bwdp_parse_u32(argv[1], &ep) < 0)
			return -EINVAL;
		rc = argv[0][3] == 'f' ? bw_datapath_ct_flush_endpoint(ep)
				       : bw_datapath_ct_revalidate(ep);
		if (rc >= 0)
			printf("%s %d\n", argv[0], rc);
		return rc < 0 ? rc : 0;
	}
	fprintf(stderr, "bwdp: unknown command '%s'\n", argv[0]);
	return -EINVAL;
}

/* Split a line into words and run it. Returns 0 or -errno. */
static int bwdp_line(char *line)
{
	char *argv[MAXARGS + 2], *save = NULL, *tok, *hash;
	char copy[4096];
	int argc = 0, rc;

	hash = strchr(line, '#');
	if (hash)
		*hash = 0;
	snprintf(copy, sizeof(copy), "%s", line);
	for (tok = strtok_r(line, " \t\r\n", &save); tok && argc < MAXARGS + 1;
	     tok = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = tok;
	if (argc == 0)
		return 0;
	argv[argc] = NULL;
	rc = bwdp_run(argc, argv);
	fflush(stdout);
	if (rc < 0)
		fprintf(stderr, "bwdp: '%s' failed: %s\n", copy, strerror(-rc));
	return rc;
}

int main(int argc, char **argv)
{
	char *cmds[256], line[4096];
	const char *mode = getenv("BW_TC_ATTACH");
	int ncmds = 0, c, i, failed = 0, verbose = 0;

	while ((c = getopt(argc, argv, "d:e:m:v")) != -1) {
		switch (c) {
		case 'd':
			bwdp_dir = optarg;
			break;
		case 'e':
			if (ncmds < 256)
				cmds[ncmds++] = optarg;
			break;
		case 'm':
			mode = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			fprintf(stderr, "usage: bwdp -d BPFFS_DIR [-v] [-m MODE] [-e COMMAND]...\n");
			return 2;
		}
	}
	if (!bwdp_dir) {
		fprintf(stderr, "usage: bwdp -d BPFFS_DIR [-v] [-m MODE] [-e COMMAND]...\n");
		return 2;
	}
	if (mode && *mode) {
		if (!strcmp(mode, "tcx"))
			bwdp_mode = BW_TC_ATTACH_TCX;
		else if (!strcmp(mode, "clsact"))
			bwdp_mode = BW_TC_ATTACH_CLSACT;
		else if (strcmp(mode, "auto")) {
			fprintf(stderr, "bwdp: attach mode must be auto, tcx or clsact\n");
			return 2;
		}
	}
	bw_log_init(BW_LOG_TARGET_STDERR, verbose ? BW_LOG_DEBUG : BW_LOG_WARNING);
	bw_log_libbpf();
	bw_datapath_config_default(&bwdp_cfg);
	/* the e2e suite's host-routing mode (tests/e2e/lib.sh, BW_HOST_ROUTING) */
	if (getenv("BW_HOST_ROUTING") && !strcmp(getenv("BW_HOST_ROUTING"), "bpf"))
		bwdp_cfg.flags |= BW_CFG_F_HOST_ROUTING;
	if (ncmds) {
		for (i = 0; i < ncmds; i++) {
			snprintf(line, sizeof(line), "%s", cmds[i]);
			if (bwdp_line(line) < 0)
				failed = 1;
		}
	} else {
		while (fgets(line, sizeof(line), stdin))
			if (bwdp_line(line) < 0)
				failed = 1;
	}
	bw_datapath_close();
	return failed;
}
