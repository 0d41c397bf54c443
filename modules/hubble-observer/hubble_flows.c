/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/hubble-observer/hubble_flows.c - observer.Observer/GetFlows.
 *
 * Semantics of Hubble's local observer (cilium pkg/hubble/observer):
 *   - whitelist/blacklist: lib/flowfilter.c, the matcher of `bulwark
 *     observe` and GET /v1/flows (any whitelist filter, no blacklist one);
 *   - number: without follow, at most that many matching flows, the
 *     newest (the oldest with first); 0 = every flow that matches;
 *   - follow: after the history, new flows as they come; with no number
 *     and no since, new flows only (what `hubble observe -f` asks);
 *   - since/until: flow time window; the stream ends at the first flow
 *     past until (also when following);
 *   - field_mask (or experimental.field_mask of older clients, field 1 of
 *     the now empty Experimental message): the Flow fields to send;
 *   - LostEvents are neither filtered nor counted against number.
 *
 * A call does not copy flows: it keeps a cursor into the daemon's flow
 * ring (bw_core_api.flow_ring_*) and sends from there while its output
 * buffer (client_buffer) has room. A client that reads too slowly only
 * stops its own cursor; when the ring overwrites flows it has not read,
 * it gets a LostEvent {source: HUBBLE_RING_BUFFER} with their number,
 * which is also counted (flow stats lost_followers, the metrics). A
 * client that reads nothing at all while its buffer is full is
 * disconnected after stall_timeout (RESOURCE_EXHAUSTED) and counted. The
 * pipeline never waits for a client.
 *
 * Followers that ask for the same fields share one encoding of each flow
 * (a small cache per field set, indexed by sequence number), so ten
 * followers cost one protobuf encoding per flow, not ten.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "hubble.h"
#include "lib/flowfilter.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "observer/observer.pb-c.h"

#define FLOWS_CACHE 4096   /* encodings kept per field set */
#define FLOWS_BATCH 8192   /* ring slots a call looks at per turn */

struct flows_slot {
	uint64_t seq;
	uint8_t *buf;
	size_t len, cap;
};

/* Followers asking for the same fields share encodings. */
struct flows_group {
	struct flows_group *next;
	char *key;
	int extensions;
	struct hubble_mask *mask;
	unsigned refs;
	struct flows_slot *cache;
};

struct flows_call {
	struct hubble *h;
	struct hubble_call *call;
	struct flows_call *next, *prev;
	struct bw_flowfilters filters;
	struct flows_group *group;
	uint64_t cursor, end;   /* end: without follow, stop here */
	uint64_t since, until;  /* wall clock ns, 0 = unset */
	uint64_t number, sent;
	int first, follow;
};

struct hubble_flows {
	struct hubble *h;
	struct flows_call *calls;
	struct flows_group *groups;
	struct event *drain_ev;
	struct event *tick_ev;
	struct hubble_arena arena;
	uint64_t lost_datapath;
	int lost_primed;
	struct hubble_flows_stats st;
	struct hubble_ff_stats ff;
};

/* ---- encodings --------------------------------------------------------------- */

static struct flows_group *
flows_group_get(struct hubble_flows *fl, struct hubble_mask *mask, int ext)
{
	const char *key = hubble_mask_key(mask);
	struct flows_group *g;

	for (g = fl->groups; g != NULL; g = g->next)
		if (g->extensions == ext && strcmp(g->key, key) == 0) {
			g->refs++;
			hubble_mask_free(mask);
			return g;
		}
	g = calloc(1, sizeof(*g));
	if (g == NULL || (g->key = strdup(key)) == NULL ||
	    (g->cache = calloc(FLOWS_CACHE, sizeof(*g->cache))) == NULL) {
		if (g != NULL)
			free(g->key);
		free(g);
		hubble_mask_free(mask);
		return NULL;
	}
	g->extensions = ext;
	g->mask = mask;
	g->refs = 1;
	g->next = fl->groups;
	fl->groups = g;
	return g;
}

static void
flows_group_put(struct hubble_flows *fl, struct flows_group *g)
{
	struct flows_group **pp;

	if (g == NULL || --g->refs > 0)
		return;
	for (pp = &fl->groups; *pp != NULL; pp = &(*pp)->next)
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	for (size_t i = 0; i < FLOWS_CACHE; i++)
		free(g->cache[i].buf);
	free(g->cache);
	hubble_mask_free(g->mask);
	free(g->key);
	free(g);
}

