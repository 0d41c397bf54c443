/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/policy_api.c - the policy part of the control API.
 *
 *   GET    /v1/policies                  list (metadata, rule and endpoint counts)
 *   POST   /v1/policies[?source=NAME][&namespace=NS]  import: add or update every
 *                                        policy of the body (YAML/JSON, multi-document,
 *                                        or `cilium policy import` rules), all or nothing
 *   PUT    /v1/policies[?source=NAME][&namespace=NS]  replace the API-managed set
 *   GET    /v1/policies/[NS/]NAME[?kind=K]     one policy with its canonical rules
 *   DELETE /v1/policies/[NS/]NAME[?kind=K]
 *   GET    /v1/policy/trace?from=NS/POD&to=NS/POD|IP&port=N[&protocol=P]
 *   GET    /v1/policy/resolved/NS/POD    an endpoint's resolved entries
 *
 * Trace answers from the resolved datapath state: the endpoint flags the
 * resolver last wrote and a lookup in the pinned policy map with the
 * kernel's precedence (bw_datapath_policy_lookup), the peer identity coming
 * from the ipcache as the datapath sees it. It never evaluates rules itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h" /* before bw_datapath.h: its BW_ENFORCE_* macros */
#include "core/api.h"
#include "core/datapath/datapath.h"
#include "core/datapath/redirect.h"
#include "core/node/endpoint.h"
#include "core/node/identity.h"
#include "core/node/ipcache.h"
#include "core/node/labels.h"
#include "core/log.h"
#include "core/policy/policy.h"
#include "core/policy/policy_int.h"
#include "core/policy/proxyconn.h"
#include "core/policy/resolver.h"

#define PA_ERR 2048

static const char *const pa_match_names[] = {
	"none", "L3-Only", "L3-L4", "L4-Only", "all", "L3-Proto", "Proto-Only",
};

static const char *pa_match_name(unsigned m)
{
	return m < sizeof(pa_match_names) / sizeof(*pa_match_names) ? pa_match_names[m]
								    : "unknown";
}

static const char *pa_dir_name(int dir)
{
	return dir == BW_DIR_INGRESS ? "ingress" : "egress";
}

static const char *pa_proto_name(unsigned p, char *buf, size_t len)
{
	switch (p) {
	case 0:
		return "ANY";
	case 1:
		return "ICMP";
	case 6:
		return "TCP";
	case 17:
		return "UDP";
	case 58:
		return "ICMPv6";
	case 132:
		return "SCTP";
	}
	snprintf(buf, len, "%u", p);
	return buf;
}

static int pa_proto_parse(const char *s, uint8_t *p)
{
	char *end;
	long v;

	if (!s || !*s || !strcasecmp(s, "TCP"))
		*p = 6;
	else if (!strcasecmp(s, "UDP"))
		*p = 17;
	else if (!strcasecmp(s, "SCTP"))
		*p = 132;
	else if (!strcasecmp(s, "ICMP"))
		*p = 1;
	else if (!strcasecmp(s, "ICMPv6") || !strcasecmp(s, "ICMP6"))
		*p = 58;
	else {
		v = strtol(s, &end, 10);
		if (*end || v < 1 || v > 255)
			return -EINVAL;
		*p = (uint8_t)v;
	}
	return 0;
}

static json_t *pa_ruleinfo_json(uint32_t ref)
{
	const struct bw_policy_ruleinfo *ri = bw_policy_rule_lookup(ref);

	if (!ri)
		return json_null();
	return json_pack("{s:s,s:s,s:s,s:I,s:i,s:s,s:i,s:b,s:b,s:I}", "name", ri->name,
			 "namespace", ri->namespace, "kind", ri->kind, "revision",
			 (json_int_t)ri->revision, "rule_index", (int)ri->rule_index,
			 "direction", pa_dir_name(ri->direction), "entry_index",
			 (int)ri->entry_index, "deny", ri->deny, "current", ri->current,
			 "rule_ref", (json_int_t)ref);
}

static json_t *pa_owner_json(void *owner)
{
	const struct bw_pol *p = bw_pol_of_owner(owner);

	return json_pack("{s:s,s:s,s:s}", "name", p->name, "namespace", p->ns, "kind",
			 p->kind);
}

/* ---- repository routes ------------------------------------------------------- */

