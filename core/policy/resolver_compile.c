/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/resolver_compile.c - canonical rules (docs/rule-model.md) to the
 * resolver's compiled form.
 *
 * Compilation has no side effects: it parses selectors, checks entities,
 * CIDRs and ports, and computes each peer's selector cache key. Everything
 * that can be wrong with a policy is found here, so that the repository can
 * refuse a whole import before it changes anything. Messages name the field
 * by its path below the policy object, e.g.
 *   rules[0].ingress[1].peers[0].cidr: "10.0.0.0/33" is not a valid CIDR
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/bw_datapath.h"
#include "core/policy/resolver.h"
#include "core/policy/resolver_int.h"
#include "core/node/selector.h"
#include "lib/errbuf.h"
#include "lib/prefix.h"
#include "lib/fqdnmatch.h"

static void rc_entry_free(struct bw_rv_ruleentry *en)
{
	for (size_t k = 0; k < en->npeers; k++) {
		bw_selector_free(en->peers[k].sel);
		free(en->peers[k].key);
		free(en->peers[k].except);
		free(en->peers[k].fqdn);
	}
	free(en->peers);
	for (size_t k = 0; k < en->nports; k++) {
		free(en->ports[k].name);
		free(en->ports[k].l7proto);
		free(en->ports[k].l7rules);
	}
	free(en->ports);
	free(en->icmps);
}

void bw_rv_policy_free(struct bw_rv_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nrules; i++) {
		struct bw_rv_rule *ru = &p->rules[i];

		bw_selector_free(ru->subject_sel);
		free(ru->subject_key);
		free(ru->subject_ep);
		for (int d = 1; d <= 2; d++) {
			for (size_t j = 0; j < ru->nentries[d]; j++)
				rc_entry_free(&ru->entries[d][j]);
			free(ru->entries[d]);
		}
		free(ru->log);
		free(ru->text);
	}
	free(p->rules);
	free(p->cidr_ids);
	free(p);
}

