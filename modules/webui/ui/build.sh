#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# modules/webui/ui/build.sh - rebuild the web UI's committed bundle,
# modules/webui/dist/, from src/ with the exact versions of
# package-lock.json (npm ci), then run the unit tests of the page's logic.
# Needs Node.js and npm with access to the npm registry; make and the
# installed daemon never do (they use the committed dist/). Commit dist/
# together with the source change.
#
# Usage: modules/webui/ui/build.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
command -v npm >/dev/null || { echo "build.sh: npm is needed (apt-get install npm)" >&2; exit 1; }
npm ci --no-audit --no-fund
npm run build
# The bundle includes elkjs (EPL-2.0) and js-yaml (MIT): ship their notices.
{
	echo "The web UI's bundle (assets/app.js) includes these packages."
	for p in elkjs js-yaml; do
		v=$(node -p "require('./node_modules/$p/package.json').version")
		echo
		echo "==== $p $v ===="
		cat node_modules/$p/LICENSE*
	done
} >../dist/THIRD-PARTY-LICENSES.txt
# The digest of what the bundle was built from: make check compares it
# with the tree (tests/unit/test_webui_dist.sh), so a source change
# without a rebuild fails the tests.
"$here/srcdigest.sh" >../dist/SOURCE-DIGEST
node --test test/
echo "build.sh: modules/webui/dist/ rebuilt ($(cat ../dist/SOURCE-DIGEST))"
