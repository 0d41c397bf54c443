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
