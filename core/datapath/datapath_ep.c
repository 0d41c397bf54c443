/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/datapath/datapath_ep.c - the endpoint entries (bw_endpoints and its
 * direct-mapped copy bw_epslots), the anti-spoofing map bw_epaddr, and
 * what the datapath adds to an endpoint's entry by itself.
 *
 * Every packet the programs see starts with its endpoint's entry, so the
 * entry carries what they would otherwise look up elsewhere: the
 * endpoint's own addresses (anti-spoofing without a map lookup), the MAC
 * addresses of its veth pair (eBPF host routing), and its slot in
 * bw_epslots (an array access instead of a hash lookup). The daemon's
 * writers (core/node/endpoint.c, core/policy/policy.c) give ep_id,
 * identity and the enforcement flags; this file keeps a table per endpoint
 * id of the addresses the ipcache gives it (host prefixes with that
 * endpoint id, see bw_datapath_ipcache_put) and of its interface, and
 * fills the rest. It also gives ipcache entries the host veth of their
 * endpoint (bw_ipcache_value.ifindex), so that a program can deliver to a
 * local peer.
 *
 * Deleting an endpoint does not walk the conntrack table (tens of
 * milliseconds for a full one): its entries are removed by the next
 * garbage collection (bw_datapath_ct_gc removes entries of endpoints that
 * no longer exist), and an endpoint id is only reused after they are gone.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "core/datapath/datapath.h"
#include "core/datapath/datapath_int.h"
#include "core/datapath/tcattach.h"
#include "core/log.h"

#define EP_ADDRS 4 /* per family; more go to bw_epaddr only (BW_EP_F_EPADDR) */

struct dp_ep {
	uint32_t ep_id; /* 0: free slot of the table */
	int dead;       /* removed, conntrack entries not yet collected */
	int ifindex;    /* its host veth, 0 before bw_datapath_endpoint_put */
	int n4, n6;     /* addresses known (may exceed EP_ADDRS) */
	uint8_t v4[EP_ADDRS][4];
	uint8_t v6[EP_ADDRS][16];
	int has_info;
	int was_ready; /* READY once: it may have connections */
	struct bw_endpoint_info info; /* what bw_endpoints holds */
};

/* open addressing on ep_id, linear probing; deleted slots are re-packed */
static struct dp_ep *eps;
static size_t eps_cap, eps_used;
/* which ifindex holds each bw_epslots slot (0: free), as we wrote them */
static uint32_t *slot_ifx;
static int eps_loaded;

static size_t ep_hash(uint32_t id)
{
	return (size_t)(id * 2654435761u) & (eps_cap - 1);
}

static struct dp_ep *ep_find(uint32_t id)
{
	if (!eps_cap || !id)
		return NULL;
	for (size_t i = ep_hash(id);; i = (i + 1) & (eps_cap - 1)) {
		if (eps[i].ep_id == id)
			return &eps[i];
		if (!eps[i].ep_id)
			return NULL;
	}
}

static int ep_grow(void)
{
	struct dp_ep *old = eps;
	size_t ocap = eps_cap, ncap = eps_cap ? eps_cap * 2 : 64;

	eps = calloc(ncap, sizeof(*eps));
	if (!eps) {
		eps = old;
		return -ENOMEM;
	}
	eps_cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		size_t j;

		if (!old[i].ep_id)
			continue;
		for (j = ep_hash(old[i].ep_id); eps[j].ep_id; j = (j + 1) & (eps_cap - 1))
			;
		eps[j] = old[i];
	}
	free(old);
	return 0;
}

static struct dp_ep *ep_get(uint32_t id)
{
	struct dp_ep *e = ep_find(id);
	size_t i;

	if (e || !id)
		return e;
	if ((eps_used + 1) * 4 > eps_cap * 3 && ep_grow() < 0)
		return NULL;
	for (i = ep_hash(id); eps[i].ep_id; i = (i + 1) & (eps_cap - 1))
		;
	memset(&eps[i], 0, sizeof(eps[i]));
	eps[i].ep_id = id;
	eps_used++;
	return &eps[i];
}

