# SPDX-License-Identifier: BSD-2-Clause
# modules/kafka/: Kafka for the L7 proxy engine (rules.kafka, l7.kafka
# flows). The wire format is read and written from the message definitions
# in kafka_schema.c; rules are JSON (jansson); API key names come from lib/
# (libbw.la: lib/kafkakeys.c, shared with the policy format and filters).

module_LTLIBRARIES += modules/kafka.la
modules_kafka_la_SOURCES = \
	modules/kafka/kafka.c \
	modules/kafka/kafka.h \
	modules/kafka/kafka_conn.c \
	modules/kafka/kafka_codec.c \
	modules/kafka/kafka_proto.h \
	modules/kafka/kafka_rules.c \
	modules/kafka/kafka_rules.h \
	modules/kafka/kafka_schema.c \
	modules/kafka/kafka_topics.c \
	modules/kafka/kafka_topics.h
modules_kafka_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
modules_kafka_la_LDFLAGS = $(BW_MODULE_LINK)
modules_kafka_la_LIBADD = libbw.la $(JANSSON_LIBS)
EXTRA_DIST += modules/kafka/README.md
