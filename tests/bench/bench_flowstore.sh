#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/bench/bench_flowstore.sh - the flow store and the adoption verbs
# (docs/benchmarks.md, benchmark 4; modules/flowstore).
#
# Part A, history write rate. A pod (x/gen 10.1.0.2) sends UDP datagrams
# whose 5-tuples never repeat (tests/bench/bench_newflows: 1,000 destination
# ports, so 1,000 flow keys), each one a new connection for the datapath and
# one connection record for the flow store, to an outside address the node
# blackholes. For each target rate, interleaved per repetition, two modes:
# baseline (bulwarkd without the flowstore module) and store (with it):
#   sent      datagrams the generator sent
#   records   connection records the store made (bulwark_flowstore_records)
#   stored    records written to the database once the queue is empty
#   lost      records not stored (queue full, write error) - 0 is "no loss"
#   daemon CPU (cores) = bulwarkd's utime+stime / the run's length, and the
#             store's share: store minus baseline of the same repetition.
#
# Part B, database size per million flows: from part A's database (1,000
# keys, 1-minute buckets), from a database filled with 1M records over 1,000
# keys and 24 h (tests/bench/bench_flowstore_fill, the module's own writer),
# from one where every record is its own key (the worst case), and with raw
# flows on (Hubble JSON per record).
#
# Part C, exposure and compliance latency: a database of FLOWS records
# (default 10M; 20,000 keys over 500 workloads in 50 namespaces, 24 h,
# denied counts for every endpoint), bulwarkd started on it with ENDPOINTS
# endpoints (default 1,000: 50 namespaces x 10 workloads x 2 pods, veths
# into one pod netns) and 150 policies (per namespace: default deny, allow
# from the namespace, allow the world to app0 on 80). Median of 5 runs of
# `bulwark exposure -o json`, `compliance -o json`, `history --limit 1000
# -o json`, a /metrics scrape, and as the baseline `endpoint list -o json`.
#
# Usage: bench_flowstore.sh [--quick] [--reps R] [--duration S] [--rates "..."]
#                           [--flows N] [--endpoints N]
# --quick: 1 repetition, 3 s runs, rates 20000 50000, 1M records in part C.
# Writes tests/bench/results/flowstore-DATE.{json,txt} in the build tree.

set -u
BENCH_NAME=flowstore
REPS=3
DUR=10
RATES="20000 50000 80000"
FLOWS=10000000
NEP=1000
while [ $# -gt 0 ]; do
	case $1 in
	--quick) REPS=1; DUR=3; RATES="20000 50000"; FLOWS=1000000 ;;
	--reps) REPS=$2; shift ;;
	--duration) DUR=$2; shift ;;
	--rates) RATES=$2; shift ;;
	--flows) FLOWS=$2; shift ;;
	--endpoints) NEP=$2; shift ;;
	-h | --help) sed -n '3,42p' "$0"; exit 0 ;;
	*) echo "bench_flowstore.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_init
bw_require_tool curl curl
T_START=$(bench_now_ns)
MACHINE=$(bench_machine_json)
HZ=$(getconf CLK_TCK)
GEN=$abs_top_builddir/tests/bench/bench_newflows
FILL=$abs_top_builddir/tests/bench/bench_flowstore_fill
[ -x "$GEN" ] && [ -x "$FILL" ] || bw_die "build the helpers first: make tests/bench/bench_newflows tests/bench/bench_flowstore_fill"

BASE_MODULES="identity-local netpol-k8s netpol-cilium prometheus"
start_mode() { # baseline|store [-o ...]
	local mode=$1
	shift
	local mods=$BASE_MODULES
	[ "$mode" = store ] && mods="$mods flowstore"
	[ -z "$BW_DAEMON_PID" ] || bw_stop_daemon >/dev/null
	bw_start_daemon -o "daemon.modules=$mods" "$@" >/dev/null
}
store_status() { # "records stored lost queued db_bytes"
	curl -s --unix-socket "$BW_SOCK" http://x/v1/flowstore | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["records"], d["stored_flows"], d["lost_flows"], d["queued_batches"], d["db_bytes"])'
}
published() {
	bw status -o json | python3 -c 'import json,sys; f=json.load(sys.stdin)["flows"]; print(f["flows"], f["lost_datapath"])'
}

# ---- part A: write rate -----------------------------------------------------------
start_mode baseline
bw namespace set x >/dev/null
bw_pod_add x gen 10.1.0.2 app=gen >/dev/null || bw_die "endpoint x/gen"
bench_pod_quiet x/gen
nodex ip route add blackhole 203.0.113.0/24
GENNS=$(bw_netns_of x/gen)
# Connection tracking outlives a daemon restart (pinned maps): every run
# gets its own 1,000 destination ports, so its datagrams are all new.
RUN=0
P0=2000
next_port0() { # sets P0 (not in a subshell: RUN must count)
	RUN=$((RUN + 1))
	P0=$((2000 + (RUN % 60) * 1000))
}

