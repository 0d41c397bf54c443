/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/flow/flowapi.c - GET /v1/flows: Hubble's GetFlows over the control API.
 *
 * The request is Hubble's GetFlowsRequest, given as query parameters or as
 * a JSON body with the same names:
 *   number     how many flows (0 or absent: all that match)
 *   first      true: the oldest `number` flows instead of the newest
 *   follow     true: keep the stream open and send new flows as they come
 *   since      RFC 3339 time or a duration before now ("5m")
 *   until      same; ignored with follow
 *   whitelist  JSON array of FlowFilter objects (alias allowlist)
 *   blacklist  JSON array of FlowFilter objects (alias denylist)
 * The reply is NDJSON: one GetFlowsResponse per line, oldest first, plus
 * {"lost_events": ...} lines when a follower fell behind the flow ring
 * (HUBBLE_RING_BUFFER) or the datapath dropped events
 * (PERF_EVENT_RING_BUFFER).
 *
 * A follower keeps a cursor into the flow ring rather than a queue of its
 * own: a slow reader costs no memory beyond the ring, and what the ring
 * overwrote before the reader got to it is reported as lost.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "core/api.h"
#include "core/flow/flow.h"
#include "lib/flowfilter.h"
#include "lib/flowjson.h"
#include "core/log.h"

/* Pause a follower while this much output waits for the client. */
#define FLOWAPI_PENDING_MAX (4u << 20)

/*
 * Bytes queued on a stream's connection. core/api.c provides it once it
 * can; until then followers never pause (output buffers grow instead).
 */
size_t bw_api_stream_pending(struct bw_api_request *req) __attribute__((weak));

struct flowapi_follower {
	struct bw_api_request *req;
	struct bw_flowfilters filters;
	uint64_t cursor;  /* next sequence number to look at */
	uint64_t since;
	int sub_id;
	int closed;
	struct event *resume;
	struct event *end_ev; /* ends the stream from the loop */
	struct flowapi_follower *next;
};

static struct {
	struct event_base *base;
	struct flowapi_follower *followers;
} fa;

struct flowapi_query {
	uint64_t number;
	int first;
	int follow;
	uint64_t since, until; /* 0 = unset */
	struct bw_flowfilters filters;
};

static uint64_t
flowapi_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
flowapi_bool(const char *s, int *out)
{
	if (!strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "yes")) {
		*out = 1;
		return 0;
	}
	if (!strcasecmp(s, "false") || !strcmp(s, "0") || !strcasecmp(s, "no")) {
		*out = 0;
		return 0;
	}
	return -EINVAL;
}

