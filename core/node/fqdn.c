/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/node/fqdn.c - FQDN identities (see fqdn.h): addresses with names,
 * selectors, one node-local identity per label set, ipcache claims of owner
 * BW_IPCACHE_OWNER_FQDN.
 *
 * Tables: the selectors in a list (policies hold tens to hundreds), the
 * addresses in a chained hash keyed by (family, address), the identities
 * ("groups": one per label set, counting the addresses that use it or are
 * about to) in a list. Changed addresses go on a work list, so that a DNS
 * answer costs work for its own addresses only; a selector or CIDR change
 * puts every address with names (or an identity) on it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "core/log.h"
#include "core/node/fqdn.h"
#include "core/node/identity.h"
#include "core/node/ipcache.h"
#include "core/node/labels.h"
#include "lib/fqdnmatch.h"

struct fqdn_sel {
	char *text;
	struct bw_fqdn_matcher *m;
	unsigned refs;
	struct fqdn_sel *next;
};

struct fqdn_group {
	char *key;          /* canonical label text */
	uint32_t id;
	unsigned refs;      /* addresses that use it or are about to */
	struct fqdn_group *next;
};

struct fqdn_ip {
	int family;
	uint8_t addr[16];
	char **names;            /* normalised: lower case, trailing dot */
	char **shown;            /* the same without the dot (flows) */
	size_t nnames;
	struct fqdn_group *cur;  /* what the ipcache says */
	struct fqdn_group *nxt;  /* prepared by relabel (NULL = none) */
	int dirty;               /* on the work list, for relabel */
	int pending;             /* relabel prepared a change, for commit */
	struct fqdn_ip *hnext;   /* hash chain */
	struct fqdn_ip *wnext;   /* work list */
};

static struct {
	struct fqdn_sel *sels;
	size_t nsels;
	struct fqdn_group *groups;
	size_t ngroups;
	struct fqdn_ip **tab;
	size_t tabcap, nips, nselected;
	struct fqdn_ip *work;    /* dirty addresses */
	struct fqdn_ip **pend;   /* prepared addresses, in order */
	size_t npend, pendcap;
	int busy;                /* inside relabel or commit */
	int err_logged;
	uint64_t relabels;
} F;

/* ---- addresses ------------------------------------------------------------- */

static size_t fq_hash(int family, const uint8_t *addr)
{
	uint32_t h = 2166136261u ^ (uint32_t)family;

	for (int i = 0; i < (family == 4 ? 4 : 16); i++)
		h = (h ^ addr[i]) * 16777619u;
	return h;
}

static struct fqdn_ip *fq_ip_find(int family, const uint8_t *addr)
{
	struct fqdn_ip *ip;

	if (!F.tabcap)
		return NULL;
	ip = F.tab[fq_hash(family, addr) & (F.tabcap - 1)];
	for (; ip; ip = ip->hnext)
		if (ip->family == family &&
		    !memcmp(ip->addr, addr, family == 4 ? 4 : 16))
			return ip;
	return NULL;
}

static int fq_tab_grow(void)
{
	size_t cap = F.tabcap ? F.tabcap * 2 : 256;
	struct fqdn_ip **t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < F.tabcap; i++) {
		struct fqdn_ip *ip = F.tab[i], *next;

		for (; ip; ip = next) {
			size_t h = fq_hash(ip->family, ip->addr) & (cap - 1);

			next = ip->hnext;
			ip->hnext = t[h];
			t[h] = ip;
		}
	}
	free(F.tab);
	F.tab = t;
	F.tabcap = cap;
	return 0;
}

static struct fqdn_ip *fq_ip_get(int family, const uint8_t *addr)
{
	struct fqdn_ip *ip = fq_ip_find(family, addr);
	size_t h;

	if (ip)
		return ip;
	if (F.nips + 1 > F.tabcap && fq_tab_grow() < 0)
		return NULL;
	ip = calloc(1, sizeof(*ip));
	if (!ip)
		return NULL;
	ip->family = family;
	memcpy(ip->addr, addr, family == 4 ? 4 : 16);
	h = fq_hash(family, addr) & (F.tabcap - 1);
	ip->hnext = F.tab[h];
	F.tab[h] = ip;
	F.nips++;
	return ip;
}