static int pa_cmp_pol(const void *a, const void *b)
{
	const struct bw_pol *x = *(const struct bw_pol *const *)a;
	const struct bw_pol *y = *(const struct bw_pol *const *)b;
	int c = strcmp(x->ns, y->ns);

	if (!c)
		c = strcmp(x->name, y->name);
	if (!c)
		c = strcmp(x->kind, y->kind);
	return c;
}

static int pa_list(struct bw_api_request *req, void *arg)
{
	size_t n = bw_policy_count(), k = 0;
	struct bw_pol **v = n ? calloc(n, sizeof(*v)) : NULL;
	json_t *arr = json_array();

	if ((n && !v) || !arr) {
		free(v);
		json_decref(arr);
		return -ENOMEM;
	}
	for (struct bw_pol *p = bw_pol_first(); p && k < n; p = p->next)
		v[k++] = p;
	qsort(v, k, sizeof(*v), pa_cmp_pol);
	for (size_t i = 0; i < k; i++)
		json_array_append_new(arr, bw_pol_to_json(v[i], 0));
	free(v);
	return bw_api_reply_json(req, 200, json_pack("{s:o}", "policies", arr));
}

static int pa_status_of(int e)
{
	switch (e) {
	case -EINVAL:
	case -E2BIG: /* more than a configured limit takes */
		return 400;
	case -ENOENT:
		return 404;
	case -EEXIST:
	case -EPERM:
		return 409;
	default:
		return 500;
	}
}

static int pa_load(struct bw_api_request *req, int replace)
{
	size_t len = 0;
	const char *body = bw_api_req_body(req, &len);
	const char *src = bw_api_req_query(req, "source");
	const char *ns = bw_api_req_query(req, "namespace");
	struct bw_pol_batch b;
	char err[PA_ERR];
	unsigned changed = 0;
	json_t *keys, *arr, *k;
	size_t i;
	int e;

	if (!src || !*src)
		src = "request";
	/* ?namespace=: of `cilium policy import` rules that name none */
	e = bw_pol_batch_parse_ns(body ? body : "", len, src, ns && *ns ? ns : NULL, &b, err,
				  sizeof(err));
	if (e < 0)
		return bw_api_reply_error(req, e == -ENOMEM ? 500 : 400,
					  "nothing changed: %s", err);
	/* apply moves the items' parts into the repository: keep the keys */
	keys = json_array();
	for (i = 0; i < b.n; i++)
		json_array_append_new(keys, json_pack("[s,s,s]", b.v[i].kind, b.v[i].ns,
						      b.v[i].name));
	e = bw_pol_apply(&b, BW_POLICY_SOURCE_API, replace, &changed, err, sizeof(err));
	bw_pol_batch_free(&b);
	if (e < 0) {
		json_decref(keys);
		return bw_api_reply_error(req, pa_status_of(e), "%s%s",
					  e == -EEXIST ? "nothing changed: " : "", err);
	}
	arr = json_array();
	json_array_foreach(keys, i, k) {
		struct bw_pol *p = bw_pol_find(json_string_value(json_array_get(k, 1)),
					       json_string_value(json_array_get(k, 2)),
					       json_string_value(json_array_get(k, 0)), NULL);

		if (p)
			json_array_append_new(arr, bw_pol_to_json(p, 0));
	}
	json_decref(keys);
	return bw_api_reply_json(req, 200,
				 json_pack("{s:i,s:o,s:I}", "changed", (int)changed,
					   "policies", arr, "total",
					   (json_int_t)bw_policy_count()));
}

static int pa_import(struct bw_api_request *req, void *arg)
{
	return pa_load(req, 0);
}

static int pa_replace(struct bw_api_request *req, void *arg)
{
	return pa_load(req, 1);
}

/* An earlier policy of the list has q's namespace and this name (and kind). */
static int pa_ns_seen(const struct bw_pol *q, const char *name, const char *kind)
{
	for (const struct bw_pol *p = bw_pol_first(); p && p != q; p = p->next)
		if (!strcmp(p->name, name) && !strcmp(p->ns, q->ns) &&
		    (!kind || !strcmp(p->kind, kind)))
			return 1;
	return 0;
}

/*
 * "[NS/]NAME" -> the policy. Without NS: a cluster-wide policy of that name,
 * else the only namespaced one. Replies the error itself and returns NULL.
 */
