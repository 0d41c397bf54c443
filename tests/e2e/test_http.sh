#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# HTTP policy end to end (docs/l7.md): CiliumNetworkPolicy rules.http on a
# pod's port send its connections through the datapath's redirect to the
# L7 proxy engine and the http module, which enforce them on every request.
# Real peers: nginx in pod x/srv, curl, wrk and raw sockets (python) in
# x/cli. What a client sees is checked: allowed and denied methods, paths,
# hosts and headers, the 403 body, keep-alive mixing allowed and denied
# requests, pipelining, chunked bodies, 100-continue, request smuggling
# refused with 400, 64 KiB headers, idle and slow connections closed,
# ingress and egress policy, flows, metrics, and a daemon restart with a
# connection open.
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

bw_init
bw_require_tool nginx nginx-light
bw_require_tool curl curl
bw_require_tool wrk wrk
MPORT=$((20000 + $$ % 20000))
# a config with only the modules this test needs
BW_CONF=$BW_TMP/bulwark.conf
printf '[daemon]\nmodules = identity-local netpol-k8s netpol-cilium http prometheus\n' >"$BW_CONF"
bw_start_daemon -o "prometheus.listen=127.0.0.1:$MPORT"
bw_pod_add x srv 10.1.0.1 app=web
bw_pod_add x cli 10.1.0.2 app=client
bw_pod_add x other 10.1.0.3 app=other
SRV=10.1.0.1
CLI_NS=$(bw_netns_of x/cli)
OTHER_NS=$(bw_netns_of x/other)

# ---- nginx in x/srv ----------------------------------------------------------------
NGX=$BW_TMP/nginx
mkdir -p "$NGX/dav" "$NGX/slow"
head -c 32768 /dev/zero | tr '\0' a >"$NGX/slow/file"
cat >"$NGX/nginx.conf" <<EOF
user root root;
worker_processes 1;
daemon off;
error_log $NGX/error.log;
pid $NGX/nginx.pid;
events { worker_connections 1024; }
http {
	access_log $NGX/access.log;
	large_client_header_buffers 32 16k;
	keepalive_requests 100000;
	client_body_temp_path $NGX/body;
	proxy_temp_path $NGX/proxy;
	fastcgi_temp_path $NGX/fastcgi;
	uwsgi_temp_path $NGX/uwsgi;
	scgi_temp_path $NGX/scgi;
	server {
		listen $SRV:80;
		location / { return 200 "\$request_method \$request_uri\n"; }
		location /dav/ { root $NGX; dav_methods PUT; client_max_body_size 16m; }
		# a slow answer (32 KiB at 8 KiB/s): pipelining behind it
		location /public/slow/ { alias $NGX/slow/; limit_rate 8k; }
	}
}
EOF
bw_bg "$(bw_netns_of x/srv)" nginx -p "$NGX" -c "$NGX/nginx.conf"
bw_wait_listen "$(bw_netns_of x/srv)" tcp 80

# ---- helpers ---------------------------------------------------------------------------
# cli_curl ARGS... : curl from x/cli (stdout), with a time limit.
cli_curl() {
	bw_nsx "$CLI_NS" curl -sS --max-time 10 "$@"
}

# body_is DESC WANT CURL-ARGS... : the body curl prints is WANT.
body_is() {
	local desc=$1 want=$2 got
	shift 2
	got=$(cli_curl "$@" 2>&1)
	if [ "$got" = "$want" ]; then
		bw_pass "$desc"
	else
		bw_fail "$desc: got '$got', want '$want'"
	fi
}

# raw HEX-REQUEST : send the bytes from x/cli to x/srv:80 on one
# connection, print what came back, then "<EOF>" when the peer closed
# (FIN), "<RST>" on a reset, "<OPEN>" when it stayed open.
raw() {
	# through a file: an argument may not exceed 128 KiB
	printf '%s' "$1" >"$BW_TMP/raw.hex"
	bw_nsx "$CLI_NS" python3 - "$SRV" "$BW_TMP/raw.hex" <<'EOF'
import socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=5)
out, end = b"", "<OPEN>"
try:
    s.sendall(bytes.fromhex(open(sys.argv[2]).read()))
except OSError as e:
    end = "<SEND %s>" % e.__class__.__name__
try:
    while True:
        b = s.recv(65536)
        if not b:
            end = "<EOF>"
            break
        out += b
