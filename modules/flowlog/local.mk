# SPDX-License-Identifier: BSD-2-Clause
# modules/flowlog/: flows to rotated JSONL files (Hubble's file exporter).
# The FlowFilter parser and matcher come from lib/ (libbw.la, linked into
# the module); nothing but the descriptor is exported.

module_LTLIBRARIES += modules/flowlog.la
modules_flowlog_la_SOURCES = \
	modules/flowlog/flowlog.c \
	modules/flowlog/flowlog.h \
	modules/flowlog/flowlog_writer.c \
	modules/flowlog/flowlog_filters.c
modules_flowlog_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden -pthread
modules_flowlog_la_LDFLAGS = $(BW_MODULE_LINK) -pthread
modules_flowlog_la_LIBADD = libbw.la $(LIBEVENT_LIBS) $(JANSSON_LIBS)
EXTRA_DIST += modules/flowlog/README.md
EXTRA_DIST += docs/flowlog.md
