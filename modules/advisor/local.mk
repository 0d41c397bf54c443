# SPDX-License-Identifier: BSD-2-Clause
# modules/advisor/: policy recommendation, what-if replay and broad-rule
# detection from the flow history (bulwark recommend, simulate, broad-rules).

module_LTLIBRARIES += modules/advisor.la
modules_advisor_la_SOURCES = \
	modules/advisor/advisor.c \
	modules/advisor/advisor.h \
	modules/advisor/advisor_rows.c \
	modules/advisor/advisor_world.c \
	modules/advisor/advisor_recommend.c \
	modules/advisor/advisor_verify.c \
	modules/advisor/advisor_simulate.c \
	modules/advisor/advisor_broad.c \
	modules/advisor/advisor_cnp.c \
	modules/advisor/advisor_yaml.c
modules_advisor_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden $(JANSSON_CFLAGS)
modules_advisor_la_LDFLAGS = $(BW_MODULE_LINK)
modules_advisor_la_LIBADD = libbw.la $(JANSSON_LIBS)
EXTRA_DIST += modules/advisor/README.md modules/advisor/metrics.list
