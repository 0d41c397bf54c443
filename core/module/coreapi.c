/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/module/coreapi.c - struct bw_core_api, the table of core services handed
 * to every module instance's init().
 *
 * Each member is a thin wrapper over a core function that tags what the
 * module registers with its instance (so that disabling the instance drops
 * it) and checks what comes in from the module. The table is one static
 * const object; its size field lets a module test for members added later
 * (BW_API_HAS).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <event2/buffer.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include "core/api.h"
#include "core/config.h"
#include "core/datapath/datapath.h"
#include "core/datapath/redirect.h"
#include "lib/dropreason.h"
#include "core/node/endpoint.h"
#include "core/node/fqdn.h"
#include "core/policy/policy_int.h"
#include "core/policy/proxyconn.h"
#include "core/policy/resolver.h"
#include "core/policy/whatif.h"
#include "core/flow/flow.h"
#include "core/proxy/proxy.h"
#include "lib/flowjson.h"
#include "lib/prefix.h"
#include "core/log.h"
#include "core/module/alertbus.h"
#include "core/module/coreapi.h"
#include "core/module/history.h"
#include "core/module/hooks.h"
#include "core/module/module.h"
#include "core/module/registry.h"
#include "core/node/labels.h"
#include "core/state.h"

static void
coreapi_vlog(bw_module_ctx *ctx, enum bw_log_level level, const char *fmt,
	     va_list ap)
{
	bw_vlogx(ctx != NULL ? ctx->prefix : "module", (int)level, fmt, ap);
}

static void __attribute__((format(printf, 3, 4)))
coreapi_log(bw_module_ctx *ctx, enum bw_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	coreapi_vlog(ctx, level, fmt, ap);
	va_end(ap);
}

static const char *
coreapi_module_name(bw_module_ctx *ctx)
{
	return ctx->mod != NULL ? ctx->mod->desc->name : ctx->module;
}

static const char *
coreapi_instance_name(bw_module_ctx *ctx)
{
	return ctx->instance;
}

static void
coreapi_set_data(bw_module_ctx *ctx, void *data)
{
	ctx->data = data;
}

static void *
coreapi_get_data(bw_module_ctx *ctx)
{
	return ctx->data;
}

static void *
coreapi_event_base(bw_module_ctx *ctx)
{
	(void)ctx;
	return bw_modules_event_base();
}

static const char *
coreapi_state_dir(bw_module_ctx *ctx)
{
	const char *root = bw_modules_state_root();
	char *dir;
	int rc;

	if (ctx->state_dir != NULL)
		return ctx->state_dir;
	if (root == NULL || root[0] == '\0') {
		errno = ENOENT;
		return NULL;
	}
	if (asprintf(&dir, "%s/%s", root, ctx->instance) < 0) {
		errno = ENOMEM;
		return NULL;
	}
	if ((rc = bw_state_mkdir_p(dir, 0700)) < 0) {
		bw_logx(ctx->prefix, BW_LOG_ERR, "cannot create %s: %s", dir,
			strerror(-rc));
		free(dir);
		errno = -rc;
		return NULL;
	}
	ctx->state_dir = dir;
	return dir;
}

static const void *
coreapi_conf(bw_module_ctx *ctx)
{
	return ctx->conf;
}

static int
coreapi_api_route(bw_module_ctx *ctx, const char *method, const char *path,
		  bw_api_handler handler, void *user_data, bw_free_fn free_fn)
{
	int rc;

	if (path == NULL || strncmp(path, "/v1/", 4)) {
		bw_logx(ctx->prefix, BW_LOG_ERR,
			"API route %s must start with /v1/",
			path != NULL ? path : "(null)");
		return -EINVAL;
	}
	rc = bw_api_route_add_owned(method, path, handler, user_data, free_fn,
				    ctx);
	if (rc == -EEXIST)
		bw_logx(ctx->prefix, BW_LOG_ERR, "API route %s %s is taken",
			method, path);
	return rc;
}

static const char *
coreapi_req_method(bw_api_request *req)
{
	return bw_api_req_method(req);
}

static const char *
coreapi_req_path(bw_api_request *req)
{
	return bw_api_req_path(req);
}

static const char *
coreapi_req_query(bw_api_request *req, const char *name)
{
	return bw_api_req_query(req, name);
}

static const char *
coreapi_req_body(bw_api_request *req, size_t *len)
{
	return bw_api_req_body(req, len);
}

/* Modules hand us text: check it is JSON so the CLI never gets garbage. */
static int
coreapi_reply_json(bw_api_request *req, int status, const char *json)
{
	json_error_t jerr;
	json_t *doc;

	if (json == NULL ||
	    (doc = json_loads(json, JSON_DECODE_ANY, &jerr)) == NULL) {
		bw_err("api: %s %s: a module replied with invalid JSON",
		       bw_api_req_method(req), bw_api_req_path(req));
		bw_api_reply_error(req, 500,
				   "internal error: the module serving %s "
				   "replied with invalid JSON",
				   bw_api_req_path(req));
		return -EINVAL;
	}
	return bw_api_reply_json(req, status, doc);
}

static int __attribute__((format(printf, 3, 4)))
coreapi_reply_error(bw_api_request *req, int status, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = bw_api_reply_verror(req, status, fmt, ap);
	va_end(ap);
	return rc;
}

static int
coreapi_stream_begin(bw_api_request *req)
{
	return bw_api_stream_begin(req);
}

static int
coreapi_stream_line(bw_api_request *req, const char *json)
{
	if (json == NULL || strchr(json, '\n') != NULL)
		return -EINVAL;
	return bw_api_stream_text(req, json);
}

