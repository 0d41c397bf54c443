#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/bench/bench_kafka.sh - Kafka produce through bulwark's L7 proxy with
# an allow rule against the same produce with no proxy, in one run,
# interleaved (docs/benchmarks.md, "Kafka produce"; the issue's target:
# at least 0.7x the direct messages per second at 1 KiB messages).
#
# Topology (tests/e2e/lib.sh, bulwarkd with the kafka module): pods
# x/broker 10.1.0.1 (librdkafka's mock cluster, tests/e2e/kafka_mock, and a
# socat relay 10.1.0.1:9092 -> the mock's loopback port; CPU 1) and x/cli
# 10.1.0.2 (tests/bench/kafka_produce, librdkafka as kcat uses it; CPU 0;
# its connections all go to 10.1.0.1:9092). Modes, in turn within each
# repetition:
#   direct   no policy on x/broker: the producer's bytes go pod -> node ->
#            pod, no proxy
#   proxy    rules.kafka [{role: produce, topic: bench}] on x/broker:9092:
#            the datapath redirects the connection to bulwarkd's proxy,
#            which checks every Produce and Metadata request and passes it
# For each: COUNT messages of SIZE bytes as fast as librdkafka produces
# them (acks=1, batching as configured by default): messages/s and the
# latency from produce() to the delivery report (p50, p99); and SYNC
# messages one at a time (produce, wait for the answer): the round trip.
#
# Usage: bench_kafka.sh [--quick] [--reps R] [--count N] [--size S] [--sync N]
#                       [--buffer SIZE]
# --quick: 1 repetition, 100,000 messages, 500 one at a time.
# --buffer: the engine's [proxy] buffer_size (default: its default, 16k).
# Writes tests/bench/results/kafka-DATE.{json,txt} in the build tree.

set -u
BENCH_NAME=kafka
REPS=3
COUNT=500000
SIZE=1024
SYNC=2000
BUFFER=

while [ $# -gt 0 ]; do
	case $1 in
	--quick) REPS=1; COUNT=100000; SYNC=500 ;;
	--reps) REPS=$2; shift ;;
	--count) COUNT=$2; shift ;;
	--size) SIZE=$2; shift ;;
	--sync) SYNC=$2; shift ;;
	--buffer) BUFFER=$2; shift ;;
	-h | --help) sed -n '3,29p' "$0"; exit 0 ;;
	*) echo "bench_kafka.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

bench_init
MOCK=$abs_top_builddir/tests/e2e/kafka_mock
PRODUCER=$abs_top_builddir/tests/bench/kafka_produce
[ -x "$MOCK" ] && [ -x "$PRODUCER" ] ||
	bw_skip "tests/e2e/kafka_mock or tests/bench/kafka_produce not built (librdkafka-dev)"
BW_CONF=$BW_TMP/bulwark.conf
printf '[daemon]\nmodules = identity-local netpol-k8s netpol-cilium kafka\n' >"$BW_CONF"
if [ -n "$BUFFER" ]; then
	bw_start_daemon -o "proxy.buffer_size=$BUFFER"
else
	bw_start_daemon
fi
# the policy is added and removed between runs: a new connection whose
# tuple matches a TIME_WAIT socket of a proxied one must not be caught by
# TCP early demux in the node (STATUS-l7.md, tests/bench/bench_l7.sh)
nodex sysctl -qw net.ipv4.tcp_early_demux=0
bw_pod_add x broker 10.1.0.1 app=kafka
bw_pod_add x cli 10.1.0.2 app=producer
bench_pod_quiet x/broker
bench_pod_quiet x/cli
BROKER_NS=$(bw_netns_of x/broker)
CLI_NS=$(bw_netns_of x/cli)

bw_bg "$BROKER_NS" taskset -c 1 "$MOCK" -t bench:1 -p "$BW_TMP/mock.port"
mock_ready() { test -s "$BW_TMP/mock.port"; }
bw_wait_for 10 mock_ready || bw_die "the mock broker did not start"
BOOT=$(cat "$BW_TMP/mock.port")
bw_bg "$BROKER_NS" taskset -c 1 socat "TCP-LISTEN:9092,bind=10.1.0.1,fork,reuseaddr" "TCP:$BOOT"
bw_wait_listen "$BROKER_NS" tcp 9092

proxy_accepted() {
	bw_nsx "$BW_NODE" curl -s --unix-socket "$BW_SOCK" http://x/v1/proxy |
		python3 -c "import json,sys; print(json.load(sys.stdin)['accepted'])"
}

POLICY=$BW_TMP/kafka-bench.yaml
cat >"$POLICY" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: kafka-bench
  namespace: x
spec:
  endpointSelector:
    matchLabels: {app: kafka}
  ingress:
  - fromEndpoints:
    - matchLabels: {app: producer}
    toPorts:
    - ports: [{port: "9092", protocol: TCP}]
      rules:
        kafka:
        - role: produce
          topic: bench
