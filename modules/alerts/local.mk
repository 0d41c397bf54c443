# SPDX-License-Identifier: BSD-2-Clause
# modules/alerts/: deny alerts to syslog, a webhook (libevent's evhttp
# client; https through libevent_openssl) and the core's alert bus.

module_LTLIBRARIES += modules/alerts.la
modules_alerts_la_SOURCES = \
	modules/alerts/alerts.c \
	modules/alerts/alerts.h \
	modules/alerts/alerts_webhook.c \
	modules/alerts/alerts_syslog.c
modules_alerts_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden $(LIBEVENT_OPENSSL_CFLAGS)
modules_alerts_la_LDFLAGS = $(BW_MODULE_LINK)
modules_alerts_la_LIBADD = libbw.la $(LIBEVENT_OPENSSL_LIBS) $(LIBEVENT_LIBS) $(JANSSON_LIBS)
EXTRA_DIST += modules/alerts/README.md modules/alerts/metrics.list
