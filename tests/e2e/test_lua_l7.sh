#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_lua_l7.sh - the Lua decision hooks and Lua-written parsers
# on the L7 proxy, with real traffic (docs/lua.md):
#   - on_http (the shipped deny-debug-header example) refuses a request
#     that policy allowed: the client gets 403, the flow is DROPPED and
#     names the script and its reason under extensions.lua; a trusted pod
#     passes;
#   - on_http header edits (add, remove) reach the server;
#   - a script that fails makes its decision default_verdict (deny);
#   - the shipped line-protocol example (protocol "kvline") enforces
#     l7proto: kvline rules on a real TCP server: allowed commands are
#     answered by the server, a denied one gets the script's reply and never
#     reaches it; flows of Type L7 with the script's fields;
#   - removing the script closes kvline connections (fail closed).
# Topology: x/srv (app=web: nginx on 80, a line server on 6379), x/cli
# (app=client), x/dbg (app=debugger).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init
# the http parser module and the engine on the redirect come with the L7
# branch (issue 13); without them there is nothing to test here
[ -f "$abs_top_builddir/modules/.libs/http.so" ] ||
	bw_skip "no http module (modules/http, the L7 engine's HTTP parser) in this build"
bw_require_tool nginx nginx-light
bw_require_tool curl curl
EXAMPLES=$abs_top_srcdir/lua/examples
LUA=$BW_TMP/lua
mkdir -p "$LUA"
BW_CONF=$BW_TMP/bulwark.conf
printf '[daemon]\nmodules = identity-local netpol-k8s netpol-cilium http\n' >"$BW_CONF"
bw_start_daemon -o "lua.dir=$LUA"
bw_pod_add x srv 10.1.0.1 app=web
bw_pod_add x cli 10.1.0.2 app=client
bw_pod_add x dbg 10.1.0.3 app=debugger
SRV=10.1.0.1
CLI_NS=$(bw_netns_of x/cli)
DBG_NS=$(bw_netns_of x/dbg)

NGX=$BW_TMP/nginx
mkdir -p "$NGX"
cat >"$NGX/nginx.conf" <<EOF
user root root;
worker_processes 1;
daemon off;
error_log $NGX/error.log;
pid $NGX/nginx.pid;
events { worker_connections 64; }
http {
	access_log $NGX/access.log;
	client_body_temp_path $NGX/body;
	proxy_temp_path $NGX/proxy;
	fastcgi_temp_path $NGX/fastcgi;
	uwsgi_temp_path $NGX/uwsgi;
	scgi_temp_path $NGX/scgi;
	server {
		listen $SRV:80;
		location / { return 200 "\$request_method \$request_uri lua=\$http_x_lua gone=\$http_x_gone\n"; }
	}
}
EOF
bw_bg "$(bw_netns_of x/srv)" nginx -p "$NGX" -c "$NGX/nginx.conf"
bw_wait_listen "$(bw_netns_of x/srv)" tcp 80
# the line server: "+OK <line>" per line; logs what it got
SEEN=$BW_TMP/kv-seen.txt
: >"$SEEN"
bw_bg "$(bw_netns_of x/srv)" python3 -c 'import socketserver, sys
seen = sys.argv[1]
class H(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            with open(seen, "ab") as f:
                f.write(line)
            self.wfile.write(b"+OK " + line.strip() + b"\r\n")
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("10.1.0.1", 6379), H).serve_forever()' "$SEEN"
bw_wait_listen "$(bw_netns_of x/srv)" tcp 6379

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
    - matchLabels: {k8s:io.kubernetes.pod.namespace: x}
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http:
        - method: GET
    - ports: [{port: "6379", protocol: TCP}]
      rules:
        l7proto: kvline
        l7:
        - {cmd: GET}
        - {cmd: SET, key: "public:.*"}
YAML

lua_state_is() {
	bw lua list -o json 2>/dev/null | python3 -c 'import json, sys
d = json.load(sys.stdin)
sys.exit(0 if any(s["name"] == sys.argv[1] and s["state"] == sys.argv[2] for s in d["scripts"]) else 1)' "$1" "$2"
}
install_script() {
	cp "$2" "$LUA/.$1.tmp" && mv -f "$LUA/.$1.tmp" "$LUA/$1.lua"
	if bw_wait_for 10 lua_state_is "$1" active; then
		bw_pass "script $1 loaded"
	else
		bw_fail "script $1 did not load"
		bw lua list 2>&1 | sed 's/^/#   | /'
	fi
}
lua_gone() { ! bw lua list -o json 2>/dev/null | grep -q "\"name\": *\"$1\""; }
cli_curl() { bw_nsx "$CLI_NS" curl -sS --max-time 10 "$@"; }
dbg_curl() { bw_nsx "$DBG_NS" curl -sS --max-time 10 "$@"; }
# kv NS LINES : send LINES to x/srv:6379 from NS, print the replies (1 s)
kv() {
	bw_nsx "$1" python3 - "$SRV" "$2" <<'EOF'
import socket, sys, time
s = socket.create_connection((sys.argv[1], 6379), timeout=3)
s.sendall(sys.argv[2].encode().replace(b"|", b"\n"))
out, end = b"", "<OPEN>"
s.settimeout(1.5)
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
print(out.decode().replace("\r\n", "|") + end)
EOF
}

