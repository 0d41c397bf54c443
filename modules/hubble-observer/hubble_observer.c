/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/hubble-observer/hubble_observer.c - Hubble's gRPC API for
 * bulwarkd: the module (config keys and their check, lifecycle, metrics,
 * GET /v1/hubble/status).
 *
 * The server (hubble_server.c) listens on a Unix socket, by default
 * /var/run/bulwark/hubble.sock as Cilium's agent serves
 * /var/run/cilium/hubble.sock, and optionally on TCP (`listen`), with TLS
 * required when that address is not loopback. The `hubble` CLI and Hubble
 * UI's backend talk to it unchanged (docs/hubble-api.md).
 *
 * Everything the module knows about flows comes through struct
 * bw_core_api (the flow ring members of ABI 1.2); the FlowFilter matcher
 * is lib/flowfilter.c, the one `bulwark observe` and GET /v1/flows use.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "hubble.h"

#define HUBBLE_SOCKET_DEFAULT "/var/run/bulwark/hubble.sock"

static const struct bw_conf_key hubble_keys[] = {
	{ "socket", BW_CONF_STRING, HUBBLE_SOCKET_DEFAULT,
	  offsetof(struct hubble_conf, socket), 0, 0, NULL, 0,
	  "Unix socket of the gRPC API (hubble --server unix://PATH); its directory is created; empty = none" },
	{ "socket_group", BW_CONF_STRING, "",
	  offsetof(struct hubble_conf, socket_group), 0, 0, NULL, 0,
	  "group owning the socket (mode 0660); empty = root's" },
	{ "listen", BW_CONF_STRING, "",
	  offsetof(struct hubble_conf, listen), 0, 0, NULL, 0,
	  "TCP address of the gRPC API, e.g. 127.0.0.1:4245; off loopback it needs tls_cert and tls_key; empty = off" },
	{ "tls_cert", BW_CONF_STRING, "",
	  offsetof(struct hubble_conf, tls_cert), 0, 0, NULL, 0,
	  "PEM certificate (chain) served on listen" },
	{ "tls_key", BW_CONF_STRING, "",
	  offsetof(struct hubble_conf, tls_key), 0, 0, NULL, 0,
	  "PEM private key of tls_cert" },
	{ "tls_client_ca", BW_CONF_STRING, "",
	  offsetof(struct hubble_conf, tls_client_ca), 0, 0, NULL, 0,
	  "PEM CA bundle: when set, TCP clients must present a certificate it signed (mTLS)" },
	{ "max_connections", BW_CONF_INT, "128",
	  offsetof(struct hubble_conf, max_connections), 1, 100000, NULL, 0,
	  "connections served at once (Unix and TCP); more are closed at accept" },
	{ "max_streams", BW_CONF_INT, "256",
	  offsetof(struct hubble_conf, max_streams), 1, 1000000, NULL, 0,
	  "calls open at once over all connections; more get RESOURCE_EXHAUSTED" },
	{ "max_streams_per_connection", BW_CONF_INT, "128",
	  offsetof(struct hubble_conf, max_streams_per_connection), 1, 100000,
	  NULL, 0, "HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS of each connection" },
	{ "client_buffer", BW_CONF_SIZE, "4M",
	  offsetof(struct hubble_conf, client_buffer), 64 * 1024, INT64_C(1) << 30,
	  NULL, 0,
	  "bytes queued per call for a client; a follower that falls further behind skips flows (reported as lost events)" },
	{ "stall_timeout", BW_CONF_DURATION, "60s",
	  offsetof(struct hubble_conf, stall_timeout), 1000, INT64_C(86400000),
	  NULL, 0,
	  "a follower whose client takes nothing for this long while its buffer is full is disconnected" },
	BW_CONF_KEY_END,
};

/* ---- shared helpers ---------------------------------------------------------- */

void
hubble_log(struct hubble *h, enum bw_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	h->api->vlog(h->ctx, level, fmt, ap);
	va_end(ap);
}

