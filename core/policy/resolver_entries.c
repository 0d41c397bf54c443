/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/resolver_entries.c - one endpoint's policy map entries.
 *
 * For each rule whose subject selects the endpoint's identity, each entry of
 * each direction becomes (peer identities) x (ports, ICMP types, or every
 * protocol) policy map entries. The result is normalised so that what the
 * kernel holds is exactly what the rules mean under its LPM lookup:
 *  - port ranges become power-of-two aligned blocks (one trie entry each);
 *  - equal keys keep one entry: a deny over an allow, else the lowest ref;
 *  - an allow that a deny of the same peer identity and direction covers is
 *    dropped, because the trie would prefer the longer (allow) prefix while
 *    the rules say the deny wins. Denies of identity 0 need no such help:
 *    the datapath looks up both the peer's and the wildcard identity and a
 *    deny in either wins.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h" /* before bw_datapath.h: its BW_ENFORCE_* macros */
#include "bpf/bw_datapath.h"
#include "core/policy/resolver.h"
#include "core/policy/resolver_int.h"

struct rv_vec {
	struct bw_rv_entry *v;
	size_t n, cap;
	struct bw_rv_l7 *l7; /* what the L7 ports contributed */
	size_t nl7, capl7;
	int err;
};

/* The L7 port an emitted range comes from. */
struct rv_l7src {
	uint8_t cls;         /* proxy class */
	uint32_t port_index; /* in the rule entry's ports[] */
};

static void rv_l7_push(struct rv_vec *o, const struct bw_rv_entry *e, uint8_t cls,
		       uint32_t port_index, int allow_all, int visibility)
{
	struct bw_rv_l7 *x;

	if (o->err)
		return;
	if (o->nl7 == o->capl7) {
		size_t cap = o->capl7 ? o->capl7 * 2 : 16;
		struct bw_rv_l7 *v = realloc(o->l7, cap * sizeof(*v));

		if (!v) {
			o->err = -ENOMEM;
			return;
		}
		o->l7 = v;
		o->capl7 = cap;
	}
	x = &o->l7[o->nl7++];
	memset(x, 0, sizeof(*x));
	x->identity = e->identity;
	x->direction = e->direction;
	x->protocol = e->protocol;
	x->proxy_class = cls;
	x->allow_all = (uint8_t)!!allow_all;
	x->port_lo = e->port_lo;
	x->port_hi = e->port_hi;
	x->rule_ref = e->rule_ref;
	x->port_index = port_index;
	x->visibility = (uint8_t)!!visibility;
}

static void rv_vec_push(struct rv_vec *o, const struct bw_rv_entry *e)
{
	if (o->err)
		return;
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;
		struct bw_rv_entry *v = realloc(o->v, cap * sizeof(*v));

		if (!v) {
			o->err = -ENOMEM;
			return;
		}
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n++] = *e;
}

/* Push [lo, hi] as aligned blocks; l7: the blocks redirect to a proxy. */
static void rv_emit_range(struct rv_vec *o, uint32_t id, int dir, uint8_t proto,
			  uint32_t lo, uint32_t hi, int deny, uint32_t ref,
			  const struct rv_l7src *l7)
{
	struct bw_rv_entry e = { .identity = id, .direction = (uint8_t)dir,
				 .protocol = proto, .deny = (uint8_t)!!deny,
				 .rule_ref = ref };

	if (l7 && !deny)
		e.proxy_class = l7->cls;
	else
		l7 = NULL;
	if (lo == 0 && (hi == 0 || hi >= 65535)) {
		rv_vec_push(o, &e); /* every port (never an L7 port) */
		return;
	}
	if (hi < lo)
		hi = lo;
	while (lo <= hi) {
		uint32_t size = 1;

		/* largest aligned block starting at lo that fits */
		while ((lo & (size * 2 - 1)) == 0 && lo + size * 2 - 1 <= hi &&
		       size * 2 <= 65536)
			size *= 2;
		if (lo == 0 && size == 65536) {
			rv_vec_push(o, &e);
			return;
		}
		e.port_lo = (uint16_t)lo;
		e.port_hi = (uint16_t)(lo + size - 1);
		rv_vec_push(o, &e);
		if (l7)
			rv_l7_push(o, &e, l7->cls, l7->port_index, 0, 0);
		lo += size;
	}
}

