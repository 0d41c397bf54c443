#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_tcx.sh - the datapath programs attached as tcx links
# (daemon.tc_attach = tcx, named; auto, the default, resolves to it on a
# kernel with tcx), with real traffic:
#   - tc_attach = tcx: one link per hook, pinned under <bpffs>/links, no
#     clsact filter;
#   - the links outlive the process that made them: a denied connection
#     stays denied, an allowed one allowed;
#   - a re-attach updates the pinned link to the new program (same link,
#     new program, still one program on the hook);
#   - an interface attached with clsact by an earlier run moves to tcx (and
#     back with tc_attach = clsact, and again with auto), the old
#     attachment removed, enforcement unchanged at each step;
#   - detach removes links and pins; the pins of a vanished interface are
#     removed at the next start;
#   - the same through bulwarkd: the mode in its log and in `bulwark status`,
#     links on endpoint add,
#     enforcement while the daemon is down, the same links after a restart,
#     daemon.tc_attach = clsact, back to tcx, endpoint delete.
# Driven by tests/e2e/bwdp first, then by bulwarkd. Skips (77) on a kernel
# without tcx. Needs root and BPF; tools as tests/e2e/lib.sh, bpftool
# optional.
. "$(dirname "$0")/lib.sh"

bw_init

BWDP=$(bw_find_bin bwdp "${BWDP:-}" "$abs_top_builddir/tests/e2e/bwdp")
[ -n "$BWDP" ] || bw_die "tests/e2e/bwdp not built (make check builds it)"
# every bwdp below attaches with tcx unless it says -m
export BW_TC_ATTACH=tcx

# dp [-m MODE] CMD... : run bwdp in the node namespace on our bpffs.
dp() {
	local -a args=()
	local c
	if [ "${1:-}" = -m ]; then
		args+=(-m "$2")
		shift 2
	fi
	for c in "$@"; do
		args+=(-e "$c")
	done
	bw_nsx "$BW_NODE" "$BWDP" -d "$BW_BPFFS" "${args[@]}"
}

# dp_flat CMD... : dp's output on one line.
dp_flat() {
	local out
	out=$(dp "$@") || return 1
	printf '%s\n' "$out" | tr '\n' ' '
}

# ifindex_of IF : the interface index of a node-side veth.
ifindex_of() {
	bw_nsx "$BW_NODE" cat "/sys/class/net/$1/ifindex"
}

# link_field IF HOOK FIELD : id= / prog= of bulwark's pinned link on IF's HOOK.
link_field() {
	dp "tcx $1" | sed -n "s/^link $2 .*$3=\([0-9]*\).*/\1/p"
}

# our_filters IF HOOK : our clsact filters on IF's HOOK (nothing when none).
our_filters() {
	bw_nsx "$BW_NODE" tc filter show dev "$1" "$2" | grep -E 'bw_(from|to)_lxc' || true
}

# on_tcx DESC IF : both programs on IF's tcx hooks, one each, pinned, and
# no clsact filter of ours.
on_tcx() {
	local idx
	idx=$(ifindex_of "$2")
	bw_expect_output "$1: one tcx program per hook, linked and pinned" \
		"tcx ingress count=1 bw_from_lxc:([0-9]+) link ingress id=[0-9]+ type=11 prog=\1 ifindex=$idx tcx egress count=1 bw_to_lxc:([0-9]+) link egress id=[0-9]+ type=11 prog=\2 ifindex=$idx" \
		dp_flat "tcx $2"
	bw_check "$1: pins under links/" test -e "$BW_BPFFS/links/$idx-ingress" \
		-a -e "$BW_BPFFS/links/$idx-egress"
	bw_expect_output "$1: no clsact filter of ours (ingress)" "^$" our_filters "$2" ingress
	bw_expect_output "$1: no clsact filter of ours (egress)" "^$" our_filters "$2" egress
}

# on_clsact DESC IF : our clsact filters on both hooks, no tcx link or pin.
on_clsact() {
	local idx
	idx=$(ifindex_of "$2")
	bw_expect_output "$1: clsact filter (ingress)" "bw_from_lxc" our_filters "$2" ingress
	bw_expect_output "$1: clsact filter (egress)" "bw_to_lxc" our_filters "$2" egress
	bw_expect_output "$1: no tcx program or link" \
		"tcx ingress count=0 link ingress none tcx egress count=0 link egress none" \
		dp_flat "tcx $2"
	bw_check "$1: no pins" test ! -e "$BW_BPFFS/links/$idx-ingress" \
		-a ! -e "$BW_BPFFS/links/$idx-egress"
}

# status_mode : "attach_mode" of the "bpf" section of `bulwark status -o json`.
status_mode() {
	bw status -o json | python3 -c 'import json, sys; print(json.load(sys.stdin)["bpf"]["attach_mode"])'
}

