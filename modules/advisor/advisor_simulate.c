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

/* What the replay keeps: counts, and the results of the rows the lists may name. */
struct sim_state {
	const struct adv_rows *rows;
	struct sim_item *drop, *allow, *skip;
	size_t ndrop, nallow, nskip, nchecked;
	size_t *where;                 /* row -> its result in res */
	struct bw_whatif_result *res;
	size_t nres, capres;
	uint64_t conns, unchecked_conns;
};

static int
sim_one(void *arg, size_t i, const struct bw_whatif_result *x)
{
	struct sim_state *st = arg;
	const struct adv_row *r = &st->rows->v[i];
	uint64_t count = r->forwarded + r->audited + r->dropped;
	struct sim_item *list;
	size_t *nlist;
	int cur_ok, cand_ok;

	st->conns += count;
	if (!x->checked) {
		st->unchecked_conns += count;
		list = st->skip;
		nlist = &st->nskip;
	} else {
		st->nchecked++;
		cur_ok = x->current.verdict == BW_FLOW_VERDICT_FORWARDED;
		cand_ok = x->candidate.verdict == BW_FLOW_VERDICT_FORWARDED;
		if (cur_ok && !cand_ok) {
			list = st->drop;
			nlist = &st->ndrop;
		} else if (!cur_ok && cand_ok) {
			list = st->allow;
			nlist = &st->nallow;
		} else {
			return 0;
		}
	}
	if (st->nres == st->capres) {
		size_t cap = st->capres ? st->capres * 2 : 1024;
		struct bw_whatif_result *v = realloc(st->res, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		st->res = v;
		st->capres = cap;
	}
	st->where[i] = st->nres;
	st->res[st->nres++] = *x;
	list[(*nlist)++] = (struct sim_item){ i, count, r };
	return 0;
}

int
adv_simulate(const struct bw_core_api *api, bw_whatif *w, struct adv_rows *rows, size_t limit,
	     json_t **out)
{
	struct sim_state st = { 0 };
	size_t *idx = NULL;
	json_t *not_replayed = json_array(), *doc;
	int rc;

	*out = NULL;
	st.rows = rows;
	idx = calloc(rows->n ? rows->n : 1, sizeof(*idx));
	st.where = calloc(rows->n ? rows->n : 1, sizeof(*st.where));
	st.drop = calloc(rows->n ? rows->n : 1, sizeof(*st.drop));
	st.allow = calloc(rows->n ? rows->n : 1, sizeof(*st.allow));
	st.skip = calloc(rows->n ? rows->n : 1, sizeof(*st.skip));
	if (idx == NULL || st.where == NULL || st.drop == NULL || st.allow == NULL ||
	    st.skip == NULL || not_replayed == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < rows->n; i++)
		idx[i] = i;
	if ((rc = adv_replay_each(api, w, rows, idx, rows->n, sim_one, &st)) < 0)
		goto out;
	if (st.nskip > 1)
		qsort(st.skip, st.nskip, sizeof(*st.skip), sim_item_cmp);
	for (size_t k = 0; k < st.nskip && k < 100; k++) {
		json_t *o = adv_conn_json(st.skip[k].r, st.skip[k].count, st.skip[k].r->last);

		json_object_set_new(o, "reason", json_string(st.res[st.where[st.skip[k].row]].why));
		json_array_append_new(not_replayed, o);
	}
	doc = json_object();
	json_object_set_new(doc, "newly_dropped",
			    sim_list(rows, st.drop, st.ndrop, st.res, st.where, 1, limit));
	json_object_set_new(doc, "newly_allowed",
			    sim_list(rows, st.allow, st.nallow, st.res, st.where, 0, limit));
	/* the lists hold the busiest `limit` of each; these count them all */
	json_object_set_new(doc, "newly_dropped_total", json_integer((json_int_t)st.ndrop));
	json_object_set_new(doc, "newly_allowed_total", json_integer((json_int_t)st.nallow));
	json_object_set_new(doc, "replayed", json_integer((json_int_t)st.nchecked));
	json_object_set_new(doc, "connections", json_integer((json_int_t)st.conns));
	json_object_set_new(doc, "not_replayed_count",
			    json_integer((json_int_t)(rows->n - st.nchecked)));
	json_object_set_new(doc, "not_replayed_connections",
			    json_integer((json_int_t)st.unchecked_conns));
	json_object_set_new(doc, "not_replayed", not_replayed);
	not_replayed = NULL;
	*out = doc;
	rc = 0;
out:
	json_decref(not_replayed);
	free(st.res);
	free(idx);
	free(st.where);
	free(st.drop);
	free(st.allow);
	free(st.skip);
	return rc;
}
