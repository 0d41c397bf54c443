#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/bench/bench_demux.sh - what TCP early demux off costs in bulwarkd's
# network namespace (daemon.early_demux, docs/redirect.md "TIME_WAIT and
# early demux"; docs/benchmarks.md, benchmark 10).
#
# Early demux finds a received packet's socket before the routing decision
# and takes the route cached on the socket; off, every packet for a local
# socket that arrives on an interface takes a route lookup (through the
# policy-routing rules, bulwarkd's own among them). What pays it is the
# traffic that ends in the node's network namespace: the proxies' sockets,
# and the node's own services. Forwarded pod traffic is not affected.
#
# Topology (tests/e2e/lib.sh): bulwarkd in the node netns with
# daemon.early_demux = keep (the benchmark sets the sysctl itself, in the
# node netns only), pods x/srv (nginx, CPU 1) and x/cli (wrk, CPU 0), and
# an nginx in the node netns on 10.0.0.1:8080 (CPU 1). Modes, interleaved,
# each with tcp_early_demux on and off:
#   node-*   wrk keep-alive from x/cli to the node's nginx: every request
#            and ACK is received by a local socket
#   l7-*     wrk keep-alive from x/cli to x/srv:80 through bulwarkd's L7
#            proxy (rules.http): the proxy's sockets receive both sides
# Figures: requests/s and the CPU time of everything pinned to CPU 1
# (nginx(es), bulwarkd) per request; the ratio off/on.
#
# Usage: bench_demux.sh [--quick] [--reps R] [--duration S] [--conns C]
# Writes tests/bench/results/demux-DATE.{json,txt} in the build tree.

set -u
BENCH_NAME=demux
REPS=5
DUR=5
CONNS=16

while [ $# -gt 0 ]; do
	case $1 in
	--quick) REPS=2; DUR=2 ;;
	--reps) REPS=$2; shift ;;
	--duration) DUR=$2; shift ;;
	--conns) CONNS=$2; shift ;;
	-h | --help) sed -n '3,28p' "$0"; exit 0 ;;
	*) echo "bench_demux.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

bench_init
BW_CONF=$BW_TMP/bulwark.conf
printf '[daemon]\nmodules = identity-local netpol-cilium http\n' >"$BW_CONF"
bw_start_daemon -o daemon.early_demux=keep -o flows.capacity=16
taskset -a -p -c 1 "$BW_DAEMON_PID" >/dev/null
bw_pod_add x srv 10.1.0.1 app=web >/dev/null
bw_pod_add x cli 10.1.0.2 app=client >/dev/null
bench_pod_quiet x/srv
bench_pod_quiet x/cli
bench_nginx x/srv 10.1.0.1 1
NODE_IP=$(bw_ip_of node)

# the node's own service: a second nginx in the node netns
NN=$BW_TMP/nginx-node
mkdir -p "$NN"
sed -e "s|$BW_TMP/nginx|$NN|g" -e "s|listen 10.1.0.1:80|listen $NODE_IP:8080|" \
	"$BW_TMP/nginx/nginx.conf" >"$NN/nginx.conf"
bw_bg "$BW_NODE" taskset -c 1 nginx -p "$NN" -c "$NN/nginx.conf"
bw_wait_listen "$BW_NODE" tcp 8080

bw_policy_import_text bench-l7 >/dev/null <<'YAML' || bw_die "policy import failed"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: bench-l7, namespace: x}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http: [{method: GET, path: "/.*"}]
YAML
accepted() {
	bw_nsx "$BW_NODE" curl -s --unix-socket "$BW_SOCK" http://x/v1/proxy |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["accepted"])'
}
a0=$(accepted)
code=$(bw_nsx "$(bw_netns_of x/cli)" curl -s -o /dev/null -w '%{http_code}' http://10.1.0.1/x)
[ "$code" = 200 ] && [ "$(accepted)" -gt "$a0" ] || bw_die "the L7 proxy does not answer ($code)"

# cpu_ticks : everything pinned to CPU 1 (both nginx, bulwarkd)
cpu_ticks() {
	local t=0 p
	for p in $(ip netns pids "$(bw_netns_of x/srv)") $(ip netns pids "$BW_NODE"); do
		[ -r "/proc/$p/stat" ] && t=$((t + $(bench_pid_cpu_ticks "$p")))
	done
	echo "$t"
}

run() { # run MODE DEMUX(0|1)
	local url out=$BW_TMP/wrk.out c0 c1
	case $1 in
	node) url="http://$NODE_IP:8080/x" ;;
	l7) url="http://10.1.0.1/x" ;;
	esac
	nodex sysctl -qw net.ipv4.tcp_early_demux="$2"
	c0=$(cpu_ticks)
	bw_nsx "$(bw_netns_of x/cli)" taskset -c 0 wrk -t 2 -c "$CONNS" -d "${DUR}s" "$url" \
		>"$out" 2>&1 || { cat "$out"; bw_die "wrk failed ($1)"; }
	c1=$(cpu_ticks)
	python3 - "$out" "$1-$([ "$2" = 1 ] && echo on || echo off)" "$BENCH_SAMPLES" \
		"$((c1 - c0))" "$(getconf CLK_TCK)" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = re.search(r"Requests/sec:\s+([0-9.]+)", text)
