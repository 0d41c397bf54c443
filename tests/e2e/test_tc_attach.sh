#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_tc_attach.sh - daemon.tc_attach as a user meets it
# (docs/datapath.md, "Attachment" and "Switching"):
#   - a daemon with the default configuration (tc_attach = auto) attaches
#     the programs as tcx links on a kernel with tcx (clsact filters on one
#     without): its log and `bulwark status` say so, the veth has one
#     pinned link per hook and no filter of bulwark's;
#   - switching tc_attach on a live node (the pods keep running, bulwarkd
#     restarted with tc_attach = clsact, as a node with much endpoint churn
#     would be, then with the default again) moves every endpoint's veth
#     with enforcement kept throughout: probers that connect to the
#     protected pod from a pod the policy does not allow, in loops for the
#     whole time, never get through, and allowed traffic passes after each
#     step.
# The tcx steps are skipped on a kernel without tcx. Needs root and BPF.
. "$(dirname "$0")/lib.sh"

bw_init

BWDP=$(bw_find_bin bwdp "${BWDP:-}" "$abs_top_builddir/tests/e2e/bwdp")
[ -n "$BWDP" ] || bw_die "tests/e2e/bwdp not built (make check builds it)"
unset BW_TC_ATTACH

# tcx_of IF : the programs on IF's tcx hooks and bulwark's pins, one line
tcx_of() {
	bw_nsx "$BW_NODE" "$BWDP" -d "$BW_BPFFS" -e "tcx $1" | tr '\n' ' '
}

# our_filters IF HOOK : bulwark's clsact filters on IF's HOOK (nothing when none)
our_filters() {
	bw_nsx "$BW_NODE" tc filter show dev "$1" "$2" | grep -E 'bw_(from|to)_lxc' || true
}

# last_log : the daemon log of its latest start (lib.sh appends every start)
last_log() {
	awk '/^# .* starting: / { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' \
		"$BW_DAEMON_LOG"
}

status_mode() {
	bw status -o json | python3 -c 'import json, sys; print(json.load(sys.stdin)["bpf"]["attach_mode"])'
}

# as_clsact DESC IF / as_tcx DESC IF : how IF's programs are attached
as_clsact() {
	bw_expect_output "$1: bw_from_lxc is a clsact filter (tc ingress)" "bw_from_lxc" \
		our_filters "$2" ingress
	bw_expect_output "$1: bw_to_lxc is a clsact filter (tc egress)" "bw_to_lxc" \
		our_filters "$2" egress
	bw_expect_output "$1: no tcx program, no pinned link" \
		"tcx ingress count=0 link ingress none tcx egress count=0 link egress none" \
		tcx_of "$2"
}
as_tcx() {
	bw_expect_output "$1: one tcx link per hook" \
		"tcx ingress count=1 bw_from_lxc:[0-9]+ link ingress id=[0-9]+ .*tcx egress count=1 bw_to_lxc:[0-9]+ link egress id=[0-9]+" \
		tcx_of "$2"
	bw_expect_output "$1: no clsact filter of ours (ingress)" "^$" our_filters "$2" ingress
	bw_expect_output "$1: no clsact filter of ours (egress)" "^$" our_filters "$2" egress
}

# ---------------------------------------------------------------------------
# the default configuration

grep -Eq '^tc_attach *= *auto' "$(bw_daemon_conf)" ||
	bw_die "$(bw_daemon_conf) does not have the default tc_attach = auto"
HAVE_TCX=0
[ "$(bw_nsx "$BW_NODE" "$BWDP" -d "$BW_BPFFS" -m tcx -e attach-mode 2>/dev/null)" = \
	"attach-mode tcx" ] && HAVE_TCX=1
DEFAULT=clsact
[ $HAVE_TCX = 1 ] && DEFAULT=tcx
bw_start_daemon
if [ $HAVE_TCX = 1 ]; then
	bw_expect_output "the default (auto) is logged as tcx" \
		"datapath: attaching with tcx, links pinned under" last_log
else
	bw_expect_output "the default (auto) is logged as clsact" \
		"datapath: attaching with clsact \(no tcx in this kernel" last_log
