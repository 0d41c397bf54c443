/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/quarantine.c - time-limited denies of a peer for one
 * endpoint, as policies of the repository (see quarantine.h).
 *
 * The active set is the truth; every change rebuilds the whole source
 * "quarantine" from it and applies it with bw_pol_apply(..., replace), so
 * the repository holds exactly the active quarantines, all or nothing: a
 * change that cannot be applied is undone in the set too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "core/api.h"
#include "core/config.h"
#include "core/log.h"
#include "core/node/endpoint.h"
#include "core/node/ipcache.h"
#include "core/policy/policy.h"
#include "core/policy/policy_int.h"
#include "core/policy/quarantine.h"
#include "core/state.h"

#define Q_ERR 1024

struct q_entry {
	char name[32];
	char *ns, *pod, *peer, *reason, *by;
	int64_t created, expires; /* wall clock, seconds */
};

static struct {
	struct event_base *base;
	struct q_entry *v;
	size_t n;
	uint64_t next_id;
	uint64_t added;
	char *path;
	struct event *timer;
	int inited;
} Q = { .next_id = 1 };

static void
q_entry_free(struct q_entry *e)
{
	free(e->ns);
	free(e->pod);
	free(e->peer);
	free(e->reason);
	free(e->by);
	memset(e, 0, sizeof(*e));
}

/* The canonical policy of one quarantine (docs/rule-model.md). */
static json_t *
q_doc(const struct q_entry *e)
{
	char ep[512], log[512], until[32];
	time_t t = (time_t)e->expires;
	struct tm tm;
	json_t *peer, *doc;

	gmtime_r(&t, &tm);
	strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(ep, sizeof(ep), "%s/%s", e->ns, e->pod);
	snprintf(log, sizeof(log), "quarantine of %s from %s until %s by %s: %s",
		 ep, e->peer, until, e->by, e->reason);
	peer = json_pack("[{s:s, s:b}]", "cidr", e->peer, "match_endpoints", 1);
	if (peer == NULL)
		return NULL;
	doc = json_pack("{s:s, s:s, s:s, s:[{s:{s:{s:s}}, s:s, s:[{s:b, s:O}], "
			 "s:[{s:b, s:O}], s:{s:b, s:b}, s:s}]}",
			 "kind", BW_POLICY_KIND_QUARANTINE, "name", e->name,
			 "namespace", e->ns, "rules",
			 "subject", "match_labels",
			 "k8s:io.kubernetes.pod.namespace", e->ns,
			 "endpoint", ep,
			 "ingress", "deny", 1, "peers", peer,
			 "egress", "deny", 1, "peers", peer,
			 "default_deny", "ingress", 0, "egress", 0,
			 "log", log);
	json_decref(peer);
	return doc;
}

static void
q_save(void)
{
	json_t *a, *doc;

	if (Q.path == NULL)
		return;
	a = json_array();
	for (size_t i = 0; a != NULL && i < Q.n; i++) {
		const struct q_entry *e = &Q.v[i];

		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}",
			"name", e->name, "namespace", e->ns, "pod", e->pod,
			"peer", e->peer, "reason", e->reason, "by", e->by,
			"created", (json_int_t)e->created,
			"expires", (json_int_t)e->expires));
	}
	doc = json_pack("{s:i, s:I, s:o}", "version", 1, "next", (json_int_t)Q.next_id,
			"quarantines", a);
	if (doc == NULL || bw_state_write_json(Q.path, doc) < 0)
		bw_warn("quarantine: cannot save %s", Q.path);
	json_decref(doc);
}

/* Make the repository's source "quarantine" exactly the active set. */
static int
q_apply(char *err, size_t errlen)
{
	struct bw_pol_batch b = { 0 };
	unsigned changed = 0;
	int e = 0;

	if (Q.n > 0) {
		b.v = calloc(Q.n, sizeof(*b.v));
		if (b.v == NULL) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < Q.n; i++) {
		json_t *doc = q_doc(&Q.v[i]);

		if (doc == NULL) {
			e = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			break;
		}
		e = bw_pol_item_from_canonical(doc, &b.v[i], err, errlen);
		json_decref(doc);
		if (e < 0)
			break;
		b.v[i].doc_index = (unsigned)i + 1;
		b.n = i + 1;
	}
	if (e == 0)
		e = bw_pol_apply(&b, BW_POLICY_SOURCE_QUARANTINE, 1, &changed, err,
				 errlen);
	bw_pol_batch_free(&b);
	return e;
}