static int
coreapi_stream_end(bw_api_request *req)
{
	return bw_api_stream_end(req);
}

static int
coreapi_policy_format_register(bw_module_ctx *ctx,
			       const struct bw_policy_format *fmt)
{
	int rc = bw_policy_format_add(fmt, ctx);

	if (rc == -EEXIST)
		bw_logx(ctx->prefix, BW_LOG_ERR,
			"policy format '%s': another format handles one of its "
			"apiVersion/kind pairs", fmt->name);
	else if (rc == -EINVAL)
		bw_logx(ctx->prefix, BW_LOG_ERR,
			"policy format: incomplete struct bw_policy_format");
	return rc;
}

static int
coreapi_identity_allocator_register(bw_module_ctx *ctx,
				    const struct bw_identity_allocator *alloc)
{
	int rc = bw_identity_allocator_set(alloc, ctx);

	if (rc == -EEXIST)
		bw_logx(ctx->prefix, BW_LOG_ERR,
			"an identity allocator is registered already (%s); load "
			"only one identity module",
			bw_identity_allocator_get()->name);
	else if (rc == -EINVAL)
		bw_logx(ctx->prefix, BW_LOG_ERR,
			"identity allocator: incomplete struct bw_identity_allocator");
	return rc;
}

static int
coreapi_metrics_register(bw_module_ctx *ctx,
			 void (*collect)(bw_metrics_out *out, void *user_data),
			 void *user_data, bw_free_fn free_fn)
{
	return bw_metrics_register(collect, user_data, free_fn, ctx);
}

static int __attribute__((format(printf, 2, 3)))
coreapi_metrics_printf(bw_metrics_out *out, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = bw_metrics_vprintf(out, fmt, ap);
	va_end(ap);
	return rc;
}

static int
coreapi_flow_subscribe(bw_module_ctx *ctx,
		       void (*cb)(const struct bw_flow *flow, void *user_data),
		       void *user_data, bw_free_fn free_fn)
{
	int rc;

	/* Disabling or finishing the instance drops its subscriptions. */
	if ((rc = bw_registry_add_dropper(bw_flow_unsubscribe_owner)) < 0)
		return rc;
	rc = bw_flow_subscribe(ctx, cb, user_data, free_fn);
	return rc < 0 ? rc : 0;
}

static int
coreapi_flow_to_json(const struct bw_flow *flow, char **out)
{
	if (flow == NULL || out == NULL)
		return -EINVAL;
	return bw_flowjson_text(flow, out);
}

/* ---- read-only views for metrics exporters ------------------------------ */

static int
coreapi_metrics_collect(char **out, size_t *len)
{
	struct evbuffer *buf = evbuffer_new();
	size_t n;
	char *text;

	if (buf == NULL)
		return -ENOMEM;
	bw_metrics_collect_all(buf);
	n = evbuffer_get_length(buf);
	if ((text = malloc(n + 1)) == NULL) {
		evbuffer_free(buf);
		return -ENOMEM;
	}
	evbuffer_remove(buf, text, n);
	text[n] = '\0';
	evbuffer_free(buf);
	*out = text;
	if (len != NULL)
		*len = n;
	return 0;
}

static void
coreapi_node_stats(struct bw_node_stats *st)
{
	struct bw_node_stats s = { .size = sizeof(s) };
	struct bw_resolver *rv = bw_pol_resolver();
	size_t n;

	s.endpoints = bw_endpoint_count();
	s.policies = bw_policy_count();
	if (rv != NULL) {
		struct bw_resolver_stats rs;

		bw_resolver_stats(rv, &rs);
		s.identities = rs.identities;
		s.selectors = rs.selectors;
		s.policy_entries = rs.entries;
		s.regenerations = rs.regenerations;
		s.regeneration_ns = rs.regen_ns;
		s.endpoint_syncs = rs.syncs;
	}
	/* Copy what the caller's struct has room for; keep its size. */
	n = st->size < sizeof(s) ? st->size : sizeof(s);
	memcpy((char *)st + sizeof(st->size), (char *)&s + sizeof(s.size),
	       n > sizeof(s.size) ? n - sizeof(s.size) : 0);
}

struct coreapi_ep_walk {
	void (*cb)(const char *ns, const char *pod, unsigned flags, void *arg);
	void *arg;
};

static int
coreapi_ep_visit(struct bw_endpoint *ep, void *arg)
{
	struct coreapi_ep_walk *w = arg;
	struct bw_resolver *rv = bw_pol_resolver();
	uint32_t f = 0;
	unsigned flags = 0;

	if (rv == NULL ||
	    bw_resolver_endpoint_state(rv, bw_endpoint_id(ep), &f, NULL, NULL) < 0)
		f = 0;
	if (f & BW_EP_F_ENFORCE_INGRESS)
		flags |= BW_ENDPOINT_F_ENFORCE_INGRESS;
	if (f & BW_EP_F_ENFORCE_EGRESS)
		flags |= BW_ENDPOINT_F_ENFORCE_EGRESS;
	if (f & BW_EP_F_AUDIT)
		flags |= BW_ENDPOINT_F_AUDIT;
	w->cb(bw_endpoint_ns(ep), bw_endpoint_pod(ep), flags, w->arg);
	return 0;
}

static void
coreapi_endpoint_foreach(void (*cb)(const char *ns, const char *pod,
				    unsigned flags, void *arg),
			 void *arg)
{
	struct coreapi_ep_walk w = { cb, arg };

	if (cb != NULL)
		bw_endpoint_foreach(coreapi_ep_visit, &w);
}

