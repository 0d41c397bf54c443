/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/policy_query.c - questions about the live policy that the
 * adoption tools ask (exposure, compliance), answered from the state the
 * kernel holds, the way `bulwark policy trace` answers.
 *
 * Reach: "can a peer of class C (the world, pods of other namespaces)
 * open a connection to (ingress) or from (egress) endpoint E, and by which
 * rules?". Enforcement comes from the endpoint flags the resolver last
 * wrote (what the datapath holds); verdicts come from
 * bw_datapath_policy_lookup() on the pinned policy map, with the kernel's
 * precedence. Rules are never evaluated here: the question is turned into
 * a handful of lookups at the points where an answer can change.
 *
 *  - Candidate allow entries are E's resolved entries (the map's content)
 *    in that direction whose peer is identity 0 (any peer) or an identity
 *    of the class.
 *  - Probe identities: the entry's own identity; for an identity-0 entry
 *    every identity of the class that has a deny entry of its own (only
 *    those can be treated differently), plus one identity of the class
 *    without one: for the world identity 2 (the ipcache's answer for any
 *    unknown address); for other namespaces an identity no entry names,
 *    which stands for pods of other namespaces that are not on this node
 *    (only identity-0 entries apply to them, as in the kernel).
 *  - Probe ports: the entry's first and last port, and the ports next to
 *    every deny range of the same protocol that overlaps it, so that a
 *    deny carving a hole into an allow is seen.
 *  A class is "allowed" when one probe is allowed; the rule refs of the
 *  allowing probes name the policies.
 *
 * Isolation: whether E is default-deny in a direction, by which policies,
 * in enforce or audit mode, and which staged policies would isolate it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h" /* before bw_datapath.h: its BW_ENFORCE_* macros */
#include "core/datapath/datapath.h"
#include "core/node/endpoint.h"
#include "core/node/identity.h"
#include "core/node/labels.h"
#include "core/policy/policy.h"
#include "core/policy/policy_int.h"
#include "core/policy/resolver.h"
#include "core/policy/resolver_int.h"

/* An identity number no entry names: "a pod elsewhere in the cluster". */
#define PQ_ELSEWHERE_ID 0x00fffffeu

struct pq_class {
	int cls;
	const char *ns;      /* the endpoint's namespace (other-namespace class) */
	uint32_t *ids;
	size_t n, cap;
};

static int
pq_ids_add(struct pq_class *c, uint32_t id)
{
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 32;
		uint32_t *v = realloc(c->ids, nc * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		c->ids = v;
		c->cap = nc;
	}
	c->ids[c->n++] = id;
	return 0;
}

static int
pq_is_member(const struct pq_class *c, const struct rv_ident *id)
{
	const struct bw_label *l;

	switch (c->cls) {
	case BW_POLICY_PEER_WORLD:
		return id->id == BW_ID_WORLD || id->id == BW_ID_WORLD_IPV4 ||
		       id->id == BW_ID_WORLD_IPV6 || id->world;
	case BW_POLICY_PEER_OTHER_NAMESPACES:
		if (id->id < BW_IDENTITY_MIN_GLOBAL || id->id >= BW_ID_LOCAL_SCOPE)
			return 0;
		l = bw_labelset_get(id->labels, BW_LABEL_SOURCE_K8S, BW_LABEL_POD_NAMESPACE);
		return l != NULL && strcmp(l->value, c->ns) != 0;
	}
	return 0;
}

static void
pq_collect_cb(void *val, void *arg)
{
	struct pq_class *c = arg;
	const struct rv_ident *id = val;

	if (pq_is_member(c, id))
		pq_ids_add(c, id->id);
}

static int
pq_in(const struct pq_class *c, uint32_t id)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->ids[i] == id)
			return 1;
	return 0;
}

/* Ports where the verdict of allow entry a can change (at most 8). */
static size_t
pq_ports(const struct bw_rv_entry *a, const struct bw_rv_entry *e, size_t n,
	 int dir, uint32_t id, uint16_t *out)
{
	size_t k = 0;

	out[k++] = a->port_lo;
	if (a->port_hi != a->port_lo)
		out[k++] = a->port_hi;
	for (size_t i = 0; i < n && k + 2 <= 8; i++) {
		const struct bw_rv_entry *d = &e[i];

		if (!d->deny || d->direction != dir || (d->identity && d->identity != id) ||
		    (d->protocol && a->protocol && d->protocol != a->protocol))
			continue;
		if (a->port_hi == 0 && a->port_lo == 0) {
			/* the allow covers every port: probe around the deny */
			if (d->port_lo > 0)
				out[k++] = (uint16_t)(d->port_lo - 1);
			if (d->port_hi < 65535 && (d->port_hi || d->port_lo))
				out[k++] = (uint16_t)(d->port_hi + 1);
			continue;
		}
		if (d->port_hi < a->port_lo || d->port_lo > a->port_hi)
			continue;
		if (d->port_lo > a->port_lo)
			out[k++] = (uint16_t)(d->port_lo - 1);
		if (d->port_hi < a->port_hi)
			out[k++] = (uint16_t)(d->port_hi + 1);
	}
	return k;
}

