#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Proxy redirects at ingress (docs/redirect.md, section 2): an L7 port in a
# pod's ingress policy sends connections to that pod through the local
# proxy. From another pod the decision is taken at the client's veth; from
# the node and (UDP) from outside the node the packet is turned around at
# the server's veth. TCP from outside the node cannot be redirected without
# a program on the uplink and is dropped, saying so. The proxy's own
# connection to the server keeps the client's address, so the server sees
# its real client, and is not redirected a second time.
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
. "$BW_LIB_DIR/redirect_lib.sh"

bw_init
bw_rd_start_daemon http dns -o test-redirect:dns.format=true
bw_pod_add x a 10.1.0.1 fd00::1:1 app=client
bw_pod_add x c 10.1.0.3 fd00::1:3 app=other
bw_pod_add x b 10.1.0.2 fd00::1:2 app=server
bw_external_add ext 192.0.2.20 2001:db8::20
bw_server_tcp x/b 80 8080
bw_server_udp x/b 53
# port 81 answers with the address the server saw its client connect from
bw_bg "$(bw_netns_of x/b)" socat TCP6-LISTEN:81,ipv6only=0,fork,reuseaddr \
	'SYSTEM:echo $SOCAT_PEERADDR'
bw_wait_listen "$(bw_netns_of x/b)" tcp 81

# peer_seen FROM PORT [FAMILY] : the client address the server reported.
peer_seen() {
	local dst
	if [ "${3:-4}" = 6 ]; then
		dst="TCP6:[$(bw_ip_of x/b 6)]:$2"
	else
		dst="TCP4:$(bw_ip_of x/b):$2"
	fi
	timeout 5 ip netns exec "$(bw_netns_of "$1")" socat -T 2 - "$dst,connect-timeout=2" \
		</dev/null 2>/dev/null | tr -d '[]' | python3 -c '
import ipaddress, sys
a = ipaddress.ip_address(sys.stdin.read().strip())
print(getattr(a, "ipv4_mapped", None) or a)' 2>/dev/null
}

bw_policy_import_text server-l7 <<'YAML' || bw_die "policy import failed"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: server-l7
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      app: server
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: client
    fromEntities: []
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
      - port: "81"
        protocol: TCP
      rules:
        http:
        - method: GET
  - fromEntities: [host, world]
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
      rules:
        http:
        - method: GET
          path: /health
  - fromEndpoints:
    - matchLabels:
        app: client
    toPorts:
    - ports:
      - port: "8080"
        protocol: TCP
YAML

bw_expect_verdict "policy trace: the ingress L7 port is REDIRECTED" REDIRECTED \
	--from x/a --to x/b --port 80
bw_expect_output "policy trace: the server's ingress step names the proxy" \
	'ingress of x/b: enforced, REDIRECTED' bw policy trace --from x/a --to x/b --port 80

bw_rd_expect_relayed "pod to pod: the server's ingress L7 port goes through the proxy" http \
	bw_probe_tcp x/a x/b 80
bw_rd_expect_last "the ingress policy redirected it" http 'r["direction"]' ingress
bw_rd_expect_last "the proxy knows client and server" http \
	'r["client"]["pod_name"] + " -> " + r["server"]["pod_name"] + ":" + str(r["server"]["port"])' \
	"a -> b:80"
bw_rd_expect_last "the proxy got the server's rules" http \
	'r["rules"][0]["policy"]["name"] + " " + json.dumps(r["rules"][0]["http"])' \
	'server-l7 [{"method": "GET"}]'
bw_rd_expect_relayed "pod to pod over IPv6" http bw_probe_tcp6 x/a x/b 80
got=$(peer_seen x/a 81)
if [ "$got" = 10.1.0.1 ]; then
	bw_pass "the server sees its client's own address through the proxy"
else
	bw_fail "the server saw '$got' as its client, expected 10.1.0.1"
fi
got=$(peer_seen x/a 81 6)
if [ "$got" = fd00::1:1 ]; then
	bw_pass "the server sees its client's own address through the proxy (IPv6)"
else
	bw_fail "the server saw '$got' as its client over IPv6, expected fd00::1:1"
fi
if bw_flows_available; then
	bw_expect_flow "the server's ingress verdict is REDIRECTED" \
		--verdict REDIRECTED --to-pod x/b --to-port 80 --traffic-direction ingress
fi

bw_expect_blocked "a pod the server's policy does not allow is not let through by the proxy" \
	bw_probe_tcp x/c x/b 80
bw_rd_expect_direct "a plain port of the same server is not redirected" http \
	bw_probe_tcp x/a x/b 8080

bw_rd_expect_relayed "the node's own connection to the ingress L7 port goes through the proxy" http \
	bw_probe_tcp node x/b 80
bw_rd_expect_last "the node's connection: the client is the host" http \
	'r["client"]["identity"]' 1

bw_expect_blocked "TCP from outside the node to an ingress L7 port is dropped" \
	bw_probe_tcp ext x/b 80
if bw_flows_available; then
	bw_expect_flow "... with the reason, Proxy redirection not supported" \
		--to-pod x/b --verdict DROPPED --drop-reason-desc PROXY_REDIRECTION_NOT_SUPPORTED_FOR_PROTOCOL
fi

# UDP at ingress: DNS rules on ingress (no Cilium rule can say it; the
# rule model can, through the test format of the relay module).
bw_policy_import_text dns-in <<'JSON' || bw_die "policy import failed"
{"apiVersion": "test.bulwark.io/v1", "kind": "RuleModel",
 "metadata": {"name": "server-dns", "namespace": "x"},
 "rules": [{"subject": {"match_labels": {"k8s:app": "server", "k8s:io.kubernetes.pod.namespace": "x"}},
            "ingress": [{"deny": false, "peers": [{"entity": "all"}],
                         "ports": [{"port": 53, "protocol": "UDP",
                                    "rules": {"dns": [{"matchPattern": "*"}]}}]}],
            "egress": [], "default_deny": {"ingress": true, "egress": false}}]}
JSON
bw_rd_expect_relayed "UDP from a pod to an ingress L7 port goes through the proxy" dns \
	bw_probe_udp x/a x/b 53
bw_rd_expect_last "UDP: the ingress policy redirected it" dns \
	'r["direction"] + " " + r["client"]["pod_name"]' "ingress a"
bw_rd_expect_relayed "UDP from the node to an ingress L7 port" dns bw_probe_udp node x/b 53
bw_rd_expect_relayed "UDP from outside the node to an ingress L7 port" dns bw_probe_udp ext x/b 53
bw_rd_expect_last "UDP from outside: the proxy knows the external client" dns \
	'r["client"]["ip"] + " " + str(r["client"]["identity"])' "192.0.2.20 2"
bw_rd_expect_relayed "UDP from outside over IPv6" dns bw_probe_udp6 ext x/b 53

bw_finish
