# SPDX-License-Identifier: BSD-2-Clause
# tests/unit/: Check unit tests, one per core file, linking libbwcore.la.
# Pattern for a new test:
#   check_PROGRAMS += tests/unit/test_foo
#   TESTS += tests/unit/test_foo
#   tests_unit_test_foo_SOURCES = tests/unit/test_foo.c
#   tests_unit_test_foo_CFLAGS = $(BW_TEST_CFLAGS)
#   tests_unit_test_foo_LDADD = $(BW_TEST_LIBS)

# The one fake of struct bw_core_api for module unit tests and the fuzz
# targets that drive a module (tests/unit/fake_core.h): put $(BW_FAKE_CORE)
# before $(BW_TEST_LIBS) in a test's LDADD.
check_LTLIBRARIES += tests/unit/libfakecore.la
tests_unit_libfakecore_la_SOURCES = tests/unit/fake_core.c tests/unit/fake_core.h
BW_FAKE_CORE = tests/unit/libfakecore.la

# core/policy/policydoc.c and the two policy format modules (their sources are
# compiled into the tests, which load them through the module descriptor).
BW_POLICY_TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/modules/netpol-k8s \
	-DBW_TEST_POLICY_DATA=\"$(abs_top_srcdir)/tests/unit/data/policies\" \
	-DBW_TEST_CONFORMANCE_DIR=\"$(abs_top_srcdir)/tests/conformance/netpol/cases\"
check_PROGRAMS += tests/unit/test_policydoc tests/unit/test_netpol_k8s \
	tests/unit/test_netpol_cilium
TESTS += tests/unit/test_policydoc tests/unit/test_netpol_k8s \
	tests/unit/test_netpol_cilium
tests_unit_test_policydoc_SOURCES = tests/unit/test_policydoc.c
tests_unit_test_policydoc_CPPFLAGS = $(BW_POLICY_TEST_CPPFLAGS)
tests_unit_test_policydoc_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_policydoc_LDADD = $(BW_TEST_LIBS)
tests_unit_test_netpol_k8s_SOURCES = tests/unit/test_netpol_k8s.c \
	modules/netpol-k8s/netpol_k8s.c modules/netpol-k8s/netpol_common.c
tests_unit_test_netpol_k8s_CPPFLAGS = $(BW_POLICY_TEST_CPPFLAGS)
tests_unit_test_netpol_k8s_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_netpol_k8s_LDADD = $(BW_FAKE_CORE) $(BW_TEST_LIBS)
tests_unit_test_netpol_cilium_SOURCES = tests/unit/test_netpol_cilium.c \
	modules/netpol-cilium/netpol_cilium.c modules/netpol-cilium/cilium_l7.c \
	modules/netpol-k8s/netpol_common.c
tests_unit_test_netpol_cilium_CPPFLAGS = $(BW_POLICY_TEST_CPPFLAGS)
tests_unit_test_netpol_cilium_CFLAGS = $(BW_TEST_CFLAGS) $(PCRE2_CFLAGS)
tests_unit_test_netpol_cilium_LDADD = $(BW_FAKE_CORE) $(BW_TEST_LIBS) $(PCRE2_LIBS)
EXTRA_DIST += tests/unit/data/policies

# core/config.c and core/log.c
check_PROGRAMS += tests/unit/test_config tests/unit/test_log
TESTS += tests/unit/test_config tests/unit/test_log
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_config_LDADD = $(BW_TEST_LIBS)
tests_unit_test_log_SOURCES = tests/unit/test_log.c
tests_unit_test_log_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_log_LDADD = $(BW_TEST_LIBS)

# bulwarkd -n against golden files; every file shipped in etc/ passes -n;
# the daemon's run/reload/stop cycle.
TESTS += tests/unit/golden.sh tests/unit/etc.sh tests/unit/daemon.sh
check_PROGRAMS += tests/unit/notify-recv
tests_unit_notify_recv_SOURCES = tests/unit/notify-recv.c
dist_check_SCRIPTS += tests/unit/golden.sh tests/unit/etc.sh tests/unit/daemon.sh
# (not "golden": make's built-in "%: %.sh" rule would overwrite that
# directory with a copy of golden.sh whenever the script is newer)
EXTRA_DIST += tests/unit/golden-conf

