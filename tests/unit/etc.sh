#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# Every config file shipped in etc/ passes bulwarkd -n (with module_dir
# pointed at the build tree's modules); the generated default config names
# the configured module directory and loads every module the tree builds;
# the systemd unit passes systemd-analyze verify when that tool exists.
set -u

: "${abs_top_builddir:?run through make check}"
: "${abs_top_srcdir:?run through make check}"
bulwarkd=$abs_top_builddir/bulwarkd
moddir=$abs_top_builddir/modules/.libs

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bw-etc.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0
n=0

ok() { echo "PASS $*"; }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

# The shipped configs. One generated from a template (etc/X.conf.in) is
# tested as generated, in the build tree.
confs=""
for f in "$abs_top_builddir"/etc/*.conf "$abs_top_srcdir"/etc/*.conf \
	 "$abs_top_srcdir"/etc/*/*.conf; do
	[ -f "$f" ] || continue
	rel=${f#*/etc/}
	if [ -f "$abs_top_srcdir/etc/$rel.in" ] &&
	   [ "$f" != "$abs_top_builddir/etc/$rel" ]; then
		continue
	fi
	case " $confs " in *" $f "*) continue ;; esac
	confs="$confs $f"
done
[ -n "$confs" ] || { echo "no config files found in etc/"; exit 99; }

for conf in $confs; do
	n=$((n + 1))
	if "$bulwarkd" -n -c "$conf" -o "daemon.module_dir=$moddir" \
	    >"$tmp/out" 2>"$tmp/err"; then
		if grep -q '^\[daemon\]$' "$tmp/out"; then
			ok "bulwarkd -n -c $conf"
		else
			bad "bulwarkd -n -c $conf printed no [daemon] section"
		fi
	else
		bad "bulwarkd -n -c $conf"
		cat "$tmp/err"
	fi
done

# The installed default config is the daemon's default: it must point
# module_dir at the installed modules and list every module built here.
conf=$abs_top_builddir/etc/bulwark.conf
n=$((n + 1))
if grep -qx "module_dir = ${bw_moduledir:?}" "$conf"; then
	ok "etc/bulwark.conf: module_dir = $bw_moduledir"
else
	bad "etc/bulwark.conf does not set module_dir = $bw_moduledir"
fi
modules=$(sed -n 's/^modules = //p' "$conf")
for la in "$abs_top_builddir"/modules/*.la; do
	[ -f "$la" ] || continue
	m=${la##*/}
	m=${m%.la}
	n=$((n + 1))
	case " $modules " in
	*" $m "*) ok "etc/bulwark.conf loads $m" ;;
	*) bad "etc/bulwark.conf does not load the shipped module $m (modules = $modules)" ;;
	esac
done

# The systemd unit.
unit=$abs_top_builddir/etc/bulwarkd.service
n=$((n + 1))
if grep -qx "ExecStart=${bw_sbindir:?}/bulwarkd" "$unit" &&
   grep -qx "Type=notify" "$unit"; then
	ok "bulwarkd.service: Type=notify, ExecStart=$bw_sbindir/bulwarkd"
else
	bad "bulwarkd.service: wrong Type or ExecStart"
fi
if [ -n "${SYSTEMD_ANALYZE:-}" ] && [ -x "$SYSTEMD_ANALYZE" ]; then
	n=$((n + 1))
	# verify checks that ExecStart exists: point it at the built daemon.
	mkdir "$tmp/unit"
	sed "s|^ExecStart=.*|ExecStart=$bulwarkd|" "$unit" >"$tmp/unit/bulwarkd.service"
	if "$SYSTEMD_ANALYZE" verify --man=no "$tmp/unit/bulwarkd.service" >"$tmp/verify" 2>&1 &&
	   ! grep -q . "$tmp/verify"; then
		ok "systemd-analyze verify bulwarkd.service"
	else
		bad "systemd-analyze verify bulwarkd.service"
		cat "$tmp/verify"
	fi
else
	echo "SKIP systemd-analyze verify (systemd-analyze not installed)"
fi

echo "etc: $n checks, $fail failed"
[ "$fail" -eq 0 ]
