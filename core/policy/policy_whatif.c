/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/policy_whatif.c - what-if: a candidate policy set resolved
 * apart from the datapath, and recorded connections replayed against it
 * (core/policy/whatif.h has the model).
 *
 * Each set is a resolver instance of its own (the same code that resolves
 * what the kernel enforces), fed copies of the live resolver's identities
 * and endpoints and compiled copies of the policies; its sync callback
 * keeps each endpoint's entries expanded as the datapath would hold them.
 * CIDR peers get identities private to their set (the same labels the
 * identity layer gives a CIDR identity: cidr:<prefix>, reserved:world),
 * never the identity layer's (nothing reaches the ipcache); an address
 * outside the cluster is then looked up the way the datapath's ipcache
 * does it, in that set: the identity of the longest of the set's prefixes
 * holding it, else world (2). So each set sees the addresses exactly as the
 * datapath would if that set were enforced, and resolves no more
 * identities than the kernel would.
 *
 * toFQDNs (core/node/fqdn.h): each set keeps the FQDN selectors its
 * policies use (the resolver's fqdn_selector op, never the node's table).
 * An address the DNS proxy learned names for (bw_fqdn_names: the node's
 * FQDN cache now) that one of the set's selectors matches gets, in that
 * set, the identity of its label set as core/node/fqdn.c builds it:
 * fqdn:<selector> for each selector matching one of its names,
 * reserved:world, and the cidr: label of the longest of the set's
 * prefixes holding it; its /32 entry wins over any prefix in the datapath,
 * so it wins here too. Otherwise the address is looked up by prefix.
 *
 * Rule references are the what-if's own (an index into its table), so
 * that a verdict names the policy, rule and entry of either set, candidate
 * policies included.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bulwark/flow.h"
#include "core/config.h" /* before bw_datapath.h: its BW_ENFORCE_* macros */
#include "core/datapath/datapath.h"
#include "core/datapath/redirect.h"
#include "core/log.h"
#include "core/node/endpoint.h"
#include "core/node/identity.h"
#include "core/node/labels.h"
#include "core/policy/policy.h"
#include "core/policy/policy_int.h"
#include "core/policy/resolver.h"
#include "core/policy/resolver_int.h"
#include "core/policy/whatif.h"
#include "core/node/fqdn.h"
#include "lib/flowpeer.h"
#include "lib/fqdnmatch.h"
#include "lib/prefix.h"

/* Identities of outside addresses: above every range the identity layer uses. */
#define WI_SYNTH_FIRST 0x03000000u

struct wi_pol {
	char *kind, *ns, *name;
	char *text; /* "Kind NS/NAME" */
};

struct wi_ref {
	const struct wi_pol *pol;
	int rule, entry, deny;
};

struct wi_ep {
	uint32_t flags;
	struct bw_policy_kv *kv;
	size_t n;
	int sorted; /* kv sorted for bw_datapath_policy_lookup_sorted() */
};

/* A CIDR identity of a set: a prefix of one of its CIDR peers. */
struct wi_pfx {
	int family;
	uint8_t addr[16];
	int plen;
	uint32_t id;
};

/* An FQDN selector a set's policies use (canonical text). */
struct wi_fsel {
	char *text;
	struct bw_fqdn_matcher *m;
	unsigned refs;
};

struct wi_set {
	struct bw_whatif *w;
	struct bw_resolver *rv;
	struct rv_map eps; /* u32 ep_id -> struct wi_ep */
	size_t npolicies;
	struct wi_pfx *pfx; /* its CIDR identities */
	size_t npfx, cappfx;
	struct wi_fsel *fsel; /* its FQDN selectors, sorted by text */
	size_t nfsel, capfsel;
	struct rv_map fgroups; /* label set text -> identity (uintptr_t) */
	int err;
};

struct wi_peer {
	struct rv_ids ids[2]; /* the peer's identities in the current set, the candidate */
	const char *why;      /* interned; NULL when ids were found */
};

/*
 * The names of a replay come again and again (a caller usually passes the
 * same string for the same name): a direct-mapped cache keyed by the
 * string's address, checked against a copy of the name, saves the key's
 * formatting and hashing.
 */
#define WI_CACHE 4096

struct wi_cache {
	const char *ptr;  /* the caller's string */
	const char *name; /* interned copy */
	int kind;
	void *val;
};

struct bw_whatif {
	struct wi_cache peer_cache[WI_CACHE], ep_cache[WI_CACHE];
	struct wi_set cur, cand_own;
	struct wi_set *cand;   /* &cand_own, or &cur when the candidate is the current set */
	struct wi_pol **pols;
	size_t npols, cappols;
	struct wi_ref *refs;
	size_t nrefs, caprefs;
	struct rv_map wl_eps;  /* "NS/W" -> struct rv_ids of endpoint ids */
	struct rv_map wl_ids;  /* "NS/W" -> struct rv_ids of identities */
	struct rv_map peers;   /* "kind\tname" -> struct wi_peer */
	struct rv_map strs;    /* interned strings (key = value) */
	uint32_t next_synth;
	size_t neps;
	int dirty;             /* identities added since the last flush */
};

/* ---- small helpers ---------------------------------------------------------------- */

