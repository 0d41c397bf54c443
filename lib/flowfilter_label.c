/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/flowfilter_label.c - the label selectors of FlowFilter's
 * source_label/destination_label and `observe --label`: Kubernetes
 * selector syntax ("app=web", "env in (a, b)", "!debug", "tier!=db"),
 * with Cilium's source prefixes on keys ("k8s:app=web", "any:app"),
 * parsed once and matched against a flow endpoint's "source:key=value"
 * labels. Part of lib/flowfilter.c's matcher (split off for size).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/flowfilter_int.h"
#include "bulwark/flow.h"

void
ff_selector_free(struct ff_selector *sel)
{
	for (size_t i = 0; i < sel->n_reqs; i++) {
		struct ff_req *r = &sel->reqs[i];

		free(r->source);
		free(r->key);
		for (size_t j = 0; j < r->n_values; j++)
			free(r->values[j]);
		free(r->values);
	}
	free(sel->reqs);
	sel->reqs = NULL;
	sel->n_reqs = 0;
}

static const char *
ff_skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A key: up to whitespace, '=', '!', ',', '(' or ')'. */
static const char *
ff_scan_key(const char *p)
{
	while (*p != '\0' && !strchr(" \t=!,()", *p))
		p++;
	return p;
}

static int
ff_req_set_key(struct ff_req *r, const char *k, size_t len)
{
	const char *colon = memchr(k, ':', len);

	if (len == 0)
		return -EINVAL;
	if (colon != NULL) {
		size_t slen = (size_t)(colon - k);

		if (slen == 0 || colon + 1 == k + len)
			return -EINVAL;
		if (!(slen == 3 && strncmp(k, "any", 3) == 0)) {
			r->source = strndup(k, slen);
			if (r->source == NULL)
				return -ENOMEM;
		}
		k = colon + 1;
		len -= slen + 1;
	}
	r->key = strndup(k, len);
	return r->key != NULL ? 0 : -ENOMEM;
}

static int
ff_req_add_value(struct ff_req *r, const char *v, size_t len)
{
	char **slot = ff_push(&r->values, &r->n_values, sizeof(char *));

	if (slot == NULL)
		return -ENOMEM;
	*slot = strndup(v, len);
	return *slot != NULL ? 0 : -ENOMEM;
}

int
ff_selector_parse(const char *s, struct ff_selector *sel)
{
	const char *p = ff_skip_ws(s), *k, *ke, *v;
	struct ff_req *r;

	memset(sel, 0, sizeof(*sel));
	if (*p == '\0')
		return -EINVAL;
	for (;;) {
		p = ff_skip_ws(p);
		r = ff_push(&sel->reqs, &sel->n_reqs, sizeof(*r));
		if (r == NULL)
			goto fail;
		if (*p == '!') {
			p = ff_skip_ws(p + 1);
			k = p;
			ke = ff_scan_key(p);
			if (ff_req_set_key(r, k, (size_t)(ke - k)) < 0)
				goto fail;
			r->op = FF_NOT_EXISTS;
			p = ff_skip_ws(ke);
		} else {
			k = p;
			ke = ff_scan_key(p);
			if (ff_req_set_key(r, k, (size_t)(ke - k)) < 0)
				goto fail;
			p = ff_skip_ws(ke);
			if (*p == '=' || (*p == '!' && p[1] == '=')) {
				r->op = *p == '!' ? FF_NEQ : FF_EQ;
				p += *p == '!' ? 2 : (p[1] == '=' ? 2 : 1);
				p = ff_skip_ws(p);
				v = p;
				while (*p != '\0' && !strchr(" \t,()=!", *p))
					p++;
				if (ff_req_add_value(r, v, (size_t)(p - v)) < 0)
					goto fail;
				p = ff_skip_ws(p);
			} else if ((strncmp(p, "in", 2) == 0 &&
				    (p[2] == ' ' || p[2] == '(')) ||
				   (strncmp(p, "notin", 5) == 0 &&
				    (p[5] == ' ' || p[5] == '('))) {
				r->op = p[0] == 'i' ? FF_IN : FF_NOTIN;
				p = ff_skip_ws(p + (r->op == FF_IN ? 2 : 5));
				if (*p++ != '(')
					goto fail;
				for (;;) {
					p = ff_skip_ws(p);
					v = p;
					while (*p != '\0' && !strchr(" \t,()", *p))
						p++;
					if (p > v && ff_req_add_value(r, v, (size_t)(p - v)) < 0)
						goto fail;
					p = ff_skip_ws(p);
					if (*p == ',') {
						p++;
						continue;
					}
					if (*p == ')')
						break;
					goto fail;
				}
				p = ff_skip_ws(p + 1);
				if (r->n_values == 0)
					goto fail;
			} else {
				r->op = FF_EXISTS;
			}
		}
		if (*p == '\0')
			return 0;
		if (*p != ',')
			goto fail;
		p++;
	}
fail:
	ff_selector_free(sel);
	return -EINVAL;
}

/*
 * Find the label with the requirement's key (and source) in a label list;
 * returns its value ("" when the label has none) or NULL.
 */
static const char *
ff_label_get(const struct ff_req *r, const struct bw_flow_endpoint *ep,
	     size_t *from)
{
	size_t klen = strlen(r->key);

	for (size_t i = *from; i < ep->n_labels; i++) {
		const char *l = ep->labels[i], *colon, *key, *eq;

		if (l == NULL)
			continue;
		colon = strchr(l, ':');
		eq = strchr(l, '=');
		if (colon == NULL || (eq != NULL && eq < colon)) {
			key = l; /* no source */
			if (r->source != NULL)
				continue;
		} else {
			key = colon + 1;
			if (r->source != NULL &&
			    (strlen(r->source) != (size_t)(colon - l) ||
			     strncmp(r->source, l, (size_t)(colon - l)) != 0))
				continue;
		}
		eq = strchr(key, '=');
		if ((eq != NULL ? (size_t)(eq - key) : strlen(key)) != klen ||
		    strncmp(key, r->key, klen) != 0)
			continue;
		*from = i + 1;
		return eq != NULL ? eq + 1 : "";
	}
	return NULL;
}

static int
ff_req_match(const struct ff_req *r, const struct bw_flow_endpoint *ep)
{
	size_t pos = 0;
	const char *v;
	int found = 0, hit = 0;

	while ((v = ff_label_get(r, ep, &pos)) != NULL) {
		found = 1;
		for (size_t i = 0; i < r->n_values; i++)
			if (strcmp(v, r->values[i]) == 0)
				hit = 1;
	}
	switch (r->op) {
	case FF_EXISTS:
		return found;
	case FF_NOT_EXISTS:
		return !found;
	case FF_EQ:
	case FF_IN:
		return hit;
	case FF_NEQ:
	case FF_NOTIN:
		return !hit;
	}
	return 0;
}

int
ff_selector_match(const struct ff_selector *sel,
		  const struct bw_flow_endpoint *ep)
{
	for (size_t i = 0; i < sel->n_reqs; i++)
		if (!ff_req_match(&sel->reqs[i], ep))
			return 0;
	return 1;
}
