/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/modules/test-full.c - a module that uses every entry point of the
 * module ABI, for the loader tests (and as an example for authors).
 *
 * It declares a key of each config type, logs each lifecycle call, keeps
 * a counter per call in its instance data, serves GET /v1/test-full/<inst>
 * (its config and counters as JSON) and GET /v1/test-full/<inst>/stream (3
 * NDJSON lines), exports a metric, and writes a file in its state dir.
 * reload() refuses (-ENOTSUP) a new config whose refuse_reload is true.
 *
 * ABI 1.2: GET /v1/test-full/<inst>/later is answered only when
 * GET /v1/test-full/<inst>/release comes (reply_later); each instance
 * subscribes to the alert bus (alert_subscribe) and counts what it gets,
 * and GET /v1/test-full/<inst>/alert publishes one record (alert_publish);
 * GET /v1/test-full/<inst>/endpoints counts endpoint_walk's endpoints.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bulwark/module.h>

struct full_conf {
	int enabled;
	int64_t count;
	int64_t buffer;
	int64_t interval;
	char *greeting;
	int color;
	int refuse_reload;
	int fail_start;
};

struct full_state {
	const struct bw_core_api *api;
	bw_module_ctx *ctx;
	const struct full_conf *conf;
	int inits, starts, reloads, stops;
	char route[128], stream[128];
	bw_api_request *waiting;   /* a request answered later */
	int alerts_seen;
	char last_alert[256];
};

/* The core's table is the same for every instance. */
static const struct bw_core_api *full_api;

static const char *const full_colors[] = { "red", "green", "blue", NULL };

static const struct bw_conf_key full_keys[] = {
	{ "enabled", BW_CONF_BOOL, "true", offsetof(struct full_conf, enabled),
	  0, 0, NULL, BW_CONF_F_RELOADABLE, "a boolean" },
	{ "count", BW_CONF_INT, "3", offsetof(struct full_conf, count),
	  1, 100, NULL, BW_CONF_F_RELOADABLE, "an integer in [1, 100]" },
	{ "buffer", BW_CONF_SIZE, "64k", offsetof(struct full_conf, buffer),
	  0, 0, NULL, 0, "a size (not reloadable)" },
	{ "interval", BW_CONF_DURATION, "30s", offsetof(struct full_conf, interval),
	  0, 0, NULL, BW_CONF_F_RELOADABLE, "a duration" },
	{ "greeting", BW_CONF_STRING, "hello", offsetof(struct full_conf, greeting),
	  0, 0, NULL, BW_CONF_F_RELOADABLE, "a string" },
	{ "color", BW_CONF_ENUM, "green", offsetof(struct full_conf, color),
	  0, 0, full_colors, BW_CONF_F_RELOADABLE, "an enum" },
	{ "refuse_reload", BW_CONF_BOOL, "false",
	  offsetof(struct full_conf, refuse_reload), 0, 0, NULL,
	  BW_CONF_F_RELOADABLE, "reload() answers -ENOTSUP when true" },
	{ "fail_start", BW_CONF_BOOL, "false",
	  offsetof(struct full_conf, fail_start), 0, 0, NULL, 0,
	  "start() fails when true" },
	BW_CONF_KEY_END,
};

static char *
full_json(struct full_state *st)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (f == NULL)
		return NULL;
	fprintf(f,
		"{\"module\":\"%s\",\"instance\":\"%s\",\"greeting\":\"%s\","
		"\"enabled\":%s,\"count\":%lld,\"buffer\":%lld,\"interval_ms\":%lld,"
		"\"color\":\"%s\",\"inits\":%d,\"starts\":%d,\"reloads\":%d,"
		"\"same_conf\":%s,\"alerts_seen\":%d}",
		st->api->module_name(st->ctx), st->api->instance_name(st->ctx),
		st->conf->greeting, st->conf->enabled ? "true" : "false",
		(long long)st->conf->count, (long long)st->conf->buffer,
		(long long)st->conf->interval, full_colors[st->conf->color],
		st->inits, st->starts, st->reloads,
		st->api->conf(st->ctx) == st->conf ? "true" : "false", st->alerts_seen);
	fclose(f);
	return out;
}

static int
full_get(bw_api_request *req, void *user_data)
{
	struct full_state *st = user_data;
	const char *q = st->api->req_query(req, "fail");
	char *json;
	int rc;

	if (q != NULL)
		return st->api->reply_error(req, 409, "asked to fail: %s", q);
	if ((json = full_json(st)) == NULL)
		return -ENOMEM;
	rc = st->api->reply_json(req, 200, json);
	free(json);
	return rc;
}

static int
full_stream(bw_api_request *req, void *user_data)
{
	struct full_state *st = user_data;
	char line[64];

	st->api->stream_begin(req);
	for (int i = 1; i <= 3; i++) {
		snprintf(line, sizeof(line), "{\"n\":%d}", i);
		st->api->stream_line(req, line);
	}
	return st->api->stream_end(req);
}

/* ABI 1.2: answer later (when /release comes) */
static int
full_later(bw_api_request *req, void *user_data)
{
	struct full_state *st = user_data;

	if (!BW_API_HAS(st->api, reply_later))
		return st->api->reply_error(req, 501, "no reply_later in this daemon");
	if (st->waiting != NULL)
		return st->api->reply_error(req, 409, "a request is waiting already");
	st->waiting = req;
	return st->api->reply_later(req);
}

static int
full_release(bw_api_request *req, void *user_data)
{
	struct full_state *st = user_data;
	int waited = st->waiting != NULL;

	if (waited) {
		st->api->reply_json(st->waiting, 200, "{\"answered\":\"later\"}");
		st->waiting = NULL;
	}
	return st->api->reply_json(req, 200, waited ? "{\"released\":1}" : "{\"released\":0}");
}