# core/datapath/datapath.c (expansion, precedence, struct sizes)
check_PROGRAMS += tests/unit/test_datapath
TESTS += tests/unit/test_datapath
tests_unit_test_datapath_SOURCES = tests/unit/test_datapath.c
tests_unit_test_datapath_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_datapath_LDADD = $(BW_TEST_LIBS)

# core/api.c (routing, error bodies, streams, socket) and core/module/module.c,
# core/module/coreapi.c, core/module/registry.c (loader, lifecycle, registries; loads the
# test modules of tests/modules/). The CLI against a running daemon.
check_PROGRAMS += tests/unit/test_api tests/unit/test_module
TESTS += tests/unit/test_api tests/unit/test_module tests/unit/test_cli.sh
dist_check_SCRIPTS += tests/unit/test_cli.sh
tests_unit_test_api_SOURCES = tests/unit/test_api.c
tests_unit_test_api_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_api_LDADD = $(BW_TEST_LIBS)
# core/api.c's in-process calls (bw_core_api.api_call, ABI 1.2)
check_PROGRAMS += tests/unit/test_api_local
TESTS += tests/unit/test_api_local
tests_unit_test_api_local_SOURCES = tests/unit/test_api_local.c
tests_unit_test_api_local_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_api_local_LDADD = $(BW_TEST_LIBS)
tests_unit_test_module_SOURCES = tests/unit/test_module.c
tests_unit_test_module_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_module_LDADD = $(BW_FAKE_CORE) $(BW_TEST_LIBS)

# core/flow/flow.c, lib/flowjson.c, lib/flowfilter.c (hand-built bw_event
# records through the pipeline; JSON shape; every filter, --not, either-side)
check_PROGRAMS += tests/unit/test_flowjson tests/unit/test_flowfilter
TESTS += tests/unit/test_flowjson tests/unit/test_flowfilter
tests_unit_test_flowjson_SOURCES = tests/unit/test_flowjson.c
tests_unit_test_flowjson_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_flowjson_LDADD = $(BW_TEST_LIBS)
tests_unit_test_flowfilter_SOURCES = tests/unit/test_flowfilter.c \
	cli/flowfilter_flags.c cli/flowfilter_flags.h
tests_unit_test_flowfilter_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_flowfilter_LDADD = $(BW_TEST_LIBS)

# core/node/labels.c, core/node/selector.c, core/node/identity.c (+ modules/identity-local,
# compiled into the test), core/node/endpoint.c (validation, namespaces)
check_PROGRAMS += tests/unit/test_labels tests/unit/test_selector \
	tests/unit/test_identity tests/unit/test_endpoint
TESTS += tests/unit/test_labels tests/unit/test_selector \
	tests/unit/test_identity tests/unit/test_endpoint
tests_unit_test_labels_SOURCES = tests/unit/test_labels.c
tests_unit_test_labels_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_labels_LDADD = $(BW_TEST_LIBS)
tests_unit_test_selector_SOURCES = tests/unit/test_selector.c
tests_unit_test_selector_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_selector_LDADD = $(BW_TEST_LIBS)
tests_unit_test_identity_SOURCES = tests/unit/test_identity.c
tests_unit_test_identity_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_identity_LDADD = $(BW_FAKE_CORE) $(BW_TEST_LIBS)
tests_unit_test_endpoint_SOURCES = tests/unit/test_endpoint.c
tests_unit_test_endpoint_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_endpoint_LDADD = $(BW_TEST_LIBS)

# core/policy/resolver*.c (semantics with hand-built identities and endpoints) and
# core/policy/policy.c (repository batches, sources, rule table, messages; the
# Kubernetes format module is compiled in)
check_PROGRAMS += tests/unit/test_resolver tests/unit/test_policy
TESTS += tests/unit/test_resolver tests/unit/test_policy
tests_unit_test_resolver_SOURCES = tests/unit/test_resolver.c
tests_unit_test_resolver_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_resolver_LDADD = $(BW_TEST_LIBS)
tests_unit_test_policy_SOURCES = tests/unit/test_policy.c \
	modules/netpol-k8s/netpol_k8s.c modules/netpol-k8s/netpol_common.c