static struct bw_pol *pa_resolve_name(struct bw_api_request *req, const char *rest,
				      const char *kind)
{
	const char *slash = strchr(rest, '/');
	char ns[256];
	struct bw_pol *p, *found = NULL;
	int ambiguous = 0, n = 0;
	char list[512] = "";

	if (!*rest) {
		bw_api_reply_error(req, 400, "give the policy as [NAMESPACE/]NAME");
		return NULL;
	}
	if (slash) {
		size_t l = (size_t)(slash - rest);

		if (l >= sizeof(ns) || !slash[1] || strchr(slash + 1, '/')) {
			bw_api_reply_error(req, 400, "'%s' is not [NAMESPACE/]NAME", rest);
			return NULL;
		}
		memcpy(ns, rest, l);
		ns[l] = '\0';
		p = bw_pol_find(ns, slash + 1, kind, &ambiguous);
		if (!p) {
			bw_api_reply_error(req, 404, "no policy %s%s%s in namespace %s",
					   kind ? kind : "", kind ? " " : "", slash + 1, ns);
			return NULL;
		}
	} else {
		p = bw_pol_find("", rest, kind, &ambiguous);
		if (!p) {
			for (struct bw_pol *q = bw_pol_first(); q; q = q->next)
				if (!strcmp(q->name, rest) && (!kind || !strcmp(q->kind, kind)) &&
				    !pa_ns_seen(q, rest, kind)) {
					if (n++)
						strncat(list, ", ", sizeof(list) - strlen(list) - 1);
					strncat(list, q->ns, sizeof(list) - strlen(list) - 1);
					strncat(list, "/", sizeof(list) - strlen(list) - 1);
					strncat(list, q->name, sizeof(list) - strlen(list) - 1);
					found = q;
				}
			if (n == 0) {
				bw_api_reply_error(req, 404, "no policy %s%s%s", kind ? kind : "",
						   kind ? " " : "", rest);
				return NULL;
			}
			if (n > 1) {
				bw_api_reply_error(req, 409,
						   "several policies are called %s (%s); give NAMESPACE/NAME",
						   rest, list);
				return NULL;
			}
			p = found;
			/* same name, several kinds in that namespace? */
			bw_pol_find(p->ns, p->name, kind, &ambiguous);
		}
	}
	if (ambiguous) {
		list[0] = '\0';
		for (struct bw_pol *q = bw_pol_first(); q; q = q->next)
			if (!strcmp(q->ns, p->ns) && !strcmp(q->name, p->name)) {
				if (list[0])
					strncat(list, ", ", sizeof(list) - strlen(list) - 1);
				strncat(list, q->kind, sizeof(list) - strlen(list) - 1);
			}
		bw_api_reply_error(req, 409,
				   "%s%s%s names policies of several kinds (%s); say which with --kind",
				   p->ns, *p->ns ? "/" : "", p->name, list);
		return NULL;
	}
	return p;
}

static const char *pa_rest(struct bw_api_request *req, const char *prefix)
{
	const char *path = bw_api_req_path(req);
	size_t l = strlen(prefix);

	return strncmp(path, prefix, l) ? "" : path + l;
}

static int pa_get(struct bw_api_request *req, void *arg)
{
	const char *kind = bw_api_req_query(req, "kind");
	struct bw_pol *p = pa_resolve_name(req, pa_rest(req, "/v1/policies/"),
					   kind && *kind ? kind : NULL);

	if (!p)
		return 0;
	return bw_api_reply_json(req, 200, bw_pol_to_json(p, 1));
}

static int pa_delete(struct bw_api_request *req, void *arg)
{
	const char *kind = bw_api_req_query(req, "kind");
	struct bw_pol *p = pa_resolve_name(req, pa_rest(req, "/v1/policies/"),
					   kind && *kind ? kind : NULL);
	char err[PA_ERR], ns[256], name[256], k[128];
	int e;

	if (!p)
		return 0;
	snprintf(ns, sizeof(ns), "%s", p->ns);
	snprintf(name, sizeof(name), "%s", p->name);
	snprintf(k, sizeof(k), "%s", p->kind);
	e = bw_pol_delete(ns, name, k, err, sizeof(err));
	if (e < 0)
		return bw_api_reply_error(req, pa_status_of(e), "%s", err);
	return bw_api_reply_json(req, 200,
				 json_pack("{s:s,s:s,s:s,s:b}", "name", name, "namespace", ns,
					   "kind", k, "deleted", 1));
}

/* ---- trace -------------------------------------------------------------------------- */

struct pa_peer {
	struct bw_endpoint *ep; /* local endpoint, or NULL */
	int family;
	uint8_t addr[16];
	uint32_t identity;      /* as the ipcache maps the address */
	char name[300];
};

