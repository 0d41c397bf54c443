/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/node/labels.c - labels, sorted label sets, their canonical text, Cilium's
 * security-relevance filter and the Kubernetes naming rules.
 *
 * Sets are small (a pod has a handful of labels), so they are sorted arrays;
 * insertion keeps the order so canonical text and comparison are linear.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/node/labels.h"
#include "lib/errbuf.h"

static const char *const labels_sources[] = {
	"k8s", "reserved", "cidr", "fqdn", "any", "unspec", "container",
	"cni", "node", "cidrgroup", "directory", NULL,
};

int bw_label_source_valid(const char *src)
{
	for (size_t i = 0; labels_sources[i]; i++)
		if (strcmp(src, labels_sources[i]) == 0)
			return 1;
	return 0;
}

void bw_label_clear(struct bw_label *l)
{
	if (!l)
		return;
	free(l->text); /* the block of all four strings (labels_fill) */
	memset(l, 0, sizeof(*l));
}

/*
 * One allocation per label: the text ("source:key=value") followed by the
 * source, key and value strings; bw_label_clear() frees the block by its
 * text (the first string). 10,000 CIDR identities build and copy 20,000+
 * labels per import.
 */
static int labels_fill(struct bw_label *l, const char *source, size_t slen,
		       const char *key, size_t klen, const char *value)
{
	size_t vlen = value ? strlen(value) : 0;
	size_t tlen = slen + 1 + klen + (vlen ? 1 + vlen : 0);
	char *b = malloc(tlen + 1 + slen + 1 + klen + 1 + vlen + 1), *p;

	memset(l, 0, sizeof(*l));
	if (!b)
		return -ENOMEM;
	p = b;
	memcpy(p, source, slen);
	p[slen] = ':';
	memcpy(p + slen + 1, key, klen);
	if (vlen) {
		p[slen + 1 + klen] = '=';
		memcpy(p + slen + 1 + klen + 1, value, vlen);
	}
	p[tlen] = '\0';
	l->text = p;
	p += tlen + 1;
	memcpy(p, source, slen);
	p[slen] = '\0';
	l->source = p;
	p += slen + 1;
	memcpy(p, key, klen);
	p[klen] = '\0';
	l->key = p;
	p += klen + 1;
	if (vlen)
		memcpy(p, value, vlen);
	p[vlen] = '\0';
	l->value = p;
	return 0;
}

int bw_label_parse(const char *text, const char *default_source,
		   struct bw_label *out, char *err, size_t errlen)
{
	const char *colon = strchr(text, ':');
	const char *eq = strchr(text, '=');
	const char *src = default_source ? default_source : BW_LABEL_SOURCE_UNSPEC;
	size_t slen = strlen(src);
	const char *key = text;
	size_t klen;

