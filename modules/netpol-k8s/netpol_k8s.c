/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/netpol-k8s/netpol_k8s.c - the Kubernetes NetworkPolicy format
 * (networking.k8s.io/v1, kind NetworkPolicy).
 *
 * Translates one NetworkPolicy document into the canonical rule model
 * (docs/rule-model.md) the way Cilium does (reference sheet section 2),
 * with Kubernetes' own meaning where the two differ: policyTypes decides
 * which directions a policy covers, and an ipBlock also matches pod
 * addresses. Input is validated like the Kubernetes API server does, and
 * every refusal names the field by its path in the document.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <bulwark/module.h>

#include "netpol_common.h"

#define K8S_API_VERSION "networking.k8s.io/v1"
#define K8S_KIND "NetworkPolicy"
#define K8S_NS_KEY "k8s:io.kubernetes.pod.namespace"
#define K8S_NSLABEL_PREFIX "k8s:io.cilium.k8s.namespace.labels."

static const char *const k8s_top_fields[] = {
	"apiVersion", "kind", "metadata", "spec", "status", NULL,
};
static const char *const k8s_spec_fields[] = {
	"podSelector", "ingress", "egress", "policyTypes", NULL,
};
static const char *const k8s_ingress_fields[] = { "from", "ports", NULL };
static const char *const k8s_egress_fields[] = { "to", "ports", NULL };
static const char *const k8s_peer_fields[] = {
	"podSelector", "namespaceSelector", "ipBlock", NULL,
};
static const char *const k8s_ipblock_fields[] = { "cidr", "except", NULL };
static const char *const k8s_port_fields[] = {
	"protocol", "port", "endPort", NULL,
};

/* One NetworkPolicyPeer at the current path. */
static int
k8s_peer(struct np_ctx *c, json_t *peer, const char *ns, json_t **out)
{
	json_t *pod, *nssel, *ipblock, *ml, *me;
	size_t saved;
	int rc;

	*out = NULL;
	if ((rc = np_want_object(c, peer)) < 0 ||
	    (rc = np_check_fields(c, peer, k8s_peer_fields)) < 0)
		return rc;
	pod = np_get(peer, "podSelector");
	nssel = np_get(peer, "namespaceSelector");
	ipblock = np_get(peer, "ipBlock");
	if (pod == NULL && nssel == NULL && ipblock == NULL)
		return np_fail(c,
			       "must specify a peer (podSelector, namespaceSelector or ipBlock)");
	if (ipblock != NULL && (pod != NULL || nssel != NULL))
		return np_fail(c, "may not specify both ipBlock and another peer");

	if (ipblock != NULL) {
		saved = np_push_key(c, "ipBlock");
		rc = np_want_object(c, ipblock);
		if (rc == 0)
			rc = np_check_fields(c, ipblock, k8s_ipblock_fields);
		/* Kubernetes: a CIDR (no bare address), except strictly inside,
		 * and the block matches pod addresses too. */
		if (rc == 0)
			rc = np_cidr_rule(c, ipblock, 0, 1, 1, out);
		np_pop(c, saved);
		return rc;
	}

	ml = json_object();
	me = json_array();
	if (ml == NULL || me == NULL) {
		json_decref(ml);
		json_decref(me);
		return np_nomem(c);
	}
	saved = np_push_key(c, "podSelector");
	rc = np_selector(c, pod, NP_KEYS_PREFIX, "k8s:", ml, me);
	np_pop(c, saved);
	if (rc == 0 && nssel != NULL) {
		saved = np_push_key(c, "namespaceSelector");
		rc = np_selector(c, nssel, NP_KEYS_PREFIX, K8S_NSLABEL_PREFIX, ml,
				 me);
		np_pop(c, saved);
		/*
		 * A namespace selector selects pods only. Saying so keeps a
		 * NotIn/DoesNotExist namespace requirement from matching the
		 * host or the world, which have no namespace labels; and
		 * namespaceSelector {} becomes "every namespace".
		 */
		if (rc == 0)
			json_array_append_new(
				me, json_pack("{s:s, s:s}", "key", K8S_NS_KEY,
					      "operator", "Exists"));
	} else if (rc == 0) {
		/* podSelector alone: the policy's own namespace. */
		json_object_set_new(ml, K8S_NS_KEY, json_string(ns));
	}
	if (rc < 0) {
		json_decref(ml);
		json_decref(me);
		return rc;
	}
	*out = json_pack("{s:o}", "selector", np_selector_json(ml, me));
	return *out ? 0 : np_nomem(c);
}

