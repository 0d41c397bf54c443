/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/prometheus/prom_dns.c - Hubble's DNS metrics (the dns plugin,
 * pkg/hubble/metrics/dns), from every L7 flow with a DNS record (the DNS
 * proxy's):
 *   hubble_dns_queries_total{rcode, qtypes, ips_returned}: requests; a
 *     DROPPED one (denied by the DNS rules) with rcode "Policy denied",
 *     an allowed one with rcode "";
 *   hubble_dns_responses_total{rcode, qtypes, ips_returned}: responses,
 *     rcode by name ("No Error", "Non-Existent Domain", ...);
 *   hubble_dns_response_types_total{type, qtypes}: each record type of
 *     a response's answer section.
 * qtypes joins the question types with ','; ips_returned is the number of
 * addresses in the answer. Bounded by [prometheus] max_series.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

struct prom_dns {
	struct prom_vec *queries, *responses, *types;
};

static const char *const dns_labels[] = { "rcode", "qtypes", "ips_returned" };
static const char *const dns_type_labels[] = { "type", "qtypes" };

/* Hubble's rcodeNames. */
static const char *
dns_rcode_name(uint32_t rcode, char *buf, size_t len)
{
	static const char *const names[] = {
		"No Error", "Format Error", "Server Failure", "Non-Existent Domain",
		"Not Implemented", "Query Refused", "Name Exists when it should not",
		"RR Set Exists when it should not", "RR Set that should exist does not",
		"Server Not Authoritative for zone", "Name not contained in zone",
	};

	if (rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	snprintf(buf, len, "%u", (unsigned)rcode);
	return buf;
}

struct prom_dns *
prom_dns_new(size_t max_series)
{
	struct prom_dns *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->queries = prom_vec_new("hubble_dns_queries_total", "Number of DNS queries observed",
				  "counter", dns_labels, 3, max_series, 0x7);
	d->responses = prom_vec_new("hubble_dns_responses_total",
				    "Number of DNS responses observed", "counter", dns_labels, 3,
				    max_series, 0x7);
	d->types = prom_vec_new("hubble_dns_response_types_total",
				"Number of DNS response types", "counter", dns_type_labels, 2,
				max_series, 0x3);
	if (d->queries == NULL || d->responses == NULL || d->types == NULL) {
		prom_dns_free(d);
		return NULL;
	}
	return d;
}

void
prom_dns_free(struct prom_dns *d)
{
	if (d == NULL)
		return;
	prom_vec_free(d->queries);
	prom_vec_free(d->responses);
	prom_vec_free(d->types);
	free(d);
}

void
prom_dns_count(struct prom_dns *d, const struct bw_flow *flow)
{
	const struct bw_flow_l7 *l7;
	const struct bw_flow_dns *dns;
	char qtypes[128] = "", ips[16], rc[16];
	const char *v[3];
	size_t n = 0;

	if (flow->event_type != BW_FLOW_EVENT_L7 || !BW_FLOW_HAS(flow, l7) ||
	    (l7 = flow->l7) == NULL || l7->size < offsetof(struct bw_flow_l7, http) ||
	    (dns = l7->dns) == NULL)
		return;
	for (uint32_t i = 0; i < dns->n_qtypes && n < sizeof(qtypes); i++)
		n += (size_t)snprintf(qtypes + n, sizeof(qtypes) - n, "%s%s", i ? "," : "",
				      dns->qtypes[i] ? dns->qtypes[i] : "");
	snprintf(ips, sizeof(ips), "%u", (unsigned)dns->n_ips);
	v[1] = qtypes;
	v[2] = ips;
	if (flow->verdict == BW_FLOW_VERDICT_DROPPED) {
		v[0] = "Policy denied";
		prom_vec_add(d->queries, v, 1);
	} else if (flow->is_reply != 1) {
		v[0] = "";
		prom_vec_add(d->queries, v, 1);
	} else {
		v[0] = dns_rcode_name(dns->rcode, rc, sizeof(rc));
		prom_vec_add(d->responses, v, 1);
		for (uint32_t i = 0; i < dns->n_rrtypes; i++) {
			const char *t[2] = { dns->rrtypes[i], qtypes };

			prom_vec_add(d->types, t, 1);
		}
	}
}

void
prom_dns_write(const struct prom_dns *d, struct evbuffer *out)
{
	prom_vec_write(d->queries, out);
	prom_vec_write(d->responses, out);
	prom_vec_write(d->types, out);
}

void
prom_dns_foreach_vec(const struct prom_dns *d,
		     void (*cb)(const struct prom_vec *v, void *arg), void *arg)
{
	cb(d->queries, arg);
	cb(d->responses, arg);
	cb(d->types, arg);
}
