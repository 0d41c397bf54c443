/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/servicemap/servicemap.c - the service map: who talks to whom on
 * this node, aggregated from the flows, served as GET /v1/map (`bulwark
 * map`).
 *
 * Nodes are workloads (namespace + workload name, or pod name when the
 * workload is unknown) and the peers that are not pods: world, host, a CIDR
 * (CIDR identities), other reserved identities, or a bare identity or
 * address. Edges are (source node, destination node, protocol, destination
 * port) with counts of connections forwarded, packets dropped and
 * connections audited, and first/last seen times.
 *
 * What is counted, so that one connection counts once:
 *   forwarded  a trace event of a new connection (trace reason NEW), taken
 *              where the connection enters the node's view first: leaving
 *              its source pod (from-endpoint), entering a local proxy
 *              that will speak to a peer that is not a local pod
 *              (to-proxy: a redirected connection has no from-endpoint
 *              trace), or entering its destination pod when the source is
 *              not a local pod (to-endpoint); replies never make edges of
 *              their own
 *   dropped    each drop event (every dropped packet, retries included)
 *   audit      each policy-verdict event with verdict AUDIT (a connection
 *              policy would have dropped; it is forwarded too)
 *
 * Every policy-verdict event also names, on its edge, the policies behind
 * it (up to 8 per edge, with a count of verdicts each): allow (its
 * direction's *_allowed_by), deny (*_denied_by) or default-deny (a drop or
 * audit no rule matched: the policies that isolate the endpoint). The web
 * UI highlights a policy's edges with them.
 *
 * Memory is bounded (max_nodes, max_edges): edges sit on a list ordered by
 * last use, and when a limit is reached the least recently seen edge is
 * forgotten (and nodes no edge uses any more). Edges not seen for
 * `retention` are forgotten too. Everything runs on the loop thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include <bulwark/flow.h>
#include <bulwark/module.h>

#include "lib/flowfilter.h"

#define SM_MAX_ADDRS 8
#define SM_MAX_POLICIES 8 /* policies remembered per edge */

struct sm_conf {
	int64_t max_nodes;
	int64_t max_edges;
	int64_t retention; /* ms */
};

static const struct bw_conf_key sm_keys[] = {
	{ "max_nodes", BW_CONF_INT, "2000", offsetof(struct sm_conf, max_nodes),
	  16, 1000000, NULL, 0,
	  "most nodes (workloads and external peers) kept; the least recently seen edges go first" },
	{ "max_edges", BW_CONF_INT, "10000", offsetof(struct sm_conf, max_edges),
	  16, 10000000, NULL, 0,
	  "most edges (source, destination, protocol, port) kept" },
	{ "retention", BW_CONF_DURATION, "24h", offsetof(struct sm_conf, retention),
	  1000, INT64_C(365) * 86400000, NULL, BW_CONF_F_RELOADABLE,
	  "forget edges not seen for this long" },
	BW_CONF_KEY_END,
};

struct sm_node {
	char *id;            /* "x/a", "world", "host", "cidr:192.0.2.0/24", ... */
	const char *kind;    /* "workload", "world", "host", "cidr", "reserved", "identity", "address" */
	char *ns;            /* NULL when none */
	char *name;
	uint32_t identity;
	char *addrs[SM_MAX_ADDRS]; /* addresses seen, for peers that are not pods */
	size_t naddrs;
	unsigned refs;       /* edges using it, plus pins */
	struct sm_node *hnext;
};

/* What a policy did to an edge's connections (policy-verdict events). */
enum sm_effect { SM_ALLOW, SM_DENY, SM_DEFAULT_DENY };

struct sm_pol {
	char *kind, *ns, *name; /* ns "" for cluster-wide policies */
	enum sm_effect effect;
	uint64_t verdicts;
};

struct sm_edge {
	struct sm_node *src, *dst;
	uint8_t proto;
	uint16_t port;
	uint64_t forwarded, dropped, audit;
	struct sm_pol *pols; /* at most SM_MAX_POLICIES */
	size_t npols;
	uint64_t first_ns, last_ns;
	struct sm_edge *hnext;
	struct sm_edge *prev, *next; /* by last use: head is the oldest */
};

