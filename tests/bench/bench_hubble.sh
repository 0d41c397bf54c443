#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/bench/bench_hubble.sh - flows streamed over the Hubble gRPC API
# (modules/hubble-observer) while the datapath produces a given event rate
# (docs/benchmarks.md, benchmark 3).
#
# The event generator is bench_flows.sh's part A: bulwarkd with
# flows.monitor_aggregation=none (one trace event per packet per program
# run), two client pods sending 64-byte UDP datagrams with iperf3 to x/srv,
# no policy. For each number of followers F (0 = the baseline, then 1 and
# 10), F GetFlows followers ({"follow": true}, every flow, no field mask)
# run on the module's Unix socket, each its own process
# (tests/e2e/hubble_client.py count: gRPC's Python client, counting
# responses without decoding them), while the pods send for S seconds:
#   received   the change of flows.events (records the daemon read)
#   lost dp    the change of flows.lost_datapath (ring buffer full): the
#              pipeline's loss, to compare with F = 0
#   streamed   flows each follower received, per second (median, min)
#   follower lost  flows the followers were told they missed
#              (HUBBLE_RING_BUFFER lost events: a client slower than the
#              flows), summed
#   daemon CPU bulwarkd utime+stime over the run / its length
# Runs are repeated R times with the follower counts interleaved.
#
# Usage: bench_hubble.sh [--quick] [--reps R] [--duration S] [--rate EV/S]
#                        [--followers "0 1 10"]
# Writes tests/bench/results/hubble-DATE.{json,txt} in the build tree.

set -u
BENCH_NAME=hubble
REPS=3
DUR=5
RATE=100000
FOLLOWERS="0 1 10"
while [ $# -gt 0 ]; do
	case $1 in
	--quick) REPS=1; DUR=3 ;;
	--reps) REPS=$2; shift ;;
	--duration) DUR=$2; shift ;;
	--rate) RATE=$2; shift ;;
	--followers) FOLLOWERS=$2; shift ;;
	-h | --help) sed -n '3,30p' "$0"; exit 0 ;;
	*) echo "bench_hubble.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_init
PY=/usr/bin/python3
$PY -c 'import grpc, grpc_tools' 2>/dev/null ||
	bw_die "python3 grpc not found: apt-get install python3-grpcio python3-grpc-tools"
T_START=$(bench_now_ns)
MACHINE=$(bench_machine_json)
HZ=$(getconf CLK_TCK)
CLIENT=$abs_top_srcdir/tests/e2e/hubble_client.py
STUBS=$BW_TMP/stubs
mkdir -p "$STUBS"
$PY "$CLIENT" --proto "$abs_top_srcdir/modules/hubble-observer/proto" --stubs "$STUBS" gen ||
	bw_die "cannot generate the gRPC client"

SRV=10.1.0.1
# a flow ring of 64k flows: 0.6 s of history at 100k events/s
bw_start_daemon -o flows.monitor_aggregation=none -o flows.capacity=65536
[ -S "$BW_HUBBLE_SOCK" ] || bw_die "the hubble-observer module is not serving $BW_HUBBLE_SOCK"
bw_pod_add x srv $SRV app=srv >/dev/null || bw_die "endpoint x/srv"
bw_pod_add x c1 10.1.0.2 app=client >/dev/null || bw_die "endpoint x/c1"
bw_pod_add x c2 10.1.0.3 app=client2 >/dev/null || bw_die "endpoint x/c2"
for p in x/srv x/c1 x/c2; do
	bench_pod_quiet $p
	nodex sysctl -qw "net.ipv6.conf.${BW_IF_OF[$p]}.disable_ipv6=1"
done
bench_iperf3_server x/srv 5201 1
bench_iperf3_server x/srv 5202 1

status_flows() {
	bw status -o json | $PY -c '
import json, sys
f = json.load(sys.stdin)["flows"]
print(f["events"], f["lost_datapath"])'
}

run() { # REP FOLLOWERS
	local rep=$1 nf=$2 i pids=() pps bps ev0 lost0 ev1 lost1 cpu0 cpu1 t0 t1 secs
	pps=$((RATE / 4)) # 2 events per datagram, split over the two clients
	bps=$((pps * 64 * 8))
	for ((i = 0; i < nf; i++)); do
		$PY "$CLIENT" --stubs "$STUBS" --server "unix://$BW_HUBBLE_SOCK" \
			--request '{"follow": true}' count $((DUR + 3)) \
			>"$BW_TMP/f-$rep-$nf-$i.out" 2>&1 &
		pids+=($!)
	done
	for ((i = 0; i < nf; i++)); do
		bw_wait_for 20 grep -q READY "$BW_TMP/f-$rep-$nf-$i.out" ||
			bw_die "follower $i did not start"
	done
	sleep 0.5
	read -r ev0 lost0 < <(status_flows)
	cpu0=$(bench_pid_cpu_ticks "$BW_DAEMON_PID")
	t0=$(bench_now_ns)
	ip netns exec "$(bw_netns_of x/c1)" taskset -c 0 \
		iperf3 -u -c $SRV -p 5201 -l 64 -b "$bps" -t "$DUR" >/dev/null 2>&1 &
	local p1=$!
	ip netns exec "$(bw_netns_of x/c2)" taskset -c 1 \
		iperf3 -u -c $SRV -p 5202 -l 64 -b "$bps" -t "$DUR" >/dev/null 2>&1 &
	local p2=$!
	wait $p1 $p2
	t1=$(bench_now_ns)
	cpu1=$(bench_pid_cpu_ticks "$BW_DAEMON_PID")
	for p in "${pids[@]}"; do wait "$p"; done
	sleep 1.5 # the lost counter is read once a second
	read -r ev1 lost1 < <(status_flows)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	bench_sample "$nf" "$rep" seconds "$secs"
	bench_sample "$nf" "$rep" received $((ev1 - ev0))
	bench_sample "$nf" "$rep" lost_datapath $((lost1 - lost0))
	bench_sample "$nf" "$rep" cpu_ticks $((cpu1 - cpu0))
	bench_sample "$nf" "$rep" hz "$HZ"
	for ((i = 0; i < nf; i++)); do
		$PY -c '
import json, sys
r = json.loads(open(sys.argv[1]).read().split("READY", 1)[1].strip().splitlines()[-1])
print(r["flows"], r["lost"])' "$BW_TMP/f-$rep-$nf-$i.out" >"$BW_TMP/f.res" 2>/dev/null ||
			echo "0 0" >"$BW_TMP/f.res"
		read -r fl fo <"$BW_TMP/f.res"
		bench_sample "$nf" "$rep" follower_flows "$fl"
		bench_sample "$nf" "$rep" follower_lost "$fo"
	done
	bw_log "rep $rep, $nf followers: received $((ev1 - ev0)) lost $((lost1 - lost0)) in $secs s, cpu $((cpu1 - cpu0)) ticks"
}

