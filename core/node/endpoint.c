/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/node/endpoint.c - the endpoint registry and namespaces: validation,
 * the ordered steps that add, relabel and delete an endpoint without a
 * window, persistence in <state_dir>/endpoints.json, and the API routes.
 *
 * Every change runs in three phases: parse and validate the whole request
 * (400), check it against the registry (404, 409), then apply. Applying
 * keeps what it replaced until the end, so a failing step (identity
 * allocation, a map write, the state file) puts everything back.
 *
 * Request parsing is in core/node/endpoint_spec.c, the API routes in
 * core/node/endpoint_api.c.
 *
 * Order on add, so that the first packet is already enforced: identity,
 * ipcache entries, bw_endpoint_info, the watchers (the policy repository
 * resolves and writes the endpoint's entries), state file, and the tc
 * programs last. On delete the programs go first.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/datapath/datapath.h"
#include "core/node/endpoint.h"
#include "core/node/endpoint_int.h"
#include "core/node/identity.h"
#include "core/node/ipcache.h"
#include "core/node/labels.h"
#include "core/log.h"
#include "core/module/module.h"
#include "core/state.h"
#include "lib/errbuf.h"
#include "lib/watchlist.h"

#define ENDPOINT_STATE_FILE "endpoints.json"
#define ENDPOINT_STATE_VERSION 1
#define ENDPOINT_MAX_ID 0xffffu

static struct bw_endpoint *endpoints;
static struct endpoint_ns *namespaces;
static uint32_t endpoint_next_id = 1;

/* Who is told about changes (bw_endpoint_watch). */
static struct bw_watchlist endpoint_watchers;

int bw_endpoint_watch(int (*fn)(struct bw_endpoint *ep, int event, void *arg),
		      void *arg)
{
	return bw_watchlist_add(&endpoint_watchers, BW_WATCH_FN(fn), arg);
}

void bw_endpoint_unwatch(int (*fn)(struct bw_endpoint *ep, int event, void *arg),
			 void *arg)
{
	bw_watchlist_remove(&endpoint_watchers, BW_WATCH_FN(fn), arg);
}

/* Tell every watcher; the first error of ADDED/UPDATED stops and is returned. */
static int endpoint_notify(struct bw_endpoint *ep, int event)
{
	for (size_t i = 0; i < endpoint_watchers.n; i++) {
		const struct bw_watch *w = &endpoint_watchers.v[i];
		int (*fn)(struct bw_endpoint *, int, void *) =
			(int (*)(struct bw_endpoint *, int, void *))w->fn;
		int rc = fn(ep, event, w->arg);

		if (rc < 0 && event != BW_EP_EVENT_DELETED)
			return rc;
	}
	return 0;
}

static const char *endpoint_proto_name(uint8_t p)
{
	switch (p) {
	case IPPROTO_TCP: return "TCP";
	case IPPROTO_UDP: return "UDP";
	case IPPROTO_SCTP: return "SCTP";
	}
	return "?";
}

static const char *endpoint_addr_str(const struct bw_ep_addr *a, char *buf,
				     size_t len)
{
	if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->addr, buf,
		       (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

static void endpoint_state_clear(struct endpoint_state *st)
{
	bw_labelset_free(st->pod_labels);
	bw_labelset_free(st->labels);
	bw_labelset_free(st->id_labels);
	memset(st, 0, sizeof(*st));
}

static json_t *endpoint_visibility_json(const struct bw_endpoint *ep)
{
	char buf[BW_EP_MAX_VISIBILITY * 96];

	bw_ep_visibility_format(ep->st.vis, ep->st.nvis, buf, sizeof(buf));
	return json_string(buf);
}

/* Take the given workload of a request (set: as bw_ep_spec.workload). */
static void endpoint_set_workload(struct bw_endpoint *ep, int set,
				  const struct bw_ep_workload *wl)
{
	if (set < 0)
		return;
	ep->wl_set = set > 0;
	if (set > 0)
		ep->wl = *wl;
	else
		memset(&ep->wl, 0, sizeof(ep->wl));
}

/* ---- lookups ------------------------------------------------------------------ */

struct bw_endpoint *bw_endpoint_find(const char *ns, const char *pod)
{
	for (struct bw_endpoint *ep = endpoints; ep; ep = ep->next)
		if (strcmp(ep->ns, ns) == 0 && strcmp(ep->pod, pod) == 0)
			return ep;
	return NULL;
}

struct bw_endpoint *bw_endpoint_find_by_id(uint32_t id)
{
	for (struct bw_endpoint *ep = endpoints; ep; ep = ep->next)
		if (ep->id == id)
			return ep;
	return NULL;
}

struct bw_endpoint *bw_endpoint_find_by_ifindex(int ifindex)
{
	for (struct bw_endpoint *ep = endpoints; ep; ep = ep->next)
		if (ep->ifindex == ifindex)
			return ep;
	return NULL;
}

struct bw_endpoint *bw_endpoint_find_by_ip(int family, const uint8_t *addr)
{
	size_t len = family == 4 ? 4 : 16;

	for (struct bw_endpoint *ep = endpoints; ep; ep = ep->next)
		for (size_t i = 0; i < ep->nips; i++)
			if (ep->ips[i].family == family &&
			    memcmp(ep->ips[i].addr, addr, len) == 0)
				return ep;
	return NULL;
}

void bw_endpoint_foreach(int (*cb)(struct bw_endpoint *ep, void *arg), void *arg)
{
	struct bw_endpoint *ep, *next;

	for (ep = endpoints; ep; ep = next) {
		next = ep->next;
		if (cb(ep, arg))
			return;
	}
}

static size_t endpoint_n; /* endpoints linked */

size_t bw_endpoint_count(void)
{
	return endpoint_n;
}

static struct endpoint_ns *endpoint_ns_find(const char *name)
{
	for (struct endpoint_ns *n = namespaces; n; n = n->next)
		if (strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

const struct bw_labelset *bw_namespace_labels(const char *ns)
{
	struct endpoint_ns *n = endpoint_ns_find(ns);

	return n ? n->labels : NULL;
}

int bw_namespace_audit(const char *ns)
{
	struct endpoint_ns *n = endpoint_ns_find(ns);

	return n ? n->audit : 0;
}

/* ---- namespaces -------------------------------------------------------------- */

/* New namespace record with kubernetes.io/metadata.name=NS (not linked). */
static struct endpoint_ns *endpoint_ns_new(const char *name)
{
	struct endpoint_ns *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strdup(name);
	n->labels = bw_labelset_new();
	if (!n->name || !n->labels ||
	    bw_labelset_add(n->labels, BW_LABEL_SOURCE_K8S, BW_LABEL_NS_NAME, name) < 0) {
		free(n->name);
		bw_labelset_free(n->labels);
		free(n);
		return NULL;
	}
	return n;
}

static void endpoint_ns_link(struct endpoint_ns *n)
{
	struct endpoint_ns **pp = &namespaces;

	while (*pp && strcmp((*pp)->name, n->name) < 0)
		pp = &(*pp)->next;
	n->next = *pp;
	*pp = n;
}

static void endpoint_ns_unlink_free(struct endpoint_ns *n)
{
	for (struct endpoint_ns **pp = &namespaces; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			break;
		}
	}
	free(n->name);
	bw_labelset_free(n->labels);
	free(n);
}

/* Drop an implicit namespace nobody uses any more. */
static void endpoint_ns_gc(struct endpoint_ns *n)
{
	if (n && !n->explicit_set && n->nendpoints == 0)
		endpoint_ns_unlink_free(n);
}

/* ---- labels ------------------------------------------------------------------ */

/*
 * The full label set of a pod: its own labels (source k8s), its namespace,
 * the namespace's labels and the cluster name.
 */
static int endpoint_compute_labels(const char *ns, const struct bw_labelset *pod,
				   const struct bw_labelset *nslabels,
				   struct endpoint_state *st)
{
	struct bw_labelset *all = bw_labelset_dup(pod);
	char key[512];

	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < bw_labelset_count(nslabels); i++) {
		const struct bw_label *l = bw_labelset_at(nslabels, i);

		snprintf(key, sizeof(key), "%s%s", BW_LABEL_NS_LABELS_PREFIX, l->key);
		if (bw_labelset_add(all, BW_LABEL_SOURCE_K8S, key, l->value) < 0)
			goto nomem;
	}
	if (bw_labelset_add(all, BW_LABEL_SOURCE_K8S, BW_LABEL_POD_NAMESPACE, ns) < 0 ||
	    bw_labelset_add(all, BW_LABEL_SOURCE_K8S, BW_LABEL_POLICY_CLUSTER,
			    BW_CLUSTER_NAME) < 0)
		goto nomem;
	st->labels = all;
	st->id_labels = bw_labelset_filter_identity(all);
	if (!st->id_labels) {
		st->labels = NULL;
		goto nomem;
	}
	return 0;
nomem:
	bw_labelset_free(all);
	return -ENOMEM;
}

/* Registry checks of an add: 409 on conflicts. */
static int endpoint_check_conflicts(const struct bw_ep_spec *s, char *err,
				    size_t errlen)
{
	struct bw_endpoint *o;
	char buf[INET6_ADDRSTRLEN];

	if (bw_endpoint_find(s->ns, s->pod)) {
		bw_errbuf_set(err, errlen, "endpoint %s/%s already exists", s->ns, s->pod);
		return -EEXIST;
	}
	o = bw_endpoint_find_by_ifindex(s->ifindex);
	if (o) {
		bw_errbuf_set(err, errlen,
			      "host_ifname: interface \"%s\" belongs to endpoint %s/%s",
			      s->ifname, o->ns, o->pod);
		return -EEXIST;
	}
	for (size_t i = 0; i < s->nips; i++) {
		endpoint_addr_str(&s->ips[i], buf, sizeof(buf));
		o = bw_endpoint_find_by_ip(s->ips[i].family, s->ips[i].addr);
		if (o) {
			bw_errbuf_set(err, errlen,
				      "ips[%zu]: %s belongs to endpoint %s/%s", i, buf,
				      o->ns, o->pod);
			return -EEXIST;
		}
		if (bw_ipcache_is_host_addr(s->ips[i].family, s->ips[i].addr)) {
			bw_errbuf_set(err, errlen,
				      "ips[%zu]: %s is an address of the node itself", i, buf);
			return -EEXIST;
		}
	}
	return 0;
}

/* ---- ids ---------------------------------------------------------------------- */

static uint32_t endpoint_alloc_id(void)
{
	uint32_t id = endpoint_next_id;

	for (uint32_t tries = 0; tries < ENDPOINT_MAX_ID; tries++) {
		if (id == 0 || id > ENDPOINT_MAX_ID)
			id = 1;
		if (!bw_endpoint_find_by_id(id))
			return id;
		id++;
	}
	return 0;
}

static void endpoint_link(struct bw_endpoint *ep)
{
	struct bw_endpoint **pp = &endpoints;

	while (*pp && (*pp)->id < ep->id)
		pp = &(*pp)->next;
	ep->next = *pp;
	*pp = ep;
	ep->nsp->nendpoints++;
	endpoint_n++;
}

static void endpoint_unlink(struct bw_endpoint *ep)
{
	for (struct bw_endpoint **pp = &endpoints; *pp; pp = &(*pp)->next) {
		if (*pp == ep) {
			*pp = ep->next;
			endpoint_n--;
			break;
		}
	}
	ep->next = NULL;
	ep->nsp->nendpoints--;
}

static void endpoint_free(struct bw_endpoint *ep)
{
	if (!ep)
		return;
	endpoint_state_clear(&ep->st);
	free(ep->ns);
	free(ep->pod);
	free(ep);
}

/* ---- persistence ---------------------------------------------------------------- */

static json_t *endpoint_labels_obj(const struct bw_labelset *ls)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < bw_labelset_count(ls); i++) {
		const struct bw_label *l = bw_labelset_at(ls, i);

		json_object_set_new(o, l->key, json_string(l->value));
	}
	return o;
}

static json_t *endpoint_ports_json(const struct bw_endpoint *ep)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < ep->nports; i++)
		json_array_append_new(a, json_pack("{s:s, s:i, s:s}", "name",
						   ep->ports[i].name, "port",
						   (int)ep->ports[i].port, "protocol",
						   endpoint_proto_name(ep->ports[i].protocol)));
	return a;
}