struct sm {
	const struct bw_core_api *api;
	bw_module_ctx *ctx;
	size_t max_nodes, max_edges;
	uint64_t retention_ns;
	struct sm_node **nodes; /* hash buckets */
	size_t nbuckets_n, nnodes;
	struct sm_edge **edges;
	size_t nbuckets_e, nedges;
	struct sm_edge *lru_head, *lru_tail;
	struct event *tick;
	uint64_t flows_mapped, evicted, expired;
};

/* The core's table (the same for every instance); start/reload need it. */
static const struct bw_core_api *sm_api;

#define sm_log(s, lvl, ...) (s)->api->log((s)->ctx, (lvl), __VA_ARGS__)

static uint64_t
sm_hash(const void *p, size_t n, uint64_t h)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

static uint64_t
sm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t
sm_pow2(size_t n)
{
	size_t p = 64;

	while (p < n)
		p <<= 1;
	return p;
}

/* ---- nodes ------------------------------------------------------------------- */

static void
sm_node_free(struct sm_node *n)
{
	for (size_t i = 0; i < n->naddrs; i++)
		free(n->addrs[i]);
	free(n->id);
	free(n->ns);
	free(n->name);
	free(n);
}

static void
sm_node_unref(struct sm *s, struct sm_node *n)
{
	struct sm_node **pp;

	if (--n->refs > 0)
		return;
	pp = &s->nodes[sm_hash(n->id, strlen(n->id), UINT64_C(14695981039346656037)) &
		       (s->nbuckets_n - 1)];
	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == n) {
			*pp = n->hnext;
			break;
		}
	s->nnodes--;
	sm_node_free(n);
}

/* ---- edges ------------------------------------------------------------------- */

static size_t
sm_edge_bucket(const struct sm *s, const struct sm_node *src,
	       const struct sm_node *dst, uint8_t proto, uint16_t port)
{
	uint64_t h = UINT64_C(14695981039346656037);

	h = sm_hash(&src, sizeof(src), h);
	h = sm_hash(&dst, sizeof(dst), h);
	h = sm_hash(&proto, sizeof(proto), h);
	h = sm_hash(&port, sizeof(port), h);
	return (size_t)(h & (s->nbuckets_e - 1));
}

static void
sm_lru_unlink(struct sm *s, struct sm_edge *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		s->lru_head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		s->lru_tail = e->prev;
	e->prev = e->next = NULL;
}

static void
sm_lru_append(struct sm *s, struct sm_edge *e)
{
	e->prev = s->lru_tail;
	e->next = NULL;
	if (s->lru_tail != NULL)
		s->lru_tail->next = e;
	else
		s->lru_head = e;
	s->lru_tail = e;
}

static void
sm_edge_remove(struct sm *s, struct sm_edge *e)
{
	struct sm_edge **pp = &s->edges[sm_edge_bucket(s, e->src, e->dst,
						      e->proto, e->port)];

	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	sm_lru_unlink(s, e);
	s->nedges--;
	sm_node_unref(s, e->src);
	sm_node_unref(s, e->dst);
	for (size_t i = 0; i < e->npols; i++) {
		free(e->pols[i].kind);
		free(e->pols[i].ns);
		free(e->pols[i].name);
	}
	free(e->pols);
	free(e);
}

/* Forget the least recently seen edge; 0 when there was none. */
static int
sm_evict_one(struct sm *s)
{
	if (s->lru_head == NULL)
		return 0;
	sm_edge_remove(s, s->lru_head);
	s->evicted++;
	return 1;
}

/* ---- classification ------------------------------------------------------------ */

static const char *
sm_label_value(const struct bw_flow_endpoint *ep, const char *prefix)
{
	size_t n = strlen(prefix);

	for (uint32_t i = 0; i < ep->n_labels; i++)
		if (ep->labels[i] != NULL && !strncmp(ep->labels[i], prefix, n))
			return ep->labels[i] + n;
	return NULL;
}

/*
 * The node for one side of a flow, found or created (with a reference the
 * caller owns). NULL on allocation failure.
 */
