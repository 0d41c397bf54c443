/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/dnsproxy/dnsproxy_msg.h - the DNS message path of the proxy:
 * reading queries and answers (with ldns), writing the proxy's own
 * answers (REFUSED, NXDOMAIN, SERVFAIL, FORMERR), swapping message IDs.
 *
 * The proxy forwards a query's bytes unchanged (EDNS0 options, flags and
 * all) except for the ID, and an answer's bytes unchanged except for the
 * ID: it parses to decide and to learn, never to re-encode. Every function
 * here takes untrusted bytes and is fuzzed (tests/fuzz/fuzz_dns.c).
 */
#ifndef BW_DNSPROXY_MSG_H
#define BW_DNSPROXY_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "lib/fqdnmatch.h"

#define DPM_HEADER 12
#define DPM_MAX_QUERY 4096   /* larger queries are dropped (oversized) */
#define DPM_MAX_IPS 512      /* addresses learned from one answer at most */
#define DPM_MAX_CNAMES 16    /* CNAME chain length followed */
#define DPM_MAX_TYPES 8

/* Why a message was not usable (counted per reason). */
enum dpm_error {
	DPM_OK = 0,
	DPM_SHORT,       /* shorter than a header: dropped */
	DPM_OVERSIZED,   /* longer than DPM_MAX_QUERY: dropped */
	DPM_MALFORMED,   /* the library refused it (bad names, pointer loops,
			  * truncated sections): FORMERR */
	DPM_NOT_QUERY,   /* QR set, opcode not QUERY, or not one question: FORMERR */
	DPM_NAME,        /* the question's name cannot be matched: FORMERR */
	DPM_MISMATCH,    /* an answer to another question: dropped */
	DPM_NERRORS,
};

const char *dpm_error_name(enum dpm_error e);

struct dpm_query {
	uint16_t id;
	uint16_t qtype, qclass;
	int rd;                             /* recursion desired */
	int edns;                           /* has an OPT record */
	size_t question_end;                /* offset after the question */
	char qname[BW_FQDN_NAME_MAX + 3];   /* lower case, trailing dot */
};

/* Read a query (one question, opcode QUERY). DPM_OK or the reason. */
enum dpm_error dpm_parse_query(const uint8_t *buf, size_t len, struct dpm_query *q);

struct dpm_ip {
	int family;
	uint8_t addr[16];
};

struct dpm_answer {
	uint16_t id;
	uint8_t rcode;
	int tc;
	uint32_t ttl;                       /* smallest along the chain, 0 none */
	struct dpm_ip ips[DPM_MAX_IPS];     /* A/AAAA of the qname or its chain */
	size_t n_ips;
	char cnames[DPM_MAX_CNAMES][BW_FQDN_NAME_MAX + 3];
	size_t n_cnames;
	uint16_t rrtypes[DPM_MAX_TYPES];    /* types in the answer section */
	size_t n_rrtypes;
};

/*
 * Read an answer to the query q: same question (name case-insensitive,
 * type and class), QR set; the A and AAAA records of q->qname followed
 * through CNAMEs (records of other names are left out). DPM_OK or the
 * reason.
 */
enum dpm_error dpm_parse_answer(const uint8_t *buf, size_t len,
				const struct dpm_query *q, struct dpm_answer *a);

/*
 * Write the proxy's own answer to a query: the query's header and
 * question with QR, RA and rcode set and no records (an OPT record when
 * the query had one). q may be NULL (a query that could not be read): then
 * only the header is echoed (FORMERR). Returns the length, or 0 when out
 * is too small or query is shorter than a header.
 */
size_t dpm_make_reply(const uint8_t *query, size_t qlen, const struct dpm_query *q,
		      uint8_t rcode, uint8_t *out, size_t outlen);

static inline uint16_t dpm_get_id(const uint8_t *buf)
{
	return (uint16_t)(buf[0] << 8 | buf[1]);
}

static inline void dpm_set_id(uint8_t *buf, uint16_t id)
{
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
}

/* "A", "AAAA", "TYPE65280": static or buf. */
const char *dpm_type_name(uint16_t type, char *buf, size_t len);

/* rcode numbers */
#define DPM_NOERROR 0
#define DPM_FORMERR 1
#define DPM_SERVFAIL 2
#define DPM_NXDOMAIN 3
#define DPM_REFUSED 5

#endif /* BW_DNSPROXY_MSG_H */