/* Read the request into q; on error reply 400 and return -EINVAL. */
static int
flowapi_parse(struct bw_api_request *req, struct flowapi_query *q)
{
	json_t *body = NULL, *wl = NULL, *bl = NULL, *v;
	const char *s, *which;
	char err[512];
	size_t len = 0;
	int rc = -EINVAL, trc;
	uint64_t now = flowapi_now();

	memset(q, 0, sizeof(*q));
	bw_api_req_body(req, &len);
	if (len > 0) {
		body = bw_api_req_json(req);
		if (body == NULL)
			return -EINVAL; /* replied */
		if (!json_is_object(body)) {
			bw_api_reply_error(req, 400, "the body must be a GetFlowsRequest object");
			goto out;
		}
		v = json_object_get(body, "number");
		if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0)) {
			bw_api_reply_error(req, 400, "number must be a non-negative integer");
			goto out;
		}
		if (v != NULL)
			q->number = (uint64_t)json_integer_value(v);
		if (json_is_string(json_object_get(body, "number")))
			q->number = strtoull(json_string_value(json_object_get(body, "number")), NULL, 10);
		q->first = json_is_true(json_object_get(body, "first"));
		q->follow = json_is_true(json_object_get(body, "follow"));
		for (int i = 0; i < 2; i++) {
			const char *key = i == 0 ? "since" : "until";
			uint64_t *dst = i == 0 ? &q->since : &q->until;

			v = json_object_get(body, key);
			if (v == NULL || json_is_null(v))
				continue;
			if (!json_is_string(v) ||
			    bw_flowfilter_parse_time(json_string_value(v), now, dst) < 0) {
				bw_api_reply_error(req, 400, "%s: expected an RFC 3339 time or a duration like 5m", key);
				goto out;
			}
		}
		wl = json_incref(json_object_get(body, "whitelist"));
		if (wl == NULL)
			wl = json_incref(json_object_get(body, "allowlist"));
		bl = json_incref(json_object_get(body, "blacklist"));
		if (bl == NULL)
			bl = json_incref(json_object_get(body, "denylist"));
	}

	if ((s = bw_api_req_query(req, "number")) != NULL) {
		char *end;

		q->number = strtoull(s, &end, 10);
		if (*s == '\0' || *s == '-' || *end != '\0') {
			bw_api_reply_error(req, 400, "number: '%s' is not a non-negative integer", s);
			goto out;
		}
	}
	if ((s = bw_api_req_query(req, "first")) != NULL &&
	    flowapi_bool(s, &q->first) < 0) {
		bw_api_reply_error(req, 400, "first: expected true or false, not '%s'", s);
		goto out;
	}
	if ((s = bw_api_req_query(req, "follow")) != NULL &&
	    flowapi_bool(s, &q->follow) < 0) {
		bw_api_reply_error(req, 400, "follow: expected true or false, not '%s'", s);
		goto out;
	}
	if ((s = bw_api_req_query(req, "since")) != NULL &&
	    (trc = bw_flowfilter_parse_time(s, now, &q->since)) < 0) {
		bw_api_reply_error(req, 400, trc == -ERANGE
				   ? "since: '%s' is longer than a duration can be (at most 2562047h)"
				   : "since: '%s' is neither an RFC 3339 time nor a duration like 5m", s);
		goto out;
	}
	if ((s = bw_api_req_query(req, "until")) != NULL &&
	    (trc = bw_flowfilter_parse_time(s, now, &q->until)) < 0) {
		bw_api_reply_error(req, 400, trc == -ERANGE
				   ? "until: '%s' is longer than a duration can be (at most 2562047h)"
				   : "until: '%s' is neither an RFC 3339 time nor a duration like 5m", s);
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		json_t **dst = i == 0 ? &wl : &bl;
		json_error_t jerr;

		which = i == 0 ? "whitelist" : "blacklist";
		s = bw_api_req_query(req, which);
		if (s == NULL)
			s = bw_api_req_query(req, i == 0 ? "allowlist" : "denylist");
		if (s == NULL)
			continue;
		json_decref(*dst);
		*dst = json_loads(s, JSON_DECODE_ANY, &jerr);
		if (*dst == NULL) {
			bw_api_reply_error(req, 400, "%s: not JSON: %s", which, jerr.text);
			goto out;
		}
		if (json_is_object(*dst)) /* one filter */
			*dst = json_pack("[o]", *dst);
	}
	if (bw_flowfilters_parse(&q->filters, wl, bl, err, sizeof(err)) < 0) {
		bw_api_reply_error(req, 400, "%s", err);
		goto out;
	}
	if (q->first && q->follow) {
		bw_api_reply_error(req, 400, "first cannot be combined with follow");
		bw_flowfilters_clear(&q->filters);
		goto out;
	}
	rc = 0;
out:
	json_decref(body);
	json_decref(wl);
	json_decref(bl);
	return rc;
}

static int
flowapi_in_window(const struct bw_flow *f, uint64_t since, uint64_t until)
{
	if (since != 0 && f->time_ns < since)
		return 0;
	if (until != 0 && f->time_ns > until)
		return 0;
	return 1;
}

static int
flowapi_send(struct bw_api_request *req, const struct bw_flow *f)
{
	char *text;
	int rc;

	rc = bw_flowjson_text(f, &text);
	if (rc < 0)
		return rc;
	rc = bw_api_stream_text(req, text);
	free(text);
	return rc;
}

static int
flowapi_send_lost(struct bw_api_request *req, const char *source, uint64_t n)
{
	json_t *line = bw_flowjson_lost(source, n, bw_flow_node_name(),
					flowapi_now());

	return bw_api_stream_json(req, line);
}

/* ---- followers --------------------------------------------------------------- */

static void flowapi_follower_drain(struct flowapi_follower *fw);

static void
flowapi_follower_end(evutil_socket_t fd, short what, void *arg)
{
	struct flowapi_follower *fw = arg, **pp;

	for (pp = &fa.followers; *pp != NULL; pp = &(*pp)->next)
		if (*pp == fw) {
			*pp = fw->next;
			break;
		}
	if (fw->sub_id > 0)
		bw_flow_unsubscribe(fw->sub_id);
	if (fw->resume != NULL)
		event_free(fw->resume);
	if (fw->end_ev != NULL)
		event_free(fw->end_ev);
	bw_api_stream_end(fw->req);
	bw_flowfilters_clear(&fw->filters);
	bw_flow_stats_followers(-1);
	free(fw);
}

/* Stop writing; the stream is ended from the loop, outside any callback. */
static void
flowapi_follower_close(struct flowapi_follower *fw)
{
	if (fw->closed)
		return;
	fw->closed = 1;
	if (fw->end_ev != NULL)
		event_active(fw->end_ev, EV_TIMEOUT, 0);
	else
		flowapi_follower_end(-1, 0, fw);
}

static void
flowapi_on_close(struct bw_api_request *req, void *arg)
{
	flowapi_follower_close(arg);
}

static void
flowapi_resume(evutil_socket_t fd, short what, void *arg)
{
	flowapi_follower_drain(arg);
}

