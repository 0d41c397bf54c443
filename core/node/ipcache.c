/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/node/ipcache.c - the user-side ipcache: prefixes claimed by owners, the
 * strongest claim written to the datapath, longest-prefix lookups.
 *
 * The table is an array of slots (each allocated on its own) kept sorted by
 * prefix length, longest first, for listing, and a hash index of the slots
 * by exact prefix, kept up to date on every change: finding a prefix costs
 * O(1) and a longest-prefix lookup probes only the prefix lengths present,
 * so programming 10,000 CIDR peers costs O(N), not O(N^2).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "core/config.h" /* before datapath.h (BW_ENFORCE_* macros) */
#include "core/datapath/datapath.h"
#include "core/node/ipcache.h"
#include "core/log.h"

#define IPCACHE_NOWNERS (BW_IPCACHE_OWNER_HOST + 1) /* indexed by enum bw_ipcache_owner */

struct ipcache_claim {
	int valid;
	uint32_t identity;
	uint32_t ep_id;
};

struct ipcache_slot {
	struct bw_prefix prefix;
	struct ipcache_claim claims[IPCACHE_NOWNERS];
	int pending; /* its kernel entry is in ipcache_pend, not yet written */
};

/* Deferred kernel writes (bw_ipcache_defer_begin), in the order made. */
static struct {
	struct bw_ipcache_write *w;
	struct ipcache_slot **slot;
	size_t n, cap;
	unsigned depth;
} ipcache_pend;

static struct ipcache_slot **ipcache_slots; /* sorted, longest prefix first */
static size_t ipcache_n, ipcache_cap;

/*
 * Index: open addressing (linear probing) of slot pointers by prefix
 * (family, length, masked address), at most half full, updated on insert
 * and removal (backward-shift deletion); and how many slots have each
 * prefix length, so a lookup probes only the lengths present, longest
 * first.
 */
static struct ipcache_slot **ipcache_index;
static size_t ipcache_index_cap; /* power of two, 0 before the first slot */
static unsigned ipcache_plen_count[2][129];

/* ---- the table ------------------------------------------------------------ */

static uint32_t ipcache_hash(int family, int plen, const uint8_t *addr)
{
	uint32_t h = 2166136261u;

	h = (h ^ (uint32_t)family) * 16777619u;
	h = (h ^ (uint32_t)plen) * 16777619u;
	for (int i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	return h;
}

static size_t ipcache_slot_hash(const struct bw_prefix *p)
{
	return ipcache_hash(p->family, p->plen, p->addr) & (ipcache_index_cap - 1);
}

static void ipcache_index_insert(struct ipcache_slot *s)
{
	size_t h = ipcache_slot_hash(&s->prefix);

	while (ipcache_index[h])
		h = (h + 1) & (ipcache_index_cap - 1);
	ipcache_index[h] = s;
}

/* Room for one more slot at most half full (rehashes when it grows). */
static int ipcache_index_reserve(size_t n)
{
	size_t cap = ipcache_index_cap ? ipcache_index_cap : 64;
	struct ipcache_slot **v;

	while (cap < n * 2)
		cap *= 2;
	if (cap == ipcache_index_cap)
		return 0;
	v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	free(ipcache_index);
	ipcache_index = v;
	ipcache_index_cap = cap;
	for (size_t i = 0; i < ipcache_n; i++)
		ipcache_index_insert(ipcache_slots[i]);
	return 0;
}

/* Take s out of the index (backward-shift deletion keeps probing exact). */
static void ipcache_index_remove(const struct ipcache_slot *s)
{
	size_t mask = ipcache_index_cap - 1, i = ipcache_slot_hash(&s->prefix), j;

	while (ipcache_index[i] && ipcache_index[i] != s)
		i = (i + 1) & mask;
	if (!ipcache_index[i])
		return;
	ipcache_index[i] = NULL;
	for (j = (i + 1) & mask; ipcache_index[j]; j = (j + 1) & mask) {
		size_t k = ipcache_slot_hash(&ipcache_index[j]->prefix);

		/* move j back to the hole at i unless its home k lies in (i, j] */
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			ipcache_index[i] = ipcache_index[j];
			ipcache_index[j] = NULL;
			i = j;
		}
	}
}

