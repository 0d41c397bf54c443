# SPDX-License-Identifier: BSD-2-Clause
# modules/http/: HTTP/1.1 for the L7 proxy engine (rules.http, l7.http flows).
# Its own strict parser (http_parse.c; why: see there) and PCRE2 for the
# rules' regular expressions.

module_LTLIBRARIES += modules/http.la
modules_http_la_SOURCES = \
	modules/http/http.c \
	modules/http/http.h \
	modules/http/http_parse.c \
	modules/http/http_parse.h \
	modules/http/http_rules.c \
	modules/http/http_rules.h
modules_http_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden $(PCRE2_CFLAGS)
modules_http_la_LDFLAGS = $(BW_MODULE_LINK)
modules_http_la_LIBADD = $(PCRE2_LIBS) $(JANSSON_LIBS)
EXTRA_DIST += modules/http/README.md
