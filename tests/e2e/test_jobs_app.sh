#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_jobs_app.sh - the quick start's demo (demo/jobs-app, what
# demo/run.sh runs after installing) against the build tree, with this
# run's own run directory, socket, state, bpffs, policy and Lua directories
# and netns prefix; nothing of /usr/local or the host's network is touched.
#
#   - down after an up that was killed half way removes everything it made;
#   - Ctrl-C in the middle of up removes everything it made;
#   - up brings the application up: one round of its traffic all answers;
#   - walkthrough --yes goes through its 9 steps, and each step's summary
#     line says what the daemon answered (steps whose feature this build
#     lacks must say "not available on this build", and only then);
#   - down leaves no network namespace, mount, process or file behind.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init
for t in jq:jq curl:curl nsenter:util-linux setsid:util-linux nginx:nginx-light \
	dnsmasq:dnsmasq dig:bind9-dnsutils kcat:kcat openssl:openssl; do
	bw_require_tool "${t%%:*}" "${t#*:}"
done
python3 -c 'import yaml' 2>/dev/null || bw_skip "python3-yaml is missing"

DEMO=$abs_top_srcdir/demo/jobs-app
BULWARK=$(bw_find_bin bulwark "${BULWARK:-}" "$abs_top_builddir/bulwark")
BULWARKD=$(bw_find_bin bulwarkd "${BULWARKD:-}" "$abs_top_builddir/bulwarkd")
[ -n "$BULWARK" ] && [ -n "$BULWARKD" ] || bw_die "build bulwark and bulwarkd first"
export BULWARK BULWARKD
export BW_DEMO_RUN=$BW_TMP/run
export BW_DEMO_NETNS=${BW_ID}j
export BW_DEMO_WEBUI_PORT=0 BW_DEMO_METRICS_PORT=0
D=$BW_TMP/demo
SOCK=$D/sock/bulwark.sock
DAEMON_OPTS=(-c "$(bw_daemon_conf)" -o "daemon.module_dir=$(bw_module_dir)"
	-o "daemon.socket=$SOCK" -o "daemon.state_dir=$D/state"
	-o "daemon.bpffs_dir=$BW_BPFFS/demo" -o "policy.dir=$D/policies"
	-o "lua.dir=$D/lua" -o "hubble-observer.socket=$D/hubble/hubble.sock"
	-o "webui.assets=$abs_top_srcdir/modules/webui/dist")
mkdir -p "$D" || bw_die "mkdir $D"
# whatever happens, the demo's own down runs before lib.sh's cleanup
trap 'rc=$?; "$DEMO" down >/dev/null 2>&1; (exit $rc); bw_cleanup' EXIT

# fails_with DESC REGEX CMD... : CMD exits non-zero, saying REGEX
fails_with() {
	local desc=$1 re=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		bw_fail "$desc: '$*' succeeded"
	elif printf '%s' "$out" | tr '\n' ' ' | grep -Eq -- "$re"; then
		bw_pass "$desc"
	else
		bw_fail "$desc: '$*' said '$out', want /$re/"
	fi
}
demo_netns() { ip netns list 2>/dev/null | awk '{print $1}' | grep "^$BW_DEMO_NETNS-"; }
# what down must remove: every path below must be gone
left_behind() {
	local p
	demo_netns | sed 's/^/netns /'
	grep -E "$BW_DEMO_NETNS-|$BW_TMP/run|$BW_BPFFS/demo" /proc/mounts | sed 's/^/mount /'
	for p in "$BW_DEMO_RUN" "$D/state" "$BW_BPFFS/demo" "$D/sock" "$D/policies" "$D/lua" "$D/hubble"; do
		[ ! -e "$p" ] || echo "file $p"
	done
	for p in "${demo_pids[@]}"; do
		kill -0 "$p" 2>/dev/null && echo "process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
	done
	return 0
}
# the demo's processes: the daemon, what up recorded, what runs in its namespaces
collect_pids() {
	local ns
	demo_pids=()
	[ -f "$BW_DEMO_RUN/settings" ] && demo_pids+=($(sed -n 's/^DAEMON_PID=//p' "$BW_DEMO_RUN/settings"))
	[ -f "$BW_DEMO_RUN/pids" ] && demo_pids+=($(awk '{print $1}' "$BW_DEMO_RUN/pids"))
	for ns in $(demo_netns); do
		demo_pids+=($(ip netns pids "$ns" 2>/dev/null))
	done
}