static const char *
wi_intern(struct bw_whatif *w, const char *s)
{
	size_t n = strlen(s);
	char *v = rv_map_get(&w->strs, s, n);

	if (v != NULL)
		return v;
	if ((v = strdup(s)) == NULL)
		return "";
	if (rv_map_put(&w->strs, v, n, v) < 0) {
		free(v);
		return "";
	}
	return v;
}

static void
wi_free_str(void *val, void *arg)
{
	free(val);
}

static void
wi_free_ids(void *val, void *arg)
{
	struct rv_ids *ids = val;

	free(ids->v);
	free(ids);
}

static void
wi_free_peer(void *val, void *arg)
{
	struct wi_peer *p = val;

	free(p->ids[0].v);
	free(p->ids[1].v);
	free(p);
}

static void
wi_free_ep(void *val, void *arg)
{
	struct wi_ep *e = val;

	free(e->kv);
	free(e);
}

/* Add id to the set named key in m (created on first use). */
static int
wi_map_ids_add(struct rv_map *m, const char *key, uint32_t id)
{
	size_t kl = strlen(key);
	struct rv_ids *ids = rv_map_get(m, key, kl);

	if (ids == NULL) {
		if ((ids = calloc(1, sizeof(*ids))) == NULL)
			return -ENOMEM;
		if (rv_map_put(m, key, kl, ids) < 0) {
			free(ids);
			return -ENOMEM;
		}
	}
	return rv_ids_add(ids, id);
}

/* ---- policies and rule references -------------------------------------------------- */

static struct wi_pol *
wi_pol_new(struct bw_whatif *w, const char *kind, const char *ns, const char *name)
{
	struct wi_pol *p = calloc(1, sizeof(*p));
	char buf[1024];

	if (p == NULL)
		return NULL;
	if (w->npols == w->cappols) {
		size_t nc = w->cappols ? w->cappols * 2 : 16;
		struct wi_pol **v = realloc(w->pols, nc * sizeof(*v));

		if (v == NULL) {
			free(p);
			return NULL;
		}
		w->pols = v;
		w->cappols = nc;
	}
	snprintf(buf, sizeof(buf), "%s %s%s%s", kind, ns, *ns ? "/" : "", name);
	p->kind = strdup(kind);
	p->ns = strdup(ns);
	p->name = strdup(name);
	p->text = strdup(buf);
	w->pols[w->npols++] = p;
	if (!p->kind || !p->ns || !p->name || !p->text)
		return NULL;
	return p;
}

/* Give every entry of rv a reference into the what-if's table. */
static int
wi_assign_refs(struct bw_whatif *w, struct bw_rv_policy *rv, const struct wi_pol *pol)
{
	for (size_t i = 0; i < rv->nrules; i++)
		for (int d = 1; d <= 2; d++)
			for (size_t j = 0; j < rv->rules[i].nentries[d]; j++) {
				if (w->nrefs == w->caprefs) {
					size_t nc = w->caprefs ? w->caprefs * 2 : 64;
					struct wi_ref *v = realloc(w->refs, nc * sizeof(*v));

					if (v == NULL)
						return -ENOMEM;
					w->refs = v;
					w->caprefs = nc;
				}
				w->refs[w->nrefs] = (struct wi_ref){
					pol, (int)i, (int)j, rv->rules[i].entries[d][j].deny,
				};
				rv->rules[i].entries[d][j].rule_ref = (uint32_t)++w->nrefs;
			}
	rv->owner = (void *)pol;
	return 0;
}

/* Compile a copy of a canonical policy and add it to set s. */
static int
wi_add_doc(struct bw_whatif *w, struct wi_set *s, const json_t *doc, const char *kind,
	   const char *ns, const char *name, struct bw_rv_policy *compiled)
{
	char err[512];
	struct bw_rv_policy *rv = compiled;
	struct wi_pol *pol = wi_pol_new(w, kind, ns, name);
	int rc;

	if (pol == NULL) {
		bw_rv_policy_free(compiled);
		return -ENOMEM;
	}
	if (rv == NULL &&
	    (rv = bw_rv_policy_compile(json_object_get(doc, "rules"), err, sizeof(err))) == NULL) {
		bw_err("policy: what-if: cannot compile a copy of %s: %s", pol->text, err);
		return -EINVAL;
	}
	if ((rc = wi_assign_refs(w, rv, pol)) < 0 || (rc = bw_resolver_policy_add(s->rv, rv)) < 0) {
		bw_rv_policy_free(rv);
		return rc;
	}
	s->npolicies++;
	return 0;
}

/* ---- the two resolvers ---------------------------------------------------------- */

