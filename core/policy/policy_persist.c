/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/policy_persist.c - the API-managed policies in
 * <state_dir>/policies.json: written as the set will be before a change is
 * enforced (persist first: temporary file, fsync, rename; a change that
 * cannot be stored is not made), and restored at start, where a damaged
 * file or an entry that no longer compiles stops the start instead of
 * being read as fewer policies. The repository (policy.c) decides what is
 * written and when.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/log.h"
#include "core/policy/policy.h"
#include "core/policy/policy_int.h"
#include "core/state.h"

/*
 * One entry of the file, appended to f: the same bytes as json_dumps
 * (JSON_COMPACT | JSON_SORT_KEYS) of {kind, name, namespace, policy,
 * revision, updated}, with the policy's stored text (doc_text: the compact,
 * sorted dump of p->doc) put in place rather than p->doc serialised again
 * (a 10,000-peer policy is ~300 kB of JSON; issue 9).
 */
static int pp_entry(FILE *f, const struct bw_pol *p, int first)
{
	json_t *head = json_pack("{s:s,s:s,s:s}", "kind", p->kind, "name", p->name, "namespace",
				 p->ns);
	json_t *tail = json_pack("{s:I,s:I}", "revision", (json_int_t)p->revision, "updated",
				 (json_int_t)p->updated);
	char *h = head ? json_dumps(head, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char *t = tail ? json_dumps(tail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char *d = p->doc_text ? NULL : json_dumps(p->doc, JSON_COMPACT | JSON_SORT_KEYS);
	int rc = -ENOMEM;

	/* h is {...} and t is {...}: "{h-body,"policy":DOC,t-body}" */
	if (h && t && (p->doc_text || d) &&
	    fprintf(f, "%s%.*s,\"policy\":%s,%s", first ? "" : ",", (int)(strlen(h) - 1), h,
		    p->doc_text ? p->doc_text : d, t + 1) >= 0)
		rc = 0;
	json_decref(head);
	json_decref(tail);
	free(h);
	free(t);
	free(d);
	return rc;
}

/*
 * Write the API-managed set to policies.json as it will be: the current
 * API policies that keep(p, arg) keeps (all when keep is NULL), then the
 * extra versions. 0 or -errno (nothing written: the old file stays). The
 * file is what bw_state_write_json would write for
 * {"version": 1, "policies": [...]}: compact, keys sorted, one line.
 */
int bw_pol_state_write(const char *path, int (*keep)(const struct bw_pol *p, void *arg),
		       void *arg, struct bw_pol *const *extra, size_t nextra)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err = 0, first = 1;

	if (!f)
		return -ENOMEM;
	fputs("{\"policies\":[", f);
	for (size_t k = 0; k <= nextra && !err; k++) {
		for (struct bw_pol *p = k ? extra[k - 1] : bw_pol_first(); p && !err;
		     p = k ? NULL : p->next) {
			if (strcmp(p->source, BW_POLICY_SOURCE_API))
				continue;
			if (!k && keep && !keep(p, arg))
				continue;
			err = pp_entry(f, p, first);
			first = 0;
		}
	}
	fputs("],\"version\":1}\n", f);
	if (fclose(f) != 0 && !err)
		err = -ENOMEM;
	if (!err)
		err = bw_state_write_file(path, buf, len, 0600);
	free(buf);
	return err;
}

int bw_pol_state_restore(const char *path)
{
	static const char *const lists[] = { "policies", NULL };
	char err[1024];
	json_t *doc = bw_state_read_doc(path, 1, lists, err, sizeof(err));
	struct bw_pol_batch b = { 0 };
	json_t *arr, *v;
	size_t i, n;
	time_t now = time(NULL);
	int e;

	if (!doc) {
		if (errno == ENOENT)
			return 0;
		bw_err("policy: cannot restore the API-managed policies: %s; bulwarkd does not start (the pinned datapath keeps enforcing); move the file away to start without them, or restore it",
		       err);
		return -EINVAL;
	}
	arr = json_object_get(doc, "policies");
	n = json_array_size(arr);
	b.v = n ? calloc(n, sizeof(*b.v)) : NULL;
	if (n && !b.v) {
		json_decref(doc);
		return -ENOMEM;
	}
	json_array_foreach(arr, i, v) {
		struct bw_pol_item *it = &b.v[b.n];

		if (bw_pol_item_from_doc(json_object_get(v, "policy"), it, err,
				      sizeof(err)) < 0) {
			/* never drop an acknowledged policy quietly */
			bw_err("policy: %s: policies[%zu] cannot be restored: %s; bulwarkd does not start (the pinned datapath keeps enforcing); fix or remove that entry",
			       path, i, err);
			bw_pol_item_clear(it);
			bw_pol_batch_free(&b);
			json_decref(doc);
			return -EINVAL;
		}
		it->doc_index = (unsigned)i + 1;
		b.n++;
	}
	e = bw_pol_apply(&b, BW_POLICY_SOURCE_API, 0, NULL, err, sizeof(err));
	if (e < 0) {
		bw_err("policy: cannot restore %s: %s", path, err);
		bw_pol_batch_free(&b);
		json_decref(doc);
		return -EINVAL;
	}
	/* keep the persisted revisions and times */
	json_array_foreach(arr, i, v) {
		const json_t *pd = json_object_get(v, "policy");
		struct bw_pol *p = bw_pol_find(json_string_value(json_object_get(pd, "namespace")),
					       json_string_value(json_object_get(pd, "name")),
					       json_string_value(json_object_get(pd, "kind")),
					       NULL);
		json_int_t rev = json_integer_value(json_object_get(v, "revision"));
		json_int_t upd = json_integer_value(json_object_get(v, "updated"));

		if (p && rev > 0)
			p->revision = (uint64_t)rev;
		if (p)
			p->updated = upd > 0 ? (time_t)upd : now;
	}
	bw_info("policy: restored %zu API-managed policies from %s", b.n, path);
	bw_pol_batch_free(&b);
	json_decref(doc);
	return 0;
}
