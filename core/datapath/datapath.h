/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/datapath/datapath.h - the eBPF datapath's user-space side: loads the
 * bw_lxc skeleton, pins or reuses the maps under daemon.bpffs_dir, attaches
 * the programs to endpoint veths (tcx links, or tc clsact filters:
 * core/datapath/tcattach.c), and is the only writer of the endpoint, ipcache, policy
 * and config maps. Semantics of the datapath are in docs/datapath.md; the
 * map layout in bpf/bw_datapath.h.
 *
 * Everything returns 0 (or a count where said) or a negative errno; the
 * function that fails logs one line naming what failed. Not thread-safe:
 * call from one thread (the daemon's event loop). Before
 * bw_datapath_init() (or after bw_datapath_close()) the map functions
 * return -ENXIO.
 *
 * Enforcement outlives the process: bw_datapath_close() closes file
 * descriptors only; pinned maps, pinned tcx links and tc filters stay, and
 * the next bw_datapath_init() + bw_datapath_attach() reuse and replace them.
 */
#ifndef BW_DATAPATH_USER_H
#define BW_DATAPATH_USER_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/bw_datapath.h"

/* ---- life cycle ----------------------------------------------------------- */

/* Defaults: enforcement default, no audit, Cilium's CT lifetimes, monitor medium. */
void bw_datapath_config_default(struct bw_config *cfg);

/*
 * Create bpffs_dir (mounting a bpffs on it when it is not on one), load the
 * programs, reuse the maps pinned there (a pinned map whose type or sizes no
 * longer match is replaced, with a warning) or create and pin them, and write
 * cfg (NULL: defaults). -EALREADY if already initialised.
 */
int bw_datapath_init(const char *bpffs_dir, const struct bw_config *cfg);

/* Write the config map (global enforcement, audit, CT lifetimes, monitor level). */
int bw_datapath_set_config(const struct bw_config *cfg);

/* Close every fd. Pins, tcx links and tc filters stay: enforcement goes on. */
void bw_datapath_close(void);

/* ---- attachment ----------------------------------------------------------- */

/* daemon.tc_attach; core/config.c lists the names in this order. */
enum bw_tc_attach_mode {
	BW_TC_ATTACH_AUTO = 0, /* tcx when the kernel has it (6.6+), else clsact */
	BW_TC_ATTACH_TCX,      /* tcx or fail */
	BW_TC_ATTACH_CLSACT,   /* clsact filters only */
};

/*
 * How the programs are attached (default auto). Call before
 * bw_datapath_init(); called afterwards it is resolved again (logged) and
 * applies to the next bw_datapath_attach(). -EINVAL for an unknown mode,
 * -EOPNOTSUPP for tcx on a kernel without it.
 */
int bw_datapath_set_attach_mode(int mode);

/*
 * Entries of each ipcache map (bw_ipcache4, bw_ipcache6): prefixes of
 * endpoints, CIDR peers and the node (daemon.ipcache_max_entries; 0 =
 * BW_IPCACHE_MAX). Before bw_datapath_init(); a pinned map of another size
 * is replaced at init (the ipcache is written again from the daemon's own
 * table).
 */
void bw_datapath_set_ipcache_max(unsigned entries);
unsigned bw_datapath_ipcache_max(void);

/* The mode in use after init: "tcx" or "clsact" ("" before init). */
const char *bw_datapath_attach_mode(void);

/*
 * Attach bw_from_lxc (tc ingress) and bw_to_lxc (tc egress) to the host-side
 * veth ifname, replacing bulwark's previous programs there atomically
 * (idempotent; used again after a restart). tcx: one link per hook, pinned
 * as <bpffs_dir>/links/<ifindex>-<ingress|egress>, appended behind other
 * tcx programs; a pinned link is updated to the new program, never
 * duplicated. clsact: the qdisc is created if needed, the filter (handle
 * 0xb01, priority 1) replaced. A bulwark attachment of the other kind is
 * removed once the new one is in place.
 * *ifindex_out (may be NULL) receives the interface index.
 */
int bw_datapath_attach(const char *ifname, int *ifindex_out);

/* Remove bulwark's tcx links (detached, unpinned) and clsact filters from
 * the interface; a missing one, or a vanished interface, is not an error. */
int bw_datapath_detach(int ifindex);

/* ---- endpoints and ipcache ------------------------------------------------ */

/*
 * Add or replace the endpoint behind host-side ifindex. When the entry
 * changes (flags, identity) the endpoint's connections are revalidated
 * (bw_datapath_ct_revalidate).
 */
int bw_datapath_endpoint_put(int ifindex, const struct bw_endpoint_info *info);
/* Remove the endpoint behind ifindex with its policy entries and its
 * connection-tracking entries (the tc filters stay until bw_datapath_detach). */
int bw_datapath_endpoint_del(int ifindex);

/*
 * Every endpoint / ipcache entry in the (possibly reused) maps, so that the
 * daemon can remove what it no longer knows after a restart. fn returning
 * non-zero stops the walk (a negative value is returned).
 */
int bw_datapath_endpoint_foreach(int (*fn)(int ifindex, const struct bw_endpoint_info *, void *),
				 void *arg);
int bw_datapath_ipcache_foreach(int (*fn)(int family, const void *addr, int prefixlen,
					  const struct bw_ipcache_value *, void *),
				void *arg);

/*
 * family AF_INET / AF_INET6, addr in network order (4 or 16 bytes). When the
 * identity of the addresses changes (or they fall back to a shorter prefix
 * or world on delete), tracked connections are revalidated.
 */
int bw_datapath_ipcache_put(int family, const void *addr, int prefixlen,
			    const struct bw_ipcache_value *v);
int bw_datapath_ipcache_del(int family, const void *addr, int prefixlen);

/*
 * New prefixes that name no endpoint, written together (the CIDR peers of an
 * import): one BPF_MAP_UPDATE_BATCH per family and up to 4,096 entries where
 * the kernel has batch operations on an LPM trie, else one call per entry.
 * The caller (core/node/ipcache.c, the user-side truth of the tries) says
 * what each prefix resolved to before: old_identity (BW_ID_WORLD where no
 * shorter prefix covered it) and old_ep_id, which must be 0 like v.ep_id;
 * connections are revalidated when an identity changes, as with
 * bw_datapath_ipcache_put. Returns 0, or -errno with *nwritten the number
 * of leading entries that are in the map.
 */
struct bw_ipcache_write {
	int family; /* AF_INET, AF_INET6 */
	uint8_t addr[16];
	int prefixlen;
	struct bw_ipcache_value v;
	uint32_t old_identity;
	uint32_t old_ep_id;
};
int bw_datapath_ipcache_put_many(const struct bw_ipcache_write *w, size_t n, size_t *nwritten);

/*
 * bw_epaddr (the anti-spoofing map) follows the ipcache's host prefixes by
 * itself; after a restart, entries the new table does not keep are removed
 * with this: keep(family 4|6, addr (4 or 16 bytes), ep_id) says whether an
 * entry stays. *pruned counts the removed ones. 0 or -errno.
 */
int bw_datapath_epaddr_prune(int (*keep)(int family, const uint8_t *addr, uint32_t ep_id),
			     int *pruned);

/* ---- policy --------------------------------------------------------------- */

struct bw_policy_entry_spec {
	uint32_t identity;  /* peer identity; 0 = any peer (L4-only entry) */
	uint8_t direction;  /* BW_DIR_INGRESS or BW_DIR_EGRESS */
	uint8_t protocol;   /* IPPROTO_*; 0 = any protocol (ports must be 0,0) */
	uint16_t port_lo, port_hi; /* host order, inclusive; 0,0 = all ports;
				    * ICMP/ICMPv6: the type range (0,0 = all types) */
	int deny;           /* non-zero: deny entry */
	uint32_t rule_ref;  /* attribution, copied into verdict events */
	uint8_t proxy_class; /* an allow that redirects to this proxy class
			      * (BW_PROXY_CLASS_*, docs/redirect.md); 0 = none */
	uint8_t visibility;  /* identity 0 only: no verdict, only proxy_class
			      * for what other entries allow (BW_POL_F_VISIBILITY) */
};

/* One resolved policy map entry. */
struct bw_policy_kv {
	struct bw_policy_key key;
	struct bw_policy_value value;
};

/*
 * Make the policy map's entries for ep_id exactly the given set (n == 0
 * removes them all). Equal keys keep one entry: a deny, else a redirect,
 * else the lowest rule_ref. Port ranges become aligned power-of-two LPM blocks;
 * an allow block inside a deny block of the same peer becomes a deny (so
 * the longest-prefix lookup cannot hide the deny). The update has no window
 * of wrong verdicts: deny entries are written first, then allows, then
 * stale allows are deleted, then stale denies; each packet sees the old or
 * the new verdict. Afterwards the endpoint's connections are revalidated, so
 * a connection the new policy denies is cut. Returns 0 or -errno (-EINVAL
 * for a bad entry, nothing written).
 */
int bw_datapath_policy_sync(uint32_t ep_id, const struct bw_policy_entry_spec *entries, size_t n);

/*
 * The resolved entries for a spec set, as policy_sync would write them,
 * sorted by key. *out is malloc'ed (free it). Pure: no map access.
 */
int bw_datapath_policy_expand(uint32_t ep_id, const struct bw_policy_entry_spec *entries,
			      size_t n, struct bw_policy_kv **out, size_t *nout);

/* A port range as aligned blocks over a width-bit space: starts[i] covers
 * 2^bits[i] values. Returns the number of blocks (<= 2*width) or -EINVAL. */
int bw_datapath_port_blocks(uint32_t lo, uint32_t hi, int width, uint32_t *starts,
			    uint8_t *bits, int max);

struct bw_policy_verdict {
	int allowed;        /* 1 allowed, 0 denied */
	uint8_t reason;     /* 0, BW_DROP_POLICY (no entry) or BW_DROP_POLICY_DENY */
	uint8_t match_type; /* BW_MATCH_* */
	uint8_t proxy_class; /* allowed and redirected to this proxy class */
	uint32_t rule_ref;  /* entry behind the verdict, 0 = default deny */
};

/*
 * The datapath's decision for a new connection, read from the pinned policy
 * map with the kernel's precedence (bpf/lib/policy.h): the verdict an
 * enforced direction gives. port is host order; for ICMP/ICMPv6 it is the
 * ICMP type. Whether the direction is enforced is the endpoint's flag.
 */
int bw_datapath_policy_lookup(uint32_t ep_id, uint32_t identity, uint8_t direction,
			      uint8_t protocol, uint16_t port, struct bw_policy_verdict *out);

/* The precedence itself, on the results of the L3 and L4-only lookups
 * (either may be NULL). Shared by the lookup above and the unit tests. */
void bw_datapath_policy_decide(const struct bw_policy_value *l3, const struct bw_policy_value *l4,
			       struct bw_policy_verdict *out);

/*
 * The same decision over entries held in memory (what
 * bw_datapath_policy_expand() made of a resolver's output that is not in
 * the map: staged policies, what-if): the LPM trie's longest match and
 * bw_datapath_policy_decide(). kv need not be sorted. 0 or -EINVAL.
 */
int bw_datapath_policy_lookup_set(const struct bw_policy_kv *kv, size_t n,
				  uint32_t ep_id, uint32_t identity, uint8_t direction,
				  uint8_t protocol, uint16_t port,
				  struct bw_policy_verdict *out);

/*
 * The same decision for many keys: bw_datapath_policy_sort() orders kv by
 * the entries' fixed part (endpoint, identity, direction) once (-EINVAL
 * when an entry does not cover it whole, which expand never writes: then
 * use lookup_set), and bw_datapath_policy_lookup_sorted() finds a key's
 * candidates by binary search before the same longest match and decision.
 */
int bw_datapath_policy_sort(struct bw_policy_kv *kv, size_t n);
int bw_datapath_policy_lookup_sorted(const struct bw_policy_kv *kv, size_t n,
				     uint32_t ep_id, uint32_t identity, uint8_t direction,
				     uint8_t protocol, uint16_t port,
				     struct bw_policy_verdict *out);

/* Call fn for every policy map entry of ep_id (0: all endpoints). */
int bw_datapath_policy_foreach(uint32_t ep_id,
			       int (*fn)(const struct bw_policy_key *, const struct bw_policy_value *,
					 void *),
			       void *arg);

/* ---- connection tracking -------------------------------------------------- */

/* Delete expired entries. Returns how many were deleted, or -errno. Call on a timer. */
int bw_datapath_ct_gc(void);

/* Delete every entry of ep_id. Returns how many, or -errno. */
int bw_datapath_ct_flush_endpoint(uint32_t ep_id);

/*
 * Re-check every connection of ep_id against the current policy map and the
 * endpoint's flags; a connection now denied in an enforced, non-audit
 * direction is turned into a tombstone (BW_CT_F_DENIED), which cuts it and
 * keeps its reply path from re-opening it. Returns how many were cut.
 * ep_id 0: every endpoint. policy_sync and endpoint_put call it for their
 * endpoint, ipcache_put (identity changed) and ipcache_del for all.
 */
int bw_datapath_ct_revalidate(uint32_t ep_id);

/*
 * Coalesce the conntrack revalidations that ipcache changes ask for: between
 * begin and end (nested calls count) they are done once, at the outermost
 * end. Returns what the revalidation returned (0 or -errno).
 */
void bw_datapath_batch_begin(void);
int bw_datapath_batch_end(void);

int bw_datapath_ct_foreach(int (*fn)(const struct bw_ct_key *, const struct bw_ct_entry *, void *),
			   void *arg);

/*
 * Which of n addresses (16 bytes each, IPv4 as ::ffff:a.b.c.d, as in the
 * conntrack keys) is an end of a tracked connection that has not expired
 * (and was not cut by policy): alive[i] = 1 or 0. One walk of bw_ct
 * (core/datapath/ctpeers.c). Returns 0 or -errno (-ENXIO before init).
 */
int bw_datapath_ct_peers_alive(const uint8_t (*addrs)[16], size_t n,
			       uint8_t *alive);

/* One entry by key: 0, -ENOENT (none, or expired) or -errno. */
int bw_datapath_ct_get(const struct bw_ct_key *k, struct bw_ct_entry *e);
/* Write one entry (the proxies' upstream entries, core/datapath/redirect.c). */
int bw_datapath_ct_put(const struct bw_ct_key *k, const struct bw_ct_entry *e);

/* ---- events and metrics --------------------------------------------------- */

/* The bw_events ring buffer's fd (for ring_buffer__new), or -ENXIO. */
int bw_datapath_events_fd(void);

/* Events lost because the ring buffer was full, summed over CPUs. */
int bw_datapath_events_lost(uint64_t *lost);

/* Call fn for each (reason, direction) counter, summed over CPUs. */
int bw_datapath_metrics_read(int (*fn)(const struct bw_metrics_key *, const struct bw_metrics_value *,
				       void *),
			     void *arg);

#endif /* BW_DATAPATH_USER_H */