static const struct bw_rv_named_port *rv_named(const struct bw_rv_endpoint *ep,
					       const char *name, uint8_t proto)
{
	for (size_t i = 0; i < ep->nports; i++)
		if (!strcmp(ep->ports[i].name, name) &&
		    (!proto || ep->ports[i].protocol == proto))
			return &ep->ports[i];
	return NULL;
}

static const uint8_t rv_any_protos[] = { 6, 17, 132 };

/*
 * The proxy class of an L7 port (0: a plain port, or an l7proto without a
 * class: then the port allows nothing), in src.
 */
static int rv_port_l7(struct bw_resolver *r, const struct bw_rv_port *pp, struct rv_l7src *src,
		      uint32_t port_index)
{
	src->port_index = port_index;
	src->cls = 0;
	if (pp->l7 == BW_RV_L7_NONE)
		return 0;
	if (pp->l7 != BW_RV_L7_NAMED)
		src->cls = (uint8_t)pp->l7; /* the builtin classes share the numbers */
	else if (r->ops.proxy_class)
		src->cls = r->ops.proxy_class(r->ops.arg, pp->l7proto);
	return src->cls ? 1 : -1;
}

/* Does an L7 port of this kind cover protocol proto? (DNS: TCP and UDP;
 * the others TCP only; ANY never reaches the datapath for an L7 port.) */
static int rv_l7_proto(int l7, uint8_t proto)
{
	return proto == IPPROTO_TCP || (l7 == BW_RV_L7_DNS && proto == IPPROTO_UDP);
}

/* One port spec (a number or range, protocol as written) of an entry. */
static void rv_emit_port(struct rv_vec *o, uint32_t id, int dir,
			 const struct bw_rv_ruleentry *en, const struct bw_rv_port *pp,
			 uint8_t proto, uint32_t lo, uint32_t hi, const struct rv_l7src *l7)
{
	if (proto) {
		if (!l7 || rv_l7_proto(pp->l7, proto))
			rv_emit_range(o, id, dir, proto, lo, hi, en->deny, en->rule_ref, l7);
		return;
	}
	for (size_t k = 0; k < sizeof(rv_any_protos); k++)
		if (!l7 || rv_l7_proto(pp->l7, rv_any_protos[k]))
			rv_emit_range(o, id, dir, rv_any_protos[k], lo, hi, en->deny,
				      en->rule_ref, l7);
}

/* Every port/ICMP spec of an entry for one peer identity (not egress named). */
static void rv_emit_ports(struct bw_resolver *r, struct rv_vec *o,
			  const struct bw_rv_endpoint *ep, uint32_t id, int dir,
			  const struct bw_rv_ruleentry *en)
{
	if (en->all_ports) {
		rv_emit_range(o, id, dir, 0, 0, 0, en->deny, en->rule_ref, NULL);
		return;
	}
	for (size_t i = 0; i < en->nicmps; i++) {
		uint8_t proto = en->icmps[i].family == 6 ? 58 : 1;

		rv_emit_range(o, id, dir, proto, en->icmps[i].type,
			      en->icmps[i].type, en->deny, en->rule_ref, NULL);
	}
	for (size_t i = 0; i < en->nports; i++) {
		const struct bw_rv_port *pp = &en->ports[i];
		struct rv_l7src src;
		int l7 = rv_port_l7(r, pp, &src, (uint32_t)i);

		if (l7 < 0)
			continue;
		if (pp->name) {
			const struct bw_rv_named_port *np;

			if (dir != BW_DIR_INGRESS)
				continue; /* egress: per peer endpoint, below */
			np = rv_named(ep, pp->name, pp->protocol);
			if (np)
				rv_emit_port(o, id, dir, en, pp, np->protocol, np->port,
					     np->port, l7 ? &src : NULL);
			continue;
		}
		rv_emit_port(o, id, dir, en, pp, pp->protocol, pp->lo, pp->hi,
			     l7 ? &src : NULL);
	}
}

static int rv_entry_has_egress_named(const struct bw_rv_ruleentry *en)
{
	for (size_t i = 0; i < en->nports; i++)
		if (en->ports[i].name)
			return 1;
	return 0;
}

struct rv_named_ctx {
	struct bw_resolver *r;
	struct rv_vec *o;
	const struct bw_rv_ruleentry *en;
};

