/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/state.h - small helpers for the daemon's on-disk state.
 *
 * State files (endpoints, identities, module caches under state_dir) must
 * never be seen half-written after a crash: they are written to a temporary
 * file in the same directory, fsync'ed, renamed over the old one, and the
 * directory is fsync'ed. Directories are created with their parents.
 */
#ifndef BW_STATE_H
#define BW_STATE_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

/*
 * Create a directory and its missing parents with the given mode (existing
 * ones are left alone). Returns 0 or -errno.
 */
int bw_state_mkdir_p(const char *path, mode_t mode);

/*
 * Replace path atomically with len bytes of data (mode for a new file).
 * Returns 0 or -errno; on failure the old file is untouched.
 */
int bw_state_write_file(const char *path, const void *data, size_t len,
			mode_t mode);

/*
 * Replace path atomically with the JSON document (compact, sorted keys,
 * newline-terminated), mode 0600. Does not steal doc. Returns 0 or -errno.
 */
int bw_state_write_json(const char *path, const json_t *doc);

/*
 * Read a JSON file. Returns a new reference, or NULL with errno set:
 * ENOENT when the file does not exist, EINVAL when it does not parse (the
 * parser's message, with the line, is written to err if err is not NULL).
 */
json_t *bw_state_read_json(const char *path, char *err, size_t errlen);

/*
 * Journals: a state file rewritten in full on every change costs as much
 * as the table is long. A journal next to it (path, conventionally
 * "<file>.journal") takes one JSON record per line instead, appended with
 * one write(2) before the change is acknowledged; the owner replays it
 * over the file when it loads, and folds it into the file (rewrite, then
 * truncate the journal) once it is long. Appends are not fsync'ed: they
 * survive a crash of the daemon (the page cache keeps them), not one of
 * the machine, which also loses everything pinned in the bpffs.
 */

/* Append doc as one compact line. Returns 0 or -errno. */
int bw_state_journal_append(const char *path, const json_t *doc);

/*
 * Call fn for each record of the journal, in order. A last line cut short
 * by a crash is ignored; any other line that does not parse is an error
 * (-EINVAL, the line in err). A missing journal has no records (0).
 * Returns the number of records, or -errno, or fn's negative return.
 */
int bw_state_journal_read(const char *path, int (*fn)(const json_t *rec, void *arg),
			  void *arg, char *err, size_t errlen);

/* Empty the journal (after its records went into the file). 0 or -errno. */
int bw_state_journal_reset(const char *path);
/* Largest state file read (a bigger one is refused, not read). */
#define BW_STATE_MAX_BYTES (256u << 20)

/*
 * Read a state file of the shape bulwarkd writes: a JSON object with
 * "version": version and, for each name in lists (NULL-terminated), a list
 * under that name. Refuses (NULL, errno EINVAL, err = "PATH: why") a file
 * that is not a regular file (a FIFO is never opened for reading in a way
 * that blocks), larger than BW_STATE_MAX_BYTES, not JSON, not an object,
 * of another version, or without one of the lists, so that a damaged or
 * foreign file is never read as an empty state. NULL with errno ENOENT
 * when the file does not exist.
 */
json_t *bw_state_read_doc(const char *path, int version, const char *const *lists, char *err,
			  size_t errlen);

#endif /* BW_STATE_H */
