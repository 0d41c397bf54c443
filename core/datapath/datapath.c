/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/datapath/datapath.c - the datapath loader and the only writer of its maps.
 *
 * Loads the bw_lxc skeleton (bpf/bw_lxc.bpf.c, generated into
 * bpf/bw_lxc.skel.h by the build), pins every map under daemon.bpffs_dir or
 * reuses the pins a previous run left (so enforcement and connection state
 * survive a restart), attaches the programs (core/datapath/tcattach.c: pinned tcx
 * links, or clsact filters) so that they stay when the daemon exits, and
 * writes endpoints, ipcache, policy and config.
 * The policy-sync algorithm and the user-space mirror of the kernel's policy
 * precedence live here too, so `bulwark policy trace` reads the same entries
 * the kernel uses. docs/datapath.md describes the semantics.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "core/api.h"
#include "core/datapath/datapath.h"
#include "core/datapath/datapath_int.h"
#include "core/log.h"
#include "core/state.h"
#include "core/datapath/tcattach.h"
#include "bpf/bw_lxc.skel.h"

_Static_assert(sizeof(struct bw_endpoint_info) == 56, "bw_endpoint_info layout");
_Static_assert(sizeof(struct bw_ipcache4_key) == 8, "bw_ipcache4_key layout");
_Static_assert(sizeof(struct bw_ipcache6_key) == 20, "bw_ipcache6_key layout");
_Static_assert(sizeof(struct bw_ipcache_value) == 12, "bw_ipcache_value layout");
_Static_assert(sizeof(struct bw_policy_key) == 16, "bw_policy_key layout");
_Static_assert(sizeof(struct bw_policy_value) == 8, "bw_policy_value layout");
_Static_assert(sizeof(struct bw_ct_key) == 44, "bw_ct_key layout");
_Static_assert(sizeof(struct bw_ct_entry) == 64, "bw_ct_entry layout");
_Static_assert(sizeof(struct bw_config) == 64, "bw_config layout");
_Static_assert(sizeof(struct bw_metrics_key) == 4, "bw_metrics_key layout");
_Static_assert(sizeof(struct bw_metrics_value) == 16, "bw_metrics_value layout");
_Static_assert(sizeof(struct bw_event) == 104, "bw_event layout");
_Static_assert(sizeof(struct bw_proxy_info) == 8, "bw_proxy_info layout");
_Static_assert(sizeof(struct bw_frag_key) == 40, "bw_frag_key layout");
_Static_assert(sizeof(struct bw_frag_value) == 8, "bw_frag_value layout");
_Static_assert(sizeof(struct bw_epaddr_key) == 20, "bw_epaddr_key layout");

static struct bw_lxc *dp_skel;
static struct bw_config dp_cfg;
static char dp_bpffs[PATH_MAX];
static int dp_attach_mode = BW_TC_ATTACH_AUTO;
static unsigned dp_ipcache_max = BW_IPCACHE_MAX; /* entries per address family */

static void dp_sets_free(void);

#define DP_FD(m) bpf_map__fd(dp_skel->maps.m)

/* ---- helpers ---------------------------------------------------------------- */

/* ---- the conntrack clock ------------------------------------------------------ */

static uint32_t dp_hz; /* the kernel's tick rate (bw_config.hz) */

/* Run bw_clock: jiffies now (and the tick rate libbpf found, or 0). */
static int dp_clock_run(uint64_t *jiffies, uint32_t *hz)
{
	unsigned char pkt[64];
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	memset(pkt, 0, sizeof(pkt));
	opts.data_in = pkt;
	opts.data_size_in = sizeof(pkt);
	if (bpf_prog_test_run_opts(bpf_program__fd(dp_skel->progs.bw_clock), &opts) < 0)
		return -errno;
	*jiffies = dp_skel->bss->bw_clock_jiffies;
	if (hz)
		*hz = dp_skel->bss->bw_clock_hz;
	return 0;
}

uint32_t dp_ct_now(void)
{
	uint64_t j = 0;

	if (!dp_skel || dp_clock_run(&j, NULL) < 0)
		return 0;
	return (uint32_t)j;
}

uint32_t dp_ct_ticks(uint32_t seconds)
{
	return seconds * (dp_hz ? dp_hz : 1000);
}

/*
 * The tick rate: CONFIG_HZ when libbpf read the kernel's configuration,
 * else measured (jiffies over 200 ms of CLOCK_MONOTONIC, rounded to the
 * rates Linux offers).
 */
static int dp_clock_init(void)
{
	static const uint32_t rates[] = { 100, 250, 300, 1000 };
	struct timespec t0, t1, d = { 0, 200000000 };
	uint64_t j0, j1;
	uint32_t hz = 0, best = 1000;
	double r, bd = 1e18;
	int rc = dp_clock_run(&j0, &hz);

	if (rc < 0) {
		bw_err_errno(rc, "datapath: cannot run the clock program");
		return rc;
	}
	if (hz) {
		dp_hz = hz;
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	nanosleep(&d, NULL);
	if ((rc = dp_clock_run(&j1, NULL)) < 0)
		return rc;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r = (double)(j1 - j0) /
	    ((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		double e = r > rates[i] ? r - rates[i] : rates[i] - r;

		if (e < bd) {
			bd = e;
			best = rates[i];
		}
	}
	dp_hz = best;
	bw_info("datapath: the kernel's tick rate, measured: %u Hz", dp_hz);
	return 0;
}

int dp_ready(void)
{
	return dp_skel ? 0 : -ENXIO;
}

int dp_fd_ct(void)
{
	return DP_FD(bw_ct);
}

int dp_fd_endpoints(void)
{
	return DP_FD(bw_endpoints);
}

int dp_fd_epslots(void)
{
	return DP_FD(bw_epslots);
}

int dp_fd_epaddr(void)
{
	return DP_FD(bw_epaddr);
}

int dp_fd_proxy(void)
{
	return DP_FD(bw_proxy);
}

int dp_fd_proxy_socks(void)
{
	return DP_FD(bw_proxy_socks);
}

const struct bw_config *dp_config(void)
{
	return &dp_cfg;
}

static int dp_ncpus(void)
{
	int n = libbpf_num_possible_cpus();

	return n > 0 ? n : 1;
}

/*
 * A pin left by an older build whose layout differs cannot be reused; drop
 * it so that libbpf creates and pins a fresh map (the programs are replaced
 * on the next attach; until then the old ones keep the old map).
 */
static void dp_pin_check(struct bpf_map *map, const char *path)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int fd;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
	    info.type == (__u32)bpf_map__type(map) && info.key_size == bpf_map__key_size(map) &&
	    info.value_size == bpf_map__value_size(map) &&
	    info.max_entries == bpf_map__max_entries(map) &&
	    info.map_flags == bpf_map__map_flags(map)) {
		close(fd);
		return;
	}
	close(fd);
	bw_warn("datapath: pinned map %s has another layout; replacing it (its state is lost)",
		path);
	unlink(path);
}

