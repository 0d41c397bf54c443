#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_cilium_anti_spoofing.sh - a pod that sends from an address
# that is not its own is dropped: an unknown address, another pod's address
# (which would otherwise inherit that pod's identity and its allows), the
# node's address, and the same over IPv6. The node's rp_filter is off
# (lib.sh), so only bulwark's datapath can stop these packets; the harness
# self-test (test_lib.sh) shows they arrive when nothing filters.
#
# The receiver is a UDP sink that logs every datagram; each datagram names
# its sender and a sequence number. A legitimate datagram sent after the
# forged ones is the synchronisation point: once it has arrived, a forged
# one sent before it on the same path would have arrived too.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init
bw_start_daemon

bw namespace set x || bw_die "namespace set x"
bw_pod_add x a 10.1.0.1 fd00::1:1 pod=a || bw_die "endpoint add x/a"
bw_pod_add x b 10.1.0.2 fd00::1:2 pod=b || bw_die "endpoint add x/b"
bw_pod_add x c 10.1.0.3 fd00::1:3 pod=c || bw_die "endpoint add x/c"
sink=$BW_TMP/sink.log
bw_udp_sink x/c 9999 "$sink"

seq=0
# forge DESC FROM SRC_IP [FAMILY] : send a forged datagram from FROM with
# SRC_IP, then a legitimate one from x/a, wait for the legitimate one and
# check the forged one did not arrive.
forge() {
	local desc=$1 from=$2 src=$3 fam=${4:-4} own
	seq=$((seq + 1))
	own=$(bw_ip_of x/a "$fam")
	bw_send_udp_from "$from" "$src" x/c 9999 "$fam" "forged-$seq"
	bw_send_udp_from x/a "$own" x/c 9999 "$fam" "legit-$seq"
	if ! bw_wait_for 3 grep -qx "legit-$seq" "$sink"; then
		bw_fail "$desc: the legitimate datagram from x/a ($own) did not arrive"
		return
	fi
	sleep 0.5 # the forged one took another veth: give it time to show up
	if grep -qx "forged-$seq" "$sink"; then
		bw_fail "$desc: the datagram forged by $from as $src was delivered"
	else
		bw_pass "$desc"
	fi
}

# ---- no policy at all ----------------------------------------------------
forge "no policy: x/b forging an unknown address 10.1.0.99 is dropped" \
	x/b 10.1.0.99
forge "no policy: x/b forging x/a's address is dropped" x/b 10.1.0.1
forge "no policy: x/b forging the node's address is dropped" x/b 10.0.0.1
forge "no policy: x/b forging an outside address 192.0.2.10 is dropped" \
	x/b 192.0.2.10
forge "no policy: IPv6, x/b forging x/a's address is dropped" \
	x/b fd00::1:1 6
forge "no policy: IPv6, x/b forging fd00::1:99 is dropped" x/b fd00::1:99 6

# ---- with a policy that trusts x/a --------------------------------------------
bw_policy_replace_text trust-a <<'EOF' || bw_fail "replace trust-a"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: c-from-a
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      pod: c
  ingress:
  - fromEndpoints:
    - matchLabels:
        pod: a
    toPorts:
    - ports:
      - port: "9999"
        protocol: UDP
EOF
forge "policy trusts x/a: x/b forging x/a's address is dropped" x/b 10.1.0.1
forge "policy trusts x/a: IPv6, x/b forging x/a's address is dropped" \
	x/b fd00::1:1 6
bw_check "x/a's own datagrams still arrive under the policy" \
	grep -qx legit-$seq "$sink"

# ---- the anti-spoofing map follows the endpoints --------------------------------
# bw_epaddr (exact match, what the check reads) holds each endpoint's
# addresses with its id; a deleted endpoint's addresses leave it, so nobody
# can send from them.
epaddr_count() {
	bpftool -j map dump pinned "$BW_BPFFS/bw_epaddr" 2>/dev/null | jq length
}
bw_check "bw_epaddr holds the 6 addresses of the 3 endpoints ($(epaddr_count))" \
	test "$(epaddr_count)" = 6
# (the policy goes first: x/a's datagrams, the synchronisation point, come
# from the world once x/a is no endpoint)
bw policy delete x/c-from-a >/dev/null || bw_fail "policy delete x/c-from-a"
bw endpoint delete x/a >/dev/null || bw_fail "endpoint delete x/a"
bw_check "after x/a is deleted bw_epaddr holds 4 ($(epaddr_count))" \
	test "$(epaddr_count)" = 4
forge "x/a deleted: x/b forging its former address is dropped" x/b 10.1.0.1
forge "x/a deleted: IPv6, x/b forging its former address is dropped" \
	x/b fd00::1:1 6

bw_stop_daemon
bw_finish
