/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/advisor/advisor_recommend.c - bulwark recommend: policies that
 * keep every connection seen in the window working and deny the rest, in
 * the talk's shape (../shared/reference/talk-zero-trust-networking.txt):
 *
 *  - a baseline, one CiliumClusterwideNetworkPolicy: default deny both
 *    ways for the pods of the chosen namespaces; the services most of them
 *    use (any DNS server always, its rule with rules.dns so that FQDN
 *    policy can learn names; monitoring that scrapes most namespaces); in
 *    coarse mode, everything within each namespace;
 *  - per namespace, one CiliumNetworkPolicy with what it needs beyond
 *    that. Coarse: each workload others reach (from other namespaces, the
 *    world, the node) opened on the ports seen to exactly those namespaces
 *    or entities; the namespace's egress to other namespaces by namespace
 *    and port, to the outside by DNS name and port (toFQDNs), by address
 *    (/32) where no name was seen. Fine: the same per workload, with
 *    workload selectors on both sides, including traffic within the
 *    namespace (the baseline then opens nothing within it).
 *
 * Every rule element carries a comment naming the connections behind it
 * and their counts. The output depends on the history only: rows, groups,
 * rules and flows are all taken in a fixed order.
 *
 * Before answering, the policies are replayed against the history through
 * the core's what-if (as `bulwark policy replace` would apply them): each
 * connection that worked must stay allowed; the ones that would not, or
 * that cannot be checked, are listed (not_covered) with the reason.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/prefix.h"
#include "advisor.h"

struct rec_group {
	uint32_t *pp;        /* (protocol << 16 | port), sorted */
	size_t npp, cappp;
	int portless;        /* a protocol without ports was seen: every port */
	int dns;             /* port 53 of a shared DNS server: rules.dns */
	uint64_t conns;
	size_t nflows;
	size_t *top;         /* row indices, most connections first */
	size_t ntop;
	json_t *names;       /* merged groups: the names (fqdn/cidr) */
};

struct rec_spec {
	char *subject;       /* "" = every pod of the namespace, else a workload key */
	struct adv_map in, out; /* peer key -> struct rec_group */
};

struct rec_ns {
	struct rec_group intra[2]; /* coarse: connections within the namespace (in, out) */
	struct adv_map specs;   /* subject -> struct rec_spec */
};

struct rec {
	const struct adv_conf *conf;
	const struct adv_world *world;
	struct adv_rows *rows;
	int fine;
	const char *all;           /* "" interned: the subject "every pod of the namespace" */
	const char **chosen;
	size_t nchosen;
	size_t topk;
	struct adv_map nss;        /* namespace -> struct rec_ns */
	struct adv_map shared_out; /* peer key -> struct rec_group */
	struct adv_map shared_in;
	/* the hot loops are keyed by interned strings (adv_rows_intern) */
	struct adv_pmap peerkeys;  /* (name, ingress / fine) -> interned peer key, or rc */
	struct adv_pmap counts;    /* shared detection: (peer, NULL, port) -> count,
				    * (peer, namespace, port) -> seen */
	struct adv_pmap lookups;   /* (map, key) -> its value (groups, specs, namespaces) */
	size_t *used;
	size_t nused;
	uint64_t used_conns;
	json_t *notes;
	int err;
};

/* ---- groups ------------------------------------------------------------------------------ */

static void
rec_group_free(void *p)
{
	struct rec_group *g = p;

	free(g->pp);
	free(g->top);
	json_decref(g->names);
	free(g);
}

static struct rec_group *
rec_group_get(struct rec *rc, struct adv_map *m, const char *key)
{
	struct rec_group *g = adv_map_get(m, key);

	if (g != NULL)
		return g;
	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (g->top = calloc(rc->topk, sizeof(*g->top))) == NULL || adv_map_put(m, key, g) < 0) {
		if (g != NULL)
			free(g->top);
		free(g);
		rc->err = -ENOMEM;
		return NULL;
	}
	return g;
}

/* rec_group_get() of an interned key, through the lookup cache. */
static struct rec_group *
rec_group_get_i(struct rec *rc, struct adv_map *m, const char *key)
{
	struct rec_group *g = adv_pmap_get(&rc->lookups, m, key, 0);

	if (g == NULL && (g = rec_group_get(rc, m, key)) != NULL &&
	    adv_pmap_put(&rc->lookups, m, key, 0, g) < 0)
		rc->err = -ENOMEM;
	return g;
}

/* Keep the topk rows with the most connections (ties: row order). */
static void
rec_top_add(struct rec *rc, struct rec_group *g, size_t row)
{
	const struct adv_row *r = &rc->rows->v[row], *v = rc->rows->v;
	uint64_t c = adv_row_ok(r);
	size_t i = g->ntop;

	if (g->ntop == rc->topk) {
		const struct adv_row *last = &v[g->top[g->ntop - 1]];

		if (adv_row_rank(last, adv_row_ok(last), r, c) <= 0)
			return;
		i = --g->ntop;
	}
	while (i > 0 && adv_row_rank(&v[g->top[i - 1]], adv_row_ok(&v[g->top[i - 1]]), r, c) > 0) {
		g->top[i] = g->top[i - 1];
		i--;
	}
	g->top[i] = row;
	g->ntop++;
}

static void
rec_group_add(struct rec *rc, struct rec_group *g, size_t row)
{
	const struct adv_row *r = &rc->rows->v[row];

	if (g == NULL)
		return;
	g->conns += adv_row_ok(r);
	g->nflows++;
	rec_top_add(rc, g, row);
	if (r->proto == 6 || r->proto == 17 || r->proto == 132 || r->proto == 1 || r->proto == 58) {
		if (adv_pp_add(&g->pp, &g->npp, &g->cappp, r->proto, r->port) < 0)
			rc->err = -ENOMEM;
	} else {
		g->portless = 1;
	}
}

