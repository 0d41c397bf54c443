/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/datapath/tcattach.c - the datapath programs on an endpoint's host-side veth:
 * tcx links where the kernel has them (6.6+), clsact filters otherwise or
 * when daemon.tc_attach says so.
 *
 * libbpf 1.1 has no tcx API (bpf_program__attach_tcx came with 1.3) and
 * Debian 12's linux/bpf.h (6.1) does not know the tcx attach types, so the
 * links are made with bpf_link_create(prog, ifindex, BPF_TCX_*, NULL), which
 * passes an attach type it does not know straight to the kernel. Default
 * placement: no BPF_F_BEFORE/AFTER, so the program is appended behind
 * whatever tcx programs the hook already has (bulwark is meant to be the
 * only one; a program in front of it that returns TCX_PASS or TCX_DROP
 * decides before bulwark sees the packet).
 *
 * A tcx link lives as long as something references it, so each one is
 * pinned under <bpffs_dir>/links/<ifindex>-<ingress|egress>: enforcement
 * goes on while the daemon is down (DESIGN 12). A re-attach (restart,
 * endpoint re-added) opens the pin and bpf_link_update()s it to the new
 * program, atomically; a detach detaches the link and removes the pin. A
 * link whose interface disappeared is detached by the kernel (its info says
 * ifindex 0): init removes such pins, and an attach replaces them.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/datapath/datapath.h"
#include "core/log.h"
#include "core/state.h"
#include "core/datapath/tcattach.h"

/*
 * From the kernel's uapi (6.6+; checked against this kernel's BTF:
 * `bpftool btf dump file /sys/kernel/btf/vmlinux | grep BPF_TCX`). They are
 * enum constants there, so they get names of our own rather than #ifndef.
 */
#define TCA_BPF_TCX_INGRESS 46
#define TCA_BPF_TCX_EGRESS 47
#define TCA_BPF_LINK_TYPE_TCX 11
#define TCA_ENOTSUPP 524 /* the kernel's internal ENOTSUPP */

/* Our clsact filters: fixed handle and priority, so a re-attach replaces them. */
#define TCA_TC_HANDLE 0xb01
#define TCA_TC_PRIO 1

enum { TCA_INGRESS, TCA_EGRESS };
static const char *const tca_hook_name[] = { "ingress", "egress" };

static char tca_dir[PATH_MAX];  /* <bpffs_dir>/links */
static int tca_mode;            /* resolved: BW_TC_ATTACH_TCX or _CLSACT; 0 before init */
static int tca_auto;            /* the mode came from auto: may still fall back */
static int tca_tcx_worked;      /* a tcx link was made or updated in this process */

/* ---- helpers -------------------------------------------------------------- */

static int tca_quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

static int tca_errno(int rc)
{
	return rc < 0 ? rc : -EIO;
}

static int tca_pin_path(char *buf, size_t len, int ifindex, int hook)
{
	if ((size_t)snprintf(buf, len, "%s/%d-%s", tca_dir, ifindex, tca_hook_name[hook]) >= len)
		return -ENAMETOOLONG;
	return 0;
}

struct tca_link {
	__u32 type, id, prog_id;
	__u32 ifindex, attach_type; /* tcx: 0 once the interface is gone */
};

/*
 * A link's type, ids and, for tcx, interface and hook. The 6.1 header's
 * struct bpf_link_info has no `tcx` member; in 6.6+ it is
 * struct { __u32 ifindex; __u32 attach_type; } at the start of the union,
 * where this header has xdp.ifindex.
 */
static int tca_link_info(int fd, struct tca_link *out)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info), u[2];
	int rc;

	memset(&info, 0, sizeof(info));
	rc = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (rc < 0)
		return tca_errno(rc);
	memcpy(u, (const char *)&info + offsetof(struct bpf_link_info, xdp), sizeof(u));
	out->type = info.type;
	out->id = info.id;
	out->prog_id = info.prog_id;
	out->ifindex = u[0];
	out->attach_type = u[1];
	return 0;
}

/* ---- clsact ---------------------------------------------------------------- */

static int tca_clsact_attach_one(int ifindex, int hook, int prog_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex,
			    .attach_point = hook == TCA_INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TCA_TC_HANDLE, .priority = TCA_TC_PRIO,
			    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	libbpf_print_fn_t old;
	int rc;

	/* an existing clsact qdisc is the normal case: keep libbpf from
	 * logging the kernel's "exclusivity flag on" for it */
	old = libbpf_set_print(tca_quiet_print);
	rc = bpf_tc_hook_create(&h);
	libbpf_set_print(old);
	if (rc < 0 && rc != -EEXIST)
		return rc;
	return bpf_tc_attach(&h, &opts);
}

/* Remove our filter; the clsact qdisc and other filters on it stay. */
static int tca_clsact_detach_one(int ifindex, int hook)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex,
			    .attach_point = hook == TCA_INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TCA_TC_HANDLE, .priority = TCA_TC_PRIO);
	libbpf_print_fn_t old;
	int rc;

	old = libbpf_set_print(tca_quiet_print);
	rc = bpf_tc_detach(&h, &opts);
	libbpf_set_print(old);
	if (rc == -ENOENT || rc == -ENODEV || rc == -EINVAL)
		return 0; /* not attached, no qdisc, or the interface is gone */
	return rc;
}

