/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/flowstore/flowstore.c - durable, node-local flow history, and the
 * adoption tools built on it (exposure, compliance: flowstore_api.c).
 *
 * Every flow the pipeline publishes comes here on the loop thread. The
 * module keeps one record per connection check, which is what a person
 * asks about ("who talked to whom, allowed or not, by which policy"):
 *
 *   policy verdicts   one per new connection in an enforced direction:
 *                     FORWARDED, DROPPED (each denied attempt) or AUDIT,
 *                     with the policies behind the verdict (the rule's
 *                     policy, or for a default deny the isolating ones);
 *   new connections   the trace of a connection's first packet, taken once
 *                     where the connection is first seen (entering a local
 *                     pod, or leaving one for a peer that is not a local
 *                     pod), gives a FORWARDED record for each local side
 *                     whose direction is not enforced (no verdict event
 *                     exists there; BW_FLOW_F_*_ENFORCED says which).
 *
 * Records are aggregated in memory by (source, destination, port,
 * protocol, direction, verdict, policies, time bucket) and handed to the
 * database thread every flush_interval (flowstore_db.c), so the loop never
 * waits on SQLite and the work follows distinct keys, not flows. Alongside:
 * denied connections per endpoint (compliance), the last time each
 * workload's exposure path carried traffic (kept in memory for exposure
 * and its gauges, and stored), the would-be verdicts of staged policies
 * (counted for the metrics), and optionally the raw flows.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include <bulwark/flow.h>
#include <bulwark/module.h>

#include "lib/flowpeer.h"
#include "flowstore.h"

const char *const fs_path_names[FS_NPATHS] = {
	"ingress_from_world", "ingress_from_other_namespaces", "egress_to_world",
};

static const struct bw_conf_key fs_keys[] = {
	{ "path", BW_CONF_STRING, "flows.db", offsetof(struct fs_conf, path), 0, 0, NULL, 0,
	  "the SQLite database; a relative path is under the instance's state directory" },
	{ "retention", BW_CONF_DURATION, "7d", offsetof(struct fs_conf, retention), 1000,
	  INT64_C(3650) * 86400000, NULL, BW_CONF_F_RELOADABLE,
	  "forget aggregated flows older than this" },
	{ "max_size", BW_CONF_SIZE, "1G", offsetof(struct fs_conf, max_size), 1048576,
	  INT64_C(1) << 42, NULL, BW_CONF_F_RELOADABLE,
	  "beyond this much data the oldest flows go first" },
	{ "bucket", BW_CONF_DURATION, "1m", offsetof(struct fs_conf, bucket), 1000, 3600000,
	  NULL, 0, "flows are aggregated per period of this length (the precision of --since)" },
	{ "flush_interval", BW_CONF_DURATION, "1s", offsetof(struct fs_conf, flush_interval), 100,
	  60000, NULL, 0, "how often aggregated flows go to the database thread" },
	{ "queue_size", BW_CONF_INT, "64", offsetof(struct fs_conf, queue_size), 1, 100000, NULL,
	  BW_CONF_F_RELOADABLE,
	  "batches waiting for the database thread; beyond it batches are dropped and counted" },
	{ "max_keys", BW_CONF_INT, "100000", offsetof(struct fs_conf, max_keys), 1000, 10000000,
	  NULL, 0, "distinct flow keys aggregated in memory before an early flush" },
	{ "raw", BW_CONF_BOOL, "false", offsetof(struct fs_conf, raw), 0, 0, NULL, 0,
	  "also keep each recorded flow as Hubble JSON" },
	{ "raw_retention", BW_CONF_DURATION, "1h", offsetof(struct fs_conf, raw_retention), 1000,
	  INT64_C(3650) * 86400000, NULL, BW_CONF_F_RELOADABLE, "forget raw flows older than this" },
	{ "window", BW_CONF_DURATION, "24h", offsetof(struct fs_conf, window), 1000,
	  INT64_C(3650) * 86400000, NULL, BW_CONF_F_RELOADABLE,
	  "the default --since of exposure and compliance, and the window of their gauges" },
	{ "max_namespaces", BW_CONF_INT, "100", offsetof(struct fs_conf, max_namespaces), 1,
	  100000, NULL, BW_CONF_F_RELOADABLE,
	  "namespaces the gauges name; the others are summed as namespace=\"_other\"" },
	BW_CONF_KEY_END,
};

/* Every instance (one is usual), to find it from ctx in start/stop. */
static struct flowstore *fs_all[8];

