#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_advisor.sh - zero-trust adoption, part 2, end to end in the
# model cluster (modules/advisor, docs/adoption.md): traffic is recorded,
# `recommend` (coarse, then fine) turns it into policies, `simulate` replays
# the history against them, `policy replace` applies them; every connection
# seen still works and unseen ones across namespaces and to the outside are
# blocked, `compliance` shows default deny everywhere; `simulate` reports
# exactly what a candidate drops (or opens) and nothing else; `broad-rules`
# flags an egress to 0.0.0.0/0:443 used for one destination and suggests
# that destination.
#
# Cluster: namespaces shop (frontend, cart, db), pay (api, worker) and mon
# (prom); outside: a client (203.0.113.50), an API the pay worker uses
# (203.0.113.10:443), another one nobody uses (203.0.113.20:443) and a DNS
# server every namespace asks (unbound on 198.51.100.53, dig in the pods:
# once the recommended baseline's DNS rule applies, the DNS proxy answers
# them). tests/e2e/test_advisor_fqdn.sh has the DNS names (toFQDNs).
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
BW_DNS_IP=198.51.100.53
. "$(cd "$(dirname "$0")" && pwd)/fqdn_lib.sh"
bw_init
fqdn_require
bw_require_tool socat socat
bw_require_tool python3 python3
bw_start_daemon

# ---- the cluster -------------------------------------------------------------------
bw namespace set shop >/dev/null && bw namespace set pay >/dev/null &&
	bw namespace set mon >/dev/null || bw_die "namespace set"
bw_pod_add shop frontend 10.244.1.11 app=frontend >/dev/null || bw_die "pod shop/frontend"
bw_pod_add shop cart 10.244.1.12 app=cart >/dev/null || bw_die "pod shop/cart"
bw_pod_add shop db 10.244.1.13 app=db >/dev/null || bw_die "pod shop/db"
bw_pod_add pay api 10.244.2.11 app=api >/dev/null || bw_die "pod pay/api"
bw_pod_add pay worker 10.244.2.12 app=worker >/dev/null || bw_die "pod pay/worker"
bw_pod_add mon prom 10.244.3.11 app=prometheus >/dev/null || bw_die "pod mon/prom"
bw_server_tcp shop/frontend 80 9090
bw_server_tcp shop/cart 8080
bw_server_tcp shop/db 5432
bw_server_tcp pay/api 8443 9090
bw_external_add client 203.0.113.50
bw_external_add extapi 203.0.113.10
bw_external_add extother 203.0.113.20
bw_server_tcp extapi 443
bw_server_tcp extother 443
fqdn_dns_start "shop IN A 203.0.113.50"
# resolves POD : a lookup from POD answered
resolves() {
	[ "$(fqdn_status "$1" shop.example)" = NOERROR ]
}

# jq-free JSON checks: expect_json DESC FILE EXPR WANT (EXPR is python, d the
# document; P(NS) is the recommended policy of namespace NS, "" the baseline)
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
		sed 's/^/#   | /' "$2" | head -60
	fi
}

# ---- traffic: what the cluster does ------------------------------------------------------
observed() {
	bw_probe_tcp client shop/frontend 80 &&     # the shop is public
	bw_probe_tcp shop/frontend shop/cart 8080 &&
	bw_probe_tcp shop/cart shop/db 5432 &&
	bw_probe_tcp shop/cart pay/api 8443 &&      # checkout calls the payment API
	bw_probe_tcp pay/worker extapi 443 &&       # the worker calls an outside API
	bw_probe_tcp mon/prom shop/frontend 9090 && # monitoring scrapes two namespaces
	bw_probe_tcp mon/prom pay/api 9090 &&
	resolves shop/frontend &&                  # and everybody resolves names
	resolves shop/cart &&
	resolves pay/worker &&
	resolves mon/prom
}
bw_check "the cluster's traffic flows before any policy" observed

