/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/resolver.c - the selector cache and per-endpoint policy entries.
 *
 * Inputs: identities (number + labels), local endpoints and the compiled
 * rules of every policy (bw_rv_policy_compile() in core/rulecompile.c).
 * Output: per endpoint, the BW_EP_F_* flags and the sorted set of policy
 * map entries, handed to ops.sync.
 *
 * Cost model. Each distinct selector (subject or peer, entities and CIDR
 * peers included) is evaluated once per identity, not once per rule or
 * endpoint: a new identity is tested against every cached selector, a new
 * selector against every identity, and label selectors with an exact
 * requirement only look at the identities carrying that label (index
 * "any:key=value" -> ids). An endpoint is recomputed only when a rule
 * selecting it references a selector whose identity set changed, when its
 * own identity, addresses or named ports change, or when policies change.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h" /* before bw_datapath.h: its BW_ENFORCE_* macros */
#include "bpf/bw_datapath.h"
#include "core/node/labels.h"
#include "core/policy/resolver.h"
#include "core/policy/resolver_int.h"
#include "core/node/selector.h"
#include "lib/prefix.h"

/* A CIDR identity of the node-local scope: the prefix indexes hold it. */
static int rv_ident_indexed(const struct rv_ident *in);

/* ---- identities ------------------------------------------------------------ */

static int rv_is_endpoint_id(const struct rv_ident *in)
{
	if (in->id >= 256 && in->id < BW_ID_LOCAL_SCOPE)
		return 1;
	return in->labels &&
	       bw_labelset_get(in->labels, "k8s", "io.cilium.k8s.policy.cluster") != NULL;
}

/* Parse the identity's longest cidr: label and its world labels. */
static void rv_ident_classify(struct rv_ident *in)
{
	size_t n = bw_labelset_count(in->labels);

	in->has_cidr = 0;
	in->world = 0;
	for (size_t i = 0; i < n; i++) {
		const struct bw_label *l = bw_labelset_at(in->labels, i);

		if (!strcmp(l->source, "reserved") &&
		    (!strcmp(l->key, "world") || !strcmp(l->key, "world-ipv4") ||
		     !strcmp(l->key, "world-ipv6"))) {
			in->world = 1;
		} else if (!strcmp(l->source, "cidr")) {
			struct bw_prefix p;

			if (bw_prefix_parse_label(l->key, &p) == 0 &&
			    (!in->has_cidr || p.plen > in->plen)) {
				in->has_cidr = 1;
				in->family = p.family;
				in->plen = p.plen;
				memcpy(in->addr, p.addr, 16);
			}
		}
	}
}

static char *rv_index_key(const struct bw_label *l, size_t *len)
{
	size_t kl = strlen(l->key), vl = strlen(l->value);
	char *k = malloc(4 + kl + 1 + vl + 1);

	if (!k)
		return NULL;
	memcpy(k, "any:", 4);
	memcpy(k + 4, l->key, kl);
	k[4 + kl] = '=';
	memcpy(k + 5 + kl, l->value, vl + 1);
	*len = 5 + kl + vl;
	return k;
}

static int rv_index_ident(struct bw_resolver *r, struct rv_ident *in, int add)
{
	size_t n = bw_labelset_count(in->labels);

	for (size_t i = 0; i < n; i++) {
		size_t klen;
		char *k = rv_index_key(bw_labelset_at(in->labels, i), &klen);
		struct rv_ids *b;

		if (!k)
			return -ENOMEM;
		b = rv_map_get(&r->index, k, klen);
		if (add) {
			if (!b) {
				b = calloc(1, sizeof(*b));
				if (!b || rv_map_put(&r->index, k, klen, b) < 0) {
					free(b);
					free(k);
					return -ENOMEM;
				}
			}
			if (rv_bucket_add(b, in->id) < 0) {
				free(k);
				return -ENOMEM;
			}
		} else if (b) {
			rv_bucket_del(b, in->id);
			if (!b->n) {
				rv_map_del(&r->index, k, klen);
				free(b->v);
				free(b);
			}
		}
		free(k);
	}
	return 0;
}

static int rv_ident_indexed(const struct rv_ident *in)
{
	return in->has_cidr && in->id >= BW_ID_LOCAL_SCOPE && !rv_is_endpoint_id(in);
}

/* Add a CIDR identity to (or take it out of) r->cidr_ids. */
static int rv_cidr_index_ident(struct bw_resolver *r, struct rv_ident *in, int add)
{
	if (!rv_ident_indexed(in))
		return 0;
	return rv_pfx_index(&r->cidr_ids, in->family, in->addr, in->plen, in, add);
}

/*
 * Add a selector to (or take it out of) r->cidr_sels / r->other_sels, and
 * an ipBlock one to r->ipblock_sels (the address pass runs again).
 */
static int rv_sel_index(struct bw_resolver *r, struct bw_rv_sel *s, int add)
{
	if (s->type == BW_RV_PEER_CIDR && s->match_endpoints) {
		r->split_dirty = 1;
		if (!add)
			rv_ptrlist_del(&r->ipblock_sels, s);
		else if (rv_ptrlist_add(&r->ipblock_sels, s) < 0)
			return -ENOMEM;
	}
	if (s->type == BW_RV_PEER_CIDR) {
		int err = rv_pfx_index(&r->cidr_sels, s->family, s->addr, s->plen, s, add);

		if (err < 0 && add && s->match_endpoints)
			rv_ptrlist_del(&r->ipblock_sels, s);
		return err;
	}
	if (add)
		return rv_ptrlist_add(&r->other_sels, s);
	rv_ptrlist_del(&r->other_sels, s);
	return 0;
}

