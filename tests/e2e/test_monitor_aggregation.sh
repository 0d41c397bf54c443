#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_monitor_aggregation.sh - [flows] monitor_aggregation,
# monitor_interval and monitor_flags (Cilium's --monitor-aggregation,
# -interval and -flags), each changed by a SIGHUP reload, checked by
# counting the trace flows of a known exchange:
#
#   none            every packet at every program: a pod-to-pod datagram is
#                   traced where it leaves (FROM_ENDPOINT) and where it
#                   arrives (TO_ENDPOINT);
#   lowest, low     every packet once, at its transmit side: pod to pod only
#                   TO_ENDPOINT; pod to world FROM_ENDPOINT;
#   medium, maximum a connection's reports only: its creation and its first
#                   reply (plus TCP flags first seen, the close, and again
#                   after monitor_interval);
#   monitor_interval a long-lived UDP flow is reported again after the
#                   interval, never with 0;
#   monitor_flags   "none" reports fewer TCP packets than "all".
#
# Every exchange uses its own client source port, so its flows are told
# apart. The counts are exact where the datapath's rule makes them so (the
# sender reports how many replies it got); the interval check needs only a
# lower bound that the sender's own sleeps guarantee.
#
# Topology: x/a (10.1.0.1, UDP 7000, TCP 80), x/b (10.1.0.2), external e1
# (192.0.2.10, UDP 7000). No policy: traces do not depend on enforcement.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init
bw_require_tool jq jq

CONF=$BW_TMP/bulwark.conf
cp "$(bw_daemon_conf)" "$CONF" || bw_die "no bulwark.conf to copy"
grep -q '^monitor_aggregation = medium' "$CONF" || bw_die "$CONF has no monitor_aggregation line"
grep -q '^monitor_interval = ' "$CONF" || bw_die "$CONF has no monitor_interval line"
grep -q '^monitor_flags = ' "$CONF" || bw_die "$CONF has no monitor_flags line"
export BW_CONF=$CONF
bw_start_daemon

bw namespace set x || bw_die "namespace set x"
bw_pod_add x a 10.1.0.1 app=srv || bw_die "endpoint add x/a"
bw_pod_add x b 10.1.0.2 app=cli || bw_die "endpoint add x/b"
bw_external_add e1 192.0.2.10
bw_server_udp x/a 7000
bw_server_udp e1 7000
bw_server_tcp x/a 80

# The client: N datagrams from source port SPORT to DST:7000, GAP seconds
# apart, each waiting up to 1 s for its answer; prints the answers it got.
SENDER='import socket, sys, time
dst, sport, n, gap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", sport))
s.settimeout(1.0)
got = 0
for i in range(n):
    s.sendto(b"ping", (dst, 7000))
    try:
        s.recvfrom(100)
        got += 1
    except socket.timeout:
        pass
    time.sleep(gap)
print(got)'

# send FROM DST SPORT N GAP : run the client in FROM's netns; prints replies
send() {
	local ns
	ns=$(bw_netns_of "$1") || exit 99
	ip netns exec "$ns" python3 -c "$SENDER" "$(bw_ip_of "$2")" "$3" "$4" "$5"
}

# traces SPORT : the trace flows of the exchange from SPORT, as
# "POINT REPLY" lines (REPLY: 1 for the answers), sorted and counted
traces() {
	bw observe --all --type trace -o json 2>/dev/null | jq -r --argjson p "$1" '
		select(has("flow")) | .flow |
		select(.l4.UDP.source_port == $p or .l4.UDP.destination_port == $p or
		       .l4.TCP.source_port == $p or .l4.TCP.destination_port == $p) |
		"\(.trace_observation_point) \(if .is_reply then 1 else 0 end)"' |
		sort | uniq -c | awk '{ printf "%s:%s=%s ", $2, $3, $1 }'
}

# ntraces SPORT [POINT] : how many (at POINT)
ntraces() {
	bw observe --all --type trace -o json 2>/dev/null | jq -s --argjson p "$1" --arg pt "${2:-}" '
		map(select(has("flow")) | .flow |
		    select(.l4.UDP.source_port == $p or .l4.UDP.destination_port == $p or
			   .l4.TCP.source_port == $p or .l4.TCP.destination_port == $p) |
		    select($pt == "" or .trace_observation_point == $pt)) | length'
}

# settle SPORT WANT : wait until the exchange's trace count stops at WANT
# (the reader drains the ring on a short timer)
settle() {
	bw_wait_for 5 traces_ge "$1" "$2" || true
	sleep 0.5
}
traces_ge() { [ "$(ntraces "$1")" -ge "$2" ]; }

# set_level LEVEL [INTERVAL] [FLAGS] : rewrite [flows] and SIGHUP; waits for
# the daemon's "monitor aggregation level" notice of this reload
HUPS=0
set_level() {
	local before
	sed -i -e "s/^monitor_aggregation = .*/monitor_aggregation = $1/" \
		-e "s/^monitor_interval = .*/monitor_interval = ${2:-5s}/" \
		-e "s/^monitor_flags = .*/monitor_flags = ${3:-all}/" "$CONF"
	before=$(notices)
	kill -HUP "$BW_DAEMON_PID"
	HUPS=$((HUPS + 1))
	bw_wait_for 5 more_notices "$before" ||
		bw_fail "SIGHUP to level=$1 interval=${2:-5s} flags=${3:-all}: no notice in the log"
}
# the daemon's "monitor aggregation level" notices so far (counted anew on
# every retry of bw_wait_for)
notices() { grep -c "monitor aggregation level" "$BW_DAEMON_LOG"; }
more_notices() { [ "$(notices)" -gt "$1" ]; }

