# SPDX-License-Identifier: BSD-2-Clause
# bpf/: datapath programs built with $(CLANG) -target bpf $(BPF_CPPFLAGS) and
# turned into skeleton headers with $(BPFTOOL) gen skeleton (docs/internals.md).
# core/datapath/datapath.c includes bpf/bw_lxc.skel.h, which embeds the object, so
# nothing BPF is installed.

noinst_HEADERS += bpf/bw_datapath.h

BW_BPF_LIB_H = \
	bpf/lib/common.h \
	bpf/lib/maps.h \
	bpf/lib/parse.h \
	bpf/lib/ipcache.h \
	bpf/lib/policy.h \
	bpf/lib/conntrack.h \
	bpf/lib/frag.h \
	bpf/lib/events.h \
	bpf/lib/redirect.h \
	bpf/lib/hostroute.h

EXTRA_DIST += bpf/bw_lxc.bpf.c $(BW_BPF_LIB_H) docs/datapath.md

BW_BPF_CFLAGS = -target bpf -O2 -g -D__BPF__ -Wall \
	-I$(srcdir)/bpf $(BPF_CPPFLAGS) $(LIBBPF_CFLAGS)

bpf/bw_lxc.bpf.o: $(srcdir)/bpf/bw_lxc.bpf.c $(srcdir)/bpf/bw_datapath.h \
		$(BW_BPF_LIB_H:%=$(srcdir)/%)
	@$(MKDIR_P) bpf
	$(AM_V_GEN)$(CLANG) $(BW_BPF_CFLAGS) -c $(srcdir)/bpf/bw_lxc.bpf.c -o $@

bpf/bw_lxc.skel.h: bpf/bw_lxc.bpf.o
	$(AM_V_GEN)$(BPFTOOL) gen skeleton bpf/bw_lxc.bpf.o name bw_lxc > $@.tmp && mv $@.tmp $@

BUILT_SOURCES += bpf/bw_lxc.skel.h
# also when a single target is made without BUILT_SOURCES (make tests/e2e/bwdp)
core/datapath.lo: bpf/bw_lxc.skel.h
CLEANFILES += bpf/bw_lxc.bpf.o bpf/bw_lxc.skel.h bpf/bw_lxc.skel.h.tmp

# the uplinks' program (datapath.uplinks; core/datapath/uplink.c includes
# its skeleton): the same maps, reused from their pins
EXTRA_DIST += bpf/bw_uplink.bpf.c
bpf/bw_uplink.bpf.o: $(srcdir)/bpf/bw_uplink.bpf.c $(srcdir)/bpf/bw_datapath.h \
		$(BW_BPF_LIB_H:%=$(srcdir)/%)
	@$(MKDIR_P) bpf
	$(AM_V_GEN)$(CLANG) $(BW_BPF_CFLAGS) -c $(srcdir)/bpf/bw_uplink.bpf.c -o $@

bpf/bw_uplink.skel.h: bpf/bw_uplink.bpf.o
	$(AM_V_GEN)$(BPFTOOL) gen skeleton bpf/bw_uplink.bpf.o name bw_uplink > $@.tmp && mv $@.tmp $@

BUILT_SOURCES += bpf/bw_uplink.skel.h
core/datapath/uplink.lo: bpf/bw_uplink.skel.h
CLEANFILES += bpf/bw_uplink.bpf.o bpf/bw_uplink.skel.h bpf/bw_uplink.skel.h.tmp

# the sk_lookup program on the daemon's netns (core/datapath/sklookup.c)
EXTRA_DIST += bpf/bw_sklookup.bpf.c
bpf/bw_sklookup.bpf.o: $(srcdir)/bpf/bw_sklookup.bpf.c $(srcdir)/bpf/bw_datapath.h \
		$(BW_BPF_LIB_H:%=$(srcdir)/%)
	@$(MKDIR_P) bpf
	$(AM_V_GEN)$(CLANG) $(BW_BPF_CFLAGS) -c $(srcdir)/bpf/bw_sklookup.bpf.c -o $@

bpf/bw_sklookup.skel.h: bpf/bw_sklookup.bpf.o
	$(AM_V_GEN)$(BPFTOOL) gen skeleton bpf/bw_sklookup.bpf.o name bw_sklookup > $@.tmp && mv $@.tmp $@

BUILT_SOURCES += bpf/bw_sklookup.skel.h
core/datapath/sklookup.lo: bpf/bw_sklookup.skel.h
CLEANFILES += bpf/bw_sklookup.bpf.o bpf/bw_sklookup.skel.h bpf/bw_sklookup.skel.h.tmp
