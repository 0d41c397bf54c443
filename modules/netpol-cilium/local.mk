# SPDX-License-Identifier: BSD-2-Clause
# modules/netpol-cilium/: the CiliumNetworkPolicy and
# CiliumClusterwideNetworkPolicy policy formats. Shares
# modules/netpol-k8s/netpol_common.[ch] (compiled in, not linked against).

module_LTLIBRARIES += modules/netpol-cilium.la
modules_netpol_cilium_la_SOURCES = \
	modules/netpol-cilium/netpol_cilium.c \
	modules/netpol-cilium/cilium_l7.c modules/netpol-cilium/cilium_l7.h \
	modules/netpol-k8s/netpol_common.c \
	modules/netpol-k8s/netpol_common.h
modules_netpol_cilium_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/modules/netpol-k8s
modules_netpol_cilium_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden $(PCRE2_CFLAGS)
modules_netpol_cilium_la_LDFLAGS = $(BW_MODULE_LINK)
modules_netpol_cilium_la_LIBADD = libbw.la $(JANSSON_LIBS) $(PCRE2_LIBS)
EXTRA_DIST += modules/netpol-cilium/README.md
