/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/resolver.h - from rules, identities and endpoints to policy map entries.
 *
 * The resolver keeps its own model of its inputs: the identities (number and
 * labels), the local endpoints (identity, addresses, named ports, audit) and
 * the compiled rules of every policy. core/policy/policy.c feeds it from the
 * identity and endpoint registries; unit tests and the advisor's what-if
 * replay feed it by hand. Its output goes through a sync callback, one call
 * per endpoint whose entries or flags changed.
 *
 * The selector cache maps each distinct peer or subject selector (keyed by
 * its canonical text; entities and CIDR peers are selectors too) to the
 * sorted set of identities it selects. Label selectors are evaluated through
 * an index label -> identities, so a selector with an exact label
 * requirement only looks at identities carrying that label. A new or
 * removed identity is tested against every cached selector; only endpoints
 * selected by a rule whose peer selector changed (or whose own identity
 * changed) are recomputed and synced.
 *
 * Everything here runs on the loop thread. Reentrancy: the resolver calls
 * ops.cidr_acquire while it commits a policy; the identity events that
 * acquisition triggers may call bw_resolver_identity_add() at once, which
 * only marks work; the work is done by bw_resolver_flush().
 */
#ifndef BW_CORE_RESOLVER_H
#define BW_CORE_RESOLVER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct bw_labelset;
struct bw_selector;

/* One resolved policy map entry (the same fields as the datapath's spec). */
struct bw_rv_entry {
	uint32_t identity;  /* peer identity, 0 = any */
	uint8_t direction;  /* BW_DIR_INGRESS / BW_DIR_EGRESS */
	uint8_t protocol;   /* IPPROTO_*, 0 = any */
	uint8_t deny;
	uint8_t proxy_class; /* an allow that redirects to this proxy class
			      * (BW_PROXY_CLASS_*, docs/redirect.md); 0 = none */
	uint16_t port_lo;   /* host order; 0,0 = every port; ICMP: type,type */
	uint16_t port_hi;   /* always a power-of-two aligned block */
	uint32_t rule_ref;
	uint8_t visibility; /* identity 0, one port: no verdict of its own, only
			     * proxy_class for what other entries allow */
};

/*
 * What an L7 port contributes to an endpoint's redirects: the entries above
 * keep one winner per key, these keep every rule behind it, so that the
 * proxy can OR the L7 rules of all of them (docs/redirect.md). allow_all:
 * a plain allow of the same key (no L7 rules: every request is allowed).
 * port_index names the PORT of the rule entry behind rule_ref whose
 * "rules" apply.
 */
struct bw_rv_l7 {
	uint32_t identity;
	uint8_t direction, protocol, proxy_class, allow_all;
	uint16_t port_lo, port_hi;
	uint32_t rule_ref;   /* 0: the endpoint's visibility setting, no rule */
	uint32_t port_index;
	uint8_t visibility;  /* from the endpoint's visibility setting */
};

/* ---- compiled rules -------------------------------------------------- */

struct bw_rv_sel; /* a selector cache entry */

#define BW_RV_PEER_SEL 1    /* endpoint selector */
#define BW_RV_PEER_ENTITY 2 /* entity (a selector cache entry too) */
#define BW_RV_PEER_CIDR 3   /* CIDR peer (a selector cache entry too) */
#define BW_RV_PEER_FQDN 5   /* toFQDNs selector: identities labelled fqdn:<text> */

/* bw_rv_port.l7: the kind of L7 rules a port carries */
#define BW_RV_L7_NONE 0
#define BW_RV_L7_DNS 1   /* = BW_PROXY_CLASS_DNS */
#define BW_RV_L7_HTTP 2  /* = BW_PROXY_CLASS_HTTP */
#define BW_RV_L7_KAFKA 3 /* = BW_PROXY_CLASS_KAFKA */
#define BW_RV_L7_NAMED 4 /* l7proto: the class is looked up by name */

