#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_state.sh - the daemon's state files against a full disk
# and damage (issue 8's reliability findings):
#  - with daemon.state_dir on a full filesystem (a small tmpfs this test
#    mounts), `policy import` and `policy delete` are refused and change
#    nothing, since what cannot be stored would not survive a restart;
#    once there is room, the imported policy survives a restart;
#  - a state file of the wrong shape (policies.json `[]` or version 99,
#    endpoints.json without its lists, policy-refs.json a list,
#    identities.json with identities that are not a list, quarantines.json
#    a list or without its list) or a FIFO in its place stops the start
#    with a message naming the file, never read as an empty state, and the
#    pinned datapath meanwhile keeps enforcing.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init
bw_mount_tmpfs "$BW_TMP/statefs" 1m
BW_STATE=$BW_TMP/statefs/state
bw_start_daemon

bw namespace set x || bw_die "namespace set x"
bw_pod_add x a 10.7.0.1 app=a || bw_die "endpoint add x/a"
bw_pod_add x b 10.7.0.2 app=b || bw_die "endpoint add x/b"
bw_server_tcp x/a 80

bw_policy_import_text deny <<'EOF' || bw_die "import deny"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: x}
spec:
  podSelector: {matchLabels: {app: a}}
  policyTypes: [Ingress]
EOF
bw_expect_blocked "default deny: x/b -> x/a" bw_probe_tcp x/b x/a 80

cat >"$BW_TMP/allow.yaml" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-b, namespace: x}
spec:
  podSelector: {matchLabels: {app: a}}
  ingress:
  - from:
    - podSelector: {matchLabels: {app: b}}
EOF

# ---- a full state_dir ------------------------------------------------------
dd if=/dev/zero of="$BW_TMP/statefs/fill" bs=4k >/dev/null 2>&1
refused() { ! bw "$@"; }
bw_expect_output "full state_dir: policy import is refused, nothing changed" \
	'nothing changed: cannot store the API-managed policies in .*policies\.json: No space left on device' \
	refused policy import "$BW_TMP/allow.yaml"
bw_expect_blocked "the refused import is not enforced: x/b -> x/a" bw_probe_tcp x/b x/a 80
bw_check_fails "the refused policy is not listed" sh -c "\"$BULWARK\" -s \"$BW_SOCK\" policy list | grep -q allow-b"
bw_expect_output "full state_dir: policy delete is refused, nothing changed" \
	'nothing changed: cannot store the API-managed policies' refused policy delete x/deny
bw_expect_blocked "the deny is still enforced: x/b -> x/a" bw_probe_tcp x/b x/a 80

rm -f "$BW_TMP/statefs/fill"
bw_expect_output "with room again: policy import" '1 changed' bw policy import "$BW_TMP/allow.yaml"
bw_expect_ok "allow-b: x/b -> x/a" bw_probe_tcp x/b x/a 80
bw_restart_daemon
bw_expect_output "after a restart allow-b is still there" 'allow-b' bw policy list
bw_expect_ok "after a restart: x/b -> x/a" bw_probe_tcp x/b x/a 80
bw policy delete x/allow-b || bw_fail "delete allow-b"
bw_expect_blocked "allow-b deleted: x/b -> x/a" bw_probe_tcp x/b x/a 80
bw_stop_daemon

# ---- damaged state files: refused, the datapath keeps enforcing -------------
# expect_refused DESC FILE CONTENT REGEX [REGEX2] : with FILE holding CONTENT
# (or a FIFO for "fifo"), bulwarkd must exit non-zero in time saying REGEX
# (and REGEX2), and
# x/a must stay unreachable from x/b (the pinned default deny).
expect_refused() {
	local desc=$1 f=$2 content=$3 re=$4 re2=${5:-.} saved=$BW_TMP/saved rc
	cp "$f" "$saved" 2>/dev/null || : >"$saved"
	rm -f "$f"
	if [ "$content" = fifo ]; then
		mkfifo "$f"
	else
		printf '%s\n' "$content" >"$f"
	fi
	bw_run_daemon_fg 30 && rc=0 || rc=$?
	if [ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -Eq -- "$re" "$BW_TMP/fg.log" &&
	   grep -Eq -- "$re2" "$BW_TMP/fg.log"; then
		bw_pass "$desc: the start is refused, naming the file"
	else
		bw_fail "$desc: bulwarkd exited $rc (124: still running after 30 s); its output:"
		tail -n 20 "$BW_TMP/fg.log" | sed 's/^/#   | /'
	fi
	bw_expect_blocked "$desc: meanwhile the pinned datapath enforces: x/b -> x/a" \
		bw_probe_tcp x/b x/a 80
	rm -f "$f"
	cp "$saved" "$f"
}
pol=$BW_STATE/policies.json
expect_refused "policies.json holding []" "$pol" '[]' \
	'policies\.json: not a bulwark state file \(a list'
expect_refused "policies.json of version 99" "$pol" '{"version":99,"policies":[]}' \
	'policies\.json: version 99, this bulwarkd reads version 1'
expect_refused "policies.json without its list" "$pol" '{"version":1}' \
	'policies\.json: "policies" is missing, not a list'
expect_refused "a FIFO as policies.json" "$pol" fifo 'policies\.json: not a regular file'
expect_refused "endpoints.json without its lists" "$BW_STATE/endpoints.json" \
	'{"version":1,"next_id":3}' 'endpoints\.json: "namespaces" is missing'
expect_refused "policy-refs.json holding []" "$BW_STATE/policy-refs.json" '[]' \
	'policy-refs\.json: not a bulwark state file'
expect_refused "quarantines.json holding []" "$BW_STATE/quarantines.json" '[]' \
	'quarantine: .*quarantines\.json: not a bulwark state file \(a list'
expect_refused "quarantines.json whose quarantines are not a list" \
	"$BW_STATE/quarantines.json" '{"version":1,"next":1,"quarantines":{}}' \
	'quarantines\.json: "quarantines" is something else, not a list'
idf=$(find "$BW_STATE" -name identities.json | head -n 1)
[ -n "$idf" ] || bw_die "no identities.json in $BW_STATE"
expect_refused "identities.json whose identities are not a list" "$idf" \
	'{"version":1,"identities":{}}' 'identities\.json: not an identity table' \
	'cannot allocate an identity: no identity module is running: \[identity-local\] is disabled'

# the files back as they were: it starts and enforces as before
bw_start_daemon
bw_expect_output "restored files: the deny policy is back" 'deny' bw policy list
bw_expect_blocked "restored files: x/b -> x/a" bw_probe_tcp x/b x/a 80
bw_stop_daemon
bw_finish
