/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/dropreason.h - names of the datapath's drop reasons (the BW_DROP_*
 * codes of bpf/bw_datapath.h, which are Cilium's numbers) for flows and
 * metrics.
 */
#ifndef BW_DROPREASON_H
#define BW_DROPREASON_H

/*
 * Hubble's proto enum name of a drop reason ("POLICY_DENIED" for 133,
 * "DROP_REASON_UNKNOWN" for 0), or NULL for a code Hubble does not know
 * (print the number then). Static storage.
 */
const char *bw_dropreason_name(int code);

/*
 * Cilium's human string ("Policy denied" for 133), or NULL for an unknown
 * code. Static storage.
 */
const char *bw_dropreason_string(int code);

/* The code of a proto enum name (case-insensitive), or -ENOENT. */
int bw_dropreason_from_name(const char *name);

#endif /* BW_DROPREASON_H */
