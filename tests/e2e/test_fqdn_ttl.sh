#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_fqdn_ttl.sh - learned addresses over time (docs/fqdn.md):
#   - a name with a 2 s TTL and no connection: its address goes once the
#     TTL ran out, and is blocked again;
#   - the same with a live connection: the address stays ("kept") as long
#     as the connection lives, the connection never loses a byte, and the
#     address goes after the connection closed;
#   - a name whose 100 addresses rotate (ten zone versions of ten
#     addresses, max_ips_per_name 20): each round's first connection is
#     allowed, a connection opened in the first round survives every later
#     round, and old addresses without connections go.
# The DNS server is unbound (external namespace, 192.0.2.53).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fqdn_lib.sh"

bw_init
fqdn_require
bw_start_daemon -o fqdn.gc_interval=1s -o fqdn.max_ips_per_name=20

ZONE_BASE="short 2 IN A 198.51.100.20
short2 2 IN A 198.51.100.21"
rot_zone() { # the round's ten addresses
	local r=$1 i z="$ZONE_BASE"
	for i in $(seq 1 10); do
		z+=$'\n'"rot IN A 203.0.113.$((r * 10 + i))"
	done
	printf '%s' "$z"
}
fqdn_dns_start "$(rot_zone 0)"
fqdn_web_start 198.51.100.20 198.51.100.21
for i in $(seq 1 100); do
	fqdn_web_addr "203.0.113.$i"
done

bw namespace set x || bw_die "namespace set x"
bw_pod_add x a 10.1.0.1 app=a || bw_die "endpoint add x/a"
bw_policy_import_text fqdn <<'EOF' || bw_die "policy import"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: a-by-name, namespace: x}
spec:
  endpointSelector: {matchLabels: {app: a}}
  egress:
  - toCIDR: [192.0.2.53/32]
    toPorts:
    - ports: [{port: "53", protocol: ANY}]
      rules: {dns: [{matchPattern: "*"}]}
  - toFQDNs: [{matchPattern: "*.example"}]
    toPorts:
    - ports: [{port: "80", protocol: TCP}, {port: "81", protocol: TCP}]
EOF

# A client keeping one connection to IP:81 (an echo server) open until
# $BW_TMP/stop-NAME exists: a line every 0.2 s, each must come back. Exits
# 0 when every echo came back; writes the count to $BW_TMP/echo-NAME.
ECHO_CLIENT='import socket, sys, os, time
ip, name, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.create_connection((ip, 81), timeout=5)
n = 0
while not os.path.exists(tmp + "/stop-" + name):
    s.sendall(b"ping %d\n" % n)
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(64)
        if not chunk:
            sys.exit(1)
        buf += chunk
    if buf != b"ping %d\n" % n:
        sys.exit(2)
    n += 1
    open(tmp + "/echo-" + name, "w").write(str(n))
    time.sleep(0.2)
s.close()
sys.exit(0)'
ECHO_PIDS=()
echo_start() { # NAME IP
	ip netns exec "$(bw_netns_of x/a)" python3 -c "$ECHO_CLIENT" "$2" "$1" "$BW_TMP" \
		>>"$BW_TMP/bg.log" 2>&1 &
	ECHO_PIDS+=($!)
	BW_PIDS+=($!)
	bw_wait_for 5 echo_count_at_least "$1" 1 || bw_fail "echo client $1 did not start"
}
echo_count() { cat "$BW_TMP/echo-$1" 2>/dev/null || echo 0; }
echo_count_at_least() { [ "$(echo_count "$1")" -ge "$2" ]; }
echo_stop() { # NAME PID : stop it and report its exit status
	touch "$BW_TMP/stop-$1"
	wait "$2"
}
entry_kept() { # NAME IP : the pair is expired but kept
	bw fqdn cache -o json 2>/dev/null | python3 -c '
import json, sys
name, ip = sys.argv[1] + ".", sys.argv[2]
sys.exit(0 if any(e["name"] == name and e["ip"] == ip and e["zombie"]
                  for e in json.load(sys.stdin)["entries"]) else 1)' "$@"
}