/* Merge b's flows and ports into a (b unchanged). */
static void
rec_group_merge(struct rec *rc, struct rec_group *a, const struct rec_group *b)
{
	a->conns += b->conns;
	a->nflows += b->nflows;
	a->portless |= b->portless;
	a->dns |= b->dns;
	for (size_t i = 0; i < b->ntop; i++)
		rec_top_add(rc, a, b->top[i]);
	for (size_t i = 0; i < b->npp; i++)
		if (adv_pp_add(&a->pp, &a->npp, &a->cappp, (uint8_t)(b->pp[i] >> 16),
			       (uint16_t)b->pp[i]) < 0)
			rc->err = -ENOMEM;
}

/* ---- names of peers -------------------------------------------------------------------- */

static int
rec_is_address(const char *s)
{
	struct bw_prefix p;

	return bw_prefix_parse(s, 0, &p) == 0;
}

static const char *const rec_entities[] = {
	"host", "remote-node", "kube-apiserver", "ingress", "health", "init", "unmanaged",
	"world", "world-ipv4", "world-ipv6", NULL,
};

/*
 * The key of the row's peer (the side whose policy is not checked):
 * "wl:NS/W" (fine) or "ns:NS" (coarse) for pods, "entity:X", "cidr:A/L",
 * "fqdn:NAME"; NULL when nothing can be written for it.
 */
static const char *
rec_peer_key(const struct adv_row *r, int ingress, int fine, char *buf, size_t len)
{
	const char *name = ingress ? r->src : r->dst;
	const char *ns = ingress ? r->src_ns : r->dst_ns;
	int kind = ingress ? r->src_kind : r->dst_kind;

	switch (kind) {
	case BW_HISTORY_PEER_POD:
		if (fine) {
			snprintf(buf, len, "wl:%s", name);
		} else if (ns != NULL) {
			snprintf(buf, len, "ns:%s", ns);
		} else {
			const char *slash = strchr(name, '/');

			snprintf(buf, len, "ns:%.*s", (int)(slash ? slash - name : 0), name);
		}
		return buf;
	case BW_HISTORY_PEER_HOST:
		snprintf(buf, len, "entity:host");
		return buf;
	case BW_HISTORY_PEER_WORLD:
		if (!strcmp(name, "world") || ingress) {
			snprintf(buf, len, "entity:world");
			return buf;
		}
		snprintf(buf, len, "%s:%s", rec_is_address(name) ? "cidr" : "fqdn", name);
		return buf;
	case BW_HISTORY_PEER_RESERVED:
		for (size_t i = 0; rec_entities[i] != NULL; i++)
			if (!strcmp(rec_entities[i], name)) {
				snprintf(buf, len, "entity:%s", name);
				return buf;
			}
		return NULL;
	default:
		if (rec_is_address(name)) {
			snprintf(buf, len, "cidr:%s", name);
			return buf;
		}
		return NULL;
	}
}

/* rec_peer_key() of an interned name, interned, once per name (NULL: none). */
static const char *
rec_peer_key_i(struct rec *rc, const struct adv_row *r, int ingress, int fine)
{
	const char *name = ingress ? r->src : r->dst;
	uint64_t c = (uint64_t)ingress << 1 | (uint64_t)(fine != 0);
	const char *k = adv_pmap_get(&rc->peerkeys, name, NULL, c);
	char buf[600];

	if (k == (const char *)rc)
		return NULL;
	if (k != NULL)
		return k;
	k = rec_peer_key(r, ingress, fine, buf, sizeof(buf));
	if (k != NULL)
		k = adv_rows_intern(rc->rows, k);
	if (adv_pmap_put(&rc->peerkeys, name, NULL, c, k != NULL ? (void *)k : (void *)rc) < 0)
		rc->err = -ENOMEM;
	return k;
}

static int
rec_chosen(struct rec *rc, const char *ns)
{
	void *v;
	int yes = 0;

	if (ns == NULL)
		return 0;
	if ((v = adv_pmap_get(&rc->lookups, rc, ns, 1)) != NULL)
		return v == (void *)rc;
	for (size_t i = 0; i < rc->nchosen && !yes; i++)
		yes = !strcmp(rc->chosen[i], ns);
	if (adv_pmap_put(&rc->lookups, rc, ns, 1, yes ? (void *)rc : (void *)&rc->chosen) < 0)
		rc->err = -ENOMEM;
	return yes;
}

static const char *
rec_local_ns(const struct adv_row *r)
{
	int ingress = r->dir == BW_FLOW_TRAFFIC_INGRESS;

	if ((ingress ? r->dst_kind : r->src_kind) != BW_HISTORY_PEER_POD)
		return NULL;
	return ingress ? r->dst_ns : r->src_ns;
}

/* ---- the pass over the rows ------------------------------------------------------------ */

static int
rec_json_str_cmp(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

static void
rec_sort_strings(json_t *arr)
{
	size_t n = json_array_size(arr);
	json_t **v = calloc(n ? n : 1, sizeof(*v));

	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), rec_json_str_cmp);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

static void __attribute__((format(printf, 2, 3)))
rec_note(struct rec *rc, const char *fmt, ...)
{
	char buf[600];
	size_t i;
	json_t *v;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_foreach(rc->notes, i, v)
		if (!strcmp(json_string_value(v), buf))
			return;
	json_array_append_new(rc->notes, json_string(buf));
}

/*
 * Shared detection. A key is the peer (interned, at workload granularity)
 * and, for egress, the protocol and port: a destination that most
 * namespaces use; for ingress, a source that reaches most of them
 * (monitoring, the node). 0 when the row's peer cannot be shared.
 */
