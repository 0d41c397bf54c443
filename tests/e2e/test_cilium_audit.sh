#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_cilium_audit.sh - audit mode with real traffic: with
# policy.audit=true, per namespace (`bulwark namespace set NS --audit on`)
# and per endpoint (`bulwark endpoint update NS/POD --audit on`), traffic
# that policy would drop (default deny or an explicit deny) passes,
# `bulwark policy trace` says AUDIT and `bulwark observe` shows an AUDIT
# flow; switching audit off enforces again, and audit in one namespace or
# endpoint leaves the others enforced.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init

# ---- daemon-wide: policy.audit=true ---------------------------------------
bw_start_daemon -o policy.audit=true

bw namespace set x || bw_die "namespace set x"
bw namespace set y || bw_die "namespace set y"
for ns in x y; do
	n=1
	[ $ns = y ] && n=2
	bw_pod_add $ns a 10.$n.0.1 pod=a || bw_die "endpoint add $ns/a"
	bw_pod_add $ns b 10.$n.0.2 pod=b || bw_die "endpoint add $ns/b"
	bw_pod_add $ns c 10.$n.0.3 pod=c || bw_die "endpoint add $ns/c"
	bw_server_tcp $ns/b 80
done

# In both namespaces b accepts only c, and denies a explicitly on 81.
bw_policy_replace_text pol <<'EOF' || bw_fail "replace pol"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: b-from-c
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
  - fromEndpoints:
    - matchLabels:
        pod: a
    toPorts:
    - ports:
      - port: "81"
        protocol: TCP
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: b-from-c
  namespace: y
spec:
  endpointSelector:
    matchLabels:
      pod: b
  ingress:
  - fromEndpoints:
    - matchLabels:
        pod: c
  ingressDeny:
  - fromEndpoints:
    - matchLabels:
        pod: a
    toPorts:
    - ports:
      - port: "81"
        protocol: TCP
EOF
bw_server_tcp x/b 81
bw_server_tcp y/b 81

bw_expect_ok "policy.audit=true: default-deny x/a -> x/b:80 passes" \
	bw_probe_tcp x/a x/b 80
bw_expect_ok "policy.audit=true: explicit deny x/a -> x/b:81 passes" \
	bw_probe_tcp x/a x/b 81
bw_expect_ok "policy.audit=true: y/a -> y/b:80 passes" bw_probe_tcp y/a y/b 80
bw_expect_ok "policy.audit=true: allowed x/c -> x/b:80" bw_probe_tcp x/c x/b 80
bw_expect_verdict "policy.audit=true: trace x/a -> x/b:80 says AUDIT" AUDIT \
	--from x/a --to x/b --port 80
bw_expect_verdict "policy.audit=true: trace x/a -> x/b:81 says AUDIT" AUDIT \
	--from x/a --to x/b --port 81
bw_expect_flow "policy.audit=true: an AUDIT flow x/a -> x/b:80" \
	--verdict AUDIT --from-pod x/a --to-pod x/b --to-port 80
bw_expect_verdict "policy.audit=true: trace x/c -> x/b:80 says allowed" \
	ALLOWED --from x/c --to x/b --port 80

# Restart without audit: the same state is enforced.
bw_restart_daemon -o policy.audit=false
bw_expect_blocked "audit off: x/a -> x/b:80 blocked" bw_probe_tcp x/a x/b 80
bw_expect_blocked "audit off: x/a -> x/b:81 blocked" bw_probe_tcp x/a x/b 81
bw_expect_blocked "audit off: y/a -> y/b:80 blocked" bw_probe_tcp y/a y/b 80
bw_expect_ok "audit off: x/c -> x/b:80 allowed" bw_probe_tcp x/c x/b 80
bw_expect_verdict "audit off: trace x/a -> x/b:80 says denied" \
	DENIED --from x/a --to x/b --port 80

# ---- per namespace ------------------------------------------------------------
t_ns=$(date -u +%Y-%m-%dT%H:%M:%SZ)
bw_check "namespace set x --audit on" bw namespace set x --audit on
bw_expect_ok "namespace x audited: x/a -> x/b:80 passes" bw_probe_tcp x/a x/b 80
bw_expect_ok "namespace x audited: x/a -> x/b:81 passes" bw_probe_tcp x/a x/b 81
bw_expect_blocked "namespace y not audited: y/a -> y/b:80 blocked" \
	bw_probe_tcp y/a y/b 80
bw_expect_verdict "namespace x audited: trace x/a -> x/b:80 says AUDIT" AUDIT \
	--from x/a --to x/b --port 80
bw_expect_flow "namespace x audited: an AUDIT flow x/a -> x/b:81" \
	--verdict AUDIT --from-pod x/a --to-pod x/b --to-port 81 \
	--since "$t_ns"
bw_check "namespace set x --audit off" bw namespace set x --audit off
bw_expect_blocked "namespace x audit off: x/a -> x/b:80 blocked" \
	bw_probe_tcp x/a x/b 80

# ---- per endpoint ------------------------------------------------------------
t_ep=$(date -u +%Y-%m-%dT%H:%M:%SZ)
bw_check "endpoint update y/b --audit on" \
	bw endpoint update y/b --label pod=b --audit on
bw_expect_ok "endpoint y/b audited: y/a -> y/b:80 passes" bw_probe_tcp y/a y/b 80
bw_expect_blocked "endpoint x/b not audited: x/a -> x/b:80 blocked" \
	bw_probe_tcp x/a x/b 80
bw_expect_verdict "endpoint y/b audited: trace y/a -> y/b:80 says AUDIT" AUDIT \
	--from y/a --to y/b --port 80
bw_expect_flow "endpoint y/b audited: an AUDIT flow y/a -> y/b:80" \
	--verdict AUDIT --from-pod y/a --to-pod y/b --to-port 80 --since "$t_ep"
bw_check "endpoint update y/b --audit off" \
	bw endpoint update y/b --label pod=b --audit off
bw_expect_blocked "endpoint y/b audit off: y/a -> y/b:80 blocked" \
	bw_probe_tcp y/a y/b 80

# An endpoint added with --audit on is audited from the start.
bw_pod_add y d 10.2.0.4 pod=b --audit=on || bw_fail "endpoint add y/d --audit=on"
bw_server_tcp y/d 80
bw_expect_ok "endpoint added with --audit=on: y/a -> y/d:80 passes" \
	bw_probe_tcp y/a y/d 80

bw_stop_daemon
bw_finish
