# SPDX-License-Identifier: BSD-2-Clause
# tests/e2e/: end-to-end tests in network namespaces (tests/e2e/lib.sh).
# Add each test script to TESTS and to dist_check_SCRIPTS with +=.

# Harness (lib.sh), its self-test and the Cilium-semantics tests.
BW_E2E_CILIUM_TESTS = \
	tests/e2e/test_lib.sh \
	tests/e2e/test_cilium_entities.sh \
	tests/e2e/test_cilium_deny.sh \
	tests/e2e/test_cilium_cidr_except.sh \
	tests/e2e/test_cilium_port_ranges.sh \
	tests/e2e/test_cilium_icmp.sh \
	tests/e2e/test_cilium_ipv6.sh \
	tests/e2e/test_cilium_audit.sh \
	tests/e2e/test_cilium_enforcement_modes.sh \
	tests/e2e/test_cilium_anti_spoofing.sh \
	tests/e2e/test_cilium_import.sh
TESTS += $(BW_E2E_CILIUM_TESTS)
dist_check_SCRIPTS += $(BW_E2E_CILIUM_TESTS)
dist_check_DATA += tests/e2e/lib.sh

# The eBPF datapath, driven directly (no daemon) through tests/e2e/bwdp.
check_PROGRAMS += tests/e2e/bwdp
tests_e2e_bwdp_SOURCES = tests/e2e/bwdp.c
tests_e2e_bwdp_LDADD = $(BW_CORE_LIBS)
TESTS += tests/e2e/test_datapath.sh
dist_check_SCRIPTS += tests/e2e/test_datapath.sh
# The same with clsact named and with tcx (daemon.tc_attach), the tcx links
# themselves (pins, re-attach, clsact <-> tcx, daemon down and restarted),
# and a default-config daemon's attachment switched on a live node.
TESTS += tests/e2e/test_datapath_clsact.sh tests/e2e/test_datapath_tcx.sh \
	tests/e2e/test_tcx.sh tests/e2e/test_tc_attach.sh tests/e2e/test_host_routing.sh
dist_check_SCRIPTS += tests/e2e/test_datapath_clsact.sh tests/e2e/test_datapath_tcx.sh \
	tests/e2e/test_tcx.sh tests/e2e/test_tc_attach.sh tests/e2e/test_host_routing.sh

# Endpoints, namespaces and identities through the CLI (add/update/delete,
# refused input, restart restores ids and identity numbers).
TESTS += tests/e2e/test_endpoint.sh
dist_check_SCRIPTS += tests/e2e/test_endpoint.sh

# flows: bulwark observe against real traffic (Hubble JSON, filters, attribution)
TESTS += tests/e2e/test_observe.sh
dist_check_SCRIPTS += tests/e2e/test_observe.sh

# flows: the [flows] trace/drop/policy_verdict_events switches (SIGHUP) and
# medium aggregation's one trace per packet
TESTS += tests/e2e/test_flow_events.sh tests/e2e/test_monitor_aggregation.sh
dist_check_SCRIPTS += tests/e2e/test_flow_events.sh tests/e2e/test_monitor_aggregation.sh

# Policies from policy.dir (drop/change/refuse/remove a file, with traffic)
# and a daemon restart with unchanged policy (connections survive, denied
# peers stay denied, the same rule refs).
TESTS += tests/e2e/test_policy_dir.sh tests/e2e/test_restart.sh
dist_check_SCRIPTS += tests/e2e/test_policy_dir.sh tests/e2e/test_restart.sh

# prometheus module: GET /metrics against real traffic, promtool, cardinality
# bounds, listen address errors
TESTS += tests/e2e/test_metrics.sh
dist_check_SCRIPTS += tests/e2e/test_metrics.sh

# flowlog: flows to rotated JSONL files (filters, field mask, rotation,
# restart without loss or duplicates, crash repair, SIGHUP)
TESTS += tests/e2e/test_flowlog.sh
dist_check_SCRIPTS += tests/e2e/test_flowlog.sh