struct bw_rv_port {
	uint8_t protocol;   /* 6, 17, 132; 0 = ANY (TCP, UDP and SCTP) */
	uint16_t lo, hi;    /* 0,0 = every port */
	char *name;         /* named port, or NULL */
	int l7;             /* BW_RV_L7_*: the port is an L7 port */
	char *l7proto;      /* BW_RV_L7_NAMED: the protocol's name */
	char *l7rules;      /* the port's canonical "rules" object (JSON text) */
};

struct bw_rv_icmp {
	int family; /* 4 or 6 */
	uint8_t type;
};

struct bw_rv_peerdef {
	int type;            /* BW_RV_PEER_* */
	char *key;           /* selector cache key */
	struct bw_selector *sel;   /* BW_RV_PEER_SEL */
	int entity;          /* BW_RV_PEER_ENTITY: RV_ENT_* index */
	/* BW_RV_PEER_CIDR */
	int family;
	uint8_t addr[16];
	int plen;
	struct bw_rv_prefix *except;
	size_t nexcept;
	int match_endpoints;
	/* BW_RV_PEER_FQDN: canonical selector text (lib/fqdnmatch.h) */
	char *fqdn;
	/* set when committed */
	struct bw_rv_sel *cached;
};

struct bw_rv_prefix {
	int family;
	uint8_t addr[16];
	int plen;
	uint32_t cidr_id; /* CIDR identity acquired for it (0 = none) */
};

struct bw_rv_ruleentry {
	int deny;
	int any_peer;              /* peers absent */
	struct bw_rv_peerdef *peers;
	size_t npeers;
	int all_ports;             /* ports and icmps absent */
	struct bw_rv_port *ports;
	size_t nports;
	struct bw_rv_icmp *icmps;
	size_t nicmps;
	uint32_t rule_ref;         /* set by the repository */
};

struct bw_rv_rule {
	struct bw_selector *subject_sel;
	char *subject_key;
	char *subject_ep;            /* "ns/pod": only that endpoint (quarantine), or NULL */
	struct bw_rv_sel *subject;   /* set when committed */
	int default_deny[3];         /* indexed by BW_DIR_* */
	struct bw_rv_ruleentry *entries[3]; /* indexed by BW_DIR_* */
	size_t nentries[3];
	char *log;
	char *text;                  /* canonical JSON text of the rule */
	int egress_named;            /* has egress named ports */
	int endpoint_dep;            /* depends on endpoint addresses */
};

/* The compiled rules of one policy. */
struct bw_rv_policy {
	struct bw_rv_rule *rules;
	size_t nrules;
	void *owner;                 /* the repository's policy */
	int committed;
	/* CIDR identities acquired for the policy's CIDR peers */
	uint32_t *cidr_ids;
	size_t ncidr_ids;
	struct bw_rv_policy *prev, *next; /* the resolver's list */
};

/*
 * Compile the canonical "rules" array of one policy: selectors parsed,
 * CIDRs and ports checked. No side effects. Returns the compiled policy, or
 * NULL with errno (EINVAL with a message naming the field by its path below
 * "rules", e.g. "rules[0].ingress[1].peers[0].cidr: ...", ENOMEM).
 */
struct bw_rv_policy *bw_rv_policy_compile(const json_t *rules, char *err,
					  size_t errlen);
void bw_rv_policy_free(struct bw_rv_policy *p);

/* ---- the resolver ------------------------------------------------------ */

struct bw_resolver;

/* One endpoint as the resolver sees it (copied by endpoint_set). */
struct bw_rv_addr {
	int family; /* 4 or 6 */
	uint8_t addr[16];
};

struct bw_rv_named_port {
	const char *name;
	uint16_t port;
	uint8_t protocol;
};

/*
 * Proxy visibility of an endpoint (Cilium's proxy-visibility annotation,
 * docs/redirect.md "Visibility"): connections on that port that the policy
 * allows go through the proxy class's proxy, every request allowed.
 */
