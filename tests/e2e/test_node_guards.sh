#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_node_guards.sh - requests that would hurt the node are
# refused at once, naming why:
#  - `endpoint add --host-ifname lo` (the loopback interface) and an
#    interface that holds the node's own address: the datapath would drop
#    the node's own traffic as a spoofed source; the node keeps talking;
#  - a policy with more CIDR peers than the ipcache holds
#    (daemon.ipcache_max_entries, here 1024) is refused before anything is
#    acquired, naming the limit and the key; one that fits is applied.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_require_tool python3 python3
bw_init
bw_start_daemon -o daemon.ipcache_max_entries=1024

bw namespace set x || bw_die "namespace set x"
bw_pod_add x a 10.11.0.1 app=a || bw_die "endpoint add x/a"
bw_server_tcp x/a 80
bw_server_tcp node 8080

refused() { ! bw "$@"; }

# ---- host_ifname that is not an endpoint's host-side veth ----------------------
bw_expect_output "endpoint add --host-ifname lo is refused" \
	'host_ifname: "lo" is the loopback interface, not an endpoint.s host-side veth' \
	refused endpoint add x/lo --host-ifname lo --ip 10.11.0.9
# an interface of the node's with an address (a veth pair inside the node
# namespace, as the machine's uplink would be)
ip -n "$BW_NODE" link add "${BW_ID}up" type veth peer name "${BW_ID}uq" || bw_die "veth"
ip -n "$BW_NODE" addr add 192.0.2.1/24 dev "${BW_ID}up" || bw_die "address"
ip -n "$BW_NODE" link set "${BW_ID}up" up
bw_expect_output "an interface holding the node's address is refused" \
	"host_ifname: \"${BW_ID}up\" holds the node's address 192.0.2.1: not an endpoint.s host-side veth" \
	refused endpoint add x/up --host-ifname "${BW_ID}up" --ip 10.11.0.10
# the same with an IPv6 address only (its link-local one alone is allowed)
ip -n "$BW_NODE" link set "${BW_ID}uq" up
ip -n "$BW_NODE" addr add 2001:db8::1/64 dev "${BW_ID}uq" nodad || bw_die "address"
bw_expect_output "an interface holding a node's IPv6 address is refused" \
	"host_ifname: \"${BW_ID}uq\" holds the node's address 2001:db8::1: not an endpoint.s host-side veth" \
	refused endpoint add x/uq --host-ifname "${BW_ID}uq" --ip 10.11.0.11
bw_check_fails "none of them was added" sh -c "\"$BULWARK\" -s \"$BW_SOCK\" endpoint list | grep -Eq 'x +(lo|up|uq) '"
bw_expect_ok "the node still talks to itself: node -> 10.0.0.1:8080" \
	bw_probe_tcp node "$BW_NODE_IP4" 8080
bw_expect_ok "and to x/a: node -> x/a:80" bw_probe_tcp node x/a 80

# ---- ipcache capacity ----------------------------------------------------------------
# policy_with_peers N : a NetworkPolicy x/many with N ipBlock /32 peers
policy_with_peers() {
	python3 - "$1" <<'EOF'
import sys
n = int(sys.argv[1])
print("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy")
print("metadata: {name: many, namespace: x}")
print("spec:\n  podSelector: {matchLabels: {app: a}}\n  ingress:\n  - from:")
for i in range(n):
    print("    - ipBlock: {cidr: 198.18.%d.%d/32}" % (i // 250, i % 250 + 1))
EOF
}
policy_with_peers 2000 >"$BW_TMP/many.yaml"
bw_expect_output "2000 CIDR peers against an ipcache of 1024: refused naming the limit and key" \
	'nothing changed: the policies need 2000 more IPv4 ipcache entries \(CIDR peers\) and the ipcache holds [0-9]+ of at most 1024; raise daemon.ipcache_max_entries' \
	refused policy import "$BW_TMP/many.yaml"
bw_check_fails "the refused policy is not listed" sh -c "\"$BULWARK\" -s \"$BW_SOCK\" policy list | grep -q many"
bw_expect_ok "nothing changed: node -> x/a:80" bw_probe_tcp node x/a 80
policy_with_peers 500 >"$BW_TMP/some.yaml"
bw_expect_output "500 CIDR peers fit" '1 changed' bw policy import "$BW_TMP/some.yaml"
bw_expect_blocked "many is enforced: node -> x/a:80" bw_probe_tcp node x/a 80

bw_stop_daemon
bw_finish
