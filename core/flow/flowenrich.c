/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/flow/flowenrich.c - the flow pipeline's connection to the rest of the
 * daemon: bw_flow_init() reads [flows], installs the enrichment sources
 * (endpoint registry, identities, ipcache, policy rule table, drop reason
 * names, the datapath's lost-event counter), attaches the ring buffer
 * consumer and registers the flow API and the "flows" status section.
 *
 * Kept apart from core/flow/flow.c so that the pipeline itself can be unit
 * tested with fake sources and without the kernel.
 */
#include <errno.h>
#include <stddef.h>
#include <net/if.h>
#include <string.h>

#include <jansson.h>

#include "core/api.h"
#include "core/config.h"
#include "core/datapath/datapath.h"
#include "core/node/endpoint.h"
#include "core/node/fqdn.h"
#include "core/flow/flow.h"
#include "core/node/identity.h"
#include "core/node/ipcache.h"
#include "core/node/labels.h"
#include "core/log.h"
#include "core/policy/policy.h"
#include "core/policy/policy_int.h" /* bw_pol_resolver(), bw_pol_of_owner() */
#include "core/policy/resolver.h"

#define FLOWENRICH_ISO_MAX 32

static size_t
flowenrich_labelset(const struct bw_labelset *ls, const char **out, size_t max)
{
	size_t n = 0;

	if (ls == NULL)
		return 0;
	for (size_t i = 0; i < bw_labelset_count(ls) && n < max; i++) {
		const struct bw_label *l = bw_labelset_at(ls, i);

		if (l != NULL && l->text != NULL)
			out[n++] = l->text;
	}
	return n;
}

static int
flowenrich_endpoint(uint32_t ep_id, struct bw_flow_peer *out)
{
	const struct bw_endpoint *ep = bw_endpoint_find_by_id(ep_id);
	const struct bw_ep_workload *wl;
	const struct bw_labelset *ls;

	if (ep == NULL)
		return -ENOENT;
	out->ep_id = ep_id;
	out->identity = bw_endpoint_identity(ep);
	out->ns = bw_endpoint_ns(ep);
	out->pod = bw_endpoint_pod(ep);
	out->ifname = bw_endpoint_ifname(ep);
	wl = bw_endpoint_workload(ep, NULL);
	if (wl != NULL) {
		out->workload_name = wl->name;
		out->workload_kind = wl->kind;
	}
	/* Hubble shows the identity's labels (security-relevant ones) */
	ls = bw_identity_labels(out->identity);
	if (ls == NULL)
		ls = bw_endpoint_identity_labels(ep);
	out->n_labels = flowenrich_labelset(ls, out->labels, out->labels_cap);
	return 0;
}

static int
flowenrich_ipcache(int family, const uint8_t *addr, uint32_t *identity,
		   uint32_t *ep_id)
{
	struct bw_ipcache_entry e;

	/* -ENOENT still fills in reserved:world, as the datapath does */
	memset(&e, 0, sizeof(e));
	bw_ipcache_lookup(family, addr, &e);
	*identity = e.identity;
	*ep_id = e.ep_id;
	return 0;
}

static size_t
flowenrich_identity_labels(uint32_t id, const char **out, size_t max)
{
	return flowenrich_labelset(bw_identity_labels(id), out, max);
}

static int
flowenrich_rule(uint32_t rule_ref, struct bw_flow_policy *out, int *deny)
{
	const struct bw_policy_ruleinfo *ri = bw_policy_rule_lookup(rule_ref);

	if (ri == NULL)
		return -ENOENT;
	out->name = ri->name;
	out->ns = ri->namespace;
	out->kind = ri->kind;
	out->revision = ri->revision;
	*deny = ri->deny;
	return 0;
}

/*
 * The policies whose rules select the endpoint and make it default-deny in
 * that direction, as the resolver last computed them. (Better served by a
 * bw_policy_isolating() in core/policy/policy.h; see docs/flows.md.)
 */
static int
flowenrich_isolating(uint32_t ep_id, int dir,
		     void (*cb)(const struct bw_flow_policy *p, void *arg),
		     void *arg)
{
	struct bw_resolver *rv = bw_pol_resolver();
	void *owners[FLOWENRICH_ISO_MAX];
	size_t n;

	if (rv == NULL)
		return 0;
	n = bw_resolver_isolating(rv, ep_id, dir, owners, FLOWENRICH_ISO_MAX);
	if (n > FLOWENRICH_ISO_MAX)
		n = FLOWENRICH_ISO_MAX;
	for (size_t i = 0; i < n; i++) {
		const struct bw_pol *pol = bw_pol_of_owner(owners[i]);
		struct bw_flow_policy p;

		if (pol == NULL)
			continue;
		memset(&p, 0, sizeof(p));
		p.name = pol->name;
		p.ns = pol->ns;
		p.kind = pol->kind;
		p.revision = pol->revision;
		cb(&p, arg);
	}
	return (int)n;
}

static int
flowenrich_enforced(uint32_t ep_id, int dir)
{
	struct bw_resolver *rv = bw_pol_resolver();
	int mode = bw_pol_enforcement();
	uint32_t flags = 0;

	if (rv == NULL || mode == BW_ENFORCE_NEVER)
		return 0;
	if (mode == BW_ENFORCE_ALWAYS)
		return 1;
	if (bw_resolver_endpoint_state(rv, ep_id, &flags, NULL, NULL) < 0)
		return 0;
	return (flags & (dir == BW_DIR_INGRESS ? BW_EP_F_ENFORCE_INGRESS
					       : BW_EP_F_ENFORCE_EGRESS)) != 0;
}

static void
flowenrich_pol(const struct bw_pol *pol, struct bw_flow_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->name = pol->name;
	p->ns = pol->ns;
	p->kind = pol->kind;
	p->revision = pol->revision;
}

static int
flowenrich_staged(uint32_t ep_id, int dir, uint32_t peer_identity,
		  uint8_t protocol, uint16_t port,
		  void (*cb)(const struct bw_flow_policy *p, void *arg), void *arg)
{
	struct bw_policy_staged_verdict v;
	struct bw_flow_policy p;

	if (!bw_policy_staged_active() ||
	    bw_policy_staged_verdict(ep_id, dir, peer_identity, protocol, port, &v) <= 0)
		return 0;
	if (v.rule_ref != 0) {
		int deny = 0;

		memset(&p, 0, sizeof(p));
		if (flowenrich_rule(v.rule_ref, &p, &deny) == 0)
			cb(&p, arg);
	}
	for (size_t i = 0; i < v.nisolating; i++) {
		flowenrich_pol(v.isolating[i], &p);
		cb(&p, arg);
	}
	return v.allowed ? BW_FLOW_VERDICT_FORWARDED : BW_FLOW_VERDICT_DROPPED;
}

static uint64_t
flowenrich_lost(void)
{
	uint64_t lost = 0;

	if (bw_datapath_events_lost(&lost) < 0)
		return 0;
	return lost;
}

static size_t
flowenrich_names(int family, const uint8_t *addr, const char *const **out)
{
	return bw_fqdn_names(family, addr, out);
}

static uint32_t
flowenrich_identity_base(uint32_t id)
{
	struct bw_resolver *rv = bw_pol_resolver();

	return rv != NULL ? bw_resolver_split_base(rv, id) : 0;
}

static const struct bw_flow_sources flowenrich_sources = {
	.endpoint = flowenrich_endpoint,
	.ipcache = flowenrich_ipcache,
	.identity_labels = flowenrich_identity_labels,
	.rule = flowenrich_rule,
	.isolating = flowenrich_isolating,
	.enforced = flowenrich_enforced,
	.staged = flowenrich_staged,
	.events_lost = flowenrich_lost,
	.names = flowenrich_names,
	.identity_base = flowenrich_identity_base,
};

/*
 * A flow a module built (bw_core_api.flow_publish): fill in what it left
 * out, from the same sources as the datapath's flows, and publish it.
 */
int
bw_flow_publish_module(const struct bw_flow *in)
{
	static const char *labels[2][BW_FLOW_LABELS_MAX];
	struct bw_flow f;
	struct bw_flow_policy pol;
	int family, deny = 0;

	if (in == NULL || in->size < offsetof(struct bw_flow, ct_bytes))
		return -EINVAL;
	memset(&f, 0, sizeof(f));
	memcpy(&f, in, in->size < sizeof(f) ? in->size : sizeof(f));
	f.size = sizeof(f);
	if (f.ip_version != 4 && f.ip_version != 6)
		return -EINVAL;
	family = f.ip_version;
	if (f.src_ip[0] == '\0')
		bw_flow_addr_text(family, f.src_addr, f.src_ip, sizeof(f.src_ip));
	if (f.dst_ip[0] == '\0')
		bw_flow_addr_text(family, f.dst_addr, f.dst_ip, sizeof(f.dst_ip));
	if (f.source.labels == NULL && f.source.pod_name == NULL)
		bw_flow_fill_endpoint(&f.source, labels[0], f.source.id,
				      f.source.identity, family, f.src_addr);
	if (f.destination.labels == NULL && f.destination.pod_name == NULL)
		bw_flow_fill_endpoint(&f.destination, labels[1], f.destination.id,
				      f.destination.identity, family, f.dst_addr);
	if (f.n_source_names == 0 && f.source.id == 0)
		f.n_source_names = (uint32_t)bw_fqdn_names(family, f.src_addr,
							   &f.source_names);
	if (f.n_destination_names == 0 && f.destination.id == 0)
		f.n_destination_names = (uint32_t)bw_fqdn_names(family, f.dst_addr,
								&f.destination_names);
	if (f.rule_ref != 0 && f.n_egress_allowed_by == 0 && f.n_ingress_allowed_by == 0 &&
	    f.n_egress_denied_by == 0 && f.n_ingress_denied_by == 0) {
		memset(&pol, 0, sizeof(pol));
		if (flowenrich_rule(f.rule_ref, &pol, &deny) == 0) {
			int denied = deny || f.verdict == BW_FLOW_VERDICT_DROPPED;
			int in_dir = f.traffic_direction == BW_FLOW_TRAFFIC_INGRESS;

			if (denied && in_dir) {
				f.ingress_denied_by = &pol;
				f.n_ingress_denied_by = 1;
			} else if (denied) {
				f.egress_denied_by = &pol;
				f.n_egress_denied_by = 1;
			} else if (in_dir) {
				f.ingress_allowed_by = &pol;
				f.n_ingress_allowed_by = 1;
			} else {
				f.egress_allowed_by = &pol;
				f.n_egress_allowed_by = 1;
			}
		}
	}
	return bw_flow_publish(&f);
}

/* GET /v1/status: "flows": {...} */
static json_t *
flowenrich_status(void *arg)
{
	struct bw_flow_stats st = { .size = sizeof(st) };

	bw_flow_stats_get(&st);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "capacity", (json_int_t)st.ring_capacity,
			 "stored", (json_int_t)st.ring_used,
			 "events", (json_int_t)st.events,
			 "flows", (json_int_t)st.flows,
			 "decode_errors", (json_int_t)st.decode_errors,
			 "lost_datapath", (json_int_t)st.lost_datapath,
			 "lost_followers", (json_int_t)st.lost_followers,
			 "evicted", (json_int_t)st.ring_evicted,
			 "followers", (json_int_t)st.followers,
			 "subscribers", (json_int_t)st.subscribers);
}

