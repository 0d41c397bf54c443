/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/prometheus/prom_node.c - the families read from the core on each
 * scrape: lost events and the flow pipeline (flow_stats), endpoints and
 * their enforcement (endpoint_foreach), policies and regeneration time
 * (node_stats), BPF map pressure (map_usage) and the datapath's
 * forward/drop counters (datapath_counters), the last two with Cilium's
 * names. A member the daemon's API table lacks leaves its families out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "prom.h"

/* ---- flow pipeline ----------------------------------------------------------- */

static void
node_flows(const struct bw_core_api *api, struct evbuffer *out)
{
	struct bw_flow_stats st;

	if (!BW_API_HAS(api, flow_stats))
		return;
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	api->flow_stats(&st);
	prom_family(out, "hubble_lost_events_total", "Number of lost events",
		    "counter");
	evbuffer_add_printf(out,
		"hubble_lost_events_total{source=\"hubble_ring_buffer\"} ");
	prom_value(out, (double)st.lost_followers);
	evbuffer_add_printf(out,
		"\nhubble_lost_events_total{source=\"perf_event_ring_buffer\"} ");
	prom_value(out, (double)st.lost_datapath);
	evbuffer_add(out, "\n", 1);

	prom_family(out, "bulwark_flow_events_total",
		    "Datapath events read from the ring buffer", "counter");
	prom_sample(out, "bulwark_flow_events_total", (double)st.events);
	prom_family(out, "bulwark_flows_published_total",
		    "Flows published to the flow ring and subscribers", "counter");
	prom_sample(out, "bulwark_flows_published_total", (double)st.flows);
	prom_family(out, "bulwark_flow_decode_errors_total",
		    "Ring buffer records that could not be decoded", "counter");
	prom_sample(out, "bulwark_flow_decode_errors_total",
		    (double)st.decode_errors);
	prom_family(out, "bulwark_flow_ring_evicted_total",
		    "Flows pushed out of the in-memory flow ring by newer ones",
		    "counter");
	prom_sample(out, "bulwark_flow_ring_evicted_total",
		    (double)st.ring_evicted);
	prom_family(out, "bulwark_flow_ring_capacity",
		    "Capacity of the in-memory flow ring (flows.capacity)", "gauge");
	prom_sample(out, "bulwark_flow_ring_capacity", (double)st.ring_capacity);
	prom_family(out, "bulwark_flow_ring_flows",
		    "Flows in the in-memory flow ring", "gauge");
	prom_sample(out, "bulwark_flow_ring_flows", (double)st.ring_used);
	prom_family(out, "bulwark_flow_followers",
		    "Open observe --follow streams", "gauge");
	prom_sample(out, "bulwark_flow_followers", (double)st.followers);
}

/* ---- endpoints ------------------------------------------------------------------ */

static const char *const dir_names[2] = { "ingress", "egress" };
static const char *const status_names[3] = { "enforced", "audit", "none" };

struct node_ep_walk {
	uint64_t count[2][3]; /* direction x status */
	struct prom_vec *each;
};

static int
node_status(unsigned flags, int dir)
{
	unsigned enforce = dir == 0 ? BW_ENDPOINT_F_ENFORCE_INGRESS :
				      BW_ENDPOINT_F_ENFORCE_EGRESS;

	if (!(flags & enforce))
		return 2;
	return (flags & BW_ENDPOINT_F_AUDIT) ? 1 : 0;
}

static void
node_ep_visit(const char *ns, const char *pod, unsigned flags, void *arg)
{
	struct node_ep_walk *w = arg;

	for (int d = 0; d < 2; d++) {
		int s = node_status(flags, d);
		const char *v[4] = { ns, pod, dir_names[d], status_names[s] };

		w->count[d][s]++;
		if (w->each != NULL)
			prom_vec_add(w->each, v, 1);
	}
}

static const char *const each_labels[] = { "namespace", "pod", "direction", "status" };

static size_t
node_endpoints(const struct bw_core_api *api, size_t max_series,
	       struct evbuffer *out)
{
	struct node_ep_walk w;
	size_t series = 0;