static const char *
rec_shared_key(struct rec *rc, const struct adv_row *r, uint64_t *c)
{
	int ingress = r->dir == BW_FLOW_TRAFFIC_INGRESS;
	const char *peer = rec_peer_key_i(rc, r, ingress, 1);

	if (peer == NULL)
		return NULL;
	if (ingress) {
		if (!strncmp(peer, "cidr:", 5) || !strcmp(peer, "entity:world"))
			return NULL;
		*c = UINT64_C(1) << 32;
	} else {
		*c = UINT64_C(2) << 32 | (uint64_t)r->proto << 16 | r->port;
	}
	return peer;
}

/* Count namespace ns (interned) for key (peer, c) once. */
static void
rec_count(struct rec *rc, const char *peer, uint64_t c, const char *ns)
{
	uintptr_t n;

	if (adv_pmap_get(&rc->counts, peer, ns, c) != NULL)
		return;
	n = (uintptr_t)adv_pmap_get(&rc->counts, peer, NULL, c);
	if (adv_pmap_put(&rc->counts, peer, ns, c, (void *)1) < 0 ||
	    adv_pmap_put(&rc->counts, peer, NULL, c, (void *)(n + 1)) < 0)
		rc->err = -ENOMEM;
}

static int
rec_is_shared(const struct rec *rc, uintptr_t n)
{
	return n >= 2 && (uint64_t)n * 100 > (uint64_t)rc->conf->shared_percent * rc->nchosen;
}

static int
rec_is_dns(const struct adv_row *r)
{
	return r->dir == BW_FLOW_TRAFFIC_EGRESS && r->port == 53 &&
	       (r->proto == 17 || r->proto == 6);
}

static struct rec_ns *
rec_ns_get(struct rec *rc, const char *ns)
{
	struct rec_ns *n = adv_pmap_get(&rc->lookups, &rc->nss, ns, 0);

	if (n != NULL)
		return n;
	if ((n = adv_map_get(&rc->nss, ns)) != NULL) {
		adv_pmap_put(&rc->lookups, &rc->nss, ns, 0, n);
		return n;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL ||
	    (n->intra[0].top = calloc(rc->topk, sizeof(*n->intra[0].top))) == NULL ||
	    (n->intra[1].top = calloc(rc->topk, sizeof(*n->intra[1].top))) == NULL ||
	    adv_map_put(&rc->nss, ns, n) < 0) {
		if (n != NULL) {
			free(n->intra[0].top);
			free(n->intra[1].top);
		}
		free(n);
		rc->err = -ENOMEM;
		return NULL;
	}
	adv_pmap_put(&rc->lookups, &rc->nss, ns, 0, n);
	return n;
}

static struct rec_spec *
rec_spec_get(struct rec *rc, struct rec_ns *n, const char *subject)
{
	struct rec_spec *s = adv_pmap_get(&rc->lookups, &n->specs, subject, 0);

	if (s != NULL)
		return s;
	if ((s = adv_map_get(&n->specs, subject)) != NULL) {
		adv_pmap_put(&rc->lookups, &n->specs, subject, 0, s);
		return s;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->subject = strdup(subject)) == NULL ||
	    adv_map_put(&n->specs, subject, s) < 0) {
		if (s != NULL)
			free(s->subject);
		free(s);
		rc->err = -ENOMEM;
		return NULL;
	}
	adv_pmap_put(&rc->lookups, &n->specs, subject, 0, s);
	return s;
}

static void
rec_spec_free(void *p)
{
	struct rec_spec *s = p;

	adv_map_clear(&s->in, rec_group_free);
	adv_map_clear(&s->out, rec_group_free);
	free(s->subject);
	free(s);
}

static void
rec_ns_free(void *p)
{
	struct rec_ns *n = p;

	for (int d = 0; d < 2; d++) {
		free(n->intra[d].pp);
		free(n->intra[d].top);
	}
	adv_map_clear(&n->specs, rec_spec_free);
	free(n);
}

static void
rec_assign(struct rec *rc, size_t i)
{
	const struct adv_row *r = &rc->rows->v[i];
	int ingress = r->dir == BW_FLOW_TRAFFIC_INGRESS;
	const char *lns = rec_local_ns(r);
	const char *pns = ingress ? r->src_ns : r->dst_ns;
	int pkind = ingress ? r->src_kind : r->dst_kind;
	uint64_t sc = 0;
	const char *skey = rec_shared_key(rc, r, &sc);
	const char *peer = rec_peer_key_i(rc, r, ingress, rc->fine);
	struct rec_ns *n = rec_ns_get(rc, lns);
	struct rec_spec *s;

	if (n == NULL)
		return;
	if (skey != NULL && (rec_is_shared(rc, (uintptr_t)adv_pmap_get(&rc->counts, skey, NULL, sc)) ||
			     rec_is_dns(r))) {
		/* the baseline's: shared services, at workload granularity (skey) */
		struct rec_group *g = rec_group_get_i(rc, ingress ? &rc->shared_in : &rc->shared_out,
						      skey);

		rec_group_add(rc, g, i);
		if (g != NULL && rec_is_dns(r))
			g->dns = 1;
		return;
	}
	if (!rc->fine && pkind == BW_HISTORY_PEER_POD && pns != NULL && pns == lns) {
		rec_group_add(rc, &n->intra[ingress ? 0 : 1], i); /* the baseline allows it */
		return;
	}
	if (peer == NULL) {
		rec_note(rc, "%s: no rule can name this peer", ingress ? r->src : r->dst);
		return;
	}
	if (ingress || rc->fine) {
		const char *wl = ingress ? r->dst : r->src;

		if (adv_world_find(rc->world, wl) == NULL) {
			rec_note(rc, "%s has no endpoint on this node now: no rule selects it", wl);
			return;
		}
		s = rec_spec_get(rc, n, wl);
	} else {
		s = rec_spec_get(rc, n, rc->all);
	}
	if (s != NULL)
		rec_group_add(rc, rec_group_get_i(rc, ingress ? &s->in : &s->out, peer), i);
}

