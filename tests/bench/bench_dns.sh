#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/bench/bench_dns.sh - the DNS proxy against dnsdist and against no
# proxy at all, in one run (docs/benchmarks.md, docs/fqdn.md).
#
# Topology (tests/e2e/lib.sh, tests/e2e/fqdn_lib.sh): a node netns running
# bulwarkd; an external host 192.0.2.53 running unbound (authoritative for
# example., one thread); three pods on the node, each running dnsperf:
#   direct    x/direct 10.1.0.1: no policy, queries 192.0.2.53 (the node
#             forwards; bulwark's programs are attached, nothing enforced)
#   dnsdist   x/relay 10.1.0.2: no policy, queries dnsdist listening on the
#             node (10.0.0.1:53), which forwards to 192.0.2.53: a proxy in
#             the same place on the path, without transparency or policy
#   bulwark   x/proxied 10.1.0.3: a CiliumNetworkPolicy with DNS rules on
#             192.0.2.53:53 (matchPattern "*.example") and toFQDNs
#             *.fresh.example: its queries to 192.0.2.53 go through the
#             transparent proxy, which checks the rules, forwards, learns
# Per repetition and mode (rotating the order):
#   qps       dnsperf -c 20 -q 200 for DURATION seconds, names a.example
#             .. z.example (the answer in unbound's cache-free auth zone)
#   latency   dnsperf -v -Q 200 for 3 s: each query's latency; the median
#             and the 99th percentile
# Then, bulwark only:
#   learning  dnsperf -Q 1000 for DURATION s of AAAA queries for distinct
#             names nNNNNN.fresh.example, each answered with a fresh
#             address (2001:db8::/96): every answer is an address the
#             datapath must allow before the answer is released. The
#             delay from the answer's arrival at the proxy to the datapath
#             allowing it is bulwark_fqdn_datapath_update_seconds: its
#             p50/p99 (histogram bucket bounds) over the run
#   first     FIRST times: resolve cN.conn.example (a fresh IPv4 address)
#             and connect to it at once, no retry; count failures and the
#             DROPPED flows towards those addresses (both must be 0)
# bulwarkd's and dnsdist's CPU are sampled during the qps runs.
#
# Usage: bench_dns.sh [--quick] [--reps R] [--duration S] [--first N]
# Writes tests/bench/results/dns-DATE.{json,txt} in the build tree.
# Environment: BENCH_DAEMON_OPTS extra bulwarkd options (e.g.
# "-o dnsproxy.flows=false"); BENCH_PERF=FILE records bulwarkd with perf
# during its qps runs (BENCH_PERF_CG: perf call graph options, default -g).

set -u
BENCH_NAME=dns
REPS=3
DUR=5
FIRST=200
while [ $# -gt 0 ]; do
	case $1 in
	--quick) REPS=1; DUR=3; FIRST=50 ;;
	--reps) REPS=$2; shift ;;
	--duration) DUR=$2; shift ;;
	--first) FIRST=$2; shift ;;
	-h | --help) sed -n '3,40p' "$0"; exit 0 ;;
	*) echo "bench_dns.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

. "$(dirname "$0")/lib.sh"
. "$abs_top_srcdir/tests/e2e/fqdn_lib.sh"

bench_dns_init() {
	bw_init
	trap bench_cleanup EXIT
	mkdir -p "$BENCH_RESULTS_DIR" || bw_die "cannot create $BENCH_RESULTS_DIR"
	BENCH_SAMPLES=$BW_TMP/samples.tsv
	: >"$BENCH_SAMPLES"
	bw_require_tool dnsperf dnsperf
	bw_require_tool dnsdist dnsdist
	bw_require_tool curl curl
	fqdn_require
}
bench_dns_init

NAMES=$(printf '%s\n' a b c d e f g h i j k l m n o p q r s t u v w x y z)
ZONE=""
for n in $NAMES; do
	ZONE+="$n IN A 192.0.2.$((10 + $(printf '%d' "'$n") - 97))"$'\n'
done
NFRESH=$((1000 * DUR + 2000))
for i in $(seq 1 "$NFRESH"); do
	ZONE+="n$i.fresh IN AAAA 2001:db8::$(printf '%x:%x' $((i >> 16)) $((i & 0xffff)))"$'\n'
done
for i in $(seq 1 "$FIRST"); do
	ZONE+="c$i.conn IN A 203.0.113.$(((i - 1) % 250 + 1))"$'\n'