static int
wi_sync(void *arg, const struct bw_rv_endpoint_desc *ep, uint32_t flags,
	const struct bw_rv_entry *e, size_t n, int stricter, int first)
{
	struct wi_set *s = arg;
	struct bw_policy_entry_spec *specs = bw_pol_entry_specs(e, n);
	struct bw_policy_kv *kv = NULL;
	struct wi_ep *we;
	size_t nkv = 0;
	int rc;

	if (specs == NULL)
		return -ENOMEM;
	rc = bw_datapath_policy_expand(ep->ep_id, specs, n, &kv, &nkv);
	free(specs);
	if (rc < 0) {
		s->err = rc;
		return rc;
	}
	we = rv_map_get(&s->eps, &ep->ep_id, sizeof(ep->ep_id));
	if (we == NULL) {
		if ((we = calloc(1, sizeof(*we))) == NULL ||
		    rv_map_put(&s->eps, &ep->ep_id, sizeof(ep->ep_id), we) < 0) {
			free(we);
			free(kv);
			return -ENOMEM;
		}
	}
	free(we->kv);
	we->kv = kv;
	we->n = nkv;
	we->flags = flags;
	we->sorted = bw_datapath_policy_sort(kv, nkv) == 0;
	return 0;
}

/*
 * The resolver's CIDR identity of a prefix (a CIDR peer or an except of
 * one): private to the set, labelled as the identity layer labels it.
 */