/* ---- writing the documents -------------------------------------------------------------- */

static void
rec_flow_line(const struct adv_row *r, char *buf, size_t len)
{
	char pb[16];

	snprintf(buf, len, "%s -> %s %s/%u: %" PRIu64, r->src, r->dst,
		 adv_proto_name(r->proto, pb, sizeof(pb)), r->port, adv_row_ok(r));
}

/* The comment and "#flows" of one element. */
static void
rec_comment(struct rec *rc, json_t *el, const struct rec_group *g, const char *extra)
{
	char *buf = NULL, line[1200];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_t *flows;

	if (f == NULL)
		return;
	if (g->nflows == 0) {
		fclose(f);
		free(buf);
		json_object_set_new(el, "#", json_string("no connection seen yet: the coarse "
							 "baseline allows everything within a namespace"));
		return;
	}
	flows = json_array();
	fprintf(f, "%" PRIu64 " connection%s seen (%zu flow%s)%s%s:", g->conns,
		g->conns == 1 ? "" : "s", g->nflows, g->nflows == 1 ? "" : "s",
		extra != NULL ? "; " : "", extra != NULL ? extra : "");
	for (size_t i = 0; i < g->ntop; i++) {
		const struct adv_row *r = &rc->rows->v[g->top[i]];

		rec_flow_line(r, line, sizeof(line));
		fprintf(f, "\n  %s", line);
		json_array_append_new(flows, adv_conn_json(r, adv_row_ok(r), r->last_ok));
	}
	if (g->nflows > g->ntop)
		fprintf(f, "\n  ... and %zu more flow%s", g->nflows - g->ntop,
			g->nflows - g->ntop == 1 ? "" : "s");
	fclose(f);
	json_object_set_new(el, "#", json_string(buf));
	json_object_set_new(el, "#flows", flows);
	json_object_set_new(el, "#connections", json_integer((json_int_t)g->conns));
	free(buf);
}

/* toPorts and icmps of a group; a second element when both are needed. */
static void
rec_ports(const struct rec_group *g, json_t *el, json_t **icmp_el)
{
	json_t *fields = json_array();

	*icmp_el = NULL;
	if (g->portless)
		goto icmps; /* every port: no toPorts */
	if (g->dns) {
		uint32_t other[64];
		size_t n = 0;
		json_t *tp;

		for (size_t i = 0; i < g->npp && n < 64; i++)
			if ((g->pp[i] & 0xffff) != 53)
				other[n++] = g->pp[i];
		tp = adv_cnp_toports(other, n);
		json_array_insert_new(tp, 0, json_pack("{s:[{s:s,s:s},{s:s,s:s}],s:{s:[{s:s}]}}",
						       "ports", "port", "53", "protocol", "UDP",
						       "port", "53", "protocol", "TCP", "rules",
						       "dns", "matchPattern", "*"));
		json_object_set_new(el, "toPorts", tp);
	} else {
		json_t *tp = adv_cnp_toports(g->pp, g->npp);

		if (json_array_size(tp) > 0)
			json_object_set_new(el, "toPorts", tp);
		else
			json_decref(tp);
	}
icmps:
	for (size_t i = 0; i < g->npp; i++) {
		unsigned proto = g->pp[i] >> 16;

		if (proto == 1 || proto == 58)
			json_array_append_new(fields, json_pack("{s:i,s:s}", "type",
								(int)(g->pp[i] & 0xffff), "family",
								proto == 1 ? "IPv4" : "IPv6"));
	}
	if (json_array_size(fields) == 0) {
		json_decref(fields);
		return;
	}
	if (json_object_get(el, "toPorts") == NULL && !g->portless) {
		json_object_set_new(el, "icmps", json_pack("[{s:o}]", "fields", fields));
		return;
	}
	/* toPorts and icmps cannot share an element: a second one, same peers */
	*icmp_el = json_object();
	json_object_set_new(*icmp_el, "icmps", json_pack("[{s:o}]", "fields", fields));
}

/* The peer part of an element for peer key k (a group), or NULL. */
static json_t *
rec_peer_el(struct rec *rc, const char *k, const struct rec_group *g, int egress,
	    const char **extra)
{
	const char *pre = egress ? "to" : "from";
	char key[32];
	json_t *el = json_object();

	*extra = NULL;
	if (!strncmp(k, "ns:", 3)) {
		snprintf(key, sizeof(key), "%sEndpoints", pre);
		json_object_set_new(el, key, json_pack("[o]", adv_cnp_selector(k + 3, NULL)));
	} else if (!strncmp(k, "wl:", 3)) {
		const struct adv_wl *wl = adv_world_find(rc->world, k + 3);
		const char *slash = strchr(k + 3, '/');
		char ns[256];

		snprintf(ns, sizeof(ns), "%.*s", (int)(slash ? slash - (k + 3) : 0), k + 3);
		snprintf(key, sizeof(key), "%sEndpoints", pre);
		json_object_set_new(el, key, json_pack("[o]", adv_cnp_selector(ns, wl)));
		if (wl == NULL || wl->labels == NULL)
			*extra = "no label selects that workload alone here: its whole namespace";
		else if (!wl->exact)
			*extra = "its labels also select other pods of its namespace";
	} else if (!strncmp(k, "entity:", 7)) {
		snprintf(key, sizeof(key), "%sEntities", pre);
		json_object_set_new(el, key, json_pack("[s]", k + 7));
	} else if (!strncmp(k, "cidr:", 5) || !strncmp(k, "fqdn:", 5)) {
		int fqdn = k[0] == 'f';
		json_t *list = json_array(), *v;
		size_t i;

		json_array_foreach(g->names, i, v)
			json_array_append_new(list, fqdn ? json_pack("{s:O}", "matchName", v)
							 : json_incref(v));
		if (fqdn)
			json_object_set_new(el, "toFQDNs", list);
		else {
			snprintf(key, sizeof(key), "%sCIDR", pre);
			json_object_set_new(el, key, list);
		}
	} else {
		json_decref(el);
		return NULL;
	}
	return el;
}

