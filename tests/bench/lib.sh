# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# tests/bench/lib.sh - helpers the benchmark scripts source (bash only), on
# top of tests/e2e/lib.sh: the same per-run topology (a "node" netns running
# bulwarkd, pod netns on veth pairs, private bpffs, state dir and socket,
# everything removed by the EXIT trap), plus
#
#   - samples: bench_sample MODE N METRIC VALUE appends one line to the run's
#     sample file; the scripts' python3 reporters turn them into medians,
#     ratios, a table and a JSON file;
#   - the global sysctl kernel.bpf_stats_enabled: bench_bpf_stats_on saves
#     the previous value and enables it, bench_bpf_stats_off restores it; the
#     EXIT trap restores it too, also after a failure;
#   - nodex CMD...: run CMD in the node netns. Every iptables, nft and sysctl
#     command of the benchmarks goes through it (or through ip netns exec
#     with a pod netns): nothing is ever run in the host's namespace.
#
# Benchmarks only report: no figure is compared with a threshold here.

if [ -z "${BASH_VERSION:-}" ]; then
	echo "tests/bench/lib.sh needs bash" >&2
	exit 99
fi

BENCH_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${abs_top_srcdir:=$(cd "$BENCH_LIB_DIR/../.." && pwd)}"
: "${abs_top_srcdir:=}"
# run from a build directory (make bench, or by hand): that tree's binaries
if [ -z "${abs_top_builddir:-}" ] && [ -x "$PWD/bulwarkd" ]; then
	abs_top_builddir=$PWD
fi
: "${abs_top_builddir:=$abs_top_srcdir}"
export abs_top_srcdir abs_top_builddir
# the e2e helpers print the daemon log on a failed exit
# shellcheck source=../e2e/lib.sh
. "$abs_top_srcdir/tests/e2e/lib.sh"

BENCH_SAMPLES=""          # the run's sample file (TSV)
BENCH_STATS_PREV=""       # kernel.bpf_stats_enabled before we touched it
BENCH_RESULTS_DIR=${BENCH_RESULTS_DIR:-$abs_top_builddir/tests/bench/results}
BENCH_DATE=$(date -u +%Y%m%dT%H%M%SZ)

# bench_init : bw_init (skip unless root), the EXIT trap that also restores
# the bpf_stats sysctl, the results directory and the sample file.
bench_init() {
	bw_init
	trap bench_cleanup EXIT
	mkdir -p "$BENCH_RESULTS_DIR" || bw_die "cannot create $BENCH_RESULTS_DIR"
	BENCH_SAMPLES=$BW_TMP/samples.tsv
	: >"$BENCH_SAMPLES"
	for t in iperf3:iperf3 wrk:wrk nginx:nginx-light bpftool:bpftool \
		taskset:util-linux; do
		bw_require_tool "${t%%:*}" "${t#*:}"
	done
}

bench_cleanup() {
	local rc=$?
	bench_bpf_stats_off
	(exit $rc)
	bw_cleanup
}

# nodex CMD... : CMD in the node netns (never the host's).
nodex() {
	[ -n "$BW_NODE" ] && [ -e "/run/netns/$BW_NODE" ] ||
		bw_die "node netns missing: refusing to run $* outside it"
	ip netns exec "$BW_NODE" "$@"
}

# bench_sample MODE N METRIC VALUE : record one sample.
bench_sample() {
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$BENCH_SAMPLES"
}

bench_now_ns() {
	date +%s%N
}

bench_bpf_stats_on() {
	[ -n "$BENCH_STATS_PREV" ] && return 0
	BENCH_STATS_PREV=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null) || return 1
	sysctl -qw kernel.bpf_stats_enabled=1
}

bench_bpf_stats_off() {
	[ -n "$BENCH_STATS_PREV" ] || return 0
	sysctl -qw kernel.bpf_stats_enabled="$BENCH_STATS_PREV"
	BENCH_STATS_PREV=""
}

# bench_prog_stats ID : print "run_time_ns run_cnt" of BPF program ID.
bench_prog_stats() {
	bpftool prog show id "$1" -j 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d.get("run_time_ns", 0), d.get("run_cnt", 0))'
}

