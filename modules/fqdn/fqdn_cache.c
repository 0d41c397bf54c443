/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/fqdn/fqdn_cache.c - the DNS cache of the FQDN module (see
 * fqdn_cache.h): (name, address) entries listed both by name and by
 * address, two chained hash tables, a queue of addresses whose names
 * changed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fqdnmatch.h"
#include "fqdn_cache.h"

#define FQC_MAX_EPS 4

struct fqc_name;
struct fqc_ip;

struct fqc_entry {
	struct fqc_name *name;
	struct fqc_ip *ip;
	int64_t lookup;   /* last answer carrying the pair */
	int64_t expires;
	int64_t alive;    /* last time conntrack showed a connection, 0 never */
	uint32_t ttl;
	int zombie;
	uint32_t eps[FQC_MAX_EPS];
	int neps;
	struct fqc_entry *nnext; /* same name */
	struct fqc_entry *inext; /* same address */
};

struct fqc_name {
	char *text;
	struct fqc_entry *entries;
	size_t n;
	struct fqc_name *hnext;
};

struct fqc_ip {
	struct fqc_addr a;
	struct fqc_entry *entries;
	size_t n;
	int changed;
	struct fqc_ip *hnext;
	struct fqc_ip *cnext; /* changed queue */
};

struct fqc {
	struct fqc_conf conf;
	struct fqc_name **names;
	size_t ncap, nnames;
	struct fqc_ip **ips;
	size_t icap, nips;
	struct fqc_ip *changed;
	size_t nentries, nzombies;
	struct fqc_stats st;
};

/* ---- hashing ------------------------------------------------------------- */

static uint32_t fqc_hash_bytes(const void *p, size_t n, uint32_t h)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static uint32_t fqc_hash_name(const char *s)
{
	return fqc_hash_bytes(s, strlen(s), 2166136261u);
}

static uint32_t fqc_hash_addr(const struct fqc_addr *a)
{
	return fqc_hash_bytes(a->addr, a->family == 4 ? 4 : 16,
			      2166136261u ^ (uint32_t)a->family);
}

static int fqc_addr_eq(const struct fqc_addr *x, const struct fqc_addr *y)
{
	return x->family == y->family &&
	       !memcmp(x->addr, y->addr, x->family == 4 ? 4 : 16);
}

static int fqc_grow_names(struct fqc *c)
{
	size_t cap = c->ncap ? c->ncap * 2 : 256;
	struct fqc_name **t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < c->ncap; i++) {
		struct fqc_name *n = c->names[i], *next;

		for (; n; n = next) {
			size_t h = fqc_hash_name(n->text) & (cap - 1);

			next = n->hnext;
			n->hnext = t[h];
			t[h] = n;
		}
	}
	free(c->names);
	c->names = t;
	c->ncap = cap;
	return 0;
}

static int fqc_grow_ips(struct fqc *c)
{
	size_t cap = c->icap ? c->icap * 2 : 256;
	struct fqc_ip **t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < c->icap; i++) {
		struct fqc_ip *p = c->ips[i], *next;

		for (; p; p = next) {
			size_t h = fqc_hash_addr(&p->a) & (cap - 1);

			next = p->hnext;
			p->hnext = t[h];
			t[h] = p;
		}
	}
	free(c->ips);
	c->ips = t;
	c->icap = cap;
	return 0;
}

static struct fqc_name *fqc_name_find(const struct fqc *c, const char *text)
{
	struct fqc_name *n;

	if (!c->ncap)
		return NULL;
	for (n = c->names[fqc_hash_name(text) & (c->ncap - 1)]; n; n = n->hnext)
		if (!strcmp(n->text, text))
			return n;
	return NULL;
}

static struct fqc_name *fqc_name_get(struct fqc *c, const char *text)
{
	struct fqc_name *n = fqc_name_find(c, text);
	size_t h;

	if (n)
		return n;
	if (c->nnames + 1 > c->ncap && fqc_grow_names(c) < 0)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (!n || !(n->text = strdup(text))) {
		free(n);
		return NULL;
	}
	h = fqc_hash_name(text) & (c->ncap - 1);
	n->hnext = c->names[h];
	c->names[h] = n;
	c->nnames++;
	return n;
}

