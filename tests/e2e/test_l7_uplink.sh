#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# HTTP policy on traffic from outside the node (docs/redirect.md, section
# 2; docs/l7.md): with datapath.uplinks naming the interface that outside
# traffic arrives on, bulwarkd attaches bpf/bw_uplink.bpf.c to its tc
# ingress hook, and a TCP connection from outside to a pod port with
# ingress rules.http is handed to the L7 proxy there. Without it (another
# interface, or the key emptied by a reload) such a connection is dropped
# with PROXY_REDIRECTION_NOT_SUPPORTED_FOR_PROTOCOL, as before.
#
# Real peers: nginx in x/srv (port 80 with rules.http, 8080 plainly allowed,
# 9090 not allowed), curl in the external host "ext" (192.0.2.10,
# 2001:db8::10) whose veth is the uplink, and "far" (203.0.113.10), an
# external host on an interface that is not an uplink.
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

bw_init
bw_require_tool nginx nginx-light
bw_require_tool curl curl
bw_require_tool tc iproute2
bw_external_add ext 192.0.2.10 2001:db8::10
bw_external_add far 203.0.113.10
UPLINK=${BW_IF_OF[ext]}
EXT_NS=$(bw_netns_of ext)
FAR_NS=$(bw_netns_of far)
BW_CONF=$BW_TMP/bulwark.conf
conf() { # conf UPLINKS : the daemon's config file, with datapath.uplinks
	printf '[daemon]\nmodules = identity-local netpol-cilium http\n[datapath]\nuplinks = %s\n' \
		"$1" >"$BW_CONF"
}
conf "$UPLINK"
bw_start_daemon
bw_pod_add x srv 10.1.0.1 fd00::1:1 app=web
SRV=10.1.0.1
SRV6=fd00::1:1

NGX=$BW_TMP/nginx
mkdir -p "$NGX"
cat >"$NGX/nginx.conf" <<EOF
user root root;
worker_processes 1;
daemon off;
error_log $NGX/error.log;
pid $NGX/nginx.pid;
events { worker_connections 1024; }
http {
	access_log $NGX/access.log;
	client_body_temp_path $NGX/body;
	proxy_temp_path $NGX/proxy;
	fastcgi_temp_path $NGX/fastcgi;
	uwsgi_temp_path $NGX/uwsgi;
	scgi_temp_path $NGX/scgi;
	server {
		listen $SRV:80;
		listen [$SRV6]:80;
		listen $SRV:8080;
		listen $SRV:9090;
		location / { return 200 "\$request_method \$request_uri from \$remote_addr\n"; }
	}
}
EOF
bw_bg "$(bw_netns_of x/srv)" nginx -p "$NGX" -c "$NGX/nginx.conf"
bw_wait_listen "$(bw_netns_of x/srv)" tcp 80

bw_policy_import_text web-world <<'YAML' || bw_die "policy import failed"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: web-world
  namespace: x
spec:
  endpointSelector:
    matchLabels: {app: web}
  ingress:
  - fromEntities: [world]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http:
        - method: GET
          path: "/public(/.*)?"
  - fromEntities: [world]
    toPorts:
    - ports: [{port: "8080", protocol: TCP}]
YAML

# ext_curl ARGS... / far_curl ARGS... : curl from an external host
ext_curl() { bw_nsx "$EXT_NS" curl -sS --connect-timeout 3 --max-time 6 "$@"; }
far_curl() { bw_nsx "$FAR_NS" curl -sS --connect-timeout 3 --max-time 6 "$@"; }
code() { "$@" -o /dev/null -w '%{http_code}' 2>/dev/null; }

bw_expect_output "bulwark status lists the uplink and how it is attached" \
	"^uplink: +$UPLINK=(tcx|clsact)$" bw status
bw_expect_verdict "policy trace: world -> x/srv:80 is REDIRECTED" REDIRECTED \
	--from 192.0.2.10 --to x/srv --port 80

# ---- through the uplink ----------------------------------------------------------------
bw_expect_output "from outside: an allowed GET gets nginx's answer, with the client's address" \
	'^GET /public/a from 192\.0\.2\.10$' ext_curl "http://$SRV/public/a"
bw_expect_output "from outside: a denied path gets 403 from the proxy" '^403$' \
	code ext_curl "http://$SRV/private"
bw_expect_output "from outside: a denied method gets 403" '^403$' \
	code ext_curl -X POST "http://$SRV/public/a"
body=$(ext_curl "http://$SRV/private" 2>&1)
if [ "$body" = "$(printf 'Access denied\r')" ]; then
	bw_pass "from outside: the 403's body is the proxy's 'Access denied'"
else
	bw_fail "from outside: the 403's body is '$body'"
fi
if grep -q 'private' "$NGX/access.log"; then
	bw_fail "a denied request from outside reached nginx"
