/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/alerts/alerts.c - deny alerts: denied (and audited would-be
 * denied) connections become alerts that name the policy responsible,
 * deduplicated, rate limited, and delivered to syslog, a webhook and the
 * core's alert bus (which the Lua host subscribes to: Lua alert hooks).
 *
 * Input: policy-verdict flows with verdict DROPPED (and AUDIT, unless
 * `audit = false`): one per denied connection attempt, with the deny
 * rule's policy or, for a default deny, the policies isolating the
 * endpoint.
 *
 * Deduplication, per (source workload, destination, port, protocol,
 * direction, verdict, policies) as lib/flowpeer.h names them: the first
 * denial raises an alert at once (count 1); further denials of that key
 * within `window` of it are counted, not sent; when the window closes and
 * some were counted, one more alert carries that count (and the first and
 * last time of the counted ones). The sum of the counts of a key's alerts
 * is the number of denials. A denial after the window starts over.
 *
 * Rate limit: a token bucket (`rate` per second, bursts of `burst`);
 * alerts beyond it are counted (bulwark_alerts_rate_limited_total) and
 * logged, not sent. Memory is bounded by `max_keys` open windows; beyond
 * it denials raise alerts without deduplication.
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
#include "alerts.h"

#define AL_RECENT 20

struct al_conf {
	char *webhook;
	char *webhook_ca;
	int64_t window;     /* ms */
	int syslog;
	char *syslog_socket;
	char *syslog_facility;
	int audit;
	int64_t rate;
	int64_t burst;
	int64_t queue_size;
	int64_t retries;
	int64_t backoff;    /* ms */
	int64_t timeout;    /* ms */
	int64_t max_keys;
};

static const struct bw_conf_key al_keys[] = {
	{ "webhook", BW_CONF_STRING, "", offsetof(struct al_conf, webhook), 0, 0, NULL, 0,
	  "POST each alert as JSON to this http:// or https:// URL; empty: no webhook" },
	{ "webhook_ca", BW_CONF_STRING, "", offsetof(struct al_conf, webhook_ca), 0, 0, NULL, 0,
	  "for https: also trust the CA certificates in this PEM file" },
	{ "window", BW_CONF_DURATION, "60s", offsetof(struct al_conf, window), 1000,
	  INT64_C(86400000), NULL, BW_CONF_F_RELOADABLE,
	  "repeated denials of one source workload, destination, port and policy within this "
	  "time make one more alert with their count" },
	{ "syslog", BW_CONF_BOOL, "false", offsetof(struct al_conf, syslog), 0, 0, NULL, 0,
	  "send each alert to syslog" },
	{ "syslog_socket", BW_CONF_STRING, "/dev/log", offsetof(struct al_conf, syslog_socket),
	  0, 0, NULL, 0, "the syslog socket (a Unix datagram socket)" },
	{ "syslog_facility", BW_CONF_STRING, "daemon",
	  offsetof(struct al_conf, syslog_facility), 0, 0, NULL, 0,
	  "syslog facility: daemon, auth, authpriv, local0 .. local7, user, ..." },
	{ "audit", BW_CONF_BOOL, "true", offsetof(struct al_conf, audit), 0, 0, NULL,
	  BW_CONF_F_RELOADABLE, "alert on audited would-be denials (verdict AUDIT) too" },
	{ "rate", BW_CONF_INT, "20", offsetof(struct al_conf, rate), 1, 100000, NULL,
	  BW_CONF_F_RELOADABLE, "alerts sent per second at most (on average)" },
	{ "burst", BW_CONF_INT, "100", offsetof(struct al_conf, burst), 1, 1000000, NULL,
	  BW_CONF_F_RELOADABLE, "alerts sent at once at most before the rate applies" },
	{ "queue_size", BW_CONF_INT, "1000", offsetof(struct al_conf, queue_size), 1, 1000000,
	  NULL, 0, "alerts waiting for the webhook; beyond it alerts are counted as failed" },
	{ "retries", BW_CONF_INT, "5", offsetof(struct al_conf, retries), 0, 100, NULL, 0,
	  "times a failed webhook POST is tried again" },
	{ "backoff", BW_CONF_DURATION, "1s", offsetof(struct al_conf, backoff), 10, 600000, NULL,
	  0, "wait before the first retry; doubled for each further one, up to a minute" },
	{ "timeout", BW_CONF_DURATION, "5s", offsetof(struct al_conf, timeout), 1000, 600000,
	  NULL, 0, "a webhook POST without an answer after this long failed" },
	{ "max_keys", BW_CONF_INT, "10000", offsetof(struct al_conf, max_keys), 16, 10000000,
	  NULL, 0, "deduplication windows kept open at most" },
	BW_CONF_KEY_END,
};