static void fqc_name_drop(struct fqc *c, struct fqc_name *n)
{
	struct fqc_name **pp = &c->names[fqc_hash_name(n->text) & (c->ncap - 1)];

	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == n) {
			*pp = n->hnext;
			break;
		}
	c->nnames--;
	free(n->text);
	free(n);
}

static struct fqc_ip *fqc_ip_find(const struct fqc *c, const struct fqc_addr *a)
{
	struct fqc_ip *p;

	if (!c->icap)
		return NULL;
	for (p = c->ips[fqc_hash_addr(a) & (c->icap - 1)]; p; p = p->hnext)
		if (fqc_addr_eq(&p->a, a))
			return p;
	return NULL;
}

static struct fqc_ip *fqc_ip_get(struct fqc *c, const struct fqc_addr *a)
{
	struct fqc_ip *p = fqc_ip_find(c, a);
	size_t h;

	if (p)
		return p;
	if (c->nips + 1 > c->icap && fqc_grow_ips(c) < 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->a.family = a->family;
	memcpy(p->a.addr, a->addr, a->family == 4 ? 4 : 16);
	h = fqc_hash_addr(a) & (c->icap - 1);
	p->hnext = c->ips[h];
	c->ips[h] = p;
	c->nips++;
	return p;
}

static void fqc_ip_drop(struct fqc *c, struct fqc_ip *p)
{
	struct fqc_ip **pp = &c->ips[fqc_hash_addr(&p->a) & (c->icap - 1)];

	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == p) {
			*pp = p->hnext;
			break;
		}
	c->nips--;
	free(p);
}

static void fqc_changed(struct fqc *c, struct fqc_ip *p)
{
	if (p->changed)
		return;
	p->changed = 1;
	p->cnext = c->changed;
	c->changed = p;
}

/* ---- entries ------------------------------------------------------------- */

static void fqc_entry_remove(struct fqc *c, struct fqc_entry *e)
{
	struct fqc_entry **pp;
	struct fqc_name *n = e->name;
	struct fqc_ip *p = e->ip;

	for (pp = &n->entries; *pp; pp = &(*pp)->nnext)
		if (*pp == e) {
			*pp = e->nnext;
			break;
		}
	n->n--;
	for (pp = &p->entries; *pp; pp = &(*pp)->inext)
		if (*pp == e) {
			*pp = e->inext;
			break;
		}
	p->n--;
	c->nentries--;
	if (e->zombie)
		c->nzombies--;
	free(e);
	if (!n->n)
		fqc_name_drop(c, n);
	/* the address leaves with the queue (it must tell the core first) */
	fqc_changed(c, p);
}

static void fqc_entry_add_ep(struct fqc_entry *e, uint32_t ep)
{
	if (!ep)
		return;
	for (int i = 0; i < e->neps; i++)
		if (e->eps[i] == ep)
			return;
	if (e->neps < FQC_MAX_EPS)
		e->eps[e->neps++] = ep;
	else
		e->eps[FQC_MAX_EPS - 1] = ep; /* the latest */
}

static void fqc_unzombie(struct fqc *c, struct fqc_entry *e)
{
	if (e->zombie) {
		e->zombie = 0;
		c->nzombies--;
	}
}

static void fqc_zombify(struct fqc *c, struct fqc_entry *e)
{
	if (!e->zombie) {
		e->zombie = 1;
		c->nzombies++;
	}
}

/* Per-name cap: the oldest fresh lookups expire at once (zombie path). */
static void fqc_name_cap(struct fqc *c, struct fqc_name *n, int64_t now)
{
	int64_t cap = c->conf.max_ips_per_name;
	size_t fresh = 0;

	if (cap <= 0)
		return;
	for (struct fqc_entry *e = n->entries; e; e = e->nnext)
		if (e->expires > now)
			fresh++;
	while (fresh > (size_t)cap) {
		struct fqc_entry *old = NULL;

		for (struct fqc_entry *e = n->entries; e; e = e->nnext)
			if (e->expires > now && (!old || e->lookup < old->lookup))
				old = e;
		if (!old)
			break;
		old->expires = now;
		c->st.evictions++;
		fresh--;
	}
}

