/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/lua/lua_int.h - what the Lua host's files share:
 *   lua.c        start/stop, config, the script directory and loading
 *   luaworker.c  the bw-lua thread, its queues, calls into the scripts
 *   luaconv.c    C records <-> Lua tables, Lua tables -> JSON
 *   luaapi.c     the `bulwark` table scripts require()
 *   luactl.c     control API routes, status and metrics
 *
 * Threads. The loop thread owns the script list, the directory watch, the
 * control API and every call into the rest of the core. The bw-lua thread
 * (the worker) owns the Lua states of installed scripts and runs every
 * hook. They meet under lh.mu: the loop queues commands, decisions and
 * flows for the worker; the worker queues answers, finished flows,
 * actions (webhooks, emitted flows) and calls it needs the loop to make
 * (endpoint lookups, quarantine) and wakes the loop through an eventfd.
 * The loop never waits for the worker (except when it stops it); the
 * worker waits for the loop only inside a host call, and that time does
 * not count against the script's wall-clock budget.
 *
 * A script is loaded (compiled, top level run, hooks checked) on the loop
 * thread, under the same budgets, and its Lua state is then handed to the
 * worker; host functions called while loading run their work inline.
 */
#ifndef BW_CORE_LUA_INT_H
#define BW_CORE_LUA_INT_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>
#include <lua.h>

#include "bulwark/flow.h"
#include "bulwark/hook.h"
#include "core/lua/luasandbox.h"

struct event_base;
struct event;

#define LH_NAME_MAX 64
#define LH_ERR_MAX 256
#define LH_REASON_MAX 256
#define LH_EXT_MAX 4096        /* JSON bytes one script may add to a flow */
#define LH_EXT_DEPTH 4
#define LH_METRIC_NAMES 16     /* per script */
#define LH_METRIC_LABELS 4     /* per metric */
#define LH_METRIC_SERIES 64    /* label sets per metric name */
#define LH_LOG_RATE 20         /* lines a second per script */
#define LH_WEBHOOK_RATE 10     /* per second per script */
#define LH_EMIT_RATE 100       /* emitted flows per second per script */
#define LH_QUARANTINE_RATE 10  /* quarantines asked per second per script */

/* A script's state (docs/lua.md: active, failed, disabled, error). */
enum lh_sstate {
	LH_ST_ACTIVE = 0,
	LH_ST_FAILED,   /* too many failures: flow hooks off, decisions default */
	LH_ST_DISABLED, /* by the operator: not asked at all */
	LH_ST_ERROR,    /* never loaded (its file does not load) */
};

struct lh_hookstats {
	uint64_t calls;
	uint64_t ns;
	uint64_t denials;
	uint64_t fails[BW_LSB_NFAIL];
};

/* A token bucket. */
struct lh_rate {
	double tokens;
	uint64_t last_ns;
	uint64_t dropped;
};

/* One user metric (bw.counter / bw.gauge): a name and its label sets. */
struct lh_series {
	char *labels;       /* rendered: a="x",b="y" (may be "") */
	double value;
};
struct lh_family {
	char name[48];
	int gauge;
	struct lh_series *v;
	size_t n;
};

struct lh_script {
	char name[LH_NAME_MAX];
	char *path;

	/* loop thread */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	int seen;                  /* found by the current directory scan */
	int installed;             /* handed to the worker */

	/* under lh.mu */
	int state;                 /* enum lh_sstate */
	unsigned hooks;            /* bits of enum bw_lua_hook: the version the worker runs */
	unsigned pending;          /* hooks of a version handed over, not yet installed */
	char last_error[LH_ERR_MAX];
	uint64_t last_error_ns;    /* wall clock */
	uint64_t loaded_ns;        /* wall clock */
	uint64_t memory;
	struct lh_hookstats st[BW_LUA_NHOOKS + 1]; /* + the protocol parser */
	struct lh_family *fam;
	size_t nfam;
	uint64_t log_dropped;

	/* the thread that runs it (the loop while loading, then the worker) */
	struct bw_lsb *sb;
	uint64_t *fail_ns;         /* ring of the last failure times */
	unsigned fail_cap, fail_n, fail_next;
	struct lh_rate rl_log, rl_webhook, rl_emit, rl_quarantine;
	int failed_logged;
};

