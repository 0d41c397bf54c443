# SPDX-License-Identifier: BSD-2-Clause
# tests/leftovers/: make check's last test, which fails when the other tests
# left a mount, a network namespace, an interface, a process or a temporary
# file behind (tests/leftovers/check.sh). Included last by Makefile.am, so
# that TESTS is complete here: its log depends on every other test's log, so
# it runs after them also with make -j (a test that fails still writes its
# log). `make check TESTS=...` without it does not run it.
TESTS += tests/leftovers/check.sh
dist_check_SCRIPTS += tests/leftovers/check.sh tests/leftovers/leftovers.py
BW_LEFTOVERS_BEFORE = $(filter-out tests/leftovers/check.log,\
	$(addsuffix .log,$(basename $(TESTS))))
tests/leftovers/check.log: $(BW_LEFTOVERS_BEFORE)
