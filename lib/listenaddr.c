/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/listenaddr.c - the listen address parser (lib/listenaddr.h), shared
 * by the core's check of BW_CONF_F_LISTEN keys and the modules that bind
 * TCP listeners.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/listenaddr.h"

const char *
bw_listen_parse(const char *v, char *host, size_t hostlen, uint16_t *port)
{
	char h[256];
	const char *colon, *p;
	size_t hlen;
	long n = 0;

	if (v == NULL || v[0] == '\0')
		return "empty";
	if (v[0] == '[') {
		const char *end = strchr(v, ']');
		struct in6_addr a6;

		if (end == NULL || end[1] != ':')
			return "expected [IPV6]:PORT";
		hlen = (size_t)(end - v - 1);
		if (hlen == 0 || hlen >= sizeof(h))
			return "bad IPv6 address";
		memcpy(h, v + 1, hlen);
		h[hlen] = '\0';
		if (inet_pton(AF_INET6, h, &a6) != 1)
			return "bad IPv6 address";
		colon = end + 1;
	} else {
		struct in_addr a4;

		colon = strrchr(v, ':');
		if (colon == NULL)
			return "no :PORT";
		hlen = (size_t)(colon - v);
		if (memchr(v, ':', hlen) != NULL)
			return "an IPv6 address must be in brackets, [ADDR]:PORT";
		if (hlen >= sizeof(h))
			return "host name too long";
		memcpy(h, v, hlen);
		h[hlen] = '\0';
		if (hlen == 0) {
			snprintf(h, sizeof(h), "::");
		} else if (strspn(h, "0123456789.") == hlen) {
			if (inet_pton(AF_INET, h, &a4) != 1)
				return "bad IPv4 address";
		} else {
			for (p = h; *p != '\0'; p++)
				if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
					return "bad host name";
			if (h[0] == '.' || h[0] == '-' || strstr(h, "..") != NULL)
				return "bad host name";
		}
	}
	p = colon + 1;
	if (*p == '\0')
		return "no port";
	for (; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return "the port is not a number";
		n = n * 10 + (*p - '0');
		if (n > 65535)
			return "the port is above 65535";
	}
	if (n == 0)
		return "the port must be 1..65535";
	if (host != NULL) {
		if (strlen(h) >= hostlen)
			return "host name too long";
		snprintf(host, hostlen, "%s", h);
	}
	if (port != NULL)
		*port = (uint16_t)n;
	return NULL;
}

int
bw_listen_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (host == NULL)
		return 0;
	if (!strcasecmp(host, "localhost"))
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}
