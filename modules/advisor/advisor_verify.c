/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/advisor/advisor_verify.c - the advisor's side of the what-if
 * replay (the core resolves and looks up: bw_core_api.whatif_replay): the
 * connection of a history row, the replay of many rows in one call, and
 * the words the replies use for connections and verdicts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advisor.h"

void
adv_row_conn(const struct adv_row *r, struct bw_whatif_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->source = r->src;
	c->destination = r->dst_addr != NULL ? r->dst_addr : r->dst;
	c->source_kind = r->src_kind;
	c->destination_kind = r->dst_kind;
	c->direction = r->dir;
	c->protocol = r->proto;
	c->port = r->port;
}

json_t *
adv_conn_json(const struct adv_row *r, uint64_t count, int64_t last_ms)
{
	char pb[16], tb[40];
	json_t *o;

	adv_time_text(last_ms, tb, sizeof(tb));
	o = json_pack("{s:s,s:s,s:i,s:s,s:s,s:I,s:s}", "source", r->src, "destination", r->dst,
		      "port", (int)r->port, "protocol", adv_proto_name(r->proto, pb, sizeof(pb)),
		      "direction", r->dir == BW_FLOW_TRAFFIC_INGRESS ? "INGRESS" : "EGRESS",
		      "count", (json_int_t)count, "last_seen", tb);
	if (o != NULL && r->dst_addr != NULL)
		json_object_set_new(o, "destination_address", json_string(r->dst_addr));
	return o;
}

json_t *
adv_verdict_policies(const struct bw_whatif_verdict *v)
{
	json_t *a = json_array();
	char buf[1024];
	const char *p;

	if (v->kind != NULL) {
		snprintf(buf, sizeof(buf), "%s %s%s%s", v->kind, v->ns != NULL ? v->ns : "",
			 v->ns != NULL && *v->ns ? "/" : "", v->name != NULL ? v->name : "?");
		json_array_append_new(a, json_string(buf));
		return a;
	}
	for (p = v->isolated_by; p != NULL && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);

		json_array_append_new(a, json_stringn(p, n));
		p = nl != NULL ? nl + 1 : NULL;
	}
	return a;
}

void
adv_verdict_reason(const struct bw_whatif_verdict *v, char *buf, size_t len)
{
	const char *what = v->verdict == BW_FLOW_VERDICT_AUDIT ? "audited (would be denied)"
							       : "denied";

	if (v->verdict == BW_FLOW_VERDICT_FORWARDED) {
		snprintf(buf, len, "allowed");
	} else if (v->kind != NULL) {
		snprintf(buf, len, "%s by %s %s%s%s (rule %d, %s entry %d)", what, v->kind,
			 v->ns != NULL ? v->ns : "", v->ns != NULL && *v->ns ? "/" : "", v->name,
			 v->rule_index, v->deny ? "deny" : "allow", v->entry_index);
	} else {
		char pols[768];
		size_t off = 0;
		const char *p = v->isolated_by;

		pols[0] = '\0';
		while (p != NULL && *p && off < sizeof(pols)) {
			const char *nl = strchr(p, '\n');
			size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);

			off += (size_t)snprintf(pols + off, sizeof(pols) - off, "%s%.*s",
						off ? ", " : "", (int)n, p);
			p = nl != NULL ? nl + 1 : NULL;
		}
		snprintf(buf, len, "%s by default deny (isolated by %s)", what,
			 pols[0] ? pols : "policy.enforcement=always");
	}
}

int
adv_replay(const struct bw_core_api *api, bw_whatif *w, const struct adv_rows *rows,
	   const size_t *idx, size_t n, struct bw_whatif_result **res)
{
	struct bw_whatif_conn *c = calloc(n ? n : 1, sizeof(*c));
	struct bw_whatif_result *r = calloc(n ? n : 1, sizeof(*r));
	int rc;

	*res = NULL;
	if (c == NULL || r == NULL) {
		free(c);
		free(r);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		adv_row_conn(&rows->v[idx[i]], &c[i]);
		r[i].size = sizeof(r[i]);
	}
	rc = api->whatif_replay(w, c, n, r);
	free(c);
	if (rc < 0) {
		free(r);
		return rc;
	}
	*res = r;
	return 0;
}
