#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_webui.sh - the web UI's listener as a client sees it, in
# the model cluster of webui_lib.sh with real traffic (the browser test is
# test_webui_browser.sh):
#  - the page and its assets, with their security headers; path traversal
#    in every spelling refused, nothing outside the assets ever served;
#  - /api/v1/... answers exactly what the control socket answers (status,
#    map, policies, flows with filters, policy trace), and every error is
#    JSON; no CORS headers;
#  - read-only: policy import is refused (allow_changes off), and only with
#    the UI's header; a foreign Host is refused; follow goes to /api/events;
#  - /api/events streams the cluster's flows as Server-Sent Events, with
#    filters;
#  - off loopback: refused by bulwarkd -n without TLS and a token; with
#    them, HTTPS only, and no token (or a wrong one) is a 401 JSON error;
#    SIGHUP rotates the token; the refusals are counted in the metrics;
#  - allow_changes = true needs a token even on loopback; with it, a policy
#    imported through the UI is enforced.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webui_lib.sh"

bw_init
bw_require_tool jq jq
bw_require_tool curl curl
bw_require_tool openssl openssl
webui_start_daemon
webui_cluster

# reply METHOD PATH [CURL-ARGS...] : "STATUS CONTENT-TYPE" on the first line,
# the headers in $BW_TMP/h, the body in $BW_TMP/b.
reply() {
	local m=$1 p=$2
	shift 2
	webui_curl -X "$m" -D "$BW_TMP/h" -o "$BW_TMP/b" -w '%{http_code} %{content_type}\n' \
		"$@" "$WEBUI_URL$p"
}

# expect_json_error DESC STATUS METHOD PATH [CURL-ARGS...] : a JSON error
# {"error": ...} with that status, and never /etc/passwd's content.
expect_json_error() {
	local desc=$1 want=$2 got
	shift 2
	got=$(reply "$@")
	if [ "${got%% *}" = "$want" ] && [[ $got == *application/json* ]] &&
	   jq -e 'keys == ["error"] and (.error | length > 0)' "$BW_TMP/b" >/dev/null 2>&1 &&
	   ! grep -q 'root:' "$BW_TMP/b"; then
		bw_pass "$desc ($want: $(jq -r .error "$BW_TMP/b"))"
	else
		bw_fail "$desc: expected a $want JSON error, got '$got': $(head -c 300 "$BW_TMP/b")"
	fi
}

# ---- the page ---------------------------------------------------------------------
got=$(reply GET /)
bw_check "GET / is the page ($got)" test "$got" = "200 text/html; charset=utf-8"
bw_check "the page has a Content-Security-Policy allowing only itself" \
	grep -qi "^Content-Security-Policy: default-src 'self';.*script-src 'self'" "$BW_TMP/h"
bw_check "the page names only its own script" grep -q 'src="/assets/app.js"' "$BW_TMP/b"
got=$(reply GET /assets/app.js)
bw_check "its script is served as JavaScript ($got)" test "$got" = "200 text/javascript; charset=utf-8"
bw_check "with nosniff" grep -qi '^X-Content-Type-Options: nosniff' "$BW_TMP/h"

for p in /../../../../etc/passwd /assets/../../../../etc/passwd /%2e%2e/%2e%2e/%2e%2e/etc/passwd \
	/assets/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd /assets/..%2f..%2f..%2f..%2fetc%2fpasswd \
	/.%2e/.%2e/etc/passwd /.SOURCE-DIGEST; do
	expect_json_error "path traversal refused: $p" 403 GET "$p" --path-as-is
done
expect_json_error "a missing file is a JSON 404" 404 GET /nothing.js

# ---- the API: what the control socket says ------------------------------------------
got=$(reply GET /api/v1/status)
bw_check "GET /api/v1/status answers ($got)" test "$got" = "200 application/json"
bw_check "as bulwark status does (same pid and version)" test \
	"$(jq -c '[.pid, .version, .ready]' "$BW_TMP/b")" = "$(bw status -o json | jq -c '[.pid, .version, .ready]')"
reply GET /api/v1/policies >/dev/null
bw_check "GET /api/v1/policies is bulwark policy list's document" test \
	"$(jq -c '[.policies[] | [.namespace, .name, .kind]]' "$BW_TMP/b")" = \
	"$(bw policy list -o json | jq -c '[.[] | [.namespace, .name, .kind]]')"
reply GET /api/v1/map >/dev/null
bw_check "GET /api/v1/map has the cluster's edges and the policies behind them" jq -e '
	any(.edges[]; .source == "ops/scanner" and .destination == "shop/cart" and .dropped > 0 and
		any(.policies[]; .name == "shop-default-deny" and .effect == "default-deny")) and
	any(.edges[]; .source == "shop/frontend" and .destination == "shop/cart" and
		any(.policies[]; .name == "frontend-to-cart" and .effect == "allow"))' "$BW_TMP/b"
