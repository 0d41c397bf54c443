/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/dnsproxy/dnsproxy_msg.c - DNS messages through ldns (see
 * dnsproxy_msg.h).
 *
 * ldns (libldns-dev) does the wire parsing: name decompression, section
 * counts, record lengths, pointer limits. Before a message reaches it, a
 * walk of our own (dpm_precheck) bounds what ldns will do: it follows every
 * name (owners, and the names inside the rdata of the types that hold
 * them) and requires every compression pointer to land on a label, never
 * on another pointer, so no name costs more than ~128 steps however a
 * message is crafted (ldns alone follows up to 65535 pointers per name). The proxy's own
 * answers are written by hand from the query's header and question bytes.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dnsproxy_msg.h"

static const char *const dpm_error_names[DPM_NERRORS] = {
	[DPM_OK] = "ok",
	[DPM_SHORT] = "short",
	[DPM_OVERSIZED] = "oversized",
	[DPM_MALFORMED] = "malformed",
	[DPM_NOT_QUERY] = "not_a_query",
	[DPM_NAME] = "bad_name",
	[DPM_MISMATCH] = "mismatch",
};

const char *dpm_error_name(enum dpm_error e)
{
	return e < DPM_NERRORS ? dpm_error_names[e] : "?";
}

/* ---- the pre-check -------------------------------------------------------- */

/*
 * Walk the name at *off in full, following compression pointers, as ldns
 * will: every pointer must land inside the message on a label (not on
 * another pointer, not on an extended label type), what it leads to must
 * lie before the pointer, and the labels may add up to 255 bytes at most. Each jump then adds at least two bytes to the
 * name, so no name, however crafted (loops, long pointer chains), costs
 * more than about 128 steps here or in ldns. *off is moved past the name's
 * own bytes.
 */
static int dpm_walk_name(const uint8_t *b, size_t len, size_t *off)
{
	size_t p = *off, total = 0, end = 0, limit = len;
	int jumped = 0;

	for (;;) {
		uint8_t l;

		if (p >= limit)
			return -1;
		l = b[p];
		if (l == 0) {
			if (!jumped)
				end = p + 1;
			*off = end;
			return 0;
		}
		if ((l & 0xc0) == 0xc0) {
			size_t t;

			if (p + 1 >= limit)
				return -1;
			t = (size_t)(l & 0x3f) << 8 | b[p + 1];
			/*
			 * backwards (RFC 1035: a prior occurrence), at a label;
			 * what it leads to must lie wholly before the pointer (a
			 * label overlapping it would make the name depend on
			 * bytes after it: a question copied up to its end would
			 * no longer hold the same name)
			 */
			if (t < DPM_HEADER || t >= p || (b[t] & 0xc0) != 0)
				return -1;
			if (!jumped)
				end = p + 2;
			jumped = 1;
			limit = p;
			p = t;
			continue;
		}
		if (l & 0xc0)
			return -1; /* 0x40/0x80: extended label types */
		total += l + 1u;
		if (total > 255 || p + 1u + l >= limit)
			return -1;
		p += 1u + l;
	}
}

/* Skip a <character-string> (length byte + bytes) inside rdata. */
static int dpm_skip_str(size_t *k, size_t end, const uint8_t *b)
{
	if (*k >= end || *k + 1u + b[*k] > end)
		return -1;
	*k += 1u + b[*k];
	return 0;
}

/*
 * Names inside the rdata of the types that carry them (the ones ldns
 * decompresses that DNS answers actually hold), at their offsets.
 */