/* ---- life cycle ---------------------------------------------------------------- */

/* GET /v1/status: "bpf": {"attach_mode": "tcx", "bpffs_dir": ...} (a short
 * key: `bulwark status` aligns its table on the longest one) */
static json_t *dp_status(void *arg)
{
	(void)arg;
	if (!dp_skel)
		return NULL;
	return json_pack("{s:s, s:s, s:s}", "attach_mode", bw_tcattach_mode_name(), "bpffs_dir",
			 dp_bpffs, "host_routing",
			 (dp_cfg.flags & BW_CFG_F_HOST_ROUTING) ? "bpf" : "kernel");
}

void bw_datapath_config_default(struct bw_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->enforcement = BW_ENFORCE_DEFAULT;
	cfg->ct_tcp_syn_s = BW_CT_LIFETIME_TCP_SYN;
	cfg->ct_tcp_s = BW_CT_LIFETIME_TCP;
	cfg->ct_tcp_close_s = BW_CT_LIFETIME_TCP_CLOSE;
	cfg->ct_nontcp_s = BW_CT_LIFETIME_NONTCP;
	cfg->monitor_level = BW_MONITOR_MEDIUM;
	cfg->monitor_interval_ms = BW_MONITOR_INTERVAL_MS;
	cfg->monitor_tcp_flags = 0xff; /* all */
}

static void dp_batch_begin_hook(void *arg)
{
	bw_datapath_batch_begin();
}

static void dp_batch_end_hook(void *arg)
{
	bw_datapath_batch_end();
}

int bw_datapath_init(const char *bpffs_dir, const struct bw_config *cfg)
{
	struct bpf_map *map;
	char path[PATH_MAX];
	int rc;

	if (dp_skel)
		return -EALREADY;
	if (!bpffs_dir || !*bpffs_dir) {
		bw_err("datapath: no bpffs directory configured");
		return -EINVAL;
	}
	rc = dp_bpffs_prepare(bpffs_dir);
	if (rc < 0)
		return rc;

	dp_skel = bw_lxc__open();
	if (!dp_skel) {
		rc = -errno;
		bw_err_errno(rc, "datapath: cannot open the BPF object");
		return rc;
	}
	/* daemon.ipcache_max_entries (a pin of another size is replaced) */
	if (bpf_map__set_max_entries(dp_skel->maps.bw_ipcache4, dp_ipcache_max) < 0 ||
	    bpf_map__set_max_entries(dp_skel->maps.bw_ipcache6, dp_ipcache_max) < 0) {
		rc = -EINVAL;
		bw_err("datapath: cannot size the ipcache to %u entries", dp_ipcache_max);
		goto fail;
	}
	bpf_object__for_each_map(map, dp_skel->obj) {
		const char *name = bpf_map__name(map);

		/* not pinned: the scratch space, the programs' globals (.bss,
		 * .kconfig: each load has its own) */
		if (strncmp(name, "bw_", 3) != 0 || strcmp(name, "bw_scratch") == 0 ||
		    bpf_map__is_internal(map))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", bpffs_dir, name) >= sizeof(path)) {
			bw_err("datapath: bpffs path too long: %s", bpffs_dir);
			rc = -ENAMETOOLONG;
			goto fail;
		}
		dp_pin_check(map, path);
		rc = bpf_map__set_pin_path(map, path);
		if (rc < 0) {
			bw_err_errno(rc, "datapath: pin path %s", path);
			goto fail;
		}
	}
	rc = bw_lxc__load(dp_skel);
	if (rc < 0) {
		bw_err("datapath: cannot load the BPF programs: %s (is this kernel >= 5.8 with BPF enabled?)",
		       strerror(-rc));
		goto fail;
	}
	rc = dp_clock_init();
	if (rc < 0)
		goto fail;
	if (cfg)
		dp_cfg = *cfg;
	else
		bw_datapath_config_default(&dp_cfg);
	dp_cfg.flags &= ~BW_CFG_F_INGRESS_REDIRECT; /* until the policy map is read */
	rc = bw_datapath_set_config(&dp_cfg);
	if (rc < 0)
		goto fail;
	snprintf(dp_bpffs, sizeof(dp_bpffs), "%s", bpffs_dir);
	rc = bw_tcattach_init(dp_bpffs, dp_attach_mode, bpf_program__fd(dp_skel->progs.bw_from_lxc));
	if (rc < 0)
		goto fail;
	bw_api_status_add("bpf", dp_status, NULL); /* -EEXIST after a re-init: fine */
	/* one conntrack revalidation per API request, however many it asks for */
	rc = bw_api_hook_add(dp_batch_begin_hook, dp_batch_end_hook, NULL);
	if (rc < 0 && rc != -EEXIST)
		goto fail;
	bw_info("datapath: loaded, maps pinned under %s", bpffs_dir);
	return 0;
fail:
	bw_lxc__destroy(dp_skel);
	dp_skel = NULL;
	bw_tcattach_close();
	return rc;
}

/* A lifetime in ticks: 0 means the default, and at most BW_CT_LIFETIME_MAX. */
static uint32_t dp_life_j(uint32_t s, uint32_t dflt)
{
	if (!s)
		s = dflt;
	if (s > BW_CT_LIFETIME_MAX)
		s = BW_CT_LIFETIME_MAX;
	return dp_ct_ticks(s);
}

int bw_datapath_set_config(const struct bw_config *cfg)
{
	struct bw_config c = *cfg;
	uint32_t zero = 0;
	int rc = dp_ready();

	if (rc < 0)
		return rc;
	/* what the programs read: the tick rate and times in ticks */
	c.hz = dp_hz;
	c.ct_tcp_syn_j = dp_life_j(c.ct_tcp_syn_s, BW_CT_LIFETIME_TCP_SYN);
	c.ct_tcp_j = dp_life_j(c.ct_tcp_s, BW_CT_LIFETIME_TCP);
	c.ct_tcp_close_j = dp_life_j(c.ct_tcp_close_s, BW_CT_LIFETIME_TCP_CLOSE);
	c.ct_nontcp_j = dp_life_j(c.ct_nontcp_s, BW_CT_LIFETIME_NONTCP);
	c.monitor_interval_j = 0;
	if (c.monitor_interval_ms) {
		uint64_t j = (uint64_t)c.monitor_interval_ms * dp_hz / 1000;

		c.monitor_interval_j = j ? (uint32_t)j : 1;
	}
	/* the datapath's own flag (policy_sync keeps it), not the caller's */
	c.flags = (c.flags & ~BW_CFG_F_INGRESS_REDIRECT) |
		  (dp_cfg.flags & BW_CFG_F_INGRESS_REDIRECT);
	if (bpf_map_update_elem(DP_FD(bw_config), &zero, &c, BPF_ANY) < 0) {
		rc = -errno;
		bw_err_errno(errno, "datapath: writing the config map");
		return rc;
	}
	dp_cfg = c;
	return 0;
}

