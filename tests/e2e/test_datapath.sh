#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_datapath.sh - the eBPF datapath with real traffic, driven
# directly through tests/e2e/bwdp (no daemon): a node namespace and three
# pod namespaces on veth pairs (tests/e2e/lib.sh), the programs attached to
# the host-side veths, maps programmed by bwdp, and assertions on what the
# pods see plus the events and counters the datapath reports.
#
# The programs are attached the way BW_TC_ATTACH says (auto, the default:
# tcx links where the kernel has them; tcx; clsact); the attachment checks
# follow the mode in use, everything else is the same in every mode.
# tests/e2e/test_datapath_clsact.sh runs this script with clsact forced,
# tests/e2e/test_datapath_tcx.sh with tcx named (skipped without tcx);
# tests/e2e/test_tcx.sh covers the tcx links themselves.
#
# Needs root and BPF (skips with 77 otherwise); tools: iproute2, socat,
# iputils-ping, bash, coreutils.

. "$(dirname "$0")/lib.sh"

bw_init

BWDP=$(bw_find_bin bwdp "${BWDP:-}" "$abs_top_builddir/tests/e2e/bwdp")
[ -n "$BWDP" ] || bw_die "tests/e2e/bwdp not built (make check builds it)"
export BW_TC_ATTACH=${BW_TC_ATTACH:-auto}
bw_log "attach mode requested: $BW_TC_ATTACH"

# dp CMD... : run bwdp in the node namespace on our bpffs, one -e per arg.
dp() {
	local -a args=()
	local c
	for c in "$@"; do
		args+=(-e "$c")
	done
	bw_nsx "$BW_NODE" "$BWDP" -d "$BW_BPFFS" "${args[@]}"
}

# does this kernel have tcx links at all? (the probe touches no interface)
HAVE_TCX=0
[ "$(BW_TC_ATTACH=tcx dp attach-mode 2>/dev/null)" = "attach-mode tcx" ] && HAVE_TCX=1
[ "$BW_TC_ATTACH" = tcx ] && [ $HAVE_TCX = 0 ] && bw_skip "this kernel has no tcx links"

# dp_flat CMD... : dp's output on one line (for a regex across lines).
dp_flat() {
	local out
	out=$(dp "$@") || return 1
	printf '%s\n' "$out" | tr '\n' ' '
}

# dp_events [WAIT_MS] : drain the ring buffer into $EV (and print nothing).
EV=$BW_TMP/events.txt
dp_events() {
	dp "events ${1:-300}" >"$EV" 2>&1
}

# ev_has DESC REGEX... : the drained events contain a line matching every REGEX.
ev_has() {
	local desc=$1 line
	shift
	local -a pat=("$@")
	while IFS= read -r line; do
		local ok=1 p
		for p in "${pat[@]}"; do
			printf '%s\n' "$line" | grep -Eq -- "$p" || { ok=0; break; }
		done
		if [ $ok = 1 ]; then
			bw_pass "$desc"
			return 0
		fi
	done <"$EV"
	bw_fail "$desc: no event matching: ${pat[*]}"
	sed 's/^/#   | /' "$EV" | tail -n 30
	return 1
}

# ev_lacks DESC REGEX... : no drained event matches every REGEX.
ev_lacks() {
	local desc=$1 line
	shift
	local -a pat=("$@")
	while IFS= read -r line; do
		local ok=1 p
		for p in "${pat[@]}"; do
			printf '%s\n' "$line" | grep -Eq -- "$p" || { ok=0; break; }
		done
		if [ $ok = 1 ]; then
			bw_fail "$desc: unexpected event: $line"
			return 1
		fi
	done <"$EV"
	bw_pass "$desc"
}

# ---------------------------------------------------------------------------
# topology: pods a, b, c (identities 1001..1003, endpoint ids 1..3)

bw_pod_add x a 10.1.0.1 fd00::a:1
bw_pod_add x b 10.1.0.2 fd00::a:2
bw_pod_add x c 10.1.0.3 fd00::a:3
IFA=${BW_IF_OF[x/a]} IFB=${BW_IF_OF[x/b]} IFC=${BW_IF_OF[x/c]}
NSA=${BW_NS_OF[x/a]} NSB=${BW_NS_OF[x/b]} NSC=${BW_NS_OF[x/c]}