# detached DESC IF : nothing of ours on IF.
detached() {
	local idx
	idx=$(ifindex_of "$2")
	bw_expect_output "$1: no tcx program or link" \
		"tcx ingress count=0 link ingress none tcx egress count=0 link egress none" \
		dp_flat "tcx $2"
	bw_check "$1: no pins" test ! -e "$BW_BPFFS/links/$idx-ingress" \
		-a ! -e "$BW_BPFFS/links/$idx-egress"
	bw_expect_output "$1: no clsact filter (ingress)" "^$" our_filters "$2" ingress
	bw_expect_output "$1: no clsact filter (egress)" "^$" our_filters "$2" egress
}

if [ "$(dp attach-mode 2>/dev/null)" != "attach-mode tcx" ]; then
	bw_skip "this kernel has no tcx links (tc_attach = tcx refused)"
fi
bw_pass "tc_attach = tcx is accepted on this kernel"
bw_expect_output "tc_attach = auto resolves to tcx on this kernel" "^attach-mode tcx" \
	dp -m auto attach-mode
bw_expect_output "tc_attach = clsact can be forced" "^attach-mode clsact" dp -m clsact attach-mode

# ---------------------------------------------------------------------------
# driven by bwdp: pods a, b, c; b's ingress allows a on tcp/80

bw_pod_add x a 10.1.0.1
bw_pod_add x b 10.1.0.2
bw_pod_add x c 10.1.0.3
IFA=${BW_IF_OF[x/a]} IFB=${BW_IF_OF[x/b]} IFC=${BW_IF_OF[x/c]}
bw_server_tcp x/b 80
bw_server_tcp x/c 80

bw_check "attach (tcx) and program the maps" dp \
	"attach $IFA" "attach $IFB" \
	"ep $IFA 1 1001" "ep $IFB 2 1002 ingress" "ep $IFC 3 1003" \
	"ipc 10.1.0.1 1001 1" "ipc 10.1.0.2 1002 2" "ipc 10.1.0.3 1003 3" \
	"policy 2 in:1001:tcp:80:allow:11"
on_tcx "attach" "$IFB"
if command -v bpftool >/dev/null 2>&1; then
	idx=$(ifindex_of "$IFB")
	bw_expect_output "bpftool sees a pinned tcx link (type 11)" \
		"^[0-9]+: (type 11|tcx) +prog [0-9]+" \
		bpftool link show pinned "$BW_BPFFS/links/$idx-ingress"
fi

# every dp above was its own process, which has exited: the links are held
# by their pins alone
bw_expect_ok "links outlive the driver: a -> b tcp/80 allowed" bw_probe_tcp x/a x/b 80
bw_expect_blocked "links outlive the driver: c -> b tcp/80 denied" bw_probe_tcp x/c x/b 80

# re-attach: the same link, a new program, still one program per hook
LINK1=$(link_field "$IFB" ingress id)
PROG1=$(link_field "$IFB" ingress prog)
ELINK1=$(link_field "$IFB" egress id)
bw_check "re-attach (a new process, new programs)" dp "attach $IFB"
LINK2=$(link_field "$IFB" ingress id)
PROG2=$(link_field "$IFB" ingress prog)
bw_check "re-attach keeps the pinned link (ingress id $LINK1 -> $LINK2)" \
	test -n "$LINK1" -a "$LINK1" = "$LINK2"
bw_check "re-attach keeps the pinned link (egress)" \
	test -n "$ELINK1" -a "$ELINK1" = "$(link_field "$IFB" egress id)"
bw_check "re-attach replaced the program (prog $PROG1 -> $PROG2)" \
	test -n "$PROG1" -a -n "$PROG2" -a "$PROG1" != "$PROG2"
on_tcx "re-attach" "$IFB"
bw_expect_ok "after re-attach: a -> b tcp/80 allowed" bw_probe_tcp x/a x/b 80
bw_expect_blocked "after re-attach: c -> b tcp/80 denied" bw_probe_tcp x/c x/b 80