struct coreapi_dp_walk {
	void (*cb)(uint32_t reason, const char *reason_text, uint32_t direction,
		   uint64_t packets, uint64_t bytes, void *arg);
	void *arg;
};

static int
coreapi_dp_visit(const struct bw_metrics_key *k,
		 const struct bw_metrics_value *v, void *arg)
{
	struct coreapi_dp_walk *w = arg;

	w->cb(k->reason, k->reason ? bw_dropreason_string(k->reason) : NULL,
	      k->direction, v->packets, v->bytes, w->arg);
	return 0;
}

static int
coreapi_datapath_counters(void (*cb)(uint32_t reason, const char *reason_text,
				     uint32_t direction, uint64_t packets,
				     uint64_t bytes, void *arg),
			  void *arg)
{
	struct coreapi_dp_walk w = { cb, arg };

	if (cb == NULL)
		return -EINVAL;
	return bw_datapath_metrics_read(coreapi_dp_visit, &w);
}

/*
 * Count a pinned map's keys. A hash map walked while the datapath adds and
 * deletes entries may restart from its first key, so the walk stops after
 * twice the capacity: an approximation, as the API says.
 */
static int
coreapi_map_count(int fd, uint32_t key_size, uint64_t max, uint64_t *count)
{
	unsigned char *a, *b, *t;
	uint64_t n = 0;
	int first = 1, rc = 0;

	if ((a = calloc(2, key_size ? key_size : 1)) == NULL)
		return -ENOMEM;
	b = a + key_size;
	while (n < 2 * max) {
		if (bpf_map_get_next_key(fd, first ? NULL : a, b) < 0) {
			rc = errno == ENOENT ? 0 : -errno;
			break;
		}
		first = 0;
		n++;
		t = a, a = b, b = t;
	}
	free(a < b ? a : b);
	*count = n > max ? max : n;
	return rc;
}

/*
 * Hash maps: count with BPF_MAP_LOOKUP_BATCH, a few thousand entries per
 * system call instead of one (a full connection-tracking map is walked at
 * every scrape on the loop thread). A negative errno when the kernel
 * cannot (older than 5.6: the caller walks the keys instead).
 */
#define COREAPI_BATCH 4096

static int
coreapi_map_count_batch(int fd, const struct bpf_map_info *info, uint64_t *count)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	size_t tok = info->key_size > 8 ? info->key_size : 8;
	unsigned char *keys, *vals, *tin, *tout;
	uint64_t total = 0;
	int first = 1, rc = 0;

	keys = malloc((size_t)COREAPI_BATCH * info->key_size);
	vals = malloc((size_t)COREAPI_BATCH * info->value_size);
	tin = calloc(2, tok);
	if (keys == NULL || vals == NULL || tin == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	tout = tin + tok;
	for (;;) {
		uint32_t n = COREAPI_BATCH;

		if (bpf_map_lookup_batch(fd, first ? NULL : tin, tout, keys, vals,
					 &n, &opts) < 0) {
			if (errno == ENOENT) { /* the last, partial batch */
				total += n;
				break;
			}
			rc = -errno;
			break;
		}
		total += n;
		memcpy(tin, tout, tok);
		first = 0;
		if (total > 2 * (uint64_t)info->max_entries)
			break; /* the map churns: an approximation */
	}
	*count = total > info->max_entries ? info->max_entries : total;
out:
	free(keys);
	free(vals);
	free(tin);
	return rc;
}

static int
coreapi_map_usage(void (*cb)(const char *map_name, uint64_t entries,
			     uint64_t max_entries, void *arg),
		  void *arg)
{
	static const char *const maps[] = {
		BW_MAP_ENDPOINTS, BW_MAP_IPCACHE4, BW_MAP_IPCACHE6,
		BW_MAP_POLICY, BW_MAP_CT,
	};
	char path[PATH_MAX];
	int rc = 0;

	if (cb == NULL)
		return -EINVAL;
	if (bw_conf == NULL || bw_conf->bpffs_dir == NULL)
		return -ENXIO;
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		struct bpf_map_info info;
		uint32_t ilen = sizeof(info);
		uint64_t count = 0;
		int fd, e;

		if ((size_t)snprintf(path, sizeof(path), "%s/%s",
				     bw_conf->bpffs_dir, maps[i]) >= sizeof(path))
			return -ENAMETOOLONG;
		if ((fd = bpf_obj_get(path)) < 0)
			continue; /* not pinned (no datapath) */
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &ilen) < 0) {
			e = -errno;
			close(fd);
			if (rc == 0)
				rc = e;
			continue;
		}
		e = -EINVAL;
		if (info.type == BPF_MAP_TYPE_HASH || info.type == BPF_MAP_TYPE_LRU_HASH)
			e = coreapi_map_count_batch(fd, &info, &count);
		if (e < 0 && e != -ENOMEM) /* no batch ops here: walk the keys */
			e = coreapi_map_count(fd, info.key_size, info.max_entries,
					      &count);
		close(fd);
		if (e < 0) {
			if (rc == 0)
				rc = e;
			continue;
		}
		cb(maps[i], count, info.max_entries, arg);
	}
	return rc;
}

/* ---- decision hooks (ABI 1.2) -------------------------------------------- */

static unsigned
coreapi_hook_active(bw_module_ctx *ctx)
{
	return bw_hooks_active();
}

static int
coreapi_hook_dns(bw_module_ctx *ctx, const struct bw_hook_dns *q,
		 bw_hook_done_fn done, void *user_data, uint64_t *ticket)
{
	return bw_hooks_dns(q, done, user_data, ticket, ctx);
}

