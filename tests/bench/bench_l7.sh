#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/bench/bench_l7.sh - HTTP through bulwark's L7 proxy against haproxy
# and against no proxy at all, in one run, interleaved (docs/benchmarks.md,
# the "L7 HTTP" goal of ../shared/reference/performance-anchors.md).
#
# Topology (tests/e2e/lib.sh): a node netns; pods x/srv 10.1.0.1 (nginx,
# one worker, pinned to CPU 1) and x/cli 10.1.0.2 (wrk, pinned to CPU 0).
# Traffic goes pod -> node -> pod. Modes, in turn within each repetition:
#   direct    wrk -> nginx
#   haproxy   wrk -> haproxy on the node (one thread, pinned to CPU 1 like
#             nginx) -> nginx, with the rule as a path ACL: GET /public/...
#             passes, anything else gets 403 (http-reuse never: one server
#             connection per client connection, as a transparent proxy)
#   bulwark   wrk -> bulwark's engine and http module (tests/bench/
#             bench_l7_proxy, one thread, CPU 1) -> nginx, with the rule
#             as rules.http: [{"method":"GET","path":"/public/.*"}]
# Explicit position: the client connects to the proxy's address on the
# node. Then the transparent position: the client connects to the server's
# own address, 10.1.0.1:80, and the proxy on the node takes the connection
# on its way; bulwarkd runs, the pods are its endpoints. Modes, in turn:
#   direct-dp   wrk -> nginx through bulwark's datapath, no policy
#   haproxy-t   iptables TPROXY in the node netns (mangle PREROUTING; the
#               "-m socket --transparent" rule for the rest of the packets),
#               haproxy "bind ... transparent" and "source 0.0.0.0 usesrc
#               clientip" (nginx sees the client's address), same ACL;
#               bulwark's datapath below it without policy
#   bulwark-l4  bulwarkd, a CiliumNetworkPolicy allowing x/cli -> x/srv:80
#               at L4 (enforcement, no proxy: the datapath's own cost)
#   bulwark-t   the same policy with rules.http [{GET, /public/.*}]: the
#               datapath hands the connection to bulwarkd's engine
#               (docs/redirect.md, docs/l7.md)
#   bulwark-lua bulwark-t with a trivial Lua on_http loaded (docs/lua.md):
#               every request the rule allows is also asked of the script
#               (on the bw-lua thread) before it goes on
# bulwarkd, like nginx and haproxy, is pinned to CPU 1.
# For each: wrk keep-alive (CONNS connections, small GETs) and wrk with
# "Connection: close", requests/s and p99 latency. Then memory per idle
# connection: IDLE keep-alive connections opened through each proxy after
# one request each; bench_l7_proxy: its heap (mallinfo2) and RSS before and
# after; bulwarkd (transparent; its flow ring is 16 flows, so that its
# growth is the connections') and haproxy: RSS.
#
# Usage: bench_l7.sh [--quick] [--reps R] [--duration S] [--conns C] [--idle N]
#                    [--position explicit|transparent|both] [--kinds keepalive,close]
#                    [--tmodes MODE,...] (transparent modes, default all five)
# --quick: 1 repetition of 2 s, 500 idle connections. --idle 0: no memory runs.
# Writes tests/bench/results/l7-DATE.{json,txt} in the build tree.

set -u
BENCH_NAME=l7
REPS=3
DUR=5
CONNS=16
IDLE=2000
POSITION=both
KINDS="keepalive close"
TMODES=(direct-dp haproxy-t bulwark-l4 bulwark-t bulwark-lua)

while [ $# -gt 0 ]; do
	case $1 in
	--quick) REPS=1; DUR=2; IDLE=500 ;;
	--reps) REPS=$2; shift ;;
	--duration) DUR=$2; shift ;;
	--conns) CONNS=$2; shift ;;
	--idle) IDLE=$2; shift ;;
	--position) POSITION=$2; shift ;;
	--kinds) KINDS=${2//,/ }; shift ;;
	--tmodes) IFS=, read -r -a TMODES <<<"$2"; shift ;;
	-h | --help) sed -n '3,50p' "$0"; exit 0 ;;
	*) echo "bench_l7.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