# the history has it all (the advisor reads the flowstore's history)
history_has() {
	[ "$(bw history -o json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["flows"]))')" -ge "$1" ]
}
bw_wait_for 10 history_has 15 || bw_fail "the history does not have the traffic"

# ---- recommend, coarse -----------------------------------------------------------------
REC=$BW_TMP/rec-coarse.json
COARSE=$BW_TMP/coarse.yaml
bw_check "recommend (coarse) answers" sh -c "\"$BULWARK\" -s \"$BW_SOCK\" recommend -o json >\"$REC\""
bw recommend >"$COARSE" 2>"$BW_TMP/rec.err" || bw_fail "recommend -o yaml"
expect_json "recommend checked every connection seen: all stay allowed, none not covered" "$REC" \
	'(d["verification"]["connections"] == d["verification"]["allowed"] > 0, d["not_covered"])' \
	"(True, [])"
expect_json "recommend: the namespaces are every namespace with endpoints" "$REC" \
	'd["namespaces"]' "['mon', 'pay', 'shop']"
expect_json "recommend: a baseline CiliumClusterwideNetworkPolicy and one CiliumNetworkPolicy per namespace that needs one" "$REC" \
	'[(p["kind"], p["metadata"].get("namespace", ""), p["metadata"]["name"]) for p in d["policies"]]' \
	"[('CiliumClusterwideNetworkPolicy', '', 'bulwark-baseline'), ('CiliumNetworkPolicy', 'mon', 'bulwark-recommended'), ('CiliumNetworkPolicy', 'pay', 'bulwark-recommended'), ('CiliumNetworkPolicy', 'shop', 'bulwark-recommended')]"
expect_json "baseline: default deny both ways for the three namespaces, DNS with rules.dns, the monitoring scraper" "$REC" \
	'(lambda s: (s["endpointSelector"], s["egress"], s["ingress"]))(P("")["specs"][0])' \
	"({'matchExpressions': [{'key': 'io.kubernetes.pod.namespace', 'operator': 'In', 'values': ['mon', 'pay', 'shop']}]}, [{'toCIDR': ['198.51.100.53/32'], 'toPorts': [{'ports': [{'port': '53', 'protocol': 'UDP'}, {'port': '53', 'protocol': 'TCP'}], 'rules': {'dns': [{'matchPattern': '*'}]}}]}], [{'fromEndpoints': [{'matchLabels': {'io.kubernetes.pod.namespace': 'mon', 'app': 'prometheus'}}], 'toPorts': [{'ports': [{'port': '9090', 'protocol': 'TCP'}]}]}])"
expect_json "baseline: everything within each namespace" "$REC" \
	'[(s["endpointSelector"], s["ingress"], s["egress"]) == ({"matchLabels": {"io.kubernetes.pod.namespace": n}}, [{"fromEndpoints": [{"matchLabels": {"io.kubernetes.pod.namespace": n}}]}], [{"toEndpoints": [{"matchLabels": {"io.kubernetes.pod.namespace": n}}]}]) for s, n in zip(P("")["specs"][1:], ["mon", "pay", "shop"])]' \
	"[True, True, True]"
expect_json "shop: the frontend is open to the world on 80, nothing else reaches shop from outside" "$REC" \
	'[(s["endpointSelector"], s.get("ingress")) for s in P("shop")["specs"] if "ingress" in s]' \
	"[({'matchLabels': {'app': 'frontend'}}, [{'fromEntities': ['world'], 'toPorts': [{'ports': [{'port': '80', 'protocol': 'TCP'}]}]}])]"
expect_json "mon: the scraper's egress to the namespaces it scrapes, by namespace and port" "$REC" \
	'[(s["endpointSelector"], s.get("egress")) for s in P("mon")["specs"]]' \
	"[({}, [{'toEndpoints': [{'matchLabels': {'io.kubernetes.pod.namespace': 'pay'}}], 'toPorts': [{'ports': [{'port': '9090', 'protocol': 'TCP'}]}]}, {'toEndpoints': [{'matchLabels': {'io.kubernetes.pod.namespace': 'shop'}}], 'toPorts': [{'ports': [{'port': '9090', 'protocol': 'TCP'}]}]}])]"