uint64_t
hubble_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
hubble_info(struct hubble *h, struct bw_daemon_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	h->api->daemon_info(info);
}

const char *
hubble_node_name(struct hubble *h)
{
	struct bw_daemon_info info;

	hubble_info(h, &info);
	return info.node_name != NULL ? info.node_name : "";
}

const char *
hubble_version(struct hubble *h)
{
	struct bw_daemon_info info;

	hubble_info(h, &info);
	return info.version != NULL ? info.version : "";
}

uint64_t
hubble_daemon_start_ns(struct hubble *h)
{
	struct bw_daemon_info info;

	hubble_info(h, &info);
	return info.start_ns;
}

static uint64_t
hubble_seen_flows(struct hubble *h)
{
	struct bw_flow_stats st;

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	h->api->flow_stats(&st);
	return st.flows;
}

double
hubble_flows_rate(struct hubble *h)
{
	unsigned oldest;
	uint64_t dt;

	if (h->rate_n < 2)
		return 0;
	oldest = (h->rate_pos + 61 - h->rate_n) % 61;
	dt = h->rate_t[(h->rate_pos + 60) % 61] - h->rate_t[oldest];
	if (dt == 0)
		return 0;
	return (double)(h->rate_seen[(h->rate_pos + 60) % 61] - h->rate_seen[oldest]) *
	       1e9 / (double)dt;
}

static void
hubble_tick(evutil_socket_t fd, short what, void *arg)
{
	struct hubble *h = arg;

	h->rate_seen[h->rate_pos] = hubble_seen_flows(h);
	h->rate_t[h->rate_pos] = hubble_now_ns();
	h->rate_pos = (h->rate_pos + 1) % 61;
	if (h->rate_n < 61)
		h->rate_n++;
}

/* ---- config check -------------------------------------------------------------- */

static int
hubble_check(const void *confp, char *err, size_t errlen, const char **key)
{
	const struct hubble_conf *cf = confp;
	int has_cert = cf->tls_cert != NULL && *cf->tls_cert != '\0';
	int has_key = cf->tls_key != NULL && *cf->tls_key != '\0';
	int has_listen = cf->listen != NULL && *cf->listen != '\0';
	int loop;

	if ((cf->socket == NULL || *cf->socket == '\0') && !has_listen) {
		snprintf(err, errlen, "neither socket nor listen is set: the API would not be served");
		*key = "socket";
		return -EINVAL;
	}
	if (cf->socket != NULL && *cf->socket != '\0' && cf->socket[0] != '/') {
		snprintf(err, errlen, "'%s' is not an absolute path", cf->socket);
		*key = "socket";
		return -EINVAL;
	}
	if (has_cert != has_key) {
		snprintf(err, errlen, "tls_cert and tls_key go together");
		*key = has_cert ? "tls_key" : "tls_cert";
		return -EINVAL;
	}
	if (cf->tls_client_ca != NULL && *cf->tls_client_ca != '\0' && !has_cert) {
		snprintf(err, errlen, "client certificates need TLS: set tls_cert and tls_key");
		*key = "tls_client_ca";
		return -EINVAL;
	}
	if (!has_listen)
		return 0;
	loop = hubble_listen_is_loopback(cf->listen);
	if (loop == -EINVAL) {
		snprintf(err, errlen, "'%s' is not HOST:PORT", cf->listen);
		*key = "listen";
		return -EINVAL;
	}
	if (loop == 0 && !has_cert) {
		snprintf(err, errlen,
			 "'%s' is not a loopback address: the API off loopback needs TLS (set tls_cert and tls_key)",
			 cf->listen);
		*key = "listen";
		return -EINVAL;
	}
	return 0;
}

/* ---- status and metrics ----------------------------------------------------------- */

