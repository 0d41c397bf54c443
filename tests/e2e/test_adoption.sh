#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_adoption.sh - the first steps of zero-trust adoption, end
# to end in the model cluster: exposure measured from the live policy and
# real traffic, locking the most exposed namespace down, compliance before
# and after default deny, a staged policy reported and not enforced, and
# the metrics that chart it (modules/flowstore, docs/adoption.md).
#
# Cluster: namespaces x, y, z with pods a, b, c each (app labels below; x/a
# and x/b are two replicas of one workload, x/web), TCP servers on 80 and
# UDP on 81 in every pod, and an outside host ext (203.0.113.10) with a TCP
# server on 443. Expected values are exact: the traffic below is all the
# traffic there is.
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bw_init
bw_require_tool curl curl
bw_start_daemon

# ---- the cluster -------------------------------------------------------------
declare -A APP=([x/a]=web [x/b]=web [x/c]=client [y/a]=api [y/b]=worker
	[z/a]=db [z/b]=cache [z/c]=batch)
n=0
for ns in x y z; do
	n=$((n + 1))
	bw namespace set "$ns" >/dev/null || bw_die "namespace set $ns"
	p=10
	for pod in a b c; do
		p=$((p + 1))
		labels=("pod=$pod")
		[ -z "${APP[$ns/$pod]:-}" ] || labels+=("app=${APP[$ns/$pod]}")
		bw_pod_add "$ns" "$pod" "10.244.$n.$p" "${labels[@]}" >/dev/null ||
			bw_die "endpoint add $ns/$pod"
		bw_server_tcp "$ns/$pod" 80
		bw_server_udp "$ns/$pod" 81
	done
done
bw_external_add ext 203.0.113.10
bw_server_tcp ext 443

# jq-free JSON checks: jsonget DOC-FILE PYTHON-EXPRESSION (d is the document)
jsonget() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# expect_json DESC CMD-OUTPUT-FILE EXPR WANT : EXPR (python, d = document)
# evaluates to WANT.
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

# ---- traffic -------------------------------------------------------------------
bw_expect_ok "x/c reaches x/a (same namespace)" bw_probe_tcp x/c x/a 80
bw_expect_ok "y/a reaches x/b (another namespace)" bw_probe_tcp y/a x/b 80
bw_expect_ok "the world (ext) reaches z/a" bw_probe_tcp ext z/a 80
bw_expect_ok "z/b reaches the world (ext:443)" bw_probe_tcp z/b ext 443
bw_expect_ok "x/c reaches the world (ext:443)" bw_probe_tcp x/c ext 443

# ---- exposure before any policy ------------------------------------------------
EXP=$BW_TMP/exposure.json
UNUSED='[(n["namespace"], n["unused_ingress_from_world"], n["unused_ingress_from_other_namespaces"], n["unused_egress_to_world"]) for n in d["namespaces"]]'
exposure_is() {
	bw exposure -o json >"$EXP" 2>/dev/null && [ "$(jsonget "$EXP" "$UNUSED")" = "$1" ]
}
want="[('x', 2, 1, 1), ('y', 3, 3, 3), ('z', 2, 3, 2)]"
if bw_wait_for 5 exposure_is "$want"; then
	bw_pass "exposure without policy: unused paths per namespace are exactly $want"
else
	bw_fail "exposure without policy: expected $want, got $(jsonget "$EXP" "$UNUSED")"
	sed 's/^/#   | /' "$EXP"