static struct rv_ident *rv_ident_get(const struct bw_resolver *r, uint32_t id)
{
	return rv_map_get(&r->idents, &id, sizeof(id));
}

/* ---- endpoints ----------------------------------------------------------- */

static struct bw_rv_endpoint *rv_ep_get(const struct bw_resolver *r,
					uint32_t ep_id)
{
	return rv_map_get(&r->eps, &ep_id, sizeof(ep_id));
}

static void rv_ep_free(struct bw_rv_endpoint *ep)
{
	if (!ep)
		return;
	free(ep->ns);
	free(ep->pod);
	free(ep->addrs);
	free(ep->addr_ids);
	for (size_t i = 0; i < ep->nports; i++)
		free((char *)ep->ports[i].name);
	free(ep->ports);
	free(ep->vis);
	free(ep->e);
	free(ep->l7);
	for (int d = 0; d < 3; d++)
		free(ep->iso[d]);
	free(ep);
}

/* ---- selector membership --------------------------------------------------- */

static int rv_entity_match(int ent, const struct rv_ident *in)
{
	uint32_t id = in->id;

	switch (ent) {
	case RV_ENT_ALL:
		return 1;
	case RV_ENT_WORLD:
		return id == BW_ID_WORLD || id == BW_ID_WORLD_IPV4 ||
		       id == BW_ID_WORLD_IPV6 || (id >= BW_ID_LOCAL_SCOPE && in->world);
	case RV_ENT_WORLD4:
		return id == BW_ID_WORLD || id == BW_ID_WORLD_IPV4 ||
		       (id >= BW_ID_LOCAL_SCOPE && in->world &&
			(!in->has_cidr || in->family == 4));
	case RV_ENT_WORLD6:
		return id == BW_ID_WORLD || id == BW_ID_WORLD_IPV6 ||
		       (id >= BW_ID_LOCAL_SCOPE && in->world &&
			(!in->has_cidr || in->family == 6));
	case RV_ENT_CLUSTER:
		return id == BW_ID_HOST || id == BW_ID_UNMANAGED ||
		       id == BW_ID_HEALTH || id == BW_ID_INIT ||
		       id == BW_ID_REMOTE_NODE || id == BW_ID_KUBE_APISERVER ||
		       id == BW_ID_INGRESS || rv_is_endpoint_id(in);
	case RV_ENT_HOST:
		return id == BW_ID_HOST;
	case RV_ENT_REMOTE_NODE:
		return id == BW_ID_REMOTE_NODE || id == BW_ID_KUBE_APISERVER;
	case RV_ENT_KUBE_APISERVER:
		return id == BW_ID_KUBE_APISERVER;
	case RV_ENT_INGRESS:
		return id == BW_ID_INGRESS;
	case RV_ENT_INIT:
		return id == BW_ID_INIT;
	case RV_ENT_HEALTH:
		return id == BW_ID_HEALTH;
	case RV_ENT_UNMANAGED:
		return id == BW_ID_UNMANAGED;
	default:
		return 0;
	}
}

static int rv_in_excepts(const struct bw_rv_sel *s, int family,
			 const uint8_t *addr, int plen)
{
	for (size_t i = 0; i < s->nexcept; i++)
		if (rv_prefix_within(family, addr, plen, s->except[i].family,
				     s->except[i].addr, s->except[i].plen))
			return 1;
	return 0;
}

/* The CIDR part that does not depend on endpoints. */
static int rv_cidr_match_ident(const struct bw_rv_sel *s, const struct rv_ident *in)
{
	if (in->has_cidr && in->id >= BW_ID_LOCAL_SCOPE)
		return rv_prefix_within(in->family, in->addr, in->plen, s->family,
					s->addr, s->plen) &&
		       !rv_in_excepts(s, in->family, in->addr, in->plen);
	if (s->plen == 0) {
		if (in->id == BW_ID_WORLD)
			return 1;
		if (in->id == BW_ID_WORLD_IPV4)
			return s->family == 4;
		if (in->id == BW_ID_WORLD_IPV6)
			return s->family == 6;
		/* FQDN and other world-labelled local identities */
		if (in->id >= BW_ID_LOCAL_SCOPE && in->world && !in->has_cidr)
			return 1;
	}
	return 0;
}

/*
 * Does selector s select identity in? An ipBlock (match_endpoints) selects
 * endpoint and split identities by their addresses: the address pass
 * (resolver_split.c) keeps those in s->epids.
 */
static int rv_sel_match(struct bw_resolver *r, const struct bw_rv_sel *s,
			const struct rv_ident *in)
{
	switch (s->type) {
	case BW_RV_PEER_SEL:
		return bw_selector_matches(s->sel, in->labels);
	case BW_RV_PEER_ENTITY:
		return rv_entity_match(s->entity, in);
	case BW_RV_PEER_FQDN:
		return bw_labelset_get(in->labels, "fqdn", s->fqdn) != NULL;
	case BW_RV_PEER_CIDR:
		return rv_cidr_match_ident(s, in) ||
		       (s->match_endpoints && rv_ids_has(&s->epids, in->id));
	}
	return 0;
}