/* The slot whose prefix is exactly (family, plen, masked addr). */
static struct ipcache_slot *ipcache_index_find(const struct bw_prefix *p)
{
	size_t h;

	if (!ipcache_index_cap)
		return NULL;
	for (h = ipcache_slot_hash(p); ipcache_index[h]; h = (h + 1) & (ipcache_index_cap - 1))
		if (bw_prefix_equal(&ipcache_index[h]->prefix, p))
			return ipcache_index[h];
	return NULL;
}

static const struct ipcache_claim *ipcache_effective(const struct ipcache_slot *s,
						     enum bw_ipcache_owner *owner)
{
	for (int o = IPCACHE_NOWNERS - 1; o > 0; o--) {
		if (s->claims[o].valid) {
			if (owner)
				*owner = (enum bw_ipcache_owner)o;
			return &s->claims[o];
		}
	}
	return NULL;
}

static struct ipcache_slot *ipcache_find(const struct bw_prefix *p)
{
	return ipcache_index_find(p);
}

static int ipcache_dp_put(const struct bw_prefix *p, uint32_t identity,
			  uint32_t ep_id)
{
	struct bw_ipcache_value v = { .identity = identity, .ep_id = ep_id };

	return bw_datapath_ipcache_put(p->family == 4 ? AF_INET : AF_INET6,
				       p->addr, p->plen, &v);
}

static int ipcache_dp_del(const struct bw_prefix *p)
{
	int rc = bw_datapath_ipcache_del(p->family == 4 ? AF_INET : AF_INET6,
					 p->addr, p->plen);

	return rc == -ENOENT ? 0 : rc;
}

/*
 * What the kernel's longest-prefix match gives for p's address among the
 * prefixes not longer than p's (the entry a new prefix p shadows): the
 * table is the kernel's content. Miss: world, no endpoint.
 */
static void ipcache_covering(const struct bw_prefix *p, uint32_t *identity, uint32_t *ep_id)
{
	*identity = BW_ID_WORLD;
	*ep_id = 0;
	for (int plen = p->plen; plen >= 0; plen--) {
		const struct ipcache_slot *s;
		const struct ipcache_claim *c;
		struct bw_prefix k;

		if (ipcache_plen_count[p->family == 4 ? 0 : 1][plen] == 0)
			continue;
		k = *p;
		k.plen = plen;
		bw_prefix_mask(&k);
		s = ipcache_index_find(&k);
		if (!s || !(c = ipcache_effective(s, NULL)))
			continue;
		*identity = c->identity;
		*ep_id = c->ep_id;
		return;
	}
}

/* Write what is pending (one batch); see bw_ipcache_defer_end(). */
static int ipcache_flush(struct bw_prefix *failed)
{
	size_t done = 0;
	int rc;

	if (!ipcache_pend.n)
		return 0;
	rc = bw_datapath_ipcache_put_many(ipcache_pend.w, ipcache_pend.n, &done);
	for (size_t i = 0; i < ipcache_pend.n; i++)
		if (ipcache_pend.slot[i])
			ipcache_pend.slot[i]->pending = 0;
	if (rc < 0 && failed && done < ipcache_pend.n) {
		const struct bw_ipcache_write *w = &ipcache_pend.w[done];

		memset(failed, 0, sizeof(*failed));
		failed->family = w->family == AF_INET ? 4 : 6;
		failed->plen = w->prefixlen;
		memcpy(failed->addr, w->addr, 16);
	}
	ipcache_pend.n = 0;
	return rc;
}

void bw_ipcache_defer_begin(void)
{
	ipcache_pend.depth++;
}

int bw_ipcache_defer_end(struct bw_prefix *failed)
{
	if (!ipcache_pend.depth || --ipcache_pend.depth)
		return 0;
	return ipcache_flush(failed);
}

