#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_advisor_fqdn.sh - the adoption workflow with real DNS
# (modules/advisor, docs/adoption.md; unbound authoritative for example.,
# dig in the pods, the DNS proxy of docs/fqdn.md):
#   - before any policy the DNS proxy sees nothing: recommend (coarse)
#     opens the outside API by address (toCIDR: no name was seen) and
#     gives every namespace DNS with rules.dns;
#   - once the coarse policies are applied, the pods' lookups go through
#     the proxy and the names are learned: recommend (fine) opens the API
#     by name (toFQDNs matchName api.example, port 443), and its own check
#     (the history replayed through a candidate resolver with FQDN
#     identities of its own) keeps every connection seen;
#   - applied, the worker reaches api.example after a lookup and not
#     other.example, which it never used;
#   - simulate of the fine set against the coarse one drops nothing seen;
#   - broad-rules flags an egress to 0.0.0.0/0 on 443 used for one name
#     and suggests that name (toFQDNs); the suggestion, imported, keeps the
#     API and blocks the other host;
#   - the control API routes answer the same documents as the CLI.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fqdn_lib.sh"

bw_init
fqdn_require
bw_require_tool socat socat
bw_require_tool python3 python3
bw_require_tool curl curl
bw_start_daemon

fqdn_dns_start "api IN A 198.51.100.10
other IN A 198.51.100.15"
fqdn_web_start 198.51.100.10 198.51.100.15
bw_bg "$FQDN_WEB_NS" socat "TCP4-LISTEN:443,fork,reuseaddr" "SYSTEM:echo ok"
bw_wait_listen "$FQDN_WEB_NS" tcp 443

bw namespace set pay >/dev/null && bw namespace set shop >/dev/null || bw_die "namespace set"
bw_pod_add pay worker 10.244.2.12 app=worker >/dev/null || bw_die "pod pay/worker"
bw_pod_add pay api 10.244.2.11 app=api >/dev/null || bw_die "pod pay/api"
bw_pod_add shop cart 10.244.1.12 app=cart >/dev/null || bw_die "pod shop/cart"
bw_server_tcp pay/api 8443

# resolve_and_probe POD NAME IP PORT : the lookup succeeds, then the
# connection to the address it gave does
resolve_and_probe() {
	[ "$(fqdn_dig "$1" "$2")" = "NOERROR $3" ] && bw_probe_tcp "$1" "$3" "$4"
}
observed() {
	resolve_and_probe pay/worker api.example 198.51.100.10 443 &&
		bw_probe_tcp shop/cart pay/api 8443
}

jsonget() {
	python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
P=lambda ns: [p for p in d.get("policies", []) if p["metadata"].get("namespace", "") == ns][0]
print(eval(sys.argv[2]))' "$1" "$2"
}
expect_json() {
	local got
	got=$(jsonget "$2" "$3" 2>&1)
	if [ "$got" = "$4" ]; then
		bw_pass "$1"
	else
		bw_fail "$1: expected $4, got '$got' ($3)"
		sed 's/^/#   | /' "$2" | head -80
	fi
}
history_has() {
	[ "$(bw history -o json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["flows"]))')" -ge "$1" ]
}

# ---- record: no policy, so the DNS proxy is not in the path yet -----------------
bw_check "the traffic flows before any policy (the worker resolves api.example itself)" observed
bw_wait_for 10 history_has 4 || bw_fail "the history does not have the traffic"

REC=$BW_TMP/rec-coarse.json
COARSE=$BW_TMP/coarse.yaml
bw recommend -o json >"$REC" || bw_die "recommend -o json"
jsonget "$REC" 'd["yaml"]' >"$COARSE"
expect_json "coarse: every connection seen stays allowed" "$REC" \
	'(d["verification"]["connections"] == d["verification"]["allowed"] > 0, d["not_covered"])' "(True, [])"
expect_json "coarse: no name was seen yet, so the outside API is opened by address" "$REC" \
	'[e for s in P("pay")["specs"] for e in s.get("egress", [])]' \
	"[{'toCIDR': ['198.51.100.10/32'], 'toPorts': [{'ports': [{'port': '443', 'protocol': 'TCP'}]}]}]"
