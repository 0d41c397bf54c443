/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/node/identity.h - the core side of security identities.
 *
 * An identity is a number for a set of security-relevant labels. The core
 * keeps the table of identities in use (id -> labels, reference count,
 * scope) and asks the registered allocator (an identity module, e.g.
 * identity-local, through bw_identity_allocator_get()) for numbers:
 *
 *  - reserved identities 1..11 carry Cilium's labels and numbers and are
 *    always present (never allocated, never released);
 *  - endpoint identities are global-scope numbers (>= 256), shared by every
 *    endpoint with the same identity labels, referenced once per endpoint;
 *  - CIDR identities are node-local (>= 0x01000001), labelled
 *    cidr:<prefix> (Cilium's spelling: IPv6 ':' becomes '-') plus
 *    reserved:world, and own an ipcache entry for their prefix.
 *
 * Whenever an identity appears (first reference) or disappears (last
 * release) the watchers (bw_identity_watch(); the policy repository is
 * one) are told, before the ipcache maps any address to a new identity and
 * after it stops mapping addresses to a vanished one.
 *
 * Everything here runs on the loop thread.
 */
#ifndef BW_IDENTITY_H
#define BW_IDENTITY_H

#include <stdint.h>

#include <jansson.h>

#include "lib/prefix.h"

struct bw_labelset;

/* Reserved identity 11 (not in bpf/bw_datapath.h: never on the wire). */
#define BW_IDENTITY_OVERLAY_TO_ENCRYPT 11
#define BW_IDENTITY_RESERVED_MAX 11
/* First global-scope identity (Cilium's MinimalNumericIdentity). */
#define BW_IDENTITY_MIN_GLOBAL 256
#define BW_IDENTITY_MAX_GLOBAL 65535
/* Node-local scope (CIDR, FQDN): 0x01000001 .. 0x01FFFFFF. */
#define BW_IDENTITY_MIN_LOCAL 0x01000001u
#define BW_IDENTITY_MAX_LOCAL 0x01FFFFFFu

enum bw_identity_scope {
	BW_IDENTITY_SCOPE_RESERVED = 0,
	BW_IDENTITY_SCOPE_GLOBAL,
	BW_IDENTITY_SCOPE_LOCAL,
};

/*
 * Watch identities: fn(id, added, arg) is called when an identity appears
 * (added 1, its labels readable) or disappears (added 0), in registration
 * order. This is how higher layers (the policy repository) learn about
 * identities; identities never call them directly. A watcher may acquire
 * identities itself (CIDR identities), so it must cope with being called
 * again from within. Returns 0 or -ENOMEM; unwatch with the same fn, arg.
 */
int bw_identity_watch(void (*fn)(uint32_t id, int added, void *arg), void *arg);
void bw_identity_unwatch(void (*fn)(uint32_t id, int added, void *arg), void *arg);

/*
 * Create the reserved identities and register GET /v1/identities.
 * Returns 0 or a negative errno.
 */
int bw_identity_init(void);

/* Drop every identity (no events, no map writes). */
void bw_identity_fini(void);

/*
 * Acquire the identity of a label set (the caller passes identity labels,
 * already filtered with bw_labelset_filter_identity()). A set equal to a
 * reserved identity's labels gives that reserved id. Otherwise the
 * allocator is asked for a global-scope number and the reference count is
 * raised; a first reference adds the identity to the table and tells the
 * watchers (id, added 1) before returning.
 * Returns 0, -ENODEV when no identity module is loaded, -ENOMEM, or the
 * allocator's error.
 */
int bw_identity_acquire(const struct bw_labelset *labels, uint32_t *id);

/*
 * Drop one reference. On the last one the watchers are told (id, added 0;
 * the labels are still readable during the call), then the allocator
 * releases the number. Reserved ids are ignored.
 */
void bw_identity_release(uint32_t id);

/*
 * Node-local identity of a label set (FQDN identities: fqdn:<selector>
 * labels and reserved:world): like bw_identity_acquire(), in the local
 * range (>= 0x01000001), released with bw_identity_release().
 */
int bw_identity_local_acquire(const struct bw_labelset *labels, uint32_t *id);

/*
 * Node-local CIDR identity for prefix ("10.0.0.0/8", "2001:db8::/32"; a
 * bare address means a host prefix). Host bits must be zero (-EINVAL
 * otherwise). The first reference allocates the identity, tells the
 * watchers, and then maps the prefix to it in the ipcache (owner
 * BW_IPCACHE_OWNER_CIDR). Returns 0, -EINVAL, -ENODEV, -ENOMEM, or the
 * datapath's error (then nothing is kept).
 */
int bw_identity_cidr_acquire(const char *prefix, uint32_t *id);
/* The same for a parsed prefix (family 4 or 6; host bits must be zero). */
int bw_identity_cidr_acquire_prefix(const struct bw_prefix *p, uint32_t *id);

/*
 * Drop one reference of a CIDR identity; the last one removes the ipcache
 * entry first, then tells the watchers, then releases the number.
 */
void bw_identity_cidr_release(uint32_t id);

/*
 * Cilium's CIDR label key for a prefix: the masked address, ':' replaced
 * by '-' with a '0' added where the key would start or end with '-',
 * then "/len" ("2001-db8--0/32", "0--0/0", "10.0.0.0/8"). Returns 0 or
 * -EINVAL (not a prefix, host bits set); buf needs at least 64 bytes.
 */
int bw_identity_cidr_label(const char *prefix, char *buf, size_t buflen);

/* Labels of an identity in use or reserved, or NULL. */
const struct bw_labelset *bw_identity_labels(uint32_t id);

/* Reference count (0 for reserved and unknown ids). */
unsigned bw_identity_refs(uint32_t id);

/* Scope of a number (by range). */
enum bw_identity_scope bw_identity_scope_of(uint32_t id);
const char *bw_identity_scope_name(enum bw_identity_scope scope);

/* True when the id is reserved or in the table. */
int bw_identity_exists(uint32_t id);

/*
 * Visit every identity (reserved first, then by number); stops when cb
 * returns non-zero. cb must not acquire or release identities.
 */
void bw_identity_foreach(int (*cb)(uint32_t id, const struct bw_labelset *labels,
				   void *arg),
			 void *arg);

/* One identity as the API shows it: {"id", "labels", "refs", "scope"}. */
json_t *bw_identity_to_json(uint32_t id);

#endif /* BW_IDENTITY_H */
