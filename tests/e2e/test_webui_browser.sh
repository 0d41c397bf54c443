#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_webui_browser.sh - the web UI in a real headless Chromium
# (Debian's chromium, driven over the DevTools protocol by
# tests/e2e/webui_browser.py; no npm at test time), against the model
# cluster of webui_lib.sh with traffic every second:
#  - the page opens on the service map of all namespaces: every workload
#    and the outside API by name (DOM text), namespaces as groups, each
#    edge coloured by verdict with its counts; a connection made while the
#    page is open appears without a reload; Tab and Enter select a node;
#    the namespace picker narrows the map;
#  - the flow table fills and grows live; the verdict, pod and port filters
#    narrow it; a denied flow's detail names the policy behind the verdict
#    (recorded with the flow, and policy trace now);
#  - selecting a policy highlights exactly the edges it allowed and denied;
#  - exposure, compliance, recommend: their reports when the daemon serves
#    them, else "not available on this daemon";
#  - text contrast at least 4.5:1, labelled controls, no script errors or
#    Content-Security-Policy violations, nothing overflows 1280x800;
#  - off loopback over HTTPS: the page asks for the token, then works.
# Screenshots of every view: tests/e2e/webui-screenshots/ in the build tree.
# Skips (77) only when Chromium cannot run here, saying why.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webui_lib.sh"

bw_init
bw_require_tool jq jq
bw_require_tool openssl openssl
SHOTS=$abs_top_builddir/tests/e2e/webui-screenshots
mkdir -p "$SHOTS"

# Can Chromium start here (in the node's namespace, as root, headless)?
why=$(bw_nsx "$BW_NODE" python3 - "$BW_LIB_DIR" "$BW_TMP/probe-profile" 2>&1 <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
from cdp import Browser
try:
    with Browser(sys.argv[2]) as b:
        p = b.new_page()
        p.goto("about:blank")
except Exception as e:
    print(e)
    sys.exit(1)
EOF
) || bw_skip "Chromium cannot run here: ${why:-unknown reason} (apt-get install chromium)"
rm -rf "$BW_TMP/probe-profile"

webui_start_daemon
webui_cluster
webui_traffic_start

# The adoption routes (docs/adoption.md): what their views must show for
# this cluster when the daemon serves them, else null (the view must say
# it is not available on this daemon).
served() {
	[ "$(webui_curl -o /dev/null -w '%{http_code}' "$WEBUI_URL/api/v1/$1")" != 404 ]
}
adoption='{}'
if served exposure; then
	# shop: default deny ingress everywhere, only frontend may leave
	# unused (cart's egress is enforced, payments uses its API); ops/scanner
	# is open both ways and has only reached the API (the browser test makes
	# that connection before it opens this view)
	adoption=$(jq -n --argjson a "$adoption" '$a + {exposure: {click: null, checks: [
		["ops, open and unused from the world and other namespaces, ranks first",
		 "document.querySelector(\".report table tbody tr\")?.dataset.namespace === \"ops\""],
		["ops: 1 workload reachable from the world, 1 from other namespaces, unused",
		 "(() => { const r = document.querySelector(\"tr[data-namespace=ops]\"); return r && r.querySelector(\"[data-measure=unused_ingress_from_world]\").textContent === \"1\" && r.querySelector(\"[data-measure=unused_ingress_from_other_namespaces]\").textContent === \"1\"; })()"],
		["shop: 1 workload (frontend) can reach the outside, unused; nothing reaches it",
		 "(() => { const r = document.querySelector(\"tr[data-namespace=shop]\"); return r && r.querySelector(\"[data-measure=unused_egress_to_world]\").textContent === \"1\" && r.querySelector(\"[data-measure=unused_ingress_from_world]\").textContent === \"0\" && r.querySelector(\"[data-measure=unused_ingress_from_other_namespaces]\").textContent === \"0\"; })()"],
		["shop/frontend egress to the world is the exposed path",
		 "document.querySelector(\"tr[data-workload=\\\"shop/frontend\\\"] td:nth-child(4)\")?.dataset.state === \"exposed\""]]}}')
else
	bw_log "exposure: not served by this daemon; the view must say so"
fi
if served compliance; then
	adoption=$(jq -n --argjson a "$adoption" '$a + {compliance: {click: null, checks: [
		["ops/scanner, default deny nowhere, comes first",
		 "document.querySelector(\"table tbody tr\")?.dataset.endpoint === \"ops/scanner\""],
		["shop/cart is default-deny at ingress, by shop-default-deny, and denied the scanner",
		 "(() => { const r = document.querySelector(\"tr[data-endpoint=\\\"shop/cart\\\"]\"); return r && r.querySelector(\"[data-direction=ingress]\").textContent === \"yes\" && r.textContent.includes(\"shop-default-deny\") && Number(r.cells[4].textContent.match(/\\d+/)[0]) > 0; })()"],
		["the Markdown export lists the endpoints",
		 "(document.querySelectorAll(\".toolbar button\")[0].click(), document.querySelector(\"textarea[data-format=md]\")?.value.includes(\"| ops/scanner | NO (none)\"))"],
		["the HTML export is a page",
		 "(document.querySelectorAll(\".toolbar button\")[1].click(), document.querySelector(\"textarea[data-format=html]\")?.value.startsWith(\"<!DOCTYPE html>\"))"]]}}')
