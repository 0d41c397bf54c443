#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_cilium_enforcement_modes.sh - policy.enforcement with real
# traffic: `default` allows an endpoint no policy selects; `always` denies
# everything with no policy at all (both directions, pods and the world)
# and lets only explicit allows through; `never` enforces nothing, not even
# deny rules or a default-deny policy.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init

# ---- default -------------------------------------------------------------
bw_start_daemon -o policy.enforcement=default
bw namespace set x || bw_die "namespace set x"
bw_pod_add x a 10.1.0.1 pod=a || bw_die "endpoint add x/a"
bw_pod_add x b 10.1.0.2 pod=b || bw_die "endpoint add x/b"
bw_pod_add x c 10.1.0.3 pod=c || bw_die "endpoint add x/c"
bw_external_add ext1 192.0.2.10
for h in x/a x/b x/c ext1; do
	bw_server_tcp "$h" 80
done
bw_expect_ok "default, no policy: x/a -> x/b" bw_probe_tcp x/a x/b 80
bw_expect_ok "default, no policy: x/b -> x/a" bw_probe_tcp x/b x/a 80
bw_expect_ok "default, no policy: ext1 -> x/a" bw_probe_tcp ext1 x/a 80

# ---- always ----------------------------------------------------------------
bw_restart_daemon -o policy.enforcement=always
bw_expect_blocked "always, no policy: x/a -> x/b" bw_probe_tcp x/a x/b 80
bw_expect_blocked "always, no policy: x/b -> x/a" bw_probe_tcp x/b x/a 80
bw_expect_blocked "always, no policy: ext1 -> x/a" bw_probe_tcp ext1 x/a 80
bw_expect_blocked "always, no policy: x/a -> ext1" bw_probe_tcp x/a ext1 80
bw_expect_verdict "always, no policy: trace x/a -> x/b says denied" \
	DENIED --from x/a --to x/b --port 80

# Only explicit allows pass: x/b admits x/a; x/a may send to x/b.
bw_policy_replace_text allow <<'EOF' || bw_fail "replace allow"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: b-from-a
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: b
  ingress:
  - fromEndpoints:
    - matchLabels:
        pod: a
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: a-to-b
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: a
  egress:
  - toEndpoints:
    - matchLabels:
        pod: b
EOF
bw_expect_ok "always + both allows: x/a -> x/b" bw_probe_tcp x/a x/b 80
bw_expect_blocked "always + ingress allow only, c has no egress allow: x/c -> x/b" \
	bw_probe_tcp x/c x/b 80
bw_expect_blocked "always: x/b -> x/a (a's ingress has no allow)" \
	bw_probe_tcp x/b x/a 80
bw_expect_trace "always: trace x/a -> x/b names b-from-a" 'b-from-a' \
	--from x/a --to x/b --port 80

# A policy that selects x/c for egress only: x/c may send anywhere, but
# x/b (no policy left) is default-deny again under `always`.
bw_policy_replace_text egress-only <<'EOF' || bw_fail "replace egress-only"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: c-egress-all
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: c
  egress:
  - toEntities:
    - all
EOF
bw_expect_blocked "always, c may send but b admits nothing: x/c -> x/b" \
	bw_probe_tcp x/c x/b 80
bw_expect_blocked "always, x/b has no egress allow: x/b -> ext1" \
	bw_probe_tcp x/b ext1 80
bw_expect_ok "always + toEntities all: x/c -> ext1" bw_probe_tcp x/c ext1 80

# ---- never ---------------------------------------------------------------------
bw_restart_daemon -o policy.enforcement=never
bw_policy_replace_text deny <<'EOF' || bw_fail "replace deny"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: b-deny-all
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: b
  ingress:
  - fromEndpoints:
    - matchLabels:
        pod: c
  ingressDeny:
  - fromEntities:
    - all
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-all
  namespace: x
spec:
  podSelector: {}
  policyTypes:
  - Ingress
  - Egress
EOF
bw_expect_ok "never + deny policies: x/a -> x/b" bw_probe_tcp x/a x/b 80
bw_expect_ok "never + deny policies: x/c -> x/b" bw_probe_tcp x/c x/b 80
bw_expect_ok "never + default-deny KNP: x/b -> x/a" bw_probe_tcp x/b x/a 80
bw_expect_ok "never + default-deny KNP: ext1 -> x/a" bw_probe_tcp ext1 x/a 80
bw_expect_ok "never + default-deny KNP: x/a -> ext1" bw_probe_tcp x/a ext1 80

# ---- back to default: the same policies enforce -----------------------------
bw_restart_daemon -o policy.enforcement=default
bw_expect_blocked "default + deny policies: x/c -> x/b (deny beats allow)" \
	bw_probe_tcp x/c x/b 80
bw_expect_blocked "default + default-deny KNP: x/b -> x/a" bw_probe_tcp x/b x/a 80

bw_stop_daemon
bw_finish