case $POSITION in
explicit | transparent | both) ;;
*) echo "bench_l7.sh: --position is explicit, transparent or both" >&2; exit 2 ;;
esac

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

bench_init
bw_require_tool haproxy haproxy
PROXY_BIN=$abs_top_builddir/tests/bench/bench_l7_proxy
[ -x "$PROXY_BIN" ] || bw_die "$PROXY_BIN is not built (make check builds it)"

SRV=x/srv
CLI=x/cli
bw_pod_add x srv 10.1.0.1
bw_pod_add x cli 10.1.0.2
bench_pod_quiet "$SRV"
bench_pod_quiet "$CLI"
SRV_IP=10.1.0.1
NODE_IP=$(bw_ip_of node)
HA_PORT=8081
BW_PORT=8082
HA_TPORT=8083
RULE='[{"method":"GET","path":"/public/.*"}]'

# ---- servers --------------------------------------------------------------------
NGX=$BW_TMP/nginx
mkdir -p "$NGX"
cat >"$NGX/nginx.conf" <<EOF
user root root;
worker_processes 1;
worker_rlimit_nofile 65536;
daemon off;
error_log $NGX/error.log;
pid $NGX/nginx.pid;
events { worker_connections 16384; }
http {
	access_log off;
	keepalive_requests 1000000;
	keepalive_timeout 3600s;
	client_body_temp_path $NGX/body;
	proxy_temp_path $NGX/proxy;
	fastcgi_temp_path $NGX/fastcgi;
	uwsgi_temp_path $NGX/uwsgi;
	scgi_temp_path $NGX/scgi;
	server {
		listen $SRV_IP:80 reuseport backlog=4096;
		location / { return 200 "ok\n"; }
	}
}
EOF
bw_bg "$(bw_netns_of "$SRV")" taskset -c 1 nginx -p "$NGX" -c "$NGX/nginx.conf"
bw_wait_listen "$(bw_netns_of "$SRV")" tcp 80

# haproxy: explicit (haproxy.cfg) and transparent (haproxy-t.cfg) instances,
# so that each one's memory is measured fresh
cat >"$BW_TMP/haproxy.cfg" <<EOF
global
	maxconn 8000
	nbthread 1
defaults
	mode http
	timeout connect 5s
	timeout client 1h
	timeout server 1h
	timeout http-keep-alive 1h
	option http-keep-alive
	http-reuse never
frontend fe
	bind $NODE_IP:$HA_PORT
	acl allowed_method method GET
	acl allowed_path path_reg ^/public/.*\$
	http-request deny deny_status 403 unless allowed_method allowed_path
	default_backend be
backend be
	server nginx $SRV_IP:80
EOF
sed -e "s/bind $NODE_IP:$HA_PORT/bind 0.0.0.0:$HA_TPORT transparent/" \
	-e "s/server nginx $SRV_IP:80/server nginx $SRV_IP:80 source 0.0.0.0 usesrc clientip/" \
	"$BW_TMP/haproxy.cfg" >"$BW_TMP/haproxy-t.cfg"
bw_bg "$BW_NODE" taskset -c 1 haproxy -db -f "$BW_TMP/haproxy.cfg"
HA_PID=${BW_PIDS[-1]}
bw_wait_listen "$BW_NODE" tcp $HA_PORT
bw_bg "$BW_NODE" taskset -c 1 haproxy -db -f "$BW_TMP/haproxy-t.cfg"
HA_T_PID=${BW_PIDS[-1]}
bw_wait_listen "$BW_NODE" tcp $HA_TPORT
bw_bg "$BW_NODE" taskset -c 1 "$PROXY_BIN" -l "$NODE_IP:$BW_PORT" -u "$SRV_IP:80" \
	-r "$RULE" -s "$BW_TMP/bw-stats"
BW_PROXY_PID=${BW_PIDS[-1]}
bw_wait_listen "$BW_NODE" tcp $BW_PORT

# the pids of the processes themselves (bw_bg records `ip netns exec`'s,
# which exec()s the command, so they are the same)
url_of() {
	case $1 in
	direct | direct-dp | haproxy-t | bulwark-l4 | bulwark-t | bulwark-lua) echo "http://$SRV_IP:80/public/bench" ;;
	haproxy) echo "http://$NODE_IP:$HA_PORT/public/bench" ;;
	bulwark) echo "http://$NODE_IP:$BW_PORT/public/bench" ;;
	esac
}

