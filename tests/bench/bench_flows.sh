#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/bench/bench_flows.sh - the flow pipeline (docs/benchmarks.md).
#
# Part A, event rate and loss. bulwarkd runs with
# flows.monitor_aggregation=none, so the datapath writes one trace event per
# packet per program run (one on the sender's veth, one on the receiver's).
# Two client pods (x/c1 10.1.0.2, x/c2 10.1.0.3) send 64-byte UDP datagrams
# with iperf3 at a chosen packet rate to two iperf3 servers in x/srv
# 10.1.0.1; no policy (nothing dropped). For each target rate (events/s):
#   produced  = program runs on the three endpoint veths = the change of
#               rx_packets + tx_packets of their node-side ends (IPv6 is off
#               on both ends, so there is no other traffic);
#   received  = the change of flows.events in GET /v1/status (records the
#               daemon read from the ring buffer);
#   lost      = the change of flows.lost_datapath (ring buffer full, counted
#               by the datapath);
#   unaccounted = produced - received - lost (0 means every event is either
#               delivered or counted as lost);
#   daemon CPU = utime+stime of bulwarkd over the run / the run's length.
#
# Part B, connection rate with events on and off. Modes, interleaved: bare
# (no programs), on (daemon running, monitor_aggregation=medium, an
# enforced policy allowing x/c1 to x/srv:80), off (the same daemon running
# with the three [flows] switches trace_events, drop_events and
# policy_verdict_events false, set by a SIGHUP reload: the datapath writes
# no event at all; enforcement, conntrack and the metrics map go on), and
# stopped (the former approximation of "off": bulwarkd stopped after a
# warm-up run that fills the ring buffer, so every reserve fails and is
# counted lost). wrk with "Connection: close" to nginx. "on" also reports
# the events per connection (events read / connections made).
#
# Part C, the same as part A with a Lua on_flow hook loaded (a trivial one:
# it returns nothing), at LUA_RATES: every flow then waits in the Lua
# stage for the bw-lua thread before it is stored (docs/lua.md, "Flows
# and scripts"). Besides part A's columns: flows the scripts saw, flows
# stored without them (skipped: the queue was full; late: on_flow took
# longer than flow_delay), from GET /v1/lua. No loss means, as in part A,
# unaccounted = 0 and lost = 0: the pipeline keeps every event whatever
# the script does.
#
# Usage: bench_flows.sh [--quick] [--reps R] [--duration S] [--rates "..."]
#                       [--lua-rates "..."]
# Writes tests/bench/results/flows-DATE.{json,txt} in the build tree.

set -u
BENCH_NAME=flows
REPS=3
DUR=5
CDUR=3
RATES="50000 100000 150000 200000 300000 400000"
CONNS=16
LUA_RATES="100000 200000"
while [ $# -gt 0 ]; do
	case $1 in
	--quick) REPS=1; DUR=3; CDUR=2; RATES="50000 100000"; LUA_RATES="100000" ;;
	--lua-rates) LUA_RATES=$2; shift ;;
	--reps) REPS=$2; shift ;;
	--duration) DUR=$2; CDUR=$2; shift ;;
	--rates) RATES=$2; shift ;;
	-h | --help) sed -n '3,48p' "$0"; exit 0 ;;
	*) echo "bench_flows.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_init
bw_require_tool curl curl
T_START=$(bench_now_ns)
MACHINE=$(bench_machine_json)
HZ=$(getconf CLK_TCK)

SRV=10.1.0.1
# a private copy of the config: part B flips the event switches with SIGHUP
cp "$(bw_daemon_conf)" "$BW_TMP/bulwark.conf" || bw_die "no bulwark.conf to copy"
export BW_CONF=$BW_TMP/bulwark.conf
bw_start_daemon -o flows.monitor_aggregation=none
bw_pod_add x srv $SRV app=srv >/dev/null || bw_die "endpoint x/srv"
bw_pod_add x c1 10.1.0.2 app=client >/dev/null || bw_die "endpoint x/c1"
bw_pod_add x c2 10.1.0.3 app=client2 >/dev/null || bw_die "endpoint x/c2"
for p in x/srv x/c1 x/c2; do
	bench_pod_quiet $p
	nodex sysctl -qw "net.ipv6.conf.${BW_IF_OF[$p]}.disable_ipv6=1"
