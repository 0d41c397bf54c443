/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/proxyconn.c - what the core tells a proxy about a connection
 * the datapath redirected to it, and the proxy's upstream side (see
 * core/policy/proxyconn.h and docs/redirect.md).
 *
 * Which policy sent a connection to a proxy is read from the connection's
 * tracking entry (the datapath wrote the class, and BW_CT_F_PROXY_INGRESS
 * when the decision was the server's ingress policy). The L7 rules are the
 * resolver's contributions for that endpoint, direction, peer identity (or
 * any peer), protocol and port: every L7 port of the redirect's class, OR-ed
 * (Cilium merges the L7 rules of a port across rules), plus an "allow_all"
 * item for each plain, port-specific allow of the same peer and port (an L4
 * rule next to an L4+L7 rule voids the L7 part, as in Cilium). Whether the
 * connection is redirected at all comes from the pinned policy map with the
 * kernel's precedence (bw_datapath_policy_lookup).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h" /* before bw_datapath.h: its BW_ENFORCE_* macros */
#include "core/datapath/datapath.h"
#include "core/datapath/redirect.h"
#include "core/log.h"
#include "core/node/endpoint.h"
#include "core/node/identity.h"
#include "core/node/ipcache.h"
#include "core/node/labels.h"
#include "core/policy/policy.h"
#include "core/policy/policy_int.h"
#include "core/policy/proxyconn.h"
#include "core/policy/resolver.h"

static const char *pc_proto_name(int protocol)
{
	return protocol == IPPROTO_UDP ? "UDP" : "TCP";
}

int bw_proxyconn_listen(const char *class_name, int protocol, int family, uint16_t port,
			uint16_t *bound)
{
	int cls = bw_redirect_class_id(class_name, 1), fd;

	if (cls < 0) {
		bw_err("redirect: \"%s\" is not a proxy class name (dns, http, kafka, or an l7proto name of [a-z0-9._-]): %s",
		       class_name ? class_name : "(null)", strerror(-cls));
		return cls;
	}
	fd = bw_redirect_listen((unsigned)cls, protocol, family, port, bound);
	if (fd < 0) {
		bw_err("redirect: cannot open the %s proxy's %s/IPv%d socket%s: %s", class_name,
		       pc_proto_name(protocol), family == AF_INET6 ? 6 : 4,
		       fd == -EBUSY ? " (another one is open)" : "", strerror(-fd));
		return fd;
	}
	bw_info("redirect: the %s proxy listens on %s/IPv%d port %u", class_name,
		pc_proto_name(protocol), family == AF_INET6 ? 6 : 4, *bound);
	return fd;
}