static struct flowstore *
fs_of(bw_module_ctx *ctx)
{
	for (size_t i = 0; i < sizeof(fs_all) / sizeof(*fs_all); i++)
		if (fs_all[i] != NULL && fs_all[i]->ctx == ctx)
			return fs_all[i];
	return NULL;
}

/* ---- config ------------------------------------------------------------------------ */

static int
fs_check(const void *conf, char *err, size_t errlen, const char **key)
{
	const struct fs_conf *c = conf;

	if (c->path == NULL || c->path[0] == '\0') {
		*key = "path";
		snprintf(err, errlen, "must not be empty");
		return -EINVAL;
	}
	if (c->retention < c->bucket) {
		*key = "retention";
		snprintf(err, errlen, "must be at least one bucket (%" PRId64 " ms)", c->bucket);
		return -EINVAL;
	}
	return 0;
}

static void
fs_settings(struct flowstore *fs, const struct fs_conf *c, struct fs_db_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->path = fs->path;
	s->retention = c->retention;
	s->raw_retention = c->raw ? c->raw_retention : 0;
	s->max_size = c->max_size;
	s->bucket = c->bucket;
	s->queue_max = (size_t)c->queue_size;
}

/* ---- records -------------------------------------------------------------------------- */

static void
fs_flush(struct flowstore *fs)
{
	struct fs_batch *b = fs->batch;

	if (b == NULL || (b->nrecs == 0 && b->ndenies == 0 && b->nseen == 0 && b->nraw == 0))
		return;
	fs->batch = fs_batch_new((size_t)fs->conf.max_keys);
	fs->batch_started = fs_now_ms();
	if (fs->db == NULL) {
		fs_batch_free(b);
		return;
	}
	(void)fs_db_push(fs->db, b); /* a full queue frees and counts it */
}

static void
fs_staged_count(struct flowstore *fs, const struct bw_flow *f)
{
	const struct bw_flow_endpoint *local =
		f->traffic_direction == BW_FLOW_TRAFFIC_INGRESS ? &f->destination : &f->source;
	const char *ns = local->ns != NULL && *local->ns ? local->ns : "_none";
	const char *verdict = f->staged_verdict == BW_FLOW_VERDICT_DROPPED ? "DROPPED"
									   : "FORWARDED";
	int passed = f->verdict != BW_FLOW_VERDICT_DROPPED;
	const char *change = f->staged_verdict == BW_FLOW_VERDICT_DROPPED
				     ? (passed ? "would_drop" : "none")
				     : (passed ? "none" : "would_allow");
	char key[512];
	json_t *v;

	snprintf(key, sizeof(key), "%s\t%s\t%s", ns, verdict, change);
	if ((v = json_object_get(fs->staged_counts, key)) != NULL) {
		json_integer_set(v, json_integer_value(v) + 1);
		return;
	}
	/* a new series: bounded, past max_namespaces namespaces "_other" */
	if (json_object_get(fs->staged_ns, ns) == NULL) {
		if (json_object_size(fs->staged_ns) >= (size_t)fs->conf.max_namespaces)
			ns = "_other";
		json_object_set_new(fs->staged_ns, ns, json_true());
	}
	snprintf(key, sizeof(key), "%s\t%s\t%s", ns, verdict, change);
	v = json_object_get(fs->staged_counts, key);
	json_object_set_new(fs->staged_counts, key,
			    json_integer(v != NULL ? json_integer_value(v) + 1 : 1));
}

/* One record of a connection check; policies "" when none. */
static void
fs_record(struct flowstore *fs, const struct bw_flow *f, int dir, int verdict,
	  const char *policies)
{
	char src[320], dst[320];
	const char *src_ns, *dst_ns;
	int64_t ms = (int64_t)(f->time_ns / 1000000);
	struct fs_rec r;
	int sk, dk;

	memset(&r, 0, sizeof(r));
	sk = bw_flowpeer_name(&f->source, f->src_ip, src, sizeof(src), &src_ns);
	dk = bw_flowpeer_name(&f->destination, f->dst_ip, dst, sizeof(dst), &dst_ns);
	r.bucket = ms - ms % fs->conf.bucket;
	r.src = src;
	r.dst = dst;
	r.src_ns = (char *)src_ns;
	r.dst_ns = (char *)dst_ns;
	r.src_kind = (uint8_t)sk;
	r.dst_kind = (uint8_t)dk;
	r.port = bw_flowpeer_port(f);
	r.proto = f->protocol;
	r.dir = (uint8_t)dir;
	r.verdict = (uint8_t)verdict;
	r.policies = (char *)policies;
	r.count = 1;
	r.first = r.last = ms;
	if (fs_batch_add(fs->batch, &r) < 0)
		return;
	fs->records++;
	if (verdict != BW_FLOW_VERDICT_DROPPED) {
		int path = -1;
		const char *w = NULL;

		if (dir == BW_FLOW_TRAFFIC_INGRESS && dk == BW_PEER_POD) {
			w = dst;
			if (sk == BW_PEER_WORLD)
				path = FS_PATH_INGRESS_WORLD;
			else if (sk == BW_PEER_POD && src_ns != NULL && dst_ns != NULL &&
				 strcmp(src_ns, dst_ns))
				path = FS_PATH_INGRESS_OTHER_NS;
		} else if (dir == BW_FLOW_TRAFFIC_EGRESS && sk == BW_PEER_POD &&
			   dk == BW_PEER_WORLD) {
			w = src;
			path = FS_PATH_EGRESS_WORLD;
		}
		if (path >= 0) {
			fs_batch_seen(fs->batch, w, path, ms);
			fs_seen_table_note(&fs->seen, w, path, ms);
		}
	}
	if (fs->batch->nrecs >= (size_t)fs->conf.max_keys)
		fs_flush(fs);
}

