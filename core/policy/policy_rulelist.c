/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/policy_rulelist.c - Cilium's `cilium policy import` format: a
 * JSON array of rules (Cilium's api.Rule: endpointSelector, ingress,
 * egress, ..., and its own `labels`), with no apiVersion or kind, as in many
 * files of Cilium's examples/policies. Each such rule becomes a rule of a
 * CiliumNetworkPolicy (or, without a namespace, of a
 * CiliumClusterwideNetworkPolicy, whose selectors are not confined to a
 * namespace, as Cilium's imported rules are not), which the netpol-cilium
 * format then checks and translates like any other:
 *
 *  - the policy's namespace: the rule's io.cilium.k8s.policy.namespace
 *    label, else the importer's default (`bulwark policy import
 *    --namespace NS`), else none (cluster-wide);
 *  - its name: the rule's io.cilium.k8s.policy.name label, else its `name`
 *    label, else the input's file name without its extension (made a valid
 *    name), else "rules-<hash of the rules>" for input with no file name;
 *  - rules with the same namespace and name form one policy (its specs, in
 *    input order), so importing the file again updates it in place.
 *
 * Labels are written as Cilium writes them: {"key": K, "value": V,
 * "source": S} or the short form "[source:]key[=value]".
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/node/labels.h"
#include "core/policy/policy_int.h"
#include "core/policy/policydoc.h"
#include "lib/errbuf.h"

#define RL_NAME_LABEL "io.cilium.k8s.policy.name"
#define RL_NS_LABEL "io.cilium.k8s.policy.namespace"

struct rl_group {
	char *ns, *name;
	json_t *specs;
	size_t first; /* index of its first document */
	struct bw_pol_rulelist map;
};

/* Is this document a bare Cilium rule? (no apiVersion/kind, a selector) */
static int rl_is_rule(const json_t *o)
{
	return json_is_object(o) && !json_object_get(o, "apiVersion") &&
	       !json_object_get(o, "kind") &&
	       (json_object_get(o, "endpointSelector") || json_object_get(o, "nodeSelector"));
}

/* The key and value of one label (either form); 0 or -EINVAL. */
static int rl_label(const json_t *l, char *key, size_t klen, char *val, size_t vlen)
{
	const char *k, *v = "";

	if (json_is_string(l)) {
		const char *s = json_string_value(l), *colon = strchr(s, ':'),
			   *eq = strchr(s, '=');

		if (colon && (!eq || colon < eq))
			s = colon + 1;
		eq = strchr(s, '=');
		snprintf(key, klen, "%.*s", (int)(eq ? (size_t)(eq - s) : strlen(s)), s);
		snprintf(val, vlen, "%s", eq ? eq + 1 : "");
		return *key ? 0 : -EINVAL;
	}
	if (!json_is_object(l))
		return -EINVAL;
	k = json_string_value(json_object_get(l, "key"));
	if (json_object_get(l, "value"))
		v = json_string_value(json_object_get(l, "value"));
	if (!k || !*k || !v ||
	    (json_object_get(l, "source") && !json_is_string(json_object_get(l, "source"))))
		return -EINVAL;
	snprintf(key, klen, "%s", k);
	snprintf(val, vlen, "%s", v);
	return 0;
}

/* The default name: the file name without its extension, made a valid
 * DNS-1123 subdomain; "rules-<hash>" for input without one. */
static void rl_default_name(const char *source_name, const char *buf, size_t len, char *out,
			    size_t outlen)
{
	const char *base = source_name ? strrchr(source_name, '/') : NULL;
	size_t n = 0;
	char *dot;

	base = base ? base + 1 : source_name;
	if (base && *base && strcmp(base, "request") && strcmp(base, "stdin") &&
	    strcmp(base, "-")) {
		for (const char *c = base; *c && n + 1 < outlen && n < 253; c++) {
			char ch = (char)tolower((unsigned char)*c);

			out[n++] = (isalnum((unsigned char)ch) || ch == '.') ? ch : '-';
		}
		out[n] = '\0';
		dot = strrchr(out, '.');
		if (dot && dot != out)
			*dot = '\0';
		n = strlen(out);
		while (n && !isalnum((unsigned char)out[n - 1]))
			out[--n] = '\0';
		while (*out && !isalnum((unsigned char)*out))
			memmove(out, out + 1, strlen(out));
		if (*out)
			return;
	}
	{
		uint64_t h = 1469598103934665603ull;

		for (size_t i = 0; i < len; i++) {
			h ^= (unsigned char)buf[i];
			h *= 1099511628211ull;
		}
		snprintf(out, outlen, "rules-%08llx", (unsigned long long)(h & 0xffffffffull));
	}
}

void bw_pol_rulelist_free(struct bw_pol_rulelist *maps, size_t n)
{
	for (size_t i = 0; maps && i < n; i++)
		free(maps[i].o);
	free(maps);
}

int bw_pol_rulelist_convert(struct bw_policydoc_set *set, const char *source_name,
			    const char *default_ns, const char *buf, size_t len,
			    struct bw_pol_rulelist **maps_out, char *err, size_t errlen)
{
	struct rl_group *g = NULL;
	size_t ng = 0;
	struct bw_pol_rulelist *maps = NULL;
	char defname[256], where[96];
	int rc = 0;

	*maps_out = NULL;
	defname[0] = '\0';
	for (size_t i = 0; i < set->count && rc == 0; i++) {
		struct bw_policydoc *d = &set->docs[i];
		/* the reader's object, or a copy of it where the rule is changed below */
		json_t *o = !d->obj		   ? json_loadb(d->json, d->json_len, 0, NULL)
			    : rl_is_rule(d->obj) ? json_deep_copy(d->obj)
						 : json_incref(d->obj),
		       *labels, *l;
		const char *ns = default_ns && *default_ns ? default_ns : "";
		char name[256] = "", nsbuf[256], key[320], val[320];
		size_t k, x;

		int item = d->item, same = 0, before = 0;

		if (!rl_is_rule(o)) {
			json_decref(o);
			continue;
		}
		/* the elements of a top-level list share their document's index */
		for (size_t j = 0; item < 0 && j < set->count; j++)
			if (set->docs[j].index == d->index) {
				same++;
				before += j < i;
			}
		if (item < 0 && same > 1)
			item = before;
		if (item >= 0)
			snprintf(where, sizeof(where), "document %u, item %d (line %u)",
				 d->index + 1, item, d->line);
		else
			snprintf(where, sizeof(where), "document %u (line %u)", d->index + 1,
				 d->line);
		labels = json_object_get(o, "labels");
		if (labels && !json_is_array(labels)) {
			rc = bw_errbuf_set(err, errlen,
					   "%s: %s: labels: must be a list of labels ({key, value, source} or \"source:key=value\")",
					   source_name, where);
			json_decref(o);
			break;
		}
		json_array_foreach(labels, k, l) {
			if (rl_label(l, key, sizeof(key), val, sizeof(val)) < 0) {
				rc = bw_errbuf_set(err, errlen,
						   "%s: %s: labels[%zu]: not a label ({key, value, source} or \"source:key=value\")",
						   source_name, where, k);
				break;
			}
			if (!strcmp(key, RL_NAME_LABEL) || (!strcmp(key, "name") && !name[0]))
				snprintf(name, sizeof(name), "%s", val);
			else if (!strcmp(key, RL_NS_LABEL)) {
				snprintf(nsbuf, sizeof(nsbuf), "%s", val);
				ns = nsbuf;
			}
		}
		if (rc < 0) {
			json_decref(o);
			break;
		}
		if (!name[0]) {
			if (!defname[0])
				rl_default_name(source_name, buf, len, defname, sizeof(defname));
			snprintf(name, sizeof(name), "%s", defname);
		} else if (bw_k8s_dns_subdomain_valid(name, NULL, 0) < 0) {
			rc = bw_errbuf_set(err, errlen,
					   "%s: %s: labels: the rule's name \"%s\" is not a valid policy name (lowercase letters, digits, '-' and '.', starting and ending alphanumeric, at most 253 characters)",
					   source_name, where, name);
			json_decref(o);
			break;
		}
		if (*ns && bw_k8s_dns_label_valid(ns, NULL, 0) < 0) {
			rc = bw_errbuf_set(err, errlen,
					   "%s: %s: \"%s\" is not a valid namespace (lowercase letters, digits and '-', starting and ending alphanumeric, at most 63 characters)",
					   source_name, where, ns);
			json_decref(o);
			break;
		}
		/* the labels are read: the rule itself goes to the format */
		json_object_del(o, "labels");
		for (x = 0; x < ng; x++)
			if (!strcmp(g[x].ns, ns) && !strcmp(g[x].name, name))
				break;
		if (x == ng) {
			struct rl_group *v = realloc(g, (ng + 1) * sizeof(*g));

			if (!v) {
				json_decref(o);
				rc = -ENOMEM;
				break;
			}
			g = v;
			memset(&g[ng], 0, sizeof(g[ng]));
			g[ng].ns = strdup(ns);
			g[ng].name = strdup(name);
			g[ng].specs = json_array();
			g[ng].first = i;
			ng++;
			if (!g[x].ns || !g[x].name || !g[x].specs) {
				json_decref(o);
				rc = -ENOMEM;
				break;
			}
		}
		{
			struct bw_pol_rule_origin *v =
				realloc(g[x].map.o, (g[x].map.n + 1) * sizeof(*v));

			if (!v) {
				json_decref(o);
				rc = -ENOMEM;
				break;
			}
			g[x].map.o = v;
			if (json_array_append_new(g[x].specs, o) < 0) { /* o is freed */
				rc = -ENOMEM;
				break;
			}
			v[g[x].map.n].index = d->index;
			v[g[x].map.n].item = item;
			v[g[x].map.n].line = d->line;
			v[g[x].map.n].column = d->column;
			g[x].map.n++;
		}
		/* the document is replaced (first of its group) or dropped */
		free(d->json);
		d->json = NULL;
		d->json_len = 0;
		json_decref(d->obj);
		d->obj = NULL;
	}
	if (rc == 0 && ng) {
		maps = calloc(set->count, sizeof(*maps));
		if (!maps)
			rc = -ENOMEM;
	}
	for (size_t x = 0; rc == 0 && x < ng; x++) {
		json_t *doc = json_pack("{s:s, s:s, s:{s:s}, s:O}", "apiVersion", "cilium.io/v2",
					"kind", *g[x].ns ? "CiliumNetworkPolicy"
							 : "CiliumClusterwideNetworkPolicy",
					"metadata", "name", g[x].name, "specs", g[x].specs);
		struct bw_policydoc *d = &set->docs[g[x].first];

		if (doc && *g[x].ns)
			json_object_set_new(json_object_get(doc, "metadata"), "namespace",
					    json_string(g[x].ns));
		d->json = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
		d->obj = doc; /* d's object was dropped above */
		if (!d->json) {
			rc = -ENOMEM;
			break;
		}
		d->json_len = strlen(d->json);
		maps[g[x].first] = g[x].map;
		g[x].map.o = NULL;
	}
	if (rc == -ENOMEM)
		bw_errbuf_set(err, errlen, "%s: out of memory", source_name);
	/* compact: drop the documents merged into their group's first */
	if (rc == 0 && ng) {
		size_t k = 0;

		for (size_t i = 0; i < set->count; i++) {
			if (!set->docs[i].json)
				continue;
			set->docs[k] = set->docs[i];
			maps[k] = maps[i];
			if (k != i)
				memset(&maps[i], 0, sizeof(maps[i]));
			k++;
		}
		set->count = k;
	}
	for (size_t x = 0; x < ng; x++) {
		free(g[x].ns);
		free(g[x].name);
		json_decref(g[x].specs);
		free(g[x].map.o);
	}
	free(g);
	if (rc < 0) {
		bw_pol_rulelist_free(maps, set->count);
		rc = rc == -ENOMEM ? -ENOMEM : -EINVAL;
		/* documents freed on the way stay NULL: the caller frees the set */
		return rc;
	}
	*maps_out = maps;
	return 0;
}
