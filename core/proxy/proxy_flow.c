/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/proxy/proxy_flow.c - one L7 record of a proxied connection becomes
 * a flow of Type L7 (Hubble's l7 event, type 129), published to the flow
 * ring and every subscriber like the datapath's flows.
 *
 * What Hubble shows for a proxy's access-log record (cilium-hubble.md
 * 5.4): addresses and ports but no TCP flags, is_reply true on responses
 * (whose source is the server), the connection's traffic direction as
 * seen from the endpoint whose policy applies, verdict FORWARDED or
 * DROPPED. bulwark adds who decided: the policy whose rule allowed the
 * request (*_allowed_by, also when a decision hook then refused it), and
 * for a request no rule allowed, the policies whose L7 rules apply to the
 * port (extensions.isolated_by, as for a default-deny drop); a decision
 * hook's answer is merged under extensions (extensions_json), the
 * parser's own refusals (an upgrade) name it in extensions.verdict_by.
 */
#include <errno.h>
#include <string.h>

#include "core/flow/flow.h"
#include "core/proxy/proxy_int.h"

#define PXF_POLICIES_MAX 32

static int
pxf_same_policy(const struct bw_flow_policy *a, const struct bw_flow_policy *b)
{
	return strcmp(a->name ? a->name : "", b->name ? b->name : "") == 0 &&
	       strcmp(a->ns ? a->ns : "", b->ns ? b->ns : "") == 0 &&
	       strcmp(a->kind ? a->kind : "", b->kind ? b->kind : "") == 0;
}

/* The distinct policies of a rule set, in rule order. */
static uint32_t
pxf_policies(const struct bw_proxy_ruleset *rs, struct bw_flow_policy *out)
{
	uint32_t n = 0;

	for (size_t i = 0; rs != NULL && i < rs->n_policies; i++) {
		uint32_t j;

		if (rs->policies[i].name == NULL)
			continue;
		for (j = 0; j < n; j++)
			if (pxf_same_policy(&out[j], &rs->policies[i]))
				break;
		if (j == n && n < PXF_POLICIES_MAX)
			out[n++] = rs->policies[i];
	}
	return n;
}

int
px_flow_publish(const struct bw_l7_conn_info *info, const char *parser,
		const struct bw_proxy_ruleset *rs, const struct bw_l7_record *r)
{
	const struct bw_flow_l7 *l7 = r->l7;
	int verdict = r->verdict, rule = r->rule;
	const char *verdict_by = r->verdict_by;
	static const char *labels[2][BW_FLOW_LABELS_MAX];
	struct bw_flow_policy pol[PXF_POLICIES_MAX];
	struct bw_flow_l7 rec;
	struct bw_flow f;
	int resp = l7->type == BW_FLOW_L7_RESPONSE;
	int family = info->ip_version == 6 ? 6 : 4;
	int ingress = info->direction == BW_FLOW_TRAFFIC_INGRESS;
	const uint8_t *src = resp ? info->server_addr : info->client_addr;
	const uint8_t *dst = resp ? info->client_addr : info->server_addr;
	uint32_t src_id = resp ? info->server_identity : info->client_identity;
	uint32_t dst_id = resp ? info->client_identity : info->server_identity;
	/* the endpoint whose policy applies: the server on ingress */
	int ep_is_src = ingress ? resp : !resp;

	memset(&rec, 0, sizeof(rec));
	memcpy(&rec, l7, l7->size < sizeof(rec) ? l7->size : sizeof(rec));
	rec.size = sizeof(rec);
	if (rec.proto == NULL)
		rec.proto = parser;

	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	f.ip_version = (uint8_t)family;
	memcpy(f.src_addr, src, family == 4 ? 4 : 16);
	memcpy(f.dst_addr, dst, family == 4 ? 4 : 16);
	bw_flow_addr_text(family, f.src_addr, f.src_ip, sizeof(f.src_ip));
	bw_flow_addr_text(family, f.dst_addr, f.dst_ip, sizeof(f.dst_ip));
	f.protocol = 6;
	f.src_port = resp ? info->server_port : info->client_port;
	f.dst_port = resp ? info->client_port : info->server_port;
	bw_flow_fill_endpoint(&f.source, labels[0], ep_is_src ? info->endpoint_id : 0,
			      src_id, family, f.src_addr);
	bw_flow_fill_endpoint(&f.destination, labels[1],
			      ep_is_src ? 0 : info->endpoint_id, dst_id, family,
			      f.dst_addr);
	f.verdict = (enum bw_flow_verdict)verdict;
	f.type = BW_FLOW_TYPE_L7;
	f.event_type = BW_FLOW_EVENT_L7;
	f.traffic_direction = info->direction;
	f.is_reply = resp;
	f.l7 = &rec;
	f.verdict_by = verdict_by;
	f.verdict_reason = r->verdict_reason;
	f.extensions_json = r->extensions_json;

	if (rs != NULL && verdict == BW_FLOW_VERDICT_FORWARDED && rule >= 0 &&
	    (size_t)rule < rs->n_policies && rs->policies[rule].name != NULL) {
		if (ingress) {
			f.ingress_allowed_by = &rs->policies[rule];
			f.n_ingress_allowed_by = 1;
		} else {
			f.egress_allowed_by = &rs->policies[rule];
			f.n_egress_allowed_by = 1;
		}
	} else if (rs != NULL && verdict == BW_FLOW_VERDICT_DROPPED && rule < 0 &&
		   verdict_by == NULL && r->extensions_json == NULL &&
		   l7->type == BW_FLOW_L7_REQUEST) {
		f.n_isolated_by = pxf_policies(rs, pol);
		f.isolated_by = f.n_isolated_by > 0 ? pol : NULL;
	}
	return bw_flow_publish(&f);
}
