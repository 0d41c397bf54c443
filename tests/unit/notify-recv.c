/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/notify-recv.c - stand in for systemd's notification socket.
 *
 * notify-recv SOCKET FILE binds a datagram Unix socket at SOCKET and
 * appends every message received (sd_notify(3) state strings such as
 * "READY=1") to FILE, one per line, until killed. daemon.sh points
 * bulwarkd's NOTIFY_SOCKET at it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[4096];
	FILE *out;
	int fd;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "usage: notify-recv SOCKET FILE\n");
		return 2;
	}
	strcpy(sun.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		perror("notify-recv: socket");
		return 1;
	}
	out = fopen(argv[2], "a");
	if (out == NULL) {
		perror(argv[2]);
		return 1;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

		if (n < 0)
			continue;
		buf[n] = '\0';
		fprintf(out, "%s\n", buf);
		fflush(out);
	}
}
