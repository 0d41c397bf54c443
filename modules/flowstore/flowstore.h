/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/flowstore/flowstore.h - what the flowstore module's files share
 * (nothing here is exported: the module exports only bw_module_desc).
 *
 *  flowstore.c          the module: config, the flow subscription and the
 *                       connection records, the batch handed to the writer,
 *                       metrics, lifecycle
 *  flowstore_batch.c    the loop thread's in-memory aggregation of one batch
 *  flowstore_db.c       the database and the thread that owns it: schema,
 *                       writes, retention, a damaged or unwritable file,
 *                       queries, and the pipe that hands results back
 *  flowstore_api.c      GET /v1/history, /v1/exposure, /v1/compliance,
 *                       /v1/flowstore and the exposure/compliance gauges
 */
#ifndef BW_MODULES_FLOWSTORE_H
#define BW_MODULES_FLOWSTORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <bulwark/flow.h>
#include <bulwark/module.h>

#include "lib/flowfilter.h"

/* Exposure paths (the talk's three measures). */
enum fs_path {
	FS_PATH_INGRESS_WORLD = 0,
	FS_PATH_INGRESS_OTHER_NS = 1,
	FS_PATH_EGRESS_WORLD = 2,
	FS_NPATHS = 3,
};

extern const char *const fs_path_names[FS_NPATHS];

struct fs_conf {
	char *path;
	int64_t retention;      /* ms */
	int64_t max_size;       /* bytes */
	int64_t bucket;         /* ms */
	int64_t flush_interval; /* ms */
	int64_t queue_size;     /* batches */
	int64_t max_keys;       /* distinct records per batch */
	int raw;
	int64_t raw_retention;  /* ms */
	int64_t window;         /* ms: default --since of exposure/compliance, gauges */
	int64_t max_namespaces;
};

/* ---- one batch (flowstore_batch.c) ------------------------------------------ */

/* One aggregated connection record. */
struct fs_rec {
	struct fs_rec *hnext;
	uint64_t hash;
	int64_t bucket;      /* ms, start of the bucket */
	char *src, *dst;     /* names (lib/flowpeer.h) */
	char *src_ns, *dst_ns; /* NULL unless a pod */
	uint8_t src_kind, dst_kind;
	uint16_t port;
	uint8_t proto;
	uint8_t dir;         /* BW_FLOW_TRAFFIC_* */
	uint8_t verdict;     /* BW_FLOW_VERDICT_* */
	char *policies;      /* "Kind NS/NAME\n..." */
	uint64_t count;
	int64_t first, last; /* ms */
};

/* Denied (or audited) connections of one endpoint in one bucket. */
struct fs_deny {
	struct fs_deny *hnext;
	uint64_t hash;
	int64_t bucket;
	char *endpoint;      /* "NS/POD" */
	uint8_t dir, verdict;
	uint64_t count;
};

/* The last time a workload's exposure path carried traffic. */
struct fs_seen {
	struct fs_seen *hnext;
	uint64_t hash;
	char *workload;      /* "NS/WORKLOAD" */
	int64_t last[FS_NPATHS]; /* ms, 0 = never */
};

struct fs_batch {
	struct fs_batch *next;  /* the writer's queue */
	struct fs_rec **recs;
	size_t nbuckets, nrecs;
	struct fs_deny **denies;
	size_t ndbuckets, ndenies;
	struct fs_seen **seen;
	size_t nsbuckets, nseen;
	char **raw;             /* flow JSON lines, with raw_time */
	int64_t *raw_time;
	size_t nraw, rawcap;
	uint64_t flows;         /* connection records in it */
};

struct fs_batch *fs_batch_new(size_t max_keys);
void fs_batch_free(struct fs_batch *b);
/* Add one record (strings copied). -ENOMEM. */
int fs_batch_add(struct fs_batch *b, const struct fs_rec *r);
int fs_batch_deny(struct fs_batch *b, int64_t bucket, const char *endpoint,
		  uint8_t dir, uint8_t verdict);
/* Note traffic on a workload's path at time ms. */
int fs_batch_seen(struct fs_batch *b, const char *workload, int path, int64_t ms);
int fs_batch_raw(struct fs_batch *b, const char *line, int64_t ms);

/* The loop's table of seen paths (same struct, its own hash). */
struct fs_seen_table {
	struct fs_seen **v;
	size_t nbuckets, n;
};
int fs_seen_table_init(struct fs_seen_table *t);
void fs_seen_table_clear(struct fs_seen_table *t);
/* Max-merge last[path] of workload. */
int fs_seen_table_note(struct fs_seen_table *t, const char *workload, int path, int64_t ms);
const struct fs_seen *fs_seen_table_get(const struct fs_seen_table *t, const char *workload);
/* Forget workloads whose paths were all last used before before (ms). */
size_t fs_seen_table_prune(struct fs_seen_table *t, int64_t before);

uint64_t fs_hash(const void *p, size_t n, uint64_t h);
#define FS_HASH_INIT UINT64_C(14695981039346656037)

/* ---- the database and its thread (flowstore_db.c) ----------------------------- */

struct fs_db;