static void
q_arm(void)
{
	int64_t now = (int64_t)time(NULL), first = 0;
	struct timeval tv;

	if (Q.timer == NULL)
		return;
	event_del(Q.timer);
	for (size_t i = 0; i < Q.n; i++)
		if (first == 0 || Q.v[i].expires < first)
			first = Q.v[i].expires;
	if (first == 0)
		return;
	tv.tv_sec = first > now ? first - now : 0;
	tv.tv_usec = 0;
	event_add(Q.timer, &tv);
}

/* Take out the entries for which drop(e, arg) is true, apply, save. */
static int
q_remove_if(int (*drop)(const struct q_entry *e, void *arg), void *arg,
	    const char *why)
{
	struct q_entry *keep = Q.n ? calloc(Q.n, sizeof(*keep)) : NULL;
	struct q_entry *gone = Q.n ? calloc(Q.n, sizeof(*gone)) : NULL;
	struct q_entry *old = Q.v;
	size_t nk = 0, ng = 0, oldn = Q.n;
	char err[Q_ERR];
	int e;

	if (Q.n && (keep == NULL || gone == NULL)) {
		free(keep);
		free(gone);
		return -ENOMEM;
	}
	for (size_t i = 0; i < Q.n; i++) {
		if (drop(&Q.v[i], arg))
			gone[ng++] = Q.v[i];
		else
			keep[nk++] = Q.v[i];
	}
	if (ng == 0) {
		free(keep);
		free(gone);
		return 0;
	}
	Q.v = keep;
	Q.n = nk;
	e = q_apply(err, sizeof(err));
	if (e < 0) {
		/* nothing changed in the repository: keep the old set */
		bw_err("quarantine: cannot lift %zu quarantine(s): %s", ng, err);
		Q.v = old;
		Q.n = oldn;
		free(keep);
		free(gone);
		return e;
	}
	for (size_t i = 0; i < ng; i++) {
		bw_notice("quarantine: %s/%s of %s/%s lifted (%s)", gone[i].ns,
			  gone[i].name, gone[i].ns, gone[i].pod, why);
		q_entry_free(&gone[i]);
	}
	free(old);
	free(gone);
	q_save();
	q_arm();
	return (int)ng;
}

static int
q_expired(const struct q_entry *e, void *arg)
{
	return e->expires <= *(const int64_t *)arg;
}

static void
q_tick(evutil_socket_t fd, short what, void *arg)
{
	int64_t now = (int64_t)time(NULL);

	if (q_remove_if(q_expired, &now, "expired") < 0)
		q_arm(); /* try again at the next expiry */
}