except ConnectionResetError:
    end = "<RST>"
except socket.timeout:
    pass
sys.stdout.write(out.decode("latin-1") + end + "\n")
EOF
}

hex() { printf '%b' "$1" | od -An -tx1 -v | tr -d ' \n'; }

# raw_has DESC REQUEST REGEX... : raw REQUEST's answer matches every REGEX
# (python re, DOTALL).
raw_has() {
	local desc=$1 req=$2 out
	shift 2
	out=$(raw "$(hex "$req")")
	if printf '%s' "$out" | python3 -c '
import re, sys
text = sys.stdin.read()
sys.exit(0 if all(re.search(p, text, re.S) for p in sys.argv[1:]) else 1)' "$@"; then
		bw_pass "$desc"
	else
		bw_fail "$desc: got: $(printf '%s' "$out" | head -c 600 | tr '\r\n' '|~')"
	fi
}

proxy_stat() {
	bw_nsx "$BW_NODE" curl -s --unix-socket "$BW_SOCK" http://x/v1/proxy |
		python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"
}

# ---- ingress rules.http on x/srv:80 ----------------------------------------------------
bw_policy_import_text web-l7 <<'YAML' || bw_die "policy import failed"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: web-l7
  namespace: x
spec:
  endpointSelector:
    matchLabels: {app: web}
  ingress:
  - fromEndpoints:
    - matchLabels: {app: client}
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http:
        - method: "GET|HEAD"
          path: "/public(/.*)?"
        - method: PUT
          path: "/dav/.*"
        - method: GET
          path: /hosted
          host: "api\\.example"
        - method: GET
          path: /token
          headers: ["X-Token"]
        - method: POST
          path: /env
          headers: ["X-Env: prod"]
YAML

bw_expect_verdict "policy trace: x/cli -> x/srv:80 is REDIRECTED to the http proxy" \
	REDIRECTED --from x/cli --to x/srv --port 80
body_is "an allowed GET reaches nginx" "GET /public/a?x=1" "http://$SRV/public/a?x=1"
body_is "HEAD is allowed too (no body, no hang)" "" -I -o /dev/null "http://$SRV/public"
bw_expect_output "a denied path gets 403 Forbidden" '^403$' \
	cli_curl -o /dev/null -w '%{http_code}' "http://$SRV/private"
body_is "the 403's body is 'Access denied' (CRLF)" "$(printf 'Access denied\r')" \
	"http://$SRV/private"
bw_expect_output "the 403 is text/plain, 15 bytes" 'content-length: 15' \
	cli_curl -sD - -o /dev/null "http://$SRV/private"
bw_expect_output "a denied method gets 403" '^403$' \
	cli_curl -o /dev/null -w '%{http_code}' -X DELETE "http://$SRV/public/a"
body_is "host: the rule's host passes" "GET /hosted" -H "Host: api.example" "http://$SRV/hosted"
bw_expect_output "host: another host is denied" '^403$' \
	cli_curl -o /dev/null -w '%{http_code}' -H "Host: other.example" "http://$SRV/hosted"
body_is "headers: with the header it passes" "GET /token" -H "X-Token: t" "http://$SRV/token"
bw_expect_output "headers: without it, 403" '^403$' \
	cli_curl -o /dev/null -w '%{http_code}' "http://$SRV/token"
body_is "headers 'Name: value': the value passes" "POST /env" -X POST -H "X-Env: prod" "http://$SRV/env"
bw_expect_output "headers 'Name: value': another value is denied" '^403$' \
	cli_curl -o /dev/null -w '%{http_code}' -X POST -H "X-Env: dev" "http://$SRV/env"
other_curl() { bw_nsx "$OTHER_NS" curl -sS --max-time 3 "$@"; }
if other_curl -o /dev/null "http://$SRV/public/a" 2>/dev/null; then
	bw_fail "x/other is not allowed at L3/L4: its connection should be dropped"
else
	bw_pass "x/other is not allowed at L3/L4 at all (no proxy, a drop)"
fi

# keep-alive: one connection, allowed and denied requests mixed
c0=$(proxy_stat accepted)
out=$(cli_curl -w '|%{http_code}\n' "http://$SRV/public/1" "http://$SRV/private" \
	"http://$SRV/public/2" 2>&1)