cli_code() {
	bw_nsx "$(bw_netns_of "$CLI")" curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$1"
}

# check_rule MODE : the rule is really there: a denied request gets 403, an
# allowed one 200.
check_rule() {
	local u code
	u=$(url_of "$1")
	code=$(cli_code "${u%/public/bench}/private")
	[ "$code" = 403 ] || bw_die "$1: /private should be 403, got $code"
	code=$(cli_code "$u")
	[ "$code" = 200 ] || bw_die "$1: /public/bench should be 200, got $code"
}

# check_direct MODE : no rule: /private reaches nginx.
check_direct() {
	local code
	code=$(cli_code "http://$SRV_IP/private")
	if [ "$code" != 200 ]; then
		nodex iptables -t mangle -S >&2
		bw policy trace --from x/cli --to x/srv --port 80 >&2
		bw observe --last 30 >&2
		bw_die "$1: /private should reach nginx (200), got $code"
	fi
}

# ---- throughput ----------------------------------------------------------------------
# run_wrk MODE KIND : one wrk run; records rps and p99 (ms).
# proxy_pid MODE : the pid of the proxy process of MODE (none for direct modes)
proxy_pid() {
	case $1 in
	haproxy) echo "$HA_PID" ;;
	haproxy-t) echo "$HA_T_PID" ;;
	bulwark) echo "$BW_PROXY_PID" ;;
	bulwark-l4 | bulwark-t | bulwark-lua) echo "$BW_DAEMON_PID" ;;
	esac
}

# server_ticks PROXY-PID : CPU clock ticks of everything on the server's
# side of the run, all pinned to CPU 1: nginx's processes, the proxy, and
# bulwarkd when it runs (its flow pipeline reads the datapath's events in
# every transparent mode, proxied or not)
server_ticks() {
	local t=0 p seen=" "
	for p in $(ip netns pids "$(bw_netns_of "$SRV")") $1 ${BW_DAEMON_PID:-}; do
		[ -r "/proc/$p/stat" ] || continue
		case $seen in *" $p "*) continue ;; esac
		seen="$seen$p "
		t=$((t + $(bench_pid_cpu_ticks "$p")))
	done
	echo "$t"
}

run_wrk() {
	local mode=$1 kind=$2 out=$BW_TMP/wrk.out pid c0=0 c1=0 s0 s1
	local -a hdr=()
	[ "$kind" = close ] && hdr=(-H "Connection: close")
	pid=$(proxy_pid "$mode")
	[ -z "$pid" ] || c0=$(bench_pid_cpu_ticks "$pid")
	s0=$(server_ticks "$pid")
	bw_nsx "$(bw_netns_of "$CLI")" taskset -c 0 wrk -t 2 -c "$CONNS" -d "${DUR}s" \
		--latency "${hdr[@]}" "$(url_of "$mode")" >"$out" 2>&1 ||
		{ cat "$out"; bw_die "wrk failed ($mode $kind)"; }
	[ -z "$pid" ] || c1=$(bench_pid_cpu_ticks "$pid")
	s1=$(server_ticks "$pid")
	python3 - "$out" "$mode" "$kind" "$BENCH_SAMPLES" "$((c1 - c0))" "$(getconf CLK_TCK)" "$pid" \
		"$((s1 - s0))" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = re.search(r"Requests/sec:\s+([0-9.]+)", text)
p99 = re.search(r"^\s*99%\s+([0-9.]+)(us|ms|s)\s*$", text, re.M)
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
if not rps or not p99:
    sys.exit("cannot read wrk's output:\n" + text)
scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
with open(sys.argv[4], "a") as f:
    f.write("%s\t%s\trps\t%s\n" % (sys.argv[2], sys.argv[3], rps.group(1)))
    f.write("%s\t%s\tp99_ms\t%.3f\n" % (sys.argv[2], sys.argv[3], float(p99.group(1)) * scale))
    f.write("%s\t%s\tnon2xx\t%s\n" % (sys.argv[2], sys.argv[3], errs.group(1) if errs else 0))
    if sock:
        f.write("%s\t%s\tsocket_errors\t%d\n" % (sys.argv[2], sys.argv[3], sum(int(x) for x in sock.groups())))
    # the proxy process's CPU time (user + system, its own and the kernel
    # work done in its context) per request
    nreq = re.search(r"^\s*(\d+) requests in", text, re.M)
    if sys.argv[7] and nreq and int(nreq.group(1)) > 0:
        f.write("%s\t%s\tcpu_us_per_req\t%.2f\n" % (sys.argv[2], sys.argv[3],
                int(sys.argv[5]) * 1e6 / int(sys.argv[6]) / int(nreq.group(1))))
    if nreq and int(nreq.group(1)) > 0:
        f.write("%s\t%s\tserver_cpu_us_per_req\t%.2f\n" % (sys.argv[2], sys.argv[3],
                int(sys.argv[8]) * 1e6 / int(sys.argv[6]) / int(nreq.group(1))))
PY
}