static void
pq_add_ref(struct bw_policy_reach *out, uint32_t ref)
{
	if (ref == 0)
		return;
	for (size_t i = 0; i < out->nrefs; i++)
		if (out->refs[i] == ref)
			return;
	if (out->nrefs < BW_POLICY_REACH_REFS)
		out->refs[out->nrefs++] = ref;
}

/* Probe one identity against allow entry a; 1 when some probe is allowed. */
static int
pq_probe(uint32_t ep_id, int dir, const struct bw_rv_entry *a,
	 const struct bw_rv_entry *e, size_t n, uint32_t id,
	 struct bw_policy_reach *out)
{
	uint16_t ports[8];
	size_t np = pq_ports(a, e, n, dir, id, ports);
	uint8_t protos[3] = { a->protocol, 0, 0 };
	size_t nprotos = 1;
	int hit = 0;

	if (a->protocol == 0) { /* every protocol: TCP and UDP tell */
		protos[0] = 6;
		protos[1] = 17;
		nprotos = 2;
	}
	for (size_t p = 0; p < nprotos; p++)
		for (size_t i = 0; i < np; i++) {
			struct bw_policy_verdict v;

			if (bw_datapath_policy_lookup(ep_id, id, (uint8_t)dir, protos[p],
						      ports[i], &v) < 0)
				continue;
			if (v.allowed) {
				pq_add_ref(out, v.rule_ref);
				hit = 1;
			}
		}
	return hit;
}

int
bw_policy_reach(uint32_t ep_id, int dir, int cls, struct bw_policy_reach *out)
{
	struct bw_resolver *rv = bw_pol_resolver();
	struct bw_endpoint *ep = bw_endpoint_find_by_id(ep_id);
	const struct bw_rv_entry *e = NULL;
	struct pq_class c = { cls, NULL, NULL, 0, 0 };
	uint32_t flags = 0, bit, rep;
	size_t n = 0;
	int mode = bw_pol_enforcement();

	memset(out, 0, sizeof(*out));
	if (rv == NULL || ep == NULL || (dir != BW_DIR_INGRESS && dir != BW_DIR_EGRESS) ||
	    (cls != BW_POLICY_PEER_WORLD && cls != BW_POLICY_PEER_OTHER_NAMESPACES))
		return -EINVAL;
	if (bw_resolver_endpoint_state(rv, ep_id, &flags, &e, &n) < 0)
		return -ENOENT;
	bit = dir == BW_DIR_INGRESS ? BW_EP_F_ENFORCE_INGRESS : BW_EP_F_ENFORCE_EGRESS;
	out->enforced = mode == BW_ENFORCE_ALWAYS || (mode != BW_ENFORCE_NEVER && (flags & bit));
	out->audit = (flags & BW_EP_F_AUDIT) || bw_pol_audit();
	if (!out->enforced) {
		out->allowed = 1; /* nothing selects it: everything gets through */
		return 0;
	}
	c.ns = bw_endpoint_ns(ep);
	rv_map_foreach(&rv->idents, pq_collect_cb, &c);
	if (cls == BW_POLICY_PEER_WORLD) {
		rep = BW_ID_WORLD;
		if (!pq_in(&c, rep))
			pq_ids_add(&c, rep);
	} else {
		rep = PQ_ELSEWHERE_ID;
		while (bw_resolver_identity_known(rv, rep))
			rep--;
	}
	for (size_t i = 0; i < n; i++) {
		const struct bw_rv_entry *a = &e[i];

		if (a->deny || a->direction != dir)
			continue;
		if (a->identity != 0) {
			if (pq_in(&c, a->identity))
				out->allowed |= pq_probe(ep_id, dir, a, e, n, a->identity, out);
			continue;
		}
		/* any peer: the class members with denies of their own, and one without */
		out->allowed |= pq_probe(ep_id, dir, a, e, n, rep, out);
		for (size_t k = 0; k < c.n; k++) {
			int own_deny = 0;

			for (size_t j = 0; j < n && !own_deny; j++)
				own_deny = e[j].deny && e[j].direction == dir &&
					   e[j].identity == c.ids[k];
			if (own_deny)
				out->allowed |= pq_probe(ep_id, dir, a, e, n, c.ids[k], out);
		}
	}
	free(c.ids);
	return 0;
}