/* "NS/POD" or an IP address. Replies the error itself on failure. */
static int pa_peer_parse(struct bw_api_request *req, const char *what,
			 const char *s, int need_endpoint, struct pa_peer *pe)
{
	struct bw_ipcache_entry ent;

	memset(pe, 0, sizeof(*pe));
	if (!s || !*s)
		return bw_api_reply_error(req, 400, "--%s is required", what), -EINVAL;
	if (inet_pton(AF_INET, s, pe->addr) == 1) {
		pe->family = 4;
	} else if (inet_pton(AF_INET6, s, pe->addr) == 1) {
		pe->family = 6;
	} else {
		const char *slash = strchr(s, '/');
		char ns[256];
		size_t na = 0;
		const struct bw_ep_addr *ips;

		if (!slash || (size_t)(slash - s) >= sizeof(ns))
			return bw_api_reply_error(req, 400,
						  "--%s %s: give NAMESPACE/POD%s", what, s,
						  need_endpoint ? "" : " or an IP address"),
			       -EINVAL;
		memcpy(ns, s, (size_t)(slash - s));
		ns[slash - s] = '\0';
		pe->ep = bw_endpoint_find(ns, slash + 1);
		if (!pe->ep)
			return bw_api_reply_error(req, 404, "--%s %s: no such endpoint", what, s),
			       -ENOENT;
		ips = bw_endpoint_ips(pe->ep, &na);
		if (na) {
			pe->family = ips[0].family;
			memcpy(pe->addr, ips[0].addr, 16);
		}
		snprintf(pe->name, sizeof(pe->name), "%s", s);
	}
	if (pe->family) {
		bw_ipcache_lookup(pe->family, pe->addr, &ent);
		pe->identity = ent.identity;
		if (!pe->ep && ent.ep_id)
			pe->ep = bw_endpoint_find_by_id(ent.ep_id);
		if (!pe->name[0])
			snprintf(pe->name, sizeof(pe->name), "%s", s);
	} else if (pe->ep) {
		pe->identity = bw_endpoint_identity(pe->ep);
	}
	if (pe->ep && pe->name[0] && strchr(s, '.') == NULL && strchr(s, ':') == NULL)
		; /* named by NS/POD */
	else if (pe->ep)
		snprintf(pe->name, sizeof(pe->name), "%s/%s (%s)", bw_endpoint_ns(pe->ep),
			 bw_endpoint_pod(pe->ep), s);
	if (need_endpoint && !pe->ep)
		return bw_api_reply_error(req, 400, "--%s %s is not a local endpoint", what, s),
		       -EINVAL;
	return 0;
}

static json_t *pa_isolating(uint32_t ep_id, int dir, char *names, size_t len)
{
	void *owners[64];
	size_t n = bw_resolver_isolating(bw_pol_resolver(), ep_id, dir, owners, 64);
	json_t *arr = json_array();

	names[0] = '\0';
	for (size_t i = 0; i < n && i < 64; i++) {
		const struct bw_pol *p = bw_pol_of_owner(owners[i]);
		size_t l = strlen(names);

		json_array_append_new(arr, pa_owner_json(owners[i]));
		snprintf(names + l, len - l, "%s%s %s%s%s", i ? ", " : "", p->kind, p->ns,
			 *p->ns ? "/" : "", p->name);
	}
	return arr;
}

