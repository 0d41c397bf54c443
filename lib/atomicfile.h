/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/atomicfile.h - write a whole file atomically: PATH.tmp.PID written and
 * fsync'd, renamed over PATH, then the directory fsync'd.
 */
#ifndef BW_LIB_ATOMICFILE_H
#define BW_LIB_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

/* 0 or -errno; on failure PATH is unchanged and the temporary file gone. */
int bw_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

#endif
