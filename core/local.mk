# SPDX-License-Identifier: BSD-2-Clause
# core/: bulwarkd. libbwcore.la holds every core/*.c except bulwarkd.c, so
# the unit tests link exactly what the daemon links. Add your files to
# libbwcore_la_SOURCES (sources and headers) with +=.

noinst_LTLIBRARIES += libbwcore.la
libbwcore_la_SOURCES = \
	core/log.c core/log.h \
	core/config.c core/config.h \
	core/state.c core/state.h
libbwcore_la_SOURCES += \
	core/module.c core/module.h \
	core/coreapi.c core/registry.c core/registry.h \
	core/api.c core/api.h
libbwcore_la_SOURCES += \
	core/labels.c core/labels.h \
	core/selector.c core/selector.h \
	core/identity.c core/identity.h \
	core/ipcache.c core/ipcache.h \
	core/endpoint.c core/endpoint.h core/endpoint_int.h \
	core/endpoint_spec.c core/endpoint_api.c
libbwcore_la_SOURCES += core/policydoc.c core/policydoc.h
libbwcore_la_SOURCES += \
	core/datapath.c core/datapath.h core/datapath_int.h core/datapath_ct.c \
	core/tcattach.c core/tcattach.h \
	core/dropreason.c core/dropreason.h
libbwcore_la_SOURCES += \
	core/policy.c core/policy.h core/policy_int.h core/policy_api.c \
	core/policydir.c \
	core/resolver.c core/resolver.h core/resolver_int.h \
	core/resolver_compile.c core/resolver_entries.c core/resolver_util.c
EXTRA_DIST += docs/policy-engine.md
# flows (core/flow.h): pipeline, Hubble JSON, filters, GET /v1/flows
libbwcore_la_SOURCES += \
	core/flow.c core/flow.h core/flowenrich.c \
	core/flowjson.c core/flowjson.h \
	core/flowfilter.c core/flowfilter.h core/flowfilter_int.h \
	core/flowfilter_flags.c core/flowfilter_time.c \
	core/flowapi.c
libbwcore_la_LIBADD = $(DEPS_LIBS)

sbin_PROGRAMS += bulwarkd
bulwarkd_SOURCES = core/bulwarkd.c
bulwarkd_LDADD = $(BW_CORE_LIBS)
include_bulwark_HEADERS += include/bulwark/flow.h
EXTRA_DIST += docs/flows.md