static struct sm_node *
sm_node_get(struct sm *s, const struct bw_flow_endpoint *ep, const char *ip)
{
	const char *kind, *v, *ns = NULL;
	char id[512], name[256];
	struct sm_node *n, **bucket;
	uint64_t h;

	if (ep->pod_name != NULL && ep->pod_name[0] != '\0') {
		kind = "workload";
		ns = ep->ns != NULL ? ep->ns : "";
		snprintf(name, sizeof(name), "%s",
			 ep->workload_name != NULL && ep->workload_name[0] != '\0' ?
				 ep->workload_name : ep->pod_name);
		snprintf(id, sizeof(id), "%s/%s", ns, name);
	} else if ((v = sm_label_value(ep, "cidr:")) != NULL) {
		kind = "cidr";
		snprintf(name, sizeof(name), "%s", v);
		snprintf(id, sizeof(id), "cidr:%s", v);
	} else if (ep->identity == 1) {
		kind = "host";
		snprintf(name, sizeof(name), "host");
		snprintf(id, sizeof(id), "host");
	} else if (ep->identity == 2 || ep->identity == 9 || ep->identity == 10 ||
		   sm_label_value(ep, "reserved:world") != NULL) {
		kind = "world";
		snprintf(name, sizeof(name), "world");
		snprintf(id, sizeof(id), "world");
	} else if ((v = sm_label_value(ep, "reserved:")) != NULL) {
		kind = "reserved";
		snprintf(name, sizeof(name), "%s", v);
		snprintf(id, sizeof(id), "%s", v);
	} else if (ep->identity != 0) {
		kind = "identity";
		ns = ep->ns;
		snprintf(name, sizeof(name), "identity %" PRIu32, ep->identity);
		snprintf(id, sizeof(id), "identity:%" PRIu32, ep->identity);
	} else {
		kind = "address";
		snprintf(name, sizeof(name), "%s", ip[0] ? ip : "unknown");
		snprintf(id, sizeof(id), "ip:%s", ip[0] ? ip : "unknown");
	}

	h = sm_hash(id, strlen(id), UINT64_C(14695981039346656037));
	bucket = &s->nodes[h & (s->nbuckets_n - 1)];
	for (n = *bucket; n != NULL; n = n->hnext)
		if (!strcmp(n->id, id))
			break;
	if (n == NULL) {
		/* make room: forget the oldest edges until a node goes */
		while (s->nnodes >= s->max_nodes && sm_evict_one(s))
			;
		if (s->nnodes >= s->max_nodes)
			return NULL;
		if ((n = calloc(1, sizeof(*n))) == NULL)
			return NULL;
		n->id = strdup(id);
		n->name = strdup(name);
		n->ns = ns != NULL && ns[0] != '\0' ? strdup(ns) : NULL;
		if (n->id == NULL || n->name == NULL ||
		    (ns != NULL && ns[0] != '\0' && n->ns == NULL)) {
			sm_node_free(n);
			return NULL;
		}
		n->kind = kind;
		n->identity = ep->identity;
		bucket = &s->nodes[h & (s->nbuckets_n - 1)]; /* eviction kept the table */
		n->hnext = *bucket;
		*bucket = n;
		s->nnodes++;
	}
	n->refs++;
	/* remember a few addresses of peers that are not pods */
	if (strcmp(kind, "workload") != 0 && ip[0] != '\0' &&
	    n->naddrs < SM_MAX_ADDRS) {
		size_t i;

		for (i = 0; i < n->naddrs && strcmp(n->addrs[i], ip); i++)
			;
		if (i == n->naddrs && (n->addrs[i] = strdup(ip)) != NULL)
			n->naddrs++;
	}
	return n;
}

enum sm_count { SM_NONE, SM_FORWARDED, SM_DROPPED, SM_AUDIT };

/* Count one verdict of policy p on e (a new entry while there is room). */
static void
sm_edge_policy(struct sm_edge *e, const struct bw_flow_policy *p,
	       enum sm_effect effect)
{
	const char *ns = p->ns != NULL ? p->ns : "";
	const char *kind = p->kind != NULL ? p->kind : "";
	struct sm_pol *np, *x;

