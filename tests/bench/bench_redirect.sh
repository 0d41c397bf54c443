#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/bench/bench_redirect.sh - what the proxy redirects cost traffic that
# is not redirected (docs/redirect.md, docs/benchmarks.md): the endpoint
# program of this tree against the one of a baseline revision (by default
# the parent of the commit that added bpf/lib/redirect.h), run with
# BPF_PROG_TEST_RUN on the same packets and the same map state
# (tests/bench/bench_bpfrun.c), in a network namespace of its own (a veth
# pair in it is the endpoints'). Also the programs' size after the verifier
# (xlated instructions).
#
# Each side runs with its own revision's bench_bpfrun, since the map layouts
# changed with issue 9 (the endpoint entry, the conntrack clock): the base
# revision must have tests/bench/bench_bpfrun.c. The revision before the
# redirects had none, so the default base is now the commit that added
# the tool (the redirects in, their fast-path work done); docs/benchmarks.md
# keeps the figures against the pre-redirect base measured back then. The
# figures compared are bw_from_lxc's on the paths both tools measure,
# events off.
#
# Usage: bench_redirect.sh [--quick] [--base-rev REV] [--rounds R] [--repeat K]
# Writes tests/bench/results/redirect-DATE.txt in the build tree.

set -u
ROUNDS=21
REPEAT=200000
BASE_REV=""
while [ $# -gt 0 ]; do
	case $1 in
	--quick) ROUNDS=7; REPEAT=50000 ;;
	--base-rev) BASE_REV=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	--repeat) REPEAT=$2; shift ;;
	-h | --help) sed -n '3,15p' "$0"; exit 0 ;;
	*) echo "bench_redirect.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

HERE=$(cd "$(dirname "$0")" && pwd)
: "${abs_top_srcdir:=$(cd "$HERE/../.." && pwd)}"
: "${abs_top_builddir:=$PWD}"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (BPF, a network namespace)"; exit 77; }
RUN=$abs_top_builddir/tests/bench/bench_bpfrun
NEW=$abs_top_builddir/bpf/bw_lxc.bpf.o
[ -x "$RUN" ] && [ -f "$NEW" ] || { echo "build first: make tests/bench/bench_bpfrun bpf/bw_lxc.bpf.o" >&2; exit 2; }
CLANG=$(sed -n 's/^CLANG = //p' "$abs_top_builddir/Makefile")
BPFCPP=$(sed -n 's/^BPF_CPPFLAGS = //p' "$abs_top_builddir/Makefile")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bw-bench-redirect.XXXXXX") || exit 99
NS=bwbr$$
cleanup() {
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

if [ -z "$BASE_REV" ]; then
	added=$(git -C "$abs_top_srcdir" log --diff-filter=A --format=%H -- tests/bench/bench_bpfrun.c | tail -n 1)
	[ -n "$added" ] || { echo "no commit adds tests/bench/bench_bpfrun.c; give --base-rev" >&2; exit 2; }
	BASE_REV=$added
fi
BASE_ID=$(git -C "$abs_top_srcdir" rev-parse --short "$BASE_REV") || exit 2
git -C "$abs_top_srcdir" cat-file -e "$BASE_REV:tests/bench/bench_bpfrun.c" 2>/dev/null || {
	echo "bench_redirect.sh: $BASE_ID has no tests/bench/bench_bpfrun.c (its map layout needs its own); give --base-rev" >&2
	exit 2
}
mkdir -p "$TMP/base"
git -C "$abs_top_srcdir" archive "$BASE_REV" bpf tests/bench/bench_bpfrun.c | tar -x -C "$TMP/base" || exit 2
# shellcheck disable=SC2086
"$CLANG" -target bpf -O2 -g -D__BPF__ -Wall -I"$TMP/base/bpf" $BPFCPP \
	-c "$TMP/base/bpf/bw_lxc.bpf.c" -o "$TMP/base.o" || exit 2
cc -O2 -I"$TMP/base" -o "$TMP/bench_bpfrun_base" "$TMP/base/tests/bench/bench_bpfrun.c" -lbpf || exit 2

ip netns add "$NS" || exit 99
ip -n "$NS" link add bwbench0 type veth peer name bwbench1 &&
	ip -n "$NS" link set bwbench0 up || exit 99
IFX=$(ip netns exec "$NS" cat /sys/class/net/bwbench0/ifindex)
IFX2=$(ip netns exec "$NS" cat /sys/class/net/bwbench1/ifindex)
OUT=$TMP/out
: >"$OUT"
# the two tools in turn, round by round
for r in $(seq "$ROUNDS"); do
	ip netns exec "$NS" "$TMP/bench_bpfrun_base" --ifindex "$IFX" --rounds 1 \
		--repeat "$REPEAT" "base=$TMP/base.o" >>"$OUT" || exit 1
	ip netns exec "$NS" "$RUN" --ifindex "$IFX" --ifindex2 "$IFX2" --rounds 1 \
		--repeat "$REPEAT" --new 200 --events off "redirect=$NEW" >>"$OUT" || exit 1
done

RESULTS=$abs_top_builddir/tests/bench/results
mkdir -p "$RESULTS"
REPORT=$RESULTS/redirect-$(date +%Y%m%d-%H%M%S).txt
python3 - "$OUT" "$BASE_ID" "$ROUNDS" "$REPEAT" <<'PY' | tee "$REPORT"
import statistics, sys
fig, xl = {}, {}
# this tree's names for the old tool's paths
same = {("from_lxc", "est"): "established", ("from_lxc", "denied-hot"): "new-denied",
        ("from_lxc", "udp-est"): "udp-est"}
for line in open(sys.argv[1]):
    w = line.split()
    if not w:
        continue
    if w[0] == "figure" and len(w) == 4:
        fig.setdefault((w[1], w[2]), []).append(float(w[3].split("=")[1]))
    elif w[0] == "figure" and len(w) == 5 and (w[2], w[3]) in same:
        fig.setdefault((w[1], same[(w[2], w[3])]), []).append(float(w[4].split("=")[1]))
    elif w[0] == "xlated" and w[2] in ("bw_from_lxc", "from_lxc"):
        xl[w[1]] = int(w[3].split("=")[1])
fig = {k: statistics.median(v) for k, v in fig.items()}
print("bw_from_lxc per packet, BPF_PROG_TEST_RUN (median of %s rounds x %s runs),"
      % (sys.argv[3], sys.argv[4]))
print("base = %s (its own bench_bpfrun), redirect = this tree; events off" % sys.argv[2])
print("%-12s %10s %10s %7s" % ("packet", "base ns", "redir. ns", "ratio"))
for p in ("established", "new-denied", "udp-est"):
    b, r = fig[("base", p)], fig[("redirect", p)]
    print("%-12s %10.1f %10.1f %7.3f" % (p, b, r, r / b if b else 0))
print("xlated instructions: base %d, redirect %d (+%d)"
      % (xl["base"], xl["redirect"], xl["redirect"] - xl["base"]))
PY
