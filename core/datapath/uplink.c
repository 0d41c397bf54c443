/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/datapath/uplink.c - loading bpf/bw_uplink.bpf.c on its pinned
 * maps and attaching it to the tc ingress hook of each interface of
 * datapath.uplinks (see core/datapath/uplink.h).
 *
 * Unlike the endpoint programs, which stay attached while the daemon is
 * down, an uplink's program lives with the daemon: it only serves the
 * daemon's own proxies, which are gone with it. With tcx the link is not
 * pinned, so the kernel detaches it when the daemon's descriptors close,
 * however it ends; clsact filters outlive a process, so they are removed
 * explicitly, and the list of interfaces that have one is kept in the
 * state directory for the start after a crash.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "core/api.h"
#include "core/config.h"
#include "core/datapath/datapath.h"
#include "core/datapath/pins.h"
#include "core/datapath/uplink.h"
#include "core/log.h"
#include "core/state.h"
#include "bpf/bw_uplink.skel.h"

#define UL_TCX_INGRESS 46 /* BPF_TCX_INGRESS (kernel 6.6+; see tcattach.c) */
#define UL_ENOTSUPP 524
#define UL_TC_HANDLE 0xb02 /* the endpoint programs' filters are 0xb01 */
#define UL_TC_PRIO 1

struct ul_if {
	char name[16];
	int ifindex;   /* 0: not attached */
	int link_fd;   /* tcx link, -1 for a clsact filter */
};

static struct {
	struct bw_uplink *skel;
	char bpffs[PATH_MAX];
	char state[PATH_MAX]; /* <state_dir>/uplinks */
	struct ul_if ifs[BW_CONF_IFLIST_MAX];
	int n;
	int watching, status;
} ul;

static int ul_quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

/* ---- the program ---------------------------------------------------------------- */

static int ul_load(void)
{
	int rc;

	if (ul.skel)
		return 0;
	ul.skel = bw_uplink__open();
	if (!ul.skel) {
		rc = -errno;
		bw_err_errno(rc, "uplink: cannot open the BPF object");
		return rc;
	}
	/* the endpoint programs' maps, by their pins (bw_datapath_init made them) */
	rc = dp_reuse_pins(ul.skel->obj, ul.bpffs);
	if (rc == 0)
		rc = bw_uplink__load(ul.skel);
	if (rc < 0) {
		bw_err_errno(rc, "uplink: cannot load the uplink program");
		bw_uplink__destroy(ul.skel);
		ul.skel = NULL;
		return rc;
	}
	return 0;
}

/* ---- attachment ----------------------------------------------------------------- */

static int ul_clsact(int ifindex, int attach)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = UL_TC_HANDLE, .priority = UL_TC_PRIO);
	libbpf_print_fn_t old = libbpf_set_print(ul_quiet_print);
	int rc;

	if (attach) {
		opts.prog_fd = bpf_program__fd(ul.skel->progs.bw_from_uplink);
		opts.flags = BPF_TC_F_REPLACE;
		rc = bpf_tc_hook_create(&h);
		if (rc == 0 || rc == -EEXIST)
			rc = bpf_tc_attach(&h, &opts);
	} else {
		rc = bpf_tc_detach(&h, &opts);
		if (rc == -ENOENT || rc == -ENODEV || rc == -EINVAL)
			rc = 0; /* not there, or the interface is gone */
	}
	libbpf_set_print(old);
	return rc;
}

static int ul_attach(struct ul_if *u)
{
	int idx = (int)if_nametoindex(u->name), fd, rc;

	if (!idx) {
		bw_warn("uplink: %s: no such interface; TCP from outside through it to ports that ingress L7 policies redirect is dropped until a reload finds it",
			u->name);
		return -ENODEV;
	}
	if (strcmp(bw_datapath_attach_mode(), "clsact") != 0) {
		fd = bpf_link_create(bpf_program__fd(ul.skel->progs.bw_from_uplink), idx,
				     (enum bpf_attach_type)UL_TCX_INGRESS, NULL);
		if (fd >= 0) {
			u->ifindex = idx;
			u->link_fd = fd;
			bw_info("uplink: %s (ifindex %d): attached with tcx", u->name, idx);
			return 0;
		}
		if (fd != -EINVAL && fd != -EOPNOTSUPP && fd != -UL_ENOTSUPP) {
			bw_err_errno(fd, "uplink: %s: cannot attach", u->name);
			return fd;
		}
	}
	rc = ul_clsact(idx, 1);
	if (rc < 0) {
		bw_err_errno(rc, "uplink: %s: cannot attach a clsact filter", u->name);
		return rc;
	}
	u->ifindex = idx;
	u->link_fd = -1;
	bw_info("uplink: %s (ifindex %d): attached with clsact", u->name, idx);
	return 0;
}

static void ul_detach(struct ul_if *u)
{
	if (!u->ifindex)
		return;
	if (u->link_fd >= 0) {
		bpf_link_detach(u->link_fd);
		close(u->link_fd);
	} else {
		int rc = ul_clsact(u->ifindex, 0);

		if (rc < 0)
			bw_warn_errno(rc, "uplink: %s: cannot remove the clsact filter", u->name);
	}
	bw_info("uplink: %s: detached", u->name);
	u->ifindex = 0;
	u->link_fd = -1;
}