static json_t *
hubble_status_json(struct hubble *h)
{
	struct hubble_srv_stats ss;
	struct hubble_flows_stats fs;
	size_t nm;
	const struct hubble_method *m = hubble_methods(&nm);
	json_t *calls = json_object();

	const struct hubble_ff_stats *ff = hubble_flows_ff_stats(h);
	json_t *used = json_object(), *refused = json_object();
	const char *name;

	hubble_srv_stats(h, &ss);
	hubble_flows_stats(h, &fs);
	for (size_t i = 0; i < nm && i < 16; i++)
		json_object_set_new(calls, m[i].name,
				    json_integer((json_int_t)ss.calls_total[i]));
	for (size_t i = 0; (name = hubble_ff_field_name(i)) != NULL; i++) {
		if (ff->used[i] != 0)
			json_object_set_new(used, name, json_integer((json_int_t)ff->used[i]));
		if (ff->refused[i] != 0)
			json_object_set_new(refused, name, json_integer((json_int_t)ff->refused[i]));
	}
	return json_pack("{s:s, s:s?, s:b, s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I}, "
			 "s:o, s:{s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}}, s:{s:o, s:o}}",
			 "address", hubble_srv_address(h),
			 "listen", h->conf->listen != NULL && *h->conf->listen ? h->conf->listen : NULL,
			 "tls", hubble_srv_tls(h),
			 "connections",
			 "open", (json_int_t)ss.connections,
			 "total", (json_int_t)ss.connections_total,
			 "refused", (json_int_t)ss.connections_refused,
			 "streams",
			 "open", (json_int_t)ss.streams,
			 "refused", (json_int_t)ss.streams_refused,
			 "deadline_exceeded", (json_int_t)ss.deadlines,
			 "cancelled", (json_int_t)ss.cancelled,
			 "calls", calls,
			 "flows",
			 "followers", (json_int_t)fs.followers,
			 "sent", (json_int_t)fs.flows_sent,
			 "lost", (json_int_t)fs.lost_sent,
			 "followers_dropped", (json_int_t)fs.stalled_dropped,
			 "l7_sent",
			 "http", (json_int_t)fs.l7_sent[HUBBLE_L7_HTTP],
			 "dns", (json_int_t)fs.l7_sent[HUBBLE_L7_DNS],
			 "kafka", (json_int_t)fs.l7_sent[HUBBLE_L7_KAFKA],
			 "other", (json_int_t)fs.l7_sent[HUBBLE_L7_OTHER],
			 "filters", "used", used, "refused", refused);
}

static int
hubble_status_route(bw_api_request *req, void *ud)
{
	struct hubble *h = ud;
	json_t *doc = hubble_status_json(h);
	char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	int rc;

	json_decref(doc);
	if (text == NULL)
		return -ENOMEM;
	rc = h->api->reply_json(req, 200, text);
	free(text);
	return rc;
}