size_t rv_ep_addr_identities(const struct bw_rv_endpoint *ep, uint32_t *out, size_t max)
{
	size_t n = 0;

	if (!ep->identity)
		return 0;
	if (!ep->addr_ids || !ep->naddrs) {
		out[n++] = ep->identity;
		return n;
	}
	for (size_t i = 0; i < ep->naddrs; i++) {
		uint32_t id = ep->addr_ids[i] ? ep->addr_ids[i] : ep->identity;
		size_t k;

		for (k = 0; k < n && out[k] != id; k++)
			;
		if (k == n && n < max)
			out[n++] = id;
	}
	return n;
}

/*
 * Egress named ports: resolved on each peer endpoint that has the name,
 * for each identity its addresses map to (its own, or split ones).
 */
static void rv_named_egress_cb(void *val, void *arg)
{
	const struct bw_rv_endpoint *q = val;
	struct rv_named_ctx *c = arg;
	const struct bw_rv_ruleentry *en = c->en;
	uint32_t ids[BW_RV_EP_ADDR_IDS];
	size_t nids = rv_ep_addr_identities(q, ids, BW_RV_EP_ADDR_IDS);

	for (size_t x = 0; x < nids; x++) {
		int peer = en->any_peer;

		for (size_t k = 0; k < en->npeers && !peer; k++) {
			const struct bw_rv_sel *s = en->peers[k].cached;

			if (en->peers[k].type == BW_RV_PEER_ANY)
				peer = 1;
			else if (s && rv_ids_has(&s->ids, ids[x]))
				peer = 1;
		}
		if (!peer)
			continue;
		for (size_t i = 0; i < en->nports; i++) {
			const struct bw_rv_named_port *np;
			struct rv_l7src src;
			int l7;

			if (!en->ports[i].name)
				continue;
			l7 = rv_port_l7(c->r, &en->ports[i], &src, (uint32_t)i);
			if (l7 < 0)
				continue;
			np = rv_named(q, en->ports[i].name, en->ports[i].protocol);
			if (np)
				rv_emit_port(c->o, ids[x], BW_DIR_EGRESS, en, &en->ports[i],
					     np->protocol, np->port, np->port, l7 ? &src : NULL);
		}
	}
}

static void rv_emit_entry(struct bw_resolver *r, struct rv_vec *o,
			  const struct bw_rv_endpoint *ep, int dir,
			  const struct bw_rv_ruleentry *en)
{
	if (en->any_peer) {
		rv_emit_ports(r, o, ep, 0, dir, en);
	} else {
		for (size_t k = 0; k < en->npeers; k++) {
			const struct bw_rv_peerdef *pd = &en->peers[k];

			if (pd->type == BW_RV_PEER_ANY) {
				rv_emit_ports(r, o, ep, 0, dir, en);
				continue;
			}
			if (!pd->cached)
				continue;
			for (size_t i = 0; i < pd->cached->ids.n; i++)
				rv_emit_ports(r, o, ep, pd->cached->ids.v[i], dir, en);
		}
	}
	if (dir == BW_DIR_EGRESS && rv_entry_has_egress_named(en)) {
		struct rv_named_ctx c = { r, o, en };

		rv_map_foreach(&r->eps, rv_named_egress_cb, &c);
	}
}

/* ---- normalisation ------------------------------------------------------- */

static int rv_key_cmp(const struct bw_rv_entry *a, const struct bw_rv_entry *b)
{
	if (a->identity != b->identity)
		return a->identity < b->identity ? -1 : 1;
	if (a->direction != b->direction)
		return a->direction < b->direction ? -1 : 1;
	if (a->protocol != b->protocol)
		return a->protocol < b->protocol ? -1 : 1;
	if (a->port_lo != b->port_lo)
		return a->port_lo < b->port_lo ? -1 : 1;
	if (a->port_hi != b->port_hi)
		return a->port_hi < b->port_hi ? -1 : 1;
	return 0;
}

static int rv_entry_cmp(const void *pa, const void *pb)
{
	const struct bw_rv_entry *a = pa, *b = pb;
	int c = rv_key_cmp(a, b);

	if (c)
		return c;
	if (a->deny != b->deny)
		return a->deny ? -1 : 1; /* deny first */
	if (!a->proxy_class != !b->proxy_class)
		return a->proxy_class ? -1 : 1; /* then a redirect (Cilium's priority) */
	if (a->proxy_class != b->proxy_class)
		return a->proxy_class < b->proxy_class ? -1 : 1;
	return a->rule_ref < b->rule_ref ? -1 : a->rule_ref > b->rule_ref;
}