c1=$(proxy_stat accepted)
if [ "$out" = "$(printf 'GET /public/1\n|200\nAccess denied\r\n|403\nGET /public/2\n|200')" ] &&
   [ $((c1 - c0)) = 1 ]; then
	bw_pass "keep-alive: allowed, denied, allowed on one connection, in order"
else
	bw_fail "keep-alive: got '$out' over $((c1 - c0)) connection(s)"
fi

raw_has "pipelining: three requests in one write, answered in order, denial in its place" \
	'GET /public/p1 HTTP/1.1\r\nHost: h\r\n\r\nGET /private HTTP/1.1\r\nHost: h\r\n\r\nGET /public/p2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n' \
	'GET /public/p1\n.*Access denied\r\n.*GET /public/p2\n.*<EOF>'

# bodies
head -c 300000 /dev/urandom >"$BW_TMP/upload"
bw_nsx "$CLI_NS" true
for mode in cl chunked expect; do
	case $mode in
	cl) extra=() ;;
	chunked) extra=(-H "Transfer-Encoding: chunked") ;;
	expect) extra=(-H "Expect: 100-continue") ;;
	esac
	code=$(cli_curl -o /dev/null -w '%{http_code}' -T "$BW_TMP/upload" "${extra[@]}" "http://$SRV/dav/$mode")
	if [ "$code" = 201 ] && cmp -s "$BW_TMP/upload" "$NGX/dav/$mode"; then
		bw_pass "PUT with a ${mode} body: 201, the bytes arrive intact"
	else
		bw_fail "PUT with a ${mode} body: code $code, file $(stat -c %s "$NGX/dav/$mode" 2>/dev/null || echo missing)"
	fi
done
raw_has "a denied POST's body is read and dropped; the next request works" \
	'POST /nope HTTP/1.1\r\nHost: h\r\nContent-Length: 35\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\nGET /public/after HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n' \
	'403 Forbidden.*GET /public/after\n.*<EOF>'
raw_has "a denied chunked body is dropped too" \
	'POST /nope HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n23\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n\r\n0\r\n\r\nGET /public/after2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n' \
	'403 Forbidden.*GET /public/after2\n.*<EOF>'
raw_has "a denied request with Expect: 100-continue gets 403 and a close" \
	'PUT /nope HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n' \
	'^HTTP/1.1 403 Forbidden\r\n.*connection: close.*<EOF>'
if grep -q smuggled "$NGX/access.log"; then
	bw_fail "a dropped body reached nginx as a request"
else
	bw_pass "no dropped body ever reached nginx as a request"
fi

# request smuggling: 400 and a close; the hidden request never reaches nginx
for sm in \
	'POST /public HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' \
	'POST /public HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n' \
	'POST /public HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde' \
	'POST /public HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n' \
	'POST /public HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n' \
	'POST /public HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n' \
	'GET /public HTTP/1.1\nHost: h\n\n' \
	'GET /public HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n' \
	'PUT /dav/sm HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcde\r\n0\r\n\r\n'; do
	raw_has "smuggling refused with 400 and a close: $(printf '%s' "$sm" | cut -c1-60)" \
		"${sm}GET /public/hidden HTTP/1.1\r\nHost: h\r\n\r\n" \
		'HTTP/1.1 400 Bad Request\r\n.*connection: close.*<EOF>$'
done
if grep -q /public/hidden "$NGX/access.log"; then
	bw_fail "a request hidden behind a smuggling shape reached nginx"
else
	bw_pass "no request hidden behind a smuggling shape reached nginx"
fi

# big headers: 60 KiB pass, 70 KiB get 431 ([proxy] max_message_head 64k)
pad() { python3 -c "import sys; print(''.join('X-Pad-%02d: %s\\\\r\\\\n' % (i, '0' * 1000) for i in range(int(sys.argv[1]))), end='')" "$1"; }
raw_has "60 KiB of headers pass" \
	"GET /public/big HTTP/1.1\r\nHost: h\r\n$(pad 60)Connection: close\r\n\r\n" 'GET /public/big\n.*<EOF>'
raw_has "70 KiB of headers get 431 and a close" \
	"GET /public/big HTTP/1.1\r\nHost: h\r\n$(pad 70)\r\n" '^HTTP/1.1 431 .*<EOF>$'
raw_has "an upgrade to WebSocket is refused with 403" \
	'GET /public/ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n' \
	'^HTTP/1.1 403 Forbidden\r\n.*<EOF>$'