run_a() { # MODE RATE REP
	local mode=$1 rate=$2 rep=$3 r0 s0 l0 q0 b0 r1 s1 l1 q1 b1 p0 p1 ld0 ld1 cpu0 cpu1 cpu2 out i
	if [ "$mode" = store ]; then
		# a database per run: its size is this run's
		start_mode store -o flowstore.path="$BW_TMP/a-$rate-$rep.db"
	else
		start_mode baseline
	fi
	read -r p0 ld0 < <(published)
	if [ "$mode" = store ]; then read -r r0 s0 l0 q0 b0 < <(store_status); fi
	cpu0=$(bench_pid_cpu_ticks "$BW_DAEMON_PID")
	next_port0
	out=$(ip netns exec "$GENNS" taskset -c 0 "$GEN" -s 10.1.0.2 -d 203.0.113.10 \
		-p "$P0" -n 1000 -r "$rate" -t "$DUR") || bw_die "generator failed"
	cpu1=$(bench_pid_cpu_ticks "$BW_DAEMON_PID")
	# drain: the ring, then (store) the queue and the last flush
	for i in $(seq 50); do
		sleep 0.2
		read -r p1 ld1 < <(published)
		if [ "$mode" = store ]; then
			read -r r1 s1 l1 q1 b1 < <(store_status)
			[ "$q1" = 0 ] && [ $((s1 + l1)) -ge "$r1" ] && [ $i -ge 10 ] && break
		else
			[ $i -ge 10 ] && break
		fi
	done
	cpu2=$(bench_pid_cpu_ticks "$BW_DAEMON_PID")
	bench_sample "a-$mode" "$rate" sent "$(echo "$out" | awk '{ print $2 }')"
	bench_sample "a-$mode" "$rate" seconds "$(echo "$out" | awk '{ print $4 }')"
	bench_sample "a-$mode" "$rate" published $((p1 - p0))
	bench_sample "a-$mode" "$rate" lost_datapath $((ld1 - ld0))
	bench_sample "a-$mode" "$rate" cpu_ticks_run $((cpu1 - cpu0))
	bench_sample "a-$mode" "$rate" cpu_ticks_total $((cpu2 - cpu0))
	if [ "$mode" = store ]; then
		bench_sample "a-$mode" "$rate" records $((r1 - r0))
		bench_sample "a-$mode" "$rate" stored $((s1 - s0))
		bench_sample "a-$mode" "$rate" lost $((l1 - l0))
		bw_stop_daemon >/dev/null # checkpoint: the file holds it all
		bench_sample size live_total stored "$s1"
		bench_sample size live_total bytes "$(stat -c %s "$BW_TMP/a-$rate-$rep.db")"
	fi
	bw_log "A $mode $rate/s rep $rep: $out, published $((p1 - p0)), cpu $((cpu2 - cpu0)) ticks"
}
for rate in $RATES; do
	for rep in $(seq "$REPS"); do
		if [ $((rep % 2)) = 1 ]; then order="baseline store"; else order="store baseline"; fi
		for mode in $order; do
			run_a "$mode" "$rate" "$rep"
		done
	done
done

# ---- part B: size per million flows -------------------------------------------------
out=$("$FILL" -f "$BW_TMP/b1.db" -n 1000000 -k 1000 -H 24) || bw_die "fill b1"
bench_sample size aggregated_1000_keys flows "$(echo "$out" | awk '{ print $2 }')"
bench_sample size aggregated_1000_keys rows "$(echo "$out" | awk '{ print $4 }')"
bench_sample size aggregated_1000_keys bytes "$(echo "$out" | awk '{ print $6 }')"
out=$("$FILL" -f "$BW_TMP/b2.db" -n 200000 -x) || bw_die "fill b2"
bench_sample size every_flow_a_key flows "$(echo "$out" | awk '{ print $2 }')"
bench_sample size every_flow_a_key rows "$(echo "$out" | awk '{ print $4 }')"
bench_sample size every_flow_a_key bytes "$(echo "$out" | awk '{ print $6 }')"
rm -f "$BW_TMP"/b1.db* "$BW_TMP"/b2.db*
start_mode store -o flowstore.path="$BW_TMP/raw.db" -o flowstore.raw=true
read -r r0 s0 l0 q0 b0 < <(store_status)
next_port0
ip netns exec "$GENNS" taskset -c 0 "$GEN" -s 10.1.0.2 -d 203.0.113.10 -n 1000 \
	-p "$P0" -r 10000 -t 3 >/dev/null || bw_die "generator failed"
for i in $(seq 50); do
	sleep 0.2
	read -r r1 s1 l1 q1 b1 < <(store_status)
	[ "$q1" = 0 ] && [ $((s1 + l1)) -ge "$r1" ] && [ $i -ge 10 ] && break
