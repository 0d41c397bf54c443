# SPDX-License-Identifier: BSD-2-Clause
# modules/webui/: the web UI (docs/webui.md). The module serves the page
# from $(webuidir); the page is the committed build of modules/webui/ui/
# (modules/webui/dist/, rebuilt with modules/webui/ui/build.sh, which needs
# npm; make does not), so building and installing needs no network.

module_LTLIBRARIES += modules/webui.la
modules_webui_la_SOURCES = \
	modules/webui/webui.c modules/webui/webui.h \
	modules/webui/webui_static.c modules/webui/webui_proxy.c \
	modules/webui/webui_events.c
modules_webui_la_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS) \
	$(LIBEVENT_OPENSSL_CFLAGS) -DBW_WEBUI_DIR=\"$(webuidir)\"
modules_webui_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
modules_webui_la_LDFLAGS = $(BW_MODULE_LINK)
modules_webui_la_LIBADD = libbw.la $(LIBEVENT_OPENSSL_LIBS) $(LIBEVENT_LIBS) \
	$(OPENSSL_LIBS) $(JANSSON_LIBS)

# The page and its assets, installed under P/share/bulwark/webui/.
webuidir = $(datadir)/bulwark/webui
webuiassetsdir = $(webuidir)/assets
dist_webui_DATA = modules/webui/dist/index.html \
	modules/webui/dist/THIRD-PARTY-LICENSES.txt
dist_webuiassets_DATA = \
	modules/webui/dist/assets/app.js \
	modules/webui/dist/assets/app.css

EXTRA_DIST += modules/webui/README.md docs/webui.md docs/webui \
	modules/webui/ui/package.json modules/webui/ui/package-lock.json \
	modules/webui/ui/build.sh modules/webui/ui/vite.config.js \
	modules/webui/ui/index.html modules/webui/ui/src \
	modules/webui/ui/srcdigest.sh modules/webui/ui/test \
	modules/webui/dist/SOURCE-DIGEST
