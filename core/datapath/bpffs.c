/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/datapath/bpffs.c - a BPF filesystem for daemon.bpffs_dir, as
 * cilium-agent makes sure of one at start-up.
 *
 *  - bpffs_dir already on a bpffs: nothing to do.
 *  - bpffs_dir under /sys/fs/bpf (the default, /sys/fs/bpf/bulwark): the
 *    bpffs belongs on /sys/fs/bpf itself. When /sys/fs/bpf is not one (a
 *    machine that does not mount it, or `ip netns exec`, which mounts a
 *    fresh sysfs, where /sys/fs/bpf is a plain sysfs directory in which
 *    nothing can be created), bulwarkd mounts one there and says so, then
 *    creates its directory in it.
 *  - any other directory: created, and a bpffs mounted on it when it is
 *    not on one.
 *
 * A bpffs that bulwarkd mounted in a mount namespace of its own (`ip netns
 * exec`, unshare) lives only as long as bulwarkd: the pins, and so the
 * enforcement that outlives a stop, go with it. That is allowed (tests,
 * trials) with a warning. Any failure names daemon.bpffs_dir and the fix.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "core/datapath/datapath_int.h"
#include "core/log.h"
#include "core/state.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

#define BPFFS_ROOT "/sys/fs/bpf"

/* 1 on a bpffs, 0 on another filesystem, -errno when it cannot be told. */
static int bpffs_is(const char *path)
{
	struct statfs sfs;

	if (statfs(path, &sfs) < 0)
		return -errno;
	return (unsigned long)sfs.f_type == BPF_FS_MAGIC;
}

/*
 * Does bulwarkd run in a mount namespace of its own? Its parent's (the
 * shell that ran `ip netns exec`) or init's differs. When neither can be
 * read, it is assumed shared.
 */
static int bpffs_mntns_private(void)
{
	char self[64], other[64], path[64];
	ssize_t n = readlink("/proc/self/ns/mnt", self, sizeof(self) - 1);
	pid_t pp = getppid();

	if (n <= 0)
		return 0;
	self[n] = '\0';
	if (pp > 1) {
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pp);
		n = readlink(path, other, sizeof(other) - 1);
		if (n > 0) {
			other[n] = '\0';
			if (strcmp(self, other))
				return 1;
		}
	}
	n = readlink("/proc/1/ns/mnt", other, sizeof(other) - 1);
	if (n > 0) {
		other[n] = '\0';
		return strcmp(self, other) != 0;
	}
	return 0;
}

static int bpffs_mount(const char *where)
{
	if (mount("bpffs", where, "bpf", 0, "mode=0700") < 0) {
		int rc = -errno;

		bw_err_errno(rc,
			     "datapath: %s is not a BPF filesystem and mounting one there failed; mount one (mount -t bpf bpf %s) or set daemon.bpffs_dir to a directory on a bpffs",
			     where, where);
		return rc;
	}
	if (bpffs_mntns_private())
		bw_warn("datapath: mounted a BPF filesystem on %s, in bulwarkd's own mount namespace (ip netns exec, unshare): it lasts only as long as bulwarkd, so the pinned maps and programs, and enforcement, do not survive a stop or restart; for that mount one on %s outside it (mount -t bpf bpf %s)",
			where, where, where);
	else
		bw_notice("datapath: %s was not a BPF filesystem: mounted one there", where);
	return 0;
}

static int bpffs_mkdir(const char *dir)
{
	int rc = bw_state_mkdir_p(dir, 0700);

	if (rc < 0)
		bw_err_errno(rc,
			     "datapath: cannot create daemon.bpffs_dir %s; set daemon.bpffs_dir to a directory bulwarkd can create (on a bpffs, or where it can mount one)",
			     dir);
	return rc;
}

int dp_bpffs_prepare(const char *dir)
{
	size_t rl = strlen(BPFFS_ROOT);
	int under_root = !strncmp(dir, BPFFS_ROOT "/", rl + 1) && dir[rl + 1] != '\0';
	int rc;

	if (bpffs_is(dir) == 1)
		return 0;
	if (under_root) {
		rc = bpffs_is(BPFFS_ROOT);
		if (rc < 0) {
			bw_err_errno(rc,
				     "datapath: cannot look at %s (for daemon.bpffs_dir %s); set daemon.bpffs_dir to a directory on a bpffs",
				     BPFFS_ROOT, dir);
			return rc;
		}
		if (rc == 0 && (rc = bpffs_mount(BPFFS_ROOT)) < 0)
			return rc;
		if ((rc = bpffs_mkdir(dir)) < 0)
			return rc;
		return 0;
	}
	if ((rc = bpffs_mkdir(dir)) < 0)
		return rc;
	rc = bpffs_is(dir);
	if (rc < 0) {
		bw_err_errno(rc, "datapath: cannot look at daemon.bpffs_dir %s", dir);
		return rc;
	}
	return rc ? 0 : bpffs_mount(dir);
}
