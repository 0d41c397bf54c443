# SPDX-License-Identifier: BSD-2-Clause
# tests/bench/: benchmarks (docs/benchmarks.md). Not part of `make check`'s
# verdict: `make check` only builds the helper program; `make bench` runs the
# suite (root, network namespaces) and writes its figures under
# tests/bench/results/ in the build tree. BENCH_ARGS passes options to
# tests/bench/run.sh, e.g. `make bench BENCH_ARGS=--quick`.

check_PROGRAMS += tests/bench/bench_resolver
tests_bench_bench_resolver_SOURCES = tests/bench/bench_resolver.c
tests_bench_bench_resolver_LDADD = $(BW_CORE_LIBS)
# BPF_PROG_TEST_RUN of the endpoint programs, path by path (bench_datapath.sh
# --micro, bench_redirect.sh)
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

BW_BENCH_SH = \
	tests/bench/run.sh \
	tests/bench/lib.sh \
	tests/bench/bench_datapath.sh \
	tests/bench/bench_flows.sh \
	tests/bench/bench_hubble.sh \
	tests/bench/bench_redirect.sh \
	tests/bench/bench_flowstore.sh \
	tests/bench/bench_churn.py
dist_noinst_SCRIPTS += $(BW_BENCH_SH)
EXTRA_DIST += docs/benchmarks.md

bench: all tests/bench/bench_resolver$(EXEEXT) tests/bench/bench_newflows$(EXEEXT) \
		tests/bench/bench_flowstore_fill$(EXEEXT) tests/bench/bench_bpfrun$(EXEEXT)
	abs_top_srcdir='$(abs_top_srcdir)' abs_top_builddir='$(abs_top_builddir)' \
		$(SHELL) $(abs_top_srcdir)/tests/bench/run.sh $(BENCH_ARGS)
.PHONY: bench