static void
fs_on_flow(const struct bw_flow *f, void *ud)
{
	struct flowstore *fs = ud;
	char pols[2048];
	int recorded = 0;

	if (!fs->running || fs->batch == NULL)
		return;
	fs->flows_seen++;
	if (f->type != BW_FLOW_TYPE_L3_L4 || f->ip_version == 0)
		return;
	if (BW_FLOW_HAS(f, n_staged_by) && f->staged_verdict != BW_FLOW_VERDICT_UNKNOWN)
		fs_staged_count(fs, f);
	if (f->event_type == BW_FLOW_EVENT_POLICY_VERDICT) {
		const struct bw_flow_endpoint *local =
			f->traffic_direction == BW_FLOW_TRAFFIC_INGRESS ? &f->destination
									: &f->source;

		bw_flowpeer_policies(f, pols, sizeof(pols));
		fs_record(fs, f, f->traffic_direction, f->verdict, pols);
		recorded = 1;
		if ((f->verdict == BW_FLOW_VERDICT_DROPPED || f->verdict == BW_FLOW_VERDICT_AUDIT) &&
		    local->pod_name != NULL && local->ns != NULL) {
			char ep[320];

			snprintf(ep, sizeof(ep), "%s/%s", local->ns, local->pod_name);
			fs_batch_deny(fs->batch, (int64_t)(f->time_ns / 1000000) -
						 (int64_t)(f->time_ns / 1000000) % fs->conf.bucket,
				      ep, (uint8_t)f->traffic_direction, (uint8_t)f->verdict);
		}
	} else if (f->event_type == BW_FLOW_EVENT_TRACE && (f->flags & BW_FLOW_F_CT_NEW) &&
		   f->is_reply != 1 &&
		   (f->trace_observation_point == BW_FLOW_OBS_TO_ENDPOINT ||
		    (f->trace_observation_point == BW_FLOW_OBS_FROM_ENDPOINT &&
		     f->destination.id == 0))) {
		if (f->destination.id != 0 && !(f->flags & BW_FLOW_F_INGRESS_ENFORCED)) {
			fs_record(fs, f, BW_FLOW_TRAFFIC_INGRESS, BW_FLOW_VERDICT_FORWARDED, "");
			recorded = 1;
		}
		if (f->source.id != 0 && !(f->flags & BW_FLOW_F_EGRESS_ENFORCED)) {
			fs_record(fs, f, BW_FLOW_TRAFFIC_EGRESS, BW_FLOW_VERDICT_FORWARDED, "");
			recorded = 1;
		}
	}
	if (recorded && fs->conf.raw) {
		char *line = NULL;

		if (fs->api->flow_to_json(f, &line) == 0) {
			fs_batch_raw(fs->batch, line, (int64_t)(f->time_ns / 1000000));
			free(line);
		}
	}
}

/* ---- the timer: flush, and report what the thread cannot log ----------------------- */

static void
fs_report(struct flowstore *fs)
{
	struct fs_db_stats st;

	if (fs->db == NULL)
		return;
	fs_db_stats(fs->db, &st);
	fs->last_stats = st;
	if (st.notice_seq != fs->reported_notice_seq) {
		fs_log(fs, BW_LOG_WARNING, "%s", st.notice);
		fs->reported_notice_seq = st.notice_seq;
	}
	if (st.error_seq != fs->reported_error_seq) {
		fs_log(fs, BW_LOG_ERR, "%s", st.error);
		fs->reported_error_seq = st.error_seq;
	}
	if (st.dropped_flows + st.lost_write_flows > fs->reported_dropped) {
		fs_log(fs, BW_LOG_WARNING,
		       "%" PRIu64 " flow records were not stored (the writer's queue was full "
		       "or the database could not be written; %" PRIu64 " in total)",
		       st.dropped_flows + st.lost_write_flows - fs->reported_dropped,
		       st.dropped_flows + st.lost_write_flows);
		fs->reported_dropped = st.dropped_flows + st.lost_write_flows;
	}
}