done
bench_client_tune x/c1
bench_iperf3_server x/srv 5201 1
bench_iperf3_server x/srv 5202 1
bench_nginx x/srv $SRV 1

# status_flows : "events lost_datapath"
status_flows() {
	bw status -o json | python3 -c '
import json, sys
f = json.load(sys.stdin)["flows"]
print(f["events"], f["lost_datapath"])'
}

# veth_packets : rx+tx(+tx_dropped) packets of the endpoints' node-side veths
veth_packets() {
	local total=0 p v
	for p in x/srv x/c1 x/c2; do
		v=$(ip -n "$BW_NODE" -s -j link show dev "${BW_IF_OF[$p]}" | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["stats64"]
print(s["rx"]["packets"] + s["tx"]["packets"] + s["tx"]["dropped"])')
		total=$((total + v))
	done
	echo $total
}

# lua_flows : "seen skipped late" from GET /v1/lua (0 0 0 without the host)
lua_flows() {
	bw lua list -o json 2>/dev/null | python3 -c '
import json, sys
try:
    f = json.load(sys.stdin)["flows"]
    print(f["seen"], f["skipped"], f["late"])
except Exception:
    print(0, 0, 0)'
}

# ---- part A (and C: run_rates lua) ----------------------------------------------

run_rates() { # MODE RATES
local mode=$1 rate
for rate in $2; do
	# 2 events per datagram, split over the two clients
	pps=$((rate / 4))
	bps=$((pps * 64 * 8))
	read -r ev0 lost0 < <(status_flows)
	read -r ls0 lk0 ll0 < <(lua_flows)
	pk0=$(veth_packets)
	cpu0=$(bench_pid_cpu_ticks "$BW_DAEMON_PID")
	t0=$(bench_now_ns)
	ip netns exec "$(bw_netns_of x/c1)" taskset -c 0 \
		iperf3 -u -c $SRV -p 5201 -l 64 -b "$bps" -t "$DUR" -J >"$BW_TMP/u1.json" 2>&1 &
	p1=$!
	ip netns exec "$(bw_netns_of x/c2)" taskset -c 1 \
		iperf3 -u -c $SRV -p 5202 -l 64 -b "$bps" -t "$DUR" -J >"$BW_TMP/u2.json" 2>&1 &
	p2=$!
	wait $p1 $p2
	t1=$(bench_now_ns)
	cpu1=$(bench_pid_cpu_ticks "$BW_DAEMON_PID")
	sleep 2.5 # the daemon drains the ring; the lost counter is read once a second
	cpu2=$(bench_pid_cpu_ticks "$BW_DAEMON_PID")
	read -r ev1 lost1 < <(status_flows)
	read -r ls1 lk1 ll1 < <(lua_flows)
	pk1=$(veth_packets)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	produced=$((pk1 - pk0))
	received=$((ev1 - ev0))
	lost=$((lost1 - lost0))
	bench_sample "$mode" "$rate" seconds "$secs"
	bench_sample "$mode" "$rate" produced $produced
	bench_sample "$mode" "$rate" received $received
	bench_sample "$mode" "$rate" lost $lost
	bench_sample "$mode" "$rate" unaccounted $((produced - received - lost))
	bench_sample "$mode" "$rate" cpu_ticks_run $((cpu1 - cpu0))
	bench_sample "$mode" "$rate" cpu_ticks_total $((cpu2 - cpu0))
	bench_sample "$mode" "$rate" hz "$HZ"
	bench_sample "$mode" "$rate" lua_seen $((ls1 - ls0))
	bench_sample "$mode" "$rate" lua_skipped $((lk1 - lk0))
	bench_sample "$mode" "$rate" lua_late $((ll1 - ll0))
	for f in u1 u2; do
		python3 -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    print(d["end"]["sum"]["packets"])
except Exception:
    print(0)' "$BW_TMP/$f.json" >>"$BW_TMP/sent-$rate"
	done
	bench_sample "$mode" "$rate" udp_sent "$(awk '{ s += $1 } END { print s + 0 }' "$BW_TMP/sent-$rate")"
	rm -f "$BW_TMP/sent-$rate"
	bw_log "$mode: target $rate ev/s: produced $produced received $received lost $lost in $secs s, cpu $((cpu2 - cpu0)) ticks, lua seen $((ls1 - ls0)) skipped $((lk1 - lk0)) late $((ll1 - ll0))"
done
}
run_rates events "$RATES"

# ---- part C: the same with a trivial on_flow --------------------------------------

mkdir -p "$BW_TMP/lua"
printf 'function on_flow(flow) end\n' >"$BW_TMP/lua/trivial.lua"
bw_restart_daemon -o flows.monitor_aggregation=none -o "lua.dir=$BW_TMP/lua" >/dev/null
bw_wait_for 10 sh -c "'$BULWARK' -s '$BW_SOCK' lua list | grep -q 'trivial .*active'" ||
	bw_die "the Lua script did not load"
run_rates lua "$LUA_RATES"

# ---- part B -------------------------------------------------------------------

rm -f "$BW_TMP/lua/trivial.lua"
bw_restart_daemon -o flows.monitor_aggregation=medium >/dev/null # the default aggregation
cat >"$BW_TMP/allow.yaml" <<'EOF'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: allow-c1
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      app: srv
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: client
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
EOF
bw policy import "$BW_TMP/allow.yaml" >/dev/null || bw_die "policy import"
[ "$(timeout 3 ip netns exec "$(bw_netns_of x/c1)" curl -s -m 1 "http://$SRV/")" = ok ] ||
	bw_die "x/c1 cannot reach nginx with the policy in place"
REG=1
ep_set() { # 0|1
	local p
	if [ "$1" = 0 ] && [ $REG = 1 ]; then
		for p in x/srv x/c1 x/c2; do bw endpoint delete $p >/dev/null || bw_die "delete $p"; done
		REG=0
	elif [ "$1" = 1 ] && [ $REG = 0 ]; then
		bw_pod_register x/srv app=srv >/dev/null || bw_die "register x/srv"
		bw_pod_register x/c1 app=client >/dev/null || bw_die "register x/c1"
		bw_pod_register x/c2 app=client2 >/dev/null || bw_die "register x/c2"
		REG=1
	fi
}
EVENTS=true
events_set() { # true|false: the three [flows] switches, by SIGHUP
	local n
	[ "$1" = "$EVENTS" ] && return 0
	sed -i -e "s/^trace_events = .*/trace_events = $1/" \
		-e "s/^drop_events = .*/drop_events = $1/" \
		-e "s/^policy_verdict_events = .*/policy_verdict_events = $1/" "$BW_CONF"
	n=$(grep -c 'datapath events:' "$BW_DAEMON_LOG")
	kill -HUP "$BW_DAEMON_PID"
	bw_wait_for 5 sh -c "[ \$(grep -c 'datapath events:' '$BW_DAEMON_LOG') -gt $n ]" ||
		bw_die "SIGHUP did not switch the events to $1"
	EVENTS=$1
}
daemon_up() {
	if ! bw_daemon_alive; then
		bw_start_daemon -o flows.monitor_aggregation=medium >/dev/null
		EVENTS=$(sed -n 's/^trace_events = //p' "$BW_CONF")
	fi
}
crr() { # MODE
	local r
	r=$(bench_wrk_close x/c1 "http://$SRV/" "$CDUR" $CONNS 0)
	[ -n "$r" ] && bench_sample "$1" 0 conn_per_s "${r% *}"
	bw_log "$1: ${r:-?} conn/s (errors)"
}
for r in $(seq "$REPS"); do
	for j in 0 1 2 3; do
		m=$(echo bare on off stopped | cut -d' ' -f$(((j + r - 1) % 4 + 1)))
		case $m in
		bare)
			daemon_up
			ep_set 0
			crr bare
			;;
		on)
			daemon_up
			events_set true
			ep_set 1
			read -r ev0 lost0 < <(status_flows)
			cpu0=$(bench_pid_cpu_ticks "$BW_DAEMON_PID")
			t0=$(bench_now_ns)
			crr on
			t1=$(bench_now_ns)
			cpu1=$(bench_pid_cpu_ticks "$BW_DAEMON_PID")
			sleep 1.5
			read -r ev1 lost1 < <(status_flows)
			bench_sample on 0 events $((ev1 - ev0))
			bench_sample on 0 lost $((lost1 - lost0))
			bench_sample on 0 cpu_ticks $((cpu1 - cpu0))
			bench_sample on 0 hz "$HZ"
			bench_sample on 0 seconds "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
			;;
		off)
			daemon_up
			events_set false
			ep_set 1
			cpu0=$(bench_pid_cpu_ticks "$BW_DAEMON_PID")
			t0=$(bench_now_ns)
			crr off
			t1=$(bench_now_ns)
			cpu1=$(bench_pid_cpu_ticks "$BW_DAEMON_PID")
			bench_sample off 0 cpu_ticks $((cpu1 - cpu0))
			bench_sample off 0 hz "$HZ"
			bench_sample off 0 seconds "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
			events_set true
			;;
		stopped)
			daemon_up
			events_set true
			ep_set 1
			bw_stop_daemon >/dev/null
			# fill the ring buffer first: afterwards every reserve fails
			bench_wrk_close x/c1 "http://$SRV/" 2 $CONNS 0 >/dev/null
			crr stopped
			daemon_up
			;;
		esac
	done
