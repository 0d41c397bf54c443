# SPDX-License-Identifier: BSD-2-Clause
# modules/prometheus/: GET /metrics in the Prometheus text format (Hubble's
# flow metrics, endpoints, policy, BPF maps, datapath counters).

module_LTLIBRARIES += modules/prometheus.la
modules_prometheus_la_SOURCES = \
	modules/prometheus/prometheus.c modules/prometheus/prom.h \
	modules/prometheus/prom_vec.c modules/prometheus/prom_flows.c \
	modules/prometheus/prom_node.c modules/prometheus/prom_dns.c \
	modules/prometheus/prom_http.c modules/prometheus/prom_kafka.c
modules_prometheus_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
modules_prometheus_la_LDFLAGS = $(BW_MODULE_LINK)
modules_prometheus_la_LIBADD = libbw.la libbwhttp.la $(LIBEVENT_LIBS) -lm
EXTRA_DIST += modules/prometheus/README.md modules/prometheus/metrics.list \
	docs/metrics.md
