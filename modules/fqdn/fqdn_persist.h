/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/fqdn/fqdn_persist.h - the writer thread of the FQDN cache file
 * (fqdn_persist.c).
 */
#ifndef BW_FQDN_PERSIST_H
#define BW_FQDN_PERSIST_H

#include <stddef.h>

struct fqp;

/* Start a writer for path (a thread; without one, writes happen inline). */
struct fqp *fqp_new(const char *path);

/*
 * Queue text (malloc'd; taken over) to be written atomically; replaces a
 * text still waiting. Returns the last write's result (0 or -errno).
 */
int fqp_submit(struct fqp *p, char *text);

int fqp_last_error(struct fqp *p);
unsigned long fqp_writes(struct fqp *p);

/* Write what waits, stop the thread, free. */
void fqp_free(struct fqp *p);

#endif /* BW_FQDN_PERSIST_H */