/* The elements of one direction, merging names with the same ports. */
static json_t *
rec_elements(struct rec *rc, struct adv_map *groups, int egress)
{
	size_t nk = 0;
	const char **keys = adv_map_keys(groups, &nk);
	struct adv_map merged;
	json_t *out = json_array();

	adv_map_init(&merged);
	for (size_t i = 0; i < nk; i++) {
		const struct rec_group *g = adv_map_get(groups, keys[i]);
		char mk[4096];
		size_t off;
		struct rec_group *m;

		if (strncmp(keys[i], "cidr:", 5) && strncmp(keys[i], "fqdn:", 5))
			continue;
		/* same kind and same ports: one element */
		off = (size_t)snprintf(mk, sizeof(mk), "%.5s%d|", keys[i], g->portless);
		for (size_t j = 0; j < g->npp && off < sizeof(mk); j++)
			off += (size_t)snprintf(mk + off, sizeof(mk) - off, "%x,", g->pp[j]);
		if ((m = rec_group_get(rc, &merged, mk)) == NULL)
			continue;
		if (m->names == NULL)
			m->names = json_array();
		json_array_append_new(m->names, json_string(keys[i] + 5));
		rec_group_merge(rc, m, g);
	}
	for (int pass = 0; pass < 2; pass++) {
		struct adv_map *src = pass == 0 ? groups : &merged;
		size_t n = 0;
		const char **ks = pass == 0 ? keys : adv_map_keys(&merged, &n);

		if (pass == 0)
			n = nk;
		for (size_t i = 0; i < n; i++) {
			const struct rec_group *g = adv_map_get(src, ks[i]);
			const char *extra;
			json_t *el, *icmp_el;
			char pk[8];

			if (pass == 0 && (!strncmp(ks[i], "cidr:", 5) || !strncmp(ks[i], "fqdn:", 5)))
				continue;
			snprintf(pk, sizeof(pk), "%.5s", ks[i]);
			if ((el = rec_peer_el(rc, pass == 0 ? ks[i] : pk, g, egress, &extra)) == NULL)
				continue;
			rec_ports(g, el, &icmp_el);
			rec_comment(rc, el, g, g->portless ? "a protocol without ports: every port"
							  : extra);
			json_array_append_new(out, el);
			if (icmp_el != NULL) {
				json_object_update_missing(icmp_el, el); /* the same peers */
				json_object_del(icmp_el, "toPorts");
				json_object_del(icmp_el, "#");
				json_object_del(icmp_el, "#flows");
				json_object_del(icmp_el, "#connections");
				json_array_append_new(out, icmp_el);
			}
		}
		if (pass == 1)
			free(ks);
	}
	free(keys);
	adv_map_clear(&merged, rec_group_free);
	return out;
}

static json_t *
rec_ns_selector(const struct rec *rc)
{
	json_t *vals = json_array();

	if (rc->nchosen == 1) {
		json_decref(vals);
		return adv_cnp_selector(rc->chosen[0], NULL);
	}
	for (size_t i = 0; i < rc->nchosen; i++)
		json_array_append_new(vals, json_string(rc->chosen[i]));
	return json_pack("{s:[{s:s,s:s,s:o}]}", "matchExpressions", "key",
			 "io.kubernetes.pod.namespace", "operator", "In", "values", vals);
}

static json_t *
rec_baseline(struct rec *rc)
{
	json_t *doc = json_object(), *specs = json_array(), *spec, *in, *out;
	char *buf = NULL, line[600];
	size_t len = 0;
	FILE *f;

	json_object_set_new(doc, "#", json_string(
		rc->fine ? "Baseline: default deny both ways in these namespaces and the services "
			   "most of them use; every workload's own rules follow"
			 : "Baseline: default deny both ways in these namespaces, everything "
			   "allowed within each namespace, and the services most of them use"));
	json_object_set_new(doc, "apiVersion", json_string("cilium.io/v2"));
	json_object_set_new(doc, "kind", json_string("CiliumClusterwideNetworkPolicy"));
	json_object_set_new(doc, "metadata", json_pack("{s:s}", "name", rc->conf->baseline_name));
	in = rec_elements(rc, &rc->shared_in, 0);
	out = rec_elements(rc, &rc->shared_out, 1);
	if ((f = open_memstream(&buf, &len)) != NULL) {
		fprintf(f, "default deny, ingress and egress, for every pod of ");
		for (size_t i = 0; i < rc->nchosen; i++)
			fprintf(f, "%s%s", i ? ", " : "", rc->chosen[i]);
		fprintf(f, "%s", json_array_size(in) + json_array_size(out) > 0
					 ? "; the services most of them use" : "");
		if (json_array_size(out) == 0)
			fprintf(f, "\nno DNS traffic was seen: add a DNS rule before using toFQDNs");
		fclose(f);
	}
	if (json_array_size(in) == 0)
		json_array_append_new(in, json_pack("{s:s}", "#", "nothing else: default deny"));
	if (json_array_size(out) == 0)
		json_array_append_new(out, json_pack("{s:s}", "#", "nothing else: default deny"));
	spec = json_pack("{s:s,s:o,s:o,s:o}", "#", buf != NULL ? buf : "", "endpointSelector",
			 rec_ns_selector(rc), "ingress", in, "egress", out);
	free(buf);
	json_array_append_new(specs, spec);
	for (size_t i = 0; !rc->fine && i < rc->nchosen; i++) {
		struct rec_ns *n = rec_ns_get(rc, rc->chosen[i]);
		json_t *el_in, *el_out;

		if (n == NULL)
			continue;
		el_in = json_pack("{s:[o]}", "fromEndpoints", adv_cnp_selector(rc->chosen[i], NULL));
		el_out = json_pack("{s:[o]}", "toEndpoints", adv_cnp_selector(rc->chosen[i], NULL));
		rec_comment(rc, el_in, &n->intra[0], NULL);
		rec_comment(rc, el_out, &n->intra[1], NULL);
		snprintf(line, sizeof(line), "everything within %s", rc->chosen[i]);
		json_array_append_new(specs, json_pack("{s:s,s:o,s:[o],s:[o]}", "#", line,
						       "endpointSelector",
						       adv_cnp_selector(rc->chosen[i], NULL),
						       "ingress", el_in, "egress", el_out));
	}
	json_object_set_new(doc, "specs", specs);
	return doc;
}

