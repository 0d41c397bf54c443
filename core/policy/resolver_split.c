/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/resolver_split.c - Kubernetes ipBlock peers match addresses,
 * not identities (docs/policy.md, "ipBlock").
 *
 * Pods with the same labels share an identity, and the datapath decides by
 * identity. An ipBlock (a CIDR peer with match_endpoints) that holds one
 * replica's address but not another's must still tell them apart, so the
 * address pass gives such addresses an identity of their own:
 *
 *  - every endpoint address gets its signature: the set of ipBlock peers
 *    (cidr minus except) that hold it;
 *  - when the addresses of one endpoint identity I do not all have the same
 *    signature, each address with a non-empty signature S moves to the
 *    split identity (I, S): I's labels plus reserved:ipblock-split=<hash
 *    of S>, acquired through ops.split_acquire; addresses in no ipBlock
 *    keep I. One split identity per (identity, signature), not per
 *    address: a thousand replicas inside one ipBlock and outside another
 *    share one;
 *  - an ipBlock selects a split identity when it is in its signature, and
 *    an identity when every address still mapped to it lies in the
 *    ipBlock (after splitting they all have the same signature; if a split
 *    identity cannot be had, the identity is only selected by the ipBlocks
 *    that hold all of its addresses: never a replica outside);
 *  - label selectors, entities and subjects see a split identity as its
 *    base (same labels), so nothing else changes; only the pods whose
 *    addresses an ipBlock splits cost extra identities, and the datapath
 *    does nothing new per packet: the ipcache entry of the address simply
 *    names the split identity.
 *
 * The pass runs in bw_resolver_flush() when endpoints or ipBlock peers
 * changed: split identities are acquired first (their identity events
 * reach the selectors), the endpoints' entries are synced, then the
 * ipcache entries of the split addresses are written (rv_split_apply), and
 * only then is what is no longer used released, so no packet meets an
 * identity the policy map has no entries for.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/policy/resolver.h"
#include "core/policy/resolver_int.h"

/* One endpoint address and the ipBlock peers holding it. */
struct rv_asig {
	struct bw_rv_endpoint *ep;
	size_t ai;             /* index in ep->addrs */
	struct bw_rv_sel **sig; /* sorted by key */
	size_t nsig;
	uint64_t hash;         /* of the keys */
	uint32_t id;           /* split identity, 0 = the endpoint's */
};

/* ipcache mappings written through ops.split_map. */
struct rv_amap_key {
	uint8_t family;
	uint8_t addr[16];
};

struct rv_amap {
	struct rv_amap_key k;
	uint32_t cur_ep, cur_id;   /* written */
	uint32_t want_ep, want_id; /* wanted by the last pass */
};

static int rv_sig_key_cmp(const void *a, const void *b)
{
	return strcmp((*(struct bw_rv_sel *const *)a)->key, (*(struct bw_rv_sel *const *)b)->key);
}

static int rv_addr_in(const struct bw_rv_sel *s, const struct bw_rv_addr *a)
{
	int plen = a->family == 4 ? 32 : 128;

	if (!rv_prefix_within(a->family, a->addr, plen, s->family, s->addr, s->plen))
		return 0;
	for (size_t i = 0; i < s->nexcept; i++)
		if (rv_prefix_within(a->family, a->addr, plen, s->except[i].family,
				     s->except[i].addr, s->except[i].plen))
			return 0;
	return 1;
}

/* The ipBlock peers that hold address a, sorted by key, and their hash. */
static int rv_asig_make(struct bw_resolver *r, struct rv_asig *e)
{
	const struct bw_rv_addr *a = &e->ep->addrs[e->ai];
	int maxlen = a->family == 4 ? 32 : 128;
	size_t cap = 0;
	uint64_t h = 1469598103934665603ull;

	for (int q = 0; q <= maxlen; q++) {
		const struct rv_ptrlist *l = rv_pfx_list(&r->cidr_sels, a->family, a->addr, q);

		for (size_t i = 0; l && i < l->n; i++) {
			struct bw_rv_sel *s = l->v[i];

			if (!s->match_endpoints || !rv_addr_in(s, a))
				continue;
			if (e->nsig == cap) {
				struct bw_rv_sel **v;

				cap = cap ? cap * 2 : 4;
				v = realloc(e->sig, cap * sizeof(*v));
				if (!v)
					return -ENOMEM;
				e->sig = v;
			}
			e->sig[e->nsig++] = s;
		}
	}
	if (e->nsig > 1)
		qsort(e->sig, e->nsig, sizeof(*e->sig), rv_sig_key_cmp);
	for (size_t i = 0; i < e->nsig; i++) {
		for (const char *c = e->sig[i]->key; *c; c++) {
			h ^= (unsigned char)*c;
			h *= 1099511628211ull;
		}
		h ^= '\n';
		h *= 1099511628211ull;
	}
	e->hash = h;
	return 0;
}

