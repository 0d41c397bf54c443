/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/flowlog/flowlog.h - the parts of the flowlog module shared
 * between its files (nothing here is exported: the module is built with
 * hidden visibility and exports only bw_module_desc).
 *
 *  flowlog.c         the module: config, flow subscription, filters,
 *                    metrics, the status route, reload
 *  flowlog_writer.c  the file: a worker thread that owns it, a bounded
 *                    queue from the loop thread, rotation, crash repair
 *  flowlog_filters.c the allowlist and denylist values: FlowFilter lists
 *                    (the field mask is lib/flowmask.c's)
 */
#ifndef BW_MODULES_FLOWLOG_H
#define BW_MODULES_FLOWLOG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* ---- the writer (flowlog_writer.c) ----------------------------------------- */

struct flowlog_writer;

/* Counters of a writer, read with flowlog_writer_stats(). */
struct flowlog_writer_stats {
	uint64_t lines;        /* lines written to the file */
	uint64_t bytes;        /* bytes written */
	uint64_t dropped;      /* lines refused because the queue was full */
	uint64_t write_errors; /* lines lost because a write failed */
	uint64_t rotations;    /* files rotated */
	uint64_t queued;       /* bytes waiting for the worker */
	uint64_t file_size;    /* size of the current file */
	uint64_t repaired;     /* bytes of a partial last line cut at open */
	unsigned error_seq;    /* changes whenever a new error is recorded */
	char error[256];       /* the last error, "" when none */
};

/*
 * Open (creating it and its directory if needed) the file at path for
 * appending, cut a partial last line left by a crash, remove backups
 * beyond max_backups, and start the worker thread. Fails with -errno and
 * a message in err.
 */
int flowlog_writer_open(struct flowlog_writer **out, const char *path,
			int64_t max_size, int max_backups, size_t queue_max,
			char *err, size_t errlen);
/* Queue one line (a newline is added). Never blocks on I/O; returns 0, or
 * -ENOBUFS when the queue is full (the line is counted as dropped). */
int flowlog_writer_push(struct flowlog_writer *w, const char *line,
			size_t len);
/* Change the rotation and queue limits (effective from the next batch). */
void flowlog_writer_set_limits(struct flowlog_writer *w, int64_t max_size,
			       int max_backups, size_t queue_max);
void flowlog_writer_stats(struct flowlog_writer *w,
			  struct flowlog_writer_stats *st);
/*
 * Write what is queued, fsync, stop the thread, close the file, free.
 * final (may be NULL) gets the last counters.
 */
void flowlog_writer_close(struct flowlog_writer *w,
			  struct flowlog_writer_stats *final);

/* ---- config values (flowlog_filters.c) --------------------------------------- */

/*
 * Parse a list of FlowFilter objects as hubble-export-allowlist takes
 * them: one or more JSON objects separated by commas or blank space, or
 * one JSON array of objects. "" gives an empty array. Returns a new JSON
 * array, or NULL with a message in err.
 */
json_t *flowlog_filters_text(const char *text, char *err, size_t errlen);

#endif /* BW_MODULES_FLOWLOG_H */