static void fq_names_free(struct fqdn_ip *ip)
{
	for (size_t i = 0; i < ip->nnames; i++) {
		free(ip->names[i]);
		if (ip->shown)
			free(ip->shown[i]);
	}
	free(ip->names);
	free(ip->shown);
	ip->names = NULL;
	ip->shown = NULL;
	ip->nnames = 0;
}

/* Unlink and free an address that has no names and no identity. */
static void fq_ip_free(struct fqdn_ip *ip)
{
	struct fqdn_ip **pp = &F.tab[fq_hash(ip->family, ip->addr) & (F.tabcap - 1)];

	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == ip) {
			*pp = ip->hnext;
			break;
		}
	fq_names_free(ip);
	free(ip);
	F.nips--;
}

static void fq_mark(struct fqdn_ip *ip)
{
	if (ip->dirty)
		return;
	ip->dirty = 1;
	ip->wnext = F.work;
	F.work = ip;
}

static void fq_mark_all(int only_selected)
{
	for (size_t i = 0; i < F.tabcap; i++)
		for (struct fqdn_ip *ip = F.tab[i]; ip; ip = ip->hnext)
			if (!only_selected || ip->cur)
				fq_mark(ip);
}

static int fq_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int bw_fqdn_ip_set(int family, const uint8_t *addr, const char *const *names,
		   size_t nnames)
{
	struct fqdn_ip *ip;
	char **v = NULL;
	size_t n = 0;

	if ((family != 4 && family != 6) || !addr || (nnames && !names))
		return -EINVAL;
	ip = fq_ip_find(family, addr);
	if (!ip && !nnames)
		return 0;
	if (nnames) {
		v = calloc(nnames, sizeof(*v));
		if (!v)
			return -ENOMEM;
		for (size_t i = 0; i < nnames; i++) {
			char norm[BW_FQDN_NAME_MAX + 3];

			if (!names[i] || bw_fqdn_name_normalize(names[i], norm, sizeof(norm)) < 0)
				continue;
			v[n] = strdup(norm);
			if (!v[n])
				goto nomem;
			n++;
		}
		qsort(v, n, sizeof(*v), fq_name_cmp);
		for (size_t i = 1; i < n;) { /* unique */
			if (!strcmp(v[i], v[i - 1])) {
				free(v[i]);
				memmove(&v[i], &v[i + 1], (n - i - 1) * sizeof(*v));
				n--;
			} else {
				i++;
			}
		}
	}
	if (!ip) {
		if (!n) {
			free(v);
			return 0;
		}
		ip = fq_ip_get(family, addr);
		if (!ip)
			goto nomem;
	} else if (ip->nnames == n) {
		size_t i;

		for (i = 0; i < n && !strcmp(ip->names[i], v[i]); i++)
			;
		if (i == n) { /* no change */
			for (i = 0; i < n; i++)
				free(v[i]);
			free(v);
			return 0;
		}
	}
	fq_names_free(ip);
	if (n) {
		ip->shown = calloc(n, sizeof(*ip->shown));
		for (size_t i = 0; ip->shown && i < n; i++) {
			size_t l = strlen(v[i]);

			ip->shown[i] = strndup(v[i], l > 1 ? l - 1 : l);
			if (!ip->shown[i]) {
				while (i--)
					free(ip->shown[i]);
				free(ip->shown);
				ip->shown = NULL;
			}
		}
	}
	ip->names = v;
	ip->nnames = n;
	if (!n) {
		free(v);
		ip->names = NULL;
	}
	fq_mark(ip);
	return 0;
nomem:
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return -ENOMEM;
}

size_t bw_fqdn_names(int family, const uint8_t *addr, const char *const **names)
{
	const struct fqdn_ip *ip = fq_ip_find(family, addr);

	if (!ip || !ip->nnames || !ip->shown)
		return 0;
	*names = (const char *const *)ip->shown;
	return ip->nnames;
}