# ---- flows and metrics ----------------------------------------------------------------------
if bw_flows_available; then
	bw_expect_flow "an allowed request is an l7 REQUEST flow, FORWARDED" \
		--type l7 --http-method GET --http-path '^/public/a$' --verdict FORWARDED
	bw_expect_flow "its response is a RESPONSE flow with status 200" \
		--type l7 --http-status 200 --http-url '/public/a\?x=1$'
	bw_expect_flow "a denied request is DROPPED" \
		--type l7 --http-path '^/private$' --verdict DROPPED --to-pod x/srv
	bw_expect_output "the forwarded request names its policy" \
		'"ingress_allowed_by":\[\{"name":"web-l7","namespace":"x"' \
		bw observe --all -o json --type l7 --http-path '^/public/a$' --verdict FORWARDED
	bw_expect_output "the denied request names the policies with L7 rules on the port" \
		'"isolated_by":\[\{"name":"web-l7","namespace":"x"' \
		bw observe --all -o json --type l7 --http-path '^/private$' --verdict DROPPED
	bw_expect_output "l7.http has method, url, protocol; header values redacted but allowed ones" \
		'"l7":\{"type":"REQUEST","http":\{"method":"GET","url":"http://10.1.0.1/public/a\?x=1","protocol":"HTTP/1.1","headers":\[\{"key":":authority","value":"10.1.0.1"\},\{"key":"user-agent","value":"curl/' \
		bw observe --all -o json --type l7 --http-path '^/public/a$' --verdict FORWARDED
	bw_expect_output "compact output: http-request / http-response with Hubble's Summary" \
		'x/cli:[0-9]+ \(ID:[0-9]+\) -> x/srv:80 \(ID:[0-9]+\) http-request FORWARDED \(HTTP/1.1 GET http://10.1.0.1/public/a\?x=1\)' \
		bw observe --all --type l7 --http-path '^/public/a$'
	bw_expect_output "the response flow has a latency" '"latency_ns":"[1-9][0-9]*"' \
		bw observe --all -o json --type l7 --http-status 200 --http-url '/public/a\?x=1$'
fi
metrics() { bw_nsx "$BW_NODE" curl -s "http://127.0.0.1:$MPORT/metrics"; }
bw_expect_output "hubble_http_requests_total counts the responses" \
	'^hubble_http_requests_total\{method="GET",protocol="HTTP/1.1",status="200",reporter="server"\} [1-9]' metrics
bw_expect_output "hubble_http_request_duration_seconds is a histogram" \
	'^hubble_http_request_duration_seconds_bucket\{method="GET",reporter="server",le="\+Inf"\} [1-9]' metrics
bw_expect_output "cilium_policy_l7_total counts the denials" \
	'^cilium_policy_l7_total\{proxy_type="http",rule="denied"\} [1-9]' metrics
bw_expect_output "hubble_policy_verdicts_total has the L7 verdicts" \
	'^hubble_policy_verdicts_total\{direction="ingress",match="l7/http",action="dropped"\} [1-9]' metrics

# wrk: keep-alive load through the proxy, nothing lost
wrk_out=$(bw_nsx "$CLI_NS" wrk -t 1 -c 8 -d 2s "http://$SRV/public/wrk" 2>&1)
if printf '%s' "$wrk_out" | grep -q 'Requests/sec' &&
   ! printf '%s' "$wrk_out" | grep -qE 'Non-2xx|Socket errors'; then
	bw_pass "wrk keep-alive through the proxy: every answer 2xx, no socket error"
else
	bw_fail "wrk through the proxy: $wrk_out"
fi

# ---- timeouts: idle connections, slow heads --------------------------------------------------
bw_restart_daemon -o "prometheus.listen=127.0.0.1:$MPORT" \
	-o proxy.idle_timeout=2s -o proxy.head_timeout=2s
# wait_closed REQUEST : open a connection, send REQUEST, and wait (up to 20 s,
# polling) until the proxy closes it; print what came back and how it ended.
wait_closed() {
	bw_nsx "$CLI_NS" python3 - "$SRV" "$1" <<'EOF'
import socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=20)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
out, end = b"", "<STILL OPEN>"
try:
    while True:
        b = s.recv(4096)
        if not b:
            end = "<EOF>"
            break
        out += b
except ConnectionResetError:
    end = "<RST>"
except socket.timeout:
    pass