/*
 * BW_CFG_F_INGRESS_REDIRECT: on while some endpoint's ingress entries
 * redirect to a proxy (the clients' veths then look the server's ingress
 * policy up for new connections between local endpoints).
 */
static int dp_ingress_redirect_set(int on)
{
	struct bw_config c = dp_cfg;
	uint32_t zero = 0;

	if (!!(dp_cfg.flags & BW_CFG_F_INGRESS_REDIRECT) == !!on)
		return 0;
	if (on)
		c.flags |= BW_CFG_F_INGRESS_REDIRECT;
	else
		c.flags &= ~BW_CFG_F_INGRESS_REDIRECT;
	if (bpf_map_update_elem(DP_FD(bw_config), &zero, &c, BPF_ANY) < 0)
		return -errno; /* the caller (policy sync) reports it */
	dp_cfg = c;
	return 0;
}

void bw_datapath_close(void)
{
	if (!dp_skel)
		return;
	bw_lxc__destroy(dp_skel); /* fds only: pins, tcx links and tc filters stay */
	dp_skel = NULL;
	bw_tcattach_close();
	dp_eps_free();
	bw_api_status_remove("bpf");
	bw_api_hook_remove(dp_batch_begin_hook, dp_batch_end_hook, NULL);
	dp_sets_free();
}

/* ---- attachment ---------------------------------------------------------------- */

void bw_datapath_set_ipcache_max(unsigned entries)
{
	dp_ipcache_max = entries ? entries : BW_IPCACHE_MAX;
}

unsigned bw_datapath_ipcache_max(void)
{
	return dp_ipcache_max;
}

int bw_datapath_set_attach_mode(int mode)
{
	if (mode < BW_TC_ATTACH_AUTO || mode > BW_TC_ATTACH_CLSACT)
		return -EINVAL;
	dp_attach_mode = mode;
	if (!dp_skel)
		return 0;
	return bw_tcattach_init(dp_bpffs, mode, bpf_program__fd(dp_skel->progs.bw_from_lxc));
}

const char *bw_datapath_attach_mode(void)
{
	return dp_skel ? bw_tcattach_mode_name() : "";
}

/*
 * The node's own connections to a pod port that an ingress policy
 * redirects to a proxy are turned around into the pod's veth with the
 * node's (local) source address (docs/redirect.md): the veth must accept
 * local sources. A failure only costs that case, so it is a warning.
 */
static void dp_veth_sysctls(const char *ifname)
{
	char path[128];
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/accept_local",
			     ifname) >= sizeof(path))
		return;
	f = fopen(path, "w");
	if (f) {
		int bad = fputs("1\n", f) < 0;

		if (fclose(f) != 0 || bad)
			f = NULL;
	}
	if (!f) {
		bw_warn("datapath: cannot set accept_local on %s: %s (the node's own connections to ports that ingress policies redirect to a proxy will fail)",
			ifname, strerror(errno));
	}
}

int bw_datapath_attach(const char *ifname, int *ifindex_out)
{
	unsigned int idx;
	int rc = dp_ready();

	if (rc < 0)
		return rc;
	idx = if_nametoindex(ifname);
	if (!idx)
		return -errno;
	rc = bw_tcattach_attach((int)idx, bpf_program__fd(dp_skel->progs.bw_from_lxc),
				bpf_program__fd(dp_skel->progs.bw_to_lxc));
	if (rc < 0)
		return rc;
	dp_ep_ready((int)idx, 1);
	dp_veth_sysctls(ifname);
	if (ifindex_out)
		*ifindex_out = (int)idx;
	return 0;
}

int bw_datapath_detach(int ifindex)
{
	/* not ready first: host routing stops delivering into it (and running
	 * its ingress policy for it) before its programs go */
	if (dp_skel)
		dp_ep_ready(ifindex, 0);
	return bw_tcattach_detach(ifindex); /* before init: clsact filters only */
}

/* ---- ipcache ------------------------------------------------------------------ */

static int dp_ipcache_walk(int family, int (*fn)(int, const void *, int,
						 const struct bw_ipcache_value *, void *),
			   void *arg)
{
	uint8_t key[sizeof(struct bw_ipcache6_key)], next[sizeof(struct bw_ipcache6_key)];
	struct bw_ipcache_value v;
	size_t ksz = family == AF_INET ? sizeof(struct bw_ipcache4_key)
				       : sizeof(struct bw_ipcache6_key);
	int fd = family == AF_INET ? DP_FD(bw_ipcache4) : DP_FD(bw_ipcache6), first = 1, rc;
	uint32_t plen;

	for (;;) {
		if (bpf_map_get_next_key(fd, first ? NULL : key, next) < 0)
			return errno == ENOENT ? 0 : -errno;
		first = 0;
		memcpy(key, next, ksz);
		memcpy(&plen, key, sizeof(plen));
		if (bpf_map_lookup_elem(fd, key, &v) < 0)
			continue;
		rc = fn(family, key + sizeof(plen), (int)plen, &v, arg);
		if (rc)
			return rc < 0 ? rc : 1;
	}
}

int bw_datapath_ipcache_foreach(int (*fn)(int family, const void *addr, int prefixlen,
					  const struct bw_ipcache_value *, void *),
				void *arg)
{
	int rc = dp_ready();

	if (rc < 0)
		return rc;
	rc = dp_ipcache_walk(AF_INET, fn, arg);
	if (rc == 0)
		rc = dp_ipcache_walk(AF_INET6, fn, arg);
	return rc < 0 ? rc : 0;
}

