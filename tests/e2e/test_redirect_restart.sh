#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Proxy redirects while bulwarkd is stopped and after it restarts
# (docs/redirect.md, section 3; issue 10 item 4): without its proxy, DNS
# goes straight to the original server (the L3/L4 policy still applies),
# HTTP is dropped, other traffic keeps its verdicts; the daemon's routing
# rule is gone while it is down and back when it runs; after the restart
# the proxies take over again.
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
. "$BW_LIB_DIR/redirect_lib.sh"

bw_init
bw_rd_start_daemon http dns
bw_pod_add x a 10.1.0.1 fd00::1:1 app=client
bw_external_add dns 192.0.2.53 2001:db8::53
bw_server_udp dns 53 5353
bw_server_tcp dns 53 80 8080 9999

bw_policy_import_text l7 <<'YAML' || bw_die "policy import failed"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: client
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      app: client
  egress:
  - toCIDR: [192.0.2.53/32, 2001:db8::53/128]
    toPorts:
    - ports:
      - port: "53"
        protocol: ANY
      rules:
        dns:
        - matchPattern: "*"
    - ports:
      - port: "80"
        protocol: TCP
      rules:
        http:
        - method: GET
    - ports:
      - port: "8080"
        protocol: TCP
YAML

# one datagram from a fixed source port (the same UDP flow each time)
udp_from_5555() {
	local out
	out=$(echo probe | timeout 4 ip netns exec "$(bw_netns_of x/a)" \
		socat -T 1 - "UDP4:192.0.2.53:53,sourceport=5555,reuseaddr,readbytes=3" 2>/dev/null)
	[ "$out" = ok ]
}

rules_in_node() {
	ip -n "$BW_NODE" -"$1" rule list | grep -c 'fwmark 0xb00/0xf00 lookup 2004'
}

bw_check "the daemon installed its IPv4 routing rule for proxy traffic" \
	test "$(rules_in_node 4)" = 1
bw_check "... and the IPv6 one" test "$(rules_in_node 6)" = 1
bw_rd_expect_relayed "running: DNS over UDP goes through the DNS proxy" dns bw_probe_udp x/a dns 53
bw_rd_expect_relayed "running: DNS over TCP too" dns bw_probe_tcp x/a dns 53
bw_rd_expect_relayed "running: HTTP goes through the HTTP proxy" http bw_probe_tcp x/a dns 80

bw_stop_daemon
bw_check "stopped: the routing rule is gone (IPv4)" test "$(rules_in_node 4)" = 0
bw_check "stopped: the routing rule is gone (IPv6)" test "$(rules_in_node 6)" = 0
bw_expect_ok "stopped: DNS over UDP goes straight to the server" bw_probe_udp x/a dns 53
bw_expect_ok "stopped: ... over IPv6" bw_probe_udp6 x/a dns 53
bw_expect_ok "stopped: DNS over TCP goes straight to the server" bw_probe_tcp x/a dns 53
bw_expect_ok "stopped: a UDP flow from a fixed port goes straight to the server" udp_from_5555
bw_expect_blocked "stopped: HTTP (its proxy enforces L7 rules) is dropped" \
	bw_probe_tcp x/a dns 80
bw_expect_ok "stopped: a plain allowed port keeps working" bw_probe_tcp x/a dns 8080
bw_expect_blocked "stopped: the L3/L4 policy still applies (port not allowed)" \
	bw_probe_tcp x/a dns 9999
bw_expect_blocked "stopped: ... also for DNS's own server on another UDP port" \
	bw_probe_udp x/a dns 5353

bw_start_daemon "${BW_DAEMON_OPTS_CUR[@]}"
bw_check "restarted: the routing rule is back" test "$(rules_in_node 4)" = 1
bw_rd_expect_relayed "restarted: DNS goes through the DNS proxy again" dns bw_probe_udp x/a dns 53
bw_rd_expect_relayed "restarted: ... over IPv6" dns bw_probe_udp6 x/a dns 53
bw_rd_expect_relayed "restarted: the UDP flow that went direct goes to the proxy again" dns \
	udp_from_5555
bw_rd_expect_relayed "restarted: HTTP goes through the HTTP proxy again" http \
	bw_probe_tcp x/a dns 80
bw_expect_blocked "restarted: the L3/L4 policy still applies" bw_probe_tcp x/a dns 9999

bw_finish
