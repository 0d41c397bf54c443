# SPDX-License-Identifier: BSD-2-Clause
# modules/identity-local/: the node-local identity allocator.

module_LTLIBRARIES += modules/identity-local.la
modules_identity_local_la_SOURCES = modules/identity-local/identity_local.c
modules_identity_local_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
modules_identity_local_la_LDFLAGS = $(BW_MODULE_LINK)
modules_identity_local_la_LIBADD = libbw.la $(LIBEVENT_LIBS) $(JANSSON_LIBS)
EXTRA_DIST += modules/identity-local/README.md