	if (p->name == NULL)
		return;
	for (size_t i = 0; i < e->npols; i++) {
		x = &e->pols[i];
		if (x->effect == effect && !strcmp(x->name, p->name) &&
		    !strcmp(x->ns, ns) && !strcmp(x->kind, kind)) {
			x->verdicts++;
			return;
		}
	}
	if (e->npols >= SM_MAX_POLICIES ||
	    (np = realloc(e->pols, (e->npols + 1) * sizeof(*np))) == NULL)
		return;
	e->pols = np;
	x = &np[e->npols];
	x->kind = strdup(kind);
	x->ns = strdup(ns);
	x->name = strdup(p->name);
	if (x->kind == NULL || x->ns == NULL || x->name == NULL) {
		free(x->kind);
		free(x->ns);
		free(x->name);
		return;
	}
	x->effect = effect;
	x->verdicts = 1;
	e->npols++;
}

/*
 * The policies behind a policy-verdict event: those whose rule allowed or
 * denied it, or for a drop (or audit) no rule matched, the policies that
 * make the endpoint default-deny in that direction.
 */
static void
sm_edge_attribute(struct sm_edge *e, const struct bw_flow *f)
{
	const struct bw_flow_policy *allowed = f->ingress_allowed_by;
	const struct bw_flow_policy *denied = f->ingress_denied_by;
	uint32_t na = f->n_ingress_allowed_by, nd = f->n_ingress_denied_by;

	if (f->traffic_direction == BW_FLOW_TRAFFIC_EGRESS) {
		allowed = f->egress_allowed_by;
		na = f->n_egress_allowed_by;
		denied = f->egress_denied_by;
		nd = f->n_egress_denied_by;
	}
	for (uint32_t i = 0; i < na && allowed != NULL; i++)
		sm_edge_policy(e, &allowed[i], SM_ALLOW);
	for (uint32_t i = 0; i < nd && denied != NULL; i++)
		sm_edge_policy(e, &denied[i], SM_DENY);
	if (nd == 0 && f->verdict != BW_FLOW_VERDICT_FORWARDED)
		for (uint32_t i = 0; i < f->n_isolated_by && f->isolated_by != NULL; i++)
			sm_edge_policy(e, &f->isolated_by[i], SM_DEFAULT_DENY);
}

static void
sm_on_flow(const struct bw_flow *f, void *ud)
{
	struct sm *s = ud;
	struct sm_node *src, *dst;
	struct sm_edge *e;
	enum sm_count what;
	uint16_t port;
	size_t b;

	if (f->type != BW_FLOW_TYPE_L3_L4 || f->ip_version == 0)
		return;
	if (f->event_type == BW_FLOW_EVENT_DROP) {
		what = SM_DROPPED;
	} else if (f->event_type == BW_FLOW_EVENT_POLICY_VERDICT) {
		/* audits count; every verdict names its policies */
		what = f->verdict == BW_FLOW_VERDICT_AUDIT ? SM_AUDIT : SM_NONE;
	} else if (f->event_type == BW_FLOW_EVENT_TRACE &&
		   f->verdict == BW_FLOW_VERDICT_FORWARDED && f->is_reply != 1 &&
		   (f->trace_reason == BW_FLOW_REASON_NEW ||
		    (f->flags & BW_FLOW_F_CT_NEW)) &&
		   /* one count per connection at every aggregation level: where
		    * it enters a local pod, or where it leaves one for a peer
		    * that is not a local pod (medium traces only there) */
		   (f->trace_observation_point == BW_FLOW_OBS_TO_ENDPOINT ||
		    ((f->trace_observation_point == BW_FLOW_OBS_FROM_ENDPOINT ||
		      f->trace_observation_point == BW_FLOW_OBS_TO_PROXY) &&
		     f->destination.id == 0))) {
		what = SM_FORWARDED;
	} else {
		return;
	}
	port = f->protocol == 6 || f->protocol == 17 || f->protocol == 132 ?
		       f->dst_port : 0;

	if ((src = sm_node_get(s, &f->source, f->src_ip)) == NULL)
		return;
	if ((dst = sm_node_get(s, &f->destination, f->dst_ip)) == NULL) {
		sm_node_unref(s, src);
		return;
	}
	b = sm_edge_bucket(s, src, dst, f->protocol, port);
	for (e = s->edges[b]; e != NULL; e = e->hnext)
		if (e->src == src && e->dst == dst && e->proto == f->protocol &&
		    e->port == port)
			break;
	if (e != NULL) {
		/* the edge holds its own references */
		sm_node_unref(s, src);
		sm_node_unref(s, dst);
		sm_lru_unlink(s, e);
	} else {
		/* src and dst keep the references taken above for the edge */
		while (s->nedges >= s->max_edges && sm_evict_one(s))
			;
		if ((e = calloc(1, sizeof(*e))) == NULL) {
			sm_node_unref(s, src);
			sm_node_unref(s, dst);
			return;
		}
		e->src = src;
		e->dst = dst;
		e->proto = f->protocol;
		e->port = port;
		e->first_ns = f->time_ns;
		e->hnext = s->edges[b];
		s->edges[b] = e;
		s->nedges++;
	}
	sm_lru_append(s, e);
	if (f->time_ns > e->last_ns)
		e->last_ns = f->time_ns;
	if (f->time_ns < e->first_ns)
		e->first_ns = f->time_ns;
	if (f->event_type == BW_FLOW_EVENT_POLICY_VERDICT)
		sm_edge_attribute(e, f);
	switch (what) {
	case SM_NONE: return;
	case SM_FORWARDED: e->forwarded++; break;
	case SM_DROPPED: e->dropped++; break;
	case SM_AUDIT: e->audit++; break;
	}
	s->flows_mapped++;
}