static void
fs_tick(evutil_socket_t fd, short what, void *arg)
{
	struct flowstore *fs = arg;

	int64_t now = fs_now_ms();

	(void)fd;
	(void)what;
	fs_flush(fs);
	fs_report(fs);
	/* workloads gone for longer than the retention leave the seen table */
	if (now - fs->pruned_at >= 60000) {
		fs_seen_table_prune(&fs->seen, now - fs->conf.retention);
		fs->pruned_at = now;
	}
}

static void
fs_done_ready(evutil_socket_t fd, short what, void *arg)
{
	struct flowstore *fs = arg;

	(void)fd;
	(void)what;
	if (fs->db != NULL)
		fs_db_complete(fs->db);
}

/* The stored exposure paths, loaded once at start. */
static void
fs_seen_loaded(struct fs_query *q)
{
	struct flowstore *fs = q->arg;
	size_t i;
	json_t *row;

	if (q->result != NULL) {
		json_array_foreach(q->result, i, row)
			fs_seen_table_note(&fs->seen, json_string_value(json_array_get(row, 0)),
					   (int)json_integer_value(json_array_get(row, 1)),
					   json_integer_value(json_array_get(row, 2)));
	}
	fs->seen_loaded = 1;
	fs_query_free(q);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void
fs_free(struct flowstore *fs)
{
	for (size_t i = 0; i < sizeof(fs_all) / sizeof(*fs_all); i++)
		if (fs_all[i] == fs)
			fs_all[i] = NULL;
	if (fs->tick != NULL)
		event_free(fs->tick);
	if (fs->done_ev != NULL)
		event_free(fs->done_ev);
	fs_db_stop(fs->db);
	fs_batch_free(fs->batch);
	fs_seen_table_clear(&fs->seen);
	json_decref(fs->staged_counts);
	json_decref(fs->staged_ns);
	json_decref(fs->gauges);
	free(fs->path);
	free(fs);
}

static void
fs_free_cb(void *arg)
{
	fs_free(arg);
}

static char *
fs_resolve_path(struct flowstore *fs, const char *path)
{
	const char *dir;
	char *out;

	if (path[0] == '/')
		return strdup(path);
	if ((dir = fs->api->state_dir(fs->ctx)) == NULL) {
		fs_log(fs, BW_LOG_ERR, "path: no state directory for the relative path '%s': %s",
		       path, strerror(errno));
		return NULL;
	}
	if (asprintf(&out, "%s/%s", dir, path) < 0)
		return NULL;
	return out;
}

static int
fs_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf)
{
	const struct fs_conf *c = conf;
	struct flowstore *fs;
	size_t slot;
	int rc;

	if (!BW_API_HAS(api, flow_subscribe) || !BW_API_HAS(api, reply_later) ||
	    !BW_API_HAS(api, policy_reach) || !BW_API_HAS(api, endpoint_walk)) {
		api->log(ctx, BW_LOG_ERR, "this bulwarkd is older than the flowstore module "
			 "(it needs module ABI 1.2)");
		return -ENOTSUP;
	}
	for (slot = 0; slot < sizeof(fs_all) / sizeof(*fs_all) && fs_all[slot]; slot++)
		;
	if (slot == sizeof(fs_all) / sizeof(*fs_all)) {
		api->log(ctx, BW_LOG_ERR, "too many flowstore instances");
		return -ENOSPC;
	}
	if ((fs = calloc(1, sizeof(*fs))) == NULL)
		return -ENOMEM;
	fs->api = api;
	fs->ctx = ctx;
	fs->instance = api->instance_name(ctx);
	fs->conf = *c;
	fs->conf.path = NULL;
	fs->done_fd = -1;
	fs_all[slot] = fs;
	if ((fs->path = fs_resolve_path(fs, c->path)) == NULL ||
	    fs_seen_table_init(&fs->seen) < 0 ||
	    (fs->staged_counts = json_object()) == NULL ||
	    (fs->staged_ns = json_object()) == NULL ||
	    (fs->batch = fs_batch_new((size_t)c->max_keys)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = fs_api_init(fs)) < 0 || (rc = fs_history_provider_init(fs)) < 0)
		goto fail;
	if ((rc = api->metrics_register(ctx, fs_metrics_collect, fs, NULL)) < 0)
		goto fail;
	/* the subscription owns fs: the core frees it with the instance */
	if ((rc = api->flow_subscribe(ctx, fs_on_flow, fs, fs_free_cb)) < 0)
		goto fail;
	api->set_data(ctx, fs);
	return 0;
fail:
	fs_free(fs);
	return rc;
}