static int
coreapi_hook_http(bw_module_ctx *ctx, const struct bw_hook_http *req,
		  bw_hook_done_fn done, void *user_data, uint64_t *ticket)
{
	return bw_hooks_http(req, done, user_data, ticket, ctx);
}

static int
coreapi_hook_kafka(bw_module_ctx *ctx, const struct bw_hook_kafka *req,
		   bw_hook_done_fn done, void *user_data, uint64_t *ticket)
{
	return bw_hooks_kafka(req, done, user_data, ticket, ctx);
}

static void
coreapi_hook_cancel(bw_module_ctx *ctx, uint64_t ticket)
{
	bw_hooks_cancel(ticket);
}

/* ---- L7 parsers (ABI 1.2) ------------------------------------------------ */

static int
coreapi_l7_parser_register(bw_module_ctx *ctx, const struct bw_l7_parser *parser)
{
	int rc = bw_proxy_parser_add(parser, ctx);

	if (rc == -EEXIST)
		bw_logx(ctx->prefix, BW_LOG_ERR,
			"L7 parser '%s': another module registered that name",
			parser->name);
	else if (rc == -EINVAL)
		bw_logx(ctx->prefix, BW_LOG_ERR,
			"L7 parser: incomplete struct bw_l7_parser (name, "
			"conn_open and data are required)");
	return rc;
}

static int
coreapi_l7_inject(bw_l7_conn *conn, int dir, const void *data, size_t len)
{
	return bw_proxy_inject(conn, dir, data, len);
}

static int
coreapi_l7_record(bw_l7_conn *conn, const struct bw_l7_record *rec)
{
	return bw_proxy_record(conn, rec);
}

static int
coreapi_l7_resume(bw_l7_conn *conn, int dir)
{
	return bw_proxy_resume(conn, dir);
}

static const struct bw_l7_conn_info *
coreapi_l7_conn_info(bw_l7_conn *conn)
{
	return bw_proxy_conn_info(conn);
}

/* ---- ABI 1.2: the daemon, the flow ring, namespaces --------------------- */

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

static uint64_t coreapi_start_real, coreapi_start_mono;

static uint64_t
coreapi_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The daemon's start: when the program was loaded. */
static void __attribute__((constructor))
coreapi_mark_start(void)
{
	coreapi_start_real = coreapi_clock(CLOCK_REALTIME);
	coreapi_start_mono = coreapi_clock(CLOCK_MONOTONIC);
}

static void
coreapi_daemon_info(struct bw_daemon_info *info)
{
	struct bw_daemon_info d = { .size = sizeof(d) };
	size_t n;

	if (info == NULL)
		return;
	d.version = PACKAGE_VERSION;
	d.node_name = bw_flow_node_name();
	d.start_ns = coreapi_start_real;
	d.uptime_ns = coreapi_clock(CLOCK_MONOTONIC) - coreapi_start_mono;
	n = info->size < sizeof(d) ? info->size : sizeof(d);
	memcpy((char *)info + sizeof(info->size), (char *)&d + sizeof(d.size),
	       n > sizeof(d.size) ? n - sizeof(d.size) : 0);
}

static void
coreapi_flow_ring_range(uint64_t *first, uint64_t *next)
{
	if (first != NULL)
		*first = bw_flow_ring_first();
	if (next != NULL)
		*next = bw_flow_ring_next();
}

struct coreapi_ns_walk {
	void (*cb)(const char *ns, void *arg);
	void *arg;
	json_t *seen; /* object used as a set */
};

static void
coreapi_ns_visit(struct coreapi_ns_walk *w, const char *ns)
{
	if (ns == NULL || *ns == '\0' || json_object_get(w->seen, ns) != NULL)
		return;
	json_object_set_new(w->seen, ns, json_true());
	w->cb(ns, w->arg);
}

static int
coreapi_ns_ep(struct bw_endpoint *ep, void *arg)
{
	coreapi_ns_visit(arg, bw_endpoint_ns(ep));
	return 0;
}

static void
coreapi_namespace_foreach(void (*cb)(const char *ns, void *arg), void *arg)
{
	struct coreapi_ns_walk w = { cb, arg, json_object() };
	json_t *all, *v;
	size_t i;

	if (cb == NULL || w.seen == NULL) {
		json_decref(w.seen);
		return;
	}
	all = bw_namespaces_to_json();
	json_array_foreach(all, i, v)
		coreapi_ns_visit(&w, json_string_value(json_object_get(v, "name")));
	json_decref(all);
	bw_endpoint_foreach(coreapi_ns_ep, &w);
	json_decref(w.seen);
}

static void
coreapi_flow_followers_account(int delta, uint64_t lost)
{
	if (delta != 0)
		bw_flow_stats_followers(delta);
	if (lost != 0)
		bw_flow_stats_lost_followers(lost);
}

/* ---- transparent redirects (ABI 1.2) ------------------------------------ */

/* What a struct bw_redirect_conn's strings point into. */
struct coreapi_rconn {
	struct bw_proxyconn pc;
	char client_ip[INET6_ADDRSTRLEN], server_ip[INET6_ADDRSTRLEN];
	char *ns[2], *pod[2];
	char *rules, *json;
};

static int
coreapi_redirect_listen(bw_module_ctx *ctx, const char *proxy_class, int protocol,
			int family, uint16_t port, uint16_t *bound_port)
{
	uint16_t b = 0;
	int fd;

	if (proxy_class == NULL)
		return -EINVAL;
	fd = bw_proxyconn_listen(proxy_class, protocol, family, port, &b);
	if (fd >= 0 && bound_port != NULL)
		*bound_port = b;
	return fd;
}