/* Fill an LPM key (prefixlen + masked address); returns the key size or -EINVAL. */
static int dp_ipcache_key(int family, const void *addr, int prefixlen, void *keybuf, int *fd)
{
	uint8_t *a;
	int bytes, i;

	if (family == AF_INET) {
		struct bw_ipcache4_key *k = keybuf;

		if (prefixlen < 0 || prefixlen > 32)
			return -EINVAL;
		memset(k, 0, sizeof(*k));
		k->prefixlen = (uint32_t)prefixlen;
		memcpy(k->addr, addr, 4);
		a = k->addr;
		bytes = 4;
		*fd = DP_FD(bw_ipcache4);
	} else if (family == AF_INET6) {
		struct bw_ipcache6_key *k = keybuf;

		if (prefixlen < 0 || prefixlen > 128)
			return -EINVAL;
		memset(k, 0, sizeof(*k));
		k->prefixlen = (uint32_t)prefixlen;
		memcpy(k->addr, addr, 16);
		a = k->addr;
		bytes = 16;
		*fd = DP_FD(bw_ipcache6);
	} else {
		return -EAFNOSUPPORT;
	}
	for (i = 0; i < bytes; i++) {
		int keep = prefixlen - i * 8;

		if (keep <= 0)
			a[i] = 0;
		else if (keep < 8)
			a[i] &= (uint8_t)(0xff << (8 - keep));
	}
	return 0;
}

/* A host prefix (an endpoint's address) is mirrored into the endpoint's
 * entry and bw_epaddr (core/datapath/datapath_ep.c). */
static int dp_is_host(int family, int prefixlen)
{
	return prefixlen == (family == AF_INET ? 32 : 128);
}

int bw_datapath_ipcache_put(int family, const void *addr, int prefixlen,
			    const struct bw_ipcache_value *v)
{
	uint8_t key[sizeof(struct bw_ipcache6_key)];
	struct bw_ipcache_value old, nv = *v;
	int fd, rc = dp_ready(), had;

	if (rc < 0)
		return rc;
	rc = dp_ipcache_key(family, addr, prefixlen, key, &fd);
	if (rc < 0)
		return rc; /* bad family or prefix length */
	/* what these addresses resolved to so far (this prefix or a shorter one) */
	had = bpf_map_lookup_elem(fd, key, &old) == 0;
	nv.ifindex = nv.ep_id && dp_is_host(family, prefixlen) ? dp_ep_ifindex(nv.ep_id) : 0;
	if (bpf_map_update_elem(fd, key, &nv, BPF_ANY) < 0)
		return -errno;
	if (dp_is_host(family, prefixlen)) {
		rc = dp_ep_addr(family, addr, nv.ep_id, had ? old.ep_id : 0);
		if (rc < 0)
			return rc;
	}
	/*
	 * Peers whose identity changed may no longer be allowed: from a
	 * shorter prefix's, or from world where none covered them (an
	 * endpoint's new address: dp_ep_addr revalidated its connections).
	 */
	if (had ? old.identity != nv.identity : !nv.ep_id && nv.identity != BW_ID_WORLD)
		return dp_revalidate_all_req();
	return 0;
}

int bw_datapath_ipcache_del(int family, const void *addr, int prefixlen)
{
	uint8_t key[sizeof(struct bw_ipcache6_key)];
	struct bw_ipcache_value old;
	int fd, rc = dp_ready(), had;

	if (rc < 0)
		return rc;
	rc = dp_ipcache_key(family, addr, prefixlen, key, &fd);
	if (rc < 0)
		return rc; /* bad family or prefix length */
	had = bpf_map_lookup_elem(fd, key, &old) == 0;
	if (dp_is_host(family, prefixlen)) {
		rc = dp_ep_addr(family, addr, 0, had ? old.ep_id : 0);
		if (rc < 0)
			return rc;
	}
	if (bpf_map_delete_elem(fd, key) < 0)
		return errno == ENOENT ? 0 : -errno;
	/* the addresses now resolve to a shorter prefix or to world */
	return dp_revalidate_all_req();
}

/*
 * Batched map writes (issue 9): one BPF_MAP_UPDATE_BATCH (or
 * BPF_MAP_DELETE_BATCH) call per DP_BATCH entries where the kernel offers
 * it for the map, else one system call per entry. *batch remembers, per map
 * kind, whether the kernel took the first batch; a refusal (EINVAL,
 * EOPNOTSUPP or the kernel's internal ENOTSUPP on that first try: an LPM
 * trie without batch operations) falls back for good. The batch writes in
 * array order, like a loop of single writes. 10,000 CIDR peers' policy
 * entries: 5 calls instead of 20,000.
 */
#define DP_BATCH 4096
#define DP_ENOTSUPP 524 /* the kernel's internal ENOTSUPP */
static int dp_pol_batch = -1; /* policy maps: -1 not tried yet, 1 works, 0 unsupported */
static int dp_ipc_batch = -1; /* the ipcache tries: the same */

static int dp_batch_unsupported(int *batch, int rc, const char *what)
{
	if (*batch < 0 && (rc == -EINVAL || rc == -EOPNOTSUPP || rc == -DP_ENOTSUPP)) {
		*batch = 0;
		bw_info("datapath: no batch updates of the %s here; one call per entry", what);
		return 1;
	}
	return 0;
}

/*
 * Writes n entries (keys klen bytes apart, values vlen); *donep: how many
 * were written, in order, when it returns (all of them on success).
 */
static int dp_batch_update(int fd, const void *keys, size_t klen, const void *vals, size_t vlen,
			   size_t n, int *batch, const char *what, size_t *donep)
{
	const uint8_t *k = keys, *v = vals;
	size_t done = 0;
	int rc = 0;

	while (done < n && *batch != 0) {
		LIBBPF_OPTS(bpf_map_batch_opts, o, .elem_flags = BPF_ANY);
		__u32 cnt = n - done > DP_BATCH ? DP_BATCH : (__u32)(n - done);

		rc = bpf_map_update_batch(fd, k + done * klen, v + done * vlen, &cnt, &o);
		if (rc == 0) {
			done += cnt;
			*batch = 1;
			continue;
		}
		if (dp_batch_unsupported(batch, rc, what))
			break;
		done += cnt; /* entries before the failing one are written */
		goto out;
	}
	rc = 0;
	for (; done < n; done++)
		if (bpf_map_update_elem(fd, k + done * klen, v + done * vlen, BPF_ANY) < 0) {
			rc = -errno;
			break;
		}
out:
	if (donep)
		*donep = done;
	return rc;
}