bw_server_tcp x/b 80 81 8080 9000 9001
# UDP echo server that reads the datagram before answering (lib.sh's
# bw_server_udp answers with "echo ok", which can exit before socat has
# written the datagram to it: EPIPE, no answer, a flaky probe)
bw_bg "$NSB" socat UDP6-RECVFROM:53,ipv6only=0,fork,reuseaddr "SYSTEM:read l; echo ok"
bw_wait_listen "$NSB" udp 53
bw_server_tcp x/a 80
bw_server_tcp x/c 80
bw_bg "$NSB" socat TCP6-LISTEN:9100,ipv6only=0,fork,reuseaddr EXEC:cat
bw_wait_listen "$NSB" tcp 9100

# a pin left by an older build with another layout must be replaced, not reused
if command -v bpftool >/dev/null 2>&1; then
	bpftool map create "$BW_BPFFS/bw_frag" type hash key 4 value 4 entries 4 name bw_frag
fi
bw_check "attach and program the maps" dp "config monitor=medium" \
	"attach $IFA" "attach $IFB" "attach $IFC" \
	"ep $IFA 1 1001" "ep $IFB 2 1002" "ep $IFC 3 1003" \
	"ipc 10.1.0.1 1001 1" "ipc fd00::a:1 1001 1" \
	"ipc 10.1.0.2 1002 2" "ipc fd00::a:2 1002 2" \
	"ipc 10.1.0.3 1003 3" "ipc fd00::a:3 1003 3"
MODE=$(dp attach-mode | sed -n 's/^attach-mode //p')
case $BW_TC_ATTACH in
auto) bw_check "attach mode auto: tcx where the kernel has it ($MODE)" \
	test "$MODE" = "$([ $HAVE_TCX = 1 ] && echo tcx || echo clsact)" ;;
*) bw_check "attach mode is the forced one ($MODE)" test "$MODE" = "$BW_TC_ATTACH" ;;
esac
bw_log "attaching with $MODE"
# tc filters of ours on IF's HOOK (ingress|egress), printed
our_filters() {
	bw_nsx "$BW_NODE" tc filter show dev "$1" "$2" | grep -E 'bw_(from|to)_lxc' || true
}
# attached_as DESC IF : the programs sit on IF's hooks the way $MODE says,
# and nothing of the other kind is left
attached_as() {
	if [ "$MODE" = tcx ]; then
		bw_expect_output "$1: tcx links on the host veth (ingress)" \
			"^tcx ingress count=1 bw_from_lxc:" dp "tcx $2"
		bw_expect_output "$1: tcx link on the host veth (egress)" \
			"^tcx egress count=1 bw_to_lxc:" dp "tcx $2"
		bw_expect_output "$1: no clsact filter of ours" "^$" our_filters "$2" ingress
		bw_expect_output "$1: no clsact egress filter of ours" "^$" our_filters "$2" egress
	else
		bw_expect_output "$1: tc filters on the host veth (ingress and egress)" \
			"bw_from_lxc" bw_nsx "$BW_NODE" tc filter show dev "$2" ingress
		bw_expect_output "$1: tc egress filter" "bw_to_lxc" \
			bw_nsx "$BW_NODE" tc filter show dev "$2" egress
		if [ "$HAVE_TCX" = 1 ]; then
			bw_expect_output "$1: no tcx program" \
				"tcx ingress count=0.*tcx egress count=0" dp_flat "tcx $2"
		fi
	fi
}
attached_as "attach" "$IFB"
if command -v bpftool >/dev/null 2>&1; then
	bw_expect_output "an incompatible pinned map was replaced" "key 40B" \
		bpftool map show pinned "$BW_BPFFS/bw_frag"
fi
bw_check "maps pinned in the bpffs" test -e "$BW_BPFFS/bw_policy" -a -e "$BW_BPFFS/bw_ct" \
	-a -e "$BW_BPFFS/bw_events" -a -e "$BW_BPFFS/bw_ipcache4" -a -e "$BW_BPFFS/bw_events_lost"

# ---- no enforcement: everything passes -------------------------------------
dp_events 100
bw_expect_ok "no enforcement: a -> b tcp/80" bw_probe_tcp x/a x/b 80
bw_expect_ok "no enforcement: a -> b udp/53" bw_probe_udp x/a x/b 53
bw_expect_ok "no enforcement: a -> b icmp" bw_probe_icmp x/a x/b
bw_expect_ok "no enforcement: a -> b tcp6/80" bw_probe_tcp6 x/a x/b 80
dp_events
ev_has "trace event on connection create" "type=trace" "flags=.*ct-new" "src=10.1.0.1" \
	"dst=10.1.0.2" "dport=80"