static json_t *
rec_ns_doc(struct rec *rc, const char *ns, struct rec_ns *n)
{
	size_t nk = 0;
	const char **subjects = adv_map_keys(&n->specs, &nk);
	json_t *specs = json_array(), *doc;
	char line[800];

	for (size_t i = 0; i < nk; i++) {
		struct rec_spec *s = adv_map_get(&n->specs, subjects[i]);
		json_t *spec = json_object(), *in, *out;
		const struct adv_wl *wl = *s->subject ? adv_world_find(rc->world, s->subject) : NULL;

		if (*s->subject == '\0')
			snprintf(line, sizeof(line), "every pod of %s: connections beyond its namespace",
				 ns);
		else if (wl == NULL || wl->labels == NULL)
			snprintf(line, sizeof(line), "%s%s (no label selects its pods alone: every pod of %s)",
				 s->subject, rc->fine ? "" : ": reached from beyond its namespace", ns);
		else
			snprintf(line, sizeof(line), "%s%s%s", s->subject,
				 rc->fine ? "" : ": reached from beyond its namespace",
				 wl->exact ? "" : " (its labels also select other pods)");
		json_object_set_new(spec, "#", json_string(line));
		json_object_set_new(spec, "endpointSelector",
				    wl != NULL && wl->labels != NULL
					    ? json_pack("{s:O}", "matchLabels", wl->labels)
					    : json_object());
		in = rec_elements(rc, &s->in, 0);
		out = rec_elements(rc, &s->out, 1);
		if (json_array_size(in))
			json_object_set(spec, "ingress", in);
		if (json_array_size(out))
			json_object_set(spec, "egress", out);
		json_decref(in);
		json_decref(out);
		json_array_append_new(specs, spec);
	}
	free(subjects);
	if (json_array_size(specs) == 0) {
		json_decref(specs);
		return NULL;
	}
	snprintf(line, sizeof(line), "%s: what it needs beyond the baseline", ns);
	doc = json_pack("{s:s,s:s,s:s,s:{s:s,s:s},s:o}", "#", line, "apiVersion", "cilium.io/v2",
			"kind", "CiliumNetworkPolicy", "metadata", "name", rc->conf->policy_name,
			"namespace", ns, "specs", specs);
	return doc;
}

/* "rules": each commented element, where it is. */
static json_t *
rec_rules(json_t *const *docs, size_t ndocs)
{
	json_t *rules = json_array();

	for (size_t d = 0; d < ndocs; d++) {
		json_t *md = json_object_get(docs[d], "metadata"), *specs = json_object_get(docs[d], "specs");
		const char *ns = json_string_value(json_object_get(md, "namespace"));
		char pol[600];
		size_t i;
		json_t *spec;

		snprintf(pol, sizeof(pol), "%s %s%s%s",
			 json_string_value(json_object_get(docs[d], "kind")), ns ? ns : "",
			 ns ? "/" : "", json_string_value(json_object_get(md, "name")));
		json_array_foreach(specs, i, spec)
			for (int dir = 0; dir < 2; dir++) {
				const char *dn = dir ? "egress" : "ingress";
				size_t j;
				json_t *el;

				json_array_foreach(json_object_get(spec, dn), j, el) {
					char where[64];

					if (json_object_get(el, "#flows") == NULL)
						continue;
					snprintf(where, sizeof(where), "specs[%zu].%s[%zu]", i, dn, j);
					json_array_append_new(rules, json_pack(
						"{s:s,s:s,s:O,s:O,s:O}", "policy", pol, "rule", where,
						"comment", json_object_get(el, "#"), "connections",
						json_object_get(el, "#connections"), "flows",
						json_object_get(el, "#flows")));
				}
			}
	}
	return rules;
}

/* ---- verification ------------------------------------------------------------------------- */

/* A connection the recommendation does not let through, with its result. */
struct rec_nc {
	const struct adv_row *r;
	struct bw_whatif_result res;
};

struct rec_vstate {
	const struct rec *rc;
	size_t allowed;
	struct rec_nc *v;
	size_t n, cap;
};

static int
rec_verify_one(void *arg, size_t k, const struct bw_whatif_result *res)
{
	struct rec_vstate *st = arg;

	if (res->checked && res->candidate.verdict == BW_FLOW_VERDICT_FORWARDED) {
		st->allowed++;
		return 0;
	}
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 256;
		struct rec_nc *v = realloc(st->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		st->v = v;
		st->cap = cap;
	}
	st->v[st->n].r = &st->rc->rows->v[st->rc->used[k]];
	st->v[st->n++].res = *res;
	return 0;
}