/* Remove e, re-inserting the run of entries after it (no tombstones). */
static void ep_remove(struct dp_ep *e)
{
	size_t i = (size_t)(e - eps), j;

	memset(e, 0, sizeof(*e));
	eps_used--;
	for (j = (i + 1) & (eps_cap - 1); eps[j].ep_id; j = (j + 1) & (eps_cap - 1)) {
		struct dp_ep t = eps[j];
		size_t k;

		memset(&eps[j], 0, sizeof(eps[j]));
		for (k = ep_hash(t.ep_id); eps[k].ep_id; k = (k + 1) & (eps_cap - 1))
			;
		eps[k] = t;
	}
}

static void ep_maybe_free(struct dp_ep *e)
{
	if (e && !e->ifindex && !e->n4 && !e->n6 && !e->dead)
		ep_remove(e);
}

void dp_eps_free(void)
{
	free(eps);
	eps = NULL;
	eps_cap = eps_used = 0;
	free(slot_ifx);
	slot_ifx = NULL;
	eps_loaded = 0;
}

/* ---- addresses ------------------------------------------------------------------ */

/* bw_epaddr key of an address (family AF_INET/AF_INET6 or 4/6). */
static void ep_addr_key(int family, const void *addr, struct bw_epaddr_key *k)
{
	memset(k, 0, sizeof(*k));
	if (family == AF_INET || family == 4) {
		k->family = 4;
		k->addr[10] = 0xff;
		k->addr[11] = 0xff;
		memcpy(&k->addr[12], addr, 4);
	} else {
		k->family = 6;
		memcpy(k->addr, addr, 16);
	}
}

/* Record (add) or forget an address of e; 1 if the list changed. */
static int ep_addr_note(struct dp_ep *e, int v4, const uint8_t *a, int add)
{
	int *n = v4 ? &e->n4 : &e->n6, len = v4 ? 4 : 16, i, kept = *n < EP_ADDRS ? *n : EP_ADDRS;

	for (i = 0; i < kept; i++) {
		uint8_t *x = v4 ? e->v4[i] : e->v6[i];

		if (memcmp(x, a, (size_t)len) != 0)
			continue;
		if (add)
			return 0;
		/* move the last kept one here */
		if (i != kept - 1)
			memcpy(x, v4 ? e->v4[kept - 1] : e->v6[kept - 1], (size_t)len);
		(*n)--;
		return 1;
	}
	if (!add) {
		if (*n > EP_ADDRS)
			(*n)--; /* one we could not keep: the count is what matters */
		return *n >= EP_ADDRS;
	}
	if (*n < EP_ADDRS)
		memcpy(v4 ? e->v4[*n] : e->v6[*n], a, (size_t)len);
	(*n)++;
	return 1;
}

/* The datapath's part of an endpoint entry: addresses and their flags
 * (READY is the caller's). */
static void ep_complete(const struct dp_ep *e, struct bw_endpoint_info *info)
{
	info->flags &= ~(BW_EP_F_DP_MASK & ~BW_EP_F_READY);
	memset(info->ipv4, 0, sizeof(info->ipv4));
	memset(info->ipv6, 0, sizeof(info->ipv6));
	if (e->n4 > 1 || e->n6 > 1) {
		info->flags |= BW_EP_F_EPADDR; /* bw_epaddr decides */
		return;
	}
	if (e->n4 == 1) {
		info->flags |= BW_EP_F_HAS_IPV4;
		memcpy(info->ipv4, e->v4[0], 4);
	}
	if (e->n6 == 1) {
		info->flags |= BW_EP_F_HAS_IPV6;
		memcpy(info->ipv6, e->v6[0], 16);
	}
}

