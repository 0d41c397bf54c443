#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_lua_alert.sh - on_alert (docs/lua.md) with real traffic:
# a denied connection raises an alert in modules/alerts, the alert bus
# hands it to the Lua host, and a script's on_alert posts its own page to
# a real HTTP receiver with the alert's fields; lua list and the metrics
# count the calls; a script that fails in on_alert is counted and the
# others go on.
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bw_init
bw_require_tool curl curl
[ -f "$abs_top_builddir/modules/.libs/alerts.so" ] || bw_skip "no alerts module in this build"

PAGES=$BW_TMP/pages.jsonl
PORT=$(bw_nsx "$BW_NODE" python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
	bw_die "cannot pick a free port"
MPORT=$((PORT + 1))
: >"$PAGES"
bw_bg "$BW_NODE" python3 -c 'import http.server, sys
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' "$PORT" "$PAGES"
bw_wait_listen "$BW_NODE" tcp "$PORT"

LUA=$BW_TMP/lua
mkdir -p "$LUA"
cat >"$LUA/pager.lua" <<EOF
local bw = require("bulwark")
function on_alert(a)
  bw.counter("alerts", { to = a.destination })
  if a.destination == "x/web" then
    bw.webhook("http://127.0.0.1:$PORT/page", {
      what = "denied access to x/web", from = a.source, port = a.port,
      protocol = a.protocol, policies = a.policies, count = a.count })
  end
end
EOF
cat >"$LUA/broken.lua" <<'EOF'
function on_alert(a) error("no pager configured") end
EOF
BW_CONF=$BW_TMP/bulwark.conf
cat >"$BW_CONF" <<EOF
[daemon]
modules = identity-local netpol-k8s netpol-cilium prometheus alerts
[alerts]
window = 5s
EOF
export BW_CONF
bw_start_daemon -o "lua.dir=$LUA" -o "lua.webhooks=http://127.0.0.1:$PORT/" \
	-o "prometheus.listen=127.0.0.1:$MPORT"

bw namespace set x >/dev/null
bw namespace set y >/dev/null
bw_pod_add x a 10.1.0.1 app=web >/dev/null || bw_die "endpoint x/a"
bw_pod_add y c 10.2.0.1 app=other >/dev/null || bw_die "endpoint y/c"
bw_server_udp x/a 81
bw_policy_import_text deny <<'EOF' >/dev/null || bw_die "policy import"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Ingress]
EOF
bw_expect_output "lua list shows on_alert" "pager +active +on_alert" bw lua list

# one denied datagram: one alert, one page
echo d1 | ip netns exec "$(bw_netns_of y/c)" socat -u - "UDP4:10.1.0.1:81" 2>/dev/null
paged() { [ -s "$PAGES" ]; }
if bw_wait_for 10 paged; then
	bw_pass "on_alert posted a page for the denial"
else
	bw_fail "no page"
	bw lua list 2>&1 | sed 's/^/#   | /'
fi
bw_check "the page carries the alert's fields" python3 -c '
import json, sys
p = json.loads(open(sys.argv[1]).readline())
assert p["what"] == "denied access to x/web", p
assert p["from"] == "y/other" and p["port"] == 81 and p["protocol"] == "UDP", p
assert p["policies"] == ["NetworkPolicy x/deny-all"] and p["count"] == 1, p' "$PAGES"
calls() {
	bw lua list -o json | python3 -c 'import json, sys
d = json.load(sys.stdin)
for s in d["scripts"]:
    if s["name"] == sys.argv[1]:
        print(json.dumps(s))' "$1"
}
bw_expect_output "lua list -o json counts pager's on_alert call" \
	'"on_alert": \{"calls": 1, "denials": 0, "failures": \{\}' calls pager
bw_check "the failing script is counted, not fatal, and says why" sh -c '
	bw_json=$1
	printf "%s" "$bw_json" | python3 -c "
import json, sys
s = json.load(sys.stdin)
assert s[\"state\"] == \"active\", s
assert s[\"stats\"][\"on_alert\"][\"failures\"] == {\"error\": 1}, s
assert \"no pager configured\" in s[\"last_error\"], s"' _ "$(calls broken)"
scrape() { bw_nsx "$BW_NODE" curl -sS --max-time 5 "http://127.0.0.1:$MPORT/metrics"; }
bw_expect_output "bulwark_lua_calls_total{hook=on_alert}" \
	'bulwark_lua_calls_total\{script="pager",hook="on_alert"\} 1' scrape
bw_expect_output "the script's own counter" 'bulwark_lua_alerts_total\{script="pager",to="x/web"\} 1' scrape
bw_expect_output "bulwark_lua_failures_total for the broken one" \
	'bulwark_lua_failures_total\{script="broken",hook="on_alert",reason="error"\} 1' scrape
bw_expect_output "nothing dropped" '^bulwark_lua_alerts_dropped_total 0' scrape
bw_expect_output "the alerts module counts the hook target" \
	'bulwark_alerts_sent_total\{target="hook"\} 1' scrape

bw_check "the daemon is alive" bw_daemon_alive
bw_stop_daemon
bw_finish