static int dpm_walk_rdata(const uint8_t *b, size_t len, uint16_t type, size_t k,
			  size_t rdlen)
{
	size_t end = k + rdlen;
	int names = 0;

	switch (type) {
	case 2: case 5: case 12: case 39: case 7: case 8: case 9: /* NS CNAME PTR DNAME MB MG MR */
	case 47: case 250: case 249:                              /* NSEC, TSIG, TKEY: first field */
		names = 1;
		break;
	case 15: case 18: case 21: case 36:                       /* MX AFSDB RT KX */
	case 64: case 65:                                         /* SVCB HTTPS */
		k += 2;
		names = 1;
		break;
	case 33:                                                  /* SRV */
		k += 6;
		names = 1;
		break;
	case 6: case 14: case 17:                                 /* SOA MINFO RP */
		names = 2;
		break;
	case 26:                                                  /* PX */
		k += 2;
		names = 2;
		break;
	case 46: case 24:                                         /* RRSIG SIG: signer */
		k += 18;
		names = 1;
		break;
	case 35:                                                  /* NAPTR */
		k += 4;
		for (int i = 0; i < 3; i++)
			if (dpm_skip_str(&k, end, b) < 0)
				return -1;
		names = 1;
		break;
	default:
		return 0;
	}
	for (int i = 0; i < names; i++) {
		size_t o = k;

		if (k >= end || dpm_walk_name(b, end < len ? end : len, &o) < 0)
			return -1;
		k = o;
	}
	return 0;
}

static int dpm_precheck(const uint8_t *b, size_t len)
{
	size_t off = DPM_HEADER;
	unsigned counts[4];

	for (int i = 0; i < 4; i++)
		counts[i] = (unsigned)b[4 + 2 * i] << 8 | b[5 + 2 * i];
	for (unsigned i = 0; i < counts[0]; i++) {
		if (dpm_walk_name(b, len, &off) < 0 || off + 4 > len)
			return -1;
		off += 4;
	}
	for (int s = 1; s < 4; s++)
		for (unsigned i = 0; i < counts[s]; i++) {
			size_t rdlen;
			uint16_t type;

			if (dpm_walk_name(b, len, &off) < 0 || off + 10 > len)
				return -1;
			type = (uint16_t)(b[off] << 8 | b[off + 1]);
			rdlen = (size_t)b[off + 8] << 8 | b[off + 9];
			off += 10;
			if (off + rdlen > len || dpm_walk_rdata(b, len, type, off, rdlen) < 0)
				return -1;
			off += rdlen;
		}
	return 0;
}

/* ---- names ---------------------------------------------------------------- */

/*
 * An owner or target name as lower-case text with the trailing dot, from
 * the uncompressed wire form ldns keeps, escaped as ldns_rdf2str() does
 * ("\\." for a dot inside a label, "\\DDD" for what is not printable)
 * without its printf machinery.
 */
static int dpm_name_text(const ldns_rdf *rdf, char *out, size_t outlen)
{
	const uint8_t *d;
	size_t len, i = 0, n = 0;

	if (!rdf || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME || outlen < 2)
		return -1;
	d = ldns_rdf_data(rdf);
	len = ldns_rdf_size(rdf);
	if (!d || len == 0)
		return -1;
	if (len == 1 && d[0] == 0) {
		out[0] = '.';
		out[1] = '\0';
		return 0;
	}
	while (i < len && d[i] != 0) {
		size_t l = d[i++];

		if (l > 63 || i + l > len)
			return -1;
		for (size_t k = 0; k < l; k++) {
			uint8_t c = d[i + k];

			if (n + 5 >= outlen)
				return -1;
			if (c == '.' || c == ';' || c == '(' || c == ')' || c == '\\') {
				out[n++] = '\\';
				out[n++] = (char)c;
			} else if (!(isascii(c) && isgraph(c))) {
				n += (size_t)snprintf(out + n, outlen - n, "\\%03u", (unsigned)c);
			} else {
				out[n++] = (char)tolower(c);
			}
		}
		i += l;
		if (n + 2 >= outlen)
			return -1;
		out[n++] = '.';
	}
	out[n] = '\0';
	return n ? 0 : -1;
}

/* ---- queries -------------------------------------------------------------- */

enum dpm_error dpm_parse_query(const uint8_t *buf, size_t len, struct dpm_query *q)
{
	ldns_pkt *pkt = NULL;
	ldns_rr_list *qs;
	ldns_rr *rr;
	size_t off = DPM_HEADER;
	enum dpm_error rc = DPM_OK;