struct fs_db_stats {
	int available;          /* the database is open and writable */
	char error[512];        /* why not, or the last write error */
	unsigned error_seq;     /* changes with each new error */
	char notice[512];       /* what happened at open (moved aside, unclean stop) */
	unsigned notice_seq;
	uint64_t batches;       /* batches written */
	uint64_t records;       /* records written (upserts) */
	uint64_t flows;         /* connection records written (sum of counts) */
	uint64_t write_errors;  /* batches lost because a write failed */
	uint64_t dropped;       /* batches refused because the queue was full */
	uint64_t dropped_flows; /* the flows in them */
	uint64_t lost_write_flows; /* flows of batches whose write failed */
	uint64_t queued;        /* batches waiting */
	uint64_t deleted_rows;  /* rows removed by retention */
	uint64_t db_bytes;      /* file + WAL size at the last check */
	int64_t oldest_ms;      /* oldest bucket kept (0 when empty) */
	int64_t last_write_ms;  /* wall clock of the last commit */
	int unclean_start;      /* the previous run did not close the database */
	double write_seconds;   /* time spent writing */
};

struct fs_db_settings {
	char *path;
	int64_t retention, raw_retention, max_size, bucket;
	size_t queue_max;
};

/*
 * Start the writer thread; it opens path (creating it), checks it, and
 * moves a damaged or unwritable file aside. done_fd: the loop's end of the
 * completion pipe is returned in *fd (read it when readable and call
 * fs_db_complete()). Returns 0 or -errno.
 */
int fs_db_start(struct fs_db **out, const struct fs_db_settings *s, int *fd);
/* Change retention and sizes (effective at the next check). */
void fs_db_settings_update(struct fs_db *db, const struct fs_db_settings *s);
/* Queue a batch (taken over). -ENOBUFS when the queue is full (freed, counted). */
int fs_db_push(struct fs_db *db, struct fs_batch *b);
void fs_db_stats(struct fs_db *db, struct fs_db_stats *st);
/* Write what is queued, mark a clean stop, stop the thread, close. */
void fs_db_stop(struct fs_db *db);

/* A query run on the writer thread; done() runs on the loop thread. */
enum fs_query_kind {
	FS_Q_HISTORY = 1,
	FS_Q_DENIES,
	FS_Q_SEEN,
	FS_Q_SCAN,     /* the history provider's scan (bw_core_api.history_scan) */
};

struct fs_query {
	struct fs_query *next;
	enum fs_query_kind kind;
	int64_t since_ms;
	size_t limit;
	struct bw_flowfilters filters; /* history */
	int has_filters;
	/* results (NULL result + error on failure) */
	json_t *result;
	char error[512];
	int unavailable;               /* the database is not available */
	void (*done)(struct fs_query *q);
	void *arg;                     /* the caller's */
	void *arg2;
	json_t *arg3;
	/* FS_Q_SCAN: called on the database thread for each row */
	int (*scan_row)(const struct bw_history_row *r, void *arg);
	void *scan_arg;
};

/* Queue a query; its done() runs later from fs_db_complete(). */
int fs_db_query(struct fs_db *db, struct fs_query *q);
/* Run the done() of finished queries (loop thread, when *fd is readable). */
void fs_db_complete(struct fs_db *db);
void fs_query_free(struct fs_query *q);

/* ---- the module (flowstore.c) shared with the API -------------------------- */

struct flowstore {
	const struct bw_core_api *api;
	bw_module_ctx *ctx;
	const char *instance;
	struct fs_conf conf;    /* copy of the current config's numbers */
	char *path;             /* resolved database path */
	struct fs_db *db;
	int done_fd;
	struct event *done_ev;
	struct event *tick;
	struct fs_batch *batch;
	int64_t batch_started;  /* ms */
	int64_t pruned_at;      /* ms: the seen table's last pruning */
	struct fs_seen_table seen;
	int seen_loaded;
	int running;
	uint64_t flows_seen;    /* flows handed to the module */
	uint64_t records;       /* connection records made from them */
	uint64_t reported_dropped;
	unsigned reported_error_seq, reported_notice_seq;
	/* staged verdicts: counted per namespace (bounded) */
	json_t *staged_counts;  /* "ns\tverdict\tchange" -> count */
	json_t *staged_ns;      /* namespaces with a series (a set) */
	struct fs_db_stats last_stats; /* at the last report */
	/* cached gauges */
	json_t *gauges;
	int64_t gauges_at;      /* ms */
};

#define fs_log(fs, lvl, ...) (fs)->api->log((fs)->ctx, (lvl), __VA_ARGS__)

int64_t fs_now_ms(void);
/* RFC 3339 UTC with milliseconds. */
void fs_time_text(int64_t ms, char *buf, size_t len);

/* flowstore_api.c */
int fs_api_init(struct flowstore *fs);
/* The history provider (bw_core_api.history_provider_register). */
int fs_history_provider_init(struct flowstore *fs);
void fs_metrics_collect(bw_metrics_out *out, void *ud);
/* The exposure document for namespace ns (NULL: all) and window since_ms. */
json_t *fs_exposure_json(struct flowstore *fs, const char *ns, int64_t since_ms);

#endif /* BW_MODULES_FLOWSTORE_H */