expect_json "shop: egress to pay by namespace and port" "$REC" \
	'[(s["endpointSelector"], s.get("egress")) for s in P("shop")["specs"] if "egress" in s]' \
	"[({}, [{'toEndpoints': [{'matchLabels': {'io.kubernetes.pod.namespace': 'pay'}}], 'toPorts': [{'ports': [{'port': '8443', 'protocol': 'TCP'}]}]}])]"
expect_json "pay: the api open to shop (by namespace) on 8443; the namespace's egress to the outside API by address (no name was seen)" "$REC" \
	'[(s["endpointSelector"], s.get("ingress"), s.get("egress")) for s in P("pay")["specs"]]' \
	"[({}, None, [{'toCIDR': ['203.0.113.10/32'], 'toPorts': [{'ports': [{'port': '443', 'protocol': 'TCP'}]}]}]), ({'matchLabels': {'app': 'api'}}, [{'fromEndpoints': [{'matchLabels': {'io.kubernetes.pod.namespace': 'shop'}}], 'toPorts': [{'ports': [{'port': '8443', 'protocol': 'TCP'}]}]}], None)]"
bw_check "every rule of the YAML carries a comment naming the connections behind it" \
	grep -q '^  # 1 connection seen (1 flow):$' "$COARSE"
bw_check "a rule's comment names its flow and count" \
	grep -q '^  #   shop/cart -> pay/api TCP/8443: 1$' "$COARSE"
bw recommend >"$BW_TMP/coarse2.yaml" 2>/dev/null
bw_check "recommend is stable: the same history gives the same YAML" cmp -s "$COARSE" "$BW_TMP/coarse2.yaml"

# ---- simulate the coarse recommendation ---------------------------------------------------------
SIM=$BW_TMP/sim.json
bw simulate -f "$COARSE" --replace -o json >"$SIM" || bw_fail "simulate --replace"
expect_json "simulate: the coarse recommendation drops nothing seen" "$SIM" \
	'(d["newly_dropped"], d["replayed"] > 0)' "([], True)"

# ---- apply: policy replace ------------------------------------------------------------------------
bw policy replace "$COARSE" >/dev/null || bw_die "policy replace (coarse)"
bw_check "after applying the coarse policies every connection seen still works" observed
bw_expect_blocked "unseen across namespaces: pay/worker -> shop/db" bw_probe_tcp pay/worker shop/db 5432
bw_expect_blocked "unseen across namespaces: mon/prom -> shop/cart" bw_probe_tcp mon/prom shop/cart 8080
bw_expect_blocked "unseen to the outside: shop/cart -> extapi:443" bw_probe_tcp shop/cart extapi 443
bw_expect_blocked "unseen to the outside: pay/worker -> extother:443" bw_probe_tcp pay/worker extother 443
bw_expect_blocked "unseen from the outside: client -> pay/api" bw_probe_tcp client pay/api 8443
bw_expect_ok "within a namespace everything is allowed (coarse): shop/frontend -> shop/db" \
	bw_probe_tcp shop/frontend shop/db 5432
COMP=$BW_TMP/compliance.json
bw compliance -o json >"$COMP" || bw_die "compliance"
expect_json "compliance: default deny, enforced, both ways, on every endpoint" "$COMP" \
	'sorted(set((e[x]["default_deny"], e[x]["mode"]) for e in d["endpoints"] for x in ("ingress", "egress")))' \
	"[(True, 'enforce')]"
expect_json "compliance: the baseline makes every endpoint default-deny" "$COMP" \
	'all("CiliumClusterwideNetworkPolicy bulwark-baseline" in e[x]["policies"] for e in d["endpoints"] for x in ("ingress", "egress"))' \
	"True"

