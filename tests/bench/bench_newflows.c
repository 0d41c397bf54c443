/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/bench_newflows.c - a generator of new connections for the flow
 * store benchmark (tests/bench/bench_flowstore.sh): UDP datagrams whose
 * 5-tuples never repeat during a run, so each one is a new connection for
 * the datapath (a CT_NEW trace, one connection record for the flow store).
 *
 *   bench_newflows -s SRC -d DST [-p PORT0] [-n NPORTS] -r RATE -t SECONDS
 *
 * Destination ports cycle through NPORTS ports from PORT0 (default 10000
 * and 1000), and the source port moves on after each cycle (1024..65023):
 * NPORTS distinct flow keys for the store, 64,000 x NPORTS distinct tuples. Packets are
 * written with a raw socket (IP_HDRINCL), 256 per sendmmsg(), paced to RATE
 * packets per second. Run it inside the sending pod's network namespace;
 * SRC must be the pod's address (anti-spoofing). Prints "sent N seconds S".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NF_BATCH 256
#define NF_PKT 32 /* 20 IP + 8 UDP + 4 payload */

static double
nf_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
nf_usage(void)
{
	fprintf(stderr, "usage: bench_newflows -s SRC -d DST [-p PORT0] [-n NPORTS] "
			"-r RATE -t SECONDS\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct in_addr src = { 0 }, dst = { 0 };
	unsigned port0 = 10000, nports = 1000;
	double rate = 0, secs = 0, t0, now, target;
	unsigned char pkt[NF_BATCH][NF_PKT];
	struct mmsghdr msgs[NF_BATCH];
	struct iovec iov[NF_BATCH];
	struct sockaddr_in to;
	unsigned long long sent = 0, total;
	int c, fd;

	while ((c = getopt(argc, argv, "s:d:p:n:r:t:")) != -1) {
		switch (c) {
		case 's': if (inet_pton(AF_INET, optarg, &src) != 1) nf_usage(); break;
		case 'd': if (inet_pton(AF_INET, optarg, &dst) != 1) nf_usage(); break;
		case 'p': port0 = (unsigned)atoi(optarg); break;
		case 'n': nports = (unsigned)atoi(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 't': secs = atof(optarg); break;
		default: nf_usage();
		}
	}
	if (src.s_addr == 0 || dst.s_addr == 0 || rate <= 0 || secs <= 0 || nports == 0 ||
	    port0 + nports > 65536)
		nf_usage();
	if ((fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW)) < 0) {
		perror("bench_newflows: socket");
		return 1;
	}
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_addr = dst;
	memset(pkt, 0, sizeof(pkt));
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < NF_BATCH; i++) {
		struct iphdr *ip = (struct iphdr *)pkt[i];

		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		ip->saddr = src.s_addr;
		ip->daddr = dst.s_addr;
		ip->tot_len = htons(NF_PKT);
		iov[i].iov_base = pkt[i];
		iov[i].iov_len = NF_PKT;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &to;
		msgs[i].msg_hdr.msg_namelen = sizeof(to);
	}
	total = (unsigned long long)(rate * secs);
	t0 = nf_now();
	while (sent < total) {
		int n = total - sent < NF_BATCH ? (int)(total - sent) : NF_BATCH, done;

		for (int i = 0; i < n; i++) {
			unsigned long long k = sent + (unsigned long long)i;
			struct udphdr *udp = (struct udphdr *)(pkt[i] + 20);

			udp->dest = htons((uint16_t)(port0 + k % nports));
			udp->source = htons((uint16_t)(1024 + (k / nports) % 64000));
			udp->len = htons(NF_PKT - 20);
			udp->check = 0;
		}
		target = t0 + (double)(sent + (unsigned long long)n) / rate;
		while ((now = nf_now()) < target) {
			double w = target - now;
			struct timespec ts = { (time_t)w, (long)((w - (double)(time_t)w) * 1e9) };

			nanosleep(&ts, NULL);
		}
		done = sendmmsg(fd, msgs, (unsigned)n, 0);
		if (done < 0) {
			if (errno == ENOBUFS || errno == EAGAIN)
				continue;
			perror("bench_newflows: sendmmsg");
			return 1;
		}
		sent += (unsigned long long)done;
	}
	printf("sent %llu seconds %.3f\n", sent, nf_now() - t0);
	return 0;
}
