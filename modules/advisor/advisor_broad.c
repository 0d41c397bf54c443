/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/advisor/advisor_broad.c - bulwark broad-rules: allow rules whose
 * allowed space far exceeds what they were used for, each with a tighter
 * replacement policy that keeps the use seen.
 *
 * Use is attributed by the core (bw_core_api.whatif_replay on the current
 * set: the entry that decided each connection that worked, read from the
 * resolved entries with the datapath's decision), never guessed from the
 * rule's text. An allow entry is broad when
 *
 *  - its peers are wide (any peer; the world, all, cluster; a CIDR of /16
 *    or wider, /48 for IPv6; every pod of a namespace) and it was used for
 *    at most broad_max_peers peers (for every pod of a namespace: fewer
 *    workloads than that namespace has here, or just one);
 *  - or its ports are wide (every port, or a range of 16 or more) and it was
 *    used on at most broad_max_ports ports.
 *
 * The suggestion is the whole policy written the Cilium way
 * (advisor_cnp.c) with that element replaced by elements that allow exactly
 * what was used on the wide side: the DNS names (toFQDNs) or addresses
 * (/32) of the outside peers, the workloads of the pods, the ports seen;
 * the narrow side is kept as it was. It is then checked: replayed through
 * the core's what-if with the suggestion imported, every connection the
 * entry allowed must stay allowed ("suggestion_checked").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/prefix.h"
#include "advisor.h"

#define BR_MAX_CHECKED 50  /* suggestions replayed per request */
#define BR_MAX_USED_BY 100 /* connections listed per rule */

struct br_use {
	const char *kind, *ns, *name; /* the what-if's strings (one set of them per policy) */
	int rule, entry, dir;
	size_t *rows;
	size_t n, cap;
};

static void
br_use_free(struct br_use *u)
{
	free(u->rows);
	free(u);
}

static const json_t *
br_find_policy(const json_t *pols, const char *kind, const char *ns, const char *name)
{
	size_t i;
	json_t *p;

	json_array_foreach((json_t *)pols, i, p)
		if (!strcmp(json_string_value(json_object_get(p, "kind")), kind) &&
		    !strcmp(json_string_value(json_object_get(p, "namespace")), ns) &&
		    !strcmp(json_string_value(json_object_get(p, "name")), name))
			return p;
	return NULL;
}

/* ---- what is wide ------------------------------------------------------------------- */

static int
br_ns_key(const char *k)
{
	if (!strncmp(k, "k8s:", 4) || !strncmp(k, "any:", 4))
		k += 4;
	return !strcmp(k, "io.kubernetes.pod.namespace") ||
	       !strncmp(k, "io.cilium.k8s.namespace.labels.", 31);
}

/* 1: a wide peer; *nswide set for "every pod of a namespace". */
static int
br_peer_wide(const json_t *peer, int *nswide, char *what, size_t len)
{
	const json_t *v;
	struct bw_prefix p;

	if ((v = json_object_get(peer, "entity")) != NULL) {
		const char *e = json_string_value(v);

		snprintf(what, len, "entity %s", e);
		return !strcmp(e, "world") || !strcmp(e, "all") || !strcmp(e, "world-ipv4") ||
		       !strcmp(e, "world-ipv6") || !strcmp(e, "cluster");
	}
	if ((v = json_object_get(peer, "cidr")) != NULL) {
		snprintf(what, len, "%s", json_string_value(v));
		if (bw_prefix_parse(json_string_value(v), 0, &p) < 0)
			return 0;
		return p.plen <= (p.family == 4 ? 16 : 48);
	}
	if ((v = json_object_get(peer, "fqdn")) != NULL) {
		const json_t *pat = json_object_get(v, "match_pattern");

		snprintf(what, len, "%s", json_string_value(pat ? pat : json_object_get(v, "match_name")));
		return pat != NULL && !strcmp(json_string_value(pat), "*");
	}
	if ((v = json_object_get(peer, "selector")) != NULL) {
		const json_t *ml = json_object_get(v, "match_labels"), *e, *val;
		const char *k;
		size_t i;
		int wide = 1, n = 0;

		json_object_foreach((json_t *)ml, k, val)
			if (!br_ns_key(k))
				wide = 0;
		json_array_foreach(json_object_get(v, "match_expressions"), i, e)
			if (!br_ns_key(json_string_value(json_object_get(e, "key"))))
				wide = 0;
		if (!wide) {
			snprintf(what, len, "pods");
			json_object_foreach((json_t *)ml, k, val)
				if (!br_ns_key(k) && n++ < 2)
					snprintf(what + strlen(what), len - strlen(what), "%s%s=%s",
						 n == 1 ? " " : ",", k, json_string_value(val));
			return 0;
		}
		val = NULL;
		json_object_foreach((json_t *)ml, k, val)
			if (!strcmp(k + (strchr(k, ':') ? (size_t)(strchr(k, ':') - k) + 1 : 0),
				    "io.kubernetes.pod.namespace"))
				break;
		if (val != NULL && json_is_string(val))
			snprintf(what, len, "every pod of namespace %s", json_string_value(val));
		else
			snprintf(what, len, "every pod of the namespaces selected");
		*nswide = 1;
		return 1;
	}
	snprintf(what, len, "?");
	return 0;
}

/* Every port, or a range of 16 or more. */
static int
br_ports_wide(const json_t *entry, char *what, size_t len)
{
	const json_t *ports = json_object_get(entry, "ports"), *p;
	size_t i, off = 0;
	int wide = 0;

	what[0] = '\0';
	if (ports == NULL && json_object_get(entry, "icmps") == NULL) {
		snprintf(what, len, "every port");
		return 1;
	}
	json_array_foreach((json_t *)ports, i, p) {
		json_int_t lo = json_integer_value(json_object_get(p, "port"));
		json_int_t hi = json_integer_value(json_object_get(p, "end_port"));
		const char *proto = json_string_value(json_object_get(p, "protocol"));
		const char *name = json_string_value(json_object_get(p, "name"));

		if (off >= len)
			break;
		if (name != NULL)
			off += (size_t)snprintf(what + off, len - off, "%s%s/%s", i ? ", " : "", proto,
						name);
		else if (lo == 0)
			off += (size_t)snprintf(what + off, len - off, "%s%s/every port",
						i ? ", " : "", proto);
		else if (hi > lo)
			off += (size_t)snprintf(what + off, len - off, "%s%s/%lld-%lld", i ? ", " : "",
						proto, (long long)lo, (long long)hi);
		else
			off += (size_t)snprintf(what + off, len - off, "%s%s/%lld", i ? ", " : "",
						proto, (long long)lo);
		if (name == NULL && (lo == 0 || (hi > lo && hi - lo + 1 >= 16)))
			wide = 1;
	}
	if (json_object_get(entry, "icmps") != NULL && off < len)
		snprintf(what + off, len - off, "%sICMP", off ? ", " : "");
	return wide;
}

/* ---- the tighter elements --------------------------------------------------------------- */

static int
br_is_address(const char *s)
{
	struct bw_prefix p;

	return bw_prefix_parse(s, 0, &p) == 0;
}

/* The element field a used peer goes to, and the value that names it. */
static const char *
br_peer_field(const struct adv_row *r, int egress, const struct adv_world *world, json_t **val)
{
	const char *name = egress ? r->dst : r->src;
	int kind = egress ? r->dst_kind : r->src_kind;

	*val = NULL;
	switch (kind) {
	case BW_HISTORY_PEER_POD: {
		const char *slash = strchr(name, '/');
		char ns[256];

		snprintf(ns, sizeof(ns), "%.*s", (int)(slash ? slash - name : 0), name);
		*val = adv_cnp_selector(ns, adv_world_find(world, name));
		return egress ? "toEndpoints" : "fromEndpoints";
	}
	case BW_HISTORY_PEER_HOST:
		*val = json_string("host");
		return egress ? "toEntities" : "fromEntities";
	case BW_HISTORY_PEER_RESERVED:
		*val = json_string(name);
		return egress ? "toEntities" : "fromEntities";
	default:
		if (br_is_address(name)) {
			*val = json_string(name);
			return egress ? "toCIDR" : "fromCIDR";
		}
		if (egress && strcmp(name, "world")) {
			*val = json_pack("{s:s}", "matchName", name);
			return "toFQDNs";
		}
		*val = json_string("world");
		return egress ? "toEntities" : "fromEntities";
	}
}

struct br_el {
	char *sig;       /* field + ports */
	json_t *el;
	uint32_t *pp;
	size_t npp, cap;
	uint64_t conns;
};

/*
 * The elements that replace entry: peers narrowed (when peers_wide) to the
 * used ones, ports narrowed (when ports_wide) to the used ones.
 */
static json_t *
br_tight(const struct adv_rows *rows, const struct br_use *u, const json_t *entry, int peers_wide,
	 int ports_wide, const struct adv_world *world, const char *ns)
{
	int egress = u->dir == BW_FLOW_TRAFFIC_EGRESS;
	json_t *orig = adv_cnp_entry(entry, egress, ns), *out = json_array();
	json_t *orig_ports = json_object_get(orig, "toPorts");
	json_t *orig_icmps = json_object_get(orig, "icmps");
	struct adv_map byfield;
	size_t nk = 0;
	const char **keys;

	if (!peers_wide) {
		/* the same peers, the ports seen */
		uint32_t *pp = NULL;
		size_t npp = 0, cap = 0;
		json_t *el = json_deep_copy(orig);

		for (size_t i = 0; i < u->n; i++)
			adv_pp_add(&pp, &npp, &cap, rows->v[u->rows[i]].proto, rows->v[u->rows[i]].port);
		json_object_del(el, "toPorts");
		json_object_del(el, "icmps");
		json_object_set_new(el, "toPorts", adv_cnp_toports(pp, npp));
		free(pp);
		json_array_append_new(out, el);
		json_decref(orig);
		return out;
	}
	adv_map_init(&byfield);
	/* one element per (field, ports): Cilium does not mix peer kinds in one */
	for (size_t i = 0; i < u->n; i++) {
		const struct adv_row *r = &rows->v[u->rows[i]];
		json_t *val;
		const char *field = br_peer_field(r, egress, world, &val);
		char sig[256];
		struct br_el *e;
		size_t j;
		json_t *list, *x;
		int dup = 0;

		if (ports_wide)
			snprintf(sig, sizeof(sig), "%s|%u/%u", field, r->proto, r->port);
		else
			snprintf(sig, sizeof(sig), "%s|", field);
		if ((e = adv_map_get(&byfield, sig)) == NULL) {
			if ((e = calloc(1, sizeof(*e))) == NULL || adv_map_put(&byfield, sig, e) < 0) {
				free(e);
				json_decref(val);
				continue;
			}
			e->el = json_object();
			json_object_set_new(e->el, field, json_array());
		}
		list = json_object_get(e->el, field);
		json_array_foreach(list, j, x)
			dup |= json_equal(x, val);
		if (!dup)
			json_array_append(list, val);
		json_decref(val);
		adv_pp_add(&e->pp, &e->npp, &e->cap, r->proto, r->port);
		e->conns += adv_row_ok(r);
	}
	keys = adv_map_keys(&byfield, &nk);
	for (size_t i = 0; i < nk; i++) {
		struct br_el *e = adv_map_get(&byfield, keys[i]);

		if (ports_wide)
			json_object_set_new(e->el, "toPorts", adv_cnp_toports(e->pp, e->npp));
		else if (orig_ports != NULL)
			json_object_set(e->el, "toPorts", orig_ports);
		else if (orig_icmps != NULL)
			json_object_set(e->el, "icmps", orig_icmps);
		json_array_append(out, e->el);
	}
	for (size_t i = 0; i < nk; i++) {
		struct br_el *e = adv_map_get(&byfield, keys[i]);

		json_decref(e->el);
		free(e->pp);
		free(e);
	}
	free(keys);
	adv_map_clear(&byfield, NULL);
	json_decref(orig);
	return out;
}

/* ---- checking a suggestion ------------------------------------------------------------------ */

static int
br_check(const struct bw_core_api *api, const struct adv_rows *rows, const struct br_use *u,
	 const char *yaml, char *why, size_t len)
{
	struct bw_whatif_result *res = NULL;
	char err[1024];
	bw_whatif *w;
	int ok = 1;

	err[0] = '\0';
	w = api->whatif_new(NULL, yaml, strlen(yaml), "the suggestion", 0, err, sizeof(err));
	if (w == NULL) {
		snprintf(why, len, "the suggestion does not import: %s", err);
		return 0;
	}
	if (adv_replay(api, w, rows, u->rows, u->n, &res) < 0) {
		api->whatif_free(w);
		snprintf(why, len, "out of memory");
		return 0;
	}
	for (size_t i = 0; i < u->n && ok; i++)
		if (!res[i].checked || res[i].candidate.verdict != BW_FLOW_VERDICT_FORWARDED) {
			const struct adv_row *r = &rows->v[u->rows[i]];
			char reason[800];

			if (res[i].checked)
				adv_verdict_reason(&res[i].candidate, reason, sizeof(reason));
			else
				snprintf(reason, sizeof(reason), "not checked: %s", res[i].why);
			snprintf(why, len, "%s -> %s port %u: %s", r->src, r->dst, r->port, reason);
			ok = 0;
		}
	free(res);
	api->whatif_free(w);
	return ok;
}

/* ---- the verb ------------------------------------------------------------------------------- */

static int
br_use_cmp(const void *pa, const void *pb)
{
	const struct br_use *a = *(const struct br_use *const *)pa;
	const struct br_use *b = *(const struct br_use *const *)pb;
	int c = strcmp(a->kind, b->kind);

	if (c == 0)
		c = strcmp(a->ns, b->ns);
	if (c == 0)
		c = strcmp(a->name, b->name);
	if (c == 0)
		c = a->rule - b->rule;
	if (c == 0)
		c = a->dir - b->dir;
	return c ? c : a->entry - b->entry;
}

static const struct adv_rows *br_rows_for_sort;

static int
br_row_cmp(const void *pa, const void *pb)
{
	const struct adv_row *a = &br_rows_for_sort->v[*(const size_t *)pa];
	const struct adv_row *b = &br_rows_for_sort->v[*(const size_t *)pb];

	return adv_row_rank(a, adv_row_ok(a), b, adv_row_ok(b));
}

static json_t *
br_finding(const struct bw_core_api *api, const struct adv_conf *conf,
	   const struct adv_world *world, const struct adv_rows *rows, struct br_use *u,
	   const json_t *pol, int *checked_budget)
{
	int egress = u->dir == BW_FLOW_TRAFFIC_EGRESS;
	const char *dname = egress ? "egress" : "ingress";
	const json_t *rules = json_object_get(pol, "rules");
	const json_t *entry = json_array_get(json_object_get(json_array_get(rules, (size_t)u->rule),
							     dname), (size_t)u->entry);
	const json_t *peers = json_object_get(entry, "peers"), *p;
	struct adv_map peerset, wlset;
	char allowed[1024], pw[512], portw[512], where[64], reason[1024], why[1024], note[512];
	int peers_wide = 0, nswide = 0, ports_wide, ok;
	size_t i, off = 0, npeers, nports = 0;
	uint32_t *pp = NULL;
	size_t npp = 0, cap = 0;
	json_t *finding, *used_by, *reasons, *cnp, *spec, *list, *tight, *el;
	char *yaml;
	uint64_t conns = 0;

	if (entry == NULL || json_is_true(json_object_get(entry, "deny")))
		return NULL;
	/* the use, most connections first: the order of everything below */
	br_rows_for_sort = rows;
	qsort(u->rows, u->n, sizeof(*u->rows), br_row_cmp);
	/* what it allows */
	if (peers == NULL) {
		peers_wide = 1;
		off += (size_t)snprintf(allowed, sizeof(allowed), "any peer");
	}
	json_array_foreach((json_t *)peers, i, p) {
		int w = br_peer_wide(p, &nswide, pw, sizeof(pw));

		peers_wide |= w;
		if (off < sizeof(allowed))
			off += (size_t)snprintf(allowed + off, sizeof(allowed) - off, "%s%s",
						i ? ", " : "", pw);
	}
	ports_wide = br_ports_wide(entry, portw, sizeof(portw));
	if (off < sizeof(allowed))
		snprintf(allowed + off, sizeof(allowed) - off, " on %s", portw);
	/* what it was used for */
	adv_map_init(&peerset);
	adv_map_init(&wlset);
	for (i = 0; i < u->n; i++) {
		const struct adv_row *r = &rows->v[u->rows[i]];
		const char *peer = egress ? r->dst : r->src;

		adv_map_put(&peerset, peer, (void *)1);
		if ((egress ? r->dst_kind : r->src_kind) == BW_HISTORY_PEER_POD)
			adv_map_put(&wlset, peer, (void *)1);
		if (r->proto == 6 || r->proto == 17 || r->proto == 132)
			adv_pp_add(&pp, &npp, &cap, r->proto, r->port);
		conns += adv_row_ok(r);
	}
	npeers = peerset.n;
	nports = npp;
	free(pp);
	reasons = json_array();
	if (peers_wide && npeers <= (size_t)conf->broad_max_peers) {
		int flag = 1;

		if (nswide && wlset.n == npeers && npeers > 1) {
			/* every pod of a namespace: broad when fewer workloads used it than it has */
			size_t nk = 0, have = 0;
			const char **ks = adv_map_keys(&wlset, &nk);
			char ns[256];
			const char *slash = nk ? strchr(ks[0], '/') : NULL;

			snprintf(ns, sizeof(ns), "%.*s", (int)(slash ? slash - ks[0] : 0),
				 nk ? ks[0] : "");
			have = adv_world_ns_workloads(world, ns);
			flag = have == 0 || nk < have;
			free(ks);
		}
		if (flag) {
			snprintf(reason, sizeof(reason), "allows %s, used for %zu peer%s", allowed,
				 npeers, npeers == 1 ? "" : "s");
			json_array_append_new(reasons, json_string(reason));
		} else {
			peers_wide = 0;
		}
	} else {
		peers_wide = 0;
	}
	if (ports_wide && nports > 0 && nports <= (size_t)conf->broad_max_ports) {
		snprintf(reason, sizeof(reason), "allows %s, used on %zu port%s", portw, nports,
			 nports == 1 ? "" : "s");
		json_array_append_new(reasons, json_string(reason));
	} else {
		ports_wide = 0;
	}
	adv_map_clear(&peerset, NULL);
	adv_map_clear(&wlset, NULL);
	if (!peers_wide && !ports_wide) {
		json_decref(reasons);
		return NULL;
	}
	/* the suggestion: the policy with that element replaced */
	cnp = adv_cnp_from_canonical(pol, note, sizeof(note));
	spec = json_object_get(cnp, "spec");
	if (spec == NULL)
		spec = json_array_get(json_object_get(cnp, "specs"), (size_t)u->rule);
	list = json_object_get(spec, dname);
	tight = br_tight(rows, u, entry, peers_wide, ports_wide, world, u->ns);
	json_array_remove(list, (size_t)u->entry);
	json_array_foreach(tight, i, el) {
		snprintf(why, sizeof(why), "was: %s", allowed);
		if (i == 0)
			json_object_set_new(el, "#", json_string(why));
		json_array_insert(list, (size_t)u->entry + i, el);
	}
	json_decref(tight);
	{
		char head[2048];

		snprintf(head, sizeof(head), "tighter replacement for %s %s%s%s: %s%s%s%s", u->kind,
			 u->ns, *u->ns ? "/" : "", u->name, json_string_value(json_array_get(reasons, 0)),
			 !strcmp(u->kind, "NetworkPolicy")
				 ? "\nthis CiliumNetworkPolicy replaces the NetworkPolicy of the same "
				   "name: import it, then delete that one"
				 : "",
			 note[0] ? "\nnote: " : "", note);
		json_object_set_new(cnp, "#", json_string(head));
	}
	yaml = adv_yaml_dump(&cnp, 1, NULL);
	json_decref(cnp);
	if (json_array_size(rules) > 1)
		snprintf(where, sizeof(where), "specs[%d].%s[%d]", u->rule, dname, u->entry);
	else
		snprintf(where, sizeof(where), "%s[%d]", dname, u->entry);
	used_by = json_array();
	for (i = 0; i < u->n && i < BR_MAX_USED_BY; i++) {
		const struct adv_row *r = &rows->v[u->rows[i]];

		json_array_append_new(used_by, adv_conn_json(r, adv_row_ok(r), r->last_ok));
	}
	snprintf(reason, sizeof(reason), "%s%s%s", u->ns, *u->ns ? "/" : "", u->name);
	finding = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:I,s:s}", "policy", reason, "kind", u->kind,
			    "rule", where, "allowed", allowed, "reasons", reasons, "used_by", used_by,
			    "connections", (json_int_t)conns, "suggestion", yaml != NULL ? yaml : "");
	why[0] = '\0';
	if (api != NULL && yaml != NULL && strcmp(u->kind, "NetworkPolicy") && *checked_budget > 0) {
		(*checked_budget)--;
		ok = br_check(api, rows, u, yaml, why, sizeof(why));
		json_object_set_new(finding, "suggestion_checked", json_boolean(ok));
		if (!ok)
			json_object_set_new(finding, "suggestion_problem", json_string(why));
	}
	free(yaml);
	return finding;
}