fi
WL='sorted((n["namespace"] + "/" + w["name"], [(w[p]["allowed"], w[p]["seen"]) for p in ("ingress_from_world", "ingress_from_other_namespaces", "egress_to_world")]) for n in d["namespaces"] for w in n["workloads"])'
T=True F=False
expect_json "exposure: workloads group pods by namespace and app label, every path allowed, seen where traffic went" \
	"$EXP" "$WL" "[('x/client', [($T, $F), ($T, $F), ($T, $T)]), ('x/web', [($T, $F), ($T, $T), ($T, $F)]), ('y/api', [($T, $F), ($T, $F), ($T, $F)]), ('y/c', [($T, $F), ($T, $F), ($T, $F)]), ('y/worker', [($T, $F), ($T, $F), ($T, $F)]), ('z/batch', [($T, $F), ($T, $F), ($T, $F)]), ('z/cache', [($T, $F), ($T, $F), ($T, $T)]), ('z/db', [($T, $T), ($T, $F), ($T, $F)])]"
bw_expect_output "exposure table ranks y (9 unused paths) first" \
	'^1 +y +3 +3 +3 +3 +9' bw exposure
bw_expect_output "exposure --namespace z shows only z" '^z/db ' bw exposure --namespace z
bw_check_fails "exposure --namespace z has no x workload" \
	sh -c "\"$BULWARK\" -s \"$BW_SOCK\" exposure --namespace z | grep -q '^x/'"

# ---- compliance before: nothing is default-deny -------------------------------------
COMP=$BW_TMP/compliance.json
bw compliance -o json >"$COMP" || bw_die "compliance"
expect_json "compliance without policy: every endpoint, both directions, mode none" \
	"$COMP" 'sorted(set((e[x]["mode"], e[x]["default_deny"]) for e in d["endpoints"] for x in ("ingress", "egress")))' \
	"[('none', False)]"
expect_json "compliance lists the 9 endpoints" "$COMP" 'len(d["endpoints"])' 9

# ---- lock x down: default deny, then what x needs ---------------------------------------
bw_policy_import_text lockdown <<'EOF' >/dev/null || bw_die "policy import"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-y, namespace: x}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}
    ports: [{port: 80, protocol: TCP}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: client-egress, namespace: x}
spec:
  endpointSelector: {matchLabels: {app: client}}
  egress:
  - toCIDR: [203.0.113.0/24]
    toPorts: [{ports: [{port: "443", protocol: TCP}]}]
EOF
bw_expect_ok "y/a still reaches x/web" bw_probe_tcp y/a x/a 80
bw_expect_blocked "z/a no longer reaches x/web" bw_probe_tcp z/a x/a 80
bw_expect_ok "x/c still reaches the world on 443" bw_probe_tcp x/c ext 443
bw_expect_blocked "x/a no longer reaches the world" bw_probe_tcp x/a ext 443

bw exposure -o json >"$EXP" || bw_die "exposure"
expect_json "exposure after the lockdown: x has nothing unused, y and z unchanged" \
	"$EXP" "$UNUSED" "[('x', 0, 0, 0), ('y', 3, 3, 3), ('z', 2, 3, 2)]"
expect_json "exposure after the lockdown: x/web reachable only from other namespaces (by web-from-y), x/client only to the world" \
	"$EXP" '[(w["name"], [w[p]["allowed"] for p in ("ingress_from_world", "ingress_from_other_namespaces", "egress_to_world")]) for n in d["namespaces"] if n["namespace"] == "x" for w in n["workloads"]]' \
	"[('client', [False, False, True]), ('web', [False, True, False])]"
expect_json "exposure names the allowing policies" "$EXP" \
	'[w["ingress_from_other_namespaces"]["policies"] for n in d["namespaces"] for w in n["workloads"] if n["namespace"] == "x" and w["name"] == "web"]' \
	"[['NetworkPolicy x/web-from-y']]"
bw_expect_output "exposure table now ranks x last" '^3 +x +2 +0 +0 +0' bw exposure

# ---- compliance after: x is default-deny, the rest is not, denials counted -----------------
for i in 1 2 3; do
	bw_expect_blocked "z/a's datagram $i to x/b:81 is dropped" bw_probe_udp z/a x/b 81