# ---- recommend, fine --------------------------------------------------------------------------
FINE=$BW_TMP/fine.yaml
REC=$BW_TMP/rec-fine.json
bw recommend --mode fine -o json >"$REC" || bw_fail "recommend --mode fine"
jsonget "$REC" 'd["yaml"]' >"$FINE"
expect_json "recommend (fine): every connection seen stays allowed" "$REC" \
	'(d["verification"]["connections"] == d["verification"]["allowed"] > 0, d["not_covered"])' \
	"(True, [])"
expect_json "fine: the baseline allows nothing within a namespace" "$REC" \
	'len(P("")["specs"])' 1
expect_json "fine: per-workload rules with workload selectors on both sides (db: cart, and frontend, seen while coarse allowed it)" "$REC" \
	'[(s["endpointSelector"], s.get("ingress")) for s in P("shop")["specs"] if s["endpointSelector"] == {"matchLabels": {"app": "db"}}]' \
	"[({'matchLabels': {'app': 'db'}}, [{'fromEndpoints': [{'matchLabels': {'io.kubernetes.pod.namespace': 'shop', 'app': 'cart'}}], 'toPorts': [{'ports': [{'port': '5432', 'protocol': 'TCP'}]}]}, {'fromEndpoints': [{'matchLabels': {'io.kubernetes.pod.namespace': 'shop', 'app': 'frontend'}}], 'toPorts': [{'ports': [{'port': '5432', 'protocol': 'TCP'}]}]}])]"
bw simulate -f "$FINE" --replace -o json >"$SIM" || bw_fail "simulate fine"
expect_json "simulate: the fine recommendation drops nothing seen" "$SIM" 'd["newly_dropped"]' "[]"
sed "s/^/#   | /" "$FINE"
bw policy replace "$FINE" >/dev/null || bw_die "policy replace (fine)"
bw_check "after applying the fine policies every connection seen still works" observed
bw_expect_blocked "fine: unseen within a namespace is blocked now: shop/db -> shop/cart" \
	bw_probe_tcp shop/db shop/cart 8080
bw_expect_blocked "fine: the pay namespace's outside API only for the worker: pay/api -> extapi" \
	bw_probe_tcp pay/api extapi 443

# ---- simulate: exactly what a candidate drops, and opens ---------------------------------------
cat >"$BW_TMP/deny-cart-db.yaml" <<'EOF'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: deny-cart-db, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: db}}
  ingressDeny:
  - fromEndpoints: [{matchLabels: {app: cart}}]
EOF
bw simulate -f "$BW_TMP/deny-cart-db.yaml" -o json >"$SIM" || bw_fail "simulate deny-cart-db"
expect_json "simulate: a deny of cart -> db drops exactly that connection (at db's ingress), nothing else" "$SIM" \
	'[(x["source"], x["destination"], x["port"], x["protocol"], x["direction"], x["verdict"], x["policies"]) for x in d["newly_dropped"]]' \
	"[('shop/cart', 'shop/db', 5432, 'TCP', 'INGRESS', 'DROPPED', ['CiliumNetworkPolicy shop/deny-cart-db'])]"
expect_json "simulate: it opens nothing" "$SIM" 'd["newly_allowed"]' "[]"
expect_json "simulate JSON: count and last_seen of a connection" "$SIM" \
	'[(x["count"] >= 2, x["last_seen"][:2], x["last_seen"][-1]) for x in d["newly_dropped"]]' "[(True, '20', 'Z')]"
