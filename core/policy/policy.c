/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/policy.c - the policy repository, its rule table, and the glue
 * between the resolver and the rest of the core.
 *
 * Repository. Policies are keyed by (kind, namespace, name) and belong to
 * one source: the API-managed set ("api", persisted in
 * <state_dir>/policies.json as canonical rules, so a restart does not need
 * the format modules to restore it) or one file of policy.dir. A key owned
 * by one source cannot be defined by another. Changes come in batches
 * (an import, a replace, one file) that are parsed, translated and
 * compiled in full before anything changes; then the resolver gets the new
 * versions, drops the old ones, and the maps are synced before the call
 * returns.
 *
 * Rule table. Every (policy, rule index, direction, entry index) gets a
 * rule_ref. A ref is kept while the rule's canonical text is unchanged, also
 * across restarts (<state_dir>/policy-refs.json), so connections and flows
 * keep naming the right rule; a changed rule gets a new ref, and refs only
 * grow, so a ref is never reused for another rule. Retired refs stay
 * answerable for a while so that late events still name their policy.
 *
 * Glue. Identities and endpoints reach the resolver through
 * pol_identity_event() / pol_endpoint_event(), the watchers it registers
 * with the identity and endpoint registries; its output goes
 * to the datapath through pol_sync().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h" /* before bw_datapath.h: its BW_ENFORCE_* macros */
#include "core/api.h"
#include "core/datapath/datapath.h"
#include "core/datapath/redirect.h"
#include "core/node/endpoint.h"
#include "core/node/fqdn.h"
#include "core/node/identity.h"
#include "core/node/ipcache.h"
#include "core/node/labels.h"
#include "core/log.h"
#include "core/policy/policy.h"
#include "core/policy/policy_int.h"
#include "core/policy/quarantine.h"
#include "core/policy/policydoc.h"
#include "core/module/registry.h"
#include "core/policy/resolver.h"
#include "core/policy/resolver_util.h"
#include "core/state.h"

#define POL_RETIRED_MAX 8192

struct pol_ref {
	struct bw_policy_ruleinfo info; /* strings owned */
	char *key;                      /* kind\tns\tname\trule\tdir\tentry */
	uint64_t hash;                  /* of the rule's canonical text */
	struct bw_pol *owner;           /* current version using it, or NULL */
	struct pol_ref *retired_next;
};

static struct {
	struct event_base *base;
	struct bw_resolver *rv;
	struct bw_pol *list;
	size_t count;
	int inited;
	int ready;       /* first recompute done: events sync at once */
	int busy;        /* inside a batch: events only mark */
	int enforcement;
	int audit;
	uint64_t repo_rev;
	struct rv_map refs;    /* u32 ref -> struct pol_ref */
	struct rv_map refkeys; /* key -> current struct pol_ref */
	uint32_t next_ref;
	struct pol_ref *retired_head, *retired_tail;
	size_t nretired;
	int refs_dirty;
	char *state_path;
	char *refs_path;
	char cidr_fail[64]; /* the CIDR a failed apply could not get an identity for */
	char persist_fail[4096]; /* the state file a failed apply could not write */
	int restoring;          /* pol_restore(): the set comes from the file */
} P;

static uint64_t pol_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

static char *pol_strdup(const char *s)
{
	return strdup(s ? s : "");
}

/* ---- rule table ---------------------------------------------------------- */

static void pol_ref_free(struct pol_ref *r)
{
	free((char *)r->info.name);
	free((char *)r->info.namespace);
	free((char *)r->info.kind);
	free((char *)r->info.log);
	free(r->key);
	free(r);
}

static char *pol_ref_key(const char *kind, const char *ns, const char *name,
			 size_t rule, int dir, size_t entry)
{
	size_t len = strlen(kind) + strlen(ns) + strlen(name) + 64;
	char *k = malloc(len);

	if (k)
		snprintf(k, len, "%s\t%s\t%s\t%zu\t%d\t%zu", kind, ns, name, rule,
			 dir, entry);
	return k;
}

static struct pol_ref *pol_ref_new(uint32_t ref, const char *key, uint64_t hash)
{
	struct pol_ref *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->info.rule_ref = ref;
	r->key = strdup(key);
	r->hash = hash;
	r->info.current = 1;
	if (!r->key || rv_map_put(&P.refs, &r->info.rule_ref, sizeof(uint32_t), r) < 0) {
		free(r->key);
		free(r);
		return NULL;
	}
	if (rv_map_put(&P.refkeys, key, strlen(key), r) < 0) {
		rv_map_del(&P.refs, &r->info.rule_ref, sizeof(uint32_t));
		free(r->key);
		free(r);
		return NULL;
	}
	if (ref >= P.next_ref)
		P.next_ref = ref + 1;
	return r;
}

static void pol_ref_retire(struct pol_ref *r)
{
	if (!r->info.current)
		return;
	r->info.current = 0;
	r->owner = NULL;
	if (rv_map_get(&P.refkeys, r->key, strlen(r->key)) == r)
		rv_map_del(&P.refkeys, r->key, strlen(r->key));
	r->retired_next = NULL;
	if (P.retired_tail)
		P.retired_tail->retired_next = r;
	else
		P.retired_head = r;
	P.retired_tail = r;
	P.nretired++;
	P.refs_dirty = 1;
	while (P.nretired > POL_RETIRED_MAX) {
		struct pol_ref *old = P.retired_head;

		P.retired_head = old->retired_next;
		if (!P.retired_head)
			P.retired_tail = NULL;
		P.nretired--;
		rv_map_del(&P.refs, &old->info.rule_ref, sizeof(uint32_t));
		pol_ref_free(old);
	}
}

static int pol_ref_set_info(struct pol_ref *r, const struct bw_pol *p,
			    size_t rule, int dir, size_t entry, int deny,
			    const char *log)
{
	char *name = pol_strdup(p->name), *ns = pol_strdup(p->ns);
	char *kind = pol_strdup(p->kind), *lg = log ? strdup(log) : NULL;

	if (!name || !ns || !kind || (log && !lg)) {
		free(name);
		free(ns);
		free(kind);
		free(lg);
		return -ENOMEM;
	}
	free((char *)r->info.name);
	free((char *)r->info.namespace);
	free((char *)r->info.kind);
	free((char *)r->info.log);
	r->info.name = name;
	r->info.namespace = ns;
	r->info.kind = kind;
	r->info.log = lg;
	r->info.revision = p->revision;
	r->info.rule_index = (unsigned)rule;
	r->info.direction = dir;
	r->info.entry_index = (unsigned)entry;
	r->info.deny = deny;
	return 0;
}

