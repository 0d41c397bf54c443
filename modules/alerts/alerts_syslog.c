/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/alerts/alerts_syslog.c - alerts to a syslog socket.
 *
 * syslog(3) always writes to the system's /dev/log; alerts need a socket
 * of their own choosing (another syslog daemon, a collector, a test), so
 * the module writes the datagram itself: RFC 3164's
 * "<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG" (what syslog(3) sends and what
 * rsyslog, syslog-ng and journald read on /dev/log), on a non-blocking
 * AF_UNIX datagram socket, so a stalled syslog daemon costs a failed
 * message, never the event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "alerts.h"

struct alerts_syslog {
	char *path;
	char *tag;
	int facility;
	int fd;
};

static const struct {
	const char *name;
	int code;
} alerts_facilities[] = {
	{ "kern", 0 }, { "user", 1 }, { "mail", 2 }, { "daemon", 3 }, { "auth", 4 },
	{ "syslog", 5 }, { "lpr", 6 }, { "news", 7 }, { "uucp", 8 }, { "cron", 9 },
	{ "authpriv", 10 }, { "ftp", 11 }, { "local0", 16 }, { "local1", 17 },
	{ "local2", 18 }, { "local3", 19 }, { "local4", 20 }, { "local5", 21 },
	{ "local6", 22 }, { "local7", 23 },
};

int
alerts_syslog_facility(const char *name)
{
	for (size_t i = 0; i < sizeof(alerts_facilities) / sizeof(*alerts_facilities); i++)
		if (name != NULL && !strcmp(name, alerts_facilities[i].name))
			return alerts_facilities[i].code << 3;
	return -1;
}

int
alerts_syslog_new(struct alerts_syslog **out, const char *socket_path, int facility,
		  const char *tag)
{
	struct alerts_syslog *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->path = strdup(socket_path)) == NULL ||
	    (s->tag = strdup(tag)) == NULL) {
		if (s != NULL)
			free(s->path);
		free(s);
		return -ENOMEM;
	}
	s->facility = facility;
	s->fd = -1;
	*out = s;
	return 0;
}

static int
alerts_syslog_connect(struct alerts_syslog *s)
{
	struct sockaddr_un sa;

	if (strlen(s->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
	if (connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(s->fd);
		s->fd = -1;
		return e;
	}
	return 0;
}

int
alerts_syslog_send(struct alerts_syslog *s, int severity, const char *msg)
{
	char stamp[32], *buf;
	time_t now = time(NULL);
	struct tm tm;
	int n, rc;

	if (s->fd < 0 && (rc = alerts_syslog_connect(s)) < 0)
		return rc;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	n = asprintf(&buf, "<%d>%s %s[%d]: %s", s->facility | (severity & 7), stamp, s->tag,
		     (int)getpid(), msg);
	if (n < 0)
		return -ENOMEM;
	rc = send(s->fd, buf, (size_t)n, MSG_NOSIGNAL) < 0 ? -errno : 0;
	free(buf);
	if (rc < 0 && rc != -EAGAIN) {
		/* the daemon restarted or went away: reconnect next time */
		close(s->fd);
		s->fd = -1;
	}
	return rc;
}

void
alerts_syslog_free(struct alerts_syslog *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->path);
	free(s->tag);
	free(s);
}