int fqc_learn(struct fqc *c, const char *name, const struct fqc_addr *addrs,
	      size_t n, uint32_t ttl, uint32_t ep_id, int64_t now)
{
	struct fqc_name *nm;
	int64_t life = (int64_t)ttl * 1000;
	int added = 0;

	if (!name || !*name || (n && !addrs))
		return -EINVAL;
	if (!n)
		return 0;
	if (life < c->conf.min_ttl_ms)
		life = c->conf.min_ttl_ms;
	nm = fqc_name_get(c, name);
	if (!nm)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct fqc_entry *e;
		struct fqc_ip *p;

		if (addrs[i].family != 4 && addrs[i].family != 6)
			continue;
		for (e = nm->entries; e; e = e->nnext)
			if (fqc_addr_eq(&e->ip->a, &addrs[i]))
				break;
		if (e) {
			e->lookup = now;
			e->ttl = ttl;
			if (now + life > e->expires)
				e->expires = now + life;
			fqc_unzombie(c, e);
			fqc_entry_add_ep(e, ep_id);
			c->st.refreshed++;
			continue;
		}
		p = fqc_ip_get(c, &addrs[i]);
		e = p ? calloc(1, sizeof(*e)) : NULL;
		if (!e) {
			if (p && !p->n && !p->changed)
				fqc_ip_drop(c, p);
			if (!nm->n)
				fqc_name_drop(c, nm);
			return -ENOMEM;
		}
		e->name = nm;
		e->ip = p;
		e->lookup = now;
		e->ttl = ttl;
		e->expires = now + life;
		fqc_entry_add_ep(e, ep_id);
		e->nnext = nm->entries;
		nm->entries = e;
		nm->n++;
		e->inext = p->entries;
		p->entries = e;
		p->n++;
		c->nentries++;
		c->st.learned++;
		fqc_changed(c, p);
		added++;
	}
	if (!nm->n) {
		fqc_name_drop(c, nm);
		return 0;
	}
	fqc_name_cap(c, nm, now);
	return added;
}

/* ---- garbage collection -------------------------------------------------- */

static void fqc_to16(const struct fqc_addr *a, uint8_t out[16])
{
	if (a->family == 6) {
		memcpy(out, a->addr, 16);
		return;
	}
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, a->addr, 4);
}

size_t fqc_gc_candidates(struct fqc *c, int64_t now, uint8_t (**out)[16])
{
	uint8_t (*v)[16] = NULL;
	size_t n = 0, cap = 0;

	*out = NULL;
	for (size_t i = 0; i < c->icap; i++)
		for (struct fqc_ip *p = c->ips[i]; p; p = p->hnext) {
			int expired = 0;

			for (struct fqc_entry *e = p->entries; e && !expired; e = e->inext)
				expired = e->expires <= now;
			if (!expired)
				continue;
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				uint8_t (*nv)[16] = realloc(v, ncap * sizeof(*v));

				if (!nv) {
					free(v);
					return 0;
				}
				v = nv;
				cap = ncap;
			}
			fqc_to16(&p->a, v[n++]);
		}
	*out = v;
	return n;
}

