# SPDX-License-Identifier: BSD-2-Clause
# examples/: out-of-tree style example modules (examples/module-hello).
# The test installs the public header and bulwark-module.pc into a temporary
# DESTDIR, builds module-hello there with plain make and pkg-config, and
# loads it into a real bulwarkd.

TESTS += examples/module-hello/test_hello.sh
dist_check_SCRIPTS += examples/module-hello/test_hello.sh
EXTRA_DIST += \
	examples/module-hello/hello.c \
	examples/module-hello/Makefile \
	examples/module-hello/README.md
EXTRA_DIST += docs/modules.md
