# SPDX-License-Identifier: BSD-2-Clause
# tests/fuzz/: fuzz targets (libFuzzer's LLVMFuzzerTestOneInput) for every
# parser. Built here with replay.c, a plain main() that runs each target over
# its corpus, so `make check` exercises them without libFuzzer. To fuzz for
# real, see tests/fuzz/README.md.

BW_FUZZ_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/modules/netpol-k8s

check_PROGRAMS += tests/fuzz/fuzz_policydoc tests/fuzz/fuzz_netpol_k8s \
	tests/fuzz/fuzz_netpol_cilium
TESTS += tests/fuzz/fuzz_policydoc tests/fuzz/fuzz_netpol_k8s \
	tests/fuzz/fuzz_netpol_cilium

tests_fuzz_fuzz_policydoc_SOURCES = tests/fuzz/fuzz_policydoc.c \
	tests/fuzz/replay.c
tests_fuzz_fuzz_policydoc_CPPFLAGS = $(BW_FUZZ_CPPFLAGS) \
	-DFUZZ_CORPUS=\"$(abs_top_srcdir)/tests/fuzz/corpus/policydoc\"
tests_fuzz_fuzz_policydoc_LDADD = $(BW_CORE_LIBS)

tests_fuzz_fuzz_netpol_k8s_SOURCES = tests/fuzz/fuzz_netpol_k8s.c \
	tests/fuzz/fuzz_format.h tests/fuzz/replay.c \
	modules/netpol-k8s/netpol_k8s.c modules/netpol-k8s/netpol_common.c
tests_fuzz_fuzz_netpol_k8s_CPPFLAGS = $(BW_FUZZ_CPPFLAGS) \
	-DFUZZ_CORPUS=\"$(abs_top_srcdir)/tests/fuzz/corpus/netpol-k8s\"
tests_fuzz_fuzz_netpol_k8s_LDADD = $(BW_FAKE_CORE) $(BW_CORE_LIBS)

tests_fuzz_fuzz_netpol_cilium_SOURCES = tests/fuzz/fuzz_netpol_cilium.c \
	tests/fuzz/fuzz_format.h tests/fuzz/replay.c \
	modules/netpol-cilium/netpol_cilium.c modules/netpol-cilium/cilium_l7.c \
	modules/netpol-k8s/netpol_common.c
tests_fuzz_fuzz_netpol_cilium_CPPFLAGS = $(BW_FUZZ_CPPFLAGS) $(PCRE2_CFLAGS) \
	-DFUZZ_CORPUS=\"$(abs_top_srcdir)/tests/fuzz/corpus/netpol-cilium\"
tests_fuzz_fuzz_netpol_cilium_LDADD = $(BW_FAKE_CORE) $(BW_CORE_LIBS) $(PCRE2_LIBS)

# the web UI's URL path check (modules/webui/webui_static.c)
check_PROGRAMS += tests/fuzz/fuzz_webui_path
TESTS += tests/fuzz/fuzz_webui_path
tests_fuzz_fuzz_webui_path_SOURCES = tests/fuzz/fuzz_webui_path.c \
	tests/fuzz/replay.c modules/webui/webui.c modules/webui/webui_static.c \
	modules/webui/webui_proxy.c modules/webui/webui_events.c
tests_fuzz_fuzz_webui_path_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS) \
	$(LIBEVENT_OPENSSL_CFLAGS) \
	-DFUZZ_CORPUS=\"$(abs_top_srcdir)/tests/fuzz/corpus/webui-path\"
tests_fuzz_fuzz_webui_path_LDADD = $(BW_CORE_LIBS) $(LIBEVENT_OPENSSL_LIBS) \
	$(OPENSSL_LIBS)

EXTRA_DIST += tests/fuzz/README.md tests/fuzz/corpus

# the DNS proxy's message path (ldns behind a pre-check of our own)
check_PROGRAMS += tests/fuzz/fuzz_dns
TESTS += tests/fuzz/fuzz_dns
tests_fuzz_fuzz_dns_SOURCES = tests/fuzz/fuzz_dns.c tests/fuzz/replay.c \
	modules/dnsproxy/dnsproxy_msg.c modules/dnsproxy/dnsproxy_msg.h
