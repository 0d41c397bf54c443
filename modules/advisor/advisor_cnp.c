/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/advisor/advisor_cnp.c - writing Cilium policy documents: the
 * pieces the recommendation is built of (selectors, toPorts), and a
 * canonical policy (docs/rule-model.md, as bw_core_api.policy_export gives
 * it) written back as a CiliumNetworkPolicy or
 * CiliumClusterwideNetworkPolicy, which broad-rules edits into its
 * suggestions.
 *
 * The way back follows what the shipped formats emit (rule-model.md, "What
 * the shipped formats emit"): one ENTRY per element, a CNP's ingress
 * entries then its ingressDeny ones, keys with their source prefix
 * ("any:" written without one). A NetworkPolicy becomes a
 * CiliumNetworkPolicy of the same name and namespace; an ipBlock that
 * also matched pods' own addresses (match_endpoints) has no Cilium
 * spelling, which the note says.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advisor.h"

#define CNP_NS_KEY "io.kubernetes.pod.namespace"
#define CNP_MAX_PORTS 40 /* Cilium's limit per toPorts item */

int
adv_pp_add(uint32_t **v, size_t *n, size_t *cap, uint8_t proto, uint16_t port)
{
	uint32_t x = (uint32_t)proto << 16 | port;
	size_t lo = 0, hi = *n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if ((*v)[mid] == x)
			return 0;
		if ((*v)[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		uint32_t *nv = realloc(*v, nc * sizeof(*nv));

		if (nv == NULL)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	memmove(&(*v)[lo + 1], &(*v)[lo], (*n - lo) * sizeof(**v));
	(*v)[lo] = x;
	(*n)++;
	return 0;
}

json_t *
adv_cnp_selector(const char *ns, const struct adv_wl *wl)
{
	json_t *ml = json_object();

	if (ns != NULL)
		json_object_set_new(ml, CNP_NS_KEY, json_string(ns));
	if (wl != NULL && wl->labels != NULL)
		json_object_update(ml, wl->labels);
	return json_pack("{s:o}", "matchLabels", ml);
}

json_t *
adv_cnp_toports(const uint32_t *pp, size_t n)
{
	json_t *items = json_array(), *ports = NULL;
	char pb[16], port[8];

	for (size_t i = 0; i < n; i++) {
		unsigned proto = pp[i] >> 16;

		if (proto != 6 && proto != 17 && proto != 132)
			continue;
		if (ports == NULL || json_array_size(ports) == CNP_MAX_PORTS) {
			ports = json_array();
			json_array_append_new(items, json_pack("{s:o}", "ports", ports));
		}
		snprintf(port, sizeof(port), "%u", pp[i] & 0xffff);
		json_array_append_new(ports, json_pack("{s:s,s:s}", "port", port, "protocol",
						       adv_proto_name(proto, pb, sizeof(pb))));
	}
	return items;
}

/* ---- canonical -> Cilium ----------------------------------------------------------------- */

/* A canonical key as written in a Cilium selector ("any:" has no prefix). */
static const char *
cnp_key(const char *k)
{
	return !strncmp(k, "any:", 4) ? k + 4 : k;
}

static json_t *
cnp_sel(const json_t *sel, int drop_ns)
{
	json_t *out = json_object(), *ml = json_object(), *me = json_array(), *v;
	const char *k;
	size_t i;

	json_object_foreach(json_object_get(sel, "match_labels"), k, v) {
		const char *ck = cnp_key(k), *bare = !strncmp(ck, "k8s:", 4) ? ck + 4 : ck;

		if (drop_ns && !strcmp(bare, CNP_NS_KEY))
			continue;
		json_object_set(ml, cnp_key(k), v);
	}
	json_array_foreach(json_object_get(sel, "match_expressions"), i, v) {
		json_t *e = json_pack("{s:s,s:O}", "key",
				      cnp_key(json_string_value(json_object_get(v, "key"))),
				      "operator", json_object_get(v, "operator"));

		if (json_object_get(v, "values") != NULL)
			json_object_set(e, "values", json_object_get(v, "values"));
		json_array_append_new(me, e);
	}
	if (json_object_size(ml) > 0)
		json_object_set(out, "matchLabels", ml);
	if (json_array_size(me) > 0)
		json_object_set(out, "matchExpressions", me);
	json_decref(ml);
	json_decref(me);
	return out;
}

static json_t *
cnp_port(const json_t *p)
{
	json_t *o = json_object();
	const char *name = json_string_value(json_object_get(p, "name"));
	json_int_t port = json_integer_value(json_object_get(p, "port"));
	json_int_t end = json_integer_value(json_object_get(p, "end_port"));
	char buf[16];

	if (name != NULL) {
		json_object_set_new(o, "port", json_string(name));
	} else {
		snprintf(buf, sizeof(buf), "%lld", (long long)port);
		json_object_set_new(o, "port", json_string(buf));
		if (end > port)
			json_object_set_new(o, "endPort", json_integer(end));
	}
	json_object_set(o, "protocol", json_object_get(p, "protocol"));
	return o;
}

static json_t *
cnp_toports(const json_t *ports)
{
	json_t *items = json_array(), *plain = NULL, *p;
	size_t i;

	json_array_foreach((json_t *)ports, i, p) {
		json_t *rules = json_object_get(p, "rules");

		if (rules != NULL) {
			json_array_append_new(items, json_pack("{s:[o],s:O}", "ports", cnp_port(p),
							       "rules", rules));
			continue;
		}
		if (plain == NULL || json_array_size(plain) == CNP_MAX_PORTS) {
			plain = json_array();
			json_array_append_new(items, json_pack("{s:o}", "ports", plain));
		}
		json_array_append_new(plain, cnp_port(p));
	}
	return items;
}

json_t *
adv_cnp_entry(const json_t *entry, int egress, const char *ns)
{
	const json_t *peers = json_object_get(entry, "peers");
	const json_t *ports = json_object_get(entry, "ports");
	const json_t *icmps = json_object_get(entry, "icmps");
	json_t *el = json_object(), *eps = json_array(), *ents = json_array(), *cidrs = json_array();
	json_t *fqdns = json_array(), *p;
	const char *pre = egress ? "to" : "from";
	char key[32];
	size_t i;

	json_array_foreach((json_t *)peers, i, p) {
		json_t *v;

		if ((v = json_object_get(p, "selector")) != NULL) {
			json_array_append_new(eps, cnp_sel(v, 0));
		} else if ((v = json_object_get(p, "entity")) != NULL) {
			json_array_append(ents, v);
		} else if ((v = json_object_get(p, "cidr")) != NULL) {
			json_t *c = json_pack("{s:O}", "cidr", v);

			if (json_object_get(p, "except") != NULL)
				json_object_set(c, "except", json_object_get(p, "except"));
			json_array_append_new(cidrs, c);
		} else if ((v = json_object_get(p, "fqdn")) != NULL) {
			json_t *mn = json_object_get(v, "match_name");

			json_array_append_new(fqdns, json_pack("{s:O}", mn ? "matchName" : "matchPattern",
							       mn ? mn : json_object_get(v, "match_pattern")));
		}
	}
	(void)ns;
	if (json_array_size(eps)) {
		snprintf(key, sizeof(key), "%sEndpoints", pre);
		json_object_set(el, key, eps);
	}
	if (json_array_size(ents)) {
		snprintf(key, sizeof(key), "%sEntities", pre);
		json_object_set(el, key, ents);
	}
	if (json_array_size(cidrs)) {
		snprintf(key, sizeof(key), "%sCIDRSet", pre);
		json_object_set(el, key, cidrs);
	}
	if (json_array_size(fqdns))
		json_object_set(el, "toFQDNs", fqdns);
	if (peers == NULL && ports == NULL && icmps == NULL) {
		/* any peer, any port */
		snprintf(key, sizeof(key), "%sEntities", pre);
		json_object_set_new(el, key, json_pack("[s]", "all"));
	}
	if (json_array_size(ports) > 0)
		json_object_set_new(el, "toPorts", cnp_toports(ports));
	if (json_array_size(icmps) > 0) {
		json_t *fields = json_array(), *ic;

		json_array_foreach((json_t *)icmps, i, ic)
			json_array_append_new(fields, json_pack("{s:I,s:s}", "type",
				json_integer_value(json_object_get(ic, "type")), "family",
				json_integer_value(json_object_get(ic, "family")) == 6 ? "IPv6" : "IPv4"));
		json_object_set_new(el, "icmps", json_pack("[{s:o}]", "fields", fields));
	}
	json_decref(eps);
	json_decref(ents);
	json_decref(cidrs);
	json_decref(fqdns);
	return el;
}

static int
cnp_has_match_endpoints(const json_t *entry)
{
	const json_t *p;
	size_t i;

	json_array_foreach(json_object_get(entry, "peers"), i, p)
		if (json_is_true(json_object_get(p, "match_endpoints")))
			return 1;
	return 0;
}

json_t *
adv_cnp_from_canonical(const json_t *pol, char *note, size_t notelen)
{
	const char *kind = json_string_value(json_object_get(pol, "kind"));
	const char *ns = json_string_value(json_object_get(pol, "namespace"));
	const char *name = json_string_value(json_object_get(pol, "name"));
	int cluster = ns == NULL || *ns == '\0';
	json_t *doc = json_object(), *specs = json_array(), *rule;
	size_t i, notes = 0;

	if (note != NULL && notelen)
		note[0] = '\0';
	json_object_set_new(doc, "apiVersion", json_string("cilium.io/v2"));
	json_object_set_new(doc, "kind", json_string(cluster ? "CiliumClusterwideNetworkPolicy"
							    : "CiliumNetworkPolicy"));
	json_object_set_new(doc, "metadata",
			    cluster ? json_pack("{s:s}", "name", name)
				    : json_pack("{s:s,s:s}", "name", name, "namespace", ns));
	json_array_foreach(json_object_get(pol, "rules"), i, rule) {
		json_t *spec = json_object(), *dd = json_object_get(rule, "default_deny");
		static const char *const dirs[] = { "ingress", "egress" };

		json_object_set_new(spec, "endpointSelector",
				    cnp_sel(json_object_get(rule, "subject"), !cluster));
		for (int d = 0; d < 2; d++) {
			json_t *allow = json_array(), *deny = json_array(), *en;
			size_t j;
			char dkey[32];
			int want_dd = json_is_true(json_object_get(dd, dirs[d]));

			json_array_foreach(json_object_get(rule, dirs[d]), j, en) {
				if (cnp_has_match_endpoints(en) && note != NULL && notes++ == 0)
					snprintf(note, notelen,
						 "an ipBlock of %s %s%s%s also matched pods by address; "
						 "a Cilium CIDR rule does not",
						 kind, cluster ? "" : ns, cluster ? "" : "/", name);
				json_array_append_new(json_is_true(json_object_get(en, "deny")) ? deny
												 : allow,
						      adv_cnp_entry(en, d == 1, cluster ? NULL : ns));
			}
			if (want_dd && json_array_size(allow) == 0 && json_array_size(deny) == 0)
				json_array_append_new(allow, json_object()); /* default deny only */
			if (json_array_size(allow))
				json_object_set(spec, dirs[d], allow);
			snprintf(dkey, sizeof(dkey), "%sDeny", dirs[d]);
			if (json_array_size(deny))
				json_object_set(spec, dkey, deny);
			if (!want_dd && (json_array_size(allow) || json_array_size(deny))) {
				json_t *edd = json_object_get(spec, "enableDefaultDeny");

				if (edd == NULL)
					json_object_set_new(spec, "enableDefaultDeny", edd = json_object());
				json_object_set_new(edd, dirs[d], json_false());
			}
			json_decref(allow);
			json_decref(deny);
		}
		if (json_object_get(rule, "log") != NULL)
			json_object_set_new(spec, "log", json_pack("{s:O}", "value",
								   json_object_get(rule, "log")));
		json_array_append_new(specs, spec);
	}
	if (json_array_size(specs) == 1)
		json_object_set(doc, "spec", json_array_get(specs, 0));
	else
		json_object_set(doc, "specs", specs);
	json_decref(specs);
	return doc;
}