/* The smallest index bucket that every identity s selects must be in. */
static const struct rv_ids *rv_sel_candidates(struct bw_resolver *r,
					      const struct bw_rv_sel *s, int *all)
{
	const struct rv_ids *best = NULL;
	size_t n = bw_selector_count(s->sel);

	*all = 1;
	for (size_t i = 0; i < n; i++) {
		const char *src, *key;
		enum bw_selector_op op;
		const char *const *vals;
		size_t nvals, kl, vl;
		const struct rv_ids *b;
		char *k;

		if (bw_selector_req(s->sel, i, &src, &key, &op, &vals, &nvals) < 0 ||
		    op != BW_SEL_IN || nvals != 1)
			continue;
		kl = strlen(key);
		vl = strlen(vals[0]);
		k = malloc(kl + vl + 6);
		if (!k)
			continue;
		memcpy(k, "any:", 4);
		memcpy(k + 4, key, kl);
		k[4 + kl] = '=';
		memcpy(k + 5 + kl, vals[0], vl + 1);
		b = rv_map_get(&r->index, k, kl + vl + 5);
		free(k);
		*all = 0;
		if (!b) {
			static const struct rv_ids empty;

			return &empty;
		}
		if (!best || b->n < best->n)
			best = b;
	}
	return best;
}

struct rv_compute {
	struct bw_resolver *r;
	struct bw_rv_sel *s;
	int err;
};

static void rv_compute_ident_cb(void *val, void *arg)
{
	struct rv_compute *c = arg;
	struct rv_ident *in = val;

	if (c->s->type == BW_RV_PEER_CIDR) {
		if (rv_cidr_match_ident(c->s, in) && rv_bucket_add(&c->s->ids, in->id) < 0)
			c->err = -ENOMEM;
		return;
	}
	if (rv_sel_match(c->r, c->s, in) && rv_bucket_add(&c->s->ids, in->id) < 0)
		c->err = -ENOMEM;
}

/* Evaluate s against every identity. */
static int rv_sel_compute(struct bw_resolver *r, struct bw_rv_sel *s)
{
	struct rv_compute c = { r, s, 0 };

	s->ids.n = 0;
	if (s->type == BW_RV_PEER_FQDN) {
		/* only the identities carrying the label fqdn:<text> */
		size_t kl = strlen(s->fqdn);
		char *k = malloc(kl + 6);
		const struct rv_ids *b;

		if (!k)
			return -ENOMEM;
		memcpy(k, "any:", 4);
		memcpy(k + 4, s->fqdn, kl);
		k[4 + kl] = '=';
		k[5 + kl] = '\0';
		b = rv_map_get(&r->index, k, kl + 5);
		free(k);
		for (size_t i = 0; b && i < b->n; i++) {
			const struct rv_ident *in = rv_ident_get(r, b->v[i]);

			if (in && rv_sel_match(r, s, in) && rv_bucket_add(&s->ids, in->id) < 0)
				return -ENOMEM;
		}
		rv_ids_sort_uniq(&s->ids);
		return 0;
	}
	if (s->type == BW_RV_PEER_SEL) {
		int all;
		const struct rv_ids *cand = rv_sel_candidates(r, s, &all);

		if (!all) {
			for (size_t i = 0; cand && i < cand->n; i++) {
				const struct rv_ident *in = rv_ident_get(r, cand->v[i]);

				if (in && bw_selector_matches(s->sel, in->labels) &&
				    rv_bucket_add(&s->ids, in->id) < 0)
					return -ENOMEM;
			}
			rv_ids_sort_uniq(&s->ids);
			return 0;
		}
	}
	if (s->type == BW_RV_PEER_CIDR && s->plen == (s->family == 4 ? 32 : 128)) {
		/*
		 * A host prefix selects only the CIDR identities of that very
		 * prefix (and, with match_endpoints, endpoints: below).
		 */
		const struct rv_ptrlist *l = rv_pfx_list(&r->cidr_ids, s->family, s->addr, s->plen);

		for (size_t i = 0; l && i < l->n; i++) {
			const struct rv_ident *in = l->v[i];

			if (rv_cidr_match_ident(s, in) && rv_bucket_add(&s->ids, in->id) < 0)
				return -ENOMEM;
		}
	} else {
		rv_map_foreach(&r->idents, rv_compute_ident_cb, &c);
	}
	/* endpoints, by address: as the last address pass found them */
	for (size_t i = 0; s->type == BW_RV_PEER_CIDR && i < s->epids.n; i++)
		if (rv_bucket_add(&s->ids, s->epids.v[i]) < 0)
			return -ENOMEM;
	rv_ids_sort_uniq(&s->ids);
	return c.err;
}