int bw_datapath_ipcache_put_many(const struct bw_ipcache_write *w, size_t n, size_t *nwritten)
{
	uint8_t *keys = NULL;
	struct bw_ipcache_value *vals = NULL;
	size_t i = 0, klen;
	int rc = dp_ready(), reval = 0;

	*nwritten = 0;
	if (rc < 0 || !n)
		return rc;
	keys = malloc(n * sizeof(struct bw_ipcache6_key));
	vals = malloc(n * sizeof(*vals));
	if (!keys || !vals) {
		rc = -ENOMEM;
		goto out;
	}
	/* runs of one family, in the caller's order */
	while (i < n) {
		size_t j, m = 0, done = 0;
		int fd = -1;

		for (j = i; j < n && w[j].family == w[i].family; j++) {
			klen = w[j].family == AF_INET ? sizeof(struct bw_ipcache4_key)
						      : sizeof(struct bw_ipcache6_key);
			if (w[j].v.ep_id || w[j].old_ep_id) {
				rc = -EINVAL; /* endpoints' prefixes: bw_datapath_ipcache_put */
				goto out;
			}
			rc = dp_ipcache_key(w[j].family, w[j].addr, w[j].prefixlen, keys + m * klen,
					    &fd);
			if (rc < 0)
				goto out;
			vals[m] = w[j].v;
			vals[m].ifindex = 0;
			m++;
			if (w[j].old_identity != w[j].v.identity)
				reval = 1;
		}
		klen = w[i].family == AF_INET ? sizeof(struct bw_ipcache4_key)
					      : sizeof(struct bw_ipcache6_key);
		rc = dp_batch_update(fd, keys, klen, vals, sizeof(*vals), m, &dp_ipc_batch, "ipcache",
				     &done);
		*nwritten += done;
		if (rc < 0) {
			if (done)
				reval = 1;
			goto out;
		}
		i = j;
	}
out:
	free(keys);
	free(vals);
	/* peers whose identity changed may no longer be allowed */
	if (reval) {
		int r = dp_revalidate_all_req();

		if (rc == 0 && r < 0)
			rc = r;
	}
	return rc;
}

/*
 * The host veth of a host entry's endpoint changed (it was added, or
 * deleted): write it into the entry, if the entry still names that
 * endpoint (core/datapath/datapath_ep.c).
 */
void dp_ipcache_set_ifindex(int family, const void *addr, uint32_t ep_id, uint32_t ifindex)
{
	uint8_t key[sizeof(struct bw_ipcache6_key)];
	struct bw_ipcache_value v;
	int fd;

	if (dp_ipcache_key(family, addr, family == AF_INET ? 32 : 128, key, &fd) < 0 ||
	    bpf_map_lookup_elem(fd, key, &v) < 0 || v.ep_id != ep_id || v.ifindex == ifindex)
		return;
	/* an LPM lookup returns the longest match: this exact prefix? */
	v.ifindex = ifindex;
	if (bpf_map_update_elem(fd, key, &v, BPF_EXIST) < 0 && errno != ENOENT)
		bw_warn("datapath: ipcache entry of endpoint %u: %s", ep_id, strerror(errno));
}

/* Identity of an address (IPv4-mapped when family is 4), as the kernel sees it. */
uint32_t dp_ipcache_identity(uint8_t family, const uint8_t *addr)
{
	struct bw_ipcache_value v;
	uint8_t key[sizeof(struct bw_ipcache6_key)];
	int fd;

	if (family == 4)
		dp_ipcache_key(AF_INET, addr + 12, 32, key, &fd);
	else
		dp_ipcache_key(AF_INET6, addr, 128, key, &fd);
	if (bpf_map_lookup_elem(fd, key, &v) == 0 && v.identity)
		return v.identity;
	return BW_ID_WORLD;
}

/* ---- policy: expansion ---------------------------------------------------------- */

int bw_datapath_port_blocks(uint32_t lo, uint32_t hi, int width, uint32_t *starts,
			    uint8_t *bits, int max)
{
	uint32_t limit = (width >= 32) ? UINT32_MAX : ((1u << width) - 1);
	int n = 0;

	if (width <= 0 || width > 16 || lo > hi || hi > limit)
		return -EINVAL;
	for (;;) {
		int b = 0;

		while (b < width && (lo & ((1u << (b + 1)) - 1)) == 0 &&
		       lo + (1u << (b + 1)) - 1 <= hi)
			b++;
		if (n >= max)
			return -ENOSPC;
		starts[n] = lo;
		bits[n] = (uint8_t)b;
		n++;
		if (lo + (1u << b) - 1 >= hi)
			break;
		lo += 1u << b;
	}
	return n;
}

static int dp_is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/* 24-bit "variable part" of a key (protocol, port) and its prefix length. */
static uint32_t dp_kv_var(const struct bw_policy_kv *kv)
{
	return ((uint32_t)kv->key.protocol << 16) | ntohs(kv->key.dport);
}

static int dp_kv_same_peer(const struct bw_policy_kv *a, const struct bw_policy_kv *b)
{
	return a->key.identity == b->key.identity && a->key.direction == b->key.direction;
}

/* Does d's (proto, port) block contain a's? */
static int dp_kv_covers(const struct bw_policy_kv *d, const struct bw_policy_kv *a)
{
	uint32_t dl = d->value.prefix_len, al = a->value.prefix_len;

	if (dl > al)
		return 0;
	if (dl == 0)
		return 1;
	return ((dp_kv_var(d) ^ dp_kv_var(a)) >> (24 - dl)) == 0;
}

static int dp_kv_cmp(const void *pa, const void *pb)
{
	const struct bw_policy_kv *a = pa, *b = pb;
	uint32_t ia = ntohl(a->key.identity), ib = ntohl(b->key.identity);
	uint32_t va = dp_kv_var(a), vb = dp_kv_var(b);

	if (ia != ib)
		return ia < ib ? -1 : 1;
	if (a->key.direction != b->key.direction)
		return a->key.direction < b->key.direction ? -1 : 1;
	if (a->value.prefix_len != b->value.prefix_len)
		return a->value.prefix_len < b->value.prefix_len ? -1 : 1;
	if (va != vb)
		return va < vb ? -1 : 1;
	/* same key: the deny first, then a redirect (the lowest class), then
	 * the lowest rule_ref (deterministic) */
	if ((a->value.flags & BW_POL_F_DENY) != (b->value.flags & BW_POL_F_DENY))
		return (a->value.flags & BW_POL_F_DENY) ? -1 : 1;
	if (!a->value.proxy_class != !b->value.proxy_class)
		return a->value.proxy_class ? -1 : 1;
	if (a->value.proxy_class != b->value.proxy_class)
		return a->value.proxy_class < b->value.proxy_class ? -1 : 1;
	if (a->value.rule_ref != b->value.rule_ref)
		return a->value.rule_ref < b->value.rule_ref ? -1 : 1;
	return 0;
}

static int dp_kv_same_key(const struct bw_policy_kv *a, const struct bw_policy_kv *b)
{
	return dp_kv_same_peer(a, b) && a->value.prefix_len == b->value.prefix_len &&
	       dp_kv_var(a) == dp_kv_var(b);
}