tests_unit_test_policy_CPPFLAGS = $(BW_POLICY_TEST_CPPFLAGS)
tests_unit_test_policy_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_policy_LDADD = $(BW_FAKE_CORE) $(BW_TEST_LIBS)
# core/policy/policy_whatif.c: candidate sets, their errors, unreplayable
# connections (lookups against endpoints: tests/e2e/test_advisor.sh)
check_PROGRAMS += tests/unit/test_whatif
TESTS += tests/unit/test_whatif
tests_unit_test_whatif_SOURCES = tests/unit/test_whatif.c \
	modules/netpol-k8s/netpol_k8s.c modules/netpol-k8s/netpol_common.c
tests_unit_test_whatif_CPPFLAGS = $(BW_POLICY_TEST_CPPFLAGS)
tests_unit_test_whatif_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_whatif_LDADD = $(BW_FAKE_CORE) $(BW_TEST_LIBS)

# Grafana dashboards (etc/grafana/): importable, PromQL parses, every metric
# they query is one the prometheus module exports (metrics.list), documented.
TESTS += tests/unit/test_grafana.sh
dist_check_SCRIPTS += tests/unit/test_grafana.sh
# prometheus module: config keys through bulwarkd -n (listen address forms)
TESTS += tests/unit/test_prometheus_conf.sh
dist_check_SCRIPTS += tests/unit/test_prometheus_conf.sh
# prometheus module: bounded label vectors and the text format writer
check_PROGRAMS += tests/unit/test_prom_vec
TESTS += tests/unit/test_prom_vec
tests_unit_test_prom_vec_SOURCES = tests/unit/test_prom_vec.c \
	modules/prometheus/prom_vec.c
tests_unit_test_prom_vec_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/modules/prometheus
tests_unit_test_prom_vec_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_prom_vec_LDADD = $(CHECK_LIBS) $(LIBEVENT_LIBS) -lm

# modules/flowlog: filter lists, field mask, the writer (append, repair,
# rotation, drops) and the module through its descriptor with a fake core
check_PROGRAMS += tests/unit/test_flowlog
TESTS += tests/unit/test_flowlog
tests_unit_test_flowlog_SOURCES = tests/unit/test_flowlog.c \
	modules/flowlog/flowlog.c modules/flowlog/flowlog.h \
	modules/flowlog/flowlog_writer.c modules/flowlog/flowlog_filters.c
tests_unit_test_flowlog_CFLAGS = $(BW_TEST_CFLAGS) -pthread
tests_unit_test_flowlog_LDADD = $(BW_FAKE_CORE) $(BW_TEST_LIBS) -lpthread
# modules/flowlog: bad filters, field mask, path refused by bulwarkd -n
# (the module's check hook), naming file:line, section and key
TESTS += tests/unit/test_flowlog_conf.sh
dist_check_SCRIPTS += tests/unit/test_flowlog_conf.sh
EXTRA_DIST += tests/unit/modconf_lib.sh

# modules/servicemap: what counts, nodes of peers, memory bounds, the API
# parameters, through the descriptor with a fake core
check_PROGRAMS += tests/unit/test_svcmap
TESTS += tests/unit/test_svcmap
tests_unit_test_svcmap_SOURCES = tests/unit/test_svcmap.c \
	modules/servicemap/servicemap.c
tests_unit_test_svcmap_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_svcmap_LDADD = $(BW_FAKE_CORE) $(BW_TEST_LIBS)

# modules/webui: static files, the API proxy, access checks, live flows
# (through the descriptor with a fake core and a real listener); the
# page's committed build and its logic (node --test)
check_PROGRAMS += tests/unit/test_webui
TESTS += tests/unit/test_webui tests/unit/test_webui_ui.sh
dist_check_SCRIPTS += tests/unit/test_webui_ui.sh
tests_unit_test_webui_SOURCES = tests/unit/test_webui.c \
	modules/webui/webui.c modules/webui/webui_static.c \
	modules/webui/webui_proxy.c modules/webui/webui_events.c
tests_unit_test_webui_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS) \
	$(LIBEVENT_OPENSSL_CFLAGS) -DBW_WEBUI_DIR=\"/nonexistent\"
tests_unit_test_webui_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_webui_LDADD = $(BW_FAKE_CORE) $(BW_TEST_LIBS) \
	$(LIBEVENT_OPENSSL_LIBS) $(OPENSSL_LIBS)