tests_fuzz_fuzz_dns_CPPFLAGS = $(AM_CPPFLAGS) $(LDNS_CFLAGS) \
	-DFUZZ_CORPUS=\"$(abs_top_srcdir)/tests/fuzz/corpus/dns\"
tests_fuzz_fuzz_dns_LDADD = libbw.la $(LDNS_LIBS)

# modules/http: heads, framing, chunked bodies in pieces, rules.http
check_PROGRAMS += tests/fuzz/fuzz_http
TESTS += tests/fuzz/fuzz_http
tests_fuzz_fuzz_http_SOURCES = tests/fuzz/fuzz_http.c tests/fuzz/replay.c \
	modules/http/http_parse.c modules/http/http_rules.c
tests_fuzz_fuzz_http_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/modules/http \
	-DFUZZ_CORPUS=\"$(abs_top_srcdir)/tests/fuzz/corpus/http\"
tests_fuzz_fuzz_http_CFLAGS = $(AM_CFLAGS) $(PCRE2_CFLAGS)
tests_fuzz_fuzz_http_LDADD = $(PCRE2_LIBS) $(JANSSON_LIBS)

# lib/prefix.c (the IP prefix parser) and lib/flowmask.c (field masks)
check_PROGRAMS += tests/fuzz/fuzz_prefix tests/fuzz/fuzz_flowmask
TESTS += tests/fuzz/fuzz_prefix tests/fuzz/fuzz_flowmask
tests_fuzz_fuzz_prefix_SOURCES = tests/fuzz/fuzz_prefix.c tests/fuzz/replay.c
tests_fuzz_fuzz_prefix_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS=\"$(abs_top_srcdir)/tests/fuzz/corpus/prefix\"
tests_fuzz_fuzz_prefix_LDADD = libbw.la $(DEPS_LIBS)
tests_fuzz_fuzz_flowmask_SOURCES = tests/fuzz/fuzz_flowmask.c tests/fuzz/replay.c
tests_fuzz_fuzz_flowmask_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS=\"$(abs_top_srcdir)/tests/fuzz/corpus/flowmask\"
tests_fuzz_fuzz_flowmask_LDADD = libbw.la $(DEPS_LIBS)

# the adoption tools' inputs: the staged annotation, history filters, --since
check_PROGRAMS += tests/fuzz/fuzz_adoption
TESTS += tests/fuzz/fuzz_adoption
tests_fuzz_fuzz_adoption_SOURCES = tests/fuzz/fuzz_adoption.c tests/fuzz/replay.c
tests_fuzz_fuzz_adoption_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS=\"$(abs_top_srcdir)/tests/fuzz/corpus/adoption\"
tests_fuzz_fuzz_adoption_LDADD = $(BW_CORE_LIBS)

# modules/hubble-observer: grpc-timeout, GetFlowsRequest / FlowFilter
# decoding and conversion, field masks (hubble_req.c, hubble_pb.c)
check_PROGRAMS += tests/fuzz/fuzz_hubble
TESTS += tests/fuzz/fuzz_hubble
tests_fuzz_fuzz_hubble_SOURCES = tests/fuzz/fuzz_hubble.c tests/fuzz/replay.c \
	modules/hubble-observer/hubble_pb.c modules/hubble-observer/hubble_req.c
tests_fuzz_fuzz_hubble_CPPFLAGS = $(AM_CPPFLAGS) -I$(HUBBLE_PB) \
	-I$(top_srcdir)/modules/hubble-observer $(PROTOBUF_C_CFLAGS) \
	-DFUZZ_CORPUS=\"$(abs_top_srcdir)/tests/fuzz/corpus/hubble\"
tests_fuzz_fuzz_hubble_LDADD = modules/hubble-observer/libhubblepb.la libbw.la \
	$(PROTOBUF_C_LIBS) $(DEPS_LIBS)

# modules/kafka: requests read whole and by prefix, refusals read back,
# responses, ApiVersions capping, rules.kafka
check_PROGRAMS += tests/fuzz/fuzz_kafka
TESTS += tests/fuzz/fuzz_kafka
tests_fuzz_fuzz_kafka_SOURCES = tests/fuzz/fuzz_kafka.c tests/fuzz/replay.c \
	modules/kafka/kafka_codec.c modules/kafka/kafka_schema.c modules/kafka/kafka_rules.c \
	lib/kafkakeys.c