/* Write e's entry to bw_endpoints and, when it holds its slot, bw_epslots. */
static int ep_write(struct dp_ep *e)
{
	uint32_t key = (uint32_t)e->ifindex, slot = key % BW_EPSLOTS;

	if (bpf_map_update_elem(dp_fd_endpoints(), &key, &e->info, BPF_ANY) < 0)
		return -errno;
	if (slot_ifx && (slot_ifx[slot] == key || !slot_ifx[slot])) {
		if (bpf_map_update_elem(dp_fd_epslots(), &slot, &e->info, BPF_ANY) < 0)
			return -errno;
		slot_ifx[slot] = key;
	}
	return 0;
}

/* Give the ipcache's host entries of e the interface (or 0). */
static void ep_ipcache_ifindex(struct dp_ep *e)
{
	for (int f = 0; f < 2; f++) {
		int n = f ? e->n6 : e->n4;

		for (int i = 0; i < n && i < EP_ADDRS; i++)
			dp_ipcache_set_ifindex(f ? AF_INET6 : AF_INET, f ? e->v6[i] : e->v4[i],
					       e->ep_id, (uint32_t)e->ifindex);
	}
}

/* Read back what a previous run left: endpoints, their slots and addresses. */
static int ep_load(void)
{
	struct bw_endpoint_info info;
	struct bw_epaddr_key ak, an;
	uint32_t key, next, id;
	int fd, first = 1;

	if (eps_loaded)
		return 0;
	slot_ifx = calloc(BW_EPSLOTS, sizeof(*slot_ifx));
	if (!slot_ifx)
		return -ENOMEM;
	fd = dp_fd_epaddr();
	for (;;) {
		struct dp_ep *e;

		if (bpf_map_get_next_key(fd, first ? NULL : &ak, &an) < 0)
			break;
		first = 0;
		ak = an;
		if (bpf_map_lookup_elem(fd, &ak, &id) < 0 || !(e = ep_get(id)))
			continue;
		ep_addr_note(e, ak.family == 4, ak.family == 4 ? &ak.addr[12] : ak.addr, 1);
	}
	fd = dp_fd_endpoints();
	for (first = 1;;) {
		struct bw_endpoint_info slot;
		uint32_t s;
		struct dp_ep *e;

		if (bpf_map_get_next_key(fd, first ? NULL : &key, &next) < 0)
			break;
		first = 0;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &info) < 0 || !(e = ep_get(info.ep_id)))
			continue;
		e->ifindex = (int)key;
		e->info = info;
		e->has_info = 1;
		s = key % BW_EPSLOTS;
		if (bpf_map_lookup_elem(dp_fd_epslots(), &s, &slot) == 0 && slot.ifindex == key &&
		    slot.ep_id)
			slot_ifx[s] = key;
	}
	/* slots of endpoints that are gone (a crash between the two writes):
	 * read in batches (one system call per 1,024 slots, not 16,384) */
	{
		enum { CHUNK = 1024 };
		struct bw_endpoint_info *vals = calloc(CHUNK, sizeof(*vals));
		uint32_t *keys = calloc(CHUNK, sizeof(*keys)), in = 0, out = 0, n;
		int first_batch = 1, rc, err = 0;

		if (!vals || !keys) {
			free(vals);
			free(keys);
			return -ENOMEM;
		}
		do {
			LIBBPF_OPTS(bpf_map_batch_opts, bo);

			n = CHUNK;
			rc = bpf_map_lookup_batch(dp_fd_epslots(), first_batch ? NULL : &in, &out,
						  keys, vals, &n, &bo);
			err = rc < 0 ? errno : 0;
			if (err && err != ENOENT)
				break;
			for (uint32_t i = 0; i < n; i++) {
				uint32_t sl = keys[i];

				if (sl >= BW_EPSLOTS || slot_ifx[sl] || !vals[i].ifindex)
					continue;
				memset(&vals[i], 0, sizeof(vals[i]));
				bpf_map_update_elem(dp_fd_epslots(), &sl, &vals[i], BPF_ANY);
			}
			first_batch = 0;
			in = out;
		} while (rc == 0);
		free(vals);
		free(keys);
		if (err && err != ENOENT) {
			/* a kernel without batch reads of arrays: one by one */
			for (uint32_t sl = 0; sl < BW_EPSLOTS; sl++) {
				struct bw_endpoint_info slot;

				if (slot_ifx[sl] || bpf_map_lookup_elem(dp_fd_epslots(), &sl, &slot) < 0 ||
				    !slot.ifindex)
					continue;
				memset(&slot, 0, sizeof(slot));
				bpf_map_update_elem(dp_fd_epslots(), &sl, &slot, BPF_ANY);
			}
		}
	}
	eps_loaded = 1;
	return 0;
}