N=10

# ---- none: both ends ----------------------------------------------------------------
set_level none
R=$(send x/b x/a 41001 $N 0.05)
settle 41001 $((2 * N + 2 * R))
got=$(ntraces 41001)
bw_check "none: pod to pod, $N datagrams and $R answers traced at both ends ($(traces 41001))" \
	test "$got" -eq $((2 * N + 2 * R))
bw_check "none: pod to pod, FROM_ENDPOINT traces exist" \
	test "$(ntraces 41001 FROM_ENDPOINT)" -eq $((N + R))
R=$(send x/b e1 41002 $N 0.05)
settle 41002 $((N + R))
bw_check "none: pod to world, one trace per packet ($(traces 41002))" \
	test "$(ntraces 41002)" -eq $((N + R))

# ---- lowest and low: once per packet, at the transmit side ------------------------------
port=41010
for level in lowest low; do
	set_level $level
	port=$((port + 1))
	R=$(send x/b x/a $port $N 0.05)
	settle $port $((N + R))
	bw_check "$level: pod to pod, each packet traced once ($(traces $port))" \
		test "$(ntraces $port)" -eq $((N + R))
	bw_check "$level: pod to pod, only where it arrives (no FROM_ENDPOINT)" \
		test "$(ntraces $port FROM_ENDPOINT)" -eq 0
	port=$((port + 1))
	R=$(send x/b e1 $port $N 0.05)
	settle $port $((N + R))
	bw_check "$level: pod to world, each packet traced once ($(traces $port))" \
		test "$(ntraces $port)" -eq $((N + R))
	bw_check "$level: pod to world, requests traced FROM_ENDPOINT" \
		test "$(ntraces $port FROM_ENDPOINT)" -eq "$N"
done

# ---- medium and maximum: the connection's reports -----------------------------------------
port=41020
for level in medium maximum; do
	set_level $level
	port=$((port + 1))
	R=$(send x/b x/a $port $N 0.05)
	settle $port 2
	bw_check "$level: pod to pod, $N datagrams: creation and first reply only ($(traces $port))" \
		test "$(ntraces $port)" -eq 2
	port=$((port + 1))
	R=$(send x/b e1 $port $N 0.05)
	settle $port 2
	bw_check "$level: pod to world: creation and first reply only ($(traces $port))" \
		test "$(ntraces $port)" -eq 2
done

# ---- monitor_interval -------------------------------------------------------------------
# 12 datagrams 0.25 s apart last at least 2.75 s: with a 1 s interval the
# request direction is reported at least twice more after its creation.
set_level medium 1s
R=$(send x/b e1 41031 12 0.25)
settle 41031 3
n=$(ntraces 41031 FROM_ENDPOINT)
bw_check "interval 1s: a 3 s UDP flow is reported again ($n request traces, want >= 3; $(traces 41031))" \
	test "$n" -ge 3
set_level medium 0s
R=$(send x/b e1 41032 12 0.25)
settle 41032 2
bw_check "interval 0: the same flow is reported once each way ($(traces 41032))" \
	test "$(ntraces 41032)" -eq 2

# ---- monitor_flags ----------------------------------------------------------------------
tcp_exchange() {
	local ns
	ns=$(bw_netns_of x/b) || exit 99
	timeout 5 ip netns exec "$ns" socat -T 1 - "TCP4:10.1.0.1:80,sourceport=$1,reuseaddr" \
		</dev/null >/dev/null 2>&1
}
set_level medium 5s all
tcp_exchange 41041
settle 41041 3
all=$(ntraces 41041)
set_level medium 5s none
tcp_exchange 41042
settle 41042 2
none=$(ntraces 41042)
set_level medium 5s syn
tcp_exchange 41043
settle 41043 2
syn=$(ntraces 41043)
bw_log "TCP exchange traces: flags=all $all ($(traces 41041)); none $none ($(traces 41042)); syn $syn"
bw_check "monitor_flags none reports fewer TCP packets than all ($none < $all)" test "$none" -lt "$all"
bw_check "monitor_flags none: creation, first reply and close at most ($none)" \
	test "$none" -ge 2 -a "$none" -le 3
bw_check "monitor_flags syn reports no more than all ($syn <= $all)" test "$syn" -le "$all"

# ---- bad values are refused and the running level stays -----------------------------------
sed -i -e "s/^monitor_flags = .*/monitor_flags = syn,push/" "$CONF"
kill -HUP "$BW_DAEMON_PID"
bw_wait_for 5 grep -q "monitor_flags: 'push' is not a TCP flag" "$BW_DAEMON_LOG" &&
	bw_pass "a bad monitor_flags is refused, naming the word" ||
	bw_fail "a bad monitor_flags: no error naming 'push' in the log"
bw_check "the daemon carries on after the refused reload" bw status
R=$(send x/b e1 41051 $N 0.05)
settle 41051 2
bw_check "the previous level (medium) still applies ($(traces 41051))" test "$(ntraces 41051)" -eq 2

bw_finish