int
bw_quarantine_add(const char *endpoint, const char *peer, int64_t seconds,
		  const char *reason, const char *by, char *name, size_t namelen,
		  char *err, size_t errlen)
{
	struct bw_prefix pfx;
	struct q_entry e, *nv;
	char ns[256], canon[64], aerr[Q_ERR];
	const char *slash = endpoint ? strchr(endpoint, '/') : NULL;
	struct bw_endpoint *ep;
	int rc;

	if (slash == NULL || slash == endpoint || (size_t)(slash - endpoint) >= sizeof(ns) ||
	    slash[1] == '\0') {
		snprintf(err, errlen, "endpoint '%s': expected NAMESPACE/POD",
			 endpoint ? endpoint : "");
		return -EINVAL;
	}
	memcpy(ns, endpoint, (size_t)(slash - endpoint));
	ns[slash - endpoint] = '\0';
	ep = bw_endpoint_find(ns, slash + 1);
	if (ep == NULL) {
		snprintf(err, errlen, "no endpoint %s", endpoint);
		return -ENOENT;
	}
	if (peer == NULL || bw_prefix_parse(peer, 0, &pfx) < 0) {
		snprintf(err, errlen, "peer '%s': expected an address or a CIDR "
			 "(\"10.1.0.7\", \"10.1.0.0/16\", \"0.0.0.0/0\")",
			 peer ? peer : "");
		return -EINVAL;
	}
	if (seconds < 1 || seconds > BW_QUARANTINE_MAX_SECONDS) {
		snprintf(err, errlen, "seconds: %lld is not within 1 .. %d",
			 (long long)seconds, BW_QUARANTINE_MAX_SECONDS);
		return -EINVAL;
	}
	if (Q.n >= BW_QUARANTINE_MAX) {
		snprintf(err, errlen, "%d quarantines are active already",
			 BW_QUARANTINE_MAX);
		return -ENOSPC;
	}
	bw_prefix_format(&pfx, 1, canon, sizeof(canon));
	memset(&e, 0, sizeof(e));
	snprintf(e.name, sizeof(e.name), "quarantine-%llu",
		 (unsigned long long)Q.next_id);
	e.ns = strdup(ns);
	e.pod = strdup(slash + 1);
	e.peer = strdup(canon);
	e.reason = strndup(reason && *reason ? reason : "(no reason given)", 256);
	e.by = strdup(by && *by ? by : "api");
	e.created = (int64_t)time(NULL);
	e.expires = e.created + seconds;
	nv = realloc(Q.v, (Q.n + 1) * sizeof(*nv));
	if (!e.ns || !e.pod || !e.peer || !e.reason || !e.by || nv == NULL) {
		if (nv != NULL)
			Q.v = nv;
		q_entry_free(&e);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	Q.v = nv;
	Q.v[Q.n++] = e;
	rc = q_apply(aerr, sizeof(aerr));
	if (rc < 0) {
		Q.n--;
		q_entry_free(&Q.v[Q.n]);
		snprintf(err, errlen, "%s", aerr);
		return rc;
	}
	Q.next_id++;
	Q.added++;
	q_save();
	q_arm();
	bw_notice("quarantine: %s/%s: %s denied to and from %s for %llds by %s: %s",
		  e.ns, e.name, endpoint, canon, (long long)seconds, e.by, e.reason);
	if (name != NULL)
		snprintf(name, namelen, "%s", e.name);
	return 0;
}

struct q_key {
	const char *ns, *name, *pod;
};

static int
q_named(const struct q_entry *e, void *arg)
{
	const struct q_key *k = arg;

	return !strcmp(e->ns, k->ns) && !strcmp(e->name, k->name);
}

int
bw_quarantine_delete(const char *ns, const char *name, char *err, size_t errlen)
{
	struct q_key k = { ns, name, NULL };
	int rc = q_remove_if(q_named, &k, "deleted");

	if (rc == 0) {
		snprintf(err, errlen, "no quarantine %s/%s", ns, name);
		return -ENOENT;
	}
	if (rc < 0)
		snprintf(err, errlen, "cannot lift it: %s", strerror(-rc));
	return rc < 0 ? rc : 0;
}

static int
q_of_pod(const struct q_entry *e, void *arg)
{
	const struct q_key *k = arg;

	return !strcmp(e->ns, k->ns) && !strcmp(e->pod, k->pod);
}

struct q_gone {
	char *ns, *pod;
};

static void
q_gone_cb(evutil_socket_t fd, short what, void *arg)
{
	struct q_gone *g = arg;
	struct q_key k = { g->ns, NULL, g->pod };

	if (Q.inited)
		q_remove_if(q_of_pod, &k, "the endpoint was deleted");
	free(g->ns);
	free(g->pod);
	free(g);
}

void
bw_quarantine_endpoint_deleted(const char *ns, const char *pod)
{
	struct q_gone *g;
	int any = 0;

	for (size_t i = 0; i < Q.n && !any; i++)
		any = !strcmp(Q.v[i].ns, ns) && !strcmp(Q.v[i].pod, pod);
	if (!any || Q.base == NULL)
		return;
	/* not from inside the endpoint event: the repository is busy */
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return;
	g->ns = strdup(ns);
	g->pod = strdup(pod);
	if (g->ns == NULL || g->pod == NULL ||
	    event_base_once(Q.base, -1, EV_TIMEOUT, q_gone_cb, g, NULL) < 0) {
		free(g->ns);
		free(g->pod);
		free(g);
	}
}

json_t *
bw_quarantine_list_json(void)
{
	json_t *a = json_array();
	int64_t now = (int64_t)time(NULL);

	for (size_t i = 0; a != NULL && i < Q.n; i++) {
		const struct q_entry *e = &Q.v[i];

		json_array_append_new(a, json_pack(
			"{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}",
			"name", e->name, "namespace", e->ns, "pod", e->pod,
			"peer", e->peer, "reason", e->reason, "by", e->by,
			"created", (json_int_t)e->created,
			"expires", (json_int_t)e->expires,
			"seconds_left", (json_int_t)(e->expires > now ? e->expires - now : 0)));
	}
	return a;
}

unsigned
bw_quarantine_count(void)
{
	return (unsigned)Q.n;
}

uint64_t
bw_quarantine_added_total(void)
{
	return Q.added;
}

/* ---- control API --------------------------------------------------------------- */

static int
q_api_list(struct bw_api_request *req, void *arg)
{
	return bw_api_reply_json(req, 200, json_pack("{s:o}", "quarantines",
						     bw_quarantine_list_json()));
}

static int
q_api_add(struct bw_api_request *req, void *arg)
{
	json_t *body = bw_api_req_json(req), *secs;
	const char *ep, *peer, *reason;
	char name[64], err[Q_ERR];
	int rc;

	if (body == NULL)
		return 0; /* replied */
	ep = json_string_value(json_object_get(body, "endpoint"));
	peer = json_string_value(json_object_get(body, "peer"));
	reason = json_string_value(json_object_get(body, "reason"));
	secs = json_object_get(body, "seconds");
	if (ep == NULL || peer == NULL || !json_is_integer(secs)) {
		json_decref(body);
		return bw_api_reply_error(req, 400, "expected {\"endpoint\": "
			"\"NS/POD\", \"peer\": CIDR, \"seconds\": N, \"reason\": TEXT}");
	}
	rc = bw_quarantine_add(ep, peer, (int64_t)json_integer_value(secs), reason,
			       "api", name, sizeof(name), err, sizeof(err));
	json_decref(body);
	if (rc < 0)
		return bw_api_reply_error(req, rc == -ENOENT ? 404 :
					  rc == -EINVAL ? 400 : rc == -ENOSPC ? 409 : 500,
					  "%s", err);
	return bw_api_reply_json(req, 200, json_pack("{s:s}", "name", name));
}

static int
q_api_delete(struct bw_api_request *req, void *arg)
{
	const char *p = bw_api_req_path(req) + strlen("/v1/quarantines/");
	const char *slash = strchr(p, '/');
	char ns[256], err[Q_ERR];
	int rc;

	if (slash == NULL || slash == p || (size_t)(slash - p) >= sizeof(ns) ||
	    slash[1] == '\0' || strchr(slash + 1, '/'))
		return bw_api_reply_error(req, 400, "expected /v1/quarantines/NAMESPACE/NAME");
	memcpy(ns, p, (size_t)(slash - p));
	ns[slash - p] = '\0';
	rc = bw_quarantine_delete(ns, slash + 1, err, sizeof(err));
	if (rc < 0)
		return bw_api_reply_error(req, rc == -ENOENT ? 404 : 500, "%s", err);
	return bw_api_reply_json(req, 200, json_pack("{s:s}", "deleted", slash + 1));
}

/* ---- start and stop ------------------------------------------------------------ */

/*
 * Restore the quarantines of the last run. A damaged or foreign file is
 * refused (the daemon does not start), not read as none: that would lift
 * every quarantine, and the save after the start would make it final.
 */
static int
q_restore(void)
{
	static const char *const lists[] = { "quarantines", NULL };
	char err[Q_ERR];
	json_t *doc = bw_state_read_doc(Q.path, 1, lists, err, sizeof(err)), *v;
	int64_t now = (int64_t)time(NULL);
	size_t i;

	if (doc == NULL) {
		if (errno == ENOENT)
			return 0;
		bw_err("quarantine: %s (move it away to start without the quarantines it held)",
		       err);
		return -EINVAL;
	}
	if (json_is_integer(json_object_get(doc, "next")))
		Q.next_id = (uint64_t)json_integer_value(json_object_get(doc, "next"));
	json_array_foreach(json_object_get(doc, "quarantines"), i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *ns = json_string_value(json_object_get(v, "namespace"));
		const char *pod = json_string_value(json_object_get(v, "pod"));
		const char *peer = json_string_value(json_object_get(v, "peer"));
		const char *reason = json_string_value(json_object_get(v, "reason"));
		const char *by = json_string_value(json_object_get(v, "by"));
		int64_t exp = json_integer_value(json_object_get(v, "expires"));
		struct q_entry e, *nv;

		if (!name || !ns || !pod || !peer || exp <= now ||
		    bw_endpoint_find(ns, pod) == NULL)
			continue;
		memset(&e, 0, sizeof(e));
		snprintf(e.name, sizeof(e.name), "%s", name);
		e.ns = strdup(ns);
		e.pod = strdup(pod);
		e.peer = strdup(peer);
		e.reason = strdup(reason ? reason : "");
		e.by = strdup(by ? by : "");
		e.created = json_integer_value(json_object_get(v, "created"));
		e.expires = exp;
		nv = realloc(Q.v, (Q.n + 1) * sizeof(*nv));
		if (nv == NULL || !e.ns || !e.pod || !e.peer || !e.reason || !e.by) {
			if (nv != NULL)
				Q.v = nv;
			q_entry_free(&e);
			continue;
		}
		Q.v = nv;
		Q.v[Q.n++] = e;
	}
	json_decref(doc);
	return 0;
}

int
bw_quarantine_init(struct event_base *base)
{
	static const struct {
		const char *method, *path;
		bw_api_fn fn;
	} routes[] = {
		{ "GET", "/v1/quarantines", q_api_list },
		{ "POST", "/v1/quarantines", q_api_add },
		{ "DELETE", "/v1/quarantines/", q_api_delete },
	};
	char err[Q_ERR];
	int rc;

	Q.base = base;
	if (bw_conf != NULL && bw_conf->state_dir != NULL && *bw_conf->state_dir) {
		if (asprintf(&Q.path, "%s/quarantines.json", bw_conf->state_dir) < 0) {
			Q.path = NULL;
			return -ENOMEM;
		}
		rc = q_restore();
		if (rc < 0)
			return rc;
	}
	if (base != NULL) {
		Q.timer = event_new(base, -1, 0, q_tick, NULL);
		if (Q.timer == NULL)
			return -ENOMEM;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		rc = bw_api_route_add(routes[i].method, routes[i].path, routes[i].fn, NULL);
		if (rc < 0 && rc != -EEXIST) {
			bw_err_errno(rc, "quarantine: cannot register %s %s", routes[i].method,
				     routes[i].path);
			return rc;
		}
	}
	Q.inited = 1;
	if (Q.n > 0) {
		rc = q_apply(err, sizeof(err));
		if (rc < 0) {
			bw_err("quarantine: cannot restore %zu quarantine(s): %s", Q.n, err);
			return rc;
		}
		bw_notice("quarantine: %zu quarantine(s) restored", Q.n);
	}
	q_save();
	q_arm();
	return 0;
}

void
bw_quarantine_fini(void)
{
	for (size_t i = 0; i < Q.n; i++)
		q_entry_free(&Q.v[i]);
	free(Q.v);
	Q.v = NULL;
	Q.n = 0;
	if (Q.timer != NULL)
		event_free(Q.timer);
	Q.timer = NULL;
	free(Q.path);
	Q.path = NULL;
	bw_api_route_remove("GET", "/v1/quarantines");
	bw_api_route_remove("POST", "/v1/quarantines");
	bw_api_route_remove("DELETE", "/v1/quarantines/");
	Q.inited = 0;
	Q.base = NULL;
}
