/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/prefix.c - IP prefix parsing, printing and containment
 * (lib/prefix.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/prefix.h"

void
bw_prefix_mask(struct bw_prefix *p)
{
	int bytes = p->family == 4 ? 4 : 16;

	for (int i = 0; i < bytes; i++) {
		int bits = p->plen - i * 8;

		if (bits >= 8)
			continue;
		p->addr[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
	if (p->family == 4)
		memset(p->addr + 4, 0, 12);
}

static int
prefix_parse(const char *s, unsigned flags, struct bw_prefix *p)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	size_t alen;
	int max;

	if (s == NULL || strlen(s) >= sizeof(buf))
		return -EINVAL;
	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, p->addr) == 1) {
		p->family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, p->addr) == 1) {
		p->family = 6;
		max = 128;
	} else {
		return -EINVAL;
	}
	if (slash != NULL) {
		const char *q = slash + 1;
		char *end;
		long l;

		if (*q < '0' || *q > '9' || strlen(q) > 3)
			return -EINVAL;
		l = strtol(q, &end, 10);
		if (*end != '\0' || l > max)
			return -EINVAL;
		p->plen = (int)l;
	} else if (flags & BW_PREFIX_NEED_LEN) {
		return -EINVAL;
	} else {
		p->plen = max;
	}
	if (flags & BW_PREFIX_STRICT) {
		struct bw_prefix m = *p;

		bw_prefix_mask(&m);
		if (memcmp(m.addr, p->addr, 16) != 0)
			return -EINVAL;
	}
	bw_prefix_mask(p);
	return 0;
}

int
bw_prefix_parse(const char *s, unsigned flags, struct bw_prefix *p)
{
	int rc;

	memset(p, 0, sizeof(*p));
	rc = prefix_parse(s, flags, p);
	if (rc < 0)
		memset(p, 0, sizeof(*p));
	return rc;
}

int
bw_prefix_parse_label(const char *key, struct bw_prefix *p)
{
	char buf[INET6_ADDRSTRLEN + 8];
	size_t n = key != NULL ? strlen(key) : sizeof(buf);

	if (n >= sizeof(buf)) {
		memset(p, 0, sizeof(*p));
		return -EINVAL;
	}
	memcpy(buf, key, n + 1);
	if (strchr(buf, '.') == NULL)
		for (char *c = buf; *c; c++)
			if (*c == '-')
				*c = ':';
	return bw_prefix_parse(buf, 0, p);
}

const char *
bw_prefix_format(const struct bw_prefix *p, int with_len, char *buf,
		 size_t buflen)
{
	char a[INET6_ADDRSTRLEN];

	if (inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, a,
		      sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "?");
	if (with_len)
		snprintf(buf, buflen, "%s/%d", a, p->plen);
	else
		snprintf(buf, buflen, "%s", a);
	return buf;
}

int
bw_prefix_contains(const struct bw_prefix *p, int family, const uint8_t *addr)
{
	int full, rest;

	if (p->family != family)
		return 0;
	full = p->plen / 8;
	rest = p->plen % 8;
	if (memcmp(p->addr, addr, (size_t)full) != 0)
		return 0;
	if (rest) {
		uint8_t m = (uint8_t)(0xff << (8 - rest));

		if ((p->addr[full] & m) != (addr[full] & m))
			return 0;
	}
	return 1;
}

int
bw_prefix_within(const struct bw_prefix *inner, const struct bw_prefix *outer,
		 int strict)
{
	if (inner->plen < outer->plen || (strict && inner->plen == outer->plen))
		return 0;
	return bw_prefix_contains(outer, inner->family, inner->addr);
}

int
bw_prefix_equal(const struct bw_prefix *a, const struct bw_prefix *b)
{
	return a->family == b->family && a->plen == b->plen &&
	       memcmp(a->addr, b->addr, 16) == 0;
}