ev_lacks "no policy-verdict events without enforcement" "type=policy-verdict"

# ---- enforced ingress -------------------------------------------------------
dp "ep $IFB 2 1002 ingress" "policy 2"
bw_expect_blocked "enforced ingress, no entry: a -> b tcp/80 denied" bw_probe_tcp x/a x/b 80
dp_events
ev_has "policy-verdict dropped for the denied connection" "type=policy-verdict" \
	"verdict=dropped" "reason=POLICY_DENIED" "dir=ingress" "ep=2" "src_id=1001" "dst_id=1002"
ev_has "drop event with reason 133" "type=drop" "reason=POLICY_DENIED" "dport=80"
bw_expect_ok "enforced ingress does not touch b's egress: b -> a tcp/80" \
	bw_probe_tcp x/b x/a 80

dp "policy 2 in:1001:tcp:80:allow:11"
bw_expect_ok "allow entry: a -> b tcp/80" bw_probe_tcp x/a x/b 80
bw_expect_blocked "allow entry is per identity: c -> b tcp/80" bw_probe_tcp x/c x/b 80
bw_expect_blocked "allow entry is per port: a -> b tcp/81" bw_probe_tcp x/a x/b 81
dp_events
ev_has "policy-verdict forwarded names rule and match type" "type=policy-verdict" \
	"verdict=forwarded" "src=10.1.0.1" "dport=80" "rule=11" "match=L3-L4"
bw_expect_output "user-space lookup mirrors the kernel (allowed)" \
	"verdict=allowed reason=0 rule=11 match=L3-L4" dp "lookup 2 1001 in tcp 80"
bw_expect_output "user-space lookup mirrors the kernel (denied)" \
	"verdict=denied reason=133" dp "lookup 2 1003 in tcp 80"

# replies pass without policy, even with b's egress enforced and empty
dp "ep $IFB 2 1002 ingress egress"
bw_expect_ok "replies pass: a -> b tcp/80 with b egress enforced" bw_probe_tcp x/a x/b 80
bw_expect_blocked "b's enforced egress denies b -> a tcp/80" bw_probe_tcp x/b x/a 80
dp "ep $IFB 2 1002 ingress"

# ---- deny beats allow ---------------------------------------------------------
dp "policy 2 in:1001:tcp:80:allow:11 in:1001:any:any:deny:12"
bw_expect_blocked "L3 deny beats a more specific allow" bw_probe_tcp x/a x/b 80
dp_events
ev_has "drop by deny entry: reason 181 with its rule" "type=drop" "reason=POLICY_DENY( |$)" \
	"rule=12"
dp "policy 2 in:1001:any:any:allow:11 in:any:tcp:80:deny:13"
bw_expect_blocked "L4-only deny beats an L3 allow" bw_probe_tcp x/a x/b 80
bw_expect_ok "... but only on its port: a -> b tcp/81" bw_probe_tcp x/a x/b 81

# ---- port ranges --------------------------------------------------------------
dp "policy 2 in:1001:tcp:8000-9000:allow:14"
bw_expect_ok "port range: a -> b tcp/8080" bw_probe_tcp x/a x/b 8080
bw_expect_ok "port range upper bound: a -> b tcp/9000" bw_probe_tcp x/a x/b 9000
bw_expect_blocked "port range: a -> b tcp/9001 outside" bw_probe_tcp x/a x/b 9001
bw_expect_blocked "port range: a -> b tcp/80 outside" bw_probe_tcp x/a x/b 80
n=$(dp "policy-dump 2" | grep -c '^policy ')
bw_check "range 8000-9000 stored as a few LPM blocks ($n entries), not per port" \
	test "$n" -gt 1 -a "$n" -lt 20
bw_expect_output "lookup at the range edge 7999 is denied" "verdict=denied" \
	dp "lookup 2 1001 in tcp 7999"