uint32_t bw_fqdn_ip_identity(int family, const uint8_t *addr)
{
	const struct fqdn_ip *ip = fq_ip_find(family, addr);

	return ip && ip->cur ? ip->cur->id : 0;
}

/* ---- selectors ------------------------------------------------------------- */

int bw_fqdn_selector_ref(const char *text)
{
	struct fqdn_sel *s;

	for (s = F.sels; s; s = s->next)
		if (!strcmp(s->text, text)) {
			s->refs++;
			return 0;
		}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->text = strdup(text);
	s->m = bw_fqdn_matcher_from_canonical(text);
	if (!s->text || !s->m) {
		free(s->text);
		bw_fqdn_matcher_free(s->m);
		free(s);
		return -ENOMEM;
	}
	s->refs = 1;
	s->next = F.sels;
	F.sels = s;
	F.nsels++;
	fq_mark_all(0);
	bw_debug("fqdn: selector %s in use", text);
	return 0;
}

void bw_fqdn_selector_unref(const char *text)
{
	struct fqdn_sel **pp, *s;

	for (pp = &F.sels; (s = *pp); pp = &s->next)
		if (!strcmp(s->text, text))
			break;
	if (!s || --s->refs)
		return;
	*pp = s->next;
	F.nsels--;
	bw_debug("fqdn: selector %s no longer in use", text);
	bw_fqdn_matcher_free(s->m);
	free(s->text);
	free(s);
	fq_mark_all(1);
}

void bw_fqdn_cidr_changed(void)
{
	fq_mark_all(1);
}

void bw_fqdn_selector_foreach(void (*cb)(const char *text, void *arg), void *arg)
{
	for (struct fqdn_sel *s = F.sels; s; s = s->next)
		cb(s->text, arg);
}

int bw_fqdn_pending(void)
{
	return !F.busy && (F.work != NULL || F.npend > 0);
}

/* ---- identities -------------------------------------------------------------- */

static int fq_sel_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct fqdn_sel *const *)a)->text,
		      (*(const struct fqdn_sel *const *)b)->text);
}

/*
 * The label set an address needs, or NULL when no selector matches any of
 * its names (*err 0) or on an error (*err < 0).
 */
static struct bw_labelset *fq_labels(const struct fqdn_ip *ip, int *err)
{
	struct bw_labelset *ls = NULL;
	struct bw_ipcache_entry ce;
	int matched = 0;

	*err = 0;
	for (struct fqdn_sel *s = F.sels; s; s = s->next) {
		for (size_t i = 0; i < ip->nnames; i++) {
			if (!bw_fqdn_matcher_match(s->m, ip->names[i]))
				continue;
			if (!ls && !(ls = bw_labelset_new()))
				goto nomem;
			if (bw_labelset_add(ls, BW_LABEL_SOURCE_FQDN, s->text, "") < 0)
				goto nomem;
			matched = 1;
			break;
		}
	}
	if (!matched)
		return NULL;
	if (bw_labelset_add(ls, BW_LABEL_SOURCE_RESERVED, "world", "") < 0)
		goto nomem;
	if (bw_ipcache_lookup_owner(ip->family, ip->addr, BW_IPCACHE_OWNER_CIDR, &ce) == 0) {
		char pfx[INET6_ADDRSTRLEN + 8], key[96];

		bw_prefix_format(&ce.prefix, 1, pfx, sizeof(pfx));
		if (bw_identity_cidr_label(pfx, key, sizeof(key)) == 0 &&
		    bw_labelset_add(ls, BW_LABEL_SOURCE_CIDR, key, "") < 0)
			goto nomem;
	}
	return ls;
nomem:
	bw_labelset_free(ls);
	*err = -ENOMEM;
	return NULL;
}

static struct fqdn_group *fq_group_get(const struct bw_labelset *ls, int *err)
{
	struct fqdn_group *g;
	char *key = bw_labelset_text(ls);
	uint32_t id;

