/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/advisor/advisor_simulate.c - bulwark simulate: every connection
 * of the history window replayed against the policy set in force and
 * against the candidate (both resolved by the core, bw_core_api.whatif_*),
 * and the difference: connections the candidate would drop that the
 * current set lets through (newly_dropped), and connections the current set
 * drops that the candidate would let through (newly_allowed).
 *
 * "Lets through" is the policy's decision: a connection the current set
 * audits (audit mode) is one the policy denies; what the candidate would do
 * to it is "verdict" (DROPPED, or AUDIT when the endpoint is in audit mode).
 * A connection is its history key (source, destination, port, protocol,
 * direction), each side checked where history recorded it, so a
 * connection between two pods of the node is two keys, one per side.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advisor.h"

struct sim_item {
	size_t row;
	uint64_t count;
	const struct adv_row *r;
};

static int
sim_item_cmp(const void *pa, const void *pb)
{
	const struct sim_item *a = pa, *b = pb;

	return adv_row_rank(a->r, a->count, b->r, b->count);
}

static json_t *
sim_list(const struct adv_rows *rows, struct sim_item *v, size_t n,
	 const struct bw_whatif_result *res, const size_t *where, int dropped, size_t limit)
{
	json_t *a = json_array();

	qsort(v, n, sizeof(*v), sim_item_cmp);
	for (size_t i = 0; i < n && (limit == 0 || i < limit); i++) {
		const struct adv_row *r = &rows->v[v[i].row];
		const struct bw_whatif_result *x = &res[where[v[i].row]];
		const struct bw_whatif_verdict *cand = &x->candidate, *cur = &x->current;
		json_t *o = adv_conn_json(r, v[i].count, r->last);
		char reason[1024];

		json_object_set_new(o, "verdict",
				    json_string(cand->verdict == BW_FLOW_VERDICT_DROPPED ? "DROPPED"
						: cand->verdict == BW_FLOW_VERDICT_AUDIT ? "AUDIT"
											 : "FORWARDED"));
		json_object_set_new(o, "policies", adv_verdict_policies(cand));
		adv_verdict_reason(dropped ? cand : cur, reason, sizeof(reason));
		json_object_set_new(o, dropped ? "reason" : "was", json_string(reason));
		json_array_append_new(a, o);
	}
	return a;
}

int
adv_simulate(const struct bw_core_api *api, bw_whatif *w, struct adv_rows *rows, size_t limit,
	     json_t **out)
{
	struct bw_whatif_result *res = NULL;
	struct sim_item *drop = NULL, *allow = NULL, *skip = NULL;
	size_t *idx = NULL, *where = NULL, ndrop = 0, nallow = 0, nchecked = 0, nskip = 0;
	json_t *not_replayed = json_array(), *doc;
	uint64_t conns = 0, unchecked_conns = 0;
	int rc;

	*out = NULL;
	idx = calloc(rows->n ? rows->n : 1, sizeof(*idx));
	where = calloc(rows->n ? rows->n : 1, sizeof(*where));
	drop = calloc(rows->n ? rows->n : 1, sizeof(*drop));
	allow = calloc(rows->n ? rows->n : 1, sizeof(*allow));
	skip = calloc(rows->n ? rows->n : 1, sizeof(*skip));
	if (idx == NULL || where == NULL || drop == NULL || allow == NULL || skip == NULL ||
	    not_replayed == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < rows->n; i++) {
		idx[i] = i;
		where[i] = i;
	}
	if ((rc = adv_replay(api, w, rows, idx, rows->n, &res)) < 0)
		goto out;
	for (size_t i = 0; i < rows->n; i++) {
		const struct adv_row *r = &rows->v[i];
		uint64_t count = r->forwarded + r->audited + r->dropped;
		int cur_ok, cand_ok;

		conns += count;
		if (!res[i].checked) {
			unchecked_conns += count;
			skip[nskip++] = (struct sim_item){ i, count, r };
			continue;
		}
		nchecked++;
		cur_ok = res[i].current.verdict == BW_FLOW_VERDICT_FORWARDED;
		cand_ok = res[i].candidate.verdict == BW_FLOW_VERDICT_FORWARDED;
		if (cur_ok && !cand_ok)
			drop[ndrop++] = (struct sim_item){ i, count, r };
		else if (!cur_ok && cand_ok)
			allow[nallow++] = (struct sim_item){ i, count, r };
	}
	qsort(skip, nskip, sizeof(*skip), sim_item_cmp);
	for (size_t k = 0; k < nskip && k < 100; k++) {
		json_t *o = adv_conn_json(skip[k].r, skip[k].count, skip[k].r->last);

		json_object_set_new(o, "reason", json_string(res[skip[k].row].why));
		json_array_append_new(not_replayed, o);
	}
	doc = json_object();
	json_object_set_new(doc, "newly_dropped", sim_list(rows, drop, ndrop, res, where, 1, limit));
	json_object_set_new(doc, "newly_allowed", sim_list(rows, allow, nallow, res, where, 0, limit));
	/* the lists hold the busiest `limit` of each; these count them all */
	json_object_set_new(doc, "newly_dropped_total", json_integer((json_int_t)ndrop));
	json_object_set_new(doc, "newly_allowed_total", json_integer((json_int_t)nallow));
	json_object_set_new(doc, "replayed", json_integer((json_int_t)nchecked));
	json_object_set_new(doc, "connections", json_integer((json_int_t)conns));
	json_object_set_new(doc, "not_replayed_count",
			    json_integer((json_int_t)(rows->n - nchecked)));
	json_object_set_new(doc, "not_replayed_connections",
			    json_integer((json_int_t)unchecked_conns));
	json_object_set_new(doc, "not_replayed", not_replayed);
	not_replayed = NULL;
	*out = doc;
	rc = 0;
out:
	json_decref(not_replayed);
	free(res);
	free(idx);
	free(where);
	free(drop);
	free(allow);
	free(skip);
	return rc;
}