/* <state_dir>/uplinks: the interfaces with a clsact filter of ours. */
static void ul_state_write(void)
{
	json_t *a = json_array();

	if (!ul.state[0] || !a)
		goto out;
	for (int i = 0; i < ul.n; i++)
		if (ul.ifs[i].ifindex && ul.ifs[i].link_fd < 0)
			json_array_append_new(a, json_string(ul.ifs[i].name));
	if (json_array_size(a) == 0) {
		if (unlink(ul.state) < 0 && errno != ENOENT)
			bw_warn_errno(errno, "uplink: cannot remove %s", ul.state);
	} else if (bw_state_write_json(ul.state, a) < 0) {
		bw_warn("uplink: cannot write %s: a crash would leave its clsact filters behind",
			ul.state);
	}
out:
	json_decref(a);
}

/* Filters an earlier run left on interfaces no longer listed. */
static void ul_state_sweep(char names[][16], int n)
{
	json_t *a = bw_state_read_json(ul.state, NULL, 0), *v;
	size_t i;

	json_array_foreach(a, i, v) {
		const char *name = json_string_value(v);
		int keep = 0, idx;

		if (!name)
			continue;
		for (int j = 0; j < n; j++)
			keep |= !strcmp(names[j], name);
		idx = keep ? 0 : (int)if_nametoindex(name);
		if (idx && ul_clsact(idx, 0) == 0)
			bw_info("uplink: %s: removed the filter an earlier run left", name);
	}
	json_decref(a);
}

/* GET /v1/status "uplink": {"eth0": "tcx", "eth1": "missing"} */
static json_t *ul_status(void *arg)
{
	json_t *o = json_object();

	(void)arg;
	for (int i = 0; o && i < ul.n; i++)
		json_object_set_new(o, ul.ifs[i].name,
				    json_string(!ul.ifs[i].ifindex	   ? "missing"
						: ul.ifs[i].link_fd >= 0 ? "tcx"
									 : "clsact"));
	return o;
}

int bw_uplink_set(const char *list)
{
	char names[BW_CONF_IFLIST_MAX][16], bad[64];
	struct ul_if next[BW_CONF_IFLIST_MAX];
	int n, rc = 0;

	n = bw_conf_iflist(list, names, BW_CONF_IFLIST_MAX, bad, sizeof(bad));
	if (n < 0) {
		bw_err("uplink: '%s' is not an interface name", bad);
		return -EINVAL;
	}
	if (n > 0 && (rc = ul_load()) < 0)
		return rc;
	/* keep what stays attached, detach what left the list */
	for (int i = 0; i < ul.n; i++) {
		int stays = 0;

		for (int j = 0; j < n; j++)
			stays |= !strcmp(names[j], ul.ifs[i].name);
		if (!stays || (ul.ifs[i].ifindex &&
			       (int)if_nametoindex(ul.ifs[i].name) != ul.ifs[i].ifindex))
			ul_detach(&ul.ifs[i]);
	}
	for (int j = 0; j < n; j++) {
		struct ul_if *u = &next[j];

		memset(u, 0, sizeof(*u));
		snprintf(u->name, sizeof(u->name), "%s", names[j]);
		u->link_fd = -1;
		for (int i = 0; i < ul.n; i++)
			if (!strcmp(ul.ifs[i].name, names[j]))
				*u = ul.ifs[i];
		if (!u->ifindex) {
			int e = ul_attach(u);

			if (e < 0 && e != -ENODEV && rc == 0)
				rc = e;
		}
	}
	memcpy(ul.ifs, next, sizeof(next[0]) * (size_t)n);
	ul.n = n;
	ul_state_write();
	if (n == 0 && ul.skel) {
		bw_uplink__destroy(ul.skel);
		ul.skel = NULL;
	}
	if (n > 0 && !ul.status && bw_api_status_add("uplink", ul_status, NULL) == 0)
		ul.status = 1;
	else if (n == 0 && ul.status) {
		bw_api_status_remove("uplink");
		ul.status = 0;
	}
	return rc;
}

int bw_uplink_init(const char *bpffs_dir, const char *state_dir, const char *list)
{
	char names[BW_CONF_IFLIST_MAX][16];
	int n;

	snprintf(ul.bpffs, sizeof(ul.bpffs), "%s", bpffs_dir);
	if ((size_t)snprintf(ul.state, sizeof(ul.state), "%s/uplinks", state_dir) >=
	    sizeof(ul.state))
		ul.state[0] = '\0';
	n = bw_conf_iflist(list, names, BW_CONF_IFLIST_MAX, NULL, 0);
	if (ul.state[0])
		ul_state_sweep(names, n < 0 ? 0 : n);
	return bw_uplink_set(list);
}

void bw_uplink_close(void)
{
	for (int i = 0; i < ul.n; i++)
		ul_detach(&ul.ifs[i]);
	ul.n = 0;
	ul_state_write();
	if (ul.status) {
		bw_api_status_remove("uplink");
		ul.status = 0;
	}
	if (ul.skel) {
		bw_uplink__destroy(ul.skel);
		ul.skel = NULL;
	}
}

static void ul_conf_changed(const struct bw_daemon_conf *old, const struct bw_daemon_conf *cur,
			    void *arg)
{
	(void)arg;
	(void)old;
	/* also unchanged: an interface that was missing may be there now */
	bw_uplink_set(cur->datapath_uplinks);
}

int bw_uplink_watch(void)
{
	int rc;

	if (ul.watching)
		return 0;
	rc = bw_conf_watch(ul_conf_changed, NULL);
	if (rc == 0)
		ul.watching = 1;
	return rc;
}