int
adv_broad(const struct bw_core_api *api, const struct adv_conf *conf,
	  const struct adv_world *world, struct adv_rows *rows, json_t **out, char *err,
	  size_t errlen)
{
	struct bw_whatif_result *res = NULL;
	size_t *used = NULL, nused = 0, nk = 0, capk = 0;
	struct adv_pmap uses;
	struct br_use **v = NULL;
	json_t *exported = NULL, *pols, *findings = json_array();
	json_error_t jerr;
	char *text = NULL;
	bw_whatif *w = NULL;
	int rc, budget = BR_MAX_CHECKED;

	*out = NULL;
	adv_pmap_init(&uses);
	if ((rc = api->policy_export(&text)) < 0)
		goto out;
	if ((exported = json_loads(text, 0, &jerr)) == NULL) {
		snprintf(err, errlen, "cannot read the policies: %s", jerr.text);
		rc = -EIO;
		goto out;
	}
	pols = json_object_get(exported, "policies");
	if ((used = calloc(rows->n ? rows->n : 1, sizeof(*used))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < rows->n; i++)
		if (adv_row_ok(&rows->v[i]) > 0)
			used[nused++] = i;
	if ((w = api->whatif_new(NULL, NULL, 0, NULL, 0, err, errlen)) == NULL) {
		rc = -errno;
		goto out;
	}
	if ((rc = adv_replay(api, w, rows, used, nused, &res)) < 0)
		goto out;
	/* the entry behind each connection that worked */
	for (size_t i = 0; i < nused; i++) {
		const struct bw_whatif_verdict *cv = &res[i].current;
		/* the what-if's strings are one set per policy: its name's address names it */
		uint64_t c;
		struct br_use *u;

		if (!res[i].checked || cv->verdict != BW_FLOW_VERDICT_FORWARDED || cv->kind == NULL ||
		    cv->deny || cv->rule_index < 0 || cv->entry_index < 0)
			continue;
		c = (uint64_t)(uint32_t)cv->rule_index << 40 | (uint64_t)(uint32_t)cv->entry_index << 8 |
		    rows->v[used[i]].dir;
		if ((u = adv_pmap_get(&uses, cv->name, cv->kind, c)) == NULL) {
			if (nk == capk) {
				size_t nc = capk ? capk * 2 : 16;
				struct br_use **nv = realloc(v, nc * sizeof(*nv));

				if (nv == NULL) {
					rc = -ENOMEM;
					goto out;
				}
				v = nv;
				capk = nc;
			}
			if ((u = calloc(1, sizeof(*u))) == NULL ||
			    adv_pmap_put(&uses, cv->name, cv->kind, c, u) < 0) {
				free(u);
				rc = -ENOMEM;
				goto out;
			}
			v[nk++] = u;
			/* the what-if's strings live until it is freed: after the findings */
			u->kind = cv->kind;
			u->ns = cv->ns;
			u->name = cv->name;
			u->rule = cv->rule_index;
			u->entry = cv->entry_index;
			u->dir = rows->v[used[i]].dir;
		}
		if (u->n == u->cap) {
			size_t nc = u->cap ? u->cap * 2 : 8;
			size_t *nv = realloc(u->rows, nc * sizeof(*nv));

			if (nv == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			u->rows = nv;
			u->cap = nc;
		}
		u->rows[u->n++] = used[i];
	}
	qsort(v, nk, sizeof(*v), br_use_cmp);
	for (size_t i = 0; i < nk; i++) {
		const json_t *pol = br_find_policy(pols, v[i]->kind, v[i]->ns, v[i]->name);
		json_t *f;

		if (pol == NULL || json_is_true(json_object_get(pol, "staged")))
			continue;
		if ((f = br_finding(api, conf, world, rows, v[i], pol, &budget)) != NULL)
			json_array_append_new(findings, f);
	}
	*out = json_pack("{s:o,s:I}", "rules", findings, "connections_checked", (json_int_t)nused);
	findings = NULL;
	rc = 0;
out:
	json_decref(findings);
	json_decref(exported);
	free(text);
	free(res);
	free(used);
	for (size_t i = 0; i < nk; i++)
		br_use_free(v[i]);
	free(v);
	adv_pmap_clear(&uses);
	if (w != NULL)
		api->whatif_free(w);
	return rc;
}