/* One NetworkPolicyPort at the current path. */
static int
k8s_port(struct np_ctx *c, json_t *p, json_t **out)
{
	json_t *proto, *port, *end;
	const char *protocol = "TCP";
	json_int_t pnum = 0, enr = 0;
	int rc;

	*out = NULL;
	if ((rc = np_want_object(c, p)) < 0 ||
	    (rc = np_check_fields(c, p, k8s_port_fields)) < 0)
		return rc;
	proto = np_get(p, "protocol");
	port = np_get(p, "port");
	end = np_get(p, "endPort");

	if (proto != NULL) {
		if (!json_is_string(proto))
			return np_fail_at(c, "protocol",
					  "expected a string, got %s",
					  np_type_name(proto));
		protocol = json_string_value(proto);
		if (strcmp(protocol, "TCP") && strcmp(protocol, "UDP") &&
		    strcmp(protocol, "SCTP"))
			return np_fail_at(c, "protocol",
					  "\"%s\" is not a supported protocol (TCP, UDP, SCTP)",
					  protocol);
	}

	if (port != NULL && json_is_string(port)) {
		const char *name = json_string_value(port);
		size_t i;

		if (!np_port_name_valid(name)) {
			for (i = 0; name[i] >= '0' && name[i] <= '9'; i++)
				;
			if (i > 0 && name[i] == '\0')
				return np_fail_at(c, "port",
						  "\"%s\" is a quoted string, so it would be a port name, and a port name must contain a letter; write the number without quotes (port: %s)",
						  name, name);
			return np_fail_at(c, "port",
					  "\"%s\" is not a valid port name (at most 15 characters [a-z0-9-], at least one letter, no leading, trailing or double '-')",
					  name);
		}
		if (end != NULL)
			return np_fail_at(c, "endPort",
					  "may not be specified when port is a named port");
		*out = json_pack("{s:s, s:s}", "name", name, "protocol",
				 protocol);
		return *out ? 0 : np_nomem(c);
	}
	if (port != NULL) {
		if (!json_is_integer(port))
			return np_fail_at(c, "port",
					  "expected a port number or a port name, got %s",
					  np_type_name(port));
		pnum = json_integer_value(port);
		if (pnum < 1 || pnum > 65535)
			return np_fail_at(c, "port",
					  "%lld is not a valid port number (1-65535)",
					  (long long)pnum);
	}
	if (end != NULL) {
		if (port == NULL)
			return np_fail_at(c, "endPort",
					  "may not be specified when port is not specified");
		if (!json_is_integer(end))
			return np_fail_at(c, "endPort",
					  "expected an integer, got %s",
					  np_type_name(end));
		enr = json_integer_value(end);
		if (enr < 1 || enr > 65535)
			return np_fail_at(c, "endPort",
					  "%lld is not a valid port number (1-65535)",
					  (long long)enr);
		if (enr < pnum)
			return np_fail_at(c, "endPort",
					  "must be greater than or equal to port (%lld)",
					  (long long)pnum);
	}
	*out = json_pack("{s:I, s:s}", "port", pnum, "protocol", protocol);
	if (*out != NULL && enr > pnum)
		json_object_set_new(*out, "end_port", json_integer(enr));
	return *out ? 0 : np_nomem(c);
}

/*
 * One ingress/egress rule at the current path. peer_key is "from" or "to".
 * *entry is NULL when emit is 0 (the rule is only validated).
 */