expect_json "coarse: the baseline gives DNS with rules.dns (so the proxy learns names)" "$REC" \
	'P("")["specs"][0]["egress"]' \
	"[{'toCIDR': ['192.0.2.53/32'], 'toPorts': [{'ports': [{'port': '53', 'protocol': 'UDP'}, {'port': '53', 'protocol': 'TCP'}], 'rules': {'dns': [{'matchPattern': '*'}]}}]}]"

bw policy replace "$COARSE" >/dev/null || bw_die "policy replace (coarse)"
bw_check "coarse applied: every connection seen still works (now through the DNS proxy)" observed
bw_expect_blocked "coarse: an outside host never used is blocked: pay/worker -> 198.51.100.15:443" \
	bw_probe_tcp pay/worker 198.51.100.15 443
names_learned() {
	bw fqdn cache -o json 2>/dev/null | grep -q '"api.example'
}
bw_wait_for 10 names_learned || bw_fail "the FQDN cache has api.example"

# ---- history: an outside peer by the name the node knows for it ---------------------
HIST=$BW_TMP/history.json
bw history -o json >"$HIST" 2>&1
expect_json "history names the worker's outside peer api.example, keeping its address" "$HIST" \
	'sorted(set((f["source"], f["destination"], f.get("destination_address"), f["port"]) for f in d["flows"] if f.get("destination_address") == "198.51.100.10/32"))' \
	"[('pay/worker', 'api.example', '198.51.100.10/32', 443)]"
bw_expect_output "the history table shows the name" 'pay/worker +api\.example +443' bw history

# ---- recommend (fine): the name the proxy learned ---------------------------------
REC=$BW_TMP/rec-fine.json
FINE=$BW_TMP/fine.yaml
bw recommend --mode fine -o json >"$REC" || bw_die "recommend --mode fine"
jsonget "$REC" 'd["yaml"]' >"$FINE"
expect_json "fine: the worker's egress to the outside API by name and port (toFQDNs)" "$REC" \
	'[(s["endpointSelector"], s.get("egress")) for s in P("pay")["specs"] if s["endpointSelector"] == {"matchLabels": {"app": "worker"}}]' \
	"[({'matchLabels': {'app': 'worker'}}, [{'toFQDNs': [{'matchName': 'api.example'}], 'toPorts': [{'ports': [{'port': '443', 'protocol': 'TCP'}]}]}])]"
expect_json "fine: checked by replaying the history through it (FQDN identities of the candidate): all stay allowed" "$REC" \
	'(d["verification"]["connections"] == d["verification"]["allowed"] > 0, d["not_covered"])' "(True, [])"
bw_check "fine: the rule's comment names the flow by its DNS name" \
	grep -qE '^ *#   pay/worker -> api.example TCP/443: [0-9]+$' "$FINE"
SIM=$BW_TMP/sim.json
bw simulate -f "$FINE" --replace -o json >"$SIM" || bw_fail "simulate fine --replace"
expect_json "simulate: the fine set drops nothing seen" "$SIM" '(d["newly_dropped"], d["replayed"] > 0)' "([], True)"
bw policy replace "$FINE" >/dev/null || bw_die "policy replace (fine)"
bw_check "fine applied: every connection seen still works" observed
bw_expect_blocked "fine: other.example resolves but its address is blocked" \
	resolve_and_probe pay/worker other.example 198.51.100.15 443
bw_expect_blocked "fine: the api workload does not get the worker's outside API" \
	bw_probe_tcp pay/api 198.51.100.10 443

# simulate: a candidate that takes the name away drops exactly that
cat >"$BW_TMP/no-api.yaml" <<'EOF'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: no-api, namespace: pay}
spec:
  endpointSelector: {matchLabels: {app: worker}}
  egressDeny:
  - toCIDR: [198.51.100.10/32]
EOF
bw simulate -f "$BW_TMP/no-api.yaml" -o json >"$SIM" || bw_fail "simulate no-api"
expect_json "simulate: denying the API's address drops exactly the worker's connections to api.example" "$SIM" \
	'[(x["source"], x["destination"], x["destination_address"], x["port"], x["direction"]) for x in d["newly_dropped"]]' \
	"[('pay/worker', 'api.example', '198.51.100.10/32', 443, 'EGRESS')]"
expect_json "simulate: and opens nothing" "$SIM" 'd["newly_allowed"]' "[]"

