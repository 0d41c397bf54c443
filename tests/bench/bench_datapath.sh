#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/bench/bench_datapath.sh - the eBPF datapath against a bare veth,
# iptables and nftables, in one run, interleaved (docs/benchmarks.md).
#
# Topology (tests/e2e/lib.sh): a node netns; pods x/srv 10.1.0.1 (nginx and
# iperf3 servers, pinned to CPU 1), x/cli 10.1.0.2 (iperf3 and wrk clients,
# pinned to CPU 0) and x/other 10.1.0.3 (only used to check that each mode
# really blocks a peer that is not allowed). Traffic goes pod -> node -> pod.
#
# Modes, measured in turn within each repetition (rotating the order):
#   bare       no BPF program, no iptables/nft rule in the node netns
#   bw-allow   bulwark: both pods registered (programs attached), no policy
#              selects them (not enforced; connection tracking, events)
#   bw-policy  bulwark: a CiliumNetworkPolicy selects x/srv and allows TCP
#              80 and 5201 from N peers: x/cli (an endpoint selector) and
#              N-1 /32 CIDRs (fromCIDR; each a CIDR identity, an ipcache
#              entry and 2 policy map entries)
#   iptables   node netns FORWARD: ESTABLISHED,RELATED accept, then a chain
#              for x/srv with one rule per peer (-s IP/32 -p tcp -m
#              multiport --dports 80,5201 -j ACCEPT; x/cli's rule last, the
#              worst case of a linear list, as kube-proxy-style rule sets
#              have it), then DROP. `iptables` is Debian's default
#              (nf_tables backend); --iptables iptables-legacy for x_tables.
#   nft        node netns table ip bwbench: ct state established,related
#              accept; ip daddr x/srv ip saddr @allowed tcp dport {80,5201}
#              accept (one set of N addresses); ip daddr x/srv drop
#   bw-hr      bw-policy with eBPF host routing (datapath.host_routing =
#              bpf, switched with a config reload: SIGHUP), docs/datapath.md
# For every N in --peers. Figures per sample: iperf3 single stream
# (SECONDS), wrk connection rate with "Connection: close" (SECONDS, 16
# connections). Then, per N: BPF run time per program run from bpf_stats
# (bw-policy, the global sysctl kernel.bpf_stats_enabled enabled only for
# those runs and restored), and the time to program N peers: bulwark policy
# import (new CIDR identities) and re-import (changed ports, identities
# known), iptables-restore and nft -f of the equivalent rules. The bulwark
# imports are the CLI's request (POST /v1/policies) sent with curl, because
# `bulwark policy import` gives up after 300 s and a 10,000-identity import
# takes longer (docs/benchmarks.md). bulwarkd's CPU is sampled during every
# run (/proc/PID/stat), its RSS after every import.
#
# Also, in the same run:
#   micro  per-path cost of bw_from_lxc / bw_to_lxc with BPF_PROG_TEST_RUN
#          (tests/bench/bench_bpfrun.c: established, reply, UDP, new allowed,
#          new denied), events on, events off and host routing on, and the
#          base revision's programs (--base-rev; default: before issue 9's
#          datapath work) on the paths its own bench_bpfrun measured, with
#          the xlated instruction counts of both;
#   churn  bench_churn.py: CHURN_ROUNDS rounds of adding M endpoints (veth
#          pairs made in the node netns) and deleting them again, each
#          request timed from the API request to its reply, for each M in
#          --churn; the daemon's RSS full and empty, identities. It runs
#          before the peers (a daemon with only the three pods), so the
#          RSS after each import below includes what it left behind.
#
# Usage: bench_datapath.sh [--quick] [--reps R] [--duration S]
#                          [--peers "10 1000 10000"] [--iptables CMD]
#                          [--churn "100 1000"] [--churn-rounds R]
#                          [--micro-rounds R] [--base-rev REV]
#                          [--no-micro] [--no-churn] [--no-macro]
#                          [--tc-attach auto|tcx|clsact]
# Writes tests/bench/results/datapath-DATE.{json,txt} in the build tree.

set -u
BENCH_NAME=datapath
REPS=3
DUR=3
PEERS="10 1000 10000"
IPT=iptables
CONNS=16
CHURN="100 1000"
CHURN_ROUNDS=5
MICRO_ROUNDS=15
MICRO_REPEAT=200000
BASE_REV=""
DO_MICRO=1
DO_CHURN=1
DO_MACRO=1
TC_ATTACH=""

while [ $# -gt 0 ]; do
	case $1 in
	--quick) REPS=1; DUR=2; PEERS="10 1000"; CHURN_ROUNDS=3; MICRO_ROUNDS=5
		MICRO_REPEAT=50000 ;;
	--churn) CHURN=$2; shift ;;
	--churn-rounds) CHURN_ROUNDS=$2; shift ;;
	--micro-rounds) MICRO_ROUNDS=$2; shift ;;
	--base-rev) BASE_REV=$2; shift ;;
	--no-micro) DO_MICRO=0 ;;
	--no-churn) DO_CHURN=0 ;;
	--no-macro) DO_MACRO=0 ;;
	--tc-attach) TC_ATTACH=$2; shift ;;
	--reps) REPS=$2; shift ;;
	--duration) DUR=$2; shift ;;
	--peers) PEERS=$2; shift ;;
	--iptables) IPT=$2; shift ;;
	-h | --help) sed -n '3,66p' "$0"; exit 0 ;;
	*) echo "bench_datapath.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_init
