/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/netpol-cilium/netpol_cilium.c - the Cilium policy formats
 * (cilium.io/v2 CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy).
 *
 * Translates one CNP/CCNP document into the canonical rule model
 * (docs/rule-model.md) with Cilium's meaning (reference sheet section 1):
 * implicit namespace scoping of subjects and peer selectors, nil versus
 * empty peer lists, per-direction default deny with enableDefaultDeny, CIDR
 * peers that never select in-cluster endpoints, toFQDNs selectors (checked
 * with lib/fqdnmatch.c, written in canonical form). L7 rules
 * (toPorts[].rules) are checked in cilium_l7.c and carried on each port.
 * Features bulwark does not have (host policies, services, groups, ...) are
 * refused with a message saying so, never ignored; every message names the
 * field by its path in the document.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <bulwark/module.h>

#include "lib/fqdnmatch.h"
#include "cilium_l7.h"
#include "netpol_common.h"

#define CIL_API_VERSION "cilium.io/v2"
#define CIL_CNP "CiliumNetworkPolicy"
#define CIL_CCNP "CiliumClusterwideNetworkPolicy"
#define CIL_NS_KEY "k8s:io.kubernetes.pod.namespace"
#define CIL_NS_ANY_KEY "any:io.kubernetes.pod.namespace"
#define CIL_NSLABELS "io.cilium.k8s.namespace.labels."
#define CIL_MAX_PORTS 40
#define CIL_MAX_ICMP_FIELDS 40
#define CIL_LOG_MAX 32

struct cil_policy {
	const char *ns;  /* "" for CCNP */
	int clusterwide;
	int matches_init; /* CCNP subject selects reserved:init */
};

static const char *const cil_top_fields[] = {
	"apiVersion", "kind", "metadata", "spec", "specs", "status", NULL,
};
static const char *const cil_rule_fields[] = {
	"endpointSelector", "nodeSelector", "ingress", "ingressDeny", "egress",
	"egressDeny", "labels", "enableDefaultDeny", "description", "log", NULL,
};
static const char *const cil_ingress_fields[] = {
	"fromEndpoints", "fromRequires", "fromCIDR", "fromCIDRSet",
	"fromEntities", "fromGroups", "fromNodes", "toPorts", "icmps",
	"authentication", NULL,
};
static const char *const cil_ingress_deny_fields[] = {
	"fromEndpoints", "fromRequires", "fromCIDR", "fromCIDRSet",
	"fromEntities", "fromGroups", "fromNodes", "toPorts", "icmps", NULL,
};
static const char *const cil_egress_fields[] = {
	"toEndpoints", "toRequires", "toCIDR", "toCIDRSet", "toEntities",
	"toServices", "toGroups", "toNodes", "toPorts", "toFQDNs", "icmps",
	"authentication", NULL,
};
static const char *const cil_egress_deny_fields[] = {
	"toEndpoints", "toRequires", "toCIDR", "toCIDRSet", "toEntities",
	"toServices", "toGroups", "toNodes", "toPorts", "icmps", NULL,
};
static const char *const cil_portrule_fields[] = {
	"ports", "rules", "terminatingTLS", "originatingTLS", "serverNames",
	"listener", NULL,
};
static const char *const cil_portdeny_fields[] = { "ports", NULL };
static const char *const cil_port_fields[] = {
	"port", "endPort", "protocol", NULL,
};
static const char *const cil_cidrrule_fields[] = {
	"cidr", "cidrGroupRef", "cidrGroupSelector", "except", NULL,
};
static const char *const cil_icmprule_fields[] = { "fields", NULL };
static const char *const cil_fqdn_fields[] = { "matchName", "matchPattern", NULL };
static const char *const cil_icmpfield_fields[] = { "family", "type", NULL };
static const char *const cil_edd_fields[] = { "ingress", "egress", NULL };
static const char *const cil_log_fields[] = { "value", NULL };
static const char *const cil_label_fields[] = { "key", "value", "source", NULL };

static const char *const cil_entities[] = {
	"all", "world", "world-ipv4", "world-ipv6", "cluster", "host",
	"remote-node", "kube-apiserver", "ingress", "init", "health",
	"unmanaged", "none", NULL,
};

struct cil_icmp_name {
	const char *name;
	int type;
};

/* pkg/policy/api/icmp.go */
static const struct cil_icmp_name cil_icmp4[] = {
	{ "EchoReply", 0 }, { "DestinationUnreachable", 3 }, { "Redirect", 5 },
	{ "Echo", 8 }, { "EchoRequest", 8 }, { "RouterAdvertisement", 9 },
	{ "RouterSelection", 10 }, { "TimeExceeded", 11 },
	{ "ParameterProblem", 12 }, { "Timestamp", 13 }, { "TimestampReply", 14 },
	{ "Photuris", 40 }, { "ExtendedEchoRequest", 42 },
	{ "ExtendedEchoReply", 43 }, { NULL, 0 },
};
static const struct cil_icmp_name cil_icmp6[] = {
	{ "DestinationUnreachable", 1 }, { "PacketTooBig", 2 },
	{ "TimeExceeded", 3 }, { "ParameterProblem", 4 }, { "EchoRequest", 128 },
	{ "EchoReply", 129 }, { "MulticastListenerQuery", 130 },
	{ "MulticastListenerReport", 131 }, { "MulticastListenerDone", 132 },
	{ "RouterSolicitation", 133 }, { "RouterAdvertisement", 134 },
	{ "NeighborSolicitation", 135 }, { "NeighborAdvertisement", 136 },
	{ "RedirectMessage", 137 }, { "RouterRenumbering", 138 },
	{ "ICMPNodeInformationQuery", 139 },
	{ "ICMPNodeInformationResponse", 140 },
	{ "InverseNeighborDiscoverySolicitation", 141 },
	{ "InverseNeighborDiscoveryAdvertisement", 142 },
	{ "HomeAgentAddressDiscoveryRequest", 144 },
	{ "HomeAgentAddressDiscoveryReply", 145 },
	{ "MobilePrefixSolicitation", 146 }, { "MobilePrefixAdvertisement", 147 },
	{ "DuplicateAddressRequestCodeSuffix", 157 },
	{ "DuplicateAddressConfirmationCodeSuffix", 158 },
	{ "ExtendedEchoRequest", 160 }, { "ExtendedEchoReply", 161 },
	{ NULL, 0 },
};

