#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_lua.sh - Lua hooks with real traffic (docs/lua.md): the
# scripts of [lua] dir run against the flows of pods in network
# namespaces, and what a user sees is checked:
#   - on_flow adds extensions that `bulwark observe -o json` shows;
#   - on_verdict sees the drops: the shipped alert-repeated-denies example
#     posts to a real HTTP receiver (python3 http.server) after 5 denies;
#   - the shipped quarantine-portscan example quarantines a pod that
#     scans 16 ports: the quarantine is a policy (policy list, trace,
#     resolved), the pod's traffic is blocked and its drops name the
#     quarantine, other pods are untouched, metrics count it, and
#     `bulwark quarantine delete` lifts it;
#   - a script that fails on every flow is disabled after max_failures and
#     reported (lua list, metrics) while flows and the other scripts go on;
#   - the directory is watched (add, edit, remove), `lua disable` and
#     `lua reload` work, a script trying os.execute never loads;
#   - the daemon still stops cleanly.
#
# Topology: x/scanner (app=scanner), x/target (app=web, TCP 80), x/client
# (app=client, TCP 80); external "alerts" 192.0.2.10 (the webhook
# receiver). Policy: x/target accepts every pod of x on port 80 only.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init
bw_require_tool curl curl

EXAMPLES=$abs_top_srcdir/lua/examples
[ -f "$EXAMPLES/quarantine-portscan.lua" ] || bw_die "no $EXAMPLES"
LUA=$BW_TMP/lua
mkdir -p "$LUA"

