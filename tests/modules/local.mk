# SPDX-License-Identifier: BSD-2-Clause
# tests/modules/: tiny test modules exercising every ABI entry point, and one
# per way a module can be refused; test-check has a config check hook (1.1)
# and test-oldabi an ABI 1.0 descriptor, which must still load. Built only for `make check` (never
# installed: -rpath /nowhere just makes libtool build a shared object).
# The .so files end up in tests/modules/.libs/, the tests' module_dir.

BW_TESTMOD_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
BW_TESTMOD_LDFLAGS = -module -avoid-version -shared -rpath /nowhere

check_LTLIBRARIES += \
	tests/modules/test-full.la \
	tests/modules/test-badmajor.la \
	tests/modules/test-newminor.la \
	tests/modules/test-short.la \
	tests/modules/test-badsig.la \
	tests/modules/test-dupname.la \
	tests/modules/test-nodesc.la \
	tests/modules/test-initfail.la \
	tests/modules/test-check.la \
	tests/modules/test-oldabi.la \
	tests/modules/test-redirect.la

tests_modules_test_full_la_SOURCES = tests/modules/test-full.c
tests_modules_test_full_la_CFLAGS = $(BW_TESTMOD_CFLAGS)
tests_modules_test_full_la_LDFLAGS = $(BW_TESTMOD_LDFLAGS)
tests_modules_test_badmajor_la_SOURCES = tests/modules/test-badmajor.c
tests_modules_test_badmajor_la_CFLAGS = $(BW_TESTMOD_CFLAGS)
tests_modules_test_badmajor_la_LDFLAGS = $(BW_TESTMOD_LDFLAGS)
tests_modules_test_newminor_la_SOURCES = tests/modules/test-newminor.c
tests_modules_test_newminor_la_CFLAGS = $(BW_TESTMOD_CFLAGS)
tests_modules_test_newminor_la_LDFLAGS = $(BW_TESTMOD_LDFLAGS)
tests_modules_test_short_la_SOURCES = tests/modules/test-short.c
tests_modules_test_short_la_CFLAGS = $(BW_TESTMOD_CFLAGS)
tests_modules_test_short_la_LDFLAGS = $(BW_TESTMOD_LDFLAGS)
tests_modules_test_badsig_la_SOURCES = tests/modules/test-badsig.c
tests_modules_test_badsig_la_CFLAGS = $(BW_TESTMOD_CFLAGS)
tests_modules_test_badsig_la_LDFLAGS = $(BW_TESTMOD_LDFLAGS)
tests_modules_test_dupname_la_SOURCES = tests/modules/test-dupname.c
tests_modules_test_dupname_la_CFLAGS = $(BW_TESTMOD_CFLAGS)
tests_modules_test_dupname_la_LDFLAGS = $(BW_TESTMOD_LDFLAGS)
tests_modules_test_nodesc_la_SOURCES = tests/modules/test-nodesc.c
tests_modules_test_nodesc_la_CFLAGS = $(BW_TESTMOD_CFLAGS)
tests_modules_test_nodesc_la_LDFLAGS = $(BW_TESTMOD_LDFLAGS)
tests_modules_test_initfail_la_SOURCES = tests/modules/test-initfail.c
tests_modules_test_initfail_la_CFLAGS = $(BW_TESTMOD_CFLAGS)
tests_modules_test_initfail_la_LDFLAGS = $(BW_TESTMOD_LDFLAGS)
tests_modules_test_check_la_SOURCES = tests/modules/test-check.c
tests_modules_test_check_la_CFLAGS = $(BW_TESTMOD_CFLAGS)
tests_modules_test_check_la_LDFLAGS = $(BW_TESTMOD_LDFLAGS)
tests_modules_test_oldabi_la_SOURCES = tests/modules/test-oldabi.c
tests_modules_test_oldabi_la_CFLAGS = $(BW_TESTMOD_CFLAGS)
tests_modules_test_oldabi_la_LDFLAGS = $(BW_TESTMOD_LDFLAGS)
# a transparent relay for one proxy class (the redirect ABI, 1.2), used by
# tests/e2e/test_redirect*.sh
tests_modules_test_redirect_la_SOURCES = tests/modules/test-redirect.c
tests_modules_test_redirect_la_CFLAGS = $(BW_TESTMOD_CFLAGS) $(LIBEVENT_CFLAGS) $(JANSSON_CFLAGS)
tests_modules_test_redirect_la_LDFLAGS = $(BW_TESTMOD_LDFLAGS)
tests_modules_test_redirect_la_LIBADD = $(LIBEVENT_LIBS) $(JANSSON_LIBS)

# The loader against a real bulwarkd: every rejection message, /v1/modules,
# lifecycle and reload (SIGHUP); then the CLI against the same daemon.
TESTS += tests/modules/test_loader.sh
dist_check_SCRIPTS += tests/modules/test_loader.sh tests/modules/lib.sh
