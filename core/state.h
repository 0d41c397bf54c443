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
