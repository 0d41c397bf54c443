#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_bpffs.sh - the BPF filesystem at start-up, as cilium-agent
# handles it (core/datapath/bpffs.c). `ip netns exec` mounts a fresh sysfs,
# where /sys/fs/bpf is a plain directory in which nothing can be created:
# bulwarkd started there with daemon.bpffs_dir=/sys/fs/bpf/NAME mounts a
# bpffs on /sys/fs/bpf itself, says so, warns that in its own mount
# namespace the pins (and enforcement) do not outlive it, enforces, answers
# `bulwark status` and exits 0 on SIGTERM, leaving nothing in the host's
# /sys/fs/bpf. A daemon.bpffs_dir that cannot be created, or a bpffs that
# cannot be mounted, stops the start with a message naming the key and the
# fix.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_require_tool setpriv util-linux
bw_init

name=$BW_ID-bpf
dir=/sys/fs/bpf/$name
host_before=$(ls -A /sys/fs/bpf 2>/dev/null | grep -c "^$name$")
# later -o words win: the daemon's bpffs_dir is under /sys/fs/bpf
bw_start_daemon -o "daemon.bpffs_dir=$dir"

bw_expect_output "bulwark status answers" '^ready: +yes' bw status
bw_expect_output "status shows bpffs_dir $dir" "bpffs_dir=$dir" bw status
if grep -q "mounted a BPF filesystem on /sys/fs/bpf, in bulwarkd's own mount namespace" \
	"$BW_DAEMON_LOG" &&
   grep -q "do not survive a stop or restart" "$BW_DAEMON_LOG"; then
	bw_pass "it says it mounted a bpffs on /sys/fs/bpf, and that the pins go with it"
else
	bw_fail "the log should say that a bpffs was mounted on /sys/fs/bpf in a private mount namespace"
	sed 's/^/#   | /' "$BW_DAEMON_LOG"
fi

# it enforces
bw namespace set x || bw_die "namespace set x"
bw_pod_add x a 10.5.0.1 app=a || bw_die "endpoint add x/a"
bw_pod_add x b 10.5.0.2 app=b || bw_die "endpoint add x/b"
bw_server_tcp x/a 80
bw_expect_ok "no policy: x/b -> x/a" bw_probe_tcp x/b x/a 80
bw_policy_import_text deny <<'EOF' || bw_fail "import"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: x}
spec:
  podSelector: {matchLabels: {app: a}}
  policyTypes: [Ingress]
EOF
bw_expect_blocked "default deny: x/b -> x/a" bw_probe_tcp x/b x/a 80

bw_stop_daemon # asserts exit status 0
host_after=$(ls -A /sys/fs/bpf 2>/dev/null | grep -c "^$name$")
if [ "$host_before" = 0 ] && [ "$host_after" = 0 ]; then
	bw_pass "nothing of it is left in the host's /sys/fs/bpf"
else
	bw_fail "the host's /sys/fs/bpf holds $name"
fi

# ---- what cannot work is refused, naming the key and the fix -----------------
: >"$BW_TMP/a-file"
conf=$(bw_daemon_conf)
start_fails() { # WANT-REGEX CMD... : the command must exit non-zero, saying WANT
	local want=$1 out rc
	shift
	out=$(timeout 30 "$@" 2>&1) && rc=0 || rc=$?
	if [ "$rc" != 0 ] && [ "$rc" != 124 ] && printf '%s\n' "$out" | grep -Eq -- "$want"; then
		return 0
	fi
	echo "# exit $rc:"
	printf '%s\n' "$out" | tail -n 5 | sed 's/^/#   | /'
	return 1
}
# bulwarkd with this test's other paths, in the node netns
daemon=("$BULWARKD" -c "$conf" -o "daemon.module_dir=$(bw_module_dir)"
	-o "daemon.socket=$BW_TMP/other.sock" -o "daemon.state_dir=$BW_TMP/state2"
	-o "policy.dir=$BW_POLICY_DIR" -o "hubble-observer.socket=$BW_TMP/h2.sock")
bw_check "a bpffs_dir that cannot be created: refused, naming daemon.bpffs_dir" \
	start_fails 'cannot create daemon\.bpffs_dir .*a-file/sub.*set daemon\.bpffs_dir' \
	ip netns exec "$BW_NODE" "${daemon[@]}" -o "daemon.bpffs_dir=$BW_TMP/a-file/sub"
# without CAP_SYS_ADMIN (dropped from the bounding set: root's exec keeps
# only what is in it) no bpffs can be mounted on /sys/fs/bpf
bw_check "no right to mount a bpffs: refused, saying how to mount one or which key to set" \
	start_fails 'not a BPF filesystem and mounting one there failed.*mount -t bpf bpf /sys/fs/bpf.*daemon\.bpffs_dir' \
	ip netns exec "$BW_NODE" setpriv --bounding-set=-sys_admin "${daemon[@]}" \
	-o "daemon.bpffs_dir=/sys/fs/bpf/$name"

bw_finish