got=$(reply GET '/api/v1/flows?number=5&whitelist=%5B%7B%22verdict%22%3A%5B%22DROPPED%22%5D%7D%5D')
bw_check "GET /api/v1/flows streams NDJSON ($got)" test "$got" = "200 application/x-ndjson"
bw_check "five DROPPED flows, hubble-shaped" test \
	"$(jq -r 'select(.flow) | .flow.verdict' "$BW_TMP/b" | sort | uniq -c | tr -s ' ')" = " 5 DROPPED"
reply GET '/api/v1/policy/trace?from=ops/scanner&to=shop/cart&port=8080&protocol=TCP' >/dev/null
bw_check "GET /api/v1/policy/trace names the policy, as bulwark policy trace does" jq -e '
	.verdict == "DENIED" and any(.steps[]; .reason | contains("shop-default-deny"))' "$BW_TMP/b"

# ---- errors are JSON; no CORS; read-only ---------------------------------------------
expect_json_error "an unknown API path is a JSON 404 from the core" 404 GET /api/v1/nonexistent
bw_check "naming the path" grep -q 'no API endpoint at /v1/nonexistent' "$BW_TMP/b"
expect_json_error "a bad filter is the core's JSON 400" 400 GET '/api/v1/flows?whitelist=%5B%7B%22sorce_pod%22%3A1%7D%5D'
expect_json_error "a policy trace with bad input is a JSON 400" 400 GET '/api/v1/policy/trace?from=ops/scanner&to=shop/cart'
expect_json_error "following flows goes to /api/events" 400 GET '/api/v1/flows?follow=true'
expect_json_error "policy import is refused while read-only" 403 POST /api/v1/policies \
	-H 'X-Requested-With: bulwark-webui' --data-binary @"$abs_top_srcdir/tests/e2e/data/shop-policies/10-shop-default-deny.yaml"
bw_check "which says how to allow it" grep -q 'allow_changes = true' "$BW_TMP/b"
expect_json_error "endpoint changes are never allowed" 403 DELETE /api/v1/endpoints/shop/cart \
	-H 'X-Requested-With: bulwark-webui'
bw_check "the endpoint is still there" bw endpoint get shop/cart
expect_json_error "a preflight (CORS) is refused" 405 OPTIONS /api/v1/policies \
	-H 'Origin: http://evil.example' -H 'Access-Control-Request-Method: POST'
bw_check "with no Access-Control-Allow-Origin header" bash -c "! grep -qi '^Access-Control' '$BW_TMP/h'"
reply GET /api/v1/status -H 'Origin: http://evil.example' >/dev/null
bw_check "no CORS header on a cross-origin GET either" bash -c "! grep -qi '^Access-Control' '$BW_TMP/h'"
expect_json_error "a foreign Host is refused (DNS rebinding)" 403 GET /api/v1/status -H 'Host: rebind.example:9963'
expect_json_error "an unknown /api path is a JSON 404" 404 GET /api/nothing
got=$(reply GET /api/ui)
bw_check "/api/ui says read-only, no token ($got)" jq -e '.allow_changes == false and .auth == "none" and .tls == false' "$BW_TMP/b"

# ---- live flows --------------------------------------------------------------------------
webui_traffic_start
webui_curl -N --max-time 4 -o "$BW_TMP/sse" -D "$BW_TMP/sseh" \
	"$WEBUI_URL/api/events?whitelist=%5B%7B%22source_pod%22%3A%5B%22ops%2F%22%5D%7D%5D" || true
bw_check "/api/events is an event stream" grep -qi '^Content-Type: text/event-stream' "$BW_TMP/sseh"
bw_check "that says hello" grep -q '^event: hello' "$BW_TMP/sse"
n=$(grep '^data: {"flow"' "$BW_TMP/sse" | sed 's/^data: //' | jq -r '.flow.source.namespace' | sort -u | tr '\n' ' ')
bw_check "and streams the cluster's flows, filtered to pods of ops ($n)" test "$n" = "ops "

# ---- off loopback: TLS and a token -------------------------------------------------------
TOKEN=$(webui_tls_material "$BW_TMP")
OFF=$BW_NODE_IP4:9964
out=$(bw_nsx "$BW_NODE" "$BULWARKD" -n -c "$(bw_daemon_conf)" -o "daemon.module_dir=$(bw_module_dir)" \
	-o "webui.listen=$OFF" 2>&1) && rc=0 || rc=$?
if [ $rc != 0 ] && [[ $out == *"[webui] listen"*"not a loopback address"*tls_cert*token_file* ]]; then
	bw_pass "bulwarkd -n refuses webui.listen=$OFF without TLS and a token, naming the key"
else
	bw_fail "bulwarkd -n with webui.listen=$OFF: exit $rc: $out"
fi
bw_restart_daemon -o "webui.assets=$WEBUI_ASSETS" -o "webui.listen=$OFF" \
	-o "webui.tls_cert=$BW_TMP/webui.crt" -o "webui.tls_key=$BW_TMP/webui.key" \
	-o "webui.token_file=$BW_TMP/webui.token"