/* A new slot whose kernel write can wait for ipcache_flush(): queue it. */
static int ipcache_defer(struct ipcache_slot *s, uint32_t identity, uint32_t ep_id)
{
	struct bw_ipcache_write *w;
	uint32_t old_id, old_ep;

	if (!ipcache_pend.depth || ep_id)
		return 0;
	ipcache_covering(&s->prefix, &old_id, &old_ep);
	if (old_ep)
		return 0;
	if (ipcache_pend.n == ipcache_pend.cap) {
		size_t cap = ipcache_pend.cap ? ipcache_pend.cap * 2 : 256;
		struct bw_ipcache_write *nw = realloc(ipcache_pend.w, cap * sizeof(*nw));
		struct ipcache_slot **ns;

		if (!nw)
			return 0; /* written at once instead */
		ipcache_pend.w = nw;
		ns = realloc(ipcache_pend.slot, cap * sizeof(*ns));
		if (!ns)
			return 0;
		ipcache_pend.slot = ns;
		ipcache_pend.cap = cap;
	}
	w = &ipcache_pend.w[ipcache_pend.n];
	memset(w, 0, sizeof(*w));
	w->family = s->prefix.family == 4 ? AF_INET : AF_INET6;
	memcpy(w->addr, s->prefix.addr, 16);
	w->prefixlen = s->prefix.plen;
	w->v.identity = identity;
	w->old_identity = old_id;
	w->old_ep_id = old_ep;
	ipcache_pend.slot[ipcache_pend.n++] = s;
	s->pending = 1;
	return 1;
}