/*
 * Give every entry of p's compiled rules a ref: the current ref of the same
 * slot when the rule text is unchanged, else a new one.
 */
static int pol_assign_refs(struct bw_pol *p)
{
	struct bw_rv_policy *rv = p->rv;
	size_t total = 0, k = 0;

	for (size_t i = 0; i < rv->nrules; i++)
		total += rv->rules[i].nentries[1] + rv->rules[i].nentries[2];
	free(p->refs);
	p->refs = total ? calloc(total, sizeof(*p->refs)) : NULL;
	p->nrefs = 0;
	if (total && !p->refs)
		return -ENOMEM;
	for (size_t i = 0; i < rv->nrules; i++) {
		struct bw_rv_rule *ru = &rv->rules[i];
		uint64_t h = pol_hash(ru->text);

		for (int d = 1; d <= 2; d++)
			for (size_t j = 0; j < ru->nentries[d]; j++) {
				char *key = pol_ref_key(p->kind, p->ns, p->name, i, d, j);
				struct pol_ref *r;

				if (!key)
					return -ENOMEM;
				r = rv_map_get(&P.refkeys, key, strlen(key));
				if (r && r->hash != h) {
					pol_ref_retire(r);
					r = NULL;
				}
				if (!r) {
					r = pol_ref_new(P.next_ref ? P.next_ref : 1, key, h);
					P.refs_dirty = 1;
				}
				free(key);
				if (!r)
					return -ENOMEM;
				r->owner = p;
				if (pol_ref_set_info(r, p, i, d, j, ru->entries[d][j].deny,
						     ru->log) < 0)
					return -ENOMEM;
				ru->entries[d][j].rule_ref = r->info.rule_ref;
				p->refs[k++] = r->info.rule_ref;
				p->nrefs = k;
			}
	}
	return 0;
}

/* p goes away: retire the refs no newer version took over. */
static void pol_release_refs(struct bw_pol *p)
{
	for (size_t i = 0; i < p->nrefs; i++) {
		struct pol_ref *r = rv_map_get(&P.refs, &p->refs[i], sizeof(uint32_t));

		if (r && r->owner == p)
			pol_ref_retire(r);
	}
}

const struct bw_policy_ruleinfo *bw_policy_rule_lookup(uint32_t rule_ref)
{
	const struct pol_ref *r;

	if (!rule_ref || !P.inited)
		return NULL;
	r = rv_map_get(&P.refs, &rule_ref, sizeof(rule_ref));
	return r ? &r->info : NULL;
}

struct pol_refs_json {
	json_t *arr;
};

static void pol_refs_json_cb(void *val, void *arg)
{
	struct pol_ref *r = val;
	struct pol_refs_json *c = arg;
	char h[32];

	if (!r->info.current)
		return;
	snprintf(h, sizeof(h), "%016llx", (unsigned long long)r->hash);
	json_array_append_new(c->arr, json_pack("{s:I,s:s,s:s}", "ref",
						(json_int_t)r->info.rule_ref,
						"key", r->key, "hash", h));
}

static void pol_refs_save(void)
{
	struct pol_refs_json c = { json_array() };
	json_t *doc;
	int err;

	if (!P.refs_dirty || !P.refs_path || !c.arr) {
		json_decref(c.arr);
		return;
	}
	rv_map_foreach(&P.refs, pol_refs_json_cb, &c);
	doc = json_pack("{s:i,s:I,s:o}", "version", 1, "next_ref",
			(json_int_t)P.next_ref, "refs", c.arr);
	if (!doc)
		return;
	err = bw_state_write_json(P.refs_path, doc);
	json_decref(doc);
	if (err < 0)
		bw_warn_errno(err, "policy: cannot write %s", P.refs_path);
	else
		P.refs_dirty = 0;
}

/*
 * Restore the current refs of the last run (unowned until claimed). A
 * damaged file is refused, not read as none: refs would start again from
 * 1 while pinned entries and conntrack still carry the old ones.
 */
static int pol_refs_load(void)
{
	static const char *const lists[] = { "refs", NULL };
	char err[512];
	json_t *doc = bw_state_read_doc(P.refs_path, 1, lists, err, sizeof(err));
	json_t *arr, *v;
	size_t i;

	if (!doc) {
		if (errno == ENOENT)
			return 0;
		bw_err("policy: cannot read the rule references: %s; bulwarkd does not start (the pinned datapath keeps enforcing); move the file away to number the rules afresh, or restore it",
		       err);
		return -EINVAL;
	}
	P.next_ref = (uint32_t)json_integer_value(json_object_get(doc, "next_ref"));
	arr = json_object_get(doc, "refs");
	json_array_foreach(arr, i, v) {
		uint32_t ref = (uint32_t)json_integer_value(json_object_get(v, "ref"));
		const char *key = json_string_value(json_object_get(v, "key"));
		const char *h = json_string_value(json_object_get(v, "hash"));

		if (ref && key && h && !rv_map_get(&P.refs, &ref, sizeof(ref)))
			pol_ref_new(ref, key, strtoull(h, NULL, 16));
	}
	json_decref(doc);
	if (!P.next_ref)
		P.next_ref = 1;
	return 0;
}

struct pol_orphans {
	struct pol_ref **v;
	size_t n, cap;
};

static void pol_orphans_cb(void *val, void *arg)
{
	struct pol_ref *r = val;
	struct pol_orphans *o = arg;

	if (!r->info.current || r->owner)
		return;
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 32;
		struct pol_ref **v = realloc(o->v, cap * sizeof(*v));

		if (!v)
			return;
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n++] = r;
}

/* After the start-up load: refs of rules that no longer exist retire. */
static void pol_refs_retire_orphans(void)
{
	struct pol_orphans o = { 0 };

	rv_map_foreach(&P.refs, pol_orphans_cb, &o);
	for (size_t i = 0; i < o.n; i++)
		pol_ref_retire(o.v[i]);
	free(o.v);
}

/* ---- datapath glue ----------------------------------------------------------- */