int
bw_policy_isolation(uint32_t ep_id, int dir, struct bw_policy_isolation *out)
{
	struct bw_resolver *rv = bw_pol_resolver();
	uint32_t flags = 0, sflags = 0, bit;
	void *owners[BW_POLICY_ISOLATION_MAX];
	const struct bw_pol *staged[BW_POLICY_ISOLATION_MAX];
	size_t n;
	int mode = bw_pol_enforcement();

	memset(out, 0, sizeof(*out));
	if (rv == NULL || (dir != BW_DIR_INGRESS && dir != BW_DIR_EGRESS))
		return -EINVAL;
	if (bw_resolver_endpoint_state(rv, ep_id, &flags, NULL, NULL) < 0)
		return -ENOENT;
	bit = dir == BW_DIR_INGRESS ? BW_EP_F_ENFORCE_INGRESS : BW_EP_F_ENFORCE_EGRESS;
	out->audit = (flags & BW_EP_F_AUDIT) || bw_pol_audit();
	out->enforcement_always = mode == BW_ENFORCE_ALWAYS;
	n = bw_resolver_isolating(rv, ep_id, dir, owners, BW_POLICY_ISOLATION_MAX);
	/*
	 * Default deny needs a policy that isolates the endpoint: a direction
	 * enforced only to carry deny entries, L7 ports or proxy visibility
	 * has an allow-everything entry under them (resolver_entries.c).
	 */
	out->default_deny = mode == BW_ENFORCE_ALWAYS ||
			    (mode != BW_ENFORCE_NEVER && (flags & bit) && n > 0);
	for (size_t i = 0; i < n && i < BW_POLICY_ISOLATION_MAX; i++)
		out->policies[out->npolicies++] = bw_pol_of_owner(owners[i]);
	n = bw_policy_staged_selecting(ep_id, dir, staged, BW_POLICY_ISOLATION_MAX, 1);
	for (size_t i = 0; i < n && i < BW_POLICY_ISOLATION_MAX; i++)
		out->staged[out->nstaged++] = staged[i];
	if (bw_policy_staged_state(ep_id, &sflags) == 0)
		out->staged_default_deny = mode == BW_ENFORCE_ALWAYS ||
					   (mode != BW_ENFORCE_NEVER && (sflags & bit));
	return 0;
}

void
bw_policy_describe(const struct bw_pol *p, const char **kind, const char **ns,
		   const char **name, uint64_t *revision)
{
	*kind = p->kind;
	*ns = p->ns;
	*name = p->name;
	if (revision != NULL)
		*revision = p->revision;
}

/* ---- export (the advisor's view of the rules) ------------------------------------ */

static int
pq_pol_cmp(const void *a, const void *b)
{
	const struct bw_pol *x = *(const struct bw_pol *const *)a;
	const struct bw_pol *y = *(const struct bw_pol *const *)b;
	int c = strcmp(x->kind, y->kind);

	if (c == 0)
		c = strcmp(x->ns, y->ns);
	return c ? c : strcmp(x->name, y->name);
}

json_t *
bw_policy_export(void)
{
	json_t *arr = json_array(), *doc;
	const struct bw_pol **v;
	size_t n = 0, i = 0;

	for (const struct bw_pol *p = bw_pol_first(); p; p = p->next)
		n++;
	if (arr == NULL || (v = calloc(n ? n : 1, sizeof(*v))) == NULL) {
		json_decref(arr);
		return NULL;
	}
	for (const struct bw_pol *p = bw_pol_first(); p; p = p->next)
		v[i++] = p;
	qsort(v, n, sizeof(*v), pq_pol_cmp);
	for (i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:I,s:b,s:O}",
						     "kind", v[i]->kind, "namespace", v[i]->ns,
						     "name", v[i]->name, "source", v[i]->source,
						     "revision", (json_int_t)v[i]->revision,
						     "staged", v[i]->staged, "rules",
						     json_object_get(v[i]->doc, "rules")));
	free(v);
	doc = json_pack("{s:o}", "policies", arr);
	return doc;
}
