/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/flowlog/flowlog.c - the flow log exporter: flows to a JSONL file,
 * the way Hubble's file exporter writes them.
 *
 * One instance per section ([flowlog], [flowlog:denied], ...). Each
 * subscribes to the flow pipeline, keeps the flows that pass its allowlist
 * and denylist (Hubble FlowFilters, matched by lib/flowfilter.c compiled
 * into the module), renders each as the GetFlowsResponse line `bulwark
 * observe -o json` prints (bw_core_api.flow_to_json), optionally reduced to
 * a field mask, and hands the line to its writer (flowlog_writer.c): a
 * thread that owns the file, behind a bounded queue, so the event loop
 * never waits for the disk. Only live flows are written, never the flow
 * ring's history, so a restart neither loses nor repeats lines.
 *
 * The filters and the field mask are checked by the module's check() hook
 * (one function shared with init and reload), so a bad one is a config
 * error naming the file, line and key: `bulwarkd -n` and a start refuse
 * it, and SIGHUP keeps the running configuration.
 *
 * Filters, the field mask, the rotation limits and the queue size change
 * on SIGHUP; the path needs a restart. Lines dropped because the queue was
 * full are logged (once per second at most) and counted in
 * bulwark_flowlog_dropped_total{instance}.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include <bulwark/flow.h>
#include <bulwark/module.h>

#include "lib/flowfilter.h"
#include "lib/flowjson.h"
#include "flowlog.h"

struct flowlog_conf {
	char *path;
	int64_t max_size;
	int64_t max_backups;
	char *allowlist;
	char *denylist;
	char *field_mask;
	int64_t queue_size;
};

static const struct bw_conf_key flowlog_keys[] = {
	{ "path", BW_CONF_STRING, "events.log",
	  offsetof(struct flowlog_conf, path), 0, 0, NULL, 0,
	  "the JSONL file; a relative path is under the instance's state directory" },
	{ "max_size", BW_CONF_SIZE, "10M",
	  offsetof(struct flowlog_conf, max_size), 1024, INT64_C(1) << 40, NULL,
	  BW_CONF_F_RELOADABLE, "rotate the file before it grows past this size" },
	{ "max_backups", BW_CONF_INT, "5",
	  offsetof(struct flowlog_conf, max_backups), 0, 1000, NULL,
	  BW_CONF_F_RELOADABLE,
	  "rotated files kept (PATH.1 newest .. PATH.N oldest); 0 = none" },
	/*
	 * By default the log holds what needs attention (drops, audited
	 * would-be drops, errors), which keeps its cost and size bounded by
	 * the denied traffic rather than by all traffic; an empty value logs
	 * every flow.
	 */
	{ "allowlist", BW_CONF_STRING, "{\"verdict\":[\"DROPPED\",\"AUDIT\",\"ERROR\"]}",
	  offsetof(struct flowlog_conf, allowlist), 0, 0, NULL,
	  BW_CONF_F_RELOADABLE,
	  "Hubble FlowFilters (JSON objects, comma-separated, or an array): log only matching flows; empty = every flow" },
	{ "denylist", BW_CONF_STRING, "",
	  offsetof(struct flowlog_conf, denylist), 0, 0, NULL,
	  BW_CONF_F_RELOADABLE,
	  "Hubble FlowFilters: never log flows matching any of them" },
	{ "field_mask", BW_CONF_STRING, "",
	  offsetof(struct flowlog_conf, field_mask), 0, 0, NULL,
	  BW_CONF_F_RELOADABLE,
	  "Flow field paths to keep, space-separated (e.g. time verdict source.pod_name); empty = all" },
	{ "queue_size", BW_CONF_SIZE, "4M",
	  offsetof(struct flowlog_conf, queue_size), 65536, INT64_C(1) << 30,
	  NULL, BW_CONF_F_RELOADABLE,
	  "bytes of lines waiting for the writer thread; beyond it lines are dropped and counted" },
	BW_CONF_KEY_END,
};