	*err = 0;
	if (!key) {
		*err = -ENOMEM;
		return NULL;
	}
	for (g = F.groups; g; g = g->next)
		if (!strcmp(g->key, key)) {
			free(key);
			return g;
		}
	g = calloc(1, sizeof(*g));
	if (!g) {
		free(key);
		*err = -ENOMEM;
		return NULL;
	}
	/* policy hears of the identity here (and, outside a policy batch,
	 * writes the entries that allow it before this returns) */
	*err = bw_identity_local_acquire(ls, &id);
	if (*err < 0) {
		if (!F.err_logged)
			bw_err("fqdn: cannot get an identity for [%s]: %s (the address keeps its old identity)",
			       key, strerror(-*err));
		F.err_logged = 1;
		free(key);
		free(g);
		return NULL;
	}
	F.err_logged = 0;
	g->key = key;
	g->id = id;
	g->next = F.groups;
	F.groups = g;
	F.ngroups++;
	bw_debug("fqdn: identity %u for [%s]", id, key);
	return g;
}

static void fq_group_unref(struct fqdn_group *g)
{
	struct fqdn_group **pp;

	if (!g || --g->refs)
		return;
	for (pp = &F.groups; *pp; pp = &(*pp)->next)
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	F.ngroups--;
	bw_debug("fqdn: identity %u released", g->id);
	bw_identity_release(g->id);
	free(g->key);
	free(g);
}