/* Look up or create the cache entry for a peer/subject definition. */
static struct bw_rv_sel *rv_sel_intern(struct bw_resolver *r,
				       const struct bw_rv_peerdef *d)
{
	size_t klen = strlen(d->key);
	struct bw_rv_sel *s = rv_map_get(&r->sels, d->key, klen);

	if (s) {
		s->refs++;
		return s;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->key = strdup(d->key);
	s->type = d->type;
	s->entity = d->entity;
	if (d->type == BW_RV_PEER_SEL)
		s->sel = bw_selector_dup(d->sel);
	if (d->type == BW_RV_PEER_FQDN)
		s->fqdn = strdup(d->fqdn);
	if (d->type == BW_RV_PEER_CIDR) {
		s->family = d->family;
		memcpy(s->addr, d->addr, 16);
		s->plen = d->plen;
		s->match_endpoints = d->match_endpoints;
		if (d->nexcept) {
			s->except = calloc(d->nexcept, sizeof(*s->except));
			if (s->except) {
				memcpy(s->except, d->except, d->nexcept * sizeof(*s->except));
				s->nexcept = d->nexcept;
			}
		}
	}
	if (!s->key || (d->type == BW_RV_PEER_SEL && !s->sel) ||
	    (d->type == BW_RV_PEER_FQDN && !s->fqdn) ||
	    (d->nexcept && !s->except) || rv_sel_compute(r, s) < 0 ||
	    rv_map_put(&r->sels, s->key, klen, s) < 0)
		goto fail;
	if (rv_sel_index(r, s, 1) < 0) {
		rv_map_del(&r->sels, s->key, klen);
		goto fail;
	}
	s->refs = 1;
	if (s->type == BW_RV_PEER_FQDN && r->ops.fqdn_selector)
		r->ops.fqdn_selector(r->ops.arg, s->fqdn, 1);
	return s;
fail:
	bw_selector_free(s->sel);
	free(s->fqdn);
	free(s->except);
	free(s->ids.v);
	free(s->epids.v);
	free(s->epnew.v);
	free(s->key);
	free(s);
	return NULL;
}

static void rv_sel_unref(struct bw_resolver *r, struct bw_rv_sel *s)
{
	if (!s || --s->refs)
		return;
	rv_map_del(&r->sels, s->key, strlen(s->key));
	rv_sel_index(r, s, 0);
	if (s->type == BW_RV_PEER_FQDN && r->ops.fqdn_selector)
		r->ops.fqdn_selector(r->ops.arg, s->fqdn, 0);
	free(s->fqdn);
	bw_selector_free(s->sel);
	free(s->except);
	free(s->ids.v);
	free(s->epids.v);
	free(s->epnew.v);
	free(s->key);
	free(s);
}

/* ---- marking dirty endpoints --------------------------------------------- */

struct rv_mark {
	const struct rv_ids *ids; /* mark endpoints with an identity in ids */
	uint32_t id;              /* or this identity (when ids is NULL) */
};

static void rv_mark_cb(void *val, void *arg)
{
	struct bw_rv_endpoint *ep = val;
	struct rv_mark *m = arg;

	if (m->ids ? rv_ids_has(m->ids, ep->identity) : ep->identity == m->id)
		ep->dirty = 1;
}

static void rv_mark_ids(struct bw_resolver *r, const struct rv_ids *ids)
{
	struct rv_mark m = { ids, 0 };

	rv_map_foreach(&r->eps, rv_mark_cb, &m);
}

static void rv_mark_identity(struct bw_resolver *r, uint32_t id)
{
	struct rv_mark m = { NULL, id };

	rv_map_foreach(&r->eps, rv_mark_cb, &m);
}

static void rv_mark_policy(struct bw_resolver *r, const struct bw_rv_policy *p)
{
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i].subject)
			rv_mark_ids(r, &p->rules[i].subject->ids);
}

/* After selector sets changed (s->changed), mark what depends on them. */
static void rv_propagate(struct bw_resolver *r, int endpoints_changed)
{
	for (struct bw_rv_policy *p = r->policies; p; p = p->next)
		for (size_t i = 0; i < p->nrules; i++) {
			struct bw_rv_rule *ru = &p->rules[i];
			int hit = endpoints_changed && ru->egress_named;

			for (int d = 1; d <= 2 && !hit; d++)
				for (size_t j = 0; j < ru->nentries[d] && !hit; j++) {
					struct bw_rv_ruleentry *en = &ru->entries[d][j];

					for (size_t k = 0; k < en->npeers; k++)
						if (en->peers[k].cached &&
						    en->peers[k].cached->changed) {
							hit = 1;
							break;
						}
				}
			if (hit && ru->subject)
				rv_mark_ids(r, &ru->subject->ids);
		}
}

static void rv_clear_changed_cb(void *val, void *arg)
{
	((struct bw_rv_sel *)val)->changed = 0;
}

/* The address pass changed selector sets (s->changed): mark what depends. */
void rv_propagate_changed(struct bw_resolver *r, int endpoints_changed)
{
	rv_propagate(r, endpoints_changed);
	rv_map_foreach(&r->sels, rv_clear_changed_cb, NULL);
}

int rv_is_endpoint_identity(const struct bw_resolver *r, uint32_t id)
{
	const struct rv_ident *in = rv_ident_get(r, id);

	return in && rv_is_endpoint_id(in);
}

struct rv_reeval {
	struct bw_resolver *r;
	const struct rv_ident *in;
	uint32_t id;
	int removed;
	int err;
	size_t changed;
};