/* One open deduplication window. */
struct al_entry {
	struct al_entry *hnext;
	struct al_entry *prev, *next; /* by window end */
	uint64_t hash;
	char *key;
	json_t *base;                 /* the alert's fields but count and times */
	int64_t window_end;
	uint64_t suppressed;
	int64_t first_suppressed, last_seen;
};

struct alerts {
	const struct bw_core_api *api;
	bw_module_ctx *ctx;
	struct al_conf conf;          /* numbers of the current config */
	int syslog_on;
	struct alerts_syslog *sys;
	struct alerts_webhook *wh;
	struct event *tick;
	struct al_entry **tab;
	size_t nb, n;
	struct al_entry *head, *tail; /* by window end */
	double tokens;
	int64_t tokens_at;
	json_t *recent;               /* the last alerts */
	uint64_t raised, deduplicated, rate_limited, untracked;
	uint64_t sent_syslog, failed_syslog, sent_hook;
	uint64_t reported_limited, reported_failed_syslog;
	unsigned reported_wh_error;
	const char *node;
};

static struct alerts *al_all;

#define al_log(a, lvl, ...) (a)->api->log((a)->ctx, (lvl), __VA_ARGS__)

static int64_t
al_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
al_time(int64_t ms, char *buf, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	char base[32];

	gmtime_r(&s, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", base, (int)(ms % 1000));
}

static uint64_t
al_hash(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(1099511628211);
	}
	return h;
}

/* ---- config ------------------------------------------------------------------------ */

static int
al_check(const void *conf, char *err, size_t errlen, const char **key)
{
	const struct al_conf *c = conf;

	if (c->webhook != NULL && *c->webhook &&
	    alerts_webhook_check(c->webhook, err, errlen) < 0) {
		*key = "webhook";
		return -EINVAL;
	}
	if (alerts_syslog_facility(c->syslog_facility) < 0) {
		*key = "syslog_facility";
		snprintf(err, errlen, "unknown facility '%s' (daemon, auth, authpriv, user, "
			 "local0 .. local7, ...)", c->syslog_facility ? c->syslog_facility : "");
		return -EINVAL;
	}
	if (c->syslog && (c->syslog_socket == NULL || c->syslog_socket[0] != '/')) {
		*key = "syslog_socket";
		snprintf(err, errlen, "give the absolute path of a Unix socket");
		return -EINVAL;
	}
	return 0;
}

/* ---- delivery --------------------------------------------------------------------- */

static int
al_take_token(struct alerts *a)
{
	int64_t now = al_now_ms();

	if (a->tokens_at == 0) {
		a->tokens = (double)a->conf.burst;
		a->tokens_at = now;
	}
	a->tokens += (double)(now - a->tokens_at) * (double)a->conf.rate / 1000.0;
	a->tokens_at = now;
	if (a->tokens > (double)a->conf.burst)
		a->tokens = (double)a->conf.burst;
	if (a->tokens < 1.0)
		return 0;
	a->tokens -= 1.0;
	return 1;
}