# an earlier run attached c with clsact: the next tcx attach moves it to
# tcx and removes the filters; and back with clsact forced, then auto
dp "ep $IFC 3 1003 ingress" "policy 3 in:1001:tcp:80:allow:12"
bw_check "attach c with clsact forced" dp -m clsact "attach $IFC"
on_clsact "clsact" "$IFC"
bw_expect_ok "clsact: a -> c allowed" bw_probe_tcp x/a x/c 80
bw_expect_blocked "clsact: b -> c denied" bw_probe_tcp x/b x/c 80
bw_check "attach c again (tcx)" dp "attach $IFC"
on_tcx "clsact -> tcx" "$IFC"
bw_expect_ok "clsact -> tcx: a -> c allowed" bw_probe_tcp x/a x/c 80
bw_expect_blocked "clsact -> tcx: b -> c denied" bw_probe_tcp x/b x/c 80
bw_check "attach c with clsact forced again" dp -m clsact "attach $IFC"
on_clsact "tcx -> clsact" "$IFC"
bw_expect_ok "tcx -> clsact: a -> c allowed" bw_probe_tcp x/a x/c 80
bw_expect_blocked "tcx -> clsact: b -> c denied" bw_probe_tcp x/b x/c 80
bw_check "attach c with auto" dp -m auto "attach $IFC"
on_tcx "clsact -> auto (tcx)" "$IFC"
bw_expect_ok "clsact -> auto: a -> c allowed" bw_probe_tcp x/a x/c 80
bw_expect_blocked "clsact -> auto: b -> c denied" bw_probe_tcp x/b x/c 80

# detach
bw_check "detach c" dp "detach $IFC"
detached "detach" "$IFC"
bw_expect_ok "detached: b -> c passes (no program)" bw_probe_tcp x/b x/c 80

# a vanished interface: its links are detached by the kernel, the pins stay
# until the next start removes them
dp "attach $IFC" "ep-del $IFC" "policy 3"
IDXC=$(ifindex_of "$IFC")
ip -n "$BW_NODE" link del "$IFC"
bw_check "pins of the deleted interface are still there" \
	test -e "$BW_BPFFS/links/$IDXC-ingress" -a -e "$BW_BPFFS/links/$IDXC-egress"
dp attach-mode >/dev/null
bw_check "the next start removed the stale pins" \
	test ! -e "$BW_BPFFS/links/$IDXC-ingress" -a ! -e "$BW_BPFFS/links/$IDXC-egress"
on_tcx "other interfaces keep their links" "$IFB"

# leave nothing of the bwdp part for the daemon
dp "detach $IFA" "detach $IFB" "policy 2" "ep-del $IFA" "ep-del $IFB" \
	"ipc-del 10.1.0.1" "ipc-del 10.1.0.2" "ipc-del 10.1.0.3" ||
	bw_die "cleaning up the bwdp part"

# ---------------------------------------------------------------------------
# through bulwarkd

bw_start_daemon -o daemon.tc_attach=tcx
bw_expect_output "bulwarkd logs the attach mode" "datapath: attaching with tcx" \
	cat "$BW_DAEMON_LOG"
bw_expect_output "bulwark status shows the attach mode" "^tcx$" status_mode
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
on_tcx "endpoint add" "$IFD"
bw_expect_ok "daemon: e -> d allowed" bw_probe_tcp y/e y/d 80
bw_expect_blocked "daemon: f -> d denied" bw_probe_tcp y/f y/d 80
DLINK=$(link_field "$IFD" ingress id)
DPROG=$(link_field "$IFD" ingress prog)

bw_stop_daemon
on_tcx "daemon down" "$IFD"
bw_expect_ok "daemon down: e -> d still allowed" bw_probe_tcp y/e y/d 80
bw_expect_blocked "daemon down: f -> d still denied" bw_probe_tcp y/f y/d 80

bw_start_daemon -o daemon.tc_attach=tcx
on_tcx "daemon restarted" "$IFD"
bw_check "restart updated the same link (id $DLINK)" \
	test -n "$DLINK" -a "$DLINK" = "$(link_field "$IFD" ingress id)"
bw_check "restart attached its own program (prog $DPROG -> $(link_field "$IFD" ingress prog))" \
	test -n "$DPROG" -a "$DPROG" != "$(link_field "$IFD" ingress prog)"
bw_expect_ok "restarted: e -> d allowed" bw_probe_tcp y/e y/d 80
bw_expect_blocked "restarted: f -> d denied" bw_probe_tcp y/f y/d 80

bw_restart_daemon -o daemon.tc_attach=clsact
bw_expect_output "daemon.tc_attach = clsact is logged" "datapath: attaching with clsact" \
	cat "$BW_DAEMON_LOG"
bw_expect_output "bulwark status shows clsact" "^clsact$" status_mode
on_clsact "daemon with tc_attach = clsact" "$IFD"
bw_expect_ok "clsact daemon: e -> d allowed" bw_probe_tcp y/e y/d 80
bw_expect_blocked "clsact daemon: f -> d denied" bw_probe_tcp y/f y/d 80

bw_restart_daemon -o daemon.tc_attach=tcx
on_tcx "daemon back to tcx" "$IFD"
bw_expect_blocked "back to tcx: f -> d denied" bw_probe_tcp y/f y/d 80

bw_expect_output "endpoint delete y/d" "endpoint y/d deleted" bw endpoint delete y/d
detached "endpoint delete" "$IFD"
bw_expect_ok "deleted endpoint: f -> d passes untouched" bw_probe_tcp y/f y/d 80

bw_finish