static void
coreapi_rconn_free(struct coreapi_rconn *rc)
{
	if (rc == NULL)
		return;
	bw_proxyconn_release(&rc->pc);
	for (int i = 0; i < 2; i++) {
		free(rc->ns[i]);
		free(rc->pod[i]);
	}
	free(rc->rules);
	free(rc->json);
	free(rc);
}

static void
coreapi_redirect_release(struct bw_redirect_conn *conn)
{
	if (conn == NULL || conn->size < offsetof(struct bw_redirect_conn, core_private) +
					     sizeof(conn->core_private))
		return;
	coreapi_rconn_free(conn->core_private);
	conn->core_private = NULL;
}

static const char *
coreapi_side_ip(const struct bw_proxyconn_side *s, char *buf, uint16_t *port)
{
	const struct sockaddr *sa = (const struct sockaddr *)&s->addr;

	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf,
			  INET6_ADDRSTRLEN);
		*port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	} else {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
			  INET6_ADDRSTRLEN);
		*port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	}
	return buf;
}

static int
coreapi_redirect_lookup(bw_module_ctx *ctx, int protocol, const struct sockaddr *client,
			const struct sockaddr *orig_dst, struct bw_redirect_conn *conn)
{
	struct bw_redirect_conn out;
	struct coreapi_rconn *rc;
	const struct bw_proxyconn_side *side[2];
	json_t *doc;
	size_t size;
	int e;

	if (conn == NULL || conn->size < offsetof(struct bw_redirect_conn, core_private) +
					     sizeof(conn->core_private))
		return -EINVAL;
	rc = calloc(1, sizeof(*rc));
	if (rc == NULL)
		return -ENOMEM;
	e = bw_proxyconn_lookup(protocol, client, orig_dst, &rc->pc);
	if (e < 0) {
		coreapi_rconn_free(rc);
		return e;
	}
	side[0] = &rc->pc.client;
	side[1] = &rc->pc.server;
	for (int i = 0; i < 2; i++) {
		if (side[i]->ns != NULL) {
			rc->ns[i] = strdup(side[i]->ns);
			rc->pod[i] = strdup(side[i]->pod);
		}
	}
	rc->rules = json_dumps(rc->pc.rules, JSON_COMPACT);
	doc = bw_proxyconn_to_json(&rc->pc);
	rc->json = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (rc->rules == NULL || rc->json == NULL) {
		coreapi_rconn_free(rc);
		return -ENOMEM;
	}
	memset(&out, 0, sizeof(out));
	out.protocol = rc->pc.protocol;
	out.family = rc->pc.family;
	out.direction = rc->pc.direction == BW_DIR_INGRESS ? BW_REDIRECT_INGRESS
							   : BW_REDIRECT_EGRESS;
	out.proxy_class = rc->pc.class_name;
	out.proxy_port = rc->pc.proxy_port;
	out.redirected = rc->pc.redirected;
	out.client_ip = coreapi_side_ip(side[0], rc->client_ip, &out.client_port);
	out.client_identity = side[0]->identity;
	out.client_endpoint = side[0]->ep_id;
	out.client_namespace = rc->ns[0];
	out.client_pod = rc->pod[0];
	out.server_ip = coreapi_side_ip(side[1], rc->server_ip, &out.server_port);
	out.server_identity = side[1]->identity;
	out.server_endpoint = side[1]->ep_id;
	out.server_namespace = rc->ns[1];
	out.server_pod = rc->pod[1];
	out.rules = rc->rules;
	out.json = rc->json;
	out.generation = rc->pc.generation;
	out.core_private = rc;
	/* a module built against an older header has a shorter struct */
	size = conn->size < sizeof(out) ? conn->size : sizeof(out);
	out.size = conn->size;
	memcpy(conn, &out, size);
	return 0;
}

static int
coreapi_redirect_upstream(bw_module_ctx *ctx, const struct bw_redirect_conn *conn)
{
	const struct coreapi_rconn *rc;

	if (conn == NULL || conn->size < offsetof(struct bw_redirect_conn, core_private) +
					     sizeof(conn->core_private) ||
	    conn->core_private == NULL)
		return -EINVAL;
	rc = conn->core_private;
	return bw_proxyconn_upstream(&rc->pc);
}

static long
coreapi_redirect_recvmsg(int fd, void *buf, size_t len, struct sockaddr_storage *client,
			 struct sockaddr_storage *orig_dst)
{
	if (buf == NULL || client == NULL || orig_dst == NULL)
		return -EINVAL;
	return bw_redirect_recvmsg(fd, buf, len, client, orig_dst);
}

static int
coreapi_redirect_reply_udp(const struct sockaddr *orig_dst, const struct sockaddr *client,
			   const void *buf, size_t len)
{
	if (orig_dst == NULL || client == NULL || (buf == NULL && len))
		return -EINVAL;
	return bw_redirect_reply_udp(orig_dst, client, buf, len);
}

/* ---- ABI 1.2 ---------------------------------------------------------------- */

static int
coreapi_reply_later(bw_api_request *req)
{
	return bw_api_reply_later(req);
}

struct coreapi_view_walk {
	void (*cb)(const struct bw_endpoint_view *ep, void *arg);
	void *arg;
	const char **labels;
	size_t cap;
};