# core/node/ipcache.c against a brute-force model; the datapath writes are the
# test's own recording functions (not core/datapath/datapath.c), so the table is
# tested alone.
check_PROGRAMS += tests/unit/test_ipcache
TESTS += tests/unit/test_ipcache
tests_unit_test_ipcache_SOURCES = tests/unit/test_ipcache.c core/node/ipcache.c core/log.c
tests_unit_test_ipcache_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_ipcache_LDADD = libbw.la $(CHECK_LIBS) $(DEPS_LIBS)

# modules/flowstore: the batch aggregation and the database thread (writes,
# history query and filters, denied counts, retention by age and size, a
# damaged file, an unclean stop, a full queue); lib/flowpeer.c (names);
# core/datapath/datapath_lookup.c (the datapath's decision in memory)
check_PROGRAMS += tests/unit/test_flowstore tests/unit/test_flowpeer tests/unit/test_policy_lookup
TESTS += tests/unit/test_flowstore tests/unit/test_flowpeer tests/unit/test_policy_lookup
tests_unit_test_flowstore_SOURCES = tests/unit/test_flowstore.c \
	modules/flowstore/flowstore.h modules/flowstore/flowstore_batch.c \
	modules/flowstore/flowstore_db.c
tests_unit_test_flowstore_CFLAGS = $(BW_TEST_CFLAGS) -pthread
tests_unit_test_flowstore_LDADD = $(BW_TEST_LIBS) -lpthread
tests_unit_test_flowpeer_SOURCES = tests/unit/test_flowpeer.c
tests_unit_test_flowpeer_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_flowpeer_LDADD = $(BW_TEST_LIBS)
tests_unit_test_policy_lookup_SOURCES = tests/unit/test_policy_lookup.c
tests_unit_test_policy_lookup_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_policy_lookup_LDADD = $(BW_TEST_LIBS)

# lib/prefix.c (the one IP prefix parser), lib/errbuf.c, lib/watchlist.c;
# tests/unit/check_main.h is the main() of a Check test
check_PROGRAMS += tests/unit/test_prefix tests/unit/test_errbuf \
	tests/unit/test_watchlist
TESTS += tests/unit/test_prefix tests/unit/test_errbuf tests/unit/test_watchlist
EXTRA_DIST += tests/unit/check_main.h tests/unit/tmpdir.h
tests_unit_test_watchlist_SOURCES = tests/unit/test_watchlist.c
tests_unit_test_watchlist_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_watchlist_LDADD = $(BW_TEST_LIBS)
tests_unit_test_prefix_SOURCES = tests/unit/test_prefix.c
tests_unit_test_prefix_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_prefix_LDADD = $(BW_TEST_LIBS)
tests_unit_test_errbuf_SOURCES = tests/unit/test_errbuf.c
tests_unit_test_errbuf_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_errbuf_LDADD = $(BW_TEST_LIBS)

# The layering: no file includes a header of a layer above its own
# (docs/internals.md, "Layering"); the test first proves the checker fails
# on a crafted tree.
TESTS += tests/unit/test_layering.sh
dist_check_SCRIPTS += tests/unit/test_layering.sh tests/unit/layering.py

# lib/fqdnmatch.c: Cilium's matchName/matchPattern semantics
check_PROGRAMS += tests/unit/test_fqdnmatch
TESTS += tests/unit/test_fqdnmatch
tests_unit_test_fqdnmatch_SOURCES = tests/unit/test_fqdnmatch.c
tests_unit_test_fqdnmatch_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_fqdnmatch_LDADD = $(BW_TEST_LIBS)

# core/node/fqdn.c: FQDN identities per selector set, relabelling, the order
# of identity / ipcache changes (with core/node/ipcache.c and recording
# stand-ins for the datapath and the identity registry)
check_PROGRAMS += tests/unit/test_fqdn
TESTS += tests/unit/test_fqdn
tests_unit_test_fqdn_SOURCES = tests/unit/test_fqdn.c core/node/fqdn.c \
	core/node/ipcache.c core/node/labels.c core/log.c lib/fqdnmatch.c
tests_unit_test_fqdn_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_fqdn_LDADD = libbw.la $(CHECK_LIBS) $(DEPS_LIBS)