int bw_ipcache_upsert(const struct bw_prefix *p, uint32_t identity,
		      uint32_t ep_id, enum bw_ipcache_owner owner)
{
	struct ipcache_slot *s;
	const struct ipcache_claim *eff;
	enum bw_ipcache_owner eff_owner = 0;
	size_t pos;
	int rc;

	if (owner < BW_IPCACHE_OWNER_CIDR || owner > BW_IPCACHE_OWNER_HOST ||
	    (p->family != 4 && p->family != 6))
		return -EINVAL;
	s = ipcache_find(p);
	/* a change of an existing prefix: the kernel gets what is pending first */
	if (s && (rc = ipcache_flush(NULL)) < 0)
		return rc;
	if (s) {
		eff = ipcache_effective(s, &eff_owner);
		if (!eff || owner >= eff_owner) {
			if (!eff || eff->identity != identity || eff->ep_id != ep_id ||
			    owner != eff_owner) {
				rc = ipcache_dp_put(p, identity, ep_id);
				if (rc < 0)
					return rc;
			}
		}
		s->claims[owner].valid = 1;
		s->claims[owner].identity = identity;
		s->claims[owner].ep_id = ep_id;
		return 0;
	}
	if (ipcache_n == ipcache_cap) {
		size_t cap = ipcache_cap ? ipcache_cap * 2 : 64;
		struct ipcache_slot **v = realloc(ipcache_slots, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ipcache_slots = v;
		ipcache_cap = cap;
	}
	if (ipcache_index_reserve(ipcache_n + 1) < 0)
		return -ENOMEM;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->prefix = *p;
	if (!ipcache_defer(s, identity, ep_id)) {
		rc = ipcache_flush(NULL);
		if (rc == 0)
			rc = ipcache_dp_put(p, identity, ep_id);
		if (rc < 0) {
			free(s);
			return rc;
		}
	}
	/* Keep longest prefixes first (after the others of the same length). */
	for (pos = ipcache_n; pos > 0 && ipcache_slots[pos - 1]->prefix.plen < p->plen; pos--)
		;
	memmove(&ipcache_slots[pos + 1], &ipcache_slots[pos],
		(ipcache_n - pos) * sizeof(ipcache_slots[0]));
	ipcache_slots[pos] = s;
	s->prefix = *p;
	s->claims[owner].valid = 1;
	s->claims[owner].identity = identity;
	s->claims[owner].ep_id = ep_id;
	ipcache_n++;
	ipcache_index_insert(s);
	ipcache_plen_count[p->family == 4 ? 0 : 1][p->plen]++;
	return 0;
}

int bw_ipcache_remove(const struct bw_prefix *p, enum bw_ipcache_owner owner)
{
	struct ipcache_slot *s = ipcache_find(p);
	struct ipcache_claim saved;
	const struct ipcache_claim *eff;
	enum bw_ipcache_owner eff_owner = 0;
	int rc = 0;

	if (owner < BW_IPCACHE_OWNER_CIDR || owner > BW_IPCACHE_OWNER_HOST)
		return -EINVAL;
	if (!s || !s->claims[owner].valid)
		return -ENOENT;
	rc = ipcache_flush(NULL);
	if (rc < 0)
		return rc;
	ipcache_effective(s, &eff_owner);
	saved = s->claims[owner];
	s->claims[owner].valid = 0;
	eff = ipcache_effective(s, NULL);
	if (eff_owner == owner) {
		if (eff)
			rc = ipcache_dp_put(p, eff->identity, eff->ep_id);
		else
			rc = ipcache_dp_del(p);
	}
	if (rc < 0) {
		s->claims[owner] = saved;
		return rc;
	}
	if (!eff) {
		size_t i;

		for (i = 0; i < ipcache_n && ipcache_slots[i] != s; i++)
			;
		if (i < ipcache_n) {
			memmove(&ipcache_slots[i], &ipcache_slots[i + 1],
				(ipcache_n - i - 1) * sizeof(ipcache_slots[0]));
			ipcache_n--;
		}
		ipcache_index_remove(s);
		ipcache_plen_count[s->prefix.family == 4 ? 0 : 1][s->prefix.plen]--;
		free(s);
	}
	return 0;
}

int bw_ipcache_lookup(int family, const uint8_t *addr,
		      struct bw_ipcache_entry *out)
{
	if (family != 4 && family != 6)
		goto miss;
	for (int plen = family == 4 ? 32 : 128; plen >= 0; plen--) {
		/* lengths from the longest down, only those present */
		const struct ipcache_slot *s;
		const struct ipcache_claim *c;
		enum bw_ipcache_owner o;
		struct bw_prefix k;

		if (ipcache_plen_count[family == 4 ? 0 : 1][plen] == 0)
			continue;
		memset(&k, 0, sizeof(k));
		k.family = family;
		k.plen = plen;
		memcpy(k.addr, addr, family == 4 ? 4 : 16);
		bw_prefix_mask(&k);
		s = ipcache_index_find(&k);
		if (!s)
			continue;
		c = ipcache_effective(s, &o);
		if (!c)
			continue;
		if (out) {
			out->prefix = s->prefix;
			out->identity = c->identity;
			out->ep_id = c->ep_id;
			out->owner = o;
		}
		return 0;
	}
miss:
	if (out) {
		memset(out, 0, sizeof(*out));
		out->prefix.family = family;
		out->identity = BW_ID_WORLD;
	}
	return -ENOENT;
}

size_t bw_ipcache_count(int family)
{
	size_t n = 0;

	for (int l = 0; l <= (family == 4 ? 32 : 128); l++)
		n += ipcache_plen_count[family == 4 ? 0 : 1][l];
	return n;
}

int bw_ipcache_has(const struct bw_prefix *p)
{
	return ipcache_index_find(p) != NULL;
}

int bw_ipcache_lookup_owner(int family, const uint8_t *addr,
			    enum bw_ipcache_owner owner,
			    struct bw_ipcache_entry *out)
{
	if ((family != 4 && family != 6) || owner < BW_IPCACHE_OWNER_CIDR ||
	    owner > BW_IPCACHE_OWNER_HOST)
		return -ENOENT;
	for (int plen = family == 4 ? 32 : 128; plen >= 0; plen--) {
		const struct ipcache_slot *s;
		struct bw_prefix k;

		if (ipcache_plen_count[family == 4 ? 0 : 1][plen] == 0)
			continue;
		memset(&k, 0, sizeof(k));
		k.family = family;
		k.plen = plen;
		memcpy(k.addr, addr, family == 4 ? 4 : 16);
		bw_prefix_mask(&k);
		s = ipcache_index_find(&k);
		if (!s || !s->claims[owner].valid)
			continue;
		if (out) {
			out->prefix = s->prefix;
			out->identity = s->claims[owner].identity;
			out->ep_id = s->claims[owner].ep_id;
			out->owner = owner;
		}
		return 0;
	}
	return -ENOENT;
}

int bw_ipcache_is_host_addr(int family, const uint8_t *addr)
{
	struct bw_prefix p;

	memset(&p, 0, sizeof(p));
	p.family = family;
	p.plen = family == 4 ? 32 : 128;
	memcpy(p.addr, addr, family == 4 ? 4 : 16);
	{
		const struct ipcache_slot *s = ipcache_index_find(&p);

		return s ? s->claims[BW_IPCACHE_OWNER_HOST].valid : 0;
	}
}

void bw_ipcache_foreach(int (*cb)(const struct bw_ipcache_entry *e, void *arg),
			void *arg)
{
	for (size_t i = 0; i < ipcache_n; i++) {
		struct bw_ipcache_entry e;
		const struct ipcache_claim *c;

		c = ipcache_effective(ipcache_slots[i], &e.owner);
		if (!c)
			continue;
		e.prefix = ipcache_slots[i]->prefix;
		e.identity = c->identity;
		e.ep_id = c->ep_id;
		if (cb(&e, arg))
			return;
	}
}

static const char *ipcache_owner_name(enum bw_ipcache_owner o)
{
	switch (o) {
	case BW_IPCACHE_OWNER_CIDR: return "cidr";
	case BW_IPCACHE_OWNER_FQDN: return "fqdn";
	case BW_IPCACHE_OWNER_ENDPOINT: return "endpoint";
	case BW_IPCACHE_OWNER_IPBLOCK: return "ipblock";
	case BW_IPCACHE_OWNER_HOST: return "host";
	}
	return "?";
}

static int ipcache_json_cb(const struct bw_ipcache_entry *e, void *arg)
{
	char buf[INET6_ADDRSTRLEN + 8];

	json_array_append_new((json_t *)arg,
			      json_pack("{s:s, s:I, s:I, s:s}", "prefix",
					bw_prefix_format(&e->prefix, 1, buf, sizeof(buf)),
					"identity", (json_int_t)e->identity,
					"endpoint_id", (json_int_t)e->ep_id,
					"owner", ipcache_owner_name(e->owner)));
	return 0;
}

json_t *bw_ipcache_to_json(void)
{
	json_t *a = json_array();

	if (a)
		bw_ipcache_foreach(ipcache_json_cb, a);
	return a;
}

/* ---- node addresses -------------------------------------------------------- */

int bw_ipcache_init(void)
{
	struct ifaddrs *ifa, *i;
	int n = 0;

	if (getifaddrs(&ifa) < 0) {
		int e = errno;

		bw_err_errno(e, "ipcache: cannot list the node's addresses");
		return -e;
	}
	for (i = ifa; i; i = i->ifa_next) {
		struct bw_prefix p;
		char buf[INET6_ADDRSTRLEN + 8];
		int rc;

		if (!i->ifa_addr)
			continue;
		memset(&p, 0, sizeof(p));
		if (i->ifa_addr->sa_family == AF_INET) {
			p.family = 4;
			p.plen = 32;
			memcpy(p.addr, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			p.family = 6;
			p.plen = 128;
			memcpy(p.addr, &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		rc = bw_ipcache_upsert(&p, BW_ID_HOST, 0, BW_IPCACHE_OWNER_HOST);
		if (rc < 0) {
			bw_err_errno(rc,
				     "ipcache: cannot map node address %s to the host identity",
				     bw_prefix_format(&p, 0, buf, sizeof(buf)));
			freeifaddrs(ifa);
			return rc;
		}
		bw_debug("ipcache: node address %s -> host",
			 bw_prefix_format(&p, 0, buf, sizeof(buf)));
		n++;
	}
	freeifaddrs(ifa);
	bw_info("ipcache: %d node addresses map to the host identity", n);
	return 0;
}

/* ---- stale kernel entries ---------------------------------------------------- */

/*
 * Delete from one pinned trie every prefix the table does not claim. Keys
 * are collected first: deleting while walking an LPM trie restarts the walk.
 */
static int ipcache_prune_map(const char *name, int family, int *pruned)
{
	size_t klen = family == 4 ? sizeof(struct bw_ipcache4_key)
				  : sizeof(struct bw_ipcache6_key);
	uint8_t key[sizeof(struct bw_ipcache6_key)], next[sizeof(struct bw_ipcache6_key)];
	uint8_t *keys = NULL;
	size_t n = 0, cap = 0;
	char path[4096];
	int fd, rc = 0;
	void *prev = NULL;

	if (!bw_conf || !bw_conf->bpffs_dir)
		return -ENXIO;
	snprintf(path, sizeof(path), "%s/%s", bw_conf->bpffs_dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			uint8_t *k = realloc(keys, ncap * klen);

			if (!k) {
				rc = -ENOMEM;
				goto out;
			}
			keys = k;
			cap = ncap;
		}
		memcpy(keys + n * klen, next, klen);
		n++;
		memcpy(key, next, klen);
		prev = key;
	}
	for (size_t i = 0; i < n; i++) {
		struct bw_prefix p;
		uint32_t plen;
		struct ipcache_slot *s;

		memset(&p, 0, sizeof(p));
		memcpy(&plen, keys + i * klen, sizeof(plen));
		p.family = family;
		p.plen = (int)plen;
		memcpy(p.addr, keys + i * klen + sizeof(uint32_t), family == 4 ? 4 : 16);
		s = ipcache_find(&p);
		if (s && ipcache_effective(s, NULL))
			continue;
		rc = ipcache_dp_del(&p);
		if (rc < 0)
			goto out;
		(*pruned)++;
	}
out:
	free(keys);
	close(fd);
	return rc;
}

/* An endpoint address entry stays when its host prefix names that endpoint. */
static int ipcache_epaddr_keep(int family, const uint8_t *addr, uint32_t ep_id)
{
	struct bw_ipcache_entry e;
	struct bw_prefix p;

	memset(&p, 0, sizeof(p));
	p.family = family;
	p.plen = family == 4 ? 32 : 128;
	memcpy(p.addr, addr, family == 4 ? 4 : 16);
	return bw_ipcache_lookup(family, addr, &e) == 0 && bw_prefix_equal(&e.prefix, &p) &&
	       e.ep_id == ep_id;
}

int bw_ipcache_prune(void)
{
	int pruned = 0, rc;

	rc = ipcache_flush(NULL);
	if (rc == 0)
		rc = ipcache_prune_map(BW_MAP_IPCACHE4, 4, &pruned);
	if (rc == 0)
		rc = ipcache_prune_map(BW_MAP_IPCACHE6, 6, &pruned);
	if (rc == 0)
		rc = bw_datapath_epaddr_prune(ipcache_epaddr_keep, &pruned);
	if (rc < 0) {
		bw_err_errno(rc, "ipcache: cannot remove stale entries");
		return rc;
	}
	if (pruned)
		bw_info("ipcache: removed %d stale entries left from before the restart",
			pruned);
	return 0;
}

void bw_ipcache_fini(void)
{
	for (size_t i = 0; i < ipcache_n; i++)
		free(ipcache_slots[i]);
	free(ipcache_slots);
	ipcache_slots = NULL;
	ipcache_n = ipcache_cap = 0;
	free(ipcache_index);
	ipcache_index = NULL;
	ipcache_index_cap = 0;
	memset(ipcache_plen_count, 0, sizeof(ipcache_plen_count));
	free(ipcache_pend.w);
	free(ipcache_pend.slot);
	memset(&ipcache_pend, 0, sizeof(ipcache_pend));
}