/* Send one alert: base + count and times. */
static void
al_emit(struct alerts *a, const json_t *base, uint64_t count, int64_t first, int64_t last)
{
	json_t *o = json_deep_copy(base);
	char tb[40], *text, summary[1024], pols[512] = "";
	size_t i;
	json_t *p;
	int rc;

	if (o == NULL)
		return;
	if (!al_take_token(a)) {
		a->rate_limited++;
		json_decref(o);
		return;
	}
	a->raised++;
	al_time(al_now_ms(), tb, sizeof(tb));
	json_object_set_new(o, "time", json_string(tb));
	json_object_set_new(o, "count", json_integer((json_int_t)count));
	al_time(first, tb, sizeof(tb));
	json_object_set_new(o, "first_seen", json_string(tb));
	al_time(last, tb, sizeof(tb));
	json_object_set_new(o, "last_seen", json_string(tb));
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text == NULL) {
		json_decref(o);
		return;
	}
	/* the core's bus: Lua alert hooks and other modules */
	if ((rc = a->api->alert_publish(a->ctx, text)) > 0)
		a->sent_hook++;
	if (a->syslog_on && a->sys != NULL) {
		json_array_foreach(json_object_get(o, "policies"), i, p) {
			size_t l = strlen(pols);

			snprintf(pols + l, sizeof(pols) - l, "%s%s", i ? ", " : "",
				 json_string_value(p));
		}
		snprintf(summary, sizeof(summary), "%s %s -> %s:%lld/%s %s by %s, %llu time%s: %s",
			 json_string_value(json_object_get(o, "verdict")),
			 json_string_value(json_object_get(o, "source")),
			 json_string_value(json_object_get(o, "destination")),
			 (long long)json_integer_value(json_object_get(o, "port")),
			 json_string_value(json_object_get(o, "protocol")),
			 json_string_value(json_object_get(o, "direction")),
			 pols[0] ? pols : "policy.enforcement=always", (unsigned long long)count,
			 count == 1 ? "" : "s", text);
		if (alerts_syslog_send(a->sys,
				       !strcmp(json_string_value(json_object_get(o, "verdict")),
					       "AUDIT") ? 5 /* notice */ : 4 /* warning */,
				       summary) == 0)
			a->sent_syslog++;
		else
			a->failed_syslog++;
	}
	if (a->wh != NULL)
		alerts_webhook_send(a->wh, text);
	free(text);
	json_array_append_new(a->recent, o);
	while (json_array_size(a->recent) > AL_RECENT)
		json_array_remove(a->recent, 0);
}

/* ---- deduplication --------------------------------------------------------------- */

static void
al_unlink(struct alerts *a, struct al_entry *e)
{
	struct al_entry **pp = &a->tab[e->hash & (a->nb - 1)];

	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		a->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		a->tail = e->prev;
	a->n--;
	free(e->key);
	json_decref(e->base);
	free(e);
}

/* Close the windows that ended: one more alert for what they counted. */
static void
al_expire(struct alerts *a, int64_t now, int all)
{
	while (a->head != NULL && (all || a->head->window_end <= now)) {
		struct al_entry *e = a->head;

		if (e->suppressed > 0)
			al_emit(a, e->base, e->suppressed, e->first_suppressed, e->last_seen);
		al_unlink(a, e);
	}
}

static const char *
al_verdict_name(int v)
{
	return v == BW_FLOW_VERDICT_AUDIT ? "AUDIT" : "DROPPED";
}

