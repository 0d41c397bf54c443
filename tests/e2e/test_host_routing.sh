#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_host_routing.sh - eBPF host routing (datapath.host_routing
# = bpf, docs/datapath.md "eBPF host routing"): policy lets traffic through
# the same way, flows say the same, but the packets no longer cross the
# node's netfilter: a counting nftables rule in the node netns's forward
# hook sees the pods' packets with host routing off, and none with it on,
# for pod-to-pod (IPv4 and IPv6, bpf_redirect_peer) and pod-to-outside
# (bpf_fib_lookup + bpf_redirect_neigh). The destination's ingress policy
# still drops what it does not allow, and a reload switches the mode.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init
bw_require_tool nft nftables
unset BW_HOST_ROUTING
# a config file of our own, switched by a reload (SIGHUP) as a user would
BW_CONF=$BW_TMP/bulwark.conf
cp "$(bw_daemon_conf)" "$BW_CONF" || bw_die "no bulwark.conf"
sed -i 's/^host_routing *=.*/host_routing = bpf/' "$BW_CONF"
grep -q '^host_routing = bpf' "$BW_CONF" || bw_die "no datapath.host_routing key in $BW_CONF"
export BW_CONF
bw_start_daemon

bw namespace set x || bw_die "namespace set x"
bw_pod_add x a 10.1.0.1 fd00:1::1 pod=a || bw_die "endpoint add x/a"
bw_pod_add x b 10.1.0.2 fd00:1::2 pod=b || bw_die "endpoint add x/b"
bw_pod_add x c 10.1.0.3 pod=c || bw_die "endpoint add x/c"
bw_external_add ext 192.0.2.10
for h in x/b ext; do
	bw_server_tcp "$h" 80 81
done

# the node's netfilter, counting what it sees of x/a's packets; nf_reset
# makes the table again (its rule counters start at 0)
nf_reset() {
	bw_nsx "$BW_NODE" nft delete table inet bwhr 2>/dev/null
	bw_nsx "$BW_NODE" nft -f - <<'EOF' || bw_die "nft table"
table inet bwhr {
	chain fw {
		type filter hook forward priority 0; policy accept;
		ip saddr 10.1.0.1 counter
		ip6 saddr fd00:1::1 counter
	}
}
EOF
}
nf_packets() { # 4|6 : packets of x/a the forward hook counted
	bw_nsx "$BW_NODE" nft list chain inet bwhr fw |
		awk -v f="$([ "$1" = 6 ] && echo ip6 || echo ip)" \
			'$1 == f && $2 == "saddr" { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

bw_policy_import_text b-from-a <<'EOF' || bw_die "policy"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: b-from-a
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: b
  ingress:
  - fromEndpoints:
    - matchLabels:
        pod: a
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
EOF

hr_is() { [ "$(bw status -o json | jq -r '.bpf.host_routing')" = "$1" ]; }
bw_check "bulwark status shows host routing bpf" hr_is bpf

# ---- on: policy as before, past the node's netfilter ---------------------------
nf_reset
bw_expect_ok "host routing: x/a -> x/b tcp/80 allowed" bw_probe_tcp x/a x/b 80
bw_expect_ok "host routing: x/a -> x/b tcp6/80 allowed" bw_probe_tcp x/a x/b 80 1 6
bw_expect_blocked "host routing: x/b's ingress policy still drops x/a -> x/b tcp/81" \
	bw_probe_tcp x/a x/b 81
bw_expect_blocked "host routing: x/c -> x/b tcp/80 dropped (not selected)" \
	bw_probe_tcp x/c x/b 80
bw_expect_ok "host routing: x/a -> 192.0.2.10 tcp/80 (off the node)" bw_probe_tcp x/a ext 80
bw_check "the node's netfilter saw none of x/a's IPv4 packets" test "$(nf_packets 4)" = 0
bw_check "the node's netfilter saw none of x/a's IPv6 packets" test "$(nf_packets 6)" = 0
bw_expect_flow "flow: x/a -> x/b:80 FORWARDED" --from-pod x/a --to-pod x/b --port 80 \
	--verdict FORWARDED
bw_expect_flow "flow: x/a -> x/b:81 DROPPED by x/b's ingress" --from-pod x/a --to-pod x/b \
	--port 81 --verdict DROPPED
bw_expect_flow "flow: x/a -> 192.0.2.10:80 FORWARDED" --from-pod x/a --to-ip 192.0.2.10 \
	--verdict FORWARDED

# ---- off (reload): the same verdicts, through the node's netfilter -----------------
sed -i 's/^host_routing *=.*/host_routing = kernel/' "$BW_CONF"
kill -HUP "$BW_DAEMON_PID"
bw_wait_for 10 hr_is kernel
bw_check "after a reload with kernel, bulwark status says kernel" hr_is kernel
nf_reset
bw_expect_ok "kernel routing: x/a -> x/b tcp/80 allowed" bw_probe_tcp x/a x/b 80
bw_expect_ok "kernel routing: x/a -> x/b tcp6/80 allowed" bw_probe_tcp x/a x/b 80 1 6
bw_expect_blocked "kernel routing: x/a -> x/b tcp/81 dropped" bw_probe_tcp x/a x/b 81
bw_expect_ok "kernel routing: x/a -> 192.0.2.10 tcp/80" bw_probe_tcp x/a ext 80
bw_check "the node's netfilter sees x/a's IPv4 packets again" test "$(nf_packets 4)" -gt 0
bw_check "the node's netfilter sees x/a's IPv6 packets again" test "$(nf_packets 6)" -gt 0

# ---- on again: a reload back, and a pod added while it is on -------------------------
sed -i 's/^host_routing *=.*/host_routing = bpf/' "$BW_CONF"
kill -HUP "$BW_DAEMON_PID"
bw_wait_for 10 hr_is bpf
bw_pod_add x d 10.1.0.4 pod=d || bw_die "endpoint add x/d"
bw_server_tcp x/d 80
nf_reset
bw_expect_ok "host routing: x/a -> x/b tcp/80 after the switch back" bw_probe_tcp x/a x/b 80
bw_check "the node's netfilter saw none of them (got $(nf_packets 4))" test "$(nf_packets 4)" = 0
nf_reset
bw_expect_ok "host routing: x/a -> x/d (added while on) tcp/80" bw_probe_tcp x/a x/d 80
bw_check "the node's netfilter saw none of x/a's packets to x/d (got $(nf_packets 4))" \
	test "$(nf_packets 4)" = 0

bw_stop_daemon
bw_finish
