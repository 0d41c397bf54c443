/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/e2e/kafka_mock.c - a Kafka broker for the tests: librdkafka's mock
 * cluster (rdkafka_mock.h, librdkafka-dev), which serves real clients
 * (kcat, librdkafka, kafka-python) their produce, consume, metadata,
 * consumer groups, offsets and transactions. Debian has no Kafka broker;
 * this one speaks the protocol librdkafka's own test suite runs against.
 *
 *   kafka_mock [-b BROKERS] [-t TOPIC[:PARTITIONS]]... [-v KEY:MIN:MAX]...
 *              [-p PORTFILE]
 *
 * It listens on loopback (one port per broker, which it also advertises in
 * its metadata), writes "127.0.0.1:PORT[,...]" to PORTFILE once ready, and
 * runs until SIGTERM or SIGINT. -v limits the versions it accepts of an
 * API key, to make clients use older (non-flexible) versions.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t done;

static void
on_signal(int sig)
{
	(void)sig;
	done = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: kafka_mock [-b BROKERS] [-t TOPIC[:PARTITIONS]]... "
			"[-v KEY:MIN:MAX]... [-p PORTFILE]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *topics[64], *versions[64], *portfile = NULL;
	int n_topics = 0, n_versions = 0, brokers = 1, opt;
	rd_kafka_mock_cluster_t *mc;
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	char err[256];

	while ((opt = getopt(argc, argv, "b:t:v:p:h")) != -1) {
		switch (opt) {
		case 'b': brokers = atoi(optarg); break;
		case 't': if (n_topics < 64) topics[n_topics++] = optarg; break;
		case 'v': if (n_versions < 64) versions[n_versions++] = optarg; break;
		case 'p': portfile = optarg; break;
		default: usage();
		}
	}
	if (brokers < 1)
		usage();
	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err)) != RD_KAFKA_CONF_OK)
		fprintf(stderr, "kafka_mock: %s\n", err);
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "kafka_mock: %s\n", err);
		return 1;
	}
	if ((mc = rd_kafka_mock_cluster_new(rk, brokers)) == NULL) {
		fprintf(stderr, "kafka_mock: cannot create the mock cluster\n");
		return 1;
	}
	for (int i = 0; i < n_topics; i++) {
		char name[256];
		const char *colon = strchr(topics[i], ':');
		int parts = colon != NULL ? atoi(colon + 1) : 1;

		snprintf(name, sizeof(name), "%.*s",
			 colon != NULL ? (int)(colon - topics[i]) : (int)strlen(topics[i]), topics[i]);
		if (rd_kafka_mock_topic_create(mc, name, parts, 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
			fprintf(stderr, "kafka_mock: cannot create topic %s\n", name);
			return 1;
		}
	}
	for (int i = 0; i < n_versions; i++) {
		int key, min, max;

		if (sscanf(versions[i], "%d:%d:%d", &key, &min, &max) != 3)
			usage();
		if (rd_kafka_mock_set_apiversion(mc, (int16_t)key, (int16_t)min, (int16_t)max) !=
		    RD_KAFKA_RESP_ERR_NO_ERROR) {
			fprintf(stderr, "kafka_mock: cannot limit API key %d\n", key);
			return 1;
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	if (portfile != NULL) {
		char tmp[4096];
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s.tmp", portfile);
		if ((f = fopen(tmp, "w")) == NULL) {
			fprintf(stderr, "kafka_mock: %s: %s\n", tmp, strerror(errno));
			return 1;
		}
		fprintf(f, "%s\n", rd_kafka_mock_cluster_bootstraps(mc));
		fclose(f);
		rename(tmp, portfile); /* appears whole */
	}
	while (!done)
		pause();
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
