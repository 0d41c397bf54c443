#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# examples/module-hello/test_hello.sh - a third-party module builds out of
# tree against the installed header: install <bulwark/module.h> and
# bulwark-module.pc into a temporary DESTDIR, build examples/module-hello
# there with plain make + pkg-config (no access to the source tree's
# include dir), check that it exports only its descriptor, and load it into
# a real bulwarkd: -n shows its config key, GET /v1/hello answers with the
# configured greeting, and a reload changes it.

. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/modules/lib.sh"

command -v curl >/dev/null 2>&1 || { echo "SKIP: curl not found"; exit 77; }
command -v pkg-config >/dev/null 2>&1 || { echo "SKIP: pkg-config not found"; exit 77; }
MAKE=${MAKE:-make}

# 1. Install the public header and the pkg-config file only.
if env -u MAKEFLAGS -u MFLAGS $MAKE -s -C "$abs_top_builddir" DESTDIR="$T/dest" \
	install-include_bulwarkHEADERS install-pkgconfigDATA > "$T/install.log" 2>&1; then
	ok "header and bulwark-module.pc install"
else
	fail "header and bulwark-module.pc install"
	sed 's/^/#   /' "$T/install.log"
	bw_done
fi
pc=$(find "$T/dest" -name bulwark-module.pc | head -n 1)
hdr=$(find "$T/dest" -path '*/include/bulwark/module.h' | head -n 1)
[ -n "$pc" ] && ok "bulwark-module.pc installed" || fail "bulwark-module.pc installed"
[ -n "$hdr" ] && ok "bulwark/module.h installed" || fail "bulwark/module.h installed"

export PKG_CONFIG_PATH="$(dirname "$pc")"
export PKG_CONFIG_LIBDIR="$(dirname "$pc")"
export PKG_CONFIG_SYSROOT_DIR="$T/dest"
cflags=$(pkg-config --cflags bulwark-module | sed "s/[[:space:]]*$//")
expect_eq "pkg-config --cflags points at the installed include dir" \
	"-I$(dirname "$(dirname "$hdr")")" "$cflags"
pkg-config --modversion bulwark-module > "$T/ver"
expect_grep "pkg-config knows the version" "$(sed -n 's/^Version: //p' "$abs_top_builddir/bulwark-module.pc")" "$T/ver"

# 2. Build it outside the tree, with plain make.
mkdir -p "$T/hello"
cp "$abs_top_srcdir/examples/module-hello/hello.c" \
   "$abs_top_srcdir/examples/module-hello/Makefile" "$T/hello/"
if env -u MAKEFLAGS -u MFLAGS $MAKE -C "$T/hello" CFLAGS="-O2 -Wall -Wextra -Werror" \
	> "$T/build.log" 2>&1; then
	ok "module-hello builds out of tree with make + pkg-config"
else
	fail "module-hello builds out of tree with make + pkg-config"
	sed 's/^/#   /' "$T/build.log"
	bw_done
fi
expect_grep "the build used the installed header" "$cflags" "$T/build.log"
expect_eq "only bw_module_desc is exported" "bw_module_desc" \
	"$(nm -D --defined-only "$T/hello/hello.so" | awk '{print $3}' | grep -v '^_' | paste -sd' ')"

# 3. Load it.
conf=$(bw_conf hello <<EOF
modules = hello
[hello]
greeting = hej from the test
EOF
)
sed -i "s|^module_dir = .*|module_dir = $T/hello|" "$conf"
"$BULWARKD" -n -c "$conf" > "$T/n.out" 2> "$T/n.err"
expect_eq "bulwarkd -n accepts the module" 0 $?
expect_grep "-n shows the module's section" "[hello]" "$T/n.out"
expect_grep "-n shows its key" "greeting = hej from the test" "$T/n.out"

if bw_start "$conf"; then
	ok "bulwarkd starts with module-hello"
else
	fail "bulwarkd starts with module-hello"
	sed 's/^/#   /' "$T/daemon.log"
	bw_done
fi
expect_eq "GET /v1/hello answers with the configured greeting" \
	'{"message":"hej from the test","instance":"hello"}' \
	"$(curl -s --unix-socket "$T/bulwark.sock" http://bulwarkd/v1/hello)"
cli modules > "$T/mods"
expect_grep "bulwark modules shows it running" \
	"hello      hello    1.0       running   answers GET /v1/hello with a greeting" "$T/mods"

sed -i 's/^greeting = .*/greeting = "reloaded"/' "$conf"
kill -HUP "$BW_PID"
i=0
while [ $i -lt 100 ]; do
	grep -qF "greeting is now" "$T/daemon.log" && break
	sleep 0.1
	i=$((i + 1))
done
expect_eq "greeting reloads on SIGHUP" \
	'{"message":"\"reloaded\"","instance":"hello"}' \
	"$(curl -s --unix-socket "$T/bulwark.sock" http://bulwarkd/v1/hello)"

bw_stop
expect_eq "bulwarkd exits 0" 0 "$BW_RC"
bw_done