static int
fs_start(bw_module_ctx *ctx)
{
	struct flowstore *fs = fs_of(ctx);
	struct fs_db_settings s;
	struct timeval tv;
	struct fs_query *q;
	int rc;

	if (fs == NULL)
		return -ENOENT;
	fs_settings(fs, &fs->conf, &s);
	if ((rc = fs_db_start(&fs->db, &s, &fs->done_fd)) < 0) {
		fs_log(fs, BW_LOG_ERR, "cannot start the database thread: %s", strerror(-rc));
		return rc;
	}
	fs->done_ev = event_new(fs->api->event_base(ctx), fs->done_fd, EV_READ | EV_PERSIST,
				fs_done_ready, fs);
	tv.tv_sec = fs->conf.flush_interval / 1000;
	tv.tv_usec = (fs->conf.flush_interval % 1000) * 1000;
	fs->tick = event_new(fs->api->event_base(ctx), -1, EV_PERSIST, fs_tick, fs);
	if (fs->done_ev == NULL || fs->tick == NULL || event_add(fs->done_ev, NULL) < 0 ||
	    event_add(fs->tick, &tv) < 0) {
		fs_log(fs, BW_LOG_ERR, "cannot start the flowstore's events");
		return -ENOMEM;
	}
	if ((q = calloc(1, sizeof(*q))) != NULL) {
		q->kind = FS_Q_SEEN;
		q->done = fs_seen_loaded;
		q->arg = fs;
		fs_db_query(fs->db, q);
	}
	fs->batch_started = fs_now_ms();
	fs->running = 1;
	fs_log(fs, BW_LOG_INFO, "keeping flow history in %s (retention %" PRId64 " s, "
	       "max %" PRId64 " MiB, buckets of %" PRId64 " s)", fs->path,
	       fs->conf.retention / 1000, fs->conf.max_size >> 20, fs->conf.bucket / 1000);
	return 0;
}

static int
fs_reload(bw_module_ctx *ctx, const void *new_conf)
{
	struct flowstore *fs = fs_of(ctx);
	const struct fs_conf *c = new_conf;
	struct fs_db_settings s;

	if (fs == NULL)
		return -ENOENT;
	fs->conf.retention = c->retention;
	fs->conf.raw_retention = c->raw_retention;
	fs->conf.max_size = c->max_size;
	fs->conf.queue_size = c->queue_size;
	fs->conf.window = c->window;
	fs->conf.max_namespaces = c->max_namespaces;
	fs_settings(fs, &fs->conf, &s);
	if (fs->db != NULL)
		fs_db_settings_update(fs->db, &s);
	json_decref(fs->gauges);
	fs->gauges = NULL;
	fs_log(fs, BW_LOG_INFO, "reloaded: retention %" PRId64 " s, max %" PRId64 " MiB",
	       c->retention / 1000, c->max_size >> 20);
	return 0;
}

static void
fs_stop(bw_module_ctx *ctx)
{
	struct flowstore *fs = fs_of(ctx);
	struct fs_db_stats st;

	if (fs == NULL)
		return;
	fs->running = 0;
	if (fs->tick != NULL) {
		event_free(fs->tick);
		fs->tick = NULL;
	}
	fs_flush(fs);
	if (fs->db == NULL)
		return;
	if (fs->done_ev != NULL) {
		event_free(fs->done_ev);
		fs->done_ev = NULL;
	}
	fs_report(fs);
	fs_db_stop(fs->db); /* writes what is queued */
	fs->db = NULL;
	st = fs->last_stats;
	fs_log(fs, BW_LOG_INFO, "closed %s: %" PRIu64 " flow records stored this run",
	       fs->path, st.flows);
}

BW_MODULE_DEFINE(
	.name = "flowstore",
	.version = "1.0",
	.description = "durable flow history (SQLite), exposure and compliance",
	.conf_keys = fs_keys,
	.conf_size = sizeof(struct fs_conf),
	.init = fs_init,
	.start = fs_start,
	.reload = fs_reload,
	.stop = fs_stop,
	.check = fs_check,
);