# ---- no connection: the address goes with its TTL --------------------------------
fqdn_expect_status "short2.example (TTL 2 s) resolves" NOERROR x/a short2.example
bw_wait_for 5 fqdn_cached short2.example 198.51.100.21 &&
	bw_pass "short2.example is cached" || bw_fail "short2.example is not cached"
bw_wait_for 15 fqdn_not_cached short2.example &&
	bw_pass "after its TTL, with no connection, short2.example's address goes" ||
	bw_fail "short2.example is still cached long after its TTL"
bw_expect_blocked "and 198.51.100.21 is blocked again" bw_probe_tcp x/a 198.51.100.21 80

# ---- a live connection keeps the address ------------------------------------------
fqdn_expect_status "short.example (TTL 2 s) resolves" NOERROR x/a short.example
echo_start short 198.51.100.20
SHORT_PID=${ECHO_PIDS[-1]}
bw_wait_for 15 entry_kept short.example 198.51.100.20 &&
	bw_pass "after its TTL the address is kept: a connection to it lives" ||
	bw_fail "short.example's address was not kept for its live connection"
n1=$(echo_count short)
bw_wait_for 5 echo_count_at_least short $((n1 + 5)) &&
	bw_pass "the connection keeps working after the TTL ($n1 echoes, more coming)" ||
	bw_fail "the connection stalled after the TTL"
bw_expect_ok "new connections to the kept address are still allowed" \
	bw_probe_tcp x/a 198.51.100.20 80
echo_stop short "$SHORT_PID" && bw_pass "not one echo was lost ($(echo_count short) echoes)" ||
	bw_fail "the echo client failed (status $?): the connection was cut"
bw_wait_for 40 fqdn_not_cached short.example &&
	bw_pass "the connection closed: the address goes" ||
	bw_fail "short.example's address stays after its connection closed"
bw_expect_blocked "and 198.51.100.20 is blocked" bw_probe_tcp x/a 198.51.100.20 80

# ---- 100 rotating addresses --------------------------------------------------------
all_first=1
for r in $(seq 0 9); do
	[ "$r" = 0 ] || fqdn_dns_reload "$(rot_zone "$r")"
	got=$(fqdn_dig x/a rot.example)
	first=203.0.113.$((r * 10 + 1))
	case " $got " in
	*" $first "*) ;;
	*) bw_fail "round $r: rot.example answered '$got'"; all_first=0; continue ;;
	esac
	if ! bw_probe_tcp x/a "$first" 80 3; then
		bw_fail "round $r: the first connection to $first was blocked"
		all_first=0
	fi
	if [ "$r" = 0 ]; then
		echo_start rot 203.0.113.1
		ROT_PID=${ECHO_PIDS[-1]}
	fi
done
[ "$all_first" = 1 ] && bw_pass "10 rounds of rotating addresses: every first connection allowed"
bw_wait_for 20 fqdn_not_cached rot.example 203.0.113.2 &&
	bw_pass "an early address without a connection went (max_ips_per_name 20)" ||
	bw_fail "203.0.113.2 is still cached"
bw_expect_blocked "203.0.113.2 is blocked again" bw_probe_tcp x/a 203.0.113.2 80
fqdn_cached rot.example 203.0.113.1 && bw_pass "203.0.113.1 stays: its connection lives" ||
	bw_fail "203.0.113.1 was dropped under its live connection"
bw_expect_ok "the last round's addresses are allowed (203.0.113.100)" \
	bw_probe_tcp x/a 203.0.113.100 80 3
bw_flow_seen --verdict DROPPED --to-ip 203.0.113.100 &&
	bw_fail "packets to 203.0.113.100 were dropped" ||
	bw_pass "no packet to the last round's addresses was dropped"
echo_stop rot "$ROT_PID" &&
	bw_pass "the round-0 connection survived all ten rounds ($(echo_count rot) echoes)" ||
	bw_fail "the round-0 connection was cut (status $?)"
bw_expect_output "the cap evicted addresses into the zombie path" \
	'bulwark_fqdn_evictions_total\{instance="fqdn",reason="max_ips_per_name"\} [1-9]' \
	bw_nsx "$BW_NODE" curl -s --max-time 10 http://127.0.0.1:9962/metrics

bw_finish
