#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_demo.sh - the quick start's demo workload (demo/workload.sh,
# what demo/run.sh runs after installing) against the build tree: with this
# run's own socket, state directory, bpffs and netns prefix, for a bounded
# time. While it runs, the flows must show the demo's verdicts exactly: the
# four allowed paths forwarded, the three denied ones dropped by policy; the
# service map shows the edges; afterwards the demo has removed its network
# namespaces and its endpoints and exited 0.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init
bw_require_tool jq jq
bw_require_tool curl curl
bw_require_tool nsenter util-linux

demo=$abs_top_srcdir/demo/workload.sh
prefix=${BW_ID}d
BULWARK=$(bw_find_bin bulwark "${BULWARK:-}" "$abs_top_builddir/bulwark")
BULWARKD=$(bw_find_bin bulwarkd "${BULWARKD:-}" "$abs_top_builddir/bulwarkd")
[ -n "$BULWARK" ] && [ -n "$BULWARKD" ] || bw_die "build bulwark and bulwarkd first"
# the demo's namespaces go too if this test is interrupted
demo_cleanup() {
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$prefix-"); do
		ip netns del "$ns" 2>/dev/null
	done
}
export BULWARK_SOCKET=$BW_SOCK
BULWARKD=$BULWARKD BULWARK=$BULWARK BW_DEMO_PREFIX=$prefix "$demo" --duration 12 --webui-port 0 -- \
	-c "$(bw_daemon_conf)" -o "daemon.module_dir=$(bw_module_dir)" \
	-o "daemon.socket=$BW_SOCK" -o "daemon.state_dir=$BW_STATE" \
	-o "daemon.bpffs_dir=$BW_BPFFS" -o "policy.dir=$BW_POLICY_DIR" \
	-o "hubble-observer.socket=$BW_HUBBLE_SOCK" \
	>"$BW_TMP/demo.log" 2>&1 &
demo_pid=$!
trap 'rc=$?; kill "$demo_pid" 2>/dev/null; wait "$demo_pid" 2>/dev/null; demo_cleanup; (exit $rc); bw_cleanup' EXIT

# verdicts SOURCE->DEST VERDICT, one per line, of the policy verdict flows
verdicts() {
	"$BULWARK" observe --all --type policy-verdict -o json 2>/dev/null | jq -r '
		select(has("flow")) | .flow |
		"\(.source.namespace)/\(.source.pod_name) -> \(if .destination.pod_name then "\(.destination.namespace)/\(.destination.pod_name)" else .IP.destination end) \(.verdict)"' |
		sort -u
}
want='ops/scanner -> shop/cart DROPPED
shop/cart -> 192.0.2.10 DROPPED
shop/cart -> shop/payments FORWARDED
shop/frontend -> shop/cart FORWARDED
shop/frontend -> shop/payments DROPPED
shop/payments -> 192.0.2.10 FORWARDED'
has_all() { [ "$(verdicts)" = "$want" ]; }
if bw_wait_for 20 has_all; then
	bw_pass "the demo's flows: 3 allowed paths forwarded, 3 denied ones dropped"
else
	bw_fail "the demo's verdicts differ: $(verdicts | tr '\n' ';') want $(echo "$want" | tr '\n' ';')"
fi
drops=$("$BULWARK" observe --all --verdict DROPPED --type drop -o json | jq -r '.flow.drop_reason_desc' | sort -u)
bw_check "the drops are policy drops ($drops)" test "$drops" = POLICY_DENIED
bw_expect_output "bulwark map shows frontend -> cart" "shop/frontend +shop/cart +TCP +8080" \
	"$BULWARK" map --namespace shop
bw_check "the four demo policies are listed" \
	test "$("$BULWARK" policy list | grep -c '^shop ')" = 4

wait "$demo_pid"
rc=$?
bw_check "the demo exits 0 at the end of --duration (log: $(tail -1 "$BW_TMP/demo.log"))" test "$rc" = 0
bw_check "it removed its network namespaces" \
	test -z "$(ip netns list | grep "^$prefix-")"
bw_check "it removed its endpoints from the daemon's state" \
	test "$(bw_endpoint_state | jq '.endpoints | length')" = 0
bw_finish