# ---- broad rules: 0.0.0.0/0 on 443 used for one name -----------------------------
python3 - "$REC" >"$BW_TMP/broad.yaml" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print("""apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: worker-https, namespace: pay}
spec:
  endpointSelector: {matchLabels: {app: worker}}
  egress:
  - toCIDR: [0.0.0.0/0]
    toPorts: [{ports: [{port: "443", protocol: TCP}]}]""")
print("---")  # the baseline (JSON is YAML)
print(json.dumps([p for p in d["policies"] if p["kind"] == "CiliumClusterwideNetworkPolicy"][0]))
EOF
bw policy replace "$BW_TMP/broad.yaml" >/dev/null || bw_die "policy replace (broad)"
bw_check "with the broad rule the worker reaches api.example" \
	resolve_and_probe pay/worker api.example 198.51.100.10 443
api_get() {
	curl -sf --unix-socket "$BW_SOCK" "http://bulwark$1"
}
BR=$BW_TMP/broad.json
api_get "/v1/broad-rules" >"$BR" || bw_fail "GET /v1/broad-rules"
expect_json "GET /v1/broad-rules: egress[0] of pay/worker-https, 0.0.0.0/0 on TCP/443, used for one name" "$BR" \
	'[(r["policy"], r["rule"], r["allowed"], sorted(set(u["destination"] for u in r["used_by"]))) for r in d["rules"]]' \
	"[('pay/worker-https', 'egress[0]', '0.0.0.0/0 on TCP/443', ['api.example'])]"
expect_json "the suggestion is that name (toFQDNs matchName api.example), checked by the daemon to keep the use" "$BR" \
	'("toFQDNs" in d["rules"][0]["suggestion"], "matchName: api.example" in d["rules"][0]["suggestion"], "other.example" in d["rules"][0]["suggestion"], d["rules"][0]["suggestion_checked"])' \
	"(True, True, False, True)"
jsonget "$BR" 'd["rules"][0]["suggestion"]' >"$BW_TMP/suggestion.yaml"
bw_expect_ok "with the broad rule the worker reaches other.example too" \
	resolve_and_probe pay/worker other.example 198.51.100.15 443
other_used() {
	bw broad-rules -o json >"$BR" 2>/dev/null &&
		[ "$(jsonget "$BR" 'sorted(set(u["destination"] for r in d["rules"] for u in r["used_by"]))')" = "['api.example', 'other.example']" ]
}
bw_wait_for 10 other_used && bw_pass "broad-rules: then the rule is used for two names" ||
	bw_fail "broad-rules does not list other.example's use: $(cat "$BR")"
bw policy import "$BW_TMP/suggestion.yaml" >/dev/null || bw_fail "the first suggestion imports"
bw_check "with it the worker still reaches api.example" \
	resolve_and_probe pay/worker api.example 198.51.100.10 443
bw_expect_blocked "and no longer other.example" \
	resolve_and_probe pay/worker other.example 198.51.100.15 443

api_get "/v1/recommend?namespace=pay&mode=fine" >"$REC" || bw_fail "GET /v1/recommend"
expect_json "GET /v1/recommend?namespace=pay&mode=fine: the document, for pay" "$REC" \
	'(d["mode"], d["namespaces"], [p["kind"] for p in d["policies"]])' \
	"('fine', ['pay'], ['CiliumClusterwideNetworkPolicy', 'CiliumNetworkPolicy'])"
curl -sf --unix-socket "$BW_SOCK" --data-binary @"$BW_TMP/no-api.yaml" \
	"http://bulwark/v1/simulate" >"$SIM" || bw_fail "POST /v1/simulate"
expect_json "POST /v1/simulate: newly_dropped and newly_allowed as the CLI shows them" "$SIM" \
	'([(x["source"], x["destination"], x["port"], x["protocol"], x["count"] >= 1, x["last_seen"][-1]) for x in d["newly_dropped"]], d["newly_allowed"])' \
	"([('pay/worker', 'api.example', 443, 'TCP', True, 'Z')], [])"
bw_expect_output "a bad mode is refused, naming it" "coarse or fine" \
	sh -c "curl -s --unix-socket \"$BW_SOCK\" 'http://bulwark/v1/recommend?mode=medium'"

bw_stop_daemon
bw_finish