static int
coreapi_view_visit(struct bw_endpoint *ep, void *arg)
{
	struct coreapi_view_walk *w = arg;
	const struct bw_labelset *ls = bw_endpoint_pod_labels(ep);
	const struct bw_ep_workload *wl = bw_endpoint_workload(ep, NULL);
	struct bw_resolver *rv = bw_pol_resolver();
	struct bw_endpoint_view v = { .size = sizeof(v) };
	size_t n = bw_labelset_count(ls);
	uint32_t f = 0;

	if (n > w->cap) {
		const char **nl = realloc(w->labels, n * sizeof(*nl));

		if (nl == NULL)
			n = w->cap;
		else {
			w->labels = nl;
			w->cap = n;
		}
	}
	for (size_t i = 0; i < n; i++)
		w->labels[i] = bw_labelset_at(ls, i)->text;
	if (rv == NULL || bw_resolver_endpoint_state(rv, bw_endpoint_id(ep), &f, NULL, NULL) < 0)
		f = 0;
	v.id = bw_endpoint_id(ep);
	v.identity = bw_endpoint_identity(ep);
	v.ns = bw_endpoint_ns(ep);
	v.pod = bw_endpoint_pod(ep);
	v.labels = w->labels;
	v.n_labels = (uint32_t)n;
	v.workload_name = wl != NULL ? wl->name : NULL;
	v.workload_kind = wl != NULL ? wl->kind : NULL;
	if (f & BW_EP_F_ENFORCE_INGRESS)
		v.flags |= BW_ENDPOINT_F_ENFORCE_INGRESS;
	if (f & BW_EP_F_ENFORCE_EGRESS)
		v.flags |= BW_ENDPOINT_F_ENFORCE_EGRESS;
	if (f & BW_EP_F_AUDIT)
		v.flags |= BW_ENDPOINT_F_AUDIT;
	w->cb(&v, w->arg);
	return 0;
}

static void
coreapi_endpoint_walk(void (*cb)(const struct bw_endpoint_view *ep, void *arg),
		      void *arg)
{
	struct coreapi_view_walk w = { cb, arg, NULL, 0 };

	if (cb == NULL)
		return;
	bw_endpoint_foreach(coreapi_view_visit, &w);
	free(w.labels);
}

static void
coreapi_flow_policy(const struct bw_pol *pol, struct bw_flow_policy *p)
{
	memset(p, 0, sizeof(*p));
	bw_policy_describe(pol, &p->kind, &p->ns, &p->name, &p->revision);
}

static int
coreapi_policy_reach(uint32_t endpoint_id, int direction, int peer_class,
		     void (*cb)(const struct bw_flow_policy *p, void *arg),
		     void *arg)
{
	struct bw_policy_reach r;
	int cls = peer_class == BW_PEER_CLASS_WORLD ? BW_POLICY_PEER_WORLD
		  : peer_class == BW_PEER_CLASS_OTHER_NAMESPACES
			  ? BW_POLICY_PEER_OTHER_NAMESPACES
			  : 0;
	int rc = bw_policy_reach(endpoint_id, direction, cls, &r);
	const void *seen[BW_POLICY_REACH_REFS];
	size_t nseen = 0;

	if (rc < 0)
		return rc;
	for (size_t i = 0; cb != NULL && i < r.nrefs; i++) {
		const struct bw_policy_ruleinfo *ri = bw_policy_rule_lookup(r.refs[i]);
		struct bw_flow_policy p;
		size_t j;

		if (ri == NULL)
			continue;
		/* one call per policy, not per rule */
		for (j = 0; j < nseen; j++)
			if (seen[j] == ri->name)
				break;
		if (j < nseen)
			continue;
		seen[nseen++] = ri->name;
		memset(&p, 0, sizeof(p));
		p.name = ri->name;
		p.ns = ri->namespace;
		p.kind = ri->kind;
		p.revision = ri->revision;
		cb(&p, arg);
	}
	return (r.allowed ? BW_REACH_ALLOWED : 0) | (r.enforced ? BW_REACH_ENFORCED : 0) |
	       (r.audit ? BW_REACH_AUDIT : 0);
}

static int
coreapi_policy_isolation(uint32_t endpoint_id, int direction,
			 void (*cb)(const struct bw_flow_policy *p, int staged,
				    void *arg),
			 void *arg)
{
	struct bw_policy_isolation iso;
	struct bw_flow_policy p;
	int rc = bw_policy_isolation(endpoint_id, direction, &iso);

	if (rc < 0)
		return rc;
	for (size_t i = 0; cb != NULL && i < iso.npolicies; i++) {
		coreapi_flow_policy(iso.policies[i], &p);
		cb(&p, 0, arg);
	}
	for (size_t i = 0; cb != NULL && i < iso.nstaged; i++) {
		coreapi_flow_policy(iso.staged[i], &p);
		cb(&p, 1, arg);
	}
	return (iso.default_deny ? BW_ISOLATION_DEFAULT_DENY : 0) |
	       (iso.audit ? BW_ISOLATION_AUDIT : 0) |
	       (iso.enforcement_always ? BW_ISOLATION_ALWAYS : 0) |
	       (iso.staged_default_deny ? BW_ISOLATION_STAGED_DEFAULT_DENY : 0);
}

static int
coreapi_alert_subscribe(bw_module_ctx *ctx,
			void (*cb)(const char *json, void *user_data),
			void *user_data, bw_free_fn free_fn)
{
	int rc = bw_alert_subscribe(ctx, cb, user_data, free_fn);

	return rc < 0 ? rc : 0;
}

static int
coreapi_alert_publish(bw_module_ctx *ctx, const char *json)
{
	int rc = bw_alert_publish(json);

	if (rc == -EINVAL)
		bw_logx(ctx->prefix, BW_LOG_ERR,
			"alert_publish: the record is not one JSON object on one line");
	return rc;
}

