/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/flowstore/flowstore_api.c - the adoption verbs' routes and
 * gauges (docs/adoption.md has the shapes; they are stable interfaces):
 *
 *   GET /v1/history?since=&limit=&whitelist=&blacklist=    bulwark history
 *   GET /v1/exposure?namespace=&since=                     bulwark exposure
 *   GET /v1/compliance?namespace=&since=                   bulwark compliance
 *   GET /v1/flowstore                                      the store's state
 *
 * Exposure and compliance read the live policy through the core
 * (bw_core_api.policy_reach / policy_isolation: the endpoint flags and the
 * kernel's policy map, the way `policy trace` does) and the history
 * (the last time each workload's exposure path carried traffic, kept in
 * memory; denied connections per endpoint, a query on the database
 * thread). Workloads group endpoints by namespace and the usual app label
 * (lib/flowpeer.h). History and the denied counts are answered later
 * (bw_core_api.reply_later) when the database thread has them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/flowpeer.h"
#include "flowstore.h"

/* FlowFilter fields history can answer (it keeps workloads, not pods or labels). */
static const char *const fs_filter_fields[] = {
	"source_pod", "destination_pod", "source_ip", "destination_ip",
	"destination_port", "verdict", "protocol", "traffic_direction",
	"source_workload", "destination_workload", "ip_version", NULL,
};

static int
fs_reply_doc(struct flowstore *fs, bw_api_request *req, int status, json_t *doc)
{
	char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	int rc;

	json_decref(doc);
	if (text == NULL)
		return fs->api->reply_error(req, 500, "out of memory");
	rc = fs->api->reply_json(req, status, text);
	free(text);
	return rc;
}

/* ?since=: a duration before now or a time; def_ms when absent. */
static int
fs_since(struct flowstore *fs, bw_api_request *req, int64_t def_ms, int64_t *out)
{
	const char *s = fs->api->req_query(req, "since");
	uint64_t ns;

	if (s == NULL || *s == '\0') {
		*out = def_ms;
		return 0;
	}
	if (bw_flowfilter_parse_time(s, (uint64_t)fs_now_ms() * 1000000, &ns) < 0) {
		fs->api->reply_error(req, 400, "--since %s: give a duration (30s, 15m, 24h) "
				     "or a time (2026-11-26T09:00:00Z)", s);
		return -EINVAL;
	}
	*out = (int64_t)(ns / 1000000);
	return 0;
}

static const char *
fs_unavailable(struct flowstore *fs, char *buf, size_t len)
{
	struct fs_db_stats st;

	if (fs->db == NULL) {
		snprintf(buf, len, "history is unavailable: the flow store is not running");
		return buf;
	}
	fs_db_stats(fs->db, &st);
	if (st.available)
		return NULL;
	snprintf(buf, len, "%s", st.error[0] ? st.error : "history is unavailable");
	return buf;
}

/* ---- history --------------------------------------------------------------------- */

/*
 * The store keeps an outside peer by its address ("203.0.113.7/32"): names
 * change and expire, addresses are what policy matched. When the node's
 * FQDN cache knows names for the address now, the answer shows the first
 * as the side ("api.example", as flows show names) and keeps the address
 * in "<side>_address"; the other names in "<side>_names". Loop thread.
 */
static void
fs_history_name(struct flowstore *fs, json_t *row, const char *side)
{
	const char *v = json_string_value(json_object_get(row, side));
	const char *const *names = NULL;
	char key[64];
	size_t n;

	if (v == NULL || strchr(v, '/') == NULL || (strchr(v, '.') == NULL && strchr(v, ':') == NULL) ||
	    (n = fs->api->fqdn_names(v, &names)) == 0 || names == NULL || names[0] == NULL)
		return;
	snprintf(key, sizeof(key), "%s_address", side);
	json_object_set_new(row, key, json_string(v));
	if (n > 1) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++)
			if (names[i] != NULL)
				json_array_append_new(a, json_string(names[i]));
		snprintf(key, sizeof(key), "%s_names", side);
		json_object_set_new(row, key, a);
	}
	json_object_set_new(row, side, json_string(names[0]));
}

static void
fs_history_names(struct flowstore *fs, json_t *doc)
{
	json_t *row;
	size_t i;

	if (!BW_API_HAS(fs->api, fqdn_names) || fs->api->fqdn_names == NULL)
		return;
	json_array_foreach(json_object_get(doc, "flows"), i, row) {
		fs_history_name(fs, row, "source");
		fs_history_name(fs, row, "destination");
	}
}