static int tca_clsact_detach(int ifindex)
{
	int rc = tca_clsact_detach_one(ifindex, TCA_INGRESS);
	int rc2 = tca_clsact_detach_one(ifindex, TCA_EGRESS);

	return rc < 0 ? rc : rc2;
}

/* ---- tcx ------------------------------------------------------------------- */

/*
 * Make the pinned link of (ifindex, hook) run prog_fd: update the pinned
 * link when it is a live tcx link on this interface and hook, else drop the
 * pin (stale: the interface went away) and create and pin a new link.
 */
static int tca_tcx_attach_one(int ifindex, int hook, int prog_fd)
{
	__u32 type = hook == TCA_INGRESS ? TCA_BPF_TCX_INGRESS : TCA_BPF_TCX_EGRESS;
	struct tca_link l;
	char path[PATH_MAX];
	int fd, rc;

	rc = tca_pin_path(path, sizeof(path), ifindex, hook);
	if (rc < 0)
		return rc;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		rc = tca_link_info(fd, &l);
		if (rc == 0 && l.type == TCA_BPF_LINK_TYPE_TCX && l.ifindex == (__u32)ifindex &&
		    l.attach_type == type) {
			rc = bpf_link_update(fd, prog_fd, NULL);
			if (rc == 0) {
				close(fd);
				tca_tcx_worked = 1;
				return 0;
			}
			if (rc != -ENOLINK) { /* ENOLINK: detached meanwhile */
				close(fd);
				return tca_errno(rc);
			}
		} else if (rc == 0 && l.type == TCA_BPF_LINK_TYPE_TCX && l.ifindex) {
			bw_warn("datapath: %s holds a link on ifindex %u, not %d; replacing the pin",
				path, l.ifindex, ifindex);
		}
		close(fd);
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
		bw_debug("datapath: removed the stale pin %s", path);
	} else if (fd != -ENOENT) {
		return tca_errno(fd);
	}
	fd = bpf_link_create(prog_fd, ifindex, (enum bpf_attach_type)type, NULL);
	if (fd < 0)
		return tca_errno(fd);
	rc = bpf_obj_pin(fd, path);
	if (rc < 0) {
		rc = tca_errno(rc);
		bpf_link_detach(fd); /* unpinned, it would go with the fd anyway */
		close(fd);
		return rc;
	}
	close(fd);
	tca_tcx_worked = 1;
	return 0;
}

/* Detach and unpin bulwark's tcx link of (ifindex, hook), if there is one. */
static int tca_tcx_detach_one(int ifindex, int hook)
{
	struct tca_link l;
	char path[PATH_MAX];
	int fd, rc;

	if (!tca_dir[0])
		return 0;
	rc = tca_pin_path(path, sizeof(path), ifindex, hook);
	if (rc < 0)
		return rc;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return fd == -ENOENT ? 0 : tca_errno(fd);
	/* a link the pin name does not describe is not detached, only unpinned */
	if (tca_link_info(fd, &l) == 0 && l.type == TCA_BPF_LINK_TYPE_TCX &&
	    l.ifindex == (__u32)ifindex)
		bpf_link_detach(fd);
	close(fd);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int tca_tcx_detach(int ifindex)
{
	int rc = tca_tcx_detach_one(ifindex, TCA_INGRESS);
	int rc2 = tca_tcx_detach_one(ifindex, TCA_EGRESS);

	return rc < 0 ? rc : rc2;
}

/*
 * Does this kernel have tcx? A link on ifindex 0 cannot be made: a kernel
 * with tcx looks for the interface (ENODEV), one without refuses the
 * attach type first (EINVAL). No interface is touched. Returns 1, or 0 with
 * *why set.
 */
static int tca_tcx_probe(int prog_fd, int *why)
{
	int fd = bpf_link_create(prog_fd, 0, (enum bpf_attach_type)TCA_BPF_TCX_INGRESS, NULL);

	if (fd >= 0) { /* not expected; whatever it is, it has tcx */
		bpf_link_detach(fd);
		close(fd);
		return 1;
	}
	*why = fd;
	return fd == -ENODEV;
}

/* Remove the pins whose link lost its interface (or that are no tcx link). */
static void tca_sweep(void)
{
	struct tca_link l;
	struct dirent *de;
	char path[PATH_MAX];
	DIR *d;
	int fd, ifindex, n = 0;
	char hook[16];

	d = opendir(tca_dir);
	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		if (sscanf(de->d_name, "%d-%15s", &ifindex, hook) != 2 || ifindex <= 0 ||
		    (strcmp(hook, "ingress") && strcmp(hook, "egress")))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", tca_dir, de->d_name) >=
		    sizeof(path))
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (tca_link_info(fd, &l) == 0 &&
		    (l.type != TCA_BPF_LINK_TYPE_TCX || l.ifindex == 0)) {
			if (unlink(path) == 0)
				n++;
		}
		close(fd);
	}
	closedir(d);
	if (n)
		bw_info("datapath: removed %d pinned tcx link(s) whose interface is gone", n);
}