static int
k8s_rule(struct np_ctx *c, json_t *rule, const char *peer_key,
	 const char *const *fields, const char *ns, json_t **entry)
{
	json_t *peers_in, *ports_in, *peers = NULL, *ports = NULL, *v, *o;
	size_t saved, s2, i;
	int rc;

	*entry = NULL;
	if ((rc = np_want_object(c, rule)) < 0 ||
	    (rc = np_check_fields(c, rule, fields)) < 0)
		return rc;
	peers_in = np_get(rule, peer_key);
	ports_in = np_get(rule, "ports");

	/* Empty or missing from/to: every peer, world included. */
	if (peers_in != NULL) {
		saved = np_push_key(c, peer_key);
		rc = np_want_array(c, peers_in);
		if (rc == 0 && json_array_size(peers_in) > 0)
			peers = json_array();
		json_array_foreach(peers_in, i, v) {
			if (rc < 0)
				break;
			s2 = np_push_index(c, i);
			rc = k8s_peer(c, v, ns, &o);
			if (rc == 0)
				json_array_append_new(peers, o);
			np_pop(c, s2);
		}
		np_pop(c, saved);
		if (rc < 0)
			goto fail;
	}
	/* Empty or missing ports: every port and protocol. */
	if (ports_in != NULL) {
		saved = np_push_key(c, "ports");
		rc = np_want_array(c, ports_in);
		if (rc == 0 && json_array_size(ports_in) > 0)
			ports = json_array();
		json_array_foreach(ports_in, i, v) {
			if (rc < 0)
				break;
			s2 = np_push_index(c, i);
			rc = k8s_port(c, v, &o);
			if (rc == 0)
				json_array_append_new(ports, o);
			np_pop(c, s2);
		}
		np_pop(c, saved);
		if (rc < 0)
			goto fail;
	}
	*entry = json_pack("{s:b}", "deny", 0);
	if (*entry == NULL) {
		rc = np_nomem(c);
		goto fail;
	}
	if (peers != NULL)
		json_object_set_new(*entry, "peers", peers);
	if (ports != NULL)
		json_object_set_new(*entry, "ports", ports);
	return 0;
fail:
	json_decref(peers);
	json_decref(ports);
	return rc;
}

static int
k8s_rules(struct np_ctx *c, json_t *spec, const char *dir,
	  const char *peer_key, const char *const *fields, const char *ns,
	  json_t *entries)
{
	json_t *list = np_get(spec, dir), *v, *entry;
	size_t saved, s2, i;
	int rc = 0;

	if (list == NULL)
		return 0;
	saved = np_push_key(c, dir);
	rc = np_want_array(c, list);
	json_array_foreach(list, i, v) {
		if (rc < 0)
			break;
		s2 = np_push_index(c, i);
		rc = k8s_rule(c, v, peer_key, fields, ns, &entry);
		if (rc == 0)
			json_array_append_new(entries, entry);
		np_pop(c, s2);
	}
	np_pop(c, saved);
	return rc;
}

