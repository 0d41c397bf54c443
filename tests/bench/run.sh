#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/bench/run.sh - run the benchmark suite (docs/benchmarks.md): the
# resolver timing (no root needed), the datapath comparison, the flow
# pipeline and the flow store (root: network namespaces, BPF). Each writes its figures to
# tests/bench/results/NAME-DATE.{json,txt} under the build tree and prints
# its table. Benchmarks report; they never fail on a figure. The exit
# status is non-zero only if a benchmark could not run.
#
# Usage (from the build directory, or through `make bench`):
#   tests/bench/run.sh [--quick] [--only resolver|lua|datapath|attach|flows|hubble|redirect|flowstore|l7|demux|kafka|dns|advisor]...
# --quick: fewer repetitions, shorter runs, N up to 1,000 peers (about 3
# minutes instead of about 15).

set -u
QUICK=()
ONLY=()
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=(--quick) ;;
	--only) ONLY+=("$2"); shift ;;
	-h | --help) sed -n '3,15p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
[ ${#ONLY[@]} -gt 0 ] || ONLY=(resolver lua datapath attach flows hubble redirect flowstore l7 demux kafka dns advisor)

HERE=$(cd "$(dirname "$0")" && pwd)
: "${abs_top_srcdir:=$(cd "$HERE/../.." && pwd)}"
if [ -z "${abs_top_builddir:-}" ]; then
	if [ -x "$PWD/bulwarkd" ]; then
		abs_top_builddir=$PWD
	else
		abs_top_builddir=$abs_top_srcdir
	fi
fi
export abs_top_srcdir abs_top_builddir
RESULTS=$abs_top_builddir/tests/bench/results
DATE=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS"
status=0

for b in "${ONLY[@]}"; do
	echo "==== $b ($(date -u +%H:%M:%S))"
	case $b in
	resolver)
		reps=7
		[ ${#QUICK[@]} -gt 0 ] && reps=3
		"$abs_top_builddir/tests/bench/bench_resolver" -r $reps \
			-o "$RESULTS/resolver-$DATE.json" | tee "$RESULTS/resolver-$DATE.txt" ||
			status=1
		;;
	lua)
		n=200000
		[ ${#QUICK[@]} -gt 0 ] && n=50000
		"$abs_top_builddir/tests/bench/bench_lua" -n $n -r 5 \
			-o "$RESULTS/lua-$DATE.json" | tee "$RESULTS/lua-$DATE.txt" ||
			status=1
		;;
	datapath | attach | flows | hubble | redirect | flowstore | l7 | demux | kafka | dns | advisor)
		if [ "$(id -u)" != 0 ]; then
			echo "SKIP: $b needs root (network namespaces, BPF)"
			continue
		fi
		bash "$HERE/bench_$b.sh" "${QUICK[@]}"
		rc=$?
		[ $rc = 0 ] || { echo "$b: exit status $rc"; status=1; }
		;;
	*) echo "run.sh: unknown benchmark $b" >&2; exit 2 ;;
	esac
done
exit $status