	if (colon && (!eq || colon < eq)) {
		src = text;
		slen = (size_t)(colon - text);
		key = colon + 1;
		if (slen == 0) {
			bw_errbuf_set(err, errlen, "label \"%s\" has an empty source", text);
			return -EINVAL;
		}
	}
	klen = eq ? (size_t)(eq - key) : strlen(key);
	if (klen == 0) {
		bw_errbuf_set(err, errlen, "label \"%s\" has an empty key", text);
		return -EINVAL;
	}
	{
		char s[32];

		if (slen >= sizeof(s)) {
			bw_errbuf_set(err, errlen, "label \"%s\" has an unknown source", text);
			return -EINVAL;
		}
		memcpy(s, src, slen);
		s[slen] = '\0';
		if (!bw_label_source_valid(s)) {
			bw_errbuf_set(err, errlen,
				      "label \"%s\" has an unknown source \"%s\"", text, s);
			return -EINVAL;
		}
	}
	if (labels_fill(out, src, slen, key, klen, eq ? eq + 1 : "") < 0) {
		bw_errbuf_set(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

struct bw_labelset *bw_labelset_new(void)
{
	return calloc(1, sizeof(struct bw_labelset));
}

void bw_labelset_free(struct bw_labelset *ls)
{
	if (!ls)
		return;
	for (size_t i = 0; i < ls->n; i++)
		bw_label_clear(&ls->v[i]);
	free(ls->v);
	free(ls);
}

struct bw_labelset *bw_labelset_dup(const struct bw_labelset *ls)
{
	struct bw_labelset *d = bw_labelset_new();

	if (!d)
		return NULL;
	if (ls && bw_labelset_merge(d, ls) < 0) {
		bw_labelset_free(d);
		errno = ENOMEM;
		return NULL;
	}
	return d;
}

/* Insert an owned label, keeping the set sorted and unique by (source, key). */
static int labels_insert(struct bw_labelset *ls, struct bw_label *l)
{
	size_t lo = 0, hi, i;

	for (i = 0; i < ls->n; i++) {
		if (strcmp(ls->v[i].source, l->source) == 0 &&
		    strcmp(ls->v[i].key, l->key) == 0) {
			bw_label_clear(&ls->v[i]);
			memmove(&ls->v[i], &ls->v[i + 1],
				(ls->n - i - 1) * sizeof(ls->v[0]));
			ls->n--;
			break;
		}
	}
	if (ls->n == ls->cap) {
		size_t cap = ls->cap ? ls->cap * 2 : 8;
		struct bw_label *v = realloc(ls->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ls->v = v;
		ls->cap = cap;
	}
	hi = ls->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(ls->v[mid].text, l->text) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&ls->v[lo + 1], &ls->v[lo], (ls->n - lo) * sizeof(ls->v[0]));
	ls->v[lo] = *l;
	ls->n++;
	return 0;
}

int bw_labelset_add(struct bw_labelset *ls, const char *source,
		    const char *key, const char *value)
{
	struct bw_label l;
	int rc;

	if (!source || !key || !*key)
		return -EINVAL;
	rc = labels_fill(&l, source, strlen(source), key, strlen(key), value);
	if (rc < 0)
		return rc;
	rc = labels_insert(ls, &l);
	if (rc < 0)
		bw_label_clear(&l);
	return rc;
}

int bw_labelset_add_text(struct bw_labelset *ls, const char *text,
			 const char *default_source, char *err, size_t errlen)
{
	struct bw_label l;
	int rc = bw_label_parse(text, default_source, &l, err, errlen);

	if (rc < 0)
		return rc;
	rc = labels_insert(ls, &l);
	if (rc < 0) {
		bw_label_clear(&l);
		bw_errbuf_set(err, errlen, "out of memory");
	}
	return rc;
}

int bw_labelset_merge(struct bw_labelset *ls, const struct bw_labelset *src)
{
	for (size_t i = 0; src && i < src->n; i++) {
		int rc = bw_labelset_add(ls, src->v[i].source, src->v[i].key,
					 src->v[i].value);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int bw_labelset_remove(struct bw_labelset *ls, const char *source,
		       const char *key)
{
	for (size_t i = 0; i < ls->n; i++) {
		if (strcmp(ls->v[i].source, source) == 0 &&
		    strcmp(ls->v[i].key, key) == 0) {
			bw_label_clear(&ls->v[i]);
			memmove(&ls->v[i], &ls->v[i + 1],
				(ls->n - i - 1) * sizeof(ls->v[0]));
			ls->n--;
			return 1;
		}
	}
	return 0;
}

size_t bw_labelset_count(const struct bw_labelset *ls)
{
	return ls ? ls->n : 0;
}

const struct bw_label *bw_labelset_at(const struct bw_labelset *ls, size_t i)
{
	return ls && i < ls->n ? &ls->v[i] : NULL;
}

const struct bw_label *bw_labelset_get(const struct bw_labelset *ls,
				       const char *source, const char *key)
{
	int any = !source || strcmp(source, BW_LABEL_SOURCE_ANY) == 0;

	for (size_t i = 0; ls && i < ls->n; i++) {
		if (strcmp(ls->v[i].key, key) != 0)
			continue;
		if (any || strcmp(ls->v[i].source, source) == 0)
			return &ls->v[i];
	}
	return NULL;
}

int bw_labelset_cmp(const struct bw_labelset *a, const struct bw_labelset *b)
{
	size_t na = bw_labelset_count(a), nb = bw_labelset_count(b);

	for (size_t i = 0; i < na && i < nb; i++) {
		int c = strcmp(a->v[i].text, b->v[i].text);

		if (c)
			return c;
	}
	return na < nb ? -1 : na > nb ? 1 : 0;
}

int bw_labelset_equal(const struct bw_labelset *a, const struct bw_labelset *b)
{
	return bw_labelset_cmp(a, b) == 0;
}

char *bw_labelset_text(const struct bw_labelset *ls)
{
	size_t len = 1, off = 0;
	char *s;

	for (size_t i = 0; ls && i < ls->n; i++)
		len += strlen(ls->v[i].text) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (size_t i = 0; ls && i < ls->n; i++) {
		size_t l = strlen(ls->v[i].text);

		if (i)
			s[off++] = '\n';
		memcpy(s + off, ls->v[i].text, l);
		off += l;
	}
	s[off] = '\0';
	return s;
}

struct bw_labelset *bw_labelset_from_text(const char *text, char *err,
					  size_t errlen)
{
	struct bw_labelset *ls = bw_labelset_new();
	const char *p = text;

	if (!ls)
		return NULL;
	while (p && *p) {
		size_t n = strcspn(p, "\n;");

		if (n) {
			char *line = strndup(p, n);
			int rc;

			if (!line) {
				bw_labelset_free(ls);
				errno = ENOMEM;
				return NULL;
			}
			rc = bw_labelset_add_text(ls, line, NULL, err, errlen);
			free(line);
			if (rc < 0) {
				bw_labelset_free(ls);
				errno = -rc;
				return NULL;
			}
		}
		p += n;
		if (*p)
			p++;
	}
	return ls;
}

json_t *bw_labelset_to_json(const struct bw_labelset *ls)
{
	json_t *a = json_array();

	for (size_t i = 0; a && ls && i < ls->n; i++) {
		if (json_array_append_new(a, json_string(ls->v[i].text)) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* ---- security relevance ------------------------------------------------- */

static int labels_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

int bw_label_security_relevant(const char *source, const char *key)
{
	static const char *const include_exact[] = {
		BW_LABEL_POD_NAMESPACE, BW_LABEL_POLICY_CLUSTER,
		BW_LABEL_SERVICEACCOUNT, NULL,
	};
	static const char *const include_prefix[] = {
		"io.cilium.k8s.namespace.labels", "app.kubernetes.io", NULL,
	};
	static const char *const ignore_exact[] = {
		"statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
		"batch.kubernetes.io/job-completion-index",
		"batch.kubernetes.io/controller-uid", "pod-template-generation",
		"pod-template-hash", "controller-revision-hash", "controller-uid",
		"etcd_node", NULL,
	};
	static const char *const ignore_prefix[] = {
		"io.kubernetes", "kubernetes.io", "k8s.io", "annotation.",
		"topology.kubernetes.io", NULL,
	};
	size_t i;

	if (strcmp(source, BW_LABEL_SOURCE_RESERVED) == 0)
		return 1;
	for (i = 0; include_exact[i]; i++)
		if (strcmp(key, include_exact[i]) == 0)
			return 1;
	for (i = 0; include_prefix[i]; i++)
		if (labels_prefix(key, include_prefix[i]))
			return 1;
	for (i = 0; ignore_exact[i]; i++)
		if (strcmp(key, ignore_exact[i]) == 0)
			return 0;
	for (i = 0; ignore_prefix[i]; i++)
		if (labels_prefix(key, ignore_prefix[i]))
			return 0;
	if (strstr(key, "beta.kubernetes.io"))
		return 0;
	return 1;
}

struct bw_labelset *bw_labelset_filter_identity(const struct bw_labelset *ls)
{
	struct bw_labelset *d = bw_labelset_new();

	if (!d)
		return NULL;
	for (size_t i = 0; ls && i < ls->n; i++) {
		if (!bw_label_security_relevant(ls->v[i].source, ls->v[i].key))
			continue;
		if (bw_labelset_add(d, ls->v[i].source, ls->v[i].key,
				    ls->v[i].value) < 0) {
			bw_labelset_free(d);
			errno = ENOMEM;
			return NULL;
		}
	}
	return d;
}

/* ---- Kubernetes naming rules --------------------------------------------- */

static int labels_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* Qualified name part / label value: [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])? */
static int labels_qualified_ok(const char *s, size_t n)
{
	if (n == 0 || !labels_alnum(s[0]) || !labels_alnum(s[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!labels_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

static int labels_dns_label_ok(const char *s, size_t n)
{
	if (n == 0 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return s[0] != '-' && s[n - 1] != '-';
}

static int labels_dns_subdomain_ok(const char *s, size_t n)
{
	size_t start = 0;

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (!labels_dns_label_ok(s + start, i - start))
				return 0;
			start = i + 1;
		}
	}
	return 1;
}

int bw_k8s_label_key_valid(const char *key, char *err, size_t errlen)
{
	const char *slash = strchr(key, '/');
	const char *name = slash ? slash + 1 : key;
	size_t nlen = strlen(name);

	if (!*key) {
		bw_errbuf_set(err, errlen, "label key must not be empty");
		return -EINVAL;
	}
	if (slash) {
		size_t plen = (size_t)(slash - key);

		if (!labels_dns_subdomain_ok(key, plen)) {
			bw_errbuf_set(err, errlen,
				      "label key \"%s\": prefix must be a DNS subdomain "
				      "(lower-case alphanumerics, '-' and '.', at most 253 characters)",
				      key);
			return -EINVAL;
		}
	}
	if (nlen > 63) {
		bw_errbuf_set(err, errlen,
			      "label key \"%s\": name part must be at most 63 characters", key);
		return -EINVAL;
	}
	if (!labels_qualified_ok(name, nlen)) {
		bw_errbuf_set(err, errlen,
			      "label key \"%s\": name part must consist of alphanumerics, "
			      "'-', '_' or '.', and start and end with an alphanumeric", key);
		return -EINVAL;
	}
	return 0;
}

int bw_k8s_label_value_valid(const char *value, char *err, size_t errlen)
{
	size_t n = strlen(value);

	if (n == 0)
		return 0;
	if (n > 63) {
		bw_errbuf_set(err, errlen,
			      "label value \"%s\" must be at most 63 characters", value);
		return -EINVAL;
	}
	if (!labels_qualified_ok(value, n)) {
		bw_errbuf_set(err, errlen,
			      "label value \"%s\" must consist of alphanumerics, '-', '_' "
			      "or '.', and start and end with an alphanumeric", value);
		return -EINVAL;
	}
	return 0;
}

int bw_k8s_dns_label_valid(const char *name, char *err, size_t errlen)
{
	if (!labels_dns_label_ok(name, strlen(name))) {
		bw_errbuf_set(err, errlen,
			      "\"%s\" is not a valid DNS label (lower-case alphanumerics "
			      "and '-', starting and ending with an alphanumeric, at most 63 "
			      "characters)", name);
		return -EINVAL;
	}
	return 0;
}

int bw_k8s_dns_subdomain_valid(const char *name, char *err, size_t errlen)
{
	if (!labels_dns_subdomain_ok(name, strlen(name))) {
		bw_errbuf_set(err, errlen,
			      "\"%s\" is not a valid DNS subdomain (lower-case alphanumerics, "
			      "'-' and '.', each part starting and ending with an "
			      "alphanumeric, at most 253 characters)", name);
		return -EINVAL;
	}
	return 0;
}