# one line: CRLF and LF shown as |
print(out.decode("latin-1").replace("\r\n", "|").replace("\n", "|") + end)
EOF
}
bw_expect_output "an idle keep-alive connection is closed (FIN) after idle_timeout" \
	'GET /public/idle\|<EOF>$' wait_closed 'GET /public/idle HTTP/1.1\r\nHost: h\r\n\r\n'
raw_has "a pipelined request behind a slow answer (longer than head_timeout) is not timed out" \
	'GET /public/slow/file HTTP/1.1\r\nHost: h\r\n\r\nGET /public/after-slow HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n' \
	'^(?!.*408 Request Timeout)' '^HTTP/1.1 200 .*a{32768}HTTP/1.1 200 .*GET /public/after-slow\n<EOF>$'
bw_expect_output "slowloris: an unfinished head gets 408 and a close after head_timeout" \
	'^HTTP/1.1 408 Request Timeout.*<EOF>' wait_closed 'GET /public/slow HTTP/1.1\r\nHost: h\r\nX-A: '

# ---- a daemon restart with a connection open --------------------------------------------------
bw_restart_daemon -o "prometheus.listen=127.0.0.1:$MPORT"
rm -f "$BW_TMP/held.out"
cat >"$BW_TMP/held.py" <<'EOF'
import os, socket, sys, time
srv, tmp = sys.argv[1], sys.argv[2]
s = socket.create_connection((srv, 80), timeout=30)
s.sendall(b"GET /public/held HTTP/1.1\r\nHost: h\r\n\r\n")
got = b""
while b"GET /public/held\n" not in got:
    got += s.recv(4096)
open(os.path.join(tmp, "held.ready"), "w").close()
try:
    b = s.recv(4096)
    end = "EOF" if not b else "DATA"
except ConnectionResetError:
    end = "RST"
except socket.timeout:
    end = "TIMEOUT"
open(os.path.join(tmp, "held.out"), "w").write(end)
EOF
bw_bg "$CLI_NS" python3 "$BW_TMP/held.py" "$SRV" "$BW_TMP"
held_ready() { test -e "$BW_TMP/held.ready"; }
bw_wait_for 15 held_ready || bw_die "the held connection did not get its answer"
bw_restart_daemon -o "prometheus.listen=127.0.0.1:$MPORT"
held_done() { test -s "$BW_TMP/held.out"; }
bw_wait_for 30 held_done
bw_expect_output "a connection open across the restart was closed cleanly (FIN, not a reset)" \
	'^EOF$' cat "$BW_TMP/held.out"
body_is "after the restart new connections are proxied again" "GET /public/again" \
	"http://$SRV/public/again"
bw_expect_output "after the restart the rules still apply" '^403$' \
	cli_curl -o /dev/null -w '%{http_code}' "http://$SRV/private"

# ---- egress: the client's own policy --------------------------------------------------------------
bw_policy_replace_text client-l7 <<'YAML' || bw_die "policy replace failed"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: client-l7
  namespace: x
spec:
  endpointSelector:
    matchLabels: {app: client}
  egress:
  - toEndpoints:
    - matchLabels: {app: web}
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http:
        - method: GET
          path: "/egress-ok"
YAML
bw_expect_verdict "egress: x/cli -> x/srv:80 is REDIRECTED by the client's policy" \
	REDIRECTED --from x/cli --to x/srv --port 80
body_is "egress: an allowed request passes" "GET /egress-ok" "http://$SRV/egress-ok"
bw_expect_output "egress: another path gets 403" '^403$' \
	cli_curl -o /dev/null -w '%{http_code}' "http://$SRV/public/a"
if bw_flows_available; then
	bw_expect_flow "egress: the flows' direction is EGRESS" \
		--type l7 --http-path '^/egress-ok$' --traffic-direction egress --from-pod x/cli
fi
bw_expect_output "egress: x/other, selected by no policy now, reaches x/srv directly" \
	'^GET /anything$' other_curl "http://$SRV/anything"

# ---- proxy visibility: flows without enforcement --------------------------------------------------
# x/srv's ingress has no policy now (x/other reached it directly above)
bw endpoint update x/srv --proxy-visibility '<Ingress/80/TCP/HTTP>' >/dev/null ||
	bw_fail "endpoint update --proxy-visibility failed"
bw_expect_output "endpoint get shows the proxy visibility" \
	'Proxy visibility: +<Ingress/80/TCP/HTTP>' bw endpoint get x/srv
