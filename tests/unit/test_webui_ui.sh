#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/unit/test_webui_ui.sh - the web UI's page as committed:
#  - modules/webui/dist/ was built from the sources in the tree (its
#    SOURCE-DIGEST equals the digest of modules/webui/ui/ now: a change to
#    src/ without modules/webui/ui/build.sh fails here);
#  - it holds the files the module installs and serves, the page loads
#    only its own script and style (no CDN), and nothing fetches from
#    another origin;
#  - the page's logic (filters, map model, reports, flow reading) passes
#    its unit tests under Node.js (node --test; Debian's nodejs).
set -u
: "${abs_top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
ui=$abs_top_srcdir/modules/webui/ui
dist=$abs_top_srcdir/modules/webui/dist
fail=0
n=0
ok() { n=$((n + 1)); echo "PASS: $*"; }
bad() { n=$((n + 1)); fail=$((fail + 1)); echo "FAIL: $*"; }

want=$("$ui/srcdigest.sh")
have=$(cat "$dist/SOURCE-DIGEST" 2>/dev/null)
if [ "$want" = "$have" ]; then
	ok "dist/ was built from the sources in the tree ($want)"
else
	bad "dist/ is stale: built from $have, the sources are $want; run modules/webui/ui/build.sh and commit dist/"
fi

for f in index.html assets/app.js assets/app.css THIRD-PARTY-LICENSES.txt; do
	if [ -s "$dist/$f" ]; then ok "dist/$f is there"; else bad "dist/$f is missing"; fi
done
if grep -q 'src="/assets/app.js"' "$dist/index.html" &&
   grep -q 'href="/assets/app.css"' "$dist/index.html" &&
   ! grep -Eq '(src|href)="(https?:)?//' "$dist/index.html" &&
   ! grep -q '<script>' "$dist/index.html"; then
	ok "index.html loads only /assets/app.js and /assets/app.css (no CDN, no inline script)"
else
	bad "index.html loads something else"
	cat "$dist/index.html"
fi
if grep -Eq "(fetch|EventSource)\([\"'\`]https?:" "$dist/assets/app.js"; then
	bad "app.js fetches from another origin"
else
	ok "app.js fetches nothing from another origin"
fi

if command -v node >/dev/null 2>&1; then
	out=$(cd "$ui" && node --test test/ 2>&1)
	rc=$?
	pass=$(printf '%s\n' "$out" | sed -n 's/^# pass //p')
	if [ "$rc" = 0 ]; then
		ok "node --test: $pass tests of the page's logic pass"
	else
		bad "node --test failed:"
		printf '%s\n' "$out" | grep -E '^not ok|Error|expected|actual' | head -40
	fi
else
	echo "SKIP: node not found (apt-get install nodejs): the page's unit tests did not run"
fi

echo "# $n checks, $fail failed"
[ "$fail" = 0 ]
