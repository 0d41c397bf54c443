#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_ipblock.sh - Kubernetes ipBlock peers match addresses, not
# identities (docs/policy.md, "ipBlock"). x/b and x/c carry the same labels,
# so they share one security identity; an ipBlock that holds one replica's
# address and not the other's must tell them apart in the datapath, in
# `policy trace`, in the flows' attribution and in `policy resolved`, also
# across a restart, and CiliumNetworkPolicy CIDR peers must still never
# select pods. The model cluster of the issue: x/a x/b x/c at
# 10.244.1.11-13 (and fd00::244:1:11-13).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_require_tool jq jq
bw_init
bw_start_daemon

bw namespace set x || bw_die "namespace set x"
bw_pod_add x a 10.244.1.11 fd00::244:1:11 pod=a || bw_die "endpoint add x/a"
bw_pod_add x b 10.244.1.12 fd00::244:1:12 pod=b || bw_die "endpoint add x/b"
bw_pod_add x c 10.244.1.13 fd00::244:1:13 pod=c || bw_die "endpoint add x/c"
for h in x/a x/b x/c; do
	bw_server_tcp "$h" 80
done

# ep_identity NS/POD : the endpoint's identity number
ep_identity() {
	bw endpoint list -o json |
		jq -r --arg ns "${1%/*}" --arg pod "${1#*/}" \
			'.endpoints[] | select(.namespace == $ns and .pod == $pod) | .identity'
}
# trace_json ARGS... : `policy trace ... -o json` into $BW_TMP/trace.json
trace_json() {
	bw policy trace "$@" -o json >"$BW_TMP/trace.json"
}
# split_count : how many split identities the resolver holds (status)
split_count() {
	bw status -o json | jq -r '.policy.resolver.split_identities'
}

bw endpoint update x/b --label app=same || bw_fail "endpoint update x/b"
bw endpoint update x/c --label app=same || bw_fail "endpoint update x/c"
idb=$(ep_identity x/b)
idc=$(ep_identity x/c)
if [ -n "$idb" ] && [ "$idb" = "$idc" ]; then
	bw_pass "x/b and x/c share identity $idb"
else
	bw_fail "x/b and x/c should share an identity (got '$idb' and '$idc')"
fi

# ---- ingress: cidr with an except holding one replica ------------------------
bw_policy_import_text t <<'EOF' || bw_fail "import x/t"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: t
  namespace: x
spec:
  podSelector:
    matchLabels:
      pod: a
  ingress:
  - from:
    - ipBlock:
        cidr: 10.244.1.0/24
        except:
        - 10.244.1.13/32
  policyTypes:
  - Ingress
EOF
bw_expect_ok "ipBlock /24: x/b -> x/a:80" bw_probe_tcp x/b x/a 80
bw_expect_blocked "except 10.244.1.13/32: x/c -> x/a:80, although x/c shares x/b's identity" \
	bw_probe_tcp x/c x/a 80
bw_expect_blocked "the ipBlock is IPv4 only: x/b -> x/a over IPv6" \
	bw_probe_tcp6 x/b x/a 80
bw_expect_verdict "trace x/c -> x/a: DENIED" DENIED --from x/c --to x/a --port 80
bw_expect_verdict "trace x/b -> x/a: ALLOWED" ALLOWED --from x/b --to x/a --port 80
bw_expect_trace "trace x/b -> x/a names x/t" 'allowed by NetworkPolicy x/t' \
	--from x/b --to x/a --port 80
bw_expect_verdict "trace 10.244.1.13 -> x/a: DENIED" DENIED --from 10.244.1.13 --to x/a --port 80
if trace_json --from x/b --to x/a --port 80 &&
   jq -e --argjson b "$idb" '.from_identity != $b and .from_identity_split_of == $b' \
	"$BW_TMP/trace.json" >/dev/null; then
	bw_pass "trace: x/b's address has an identity split off $idb"
else
	bw_fail "trace: x/b's address should show a split identity of $idb"
	sed 's/^/#   | /' "$BW_TMP/trace.json"
fi
splitb=$(jq -r '.from_identity' "$BW_TMP/trace.json" 2>/dev/null)
if trace_json --from x/c --to x/a --port 80 &&
   jq -e --argjson c "$idc" '.from_identity == $c and (has("from_identity_split_of") | not)' \
	"$BW_TMP/trace.json" >/dev/null; then
	bw_pass "trace: x/c's address keeps the shared identity $idc"
else
	bw_fail "trace: x/c's address should keep identity $idc"
	sed 's/^/#   | /' "$BW_TMP/trace.json"
fi

# policy resolved: an allow for x/b's split identity, none for the shared one
if bw policy resolved x/a -o json >"$BW_TMP/res.json" &&
   jq -e --argjson s "$splitb" --argjson c "$idc" '
	(.entries | map(select(.identity == $s and .action == "allow" and
			       .policy.name == "t")) | length == 1) and
	(.entries | map(select(.identity == $c)) | length == 0) and
	(.entries[] | select(.identity == $s) | .labels |
		(index("k8s:app=same") != null) and
		(map(select(startswith("reserved:ipblock-split="))) | length == 1))' \
	"$BW_TMP/res.json" >/dev/null; then
	bw_pass "policy resolved x/a: allows x/b's split identity $splitb, not the shared $idc"
else
	bw_fail "policy resolved x/a should allow $splitb and not $idc"
	sed 's/^/#   | /' "$BW_TMP/res.json" | head -60