static json_t *
al_base(const struct bw_flow *f, const char *src, const char *dst, const char *pols_nl,
	const char *node)
{
	int ingress = f->traffic_direction == BW_FLOW_TRAFFIC_INGRESS;
	const struct bw_flow_endpoint *local = ingress ? &f->destination : &f->source;
	json_t *pols = json_array(), *o;
	const char *p = pols_nl;
	char pb[16], reason[1024], ep[300], srcpod[300] = "", dstpod[300] = "";
	int deny_rule = (ingress ? f->n_ingress_denied_by : f->n_egress_denied_by) > 0 &&
			f->rule_ref != 0;

	while (p != NULL && *p) {
		const char *nl = strchr(p, '\n');

		json_array_append_new(pols, json_stringn(p, nl ? (size_t)(nl - p) : strlen(p)));
		p = nl ? nl + 1 : NULL;
	}
	snprintf(ep, sizeof(ep), "%s/%s", local->ns ? local->ns : "",
		 local->pod_name ? local->pod_name : "?");
	if (deny_rule)
		snprintf(reason, sizeof(reason), "%s by a deny rule of %s",
			 f->verdict == BW_FLOW_VERDICT_AUDIT ? "would be denied" : "denied",
			 pols_nl[0] ? pols_nl : "a policy");
	else if (pols_nl[0])
		snprintf(reason, sizeof(reason), "%s by default deny: %s is isolated (%s) by %s",
			 f->verdict == BW_FLOW_VERDICT_AUDIT ? "would be denied" : "denied", ep,
			 ingress ? "ingress" : "egress", pols_nl);
	else
		snprintf(reason, sizeof(reason), "%s by default deny (policy.enforcement=always)",
			 f->verdict == BW_FLOW_VERDICT_AUDIT ? "would be denied" : "denied");
	for (char *c = reason; *c; c++)
		if (*c == '\n')
			*c = ',';
	if (f->source.pod_name != NULL)
		snprintf(srcpod, sizeof(srcpod), "%s/%s", f->source.ns ? f->source.ns : "",
			 f->source.pod_name);
	if (f->destination.pod_name != NULL)
		snprintf(dstpod, sizeof(dstpod), "%s/%s",
			 f->destination.ns ? f->destination.ns : "", f->destination.pod_name);
	o = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:o,s:b,s:s,s:s?,s:s?}",
		      "node", node ? node : "", "source", src, "destination", dst,
		      "port", (int)bw_flowpeer_port(f),
		      "protocol", bw_flowpeer_proto_name(f->protocol, pb, sizeof(pb)),
		      "direction", ingress ? "INGRESS" : "EGRESS",
		      "verdict", al_verdict_name(f->verdict), "policies", pols,
		      "default_deny", !deny_rule, "reason", reason,
		      "source_pod", srcpod[0] ? srcpod : NULL,
		      "destination_pod", dstpod[0] ? dstpod : NULL);
	return o;
}

static void
al_on_flow(const struct bw_flow *f, void *ud)
{
	struct alerts *a = ud;
	char src[320], dst[320], pols[2048], pb[16], *key = NULL;
	int64_t now;
	struct al_entry *e;
	uint64_t h;
	json_t *base;

	if (f->event_type != BW_FLOW_EVENT_POLICY_VERDICT)
		return;
	if (f->verdict != BW_FLOW_VERDICT_DROPPED &&
	    (f->verdict != BW_FLOW_VERDICT_AUDIT || !a->conf.audit))
		return;
	now = (int64_t)(f->time_ns / 1000000);
	bw_flowpeer_name(&f->source, f->src_ip, src, sizeof(src), NULL);
	bw_flowpeer_name(&f->destination, f->dst_ip, dst, sizeof(dst), NULL);
	bw_flowpeer_policies(f, pols, sizeof(pols));
	if (asprintf(&key, "%s\t%s\t%u\t%s\t%d\t%d\t%s", src, dst, bw_flowpeer_port(f),
		     bw_flowpeer_proto_name(f->protocol, pb, sizeof(pb)),
		     (int)f->traffic_direction, (int)f->verdict, pols) < 0)
		return;
	h = al_hash(key);
	for (e = a->tab[h & (a->nb - 1)]; e != NULL; e = e->hnext)
		if (e->hash == h && !strcmp(e->key, key))
			break;
	if (e != NULL && now < e->window_end) {
		if (e->suppressed++ == 0)
			e->first_suppressed = now;
		e->last_seen = now;
		a->deduplicated++;
		free(key);
		return;
	}
	if (e != NULL) { /* its window ended before the timer saw it */
		if (e->suppressed > 0)
			al_emit(a, e->base, e->suppressed, e->first_suppressed, e->last_seen);
		al_unlink(a, e);
	}
	if ((base = al_base(f, src, dst, pols, a->node)) == NULL) {
		free(key);
		return;
	}
	al_emit(a, base, 1, now, now);
	if (a->n >= (size_t)a->conf.max_keys || (e = calloc(1, sizeof(*e))) == NULL) {
		a->untracked++;
		json_decref(base);
		free(key);
		return;
	}
	e->hash = h;
	e->key = key;
	e->base = base;
	e->window_end = now + a->conf.window;
	e->hnext = a->tab[h & (a->nb - 1)];
	a->tab[h & (a->nb - 1)] = e;
	e->prev = a->tail;
	if (a->tail != NULL)
		a->tail->next = e;
	else
		a->head = e;
	a->tail = e;
	a->n++;
}

