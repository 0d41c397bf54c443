#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_cilium_entities.sh - CiliumNetworkPolicy entities with real
# traffic: world (an external host 192.0.2.10), host (the node netns),
# cluster (every pod of every namespace plus the host, not the world) and
# all (everything). Policies go in with `bulwark policy import` and out with
# `bulwark policy delete`; `bulwark policy trace` must name the policy.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init
bw_start_daemon

bw namespace set x || bw_die "namespace set x"
bw namespace set y || bw_die "namespace set y"
bw_pod_add x a 10.1.0.1 pod=a || bw_die "endpoint add x/a"
bw_pod_add x b 10.1.0.2 pod=b || bw_die "endpoint add x/b"
bw_pod_add x c 10.1.0.3 pod=c || bw_die "endpoint add x/c"
bw_pod_add y a 10.2.0.1 pod=a || bw_die "endpoint add y/a"
bw_external_add ext1 192.0.2.10
for h in x/a x/b x/c y/a ext1 node; do
	bw_server_tcp "$h" 80
done

bw_expect_ok "no policy: x/a -> x/b" bw_probe_tcp x/a x/b 80
bw_expect_ok "no policy: ext1 -> x/b" bw_probe_tcp ext1 x/b 80

# ---- world, ingress -------------------------------------------------------
bw_policy_import_text b-from-world <<'EOF' || bw_fail "import b-from-world"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: b-from-world
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: b
  ingress:
  - fromEntities:
    - world
EOF
bw_expect_ok "fromEntities world: ext1 -> x/b" bw_probe_tcp ext1 x/b 80
bw_expect_blocked "fromEntities world: x/a -> x/b (a pod is not world)" \
	bw_probe_tcp x/a x/b 80
bw_expect_blocked "fromEntities world: y/a -> x/b" bw_probe_tcp y/a x/b 80
bw_expect_ok "fromEntities world: x/a -> x/c (x/c not selected)" \
	bw_probe_tcp x/a x/c 80
bw_expect_trace "trace ext1 -> x/b names b-from-world" 'b-from-world' \
	--from 192.0.2.10 --to x/b --port 80
bw_expect_verdict "trace x/a -> x/b is denied" DENIED \
	--from x/a --to x/b --port 80
bw_check "policy delete x/b-from-world" bw policy delete x/b-from-world
bw_expect_ok "after delete: x/a -> x/b" bw_probe_tcp x/a x/b 80

# ---- world, egress --------------------------------------------------------
bw_policy_import_text a-to-world <<'EOF' || bw_fail "import a-to-world"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: a-to-world
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: a
  egress:
  - toEntities:
    - world
EOF
bw_expect_ok "toEntities world: x/a -> ext1" bw_probe_tcp x/a ext1 80
bw_expect_blocked "toEntities world: x/a -> x/b" bw_probe_tcp x/a x/b 80
bw_expect_blocked "toEntities world: x/a -> y/a" bw_probe_tcp x/a y/a 80
bw_expect_blocked "toEntities world: x/a -> node (host is not world)" \
	bw_probe_tcp x/a node 80
bw_expect_ok "toEntities world: x/b -> ext1 (x/b not selected)" \
	bw_probe_tcp x/b ext1 80
bw_expect_trace "trace x/a -> 192.0.2.10 names a-to-world" 'a-to-world' \
	--from x/a --to 192.0.2.10 --port 80
bw_expect_verdict "trace x/a -> 192.0.2.10 is allowed" ALLOWED \
	--from x/a --to 192.0.2.10 --port 80
bw_check "policy delete x/a-to-world" bw policy delete x/a-to-world

# ---- host ------------------------------------------------------------------
bw_policy_import_text b-from-host <<'EOF' || bw_fail "import b-from-host"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: b-from-host
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: b
  ingress:
  - fromEntities:
    - host
EOF
bw_expect_ok "fromEntities host: node -> x/b" bw_probe_tcp node x/b 80
bw_expect_blocked "fromEntities host: x/a -> x/b" bw_probe_tcp x/a x/b 80
bw_expect_blocked "fromEntities host: ext1 -> x/b" bw_probe_tcp ext1 x/b 80
bw_check "policy delete x/b-from-host" bw policy delete x/b-from-host

# ---- cluster ---------------------------------------------------------------
bw_policy_import_text c-from-cluster <<'EOF' || bw_fail "import c-from-cluster"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: c-from-cluster
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: c
  ingress:
  - fromEntities:
    - cluster
EOF
bw_expect_ok "fromEntities cluster: x/a -> x/c" bw_probe_tcp x/a x/c 80
bw_expect_ok "fromEntities cluster: y/a -> x/c (other namespace)" \
	bw_probe_tcp y/a x/c 80
bw_expect_ok "fromEntities cluster: node -> x/c (host is in cluster)" \
	bw_probe_tcp node x/c 80
bw_expect_blocked "fromEntities cluster: ext1 -> x/c (world is not cluster)" \
	bw_probe_tcp ext1 x/c 80
bw_check "policy delete x/c-from-cluster" bw policy delete x/c-from-cluster

bw_policy_import_text ya-to-cluster <<'EOF' || bw_fail "import ya-to-cluster"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: ya-to-cluster
  namespace: y
spec:
  endpointSelector:
    matchLabels:
      pod: a
  egress:
  - toEntities:
    - cluster
EOF
bw_expect_ok "toEntities cluster: y/a -> x/a" bw_probe_tcp y/a x/a 80
bw_expect_ok "toEntities cluster: y/a -> node" bw_probe_tcp y/a node 80
bw_expect_blocked "toEntities cluster: y/a -> ext1" bw_probe_tcp y/a ext1 80
bw_check "policy delete y/ya-to-cluster" bw policy delete y/ya-to-cluster

# ---- all -------------------------------------------------------------------
# A policy that isolates x/c, then "all" re-opens it to everything.
bw_policy_import_text c-from-all <<'EOF' || bw_fail "import c-from-all"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: c-from-all
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: c
  ingress:
  - fromEntities:
    - all
  egress:
  - toEntities:
    - host
EOF
bw_expect_ok "fromEntities all: ext1 -> x/c" bw_probe_tcp ext1 x/c 80
bw_expect_ok "fromEntities all: x/a -> x/c" bw_probe_tcp x/a x/c 80
bw_expect_ok "fromEntities all: y/a -> x/c" bw_probe_tcp y/a x/c 80
bw_expect_ok "fromEntities all: node -> x/c" bw_probe_tcp node x/c 80
bw_expect_ok "toEntities host: x/c -> node" bw_probe_tcp x/c node 80
bw_expect_blocked "toEntities host only: x/c -> ext1" bw_probe_tcp x/c ext1 80
bw_expect_blocked "toEntities host only: x/c -> x/a" bw_probe_tcp x/c x/a 80
bw_check "policy delete x/c-from-all" bw policy delete x/c-from-all
bw_expect_ok "no policy left: x/c -> x/a" bw_probe_tcp x/c x/a 80

bw_stop_daemon
bw_finish