int
bw_flow_init(struct event_base *base)
{
	unsigned cap = 4096;
	int rc, fd;

	if (bw_conf != NULL && bw_conf->flows_capacity > 0)
		cap = (unsigned)bw_conf->flows_capacity;
	bw_flow_set_node_name(NULL);
	bw_flow_set_sources(&flowenrich_sources);
	rc = bw_flow_ring_init(cap);
	if (rc < 0) {
		bw_err("flows: cannot allocate a flow ring of %u flows", cap);
		return rc;
	}
	fd = bw_datapath_events_fd();
	if (fd < 0)
		bw_warn("flows: no datapath events ring buffer; only proxy flows will be recorded");
	rc = bw_flow_attach(base, fd);
	if (rc < 0)
		return rc;
	rc = bw_flowapi_init(base);
	if (rc < 0) {
		bw_err_errno(rc, "flows: cannot register GET /v1/flows");
		bw_flow_detach();
		return rc;
	}
	rc = bw_api_status_add("flows", flowenrich_status, NULL);
	if (rc < 0 && rc != -EEXIST)
		bw_warn_errno(rc, "flows: no status section");
	bw_info("flows: ring of %u flows, node name %s", cap, bw_flow_node_name());
	return 0;
}

void
bw_flow_fini(void)
{
	bw_api_status_remove("flows");
	bw_flowapi_fini();
	bw_flow_detach();
}