# ---- L4-only (identity 0) ---------------------------------------------------
dp "policy 2 in:any:tcp:80:allow:15"
bw_expect_ok "L4-only entry: a -> b tcp/80" bw_probe_tcp x/a x/b 80
bw_expect_ok "L4-only entry: c -> b tcp/80" bw_probe_tcp x/c x/b 80
bw_expect_blocked "L4-only entry: a -> b tcp/81 denied" bw_probe_tcp x/a x/b 81
dp_events
ev_has "match type L4-Only" "type=policy-verdict" "verdict=forwarded" "rule=15" "match=L4-Only"

# ---- UDP ----------------------------------------------------------------------
dp "policy 2 in:1001:udp:53:allow:16"
bw_expect_ok "udp allowed: a -> b udp/53" bw_probe_udp x/a x/b 53
bw_expect_blocked "udp denied: c -> b udp/53" bw_probe_udp x/c x/b 53
bw_expect_ok "udp over IPv6: a -> b udp6/53" bw_probe_udp6 x/a x/b 53

# ---- ICMP echo by type --------------------------------------------------------
dp "policy 2 in:1001:icmp:8:allow:17 in:1001:icmp6:128:allow:18"
bw_expect_ok "icmp echo allowed by type 8: a -> b" bw_probe_icmp x/a x/b
bw_expect_ok "icmpv6 echo allowed by type 128: a -> b" bw_probe_icmp6 x/a x/b
bw_expect_blocked "icmp echo from another identity denied: c -> b" bw_probe_icmp x/c x/b
dp "policy 2 in:1001:icmp:13:allow:19"
bw_expect_blocked "icmp echo denied when only type 13 is allowed" bw_probe_icmp x/a x/b
dp_events
ev_has "icmp echo denial event carries the type" "type=policy-verdict" "verdict=dropped" \
	"proto=icmp" "icmp=8"

# ---- IPv6 ---------------------------------------------------------------------
dp "policy 2 in:1001:tcp:80:allow:20"
bw_expect_ok "IPv6 allowed: a -> b tcp6/80" bw_probe_tcp6 x/a x/b 80
bw_expect_blocked "IPv6 denied: c -> b tcp6/80" bw_probe_tcp6 x/c x/b 80
dp_events
ev_has "IPv6 policy-verdict event" "type=policy-verdict" "src=fd00::a:3" "verdict=dropped"

# NDP must pass through enforced directions: give a's host veth the gateway
# address and drop a's static neighbour, so a has to resolve fe80::1 (and
# the node a's link-local address), with only ICMPv6 echo allowed.
ip -n "$BW_NODE" -6 addr add fe80::1/64 dev "$IFA" nodad
dp "ep $IFA 1 1001 ingress egress" "policy 1 out:1002:icmp6:128:allow:21" \
	"policy 2 in:1001:icmp6:128:allow:22"
ip -n "$NSA" -6 neigh del fe80::1 dev eth0 2>/dev/null
bw_expect_ok "NDP passes enforced directions (a resolves fe80::1, pings b)" \
	bw_probe_icmp6 x/a x/b 2
bw_expect_output "a learnt its gateway through NDP" "fe80::1 .*(REACHABLE|STALE|DELAY|PROBE)" \
	ip -n "$NSA" -6 neigh show dev eth0
dp "ep $IFA 1 1001" "policy 1"

# ---- ICMP errors of a tracked connection (RELATED) ------------------------------
dp "ep $IFA 1 1001 ingress egress" "policy 1 out:1002:udp:7777:allow:23" "policy 2"
dp "ep $IFB 2 1002"
bw_expect_ok "ICMP port unreachable for a tracked UDP flow reaches a (related)" \
	bw_probe_udp_refused x/a x/b 7777
dp "ep $IFA 1 1001" "policy 1"

# ---- anti-spoofing ----------------------------------------------------------------
bw_udp_sink x/b 7000 "$BW_TMP/sink4"
bw_send_udp_from x/a 10.1.0.1 x/b 7000 4 genuine4
bw_wait_for 3 grep -q genuine4 "$BW_TMP/sink4"
bw_check "own source address passes" grep -q genuine4 "$BW_TMP/sink4"
dp_events 50
bw_send_udp_from x/a 10.1.0.99 x/b 7000 4 spoofed4
bw_send_udp_from x/a 10.1.0.3 x/b 7000 4 stolen4
sleep 1
bw_check_fails "spoofed source 10.1.0.99 dropped" grep -q spoofed4 "$BW_TMP/sink4"
bw_check_fails "another endpoint's address (10.1.0.3) dropped" grep -q stolen4 "$BW_TMP/sink4"
dp_events
ev_has "drop event INVALID_SOURCE_IP" "type=drop" "reason=INVALID_SOURCE_IP" \
	"src=10.1.0.99" "dir=egress" "ep=1"