static void rv_reeval_cb(void *val, void *arg)
{
	struct rv_reeval *c = arg;
	struct bw_rv_sel *s = val;
	int want = !c->removed && rv_sel_match(c->r, s, c->in);
	int have = rv_ids_has(&s->ids, c->id);

	if (want == have)
		return;
	if (want) {
		if (rv_ids_add(&s->ids, c->id) < 0)
			c->err = -ENOMEM;
	} else {
		rv_ids_del(&s->ids, c->id);
	}
	s->changed = 1;
	c->changed++;
}

/*
 * Re-test one identity against the cached selectors, then propagate. @pfx
 * is the identity as it is (or, when removed, as it was): a CIDR identity
 * of the local scope can only be selected by the selectors that are not
 * CIDR ones and by the CIDR selectors whose prefix contains its own, which
 * the prefix indexes give without visiting every selector. @full visits
 * every selector (the identity's prefix changed).
 */
static int rv_reeval_identity(struct bw_resolver *r, uint32_t id, int removed,
			      int endpoints_changed, const struct rv_ident *pfx, int full)
{
	struct rv_reeval c = { r, rv_ident_get(r, id), id, removed, 0, 0 };

	if (!c.in)
		c.removed = 1;
	if (!full && pfx && rv_ident_indexed(pfx)) {
		int maxlen = pfx->family == 4 ? 32 : 128;

		for (size_t i = 0; i < r->other_sels.n; i++)
			rv_reeval_cb(r->other_sels.v[i], &c);
		for (int q = 0; q <= pfx->plen && q <= maxlen; q++) {
			const struct rv_ptrlist *l = rv_pfx_list(&r->cidr_sels, pfx->family,
								 pfx->addr, q);

			for (size_t i = 0; l && i < l->n; i++)
				rv_reeval_cb(l->v[i], &c);
		}
	} else {
		rv_map_foreach(&r->sels, rv_reeval_cb, &c);
	}
	if (c.changed || endpoints_changed) {
		rv_propagate(r, endpoints_changed);
		rv_map_foreach(&r->sels, rv_clear_changed_cb, NULL);
	}
	rv_mark_identity(r, id);
	return c.err;
}

/* ---- public: lifecycle, identities, endpoints ------------------------------ */

struct bw_resolver *bw_resolver_new(const struct bw_resolver_ops *ops)
{
	struct bw_resolver *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (ops)
		r->ops = *ops;
	rv_map_init(&r->idents);
	rv_map_init(&r->eps);
	rv_map_init(&r->sels);
	rv_map_init(&r->index);
	rv_map_init(&r->cidr_ids);
	rv_map_init(&r->cidr_sels);
	rv_map_init(&r->addrmap);
	r->enforcement = BW_ENFORCE_DEFAULT;
	return r;
}

static void rv_free_ident_cb(void *val, void *arg)
{
	struct rv_ident *in = val;

	bw_labelset_free(in->labels);
	free(in);
}

static void rv_free_ep_cb(void *val, void *arg)
{
	rv_ep_free(val);
}

static void rv_free_bucket_cb(void *val, void *arg)
{
	struct rv_ids *b = val;

	free(b->v);
	free(b);
}

static void rv_free_ptrlist_cb(void *val, void *arg)
{
	struct rv_ptrlist *l = val;

	free(l->v);
	free(l);
}

void bw_resolver_free(struct bw_resolver *r)
{
	if (!r)
		return;
	/* the datapath outlives the daemon: give nothing back on the way out */
	memset(&r->ops, 0, sizeof(r->ops));
	while (r->policies) {
		struct bw_rv_policy *p = r->policies;

		bw_resolver_policy_remove(r, p);
	}
	for (size_t i = 0; i < r->pending.n; i++)
		if (r->ops.cidr_release)
			r->ops.cidr_release(r->ops.arg, r->pending.v[i]);
	free(r->pending.v);
	rv_split_free(r);
	free(r->ipblock_sels.v);
	rv_map_foreach(&r->idents, rv_free_ident_cb, NULL);
	rv_map_foreach(&r->eps, rv_free_ep_cb, NULL);
	rv_map_foreach(&r->index, rv_free_bucket_cb, NULL);
	rv_map_foreach(&r->cidr_ids, rv_free_ptrlist_cb, NULL);
	rv_map_foreach(&r->cidr_sels, rv_free_ptrlist_cb, NULL);
	free(r->other_sels.v);
	rv_map_clear(&r->cidr_ids);
	rv_map_clear(&r->cidr_sels);
	rv_map_clear(&r->idents);
	rv_map_clear(&r->eps);
	rv_map_clear(&r->sels);
	rv_map_clear(&r->index);
	free(r);
}

void bw_resolver_set_mode(struct bw_resolver *r, int enforcement, int audit)
{
	r->enforcement = enforcement;
	r->audit = audit;
	bw_resolver_mark_all(r);
}

