/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/kafka_produce.c - the producer of tests/bench/bench_kafka.sh,
 * in the manner of librdkafka's rdkafka_performance: librdkafka (the
 * library kcat uses) producing messages as fast as it can, reporting
 * messages per second and the latency of each message from produce() to
 * its delivery report.
 *
 *   kafka_produce -b BOOTSTRAP -t TOPIC [-n COUNT] [-s SIZE] [-a ACKS]
 *                 [-c HOST:PORT] [-S] [-X key=value]...
 *
 * -c makes every connection librdkafka opens go to HOST:PORT whatever
 * address it wanted (the mock broker advertises its own loopback; the
 * benchmark's traffic must cross the veths). -S sends one message at a
 * time (produce, then wait for its delivery): round-trip latency rather
 * than throughput. Prints one line of key=value figures.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

static struct sockaddr_in target;
static int use_target;
static double *lat_us;
static long delivered, failed;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int
kp_connect(int fd, const struct sockaddr *addr, int len, const char *id, void *opaque)
{
	(void)opaque;
	(void)id;
	if (use_target) {
		addr = (const struct sockaddr *)&target;
		len = sizeof(target);
	}
	if (connect(fd, addr, (socklen_t)len) < 0 && errno != EINPROGRESS)
		return errno;
	return 0;
}

static void
kp_delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	uint64_t sent = (uint64_t)(uintptr_t)m->_private;

	(void)rk;
	(void)opaque;
	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (failed++ == 0)
			fprintf(stderr, "kafka_produce: delivery failed: %s\n", rd_kafka_err2str(m->err));
		return;
	}
	lat_us[delivered++] = (double)(now_ns() - sent) / 1e3;
}

static int
kp_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
usage(void)
{
	fprintf(stderr, "usage: kafka_produce -b BOOTSTRAP -t TOPIC [-n COUNT] [-s SIZE] "
			"[-a ACKS] [-c HOST:PORT] [-S] [-X key=value]...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *boot = NULL, *topic = NULL, *acks = "1";
	long count = 100000, size = 1024;
	int sync_mode = 0, opt;
	char err[512], *payload;
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	uint64_t t0, t1;

	while ((opt = getopt(argc, argv, "b:t:n:s:a:c:SX:h")) != -1) {
		switch (opt) {
		case 'b': boot = optarg; break;
		case 't': topic = optarg; break;
		case 'n': count = atol(optarg); break;
		case 's': size = atol(optarg); break;
		case 'a': acks = optarg; break;
		case 'S': sync_mode = 1; break;
		case 'c': {
			char host[64];
			int port;

			if (sscanf(optarg, "%63[^:]:%d", host, &port) != 2 ||
			    inet_pton(AF_INET, host, &target.sin_addr) != 1)
				usage();
			target.sin_family = AF_INET;
			target.sin_port = htons((uint16_t)port);
			use_target = 1;
			break;
		}
		case 'X': {
			char *eq = strchr(optarg, '=');

			if (eq == NULL)
				usage();
			*eq = '\0';
			if (rd_kafka_conf_set(conf, optarg, eq + 1, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
				fprintf(stderr, "kafka_produce: %s\n", err);
				return 2;
			}
			break;
		}
		default: usage();
		}
	}
	if (boot == NULL || topic == NULL || count < 1 || size < 0)
		usage();
	if (rd_kafka_conf_set(conf, "bootstrap.servers", boot, err, sizeof(err)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "acks", acks, err, sizeof(err)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000", err,
			      sizeof(err)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "kafka_produce: %s\n", err);
		return 2;
	}
	rd_kafka_conf_set_connect_cb(conf, kp_connect);
	rd_kafka_conf_set_dr_msg_cb(conf, kp_delivered);
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "kafka_produce: %s\n", err);
		return 1;
	}
	rkt = rd_kafka_topic_new(rk, topic, NULL);
	lat_us = calloc((size_t)count, sizeof(*lat_us));
	payload = malloc((size_t)size + 1);
	memset(payload, 'k', (size_t)size);
	/* warm up: metadata, connections, one delivery */
	rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, payload, (size_t)size,
			 NULL, 0, (void *)(uintptr_t)now_ns());
	rd_kafka_flush(rk, 20000);
	delivered = 0;
	if (failed > 0) {
		fprintf(stderr, "kafka_produce: the warm-up message was not delivered\n");
		return 1;
	}
	t0 = now_ns();
	for (long i = 0; i < count; i++) {
		while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, payload,
					(size_t)size, NULL, 0, (void *)(uintptr_t)now_ns()) != 0) {
			if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
				fprintf(stderr, "kafka_produce: %s\n",
					rd_kafka_err2str(rd_kafka_last_error()));
				return 1;
			}
			rd_kafka_poll(rk, 10);
		}
		if (sync_mode)
			rd_kafka_flush(rk, 20000);
		else
			rd_kafka_poll(rk, 0);
	}
	rd_kafka_flush(rk, 60000);
	t1 = now_ns();
	qsort(lat_us, (size_t)delivered, sizeof(*lat_us), kp_cmp);
	printf("messages=%ld failed=%ld size=%ld secs=%.3f msgs_per_s=%.0f mb_per_s=%.2f "
	       "p50_us=%.0f p99_us=%.0f\n",
	       delivered, failed, size, (double)(t1 - t0) / 1e9,
	       delivered / ((double)(t1 - t0) / 1e9),
	       delivered * (double)size / ((double)(t1 - t0) / 1e9) / 1e6,
	       delivered ? lat_us[delivered / 2] : 0.0,
	       delivered ? lat_us[(long)((double)delivered * 0.99)] : 0.0);
	rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(rk);
	free(lat_us);
	free(payload);
	return failed > 0 ? 1 : 0;
}