/* Address bytes (IPv4: 4) and port of a sockaddr. */
static int pc_addr(const struct sockaddr *sa, uint8_t *addr, uint16_t *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		memcpy(addr, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
		return 4;
	}
	memcpy(addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	*port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 6;
}

static void pc_side(struct bw_proxyconn_side *s, const struct sockaddr *sa)
{
	struct bw_ipcache_entry ent;
	struct bw_endpoint *ep;
	uint8_t addr[16];
	uint16_t port;
	int fam = pc_addr(sa, addr, &port);

	memset(s, 0, sizeof(*s));
	memcpy(&s->addr, sa, bw_redirect_addrlen(sa));
	bw_ipcache_lookup(fam, addr, &ent); /* a miss is world */
	s->identity = ent.identity;
	s->ep_id = ent.ep_id;
	ep = ent.ep_id ? bw_endpoint_find_by_id(ent.ep_id) : NULL;
	if (ep) {
		s->ns = bw_endpoint_ns(ep);
		s->pod = bw_endpoint_pod(ep);
	}
}

/* The tracking entry of a redirected connection, if this key has one. */
static int pc_ct(int protocol, const struct sockaddr *client, const struct sockaddr *server,
		 uint32_t ep_id, uint8_t dir, struct bw_ct_entry *e)
{
	struct bw_ct_key k;

	if (!ep_id || bw_redirect_ct_key(&k, protocol, client, server, ep_id, dir) < 0 ||
	    bw_datapath_ct_get(&k, e) < 0)
		return 0;
	return e->proxy_class != 0 && !(e->flags & BW_CT_F_UPSTREAM);
}

static json_t *pc_policy_json(uint32_t ref)
{
	const struct bw_policy_ruleinfo *ri = bw_policy_rule_lookup(ref);

	if (!ri)
		return json_null();
	return json_pack("{s:s,s:s,s:s,s:I}", "kind", ri->kind, "namespace", ri->namespace,
			 "name", ri->name, "revision", (json_int_t)ri->revision);
}

/* One item of the rules list (NULL when its rule is gone). */
static json_t *pc_rule_item(uint32_t ref, uint32_t identity, int allow_all, uint32_t port_index)
{
	const struct bw_policy_ruleinfo *ri = bw_policy_rule_lookup(ref);
	json_t *o, *rules;
	const char *txt;

	if (!ri && !ref && allow_all) /* the endpoint's visibility setting alone */
		return json_pack("{s:b,s:I}", "allow_all", 1, "peer_identity",
				 (json_int_t)identity);
	if (!ri)
		return NULL;
	o = json_pack("{s:I,s:o,s:i,s:s,s:i,s:I}", "rule_ref", (json_int_t)ref, "policy",
		      pc_policy_json(ref), "rule_index", (int)ri->rule_index, "direction",
		      ri->direction == BW_DIR_INGRESS ? "ingress" : "egress", "entry_index",
		      (int)ri->entry_index, "peer_identity", (json_int_t)identity);
	if (!o)
		return NULL;
	if (ri->log)
		json_object_set_new(o, "log", json_string(ri->log));
	if (allow_all) {
		json_object_set_new(o, "allow_all", json_true());
		return o;
	}
	json_object_set_new(o, "port_index", json_integer(port_index));
	txt = bw_policy_l7_rules(ref, port_index);
	rules = txt ? json_loads(txt, 0, NULL) : NULL;
	if (!json_is_object(rules)) {
		json_decref(rules);
		json_decref(o);
		return NULL;
	}
	json_object_update(o, rules); /* "http": [...], "dns": [...], "l7proto" + "l7" */
	json_decref(rules);
	return o;
}

static int pc_has(json_t *arr, uint32_t ref, int allow_all, uint32_t port_index)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		if ((uint32_t)json_integer_value(json_object_get(v, "rule_ref")) != ref)
			continue;
		if (allow_all && json_is_true(json_object_get(v, "allow_all")))
			return 1;
		if (!allow_all && !json_is_true(json_object_get(v, "allow_all")) &&
		    (uint32_t)json_integer_value(json_object_get(v, "port_index")) == port_index)
			return 1;
	}
	return 0;
}

static void pc_add(json_t *arr, uint32_t ref, uint32_t identity, int allow_all,
		   uint32_t port_index, int visibility)
{
	json_t *o;
	size_t i;

	if (pc_has(arr, ref, allow_all, port_index)) {
		json_array_foreach(arr, i, o)
			if (visibility && json_is_true(json_object_get(o, "allow_all")) &&
			    (uint32_t)json_integer_value(json_object_get(o, "rule_ref")) == ref)
				json_object_set_new(o, "visibility", json_true());
		return;
	}
	o = pc_rule_item(ref, identity, allow_all, port_index);
	if (o && visibility)
		json_object_set_new(o, "visibility", json_true());
	if (o)
		json_array_append_new(arr, o);
}

void bw_proxyconn_rules(uint32_t ep_id, int dir, uint32_t peer, int protocol, uint16_t port,
			unsigned cls, json_t *out)
{
	struct bw_resolver *r = bw_pol_resolver();
	const struct bw_rv_l7 *l7 = NULL;
	const struct bw_rv_entry *e = NULL;
	size_t nl7 = 0, n = 0;

	if (!r || bw_resolver_endpoint_l7(r, ep_id, &l7, &nl7) < 0 ||
	    bw_resolver_endpoint_state(r, ep_id, NULL, &e, &n) < 0)
		return;
	int have_rules = 0;

	for (size_t i = 0; i < nl7; i++) {
		const struct bw_rv_l7 *x = &l7[i];

		if (x->visibility || x->direction != dir || x->protocol != protocol ||
		    x->proxy_class != cls || (x->identity != peer && x->identity != 0) ||
		    port < x->port_lo || port > x->port_hi)
			continue;
		pc_add(out, x->rule_ref, x->identity, x->allow_all, x->port_index, 0);
		if (!x->allow_all)
			have_rules = 1;
	}
	/* plain allows of this port (not of every port) void the L7 rules */
	for (size_t i = 0; i < n; i++) {
		const struct bw_rv_entry *x = &e[i];

		if (x->deny || x->proxy_class || x->direction != dir || x->protocol != protocol ||
		    (x->identity != peer && x->identity != 0) ||
		    (x->port_lo == 0 && x->port_hi == 0) || port < x->port_lo || port > x->port_hi)
			continue;
		pc_add(out, x->rule_ref, x->identity, 1, 0, 0);
	}
	/*
	 * The endpoint's visibility setting, where no L7 rules of the policy
	 * apply: every request allowed, the items say so (those of the rules
	 * that allow the port keep naming their policy).
	 */
	for (size_t i = 0; i < nl7 && !have_rules; i++) {
		const struct bw_rv_l7 *x = &l7[i];
		json_t *it;
		size_t j;

		if (!x->visibility || x->direction != dir || x->protocol != protocol ||
		    x->proxy_class != cls || port < x->port_lo || port > x->port_hi)
			continue;
		if (json_array_size(out) == 0) {
			pc_add(out, x->rule_ref, x->identity, 1, 0, 1);
			continue;
		}
		json_array_foreach(out, j, it)
			json_object_set_new(it, "visibility", json_true());
	}
}