done
daemon_up
T_END=$(bench_now_ns)

# ---- report -------------------------------------------------------------------

OUT=$BENCH_RESULTS_DIR/$BENCH_NAME-$BENCH_DATE
python3 - "$BENCH_SAMPLES" "$OUT" "$MACHINE" "$REPS" "$DUR" "$CDUR" "$CONNS" \
	"$(((T_END - T_START) / 1000000000))" <<'EOF'
import json, statistics, sys
samples, out, machine, reps, dur, cdur, conns, secs = sys.argv[1:9]
data = {}
for line in open(samples):
    mode, n, metric, value = line.rstrip("\n").split("\t")
    data.setdefault((mode, int(n)), {}).setdefault(metric, []).append(float(value))
res = {"benchmark": "flows", "machine": json.loads(machine), "repetitions": int(reps),
       "udp_duration_s": int(dur), "crr_duration_s": int(cdur), "wrk_connections": int(conns),
       "wall_time_s": int(secs), "event_rate": [], "crr": {}}
L = []
L.append("Flow pipeline, part A: monitor_aggregation=none, 64-byte UDP from 2 pods (%s s per rate)" % dur)
L.append("%10s %10s %10s %10s %8s %8s %12s %10s %9s" % ("target/s", "produced", "received", "lost",
         "unacct", "loss %", "received/s", "cpu core", "cpu total"))
