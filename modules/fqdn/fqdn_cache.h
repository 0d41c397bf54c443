/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/fqdn/fqdn_cache.h - the FQDN module's DNS cache: which names
 * resolved to which addresses, until when, and which expired addresses are
 * kept because a connection to them lives (Cilium's "zombies").
 *
 * Pure data structure (no core calls, no I/O, time passed in), so that
 * tests/unit/test_fqdn_cache.c drives it directly. Times are wall-clock
 * milliseconds (they are persisted across restarts).
 *
 * An entry is one (name, address) pair: expires = lookup + max(TTL,
 * min_ttl). Once expired it is a zombie candidate: the garbage collector
 * asks conntrack which candidate addresses are ends of live connections;
 * those stay (zombies), the others stay idle_grace longer after their
 * last sign of life and then go. A name keeps at most max_ips_per_name
 * fresh addresses (the oldest lookups expire at once when more come, and
 * take the zombie path, so no live connection is cut); at most max_zombies
 * zombies are kept (the oldest go first).
 *
 * Every address whose set of names changes is queued; the module hands
 * the queue to the core (fqdn_ip_set) with fqc_drain_changed().
 */
#ifndef BW_FQDN_CACHE_H
#define BW_FQDN_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct fqc_conf {
	int64_t min_ttl_ms;
	int64_t idle_grace_ms;
	int64_t max_ips_per_name;
	int64_t max_zombies;
};

struct fqc_addr {
	int family;       /* 4 or 6 */
	uint8_t addr[16]; /* IPv4 in the first 4 bytes */
};

struct fqc_stats {
	uint64_t names, entries, addresses, zombies;
	uint64_t learned;         /* (name, address) pairs added */
	uint64_t refreshed;       /* pairs seen again (TTL renewed) */
	uint64_t gc_deletions;    /* pairs removed by the collector */
	uint64_t evictions;       /* fresh pairs expired early by the per-name cap */
	uint64_t zombie_evictions;/* zombies dropped by the zombie cap */
	uint64_t cleaned;         /* pairs removed by `fqdn cache clean` */
};

struct fqc;

struct fqc *fqc_new(const struct fqc_conf *conf);
void fqc_free(struct fqc *c);
void fqc_set_conf(struct fqc *c, const struct fqc_conf *conf);

/*
 * One DNS answer: name (normalised: lower case, trailing dot) resolved
 * to these addresses with this TTL (seconds) at now, asked by endpoint
 * ep_id (0 unknown). Returns the number of new (name, address) pairs, or
 * -ENOMEM / -EINVAL.
 */
int fqc_learn(struct fqc *c, const char *name, const struct fqc_addr *addrs,
	      size_t n, uint32_t ttl, uint32_t ep_id, int64_t now);

/*
 * Garbage collection, in two steps around the conntrack query: the
 * addresses of expired entries (16-byte form, IPv4 as ::ffff:a.b.c.d, as
 * ct_peers_alive wants them; *out malloc'd, NULL when none), then the
 * verdicts (alive[i] for out[i]; alive NULL: conntrack could not be read,
 * everything counts as alive). Returns the number of pairs removed.
 */
size_t fqc_gc_candidates(struct fqc *c, int64_t now, uint8_t (**out)[16]);
size_t fqc_gc_apply(struct fqc *c, int64_t now, const uint8_t (*addrs)[16],
		    const uint8_t *alive, size_t n);

/* Earliest expiry of a fresh entry, or INT64_MAX (for the timer). */
int64_t fqc_next_expiry(const struct fqc *c);

/*
 * Remove every pair whose name the selector text matches (as a
 * matchPattern, so a plain name matches itself), or every pair with
 * NULL. Returns how many, or -EINVAL for a bad pattern.
 */
int fqc_clean(struct fqc *c, const char *pattern);

/*
 * Hand every address whose names changed to cb with its current names
 * (normalised; n 0: the address has no name any more), then forget the
 * queue. Names are valid during the call.
 */
void fqc_drain_changed(struct fqc *c,
		       void (*cb)(const struct fqc_addr *a, const char *const *names,
				  size_t n, void *arg),
		       void *arg);

/* Queue every address (after a restore, for the core). */
void fqc_mark_all_changed(struct fqc *c);

void fqc_stats(const struct fqc *c, struct fqc_stats *st);

/*
 * Listing and persistence: {"version": 1, "entries": [{"name", "ip",
 * "ttl", "lookup", "expires", "zombie", "endpoints"}]} with times in ms
 * since the epoch. fqc_to_json(c, 0) is the persisted form; with ident
 * the entries also carry "identity" (ident(addr, arg)) and
 * "expires_in_s". fqc_restore reads it back (entries already expired
 * come back as zombie candidates); returns the number of entries or
 * -EINVAL (nothing is kept then).
 */
json_t *fqc_to_json(const struct fqc *c, int64_t now,
		    uint32_t (*ident)(const struct fqc_addr *a, void *arg), void *arg);
int fqc_restore(struct fqc *c, const json_t *doc, int64_t now);

#endif /* BW_FQDN_CACHE_H */