/* ---- ABI 1.2: in-process control API calls ------------------------------ */

static int
coreapi_api_call(bw_module_ctx *ctx, const char *method, const char *target,
		 const char *body, size_t body_len, bw_api_call_fn cb,
		 void *user_data, bw_api_call **call)
{
	struct bw_api_request *req = NULL;
	int rc;

	(void)ctx;
	rc = bw_api_local_call(method, target, body, body_len, cb, user_data,
			 call != NULL ? &req : NULL);
	if (call != NULL)
		*call = (bw_api_call *)req;
	return rc;
}

static void
coreapi_api_call_cancel(bw_api_call *call)
{
	bw_api_local_cancel((struct bw_api_request *)call);
}

/* ---- ABI 1.2: DNS and FQDN policy -------------------------------------- */

static int
coreapi_fqdn_ip_set(bw_module_ctx *ctx, int family, const uint8_t *addr,
		    const char *const *names, size_t nnames)
{
	return bw_fqdn_ip_set(family, addr, names, nnames);
}

static int
coreapi_fqdn_sync(bw_module_ctx *ctx)
{
	return bw_fqdn_sync();
}

static uint32_t
coreapi_fqdn_ip_identity(int family, const uint8_t *addr)
{
	return addr != NULL ? bw_fqdn_ip_identity(family, addr) : 0;
}

static int
coreapi_ct_peers_alive(const uint8_t (*addrs)[16], size_t n, uint8_t *alive)
{
	if (n != 0 && (addrs == NULL || alive == NULL))
		return -EINVAL;
	return bw_datapath_ct_peers_alive(addrs, n, alive);
}

/*
 * DNS answer subscribers, called in subscription order by dns_publish.
 * A callback may subscribe or unsubscribe (an instance disabled while
 * called): the list is walked by index and reaped afterwards.
 */
struct coreapi_dns_sub {
	const void *owner;
	void (*cb)(const struct bw_dns_answer *a, void *ud);
	void *ud;
	bw_free_fn free_fn;
	int dead;
};

static struct coreapi_dns_sub *coreapi_dns_subs;
static size_t coreapi_dns_nsubs;
static int coreapi_dns_calling;

static void
coreapi_dns_reap(void)
{
	size_t j = 0;

	if (coreapi_dns_calling)
		return;
	for (size_t i = 0; i < coreapi_dns_nsubs; i++) {
		if (coreapi_dns_subs[i].dead) {
			if (coreapi_dns_subs[i].free_fn != NULL)
				coreapi_dns_subs[i].free_fn(coreapi_dns_subs[i].ud);
			continue;
		}
		coreapi_dns_subs[j++] = coreapi_dns_subs[i];
	}
	coreapi_dns_nsubs = j;
	if (j == 0) {
		free(coreapi_dns_subs);
		coreapi_dns_subs = NULL;
	}
}

static void
coreapi_dns_drop_owner(const void *owner)
{
	for (size_t i = 0; i < coreapi_dns_nsubs; i++)
		if (owner == NULL || coreapi_dns_subs[i].owner == owner)
			coreapi_dns_subs[i].dead = 1;
	coreapi_dns_reap();
}

