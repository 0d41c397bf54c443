#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Proxy visibility without enforcement (docs/redirect.md "Visibility";
# issue 13 item 3): an endpoint setting in Cilium's proxy-visibility format
# sends ports through the local proxy with every request allowed, so that L7
# flows can be seen before L7 rules are written. It never widens policy: a
# connection the L3/L4 policy drops is still dropped; on a direction no
# policy enforces, nothing else is blocked; a port with L7 rules keeps them.
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
. "$BW_LIB_DIR/redirect_lib.sh"

bw_init
bw_rd_start_daemon http
bw_pod_add x a 10.1.0.1 fd00::1:1 app=client
bw_pod_add x c 10.1.0.3 fd00::1:3 app=other
bw_pod_add x b 10.1.0.2 fd00::1:2 app=server
bw_external_add web 192.0.2.10 2001:db8::10
bw_server_tcp x/b 80 81 8080
bw_server_tcp web 8080 9999

bw_policy_import_text server <<'YAML' || bw_die "policy import failed"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: server
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
      - port: "8080"
        protocol: TCP
  - fromEndpoints:
    - matchLabels:
        app: client
    toPorts:
    - ports:
      - port: "81"
        protocol: TCP
      rules:
        http:
        - method: GET
YAML

bw_rd_expect_direct "without visibility, an allowed port is not proxied" http \
	bw_probe_tcp x/a x/b 80

bw_check "endpoint update sets the proxy visibility" \
	bw endpoint update x/b --proxy-visibility '<Ingress/80/TCP/HTTP>,<Ingress/81/TCP/HTTP>'
bw_expect_output "endpoint get shows it, in Cilium's spelling" \
	'"proxy_visibility": "<Ingress/80/TCP/HTTP>,<Ingress/81/TCP/HTTP>"' \
	bw endpoint get x/b -o json
bw_expect_verdict "policy trace: the visible port is REDIRECTED" REDIRECTED \
	--from x/a --to x/b --port 80
bw_rd_expect_relayed "an allowed connection to the visible port goes through the proxy" http \
	bw_probe_tcp x/a x/b 80
bw_rd_expect_last "... with every request allowed, marked as visibility" http \
	'[(x.get("allow_all"), x.get("visibility")) for x in r["rules"]]' '[(True, True)]'
bw_rd_expect_last "... naming the policy that allows the port" http \
	'r["rules"][0]["policy"]["name"]' server
bw_rd_expect_relayed "... over IPv6 too" http bw_probe_tcp6 x/a x/b 80
bw_expect_blocked "visibility never widens policy: a peer the policy denies is still dropped" \
	bw_probe_tcp x/c x/b 80
bw_rd_expect_direct "another allowed port is not proxied" http bw_probe_tcp x/a x/b 8080
bw_rd_expect_relayed "a visible port with L7 rules goes through the proxy" http \
	bw_probe_tcp x/a x/b 81
bw_rd_expect_last "... and the policy's L7 rules apply, not visibility" http \
	'[("http" in x, x.get("visibility", False)) for x in r["rules"]]' '[(True, False)]'

# a direction no policy enforces: visible port proxied, nothing else blocked
bw_check "egress visibility on an endpoint without egress policy" \
	bw endpoint update x/a --proxy-visibility '<Egress/8080/TCP/HTTP>'
bw_rd_expect_relayed "the visible egress port goes through the proxy" http \
	bw_probe_tcp x/a web 8080
bw_rd_expect_last "... egress, every request allowed" http \
	'r["direction"] + " " + str(r["rules"][0].get("visibility"))' "egress True"
bw_rd_expect_direct "another egress port stays open and direct" http bw_probe_tcp x/a web 9999
bw_rd_expect_relayed "pod to pod on the visible egress port: through the proxy" http \
	bw_probe_tcp x/a x/b 8080

bw_check_fails "a bad setting is refused" \
	bw endpoint update x/a --proxy-visibility '<Sideways/8080/TCP/HTTP>'
bw_expect_output "... naming the field and the item" \
	'proxy_visibility: "<Sideways/8080/TCP/HTTP>": the direction must be Ingress or Egress' \
	sh -c "'$BULWARK' -s '$BW_SOCK' endpoint update x/a --proxy-visibility '<Sideways/8080/TCP/HTTP>' 2>&1; true"
bw_rd_expect_relayed "... and the setting in force is unchanged" http bw_probe_tcp x/a web 8080

bw_restart_daemon
bw_rd_expect_relayed "after a restart the setting is still in force" http \
	bw_probe_tcp x/a web 8080

bw_check "proxy visibility none clears it" bw endpoint update x/a --proxy-visibility none
bw_rd_expect_direct "cleared: the port is direct again" http bw_probe_tcp x/a web 8080
bw_rd_expect_direct "cleared: ... and the direction unenforced" http bw_probe_tcp x/a web 9999

bw_finish
