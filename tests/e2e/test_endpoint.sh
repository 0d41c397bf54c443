#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_endpoint.sh - endpoints, namespaces and identities through
# the CLI, as a user drives them: add, update, delete, list; namespace
# labels re-labelling their endpoints; identities shared by equal label
# sets; every bad input refused with a clear message and a non-zero exit
# while nothing changes; and a daemon restart that restores the same
# endpoints with the same ids and identity numbers.

. "${abs_top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/e2e/lib.sh"

bw_require_tool python3 python3

# jq-like: jget JSON-TEXT PYTHON-EXPR (the document is `d`).
jget() {
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

# ep_field NS/POD FIELD : a field of one endpoint in `endpoint list -o json`.
ep_field() {
	local out
	out=$(bw endpoint list -o json) || return 1
	jget "$out" "[e for e in d['endpoints'] if e['namespace']+'/'+e['pod']=='$1'][0]['$2']"
}

# ipcache_has PREFIX : the pinned IPv4 ipcache holds exactly this prefix.
ipcache_has() {
	bpftool -j map dump pinned "$BW_BPFFS/bw_ipcache4" | python3 -c '
import ipaddress, json, sys
want = ipaddress.ip_network(sys.argv[1])
for e in json.load(sys.stdin):
    k = bytes(int(b, 16) for b in e["key"])
    plen = int.from_bytes(k[0:4], "little")
    if ipaddress.ip_network((bytes(k[4:8]), plen)) == want:
        sys.exit(0)
sys.exit(1)' "$1"
}

# snapshot : everything a bad request must leave alone.
snapshot() {
	bw endpoint list -o json
	bw namespace list -o json
	bw identity list -o json
	cat "$BW_STATE/endpoints.json" "$BW_STATE/endpoints.json.journal" 2>/dev/null | md5sum
}

# refused DESC REGEX CMD... : CMD must exit non-zero, print a message
# matching REGEX, and change nothing.
refused() {
	local desc=$1 re=$2 before after out rc
	shift 2
	before=$(snapshot)
	out=$("$@" 2>&1)
	rc=$?
	after=$(snapshot)
	if [ $rc -eq 0 ]; then
		bw_fail "$desc: '$*' succeeded"
	elif ! printf '%s\n' "$out" | grep -Eq -- "$re"; then
		bw_fail "$desc: expected a message matching /$re/, got:"
		printf '%s\n' "$out" | sed 's/^/#   | /'
	elif [ "$before" != "$after" ]; then
		bw_fail "$desc: state changed although the command failed"
		diff <(echo "$before") <(echo "$after") | sed 's/^/#   | /'
	else
		bw_pass "$desc (exit $rc: $(printf '%s' "$out" | head -n 1))"
	fi
}

bw_init
# Pods first, registered through the CLI below.
bw_pod_add x a 10.1.0.1 fd00:1::1
bw_pod_add x b 10.1.0.2
bw_pod_add y c 10.2.0.1
bw_pod_add y d 10.2.0.2
bw_pod_add x e 10.1.0.5
IF_A=${BW_IF_OF[x/a]}
IF_B=${BW_IF_OF[x/b]}
IF_C=${BW_IF_OF[y/c]}
IF_D=${BW_IF_OF[y/d]}
IF_E=${BW_IF_OF[x/e]}
bw_start_daemon

# ---- add -------------------------------------------------------------------
bw_expect_output "endpoint add x/a" "endpoint x/a added: id [1-9][0-9]*, identity 256" \
	bw endpoint add x/a --host-ifname "$IF_A" --ip 10.1.0.1 --ip fd00:1::1 \
	--label app=web --label pod-template-hash=abc123 --named-port http=80/TCP
bw_expect_output "endpoint add x/b (same labels)" "endpoint x/b added" \
	bw endpoint add x/b --host-ifname "$IF_B" --ip 10.1.0.2 --label app=web
bw_expect_output "endpoint add y/c" "endpoint y/c added" \
	bw endpoint add y/c --host-ifname "$IF_C" --ip 10.2.0.1 --label app=web

ID_A=$(ep_field x/a identity)
ID_B=$(ep_field x/b identity)
ID_C=$(ep_field y/c identity)
EPID_A=$(ep_field x/a id)
EPID_B=$(ep_field x/b id)
EPID_C=$(ep_field y/c id)
bw_check "equal label sets share an identity ($ID_A)" [ "$ID_A" = "$ID_B" ]
bw_check "another namespace gives another identity ($ID_C)" [ "$ID_C" != "$ID_A" ]
bw_check "identities are global-scope numbers >= 256" [ "$ID_A" -ge 256 -a "$ID_C" -ge 256 ]
bw_check "endpoint ids are distinct and non-zero" \
	[ "$EPID_A" -gt 0 -a "$EPID_B" -gt 0 -a "$EPID_C" -gt 0 -a "$EPID_A" != "$EPID_B" -a "$EPID_C" != "$EPID_B" -a "$EPID_C" != "$EPID_A" ]

OUT=$(bw endpoint list -o json)
IDL=$(jget "$OUT" "sorted([e for e in d['endpoints'] if e['pod']=='a'][0]['identity_labels'])")
bw_check "identity labels are Cilium's" [ "$IDL" = "['k8s:app=web', 'k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=x', 'k8s:io.cilium.k8s.policy.cluster=default', 'k8s:io.kubernetes.pod.namespace=x']" ]
INFO=$(jget "$OUT" "[e for e in d['endpoints'] if e['pod']=='a'][0]['information_labels']")
bw_check "pod-template-hash is an information label" [ "$INFO" = "['k8s:pod-template-hash=abc123']" ]
bw_check "x/a has both addresses" \
	[ "$(jget "$OUT" "[e for e in d['endpoints'] if e['pod']=='a'][0]['ips']")" = "['10.1.0.1', 'fd00:1::1']" ]
bw_check "x/a has its named port" \
	[ "$(jget "$OUT" "[(p['name'],p['port'],p['protocol']) for p in [e for e in d['endpoints'] if e['pod']=='a'][0]['named_ports']]")" = "[('http', 80, 'TCP')]" ]
bw_expect_output "endpoint list shows x/a" "x/a +$IF_A +10.1.0.1,fd00:1::1 +$ID_A +off +app=web" \
	bw endpoint list
bw_expect_output "identity list shows the shared identity with 2 refs" "^$ID_A +global +2 +k8s:app=web" \
	bw identity list
bw_expect_output "identity list shows reserved:world as 2" "^2 +reserved +0 +reserved:world" \
	bw identity list
OUT=$(bw identity list -o json)
bw_check "identity 7 is kube-apiserver + remote-node" \
	[ "$(jget "$OUT" "[i['labels'] for i in d['identities'] if i['id']==7][0]")" = "['reserved:kube-apiserver', 'reserved:remote-node']" ]

# The endpoints pass traffic (no policy: everything allowed) once added.
bw_server_tcp x/a 80
bw_expect_ok "x/b reaches x/a after endpoint add" bw_probe_tcp x/b x/a 80
bw_expect_ok "y/c reaches x/a after endpoint add" bw_probe_tcp y/c x/a 80

# ---- bad input: refused, nothing changes -------------------------------------
refused "a second x/a is a conflict" "already exists" \
	bw endpoint add x/a --host-ifname "$IF_D" --ip 10.2.0.2
refused "an address of another endpoint is a conflict" "10.1.0.1 belongs to endpoint x/a" \
	bw endpoint add y/d --host-ifname "$IF_D" --ip 10.1.0.1
refused "an IPv6 address of another endpoint is a conflict" "fd00:1::1 belongs to endpoint x/a" \
	bw endpoint add y/d --host-ifname "$IF_D" --ip 10.2.0.2 --ip fd00:1::1
refused "an interface of another endpoint is a conflict" "belongs to endpoint x/a" \
	bw endpoint add y/d --host-ifname "$IF_A" --ip 10.2.0.2
refused "a node address is refused" "address of the node" \
	bw endpoint add y/d --host-ifname "$IF_D" --ip 10.0.0.1
refused "an unknown interface is refused" "no interface \"nosuchif0\"" \
	bw endpoint add y/d --host-ifname nosuchif0 --ip 10.2.0.2
refused "a bad address is refused" "\"10.2.0.256\" is not an IPv4 or IPv6 address" \
	bw endpoint add y/d --host-ifname "$IF_D" --ip 10.2.0.256
refused "a bad namespace name is refused" "namespace: \"Y_1\" is not a valid DNS label" \
	bw endpoint add Y_1/d --host-ifname "$IF_D" --ip 10.2.0.2
refused "a bad label key is refused" "label key \"-app\"" \
	bw endpoint add y/d --host-ifname "$IF_D" --ip 10.2.0.2 --label -app=x
refused "a bad label value is refused" "label value \"a b\"" \
	bw endpoint add y/d --host-ifname "$IF_D" --ip 10.2.0.2 --label "app=a b"
refused "a spoofed namespace label is refused" "is reserved" \
	bw endpoint add y/d --host-ifname "$IF_D" --ip 10.2.0.2 --label io.kubernetes.pod.namespace=x
refused "a bad named-port protocol is refused" "protocol \"ICMP\" is not one of TCP, UDP, SCTP" \
	bw endpoint add y/d --host-ifname "$IF_D" --ip 10.2.0.2 --named-port dns=53/ICMP
refused "a bad named-port number is refused" "port \"99999\" is not a number" \
	bw endpoint add y/d --host-ifname "$IF_D" --ip 10.2.0.2 --named-port dns=99999/UDP
refused "add without --ip is a usage error" "at least one --ip" \
	bw endpoint add y/d --host-ifname "$IF_D"
refused "add without NS/POD is a usage error" "is not NAMESPACE/POD" \
	bw endpoint add d --host-ifname "$IF_D" --ip 10.2.0.2
refused "a label without = is a usage error" "is not KEY=VALUE" \
	bw endpoint add y/d --host-ifname "$IF_D" --ip 10.2.0.2 --label app
refused "--audit takes on|off" "--audit takes on or off" \
	bw endpoint add y/d --host-ifname "$IF_D" --ip 10.2.0.2 --audit maybe
refused "update of an unknown endpoint is 404" "no endpoint x/zzz" \
	bw endpoint update x/zzz --label app=web
refused "update with a bad label changes nothing" "label value \"a b\"" \
	bw endpoint update x/a --label "app=a b"
refused "delete of an unknown endpoint is 404" "no endpoint x/zzz" \
	bw endpoint delete x/zzz
refused "namespace name label must match" "kubernetes.io/metadata.name must be \"x\"" \
	bw namespace set x --label kubernetes.io/metadata.name=y
refused "namespace with a bad name" "not a valid DNS label" \
	bw namespace set Bad_ns --label team=blue
bw_expect_ok "x/b still reaches x/a after the refused requests" bw_probe_tcp x/b x/a 80

# ---- update --------------------------------------------------------------------
bw_expect_output "endpoint update x/b" "endpoint x/b updated" \
	bw endpoint update x/b --label app=db
ID_B2=$(ep_field x/b identity)
bw_check "relabelled x/b gets a new identity ($ID_B2)" [ "$ID_B2" != "$ID_A" ]
bw_check "x/a keeps its identity" [ "$(ep_field x/a identity)" = "$ID_A" ]
bw_check "x/b keeps its endpoint id" [ "$(ep_field x/b id)" = "$EPID_B" ]
OUT=$(bw identity list -o json)
bw_check "the shared identity now has one reference" \
	[ "$(jget "$OUT" "[i['refs'] for i in d['identities'] if i['id']==$ID_A][0]")" = 1 ]
bw_expect_output "endpoint update --audit on" "endpoint x/a updated" \
	bw endpoint update x/a --label app=web --label pod-template-hash=abc123 --audit on
bw_check "x/a is in audit mode" [ "$(ep_field x/a audit)" = True ]
bw_check "audit does not change the identity" [ "$(ep_field x/a identity)" = "$ID_A" ]
bw_check "update with only --audit" bw endpoint update y/c --audit on
bw_check "... keeps y/c's labels" [ "$(ep_field y/c labels)" = "{'app': 'web'}" ]
bw_check "... and its identity" [ "$(ep_field y/c identity)" = "$ID_C" ]
bw_check "... and sets its audit mode" [ "$(ep_field y/c audit)" = True ]
bw_expect_ok "x/b (relabelled) reaches x/a" bw_probe_tcp x/b x/a 80

# ---- namespaces --------------------------------------------------------------------
bw_expect_output "namespace set x" "namespace x set: 2 endpoints" \
	bw namespace set x --label team=blue
ID_A3=$(ep_field x/a identity)
bw_check "namespace labels give x/a a new identity" [ "$ID_A3" != "$ID_A" ]
bw_check "namespace labels give x/b a new identity" [ "$(ep_field x/b identity)" != "$ID_B2" ]
bw_check "y/c is not relabelled" [ "$(ep_field y/c identity)" = "$ID_C" ]
OUT=$(bw endpoint list -o json)
bw_check "x/a carries the namespace label" \
	[ "$(jget "$OUT" "'k8s:io.cilium.k8s.namespace.labels.team=blue' in [e for e in d['endpoints'] if e['pod']=='a'][0]['identity_labels']")" = True ]
bw_expect_output "namespace list" "^x +2 +off +kubernetes.io/metadata.name=x,team=blue" \
	bw namespace list
bw_expect_output "namespace set y --audit on" "namespace y set: 1 endpoints" \
	bw namespace set y --audit on
bw_check "y/c shows the namespace's audit mode" [ "$(ep_field y/c namespace_audit)" = True ]
bw_check "namespace audit alone keeps y/c's identity" [ "$(ep_field y/c identity)" = "$ID_C" ]

# ---- policy follows endpoints and labels --------------------------------------------
# x/e serves before it is registered; once `endpoint add` returns, the
# policy selecting it must already hold for the first connection.
bw_server_tcp x/e 80
bw_check "a policy for app=secure is imported" bw_policy_import_text secure-from-web <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: secure-from-web
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      app: secure
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: web
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
YAML
bw_expect_output "endpoint add x/e (app=secure)" "endpoint x/e added" \
	bw endpoint add x/e --host-ifname "$IF_E" --ip 10.1.0.5 --label app=secure
bw_expect_blocked "x/b (app=db) is denied by the policy right after the add" bw_probe_tcp x/b x/e 80
bw_expect_ok "x/a (app=web) is allowed by the policy" bw_probe_tcp x/a x/e 80
bw_expect_blocked "y/c (app=web, other namespace) is denied" bw_probe_tcp y/c x/e 80
bw_check "x/b relabelled app=web" bw endpoint update x/b --label app=web
bw_expect_ok "relabelled x/b is allowed at once" bw_probe_tcp x/b x/e 80
bw_check "x/b relabelled app=db again" bw endpoint update x/b --label app=db
bw_expect_blocked "x/b (app=db again) is denied at once" bw_probe_tcp x/b x/e 80

# ---- CIDR identities: node-local, Cilium's labels, owned by the policy -------------------
bw_check "a policy with CIDR peers is imported" bw_policy_import_text cidr-peers <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: cidr-peers
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      app: nobody
  egress:
  - toCIDR:
    - 192.0.2.0/24
    - 2001:db8::/32
YAML
OUT=$(bw identity list -o json)
CIDR4=$(jget "$OUT" "[i['id'] for i in d['identities'] if 'cidr:192.0.2.0/24' in i['labels']]")
CIDR6=$(jget "$OUT" "[i['id'] for i in d['identities'] if 'cidr:2001-db8--0/32' in i['labels']]")
bw_check "192.0.2.0/24 has a local-scope identity ($CIDR4)" \
	[ "$(jget "$OUT" "[(i['scope'], i['id'] >= 16777217, i['labels']) for i in d['identities'] if 'cidr:192.0.2.0/24' in i['labels']]")" = "[('local', True, ['cidr:192.0.2.0/24', 'reserved:world'])]" ]
bw_check "2001:db8::/32 is spelled cidr:2001-db8--0/32 ($CIDR6)" [ "$CIDR6" != "[]" ]

# ---- restart ---------------------------------------------------------------------------
BEFORE=$(bw endpoint list -o json | python3 -c 'import json,sys; print(sorted((e["namespace"],e["pod"],e["id"],e["identity"],e["audit"],e["namespace_audit"],tuple(e["ips"])) for e in json.load(sys.stdin)["endpoints"]))')
IDS_BEFORE=$(bw identity list -o json | python3 -c 'import json,sys; print(sorted((i["id"],tuple(i["labels"])) for i in json.load(sys.stdin)["identities"] if i["refs"]>0 or i["scope"]=="reserved"))')
bw_restart_daemon
AFTER=$(bw endpoint list -o json | python3 -c 'import json,sys; print(sorted((e["namespace"],e["pod"],e["id"],e["identity"],e["audit"],e["namespace_audit"],tuple(e["ips"])) for e in json.load(sys.stdin)["endpoints"]))')
IDS_AFTER=$(bw identity list -o json | python3 -c 'import json,sys; print(sorted((i["id"],tuple(i["labels"])) for i in json.load(sys.stdin)["identities"] if i["refs"]>0 or i["scope"]=="reserved"))')
if [ "$BEFORE" = "$AFTER" ]; then
	bw_pass "restart restores every endpoint with the same ids and identities"
else
	bw_fail "endpoints differ after restart"
	echo "#   before: $BEFORE"
	echo "#   after:  $AFTER"
fi
if [ "$IDS_BEFORE" = "$IDS_AFTER" ]; then
	bw_pass "restart restores the same identity numbers"
else
	bw_fail "identities differ after restart"
	echo "#   before: $IDS_BEFORE"
	echo "#   after:  $IDS_AFTER"
fi
bw_expect_output "namespace labels survive the restart" "^x +3 +off +kubernetes.io/metadata.name=x,team=blue" \
	bw namespace list
bw_expect_ok "x/b reaches x/a after the restart" bw_probe_tcp x/b x/a 80
bw_expect_ok "x/a is still allowed to x/e after the restart" bw_probe_tcp x/a x/e 80
bw_expect_blocked "x/b is still denied to x/e after the restart" bw_probe_tcp x/b x/e 80
OUT=$(bw identity list -o json)
bw_check "the CIDR identity keeps its number across the restart" \
	[ "$(jget "$OUT" "[i['id'] for i in d['identities'] if 'cidr:192.0.2.0/24' in i['labels']]")" = "$CIDR4" ]
bw_check "the CIDR policy is deleted" bw policy delete x/cidr-peers
OUT=$(bw identity list -o json)
bw_check "its CIDR identities are released" \
	[ "$(jget "$OUT" "[i['id'] for i in d['identities'] if i['scope'] == 'local']")" = "[]" ]
bw_check "x/e relabelled app=open" bw endpoint update x/e --label app=open
bw_expect_ok "x/e is no longer selected: x/b reaches it" bw_probe_tcp x/b x/e 80

# ---- delete ----------------------------------------------------------------------------
ID_B3=$(ep_field x/b identity)
bw_expect_output "endpoint delete x/b" "endpoint x/b deleted" bw endpoint delete x/b
OUT=$(bw endpoint list -o json)
bw_check "x/b is gone from the list" \
	[ "$(jget "$OUT" "[e['pod'] for e in d['endpoints']]")" = "['a', 'c', 'e']" ]
OUT=$(bw identity list -o json)
bw_check "x/b's identity is released" \
	[ "$(jget "$OUT" "[i for i in d['identities'] if i['id']==$ID_B3]")" = "[]" ]
bw_expect_output "x/b comes back" "endpoint x/b added" \
	bw endpoint add x/b --host-ifname "$IF_B" --ip 10.1.0.2 --label app=db
bw_check "the same labels get the same identity again ($ID_B3)" [ "$(ep_field x/b identity)" = "$ID_B3" ]
bw_check "a new endpoint gets a fresh endpoint id" [ "$(ep_field x/b id)" != "$EPID_B" ]
bw_expect_output "endpoint delete y/c" "endpoint y/c deleted" bw endpoint delete y/c
bw_expect_output "an explicitly set namespace stays after its last endpoint" "^y +0 +on" \
	bw namespace list

# ---- stale kernel entries go at start -----------------------------------------------------
# A policy file gives 198.51.100.0/24 a CIDR identity; the file is removed
# while the daemon is down; the pinned ipcache entry must not survive the
# next start (it would give that prefix an identity nobody selects).
cat >"$BW_POLICY_DIR/cidr-file.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: cidr-file
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      app: nobody
  egress:
  - toCIDR:
    - 198.51.100.0/24
YAML
cidr_file_identity() {
	bw identity list | grep -q 'cidr:198.51.100.0/24'
}
bw_check "a policy file gives 198.51.100.0/24 an identity" bw_wait_for 10 cidr_file_identity
bw_check "the ipcache maps 198.51.100.0/24" ipcache_has 198.51.100.0/24
bw_check "the ipcache maps x/a's address" ipcache_has 10.1.0.1/32
bw_stop_daemon
rm -f "$BW_POLICY_DIR/cidr-file.yaml"
bw_start_daemon "${BW_DAEMON_OPTS_CUR[@]}"
bw_check_fails "the stale 198.51.100.0/24 entry is gone after the start" ipcache_has 198.51.100.0/24
bw_check "x/a's address is still mapped" ipcache_has 10.1.0.1/32
bw_check "the node's address is still mapped" ipcache_has 10.0.0.1/32

# ---- a pod whose veth is already gone can still be deleted ------------------------------
bw_check "y/d is added" bw endpoint add y/d --host-ifname "$IF_D" --ip 10.2.0.2 --label app=d
ip netns del "${BW_NS_OF[y/d]}"
bw_wait_for 5 bash -c "! ip -n '$BW_NODE' link show '$IF_D' >/dev/null 2>&1"
bw_expect_output "y/d is deleted after its veth went away" "endpoint y/d deleted" \
	bw endpoint delete y/d
bw_check_fails "y/d is no longer listed" bash -c "$BULWARK -s $BW_SOCK endpoint list | grep -q ' y/d '"

bw_stop_daemon
bw_finish