# ---- memory per idle connection ------------------------------------------------------
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
bw_stats() {
	kill -USR1 "$BW_PROXY_PID"
	bw_wait_for 10 test -s "$BW_TMP/bw-stats" || bw_die "bench_l7_proxy wrote no stats"
	awk -v k="$1" '$1 == k { print $2 }' "$BW_TMP/bw-stats"
	rm -f "$BW_TMP/bw-stats"
}

cat >"$BW_TMP/idle.py" <<'PY'
import os, resource, socket, sys, time
host, port, n, tmp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 256, n + 256))
socks = []
req = b"GET /public/idle HTTP/1.1\r\nHost: bench\r\n\r\n"
for i in range(n):
    s = socket.create_connection((host, port))
    s.sendall(req)
    got = b""
    while not got.endswith(b"ok\n"):
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("connection %d closed early" % i)
        got += chunk
    socks.append(s)
open(os.path.join(tmp, "idle-ready"), "w").close()
while not os.path.exists(os.path.join(tmp, "idle-stop")):
    time.sleep(0.1)
PY

# idle_open HOST PORT : IDLE connections, one request each, then held open
# until idle_close.
idle_open() {
	rm -f "$BW_TMP/idle-ready" "$BW_TMP/idle-stop"
	bw_bg "$(bw_netns_of "$CLI")" python3 "$BW_TMP/idle.py" "$1" "$2" "$IDLE" "$BW_TMP"
	IDLE_PID=${BW_PIDS[-1]}
	bw_wait_for 120 test -e "$BW_TMP/idle-ready" || {
		tail -n 5 "$BW_TMP/bg.log"
		bw_die "$IDLE idle connections could not be opened through $1:$2"
	}
}

idle_close() {
	touch "$BW_TMP/idle-stop"
	wait "$IDLE_PID" 2>/dev/null
	sleep 1 # the proxies see the closes
}

# ---- explicit position ------------------------------------------------------------------
if [ "$POSITION" != transparent ]; then
	check_rule haproxy
	check_rule bulwark
	check_direct direct
	MODES=(direct haproxy bulwark)
	for rep in $(seq "$REPS"); do
		for i in 0 1 2; do
			m=${MODES[$(((i + rep) % 3))]}
			for kind in $KINDS; do
				bw_log "rep $rep: $m $kind"
				run_wrk "$m" "$kind"
			done
		done
	done
	# memory after the runs: the engine's in-use heap (mallinfo2) in steady
	# state, its one-time allocations made
	# bench_l7_proxy: heap and RSS
	[ "$IDLE" -gt 0 ] && {
	heap0=$(bw_stats heap_bytes)
	rss0=$(rss_kb "$BW_PROXY_PID")
	idle_open "$NODE_IP" $BW_PORT
	heap1=$(bw_stats heap_bytes)
	conns=$(bw_stats connections)
	bufs=$(bw_stats buffer_bytes)
	rss1=$(rss_kb "$BW_PROXY_PID")
	idle_close
	bench_sample bulwark idle connections "$conns"
	bench_sample bulwark idle heap_per_conn "$(((heap1 - heap0) / IDLE))"
	bench_sample bulwark idle rss_per_conn "$(((rss1 - rss0) * 1024 / IDLE))"
	bench_sample bulwark idle buffer_bytes "$bufs"
	# haproxy: RSS
	rss0=$(rss_kb "$HA_PID")
	idle_open "$NODE_IP" $HA_PORT
	rss1=$(rss_kb "$HA_PID")
	idle_close
	bench_sample haproxy idle rss_per_conn "$(((rss1 - rss0) * 1024 / IDLE))"
	}
