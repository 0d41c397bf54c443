# SPDX-License-Identifier: BSD-2-Clause
# lib/: code shared by bulwarkd, the bulwark CLI and modules (DESIGN.md
# section 2): flow filters, the Hubble flow JSON writer and enum tables, drop
# reasons, IP prefixes, watch lists, the error-buffer helper, listen
# addresses. libbw.la is a convenience library (libc + jansson only, no core
# state), linked into libbwcore.la, the CLI and the modules that need it.

noinst_LTLIBRARIES += libbw.la
libbw_la_SOURCES = \
	lib/errbuf.c lib/errbuf.h \
	lib/atomicfile.c lib/atomicfile.h \
	lib/prefix.c lib/prefix.h \
	lib/watchlist.c lib/watchlist.h \
	lib/dropreason.c lib/dropreason.h \
	lib/kafkakeys.c lib/kafkakeys.h \
	lib/flowjson.c lib/flowjson.h lib/flowmask.c \
	lib/flowfilter.c lib/flowfilter_label.c lib/flowfilter.h lib/flowfilter_int.h \
	lib/flowfilter_time.c \
	lib/fqdnmatch.c lib/fqdnmatch.h \
	lib/flowpeer.c lib/flowpeer.h \
	lib/listenaddr.c lib/listenaddr.h
libbw_la_LIBADD = $(JANSSON_LIBS)

# lib/httpguard.c: connection cap, request deadline and accept back-off for
# an evhttp server (the control socket, the metrics port); needs libevent,
# so it is a library of its own (libbw.la stays libc + jansson).
noinst_LTLIBRARIES += libbwhttp.la
libbwhttp_la_SOURCES = lib/httpguard.c lib/httpguard.h
libbwhttp_la_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)
libbwhttp_la_LIBADD = $(LIBEVENT_LIBS)