struct flowlog {
	const struct bw_core_api *api;
	bw_module_ctx *ctx;
	const char *instance;
	char *path;                     /* resolved */
	struct bw_flowfilters filters;
	struct bw_flowmask *mask;
	struct flowlog_writer *w;
	struct event *tick;
	int running;
	uint64_t matched;               /* flows that passed the filters */
	uint64_t render_errors;
	uint64_t reported_dropped;      /* dropped count last logged */
	uint64_t reported_lost;
	unsigned reported_error_seq;
	struct flowlog *next;           /* every instance, for metrics */
};

/* Every running instance of the module: one collector prints them all. */
static struct flowlog *flowlog_all;

#define flowlog_log(fl, lvl, ...) (fl)->api->log((fl)->ctx, (lvl), __VA_ARGS__)

/* ---- config ----------------------------------------------------------------- */

/*
 * One filter list key: text -> parsed filters. The message names the
 * filter ("filter 2: unsupported FlowFilter field 'verdct'"); the caller
 * names the key.
 */
static int
flowlog_parse_list(const char *text, struct bw_flowfilter ***out, size_t *n,
		   char *err, size_t errlen)
{
	char msg[512];
	json_t *list, *v;
	size_t i;

	*out = NULL;
	*n = 0;
	if ((list = flowlog_filters_text(text, err, errlen)) == NULL)
		return -EINVAL;
	if (json_array_size(list) > 0 &&
	    (*out = calloc(json_array_size(list), sizeof(**out))) == NULL) {
		json_decref(list);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_array_foreach(list, i, v) {
		if (bw_flowfilter_parse(v, &(*out)[i], msg, sizeof(msg)) < 0) {
			snprintf(err, errlen, "filter %zu: %s", i + 1, msg);
			while (i-- > 0)
				bw_flowfilter_free((*out)[i]);
			free(*out);
			*out = NULL;
			json_decref(list);
			return -EINVAL;
		}
	}
	*n = json_array_size(list);
	json_decref(list);
	return 0;
}

/*
 * The one check of the keys that are more than numbers (path, allowlist,
 * denylist, field_mask), shared by check(), init() and reload(): parse
 * them into fs and mask, or only check them when fs is NULL. Returns 0, or
 * a negative errno with the message in err and the key's name in *key.
 */
static int
flowlog_conf_parse(const struct flowlog_conf *c, struct bw_flowfilters *fs,
		   struct bw_flowmask **mask, char *err, size_t errlen,
		   const char **key)
{
	struct bw_flowfilters tmp_fs;
	struct bw_flowmask *tmp_mask;
	int rc;

	if (fs == NULL) {
		fs = &tmp_fs;
		mask = &tmp_mask;
	}
	memset(fs, 0, sizeof(*fs));
	*mask = NULL;
	if (c->path == NULL || c->path[0] == '\0') {
		*key = "path";
		snprintf(err, errlen, "must not be empty");
		return -EINVAL;
	}
	*key = "allowlist";
	if ((rc = flowlog_parse_list(c->allowlist, &fs->allow, &fs->n_allow,
				     err, errlen)) < 0)
		goto fail;
	*key = "denylist";
	if ((rc = flowlog_parse_list(c->denylist, &fs->deny, &fs->n_deny,
				     err, errlen)) < 0)
		goto fail;
	*key = "field_mask";
	if ((rc = bw_flowmask_parse(c->field_mask, mask, err, errlen)) < 0)
		goto fail;
	*key = NULL;
	if (fs == &tmp_fs) {
		bw_flowfilters_clear(fs);
		bw_flowmask_free(*mask);
	}
	return 0;
fail:
	bw_flowfilters_clear(fs);
	return rc;
}

/* check() (ABI 1.1): the daemon's config error, before init and reload. */
static int
flowlog_check(const void *conf, char *err, size_t errlen, const char **key)
{
	return flowlog_conf_parse(conf, NULL, NULL, err, errlen, key);
}

/* The same check in init() and reload(), logged naming the key. */
static int
flowlog_parse_conf(struct flowlog *fl, const struct flowlog_conf *c,
		   struct bw_flowfilters *fs, struct bw_flowmask **mask)
{
	char err[512];
	const char *key = NULL;
	int rc;

	rc = flowlog_conf_parse(c, fs, mask, err, sizeof(err), &key);
	if (rc < 0)
		flowlog_log(fl, BW_LOG_ERR, "[%s] %s: %s", fl->instance,
			    key != NULL ? key : "?", err);
	return rc;
}

static char *
flowlog_resolve_path(struct flowlog *fl, const char *path)
{
	const char *dir;
	char *out;

	if (path[0] == '/') /* not empty: flowlog_conf_parse() */
		return strdup(path);
	if ((dir = fl->api->state_dir(fl->ctx)) == NULL) {
		flowlog_log(fl, BW_LOG_ERR, "[%s] path: no state directory for "
			    "the relative path '%s': %s", fl->instance, path,
			    strerror(errno));
		return NULL;
	}
	if (asprintf(&out, "%s/%s", dir, path) < 0)
		return NULL;
	return out;
}

/* ---- flows ------------------------------------------------------------------ */

static void
flowlog_on_flow(const struct bw_flow *f, void *ud)
{
	struct flowlog *fl = ud;
	char *line = NULL;
	int rc;

	if (!fl->running || fl->w == NULL)
		return;
	if (!bw_flowfilters_match(&fl->filters, f))
		return;
	fl->matched++;
	/* the mask, parsed once, goes into the writer: no text round trip */
	rc = fl->mask != NULL ? bw_flowjson_text_masked(f, fl->mask, &line)
			      : fl->api->flow_to_json(f, &line);
	if (rc < 0) {
		fl->render_errors++;
		return;
	}
	(void)flowlog_writer_push(fl->w, line, strlen(line));
	free(line);
}

/* Once a second: report what the writer thread cannot log itself. */
static void
flowlog_tick_report(struct flowlog *fl, const struct flowlog_writer_stats *s)
{
	const struct flowlog_writer_stats st = *s;

	if (st.dropped > fl->reported_dropped) {
		flowlog_log(fl, BW_LOG_WARNING,
			    "queue full (queue_size): dropped %" PRIu64
			    " flow lines (%" PRIu64 " in total)",
			    st.dropped - fl->reported_dropped, st.dropped);
		fl->reported_dropped = st.dropped;
	}
	if (st.error_seq != fl->reported_error_seq) {
		flowlog_log(fl, BW_LOG_ERR, "%s", st.error);
		fl->reported_error_seq = st.error_seq;
	}
	if (st.write_errors > fl->reported_lost) {
		flowlog_log(fl, BW_LOG_ERR, "%" PRIu64 " flow lines could not "
			    "be written to %s", st.write_errors - fl->reported_lost,
			    fl->path);
		fl->reported_lost = st.write_errors;
	}
}

static void
flowlog_tick(evutil_socket_t fd, short what, void *arg)
{
	struct flowlog *fl = arg;
	struct flowlog_writer_stats st;

	(void)fd;
	(void)what;
	if (fl->w == NULL)
		return;
	flowlog_writer_stats(fl->w, &st);
	flowlog_tick_report(fl, &st);
}

/* ---- metrics and status --------------------------------------------------------- */

static const struct {
	const char *name, *type, *help;
} flowlog_metrics[] = {
	{ "bulwark_flowlog_lines_total", "counter",
	  "Flow lines written to the flow log file." },
	{ "bulwark_flowlog_bytes_total", "counter",
	  "Bytes written to the flow log file." },
	{ "bulwark_flowlog_dropped_total", "counter",
	  "Flow lines dropped because the writer's queue was full." },
	{ "bulwark_flowlog_write_errors_total", "counter",
	  "Flow lines lost because writing the file failed." },
	{ "bulwark_flowlog_rotations_total", "counter",
	  "Flow log files rotated." },
	{ "bulwark_flowlog_queue_bytes", "gauge",
	  "Bytes of flow lines waiting for the writer thread." },
};

static uint64_t
flowlog_metric_value(size_t i, const struct flowlog_writer_stats *st)
{
	switch (i) {
	case 0: return st->lines;
	case 1: return st->bytes;
	case 2: return st->dropped;
	case 3: return st->write_errors;
	case 4: return st->rotations;
	default: return st->queued;
	}
}

static void
flowlog_collect(bw_metrics_out *out, void *ud)
{
	struct flowlog *fl = ud;
	size_t n = sizeof(flowlog_metrics) / sizeof(flowlog_metrics[0]);

	/* The first instance prints every instance, so that each metric
	 * family appears once. */
	if (fl != flowlog_all)
		return;
	for (size_t i = 0; i < n; i++) {
		fl->api->metrics_printf(out, "# HELP %s %s\n# TYPE %s %s\n",
					flowlog_metrics[i].name,
					flowlog_metrics[i].help,
					flowlog_metrics[i].name,
					flowlog_metrics[i].type);
		for (struct flowlog *x = flowlog_all; x != NULL; x = x->next) {
			struct flowlog_writer_stats st;

			if (x->w == NULL)
				continue;
			flowlog_writer_stats(x->w, &st);
			fl->api->metrics_printf(out, "%s{instance=\"%s\"} %" PRIu64 "\n",
						flowlog_metrics[i].name, x->instance,
						flowlog_metric_value(i, &st));
		}
	}
}

static int
flowlog_api_status(bw_api_request *req, void *ud)
{
	struct flowlog *fl = ud;
	struct flowlog_writer_stats st = { 0 };
	json_t *doc;
	char *text;
	int rc;

	if (fl->w != NULL)
		flowlog_writer_stats(fl->w, &st);
	doc = json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s?}",
			"instance", fl->instance, "path", fl->path,
			"running", fl->running && fl->w != NULL,
			"matched", (json_int_t)fl->matched,
			"lines", (json_int_t)st.lines,
			"bytes", (json_int_t)st.bytes,
			"dropped", (json_int_t)st.dropped,
			"write_errors", (json_int_t)st.write_errors,
			"rotations", (json_int_t)st.rotations,
			"queue_bytes", (json_int_t)st.queued,
			"file_size", (json_int_t)st.file_size,
			"repaired_bytes", (json_int_t)st.repaired,
			"last_error", st.error[0] ? st.error : NULL);
	if (doc == NULL)
		return -ENOMEM;
	text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (text == NULL)
		return -ENOMEM;
	rc = fl->api->reply_json(req, 200, text);
	free(text);
	return rc;
}

