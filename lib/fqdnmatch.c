/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/fqdnmatch.c - Cilium's matchName / matchPattern semantics without
 * regular expressions (see fqdnmatch.h for the rules).
 *
 * A compiled pattern is its canonical text split into labels, with two
 * flags: "every name" (a pattern of stars only) and "one or more leading
 * labels" (a leading run of two or more stars followed by a dot). A name
 * matches when it has the same number of labels (or more, with the leading
 * wildcard) and each label matches its pattern label, where a star (a run
 * of stars counts as one) matches zero or more of [-a-z0-9_].
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fqdnmatch.h"

struct bw_fqdn_matcher {
	char *text;        /* canonical text */
	int all;           /* stars only: every name */
	int multi;         /* leading "**.": one or more whole labels first */
	int stars;         /* some label holds a star */
	char *buf;         /* the labels, NUL-separated */
	const char **labels;
	size_t *lens;
	size_t nlabels;
};

static int fm_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* [-a-zA-Z0-9_]: what a star may stand for, and what a label is made of. */
static int fm_dns_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int bw_fqdn_name_normalize(const char *in, char *out, size_t outlen)
{
	size_t n = strlen(in), i;

	if (n > BW_FQDN_NAME_MAX + 1)
		return -ENAMETOOLONG;
	if (outlen < n + 2)
		return -ENOSPC;
	for (i = 0; i < n; i++)
		out[i] = (char)fm_lower((unsigned char)in[i]);
	if (n == 0 || out[n - 1] != '.')
		out[n++] = '.';
	out[n] = '\0';
	return 0;
}

static int fm_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fm_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int bw_fqdn_selector_check(enum bw_fqdn_kind kind, const char *text, char *err,
			   size_t errlen)
{
	size_t n, label = 0;
	int pattern = kind == BW_FQDN_MATCH_PATTERN;

	if (kind != BW_FQDN_MATCH_NAME && kind != BW_FQDN_MATCH_PATTERN)
		return fm_err(err, errlen, "unknown selector kind");
	if (!text || !*text)
		return fm_err(err, errlen, "must not be empty%s",
			      pattern ? " (use \"*\" to match every name)" : "");
	n = strlen(text);
	if (n > BW_FQDN_SELECTOR_MAX)
		return fm_err(err, errlen, "\"%.40s...\" is longer than 255 characters", text);
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)text[i];

		if (c == '.') {
			if (label == 0)
				return fm_err(err, errlen,
					      "\"%s\" has an empty label (a leading dot or two dots in a row)",
					      text);
			label = 0;
			continue;
		}
		if (!fm_dns_char(c) && !(pattern && c == '*')) {
			if (pattern)
				return fm_err(err, errlen,
					      "\"%s\": only a-z, A-Z, 0-9, '-', '_', '.' and '*' are allowed in a matchPattern",
					      text);
			return fm_err(err, errlen,
				      c == '*' ? "\"%s\": '*' is not allowed in a matchName (use matchPattern)"
					       : "\"%s\": only a-z, A-Z, 0-9, '-', '_' and '.' are allowed in a matchName",
				      text);
		}
		label++;
	}
	if (n == 1 && text[0] == '.')
		return fm_err(err, errlen, "\"%s\" is not a name", text);
	return 0;
}

/* Stars only, optionally followed by one dot. */
static int fm_all_stars(const char *s, size_t n)
{
	if (n && s[n - 1] == '.')
		n--;
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '*')
			return 0;
	return 1;
}

int bw_fqdn_selector_canonical(enum bw_fqdn_kind kind, const char *text,
			       char *out, size_t outlen)
{
	size_t n, j = 0;

	if (bw_fqdn_selector_check(kind, text, NULL, 0) < 0)
		return -EINVAL;
	if (outlen < BW_FQDN_SELECTOR_MAX + 1)
		return -ENOSPC;
	n = strlen(text);
	if (kind == BW_FQDN_MATCH_PATTERN && fm_all_stars(text, n)) {
		strcpy(out, "*");
		return 0;
	}
	if (text[n - 1] == '.')
		n--;
	for (size_t i = 0; i < n; i++)
		out[j++] = (char)fm_lower((unsigned char)text[i]);
	out[j] = '\0';
	return 0;
}

void bw_fqdn_matcher_free(struct bw_fqdn_matcher *m)
{
	if (!m)
		return;
	free(m->text);
	free(m->buf);
	free(m->labels);
	free(m->lens);
	free(m);
}

struct bw_fqdn_matcher *bw_fqdn_matcher_from_canonical(const char *canonical)
{
	struct bw_fqdn_matcher *m = calloc(1, sizeof(*m));
	size_t n = canonical ? strlen(canonical) : 0, start = 0, lead = 0;
	char *p;

