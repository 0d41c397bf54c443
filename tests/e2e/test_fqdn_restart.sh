#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_fqdn_restart.sh - toFQDNs across a daemon restart
# (docs/fqdn.md, "Restarts"), Cilium's worst FQDN problem:
#   - while bulwarkd is stopped, a pod with DNS rules still resolves (the
#     datapath finds no proxy socket and lets DNS go to the server it
#     asked), an address learned before stays allowed (pinned maps), an
#     address never learned stays blocked, nothing is learned;
#   - after the start the learned address is allowed at once, without a new
#     lookup, with the same FQDN identity, and the cache came back from
#     <state_dir>/fqdn/cache.json; not one packet to it was dropped;
#   - learning resumes.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fqdn_lib.sh"

bw_init
fqdn_require
bw_start_daemon -o fqdn.gc_interval=1s

fqdn_dns_start "api IN A 198.51.100.10
late IN A 198.51.100.30
other IN A 198.51.100.31"
fqdn_web_start 198.51.100.10 198.51.100.30 198.51.100.31

bw namespace set x || bw_die "namespace set x"
bw_pod_add x a 10.1.0.1 app=a || bw_die "endpoint add x/a"
bw_policy_import_text fqdn <<'EOF' || bw_die "policy import"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: a-by-name, namespace: x}
spec:
  endpointSelector: {matchLabels: {app: a}}
  egress:
  - toCIDR: [192.0.2.53/32]
    toPorts:
    - ports: [{port: "53", protocol: ANY}]
      rules: {dns: [{matchPattern: "*.example"}]}
  - toFQDNs: [{matchName: api.example}, {matchName: late.example}]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
EOF

drops_to() {
	bw observe --all -o json --verdict DROPPED --to-ip "$1" 2>/dev/null | grep -c .
}

fqdn_expect_status "api.example resolves" NOERROR x/a api.example
bw_check "api.example's address is allowed" bw_probe_tcp x/a 198.51.100.10 80 3
id_before=$(fqdn_identity_of 198.51.100.10)
[ -n "$id_before" ] && [ "$id_before" != 0 ] && bw_pass "api.example has identity $id_before" ||
	bw_fail "api.example has no FQDN identity"

# ---- the daemon is down -------------------------------------------------------
bw_stop_daemon
fqdn_expect_status "daemon stopped: x/a still resolves (straight to the server)" \
	NOERROR x/a late.example
fqdn_expect_status "daemon stopped: over TCP too" NOERROR x/a late.example +tcp
fqdn_expect_status "daemon stopped: no DNS rules apply (nobody to apply them)" \
	NOERROR x/a other.example
bw_expect_ok "daemon stopped: the learned address is still allowed" \
	bw_probe_tcp x/a 198.51.100.10 80
bw_expect_blocked "daemon stopped: late.example was resolved, but nothing learns it: blocked" \
	bw_probe_tcp x/a 198.51.100.30 80
bw_expect_blocked "daemon stopped: other addresses stay blocked" \
	bw_probe_tcp x/a 198.51.100.31 80
[ -s "$BW_STATE/fqdn/cache.json" ] && bw_pass "the cache was written at stop ($BW_STATE/fqdn/cache.json)" ||
	bw_fail "no $BW_STATE/fqdn/cache.json"

# ---- the daemon is back ---------------------------------------------------------
bw_start_daemon -o fqdn.gc_interval=1s
drops_before=$(drops_to 198.51.100.10)
bw_check "right after the start, without a new lookup: 198.51.100.10 allowed" \
	bw_probe_tcp x/a 198.51.100.10 80 3
[ "$(drops_to 198.51.100.10)" = "$drops_before" ] &&
	bw_pass "no packet to the learned address was dropped after the start" ||
	bw_fail "packets to 198.51.100.10 were dropped after the start"
fqdn_cached api.example 198.51.100.10 && bw_pass "the cache came back from the file" ||
	bw_fail "api.example is not in the cache after the restart"
id_after=$(fqdn_identity_of 198.51.100.10)
[ "$id_after" = "$id_before" ] && bw_pass "same FQDN identity after the restart ($id_after)" ||
	bw_fail "identity changed: $id_before -> $id_after"
bw_expect_blocked "late.example was not learned while down: still blocked" \
	bw_probe_tcp x/a 198.51.100.30 80
fqdn_expect_status "learning resumes: late.example" NOERROR x/a late.example
bw_check "late.example's address is allowed on the first try" \
	bw_probe_tcp x/a 198.51.100.30 80 3
fqdn_expect_status "DNS rules apply again: x.y.denied.example is REFUSED" REFUSED \
	x/a x.y.denied.example

bw_finish