fi
bw_expect_output "bulwark status shows $DEFAULT" "^$DEFAULT$" status_mode
bw namespace set y || bw_die "namespace set y"
bw_pod_add y d 10.2.0.1 pod=d || bw_die "endpoint add y/d"
bw_pod_add y e 10.2.0.2 pod=e || bw_die "endpoint add y/e"
bw_pod_add y f 10.2.0.3 pod=f || bw_die "endpoint add y/f"
IFD=${BW_IF_OF[y/d]}
bw_server_tcp y/d 80
bw_policy_import_text pol <<'EOF' || bw_die "policy import"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: d-from-e
  namespace: y
spec:
  podSelector:
    matchLabels:
      pod: d
  ingress:
  - from:
    - podSelector:
        matchLabels:
          pod: e
    ports:
    - port: 80
EOF
"as_$DEFAULT" "default configuration" "$IFD"
bw_expect_ok "default configuration: e -> d allowed" bw_probe_tcp y/e y/d 80
bw_expect_blocked "default configuration: f -> d denied" bw_probe_tcp y/f y/d 80

if [ $HAVE_TCX = 0 ]; then
	bw_log "this kernel has no tcx links: the switching steps are skipped"
	bw_finish
fi

# ---------------------------------------------------------------------------
# switching on a live node, a prober running all along

PROBES=$BW_TMP/denied-probes
STOP=$BW_TMP/stop-probing
: >"$PROBES"
# f -> d tcp/80 in a loop until told to stop, four loops at once (a denied
# attempt waits out its 1 s connect timeout): one line per attempt
PROBERS=()
for k in 1 2 3 4; do
	(
		while [ ! -e "$STOP" ]; do
			if bw_probe_tcp y/f y/d 80 1; then echo through; else echo blocked; fi >>"$PROBES"
		done
	) &
	BW_PIDS+=($!)
	PROBERS+=($!)
done
probes_so_far() { wc -l <"$PROBES"; }
# wait_probes N : the prober has made more than N attempts
wait_probes() { [ "$(probes_so_far)" -gt "$1" ]; }
n=$(probes_so_far)
bw_wait_for 30 wait_probes "$n" || bw_die "the prober does not run"

n=$(probes_so_far)
bw_restart_daemon -o daemon.tc_attach=clsact
bw_expect_output "restarted with tc_attach = clsact: logged" \
	"datapath: attaching with clsact \(tc_attach = clsact\)" last_log
bw_expect_output "bulwark status shows clsact" "^clsact$" status_mode
as_clsact "tcx -> clsact on a live node" "$IFD"
bw_check "tcx -> clsact: the pinned links are gone" \
	test -z "$(ls -A "$BW_BPFFS/links" 2>/dev/null)"
bw_wait_for 30 wait_probes "$n" || bw_die "the prober stopped"
bw_expect_ok "clsact: e -> d allowed" bw_probe_tcp y/e y/d 80
bw_expect_blocked "clsact: f -> d denied" bw_probe_tcp y/f y/d 80

n=$(probes_so_far)
bw_restart_daemon -o daemon.tc_attach=auto
bw_expect_output "back to the default: logged as tcx" \
	"datapath: attaching with tcx, links pinned under" last_log
bw_expect_output "back to the default: bulwark status shows tcx" "^tcx$" status_mode
as_tcx "clsact -> default (tcx) on a live node" "$IFD"
bw_wait_for 30 wait_probes "$n" || bw_die "the prober stopped"
bw_expect_ok "default again: e -> d allowed" bw_probe_tcp y/e y/d 80

touch "$STOP"
wait "${PROBERS[@]}" 2>/dev/null
bw_log "prober: $(grep -c blocked "$PROBES") attempts blocked, $(grep -c through "$PROBES" || true) through"
through() { grep -c through "$PROBES" || true; }
bw_expect_output "while switching, f -> d never got through" "^0$" through
bw_check "the prober ran throughout ($(probes_so_far) attempts)" test "$(probes_so_far)" -gt 2

bw_finish
