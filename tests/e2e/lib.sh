# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# tests/e2e/lib.sh - helpers every end-to-end test sources (bash only).
#
# A test builds its own small world out of network namespaces, runs bulwarkd
# in it and asserts with real traffic what a user would see:
#
#   "node"      netns   bulwarkd runs here; IPv4/IPv6 forwarding on; it owns
#                       the host side of every veth. Node address 10.0.0.1
#                       and fd00::1 (on lo), the source of "host" traffic.
#   pods        netns   one per pod, joined to the node by a veth pair (eth0
#                       inside, <id>h<n> in the node). /32 and /128 addresses,
#                       default routes via link-local gateways (169.254.1.1,
#                       fe80::1) that resolve to the node's veth through
#                       static neighbour entries; the node has a /32 (/128)
#                       route and a static neighbour for each pod. No ARP or
#                       ND is needed in either direction.
#   externals   netns   "outside world" hosts (192.0.2.0/24, 198.51.100.0/24,
#                       203.0.113.0/24, 2001:db8::/32), plumbed like pods but
#                       never registered as endpoints.
#
# Every name (netns, veth) starts with a per-run id, so parallel runs do not
# collide, and every veth is created inside a test namespace: nothing is
# created in, or changed on, the host's network namespace. bulwarkd gets its
# own bpffs instance (mounted on a directory under the run's temporary
# directory; /sys/fs/bpf cannot be used because `ip netns exec` remounts
# /sys), its own state dir, socket and policy dir. An EXIT trap removes
# everything, also after a failure or a half-built topology.
#
# Usage:
#   . "$srcdir/tests/e2e/lib.sh"      (or wherever it lives)
#   bw_init                            # skips (77) unless root + BPF
#   bw_start_daemon
#   bw_pod_add x a 10.1.0.1 fd00::1:1 pod=a
#   bw_server_tcp x/a 80
#   bw_expect_ok "x/b reaches x/a" bw_probe_tcp x/b x/a 80
#   bw_finish                          # exit status from the checks
#
# Environment (all optional):
#   abs_top_builddir / abs_top_srcdir  build and source trees (make check sets
#                                      them; default: the tree holding lib.sh)
#   BULWARKD, BULWARK                  the daemon and CLI binaries
#   BW_CONF                            config file for bulwarkd (default: the
#                                      build tree's etc/bulwark.conf, which
#                                      loads every module)
#   BW_MODULE_DIR                      module directory (default: the build
#                                      tree's modules/.libs)
#   BW_DAEMON_OPTS                     extra "-o S.K=V" words for bulwarkd
#   BW_HOST_ROUTING=bpf|kernel         run the daemon (and tests/e2e/bwdp)
#                                      with datapath.host_routing set so:
#                                      `make check BW_HOST_ROUTING=bpf` runs
#                                      the whole suite with eBPF host routing
#   BW_E2E_KEEP=1                      keep the temp dir (logs) after the run
#   BW_E2E_VERBOSE=1                   trace every command (set -x)
#
# Exit codes follow automake: 0 pass, 1 fail, 77 skip, 99 hard error.

if [ -z "${BASH_VERSION:-}" ]; then
	echo "tests/e2e/lib.sh needs bash" >&2
	exit 99
fi

# ---------------------------------------------------------------------------
# state

BW_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${abs_top_srcdir:=$(cd "$BW_LIB_DIR/../.." && pwd)}"
: "${abs_top_builddir:=$abs_top_srcdir}"

BW_ID=""          # per-run id, prefix of every netns/veth name (8 chars)
BW_TMP=""         # temp dir: state, socket, policies, logs, bpffs mount
BW_NODE=""        # node netns name
BW_BPFFS=""       # bpffs directory given to bulwarkd
BW_BPFFS_MOUNTED=0
BW_SOCK=""        # control socket path
BW_STATE=""       # daemon.state_dir
BW_POLICY_DIR=""  # policy.dir
BW_DAEMON_LOG=""  # bulwarkd's stdout+stderr (all starts appended)
BW_HUBBLE_SOCK="" # the hubble-observer module's gRPC socket (when it is loaded)
BW_DAEMON_PID=""
BW_DAEMON_OPTS_CUR=() # the -o words of the running daemon (restart reuses them)
BW_NODE_IP4=10.0.0.1
BW_NODE_IP6=fd00::1
BW_NETNS_LIST=()  # every netns we created, in creation order
BW_PIDS=()        # background processes we started (servers)
BW_MOUNTS=()      # mounts a test made (bw_mount_tmpfs), unmounted on exit
BW_VETH_SEQ=0
BW_PLUMB_IF=""
BW_PASSED=0
BW_FAILED=0
BW_INITED=0
BW_LOG_ON_EXIT=1  # set to 0 once the test printed the daemon log itself
declare -A BW_NS_OF=()   # "x/a" | "node" | external name -> netns name
declare -A BW_IP4_OF=()  # "x/a" | external name -> IPv4 address
declare -A BW_IP6_OF=()  # -> IPv6 address ("" if none)
declare -A BW_IF_OF=()   # -> host-side veth name in the node netns

# ---------------------------------------------------------------------------
# messages and results

# bw_log MSG... : print a progress line (goes to the test's .log file).
bw_log() {
	printf '# %s\n' "$*"
}

# bw_die MSG... : hard error (exit 99); the EXIT trap cleans up.
bw_die() {
	printf 'ERROR: %s\n' "$*" >&2
	exit 99
}

# bw_skip MSG... : skip the whole test (exit 77); the EXIT trap cleans up.
bw_skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}

# bw_pass MSG : record one passed check and print "PASS: MSG".
bw_pass() {
	BW_PASSED=$((BW_PASSED + 1))
	printf 'PASS: %s\n' "$*"
}