static int rv_l7_cmp(const void *pa, const void *pb)
{
	const struct bw_rv_l7 *a = pa, *b = pb;

	if (a->identity != b->identity)
		return a->identity < b->identity ? -1 : 1;
	if (a->direction != b->direction)
		return a->direction < b->direction ? -1 : 1;
	if (a->protocol != b->protocol)
		return a->protocol < b->protocol ? -1 : 1;
	if (a->port_lo != b->port_lo)
		return a->port_lo < b->port_lo ? -1 : 1;
	if (a->rule_ref != b->rule_ref)
		return a->rule_ref < b->rule_ref ? -1 : 1;
	return a->port_index < b->port_index ? -1 : a->port_index > b->port_index;
}

/* Does deny d cover allow a (same identity and direction)? */
static int rv_covers(const struct bw_rv_entry *d, const struct bw_rv_entry *a)
{
	if (d->protocol == 0)
		return 1;
	if (d->protocol != a->protocol)
		return 0;
	if (d->port_lo == 0 && d->port_hi == 0)
		return 1;
	if (a->port_lo == 0 && a->port_hi == 0)
		return 0;
	return d->port_lo <= a->port_lo && a->port_hi <= d->port_hi;
}

static void rv_normalise(struct rv_vec *o)
{
	size_t k = 0, g;

	if (!o->n)
		return;
	qsort(o->v, o->n, sizeof(*o->v), rv_entry_cmp);
	/*
	 * unique keys: the first of a run is the deny, else a redirect, else
	 * the lowest ref. A plain allow under a redirect of the same key
	 * makes every request on it allowed at L7 (Cilium: an L4 rule and an
	 * L4+L7 rule for the same port and peer: the L7 part has no effect);
	 * the connection is still redirected, for visibility.
	 */
	for (size_t i = 1; i < o->n; i++) {
		if (rv_key_cmp(&o->v[i], &o->v[k])) {
			o->v[++k] = o->v[i];
			continue;
		}
		if (o->v[k].proxy_class && !o->v[i].deny && !o->v[i].proxy_class)
			rv_l7_push(o, &o->v[i], o->v[k].proxy_class, 0, 1, 0);
	}
	o->n = k + 1;
	if (o->nl7)
		qsort(o->l7, o->nl7, sizeof(*o->l7), rv_l7_cmp);
	/* drop allows covered by a deny of the same identity and direction */
	k = 0;
	for (size_t i = 0; i < o->n; i = g) {
		int has_deny = 0;

		for (g = i; g < o->n && o->v[g].identity == o->v[i].identity &&
			    o->v[g].direction == o->v[i].direction; g++)
			if (o->v[g].deny)
				has_deny = 1;
		for (size_t j = i; j < g; j++) {
			int drop = 0;

			if (has_deny && !o->v[j].deny)
				for (size_t x = i; x < g && !drop; x++)
					if (o->v[x].deny && rv_covers(&o->v[x], &o->v[j]))
						drop = 1;
			if (!drop)
				o->v[k++] = o->v[j];
		}
	}
	o->n = k;
}

/* ---- visibility --------------------------------------------------------- */

/* Does entry e (identity 0 or not) cover (dir, proto, port)? */
static int rv_entry_covers(const struct bw_rv_entry *e, int dir, uint8_t proto, uint16_t port)
{
	if (e->direction != dir || (e->protocol && e->protocol != proto))
		return 0;
	if (e->port_lo == 0 && e->port_hi == 0)
		return 1;
	return e->protocol && port >= e->port_lo && port <= e->port_hi;
}

/* Prefix length of an entry's (protocol, port) part, as the LPM ranks it. */
static int rv_entry_plen(const struct bw_rv_entry *e)
{
	int bits = 0;

	if (!e->protocol)
		return 0;
	if (e->port_lo == 0 && e->port_hi == 0)
		return 8;
	for (uint32_t size = (uint32_t)e->port_hi - e->port_lo + 1; size > 1; size >>= 1)
		bits++;
	return 24 - bits;
}

/*
 * One visibility port (docs/redirect.md "Visibility"): look at what the
 * any-peer lookup finds for it (the longest identity-0 entry, as the LPM
 * does). A plain allow gets a redirect at exactly that port (its verdict
 * and rule stay); a deny or an L7 port stays as it is (visibility never
 * widens policy, and rules.http from policy are enforced as they are);
 * with nothing there, an entry that gives no verdict (BW_POL_F_VISIBILITY)
 * redirects whatever the identity-specific entries allow.
 */
