#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Set up and run bulwark's whole test suite on Debian 12 (as root, so the
# tests that need network namespaces and BPF run too):
#   install the packages in .ci/packages, build out of tree in _build/ci
#   with -Werror, make check, make distcheck (which builds and unit-tests
#   the tarball; the e2e tests ran once already, in make check).
# A failing test's log is printed. CI runs this through .ci/run.
set -euo pipefail
top=$(cd "$(dirname "$0")" && pwd)
cd "$top"

.ci/install-deps
./autogen.sh >/dev/null

jobs=$(nproc 2>/dev/null || echo 2)
build=$top/_build/ci
mkdir -p "$build"
cd "$build"

show_logs() {
	echo "==== test logs ===="
	find "$build" -name test-suite.log -print0 |
		while IFS= read -r -d '' f; do
			echo "==== $f"
			cat "$f"
		done
}

"$top"/configure --enable-werror
make -j"$jobs"
make -j"$jobs" check || { show_logs; exit 1; }
make -j"$jobs" distcheck ||
	{ show_logs; exit 1; }
echo "ci-test: build, make check and make distcheck passed"
