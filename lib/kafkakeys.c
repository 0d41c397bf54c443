/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/kafkakeys.c - Kafka API key names (lib/kafkakeys.h): Cilium's for
 * keys 0-33 (cilium/proxy pkg/policy/api/kafka, APIKeyMap) and Kafka's
 * (the "name" of each request in Kafka 4.3's message definitions, keys
 * 0-92).
 */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "lib/kafkakeys.h"

static const char *const kk_cilium[] = {
	"produce", "fetch", "offsets", "metadata", "leaderandisr", "stopreplica",
	"updatemetadata", "controlledshutdown", "offsetcommit", "offsetfetch",
	"findcoordinator", "joingroup", "heartbeat", "leavegroup", "syncgroup",
	"describegroups", "listgroups", "saslhandshake", "apiversions",
	"createtopics", "deletetopics", "deleterecords", "initproducerid",
	"offsetforleaderepoch", "addpartitionstotxn", "addoffsetstotxn", "endtxn",
	"writetxnmarkers", "txnoffsetcommit", "describeacls", "createacls",
	"deleteacls", "describeconfigs", "alterconfigs",
};

static const char *const kk_kafka[] = {
	"Produce", "Fetch", "ListOffsets", "Metadata", "LeaderAndIsr",
	"StopReplica", "UpdateMetadata", "ControlledShutdown", "OffsetCommit",
	"OffsetFetch", "FindCoordinator", "JoinGroup", "Heartbeat", "LeaveGroup",
	"SyncGroup", "DescribeGroups", "ListGroups", "SaslHandshake", "ApiVersions",
	"CreateTopics", "DeleteTopics", "DeleteRecords", "InitProducerId",
	"OffsetForLeaderEpoch", "AddPartitionsToTxn", "AddOffsetsToTxn", "EndTxn",
	"WriteTxnMarkers", "TxnOffsetCommit", "DescribeAcls", "CreateAcls",
	"DeleteAcls", "DescribeConfigs", "AlterConfigs", "AlterReplicaLogDirs",
	"DescribeLogDirs", "SaslAuthenticate", "CreatePartitions",
	"CreateDelegationToken", "RenewDelegationToken", "ExpireDelegationToken",
	"DescribeDelegationToken", "DeleteGroups", "ElectLeaders",
	"IncrementalAlterConfigs", "AlterPartitionReassignments",
	"ListPartitionReassignments", "OffsetDelete", "DescribeClientQuotas",
	"AlterClientQuotas", "DescribeUserScramCredentials",
	"AlterUserScramCredentials", "Vote", "BeginQuorumEpoch", "EndQuorumEpoch",
	"DescribeQuorum", "AlterPartition", "UpdateFeatures", "Envelope",
	"FetchSnapshot", "DescribeCluster", "DescribeProducers",
	"BrokerRegistration", "BrokerHeartbeat", "UnregisterBroker",
	"DescribeTransactions", "ListTransactions", "AllocateProducerIds",
	"ConsumerGroupHeartbeat", "ConsumerGroupDescribe", "ControllerRegistration",
	"GetTelemetrySubscriptions", "PushTelemetry", "AssignReplicasToDirs",
	"ListConfigResources", "DescribeTopicPartitions", "ShareGroupHeartbeat",
	"ShareGroupDescribe", "ShareFetch", "ShareAcknowledge", "AddRaftVoter",
	"RemoveRaftVoter", "UpdateRaftVoter", "InitializeShareGroupState",
	"ReadShareGroupState", "WriteShareGroupState", "DeleteShareGroupState",
	"ReadShareGroupStateSummary", "StreamsGroupHeartbeat",
	"StreamsGroupDescribe", "DescribeShareGroupOffsets",
	"AlterShareGroupOffsets", "DeleteShareGroupOffsets",
};

#define KK_N(a) ((int)(sizeof(a) / sizeof((a)[0])))

const char *
bw_kafka_key_cilium(int key)
{
	return key >= 0 && key < KK_N(kk_cilium) ? kk_cilium[key] : NULL;
}

const char *
bw_kafka_key_kafka(int key)
{
	return key >= 0 && key < KK_N(kk_kafka) ? kk_kafka[key] : NULL;
}

int
bw_kafka_key_by_name(const char *name)
{
	if (name == NULL || *name == '\0')
		return -1;
	for (int i = 0; i < KK_N(kk_cilium); i++)
		if (strcasecmp(name, kk_cilium[i]) == 0)
			return i;
	for (int i = KK_N(kk_cilium); i < KK_N(kk_kafka); i++)
		if (strcasecmp(name, kk_kafka[i]) == 0)
			return i;
	return -1;
}

int
bw_kafka_key_parse(const char *s)
{
	char *end;
	long n;
	int k = bw_kafka_key_by_name(s);

	if (k >= 0 || s == NULL || *s == '\0')
		return k;
	for (int i = 0; i < KK_N(kk_kafka); i++)
		if (strcasecmp(s, kk_kafka[i]) == 0)
			return i;
	n = strtol(s, &end, 10);
	if (*end == '\0' && n >= 0 && n <= 32767)
		return (int)n;
	return -1;
}

const char *
bw_kafka_key_flow_name(int key, char *buf, size_t len)
{
	const char *s = bw_kafka_key_cilium(key);

	if (s != NULL)
		return s;
	snprintf(buf, len, "%d", key);
	return buf;
}
