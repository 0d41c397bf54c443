#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_cilium_icmp.sh - CiliumNetworkPolicy `icmps` with real
# traffic: an echo allow lets ping through (by number and by name, ingress
# and egress); a policy without it blocks ping while its TCP port works;
# an ICMP error related to an allowed connection (port unreachable for an
# allowed UDP datagram) reaches an endpoint whose ingress is isolated.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init
bw_start_daemon

bw namespace set x || bw_die "namespace set x"
bw_pod_add x a 10.1.0.1 pod=a || bw_die "endpoint add x/a"
bw_pod_add x b 10.1.0.2 pod=b || bw_die "endpoint add x/b"
bw_pod_add x c 10.1.0.3 pod=c || bw_die "endpoint add x/c"
for h in x/a x/b x/c; do
	bw_server_tcp "$h" 80
done

bw_expect_ok "no policy: ping x/a -> x/b" bw_probe_icmp x/a x/b

# ---- ingress echo allowed by type number -----------------------------------
bw_policy_replace_text s1 <<'EOF' || bw_fail "replace s1"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: b-ping-from-a
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: b
  ingress:
  - fromEndpoints:
    - matchLabels:
        pod: a
    icmps:
    - fields:
      - type: 8
        family: IPv4
EOF
bw_expect_ok "icmps type 8: ping x/a -> x/b" bw_probe_icmp x/a x/b
bw_expect_blocked "icmps from pod=a only: ping x/c -> x/b" bw_probe_icmp x/c x/b
bw_expect_blocked "icmps allow is not TCP: x/a -> x/b:80" bw_probe_tcp x/a x/b 80

# ---- no icmps: ping blocked, TCP allowed ------------------------------------
bw_policy_replace_text s2 <<'EOF' || bw_fail "replace s2"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: b-tcp80-from-a
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
      - port: "80"
        protocol: TCP
EOF
bw_expect_ok "L4 rule: x/a -> x/b:80" bw_probe_tcp x/a x/b 80
bw_expect_blocked "no icmps rule: ping x/a -> x/b" bw_probe_icmp x/a x/b

# ---- egress echo allowed by name -------------------------------------------
bw_policy_replace_text s3 <<'EOF' || bw_fail "replace s3"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: a-ping-to-b
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: a
  egress:
  - toEndpoints:
    - matchLabels:
        pod: b
    icmps:
    - fields:
      - type: EchoRequest
EOF
bw_expect_ok "egress icmps EchoRequest: ping x/a -> x/b" bw_probe_icmp x/a x/b
bw_expect_blocked "egress icmps to pod=b only: ping x/a -> x/c" \
	bw_probe_icmp x/a x/c
bw_expect_blocked "egress icmps only: x/a -> x/b:80" bw_probe_tcp x/a x/b 80

# ---- ICMP errors related to an allowed connection ---------------------------
# x/a: ingress isolated (only TCP 80 from x/c), egress UDP 9999 to x/b.
# x/b: ingress UDP 9999 from x/a; nothing listens there, so x/b answers
# with ICMP port unreachable, which must reach x/a as a related packet.
bw_policy_replace_text s4 <<'EOF' || bw_fail "replace s4"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: a-udp-to-b
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: a
  ingress:
  - fromEndpoints:
    - matchLabels:
        pod: c
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
  egress:
  - toEndpoints:
    - matchLabels:
        pod: b
    toPorts:
    - ports:
      - port: "9999"
        protocol: UDP
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: b-udp-from-a
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
      - port: "9999"
        protocol: UDP
EOF
bw_expect_ok "related ICMP port unreachable reaches x/a" \
	bw_probe_udp_refused x/a x/b 9999
bw_expect_blocked "unrelated ICMP is still blocked: ping x/b -> x/a" \
	bw_probe_icmp x/b x/a
bw_expect_blocked "x/a's ingress is isolated: x/b -> x/a:80" \
	bw_probe_tcp x/b x/a 80

bw_stop_daemon
bw_finish
