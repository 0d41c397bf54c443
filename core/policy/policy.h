/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/policy.h - the policy repository.
 *
 * Policies come from two sources: the API-managed set (import/replace/delete
 * through the control API, persisted in <state_dir>/policies.json) and the
 * files in policy.dir (read at start and whenever the directory changes).
 * A policy is keyed by (kind, namespace, name); each one carries a revision
 * that increments on every change, its source ("api" or the file path) and
 * its canonical rules (docs/rule-model.md), compiled for the resolver.
 *
 * Every entry the resolver writes into the policy map carries a rule_ref, an
 * index into the rule table kept here, so that every verdict can name the
 * policy, rule and entry behind it. Refs are never reused for another rule.
 *
 * The repository watches the inputs of the resolver (identities and
 * endpoints through their watch lists, the enforcement mode through the
 * config's); each change returns once the maps hold the new state.
 *
 * Everything here runs on the loop thread.
 */
#ifndef BW_CORE_POLICY_H
#define BW_CORE_POLICY_H

#include <stdint.h>

#include <jansson.h>

struct event_base;
struct bw_endpoint;
struct bw_config;

/* Where a policy comes from. */
#define BW_POLICY_SOURCE_API "api"
/* The quarantines' source (core/policy/quarantine.c): kind "Quarantine". */
#define BW_POLICY_SOURCE_QUARANTINE "quarantine"
#define BW_POLICY_KIND_QUARANTINE "Quarantine"

/*
 * One rule table row: what a rule_ref names. Valid until the next change of
 * the repository (copy what you keep).
 */
struct bw_policy_ruleinfo {
	uint32_t rule_ref;
	const char *name;
	const char *namespace; /* "" for cluster-wide kinds */
	const char *kind;      /* "NetworkPolicy", "CiliumNetworkPolicy", ... */
	uint64_t revision;     /* the policy's revision when the rule was compiled */
	unsigned rule_index;   /* index in the policy's canonical rules[] */
	int direction;         /* BW_DIR_INGRESS / BW_DIR_EGRESS */
	unsigned entry_index;  /* index in the rule's ingress[] / egress[] */
	int deny;              /* entry of an ingressDeny/egressDeny */
	const char *log;       /* the rule's "log" string or NULL */
	int current;           /* 0 once the rule was changed or removed */
};

/*
 * Start the repository: restore the API-managed set from
 * <state_dir>/policies.json, register as a watcher of identities and
 * endpoints (bw_identity_watch, bw_endpoint_watch) and of the config for
 * policy.enforcement/policy.audit changes on SIGHUP (bw_conf_watch). Call
 * it after bw_modules_init() (the policy formats and the identity
 * allocator are modules) and after bw_endpoint_restore(). bulwarkd then
 * registers the API routes (bw_policy_api_init), starts the policy.dir
 * watcher (bw_policydir_start) and calls bw_policy_start(); nothing is
 * written to the maps before that.
 * Logs what fails; returns 0 or a negative errno (fatal at start-up).
 */
int bw_policy_init(struct event_base *base);

/*
 * Every source is loaded: forget the rule refs of the previous run that no
 * policy claims any more, then resolve every endpoint and sync the maps
 * (bw_policy_recompute). Returns 0 or a negative errno (logged).
 */
int bw_policy_start(void);

/*
 * The control API routes (/v1/policies, /v1/policy/trace,
 * /v1/policy/resolved/) and the "policy" status section
 * (core/policy/policy_api.c). Returns 0 or a negative errno.
 */
int bw_policy_api_init(void);

/*
 * Read every policy file of dir and watch it (inotify, with a short
 * settle timer); each file is a source of its own (core/policy/policydir.c).
 * A directory that cannot be watched is logged and read on SIGHUP only.
 * Returns 0 or -ENOMEM. Stop it before bw_policy_fini().
 */
int bw_policydir_start(struct event_base *base, const char *dir);
void bw_policydir_stop(void);

/* Stop watching policy.dir and free everything. */
void bw_policy_fini(void);

/*
 * Resolve every endpoint from scratch and sync the maps (only differences
 * are written; connection tracking is flushed only for endpoints whose
 * verdicts may have become stricter). Returns 0 or a negative errno.
 */
int bw_policy_recompute(void);

/*
 * Change policy.enforcement (BW_ENFORCE_*) and policy.audit at run time
 * (SIGHUP); recomputes and syncs. Returns 0 or a negative errno.
 */
int bw_policy_set_mode(int enforcement, int audit);

/*
 * Fill the datapath's global config (bw_datapath_init/_set_config) from the
 * running config: policy.enforcement, policy.audit, flows.monitor_aggregation,
 * and the default CT lifetimes. bw_policy_set_mode() writes it again.
 */
void bw_policy_datapath_config(struct bw_config *cfg);

/*
 * The rule table row behind rule_ref, or NULL (0 or unknown). Also answers
 * for refs of rules removed recently (current == 0), so that late events
 * still name their policy.
 */
const struct bw_policy_ruleinfo *bw_policy_rule_lookup(uint32_t rule_ref);

/*
 * The canonical "rules" object (JSON text, docs/rule-model.md) of port
 * port_index of the rule entry behind rule_ref, while that rule is current;
 * NULL otherwise. Valid until the policy changes.
 */
const char *bw_policy_l7_rules(uint32_t rule_ref, uint32_t port_index);

/* A number that changes whenever an endpoint's resolved policy changes
 * (for caches of what bw_proxyconn_lookup() answers). */
uint64_t bw_policy_generation(void);

/* Number of policies in the repository (both sources). */
unsigned bw_policy_count(void);

/* ---- questions of the adoption tools (core/policy/policy_query.c) --------- */

/* Peer classes of bw_policy_reach(). */
#define BW_POLICY_PEER_WORLD 1            /* outside the cluster (reserved:world, CIDR, FQDN) */
#define BW_POLICY_PEER_OTHER_NAMESPACES 2 /* pods of another namespace */

#define BW_POLICY_REACH_REFS 16

struct bw_policy_reach {
	int enforced;  /* the direction is default-deny for the endpoint */
	int audit;     /* audit mode: denied connections pass as AUDIT */
	int allowed;   /* a peer of the class gets an allow on some port (always
			* when not enforced) */
	uint32_t refs[BW_POLICY_REACH_REFS]; /* rule refs of the allows found */
	size_t nrefs;
};

/*
 * Can a peer of class cls reach endpoint ep_id in direction dir (BW_DIR_*:
 * ingress = the peer connects to the endpoint, egress = the endpoint
 * connects to the peer)? Answered from the endpoint flags the datapath
 * holds and lookups in the pinned policy map (the kernel's precedence),
 * at the ports where the answer can change. 0, -ENOENT (no resolved state
 * yet), -EINVAL.
 */
int bw_policy_reach(uint32_t ep_id, int dir, int cls, struct bw_policy_reach *out);

#define BW_POLICY_ISOLATION_MAX 32

struct bw_policy_isolation {
	int default_deny;       /* enforced: what no entry allows is dropped */
	int audit;              /* ... and becomes AUDIT instead */
	int enforcement_always; /* policy.enforcement=always (no policy needed) */
	const struct bw_pol *policies[BW_POLICY_ISOLATION_MAX]; /* making it default-deny */
	size_t npolicies;
	int staged_default_deny; /* with the staged policies it would be */
	const struct bw_pol *staged[BW_POLICY_ISOLATION_MAX]; /* staged ones isolating it */
	size_t nstaged;
};

/* Default deny of endpoint ep_id in direction dir. 0, -ENOENT, -EINVAL. */
int bw_policy_isolation(uint32_t ep_id, int dir, struct bw_policy_isolation *out);

/*
 * Every policy with its canonical rules, sorted by kind, namespace and
 * name: {"policies": [{"kind", "namespace", "name", "source", "revision",
 * "staged", "rules"}]} (bw_core_api.policy_export). NULL on ENOMEM.
 */
json_t *bw_policy_export(void);

/* Kind, namespace ("" when cluster-wide) and name of a policy. */
void bw_policy_describe(const struct bw_pol *p, const char **kind, const char **ns,
			const char **name, uint64_t *revision);

/* ---- staged policies (core/policy/policy_staged.c) ----------------------- */

#define BW_POLICY_STAGED_MAX 32

struct bw_pol;

/* What the staged policies would decide for one connection check. */
struct bw_policy_staged_verdict {
	int applies;          /* a staged policy selects the endpoint in that direction */
	int allowed;          /* the would-be verdict */
	uint32_t rule_ref;    /* the entry behind it; 0 = default deny (or not enforced) */
	/* default deny: the policies (staged or not) that would isolate it */
	const struct bw_pol *isolating[BW_POLICY_STAGED_MAX];
	size_t nisolating;
};

/* Non-zero while at least one staged policy exists. */
int bw_policy_staged_active(void);

/*
 * The verdict the datapath would give a new connection of endpoint ep_id
 * in direction dir (BW_DIR_*) with peer identity peer_id, proto, port (ICMP:
 * the type), if the staged policies were enforced, read from the staged
 * resolver's entries with the datapath's lookup. Returns 1 and fills out
 * when a staged policy selects the endpoint in that direction, else 0
 * (out->applies 0).
 */
int bw_policy_staged_verdict(uint32_t ep_id, int dir, uint32_t peer_id,
			     uint8_t proto, uint16_t port,
			     struct bw_policy_staged_verdict *out);

#endif /* BW_CORE_POLICY_H */