static int
wi_cidr_acquire(void *arg, int family, const uint8_t *addr, int plen, uint32_t *id)
{
	struct wi_set *s = arg;
	struct bw_prefix p = { 0 };
	struct bw_labelset *ls;
	char text[INET6_ADDRSTRLEN + 8], key[96];
	int rc;

	for (size_t i = 0; i < s->npfx; i++)
		if (s->pfx[i].family == family && s->pfx[i].plen == plen &&
		    !memcmp(s->pfx[i].addr, addr, 16)) {
			*id = s->pfx[i].id;
			return 0;
		}
	if (s->npfx == s->cappfx) {
		size_t nc = s->cappfx ? s->cappfx * 2 : 16;
		struct wi_pfx *v = realloc(s->pfx, nc * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		s->pfx = v;
		s->cappfx = nc;
	}
	p.family = family;
	memcpy(p.addr, addr, 16);
	p.plen = plen;
	bw_prefix_format(&p, 1, text, sizeof(text));
	if ((rc = bw_identity_cidr_label(text, key, sizeof(key))) < 0)
		return rc;
	if ((ls = bw_labelset_new()) == NULL)
		return -ENOMEM;
	*id = s->w->next_synth++;
	rc = bw_labelset_add(ls, BW_LABEL_SOURCE_CIDR, key, "");
	if (rc == 0)
		rc = bw_labelset_add(ls, BW_LABEL_SOURCE_RESERVED, "world", "");
	if (rc == 0)
		rc = bw_resolver_identity_add(s->rv, *id, ls);
	bw_labelset_free(ls);
	if (rc < 0)
		return rc;
	s->pfx[s->npfx++] = (struct wi_pfx){ family, { 0 }, plen, *id };
	memcpy(s->pfx[s->npfx - 1].addr, addr, 16);
	return 0;
}

/* The identity the set's "ipcache" gives an address: longest prefix, else world. */
static uint32_t
wi_address_identity(const struct wi_set *s, const struct bw_prefix *a)
{
	uint32_t id = BW_ID_WORLD;
	int best = -1;

	for (size_t i = 0; i < s->npfx; i++) {
		const struct wi_pfx *p = &s->pfx[i];

		if (p->plen > best && p->plen <= a->plen &&
		    rv_prefix_within(a->family, a->addr, a->plen, p->family, p->addr, p->plen)) {
			best = p->plen;
			id = p->id;
		}
	}
	return id;
}

/* The resolver's fqdn_selector op: the set's own list, never the node's. */
static void
wi_fqdn_selector(void *arg, const char *text, int add)
{
	struct wi_set *s = arg;
	size_t i = 0;

	while (i < s->nfsel && strcmp(s->fsel[i].text, text) < 0)
		i++;
	if (i < s->nfsel && !strcmp(s->fsel[i].text, text)) {
		if (add) {
			s->fsel[i].refs++;
		} else if (--s->fsel[i].refs == 0) {
			free(s->fsel[i].text);
			bw_fqdn_matcher_free(s->fsel[i].m);
			memmove(&s->fsel[i], &s->fsel[i + 1], (s->nfsel - i - 1) * sizeof(*s->fsel));
			s->nfsel--;
		}
		return;
	}
	if (!add)
		return;
	if (s->nfsel == s->capfsel) {
		size_t nc = s->capfsel ? s->capfsel * 2 : 8;
		struct wi_fsel *v = realloc(s->fsel, nc * sizeof(*v));

		if (v == NULL) {
			s->err = -ENOMEM;
			return;
		}
		s->fsel = v;
		s->capfsel = nc;
	}
	memmove(&s->fsel[i + 1], &s->fsel[i], (s->nfsel - i) * sizeof(*s->fsel));
	s->fsel[i] = (struct wi_fsel){ strdup(text), bw_fqdn_matcher_from_canonical(text), 1 };
	s->nfsel++;
	if (s->fsel[i].text == NULL || s->fsel[i].m == NULL)
		s->err = -ENOMEM;
}

/*
 * The identity an address with names (shown form, as flows carry them) has
 * in set s: the FQDN identity of its label set when a selector of the set
 * matches one of the names, else its prefix's (wi_address_identity).
 */
static int
wi_named_address_identity(struct wi_set *s, const struct bw_prefix *a,
			  const char *const *names, size_t nnames, uint32_t *id)
{
	struct bw_labelset *ls = NULL;
	char norm[BW_FQDN_NAME_MAX + 2], pfx[INET6_ADDRSTRLEN + 8], key[96];
	char *text = NULL;
	const struct wi_pfx *best = NULL;
	uintptr_t v;
	int rc = 0;

	for (size_t i = 0; i < s->nfsel && rc == 0; i++)
		for (size_t k = 0; k < nnames; k++) {
			if (s->fsel[i].m == NULL ||
			    bw_fqdn_name_normalize(names[k], norm, sizeof(norm)) < 0 ||
			    !bw_fqdn_matcher_match(s->fsel[i].m, norm))
				continue;
			if (ls == NULL && (ls = bw_labelset_new()) == NULL)
				return -ENOMEM;
			rc = bw_labelset_add(ls, BW_LABEL_SOURCE_FQDN, s->fsel[i].text, "");
			break;
		}
	if (ls == NULL) {
		*id = wi_address_identity(s, a);
		return 0;
	}
	if (rc == 0)
		rc = bw_labelset_add(ls, BW_LABEL_SOURCE_RESERVED, "world", "");
	for (size_t i = 0; i < s->npfx; i++) {
		const struct wi_pfx *p = &s->pfx[i];

		if ((best == NULL || p->plen > best->plen) && p->plen <= a->plen &&
		    rv_prefix_within(a->family, a->addr, a->plen, p->family, p->addr, p->plen))
			best = p;
	}
	if (rc == 0 && best != NULL) {
		struct bw_prefix bp = { 0 };

		bp.family = best->family;
		memcpy(bp.addr, best->addr, 16);
		bp.plen = best->plen;
		bw_prefix_format(&bp, 1, pfx, sizeof(pfx));
		if (bw_identity_cidr_label(pfx, key, sizeof(key)) == 0)
			rc = bw_labelset_add(ls, BW_LABEL_SOURCE_CIDR, key, "");
	}
	if (rc == 0 && (text = bw_labelset_text(ls)) == NULL)
		rc = -ENOMEM;
	if (rc == 0) {
		v = (uintptr_t)rv_map_get(&s->fgroups, text, strlen(text));
		if (v != 0) {
			*id = (uint32_t)v;
		} else {
			*id = s->w->next_synth++;
			rc = bw_resolver_identity_add(s->rv, *id, ls);
			if (rc == 0)
				rc = rv_map_put(&s->fgroups, text, strlen(text), (void *)(uintptr_t)*id);
			s->w->dirty = 1;
		}
	}
	free(text);
	bw_labelset_free(ls);
	return rc;
}

/* The class number of an l7proto name, without creating one (no side effect). */
static uint8_t
wi_proxy_class(void *arg, const char *l7proto)
{
	int c = bw_redirect_class_id(l7proto, 0);

	/* an unknown class still redirects: any class number will do here */
	return c > 0 ? (uint8_t)c : (uint8_t)(BW_PROXY_CLASSES - 1);
}

static void
wi_copy_ident_cb(void *val, void *arg)
{
	struct rv_ident *id = val;
	struct wi_set *s = arg;

	/* addresses are the set's business (wi_cidr_acquire, wi_address_identity) */
	if (id->id >= BW_ID_LOCAL_SCOPE)
		return;
	if (bw_resolver_identity_add(s->rv, id->id, id->labels) < 0)
		s->err = -ENOMEM;
}

static void
wi_copy_ep_cb(void *val, void *arg)
{
	const struct bw_rv_endpoint *ep = val;
	struct wi_set *s = arg;
	struct bw_rv_endpoint_desc d = {
		.ep_id = ep->ep_id, .ifindex = ep->ifindex, .identity = ep->identity,
		.ns = ep->ns, .pod = ep->pod, .audit = ep->audit,
		.addrs = ep->addrs, .naddrs = ep->naddrs,
		.ports = ep->ports, .nports = ep->nports,
		.vis = ep->vis, .nvis = ep->nvis,
	};

	if (bw_resolver_endpoint_set(s->rv, &d) < 0)
		s->err = -ENOMEM;
}

static int
wi_set_init(struct bw_whatif *w, struct wi_set *s)
{
	struct bw_resolver_ops ops = {
		.sync = wi_sync,
		.cidr_acquire = wi_cidr_acquire,
		.proxy_class = wi_proxy_class,
		.fqdn_selector = wi_fqdn_selector,
		.arg = s,
	};
	struct bw_resolver *main_rv = bw_pol_resolver();

	s->w = w;
	rv_map_init(&s->eps);
	rv_map_init(&s->fgroups);
	if (main_rv == NULL)
		return -ENODEV;
	if ((s->rv = bw_resolver_new(&ops)) == NULL)
		return -ENOMEM;
	bw_resolver_set_mode(s->rv, bw_pol_enforcement(), bw_pol_audit());
	rv_map_foreach(&main_rv->idents, wi_copy_ident_cb, s);
	rv_map_foreach(&main_rv->eps, wi_copy_ep_cb, s);
	return s->err;
}

static void
wi_set_fini(struct wi_set *s)
{
	if (s->rv != NULL)
		bw_resolver_free(s->rv); /* frees the compiled policies */
	s->rv = NULL;
	rv_map_foreach(&s->eps, wi_free_ep, NULL);
	rv_map_clear(&s->eps);
	free(s->pfx);
	s->pfx = NULL;
	s->npfx = s->cappfx = 0;
	for (size_t i = 0; i < s->nfsel; i++) {
		free(s->fsel[i].text);
		bw_fqdn_matcher_free(s->fsel[i].m);
	}
	free(s->fsel);
	s->fsel = NULL;
	s->nfsel = s->capfsel = 0;
	rv_map_clear(&s->fgroups);
}

static int
wi_flush(struct bw_whatif *w)
{
	int rc = bw_resolver_flush(w->cur.rv);

	if (rc == 0 && w->cand != &w->cur)
		rc = bw_resolver_flush(w->cand->rv);
	if (rc == 0)
		rc = w->cur.err ? w->cur.err : w->cand->err;
	w->dirty = 0;
	return rc;
}

/* ---- workloads ------------------------------------------------------------------- */

/* "NS/WORKLOAD" of labels (texts) as lib/flowpeer.h names a pod. */
static const char *
wi_workload(const char *ns, const struct bw_labelset *ls, const char *wl_name,
	    const char *pod, char *buf, size_t len)
{
	const char *texts[64];
	size_t n = bw_labelset_count(ls), k = 0;
	char wbuf[256];
	const char *wl;

	for (size_t i = 0; i < n && k < 64; i++)
		texts[k++] = bw_labelset_at(ls, i)->text;
	wl = bw_flowpeer_workload(texts, k, wl_name, pod, wbuf, sizeof(wbuf));
	if (wl == NULL || *wl == '\0')
		return NULL;
	snprintf(buf, len, "%s/%s", ns, wl);
	return buf;
}

static int
wi_index_ep(struct bw_endpoint *ep, void *arg)
{
	struct bw_whatif *w = arg;
	const struct bw_ep_workload *wl = bw_endpoint_workload(ep, NULL);
	char buf[512];
	const char *key = wi_workload(bw_endpoint_ns(ep), bw_endpoint_pod_labels(ep),
				      wl != NULL ? wl->name : NULL, bw_endpoint_pod(ep), buf,
				      sizeof(buf));

	if (key == NULL)
		return 0;
	if (wi_map_ids_add(&w->wl_eps, key, bw_endpoint_id(ep)) < 0 ||
	    (bw_endpoint_identity(ep) != 0 &&
	     wi_map_ids_add(&w->wl_ids, key, bw_endpoint_identity(ep)) < 0))
		return -ENOMEM;
	w->neps++;
	return 0;
}

/* Identities of pods elsewhere: their namespace and app label name a workload. */
static void
wi_index_ident(void *val, void *arg)
{
	const struct rv_ident *id = val;
	struct bw_whatif *w = arg;
	const struct bw_label *nsl;
	char buf[512];
	const char *key;

	if (id->id < BW_IDENTITY_MIN_GLOBAL || id->id >= BW_ID_LOCAL_SCOPE)
		return;
	nsl = bw_labelset_get(id->labels, BW_LABEL_SOURCE_K8S, BW_LABEL_POD_NAMESPACE);
	if (nsl == NULL)
		return;
	key = wi_workload(nsl->value, id->labels, NULL, NULL, buf, sizeof(buf));
	if (key != NULL)
		wi_map_ids_add(&w->wl_ids, key, id->id);
}

/* ---- building ---------------------------------------------------------------------- */

static int
wi_item_cmp(const struct bw_pol_item *it, const struct bw_pol *p)
{
	return strcmp(it->kind, p->kind) || strcmp(it->ns, p->ns) || strcmp(it->name, p->name);
}

struct bw_whatif *
bw_whatif_new(const char *candidate, size_t len, const char *source, unsigned flags, char *err,
	      size_t errlen)
{
	struct bw_pol_batch b = { 0 };
	struct bw_whatif *w;
	int rc = 0, separate = candidate != NULL || (flags & BW_WHATIF_F_REPLACE);

	if (errlen)
		err[0] = '\0';
	if (bw_pol_resolver() == NULL) {
		snprintf(err, errlen, "the policy engine is not running");
		errno = ENODEV;
		return NULL;
	}
	if (candidate != NULL) {
		rc = bw_pol_batch_parse(candidate, len, source != NULL ? source : "candidate", &b,
					err, errlen);
		if (rc < 0) {
			errno = -rc;
			return NULL;
		}
		for (size_t i = 0; i < b.n; i++) {
			struct bw_pol *old = bw_pol_find(b.v[i].ns, b.v[i].name, b.v[i].kind, NULL);

			if (old != NULL && strcmp(old->source, BW_POLICY_SOURCE_API)) {
				snprintf(err, errlen,
					 "document %u (line %u): %s %s%s%s is defined by file %s; change it there",
					 b.v[i].doc_index, b.v[i].line, b.v[i].kind, b.v[i].ns,
					 *b.v[i].ns ? "/" : "", b.v[i].name, old->source);
				bw_pol_batch_free(&b);
				errno = EEXIST;
				return NULL;
			}
		}
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		bw_pol_batch_free(&b);
		errno = ENOMEM;
		return NULL;
	}
	w->next_synth = WI_SYNTH_FIRST;
	rv_map_init(&w->wl_eps);
	rv_map_init(&w->wl_ids);
	rv_map_init(&w->peers);
	rv_map_init(&w->strs);
	w->cand = separate ? &w->cand_own : &w->cur;
	rc = wi_set_init(w, &w->cur);
	if (rc == 0 && separate)
		rc = wi_set_init(w, &w->cand_own);
	/* the current set: every enforced policy */
	for (struct bw_pol *p = bw_pol_first(); rc == 0 && p; p = p->next) {
		int replaced = 0;

		if (p->staged)
			continue;
		rc = wi_add_doc(w, &w->cur, p->doc, p->kind, p->ns, p->name, NULL);
		if (rc < 0 || !separate)
			continue;
		if ((flags & BW_WHATIF_F_REPLACE) && !strcmp(p->source, BW_POLICY_SOURCE_API))
			replaced = 1;
		for (size_t i = 0; i < b.n && !replaced; i++)
			replaced = !wi_item_cmp(&b.v[i], p);
		if (!replaced)
			rc = wi_add_doc(w, &w->cand_own, p->doc, p->kind, p->ns, p->name, NULL);
	}
	/* the candidate's own (staged ones are not enforced) */
	for (size_t i = 0; rc == 0 && i < b.n; i++) {
		if (b.v[i].staged)
			continue;
		rc = wi_add_doc(w, &w->cand_own, b.v[i].doc, b.v[i].kind, b.v[i].ns, b.v[i].name,
				b.v[i].rv);
		b.v[i].rv = NULL; /* the resolver's, or freed */
	}
	bw_pol_batch_free(&b);
	if (rc == 0) {
		bw_endpoint_foreach(wi_index_ep, w);
		rv_map_foreach(&w->cur.rv->idents, wi_index_ident, w);
		rc = wi_flush(w);
	}
	if (rc < 0) {
		snprintf(err, errlen, "cannot resolve the policy sets: %s", strerror(-rc));
		bw_whatif_free(w);
		errno = -rc;
		return NULL;
	}
	return w;
}

void
bw_whatif_free(struct bw_whatif *w)
{
	if (w == NULL)
		return;
	wi_set_fini(&w->cur);
	if (w->cand == &w->cand_own)
		wi_set_fini(&w->cand_own);
	for (size_t i = 0; i < w->npols; i++) {
		free(w->pols[i]->kind);
		free(w->pols[i]->ns);
		free(w->pols[i]->name);
		free(w->pols[i]->text);
		free(w->pols[i]);
	}
	free(w->pols);
	free(w->refs);
	rv_map_foreach(&w->wl_eps, wi_free_ids, NULL);
	rv_map_clear(&w->wl_eps);
	rv_map_foreach(&w->wl_ids, wi_free_ids, NULL);
	rv_map_clear(&w->wl_ids);
	rv_map_foreach(&w->peers, wi_free_peer, NULL);
	rv_map_clear(&w->peers);
	rv_map_foreach(&w->strs, wi_free_str, NULL);
	rv_map_clear(&w->strs);
	free(w);
}

void
bw_whatif_counts(const struct bw_whatif *w, size_t *cur_policies, size_t *cand_policies,
		 size_t *endpoints)
{
	if (cur_policies)
		*cur_policies = w->cur.npolicies;
	if (cand_policies)
		*cand_policies = w->cand->npolicies;
	if (endpoints)
		*endpoints = w->neps;
}

/* ---- peers ---------------------------------------------------------------------------- */

static const struct {
	const char *name;
	uint32_t id;
} wi_reserved[] = {
	{ "host", 1 }, { "world", 2 }, { "unmanaged", 3 }, { "health", 4 }, { "init", 5 },
	{ "remote-node", 6 }, { "kube-apiserver", 7 }, { "ingress", 8 }, { "world-ipv4", 9 },
	{ "world-ipv6", 10 },
};

/* Both sets' identities of one identity the node knows. */
static int
wi_peer_id(struct wi_peer *peer, uint32_t id)
{
	return rv_ids_add(&peer->ids[0], id) < 0 || rv_ids_add(&peer->ids[1], id) < 0 ? -ENOMEM
										      : 0;
}

static int
wi_peer_resolve(struct bw_whatif *w, int kind, const char *name, struct wi_peer *peer)
{
	struct bw_prefix p;
	const struct rv_ids *ids;
	char why[600];

	if (kind == BW_HISTORY_PEER_UNKNOWN) {
		if (strchr(name, '/') != NULL && bw_prefix_parse(name, 0, &p) < 0)
			kind = BW_HISTORY_PEER_POD;
		else if (bw_prefix_parse(name, 0, &p) == 0)
			kind = BW_HISTORY_PEER_WORLD;
		else
			kind = BW_HISTORY_PEER_RESERVED;
	}
	switch (kind) {
	case BW_HISTORY_PEER_POD:
		if ((ids = rv_map_get(&w->wl_ids, name, strlen(name))) != NULL && ids->n > 0) {
			for (size_t i = 0; i < ids->n; i++)
				if (wi_peer_id(peer, ids->v[i]) < 0)
					return -ENOMEM;
			return 0;
		}
		snprintf(why, sizeof(why), "no endpoint or identity of workload %s is known now",
			 name);
		peer->why = wi_intern(w, why);
		return 0;
	case BW_HISTORY_PEER_HOST:
	case BW_HISTORY_PEER_RESERVED:
		for (size_t i = 0; i < sizeof(wi_reserved) / sizeof(*wi_reserved); i++)
			if (!strcmp(wi_reserved[i].name, name))
				return wi_peer_id(peer, wi_reserved[i].id);
		if (!strncmp(name, "identity-", 9)) {
			uint32_t id = (uint32_t)strtoul(name + 9, NULL, 10);

			if (id != 0 && bw_resolver_identity_known(w->cur.rv, id))
				return wi_peer_id(peer, id);
		}
		break;
	case BW_HISTORY_PEER_WORLD:
		if (!strcmp(name, "world"))
			return wi_peer_id(peer, BW_ID_WORLD);
		if (bw_prefix_parse(name, 0, &p) == 0) {
			const char *const *names = NULL;
			size_t nn = 0;
			uint32_t id2[2];
			int rc;

			/* names DNS gave for a host address (the FQDN cache now) */
			if (p.plen == (p.family == 4 ? 32 : 128))
				nn = bw_fqdn_names(p.family, p.addr, &names);
			if ((rc = wi_named_address_identity(&w->cur, &p, names, nn, &id2[0])) < 0 ||
			    (rc = wi_named_address_identity(w->cand, &p, names, nn, &id2[1])) < 0)
				return rc;
			return rv_ids_add(&peer->ids[0], id2[0]) < 0 ||
			       rv_ids_add(&peer->ids[1], id2[1]) < 0 ? -ENOMEM : 0;
		}
		snprintf(why, sizeof(why),
			 "%s: give the address (the what-if looks an outside peer up by address)",
			 name);
		peer->why = wi_intern(w, why);
		return 0;
	}
	snprintf(why, sizeof(why), "peer %s is not known", name);
	peer->why = wi_intern(w, why);
	return 0;
}

static struct wi_peer *
wi_peer(struct bw_whatif *w, int kind, const char *name)
{
	char key[600];
	size_t kl = (size_t)snprintf(key, sizeof(key), "%d\t%s", kind, name);
	struct wi_peer *p;

	if (kl >= sizeof(key))
		kl = sizeof(key) - 1;
	if ((p = rv_map_get(&w->peers, key, kl)) != NULL)
		return p;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if (wi_peer_resolve(w, kind, name, p) < 0 || rv_map_put(&w->peers, key, kl, p) < 0) {
		wi_free_peer(p, NULL);
		return NULL;
	}
	return p;
}

static struct wi_cache *
wi_cache_slot(struct wi_cache *c, const char *ptr, int kind)
{
	return &c[(((uintptr_t)ptr >> 3) ^ (uintptr_t)kind) & (WI_CACHE - 1)];
}

static struct wi_peer *
wi_peer_cached(struct bw_whatif *w, int kind, const char *name)
{
	struct wi_cache *c = wi_cache_slot(w->peer_cache, name, kind);

	if (c->ptr == name && c->kind == kind && !strcmp(c->name, name))
		return c->val;
	c->val = wi_peer(w, kind, name);
	c->ptr = c->val != NULL ? name : NULL;
	c->name = wi_intern(w, name);
	c->kind = kind;
	return c->val;
}

/* The endpoints of workload "NS/W", or NULL. */
static const struct rv_ids *
wi_workload_eps(struct bw_whatif *w, const char *name)
{
	struct wi_cache *c = wi_cache_slot(w->ep_cache, name, 0);

	if (c->ptr == name && !strcmp(c->name, name))
		return c->val;
	c->val = rv_map_get(&w->wl_eps, name, strlen(name));
	c->ptr = name;
	c->name = wi_intern(w, name);
	return c->val;
}

/* ---- lookups ------------------------------------------------------------------------- */

static int
wi_verdict_rank(int v)
{
	return v == BW_FLOW_VERDICT_DROPPED ? 2 : v == BW_FLOW_VERDICT_AUDIT ? 1 : 0;
}

/* The verdict of set s for one endpoint and peer identity. */
static void
wi_lookup(struct bw_whatif *w, struct wi_set *s, uint32_t ep_id, uint32_t peer, int dir,
	  uint8_t proto, uint16_t port, struct bw_whatif_verdict *out)
{
	const struct wi_ep *e = rv_map_get(&s->eps, &ep_id, sizeof(ep_id));
	uint32_t bit = dir == BW_DIR_INGRESS ? BW_EP_F_ENFORCE_INGRESS : BW_EP_F_ENFORCE_EGRESS;
	struct bw_policy_verdict v;

	memset(out, 0, sizeof(*out));
	out->rule_index = out->entry_index = -1;
	out->isolated_by = "";
	out->verdict = BW_FLOW_VERDICT_FORWARDED;
	if (e == NULL || !(e->flags & bit))
		return;
	out->enforced = 1;
	if (e->sorted)
		bw_datapath_policy_lookup_sorted(e->kv, e->n, ep_id, peer, (uint8_t)dir, proto, port,
						 &v);
	else
		bw_datapath_policy_lookup_set(e->kv, e->n, ep_id, peer, (uint8_t)dir, proto, port,
					      &v);
	if (v.rule_ref > 0 && v.rule_ref <= w->nrefs) {
		const struct wi_ref *r = &w->refs[v.rule_ref - 1];

		out->kind = r->pol->kind;
		out->ns = r->pol->ns;
		out->name = r->pol->name;
		out->rule_index = r->rule;
		out->entry_index = r->entry;
		out->deny = r->deny;
	}
	if (v.allowed)
		return;
	out->verdict = (e->flags & BW_EP_F_AUDIT) ? BW_FLOW_VERDICT_AUDIT : BW_FLOW_VERDICT_DROPPED;
	if (v.rule_ref == 0) {
		void *owners[BW_POLICY_ISOLATION_MAX];
		size_t n = bw_resolver_isolating(s->rv, ep_id, dir, owners, BW_POLICY_ISOLATION_MAX);
		const char *texts[BW_POLICY_ISOLATION_MAX];
		char buf[4096];
		size_t off = 0;

		if (n > BW_POLICY_ISOLATION_MAX)
			n = BW_POLICY_ISOLATION_MAX;
		for (size_t i = 0; i < n; i++)
			texts[i] = ((const struct wi_pol *)owners[i])->text;
		/* sorted, as history lists policies */
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && strcmp(texts[j - 1], texts[j]) > 0; j--) {
				const char *t = texts[j];

				texts[j] = texts[j - 1];
				texts[j - 1] = t;
			}
		buf[0] = '\0';
		for (size_t i = 0; i < n && off < sizeof(buf); i++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? "\n" : "",
						texts[i]);
		out->isolated_by = wi_intern(w, buf);
	}
}