# modules/fqdn: the DNS cache (TTL, conntrack-kept zombies, caps, clean,
# the file across a restart)
check_PROGRAMS += tests/unit/test_fqdn_cache
TESTS += tests/unit/test_fqdn_cache
tests_unit_test_fqdn_cache_SOURCES = tests/unit/test_fqdn_cache.c \
	modules/fqdn/fqdn_cache.c modules/fqdn/fqdn_cache.h
tests_unit_test_fqdn_cache_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_fqdn_cache_LDADD = $(BW_TEST_LIBS)

# modules/dnsproxy: the message path, the rules, and the engine on loopback
# against a scripted upstream (fresh IDs, REFUSED/NXDOMAIN, SERVFAIL, TC,
# EDNS0, CNAME chains, TCP pipelining, the concurrency limit, flows)
check_PROGRAMS += tests/unit/test_dnsproxy
TESTS += tests/unit/test_dnsproxy
tests_unit_test_dnsproxy_SOURCES = tests/unit/test_dnsproxy.c \
	modules/dnsproxy/dnsproxy_engine.c modules/dnsproxy/dnsproxy_msg.c \
	modules/dnsproxy/dnsproxy_rules.c
tests_unit_test_dnsproxy_CFLAGS = $(BW_TEST_CFLAGS) $(LDNS_CFLAGS)
tests_unit_test_dnsproxy_LDADD = $(BW_TEST_LIBS) $(LDNS_LIBS)
# lib/dropreason.c: every BW_DROP_* of bpf/bw_datapath.h has a name
check_PROGRAMS += tests/unit/test_dropreason
TESTS += tests/unit/test_dropreason
tests_unit_test_dropreason_SOURCES = tests/unit/test_dropreason.c
tests_unit_test_dropreason_CPPFLAGS = $(AM_CPPFLAGS) \
	-DBW_TEST_TOP_SRCDIR=\"$(abs_top_srcdir)\"
tests_unit_test_dropreason_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_dropreason_LDADD = $(BW_TEST_LIBS)

# core/module/hooks.c: the decision-hook contract (include/bulwark/hook.h)
check_PROGRAMS += tests/unit/test_hooks
TESTS += tests/unit/test_hooks
tests_unit_test_hooks_SOURCES = tests/unit/test_hooks.c
tests_unit_test_hooks_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_hooks_LDADD = $(BW_TEST_LIBS)

# core/proxy/ (the L7 proxy engine) with real sockets on loopback and a
# line protocol parser standing for a protocol module
check_PROGRAMS += tests/unit/test_proxy
TESTS += tests/unit/test_proxy
tests_unit_test_proxy_SOURCES = tests/unit/test_proxy.c
tests_unit_test_proxy_CFLAGS = $(BW_TEST_CFLAGS) -pthread
tests_unit_test_proxy_LDADD = $(BW_TEST_LIBS) -lpthread

# core/flow/flowstage.c: a stage holds flows back, the ring gets them all, in order
check_PROGRAMS += tests/unit/test_flowstage
TESTS += tests/unit/test_flowstage
tests_unit_test_flowstage_SOURCES = tests/unit/test_flowstage.c
tests_unit_test_flowstage_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_flowstage_LDADD = $(BW_TEST_LIBS)

# core/lua/luasandbox.c: escapes tried and contained, budgets, hook checks
check_PROGRAMS += tests/unit/test_luasandbox
TESTS += tests/unit/test_luasandbox
tests_unit_test_luasandbox_SOURCES = tests/unit/test_luasandbox.c
tests_unit_test_luasandbox_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_luasandbox_LDADD = $(BW_TEST_LIBS)

# core/lua/: every hook, every return value, failures, reloads, the flow
# queue, the flow table against observe's JSON
check_PROGRAMS += tests/unit/test_lua
TESTS += tests/unit/test_lua
tests_unit_test_lua_SOURCES = tests/unit/test_lua.c
tests_unit_test_lua_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_lua_CPPFLAGS = $(AM_CPPFLAGS) \
	-DBW_TEST_LUA_EXAMPLES=\"$(abs_top_srcdir)/lua/examples\"
tests_unit_test_lua_LDADD = $(BW_TEST_LIBS)

