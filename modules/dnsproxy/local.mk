# SPDX-License-Identifier: BSD-2-Clause
# modules/dnsproxy/: the transparent DNS proxy (docs/fqdn.md). DNS messages
# are read with ldns (libldns-dev): dnsproxy_msg.c, fuzzed by
# tests/fuzz/fuzz_dns.c.

module_LTLIBRARIES += modules/dnsproxy.la
modules_dnsproxy_la_SOURCES = \
	modules/dnsproxy/dnsproxy.c \
	modules/dnsproxy/dnsproxy_engine.c modules/dnsproxy/dnsproxy_engine.h \
	modules/dnsproxy/dnsproxy_msg.c modules/dnsproxy/dnsproxy_msg.h \
	modules/dnsproxy/dnsproxy_rules.c modules/dnsproxy/dnsproxy_rules.h
modules_dnsproxy_la_CFLAGS = $(AM_CFLAGS) $(LDNS_CFLAGS) -fvisibility=hidden
modules_dnsproxy_la_LDFLAGS = $(BW_MODULE_LINK)
modules_dnsproxy_la_LIBADD = libbw.la $(LDNS_LIBS) $(LIBEVENT_LIBS) $(JANSSON_LIBS)
EXTRA_DIST += modules/dnsproxy/README.md
