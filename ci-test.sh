#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Set up and run bulwark's whole test suite on Debian 12 (as root, so the
# tests that need network namespaces and BPF run too):
#   install the packages in .ci/packages, build out of tree in _build/ci
#   with -Werror, make check, make distcheck (which builds and unit-tests
#   the tarball; the e2e tests ran once already, in make check), then a
#   second build in _build/ci-asan with AddressSanitizer and UBSan
#   (configure --enable-asan) whose make check runs the unit, module and
#   fuzz-corpus tests (not the e2e ones, for time), so that a memory error
#   or undefined behaviour fails CI.
# A failing test's log is printed. CI runs this through .ci/run.
# BW_CI_ASAN=no skips the sanitizer build.
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
	find "${1:-$build}" -name test-suite.log -print0 |
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

if [ "${BW_CI_ASAN:-yes}" != no ]; then
	asan=$top/_build/ci-asan
	mkdir -p "$asan"
	cd "$asan"
	"$top"/configure --enable-werror --enable-asan --disable-e2e
	make -j"$jobs"
	# leaks found at exit fail the test too (LeakSanitizer is on with ASan)
	ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		make -j"$jobs" check || { show_logs "$asan"; exit 1; }
	echo "ci-test: the AddressSanitizer + UBSan build's make check passed"
fi