bw_expect_output "--help says how to run it" 'demo/jobs-app \[--prefix DIR\] up' "$DEMO" --help
bw_check "... and is all text, no code" sh -c "! '$DEMO' --help | grep -q 'pipefail'"
fails_with "a wrong argument is refused, naming it" "unknown argument 'sideways'" "$DEMO" sideways

# ---- down after an up that was killed half way -----------------------------------------------
"$DEMO" up -- "${DAEMON_OPTS[@]}" >"$BW_TMP/up1.log" 2>&1 &
up_pid=$!
daemon_answers() { "$BULWARK" -s "$SOCK" status >/dev/null 2>&1; }
if bw_wait_for 60 daemon_answers; then
	collect_pids
	kill -KILL "$up_pid" 2>/dev/null
	wait "$up_pid" 2>/dev/null
	collect_pids
	bw_expect_output "down after a killed up says what it did" "down: processes, network namespaces and files of the demo are gone" \
		"$DEMO" down
	bw_check "and nothing is left behind ($(left_behind | tr '\n' ';'))" test -z "$(left_behind)"
else
	bw_fail "the daemon of the first up never answered: $(tail -n 5 "$BW_TMP/up1.log" | tr '\n' ' ')"
	kill -KILL "$up_pid" 2>/dev/null
	"$DEMO" down >/dev/null 2>&1
fi
# ---- Ctrl-C in the middle of up ---------------------------------------------------------------
# bulwark, wrapped: the call that registers jobs-app/loader waits until the
# test has pressed Ctrl-C (SIGINT to up's process group, as a terminal does)
cat >"$BW_TMP/bulwark-held" <<EOF
#!/bin/sh
case "\$*" in *"endpoint add jobs-app/loader "*)
	touch "$BW_TMP/held"
	while :; do sleep 0.1; done ;;
esac
exec "$BULWARK" "\$@"
EOF
chmod +x "$BW_TMP/bulwark-held"
# as from a terminal: up in a process group of its own, SIGINT not ignored
BULWARK=$BW_TMP/bulwark-held python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setpgid(0, 0)
os.execvp(sys.argv[1], sys.argv[1:])' "$DEMO" up -- "${DAEMON_OPTS[@]}" >"$BW_TMP/up2.log" 2>&1 &
up_pid=$!
held() { [ -e "$BW_TMP/held" ]; }
if bw_wait_for 60 held; then
	collect_pids
	kill -INT -- -"$up_pid"
	wait "$up_pid"
	rc=$?
	bw_check "Ctrl-C in the middle of up: up fails ($rc), saying so ($(tail -n 3 "$BW_TMP/up2.log" | tr '\n' ' '))" \
		grep -q "up failed: interrupted" "$BW_TMP/up2.log"
	bw_check "... and nothing is left behind ($(left_behind | tr '\n' ';'))" test -z "$(left_behind)"
else
	bw_fail "up never reached jobs-app/loader: $(tail -n 5 "$BW_TMP/up2.log" | tr '\n' ' ')"
	kill -KILL -- -"$up_pid" 2>/dev/null
	"$DEMO" down >/dev/null 2>&1
fi

bw_expect_output "down when nothing is up is harmless" "the demo is not up; nothing to remove" "$DEMO" down
fails_with "up with a bad daemon option fails, naming it" "unknown key 'no_such_key'.*up failed: bulwarkd -n refused" \
	"$DEMO" up -- "${DAEMON_OPTS[@]}" -o daemon.no_such_key=1
