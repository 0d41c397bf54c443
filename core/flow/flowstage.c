/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/flow/flowstage.c - the stage between enrichment and the flow ring
 * (core/flow/flow.h, "the stage"): the Lua host's on_flow hooks run on a
 * thread of their own and may add extensions to a flow before it is
 * stored, without ever making the pipeline lose or reorder a flow.
 *
 * Held flows sit in a ring of capacity slots addressed by token (tokens
 * count up from 1; token t lives in slot t % capacity). Three cursors,
 * head <= pub <= tail: [pub, tail) are waiting to be stored, [head, pub)
 * are stored but still read by the stage (observed, or late), so their
 * slot cannot be reused yet. A flow is stored when the stage is done with
 * it, when it does not wait for the stage, or when it has waited
 * max_delay_ns; only the first unstored flow is ever stored, so the order
 * of publication is kept. When every slot is taken, everything unstored
 * is stored at once and the new flow goes straight to the ring: the
 * stage misses flows (counted), the pipeline never drops one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "core/flow/flow.h"
#include "core/flow/flow_int.h"

struct held {
	struct bw_flow *f;
	uint64_t token;
	uint64_t t_ns;
	int wait;      /* storing waits for the stage */
	int busy;      /* the stage reads the copy until done */
	int done;
	char *ext;     /* what the stage added */
};

static struct {
	struct bw_flow_stage st;
	int on;
	struct held *slot;
	uint64_t head, pub, tail;
	struct event *timer;
	int timer_on;
	int draining;
	struct bw_flow_stage_stats stats;
} fs = { .head = 1, .pub = 1, .tail = 1 };

static uint64_t
fs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
bw_flow_stage_on(void)
{
	return fs.on;
}

/* The flow's own extensions merged with the stage's (the flow's win). */
static char *
fs_merge(const char *mine, const char *added)
{
	json_t *a, *b;
	const char *k;
	json_t *v;
	char *out;

	if (mine == NULL)
		return strdup(added);
	a = json_loads(mine, 0, NULL);
	b = json_loads(added, 0, NULL);
	if (!json_is_object(a) || !json_is_object(b)) {
		json_decref(a);
		json_decref(b);
		return strdup(json_is_object(a) ? mine : added);
	}
	json_object_foreach(b, k, v) {
		json_t *have = json_object_get(a, k);

		if (have == NULL) {
			json_object_set(a, k, v);
		} else if (json_is_object(have) && json_is_object(v)) {
			/* one level down too: a proxy's "lua" deny and the
			 * scripts' on_flow results share the "lua" object */
			const char *k2;
			json_t *v2;

			json_object_foreach(v, k2, v2)
				if (json_object_get(have, k2) == NULL)
					json_object_set(have, k2, v2);
		}
	}
	out = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(a);
	json_decref(b);
	return out;
}

static void
fs_store(struct held *h)
{
	struct bw_flow f = *h->f;
	char *merged = NULL;

	if (h->wait && !h->done)
		fs.stats.late++;
	if (h->done && h->ext != NULL) {
		merged = fs_merge(f.extensions_json, h->ext);
		if (merged != NULL)
			f.extensions_json = merged;
	}
	bw_flow_store(&f);
	free(merged);
}

static void
fs_release(struct held *h)
{
	free(h->f);
	free(h->ext);
	memset(h, 0, sizeof(*h));
}

/* Store what may be stored, release what the stage no longer reads. */
static void
fs_drain(int all)
{
	uint64_t now;

	if (fs.draining)
		return; /* a subscriber published: the outer loop sees it */
	fs.draining = 1;
	now = fs_now();
	while (fs.pub < fs.tail) {
		struct held *h = &fs.slot[fs.pub % fs.st.capacity];

		if (!all && h->wait && !h->done &&
		    now - h->t_ns < fs.st.max_delay_ns)
			break;
		fs.pub++;
		fs_store(h);
	}
	while (fs.head < fs.pub) {
		struct held *h = &fs.slot[fs.head % fs.st.capacity];

		if (h->busy && !h->done)
			break;
		fs_release(h);
		fs.head++;
	}
	fs.stats.held = fs.tail - fs.pub;
	if (fs.timer != NULL && fs.head == fs.tail && fs.timer_on) {
		event_del(fs.timer);
		fs.timer_on = 0;
	}
	fs.draining = 0;
}

