#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_policy_dir.sh - policies from files in policy.dir, with
# real traffic: a file dropped into the directory is enforced without a
# restart; a changed file is enforced; a bad file is refused as a whole with
# a message naming the file, document, line and field, and the policies the
# file had before stay in force; a removed file takes its policies with it;
# file policies cannot be deleted or taken over through the API; the
# directory is read again at start.
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

# policy_field NS/NAME FIELD : print FIELD of the policy in `policy list -o json`
# (nothing if the policy is not listed).
policy_field() {
	bw policy list -o json 2>/dev/null | python3 -c '
import json, sys
ns, name = sys.argv[1].split("/", 1)
for p in json.load(sys.stdin):
    if p["namespace"] == ns and p["name"] == name:
        print(p[sys.argv[2]])
' "$1" "$2"
}

# policy_has NS/NAME FIELD VALUE : the listed policy's FIELD is VALUE.
policy_has() {
	[ "$(policy_field "$1" "$2")" = "$3" ]
}

policy_absent() {
	[ -z "$(policy_field "$1" name)" ]
}

# file_error PATH REGEX : GET /v1/status lists PATH with an error matching REGEX.
file_error() {
	bw status -o json 2>/dev/null | python3 -c '
import json, re, sys
st = json.load(sys.stdin)
for f in st.get("policy", {}).get("files", []):
    if f["path"] == sys.argv[1] and f.get("error") and re.search(sys.argv[2], f["error"]):
        sys.exit(0)
sys.exit(1)
' "$1" "$2"
}

# file_ok PATH : GET /v1/status lists PATH without an error.
file_ok() {
	bw status -o json 2>/dev/null | python3 -c '
import json, sys
st = json.load(sys.stdin)
sys.exit(0 if any(f["path"] == sys.argv[1] and not f.get("error")
                  for f in st.get("policy", {}).get("files", [])) else 1)
' "$1"
}

# write_policy FILE : write stdin to FILE in policy.dir atomically (rename),
# as configuration management tools do.
write_policy() {
	cat >"$BW_POLICY_DIR/.$1.tmp" && mv -f "$BW_POLICY_DIR/.$1.tmp" "$BW_POLICY_DIR/$1"
}

F=$BW_POLICY_DIR/a-ingress.yaml

bw_expect_ok "no policy yet: x/b -> x/a" bw_probe_tcp x/b x/a 80

# ---- a dropped file is enforced without a restart --------------------------
write_policy a-ingress.yaml <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: a-from-c
  namespace: x
spec:
  podSelector:
    matchLabels:
      pod: a
  ingress:
  - from:
    - podSelector:
        matchLabels:
          pod: c
    ports:
    - port: 80
EOF
bw_check "the dropped file's policy is loaded" \
	bw_wait_for 10 policy_has x/a-from-c revision 1
bw_check "its source is the file" policy_has x/a-from-c source "$F"
bw_expect_blocked "file policy enforced: x/b -> x/a" bw_probe_tcp x/b x/a 80
bw_expect_ok "file policy allows x/c -> x/a" bw_probe_tcp x/c x/a 80
bw_expect_verdict "trace x/b -> x/a: DENIED" DENIED --from x/b --to x/a --port 80
bw_expect_trace "trace names the isolating file policy" \
	'isolated by policies NetworkPolicy x/a-from-c' --from x/b --to x/a --port 80

# ---- a changed file is enforced ----------------------------------------------
write_policy a-ingress.yaml <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: a-from-c
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
EOF
bw_check "the changed file gives revision 2" \
	bw_wait_for 10 policy_has x/a-from-c revision 2
bw_expect_ok "changed file: x/b -> x/a allowed" bw_probe_tcp x/b x/a 80
bw_expect_blocked "changed file: x/c -> x/a blocked" bw_probe_tcp x/c x/a 80

# ---- a bad file is refused as a whole; the old policy stays ----------------
write_policy a-ingress.yaml <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: a-from-c
  namespace: x
spec:
  podSelector:
    matchLabels:
      pod: a
  ingress: []
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: broken
  namespace: x
spec:
  podSelector: {}
  ingress:
  - from:
    - ipBlock:
        cidr: 10.0.0.0/33
EOF
bw_check "the bad file is reported with document, line and field" \
	bw_wait_for 10 file_error "$F" \
	'document 2 \(line 12\).*spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr'
bw_check "the refusal is logged naming the file" \
	grep -q "$F refused: .*document 2 (line 12)" "$BW_DAEMON_LOG"
bw_check "the old version stays (revision 2)" policy_has x/a-from-c revision 2
bw_check "no part of the bad file was applied" policy_absent x/broken
bw_expect_ok "old policy still in force: x/b -> x/a" bw_probe_tcp x/b x/a 80
bw_expect_blocked "old policy still in force: x/c -> x/a" bw_probe_tcp x/c x/a 80

# a bad new file (unknown kind) changes nothing either
write_policy other.json <<'EOF'
{"apiVersion": "example.com/v1", "kind": "Firewall", "metadata": {"name": "f"}}
EOF
bw_check "unknown kind: reported with the kinds bulwark accepts" \
	bw_wait_for 10 file_error "$BW_POLICY_DIR/other.json" \
	'document 1 \(line 1\).*not a policy kind bulwark accepts.*NetworkPolicy'
rm -f "$BW_POLICY_DIR/other.json"

# ---- fixing the file applies it --------------------------------------------
write_policy a-ingress.yaml <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: a-from-c
  namespace: x
spec:
  podSelector:
    matchLabels:
      pod: a
  ingress:
  - from:
    - podSelector:
        matchLabels:
          pod: c
EOF
bw_check "the fixed file gives revision 3" \
	bw_wait_for 10 policy_has x/a-from-c revision 3
bw_check "the file's error is cleared" file_ok "$F"
bw_expect_blocked "fixed file: x/b -> x/a blocked" bw_probe_tcp x/b x/a 80
bw_expect_ok "fixed file: x/c -> x/a allowed" bw_probe_tcp x/c x/a 80

# ---- file policies belong to their file ---------------------------------------
bw_expect_output "policy delete refuses a file policy" \
	'comes from the file .*a-ingress.yaml' \
	bash -c "! '$BULWARK' -s '$BW_SOCK' policy delete x/a-from-c"
bw_check "the policy is still there" policy_has x/a-from-c revision 3
bw_policy_import_text takeover <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: a-from-c
  namespace: x
spec:
  podSelector: {}
EOF
rc=$?
bw_check "API import of a file policy's name is refused" test "$rc" != 0
bw_check "... and changes nothing" policy_has x/a-from-c revision 3

# ---- the directory is read again at start -------------------------------------
bw_restart_daemon
bw_check "after a restart the file policy is back" policy_has x/a-from-c source "$F"
bw_expect_blocked "after a restart: x/b -> x/a blocked" bw_probe_tcp x/b x/a 80
bw_expect_ok "after a restart: x/c -> x/a allowed" bw_probe_tcp x/c x/a 80

# ---- a removed file takes its policies with it ------------------------------
rm -f "$F"
bw_check "removing the file removes its policy" bw_wait_for 10 policy_absent x/a-from-c
bw_expect_ok "file removed: x/b -> x/a allowed again" bw_probe_tcp x/b x/a 80

bw_stop_daemon
bw_finish