/*
 * Called by the ipcache writers for host prefixes: keep bw_epaddr equal to
 * the ipcache's host prefixes that name a local endpoint, and the
 * endpoint's entry to its addresses. ep_id 0 removes (old_ep: the endpoint
 * the address belonged to).
 */
int dp_ep_addr(int family, const void *addr, uint32_t ep_id, uint32_t old_ep)
{
	struct bw_epaddr_key k;
	struct dp_ep *e;
	int v4 = family == AF_INET || family == 4, rc;

	rc = ep_load();
	if (rc < 0)
		return rc;
	ep_addr_key(family, addr, &k);
	if (ep_id) {
		if (bpf_map_update_elem(dp_fd_epaddr(), &k, &ep_id, BPF_ANY) < 0)
			return -errno;
	} else if (bpf_map_delete_elem(dp_fd_epaddr(), &k) < 0 && errno != ENOENT) {
		return -errno;
	}
	/*
	 * An address of no endpoint before or after (a CIDR or FQDN /32): no
	 * endpoint's addresses changed, nothing to revalidate here; a changed
	 * identity is revalidated by the ipcache writer (once per batch).
	 */
	if (!ep_id && !old_ep)
		return 0;
	if (old_ep && old_ep != ep_id && (e = ep_find(old_ep))) {
		if (ep_addr_note(e, v4, addr, 0) && e->has_info) {
			ep_complete(e, &e->info);
			if ((rc = ep_write(e)) < 0)
				return rc;
		}
		ep_maybe_free(e);
	}
	if (ep_id) {
		e = ep_get(ep_id);
		if (!e)
			return -ENOMEM;
		if (ep_addr_note(e, v4, addr, 1) && e->has_info) {
			ep_complete(e, &e->info);
			if ((rc = ep_write(e)) < 0)
				return rc;
		}
	}
	return 0;
}

/* The host veth of endpoint ep_id, 0 if unknown. */
uint32_t dp_ep_ifindex(uint32_t ep_id)
{
	struct dp_ep *e = ep_find(ep_id);

	return e && !e->dead ? (uint32_t)e->ifindex : 0;
}

int bw_datapath_epaddr_prune(int (*keep)(int family, const uint8_t *addr, uint32_t ep_id),
			     int *pruned)
{
	struct bw_epaddr_key key, next, *keys = NULL;
	size_t n = 0, cap = 0;
	int fd, rc = dp_ready(), first = 1;
	uint32_t ep_id;

	if (rc < 0 || (rc = ep_load()) < 0)
		return rc;
	fd = dp_fd_epaddr();
	for (;;) {
		if (bpf_map_get_next_key(fd, first ? NULL : &key, &next) < 0) {
			rc = errno == ENOENT ? 0 : -errno;
			break;
		}
		first = 0;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &ep_id) < 0)
			continue;
		if (keep(key.family, key.family == 4 ? &key.addr[12] : key.addr, ep_id))
			continue;
		if (n == cap) {
			size_t c = cap ? cap * 2 : 64;
			struct bw_epaddr_key *v = realloc(keys, c * sizeof(*v));

			if (!v) {
				rc = -ENOMEM;
				break;
			}
			keys = v;
			cap = c;
		}
		keys[n++] = key;
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		uint32_t owner = 0;

		bpf_map_lookup_elem(fd, &keys[i], &owner);
		if (dp_ep_addr(keys[i].family, keys[i].family == 4 ? &keys[i].addr[12]
								     : keys[i].addr,
			       0, owner) == 0 &&
		    pruned)
			(*pruned)++;
	}
	free(keys);
	return rc;
}