kv_any() { kv "$@" 2>&1; return 0; }

# ---- on_http -----------------------------------------------------------------------
bw_expect_output "no script: a GET passes" "^GET /a lua= gone=$" cli_curl "http://$SRV/a"
install_script deny-debug-header "$EXAMPLES/deny-debug-header.lua"
bw_expect_output "on_http: X-Debug from x/cli gets 403" '^403$' \
	cli_curl -o /dev/null -w '%{http_code}' -H "X-Debug: 1" "http://$SRV/a"
bw_expect_output "on_http: without the header it passes" "^GET /b lua= gone=$" cli_curl "http://$SRV/b"
bw_expect_output "on_http: the debugger may send it" "^GET /c lua= gone=$" \
	dbg_curl -H "X-Debug: 1" "http://$SRV/c"
denied_flow() {
	bw observe --all -o json --verdict DROPPED --from-pod x/cli 2>/dev/null |
		grep '"lua"' | grep -q '"script":"deny-debug-header".*"hook":"on_http".*"reason":"x-debug header from x/cli'
}
if bw_wait_for 5 denied_flow; then
	bw_pass "the DROPPED flow names the script, the hook and the reason"
else
	bw_fail "no DROPPED flow with extensions.lua of deny-debug-header"
	bw observe --all -o json -t l7 2>&1 | tail -4 | sed 's/^/#   | /'
fi
bw_expect_output "lua list counts the denial" "deny-debug-header +active +on_http" bw lua list
http_calls() {
	bw lua list -o json | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(sum(s["stats"].get("on_http", {}).get("calls", 0) for s in d["scripts"]))'
}
c0=$(http_calls)
bw_expect_output "a request the rules deny gets policy's 403" '^403$' \
	cli_curl -o /dev/null -w '%{http_code}' -X POST "http://$SRV/a"
bw_check "... without asking the script (hooks only narrow what policy allows)" \
	test "$(http_calls)" = "$c0"

cat >"$BW_TMP/edit.lua" <<'EOF'
function on_http(req)
  return "allow", nil, { add = { ["X-Lua"] = "yes" }, remove = { "x-gone" } }
end
EOF
install_script edit "$BW_TMP/edit.lua"
bw_expect_output "on_http: the added header reaches nginx, the removed one does not" \
	"^GET /d lua=yes gone=$" cli_curl -H "X-Gone: 1" "http://$SRV/d"

cat >"$BW_TMP/broken.lua" <<'EOF'
function on_http(req) return 42 end
EOF
install_script broken "$BW_TMP/broken.lua"
bw_expect_output "a script returning garbage: default_verdict (deny)" '^403$' \
	cli_curl -o /dev/null -w '%{http_code}' "http://$SRV/e"
rm -f "$LUA/broken.lua" "$LUA/edit.lua"
bw_wait_for 10 lua_gone broken || bw_fail "broken.lua removed but still listed"
bw_wait_for 10 lua_gone edit || bw_fail "edit.lua removed but still listed"
bw_expect_output "with it removed, GET passes again" "^GET /f lua= gone=$" cli_curl "http://$SRV/f"

# ---- kvline, a protocol written in Lua ------------------------------------------------
# (the policy's kvline port is redirected, but no parser listens yet)
bw_expect_output "no script defines kvline yet: nothing gets through" \
	'^(<EOF>|<RST>)$|timed out|refused' kv_any "$CLI_NS" "GET a|"
install_script line-protocol "$EXAMPLES/line-protocol.lua"
: >"$SEEN"
bw_expect_output "kvline: GET and SET public:x pass, SET secret gets the script's reply" \
	'^\+OK GET a\|-ERR access denied by policy\|\+OK SET public:x 2\|<OPEN>$' \
	kv "$CLI_NS" "GET a|SET secret 1|SET public:x 2|"
bw_check "the denied command never reached the server" sh -c "! grep -q secret '$SEEN'"
bw_check "the allowed ones did" grep -q "public:x" "$SEEN"
kvflow() {
	bw observe --all -o json --from-pod x/cli -t l7 2>/dev/null | grep -q "$1"
}
if bw_wait_for 5 kvflow '"verdict":"DROPPED".*"value":"secret"'; then
	bw_pass "a DROPPED L7 flow with the script's fields"
else
	bw_fail "no DROPPED kvline flow"
	bw observe --all -o json -t l7 2>&1 | tail -3 | sed 's/^/#   | /'
fi
bw_expect_output "lua list shows the protocol hook" "line-protocol +active +protocol" bw lua list
rm -f "$LUA/line-protocol.lua"
bw_wait_for 10 lua_gone line-protocol || bw_fail "line-protocol.lua removed but still listed"
bw_expect_output "script removed: kvline connections are closed (fail closed)" '<EOF>|<RST>' \
	kv "$CLI_NS" "GET a|"

bw_check "the daemon is alive" bw_daemon_alive
bw_stop_daemon
bw_finish