tests_fuzz_fuzz_kafka_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/modules/kafka \
	-DFUZZ_CORPUS=\"$(abs_top_srcdir)/tests/fuzz/corpus/kafka\"
tests_fuzz_fuzz_kafka_LDADD = $(JANSSON_LIBS)

# the config reader and value parsers (core/config.c); labels and selectors
# (core/node/labels.c, selector.c); the state-file reader (core/state.c);
# the endpoint API's request bodies (core/node/endpoint_spec.c)
check_PROGRAMS += tests/fuzz/fuzz_config tests/fuzz/fuzz_labels \
	tests/fuzz/fuzz_state tests/fuzz/fuzz_endpoint
TESTS += tests/fuzz/fuzz_config tests/fuzz/fuzz_labels tests/fuzz/fuzz_state \
	tests/fuzz/fuzz_endpoint
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c tests/fuzz/replay.c
tests_fuzz_fuzz_config_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS=\"$(abs_top_srcdir)/tests/fuzz/corpus/config\"
tests_fuzz_fuzz_config_LDADD = $(BW_CORE_LIBS)
tests_fuzz_fuzz_labels_SOURCES = tests/fuzz/fuzz_labels.c tests/fuzz/replay.c
tests_fuzz_fuzz_labels_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS=\"$(abs_top_srcdir)/tests/fuzz/corpus/labels\"
tests_fuzz_fuzz_labels_LDADD = $(BW_CORE_LIBS)
tests_fuzz_fuzz_state_SOURCES = tests/fuzz/fuzz_state.c tests/fuzz/replay.c
tests_fuzz_fuzz_state_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS=\"$(abs_top_srcdir)/tests/fuzz/corpus/state\"
tests_fuzz_fuzz_state_LDADD = $(BW_CORE_LIBS)
tests_fuzz_fuzz_endpoint_SOURCES = tests/fuzz/fuzz_endpoint.c tests/fuzz/replay.c
tests_fuzz_fuzz_endpoint_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS=\"$(abs_top_srcdir)/tests/fuzz/corpus/endpoint\"
tests_fuzz_fuzz_endpoint_LDADD = $(BW_CORE_LIBS)

# the rule-model compiler (core/policy/resolver_compile.c) and `cilium
# policy import` rule lists (core/policy/policy_rulelist.c)
check_PROGRAMS += tests/fuzz/fuzz_rulemodel
TESTS += tests/fuzz/fuzz_rulemodel
tests_fuzz_fuzz_rulemodel_SOURCES = tests/fuzz/fuzz_rulemodel.c tests/fuzz/replay.c
tests_fuzz_fuzz_rulemodel_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS=\"$(abs_top_srcdir)/tests/fuzz/corpus/rulemodel\"
tests_fuzz_fuzz_rulemodel_LDADD = $(BW_CORE_LIBS)

# the /v1/flows request: query string and body (core/flow/flowapi.c)
check_PROGRAMS += tests/fuzz/fuzz_flowapi
TESTS += tests/fuzz/fuzz_flowapi
tests_fuzz_fuzz_flowapi_SOURCES = tests/fuzz/fuzz_flowapi.c tests/fuzz/replay.c
tests_fuzz_fuzz_flowapi_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS=\"$(abs_top_srcdir)/tests/fuzz/corpus/flowapi\"
tests_fuzz_fuzz_flowapi_LDADD = $(BW_CORE_LIBS)

# the CLI's request building: `observe` flags into FlowFilters
# (cli/flowfilter_flags.c), which the daemon's parser must accept
check_PROGRAMS += tests/fuzz/fuzz_cli_filters
TESTS += tests/fuzz/fuzz_cli_filters
tests_fuzz_fuzz_cli_filters_SOURCES = tests/fuzz/fuzz_cli_filters.c \
	tests/fuzz/replay.c cli/flowfilter_flags.c cli/flowfilter_flags.h
tests_fuzz_fuzz_cli_filters_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS=\"$(abs_top_srcdir)/tests/fuzz/corpus/cli-filters\"
tests_fuzz_fuzz_cli_filters_LDADD = libbw.la $(DEPS_LIBS)