int bw_resolver_identity_add(struct bw_resolver *r, uint32_t id,
			     const struct bw_labelset *labels)
{
	struct rv_ident *in = rv_ident_get(r, id);
	struct bw_labelset *ls = labels ? bw_labelset_dup(labels) : bw_labelset_new();
	int relabel = 0;

	if (!ls)
		return -ENOMEM;
	if (in) {
		if (bw_labelset_equal(in->labels, ls)) {
			bw_labelset_free(ls);
			return 0;
		}
		rv_index_ident(r, in, 0);
		rv_cidr_index_ident(r, in, 0);
		bw_labelset_free(in->labels);
		in->labels = ls;
		relabel = 1;
	} else {
		in = calloc(1, sizeof(*in));
		if (!in) {
			bw_labelset_free(ls);
			return -ENOMEM;
		}
		in->id = id;
		in->labels = ls;
		if (rv_map_put(&r->idents, &in->id, sizeof(in->id), in) < 0) {
			bw_labelset_free(ls);
			free(in);
			return -ENOMEM;
		}
	}
	rv_ident_classify(in);
	if (rv_index_ident(r, in, 1) < 0 || rv_cidr_index_ident(r, in, 1) < 0)
		return -ENOMEM;
	return rv_reeval_identity(r, id, 0, 0, in, relabel);
}

void bw_resolver_identity_remove(struct bw_resolver *r, uint32_t id)
{
	struct rv_ident *in = rv_ident_get(r, id);

	if (!in)
		return;
	rv_index_ident(r, in, 0);
	rv_cidr_index_ident(r, in, 0);
	rv_map_del(&r->idents, &id, sizeof(id));
	rv_reeval_identity(r, id, 1, 0, in, 0);
	bw_labelset_free(in->labels);
	free(in);
}

int bw_resolver_identity_known(struct bw_resolver *r, uint32_t id)
{
	return rv_ident_get(r, id) != NULL;
}

const struct bw_labelset *bw_resolver_identity_labels(struct bw_resolver *r,
						      uint32_t id)
{
	const struct rv_ident *in = rv_ident_get(r, id);

	return in ? in->labels : NULL;
}

int bw_resolver_endpoint_set(struct bw_resolver *r,
			     const struct bw_rv_endpoint_desc *d)
{
	struct bw_rv_endpoint *old = rv_ep_get(r, d->ep_id);
	struct bw_rv_endpoint *ep = calloc(1, sizeof(*ep));
	uint32_t old_id = old ? old->identity : 0;
	int err;

	if (!ep)
		return -ENOMEM;
	ep->ep_id = d->ep_id;
	ep->ifindex = d->ifindex;
	ep->identity = d->identity;
	ep->audit = d->audit;
	ep->ns = strdup(d->ns ? d->ns : "");
	ep->pod = strdup(d->pod ? d->pod : "");
	if (!ep->ns || !ep->pod)
		goto nomem;
	if (d->naddrs) {
		ep->addrs = calloc(d->naddrs, sizeof(*ep->addrs));
		if (!ep->addrs)
			goto nomem;
		memcpy(ep->addrs, d->addrs, d->naddrs * sizeof(*ep->addrs));
		ep->naddrs = d->naddrs;
	}
	if (d->nports) {
		ep->ports = calloc(d->nports, sizeof(*ep->ports));
		if (!ep->ports)
			goto nomem;
		for (size_t i = 0; i < d->nports; i++) {
			ep->ports[i] = d->ports[i];
			ep->ports[i].name = strdup(d->ports[i].name ? d->ports[i].name : "");
			ep->nports = i + 1;
			if (!ep->ports[i].name)
				goto nomem;
		}
	}
	if (d->nvis) {
		ep->vis = calloc(d->nvis, sizeof(*ep->vis));
		if (!ep->vis)
			goto nomem;
		memcpy(ep->vis, d->vis, d->nvis * sizeof(*ep->vis));
		ep->nvis = d->nvis;
	}
	if (old) {
		/* keep the resolved state: the next sync compares with it */
		ep->synced = old->synced;
		ep->flags = old->flags;
		ep->e = old->e;
		ep->n = old->n;
		old->e = NULL;
		ep->l7 = old->l7;
		ep->nl7 = old->nl7;
		old->l7 = NULL;
		for (int dd = 0; dd < 3; dd++) {
			ep->iso[dd] = old->iso[dd];
			ep->niso[dd] = old->niso[dd];
			old->iso[dd] = NULL;
		}
	}
	if (rv_map_put(&r->eps, &ep->ep_id, sizeof(ep->ep_id), ep) < 0)
		goto nomem;
	rv_ep_free(old);
	ep->dirty = 1;
	r->split_dirty = 1; /* ipBlock peers match addresses: the address pass */
	/* named ports of peers */
	err = rv_reeval_identity(r, ep->identity, 0, 1, NULL, 1);
	if (old_id && old_id != ep->identity)
		rv_reeval_identity(r, old_id, !rv_ident_get(r, old_id), 1, NULL, 1);
	return err;
nomem:
	ep->e = NULL;
	ep->l7 = NULL;
	rv_ep_free(ep);
	return -ENOMEM;
}

void bw_resolver_endpoint_remove(struct bw_resolver *r, uint32_t ep_id)
{
	struct bw_rv_endpoint *ep = rv_map_del(&r->eps, &ep_id, sizeof(ep_id));
	uint32_t id;

	if (!ep)
		return;
	id = ep->identity;
	rv_ep_free(ep);
	r->split_dirty = 1;
	rv_reeval_identity(r, id, !rv_ident_get(r, id), 1, NULL, 1);
}

/* ---- policies -------------------------------------------------------------- */