/* Most connections first, then by name: the list is cut at 200. */
static int
rec_nc_cmp(const void *pa, const void *pb)
{
	const struct rec_nc *a = pa, *b = pb;

	return adv_row_rank(a->r, adv_row_ok(a->r), b->r, adv_row_ok(b->r));
}

static int
rec_verify(struct rec *rc, const struct bw_core_api *api, bw_module_ctx *ctx, const char *yaml,
	   json_t *doc, char *err, size_t errlen)
{
	struct rec_vstate st = { rc, 0, NULL, 0, 0 };
	json_t *nc = json_array();
	bw_whatif *w;
	size_t unchecked = 0, denied = 0;
	uint64_t nc_conns = 0;
	char werr[1024];
	int rc2;

	werr[0] = '\0';
	w = api->whatif_new(ctx, yaml, strlen(yaml), "the recommendation", BW_WHATIF_REPLACE, werr,
			    sizeof(werr));
	if (w == NULL) {
		snprintf(err, errlen, "the recommended policies do not import: %s", werr);
		json_decref(nc);
		return -EIO;
	}
	/* the results' texts are the what-if's: w is freed after the last use */
	rc2 = adv_replay_each(api, w, rc->rows, rc->used, rc->nused, rec_verify_one, &st);
	if (rc2 < 0) {
		api->whatif_free(w);
		free(st.v);
		json_decref(nc);
		return rc2;
	}
	if (st.n > 1)
		qsort(st.v, st.n, sizeof(*st.v), rec_nc_cmp);
	for (size_t k = 0; k < st.n; k++) {
		const struct bw_whatif_result *res = &st.v[k].res;
		const struct adv_row *r = st.v[k].r;
		char why[1200];
		json_t *o;

		if (res->checked)
			denied++;
		else
			unchecked++;
		nc_conns += adv_row_ok(r);
		if (json_array_size(nc) < 200) {
			if (res->checked)
				adv_verdict_reason(&res->candidate, why, sizeof(why));
			else
				snprintf(why, sizeof(why), "not checked: %s", res->why);
			o = adv_conn_json(r, adv_row_ok(r), r->last_ok);
			json_object_set_new(o, "reason", json_string(why));
			json_array_append_new(nc, o);
		}
	}
	free(st.v);
	api->whatif_free(w);
	json_object_set_new(doc, "verification",
			    json_pack("{s:I,s:I,s:I,s:I,s:I}", "connections",
				      (json_int_t)rc->nused, "allowed", (json_int_t)st.allowed,
				      "denied", (json_int_t)denied, "not_checked",
				      (json_int_t)unchecked, "not_covered_connections",
				      (json_int_t)nc_conns));
	json_object_set_new(doc, "not_covered", nc);
	return 0;
}

/* ---- the verb ---------------------------------------------------------------------------- */