struct bw_policy_entry_spec *bw_pol_entry_specs(const struct bw_rv_entry *e,
						size_t n)
{
	struct bw_policy_entry_spec *specs = calloc(n ? n : 1, sizeof(*specs));

	if (!specs)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		specs[i].identity = e[i].identity;
		specs[i].direction = e[i].direction;
		specs[i].protocol = e[i].protocol;
		specs[i].port_lo = e[i].port_lo;
		specs[i].port_hi = e[i].port_hi;
		specs[i].deny = e[i].deny;
		specs[i].rule_ref = e[i].rule_ref;
		specs[i].proxy_class = e[i].proxy_class;
		specs[i].visibility = e[i].visibility;
	}
	return specs;
}

static int pol_sync(void *arg, const struct bw_rv_endpoint_desc *ep,
		    uint32_t flags, const struct bw_rv_entry *e, size_t n,
		    int stricter, int first)
{
	struct bw_policy_entry_spec *specs = NULL;
	struct bw_endpoint_info info = { .ep_id = ep->ep_id,
					 .identity = ep->identity,
					 .policy_rev = (uint32_t)P.repo_rev };
	uint32_t oflags = 0, mid;
	int err;

	if (n && !(specs = bw_pol_entry_specs(e, n)))
		return -ENOMEM;
	/*
	 * No window of wrong verdicts: enforcement that goes away and audit
	 * that comes are written before the entries, enforcement that comes
	 * and audit that goes after them.
	 */
	if (!first)
		bw_resolver_endpoint_state(P.rv, ep->ep_id, &oflags, NULL, NULL);
	else
		oflags = flags;
	mid = (oflags & flags & (BW_EP_F_ENFORCE_INGRESS | BW_EP_F_ENFORCE_EGRESS)) |
	      ((oflags | flags) & BW_EP_F_AUDIT);
	if (ep->ifindex > 0 && !first && mid != oflags) {
		info.flags = mid;
		err = bw_datapath_endpoint_put((int)ep->ifindex, &info);
		if (err < 0)
			goto out;
	}
	err = bw_datapath_policy_sync(ep->ep_id, specs, n);
	if (err < 0)
		goto out;
	if (ep->ifindex > 0) {
		info.flags = flags;
		err = bw_datapath_endpoint_put((int)ep->ifindex, &info);
	}
out:
	free(specs);
	if (err < 0)
		bw_err_errno(err,
			     "policy: cannot write the policy of endpoint %s/%s (id %u)",
			     ep->ns, ep->pod, ep->ep_id);
	else
		bw_debug("policy: endpoint %s/%s: %zu entries, flags 0x%x%s",
			 ep->ns, ep->pod, n, flags, stricter ? " (stricter)" : "");
	return err;
}

int bw_pol_cidr_acquire(void *arg, int family, const uint8_t *addr, int plen,
			uint32_t *id)
{
	struct bw_prefix p = { .family = family, .plen = plen };
	char buf[80];
	int err;

	memcpy(p.addr, addr, 16);
	err = bw_identity_cidr_acquire_prefix(&p, id);
	if (err < 0) { /* bw_pol_apply() reports it with the prefix */
		bw_prefix_format(&p, 1, buf, sizeof(buf));
		snprintf(P.cidr_fail, sizeof(P.cidr_fail), "%s", buf);
	}
	return err;
}

void bw_pol_cidr_release(void *arg, uint32_t id)
{
	bw_identity_cidr_release(id);
}

/* An FQDN selector entered or left a selector cache: the FQDN identities
 * of the addresses it matches change at the next flush (pol_flush). */
void bw_pol_fqdn_selector(void *arg, const char *text, int add)
{
	if (!add) {
		bw_fqdn_selector_unref(text);
		return;
	}
	if (bw_fqdn_selector_ref(text) < 0)
		bw_err("policy: FQDN selector %s: out of memory", text);
}

/* An l7proto name's proxy class (core/datapath/redirect.c numbers them). */
uint8_t bw_pol_proxy_class(void *arg, const char *l7proto)
{
	int c = bw_redirect_class_id(l7proto, 1);

	if (c < 0) {
		bw_warn("policy: l7proto \"%s\": no proxy class: %s (its ports allow nothing)",
			l7proto, strerror(-c));
		return 0;
	}
	return (uint8_t)c;
}

const char *bw_policy_l7_rules(uint32_t rule_ref, uint32_t port_index)
{
	const struct pol_ref *r;
	const struct bw_rv_rule *ru;
	const struct bw_rv_ruleentry *en;
	const struct bw_rv_policy *rv;

	if (!rule_ref || !P.inited)
		return NULL;
	r = rv_map_get(&P.refs, &rule_ref, sizeof(rule_ref));
	if (!r || !r->owner || !(rv = r->owner->rv) || r->info.rule_index >= rv->nrules)
		return NULL;
	ru = &rv->rules[r->info.rule_index];
	if (r->info.direction < 1 || r->info.direction > 2 ||
	    r->info.entry_index >= ru->nentries[r->info.direction])
		return NULL;
	en = &ru->entries[r->info.direction][r->info.entry_index];
	if (port_index >= en->nports)
		return NULL;
	return en->ports[port_index].l7rules;
}

uint64_t bw_policy_generation(void)
{
	struct bw_resolver_stats st;

	if (!P.inited)
		return 0;
	bw_resolver_stats(P.rv, &st);
	return st.syncs;
}

static void pol_ep_desc(struct bw_endpoint *ep, struct bw_rv_endpoint_desc *d,
			struct bw_rv_addr *addrs, struct bw_rv_named_port *ports,
			struct bw_rv_visibility *vis)
{
	size_t na = 0, np = 0, nv = 0, k = 0;
	const struct bw_ep_addr *ips = bw_endpoint_ips(ep, &na);
	const struct bw_ep_named_port *nps = bw_endpoint_named_ports(ep, &np);
	const struct bw_ep_visibility *v = bw_endpoint_visibility(ep, &nv);

