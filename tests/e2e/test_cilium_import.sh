#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_cilium_import.sh - Cilium's own policy files as a Cilium
# user has them: the `cilium policy import` JSON format (a bare list of
# rules with their labels, as in Cilium's examples/policies) through
# `bulwark policy import` and policy.dir, named by their labels or the
# file, namespaced by their label or --namespace, enforced with real
# traffic; and a selector key written `reserved.init` (Cilium's
# examples/policies/l4/init.yaml) read as Cilium reads it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_require_tool jq jq
bw_init
bw_start_daemon

for ns in ns1 ns2; do
	bw namespace set "$ns" || bw_die "namespace set $ns"
done
bw_pod_add ns1 a 10.3.1.1 app=a || bw_die "endpoint add ns1/a"
bw_pod_add ns1 b 10.3.1.2 app=b || bw_die "endpoint add ns1/b"
bw_pod_add ns2 a 10.3.2.1 app=a || bw_die "endpoint add ns2/a"
for h in ns1/a ns1/b ns2/a; do
	bw_server_tcp "$h" 80
done

# policy_field NS NAME KIND FIELD : a field of `policy list -o json`
policy_field() {
	bw policy list -o json |
		jq -r --arg ns "$1" --arg n "$2" --arg k "$3" --arg f "$4" \
			'.[] | select(.namespace == $ns and .name == $n and .kind == $k) | .[$f]'
}

# ---- unlabelled rules: one cluster-wide policy named after the file -------------
cat >"$BW_TMP/isolate-namespaces.json" <<'EOF'
[
   {
      "endpointSelector" : {
         "matchLabels" : { "k8s:io.kubernetes.pod.namespace" : "ns1" }
      },
      "ingress" : [
         { "fromEndpoints" : [ { "matchLabels" : { "k8s:io.kubernetes.pod.namespace" : "ns1" } } ] }
      ]
   },
   {
      "endpointSelector" : {
         "matchLabels" : { "k8s:io.kubernetes.pod.namespace" : "ns2" }
      },
      "ingress" : [
         { "fromEndpoints" : [ { "matchLabels" : { "k8s:io.kubernetes.pod.namespace" : "ns2" } } ] }
      ]
   }
]
EOF
bw_expect_output "policy import of a bare list of Cilium rules" \
	'1 policies, 1 changed' bw policy import "$BW_TMP/isolate-namespaces.json"
if [ "$(policy_field "" isolate-namespaces CiliumClusterwideNetworkPolicy rules_count)" = 2 ]; then
	bw_pass "the two rules are one cluster-wide policy named isolate-namespaces"
else
	bw_fail "expected CiliumClusterwideNetworkPolicy isolate-namespaces with 2 rules"
	bw policy list | sed 's/^/#   | /'
fi
bw_expect_ok "isolate-namespaces: ns1/b -> ns1/a" bw_probe_tcp ns1/b ns1/a 80
bw_expect_blocked "isolate-namespaces: ns2/a -> ns1/a" bw_probe_tcp ns2/a ns1/a 80
bw_expect_blocked "isolate-namespaces: ns1/b -> ns2/a" bw_probe_tcp ns1/b ns2/a 80
bw_expect_output "importing the same file again changes nothing" \
	'1 policies, 0 changed' bw policy import "$BW_TMP/isolate-namespaces.json"
bw policy delete isolate-namespaces || bw_fail "policy delete isolate-namespaces"
bw_expect_ok "deleted: ns2/a -> ns1/a" bw_probe_tcp ns2/a ns1/a 80