/* One direction of a trace: the endpoint ep checks a packet from/to peer. */
static json_t *pa_trace_dir(struct bw_endpoint *ep, int dir, uint32_t peer_id,
			    uint8_t proto, uint16_t port, const char **verdict)
{
	uint32_t ep_id = bw_endpoint_id(ep), flags = 0;
	uint32_t bit = dir == BW_DIR_INGRESS ? BW_EP_F_ENFORCE_INGRESS : BW_EP_F_ENFORCE_EGRESS;
	struct bw_policy_verdict v;
	char names[1024], why[1400], epname[300];
	json_t *o, *iso;
	int enforced, audit, e, mode = bw_pol_enforcement();

	snprintf(epname, sizeof(epname), "%s/%s", bw_endpoint_ns(ep), bw_endpoint_pod(ep));
	bw_resolver_endpoint_state(bw_pol_resolver(), ep_id, &flags, NULL, NULL);
	enforced = mode == BW_ENFORCE_ALWAYS || (mode != BW_ENFORCE_NEVER && (flags & bit));
	audit = (flags & BW_EP_F_AUDIT) || bw_pol_audit();
	iso = pa_isolating(ep_id, dir, names, sizeof(names));
	o = json_pack("{s:s,s:s,s:I,s:I,s:b,s:b}", "direction", pa_dir_name(dir),
		      "endpoint", epname, "endpoint_id", (json_int_t)ep_id,
		      "peer_identity", (json_int_t)peer_id, "enforced", enforced,
		      "default_deny", mode == BW_ENFORCE_ALWAYS ||
				      (mode != BW_ENFORCE_NEVER && json_array_size(iso) > 0));
	json_object_set_new(o, "isolated_by", iso);
	if (!enforced) {
		*verdict = "ALLOWED";
		json_object_set_new(o, "verdict", json_string(*verdict));
		json_object_set_new(o, "match_type", json_string("none"));
		json_object_set_new(o, "reason",
				    json_string(mode == BW_ENFORCE_NEVER
							? "policy enforcement is off (policy.enforcement=never)"
							: "not enforced: no policy selects the endpoint in this direction"));
		return o;
	}
	e = bw_datapath_policy_lookup(ep_id, peer_id, (uint8_t)dir, proto, port, &v);
	if (e < 0) {
		*verdict = "UNKNOWN";
		json_object_set_new(o, "verdict", json_string(*verdict));
		snprintf(why, sizeof(why), "cannot read the policy map: %s", strerror(-e));
		json_object_set_new(o, "reason", json_string(why));
		return o;
	}
	*verdict = v.allowed ? (v.proxy_class ? "REDIRECTED" : "ALLOWED") : audit ? "AUDIT" : "DENIED";
	json_object_set_new(o, "verdict", json_string(*verdict));
	if (v.allowed && v.proxy_class) {
		const char *cname = bw_redirect_class_name(v.proxy_class);
		json_t *rules = json_array();

		if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && rules)
			bw_proxyconn_rules(ep_id, dir, peer_id, proto, port, v.proxy_class, rules);
		json_object_set_new(o, "proxy",
				    json_pack("{s:s,s:i,s:o}", "class", cname ? cname : "?", "port",
					      (int)bw_redirect_port(v.proxy_class, proto), "l7_rules",
					      rules ? rules : json_array()));
	}
	json_object_set_new(o, "match_type", json_string(pa_match_name(v.match_type)));
	json_object_set_new(o, "rule_ref", json_integer(v.rule_ref));
	json_object_set_new(o, "policy", v.rule_ref ? pa_ruleinfo_json(v.rule_ref) : json_null());
	if (v.allowed && v.rule_ref) {
		const struct bw_policy_ruleinfo *ri = bw_policy_rule_lookup(v.rule_ref);

		const char *cname = bw_redirect_class_name(v.proxy_class);

		if (v.proxy_class)
			snprintf(why, sizeof(why),
				 "allowed by %s %s%s%s rule %u and redirected to the %s proxy, which applies the L7 rules",
				 ri ? ri->kind : "?", ri ? ri->namespace : "",
				 ri && *ri->namespace ? "/" : "", ri ? ri->name : "?",
				 ri ? ri->rule_index : 0, cname ? cname : "?");
		else
			snprintf(why, sizeof(why), "allowed by %s %s%s%s rule %u",
				 ri ? ri->kind : "?", ri ? ri->namespace : "",
				 ri && *ri->namespace ? "/" : "", ri ? ri->name : "?",
				 ri ? ri->rule_index : 0);
	} else if (v.allowed) {
		snprintf(why, sizeof(why),
			 "allowed: the direction is not default-deny (only deny rules apply)");
	} else if (v.rule_ref) {
		const struct bw_policy_ruleinfo *ri = bw_policy_rule_lookup(v.rule_ref);

		snprintf(why, sizeof(why), "denied by the deny rule %s %s%s%s rule %u%s",
			 ri ? ri->kind : "?", ri ? ri->namespace : "",
			 ri && *ri->namespace ? "/" : "", ri ? ri->name : "?",
			 ri ? ri->rule_index : 0, audit ? " (audit mode: not dropped)" : "");
	} else if (names[0]) {
		snprintf(why, sizeof(why), "denied by default deny; endpoint isolated by policies %s%s",
			 names, audit ? " (audit mode: not dropped)" : "");
	} else {
		snprintf(why, sizeof(why), "denied by default deny (policy.enforcement=always)%s",
			 audit ? " (audit mode: not dropped)" : "");
	}
	json_object_set_new(o, "reason", json_string(why));
	return o;
}