static int
k8s_translate(struct np_ctx *c, json_t *doc, json_t **policy)
{
	json_t *meta, *spec, *types, *v, *rule, *ml, *me, *ingress, *egress;
	const char *name, *ns = "default", *s;
	int want_ingress = 1, want_egress = 0, rc;
	size_t saved, i;

	*policy = NULL;
	if ((rc = np_want_object(c, doc)) < 0 ||
	    (rc = np_check_fields(c, doc, k8s_top_fields)) < 0)
		return rc;
	s = json_string_value(np_get(doc, "apiVersion"));
	if (s == NULL || strcmp(s, K8S_API_VERSION) != 0)
		return np_fail_at(c, "apiVersion", "expected \"%s\"",
				  K8S_API_VERSION);
	s = json_string_value(np_get(doc, "kind"));
	if (s == NULL || strcmp(s, K8S_KIND) != 0)
		return np_fail_at(c, "kind", "expected \"%s\"", K8S_KIND);

	meta = np_get(doc, "metadata");
	if (meta == NULL)
		return np_fail_at(c, "metadata", "required");
	saved = np_push_key(c, "metadata");
	rc = np_want_object(c, meta);
	if (rc == 0 && np_get(meta, "name") == NULL)
		rc = np_fail_at(c, "name", "required");
	np_pop(c, saved);
	if (rc < 0)
		return rc;
	saved = np_push_key(c, "metadata");
	np_push_key(c, "name");
	rc = np_want_string(c, np_get(meta, "name"));
	name = json_string_value(np_get(meta, "name"));
	if (rc == 0 && !np_dns1123_subdomain(name))
		rc = np_fail(c,
			     "\"%s\" is not a valid name (lowercase letters, digits, '-' and '.', starting and ending alphanumeric, at most 253 characters)",
			     name);
	np_pop(c, saved);
	if (rc < 0)
		return rc;
	v = np_get(meta, "namespace");
	if (v != NULL) {
		saved = np_push_key(c, "metadata");
		np_push_key(c, "namespace");
		rc = np_want_string(c, v);
		if (rc == 0 && *json_string_value(v) != '\0') {
			ns = json_string_value(v);
			if (!np_dns1123_label(ns))
				rc = np_fail(c,
					     "\"%s\" is not a valid namespace (lowercase letters, digits and '-', starting and ending alphanumeric, at most 63 characters)",
					     ns);
		}
		np_pop(c, saved);
		if (rc < 0)
			return rc;
	}

	/* A missing spec is an empty one: every pod isolated for ingress. */
	spec = np_get(doc, "spec");
	if (spec == NULL)
		spec = json_object();
	else
		json_incref(spec);
	saved = np_push_key(c, "spec");
	ml = json_object();
	me = json_array();
	ingress = json_array();
	egress = json_array();
	rule = NULL;
	if ((rc = np_want_object(c, spec)) < 0 ||
	    (rc = np_check_fields(c, spec, k8s_spec_fields)) < 0)
		goto out;

	types = np_get(spec, "policyTypes");
	if (types != NULL) {
		size_t s2 = np_push_key(c, "policyTypes");

		rc = np_want_array(c, types);
		if (rc == 0 && json_array_size(types) > 0)
			want_ingress = 0;
		json_array_foreach(types, i, v) {
			size_t s3;

			if (rc < 0)
				break;
			s3 = np_push_index(c, i);
			rc = np_want_string(c, v);
			if (rc == 0 && !strcmp(json_string_value(v), "Ingress"))
				want_ingress = 1;
			else if (rc == 0 && !strcmp(json_string_value(v), "Egress"))
				want_egress = 1;
			else if (rc == 0)
				rc = np_fail(c,
					     "\"%s\" is not a valid policy type (Ingress, Egress)",
					     json_string_value(v));
			np_pop(c, s3);
		}
		np_pop(c, s2);
		if (rc < 0)
			goto out;
	}

	{
		size_t s2 = np_push_key(c, "podSelector");

		rc = np_selector(c, np_get(spec, "podSelector"), NP_KEYS_PREFIX,
				 "k8s:", ml, me);
		np_pop(c, s2);
		if (rc < 0)
			goto out;
	}
	json_object_set_new(ml, K8S_NS_KEY, json_string(ns));

	/* Both directions are validated; only covered ones give entries. */
	if ((rc = k8s_rules(c, spec, "ingress", "from", k8s_ingress_fields, ns,
			    ingress)) < 0 ||
	    (rc = k8s_rules(c, spec, "egress", "to", k8s_egress_fields, ns,
			    egress)) < 0)
		goto out;
	/* Unspecified policyTypes: Ingress always, Egress when it has rules. */
	if (json_array_size(types) == 0)
		want_egress = json_array_size(egress) > 0;
	if (!want_ingress)
		json_array_clear(ingress);
	if (!want_egress)
		json_array_clear(egress);

	rule = json_pack("{s:o, s:O, s:O, s:{s:b, s:b}}", "subject",
			 np_selector_json(ml, me), "ingress", ingress, "egress",
			 egress, "default_deny", "ingress", want_ingress, "egress",
			 want_egress);
	ml = me = NULL;
	if (rule == NULL) {
		rc = np_nomem(c);
		goto out;
	}
	*policy = json_pack("{s:s, s:s, s:s, s:[o]}", "kind", K8S_KIND, "name",
			    name, "namespace", ns, "rules", rule);
	rule = NULL;
	if (*policy == NULL)
		rc = np_nomem(c);
out:
	np_pop(c, saved);
	json_decref(ml);
	json_decref(me);
	json_decref(ingress);
	json_decref(egress);
	json_decref(spec);
	return rc;
}

static int
k8s_parse(void *user_data, const char *json, size_t len, char **out,
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
	rc = k8s_translate(&c, doc, &policy);
	json_decref(doc);
	if (rc < 0)
		return rc;
	return np_finish(&c, policy, out);
}

static const char *const k8s_api_versions[] = { K8S_API_VERSION, NULL };
static const char *const k8s_kinds[] = { K8S_KIND, NULL };

static const struct bw_policy_format k8s_format = {
	.size = sizeof(struct bw_policy_format),
	.name = "kubernetes",
	.api_versions = k8s_api_versions,
	.kinds = k8s_kinds,
	.parse = k8s_parse,
};

static int
k8s_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf)
{
	if (api == NULL || api->policy_format_register == NULL)
		return -ENOTSUP;
	return api->policy_format_register(ctx, &k8s_format);
}

BW_MODULE_DEFINE(.name = "netpol-k8s", .version = "1.0",
		 .description = "Kubernetes NetworkPolicy (networking.k8s.io/v1) policy format",
		 .init = k8s_init);