static void rv_policy_uncommit(struct bw_resolver *r, struct bw_rv_policy *p)
{
	for (size_t i = 0; i < p->nrules; i++) {
		struct bw_rv_rule *ru = &p->rules[i];

		rv_sel_unref(r, ru->subject);
		ru->subject = NULL;
		for (int d = 1; d <= 2; d++)
			for (size_t j = 0; j < ru->nentries[d]; j++)
				for (size_t k = 0; k < ru->entries[d][j].npeers; k++) {
					struct bw_rv_peerdef *pd = &ru->entries[d][j].peers[k];

					rv_sel_unref(r, pd->cached);
					pd->cached = NULL;
				}
	}
}

static void rv_policy_release_cidrs(struct bw_resolver *r,
				    struct bw_rv_policy *p, int now)
{
	for (size_t i = 0; i < p->ncidr_ids; i++) {
		if (!r->ops.cidr_release)
			continue;
		if (now || rv_bucket_add(&r->pending, p->cidr_ids[i]) < 0)
			r->ops.cidr_release(r->ops.arg, p->cidr_ids[i]);
	}
	free(p->cidr_ids);
	p->cidr_ids = NULL;
	p->ncidr_ids = 0;
}

static int rv_policy_acquire_cidrs(struct bw_resolver *r, struct bw_rv_policy *p)
{
	size_t cap = 0;

	if (!r->ops.cidr_acquire)
		return 0;
	for (size_t i = 0; i < p->nrules; i++) {
		struct bw_rv_rule *ru = &p->rules[i];

		for (int d = 1; d <= 2; d++)
			for (size_t j = 0; j < ru->nentries[d]; j++)
				for (size_t k = 0; k < ru->entries[d][j].npeers; k++) {
					struct bw_rv_peerdef *pd = &ru->entries[d][j].peers[k];

					if (pd->type != BW_RV_PEER_CIDR)
						continue;
					for (size_t x = 0; x <= pd->nexcept; x++) {
						int fam = x ? pd->except[x - 1].family : pd->family;
						const uint8_t *a = x ? pd->except[x - 1].addr : pd->addr;
						int plen = x ? pd->except[x - 1].plen : pd->plen;
						uint32_t id;
						int err;

						/* a zero-length prefix is reserved:world */
						if (!plen)
							continue;
						if (p->ncidr_ids == cap) {
							uint32_t *v;

							cap = cap ? cap * 2 : 8;
							v = realloc(p->cidr_ids, cap * sizeof(*v));
							if (!v) {
								rv_policy_release_cidrs(r, p, 1);
								return -ENOMEM;
							}
							p->cidr_ids = v;
						}
						err = r->ops.cidr_acquire(r->ops.arg, fam, a, plen, &id);
						if (err < 0) {
							rv_policy_release_cidrs(r, p, 1);
							return err;
						}
						p->cidr_ids[p->ncidr_ids++] = id;
					}
				}
	}
	return 0;
}

int bw_resolver_policy_add(struct bw_resolver *r, struct bw_rv_policy *p)
{
	int err = rv_policy_acquire_cidrs(r, p);

	if (err < 0)
		return err;
	for (size_t i = 0; i < p->nrules; i++) {
		struct bw_rv_rule *ru = &p->rules[i];
		struct bw_rv_peerdef subj = { .type = BW_RV_PEER_SEL,
					      .key = ru->subject_key,
					      .sel = ru->subject_sel };

		ru->subject = rv_sel_intern(r, &subj);
		if (!ru->subject)
			goto nomem;
		for (int d = 1; d <= 2; d++)
			for (size_t j = 0; j < ru->nentries[d]; j++)
				for (size_t k = 0; k < ru->entries[d][j].npeers; k++) {
					struct bw_rv_peerdef *pd = &ru->entries[d][j].peers[k];

					pd->cached = rv_sel_intern(r, pd);
					if (!pd->cached)
						goto nomem;
				}
	}
	p->committed = 1;
	p->prev = NULL;
	p->next = r->policies;
	if (r->policies)
		r->policies->prev = p;
	r->policies = p;
	r->npolicies++;
	rv_mark_policy(r, p);
	return 0;
nomem:
	rv_policy_uncommit(r, p);
	rv_policy_release_cidrs(r, p, 1);
	return -ENOMEM;
}

void bw_resolver_policy_remove(struct bw_resolver *r, struct bw_rv_policy *p)
{
	if (!p)
		return;
	if (p->committed) {
		rv_mark_policy(r, p);
		if (p->prev)
			p->prev->next = p->next;
		else
			r->policies = p->next;
		if (p->next)
			p->next->prev = p->prev;
		r->npolicies--;
		rv_policy_uncommit(r, p);
		rv_policy_release_cidrs(r, p, 0);
		p->committed = 0;
	}
	bw_rv_policy_free(p);
}

static void rv_mark_all_cb(void *val, void *arg)
{
	((struct bw_rv_endpoint *)val)->dirty = 1;
}

void bw_resolver_mark_all(struct bw_resolver *r)
{
	rv_map_foreach(&r->eps, rv_mark_all_cb, NULL);
}

struct rv_count {
	const struct bw_rv_policy *p;
	unsigned n;
};

static void rv_count_cb(void *val, void *arg)
{
	struct bw_rv_endpoint *ep = val;
	struct rv_count *c = arg;

	for (size_t i = 0; i < c->p->nrules; i++)
		if (bw_rv_rule_selects(&c->p->rules[i], ep->identity, ep->ns, ep->pod)) {
			c->n++;
			return;
		}
}

