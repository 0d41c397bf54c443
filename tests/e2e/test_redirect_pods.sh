#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Egress proxy redirects between pods of the node (docs/redirect.md,
# section 5): the proxy's connection to the server keeps the client pod's
# address, so the server's own ingress policy is still applied by the
# client's identity, not the node's: a client the server does not accept
# gets nothing through the proxy either. With L7 rules on both sides the
# connection goes through the proxy twice (the client's egress rules, then
# the server's ingress rules).
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
. "$BW_LIB_DIR/redirect_lib.sh"

bw_init
bw_rd_start_daemon http dns
bw_pod_add x a 10.1.0.1 fd00::1:1 app=client
bw_pod_add x c 10.1.0.3 fd00::1:3 app=other
bw_pod_add x b 10.1.0.2 fd00::1:2 app=server
bw_pod_add x s 10.1.0.4 fd00::1:4 app=strict
bw_server_tcp x/b 80
bw_server_udp x/b 53
bw_server_tcp x/s 80
bw_bg "$(bw_netns_of x/b)" socat TCP6-LISTEN:81,ipv6only=0,fork,reuseaddr \
	'SYSTEM:echo $SOCAT_PEERADDR'
bw_wait_listen "$(bw_netns_of x/b)" tcp 81

# peer_seen FROM : the client address x/b reported on port 81.
peer_seen() {
	timeout 5 ip netns exec "$(bw_netns_of "$1")" socat -T 2 - \
		"TCP4:$(bw_ip_of x/b):81,connect-timeout=2" </dev/null 2>/dev/null |
		tr -d '[]' | python3 -c '
import ipaddress, sys
a = ipaddress.ip_address(sys.stdin.read().strip())
print(getattr(a, "ipv4_mapped", None) or a)' 2>/dev/null
}

bw_policy_import_text pods <<'YAML' || bw_die "policy import failed"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: clients-l7
  namespace: x
spec:
  endpointSelector:
    matchExpressions:
    - {key: app, operator: In, values: [client, other]}
  egress:
  - toEndpoints:
    - matchLabels:
        app: server
    - matchLabels:
        app: strict
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
      - port: "81"
        protocol: TCP
      rules:
        http:
        - method: GET
  - toEndpoints:
    - matchLabels:
        app: server
    toPorts:
    - ports:
      - port: "53"
        protocol: UDP
      rules:
        dns:
        - matchPattern: "*"
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: server-in
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      app: server
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
      - port: "53"
        protocol: UDP
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: strict-in
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      app: strict
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: client
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
      rules:
        http:
        - method: GET
          path: /
YAML

bw_rd_expect_relayed "pod to pod: the client's egress L7 port goes through the proxy" http \
	bw_probe_tcp x/a x/b 80
bw_rd_expect_last "the proxy knows the server pod" http \
	'r["direction"] + " " + r["server"]["namespace"] + "/" + r["server"]["pod_name"]' "egress x/b"
got=$(peer_seen x/a)
if [ "$got" = 10.1.0.1 ]; then
	bw_pass "the server sees the client pod's own address, not the node's"
else
	bw_fail "the server saw '$got' as its client, expected 10.1.0.1"
fi
bw_rd_expect_relayed "pod to pod over IPv6" http bw_probe_tcp6 x/a x/b 80
bw_rd_expect_relayed "UDP pod to pod through the proxy" dns bw_probe_udp x/a x/b 53

# x/c may send through its egress proxy, but x/b's ingress only accepts x/a
bw_expect_blocked "the server's ingress policy still refuses a client it does not allow (TCP)" \
	bw_probe_tcp x/c x/b 80
bw_rd_expect_last "... the proxy did try, as x/c" http \
	'r["client"]["pod_name"] + " " + r["server"]["pod_name"]' "c b"
bw_expect_blocked "... and over UDP" bw_probe_udp x/c x/b 53
if bw_flows_available; then
	bw_expect_flow "x/b's ingress dropped x/c's connection, by x/c's identity" \
		--from-pod x/c --to-pod x/b --verdict DROPPED --traffic-direction ingress
fi

# both sides with L7 rules: the client's egress proxy, then the server's
# ingress proxy (the same class, so the same relay, twice)
before=$(bw_rd_count http)
bw_expect_ok "egress and ingress L7 rules: the connection passes both" bw_probe_tcp x/a x/s 80
after=$(bw_rd_count http)
if [ $((after - before)) = 2 ]; then
	bw_pass "... through the proxy twice"
else
	bw_fail "... the proxy saw it $((after - before)) time(s), expected 2"
fi
dirs=$(bw_rd_learned http | tail -n 2 | python3 -c '
import json, sys
print(" ".join(json.loads(l)["direction"] for l in sys.stdin))')
if [ "$dirs" = "egress ingress" ]; then
	bw_pass "... first for the client's egress, then for the server's ingress"
else
	bw_fail "... directions were '$dirs'"
fi
bw_expect_blocked "egress and ingress L7 rules: the server's ingress still needs the client allowed" \
	bw_probe_tcp x/c x/s 80

bw_finish
