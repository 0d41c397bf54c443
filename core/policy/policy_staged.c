/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/policy_staged.c - staged policies: resolved, never enforced.
 *
 * A policy whose input carries the annotation `bulwark.io/staged: "true"`
 * (or whose canonical object has "staged": true) is kept in the repository
 * like any other, with its revision and rule refs, but its compiled rules
 * join a second resolver instead of the one that writes the datapath: the
 * staged resolver holds the enforced policies (a compiled copy of each)
 * plus the staged ones, and is fed the same identities, endpoints and
 * mode. Its output never reaches the maps; its sync callback keeps each
 * endpoint's entries expanded exactly as bw_datapath_policy_sync() would
 * write them, and bw_policy_staged_verdict() looks a connection up in them
 * with the datapath's own decision (bw_datapath_policy_lookup_set()). So a
 * staged verdict is "what the kernel would decide if the staged policies
 * were enforced now", from the same resolver code, never a second
 * evaluator. Removing the annotation makes the policy an ordinary one: it
 * leaves this resolver and joins the enforcing one.
 *
 * The staged resolver exists only while at least one staged policy does
 * (it doubles the resolver's memory). policy.c calls the hooks below at
 * the few places where it feeds its own resolver; the repository's changes
 * are reconciled here in one place (bw_pol_staged_reconcile()), after each
 * batch, so the order in which a batch adds and removes versions does not
 * matter.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/config.h" /* before bw_datapath.h: its BW_ENFORCE_* macros */
#include "core/datapath/datapath.h"
#include "core/log.h"
#include "core/policy/policy.h"
#include "core/policy/policy_int.h"
#include "core/policy/resolver.h"
#include "core/policy/resolver_int.h"

#define STG_ANNOTATION "bulwark.io/staged"

/* One endpoint's entries as the datapath would hold them. */
struct stg_ep {
	struct bw_policy_kv *kv;
	size_t n;
};

static struct {
	struct bw_resolver *rv; /* NULL while no staged policy exists */
	struct rv_map eps;      /* u32 ep_id -> struct stg_ep */
	int eps_init;
	int dirty;              /* the repository changed: reconcile */
	int busy;
	uint64_t lookups;
} S;

/* ---- the annotation ---------------------------------------------------------- */

int
bw_pol_staged_annotation(const char *input, size_t len, json_t *canon,
			 char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc = json_loadb(input, len, 0, &jerr);
	int rc = bw_pol_staged_annotation_obj(doc, canon, err, errlen);

	json_decref(doc);
	return rc;
}

int
bw_pol_staged_annotation_obj(json_t *doc, json_t *canon, char *err,
			     size_t errlen)
{
	json_t *v;
	const char *s;
	int staged = -1;

	if (json_is_true(json_object_get(canon, "staged")))
		staged = 1; /* the format said so itself */
	v = json_object_get(json_object_get(json_object_get(doc, "metadata"),
					    "annotations"), STG_ANNOTATION);
	if (v != NULL) {
		s = json_string_value(v);
		if (s == NULL || (strcmp(s, "true") && strcmp(s, "false"))) {
			snprintf(err, errlen,
				 "metadata.annotations.%s: must be \"true\" or \"false\"",
				 STG_ANNOTATION);
			return -EINVAL;
		}
		staged = !strcmp(s, "true");
	}
	if (staged == 1)
		json_object_set_new(canon, "staged", json_true());
	else
		json_object_del(canon, "staged");
	return 0;
}

/* ---- the staged resolver --------------------------------------------------------- */

static void
stg_ep_free(void *val, void *arg)
{
	struct stg_ep *e = val;

	free(e->kv);
	free(e);
}

static int
stg_sync(void *arg, const struct bw_rv_endpoint_desc *ep, uint32_t flags,
	 const struct bw_rv_entry *e, size_t n, int stricter, int first)
{
	struct bw_policy_entry_spec *specs = n ? calloc(n, sizeof(*specs)) : NULL;
	struct stg_ep *se;
	struct bw_policy_kv *kv = NULL;
	size_t nkv = 0;
	int rc;

	if (n && specs == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		specs[i].identity = e[i].identity;
		specs[i].direction = e[i].direction;
		specs[i].protocol = e[i].protocol;
		specs[i].port_lo = e[i].port_lo;
		specs[i].port_hi = e[i].port_hi;
		specs[i].deny = e[i].deny;
		specs[i].rule_ref = e[i].rule_ref;
		specs[i].proxy_class = e[i].proxy_class;
	}
	rc = bw_datapath_policy_expand(ep->ep_id, specs, n, &kv, &nkv);
	free(specs);
	if (rc < 0)
		return rc;
	se = rv_map_get(&S.eps, &ep->ep_id, sizeof(ep->ep_id));
	if (se == NULL) {
		if ((se = calloc(1, sizeof(*se))) == NULL ||
		    rv_map_put(&S.eps, &ep->ep_id, sizeof(ep->ep_id), se) < 0) {
			free(se);
			free(kv);
			return -ENOMEM;
		}
	}
	free(se->kv);
	se->kv = kv;
	se->n = nkv;
	return 0;
}

static void
stg_copy_ident_cb(void *val, void *arg)
{
	struct rv_ident *id = val;

	if (bw_resolver_identity_add(arg, id->id, id->labels) < 0)
		bw_err("policy: staged policies: identity %u: out of memory", id->id);
}

static void
stg_copy_ep_cb(void *val, void *arg)
{
	const struct bw_rv_endpoint *ep = val;
	struct bw_rv_endpoint_desc d = {
		.ep_id = ep->ep_id, .ifindex = ep->ifindex, .identity = ep->identity,
		.ns = ep->ns, .pod = ep->pod, .audit = ep->audit,
		.addrs = ep->addrs, .naddrs = ep->naddrs,
		.ports = ep->ports, .nports = ep->nports,
	};

	if (bw_resolver_endpoint_set(arg, &d) < 0)
		bw_err("policy: staged policies: endpoint %s/%s: out of memory",
		       d.ns, d.pod);
}

/* A resolver with the enforcing resolver's identities and endpoints. */
static int
stg_build(void)
{
	struct bw_resolver_ops ops = {
		.sync = stg_sync,
		.cidr_acquire = bw_pol_cidr_acquire,
		.cidr_release = bw_pol_cidr_release,
		.fqdn_selector = bw_pol_fqdn_selector,
		.proxy_class = bw_pol_proxy_class,
	};
	struct bw_resolver *main_rv = bw_pol_resolver();

	if ((S.rv = bw_resolver_new(&ops)) == NULL)
		return -ENOMEM;
	if (!S.eps_init) {
		rv_map_init(&S.eps);
		S.eps_init = 1;
	}
	bw_resolver_set_mode(S.rv, bw_pol_enforcement(), bw_pol_audit());
	rv_map_foreach(&main_rv->idents, stg_copy_ident_cb, S.rv);
	rv_map_foreach(&main_rv->eps, stg_copy_ep_cb, S.rv);
	bw_info("policy: staged policies present: resolving them apart from the enforced set");
	return 0;
}

static void
stg_teardown(void)
{
	for (struct bw_pol *p = bw_pol_first(); p; p = p->next)
		if (p->srv != NULL) {
			bw_resolver_policy_remove(S.rv, p->srv); /* frees it */
			p->srv = NULL;
		}
	/* the CIDR identities of the removed copies go back after a flush */
	bw_resolver_flush(S.rv);
	bw_resolver_free(S.rv);
	S.rv = NULL;
	rv_map_foreach(&S.eps, stg_ep_free, NULL);
	rv_map_clear(&S.eps);
	rv_map_init(&S.eps);
	bw_info("policy: no staged policy left");
}

/* A compiled copy of p's rules for the staged resolver. */
static struct bw_rv_policy *
stg_copy(struct bw_pol *p)
{
	char err[512];
	struct bw_rv_policy *c = bw_rv_policy_compile(json_object_get(p->doc, "rules"),
						      err, sizeof(err));

	if (c == NULL) {
		bw_err("policy: staged policies: cannot compile a copy of %s %s%s%s: %s",
		       p->kind, p->ns, *p->ns ? "/" : "", p->name, err);
		return NULL;
	}
	c->owner = p;
	return c;
}

void
bw_pol_staged_changed(void)
{
	S.dirty = 1;
}

void
bw_pol_staged_reconcile(void)
{
	int any = 0;

	if (!S.dirty || S.busy)
		return;
	S.busy = 1;
	S.dirty = 0;
	for (struct bw_pol *p = bw_pol_first(); p && !any; p = p->next)
		any = p->staged;
	if (!any) {
		if (S.rv != NULL)
			stg_teardown();
		S.busy = 0;
		return;
	}
	if (S.rv == NULL && stg_build() < 0) {
		bw_err("policy: staged policies: out of memory; they are not evaluated");
		S.busy = 0;
		return;
	}
	for (struct bw_pol *p = bw_pol_first(); p; p = p->next) {
		if (p->staged) {
			if (p->rv != NULL && !p->rv->committed &&
			    bw_resolver_policy_add(S.rv, p->rv) < 0)
				bw_err("policy: staged %s %s%s%s cannot be resolved (CIDR identities)",
				       p->kind, p->ns, *p->ns ? "/" : "", p->name);
			continue;
		}
		if (p->srv != NULL || (p->srv = stg_copy(p)) == NULL)
			continue;
		if (bw_resolver_policy_add(S.rv, p->srv) < 0) {
			bw_err("policy: staged policies: cannot add a copy of %s %s%s%s",
			       p->kind, p->ns, *p->ns ? "/" : "", p->name);
			bw_rv_policy_free(p->srv);
			p->srv = NULL;
		}
	}
	S.busy = 0;
}

void
bw_pol_staged_remove(struct bw_pol *p)
{
	S.dirty = 1;
	if (p->staged) {
		if (p->rv != NULL && p->rv->committed && S.rv != NULL)
			bw_resolver_policy_remove(S.rv, p->rv); /* frees it */
		else
			bw_rv_policy_free(p->rv);
		p->rv = NULL;
	}
	if (p->srv != NULL) {
		if (S.rv != NULL)
			bw_resolver_policy_remove(S.rv, p->srv);
		else
			bw_rv_policy_free(p->srv);
		p->srv = NULL;
	}
}

void
bw_pol_staged_identity(uint32_t id, const struct bw_labelset *ls, int added)
{
	if (S.rv == NULL)
		return;
	if (added && ls != NULL)
		bw_resolver_identity_add(S.rv, id, ls);
	else if (!added)
		bw_resolver_identity_remove(S.rv, id);
}

void
bw_pol_staged_endpoint(const struct bw_rv_endpoint_desc *d, uint32_t removed_id)
{
	struct stg_ep *se;

	if (S.rv == NULL)
		return;
	if (d != NULL) {
		bw_resolver_endpoint_set(S.rv, d);
		return;
	}
	bw_resolver_endpoint_remove(S.rv, removed_id);
	if ((se = rv_map_del(&S.eps, &removed_id, sizeof(removed_id))) != NULL)
		stg_ep_free(se, NULL);
}

void
bw_pol_staged_mode(int enforcement, int audit)
{
	if (S.rv != NULL)
		bw_resolver_set_mode(S.rv, enforcement, audit);
}

void
bw_pol_staged_mark_all(void)
{
	if (S.rv != NULL)
		bw_resolver_mark_all(S.rv);
}

void
bw_pol_staged_flush(void)
{
	if (S.rv != NULL && !S.busy)
		bw_resolver_flush(S.rv);
}

unsigned
bw_pol_staged_selected(const struct bw_pol *p)
{
	return S.rv != NULL && p->rv != NULL && p->rv->committed
		       ? bw_resolver_policy_selected(S.rv, p->rv)
		       : 0;
}

void
bw_pol_staged_fini(void)
{
	for (struct bw_pol *p = bw_pol_first(); p; p = p->next) {
		if (p->staged && p->rv != NULL && !p->rv->committed) {
			bw_rv_policy_free(p->rv);
			p->rv = NULL;
		}
		p->srv = NULL; /* the resolver frees its compiled policies */
	}
	if (S.rv != NULL)
		bw_resolver_free(S.rv);
	S.rv = NULL;
	if (S.eps_init) {
		rv_map_foreach(&S.eps, stg_ep_free, NULL);
		rv_map_clear(&S.eps);
		S.eps_init = 0;
	}
	S.dirty = S.busy = 0;
}

/* ---- queries ------------------------------------------------------------------------ */

int
bw_policy_staged_active(void)
{
	return S.rv != NULL;
}

/*
 * The staged policies whose rules select ep_id and say something about
 * direction dir (entries, or default deny). Fills up to max, returns how
 * many there are.
 */
size_t
bw_policy_staged_selecting(uint32_t ep_id, int dir, const struct bw_pol **out,
			   size_t max, int isolating_only)
{
	const struct bw_rv_endpoint *ep;
	size_t n = 0;

	if (S.rv == NULL || dir < 1 || dir > 2 ||
	    (ep = rv_map_get(&S.rv->eps, &ep_id, sizeof(ep_id))) == NULL ||
	    ep->identity == 0)
		return 0;
	for (const struct bw_pol *p = bw_pol_first(); p; p = p->next) {
		int hit = 0;

		if (!p->staged || p->rv == NULL || !p->rv->committed)
			continue;
		for (size_t i = 0; i < p->rv->nrules && !hit; i++) {
			const struct bw_rv_rule *ru = &p->rv->rules[i];

			if (ru->subject == NULL || !rv_ids_has(&ru->subject->ids, ep->identity))
				continue;
			hit = ru->default_deny[dir] ||
			      (!isolating_only && ru->nentries[dir] > 0);
		}
		if (!hit)
			continue;
		if (n < max)
			out[n] = p;
		n++;
	}
	return n;
}

int
bw_policy_staged_state(uint32_t ep_id, uint32_t *flags)
{
	if (S.rv == NULL)
		return -ENOENT;
	return bw_resolver_endpoint_state(S.rv, ep_id, flags, NULL, NULL);
}

int
bw_policy_staged_verdict(uint32_t ep_id, int dir, uint32_t peer_id,
			 uint8_t proto, uint16_t port,
			 struct bw_policy_staged_verdict *out)
{
	uint32_t flags = 0, bit;
	const struct bw_pol *sel[1];
	const struct stg_ep *se;
	struct bw_policy_verdict v;
	int enforced, mode = bw_pol_enforcement();

	memset(out, 0, sizeof(*out));
	if (S.rv == NULL)
		return 0;
	/* only where a staged policy has something to say */
	if (bw_policy_staged_selecting(ep_id, dir, sel, 1, 0) == 0)
		return 0;
	if (bw_resolver_endpoint_state(S.rv, ep_id, &flags, NULL, NULL) < 0)
		return 0;
	S.lookups++;
	out->applies = 1;
	bit = dir == BW_DIR_INGRESS ? BW_EP_F_ENFORCE_INGRESS : BW_EP_F_ENFORCE_EGRESS;
	enforced = mode == BW_ENFORCE_ALWAYS || (mode != BW_ENFORCE_NEVER && (flags & bit));
	if (!enforced) {
		out->allowed = 1;
		return 1;
	}
	se = rv_map_get(&S.eps, &ep_id, sizeof(ep_id));
	bw_datapath_policy_lookup_set(se ? se->kv : NULL, se ? se->n : 0, ep_id,
				      peer_id, (uint8_t)dir, proto, port, &v);
	out->allowed = v.allowed;
	out->rule_ref = v.rule_ref;
	if (!v.allowed && v.rule_ref == 0) {
		void *owners[BW_POLICY_STAGED_MAX];
		size_t n = bw_resolver_isolating(S.rv, ep_id, dir, owners,
						 BW_POLICY_STAGED_MAX);

		for (size_t i = 0; i < n && i < BW_POLICY_STAGED_MAX; i++)
			out->isolating[out->nisolating++] = bw_pol_of_owner(owners[i]);
	}
	return 1;
}