int bw_proxyconn_lookup_conn(int protocol, const struct sockaddr *client,
			     const struct sockaddr *orig_dst, struct bw_proxyconn *c)
{
	struct bw_ct_entry e;

	memset(c, 0, sizeof(*c));
	if (!client || !orig_dst || !bw_redirect_addrlen(client) ||
	    client->sa_family != orig_dst->sa_family ||
	    (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP))
		return -EINVAL;
	c->protocol = protocol;
	c->family = client->sa_family;
	pc_side(&c->client, client);
	pc_side(&c->server, orig_dst);
	if (pc_ct(protocol, client, orig_dst, c->client.ep_id, BW_DIR_EGRESS, &e)) {
		c->direction = (e.flags & BW_CT_F_PROXY_INGRESS) ? BW_DIR_INGRESS : BW_DIR_EGRESS;
	} else if (pc_ct(protocol, client, orig_dst, c->server.ep_id, BW_DIR_INGRESS, &e)) {
		c->direction = BW_DIR_INGRESS;
	} else {
		return -ENOENT;
	}
	c->policy_ep = c->direction == BW_DIR_EGRESS ? c->client.ep_id : c->server.ep_id;
	c->proxy_class = e.proxy_class;
	c->class_name = bw_redirect_class_name(e.proxy_class);
	c->proxy_port = bw_redirect_port(e.proxy_class, protocol);
	c->generation = bw_policy_generation();
	return 0;
}

uint32_t bw_proxyconn_peer(const struct bw_proxyconn *c)
{
	return c->direction == BW_DIR_EGRESS ? c->server.identity : c->client.identity;
}

uint16_t bw_proxyconn_port(const struct bw_proxyconn *c)
{
	uint8_t tmp[16];
	uint16_t port;

	pc_addr((const struct sockaddr *)&c->server.addr, tmp, &port);
	return port;
}

int bw_proxyconn_lookup_rules(struct bw_proxyconn *c)
{
	struct bw_policy_verdict v;
	uint32_t peer = bw_proxyconn_peer(c);
	uint16_t port = bw_proxyconn_port(c);

	json_decref(c->rules);
	c->redirected = 0;
	c->rules = json_array();
	if (!c->rules)
		return -ENOMEM;
	if (bw_datapath_policy_lookup(c->policy_ep, peer, (uint8_t)c->direction,
				      (uint8_t)c->protocol, port, &v) < 0)
		return 0; /* no rules: the proxy denies */
	if (v.allowed && v.proxy_class == c->proxy_class) {
		c->redirected = 1;
		bw_proxyconn_rules(c->policy_ep, c->direction, peer, c->protocol, port,
				   c->proxy_class, c->rules);
	} else if (v.allowed && v.rule_ref) {
		/* the policy changed: this port is plainly allowed now */
		pc_add(c->rules, v.rule_ref, peer, 1, 0, 0);
	}
	return 0;
}

int bw_proxyconn_lookup(int protocol, const struct sockaddr *client,
			const struct sockaddr *orig_dst, struct bw_proxyconn *c)
{
	int rc = bw_proxyconn_lookup_conn(protocol, client, orig_dst, c);

	return rc < 0 ? rc : bw_proxyconn_lookup_rules(c);
}

void bw_proxyconn_release(struct bw_proxyconn *c)
{
	if (!c)
		return;
	json_decref(c->rules);
	c->rules = NULL;
}

