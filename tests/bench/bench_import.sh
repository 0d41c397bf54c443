#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/bench/bench_import.sh - programming N CIDR peers: `bulwark policy
# import` against `nft -f` of the equivalent set, and nothing else
# (docs/benchmarks.md, "Programming N peers"). The programming step of
# bench_datapath.sh without the traffic, with more repetitions and the
# daemon's own CPU time per request, so that two builds can be compared on
# a loaded machine.
#
# Topology (tests/e2e/lib.sh): a node netns running bulwarkd, pods x/srv
# 10.1.0.1 (selected by the policy: its policy map is written before the
# reply) and x/cli 10.1.0.2 (the endpoint peer). The policy is
# bench_datapath.sh's: a CiliumNetworkPolicy allowing TCP 80 and 5201 to
# x/srv from x/cli and from N-1 /32 CIDRs (each a CIDR identity, an
# ipcache entry and 2 policy-map entries); variant b adds port 8080.
#
# Per round and build (builds interleaved, rounds rotate their order):
#   new       `bulwark policy import` of variant a, identities not known
#   reimport  `bulwark policy import` of b, then of a (identities known):
#             REIMPORTS samples each round
#   delete    `bulwark policy delete` (releases the N-1 identities)
#   nft_new   `nft -f` of the equivalent set (table created)
#   nft_re    `nft -f` again (the file deletes and re-creates the table)
# Per sample: wall time of the command (the CLI: request to reply, which
# comes after the maps are written) and CPU time: bulwarkd's main thread
# (/proc/PID/task/PID/schedstat, ns) and the CLI's own (rusage) for
# bulwark, nft's own (rusage) for nft. The maps are checked after each import: x/srv's policy map holds 2N
# (a) or 3N (b) entries, and the ipcache N-1 CIDR entries.
#
# Options:
#   --peers N         peers (default 10000)
#   --rounds R        rounds (default 5)
#   --reimports K     re-import pairs per round (default 2)
#   --builds "D1 D2"  build directories to compare (default: this one);
#                     each gives bulwarkd, bulwark and modules/.libs
#   --strace          also strace -c -w -f bulwarkd during one new import and
#                     one re-import of the first build (files in results)
#   --perf            also perf record --call-graph dwarf bulwarkd during them
# Writes tests/bench/results/import-DATE.{json,txt,samples.tsv}.

set -u
BENCH_NAME=import
PEERS=10000
ROUNDS=5
REIMPORTS=2
BUILDS=""
DO_STRACE=0
DO_PERF=0

while [ $# -gt 0 ]; do
	case $1 in
	--peers) PEERS=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	--reimports) REIMPORTS=$2; shift ;;
	--builds) BUILDS=$2; shift ;;
	--strace) DO_STRACE=1 ;;
	--perf) DO_PERF=1 ;;
	-h | --help) sed -n '3,41p' "$0"; exit 0 ;;
	*) echo "bench_import.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_init
bw_require_tool nft nftables
bw_require_tool bpftool bpftool
[ -n "$BUILDS" ] || BUILDS=$abs_top_builddir
read -r -a BUILD_LIST <<<"$BUILDS"
for b in "${BUILD_LIST[@]}"; do
	[ -x "$b/bulwarkd" ] || [ -x "$b/core/bulwarkd" ] || bw_die "no bulwarkd in $b"
done
[ $DO_STRACE = 0 ] || bw_require_tool strace strace
[ $DO_PERF = 0 ] || bw_require_tool perf linux-perf
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(bench_now_ns)
MACHINE=$(bench_machine_json)
OUT=$BENCH_RESULTS_DIR/import-$BENCH_DATE

SRV=10.1.0.1
CLI=10.1.0.2
N=$PEERS

# timed CMD... : run CMD, print "wall_ms cpu_ms" (CPU: the command's own and
# its children's, rusage); CMD's output goes to $BW_TMP/timed.out.
TIMER=$BW_TMP/timed.py
cat >"$TIMER" <<'EOF'
import os, resource, subprocess, sys, time
# (the children's usage before the call is subtracted: the interpreter
# may have waited for children of its own at start-up)
out = open(os.environ["TIMED_OUT"], "w")
r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
t0 = time.perf_counter()
rc = subprocess.call(sys.argv[1:], stdout=out, stderr=subprocess.STDOUT)
t1 = time.perf_counter()
r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.3f %.3f" % ((t1 - t0) * 1e3, (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) * 1e3))
sys.exit(rc)
EOF
export TIMED_OUT=$BW_TMP/timed.out
timed() {
	python3 "$TIMER" "$@"
}

