#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_cilium_ipv6.sh - the Cilium policy checks again over IPv6
# (fd00:: pod addresses, 2001:db8:: external hosts): endpoint selectors with
# ports, ICMPv6 echo by family, CIDR sets with except, deny rules, the world
# entity and ICMPv6 errors related to an allowed connection; IPv4 keeps
# working next to it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init
bw_start_daemon

bw namespace set x || bw_die "namespace set x"
bw_pod_add x a 10.1.0.1 fd00::1:1 pod=a || bw_die "endpoint add x/a"
bw_pod_add x b 10.1.0.2 fd00::1:2 pod=b || bw_die "endpoint add x/b"
bw_pod_add x c 10.1.0.3 fd00::1:3 pod=c || bw_die "endpoint add x/c"
bw_external_add ext1 192.0.2.10 2001:db8::10
bw_external_add ext2 192.0.2.20 2001:db8::20
for h in x/a x/b x/c ext1 ext2; do
	bw_server_tcp "$h" 80 81
done
bw_server_udp x/b 53

bw_expect_ok "no policy: tcp6 x/a -> x/b" bw_probe_tcp6 x/a x/b 80
bw_expect_ok "no policy: ping6 x/a -> x/b" bw_probe_icmp6 x/a x/b

# ---- endpoint selector + port ----------------------------------------------
bw_policy_replace_text s1 <<'EOF' || bw_fail "replace s1"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: b-from-a-80
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
      - port: "53"
        protocol: UDP
EOF
bw_expect_ok "tcp6 x/a -> x/b:80 allowed" bw_probe_tcp6 x/a x/b 80
bw_expect_blocked "tcp6 x/a -> x/b:81 not allowed" bw_probe_tcp6 x/a x/b 81
bw_expect_blocked "tcp6 x/c -> x/b:80 not allowed" bw_probe_tcp6 x/c x/b 80
bw_expect_ok "udp6 x/a -> x/b:53 allowed" bw_probe_udp6 x/a x/b 53
bw_expect_blocked "udp6 x/c -> x/b:53 not allowed" bw_probe_udp6 x/c x/b 53
bw_expect_ok "IPv4 too: tcp x/a -> x/b:80" bw_probe_tcp x/a x/b 80
bw_expect_blocked "IPv4 too: tcp x/c -> x/b:80" bw_probe_tcp x/c x/b 80
bw_expect_blocked "no icmps rule: ping6 x/a -> x/b" bw_probe_icmp6 x/a x/b
bw_expect_trace "trace x/a -> fd00::1:2 names b-from-a-80" 'b-from-a-80' \
	--from x/a --to fd00::1:2 --port 80

# ---- ICMPv6 echo -----------------------------------------------------------
bw_policy_replace_text s2 <<'EOF' || bw_fail "replace s2"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: b-ping6-from-a
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
      - type: 128
        family: IPv6
EOF
bw_expect_ok "icmps IPv6 128: ping6 x/a -> x/b" bw_probe_icmp6 x/a x/b
bw_expect_blocked "icmps from pod=a only: ping6 x/c -> x/b" bw_probe_icmp6 x/c x/b
bw_expect_blocked "IPv6 echo rule does not allow IPv4 ping x/a -> x/b" \
	bw_probe_icmp x/a x/b
bw_expect_blocked "icmps only: tcp6 x/a -> x/b:80" bw_probe_tcp6 x/a x/b 80

# ---- CIDR set with except ------------------------------------------------------
bw_policy_replace_text s3 <<'EOF' || bw_fail "replace s3"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: a-to-doc-net
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: a
  egress:
  - toCIDRSet:
    - cidr: 2001:db8::/64
      except:
      - 2001:db8::20/128
    - cidr: fd00::/8
EOF
bw_expect_ok "toCIDRSet v6: x/a -> 2001:db8::10" bw_probe_tcp6 x/a ext1 80
bw_expect_blocked "except v6: x/a -> 2001:db8::20" bw_probe_tcp6 x/a ext2 80
bw_expect_blocked "CIDR v6 rule does not cover IPv4: x/a -> 192.0.2.10" \
	bw_probe_tcp x/a ext1 80
bw_expect_blocked "egress isolated: tcp6 x/a -> x/b" bw_probe_tcp6 x/a x/b 80
bw_expect_blocked "CNP CIDR fd00::/8 does not select pods: tcp6 x/a -> x/c" \
	bw_probe_tcp6 x/a x/c 80

# ---- deny + world entity -------------------------------------------------------
bw_policy_replace_text s4 <<'EOF' || bw_fail "replace s4"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: b-deny-a6
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: b
  ingress:
  - fromEntities:
    - all
  ingressDeny:
  - fromEndpoints:
    - matchLabels:
        pod: a
  - fromCIDR:
    - 2001:db8::20/128
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: c-to-world
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: c
  egress:
  - toEntities:
    - world
  - toEndpoints:
    - matchLabels:
        pod: b
EOF
bw_expect_blocked "ingressDeny v6: tcp6 x/a -> x/b" bw_probe_tcp6 x/a x/b 80
bw_expect_ok "allowed v6: tcp6 x/c -> x/b" bw_probe_tcp6 x/c x/b 80
bw_expect_ok "fromEntities all v6: 2001:db8::10 -> x/b" bw_probe_tcp6 ext1 x/b 80
bw_expect_blocked "ingressDeny fromCIDR v6: 2001:db8::20 -> x/b" \
	bw_probe_tcp6 ext2 x/b 80
bw_expect_ok "ingressDeny fromCIDR v6 leaves IPv4 alone: 192.0.2.20 -> x/b" \
	bw_probe_tcp ext2 x/b 80
bw_expect_ok "toEntities world v6: x/c -> 2001:db8::20" bw_probe_tcp6 x/c ext2 80
bw_expect_blocked "toEntities world v6: x/c -> fd00::1:1" bw_probe_tcp6 x/c x/a 80
bw_expect_trace "trace x/a -> fd00::1:2 names b-deny-a6" 'b-deny-a6' \
	--from x/a --to fd00::1:2 --port 80

# ---- ICMPv6 errors related to an allowed connection ------------------------
bw_policy_replace_text s5 <<'EOF' || bw_fail "replace s5"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: a-udp6-to-b
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
  name: b-udp6-from-a
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
bw_expect_ok "related ICMPv6 port unreachable reaches x/a" \
	bw_probe_udp_refused x/a x/b 9999 1 6
bw_expect_blocked "unrelated ICMPv6 is still blocked: ping6 x/b -> x/a" \
	bw_probe_icmp6 x/b x/a
bw_expect_blocked "x/a's ingress is isolated: tcp6 x/b -> x/a:80" \
	bw_probe_tcp6 x/b x/a 80

bw_stop_daemon
bw_finish