bw_check "and leaves nothing behind ($(left_behind | tr '\n' ';'))" test -z "$(left_behind)"

# ---- up --------------------------------------------------------------------------------------------
if ! "$DEMO" up -- "${DAEMON_OPTS[@]}" >"$BW_TMP/up.log" 2>&1; then
	cat "$BW_TMP/up.log"
	bw_die "demo/jobs-app up failed"
fi
bw_pass "up brings the demo up"
bw_expect_output "its 10 pods are registered" \
	"jobs-app/crawler.*jobs-app/elasticsearch.*jobs-app/jobposting.*jobs-app/kafka.*jobs-app/loader.*jobs-app/recruiter.*jobs-app/zookeeper.*jobs-ops/monitoring.*jobs-ops/scanner" \
	bash -c "'$BULWARK' -s '$SOCK' endpoint list | grep -o 'jobs-[a-z]*/[a-z]*' | sort | tr '\n' ' '"
bw_expect_output "one round of the application's traffic: every connection answers" \
	"=> 9 of 9 answered" "$DEMO" traffic
fails_with "up twice is refused" "the demo is already up" "$DEMO" up

# ---- the walkthrough -----------------------------------------------------------------------------
"$DEMO" walkthrough --yes >"$BW_TMP/walk.log" 2>&1
rc=$?
bw_check "walkthrough --yes exits 0 (log: $(tail -n 3 "$BW_TMP/walk.log" | tr '\n' ' '))" test "$rc" = 0
headers=$(grep -o '^\[[0-9]/9\] [A-Za-z ()]*:' "$BW_TMP/walk.log" | tr '\n' '|')
bw_check "its 9 steps, in the talk's order ($headers)" test "$headers" = \
	'[1/9] Live flows:|[2/9] Exposure:|[3/9] Recommend (coarse):|[4/9] Simulate:|[5/9] Apply:|[6/9] Compliance:|[7/9] Alert:|[8/9] Recommend (fine):|[9/9] Broad rules:|'
bw_check "each step ends with one summary line" test "$(grep -c '^  => ' "$BW_TMP/walk.log")" = 9
# summary N : the summary line of step N
summary() { awk -v n="[$1/9]" 'index($0, n) == 1 { on = 1 } on && /^  => / { print; exit }' "$BW_TMP/walk.log"; }
expect_summary() { # DESC N REGEX
	local got
	got=$(summary "$2")
	if printf '%s\n' "$got" | grep -Eq -- "$3"; then
		bw_pass "$1"
	else
		bw_fail "$1: step $2 says '$got', want /$3/"
	fi
}
modules=$("$BULWARK" -s "$SOCK" modules -o json)
has() { printf '%s' "$modules" | jq -e --arg m "$1" '[.. | objects | select(.module? == $m and .state? == "running")] | length > 0' >/dev/null; }

expect_summary "live flows: the talk's connections, all forwarded, with HTTP requests" 1 \
	'=> (9|1[0-9]) connections between workloads and the outside, all forwarded \(no policy yet\); L7: [1-9][0-9]* HTTP requests'
if has kafka; then
	expect_summary "live flows: Kafka requests (kafka module)" 1 '; [1-9][0-9]* Kafka requests'
else
	expect_summary "live flows: Kafka is not available on this build, and says so" 1 'Kafka requests not available on this build'
fi
if has dnsproxy && has fqdn; then
	expect_summary "live flows: the crawler's DNS lookups and the name they gave (dnsproxy, fqdn)" 1 \
		'; [1-9][0-9]* DNS lookups; names learned: api\.twitter\.example \(198\.51\.100\.10\); [1-9][0-9]* flows to api\.twitter\.example carry its name$'
	bw_check "live flows: the crawler's HTTPS flows show the name, as hubble prints them" \
		grep -Eq '^    .* jobs-app/crawler:[0-9]+ \(ID:[0-9]+\) -> api\.twitter\.example:443 \(world\) ' "$BW_TMP/walk.log"
