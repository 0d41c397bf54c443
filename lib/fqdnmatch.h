/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/fqdnmatch.h - DNS names and Cilium's FQDN selectors (toFQDNs and
 * toPorts[].rules.dns: matchName, matchPattern), shared by the policy
 * compiler, the FQDN identities of the core, the DNS proxy and the CLI.
 *
 * Semantics (Cilium's pkg/fqdn/matchpattern, reference sheet 1.7):
 *  - names and selectors compare case-insensitively, and a missing
 *    trailing '.' is added ("Example.COM" is "example.com.");
 *  - matchName is an exact name: characters [-a-zA-Z0-9_.], at most 255;
 *  - matchPattern: characters [-a-zA-Z0-9_.*], at most 255; '*' stands for
 *    zero or more of [-a-zA-Z0-9_] and never crosses a '.'
 *    ("*.example.com" matches "www.example.com." but neither
 *    "example.com." nor "a.b.example.com."); a pattern of stars only
 *    ("*", "**", "*.") matches every name; a leading "**." stands for one
 *    or more whole labels ("**.example.com" matches "a.example.com." and
 *    "a.b.example.com." but not "example.com.").
 *
 * Matching does not use regular expressions: the pattern is split into
 * labels once, and a name is compared label by label (a star glob inside
 * one label), so a match costs O(length of the name) for patterns without
 * stars and stays linear in practice for the others.
 */
#ifndef BW_FQDNMATCH_H
#define BW_FQDNMATCH_H

#include <stddef.h>

/* Longest selector text and longest DNS name in text form (with the dot). */
#define BW_FQDN_SELECTOR_MAX 255
#define BW_FQDN_NAME_MAX 254

enum bw_fqdn_kind {
	BW_FQDN_MATCH_NAME = 1,
	BW_FQDN_MATCH_PATTERN = 2,
};

/*
 * Normalise a DNS name for matching: lower-case ASCII letters and add the
 * trailing dot when missing ("" and "." give "."). out must hold at least
 * strlen(in) + 2 bytes. Returns 0, or -ENAMETOOLONG / -ENOSPC.
 */
int bw_fqdn_name_normalize(const char *in, char *out, size_t outlen);

/*
 * Check a matchName or matchPattern as a policy author wrote it. Returns 0,
 * or -EINVAL with a one-line reason in err (the caller adds the field).
 */
int bw_fqdn_selector_check(enum bw_fqdn_kind kind, const char *text, char *err,
			   size_t errlen);

/*
 * The canonical text of a selector: lower case, without the trailing dot,
 * a pattern of stars only written "*". It is the selector's identity label
 * (Cilium labels FQDN identities fqdn:<matchName or matchPattern>) and its
 * key: a matchName and a matchPattern without stars with equal text select
 * the same names and get the same text. Returns 0 or -EINVAL (not a valid
 * selector) / -ENOSPC (buffer shorter than BW_FQDN_SELECTOR_MAX + 1).
 */
int bw_fqdn_selector_canonical(enum bw_fqdn_kind kind, const char *text,
			       char *out, size_t outlen);

/* A compiled selector. */
struct bw_fqdn_matcher;

/*
 * Compile a selector (checked as by bw_fqdn_selector_check). Returns NULL
 * with errno EINVAL (reason in err) or ENOMEM.
 */
struct bw_fqdn_matcher *bw_fqdn_matcher_new(enum bw_fqdn_kind kind,
					    const char *text, char *err,
					    size_t errlen);

/*
 * Compile a canonical text as bw_fqdn_selector_canonical() gives it (a
 * matchName is a pattern without stars, so the kind is not needed).
 */
struct bw_fqdn_matcher *bw_fqdn_matcher_from_canonical(const char *canonical);

void bw_fqdn_matcher_free(struct bw_fqdn_matcher *m);

/* The matcher's canonical text (owned by the matcher). */
const char *bw_fqdn_matcher_text(const struct bw_fqdn_matcher *m);

/* True when the pattern has no star: it selects exactly one name. */
int bw_fqdn_matcher_is_name(const struct bw_fqdn_matcher *m);

/*
 * Does the selector select this name? name must be normalised
 * (bw_fqdn_name_normalize): lower case, with the trailing dot.
 */
int bw_fqdn_matcher_match(const struct bw_fqdn_matcher *m, const char *name);

/* One-shot: normalise name and match it against a selector's text. */
int bw_fqdn_match(enum bw_fqdn_kind kind, const char *text, const char *name);

#endif /* BW_FQDNMATCH_H */
