# SPDX-License-Identifier: BSD-2-Clause
# lib/: code shared by bulwarkd, the bulwark CLI and modules (DESIGN.md
# section 2): flow filters, the Hubble flow JSON writer and enum tables, drop
# reasons, IP prefixes, watch lists, the error-buffer helper, listen
# addresses. libbw.la is a convenience library (libc + jansson only, no core
# state), linked into libbwcore.la, the CLI and the modules that need it.

noinst_LTLIBRARIES += libbw.la
libbw_la_SOURCES = \
	lib/errbuf.c lib/errbuf.h \
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
