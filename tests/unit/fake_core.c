/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/fake_core.c - the fake struct bw_core_api for module unit
 * tests (tests/unit/fake_core.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bulwark/hook.h>
#include <bulwark/l7.h>

#include "lib/flowjson.h"
#include "tests/unit/fake_core.h"

struct fake_core fake_core;

#define FAKE(ctx) ((struct fake_ctx *)(void *)(ctx))

/* Append formatted text to a malloc'd string. */
static void
fake_vappend(char **s, const char *fmt, va_list ap)
{
	size_t n = *s != NULL ? strlen(*s) : 0;
	va_list aq;
	int len;
	char *p;

	va_copy(aq, ap);
	len = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (len < 0 || (p = realloc(*s, n + (size_t)len + 1)) == NULL)
		return;
	vsnprintf(p + n, (size_t)len + 1, fmt, ap);
	*s = p;
}

static void __attribute__((format(printf, 2, 3)))
fake_append(char **s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fake_vappend(s, fmt, ap);
	va_end(ap);
}

static void
fake_vlog(bw_module_ctx *ctx, enum bw_log_level level, const char *fmt,
	  va_list ap)
{
	size_t n = strlen(fake_core.log);
	va_list aq;

	(void)ctx;
	if (fake_core.log_stderr && level <= BW_LOG_WARNING) {
		va_copy(aq, ap);
		vfprintf(stderr, fmt, aq);
		va_end(aq);
		fputc('\n', stderr);
	}
	vsnprintf(fake_core.log + n, sizeof(fake_core.log) - n, fmt, ap);
	n = strlen(fake_core.log);
	if (n + 1 < sizeof(fake_core.log))
		strcat(fake_core.log, "\n");
}

static void __attribute__((format(printf, 3, 4)))
fake_log(bw_module_ctx *ctx, enum bw_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fake_vlog(ctx, level, fmt, ap);
	va_end(ap);
}

static const char *
fake_module_name(bw_module_ctx *ctx)
{
	return ctx != NULL && FAKE(ctx)->module != NULL ? FAKE(ctx)->module : "test";
}

static const char *
fake_instance_name(bw_module_ctx *ctx)
{
	return ctx != NULL && FAKE(ctx)->instance != NULL ? FAKE(ctx)->instance
							   : fake_module_name(ctx);
}

static void
fake_set_data(bw_module_ctx *ctx, void *data)
{
	FAKE(ctx)->data = data;
}

static void *
fake_get_data(bw_module_ctx *ctx)
{
	return FAKE(ctx)->data;
}

static void *
fake_event_base(bw_module_ctx *ctx)
{
	(void)ctx;
	return fake_core.base;
}

static const char *
fake_state_dir(bw_module_ctx *ctx)
{
	return ctx != NULL ? FAKE(ctx)->state_dir : NULL;
}

static const void *
fake_conf(bw_module_ctx *ctx)
{
	return ctx != NULL ? FAKE(ctx)->conf : NULL;
}

static int
fake_api_route(bw_module_ctx *ctx, const char *method, const char *path,
	       bw_api_handler handler, void *user_data, bw_free_fn free_fn)
{
	(void)ctx;
	snprintf(fake_core.route_method, sizeof(fake_core.route_method), "%s", method);
	snprintf(fake_core.route_path, sizeof(fake_core.route_path), "%s", path);
	fake_core.handler = handler;
	fake_core.handler_ud = user_data;
	fake_core.handler_free = free_fn;
	return 0;
}

static const char *
fake_req_method(bw_api_request *req)
{
	(void)req;
	return fake_core.route_method;
}

static const char *
fake_req_path(bw_api_request *req)
{
	(void)req;
	return fake_core.route_path;
}

static const char *
fake_req_query(bw_api_request *req, const char *name)
{
	(void)req;
	for (size_t i = 0; i < FAKE_QUERY_MAX && fake_core.query[i][0] != NULL; i++)
		if (strcmp(fake_core.query[i][0], name) == 0)
			return fake_core.query[i][1];
	return NULL;
}

static const char *
fake_req_body(bw_api_request *req, size_t *len)
{
	(void)req;
	if (len != NULL)
		*len = fake_core.body != NULL ? strlen(fake_core.body) : 0;
	return fake_core.body != NULL ? fake_core.body : "";
}

static int
fake_reply_json(bw_api_request *req, int status, const char *json)
{
	(void)req;
	fake_core.status = status;
	free(fake_core.reply);
	fake_core.reply = strdup(json);
	return 0;
}

static int __attribute__((format(printf, 3, 4)))
fake_reply_error(bw_api_request *req, int status, const char *fmt, ...)
{
	va_list ap;

	(void)req;
	fake_core.status = status;
	free(fake_core.reply);
	fake_core.reply = NULL;
	va_start(ap, fmt);
	fake_vappend(&fake_core.reply, fmt, ap);
	va_end(ap);
	return 0;
}

static int
fake_stream_begin(bw_api_request *req)
{
	(void)req;
	fake_core.status = 200;
	return 0;
}

static int
fake_stream_line(bw_api_request *req, const char *json)
{
	(void)req;
	fake_append(&fake_core.stream, "%s\n", json);
	return 0;
}

static int
fake_stream_end(bw_api_request *req)
{
	(void)req;
	return 0;
}

static int
fake_policy_format_register(bw_module_ctx *ctx, const struct bw_policy_format *f)
{
	fake_core.format = f;
	return fake_core.format_add != NULL ? fake_core.format_add(ctx, f) : 0;
}

static int
fake_identity_allocator_register(bw_module_ctx *ctx,
				 const struct bw_identity_allocator *a)
{
	fake_core.allocator = a;
	return fake_core.allocator_set != NULL ? fake_core.allocator_set(ctx, a) : 0;
}

static int
fake_metrics_register(bw_module_ctx *ctx,
		      void (*collect)(bw_metrics_out *out, void *user_data),
		      void *user_data, bw_free_fn free_fn)
{
	(void)ctx;
	fake_core.metrics_cb = collect;
	fake_core.metrics_ud = user_data;
	fake_core.metrics_free = free_fn;
	return 0;
}

static int __attribute__((format(printf, 2, 3)))
fake_metrics_printf(bw_metrics_out *out, const char *fmt, ...)
{
	va_list ap;

	(void)out;
	va_start(ap, fmt);
	fake_vappend(&fake_core.metrics, fmt, ap);
	va_end(ap);
	return 0;
}

static int
fake_flow_subscribe(bw_module_ctx *ctx,
		    void (*cb)(const struct bw_flow *flow, void *user_data),
		    void *user_data, bw_free_fn free_fn)
{
	(void)ctx;
	fake_core.flow_cb = cb;
	fake_core.flow_ud = user_data;
	fake_core.flow_free = free_fn;
	return 0;
}

/* The real writer (lib/flowjson.c): what the daemon hands out. */
static int
fake_flow_to_json(const struct bw_flow *flow, char **out)
{
	return bw_flowjson_text(flow, out);
}

/* Zero a size-prefixed struct as far as the caller knows it. */
static void
fake_zero_sized(void *p)
{
	size_t size;

	memcpy(&size, p, sizeof(size));
	memset(p, 0, size);
	memcpy(p, &size, sizeof(size));
}

static void
fake_flow_stats(struct bw_flow_stats *stats)
{
	fake_zero_sized(stats);
}

static int
fake_metrics_collect(char **out, size_t *len)
{
	*out = strdup("");
	*len = 0;
	return *out != NULL ? 0 : -1;
}

static void
fake_node_stats(struct bw_node_stats *st)
{
	fake_zero_sized(st);
}

static void
fake_endpoint_foreach(void (*cb)(const char *ns, const char *pod,
				 unsigned flags, void *arg),
		      void *arg)
{
	(void)cb;
	(void)arg;
}

static int
fake_datapath_counters(void (*cb)(uint32_t reason, const char *reason_text,
				  uint32_t direction, uint64_t packets,
				  uint64_t bytes, void *arg),
		       void *arg)
{
	(void)cb;
	(void)arg;
	return 0;
}

static int
fake_map_usage(void (*cb)(const char *map_name, uint64_t entries,
			  uint64_t max_entries, void *arg),
	       void *arg)
{
	(void)cb;
	(void)arg;
	return 0;
}

static unsigned
fake_hook_active(bw_module_ctx *ctx)
{
	(void)ctx;
	return fake_core.hook_flags;
}

/* hook_dns/http/kafka: counted; BW_HOOK_NONE unless the test says else */
static int
fake_hook(uint64_t *ticket)
{
	fake_core.hook_calls++;
	if (ticket != NULL)
		*ticket = fake_core.hook_calls;
	return fake_core.hook_rc != 0 ? fake_core.hook_rc : BW_HOOK_NONE;
}

static int
fake_hook_dns(bw_module_ctx *ctx, const struct bw_hook_dns *q,
	      void (*done)(const struct bw_hook_result *res, void *user_data),
	      void *user_data, uint64_t *ticket)
{
	return fake_hook(ticket);
}

static int
fake_hook_http(bw_module_ctx *ctx, const struct bw_hook_http *req,
	       void (*done)(const struct bw_hook_result *res, void *user_data),
	       void *user_data, uint64_t *ticket)
{
	return fake_hook(ticket);
}

static int
fake_hook_kafka(bw_module_ctx *ctx, const struct bw_hook_kafka *req,
		void (*done)(const struct bw_hook_result *res, void *user_data),
		void *user_data, uint64_t *ticket)
{
	return fake_hook(ticket);
}

static void
fake_hook_cancel(bw_module_ctx *ctx, uint64_t ticket)
{
	fake_core.hook_cancelled = ticket;
}

static int
fake_l7_parser_register(bw_module_ctx *ctx, const struct bw_l7_parser *parser)
{
	fake_core.l7_parser = parser;
	return 0;
}

static int
fake_l7_inject(bw_l7_conn *conn, int dir, const void *data, size_t len)
{
	return 0;
}

/* The verdict the module asked for: no request hook changes it here. */
static int
fake_l7_record(bw_l7_conn *conn, const struct bw_l7_record *rec)
{
	fake_core.l7_records++;
	return rec->verdict;
}

static int
fake_l7_resume(bw_l7_conn *conn, int dir)
{
	return -EPIPE;
}

static const struct bw_l7_conn_info *
fake_l7_conn_info(bw_l7_conn *conn)
{
	return NULL;
}

static void
fake_daemon_info(struct bw_daemon_info *info)
{
	fake_zero_sized(info);
}

/* An empty flow ring. */
static void
fake_flow_ring_range(uint64_t *first, uint64_t *next)
{
	*first = *next = 1;
}

static const struct bw_flow *
fake_flow_ring_at(uint64_t seq)
{
	return NULL;
}

static void
fake_namespace_foreach(void (*cb)(const char *ns, void *arg), void *arg)
{
}

static void
fake_flow_followers_account(int delta, uint64_t lost)
{
	fake_core.followers += delta;
	fake_core.followers_lost += lost;
}

/* Transparent redirects: no datapath here, so none are set up. */
static int
fake_redirect_listen(bw_module_ctx *ctx, const char *proxy_class, int protocol,
		     int family, uint16_t port, uint16_t *bound_port)
{
	return -ENXIO;
}

static int
fake_redirect_lookup(bw_module_ctx *ctx, int protocol, const struct sockaddr *client,
		     const struct sockaddr *orig_dst, struct bw_redirect_conn *conn)
{
	return -ENOENT;
}

static void
fake_redirect_release(struct bw_redirect_conn *conn)
{
}

static int
fake_redirect_upstream(bw_module_ctx *ctx, const struct bw_redirect_conn *conn)
{
	return -ENXIO;
}

static long
fake_redirect_recvmsg(int fd, void *buf, size_t len, struct sockaddr_storage *client,
		      struct sockaddr_storage *orig_dst)
{
	return -EAGAIN;
}

static int
fake_redirect_reply_udp(const struct sockaddr *orig_dst, const struct sockaddr *client,
			const void *buf, size_t len)
{
	return -ENXIO;
}

/* The adoption tools' views: the test's endpoints, no policy map here. */
static int
fake_reply_later(bw_api_request *req)
{
	return 0;
}

static void
fake_endpoint_walk(void (*cb)(const struct bw_endpoint_view *ep, void *arg),
		   void *arg)
{
	for (size_t i = 0; i < fake_core.n_endpoints; i++)
		cb(&fake_core.endpoints[i], arg);
}

static int
fake_policy_reach(uint32_t endpoint_id, int direction, int peer_class,
		  void (*cb)(const struct bw_flow_policy *p, void *arg), void *arg)
{
	return -ENXIO;
}

static int
fake_policy_isolation(uint32_t endpoint_id, int direction,
		      void (*cb)(const struct bw_flow_policy *p, int staged,
				 void *arg),
		      void *arg)
{
	return -ENXIO;
}

/* The alert bus: one subscriber, called synchronously by alert_publish. */
static void (*fake_alert_cb)(const char *json, void *user_data);
static void *fake_alert_ud;

static int
fake_alert_subscribe(bw_module_ctx *ctx, void (*cb)(const char *json, void *ud),
		     void *user_data, bw_free_fn free_fn)
{
	fake_alert_cb = cb;
	fake_alert_ud = user_data;
	return 0;
}

static int
fake_alert_publish(bw_module_ctx *ctx, const char *json)
{
	if (fake_alert_cb != NULL)
		fake_alert_cb(json, fake_alert_ud);
	return 0;
}

/* ---- in-process API calls (webui) ---------------------------------------- */

static int
fake_api_call(bw_module_ctx *ctx, const char *method, const char *target,
	      const char *body, size_t body_len, bw_api_call_fn cb, void *ud,
	      bw_api_call **call)
{
	char reply[1400];

	(void)ctx;
	if (method == NULL || target == NULL || cb == NULL || target[0] != '/')
		return -EINVAL;
	fake_core.api_calls++;
	snprintf(fake_core.api_call_method, sizeof(fake_core.api_call_method), "%s",
		 method);
	snprintf(fake_core.api_call_target, sizeof(fake_core.api_call_target), "%s",
		 target);
	free(fake_core.api_call_body);
	fake_core.api_call_body = strndup(body != NULL ? body : "", body_len);
	if (call != NULL)
		*call = NULL;
	if (fake_core.api_call_fn != NULL)
		return fake_core.api_call_fn(method, target, body, body_len, cb, ud,
					     call);
	snprintf(reply, sizeof(reply), "{\"error\":\"no API endpoint at %.*s; "
		 "check the path and that the module serving it is loaded "
		 "(bulwark modules)\"}", (int)strcspn(target, "?"), target);
	cb(BW_API_CALL_REPLY, 404, reply, strlen(reply), ud);
	return 0;
}

/* The advisor's members: history and what-if answered by the test. */
static int
fake_history_provider_register(bw_module_ctx *ctx, const struct bw_history_provider *p)
{
	fake_core.history_provider = p;
	return 0;
}

static int
fake_history_scan(bw_module_ctx *ctx, int64_t since_ms,
		  int (*row)(const struct bw_history_row *r, void *arg),
		  void (*done)(int err, const char *message, void *arg), void *arg)
{
	fake_core.history_since = since_ms;
	if (fake_core.history_rc < 0)
		return fake_core.history_rc;
	for (size_t i = 0; i < fake_core.n_history; i++)
		if (row(&fake_core.history[i], arg))
			break;
	done(fake_core.history_err, fake_core.history_err ? "history is unavailable: test"
							  : NULL, arg);
	return 0;
}

static bw_whatif *
fake_whatif_new(bw_module_ctx *ctx, const char *candidate, size_t len, const char *source,
		unsigned flags, char *err, size_t errlen)
{
	free(fake_core.whatif_candidate);
	fake_core.whatif_candidate = candidate != NULL ? strndup(candidate, len) : NULL;
	fake_core.whatif_flags = flags;
	fake_core.whatif_news++;
	if (fake_core.whatif_error != NULL) {
		snprintf(err, errlen, "%s", fake_core.whatif_error);
		errno = EINVAL;
		return NULL;
	}
	return (bw_whatif *)(void *)&fake_core;
}

static int
fake_whatif_replay(bw_whatif *w, const struct bw_whatif_conn *conns, size_t n,
		   struct bw_whatif_result *out)
{
	for (size_t i = 0; i < n; i++) {
		size_t size = out[i].size;

		memset(&out[i], 0, size);
		out[i].size = size;
		out[i].checked = 1;
		out[i].why = "";
		out[i].current.verdict = out[i].candidate.verdict = 1; /* FORWARDED */
		out[i].current.rule_index = out[i].candidate.rule_index = -1;
		out[i].current.entry_index = out[i].candidate.entry_index = -1;
		out[i].current.isolated_by = out[i].candidate.isolated_by = "";
		if (fake_core.whatif_judge != NULL)
			fake_core.whatif_judge(&conns[i], &out[i]);
	}
	return 0;
}

static void
fake_whatif_free(bw_whatif *w)
{
	fake_core.whatif_frees++;
}

static int
fake_policy_export(char **json)
{
	*json = strdup(fake_core.policies != NULL ? fake_core.policies : "{\"policies\": []}");
	return *json != NULL ? 0 : -ENOMEM;
}

static size_t
fake_fqdn_names(const char *address, const char *const **names)
{
	static const char *one[1];
	size_t n = fake_core.fqdn_address != NULL ? strlen(fake_core.fqdn_address) : 0;

	if (n == 0 || address == NULL || strncmp(address, fake_core.fqdn_address, n) ||
	    (address[n] != '\0' && address[n] != '/'))
		return 0;
	one[0] = fake_core.fqdn_name;
	*names = one;
	return 1;
}

static void
fake_api_call_cancel(bw_api_call *call)
{
	fake_core.api_call_cancels++;
	fake_core.api_call_cancelled = call;
}

/* DNS and FQDN policy: recorded; no datapath, nothing tracked. */
static int
fake_fqdn_ip_set(bw_module_ctx *ctx, int family, const uint8_t *addr,
		 const char *const *names, size_t nnames)
{
	fake_core.fqdn_ip_sets++;
	return 0;
}

static int
fake_fqdn_sync(bw_module_ctx *ctx)
{
	fake_core.fqdn_syncs++;
	return 0;
}

static uint32_t
fake_fqdn_ip_identity(int family, const uint8_t *addr)
{
	return 0;
}

static void
fake_fqdn_selector_foreach(void (*cb)(const char *selector, void *arg), void *arg)
{
}

static int
fake_ct_peers_alive(const uint8_t (*addrs)[16], size_t n, uint8_t *alive)
{
	if (n != 0 && alive != NULL)
		memset(alive, 0, n);
	return 0;
}

static int
fake_dns_subscribe(bw_module_ctx *ctx,
		   void (*cb)(const struct bw_dns_answer *answer, void *user_data),
		   void *user_data, bw_free_fn free_fn)
{
	fake_core.dns_cb = cb;
	fake_core.dns_ud = user_data;
	fake_core.dns_free = free_fn;
	return 0;
}

static int
fake_dns_publish(bw_module_ctx *ctx, const struct bw_dns_answer *answer)
{
	fake_core.dns_published++;
	if (fake_core.dns_cb != NULL)
		fake_core.dns_cb(answer, fake_core.dns_ud);
	return 0;
}

static int
fake_flow_publish(bw_module_ctx *ctx, const struct bw_flow *flow)
{
	fake_core.flows_published++;
	return 0;
}

static uint64_t
fake_redirect_generation(void)
{
	return fake_core.redirect_generation;
}

static const struct bw_core_api fake_api = {
	.size = sizeof(struct bw_core_api),
	.log = fake_log,
	.vlog = fake_vlog,
	.module_name = fake_module_name,
	.instance_name = fake_instance_name,
	.set_data = fake_set_data,
	.get_data = fake_get_data,
	.event_base = fake_event_base,
	.state_dir = fake_state_dir,
	.conf = fake_conf,
	.api_route = fake_api_route,
	.req_method = fake_req_method,
	.req_path = fake_req_path,
	.req_query = fake_req_query,
	.req_body = fake_req_body,
	.reply_json = fake_reply_json,
	.reply_error = fake_reply_error,
	.stream_begin = fake_stream_begin,
	.stream_line = fake_stream_line,
	.stream_end = fake_stream_end,
	.policy_format_register = fake_policy_format_register,
	.identity_allocator_register = fake_identity_allocator_register,
	.metrics_register = fake_metrics_register,
	.metrics_printf = fake_metrics_printf,
	.flow_subscribe = fake_flow_subscribe,
	.flow_to_json = fake_flow_to_json,
	.flow_stats = fake_flow_stats,
	.metrics_collect = fake_metrics_collect,
	.node_stats = fake_node_stats,
	.endpoint_foreach = fake_endpoint_foreach,
	.datapath_counters = fake_datapath_counters,
	.map_usage = fake_map_usage,
	/* ABI 1.2 */
	.hook_active = fake_hook_active,
	.hook_dns = fake_hook_dns,
	.hook_http = fake_hook_http,
	.hook_kafka = fake_hook_kafka,
	.hook_cancel = fake_hook_cancel,
	.l7_parser_register = fake_l7_parser_register,
	.l7_inject = fake_l7_inject,
	.l7_record = fake_l7_record,
	.l7_conn_info = fake_l7_conn_info,
	.daemon_info = fake_daemon_info,
	.flow_ring_range = fake_flow_ring_range,
	.flow_ring_at = fake_flow_ring_at,
	.namespace_foreach = fake_namespace_foreach,
	.flow_followers_account = fake_flow_followers_account,
	.redirect_listen = fake_redirect_listen,
	.redirect_lookup = fake_redirect_lookup,
	.redirect_release = fake_redirect_release,
	.redirect_upstream = fake_redirect_upstream,
	.redirect_recvmsg = fake_redirect_recvmsg,
	.redirect_reply_udp = fake_redirect_reply_udp,
	.reply_later = fake_reply_later,
	.endpoint_walk = fake_endpoint_walk,
	.policy_reach = fake_policy_reach,
	.policy_isolation = fake_policy_isolation,
	.alert_subscribe = fake_alert_subscribe,
	.alert_publish = fake_alert_publish,
	.api_call = fake_api_call,
	.api_call_cancel = fake_api_call_cancel,
	.l7_resume = fake_l7_resume,
	.fqdn_ip_set = fake_fqdn_ip_set,
	.fqdn_sync = fake_fqdn_sync,
	.fqdn_ip_identity = fake_fqdn_ip_identity,
	.fqdn_selector_foreach = fake_fqdn_selector_foreach,
	.ct_peers_alive = fake_ct_peers_alive,
	.dns_subscribe = fake_dns_subscribe,
	.dns_publish = fake_dns_publish,
	.flow_publish = fake_flow_publish,
	.redirect_generation = fake_redirect_generation,
	.history_provider_register = fake_history_provider_register,
	.history_scan = fake_history_scan,
	.whatif_new = fake_whatif_new,
	.whatif_replay = fake_whatif_replay,
	.whatif_free = fake_whatif_free,
	.policy_export = fake_policy_export,
	.fqdn_names = fake_fqdn_names,
};

const struct bw_core_api *
fake_core_api(void)
{
	return &fake_api;
}

void
fake_core_reset(void)
{
	free(fake_core.reply);
	free(fake_core.stream);
	free(fake_core.metrics);
	free(fake_core.api_call_body);
	free(fake_core.whatif_candidate);
	memset(&fake_core, 0, sizeof(fake_core));
}

int
fake_core_request(void)
{
	if (fake_core.handler == NULL)
		return -1;
	return fake_core.handler((bw_api_request *)(void *)&fake_core,
				 fake_core.handler_ud);
}

void
fake_core_collect(void)
{
	free(fake_core.metrics);
	fake_core.metrics = NULL;
	if (fake_core.metrics_cb != NULL)
		fake_core.metrics_cb((bw_metrics_out *)(void *)&fake_core,
				     fake_core.metrics_ud);
}