static int
coreapi_dns_subscribe(bw_module_ctx *ctx,
		      void (*cb)(const struct bw_dns_answer *answer, void *user_data),
		      void *user_data, bw_free_fn free_fn)
{
	struct coreapi_dns_sub *v;
	int rc;

	if (cb == NULL)
		return -EINVAL;
	if ((rc = bw_registry_add_dropper(coreapi_dns_drop_owner)) < 0)
		return rc;
	v = realloc(coreapi_dns_subs, (coreapi_dns_nsubs + 1) * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	coreapi_dns_subs = v;
	v[coreapi_dns_nsubs++] = (struct coreapi_dns_sub){ ctx, cb, user_data, free_fn, 0 };
	return 0;
}

static int
coreapi_dns_publish(bw_module_ctx *ctx, const struct bw_dns_answer *answer)
{
	struct bw_dns_answer a;
	size_t n;

	if (answer == NULL || answer->size < offsetof(struct bw_dns_answer, cnames) ||
	    answer->qname == NULL)
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	memcpy(&a, answer, answer->size < sizeof(a) ? answer->size : sizeof(a));
	a.size = sizeof(a);
	coreapi_dns_calling++;
	n = coreapi_dns_nsubs; /* subscribers added by a callback start next time */
	for (size_t i = 0; i < n; i++)
		if (!coreapi_dns_subs[i].dead && coreapi_dns_subs[i].owner != ctx)
			coreapi_dns_subs[i].cb(&a, coreapi_dns_subs[i].ud);
	coreapi_dns_calling--;
	coreapi_dns_reap();
	return 0;
}

static int
coreapi_flow_publish(bw_module_ctx *ctx, const struct bw_flow *flow)
{
	return bw_flow_publish_module(flow);
}

static uint64_t
coreapi_redirect_generation(void)
{
	return bw_policy_generation();
}

/* ---- the advisor: history between modules, what-if, the rules ---------------------- */

static int
coreapi_history_provider_register(bw_module_ctx *ctx, const struct bw_history_provider *p)
{
	int rc = bw_history_provider_add(p, ctx);

	if (rc == -EINVAL)
		bw_logx(ctx->prefix, BW_LOG_ERR,
			"history_provider_register: the provider has no scan function");
	return rc;
}

static int
coreapi_history_scan(bw_module_ctx *ctx, int64_t since_ms,
		     int (*row)(const struct bw_history_row *r, void *arg),
		     void (*done)(int err, const char *message, void *arg), void *arg)
{
	return bw_history_scan(since_ms, row, done, arg);
}

static bw_whatif *
coreapi_whatif_new(bw_module_ctx *ctx, const char *candidate, size_t len, const char *source,
		   unsigned flags, char *err, size_t errlen)
{
	return (bw_whatif *)bw_whatif_new(candidate, len, source,
					  (flags & BW_WHATIF_REPLACE) ? BW_WHATIF_F_REPLACE : 0,
					  err, errlen);
}

static int
coreapi_whatif_replay(bw_whatif *w, const struct bw_whatif_conn *conns, size_t n,
		      struct bw_whatif_result *out)
{
	return bw_whatif_replay((struct bw_whatif *)w, conns, n, out);
}

static void
coreapi_whatif_free(bw_whatif *w)
{
	bw_whatif_free((struct bw_whatif *)w);
}

static int
coreapi_policy_export(char **out)
{
	json_t *doc = bw_policy_export();

	*out = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	return *out != NULL ? 0 : -ENOMEM;
}

static size_t
coreapi_fqdn_names(const char *address, const char *const **names)
{
	struct bw_prefix p;

	if (address == NULL || names == NULL || bw_prefix_parse(address, 0, &p) < 0 ||
	    p.plen != (p.family == 4 ? 32 : 128))
		return 0;
	return bw_fqdn_names(p.family, p.addr, names);
}

static const struct bw_core_api coreapi = {
	.size = sizeof(struct bw_core_api),
	.log = coreapi_log,
	.vlog = coreapi_vlog,
	.module_name = coreapi_module_name,
	.instance_name = coreapi_instance_name,
	.set_data = coreapi_set_data,
	.get_data = coreapi_get_data,
	.event_base = coreapi_event_base,
	.state_dir = coreapi_state_dir,
	.conf = coreapi_conf,
	.api_route = coreapi_api_route,
	.req_method = coreapi_req_method,
	.req_path = coreapi_req_path,
	.req_query = coreapi_req_query,
	.req_body = coreapi_req_body,
	.reply_json = coreapi_reply_json,
	.reply_error = coreapi_reply_error,
	.stream_begin = coreapi_stream_begin,
	.stream_line = coreapi_stream_line,
	.stream_end = coreapi_stream_end,
	.policy_format_register = coreapi_policy_format_register,
	.identity_allocator_register = coreapi_identity_allocator_register,
	.metrics_register = coreapi_metrics_register,
	.metrics_printf = coreapi_metrics_printf,
	.flow_subscribe = coreapi_flow_subscribe,
	.flow_to_json = coreapi_flow_to_json,
	.flow_stats = bw_flow_stats_get,
	.metrics_collect = coreapi_metrics_collect,
	.node_stats = coreapi_node_stats,
	.endpoint_foreach = coreapi_endpoint_foreach,
	.datapath_counters = coreapi_datapath_counters,
	.map_usage = coreapi_map_usage,
	/* 1.2 */
	.hook_active = coreapi_hook_active,
	.hook_dns = coreapi_hook_dns,
	.hook_http = coreapi_hook_http,
	.hook_kafka = coreapi_hook_kafka,
	.hook_cancel = coreapi_hook_cancel,
	.l7_parser_register = coreapi_l7_parser_register,
	.l7_inject = coreapi_l7_inject,
	.l7_record = coreapi_l7_record,
	.l7_conn_info = coreapi_l7_conn_info,
	.daemon_info = coreapi_daemon_info,
	.flow_ring_range = coreapi_flow_ring_range,
	.flow_ring_at = bw_flow_ring_at,
	.namespace_foreach = coreapi_namespace_foreach,
	.flow_followers_account = coreapi_flow_followers_account,
	.redirect_listen = coreapi_redirect_listen,
	.redirect_lookup = coreapi_redirect_lookup,
	.redirect_release = coreapi_redirect_release,
	.redirect_upstream = coreapi_redirect_upstream,
	.redirect_recvmsg = coreapi_redirect_recvmsg,
	.redirect_reply_udp = coreapi_redirect_reply_udp,
	.reply_later = coreapi_reply_later,
	.endpoint_walk = coreapi_endpoint_walk,
	.policy_reach = coreapi_policy_reach,
	.policy_isolation = coreapi_policy_isolation,
	.alert_subscribe = coreapi_alert_subscribe,
	.alert_publish = coreapi_alert_publish,
	.api_call = coreapi_api_call,
	.api_call_cancel = coreapi_api_call_cancel,
	.l7_resume = coreapi_l7_resume,
	/* ABI 1.2: DNS and FQDN policy */
	.fqdn_ip_set = coreapi_fqdn_ip_set,
	.fqdn_sync = coreapi_fqdn_sync,
	.fqdn_ip_identity = coreapi_fqdn_ip_identity,
	.fqdn_selector_foreach = bw_fqdn_selector_foreach,
	.ct_peers_alive = coreapi_ct_peers_alive,
	.dns_subscribe = coreapi_dns_subscribe,
	.dns_publish = coreapi_dns_publish,
	.flow_publish = coreapi_flow_publish,
	.redirect_generation = coreapi_redirect_generation,
	.history_provider_register = coreapi_history_provider_register,
	.history_scan = coreapi_history_scan,
	.whatif_new = coreapi_whatif_new,
	.whatif_replay = coreapi_whatif_replay,
	.whatif_free = coreapi_whatif_free,
	.policy_export = coreapi_policy_export,
	.fqdn_names = coreapi_fqdn_names,
};

const struct bw_core_api *
bw_coreapi_get(void)
{
	return &coreapi;
}