struct bw_rv_visibility {
	uint8_t direction;   /* BW_DIR_* */
	uint8_t protocol;    /* 6, 17, or 0 = ANY */
	uint8_t proxy_class; /* BW_PROXY_CLASS_* */
	uint8_t pad0;
	uint16_t port;
};

struct bw_rv_endpoint_desc {
	uint32_t ep_id;
	uint32_t ifindex;
	uint32_t identity;
	const char *ns, *pod;
	int audit;  /* endpoint or namespace audit */
	const struct bw_rv_addr *addrs;
	size_t naddrs;
	const struct bw_rv_named_port *ports;
	size_t nports;
	const struct bw_rv_visibility *vis;
	size_t nvis;
};

struct bw_rv_endpoint; /* the resolver's copy and its resolved state */

struct bw_resolver_ops {
	/*
	 * Write an endpoint's flags (BW_EP_F_*) and entries (sorted, unique).
	 * stricter is non-zero when a verdict may have changed to deny (an
	 * allow went away, a deny or enforcement appeared, audit went off), so
	 * existing connections must be cut; first is non-zero on the first sync
	 * of the endpoint in this resolver (restart: compare with the map).
	 * Return 0 or -errno (the resolver retries on the next flush).
	 */
	int (*sync)(void *arg, const struct bw_rv_endpoint_desc *ep,
		    uint32_t flags, const struct bw_rv_entry *e, size_t n,
		    int stricter, int first);
	/* Acquire/release the CIDR identity of a prefix (may be NULL). */
	int (*cidr_acquire)(void *arg, int family, const uint8_t *addr, int plen,
			    uint32_t *id);
	void (*cidr_release)(void *arg, uint32_t id);
	/*
	 * The proxy class of an l7proto name (may be NULL: such ports then
	 * allow nothing); 0 when no class can be had.
	 */
	uint8_t (*proxy_class)(void *arg, const char *l7proto);
	/*
	 * Kubernetes ipBlock peers match addresses (docs/policy.md, "ipBlock"):
	 * when the ipBlock peers hold some addresses of an endpoint identity
	 * and not others, the resolver gives those addresses an identity of
	 * their own, one per (identity, set of ipBlocks holding the address):
	 * split_acquire gets it (the identity's labels plus
	 * BW_RV_SPLIT_LABEL=sigkey), split_release drops it, split_map points
	 * an endpoint address at it in the ipcache (id 0: back to the
	 * endpoint's identity). Called from bw_resolver_flush(): acquisitions
	 * before the entries are synced, maps after, releases last. May be
	 * NULL: then an identity is selected by an ipBlock only when every
	 * one of its addresses lies in it (a replica outside is never
	 * admitted; one inside may be denied).
	 */
	int (*split_acquire)(void *arg, uint32_t base, const char *sigkey, uint32_t *id);
	void (*split_release)(void *arg, uint32_t id);
	int (*split_map)(void *arg, uint32_t ep_id, const struct bw_rv_addr *a, uint32_t id);
	void *arg;
	/*
	 * An FQDN selector (canonical text) entered (add 1) or left (add 0)
	 * the selector cache (may be NULL). Called while a policy is added or
	 * removed: the callee must only take note (the FQDN identities that
	 * the selector changes are made after the next flush).
	 */
	void (*fqdn_selector)(void *arg, const char *text, int add);
};

/* The label (source reserved) that tells a split identity from its base. */
#define BW_RV_SPLIT_LABEL "ipblock-split"

struct bw_resolver *bw_resolver_new(const struct bw_resolver_ops *ops);
void bw_resolver_free(struct bw_resolver *r);

/* BW_ENFORCE_* and the global audit flag; marks every endpoint. */
void bw_resolver_set_mode(struct bw_resolver *r, int enforcement, int audit);

/*
 * Identities: add (or replace the labels of) an identity, remove one. The
 * labels are copied. Selector sets are updated at once; the endpoints that
 * depend on a changed set are marked for the next flush.
 */