static int pa_trace(struct bw_api_request *req, void *arg)
{
	const char *from = bw_api_req_query(req, "from");
	const char *to = bw_api_req_query(req, "to");
	const char *port_s = bw_api_req_query(req, "port");
	const char *proto_s = bw_api_req_query(req, "protocol");
	struct pa_peer src, dst;
	uint8_t proto;
	long port = 0;
	char *end, pbuf[8];
	const char *v_eg = NULL, *v_in = NULL, *overall;
	json_t *o, *steps;

	if (pa_proto_parse(proto_s, &proto) < 0)
		return bw_api_reply_error(req, 400,
					  "--protocol %s: give TCP, UDP, SCTP, ICMP, ICMPv6 or a number",
					  proto_s);
	if (port_s && *port_s) {
		port = strtol(port_s, &end, 10);
		if (*end || port < 0 || port > ((proto == 1 || proto == 58) ? 255 : 65535))
			return bw_api_reply_error(req, 400, "--port %s is not a valid %s",
						  port_s, (proto == 1 || proto == 58) ? "ICMP type"
										: "port");
	} else if (proto != 1 && proto != 58) {
		return bw_api_reply_error(req, 400, "--port is required");
	}
	if (pa_peer_parse(req, "from", from, 0, &src) < 0 ||
	    pa_peer_parse(req, "to", to, 0, &dst) < 0)
		return 0;
	if (!src.ep && !dst.ep)
		return bw_api_reply_error(req, 400,
					  "neither %s nor %s is a local endpoint: nothing on this node checks that traffic",
					  from, to);
	steps = json_array();
	if (src.ep)
		json_array_append_new(steps, pa_trace_dir(src.ep, BW_DIR_EGRESS, dst.identity,
							  proto, (uint16_t)port, &v_eg));
	if (dst.ep)
		json_array_append_new(steps, pa_trace_dir(dst.ep, BW_DIR_INGRESS, src.identity,
							  proto, (uint16_t)port, &v_in));
	if ((v_eg && !strcmp(v_eg, "DENIED")) || (v_in && !strcmp(v_in, "DENIED")))
		overall = "DENIED";
	else if ((v_eg && !strcmp(v_eg, "UNKNOWN")) || (v_in && !strcmp(v_in, "UNKNOWN")))
		overall = "UNKNOWN";
	else if ((v_eg && !strcmp(v_eg, "AUDIT")) || (v_in && !strcmp(v_in, "AUDIT")))
		overall = "AUDIT";
	else if ((v_eg && !strcmp(v_eg, "REDIRECTED")) || (v_in && !strcmp(v_in, "REDIRECTED")))
		overall = "REDIRECTED";
	else
		overall = "ALLOWED";
	o = json_pack("{s:s,s:I,s:s,s:I,s:s,s:i,s:o,s:s}", "from", src.name,
		      "from_identity", (json_int_t)src.identity, "to", dst.name,
		      "to_identity", (json_int_t)dst.identity, "protocol",
		      pa_proto_name(proto, pbuf, sizeof(pbuf)), "port", (int)port, "steps",
		      steps, "verdict", overall);
	/* an address an ipBlock split off its endpoint identity (docs/policy.md) */
	if (o && bw_resolver_split_base(bw_pol_resolver(), src.identity))
		json_object_set_new(o, "from_identity_split_of",
				    json_integer(bw_resolver_split_base(bw_pol_resolver(),
									src.identity)));
	if (o && bw_resolver_split_base(bw_pol_resolver(), dst.identity))
		json_object_set_new(o, "to_identity_split_of",
				    json_integer(bw_resolver_split_base(bw_pol_resolver(),
									dst.identity)));
	return bw_api_reply_json(req, 200, o);
}

/* ---- resolved ------------------------------------------------------------------------- */

static int pa_kv_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct bw_policy_kv *)a)->key,
		      &((const struct bw_policy_kv *)b)->key, sizeof(struct bw_policy_key));
}

struct pa_mapread {
	struct bw_policy_kv *v;
	size_t n, cap;
	int err;
};

static int pa_mapread_cb(const struct bw_policy_key *k, const struct bw_policy_value *val,
			 void *arg)
{
	struct pa_mapread *m = arg;

	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct bw_policy_kv *nv = realloc(m->v, cap * sizeof(*nv));

		if (!nv) {
			m->err = -ENOMEM;
			return 1;
		}
		m->v = nv;
		m->cap = cap;
	}
	memset(&m->v[m->n], 0, sizeof(m->v[m->n]));
	m->v[m->n].key = *k;
	m->v[m->n].value = *val;
	m->n++;
	return 0;
}

