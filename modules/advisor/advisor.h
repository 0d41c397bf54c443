/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/advisor/advisor.h - what the advisor module's files share
 * (nothing here is exported: the module exports only bw_module_desc).
 *
 *  advisor.c            the module: config, routes, the life of a request
 *                       (history scan on the provider's thread, then the
 *                       verb on the loop thread), metrics
 *  advisor_rows.c       the history rows of one request: strings interned,
 *                       rows aggregated by connection key; a string map
 *  advisor_world.c      what the advisor knows of the node: workloads and
 *                       the labels that select them, namespaces
 *  advisor_recommend.c  bulwark recommend: baseline + per-namespace policies
 *  advisor_verify.c     replaying rows through the core's what-if; the
 *                       "flows" lists and connection objects of the replies
 *  advisor_simulate.c   bulwark simulate: newly dropped / newly allowed
 *  advisor_broad.c      bulwark broad-rules: rules far wider than their use
 *  advisor_cnp.c        canonical rules (docs/rule-model.md) back to
 *                       CiliumNetworkPolicy documents (the suggestions)
 *  advisor_yaml.c       JSON documents to YAML with comments
 */
#ifndef BW_MODULES_ADVISOR_H
#define BW_MODULES_ADVISOR_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <bulwark/flow.h>
#include <bulwark/module.h>

struct adv_conf {
	int64_t window;         /* ms: the default --since */
	int64_t max_rows;       /* distinct connection keys read per request */
	int64_t comment_flows;  /* flows named in each rule's comment */
	int64_t shared_percent; /* a service that this share of namespaces uses is shared */
	int64_t broad_max_peers; /* a wide rule used for at most this many peers is broad */
	int64_t broad_max_ports; /* a port range used on at most this many ports is broad */
	char *baseline_name;    /* the CiliumClusterwideNetworkPolicy's name */
	char *policy_name;      /* the per-namespace CiliumNetworkPolicies' name */
};

/* ---- strings and maps (advisor_rows.c) ------------------------------------------ */

/* A string -> pointer hash map; keys are copied. */
struct adv_map {
	struct adv_mentry **b;
	size_t nb, n;
};

void adv_map_init(struct adv_map *m);
/* Free the entries; free_val(value) for each when not NULL. */
void adv_map_clear(struct adv_map *m, void (*free_val)(void *));
void *adv_map_get(const struct adv_map *m, const char *key);
int adv_map_put(struct adv_map *m, const char *key, void *val);
/* The keys, sorted (malloc'd array of pointers into the map; NULL when empty). */
const char **adv_map_keys(const struct adv_map *m, size_t *n);

/*
 * A map keyed by (pointer, pointer, integer): lookups in the hot loops keyed
 * by interned strings (their addresses) instead of formatted text.
 */
struct adv_pmap {
	struct adv_pentry *v;
	size_t cap, n;
};

void adv_pmap_init(struct adv_pmap *m);
void adv_pmap_clear(struct adv_pmap *m);
void *adv_pmap_get(const struct adv_pmap *m, const void *a, const void *b, uint64_t c);
int adv_pmap_put(struct adv_pmap *m, const void *a, const void *b, uint64_t c, void *val);

/* ---- history rows (advisor_rows.c) ----------------------------------------------- */

/* One connection key: every record of (source, destination, port, protocol,
 * direction) in the window, summed. */
struct adv_row {
	const char *src, *dst;         /* interned */
	const char *dst_addr;          /* interned: dst's address when dst is its DNS name */
	const char *src_ns, *dst_ns;   /* interned, NULL unless a pod */
	uint8_t src_kind, dst_kind;    /* BW_HISTORY_PEER_* */
	uint8_t proto, dir;
	uint16_t port;
	uint64_t forwarded, audited, dropped; /* connections per verdict */
	int64_t first, last;           /* ms, every verdict */
	int64_t last_ok;               /* ms, last forwarded or audited */
};

struct adv_rows {
	struct adv_row *v;
	size_t n, cap;
	uint32_t *slots;               /* open addressing: index + 1, 0 = free */
	size_t nslots;
	struct adv_strpool *strs;
	size_t max;                    /* keys kept at most */
	uint64_t records;              /* provider rows read */
	uint64_t skipped;              /* records of keys beyond max */
	int nomem;
};

int adv_rows_init(struct adv_rows *t, size_t max);
void adv_rows_free(struct adv_rows *t);
/* Add one provider row (any thread that owns t). 0, or -ENOMEM. */
int adv_rows_add(struct adv_rows *t, const struct bw_history_row *r);
/*
 * Outside destinations named: each row whose destination is an outside
 * address with names in the node's FQDN cache (api->fqdn_names) gets the
 * first of them (in byte order) as dst, the address kept as dst_addr (the
 * what-if looks it up by address). Loop thread, after the last row.
 */
void adv_rows_name(struct adv_rows *t, const struct bw_core_api *api);
/* An interned copy of s (lives as long as t). */
const char *adv_rows_intern(struct adv_rows *t, const char *s);
/*
 * The order of rows in every listing (source, destination, port, protocol,
 * direction): the output depends on the history, not on the order the
 * provider hands it over in.
 */
int adv_row_order(const struct adv_row *a, const struct adv_row *b);
/* More connections first (count), then adv_row_order. */
int adv_row_rank(const struct adv_row *a, uint64_t ca, const struct adv_row *b, uint64_t cb);

