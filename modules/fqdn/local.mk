# SPDX-License-Identifier: BSD-2-Clause
# modules/fqdn/: toFQDNs policy - the DNS cache that turns the answers of a
# DNS proxy into FQDN identities, its collector and its file (docs/fqdn.md).

module_LTLIBRARIES += modules/fqdn.la
modules_fqdn_la_SOURCES = \
	modules/fqdn/fqdn.c \
	modules/fqdn/fqdn_cache.c modules/fqdn/fqdn_cache.h \
	modules/fqdn/fqdn_persist.c modules/fqdn/fqdn_persist.h
modules_fqdn_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden -pthread
modules_fqdn_la_LDFLAGS = $(BW_MODULE_LINK)
modules_fqdn_la_LIBADD = libbw.la $(LIBEVENT_LIBS) $(JANSSON_LIBS) -lpthread
EXTRA_DIST += modules/fqdn/README.md docs/fqdn.md