static void
hubble_metrics(bw_metrics_out *out, void *ud)
{
	struct hubble *h = ud;
	const struct bw_core_api *api = h->api;
	const char *inst = api->instance_name(h->ctx);
	struct hubble_srv_stats ss;
	struct hubble_flows_stats fs;
	size_t nm;
	const struct hubble_method *m = hubble_methods(&nm);
	static const char *const codes[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
		"DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
		"PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
		"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
		"UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
	};

	const struct hubble_ff_stats *ff = hubble_flows_ff_stats(h);
	static const char *const l7names[HUBBLE_L7_N] = { "http", "dns", "kafka", "other" };
	const char *name;

	hubble_srv_stats(h, &ss);
	hubble_flows_stats(h, &fs);
	api->metrics_printf(out,
		"# HELP bulwark_hubble_connections Open connections to the Hubble gRPC API.\n"
		"# TYPE bulwark_hubble_connections gauge\n"
		"bulwark_hubble_connections{instance=\"%s\"} %" PRIu64 "\n"
		"# HELP bulwark_hubble_connections_refused_total Connections closed at accept (max_connections).\n"
		"# TYPE bulwark_hubble_connections_refused_total counter\n"
		"bulwark_hubble_connections_refused_total{instance=\"%s\"} %" PRIu64 "\n"
		"# HELP bulwark_hubble_streams Calls open on the Hubble gRPC API.\n"
		"# TYPE bulwark_hubble_streams gauge\n"
		"bulwark_hubble_streams{instance=\"%s\"} %" PRIu64 "\n"
		"# HELP bulwark_hubble_streams_refused_total Calls refused with RESOURCE_EXHAUSTED (max_streams).\n"
		"# TYPE bulwark_hubble_streams_refused_total counter\n"
		"bulwark_hubble_streams_refused_total{instance=\"%s\"} %" PRIu64 "\n"
		"# HELP bulwark_hubble_flows_sent_total Flows sent to GetFlows clients.\n"
		"# TYPE bulwark_hubble_flows_sent_total counter\n"
		"bulwark_hubble_flows_sent_total{instance=\"%s\"} %" PRIu64 "\n"
		"# HELP bulwark_hubble_flows_lost_total Flows GetFlows clients missed because they read too slowly (sent to them as lost events).\n"
		"# TYPE bulwark_hubble_flows_lost_total counter\n"
		"bulwark_hubble_flows_lost_total{instance=\"%s\"} %" PRIu64 "\n"
		"# HELP bulwark_hubble_followers_dropped_total Followers disconnected because their client stopped reading (stall_timeout).\n"
		"# TYPE bulwark_hubble_followers_dropped_total counter\n"
		"bulwark_hubble_followers_dropped_total{instance=\"%s\"} %" PRIu64 "\n",
		inst, ss.connections, inst, ss.connections_refused, inst, ss.streams,
		inst, ss.streams_refused, inst, fs.flows_sent, inst, fs.lost_sent,
		inst, fs.stalled_dropped);
	api->metrics_printf(out,
		"# HELP bulwark_hubble_calls_total Calls to the Hubble gRPC API, by method.\n"
		"# TYPE bulwark_hubble_calls_total counter\n");
	for (size_t i = 0; i < nm && i < 16; i++)
		api->metrics_printf(out,
			"bulwark_hubble_calls_total{instance=\"%s\",method=\"%s\"} %" PRIu64 "\n",
			inst, m[i].name, ss.calls_total[i]);
	api->metrics_printf(out,
		"# HELP bulwark_hubble_call_status_total Calls ended, by gRPC status code.\n"
		"# TYPE bulwark_hubble_call_status_total counter\n");
	for (size_t i = 0; i < 17; i++)
		if (ss.codes_total[i] != 0 || i == 0)
			api->metrics_printf(out,
				"bulwark_hubble_call_status_total{instance=\"%s\",code=\"%s\"} %" PRIu64 "\n",
				inst, codes[i], ss.codes_total[i]);
	api->metrics_printf(out,
		"# HELP bulwark_hubble_l7_flows_sent_total L7 flows sent to GetFlows clients, by protocol (part of bulwark_hubble_flows_sent_total).\n"
		"# TYPE bulwark_hubble_l7_flows_sent_total counter\n");
	for (size_t i = 0; i < HUBBLE_L7_N; i++)
		api->metrics_printf(out,
			"bulwark_hubble_l7_flows_sent_total{instance=\"%s\",protocol=\"%s\"} %" PRIu64 "\n",
			inst, l7names[i], fs.l7_sent[i]);
	api->metrics_printf(out,
		"# HELP bulwark_hubble_filter_fields_total GetFlows filters (whitelist and blacklist) that set each FlowFilter field.\n"
		"# TYPE bulwark_hubble_filter_fields_total counter\n");
	for (size_t i = 0; (name = hubble_ff_field_name(i)) != NULL; i++)
		if (ff->used[i] != 0)
			api->metrics_printf(out,
				"bulwark_hubble_filter_fields_total{instance=\"%s\",field=\"%s\"} %" PRIu64 "\n",
				inst, name, ff->used[i]);
	api->metrics_printf(out,
		"# HELP bulwark_hubble_filter_refused_total GetFlows calls refused (INVALID_ARGUMENT) for a FlowFilter field: one bulwark cannot match, CEL, an unknown field number, or a bad value.\n"
		"# TYPE bulwark_hubble_filter_refused_total counter\n");
	for (size_t i = 0; (name = hubble_ff_field_name(i)) != NULL; i++)
		if (ff->refused[i] != 0)
			api->metrics_printf(out,
				"bulwark_hubble_filter_refused_total{instance=\"%s\",field=\"%s\"} %" PRIu64 "\n",
				inst, name, ff->refused[i]);
}

