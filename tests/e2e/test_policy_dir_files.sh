#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_policy_dir_files.sh - policy.dir against files that are
# not (yet) policy files: a FIFO with a policy name does not hang the
# daemon (at start or later) and is shown as refused; a file rewritten in
# place is applied only once it is closed (a pause after its first part
# does not apply that part alone, so a deny is never dropped meanwhile),
# and shown as pending until then; a file renamed into place is applied; a
# file too large is refused in `bulwark status`, its earlier policies
# staying in force.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_require_tool jq jq
bw_init
bw_start_daemon

bw namespace set x || bw_die "namespace set x"
bw_pod_add x a 10.8.0.1 app=a || bw_die "endpoint add x/a"
bw_pod_add x b 10.8.0.2 app=b || bw_die "endpoint add x/b"
bw_server_tcp x/a 80

# file_json NAME : the status entry of policy.dir/NAME (JSON, or nothing)
file_json() {
	bw status -o json 2>/dev/null |
		jq -c --arg p "$BW_POLICY_DIR/$1" '.policy.files[] | select(.path == $p)'
}
file_is() { # NAME JQ-EXPR : the status entry of NAME satisfies JQ-EXPR
	file_json "$1" | jq -e "$2" >/dev/null 2>&1
}
policy_listed() { bw policy list -o json | jq -e --arg n "$1" 'map(select(.name == $n)) | length == 1' >/dev/null; }

ISOLATE='apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: isolate-a, namespace: x}
spec:
  podSelector: {matchLabels: {app: a}}
  policyTypes: [Ingress]'
ALLOW='apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-b, namespace: x}
spec:
  podSelector: {matchLabels: {app: a}}
  ingress:
  - from:
    - podSelector: {matchLabels: {app: b}}'

# ---- a FIFO is never opened for reading in a way that blocks -------------------
mkfifo "$BW_POLICY_DIR/fifo.yaml"
if bw_wait_for 10 file_is fifo.yaml '.error | test("not a regular file")'; then
	bw_pass "a FIFO in policy.dir is refused in the status"
else
	bw_fail "a FIFO in policy.dir should be refused in the status: $(file_json fifo.yaml)"
fi
bw_expect_output "and the daemon still answers" '^ready: +yes' bw status
bw_restart_daemon
bw_expect_output "a restart with the FIFO there: the daemon starts and answers" \
	'^ready: +yes' bw status
rm -f "$BW_POLICY_DIR/fifo.yaml"

# ---- a file rewritten in place is applied once closed -------------------------------
printf '%s\n' "$ISOLATE" >"$BW_POLICY_DIR/p.yaml"
bw_wait_for 10 policy_listed isolate-a || bw_fail "isolate-a from p.yaml was not loaded"
bw_expect_blocked "isolate-a: x/b -> x/a" bw_probe_tcp x/b x/a 80

# A writer that truncates p.yaml, writes a comment, waits (holding it open
# for writing) until $go exists, then writes both documents and closes.
go=$BW_TMP/go
python3 - "$BW_POLICY_DIR/p.yaml" "$go" "$ISOLATE
---
$ALLOW" <<'EOF' &
import os, sys, time
path, go, rest = sys.argv[1:4]
with open(path, "w") as f:
    f.write("# being rewritten\n")
    f.flush()
    while not os.path.exists(go):
        time.sleep(0.05)
    f.write(rest + "\n")
EOF
writer=$!
BW_PIDS+=("$writer")
if bw_wait_for 10 file_is p.yaml '.pending == true'; then
	bw_pass "a file open for writing is shown as pending"
else
	bw_fail "p.yaml should be pending while it is written: $(file_json p.yaml)"
fi
bw_expect_blocked "half-written p.yaml is not applied: the deny stays (x/b -> x/a)" \
	bw_probe_tcp x/b x/a 80
if policy_listed isolate-a; then
	bw_pass "half-written: isolate-a is still in force"
else
	bw_fail "half-written p.yaml dropped isolate-a"
fi
touch "$go"
wait "$writer"
if bw_wait_for 10 policy_listed allow-b; then
	bw_pass "once closed, p.yaml is applied whole"
else
	bw_fail "p.yaml was not applied after it was closed: $(file_json p.yaml)"
fi
bw_check "p.yaml is no longer pending" file_is p.yaml '.pending == false and .error == null'
bw_expect_ok "allow-b: x/b -> x/a" bw_probe_tcp x/b x/a 80

# ---- renamed into place -------------------------------------------------------------
printf '%s\n' "$ISOLATE" >"$BW_POLICY_DIR/.p.yaml.tmp"
mv "$BW_POLICY_DIR/.p.yaml.tmp" "$BW_POLICY_DIR/p.yaml"
if bw_wait_for 10 sh -c "! \"$BULWARK\" -s \"$BW_SOCK\" policy list | grep -q allow-b"; then
	bw_pass "a file renamed into place is applied (allow-b is gone)"
else
	bw_fail "the renamed p.yaml was not applied"
fi
bw_expect_blocked "renamed p.yaml: x/b -> x/a" bw_probe_tcp x/b x/a 80

# ---- too large ----------------------------------------------------------------------------
python3 -c '
import sys
line = "# " + "x" * 1021 + "\n"
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(sys.argv[2] + "\n")
    for _ in range(17 * 1024):
        f.write(line)
' "$BW_POLICY_DIR/.big" "$ALLOW"
mv "$BW_POLICY_DIR/.big.tmp" "$BW_POLICY_DIR/p.yaml"
if bw_wait_for 10 file_is p.yaml '.error | test("larger than 16 MiB")'; then
	bw_pass "a file larger than 16 MiB is refused in the status"
else
	bw_fail "p.yaml of 17 MiB should be refused in the status: $(file_json p.yaml)"
fi
bw_expect_blocked "its earlier policies stay in force: x/b -> x/a" bw_probe_tcp x/b x/a 80
bw_check "isolate-a is still listed" policy_listed isolate-a

bw_stop_daemon
bw_finish
