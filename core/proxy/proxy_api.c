/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/proxy/proxy_api.c - the engine's start and stop, its [proxy]
 * limits, GET /v1/proxy, the "proxy" section of GET /v1/status, and its
 * metrics.
 *
 * The metrics are written only while at least one L7 parser is
 * registered: a daemon without L7 modules exports no proxy families
 * (docs/metrics.md).
 */
#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "core/api.h"
#include "core/config.h"
#include "core/log.h"
#include "core/module/registry.h"
#include "core/proxy/proxy_int.h"

static int pxa_up;

static void
pxa_limits_from(const struct bw_daemon_conf *dc, struct bw_proxy_limits *lim)
{
	bw_proxy_get_limits(lim);
	if (dc == NULL)
		return;
	lim->max_connections = (uint32_t)dc->proxy_max_connections;
	lim->buffer_size = (uint32_t)dc->proxy_buffer_size;
	lim->max_message_head = (uint32_t)dc->proxy_max_message_head;
	lim->head_timeout_ms = (uint64_t)dc->proxy_head_timeout;
	lim->idle_timeout_ms = (uint64_t)dc->proxy_idle_timeout;
	lim->connect_timeout_ms = (uint64_t)dc->proxy_connect_timeout;
}

static void
pxa_conf_changed(const struct bw_daemon_conf *old,
		 const struct bw_daemon_conf *cur, void *arg)
{
	struct bw_proxy_limits lim;

	pxa_limits_from(cur, &lim);
	bw_proxy_set_limits(&lim);
}

/* ---- status ------------------------------------------------------------------ */

static void
pxa_parser_json(const struct bw_l7_parser *p, void *arg)
{
	struct px_parser *pp = px_parser_lookup(p->name);
	json_t *o = json_pack("{s:s, s:s}", "name", p->name, "description",
			      p->description != NULL ? p->description : "");

	if (o == NULL)
		return;
	if (pp != NULL) {
		json_object_set_new(o, "connections", json_integer((json_int_t)pp->active));
		json_object_set_new(o, "connections_total", json_integer((json_int_t)pp->conns));
		json_object_set_new(o, "requests", json_integer((json_int_t)pp->received));
		json_object_set_new(o, "forwarded", json_integer((json_int_t)pp->forwarded));
		json_object_set_new(o, "denied", json_integer((json_int_t)pp->denied));
		json_object_set_new(o, "parse_errors", json_integer((json_int_t)pp->parse_errors));
	}
	json_array_append_new(arg, o);
}

static void
pxa_port_json(const char *parser, int family, uint16_t port, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s, s:i, s:i}", "parser", parser,
					     "family", family, "port", (int)port));
}

static json_t *
pxa_status(void *arg)
{
	struct bw_proxy_stats st;
	struct bw_proxy_limits lim;
	json_t *o, *parsers = json_array();

	bw_proxy_stats_get(&st);
	bw_proxy_get_limits(&lim);
	bw_proxy_parser_foreach(pxa_parser_json, parsers);
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
		      "connections", (json_int_t)st.active,
		      "listeners", (json_int_t)st.listeners,
		      "accepted", (json_int_t)st.accepted,
		      "refused", (json_int_t)st.refused,
		      "closed", (json_int_t)st.closed,
		      "upstream_errors", (json_int_t)st.upstream_errors,
		      "head_timeouts", (json_int_t)st.timeouts_head,
		      "idle_timeouts", (json_int_t)st.timeouts_idle,
		      "too_large", (json_int_t)st.too_large,
		      "parse_errors", (json_int_t)st.parse_errors,
		      "requests", (json_int_t)st.requests,
		      "forwarded", (json_int_t)st.forwarded,
		      "denied", (json_int_t)st.denied,
		      "responses", (json_int_t)st.responses,
		      "buffer_bytes", (json_int_t)st.buffer_bytes,
		      "parsers", parsers);
	if (o != NULL) {
		json_t *ports = json_array();

		bw_proxy_redirect_ports(pxa_port_json, ports);
		json_object_set_new(o, "redirect_listeners", ports);
	}
	if (o != NULL)
		json_object_set_new(o, "limits",
			json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
				  "max_connections", (json_int_t)lim.max_connections,
				  "buffer_size", (json_int_t)lim.buffer_size,
				  "max_message_head", (json_int_t)lim.max_message_head,
				  "head_timeout_ms", (json_int_t)lim.head_timeout_ms,
				  "idle_timeout_ms", (json_int_t)lim.idle_timeout_ms,
				  "connect_timeout_ms", (json_int_t)lim.connect_timeout_ms));
	return o;
}

static int
pxa_get(struct bw_api_request *req, void *arg)
{
	json_t *o = pxa_status(NULL);

	if (o == NULL)
		return bw_api_reply_error(req, 500, "out of memory");
	return bw_api_reply_json(req, 200, o);
}

/* ---- metrics ------------------------------------------------------------------ */