n = re.search(r"^\s*(\d+) requests in", text, re.M)
if not rps or not n or re.search(r"Socket errors|Non-2xx", text):
    sys.exit("wrk failed or saw errors:\n" + text)
with open(sys.argv[3], "a") as f:
    f.write("%s\t0\trps\t%s\n" % (sys.argv[2], rps.group(1)))
    f.write("%s\t0\tcpu_us_per_req\t%.3f\n" % (sys.argv[2],
            int(sys.argv[4]) * 1e6 / int(sys.argv[5]) / int(n.group(1))))
PY
}

for rep in $(seq "$REPS"); do
	for m in node l7; do
		# alternate which setting goes first
		if [ $((rep % 2)) = 0 ]; then
			run "$m" 1
			run "$m" 0
		else
			run "$m" 0
			run "$m" 1
		fi
		bw_log "rep $rep: $m done"
	done
done
nodex sysctl -qw net.ipv4.tcp_early_demux=1

OUT=$BENCH_RESULTS_DIR/$BENCH_NAME-$BENCH_DATE
python3 - "$BENCH_SAMPLES" "$OUT" "$(bench_machine_json)" "$REPS" "$DUR" "$CONNS" <<'PY'
import json, statistics, sys
samples, out, machine = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
reps, dur, conns = (int(x) for x in sys.argv[4:7])
data = {}
for line in open(samples):
    mode, _, metric, value = line.rstrip("\n").split("\t")
    data.setdefault((mode, metric), []).append(float(value))
med = lambda m, k: statistics.median(data[(m, k)])
res = {"machine": machine, "reps": reps, "duration_s": dur, "connections": conns, "runs": {}}
lines = ["TCP early demux in bulwarkd's netns: wrk -t2 -c%d keep-alive, %d s x %d; median of runs" % (conns, dur, reps),
         "%-8s %-5s %12s %14s %12s %12s" % ("traffic", "demux", "requests/s", "CPU us/req", "rps off/on", "CPU off/on")]
for m, what in (("node", "node"), ("l7", "l7")):
    for st in ("on", "off"):
        k = "%s-%s" % (m, st)
        res["runs"][k] = {"rps": med(k, "rps"), "cpu_us_per_req": med(k, "cpu_us_per_req"),
                          "rps_samples": data[(k, "rps")], "cpu_samples": data[(k, "cpu_us_per_req")]}
    on, off = "%s-on" % m, "%s-off" % m
    res["runs"][m + "-ratio"] = {"rps": med(off, "rps") / med(on, "rps"),
                                 "cpu": med(off, "cpu_us_per_req") / med(on, "cpu_us_per_req")}
    for st in ("on", "off"):
        k = "%s-%s" % (m, st)
        lines.append("%-8s %-5s %12.0f %14.2f %12s %12s" % (
            what, st, med(k, "rps"), med(k, "cpu_us_per_req"),
            "%.3fx" % res["runs"][m + "-ratio"]["rps"] if st == "off" else "",
            "%.3fx" % res["runs"][m + "-ratio"]["cpu"] if st == "off" else ""))
text = "\n".join(lines) + "\n"
open(out + ".txt", "w").write(text)
json.dump(res, open(out + ".json", "w"), indent=1)
print(text, end="")
print("written: %s.{txt,json}" % out)
PY
exit 0