static int fqc_cmp16(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

static int fqc_addr_alive(const struct fqc_addr *a, const uint8_t (*addrs)[16],
			  const uint8_t *alive, size_t n)
{
	uint8_t k[16];
	size_t lo = 0, hi = n;

	if (!alive)
		return 1; /* conntrack unreadable: keep */
	fqc_to16(a, k);
	while (lo < hi) { /* addrs were sorted by fqc_gc_apply */
		size_t mid = (lo + hi) / 2;
		int r = memcmp(addrs[mid], k, 16);

		if (!r)
			return alive[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

size_t fqc_gc_apply(struct fqc *c, int64_t now, const uint8_t (*addrs)[16],
		    const uint8_t *alive, size_t n)
{
	struct fqc_entry **dead = NULL, **zs = NULL;
	size_t ndead = 0, cap = 0, removed = 0, nz = 0;
	uint8_t (*sorted)[16] = NULL;
	uint8_t *salive = NULL;

	/* sort the verdicts by address for lookups */
	if (n && alive) {
		sorted = calloc(n, sizeof(*sorted));
		salive = calloc(n, 1);
		if (!sorted || !salive) {
			free(sorted);
			free(salive);
			return 0;
		}
		/* (address, verdict) pairs sorted together: 17-byte records */
		{
			uint8_t (*rec)[17] = calloc(n, sizeof(*rec));

			if (!rec) {
				free(sorted);
				free(salive);
				return 0;
			}
			for (size_t i = 0; i < n; i++) {
				memcpy(rec[i], addrs[i], 16);
				rec[i][16] = alive[i];
			}
			qsort(rec, n, sizeof(*rec), fqc_cmp16);
			for (size_t i = 0; i < n; i++) {
				memcpy(sorted[i], rec[i], 16);
				salive[i] = rec[i][16];
			}
			free(rec);
		}
	}
	for (size_t i = 0; i < c->icap; i++)
		for (struct fqc_ip *p = c->ips[i]; p; p = p->hnext)
			for (struct fqc_entry *e = p->entries; e; e = e->inext) {
				int64_t since;

				if (e->expires > now)
					continue;
				if (fqc_addr_alive(&p->a, (const uint8_t (*)[16])sorted,
						   alive ? salive : NULL, n)) {
					e->alive = now;
					fqc_zombify(c, e);
					continue;
				}
				since = e->alive > e->expires ? e->alive : e->expires;
				if (now - since < c->conf.idle_grace_ms) {
					fqc_zombify(c, e);
					continue;
				}
				if (ndead == cap) {
					size_t ncap = cap ? cap * 2 : 64;
					struct fqc_entry **v = realloc(dead, ncap * sizeof(*v));

					if (!v)
						goto out;
					dead = v;
					cap = ncap;
				}
				dead[ndead++] = e;
			}
	for (size_t i = 0; i < ndead; i++) {
		fqc_entry_remove(c, dead[i]);
		c->st.gc_deletions++;
		removed++;
	}
	/* zombie cap: the ones that showed life longest ago go first */
	if (c->conf.max_zombies > 0 && c->nzombies > (size_t)c->conf.max_zombies) {
		zs = calloc(c->nzombies, sizeof(*zs));
		for (size_t i = 0; zs && i < c->icap; i++)
			for (struct fqc_ip *p = c->ips[i]; p; p = p->hnext)
				for (struct fqc_entry *e = p->entries; e; e = e->inext)
					if (e->zombie)
						zs[nz++] = e;
		while (zs && c->nzombies > (size_t)c->conf.max_zombies) {
			size_t old = 0;

			for (size_t i = 1; i < nz; i++) {
				int64_t a = zs[i]->alive > zs[i]->expires ? zs[i]->alive : zs[i]->expires;
				int64_t b = zs[old]->alive > zs[old]->expires ? zs[old]->alive
									      : zs[old]->expires;
				if (a < b || (a == b && zs[i]->expires < zs[old]->expires))
					old = i;
			}
			fqc_entry_remove(c, zs[old]);
			zs[old] = zs[--nz];
			c->st.zombie_evictions++;
			removed++;
		}
	}
out:
	free(zs);
	free(dead);
	free(sorted);
	free(salive);
	return removed;
}

int64_t fqc_next_expiry(const struct fqc *c)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < c->icap; i++)
		for (const struct fqc_ip *p = c->ips[i]; p; p = p->hnext)
			for (const struct fqc_entry *e = p->entries; e; e = e->inext)
				if (!e->zombie && e->expires < next)
					next = e->expires;
	return next;
}

int fqc_clean(struct fqc *c, const char *pattern)
{
	struct bw_fqdn_matcher *m = NULL;
	struct fqc_entry **v = NULL;
	size_t n = 0, cap = 0;

	if (pattern && !(m = bw_fqdn_matcher_new(BW_FQDN_MATCH_PATTERN, pattern, NULL, 0)))
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	for (size_t i = 0; i < c->ncap; i++)
		for (struct fqc_name *nm = c->names[i]; nm; nm = nm->hnext) {
			if (m && !bw_fqdn_matcher_match(m, nm->text))
				continue;
			for (struct fqc_entry *e = nm->entries; e; e = e->nnext) {
				if (n == cap) {
					size_t ncap = cap ? cap * 2 : 64;
					struct fqc_entry **nv = realloc(v, ncap * sizeof(*nv));

					if (!nv) {
						free(v);
						bw_fqdn_matcher_free(m);
						return -ENOMEM;
					}
					v = nv;
					cap = ncap;
				}
				v[n++] = e;
			}
		}
	for (size_t i = 0; i < n; i++)
		fqc_entry_remove(c, v[i]);
	c->st.cleaned += n;
	free(v);
	bw_fqdn_matcher_free(m);
	return (int)n;
}

/* ---- the changed queue --------------------------------------------------- */

void fqc_drain_changed(struct fqc *c,
		       void (*cb)(const struct fqc_addr *a, const char *const *names,
				  size_t n, void *arg),
		       void *arg)
{
	struct fqc_ip *p = c->changed;

	c->changed = NULL;
	while (p) {
		struct fqc_ip *next = p->cnext;
		const char *stackv[16], **names = stackv;
		size_t k = 0;

		if (p->n > 16)
			names = calloc(p->n, sizeof(*names));
		if (names) {
			for (struct fqc_entry *e = p->entries; e; e = e->inext)
				names[k++] = e->name->text;
			cb(&p->a, names, k, arg);
		}
		if (names != stackv)
			free(names);
		p->changed = 0;
		p->cnext = NULL;
		if (!p->n)
			fqc_ip_drop(c, p);
		p = next;
	}
}

void fqc_mark_all_changed(struct fqc *c)
{
	for (size_t i = 0; i < c->icap; i++)
		for (struct fqc_ip *p = c->ips[i]; p; p = p->hnext)
			fqc_changed(c, p);
}

/* ---- lifetime, stats ------------------------------------------------------- */

struct fqc *fqc_new(const struct fqc_conf *conf)
{
	struct fqc *c = calloc(1, sizeof(*c));

	if (c && conf)
		c->conf = *conf;
	return c;
}

void fqc_set_conf(struct fqc *c, const struct fqc_conf *conf)
{
	c->conf = *conf;
}

void fqc_free(struct fqc *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->icap; i++) {
		struct fqc_ip *p = c->ips[i], *pn;

		for (; p; p = pn) {
			struct fqc_entry *e = p->entries, *en;

			pn = p->hnext;
			for (; e; e = en) {
				en = e->inext;
				free(e);
			}
			free(p);
		}
	}
	for (size_t i = 0; i < c->ncap; i++) {
		struct fqc_name *n = c->names[i], *nn;

		for (; n; n = nn) {
			nn = n->hnext;
			free(n->text);
			free(n);
		}
	}
	free(c->ips);
	free(c->names);
	free(c);
}

void fqc_stats(const struct fqc *c, struct fqc_stats *st)
{
	*st = c->st;
	st->names = c->nnames;
	st->entries = c->nentries;
	st->addresses = c->nips;
	st->zombies = c->nzombies;
}

/* ---- JSON ------------------------------------------------------------------ */

static void fqc_addr_text(const struct fqc_addr *a, char *buf, size_t len)
{
	inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->addr, buf, (socklen_t)len);
}

