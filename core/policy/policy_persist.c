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
 * Write the API-managed set to policies.json as it will be: the current
 * API policies that keep(p, arg) keeps (all when keep is NULL), then the
 * extra versions. 0 or -errno (nothing written: the old file stays).
 */
int bw_pol_state_write(const char *path, int (*keep)(const struct bw_pol *p, void *arg),
		       void *arg, struct bw_pol *const *extra, size_t nextra)
{
	json_t *arr = json_array(), *doc;
	int err;

	if (!arr)
		return -ENOMEM;
	for (size_t k = 0; k <= nextra; k++) {
		for (struct bw_pol *p = k ? extra[k - 1] : bw_pol_first(); p; p = k ? NULL : p->next) {
			if (strcmp(p->source, BW_POLICY_SOURCE_API))
				continue;
			if (!k && keep && !keep(p, arg))
				continue;
			if (json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:I,s:I,s:O}", "kind",
								 p->kind, "namespace", p->ns,
								 "name", p->name, "revision",
								 (json_int_t)p->revision, "updated",
								 (json_int_t)p->updated, "policy",
								 p->doc)) < 0) {
				json_decref(arr);
				return -ENOMEM;
			}
		}
	}
	doc = json_pack("{s:i,s:o}", "version", 1, "policies", arr);
	if (!doc)
		return -ENOMEM;
	err = bw_state_write_json(path, doc);
	json_decref(doc);
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