for r in $(seq "$REPS"); do
	set -- $FOLLOWERS
	n=$#
	for ((j = 0; j < n; j++)); do
		k=$(((j + r - 1) % n + 1))
		run "$r" "${!k}"
	done
done
T_END=$(bench_now_ns)

OUT=$BENCH_RESULTS_DIR/$BENCH_NAME-$BENCH_DATE
$PY - "$BENCH_SAMPLES" "$OUT" "$MACHINE" "$REPS" "$DUR" "$RATE" \
	"$(((T_END - T_START) / 1000000000))" <<'EOF'
import json, statistics, sys
samples, out, machine, reps, dur, rate, secs = sys.argv[1:8]
data = {}
for line in open(samples):
    nf, rep, metric, value = line.rstrip("\n").split("\t")
    data.setdefault(int(nf), {}).setdefault(int(rep), {}).setdefault(metric, []).append(float(value))
res = {"benchmark": "hubble", "machine": json.loads(machine), "repetitions": int(reps),
       "duration_s": int(dur), "target_events_per_s": int(rate), "wall_time_s": int(secs), "runs": []}
L = ["Hubble GetFlows followers at %s events/s (monitor_aggregation=none, 64-byte UDP), %s s runs, %s repetitions"
     % (rate, dur, reps),
     "%9s %12s %10s %9s %16s %16s %14s %10s %12s" % ("followers", "received/s", "lost dp", "loss %",
     "streamed/s med", "streamed/s min", "follower lost", "cpu core", "cpu vs F=0")]
base_cpu = {}
for nf in sorted(data):
    for rep, d in sorted(data[nf].items()):
        s = d["seconds"][0]
        cpu = d["cpu_ticks"][0] / d["hz"][0] / s
        if nf == 0:
            base_cpu[rep] = cpu
    rows = []
    for rep, d in sorted(data[nf].items()):
        s = d["seconds"][0]
        cpu = d["cpu_ticks"][0] / d["hz"][0] / s
        fl = [x / s for x in d.get("follower_flows", [])]
        row = {"followers": nf, "rep": rep, "seconds": s, "received": int(d["received"][0]),
               "received_per_s": d["received"][0] / s, "lost_datapath": int(d["lost_datapath"][0]),
               "loss_pct": 100.0 * d["lost_datapath"][0] / max(1.0, d["received"][0] + d["lost_datapath"][0]),
               "streamed_per_s": fl, "follower_lost": int(sum(d.get("follower_lost", []))),
               "daemon_cpu_cores": cpu,
               "cpu_vs_no_followers": cpu / base_cpu[rep] if base_cpu.get(rep) else None}
        res["runs"].append(row)
        rows.append(row)
    med = lambda k: statistics.median([r[k] for r in rows])
    allfl = [x for r in rows for x in r["streamed_per_s"]]
    ratios = [r["cpu_vs_no_followers"] for r in rows if r["cpu_vs_no_followers"]]
    L.append("%9d %12.0f %10d %9.2f %16s %16s %14d %10.2f %12s" % (
        nf, med("received_per_s"), sum(r["lost_datapath"] for r in rows), med("loss_pct"),
        "%.0f" % statistics.median(allfl) if allfl else "-", "%.0f" % min(allfl) if allfl else "-",
        sum(r["follower_lost"] for r in rows), med("daemon_cpu_cores"),
        "%.2f" % statistics.median(ratios) if ratios and nf else "-"))
L.append("(streamed/s: flows one follower received per second of the run; follower lost: flows the")
L.append(" followers were told they missed; cpu vs F=0: per repetition against the run without followers)")
L.append("machine: %s; wall time %s s" % (json.dumps(res["machine"]), secs))
text = "\n".join(L)
print(text)
open(out + ".txt", "w").write(text + "\n")
json.dump(res, open(out + ".json", "w"), indent=1)
print("figures written to %s.json and %s.txt" % (out, out))
EOF