# bulwark map: the service map from real traffic (edges, counts, filters,
# table/json/dot/svg)
TESTS += tests/e2e/test_map.sh
dist_check_SCRIPTS += tests/e2e/test_map.sh

# zero-trust adoption: flow history (modules/flowstore), exposure, compliance,
# staged policies, deny alerts (modules/alerts); recommend, simulate,
# broad-rules (modules/advisor), also with real DNS and toFQDNs
TESTS += tests/e2e/test_adoption.sh tests/e2e/test_flowstore.sh tests/e2e/test_alerts.sh \
	tests/e2e/test_advisor.sh tests/e2e/test_advisor_fqdn.sh
dist_check_SCRIPTS += tests/e2e/test_adoption.sh tests/e2e/test_flowstore.sh tests/e2e/test_alerts.sh \
	tests/e2e/test_advisor.sh tests/e2e/test_advisor_fqdn.sh

# hubble-observer: Hubble's gRPC API with a real gRPC client generated from
# the module's .proto files (every RPC over Unix, TCP and TLS; GetFlows
# against observe -o json; filters, windows, masks, followers, limits)
TESTS += tests/e2e/test_hubble.sh
dist_check_SCRIPTS += tests/e2e/test_hubble.sh
dist_check_DATA += tests/e2e/hubble_client.py tests/e2e/hubble_checks.py

# Proxy redirects (docs/redirect.md): L7 ports handed to local proxies (the
# relay tests/modules/test-redirect.c), egress and ingress, TCP and UDP,
# IPv4 and IPv6, the daemon stopped and restarted.
BW_E2E_REDIRECT_TESTS = \
	tests/e2e/test_redirect.sh \
	tests/e2e/test_redirect_ingress.sh \
	tests/e2e/test_redirect_pods.sh \
	tests/e2e/test_redirect_restart.sh \
	tests/e2e/test_redirect_visibility.sh
TESTS += $(BW_E2E_REDIRECT_TESTS)
dist_check_SCRIPTS += $(BW_E2E_REDIRECT_TESTS)
dist_check_DATA += tests/e2e/redirect_lib.sh

# Lua hooks with real traffic: on_flow extensions, the alert and port-scan
# quarantine examples, failures, reloads (docs/lua.md)
TESTS += tests/e2e/test_lua.sh tests/e2e/test_lua_l7.sh tests/e2e/test_lua_alert.sh
dist_check_SCRIPTS += tests/e2e/test_lua.sh tests/e2e/test_lua_l7.sh tests/e2e/test_lua_alert.sh

# the web UI: its listener (page, traversal, the API as the control socket
# answers it, JSON errors, read-only, live events, TLS and token off
# loopback, allow_changes), and the page in a headless Chromium driven over
# the DevTools protocol (tests/e2e/cdp.py), screenshots in
# tests/e2e/webui-screenshots/
TESTS += tests/e2e/test_webui.sh tests/e2e/test_webui_browser.sh
dist_check_SCRIPTS += tests/e2e/test_webui.sh tests/e2e/test_webui_browser.sh
dist_check_DATA += tests/e2e/webui_lib.sh tests/e2e/cdp.py tests/e2e/webui_browser.py
dist_check_DATA += tests/e2e/data/shop-policies/10-shop-default-deny.yaml \
	tests/e2e/data/shop-policies/20-frontend-to-cart.yaml \
	tests/e2e/data/shop-policies/30-cart-to-payments.yaml \
	tests/e2e/data/shop-policies/40-payments-to-api.yaml