/* The framed GetFlowsResponse of flow f (seq) for group g. */
static const struct flows_slot *
flows_encode(struct hubble_flows *fl, struct flows_group *g, uint64_t seq,
	     const struct bw_flow *f)
{
	struct flows_slot *s = &g->cache[seq % FLOWS_CACHE];
	Observer__GetFlowsResponse resp = OBSERVER__GET_FLOWS_RESPONSE__INIT;
	Flow__Flow flow;
	size_t n;

	if (s->buf != NULL && s->seq == seq)
		return s;
	hubble_arena_reset(&fl->arena);
	hubble_pb_flow(f, g->extensions, &fl->arena, &flow);
	hubble_pb_time(f->time_ns, &fl->arena, &resp.time);
	hubble_mask_apply(g->mask, &flow.base);
	resp.response_types_case = OBSERVER__GET_FLOWS_RESPONSE__RESPONSE_TYPES_FLOW;
	resp.flow = &flow;
	resp.node_name = f->node_name != NULL ? (char *)f->node_name
					      : (char *)protobuf_c_empty_string;
	n = observer__get_flows_response__get_packed_size(&resp) + 5;
	if (s->cap < n) {
		uint8_t *b = realloc(s->buf, n);

		if (b == NULL)
			return NULL;
		s->buf = b;
		s->cap = n;
	}
	s->buf[0] = 0;
	s->buf[1] = (uint8_t)((n - 5) >> 24);
	s->buf[2] = (uint8_t)((n - 5) >> 16);
	s->buf[3] = (uint8_t)((n - 5) >> 8);
	s->buf[4] = (uint8_t)(n - 5);
	observer__get_flows_response__pack(&resp, s->buf + 5);
	s->len = n;
	s->seq = seq;
	return s;
}

static int
flows_send_lost(struct flows_call *fc, Flow__LostEventSource source, uint64_t n)
{
	struct hubble *h = fc->h;
	Observer__GetFlowsResponse resp = OBSERVER__GET_FLOWS_RESPONSE__INIT;
	Flow__LostEvent le = FLOW__LOST_EVENT__INIT;
	Google__Protobuf__Timestamp t = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	uint64_t now = hubble_now_ns();

	le.source = source;
	le.num_events_lost = n;
	t.seconds = (int64_t)(now / 1000000000u);
	t.nanos = (int32_t)(now % 1000000000u);
	resp.response_types_case = OBSERVER__GET_FLOWS_RESPONSE__RESPONSE_TYPES_LOST_EVENTS;
	resp.lost_events = &le;
	resp.node_name = (char *)hubble_node_name(h);
	resp.time = &t;
	return hubble_call_send(fc->call, &resp.base);
}

/* ---- calls ------------------------------------------------------------------------ */

static void
flows_call_free(struct flows_call *fc)
{
	struct hubble_flows *fl = fc->h->flows;

	if (fc->prev != NULL)
		fc->prev->next = fc->next;
	else if (fl->calls == fc)
		fl->calls = fc->next;
	if (fc->next != NULL)
		fc->next->prev = fc->prev;
	bw_flowfilters_clear(&fc->filters);
	flows_group_put(fl, fc->group);
	fl->st.followers--;
	fc->h->api->flow_followers_account(-1, 0);
	free(fc);
}

static void
flows_call_done(struct flows_call *fc, enum hubble_code code, const char *msg)
{
	struct hubble_call *call = fc->call;

	hubble_call_set_data(call, NULL);
	flows_call_free(fc);
	if (msg != NULL)
		hubble_call_finish(call, code, "%s", msg);
	else
		hubble_call_finish(call, code, NULL);
}

/*
 * Send what the call may send now. Returns 1 when the call ended (fc is
 * freed), else 0.
 */