	memset(d, 0, sizeof(*d));
	d->ep_id = bw_endpoint_id(ep);
	d->ifindex = bw_endpoint_ifindex(ep) > 0 ? (uint32_t)bw_endpoint_ifindex(ep) : 0;
	d->identity = bw_endpoint_identity(ep);
	d->ns = bw_endpoint_ns(ep);
	d->pod = bw_endpoint_pod(ep);
	d->audit = bw_endpoint_audit(ep) || bw_endpoint_ns_audit(ep);
	if (na > BW_EP_MAX_IPS)
		na = BW_EP_MAX_IPS;
	if (np > BW_EP_MAX_NAMED_PORTS)
		np = BW_EP_MAX_NAMED_PORTS;
	for (size_t i = 0; i < na; i++) {
		addrs[i].family = ips[i].family;
		memcpy(addrs[i].addr, ips[i].addr, 16);
	}
	for (size_t i = 0; i < np; i++) {
		ports[i].name = nps[i].name;
		ports[i].port = nps[i].port;
		ports[i].protocol = nps[i].protocol;
	}
	d->addrs = addrs;
	d->naddrs = na;
	d->ports = ports;
	d->nports = np;
	/* proxy visibility: the L7 protocol names a proxy class */
	for (size_t i = 0; i < nv && k < BW_EP_MAX_VISIBILITY; i++) {
		int cls = bw_redirect_class_id(v[i].l7, 1);

		if (cls <= 0) {
			bw_warn("policy: endpoint %s/%s: proxy visibility <%s>: no proxy class: %s",
				bw_endpoint_ns(ep), bw_endpoint_pod(ep), v[i].l7, strerror(-cls));
			continue;
		}
		memset(&vis[k], 0, sizeof(vis[k]));
		vis[k].direction = (uint8_t)v[i].direction;
		vis[k].protocol = v[i].protocol;
		vis[k].port = v[i].port;
		vis[k].proxy_class = (uint8_t)cls;
		k++;
	}
	d->vis = vis;
	d->nvis = k;
}

/* Make sure the resolver knows an identity the registry has. */
static void pol_identity_ensure(uint32_t id)
{
	const struct bw_labelset *ls;

	if (!id || bw_resolver_identity_known(P.rv, id))
		return;
	ls = bw_identity_labels(id);
	if (ls) {
		bw_resolver_identity_add(P.rv, id, ls);
		bw_pol_staged_identity(id, ls, 1);
	}
}

static int pol_ep_set(struct bw_endpoint *ep)
{
	struct bw_rv_endpoint_desc d;
	struct bw_rv_addr addrs[BW_EP_MAX_IPS];
	struct bw_rv_named_port ports[BW_EP_MAX_NAMED_PORTS];
	struct bw_rv_visibility vis[BW_EP_MAX_VISIBILITY];

	pol_ep_desc(ep, &d, addrs, ports, vis);
	pol_identity_ensure(d.identity);
	bw_pol_staged_endpoint(&d, 0);
	return bw_resolver_endpoint_set(P.rv, &d);
}

/* Sync what is marked, unless inside a batch or before the first recompute. */
static int pol_flush(void)
{
	int err = 0;

	if (!P.ready || P.busy)
		return 0;
	/*
	 * FQDN identities in three steps, so that no address is mapped to an
	 * identity before the entries allowing it are written: the addresses
	 * whose selector set changed get their new identities (which join
	 * the resolver without a flush), the flush writes the entries, then
	 * the ipcache moves to the new identities and the old ones are
	 * released (which flushes again, removing their entries). Releasing
	 * CIDR identities may ask for another round.
	 */
	for (int round = 0; round < 3; round++) {
		P.busy++; /* identities they acquire only mark work */
		bw_fqdn_relabel();
		bw_pol_staged_reconcile();
		P.busy--;
		err = bw_resolver_flush(P.rv);
		bw_pol_staged_flush();
		bw_fqdn_commit();
		if (err < 0 || !bw_fqdn_pending())
			break;
	}
	return err;
}

/* The endpoint watcher (bw_endpoint_watch). */
static int pol_endpoint_event(struct bw_endpoint *ep, int event, void *arg)
{
	int err;

	if (!P.inited)
		return 0;
	if (event == BW_EP_EVENT_DELETED) {
		uint32_t id = bw_endpoint_id(ep);

		bw_quarantine_endpoint_deleted(bw_endpoint_ns(ep), bw_endpoint_pod(ep));
		bw_resolver_endpoint_remove(P.rv, id);
		bw_pol_staged_endpoint(NULL, id);
		if (P.ready) {
			err = bw_datapath_policy_sync(id, NULL, 0);
			if (err < 0 && err != -ENXIO)
				bw_warn_errno(err,
					      "policy: cannot remove the policy entries of endpoint %s/%s",
					      bw_endpoint_ns(ep),
					      bw_endpoint_pod(ep));
		}
		return pol_flush();
	}
	err = pol_ep_set(ep);
	if (err < 0) {
		bw_err_errno(err, "policy: endpoint %s/%s", bw_endpoint_ns(ep),
			     bw_endpoint_pod(ep));
		return err;
	}
	return pol_flush();
}

/* The identity watcher (bw_identity_watch). */
static void pol_identity_event(uint32_t id, int added, void *arg)
{
	if (!P.inited)
		return;
	if (added) {
		const struct bw_labelset *ls = bw_identity_labels(id);

		if (bw_resolver_identity_add(P.rv, id, ls) < 0)
			bw_err("policy: identity %u: out of memory", id);
		bw_pol_staged_identity(id, ls, 1);
	} else {
		bw_resolver_identity_remove(P.rv, id);
		bw_pol_staged_identity(id, NULL, 0);
	}
	pol_flush();
}

/* ---- repository ------------------------------------------------------------------ */

struct bw_resolver *bw_pol_resolver(void)
{
	return P.rv;
}

int bw_pol_enforcement(void)
{
	return P.enforcement;
}

int bw_pol_audit(void)
{
	return P.audit;
}

struct bw_pol *bw_pol_first(void)
{
	return P.list;
}

unsigned bw_policy_count(void)
{
	return (unsigned)P.count;
}

struct bw_pol *bw_pol_of_owner(void *owner)
{
	return owner;
}

static int pol_key_eq(const struct bw_pol *p, const char *kind, const char *ns,
		      const char *name)
{
	return !strcmp(p->ns, ns) && !strcmp(p->name, name) &&
	       (!kind || !strcmp(p->kind, kind));
}

