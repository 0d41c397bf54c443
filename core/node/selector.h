/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/node/selector.h - label selectors (docs/rule-model.md, SELECTOR).
 *
 * A selector is a conjunction of requirements on labels, compiled from the
 * rule model's {"match_labels": {...}, "match_expressions": [...]}. Keys
 * carry a source prefix; a key without one, or with "any:", matches a label
 * of that key from any source, "k8s:app" only a k8s label. Operators follow
 * Kubernetes: In, NotIn, Exists, DoesNotExist; NotIn and DoesNotExist match
 * when the key is absent. {} matches every label set.
 *
 * Compiled selectors are normalised (match_labels become single-value In,
 * values sorted and deduplicated, requirements sorted and deduplicated), so
 * two selectors that mean the same thing compare equal, hash equal and print
 * the same canonical text. The resolver's selector cache relies on that.
 */
#ifndef BW_SELECTOR_H
#define BW_SELECTOR_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct bw_labelset;

enum bw_selector_op {
	BW_SEL_IN = 1,
	BW_SEL_NOT_IN,
	BW_SEL_EXISTS,
	BW_SEL_DOES_NOT_EXIST,
};

struct bw_selector;

/*
 * Compile a SELECTOR object. path names the object in error messages (e.g.
 * "rules[0].subject"); errors read like
 *   rules[0].subject.match_expressions[1].operator: "Is" is not one of In, NotIn, Exists, DoesNotExist
 * Returns the selector, or NULL with errno (EINVAL with the message in err,
 * ENOMEM).
 */
struct bw_selector *bw_selector_parse(const json_t *obj, const char *path,
				      char *err, size_t errlen);

/* Same from JSON text (tests, CLI). */
struct bw_selector *bw_selector_parse_text(const char *json, char *err,
					   size_t errlen);

/* A selector matching everything ({}); NULL on ENOMEM. */
struct bw_selector *bw_selector_new(void);

/*
 * Add a requirement. key is "source:key" or "key" (= any source); values
 * (nvalues of them) are for In/NotIn and must be empty for Exists /
 * DoesNotExist. Returns 0, -EINVAL (err says why, naming nothing: the caller
 * prefixes the field), -ENOMEM.
 */
int bw_selector_add(struct bw_selector *sel, const char *key,
		    enum bw_selector_op op, const char *const *values,
		    size_t nvalues, char *err, size_t errlen);

struct bw_selector *bw_selector_dup(const struct bw_selector *sel);
void bw_selector_free(struct bw_selector *sel);

/* True when sel matches the label set (NULL set = empty set). */
int bw_selector_matches(const struct bw_selector *sel,
			const struct bw_labelset *ls);

/* True for {} (no requirements). */
int bw_selector_is_wildcard(const struct bw_selector *sel);

/* Equality and hash of the normalised form. */
int bw_selector_equal(const struct bw_selector *a, const struct bw_selector *b);
uint64_t bw_selector_hash(const struct bw_selector *sel);

/*
 * Canonical text, valid as long as sel: requirements joined by ", ", each
 *   k8s:app=web                 (In with one value, or match_labels)
 *   k8s:tier in (api,web)       k8s:tier notin (db)
 *   k8s:debug                   (Exists)      !k8s:debug   (DoesNotExist)
 * with "any:" spelled out for keys without a source; "{}" for the wildcard.
 */
const char *bw_selector_to_string(const struct bw_selector *sel);

/* The normalised selector back in rule-model form (new reference). */
json_t *bw_selector_to_json(const struct bw_selector *sel);

/* Requirements, for callers that inspect a selector (resolver). */
size_t bw_selector_count(const struct bw_selector *sel);
/*
 * The i-th requirement: source ("any" when none was given), key, operator,
 * values. Returns 0 or -ENOENT.
 */
int bw_selector_req(const struct bw_selector *sel, size_t i,
		    const char **source, const char **key,
		    enum bw_selector_op *op, const char *const **values,
		    size_t *nvalues);

/* True when some requirement is on this key (source "any"/NULL = any). */
int bw_selector_has_key(const struct bw_selector *sel, const char *source,
			const char *key);

#endif /* BW_SELECTOR_H */
