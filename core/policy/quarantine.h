/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/quarantine.h - time-limited denies of a peer for one
 * endpoint ("quarantines"), asked for by Lua scripts
 * (bulwark.quarantine()) and by operators (bulwark quarantine add).
 *
 * A quarantine is a policy of the repository like any other: kind
 * "Quarantine", source "quarantine", named quarantine-<n> in the
 * endpoint's namespace, whose one rule selects exactly that endpoint
 * ("endpoint": "NS/POD" in the rule model) and denies the peer CIDR in
 * both directions, pods inside it included. So it reaches the policy map
 * through the resolver, and policy list, policy resolved, trace, flows and
 * metrics name it as they name any rule. It is lifted when it expires,
 * when it is deleted, or when its endpoint is deleted. The active set is
 * kept in <state_dir>/quarantines.json and restored at start, before the
 * first recompute, so a restart neither lifts it early nor opens a window.
 *
 * Everything here runs on the loop thread.
 */
#ifndef BW_CORE_QUARANTINE_H
#define BW_CORE_QUARANTINE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct event_base;

#define BW_QUARANTINE_MAX_SECONDS 86400
#define BW_QUARANTINE_MAX 1024 /* active at once */

/*
 * After bw_policy_init() and before bw_policy_recompute(): restore the
 * saved quarantines (expired ones dropped), register the API routes
 * (GET/POST /v1/quarantines, DELETE /v1/quarantines/NS/NAME) and the
 * expiry timer. 0 or a negative errno (logged).
 */
int bw_quarantine_init(struct event_base *base);
void bw_quarantine_fini(void);

/*
 * Quarantine endpoint "NS/POD" from peer (a CIDR or an address) for
 * seconds (1 .. BW_QUARANTINE_MAX_SECONDS). by names who asked ("lua:NAME",
 * "api"). On success the maps enforce it and *name gets "quarantine-N".
 * Returns 0, or -errno with a message: -ENOENT no such endpoint, -EINVAL
 * bad peer or duration, -ENOSPC too many.
 */
int bw_quarantine_add(const char *endpoint, const char *peer, int64_t seconds,
		      const char *reason, const char *by, char *name,
		      size_t namelen, char *err, size_t errlen);

/* Lift NS/NAME now. 0, -ENOENT. */
int bw_quarantine_delete(const char *ns, const char *name, char *err,
			 size_t errlen);

/* The endpoint NS/POD is going away: lift its quarantines (soon, not from
 * inside the caller). */
void bw_quarantine_endpoint_deleted(const char *ns, const char *pod);

/* [{"name", "namespace", "pod", "peer", "reason", "by", "created",
 *   "expires", "seconds_left"}] (a new reference). */
json_t *bw_quarantine_list_json(void);

/* Active quarantines, and quarantines added since start (metrics). */
unsigned bw_quarantine_count(void);
uint64_t bw_quarantine_added_total(void);

#endif /* BW_CORE_QUARANTINE_H */