struct bw_pol *bw_pol_find(const char *ns, const char *name, const char *kind,
			   int *ambiguous)
{
	struct bw_pol *found = NULL;

	if (ambiguous)
		*ambiguous = 0;
	for (struct bw_pol *p = P.list; p; p = p->next)
		if (pol_key_eq(p, kind, ns ? ns : "", name)) {
			if (found) {
				if (ambiguous)
					*ambiguous = 1;
				break;
			}
			found = p;
		}
	return found;
}

static void pol_free(struct bw_pol *p)
{
	if (!p)
		return;
	free(p->kind);
	free(p->ns);
	free(p->name);
	free(p->source);
	json_decref(p->doc);
	free(p->doc_text);
	free(p->refs);
	free(p);
}

static void pol_unlink(struct bw_pol *p)
{
	for (struct bw_pol **pp = &P.list; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			P.count--;
			return;
		}
}

/* Remove from the repository and the resolver; refs retire. */
static void pol_remove(struct bw_pol *p)
{
	pol_unlink(p);
	pol_release_refs(p);
	if (!p->staged)
		bw_resolver_policy_remove(P.rv, p->rv);
	bw_pol_staged_remove(p); /* a staged p's rules, or p's copy there */
	p->rv = NULL;
	pol_free(p);
}