static void
flowapi_follower_drain(struct flowapi_follower *fw)
{
	uint64_t first = bw_flow_ring_first(), next = bw_flow_ring_next();

	if (fw->closed)
		return;
	if (fw->resume != NULL && evtimer_pending(fw->resume, NULL))
		return; /* paused: the timer resumes us */
	if (fw->cursor < first) {
		uint64_t lost = first - fw->cursor;

		bw_flow_stats_lost_followers(lost);
		fw->cursor = first;
		if (flowapi_send_lost(fw->req, "HUBBLE_RING_BUFFER", lost) < 0) {
			flowapi_follower_close(fw);
			return;
		}
	}
	while (fw->cursor < next) {
		const struct bw_flow *f = bw_flow_ring_at(fw->cursor);

		if (bw_api_stream_pending != NULL &&
		    bw_api_stream_pending(fw->req) > FLOWAPI_PENDING_MAX) {
			struct timeval tv = { 0, 100000 };

			if (fw->resume == NULL)
				fw->resume = evtimer_new(fa.base, flowapi_resume, fw);
			if (fw->resume != NULL)
				evtimer_add(fw->resume, &tv);
			return;
		}
		fw->cursor++;
		if (f == NULL || !flowapi_in_window(f, fw->since, 0) ||
		    !bw_flowfilters_match(&fw->filters, f))
			continue;
		if (flowapi_send(fw->req, f) < 0) {
			flowapi_follower_close(fw);
			return;
		}
	}
}

static void
flowapi_follower_flow(const struct bw_flow *f, void *ud)
{
	flowapi_follower_drain(ud);
}

static void
flowapi_lost(const char *source, uint64_t n)
{
	for (struct flowapi_follower *fw = fa.followers; fw != NULL; fw = fw->next)
		if (!fw->closed && flowapi_send_lost(fw->req, source, n) < 0)
			flowapi_follower_close(fw);
}

/* ---- the handler ----------------------------------------------------------------- */

static int
flowapi_get(struct bw_api_request *req, void *arg)
{
	struct flowapi_query q;
	struct flowapi_follower *fw;
	uint64_t first = bw_flow_ring_first(), next = bw_flow_ring_next();
	uint64_t start = next, want, seq;
	int rc;

	if (flowapi_parse(req, &q) < 0)
		return 0; /* replied */

	/*
	 * Pick the history to send: the first N or the last N that match
	 * (all of them when N is 0, none when following with no number and
	 * no since, like `hubble observe -f`).
	 */
	if (q.first) {
		start = first;
	} else if (q.number == 0 && (!q.follow || q.since != 0)) {
		start = first;
	} else if (q.number > 0) {
		want = q.number;
		for (seq = next; seq > first && want > 0; seq--) {
			const struct bw_flow *f = bw_flow_ring_at(seq - 1);

			if (f != NULL && flowapi_in_window(f, q.since, q.follow ? 0 : q.until) &&
			    bw_flowfilters_match(&q.filters, f)) {
				want--;
				start = seq - 1;
			}
		}
	}

	rc = bw_api_stream_begin(req);
	if (rc < 0) {
		bw_flowfilters_clear(&q.filters);
		return rc;
	}
	want = q.number;
	for (seq = start; seq < next; seq++) {
		const struct bw_flow *f = bw_flow_ring_at(seq);

		if (f == NULL || !flowapi_in_window(f, q.since, q.follow ? 0 : q.until) ||
		    !bw_flowfilters_match(&q.filters, f))
			continue;
		if (flowapi_send(req, f) < 0)
			break;
		if (q.first && q.number > 0 && --want == 0)
			break;
	}
	if (!q.follow) {
		bw_flowfilters_clear(&q.filters);
		bw_api_stream_end(req);
		return 0;
	}

	fw = calloc(1, sizeof(*fw));
	if (fw == NULL) {
		bw_flowfilters_clear(&q.filters);
		bw_api_stream_end(req);
		return 0;
	}
	fw->req = req;
	fw->filters = q.filters;
	fw->cursor = next;
	fw->since = q.since;
	if (fa.base != NULL)
		fw->end_ev = evtimer_new(fa.base, flowapi_follower_end, fw);
	fw->sub_id = bw_flow_subscribe(fw, flowapi_follower_flow, fw, NULL);
	fw->next = fa.followers;
	fa.followers = fw;
	bw_flow_stats_followers(1);
	if (fw->sub_id < 0) {
		flowapi_follower_close(fw);
		return 0;
	}
	bw_api_stream_on_close(req, flowapi_on_close, fw);
	return 0;
}

int
bw_flowapi_init(struct event_base *base)
{
	fa.base = base;
	bw_flow_set_lost_handler(flowapi_lost);
	return bw_api_route_add("GET", "/v1/flows", flowapi_get, NULL);
}

void
bw_flowapi_fini(void)
{
	bw_flow_set_lost_handler(NULL);
	while (fa.followers != NULL) {
		fa.followers->closed = 1;
		flowapi_follower_end(-1, 0, fa.followers);
	}
	bw_api_route_remove("GET", "/v1/flows");
	fa.base = NULL;
}