/* Connections that worked (forwarded or audited). */
static inline uint64_t
adv_row_ok(const struct adv_row *r)
{
	return r->forwarded + r->audited;
}

/* "TCP", "UDP", ... */
const char *adv_proto_name(unsigned proto, char *buf, size_t len);
/* RFC 3339 UTC with milliseconds. */
void adv_time_text(int64_t ms, char *buf, size_t len);

/* ---- the node: workloads (advisor_world.c) ---------------------------------------- */

struct adv_wl {
	char *key;          /* "NS/WORKLOAD" */
	char *ns, *name;
	json_t *labels;     /* matchLabels that select its pods (no source prefix,
			     * no namespace), NULL when no label tells them apart */
	int exact;          /* labels select exactly its pods among this node's */
	size_t endpoints;
};

struct adv_world {
	struct adv_wl *v;   /* sorted by key */
	size_t n;
	char **namespaces;  /* namespaces with endpoints, sorted */
	size_t nns;
};

/* Build from bw_core_api.endpoint_walk. 0 or -ENOMEM. */
int adv_world_load(struct adv_world *w, const struct bw_core_api *api);
void adv_world_free(struct adv_world *w);
const struct adv_wl *adv_world_find(const struct adv_world *w, const char *key);
int adv_world_has_ns(const struct adv_world *w, const char *ns);
/* Workloads of namespace ns on this node. */
size_t adv_world_ns_workloads(const struct adv_world *w, const char *ns);

/* ---- replies (advisor_verify.c) -------------------------------------------------------- */

/* {"source", "destination", "port", "protocol", "direction", "count", "last_seen"} */
json_t *adv_conn_json(const struct adv_row *r, uint64_t count, int64_t last_ms);
/* The whatif connection of a row. */
void adv_row_conn(const struct adv_row *r, struct bw_whatif_conn *c);
/* "Kind NS/NAME" of a verdict's rule, else its isolating policies ("" none). */
json_t *adv_verdict_policies(const struct bw_whatif_verdict *v);
/* "denied by default deny (isolated by ...)", "denied by Kind NS/NAME rule ..." */
void adv_verdict_reason(const struct bw_whatif_verdict *v, char *buf, size_t len);

/*
 * Replay rows (indices) through w: res gets n results (malloc'd, free()).
 * 0 or a negative errno.
 */
int adv_replay(const struct bw_core_api *api, bw_whatif *w, const struct adv_rows *rows,
	       const size_t *idx, size_t n, struct bw_whatif_result **res);

/* ---- the verbs ----------------------------------------------------------------------- */

struct adv_recommend_opts {
	const char *const *namespaces; /* NULL: every namespace with endpoints */
	size_t nns;
	int fine;
	const char *since_text;        /* as given, for the header comment */
};

/*
 * bulwark recommend: the reply document (docs/adoption.md). api may be
 * NULL in unit tests (no verification). err gets a message on -EINVAL.
 */
int adv_recommend(const struct bw_core_api *api, bw_module_ctx *ctx, const struct adv_conf *conf,
		  const struct adv_world *world, struct adv_rows *rows,
		  const struct adv_recommend_opts *o, json_t **out, char *err, size_t errlen);

/* bulwark simulate: {"newly_dropped", "newly_allowed", "not_replayed", ...}. */
int adv_simulate(const struct bw_core_api *api, bw_whatif *w, struct adv_rows *rows,
		 size_t limit, json_t **out);

/* bulwark broad-rules: {"rules": [...]}. */
int adv_broad(const struct bw_core_api *api, const struct adv_conf *conf,
	      const struct adv_world *world, struct adv_rows *rows, json_t **out,
	      char *err, size_t errlen);

/* ---- documents (advisor_cnp.c, advisor_yaml.c) ----------------------------------------- */

/*
 * A selector for peers in a CiliumNetworkPolicy written in namespace
 * policy_ns ("" for cluster-wide): {"matchLabels": {...}} of workload wl (or
 * of its namespace only, when wl has no labels).
 */
json_t *adv_cnp_selector(const char *ns, const struct adv_wl *wl);
/* {"ports": [{"port": "80", "protocol": "TCP"}, ...]} items, 40 per item. */
json_t *adv_cnp_toports(const uint32_t *pp, size_t n);
/* (protocol << 16 | port) pairs, sorted and unique: add one. */
int adv_pp_add(uint32_t **v, size_t *n, size_t *cap, uint8_t proto, uint16_t port);

/*
 * A canonical policy (an element of bw_core_api.policy_export) as a
 * CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy document.
 * NetworkPolicy becomes a CiliumNetworkPolicy of the same name (the
 * document's comment says so). *note (may be NULL) gets what could not
 * be written the Cilium way ("" when nothing).
 */
json_t *adv_cnp_from_canonical(const json_t *pol, char *note, size_t notelen);
/* One canonical ENTRY as a Cilium rule element of direction egress (1) or ingress (0). */
json_t *adv_cnp_entry(const json_t *entry, int egress, const char *ns);

/*
 * Documents as YAML ("---" between them). An object's "#" member (a
 * string, lines joined by '\n') is written as comment lines before it;
 * members whose name starts with '#' are left out. Returns a malloc'd
 * string or NULL.
 */
char *adv_yaml_dump(json_t *const *docs, size_t n, const char *header);
/* A deep copy of doc without the members whose name starts with '#'. */
json_t *adv_strip_comments(const json_t *doc);

#endif /* BW_MODULES_ADVISOR_H */
