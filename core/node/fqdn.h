/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/node/fqdn.h - FQDN identities: the addresses DNS gave for names that
 * toFQDNs selectors match, mapped in the ipcache to node-local identities.
 *
 * Cilium 1.16's model: an address gets the identity labelled with every
 * FQDN selector that matches one of its names (fqdn:<canonical selector
 * text>, lib/fqdnmatch.h) plus reserved:world, so there is one identity per
 * selector set, not one per address. A new address of a known name costs
 * one ipcache write and no policy change at all.
 *
 * bulwark adds one label: when the address lies inside the prefix of a CIDR
 * identity (a toCIDR peer of some policy), the longest such prefix's cidr:
 * label, so that the address's /32 entry does not hide it from that toCIDR
 * peer (longest prefix wins in the datapath).
 *
 * Inputs:
 *  - names per address, from the FQDN module's DNS cache
 *    (bw_fqdn_ip_set; an address without names is forgotten);
 *  - the selectors the policies use, from the policy layer
 *    (bw_fqdn_selector_ref/unref, through the resolver's fqdn_selector op);
 *  - CIDR identities appearing or going (bw_fqdn_cidr_changed, identity.c).
 *
 * Changes are applied in two steps so that no connection is dropped for a
 * moment: bw_fqdn_relabel() acquires the identities the changed addresses
 * need (the policy repository hears of new identities and, once its next
 * flush has run, the datapath allows them), then bw_fqdn_commit() points
 * the ipcache at them and releases the identities no address uses any more.
 * bw_fqdn_sync() does both for callers outside the policy layer: a new
 * identity's policy event flushes the repository at once, before the commit.
 *
 * Everything here runs on the loop thread.
 */
#ifndef BW_FQDN_H
#define BW_FQDN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Forget every address and selector (no events, no map writes). */
void bw_fqdn_fini(void);

/*
 * A selector (canonical text) is used by a policy / no longer used. Only
 * takes note: the addresses whose identity changes are relabelled by the
 * next bw_fqdn_relabel(). Returns 0 or -ENOMEM / -EINVAL.
 */
int bw_fqdn_selector_ref(const char *text);
void bw_fqdn_selector_unref(const char *text);

/*
 * Set the names of an address (family 4 or 6, addr in network order,
 * IPv4 in the first 4 bytes); names are normalised (lower case, trailing
 * dot) and copied; nnames 0 forgets the address. Takes note only: call
 * bw_fqdn_sync() (or relabel + commit) afterwards. Returns 0, -EINVAL or
 * -ENOMEM.
 */
int bw_fqdn_ip_set(int family, const uint8_t *addr, const char *const *names,
		   size_t nnames);

/* Visit the selectors in use (canonical text). */
void bw_fqdn_selector_foreach(void (*cb)(const char *text, void *arg), void *arg);

/* A CIDR identity appeared or went: addresses are relabelled next time. */
void bw_fqdn_cidr_changed(void);

/* True when addresses wait for relabel or commit. */
int bw_fqdn_pending(void);

/*
 * Acquire the identities of the addresses whose selector set changed.
 * Returns 0 or the first error (the address keeps its old identity and is
 * tried again next time). Does nothing when called from inside itself or
 * bw_fqdn_commit() (identity events may come back through the policy
 * layer).
 */
int bw_fqdn_relabel(void);

/*
 * Write what bw_fqdn_relabel() prepared to the ipcache, then release the
 * identities that lost their last address. Returns 0 or the first error.
 */
int bw_fqdn_commit(void);

/* bw_fqdn_relabel() then bw_fqdn_commit(). */
int bw_fqdn_sync(void);

/*
 * The names known for an address, as flows show them (Hubble's
 * destination_names: lower case, without the trailing dot); *names points
 * into the table (valid until the next change). Returns how many (0 when
 * the address is unknown).
 */
size_t bw_fqdn_names(int family, const uint8_t *addr, const char *const **names);

/* The FQDN identity an address is mapped to, 0 when none. */
uint32_t bw_fqdn_ip_identity(int family, const uint8_t *addr);

struct bw_fqdn_counts {
	uint64_t selectors;  /* distinct FQDN selectors in the policies */
	uint64_t addresses;  /* addresses with names */
	uint64_t selected;   /* addresses mapped to an FQDN identity */
	uint64_t identities; /* FQDN identities in use */
	uint64_t relabels;   /* addresses given a new identity (or none) */
};
void bw_fqdn_counts(struct bw_fqdn_counts *c);

/* {"selectors": [...], "identities": [{"id", "labels", "addresses"}]} */
json_t *bw_fqdn_to_json(void);

#endif /* BW_FQDN_H */