static json_t *endpoint_ips_json(const struct bw_endpoint *ep)
{
	json_t *a = json_array();
	char buf[INET6_ADDRSTRLEN];

	for (size_t i = 0; a && i < ep->nips; i++)
		json_array_append_new(a, json_string(endpoint_addr_str(&ep->ips[i], buf,
									 sizeof(buf))));
	return a;
}

/* One endpoint as the state file (and its journal) keeps it. */
static json_t *endpoint_json_one(const struct bw_endpoint *ep)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:b}",
			      "id", (json_int_t)ep->id,
			      "namespace", ep->ns, "pod", ep->pod,
			      "host_ifname", ep->ifname,
			      "ips", endpoint_ips_json(ep),
			      "labels", endpoint_labels_obj(ep->st.pod_labels),
			      "named_ports", endpoint_ports_json(ep),
			      "audit", ep->st.audit);

	if (o && ep->st.nvis)
		json_object_set_new(o, "proxy_visibility", endpoint_visibility_json(ep));
	/* only a given workload is kept: the pod name's is derived again */
	if (o && ep->wl_set)
		json_object_set_new(o, "workload",
				    json_pack("{s:s, s:s}", "kind", ep->wl.kind,
					      "name", ep->wl.name));
	return o;
}

static json_t *endpoint_state_json(const struct bw_endpoint *skip)
{
	json_t *eps = json_array(), *nss = json_array();

	for (struct endpoint_ns *n = namespaces; n; n = n->next) {
		unsigned users = n->nendpoints;

		if (skip && skip->nsp == n)
			users--;
		if (!n->explicit_set && users == 0)
			continue;
		json_array_append_new(nss, json_pack("{s:s, s:o, s:b, s:b}", "name", n->name,
						     "labels", endpoint_labels_obj(n->labels),
						     "audit", n->audit, "explicit",
						     n->explicit_set));
	}
	for (struct bw_endpoint *ep = endpoints; ep; ep = ep->next)
		if (ep != skip)
			json_array_append_new(eps, endpoint_json_one(ep));
	return json_pack("{s:i, s:I, s:o, s:o}", "version", ENDPOINT_STATE_VERSION,
			 "next_id", (json_int_t)endpoint_next_id, "namespaces", nss,
			 "endpoints", eps);
}

