/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/fqdn/fqdn_persist.c - writing the FQDN cache file off the event
 * loop. The loop thread serialises the cache (fast) and hands the text to
 * one writer thread, which writes it atomically (temporary file, fsync,
 * rename, directory fsync). A newer text replaces one still waiting, so a
 * burst of changes costs one write; the DNS proxy that shares the loop
 * never waits for a disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fqdn_persist.h"
#include "lib/atomicfile.h"

struct fqp {
	char *path;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *pending;      /* text waiting to be written */
	int stop;
	int last_error;     /* negative errno of the last write, 0 ok */
	unsigned long writes;
	int running;
};

static void *fqp_main(void *arg)
{
	struct fqp *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		char *text;
		int rc;

		while (!p->pending && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (!p->pending)
			break; /* stop, nothing left */
		text = p->pending;
		p->pending = NULL;
		pthread_mutex_unlock(&p->mu);
		rc = bw_file_write_atomic(p->path, text, strlen(text), 0600);
		free(text);
		pthread_mutex_lock(&p->mu);
		p->last_error = rc;
		if (rc == 0)
			p->writes++;
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct fqp *fqp_new(const char *path)
{
	struct fqp *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->path = strdup(path);
	if (!p->path) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (pthread_create(&p->thread, NULL, fqp_main, p) == 0)
		p->running = 1;
	return p;
}

int fqp_submit(struct fqp *p, char *text)
{
	int rc;

	if (!p->running) { /* no thread: write here */
		rc = bw_file_write_atomic(p->path, text, strlen(text), 0600);
		free(text);
		p->last_error = rc;
		if (rc == 0)
			p->writes++;
		return rc;
	}
	pthread_mutex_lock(&p->mu);
	free(p->pending);
	p->pending = text;
	rc = p->last_error;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int fqp_last_error(struct fqp *p)
{
	int rc;

	pthread_mutex_lock(&p->mu);
	rc = p->last_error;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

unsigned long fqp_writes(struct fqp *p)
{
	unsigned long n;

	pthread_mutex_lock(&p->mu);
	n = p->writes;
	pthread_mutex_unlock(&p->mu);
	return n;
}

void fqp_free(struct fqp *p)
{
	if (!p)
		return;
	if (p->running) {
		pthread_mutex_lock(&p->mu);
		p->stop = 1;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL); /* writes what is pending first */
	}
	free(p->pending);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->path);
	free(p);
}