for (mode, rate), d in sorted(data.items(), key=lambda x: x[0][1]):
    if mode != "events":
        continue
    g = lambda k: d[k][0]
    s = g("seconds")
    row = {"target_events_per_s": rate, "seconds": s, "produced": int(g("produced")),
           "received": int(g("received")), "lost": int(g("lost")),
           "unaccounted": int(g("unaccounted")), "udp_datagrams_sent": int(g("udp_sent")),
           "received_per_s": g("received") / s,
           "daemon_cpu_cores_during_run": g("cpu_ticks_run") / g("hz") / s,
           "daemon_cpu_cores_incl_drain": g("cpu_ticks_total") / g("hz") / s}
    row["loss_pct"] = 100.0 * row["lost"] / row["produced"] if row["produced"] else 0
    res["event_rate"].append(row)
    L.append("%10d %10d %10d %10d %8d %8.2f %12.0f %10.2f %9.2f" % (rate, row["produced"], row["received"],
             row["lost"], row["unaccounted"], row["loss_pct"], row["received_per_s"],
             row["daemon_cpu_cores_during_run"], row["daemon_cpu_cores_incl_drain"]))
L.append("(cpu core: bulwarkd utime+stime during the run / run length; cpu total: including the")
L.append(" 2.5 s drain after it, over the run length)")
L.append("")
res["lua_event_rate"] = []
L.append("Part C: the same with a trivial Lua on_flow loaded (flows wait for the bw-lua thread)")
L.append("%10s %10s %10s %10s %8s %10s %10s %8s %10s" % ("target/s", "produced", "received", "lost",
         "unacct", "lua seen", "skipped", "late", "cpu core"))
