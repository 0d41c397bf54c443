/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/policy_int.h - what the policy repository's files share:
 * core/policy/policy.c (repository, rule table, resolver glue), core/policy/policy_api.c
 * (control API handlers, trace) and core/policy/policydir.c (policy.dir watcher).
 */
#ifndef BW_CORE_POLICY_INT_H
#define BW_CORE_POLICY_INT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "core/policy/policy.h"

struct bw_resolver;
struct bw_rv_policy;
struct event_base;

/* One policy in the repository. */
struct bw_pol {
	struct bw_pol *next;
	char *kind, *ns, *name;
	char *source;        /* BW_POLICY_SOURCE_API or a file path */
	uint64_t revision;
	json_t *doc;         /* canonical policy object (docs/rule-model.md) */
	char *doc_text;      /* its compact, sorted text (change detection) */
	struct bw_rv_policy *rv;
	uint32_t *refs;      /* rule refs this version owns or shares */
	size_t nrefs;
	time_t updated;
	int staged;          /* resolved apart, never enforced (policy_staged.c) */
	struct bw_rv_policy *srv; /* a copy of rv in the staged resolver */
};

/* One parsed and compiled document of an input, not yet applied. */
struct bw_pol_item {
	char *kind, *ns, *name;
	json_t *doc;
	char *doc_text;
	struct bw_rv_policy *rv;
	unsigned doc_index;  /* 1-based */
	unsigned line;
	int staged;
};

struct bw_pol_batch {
	struct bw_pol_item *v;
	size_t n;
};

/*
 * Read, translate (format modules) and compile every document of buf.
 * Nothing changes. On error returns -EINVAL (or -ENOMEM) with
 * "document N (line L): field: reason" in err; b holds nothing to apply.
 */
int bw_pol_batch_parse(const char *buf, size_t len, const char *source_name,
		       struct bw_pol_batch *b, char *err, size_t errlen);
/* The same with the namespace of `cilium policy import` rules that name
 * none (NULL: cluster-wide; policy_rulelist.c). */
int bw_pol_batch_parse_ns(const char *buf, size_t len, const char *source_name,
			  const char *default_ns, struct bw_pol_batch *b, char *err,
			  size_t errlen);

/*
 * Cilium's `cilium policy import` format (policy_rulelist.c): the bare
 * rules among set's documents become CiliumNetworkPolicy /
 * CiliumClusterwideNetworkPolicy documents, one per (namespace, name);
 * *maps gets, per document of the rewritten set, where its specs came
 * from (n 0 for the documents left as they were). 0, or -EINVAL/-ENOMEM
 * with err (then set may hold documents without text: free it).
 */
struct bw_pol_rule_origin {
	unsigned index;        /* its document (struct bw_policydoc) */
	int item;              /* and item there, or -1 */
	unsigned line, column; /* where the rule starts */
};
struct bw_pol_rulelist {
	struct bw_pol_rule_origin *o; /* one per spec */
	size_t n;
};
struct bw_policydoc_set;
int bw_pol_rulelist_convert(struct bw_policydoc_set *set, const char *source_name,
			    const char *default_ns, const char *buf, size_t len,
			    struct bw_pol_rulelist **maps, char *err, size_t errlen);
void bw_pol_rulelist_free(struct bw_pol_rulelist *maps, size_t n);
void bw_pol_batch_free(struct bw_pol_batch *b);
/* One canonical policy object into an item (compiled); -errno and err. */
int bw_pol_item_from_doc(json_t *doc, struct bw_pol_item *it, char *err,
			 size_t errlen);
void bw_pol_item_clear(struct bw_pol_item *it);

/*
 * One batch item from a policy already in the canonical rule model
 * (docs/rule-model.md), for the core's own sources (quarantine): checked
 * and compiled as a format module's output would be. 0, or -errno with a
 * message and nothing left in it; bw_pol_batch_free() frees a batch of
 * such items.
 */
int bw_pol_item_from_canonical(json_t *doc, struct bw_pol_item *it, char *err,
			       size_t errlen);

/*
 * Apply a parsed batch for source (API or a file path): every policy of
 * the batch is added or updated; with replace, the source's policies that
 * are not in the batch are deleted. All or nothing; the maps are synced
 * before it returns. Returns 0 or -errno with a message: -EEXIST when a
 * policy belongs to another source, -EINVAL duplicate in the batch.
 * *nchanged counts added/updated/deleted policies.
 */
int bw_pol_apply(struct bw_pol_batch *b, const char *source, int replace,
		 unsigned *nchanged, char *err, size_t errlen);

/* Delete every policy of a source (a file went away). */
int bw_pol_drop_source(const char *source);

/*
 * Delete the API policy ns/name (kind NULL = any kind). -ENOENT,
 * -EEXIST (ambiguous between kinds), -EPERM (it comes from a file).
 */
int bw_pol_delete(const char *ns, const char *name, const char *kind,
		  char *err, size_t errlen);

/* Lookup and iteration. */
struct bw_pol *bw_pol_first(void);