static void rv_visibility_port(struct rv_vec *o, int dir, uint8_t proto, uint16_t port,
			       uint8_t cls)
{
	struct bw_rv_entry *best = NULL, add = { .direction = (uint8_t)dir, .protocol = proto,
						 .port_lo = port, .port_hi = port,
						 .proxy_class = cls };
	size_t n = o->n;

	for (size_t i = 0; i < n; i++) {
		struct bw_rv_entry *e = &o->v[i];

		if (e->identity != 0 || !rv_entry_covers(e, dir, proto, port))
			continue;
		if (!best || rv_entry_plen(e) > rv_entry_plen(best))
			best = e;
	}
	if (best && (best->deny || best->proxy_class))
		return;
	if (best && best->protocol == proto && best->port_lo == port && best->port_hi == port) {
		best->proxy_class = cls; /* this very key: it redirects now */
		rv_l7_push(o, best, cls, 0, 1, 1);
		return;
	}
	if (best)
		add.rule_ref = best->rule_ref;
	else
		add.visibility = 1;
	rv_vec_push(o, &add);
	rv_l7_push(o, &add, cls, 0, 1, 1);
}

static void rv_visibility(struct rv_vec *o, const struct bw_rv_endpoint *ep)
{
	for (size_t i = 0; i < ep->nvis; i++) {
		const struct bw_rv_visibility *v = &ep->vis[i];

		if (v->protocol) {
			rv_visibility_port(o, v->direction, v->protocol, v->port, v->proxy_class);
			continue;
		}
		/* ANY: TCP, and UDP for DNS (the kinds' transports, as for rules) */
		rv_visibility_port(o, v->direction, IPPROTO_TCP, v->port, v->proxy_class);
		if (v->proxy_class == BW_PROXY_CLASS_DNS)
			rv_visibility_port(o, v->direction, IPPROTO_UDP, v->port, v->proxy_class);
	}
	if (ep->nvis && !o->err) {
		qsort(o->v, o->n, sizeof(*o->v), rv_entry_cmp);
		if (o->nl7)
			qsort(o->l7, o->nl7, sizeof(*o->l7), rv_l7_cmp);
	}
}

/* Could a connection allowed by (oflags, old) be denied by (nflags, new)? */
static int rv_stricter(uint32_t oflags, const struct bw_rv_entry *old, size_t on,
		       uint32_t nflags, const struct bw_rv_entry *nw, size_t nn)
{
	size_t i = 0, j = 0;

	if ((nflags & BW_EP_F_ENFORCE_INGRESS) && !(oflags & BW_EP_F_ENFORCE_INGRESS))
		return 1;
	if ((nflags & BW_EP_F_ENFORCE_EGRESS) && !(oflags & BW_EP_F_ENFORCE_EGRESS))
		return 1;
	if ((oflags & BW_EP_F_AUDIT) && !(nflags & BW_EP_F_AUDIT))
		return 1;
	while (i < on || j < nn) {
		int c = i >= on ? 1 : j >= nn ? -1 : rv_key_cmp(&old[i], &nw[j]);

		if (c < 0) { /* removed */
			if (!old[i].deny)
				return 1;
			i++;
		} else if (c > 0) { /* added */
			if (nw[j].deny)
				return 1;
			j++;
		} else {
			if (!old[i].deny && nw[j].deny)
				return 1;
			i++;
			j++;
		}
	}
	return 0;
}

