/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/fake_core.h - the one fake of struct bw_core_api for module
 * unit tests (and the fuzz targets that drive a module): every member of
 * the table is set, calls are recorded in `fake_core`, and a test sets
 * what the core would answer. A module is driven through its descriptor:
 *
 *   struct fake_ctx c = { .instance = "flowlog:t", .conf = &conf };
 *
 *   fake_core_reset();
 *   fake_core.base = event_base_new();
 *   bw_module_desc.init(FAKE_CTX(&c), fake_core_api(), &conf);
 *   ... fake_core.flow_cb(&flow, fake_core.flow_ud);
 *   ... fake_core_request(query) calls the route the module registered.
 *
 * A new member of struct bw_core_api gets its fake here, once.
 */
#ifndef BW_TEST_FAKE_CORE_H
#define BW_TEST_FAKE_CORE_H

#include <stddef.h>
#include <stdint.h>

#include <bulwark/module.h>

/* One module instance as the fake sees it (pass FAKE_CTX(&c) as the ctx). */
struct fake_ctx {
	const char *module;    /* module_name(); "test" when NULL */
	const char *instance;  /* instance_name(); the module name when NULL */
	const char *state_dir; /* state_dir() */
	const void *conf;      /* conf() */
	void *data;            /* set_data() / get_data() */
};
#define FAKE_CTX(c) ((bw_module_ctx *)(void *)(c))

#define FAKE_QUERY_MAX 8

struct fake_core {
	/* what the core answers (set by the test) */
	void *base;            /* event_base(): a struct event_base * */
	int log_stderr;        /* also print warnings and errors to stderr */
	/*
	 * Forwarded registrations: when set, policy_format_register() and
	 * identity_allocator_register() also call these (a test that wants
	 * the core's real registries passes bw_policy_format_add, ...).
	 */
	int (*format_add)(bw_module_ctx *ctx, const struct bw_policy_format *f);
	int (*allocator_set)(bw_module_ctx *ctx,
			     const struct bw_identity_allocator *a);
	/* decision hooks (ABI 1.2): what hook_active() answers, and what
	 * hook_dns/http/kafka return (0 means BW_HOOK_NONE: allowed) */
	unsigned hook_flags;
	int hook_rc;
	uint64_t redirect_generation; /* what redirect_generation() answers */
	/*
	 * api_call() (ABI 1.2): when set, answers in-process calls (call cb
	 * as the core would, set *call for an answer that comes later);
	 * unset, every call gets the core's 404 for a route nobody serves.
	 */
	int (*api_call_fn)(const char *method, const char *target,
			   const char *body, size_t body_len, bw_api_call_fn cb,
			   void *ud, bw_api_call **call);
	/* the advisor's members (ABI 1.2): history_scan() hands these rows
	 * to row() and then calls done(history_err); history_rc < 0 is
	 * returned instead. whatif_replay() answers FORWARDED in both sets
	 * unless whatif_judge changes a result; whatif_error makes
	 * whatif_new() fail with that message. policy_export() returns
	 * policies (NULL: no policy). */
	const struct bw_history_row *history;
	size_t n_history;
	int history_rc, history_err;
	void (*whatif_judge)(const struct bw_whatif_conn *c, struct bw_whatif_result *r);
	const char *whatif_error;
	const char *policies;
	/* fqdn_names() gives fqdn_name for the address fqdn_address */
	const char *fqdn_address, *fqdn_name;
	/* endpoint_walk() visits these */
	const struct bw_endpoint_view *endpoints;
	size_t n_endpoints;
	/* the request fake_core_request() hands to the route's handler */
	const char *query[FAKE_QUERY_MAX][2]; /* name, value; NULL name ends */
	const char *body;

	/* what the module did (recorded) */
	char log[8192];        /* every log line, each ending in '\n' */
	char route_method[16], route_path[256]; /* the last api_route() */
	bw_api_handler handler;
	void *handler_ud;
	bw_free_fn handler_free;
	int status;            /* the last reply's HTTP status */
	char *reply;           /* its body (reply_json) or message (reply_error) */
	char *stream;          /* stream_line() lines, each ending in '\n' */
	const struct bw_policy_format *format;         /* the last registered */
	const struct bw_identity_allocator *allocator; /* the last registered */
	void (*metrics_cb)(bw_metrics_out *out, void *ud);
	void *metrics_ud;
	bw_free_fn metrics_free;
	char *metrics;         /* metrics_printf() output */
	void (*flow_cb)(const struct bw_flow *flow, void *ud);
	void *flow_ud;
	bw_free_fn flow_free;
	unsigned hook_calls;   /* hook_dns/http/kafka calls */
	uint64_t hook_cancelled; /* the last hook_cancel() ticket */
	const struct bw_l7_parser *l7_parser; /* the last l7_parser_register() */
	unsigned l7_records;   /* l7_record() calls */
	unsigned api_calls;    /* api_call() calls */
	char api_call_method[16], api_call_target[1024]; /* the last one */
	char *api_call_body;   /* its body */
	unsigned api_call_cancels; /* api_call_cancel() calls */
	bw_api_call *api_call_cancelled; /* the last one's handle */
	int followers;         /* flow_followers_account() deltas summed */
	const struct bw_history_provider *history_provider; /* the last registered */
	int64_t history_since; /* the last history_scan() */
	char *whatif_candidate; /* the last whatif_new() candidate */
	unsigned whatif_flags;
	unsigned whatif_news, whatif_frees;
	uint64_t followers_lost;
	unsigned fqdn_ip_sets, fqdn_syncs; /* fqdn_ip_set() / fqdn_sync() calls */
	/* the last dns_subscribe(); dns_publish() calls it */
	void (*dns_cb)(const struct bw_dns_answer *answer, void *ud);
	void *dns_ud;
	bw_free_fn dns_free;
	unsigned dns_published; /* dns_publish() calls */
	unsigned flows_published; /* flow_publish() calls */
};

extern struct fake_core fake_core;

/* The table (static, every member set). */
const struct bw_core_api *fake_core_api(void);

/* Free what was recorded and zero fake_core (the test's settings too). */
void fake_core_reset(void);

/*
 * Call the handler of the last api_route() with fake_core.query and
 * fake_core.body; returns the handler's return value, the reply is in
 * fake_core.status and fake_core.reply.
 */
int fake_core_request(void);

/* Run the registered metrics collector; its text is in fake_core.metrics. */
void fake_core_collect(void);

#endif /* BW_TEST_FAKE_CORE_H */
