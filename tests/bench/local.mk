# SPDX-License-Identifier: BSD-2-Clause
# tests/bench/: benchmarks (docs/benchmarks.md). Not part of `make check`'s
# verdict: `make check` only builds the helper program; `make bench` runs the
# suite (root, network namespaces) and writes its figures under
# tests/bench/results/ in the build tree. BENCH_ARGS passes options to
# tests/bench/run.sh, e.g. `make bench BENCH_ARGS=--quick`.

check_PROGRAMS += tests/bench/bench_resolver
tests_bench_bench_resolver_SOURCES = tests/bench/bench_resolver.c
tests_bench_bench_resolver_LDADD = $(BW_CORE_LIBS)
check_PROGRAMS += tests/bench/bench_lua
tests_bench_bench_lua_SOURCES = tests/bench/bench_lua.c
tests_bench_bench_lua_LDADD = $(BW_CORE_LIBS)
# BPF_PROG_TEST_RUN of the endpoint programs, path by path (bench_datapath.sh's
# micro part, bench_redirect.sh)
check_PROGRAMS += tests/bench/bench_bpfrun
tests_bench_bench_bpfrun_SOURCES = tests/bench/bench_bpfrun.c
tests_bench_bench_bpfrun_LDADD = $(LIBBPF_LIBS)

# the flow store benchmark's helpers: a generator of new connections (raw
# UDP) and a database filler using the module's own batch and database code
check_PROGRAMS += tests/bench/bench_newflows tests/bench/bench_flowstore_fill
tests_bench_bench_newflows_SOURCES = tests/bench/bench_newflows.c
tests_bench_bench_flowstore_fill_SOURCES = tests/bench/bench_flowstore_fill.c \
	modules/flowstore/flowstore.h modules/flowstore/flowstore_batch.c \
	modules/flowstore/flowstore_db.c
tests_bench_bench_flowstore_fill_CFLAGS = $(AM_CFLAGS) -pthread
tests_bench_bench_flowstore_fill_LDADD = $(BW_CORE_LIBS) -lpthread

# modules/http's parser against Debian's http-parser (smuggling shapes and
# speed); built when libhttp-parser-dev is installed
if HAVE_HTTP_PARSER
check_PROGRAMS += tests/bench/bench_http_parser
tests_bench_bench_http_parser_SOURCES = tests/bench/bench_http_parser.c \
	modules/http/http_parse.c
tests_bench_bench_http_parser_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/modules/http \
	-I$(top_srcdir)/tests/unit
tests_bench_bench_http_parser_LDADD = -lhttp_parser
endif

# the proxy engine + http module in a process of their own (bench_l7.sh's
# explicit position, memory per idle connection)
check_PROGRAMS += tests/bench/bench_l7_proxy
tests_bench_bench_l7_proxy_SOURCES = tests/bench/bench_l7_proxy.c \
	modules/http/http.c modules/http/http_parse.c modules/http/http_rules.c
tests_bench_bench_l7_proxy_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/modules/http
tests_bench_bench_l7_proxy_CFLAGS = $(AM_CFLAGS) $(PCRE2_CFLAGS)
tests_bench_bench_l7_proxy_LDADD = $(BW_CORE_LIBS) $(PCRE2_LIBS)

# Kafka produce through the proxy vs direct (bench_kafka.sh): a producer in
# the manner of rdkafka_performance; built when librdkafka-dev is installed
if HAVE_RDKAFKA
check_PROGRAMS += tests/bench/kafka_produce
tests_bench_kafka_produce_SOURCES = tests/bench/kafka_produce.c
tests_bench_kafka_produce_CFLAGS = $(AM_CFLAGS) $(RDKAFKA_CFLAGS)
tests_bench_kafka_produce_LDADD = $(RDKAFKA_LIBS)
BW_BENCH_KAFKA_PROGS = tests/bench/kafka_produce$(EXEEXT) tests/e2e/kafka_mock$(EXEEXT)
endif

BW_BENCH_SH = \
	tests/bench/run.sh \
	tests/bench/lib.sh \
	tests/bench/bench_datapath.sh \
	tests/bench/bench_import.sh \
	tests/bench/map_canon.py \
	tests/bench/bench_attach.sh \
	tests/bench/bench_flows.sh \
	tests/bench/bench_dns.sh \
	tests/bench/bench_hubble.sh \
	tests/bench/bench_redirect.sh \
	tests/bench/bench_flowstore.sh \
	tests/bench/bench_l7.sh \
	tests/bench/bench_demux.sh \
	tests/bench/bench_kafka.sh \
	tests/bench/bench_advisor.sh \
	tests/bench/bench_churn.py
dist_noinst_SCRIPTS += $(BW_BENCH_SH)
EXTRA_DIST += docs/benchmarks.md

bench: all tests/bench/bench_resolver$(EXEEXT) tests/bench/bench_lua$(EXEEXT) \
		tests/bench/bench_newflows$(EXEEXT) tests/bench/bench_flowstore_fill$(EXEEXT) \
		tests/bench/bench_l7_proxy$(EXEEXT) $(BW_BENCH_KAFKA_PROGS) \
		tests/bench/bench_bpfrun$(EXEEXT)
	abs_top_srcdir='$(abs_top_srcdir)' abs_top_builddir='$(abs_top_builddir)' \
		$(SHELL) $(abs_top_srcdir)/tests/bench/run.sh $(BENCH_ARGS)
.PHONY: bench