# ---- the webhook receiver: every POST body, one per line ----------------------
bw_external_add alerts 192.0.2.10
ALERTS=$BW_TMP/alerts.ndjson
: >"$ALERTS"
RECEIVER='import http.server, sys
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        with open(out, "ab") as f:
            f.write(body + b"\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("0.0.0.0", int(sys.argv[1])), H).serve_forever()'
bw_bg "$(bw_netns_of alerts)" python3 -c "$RECEIVER" 8080 "$ALERTS"
bw_wait_listen "$(bw_netns_of alerts)" tcp 8080

PORT=$(bw_nsx "$BW_NODE" python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
	bw_die "cannot pick a free port"
M=$BW_TMP/metrics.txt

bw_start_daemon -o "lua.dir=$LUA" -o "lua.webhooks=http://192.0.2.10:8080/" \
	-o "prometheus.listen=127.0.0.1:$PORT" -o "flows.capacity=65536"

bw namespace set x || bw_die "namespace set x"
bw_pod_add x scanner 10.1.0.1 app=scanner || bw_die "endpoint add x/scanner"
bw_pod_add x target 10.1.0.2 app=web || bw_die "endpoint add x/target"
bw_pod_add x client 10.1.0.3 app=client || bw_die "endpoint add x/client"
bw_server_tcp x/target 80
bw_server_tcp x/client 80

bw_policy_replace_text target <<'EOF' || bw_die "policy"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: target-web
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      app: web
  ingress:
  - fromEndpoints:
    - {}
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
EOF

# ---- helpers ------------------------------------------------------------------------

# lua_field NAME FIELD : a field of script NAME in `bulwark lua list -o json`.
lua_field() {
	bw lua list -o json 2>/dev/null | python3 -c 'import json, sys
d = json.load(sys.stdin)
for s in d["scripts"]:
    if s["name"] == sys.argv[1]:
        v = s.get(sys.argv[2], "")
        print(v if not isinstance(v, list) else ",".join(v))' "$1" "$2"
}
lua_state_is() { [ "$(lua_field "$1" state)" = "$2" ]; }
lua_gone() { ! bw lua list -o json | grep -q "\"name\": *\"$1\""; }

# install NAME FILE : put FILE into [lua] dir as NAME.lua (atomically, as an
# operator's `install` would) and wait until bulwarkd runs it.
install_script() {
	cp "$2" "$LUA/.$1.tmp" && mv -f "$LUA/.$1.tmp" "$LUA/$1.lua"
	if bw_wait_for 10 lua_state_is "$1" active; then
		bw_pass "script $1 loaded from the watched directory"
	else
		bw_fail "script $1 did not load"
		bw lua list 2>&1 | sed 's/^/#   | /'
	fi
}

scrape() {
	bw_nsx "$BW_NODE" curl -sS --max-time 10 -o "$M" "http://127.0.0.1:$PORT/metrics"
}
# metric NAME [LABEL=VALUE]... : the summed samples of NAME with those labels.
metric() {
	python3 - "$M" "$@" <<'PY'
import re, sys
path, name = sys.argv[1:3]
want = dict(a.split("=", 1) for a in sys.argv[3:])
tot = 0.0
for line in open(path):
    m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$", line.strip())
    if not m or m.group(1) != name:
        continue
    labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"', m.group(3) or ""))
    if all(labels.get(k) == v for k, v in want.items()):
        tot += float(m.group(4))
print(int(tot))
PY
}
expect_metric() { # DESC OP N NAME [LABEL=VALUE]...
	local desc=$1 op=$2 n=$3 got
	shift 3
	scrape
	got=$(metric "$@")
	if [ "$got" "$op" "$n" ]; then
		bw_pass "$desc ($* = $got)"
	else
		bw_fail "$desc: expected $* $op $n, got $got"
		grep "^$1" "$M" | sed 's/^/#   | /'
	fi
}

bw_expect_output "no scripts yet" "no scripts in $LUA" bw lua list

# ---- on_flow: extensions in observe ------------------------------------------------
cat >"$BW_TMP/tag.lua" <<'EOF'
-- tags the flows to the web pods
function on_flow(flow)
  local d = flow.destination
  if d and d.labels then
    for _, l in ipairs(d.labels) do
      if l == "k8s:app=web" then
        return { team = "storefront", port = flow.l4 and flow.l4.TCP and flow.l4.TCP.destination_port }
      end
    end
  end
end
EOF
install_script tag "$BW_TMP/tag.lua"
bw_expect_output "lua list shows the hook" "tag +active +on_flow" bw lua list
bw_expect_ok "x/client reaches x/target:80" bw_probe_tcp x/client x/target 80
tagged() { bw observe --all -o json --to-pod x/target | grep -q '"lua":{"tag":{.*"team":"storefront"'; }
if bw_wait_for 5 tagged; then
	bw_pass "observe shows the extension on_flow added"
else
	bw_fail "no flow to x/target carries extensions.lua.tag"
	bw observe --last 5 -o json --to-pod x/target | sed 's/^/#   | /'
fi
bw_expect_output "the extension is the Hubble JSON's" \
	'"extensions":\{"@type":"bulwark.io/FlowExtensions".*"lua":\{"tag":\{"port":80,"team":"storefront"\}' \
	bw observe --all -o json --to-pod x/target --to-port 80

# edited in place: the new version runs
sed -e 's/storefront/web-team/' "$BW_TMP/tag.lua" >"$BW_TMP/tag2.lua"
cp "$BW_TMP/tag2.lua" "$LUA/tag.lua"
retagged() {
	bw_probe_tcp x/client x/target 80 && bw observe --last 10 -o json --to-pod x/target |
		grep -q '"team":"web-team"'
}
if bw_wait_for 10 retagged; then
	bw_pass "an edit of the script applies without a restart"
else
	bw_fail "the edited script does not run"
fi

# ---- on_verdict + webhook: the alert example -----------------------------------------
sed -e 's|http://alerts.example:8080/bulwark|http://192.0.2.10:8080/bulwark|' \
	"$EXAMPLES/alert-repeated-denies.lua" >"$BW_TMP/alert.lua"
install_script alert "$BW_TMP/alert.lua"
for i in 1 2 3 4 5 6; do
	bw_probe_tcp x/client x/target 81 1 >/dev/null
done
alerted() { grep -q '"alert":"repeated-denies"' "$ALERTS" && grep -q '"source":"x/client"' "$ALERTS"; }
if bw_wait_for 10 alerted; then
	bw_pass "6 denies of x/client posted one alert to the webhook receiver"
else
	bw_fail "no alert reached the receiver"
	cat "$ALERTS" | sed 's/^/#   | /'
fi
bw_check "the alert names the port and the drop reason" \
	grep -q '"port":81.*"reason":"POLICY_DENIED"\|"reason":"POLICY_DENIED".*"port":81' "$ALERTS"
bw_check "one alert, not one per deny" test "$(grep -c repeated-denies "$ALERTS")" -eq 1
expect_metric "webhook counted as sent" -ge 1 bulwark_lua_webhooks_total result=sent
expect_metric "on_verdict calls counted" -ge 6 bulwark_lua_calls_total script=alert hook=on_verdict

# ---- quarantine: the port scan example -------------------------------------------------
install_script quarantine-portscan "$EXAMPLES/quarantine-portscan.lua"
bw_expect_ok "before the scan x/scanner reaches x/target:80" bw_probe_tcp x/scanner x/target 80
bw_nsx "$(bw_netns_of x/scanner)" python3 -c 'import socket
for p in range(1000, 1016):
    s = socket.socket()
    s.settimeout(0.2)
    try:
        s.connect(("10.1.0.2", p))
    except OSError:
        pass
    s.close()' || true
quarantined() { bw quarantine list | grep -q 'x/scanner'; }
if bw_wait_for 10 quarantined; then
	bw_pass "a scan of 16 ports quarantines x/scanner"
else
	bw_fail "x/scanner was not quarantined"
	bw lua list | sed 's/^/#   | /'
fi
Q=$(bw quarantine list -o json | python3 -c 'import json, sys
q = json.load(sys.stdin)["quarantines"]
print(q[0]["namespace"] + "/" + q[0]["name"] if q else "")')
bw_expect_output "quarantine list says who asked and why" \
	"x/quarantine-[0-9]+ +x/scanner +0\.0\.0\.0/0 .*lua:quarantine-portscan +port scan" \
	bw quarantine list
bw_expect_output "the quarantine is a policy" "Quarantine.*${Q#x/}|${Q#x/}.*Quarantine" bw policy list
bw_expect_blocked "quarantined x/scanner cannot reach x/target:80" bw_probe_tcp x/scanner x/target 80
bw_expect_blocked "quarantined x/scanner cannot reach x/client:80" bw_probe_tcp x/scanner x/client 80
bw_expect_blocked "nobody reaches quarantined x/scanner" bw_probe_tcp x/client x/scanner 80 1
bw_expect_ok "x/client still reaches x/target:80" bw_probe_tcp x/client x/target 80
bw_expect_verdict "trace x/scanner -> x/target:80 says denied" DENIED \
	--from x/scanner --to x/target --port 80
bw_expect_trace "trace names the quarantine" "${Q#x/}" --from x/scanner --to x/target --port 80
bw_expect_output "policy resolved shows its deny entries" "${Q#x/}" bw policy resolved x/scanner
bw_expect_flow "the scanner's drops name the quarantine" \
	--from-pod x/scanner --verdict DROPPED --type policy-verdict
bw_check "... as egress_denied_by kind Quarantine" sh -c \
	"'$BULWARK' -s '$BW_SOCK' observe --all -o json --from-pod x/scanner --verdict DROPPED | grep -q '\"egress_denied_by\":\[{\"name\":\"${Q#x/}\",\"namespace\":\"x\".*\"kind\":\"Quarantine\"'"
expect_metric "bulwark_quarantines counts it" -eq 1 bulwark_quarantines
expect_metric "the script's own counter" -eq 1 bulwark_lua_quarantines_total \
	script=quarantine-portscan namespace=x
bw_check_fails "policy delete refuses a quarantine" bw policy delete "$Q"
bw_check "bulwark quarantine delete lifts it" bw quarantine delete "$Q"
bw_expect_ok "after the lift x/scanner reaches x/target:80" bw_probe_tcp x/scanner x/target 80
bw_expect_output "no quarantines left" "no quarantines" bw quarantine list

# an operator's quarantine, from the CLI, kept across a restart
bw_check "quarantine add from the CLI" bw quarantine add x/client --peer 10.1.0.2 --for 1h --reason "ops test"
bw_expect_blocked "x/client -> x/target:80 blocked by the operator's quarantine" \
	bw_probe_tcp x/client x/target 80
bw_restart_daemon
bw_expect_output "the quarantine survives a restart" "x/client +10\.1\.0\.2/32" bw quarantine list
bw_expect_blocked "and still blocks after the restart" bw_probe_tcp x/client x/target 80
bw_check "quarantine delete" bw quarantine delete "$(bw quarantine list -o json | python3 -c 'import json, sys
q = json.load(sys.stdin)["quarantines"][0]; print(q["namespace"] + "/" + q["name"])')"
bw_expect_ok "x/client reaches x/target:80 again" bw_probe_tcp x/client x/target 80
bw_check_fails "quarantine of an unknown pod is refused" \
	bw quarantine add x/nobody --peer 10.0.0.0/8 --for 1m

# ---- a failing script is disabled; everything else goes on ---------------------------
cat >"$BW_TMP/bad.lua" <<'EOF'
function on_flow(flow) error("broken on purpose") end
EOF
install_script bad "$BW_TMP/bad.lua"
for i in 1 2 3 4 5 6; do
	bw_probe_tcp x/client x/target 80 >/dev/null
done
if bw_wait_for 10 lua_state_is bad failed; then
	bw_pass "the failing script is disabled after max_failures"
else
	bw_fail "the failing script is still $(lua_field bad state)"
fi
bw_expect_output "lua list says why" "bad +failed .*broken on purpose" bw lua list
bw_expect_output "the daemon logs it" "lua/bad: disabled after 5 failures" cat "$BW_DAEMON_LOG"
expect_metric "failures counted by reason" -ge 5 bulwark_lua_failures_total \
	script=bad hook=on_flow reason=error
expect_metric "a failed script in bulwark_lua_scripts" -eq 1 bulwark_lua_scripts state=failed
bw_expect_ok "traffic flows on" bw_probe_tcp x/client x/target 80
if bw_wait_for 5 retagged; then
	bw_pass "the other scripts still run"
else
	bw_fail "tag stopped running when bad failed"
fi

# ---- disable / reload / remove ------------------------------------------------------------
bw_check "lua disable tag" bw lua disable tag
bw_expect_output "disabled in lua list" "tag +disabled" bw lua list
bw_check "lua reload tag" bw lua reload tag
bw_expect_output "active again" "tag +active" bw lua list
bw_check_fails "reload of an unknown script fails" bw lua reload nosuch
rm -f "$LUA/bad.lua"
if bw_wait_for 10 lua_gone bad; then
	bw_pass "a removed file removes the script"
else
	bw_fail "bad is still listed after its file was removed"
fi

# ---- a sandbox escape in a real file never loads --------------------------------------------
cat >"$LUA/escape.lua" <<EOF
os.execute("touch $BW_TMP/escaped")
io.open("$BW_TMP/escaped", "w")
EOF
error_state() { lua_state_is escape error; }
if bw_wait_for 10 error_state; then
	bw_pass "a script calling os.execute does not load"
else
	bw_fail "escape.lua is $(lua_field escape state)"
fi
bw_check "nothing escaped" test ! -e "$BW_TMP/escaped"
bw_expect_output "lua list gives the error" "escape +error .*attempt to call a nil value" bw lua list
bw_check_fails "lua reload of it fails with the error" bw lua reload escape

bw_check "the daemon is alive" bw_daemon_alive
bw_stop_daemon
bw_finish
