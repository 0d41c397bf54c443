# SPDX-License-Identifier: BSD-2-Clause
# tests/bench/: benchmarks (docs/benchmarks.md). Not part of `make check`'s
# verdict: `make check` only builds the helper program; `make bench` runs the
# suite (root, network namespaces) and writes its figures under
# tests/bench/results/ in the build tree. BENCH_ARGS passes options to
# tests/bench/run.sh, e.g. `make bench BENCH_ARGS=--quick`.

check_PROGRAMS += tests/bench/bench_resolver
tests_bench_bench_resolver_SOURCES = tests/bench/bench_resolver.c
tests_bench_bench_resolver_LDADD = $(BW_CORE_LIBS)

BW_BENCH_SH = \
	tests/bench/run.sh \
	tests/bench/lib.sh \
	tests/bench/bench_datapath.sh \
	tests/bench/bench_flows.sh \
	tests/bench/bench_dns.sh \
	tests/bench/bench_hubble.sh
dist_noinst_SCRIPTS += $(BW_BENCH_SH)
EXTRA_DIST += docs/benchmarks.md

bench: all tests/bench/bench_resolver$(EXEEXT)
	abs_top_srcdir='$(abs_top_srcdir)' abs_top_builddir='$(abs_top_builddir)' \
		$(SHELL) $(abs_top_srcdir)/tests/bench/run.sh $(BENCH_ARGS)
.PHONY: bench