/* ABI 1.2: the alert bus */
static void
full_on_alert(const char *json, void *user_data)
{
	struct full_state *st = user_data;

	st->alerts_seen++;
	snprintf(st->last_alert, sizeof(st->last_alert), "%s", json);
}

static int
full_alert(bw_api_request *req, void *user_data)
{
	struct full_state *st = user_data;
	char rec[256], reply[64];
	int n;

	snprintf(rec, sizeof(rec), "{\"source\":\"%s\",\"count\":1}",
		 st->api->instance_name(st->ctx));
	n = st->api->alert_publish(st->ctx, rec);
	snprintf(reply, sizeof(reply), "{\"subscribers\":%d}", n);
	return st->api->reply_json(req, 200, reply);
}

static void
full_count_ep(const struct bw_endpoint_view *ep, void *arg)
{
	if (ep->size >= sizeof(*ep) && ep->ns != NULL && ep->pod != NULL)
		(*(int *)arg)++;
}

static int
full_endpoints(bw_api_request *req, void *user_data)
{
	struct full_state *st = user_data;
	char reply[64];
	int n = 0;

	st->api->endpoint_walk(full_count_ep, &n);
	snprintf(reply, sizeof(reply), "{\"endpoints\":%d}", n);
	return st->api->reply_json(req, 200, reply);
}

static void
full_collect(bw_metrics_out *out, void *user_data)
{
	struct full_state *st = user_data;

	st->api->metrics_printf(out,
				"# TYPE test_full_inits gauge\n"
				"test_full_inits{instance=\"%s\"} %d\n",
				st->api->instance_name(st->ctx), st->inits);
}

static void
full_route_free(void *user_data)
{
	(void)user_data; /* the state is freed by fini() */
}

static int
full_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf)
{
	struct full_state *st;
	const char *dir;
	char path[512];
	FILE *f;
	int rc;

	if (!BW_API_HAS(api, metrics_printf) || !BW_API_HAS(api, conf))
		return -ENOTSUP;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return -ENOMEM;
	full_api = api;
	st->api = api;
	st->ctx = ctx;
	st->conf = conf;
	st->inits++;
	api->set_data(ctx, st);
	if (api->get_data(ctx) != st || api->event_base(ctx) == NULL) {
		free(st);
		return -EINVAL;
	}
	snprintf(st->route, sizeof(st->route), "/v1/test-full/%s",
		 api->instance_name(ctx));
	snprintf(st->stream, sizeof(st->stream), "/v1/test-full/%s/stream",
		 api->instance_name(ctx));
	if ((rc = api->api_route(ctx, "GET", st->route, full_get, st,
				 full_route_free)) < 0 ||
	    (rc = api->api_route(ctx, "GET", st->stream, full_stream, st,
				 NULL)) < 0 ||
	    (rc = api->metrics_register(ctx, full_collect, st, NULL)) < 0) {
		free(st);
		return rc;
	}
	if (BW_API_HAS(api, alert_subscribe)) {
		static const char *const sub[] = { "later", "release", "alert", "endpoints" };
		static bw_api_handler const fn[] = { full_later, full_release, full_alert,
						     full_endpoints };
		char sp[160];

		for (size_t i = 0; i < 4; i++) {
			snprintf(sp, sizeof(sp), "%s/%s", st->route, sub[i]);
			if ((rc = api->api_route(ctx, "GET", sp, fn[i], st, NULL)) < 0) {
				free(st);
				return rc;
			}
		}
		if ((rc = api->alert_subscribe(ctx, full_on_alert, st, NULL)) < 0) {
			free(st);
			return rc;
		}
	}
	if ((dir = api->state_dir(ctx)) != NULL) {
		snprintf(path, sizeof(path), "%s/greeting", dir);
		if ((f = fopen(path, "w")) != NULL) {
			fprintf(f, "%s\n", st->conf->greeting);
			fclose(f);
		}
	}
	api->log(ctx, BW_LOG_NOTICE, "init: greeting=%s count=%lld",
		 st->conf->greeting, (long long)st->conf->count);
	return 0;
}

static int
full_start(bw_module_ctx *ctx)
{
	struct full_state *st = full_api->get_data(ctx);

	st->starts++;
	full_api->log(ctx, BW_LOG_NOTICE, "start");
	if (st->conf->fail_start) {
		full_api->log(ctx, BW_LOG_ERR, "start: failing as configured");
		return -EBUSY;
	}
	return 0;
}

static int
full_reload(bw_module_ctx *ctx, const void *new_conf)
{
	struct full_state *st = full_api->get_data(ctx);
	const struct full_conf *nc = new_conf;

	if (nc->refuse_reload) {
		full_api->log(ctx, BW_LOG_NOTICE, "reload: refusing");
		return -ENOTSUP;
	}
	st->conf = nc; /* the core frees the old config after we return 0 */
	st->reloads++;
	full_api->log(ctx, BW_LOG_NOTICE, "reload: greeting=%s", nc->greeting);
	return 0;
}

static void
full_stop(bw_module_ctx *ctx)
{
	full_api->log(ctx, BW_LOG_NOTICE, "stop");
}

static void
full_fini(bw_module_ctx *ctx)
{
	struct full_state *st = full_api->get_data(ctx);

	full_api->log(ctx, BW_LOG_NOTICE, "fini");
	free(st);
}

BW_MODULE_DEFINE(
	.name = "test-full",
	.version = "1.2.3",
	.description = "exercises every module entry point",
	.conf_keys = full_keys,
	.conf_size = sizeof(struct full_conf),
	.init = full_init,
	.start = full_start,
	.reload = full_reload,
	.stop = full_stop,
	.fini = full_fini,
);