/* ---- the timer: windows that ended, and what the targets report ------------------ */

static void
al_tick(evutil_socket_t fd, short what, void *arg)
{
	struct alerts *a = arg;

	(void)fd;
	(void)what;
	al_expire(a, al_now_ms(), 0);
	if (a->rate_limited > a->reported_limited) {
		al_log(a, BW_LOG_WARNING, "%" PRIu64 " alerts over the rate limit (rate %" PRId64
		       "/s, burst %" PRId64 ") were not sent", a->rate_limited - a->reported_limited,
		       a->conf.rate, a->conf.burst);
		a->reported_limited = a->rate_limited;
	}
	if (a->failed_syslog > a->reported_failed_syslog) {
		al_log(a, BW_LOG_WARNING, "%" PRIu64 " alerts could not be sent to syslog (%s)",
		       a->failed_syslog - a->reported_failed_syslog, a->conf.syslog ? "socket" : "");
		a->reported_failed_syslog = a->failed_syslog;
	}
	if (a->wh != NULL) {
		struct alerts_webhook_stats st;

		alerts_webhook_stats(a->wh, &st);
		if (st.error_seq != a->reported_wh_error) {
			al_log(a, BW_LOG_WARNING, "webhook: %s", st.last_error);
			a->reported_wh_error = st.error_seq;
		}
	}
}

/* ---- metrics and status -------------------------------------------------------------- */

static void
al_collect(bw_metrics_out *out, void *ud)
{
	struct alerts *a = ud;
	const struct bw_core_api *api = a->api;
	struct alerts_webhook_stats ws = { 0 };

	if (a->wh != NULL)
		alerts_webhook_stats(a->wh, &ws);
	api->metrics_printf(out, "# HELP bulwark_alerts_raised_total Deny alerts raised "
			    "(after deduplication and the rate limit).\n"
			    "# TYPE bulwark_alerts_raised_total counter\n"
			    "bulwark_alerts_raised_total %" PRIu64 "\n", a->raised);
	api->metrics_printf(out, "# HELP bulwark_alerts_deduplicated_total Denials counted "
			    "into an open alert window instead of raising an alert.\n"
			    "# TYPE bulwark_alerts_deduplicated_total counter\n"
			    "bulwark_alerts_deduplicated_total %" PRIu64 "\n", a->deduplicated);
	api->metrics_printf(out, "# HELP bulwark_alerts_rate_limited_total Alerts not sent "
			    "because of the rate limit.\n"
			    "# TYPE bulwark_alerts_rate_limited_total counter\n"
			    "bulwark_alerts_rate_limited_total %" PRIu64 "\n", a->rate_limited);
	api->metrics_printf(out, "# HELP bulwark_alerts_sent_total Alerts delivered, by "
			    "target (webhook: answered 2xx; syslog: written to the socket; "
			    "hook: handed to at least one alert bus subscriber).\n"
			    "# TYPE bulwark_alerts_sent_total counter\n"
			    "bulwark_alerts_sent_total{target=\"webhook\"} %" PRIu64 "\n"
			    "bulwark_alerts_sent_total{target=\"syslog\"} %" PRIu64 "\n"
			    "bulwark_alerts_sent_total{target=\"hook\"} %" PRIu64 "\n",
			    ws.sent, a->sent_syslog, a->sent_hook);
	api->metrics_printf(out, "# HELP bulwark_alerts_failed_total Alerts that could not be "
			    "delivered, by target and reason.\n"
			    "# TYPE bulwark_alerts_failed_total counter\n"
			    "bulwark_alerts_failed_total{target=\"webhook\",reason=\"retries_exhausted\"} %"
			    PRIu64 "\n"
			    "bulwark_alerts_failed_total{target=\"webhook\",reason=\"queue_full\"} %"
			    PRIu64 "\n"
			    "bulwark_alerts_failed_total{target=\"syslog\",reason=\"send\"} %" PRIu64 "\n",
			    ws.failed, ws.queue_full, a->failed_syslog);
	api->metrics_printf(out, "# HELP bulwark_alerts_webhook_retries_total Webhook POSTs "
			    "tried again after a failure.\n"
			    "# TYPE bulwark_alerts_webhook_retries_total counter\n"
			    "bulwark_alerts_webhook_retries_total %" PRIu64 "\n"
			    "# HELP bulwark_alerts_webhook_queue Alerts waiting for the webhook.\n"
			    "# TYPE bulwark_alerts_webhook_queue gauge\n"
			    "bulwark_alerts_webhook_queue %" PRIu64 "\n"
			    "# HELP bulwark_alerts_open_windows Deduplication windows open now.\n"
			    "# TYPE bulwark_alerts_open_windows gauge\n"
			    "bulwark_alerts_open_windows %zu\n", ws.retries, ws.queued, a->n);
}

