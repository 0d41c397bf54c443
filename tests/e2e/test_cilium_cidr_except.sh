#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_cilium_cidr_except.sh - CiliumNetworkPolicy CIDR peers with
# real traffic to and from external hosts: toCIDRSet with except, toCIDR,
# fromCIDR / fromCIDRSet with except; and the format difference: a Cilium
# CIDR covering pod addresses does NOT select the pods, while a Kubernetes
# ipBlock does.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init
bw_start_daemon

bw namespace set x || bw_die "namespace set x"
bw namespace set y || bw_die "namespace set y"
bw_pod_add x a 10.1.0.1 pod=a || bw_die "endpoint add x/a"
bw_pod_add x b 10.1.0.2 pod=b || bw_die "endpoint add x/b"
bw_pod_add y a 10.2.0.1 pod=a || bw_die "endpoint add y/a"
bw_external_add ext1 192.0.2.10
bw_external_add ext2 192.0.2.20
bw_external_add ext3 198.51.100.10
for h in x/a x/b y/a ext1 ext2 ext3; do
	bw_server_tcp "$h" 80
done

# ---- toCIDRSet with except -------------------------------------------------
bw_policy_replace_text s1 <<'EOF' || bw_fail "replace s1"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: a-to-testnet-except
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: a
  egress:
  - toCIDRSet:
    - cidr: 192.0.2.0/24
      except:
      - 192.0.2.20/32
EOF
bw_expect_ok "toCIDRSet 192.0.2.0/24: x/a -> 192.0.2.10" bw_probe_tcp x/a ext1 80
bw_expect_blocked "except 192.0.2.20/32: x/a -> 192.0.2.20" \
	bw_probe_tcp x/a ext2 80
bw_expect_blocked "outside the CIDR: x/a -> 198.51.100.10" \
	bw_probe_tcp x/a ext3 80
bw_expect_blocked "egress isolated: x/a -> x/b" bw_probe_tcp x/a x/b 80
bw_expect_ok "x/b not selected: x/b -> 192.0.2.20" bw_probe_tcp x/b ext2 80
bw_expect_trace "trace x/a -> 192.0.2.10 names a-to-testnet-except" \
	'a-to-testnet-except' --from x/a --to 192.0.2.10 --port 80
bw_expect_verdict "trace x/a -> 192.0.2.20 is denied" DENIED \
	--from x/a --to 192.0.2.20 --port 80

# ---- toCIDR: a list of prefixes, a bare address -----------------------------
bw_policy_replace_text s2 <<'EOF' || bw_fail "replace s2"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: a-to-cidrs
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: a
  egress:
  - toCIDR:
    - 192.0.2.0/24
    - 198.51.100.10
EOF
bw_expect_ok "toCIDR: x/a -> 192.0.2.10" bw_probe_tcp x/a ext1 80
bw_expect_ok "toCIDR: x/a -> 192.0.2.20" bw_probe_tcp x/a ext2 80
bw_expect_ok "toCIDR bare IP: x/a -> 198.51.100.10" bw_probe_tcp x/a ext3 80

# ---- a CNP CIDR covering the pods does not select them ----------------------
bw_policy_replace_text s3 <<'EOF' || bw_fail "replace s3"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: a-to-podnet
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: a
  egress:
  - toCIDR:
    - 10.0.0.0/8
    - 192.0.2.10/32
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: b-from-podnet
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: b
  ingress:
  - fromCIDR:
    - 10.0.0.0/8
    - 198.51.100.0/24
EOF
bw_expect_blocked "CNP toCIDR 10.0.0.0/8 does not select pods: x/a -> x/b" \
	bw_probe_tcp x/a x/b 80
bw_expect_blocked "CNP toCIDR 10.0.0.0/8 does not select pods: x/a -> y/a" \
	bw_probe_tcp x/a y/a 80
bw_expect_ok "CNP toCIDR still matches world: x/a -> 192.0.2.10" \
	bw_probe_tcp x/a ext1 80
bw_expect_blocked "CNP fromCIDR 10.0.0.0/8 does not select pods: y/a -> x/b" \
	bw_probe_tcp y/a x/b 80
bw_expect_ok "CNP fromCIDR 198.51.100.0/24: 198.51.100.10 -> x/b" \
	bw_probe_tcp ext3 x/b 80
bw_expect_blocked "CNP fromCIDR: 192.0.2.10 -> x/b (not listed)" \
	bw_probe_tcp ext1 x/b 80

# ---- ... while a Kubernetes ipBlock does -----------------------------------
bw_policy_replace_text s4 <<'EOF' || bw_fail "replace s4"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: knp-a-to-podnet
  namespace: x
spec:
  podSelector:
    matchLabels:
      pod: a
  egress:
  - to:
    - ipBlock:
        cidr: 10.0.0.0/8
  policyTypes:
  - Egress
EOF
bw_expect_ok "KNP ipBlock 10.0.0.0/8 matches pods: x/a -> x/b" \
	bw_probe_tcp x/a x/b 80
bw_expect_ok "KNP ipBlock 10.0.0.0/8 matches pods: x/a -> y/a" \
	bw_probe_tcp x/a y/a 80
bw_expect_blocked "KNP ipBlock: x/a -> 192.0.2.10 (outside)" \
	bw_probe_tcp x/a ext1 80

# ---- fromCIDRSet with except --------------------------------------------------
bw_policy_replace_text s5 <<'EOF' || bw_fail "replace s5"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: b-from-testnet-except
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: b
  ingress:
  - fromCIDRSet:
    - cidr: 192.0.2.0/24
      except:
      - 192.0.2.20/32
EOF
bw_expect_ok "fromCIDRSet: 192.0.2.10 -> x/b" bw_probe_tcp ext1 x/b 80
bw_expect_blocked "fromCIDRSet except: 192.0.2.20 -> x/b" bw_probe_tcp ext2 x/b 80
bw_expect_blocked "fromCIDRSet: 198.51.100.10 -> x/b" bw_probe_tcp ext3 x/b 80
bw_expect_blocked "fromCIDRSet: x/a -> x/b" bw_probe_tcp x/a x/b 80

bw_check "policy replace with an empty set" bw_policy_replace_text empty </dev/null
bw_expect_ok "no policy: 192.0.2.20 -> x/b" bw_probe_tcp ext2 x/b 80

bw_stop_daemon
bw_finish