# core/lua/luaproxy.c: on_http / on_kafka through the L7 proxy engine,
# real sockets on loopback
check_PROGRAMS += tests/unit/test_luaproxy
TESTS += tests/unit/test_luaproxy
tests_unit_test_luaproxy_SOURCES = tests/unit/test_luaproxy.c
tests_unit_test_luaproxy_CFLAGS = $(BW_TEST_CFLAGS) -pthread
tests_unit_test_luaproxy_CPPFLAGS = $(AM_CPPFLAGS) \
	-DBW_TEST_LUA_EXAMPLES=\"$(abs_top_srcdir)/lua/examples\"
tests_unit_test_luaproxy_LDADD = $(BW_TEST_LIBS) -lpthread

# lua/examples/ through lua/testing.lua and lua5.4 (docs/lua.md, "Testing a script")
TESTS += tests/unit/test_lua_examples.sh
dist_check_SCRIPTS += tests/unit/test_lua_examples.sh

# modules/http: the strict parser (every smuggling shape of
# tests/unit/http_smuggling.h refused) and Cilium's rules.http semantics
check_PROGRAMS += tests/unit/test_http_parse tests/unit/test_http_rules
TESTS += tests/unit/test_http_parse tests/unit/test_http_rules
tests_unit_test_http_parse_SOURCES = tests/unit/test_http_parse.c \
	tests/unit/http_smuggling.h modules/http/http_parse.c
tests_unit_test_http_parse_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/modules/http \
	-I$(top_srcdir)/tests/unit
tests_unit_test_http_parse_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_http_parse_LDADD = $(CHECK_LIBS)
tests_unit_test_http_rules_SOURCES = tests/unit/test_http_rules.c \
	modules/http/http_parse.c modules/http/http_rules.c
tests_unit_test_http_rules_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/modules/http
tests_unit_test_http_rules_CFLAGS = $(BW_TEST_CFLAGS) $(PCRE2_CFLAGS)
tests_unit_test_http_rules_LDADD = $(CHECK_LIBS) $(PCRE2_LIBS) $(JANSSON_LIBS)

# modules/http on the proxy engine between curl / raw sockets and a real
# nginx on loopback (skips without nginx or curl)
check_PROGRAMS += tests/unit/test_http
TESTS += tests/unit/test_http
tests_unit_test_http_SOURCES = tests/unit/test_http.c \
	modules/http/http.c modules/http/http_parse.c modules/http/http_rules.c
tests_unit_test_http_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/modules/http \
	-I$(top_srcdir)/tests/unit
tests_unit_test_http_CFLAGS = $(BW_TEST_CFLAGS) $(PCRE2_CFLAGS)
tests_unit_test_http_LDADD = $(BW_TEST_LIBS) $(PCRE2_LIBS)

# prometheus module: Hubble's HTTP metrics and L7 flows in the policy and
# processed families
check_PROGRAMS += tests/unit/test_prom_http
TESTS += tests/unit/test_prom_http
tests_unit_test_prom_http_SOURCES = tests/unit/test_prom_http.c \
	modules/prometheus/prom_vec.c modules/prometheus/prom_flows.c \
	modules/prometheus/prom_http.c modules/prometheus/prom_kafka.c \
	modules/prometheus/prom_dns.c
tests_unit_test_prom_http_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/modules/prometheus
tests_unit_test_prom_http_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_prom_http_LDADD = $(CHECK_LIBS) $(LIBEVENT_LIBS) -lm

# modules/hubble-observer: the flow encoding against lib/flowjson.c, field
# masks, FlowFilter conversion, grpc-timeout (hubble_pb.c, hubble_req.c)
check_PROGRAMS += tests/unit/test_hubble_pb
TESTS += tests/unit/test_hubble_pb
tests_unit_test_hubble_pb_SOURCES = tests/unit/test_hubble_pb.c \
	modules/hubble-observer/hubble_pb.c modules/hubble-observer/hubble_req.c
tests_unit_test_hubble_pb_CPPFLAGS = $(AM_CPPFLAGS) -I$(HUBBLE_PB) \
	-I$(top_srcdir)/modules/hubble-observer $(PROTOBUF_C_CFLAGS)
tests_unit_test_hubble_pb_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_hubble_pb_LDADD = modules/hubble-observer/libhubblepb.la \
	$(BW_TEST_LIBS) $(PROTOBUF_C_LIBS)