	memset(q, 0, sizeof(*q));
	if (len < DPM_HEADER)
		return DPM_SHORT;
	q->id = dpm_get_id(buf);
	if (len > DPM_MAX_QUERY)
		return DPM_OVERSIZED;
	/* QR clear, opcode QUERY (0), exactly one question */
	if ((buf[2] & 0x80) || ((buf[2] >> 3) & 0x0f) != 0 || buf[4] != 0 || buf[5] != 1)
		return DPM_NOT_QUERY;
	if (dpm_precheck(buf, len) < 0)
		return DPM_MALFORMED;
	if (dpm_walk_name(buf, len, &off) < 0 || off + 4 > len)
		return DPM_MALFORMED;
	q->question_end = off + 4;
	if (ldns_wire2pkt(&pkt, buf, len) != LDNS_STATUS_OK || !pkt)
		return DPM_MALFORMED;
	qs = ldns_pkt_question(pkt);
	if (!qs || ldns_rr_list_rr_count(qs) != 1) {
		rc = DPM_NOT_QUERY;
		goto out;
	}
	rr = ldns_rr_list_rr(qs, 0);
	if (dpm_name_text(ldns_rr_owner(rr), q->qname, sizeof(q->qname)) < 0) {
		rc = DPM_NAME;
		goto out;
	}
	q->qtype = (uint16_t)ldns_rr_get_type(rr);
	q->qclass = (uint16_t)ldns_rr_get_class(rr);
	q->rd = ldns_pkt_rd(pkt);
	q->edns = ldns_pkt_edns(pkt);
out:
	ldns_pkt_free(pkt);
	return rc;
}

/* ---- answers -------------------------------------------------------------- */

static int dpm_same_name(const char *a, const char *b)
{
	return !strcmp(a, b);
}

enum dpm_error dpm_parse_answer(const uint8_t *buf, size_t len,
				const struct dpm_query *q, struct dpm_answer *a)
{
	ldns_pkt *pkt = NULL;
	ldns_rr_list *qs, *an;
	char name[BW_FQDN_NAME_MAX + 3], cur[BW_FQDN_NAME_MAX + 3];
	enum dpm_error rc = DPM_OK;
	size_t n, i;
	int progress;

	memset(a, 0, sizeof(*a));
	if (len < DPM_HEADER)
		return DPM_SHORT;
	a->id = dpm_get_id(buf);
	a->rcode = buf[3] & 0x0f;
	a->tc = (buf[2] & 0x02) != 0;
	if (!(buf[2] & 0x80))
		return DPM_MISMATCH;
	if (dpm_precheck(buf, len) < 0)
		return DPM_MALFORMED;
	if (ldns_wire2pkt(&pkt, buf, len) != LDNS_STATUS_OK || !pkt) {
		/* a truncated answer may end mid-record: still pass it on */
		return a->tc ? DPM_OK : DPM_MALFORMED;
	}
	qs = ldns_pkt_question(pkt);
	if (!qs || ldns_rr_list_rr_count(qs) != 1 ||
	    dpm_name_text(ldns_rr_owner(ldns_rr_list_rr(qs, 0)), name, sizeof(name)) < 0 ||
	    strcmp(name, q->qname) ||
	    (uint16_t)ldns_rr_get_type(ldns_rr_list_rr(qs, 0)) != q->qtype ||
	    (uint16_t)ldns_rr_get_class(ldns_rr_list_rr(qs, 0)) != q->qclass) {
		rc = DPM_MISMATCH;
		goto out;
	}
	an = ldns_pkt_answer(pkt);
	n = an ? ldns_rr_list_rr_count(an) : 0;
	for (i = 0; i < n; i++) {
		uint16_t t = (uint16_t)ldns_rr_get_type(ldns_rr_list_rr(an, i));
		size_t k;

		for (k = 0; k < a->n_rrtypes && a->rrtypes[k] != t; k++)
			;
		if (k == a->n_rrtypes && a->n_rrtypes < DPM_MAX_TYPES)
			a->rrtypes[a->n_rrtypes++] = t;
	}
	/* follow the CNAME chain from the qname (records may come in any order) */
	snprintf(cur, sizeof(cur), "%s", q->qname);
	do {
		progress = 0;
		for (i = 0; i < n && a->n_cnames < DPM_MAX_CNAMES; i++) {
			ldns_rr *rr = ldns_rr_list_rr(an, i);

			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME ||
			    dpm_name_text(ldns_rr_owner(rr), name, sizeof(name)) < 0 ||
			    !dpm_same_name(name, cur) || ldns_rr_rd_count(rr) < 1 ||
			    dpm_name_text(ldns_rr_rdf(rr, 0), name, sizeof(name)) < 0)
				continue;
			for (size_t k = 0; k < a->n_cnames; k++)
				if (!strcmp(a->cnames[k], name))
					goto loop; /* a CNAME loop: stop */
			if (!strcmp(name, q->qname))
				goto loop;
			snprintf(a->cnames[a->n_cnames++], sizeof(a->cnames[0]), "%s", name);
			if (!a->ttl || ldns_rr_ttl(rr) < a->ttl)
				a->ttl = ldns_rr_ttl(rr);
			snprintf(cur, sizeof(cur), "%s", name);
			progress = 1;
			break;
		}
	} while (progress && a->n_cnames < DPM_MAX_CNAMES);
