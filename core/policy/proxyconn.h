/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/proxyconn.h - the core's service for the proxies that the
 * datapath redirects connections to (docs/redirect.md): the L7 engine
 * (core/proxy/) calls it directly, modules (the DNS proxy) through
 * struct bw_core_api (redirect_* members, ABI 1.2).
 *
 *  - bw_proxyconn_listen(): a transparent socket of a proxy class that the
 *    datapath hands the class's connections to;
 *  - bw_proxyconn_lookup(): for an accepted connection or a received
 *    datagram (client address, original destination), who the two sides
 *    are (endpoint, namespace, pod, labels, identity), whose policy sent
 *    it to the proxy (the client's egress or the server's ingress) and the
 *    L7 rules that apply, with the policies behind them;
 *  - bw_proxyconn_upstream(): the proxy's connection to the original
 *    destination, so that the destination's own policy still sees the
 *    client's identity.
 *
 * Everything answers from what the datapath holds (its connection-tracking
 * entry, the pinned policy map) and the resolver's state as last synced,
 * never from a second evaluation of the rules. Loop thread only.
 */
#ifndef BW_POLICY_PROXYCONN_H
#define BW_POLICY_PROXYCONN_H

#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>

/* One side of a redirected connection. */
struct bw_proxyconn_side {
	struct sockaddr_storage addr;
	uint32_t identity;
	uint32_t ep_id;           /* local endpoint, 0 when not one */
	const char *ns, *pod;     /* NULL when not a local endpoint */
};

struct bw_proxyconn {
	int protocol;             /* IPPROTO_TCP / IPPROTO_UDP */
	int family;               /* AF_INET / AF_INET6 */
	struct bw_proxyconn_side client, server; /* server: the original destination */
	int direction;            /* BW_DIR_EGRESS: the client's egress policy
				   * redirected it; BW_DIR_INGRESS: the server's */
	uint32_t policy_ep;       /* the endpoint whose policy that is */
	unsigned proxy_class;     /* BW_PROXY_CLASS_* */
	const char *class_name;
	uint16_t proxy_port;
	int redirected;           /* the policy redirects it now (else the rules
				   * are what the L3/L4 verdict implies: none
				   * when denied, allow-all when plainly allowed) */
	json_t *rules;            /* JSON array, see docs/redirect.md (owned) */
	uint64_t generation;      /* bw_policy_generation() when looked up */
};

/*
 * Open the transparent socket of class class_name ("dns", "http", "kafka"
 * or an l7proto name) for protocol and family (core/datapath/redirect.h:
 * bw_redirect_listen). Returns the fd or -errno; logs.
 */
int bw_proxyconn_listen(const char *class_name, int protocol, int family, uint16_t port,
			uint16_t *bound);

/*
 * Fill c for the connection client -> orig_dst (same family). Returns 0,
 * or -ENOENT when the datapath redirected no such connection (nothing the
 * proxy should serve). Release with bw_proxyconn_release().
 */
int bw_proxyconn_lookup(int protocol, const struct sockaddr *client,
			const struct sockaddr *orig_dst, struct bw_proxyconn *c);
void bw_proxyconn_release(struct bw_proxyconn *c);

/*
 * The two halves of bw_proxyconn_lookup(), for a caller that caches the
 * rules: _conn() fills everything but rules and redirected (one
 * connection-tracking lookup; c->rules is NULL); _rules() then reads the
 * policy and the rules for c. The rules depend only on c->policy_ep,
 * c->direction, bw_proxyconn_peer(c), c->protocol, bw_proxyconn_port(c),
 * c->proxy_class and c->generation: equal keys, equal rules.
 */
int bw_proxyconn_lookup_conn(int protocol, const struct sockaddr *client,
			     const struct sockaddr *orig_dst, struct bw_proxyconn *c);
int bw_proxyconn_lookup_rules(struct bw_proxyconn *c);
/* The peer whose identity the policy looks at, and the destination port. */
uint32_t bw_proxyconn_peer(const struct bw_proxyconn *c);
uint16_t bw_proxyconn_port(const struct bw_proxyconn *c);

/*
 * The proxy's upstream socket to c's original destination, non-blocking,
 * connect in progress: from the client's own address when the destination
 * is a local endpoint (its ingress policy sees the client's identity;
 * replies come back to this socket), else from the node's address. Marked
 * as coming from a proxy (BW_MARK_FROM_PROXY_*), so the destination's
 * ingress does not redirect it again when the proxy already applied it.
 * Returns the fd or -errno (not logged).
 */
int bw_proxyconn_upstream(const struct bw_proxyconn *c);
/* The same socket, bound and marked but not connected (the caller
 * connects to c->server.addr; the L7 engine's upstream_socket op). */
int bw_proxyconn_upstream_socket(const struct bw_proxyconn *c);

/*
 * c's rules of one kind as one flat list, what a parser compiles: every
 * rule of every item ("http": [...] of each policy rule, in order), an
 * allow_all item as an empty rule {} (it matches every request). *owners
 * gets a parallel array with the "policy" object behind each rule (flow
 * attribution). Returns a new reference (NULL: ENOMEM); for l7proto rules
 * pass "l7".
 */
json_t *bw_proxyconn_rule_list(const struct bw_proxyconn *c, const char *kind, json_t **owners);

/*
 * Append to out the L7 rules that apply to a connection endpoint ep_id's
 * policy redirected to class cls in direction dir from/to peer identity
 * peer on protocol/port (the "rules" of a lookup; policy trace uses it).
 */
void bw_proxyconn_rules(uint32_t ep_id, int dir, uint32_t peer, int protocol, uint16_t port,
			unsigned cls, json_t *out);

/* The lookup as one JSON object (the API, the test module, logs). */
json_t *bw_proxyconn_to_json(const struct bw_proxyconn *c);

#endif /* BW_POLICY_PROXYCONN_H */
