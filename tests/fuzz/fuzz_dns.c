/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_dns.c - fuzz target for the DNS proxy's message path
 * (modules/dnsproxy/dnsproxy_msg.c): any bytes as a query, as an answer to
 * a fixed query and to the query the bytes themselves carry, and the
 * proxy's own answers to them. Nothing may crash, read out of bounds or
 * take long (a crafted compression-pointer loop or chain is refused by
 * the pre-check before ldns sees it); what is returned must be sane.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "modules/dnsproxy/dnsproxy_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpm_query q, fixed;
	struct dpm_answer a;
	uint8_t out[DPM_MAX_QUERY + 64];
	enum dpm_error e;
	size_t n;

	e = dpm_parse_query(data, size, &q);
	if (e == DPM_OK) {
		size_t l = strlen(q.qname);

		/* a read name is lower case with its trailing dot */
		if (l == 0 || q.qname[l - 1] != '.' || q.question_end > size)
			abort();
		for (size_t i = 0; i < l; i++)
			if (q.qname[i] >= 'A' && q.qname[i] <= 'Z')
				abort();
		n = dpm_make_reply(data, size, &q, DPM_REFUSED, out, sizeof(out));
		if (n < DPM_HEADER || (out[2] & 0x80) == 0 || (out[3] & 0x0f) != DPM_REFUSED)
			abort();
		/* our own answer reads back as an answer to the query */
		if (dpm_parse_answer(out, n, &q, &a) != DPM_OK || a.n_ips != 0)
			abort();
		dpm_parse_answer(data, size, &q, &a);
	} else if (e != DPM_SHORT && e != DPM_OVERSIZED) {
		n = dpm_make_reply(data, size, NULL, DPM_FORMERR, out, sizeof(out));
		if (n != DPM_HEADER)
			abort();
	}
	memset(&fixed, 0, sizeof(fixed));
	strcpy(fixed.qname, "www.example.com.");
	fixed.qtype = 1;
	fixed.qclass = 1;
	if (dpm_parse_answer(data, size, &fixed, &a) == DPM_OK) {
		if (a.n_ips > DPM_MAX_IPS || a.n_cnames > DPM_MAX_CNAMES)
			abort();
		for (size_t i = 0; i < a.n_ips; i++)
			if (a.ips[i].family != 4 && a.ips[i].family != 6)
				abort();
	}
	return 0;
}