cat >"$BW_TMP/open-db-cart.yaml" <<'EOF'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: db-cart, namespace: shop}
specs:
- endpointSelector: {matchLabels: {app: cart}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: db}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
- endpointSelector: {matchLabels: {app: db}}
  egress:
  - toEndpoints: [{matchLabels: {app: cart}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
EOF
bw simulate -f "$BW_TMP/open-db-cart.yaml" -o json >"$SIM" || bw_fail "simulate db-cart"
expect_json "simulate: allowing db -> cart opens exactly the connection the fine policies dropped (at db's egress, where it was stopped)" "$SIM" \
	'sorted((x["source"], x["destination"], x["port"], x["direction"], x["verdict"], x["policies"]) for x in d["newly_allowed"])' \
	"[('shop/db', 'shop/cart', 8080, 'EGRESS', 'FORWARDED', ['CiliumNetworkPolicy shop/db-cart'])]"
expect_json "simulate: and drops nothing" "$SIM" 'd["newly_dropped"]' "[]"
bw_expect_output "simulate table names the newly dropped connection" '^shop/cart +shop/db +TCP/5432 +INGRESS' \
	bw simulate -f "$BW_TMP/deny-cart-db.yaml"
bw_check_fails "simulate refuses a broken candidate, naming the field" \
	sh -c "printf 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: x, namespace: shop}\nspec: {endpointSelector: {}, ingress: [{fromCIDR: [300.1.1.1/8]}]}\n' | \"$BULWARK\" -s \"$BW_SOCK\" simulate -f - 2>&1 | grep -q 'fromCIDR' && exit 1"

cat >"$BW_TMP/deny-all-in.yaml" <<'EOF'
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: deny-all-in}
spec:
  endpointSelector: {}
  ingressDeny:
  - fromEntities: [all]
EOF
bw simulate -f "$BW_TMP/deny-all-in.yaml" --limit 2 -o json >"$SIM" || bw_fail "simulate --limit 2"
expect_json "simulate --limit 2: the two busiest newly dropped listed, the total counts them all" "$SIM" \
	'(len(d["newly_dropped"]), d["newly_dropped_total"] > 2, d["newly_dropped"][0]["count"] >= d["newly_dropped"][1]["count"])' \
	"(2, True, True)"
bw_expect_output "simulate's table says the lists were cut" "newly dropped and [0-9]+ newly allowed in all" \
	bw simulate -f "$BW_TMP/deny-all-in.yaml" --limit 2
bw_check_fails "simulate --limit refuses what is not a number" \
	sh -c "\"$BULWARK\" -s \"$BW_SOCK\" simulate -f \"$BW_TMP/deny-all-in.yaml\" --limit x 2>/dev/null"

# ---- broad rules --------------------------------------------------------------------------------
bw_policy_replace_text broad <<'EOF' >/dev/null || bw_die "policy replace (broad)"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: worker-https, namespace: pay}
spec:
  endpointSelector: {matchLabels: {app: worker}}
  egress:
  - toCIDR: [0.0.0.0/0]
    toPorts: [{ports: [{port: "443", protocol: TCP}]}]
EOF
bw_expect_ok "with the broad rule the worker reaches its API" bw_probe_tcp pay/worker extapi 443
BR=$BW_TMP/broad.json
bw broad-rules -o json >"$BR" || bw_fail "broad-rules"
expect_json "broad-rules flags egress[0] of pay/worker-https: 0.0.0.0/0 on TCP/443, used for one destination" "$BR" \
	'[(r["policy"], r["rule"], r["allowed"], sorted(set(u["destination"] for u in r["used_by"]))) for r in d["rules"]]' \
	"[('pay/worker-https', 'egress[0]', '0.0.0.0/0 on TCP/443', ['203.0.113.10/32'])]"
jsonget "$BR" 'd["rules"][0]["suggestion"]' >"$BW_TMP/suggestion.yaml"
bw_check "the suggestion names the destination that was used (no DNS name was seen: its address)" \
	grep -q '203.0.113.10/32' "$BW_TMP/suggestion.yaml"
expect_json "the daemon checked the suggestion keeps the use" "$BR" 'd["rules"][0]["suggestion_checked"]' True
bw policy import "$BW_TMP/suggestion.yaml" >/dev/null || bw_fail "the suggestion imports"
bw_expect_ok "with the suggestion the worker still reaches its API" bw_probe_tcp pay/worker extapi 443
bw_expect_blocked "and no longer another outside host on 443" bw_probe_tcp pay/worker extother 443

bw_stop_daemon
bw_finish