YAML

# produce MODE REP : one throughput run and one one-at-a-time run.
produce() {
	local mode=$1 out kv
	out=$(ip netns exec "$CLI_NS" taskset -c 0 "$PRODUCER" -b "$BOOT" -c 10.1.0.1:9092 \
		-t bench -n "$COUNT" -s "$SIZE" 2>&1) || bw_die "$mode: producer failed: $out"
	for kv in msgs_per_s mb_per_s p50_us p99_us; do
		bench_sample "$mode" throughput "$kv" "$(printf '%s\n' "$out" | tr ' ' '\n' | sed -n "s/^$kv=//p")"
	done
	out=$(ip netns exec "$CLI_NS" taskset -c 0 "$PRODUCER" -b "$BOOT" -c 10.1.0.1:9092 \
		-t bench -n "$SYNC" -s "$SIZE" -S 2>&1) || bw_die "$mode: producer (sync) failed: $out"
	for kv in msgs_per_s p50_us p99_us; do
		bench_sample "$mode" sync "$kv" "$(printf '%s\n' "$out" | tr ' ' '\n' | sed -n "s/^$kv=//p")"
	done
}

for rep in $(seq "$REPS"); do
	bw_log "repetition $rep of $REPS"
	[ "$(bw_trace_verdict --from x/cli --to x/broker --port 9092)" != REDIRECTED ] ||
		bw_die "direct mode: the connection would still be redirected"
	produce direct "$rep"
	bw policy import "$POLICY" >/dev/null || bw_die "policy import failed"
	[ "$(bw_trace_verdict --from x/cli --to x/broker --port 9092)" = REDIRECTED ] ||
		bw_die "proxy mode: the connection is not redirected"
	before=$(proxy_accepted)
	produce proxy "$rep"
	after=$(proxy_accepted)
	[ "$after" -gt "$before" ] || bw_die "proxy mode: no connection went through the proxy"
	bench_sample proxy conn accepted "$((after - before))"
	bw policy delete x/kafka-bench >/dev/null || bw_die "policy delete failed"
done

# ---- report ----------------------------------------------------------------------------
OUT=$BENCH_RESULTS_DIR/$BENCH_NAME-$BENCH_DATE
python3 - "$BENCH_SAMPLES" "$OUT" "$(bench_machine_json)" "$REPS" "$COUNT" "$SIZE" "$SYNC" \
	"${BUFFER:-16k (default)}" <<'EOF'
import json, statistics, sys
samples, out, machine = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
reps, count, size, sync = (int(x) for x in sys.argv[4:8])
buffer = sys.argv[8]
data = {}
for line in open(samples):
    mode, kind, metric, value = line.rstrip("\n").split("\t")
    data.setdefault((mode, kind, metric), []).append(float(value))
def med(mode, kind, metric):
    v = data.get((mode, kind, metric))
    return statistics.median(v) if v else None
res = {"machine": machine, "reps": reps, "messages": count, "size": size,
       "sync_messages": sync, "proxy_buffer_size": buffer, "runs": {}}
lines = ["Kafka produce, %d B messages, acks=1; librdkafka 2.0.2 -> mock broker; median of %d runs"
         % (size, reps), "[proxy] buffer_size %s; %d messages, %d one at a time" % (buffer, count, sync),
         "%-7s %-10s %12s %9s %10s %10s %10s" % ("mode", "kind", "messages/s", "MB/s",
                                                   "p50 us", "p99 us", "vs direct")]
for kind in ("throughput", "sync"):
    for mode in ("direct", "proxy"):
        r = {m: med(mode, kind, m) for m in ("msgs_per_s", "mb_per_s", "p50_us", "p99_us")}
        r["msgs_per_s_samples"] = data.get((mode, kind, "msgs_per_s"), [])
        res["runs"]["%s/%s" % (mode, kind)] = r
        d = med("direct", kind, "msgs_per_s")
        lines.append("%-7s %-10s %12.0f %9s %10.0f %10.0f %9.2fx" % (
            mode, kind, r["msgs_per_s"],
            "%.1f" % r["mb_per_s"] if r["mb_per_s"] is not None else "-",
            r["p50_us"], r["p99_us"], r["msgs_per_s"] / d))
ratio = med("proxy", "throughput", "msgs_per_s") / med("direct", "throughput", "msgs_per_s")
res["throughput_ratio"] = ratio
res["target"] = ">= 0.7x direct messages/s"
lines.append("")
lines.append("proxy/direct messages/s: %.2fx (target >= 0.70x): %s" % (
    ratio, "met" if ratio >= 0.7 else "missed"))
text = "\n".join(lines) + "\n"
open(out + ".txt", "w").write(text)
json.dump(res, open(out + ".json", "w"), indent=1)
print(text, end="")
print("written: %s.{txt,json}" % out)
EOF
exit 0
