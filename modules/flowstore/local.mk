# SPDX-License-Identifier: BSD-2-Clause
# modules/flowstore/: durable flow history in SQLite (a thread owns the
# database), exposure and compliance. SQLite is Debian's libsqlite3 (WAL,
# crash safety and integrity checks are what it does best); the FlowFilter
# matcher and the flow naming come from lib/ (libbw.la).

module_LTLIBRARIES += modules/flowstore.la
modules_flowstore_la_SOURCES = \
	modules/flowstore/flowstore.c \
	modules/flowstore/flowstore.h \
	modules/flowstore/flowstore_batch.c \
	modules/flowstore/flowstore_db.c \
	modules/flowstore/flowstore_api.c
modules_flowstore_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden -pthread
modules_flowstore_la_LDFLAGS = $(BW_MODULE_LINK) -pthread
modules_flowstore_la_LIBADD = libbw.la $(SQLITE3_LIBS) $(LIBEVENT_LIBS) $(JANSSON_LIBS)
EXTRA_DIST += modules/flowstore/README.md modules/flowstore/metrics.list