/* Fields bulwark knows but refuses, with the reason. */
struct cil_refusal {
	const char *field;
	const char *message;
};

static const struct cil_refusal cil_refusals[] = {
	{ "toServices", "toServices is not supported yet" },
	{ "fromRequires", "fromRequires was removed in Cilium 1.19 and is not supported" },
	{ "toRequires", "toRequires was removed in Cilium 1.19 and is not supported" },
	{ "fromGroups", "fromGroups (cloud provider groups) is not supported" },
	{ "toGroups", "toGroups (cloud provider groups) is not supported" },
	{ "fromNodes", "fromNodes (node selectors) is not supported" },
	{ "toNodes", "toNodes (node selectors) is not supported" },
	{ "authentication", "authentication (mutual authentication) is not supported" },
	{ NULL, NULL },
};

static const struct cil_refusal cil_port_refusals[] = {
	{ "terminatingTLS", "terminatingTLS is not supported yet" },
	{ "originatingTLS", "originatingTLS is not supported yet" },
	{ "serverNames", "serverNames is not supported yet" },
	{ "listener", "listener (CiliumEnvoyConfig) is not supported" },
	{ NULL, NULL },
};

static int
cil_refuse(struct np_ctx *c, json_t *obj, const struct cil_refusal *r)
{
	for (; r->field != NULL; r++)
		if (np_get(obj, r->field) != NULL)
			return np_fail_at(c, r->field, "%s", r->message);
	return 0;
}

/* ---- peers -------------------------------------------------------------- */

static int
cil_has_key(json_t *ml, json_t *me, const char *key, int prefix)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach(ml, k, v) {
		if (prefix ? !strncmp(k, key, strlen(key)) : !strcmp(k, key))
			return 1;
	}
	json_array_foreach(me, i, v) {
		k = json_string_value(json_object_get(v, "key"));
		if (k != NULL &&
		    (prefix ? !strncmp(k, key, strlen(key)) : !strcmp(k, key)))
			return 1;
	}
	return 0;
}

/* One endpoint selector peer with Cilium's implicit namespace scoping. */
static int
cil_endpoint_peer(struct np_ctx *c, json_t *sel, const struct cil_policy *pol,
		  json_t **peer)
{
	json_t *ml = json_object(), *me = json_array();
	int rc;

	*peer = NULL;
	if (ml == NULL || me == NULL) {
		json_decref(ml);
		json_decref(me);
		return np_nomem(c);
	}
	rc = np_want_object(c, sel);
	if (rc == 0)
		rc = np_selector(c, sel, NP_KEYS_CILIUM, NULL, ml, me);
	if (rc < 0) {
		json_decref(ml);
		json_decref(me);
		return rc;
	}
	/* Reserved-label selectors and explicit namespaces are left alone. */
	if (!cil_has_key(ml, me, "reserved:", 1) &&
	    !cil_has_key(ml, me, CIL_NS_KEY, 0) &&
	    !cil_has_key(ml, me, CIL_NS_ANY_KEY, 0)) {
		if (pol->clusterwide) {
			if (!pol->matches_init)
				json_array_append_new(
					me, json_pack("{s:s, s:s}", "key",
						      CIL_NS_KEY, "operator",
						      "Exists"));
		} else if (!cil_has_key(ml, me, "k8s:" CIL_NSLABELS, 1) &&
			   !cil_has_key(ml, me, "any:" CIL_NSLABELS, 1)) {
			json_object_set_new(ml, CIL_NS_KEY, json_string(pol->ns));
		}
	}
	*peer = json_pack("{s:o}", "selector", np_selector_json(ml, me));
	return *peer ? 0 : np_nomem(c);
}

static int
cil_entity_peer(struct np_ctx *c, json_t *v, json_t **peer)
{
	const char *e;
	int rc = np_want_string(c, v);

	*peer = NULL;
	if (rc < 0)
		return rc;
	e = json_string_value(v);
	for (size_t i = 0; cil_entities[i] != NULL; i++)
		if (!strcmp(cil_entities[i], e)) {
			*peer = json_pack("{s:s}", "entity", e);
			return *peer ? 0 : np_nomem(c);
		}
	return np_fail(c,
		       "\"%s\" is not a valid entity (all, world, world-ipv4, world-ipv6, cluster, host, remote-node, kube-apiserver, ingress, init, health, unmanaged, none)",
		       e);
}

static int
cil_cidrset_peer(struct np_ctx *c, json_t *v, json_t **peer)
{
	int rc;

	*peer = NULL;
	if ((rc = np_want_object(c, v)) < 0 ||
	    (rc = np_check_fields(c, v, cil_cidrrule_fields)) < 0)
		return rc;
	if (np_get(v, "cidrGroupRef") != NULL)
		return np_fail_at(c, "cidrGroupRef",
				  "CIDR groups (cidrGroupRef) are not supported");
	if (np_get(v, "cidrGroupSelector") != NULL)
		return np_fail_at(c, "cidrGroupSelector",
				  "CIDR groups (cidrGroupSelector) are not supported");
	/* Cilium CIDR peers never select in-cluster endpoints. */
	return np_cidr_rule(c, v, 1, 0, 0, peer);
}

