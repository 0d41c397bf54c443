#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_alerts.sh - deny alerts (modules/alerts): a denied
# connection raises an alert naming the responsible policy, received by a
# real HTTP server (the webhook) and by a syslog socket this test owns;
# repeats within the window are deduplicated into one more alert carrying
# their count; audited would-be denials alert too; a webhook that is down
# gets the alert after retries; the rate limit holds; bad settings are
# config errors naming the key.
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bw_init
bw_require_tool curl curl

HOOK=$BW_TMP/webhook.jsonl
SYSLOG=$BW_TMP/syslog.sock
SYSLOG_OUT=$BW_TMP/syslog.txt
PORT=18089

# The webhook: Python's HTTP server, one JSON body per line in $HOOK.
cat >"$BW_TMP/webhook.py" <<'EOF'
import http.server, sys
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        ok = self.headers.get("Content-Type") == "application/json"
        with open(out, "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(204 if ok else 415)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
# The syslog socket: one datagram per line in $SYSLOG_OUT.
cat >"$BW_TMP/syslog.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    d = s.recv(65536)
    with open(sys.argv[2], "ab") as f:
        f.write(d.replace(b"\n", b" ") + b"\n")
EOF
WEBHOOK_PID=""
start_webhook() {
	# not through a shell function: $! must be the server itself
	ip netns exec "$BW_NODE" python3 "$BW_TMP/webhook.py" "$PORT" "$HOOK" >>"$BW_TMP/bg.log" 2>&1 &
	WEBHOOK_PID=$!
	BW_PIDS+=("$WEBHOOK_PID")
	bw_wait_listen "$BW_NODE" tcp "$PORT"
}
stop_webhook() {
	kill "$WEBHOOK_PID" && wait "$WEBHOOK_PID" 2>/dev/null
}
start_webhook
: >"$HOOK"
bw_bg "$BW_NODE" python3 "$BW_TMP/syslog.py" "$SYSLOG" "$SYSLOG_OUT"
bw_wait_for 5 test -S "$SYSLOG" || bw_die "no syslog socket"

# A config of our own, so that a SIGHUP can change the rate limit.
CONF=$BW_TMP/alerts.conf
cat >"$CONF" <<EOF
[daemon]
modules = identity-local netpol-k8s netpol-cilium prometheus alerts
[alerts]
webhook = http://127.0.0.1:$PORT/alerts
syslog = true
syslog_socket = $SYSLOG
syslog_facility = local3
window = 5s
backoff = 1s
EOF
export BW_CONF=$CONF
bw_start_daemon

bw namespace set x >/dev/null
bw namespace set y >/dev/null
bw_pod_add x a 10.1.0.1 app=web >/dev/null || bw_die "endpoint x/a"
bw_pod_add x d 10.1.0.4 app=db --audit=on >/dev/null || bw_die "endpoint x/d"
bw_pod_add y c 10.2.0.1 app=other >/dev/null || bw_die "endpoint y/c"
bw_server_udp x/a 81 82
bw_server_udp x/d 81
bw_policy_import_text deny <<'EOF' >/dev/null || bw_die "policy import"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Ingress]
EOF

# datagrams FROM TO PORT N : send N datagrams quickly, without waiting for
# answers (each is one denied connection attempt: one policy verdict).
datagrams() {
	local ns i
	ns=$(bw_netns_of "$1")
	for i in $(seq "$4"); do
		echo "d$i" | ip netns exec "$ns" socat -u - "UDP4:$(bw_ip_of "$2"):$3" 2>/dev/null
	done
}
# alerts JQ-FILTER-PYTHON : alerts received by the webhook, as python dicts
hook_alerts() {
	python3 -c '
import json, sys
for l in open(sys.argv[1]):
    if l.strip():
        a = json.loads(l)
        print(a["source"], a["destination"], a["port"], a["protocol"], a["direction"],
              a["verdict"], ",".join(a["policies"]), a["count"])' "$HOOK"
}
nhook() { hook_alerts | grep -c -- "$1"; }
sumhook() { hook_alerts | grep -- "$1" | awk '{ s += $NF } END { print s + 0 }'; }

# ---- one denial: one alert at once, naming the policy ------------------------------------------
datagrams y/c x/a 81 1
one() { [ "$(nhook 'y/other x/web 81 UDP INGRESS DROPPED')" = 1 ]; }
if bw_wait_for 10 one; then
	bw_pass "the webhook got one alert for the denial"
else
	bw_fail "the webhook did not get the alert"; cat "$HOOK" | sed 's/^/#   | /'
fi
bw_check "the alert names the isolating policy and carries count 1" \
	test "$(hook_alerts | head -n 1)" = "y/other x/web 81 UDP INGRESS DROPPED NetworkPolicy x/deny-all 1"
bw_check "the alert's JSON has the documented fields" python3 -c '
import json, sys
a = json.loads(open(sys.argv[1]).readline())
for k in ("source", "destination", "port", "protocol", "verdict", "policies", "count",
          "direction", "reason", "default_deny", "first_seen", "last_seen", "time"):
    assert k in a, k
assert a["default_deny"] is True and "isolated" in a["reason"], a
assert a["source_pod"] == "y/c" and a["destination_pod"] == "x/a", a' "$HOOK"
insyslog() { grep -q "$1" "$SYSLOG_OUT"; }
if bw_wait_for 5 insyslog 'DROPPED y/other -> x/web:81/UDP INGRESS by NetworkPolicy x/deny-all, 1 time: {'; then
	bw_pass "syslog got the alert: a summary, then the JSON record"
else
	bw_fail "syslog did not get the alert"; sed 's/^/#   | /' "$SYSLOG_OUT"
