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
# real servers: dnsmasq for api.example, nginx
bw_external_add ns1 192.0.2.53 2001:db8::53
bw_external_add www 198.51.100.80 2001:db8::80
bw_require_tool dnsmasq dnsmasq
bw_require_tool dig bind9-dnsutils
bw_require_tool nginx nginx-light
bw_require_tool curl curl
bw_bg "$(bw_netns_of ns1)" dnsmasq --no-daemon --conf-file=/dev/null --no-resolv \
	--no-hosts --bind-interfaces --listen-address=192.0.2.53 --port=53 \
	--pid-file="$BW_TMP/dnsmasq.pid" --address=/api.example/198.51.100.80
bw_wait_listen "$(bw_netns_of ns1)" udp 53
mkdir -p "$BW_TMP/nginx"
cat >"$BW_TMP/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $BW_TMP/nginx/nginx.pid;
error_log $BW_TMP/nginx/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $BW_TMP/nginx/body;
	proxy_temp_path $BW_TMP/nginx/proxy;
	fastcgi_temp_path $BW_TMP/nginx/fastcgi;
	uwsgi_temp_path $BW_TMP/nginx/uwsgi;
	scgi_temp_path $BW_TMP/nginx/scgi;
	server {
		listen 80;
		location / { return 200 "hello from nginx\n"; }
	}
}
EOF
bw_bg "$(bw_netns_of www)" nginx -p "$BW_TMP/nginx" -c "$BW_TMP/nginx/nginx.conf"
bw_wait_listen "$(bw_netns_of www)" tcp 80

# dig_a [+tcp] : the A record of api.example, asked from x/a to ns1
dig_a() {
	timeout 6 ip netns exec "$(bw_netns_of x/a)" dig +short +time=2 +tries=1 "$@" \
		@192.0.2.53 api.example A 2>/dev/null | grep -qx 198.51.100.80
}
# curl_www : the page of www, from x/a
curl_www() {
	timeout 6 ip netns exec "$(bw_netns_of x/a)" curl -s --max-time 3 \
		http://198.51.100.80/ 2>/dev/null | grep -qx 'hello from nginx'
}

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

got=$(bw status -o json | python3 -c '
import json, sys
r = json.load(sys.stdin)["redir"]
print(r["table"], sorted(r["classes"]), r["classes"]["dns"]["udp"] > 0)')
if [ "$got" = "2004 ['dns', 'http'] True" ]; then
	bw_pass "bulwark status (redir) shows the proxy classes and their ports"
else
	bw_fail "bulwark status's redirect section: '$got'"
fi

bw_rd_expect_relayed "dig gets its answer from dnsmasq through the DNS proxy (UDP)" dns dig_a
bw_rd_expect_relayed "dig over TCP through the DNS proxy" dns dig_a +tcp
bw_rd_expect_relayed "curl gets nginx's page through the HTTP proxy" http curl_www
bw_rd_expect_last "the HTTP proxy saw the original destination" http \
	'r["server"]["ip"] + ":" + str(r["server"]["port"])' "198.51.100.80:80"

bw_rd_expect_direct "a port without L7 rules is not redirected (TCP)" http \
	bw_probe_tcp x/a web 8080
bw_rd_expect_direct "a port without L7 rules is not redirected (UDP)" dns \
	bw_probe_udp x/a web 5353

bw_finish