int
adv_recommend(const struct bw_core_api *api, bw_module_ctx *ctx, const struct adv_conf *conf,
	      const struct adv_world *world, struct adv_rows *rows,
	      const struct adv_recommend_opts *o, json_t **out, char *err, size_t errlen)
{
	struct rec rc = { 0 };
	json_t *docs[1 + 4096], *doc = NULL, *policies, *v;
	size_t ndocs = 0, nnk = 0;
	const char **nskeys = NULL;
	char *yaml = NULL, *header = NULL;
	size_t hlen = 0;
	FILE *hf;
	int ret = 0;

	*out = NULL;
	rc.conf = conf;
	rc.world = world;
	rc.rows = rows;
	rc.fine = o->fine;
	rc.topk = (size_t)(conf->comment_flows > 0 ? conf->comment_flows : 3);
	rc.notes = json_array();
	adv_map_init(&rc.nss);
	adv_map_init(&rc.shared_out);
	adv_map_init(&rc.shared_in);
	adv_pmap_init(&rc.counts);
	adv_pmap_init(&rc.peerkeys);
	adv_pmap_init(&rc.lookups);
	rc.all = adv_rows_intern(rows, "");
	if (o->nns > 0) {
		for (size_t i = 0; i < o->nns; i++)
			if (!adv_world_has_ns(world, o->namespaces[i])) {
				snprintf(err, errlen, "--namespace %s: no endpoint of that namespace is on "
					 "this node", o->namespaces[i]);
				ret = -EINVAL;
				goto out;
			}
		rc.chosen = calloc(o->nns, sizeof(*rc.chosen));
		for (size_t i = 0; rc.chosen != NULL && i < o->nns; i++) {
			size_t j;

			for (j = 0; j < rc.nchosen && strcmp(rc.chosen[j], o->namespaces[i]); j++)
				;
			if (j == rc.nchosen)
				rc.chosen[rc.nchosen++] = o->namespaces[i];
		}
	} else {
		rc.chosen = calloc(world->nns ? world->nns : 1, sizeof(*rc.chosen));
		for (size_t i = 0; rc.chosen != NULL && i < world->nns; i++)
			rc.chosen[rc.nchosen++] = world->namespaces[i];
	}
	if (rc.chosen == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 1; i < rc.nchosen; i++) /* sorted, for stable output */
		for (size_t j = i; j > 0 && strcmp(rc.chosen[j - 1], rc.chosen[j]) > 0; j--) {
			const char *t = rc.chosen[j];

			rc.chosen[j] = rc.chosen[j - 1];
			rc.chosen[j - 1] = t;
		}
	if (rc.nchosen == 0) {
		snprintf(err, errlen, "no endpoint is on this node: nothing to recommend for");
		ret = -EINVAL;
		goto out;
	}
	if ((rc.used = calloc(rows->n ? rows->n : 1, sizeof(*rc.used))) == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	/* the connections that worked, checked at a chosen namespace */
	for (size_t i = 0; i < rows->n; i++) {
		const struct adv_row *r = &rows->v[i];
		uint64_t sc = 0;
		const char *key, *pns;

		if (adv_row_ok(r) == 0 || !rec_chosen(&rc, rec_local_ns(r)))
			continue;
		rc.used[rc.nused++] = i;
		rc.used_conns += adv_row_ok(r);
		/* a service is shared when other namespaces than its own use it */
		pns = r->dir == BW_FLOW_TRAFFIC_INGRESS ? r->src_ns : r->dst_ns;
		if (pns != NULL && pns == rec_local_ns(r))
			continue;
		if ((key = rec_shared_key(&rc, r, &sc)) != NULL)
			rec_count(&rc, key, sc, rec_local_ns(r));
	}
	for (size_t i = 0; i < rc.nused; i++)
		rec_assign(&rc, rc.used[i]);
	if (rc.err) {
		ret = rc.err;
		goto out;
	}
	for (size_t i = 0; i < rc.nchosen; i++)
		rec_ns_get(&rc, rc.chosen[i]);
	rec_sort_strings(rc.notes);
	docs[ndocs++] = rec_baseline(&rc);
	nskeys = adv_map_keys(&rc.nss, &nnk);
	for (size_t i = 0; i < nnk && ndocs < sizeof(docs) / sizeof(*docs); i++) {
		json_t *d = rec_ns_doc(&rc, nskeys[i], adv_map_get(&rc.nss, nskeys[i]));

		if (d != NULL)
			docs[ndocs++] = d;
	}
	/* the header: what this is and how it was checked */
	if ((hf = open_memstream(&header, &hlen)) == NULL) {
		ret = -ENOMEM;
		goto out_docs;
	}
	fprintf(hf, "bulwark recommend --mode %s --since %s, namespaces:", o->fine ? "fine" : "coarse",
		o->since_text != NULL ? o->since_text : "?");
	for (size_t i = 0; i < rc.nchosen; i++)
		fprintf(hf, " %s", rc.chosen[i]);
	fprintf(hf, "\nfrom %" PRIu64 " connection%s seen (%zu distinct); apply with: "
		"bulwark policy replace FILE", rc.used_conns, rc.used_conns == 1 ? "" : "s",
		rc.nused);
	for (size_t i = 0; i < json_array_size(rc.notes); i++)
		fprintf(hf, "\nnote: %s", json_string_value(json_array_get(rc.notes, i)));
	fclose(hf);
	yaml = adv_yaml_dump(docs, ndocs, header);
	if (yaml == NULL) {
		ret = -ENOMEM;
		goto out_docs;
	}
	doc = json_object();
	json_object_set_new(doc, "mode", json_string(o->fine ? "fine" : "coarse"));
	v = json_array();
	for (size_t i = 0; i < rc.nchosen; i++)
		json_array_append_new(v, json_string(rc.chosen[i]));
	json_object_set_new(doc, "namespaces", v);
	if (api != NULL && (ret = rec_verify(&rc, api, ctx, yaml, doc, err, errlen)) < 0)
		goto out_docs;
	{
		/* the check's outcome in the YAML too */
		json_t *ver = json_object_get(doc, "verification");
		char *full = NULL;
		size_t flen = 0;
		FILE *ff = open_memstream(&full, &flen);

		if (ff != NULL) {
			fputs(header, ff);
			if (ver != NULL) {
				json_int_t n = json_integer_value(json_object_get(ver, "connections"));
				json_int_t ok = json_integer_value(json_object_get(ver, "allowed"));

				fprintf(ff, "\nchecked by replaying them through these policies: %lld of "
					"%lld stay allowed", (long long)ok, (long long)n);
				json_t *ncl = json_object_get(doc, "not_covered");

				for (size_t i = 0; i < json_array_size(ncl); i++) {
					v = json_array_get(ncl, i);
					fprintf(ff, "\nNOT COVERED: %s -> %s %s/%lld (%s): %s",
						json_string_value(json_object_get(v, "source")),
						json_string_value(json_object_get(v, "destination")),
						json_string_value(json_object_get(v, "protocol")),
						(long long)json_integer_value(json_object_get(v, "port")),
						json_string_value(json_object_get(v, "direction")),
						json_string_value(json_object_get(v, "reason")));
				}
			}
			fclose(ff);
			free(yaml);
			yaml = adv_yaml_dump(docs, ndocs, full);
			free(full);
		}
	}
	policies = json_array();
	for (size_t i = 0; i < ndocs; i++)
		json_array_append_new(policies, adv_strip_comments(docs[i]));
	json_object_set_new(doc, "yaml", json_string(yaml != NULL ? yaml : ""));
	json_object_set_new(doc, "policies", policies);
	json_object_set_new(doc, "rules", rec_rules(docs, ndocs));
	json_object_set_new(doc, "notes", json_incref(rc.notes));
	json_object_set_new(doc, "connections", json_integer((json_int_t)rc.used_conns));
	json_object_set_new(doc, "flows", json_integer((json_int_t)rc.nused));
	*out = doc;
	doc = NULL;
out_docs:
	for (size_t i = 0; i < ndocs; i++)
		json_decref(docs[i]);
	json_decref(doc);
out:
	free(nskeys);
	free(yaml);
	free(header);
	free(rc.used);
	free(rc.chosen);
	json_decref(rc.notes);
	adv_map_clear(&rc.nss, rec_ns_free);
	adv_map_clear(&rc.shared_out, rec_group_free);
	adv_map_clear(&rc.shared_in, rec_group_free);
	adv_pmap_clear(&rc.counts);
	adv_pmap_clear(&rc.peerkeys);
	adv_pmap_clear(&rc.lookups);
	return ret;
}
