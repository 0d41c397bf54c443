# SPDX-License-Identifier: BSD-2-Clause
# modules/netpol-k8s/: the Kubernetes NetworkPolicy policy format.
# netpol_common.[ch] are shared with modules/netpol-cilium (compiled into
# each module; nothing is exported but the descriptor).

module_LTLIBRARIES += modules/netpol-k8s.la
modules_netpol_k8s_la_SOURCES = \
	modules/netpol-k8s/netpol_k8s.c \
	modules/netpol-k8s/netpol_common.c \
	modules/netpol-k8s/netpol_common.h
modules_netpol_k8s_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
modules_netpol_k8s_la_LDFLAGS = $(BW_MODULE_LINK)
modules_netpol_k8s_la_LIBADD = libbw.la $(JANSSON_LIBS)
EXTRA_DIST += modules/netpol-k8s/README.md
