# SPDX-License-Identifier: BSD-2-Clause
# modules/servicemap/: the service map (GET /v1/map, `bulwark map`),
# aggregated in memory from the flows. lib/ (libbw.la) parses the `since`
# parameter like `observe --since`.

module_LTLIBRARIES += modules/servicemap.la
modules_servicemap_la_SOURCES = \
	modules/servicemap/servicemap.c
modules_servicemap_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
modules_servicemap_la_LDFLAGS = $(BW_MODULE_LINK)
modules_servicemap_la_LIBADD = libbw.la $(LIBEVENT_LIBS) $(JANSSON_LIBS)
EXTRA_DIST += modules/servicemap/README.md
EXTRA_DIST += docs/service-map.md