/* ---- the interface --------------------------------------------------------- */

int bw_tcattach_init(const char *bpffs_dir, int mode, int prog_fd)
{
	int why = 0, rc;

	if ((size_t)snprintf(tca_dir, sizeof(tca_dir), "%s/links", bpffs_dir) >= sizeof(tca_dir)) {
		tca_dir[0] = 0;
		bw_err("datapath: bpffs path too long: %s", bpffs_dir);
		return -ENAMETOOLONG;
	}
	if (mkdir(tca_dir, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		bw_err_errno(errno, "datapath: cannot create %s", tca_dir);
		tca_dir[0] = 0;
		return rc;
	}
	tca_auto = 0;
	switch (mode) {
	case BW_TC_ATTACH_CLSACT:
		tca_mode = BW_TC_ATTACH_CLSACT;
		bw_info("datapath: attaching with clsact (tc_attach = clsact)");
		break;
	case BW_TC_ATTACH_TCX:
		if (!tca_tcx_probe(prog_fd, &why)) {
			bw_err("datapath: tc_attach = tcx, but this kernel has no tcx links (%s)",
			       strerror(-why));
			tca_mode = 0;
			return -EOPNOTSUPP;
		}
		tca_mode = BW_TC_ATTACH_TCX;
		bw_info("datapath: attaching with tcx (tc_attach = tcx), links pinned under %s",
			tca_dir);
		break;
	default:
		tca_auto = 1;
		if (tca_tcx_probe(prog_fd, &why)) {
			tca_mode = BW_TC_ATTACH_TCX;
			bw_info("datapath: attaching with tcx, links pinned under %s", tca_dir);
		} else {
			tca_mode = BW_TC_ATTACH_CLSACT;
			bw_info("datapath: attaching with clsact (no tcx in this kernel: %s)",
				strerror(-why));
		}
		break;
	}
	tca_sweep();
	return 0;
}

void bw_tcattach_close(void)
{
	tca_dir[0] = 0;
	tca_mode = 0;
	tca_auto = 0;
	tca_tcx_worked = 0;
}

const char *bw_tcattach_mode_name(void)
{
	return tca_mode == BW_TC_ATTACH_TCX	 ? "tcx"
	       : tca_mode == BW_TC_ATTACH_CLSACT ? "clsact"
						 : "";
}

static int tca_attach_clsact(int ifindex, int from_fd, int to_fd)
{
	int rc;

	rc = tca_clsact_attach_one(ifindex, TCA_INGRESS, from_fd);
	if (rc == 0)
		rc = tca_clsact_attach_one(ifindex, TCA_EGRESS, to_fd);
	if (rc < 0)
		return rc;
	/* a previous run's tcx links would keep deciding: drop them now that
	 * the filters are in place */
	rc = tca_tcx_detach(ifindex);
	if (rc < 0)
		bw_warn_errno(rc,
			      "datapath: ifindex %d: cannot remove the earlier tcx links",
			      ifindex);
	return 0;
}

int bw_tcattach_attach(int ifindex, int from_fd, int to_fd)
{
	int rc;

	if (!tca_mode)
		return -ENXIO;
	if (tca_mode == BW_TC_ATTACH_CLSACT)
		return tca_attach_clsact(ifindex, from_fd, to_fd);
	rc = tca_tcx_attach_one(ifindex, TCA_INGRESS, from_fd);
	if (rc == 0)
		rc = tca_tcx_attach_one(ifindex, TCA_EGRESS, to_fd);
	if (rc < 0) {
		if (tca_auto && !tca_tcx_worked &&
		    (rc == -EINVAL || rc == -EOPNOTSUPP || rc == -TCA_ENOTSUPP)) {
			bw_warn("datapath: tcx attach refused (%s); attaching with clsact instead",
				strerror(-rc));
			tca_mode = BW_TC_ATTACH_CLSACT;
			return tca_attach_clsact(ifindex, from_fd, to_fd);
		}
		return rc;
	}
	/* both links decide now; a clsact filter of an earlier run is never
	 * reached any more and can go */
	rc = tca_clsact_detach(ifindex);
	if (rc < 0)
		bw_warn_errno(rc,
			      "datapath: ifindex %d: cannot remove the earlier clsact filters",
			      ifindex);
	return 0;
}

int bw_tcattach_attached(int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TCA_TC_HANDLE, .priority = TCA_TC_PRIO);
	libbpf_print_fn_t old;
	char path[PATH_MAX];
	int rc;

	if (tca_dir[0] && tca_pin_path(path, sizeof(path), ifindex, TCA_INGRESS) == 0 &&
	    access(path, F_OK) == 0)
		return 1;
	old = libbpf_set_print(tca_quiet_print);
	rc = bpf_tc_query(&h, &opts);
	libbpf_set_print(old);
	return rc == 0;
}

int bw_tcattach_detach(int ifindex)
{
	int rc = tca_tcx_detach(ifindex);
	int rc2 = tca_clsact_detach(ifindex);

	return rc < 0 ? rc : rc2;
}
