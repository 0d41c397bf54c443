/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/advisor/advisor_world.c - what the advisor knows of the node:
 * its workloads (lib/flowpeer.h groups pods by namespace and app label,
 * else their Kubernetes workload, else the pod name, as history names
 * them), the labels that select each workload's pods in a policy, and the
 * namespaces that have endpoints.
 *
 * A workload named after its app label is selected by that label. Any
 * other is selected by the labels all its pods share, when no pod of
 * another workload of the namespace has them all; else it has no labels
 * of its own and rules about it apply to its namespace (the comments say
 * so).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/flowpeer.h"
#include "advisor.h"

struct adv_ep {
	char *key;     /* "NS/WORKLOAD" */
	char *ns;
	json_t *labels; /* {"key": "value"} without source, namespace-free */
	int app;       /* the workload is named after an app label */
	const char *app_key;
};

struct adv_walk {
	struct adv_ep *v;
	size_t n, cap;
	int err;
};

static const char *const adv_app_keys[] = { "app.kubernetes.io/name", "app", "k8s-app" };

/* Labels of a pod that say what it is (not where it is). */
static int
adv_label_kept(const char *key)
{
	return strcmp(key, "io.kubernetes.pod.namespace") != 0 &&
	       strncmp(key, "io.cilium.", 10) != 0 && strncmp(key, "io.kubernetes.", 14) != 0;
}

static void
adv_walk_cb(const struct bw_endpoint_view *ep, void *arg)
{
	struct adv_walk *w = arg;
	char buf[256], key[600];
	const char *name;
	struct adv_ep *e;

	if (w->err || ep->ns == NULL)
		return;
	name = bw_flowpeer_workload(ep->labels, ep->n_labels, ep->workload_name, ep->pod, buf,
				    sizeof(buf));
	if (name == NULL || *name == '\0')
		return;
	if (w->n == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 64;
		struct adv_ep *v = realloc(w->v, nc * sizeof(*v));

		if (v == NULL) {
			w->err = -ENOMEM;
			return;
		}
		w->v = v;
		w->cap = nc;
	}
	e = &w->v[w->n++];
	memset(e, 0, sizeof(*e));
	snprintf(key, sizeof(key), "%s/%s", ep->ns, name);
	e->key = strdup(key);
	e->ns = strdup(ep->ns);
	e->labels = json_object();
	for (uint32_t i = 0; i < ep->n_labels; i++) {
		const char *l = ep->labels[i], *colon = strchr(l, ':'), *eq = strchr(l, '=');
		char k[256];

		if (colon != NULL && (eq == NULL || colon < eq))
			l = colon + 1;
		eq = strchr(l, '=');
		if (eq == NULL || (size_t)(eq - l) >= sizeof(k))
			continue;
		memcpy(k, l, (size_t)(eq - l));
		k[eq - l] = '\0';
		if (!adv_label_kept(k))
			continue;
		json_object_set_new(e->labels, k, json_string(eq + 1));
		for (size_t j = 0; j < sizeof(adv_app_keys) / sizeof(*adv_app_keys); j++)
			if (!e->app && !strcmp(k, adv_app_keys[j]) && !strcmp(eq + 1, name)) {
				e->app = 1;
				e->app_key = adv_app_keys[j];
			}
	}
	if (e->key == NULL || e->ns == NULL || e->labels == NULL)
		w->err = -ENOMEM;
}

static int
adv_ep_cmp(const void *a, const void *b)
{
	return strcmp(((const struct adv_ep *)a)->key, ((const struct adv_ep *)b)->key);
}

/* The labels every pod of v[lo..hi) has. */
static json_t *
adv_common_labels(const struct adv_ep *v, size_t lo, size_t hi)
{
	json_t *common = json_deep_copy(v[lo].labels), *val;
	const char *k;
	void *tmp;

	for (size_t i = lo + 1; i < hi && common != NULL; i++)
		json_object_foreach_safe(common, tmp, k, val) {
			json_t *o = json_object_get(v[i].labels, k);

			if (o == NULL || !json_equal(o, val))
				json_object_del(common, k);
		}
	return common;
}