	if (!BW_API_HAS(api, endpoint_foreach))
		return 0;
	memset(&w, 0, sizeof(w));
	w.each = prom_vec_new("bulwark_policy_endpoint_enforcement_status",
		"Endpoints by namespace, pod and policy enforcement status per direction (1 per endpoint; the namespace=\"other\",pod=\"other\" series counts the endpoints beyond max_series)",
		"gauge", each_labels, 4, max_series, 0x3);
	api->endpoint_foreach(node_ep_visit, &w);
	prom_family(out, "bulwark_endpoints",
		    "Endpoints by policy enforcement status per direction "
		    "(enforced: default deny, audit: default deny reported "
		    "but not enforced, none: no default deny)", "gauge");
	for (int d = 0; d < 2; d++)
		for (int s = 0; s < 3; s++) {
			evbuffer_add_printf(out,
				"bulwark_endpoints{direction=\"%s\",status=\"%s\"} ",
				dir_names[d], status_names[s]);
			prom_value(out, (double)w.count[d][s]);
			evbuffer_add(out, "\n", 1);
		}
	if (w.each != NULL) {
		prom_vec_write(w.each, out);
		series = prom_vec_series(w.each);
		prom_vec_free(w.each);
	}
	return series;
}

/* ---- policy ---------------------------------------------------------------------- */

static void
node_policy(const struct bw_core_api *api, struct evbuffer *out)
{
	struct bw_node_stats st;

	if (!BW_API_HAS(api, node_stats))
		return;
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	api->node_stats(&st);
	prom_family(out, "bulwark_policies",
		    "Policies loaded (control API and policy.dir)", "gauge");
	prom_sample(out, "bulwark_policies", (double)st.policies);
	prom_family(out, "bulwark_identities",
		    "Security identities known to the policy resolver", "gauge");
	prom_sample(out, "bulwark_identities", (double)st.identities);
	prom_family(out, "bulwark_policy_selectors",
		    "Distinct selectors in the selector cache", "gauge");
	prom_sample(out, "bulwark_policy_selectors", (double)st.selectors);
	prom_family(out, "bulwark_policy_entries",
		    "Resolved policy entries over every endpoint", "gauge");
	prom_sample(out, "bulwark_policy_entries", (double)st.policy_entries);
	prom_family(out, "bulwark_policy_regeneration_seconds",
		    "Time spent recomputing endpoint policy and syncing it to the datapath, per regeneration",
		    "summary");
	prom_sample(out, "bulwark_policy_regeneration_seconds_sum",
		    (double)st.regeneration_ns / 1e9);
	prom_sample(out, "bulwark_policy_regeneration_seconds_count",
		    (double)st.regenerations);
	prom_family(out, "bulwark_endpoint_regenerations_total",
		    "Endpoint policy syncs to the datapath", "counter");
	prom_sample(out, "bulwark_endpoint_regenerations_total",
		    (double)st.endpoint_syncs);
}

/* ---- BPF maps ---------------------------------------------------------------------- */

#define NODE_MAPS_MAX 16

struct node_maps {
	struct {
		char name[32];
		uint64_t entries, max;
	} m[NODE_MAPS_MAX];
	size_t n;
};

static void
node_map_visit(const char *name, uint64_t entries, uint64_t max, void *arg)
{
	struct node_maps *nm = arg;

	if (nm->n >= NODE_MAPS_MAX)
		return;
	snprintf(nm->m[nm->n].name, sizeof(nm->m[nm->n].name), "%s", name);
	nm->m[nm->n].entries = entries;
	nm->m[nm->n].max = max;
	nm->n++;
}

static void
node_maps(const struct bw_core_api *api, struct evbuffer *out)
{
	struct node_maps nm;

	if (!BW_API_HAS(api, map_usage))
		return;
	memset(&nm, 0, sizeof(nm));
	api->map_usage(node_map_visit, &nm);
	prom_family(out, "bulwark_bpf_map_pressure",
		    "Fill level of a datapath BPF map (entries / capacity, 0..1)",
		    "gauge");
	for (size_t i = 0; i < nm.n; i++) {
		evbuffer_add_printf(out, "bulwark_bpf_map_pressure{map_name=\"%s\"} ",
				    nm.m[i].name);
		prom_value(out, nm.m[i].max ?
			   (double)nm.m[i].entries / (double)nm.m[i].max : 0);
		evbuffer_add(out, "\n", 1);
	}
	prom_family(out, "bulwark_bpf_map_entries",
		    "Entries in a datapath BPF map (approximate for bw_ct)", "gauge");
	for (size_t i = 0; i < nm.n; i++) {
		evbuffer_add_printf(out, "bulwark_bpf_map_entries{map_name=\"%s\"} ",
				    nm.m[i].name);
		prom_value(out, (double)nm.m[i].entries);
		evbuffer_add(out, "\n", 1);
	}
	prom_family(out, "bulwark_bpf_map_capacity",
		    "Maximum entries of a datapath BPF map", "gauge");
	for (size_t i = 0; i < nm.n; i++) {
		evbuffer_add_printf(out, "bulwark_bpf_map_capacity{map_name=\"%s\"} ",
				    nm.m[i].name);
		prom_value(out, (double)nm.m[i].max);
		evbuffer_add(out, "\n", 1);
	}
}