/*
 * One toFQDNs element: exactly one of matchName / matchPattern, Cilium's
 * characters and length, written as the rule model's fqdn peer in
 * canonical form (lower case, no trailing dot), so equal selectors spelt
 * differently share one identity label.
 */
static int
cil_fqdn_peer(struct np_ctx *c, json_t *v, json_t **peer)
{
	json_t *mn, *mp;
	const char *field, *text;
	enum bw_fqdn_kind kind;
	char why[256], canon[BW_FQDN_SELECTOR_MAX + 1];
	int rc;

	*peer = NULL;
	if ((rc = np_want_object(c, v)) < 0 ||
	    (rc = np_check_fields(c, v, cil_fqdn_fields)) < 0)
		return rc;
	mn = np_get(v, "matchName");
	mp = np_get(v, "matchPattern");
	if (mn != NULL && mp != NULL)
		return np_fail(c, "only one of matchName or matchPattern may be set");
	if (mn == NULL && mp == NULL)
		return np_fail(c, "one of matchName or matchPattern is required");
	field = mn ? "matchName" : "matchPattern";
	kind = mn ? BW_FQDN_MATCH_NAME : BW_FQDN_MATCH_PATTERN;
	if (!json_is_string(mn ? mn : mp))
		return np_fail_at(c, field, "expected a string, got %s",
				  np_type_name(mn ? mn : mp));
	text = json_string_value(mn ? mn : mp);
	if (bw_fqdn_selector_check(kind, text, why, sizeof(why)) < 0 ||
	    bw_fqdn_selector_canonical(kind, text, canon, sizeof(canon)) < 0)
		return np_fail_at(c, field, "%s", why);
	*peer = json_pack("{s:{s:s}}", "fqdn", mn ? "match_name" : "match_pattern",
			  canon);
	return *peer ? 0 : np_nomem(c);
}

enum cil_family { CIL_ENDPOINTS, CIL_CIDR, CIL_CIDRSET, CIL_ENTITIES, CIL_FQDNS };

/*
 * The peers of one element. from_ is "from" or "to". *peers stays NULL when
 * no peer field is set (the caller decides between "any" and "nothing").
 */
static int
cil_peers(struct np_ctx *c, json_t *el, const char *dir_prefix,
	  const struct cil_policy *pol, json_t **peers)
{
	static const char *const names[] = { "Endpoints", "CIDR", "CIDRSet",
					     "Entities", "FQDNs" };
	char fields[5][32];
	json_t *lists[5] = { NULL };
	/* toFQDNs: egress only (fromFQDNs is refused before this) */
	int nf = strcmp(dir_prefix, "to") ? 4 : 5;
	int first = -1, rc = 0;

	*peers = NULL;
	for (int f = 0; f < nf; f++) {
		snprintf(fields[f], sizeof(fields[f]), "%s%s", dir_prefix,
			 names[f]);
		lists[f] = np_get(el, fields[f]);
		if (lists[f] == NULL)
			continue;
		if (!json_is_array(lists[f]))
			return np_fail_at(c, fields[f], "expected a list, got %s",
					  np_type_name(lists[f]));
		if (json_array_size(lists[f]) == 0)
			continue;
		if (first >= 0)
			return np_fail(c, "combining %s and %s is not supported",
				       fields[first], fields[f]);
		first = f;
	}
	for (int f = 0; f < nf; f++) {
		json_t *v, *peer;
		size_t i, saved;

		if (lists[f] == NULL)
			continue;
		if (*peers == NULL && (*peers = json_array()) == NULL)
			return np_nomem(c);
		saved = np_push_key(c, fields[f]);
		json_array_foreach(lists[f], i, v) {
			size_t s2 = np_push_index(c, i);

			switch (f) {
			case CIL_ENDPOINTS:
				rc = cil_endpoint_peer(c, v, pol, &peer);
				break;
			case CIL_CIDR:
				rc = np_cidr_string(c, v, 1, 0, &peer);
				break;
			case CIL_CIDRSET:
				rc = cil_cidrset_peer(c, v, &peer);
				break;
			case CIL_FQDNS:
				rc = cil_fqdn_peer(c, v, &peer);
				break;
			default:
				rc = cil_entity_peer(c, v, &peer);
				break;
			}
			np_pop(c, s2);
			if (rc < 0)
				break;
			json_array_append_new(*peers, peer);
		}
		np_pop(c, saved);
		if (rc < 0) {
			json_decref(*peers);
			*peers = NULL;
			return rc;
		}
	}
	return 0;
}

/* ---- ports and ICMP ----------------------------------------------------- */