	if (!m)
		return NULL;
	m->text = strdup(canonical ? canonical : "");
	if (!m->text)
		goto nomem;
	if (fm_all_stars(m->text, n)) {
		m->all = 1;
		return m;
	}
	while (lead < n && m->text[lead] == '*')
		lead++;
	if (lead >= 2 && lead < n && m->text[lead] == '.') {
		m->multi = 1;
		start = lead + 1;
	}
	m->buf = strdup(m->text + start);
	if (!m->buf)
		goto nomem;
	m->nlabels = 1;
	for (p = m->buf; *p; p++)
		if (*p == '.')
			m->nlabels++;
	m->labels = calloc(m->nlabels, sizeof(*m->labels));
	m->lens = calloc(m->nlabels, sizeof(*m->lens));
	if (!m->labels || !m->lens)
		goto nomem;
	p = m->buf;
	for (size_t i = 0; i < m->nlabels; i++) {
		char *dot = strchr(p, '.');

		if (dot)
			*dot = '\0';
		m->labels[i] = p;
		m->lens[i] = strlen(p);
		if (strchr(p, '*'))
			m->stars = 1;
		p = dot ? dot + 1 : p + m->lens[i];
	}
	return m;
nomem:
	bw_fqdn_matcher_free(m);
	errno = ENOMEM;
	return NULL;
}

struct bw_fqdn_matcher *bw_fqdn_matcher_new(enum bw_fqdn_kind kind,
					    const char *text, char *err,
					    size_t errlen)
{
	char canon[BW_FQDN_SELECTOR_MAX + 1];

	if (bw_fqdn_selector_check(kind, text, err, errlen) < 0 ||
	    bw_fqdn_selector_canonical(kind, text, canon, sizeof(canon)) < 0) {
		errno = EINVAL;
		return NULL;
	}
	return bw_fqdn_matcher_from_canonical(canon);
}

const char *bw_fqdn_matcher_text(const struct bw_fqdn_matcher *m)
{
	return m->text;
}

int bw_fqdn_matcher_is_name(const struct bw_fqdn_matcher *m)
{
	return !m->all && !m->multi && !m->stars;
}

/*
 * One label against a pattern label: a star (a run counts as one) matches
 * zero or more of [-a-z0-9_]. Dynamic programming over the name's label
 * (at most a few hundred bytes), one row per pattern character.
 */
static int fm_label_match(const char *p, size_t pl, const char *s, size_t sl)
{
	unsigned char row[BW_FQDN_NAME_MAX + 2], next[BW_FQDN_NAME_MAX + 2];

	if (sl > BW_FQDN_NAME_MAX)
		return 0;
	if (!memchr(p, '*', pl))
		return pl == sl && !memcmp(p, s, sl);
	memset(row, 0, sl + 1);
	row[0] = 1;
	for (size_t i = 0; i < pl; i++) {
		if (p[i] == '*') {
			if (i + 1 < pl && p[i + 1] == '*')
				continue; /* a run of stars is one star */
			next[0] = row[0];
			for (size_t j = 1; j <= sl; j++)
				next[j] = row[j] ||
					  (next[j - 1] && fm_dns_char((unsigned char)s[j - 1]));
		} else {
			next[0] = 0;
			for (size_t j = 1; j <= sl; j++)
				next[j] = row[j - 1] && s[j - 1] == p[i];
		}
		memcpy(row, next, sl + 1);
	}
	return row[sl];
}

/* A whole label of the name that a leading wildcard or "*" may cover. */
static int fm_plain_label(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!fm_dns_char((unsigned char)s[i]))
			return 0;
	return 1;
}

int bw_fqdn_matcher_match(const struct bw_fqdn_matcher *m, const char *name)
{
	const char *lab[128];
	size_t len[128], nl = 0, n = strlen(name), i, skip;
	const char *p = name;

	if (!n || name[n - 1] != '.')
		return 0;
	if (n == 1) /* the root */
		return m->all;
	/* split into labels (without the final empty one) */
	while (p < name + n) {
		const char *dot = memchr(p, '.', (size_t)(name + n - p));

		if (nl == sizeof(lab) / sizeof(lab[0]))
			return 0;
		lab[nl] = p;
		len[nl] = (size_t)(dot - p);
		nl++;
		p = dot + 1;
	}
	if (m->all) {
		for (i = 0; i < nl; i++)
			if (!fm_plain_label(lab[i], len[i]))
				return 0;
		return 1;
	}
	if (m->multi ? nl <= m->nlabels : nl != m->nlabels)
		return 0;
	skip = nl - m->nlabels;
	for (i = 0; i < skip; i++)
		if (!fm_plain_label(lab[i], len[i]))
			return 0;
	for (i = 0; i < m->nlabels; i++)
		if (!fm_label_match(m->labels[i], m->lens[i], lab[skip + i], len[skip + i]))
			return 0;
	return 1;
}

int bw_fqdn_match(enum bw_fqdn_kind kind, const char *text, const char *name)
{
	char norm[BW_FQDN_NAME_MAX + 3];
	struct bw_fqdn_matcher *m;
	int r;

	if (bw_fqdn_name_normalize(name, norm, sizeof(norm)) < 0)
		return 0;
	m = bw_fqdn_matcher_new(kind, text, NULL, 0);
	if (!m)
		return 0;
	r = bw_fqdn_matcher_match(m, norm);
	bw_fqdn_matcher_free(m);
	return r;
}