# daemon_cpu_ns : bulwarkd's main thread, CPU ns so far
daemon_cpu_ns() {
	cut -d' ' -f1 "/proc/$BW_DAEMON_PID/task/$BW_DAEMON_PID/schedstat"
}

# ---- rule sets ------------------------------------------------------------

PEERF=$BW_TMP/peers.txt
python3 - "$N" >"$PEERF" <<'EOF'
import sys
n = int(sys.argv[1])
for i in range(n - 1):
    print("10.%d.%d.%d" % (20 + i // 62500, (i // 250) % 250, i % 250 + 1))
EOF
for variant in a b; do
	{
		printf 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\n'
		printf 'metadata:\n  name: allow-%s\n  namespace: x\n' "$N"
		printf 'spec:\n  endpointSelector:\n    matchLabels:\n      app: srv\n'
		printf '  ingress:\n'
		printf '  - fromEndpoints:\n    - matchLabels:\n        app: client\n'
		printf '    toPorts:\n    - ports:\n      - port: "80"\n        protocol: TCP\n'
		printf '      - port: "5201"\n        protocol: TCP\n'
		[ $variant = b ] && printf '      - port: "8080"\n        protocol: TCP\n'
		if [ "$N" -gt 1 ]; then
			printf '  - fromCIDR:\n'
			sed 's|^|    - |; s|$|/32|' "$PEERF"
			printf '    toPorts:\n    - ports:\n      - port: "80"\n        protocol: TCP\n'
			printf '      - port: "5201"\n        protocol: TCP\n'
			[ $variant = b ] && printf '      - port: "8080"\n        protocol: TCP\n'
		fi
	} >"$BW_TMP/policy-$variant.yaml"
done
NFTF=$BW_TMP/set.nft
{
	printf 'table ip bwbench\ndelete table ip bwbench\n'
	printf 'table ip bwbench {\n\tset allowed {\n\t\ttype ipv4_addr\n\t\telements = {\n'
	{ cat "$PEERF"; echo $CLI; } | sed 's|.*|\t\t\t&,|'
	printf '\t\t}\n\t}\n'
	printf '\tchain forward {\n\t\ttype filter hook forward priority 0; policy accept;\n'
	printf '\t\tct state established,related accept\n'
	printf '\t\tip daddr %s ip saddr @allowed tcp dport { 80, 5201 } accept\n' $SRV
	printf '\t\tip daddr %s drop\n\t}\n}\n' $SRV
} >"$NFTF"

# ---- checks ---------------------------------------------------------------

CANON=$(cd "$(dirname "$0")" && pwd)/map_canon.py
SRV_EP=""

# maps_canon [--counts EP] : the maps in canonical form (map_canon.py)
maps_canon() {
	curl -s --unix-socket "$BW_SOCK" http://localhost/v1/identities >"$BW_TMP/ids.json" ||
		bw_die "GET /v1/identities"
	python3 "$CANON" "$BW_BPFFS" "$BW_TMP/ids.json" "$@"
}

# check_maps WHAT EXPECTED_PMAP EXPECTED_CIDR : x/srv's policy-map entries
# and the ipcache's CIDR entries, as bpftool shows them
check_maps() {
	local c
	c=$(maps_canon --counts "$SRV_EP")
	[ "$c" = "$2 $3" ] ||
		bw_die "$1: x/srv's policy map and the ipcache's CIDR entries: $c, not $2 $3"
}

# ---- daemon per build ---------------------------------------------------------

CUR_BUILD=""
use_build() { # DIR
	[ "$CUR_BUILD" = "$1" ] && return 0
	[ -n "$BW_DAEMON_PID" ] && bw_stop_daemon
	BULWARKD=$1/bulwarkd
	[ -x "$BULWARKD" ] || BULWARKD=$1/core/bulwarkd
	BULWARK=$1/bulwark
	[ -x "$BULWARK" ] || BULWARK=$1/cli/bulwark
	BW_MODULE_DIR=$1/modules/.libs
	export BULWARKD BULWARK BW_MODULE_DIR
	bw_start_daemon
	CUR_BUILD=$1
}

use_build "${BUILD_LIST[0]}"
bw_pod_add x srv $SRV app=srv >/dev/null || bw_die "endpoint x/srv"
bw_pod_add x cli $CLI app=client >/dev/null || bw_die "endpoint x/cli"
bw_require_tool curl curl
SRV_EP=$(bw endpoint get x/srv -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') ||
	bw_die "x/srv's endpoint id"

# one_import BUILD-INDEX KIND FILE PMAP CIDR
one_import() {
	local c0 c1 wc
	c0=$(daemon_cpu_ns)
	wc=$(timed "$BULWARK" -s "$BW_SOCK" policy import "$3") ||
		{ cat "$TIMED_OUT" >&2; bw_die "$2 import failed"; }
	c1=$(daemon_cpu_ns)
	set -- "$1" "$2" "$3" "$4" "$5" $wc
	bench_sample "b$1" "$N" "$2_wall_ms" "$6"
	bench_sample "b$1" "$N" "$2_cli_cpu_ms" "$7"
	bench_sample "b$1" "$N" "$2_daemon_cpu_ms" "$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')"
	check_maps "$2" "$4" "$5"
}

one_delete() { # BUILD-INDEX
	local c0 c1 wc
	c0=$(daemon_cpu_ns)
	wc=$(timed "$BULWARK" -s "$BW_SOCK" policy delete "x/allow-$N") ||
		{ cat "$TIMED_OUT" >&2; bw_die "delete failed"; }
	c1=$(daemon_cpu_ns)
	set -- "$1" $wc
	bench_sample "b$1" "$N" delete_wall_ms "$2"
	bench_sample "b$1" "$N" delete_daemon_cpu_ms "$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')"
	check_maps delete 0 0
}

one_nft() { # KIND
	local wc
	wc=$(nodex python3 "$TIMER" nft -f "$NFTF") || { cat "$TIMED_OUT" >&2; bw_die "nft -f"; }
	set -- "$1" $wc
	bench_sample nft "$N" "$1_wall_ms" "$2"
	bench_sample nft "$N" "$1_cpu_ms" "$3"
}

# profile_import KIND FILE : strace -c / perf record of bulwarkd during it
profile_import() {
	local st pf
	if [ $DO_STRACE = 1 ]; then
		st=$OUT.strace-$1.txt
		strace -c -w -f -o "$st" -p "$BW_DAEMON_PID" &
		local spid=$!
		sleep 1
		"$BULWARK" -s "$BW_SOCK" policy import "$2" >/dev/null || bw_die "strace import"
		kill -INT "$spid"
		wait "$spid"
		bw_log "strace -c of the $1 import: $st"
		[ "$1" = new ] && { bw policy delete "x/allow-$N" >/dev/null || bw_die "delete"; }
	fi
	if [ $DO_PERF = 1 ]; then
		pf=$OUT.perf-$1.data
		perf record -q --call-graph dwarf,16384 -o "$pf" -p "$BW_DAEMON_PID" >/dev/null 2>&1 &
		local ppid=$!
		sleep 1
		"$BULWARK" -s "$BW_SOCK" policy import "$2" >/dev/null || bw_die "perf import"
		kill -INT "$ppid"
		wait "$ppid"
		{
			echo "# self"
			perf report -i "$pf" --no-children --stdio --sort dso,sym -g none 2>/dev/null |
				grep -v '^#' | grep -v '^$' | head -40
			echo "# with children (inclusive)"
			perf report -i "$pf" --children --stdio --sort sym -g none 2>/dev/null |
				grep -v '^#' | grep -v '^$' | head -80
		} >"$OUT.perf-$1.txt"
		bw_log "perf record of the $1 import: $pf ($OUT.perf-$1.txt)"
		[ "$1" = new ] && { bw policy delete "x/allow-$N" >/dev/null || bw_die "delete"; }
	fi
}

if [ $DO_STRACE = 1 ] || [ $DO_PERF = 1 ]; then
	profile_import new "$BW_TMP/policy-a.yaml"
	bw policy import "$BW_TMP/policy-a.yaml" >/dev/null || bw_die "import"
	profile_import reimport "$BW_TMP/policy-b.yaml"
	bw policy delete "x/allow-$N" >/dev/null || bw_die "delete"
fi

# ---- rounds -------------------------------------------------------------------

NB=${#BUILD_LIST[@]}
for r in $(seq 1 "$ROUNDS"); do
	for j in $(seq 0 $((NB - 1))); do
		i=$(((j + r) % NB))
		use_build "${BUILD_LIST[$i]}"
		one_import "$i" new "$BW_TMP/policy-a.yaml" $((2 * N)) $((N - 1))
		[ -e "$OUT.maps-b$i.txt" ] || maps_canon >"$OUT.maps-b$i.txt"
		for _ in $(seq 1 "$REIMPORTS"); do
			one_import "$i" reimport "$BW_TMP/policy-b.yaml" $((3 * N)) $((N - 1))
			one_import "$i" reimport "$BW_TMP/policy-a.yaml" $((2 * N)) $((N - 1))
		done
		one_delete "$i"
	done
	one_nft nft_new
	one_nft nft_re
	nodex nft delete table ip bwbench || bw_die "nft delete table"
	bw_log "round $r of $ROUNDS done (load $(cut -d' ' -f1-3 /proc/loadavg))"
done

# ---- report -------------------------------------------------------------------

cp "$BENCH_SAMPLES" "$OUT.samples.tsv"
MAPS_EQUAL=yes
for j in $(seq 1 $((NB - 1))); do
	cmp -s "$OUT.maps-b0.txt" "$OUT.maps-b$j.txt" || MAPS_EQUAL=no
done
[ $MAPS_EQUAL = yes ] || bw_log "the maps after the first import differ between builds: diff $OUT.maps-b0.txt $OUT.maps-b1.txt"
python3 - "$BENCH_SAMPLES" "$OUT" "$N" "$ROUNDS" "$MACHINE" "$LOAD0" \
	"$(cut -d' ' -f1-3 /proc/loadavg)" "$(( ($(bench_now_ns) - T_START) / 1000000000 ))" "$MAPS_EQUAL" \
	"${BUILD_LIST[@]}" <<'EOF'
import json, statistics, subprocess, sys
samples, out, n, rounds, machine, load0, load1, secs, equal = sys.argv[1:10]
builds = sys.argv[10:]
d = {}
for line in open(samples):
    mode, _, metric, v = line.rstrip("\n").split("\t")
    d.setdefault((mode, metric), []).append(float(v))
def stat(k):
    v = d.get(k, [])
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}
def rev(b):
    try:
        return open(b + "/REV").read().strip()
    except OSError:
        pass
    try:
        return subprocess.run(["git", "-C", b, "describe", "--always", "--dirty"],
                              capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""
res = {"peers": int(n), "rounds": int(rounds), "machine": json.loads(machine),
       "loadavg_start": load0, "loadavg_end": load1, "seconds": int(secs),
       "builds": [], "nft": {}, "maps_equal_between_builds": equal == "yes"}
for i, b in enumerate(builds):
    e = {"dir": b, "rev": rev(b)}
    for m in ("new", "reimport", "delete"):
        e[m + "_wall_ms"] = stat(("b%d" % i, m + "_wall_ms"))
        e[m + "_daemon_cpu_ms"] = stat(("b%d" % i, m + "_daemon_cpu_ms"))
        e[m + "_cli_cpu_ms"] = stat(("b%d" % i, m + "_cli_cpu_ms"))
    res["builds"].append(e)
for m in ("nft_new", "nft_re"):
    res["nft"][m + "_wall_ms"] = stat(("nft", m + "_wall_ms"))
    res["nft"][m + "_cpu_ms"] = stat(("nft", m + "_cpu_ms"))
json.dump(res, open(out + ".json", "w"), indent=1)
def f(s):
    return "-" if s is None else "%.1f (%.1f-%.1f, %d)" % (s["median"], s["min"], s["max"], s["n"])
lines = ["Programming %s peers: median (min-max, samples) in ms; load %s -> %s; %s s" %
         (n, load0, load1, secs), ""]
for i, e in enumerate(res["builds"]):
    lines.append("build %d: %s (%s)" % (i, e["dir"], e["rev"]))
    for m in ("new", "reimport", "delete"):
        lines.append("  %-9s wall %-28s bulwarkd main thread CPU %-28s CLI CPU %s" %
                     (m, f(e[m + "_wall_ms"]), f(e[m + "_daemon_cpu_ms"]),
                      f(e.get(m + "_cli_cpu_ms"))))
if len(builds) > 1:
    lines.append("maps after the first import equal between builds (map_canon.py): %s" % equal)
lines.append("nft -f:")
for m, t in (("nft_new", "new"), ("nft_re", "replace")):
    lines.append("  %-9s wall %-28s nft CPU %s" % (t, f(res["nft"][m + "_wall_ms"]),
                                                 f(res["nft"][m + "_cpu_ms"])))
open(out + ".txt", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
bw_log "results: $OUT.{json,txt,samples.tsv}"
if [ $MAPS_EQUAL = yes ]; then bw_pass "import benchmark"; else bw_fail "maps differ between builds"; fi
bw_finish