done
bw_stop_daemon >/dev/null # checkpoint: the size of the file alone
bench_sample size raw_flows stored $((s1 - s0))
bench_sample size raw_flows bytes "$(stat -c %s "$BW_TMP/raw.db")"

# ---- part C: exposure and compliance latency --------------------------------------------
t0=$(bench_now_ns)
out=$("$FILL" -f "$BW_TMP/c.db" -n "$FLOWS" -k 20000 -w 500 -N 50 -H 24 -e "$NEP") ||
	bw_die "fill c"
bench_sample c fill flows "$(echo "$out" | awk '{ print $2 }')"
bench_sample c fill rows "$(echo "$out" | awk '{ print $4 }')"
bench_sample c fill bytes "$(echo "$out" | awk '{ print $6 }')"
bench_sample c fill seconds "$(echo "$out" | awk '{ print $8 }')"
start_mode store -o flowstore.path="$BW_TMP/c.db" -o flowstore.max_size=64G \
	-o flowstore.retention=30d
PODS=$BW_ID-pods
bw_netns_create "$PODS"
{
	for i in $(seq 0 $((NEP - 1))); do
		echo "link add ${BW_ID}p$i type veth peer name e$i netns $PODS"
		echo "link set ${BW_ID}p$i up"
	done
} >"$BW_TMP/veths.batch"
ip -n "$BW_NODE" -batch "$BW_TMP/veths.batch" || bw_die "creating $NEP veths"
for n in $(seq 0 49); do bw namespace set "ns$n" >/dev/null; done
t1=$(bench_now_ns)
for i in $(seq 0 $((NEP - 1))); do
	ns=ns$((i % 50)) app=app$((i / 50 % 10))
	bw endpoint add "$ns/$app-$i" --host-ifname "${BW_ID}p$i" \
		--ip "10.200.$((i / 250)).$((i % 250 + 1))" --label "app=$app" >/dev/null ||
		bw_die "endpoint $ns/$app-$i"
done
t2=$(bench_now_ns)
bench_sample c setup endpoints "$NEP"
bench_sample c setup endpoint_add_seconds "$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
{
	for n in $(seq 0 49); do
		[ "$n" = 0 ] || echo ---
		cat <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: ns$n}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: same-namespace, namespace: ns$n}
