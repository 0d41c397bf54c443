/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/node/labels.h - labels and label sets.
 *
 * A label is `source:key=value` (printed without `=value` when the value is
 * empty, as Hubble does). A label set holds at most one label per
 * (source, key) and is always kept sorted by its printed text, so that the
 * canonical text of a set - one label per line, '\n'-separated, no trailing
 * newline - is the same for equal sets. That text is what identity
 * allocators receive (struct bw_identity_allocator in bulwark/module.h).
 *
 * The file also holds Cilium's security-relevance filter (which labels go
 * into an identity, which stay information labels) and the Kubernetes
 * validation rules for label keys, label values and object names.
 */
#ifndef BW_LABELS_H
#define BW_LABELS_H

#include <stddef.h>
#include <jansson.h>

#define BW_LABEL_SOURCE_K8S "k8s"
#define BW_LABEL_SOURCE_RESERVED "reserved"
#define BW_LABEL_SOURCE_CIDR "cidr"
#define BW_LABEL_SOURCE_FQDN "fqdn"
#define BW_LABEL_SOURCE_ANY "any"
#define BW_LABEL_SOURCE_UNSPEC "unspec"

/* Well-known label keys (Cilium's spelling). */
#define BW_LABEL_POD_NAMESPACE "io.kubernetes.pod.namespace"
#define BW_LABEL_NS_LABELS_PREFIX "io.cilium.k8s.namespace.labels."
#define BW_LABEL_POLICY_CLUSTER "io.cilium.k8s.policy.cluster"
#define BW_LABEL_SERVICEACCOUNT "io.cilium.k8s.policy.serviceaccount"
#define BW_LABEL_NS_NAME "kubernetes.io/metadata.name"
#define BW_CLUSTER_NAME "default"

struct bw_label {
	char *source; /* never NULL */
	char *key;    /* never NULL, never empty */
	char *value;  /* never NULL, may be "" */
	char *text;   /* "source:key=value" or "source:key" */
};

/* Opaque-ish: members are read through the accessors below. */
struct bw_labelset {
	size_t n, cap;
	struct bw_label *v; /* sorted by text, unique (source, key) */
};

/*
 * True when src is one of the label sources bulwark knows (k8s, reserved,
 * cidr, fqdn, any, unspec, and Cilium's other sources container, cni, node,
 * cidrgroup, directory).
 */
int bw_label_source_valid(const char *src);

/*
 * Parse "source:key=value" (or "source:key", or "key=value" whose source is
 * default_source) into its parts. A ':' only introduces a source when it
 * comes before the first '='. Returns 0, or -EINVAL with a message in err.
 * The out strings are malloc'd (free with bw_label_clear()).
 */
int bw_label_parse(const char *text, const char *default_source,
		   struct bw_label *out, char *err, size_t errlen);
void bw_label_clear(struct bw_label *l);

/* New empty set; NULL with errno on ENOMEM. */
struct bw_labelset *bw_labelset_new(void);
void bw_labelset_free(struct bw_labelset *ls);
struct bw_labelset *bw_labelset_dup(const struct bw_labelset *ls);

/*
 * Add a label; an existing label with the same source and key is replaced.
 * value may be NULL (= ""). Returns 0 or -ENOMEM / -EINVAL (empty key).
 */
int bw_labelset_add(struct bw_labelset *ls, const char *source,
		    const char *key, const char *value);
/* Add the parsed form of "source:key=value" (default source as above). */
int bw_labelset_add_text(struct bw_labelset *ls, const char *text,
			 const char *default_source, char *err, size_t errlen);
/* Merge every label of src into ls (src wins on conflicts). */
int bw_labelset_merge(struct bw_labelset *ls, const struct bw_labelset *src);
/* Remove the label (source, key); returns 1 if removed, 0 if absent. */
int bw_labelset_remove(struct bw_labelset *ls, const char *source,
		       const char *key);

size_t bw_labelset_count(const struct bw_labelset *ls);
const struct bw_label *bw_labelset_at(const struct bw_labelset *ls, size_t i);

/*
 * Look up a label by key. source "any" (or NULL) returns the first label
 * with that key from any source.
 */
const struct bw_label *bw_labelset_get(const struct bw_labelset *ls,
				       const char *source, const char *key);

/* Equal sets (same labels). */
int bw_labelset_equal(const struct bw_labelset *a, const struct bw_labelset *b);
/* Total order on sets (compares canonical texts); for sorting. */
int bw_labelset_cmp(const struct bw_labelset *a, const struct bw_labelset *b);

/*
 * Canonical text: sorted labels, '\n'-separated, no trailing newline; ""
 * for the empty set. Returns a malloc'd string, or NULL with errno.
 */
char *bw_labelset_text(const struct bw_labelset *ls);
/* Parse canonical text (also accepts ';' separators); NULL with errno. */
struct bw_labelset *bw_labelset_from_text(const char *text, char *err,
					  size_t errlen);

/* JSON array of label strings (Hubble's form); NULL on ENOMEM. */
json_t *bw_labelset_to_json(const struct bw_labelset *ls);

/*
 * Cilium's default label filter: true when the label belongs in an
 * identity. reserved:* always; for other sources the key is checked against
 * the include list (io.kubernetes.pod.namespace, io.cilium.k8s.namespace.
 * labels.*, app.kubernetes.io*, io.cilium.k8s.policy.cluster/serviceaccount)
 * and the ignore list (io.kubernetes*, kubernetes.io*, *beta.kubernetes.io*,
 * k8s.io*, pod-template-hash, controller-revision-hash, ...).
 */
int bw_label_security_relevant(const char *source, const char *key);
/* New set with only the security-relevant labels of ls; NULL with errno. */
struct bw_labelset *bw_labelset_filter_identity(const struct bw_labelset *ls);

/*
 * Kubernetes validation. Each returns 0 or -EINVAL with a message (not
 * naming the field; the caller prefixes it) in err.
 *   key:   [prefix/]name, prefix a DNS-1123 subdomain (<= 253), name <= 63
 *          chars of [A-Za-z0-9_.-] starting and ending alphanumeric
 *   value: empty, or <= 63 chars with the same rule as name
 *   dns label:     [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 63 (namespaces)
 *   dns subdomain: dot-separated DNS labels, <= 253 (pod names)
 */
int bw_k8s_label_key_valid(const char *key, char *err, size_t errlen);
int bw_k8s_label_value_valid(const char *value, char *err, size_t errlen);
int bw_k8s_dns_label_valid(const char *name, char *err, size_t errlen);
int bw_k8s_dns_subdomain_valid(const char *name, char *err, size_t errlen);

#endif /* BW_LABELS_H */