else
	bw_pass "no denied request from outside reached nginx"
fi
ok=0
for i in $(seq 20); do
	[ "$(ext_curl -H 'Connection: close' "http://$SRV/public/c$i")" = "GET /public/c$i from 192.0.2.10" ] &&
		ok=$((ok + 1))
done
if [ $ok = 20 ]; then
	bw_pass "from outside: 20 connections in a row (Connection: close), all answered"
else
	bw_fail "from outside: $ok of 20 connections answered"
fi
out=$(ext_curl -w '|%{http_code}\n' "http://$SRV/public/k1" "http://$SRV/private" \
	"http://$SRV/public/k2" 2>&1)
if [ "$out" = "$(printf 'GET /public/k1 from 192.0.2.10\n|200\nAccess denied\r\n|403\nGET /public/k2 from 192.0.2.10\n|200')" ]; then
	bw_pass "from outside: keep-alive, allowed / denied / allowed on one connection"
else
	bw_fail "from outside, keep-alive: got '$out'"
fi
bw_expect_output "from outside over IPv6: an allowed GET is answered" \
	'^GET /public/v6 from 2001:db8::10$' ext_curl "http://[$SRV6]/public/v6"
bw_expect_output "from outside over IPv6: a denied path gets 403" '^403$' \
	code ext_curl "http://[$SRV6]/private"

# ---- the ports without rules.http are not the proxy's ----------------------------------
c0=$(bw_nsx "$BW_NODE" curl -s --unix-socket "$BW_SOCK" http://x/v1/proxy |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["accepted"])')
bw_expect_output "from outside: port 8080 (plainly allowed) reaches nginx directly" \
	'^DELETE /x from 192\.0\.2\.10$' ext_curl -X DELETE "http://$SRV:8080/x"
c1=$(bw_nsx "$BW_NODE" curl -s --unix-socket "$BW_SOCK" http://x/v1/proxy |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["accepted"])')
if [ "$c1" = "$c0" ]; then
	bw_pass "from outside: the proxy did not take the port-8080 connection"
else
	bw_fail "from outside: the proxy took $((c1 - c0)) connection(s) on port 8080"
fi
if ext_curl -o /dev/null "http://$SRV:9090/" 2>/dev/null; then
	bw_fail "from outside: port 9090 is not allowed and should be dropped"
else
	bw_pass "from outside: port 9090 (not allowed) is dropped"
fi

# ---- flows ---------------------------------------------------------------------------------
if bw_flows_available; then
	bw_expect_flow "the L3/L4 verdict: INGRESS, REDIRECTED, from the world address" \
		--to-pod x/srv --from-ip 192.0.2.10 --verdict REDIRECTED --traffic-direction ingress
	bw_expect_flow "an allowed request from outside is an l7 flow, FORWARDED" \
		--type l7 --http-path '^/public/a$' --verdict FORWARDED --from-ip 192.0.2.10
	bw_expect_output "... naming the policy that allowed it" \
		'"ingress_allowed_by":\[\{"name":"web-world","namespace":"x"' \
		bw observe --all -o json --type l7 --http-path '^/public/a$' --verdict FORWARDED
	bw_expect_flow "a denied request from outside is DROPPED" \
		--type l7 --http-path '^/private$' --verdict DROPPED --from-ip 192.0.2.10
	bw_expect_output "... naming the policy with the L7 rules" \
		'"isolated_by":\[\{"name":"web-world","namespace":"x"' \
		bw observe --all -o json --type l7 --http-path '^/private$' --verdict DROPPED
	bw_expect_flow "port 9090 from outside: a policy DROPPED verdict" \
		--to-pod x/srv --from-ip 192.0.2.10 --verdict DROPPED --to-port 9090
fi

# ---- an interface that is not an uplink ------------------------------------------------------
if far_curl -o /dev/null "http://$SRV/public/far" 2>/dev/null; then
	bw_fail "from a host behind another interface, TCP to the L7 port should be dropped"
else
	bw_pass "from a host behind an interface that is not an uplink, TCP to the L7 port is dropped"
fi
if bw_flows_available; then
	bw_expect_flow "... with PROXY_REDIRECTION_NOT_SUPPORTED_FOR_PROTOCOL" \
		--to-pod x/srv --from-ip 203.0.113.10 --verdict DROPPED \
		--drop-reason-desc PROXY_REDIRECTION_NOT_SUPPORTED_FOR_PROTOCOL
fi
bw_expect_output "... while its plainly allowed port works" '^GET /y from 203\.0\.113\.10$' \
	far_curl "http://$SRV:8080/y"

# ---- reload: the list follows datapath.uplinks -------------------------------------------------
ext_ok() { [ "$(ext_curl "http://$SRV/public/r" 2>/dev/null)" = "GET /public/r from 192.0.2.10" ]; }
no_uplink() { ! bw status | grep -q '^uplink'; }
conf "$UPLINK, ${BW_IF_OF[far]}"
kill -HUP "$BW_DAEMON_PID"
far_ok() { [ "$(far_curl "http://$SRV/public/f" 2>/dev/null)" = "GET /public/f from 203.0.113.10" ]; }
if bw_wait_for 10 far_ok; then
	bw_pass "SIGHUP adding the second interface: its hosts reach the L7 port through the proxy"
else
	bw_fail "SIGHUP adding the second interface: far still cannot reach the L7 port"
fi
conf ""
kill -HUP "$BW_DAEMON_PID"
if bw_wait_for 10 no_uplink; then
	bw_pass "SIGHUP with datapath.uplinks emptied: bulwark status has no uplink any more"
else
	bw_fail "SIGHUP with datapath.uplinks emptied: $(bw status | grep uplink)"
fi
if ext_ok; then
	bw_fail "without the uplink program, TCP from outside to the L7 port should be dropped"
else
	bw_pass "without the uplink program, TCP from outside to the L7 port is dropped again"
fi
conf "$UPLINK"
kill -HUP "$BW_DAEMON_PID"
if bw_wait_for 10 ext_ok; then
	bw_pass "SIGHUP with the uplink back: outside requests go through the proxy again"
else
	bw_fail "SIGHUP with the uplink back: outside requests still fail"
fi
printf '[daemon]\nmodules = identity-local netpol-cilium http\n[datapath]\nuplinks = bad/name\n' >"$BW_CONF"
kill -HUP "$BW_DAEMON_PID"
bw_expect_output "SIGHUP with a bad interface name is refused, naming it" \
	"uplinks: 'bad/name' is not an interface name" bw_wait_for 10 grep -o "uplinks: 'bad/name' is not an interface name" "$BW_DAEMON_LOG"
if ext_ok; then
	bw_pass "... and the running uplinks are kept"
else
	bw_fail "after a refused reload the uplink stopped working"
fi
conf "$UPLINK"

# ---- detached when bulwarkd stops: tcx, clsact ----------------------------------------------
BWDP=$abs_top_builddir/tests/e2e/bwdp
[ -x "$BWDP" ] || bw_die "$BWDP is not built (make check builds it)"
# uplink_progs : how many bw_from_uplink programs the uplink's tcx ingress has
uplink_progs() {
	bw_nsx "$BW_NODE" "$BWDP" -d "$BW_BPFFS" -e "tcx $UPLINK" 2>/dev/null |
		grep '^tcx ingress' | grep -o 'bw_from_uplink:' | wc -l
}
tc_uplink() { tc -n "$BW_NODE" filter show dev "$UPLINK" ingress 2>/dev/null | grep -c 'handle 0xb02' || true; }
# tcx (daemon.tc_attach = tcx, named; auto resolves to it on a tcx kernel):
# a link the daemon holds, gone with it
bw_restart_daemon -o daemon.tc_attach=tcx
bw_expect_output "with daemon.tc_attach = tcx the uplink's tcx ingress has bw_from_uplink while bulwarkd runs" \
	'^1$' uplink_progs
bw_stop_daemon
if [ "$(uplink_progs)" = 0 ] && [ "$(tc_uplink)" = 0 ]; then
	bw_pass "after bulwarkd stops, nothing of bulwark is attached to the uplink"
else
	bw_fail "after bulwarkd stops the uplink still has $(uplink_progs) program(s), $(tc_uplink) filter(s)"
fi
bw_start_daemon -o daemon.tc_attach=clsact
bw_expect_output "with daemon.tc_attach = clsact the uplink gets a clsact filter" \
	"^uplink: +$UPLINK=clsact$" bw status
bw_expect_output "... tc shows it (handle 0xb02, the endpoints' is 0xb01)" '^1$' tc_uplink
bw_expect_output "... and outside requests go through the proxy" \
	'^GET /public/clsact from 192\.0\.2\.10$' ext_curl "http://$SRV/public/clsact"
bw_expect_output "... denied ones get 403" '^403$' code ext_curl "http://$SRV/private"
kill -KILL "$BW_DAEMON_PID"
wait "$BW_DAEMON_PID" 2>/dev/null
BW_DAEMON_PID=""
conf ""
bw_start_daemon -o daemon.tc_attach=clsact
bw_expect_output "a start after a crash removes the filter of an uplink no longer listed" \
	'^0$' tc_uplink
bw_stop_daemon
conf "$UPLINK"
bw_start_daemon -o daemon.tc_attach=clsact
bw_stop_daemon
bw_expect_output "a clean stop removes the clsact filter" '^0$' tc_uplink

bw_finish