# bench_tc_prog_id IFNAME ingress|egress : the id of the BPF program
# attached to IFNAME (node netns) in that direction, or nothing.
bench_tc_prog_id() {
	local id ifx
	id=$(tc -n "$BW_NODE" filter show dev "$1" "$2" 2>/dev/null |
		sed -n 's/.* id \([0-9][0-9]*\) .*/\1/p' | head -n 1)
	if [ -z "$id" ]; then # tcx: the link bulwarkd pinned for (ifindex, hook)
		ifx=$(ip -n "$BW_NODE" -j link show dev "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["ifindex"])')
		id=$(bpftool -j link show pinned "$BW_BPFFS/links/$ifx-$2" 2>/dev/null |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["prog_id"])' 2>/dev/null)
	fi
	echo "$id"
}

# bench_pid_cpu_ticks PID : utime+stime of PID in clock ticks.
bench_pid_cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# bench_machine_json : machine facts as a JSON object.
bench_machine_json() {
	python3 - "$(uname -r)" "$(nproc)" <<'EOF'
import json, sys, platform
cpu = ""
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
except OSError:
    pass
load = open("/proc/loadavg").read().split()[:3]
print(json.dumps({"kernel": sys.argv[1], "cpus": int(sys.argv[2]), "cpu_model": cpu,
                  "loadavg_at_start": load}))
EOF
}

# bench_pod_quiet NS/POD : no IPv6 (no router solicitations, MLD) in the
# pod, so the only packets on its veth are the benchmark's.
bench_pod_quiet() {
	local ns
	ns=$(bw_netns_of "$1") || exit 99
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
}

# bench_client_tune NS/POD : many short connections from this pod.
bench_client_tune() {
	local ns
	ns=$(bw_netns_of "$1") || exit 99
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
	ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1
}

# bench_nginx WHO IP CPU : nginx (1 worker, pinned to CPU) on IP:80 in WHO's
# netns answering "ok" to everything, config and logs in the temp dir.
bench_nginx() {
	local ns dir=$BW_TMP/nginx
	ns=$(bw_netns_of "$1") || exit 99
	mkdir -p "$dir"
	cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 8192; }
http {
	access_log off;
	client_body_temp_path $dir/body;
	proxy_temp_path $dir/proxy;
	fastcgi_temp_path $dir/fastcgi;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
	server {
		listen $2:80 backlog=8192 reuseport;
		location / { return 200 "ok\n"; }
	}
}
EOF
	ip netns exec "$ns" sysctl -qw net.core.somaxconn=8192
	ip netns exec "$ns" sysctl -qw net.ipv4.tcp_max_syn_backlog=8192
	bw_bg "$ns" taskset -c "$3" nginx -p "$dir" -c "$dir/nginx.conf"
	bw_wait_listen "$ns" tcp 80
}

# bench_iperf3_server WHO PORT CPU
bench_iperf3_server() {
	local ns
	ns=$(bw_netns_of "$1") || exit 99
	bw_bg "$ns" taskset -c "$3" iperf3 -s -p "$2"
	bw_wait_listen "$ns" tcp "$2"
}

# bench_iperf3_tcp FROM SERVER_IP PORT SECONDS CPU : one single-stream run;
# prints the receiver's bits per second, nothing if the run failed.
bench_iperf3_tcp() {
	local ns
	ns=$(bw_netns_of "$1") || exit 99
	timeout $(($4 + 15)) ip netns exec "$ns" taskset -c "$5" \
		iperf3 -c "$2" -p "$3" -t "$4" -J 2>/dev/null |
		python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
    print(int(d["end"]["sum_received"]["bits_per_second"]))
except Exception:
    pass'
}

# bench_wrk_close FROM URL SECONDS CONNS CPU : wrk with "Connection: close"
# (a new TCP connection per request); prints "requests_per_s errors".
bench_wrk_close() {
	local ns out
	ns=$(bw_netns_of "$1") || exit 99
	out=$(timeout $(($3 + 15)) ip netns exec "$ns" taskset -c "$5" \
		wrk -t1 -c"$4" -d"$3"s -H "Connection: close" "$2" 2>&1)
	printf '%s\n' "$out" | awk '
		/Requests\/sec:/ { rps = $2 }
		/Socket errors:/ { gsub(",", ""); err = $4 + $6 + $8 + $10 }
		/Non-2xx/ { err += $NF }
		END { if (rps != "") printf "%s %d\n", rps, err }'
}