bw_udp_sink x/b 7002 "$BW_TMP/sink6"
bw_send_udp_from x/a fd00::a:99 x/b 7002 6 spoofed6
bw_send_udp_from x/a fd00::a:1 x/b 7002 6 genuine6
bw_wait_for 3 grep -q genuine6 "$BW_TMP/sink6"
bw_check "IPv6 own source passes" grep -q genuine6 "$BW_TMP/sink6"
bw_check_fails "IPv6 spoofed source dropped" grep -q spoofed6 "$BW_TMP/sink6"
ip -n "$NSA" addr del 10.1.0.99/32 dev eth0
ip -n "$NSA" addr del 10.1.0.3/32 dev eth0
ip -n "$NSA" -6 addr del fd00::a:99/128 dev eth0

# ---- fragments ---------------------------------------------------------------------
bw_udp_sink x/b 7001 "$BW_TMP/frag4"
dp "ep $IFB 2 1002 ingress" \
	"policy 2 in:1001:udp:7001:allow:24 in:1001:icmp:8:allow:25 in:1001:icmp6:128:allow:26"
# one 3000-byte datagram (read from a file in one go), fragmented by the
# sender's stack over the 1500-byte veth
head -c 3000 /dev/zero | tr '\0' 'F' >"$BW_TMP/payload"
timeout 3 ip netns exec "$NSA" socat -u -b 65536 "OPEN:$BW_TMP/payload" UDP4:10.1.0.2:7001 2>/dev/null
bw_wait_for 3 test -s "$BW_TMP/frag4"
bw_check "fragmented UDP datagram allowed by a port entry arrives whole (3000 bytes)" \
	test "$(stat -c %s "$BW_TMP/frag4")" = 3000
: >"$BW_TMP/frag4"
timeout 3 ip netns exec "$NSC" socat -u -b 65536 "OPEN:$BW_TMP/payload" UDP4:10.1.0.2:7001 2>/dev/null
sleep 1
bw_check "fragmented UDP datagram from a denied peer does not arrive" \
	test ! -s "$BW_TMP/frag4"
bigping() { # NETNS FAMILY DST
	timeout 5 ip netns exec "$1" ping -"$2" -n -q -c 1 -W 2 -s 3000 "$3" >/dev/null 2>&1
}
bw_expect_ok "ping -s 3000 (fragmented echo request and reply) allowed" \
	bigping "$NSA" 4 10.1.0.2
bw_expect_blocked "ping -s 3000 from a denied peer" bigping "$NSC" 4 10.1.0.2
bw_expect_ok "IPv6 ping -s 3000 (fragment header) allowed" bigping "$NSA" 6 fd00::a:2
bw_expect_blocked "IPv6 ping -s 3000 from a denied peer" bigping "$NSC" 6 fd00::a:2
# a later fragment whose first fragment never came: forged with a raw socket
if command -v python3 >/dev/null 2>&1; then
	dp_events 50
	ip netns exec "$NSA" python3 -c '
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
payload = b"x" * 16
hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0x4242, 185, 64, 17, 0,
                  socket.inet_aton("10.1.0.1"), socket.inet_aton("10.1.0.2"))
s.sendto(hdr + payload, ("10.1.0.2", 0))
'
	dp_events
	ev_has "a later fragment without its first one is dropped (175)" "type=drop" \
		"reason=FIRST_LOGICAL_DATAGRAM_FRAGMENT_NOT_FOUND" "dst=10.1.0.2" "dir=ingress"
else
	bw_log "python3 not found: lone-fragment check not run"
fi
bw_udp_sink x/b 7003 "$BW_TMP/frag6"
dp "policy 2 in:1001:udp:7003:allow:27"
timeout 3 ip netns exec "$NSA" socat -u -b 65536 "OPEN:$BW_TMP/payload" "UDP6:[fd00::a:2]:7003" 2>/dev/null
bw_wait_for 3 test -s "$BW_TMP/frag6"
bw_check "fragmented IPv6 UDP datagram arrives whole" \
	test "$(stat -c %s "$BW_TMP/frag6")" = 3000