fi

# ---- transparent position ---------------------------------------------------------------
# haproxy's TPROXY rules, in the node netns only (nodex)
TP_RULES=(
	"PREROUTING -p tcp -m socket --transparent -j MARK --set-xmark 0x1/0x1"
	"PREROUTING -p tcp -d $SRV_IP --dport 80 -j TPROXY --tproxy-mark 0x1/0x1 --on-port $HA_TPORT"
)
# tproxy on|off
tproxy() {
	local r
	for r in "${TP_RULES[@]}"; do
		if [ "$1" = on ]; then
			# shellcheck disable=SC2086
			nodex iptables -t mangle -A $r || bw_die "iptables -A $r failed"
		else
			# shellcheck disable=SC2086
			nodex iptables -t mangle -D $r 2>/dev/null
		fi
	done
}

# set_policy none|l4|l7 : x/srv's ingress policy
set_policy() {
	bw policy delete x/bench-l7 >/dev/null 2>&1
	[ "$1" = none ] && return 0
	{
		printf '%s\n' 'apiVersion: cilium.io/v2' 'kind: CiliumNetworkPolicy' \
			'metadata: {name: bench-l7, namespace: x}' 'spec:' \
			'  endpointSelector: {matchLabels: {app: web}}' '  ingress:' \
			'  - fromEndpoints: [{matchLabels: {app: client}}]' '    toPorts:' \
			'    - ports: [{port: "80", protocol: TCP}]'
		[ "$1" = l4 ] ||
			printf '%s\n' '      rules:' '        http: [{method: GET, path: "/public/.*"}]'
	} | bw_policy_import_text "bench-$1" >/dev/null || bw_die "policy import ($1) failed"
}

# lua_script on|off : the trivial on_http script in [lua] dir, loaded or gone
LUA_DIR=$BW_TMP/lua
lua_loaded() {
	bw lua list -o json 2>/dev/null | python3 -c 'import json, sys
d = json.load(sys.stdin)
sys.exit(0 if any(s["name"] == "trivial" and s["state"] == "active" for s in d["scripts"]) else 1)'
}
lua_gone() { ! lua_loaded; }
lua_script() {
	if [ "$1" = on ]; then
		printf 'function on_http(req) end\n' >"$LUA_DIR/.trivial.tmp"
		mv -f "$LUA_DIR/.trivial.tmp" "$LUA_DIR/trivial.lua"
		bw_wait_for 10 lua_loaded || bw_die "the on_http script did not load"
	elif [ -e "$LUA_DIR/trivial.lua" ]; then
		rm -f "$LUA_DIR/trivial.lua"
		bw_wait_for 10 lua_gone || bw_die "the on_http script did not go"
	fi
}

# transparent_mode MODE : the node in MODE's state, checked
transparent_mode() {
	tproxy off
	[ "$1" = bulwark-lua ] || lua_script off
	case $1 in
	direct-dp) set_policy none; check_direct "$1" ;;
	haproxy-t) set_policy none; tproxy on; check_rule "$1" ;;
	bulwark-l4) set_policy l4; check_direct "$1" ;;
	bulwark-t) set_policy l7; check_rule "$1" ;;
	bulwark-lua) set_policy l7; lua_script on; check_rule "$1" ;;
	esac
}