static int fqc_entry_cmp(const void *pa, const void *pb)
{
	const struct fqc_entry *a = *(const struct fqc_entry *const *)pa;
	const struct fqc_entry *b = *(const struct fqc_entry *const *)pb;
	int r = strcmp(a->name->text, b->name->text);

	if (r)
		return r;
	if (a->ip->a.family != b->ip->a.family)
		return a->ip->a.family - b->ip->a.family;
	return memcmp(a->ip->a.addr, b->ip->a.addr, 16);
}

json_t *fqc_to_json(const struct fqc *c, int64_t now,
		    uint32_t (*ident)(const struct fqc_addr *a, void *arg), void *arg)
{
	json_t *list = json_array(), *doc;
	struct fqc_entry **v = c->nentries ? calloc(c->nentries, sizeof(*v)) : NULL;
	size_t n = 0;

	if (!list || (c->nentries && !v)) {
		json_decref(list);
		free(v);
		return NULL;
	}
	for (size_t i = 0; i < c->icap; i++)
		for (struct fqc_ip *p = c->ips[i]; p; p = p->hnext)
			for (struct fqc_entry *e = p->entries; e && n < c->nentries; e = e->inext)
				v[n++] = e;
	if (n > 1) /* qsort takes no NULL array, even empty */
		qsort(v, n, sizeof(*v), fqc_entry_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct fqc_entry *e = v[i];
		char a[64];
		json_t *eps = json_array(), *o;

		fqc_addr_text(&e->ip->a, a, sizeof(a));
		for (int k = 0; k < e->neps; k++)
			json_array_append_new(eps, json_integer(e->eps[k]));
		o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:b, s:o}", "name", e->name->text,
			      "ip", a, "ttl", (json_int_t)e->ttl, "lookup", (json_int_t)e->lookup,
			      "expires", (json_int_t)e->expires, "zombie", e->zombie,
			      "endpoints", eps);
		if (o && e->alive)
			json_object_set_new(o, "alive", json_integer(e->alive));
		if (o && ident) {
			int64_t left = (e->expires - now) / 1000;

			json_object_set_new(o, "identity", json_integer(ident(&e->ip->a, arg)));
			json_object_set_new(o, "expires_in_s", json_integer(left > 0 ? left : 0));
		}
		if (o)
			json_array_append_new(list, o);
	}
	free(v);
	doc = json_pack("{s:i, s:o}", "version", 1, "entries", list);
	return doc;
}