fi
bw_check "the syslog message is local3.warning (<156>) from bulwarkd[PID]" \
	grep -q '^<156>[A-Z][a-z][a-z] [ 0-9][0-9] [0-9:]\{8\} bulwarkd\[[0-9]*\]: DROPPED' "$SYSLOG_OUT"

# ---- repeats within the window: deduplicated into one more alert with their count -------------
: >"$HOOK" # (another port: another key, its own window)
datagrams y/c x/a 82 7
seven() { [ "$(sumhook 'y/other x/web 82 UDP')" = 7 ]; }
if bw_wait_for 20 seven; then
	bw_pass "7 denials of one key: the alerts' counts add up to 7"
else
	bw_fail "7 denials: the alerts' counts add up to $(sumhook 'y/other x/web 82 UDP')"
	sed 's/^/#   | /' "$HOOK"
fi
bw_check "7 denials within the window made 2 alerts: count 1 at once, then count 6" \
	test "$(hook_alerts | grep 'y/other x/web 82 UDP' | awk '{ print $NF }' | tr '\n' ' ')" = "1 6 "
M=$BW_TMP/metrics.txt
scrape() { bw_nsx "$BW_NODE" curl -sS --max-time 10 -o "$M" http://127.0.0.1:9962/metrics; }
mval() { awk -v k="$1" '$1 == k { print $2 }' "$M"; }
bw_check "GET /metrics" scrape
bw_check "bulwark_alerts_deduplicated_total counts the 6 repeats" \
	test "$(mval bulwark_alerts_deduplicated_total)" = 6
bw_check "bulwark_alerts_raised_total: 3 alerts so far" test "$(mval bulwark_alerts_raised_total)" = 3
bw_check "bulwark_alerts_sent_total{target=\"webhook\"} 3" \
	test "$(mval 'bulwark_alerts_sent_total{target="webhook"}')" = 3
bw_check "bulwark_alerts_sent_total{target=\"syslog\"} 3" \
	test "$(mval 'bulwark_alerts_sent_total{target="syslog"}')" = 3
fams() {
	python3 - "$M" "$abs_top_srcdir/modules/alerts/metrics.list" <<'EOF'
import sys
want = [l.split()[:2] for l in open(sys.argv[2]) if l.strip() and not l.startswith("#")]
got = [l.split()[2:4] for l in open(sys.argv[1]) if l.startswith("# TYPE ")]
mine = [g for g in got if g[0] in dict(want)]
sys.exit(0 if mine == want else print(mine, want) or 1)
EOF
}
bw_check "the scrape has the alerts module's families of metrics.list, typed, in order" fams

# ---- audit mode: would-be denials alert as AUDIT, and pass ----------------------------------------
bw_expect_ok "audit mode lets y/c reach x/d" bw_probe_udp y/c x/d 81
audit() { [ "$(nhook 'y/other x/db 81 UDP INGRESS AUDIT NetworkPolicy x/deny-all')" -ge 1 ]; }
bw_check "an AUDIT alert names the policy that would deny it" bw_wait_for 10 audit

# ---- the webhook is down: retried until it answers ---------------------------------------------------
stop_webhook
datagrams y/c x/a 81 1
retried() { scrape && [ "$(mval bulwark_alerts_webhook_retries_total)" -ge 1 ]; }
bw_check "a POST to a webhook that is down is retried" bw_wait_for 15 retried
start_webhook
delivered() { [ "$(nhook 'y/other x/web 81 UDP INGRESS DROPPED')" -ge 1 ]; }
bw_check "once the webhook is back the alert is delivered" bw_wait_for 20 delivered
bw_check "GET /v1/alerts reports the last error" \
	sh -c "curl -s --unix-socket '$BW_SOCK' http://x/v1/alerts | grep -q '\"last_error\":\"POST http://127.0.0.1:$PORT/alerts: no answer'"

# ---- the rate limit (SIGHUP: rate and burst are reloadable) -------------------------------------------
printf 'rate = 1\nburst = 1\n' >>"$CONF"
scrape
raised0=$(mval bulwark_alerts_raised_total)
limited0=$(mval bulwark_alerts_rate_limited_total)
kill -HUP "$BW_DAEMON_PID"
reloaded() { grep -q 'alerts: reloaded: .* rate 1/s, burst 1' "$BW_DAEMON_LOG"; }
bw_wait_for 5 reloaded
for p in 83 84 85 86 87; do
	datagrams y/c x/a "$p" 1 # five keys: five alerts wanted
done
limited() { scrape && [ "$(mval bulwark_alerts_rate_limited_total)" -ge $((limited0 + 3)) ]; }
bw_check "rate 1/s, burst 1: most of 5 alerts at once are held back and counted" bw_wait_for 10 limited
bw_check "... and at most 2 of them were raised" \
	test "$(($(mval bulwark_alerts_raised_total) - raised0))" -le 2
bw_check "the daemon logged the alerts over the rate limit" \
	bw_wait_for 5 grep -q 'alerts over the rate limit' "$BW_DAEMON_LOG"

bw_stop_daemon

# ---- bad settings are config errors naming the key ----------------------------------------------------
for bad in 'webhook = ftp://example.test/x:webhook' \
	   'syslog_facility = nowhere:syslog_facility'; do
	printf '[daemon]\nmodules = alerts\n[alerts]\n%s\n' "${bad%:*}" >"$BW_TMP/bad.conf"
	bw_expect_output "bulwarkd -n refuses '${bad%:*}' naming the key" \
		"bad.conf:4: \[alerts\] ${bad##*:}" \
		sh -c "\"$BULWARKD\" -n -c '$BW_TMP/bad.conf' -o daemon.module_dir=$(bw_module_dir) 2>&1; test \$? != 0"
done

bw_finish