done
bw compliance -o json >"$COMP" || bw_die "compliance"
expect_json "compliance: unselected endpoints first, then x" "$COMP" \
	'[e["endpoint"] for e in d["endpoints"]]' \
	"['y/a', 'y/b', 'y/c', 'z/a', 'z/b', 'z/c', 'x/a', 'x/b', 'x/c']"
expect_json "compliance: x/a ingress enforced by default-deny and web-from-y" "$COMP" \
	'[(e["ingress"]["default_deny"], e["ingress"]["mode"], sorted(e["ingress"]["policies"])) for e in d["endpoints"] if e["endpoint"] == "x/a"]' \
	"[(True, 'enforce', ['NetworkPolicy x/default-deny', 'NetworkPolicy x/web-from-y'])]"
expect_json "compliance: x/c egress enforced by default-deny and client-egress" "$COMP" \
	'[sorted(e["egress"]["policies"]) for e in d["endpoints"] if e["endpoint"] == "x/c"]' \
	"[['CiliumNetworkPolicy x/client-egress', 'NetworkPolicy x/default-deny']]"
expect_json "compliance: the 3 datagrams dropped at x/b's ingress are counted" "$COMP" \
	'[e["ingress"]["denied"] for e in d["endpoints"] if e["endpoint"] == "x/b"]' "[3]"
expect_json "compliance: y and z stay mode none" "$COMP" \
	'sorted(set(e[x]["mode"] for e in d["endpoints"] if e["endpoint"][0] in "yz" for x in ("ingress", "egress")))' "['none']"
bw_expect_output "compliance table: summary line" \
	'Default deny: ingress 3/9 endpoints \(enforce 3, audit 0\), egress 3/9' bw compliance
bw_expect_output "compliance -o markdown: a report with a table" \
	'^\| x/a \| ingress \| yes \| enforce \| .*NetworkPolicy x/default-deny' \
	bw compliance -o markdown
HTML=$BW_TMP/compliance.html
bw compliance -o html >"$HTML" || bw_die "compliance -o html"
bw_check "compliance -o html: a complete page with the endpoints" \
	sh -c "grep -q '^<!DOCTYPE html>' '$HTML' && grep -q '</html>' '$HTML' && grep -q '<td>x/a</td>' '$HTML'"
bw_check_fails "compliance -o html is self-contained (no script, no external resource)" \
	grep -Eiq '<script|<link|src=|https?://' "$HTML"
bw_expect_output "compliance --namespace y lists only y's endpoints" '^y/a .*' \
	bw compliance --namespace y
bw_check_fails "compliance --namespace y has no x endpoint" \
	sh -c "\"$BULWARK\" -s \"$BW_SOCK\" compliance --namespace y | grep -q '^x/'"
bw_expect_output "compliance --since with a bad value names the argument" \
	"--since: 'yesterday'" sh -c "\"$BULWARK\" -s \"$BW_SOCK\" compliance --since yesterday 2>&1; true"

# ---- a staged policy: reported, not enforced ------------------------------------------------
bw_policy_import_text staged <<'EOF' >/dev/null || bw_die "staged policy import"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-ingress
  namespace: z
  annotations:
    bulwark.io/staged: "true"
spec:
  podSelector: {}
  policyTypes: [Ingress]
EOF
bw_expect_output "policy list marks the staged policy" '^z +deny-ingress .*api \(staged\)' bw policy list
bw_expect_ok "the staged default deny is not enforced: the world still reaches z/a" \
	bw_probe_tcp ext z/a 80
bw_expect_verdict "policy trace (the kernel's state) allows ext -> z/a" ALLOWED \
	--from 203.0.113.10 --to z/a --port 80
staged_flow() {
	bw observe --all --to-pod z/a --from-ip 203.0.113.10 -o json | python3 -c '
import json, sys
ok = False
for line in sys.stdin:
    f = json.loads(line)["flow"]
    s = f.get("extensions", {}).get("staged")
    if s and s["verdict"] == "DROPPED" and [p["name"] for p in s["policies"]] == ["deny-ingress"] and f["verdict"] == "FORWARDED":
        ok = True
sys.exit(0 if ok else 1)'
}
if bw_wait_for 5 staged_flow; then
	bw_pass "the forwarded flow ext -> z/a carries extensions.staged: DROPPED by deny-ingress"