static int pc_upstream(const struct bw_proxyconn *c, int do_connect)
{
	uint32_t mark = c->direction == BW_DIR_EGRESS ? BW_MARK_FROM_PROXY_EGRESS
						      : BW_MARK_FROM_PROXY_INGRESS;
	const struct sockaddr *src = NULL;
	struct sockaddr_storage cli;

	/*
	 * Keep the client's address towards a local endpoint: its ingress
	 * policy sees the client's identity, and its replies leave through
	 * its own veth, where the datapath hands them back to this socket.
	 * Replies from beyond the node would meet the kernel's early demux
	 * before any program of ours (it finds this socket and drops them as
	 * forwarded packets), so other destinations see the node's address.
	 */
	if (c->server.ep_id) {
		/*
		 * The client's own port must not be taken where two tracking
		 * entries would share the tuple: a client from outside the
		 * node (its connection's entry and the upstream's are both
		 * the server's ingress), and the upstream entry of an egress
		 * redirect (below). A local pod's connection after an ingress
		 * redirect is keyed on the pod, the upstream on the server;
		 * the node's own client socket holds its port already.
		 */
		memcpy(&cli, &c->client.addr, sizeof(cli));
		if (c->direction == BW_DIR_INGRESS &&
		    (c->client.ep_id || c->client.identity == BW_ID_HOST)) {
			if (cli.ss_family == AF_INET)
				((struct sockaddr_in *)&cli)->sin_port = 0;
			else
				((struct sockaddr_in6 *)&cli)->sin6_port = 0;
		}
		src = (const struct sockaddr *)&cli;
	}
	/*
	 * The tracking entry that turns the node's own replies around to
	 * this socket (an ingress proxy answering) is needed only when the
	 * server's ingress may redirect this connection again: after an
	 * egress redirect. An ingress proxy's upstream is never redirected
	 * (BW_MARK_FROM_PROXY_INGRESS): the server itself answers.
	 */
	return bw_redirect_connect(c->protocol, src, (const struct sockaddr *)&c->server.addr,
				   mark,
				   src && c->direction == BW_DIR_EGRESS ? c->client.ep_id : 0,
				   c->server.identity, do_connect);
}

int bw_proxyconn_upstream(const struct bw_proxyconn *c)
{
	return pc_upstream(c, 1);
}

int bw_proxyconn_upstream_socket(const struct bw_proxyconn *c)
{
	return pc_upstream(c, 0);
}

json_t *bw_proxyconn_rule_list(const struct bw_proxyconn *c, const char *kind, json_t **owners)
{
	json_t *list = json_array(), *own = json_array(), *it;
	size_t i;

	*owners = NULL;
	if (!list || !own) {
		json_decref(list);
		json_decref(own);
		return NULL;
	}
	json_array_foreach(c->rules, i, it) {
		json_t *pol = json_object_get(it, "policy"), *rules, *r;
		size_t j;

		if (json_is_true(json_object_get(it, "allow_all"))) {
			/* an empty rule matches every request */
			json_array_append_new(list, json_object());
			json_array_append(own, pol);
			continue;
		}
		rules = json_object_get(it, kind);
		json_array_foreach(rules, j, r) {
			json_array_append(list, r);
			json_array_append(own, pol);
		}
	}
	*owners = own;
	return list;
}

static json_t *pc_side_json(const struct bw_proxyconn_side *s)
{
	char ip[INET6_ADDRSTRLEN];
	uint8_t addr[16];
	uint16_t port;
	int fam = pc_addr((const struct sockaddr *)&s->addr, addr, &port);
	const struct bw_labelset *ls = bw_identity_labels(s->identity);
	json_t *o;

	inet_ntop(fam == 4 ? AF_INET : AF_INET6, addr, ip, sizeof(ip));
	o = json_pack("{s:s,s:i,s:I,s:I}", "ip", ip, "port", (int)port, "identity",
		      (json_int_t)s->identity, "endpoint_id", (json_int_t)s->ep_id);
	if (!o)
		return NULL;
	if (s->ns) {
		json_object_set_new(o, "namespace", json_string(s->ns));
		json_object_set_new(o, "pod_name", json_string(s->pod));
	}
	json_object_set_new(o, "labels", ls ? bw_labelset_to_json(ls) : json_array());
	return o;
}

json_t *bw_proxyconn_to_json(const struct bw_proxyconn *c)
{
	json_t *rules = c->rules ? json_incref(c->rules) : json_array();
	json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:b,s:o,s:o,s:I,s:o,s:I}", "protocol",
			      pc_proto_name(c->protocol), "direction",
			      c->direction == BW_DIR_INGRESS ? "ingress" : "egress", "class",
			      c->class_name ? c->class_name : "", "proxy_port",
			      (int)c->proxy_port, "redirected", c->redirected, "client",
			      pc_side_json(&c->client), "server", pc_side_json(&c->server),
			      "policy_endpoint_id", (json_int_t)c->policy_ep, "rules",
			      rules, "generation",
			      (json_int_t)c->generation);
	return o;
}
