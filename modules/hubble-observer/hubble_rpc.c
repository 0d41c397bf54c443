/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/hubble-observer/hubble_rpc.c - the RPCs besides GetFlows.
 *
 *   ServerStatus    num_flows (flows in the ring), max_flows (its
 *                   capacity), seen_flows (flows since start), uptime_ns,
 *                   version, flows_rate (over the last minute), like
 *                   Cilium's local observer; the node counts stay unset
 *                   as there (they are Relay's).
 *   GetNodes        this node (Cilium's local observer answers
 *                   Unimplemented; Relay lists its nodes): name, version,
 *                   address, NODE_CONNECTED, TLS, uptime and flow counts.
 *   GetNamespaces   the namespaces the node knows (namespace set, endpoints)
 *                   and those in the flows of the ring, sorted.
 *   GetAgentEvents  bulwark has one agent event, AGENT_STARTED (the
 *                   daemon's start); number/first/since/until apply, and
 *                   follow keeps the stream open.
 *   GetDebugEvents  bulwark's datapath emits no debug events: an empty
 *                   stream (open while following).
 *   grpc.health.v1.Health/Check and Watch: SERVING for "" and
 *                   hubble.server.Observer (what `hubble status` asks),
 *                   NOT_FOUND (Check) or SERVICE_UNKNOWN (Watch) otherwise.
 *   peer.Peer/Notify: this node as PEER_ADDED, then open (what Relay
 *                   and `hubble watch peers` ask).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hubble.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "google/protobuf/wrappers.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "observer/observer.pb-c.h"
#include "peer/peer.pb-c.h"
#include "relay/relay.pb-c.h"

static void
rpc_flow_stats(struct hubble *h, struct bw_flow_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	h->api->flow_stats(st);
}

static uint64_t
rpc_uptime_ns(struct hubble *h)
{
	struct bw_daemon_info info;

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	h->api->daemon_info(&info);
	return info.uptime_ns;
}

static void
rpc_ts(uint64_t ns, Google__Protobuf__Timestamp *t)
{
	t->seconds = (int64_t)(ns / 1000000000u);
	t->nanos = (int32_t)(ns % 1000000000u);
}

void
hubble_rpc_open_end(struct hubble_call *call)
{
	/* nothing is kept for these calls */
}

void
hubble_rpc_server_status(struct hubble *h, struct hubble_call *call,
			 const ProtobufCMessage *req)
{
	Observer__ServerStatusResponse r = OBSERVER__SERVER_STATUS_RESPONSE__INIT;
	struct bw_flow_stats st;

	rpc_flow_stats(h, &st);
	r.num_flows = st.ring_used;
	r.max_flows = st.ring_capacity;
	r.seen_flows = st.flows;
	r.uptime_ns = rpc_uptime_ns(h);
	r.version = (char *)hubble_version(h);
	r.flows_rate = hubble_flows_rate(h);
	hubble_call_send(call, &r.base);
	hubble_call_finish(call, HUBBLE_OK, NULL);
}

void
hubble_rpc_get_nodes(struct hubble *h, struct hubble_call *call,
		     const ProtobufCMessage *req)
{
	Observer__GetNodesResponse r = OBSERVER__GET_NODES_RESPONSE__INIT;
	Observer__Node node = OBSERVER__NODE__INIT, *nodes[1] = { &node };
	Observer__TLS tls = OBSERVER__TLS__INIT;
	struct bw_flow_stats st;

	rpc_flow_stats(h, &st);
	node.name = (char *)hubble_node_name(h);
	node.version = (char *)hubble_version(h);
	node.address = (char *)hubble_srv_address(h);
	node.state = RELAY__NODE_STATE__NODE_CONNECTED;
	tls.enabled = hubble_srv_tls(h);
	tls.server_name = node.name;
	node.tls = &tls;
	node.uptime_ns = rpc_uptime_ns(h);
	node.num_flows = st.ring_used;
	node.max_flows = st.ring_capacity;
	node.seen_flows = st.flows;
	r.nodes = nodes;
	r.n_nodes = 1;
	hubble_call_send(call, &r.base);
	hubble_call_finish(call, HUBBLE_OK, NULL);
}

/* ---- namespaces -------------------------------------------------------------- */

struct rpc_ns_set {
	char **v;
	size_t n, cap;
};

static void
rpc_ns_add(struct rpc_ns_set *s, const char *ns)
{
	char **nv;

	if (ns == NULL || *ns == '\0')
		return;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], ns) == 0)
			return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;

		nv = realloc(s->v, cap * sizeof(*nv));
		if (nv == NULL)
			return;
		s->v = nv;
		s->cap = cap;
	}
	if ((s->v[s->n] = strdup(ns)) != NULL)
		s->n++;
}

static void
rpc_ns_cb(const char *ns, void *arg)
{
	rpc_ns_add(arg, ns);
}