else
	bw_fail "no flow ext -> z/a with extensions.staged DROPPED"
	bw observe --last 10 --to-pod z/a -o json | sed 's/^/#   | /'
fi
bw compliance -o json >"$COMP" || bw_die "compliance"
expect_json "compliance: z/a ingress not default-deny, staged deny-ingress would make it so" "$COMP" \
	'[(e["ingress"]["mode"], e["ingress"]["staged"], e["ingress"]["staged_default_deny"]) for e in d["endpoints"] if e["endpoint"] == "z/a"]' \
	"[('none', ['NetworkPolicy z/deny-ingress'], True)]"
bw_expect_output "compliance table shows the staged policy" '^z/a +none \(staged\) .*NetworkPolicy z/deny-ingress' \
	bw compliance

# ---- metrics ------------------------------------------------------------------------------
M=$BW_TMP/metrics.txt
scrape() {
	bw_nsx "$BW_NODE" curl -sS --max-time 10 -o "$M" http://127.0.0.1:9962/metrics
}
mval() { # mval 'name{labels}' : the sample's value
	awk -v k="$1" '$1 == k { print $2 }' "$M"
}
bw_check "GET /metrics" scrape
for want in \
	'bulwark_exposure_unused_workloads{namespace="y",path="ingress_from_world"} 3' \
	'bulwark_exposure_unused_workloads{namespace="x",path="egress_to_world"} 0' \
	'bulwark_exposure_allowed_workloads{namespace="x",path="ingress_from_other_namespaces"} 1' \
	'bulwark_exposure_workloads{namespace="z"} 3' \
	'bulwark_compliance_endpoints{namespace="x",direction="ingress",mode="enforce"} 3' \
	'bulwark_compliance_endpoints{namespace="y",direction="egress",mode="none"} 3' \
	'bulwark_compliance_staged_endpoints{namespace="z",direction="ingress"} 3'; do
	bw_check "metric: $want" test "$(mval "${want% *}")" = "${want##* }"
done
bw_check "metric: a would-be drop of a staged policy is counted" \
	test "$(mval 'bulwark_staged_verdicts_total{namespace="z",verdict="DROPPED",change="would_drop"}')" -ge 1
fams() {
	python3 - "$M" "$abs_top_srcdir/modules/flowstore/metrics.list" <<'EOF'
import sys
want = [l.split()[:2] for l in open(sys.argv[2]) if l.strip() and not l.startswith("#")]
got = [l.split()[2:4] for l in open(sys.argv[1]) if l.startswith("# TYPE ")]
mine = [g for g in got if g[0] in dict(want)]
if mine != want:
    print("scrape:", mine, "\nlist:", want)
    sys.exit(1)
EOF
}
bw_check "the scrape has the flowstore module's families of metrics.list, typed, in order" fams

# ---- the staged policy, enforced ----------------------------------------------------------
sed -i '/annotations:/d;/bulwark.io\/staged/d' "$BW_TMP/staged.yaml"
bw policy import "$BW_TMP/staged.yaml" >/dev/null || bw_die "re-import without the annotation"
bw_expect_blocked "without the annotation the policy is enforced: ext no longer reaches z/a" \
	bw_probe_tcp ext z/a 80
bw compliance -o json >"$COMP" || bw_die "compliance"
expect_json "compliance: z/a ingress now enforced by deny-ingress, nothing staged" "$COMP" \
	'[(e["ingress"]["mode"], e["ingress"]["policies"], e["ingress"]["staged"]) for e in d["endpoints"] if e["endpoint"] == "z/a"]' \
	"[('enforce', ['NetworkPolicy z/deny-ingress'], [])]"

bw_stop_daemon
bw_finish