c0=$(proxy_stat accepted)
bw_expect_output "visibility: any method and path of any peer is allowed" \
	'^DELETE /vis/any$' other_curl -X DELETE "http://$SRV/vis/any"
c1=$(proxy_stat accepted)
if [ $((c1 - c0)) -ge 1 ]; then
	bw_pass "visibility: the connection went through the proxy"
else
	bw_fail "visibility: the proxy accepted $((c1 - c0)) connections"
fi
if bw_flows_available; then
	bw_expect_flow "visibility: the request is an l7 flow, FORWARDED" \
		--type l7 --http-method DELETE --http-path '^/vis/any$' --verdict FORWARDED \
		--from-pod x/other
	bw_expect_flow "visibility: its response has status 200" \
		--type l7 --http-status 200 --http-url '/vis/any$' --from-pod x/srv
fi
raw_has "visibility: a smuggling shape is still refused with 400 (the parser runs)" \
	'POST /vis HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' \
	'HTTP/1.1 400 Bad Request\r\n.*<EOF>$'
bw endpoint update x/srv --label app=web --proxy-visibility '<Ingress/80/TCP/HTTP>' >/dev/null ||
	bw_fail "endpoint update with labels and --proxy-visibility failed"
bw_expect_output "visibility stays with a relabel" \
	'Proxy visibility: +<Ingress/80/TCP/HTTP>' bw endpoint get x/srv

# an L4 policy: only the peers it allows are redirected, the flows name it
bw_policy_replace_text web-l4 <<'YAML' || bw_die "policy replace failed"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: web-l4
  namespace: x
spec:
  endpointSelector:
    matchLabels: {app: web}
  ingress:
  - fromEndpoints:
    - matchLabels: {app: client}
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
YAML
bw_expect_verdict "visibility + L4 policy: x/cli -> x/srv:80 is REDIRECTED" \
	REDIRECTED --from x/cli --to x/srv --port 80
body_is "visibility + L4 policy: the allowed peer gets any path" "PATCH /vis/l4" \
	-X PATCH "http://$SRV/vis/l4"
if other_curl -o /dev/null "http://$SRV/vis/other" 2>/dev/null; then
	bw_fail "visibility + L4 policy: x/other is not allowed and should be dropped"
else
	bw_pass "visibility + L4 policy: a peer the policy does not allow is still dropped"
fi
if bw_flows_available; then
	bw_expect_output "visibility + L4 policy: the flow names the policy that allowed it" \
		'"ingress_allowed_by":\[\{"name":"web-l4","namespace":"x"' \
		bw observe --all -o json --type l7 --http-path '^/vis/l4$' --verdict FORWARDED
fi

# with rules.http on the port, they apply
cp "$BW_TMP/web-l7.yaml" "$BW_TMP/web-l7.src"
bw_policy_replace_text web-l7-again <"$BW_TMP/web-l7.src" || bw_die "policy replace failed"
bw_expect_output "visibility + rules.http: the rules still apply" '^403$' \
	cli_curl -o /dev/null -w '%{http_code}' "http://$SRV/vis/denied"
body_is "visibility + rules.http: what they allow passes" "GET /public/vis" "http://$SRV/public/vis"

# kept across a restart, then turned off
bw_restart_daemon -o "prometheus.listen=127.0.0.1:$MPORT"
bw_expect_output "the proxy visibility is kept across a daemon restart" \
	'Proxy visibility: +<Ingress/80/TCP/HTTP>' bw endpoint get x/srv
bw policy delete x/web-l7 >/dev/null || bw_fail "policy delete failed"
bw_expect_output "after the restart, visibility redirects again" \
	'^PUT /vis/again$' other_curl -X PUT "http://$SRV/vis/again"
bw endpoint update x/srv --proxy-visibility none >/dev/null ||
	bw_fail "endpoint update --proxy-visibility none failed"
bw_expect_output "endpoint get: no proxy visibility" 'Proxy visibility: +-$' bw endpoint get x/srv
c0=$(proxy_stat accepted)
bw_expect_output "visibility off: requests go straight to nginx" \
	'^GET /vis/off$' other_curl "http://$SRV/vis/off"
c1=$(proxy_stat accepted)
if [ "$c1" = "$c0" ]; then
	bw_pass "visibility off: no connection through the proxy"
else
	bw_fail "visibility off: the proxy accepted $((c1 - c0)) connections"
fi

bw_finish