# bw_fail MSG : record one failed check and print "FAIL: MSG". The test goes
# on; bw_finish turns any failure into exit status 1.
bw_fail() {
	BW_FAILED=$((BW_FAILED + 1))
	printf 'FAIL: %s\n' "$*"
}

# bw_check DESC CMD... : run CMD; PASS if it exits 0, FAIL otherwise.
bw_check() {
	local desc=$1
	shift
	if "$@"; then
		bw_pass "$desc"
	else
		bw_fail "$desc (command failed: $*)"
	fi
}

# bw_check_fails DESC CMD... : PASS if CMD exits non-zero (e.g. the CLI must
# refuse something).
bw_check_fails() {
	local desc=$1
	shift
	if "$@"; then
		bw_fail "$desc (command unexpectedly succeeded: $*)"
	else
		bw_pass "$desc"
	fi
}

# Probes (bw_probe_*) return 0 when the connection worked, 1 when it was
# blocked (no answer) and 2 when the probe could not run (unknown host, ...);
# the expectations treat 2 as a failure either way.
#
# bw_expect_ok DESC PROBE ARGS... : the probe (bw_probe_tcp, bw_probe_udp,
# bw_probe_icmp, ...) must succeed. A failed probe is retried once after one
# second (a lost packet is not a policy verdict); the message names the
# probe so a failure says what was expected and what happened.
bw_expect_ok() {
	local desc=$1 rc
	shift
	"$@" && rc=0 || rc=$? # (also safe under set -e)
	if [ $rc = 1 ]; then
		sleep 1
		"$@" && rc=0 || rc=$?
	fi
	case $rc in
	0) bw_pass "$desc" ;;
	1) bw_fail "$desc: expected the connection to succeed, it was blocked ($*)" ;;
	*) bw_fail "$desc: the probe itself failed with status $rc ($*)" ;;
	esac
}

# bw_expect_blocked DESC PROBE ARGS... : the probe must fail (blocked). One
# attempt: any answer from the server is a definite failure.
bw_expect_blocked() {
	local desc=$1 rc
	shift
	"$@" && rc=0 || rc=$?
	case $rc in
	0) bw_fail "$desc: expected the connection to be blocked, it succeeded ($*)" ;;
	1) bw_pass "$desc" ;;
	*) bw_fail "$desc: the probe itself failed with status $rc ($*)" ;;
	esac
}

