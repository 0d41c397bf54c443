/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/proxy/sockets.c - the engine's socket helpers that hold no engine
 * state: a proxy's listening socket (transparent or not) and a socket
 * address from a connection's address bytes. Split from engine.c to keep
 * that file under the size the conventions allow.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/proxy/proxy_int.h"

int
bw_proxy_listen_socket(struct sockaddr_storage *addr, socklen_t *len,
		       int transparent)
{
	int fd, one = 1, rc;

	fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (transparent) {
		rc = addr->ss_family == AF_INET6
			     ? setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one))
			     : setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one));
		if (rc < 0)
			goto fail;
	}
	if (addr->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)addr, *len) < 0 || listen(fd, 1024) < 0)
		goto fail;
	*len = sizeof(*addr);
	if (getsockname(fd, (struct sockaddr *)addr, len) < 0)
		goto fail;
	return fd;
fail:
	rc = -errno;
	close(fd);
	return rc;
}

socklen_t
px_sockaddr(struct sockaddr_storage *ss, uint8_t v, const uint8_t *addr,
	    uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (v == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, addr, 16);
		s6->sin6_port = htons(port);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	memcpy(&s4->sin_addr, addr, 4);
	s4->sin_port = htons(port);
	return sizeof(*s4);
}