# ---- name and namespace labels; --namespace for a rule without one ---------------
cat >"$BW_TMP/labelled.json" <<'EOF'
[{
  "labels": [{"key": "io.cilium.k8s.policy.name", "value": "web", "source": "k8s"},
             {"key": "io.cilium.k8s.policy.namespace", "value": "ns1", "source": "k8s"}],
  "endpointSelector": {"matchLabels": {"app": "a"}},
  "ingress": [{"fromEndpoints": [{"matchLabels": {"app": "b"}}],
               "toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}]}]}]
},
{
  "labels": [{"key": "name", "value": "only-a"}],
  "endpointSelector": {"matchLabels": {"app": "a"}},
  "ingress": [{"fromEndpoints": [{"matchLabels": {"app": "a"}}]}]
}]
EOF
bw_expect_output "policy import --namespace ns2 of labelled rules" \
	'2 policies, 2 changed' bw policy import "$BW_TMP/labelled.json" --namespace ns2
if [ -n "$(policy_field ns1 web CiliumNetworkPolicy name)" ] &&
   [ -n "$(policy_field ns2 only-a CiliumNetworkPolicy name)" ]; then
	bw_pass "ns1/web from its labels, ns2/only-a from its name label and --namespace"
else
	bw_fail "expected CiliumNetworkPolicy ns1/web and ns2/only-a"
	bw policy list | sed 's/^/#   | /'
fi
bw_expect_ok "ns1/web: ns1/b -> ns1/a:80" bw_probe_tcp ns1/b ns1/a 80
bw_expect_blocked "ns1/web (a CNP confines its peers to ns1): ns2/a -> ns1/a:80" \
	bw_probe_tcp ns2/a ns1/a 80
bw_expect_trace "trace ns1/b -> ns1/a names ns1/web" 'allowed by CiliumNetworkPolicy ns1/web' \
	--from ns1/b --to ns1/a --port 80

# ---- refused with a message naming the rule ---------------------------------------
printf '[{"labels": [{"key": "name", "value": "Bad_Name"}], "endpointSelector": {}}]\n' \
	>"$BW_TMP/bad.json"
import_refused() { ! bw policy import "$@"; }
bw_expect_output "a name label that is not a valid name is refused, naming it" \
	'the rule.s name "Bad_Name" is not a valid policy name' \
	import_refused "$BW_TMP/bad.json"

# ---- the same format in policy.dir --------------------------------------------------
cat >"$BW_POLICY_DIR/dir-rules.json" <<'EOF'
[{"endpointSelector": {"matchLabels": {"app": "b"}},
  "ingress": [{"fromEndpoints": [{"matchLabels": {"app": "a"}}]}]}]
EOF
dir_policy_loaded() {
	[ -n "$(policy_field "" dir-rules CiliumClusterwideNetworkPolicy name)" ]
}
if bw_wait_for 10 dir_policy_loaded; then
	bw_pass "policy.dir: a rule list file becomes the cluster-wide policy dir-rules"
else
	bw_fail "policy.dir: dir-rules.json was not loaded"
	bw status | sed 's/^/#   | /'
fi
bw_expect_ok "dir-rules: ns1/a -> ns1/b" bw_probe_tcp ns1/a ns1/b 80
bw_expect_ok "dir-rules is cluster-wide, as Cilium's imported rules: ns2/a -> ns1/b" \
	bw_probe_tcp ns2/a ns1/b 80
rm -f "$BW_POLICY_DIR/dir-rules.json"

# ---- reserved.init, as in Cilium's examples/policies/l4/init.yaml -------------------
bw_policy_import_text init <<'EOF'
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: init
specs:
  - endpointSelector:
      matchLabels:
        "reserved.init": ""
    ingress:
    - fromEntities:
      - host
    egress:
    - toEntities:
      - all
      toPorts:
      - ports:
        - port: "53"
          protocol: UDP
EOF
if bw policy get init -o json >"$BW_TMP/init.json" &&
   jq -e '.rules[0].subject.match_labels == {"reserved:init": ""}' "$BW_TMP/init.json" >/dev/null; then
	bw_pass "\"reserved.init\" selects reserved:init, as in Cilium"
else
	bw_fail "\"reserved.init\" should be read as reserved:init"
	sed 's/^/#   | /' "$BW_TMP/init.json"
fi

bw_stop_daemon
bw_finish
