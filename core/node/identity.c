/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/node/identity.c - reserved identities, the table of identities in use,
 * CIDR identities, and GET /v1/identities.
 *
 * Numbers come from the registered allocator (an identity module). The core
 * calls allocate() for every reference and release() for every release, so
 * the allocator's own reference counts agree with the core's; the core's
 * table exists so that id -> labels needs no module call on the hot paths
 * (flow enrichment, resolver) and so that the watchers (the policy
 * repository) hear about an identity exactly when it appears and
 * disappears.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "core/api.h"
#include "core/node/fqdn.h"
#include "core/node/identity.h"
#include "core/node/ipcache.h"
#include "core/node/labels.h"
#include "core/log.h"
#include "core/module/registry.h"
#include "lib/watchlist.h"
#include "bpf/bw_datapath.h"

struct identity_entry {
	uint32_t id;
	struct bw_labelset *labels;
	char *text;             /* canonical label text */
	unsigned refs;
	int is_cidr;
	struct bw_prefix prefix; /* CIDR identities: the prefix they map */
};

/* Reserved identities, indexed by number (0 unused). */
static struct bw_labelset *identity_reserved[BW_IDENTITY_RESERVED_MAX + 1];

/* Identities in use, sorted by id. */
static struct identity_entry *identity_tab;
static size_t identity_n, identity_cap;

static const struct {
	uint32_t id;
	const char *labels[2];
} identity_reserved_def[] = {
	{ BW_ID_HOST, { "host" } },
	{ BW_ID_WORLD, { "world" } },
	{ BW_ID_UNMANAGED, { "unmanaged" } },
	{ BW_ID_HEALTH, { "health" } },
	{ BW_ID_INIT, { "init" } },
	{ BW_ID_REMOTE_NODE, { "remote-node" } },
	{ BW_ID_KUBE_APISERVER, { "kube-apiserver", "remote-node" } },
	{ BW_ID_INGRESS, { "ingress" } },
	{ BW_ID_WORLD_IPV4, { "world-ipv4" } },
	{ BW_ID_WORLD_IPV6, { "world-ipv6" } },
	{ BW_IDENTITY_OVERLAY_TO_ENCRYPT, { "overlay-to-encrypt" } },
};

/* ---- table ----------------------------------------------------------------- */

/* Who is told when an identity appears or disappears (bw_identity_watch). */
static struct bw_watchlist identity_watchers;

int bw_identity_watch(void (*fn)(uint32_t id, int added, void *arg), void *arg)
{
	return bw_watchlist_add(&identity_watchers, BW_WATCH_FN(fn), arg);
}

void bw_identity_unwatch(void (*fn)(uint32_t id, int added, void *arg), void *arg)
{
	bw_watchlist_remove(&identity_watchers, BW_WATCH_FN(fn), arg);
}

static void identity_notify(uint32_t id, int added)
{
	for (size_t i = 0; i < identity_watchers.n; i++) {
		void (*fn)(uint32_t, int, void *) =
			(void (*)(uint32_t, int, void *))identity_watchers.v[i].fn;

		fn(id, added, identity_watchers.v[i].arg);
	}
}

static void cidr_idx_del(const struct bw_prefix *p, uint32_t id);

