#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_cilium_port_ranges.sh - CiliumNetworkPolicy port ranges
# (port + endPort) with real traffic: both ends inclusive, ranges that are
# not aligned to powers of two, TCP and UDP kept apart, ingress and egress.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init
bw_start_daemon

bw namespace set x || bw_die "namespace set x"
bw_pod_add x a 10.1.0.1 pod=a || bw_die "endpoint add x/a"
bw_pod_add x b 10.1.0.2 pod=b || bw_die "endpoint add x/b"
tcp_ports="7999 8000 8001 8002 8005 8008 8009 8010 8011 8016 9002"
udp_ports="9000 9001 9002 9003 9004"
# shellcheck disable=SC2086 # word lists
bw_server_tcp x/b $tcp_ports
# shellcheck disable=SC2086
bw_server_udp x/b $udp_ports

# ---- ingress ranges ---------------------------------------------------------
bw_policy_replace_text s1 <<'EOF' || bw_fail "replace s1"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: b-ranges
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: b
  ingress:
  - fromEndpoints:
    - matchLabels:
        pod: a
    toPorts:
    - ports:
      - port: "8001"
        endPort: 8010
        protocol: TCP
      - port: "9001"
        endPort: 9003
        protocol: UDP
EOF
for p in 8001 8002 8005 8008 8009 8010; do
	bw_expect_ok "TCP $p in 8001-8010" bw_probe_tcp x/a x/b "$p"
done
for p in 7999 8000 8011 8016 9002; do
	bw_expect_blocked "TCP $p outside 8001-8010/TCP" bw_probe_tcp x/a x/b "$p"
done
for p in 9001 9002 9003; do
	bw_expect_ok "UDP $p in 9001-9003" bw_probe_udp x/a x/b "$p"
done
for p in 9000 9004; do
	bw_expect_blocked "UDP $p outside 9001-9003" bw_probe_udp x/a x/b "$p"
done
bw_expect_trace "trace x/a -> x/b:8005 names b-ranges" 'b-ranges' \
	--from x/a --to x/b --port 8005
bw_expect_verdict "trace x/a -> x/b:8011 is denied" DENIED \
	--from x/a --to x/b --port 8011

# ---- egress range, and a range with protocol ANY ---------------------------
bw_policy_replace_text s2 <<'EOF' || bw_fail "replace s2"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: a-egress-range
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: a
  egress:
  - toEndpoints:
    - matchLabels:
        pod: b
    toPorts:
    - ports:
      - port: "8000"
        endPort: 8005
        protocol: TCP
      - port: "9002"
        endPort: 9004
EOF
bw_expect_ok "egress TCP 8000 in 8000-8005" bw_probe_tcp x/a x/b 8000
bw_expect_ok "egress TCP 8005 in 8000-8005" bw_probe_tcp x/a x/b 8005
bw_expect_blocked "egress TCP 8008 outside" bw_probe_tcp x/a x/b 8008
bw_expect_blocked "egress TCP 7999 outside" bw_probe_tcp x/a x/b 7999
bw_expect_ok "egress UDP 9003 in 9002-9004/ANY" bw_probe_udp x/a x/b 9003
bw_expect_ok "egress TCP 9002 in 9002-9004/ANY" bw_probe_tcp x/a x/b 9002
bw_expect_blocked "egress UDP 9001 outside 9002-9004" bw_probe_udp x/a x/b 9001

bw_check "policy replace with an empty set" bw_policy_replace_text empty </dev/null
bw_expect_ok "no policy: TCP 8016" bw_probe_tcp x/a x/b 8016

bw_stop_daemon
bw_finish
