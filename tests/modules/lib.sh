# SPDX-License-Identifier: BSD-2-Clause
# tests/modules/lib.sh - helpers for tests that run a real bulwarkd in a
# temporary directory (its own socket, state dir, bpffs dir and policy dir;
# no BPF program is attached by these tests, but the daemon mounts a bpffs
# on its bpffs dir when run as root), sourced by the loader, CLI and
# module-hello tests. Everything is removed on exit, also after a failure,
# mounts included.
#
# Provides: T (the temp dir), BULWARKD, BULWARK, TESTMOD_DIR, ok/fail/
# expect_* assertions with a TAP-like log, bw_start CONF [ARGS...],
# bw_stop, bw_log (the daemon's output so far), bw_done (summary + exit).

: "${abs_top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${abs_top_srcdir:=$abs_top_builddir}"
BULWARKD="$abs_top_builddir/bulwarkd"
BULWARK="$abs_top_builddir/bulwark"
TESTMOD_DIR="$abs_top_builddir/tests/modules/.libs"

T=$(mktemp -d "${TMPDIR:-/tmp}/bwtest.XXXXXX") || exit 99
BW_PID=
BW_NFAIL=0
BW_NOK=0

bw_cleanup() {
	if [ -n "$BW_PID" ]; then
		kill -TERM "$BW_PID" 2>/dev/null
		wait "$BW_PID" 2>/dev/null
	fi
	# The daemon mounts a bpffs on a bpffs_dir that is not on one: take
	# every mount below $T away (deepest first) so that nothing is left.
	awk -v t="$T/" 'index($2, t) == 1 { print $2 }' /proc/mounts | sort -r |
		while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
	rm -rf "$T"
}
trap bw_cleanup EXIT
trap 'exit 99' INT TERM

ok() {
	BW_NOK=$((BW_NOK + 1))
	echo "ok - $*"
}

fail() {
	BW_NFAIL=$((BW_NFAIL + 1))
	echo "not ok - $*"
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1"
		echo "#   expected: $2"
		echo "#   actual:   $3"
	fi
}

# expect_grep WHAT FIXED-STRING FILE
expect_grep() {
	if grep -qF -- "$2" "$3"; then
		ok "$1"
	else
		fail "$1"
		echo "#   missing: $2"
		echo "#   in $3:"
		sed 's/^/#     /' "$3"
	fi
}

expect_no_grep() {
	if grep -qF -- "$2" "$3"; then
		fail "$1"
		echo "#   unexpected: $2"
		sed 's/^/#     /' "$3"
	else
		ok "$1"
	fi
}

# The JSON value at a jq-less path: python3 is in every Debian base image we
# target, but keep to a tiny helper so a missing python3 skips cleanly.
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not found"; exit 77; }
# json_get FILE EXPR   (EXPR is a python expression over `d`)
json_get() {
	python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
v=eval(sys.argv[2])
print(json.dumps(v) if not isinstance(v,str) else v)' "$1" "$2"
}

# bw_conf NAME: write a base config to $T/NAME.conf and print its path;
# stdin is appended to its [daemon] section (lines 3-8), so it may start
# with "modules = ..." and go on with module sections.
bw_conf() {
	f="$T/$1.conf"
	{
		echo "[policy]"
		echo "dir = $T/policies"
		echo "[daemon]"
		echo "socket = $T/bulwark.sock"
		echo "state_dir = $T/state"
		echo "bpffs_dir = $T/bpffs"
		echo "module_dir = $TESTMOD_DIR"
		echo "log_level = info"
		cat
	} > "$f"
	echo "$f"
}

# bw_start CONF [ARGS...]: start bulwarkd, wait until it is ready.
# Returns 1 (and leaves BW_PID empty) if it exits or is not ready in 20 s.
bw_start() {
	conf=$1
	shift
	mkdir -p "$T/policies"
	: > "$T/daemon.log"
	"$BULWARKD" -c "$conf" "$@" > "$T/daemon.log" 2>&1 &
	BW_PID=$!
	i=0
	while [ $i -lt 200 ]; do
		if ! kill -0 "$BW_PID" 2>/dev/null; then
			wait "$BW_PID"
			BW_RC=$?
			BW_PID=
			return 1
		fi
		if "$BULWARK" -s "$T/bulwark.sock" status --wait 0 >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# bw_stop: SIGTERM, wait, and set BW_RC to the exit status.
bw_stop() {
	BW_RC=
	[ -n "$BW_PID" ] || return 0
	kill -TERM "$BW_PID"
	wait "$BW_PID"
	BW_RC=$?
	BW_PID=
}

bw_done() {
	echo "# $BW_NOK passed, $BW_NFAIL failed"
	[ "$BW_NFAIL" -eq 0 ] || exit 1
	exit 0
}

cli() {
	"$BULWARK" -s "$T/bulwark.sock" "$@"
}