done

PROM=9962
bw_start_daemon -o "prometheus.listen=127.0.0.1:$PROM" ${BENCH_DAEMON_OPTS:-}
fqdn_dns_start "$ZONE"
fqdn_web_start 203.0.113.1
for i in $(seq 2 250); do
	[ "$i" -le "$FIRST" ] && fqdn_web_addr "203.0.113.$i"
done

bw namespace set x || bw_die "namespace set x"
bw_pod_add x direct 10.1.0.1 app=direct || bw_die "pod direct"
bw_pod_add x relay 10.1.0.2 app=relay || bw_die "pod relay"
bw_pod_add x proxied 10.1.0.3 app=proxied || bw_die "pod proxied"
bw_policy_import_text dnsbench <<'EOF' || bw_die "policy import"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: proxied-dns, namespace: x}
spec:
  endpointSelector: {matchLabels: {app: proxied}}
  egress:
  - toCIDR: [192.0.2.53/32]
    toPorts:
    - ports: [{port: "53", protocol: ANY}]
      rules: {dns: [{matchPattern: "*.example"}, {matchPattern: "**.example"}]}
  - toFQDNs: [{matchPattern: "*.fresh.example"}, {matchPattern: "*.conn.example"}]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
EOF

# dnsdist on the node, forwarding to unbound
cat >"$BW_TMP/dnsdist.conf" <<EOF
setLocal("$BW_NODE_IP4:53")
newServer({address="$BW_DNS_IP:53", checkName="a.example."})
setSecurityPollSuffix("")
EOF
bw_bg "$BW_NODE" dnsdist --supervised --disable-syslog -C "$BW_TMP/dnsdist.conf"
bw_wait_listen "$BW_NODE" udp 53
DNSDIST_PID=$(ip netns pids "$BW_NODE" | while read -r p; do
	[ "$(cat "/proc/$p/comm" 2>/dev/null)" = dnsdist ] && echo "$p"; done | head -n 1)

QUERIES=$BW_TMP/queries
for n in $NAMES; do printf '%s.example A\n' "$n"; done >"$QUERIES"
FRESHQ=$BW_TMP/fresh
for i in $(seq 1 "$NFRESH"); do printf 'n%d.fresh.example AAAA\n' "$i"; done >"$FRESHQ"

cpu_ticks() { # PID: utime+stime
	awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}
sys_ticks() { # PID: stime
	awk '{print $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}

mode_pod() {
	case $1 in
	direct) echo x/direct ;;
	dnsdist) echo x/relay ;;
	bulwark) echo x/proxied ;;
	esac
}
mode_server() {
	[ "$1" = dnsdist ] && echo "$BW_NODE_IP4" || echo "$BW_DNS_IP"
}

run_qps() { # MODE REP
	local m=$1 r=$2 ns out qps lost c0 d0 c1 d1 s0 s1 e0 e1
	ns=$(bw_netns_of "$(mode_pod "$m")")
	c0=$(cpu_ticks "$BW_DAEMON_PID")
	s0=$(sys_ticks "$BW_DAEMON_PID")
	d0=$(cpu_ticks "${DNSDIST_PID:-0}")
	e0=$(sys_ticks "${DNSDIST_PID:-0}")
	local pp=""
	if [ "$m" = bulwark ] && [ -n "${BENCH_PERF:-}" ]; then
		perf record -F 999 ${BENCH_PERF_CG:--g} -p "$BW_DAEMON_PID" -o "$BENCH_PERF" -- sleep "$DUR" >/dev/null 2>&1 &
		pp=$!
	fi
	out=$(ip netns exec "$ns" dnsperf -s "$(mode_server "$m")" -d "$QUERIES" -c 20 \
		-q 200 -l "$DUR" 2>&1)
	[ -z "$pp" ] || wait "$pp"
	c1=$(cpu_ticks "$BW_DAEMON_PID")
	s1=$(sys_ticks "$BW_DAEMON_PID")
	d1=$(cpu_ticks "${DNSDIST_PID:-0}")
	e1=$(sys_ticks "${DNSDIST_PID:-0}")
	qps=$(printf '%s\n' "$out" | awk '/Queries per second:/{print $4}')
	lost=$(printf '%s\n' "$out" | awk '/Queries lost:/{print $3}')
	bench_sample "$m" "$r" qps "${qps:-0}"
	bench_sample "$m" "$r" lost "${lost:-0}"
	bench_sample "$m" "$r" bulwarkd_cpu_pct \
		"$(awk -v a="$c0" -v b="$c1" -v d="$DUR" 'BEGIN{printf "%.1f", (b-a)/d}')"
	bench_sample "$m" "$r" bulwarkd_sys_pct \
		"$(awk -v a="$s0" -v b="$s1" -v d="$DUR" 'BEGIN{printf "%.1f", (b-a)/d}')"
	[ "$m" = dnsdist ] && bench_sample "$m" "$r" dnsdist_cpu_pct \
		"$(awk -v a="$d0" -v b="$d1" -v d="$DUR" 'BEGIN{printf "%.1f", (b-a)/d}')"
	[ "$m" = dnsdist ] && bench_sample "$m" "$r" dnsdist_sys_pct \
		"$(awk -v a="$e0" -v b="$e1" -v d="$DUR" 'BEGIN{printf "%.1f", (b-a)/d}')"
	bw_log "$m rep $r: $qps qps, $lost lost"
}