static int fq_pend_add(struct fqdn_ip *ip)
{
	if (ip->pending)
		return 0;
	if (F.npend == F.pendcap) {
		size_t cap = F.pendcap ? F.pendcap * 2 : 64;
		struct fqdn_ip **v = realloc(F.pend, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		F.pend = v;
		F.pendcap = cap;
	}
	F.pend[F.npend++] = ip;
	ip->pending = 1;
	return 0;
}

int bw_fqdn_relabel(void)
{
	int ret = 0;

	if (F.busy)
		return 0;
	F.busy = 1;
	while (F.work) {
		struct fqdn_ip *ip = F.work;
		struct fqdn_group *g = NULL;
		struct bw_labelset *ls;
		int err;

		F.work = ip->wnext;
		ip->wnext = NULL;
		ip->dirty = 0;
		ls = ip->nnames ? fq_labels(ip, &err) : NULL;
		if (!ip->nnames)
			err = 0;
		if (err < 0) {
			ret = ret ? ret : err;
			continue;
		}
		if (ls) {
			g = fq_group_get(ls, &err);
			bw_labelset_free(ls);
			if (!g) {
				ret = ret ? ret : err;
				continue;
			}
		}
		if (ip->pending) {
			/* prepared before and not committed yet: replace */
			if (ip->nxt == g)
				continue;
			if (g)
				g->refs++;
			fq_group_unref(ip->nxt);
			ip->nxt = g;
			continue;
		}
		if (g == ip->cur) {
			if (!g && !ip->nnames)
				fq_ip_free(ip);
			continue;
		}
		if (g)
			g->refs++;
		if (fq_pend_add(ip) < 0) {
			ret = ret ? ret : -ENOMEM;
			fq_group_unref(g);
			fq_mark(ip);
			break;
		}
		ip->nxt = g;
	}
	F.busy = 0;
	return ret;
}

int bw_fqdn_commit(void)
{
	struct fqdn_group **old = NULL;
	size_t nold = 0, n;
	int ret = 0;

	if (F.busy || !F.npend)
		return 0;
	F.busy = 1;
	n = F.npend;
	old = calloc(n, sizeof(*old));
	for (size_t i = 0; i < n; i++) {
		struct fqdn_ip *ip = F.pend[i];
		struct bw_prefix p;
		int err;

		memset(&p, 0, sizeof(p));
		p.family = ip->family;
		p.plen = ip->family == 4 ? 32 : 128;
		memcpy(p.addr, ip->addr, ip->family == 4 ? 4 : 16);
		if (ip->nxt)
			err = bw_ipcache_upsert(&p, ip->nxt->id, 0, BW_IPCACHE_OWNER_FQDN);
		else
			err = bw_ipcache_remove(&p, BW_IPCACHE_OWNER_FQDN);
		ip->pending = 0;
		if (err < 0 && err != -ENOENT) {
			char a[INET6_ADDRSTRLEN];

			inet_ntop(ip->family == 4 ? AF_INET : AF_INET6, ip->addr, a, sizeof(a));
			bw_err("fqdn: cannot map %s to identity %u in the ipcache: %s",
			       a, ip->nxt ? ip->nxt->id : 0, strerror(-err));
			ret = ret ? ret : err;
			fq_group_unref(ip->nxt); /* keep the old one */
			ip->nxt = NULL;
			fq_mark(ip);
			continue;
		}
		F.relabels++;
		if (!ip->cur && ip->nxt)
			F.nselected++;
		else if (ip->cur && !ip->nxt)
			F.nselected--;
		if (old)
			old[nold++] = ip->cur;
		else
			fq_group_unref(ip->cur);
		ip->cur = ip->nxt;
		ip->nxt = NULL;
		if (!ip->cur && !ip->nnames && !ip->dirty)
			fq_ip_free(ip);
	}
	F.npend = 0;
	/* identities that lost their last address go after the ipcache moved
	 * away from them (their policy entries are removed then) */
	for (size_t i = 0; i < nold; i++)
		fq_group_unref(old[i]);
	free(old);
	F.busy = 0;
	return ret;
}

int bw_fqdn_sync(void)
{
	int e1 = bw_fqdn_relabel();
	int e2 = bw_fqdn_commit();

	return e1 < 0 ? e1 : e2;
}

/* ---- views ------------------------------------------------------------------- */

void bw_fqdn_counts(struct bw_fqdn_counts *c)
{
	memset(c, 0, sizeof(*c));
	c->selectors = F.nsels;
	c->addresses = F.nips;
	c->selected = F.nselected;
	c->identities = F.ngroups;
	c->relabels = F.relabels;
}

json_t *bw_fqdn_to_json(void)
{
	json_t *sels = json_array(), *ids = json_array();
	struct fqdn_sel **sv = F.nsels ? calloc(F.nsels, sizeof(*sv)) : NULL;
	size_t n = 0;

	if (!sels || !ids || (F.nsels && !sv)) {
		json_decref(sels);
		json_decref(ids);
		free(sv);
		return NULL;
	}
	for (struct fqdn_sel *s = F.sels; s && n < F.nsels; s = s->next)
		sv[n++] = s;
	qsort(sv, n, sizeof(*sv), fq_sel_cmp);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(sels, json_string(sv[i]->text));
	free(sv);
	for (struct fqdn_group *g = F.groups; g; g = g->next) {
		struct bw_labelset *ls = bw_labelset_from_text(g->key, NULL, 0);

		json_array_append_new(ids, json_pack("{s:I, s:o, s:I}", "id", (json_int_t)g->id,
						     "labels", ls ? bw_labelset_to_json(ls) : json_array(),
						     "addresses", (json_int_t)g->refs));
		bw_labelset_free(ls);
	}
	return json_pack("{s:o, s:o, s:I, s:I}", "selectors", sels, "identities", ids,
			 "addresses", (json_int_t)F.nips, "selected", (json_int_t)F.nselected);
}

void bw_fqdn_fini(void)
{
	for (size_t i = 0; i < F.tabcap; i++) {
		struct fqdn_ip *ip = F.tab[i], *next;

		for (; ip; ip = next) {
			next = ip->hnext;
			fq_names_free(ip);
			free(ip);
		}
	}
	free(F.tab);
	while (F.sels) {
		struct fqdn_sel *s = F.sels;

		F.sels = s->next;
		bw_fqdn_matcher_free(s->m);
		free(s->text);
		free(s);
	}
	while (F.groups) {
		struct fqdn_group *g = F.groups;

		F.groups = g->next;
		free(g->key);
		free(g);
	}
	free(F.pend);
	memset(&F, 0, sizeof(F));
}