static int
cil_port(struct np_ctx *c, json_t *p, json_t **out)
{
	json_t *port = np_get(p, "port"), *end = np_get(p, "endPort");
	json_t *proto = np_get(p, "protocol");
	const char *protocol = "ANY", *name = NULL;
	json_int_t pnum = 0, enr = 0;
	int rc;

	*out = NULL;
	if ((rc = np_want_object(c, p)) < 0 ||
	    (rc = np_check_fields(c, p, cil_port_fields)) < 0)
		return rc;
	if (proto != NULL) {
		if (!json_is_string(proto))
			return np_fail_at(c, "protocol",
					  "expected a string, got %s",
					  np_type_name(proto));
		protocol = json_string_value(proto);
		if (!strcmp(protocol, "ICMP") || !strcmp(protocol, "ICMPv6"))
			return np_fail_at(c, "protocol",
					  "%s is not allowed in toPorts; use icmps",
					  protocol);
		if (!strcmp(protocol, "VRRP") || !strcmp(protocol, "IGMP"))
			return np_fail_at(c, "protocol",
					  "protocol %s is not supported", protocol);
		if (!*protocol)
			protocol = "ANY";
		else if (strcmp(protocol, "TCP") && strcmp(protocol, "UDP") &&
			 strcmp(protocol, "SCTP") && strcmp(protocol, "ANY"))
			return np_fail_at(c, "protocol",
					  "\"%s\" is not a valid protocol (TCP, UDP, SCTP, ANY)",
					  protocol);
	}
	/* Cilium writes ports as strings; an unquoted number means the same. */
	if (port != NULL && json_is_string(port)) {
		const char *s = json_string_value(port);
		size_t i;

		for (i = 0; s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (s[0] == '\0') {
			pnum = 0;
		} else if (s[i] == '\0') {
			if (i > 5 || (pnum = strtoll(s, NULL, 10)) > 65535)
				return np_fail_at(c, "port",
						  "\"%s\" is not a valid port number (0-65535)",
						  s);
		} else if (np_port_name_valid(s)) {
			name = s;
		} else {
			return np_fail_at(c, "port",
					  "\"%s\" is neither a port number nor a valid port name (at most 15 characters [a-z0-9-], at least one letter)",
					  s);
		}
	} else if (port != NULL) {
		if (!json_is_integer(port))
			return np_fail_at(c, "port",
					  "expected a port number or name, got %s",
					  np_type_name(port));
		pnum = json_integer_value(port);
		if (pnum < 0 || pnum > 65535)
			return np_fail_at(c, "port",
					  "%lld is not a valid port number (0-65535)",
					  (long long)pnum);
	}
	if (end != NULL) {
		if (!json_is_integer(end))
			return np_fail_at(c, "endPort",
					  "expected an integer, got %s",
					  np_type_name(end));
		enr = json_integer_value(end);
		if (enr != 0) {
			if (name != NULL)
				return np_fail_at(c, "endPort",
						  "may not be used with a named port");
			if (pnum == 0)
				return np_fail_at(c, "endPort",
						  "requires a non-zero port");
			if (enr > 65535)
				return np_fail_at(c, "endPort",
						  "%lld is not a valid port number (0-65535)",
						  (long long)enr);
			if (enr < pnum)
				return np_fail_at(c, "endPort",
						  "must be greater than or equal to port (%lld)",
						  (long long)pnum);
		}
	}
	if (name != NULL)
		*out = json_pack("{s:s, s:s}", "name", name, "protocol", protocol);
	else
		*out = json_pack("{s:I, s:s}", "port", pnum, "protocol", protocol);
	if (*out != NULL && enr > pnum)
		json_object_set_new(*out, "end_port", json_integer(enr));
	return *out ? 0 : np_nomem(c);
}

/*
 * An L7 port rule's ports: L7 needs a port (not 0); HTTP, Kafka and
 * l7proto rules speak TCP, DNS rules TCP or UDP and take no range
 * (Cilium's validation). Each port gets the rules.
 */
static int
cil_l7_ports(struct np_ctx *c, json_t *ports, size_t from, int kind,
	     json_t *l7)
{
	size_t saved = np_push_key(c, "ports"), j;
	int rc = 0;

	for (j = from; rc == 0 && j < json_array_size(ports); j++) {
		json_t *o = json_array_get(ports, j);
		const char *proto = json_string_value(json_object_get(o, "protocol"));
		size_t s2 = np_push_index(c, j - from);

		if (json_object_get(o, "name") == NULL &&
		    json_integer_value(json_object_get(o, "port")) == 0)
			rc = np_fail_at(c, "port",
					"%s rules need a port number or name (not 0)",
					cil_l7_kind_name(kind));
		else if (kind == CIL_L7_DNS && !strcmp(proto, "SCTP"))
			rc = np_fail_at(c, "protocol",
					"DNS rules apply to TCP, UDP or ANY, not SCTP");
		else if (kind != CIL_L7_DNS && strcmp(proto, "TCP") &&
			 strcmp(proto, "ANY"))
			rc = np_fail_at(c, "protocol",
					"L7 rules can only apply to TCP (not %s) except for DNS rules",
					proto);
		else if (kind == CIL_L7_DNS && json_object_get(o, "end_port"))
			rc = np_fail_at(c, "endPort",
					"DNS rules do not support port ranges");
		else
			json_object_set(o, "rules", l7);
		np_pop(c, s2);
	}
	np_pop(c, saved);
	return rc;
}

/* Field key is equal (or absent) in both. */
static int
cil_same(json_t *a, json_t *b, const char *key)
{
	json_t *x = json_object_get(a, key), *y = json_object_get(b, key);

	return (x == NULL && y == NULL) || json_equal(x, y);
}

/*
 * Cilium refuses two port rules of one element with the same port and
 * protocol and L7 rules of different kinds (those of one kind are merged).
 */
static int
cil_l7_conflict(struct np_ctx *c, json_t *ports)
{
	size_t i, j;

	for (i = 0; i < json_array_size(ports); i++) {
		json_t *a = json_array_get(ports, i), *ra = json_object_get(a, "rules");

		for (j = i + 1; ra != NULL && j < json_array_size(ports); j++) {
			json_t *b = json_array_get(ports, j);
			json_t *rb = json_object_get(b, "rules");
			const char *ka, *kb;

			if (rb == NULL || !cil_same(a, b, "port") || !cil_same(a, b, "name") ||
			    !cil_same(a, b, "protocol"))
				continue;
			ka = json_object_iter_key(json_object_iter(ra));
			kb = json_object_iter_key(json_object_iter(rb));
			if (ka != NULL && kb != NULL && strcmp(ka, kb) != 0 &&
			    strcmp(ka, "l7") && strcmp(kb, "l7")) {
				char port[32];

				if (json_object_get(a, "name") != NULL)
					snprintf(port, sizeof(port), "%s",
						 json_string_value(json_object_get(a, "name")));
				else
					snprintf(port, sizeof(port), "%lld",
						 (long long)json_integer_value(json_object_get(a, "port")));
				return np_fail(c,
					       "port %s/%s has %s rules in one port rule and %s rules in another; one port takes one kind of L7 rules",
					       port, json_string_value(json_object_get(a, "protocol")),
					       ka, kb);
			}
		}
	}
	return 0;
}

static int
cil_port_rules(struct np_ctx *c, json_t *list, int ingress, int deny, json_t **ports)
{
	json_t *pr, *pl, *p, *o, *l7;
	size_t i, j, saved, s2, s3, from;
	int rc, kind;

	*ports = json_array();
	if (*ports == NULL)
		return np_nomem(c);
	json_array_foreach(list, i, pr) {
		saved = np_push_index(c, i);
		l7 = NULL;
		kind = CIL_L7_NONE;
		from = json_array_size(*ports);
		rc = np_want_object(c, pr);
		if (rc == 0 && deny) {
			if (np_get(pr, "rules") != NULL)
				rc = np_fail_at(c, "rules",
						"L7 rules are not allowed in deny rules");
			else
				rc = np_check_fields(c, pr, cil_portdeny_fields);
		} else if (rc == 0) {
			rc = np_check_fields(c, pr, cil_portrule_fields);
			if (rc == 0)
				rc = cil_refuse(c, pr, cil_port_refusals);
			if (rc == 0 && np_get(pr, "rules") != NULL)
				rc = cil_l7_rules(c, np_get(pr, "rules"), ingress, &kind, &l7);
		}
		pl = np_get(pr, "ports");
		if (rc == 0 && json_array_size(pl) == 0 && !json_is_array(pl) &&
		    pl != NULL)
			rc = np_fail_at(c, "ports", "expected a list, got %s",
					np_type_name(pl));
		if (rc == 0 && json_array_size(pl) == 0)
			rc = np_fail_at(c, "ports", "at least one port is required");
		if (rc == 0 && json_array_size(pl) > CIL_MAX_PORTS)
			rc = np_fail_at(c, "ports", "at most %d ports are allowed",
					CIL_MAX_PORTS);
		if (rc == 0) {
			s2 = np_push_key(c, "ports");
			json_array_foreach(pl, j, p) {
				s3 = np_push_index(c, j);
				rc = cil_port(c, p, &o);
				np_pop(c, s3);
				if (rc < 0)
					break;
				json_array_append_new(*ports, o);
			}
			np_pop(c, s2);
		}
		if (rc == 0 && l7 != NULL)
			rc = cil_l7_ports(c, *ports, from, kind, l7);
		json_decref(l7);
		np_pop(c, saved);
		if (rc < 0) {
			json_decref(*ports);
			*ports = NULL;
			return rc;
		}
	}
	rc = cil_l7_conflict(c, *ports);
	if (rc < 0) {
		json_decref(*ports);
		*ports = NULL;
	}
	return rc;
}

static int
cil_icmp_type(struct np_ctx *c, json_t *t, int family, int *type)
{
	const struct cil_icmp_name *tab = family == 6 ? cil_icmp6 : cil_icmp4;
	const char *s;

	if (json_is_integer(t)) {
		if (json_integer_value(t) < 0 || json_integer_value(t) > 255)
			return np_fail(c, "%lld is not a valid ICMP type (0-255)",
				       (long long)json_integer_value(t));
		*type = (int)json_integer_value(t);
		return 0;
	}
	if (!json_is_string(t))
		return np_fail(c, "expected an ICMP type number or name, got %s",
			       np_type_name(t));
	s = json_string_value(t);
	if (*s >= '0' && *s <= '9' && strspn(s, "0123456789") == strlen(s) &&
	    strlen(s) <= 3 && atoi(s) <= 255) {
		*type = atoi(s);
		return 0;
	}
	for (; tab->name != NULL; tab++)
		if (!strcmp(tab->name, s)) {
			*type = tab->type;
			return 0;
		}
	return np_fail(c, "\"%s\" is not a valid %s ICMP type", s,
		       family == 6 ? "IPv6" : "IPv4");
}

static int
cil_icmps(struct np_ctx *c, json_t *list, json_t **icmps)
{
	json_t *r, *fl, *f;
	size_t i, j, saved, s2, s3;
	int rc = 0;

	*icmps = json_array();
	if (*icmps == NULL)
		return np_nomem(c);
	json_array_foreach(list, i, r) {
		saved = np_push_index(c, i);
		rc = np_want_object(c, r);
		if (rc == 0)
			rc = np_check_fields(c, r, cil_icmprule_fields);
		fl = np_get(r, "fields");
		if (rc == 0 && fl == NULL)
			rc = np_fail_at(c, "fields", "required");
		if (rc == 0) {
			s2 = np_push_key(c, "fields");
			rc = np_want_array(c, fl);
			if (rc == 0 && json_array_size(fl) > CIL_MAX_ICMP_FIELDS)
				rc = np_fail(c, "at most %d ICMP fields are allowed",
					     CIL_MAX_ICMP_FIELDS);
			json_array_foreach(fl, j, f) {
				json_t *fam, *t;
				int family = 4, type = 0;

				if (rc < 0)
					break;
				s3 = np_push_index(c, j);
				rc = np_want_object(c, f);
				if (rc == 0)
					rc = np_check_fields(c, f, cil_icmpfield_fields);
				fam = np_get(f, "family");
				t = np_get(f, "type");
				if (rc == 0 && fam != NULL) {
					const char *fs = json_string_value(fam);

					if (fs != NULL && !strcmp(fs, "IPv6"))
						family = 6;
					else if (fs == NULL || strcmp(fs, "IPv4"))
						rc = np_fail_at(c, "family",
								"expected IPv4 or IPv6");
				}
				if (rc == 0 && t == NULL)
					rc = np_fail_at(c, "type", "required");
				if (rc == 0) {
					size_t s4 = np_push_key(c, "type");

					rc = cil_icmp_type(c, t, family, &type);
					np_pop(c, s4);
				}
				if (rc == 0)
					json_array_append_new(
						*icmps,
						json_pack("{s:i, s:i}", "family",
							  family, "type", type));
				np_pop(c, s3);
			}
			np_pop(c, s2);
		}
		np_pop(c, saved);
		if (rc < 0) {
			json_decref(*icmps);
			*icmps = NULL;
			return rc;
		}
	}
	return 0;
}

/* ---- rules -------------------------------------------------------------- */

/* One ingress/ingressDeny/egress/egressDeny element at the current path. */
static int
cil_element(struct np_ctx *c, json_t *el, int egress, int deny,
	    const struct cil_policy *pol, json_t **entry)
{
	const char *const *fields;
	json_t *peers = NULL, *ports = NULL, *icmps = NULL, *tp, *ic;
	size_t saved;
	int rc;

	*entry = NULL;
	fields = egress ? (deny ? cil_egress_deny_fields : cil_egress_fields)
			: (deny ? cil_ingress_deny_fields : cil_ingress_fields);
	if ((rc = np_want_object(c, el)) < 0)
		return rc;
	if (deny && np_get(el, "toFQDNs") != NULL)
		return np_fail_at(c, "toFQDNs",
				  "toFQDNs is not allowed in deny rules");
	if (!egress && np_get(el, "fromFQDNs") != NULL)
		return np_fail_at(c, "fromFQDNs",
				  "fromFQDNs is not supported (Cilium has no fromFQDNs either: the source address of a connection says nothing about the names it has; use fromCIDR or fromEndpoints)");
	if ((rc = np_check_fields(c, el, fields)) < 0 ||
	    (rc = cil_refuse(c, el, cil_refusals)) < 0)
		return rc;
	tp = np_get(el, "toPorts");
	ic = np_get(el, "icmps");
	if (tp != NULL) {
		saved = np_push_key(c, "toPorts");
		rc = np_want_array(c, tp);
		np_pop(c, saved);
		if (rc < 0)
			return rc;
	}
	if (ic != NULL) {
		saved = np_push_key(c, "icmps");
		rc = np_want_array(c, ic);
		np_pop(c, saved);
		if (rc < 0)
			return rc;
	}
	if (json_array_size(tp) > 0 && json_array_size(ic) > 0)
		return np_fail(c, "toPorts and icmps cannot be combined in one rule");

	rc = cil_peers(c, el, egress ? "to" : "from", pol, &peers);
	if (rc < 0)
		return rc;
	if (json_array_size(tp) > 0) {
		saved = np_push_key(c, "toPorts");
		rc = cil_port_rules(c, tp, !egress, deny, &ports);
		np_pop(c, saved);
	}
	if (rc == 0 && json_array_size(ic) > 0) {
		saved = np_push_key(c, "icmps");
		rc = cil_icmps(c, ic, &icmps);
		np_pop(c, saved);
	}
	if (rc < 0)
		goto fail;
	/*
	 * No peer field: an L4-only rule (any peer) when it has ports or
	 * ICMP types; an empty element (`- {}`) allows nothing.
	 */
	if (peers == NULL && ports == NULL && icmps == NULL)
		peers = json_array();
	*entry = json_pack("{s:b}", "deny", deny);
	if (*entry == NULL) {
		rc = np_nomem(c);
		goto fail;
	}
	if (peers != NULL)
		json_object_set_new(*entry, "peers", peers);
	if (ports != NULL)
		json_object_set_new(*entry, "ports", ports);
	if (icmps != NULL)
		json_object_set_new(*entry, "icmps", icmps);
	return 0;
fail:
	json_decref(peers);
	json_decref(ports);
	json_decref(icmps);
	return rc;
}

static int
cil_direction(struct np_ctx *c, json_t *rule, const char *field, int egress,
	      int deny, const struct cil_policy *pol, json_t *entries)
{
	json_t *list = np_get(rule, field), *v, *entry;
	size_t saved, s2, i;
	int rc;

	if (list == NULL)
		return 0;
	saved = np_push_key(c, field);
	rc = np_want_array(c, list);
	json_array_foreach(list, i, v) {
		if (rc < 0)
			break;
		s2 = np_push_index(c, i);
		rc = cil_element(c, v, egress, deny, pol, &entry);
		np_pop(c, s2);
		if (rc == 0)
			json_array_append_new(entries, entry);
	}
	np_pop(c, saved);
	return rc;
}

static int
cil_misc(struct np_ctx *c, json_t *rule, int *edd_in, int *edd_eg,
	 const char **log)
{
	json_t *edd = np_get(rule, "enableDefaultDeny"), *v, *labels, *l;
	size_t saved, s2, i;
	int rc = 0;

	*edd_in = *edd_eg = -1;
	*log = NULL;
	if (edd != NULL) {
		saved = np_push_key(c, "enableDefaultDeny");
		rc = np_want_object(c, edd);
		if (rc == 0)
			rc = np_check_fields(c, edd, cil_edd_fields);
		if (rc == 0 && (v = np_get(edd, "ingress")) != NULL) {
			s2 = np_push_key(c, "ingress");
			rc = np_want_bool(c, v);
			*edd_in = json_is_true(v);
			np_pop(c, s2);
		}
		if (rc == 0 && (v = np_get(edd, "egress")) != NULL) {
			s2 = np_push_key(c, "egress");
			rc = np_want_bool(c, v);
			*edd_eg = json_is_true(v);
			np_pop(c, s2);
		}
		np_pop(c, saved);
		if (rc < 0)
			return rc;
	}
	if ((v = np_get(rule, "log")) != NULL) {
		saved = np_push_key(c, "log");
		rc = np_want_object(c, v);
		if (rc == 0)
			rc = np_check_fields(c, v, cil_log_fields);
		if (rc == 0 && np_get(v, "value") != NULL) {
			const char *s;

			s2 = np_push_key(c, "value");
			rc = np_want_string(c, np_get(v, "value"));
			s = json_string_value(np_get(v, "value"));
			if (rc == 0 && strlen(s) > CIL_LOG_MAX)
				rc = np_fail(c, "at most %d characters", CIL_LOG_MAX);
			for (i = 0; rc == 0 && s[i]; i++)
				if ((unsigned char)s[i] < 0x20 ||
				    (unsigned char)s[i] > 0x7e)
					rc = np_fail(c,
						     "only printable ASCII characters are allowed");
			if (rc == 0 && *s)
				*log = s;
			np_pop(c, s2);
		}
		np_pop(c, saved);
		if (rc < 0)
			return rc;
	}
	if ((v = np_get(rule, "description")) != NULL) {
		saved = np_push_key(c, "description");
		rc = np_want_string(c, v);
		np_pop(c, saved);
		if (rc < 0)
			return rc;
	}
	if ((labels = np_get(rule, "labels")) != NULL) {
		saved = np_push_key(c, "labels");
		rc = np_want_array(c, labels);
		json_array_foreach(labels, i, l) {
			if (rc < 0)
				break;
			s2 = np_push_index(c, i);
			rc = np_want_object(c, l);
			if (rc == 0)
				rc = np_check_fields(c, l, cil_label_fields);
			if (rc == 0 && !json_is_string(np_get(l, "key")))
				rc = np_fail_at(c, "key", "required string");
			np_pop(c, s2);
		}
		np_pop(c, saved);
	}
	return rc;
}

/* One Rule (spec or specs[i]) at the current path. */
static int
cil_rule(struct np_ctx *c, json_t *rule, struct cil_policy *pol, json_t **out)
{
	json_t *es, *ml, *me, *ingress, *egress;
	int edd_in, edd_eg, dd_in, dd_eg, rc;
	const char *log;
	size_t saved;

	*out = NULL;
	if ((rc = np_want_object(c, rule)) < 0 ||
	    (rc = np_check_fields(c, rule, cil_rule_fields)) < 0)
		return rc;
	if (np_get(rule, "nodeSelector") != NULL)
		return np_fail_at(c, "nodeSelector",
				  "host policies (nodeSelector) are not supported");
	es = np_get(rule, "endpointSelector");
	if (es == NULL)
		return np_fail_at(c, "endpointSelector", "required");
	if (json_array_size(np_get(rule, "ingress")) == 0 &&
	    json_array_size(np_get(rule, "ingressDeny")) == 0 &&
	    json_array_size(np_get(rule, "egress")) == 0 &&
	    json_array_size(np_get(rule, "egressDeny")) == 0) {
		/* Report a wrong type before the missing rules. */
		static const char *const dirs[] = { "ingress", "ingressDeny",
						    "egress", "egressDeny" };

		for (int d = 0; d < 4; d++) {
			json_t *v = np_get(rule, dirs[d]);

			if (v != NULL && !json_is_array(v))
				return np_fail_at(c, dirs[d],
						  "expected a list, got %s",
						  np_type_name(v));
		}
		return np_fail(c,
			       "a rule needs at least one of ingress, ingressDeny, egress or egressDeny");
	}
	if ((rc = cil_misc(c, rule, &edd_in, &edd_eg, &log)) < 0)
		return rc;

	ml = json_object();
	me = json_array();
	ingress = json_array();
	egress = json_array();
	saved = np_push_key(c, "endpointSelector");
	rc = np_want_object(c, es);
	if (rc == 0)
		rc = np_selector(c, es, NP_KEYS_CILIUM, NULL, ml, me);
	np_pop(c, saved);
	if (rc < 0)
		goto out;
	if (pol->clusterwide) {
		pol->matches_init = json_object_get(ml, "reserved:init") != NULL;
	} else {
		/* The subject is always confined to the policy's namespace. */
		json_object_del(ml, CIL_NS_ANY_KEY);
		json_object_set_new(ml, CIL_NS_KEY, json_string(pol->ns));
	}

	if ((rc = cil_direction(c, rule, "ingress", 0, 0, pol, ingress)) < 0 ||
	    (rc = cil_direction(c, rule, "ingressDeny", 0, 1, pol, ingress)) < 0 ||
	    (rc = cil_direction(c, rule, "egress", 1, 0, pol, egress)) < 0 ||
	    (rc = cil_direction(c, rule, "egressDeny", 1, 1, pol, egress)) < 0)
		goto out;

	/* A direction with rules is default-deny unless enableDefaultDeny says no. */
	dd_in = json_array_size(ingress) > 0 && edd_in != 0;
	dd_eg = json_array_size(egress) > 0 && edd_eg != 0;
	*out = json_pack("{s:o, s:O, s:O, s:{s:b, s:b}}", "subject",
			 np_selector_json(ml, me), "ingress", ingress, "egress",
			 egress, "default_deny", "ingress", dd_in, "egress", dd_eg);
	ml = me = NULL;
	if (*out == NULL) {
		rc = np_nomem(c);
		goto out;
	}
	if (log != NULL)
		json_object_set_new(*out, "log", json_string(log));
out:
	json_decref(ml);
	json_decref(me);
	json_decref(ingress);
	json_decref(egress);
	return rc;
}

static int
cil_translate(struct np_ctx *c, json_t *doc, json_t **policy)
{
	struct cil_policy pol = { .ns = "default" };
	json_t *meta, *spec, *specs, *rules, *rule, *v;
	const char *kind, *name, *s;
	size_t saved, i;
	int rc;

	*policy = NULL;
	if ((rc = np_want_object(c, doc)) < 0 ||
	    (rc = np_check_fields(c, doc, cil_top_fields)) < 0)
		return rc;
	s = json_string_value(np_get(doc, "apiVersion"));
	if (s == NULL || strcmp(s, CIL_API_VERSION) != 0)
		return np_fail_at(c, "apiVersion", "expected \"%s\"",
				  CIL_API_VERSION);
	kind = json_string_value(np_get(doc, "kind"));
	if (kind == NULL || (strcmp(kind, CIL_CNP) && strcmp(kind, CIL_CCNP)))
		return np_fail_at(c, "kind", "expected \"%s\" or \"%s\"", CIL_CNP,
				  CIL_CCNP);
	pol.clusterwide = !strcmp(kind, CIL_CCNP);

	meta = np_get(doc, "metadata");
	if (meta == NULL)
		return np_fail_at(c, "metadata", "required");
	saved = np_push_key(c, "metadata");
	rc = np_want_object(c, meta);
	if (rc == 0 && np_get(meta, "name") == NULL)
		rc = np_fail_at(c, "name", "required");
	if (rc == 0) {
		size_t s2 = np_push_key(c, "name");

		rc = np_want_string(c, np_get(meta, "name"));
		name = json_string_value(np_get(meta, "name"));
		if (rc == 0 && !np_dns1123_subdomain(name))
			rc = np_fail(c,
				     "\"%s\" is not a valid name (lowercase letters, digits, '-' and '.', starting and ending alphanumeric, at most 253 characters)",
				     name);
		np_pop(c, s2);
	}
	/* A namespace on a cluster-wide policy is ignored, as Kubernetes does. */
	if (rc == 0 && !pol.clusterwide &&
	    (v = np_get(meta, "namespace")) != NULL) {
		size_t s2 = np_push_key(c, "namespace");

		rc = np_want_string(c, v);
		if (rc == 0 && *json_string_value(v) != '\0') {
			pol.ns = json_string_value(v);
			if (!np_dns1123_label(pol.ns))
				rc = np_fail(c,
					     "\"%s\" is not a valid namespace (lowercase letters, digits and '-', starting and ending alphanumeric, at most 63 characters)",
					     pol.ns);
		}
		np_pop(c, s2);
	}
	np_pop(c, saved);
	if (rc < 0)
		return rc;
	name = json_string_value(np_get(meta, "name"));
	if (pol.clusterwide)
		pol.ns = "";

	spec = np_get(doc, "spec");
	specs = np_get(doc, "specs");
	if (spec == NULL && specs == NULL)
		return np_fail(c, "spec or specs is required");
	rules = json_array();
	if (rules == NULL)
		return np_nomem(c);
	if (spec != NULL) {
		saved = np_push_key(c, "spec");
		rc = cil_rule(c, spec, &pol, &rule);
		np_pop(c, saved);
		if (rc < 0)
			goto fail;
		json_array_append_new(rules, rule);
	}
	if (specs != NULL) {
		saved = np_push_key(c, "specs");
		rc = np_want_array(c, specs);
		if (rc == 0 && json_array_size(specs) == 0 && spec == NULL)
			rc = np_fail(c, "at least one rule is required");
		json_array_foreach(specs, i, v) {
			size_t s2;

			if (rc < 0)
				break;
			s2 = np_push_index(c, i);
			rc = cil_rule(c, v, &pol, &rule);
			np_pop(c, s2);
			if (rc == 0)
				json_array_append_new(rules, rule);
		}
		np_pop(c, saved);
		if (rc < 0)
			goto fail;
	}
	*policy = json_pack("{s:s, s:s, s:s, s:o}", "kind", kind, "name", name,
			    "namespace", pol.ns, "rules", rules);
	return *policy ? 0 : np_nomem(c);
fail:
	json_decref(rules);
	return rc;
}

static int
cil_parse(void *user_data, const char *json, size_t len, char **out,
	  char *err, size_t errlen)
{
	struct np_ctx c;
	json_error_t e;
	json_t *doc, *policy;
	int rc;

	np_ctx_init(&c, err, errlen);
	*out = NULL;
	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &e);
	if (doc == NULL)
		return np_fail(&c, "invalid JSON at line %d, column %d: %s",
			       e.line, e.column, e.text);
	rc = cil_translate(&c, doc, &policy);
	json_decref(doc);
	if (rc < 0)
		return rc;
	return np_finish(&c, policy, out);
}

static const char *const cil_api_versions[] = { CIL_API_VERSION, NULL };
static const char *const cil_kinds[] = { CIL_CNP, CIL_CCNP, NULL };

static const struct bw_policy_format cil_format = {
	.size = sizeof(struct bw_policy_format),
	.name = "cilium",
	.api_versions = cil_api_versions,
	.kinds = cil_kinds,
	.parse = cil_parse,
};

static int
cil_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf)
{
	if (api == NULL || api->policy_format_register == NULL)
		return -ENOTSUP;
	return api->policy_format_register(ctx, &cil_format);
}

BW_MODULE_DEFINE(.name = "netpol-cilium", .version = "1.0",
		 .description = "CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy (cilium.io/v2) policy format",
		 .init = cil_init);