int fqc_restore(struct fqc *c, const json_t *doc, int64_t now)
{
	const json_t *list = json_object_get(doc, "entries");
	size_t i, n = 0;
	json_t *o;

	if (!json_is_object(doc) || json_integer_value(json_object_get(doc, "version")) != 1 ||
	    !json_is_array(list))
		return -EINVAL;
	/* check everything first: nothing is kept from a bad file */
	json_array_foreach(list, i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		const char *ip = json_string_value(json_object_get(o, "ip"));
		char norm[BW_FQDN_NAME_MAX + 3];
		uint8_t a[16];

		if (!name || !ip || bw_fqdn_name_normalize(name, norm, sizeof(norm)) < 0 ||
		    strcmp(norm, name) ||
		    (inet_pton(AF_INET, ip, a) != 1 && inet_pton(AF_INET6, ip, a) != 1) ||
		    !json_is_integer(json_object_get(o, "expires")) ||
		    !json_is_integer(json_object_get(o, "lookup")))
			return -EINVAL;
	}
	json_array_foreach(list, i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		const char *ip = json_string_value(json_object_get(o, "ip"));
		int64_t expires = json_integer_value(json_object_get(o, "expires"));
		int64_t lookup = json_integer_value(json_object_get(o, "lookup"));
		int64_t ttl = json_integer_value(json_object_get(o, "ttl"));
		const json_t *eps = json_object_get(o, "endpoints"), *ep;
		struct fqc_addr a = { 4, { 0 } };
		struct fqc_entry *e;
		struct fqc_name *nm;
		size_t k;

		if (inet_pton(AF_INET, ip, a.addr) != 1) {
			a.family = 6;
			inet_pton(AF_INET6, ip, a.addr);
		}
		if (fqc_learn(c, name, &a, 1, 0, 0, lookup) < 0)
			return -ENOMEM;
		nm = fqc_name_find(c, name);
		for (e = nm ? nm->entries : NULL; e && !fqc_addr_eq(&e->ip->a, &a); e = e->nnext)
			;
		if (!e)
			continue;
		e->expires = expires;
		e->lookup = lookup;
		e->ttl = ttl > 0 && ttl < UINT32_MAX ? (uint32_t)ttl : 0;
		e->alive = json_integer_value(json_object_get(o, "alive"));
		if (json_is_true(json_object_get(o, "zombie")) || expires <= now)
			fqc_zombify(c, e);
		json_array_foreach(eps, k, ep)
			if (json_is_integer(ep))
				fqc_entry_add_ep(e, (uint32_t)json_integer_value(ep));
		n++;
	}
	c->st.learned -= n; /* restored, not learned */
	return (int)n;
}