# IPv6 extension headers (hop-by-hop and destination options) in front of UDP:
# the datapath must walk them to find the port
if command -v python3 >/dev/null 2>&1; then
	bw_udp_sink x/b 7004 "$BW_TMP/ext1"
	bw_udp_sink x/b 7005 "$BW_TMP/ext2"
	dp "policy 2 in:1001:udp:7004:allow:28"
	for port in 7004 7005; do
		ip netns exec "$NSA" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
opts = bytes([0, 0, 1, 4, 0, 0, 0, 0])   # PadN, 8 bytes
s.setsockopt(socket.IPPROTO_IPV6, getattr(socket, "IPV6_HOPOPTS", 54), opts)
s.setsockopt(socket.IPPROTO_IPV6, getattr(socket, "IPV6_DSTOPTS", 59), opts)
s.sendto(b"exthdr\n", ("fd00::a:2", int(sys.argv[1])))
' "$port"
	done
	bw_wait_for 3 test -s "$BW_TMP/ext1"
	bw_check "UDP behind IPv6 extension headers reaches an allowed port" \
		grep -q exthdr "$BW_TMP/ext1"
	bw_check_fails "UDP behind IPv6 extension headers to a denied port is dropped" \
		grep -q exthdr "$BW_TMP/ext2"
fi

# ---- audit ------------------------------------------------------------------------
dp "ep $IFB 2 1002 ingress audit" "policy 2"
dp_events 50
bw_expect_ok "audit (endpoint flag): a would-be drop passes" bw_probe_tcp x/a x/b 81
dp_events
ev_has "policy-verdict AUDIT for the would-be drop" "type=policy-verdict" "verdict=audit" \
	"dport=81" "flags=audited"
ev_lacks "no drop event in audit mode" "type=drop" "dport=81"
dp "config monitor=medium audit=1" "ep $IFB 2 1002 ingress"
bw_expect_ok "audit (global config flag): a would-be drop passes" bw_probe_tcp x/a x/b 81
dp "config monitor=medium"
bw_expect_blocked "audit off again: the drop is real" bw_probe_tcp x/a x/b 81

# ---- conntrack across a daemon restart, and policy changes cutting connections ----
dp "ep $IFB 2 1002 ingress" "policy 2 in:1001:tcp:9100:allow:30 in:1003:tcp:9100:allow:31"
# long-lived connection from a: send, wait for a go file, send again
longconn() { # NETNS NAME
	local d=$BW_TMP/$2
	mkdir -p "$d"
	bw_bg "$1" bash -c "exec 3<>/dev/tcp/10.1.0.2/9100 || exit 1
		echo one >&3; read -t 3 l <&3; echo \"\$l\" >'$d/out1'
		while [ ! -e '$d/go' ]; do sleep 0.1; done
		echo two >&3; read -t 3 l <&3; echo \"\$l\" >'$d/out2'"
	bw_wait_for 5 test -s "$d/out1"
}
longconn "$NSA" conn1
longconn "$NSC" conn2
bw_check "long-lived connection a -> b established" grep -qx one "$BW_TMP/conn1/out1"
bw_check "long-lived connection c -> b established" grep -qx one "$BW_TMP/conn2/out1"
# "restart": a new driver process reopens the pinned maps, re-attaches
# (replacing the programs) and re-syncs the same entries
bw_check "restart: reopen pins, re-attach, re-sync the same entries" \
	dp "attach $IFA" "attach $IFB" "attach $IFC" \
	"ep $IFA 1 1001" "ep $IFB 2 1002 ingress" "ep $IFC 3 1003" \
	"policy 2 in:1001:tcp:9100:allow:30 in:1003:tcp:9100:allow:31"
bw_expect_output "the reused maps still hold the endpoints" "ifindex=.* id=2 identity=1002 flags=0x1" \
	dp ep-list
bw_expect_output "the reused maps still hold the ipcache" "fd00::a:3/128 identity=1003 ep=3" \
	dp ipc-list
bw_expect_blocked "after restart a denied peer stays denied (c -> b tcp/80)" \
	bw_probe_tcp x/c x/b 80