static int rv_sig_cmp(const struct rv_asig *a, const struct rv_asig *b)
{
	if (a->hash != b->hash)
		return a->hash < b->hash ? -1 : 1;
	if (a->nsig != b->nsig)
		return a->nsig < b->nsig ? -1 : 1;
	for (size_t i = 0; i < a->nsig; i++)
		if (a->sig[i] != b->sig[i])
			return strcmp(a->sig[i]->key, b->sig[i]->key);
	return 0;
}

static int rv_asig_cmp(const void *pa, const void *pb)
{
	const struct rv_asig *a = pa, *b = pb;

	if (a->ep->identity != b->ep->identity)
		return a->ep->identity < b->ep->identity ? -1 : 1;
	return rv_sig_cmp(a, b);
}

static int rv_sig_has(const struct rv_asig *e, const struct bw_rv_sel *s)
{
	size_t lo = 0, hi = e->nsig;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(e->sig[mid]->key, s->key);

		if (!c)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

const struct rv_split *rv_split_find(const struct bw_resolver *r, uint32_t id)
{
	for (size_t i = 0; id && i < r->nsplits; i++)
		if (r->splits[i].id == id)
			return &r->splits[i];
	return NULL;
}

/* The split identity of (base, signature e): found, or acquired; 0 if none. */
static uint32_t rv_split_get(struct bw_resolver *r, const struct rv_asig *e,
			     const struct rv_asig **claim)
{
	char key[17];
	uint32_t id = 0;

	snprintf(key, sizeof(key), "%016llx", (unsigned long long)e->hash);
	for (size_t i = 0; i < r->nsplits; i++) {
		struct rv_split *sp = &r->splits[i];

		if (sp->base != e->ep->identity || strcmp(sp->sigkey, key))
			continue;
		/* a hash shared by two signatures: the second stays unsplit */
		if (sp->used && claim[i] && rv_sig_cmp(claim[i], e))
			return 0;
		sp->used = 1;
		claim[i] = e;
		return sp->id;
	}
	if (!r->ops.split_acquire)
		return 0;
	if (r->nsplits == r->capsplits) {
		size_t cap = r->capsplits ? r->capsplits * 2 : 8;
		struct rv_split *v = realloc(r->splits, cap * sizeof(*v));

		if (!v)
			return 0;
		r->splits = v;
		r->capsplits = cap;
	}
	if (r->ops.split_acquire(r->ops.arg, e->ep->identity, key, &id) < 0 || !id) {
		r->split_retry = 1;
		return 0;
	}
	memset(&r->splits[r->nsplits], 0, sizeof(r->splits[0]));
	r->splits[r->nsplits].id = id;
	r->splits[r->nsplits].base = e->ep->identity;
	snprintf(r->splits[r->nsplits].sigkey, sizeof(r->splits[0].sigkey), "%s", key);
	r->splits[r->nsplits].used = 1;
	claim[r->nsplits] = e;
	r->nsplits++;
	return id;
}

static struct rv_amap *rv_amap_get(struct bw_resolver *r, const struct bw_rv_addr *a, int create)
{
	struct rv_amap_key k;
	struct rv_amap *m;

	memset(&k, 0, sizeof(k));
	k.family = (uint8_t)a->family;
	memcpy(k.addr, a->addr, 16);
	m = rv_map_get(&r->addrmap, &k, sizeof(k));
	if (m || !create)
		return m;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->k = k;
	if (rv_map_put(&r->addrmap, &m->k, sizeof(m->k), m) < 0) {
		free(m);
		return NULL;
	}
	return m;
}

static void rv_amap_unwant_cb(void *val, void *arg)
{
	struct rv_amap *m = val;

	m->want_ep = 0;
	m->want_id = 0;
}

/* New epids of every ipBlock selector; applied to s->ids. Returns changed. */
static int rv_epids_apply(struct bw_resolver *r, int *changed)
{
	for (size_t i = 0; i < r->ipblock_sels.n; i++) {
		struct bw_rv_sel *s = r->ipblock_sels.v[i];
		struct rv_ids t;
		size_t a = 0, b = 0;

		rv_ids_sort_uniq(&s->epnew);
		while (a < s->epids.n || b < s->epnew.n) {
			if (b >= s->epnew.n ||
			    (a < s->epids.n && s->epids.v[a] < s->epnew.v[b])) {
				rv_ids_del(&s->ids, s->epids.v[a++]);
				s->changed = 1;
			} else if (a >= s->epids.n || s->epnew.v[b] < s->epids.v[a]) {
				if (rv_ids_add(&s->ids, s->epnew.v[b++]) < 0)
					return -ENOMEM;
				s->changed = 1;
			} else {
				a++;
				b++;
			}
		}
		if (s->changed)
			*changed = 1;
		t = s->epids;
		s->epids = s->epnew;
		s->epnew = t;
		s->epnew.n = 0;
	}
	return 0;
}

int rv_split_update(struct bw_resolver *r)
{
	size_t neps = 0, n = 0, cap = 0;
	void **eps = rv_map_values(&r->eps, &neps);
	struct rv_asig *v = NULL;
	const struct rv_asig **claim = NULL;
	int err = 0, changed = 0, addr_changed = 0;

	if (neps && !eps)
		return -ENOMEM;
	for (size_t i = 0; i < neps; i++)
		cap += ((struct bw_rv_endpoint *)eps[i])->naddrs;
	if (cap && !(v = calloc(cap, sizeof(*v)))) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < neps; i++) {
		struct bw_rv_endpoint *ep = eps[i];

		for (size_t ai = 0; ep->identity && ai < ep->naddrs; ai++) {
			v[n].ep = ep;
			v[n].ai = ai;
			err = rv_asig_make(r, &v[n++]);
			if (err < 0)
				goto out;
		}
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), rv_asig_cmp);

	/* split identities: for identities whose addresses differ */
	claim = calloc(r->nsplits + n + 1, sizeof(*claim));
	if (!claim) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < r->nsplits; i++)
		r->splits[i].used = 0;
	for (size_t g = 0, j; g < n; g = j) {
		int mixed = 0;

		for (j = g + 1; j < n && v[j].ep->identity == v[g].ep->identity; j++)
			if (rv_sig_cmp(&v[j], &v[g]))
				mixed = 1;
		for (size_t k = g; mixed && k < j; k++)
			if (v[k].nsig)
				v[k].id = rv_split_get(r, &v[k], claim);
	}

	/* the addresses' identities, per endpoint */
	for (size_t i = 0; i < neps; i++) {
		struct bw_rv_endpoint *ep = eps[i];
		uint32_t *old = ep->addr_ids;

		ep->addr_ids = NULL;
		for (size_t k = 0; k < n; k++) {
			if (v[k].ep != ep || !v[k].id)
				continue;
			if (!ep->addr_ids && !(ep->addr_ids = calloc(ep->naddrs, sizeof(uint32_t)))) {
				ep->addr_ids = old;
				err = -ENOMEM;
				goto out;
			}
			ep->addr_ids[v[k].ai] = v[k].id;
		}
		for (size_t ai = 0; ai < ep->naddrs; ai++)
			if ((old ? old[ai] : 0) != (ep->addr_ids ? ep->addr_ids[ai] : 0))
				addr_changed = 1;
		free(old);
	}

	/* what each ipBlock selects among endpoints: split identities by
	 * signature, an identity when all its remaining addresses are inside */
	for (size_t k = 0; k < n; k++)
		for (size_t x = 0; v[k].id && x < v[k].nsig; x++)
			if (rv_bucket_add(&v[k].sig[x]->epnew, v[k].id) < 0)
				err = -ENOMEM;
	for (size_t g = 0, j; g < n; g = j) {
		const struct rv_asig *first = NULL;

		for (j = g; j < n && v[j].ep->identity == v[g].ep->identity; j++)
			if (!v[j].id && !first)
				first = &v[j];
		for (size_t x = 0; first && x < first->nsig; x++) {
			int all = 1;

			for (size_t k = g; k < j && all; k++)
				if (!v[k].id && &v[k] != first && !rv_sig_has(&v[k], first->sig[x]))
					all = 0;
			if (all && rv_bucket_add(&first->sig[x]->epnew, first->ep->identity) < 0)
				err = -ENOMEM;
		}
	}
	if (err < 0 || (err = rv_epids_apply(r, &changed)) < 0)
		goto out;

	/* the ipcache mappings to write after the sync */
	rv_map_foreach(&r->addrmap, rv_amap_unwant_cb, NULL);
	for (size_t k = 0; k < n; k++) {
		struct rv_amap *m;

		if (!v[k].id)
			continue;
		m = rv_amap_get(r, &v[k].ep->addrs[v[k].ai], 1);
		if (!m) {
			err = -ENOMEM;
			goto out;
		}
		m->want_ep = v[k].ep->ep_id;
		m->want_id = v[k].id;
	}
	if (changed || addr_changed)
		rv_propagate_changed(r, addr_changed);
	r->split_dirty = 0;