fi
bw_expect_output "policy resolved x/a: kernel map agrees" 'the same as the resolved state' \
	bw policy resolved x/a

# flows: the verdicts of the datapath, attributed
flows_json() {
	bw observe --all -o json --type policy-verdict "$@" >"$BW_TMP/flows.json" 2>/dev/null &&
		[ -s "$BW_TMP/flows.json" ]
}
if bw_wait_for 5 flows_json --from-pod x/c --to-pod x/a --verdict DROPPED &&
   jq -es 'all(.[]; .flow.destination.pod_name == "a" and .flow.source.pod_name == "c" and
		(.flow.ingress_allowed_by | not))' "$BW_TMP/flows.json" >/dev/null; then
	bw_pass "flows: x/c -> x/a is a DROPPED policy verdict, allowed by nothing"
else
	bw_fail "flows: a DROPPED verdict x/c -> x/a"
	head -c 2000 "$BW_TMP/flows.json" | sed 's/^/#   | /'
fi
if bw_wait_for 5 flows_json --from-pod x/b --to-pod x/a --verdict FORWARDED &&
   jq -es --argjson b "$idb" 'all(.[]; .flow.ingress_allowed_by[0].name == "t" and
		.flow.source.identity == $b and
		(.flow.source.labels | index("k8s:app=same")) != null)' \
	"$BW_TMP/flows.json" >/dev/null; then
	bw_pass "flows: x/b -> x/a FORWARDED, allowed by x/t, source is x/b with identity $idb"
else
	bw_fail "flows: a FORWARDED verdict x/b -> x/a allowed by x/t"
	head -c 2000 "$BW_TMP/flows.json" | sed 's/^/#   | /'
fi

# ---- the same policy narrowed to one replica's host CIDR ----------------------
bw_policy_import_text t2 <<'EOF' || bw_fail "update x/t"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: t
  namespace: x
spec:
  podSelector:
    matchLabels:
      pod: a
  ingress:
  - from:
    - ipBlock:
        cidr: 10.244.1.12/32
  policyTypes:
  - Ingress
EOF
bw_expect_ok "ipBlock 10.244.1.12/32: x/b -> x/a:80" bw_probe_tcp x/b x/a 80
bw_expect_blocked "ipBlock 10.244.1.12/32: x/c -> x/a:80" bw_probe_tcp x/c x/a 80
bw_expect_verdict "trace x/c -> x/a: DENIED" DENIED --from x/c --to x/a --port 80

# ---- across a restart -----------------------------------------------------------
bw_restart_daemon
bw_expect_ok "after a restart: x/b -> x/a:80" bw_probe_tcp x/b x/a 80
bw_expect_blocked "after a restart: x/c -> x/a:80" bw_probe_tcp x/c x/a 80
bw_expect_verdict "after a restart: trace x/c -> x/a DENIED" DENIED \
	--from x/c --to x/a --port 80

# ---- egress, with and without except ----------------------------------------------
bw_policy_import_text e <<'EOF' || bw_fail "import x/e"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: e
  namespace: x
spec:
  podSelector:
    matchLabels:
      app: same
  egress:
  - to:
    - ipBlock:
        cidr: 10.244.1.0/24
        except:
        - 10.244.1.12/32
  policyTypes:
  - Egress
EOF
bw_expect_ok "egress ipBlock: x/b -> x/c:80" bw_probe_tcp x/b x/c 80
bw_expect_blocked "egress except 10.244.1.12/32: x/c -> x/b:80" bw_probe_tcp x/c x/b 80
bw_expect_verdict "trace x/c -> x/b: DENIED" DENIED --from x/c --to x/b --port 80
bw_expect_verdict "trace x/b -> x/c: ALLOWED" ALLOWED --from x/b --to x/c --port 80

# ---- a CiliumNetworkPolicy CIDR still never selects pods ---------------------------
bw policy delete x/e || bw_fail "delete x/e"
bw_policy_import_text cnp <<'EOF' || bw_fail "import a CNP"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: c
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      app: same
  egress:
  - toCIDRSet:
    - cidr: 10.244.1.0/24
      except:
      - 10.244.1.12/32
EOF
bw_expect_blocked "CNP toCIDRSet does not select pods: x/b -> x/c:80" bw_probe_tcp x/b x/c 80

# ---- deleting the policies gives the addresses back ----------------------------------
bw policy delete x/c --kind CiliumNetworkPolicy || bw_fail "delete x/c"
if [ "$(split_count)" -gt 0 ]; then
	bw_pass "while x/t holds x/b's address: split identities exist ($(split_count))"
else
	bw_fail "x/t should keep a split identity"
fi
bw policy delete x/t || bw_fail "delete x/t"
bw_expect_ok "no policy: x/c -> x/a:80" bw_probe_tcp x/c x/a 80
if [ "$(split_count)" = 0 ] &&
   ! bw identity list -o json | grep -q 'ipblock-split'; then
	bw_pass "no ipBlock left: no split identity is left"
else
	bw_fail "split identities are left: $(split_count)"
	bw identity list | sed 's/^/#   | /'
fi
if trace_json --from x/b --to x/a --port 80 &&
   jq -e --argjson b "$idb" '.from_identity == $b' "$BW_TMP/trace.json" >/dev/null; then
	bw_pass "x/b's address maps to the shared identity again"
else
	bw_fail "x/b's address should map to $idb again"
	sed 's/^/#   | /' "$BW_TMP/trace.json"
fi

bw_stop_daemon
bw_finish
