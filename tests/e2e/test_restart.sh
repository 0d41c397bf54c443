#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_restart.sh - a bulwarkd restart with unchanged policy
# changes nothing a workload can see (DESIGN 12), with real traffic:
#   - a long-lived, allowed TCP connection opened before the restart keeps
#     working through the stop, the time the daemon is down and the start
#     (the same connection: one client process, one socket);
#   - a peer the policy denies stays denied while the daemon is down and
#     after it is back; a new allowed connection works after the restart;
#   - the resolved entries, their rule references and the kernel's map are
#     the same before and after, so verdicts keep naming the same rule;
#   - the API-managed policies come back from the state directory with their
#     revisions.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init
bw_require_tool python3 python3
bw_start_daemon

bw namespace set x || bw_die "namespace set x"
bw_pod_add x a 10.1.0.1 pod=a || bw_die "endpoint add x/a"
bw_pod_add x b 10.1.0.2 pod=b || bw_die "endpoint add x/b"
bw_pod_add x c 10.1.0.3 pod=c || bw_die "endpoint add x/c"
bw_server_tcp x/a 80

# An echo server on x/a:9000 for the long-lived connection.
NS_A=$(bw_netns_of x/a)
bw_bg "$NS_A" socat TCP4-LISTEN:9000,fork,reuseaddr EXEC:cat
bw_wait_listen "$NS_A" tcp 9000

bw_policy_import_text pol <<'EOF' || bw_die "policy import"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: a-from-b
  namespace: x
spec:
  podSelector:
    matchLabels:
      pod: a
  ingress:
  - from:
    - podSelector:
        matchLabels:
          pod: b
    ports:
    - port: 80
    - port: 9000
EOF

bw_expect_ok "before restart: x/b -> x/a allowed" bw_probe_tcp x/b x/a 80
bw_expect_blocked "before restart: x/c -> x/a denied" bw_probe_tcp x/c x/a 80

# ---- the long-lived connection: x/b -> x/a:9000 ------------------------------
# The client reads lines from a FIFO we keep open and writes the echoes to a
# file; if the connection is cut, socat exits and no later echo arrives.
FIFO=$BW_TMP/conn.in
OUT=$BW_TMP/conn.out
mkfifo "$FIFO" || bw_die "mkfifo"
: >"$OUT"
exec 7<>"$FIFO"
NS_B=$(bw_netns_of x/b)
bw_bg "$NS_B" sh -c "exec socat -T 3600 - TCP4:10.1.0.1:9000 <'$FIFO' >>'$OUT'"
CLIENT_PID=${BW_PIDS[${#BW_PIDS[@]} - 1]}

# echo_back WORD : the word sent on the connection comes back.
echo_back() {
	echo "$1" >&7
	bw_wait_for 5 grep -qx "$1" "$OUT"
}

bw_check "long-lived connection works before the restart" echo_back before-restart

# resolved_state : the endpoint's resolved entries, rule refs and flags as
# JSON (what must not change across a restart), plus whether the map matches.
resolved_state() {
	bw policy resolved x/a -o json | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(json.dumps({"flags": r["flags"], "identity": r["identity"],
                  "entries": [[e["direction"], e["identity"], e["protocol"],
                               e["port_lo"], e["port_hi"], e["action"],
                               e["rule_ref"]] for e in r["entries"]],
                  "in_sync": r["in_sync"]}, sort_keys=True))'
}
BEFORE=$(resolved_state)
bw_check "before restart: the kernel map matches the resolved state" \
	grep -q '"in_sync": true' <<<"$BEFORE"
REV_BEFORE=$(bw policy list -o json | python3 -c \
	'import json,sys; print([p["revision"] for p in json.load(sys.stdin) if p["name"] == "a-from-b"][0])')

# ---- daemon down: the pinned maps keep enforcing ----------------------------
bw_stop_daemon
bw_check "daemon down: the long-lived connection still works" echo_back while-down
bw_expect_blocked "daemon down: x/c -> x/a still denied" bw_probe_tcp x/c x/a 80
bw_expect_ok "daemon down: x/b -> x/a still allowed" bw_probe_tcp x/b x/a 80

# ---- daemon back -------------------------------------------------------------
bw_start_daemon "${BW_DAEMON_OPTS_CUR[@]}"
bw_check "after restart: the long-lived connection survived" echo_back after-restart
bw_check "the client process kept its one connection" kill -0 "$CLIENT_PID"
bw_expect_blocked "after restart: x/c -> x/a still denied" bw_probe_tcp x/c x/a 80
bw_expect_ok "after restart: new x/b -> x/a connection allowed" bw_probe_tcp x/b x/a 80
bw_expect_verdict "after restart: trace x/c -> x/a is DENIED" DENIED \
	--from x/c --to x/a --port 80
bw_expect_trace "after restart: the allow names the same policy" 'a-from-b' \
	--from x/b --to x/a --port 9000
AFTER=$(resolved_state)
if [ "$BEFORE" = "$AFTER" ]; then
	bw_pass "resolved entries, rule refs and flags are the same after the restart"
else
	bw_fail "resolved state changed across the restart"
	printf '#   before: %s\n#   after:  %s\n' "$BEFORE" "$AFTER"
fi
REV_AFTER=$(bw policy list -o json | python3 -c \
	'import json,sys; print([p["revision"] for p in json.load(sys.stdin) if p["name"] == "a-from-b"][0])')
bw_check "the API-managed policy came back with its revision ($REV_BEFORE)" \
	test "$REV_BEFORE" = "$REV_AFTER"
bw_check "no policy was changed by the restart" \
	bash -c "! grep -q 'policy: updated' '$BW_DAEMON_LOG'"

# ---- a policy change after the restart still cuts what it denies ------------
bw_policy_replace_text none <<'EOF' || bw_fail "policy replace"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: a-deny-all
  namespace: x
spec:
  podSelector:
    matchLabels:
      pod: a
EOF
bw_expect_blocked "after the change: x/b -> x/a denied" bw_probe_tcp x/b x/a 80
echo "after-change" >&7
sleep 1
bw_check "after the change: the long-lived connection is cut" \
	bash -c "! grep -qx after-change '$OUT'"

exec 7>&-
bw_stop_daemon
bw_finish