int bw_datapath_policy_expand(uint32_t ep_id, const struct bw_policy_entry_spec *entries,
			      size_t n, struct bw_policy_kv **out, size_t *nout)
{
	struct bw_policy_kv *kv = NULL, *tmp;
	size_t cap = 0, cnt = 0, i, j, w, g, gend;

	*out = NULL;
	*nout = 0;
	for (i = 0; i < n; i++) {
		const struct bw_policy_entry_spec *e = &entries[i];
		uint32_t starts[40];
		uint8_t bits[40];
		int nb, b, width, base;

		if (e->direction != BW_DIR_INGRESS && e->direction != BW_DIR_EGRESS)
			goto inval;
		if (e->port_lo > e->port_hi)
			goto inval;
		if (e->protocol == 0) {
			if (e->port_lo || e->port_hi)
				goto inval;
			nb = 1;
			starts[0] = 0;
			bits[0] = 24; /* everything after the fixed part */
			width = 24;
			base = 0;
		} else if (e->port_lo == 0 && e->port_hi == 0) {
			nb = 1;
			starts[0] = 0;
			bits[0] = 16;
			width = 16;
			base = 8;
		} else if (dp_is_icmp(e->protocol)) {
			if (e->port_hi > 255)
				goto inval;
			nb = bw_datapath_port_blocks(e->port_lo, e->port_hi, 8, starts, bits, 40);
			if (nb < 0)
				goto inval;
			for (b = 0; b < nb; b++) {
				starts[b] <<= 8;
				bits[b] += 8; /* the low (code) byte is always wildcard */
			}
			width = 16;
			base = 8;
		} else {
			nb = bw_datapath_port_blocks(e->port_lo, e->port_hi, 16, starts, bits, 40);
			if (nb < 0)
				goto inval;
			width = 16;
			base = 8;
		}
		for (b = 0; b < nb; b++) {
			struct bw_policy_kv *k;
			int plen = base + (width - bits[b]);

			if (cnt == cap) {
				cap = cap ? cap * 2 : 64;
				tmp = realloc(kv, cap * sizeof(*kv));
				if (!tmp) {
					free(kv);
					return -ENOMEM;
				}
				kv = tmp;
			}
			k = &kv[cnt++];
			memset(k, 0, sizeof(*k));
			k->key.prefixlen = BW_POLICY_FIXED_BITS + plen;
			k->key.ep_id = htonl(ep_id);
			k->key.identity = htonl(e->identity);
			k->key.direction = e->direction;
			k->key.protocol = e->protocol ? e->protocol : 0;
			k->key.dport = plen > 8 ? htons((uint16_t)starts[b]) : 0;
			k->value.rule_ref = e->rule_ref;
			k->value.flags = e->deny ? BW_POL_F_DENY
				       : e->visibility ? BW_POL_F_VISIBILITY : 0;
			k->value.prefix_len = (uint8_t)plen;
			k->value.proxy_class = e->deny ? 0 : e->proxy_class;
		}
	}
	if (cnt == 0)
		return 0;
	qsort(kv, cnt, sizeof(*kv), dp_kv_cmp);
	/* one entry per key; a deny sorts before an allow of the same key */
	for (i = 0, w = 0; i < cnt; i++) {
		if (w > 0 && dp_kv_same_key(&kv[w - 1], &kv[i]))
			continue;
		kv[w++] = kv[i];
	}
	cnt = w;
	/*
	 * An allow block inside a deny block of the same peer becomes that
	 * deny. Entries of one peer (identity, direction) are contiguous after
	 * the sort, so each group is checked on its own, and only if it has a
	 * deny at all.
	 */
	for (g = 0; g < cnt; g = gend) {
		int has_deny = 0;

		for (gend = g; gend < cnt && dp_kv_same_peer(&kv[g], &kv[gend]); gend++)
			has_deny |= (kv[gend].value.flags & BW_POL_F_DENY) != 0;
		if (!has_deny)
			continue;
		for (i = g; i < gend; i++) {
			const struct bw_policy_kv *best = NULL;

			if (kv[i].value.flags & BW_POL_F_DENY)
				continue;
			for (j = g; j < gend; j++) {
				if (!(kv[j].value.flags & BW_POL_F_DENY) || !dp_kv_covers(&kv[j], &kv[i]))
					continue;
				if (!best || kv[j].value.prefix_len > best->value.prefix_len)
					best = &kv[j];
			}
			if (best) {
				kv[i].value.flags = BW_POL_F_DENY;
				kv[i].value.rule_ref = best->value.rule_ref;
				kv[i].value.proxy_class = 0;
			}
		}
	}
	*out = kv;
	*nout = cnt;
	return 0;
inval:
	free(kv);
	return -EINVAL;
}

/* ---- policy: map ---------------------------------------------------------------- */

int bw_datapath_policy_foreach(uint32_t ep_id,
			       int (*fn)(const struct bw_policy_key *, const struct bw_policy_value *,
					 void *),
			       void *arg)
{
	struct bw_policy_key key, next;
	struct bw_policy_value val;
	int fd, rc = dp_ready(), first = 1;

	if (rc < 0)
		return rc;
	fd = DP_FD(bw_policy);
	for (;;) {
		if (bpf_map_get_next_key(fd, first ? NULL : &key, &next) < 0) {
			if (errno == ENOENT)
				return 0;
			return -errno;
		}
		first = 0;
		key = next;
		if (ep_id && ntohl(key.ep_id) != ep_id)
			continue;
		/* an LPM lookup returns the longest match: check it is this key */
		if (bpf_map_lookup_elem(fd, &key, &val) < 0 ||
		    val.prefix_len + BW_POLICY_FIXED_BITS != key.prefixlen)
			continue;
		rc = fn(&key, &val, arg);
		if (rc)
			return rc < 0 ? rc : 0;
	}
}

/* Sets are kept sorted by the key's bytes, so that lookups are binary searches. */
static int dp_kv_bytes_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct bw_policy_kv *)a)->key, &((const struct bw_policy_kv *)b)->key,
		      sizeof(struct bw_policy_key));
}

static const struct bw_policy_kv *dp_kv_find(const struct bw_policy_kv *set, size_t n,
					     const struct bw_policy_kv *k)
{
	if (!n)
		return NULL;
	return bsearch(k, set, n, sizeof(*set), dp_kv_bytes_cmp);
}

/*
 * What the policy map holds, per endpoint: we are its only writer, so after
 * one pass over the map (the first sync after init) each sync compares
 * against this copy instead of walking the whole map again.
 */
struct dp_epset {
	uint32_t ep_id;
	struct bw_policy_kv *kv;
	size_t n, cap;
	int in_redirect; /* an ingress entry redirects to a proxy */
};

static struct dp_epset *dp_sets;
static size_t dp_nsets, dp_capsets;
static int dp_sets_loaded;

static void dp_sets_free(void)
{
	size_t i;

	for (i = 0; i < dp_nsets; i++)
		free(dp_sets[i].kv);
	free(dp_sets);
	dp_sets = NULL;
	dp_nsets = dp_capsets = 0;
	dp_sets_loaded = 0;
}