/* ---- the loop <-> worker queues ------------------------------------------------ */

enum lh_cmd_kind {
	LH_CMD_INSTALL,  /* (re)place the script's Lua state with cmd->sb */
	LH_CMD_REMOVE,   /* forget the script; the loop frees it after the ack */
};

struct lh_cmd {
	struct lh_cmd *next;
	int kind;
	struct lh_script *s;
	struct bw_lsb *sb;
	unsigned hooks;
};

/* One decision on its way through the worker. */
struct lh_dec {
	struct lh_dec *next;           /* queue link */
	struct lh_dec *pprev, *pnext;  /* loop: in-flight list */
	uint64_t ticket;
	int hook;                       /* BW_LUA_ON_DNS / _HTTP / _KAFKA */
	uint64_t deadline_ns;
	int answered;                   /* loop: answered by the timeout */
	int cancelled;                  /* loop sets, worker reads (__atomic) */
	int sync;                       /* the loop waits for it (the proxy engine) */
	int done, abandoned;            /* sync: under lh.mu */
	union {
		struct bw_hook_dns dns;
		struct bw_hook_http http;
		struct bw_hook_kafka kafka;
	} req;
	char *arena;                    /* the request's strings and arrays */
	/* the answer (worker) */
	struct bw_hook_result res;
	char script[LH_NAME_MAX];
	char reason[LH_REASON_MAX];
	char *ext;                      /* malloc'd */
	struct bw_hook_header *set;     /* malloc'd, strings in set_arena */
	char **remove;
	uint32_t nset, nremove;

	/* a protocol parser's call (hook BW_LUA_PROTOCOL, luaparser.c) */
	struct lh_script *pscript;      /* the script providing the protocol */
	int presp;                      /* 1: frame a response (protocol.response) */
	char *pdata;                    /* undecided bytes (a copy) */
	size_t plen;
	char *prules;                   /* the rules in force (JSON), NULL: none */
	char cip[64], sip[64];          /* client and server addresses */
	uint16_t cport, sport;
	int pdir;                       /* BW_FLOW_TRAFFIC_INGRESS / _EGRESS */
	int pop;                        /* BW_L7_MORE / PASS / DROP / CLOSE */
	size_t pn;                      /* bytes the op covers */
	int prule;                      /* matching rule (0-based), -1 */
	struct bw_flow_kv *fields;      /* malloc'd key/value strings */
	uint32_t nfields;
	char *denied;                   /* bytes to answer a denied request */
	size_t denied_len;
};

/* An alert record from the alert bus (core/module/alertbus.h) for on_alert. */
#define LH_ALERT_QUEUE 256
struct lh_alert {
	struct lh_alert *next;
	char json[];                    /* one JSON object */
};

/* A flow the stage handed over, and what the scripts added. */
struct lh_flowjob {
	const struct bw_flow *f;
	uint64_t token;
	char *ext;                      /* malloc'd JSON, or NULL */
};

/* A call the worker needs the loop thread to make. */
struct lh_rpc {
	struct lh_rpc *next;
	void (*fn)(struct lh_rpc *r);
	/* in */
	const char *s1, *s2, *s3;
	int64_t n1;
	struct lh_script *script;
	/* out */
	json_t *out;
	int rc;
	char err[LH_ERR_MAX];
	int done;
};

/* Something the worker asks the loop to do, without waiting. */
enum lh_act_kind { LH_ACT_WEBHOOK, LH_ACT_EMIT, LH_ACT_QUARANTINE };
struct lh_action {
	struct lh_action *next;
	int kind;
	char script[LH_NAME_MAX];
	char *url;                      /* webhook URL; quarantine: the endpoint */
	char *body;                     /* webhook JSON; emit: the flow as JSON;
					 * quarantine: the reason */
	char *peer;                     /* quarantine */
	int64_t seconds;
};

/* The limits and policies the worker reads (a copy, under lh.mu). */
struct lh_limits {
	struct bw_lsb_limits lsb;
	unsigned max_failures;
	uint64_t failure_window_ns;
	int default_deny;
	uint64_t decision_timeout_ns;
};