/* Worst verdict of set s over every (endpoint, peer identity) pair. */
static void
wi_judge(struct bw_whatif *w, struct wi_set *s, const struct rv_ids *eps,
	 const struct rv_ids *peers, int dir, uint8_t proto, uint16_t port,
	 struct bw_whatif_verdict *out)
{
	int have = 0;

	for (size_t i = 0; i < eps->n; i++)
		for (size_t j = 0; j < peers->n; j++) {
			struct bw_whatif_verdict v;

			wi_lookup(w, s, eps->v[i], peers->v[j], dir, proto, port, &v);
			if (!have || wi_verdict_rank(v.verdict) > wi_verdict_rank(out->verdict)) {
				*out = v;
				have = 1;
			}
		}
}

int
bw_whatif_replay(struct bw_whatif *w, const struct bw_whatif_conn *conns, size_t n,
		 struct bw_whatif_result *out)
{
	struct wi_peer **peers;
	int rc = 0;

	if (w == NULL || (n > 0 && (conns == NULL || out == NULL)))
		return -EINVAL;
	if ((peers = calloc(n ? n : 1, sizeof(*peers))) == NULL)
		return -ENOMEM;
	/* every peer first (identities of their own join both sets), one flush */
	for (size_t i = 0; i < n; i++) {
		const struct bw_whatif_conn *c = &conns[i];
		int ingress = c->direction == BW_FLOW_TRAFFIC_INGRESS;
		const char *pname = ingress ? c->source : c->destination;
		int pkind = ingress ? c->source_kind : c->destination_kind;

		if (pname == NULL || (c->direction != BW_FLOW_TRAFFIC_INGRESS &&
				      c->direction != BW_FLOW_TRAFFIC_EGRESS))
			continue;
		if ((peers[i] = wi_peer_cached(w, pkind, pname)) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if (w->dirty && (rc = wi_flush(w)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct bw_whatif_conn *c = &conns[i];
		struct bw_whatif_result *r = &out[i];
		size_t size = r->size ? r->size : sizeof(*r);
		struct bw_whatif_result res;
		int ingress = c->direction == BW_FLOW_TRAFFIC_INGRESS;
		const char *lname = ingress ? c->destination : c->source;
		const struct rv_ids *eps;
		char why[600];

		memset(&res, 0, sizeof(res));
		res.size = size < sizeof(res) ? size : sizeof(res);
		res.why = "";
		if (peers[i] == NULL) {
			res.why = "not a connection check (no direction)";
		} else if (lname == NULL || (eps = wi_workload_eps(w, lname)) == NULL || eps->n == 0) {
			snprintf(why, sizeof(why), "%s has no endpoint on this node now",
				 lname != NULL ? lname : "?");
			res.why = wi_intern(w, why);
		} else if (peers[i]->why != NULL) {
			res.why = peers[i]->why;
		} else {
			int dir = ingress ? BW_DIR_INGRESS : BW_DIR_EGRESS;

			res.checked = 1;
			res.endpoints = (unsigned)eps->n;
			wi_judge(w, &w->cur, eps, &peers[i]->ids[0], dir, c->protocol, c->port,
				 &res.current);
			wi_judge(w, w->cand, eps, &peers[i]->ids[1], dir, c->protocol, c->port,
				 &res.candidate);
		}
		memcpy(r, &res, res.size);
	}
out:
	free(peers);
	return rc;
}
