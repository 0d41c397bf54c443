# SPDX-License-Identifier: BSD-2-Clause
# modules/: index of the shipped modules. Each module has its own fragment,
# modules/<name>/local.mk, included from here (add one include line).
#
# Convention: build the module as modules/<name>.la (not
# modules/<name>/<name>.la) so that every module of the build tree lands in
# one directory, modules/.libs/, which tests pass as daemon.module_dir:
#
#   module_LTLIBRARIES += modules/hello.la
#   modules_hello_la_SOURCES = modules/hello/hello.c
#   modules_hello_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
#   modules_hello_la_LDFLAGS = $(BW_MODULE_LINK)
#   modules_hello_la_LIBADD = ...          (its own libraries only)
#   EXTRA_DIST += modules/hello/README.md
#
# The module file is then $(moduledir)/hello.so once installed.

BW_MODULE_LINK = -module -avoid-version -shared \
	-export-symbols-regex '^bw_module_desc$$'

include modules/netpol-k8s/local.mk
include modules/netpol-cilium/local.mk
include modules/identity-local/local.mk
include modules/flowlog/local.mk
include modules/servicemap/local.mk
include modules/prometheus/local.mk
include modules/fqdn/local.mk
include modules/dnsproxy/local.mk
include modules/flowstore/local.mk
include modules/alerts/local.mk
include modules/hubble-observer/local.mk
include modules/webui/local.mk
include modules/http/local.mk
include modules/advisor/local.mk
include modules/kafka/local.mk