touch "$BW_TMP/conn1/go"
bw_wait_for 5 test -s "$BW_TMP/conn1/out2"
bw_check "the long-lived connection survived the restart" grep -qx two "$BW_TMP/conn1/out2"
# policy change: c's entry goes, its established connection must be cut
out=$(dp "policy 2 in:1001:tcp:9100:allow:30" "ct" 2>&1)
touch "$BW_TMP/conn2/go"
sleep 4
bw_check_fails "a policy change to deny cuts c's established connection" \
	grep -qx two "$BW_TMP/conn2/out2"
bw_expect_ok "a new a -> b connection on the kept entry still works" \
	bw_nsx "$NSA" bash -c 'exec 3<>/dev/tcp/10.1.0.2/9100 && echo x >&3 && read -t 2 l <&3 && [ "$l" = x ]'
# the peer's identity changes (ipcache): its connection must be cut too
dp "policy 2 in:1001:tcp:9100:allow:30 in:1003:tcp:9100:allow:31"
longconn "$NSC" conn3
bw_check "c -> b connection established again" grep -qx one "$BW_TMP/conn3/out1"
dp "ipc 10.1.0.3 1004 3"
touch "$BW_TMP/conn3/go"
sleep 4
bw_check_fails "an ipcache identity change cuts the peer's connection" \
	grep -qx two "$BW_TMP/conn3/out2"
dp "ipc 10.1.0.3 1003 3"

# ---- events aggregation and counters -------------------------------------------
dp "ep $IFB 2 1002" "policy 2"
dp_events 50
bw_nsx "$NSA" bash -c 'exec 3<>/dev/tcp/10.1.0.2/9100; for i in $(seq 100); do echo $i >&3; read -t 2 l <&3; done' 
dp_events
n=$(grep -c 'type=trace.*dport=9100' "$EV")
bw_check "monitor medium: traces follow the connection, not its ~400 packets ($n)" \
	test "$n" -ge 1 -a "$n" -le 12
ev_has "trace on close carries the connection's packet count" "type=trace" \
	"flags=.*ct-close" "(sport|dport)=9100" "ct_packets=[1-9]"
dp "config monitor=none"
bw_nsx "$NSA" bash -c 'exec 3<>/dev/tcp/10.1.0.2/9100; for i in $(seq 100); do echo $i >&3; read -t 2 l <&3; done' 
dp_events
n=$(grep -c 'type=trace' "$EV")
bw_check "monitor none: one trace per packet ($n)" test "$n" -ge 200
dp "config monitor=medium"
bw_expect_output "drop counters by reason" "reason=133 name=POLICY_DENIED dir=ingress packets=[1-9]" \
	dp metrics
bw_expect_output "forwarded counters" "reason=0 name=FORWARDED dir=egress packets=[1-9]" dp metrics
bw_expect_output "lost-event counter readable" "^lost [0-9]+" dp lost

# ---- conntrack garbage collection ------------------------------------------------
dp "config monitor=medium ct_nontcp=1"
bw_expect_ok "udp flow for gc" bw_probe_udp x/a x/b 53
sleep 2.5
bw_expect_output "ct-gc deletes expired entries" "ct-gc deleted [1-9]" dp "config monitor=medium ct_nontcp=1" ct-gc
dp "config monitor=medium"

# ---- detach and endpoint delete ----------------------------------------------------
dp "ep $IFB 2 1002 ingress" "policy 2"
bw_expect_blocked "enforced before detach" bw_probe_tcp x/a x/b 80
bw_check "detach" dp "detach $IFB"
bw_expect_output "no bulwark filter left on the veth" "^$" our_filters "$IFB" egress
bw_expect_output "no bulwark ingress filter left on the veth" "^$" our_filters "$IFB" ingress
if [ "$HAVE_TCX" = 1 ]; then
	bw_expect_output "no tcx program left on the veth" \
		"tcx ingress count=0.*link ingress none.*tcx egress count=0.*link egress none" \
		dp_flat "tcx $IFB"
fi
bw_expect_ok "after detach traffic passes" bw_probe_tcp x/a x/b 80
dp "attach $IFB"
attached_as "re-attached after detach" "$IFB"
bw_expect_blocked "re-attached: enforced again" bw_probe_tcp x/a x/b 80
dp "ep-del $IFB"
bw_expect_ok "endpoint deleted: its interface passes untouched" bw_probe_tcp x/a x/b 80

bw_finish