static int
rpc_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
hubble_rpc_get_namespaces(struct hubble *h, struct hubble_call *call,
			  const ProtobufCMessage *req)
{
	Observer__GetNamespacesResponse r = OBSERVER__GET_NAMESPACES_RESPONSE__INIT;
	struct rpc_ns_set s = { NULL, 0, 0 };
	Observer__Namespace *items = NULL, **ptrs = NULL;
	uint64_t first, next;

	h->api->namespace_foreach(rpc_ns_cb, &s);
	h->api->flow_ring_range(&first, &next);
	for (uint64_t seq = first; seq < next; seq++) {
		const struct bw_flow *f = h->api->flow_ring_at(seq);

		if (f != NULL) {
			rpc_ns_add(&s, f->source.ns);
			rpc_ns_add(&s, f->destination.ns);
		}
	}
	if (s.n > 0) {
		qsort(s.v, s.n, sizeof(*s.v), rpc_str_cmp);
		items = calloc(s.n, sizeof(*items));
		ptrs = calloc(s.n, sizeof(*ptrs));
	}
	if (s.n > 0 && (items == NULL || ptrs == NULL)) {
		hubble_call_finish(call, HUBBLE_INTERNAL, "out of memory");
	} else {
		for (size_t i = 0; i < s.n; i++) {
			Observer__Namespace init = OBSERVER__NAMESPACE__INIT;

			items[i] = init;
			/* bulwark's pods carry io.cilium.k8s.policy.cluster=default */
			items[i].cluster = (char *)"default";
			items[i].namespace_ = s.v[i];
			ptrs[i] = &items[i];
		}
		r.namespaces = ptrs;
		r.n_namespaces = s.n;
		hubble_call_send(call, &r.base);
		hubble_call_finish(call, HUBBLE_OK, NULL);
	}
	for (size_t i = 0; i < s.n; i++)
		free(s.v[i]);
	free(s.v);
	free(items);
	free(ptrs);
}

/* ---- agent and debug events ------------------------------------------------------ */

void
hubble_rpc_agent_events(struct hubble *h, struct hubble_call *call,
			const ProtobufCMessage *reqmsg)
{
	const Observer__GetAgentEventsRequest *q =
		(const Observer__GetAgentEventsRequest *)reqmsg;
	Observer__GetAgentEventsResponse r = OBSERVER__GET_AGENT_EVENTS_RESPONSE__INIT;
	Flow__AgentEvent ev = FLOW__AGENT_EVENT__INIT;
	Flow__TimeNotification tn = FLOW__TIME_NOTIFICATION__INIT;
	Google__Protobuf__Timestamp t = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	uint64_t start = hubble_daemon_start_ns(h);
	uint64_t since = 0, until = 0;

	if (q->first && q->follow) {
		hubble_call_finish(call, HUBBLE_INVALID_ARGUMENT,
				   "first cannot be specified with follow");
		return;
	}
	if (q->since != NULL)
		since = (uint64_t)q->since->seconds * 1000000000u + (uint64_t)q->since->nanos;
	if (q->until != NULL)
		until = (uint64_t)q->until->seconds * 1000000000u + (uint64_t)q->until->nanos;
	/* follow alone means "from now on", like GetFlows */
	if ((!q->follow || q->number > 0 || since != 0) &&
	    (since == 0 || start >= since) && (until == 0 || start <= until)) {
		rpc_ts(start, &t);
		tn.time = &t;
		ev.type = FLOW__AGENT_EVENT_TYPE__AGENT_STARTED;
		ev.notification_case = FLOW__AGENT_EVENT__NOTIFICATION_AGENT_START;
		ev.agent_start = &tn;
		r.agent_event = &ev;
		r.node_name = (char *)hubble_node_name(h);
		r.time = &t;
		hubble_call_send(call, &r.base);
	}
	if (!q->follow)
		hubble_call_finish(call, HUBBLE_OK, NULL);
}

void
hubble_rpc_debug_events(struct hubble *h, struct hubble_call *call,
			const ProtobufCMessage *reqmsg)
{
	const Observer__GetDebugEventsRequest *q =
		(const Observer__GetDebugEventsRequest *)reqmsg;

	if (q->first && q->follow) {
		hubble_call_finish(call, HUBBLE_INVALID_ARGUMENT,
				   "first cannot be specified with follow");
		return;
	}
	if (!q->follow)
		hubble_call_finish(call, HUBBLE_OK, NULL);
}

/* ---- health and peers -------------------------------------------------------------- */

static int
rpc_service_known(const char *s)
{
	static const char *const known[] = {
		"", "hubble.server.Observer", "observer.Observer", "peer.Peer",
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(s != NULL ? s : "", known[i]) == 0)
			return 1;
	return 0;
}

void
hubble_rpc_health_check(struct hubble *h, struct hubble_call *call,
			const ProtobufCMessage *reqmsg)
{
	const Grpc__Health__V1__HealthCheckRequest *q =
		(const Grpc__Health__V1__HealthCheckRequest *)reqmsg;
	Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;

	if (!rpc_service_known(q->service)) {
		hubble_call_finish(call, HUBBLE_NOT_FOUND, "unknown service %s", q->service);
		return;
	}
	r.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
	hubble_call_send(call, &r.base);
	hubble_call_finish(call, HUBBLE_OK, NULL);
}

void
hubble_rpc_health_watch(struct hubble *h, struct hubble_call *call,
			const ProtobufCMessage *reqmsg)
{
	const Grpc__Health__V1__HealthCheckRequest *q =
		(const Grpc__Health__V1__HealthCheckRequest *)reqmsg;
	Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;

	r.status = rpc_service_known(q->service)
		? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
		: GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
	hubble_call_send(call, &r.base);
}

void
hubble_rpc_peer_notify(struct hubble *h, struct hubble_call *call,
		       const ProtobufCMessage *req)
{
	Peer__ChangeNotification n = PEER__CHANGE_NOTIFICATION__INIT;
	Peer__TLS tls = PEER__TLS__INIT;

	n.name = (char *)hubble_node_name(h);
	n.address = (char *)hubble_srv_address(h);
	n.type = PEER__CHANGE_NOTIFICATION_TYPE__PEER_ADDED;
	if (hubble_srv_tls(h)) {
		tls.server_name = n.name;
		n.tls = &tls;
	}
	hubble_call_send(call, &n.base);
}