/* ---- lifecycle ------------------------------------------------------------------- */

static const struct bw_core_api *hubble_api; /* the same for every instance */

static int
hubble_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *confp)
{
	struct hubble *h;
	char path[256];
	int rc;

	if (!BW_API_HAS(api, flow_followers_account)) {
		api->log(ctx, BW_LOG_ERR,
			 "this daemon lacks the flow ring API (module ABI 1.2)");
		return -ENOTSUP;
	}
	hubble_api = api;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	h->ctx = ctx;
	h->api = api;
	h->conf = confp;
	h->base = api->event_base(ctx);
	api->set_data(ctx, h);
	if ((rc = hubble_flows_init(h)) < 0)
		goto fail;
	snprintf(path, sizeof(path), "/v1/hubble/%s/status", api->instance_name(ctx));
	if (strcmp(api->instance_name(ctx), "hubble-observer") == 0)
		snprintf(path, sizeof(path), "/v1/hubble/status");
	if ((rc = api->api_route(ctx, "GET", path, hubble_status_route, h, NULL)) < 0 ||
	    (rc = api->metrics_register(ctx, hubble_metrics, h, NULL)) < 0)
		goto fail;
	return 0;
fail:
	hubble_flows_fini(h);
	api->set_data(ctx, NULL);
	free(h);
	return rc;
}

static int
hubble_start(bw_module_ctx *ctx)
{
	struct hubble *h = hubble_api->get_data(ctx);
	char err[512] = "";
	struct timeval one = { 1, 0 };
	int rc;

	h->start_ns = hubble_now_ns();
	hubble_tick(-1, 0, h);
	h->tick = event_new(h->base, -1, EV_PERSIST, hubble_tick, h);
	if (h->tick == NULL || event_add(h->tick, &one) < 0)
		return -ENOMEM;
	if ((rc = hubble_srv_start(h, err, sizeof(err))) < 0) {
		hubble_log(h, BW_LOG_ERR, "%s", err);
		return rc;
	}
	hubble_log(h, BW_LOG_INFO, "Hubble API on %s%s%s%s", hubble_srv_address(h),
		   h->conf->listen != NULL && *h->conf->listen ? " and " : "",
		   h->conf->listen != NULL && *h->conf->listen
			   ? (hubble_srv_tls(h) ? "tls://" : "") : "",
		   h->conf->listen != NULL ? h->conf->listen : "");
	return 0;
}

static void
hubble_stop(bw_module_ctx *ctx)
{
	struct hubble *h = hubble_api->get_data(ctx);

	if (h == NULL)
		return;
	hubble_srv_stop(h);
	if (h->tick != NULL) {
		event_free(h->tick);
		h->tick = NULL;
	}
}

static void
hubble_fini(bw_module_ctx *ctx)
{
	struct hubble *h = hubble_api->get_data(ctx);

	if (h == NULL)
		return;
	hubble_srv_stop(h);
	if (h->tick != NULL)
		event_free(h->tick);
	hubble_flows_fini(h);
	hubble_api->set_data(ctx, NULL);
	free(h);
}

BW_MODULE_DEFINE(
	.name = "hubble-observer",
	.version = "1.0",
	.description = "Hubble's gRPC API (observer.Observer) for the hubble CLI and Hubble UI",
	.conf_keys = hubble_keys,
	.conf_size = sizeof(struct hubble_conf),
	.init = hubble_init,
	.start = hubble_start,
	.stop = hubble_stop,
	.fini = hubble_fini,
	.check = hubble_check,
);