/* Forget edges not seen for `retention`. */
static void
sm_tick(evutil_socket_t fd, short what, void *arg)
{
	struct sm *s = arg;
	uint64_t now = sm_now_ns();

	(void)fd;
	(void)what;
	if (now < s->retention_ns)
		return;
	/* the list is by last use; flow times are close enough to that order */
	while (s->lru_head != NULL && s->lru_head->last_ns < now - s->retention_ns) {
		sm_edge_remove(s, s->lru_head);
		s->expired++;
	}
}

/* ---- the API ------------------------------------------------------------------ */

static const char *
sm_proto_name(uint8_t p, char *buf, size_t len)
{
	switch (p) {
	case 6: return "TCP";
	case 17: return "UDP";
	case 132: return "SCTP";
	case 1: return "ICMPv4";
	case 58: return "ICMPv6";
	default:
		snprintf(buf, len, "%u", p);
		return buf;
	}
}

static int
sm_pol_cmp(const void *a, const void *b)
{
	const struct sm_pol *x = a, *y = b;
	int c = strcmp(x->ns, y->ns);

	if (c == 0)
		c = strcmp(x->name, y->name);
	if (c == 0)
		c = strcmp(x->kind, y->kind);
	if (c == 0)
		c = (int)x->effect - (int)y->effect;
	return c;
}

static json_t *
sm_edge_policies_json(struct sm_edge *e)
{
	static const char *const effects[] = { "allow", "deny", "default-deny" };
	json_t *a = json_array();

	if (e->npols > 1) /* qsort takes no NULL array, even empty */
		qsort(e->pols, e->npols, sizeof(*e->pols), sm_pol_cmp);
	for (size_t i = 0; i < e->npols && a != NULL; i++) {
		const struct sm_pol *p = &e->pols[i];

		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:I}",
						   "kind", p->kind, "namespace", p->ns,
						   "name", p->name, "effect",
						   effects[p->effect], "verdicts",
						   (json_int_t)p->verdicts));
	}
	return a;
}

static json_t *
sm_time(uint64_t ns)
{
	char buf[64];
	time_t sec = (time_t)(ns / 1000000000u);
	struct tm tm;

	gmtime_r(&sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ".%09" PRIu64 "Z",
		 ns % 1000000000u);
	return json_string(buf);
}