static struct dp_epset *dp_set_get(uint32_t ep_id, int create)
{
	size_t i;

	for (i = 0; i < dp_nsets; i++)
		if (dp_sets[i].ep_id == ep_id)
			return &dp_sets[i];
	if (!create)
		return NULL;
	if (dp_nsets == dp_capsets) {
		size_t cap = dp_capsets ? dp_capsets * 2 : 64;
		struct dp_epset *t = realloc(dp_sets, cap * sizeof(*t));

		if (!t)
			return NULL;
		dp_sets = t;
		dp_capsets = cap;
	}
	memset(&dp_sets[dp_nsets], 0, sizeof(dp_sets[0]));
	dp_sets[dp_nsets].ep_id = ep_id;
	return &dp_sets[dp_nsets++];
}

static int dp_set_load_one(const struct bw_policy_key *k, const struct bw_policy_value *v,
			   void *arg)
{
	struct dp_epset *set = dp_set_get(ntohl(k->ep_id), 1);

	if (!set)
		return -ENOMEM;
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;
		struct bw_policy_kv *t = realloc(set->kv, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		set->kv = t;
		set->cap = cap;
	}
	set->kv[set->n].key = *k;
	set->kv[set->n].value = *v;
	set->n++;
	return 0;
}

static int dp_kv_in_redirect(const struct bw_policy_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (kv[i].key.direction == BW_DIR_INGRESS && kv[i].value.proxy_class &&
		    !(kv[i].value.flags & BW_POL_F_DENY))
			return 1;
	return 0;
}

static int dp_sets_in_redirect(void)
{
	for (size_t i = 0; i < dp_nsets; i++)
		if (dp_sets[i].in_redirect)
			return 1;
	return 0;
}

static int dp_sets_load(void)
{
	int rc;

	if (dp_sets_loaded)
		return 0;
	dp_sets_free();
	rc = bw_datapath_policy_foreach(0, dp_set_load_one, NULL);
	if (rc < 0) {
		dp_sets_free();
		return rc;
	}
	for (size_t i = 0; i < dp_nsets; i++) {
		if (dp_sets[i].n)
			qsort(dp_sets[i].kv, dp_sets[i].n, sizeof(*dp_sets[i].kv), dp_kv_bytes_cmp);
		dp_sets[i].in_redirect = dp_kv_in_redirect(dp_sets[i].kv, dp_sets[i].n);
	}
	dp_sets_loaded = 1;
	return dp_ingress_redirect_set(dp_sets_in_redirect());
}

/* Writing an endpoint's changes: dp_batch_update (denies before allows). */
static int dp_policy_write(int fd, const struct bw_policy_key *keys,
			   const struct bw_policy_value *vals, size_t n)
{
	return dp_batch_update(fd, keys, sizeof(*keys), vals, sizeof(*vals), n, &dp_pol_batch,
			       "policy map", NULL);
}

/* Deletes; an entry already gone (ENOENT) is not an error. */
static int dp_policy_erase(int fd, const struct bw_policy_key *keys, size_t n)
{
	size_t done = 0;

	while (done < n && dp_pol_batch != 0) {
		LIBBPF_OPTS(bpf_map_batch_opts, o);
		__u32 cnt = n - done > DP_BATCH ? DP_BATCH : (__u32)(n - done);
		int rc = bpf_map_delete_batch(fd, keys + done, &cnt, &o);

		if (rc == 0) {
			done += cnt;
			dp_pol_batch = 1;
			continue;
		}
		if (dp_batch_unsupported(&dp_pol_batch, rc, "policy map"))
			break;
		/* keys[done + cnt] failed (ENOENT, say): the rest one by one */
		done += cnt;
		break;
	}
	for (; done < n; done++)
		if (bpf_map_delete_elem(fd, &keys[done]) < 0 && errno != ENOENT)
			return -errno;
	return 0;
}

int bw_datapath_policy_sync(uint32_t ep_id, const struct bw_policy_entry_spec *entries, size_t n)
{
	return dp_policy_sync(ep_id, entries, n, 1);
}

int dp_policy_sync(uint32_t ep_id, const struct bw_policy_entry_spec *entries, size_t n,
		   int revalidate)
{
	struct bw_policy_kv *want = NULL;
	const struct bw_policy_kv *old = NULL;
	struct bw_policy_key *bk = NULL, *dk = NULL;
	struct bw_policy_value *bv = NULL;
	struct dp_epset *set;
	size_t nwant = 0, nold = 0, i;
	int fd, rc = dp_ready(), pass, changed = 0, may_deny = 0;

	if (rc < 0)
		return rc;
	rc = bw_datapath_policy_expand(ep_id, entries, n, &want, &nwant);
	if (rc < 0)
		return rc; /* -EINVAL: an invalid direction, protocol or port range */
	if (nwant)
		qsort(want, nwant, sizeof(*want), dp_kv_bytes_cmp);
	rc = dp_sets_load();
	if (rc < 0)
		goto out;
	set = dp_set_get(ep_id, 1);
	if (!set) {
		rc = -ENOMEM;
		goto out;
	}
	old = set->kv;
	nold = set->n;
	fd = DP_FD(bw_policy);
	/* the clients' veths must look for ingress redirects before there are any */
	if (dp_kv_in_redirect(want, nwant)) {
		rc = dp_ingress_redirect_set(1);
		if (rc < 0)
			goto out;
	}
	/* pass 0 writes denies, pass 1 allows; each pass one batch */
	if (nwant) {
		bk = malloc(nwant * sizeof(*bk));
		bv = malloc(nwant * sizeof(*bv));
	}
	if (nold)
		dk = malloc(nold * sizeof(*dk));
	if ((nwant && (!bk || !bv)) || (nold && !dk)) {
		rc = -ENOMEM;
		goto out;
	}
	for (pass = 0; pass < 2; pass++) {
		size_t nb = 0;

		for (i = 0; i < nwant; i++) {
			const struct bw_policy_kv *cur;
			int is_deny = (want[i].value.flags & BW_POL_F_DENY) != 0;

			if (is_deny != (pass == 0))
				continue;
			cur = dp_kv_find(old, nold, &want[i]);
			if (cur && memcmp(&cur->value, &want[i].value, sizeof(cur->value)) == 0)
				continue;
			bk[nb] = want[i].key;
			bv[nb++] = want[i].value;
			changed = 1;
			/* a new deny, or an entry that changed, may deny a live connection */
			if (is_deny || cur)
				may_deny = 1;
		}
		rc = dp_policy_write(fd, bk, bv, nb);
		if (rc < 0)
			goto fail;
	}
	/* pass 0 deletes stale allows, pass 1 stale denies */
	for (pass = 0; pass < 2; pass++) {
		size_t nd = 0;

		for (i = 0; i < nold; i++) {
			int is_deny = (old[i].value.flags & BW_POL_F_DENY) != 0;

			if (is_deny != (pass == 1) || dp_kv_find(want, nwant, &old[i]))
				continue;
			dk[nd++] = old[i].key;
			changed = 1;
			may_deny = 1;
		}
		rc = dp_policy_erase(fd, dk, nd);
		if (rc < 0)
			goto fail;
	}
	/* the map now holds exactly `want` for this endpoint */
	free(set->kv);
	set->kv = want;
	set->n = set->cap = nwant;
	want = NULL;
	set->in_redirect = dp_kv_in_redirect(set->kv, set->n);
	rc = dp_ingress_redirect_set(dp_sets_in_redirect());
	if (rc < 0)
		goto out;
	if (changed && may_deny && revalidate) {
		int cut = bw_datapath_ct_revalidate(ep_id);

		if (cut < 0)
			rc = cut;
		else if (cut > 0)
			bw_info("datapath: endpoint %u: policy change cut %d connection(s)", ep_id,
				cut);
	}
out:
	free(want);
	free(bk);
	free(bv);
	free(dk);
	return rc;
fail:
	dp_sets_loaded = 0; /* the map is half-way: read it again next time */
	free(want);
	free(bk);
	free(bv);
	free(dk);
	return rc;
}