struct pxa_metrics {
	struct bw_metrics_out *out;
	int header;
	const char *rule;
};

static void
pxa_l7_line(const struct bw_l7_parser *p, void *arg)
{
	struct pxa_metrics *m = arg;
	struct px_parser *pp = px_parser_lookup(p->name);
	uint64_t v = 0;

	if (pp == NULL)
		return;
	if (!strcmp(m->rule, "received"))
		v = pp->received;
	else if (!strcmp(m->rule, "forwarded"))
		v = pp->forwarded;
	else if (!strcmp(m->rule, "denied"))
		v = pp->denied;
	else
		v = pp->parse_errors;
	bw_metrics_printf(m->out, "cilium_policy_l7_total{proxy_type=\"%s\",rule=\"%s\"} %llu\n",
			  p->name, m->rule, (unsigned long long)v);
}

static void
pxa_count(const struct bw_l7_parser *p, void *arg)
{
	(*(int *)arg)++;
}

static void
pxa_collect(struct bw_metrics_out *out, void *arg)
{
	static const char *const rules[] = { "denied", "forwarded", "parse_errors", "received" };
	struct pxa_metrics m = { out, 0, NULL };
	struct bw_proxy_stats st;
	int nparsers = 0;

	bw_proxy_parser_foreach(pxa_count, &nparsers);
	if (nparsers == 0)
		return;
	bw_proxy_stats_get(&st);
	bw_metrics_printf(out,
		"# HELP bulwark_proxy_connections Connections open through the L7 proxy engine.\n"
		"# TYPE bulwark_proxy_connections gauge\n"
		"bulwark_proxy_connections %u\n", st.active);
	bw_metrics_printf(out,
		"# HELP bulwark_proxy_connections_total Connections redirected to the L7 proxy engine, by what became of them.\n"
		"# TYPE bulwark_proxy_connections_total counter\n"
		"bulwark_proxy_connections_total{result=\"accepted\"} %llu\n"
		"bulwark_proxy_connections_total{result=\"refused\"} %llu\n",
		(unsigned long long)st.accepted, (unsigned long long)st.refused);
	bw_metrics_printf(out,
		"# HELP bulwark_proxy_errors_total Proxied connections ended by an error or a limit.\n"
		"# TYPE bulwark_proxy_errors_total counter\n"
		"bulwark_proxy_errors_total{reason=\"head_timeout\"} %llu\n"
		"bulwark_proxy_errors_total{reason=\"idle_timeout\"} %llu\n"
		"bulwark_proxy_errors_total{reason=\"parse_error\"} %llu\n"
		"bulwark_proxy_errors_total{reason=\"too_large\"} %llu\n"
		"bulwark_proxy_errors_total{reason=\"upstream\"} %llu\n",
		(unsigned long long)st.timeouts_head, (unsigned long long)st.timeouts_idle,
		(unsigned long long)st.parse_errors, (unsigned long long)st.too_large,
		(unsigned long long)st.upstream_errors);
	bw_metrics_printf(out,
		"# HELP bulwark_proxy_buffer_bytes Bytes of buffers the L7 proxy engine holds for bytes in flight.\n"
		"# TYPE bulwark_proxy_buffer_bytes gauge\n"
		"bulwark_proxy_buffer_bytes %llu\n", (unsigned long long)st.buffer_bytes);
	bw_metrics_printf(out,
		"# HELP cilium_policy_l7_total L7 requests seen by the proxy, by what policy did with them.\n"
		"# TYPE cilium_policy_l7_total counter\n");
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		m.rule = rules[i];
		bw_proxy_parser_foreach(pxa_l7_line, &m);
	}
}

/* ---- life cycle ------------------------------------------------------------------ */

int
bw_proxy_init(struct event_base *base, const struct bw_daemon_conf *dc)
{
	struct bw_proxy_limits lim;
	int rc;

	pxa_limits_from(dc, &lim);
	bw_proxy_set_limits(&lim);
	if ((rc = px_engine_start(base)) < 0)
		return rc;
	if ((rc = bw_api_route_add("GET", "/v1/proxy", pxa_get, NULL)) < 0 && rc != -EEXIST) {
		bw_err_errno(rc, "proxy: cannot register GET /v1/proxy");
		return rc;
	}
	rc = bw_api_status_add("proxy", pxa_status, NULL);
	if (rc < 0 && rc != -EEXIST)
		bw_warn_errno(rc, "proxy: no status section");
	if (bw_metrics_register(pxa_collect, NULL, NULL, NULL) < 0)
		bw_warn("proxy: no metrics");
	if (bw_conf_watch(pxa_conf_changed, NULL) < 0)
		bw_warn("proxy: [proxy] changes will need a restart");
	pxa_up = 1;
	return 0;
}

void
bw_proxy_fini(void)
{
	if (pxa_up) {
		bw_api_status_remove("proxy");
		bw_api_route_remove("GET", "/v1/proxy");
	}
	px_engine_fini();
	px_parsers_fini();
	pxa_up = 0;
}
