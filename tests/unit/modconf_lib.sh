# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=sh
#
# tests/unit/modconf_lib.sh - what the module config tests share (sourced,
# after setting MODULE to the module's name): the daemon and module
# directory of the build tree, a temporary directory $tmp removed at exit,
# the config file $conf, pass/fail counters with ok and bad, and check,
# which runs `bulwarkd -n -c $conf ARGS`, returns its exit status and also
# leaves it in $rc, with its output in $tmp/out and $tmp/err.

: "${abs_top_builddir:?run through make check}"
: "${MODULE:?set MODULE before sourcing modconf_lib.sh}"
bulwarkd=$abs_top_builddir/bulwarkd
moddir=$abs_top_builddir/modules/.libs
[ -f "$moddir/$MODULE.so" ] || { echo "no $moddir/$MODULE.so (build the modules)"; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bw-$MODULE-conf.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
conf=$tmp/$MODULE.conf
passed=0
failed=0
rc=0

ok() { passed=$((passed + 1)); echo "PASS: $*"; }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }

check() {
	"$bulwarkd" -n -c "$conf" -o "daemon.module_dir=$moddir" "$@" \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	return "$rc"
}