spec:
  podSelector: {}
  ingress: [{from: [{podSelector: {}}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: app0-from-world, namespace: ns$n}
spec:
  endpointSelector: {matchLabels: {app: app0}}
  ingress: [{fromEntities: [world], toPorts: [{ports: [{port: "80", protocol: TCP}]}]}]
EOF
	done
} >"$BW_TMP/c-policies.yaml"
bw policy import "$BW_TMP/c-policies.yaml" >/dev/null || bw_die "policy import (part C)"

timed() { # NAME CMD... : 5 runs, one sample each (seconds)
	local name=$1 i a b
	shift
	"$@" >/dev/null 2>&1 || bw_die "$name failed: $*"
	for i in 1 2 3 4 5; do
		a=$(bench_now_ns)
		"$@" >/dev/null 2>&1
		b=$(bench_now_ns)
		bench_sample c "$name" seconds "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')"
	done
}
scrape() { nodex curl -s --max-time 60 -o /dev/null http://127.0.0.1:9962/metrics; }
timed endpoint_list bw endpoint list -o json
timed exposure bw exposure -o json
timed compliance bw compliance -o json
timed history bw history --limit 1000 -o json
timed metrics_scrape scrape
bench_sample c check workloads "$(bw exposure -o json | python3 -c 'import json,sys; print(sum(len(n["workloads"]) for n in json.load(sys.stdin)["namespaces"]))')"
bench_sample c check denied_total "$(bw compliance -o json | python3 -c 'import json,sys; print(sum(e["ingress"]["denied"] for e in json.load(sys.stdin)["endpoints"]))')"
bw_stop_daemon >/dev/null

# ---- report -----------------------------------------------------------------------------
T_END=$(bench_now_ns)
OUT=$BENCH_RESULTS_DIR/$BENCH_NAME-$BENCH_DATE
python3 - "$BENCH_SAMPLES" "$OUT" "$MACHINE" "$REPS" "$DUR" "$HZ" "$FLOWS" "$NEP" \
	"$T_START" "$T_END" <<'EOF'
import json, statistics, sys
samples, out, machine, reps, dur, hz, flows, nep, t0, t1 = sys.argv[1:11]
hz = float(hz)
S = {}
for line in open(samples):
    mode, n, metric, value = line.rstrip("\n").split("\t")
    S.setdefault((mode, n, metric), []).append(float(value))
def med(mode, n, metric):
    v = S.get((mode, n, metric))
    return statistics.median(v) if v else None
res = {"benchmark": "flowstore", "machine": json.loads(machine), "repetitions": int(reps),
       "duration_s": float(dur), "seconds": (int(t1) - int(t0)) / 1e9, "part_a": [], "part_b": {},
       "part_c": {}, "samples": [[*k, v] for k, v in S.items()]}
lines = ["Benchmark 4: flow store (%s, %d repetition(s), %s s runs)" % (machine, int(reps), dur), "",
         "A. history write rate (medians)", "",
         "| target flows/s | sent/s | stored/s | lost | daemon CPU baseline | daemon CPU with store | store's share |",
         "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
rates = sorted({int(k[1]) for k in S if k[0] == "a-store"})
for r in rates:
    n = str(r)
    secs = med("a-store", n, "seconds") or float(dur)
    sent = med("a-store", n, "sent") or 0
    stored = med("a-store", n, "stored") or 0
    lost = med("a-store", n, "lost") or 0
    cb = [t / hz / float(dur) for t in S.get(("a-baseline", n, "cpu_ticks_total"), [])]
    cs = [t / hz / float(dur) for t in S.get(("a-store", n, "cpu_ticks_total"), [])]
    share = [s - b for s, b in zip(cs, cb)]
    row = {"target": r, "sent_per_s": sent / secs, "stored_per_s": stored / secs, "lost": lost,
           "records": med("a-store", n, "records"), "published_per_s": (med("a-store", n, "published") or 0) / secs,
           "lost_datapath": med("a-store", n, "lost_datapath"),
           "cpu_baseline": statistics.median(cb) if cb else None,
           "cpu_store": statistics.median(cs) if cs else None,
           "cpu_share": statistics.median(share) if share else None}
    res["part_a"].append(row)
    f = lambda x: "-" if x is None else "%.2f" % x
    lines.append("| %d | %.0f | %.0f | %d | %s | %s | %s |" % (r, row["sent_per_s"], row["stored_per_s"], lost,
                 f(row["cpu_baseline"]), f(row["cpu_store"]), f(row["cpu_share"])))
lines += ["", "B. database size per million flows", "", "| database | flows | rows | bytes | MiB per million flows |",
          "| --- | ---: | ---: | ---: | ---: |"]
for name, label in (("live_total", "part A (1,000 keys, 1-min buckets)"),
                    ("aggregated_1000_keys", "filled: 1,000 keys, 24 h"),
                    ("every_flow_a_key", "filled: every flow its own key"),
                    ("raw_flows", "part A traffic with raw = true")):
    fl = S.get(("size", name, "stored"), S.get(("size", name, "flows")))
    by = S.get(("size", name, "bytes"))
    rows = S.get(("size", name, "rows"))
    if not fl or not by:
        continue
    fl, by = fl[-1], by[-1]
    per = by / fl * 1e6 / 1048576 if fl else 0
    res["part_b"][name] = {"flows": fl, "bytes": by, "rows": rows[-1] if rows else None, "mib_per_million": per}
    lines.append("| %s | %d | %s | %d | %.1f |" % (label, fl, "%d" % rows[-1] if rows else "-", by, per))
lines += ["", "C. latency at %s endpoints and %s stored flows (median of 5, seconds)" % (nep, flows), "",
          "| command | seconds | ratio to endpoint list |", "| --- | ---: | ---: |"]
base = med("c", "endpoint_list", "seconds")
for name in ("endpoint_list", "exposure", "compliance", "history", "metrics_scrape"):
    v = med("c", name, "seconds")
    if v is None:
        continue
    res["part_c"][name] = v
    lines.append("| %s | %.3f | %.1f |" % (name.replace("_", " "), v, v / base if base else 0))
for k in ("flows", "rows", "bytes", "seconds"):
    res["part_c"]["fill_" + k] = med("c", "fill", k)
res["part_c"]["endpoint_add_seconds"] = med("c", "setup", "endpoint_add_seconds")
res["part_c"]["workloads"] = med("c", "check", "workloads")
res["part_c"]["denied_total"] = med("c", "check", "denied_total")
lines += ["", "Part C's database: %d flows in %d rows, %.0f MiB, filled in %.1f s; %d workloads in the exposure answer; %d endpoints registered in %.1f s." % (
    res["part_c"]["fill_flows"] or 0, res["part_c"]["fill_rows"] or 0, (res["part_c"]["fill_bytes"] or 0) / 1048576,
    res["part_c"]["fill_seconds"] or 0, res["part_c"]["workloads"] or 0, int(nep), res["part_c"]["endpoint_add_seconds"] or 0)]
json.dump(res, open(out + ".json", "w"), indent=1)
open(out + ".txt", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
print("\nwritten: %s.json %s.txt" % (out, out))
EOF
bw_pass "benchmark ran"
bw_finish