static void
fs_history_done(struct fs_query *q)
{
	struct flowstore *fs = q->arg;
	bw_api_request *req = q->arg2;

	if (q->result != NULL) {
		fs_history_names(fs, q->result);
		fs_reply_doc(fs, req, 200, json_incref(q->result));
	} else {
		fs->api->reply_error(req, q->unavailable ? 503 : 500, "%s", q->error);
	}
	fs_query_free(q);
}

/* Refuse filter fields the history cannot answer, naming them. */
static int
fs_filters_check(const json_t *list, char *err, size_t errlen)
{
	size_t i;
	json_t *f;

	json_array_foreach(list, i, f) {
		const char *k;
		json_t *v;

		json_object_foreach((json_t *)f, k, v) {
			size_t j;

			for (j = 0; fs_filter_fields[j] != NULL && strcmp(fs_filter_fields[j], k); j++)
				;
			if (fs_filter_fields[j] == NULL) {
				snprintf(err, errlen,
					 "history keeps workloads, addresses, ports, verdicts and "
					 "directions: it cannot filter on %s", k);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static json_t *
fs_filter_param(struct flowstore *fs, bw_api_request *req, const char *name,
		const char *alt, char *err, size_t errlen)
{
	const char *s = fs->api->req_query(req, name);
	json_error_t jerr;
	json_t *v;

	if (s == NULL)
		s = fs->api->req_query(req, alt);
	if (s == NULL || *s == '\0')
		return json_array();
	if ((v = json_loads(s, 0, &jerr)) == NULL) {
		snprintf(err, errlen, "%s: not JSON: %s", name, jerr.text);
		return NULL;
	}
	if (json_is_object(v)) {
		json_t *a = json_array();

		json_array_append_new(a, v);
		v = a;
	}
	if (!json_is_array(v)) {
		snprintf(err, errlen, "%s: give a JSON array of FlowFilter objects", name);
		json_decref(v);
		return NULL;
	}
	return v;
}

static int
fs_route_history(bw_api_request *req, void *ud)
{
	struct flowstore *fs = ud;
	const char *lim = fs->api->req_query(req, "limit");
	struct fs_query *q;
	json_t *wl = NULL, *bl = NULL;
	char err[512], ubuf[512];
	char *end;
	long long limit = 1000;
	int64_t since;

	if (fs_since(fs, req, 0, &since) < 0)
		return 0;
	if (lim != NULL && *lim) {
		limit = strtoll(lim, &end, 10);
		if (*end || limit < 0)
			return fs->api->reply_error(req, 400, "--limit %s: give a number (0: all)",
						    lim);
	}
	if ((wl = fs_filter_param(fs, req, "whitelist", "allowlist", err, sizeof(err))) == NULL ||
	    (bl = fs_filter_param(fs, req, "blacklist", "denylist", err, sizeof(err))) == NULL) {
		json_decref(wl);
		return fs->api->reply_error(req, 400, "%s", err);
	}
	if (fs_filters_check(wl, err, sizeof(err)) < 0 ||
	    fs_filters_check(bl, err, sizeof(err)) < 0) {
		json_decref(wl);
		json_decref(bl);
		return fs->api->reply_error(req, 400, "%s", err);
	}
	if (fs_unavailable(fs, ubuf, sizeof(ubuf)) != NULL) {
		json_decref(wl);
		json_decref(bl);
		return fs->api->reply_error(req, 503, "%s", ubuf);
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		json_decref(wl);
		json_decref(bl);
		return -ENOMEM;
	}
	if (bw_flowfilters_parse(&q->filters, wl, bl, err, sizeof(err)) < 0) {
		json_decref(wl);
		json_decref(bl);
		fs_query_free(q);
		return fs->api->reply_error(req, 400, "%s", err);
	}
	q->has_filters = json_array_size(wl) > 0 || json_array_size(bl) > 0;
	json_decref(wl);
	json_decref(bl);
	q->kind = FS_Q_HISTORY;
	q->since_ms = since;
	q->limit = (size_t)limit;
	q->done = fs_history_done;
	q->arg = fs;
	q->arg2 = req;
	/* flows of the batch being aggregated are part of "what happened" */
	if (fs->running) {
		struct fs_batch *b = fs->batch;

		if (b != NULL && (b->nrecs > 0 || b->ndenies > 0)) {
			fs->batch = fs_batch_new((size_t)fs->conf.max_keys);
			fs_db_push(fs->db, b);
		}
	}
	fs->api->reply_later(req);
	return fs_db_query(fs->db, q);
}

/* ---- the history provider (bw_core_api.history_scan) ------------------------------ */

struct fs_scan {
	void (*done)(int err, const char *message, void *arg);
	void *arg;
};

static void
fs_scan_done(struct fs_query *q)
{
	struct fs_scan *sc = q->arg2;

	if (q->result != NULL)
		sc->done(0, NULL, sc->arg);
	else
		sc->done(q->unavailable ? -EAGAIN : -EIO, q->error, sc->arg);
	free(sc);
	fs_query_free(q);
}

static int
fs_scan(void *ud, int64_t since_ms, int (*row)(const struct bw_history_row *r, void *arg),
	void (*done)(int err, const char *message, void *arg), void *arg)
{
	struct flowstore *fs = ud;
	struct fs_query *q;
	struct fs_scan *sc;

	if (fs->db == NULL || !fs->running)
		return -ENODEV;
	if ((q = calloc(1, sizeof(*q))) == NULL || (sc = calloc(1, sizeof(*sc))) == NULL) {
		free(q);
		return -ENOMEM;
	}
	sc->done = done;
	sc->arg = arg;
	q->kind = FS_Q_SCAN;
	q->since_ms = since_ms;
	q->scan_row = row;
	q->scan_arg = arg;
	q->done = fs_scan_done;
	q->arg = fs;
	q->arg2 = sc;
	/* what was aggregated so far is part of the history */
	if (fs->batch != NULL && (fs->batch->nrecs > 0 || fs->batch->ndenies > 0)) {
		struct fs_batch *b = fs->batch;

		fs->batch = fs_batch_new((size_t)fs->conf.max_keys);
		fs_db_push(fs->db, b);
	}
	return fs_db_query(fs->db, q);
}

int
fs_history_provider_init(struct flowstore *fs)
{
	struct bw_history_provider p = {
		.size = sizeof(p),
		.name = "flowstore",
		.scan = fs_scan,
		.user_data = fs,
	};

	if (!BW_API_HAS(fs->api, history_provider_register))
		return 0; /* an older daemon: no advisor to serve */
	return fs->api->history_provider_register(fs->ctx, &p);
}

/* ---- exposure -------------------------------------------------------------------- */

struct fs_wl {
	char *key;      /* "NS/WORKLOAD" */
	char *ns, *name;
	int allowed[FS_NPATHS];
	json_t *pols[FS_NPATHS]; /* object used as a set */
};

struct fs_walk {
	struct flowstore *fs;
	const char *only_ns;
	json_t *index;  /* key -> integer index */
	struct fs_wl *v;
	size_t n, cap;
};

static const struct {
	int dir, cls;
} fs_path_q[FS_NPATHS] = {
	{ BW_FLOW_TRAFFIC_INGRESS, BW_PEER_CLASS_WORLD },
	{ BW_FLOW_TRAFFIC_INGRESS, BW_PEER_CLASS_OTHER_NAMESPACES },
	{ BW_FLOW_TRAFFIC_EGRESS, BW_PEER_CLASS_WORLD },
};

static void
fs_pol_add(const struct bw_flow_policy *p, void *arg)
{
	char buf[320];

	json_object_set_new(arg, bw_flowpeer_policy(p, buf, sizeof(buf)), json_true());
}

static struct fs_wl *
fs_wl_get(struct fs_walk *w, const char *ns, const char *name)
{
	char key[512];
	json_t *ix;
	struct fs_wl *e;

	snprintf(key, sizeof(key), "%s/%s", ns, name);
	if ((ix = json_object_get(w->index, key)) != NULL)
		return &w->v[json_integer_value(ix)];
	if (w->n == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 64;
		struct fs_wl *nv = realloc(w->v, nc * sizeof(*nv));

		if (nv == NULL)
			return NULL;
		w->v = nv;
		w->cap = nc;
	}
	e = &w->v[w->n];
	memset(e, 0, sizeof(*e));
	e->key = strdup(key);
	e->ns = strdup(ns);
	e->name = strdup(name);
	for (int p = 0; p < FS_NPATHS; p++)
		e->pols[p] = json_object();
	json_object_set_new(w->index, key, json_integer((json_int_t)w->n));
	w->n++;
	return e;
}

static void
fs_exposure_ep(const struct bw_endpoint_view *ep, void *arg)
{
	struct fs_walk *w = arg;
	char wbuf[256];
	const char *name;
	struct fs_wl *e;

	if (ep->ns == NULL || (w->only_ns != NULL && strcmp(ep->ns, w->only_ns)))
		return;
	name = bw_flowpeer_workload(ep->labels, ep->n_labels, ep->workload_name, ep->pod,
				    wbuf, sizeof(wbuf));
	if ((e = fs_wl_get(w, ep->ns, name)) == NULL)
		return;
	for (int p = 0; p < FS_NPATHS; p++) {
		int rc = w->fs->api->policy_reach(ep->id, fs_path_q[p].dir, fs_path_q[p].cls,
						  fs_pol_add, e->pols[p]);

		/* no resolved policy yet: nothing selects it, everything passes */
		if (rc < 0 || (rc & (BW_REACH_ALLOWED | BW_REACH_AUDIT)))
			e->allowed[p] = 1;
	}
}

static int
fs_wl_cmp(const void *a, const void *b)
{
	const struct fs_wl *x = a, *y = b;
	int c = strcmp(x->ns, y->ns);

	return c ? c : strcmp(x->name, y->name);
}

static json_t *
fs_set_list(json_t *set)
{
	json_t *a = json_array(), *v;
	const char *k;

	json_object_foreach(set, k, v)
		json_array_append_new(a, json_string(k));
	return a;
}

json_t *
fs_exposure_json(struct flowstore *fs, const char *ns, int64_t since_ms)
{
	struct fs_walk w = { fs, ns, json_object(), NULL, 0, 0 };
	json_t *nss = json_array(), *cur = NULL, *wls = NULL;
	int unused[FS_NPATHS] = { 0 };

	fs->api->endpoint_walk(fs_exposure_ep, &w);
	qsort(w.v, w.n, sizeof(*w.v), fs_wl_cmp);
	for (size_t i = 0; i <= w.n; i++) {
		struct fs_wl *e = i < w.n ? &w.v[i] : NULL;
		const struct fs_seen *seen;
		json_t *o;

		if (cur != NULL && (e == NULL || strcmp(e->ns, json_string_value(
						    json_object_get(cur, "namespace"))))) {
			for (int p = 0; p < FS_NPATHS; p++) {
				char key[64];

				snprintf(key, sizeof(key), "unused_%s", fs_path_names[p]);
				json_object_set_new(cur, key, json_integer(unused[p]));
				unused[p] = 0;
			}
			json_object_set_new(cur, "workloads", wls);
			json_array_append_new(nss, cur);
			cur = NULL;
		}
		if (e == NULL)
			break;
		if (cur == NULL) {
			cur = json_pack("{s:s}", "namespace", e->ns);
			wls = json_array();
		}
		seen = fs_seen_table_get(&fs->seen, e->key);
		o = json_pack("{s:s}", "name", e->name);
		for (int p = 0; p < FS_NPATHS; p++) {
			int s = seen != NULL && seen->last[p] > 0 && seen->last[p] >= since_ms;

			json_object_set_new(o, fs_path_names[p],
					    json_pack("{s:b,s:b,s:o}", "allowed", e->allowed[p],
						      "seen", s, "policies",
						      fs_set_list(e->pols[p])));
			if (e->allowed[p] && !s)
				unused[p]++;
		}
		json_array_append_new(wls, o);
	}
	for (size_t i = 0; i < w.n; i++) {
		free(w.v[i].key);
		free(w.v[i].ns);
		free(w.v[i].name);
		for (int p = 0; p < FS_NPATHS; p++)
			json_decref(w.v[i].pols[p]);
	}
	free(w.v);
	json_decref(w.index);
	return json_pack("{s:o}", "namespaces", nss);
}

static int
fs_route_exposure(bw_api_request *req, void *ud)
{
	struct flowstore *fs = ud;
	const char *ns = fs->api->req_query(req, "namespace");
	char ubuf[512], tb[40];
	int64_t since;
	json_t *doc;

	if (fs_since(fs, req, fs_now_ms() - fs->conf.window, &since) < 0)
		return 0;
	doc = fs_exposure_json(fs, ns != NULL && *ns ? ns : NULL, since);
	if (doc == NULL)
		return -ENOMEM;
	fs_time_text(since, tb, sizeof(tb));
	json_object_set_new(doc, "since", json_string(tb));
	if (fs_unavailable(fs, ubuf, sizeof(ubuf)) != NULL)
		json_object_set_new(doc, "warning",
				    json_pack("s+", ubuf, "; \"seen\" covers only the traffic "
					      "since bulwarkd started"));
	return fs_reply_doc(fs, req, 200, doc);
}

/* ---- compliance -------------------------------------------------------------------- */

struct fs_iso_lists {
	json_t *pols, *staged;
};

static void
fs_iso_add(const struct bw_flow_policy *p, int staged, void *arg)
{
	struct fs_iso_lists *l = arg;
	char buf[320];

	json_array_append_new(staged ? l->staged : l->pols,
			      json_string(bw_flowpeer_policy(p, buf, sizeof(buf))));
}

struct fs_cwalk {
	struct flowstore *fs;
	const char *only_ns;
	json_t *eps;
};

static void
fs_compliance_ep(const struct bw_endpoint_view *ep, void *arg)
{
	struct fs_cwalk *w = arg;
	char name[320];
	json_t *o;
	int nd = 0;

	if (w->only_ns != NULL && (ep->ns == NULL || strcmp(ep->ns, w->only_ns)))
		return;
	snprintf(name, sizeof(name), "%s/%s", ep->ns, ep->pod);
	o = json_pack("{s:s}", "endpoint", name);
	for (int d = BW_FLOW_TRAFFIC_INGRESS; d <= BW_FLOW_TRAFFIC_EGRESS; d++) {
		struct fs_iso_lists l = { json_array(), json_array() };
		int rc = w->fs->api->policy_isolation(ep->id, d, fs_iso_add, &l);
		int dd = rc >= 0 && (rc & BW_ISOLATION_DEFAULT_DENY);
		const char *mode = !dd ? "none" : (rc & BW_ISOLATION_AUDIT) ? "audit" : "enforce";

		nd += dd;
		json_object_set_new(o, d == BW_FLOW_TRAFFIC_INGRESS ? "ingress" : "egress",
				    json_pack("{s:b,s:s,s:o,s:i,s:i,s:o,s:b}", "default_deny", dd,
					      "mode", mode, "policies", l.pols, "denied", 0,
					      "audited", 0, "staged", l.staged,
					      "staged_default_deny",
					      rc >= 0 && (rc & BW_ISOLATION_STAGED_DEFAULT_DENY)));
	}
	json_object_set_new(o, "_rank", json_integer(nd));
	json_array_append_new(w->eps, o);
}

static int
fs_ep_cmp(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_int_t rx = json_integer_value(json_object_get(x, "_rank"));
	json_int_t ry = json_integer_value(json_object_get(y, "_rank"));

	if (rx != ry)
		return rx < ry ? -1 : 1;
	return strcmp(json_string_value(json_object_get(x, "endpoint")),
		      json_string_value(json_object_get(y, "endpoint")));
}

/* The endpoints, unselected first, then by name. */
static json_t *
fs_compliance_base(struct flowstore *fs, const char *ns)
{
	struct fs_cwalk w = { fs, ns, json_array() };
	size_t n, i;
	json_t **v, *out = json_array();

	fs->api->endpoint_walk(fs_compliance_ep, &w);
	n = json_array_size(w.eps);
	v = calloc(n ? n : 1, sizeof(*v));
	for (i = 0; v != NULL && i < n; i++)
		v[i] = json_array_get(w.eps, i);
	if (v != NULL)
		qsort(v, n, sizeof(*v), fs_ep_cmp);
	for (i = 0; v != NULL && i < n; i++) {
		json_object_del(v[i], "_rank");
		json_array_append(out, v[i]);
	}
	free(v);
	json_decref(w.eps);
	return out;
}

static void
fs_compliance_done(struct fs_query *q)
{
	struct flowstore *fs = q->arg;
	bw_api_request *req = q->arg2;
	json_t *doc = json_incref(q->arg3);
	json_t *eps = json_object_get(doc, "endpoints"), *e;
	size_t i;

	json_array_foreach(eps, i, e) {
		json_t *c = json_object_get(q->result, json_string_value(json_object_get(e, "endpoint")));

		for (int d = 0; d < 2; d++) {
			const char *dn = d ? "egress" : "ingress";
			json_t *src = json_object_get(c, dn), *dst = json_object_get(e, dn);
			json_t *n;

			if ((n = json_object_get(src, "denied")) != NULL)
				json_object_set(dst, "denied", n);
			if ((n = json_object_get(src, "audited")) != NULL)
				json_object_set(dst, "audited", n);
		}
	}
	if (q->result == NULL)
		json_object_set_new(doc, "warning", json_pack("s+", q->error,
							       "; denied counts are not known"));
	fs_reply_doc(fs, req, 200, doc);
	json_decref(q->arg3);
	fs_query_free(q);
}

static int
fs_route_compliance(bw_api_request *req, void *ud)
{
	struct flowstore *fs = ud;
	const char *ns = fs->api->req_query(req, "namespace");
	char tb[40], ubuf[512];
	struct fs_query *q;
	int64_t since;
	json_t *doc;

	if (fs_since(fs, req, fs_now_ms() - fs->conf.window, &since) < 0)
		return 0;
	fs_time_text(since, tb, sizeof(tb));
	doc = json_pack("{s:o,s:s}", "endpoints",
			fs_compliance_base(fs, ns != NULL && *ns ? ns : NULL), "since", tb);
	fs_time_text(fs_now_ms(), tb, sizeof(tb));
	json_object_set_new(doc, "generated", json_string(tb));
	if (fs_unavailable(fs, ubuf, sizeof(ubuf)) != NULL) {
		json_object_set_new(doc, "warning",
				    json_pack("s+", ubuf, "; denied counts are not known"));
		return fs_reply_doc(fs, req, 200, doc);
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		json_decref(doc);
		return -ENOMEM;
	}
	/* denies of the batch being aggregated count too */
	if (fs->batch != NULL && fs->batch->ndenies > 0) {
		struct fs_batch *b = fs->batch;

		fs->batch = fs_batch_new((size_t)fs->conf.max_keys);
		fs_db_push(fs->db, b);
	}
	q->kind = FS_Q_DENIES;
	q->since_ms = since;
	q->done = fs_compliance_done;
	q->arg = fs;
	q->arg2 = req;
	q->arg3 = doc;
	fs->api->reply_later(req);
	return fs_db_query(fs->db, q);
}

/* ---- status ------------------------------------------------------------------------ */

static int
fs_route_status(bw_api_request *req, void *ud)
{
	struct flowstore *fs = ud;
	struct fs_db_stats st = { 0 };
	char tb[40] = "";
	json_t *doc;

	if (fs->db != NULL)
		fs_db_stats(fs->db, &st);
	if (st.oldest_ms > 0)
		fs_time_text(st.oldest_ms, tb, sizeof(tb));
	doc = json_pack("{s:s,s:s,s:b,s:s?,s:s?,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s?,"
			"s:I,s:I,s:I,s:f}",
			"instance", fs->instance, "path", fs->path, "available", st.available,
			"error", st.error[0] ? st.error : NULL,
			"notice", st.notice[0] ? st.notice : NULL,
			"unclean_start", st.unclean_start,
			"flows_received", (json_int_t)fs->flows_seen,
			"records", (json_int_t)fs->records,
			"stored_flows", (json_int_t)st.flows,
			"stored_rows", (json_int_t)st.records,
			"batches", (json_int_t)st.batches,
			"dropped_batches", (json_int_t)st.dropped,
			"lost_flows", (json_int_t)(st.dropped_flows + st.lost_write_flows),
			"write_errors", (json_int_t)st.write_errors,
			"queued_batches", (json_int_t)st.queued,
			"oldest", tb[0] ? tb : NULL,
			"deleted_rows", (json_int_t)st.deleted_rows,
			"db_bytes", (json_int_t)st.db_bytes,
			"retention_seconds", (json_int_t)(fs->conf.retention / 1000),
			"write_seconds", st.write_seconds);
	return fs_reply_doc(fs, req, 200, doc);
}

int
fs_api_init(struct flowstore *fs)
{
	static const struct {
		const char *path;
		bw_api_handler fn;
	} routes[] = {
		{ "/v1/history", fs_route_history },
		{ "/v1/exposure", fs_route_exposure },
		{ "/v1/compliance", fs_route_compliance },
		{ "/v1/flowstore", fs_route_status },
	};
	int rc;

	for (size_t i = 0; i < sizeof(routes) / sizeof(*routes); i++)
		if ((rc = fs->api->api_route(fs->ctx, "GET", routes[i].path, routes[i].fn, fs,
					     NULL)) < 0)
			return rc;
	return 0;
}

/* ---- metrics ------------------------------------------------------------------------ */

#define FS_GAUGE_MS 5000

static void
fs_family(bw_metrics_out *out, const struct bw_core_api *api, const char *name,
	  const char *type, const char *help)
{
	api->metrics_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Namespaces kept by name (the most exposed first), the rest as "_other". */
static const char *
fs_ns_label(json_t *keep, const char *ns)
{
	return json_object_get(keep, ns) != NULL ? ns : "_other";
}

static json_t *
fs_gauges(struct flowstore *fs)
{
	int64_t now = fs_now_ms();
	json_t *exp, *comp, *nss, *n, *keep, *g;
	size_t i, j;

	if (fs->gauges != NULL && now - fs->gauges_at < FS_GAUGE_MS)
		return fs->gauges;
	exp = fs_exposure_json(fs, NULL, now - fs->conf.window);
	comp = fs_compliance_base(fs, NULL);
	/* which namespaces get their own series: by exposure, bounded */
	keep = json_object();
	nss = json_object_get(exp, "namespaces");
	{
		size_t nn = json_array_size(nss);
		json_int_t *score = calloc(nn ? nn : 1, sizeof(*score));
		size_t *order = calloc(nn ? nn : 1, sizeof(*order));

		for (i = 0; score != NULL && order != NULL && i < nn; i++) {
			json_t *x = json_array_get(nss, i);

			order[i] = i;
			for (int p = 0; p < FS_NPATHS; p++) {
				char key[64];

				snprintf(key, sizeof(key), "unused_%s", fs_path_names[p]);
				score[i] += json_integer_value(json_object_get(x, key));
			}
		}
		/* selection by score (small n: insertion sort) */
		for (i = 1; score != NULL && order != NULL && i < nn; i++)
			for (j = i; j > 0 && score[order[j]] > score[order[j - 1]]; j--) {
				size_t t = order[j];

				order[j] = order[j - 1];
				order[j - 1] = t;
			}
		for (i = 0; score != NULL && order != NULL && i < nn &&
			    i < (size_t)fs->conf.max_namespaces; i++)
			json_object_set_new(keep,
					    json_string_value(json_object_get(
						    json_array_get(nss, order[i]), "namespace")),
					    json_true());
		free(score);
		free(order);
	}
	g = json_object();
	json_object_set_new(g, "keep", keep);
	json_object_set_new(g, "exposure", exp);
	json_object_set_new(g, "compliance", comp);
	json_decref(fs->gauges);
	fs->gauges = g;
	fs->gauges_at = now;
	(void)n;
	return g;
}

/* Add v to counter[key] in obj. */
static void
fs_sum(json_t *obj, const char *key, json_int_t v)
{
	json_t *x = json_object_get(obj, key);

	json_object_set_new(obj, key, json_integer((x ? json_integer_value(x) : 0) + v));
}

void
fs_metrics_collect(bw_metrics_out *out, void *ud)
{
	struct flowstore *fs = ud;
	const struct bw_core_api *api = fs->api;
	struct fs_db_stats st = { 0 };
	json_t *g, *keep, *nss, *x, *sums;
	const char *k;
	size_t i;

	if (fs->db != NULL)
		fs_db_stats(fs->db, &st);
	else
		st = fs->last_stats;
	fs_family(out, api, "bulwark_flowstore_available", "gauge",
		  "1 when the flow history database is open and writable.");
	api->metrics_printf(out, "bulwark_flowstore_available %d\n", st.available);
	fs_family(out, api, "bulwark_flowstore_records_total", "counter",
		  "Connection records made from flows (before aggregation).");
	api->metrics_printf(out, "bulwark_flowstore_records_total %" PRIu64 "\n", fs->records);
	fs_family(out, api, "bulwark_flowstore_stored_total", "counter",
		  "Connection records written to the database.");
	api->metrics_printf(out, "bulwark_flowstore_stored_total %" PRIu64 "\n", st.flows);
	fs_family(out, api, "bulwark_flowstore_lost_total", "counter",
		  "Connection records not stored: the writer's queue was full or a write failed.");
	api->metrics_printf(out, "bulwark_flowstore_lost_total{reason=\"queue_full\"} %" PRIu64
			    "\n", st.dropped_flows);
	api->metrics_printf(out, "bulwark_flowstore_lost_total{reason=\"write_error\"} %" PRIu64
			    "\n", st.lost_write_flows);
	fs_family(out, api, "bulwark_flowstore_write_errors_total", "counter",
		  "Batches lost because the database could not be written.");
	api->metrics_printf(out, "bulwark_flowstore_write_errors_total %" PRIu64 "\n",
			    st.write_errors);
	fs_family(out, api, "bulwark_flowstore_queue_batches", "gauge",
		  "Batches waiting for the database thread.");
	api->metrics_printf(out, "bulwark_flowstore_queue_batches %" PRIu64 "\n", st.queued);
	fs_family(out, api, "bulwark_flowstore_database_bytes", "gauge",
		  "Size of the database file and its write-ahead log.");
	api->metrics_printf(out, "bulwark_flowstore_database_bytes %" PRIu64 "\n", st.db_bytes);
	fs_family(out, api, "bulwark_flowstore_retention_deleted_total", "counter",
		  "Rows removed by retention (age or size).");
	api->metrics_printf(out, "bulwark_flowstore_retention_deleted_total %" PRIu64 "\n",
			    st.deleted_rows);

	g = fs_gauges(fs);
	keep = json_object_get(g, "keep");
	/* exposure per namespace and path */
	sums = json_object();
	nss = json_object_get(json_object_get(g, "exposure"), "namespaces");
	json_array_foreach(nss, i, x) {
		const char *ns = fs_ns_label(keep, json_string_value(json_object_get(x, "namespace")));
		json_t *w;
		size_t j;

		fs_sum(sums, ns, 0);
		json_array_foreach(json_object_get(x, "workloads"), j, w) {
			char key[320];

			snprintf(key, sizeof(key), "%s\twl", ns);
			fs_sum(sums, key, 1);
			for (int p = 0; p < FS_NPATHS; p++) {
				json_t *pp = json_object_get(w, fs_path_names[p]);
				int al = json_is_true(json_object_get(pp, "allowed"));
				int se = json_is_true(json_object_get(pp, "seen"));

				snprintf(key, sizeof(key), "%s\tallowed\t%s", ns, fs_path_names[p]);
				fs_sum(sums, key, al);
				snprintf(key, sizeof(key), "%s\tunused\t%s", ns, fs_path_names[p]);
				fs_sum(sums, key, al && !se);
			}
		}
	}
	fs_family(out, api, "bulwark_exposure_workloads", "gauge",
		  "Workloads (namespace + app label) on this node.");
	json_object_foreach(sums, k, x)
		if (strchr(k, '\t') == NULL) {
			char key[320];

			snprintf(key, sizeof(key), "%s\twl", k);
			api->metrics_printf(out, "bulwark_exposure_workloads{namespace=\"%s\"} %lld\n",
					    k, (long long)json_integer_value(json_object_get(sums, key)));
		}
	for (int u = 0; u < 2; u++) {
		const char *what = u ? "unused" : "allowed";

		if (u)
			fs_family(out, api, "bulwark_exposure_unused_workloads", "gauge",
				  "Workloads a path (ingress from the world, ingress from other "
				  "namespaces, egress to the world) is allowed for, with no traffic "
				  "on it in the window.");
		else
			fs_family(out, api, "bulwark_exposure_allowed_workloads", "gauge",
				  "Workloads a path is allowed for by the live policy.");
		json_object_foreach(sums, k, x)
			if (strchr(k, '\t') == NULL)
				for (int p = 0; p < FS_NPATHS; p++) {
					char key[320];

					snprintf(key, sizeof(key), "%s\t%s\t%s", k, what,
						 fs_path_names[p]);
					api->metrics_printf(out,
							    "bulwark_exposure_%s_workloads{namespace=\"%s\","
							    "path=\"%s\"} %lld\n",
							    what, k, fs_path_names[p],
							    (long long)json_integer_value(
								    json_object_get(sums, key)));
				}
	}
	json_decref(sums);

	/* compliance: endpoints per namespace, direction and mode */
	sums = json_object();
	json_array_foreach(json_object_get(g, "compliance"), i, x) {
		const char *ep = json_string_value(json_object_get(x, "endpoint"));
		const char *slash = strchr(ep, '/');
		char ns[256], key[400];

		snprintf(ns, sizeof(ns), "%.*s", slash ? (int)(slash - ep) : 0, ep);
		for (int d = 0; d < 2; d++) {
			json_t *dd = json_object_get(x, d ? "egress" : "ingress");

			snprintf(key, sizeof(key), "%s\t%s\t%s", fs_ns_label(keep, ns),
				 d ? "egress" : "ingress",
				 json_string_value(json_object_get(dd, "mode")));
			fs_sum(sums, key, 1);
			snprintf(key, sizeof(key), "%s\t%s\tstaged", fs_ns_label(keep, ns),
				 d ? "egress" : "ingress");
			fs_sum(sums, key, json_array_size(json_object_get(dd, "staged")) > 0);
		}
	}
	fs_family(out, api, "bulwark_compliance_endpoints", "gauge",
		  "Endpoints per namespace and direction by default-deny mode: enforce, audit, "
		  "or none (not selected by any policy: everything allowed).");
	json_object_foreach(sums, k, x) {
		char ns[256], dir[16], mode[16];

		if (sscanf(k, "%255[^\t]\t%15[^\t]\t%15s", ns, dir, mode) != 3 ||
		    !strcmp(mode, "staged"))
			continue;
		api->metrics_printf(out, "bulwark_compliance_endpoints{namespace=\"%s\","
				    "direction=\"%s\",mode=\"%s\"} %lld\n", ns, dir, mode,
				    (long long)json_integer_value(x));
	}
	fs_family(out, api, "bulwark_compliance_staged_endpoints", "gauge",
		  "Endpoints per namespace and direction that a staged policy would make "
		  "default-deny.");
	json_object_foreach(sums, k, x) {
		char ns[256], dir[16], mode[16];

		if (sscanf(k, "%255[^\t]\t%15[^\t]\t%15s", ns, dir, mode) != 3 ||
		    strcmp(mode, "staged"))
			continue;
		api->metrics_printf(out, "bulwark_compliance_staged_endpoints{namespace=\"%s\","
				    "direction=\"%s\"} %lld\n", ns, dir,
				    (long long)json_integer_value(x));
	}
	json_decref(sums);

	fs_family(out, api, "bulwark_staged_verdicts_total", "counter",
		  "Connections checked against staged policies, by the local namespace, the "
		  "verdict the staged policies would give, and how it differs from the "
		  "actual one (would_drop, would_allow, none).");
	json_object_foreach(fs->staged_counts, k, x) {
		char ns[256], verdict[16], change[16];

		if (sscanf(k, "%255[^\t]\t%15[^\t]\t%15s", ns, verdict, change) != 3)
			continue;
		api->metrics_printf(out, "bulwark_staged_verdicts_total{namespace=\"%s\","
				    "verdict=\"%s\",change=\"%s\"} %lld\n", ns, verdict, change,
				    (long long)json_integer_value(x));
	}
}