unsigned bw_resolver_policy_selected(struct bw_resolver *r,
				     const struct bw_rv_policy *p)
{
	struct rv_count c = { p, 0 };

	rv_map_foreach(&r->eps, rv_count_cb, &c);
	return c.n;
}

/* ---- flush ------------------------------------------------------------------- */

/* Recompute and sync every marked endpoint; the first error. */
static int rv_sync_marked(struct bw_resolver *r, int *regen)
{
	size_t n;
	void **eps = rv_map_values(&r->eps, &n);
	int ret = 0;

	if (n && !eps)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct bw_rv_endpoint *ep = eps[i];
		int err;

		if (!ep->dirty)
			continue;
		*regen = 1;
		err = rv_resolve_and_sync(r, ep);
		if (err < 0 && !ret)
			ret = err;
	}
	free(eps);
	return ret;
}

static void rv_any_dirty_cb(void *val, void *arg)
{
	if (((struct bw_rv_endpoint *)val)->dirty)
		*(int *)arg = 1;
}

/*
 * One flush: the address pass when endpoints or ipBlock peers changed
 * (split identities acquired), the marked endpoints synced, then the
 * ipcache pointed at the split identities, then what is no longer used
 * released (split identities, CIDR identities of removed policies). The
 * releases come back through the identity watcher and mark endpoints
 * again, which the next round syncs.
 */
int bw_resolver_flush(struct bw_resolver *r)
{
	int ret = 0, regen = 0;
	struct timespec t0, t1;

	/*
	 * A flush from inside one (an identity event: a release, or an FQDN
	 * identity its caller maps in the ipcache right after) writes the
	 * marked entries now, as callers expect of a flush; the address pass
	 * stays the outer flush's.
	 */
	if (r->flushing)
		return rv_sync_marked(r, &regen);
	r->flushing = 1;
	r->flushes++;
	if (r->split_retry) {
		r->split_dirty = 1;
		r->split_retry = 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int round = 0; round < 8; round++) {
		int dirty = 0;

		if (r->split_dirty) {
			ret = rv_split_update(r);
			if (ret < 0)
				break;
		}
		ret = rv_sync_marked(r, &regen);
		if (ret < 0)
			break;
		ret = rv_split_apply(r);
		if (ret < 0)
			break;
		rv_split_release_unused(r);
		if (r->pending.n) {
			/*
			 * Releasing an identity comes back through the identity
			 * event: take the list first.
			 */
			uint32_t *pend = r->pending.v;
			size_t np = r->pending.n;

			memset(&r->pending, 0, sizeof(r->pending));
			for (size_t i = 0; i < np; i++)
				if (r->ops.cidr_release)
					r->ops.cidr_release(r->ops.arg, pend[i]);
			free(pend);
		}
		rv_map_foreach(&r->eps, rv_any_dirty_cb, &dirty);
		if (!dirty && !r->split_dirty)
			break;
	}
	if (regen) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		r->regenerations++;
		r->regen_ns += (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u +
			       (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
	}
	r->flushing = 0;
	return ret;
}

/* ---- queries ------------------------------------------------------------------ */

int bw_resolver_endpoint_state(struct bw_resolver *r, uint32_t ep_id,
			       uint32_t *flags, const struct bw_rv_entry **e,
			       size_t *n)
{
	const struct bw_rv_endpoint *ep = rv_ep_get(r, ep_id);

	if (!ep)
		return -ENOENT;
	if (flags)
		*flags = ep->flags;
	if (e)
		*e = ep->e;
	if (n)
		*n = ep->n;
	return 0;
}

int bw_resolver_endpoint_l7(struct bw_resolver *r, uint32_t ep_id,
			    const struct bw_rv_l7 **l7, size_t *n)
{
	const struct bw_rv_endpoint *ep = rv_ep_get(r, ep_id);

	if (!ep)
		return -ENOENT;
	*l7 = ep->l7;
	*n = ep->nl7;
	return 0;
}

size_t bw_resolver_isolating(struct bw_resolver *r, uint32_t ep_id, int dir,
			     void **owners, size_t max)
{
	const struct bw_rv_endpoint *ep = rv_ep_get(r, ep_id);

	if (!ep || dir < 1 || dir > 2)
		return 0;
	for (size_t i = 0; i < ep->niso[dir] && i < max; i++)
		owners[i] = ep->iso[dir][i];
	return ep->niso[dir];
}

static void rv_stats_cb(void *val, void *arg)
{
	((struct bw_resolver_stats *)arg)->entries +=
		((struct bw_rv_endpoint *)val)->n;
}

uint32_t bw_resolver_split_base(struct bw_resolver *r, uint32_t id)
{
	const struct rv_split *sp = rv_split_find(r, id);

	return sp ? sp->base : 0;
}

void bw_resolver_stats(struct bw_resolver *r, struct bw_resolver_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->identities = r->idents.n;
	st->splits = r->nsplits;
	st->endpoints = r->eps.n;
	st->policies = r->npolicies;
	st->selectors = r->sels.n;
	st->flushes = r->flushes;
	st->syncs = r->syncs;
	st->regenerations = r->regenerations;
	st->regen_ns = r->regen_ns;
	rv_map_foreach(&r->eps, rv_stats_cb, st);
}