static void
fs_tick(evutil_socket_t fd, short what, void *arg)
{
	fs_drain(0);
}

static void
fs_arm(void)
{
	uint64_t us = fs.st.max_delay_ns / 4000;
	struct timeval tv;

	if (fs.timer == NULL || fs.timer_on)
		return;
	if (us < 1000)
		us = 1000;
	if (us > 50000)
		us = 50000;
	tv.tv_sec = 0;
	tv.tv_usec = (suseconds_t)us;
	if (event_add(fs.timer, &tv) == 0)
		fs.timer_on = 1;
}

int
bw_flow_stage_hold(const struct bw_flow *f)
{
	int want = fs.st.wants(fs.st.arg, f);
	struct held *h;

	if (want == BW_FLOW_STAGE_SKIP && fs.pub == fs.tail)
		return bw_flow_store(f); /* nothing ahead of it */
	if (fs.tail - fs.head >= fs.st.capacity) {
		/* full: keep the order, let the stage miss this one */
		fs_drain(1);
		if (want != BW_FLOW_STAGE_SKIP)
			fs.stats.skipped++;
		return bw_flow_store(f);
	}
	h = &fs.slot[fs.tail % fs.st.capacity];
	memset(h, 0, sizeof(*h));
	h->f = bw_flow_clone(f);
	if (h->f == NULL) {
		fs_drain(1);
		return bw_flow_store(f);
	}
	h->token = fs.tail++;
	h->t_ns = fs_now();
	if (want != BW_FLOW_STAGE_SKIP) {
		if (fs.st.submit(fs.st.arg, h->f, h->token) == 0) {
			fs.stats.submitted++;
			h->busy = 1;
			h->wait = want == BW_FLOW_STAGE_HOLD;
		} else {
			fs.stats.skipped++;
		}
	}
	fs_drain(0);
	if (fs.head != fs.tail)
		fs_arm();
	return 0;
}

void
bw_flow_stage_done(uint64_t token, const char *extensions_json)
{
	struct held *h;

	if (!fs.on || token < fs.head || token >= fs.tail)
		return;
	h = &fs.slot[token % fs.st.capacity];
	if (h->token != token || h->done)
		return;
	h->done = 1;
	if (extensions_json != NULL && h->wait && token >= fs.pub)
		h->ext = strdup(extensions_json);
	fs_drain(0);
}

int
bw_flow_stage_set(struct event_base *base, const struct bw_flow_stage *st)
{
	if (fs.on) {
		/* store everything, forget the stage's copies */
		fs_drain(1);
		while (fs.head < fs.tail) {
			fs_release(&fs.slot[fs.head % fs.st.capacity]);
			fs.head++;
		}
		if (fs.timer != NULL)
			event_free(fs.timer);
		fs.timer = NULL;
		fs.timer_on = 0;
		free(fs.slot);
		fs.slot = NULL;
		fs.on = 0;
		fs.stats.held = 0;
	}
	if (st == NULL)
		return 0;
	if (st->capacity == 0 || st->wants == NULL || st->submit == NULL)
		return -EINVAL;
	fs.slot = calloc(st->capacity, sizeof(*fs.slot));
	if (fs.slot == NULL)
		return -ENOMEM;
	if (base != NULL) {
		fs.timer = event_new(base, -1, EV_PERSIST, fs_tick, NULL);
		if (fs.timer == NULL) {
			free(fs.slot);
			fs.slot = NULL;
			return -ENOMEM;
		}
	}
	fs.st = *st;
	fs.head = fs.pub = fs.tail = 1;
	memset(&fs.stats, 0, sizeof(fs.stats));
	fs.on = 1;
	return 0;
}

void
bw_flow_stage_set_delay(uint64_t max_delay_ns)
{
	fs.st.max_delay_ns = max_delay_ns;
}

void
bw_flow_stage_stats(struct bw_flow_stage_stats *st)
{
	*st = fs.stats;
}