/* ---- datapath counters ----------------------------------------------------------------- */

struct node_dp {
	struct prom_vec *fwd_count, *fwd_bytes, *drop_count, *drop_bytes;
};

static const char *
node_dp_direction(uint32_t dir)
{
	return dir == BW_FLOW_TRAFFIC_INGRESS ? "INGRESS" :
	       dir == BW_FLOW_TRAFFIC_EGRESS ? "EGRESS" : "UNKNOWN";
}

static void
node_dp_visit(uint32_t reason, const char *text, uint32_t dir,
	      uint64_t packets, uint64_t bytes, void *arg)
{
	struct node_dp *dp = arg;
	char code[16];
	const char *v[2];

	if (reason == 0) {
		v[0] = node_dp_direction(dir);
		prom_vec_add(dp->fwd_count, v, (double)packets);
		prom_vec_add(dp->fwd_bytes, v, (double)bytes);
		return;
	}
	if (text == NULL) {
		snprintf(code, sizeof(code), "%u", (unsigned)reason);
		text = code;
	}
	v[0] = text;
	v[1] = node_dp_direction(dir);
	prom_vec_add(dp->drop_count, v, (double)packets);
	prom_vec_add(dp->drop_bytes, v, (double)bytes);
}

static const char *const dp_fwd_labels[] = { "direction" };
static const char *const dp_drop_labels[] = { "reason", "direction" };

static void
node_datapath(const struct bw_core_api *api, struct evbuffer *out)
{
	struct node_dp dp;

	if (!BW_API_HAS(api, datapath_counters))
		return;
	/* Bounded by the datapath: 256 reasons x 3 directions at most. */
	dp.fwd_count = prom_vec_new("cilium_forward_count_total",
		"Total forwarded packets, tagged by ingress/egress direction",
		"counter", dp_fwd_labels, 1, 0, 0);
	dp.fwd_bytes = prom_vec_new("cilium_forward_bytes_total",
		"Total forwarded bytes, tagged by ingress/egress direction",
		"counter", dp_fwd_labels, 1, 0, 0);
	dp.drop_count = prom_vec_new("cilium_drop_count_total",
		"Total dropped packets, tagged by drop reason and ingress/egress direction",
		"counter", dp_drop_labels, 2, 0, 0);
	dp.drop_bytes = prom_vec_new("cilium_drop_bytes_total",
		"Total dropped bytes, tagged by drop reason and ingress/egress direction",
		"counter", dp_drop_labels, 2, 0, 0);
	if (dp.fwd_count && dp.fwd_bytes && dp.drop_count && dp.drop_bytes) {
		/* -ENXIO (no datapath): the families stay empty. */
		api->datapath_counters(node_dp_visit, &dp);
		prom_vec_write(dp.drop_count, out);
		prom_vec_write(dp.drop_bytes, out);
		prom_vec_write(dp.fwd_count, out);
		prom_vec_write(dp.fwd_bytes, out);
	}
	prom_vec_free(dp.fwd_count);
	prom_vec_free(dp.fwd_bytes);
	prom_vec_free(dp.drop_count);
	prom_vec_free(dp.drop_bytes);
}

size_t
prom_node_write(const struct bw_core_api *api, size_t max_series,
		struct evbuffer *out)
{
	size_t series;

	node_flows(api, out);
	series = node_endpoints(api, max_series, out);
	node_policy(api, out);
	node_maps(api, out);
	node_datapath(api, out);
	return series;
}