static int
flows_pump(struct flows_call *fc)
{
	struct hubble *h = fc->h;
	struct hubble_flows *fl = h->flows;
	uint64_t first, next, limit, budget = FLOWS_BATCH;

	h->api->flow_ring_range(&first, &next);
	if (fc->cursor < first) {
		uint64_t lost = first - fc->cursor;

		fc->cursor = first;
		fl->st.lost_sent += lost;
		h->api->flow_followers_account(0, lost);
		if (flows_send_lost(fc, FLOW__LOST_EVENT_SOURCE__HUBBLE_RING_BUFFER, lost) < 0)
			return 0;
	}
	limit = fc->follow || fc->end > next ? next : fc->end;
	while (fc->cursor < limit && budget-- > 0) {
		const struct bw_flow *f;
		const struct flows_slot *s;
		uint64_t seq;

		if (hubble_call_full(fc->call))
			return 0; /* writable() brings us back */
		seq = fc->cursor++;
		f = h->api->flow_ring_at(seq);
		if (f == NULL)
			continue;
		if (fc->since != 0 && f->time_ns < fc->since)
			continue;
		if (fc->until != 0 && f->time_ns > fc->until) {
			flows_call_done(fc, HUBBLE_OK, NULL);
			return 1;
		}
		if (!bw_flowfilters_match(&fc->filters, f))
			continue;
		s = flows_encode(fl, fc->group, seq, f);
		if (s == NULL || hubble_call_send_framed(fc->call, s->buf, s->len) < 0) {
			flows_call_done(fc, HUBBLE_INTERNAL, "cannot encode a flow (out of memory)");
			return 1;
		}
		fl->st.flows_sent++;
		if (BW_FLOW_HAS(f, l7) && f->l7 != NULL)
			fl->st.l7_sent[f->l7->http != NULL ? HUBBLE_L7_HTTP
				       : f->l7->dns != NULL ? HUBBLE_L7_DNS
				       : f->l7->kafka != NULL ? HUBBLE_L7_KAFKA
				       : HUBBLE_L7_OTHER]++;
		fc->sent++;
		if (!fc->follow && fc->number > 0 && fc->sent >= fc->number) {
			flows_call_done(fc, HUBBLE_OK, NULL);
			return 1;
		}
	}
	if (fc->cursor < limit) {
		event_active(fl->drain_ev, EV_TIMEOUT, 0); /* more next turn */
		return 0;
	}
	if (!fc->follow && fc->cursor >= fc->end) {
		flows_call_done(fc, HUBBLE_OK, NULL);
		return 1;
	}
	return 0;
}

static void
flows_drain(evutil_socket_t fd, short what, void *arg)
{
	struct hubble_flows *fl = arg;
	struct flows_call *fc = fl->calls, *next;

	for (; fc != NULL; fc = next) {
		next = fc->next;
		flows_pump(fc);
	}
}

static void
flows_on_flow(const struct bw_flow *f, void *ud)
{
	struct hubble_flows *fl = ud;

	if (fl->calls != NULL)
		event_active(fl->drain_ev, EV_TIMEOUT, 0);
}

/* Once a second: datapath losses, stalled clients, until in follow mode. */
static void
flows_tick(evutil_socket_t fd, short what, void *arg)
{
	struct hubble_flows *fl = arg;
	struct hubble *h = fl->h;
	struct bw_flow_stats st;
	struct flows_call *fc, *next;
	uint64_t now = hubble_now_ns(), delta = 0;

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	h->api->flow_stats(&st);
	if (fl->lost_primed && st.lost_datapath > fl->lost_datapath)
		delta = st.lost_datapath - fl->lost_datapath;
	fl->lost_datapath = st.lost_datapath;
	fl->lost_primed = 1;
	for (fc = fl->calls; fc != NULL; fc = next) {
		next = fc->next;
		if (hubble_call_full(fc->call) &&
		    hubble_call_stalled_ms(fc->call) > (uint64_t)h->conf->stall_timeout) {
			char msg[128];

			fl->st.stalled_dropped++;
			snprintf(msg, sizeof(msg),
				 "the client read nothing for %lld ms with its buffer full",
				 (long long)h->conf->stall_timeout);
			hubble_log(h, BW_LOG_NOTICE, "GetFlows: %s: dropping the call", msg);
			{
				struct hubble_call *call = fc->call;

				hubble_call_set_data(call, NULL);
				flows_call_free(fc);
				hubble_call_reset(call);
			}
			continue;
		}
		if (fc->follow && fc->until != 0 && now > fc->until) {
			flows_call_done(fc, HUBBLE_OK, NULL);
			continue;
		}
		if (delta > 0 && fc->follow)
			flows_send_lost(fc, FLOW__LOST_EVENT_SOURCE__PERF_EVENT_RING_BUFFER,
					delta);
	}
}

/* ---- the request ----------------------------------------------------------------- */

static uint64_t
flows_ts(const Google__Protobuf__Timestamp *t)
{
	if (t == NULL || t->seconds < 0)
		return 0;
	return (uint64_t)t->seconds * 1000000000u + (uint64_t)(t->nanos > 0 ? t->nanos : 0);
}