struct lh_host {
	struct event_base *base;
	pthread_t loop_thread;
	int up;
	char *dir;

	/* every script, sorted by name (changed by the loop under mu) */
	struct lh_script **scripts;
	size_t nscripts;
	int ino_fd, ino_wd;
	struct event *ino_ev, *rescan_ev, *timer_ev;

	/* the worker */
	pthread_t thread;
	int thread_up;
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* wakes the worker */
	pthread_cond_t rpc_cv;   /* wakes a worker waiting in a host call */
	pthread_cond_t sync_cv;  /* wakes the loop waiting for a decision */
	int stop;
	int idle;                /* the worker waits on cv */
	struct lh_limits lim;   /* under mu */
	char *webhooks;          /* under mu: [lua] webhooks */
	struct lh_script **wscripts; /* the worker's list, sorted by name */
	size_t nwscripts;
	unsigned active;         /* __atomic: hooks of active scripts (bits) */
	unsigned deciding;       /* __atomic: decision hooks of active or failed scripts */

	/* loop -> worker, under mu */
	struct lh_cmd *cmd_head, **cmd_tail;
	struct lh_dec *dec_head, **dec_tail;
	struct lh_flowjob *fq;
	unsigned fq_cap, fq_head, fq_n;
	struct lh_alert *al_head, **al_tail; /* alerts for on_alert */
	unsigned al_n;

	/* worker -> loop, under mu */
	int efd;
	struct event *efd_ev;
	int efd_armed;
	struct lh_cmd *ack_head, **ack_tail;
	struct lh_dec *ans_head, **ans_tail;
	struct lh_flowjob *fdone;
	unsigned fdone_n, fdone_cap;
	struct lh_rpc *rpc_head, **rpc_tail;
	struct lh_action *act_head, **act_tail;

	/* loop: decisions in flight, oldest first */
	struct lh_dec *inflight;
	struct lh_dec *inflight_tail;
	struct event *deadline_ev;   /* the oldest decision's deadline */
	void *dns;                   /* struct evdns_base for webhook host names */

	/* what the worker is doing now (__atomic; stuck detection) */
	uint64_t busy_since_ns;
	struct lh_script *busy_script;
	int busy_hook;
	int stuck_logged;

	/* counters (under mu) */
	uint64_t flows_seen, decisions, decision_timeouts, webhooks_sent,
		 webhooks_failed, webhooks_dropped, emitted, alerts_seen,
		 alerts_dropped;
	int alert_sub;               /* the alert bus subscription, 0: none */
	unsigned webhooks_inflight;
};

extern struct lh_host lh;

/* ---- lua.c ------------------------------------------------------------------------ */

uint64_t bw_lua_now_ns(void);        /* CLOCK_MONOTONIC */
uint64_t bw_lua_wall_ns(void);       /* CLOCK_REALTIME */
int bw_lua_on_loop(void);
/* Recompute lh.active / lh.deciding (call with lh.mu held). */
void bw_lua_recompute_active(void);
/* Find a script by name (loop thread). */
struct lh_script *bw_lua_script_find(const char *name);
/* Re-read the directory / one script; 0 or -errno with err set. */
int bw_lua_rescan(void);
int bw_lua_reload_one(struct lh_script *s, char *err, size_t errlen);
int bw_lua_disable(struct lh_script *s);
/* Record a failure of s (worker, or loop while loading): counts, logs,
 * fails the script when too many. Takes lh.mu. */
void bw_lua_failure(struct lh_script *s, int hook, int fail, const char *msg);
/* Token bucket: non-zero when allowed. */
int bw_lua_rate_allow(struct lh_rate *r, double rate, double burst);

/* ---- luaworker.c --------------------------------------------------------------- */