/* Does a pod of another workload of ns have every label of sel? */
static int
adv_selects_others(const struct adv_ep *v, size_t n, const char *ns, const char *key,
		   const json_t *sel)
{
	for (size_t i = 0; i < n; i++) {
		const char *k;
		json_t *val;
		int all = 1;

		if (strcmp(v[i].ns, ns) || !strcmp(v[i].key, key))
			continue;
		json_object_foreach((json_t *)sel, k, val) {
			json_t *o = json_object_get(v[i].labels, k);

			if (o == NULL || !json_equal(o, val)) {
				all = 0;
				break;
			}
		}
		if (all)
			return 1;
	}
	return 0;
}

static int
adv_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
adv_world_load(struct adv_world *w, const struct bw_core_api *api)
{
	struct adv_walk walk = { 0 };
	size_t i, j;
	int rc = 0;

	memset(w, 0, sizeof(*w));
	if (api != NULL)
		api->endpoint_walk(adv_walk_cb, &walk);
	if (walk.err) {
		rc = walk.err;
		goto out;
	}
	qsort(walk.v, walk.n, sizeof(*walk.v), adv_ep_cmp);
	w->v = calloc(walk.n ? walk.n : 1, sizeof(*w->v));
	w->namespaces = calloc(walk.n ? walk.n : 1, sizeof(*w->namespaces));
	if (w->v == NULL || w->namespaces == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < walk.n; i = j) {
		struct adv_wl *wl = &w->v[w->n++];
		const char *slash = strchr(walk.v[i].key, '/');

		for (j = i + 1; j < walk.n && !strcmp(walk.v[j].key, walk.v[i].key); j++)
			;
		wl->key = strdup(walk.v[i].key);
		wl->ns = strdup(walk.v[i].ns);
		wl->name = strdup(slash + 1);
		wl->endpoints = j - i;
		if (walk.v[i].app) {
			wl->labels = json_object();
			json_object_set(wl->labels, walk.v[i].app_key,
					json_object_get(walk.v[i].labels, walk.v[i].app_key));
			wl->exact = 1;
		} else {
			wl->labels = adv_common_labels(walk.v, i, j);
			if (wl->labels != NULL && json_object_size(wl->labels) == 0) {
				json_decref(wl->labels);
				wl->labels = NULL;
			}
			wl->exact = wl->labels != NULL &&
				    !adv_selects_others(walk.v, walk.n, wl->ns, wl->key, wl->labels);
		}
		if (wl->key == NULL || wl->ns == NULL || wl->name == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		if (w->nns == 0 || strcmp(w->namespaces[w->nns - 1], wl->ns)) {
			size_t k;

			for (k = 0; k < w->nns && strcmp(w->namespaces[k], wl->ns); k++)
				;
			if (k == w->nns && (w->namespaces[w->nns++] = strdup(wl->ns)) == NULL) {
				rc = -ENOMEM;
				goto out;
			}
		}
	}
	qsort(w->namespaces, w->nns, sizeof(*w->namespaces), adv_str_cmp);
out:
	for (i = 0; i < walk.n; i++) {
		free(walk.v[i].key);
		free(walk.v[i].ns);
		json_decref(walk.v[i].labels);
	}
	free(walk.v);
	if (rc < 0)
		adv_world_free(w);
	return rc;
}

void
adv_world_free(struct adv_world *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->v[i].key);
		free(w->v[i].ns);
		free(w->v[i].name);
		json_decref(w->v[i].labels);
	}
	free(w->v);
	for (size_t i = 0; i < w->nns; i++)
		free(w->namespaces[i]);
	free(w->namespaces);
	memset(w, 0, sizeof(*w));
}

const struct adv_wl *
adv_world_find(const struct adv_world *w, const char *key)
{
	size_t lo = 0, hi = w->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(w->v[mid].key, key);

		if (c == 0)
			return &w->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int
adv_world_has_ns(const struct adv_world *w, const char *ns)
{
	for (size_t i = 0; i < w->nns; i++)
		if (!strcmp(w->namespaces[i], ns))
			return 1;
	return 0;
}

size_t
adv_world_ns_workloads(const struct adv_world *w, const char *ns)
{
	size_t n = 0;

	for (size_t i = 0; i < w->n; i++)
		n += !strcmp(w->v[i].ns, ns);
	return n;
}