run_latency() { # MODE REP
	local m=$1 r=$2 ns
	ns=$(bw_netns_of "$(mode_pod "$m")")
	ip netns exec "$ns" dnsperf -s "$(mode_server "$m")" -d "$QUERIES" -Q 200 -l 3 -v \
		2>/dev/null | awk '/^> NOERROR/{print $NF}' >"$BW_TMP/lat-$m-$r"
	python3 - "$BW_TMP/lat-$m-$r" "$m" "$r" "$BENCH_SAMPLES" <<'EOF'
import sys
v = sorted(float(x) for x in open(sys.argv[1]) if x.strip())
if v:
    with open(sys.argv[4], "a") as f:
        f.write("%s\t%s\tlatency_p50_us\t%.1f\n" % (sys.argv[2], sys.argv[3], v[len(v)//2] * 1e6))
        f.write("%s\t%s\tlatency_p99_us\t%.1f\n" % (sys.argv[2], sys.argv[3], v[int(len(v)*0.99)] * 1e6))
EOF
}

for r in $(seq 1 "$REPS"); do
	case $((r % 3)) in
	0) order="direct dnsdist bulwark" ;;
	1) order="dnsdist bulwark direct" ;;
	2) order="bulwark direct dnsdist" ;;
	esac
	for m in $order; do
		run_qps "$m" "$r"
		run_latency "$m" "$r"
	done
done

# ---- learning: fresh addresses at 1000 qps --------------------------------
scrape() {
	bw_nsx "$BW_NODE" curl -s --max-time 10 "http://127.0.0.1:$PROM/metrics"
}
scrape >"$BW_TMP/m0"
ip netns exec "$(bw_netns_of x/proxied)" dnsperf -s "$BW_DNS_IP" -d "$FRESHQ" -Q 1000 \
	-l "$DUR" -n 1 >"$BW_TMP/fresh.out" 2>&1
scrape >"$BW_TMP/m1"
python3 - "$BW_TMP/m0" "$BW_TMP/m1" "$BENCH_SAMPLES" <<'EOF'
import re, sys
def hist(path):
    b = {}
    for l in open(path):
        m = re.match(r'bulwark_fqdn_datapath_update_seconds_bucket\{[^}]*le="([^"]+)"\} (\d+)', l)
        if m:
            b[m.group(1)] = int(m.group(2))
    return b
h0, h1 = hist(sys.argv[1]), hist(sys.argv[2])
keys = sorted(h1, key=lambda k: float("inf") if k == "+Inf" else float(k))
d = [(k, h1[k] - h0.get(k, 0)) for k in keys]
total = d[-1][1] if d else 0
def q(p):
    for k, c in d:
        if total and c >= p * total:
            return k
    return "n/a"
with open(sys.argv[3], "a") as f:
    f.write("bulwark\t1\tfresh_answers\t%d\n" % total)
    f.write("bulwark\t1\tupdate_p50_le_s\t%s\n" % q(0.5))
    f.write("bulwark\t1\tupdate_p99_le_s\t%s\n" % q(0.99))
EOF