# modules/advisor: the recommendation generator on recorded histories, simulate,
# broad-rules, the YAML writer; netpol-cilium is compiled in so that every
# document written is read back by the daemon's own parser.
check_PROGRAMS += tests/unit/test_advisor
TESTS += tests/unit/test_advisor
tests_unit_test_advisor_SOURCES = tests/unit/test_advisor.c \
	modules/advisor/advisor.h modules/advisor/advisor_rows.c \
	modules/advisor/advisor_world.c modules/advisor/advisor_recommend.c \
	modules/advisor/advisor_verify.c modules/advisor/advisor_simulate.c \
	modules/advisor/advisor_broad.c modules/advisor/advisor_cnp.c \
	modules/advisor/advisor_yaml.c \
	modules/netpol-cilium/netpol_cilium.c modules/netpol-cilium/cilium_l7.c \
	modules/netpol-k8s/netpol_common.c
tests_unit_test_advisor_CPPFLAGS = $(BW_POLICY_TEST_CPPFLAGS) \
	-DBW_TEST_ADVISOR_DATA=\"$(abs_top_srcdir)/tests/unit/data/advisor\"
tests_unit_test_advisor_CFLAGS = $(BW_TEST_CFLAGS) $(PCRE2_CFLAGS)
tests_unit_test_advisor_LDADD = $(BW_FAKE_CORE) $(BW_TEST_LIBS) $(PCRE2_LIBS)
EXTRA_DIST += tests/unit/data/advisor

# modules/kafka: the wire layer against vectors generated from Apache
# Kafka's JSON message definitions (tests/unit/kafka_vectors.py), and
# Cilium's rules.kafka semantics
check_PROGRAMS += tests/unit/test_kafka_proto tests/unit/test_kafka_rules
TESTS += tests/unit/test_kafka_proto tests/unit/test_kafka_rules
tests_unit_test_kafka_proto_SOURCES = tests/unit/test_kafka_proto.c \
	modules/kafka/kafka_codec.c modules/kafka/kafka_schema.c lib/kafkakeys.c
tests_unit_test_kafka_proto_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/modules/kafka \
	-DKAFKA_VECTORS=\"$(abs_top_srcdir)/tests/unit/data/kafka_vectors.txt\"
tests_unit_test_kafka_proto_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_kafka_proto_LDADD = $(CHECK_LIBS)
tests_unit_test_kafka_rules_SOURCES = tests/unit/test_kafka_rules.c \
	modules/kafka/kafka_rules.c modules/kafka/kafka_schema.c lib/kafkakeys.c
tests_unit_test_kafka_rules_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/modules/kafka
tests_unit_test_kafka_rules_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_kafka_rules_LDADD = $(CHECK_LIBS) $(JANSSON_LIBS)
EXTRA_DIST += tests/unit/data/kafka_vectors.txt tests/unit/kafka_vectors.py

# modules/kafka on the real proxy engine, a raw client and a scripted
# broker: ordering, large batches, topic IDs, fetch sessions, hooks
check_PROGRAMS += tests/unit/test_kafka
TESTS += tests/unit/test_kafka
tests_unit_test_kafka_SOURCES = tests/unit/test_kafka.c \
	modules/kafka/kafka.c modules/kafka/kafka_conn.c modules/kafka/kafka_codec.c \
	modules/kafka/kafka_rules.c modules/kafka/kafka_schema.c modules/kafka/kafka_topics.c
tests_unit_test_kafka_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/modules/kafka
tests_unit_test_kafka_CFLAGS = $(BW_TEST_CFLAGS)
tests_unit_test_kafka_LDADD = $(BW_TEST_LIBS)

# core/policy/policy_rulelist.c: `cilium policy import` JSON (the netpol-cilium
# format module compiled in)
check_PROGRAMS += tests/unit/test_rulelist
TESTS += tests/unit/test_rulelist
tests_unit_test_rulelist_SOURCES = tests/unit/test_rulelist.c \
	modules/netpol-cilium/netpol_cilium.c modules/netpol-cilium/cilium_l7.c \
	modules/netpol-k8s/netpol_common.c
tests_unit_test_rulelist_CPPFLAGS = $(BW_POLICY_TEST_CPPFLAGS)
tests_unit_test_rulelist_CFLAGS = $(BW_TEST_CFLAGS) $(PCRE2_CFLAGS)
tests_unit_test_rulelist_LDADD = $(BW_FAKE_CORE) $(BW_TEST_LIBS) $(PCRE2_LIBS)