CLEANFILES += tests/e2e/webui-screenshots/*.png

# HTTP policy end to end (docs/l7.md): rules.http through the redirect, the
# proxy engine and the http module, nginx and curl/wrk/raw sockets
TESTS += tests/e2e/test_http.sh
dist_check_SCRIPTS += tests/e2e/test_http.sh
# the proxy's TIME_WAIT tuples reused once the L7 rule is gone (early demux
# off in the daemon's netns, daemon.early_demux), and HTTP policy on
# traffic from outside the node through the uplink program (datapath.uplinks)
TESTS += tests/e2e/test_l7_timewait.sh tests/e2e/test_l7_uplink.sh
dist_check_SCRIPTS += tests/e2e/test_l7_timewait.sh tests/e2e/test_l7_uplink.sh

# Kafka policy end to end: librdkafka's mock cluster as the broker (built
# when librdkafka-dev is installed), kcat and kafka-python as clients.
if HAVE_RDKAFKA
check_PROGRAMS += tests/e2e/kafka_mock
tests_e2e_kafka_mock_SOURCES = tests/e2e/kafka_mock.c
tests_e2e_kafka_mock_CFLAGS = $(AM_CFLAGS) $(RDKAFKA_CFLAGS)
tests_e2e_kafka_mock_LDADD = $(RDKAFKA_LIBS)
endif
TESTS += tests/e2e/test_kafka.sh
dist_check_SCRIPTS += tests/e2e/test_kafka.sh
# DNS proxy and toFQDNs (docs/fqdn.md) with real DNS servers (unbound) in an
# "external" namespace: rules and wildcards, CNAME chains, TCP, truncation,
# EDNS0, a silent server, flows and metrics (test_fqdn.sh); TTL expiry with
# and without a live connection, IP caps, cache clean (test_fqdn_ttl.sh);
# the daemon stopped and restarted (test_fqdn_restart.sh).
BW_E2E_FQDN_TESTS = \
	tests/e2e/test_fqdn.sh \
	tests/e2e/test_fqdn_ttl.sh \
	tests/e2e/test_fqdn_restart.sh
TESTS += $(BW_E2E_FQDN_TESTS)
dist_check_SCRIPTS += $(BW_E2E_FQDN_TESTS)
dist_check_DATA += tests/e2e/fqdn_lib.sh

# The quick start's demo (demo/jobs-app): up, one round of traffic, the
# 9-step walkthrough with --yes, down (also after a killed up) leaving
# nothing behind.
TESTS += tests/e2e/test_jobs_app.sh
dist_check_SCRIPTS += tests/e2e/test_jobs_app.sh

# Kubernetes ipBlock peers match addresses, not identities: replicas sharing
# labels told apart in the datapath, trace, flows and policy resolved
TESTS += tests/e2e/test_ipblock.sh
dist_check_SCRIPTS += tests/e2e/test_ipblock.sh

# the BPF filesystem at start-up: mounted on /sys/fs/bpf when it is not one
# (ip netns exec), refusals naming daemon.bpffs_dir
TESTS += tests/e2e/test_bpffs.sh
dist_check_SCRIPTS += tests/e2e/test_bpffs.sh

# state files: a full state_dir refuses policy changes (persist first),
# damaged files stop the start while the pinned datapath enforces
TESTS += tests/e2e/test_state.sh
dist_check_SCRIPTS += tests/e2e/test_state.sh

# policy.dir against a FIFO, half-written, renamed and oversized files
TESTS += tests/e2e/test_policy_dir_files.sh
dist_check_SCRIPTS += tests/e2e/test_policy_dir_files.sh

# the control socket and metrics port against slow, many, malformed clients
# and a daemon out of file descriptors (lib/httpguard.c)
TESTS += tests/e2e/test_api_limits.sh
dist_check_SCRIPTS += tests/e2e/test_api_limits.sh

# requests that would hurt the node: lo or an address-holding interface as
# an endpoint's host_ifname; more CIDR peers than the ipcache holds
TESTS += tests/e2e/test_node_guards.sh
dist_check_SCRIPTS += tests/e2e/test_node_guards.sh
