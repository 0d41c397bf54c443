/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/whatif.h - what-if: a candidate policy set resolved by the
 * daemon's own resolver, apart from the datapath, and connections of the
 * flow history replayed against it (the advisor's simulate, recommend's
 * self-check and broad-rules; DESIGN.md section 4, "one truth").
 *
 * A what-if holds two resolver instances fed the live identities,
 * endpoints and enforcement mode: "current" (the enforced policies of the
 * repository now) and "candidate" (the current set plus a batch of
 * documents, or the batch instead of the API-managed set, as `policy
 * replace` would leave it). Their output is never written to the maps:
 * each endpoint's entries are expanded exactly as the datapath would hold
 * them (bw_datapath_policy_expand()) and a connection is looked up with the
 * datapath's own decision (bw_datapath_policy_lookup_set()). Both sets are
 * resolved the same way, so the difference between their answers is the
 * difference the candidate makes.
 *
 * Connections come named as history names them (lib/flowpeer.h). The side
 * whose policy is checked (the destination for ingress, the source for
 * egress) is a workload with endpoints on this node; the peer becomes an
 * identity: a workload's identities (its local endpoints', or an identity
 * carrying its namespace and app label), a reserved identity by name, or
 * for an address outside the cluster an identity of its own, labelled the
 * way the identity layer labels the address's CIDR identity (cidr:<host
 * prefix>, reserved:world), which the CIDR and entity selectors of both
 * sets select by the same prefix rules the ipcache's longest match gives.
 *
 * Loop thread only; a what-if is a snapshot: it does not follow changes
 * of the live state made after it was built.
 */
#ifndef BW_CORE_WHATIF_H
#define BW_CORE_WHATIF_H

#include <stddef.h>
#include <stdint.h>

#include "bulwark/module.h"

struct bw_whatif;

/* bw_whatif_new() flags */
#define BW_WHATIF_F_REPLACE 1u /* the batch replaces the API-managed set */

/*
 * Build a what-if. candidate (len bytes, YAML or JSON documents; NULL:
 * none; source names it in messages, NULL: "candidate") is parsed like a
 * policy import: -EINVAL with "SOURCE:LINE: document N (line L): field:
 * reason" in err; -EEXIST when it names a policy of a policy.dir
 * file. Returns NULL with errno set on failure.
 */
struct bw_whatif *bw_whatif_new(const char *candidate, size_t len, const char *source,
				unsigned flags, char *err, size_t errlen);
void bw_whatif_free(struct bw_whatif *w);

/*
 * Look up n connections in both sets (struct bw_whatif_conn /
 * bw_whatif_result of bulwark/module.h; out[i].size is honoured). Strings
 * in out live until bw_whatif_free(). Returns 0 or a negative errno.
 */
int bw_whatif_replay(struct bw_whatif *w, const struct bw_whatif_conn *conns, size_t n,
		     struct bw_whatif_result *out);

/* Policies in each set, and endpoints resolved (for status and tests). */
void bw_whatif_counts(const struct bw_whatif *w, size_t *cur_policies,
		      size_t *cand_policies, size_t *endpoints);

#endif /* BW_CORE_WHATIF_H */
