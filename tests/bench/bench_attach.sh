#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/bench/bench_attach.sh - what the attachment of the datapath
# programs costs per packet: tcx links against clsact filters
# (daemon.tc_attach), with a bare veth as the reference, interleaved in one
# run (docs/benchmarks.md, "Endpoint churn"; docs/datapath.md, "Attachment").
#
# Topology (tests/e2e/lib.sh): pods x/srv 10.1.0.1 (nginx and iperf3
# servers, pinned to CPU 1) and x/cli 10.1.0.2 (wrk and iperf3 clients,
# pinned to CPU 0); traffic goes pod -> node -> pod through both host-side
# veths, so every packet runs bw_from_lxc on one veth and bw_to_lxc on the
# other. No daemon: tests/e2e/bwdp loads the programs, writes the two
# endpoints (x/srv's ingress enforced, a policy allowing x/cli on TCP 80,
# 5201, 8080 and UDP 9000) and attaches them. The same programs and maps
# serve both modes; only the kernel's dispatch differs (tcx: the device's
# bpf_mprog array; clsact: the clsact qdisc's classifier chain, cls_bpf in
# direct-action mode).
#
# Modes, measured in turn within each repetition (rotating the order):
#   bare    no program on either veth (bwdp detach)
#   tcx     bwdp -m tcx attach on both veths
#   clsact  bwdp -m clsact attach on both veths
# (switching tcx <-> clsact is bulwark's own "switching": the new attachment
# first, then the old one removed). Per sample:
#   udp_cpu_ns  the sender's CPU time (CLOCK_THREAD_CPUTIME_ID) per
#               datagram, DGRAMS 16-byte UDP datagrams of one flow sent
#               one send() at a time from x/cli to a sink in x/srv. The
#               whole path runs in the sender's context (veth xmit, the
#               node's backlog in the softirq run at bh enable: bw_from_lxc,
#               forwarding, bw_to_lxc, x/srv's UDP receive), and the
#               kernel's CPU time counts it there when it has no
#               IRQ_TIME_ACCOUNTING (checked, reported); a thread's CPU
#               time is what other load disturbs least. mode - bare is
#               what the two programs and their dispatch cost per packet.
#   throughput / conn_per_s  iperf3 single stream and wrk connection rate
#               ("Connection: close", 16 connections), SECONDS each.
#
# Usage: bench_attach.sh [--quick] [--reps R] [--duration S] [--dgrams N]
# Writes tests/bench/results/attach-DATE.{json,txt} in the build tree.

set -u
BENCH_NAME=attach
REPS=8
DUR=3
CONNS=16
DGRAMS=200000
while [ $# -gt 0 ]; do
	case $1 in
	--quick) REPS=3; DUR=2; DGRAMS=50000 ;;
	--dgrams) DGRAMS=$2; shift ;;
	--reps) REPS=$2; shift ;;
	--duration) DUR=$2; shift ;;
	-h | --help) sed -n '3,28p' "$0"; exit 0 ;;
	*) echo "bench_attach.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_init
BWDP=$(bw_find_bin bwdp "${BWDP:-}" "$abs_top_builddir/tests/e2e/bwdp")
[ -n "$BWDP" ] || bw_die "tests/e2e/bwdp not built (make check builds it)"
unset BW_TC_ATTACH
MACHINE=$(bench_machine_json)
SRV=10.1.0.1
CLI=10.1.0.2

dp() { # [-m MODE] CMD...
	local -a args=()
	local c
	if [ "$1" = -m ]; then
		args+=(-m "$2")
		shift 2
	fi
	for c in "$@"; do args+=(-e "$c"); done
	nodex "$BWDP" -d "$BW_BPFFS" "${args[@]}"
}

[ "$(dp -m tcx attach-mode 2>/dev/null)" = "attach-mode tcx" ] ||
	bw_skip "this kernel has no tcx links: nothing to compare"

