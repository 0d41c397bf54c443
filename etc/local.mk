# SPDX-License-Identifier: BSD-2-Clause
# etc/: the default configuration and the systemd unit. Both are generated
# from .in templates at build time so they name the configured paths (any
# --prefix) and the default config lists every module this tree builds.

bwconf_DATA += etc/bulwark.conf
systemdsystemunit_DATA += etc/bulwarkd.service
EXTRA_DIST += etc/bulwark.conf.in etc/bulwarkd.service.in
CLEANFILES += etc/bulwark.conf etc/bulwarkd.service \
	etc/bulwark.conf.tmp etc/bulwark.conf.check etc/bulwark.conf.err

# Module names, sorted, from module_LTLIBRARIES (modules/<name>.la).
BW_SHIPPED_MODULES = $(sort $(patsubst %.la,%,$(notdir $(module_LTLIBRARIES))))

bw_etc_edit = $(SED) \
	-e 's|@moduledir[@]|$(moduledir)|g' \
	-e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@modules[@]|$(BW_SHIPPED_MODULES)|g'

# The module sections are appended from "bulwarkd -n -v" run on the
# template against the modules just built: each shipped module's keys with
# their help, commented out at their defaults, so the file documents them
# and cannot go stale.
etc/bulwark.conf: $(srcdir)/etc/bulwark.conf.in Makefile bulwarkd$(EXEEXT) \
		$(module_LTLIBRARIES)
	$(AM_V_GEN)$(MKDIR_P) etc && \
	$(bw_etc_edit) $(srcdir)/etc/bulwark.conf.in > $@.tmp && \
	if ./bulwarkd$(EXEEXT) -n -v -c $@.tmp \
	    -o daemon.module_dir=$(abs_top_builddir)/modules/.libs \
	    > $@.check 2> $@.err; then :; else \
		cat $@.err >&2; rm -f $@.tmp $@.check $@.err; exit 1; \
	fi && \
	$(SED) -e '1,/^\[lua\]$$/d' -e 's/^\([a-z0-9_-]* =\)/#\1/' \
		$@.check >> $@.tmp && \
	rm -f $@.check $@.err && mv -f $@.tmp $@

etc/bulwarkd.service: $(srcdir)/etc/bulwarkd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) etc && \
	$(bw_etc_edit) $(srcdir)/etc/bulwarkd.service.in > $@.tmp && mv -f $@.tmp $@

# The policy directory named by the default config.
install-data-local: install-etc-policies
install-etc-policies:
	$(MKDIR_P) $(DESTDIR)$(bwconfdir)/policies
.PHONY: install-etc-policies

# Grafana dashboards for the prometheus module's metrics (docs/metrics.md),
# installed under $(datadir)/bulwark/grafana for import into Grafana.
grafanadir = $(datadir)/bulwark/grafana
dist_grafana_DATA = \
	etc/grafana/bulwark-policy-verdicts.json \
	etc/grafana/bulwark-node.json \
	etc/grafana/bulwark-adoption.json
