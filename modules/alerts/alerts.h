/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/alerts/alerts.h - what the alerts module's files share (nothing
 * is exported but bw_module_desc).
 *
 *  alerts.c          the module: config, denied flows -> deduplicated
 *                    alerts, rate limit, delivery to the targets and the
 *                    alert bus, metrics, GET /v1/alerts
 *  alerts_webhook.c  HTTP POST of each alert (libevent's evhttp client),
 *                    a bounded queue, retries with exponential backoff
 *  alerts_syslog.c   one datagram per alert to a syslog socket
 */
#ifndef BW_MODULES_ALERTS_H
#define BW_MODULES_ALERTS_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

/* ---- webhook (alerts_webhook.c) --------------------------------------------- */

struct alerts_webhook;

struct alerts_webhook_stats {
	uint64_t sent;        /* POSTs answered 2xx */
	uint64_t failed;      /* alerts given up: retries exhausted */
	uint64_t queue_full;  /* alerts refused because the queue was full */
	uint64_t retries;     /* POSTs tried again */
	uint64_t queued;      /* waiting now */
	char last_error[256]; /* "" when none */
	unsigned error_seq;
};

/*
 * Parse url (http://HOST[:PORT]/PATH) and set up the sender on base.
 * Returns 0 or -EINVAL with a message naming what is wrong.
 */
int alerts_webhook_check(const char *url, char *err, size_t errlen);
int alerts_webhook_new(struct alerts_webhook **out, struct event_base *base,
		       const char *url, size_t queue_max, int retries,
		       int64_t backoff_ms, int64_t timeout_ms, char *err,
		       size_t errlen);
/* Trust the CA certificates in file too (https only). 0 or -EINVAL. */
int alerts_webhook_set_ca(struct alerts_webhook *w, const char *file, char *err,
			  size_t errlen);
/* Queue one JSON body; -ENOBUFS when the queue is full (counted). */
int alerts_webhook_send(struct alerts_webhook *w, const char *json);
void alerts_webhook_stats(struct alerts_webhook *w, struct alerts_webhook_stats *st);
void alerts_webhook_free(struct alerts_webhook *w);

/* ---- syslog (alerts_syslog.c) ------------------------------------------------ */

struct alerts_syslog;

int alerts_syslog_new(struct alerts_syslog **out, const char *socket_path,
		      int facility, const char *tag);
/*
 * Send one message at severity (syslog numbering). 0, or a negative errno
 * (the socket is reconnected at the next message).
 */
int alerts_syslog_send(struct alerts_syslog *s, int severity, const char *msg);
void alerts_syslog_free(struct alerts_syslog *s);
/* Facility name ("daemon", "local0", ...) -> code << 3, or -1. */
int alerts_syslog_facility(const char *name);

#endif /* BW_MODULES_ALERTS_H */