bw_require_tool "$IPT" iptables
bw_require_tool iptables-restore iptables
bw_require_tool nft nftables
bw_require_tool curl curl
IPT_RESTORE=${IPT}-restore
[ "$IPT" = iptables ] && IPT_RESTORE=iptables-restore
bw_require_tool "$IPT_RESTORE" iptables
T_START=$(bench_now_ns)
MACHINE=$(bench_machine_json)
HZ=$(getconf CLK_TCK)

SRV=10.1.0.1
CLI=10.1.0.2
# a config file of our own: host routing is switched by editing it and a
# reload (SIGHUP), as a user would; the suite's BW_HOST_ROUTING would pin it
unset BW_HOST_ROUTING
BW_CONF=$BW_TMP/bulwark.conf
cp "$(bw_daemon_conf)" "$BW_CONF" || bw_die "no bulwark.conf"
grep -q '^host_routing *=' "$BW_CONF" || bw_die "$BW_CONF has no datapath host_routing key"
# daemon.tc_attach for the whole run (tcx attach and detach wait for an RCU
# grace period each in the kernel: the churn figures depend on it)
if [ -n "$TC_ATTACH" ]; then
	sed -i "s/^tc_attach *=.*/tc_attach = $TC_ATTACH/" "$BW_CONF"
	grep -q "^tc_attach = $TC_ATTACH" "$BW_CONF" || bw_die "$BW_CONF has no daemon tc_attach key"
fi
export BW_CONF
HR=kernel
bw_start_daemon
bw_pod_add x srv $SRV app=none >/dev/null || bw_die "endpoint x/srv"
bw_pod_add x cli $CLI app=client >/dev/null || bw_die "endpoint x/cli"
bw_pod_add x other 10.1.0.3 app=other >/dev/null || bw_die "endpoint x/other"
for p in x/srv x/cli x/other; do bench_pod_quiet $p; done
bench_client_tune x/cli
bench_nginx x/srv $SRV 1
bench_iperf3_server x/srv 5201 1
IF_SRV=${BW_IF_OF[x/srv]}
IF_CLI=${BW_IF_OF[x/cli]}
REG=1        # x/srv and x/cli registered with bulwark
SRV_LABEL=none

# ---- mode switching ---------------------------------------------------------

ep_register() {
	if [ $REG = 0 ]; then
		bw_pod_register x/srv app=$SRV_LABEL >/dev/null || bw_die "register x/srv"
		bw_pod_register x/cli app=client >/dev/null || bw_die "register x/cli"
		bw_pod_register x/other app=other >/dev/null || bw_die "register x/other"
		REG=1
	fi
}
ep_unregister() {
	if [ $REG = 1 ]; then
		bw endpoint delete x/srv >/dev/null || bw_die "delete x/srv"
		bw endpoint delete x/cli >/dev/null || bw_die "delete x/cli"
		bw endpoint delete x/other >/dev/null || bw_die "delete x/other"
		REG=0
	fi
}
ep_label() {
	[ "$SRV_LABEL" = "$1" ] && return 0
	SRV_LABEL=$1
	if [ $REG = 1 ]; then
		bw endpoint update x/srv --label app="$1" >/dev/null || bw_die "label x/srv"
	fi
}
# hr_set kernel|bpf : datapath.host_routing, by a config reload
hr_set() {
	[ "$HR" = "$1" ] && return 0
	sed -i "s/^host_routing *=.*/host_routing = $1/" "$BW_CONF"
	kill -HUP "$BW_DAEMON_PID"
	# shellcheck disable=SC2317
	hr_is() { [ "$(bw status -o json | jq -r '.bpf.host_routing')" = "$1" ]; }
	bw_wait_for 30 hr_is "$1" || bw_die "host_routing did not become $1"
	HR=$1
}
IPT_ON=0
NFT_ON=0
ipt_clear() {
	[ $IPT_ON = 1 ] || return 0
	printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n' |
		nodex "$IPT_RESTORE" || bw_die "iptables clear"
	# the nf_tables backend leaves its (empty) base chains hooked: remove them
	[ "$IPT" = iptables ] && nodex nft delete table ip filter 2>/dev/null
	IPT_ON=0
}
ipt_apply() {
	nodex "$IPT_RESTORE" <"$BW_TMP/ipt-$1.rules" || bw_die "iptables-restore $1"
	IPT_ON=1
}
nft_clear() {
	[ $NFT_ON = 1 ] || return 0
	nodex nft delete table ip bwbench || bw_die "nft delete table"
	NFT_ON=0
}
nft_apply() {
	nodex nft -f "$BW_TMP/nft-$1.nft" || bw_die "nft -f $1"
	NFT_ON=1
}

set_mode() { # MODE N
	case $1 in
	bare) ep_unregister; ipt_clear; nft_clear; hr_set kernel ;;
	bw-allow) ipt_clear; nft_clear; hr_set kernel; ep_label none; ep_register ;;
	bw-policy) ipt_clear; nft_clear; hr_set kernel; ep_label "srv$2"; ep_register ;;
	bw-hr) ipt_clear; nft_clear; hr_set bpf; ep_label "srv$2"; ep_register ;;
	iptables) ep_unregister; nft_clear; hr_set kernel; ipt_apply "$2" ;;
	nft) ep_unregister; ipt_clear; hr_set kernel; nft_apply "$2" ;;
	esac
}