tls() {
	local p=$1
	shift
	webui_curl --cacert "$BW_TMP/webui.crt" -D "$BW_TMP/h" -o "$BW_TMP/b" \
		-w '%{http_code} %{content_type}\n' "$@" "https://$OFF$p"
}
got=$(tls /api/v1/status)
if [ "$got" = "401 application/json" ] && jq -e '.error | contains("Bearer")' "$BW_TMP/b" >/dev/null &&
   grep -qi '^WWW-Authenticate: Bearer' "$BW_TMP/h"; then
	bw_pass "off loopback, no token: 401 JSON with WWW-Authenticate"
else
	bw_fail "off loopback, no token: '$got' $(cat "$BW_TMP/b")"
fi
got=$(tls /api/v1/status -H "Authorization: Bearer ${TOKEN}x")
bw_check "a wrong token: 401 ($got)" test "$got" = "401 application/json"
got=$(tls /api/events -H "Authorization: Bearer $TOKEN" --max-time 2 || true)
bw_check "the live stream needs the token too, and takes it" grep -q '^event: hello' "$BW_TMP/b"
got=$(tls /api/v1/status -H "Authorization: Bearer $TOKEN")
bw_check "the right token over HTTPS (certificate checked): 200 ($got)" test "$got" = "200 application/json"
got=$(tls /)
bw_check "the page itself is served without the token, so it can ask for it ($got)" \
	test "$got" = "200 text/html; charset=utf-8"
# SIGHUP re-reads the token file: a rotated token works at once, the old one no more
openssl rand -hex 24 >"$BW_TMP/webui.token.new"
chmod 600 "$BW_TMP/webui.token.new"
mv "$BW_TMP/webui.token.new" "$BW_TMP/webui.token"
NEW=$(cat "$BW_TMP/webui.token")
kill -HUP "$BW_DAEMON_PID"
rotated() {
	[ "$(tls /api/v1/status -H "Authorization: Bearer $NEW")" = "200 application/json" ] &&
	[ "$(tls /api/v1/status -H "Authorization: Bearer $TOKEN")" = "401 application/json" ]
}
bw_check "SIGHUP rotates the token: the new one works, the old one is refused" bw_wait_for 10 rotated
refused=$(webui_curl http://127.0.0.1:9962/metrics |
	awk '/^bulwark_webui_refused_total\{.*reason="unauthorized"/ {print $2}')
bw_check "bulwark_webui_refused_total counts the refusals ($refused)" test "${refused:-0}" -ge 3
if webui_curl -o /dev/null "http://$OFF/api/v1/status" -H "Authorization: Bearer $NEW" 2>/dev/null; then
	bw_fail "plain HTTP on the TLS listener answered"
else
	bw_pass "plain HTTP gets nothing from the TLS listener"
fi
if ! webui_curl -o /dev/null "$WEBUI_URL/" 2>/dev/null; then
	bw_pass "nothing listens on the loopback default any more"
else
	bw_fail "127.0.0.1:$WEBUI_PORT still answers"
fi

# ---- allow_changes: the UI imports a policy, and it is enforced ---------------------------
out=$(bw_nsx "$BW_NODE" "$BULWARKD" -n -c "$(bw_daemon_conf)" -o "daemon.module_dir=$(bw_module_dir)" \
	-o webui.allow_changes=true 2>&1) && rc=0 || rc=$?
if [ $rc != 0 ] && [[ $out == *"[webui] allow_changes"*token_file* ]]; then
	bw_pass "bulwarkd -n refuses allow_changes without a token, even on loopback"
else
	bw_fail "bulwarkd -n with allow_changes and no token: exit $rc: $out"
fi
bw_restart_daemon -o "webui.assets=$WEBUI_ASSETS" -o webui.allow_changes=true \
	-o "webui.token_file=$BW_TMP/webui.token"
AUTH="Authorization: Bearer $(cat "$BW_TMP/webui.token")"
bw_expect_ok "before: ops/scanner reaches the outside API" bw_probe_tcp ops/scanner api 443
cat >"$BW_TMP/ops.yaml" <<'EOF'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: scanner-lockdown
  namespace: ops
spec:
  endpointSelector:
    matchLabels: {app: scanner}
  egress:
  - toEndpoints:
    - matchLabels: {app: scanner}
EOF
expect_json_error "with allow_changes, an import needs the token" 401 POST /api/v1/policies \
	-H 'X-Requested-With: bulwark-webui' --data-binary @"$BW_TMP/ops.yaml"
expect_json_error "and the UI's header" 403 POST /api/v1/policies -H "$AUTH" \
	--data-binary @"$BW_TMP/ops.yaml"
got=$(reply POST '/api/v1/policies?source=webui' -H "$AUTH" -H 'X-Requested-With: bulwark-webui' \
	-H "Origin: $WEBUI_URL" --data-binary @"$BW_TMP/ops.yaml")
bw_check "with allow_changes, the UI imports a policy ($got)" jq -e '.changed == 1' "$BW_TMP/b"
bw_expect_output "bulwark policy list shows it" 'ops +scanner-lockdown' bw policy list
bw_expect_blocked "and it is enforced: ops/scanner no longer reaches the outside API" \
	bw_probe_tcp ops/scanner api 443
bw_finish
