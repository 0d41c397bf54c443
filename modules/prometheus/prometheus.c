/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/prometheus/prometheus.c - the prometheus module: serves
 * GET http://<listen>/metrics in the Prometheus text format (0.0.4) from
 * an evhttp listener on the daemon's event loop.
 *
 * A scrape returns, in this order: the flow families this instance counts
 * (Hubble's names, prom_flows.c), the families read from the core at scrape
 * time (prom_node.c), the module's own cardinality bookkeeping, and then
 * whatever other modules registered with metrics_register(). Every family
 * carries # HELP and # TYPE; families and series come in a fixed order
 * (labelled families sorted by label values), so the output is stable.
 *
 * One instance per section ([prometheus], [prometheus:NAME]); each has its
 * own listener and its own flow counters (counted from its start).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "lib/httpguard.h"
#include "lib/listenaddr.h"
#include "prom.h"

struct prom_conf {
	char *listen;
	int64_t max_series;
};

struct prom_state {
	bw_module_ctx *ctx;
	const struct bw_core_api *api;
	const struct prom_conf *conf;
	struct evhttp *http;
	struct bw_httpguard *guard; /* connection cap, request deadline, accept back-off */
	struct prom_flows *flows;
	uint64_t scrapes;
};

/* The core's table (the same for every instance; stop/fini do not get it). */
static const struct bw_core_api *prom_api;

static const struct bw_conf_key prom_keys[] = {
	{ .name = "listen", .type = BW_CONF_STRING, .def = "127.0.0.1:9962",
	  .offset = offsetof(struct prom_conf, listen), .flags = BW_CONF_F_LISTEN,
	  .help = "address of the /metrics listener: HOST:PORT, [IPV6]:PORT or :PORT (every address)" },
	{ .name = "max_series", .type = BW_CONF_INT, .def = "2000",
	  .offset = offsetof(struct prom_conf, max_series), .min = 1,
	  .max = 1000000,
	  .help = "series kept per labelled family (1 .. 1000000); further label values are counted as \"other\"" },
	BW_CONF_KEY_END,
};

/*
 * The listen key, for check() and init(): 0 with host and port, or
 * -EINVAL with the message in err.
 */
static int
prom_listen(const struct prom_conf *conf, char *host, size_t hostlen,
	    uint16_t *port, char *err, size_t errlen)
{
	const char *why = "missing";

	if (conf->listen != NULL &&
	    (why = bw_listen_parse(conf->listen, host, hostlen, port)) == NULL)
		return 0;
	snprintf(err, errlen, "'%s' is not a listen address (HOST:PORT, "
		 "[IPV6]:PORT or :PORT): %s",
		 conf->listen != NULL ? conf->listen : "", why);
	return -EINVAL;
}

/* check() (ABI 1.1): a config error before init, for -n and on SIGHUP. */
static int
prom_check(const void *confp, char *err, size_t errlen, const char **key)
{
	char host[256];
	uint16_t port = 0;

	*key = "listen";
	return prom_listen(confp, host, sizeof(host), &port, err, errlen);
}

/* ---- scrape ------------------------------------------------------------------------ */

struct prom_bounds {
	struct evbuffer *out;
	int folded; /* 0: write series counts, 1: folded counts */
};

static void
prom_bound_line(const struct prom_vec *v, void *arg)
{
	struct prom_bounds *b = arg;

	if (b->folded) {
		evbuffer_add_printf(b->out, "bulwark_metrics_folded_total{metric=\"%s\"} ",
				    prom_vec_name(v));
		prom_value(b->out, (double)prom_vec_folded(v));
	} else {
		evbuffer_add_printf(b->out, "bulwark_metrics_series{metric=\"%s\"} ",
				    prom_vec_name(v));
		prom_value(b->out, (double)prom_vec_series(v));
	}
	evbuffer_add(b->out, "\n", 1);
}

static void
prom_render(struct prom_state *st, struct evbuffer *out)
{
	struct prom_bounds b = { out, 0 };
	size_t ep_series;
	char *text = NULL;
	size_t len = 0;

	prom_flows_write(st->flows, out);
	ep_series = prom_node_write(st->api, (size_t)st->conf->max_series, out);

	prom_family(out, "bulwark_metrics_max_series",
		    "Series limit of each labelled family ([prometheus] max_series)",
		    "gauge");
	prom_sample(out, "bulwark_metrics_max_series",
		    (double)st->conf->max_series);
	prom_family(out, "bulwark_metrics_series",
		    "Series in each bounded family", "gauge");
	prom_flows_foreach_vec(st->flows, prom_bound_line, &b);
	if (BW_API_HAS(st->api, endpoint_foreach)) {
		evbuffer_add_printf(out, "bulwark_metrics_series{metric=\"%s\"} ",
				    "bulwark_policy_endpoint_enforcement_status");
		prom_value(out, (double)ep_series);
		evbuffer_add(out, "\n", 1);
	}
	prom_family(out, "bulwark_metrics_folded_total",
		    "Increments counted in an \"other\" series because the family had max_series series",
		    "counter");
	b.folded = 1;
	prom_flows_foreach_vec(st->flows, prom_bound_line, &b);
	prom_family(out, "bulwark_metrics_scrapes_total",
		    "Scrapes of this listener's /metrics", "counter");
	prom_sample(out, "bulwark_metrics_scrapes_total", (double)st->scrapes);

	/* Families other modules registered with metrics_register(). */
	if (BW_API_HAS(st->api, metrics_collect) &&
	    st->api->metrics_collect(&text, &len) == 0) {
		evbuffer_add(out, text, len);
		free(text);
	}
}

static void
prom_reply_json(struct evhttp_request *req, int code, const char *reason,
		const char *json)
{
	struct evbuffer *body = evbuffer_new();

	if (body == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_add_printf(body, "%s\n", json);
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "application/json");
	evhttp_send_reply(req, code, reason, body);
	evbuffer_free(body);
}

static void
prom_http_cb(struct evhttp_request *req, void *arg)
{
	struct prom_state *st = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct evbuffer *out;

	/* answered at once: the next request on the connection has its deadline */
	bw_httpguard_replied(st->guard, req);
	if (path == NULL || strcmp(path, "/metrics") != 0) {
		prom_reply_json(req, 404, "Not Found",
			"{\"error\": \"not found: metrics are served at GET /metrics\"}");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Allow", "GET, HEAD");
		prom_reply_json(req, 405, "Method Not Allowed",
			"{\"error\": \"method not allowed: use GET /metrics\"}");
		return;
	}
	if ((out = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	st->scrapes++;
	prom_render(st, out);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static void
prom_state_free(struct prom_state *st)
{
	if (st == NULL)
		return;
	if (st->http != NULL)
		evhttp_free(st->http);
	bw_httpguard_free(st->guard); /* after its server */
	prom_flows_free(st->flows);
	free(st);
}

/* The guard's messages through the module's log. */
static void
prom_guard_log(void *arg, int level, const char *msg)
{
	struct prom_state *st = arg;

	st->api->log(st->ctx, level, "%s", msg);
}

static int
prom_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *confp)
{
	const struct prom_conf *conf = confp;
	const char *inst = api->instance_name(ctx);
	struct prom_state *st;
	char host[256], err[512];
	uint16_t port = 0;
	int rc;

	if (!BW_API_HAS(api, flow_subscribe) || !BW_API_HAS(api, flow_stats)) {
		api->log(ctx, BW_LOG_ERR,
			 "this bulwarkd has no flow interface; upgrade it");
		return -ENOTSUP;
	}
	if (prom_listen(conf, host, sizeof(host), &port, err, sizeof(err)) < 0) {
		api->log(ctx, BW_LOG_ERR, "[%s] listen: %s", inst, err);
		return -EINVAL;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return -ENOMEM;
	prom_api = api;
	st->ctx = ctx;
	st->api = api;
	st->conf = conf;
	st->flows = prom_flows_new((size_t)conf->max_series);
	st->http = evhttp_new(api->event_base(ctx));
	if (st->flows == NULL || st->http == NULL) {
		prom_state_free(st);
		return -ENOMEM;
	}
	evhttp_set_gencb(st->http, prom_http_cb, st);
	evhttp_set_timeout(st->http, 30);
	evhttp_set_max_headers_size(st->http, 16384);
	evhttp_set_max_body_size(st->http, 4096);
	{
		struct bw_httpguard_limits lim = { PROM_MAX_CONNS, PROM_REQUEST_TIMEOUT, 0 };
		struct evhttp_bound_socket *bs;

		st->guard = bw_httpguard_new(api->event_base(ctx), st->http, &lim, inst,
					     prom_guard_log, st);
		if (st->guard == NULL) {
			prom_state_free(st);
			return -ENOMEM;
		}
		errno = 0;
		bs = evhttp_bind_socket_with_handle(st->http, host, port);
		if (bs == NULL) {
			rc = errno != 0 ? -errno : -EADDRNOTAVAIL;
			api->log(ctx, BW_LOG_ERR,
				 "[%s] listen: cannot listen on %s: %s", inst,
				 conf->listen, strerror(-rc));
			prom_state_free(st);
			return rc;
		}
		if ((rc = bw_httpguard_attach(st->guard, bs)) < 0) {
			prom_state_free(st);
			return rc;
		}
	}
	if ((rc = api->flow_subscribe(ctx, prom_flows_count, st->flows, NULL)) < 0) {
		api->log(ctx, BW_LOG_ERR, "cannot subscribe to flows: %s",
			 strerror(-rc));
		prom_state_free(st);
		return rc;
	}
	api->set_data(ctx, st);
	api->log(ctx, BW_LOG_NOTICE, "serving metrics at http://%s/metrics",
		 conf->listen);
	return 0;
}

/* Close the listener when the loop stops; counters live until fini. */
static void
prom_stop(bw_module_ctx *ctx)
{
	struct prom_state *st = prom_api != NULL ? prom_api->get_data(ctx) : NULL;

	if (st != NULL && st->http != NULL) {
		evhttp_free(st->http);
		st->http = NULL;
		bw_httpguard_free(st->guard);
		st->guard = NULL;
	}
}

static void
prom_fini(bw_module_ctx *ctx)
{
	struct prom_state *st = prom_api != NULL ? prom_api->get_data(ctx) : NULL;

	prom_state_free(st);
	if (prom_api != NULL)
		prom_api->set_data(ctx, NULL);
}

BW_MODULE_DEFINE(
	.name = "prometheus",
	.version = "1.0",
	.description = "Prometheus metrics (Hubble's flow metrics, endpoints, policy, datapath) on GET /metrics",
	.conf_keys = prom_keys,
	.conf_size = sizeof(struct prom_conf),
	.init = prom_init,
	.stop = prom_stop,
	.fini = prom_fini,
	.check = prom_check,
);