/* ---- endpoints ------------------------------------------------------------------- */

int bw_datapath_endpoint_put(int ifindex, const struct bw_endpoint_info *info)
{
	struct bw_endpoint_info old, cur;
	struct dp_ep *e, *prev;
	uint32_t key = (uint32_t)ifindex;
	int rc = dp_ready(), had, fresh;

	if (rc < 0)
		return rc;
	if (!info->ep_id || ifindex <= 0)
		return -EINVAL;
	if ((rc = ep_load()) < 0)
		return rc;
	had = bpf_map_lookup_elem(dp_fd_endpoints(), &key, &old) == 0;
	if (had && old.ep_id != info->ep_id && (prev = ep_find(old.ep_id)) &&
	    prev->ifindex == ifindex) {
		prev->ifindex = 0; /* this interface now belongs to another endpoint */
		prev->has_info = 0;
	}
	e = ep_get(info->ep_id);
	if (!e)
		return -ENOMEM;
	if (e->dead) {
		/* an id reused before its connections were collected */
		rc = bw_datapath_ct_flush_endpoint(e->ep_id);
		if (rc < 0)
			return rc;
		e->dead = 0;
	}
	fresh = e->ifindex != ifindex || !e->has_info;
	cur = *info;
	cur.ifindex = key;
	/* ready: its veth has the programs (kept, or asked for a new entry) */
	cur.flags &= ~BW_EP_F_READY;
	if (had && old.ep_id == info->ep_id ? (old.flags & BW_EP_F_READY)
					    : bw_tcattach_attached(ifindex))
		cur.flags |= BW_EP_F_READY;
	if (!fresh) {
		memcpy(cur.mac, e->info.mac, 6);
		memcpy(cur.host_mac, e->info.host_mac, 6);
	} else if (had && old.ep_id == info->ep_id) {
		memcpy(cur.mac, old.mac, 6); /* a restart: the pair is the same */
		memcpy(cur.host_mac, old.host_mac, 6);
	}
	if (fresh && !(cur.mac[0] | cur.mac[1] | cur.mac[2] | cur.mac[3] | cur.mac[4] | cur.mac[5]))
		dp_veth_macs(ifindex, cur.host_mac, cur.mac); /* 0 when it is no veth */
	ep_complete(e, &cur);
	if (cur.flags & BW_EP_F_READY)
		e->was_ready = 1;
	e->ifindex = ifindex;
	e->info = cur;
	e->has_info = 1;
	rc = ep_write(e);
	if (rc < 0)
		return rc;
	if (fresh)
		ep_ipcache_ifindex(e);
	if (had && (old.flags != cur.flags || old.identity != cur.identity ||
		    old.ep_id != cur.ep_id)) {
		rc = bw_datapath_ct_revalidate(cur.ep_id);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int bw_datapath_endpoint_del(int ifindex)
{
	struct bw_endpoint_info old;
	struct dp_ep *e;
	uint32_t key = (uint32_t)ifindex, slot = key % BW_EPSLOTS;
	int rc = dp_ready(), had;

	if (rc < 0)
		return rc;
	if ((rc = ep_load()) < 0)
		return rc;
	had = bpf_map_lookup_elem(dp_fd_endpoints(), &key, &old) == 0;
	if (slot_ifx[slot] == key) {
		struct bw_endpoint_info none;

		memset(&none, 0, sizeof(none));
		if (bpf_map_update_elem(dp_fd_epslots(), &slot, &none, BPF_ANY) < 0)
			return -errno;
		slot_ifx[slot] = 0;
	}
	if (bpf_map_delete_elem(dp_fd_endpoints(), &key) < 0 && errno != ENOENT)
		return -errno;
	if (!had)
		return 0;
	e = ep_find(old.ep_id);
	if (e && e->ifindex == ifindex) {
		e->ifindex = 0;
		e->has_info = 0;
		ep_ipcache_ifindex(e); /* addresses still there: no interface now */
		e->dead = 1;
	}
	/* nothing of the endpoint may outlive it: its policy entries now, its
	 * connections at the next garbage collection (no revalidation: nothing
	 * looks them up any more) */
	rc = dp_policy_sync(old.ep_id, NULL, 0, 0);
	return rc < 0 ? rc : 0;
}

/*
 * The programs were attached to ifindex (ready 1): its endpoint is ready;
 * or they are about to be detached (0): it is not, and eBPF host routing
 * leaves its packets to the stack again.
 */
void dp_ep_ready(int ifindex, int ready)
{
	struct bw_endpoint_info info;
	uint32_t key = (uint32_t)ifindex;
	struct dp_ep *e;

	if (ep_load() < 0 || bpf_map_lookup_elem(dp_fd_endpoints(), &key, &info) < 0 ||
	    !(info.flags & BW_EP_F_READY) == !ready)
		return;
	e = ep_find(info.ep_id);
	if (!e || e->ifindex != ifindex)
		return;
	if (ready) {
		e->info.flags |= BW_EP_F_READY;
		e->was_ready = 1;
	} else
		e->info.flags &= ~BW_EP_F_READY;
	if (ep_write(e) < 0)
		bw_warn("datapath: endpoint %u: cannot mark it %sready: %s", e->ep_id,
			ready ? "" : "not ", strerror(errno));
}

/*
 * The entry of endpoint ep_id as written (NULL: none). An entry without
 * BW_EP_F_READY has no connections to walk (bw_datapath_ct_revalidate).
 */
const struct bw_endpoint_info *dp_ep_info(uint32_t ep_id)
{
	const struct dp_ep *e;

	if (ep_load() < 0)
		return NULL;
	e = ep_find(ep_id);
	return e && e->has_info && !e->dead ? &e->info : NULL;
}

/* May endpoint ep_id have connections (its veth had the programs since
 * the entry was made, or we cannot tell)? */
int dp_ep_may_have_ct(uint32_t ep_id)
{
	const struct dp_ep *e;

	if (ep_load() < 0)
		return 1;
	e = ep_find(ep_id);
	return !e || !e->has_info || e->was_ready || (e->info.flags & BW_EP_F_READY);
}

/* Does endpoint ep_id exist (its entry written, not deleted)? For the
 * conntrack sweep, which removes the entries of endpoints that do not. */
int dp_ep_live(uint32_t ep_id)
{
	const struct dp_ep *e;

	if (ep_load() < 0)
		return 1; /* keep everything when we cannot tell */
	e = ep_find(ep_id);
	return e && e->ifindex && !e->dead;
}

/* After a conntrack sweep: the dead endpoints' entries are gone. */
void dp_eps_collected(void)
{
	size_t i = 0;

	while (i < eps_cap) {
		if (eps[i].ep_id && eps[i].dead) {
			eps[i].dead = 0;
			if (!eps[i].ifindex && !eps[i].n4 && !eps[i].n6) {
				ep_remove(&eps[i]); /* re-packs: look at slot i again */
				continue;
			}
		}
		i++;
	}
}

int bw_datapath_endpoint_foreach(int (*fn)(int ifindex, const struct bw_endpoint_info *, void *),
				 void *arg)
{
	struct bw_endpoint_info info;
	uint32_t key, next;
	int fd, rc = dp_ready(), first = 1;

	if (rc < 0)
		return rc;
	fd = dp_fd_endpoints();
	for (;;) {
		if (bpf_map_get_next_key(fd, first ? NULL : &key, &next) < 0)
			return errno == ENOENT ? 0 : -errno;
		first = 0;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &info) < 0)
			continue;
		rc = fn((int)key, &info, arg);
		if (rc)
			return rc < 0 ? rc : 0;
	}
}
