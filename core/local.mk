# SPDX-License-Identifier: BSD-2-Clause
# core/: bulwarkd. libbwcore.la holds every file under core/ except
# bulwarkd.c, one group per subsystem folder (DESIGN.md section 2), so the
# unit tests link exactly what the daemon links. Add your files to
# libbwcore_la_SOURCES (sources and headers) with +=.

noinst_LTLIBRARIES += libbwcore.la
libbwcore_la_SOURCES = \
	core/log.c core/log.h \
	core/config.c core/config.h \
	core/state.c core/state.h
libbwcore_la_SOURCES += \
	core/module/module.c core/module/module.h \
	core/module/coreapi.c core/module/coreapi.h core/module/registry.c core/module/registry.h \
	core/module/hooks.c core/module/hooks.h \
	core/module/alertbus.c core/module/alertbus.h \
	core/module/history.c core/module/history.h \
	core/api.c core/api.h
libbwcore_la_SOURCES += \
	core/node/labels.c core/node/labels.h \
	core/node/selector.c core/node/selector.h \
	core/node/identity.c core/node/identity.h \
	core/node/ipcache.c core/node/ipcache.h \
	core/node/ifaddr.c core/node/ifaddr.h \
	core/node/fqdn.c core/node/fqdn.h \
	core/node/endpoint.c core/node/endpoint.h core/node/endpoint_int.h \
	core/node/endpoint_spec.c core/node/endpoint_api.c core/node/endpoint_journal.c \
	core/node/endpoint_access.c
libbwcore_la_SOURCES += core/policy/policydoc.c core/policy/policydoc.h
libbwcore_la_SOURCES += \
	core/datapath/datapath.c core/datapath/datapath.h core/datapath/datapath_int.h core/datapath/datapath_ct.c \
	core/datapath/ctpeers.c core/datapath/bpffs.c \
	core/datapath/datapath_lookup.c core/datapath/datapath_ep.c core/datapath/veth.c \
	core/datapath/tcattach.c core/datapath/tcattach.h \
	core/datapath/redirect.c core/datapath/redirect.h
libbwcore_la_SOURCES += core/datapath/earlydemux.c core/datapath/earlydemux.h \
	core/datapath/uplink.c core/datapath/uplink.h core/datapath/pins.h \
	core/datapath/sklookup.c core/datapath/sklookup.h
libbwcore_la_SOURCES += \
	core/policy/policy.c core/policy/policy.h core/policy/policy_int.h core/policy/policy_api.c \
	core/policy/policy_batch.c core/policy/policy_split.c core/policy/policy_rulelist.c \
	core/policy/policy_persist.c \
	core/policy/policy_room.c \
	core/policy/policydir.c core/policy/policy_query.c core/policy/policy_staged.c \
	core/policy/policy_whatif.c core/policy/whatif.h \
	core/policy/quarantine.c core/policy/quarantine.h \
	core/policy/resolver.c core/policy/resolver.h core/policy/resolver_int.h \
	core/policy/resolver_compile.c core/policy/resolver_entries.c core/policy/resolver_util.c \
	core/policy/resolver_split.c \
	core/policy/resolver_util.h \
	core/policy/proxyconn.c core/policy/proxyconn.h
EXTRA_DIST += docs/policy-engine.md docs/redirect.md
# flows (core/flow/flow.h): pipeline, enrichment, GET /v1/flows
libbwcore_la_SOURCES += \
	core/flow/flow.c core/flow/flow.h core/flow/flow_int.h core/flow/flowenrich.c \
	core/flow/flowstage.c \
	core/flow/flowapi.c
# the L7 proxy engine (core/proxy/proxy.h): connections, parsers, L7 flows
libbwcore_la_SOURCES += \
	core/proxy/proxy.h core/proxy/proxy_int.h \
	core/proxy/engine.c core/proxy/parsers.c core/proxy/proxy_flow.c \
	core/proxy/proxy_api.c core/proxy/proxy_redirect.c \
	core/proxy/sockets.c
include_bulwark_HEADERS += include/bulwark/l7.h
EXTRA_DIST += docs/l7.md
libbwcore_la_LIBADD = libbw.la libbwhttp.la $(DEPS_LIBS)

sbin_PROGRAMS += bulwarkd
bulwarkd_SOURCES = core/bulwarkd.c
bulwarkd_LDADD = $(BW_CORE_LIBS)
include_bulwark_HEADERS += include/bulwark/flow.h include/bulwark/hook.h
EXTRA_DIST += docs/flows.md docs/lua.md

# the Lua host (core/lua/lua.h, docs/lua.md); lua/bulwark.lua is compiled in
libbwcore_la_SOURCES += \
	core/lua/lua.c core/lua/lua.h core/lua/lua_int.h \
	core/lua/luasandbox.c core/lua/luasandbox.h \
	core/lua/luaworker.c core/lua/luaconv.c core/lua/luaapi.c \
	core/lua/luactl.c core/lua/luaparser.c
nodist_libbwcore_la_SOURCES = core/lua/bulwark_lua.inc
BUILT_SOURCES += core/lua/bulwark_lua.inc
CLEANFILES += core/lua/bulwark_lua.inc core/lua/bulwark_lua.inc.tmp
core/lua/bulwark_lua.inc: $(srcdir)/lua/bulwark.lua
	$(AM_V_GEN)$(MKDIR_P) core/lua && \
	{ echo '/* generated from lua/bulwark.lua by core/local.mk: do not edit */'; \
	  echo 'static const char luaapi_helpers[] ='; \
	  $(SED) -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' \
		$(srcdir)/lua/bulwark.lua; \
	  echo ';'; } > $@.tmp && mv -f $@.tmp $@