/* ---- lifecycle -------------------------------------------------------------------- */

static void
flowlog_free(struct flowlog *fl)
{
	struct flowlog **pp;

	for (pp = &flowlog_all; *pp != NULL; pp = &(*pp)->next)
		if (*pp == fl) {
			*pp = fl->next;
			break;
		}
	if (fl->tick != NULL)
		event_free(fl->tick);
	flowlog_writer_close(fl->w, NULL);
	bw_flowfilters_clear(&fl->filters);
	bw_flowmask_free(fl->mask);
	free(fl->path);
	free(fl);
}

static void
flowlog_free_cb(void *arg)
{
	flowlog_free(arg);
}

static int
flowlog_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf)
{
	const struct flowlog_conf *c = conf;
	struct flowlog *fl, **pp;
	char route[PATH_MAX];
	int rc;

	if (!BW_API_HAS(api, flow_subscribe) || !BW_API_HAS(api, flow_to_json)) {
		api->log(ctx, BW_LOG_ERR, "this bulwarkd has no flow pipeline");
		return -ENOTSUP;
	}
	if ((fl = calloc(1, sizeof(*fl))) == NULL)
		return -ENOMEM;
	fl->api = api;
	fl->ctx = ctx;
	fl->instance = api->instance_name(ctx);
	if ((rc = flowlog_parse_conf(fl, c, &fl->filters, &fl->mask)) < 0) {
		free(fl);
		return rc; /* logged, naming the key */
	}
	if ((fl->path = flowlog_resolve_path(fl, c->path)) == NULL) {
		rc = errno ? -errno : -EINVAL;
		goto fail;
	}
	/* appended: instances stay in config order, the head prints metrics */
	for (pp = &flowlog_all; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = fl;
	snprintf(route, sizeof(route), "/v1/flowlog/%s", fl->instance);
	if ((rc = api->api_route(ctx, "GET", route, flowlog_api_status, fl,
				 NULL)) < 0)
		goto fail;
	if ((rc = api->metrics_register(ctx, flowlog_collect, fl, NULL)) < 0)
		goto fail;
	/* The subscription owns fl: the core frees it when it drops the
	 * instance's registrations (disable or exit), after stop. */
	if ((rc = api->flow_subscribe(ctx, flowlog_on_flow, fl,
				      flowlog_free_cb)) < 0)
		goto fail;
	api->set_data(ctx, fl);
	return 0;
fail:
	flowlog_free(fl);
	return rc;
}

static int
flowlog_start(bw_module_ctx *ctx)
{
	const struct bw_core_api *api = NULL;
	struct flowlog *fl;
	const struct flowlog_conf *c;
	struct flowlog_writer_stats st;
	struct timeval one = { 1, 0 };
	char err[512];
	int rc;

	for (fl = flowlog_all; fl != NULL && fl->ctx != ctx; fl = fl->next)
		;
	if (fl == NULL)
		return -ENOENT;
	api = fl->api;
	c = api->conf(ctx);
	rc = flowlog_writer_open(&fl->w, fl->path, c->max_size,
				 (int)c->max_backups, (size_t)c->queue_size,
				 err, sizeof(err));
	if (rc < 0) {
		flowlog_log(fl, BW_LOG_ERR, "[%s] path: %s", fl->instance, err);
		return rc;
	}
	flowlog_writer_stats(fl->w, &st);
	if (st.repaired > 0)
		flowlog_log(fl, BW_LOG_WARNING,
			    "%s ended in a partial line (an earlier crash?): "
			    "cut its last %" PRIu64 " bytes", fl->path,
			    st.repaired);
	fl->tick = event_new(api->event_base(ctx), -1, EV_PERSIST, flowlog_tick,
			     fl);
	if (fl->tick == NULL || event_add(fl->tick, &one) < 0) {
		flowlog_log(fl, BW_LOG_ERR, "cannot start the report timer");
		return -ENOMEM;
	}
	fl->running = 1;
	flowlog_log(fl, BW_LOG_INFO, "writing flows to %s (%" PRIu64
		    " bytes there already)", fl->path, st.file_size);
	return 0;
}

static int
flowlog_reload(bw_module_ctx *ctx, const void *new_conf)
{
	struct flowlog *fl = NULL;
	const struct flowlog_conf *c = new_conf;
	struct bw_flowfilters fs;
	struct bw_flowmask *mask;

	for (fl = flowlog_all; fl != NULL && fl->ctx != ctx; fl = fl->next)
		;
	if (fl == NULL)
		return -ENOENT;
	if (flowlog_parse_conf(fl, c, &fs, &mask) < 0)
		return -EINVAL; /* logged, naming the key */
	bw_flowfilters_clear(&fl->filters);
	fl->filters = fs;
	bw_flowmask_free(fl->mask);
	fl->mask = mask;
	if (fl->w != NULL)
		flowlog_writer_set_limits(fl->w, c->max_size, (int)c->max_backups,
					  (size_t)c->queue_size);
	flowlog_log(fl, BW_LOG_INFO, "reloaded: %zu allow and %zu deny "
		    "filters, %s", fs.n_allow, fs.n_deny,
		    mask != NULL ? "with a field mask" : "every field");
	return 0;
}

/* Write what is queued and fsync before the daemon goes. */
static void
flowlog_stop(bw_module_ctx *ctx)
{
	struct flowlog *fl;
	struct flowlog_writer_stats st;

	for (fl = flowlog_all; fl != NULL && fl->ctx != ctx; fl = fl->next)
		;
	if (fl == NULL)
		return;
	fl->running = 0;
	if (fl->tick != NULL) {
		event_free(fl->tick);
		fl->tick = NULL;
	}
	if (fl->w == NULL)
		return;
	flowlog_writer_close(fl->w, &st);
	fl->w = NULL;
	flowlog_tick_report(fl, &st);
	flowlog_log(fl, BW_LOG_INFO, "closed %s: %" PRIu64 " lines written, %"
		    PRIu64 " dropped", fl->path, st.lines, st.dropped);
}

BW_MODULE_DEFINE(
	.name = "flowlog",
	.version = "1.0",
	.description = "writes flows to a rotated JSONL file (Hubble exporter format)",
	.conf_keys = flowlog_keys,
	.conf_size = sizeof(struct flowlog_conf),
	.init = flowlog_init,
	.start = flowlog_start,
	.reload = flowlog_reload,
	.stop = flowlog_stop,
	.check = flowlog_check,
);