static int
sm_edge_cmp(const void *a, const void *b)
{
	const struct sm_edge *x = *(const struct sm_edge *const *)a;
	const struct sm_edge *y = *(const struct sm_edge *const *)b;
	int c;

	if ((c = strcmp(x->src->id, y->src->id)) != 0)
		return c;
	if ((c = strcmp(x->dst->id, y->dst->id)) != 0)
		return c;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

static int
sm_node_cmp(const void *a, const void *b)
{
	const struct sm_node *x = *(const struct sm_node *const *)a;
	const struct sm_node *y = *(const struct sm_node *const *)b;
	int c = strcmp(x->ns ? x->ns : "\x7f", y->ns ? y->ns : "\x7f");

	return c != 0 ? c : strcmp(x->id, y->id);
}

static int
sm_in_ns(const struct sm_node *n, const char *ns)
{
	return n->ns != NULL && !strcmp(n->ns, ns);
}

static json_t *
sm_node_json(const struct sm_node *n)
{
	json_t *o = json_object(), *a;

	json_object_set_new(o, "id", json_string(n->id));
	json_object_set_new(o, "kind", json_string(n->kind));
	if (n->ns != NULL)
		json_object_set_new(o, "namespace", json_string(n->ns));
	json_object_set_new(o, "name", json_string(n->name));
	if (n->identity != 0)
		json_object_set_new(o, "identity", json_integer(n->identity));
	if (n->naddrs > 0) {
		a = json_array();
		for (size_t i = 0; i < n->naddrs; i++)
			json_array_append_new(a, json_string(n->addrs[i]));
		json_object_set_new(o, "addresses", a);
	}
	return o;
}

static int
sm_api_map(bw_api_request *req, void *ud)
{
	struct sm *s = ud;
	const char *ns = s->api->req_query(req, "namespace");
	const char *since_s = s->api->req_query(req, "since");
	uint64_t since = 0;
	struct sm_edge **ev = NULL, *e;
	struct sm_node **nv = NULL;
	size_t ne = 0, nn = 0;
	json_t *doc, *nodes, *edges;
	char *text, pbuf[8];
	int rc;

	if (ns != NULL && ns[0] == '\0')
		ns = NULL;
	if (since_s != NULL && since_s[0] != '\0' &&
	    bw_flowfilter_parse_time(since_s, sm_now_ns(), &since) < 0)
		return s->api->reply_error(req, 400, "since: '%s' is neither a "
					   "duration (5m, 1h30m) nor a time "
					   "(2026-11-26T09:00:00Z)", since_s);
	ev = calloc(s->nedges + 1, sizeof(*ev));
	nv = calloc(2 * s->nedges + 1, sizeof(*nv));
	if (ev == NULL || nv == NULL) {
		free(ev);
		free(nv);
		return -ENOMEM;
	}
	for (e = s->lru_head; e != NULL; e = e->next) {
		if (e->last_ns < since)
			continue;
		if (ns != NULL && !sm_in_ns(e->src, ns) && !sm_in_ns(e->dst, ns))
			continue;
		ev[ne++] = e;
	}
	qsort(ev, ne, sizeof(*ev), sm_edge_cmp);
	/* the nodes of the edges shown, each once */
	for (size_t i = 0; i < ne; i++) {
		struct sm_node *pair[2] = { ev[i]->src, ev[i]->dst };

		for (int k = 0; k < 2; k++) {
			size_t j;

			for (j = 0; j < nn && nv[j] != pair[k]; j++)
				;
			if (j == nn)
				nv[nn++] = pair[k];
		}
	}
	qsort(nv, nn, sizeof(*nv), sm_node_cmp);

	nodes = json_array();
	edges = json_array();
	for (size_t i = 0; i < nn; i++)
		json_array_append_new(nodes, sm_node_json(nv[i]));
	for (size_t i = 0; i < ne; i++) {
		json_t *o = json_object();

		e = ev[i];
		json_object_set_new(o, "source", json_string(e->src->id));
		json_object_set_new(o, "destination", json_string(e->dst->id));
		json_object_set_new(o, "protocol",
				    json_string(sm_proto_name(e->proto, pbuf,
							      sizeof(pbuf))));
		json_object_set_new(o, "port", json_integer(e->port));
		json_object_set_new(o, "forwarded", json_integer((json_int_t)e->forwarded));
		json_object_set_new(o, "dropped", json_integer((json_int_t)e->dropped));
		json_object_set_new(o, "audit", json_integer((json_int_t)e->audit));
		json_object_set_new(o, "first_seen", sm_time(e->first_ns));
		json_object_set_new(o, "last_seen", sm_time(e->last_ns));
		json_object_set_new(o, "policies", sm_edge_policies_json(e));
		json_array_append_new(edges, o);
	}
	free(ev);
	free(nv);
	doc = json_pack("{s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
			"nodes", nodes, "edges", edges, "stats",
			"nodes", (json_int_t)s->nnodes,
			"edges", (json_int_t)s->nedges,
			"max_nodes", (json_int_t)s->max_nodes,
			"max_edges", (json_int_t)s->max_edges,
			"retention_seconds", (json_int_t)(s->retention_ns / 1000000000u),
			"flows_mapped", (json_int_t)s->flows_mapped,
			"evicted_edges", (json_int_t)s->evicted,
			"expired_edges", (json_int_t)s->expired);
	if (doc == NULL)
		return -ENOMEM;
	if (ns != NULL)
		json_object_set_new(doc, "namespace", json_string(ns));
	if (since != 0)
		json_object_set_new(doc, "since", sm_time(since));
	text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (text == NULL)
		return -ENOMEM;
	rc = s->api->reply_json(req, 200, text);
	free(text);
	return rc;
}

/* ---- lifecycle -------------------------------------------------------------------- */

static void
sm_free(void *arg)
{
	struct sm *s = arg;

	if (s == NULL)
		return;
	while (s->lru_head != NULL)
		sm_edge_remove(s, s->lru_head);
	if (s->tick != NULL)
		event_free(s->tick);
	free(s->nodes);
	free(s->edges);
	free(s);
}

static int
sm_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf)
{
	const struct sm_conf *c = conf;
	struct sm *s;
	int rc;

	if (!BW_API_HAS(api, flow_subscribe)) {
		api->log(ctx, BW_LOG_ERR, "this bulwarkd has no flow pipeline");
		return -ENOTSUP;
	}
	sm_api = api;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->api = api;
	s->ctx = ctx;
	s->max_nodes = (size_t)c->max_nodes;
	s->max_edges = (size_t)c->max_edges;
	s->retention_ns = (uint64_t)c->retention * 1000000u;
	s->nbuckets_n = sm_pow2(s->max_nodes);
	s->nbuckets_e = sm_pow2(s->max_edges);
	s->nodes = calloc(s->nbuckets_n, sizeof(*s->nodes));
	s->edges = calloc(s->nbuckets_e, sizeof(*s->edges));
	if (s->nodes == NULL || s->edges == NULL) {
		sm_free(s);
		return -ENOMEM;
	}
	if ((rc = api->api_route(ctx, "GET", "/v1/map", sm_api_map, s, NULL)) < 0) {
		sm_free(s);
		return rc;
	}
	/* the subscription owns s: the core frees it with the instance */
	if ((rc = api->flow_subscribe(ctx, sm_on_flow, s, sm_free)) < 0) {
		sm_free(s);
		return rc;
	}
	api->set_data(ctx, s);
	return 0;
}

