#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# The example scripts (lua/examples/) tried offline with lua/testing.lua and
# Debian's lua5.4, the way docs/lua.md ("Testing a script") shows a rule
# author testing a script before installing it.
set -u
: "${abs_top_srcdir:?run through make check}"
command -v lua5.4 >/dev/null 2>&1 || {
	echo "lua5.4 not found: apt-get install lua5.4"
	exit 99
}
exec lua5.4 "$abs_top_srcdir/lua/examples/examples_test.lua" "$abs_top_srcdir/lua/"