out:
	for (size_t k = 0; k < n; k++)
		free(v[k].sig);
	for (size_t i = 0; err < 0 && i < r->ipblock_sels.n; i++)
		((struct bw_rv_sel *)r->ipblock_sels.v[i])->epnew.n = 0;
	free(v);
	free(claim);
	free(eps);
	return err;
}

struct rv_apply {
	struct bw_resolver *r;
	struct rv_amap **done;
	size_t ndone, cap;
	int err;
};

static void rv_apply_cb(void *val, void *arg)
{
	struct rv_amap *m = val;
	struct rv_apply *c = arg;
	struct bw_rv_addr a;
	int err = 0;

	if (m->cur_id == m->want_id && m->cur_ep == m->want_ep) {
		if (!m->want_id && c->ndone < c->cap)
			c->done[c->ndone++] = m; /* nothing mapped: forget it */
		return;
	}
	memset(&a, 0, sizeof(a));
	a.family = m->k.family;
	memcpy(a.addr, m->k.addr, 16);
	if (c->r->ops.split_map)
		err = c->r->ops.split_map(c->r->ops.arg, m->want_ep, &a, m->want_id);
	if (err < 0) {
		if (!c->err)
			c->err = err;
		return;
	}
	m->cur_ep = m->want_ep;
	m->cur_id = m->want_id;
	if (!m->want_id && c->ndone < c->cap)
		c->done[c->ndone++] = m;
}