/* Does the map hold exactly what the resolver computed for ep_id? */
static int pa_in_sync(uint32_t ep_id, const struct bw_rv_entry *e, size_t n,
		      size_t *map_entries)
{
	struct bw_policy_entry_spec *specs = n ? bw_pol_entry_specs(e, n) : NULL;
	struct bw_policy_kv *want = NULL;
	size_t nwant = 0;
	struct pa_mapread m = { 0 };
	int same;

	*map_entries = 0;
	if (n && !specs)
		return -ENOMEM;
	if (bw_datapath_policy_expand(ep_id, specs, n, &want, &nwant) < 0 ||
	    bw_datapath_policy_foreach(ep_id, pa_mapread_cb, &m) < 0 || m.err) {
		free(specs);
		free(want);
		free(m.v);
		return -EIO;
	}
	*map_entries = m.n;
	qsort(m.v, m.n, sizeof(*m.v), pa_kv_cmp);
	qsort(want, nwant, sizeof(*want), pa_kv_cmp);
	same = m.n == nwant;
	for (size_t i = 0; same && i < nwant; i++)
		if (memcmp(&want[i].key, &m.v[i].key, sizeof(want[i].key)) ||
		    want[i].value.rule_ref != m.v[i].value.rule_ref ||
		    want[i].value.flags != m.v[i].value.flags ||
		    want[i].value.proxy_class != m.v[i].value.proxy_class)
			same = 0;
	free(specs);
	free(want);
	free(m.v);
	return same;
}

/* The rules behind an endpoint's redirects (docs/redirect.md). */
static json_t *pa_l7_json(uint32_t ep_id)
{
	const struct bw_rv_l7 *l7 = NULL;
	json_t *arr = json_array();
	size_t n = 0;
	char pbuf[8];

	if (bw_resolver_endpoint_l7(bw_pol_resolver(), ep_id, &l7, &n) < 0)
		return arr;
	for (size_t i = 0; i < n; i++) {
		const char *cname = bw_redirect_class_name(l7[i].proxy_class);
		const char *txt = l7[i].allow_all ? NULL
						  : bw_policy_l7_rules(l7[i].rule_ref, l7[i].port_index);
		json_t *x = json_pack("{s:s,s:I,s:s,s:i,s:i,s:s,s:I,s:o}", "direction",
				      pa_dir_name(l7[i].direction), "identity",
				      (json_int_t)l7[i].identity, "protocol",
				      pa_proto_name(l7[i].protocol, pbuf, sizeof(pbuf)), "port_lo",
				      (int)l7[i].port_lo, "port_hi", (int)l7[i].port_hi, "proxy_class",
				      cname ? cname : "?", "rule_ref", (json_int_t)l7[i].rule_ref,
				      "policy", pa_ruleinfo_json(l7[i].rule_ref));

		if (!x)
			continue;
		if (l7[i].allow_all)
			json_object_set_new(x, "allow_all", json_true());
		else
			json_object_set_new(x, "rules", txt ? json_loads(txt, 0, NULL) : json_null());
		json_array_append_new(arr, x);
	}
	return arr;
}