/*
 * policies.json (policy_persist.c). bw_pol_state_write() writes the API
 * policies that keep(p, arg) keeps (all when keep is NULL), then extra: 0
 * or -errno with the old file untouched. bw_pol_state_restore() applies
 * the file's set as source "api": 0 (also when there is none) or -errno,
 * logged, when the start must stop.
 */
int bw_pol_state_write(const char *path, int (*keep)(const struct bw_pol *p, void *arg),
		       void *arg, struct bw_pol *const *extra, size_t nextra);
int bw_pol_state_restore(const char *path);
/*
 * Find by (ns, name, kind); kind NULL matches any: *ambiguous set when
 * several kinds match (the first is returned).
 */
struct bw_pol *bw_pol_find(const char *ns, const char *name, const char *kind,
			   int *ambiguous);
/* The policy a resolver owner pointer stands for. */
struct bw_pol *bw_pol_of_owner(void *owner);

/* The repository's resolver (NULL before bw_policy_init()). */
struct bw_resolver *bw_pol_resolver(void);
int bw_pol_enforcement(void);
int bw_pol_audit(void);

/*
 * The datapath's copy of resolved entries (the one place that converts a
 * struct bw_rv_entry into a struct bw_policy_entry_spec). malloc'd, the
 * caller frees; NULL on ENOMEM.
 */
struct bw_rv_entry;
struct bw_policy_entry_spec;
struct bw_policy_entry_spec *bw_pol_entry_specs(const struct bw_rv_entry *e,
						size_t n);

/* JSON of one policy: metadata (+ rules and the input with full). */
json_t *bw_pol_to_json(const struct bw_pol *p, int full);

/* The CIDR identity hooks of the enforcing resolver (any resolver may use them). */
int bw_pol_cidr_acquire(void *arg, int family, const uint8_t *addr, int plen,
			uint32_t *id);
void bw_pol_cidr_release(void *arg, uint32_t id);
/* toFQDNs selectors entering or leaving a resolver's selector cache (the
 * resolver ops of any resolver: core/node/fqdn.c counts references). */
void bw_pol_fqdn_selector(void *arg, const char *text, int add);
/* The redirect class of an L7 protocol (resolver ops of any resolver). */
uint8_t bw_pol_proxy_class(void *arg, const char *l7proto);
/* Split identities of ipBlock peers (policy_split.c; struct bw_resolver_ops). */
int bw_pol_split_acquire(void *arg, uint32_t base, const char *sigkey, uint32_t *id);
void bw_pol_split_release(void *arg, uint32_t id);
/* Room in the ipcache for the CIDR peers of these compiled policies
 * (policy_room.c): 0, or -E2BIG with a message naming the limit and key. */
struct bw_rv_policy;
int bw_pol_ipcache_room(struct bw_rv_policy *const *pols, size_t n, char *err, size_t errlen);
struct bw_rv_addr;
int bw_pol_split_map(void *arg, uint32_t ep_id, const struct bw_rv_addr *a, uint32_t id);

/*
 * core/policy/policy_staged.c: staged policies (annotation
 * bulwark.io/staged: "true"), resolved in a second resolver that never
 * writes the datapath. policy.c calls these where it feeds its own
 * resolver.
 */
struct bw_labelset;
struct bw_rv_endpoint_desc;
/* Read the annotation of one input document (JSON text) into the
 * canonical object's "staged" member. 0, or -EINVAL with a message. */
int bw_pol_staged_annotation(const char *input, size_t len, json_t *canon,
			     char *err, size_t errlen);
/* The same from the input document's object (not parsed again). */
int bw_pol_staged_annotation_obj(json_t *input, json_t *canon, char *err,
				 size_t errlen);
/* The repository changed: reconcile the staged resolver at the next flush. */
void bw_pol_staged_changed(void);
void bw_pol_staged_reconcile(void);
/* p leaves the repository: its staged rules or its copy go (rv freed if staged). */
void bw_pol_staged_remove(struct bw_pol *p);
void bw_pol_staged_identity(uint32_t id, const struct bw_labelset *ls, int added);
/* d: an endpoint set; NULL: endpoint removed_id went away. */
void bw_pol_staged_endpoint(const struct bw_rv_endpoint_desc *d, uint32_t removed_id);
void bw_pol_staged_mode(int enforcement, int audit);
void bw_pol_staged_mark_all(void);
void bw_pol_staged_flush(void);
/* Endpoints a staged policy selects. */
unsigned bw_pol_staged_selected(const struct bw_pol *p);
void bw_pol_staged_fini(void);
size_t bw_policy_staged_selecting(uint32_t ep_id, int dir, const struct bw_pol **out,
				  size_t max, int isolating_only);
int bw_policy_staged_state(uint32_t ep_id, uint32_t *flags);

/* core/policy/policy_api.c */
json_t *bw_policy_status_json(void *arg);

/* core/policy/policydir.c (start and stop are in policy.h) */
/* Re-scan now (tests, SIGHUP). */
void bw_policydir_rescan(void);
/* Files and their last error, as JSON (status). */
json_t *bw_policydir_to_json(void);

#endif /* BW_CORE_POLICY_INT_H */
