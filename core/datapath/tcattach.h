/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/datapath/tcattach.h - attaching the datapath's two tc programs to an
 * endpoint's host-side veth, with tcx links (kernel >= 6.6) or clsact
 * filters. Internal to core/datapath/datapath.c, which owns the loaded programs;
 * everyone else goes through bw_datapath_attach()/_detach().
 *
 * tcx links are pinned under <bpffs_dir>/links/<ifindex>-<ingress|egress>
 * (the tc hook, not the policy direction), so they outlive the daemon like
 * the clsact filters do; a re-attach updates the pinned link to the new
 * program (bpf_link_update, atomic) instead of creating a second link.
 * Switching between the two kinds on an interface adds the new attachment
 * first and removes the old one afterwards: a tcx program's verdict
 * (TC_ACT_OK / TC_ACT_SHOT = TCX_PASS / TCX_DROP) is final and skips the
 * clsact filters, so there is no window without a program.
 *
 * 0 / -errno returns; errors are logged by the caller (bw_datapath_*) except
 * where said.
 */
#ifndef BW_TCATTACH_H
#define BW_TCATTACH_H

/*
 * Resolve the attach mode (BW_TC_ATTACH_*, core/datapath/datapath.h): auto probes
 * the kernel for tcx with prog_fd (no interface is touched); create
 * <bpffs_dir>/links; remove pins whose link lost its interface. Logs the
 * mode once ("datapath: attaching with tcx"). Logs its own errors.
 */
int bw_tcattach_init(const char *bpffs_dir, int mode, int prog_fd);

/* Forget the directory and the resolved mode. */
void bw_tcattach_close(void);

/* The mode in use: "tcx" or "clsact" ("" before init). */
const char *bw_tcattach_mode_name(void);

/*
 * Attach from_fd to the tc ingress hook and to_fd to the tc egress hook of
 * ifindex, replacing bulwark's previous programs there without a window,
 * and remove bulwark's attachment of the other kind if there is one.
 */
int bw_tcattach_attach(int ifindex, int from_fd, int to_fd);

/* 1 if bulwark's program is on ifindex's tc ingress hook (a pinned tcx
 * link, or our clsact filter), else 0. */
int bw_tcattach_attached(int ifindex);

/* Remove bulwark's tcx links (and their pins) and clsact filters from
 * ifindex; what is missing, or an interface that is gone, is not an error. */
int bw_tcattach_detach(int ifindex);

#endif /* BW_TCATTACH_H */