int bw_luaw_start(void);
void bw_luaw_stop(void);
/* Queue for the worker (loop thread). */
void bw_luaw_command(struct lh_cmd *c);
/* The alert bus subscriber: an alert record for on_alert (loop thread). */
void bw_luaw_alert(const char *json, void *ud);
int bw_luaw_decide(struct lh_dec *d);
int bw_luaw_flow(const struct bw_flow *f, uint64_t token);
/*
 * Ask and wait (the loop thread, for the proxy engine, whose parsers
 * decide synchronously): 0 with the answer in d (free it with
 * bw_luaw_dec_free), or -ETIMEDOUT after decision_timeout (d is then
 * the worker's to free). Host calls the worker makes meanwhile are run
 * here, so a script that looks something up cannot deadlock the wait.
 */
int bw_luaw_decide_sync(struct lh_dec *d);
/* Count a call (worker); say which call runs now (stuck detection). */
void bw_luaw_stats(struct lh_script *s, int hook, uint64_t ns, int denied);
void bw_luaw_busy(struct lh_script *s, int hook);
/* Point d->res at d's answer (script, reason, header edits, extensions). */
void bw_luaw_dec_result(struct lh_dec *d);
void bw_luaw_dec_free(struct lh_dec *d);
void bw_luaw_cancel(uint64_t ticket);
/* Worker -> loop: run r->fn(r) on the loop thread and wait for it
 * (inline when called on the loop thread). 0, or -ECANCELED when the host
 * is stopping. */
int bw_luaw_rpc(struct lh_rpc *r);
/* Worker -> loop, without waiting (ownership of a passes). */
void bw_luaw_action(struct lh_action *a);
/* The timer: decision deadlines and stuck calls. */
void bw_luaw_tick(void);

/* ---- luaconv.c ------------------------------------------------------------------ */

/*
 * Push the flow as Hubble's JSON object (docs/flows.md), or a request as
 * docs/lua.md describes it, as a table filled on first use. The record
 * must stay valid until bw_luac_done() is called with the returned handle
 * (right after the hook call, also when it failed).
 */
void *bw_luac_push_flow(lua_State *L, const struct bw_flow *f);
void *bw_luac_push_dns(lua_State *L, const struct bw_hook_dns *q);
void *bw_luac_push_http(lua_State *L, const struct bw_hook_http *r);
void *bw_luac_push_kafka(lua_State *L, const struct bw_hook_kafka *r);
void bw_luac_done(void *handle);
/* The value at idx as JSON (tables, strings, numbers, booleans; depth
 * and size bounded): a new reference, or NULL with a message in err. */
json_t *bw_luac_to_json(lua_State *L, int idx, int max_depth, char *err,
			size_t errlen);
/* Push a JSON value as Lua. */
void bw_luac_push_json(lua_State *L, const json_t *v);
/* Deep-copy a request into one allocation (*arena); peers enriched from
 * the core (loop thread). 0 or -ENOMEM. */
int bw_luac_copy_dns(struct lh_dec *d, const struct bw_hook_dns *q);
int bw_luac_copy_http(struct lh_dec *d, const struct bw_hook_http *r);
int bw_luac_copy_kafka(struct lh_dec *d, const struct bw_hook_kafka *r);
/* DNS RR type mnemonic ("A", "TYPE65"); buf needs 16 bytes. */
const char *bw_luac_qtype_name(unsigned type, char *buf, size_t len);
/* Kafka API key name as Cilium spells it, or NULL. */
const char *bw_luac_kafka_api_name(unsigned key);

/* ---- luaapi.c ------------------------------------------------------------------- */

/* open_host for bw_lsb_new(): the bulwark table for script s. */
int bw_luaapi_open(lua_State *L, void *script);

/* ---- luaparser.c ---------------------------------------------------------------- */

/*
 * Loop thread: script s was loaded, and defines protocol name (or NULL:
 * none); register (or re-point) the engine parser of that name. response:
 * the protocol frames responses too (protocol.response).
 * forget: s is going away or no longer defines a protocol.
 */
void bw_luaparser_script(struct lh_script *s, const char *name, int response);
void bw_luaparser_forget(struct lh_script *s);
/* Worker: run a protocol parser call. */
void bw_luaparser_run(struct lh_dec *d, const struct lh_limits *lim);

/* ---- luactl.c ------------------------------------------------------------------- */

int bw_luactl_init(void);
void bw_luactl_fini(void);

#endif /* BW_CORE_LUA_INT_H */
