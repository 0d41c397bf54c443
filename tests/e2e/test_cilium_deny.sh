#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_cilium_deny.sh - CiliumNetworkPolicy deny rules with real
# traffic: ingressDeny beats an allow in the same policy and in another
# policy (whatever the allow's specificity, also a Kubernetes
# NetworkPolicy's allow); egressDeny; port-specific deny next to an L3
# allow (Cilium's documented example: 80 denied, 81 and ping allowed).
# `bulwark policy trace` must name the deny policy.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init
bw_start_daemon

bw namespace set x || bw_die "namespace set x"
bw_pod_add x a 10.1.0.1 pod=a || bw_die "endpoint add x/a"
bw_pod_add x b 10.1.0.2 pod=b || bw_die "endpoint add x/b"
bw_pod_add x c 10.1.0.3 pod=c || bw_die "endpoint add x/c"
for h in x/a x/b x/c; do
	bw_server_tcp "$h" 80 81
done

# ---- ingressDeny beats allow in the same policy ----------------------------
bw_policy_replace_text s1 <<'EOF' || bw_fail "replace s1"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: b-deny-a
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: b
  ingress:
  - fromEndpoints:
    - {}
  ingressDeny:
  - fromEndpoints:
    - matchLabels:
        pod: a
EOF
bw_expect_blocked "ingressDeny from pod=a beats allow-all: x/a -> x/b" \
	bw_probe_tcp x/a x/b 80
bw_expect_blocked "ingressDeny from pod=a, any port: x/a -> x/b:81" \
	bw_probe_tcp x/a x/b 81
bw_expect_ok "allowed by fromEndpoints {}: x/c -> x/b" bw_probe_tcp x/c x/b 80
bw_expect_trace "trace x/a -> x/b names b-deny-a" 'b-deny-a' \
	--from x/a --to x/b --port 80
bw_expect_verdict "trace x/a -> x/b says denied" DENIED \
	--from x/a --to x/b --port 80
bw_expect_verdict "trace x/c -> x/b says allowed" ALLOWED \
	--from x/c --to x/b --port 80

# ---- deny in one policy beats a more specific allow in another -------------
bw_policy_replace_text s2 <<'EOF' || bw_fail "replace s2"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: b-allow-a-80
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
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: b-deny-a-l3
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: b
  ingressDeny:
  - fromEndpoints:
    - matchLabels:
        pod: a
EOF
bw_expect_blocked "L3 deny beats L3+L4 allow: x/a -> x/b:80" \
	bw_probe_tcp x/a x/b 80
bw_expect_blocked "not allowed at all: x/c -> x/b:80" bw_probe_tcp x/c x/b 80
bw_expect_trace "trace x/a -> x/b:80 names b-deny-a-l3" 'b-deny-a-l3' \
	--from x/a --to x/b --port 80

# ---- a Cilium deny beats a Kubernetes NetworkPolicy allow --------------------
bw_policy_replace_text s3 <<'EOF' || bw_fail "replace s3"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: knp-b-from-a
  namespace: x
spec:
  podSelector:
    matchLabels:
      pod: b
  ingress:
  - from:
    - podSelector:
        matchLabels:
          pod: a
  policyTypes:
  - Ingress
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: b-deny-81
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: b
  ingressDeny:
  - fromEntities:
    - all
    toPorts:
    - ports:
      - port: "81"
        protocol: TCP
EOF
bw_expect_ok "KNP allow: x/a -> x/b:80" bw_probe_tcp x/a x/b 80
bw_expect_blocked "CNP deny 81 beats KNP allow: x/a -> x/b:81" \
	bw_probe_tcp x/a x/b 81
bw_expect_blocked "KNP isolates x/b: x/c -> x/b:80" bw_probe_tcp x/c x/b 80
bw_expect_trace "trace x/a -> x/b:81 names b-deny-81" 'b-deny-81' \
	--from x/a --to x/b --port 81
bw_expect_trace "trace x/a -> x/b:80 names knp-b-from-a" 'knp-b-from-a' \
	--from x/a --to x/b --port 80

# ---- Cilium's documented example: L3 allow + deny 80/TCP --------------------
bw_policy_replace_text s4 <<'EOF' || bw_fail "replace s4"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: b-l3-allow-deny-80
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: b
  ingress:
  - fromEndpoints:
    - matchLabels:
        pod: a
  ingressDeny:
  - fromEndpoints:
    - matchLabels:
        pod: a
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
EOF
bw_expect_blocked "deny 80/TCP: x/a -> x/b:80" bw_probe_tcp x/a x/b 80
bw_expect_ok "L3 allow: x/a -> x/b:81" bw_probe_tcp x/a x/b 81
bw_expect_ok "L3 allow: ping x/a -> x/b" bw_probe_icmp x/a x/b

# ---- egressDeny ------------------------------------------------------------
bw_policy_replace_text s5 <<'EOF' || bw_fail "replace s5"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: a-egress-deny-c
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: a
  egress:
  - toEntities:
    - all
  egressDeny:
  - toEndpoints:
    - matchLabels:
        pod: c
  - toPorts:
    - ports:
      - port: "81"
        protocol: TCP
EOF
bw_expect_blocked "egressDeny to pod=c: x/a -> x/c:80" bw_probe_tcp x/a x/c 80
bw_expect_ok "egress allowed: x/a -> x/b:80" bw_probe_tcp x/a x/b 80
bw_expect_blocked "egressDeny port 81 to anyone: x/a -> x/b:81" \
	bw_probe_tcp x/a x/b 81
bw_expect_ok "x/c not affected: x/c -> x/b:81" bw_probe_tcp x/c x/b 81
bw_expect_ok "ingress of x/c not affected: x/b -> x/c:80" \
	bw_probe_tcp x/b x/c 80
bw_expect_trace "trace x/a -> x/c names a-egress-deny-c" 'a-egress-deny-c' \
	--from x/a --to x/c --port 80

# ---- a deny-only policy isolates the endpoint (default deny) ----------------
bw_policy_replace_text s6 <<'EOF' || bw_fail "replace s6"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: c-deny-only
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: c
  ingressDeny:
  - fromEndpoints:
    - matchLabels:
        pod: a
EOF
bw_expect_blocked "deny-only policy: x/a -> x/c" bw_probe_tcp x/a x/c 80
bw_expect_blocked "deny-only policy makes ingress default-deny: x/b -> x/c" \
	bw_probe_tcp x/b x/c 80

bw_check "policy replace with an empty set" bw_policy_replace_text empty </dev/null
bw_expect_ok "no policy: x/a -> x/c" bw_probe_tcp x/a x/c 80

bw_stop_daemon
bw_finish
