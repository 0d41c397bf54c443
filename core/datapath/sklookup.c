/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/datapath/sklookup.c - loading bpf/bw_sklookup.bpf.c on the pinned
 * maps and linking it to the daemon's own network namespace (see
 * core/datapath/sklookup.h). Nothing of any other namespace is touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/datapath/datapath.h"
#include "core/datapath/pins.h"
#include "core/datapath/sklookup.h"
#include "core/log.h"
#include "bpf/bw_sklookup.skel.h"

_Static_assert(sizeof(struct bw_twsyn_key) == 40, "bw_twsyn_key layout");

static struct {
	struct bw_sklookup *skel;
	struct bpf_link *link;
} sl;

int bw_sklookup_init(const char *bpffs_dir)
{
	int rc, ns;

	if (sl.skel)
		return 0;
	sl.skel = bw_sklookup__open();
	if (!sl.skel) {
		rc = -errno;
		bw_err_errno(rc, "sk_lookup: cannot open the BPF object");
		return rc;
	}
	rc = dp_reuse_pins(sl.skel->obj, bpffs_dir);
	if (rc == 0)
		rc = bw_sklookup__load(sl.skel);
	if (rc < 0) {
		bw_warn_errno(rc, "sk_lookup: cannot load the program (kernel without sk_lookup?); a client reusing a port whose previous proxied connection is in TIME_WAIT connects only after a retry");
		bw_sklookup__destroy(sl.skel);
		sl.skel = NULL;
		return 0;
	}
	ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns < 0) {
		rc = -errno;
		bw_err_errno(rc, "sk_lookup: cannot open this network namespace");
		goto fail;
	}
	sl.link = bpf_program__attach_netns(sl.skel->progs.bw_sk_lookup, ns);
	rc = libbpf_get_error(sl.link);
	close(ns);
	if (rc) {
		sl.link = NULL;
		bw_err_errno(rc, "sk_lookup: cannot attach to this network namespace");
		goto fail;
	}
	bw_debug("sk_lookup: attached to this network namespace");
	return 0;
fail:
	bw_sklookup__destroy(sl.skel);
	sl.skel = NULL;
	return rc;
}

void bw_sklookup_close(void)
{
	if (sl.link) {
		bpf_link__destroy(sl.link);
		sl.link = NULL;
	}
	if (sl.skel) {
		bw_sklookup__destroy(sl.skel);
		sl.skel = NULL;
	}
}