int rv_split_apply(struct bw_resolver *r)
{
	struct rv_apply c = { r, NULL, 0, r->addrmap.n, 0 };

	if (!r->addrmap.n)
		return 0;
	c.done = calloc(c.cap, sizeof(*c.done));
	if (!c.done)
		return -ENOMEM;
	rv_map_foreach(&r->addrmap, rv_apply_cb, &c);
	for (size_t i = 0; i < c.ndone; i++) {
		rv_map_del(&r->addrmap, &c.done[i]->k, sizeof(c.done[i]->k));
		free(c.done[i]);
	}
	free(c.done);
	if (c.err < 0)
		r->split_dirty = 1; /* try again on the next flush */
	return c.err;
}

struct rv_inuse {
	uint32_t id;
	int found;
};

static void rv_inuse_cb(void *val, void *arg)
{
	const struct rv_amap *m = val;
	struct rv_inuse *u = arg;

	if (m->cur_id == u->id)
		u->found = 1;
}

void rv_split_release_unused(struct bw_resolver *r)
{
	size_t i = 0;

	while (i < r->nsplits) {
		struct rv_inuse u = { r->splits[i].id, 0 };
		uint32_t id = r->splits[i].id;

		if (r->splits[i].used) {
			i++;
			continue;
		}
		rv_map_foreach(&r->addrmap, rv_inuse_cb, &u);
		if (u.found) { /* a mapping could not be taken back yet */
			i++;
			continue;
		}
		/* forget it first: the release comes back as an identity event */
		r->splits[i] = r->splits[--r->nsplits];
		if (r->ops.split_release)
			r->ops.split_release(r->ops.arg, id);
	}
}

static void rv_amap_free_cb(void *val, void *arg)
{
	free(val);
}

void rv_split_free(struct bw_resolver *r)
{
	rv_map_foreach(&r->addrmap, rv_amap_free_cb, NULL);
	rv_map_clear(&r->addrmap);
	free(r->splits);
	r->splits = NULL;
	r->nsplits = r->capsplits = 0;
}
