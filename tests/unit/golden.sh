#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# bulwarkd -n against golden files in tests/unit/golden-conf/:
#   NAME.conf   the config, read with -c NAME.conf from that directory (so
#               messages name it as "NAME.conf:LINE")
#   NAME.args   optional: extra arguments, one per line (e.g. -o x.y=z)
#   NAME.out    expected stdout when the config is good (exit 0), or
#   NAME.err    expected stderr when it is not (exit 1)
# module_dir is pointed at the build tree's modules (the shipped ones and
# tests/modules); it, the configured sysconfdir and moduledir print as
# @MODULEDIR@, @SYSCONFDIR@ and @DEFAULT_MODULEDIR@.
# To refresh a golden file after an intended change: BW_GOLDEN_UPDATE=1.
set -u

: "${abs_top_builddir:?run through make check}"
: "${abs_top_srcdir:?run through make check}"
bulwarkd=$abs_top_builddir/bulwarkd
golden=$abs_top_srcdir/tests/unit/golden-conf

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bw-golden.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

# One directory holding every module of the build tree.
mkdir "$tmp/modules"
for so in "$abs_top_builddir"/modules/.libs/*.so "$abs_top_builddir"/tests/modules/.libs/*.so; do
	[ -e "$so" ] && ln -s "$so" "$tmp/modules/"
done

normalize() {
	sed -e "s|$tmp/modules|@MODULEDIR@|g" \
	    -e "s|${bw_moduledir:-@@none@@}|@DEFAULT_MODULEDIR@|g" \
	    -e "s|${bw_sysconfdir:-@@none@@}|@SYSCONFDIR@|g" "$1"
}

fail=0
n=0
cd "$golden" || exit 99
for conf in *.conf; do
	name=${conf%.conf}
	n=$((n + 1))
	set -- -n -c "$conf" -o "daemon.module_dir=$tmp/modules"
	if [ -f "$name.args" ]; then
		while IFS= read -r arg; do
			[ -n "$arg" ] && set -- "$@" "$arg"
		done < "$name.args"
	fi
	"$bulwarkd" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
	rc=$?
	normalize "$tmp/stdout" >"$tmp/out"
	normalize "$tmp/stderr" >"$tmp/err"
	if [ -f "$name.out" ]; then
		want=0 kind=out
	elif [ -f "$name.err" ]; then
		want=1 kind=err
	else
		echo "FAIL $name: neither $name.out nor $name.err exists"
		fail=$((fail + 1))
		continue
	fi
	if [ -n "${BW_GOLDEN_UPDATE:-}" ]; then
		cp "$tmp/$kind" "$golden/$name.$kind"
	fi
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL $name: bulwarkd -n exited $rc, expected $want"
		cat "$tmp/stderr"
		fail=$((fail + 1))
	elif ! diff -u "$name.$kind" "$tmp/$kind"; then
		echo "FAIL $name: $kind differs from $name.$kind (diff above)"
		fail=$((fail + 1))
	else
		echo "PASS $name"
	fi
done
echo "golden: $n cases, $fail failed"
[ "$n" -gt 0 ] || exit 99
[ "$fail" -eq 0 ]