static struct identity_entry *identity_find(uint32_t id)
{
	size_t lo = 0, hi = identity_n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (identity_tab[mid].id == id)
			return &identity_tab[mid];
		if (identity_tab[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Insert (takes ownership of labels and text); returns the entry. */
static struct identity_entry *identity_insert(uint32_t id,
					      struct bw_labelset *labels,
					      char *text)
{
	size_t pos = 0, hi = identity_n;

	if (identity_n == identity_cap) {
		size_t cap = identity_cap ? identity_cap * 2 : 64;
		struct identity_entry *v = realloc(identity_tab, cap * sizeof(*v));

		if (!v)
			return NULL;
		identity_tab = v;
		identity_cap = cap;
	}
	while (pos < hi) { /* first entry with a larger id: bisect */
		size_t mid = (pos + hi) / 2;

		if (identity_tab[mid].id < id)
			pos = mid + 1;
		else
			hi = mid;
	}
	memmove(&identity_tab[pos + 1], &identity_tab[pos],
		(identity_n - pos) * sizeof(identity_tab[0]));
	memset(&identity_tab[pos], 0, sizeof(identity_tab[0]));
	identity_tab[pos].id = id;
	identity_tab[pos].labels = labels;
	identity_tab[pos].text = text;
	identity_n++;
	return &identity_tab[pos];
}

static void identity_remove(uint32_t id)
{
	struct identity_entry *e = identity_find(id);
	size_t i;

	if (!e)
		return;
	i = (size_t)(e - identity_tab);
	if (e->is_cidr)
		cidr_idx_del(&e->prefix, e->id);
	bw_labelset_free(e->labels);
	free(e->text);
	memmove(&identity_tab[i], &identity_tab[i + 1],
		(identity_n - i - 1) * sizeof(identity_tab[0]));
	identity_n--;
}

enum bw_identity_scope bw_identity_scope_of(uint32_t id)
{
	if (id <= BW_IDENTITY_RESERVED_MAX || id < BW_IDENTITY_MIN_GLOBAL)
		return BW_IDENTITY_SCOPE_RESERVED;
	if ((id & 0xff000000u) == BW_ID_LOCAL_SCOPE)
		return BW_IDENTITY_SCOPE_LOCAL;
	return BW_IDENTITY_SCOPE_GLOBAL;
}

const char *bw_identity_scope_name(enum bw_identity_scope scope)
{
	switch (scope) {
	case BW_IDENTITY_SCOPE_RESERVED: return "reserved";
	case BW_IDENTITY_SCOPE_GLOBAL: return "global";
	case BW_IDENTITY_SCOPE_LOCAL: return "local";
	}
	return "?";
}

const struct bw_labelset *bw_identity_labels(uint32_t id)
{
	struct identity_entry *e;

	if (id && id <= BW_IDENTITY_RESERVED_MAX)
		return identity_reserved[id];
	e = identity_find(id);
	return e ? e->labels : NULL;
}

unsigned bw_identity_refs(uint32_t id)
{
	struct identity_entry *e = identity_find(id);

	return e ? e->refs : 0;
}

int bw_identity_exists(uint32_t id)
{
	return bw_identity_labels(id) != NULL;
}

/* ---- acquire / release ------------------------------------------------------ */

/*
 * Ask the allocator for the number of labels and take one reference in the
 * table. *created says whether the identity is new to the table (the caller
 * then tells the watchers).
 */
static int identity_take(const struct bw_labelset *labels, int scope_local,
			 uint32_t *id, struct identity_entry **out, int *created)
{
	const struct bw_identity_allocator *a = bw_identity_allocator_get();
	struct identity_entry *e;
	struct bw_labelset *copy;
	char *text;
	uint32_t nid = 0;
	int rc;

	*created = 0;
	if (!a)
		return -ENODEV; /* the caller says so, with what it was doing */
	text = bw_labelset_text(labels);
	if (!text)
		return -ENOMEM;
	rc = a->allocate(a->user_data, text, scope_local, &nid);
	if (rc < 0) {
		free(text); /* the caller reports it */
		return rc;
	}
	if (nid <= BW_IDENTITY_RESERVED_MAX ||
	    (scope_local && bw_identity_scope_of(nid) != BW_IDENTITY_SCOPE_LOCAL) ||
	    (!scope_local && bw_identity_scope_of(nid) != BW_IDENTITY_SCOPE_GLOBAL)) {
		bw_err("identity: allocator %s returned %u for [%s], outside the %s range",
		       a->name, nid, text, scope_local ? "local" : "global");
		a->release(a->user_data, nid);
		free(text);
		return -ERANGE;
	}
	e = identity_find(nid);
	if (e) {
		if (strcmp(e->text, text) != 0) {
			bw_err("identity: allocator %s returned %u for [%s], but it is [%s]",
			       a->name, nid, text, e->text);
			a->release(a->user_data, nid);
			free(text);
			return -EEXIST;
		}
		free(text);
		e->refs++;
		*id = nid;
		*out = e;
		return 0;
	}
	copy = bw_labelset_dup(labels);
	if (!copy || !(e = identity_insert(nid, copy, text))) {
		bw_labelset_free(copy);
		free(text);
		a->release(a->user_data, nid);
		return -ENOMEM;
	}
	e->refs = 1;
	*created = 1;
	*id = nid;
	*out = e;
	return 0;
}

/* Drop one reference; on the last one tell the watchers, then free the number. */
static void identity_drop(uint32_t id)
{
	const struct bw_identity_allocator *a = bw_identity_allocator_get();
	struct identity_entry *e = identity_find(id);

	if (!e) {
		bw_warn("identity: release of unknown identity %u", id);
		return;
	}
	if (e->refs > 1) {
		e->refs--;
		if (a)
			a->release(a->user_data, id);
		return;
	}
	e->refs = 0;
	identity_notify(id, 0);
	identity_remove(id);
	if (a)
		a->release(a->user_data, id);
}

int bw_identity_acquire(const struct bw_labelset *labels, uint32_t *id)
{
	struct identity_entry *e;
	int created, rc;

	for (uint32_t r = 1; r <= BW_IDENTITY_RESERVED_MAX; r++) {
		if (identity_reserved[r] && bw_labelset_equal(identity_reserved[r], labels)) {
			*id = r;
			return 0;
		}
	}
	rc = identity_take(labels, 0, id, &e, &created);
	if (rc < 0)
		return rc;
	if (created) {
		bw_debug("identity: %u appeared", *id);
		identity_notify(*id, 1);
	}
	return 0;
}

int bw_identity_local_acquire(const struct bw_labelset *labels, uint32_t *id)
{
	struct identity_entry *e;
	int created, rc;

	rc = identity_take(labels, 1, id, &e, &created);
	if (rc < 0)
		return rc;
	if (created) {
		bw_debug("identity: local identity %u appeared", *id);
		identity_notify(*id, 1);
	}
	return 0;
}

void bw_identity_release(uint32_t id)
{
	if (bw_identity_scope_of(id) == BW_IDENTITY_SCOPE_RESERVED)
		return;
	identity_drop(id);
}

/* ---- CIDR identities -------------------------------------------------------- */

/*
 * CIDR identities by prefix (chained hash, grown at load 1): a policy that
 * names a prefix whose identity exists (a re-import of 10,000 CIDR peers)
 * takes its reference without building the label set and its text again.
 */
struct cidr_node {
	struct cidr_node *next;
	struct bw_prefix prefix;
	uint32_t id;
};

static struct cidr_node **cidr_idx;
static size_t cidr_nb, cidr_n;

static size_t cidr_hash(const struct bw_prefix *p)
{
	uint64_t h = 1469598103934665603ull;

	h = (h ^ (uint64_t)p->family) * 1099511628211ull;
	h = (h ^ (uint64_t)p->plen) * 1099511628211ull;
	for (int i = 0; i < 16; i++)
		h = (h ^ p->addr[i]) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

static struct cidr_node **cidr_slot(const struct bw_prefix *p)
{
	struct cidr_node **pp;

	if (!cidr_nb)
		return NULL;
	for (pp = &cidr_idx[cidr_hash(p) & (cidr_nb - 1)]; *pp; pp = &(*pp)->next)
		if (bw_prefix_equal(&(*pp)->prefix, p))
			return pp;
	return pp;
}

static void cidr_idx_add(const struct bw_prefix *p, uint32_t id)
{
	struct cidr_node *n, **pp;

	if (cidr_n + 1 > cidr_nb) {
		size_t nb = cidr_nb ? cidr_nb * 2 : 256;
		struct cidr_node **v = calloc(nb, sizeof(*v));

		if (!v)
			return; /* no index entry: the slow path finds it */
		for (size_t i = 0; i < cidr_nb; i++) {
			struct cidr_node *c = cidr_idx[i], *next;

			for (; c; c = next) {
				next = c->next;
				c->next = v[cidr_hash(&c->prefix) & (nb - 1)];
				v[cidr_hash(&c->prefix) & (nb - 1)] = c;
			}
		}
		free(cidr_idx);
		cidr_idx = v;
		cidr_nb = nb;
	}
	pp = cidr_slot(p);
	if (*pp) {
		(*pp)->id = id;
		return;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return;
	n->prefix = *p;
	n->id = id;
	*pp = n;
	cidr_n++;
}

static void cidr_idx_del(const struct bw_prefix *p, uint32_t id)
{
	struct cidr_node **pp = cidr_slot(p), *n;

	if (!pp || !*pp || (*pp)->id != id)
		return;
	n = *pp;
	*pp = n->next;
	free(n);
	cidr_n--;
}

static void cidr_idx_clear(void)
{
	for (size_t i = 0; i < cidr_nb; i++) {
		struct cidr_node *c = cidr_idx[i], *next;

		for (; c; c = next) {
			next = c->next;
			free(c);
		}
	}
	free(cidr_idx);
	cidr_idx = NULL;
	cidr_nb = cidr_n = 0;
}

/*
 * Another reference of the CIDR identity of p if it exists: the allocator
 * is asked with the identity's stored text (what identity_take() would
 * build from the same labels). 1 taken, 0 not known here, or -errno.
 */
static int cidr_take_known(const struct bw_prefix *p, uint32_t *id)
{
	const struct bw_identity_allocator *a = bw_identity_allocator_get();
	struct cidr_node **pp = cidr_slot(p);
	struct identity_entry *e;
	uint32_t nid = 0;
	int rc;

	if (!pp || !*pp || !a || !(e = identity_find((*pp)->id)) || !e->is_cidr ||
	    !bw_prefix_equal(&e->prefix, p))
		return 0;
	rc = a->allocate(a->user_data, e->text, 1, &nid);
	if (rc < 0)
		return rc;
	if (nid != e->id) { /* not what the table says: the full path decides */
		a->release(a->user_data, nid);
		return 0;
	}
	e->refs++;
	*id = nid;
	return 1;
}

int bw_identity_cidr_label(const char *prefix, char *buf, size_t buflen)
{
	struct bw_prefix p;
	char a[INET6_ADDRSTRLEN], key[INET6_ADDRSTRLEN * 2];
	size_t n = 0, len;

	if (bw_prefix_parse(prefix, BW_PREFIX_STRICT, &p) < 0)
		return -EINVAL;
	bw_prefix_format(&p, 0, a, sizeof(a));
	len = strlen(a);
	for (size_t i = 0; i < len; i++) {
		if (a[i] != ':') {
			key[n++] = a[i];
		} else if (i == 0) {
			key[n++] = '0';
			key[n++] = '-';
		} else if (i == len - 1) {
			key[n++] = '-';
			key[n++] = '0';
		} else {
			key[n++] = '-';
		}
	}
	key[n] = '\0';
	if ((size_t)snprintf(buf, buflen, "%s/%d", key, p.plen) >= buflen)
		return -ENOSPC;
	return 0;
}

int bw_identity_cidr_acquire(const char *prefix, uint32_t *id)
{
	struct bw_prefix p;

	if (bw_prefix_parse(prefix, BW_PREFIX_STRICT, &p) < 0)
		return -EINVAL;
	return bw_identity_cidr_acquire_prefix(&p, id);
}

int bw_identity_cidr_acquire_prefix(const struct bw_prefix *pfx, uint32_t *id)
{
	struct bw_labelset *ls;
	struct identity_entry *e;
	struct bw_prefix p = *pfx, q;
	char key[96], prefix[INET6_ADDRSTRLEN + 8];
	int created, rc;

	if ((p.family != 4 && p.family != 6) || p.plen < 0 || p.plen > (p.family == 4 ? 32 : 128))
		return -EINVAL;
	if (p.family == 4)
		memset(p.addr + 4, 0, 12);
	q = p;
	bw_prefix_mask(&p);
	if (!bw_prefix_equal(&p, &q))
		return -EINVAL; /* host bits set */
	rc = cidr_take_known(&p, id);
	if (rc)
		return rc < 0 ? rc : 0;
	bw_prefix_format(&p, 1, prefix, sizeof(prefix));
	if (bw_identity_cidr_label(prefix, key, sizeof(key)) < 0)
		return -EINVAL;
	ls = bw_labelset_new();
	if (!ls)
		return -ENOMEM;
	if (bw_labelset_add(ls, BW_LABEL_SOURCE_CIDR, key, "") < 0 ||
	    bw_labelset_add(ls, BW_LABEL_SOURCE_RESERVED, "world", "") < 0) {
		bw_labelset_free(ls);
		return -ENOMEM;
	}
	rc = identity_take(ls, 1, id, &e, &created);
	bw_labelset_free(ls);
	if (rc < 0)
		return rc;
	if (!created)
		return 0;
	e->is_cidr = 1;
	e->prefix = p;
	cidr_idx_add(&p, *id);
	/* Policy first, so that the first packet mapped to the new identity
	 * already meets entries that allow it. */
	identity_notify(*id, 1);
	rc = bw_ipcache_upsert(&p, *id, 0, BW_IPCACHE_OWNER_CIDR);
	if (rc < 0) {
		identity_drop(*id); /* the caller reports it, naming the prefix */
		return rc;
	}
	bw_debug("identity: CIDR identity %u for %s", *id, prefix);
	bw_fqdn_cidr_changed();
	return 0;
}

void bw_identity_cidr_release(uint32_t id)
{
	struct identity_entry *e = identity_find(id);

	if (!e) {
		bw_warn("identity: release of unknown CIDR identity %u", id);
		return;
	}
	if (e->refs == 1 && e->is_cidr) {
		int rc = bw_ipcache_remove(&e->prefix, BW_IPCACHE_OWNER_CIDR);

		if (rc < 0 && rc != -ENOENT) {
			char buf[INET6_ADDRSTRLEN + 8];

			bw_err_errno(rc,
				     "identity: cannot remove %s (CIDR identity %u) from the ipcache",
				     bw_prefix_format(&e->prefix, 1, buf, sizeof(buf)),
				     id);
		}
		bw_fqdn_cidr_changed();
	}
	identity_drop(id);
}

/* ---- listing ------------------------------------------------------------------ */

void bw_identity_foreach(int (*cb)(uint32_t id, const struct bw_labelset *labels,
				   void *arg),
			 void *arg)
{
	for (uint32_t r = 1; r <= BW_IDENTITY_RESERVED_MAX; r++)
		if (identity_reserved[r] && cb(r, identity_reserved[r], arg))
			return;
	for (size_t i = 0; i < identity_n; i++)
		if (cb(identity_tab[i].id, identity_tab[i].labels, arg))
			return;
}

json_t *bw_identity_to_json(uint32_t id)
{
	const struct bw_labelset *ls = bw_identity_labels(id);

	if (!ls)
		return NULL;
	return json_pack("{s:I, s:o, s:I, s:s}", "id", (json_int_t)id,
			 "labels", bw_labelset_to_json(ls),
			 "refs", (json_int_t)bw_identity_refs(id),
			 "scope", bw_identity_scope_name(bw_identity_scope_of(id)));
}

static int identity_list_cb(uint32_t id, const struct bw_labelset *labels,
			    void *arg)
{
	json_t *o = bw_identity_to_json(id);

	if (o)
		json_array_append_new((json_t *)arg, o);
	return 0;
}

static int identity_api_list(struct bw_api_request *req, void *arg)
{
	json_t *list = json_array();

	if (!list)
		return -ENOMEM;
	bw_identity_foreach(identity_list_cb, list);
	return bw_api_reply_json(req, 200, json_pack("{s:o}", "identities", list));
}

/* ---- lifetime -------------------------------------------------------------------- */

int bw_identity_init(void)
{
	int rc;

	for (size_t i = 0; i < sizeof(identity_reserved_def) / sizeof(identity_reserved_def[0]); i++) {
		uint32_t id = identity_reserved_def[i].id;
		struct bw_labelset *ls = bw_labelset_new();

		if (!ls)
			return -ENOMEM;
		for (int j = 0; j < 2 && identity_reserved_def[i].labels[j]; j++) {
			if (bw_labelset_add(ls, BW_LABEL_SOURCE_RESERVED,
					    identity_reserved_def[i].labels[j], "") < 0) {
				bw_labelset_free(ls);
				return -ENOMEM;
			}
		}
		bw_labelset_free(identity_reserved[id]);
		identity_reserved[id] = ls;
	}
	rc = bw_api_route_add("GET", "/v1/identities", identity_api_list, NULL);
	if (rc < 0 && rc != -EEXIST) {
		bw_err_errno(rc,
			     "identity: cannot register GET /v1/identities");
		return rc;
	}
	return 0;
}

void bw_identity_fini(void)
{
	bw_api_route_remove("GET", "/v1/identities");
	for (size_t i = 0; i < identity_n; i++) {
		bw_labelset_free(identity_tab[i].labels);
		free(identity_tab[i].text);
	}
	free(identity_tab);
	identity_tab = NULL;
	identity_n = identity_cap = 0;
	cidr_idx_clear();
	for (uint32_t r = 0; r <= BW_IDENTITY_RESERVED_MAX; r++) {
		bw_labelset_free(identity_reserved[r]);
		identity_reserved[r] = NULL;
	}
	bw_watchlist_clear(&identity_watchers);
}