json_t *bw_pol_to_json(const struct bw_pol *p, int full)
{
	char ts[32];
	struct tm tm;
	json_t *o;
	size_t nrules = p->rv ? p->rv->nrules : 0;

	gmtime_r(&p->updated, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	o = json_pack("{s:s,s:s,s:s,s:I,s:s,s:I,s:I,s:s,s:b}", "name", p->name,
		      "namespace", p->ns, "kind", p->kind, "revision",
		      (json_int_t)p->revision, "source", p->source, "rules_count",
		      (json_int_t)nrules, "selected_endpoints",
		      (json_int_t)(p->staged ? bw_pol_staged_selected(p)
				   : p->rv ? bw_resolver_policy_selected(P.rv, p->rv) : 0),
		      "updated", ts, "staged", p->staged);
	if (o && full)
		json_object_set(o, "rules", json_object_get(p->doc, "rules"));
	return o;
}

/* ---- persistence of the API set ---------------------------------------------------- */

/* After a change that was already stored: the rule refs only. */
static void pol_save(void)
{
	pol_refs_save();
}

/* ---- applying changes ------------------------------------------------------------------ */

struct pol_change {
	struct bw_pol_item *it;
	struct bw_pol *old;  /* version replaced (NULL: new policy) */
	struct bw_pol *nw;
	int moved;           /* the item's parts belong to nw */
};

/* Which current policies a batch keeps (bw_pol_state_write's keep()). */
struct pol_keep_ctx {
	const struct bw_pol_batch *b;
	const struct pol_change *ch;
	size_t nch;
	int replace;
	const char *source;
	const struct bw_pol *drop; /* bw_pol_delete's */
};

static int pol_keeps(const struct bw_pol *p, void *arg)
{
	const struct pol_keep_ctx *c = arg;

	if (p == c->drop)
		return 0;
	for (size_t i = 0; i < c->nch; i++)
		if (c->ch[i].old == p)
			return 0; /* its new version takes its place */
	if (!c->replace || !c->b || strcmp(p->source, c->source))
		return 1;
	for (size_t i = 0; i < c->b->n; i++)
		if (c->b->v[i].kind &&
		    pol_key_eq(p, c->b->v[i].kind, c->b->v[i].ns, c->b->v[i].name))
			return 1;
	return 0; /* replace: not in the batch, deleted */
}

int bw_pol_apply(struct bw_pol_batch *b, const char *source, int replace,
		 unsigned *nchanged, char *err, size_t errlen)
{
	struct pol_change *ch = b->n ? calloc(b->n, sizeof(*ch)) : NULL;
	size_t nch = 0;
	unsigned changed = 0;
	time_t now = time(NULL);
	struct bw_prefix failed = { 0 };
	int e = 0, deferring = 0;

	if (nchanged)
		*nchanged = 0;
	P.cidr_fail[0] = '\0';
	P.persist_fail[0] = '\0';
	if (b->n && !ch) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* 1. check: no policy of another source is taken over */
	for (size_t i = 0; i < b->n; i++) {
		struct bw_pol_item *it = &b->v[i];
		struct bw_pol *old = bw_pol_find(it->ns, it->name, it->kind, NULL);

		if (old && strcmp(old->source, source)) {
			snprintf(err, errlen,
				 "document %u (line %u): %s %s%s%s is already defined by %s%s; change it there",
				 it->doc_index, it->line, it->kind, it->ns,
				 *it->ns ? "/" : "", it->name,
				 strcmp(old->source, BW_POLICY_SOURCE_API) ? "file " : "the ",
				 strcmp(old->source, BW_POLICY_SOURCE_API) ? old->source
									 : "API-managed set");
			free(ch);
			return -EEXIST;
		}
		if (old && !strcmp(old->doc_text, it->doc_text))
			continue; /* unchanged */
		ch[nch].it = it;
		ch[nch].old = old;
		nch++;
	}
	/* 2a. room in the ipcache for their CIDR peers, before any is acquired */
	if (nch) {
		struct bw_rv_policy **pv = calloc(nch, sizeof(*pv));

		if (!pv) {
			free(ch);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		for (size_t i = 0; i < nch; i++)
			pv[i] = ch[i].it->rv;
		e = bw_pol_ipcache_room(pv, nch, err, errlen);
		free(pv);
		if (e < 0) {
			free(ch);
			return e;
		}
	}
	/*
	 * 2. the new versions join the resolver (CIDR identities acquired;
	 * their ipcache entries reach the kernel in one batch at the end)
	 */
	P.busy++;
	bw_ipcache_defer_begin();
	deferring = 1;
	for (size_t i = 0; i < nch; i++) {
		struct bw_pol *p = calloc(1, sizeof(*p));

		if (!p) {
			e = -ENOMEM;
			goto rollback;
		}
		p->kind = ch[i].it->kind;
		p->ns = ch[i].it->ns;
		p->name = ch[i].it->name;
		p->doc = ch[i].it->doc;
		p->doc_text = ch[i].it->doc_text;
		p->rv = ch[i].it->rv;
		p->rv->owner = p;
		p->staged = ch[i].it->staged;
		p->source = strdup(source);
		p->revision = ch[i].old ? ch[i].old->revision + 1 : 1;
		p->updated = now;
		ch[i].nw = p;
		if (!p->source) {
			e = -ENOMEM;
			goto rollback;
		}
		/* a staged policy joins the staged resolver instead (at the flush) */
		e = p->staged ? 0 : bw_resolver_policy_add(P.rv, p->rv);
		if (e < 0)
			goto rollback;
		/* the item's parts now belong to p */
		ch[i].it->kind = ch[i].it->ns = ch[i].it->name = NULL;
		ch[i].it->doc = NULL;
		ch[i].it->doc_text = NULL;
		ch[i].it->rv = NULL;
		ch[i].moved = 1;
	}
	deferring = 0;
	e = bw_ipcache_defer_end(&failed);
	if (e < 0) {
		if (failed.family)
			bw_prefix_format(&failed, 1, P.cidr_fail, sizeof(P.cidr_fail));
		goto rollback;
	}
	/*
	 * 3. persist first: the API-managed set as it will be is written
	 * (temporary file, fsync, rename) before anything is enforced, so
	 * that what a client was told is applied also survives a restart. If
	 * it cannot be written, nothing changes.
	 */
	if (!strcmp(source, BW_POLICY_SOURCE_API) && P.state_path && !P.restoring) {
		struct pol_keep_ctx kc = { b, ch, nch, replace, source, NULL };
		struct bw_pol **nw = nch ? calloc(nch, sizeof(*nw)) : NULL;
		int deleting = 0;

		for (struct bw_pol *q = P.list; q && replace; q = q->next)
			if (!strcmp(q->source, source) && !pol_keeps(q, &kc))
				deleting = 1;
		if (nch && !nw) {
			e = -ENOMEM;
			goto rollback;
		}
		for (size_t i = 0; i < nch; i++)
			nw[i] = ch[i].nw;
		e = nch || deleting ? bw_pol_state_write(P.state_path, pol_keeps, &kc, nw, nch) : 0;
		free(nw);
		if (e < 0) {
			snprintf(P.persist_fail, sizeof(P.persist_fail), "%s", P.state_path);
			goto rollback;
		}
	}
	if (nch)
		bw_pol_staged_changed();
	/* 4. swap versions: from here on nothing fails */
	for (size_t i = 0; i < nch; i++) {
		struct bw_pol *p = ch[i].nw;

		if (pol_assign_refs(p) < 0)
			bw_err("policy: out of memory assigning rule references of %s", p->name);
		if (ch[i].old)
			pol_remove(ch[i].old);
		p->next = P.list;
		P.list = p;
		P.count++;
		changed++;
		bw_info("policy: %s %s %s%s%s revision %llu from %s",
			ch[i].old ? "updated" : "added", p->kind, p->ns,
			*p->ns ? "/" : "", p->name, (unsigned long long)p->revision,
			p->source);
	}
	if (replace) {
		struct bw_pol *p = P.list, *next;

		for (; p; p = next) {
			int keep = 0;

			next = p->next;
			if (strcmp(p->source, source))
				continue;
			for (size_t i = 0; i < b->n && !keep; i++) {
				const char *kind = b->v[i].kind ? b->v[i].kind : NULL;

				/* moved items: compare with the new versions */
				if (kind && pol_key_eq(p, kind, b->v[i].ns, b->v[i].name))
					keep = 1;
			}
			for (size_t i = 0; i < nch && !keep; i++)
				if (ch[i].nw == p)
					keep = 1;
			if (keep)
				continue;
			bw_info("policy: deleted %s %s%s%s (no longer in %s)", p->kind,
				p->ns, *p->ns ? "/" : "", p->name, source);
			pol_remove(p);
			changed++;
		}
	}
	P.busy--;
	free(ch);
	if (changed) {
		P.repo_rev++;
		e = pol_flush();
		pol_refs_save();
		if (e < 0) {
			snprintf(err, errlen,
				 "the policy was stored but the datapath could not be updated: %s",
				 strerror(-e));
			return e;
		}
	}
	if (nchanged)
		*nchanged = changed;
	return 0;
rollback:
	if (deferring) /* written, then released with the claims below */
		bw_ipcache_defer_end(NULL);
	for (size_t i = 0; i < nch; i++) {
		struct bw_pol *p = ch[i].nw;

		if (!p)
			continue;
		if (ch[i].moved) {
			if (p->rv && p->rv->committed)
				bw_resolver_policy_remove(P.rv, p->rv); /* frees it */
			else
				bw_rv_policy_free(p->rv);
			ch[i].it->rv = NULL;
			ch[i].it->kind = ch[i].it->ns = ch[i].it->name = NULL;
			ch[i].it->doc = NULL;
			ch[i].it->doc_text = NULL;
			p->rv = NULL;
			pol_free(p);
		} else {
			free(p->source);
			free(p);
		}
	}
	P.busy--;
	/* what the failed adds marked resolves to the old state */
	pol_flush();
	free(ch);
	if (P.persist_fail[0])
		snprintf(err, errlen,
			 "nothing changed: cannot store the API-managed policies in %s: %s (they would not survive a restart; make room in daemon.state_dir)",
			 P.persist_fail, strerror(-e));
	else if (P.cidr_fail[0])
		snprintf(err, errlen, "cannot apply the policies: no identity for CIDR %s: %s",
			 P.cidr_fail, strerror(-e));
	else
		snprintf(err, errlen, "cannot apply the policies: %s", strerror(-e));
	return e;
}

int bw_pol_drop_source(const char *source)
{
	struct bw_pol *p = P.list, *next;
	int changed = 0;

	P.busy++;
	for (; p; p = next) {
		next = p->next;
		if (strcmp(p->source, source))
			continue;
		bw_info("policy: deleted %s %s%s%s (%s is gone)", p->kind, p->ns,
			*p->ns ? "/" : "", p->name, source);
		pol_remove(p);
		changed = 1;
	}
	P.busy--;
	if (!changed)
		return 0;
	P.repo_rev++;
	pol_refs_save();
	return pol_flush();
}

int bw_pol_delete(const char *ns, const char *name, const char *kind,
		  char *err, size_t errlen)
{
	int ambiguous;
	struct bw_pol *p = bw_pol_find(ns, name, kind, &ambiguous);
	int e;

	if (!p) {
		snprintf(err, errlen, "no policy %s%s%s%s%s", kind ? kind : "",
			 kind ? " " : "", ns && *ns ? ns : "", ns && *ns ? "/" : "", name);
		return -ENOENT;
	}
	if (ambiguous) {
		char kinds[256] = "";

		for (struct bw_pol *q = P.list; q; q = q->next)
			if (pol_key_eq(q, NULL, ns ? ns : "", name)) {
				if (kinds[0])
					strncat(kinds, ", ", sizeof(kinds) - strlen(kinds) - 1);
				strncat(kinds, q->kind, sizeof(kinds) - strlen(kinds) - 1);
			}
		snprintf(err, errlen,
			 "%s%s%s names policies of several kinds (%s); say which with --kind",
			 ns && *ns ? ns : "", ns && *ns ? "/" : "", name, kinds);
		return -EEXIST;
	}
	if (!strcmp(p->source, BW_POLICY_SOURCE_QUARANTINE)) {
		snprintf(err, errlen,
			 "%s %s%s%s is a quarantine; lift it with: bulwark quarantine delete %s%s%s",
			 p->kind, p->ns, *p->ns ? "/" : "", p->name, p->ns,
			 *p->ns ? "/" : "", p->name);
		return -EPERM;
	}
	if (strcmp(p->source, BW_POLICY_SOURCE_API)) {
		snprintf(err, errlen,
			 "%s %s%s%s comes from the file %s; remove it from that file",
			 p->kind, p->ns, *p->ns ? "/" : "", p->name, p->source);
		return -EPERM;
	}
	if (P.state_path) {
		struct pol_keep_ctx kc = { NULL, NULL, 0, 0, BW_POLICY_SOURCE_API, p };

		/* persist first: a delete that cannot be stored is not done */
		e = bw_pol_state_write(P.state_path, pol_keeps, &kc, NULL, 0);
		if (e < 0) {
			snprintf(err, errlen,
				 "nothing changed: cannot store the API-managed policies in %s: %s (make room in daemon.state_dir)",
				 P.state_path, strerror(-e));
			return e;
		}
	}
	bw_info("policy: deleted %s %s%s%s", p->kind, p->ns, *p->ns ? "/" : "",
		p->name);
	P.busy++;
	pol_remove(p);
	P.busy--;
	P.repo_rev++;
	e = pol_flush();
	pol_save();
	if (e < 0) {
		snprintf(err, errlen, "the datapath could not be updated: %s",
			 strerror(-e));
		return e;
	}
	return 0;
}

/* Restore the API-managed set from policies.json (policy_persist.c). */
static int pol_restore(void)
{
	int e;

	P.restoring = 1; /* the set comes from the file: not written back */
	e = bw_pol_state_restore(P.state_path);
	P.restoring = 0;
	return e;
}

/* ---- life cycle ----------------------------------------------------------------------- */

struct pol_fill {
	int err;
};

static int pol_fill_identity_cb(uint32_t id, const struct bw_labelset *labels,
				void *arg)
{
	struct pol_fill *f = arg;
	int e = bw_resolver_identity_add(P.rv, id, labels);

	if (e < 0)
		f->err = e;
	bw_pol_staged_identity(id, labels, 1);
	return 0;
}

static int pol_fill_endpoint_cb(struct bw_endpoint *ep, void *arg)
{
	struct pol_fill *f = arg;
	int e = pol_ep_set(ep);

	if (e < 0)
		f->err = e;
	return 0;
}

int bw_policy_recompute(void)
{
	struct pol_fill f = { 0 };
	int e;

	if (!P.inited)
		return -ENXIO;
	P.busy++;
	bw_identity_foreach(pol_fill_identity_cb, &f);
	bw_endpoint_foreach(pol_fill_endpoint_cb, &f);
	/* addresses restored by the FQDN module get their identities before
	 * the first flush, so the entries allowing them are never removed */
	bw_fqdn_relabel();
	P.busy--;
	if (f.err < 0) {
		bw_err("policy: cannot load identities and endpoints: %s",
		       strerror(-f.err));
		return f.err;
	}
	P.ready = 1;
	bw_pol_staged_changed();
	P.busy++;
	bw_pol_staged_reconcile();
	P.busy--;
	bw_resolver_mark_all(P.rv);
	bw_pol_staged_mark_all();
	e = bw_resolver_flush(P.rv);
	bw_pol_staged_flush();
	bw_fqdn_commit();
	if (e < 0)
		bw_err_errno(e,
			     "policy: the datapath could not be fully updated");
	return e;
}

int bw_policy_set_mode(int enforcement, int audit)
{
	static const char *const names[] = { "default", "always", "never" };
	struct bw_config cfg;
	int loosen, e;

	if (!P.inited)
		return -ENXIO;
	if (enforcement < BW_ENFORCE_DEFAULT || enforcement > BW_ENFORCE_NEVER)
		return -EINVAL;
	if (enforcement == P.enforcement && !!audit == P.audit)
		return 0;
	bw_notice("policy: enforcement %s, audit %s", names[enforcement],
		  audit ? "on" : "off");
	/*
	 * The order keeps verdicts right: a stricter mode gets its entries
	 * and endpoint flags first and the global switch last; a looser one
	 * the other way round.
	 */
	loosen = enforcement == BW_ENFORCE_NEVER ||
		 (P.enforcement == BW_ENFORCE_ALWAYS && enforcement == BW_ENFORCE_DEFAULT) ||
		 (audit && !P.audit);
	P.enforcement = enforcement;
	P.audit = !!audit;
	bw_policy_datapath_config(&cfg);
	if (loosen && P.ready) {
		e = bw_datapath_set_config(&cfg);
		if (e < 0)
			return e;
	}
	bw_resolver_set_mode(P.rv, P.enforcement, P.audit);
	bw_pol_staged_mode(P.enforcement, P.audit);
	P.repo_rev++;
	e = pol_flush();
	if (!loosen && P.ready) {
		int e2 = bw_datapath_set_config(&cfg);

		if (e2 < 0 && !e)
			e = e2;
	}
	return e;
}

void bw_policy_datapath_config(struct bw_config *cfg)
{
	const struct bw_daemon_conf *dc = bw_conf;

	bw_datapath_config_default(cfg);
	if (P.inited) {
		cfg->enforcement = (uint32_t)P.enforcement;
		cfg->flags = P.audit ? BW_CFG_F_AUDIT : 0;
	} else if (dc) {
		cfg->enforcement = (uint32_t)dc->enforcement;
		cfg->flags = dc->audit ? BW_CFG_F_AUDIT : 0;
	}
	if (dc) {
		unsigned mask;

		cfg->monitor_level = (uint32_t)dc->monitor_aggregation;
		cfg->monitor_interval_ms = (uint32_t)dc->monitor_interval;
		if (bw_conf_tcp_flags(dc->monitor_flags ? dc->monitor_flags : "all", &mask,
				      NULL, 0) == 0)
			cfg->monitor_tcp_flags = mask;
		if (!dc->trace_events)
			cfg->flags |= BW_CFG_F_NO_TRACE;
		if (!dc->drop_events)
			cfg->flags |= BW_CFG_F_NO_DROP;
		if (!dc->policy_verdict_events)
			cfg->flags |= BW_CFG_F_NO_POLICY_VERDICT;
		if (dc->host_routing)
			cfg->flags |= BW_CFG_F_HOST_ROUTING;
	}
}

static void pol_conf_changed(const struct bw_daemon_conf *old,
			     const struct bw_daemon_conf *cur, void *arg)
{
	bw_policy_set_mode(cur->enforcement, cur->audit);
	if (old && cur && P.ready &&
	    (!old->trace_events != !cur->trace_events ||
	     !old->drop_events != !cur->drop_events ||
	     !old->policy_verdict_events != !cur->policy_verdict_events ||
	     old->monitor_aggregation != cur->monitor_aggregation ||
	     old->monitor_interval != cur->monitor_interval ||
	     old->host_routing != cur->host_routing ||
	     strcmp(old->monitor_flags ? old->monitor_flags : "",
		    cur->monitor_flags ? cur->monitor_flags : ""))) {
		struct bw_config cfg;

		/* the event switches: only the datapath's config changes */
		bw_policy_datapath_config(&cfg);
		bw_datapath_set_config(&cfg);
		bw_notice("flows: datapath events: trace %s, drop %s, policy verdict %s; "
			  "monitor aggregation level %d; host routing %s",
			  cur->trace_events ? "on" : "off", cur->drop_events ? "on" : "off",
			  cur->policy_verdict_events ? "on" : "off", cur->monitor_aggregation,
			  cur->host_routing ? "bpf" : "kernel");
	}
	if (old && cur && strcmp(old->policy_dir ? old->policy_dir : "",
				 cur->policy_dir ? cur->policy_dir : ""))
		bw_warn("policy: policy.dir changed: needs a restart");
	else
		bw_policydir_rescan();
}

static char *pol_path(const char *dir, const char *file)
{
	size_t len = strlen(dir) + strlen(file) + 2;
	char *p = malloc(len);

	if (p)
		snprintf(p, len, "%s/%s", dir, file);
	return p;
}

int bw_policy_init(struct event_base *base)
{
	struct bw_resolver_ops ops = {
		.sync = pol_sync,
		.cidr_acquire = bw_pol_cidr_acquire,
		.cidr_release = bw_pol_cidr_release,
		.fqdn_selector = bw_pol_fqdn_selector,
		.proxy_class = bw_pol_proxy_class,
		.split_acquire = bw_pol_split_acquire,
		.split_release = bw_pol_split_release,
		.split_map = bw_pol_split_map,
	};
	const struct bw_daemon_conf *dc = bw_conf;
	int e;

	if (P.inited)
		return -EALREADY;
	memset(&P, 0, sizeof(P));
	P.base = base;
	P.rv = bw_resolver_new(&ops);
	if (!P.rv)
		return -ENOMEM;
	rv_map_init(&P.refs);
	rv_map_init(&P.refkeys);
	P.next_ref = 1;
	P.enforcement = dc ? dc->enforcement : BW_ENFORCE_DEFAULT;
	P.audit = dc ? !!dc->audit : 0;
	bw_resolver_set_mode(P.rv, P.enforcement, P.audit);
	P.inited = 1;
	/* From here on the registries tell us about changes (CIDR identities
	 * acquired while the API-managed set is restored among them). */
	if (bw_identity_watch(pol_identity_event, NULL) < 0 ||
	    bw_endpoint_watch(pol_endpoint_event, NULL) < 0) {
		bw_policy_fini();
		return -ENOMEM;
	}
	if (dc && dc->state_dir && *dc->state_dir) {
		P.state_path = pol_path(dc->state_dir, "policies.json");
		P.refs_path = pol_path(dc->state_dir, "policy-refs.json");
		if (!P.state_path || !P.refs_path) {
			bw_policy_fini();
			return -ENOMEM;
		}
		e = pol_refs_load();
		if (e < 0) {
			bw_policy_fini();
			return e;
		}
	}
	if (P.state_path) {
		e = pol_restore();
		if (e < 0) {
			bw_policy_fini();
			return e;
		}
	}
	bw_conf_watch(pol_conf_changed, NULL);
	return 0;
}

int bw_policy_start(void)
{
	if (!P.inited)
		return -ENXIO;
	pol_refs_retire_orphans();
	pol_refs_save();
	return bw_policy_recompute();
}

static void pol_free_ref_cb(void *val, void *arg)
{
	pol_ref_free(val);
}

void bw_policy_fini(void)
{
	if (!P.inited)
		return;
	P.inited = 0; /* no more events from identities torn down after us */
	bw_identity_unwatch(pol_identity_event, NULL);
	bw_endpoint_unwatch(pol_endpoint_event, NULL);
	bw_policydir_stop(); /* bulwarkd stops it first; a guard for the rest */
	bw_api_status_remove("policy");
	bw_pol_staged_fini();
	while (P.list) {
		struct bw_pol *p = P.list;

		P.list = p->next;
		pol_free(p);
	}
	/* the resolver frees the compiled policies; CIDR ids are dropped with it */
	bw_resolver_free(P.rv);
	rv_map_foreach(&P.refs, pol_free_ref_cb, NULL);
	rv_map_clear(&P.refs);
	rv_map_clear(&P.refkeys);
	free(P.state_path);
	free(P.refs_path);
	memset(&P, 0, sizeof(P));
}