void bw_datapath_policy_decide(const struct bw_policy_value *l3, const struct bw_policy_value *l4,
			       struct bw_policy_verdict *out)
{
	const struct bw_policy_value *win;
	uint8_t vis = 0;
	int is_l3;

	memset(out, 0, sizeof(*out));
	if (l4 && (l4->flags & BW_POL_F_VISIBILITY)) {
		vis = l4->proxy_class; /* no verdict of its own (bpf/lib/policy.h) */
		l4 = NULL;
	}
	if (l3 && (l3->flags & BW_POL_F_DENY)) {
		win = l3;
		is_l3 = 1;
	} else if (l4 && (l4->flags & BW_POL_F_DENY)) {
		win = l4;
		is_l3 = 0;
	} else if (l3 && l4) {
		/* a redirect beats a plain allow (bpf/lib/policy.h) */
		if (!l3->proxy_class != !l4->proxy_class)
			is_l3 = l3->proxy_class != 0;
		else
			is_l3 = l3->prefix_len >= l4->prefix_len;
		win = is_l3 ? l3 : l4;
	} else if (l3 || l4) {
		is_l3 = l3 != NULL;
		win = l3 ? l3 : l4;
	} else {
		out->allowed = 0;
		out->reason = BW_DROP_POLICY;
		out->match_type = BW_MATCH_NONE;
		return;
	}
	out->rule_ref = win->rule_ref;
	if (is_l3)
		out->match_type = win->prefix_len == 0  ? BW_MATCH_L3_ONLY
				  : win->prefix_len <= 8 ? BW_MATCH_L3_PROTO
							 : BW_MATCH_L3_L4;
	else
		out->match_type = win->prefix_len == 0  ? BW_MATCH_ALL
				  : win->prefix_len <= 8 ? BW_MATCH_PROTO_ONLY
							 : BW_MATCH_L4_ONLY;
	if (win->flags & BW_POL_F_DENY) {
		out->allowed = 0;
		out->reason = BW_DROP_POLICY_DENY;
	} else {
		out->allowed = 1;
		out->proxy_class = win->proxy_class ? win->proxy_class : vis;
	}
}

int bw_datapath_policy_lookup(uint32_t ep_id, uint32_t identity, uint8_t direction,
			      uint8_t protocol, uint16_t port, struct bw_policy_verdict *out)
{
	struct bw_policy_key k;
	struct bw_policy_value v3, v4;
	int fd, has3, has4, rc = dp_ready();

	if (rc < 0)
		return rc;
	memset(&k, 0, sizeof(k));
	k.prefixlen = BW_POLICY_FULL_BITS;
	k.ep_id = htonl(ep_id);
	k.identity = htonl(identity);
	k.direction = direction;
	k.protocol = protocol;
	k.dport = dp_is_icmp(protocol) ? htons((uint16_t)((port & 0xff) << 8)) : htons(port);
	fd = DP_FD(bw_policy);
	has3 = bpf_map_lookup_elem(fd, &k, &v3) == 0;
	k.identity = 0;
	has4 = bpf_map_lookup_elem(fd, &k, &v4) == 0;
	bw_datapath_policy_decide(has3 ? &v3 : NULL, has4 ? &v4 : NULL, out);
	return 0;
}

/* ---- events and metrics ---------------------------------------------------------- */

int bw_datapath_events_fd(void)
{
	int rc = dp_ready();

	return rc < 0 ? rc : DP_FD(bw_events);
}

int bw_datapath_events_lost(uint64_t *lost)
{
	uint32_t zero = 0;
	uint64_t *vals;
	int i, n = dp_ncpus(), rc = dp_ready();

	if (rc < 0)
		return rc;
	vals = calloc((size_t)n, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	*lost = 0;
	if (bpf_map_lookup_elem(DP_FD(bw_events_lost), &zero, vals) < 0) {
		rc = -errno;
		free(vals);
		return rc;
	}
	for (i = 0; i < n; i++)
		*lost += vals[i];
	free(vals);
	return 0;
}

int bw_datapath_metrics_read(int (*fn)(const struct bw_metrics_key *, const struct bw_metrics_value *,
				       void *),
			     void *arg)
{
	struct bw_metrics_key key;
	struct bw_metrics_value *vals, sum;
	int fd, i, n = dp_ncpus(), rc = dp_ready();

	if (rc < 0)
		return rc;
	vals = calloc((size_t)n, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	fd = DP_FD(bw_metrics);
	for (__u32 idx = 0; idx < BW_METRICS_SLOTS; idx++) {
		if (bpf_map_lookup_elem(fd, &idx, vals) < 0) {
			rc = -errno;
			break;
		}
		memset(&sum, 0, sizeof(sum));
		for (i = 0; i < n; i++) {
			sum.packets += vals[i].packets;
			sum.bytes += vals[i].bytes;
		}
		if (!sum.packets && !sum.bytes)
			continue; /* never counted: as absent as in a hash */
		memset(&key, 0, sizeof(key));
		key.reason = (__u8)(idx & 0xff);
		key.direction = (__u8)(idx >> 8);
		rc = fn(&key, &sum, arg);
		if (rc) {
			rc = rc < 0 ? rc : 0;
			break;
		}
	}
	free(vals);
	return rc;
}
