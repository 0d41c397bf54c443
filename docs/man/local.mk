# SPDX-License-Identifier: BSD-2-Clause
# docs/man/: the manual pages. bulwarkd(8) and bulwark(8) are written by
# hand; bulwark.conf(5) is generated: its KEYS section comes from
# `bulwarkd -n -v` run on the default configuration against the modules
# just built (every key of the core and of each shipped module, with its
# default and its help), so that it lists exactly what this build accepts.

dist_man_MANS = docs/man/bulwarkd.8 docs/man/bulwark.8
nodist_man_MANS = docs/man/bulwark.conf.5
EXTRA_DIST += docs/man/bulwark.conf.5.in docs/man/conf2mdoc.awk
CLEANFILES += docs/man/bulwark.conf.5 docs/man/bulwark.conf.5.keys docs/man/bulwark.conf.5.tmp

docs/man/bulwark.conf.5: $(srcdir)/docs/man/bulwark.conf.5.in \
		$(srcdir)/docs/man/conf2mdoc.awk etc/bulwark.conf bulwarkd$(EXEEXT) \
		$(module_LTLIBRARIES)
	$(AM_V_GEN)$(MKDIR_P) docs/man && \
	./bulwarkd$(EXEEXT) -n -v -c etc/bulwark.conf \
	    -o daemon.module_dir=$(abs_top_builddir)/modules/.libs 2>/dev/null | \
	$(AWK) -v moduledir='$(moduledir)' -f $(srcdir)/docs/man/conf2mdoc.awk \
	    > $@.keys && \
	test -s $@.keys && \
	$(AWK) -v f=$@.keys '/^@KEYS@$$/ { while ((getline l < f) > 0) print l; next } { print }' \
	    $(srcdir)/docs/man/bulwark.conf.5.in | \
	$(SED) -e 's|@sysconfdir[@]|$(sysconfdir)|g' -e 's|@datadir[@]|$(datadir)|g' > $@.tmp && \
	rm -f $@.keys && mv -f $@.tmp $@