if [ "$POSITION" != explicit ]; then
	BW_CONF=$BW_TMP/bulwark.conf
	printf '[daemon]\nmodules = identity-local netpol-cilium http\n' >"$BW_CONF"
	mkdir -p "$LUA_DIR"
	bw_start_daemon -o flows.capacity=16 -o "lua.dir=$LUA_DIR"
	taskset -a -p -c 1 "$BW_DAEMON_PID" >/dev/null
	bw_pod_register x/srv app=web
	bw_pod_register x/cli app=client
	# bulwarkd turns TCP early demux off in its netns (daemon.early_demux,
	# docs/redirect.md): a later connection that is not proxied (the next
	# mode) from a client port a proxy's TIME_WAIT socket holds is then
	# forwarded; the same holds for haproxy's TIME_WAIT sockets.
	[ "$(nodex sysctl -n net.ipv4.tcp_early_demux)" = 0 ] ||
		bw_die "bulwarkd did not turn tcp_early_demux off"
	nodex ip rule add fwmark 0x1/0x1 lookup 100 priority 100 ||
		bw_die "ip rule for TPROXY failed"
	nodex ip route add local 0.0.0.0/0 dev lo table 100 ||
		bw_die "ip route for TPROXY failed"
	# memory first (fresh processes): bulwarkd's RSS, haproxy's RSS
	# (bulwarkd's flow ring is 16 flows here, see bw_start_daemon above:
	# what grows is the connections', not the flows')
	[ "$IDLE" -gt 0 ] && {
	transparent_mode bulwark-t
	rss0=$(rss_kb "$BW_DAEMON_PID")
	idle_open "$SRV_IP" 80
	rss1=$(rss_kb "$BW_DAEMON_PID")
	idle_close
	bench_sample bulwark-t idle rss_per_conn "$(((rss1 - rss0) * 1024 / IDLE))"
	transparent_mode haproxy-t
	rss0=$(rss_kb "$HA_T_PID")
	idle_open "$SRV_IP" 80
	rss1=$(rss_kb "$HA_T_PID")
	idle_close
	bench_sample haproxy-t idle rss_per_conn "$(((rss1 - rss0) * 1024 / IDLE))"
	}
	for rep in $(seq "$REPS"); do
		for ((i = 0; i < ${#TMODES[@]}; i++)); do
			m=${TMODES[$(((i + rep) % ${#TMODES[@]}))]}
			transparent_mode "$m"
			for kind in $KINDS; do
				bw_log "rep $rep: $m $kind"
				run_wrk "$m" "$kind"
			done
		done
	done
	tproxy off
	lua_script off
	set_policy none
fi

# ---- report ----------------------------------------------------------------------------
OUT=$BENCH_RESULTS_DIR/$BENCH_NAME-$BENCH_DATE
python3 - "$BENCH_SAMPLES" "$OUT" "$(bench_machine_json)" "$REPS" "$DUR" "$CONNS" "$IDLE" <<'PY'
import json, statistics, sys
samples, out, machine = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
reps, dur, conns, idle = (int(x) for x in sys.argv[4:8])
data = {}
for line in open(samples):
    mode, kind, metric, value = line.rstrip("\n").split("\t")
    data.setdefault((mode, kind, metric), []).append(float(value))
def med(mode, kind, metric):
    v = data.get((mode, kind, metric))
    return statistics.median(v) if v else None
res = {"machine": machine, "reps": reps, "duration_s": dur, "connections": conns,
       "idle_connections": idle, "runs": {}}
lines = ["L7 HTTP: wrk -t2 -c%d, %d s x %d, small GETs to nginx; median of runs" % (conns, dur, reps)]
tables = (("explicit position (the client connects to the proxy):", "direct", "haproxy",
           ("direct", "haproxy", "bulwark")),
          ("transparent position (the client connects to the server; bulwark's datapath on the veths):",
           "direct-dp", "haproxy-t", ("direct-dp", "haproxy-t", "bulwark-l4", "bulwark-t",
                                      "bulwark-lua")))
for title, base, ha, modes in tables:
    if all(med(m, k, "rps") is None for m in modes for k in ("keepalive", "close")):
        continue
    lines += ["", title,
              "%-10s %-10s %12s %9s %10s %10s %11s %10s %11s %10s" % ("mode", "kind", "requests/s", "p99 ms", "vs direct", "vs haproxy",
                                                  "proxy us/r", "vs ha", "server us/r", "vs ha")]
    for kind in ("keepalive", "close"):
        for mode in modes:
            if med(mode, kind, "rps") is None:
                continue
            rps, p99 = med(mode, kind, "rps"), med(mode, kind, "p99_ms")
            d, h = med(base, kind, "rps"), med(ha, kind, "rps")
            cpu, hcpu = med(mode, kind, "cpu_us_per_req"), med(ha, kind, "cpu_us_per_req")
            scpu, hscpu = med(mode, kind, "server_cpu_us_per_req"), med(ha, kind, "server_cpu_us_per_req")
            res["runs"]["%s/%s" % (mode, kind)] = {
                "rps": rps, "p99_ms": p99, "rps_samples": data.get((mode, kind, "rps"), []),
                "cpu_us_per_req": cpu, "cpu_samples": data.get((mode, kind, "cpu_us_per_req"), []),
                "server_cpu_us_per_req": scpu,
                "server_cpu_samples": data.get((mode, kind, "server_cpu_us_per_req"), []),
                "non2xx": med(mode, kind, "non2xx"), "socket_errors": med(mode, kind, "socket_errors")}
            lines.append("%-10s %-10s %12.0f %9.2f %10s %9s %11s %10s %11s %10s" % (
                mode, kind, rps, p99, "%.2fx" % (rps / d) if d else "-",
                "%.2fx" % (rps / h) if h and mode.startswith("bulwark") else "-",
                "%.1f" % cpu if cpu is not None else "-",
                "%.2fx" % (cpu / hcpu) if cpu is not None and hcpu and mode.startswith("bulwark") else "-",
                "%.1f" % scpu if scpu is not None else "-",
                "%.2fx" % (scpu / hscpu) if scpu is not None and hscpu and mode.startswith("bulwark") else "-"))
if med("bulwark-lua", "keepalive", "rps") is not None or med("bulwark-lua", "close", "rps") is not None:
    lines += ["", "a trivial Lua on_http (bulwark-lua) vs none (bulwark-t):"]
    for kind in ("keepalive", "close"):
        if med("bulwark-lua", kind, "rps") is None or med("bulwark-t", kind, "rps") is None:
            continue
        r = med("bulwark-lua", kind, "rps") / med("bulwark-t", kind, "rps")
        res["runs"]["lua_vs_none/%s" % kind] = r
        lines.append("  %-10s %.2fx requests/s" % (kind, r))
res["idle"] = {}
lines += ["", "memory per idle keep-alive connection (%d connections, one request each):" % idle]
if med("bulwark", "idle", "heap_per_conn") is not None:
    res["idle"].update({
        "bulwark_heap_bytes_per_conn": med("bulwark", "idle", "heap_per_conn"),
        "bulwark_rss_bytes_per_conn": med("bulwark", "idle", "rss_per_conn"),
        "bulwark_buffer_bytes_held": med("bulwark", "idle", "buffer_bytes"),
        "haproxy_rss_bytes_per_conn": med("haproxy", "idle", "rss_per_conn")})
    lines.append("  explicit, the engine (bench_l7_proxy): %.0f bytes of heap, %.0f bytes of RSS (buffers held: %.0f bytes)" % (
        res["idle"]["bulwark_heap_bytes_per_conn"], res["idle"]["bulwark_rss_bytes_per_conn"],
        res["idle"]["bulwark_buffer_bytes_held"]))
    lines.append("  explicit, haproxy:                     %.0f bytes of RSS" % res["idle"]["haproxy_rss_bytes_per_conn"])
if med("bulwark-t", "idle", "rss_per_conn") is not None:
    res["idle"].update({
        "bulwarkd_transparent_rss_bytes_per_conn": med("bulwark-t", "idle", "rss_per_conn"),
        "haproxy_transparent_rss_bytes_per_conn": med("haproxy-t", "idle", "rss_per_conn")})
    lines.append("  transparent, bulwarkd:                 %.0f bytes of RSS" % res["idle"]["bulwarkd_transparent_rss_bytes_per_conn"])
    lines.append("  transparent, haproxy:                  %.0f bytes of RSS" % res["idle"]["haproxy_transparent_rss_bytes_per_conn"])
text = "\n".join(lines) + "\n"
open(out + ".txt", "w").write(text)
json.dump(res, open(out + ".json", "w"), indent=1)
print(text, end="")
print("written: %s.{txt,json}" % out)
PY
exit 0