static char *rc_strcat3(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = malloc(la + lb + lc + 1);

	if (!s)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

static int rc_prefix_cmp(const void *pa, const void *pb)
{
	const struct bw_rv_prefix *a = pa, *b = pb;

	if (a->family != b->family)
		return a->family - b->family;
	if (a->plen != b->plen)
		return a->plen - b->plen;
	return memcmp(a->addr, b->addr, 16);
}

/*
 * {"fqdn": {"match_name": "api.example.com"}} or {"fqdn": {"match_pattern":
 * "*.example.com"}}: identities labelled fqdn:<canonical text>, which the
 * FQDN identities of the core (core/node/fqdn.c) carry for the addresses
 * DNS gave for the names the selector matches.
 */
static int rc_fqdn_peer(const json_t *f, const char *path, struct bw_rv_peerdef *pd,
			char *err, size_t errlen)
{
	const json_t *mn = json_object_get(f, "match_name");
	const json_t *mp = json_object_get(f, "match_pattern");
	enum bw_fqdn_kind kind = mn ? BW_FQDN_MATCH_NAME : BW_FQDN_MATCH_PATTERN;
	const char *field = mn ? "match_name" : "match_pattern";
	char canon[BW_FQDN_SELECTOR_MAX + 1], why[256];
	const char *text;

	if (!json_is_object(f) || !!mn + !!mp != 1)
		return bw_errbuf_set(err, errlen,
			      "%s.fqdn: must be an object with exactly one of match_name, match_pattern",
			      path);
	text = json_string_value(mn ? mn : mp);
	if (!text)
		return bw_errbuf_set(err, errlen, "%s.fqdn.%s: must be a string", path, field);
	if (bw_fqdn_selector_check(kind, text, why, sizeof(why)) < 0 ||
	    bw_fqdn_selector_canonical(kind, text, canon, sizeof(canon)) < 0)
		return bw_errbuf_set(err, errlen, "%s.fqdn.%s: %s", path, field, why);
	pd->type = BW_RV_PEER_FQDN;
	pd->fqdn = strdup(canon);
	pd->key = rc_strcat3("fqdn:", canon, "");
	return pd->fqdn && pd->key ? 0 : -ENOMEM;
}

static int rc_peer(const json_t *obj, const char *path, struct bw_rv_peerdef *pd,
		   char *err, size_t errlen)
{
	const json_t *sel = json_object_get(obj, "selector");
	const json_t *ent = json_object_get(obj, "entity");
	const json_t *cidr = json_object_get(obj, "cidr");
	const json_t *fqdn = json_object_get(obj, "fqdn");
	char sub[320];
	int n = !!sel + !!ent + !!cidr + !!fqdn;

	if (!json_is_object(obj))
		return bw_errbuf_set(err, errlen, "%s: must be an object", path);
	if (n != 1)
		return bw_errbuf_set(err, errlen,
				     "%s: must have exactly one of selector, entity, cidr, fqdn",
				     path);
	if (fqdn)
		return rc_fqdn_peer(fqdn, path, pd, err, errlen);
	if (sel) {
		snprintf(sub, sizeof(sub), "%s.selector", path);
		pd->type = BW_RV_PEER_SEL;
		pd->sel = bw_selector_parse(sel, sub, err, errlen);
		if (!pd->sel)
			return errno == ENOMEM ? -ENOMEM : -EINVAL;
		pd->key = rc_strcat3("sel:", bw_selector_to_string(pd->sel), "");
		return pd->key ? 0 : -ENOMEM;
	}
	if (ent) {
		const char *name = json_string_value(ent);
		int e = name ? rv_entity_lookup(name) : -1;

		if (e < 0)
			return bw_errbuf_set(err, errlen,
					     "%s.entity: \"%s\" is not an entity (all, world, world-ipv4, world-ipv6, cluster, host, remote-node, kube-apiserver, ingress, init, health, unmanaged, none)",
					     path, name ? name : "(not a string)");
		pd->type = e == RV_ENT_ALL ? BW_RV_PEER_ANY : BW_RV_PEER_ENTITY;
		pd->entity = e;
		pd->key = rc_strcat3("entity:", name, "");
		return pd->key ? 0 : -ENOMEM;
	} else {
		const char *s = json_string_value(cidr);
		const json_t *exc = json_object_get(obj, "except");
		const json_t *me = json_object_get(obj, "match_endpoints");
		struct bw_prefix p;
		char buf[128], *key;
		size_t klen, i;
		json_t *v;

		if (!s || bw_prefix_parse(s, 0, &p) < 0)
			return bw_errbuf_set(err, errlen, "%s.cidr: \"%s\" is not a valid CIDR",
					     path, s ? s : "(not a string)");
		pd->type = BW_RV_PEER_CIDR;
		pd->family = p.family;
		memcpy(pd->addr, p.addr, 16);
		pd->plen = p.plen;
		if (me && !json_is_boolean(me))
			return bw_errbuf_set(err, errlen, "%s.match_endpoints: must be true or false",
					     path);
		pd->match_endpoints = json_is_true(me);
		if (exc && !json_is_null(exc) && !json_is_array(exc))
			return bw_errbuf_set(err, errlen, "%s.except: must be a list of CIDRs", path);
		if (json_array_size(exc)) {
			pd->except = calloc(json_array_size(exc), sizeof(*pd->except));
			if (!pd->except)
				return -ENOMEM;
		}
		json_array_foreach(exc, i, v) {
			const char *es = json_string_value(v);
			struct bw_prefix ep;

			if (!es || bw_prefix_parse(es, 0, &ep) < 0)
				return bw_errbuf_set(err, errlen,
						     "%s.except[%zu]: \"%s\" is not a valid CIDR",
						     path, i, es ? es : "(not a string)");
			if (!rv_prefix_within(ep.family, ep.addr, ep.plen, p.family,
					      p.addr, p.plen))
				return bw_errbuf_set(err, errlen,
						     "%s.except[%zu]: \"%s\" is not inside %s",
						     path, i, es, s);
			pd->except[pd->nexcept].family = ep.family;
			memcpy(pd->except[pd->nexcept].addr, ep.addr, 16);
			pd->except[pd->nexcept].plen = ep.plen;
			pd->nexcept++;
		}
		if (pd->nexcept)
			qsort(pd->except, pd->nexcept, sizeof(*pd->except), rc_prefix_cmp);
		/* key: "cidr:<prefix>[ except <p>...][ endpoints]" */
		bw_prefix_format(&p, 1, buf, sizeof(buf));
		klen = strlen(buf) + 32 + pd->nexcept * 52;
		key = malloc(klen);
		if (!key)
			return -ENOMEM;
		snprintf(key, klen, "cidr:%s", buf);
		for (i = 0; i < pd->nexcept; i++) {
			struct bw_prefix ep = { .family = pd->except[i].family,
						.plen = pd->except[i].plen };

			memcpy(ep.addr, pd->except[i].addr, 16);
			bw_prefix_format(&ep, 1, buf, sizeof(buf));
			strcat(key, i ? "," : " except ");
			strcat(key, buf);
		}
		if (pd->match_endpoints)
			strcat(key, " endpoints");
		pd->key = key;
		return 0;
	}
}

static int rc_proto(const char *s, uint8_t *proto)
{
	if (!s || !strcmp(s, "ANY"))
		*proto = 0;
	else if (!strcmp(s, "TCP"))
		*proto = 6;
	else if (!strcmp(s, "UDP"))
		*proto = 17;
	else if (!strcmp(s, "SCTP"))
		*proto = 132;
	else
		return -EINVAL;
	return 0;
}

/* A list of objects (the items of an L7 rule list). */
static int rc_l7_list(const json_t *list, const char *path, const char *what, char *err,
		      size_t errlen)
{
	size_t i;
	json_t *v;

	if (!json_is_array(list))
		return bw_errbuf_set(err, errlen, "%s.rules.%s: must be a list", path, what);
	json_array_foreach(list, i, v)
		if (!json_is_object(v))
			return bw_errbuf_set(err, errlen, "%s.rules.%s[%zu]: must be an object", path,
				      what, i);
	return 0;
}

/*
 * PORT.rules (docs/rule-model.md): exactly one kind of L7 rules. The
 * format module checked their fields with its format's meaning; the core
 * checks the shape and what the datapath needs: a port, and a transport
 * the proxy of that kind speaks.
 */
static int rc_port_rules(const json_t *rules, const char *path, struct bw_rv_port *pp,
			 char *err, size_t errlen)
{
	static const char *const kinds[] = { "dns", "http", "kafka" };
	const json_t *l7proto = json_object_get(rules, "l7proto");
	const json_t *l7 = json_object_get(rules, "l7");
	const char *kind = NULL, *key;
	json_t *v;
	int n = 0, e;

	if (!json_is_object(rules))
		return bw_errbuf_set(err, errlen, "%s.rules: must be an object", path);
	json_object_foreach((json_t *)rules, key, v) {
		int known = !strcmp(key, "l7proto") || !strcmp(key, "l7");

		for (int k = 0; k < 3; k++)
			if (!strcmp(key, kinds[k])) {
				known = 1;
				kind = kinds[k];
				pp->l7 = k + 1; /* BW_RV_L7_DNS, _HTTP, _KAFKA */
				n++;
			}
		if (!known)
			return bw_errbuf_set(err, errlen,
				      "%s.rules.%s: unknown kind of L7 rules (dns, http, kafka, l7proto)",
				      path, key);
	}
	if (l7proto) {
		if (!json_is_string(l7proto) || !*json_string_value(l7proto))
			return bw_errbuf_set(err, errlen, "%s.rules.l7proto: must be a non-empty string",
				      path);
		n++;
		kind = "l7";
		pp->l7 = BW_RV_L7_NAMED;
		pp->l7proto = strdup(json_string_value(l7proto));
		if (!pp->l7proto)
			return -ENOMEM;
		if (l7 && !json_is_null(l7) && (e = rc_l7_list(l7, path, "l7", err, errlen)) < 0)
			return e;
	} else if (l7) {
		return bw_errbuf_set(err, errlen, "%s.rules.l7: needs l7proto", path);
	}
	if (n != 1)
		return bw_errbuf_set(err, errlen,
			      "%s.rules: must have exactly one of dns, http, kafka, l7proto", path);
	if (pp->l7 != BW_RV_L7_NAMED &&
	    (e = rc_l7_list(json_object_get(rules, kind), path, kind, err, errlen)) < 0)
		return e;
	if (pp->l7 == BW_RV_L7_DNS ? pp->protocol == IPPROTO_SCTP
				   : pp->protocol != 0 && pp->protocol != IPPROTO_TCP)
		return bw_errbuf_set(err, errlen, "%s.protocol: %s rules need %s", path,
			      pp->l7 == BW_RV_L7_NAMED ? "l7proto" : kind,
			      pp->l7 == BW_RV_L7_DNS ? "TCP, UDP or ANY" : "TCP or ANY");
	pp->l7rules = json_dumps(rules, JSON_COMPACT);
	return pp->l7rules ? 0 : -ENOMEM;
}

static int rc_port(const json_t *obj, const char *path, struct bw_rv_port *pp,
		   char *err, size_t errlen)
{
	const json_t *port = json_object_get(obj, "port");
	const json_t *end = json_object_get(obj, "end_port");
	const json_t *proto = json_object_get(obj, "protocol");
	const json_t *name = json_object_get(obj, "name");
	const json_t *rules = json_object_get(obj, "rules");
	json_int_t lo = 0, hi = 0;
	int e;

	if (!json_is_object(obj))
		return bw_errbuf_set(err, errlen, "%s: must be an object", path);
	if (proto && !json_is_null(proto) &&
	    (!json_is_string(proto) || rc_proto(json_string_value(proto), &pp->protocol) < 0))
		return bw_errbuf_set(err, errlen,
				     "%s.protocol: \"%s\" is not one of TCP, UDP, SCTP, ANY",
				     path, json_is_string(proto) ? json_string_value(proto) : "(not a string)");
	if (rules && !json_is_null(rules) &&
	    (e = rc_port_rules(rules, path, pp, err, errlen)) < 0)
		return e;
	if (name && !json_is_null(name)) {
		if (!json_is_string(name) || !*json_string_value(name))
			return bw_errbuf_set(err, errlen, "%s.name: must be a non-empty string", path);
		if (port && json_integer_value(port))
			return bw_errbuf_set(err, errlen, "%s: a named port has no port number", path);
		pp->name = strdup(json_string_value(name));
		return pp->name ? 0 : -ENOMEM;
	}
	if (port && !json_is_null(port)) {
		if (!json_is_integer(port) || json_integer_value(port) < 0 ||
		    json_integer_value(port) > 65535)
			return bw_errbuf_set(err, errlen, "%s.port: must be a number from 0 to 65535",
					     path);
		lo = json_integer_value(port);
	}
	if (end && !json_is_null(end)) {
		if (!json_is_integer(end) || json_integer_value(end) < 0 ||
		    json_integer_value(end) > 65535)
			return bw_errbuf_set(err, errlen,
					     "%s.end_port: must be a number from 0 to 65535", path);
		hi = json_integer_value(end);
		if (hi && hi < lo)
			return bw_errbuf_set(err, errlen,
					     "%s.end_port: %lld is below port %lld", path,
					     (long long)hi, (long long)lo);
	}
	if (lo == 0) {
		if (pp->l7)
			return bw_errbuf_set(err, errlen, "%s.port: L7 rules need a port (not 0)", path);
		hi = 0; /* every port */
	} else if (hi == 0) {
		hi = lo;
	}
	if (pp->l7 == BW_RV_L7_DNS && hi > lo)
		return bw_errbuf_set(err, errlen, "%s.end_port: DNS rules take a single port, not a range",
			      path);
	pp->lo = (uint16_t)lo;
	pp->hi = (uint16_t)hi;
	return 0;
}

static int rc_entry(const json_t *obj, const char *path, struct bw_rv_ruleentry *en,
		    int dir, struct bw_rv_rule *ru, char *err, size_t errlen)
{
	const json_t *deny = json_object_get(obj, "deny");
	const json_t *peers = json_object_get(obj, "peers");
	const json_t *ports = json_object_get(obj, "ports");
	const json_t *icmps = json_object_get(obj, "icmps");
	char sub[256];
	size_t i;
	json_t *v;
	int e;

	if (!json_is_object(obj))
		return bw_errbuf_set(err, errlen, "%s: must be an object", path);
	if (deny && !json_is_boolean(deny))
		return bw_errbuf_set(err, errlen, "%s.deny: must be true or false", path);
	en->deny = json_is_true(deny);
	if (!peers || json_is_null(peers)) {
		en->any_peer = 1;
	} else if (!json_is_array(peers)) {
		return bw_errbuf_set(err, errlen, "%s.peers: must be a list", path);
	} else if (json_array_size(peers)) {
		en->peers = calloc(json_array_size(peers), sizeof(*en->peers));
		if (!en->peers)
			return -ENOMEM;
		json_array_foreach(peers, i, v) {
			snprintf(sub, sizeof(sub), "%s.peers[%zu]", path, i);
			e = rc_peer(v, sub, &en->peers[i], err, errlen);
			en->npeers = i + 1;
			if (e < 0)
				return e;
			if (en->peers[i].type == BW_RV_PEER_CIDR &&
			    en->peers[i].match_endpoints)
				ru->endpoint_dep = 1;
			if (en->peers[i].type == BW_RV_PEER_FQDN && dir != BW_DIR_EGRESS)
				return bw_errbuf_set(err, errlen,
					      "%s.fqdn: FQDN peers are egress only (the source address of a connection says nothing about the names it has)",
					      sub);
		}
	}
	if (ports && !json_is_null(ports) && !json_is_array(ports))
		return bw_errbuf_set(err, errlen, "%s.ports: must be a list", path);
	if (icmps && !json_is_null(icmps) && !json_is_array(icmps))
		return bw_errbuf_set(err, errlen, "%s.icmps: must be a list", path);
	if (json_array_size(ports) && json_array_size(icmps))
		return bw_errbuf_set(err, errlen, "%s: ports and icmps cannot both be given", path);
	if (json_array_size(ports)) {
		en->ports = calloc(json_array_size(ports), sizeof(*en->ports));
		if (!en->ports)
			return -ENOMEM;
		json_array_foreach(ports, i, v) {
			snprintf(sub, sizeof(sub), "%s.ports[%zu]", path, i);
			e = rc_port(v, sub, &en->ports[i], err, errlen);
			en->nports = i + 1;
			if (e < 0)
				return e;
			if (en->ports[i].name && dir == BW_DIR_EGRESS)
				ru->egress_named = 1;
		}
	}
	if (json_array_size(icmps)) {
		en->icmps = calloc(json_array_size(icmps), sizeof(*en->icmps));
		if (!en->icmps)
			return -ENOMEM;
		json_array_foreach(icmps, i, v) {
			const json_t *fam = json_object_get(v, "family");
			const json_t *type = json_object_get(v, "type");
			json_int_t f = fam ? json_integer_value(fam) : 4;

			if (!json_is_object(v))
				return bw_errbuf_set(err, errlen, "%s.icmps[%zu]: must be an object",
						     path, i);
			if ((fam && !json_is_integer(fam)) || (f != 4 && f != 6))
				return bw_errbuf_set(err, errlen,
						     "%s.icmps[%zu].family: must be 4 or 6", path, i);
			if (!json_is_integer(type) || json_integer_value(type) < 0 ||
			    json_integer_value(type) > 255)
				return bw_errbuf_set(err, errlen,
						     "%s.icmps[%zu].type: must be a number from 0 to 255",
						     path, i);
			en->icmps[i].family = (int)f;
			en->icmps[i].type = (uint8_t)json_integer_value(type);
			en->nicmps = i + 1;
		}
	}
	en->all_ports = !en->nports && !en->nicmps;
	return 0;
}

static int rc_rule(const json_t *obj, size_t idx, struct bw_rv_rule *ru,
		   char *err, size_t errlen)
{
	static const char *const dirname[3] = { NULL, "ingress", "egress" };
	const json_t *subj = json_object_get(obj, "subject");
	const json_t *dd = json_object_get(obj, "default_deny");
	const json_t *log = json_object_get(obj, "log");
	const json_t *sep = json_object_get(obj, "endpoint");
	char path[64], sub[160];

	snprintf(path, sizeof(path), "rules[%zu]", idx);
	if (!json_is_object(obj))
		return bw_errbuf_set(err, errlen, "%s: must be an object", path);
	if (!json_is_object(subj))
		return bw_errbuf_set(err, errlen, "%s.subject: missing (a selector object)", path);
	snprintf(sub, sizeof(sub), "%s.subject", path);
	ru->subject_sel = bw_selector_parse(subj, sub, err, errlen);
	if (!ru->subject_sel)
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	ru->subject_key = rc_strcat3("sel:", bw_selector_to_string(ru->subject_sel), "");
	ru->text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	if (!ru->subject_key || !ru->text)
		return -ENOMEM;
	if (dd && !json_is_null(dd)) {
		const json_t *in = json_object_get(dd, "ingress");
		const json_t *eg = json_object_get(dd, "egress");

		if (!json_is_object(dd) || (in && !json_is_boolean(in)) ||
		    (eg && !json_is_boolean(eg)))
			return bw_errbuf_set(err, errlen,
					     "%s.default_deny: must be {\"ingress\": bool, \"egress\": bool}",
					     path);
		ru->default_deny[BW_DIR_INGRESS] = json_is_true(in);
		ru->default_deny[BW_DIR_EGRESS] = json_is_true(eg);
	}
	if (sep && !json_is_null(sep)) {
		const char *v = json_string_value(sep);
		const char *slash = v ? strchr(v, '/') : NULL;

		if (!slash || slash == v || !slash[1] || strchr(slash + 1, '/'))
			return bw_errbuf_set(err, errlen,
					     "%s.endpoint: must be \"NAMESPACE/POD\"", path);
		ru->subject_ep = strdup(v);
		if (!ru->subject_ep)
			return -ENOMEM;
	}
	if (log && !json_is_null(log)) {
		if (!json_is_string(log))
			return bw_errbuf_set(err, errlen, "%s.log: must be a string", path);
		ru->log = strdup(json_string_value(log));
		if (!ru->log)
			return -ENOMEM;
	}
	for (int d = 1; d <= 2; d++) {
		const json_t *list = json_object_get(obj, dirname[d]);
		size_t i;
		json_t *v;

		if (!list || json_is_null(list))
			continue;
		if (!json_is_array(list))
			return bw_errbuf_set(err, errlen, "%s.%s: must be a list", path, dirname[d]);
		if (!json_array_size(list))
			continue;
		ru->entries[d] = calloc(json_array_size(list), sizeof(*ru->entries[d]));
		if (!ru->entries[d])
			return -ENOMEM;
		json_array_foreach(list, i, v) {
			int e;

			snprintf(sub, sizeof(sub), "%s.%s[%zu]", path, dirname[d], i);
			e = rc_entry(v, sub, &ru->entries[d][i], d, ru, err, errlen);
			ru->nentries[d] = i + 1;
			if (e < 0)
				return e;
		}
	}
	return 0;
}

int bw_rv_rule_selects(const struct bw_rv_rule *ru, uint32_t id,
		       const char *ns, const char *pod)
{
	size_t n;

	if (!ru->subject || !id || !rv_ids_has(&ru->subject->ids, id))
		return 0;
	if (!ru->subject_ep)
		return 1;
	if (!ns || !pod)
		return 0;
	n = strlen(ns);
	return !strncmp(ru->subject_ep, ns, n) && ru->subject_ep[n] == '/' &&
	       !strcmp(ru->subject_ep + n + 1, pod);
}

struct bw_rv_policy *bw_rv_policy_compile(const json_t *rules, char *err,
					  size_t errlen)
{
	struct bw_rv_policy *p;
	size_t i;
	json_t *v;

	if (err && errlen)
		err[0] = '\0';
	if (!json_is_array(rules)) {
		bw_errbuf_set(err, errlen, "rules: must be a list");
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	if (json_array_size(rules)) {
		p->rules = calloc(json_array_size(rules), sizeof(*p->rules));
		if (!p->rules) {
			free(p);
			errno = ENOMEM;
			return NULL;
		}
	}
	json_array_foreach(rules, i, v) {
		int e = rc_rule(v, i, &p->rules[i], err, errlen);

		p->nrules = i + 1;
		if (e < 0) {
			bw_rv_policy_free(p);
			errno = -e;
			return NULL;
		}
	}
	return p;
}