else
	bw_log "compliance: not served by this daemon; the view must say so"
fi
if served recommend; then
	adoption=$(jq -n --argjson a "$adoption" '$a + {recommend: {click: "form.filters button[type=submit]", checks: [
		["a recommendation is shown as YAML",
		 "document.getElementById(\"rec-yaml\").value.includes(\"kind:\")"],
		["simulating it against history drops nothing that was seen",
		 "(document.querySelector(\"[data-testid=simulate-summary], .simulate-result .loading, .simulate-result .notice\") || document.querySelector(\".recommend-left > .buttons > button\").click(), document.querySelector(\"[data-testid=simulate-summary]\")?.textContent.startsWith(\"0 connections seen would be dropped\"))"]]}}')
else
	bw_log "recommend: not served by this daemon; the view must say so"
fi

# run_browser CONFIG-JSON : the browser script; its PASS/FAIL lines count.
run_browser() {
	local line rc
	printf '%s\n' "$1" >"$BW_TMP/browser.json"
	bw_nsx "$BW_NODE" python3 "$BW_LIB_DIR/webui_browser.py" "$BW_TMP/browser.json" \
		>"$BW_TMP/browser.out" 2>&1 && rc=0 || rc=$?
	if ! grep -q '^# browser: [0-9]* passed' "$BW_TMP/browser.out" ||
	   { [ $rc != 0 ] && ! grep -q '^FAIL: ' "$BW_TMP/browser.out"; }; then
		bw_fail "the browser script ended abnormally (exit $rc)"
	fi
	while IFS= read -r line; do
		case $line in
		"PASS: "*) bw_pass "${line#PASS: }" ;;
		"FAIL: "*) bw_fail "${line#FAIL: }" ;;
		*) printf '# %s\n' "$line" ;;
		esac
	done <"$BW_TMP/browser.out"
}

scanner_ns=$(bw_netns_of ops/scanner)
run_browser "$(jq -n --arg url "$WEBUI_URL" --arg profile "$BW_TMP/profile" --arg shots "$SHOTS" \
	--arg log "$BW_TMP/chromium.log" --arg sns "$scanner_ns" --argjson adoption "$adoption" '{
	url: $url, profile: $profile, shots: $shots, log: $log, phase: "main",
	nodes: ["frontend", "cart", "payments", "scanner", "192.0.2.10/32"],
	namespaces: ["shop", "ops"],
	edges: [
		{source: "shop/frontend", destination: "shop/cart", verdict: "forwarded"},
		{source: "shop/cart", destination: "shop/payments", verdict: "forwarded"},
		{source: "shop/payments", destination: "cidr:192.0.2.10/32", verdict: "forwarded"},
		{source: "shop/frontend", destination: "shop/payments", verdict: "dropped"},
		{source: "ops/scanner", destination: "shop/cart", verdict: "dropped"},
		{source: "shop/cart", destination: "cidr:192.0.2.10/32", verdict: "dropped"}],
	new_edge: {source: "ops/scanner", destination: "cidr:192.0.2.10/32",
		command: ["ip", "netns", "exec", $sns, "socat", "-T", "1", "-", "TCP4:192.0.2.10:443,connect-timeout=1"]},
	picker_namespace: "ops", picker_excluded: "shop/payments",
	denied: {from: "ops/scanner", to: "shop/cart", port: 8080, policy: "shop/shop-default-deny"},
	policy: {kind: "NetworkPolicy", namespace: "shop", name: "frontend-to-cart", allowed: 1, denied: 1},
	policy_count: 4,
	adoption: $adoption}')"

# ---- off loopback: HTTPS and the token ------------------------------------------------
TOKEN=$(webui_tls_material "$BW_TMP")
OFF=$BW_NODE_IP4:9964
bw_restart_daemon -o "webui.assets=$WEBUI_ASSETS" -o "webui.listen=$OFF" \
	-o "webui.tls_cert=$BW_TMP/webui.crt" -o "webui.tls_key=$BW_TMP/webui.key" \
	-o "webui.token_file=$BW_TMP/webui.token"
webui_once
rm -rf "$BW_TMP/profile"
run_browser "$(jq -n --arg url "https://$OFF" --arg profile "$BW_TMP/profile" --arg shots "$SHOTS" \
	--arg log "$BW_TMP/chromium.log" --arg token "$TOKEN" '{
	url: $url, profile: $profile, shots: $shots, log: $log, phase: "token", token: $token,
	flags: ["--ignore-certificate-errors"],
	nodes: ["frontend", "cart", "payments", "scanner"]}')"
bw_log "screenshots: $SHOTS"
bw_finish