static int
al_status(bw_api_request *req, void *ud)
{
	struct alerts *a = ud;
	struct alerts_webhook_stats ws = { 0 };
	json_t *doc;
	char *text;
	int rc;

	if (a->wh != NULL)
		alerts_webhook_stats(a->wh, &ws);
	doc = json_pack("{s:I,s:I,s:I,s:I,s:I,s:{s:b,s:I,s:I,s:I,s:I,s:I,s:s?},"
			"s:{s:b,s:I,s:I},s:{s:I},s:O}",
			"raised", (json_int_t)a->raised, "deduplicated", (json_int_t)a->deduplicated,
			"rate_limited", (json_int_t)a->rate_limited,
			"open_windows", (json_int_t)a->n, "untracked", (json_int_t)a->untracked,
			"webhook", "enabled", a->wh != NULL, "sent", (json_int_t)ws.sent,
			"failed", (json_int_t)ws.failed, "queue_full", (json_int_t)ws.queue_full,
			"retries", (json_int_t)ws.retries, "queued", (json_int_t)ws.queued,
			"last_error", ws.last_error[0] ? ws.last_error : NULL,
			"syslog", "enabled", a->syslog_on, "sent", (json_int_t)a->sent_syslog,
			"failed", (json_int_t)a->failed_syslog,
			"hook", "sent", (json_int_t)a->sent_hook, "recent", a->recent);
	if (doc == NULL)
		return -ENOMEM;
	text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (text == NULL)
		return -ENOMEM;
	rc = a->api->reply_json(req, 200, text);
	free(text);
	return rc;
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void
al_free(struct alerts *a)
{
	if (al_all == a)
		al_all = NULL;
	while (a->head != NULL)
		al_unlink(a, a->head);
	free(a->tab);
	if (a->tick != NULL)
		event_free(a->tick);
	alerts_webhook_free(a->wh);
	alerts_syslog_free(a->sys);
	json_decref(a->recent);
	free(a);
}

static void
al_free_cb(void *arg)
{
	al_free(arg);
}

static void
al_conf_numbers(struct alerts *a, const struct al_conf *c)
{
	a->conf.window = c->window;
	a->conf.audit = c->audit;
	a->conf.rate = c->rate;
	a->conf.burst = c->burst;
	a->conf.max_keys = c->max_keys;
}

static int
al_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf)
{
	const struct al_conf *c = conf;
	struct alerts *a;
	char err[512];
	int rc;

	if (!BW_API_HAS(api, flow_subscribe) || !BW_API_HAS(api, alert_publish)) {
		api->log(ctx, BW_LOG_ERR, "this bulwarkd is older than the alerts module "
			 "(it needs module ABI 1.2)");
		return -ENOTSUP;
	}
	if (al_all != NULL) {
		api->log(ctx, BW_LOG_ERR, "only one alerts instance may run");
		return -EEXIST;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -ENOMEM;
	a->api = api;
	a->ctx = ctx;
	a->conf = *c;
	a->nb = 1;
	while (a->nb < (size_t)c->max_keys && a->nb < (1u << 20))
		a->nb <<= 1;
	if ((a->tab = calloc(a->nb, sizeof(*a->tab))) == NULL ||
	    (a->recent = json_array()) == NULL) {
		al_free(a);
		return -ENOMEM;
	}
	if (c->webhook != NULL && *c->webhook) {
		rc = alerts_webhook_new(&a->wh, api->event_base(ctx), c->webhook,
					(size_t)c->queue_size, (int)c->retries, c->backoff,
					c->timeout, err, sizeof(err));
		if (rc == 0)
			rc = alerts_webhook_set_ca(a->wh, c->webhook_ca, err, sizeof(err));
		if (rc < 0) {
			api->log(ctx, BW_LOG_ERR, "webhook: %s", err);
			al_free(a);
			return rc;
		}
	}
	if (c->syslog) {
		rc = alerts_syslog_new(&a->sys, c->syslog_socket,
				       alerts_syslog_facility(c->syslog_facility), "bulwarkd");
		if (rc < 0) {
			al_free(a);
			return rc;
		}
		a->syslog_on = 1;
	}
	al_all = a;
	if ((rc = api->api_route(ctx, "GET", "/v1/alerts", al_status, a, NULL)) < 0 ||
	    (rc = api->metrics_register(ctx, al_collect, a, NULL)) < 0 ||
	    (rc = api->flow_subscribe(ctx, al_on_flow, a, al_free_cb)) < 0) {
		al_free(a);
		return rc;
	}
	api->set_data(ctx, a);
	return 0;
}

static int
al_start(bw_module_ctx *ctx)
{
	struct alerts *a = al_all;
	struct timeval one = { 1, 0 };
	char host[256];

	if (a == NULL || a->ctx != ctx)
		return -ENOENT;
	if (gethostname(host, sizeof(host)) == 0) {
		static char node[256];

		host[sizeof(host) - 1] = '\0';
		snprintf(node, sizeof(node), "%s", host);
		a->node = node;
	}
	a->tick = event_new(a->api->event_base(ctx), -1, EV_PERSIST, al_tick, a);
	if (a->tick == NULL || event_add(a->tick, &one) < 0)
		return -ENOMEM;
	al_log(a, BW_LOG_INFO, "deny alerts: window %" PRId64 " s%s%s%s, rate %" PRId64 "/s",
	       a->conf.window / 1000, a->wh != NULL ? ", webhook " : "",
	       a->wh != NULL ? a->conf.webhook : "", a->syslog_on ? ", syslog" : "",
	       a->conf.rate);
	return 0;
}

static int
al_reload(bw_module_ctx *ctx, const void *new_conf)
{
	struct alerts *a = al_all;

	if (a == NULL || a->ctx != ctx)
		return -ENOENT;
	al_conf_numbers(a, new_conf);
	al_log(a, BW_LOG_INFO, "reloaded: window %" PRId64 " s, rate %" PRId64 "/s, burst %"
	       PRId64 "%s", a->conf.window / 1000, a->conf.rate, a->conf.burst,
	       a->conf.audit ? "" : ", no AUDIT alerts");
	return 0;
}

static void
al_stop(bw_module_ctx *ctx)
{
	struct alerts *a = al_all;

	if (a == NULL || a->ctx != ctx)
		return;
	if (a->tick != NULL) {
		event_free(a->tick);
		a->tick = NULL;
	}
	/* what the open windows counted still gets its alert (syslog, hook) */
	al_expire(a, 0, 1);
}

BW_MODULE_DEFINE(
	.name = "alerts",
	.version = "1.0",
	.description = "deny alerts: deduplicated, to syslog, a webhook and the alert bus",
	.conf_keys = al_keys,
	.conf_size = sizeof(struct al_conf),
	.init = al_init,
	.start = al_start,
	.reload = al_reload,
	.stop = al_stop,
	.check = al_check,
);