static int rv_iso_add(struct bw_rv_endpoint *ep, int dir, void *owner,
		      size_t *cap)
{
	for (size_t i = 0; i < ep->niso[dir]; i++)
		if (ep->iso[dir][i] == owner)
			return 0;
	if (ep->niso[dir] == cap[dir]) {
		size_t nc = cap[dir] ? cap[dir] * 2 : 4;
		void **v = realloc(ep->iso[dir], nc * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ep->iso[dir] = v;
		cap[dir] = nc;
	}
	ep->iso[dir][ep->niso[dir]++] = owner;
	return 0;
}

static void rv_endpoint_desc(const struct bw_rv_endpoint *ep,
			     struct bw_rv_endpoint_desc *d)
{
	memset(d, 0, sizeof(*d));
	d->ep_id = ep->ep_id;
	d->ifindex = ep->ifindex;
	d->identity = ep->identity;
	d->ns = ep->ns;
	d->pod = ep->pod;
	d->audit = ep->audit;
	d->addrs = ep->addrs;
	d->naddrs = ep->naddrs;
	d->ports = ep->ports;
	d->nports = ep->nports;
}

int rv_resolve_and_sync(struct bw_resolver *r, struct bw_rv_endpoint *ep)
{
	struct rv_vec o = { 0 };
	int dd[3] = { 0, 0, 0 };
	uint32_t flags = 0;
	size_t cap[3] = { 0, 0, 0 };
	void **oldiso[3];
	size_t oldniso[3];
	struct bw_rv_endpoint_desc d;
	int stricter, err;

	for (int dir = 1; dir <= 2; dir++) {
		oldiso[dir] = ep->iso[dir];
		oldniso[dir] = ep->niso[dir];
		ep->iso[dir] = NULL;
		ep->niso[dir] = 0;
	}
	if (r->enforcement != BW_ENFORCE_NEVER) {
		for (struct bw_rv_policy *p = r->policies; p; p = p->next)
			for (size_t i = 0; i < p->nrules; i++) {
				const struct bw_rv_rule *ru = &p->rules[i];

				if (!bw_rv_rule_selects(ru, ep->identity, ep->ns, ep->pod))
					continue;
				for (int dir = 1; dir <= 2; dir++) {
					if (ru->default_deny[dir]) {
						dd[dir] = 1;
						if (rv_iso_add(ep, dir, p->owner, cap) < 0)
							o.err = -ENOMEM;
					}
					for (size_t j = 0; j < ru->nentries[dir]; j++)
						rv_emit_entry(r, &o, ep, dir,
							      &ru->entries[dir][j]);
				}
			}
		if (r->enforcement == BW_ENFORCE_ALWAYS || dd[BW_DIR_INGRESS])
			flags |= BW_EP_F_ENFORCE_INGRESS;
		if (r->enforcement == BW_ENFORCE_ALWAYS || dd[BW_DIR_EGRESS])
			flags |= BW_EP_F_ENFORCE_EGRESS;
		if (r->audit || ep->audit)
			flags |= BW_EP_F_AUDIT;
		/*
		 * The datapath looks at the policy map only in enforced
		 * directions. A direction with deny or redirect entries but no
		 * default deny (Cilium's enableDefaultDeny: false) is enforced
		 * with an allow-everything entry (rule_ref 0) under them: the
		 * denies and the L7 ports apply, everything else is allowed.
		 */
		for (int dir = 1; dir <= 2; dir++) {
			uint32_t bit = dir == BW_DIR_INGRESS ? BW_EP_F_ENFORCE_INGRESS
							     : BW_EP_F_ENFORCE_EGRESS;
			int has_deny = 0;

			if (flags & bit)
				continue;
			for (size_t i = 0; i < o.n && !has_deny; i++)
				if ((o.v[i].deny || o.v[i].proxy_class) && o.v[i].direction == dir)
					has_deny = 1;
			for (size_t i = 0; i < ep->nvis && !has_deny; i++)
				if (ep->vis[i].direction == dir)
					has_deny = 1; /* visibility needs the lookups too */
			if (has_deny) {
				struct bw_rv_entry all = { .direction = (uint8_t)dir };

				flags |= bit;
				rv_vec_push(&o, &all);
			}
		}
	}
	rv_normalise(&o);
	if (r->enforcement != BW_ENFORCE_NEVER)
		rv_visibility(&o, ep);
	if (o.err) {
		free(o.v);
		free(o.l7);
		for (int dir = 1; dir <= 2; dir++) {
			free(ep->iso[dir]);
			ep->iso[dir] = oldiso[dir];
			ep->niso[dir] = oldniso[dir];
		}
		return o.err;
	}
	stricter = rv_stricter(ep->flags, ep->e, ep->n, flags, o.v, o.n);
	rv_endpoint_desc(ep, &d);
	err = r->ops.sync ? r->ops.sync(r->ops.arg, &d, flags, o.v, o.n, stricter,
					!ep->synced)
			  : 0;
	if (err < 0) {
		free(o.v);
		free(o.l7);
		for (int dir = 1; dir <= 2; dir++) {
			free(ep->iso[dir]);
			ep->iso[dir] = oldiso[dir];
			ep->niso[dir] = oldniso[dir];
		}
		return err;
	}
	for (int dir = 1; dir <= 2; dir++)
		free(oldiso[dir]);
	free(ep->e);
	ep->e = o.v;
	ep->n = o.n;
	free(ep->l7);
	ep->l7 = o.l7;
	ep->nl7 = o.nl7;
	ep->flags = flags;
	ep->synced = 1;
	ep->dirty = 0;
	r->syncs++;
	return 0;
}