int bw_resolver_identity_add(struct bw_resolver *r, uint32_t id,
			     const struct bw_labelset *labels);
void bw_resolver_identity_remove(struct bw_resolver *r, uint32_t id);
int bw_resolver_identity_known(struct bw_resolver *r, uint32_t id);
const struct bw_labelset *bw_resolver_identity_labels(struct bw_resolver *r,
						      uint32_t id);

/* Endpoints (copied). */
int bw_resolver_endpoint_set(struct bw_resolver *r,
			     const struct bw_rv_endpoint_desc *ep);
void bw_resolver_endpoint_remove(struct bw_resolver *r, uint32_t ep_id);

/*
 * Policies: commit a compiled policy (the resolver takes ownership; CIDR
 * identities are acquired here, the only step that may fail: then nothing
 * changed and the caller still owns p), remove one (freed, its CIDR
 * identities released after the next flush).
 */
int bw_resolver_policy_add(struct bw_resolver *r, struct bw_rv_policy *p);
void bw_resolver_policy_remove(struct bw_resolver *r, struct bw_rv_policy *p);

/* Mark every endpoint for recomputation. */
void bw_resolver_mark_all(struct bw_resolver *r);

/*
 * Recompute every marked endpoint and sync it. Returns 0, or the first
 * sync error (the failed endpoints stay marked).
 */
int bw_resolver_flush(struct bw_resolver *r);

/* Number of endpoints the rules of p select now. */
unsigned bw_resolver_policy_selected(struct bw_resolver *r,
				     const struct bw_rv_policy *p);

/* ---- queries (resolved state) ----------------------------------------- */

/*
 * The resolved state of an endpoint: flags and entries as last synced
 * (valid until the next flush). Returns 0 or -ENOENT.
 */
int bw_resolver_endpoint_state(struct bw_resolver *r, uint32_t ep_id,
			       uint32_t *flags, const struct bw_rv_entry **e,
			       size_t *n);

/*
 * The L7 contributions of an endpoint's redirects as last synced, sorted by
 * (identity, direction, protocol, port_lo). Returns 0 or -ENOENT.
 */
int bw_resolver_endpoint_l7(struct bw_resolver *r, uint32_t ep_id,
			    const struct bw_rv_l7 **l7, size_t *n);

/*
 * The policies (owners) whose rules select the endpoint and make it
 * default-deny in direction dir; fills up to max owners, returns how many
 * there are.
 */
size_t bw_resolver_isolating(struct bw_resolver *r, uint32_t ep_id, int dir,
			     void **owners, size_t max);

/*
 * The endpoint identity a split identity was made from (split_acquire's
 * base), or 0 when id is not a split identity in use.
 */
uint32_t bw_resolver_split_base(struct bw_resolver *r, uint32_t id);

/* Statistics for status/bench. */
struct bw_resolver_stats {
	size_t identities, endpoints, policies, selectors, entries;
	size_t splits;        /* split identities in use (ipBlock, by address) */
	uint64_t flushes, syncs;
	/* Flushes that recomputed at least one endpoint, and the time they
	 * took in nanoseconds (CLOCK_MONOTONIC), for the metrics. */
	uint64_t regenerations, regen_ns;
};
void bw_resolver_stats(struct bw_resolver *r, struct bw_resolver_stats *st);

/*
 * Whether rule ru applies to endpoint (ns, pod) of identity id: its
 * subject selects the identity and, for a rule limited to one endpoint
 * ("endpoint": "ns/pod" in the rule model), it is that endpoint.
 */
int bw_rv_rule_selects(const struct bw_rv_rule *ru, uint32_t id,
		       const char *ns, const char *pod);

/* Entity name -> identities as documented in docs/policy-engine.md. */
int bw_resolver_entity_valid(const char *name);

#endif /* BW_CORE_RESOLVER_H */
