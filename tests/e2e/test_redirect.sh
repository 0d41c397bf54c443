#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Proxy redirects, egress (docs/redirect.md): a toPorts entry with L7 rules
# sends the pod's connections on that port to the local proxy of the rules'
# kind, transparently; the proxy learns the original destination, the
# client pod and the rules, and reaches the original server itself.
# TCP (http) and UDP (dns), IPv4 and IPv6; other traffic is untouched.
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
. "$BW_LIB_DIR/redirect_lib.sh"

bw_init
bw_rd_start_daemon http dns
bw_pod_add x a 10.1.0.1 fd00::1:1 app=client
bw_external_add web 192.0.2.10 2001:db8::10
bw_server_tcp web 80 53 8080
bw_server_udp web 53 5353

bw_policy_import_text l7 <<'YAML' || bw_die "policy import failed"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: client-l7
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      app: client
  egress:
  - toEntities: [world]
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
      rules:
        http:
        - method: GET
          path: "/"
  - toEntities: [world]
    toPorts:
    - ports:
      - port: "53"
        protocol: ANY
      rules:
        dns:
        - matchPattern: "*.example"
  - toEntities: [world]
    toPorts:
    - ports:
      - port: "8080"
        protocol: TCP
      - port: "5353"
        protocol: UDP
YAML

bw_expect_verdict "policy trace says an L7 port is REDIRECTED" REDIRECTED \
	--from x/a --to 192.0.2.10 --port 80
bw_expect_output "policy trace names the proxy class and its port" \
	'proxy: http, port [1-9][0-9]*' bw policy trace --from x/a --to 192.0.2.10 --port 80
bw_expect_output "policy trace shows the L7 rules and their policy" \
	'L7 rule of CiliumNetworkPolicy x/client-l7: .*"method":"GET"' \
	bw policy trace --from x/a --to 192.0.2.10 --port 80
bw_expect_verdict "policy trace: DNS over UDP is REDIRECTED too" REDIRECTED \
	--from x/a --to 192.0.2.10 --port 53 --protocol UDP
bw_expect_verdict "policy trace: a port without L7 rules is ALLOWED" ALLOWED \
	--from x/a --to 192.0.2.10 --port 8080
bw_expect_output "policy resolved shows the redirect entries" \
	'egress +2 +reserved:world +TCP +80 +redirect:http' bw policy resolved x/a
bw_expect_output "policy resolved: DNS on UDP and TCP, not SCTP" \
	'UDP +53 +redirect:dns' bw policy resolved x/a
if bw policy resolved x/a | grep -q 'SCTP .*53'; then
	bw_fail "an ANY-protocol DNS port must not redirect SCTP"
else
	bw_pass "an ANY-protocol DNS port redirects TCP and UDP only"
fi

bw_rd_expect_relayed "TCP to an external server on an L7 port (IPv4)" http \
	bw_probe_tcp x/a web 80
bw_rd_expect_last "the proxy learned the original destination" http \
	'r["server"]["ip"] + ":" + str(r["server"]["port"])' "192.0.2.10:80"
bw_rd_expect_last "the proxy learned the client pod" http \
	'r["client"]["namespace"] + "/" + r["client"]["pod_name"] + " " + r["client"]["ip"]' "x/a 10.1.0.1"
bw_rd_expect_last "the egress policy redirected it" http 'r["direction"]' egress
bw_rd_expect_last "the proxy got the rule's HTTP rules" http \
	'json.dumps(r["rules"][0]["http"], sort_keys=True)' '[{"method": "GET", "path": "/"}]'
bw_rd_expect_last "the rules name their policy" http \
	'r["rules"][0]["policy"]["namespace"] + "/" + r["rules"][0]["policy"]["name"]' "x/client-l7"
bw_rd_expect_relayed "TCP to an external server on an L7 port (IPv6)" http \
	bw_probe_tcp6 x/a web 80
bw_rd_expect_last "IPv6: the original destination" http \
	'r["server"]["ip"] + " " + str(r["server"]["port"])' "2001:db8::10 80"

bw_rd_expect_relayed "UDP to an external server on a DNS port (IPv4)" dns \
	bw_probe_udp x/a web 53
bw_rd_expect_last "UDP: the original destination" dns \
	'r["server"]["ip"] + ":" + str(r["server"]["port"]) + " " + r["protocol"]' "192.0.2.10:53 UDP"
bw_rd_expect_last "UDP: the DNS rules, normalised" dns \
	'json.dumps(r["rules"][0]["dns"])' '[{"matchPattern": "*.example."}]'
bw_rd_expect_relayed "UDP to an external server on a DNS port (IPv6)" dns \
	bw_probe_udp6 x/a web 53
bw_rd_expect_relayed "TCP to a DNS port goes to the DNS proxy too" dns \
	bw_probe_tcp x/a web 53

if bw_flows_available; then
	bw_expect_flow "the policy verdict says REDIRECTED (Hubble's verdict)" \
		--verdict REDIRECTED --from-pod x/a --to-port 80 --type policy-verdict
	port=$(bw observe --all -o json --verdict REDIRECTED --from-pod x/a --to-port 80 |
		head -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["flow"].get("proxy_port", 0))')
	if [ "$port" = "$(bw_rd_last http 'r["proxy_port"]')" ] && [ "$port" != 0 ]; then
		bw_pass "the REDIRECTED flow names the proxy's port ($port)"
	else
		bw_fail "the REDIRECTED flow's proxy_port is '$port'"
	fi
	bw_expect_flow "the connection is traced to the proxy" \
		--from-pod x/a --to-port 80 --type trace:to-proxy
fi

bw_rd_expect_direct "a port without L7 rules is not redirected (TCP)" http \
	bw_probe_tcp x/a web 8080
bw_rd_expect_direct "a port without L7 rules is not redirected (UDP)" dns \
	bw_probe_udp x/a web 5353

bw_finish