bw_pod_add x srv $SRV
bw_pod_add x cli $CLI
for p in x/srv x/cli; do bench_pod_quiet $p; done
bench_client_tune x/cli
IFS_=${BW_IF_OF[x/srv]} IFC=${BW_IF_OF[x/cli]}
dp "ep $IFS_ 1 1001 ingress" "ep $IFC 2 1002" "ipc $SRV 1001 1" "ipc $CLI 1002 2" \
	"policy 1 in:1002:tcp:80:allow:1 in:1002:tcp:5201:allow:2 in:1002:tcp:8080:allow:3 in:1002:udp:9000:allow:4" \
	>/dev/null || bw_die "programming the maps"
bench_nginx x/srv $SRV 1
bench_iperf3_server x/srv 5201 1
# the UDP sink: drains port 9000, CPU 1
bw_bg "$(bw_netns_of x/srv)" taskset -c 1 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind(("'$SRV'", 9000))
while True:
    s.recv(2048)'
bw_wait_listen "$(bw_netns_of x/srv)" udp 9000
IRQTIME=unknown
if [ -r /proc/config.gz ]; then
	if zcat /proc/config.gz | grep -q '^CONFIG_IRQ_TIME_ACCOUNTING=y'; then
		IRQTIME=yes
	else
		IRQTIME=no
	fi
fi
bw_log "kernel IRQ_TIME_ACCOUNTING: $IRQTIME (yes: softirq time is not in the sender's CPU time)"

# udp_cpu : the sender's CPU ns per datagram
udp_cpu() {
	ip netns exec "$(bw_netns_of x/cli)" taskset -c 0 python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("'$SRV'", 9000))
n, b = int(sys.argv[1]), b"0123456789abcdef"
for i in range(1000):
    s.send(b)
t0 = time.thread_time_ns()
for i in range(n):
    s.send(b)
print("%.1f" % ((time.thread_time_ns() - t0) / n))' "$DGRAMS"
}

set_mode() {
	case $1 in
	bare) dp "detach $IFS_" "detach $IFC" ;;
	*) dp -m "$1" "attach $IFS_" "attach $IFC" >/dev/null ;;
	esac || bw_die "cannot switch to $1"
}

# the attachment really is what the mode says, and enforces: x/srv's
# ingress allows only TCP 80, 5201 and 8080 from x/cli, so 8081 is dropped
bw_server_tcp x/srv 8080 8081
for m in tcx clsact; do
	set_mode $m
	case $m in
	tcx) dp "tcx $IFS_" | grep -q "^tcx egress count=1 bw_to_lxc" ;;
	clsact) nodex tc filter show dev "$IFS_" egress | grep -q bw_to_lxc ;;
	esac || bw_die "$m: the programs are not attached as $m"
	bw_expect_ok "$m: x/cli -> x/srv tcp/8080 allowed" bw_probe_tcp x/cli x/srv 8080
	bw_expect_blocked "$m: x/cli -> x/srv tcp/8081 denied" bw_probe_tcp x/cli x/srv 8081
done

MODES=(bare tcx clsact)
for r in $(seq "$REPS"); do
	for k in 0 1 2; do
		m=${MODES[$(((r + k) % 3))]}
		set_mode "$m"
		ucpu=$(udp_cpu)
		bps=$(bench_iperf3_tcp x/cli $SRV 5201 "$DUR" 0)
		crr=$(bench_wrk_close x/cli "http://$SRV/" "$DUR" $CONNS 0)
		[ -n "$ucpu" ] && bench_sample "$m" "$r" udp_cpu_ns "$ucpu"
		[ -n "$bps" ] && bench_sample "$m" "$r" throughput_bps "$bps"
		[ -n "$crr" ] && bench_sample "$m" "$r" conn_per_s "${crr% *}"
		bw_log "rep $r $m: ${ucpu:-?} ns/datagram, ${bps:-?} bit/s, ${crr:-?} conn/s (errors)"
	done
done
set_mode bare