static int endpoint_state_path(char *buf, size_t len)
{
	if (!bw_conf || !bw_conf->state_dir || !*bw_conf->state_dir)
		return -ENXIO;
	if ((size_t)snprintf(buf, len, "%s/%s", bw_conf->state_dir,
			     ENDPOINT_STATE_FILE) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* The journal next to the state file (core/node/endpoint_journal.c). */
static size_t endpoint_journal_n; /* records in the journal */

static int endpoint_journal_path(char *buf, size_t len)
{
	int rc = endpoint_state_path(buf, len);

	if (rc == 0 && strlen(buf) + sizeof(".journal") > len)
		return -ENAMETOOLONG;
	return rc < 0 ? rc : (strcat(buf, ".journal"), 0);
}

/* Write the registry (without skip) to the state file; the caller reports. */
static int endpoint_save(const struct bw_endpoint *skip, char *err, size_t errlen)
{
	char path[4096], jpath[4096];
	json_t *doc;
	int rc = endpoint_state_path(path, sizeof(path));

	if (rc < 0) {
		bw_errbuf_set(err, errlen, "no state directory configured");
		return rc;
	}
	doc = endpoint_state_json(skip);
	if (!doc) {
		bw_errbuf_set(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = bw_state_mkdir_p(bw_conf->state_dir, 0700);
	if (rc == 0)
		rc = bw_state_write_json(path, doc);
	json_decref(doc);
	if (rc < 0) {
		bw_errbuf_set(err, errlen, "cannot write %s: %s", path, strerror(-rc));
		return rc;
	}
	/* the file has everything: the journal's records are in it (replaying
	 * them again would give the same state, should emptying it fail) */
	if (endpoint_journal_path(jpath, sizeof(jpath)) == 0 &&
	    bw_state_journal_reset(jpath) == 0)
		endpoint_journal_n = 0;
	return 0;
}

/*
 * Record one endpoint's change in the journal: put (added or changed: its
 * whole entry) or, with del, its removal. The caller reports a failure.
 */
static int endpoint_log(const struct bw_endpoint *ep, int del, char *err, size_t errlen)
{
	char jpath[4096], e2[256];
	int rc = endpoint_journal_path(jpath, sizeof(jpath));

	if (rc < 0) {
		bw_errbuf_set(err, errlen, "no state directory configured");
		return rc;
	}
	rc = bw_state_mkdir_p(bw_conf->state_dir, 0700);
	if (rc < 0) {
		bw_errbuf_set(err, errlen, "cannot create %s: %s", bw_conf->state_dir,
			      strerror(-rc));
		return rc;
	}
	rc = bw_ep_journal_append(jpath, del ? NULL : endpoint_json_one(ep), ep->id,
				  endpoint_next_id, err, errlen);
	if (rc < 0)
		return rc;
	/* fold it into the file once it is long (the change is safe already) */
	if (++endpoint_journal_n > 64 + 2 * bw_endpoint_count() &&
	    endpoint_save(NULL, e2, sizeof(e2)) < 0)
		bw_warn("endpoint: %s", e2);
	return 0;
}

/*
 * Why bw_identity_acquire() failed, for the caller's message. Without an
 * allocator: a configured identity module that failed (its state file, its
 * init) is the reason to name, not a missing daemon.modules entry.
 */
static void endpoint_identity_err(int rc, char *err, size_t errlen)
{
	const struct bw_module_ctx *bad = NULL;

	if (rc != -ENODEV) {
		bw_errbuf_set(err, errlen, "cannot allocate an identity: %s", strerror(-rc));
		return;
	}
	for (const struct bw_module_ctx *c = bw_modules_first(); c; c = c->next)
		if ((c->state == BW_INSTANCE_DISABLED || c->state == BW_INSTANCE_FAILED) &&
		    (!bad || (c->module && strstr(c->module, "identity"))))
			bad = c;
	if (bad)
		bw_errbuf_set(err, errlen,
			      "cannot allocate an identity: no identity module is running: [%s] is %s (%s)",
			      bad->instance ? bad->instance : "?",
			      bw_instance_state_name(bad->state),
			      bad->error[0] ? bad->error : "see the log");
	else
		bw_errbuf_set(err, errlen,
			      "cannot allocate an identity: no identity module is loaded (add identity-local to daemon.modules)");
}

/* Write the state file where nobody waits for the answer: log a failure. */
static void endpoint_save_or_warn(void)
{
	char err[512];

	if (endpoint_save(NULL, err, sizeof(err)) < 0)
		bw_warn("endpoint: %s", err);
}

/* ---- applying ----------------------------------------------------------------- */

static int endpoint_ipcache_set(struct bw_endpoint *ep, uint32_t identity,
				size_t *done)
{
	for (*done = 0; *done < ep->nips; (*done)++) {
		struct bw_prefix p;
		int rc;

		memset(&p, 0, sizeof(p));
		p.family = ep->ips[*done].family;
		p.plen = p.family == 4 ? 32 : 128;
		memcpy(p.addr, ep->ips[*done].addr, 16);
		rc = bw_ipcache_upsert(&p, identity, ep->id, BW_IPCACHE_OWNER_ENDPOINT);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Undo: failures are logged here, the caller carries on. */
static void endpoint_ipcache_clear(struct bw_endpoint *ep, size_t n)
{
	for (size_t i = 0; i < n && i < ep->nips; i++) {
		char a[INET6_ADDRSTRLEN];
		struct bw_prefix p;
		int rc;

		memset(&p, 0, sizeof(p));
		p.family = ep->ips[i].family;
		p.plen = p.family == 4 ? 32 : 128;
		memcpy(p.addr, ep->ips[i].addr, 16);
		rc = bw_ipcache_remove(&p, BW_IPCACHE_OWNER_ENDPOINT);
		if (rc < 0 && rc != -ENOENT && rc != -ENXIO)
			bw_warn_errno(rc, "endpoint: %s/%s: cannot remove %s from the ipcache",
				      ep->ns, ep->pod, bw_prefix_format(&p, 0, a, sizeof(a)));
	}
}

/* Undo: the ipcache entries of the identity ep has again; failures logged. */
static void endpoint_ipcache_restore(struct bw_endpoint *ep)
{
	size_t done;
	int rc = endpoint_ipcache_set(ep, ep->st.identity, &done);

	if (rc < 0 && rc != -ENXIO)
		bw_warn_errno(rc, "endpoint: %s/%s: cannot put its ipcache entries back",
			      ep->ns, ep->pod);
}

static void endpoint_state_swap(struct endpoint_state *a, struct endpoint_state *b)
{
	struct endpoint_state t = *a;

	*a = *b;
	*b = t;
}

/*
 * Swap st into ep (st receives the old state) and bring the datapath along:
 * ipcache entries for a new identity, then the policy. On failure the old
 * state is back in ep and st holds the new one again.
 */
static int endpoint_apply_state(struct bw_endpoint *ep, struct endpoint_state *st,
				char *err, size_t errlen)
{
	size_t done = 0;
	int rc, idchg;

	endpoint_state_swap(&ep->st, st);
	idchg = ep->st.identity != st->identity;
	if (idchg) {
		rc = endpoint_ipcache_set(ep, ep->st.identity, &done);
		if (rc < 0) {
			bw_errbuf_set(err, errlen, "cannot update the ipcache: %s",
				      strerror(-rc));
			endpoint_state_swap(&ep->st, st);
			if (done)
				endpoint_ipcache_restore(ep);
			return rc;
		}
	}
	rc = endpoint_notify(ep, BW_EP_EVENT_UPDATED);
	if (rc < 0) {
		bw_errbuf_set(err, errlen, "cannot resolve the policy of %s/%s: %s",
			      ep->ns, ep->pod, strerror(-rc));
		endpoint_state_swap(&ep->st, st);
		if (idchg)
			endpoint_ipcache_restore(ep);
		endpoint_notify(ep, BW_EP_EVENT_UPDATED);
		return rc;
	}
	return 0;
}

/* New state for ep with pod labels (NULL: keep), audit (-1: keep) and
 * proxy visibility (vis NULL: keep). */
static int endpoint_prepare_state(struct bw_endpoint *ep,
				  const struct bw_labelset *pod_labels,
				  const struct bw_labelset *nslabels, int audit,
				  const struct bw_ep_visibility *vis, size_t nvis,
				  struct endpoint_state *st, char *err, size_t errlen)
{
	int rc;

	memset(st, 0, sizeof(*st));
	st->pod_labels = bw_labelset_dup(pod_labels ? pod_labels : ep->st.pod_labels);
	if (!st->pod_labels)
		return -ENOMEM;
	rc = endpoint_compute_labels(ep->ns, st->pod_labels, nslabels, st);
	if (rc < 0) {
		endpoint_state_clear(st);
		return rc;
	}
	st->audit = audit < 0 ? ep->st.audit : audit;
	if (!vis) {
		vis = ep->st.vis;
		nvis = ep->st.nvis;
	}
	memcpy(st->vis, vis, nvis * sizeof(*vis));
	st->nvis = nvis;
	/* Equal labels give the same number with one more reference: the
	 * caller always releases the state it swaps out. */
	rc = bw_identity_acquire(st->id_labels, &st->identity);
	if (rc < 0) {
		endpoint_identity_err(rc, err, errlen);
		st->identity = 0;
		endpoint_state_clear(st);
	}
	return rc;
}

static void endpoint_state_drop(struct endpoint_state *st)
{
	if (st->identity)
		bw_identity_release(st->identity);
	endpoint_state_clear(st);
}

int bw_endpoint_http_status(int rc)
{
	switch (rc) {
	case 0: return 200;
	case -EINVAL: return 400;
	case -ENOENT: return 404;
	case -EEXIST: return 409;
	}
	return 500;
}

/* A new endpoint (not linked) from a parsed request; takes s->labels. */
static struct bw_endpoint *endpoint_new(struct bw_ep_spec *s, uint32_t id,
					struct endpoint_ns *nsp)
{
	struct bw_endpoint *ep = calloc(1, sizeof(*ep));

	if (!ep || !(ep->ns = strdup(s->ns)) || !(ep->pod = strdup(s->pod))) {
		endpoint_free(ep);
		return NULL;
	}
	ep->id = id;
	snprintf(ep->ifname, sizeof(ep->ifname), "%s", s->ifname);
	ep->ifindex = s->ifindex;
	memcpy(ep->ips, s->ips, sizeof(s->ips));
	ep->nips = s->nips;
	memcpy(ep->ports, s->ports, sizeof(s->ports));
	ep->nports = s->nports;
	endpoint_set_workload(ep, s->workload, &s->wl);
	ep->wl_derived_ok = bw_endpoint_workload_derive(ep->pod, &ep->wl_derived);
	ep->nsp = nsp;
	ep->st.pod_labels = s->labels;
	s->labels = NULL;
	ep->st.audit = s->audit > 0;
	memcpy(ep->st.vis, s->vis, sizeof(s->vis));
	ep->st.nvis = s->nvis;
	return ep;
}

/* How far endpoint_bring_up() got, for endpoint_take_down(). */
struct endpoint_progress {
	size_t ipcache_done;
	int linked;
	int announced;
};

/*
 * The steps an add and a restore share, in the order that enforces the
 * first packet: identity, ipcache entries (with the endpoint id), the
 * endpoint map entry (put_info; a restore finds it pinned), then the
 * endpoint becomes visible to lookups and the watchers (the policy
 * repository) are told. On failure err names the step; the caller undoes
 * what pr records with endpoint_take_down().
 */
static int endpoint_bring_up(struct bw_endpoint *ep, int put_info,
			     struct endpoint_progress *pr, char *err, size_t errlen)
{
	struct bw_endpoint_info info;
	int rc;

	memset(pr, 0, sizeof(*pr));
	rc = endpoint_compute_labels(ep->ns, ep->st.pod_labels, ep->nsp->labels, &ep->st);
	if (rc < 0)
		return rc;
	/* 1. identity */
	rc = bw_identity_acquire(ep->st.id_labels, &ep->st.identity);
	if (rc < 0) {
		endpoint_identity_err(rc, err, errlen);
		ep->st.identity = 0;
		return rc;
	}
	/* 2. ipcache, with the endpoint id */
	rc = endpoint_ipcache_set(ep, ep->st.identity, &pr->ipcache_done);
	if (rc < 0) {
		bw_errbuf_set(err, errlen, "cannot write the ipcache: %s", strerror(-rc));
		return rc;
	}
	/* 3. the endpoint's entry; the policy sets its flags next */
	if (put_info) {
		memset(&info, 0, sizeof(info));
		info.ep_id = ep->id;
		info.identity = ep->st.identity;
		info.flags = (ep->st.audit || ep->nsp->audit) ? BW_EP_F_AUDIT : 0;
		rc = bw_datapath_endpoint_put(ep->ifindex, &info);
		if (rc < 0) {
			bw_errbuf_set(err, errlen, "cannot write the endpoint map: %s",
				      strerror(-rc));
			return rc;
		}
	}
	/* 4. the watchers (policy), with the endpoint visible to lookups */
	endpoint_link(ep);
	pr->linked = 1;
	pr->announced = 1;
	rc = endpoint_notify(ep, BW_EP_EVENT_ADDED);
	if (rc < 0)
		bw_errbuf_set(err, errlen, "cannot resolve the policy of %s/%s: %s",
			      ep->ns, ep->pod, strerror(-rc));
	return rc;
}

/* Undo endpoint_bring_up() as far as it got, and free the endpoint. */
static void endpoint_take_down(struct bw_endpoint *ep,
			       const struct endpoint_progress *pr, int put_info)
{
	if (pr->announced)
		endpoint_notify(ep, BW_EP_EVENT_DELETED);
	if (pr->linked)
		endpoint_unlink(ep);
	if (ep->st.identity) {
		int rc = put_info ? bw_datapath_endpoint_del(ep->ifindex) : 0;

		if (rc < 0 && rc != -ENOENT && rc != -ENXIO)
			bw_warn_errno(rc, "endpoint: %s/%s: cannot remove it from the endpoint map",
				      ep->ns, ep->pod);
		endpoint_ipcache_clear(ep, pr->ipcache_done);
		bw_identity_release(ep->st.identity);
		ep->st.identity = 0;
	}
	endpoint_free(ep);
}

int bw_endpoint_add(const json_t *spec, struct bw_endpoint **out, char *err,
		    size_t errlen)
{
	struct bw_ep_spec s;
	struct endpoint_ns *nsp, *newns = NULL;
	struct bw_endpoint *ep = NULL;
	struct endpoint_progress pr = { 0 };
	int rc, saved = 0, attached = 0, ifidx;
	uint32_t id;

	rc = bw_ep_spec_parse_add(spec, &s, err, errlen);
	if (rc < 0)
		goto out_spec;
	rc = endpoint_check_conflicts(&s, err, errlen);
	if (rc < 0)
		goto out_spec;
	id = endpoint_alloc_id();
	if (!id) {
		bw_errbuf_set(err, errlen, "no endpoint id left (%u endpoints)",
			      (unsigned)bw_endpoint_count());
		rc = -ENOSPC;
		goto out_spec;
	}
	nsp = endpoint_ns_find(s.ns);
	if (!nsp) {
		newns = nsp = endpoint_ns_new(s.ns);
		if (!nsp) {
			rc = -ENOMEM;
			goto out_spec;
		}
		endpoint_ns_link(nsp);
	}
	ep = endpoint_new(&s, id, nsp);
	if (!ep) {
		rc = -ENOMEM;
		goto fail;
	}
	/* 1-4: identity, ipcache, endpoint map, policy */
	rc = endpoint_bring_up(ep, 1, &pr, err, errlen);
	if (rc < 0)
		goto fail;
	/* 5. state file */
	if (endpoint_next_id <= id)
		endpoint_next_id = id + 1 > ENDPOINT_MAX_ID ? 1 : id + 1;
	rc = endpoint_log(ep, 0, err, errlen);
	if (rc < 0)
		goto fail;
	saved = 1;
	/* 6. programs last: the first packet meets the policy */
	attached = 1;
	rc = bw_datapath_attach(ep->ifname, &ifidx);
	if (rc < 0) {
		bw_errbuf_set(err, errlen, "cannot attach to %s: %s", ep->ifname,
			      strerror(-rc));
		goto fail;
	}
	bw_info("endpoint %u %s/%s added on %s, identity %u", ep->id, ep->ns, ep->pod,
		ep->ifname, ep->st.identity);
	if (out)
		*out = ep;
	return 0;
fail:
	if (attached) {
		int e = bw_datapath_detach(ep->ifindex);

		if (e < 0 && e != -ENODEV && e != -ENOENT && e != -ENXIO)
			bw_warn_errno(e, "endpoint: %s/%s: cannot detach from %s", ep->ns,
				      ep->pod, ep->ifname);
	}
	if (ep) {
		if (saved) {
			/* the file without it: unlink first, then save */
			endpoint_notify(ep, BW_EP_EVENT_DELETED);
			pr.announced = 0;
			endpoint_unlink(ep);
			pr.linked = 0;
			if (endpoint_log(ep, 1, err, errlen) < 0)
				bw_warn("endpoint: %s", err);
		}
		endpoint_take_down(ep, &pr, 1);
	}
	if (newns)
		endpoint_ns_gc(newns);
	if (rc == -ENOMEM)
		bw_errbuf_set(err, errlen, "out of memory");
out_spec:
	bw_labelset_free(s.labels);
	return rc;
}

int bw_endpoint_update(const char *ns, const char *pod, const json_t *spec,
		       char *err, size_t errlen)
{
	static const char *const fields[] = { "labels", "audit", "workload",
					      "proxy_visibility", NULL };
	struct bw_endpoint *ep;
	struct bw_labelset *labels = NULL;
	struct bw_ep_workload wl, oldwl;
	struct bw_ep_visibility vis[BW_EP_MAX_VISIBILITY];
	struct endpoint_state st;
	size_t nvis = 0;
	int rc, audit, wlset, oldset, visset;

	if ((rc = bw_ep_spec_check_fields(spec, fields, err, errlen)) < 0 ||
	    (rc = bw_ep_spec_parse_audit(spec, &audit, err, errlen)) < 0 ||
	    (rc = bw_ep_spec_parse_workload(spec, &wl, &wlset, err, errlen)) < 0 ||
	    (rc = bw_ep_spec_parse_visibility(spec, &visset, vis, &nvis, err, errlen)) < 0)
		return rc;
	if (json_object_get(spec, "labels") &&
	    (rc = bw_ep_spec_parse_labels(json_object_get(spec, "labels"), "labels", 0,
					&labels, err, errlen)) < 0)
		return rc;
	ep = bw_endpoint_find(ns, pod);
	if (!ep) {
		bw_errbuf_set(err, errlen, "no endpoint %s/%s", ns, pod);
		bw_labelset_free(labels);
		return -ENOENT;
	}
	oldwl = ep->wl;
	oldset = ep->wl_set;
	if (wlset >= 0 && !labels && audit < 0 && !visset) {
		/* only the workload: no identity or policy change */
		endpoint_set_workload(ep, wlset, &wl);
		rc = endpoint_log(ep, 0, err, errlen);
		if (rc < 0) {
			ep->wl = oldwl;
			ep->wl_set = oldset;
		}
		return rc;
	}
	rc = endpoint_prepare_state(ep, labels, ep->nsp->labels, audit, visset ? vis : NULL,
				    nvis, &st, err, errlen);
	bw_labelset_free(labels);
	if (rc < 0)
		return rc;
	rc = endpoint_apply_state(ep, &st, err, errlen);
	if (rc < 0) {
		endpoint_state_drop(&st);
		return rc;
	}
	endpoint_set_workload(ep, wlset, &wl);
	rc = endpoint_log(ep, 0, err, errlen);
	if (rc < 0) {
		char e2[64];

		ep->wl = oldwl;
		ep->wl_set = oldset;
		endpoint_apply_state(ep, &st, e2, sizeof(e2));
		endpoint_state_drop(&st);
		return rc;
	}
	if (st.identity != ep->st.identity)
		bw_info("endpoint %u %s/%s relabelled, identity %u -> %u", ep->id, ep->ns,
			ep->pod, st.identity, ep->st.identity);
	endpoint_state_drop(&st); /* the old state */
	return 0;
}

int bw_endpoint_delete(const char *ns, const char *pod, char *err, size_t errlen)
{
	struct bw_endpoint *ep = bw_endpoint_find(ns, pod);
	int rc, ifidx;

	if (!ep) {
		bw_errbuf_set(err, errlen, "no endpoint %s/%s", ns, pod);
		return -ENOENT;
	}
	rc = bw_datapath_detach(ep->ifindex);
	if (rc < 0 && rc != -ENODEV && rc != -ENOENT) {
		bw_errbuf_set(err, errlen, "cannot detach from %s: %s", ep->ifname,
			      strerror(-rc));
		return rc;
	}
	rc = endpoint_log(ep, 1, err, errlen);
	if (rc < 0) {
		int e = bw_datapath_attach(ep->ifname, &ifidx);

		if (e < 0 && e != -ENXIO)
			bw_warn_errno(e, "endpoint: %s/%s: cannot attach to %s again", ep->ns,
				      ep->pod, ep->ifname);
		return rc;
	}
	endpoint_notify(ep, BW_EP_EVENT_DELETED);
	endpoint_unlink(ep);
	endpoint_ipcache_clear(ep, ep->nips);
	rc = bw_datapath_endpoint_del(ep->ifindex);
	if (rc < 0 && rc != -ENOENT)
		bw_warn_errno(rc,
			      "endpoint: cannot remove %s/%s from the endpoint map",
			      ep->ns, ep->pod);
	bw_identity_release(ep->st.identity);
	bw_info("endpoint %u %s/%s deleted", ep->id, ep->ns, ep->pod);
	endpoint_ns_gc(ep->nsp);
	endpoint_free(ep);
	return 0;
}

struct endpoint_nschange {
	struct bw_endpoint *ep;
	struct endpoint_state st;
	int applied;
};

int bw_namespace_set(const char *ns, const json_t *spec, char *err, size_t errlen)
{
	static const char *const fields[] = { "labels", "audit", NULL };
	struct endpoint_nschange *ch = NULL;
	struct endpoint_ns *nsp, *newns = NULL;
	struct bw_labelset *labels = NULL, *oldlabels;
	size_t n = 0, i;
	int rc, audit, oldaudit, oldexplicit;
	char sub[384];

	if (bw_k8s_dns_label_valid(ns, sub, sizeof(sub)) < 0) {
		bw_errbuf_set(err, errlen, "namespace: %s", sub);
		return -EINVAL;
	}
	if ((rc = bw_ep_spec_check_fields(spec, fields, err, errlen)) < 0 ||
	    (rc = bw_ep_spec_parse_audit(spec, &audit, err, errlen)) < 0 ||
	    (rc = bw_ep_spec_parse_labels(json_object_get(spec, "labels"), "labels", 1,
					&labels, err, errlen)) < 0)
		return rc;
	{
		const struct bw_label *l = bw_labelset_get(labels, BW_LABEL_SOURCE_K8S,
							   BW_LABEL_NS_NAME);

		if (l && strcmp(l->value, ns) != 0) {
			bw_errbuf_set(err, errlen,
				      "labels: %s must be \"%s\" (the namespace's name), not \"%s\"",
				      BW_LABEL_NS_NAME, ns, l->value);
			bw_labelset_free(labels);
			return -EINVAL;
		}
	}
	if (bw_labelset_add(labels, BW_LABEL_SOURCE_K8S, BW_LABEL_NS_NAME, ns) < 0) {
		bw_labelset_free(labels);
		return -ENOMEM;
	}
	nsp = endpoint_ns_find(ns);
	if (!nsp) {
		newns = nsp = endpoint_ns_new(ns);
		if (!nsp) {
			bw_labelset_free(labels);
			return -ENOMEM;
		}
		endpoint_ns_link(nsp);
	}
	/* New states (identities) for every endpoint of the namespace first. */
	if (nsp->nendpoints) {
		ch = calloc(nsp->nendpoints, sizeof(*ch));
		if (!ch) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	for (struct bw_endpoint *ep = endpoints; ep; ep = ep->next) {
		if (ep->nsp != nsp)
			continue;
		ch[n].ep = ep;
		rc = endpoint_prepare_state(ep, NULL, labels, -1, NULL, 0, &ch[n].st, err,
					    errlen);
		if (rc < 0)
			goto fail;
		n++;
	}
	/* Then swap the namespace and relabel its endpoints. */
	oldlabels = nsp->labels;
	oldaudit = nsp->audit;
	oldexplicit = nsp->explicit_set;
	nsp->labels = labels;
	labels = oldlabels;
	if (audit >= 0)
		nsp->audit = audit;
	nsp->explicit_set = 1;
	for (i = 0; i < n; i++) {
		rc = endpoint_apply_state(ch[i].ep, &ch[i].st, err, errlen);
		if (rc < 0)
			break;
		ch[i].applied = 1;
	}
	if (rc == 0)
		rc = endpoint_save(NULL, err, errlen);
	if (rc < 0) {
		char e2[64];

		struct bw_labelset *tmp = nsp->labels;

		nsp->labels = labels;
		labels = tmp;
		nsp->audit = oldaudit;
		nsp->explicit_set = oldexplicit;
		for (i = 0; i < n; i++)
			if (ch[i].applied)
				endpoint_apply_state(ch[i].ep, &ch[i].st, e2, sizeof(e2));
		goto fail;
	}
	for (i = 0; i < n; i++)
		endpoint_state_drop(&ch[i].st); /* old states */
	free(ch);
	bw_labelset_free(labels); /* old labels */
	bw_info("namespace %s set (%zu endpoints relabelled)", ns, n);
	return 0;
fail:
	for (i = 0; i < n; i++)
		endpoint_state_drop(&ch[i].st);
	free(ch);
	bw_labelset_free(labels);
	if (newns)
		endpoint_ns_gc(newns);
	if (rc == -ENOMEM)
		bw_errbuf_set(err, errlen, "out of memory");
	return rc;
}

/* ---- restore ------------------------------------------------------------------ */

static int endpoint_restore_one(const json_t *j, size_t idx)
{
	json_t *spec = json_deep_copy(j);
	struct bw_endpoint *ep;
	struct endpoint_ns *nsp;
	struct endpoint_progress pr;
	struct bw_ep_spec s;
	uint32_t id;
	char err[512];
	int rc;

	if (!spec)
		return -ENOMEM;
	id = (uint32_t)json_integer_value(json_object_get(spec, "id"));
	json_object_del(spec, "id");
	if (id == 0 || id > ENDPOINT_MAX_ID || bw_endpoint_find_by_id(id)) {
		bw_err("endpoint: state file: endpoints[%zu]: bad or duplicate id", idx);
		json_decref(spec);
		return -EINVAL;
	}
	/* s points into spec: spec lives until s is copied. */
	rc = bw_ep_spec_parse_add(spec, &s, err, sizeof(err));
	if (rc == -EINVAL && (strncmp(err, "host_ifname: no interface", 25) == 0 ||
			      strstr(err, "not an endpoint's host-side veth") != NULL)) {
		bw_warn("endpoint: dropping endpoint %u: %s", id, err);
		json_decref(spec);
		return 1;
	}
	if (rc < 0) {
		bw_err("endpoint: state file: endpoints[%zu]: %s", idx, err);
		json_decref(spec);
		return rc;
	}
	rc = endpoint_check_conflicts(&s, err, sizeof(err));
	if (rc < 0) {
		bw_err("endpoint: state file: endpoints[%zu]: %s", idx, err);
		bw_labelset_free(s.labels);
		json_decref(spec);
		return -EINVAL;
	}
	nsp = endpoint_ns_find(s.ns);
	if (!nsp) {
		nsp = endpoint_ns_new(s.ns);
		if (!nsp) {
			bw_labelset_free(s.labels);
			json_decref(spec);
			return -ENOMEM;
		}
		endpoint_ns_link(nsp);
	}
	ep = endpoint_new(&s, id, nsp);
	bw_labelset_free(s.labels);
	json_decref(spec);
	if (!ep)
		return -ENOMEM;
	/* the same steps as an add; the endpoint map entry is pinned */
	err[0] = '\0';
	rc = endpoint_bring_up(ep, 0, &pr, err, sizeof(err));
	if (rc < 0) {
		bw_err("endpoint: cannot restore %s/%s: %s", ep->ns, ep->pod,
		       err[0] ? err : strerror(-rc));
		endpoint_take_down(ep, &pr, 0);
		return rc;
	}
	bw_info("endpoint %u %s/%s restored, identity %u", ep->id, ep->ns, ep->pod,
		ep->st.identity);
	return 0;
}

int bw_endpoint_restore(void)
{
	char path[4096], jpath[4096], err[512];
	json_t *doc, *a;
	size_t i, dropped = 0;
	int rc = endpoint_state_path(path, sizeof(path)), replayed;

	if (rc < 0 || (rc = endpoint_journal_path(jpath, sizeof(jpath))) < 0)
		return rc;
	rc = bw_ep_state_load(path, jpath, ENDPOINT_STATE_VERSION, &doc, &replayed);
	if (rc < 0 || !doc)
		return rc;
	if (json_integer_value(json_object_get(doc, "version")) != ENDPOINT_STATE_VERSION) {
		bw_err("endpoint: %s: unknown version (expected %d)", path,
		       ENDPOINT_STATE_VERSION);
		json_decref(doc);
		return -EINVAL;
	}
	endpoint_next_id = (uint32_t)json_integer_value(json_object_get(doc, "next_id"));
	if (endpoint_next_id == 0 || endpoint_next_id > ENDPOINT_MAX_ID)
		endpoint_next_id = 1;
	a = json_object_get(doc, "namespaces");
	for (i = 0; i < json_array_size(a); i++) {
		json_t *n = json_array_get(a, i);
		const char *name = json_string_value(json_object_get(n, "name"));
		struct endpoint_ns *nsp;
		struct bw_labelset *labels;

		if (!name || bw_k8s_dns_label_valid(name, err, sizeof(err)) < 0 ||
		    bw_ep_spec_parse_labels(json_object_get(n, "labels"), "labels", 1,
					  &labels, err, sizeof(err)) < 0) {
			bw_err("endpoint: %s: namespaces[%zu] is not valid", path, i);
			json_decref(doc);
			return -EINVAL;
		}
		nsp = endpoint_ns_find(name);
		if (!nsp) {
			nsp = endpoint_ns_new(name);
			if (!nsp) {
				bw_labelset_free(labels);
				json_decref(doc);
				return -ENOMEM;
			}
			endpoint_ns_link(nsp);
		}
		bw_labelset_add(labels, BW_LABEL_SOURCE_K8S, BW_LABEL_NS_NAME, name);
		bw_labelset_free(nsp->labels);
		nsp->labels = labels;
		nsp->audit = json_is_true(json_object_get(n, "audit"));
		nsp->explicit_set = json_is_true(json_object_get(n, "explicit"));
	}
	a = json_object_get(doc, "endpoints");
	for (i = 0; i < json_array_size(a); i++) {
		rc = endpoint_restore_one(json_array_get(a, i), i);
		if (rc < 0) {
			json_decref(doc);
			return rc;
		}
		if (rc > 0)
			dropped++;
	}
	json_decref(doc);
	for (struct endpoint_ns *n = namespaces, *next; n; n = next) {
		next = n->next;
		endpoint_ns_gc(n);
	}
	if (dropped || replayed)
		endpoint_save_or_warn(); /* one file again, the journal empty */
	bw_notice("endpoint: restored %zu endpoints from %s", bw_endpoint_count(), path);
	return 0;
}

int bw_endpoint_attach_all(void)
{
	int ret = 0;

	/* Everything that claims addresses is back by now (endpoints,
	 * policies' CIDR peers): what the pinned ipcache still holds beyond
	 * that is stale and could give a peer a vanished identity. */
	bw_ipcache_prune();

	for (struct bw_endpoint *ep = endpoints; ep; ep = ep->next) {
		int ifidx, rc = bw_datapath_attach(ep->ifname, &ifidx);

		if (rc < 0) {
			bw_err_errno(rc,
				     "endpoint: cannot attach to %s (%s/%s)",
				     ep->ifname, ep->ns, ep->pod);
			if (!ret)
				ret = rc;
		}
	}
	return ret;
}

void bw_endpoint_fini(void)
{
	while (endpoints) {
		struct bw_endpoint *ep = endpoints;

		endpoints = ep->next;
		endpoint_free(ep);
	}
	while (namespaces) {
		struct endpoint_ns *n = namespaces;

		namespaces = n->next;
		free(n->name);
		bw_labelset_free(n->labels);
		free(n);
	}
	endpoint_next_id = 1;
	endpoint_n = 0;
	endpoint_journal_n = 0;
	bw_watchlist_clear(&endpoint_watchers);
}

/* ---- JSON views ------------------------------------------------------------------ */

json_t *bw_endpoint_to_json(const struct bw_endpoint *ep)
{
	json_t *info = json_array(), *o;
	const struct bw_ep_workload *wl;
	int derived;

	for (size_t i = 0; info && i < bw_labelset_count(ep->st.labels); i++) {
		const struct bw_label *l = bw_labelset_at(ep->st.labels, i);

		if (!bw_labelset_get(ep->st.id_labels, l->source, l->key))
			json_array_append_new(info, json_string(l->text));
	}
	o = json_pack("{s:I, s:s, s:s, s:s, s:i, s:o, s:o, s:I, s:o, s:o, s:o, s:b, s:b}",
		      "id", (json_int_t)ep->id, "namespace", ep->ns, "pod", ep->pod,
		      "host_ifname", ep->ifname, "ifindex", ep->ifindex,
		      "ips", endpoint_ips_json(ep),
		      "labels", endpoint_labels_obj(ep->st.pod_labels),
		      "identity", (json_int_t)ep->st.identity,
		      "identity_labels", bw_labelset_to_json(ep->st.id_labels),
		      "information_labels", info,
		      "named_ports", endpoint_ports_json(ep),
		      "audit", ep->st.audit,
		      "namespace_audit", bw_endpoint_ns_audit(ep));
	if (o && ep->st.nvis)
		json_object_set_new(o, "proxy_visibility", endpoint_visibility_json(ep));
	wl = bw_endpoint_workload(ep, &derived);
	if (o && wl) {
		/* Hubble's Workload {name, kind}; derived: from the pod name */
		json_object_set_new(o, "workload", json_pack("{s:s, s:s}", "name", wl->name,
							     "kind", wl->kind));
		json_object_set_new(o, "workload_derived", json_boolean(derived));
	}
	return o;
}

static json_t *endpoint_ns_json(const struct endpoint_ns *n)
{
	return json_pack("{s:s, s:o, s:b, s:i}", "name", n->name,
			 "labels", endpoint_labels_obj(n->labels), "audit", n->audit,
			 "endpoints", (int)n->nendpoints);
}

json_t *bw_namespace_to_json(const char *ns)
{
	struct endpoint_ns *n = endpoint_ns_find(ns);

	return n ? endpoint_ns_json(n) : NULL;
}

json_t *bw_namespaces_to_json(void)
{
	json_t *a = json_array();

	for (struct endpoint_ns *n = namespaces; a && n; n = n->next)
		json_array_append_new(a, endpoint_ns_json(n));
	return a;
}