static int pa_resolved(struct bw_api_request *req, void *arg)
{
	const char *rest = pa_rest(req, "/v1/policy/resolved/");
	const char *slash = strchr(rest, '/');
	struct bw_endpoint *ep;
	const struct bw_rv_entry *e = NULL;
	size_t n = 0, map_n = 0;
	uint32_t flags = 0, ep_id;
	char ns[256], names[1024], pbuf[8];
	json_t *o, *arr, *iso, *l7;
	int sync;

	if (!slash || (size_t)(slash - rest) >= sizeof(ns) || !slash[1])
		return bw_api_reply_error(req, 400, "give the endpoint as NAMESPACE/POD");
	memcpy(ns, rest, (size_t)(slash - rest));
	ns[slash - rest] = '\0';
	ep = bw_endpoint_find(ns, slash + 1);
	if (!ep)
		return bw_api_reply_error(req, 404, "no endpoint %s", rest);
	ep_id = bw_endpoint_id(ep);
	if (bw_resolver_endpoint_state(bw_pol_resolver(), ep_id, &flags, &e, &n) < 0)
		return bw_api_reply_error(req, 404, "endpoint %s has no resolved policy yet", rest);
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct bw_labelset *ls = bw_identity_labels(e[i].identity);
		json_t *x = json_pack("{s:s,s:I,s:s,s:i,s:i,s:s,s:I}", "direction",
				      pa_dir_name(e[i].direction), "identity",
				      (json_int_t)e[i].identity, "protocol",
				      pa_proto_name(e[i].protocol, pbuf, sizeof(pbuf)),
				      "port_lo", (int)e[i].port_lo, "port_hi", (int)e[i].port_hi,
				      "action", e[i].deny ? "deny" : e[i].proxy_class ? "redirect" : "allow",
				      "rule_ref", (json_int_t)e[i].rule_ref);
		const char *cname = bw_redirect_class_name(e[i].proxy_class);

		json_object_set_new(x, "labels",
				    e[i].identity == 0 ? json_pack("[s]", "(any)")
				    : ls		? bw_labelset_to_json(ls)
							: json_array());
		json_object_set_new(x, "policy", e[i].rule_ref ? pa_ruleinfo_json(e[i].rule_ref)
							       : json_null());
		if (e[i].proxy_class)
			json_object_set_new(x, "proxy_class", json_string(cname ? cname : "?"));
		json_array_append_new(arr, x);
	}
	l7 = pa_l7_json(ep_id);
	sync = pa_in_sync(ep_id, e, n, &map_n);
	o = json_pack("{s:s,s:I,s:I,s:{s:b,s:b,s:b}}", "endpoint", rest, "endpoint_id",
		      (json_int_t)ep_id, "identity", (json_int_t)bw_endpoint_identity(ep),
		      "flags", "enforce_ingress", !!(flags & BW_EP_F_ENFORCE_INGRESS),
		      "enforce_egress", !!(flags & BW_EP_F_ENFORCE_EGRESS), "audit",
		      !!(flags & BW_EP_F_AUDIT));
	iso = json_object();
	json_object_set_new(iso, "ingress", pa_isolating(ep_id, BW_DIR_INGRESS, names, sizeof(names)));
	json_object_set_new(iso, "egress", pa_isolating(ep_id, BW_DIR_EGRESS, names, sizeof(names)));
	json_object_set_new(o, "isolated_by", iso);
	json_object_set_new(o, "entries", arr);
	json_object_set_new(o, "l7", l7);
	json_object_set_new(o, "map_entries", json_integer((json_int_t)map_n));
	json_object_set_new(o, "in_sync", sync < 0 ? json_null() : json_boolean(sync));
	return bw_api_reply_json(req, 200, o);
}

/* ---- status ------------------------------------------------------------------------------ */

json_t *bw_policy_status_json(void *arg)
{
	static const char *const modes[] = { "default", "always", "never" };
	struct bw_resolver_stats st;
	int m = bw_pol_enforcement();

	bw_resolver_stats(bw_pol_resolver(), &st);
	return json_pack("{s:I,s:s,s:b,s:o,s:{s:I,s:I,s:I,s:I,s:I,s:I}}", "policies",
			 (json_int_t)bw_policy_count(), "enforcement",
			 m >= 0 && m <= 2 ? modes[m] : "?", "audit", bw_pol_audit(), "files",
			 bw_policydir_to_json(), "resolver", "identities",
			 (json_int_t)st.identities, "endpoints", (json_int_t)st.endpoints,
			 "selectors", (json_int_t)st.selectors, "entries",
			 (json_int_t)st.entries, "syncs", (json_int_t)st.syncs,
			 "split_identities", (json_int_t)st.splits);
}

int bw_policy_api_init(void)
{
	static const struct {
		const char *method, *path;
		bw_api_fn fn;
	} routes[] = {
		{ "GET", "/v1/policies", pa_list },
		{ "POST", "/v1/policies", pa_import },
		{ "PUT", "/v1/policies", pa_replace },
		{ "GET", "/v1/policies/", pa_get },
		{ "DELETE", "/v1/policies/", pa_delete },
		{ "GET", "/v1/policy/trace", pa_trace },
		{ "GET", "/v1/policy/resolved/", pa_resolved },
	};
	int e;

	for (size_t i = 0; i < sizeof(routes) / sizeof(*routes); i++) {
		e = bw_api_route_add(routes[i].method, routes[i].path, routes[i].fn, NULL);
		if (e < 0 && e != -EEXIST)
			return e;
	}
	e = bw_api_status_add("policy", bw_policy_status_json, NULL);
	return e == -EEXIST ? 0 : e;
}