loop:
	for (i = 0; i < n && a->n_ips < DPM_MAX_IPS; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		const ldns_rdf *d;
		int ok;

		if (t != LDNS_RR_TYPE_A && t != LDNS_RR_TYPE_AAAA)
			continue;
		if (ldns_rr_rd_count(rr) < 1 ||
		    dpm_name_text(ldns_rr_owner(rr), name, sizeof(name)) < 0)
			continue;
		ok = !strcmp(name, q->qname);
		for (size_t k = 0; !ok && k < a->n_cnames; k++)
			ok = !strcmp(name, a->cnames[k]);
		if (!ok)
			continue;
		d = ldns_rr_rdf(rr, 0);
		if (t == LDNS_RR_TYPE_A && ldns_rdf_size(d) == 4) {
			a->ips[a->n_ips].family = 4;
			memset(a->ips[a->n_ips].addr, 0, 16);
			memcpy(a->ips[a->n_ips].addr, ldns_rdf_data(d), 4);
		} else if (t == LDNS_RR_TYPE_AAAA && ldns_rdf_size(d) == 16) {
			a->ips[a->n_ips].family = 6;
			memcpy(a->ips[a->n_ips].addr, ldns_rdf_data(d), 16);
		} else {
			continue;
		}
		a->n_ips++;
		if (!a->ttl || ldns_rr_ttl(rr) < a->ttl)
			a->ttl = ldns_rr_ttl(rr);
	}
out:
	ldns_pkt_free(pkt);
	return rc;
}

/* ---- our own answers -------------------------------------------------------- */

size_t dpm_make_reply(const uint8_t *query, size_t qlen, const struct dpm_query *q,
		      uint8_t rcode, uint8_t *out, size_t outlen)
{
	size_t n = q ? q->question_end : DPM_HEADER;

	if (qlen < DPM_HEADER || n > qlen || n + (q && q->edns ? 11 : 0) > outlen)
		return 0;
	memcpy(out, query, n);
	out[2] = (uint8_t)((query[2] & 0x79) | 0x80); /* QR, keep opcode and RD, clear AA, TC */
	out[3] = (uint8_t)(0x80 | (rcode & 0x0f));   /* RA, no Z/AD/CD */
	out[4] = 0;
	out[5] = q ? 1 : 0;                           /* QDCOUNT */
	memset(out + 6, 0, 6);                        /* AN, NS, AR */
	if (q && q->edns) {
		/* OPT: root, type 41, UDP size 1232, no extended rcode, no options */
		static const uint8_t opt[11] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0 };

		memcpy(out + n, opt, sizeof(opt));
		n += sizeof(opt);
		out[11] = 1;
	}
	return n;
}

const char *dpm_type_name(uint16_t type, char *buf, size_t len)
{
	const ldns_rr_descriptor *d = ldns_rr_descript(type);

	if (d && d->_name)
		return d->_name;
	snprintf(buf, len, "TYPE%u", (unsigned)type);
	return buf;
}