# curl from a pod to x/srv: 0 answered, 1 not
http_ok() {
	[ "$(timeout 3 ip netns exec "$(bw_netns_of "$1")" curl -s -m 1 "http://$SRV/" 2>/dev/null)" = ok ]
}

# ---- rule sets for N peers ----------------------------------------------------

# peer_addrs N K : the N-1 CIDR peers of block K, one per line
peer_addrs() {
	python3 - "$1" "$2" <<'EOF'
import sys
n, k = int(sys.argv[1]), int(sys.argv[2])
for i in range(n - 1):
    print("10.%d.%d.%d" % (20 + 4 * k + i // 62500, (i // 250) % 250, i % 250 + 1))
EOF
}

gen_rules() { # N K
	local n=$1 k=$2 f=$BW_TMP/peers-$1.txt
	peer_addrs "$n" "$k" >"$f"
	# bulwark: the policy (and a variant with one more port: re-import)
	for variant in a b; do
		{
			printf 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\n'
			printf 'metadata:\n  name: allow-%s\n  namespace: x\n' "$n"
			printf 'spec:\n  endpointSelector:\n    matchLabels:\n      app: srv%s\n' "$n"
			printf '  ingress:\n'
			printf '  - fromEndpoints:\n    - matchLabels:\n        app: client\n'
			printf '    toPorts:\n    - ports:\n      - port: "80"\n        protocol: TCP\n'
			printf '      - port: "5201"\n        protocol: TCP\n'
			[ $variant = b ] && printf '      - port: "8080"\n        protocol: TCP\n'
			if [ "$n" -gt 1 ]; then
				printf '  - fromCIDR:\n'
				sed 's|^|    - |; s|$|/32|' "$f"
				printf '    toPorts:\n    - ports:\n      - port: "80"\n        protocol: TCP\n'
				printf '      - port: "5201"\n        protocol: TCP\n'
				[ $variant = b ] && printf '      - port: "8080"\n        protocol: TCP\n'
			fi
		} >"$BW_TMP/policy-$n-$variant.yaml"
	done
	# iptables: one rule per peer, x/cli last
	{
		printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n'
		printf ':BW-SRV - [0:0]\n'
		printf -- '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n'
		printf -- '-A FORWARD -d %s/32 -j BW-SRV\n' $SRV
		sed 's|.*|-A BW-SRV -s &/32 -p tcp -m multiport --dports 80,5201 -j ACCEPT|' "$f"
		printf -- '-A BW-SRV -s %s/32 -p tcp -m multiport --dports 80,5201 -j ACCEPT\n' $CLI
		printf -- '-A BW-SRV -j DROP\nCOMMIT\n'
	} >"$BW_TMP/ipt-$n.rules"
	# nftables: one set (replaces the table atomically)
	{
		printf 'table ip bwbench\ndelete table ip bwbench\n'
		printf 'table ip bwbench {\n\tset allowed {\n\t\ttype ipv4_addr\n\t\telements = {\n'
		{ cat "$f"; echo $CLI; } | sed 's|.*|\t\t\t&,|'
		printf '\t\t}\n\t}\n'
		printf '\tchain forward {\n\t\ttype filter hook forward priority 0; policy accept;\n'
		printf '\t\tct state established,related accept\n'
		printf '\t\tip daddr %s ip saddr @allowed tcp dport { 80, 5201 } accept\n' $SRV
		printf '\t\tip daddr %s drop\n\t}\n}\n' $SRV
	} >"$BW_TMP/nft-$n.nft"
}

elapsed_ms() { # CMD... : run CMD, print its wall time in ms (CMD's output discarded)
	local s e
	s=$(bench_now_ns)
	"$@" >/dev/null 2>&1 || { echo "FAILED"; return 1; }
	e=$(bench_now_ns)
	echo $(((e - s) / 1000)) | awk '{ printf "%.1f\n", $1 / 1000 }'
}

# api_import FILE : what `bulwark policy import FILE` sends (POST
# /v1/policies, the YAML as the body), without the CLI's 300 s reply
# timeout (importing 10,000 new CIDR identities can take longer); fails
# unless the daemon answers 200. Like the CLI, it returns when the daemon
# has written the maps.
#
# A request whose handler keeps the daemon's loop busy for more than the
# API's 60 s idle timeout gets no reply (evhttp closes the connection as
# soon as the loop runs again) although the import went through. Then the
# time is still the time until the daemon was done (curl returns when the
# connection closes), the policy's presence is checked with the CLI, and
# the run records the missing reply (api_import_noreply).
api_import() { # FILE N
	local code
	code=$(curl -s -o "$BW_TMP/import.out" -w '%{http_code}' --max-time 1800 \
		--unix-socket "$BW_SOCK" -H 'Content-Type: application/yaml' \
		--data-binary @"$1" "http://localhost/v1/policies?source=bench")
	[ "$code" = 200 ] && return 0
	if bw policy get "x/allow-$2" >/dev/null 2>&1; then
		echo "$2" >>"$BW_TMP/noreply"
		return 0
	fi
	return 1
}

# ---- per N: program, measure ------------------------------------------------

# cores_since TICKS0 NS0 : bulwarkd's CPU (cores) since that point
cores_since() {
	awk -v c="$(($(bench_pid_cpu_ticks "$BW_DAEMON_PID") - $1))" -v hz="$HZ" \
		-v t="$(($(bench_now_ns) - $2))" 'BEGIN { printf "%.3f", c / hz / (t / 1e9) }'
}

# flow_counters : "events lost_datapath" from GET /v1/status
flow_counters() {
	bw status -o json | python3 -c '
import json, sys
f = json.load(sys.stdin)["flows"]
print(f["events"], f["lost_datapath"])'
}

measure_sample() { # MODE N
	local bps crr c0 t0 ev0 lost0 ev1 lost1
	read -r ev0 lost0 < <(flow_counters)
	c0=$(bench_pid_cpu_ticks "$BW_DAEMON_PID")
	t0=$(bench_now_ns)
	bps=$(bench_iperf3_tcp x/cli $SRV 5201 "$DUR" 0)
	[ -n "$bps" ] && bench_sample "$1" "$2" throughput_bps "$bps"
	bench_sample "$1" "$2" daemon_cpu_stream "$(cores_since "$c0" "$t0")"
	c0=$(bench_pid_cpu_ticks "$BW_DAEMON_PID")
	t0=$(bench_now_ns)
	crr=$(bench_wrk_close x/cli "http://$SRV/" "$DUR" $CONNS 0)
	bench_sample "$1" "$2" daemon_cpu_crr "$(cores_since "$c0" "$t0")"
	sleep 1.2 # the daemon reads the datapath's lost counter once a second
	read -r ev1 lost1 < <(flow_counters)
	bench_sample "$1" "$2" flow_events $((ev1 - ev0))
	bench_sample "$1" "$2" flow_events_lost $((lost1 - lost0))
	if [ -n "$crr" ]; then
		bench_sample "$1" "$2" conn_per_s "${crr% *}"
		bench_sample "$1" "$2" conn_errors "${crr#* }"
	fi
	bw_log "$1 N=$2: ${bps:-?} bit/s, ${crr:-?} conn/s (errors)"
}

bpf_cost() { # MODE N : one iperf3 and one wrk run with bpf_stats on
	# Every packet leaves a pod through one bw_from_lxc; with the kernel's
	# routing it enters the other through a bw_to_lxc, with host routing it
	# does not (bpf_redirect_peer). Per packet: all four programs' run time
	# over the bw_from_lxc runs.
	local ids=() a=() b=() i kind d
	for i in "$IF_CLI ingress" "$IF_SRV ingress" "$IF_CLI egress" "$IF_SRV egress"; do
		# shellcheck disable=SC2086
		ids+=("$(bench_tc_prog_id $i)")
	done
	for i in 0 1 2 3; do
		[ -n "${ids[$i]}" ] || { bw_log "no program ids"; return 0; }
	done
	bench_bpf_stats_on || { bw_log "cannot enable bpf_stats"; return 0; }
	for kind in stream crr; do
		a=(); b=()
		for i in 0 1 2 3; do a+=($(bench_prog_stats "${ids[$i]}")); done
		if [ $kind = stream ]; then
			bench_iperf3_tcp x/cli $SRV 5201 "$DUR" 0 >/dev/null
		else
			bench_wrk_close x/cli "http://$SRV/" "$DUR" $CONNS 0 >/dev/null
		fi
		for i in 0 1 2 3; do b+=($(bench_prog_stats "${ids[$i]}")); done
		# a/b: ns runs per program (from cli, from srv, to cli, to srv)
		d=$(python3 - "${a[@]}" "${b[@]}" <<'EOF'
import sys
v = list(map(int, sys.argv[1:]))
a, b = v[:8], v[8:]
ns = [b[2 * i] - a[2 * i] for i in range(4)]
runs = [b[2 * i + 1] - a[2 * i + 1] for i in range(4)]
f = lambda t, c: "%.1f" % (t / c) if c else "-"  # "-": no run (host routing)
print(f(ns[0] + ns[1], runs[0] + runs[1]), f(ns[2] + ns[3], runs[2] + runs[3]),
      sum(runs), f(sum(ns), runs[0] + runs[1]))
EOF
)
		set -- "$1" "$2" $d
		bench_sample "$1" "$2" "bpf_from_lxc_ns_${kind}" "$3"
		bench_sample "$1" "$2" "bpf_to_lxc_ns_${kind}" "${4:-0}"
		bench_sample "$1" "$2" "bpf_runs_${kind}" "${5:-0}"
		bench_sample "$1" "$2" "bpf_ns_per_packet_${kind}" "${6:-}"
		set -- "$1" "$2"
	done
	bench_bpf_stats_off
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$BW_DAEMON_PID/status"; }

# ---- micro: BPF_PROG_TEST_RUN per path -----------------------------------------

micro() {
	local run=$abs_top_builddir/tests/bench/bench_bpfrun obj=$abs_top_builddir/bpf/bw_lxc.bpf.o
	local clang bpfcpp ifa ifb base added
	[ -x "$run" ] && [ -f "$obj" ] || bw_die "build first: make tests/bench/bench_bpfrun bpf/bw_lxc.bpf.o"
	nodex ip link add bwmb0 type veth peer name bwmb1 || bw_die "micro: veth"
	ifa=$(nodex cat /sys/class/net/bwmb0/ifindex)
	ifb=$(nodex cat /sys/class/net/bwmb1/ifindex)
	# the base revision: its programs and its own bench_bpfrun (the map
	# layouts differ), for the paths that one measures, events off
	base=$BASE_REV
	if [ -z "$base" ]; then
		added=$(git -C "$abs_top_srcdir" log --diff-filter=A --format=%H -- bpf/lib/hostroute.h | tail -n 1)
		[ -n "$added" ] && base=$added^
	fi
	if [ -n "$base" ] && git -C "$abs_top_srcdir" cat-file -e "$base:tests/bench/bench_bpfrun.c" 2>/dev/null; then
		clang=$(sed -n 's/^CLANG = //p' "$abs_top_builddir/Makefile")
		bpfcpp=$(sed -n 's/^BPF_CPPFLAGS = //p' "$abs_top_builddir/Makefile")
		mkdir -p "$BW_TMP/base"
		git -C "$abs_top_srcdir" archive "$base" bpf tests/bench/bench_bpfrun.c | tar -x -C "$BW_TMP/base" &&
			# shellcheck disable=SC2086
			"$clang" -target bpf -O2 -g -D__BPF__ -Wall -I"$BW_TMP/base/bpf" $bpfcpp \
				-c "$BW_TMP/base/bpf/bw_lxc.bpf.c" -o "$BW_TMP/base.o" &&
			cc -O2 -I"$BW_TMP/base" -o "$BW_TMP/bench_bpfrun_base" \
				"$BW_TMP/base/tests/bench/bench_bpfrun.c" -lbpf ||
			{ bw_log "micro: cannot build base $base"; base=""; }
	else
		base=""
	fi
	echo "base $(git -C "$abs_top_srcdir" rev-parse --short "${base:-HEAD}" 2>/dev/null) ${base:+built}" >"$BW_TMP/micro.out"
	# the three configurations of this tree's object, interleaved round by
	# round in one run
	bw_log "micro: events on, events off, host routing ($MICRO_ROUNDS rounds)"
	nodex "$run" --ifindex "$ifa" --ifindex2 "$ifb" --rounds "$MICRO_ROUNDS" \
		--repeat "$MICRO_REPEAT" "events-on=$obj" --events off "events-off=$obj" \
		--events on --host-routing on "host-routing=$obj" >>"$BW_TMP/micro.out" ||
		bw_die "micro: bench_bpfrun"
	if [ -n "$base" ]; then
		bw_log "micro: base $base"
		nodex "$BW_TMP/bench_bpfrun_base" --ifindex "$ifa" --rounds "$MICRO_ROUNDS" \
			--repeat "$MICRO_REPEAT" "base=$BW_TMP/base.o" |
			sed 's/^figure base /figure-base base /' >>"$BW_TMP/micro.out" ||
			bw_log "micro: the base's bench_bpfrun failed"
	fi
	nodex ip link del bwmb0
	cp "$BW_TMP/micro.out" "$OUT.micro.txt"
}

# ---- churn: endpoint add/delete at M endpoints -----------------------------------

churn() {
	local m r
	for m in $CHURN; do
		bw_log "churn: $m veth pairs"
		{
			for i in $(seq "$m"); do
				echo "link add bwch$i type veth peer name bwch${i}p"
				echo "link set bwch$i up"
			done
		} >"$BW_TMP/churn-links"
		nodex ip -batch "$BW_TMP/churn-links" || bw_die "churn: veths"
		bw_log "churn: $CHURN_ROUNDS rounds of $m adds and deletes"
		python3 "$abs_top_srcdir/tests/bench/bench_churn.py" "$BW_SOCK" "$BW_DAEMON_PID" \
			"$m" "$CHURN_ROUNDS" bwch | sed "s/^/$m /" >>"$BW_TMP/churn.out" ||
			bw_die "churn: bench_churn.py"
		for i in $(seq "$m"); do echo "link del bwch$i"; done >"$BW_TMP/churn-links"
		nodex ip -batch "$BW_TMP/churn-links" || bw_die "churn: removing veths"
	done
	cp "$BW_TMP/churn.out" "$OUT.churn.txt"
}

OUT=$BENCH_RESULTS_DIR/$BENCH_NAME-$BENCH_DATE
: >"$BW_TMP/micro.out"
: >"$BW_TMP/churn.out"
[ $DO_MICRO = 1 ] && micro
# churn first: its RSS at M endpoints is that of a daemon with nothing else
# loaded yet (the peers' figures below then include what churn left)
[ $DO_CHURN = 1 ] && churn

MODES=(bare bw-allow bw-policy bw-hr iptables nft)
NM=${#MODES[@]}
k=0
[ $DO_MACRO = 1 ] || PEERS=""
for n in $PEERS; do
	bw_log "N=$n: generating rule sets"
	gen_rules "$n" $k
	k=$((k + 1))

	# programming time. bulwark: x/srv selected, so the import writes its
	# map entries before the CLI returns; the first import allocates N-1
	# new CIDR identities.
	set_mode bw-policy "$n"
	t=$(elapsed_ms api_import "$BW_TMP/policy-$n-a.yaml" "$n") || bw_die "import N=$n"
	bench_sample bulwark "$n" program_import_new_ms "$t"
	bw_log "N=$n: bulwark import (new identities) $t ms"
	for i in 1 2 3; do
		v=b
		[ $((i % 2)) = 0 ] && v=a
		t=$(elapsed_ms api_import "$BW_TMP/policy-$n-$v.yaml" "$n") || bw_die "re-import"
		bench_sample bulwark "$n" program_reimport_ms "$t"
	done
	[ $v = a ] || api_import "$BW_TMP/policy-$n-a.yaml" "$n" || bw_die "import a"
	bench_sample bulwark "$n" rss_kib "$(rss_kib)"
	bench_sample bulwark "$n" api_import_noreply "$(cat "$BW_TMP/noreply" 2>/dev/null | grep -c "^$n\$")"
	entries=$(bw policy resolved x/srv -o json | python3 -c '
import json, sys
d = json.load(sys.stdin)
e = d.get("entries", [])
print(len(e), d.get("in_sync"))' 2>/dev/null)
	bench_sample bulwark "$n" resolved_entries "${entries% *}"
	bench_sample bulwark "$n" in_sync "${entries#* }"
	set_mode bare "$n"
	for i in 1 2 3; do
		t=$(elapsed_ms nodex "$IPT_RESTORE" "$BW_TMP/ipt-$n.rules") || bw_die "iptables-restore"
		bench_sample iptables "$n" program_ms "$t"
		IPT_ON=1
		ipt_clear
		t=$(elapsed_ms nodex nft -f "$BW_TMP/nft-$n.nft") || bw_die "nft -f"
		bench_sample nft "$n" program_ms "$t"
		NFT_ON=1
		nft_clear
	done

	# sanity: each enforcing mode lets x/cli in and keeps x/other out
	for m in "${MODES[@]}"; do
		set_mode "$m" "$n"
		c=0; o=0
		http_ok x/cli && c=1
		http_ok x/other && o=1
		bench_sample "$m" "$n" client_allowed $c
		bench_sample "$m" "$n" other_allowed $o
	done

	for r in $(seq "$REPS"); do
		for j in $(seq 0 $((NM - 1))); do
			m=${MODES[$(((j + r - 1) % NM))]}
			set_mode "$m" "$n"
			measure_sample "$m" "$n"
		done
	done
	set_mode bw-policy "$n"
	bpf_cost bw-policy "$n"
	set_mode bw-hr "$n"
	bpf_cost bw-hr "$n"
	if [ $k = 1 ]; then
		set_mode bw-allow "$n"
		bpf_cost bw-allow "$n"
	fi
done
set_mode bare 0
T_END=$(bench_now_ns)

# ---- report -----------------------------------------------------------------

cp "$BENCH_SAMPLES" "$OUT.samples.tsv"
python3 - "$BENCH_SAMPLES" "$OUT" "$MACHINE" "$REPS" "$DUR" "$CONNS" "$IPT" \
	"$(((T_END - T_START) / 1000000000))" "$BW_TMP/micro.out" "$BW_TMP/churn.out" \
	"$(bw status -o json 2>/dev/null | jq -r '.bpf.attach_mode' 2>/dev/null)" <<'EOF'
import json, statistics, sys
samples, out, machine, reps, dur, conns, ipt, secs, micro_f, churn_f, attach = sys.argv[1:12]
data = {}
for line in open(samples):
    mode, n, metric, value = line.rstrip("\n").split("\t")
    try:
        v = float(value)
    except ValueError:
        v = value
    data.setdefault((mode, int(n)), {}).setdefault(metric, []).append(v)

def ratios(mode, n, metric):
    # per repetition: the mode's i-th sample over bare's i-th (same repetition)
    a = data.get((mode, n), {}).get(metric, [])
    b = data.get(("bare", n), {}).get(metric, [])
    return [x / y for x, y in zip(a, b) if isinstance(x, float) and isinstance(y, float) and y]

def rmed(mode, n, metric):
    r = ratios(mode, n, metric)
    return statistics.median(r) if r else None

def med(mode, n, metric):
    v = [x for x in data.get((mode, n), {}).get(metric, []) if isinstance(x, float)]
    return statistics.median(v) if v else None

peers = sorted({n for (_, n) in data if n > 0})
modes = ["bare", "bw-allow", "bw-policy", "bw-hr", "iptables", "nft"]
res = {"benchmark": "datapath", "machine": json.loads(machine), "repetitions": int(reps),
       "duration_s": int(dur), "wrk_connections": int(conns), "iptables": ipt,
       "wall_time_s": int(secs), "peers": {}}
lines = []
lines.append("Datapath: medians of %s repetitions (%s s runs); ratio = median over repetitions of mode / bare veth" % (reps, dur))
lines.append("(same repetition, same N); [min-max] of those ratios; bwd cpu: bulwarkd's CPU (cores) during the wrk runs;")
lines.append("events: flow events the daemon read over all repetitions; lost %: events the datapath could not queue (ring full)")
lines.append("%-7s %-10s %12s %7s %13s %10s %7s %13s %7s %7s %9s %10s %8s" % ("peers", "mode", "iperf3 Gb/s", "ratio", "[spread]",
             "conn/s", "ratio", "[spread]", "cli ok", "other", "bwd cpu", "events", "lost %"))
for n in peers:
    pr = res["peers"][str(n)] = {}
    bt, bc = med("bare", n, "throughput_bps"), med("bare", n, "conn_per_s")
    for m in modes:
        t, c = med(m, n, "throughput_bps"), med(m, n, "conn_per_s")
        tr = rmed(m, n, "throughput_bps")
        cr = rmed(m, n, "conn_per_s")
        trs, crs = ratios(m, n, "throughput_bps"), ratios(m, n, "conn_per_s")
        sp = lambda r: "[%.2f-%.2f]" % (min(r), max(r)) if r else "-"
        d = data.get((m, n), {})
        pr[m] = {"throughput_bps": d.get("throughput_bps", []), "conn_per_s": d.get("conn_per_s", []),
                 "conn_errors": d.get("conn_errors", []),
                 "throughput_median": t, "conn_median": c, "throughput_ratio": tr, "conn_ratio": cr,
                 "throughput_ratios": trs, "conn_ratios": crs,
                 "client_allowed": (d.get("client_allowed") or [None])[0],
                 "other_allowed": (d.get("other_allowed") or [None])[0]}
        for k, v in d.items():
            if k.startswith("bpf_"):
                pr[m][k] = v[0]
        dc = med(m, n, "daemon_cpu_crr")
        pr[m]["flow_events"] = d.get("flow_events", [])
        pr[m]["flow_events_lost"] = d.get("flow_events_lost", [])
        ev, lo = sum(d.get("flow_events", [])), sum(d.get("flow_events_lost", []))
        pr[m]["daemon_cpu_crr"] = d.get("daemon_cpu_crr", [])
        pr[m]["daemon_cpu_stream"] = d.get("daemon_cpu_stream", [])
        lines.append("%-7s %-10s %12s %7s %13s %10s %7s %13s %7s %7s %9s %10d %8s" % (
            n, m, "%.2f" % (t / 1e9) if t else "-", "%.3f" % tr if tr else "-", sp(trs),
            "%.0f" % c if c else "-", "%.3f" % cr if cr else "-", sp(crs),
            {1.0: "yes", 0.0: "NO"}.get(pr[m]["client_allowed"], "-"),
            {1.0: "yes", 0.0: "no"}.get(pr[m]["other_allowed"], "-"),
            "%.2f" % dc if dc is not None else "-", ev,
            "%.1f" % (100.0 * lo / (ev + lo)) if ev + lo else "-"))
    prog = {"bulwark_import_new_ms": med("bulwark", n, "program_import_new_ms"),
            "bulwark_reimport_ms": med("bulwark", n, "program_reimport_ms"),
            "iptables_restore_ms": med("iptables", n, "program_ms"),
            "nft_f_ms": med("nft", n, "program_ms"),
            "resolved_entries": med("bulwark", n, "resolved_entries"),
            "in_sync": (data.get(("bulwark", n), {}).get("in_sync") or [None])[0],
            "imports_without_reply": med("bulwark", n, "api_import_noreply"),
            "daemon_rss_kib": med("bulwark", n, "rss_kib")}
    pr["programming"] = prog
lines.append("")
lines.append("Scaling (bw-policy at the largest N vs the smallest, and vs iptables/nft at each N, conn/s):")
if len(peers) > 1:
    a, b = med("bw-policy", peers[0], "conn_per_s"), med("bw-policy", peers[-1], "conn_per_s")
    ta, tb = med("bw-policy", peers[0], "throughput_bps"), med("bw-policy", peers[-1], "throughput_bps")
    if a and b:
        lines.append("  bw-policy conn/s N=%d / N=%d: %.3f; throughput: %.3f" % (peers[-1], peers[0], b / a, tb / ta if ta and tb else 0))
        res["scaling_conn_ratio"] = b / a
        res["scaling_throughput_ratio"] = tb / ta if ta and tb else None
for n in peers:
    for bm in ("bw-policy", "bw-hr"):
        for metric, what in (("conn_per_s", "conn/s"), ("throughput_bps", "throughput")):
            p, i, f = med(bm, n, metric), med("iptables", n, metric), med("nft", n, metric)
            if p and i and f:
                lines.append("  N=%-6d %-9s %-10s /iptables %.3f  /nft %.3f" % (n, bm, what, p / i, p / f))
lines.append("")
lines.append("BPF cost (bpf_stats, ns per program run over both veths; per packet = all programs' time over the from_lxc runs;")
lines.append("with host routing no packet crosses a to_lxc: -):")
lines.append("%-7s %-10s %-7s %10s %10s %12s %10s" % ("peers", "mode", "load", "from_lxc", "to_lxc", "per packet", "runs"))
for n in peers:
    for m in ("bw-allow", "bw-policy", "bw-hr"):
        d = data.get((m, n), {})
        for kind in ("stream", "crr"):
            if "bpf_ns_per_packet_" + kind in d:
                lines.append("%-7s %-10s %-7s %10s %10s %12s %10d" % (n, m, kind,
                    d["bpf_from_lxc_ns_" + kind][0], d["bpf_to_lxc_ns_" + kind][0],
                    d["bpf_ns_per_packet_" + kind][0], d["bpf_runs_" + kind][0]))
lines.append("")
lines.append("Programming N peers (ms; bulwark import of new identities: 1 sample; others: median of 3):")
lines.append("%-7s %14s %14s %14s %10s %9s %8s %8s %9s" % ("peers", "bw import new", "bw re-import", "iptables-rst", "nft -f", "entries", "in_sync", "noreply", "bwd MiB"))
for n in peers:
    p = res["peers"][str(n)]["programming"]
    f = lambda x: "%.1f" % x if isinstance(x, float) else "-"
    lines.append("%-7s %14s %14s %14s %10s %9s %8s %8s %9s" % (n, f(p["bulwark_import_new_ms"]), f(p["bulwark_reimport_ms"]),
                 f(p["iptables_restore_ms"]), f(p["nft_f_ms"]),
                 "%d" % p["resolved_entries"] if p["resolved_entries"] else "-", p["in_sync"],
                 "%d" % p["imports_without_reply"] if p["imports_without_reply"] is not None else "-",
                 "%.1f" % (p["daemon_rss_kib"] / 1024) if p["daemon_rss_kib"] else "-"))

# micro: BPF_PROG_TEST_RUN per path
fig, xl, base_id = {}, {}, None
for line in open(micro_f):
    w = line.split()
    if not w:
        continue
    if w[0] == "base":
        base_id = w[1] if len(w) > 2 else None
    elif w[0] == "figure":
        fig[(w[1], w[2], w[3])] = float(w[4].split("=")[1])
    elif w[0] == "figure-base":
        fig[("base", "from_lxc", {"established": "est", "new-denied": "denied-hot"}.get(w[2], w[2]))] = float(w[3].split("=")[1])
    elif w[0] == "xlated":
        xl[(w[1], w[2])] = int(w[3].split("=")[1])
if fig:
    cfgs = [c for c in ("base", "events-off", "events-on", "host-routing") if any(k[0] == c for k in fig)]
    res["micro"] = {"%s %s %s" % k: v for k, v in fig.items()}
    res["micro_xlated"] = {"%s %s" % k: v for k, v in xl.items()}
    lines.append("")
    lines.append("Per path, BPF_PROG_TEST_RUN (ns per run, median of the rounds; new/denied: distinct packets, timer")
    lines.append("overhead subtracted; base = %s, before issue 9, events off, its own bench_bpfrun):" % (base_id or "-"))
    lines.append("%-9s %-11s" % ("program", "path") + "".join("%14s" % c for c in cfgs)
                 + ("%12s" % "off/base" if "base" in cfgs else ""))
    for prog in ("from_lxc", "to_lxc"):
        for path in ("est", "reply", "udp-est", "new", "denied", "denied-hot", "est-1"):
            row = [fig.get((c, prog, path)) for c in cfgs]
            if not any(row):
                continue
            r = ""
            if "base" in cfgs and fig.get(("base", prog, path)) and fig.get(("events-off", prog, path)):
                r = "%12.3f" % (fig[("events-off", prog, path)] / fig[("base", prog, path)])
            lines.append("%-9s %-11s" % (prog, path) + "".join("%14s" % ("%.1f" % x if x else "-") for x in row) + r)
    lines.append("xlated instructions: " + ", ".join("%s %s %d" % (k[0], k[1], v) for k, v in sorted(xl.items())))
    # a packet between two local pods, single runs: from_lxc + to_lxc, or
    # from_lxc alone with host routing (it runs both stages)
    k1 = [fig.get((c, p, "est-1")) for c, p in (("events-on", "from_lxc"), ("events-on", "to_lxc"), ("host-routing", "from_lxc"))]
    if all(k1):
        res["micro_est_packet"] = {"kernel": k1[0] + k1[1], "host_routing": k1[2]}
        lines.append("established packet pod to pod (est-1, events on): kernel routing %.1f ns (two programs), host routing %.1f ns (one program, both stages and the redirect): %.3f"
                     % (k1[0] + k1[1], k1[2], k1[2] / (k1[0] + k1[1])))

# churn
rounds = {}
for line in open(churn_f):
    w = line.split(" ", 1)
    if len(w) == 2 and w[1].startswith("{"):
        rounds.setdefault(int(w[0]), []).append(json.loads(w[1]))
if rounds:
    res["churn"] = {}
    lines.append("")
    lines.append("Endpoint churn, attach mode %s (bench_churn.py: per round, add M endpoints then delete them; ms from the API request" % attach)
    lines.append("to its reply, median and 95th percentile; bwd cpu ms per request; RSS full/empty MiB; identities):")
    lines.append("%-6s %-5s %9s %9s %9s %9s %8s %8s %8s %8s %7s" % ("M", "round", "add p50", "add p95", "del p50", "del p95",
                 "add cpu", "del cpu", "RSS full", "empty", "ids"))
    pct = lambda v, q: sorted(v)[min(len(v) - 1, int(q * len(v)))]
    for m in sorted(rounds):
        res["churn"][str(m)] = []
        for rd in rounds[m]:
            a, d = rd["add_ms"], rd["delete_ms"]
            row = {"round": rd["round"], "add_p50": statistics.median(a), "add_p95": pct(a, 0.95),
                   "delete_p50": statistics.median(d), "delete_p95": pct(d, 0.95),
                   "add_mean": statistics.mean(a), "delete_mean": statistics.mean(d),
                   "add_cpu_ms": rd["add_cpu_ms"], "delete_cpu_ms": rd["delete_cpu_ms"],
                   "rss_kib_full": rd["rss_kib_full"], "rss_kib_empty": rd["rss_kib_empty"],
                   "identities_full": rd["identities_full"], "identities_empty": rd["identities_empty"]}
            res["churn"][str(m)].append(row)
            lines.append("%-6d %-5d %9.2f %9.2f %9.2f %9.2f %8.2f %8.2f %8.1f %8.1f %7s" % (
                m, rd["round"], row["add_p50"], row["add_p95"], row["delete_p50"], row["delete_p95"],
                row["add_cpu_ms"], row["delete_cpu_ms"], rd["rss_kib_full"] / 1024.0,
                rd["rss_kib_empty"] / 1024.0, rd["identities_full"]))
lines.append("")
lines.append("machine: %s; wall time %s s" % (json.dumps(res["machine"]), secs))
text = "\n".join(lines)
print(text)
open(out + ".txt", "w").write(text + "\n")
json.dump(res, open(out + ".json", "w"), indent=1)
print("figures written to %s.json and %s.txt" % (out, out))
EOF