OUT=$BENCH_RESULTS_DIR/$BENCH_NAME-$BENCH_DATE
python3 - "$BENCH_SAMPLES" "$OUT" "$MACHINE" "$REPS" "$DUR" "$CONNS" "$DGRAMS" "$IRQTIME" <<'EOF'
import json, statistics, sys
samples, out, machine, reps, dur, conns, dgrams, irqtime = sys.argv[1:9]
v = {}
for line in open(samples):
    mode, rep, metric, val = line.rstrip("\n").split("\t")
    v.setdefault(metric, {}).setdefault(mode, {})[int(rep)] = float(val)
res = {"machine": json.loads(machine), "reps": int(reps), "duration_s": int(dur),
       "wrk_connections": int(conns), "dgrams": int(dgrams), "irq_time_accounting": irqtime,
       "metrics": {}}
lines = ["Attachment cost per packet: tcx vs clsact vs bare veth (interleaved, %s reps of %s s)"
         % (reps, dur),
         "ratio = the two modes' figures of the same repetition; median [min-max] over repetitions",
         "",
         "| metric | bare | tcx | clsact | tcx / bare | clsact / bare | clsact / tcx |",
         "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
def ratios(a, b):
    return [a[r] / b[r] for r in a if r in b and b[r]]
def fmt(x):
    return "%.3f [%.3f-%.3f]" % (statistics.median(x), min(x), max(x)) if x else "-"
# the UDP sender's CPU per datagram: also the differences to bare, per rep
d = v.get("udp_cpu_ns", {})
diff = {}
for m in ("tcx", "clsact"):
    diff[m] = sorted(d.get(m, {})[r] - d["bare"][r] for r in d.get(m, {}) if r in d.get("bare", {}))
ct = sorted(d["clsact"][r] - d["tcx"][r] for r in d.get("clsact", {}) if r in d.get("tcx", {}))
def fmtd(x):
    return "%+.0f [%+.0f..%+.0f]" % (statistics.median(x), x[0], x[-1]) if x else "-"
res["udp_cpu_ns_minus"] = {"tcx-bare": diff.get("tcx"), "clsact-bare": diff.get("clsact"),
                           "clsact-tcx": ct}
for metric, scale, unit in (("udp_cpu_ns", 1, "UDP sender CPU ns/datagram"),
                            ("conn_per_s", 1, "conn/s"), ("throughput_bps", 1e9, "Gbit/s")):
    d = v.get(metric, {})
    med = {m: statistics.median(d[m].values()) / scale for m in d if d[m]}
    rr = {"tcx/bare": ratios(d.get("tcx", {}), d.get("bare", {})),
          "clsact/bare": ratios(d.get("clsact", {}), d.get("bare", {})),
          "clsact/tcx": ratios(d.get("clsact", {}), d.get("tcx", {}))}
    res["metrics"][metric] = {"median": med, "samples": d, "ratios": rr}
    lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
        unit, *("%.2f" % med[m] if m in med else "-" for m in ("bare", "tcx", "clsact")),
        fmt(rr["tcx/bare"]), fmt(rr["clsact/bare"]), fmt(rr["clsact/tcx"])))
lines += ["", "UDP sender CPU ns/datagram, difference per repetition, median [min..max]: "
          "tcx - bare %s, clsact - bare %s, clsact - tcx %s (%s datagrams per sample; "
          "IRQ_TIME_ACCOUNTING %s)" % (fmtd(diff.get("tcx")), fmtd(diff.get("clsact")), fmtd(ct),
                                      dgrams, irqtime)]
lines += ["", "machine: %s, %d CPUs, kernel %s, load at start %s" % (
    res["machine"]["cpu_model"], res["machine"]["cpus"], res["machine"]["kernel"],
    " ".join(res["machine"]["loadavg_at_start"]))]
open(out + ".json", "w").write(json.dumps(res, indent=1) + "\n")
open(out + ".txt", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
bw_pass "attach benchmark written to $OUT.{json,txt}"
bw_finish