# ---- first connections -----------------------------------------------------------
fail=0
drops0=$(bw observe --all -o json --verdict DROPPED --from-pod x/proxied 2>/dev/null | grep -c .)
for i in $(seq 1 "$FIRST"); do
	ip=203.0.113.$(((i - 1) % 250 + 1))
	[ "$(fqdn_status x/proxied "c$i.conn.example")" = NOERROR ] || { fail=$((fail + 1)); continue; }
	bw_probe_tcp x/proxied "$ip" 80 3 || fail=$((fail + 1))
	bw fqdn cache clean "c$i.conn.example" >/dev/null 2>&1
done
drops1=$(bw observe --all -o json --verdict DROPPED --from-pod x/proxied 2>/dev/null | grep -c .)
bench_sample bulwark 1 first_connections "$FIRST"
bench_sample bulwark 1 first_connection_failures "$fail"
bench_sample bulwark 1 first_connection_drops "$((drops1 - drops0))"

# ---- report -----------------------------------------------------------------------
python3 - "$BENCH_SAMPLES" "$BENCH_RESULTS_DIR/$BENCH_NAME-$BENCH_DATE" "$REPS" "$DUR" <<'EOF'
import json, statistics, sys
samples, base, reps, dur = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
data = {}
for line in open(samples):
    m, r, k, v = line.rstrip("\n").split("\t")
    try:
        v = float(v)
    except ValueError:
        pass
    data.setdefault(m, {}).setdefault(k, []).append(v)
def med(m, k):
    v = data.get(m, {}).get(k, [])
    nums = [x for x in v if isinstance(x, float)]
    return statistics.median(nums) if nums else (v[0] if v else None)
out = {"reps": int(reps), "duration_s": int(dur), "modes": {}}
rows = []
for m in ("direct", "dnsdist", "bulwark"):
    out["modes"][m] = {k: med(m, k) for k in data.get(m, {})}
q = {m: med(m, "qps") or 0 for m in ("direct", "dnsdist", "bulwark")}
p50 = {m: med(m, "latency_p50_us") or 0 for m in q}
out["ratios"] = {
    "bulwark_vs_dnsdist_qps": q["bulwark"] / q["dnsdist"] if q["dnsdist"] else None,
    "bulwark_vs_direct_qps": q["bulwark"] / q["direct"] if q["direct"] else None,
    "added_median_latency_us": p50["bulwark"] - p50["direct"],
    "dnsdist_added_median_latency_us": p50["dnsdist"] - p50["direct"],
}
json.dump(out, open(base + ".json", "w"), indent=1)
lines = ["mode      qps (median)  lost  p50 latency us  p99 latency us  proxy cpu % (sys)  proxy cpu us/query",
         "--------  ------------  ----  --------------  --------------  -----------------  ------------------"]
for m in ("direct", "dnsdist", "bulwark"):
    d = out["modes"].get(m, {})
    who = {"dnsdist": "dnsdist", "bulwark": "bulwarkd"}.get(m)
    cpu = d.get(who + "_cpu_pct") if who else None
    sysp = d.get(who + "_sys_pct") if who else None
    per = "%.1f" % (cpu * 1e4 / d["qps"]) if cpu is not None and d.get("qps") else "-"
    lines.append("%-8s  %12.0f  %4.0f  %14.1f  %14.1f  %17s  %18s" % (
        m, d.get("qps") or 0, d.get("lost") or 0, d.get("latency_p50_us") or 0,
        d.get("latency_p99_us") or 0,
        "%.1f (%.1f)" % (cpu, sysp or 0) if cpu is not None else "-", per))
r = out["ratios"]
lines.append("")
lines.append("bulwark / dnsdist qps: %.2f   bulwark / direct qps: %.2f   added median latency: %.0f us (dnsdist: %.0f us)" % (
    r["bulwark_vs_dnsdist_qps"] or 0, r["bulwark_vs_direct_qps"] or 0,
    r["added_median_latency_us"], r["dnsdist_added_median_latency_us"]))
b = out["modes"].get("bulwark", {})
lines.append("fresh addresses at 1000 qps: %s answers, answer -> datapath p50 <= %s s, p99 <= %s s" % (
    b.get("fresh_answers"), b.get("update_p50_le_s"), b.get("update_p99_le_s")))
lines.append("first connections right after the answer: %s, failed %s, dropped packets %s" % (
    b.get("first_connections"), b.get("first_connection_failures"), b.get("first_connection_drops")))
open(base + ".txt", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
print("figures: %s.{json,txt}" % base)
EOF
bw_finish_bench=1
exit 0