# bw_expect_output DESC REGEX CMD... : CMD must succeed and its output
# (stdout+stderr) match the extended regular expression REGEX
# (case-insensitive). The output is printed on failure.
bw_expect_output() {
	local desc=$1 re=$2 out rc
	shift 2
	out=$("$@" 2>&1) && rc=0 || rc=$?
	if [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -Eqi -- "$re"; then
		bw_pass "$desc"
	else
		bw_fail "$desc: expected output matching /$re/ from '$*' (exit $rc), got:"
		printf '%s\n' "$out" | sed 's/^/#   | /'
	fi
}

# bw_finish : print the summary and exit 0 if every check passed, 1 if any
# failed (99 if nothing was checked at all: a test must assert something).
bw_finish() {
	printf '# %s: %d passed, %d failed\n' "$(basename "$0")" \
		"$BW_PASSED" "$BW_FAILED"
	if [ "$BW_FAILED" -gt 0 ]; then
		exit 1
	fi
	if [ "$BW_PASSED" -eq 0 ]; then
		bw_die "no check was run"
	fi
	exit 0
}

# ---------------------------------------------------------------------------
# setup and cleanup

# bw_require_tool PROG PACKAGE : hard error (99) naming the Debian package
# when PROG is missing (a missing tool must not turn into a silent skip).
bw_require_tool() {
	command -v "$1" >/dev/null 2>&1 ||
		bw_die "$1 not found: apt-get install $2"
}

# bw_find_bin NAME CANDIDATE... : print the first executable candidate, or
# NAME from PATH; nothing if none.
bw_find_bin() {
	local name=$1 c
	shift
	for c in "$@"; do
		if [ -n "$c" ] && [ -x "$c" ] && [ ! -d "$c" ]; then
			printf '%s\n' "$c"
			return 0
		fi
	done
	command -v "$name" 2>/dev/null
}

# bw_init : check the prerequisites (skip 77 unless root and BPF usable),
# pick the run id, make the temp dir, mount the private bpffs, create the
# node namespace and install the EXIT trap. Call once, before anything else.
bw_init() {
	[ "$BW_INITED" = 1 ] && return 0
	if [ "${BW_E2E_VERBOSE:-0}" = 1 ]; then
		set -x
	fi
	[ "${BW_E2E:-yes}" != no ] ||
		bw_skip "end-to-end tests are off in this build (configure --disable-e2e, as make distcheck does: they run once, in make check)"
	[ "$(id -u)" = 0 ] || bw_skip "needs root (network namespaces, BPF)"
	bw_require_tool ip iproute2
	bw_require_tool socat socat
	bw_require_tool ping iputils-ping
	bw_require_tool timeout coreutils
	bw_require_tool python3 python3
	ip netns list >/dev/null 2>&1 || bw_skip "ip netns does not work here"

	BW_ID=$(printf 'bw%04x%02x' $(($$ & 0xffff)) $((RANDOM & 0xff)))
	# make check's leftover check looks for namespaces named with it
	if [ -n "${BW_CHECK_DIR:-}" ] && [ -d "$BW_CHECK_DIR" ]; then
		echo "$BW_ID" >>"$BW_CHECK_DIR/ids"
	fi
	BW_TMP=$(mktemp -d "${TMPDIR:-/tmp}/bulwark-e2e.$BW_ID.XXXXXX") ||
		bw_die "mktemp failed"
	BW_INITED=1
	trap bw_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	BW_SOCK=$BW_TMP/bulwark.sock
	BW_STATE=$BW_TMP/state
	BW_POLICY_DIR=$BW_TMP/policies
	BW_DAEMON_LOG=$BW_TMP/bulwarkd.log
	BW_HUBBLE_SOCK=$BW_TMP/hubble.sock
	mkdir -p "$BW_STATE" "$BW_POLICY_DIR" || bw_die "mkdir in $BW_TMP failed"

	# A private bpffs instance: pins live exactly as long as the test, and
	# the mount under /tmp stays visible inside `ip netns exec`.
	BW_BPFFS=$BW_TMP/bpffs
	mkdir -p "$BW_BPFFS"
	if ! mount -t bpf bpf "$BW_BPFFS" 2>/dev/null; then
		bw_skip "cannot mount a bpffs (no BPF support or no CAP_SYS_ADMIN)"
	fi
	BW_BPFFS_MOUNTED=1
	if [ -r /proc/sys/kernel/unprivileged_bpf_disabled ] &&
	   command -v bpftool >/dev/null 2>&1 &&
	   ! bpftool prog show >/dev/null 2>&1; then
		bw_skip "the bpf() syscall is not usable here"
	fi

	BW_NODE=$BW_ID-node
	bw_netns_create "$BW_NODE"
	BW_NS_OF[node]=$BW_NODE
	bw_nsx "$BW_NODE" sysctl -qw net.ipv4.ip_forward=1 || bw_die "ip_forward"
	bw_nsx "$BW_NODE" sysctl -qw net.ipv6.conf.all.forwarding=1 ||
		bw_die "ipv6 forwarding"
	# rp_filter off: anti-spoofing must come from bulwark, not the kernel.
	bw_nsx "$BW_NODE" sysctl -qw net.ipv4.conf.all.rp_filter=0
	bw_nsx "$BW_NODE" sysctl -qw net.ipv4.conf.default.rp_filter=0
	ip -n "$BW_NODE" addr add "$BW_NODE_IP4/32" dev lo
	ip -n "$BW_NODE" -6 addr add "$BW_NODE_IP6/128" dev lo nodad
	bw_log "run id $BW_ID, temp dir $BW_TMP, node netns $BW_NODE"
}

# bw_netns_create NAME : create a netns (recorded for cleanup) with lo up.
bw_netns_create() {
	ip netns add "$1" || bw_die "ip netns add $1 failed"
	BW_NETNS_LIST+=("$1")
	ip -n "$1" link set lo up || bw_die "lo up in $1 failed"
}

# bw_nsx NETNS CMD... : run CMD inside the network namespace NETNS.
bw_nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# bw_cleanup : the EXIT trap. Stops the daemon and every process we started,
# deletes every namespace we created (their veths go with them), unmounts
# our bpffs and removes the temp dir. Idempotent and safe on a half-built
# topology; prints the daemon log when the test did not pass.
bw_cleanup() {
	local rc=$? ns pid i
	trap - EXIT INT TERM
	set +e +x
	if [ "$BW_INITED" != 1 ]; then
		return $rc
	fi
	if [ -n "$BW_DAEMON_PID" ]; then
		kill -TERM "$BW_DAEMON_PID" 2>/dev/null
		for i in $(seq 50); do
			kill -0 "$BW_DAEMON_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$BW_DAEMON_PID" 2>/dev/null
		wait "$BW_DAEMON_PID" 2>/dev/null
		BW_DAEMON_PID=""
	fi
	for pid in "${BW_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	# Anything still running inside our namespaces (forked server children,
	# stray probes) was started by this test: end those processes by pid.
	for ns in "${BW_NETNS_LIST[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
	for pid in "${BW_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	BW_PIDS=()
	for ((i = ${#BW_NETNS_LIST[@]} - 1; i >= 0; i--)); do
		ip netns del "${BW_NETNS_LIST[i]}" 2>/dev/null
	done
	BW_NETNS_LIST=()
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ "$BW_LOG_ON_EXIT" = 1 ] &&
	   [ -s "$BW_DAEMON_LOG" ]; then
		echo "# ---- bulwarkd log ($BW_DAEMON_LOG) ----"
		tail -n 200 "$BW_DAEMON_LOG" | sed 's/^/# /'
		echo "# ---- end of bulwarkd log ----"
	fi
	for ((i = ${#BW_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount "${BW_MOUNTS[i]}" 2>/dev/null || umount -l "${BW_MOUNTS[i]}" 2>/dev/null
	done
	BW_MOUNTS=()
	if [ "$BW_BPFFS_MOUNTED" = 1 ]; then
		umount "$BW_BPFFS" 2>/dev/null || umount -l "$BW_BPFFS" 2>/dev/null
		BW_BPFFS_MOUNTED=0
	fi
	if [ -n "$BW_TMP" ] && [ -d "$BW_TMP" ]; then
		if [ "${BW_E2E_KEEP:-0}" = 1 ]; then
			echo "# kept $BW_TMP"
		elif ! mountpoint -q "$BW_BPFFS" 2>/dev/null; then
			rm -rf "$BW_TMP"
		fi
	fi
	BW_INITED=0
	return $rc
}

# ---------------------------------------------------------------------------
# the daemon

# bw_daemon_conf : print the config file bulwarkd starts with ($BW_CONF, or
# the build tree's etc/bulwark.conf, or the source tree's).
bw_daemon_conf() {
	local c
	for c in "${BW_CONF:-}" "$abs_top_builddir/etc/bulwark.conf" \
		 "$abs_top_srcdir/etc/bulwark.conf"; do
		if [ -n "$c" ] && [ -f "$c" ]; then
			printf '%s\n' "$c"
			return 0
		fi
	done
	return 1
}

# bw_module_dir : print the module directory for daemon.module_dir
# ($BW_MODULE_DIR or the build tree's modules/.libs, where every module's
# .so lands, see modules/local.mk).
bw_module_dir() {
	if [ -n "${BW_MODULE_DIR:-}" ]; then
		printf '%s\n' "$BW_MODULE_DIR"
	else
		printf '%s\n' "$abs_top_builddir/modules/.libs"
	fi
}

# bw_start_daemon [-o SECTION.KEY=VALUE]... : start bulwarkd in the node
# netns with this test's socket, state dir, bpffs dir, policy dir and
# module dir (plus $BW_DAEMON_OPTS and the given overrides), output appended
# to $BW_DAEMON_LOG, and wait until `bulwark status --wait` says ready.
# Hard error (99) if the binaries are missing or the daemon does not come up.
bw_start_daemon() {
	local conf moddir i
	[ "$BW_INITED" = 1 ] || bw_die "bw_start_daemon before bw_init"
	[ -z "$BW_DAEMON_PID" ] || bw_die "bulwarkd is already running"
	BULWARKD=$(bw_find_bin bulwarkd "${BULWARKD:-}" \
		"$abs_top_builddir/bulwarkd" "$abs_top_builddir/core/bulwarkd")
	BULWARK=$(bw_find_bin bulwark "${BULWARK:-}" \
		"$abs_top_builddir/bulwark" "$abs_top_builddir/cli/bulwark")
	[ -n "$BULWARKD" ] || bw_die "bulwarkd not found (build it, or set BULWARKD)"
	[ -n "$BULWARK" ] || bw_die "bulwark not found (build it, or set BULWARK)"
	conf=$(bw_daemon_conf) ||
		bw_die "no bulwark.conf found (build etc/bulwark.conf, or set BW_CONF)"
	moddir=$(bw_module_dir)
	[ -d "$moddir" ] || bw_die "module dir $moddir does not exist (build the modules, or set BW_MODULE_DIR)"
	BW_DAEMON_OPTS_CUR=("$@")
	local -a cmd=("$BULWARKD" -c "$conf"
		-o "daemon.socket=$BW_SOCK"
		-o "daemon.state_dir=$BW_STATE"
		-o "daemon.bpffs_dir=$BW_BPFFS"
		-o "policy.dir=$BW_POLICY_DIR"
		-o "daemon.module_dir=$moddir")
	# The Hubble API's Unix socket is a file: keep it in the test's
	# directory (the default, /var/run/bulwark/hubble.sock, is the host's).
	if grep -Eq '^modules *=.*(^| |=)hubble-observer( |$)' "$conf"; then
		cmd+=(-o "hubble-observer.socket=$BW_HUBBLE_SOCK")
	fi
	# the suite's routing mode (docs/datapath.md, "eBPF host routing")
	if [ -n "${BW_HOST_ROUTING:-}" ]; then
		cmd+=(-o "datapath.host_routing=$BW_HOST_ROUTING")
	fi
	# shellcheck disable=SC2206
	local -a extra=(${BW_DAEMON_OPTS:-})
	cmd+=("${extra[@]}" "$@")
	echo "# $(date +%T) starting: ${cmd[*]}" >>"$BW_DAEMON_LOG"
	bw_log "starting bulwarkd: ${cmd[*]}"
	ip netns exec "$BW_NODE" "${cmd[@]}" >>"$BW_DAEMON_LOG" 2>&1 &
	BW_DAEMON_PID=$!
	if ! "$BULWARK" -s "$BW_SOCK" status --wait 60 >/dev/null 2>&1; then
		if ! kill -0 "$BW_DAEMON_PID" 2>/dev/null; then
			wait "$BW_DAEMON_PID"
			i=$?
			BW_DAEMON_PID=""
			bw_die "bulwarkd exited with status $i during start-up (log above)"
		fi
		bw_die "bulwarkd did not answer ready within 60 s (log above)"
	fi
	bw_log "bulwarkd ready (pid $BW_DAEMON_PID)"
}

# bw_run_daemon_fg SECONDS [-o SECTION.KEY=VALUE]... : run bulwarkd in the
# node netns with this test's paths (as bw_start_daemon would) in the
# foreground, for a start that must fail: its output goes to
# $BW_TMP/fg.log, its exit status is returned; after SECONDS it is stopped
# and 124 returned (it did not fail).
bw_run_daemon_fg() {
	local t=$1 conf moddir
	shift
	BULWARKD=$(bw_find_bin bulwarkd "${BULWARKD:-}" \
		"$abs_top_builddir/bulwarkd" "$abs_top_builddir/core/bulwarkd")
	conf=$(bw_daemon_conf) || bw_die "no bulwark.conf found"
	moddir=$(bw_module_dir)
	local -a cmd=("$BULWARKD" -c "$conf" -o "daemon.socket=$BW_SOCK"
		-o "daemon.state_dir=$BW_STATE" -o "daemon.bpffs_dir=$BW_BPFFS"
		-o "policy.dir=$BW_POLICY_DIR" -o "daemon.module_dir=$moddir")
	if grep -Eq '^modules *=.*(^| |=)hubble-observer( |$)' "$conf"; then
		cmd+=(-o "hubble-observer.socket=$BW_HUBBLE_SOCK")
	fi
	timeout "$t" ip netns exec "$BW_NODE" "${cmd[@]}" "$@" >"$BW_TMP/fg.log" 2>&1
}

# bw_mount_tmpfs DIR SIZE : a tmpfs of SIZE (e.g. 256k) on DIR (created),
# unmounted by the EXIT trap (a full filesystem for a test).
bw_mount_tmpfs() {
	mkdir -p "$1" || bw_die "mkdir $1"
	mount -t tmpfs -o "size=$2,mode=0700" bwtest "$1" || bw_die "cannot mount a tmpfs on $1"
	BW_MOUNTS+=("$1")
}

# bw_stop_daemon : SIGTERM the daemon and wait; FAILs the check (not the
# whole test) unless it exits 0 within 60 s. (A bound for a hung daemon,
# not a speed check: on a loaded machine the netlink calls of the stop
# wait for the kernel's rtnl lock while other tests' namespaces go away.)
bw_stop_daemon() {
	local rc i
	[ -n "$BW_DAEMON_PID" ] || return 0
	kill -TERM "$BW_DAEMON_PID"
	for i in $(seq 600); do
		kill -0 "$BW_DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$BW_DAEMON_PID" 2>/dev/null; then
		# where it is stuck, for the log (gdb, when installed)
		if command -v gdb >/dev/null 2>&1; then
			echo "# ---- bulwarkd did not stop: its threads ----"
			timeout 20 gdb -q -batch -ex "thread apply all bt" -p "$BW_DAEMON_PID" \
				2>/dev/null | grep -E '^(#|Thread)' | sed 's/^/# /' | head -n 80
		fi
		kill -KILL "$BW_DAEMON_PID"
		wait "$BW_DAEMON_PID" 2>/dev/null
		BW_DAEMON_PID=""
		bw_fail "bulwarkd did not stop within 60 s of SIGTERM"
		return 1
	fi
	wait "$BW_DAEMON_PID"
	rc=$?
	BW_DAEMON_PID=""
	if [ "$rc" = 0 ]; then
		bw_pass "bulwarkd exits 0 on SIGTERM"
	else
		bw_fail "bulwarkd exited with status $rc on SIGTERM"
		return 1
	fi
}

# bw_restart_daemon [-o ...]... : stop (asserting exit 0) and start again
# with the same state, bpffs and socket. Without arguments the previous
# start's overrides are reused; with arguments they replace them.
bw_restart_daemon() {
	local -a opts=("${BW_DAEMON_OPTS_CUR[@]}")
	if [ $# -gt 0 ]; then
		opts=("$@")
	fi
	bw_stop_daemon
	bw_start_daemon "${opts[@]}"
}

# bw_daemon_alive : 0 if the daemon started by bw_start_daemon still runs.
bw_daemon_alive() {
	[ -n "$BW_DAEMON_PID" ] && kill -0 "$BW_DAEMON_PID" 2>/dev/null
}

# bw_endpoint_state : print the endpoint registry the daemon has saved, as
# one JSON document: $BW_STATE/endpoints.json with the records of its
# journal (endpoints.json.journal, core/node/endpoint.c) applied.
bw_endpoint_state() {
	python3 - "$BW_STATE/endpoints.json" <<'PY'
import json, os, sys
path = sys.argv[1]
doc = {"version": 1, "next_id": 1, "namespaces": [], "endpoints": []}
if os.path.exists(path):
    doc = json.load(open(path))
if os.path.exists(path + ".journal"):
    for line in open(path + ".journal"):
        if not line.strip():
            continue
        rec = json.loads(line)
        put = rec.get("put")
        i = put["id"] if put else rec["del"]
        doc["endpoints"] = [e for e in doc["endpoints"] if e["id"] != i]
        if put:
            doc["endpoints"].append(put)
        if rec.get("next_id"):
            doc["next_id"] = rec["next_id"]
print(json.dumps(doc, sort_keys=True))
PY
}

# bw ARGS... : run the CLI against this test's daemon (`bulwark -s SOCK ...`).
bw() {
	"$BULWARK" -s "$BW_SOCK" "$@"
}

# bw_expect_trace DESC REGEX TRACE-ARGS... : `bulwark policy trace
# TRACE-ARGS...` must succeed and print something matching REGEX
# (extended, case-insensitive), e.g. the verdict or the policy's name.
bw_expect_trace() {
	local desc=$1 re=$2
	shift 2
	bw_expect_output "$desc" "$re" bw policy trace "$@"
}

# bw_trace_verdict TRACE-ARGS... : print the overall verdict (ALLOWED,
# DENIED, AUDIT, ...) of `bulwark policy trace TRACE-ARGS... -o json`, the
# top-level "verdict" field. Returns non-zero if the trace failed.
bw_trace_verdict() {
	local out
	out=$(bw policy trace "$@" -o json) || return 1
	if command -v python3 >/dev/null 2>&1; then
		printf '%s' "$out" | python3 -c \
			'import json,sys; print(json.load(sys.stdin)["verdict"])'
	else
		# The top-level verdict is the last one written.
		printf '%s' "$out" | grep -o '"verdict": *"[A-Z_]*"' | tail -n 1 |
			sed 's/.*"\([A-Z_]*\)"$/\1/'
	fi
}

# bw_expect_verdict DESC VERDICT TRACE-ARGS... : the overall verdict of
# `bulwark policy trace TRACE-ARGS...` must be VERDICT (ALLOWED, DENIED or
# AUDIT). Prints the trace on failure.
bw_expect_verdict() {
	local desc=$1 want=$2 got
	shift 2
	got=$(bw_trace_verdict "$@" 2>&1)
	if [ "$got" = "$want" ]; then
		bw_pass "$desc"
	else
		bw_fail "$desc: expected trace verdict $want, got '$got'"
		bw policy trace "$@" 2>&1 | sed 's/^/#   | /'
	fi
}

# bw_flows_available : 0 if the daemon serves flows (`bulwark observe`).
bw_flows_available() {
	bw observe --last 1 -o json >/dev/null 2>&1
}

# bw_expect_flow DESC OBSERVE-ARGS... : within 5 s, `bulwark observe --all
# -o json OBSERVE-ARGS...` must print at least one flow (filters such as
# --verdict AUDIT --to-pod x/b select the flow the test expects).
bw_expect_flow() {
	local desc=$1
	shift
	if bw_wait_for 5 bw_flow_seen "$@"; then
		bw_pass "$desc"
	else
		bw_fail "$desc: no flow matches 'bulwark observe $*'; the last flows:"
		bw observe --last 20 2>&1 | sed 's/^/#   | /'
	fi
}

# bw_flow_seen OBSERVE-ARGS... : 0 if at least one flow matches.
bw_flow_seen() {
	bw observe --all -o json "$@" 2>/dev/null | grep -q .
}

# bw_policy_import_text NAME : read a policy document (YAML/JSON) on stdin,
# keep a copy as $BW_TMP/NAME.yaml and `bulwark policy import` it. Returns
# the CLI's status (its message is printed).
bw_policy_import_text() {
	local f=$BW_TMP/$1.yaml
	cat >"$f"
	bw policy import "$f"
}

# bw_policy_replace_text NAME : same with `bulwark policy replace`.
bw_policy_replace_text() {
	local f=$BW_TMP/$1.yaml
	cat >"$f"
	bw policy replace "$f"
}

# ---------------------------------------------------------------------------
# topology

# bw_plumb NETNS IPV4 [IPV6] : create a veth pair between the node and
# NETNS (eth0 inside, a fresh <id>h<n> in the node), address it, add the
# routes and static neighbours on both sides. Sets BW_PLUMB_IF to the
# node-side name. (Not to be called in a subshell.)
bw_plumb() {
	local ns=$1 ip4=$2 ip6=${3:-} host hmac pmac
	BW_VETH_SEQ=$((BW_VETH_SEQ + 1))
	host=${BW_ID}h$BW_VETH_SEQ
	ip -n "$BW_NODE" link add "$host" type veth peer name eth0 netns "$ns" ||
		bw_die "veth $host <-> $ns:eth0 failed"
	hmac=$(ip -n "$BW_NODE" -br link show dev "$host" | awk '{print $3}')
	pmac=$(ip -n "$ns" -br link show dev eth0 | awk '{print $3}')
	if [ -z "$hmac" ] || [ -z "$pmac" ]; then
		bw_die "cannot read veth MACs"
	fi
	# Inside: addresses, link-local gateways with static neighbours.
	ip -n "$ns" link set eth0 up
	ip -n "$ns" addr add "$ip4/32" dev eth0
	ip -n "$ns" route add 169.254.1.1 dev eth0 scope link
	ip -n "$ns" route add default via 169.254.1.1 dev eth0
	ip -n "$ns" neigh replace 169.254.1.1 lladdr "$hmac" dev eth0 nud permanent
	if [ -n "$ip6" ]; then
		ip -n "$ns" -6 addr add "$ip6/128" dev eth0 nodad
		ip -n "$ns" -6 route add default via fe80::1 dev eth0
		ip -n "$ns" -6 neigh replace fe80::1 lladdr "$hmac" dev eth0 nud permanent
	fi
	# Node side.
	ip -n "$BW_NODE" link set "$host" up
	ip -n "$BW_NODE" route add "$ip4/32" dev "$host" src "$BW_NODE_IP4"
	ip -n "$BW_NODE" neigh replace "$ip4" lladdr "$pmac" dev "$host" nud permanent
	if [ -n "$ip6" ]; then
		ip -n "$BW_NODE" -6 route add "$ip6/128" dev "$host" src "$BW_NODE_IP6"
		ip -n "$BW_NODE" -6 neigh replace "$ip6" lladdr "$pmac" dev "$host" nud permanent
	fi
	bw_nsx "$BW_NODE" sysctl -qw "net.ipv4.conf.$host.rp_filter=0"
	BW_PLUMB_IF=$host
}

# bw_pod_add NS POD IPV4 [IPV6] [ARG]... : create pod POD of namespace NS
# (its own netns, veth to the node, addresses, routes) and register it with
# `bulwark endpoint add NS/POD --host-ifname IF --ip ...`. ARGs:
#   KEY=VALUE           a label (--label KEY=VALUE)
#   NAME=PORT/PROTO     a named port (--named-port), e.g. http=80/TCP
#   --OPTION=VALUE      passed to `endpoint add` as "--OPTION VALUE"
#                       (e.g. --audit=on); --OPTION alone is passed as is
# IPV6 is recognised by its ':'. The pod is then known to the other helpers
# as "NS/POD". Without a running daemon (topology tests) the registration
# is skipped. Returns the CLI's status.
bw_pod_add() {
	local ns=$1 pod=$2 ip4=$3 ip6="" key=$1/$2 netns host a
	shift 3
	if [ $# -gt 0 ] && [[ $1 == *:* && $1 != *=* ]]; then
		ip6=$1
		shift
	fi
	local -a args=()
	for a in "$@"; do
		if [[ $a == --*=* ]]; then
			args+=("${a%%=*}" "${a#*=}")
		elif [[ $a == --* ]]; then
			args+=("$a")
		elif [[ $a =~ ^[^=]+=[0-9]+/(TCP|UDP|SCTP|tcp|udp|sctp)$ ]]; then
			args+=(--named-port "$a")
		elif [[ $a == *=* ]]; then
			args+=(--label "$a")
		else
			bw_die "bw_pod_add $key: cannot tell what '$a' is"
		fi
	done
	[ -z "${BW_NS_OF[$key]:-}" ] || bw_die "pod $key exists already"
	netns=$BW_ID-$ns-$pod
	bw_netns_create "$netns"
	bw_plumb "$netns" "$ip4" "$ip6"
	host=$BW_PLUMB_IF
	BW_NS_OF[$key]=$netns
	BW_IP4_OF[$key]=$ip4
	BW_IP6_OF[$key]=$ip6
	BW_IF_OF[$key]=$host
	if [ -n "$BW_DAEMON_PID" ]; then
		local -a ips=(--ip "$ip4")
		[ -z "$ip6" ] || ips+=(--ip "$ip6")
		bw endpoint add "$key" --host-ifname "$host" "${ips[@]}" "${args[@]}"
	fi
}

# bw_pod_register NS/POD [ARG]... : (re-)register an existing pod with the
# daemon, same ARGs as bw_pod_add (used when the pod was created before the
# daemon started).
bw_pod_register() {
	local key=$1 a
	shift
	local -a args=(--ip "${BW_IP4_OF[$key]}")
	[ -z "${BW_IP6_OF[$key]}" ] || args+=(--ip "${BW_IP6_OF[$key]}")
	for a in "$@"; do
		if [[ $a == --*=* ]]; then
			args+=("${a%%=*}" "${a#*=}")
		elif [[ $a == --* ]]; then
			args+=("$a")
		elif [[ $a =~ ^[^=]+=[0-9]+/(TCP|UDP|SCTP|tcp|udp|sctp)$ ]]; then
			args+=(--named-port "$a")
		else
			args+=(--label "$a")
		fi
	done
	bw endpoint add "$key" --host-ifname "${BW_IF_OF[$key]}" "${args[@]}"
}

# bw_external_add NAME IPV4 [IPV6] : create an "external" host NAME (a netns
# outside the cluster, e.g. 192.0.2.10 / 2001:db8::10) reachable from the
# node and the pods; it is not an endpoint, so bulwark sees it as world.
bw_external_add() {
	local name=$1 ip4=$2 ip6=${3:-} netns host
	[ -z "${BW_NS_OF[$name]:-}" ] || bw_die "$name exists already"
	netns=$BW_ID-ext-$name
	bw_netns_create "$netns"
	bw_plumb "$netns" "$ip4" "$ip6"
	host=$BW_PLUMB_IF
	BW_NS_OF[$name]=$netns
	BW_IP4_OF[$name]=$ip4
	BW_IP6_OF[$name]=$ip6
	BW_IF_OF[$name]=$host
}

# bw_netns_of WHO : print the netns of WHO ("node", "NS/POD", an external
# name, or the name of a netns this test created); an unknown WHO is a hard
# error.
bw_netns_of() {
	local ns=${BW_NS_OF[$1]:-} n
	if [ -z "$ns" ]; then
		for n in "${BW_NETNS_LIST[@]}"; do
			[ "$n" = "$1" ] && ns=$n
		done
	fi
	[ -n "$ns" ] || bw_die "unknown host '$1'"
	printf '%s\n' "$ns"
}

# bw_ip_of WHO [4|6] : print WHO's address of that family ("node" gives the
# node address). A literal address is printed as is.
bw_ip_of() {
	local who=$1 fam=${2:-4} ip
	case $who in
	node) [ "$fam" = 6 ] && ip=$BW_NODE_IP6 || ip=$BW_NODE_IP4 ;;
	*[0-9]:* | *::* | [0-9]*.[0-9]*) ip=$who ;;
	*)
		if [ "$fam" = 6 ]; then
			ip=${BW_IP6_OF[$who]:-}
		else
			ip=${BW_IP4_OF[$who]:-}
		fi
		;;
	esac
	[ -n "$ip" ] || bw_die "no IPv$fam address for '$who'"
	printf '%s\n' "$ip"
}

# bw_bg NETNS CMD... : start CMD in the background inside NETNS, record its
# pid for cleanup, print nothing. Output goes to $BW_TMP/bg.log.
bw_bg() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@" >>"$BW_TMP/bg.log" 2>&1 &
	BW_PIDS+=($!)
}

# bw_wait_listen NETNS PROTO PORT : wait (up to 5 s) until something listens
# on PORT (proto tcp or udp) in NETNS.
bw_wait_listen() {
	local ns=$1 proto=$2 port=$3 i flag=-tln
	[ "$proto" = udp ] && flag=-uln
	for i in $(seq 50); do
		if ip netns exec "$ns" ss -H "$flag" "sport = :$port" 2>/dev/null |
		   grep -q .; then
			return 0
		fi
		sleep 0.1
	done
	bw_die "nothing listens on $proto/$port in $ns"
}

# bw_server_tcp WHO PORT... : start a TCP server on each PORT in WHO's netns
# (IPv4 and IPv6); every connection gets the line "ok" and is closed.
bw_server_tcp() {
	local who=$1 ns p
	shift
	ns=$(bw_netns_of "$who") || exit 99
	for p in "$@"; do
		bw_bg "$ns" socat "TCP6-LISTEN:$p,ipv6only=0,fork,reuseaddr" \
			"SYSTEM:echo ok"
	done
	for p in "$@"; do
		bw_wait_listen "$ns" tcp "$p"
	done
}

# The UDP answerer: one process per port, one dual-stack socket, "ok" back
# to every datagram's sender. (socat's UDP-RECVFROM,fork loses datagrams
# that arrive while a child still holds the shared socket, and
# UDP-LISTEN,fork has a window with no listening socket after each fork.)
BW_UDP_SERVER='import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", int(sys.argv[1])))
while True:
    data, peer = s.recvfrom(65535)
    s.sendto(b"ok\n", peer)'

# bw_server_udp WHO PORT... : start a UDP server on each PORT in WHO's netns
# (IPv4 and IPv6) answering every datagram with "ok".
bw_server_udp() {
	local who=$1 ns p
	shift
	ns=$(bw_netns_of "$who") || exit 99
	for p in "$@"; do
		bw_bg "$ns" python3 -c "$BW_UDP_SERVER" "$p"
	done
	for p in "$@"; do
		bw_wait_listen "$ns" udp "$p"
	done
}

# bw_udp_sink WHO PORT FILE : start a UDP receiver on PORT in WHO's netns
# that appends every datagram it gets to FILE (prints nothing). Used to see
# whether one-way traffic arrived (anti-spoofing).
bw_udp_sink() {
	local ns
	ns=$(bw_netns_of "$1") || exit 99
	: >"$3"
	bw_bg "$ns" socat -u "UDP6-RECV:$2,ipv6only=0,reuseaddr" \
		"OPEN:$3,creat,append"
	bw_wait_listen "$ns" udp "$2"
}

# bw_probe_tcp FROM TO PORT [TIMEOUT] [FAMILY] : connect from FROM's netns
# to TO (a host name or an address) on TCP PORT; succeeds only if the server
# answered "ok". TIMEOUT in seconds (default 1), FAMILY 4 (default) or 6.
bw_probe_tcp() {
	local ns dst t=${4:-1} fam=${5:-4} out
	ns=$(bw_netns_of "$1") || return 2
	dst=$(bw_ip_of "$2" "$fam") || return 2
	[ "$fam" = 6 ] && dst="TCP6:[$dst]:$3" || dst="TCP4:$dst:$3"
	out=$(timeout $((t + 3)) ip netns exec "$ns" \
		socat -T "$t" -t "$t" - "$dst,connect-timeout=$t" </dev/null 2>/dev/null)
	[ "$out" = ok ] && return 0
	return 1
}

# bw_probe_udp FROM TO PORT [TIMEOUT] [FAMILY] : send one datagram from
# FROM's netns to TO on UDP PORT; succeeds only if the server's "ok" comes
# back within TIMEOUT seconds (default 1).
bw_probe_udp() {
	local ns dst t=${4:-1} fam=${5:-4} out
	ns=$(bw_netns_of "$1") || return 2
	dst=$(bw_ip_of "$2" "$fam") || return 2
	[ "$fam" = 6 ] && dst="UDP6:[$dst]:$3" || dst="UDP4:$dst:$3"
	out=$(echo probe | timeout $((t + 3)) ip netns exec "$ns" \
		socat -T "$t" -t "$t" - "$dst,readbytes=3" 2>/dev/null)
	[ "$out" = ok ] && return 0
	return 1
}

# bw_probe_icmp FROM TO [TIMEOUT] [FAMILY] : one echo request from FROM's
# netns to TO; succeeds if the echo reply comes back.
bw_probe_icmp() {
	local ns dst t=${3:-1} fam=${4:-4}
	ns=$(bw_netns_of "$1") || return 2
	dst=$(bw_ip_of "$2" "$fam") || return 2
	timeout $((t + 3)) ip netns exec "$ns" \
		ping -"$fam" -n -q -c 1 -W "$t" "$dst" >/dev/null 2>&1 && return 0
	return 1
}

# bw_probe_tcp6 / bw_probe_udp6 / bw_probe_icmp6 FROM TO ... : the IPv6
# variants (same arguments without FAMILY).
bw_probe_tcp6() { bw_probe_tcp "$1" "$2" "$3" "${4:-1}" 6; }
bw_probe_udp6() { bw_probe_udp "$1" "$2" "$3" "${4:-1}" 6; }
bw_probe_icmp6() { bw_probe_icmp "$1" "$2" "${3:-1}" 6; }

# bw_probe_udp_refused FROM TO PORT [TIMEOUT] [FAMILY] : send a datagram to
# a UDP port where nothing listens; succeeds only if the ICMP "port
# unreachable" error comes back (socat reports "Connection refused").
bw_probe_udp_refused() {
	local ns dst t=${4:-1} fam=${5:-4} err
	ns=$(bw_netns_of "$1") || return 2
	dst=$(bw_ip_of "$2" "$fam") || return 2
	[ "$fam" = 6 ] && dst="UDP6:[$dst]:$3" || dst="UDP4:$dst:$3"
	err=$( (echo probe; sleep 0.3; echo probe) | timeout $((t + 3)) \
		ip netns exec "$ns" socat -T "$t" -t "$t" - "$dst" 2>&1 >/dev/null)
	printf '%s' "$err" | grep -qi 'refused' && return 0
	return 1
}

# bw_send_udp_from FROM SRC_IP TO PORT [FAMILY] [MESSAGE] : send one
# datagram (MESSAGE, default "from SRC_IP") from FROM's netns with source
# address SRC_IP (added to FROM's eth0 if it is not there yet, so the
# kernel lets the socket bind to it). Used to forge another host's address
# (anti-spoofing tests). Always returns 0.
bw_send_udp_from() {
	local ns src=$2 dst port=$4 fam=${5:-4} plen=32 msg=${6:-"from $2"}
	ns=$(bw_netns_of "$1") || return 2
	dst=$(bw_ip_of "$3" "$fam") || return 2
	[ "$fam" = 6 ] && plen=128
	if ! ip -n "$ns" addr show dev eth0 | grep -q " $src/"; then
		if [ "$fam" = 6 ]; then
			ip -n "$ns" -6 addr add "$src/$plen" dev eth0 nodad
		else
			ip -n "$ns" addr add "$src/$plen" dev eth0
		fi
	fi
	if [ "$fam" = 6 ]; then
		dst="UDP6:[$dst]:$port,bind=[$src]"
	else
		dst="UDP4:$dst:$port,bind=$src"
	fi
	echo "$msg" | timeout 3 ip netns exec "$ns" socat -u - "$dst" \
		>/dev/null 2>&1
	return 0
}

# bw_wait_for SECONDS CMD... : retry CMD every 0.2 s until it succeeds or
# SECONDS pass; returns CMD's last status. For conditions that are
# eventually true (a log line, a flow), never for policy verdicts.
bw_wait_for() {
	local n=$(($1 * 5))
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.2
	done
}
