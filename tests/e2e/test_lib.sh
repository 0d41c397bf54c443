#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_lib.sh - checks the e2e harness itself (tests/e2e/lib.sh)
# with no daemon: namespaces, veths, addresses and routes, the TCP/UDP
# servers and every probe, in both address families. With no bulwark
# program attached everything must be reachable and a closed port must
# not be; then a child run that dies half-way must leave nothing behind
# (no netns, no mount, no temp dir).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

. "$(dirname "$0")/lib.sh"

if [ "${1:-}" = --half-built ]; then
	# Child mode: build part of a topology, then fail hard.
	bw_init
	bw_pod_add x a 10.9.0.1 fd00::9:1 pod=a
	bw_server_tcp x/a 80
	echo "ID=$BW_ID TMP=$BW_TMP"
	echo "PIDS=${BW_PIDS[*]}"
	false || bw_die "deliberate failure half-way"
fi

bw_init

bw_pod_add x a 10.1.0.1 fd00::1:1 pod=a
bw_pod_add x b 10.1.0.2 fd00::1:2 pod=b
bw_pod_add y a 10.2.0.1 pod=a
bw_external_add ext1 192.0.2.10 2001:db8::10

for who in x/a x/b y/a ext1; do
	bw_server_tcp "$who" 80 81
	bw_server_udp "$who" 80
done
bw_server_tcp node 80

for src in x/a x/b y/a; do
	for dst in x/a x/b y/a; do
		[ "$src" = "$dst" ] && continue
		bw_expect_ok "tcp $src -> $dst:80" bw_probe_tcp "$src" "$dst" 80
		bw_expect_ok "udp $src -> $dst:80" bw_probe_udp "$src" "$dst" 80
		bw_expect_ok "icmp $src -> $dst" bw_probe_icmp "$src" "$dst"
	done
	bw_expect_ok "tcp $src -> ext1:80" bw_probe_tcp "$src" ext1 80
	bw_expect_ok "tcp $src -> node:80" bw_probe_tcp "$src" node 80
	bw_expect_ok "tcp node -> $src:81" bw_probe_tcp node "$src" 81
	bw_expect_ok "tcp ext1 -> $src:81" bw_probe_tcp ext1 "$src" 81
done
bw_expect_ok "tcp6 x/a -> x/b:80" bw_probe_tcp6 x/a x/b 80
bw_expect_ok "udp6 x/a -> x/b:80" bw_probe_udp6 x/a x/b 80
bw_expect_ok "icmp6 x/a -> x/b" bw_probe_icmp6 x/a x/b
bw_expect_ok "tcp6 x/b -> ext1:81" bw_probe_tcp6 x/b ext1 81
bw_expect_ok "tcp6 node -> x/a:80" bw_probe_tcp6 node x/a 80

# Negative controls: the probes must be able to fail.
bw_expect_blocked "tcp to a closed port fails" bw_probe_tcp x/a x/b 82
bw_expect_blocked "udp to a closed port fails" bw_probe_udp x/a x/b 82
bw_expect_blocked "tcp to an unrouted address fails" bw_probe_tcp x/a 10.99.0.1 80
bw_expect_blocked "icmp to an unrouted address fails" bw_probe_icmp x/a 10.99.0.1
bw_expect_ok "udp to a closed port gets port unreachable" \
	bw_probe_udp_refused x/a x/b 82
bw_expect_blocked "refused-probe fails when the port answers" \
	bw_probe_udp_refused x/a x/b 80

# A forged source address reaches the target when nothing filters (the
# anti-spoofing test relies on this: rp_filter is off in the node).
bw_udp_sink x/b 9999 "$BW_TMP/sink"
bw_send_udp_from x/a 10.1.0.1 x/b 9999 4 own
bw_send_udp_from y/a 10.1.0.1 x/b 9999 4 forged
bw_send_udp_from x/a fd00::1:99 x/b 9999 6 forged6
bw_check "a datagram from the own address arrives" \
	bw_wait_for 3 grep -qx own "$BW_TMP/sink"
bw_check "with no filter, a forged source address arrives too" \
	bw_wait_for 3 grep -qx forged "$BW_TMP/sink"
bw_check "with no filter, a forged IPv6 source address arrives too" \
	bw_wait_for 3 grep -qx forged6 "$BW_TMP/sink"

# Cleanup after a hard failure half-way through.
child=$(bash "$0" --half-built 2>&1)
crc=$?
cid=$(printf '%s\n' "$child" | sed -n 's/^ID=\([^ ]*\) .*/\1/p')
ctmp=$(printf '%s\n' "$child" | sed -n 's/.* TMP=//p')
bw_check "half-built child exits 99" test "$crc" = 99
bw_check "half-built child printed its id" test -n "$cid"
bw_check "no netns of the child is left" \
	bash -c "! ip netns list | grep -q '^$cid-'"
bw_check "no bpffs of the child is left mounted" \
	bash -c "! grep -q '$ctmp' /proc/mounts"
bw_check "the child's temp dir is gone" test ! -e "$ctmp"
cpids=$(printf '%s\n' "$child" | sed -n 's/^PIDS=//p')
bw_check "the child started a server" test -n "$cpids"
for pid in $cpids; do
	bw_check "the child's server (pid $pid) is gone" \
		bash -c "! kill -0 $pid 2>/dev/null"
done

bw_finish