elif has dnsproxy; then
	expect_summary "live flows: the crawler's DNS lookups (dnsproxy module)" 1 '; [1-9][0-9]* DNS lookups$'
else
	expect_summary "live flows: DNS is not available on this build, and says so" 1 'DNS lookups not available on this build'
fi
expect_summary "exposure: every workload of jobs-app is exposed, mostly unused" 2 \
	'=> of 8 workloads, 8 may be reached from the world \(0 were\), 8 from other namespaces \([1-7] were\), 8 may reach the world \(1 did\)'
if has advisor; then
	expect_summary "recommend coarse: a baseline and a policy for jobs-app, covering everything seen" 3 \
		'CiliumClusterwideNetworkPolicy .*CiliumNetworkPolicy jobs-app/.*; connections seen but not covered: 0$'
	if has fqdn; then
		bw_check "recommend coarse: the crawler's outside calls by the name its lookups gave (toFQDNs)" \
			grep -Eq '^    +- matchName: api\.twitter\.example$' "$BW_TMP/walk.log"
	fi
	expect_summary "simulate: nothing that works today would be dropped" 4 \
		'=> replayed [1-9][0-9]* connections: 0 would be dropped that pass today'
	expect_summary "apply: enforced, and the application still works" 5 \
		'=> enforced: .*; the application still works: 9 of 9 connections answered'
	expect_summary "compliance: every jobs-app endpoint is default deny both ways" 6 \
		'=> 8 endpoints of jobs-app: 8 default-deny on ingress, 8 on egress \(enforced\); policies: .+'
	expect_summary "alert: the scanner's denied connection, naming the policy" 7 \
		'=> alert: jobs-ops/scanner -> jobs-app/(zookeeper|loader):(2181|50051) DROPPED, .* by .+'
	bw_check "the unexpected connections got no answer" \
		test "$(grep -c '^  jobs-.*no answer$' "$BW_TMP/walk.log")" -ge 3
	expect_summary "recommend fine: per-workload policies" 8 \
		'=> .*CiliumNetworkPolicy jobs-app/.*\(coarse: '
	expect_summary "broad rules: the coarse rules that allow more than they were used for" 9 \
		'=> ([1-9][0-9]* rules allow far more than they were used for, e\.g\. .+|no rule allows far more)'
	bw_check "the recommended policies are enforced" test -n "$("$BULWARK" -s "$SOCK" policy list | grep -E 'jobs-app|baseline')"
else
	for n in 3 4 8 9; do
		expect_summary "step $n is not available on this build, and says so" $n \
			'=> not available on this build: recommend, simulate and broad-rules come with the advisor module'
	done
	expect_summary "apply: nothing to apply, and says why" 5 '=> nothing to apply: there is no recommendation'
	expect_summary "compliance: nothing is default deny" 6 '=> 8 endpoints of jobs-app: 0 default-deny on ingress, 0 on egress'
	expect_summary "alert: nothing is denied, and says why" 7 '=> no alert: nothing is denied while no policy is enforced'
fi
bw_expect_output "it ends with where to look further and how to stop" \
	"Stop the demo and remove everything it made: .*jobs-app down" tail -n 1 "$BW_TMP/walk.log"
bw_check "... naming the Hubble socket" grep -q "hubble observe --server unix://$D/hubble/hubble.sock" "$BW_TMP/walk.log"
bw_check "... which is there" test -S "$D/hubble/hubble.sock"

# ---- down -------------------------------------------------------------------------------------------
collect_pids
bw_check "the demo runs processes before down (${#demo_pids[@]})" test "${#demo_pids[@]}" -ge 15
bw_expect_output "down stops it" "down: processes, network namespaces and files of the demo are gone" "$DEMO" down
bw_check "down leaves nothing behind ($(left_behind | tr '\n' ';'))" test -z "$(left_behind)"
bw_finish