static int
sm_start(bw_module_ctx *ctx)
{
	struct sm *s = sm_api != NULL ? sm_api->get_data(ctx) : NULL;
	struct timeval tv = { 10, 0 };

	if (s == NULL)
		return -ENOENT;
	s->tick = event_new(s->api->event_base(ctx), -1, EV_PERSIST, sm_tick, s);
	if (s->tick == NULL || event_add(s->tick, &tv) < 0) {
		sm_log(s, BW_LOG_ERR, "cannot start the retention timer");
		return -ENOMEM;
	}
	return 0;
}

static int
sm_reload(bw_module_ctx *ctx, const void *new_conf)
{
	struct sm *s = sm_api != NULL ? sm_api->get_data(ctx) : NULL;
	const struct sm_conf *c = new_conf;

	if (s == NULL)
		return -ENOENT;
	s->retention_ns = (uint64_t)c->retention * 1000000u;
	return 0;
}

static void
sm_stop(bw_module_ctx *ctx)
{
	struct sm *s = sm_api != NULL ? sm_api->get_data(ctx) : NULL;

	if (s != NULL && s->tick != NULL) {
		event_free(s->tick);
		s->tick = NULL;
	}
}

BW_MODULE_DEFINE(
	.name = "servicemap",
	.version = "1.0",
	.description = "service map of the node's workloads from the flows (GET /v1/map, bulwark map)",
	.conf_keys = sm_keys,
	.conf_size = sizeof(struct sm_conf),
	.init = sm_init,
	.start = sm_start,
	.reload = sm_reload,
	.stop = sm_stop,
);
