#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_flow_events.sh - the [flows] switches trace_events,
# drop_events and policy_verdict_events (Cilium's bpf-events-*-enabled):
# each one, turned off by a SIGHUP reload, stops its class of datapath
# events and only that one; drops keep being counted in the bw_metrics map
# with drop events off; with all three off no flow is produced at all, and
# turning trace events back on brings traces back. Also: at the default
# aggregation (medium) a pod-to-pod packet is traced once, at its receiving
# endpoint (TO_ENDPOINT), never twice.
#
# Topology: x/a (app=web, 10.1.0.1, TCP 80..85), x/b (app=client,
# 10.1.0.2), y/c (app=other, 10.2.0.1). Policy: x/a accepts app=client on
# TCP 80..85, so x/b's connections give policy verdicts and traces and
# y/c's are dropped (default deny). Each phase uses its own server port so
# that its flows can be told apart.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init
bw_require_tool jq jq
bw_require_tool bpftool bpftool

CONF=$BW_TMP/bulwark.conf
cp "$(bw_daemon_conf)" "$CONF" || bw_die "no bulwark.conf to copy"
grep -q '^trace_events = true' "$CONF" || bw_die "$CONF has no trace_events line"
export BW_CONF=$CONF
bw_start_daemon

bw namespace set x || bw_die "namespace set x"
bw namespace set y || bw_die "namespace set y"
bw_pod_add x a 10.1.0.1 app=web || bw_die "endpoint add x/a"
bw_pod_add x b 10.1.0.2 app=client || bw_die "endpoint add x/b"
bw_pod_add y c 10.2.0.1 app=other || bw_die "endpoint add y/c"
bw_server_tcp x/a 80 81 82 83 84 85

bw_policy_import_text allow-client <<'EOF' || bw_fail "import allow-client"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: allow-client
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      app: web
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: client
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
      - port: "81"
        protocol: TCP
      - port: "82"
        protocol: TCP
      - port: "83"
        protocol: TCP
      - port: "84"
        protocol: TCP
      - port: "85"
        protocol: TCP
EOF

# nflows TYPE PORT : flows of event type TYPE (1 drop, 4 trace, 5 policy
# verdict) whose TCP destination or source port is PORT.
nflows() {
	bw observe --all -o json 2>/dev/null | jq -s --argjson t "$1" --argjson p "$2" '
		map(select(has("flow")) | .flow |
		    select(.event_type.type == $t and
			   (.l4.TCP.destination_port == $p or .l4.TCP.source_port == $p))) |
		length'
}

# has_flows TYPE PORT : at least one such flow.
has_flows() {
	[ "$(nflows "$1" "$2")" -gt 0 ] 2>/dev/null
}