void
hubble_getflows_start(struct hubble *h, struct hubble_call *call,
		      const ProtobufCMessage *reqmsg)
{
	const Observer__GetFlowsRequest *r = (const Observer__GetFlowsRequest *)reqmsg;
	struct hubble_flows *fl = h->flows;
	struct flows_call *fc;
	struct hubble_mask *mask = NULL;
	char err[512] = "";
	uint64_t first, next, seq, want;
	int ext;

	if (r->first && r->follow) {
		hubble_call_finish(call, HUBBLE_INVALID_ARGUMENT,
				   "first cannot be specified with follow");
		return;
	}
	fc = calloc(1, sizeof(*fc));
	if (fc == NULL) {
		hubble_call_finish(call, HUBBLE_INTERNAL, "out of memory");
		return;
	}
	fc->h = h;
	fc->call = call;
	if (hubble_req_filters(r, &fc->filters, &fl->ff, err, sizeof(err)) < 0 ||
	    hubble_req_mask(r, &mask, err, sizeof(err)) < 0) {
		bw_flowfilters_clear(&fc->filters);
		free(fc);
		hubble_call_finish(call, HUBBLE_INVALID_ARGUMENT, "%s",
				   err[0] ? err : "invalid request");
		return;
	}
	ext = hubble_req_extensions(r) || (mask != NULL && hubble_mask_has(mask, "extensions"));
	fc->group = flows_group_get(fl, mask, ext);
	if (fc->group == NULL) {
		bw_flowfilters_clear(&fc->filters);
		free(fc);
		hubble_call_finish(call, HUBBLE_INTERNAL, "out of memory");
		return;
	}
	fc->number = r->number;
	fc->first = r->first;
	fc->follow = r->follow;
	fc->since = flows_ts(r->since);
	fc->until = flows_ts(r->until);

	/*
	 * Where the history starts: the oldest flow (first, or no number
	 * without follow, or since), the number-th newest match (number), or
	 * the next flow to come (follow alone).
	 */
	h->api->flow_ring_range(&first, &next);
	fc->end = next;
	if (fc->first || (fc->number == 0 && (!fc->follow || fc->since != 0))) {
		fc->cursor = first;
	} else if (fc->number > 0) {
		fc->cursor = next;
		want = fc->number;
		for (seq = next; seq > first && want > 0; seq--) {
			const struct bw_flow *f = h->api->flow_ring_at(seq - 1);

			if (f == NULL || (fc->since != 0 && f->time_ns < fc->since) ||
			    (fc->until != 0 && f->time_ns > fc->until) ||
			    !bw_flowfilters_match(&fc->filters, f))
				continue;
			want--;
			fc->cursor = seq - 1;
		}
		/* the last N are all there are: the count no longer limits */
		if (!fc->first)
			fc->number = 0;
	} else {
		fc->cursor = next;
	}
	fc->next = fl->calls;
	if (fl->calls != NULL)
		fl->calls->prev = fc;
	fl->calls = fc;
	fl->st.followers++;
	h->api->flow_followers_account(1, 0);
	hubble_call_set_data(call, fc);
	flows_pump(fc);
}

void
hubble_getflows_end(struct hubble_call *call)
{
	struct flows_call *fc = hubble_call_data(call);

	if (fc != NULL)
		flows_call_free(fc);
}

void
hubble_getflows_writable(struct hubble_call *call)
{
	struct flows_call *fc = hubble_call_data(call);

	if (fc != NULL)
		flows_pump(fc);
}

/* ---- module side ---------------------------------------------------------------- */

int
hubble_flows_init(struct hubble *h)
{
	struct hubble_flows *fl = calloc(1, sizeof(*fl));
	struct timeval one = { 1, 0 };
	int rc;

	if (fl == NULL)
		return -ENOMEM;
	fl->h = h;
	h->flows = fl;
	fl->drain_ev = event_new(h->base, -1, 0, flows_drain, fl);
	fl->tick_ev = event_new(h->base, -1, EV_PERSIST, flows_tick, fl);
	if (fl->drain_ev == NULL || fl->tick_ev == NULL || event_add(fl->tick_ev, &one) < 0)
		return -ENOMEM;
	rc = h->api->flow_subscribe(h->ctx, flows_on_flow, fl, NULL);
	return rc < 0 ? rc : 0;
}

void
hubble_flows_fini(struct hubble *h)
{
	struct hubble_flows *fl = h->flows;

	if (fl == NULL)
		return;
	while (fl->calls != NULL)
		flows_call_free(fl->calls);
	if (fl->drain_ev != NULL)
		event_free(fl->drain_ev);
	if (fl->tick_ev != NULL)
		event_free(fl->tick_ev);
	hubble_arena_free(&fl->arena);
	free(fl);
	h->flows = NULL;
}

void
hubble_flows_stats(struct hubble *h, struct hubble_flows_stats *st)
{
	if (h->flows != NULL)
		*st = h->flows->st;
	else
		memset(st, 0, sizeof(*st));
}

const struct hubble_ff_stats *
hubble_flows_ff_stats(struct hubble *h)
{
	static const struct hubble_ff_stats none;

	return h->flows != NULL ? &h->flows->ff : &none;
}