for (mode, rate), d in sorted(data.items(), key=lambda x: x[0][1]):
    if mode != "lua":
        continue
    g = lambda k: d[k][0]
    s = g("seconds")
    row = {"target_events_per_s": rate, "seconds": s, "produced": int(g("produced")),
           "received": int(g("received")), "lost": int(g("lost")),
           "unaccounted": int(g("unaccounted")), "lua_seen": int(g("lua_seen")),
           "lua_skipped": int(g("lua_skipped")), "lua_late": int(g("lua_late")),
           "daemon_cpu_cores_during_run": g("cpu_ticks_run") / g("hz") / s}
    res["lua_event_rate"].append(row)
    L.append("%10d %10d %10d %10d %8d %10d %10d %8d %10.2f" % (rate, row["produced"], row["received"],
             row["lost"], row["unaccounted"], row["lua_seen"], row["lua_skipped"],
             row["lua_late"], row["daemon_cpu_cores_during_run"]))
L.append("(cpu core: bulwarkd, both threads, during the run / run length)")
L.append("")
L.append("Part B: wrk Connection: close, %s conns, %s s runs, medians of %s; ratio per repetition vs 'off'" % (conns, cdur, reps))
L.append("(off: daemon running, [flows] trace/drop/policy_verdict_events false; stopped: daemon stopped, ring full)")
def rs(m):
    return data.get((m, 0), {}).get("conn_per_s", [])
L.append("%-6s %10s %10s %14s" % ("mode", "conn/s", "vs off", "vs bare"))
for m in ("bare", "on", "off", "stopped"):
    v = rs(m)
    if not v:
        continue
    voff = [a / b for a, b in zip(v, rs("off")) if b]
    vbare = [a / b for a, b in zip(v, rs("bare")) if b]
    res["crr"][m] = {"conn_per_s": v, "median": statistics.median(v),
                     "ratio_vs_off": statistics.median(voff) if voff else None,
                     "ratio_vs_bare": statistics.median(vbare) if vbare else None}
    L.append("%-6s %10.0f %10s %14s" % (m, statistics.median(v),
             "%.3f" % res["crr"][m]["ratio_vs_off"] if voff else "-",
             "%.3f" % res["crr"][m]["ratio_vs_bare"] if vbare else "-"))
on = data.get(("on", 0), {})
if on.get("events"):
    ev = [a / b for a, b in zip(on["events"], on["seconds"])]
    cpu = [a / h / b for a, b, h in zip(on["cpu_ticks"], on["seconds"], on["hz"])]
    res["crr"]["on"]["events_per_s"] = ev
    res["crr"]["on"]["lost"] = on["lost"]
    res["crr"]["on"]["daemon_cpu_cores"] = cpu
    conns_made = [c * s for c, s in zip(rs("on"), on["seconds"])]
    epc = [e / c for e, c in zip(on["events"], conns_made) if c]
    res["crr"]["on"]["events_per_connection"] = epc
    L.append("on: %.0f events/s (median), %.1f events per connection, lost %d, daemon CPU %.2f core" % (
        statistics.median(ev), statistics.median(epc) if epc else 0, sum(on["lost"]),
        statistics.median(cpu)))
off = data.get(("off", 0), {})
if off.get("cpu_ticks"):
    cpu = [a / h / b for a, b, h in zip(off["cpu_ticks"], off["seconds"], off["hz"])]
    res["crr"]["off"]["daemon_cpu_cores"] = cpu
    L.append("off: daemon CPU %.2f core" % statistics.median(cpu))
L.append("")
L.append("machine: %s; wall time %s s" % (json.dumps(res["machine"]), secs))
text = "\n".join(L)
print(text)
open(out + ".txt", "w").write(text + "\n")
json.dump(res, open(out + ".json", "w"), indent=1)
print("figures written to %s.json and %s.txt" % (out, out))
EOF