# policy drops (reason 133) counted in the datapath's metrics map (a per-CPU
# array indexed by direction << 8 | reason)
map_drops() {
	bpftool -j map dump pinned "$BW_BPFFS/bw_metrics" 2>/dev/null | jq '
		[.[] | (.formatted // .) | select((.key | tonumber) % 256 == 133) |
		 .values[] | .value.packets] | add // 0'
}

# set_switches TRACE DROP VERDICT : rewrite the [flows] switches and SIGHUP
set_switches() {
	sed -i -e "s/^trace_events = .*/trace_events = $1/" \
		-e "s/^drop_events = .*/drop_events = $2/" \
		-e "s/^policy_verdict_events = .*/policy_verdict_events = $3/" "$CONF"
	: >"$BW_TMP/hup.mark"
	kill -HUP "$BW_DAEMON_PID"
	bw_wait_for 5 grep -q "datapath events: trace $( [ "$1" = true ] && echo on || echo off), drop $( [ "$2" = true ] && echo on || echo off), policy verdict $( [ "$3" = true ] && echo on || echo off)" "$BW_DAEMON_LOG" ||
		bw_fail "SIGHUP: no 'datapath events' message for trace=$1 drop=$2 verdict=$3"
}

# traffic PORT : x/b -> x/a:PORT (allowed), y/c -> x/a:PORT (dropped)
traffic() {
	bw_expect_ok "port $1: x/b -> x/a allowed" bw_probe_tcp x/b x/a "$1"
	bw_expect_blocked "port $1: y/c -> x/a dropped" bw_probe_tcp y/c x/a "$1"
}

# ---- all on (the defaults) ------------------------------------------------------
traffic 80
bw_wait_for 5 has_flows 1 80 && bw_pass "defaults: drop events" ||
	bw_fail "defaults: no drop event for port 80"
bw_wait_for 5 has_flows 5 80 && bw_pass "defaults: policy verdict events" ||
	bw_fail "defaults: no policy verdict event for port 80"
bw_wait_for 5 has_flows 4 80 && bw_pass "defaults: trace events" ||
	bw_fail "defaults: no trace event for port 80"

# medium aggregation: the SYN x/b -> x/a is traced once, where it enters x/a
SYNS=$(bw observe --all -o json | jq -s '
	map(select(has("flow")) | .flow | select(.event_type.type == 4 and
	    .l4.TCP.destination_port == 80 and .l4.TCP.flags.SYN and
	    (.l4.TCP.flags.ACK | not) and .IP.source == "10.1.0.2")) |
	[length, (map(.trace_observation_point) | unique)]' -c)
if [ "$SYNS" = '[1,["TO_ENDPOINT"]]' ]; then
	bw_pass "medium: the SYN is traced once, TO_ENDPOINT"
else
	bw_fail "medium: the SYN's traces: $SYNS (want [1,[\"TO_ENDPOINT\"]])"
fi

# ---- trace events off --------------------------------------------------------------
set_switches false true true
traffic 81
bw_wait_for 5 has_flows 5 81 && bw_wait_for 5 has_flows 1 81 &&
	bw_pass "trace off: verdicts and drops still reported" ||
	bw_fail "trace off: verdict or drop missing for port 81"
[ "$(nflows 4 81)" = 0 ] && bw_pass "trace off: no trace event" ||
	bw_fail "trace off: $(nflows 4 81) trace events for port 81"

# ---- drop events off ----------------------------------------------------------------
set_switches true false true
before=$(map_drops)
traffic 82
bw_wait_for 5 has_flows 5 82 && bw_wait_for 5 has_flows 4 82 &&
	bw_pass "drop off: verdicts and traces still reported" ||
	bw_fail "drop off: verdict or trace missing for port 82"
[ "$(nflows 1 82)" = 0 ] && bw_pass "drop off: no drop event" ||
	bw_fail "drop off: $(nflows 1 82) drop events for port 82"
after=$(map_drops)
if [ -n "$before" ] && [ -n "$after" ] && [ "$after" -gt "$before" ]; then
	bw_pass "drop off: the metrics map still counts the drops ($before -> $after)"
else
	bw_fail "drop off: bw_metrics policy drops did not grow ('$before' -> '$after')"
fi

# ---- policy verdict events off ----------------------------------------------------
set_switches true true false
traffic 83
bw_wait_for 5 has_flows 4 83 && bw_wait_for 5 has_flows 1 83 &&
	bw_pass "verdict off: traces and drops still reported" ||
	bw_fail "verdict off: trace or drop missing for port 83"
[ "$(nflows 5 83)" = 0 ] && bw_pass "verdict off: no policy verdict event" ||
	bw_fail "verdict off: $(nflows 5 83) verdict events for port 83"

# ---- all off, then traces back on ----------------------------------------------------
set_switches false false false
traffic 84
set_switches true false false
traffic 85
bw_wait_for 5 has_flows 4 85 && bw_pass "trace back on: traces again" ||
	bw_fail "trace back on: no trace for port 85"
n84=$(( $(nflows 1 84) + $(nflows 4 84) + $(nflows 5 84) ))
[ "$n84" = 0 ] && bw_pass "all off: no flow at all" ||
	bw_fail "all off: $n84 flows for port 84"

bw_stop_daemon
bw_finish
