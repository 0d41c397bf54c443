/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/kafka/kafka_schema.c - the Kafka messages the module reads and
 * writes, in a small notation close to Apache Kafka's JSON message
 * definitions (clients/src/main/resources/common/message/ JSON files), compiled
 * once into struct kafka_field trees.
 *
 * Written from those definitions: apache/kafka @ 1eb7644349cb (Kafka 3.x
 * versions, before 4.0 removed the oldest) and the Kafka 4.3 copies in
 * dpkp/kafka-python @ a3b3836ff3a4 (kafka/protocol/schemas/resources), so
 * every version a Kafka 3.x or 4.x broker accepts is covered. The unit
 * test test_kafka_proto replays vectors generated from those JSON files
 * (tests/unit/kafka_vectors.py) against this table.
 *
 * Notation, one message body:
 *
 *   fields := field { ";" field }
 *   field  := Name ":" type { attr }
 *   type   := int8 | int16 | int32 | int64 | uint16 | uint32 | float64 |
 *             bool | uuid | string | bytes | records
 *           | "[" primitive "]"       an array of a primitive
 *           | "[" fields "]"          an array of structs
 *           | "{" fields "}" ["?"]    a struct ("?": nullable, with a
 *                                     presence byte)
 *   attr   := N | N "+" | N "-" M     versions (default: all)
 *           | "=" ( N | null | true ) the default written in a response
 *           | "@" role                what the field means here
 *
 * Tagged fields are left out: reading skips every tagged-field section by
 * its sizes, and responses the module writes carry none. A request body
 * is described up to its last field that names topics; what follows is
 * never read. Responses are described whole (they are written and read).
 *
 * Roles: topic, topicid (a topic entry's name / ID), topics (an array of
 * topic entries), forgotten (Fetch's topics leaving the session), res
 * (config resources, a topic when their rtype is 2), names (an array of
 * topic names), part / parts (partitions of the entry at hand), keys / key
 * (group or transactional ids echoed in responses), err (an error code:
 * the entry's inside an entry, the message's outside), acks, sessid,
 * epoch, txnid, keytype, regex, and a Metadata answer's brokers (brokers,
 * nodeid, host, port, rack, cluster, controller).
 *
 * Defaults follow the JSON, except where a broker answering an error
 * writes something else: -1 for the offsets and epochs of a failed
 * partition, null for error messages, -1 for coordinator addresses.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/kafkakeys.h"

#include "kafka_proto.h"

struct kafka_def {
	int16_t key;
	const char *name;
	int16_t max_version;
	int16_t flex_from;
	int16_t deny_err;
	uint8_t topics_optional;
	const char *req;
	const char *resp;
};

#define GRP KAFKA_ERR_GROUP_AUTH
#define TXN KAFKA_ERR_TXN_AUTH
#define CLU KAFKA_ERR_CLUSTER_AUTH
#define TOP KAFKA_ERR_TOPIC_AUTH

static const struct kafka_def kafka_defs[] = {
	{ 0, "Produce", 13, 9, TOP, 0,
	  "TransactionalId:string 3+ @txnid; Acks:int16 @acks; TimeoutMs:int32;"
	  "TopicData:[Name:string 0-12 @topic; TopicId:uuid 13+ @topicid;"
	  " PartitionData:[Index:int32 @part; Records:records] @parts] @topics",
	  "Responses:[Name:string 0-12 @topic; TopicId:uuid 13+ @topicid;"
	  " PartitionResponses:[Index:int32 @part; ErrorCode:int16 @err;"
	  "  BaseOffset:int64 =-1; LogAppendTimeMs:int64 2+ =-1;"
	  "  LogStartOffset:int64 5+ =-1;"
	  "  RecordErrors:[BatchIndex:int32; BatchIndexErrorMessage:string =null] 8+;"
	  "  ErrorMessage:string 8+ =null] @parts] @topics;"
	  "ThrottleTimeMs:int32 1+" },
	{ 1, "Fetch", 18, 12, TOP, 0,
	  "ReplicaId:int32 0-14; MaxWaitMs:int32; MinBytes:int32; MaxBytes:int32 3+;"
	  "IsolationLevel:int8 4+; SessionId:int32 7+ @sessid; SessionEpoch:int32 7+ @epoch;"
	  "Topics:[Topic:string 0-12 @topic; TopicId:uuid 13+ @topicid;"
	  " Partitions:[Partition:int32 @part; CurrentLeaderEpoch:int32 9+;"
	  "  FetchOffset:int64; LastFetchedEpoch:int32 12+; LogStartOffset:int64 5+;"
	  "  PartitionMaxBytes:int32] @parts] @topics;"
	  "ForgottenTopicsData:[Topic:string 7-12 @topic; TopicId:uuid 13+ @topicid;"
	  " Partitions:[int32] @parts] 7+ @forgotten",
	  "ThrottleTimeMs:int32 1+; ErrorCode:int16 7+ @err; SessionId:int32 7+ @sessid;"
	  "Responses:[Topic:string 0-12 @topic; TopicId:uuid 13+ @topicid;"
	  " Partitions:[PartitionIndex:int32 @part; ErrorCode:int16 @err;"
	  "  HighWatermark:int64 =-1; LastStableOffset:int64 4+ =-1;"
	  "  LogStartOffset:int64 5+ =-1;"
	  "  AbortedTransactions:[ProducerId:int64; FirstOffset:int64] 4+;"
	  "  PreferredReadReplica:int32 11+ =-1; Records:records] @parts] @topics" },
	{ 2, "ListOffsets", 11, 6, TOP, 0,
	  "ReplicaId:int32; IsolationLevel:int8 2+;"
	  "Topics:[Name:string @topic; Partitions:[PartitionIndex:int32 @part;"
	  " CurrentLeaderEpoch:int32 4+; Timestamp:int64; MaxNumOffsets:int32 0] @parts] @topics",
	  "ThrottleTimeMs:int32 2+;"
	  "Topics:[Name:string @topic; Partitions:[PartitionIndex:int32 @part;"
	  " ErrorCode:int16 @err; OldStyleOffsets:[int64] 0; Timestamp:int64 1+ =-1;"
	  " Offset:int64 1+ =-1; LeaderEpoch:int32 4+ =-1] @parts] @topics" },
	{ 3, "Metadata", 13, 9, TOP, 0,
	  "Topics:[TopicId:uuid 10+ @topicid; Name:string @topic] @topics",
	  "ThrottleTimeMs:int32 3+;"
	  "Brokers:[NodeId:int32 @nodeid; Host:string @host; Port:int32 @port;"
	  " Rack:string 1+ =null @rack] @brokers;"
	  "ClusterId:string 2+ =null @cluster; ControllerId:int32 1+ =-1 @controller;"
	  "Topics:[ErrorCode:int16 @err; Name:string @topic; TopicId:uuid 10+ @topicid;"
	  " IsInternal:bool 1+; Partitions:[ErrorCode:int16 @err; PartitionIndex:int32 @part;"
	  "  LeaderId:int32; LeaderEpoch:int32 7+ =-1; ReplicaNodes:[int32];"
	  "  IsrNodes:[int32]; OfflineReplicas:[int32] 5+] @parts;"
	  " TopicAuthorizedOperations:int32 8+ =-2147483648] @topics;"
	  "ClusterAuthorizedOperations:int32 8-10 =-2147483648; ErrorCode:int16 13+ @err" },
	{ 8, "OffsetCommit", 10, 8, TOP, 0,
	  "GroupId:string; GenerationIdOrMemberEpoch:int32 1+; MemberId:string 1+;"
	  "GroupInstanceId:string 7+; RetentionTimeMs:int64 2-4;"
	  "Topics:[Name:string 0-9 @topic; TopicId:uuid 10+ @topicid;"
	  " Partitions:[PartitionIndex:int32 @part; CommittedOffset:int64;"
	  "  CommittedLeaderEpoch:int32 6+; CommitTimestamp:int64 1;"
	  "  CommittedMetadata:string] @parts] @topics",
	  "ThrottleTimeMs:int32 3+;"
	  "Topics:[Name:string 0-9 @topic; TopicId:uuid 10+ @topicid;"
	  " Partitions:[PartitionIndex:int32 @part; ErrorCode:int16 @err] @parts] @topics" },
	{ 9, "OffsetFetch", 10, 6, TOP, 0,
	  "GroupId:string 0-7 @key;"
	  "Topics:[Name:string @topic; PartitionIndexes:[int32] @parts] 0-7 @topics;"
	  "Groups:[GroupId:string @key; MemberId:string 9+; MemberEpoch:int32 9+;"
	  " Topics:[Name:string 8-9 @topic; TopicId:uuid 10+ @topicid;"
	  "  PartitionIndexes:[int32] @parts] @topics] 8+ @keys",
	  "ThrottleTimeMs:int32 3+;"
	  "Topics:[Name:string @topic; Partitions:[PartitionIndex:int32 @part;"
	  " CommittedOffset:int64 =-1; CommittedLeaderEpoch:int32 5+ =-1;"
	  " Metadata:string; ErrorCode:int16 @err] @parts] 0-7 @topics;"
	  "ErrorCode:int16 2-7 @err;"
	  "Groups:[GroupId:string @key; Topics:[Name:string 8-9 @topic; TopicId:uuid 10+ @topicid;"
	  " Partitions:[PartitionIndex:int32 @part; CommittedOffset:int64 =-1;"
	  "  CommittedLeaderEpoch:int32 =-1; Metadata:string; ErrorCode:int16 @err] @parts] @topics;"
	  " ErrorCode:int16 @err] 8+ @keys" },
	{ 10, "FindCoordinator", 6, 3, GRP, 0,
	  "Key:string 0-3 @key; KeyType:int8 1+ @keytype; CoordinatorKeys:[string] 4+ @keys",
	  "ThrottleTimeMs:int32 1+; ErrorCode:int16 0-3 @err; ErrorMessage:string 1-3 =null;"
	  "NodeId:int32 0-3 =-1; Host:string 0-3; Port:int32 0-3 =-1;"
	  "Coordinators:[Key:string @key; NodeId:int32 =-1; Host:string; Port:int32 =-1;"
	  " ErrorCode:int16 @err; ErrorMessage:string =null] 4+ @keys" },
	{ 11, "JoinGroup", 9, 6, GRP, 0, "",
	  "ThrottleTimeMs:int32 2+; ErrorCode:int16 @err; GenerationId:int32 =-1;"
	  "ProtocolType:string 7+ =null; ProtocolName:string; Leader:string;"
	  "SkipAssignment:bool 9+; MemberId:string;"
	  "Members:[MemberId:string; GroupInstanceId:string 5+ =null; Metadata:bytes]" },
	{ 12, "Heartbeat", 4, 4, GRP, 0, "",
	  "ThrottleTimeMs:int32 1+; ErrorCode:int16 @err" },
	{ 13, "LeaveGroup", 5, 4, GRP, 0, "",
	  "ThrottleTimeMs:int32 1+; ErrorCode:int16 @err;"
	  "Members:[MemberId:string; GroupInstanceId:string; ErrorCode:int16] 3+" },
	{ 14, "SyncGroup", 5, 4, GRP, 0, "",
	  "ThrottleTimeMs:int32 1+; ErrorCode:int16 @err; ProtocolType:string 5+ =null;"
	  "ProtocolName:string 5+ =null; Assignment:bytes" },
	{ 15, "DescribeGroups", 6, 5, GRP, 0,
	  "Groups:[string] @keys",
	  "ThrottleTimeMs:int32 1+;"
	  "Groups:[ErrorCode:int16 @err; ErrorMessage:string 6+ =null; GroupId:string @key;"
	  " GroupState:string; ProtocolType:string; ProtocolData:string;"
	  " Members:[MemberId:string; GroupInstanceId:string 4+ =null; ClientId:string;"
	  "  ClientHost:string; MemberMetadata:bytes; MemberAssignment:bytes];"
	  " AuthorizedOperations:int32 3+ =-2147483648] @keys" },
	{ 16, "ListGroups", 5, 3, CLU, 0, "",
	  "ThrottleTimeMs:int32 1+; ErrorCode:int16 @err;"
	  "Groups:[GroupId:string; ProtocolType:string; GroupState:string 4+; GroupType:string 5+]" },
	{ 17, "SaslHandshake", 1, -1, KAFKA_ERR_SASL_AUTH, 0, "",
	  "ErrorCode:int16 @err; Mechanisms:[string]" },
	{ 18, "ApiVersions", 4, 3, CLU, 0, "",
	  "ErrorCode:int16 @err; ApiKeys:[ApiKey:int16; MinVersion:int16; MaxVersion:int16];"
	  "ThrottleTimeMs:int32 1+" },
	{ 19, "CreateTopics", 7, 5, TOP, 0,
	  "Topics:[Name:string @topic; NumPartitions:int32; ReplicationFactor:int16;"
	  " Assignments:[PartitionIndex:int32; BrokerIds:[int32]];"
	  " Configs:[Name:string; Value:string]] @topics",
	  "ThrottleTimeMs:int32 2+;"
	  "Topics:[Name:string @topic; TopicId:uuid 7+ @topicid; ErrorCode:int16 @err;"
	  " ErrorMessage:string 1+ =null; NumPartitions:int32 5+ =-1;"
	  " ReplicationFactor:int16 5+ =-1; Configs:[Name:string; Value:string;"
	  "  ReadOnly:bool; ConfigSource:int8 =-1; IsSensitive:bool] 5+] @topics" },
	{ 20, "DeleteTopics", 6, 4, TOP, 0,
	  "Topics:[Name:string @topic; TopicId:uuid @topicid] 6+ @topics;"
	  "TopicNames:[string] 0-5 @names",
	  "ThrottleTimeMs:int32 1+;"
	  "Responses:[Name:string @topic; TopicId:uuid 6+ @topicid; ErrorCode:int16 @err;"
	  " ErrorMessage:string 5+ =null] @topics" },
	{ 21, "DeleteRecords", 2, 2, TOP, 0,
	  "Topics:[Name:string @topic; Partitions:[PartitionIndex:int32 @part;"
	  " Offset:int64] @parts] @topics",
	  "ThrottleTimeMs:int32;"
	  "Topics:[Name:string @topic; Partitions:[PartitionIndex:int32 @part;"
	  " LowWatermark:int64 =-1; ErrorCode:int16 @err] @parts] @topics" },
	{ 22, "InitProducerId", 6, 2, CLU, 0,
	  "TransactionalId:string @txnid",
	  "ThrottleTimeMs:int32; ErrorCode:int16 @err; ProducerId:int64 =-1;"
	  "ProducerEpoch:int16 =-1; OngoingTxnProducerId:int64 6+ =-1;"
	  "OngoingTxnProducerEpoch:int16 6+ =-1" },
	{ 23, "OffsetForLeaderEpoch", 4, 4, TOP, 0,
	  "ReplicaId:int32 3+; Topics:[Topic:string @topic; Partitions:[Partition:int32 @part;"
	  " CurrentLeaderEpoch:int32 2+; LeaderEpoch:int32] @parts] @topics",
	  "ThrottleTimeMs:int32 2+;"
	  "Topics:[Topic:string @topic; Partitions:[ErrorCode:int16 @err; Partition:int32 @part;"
	  " LeaderEpoch:int32 1+ =-1; EndOffset:int64 =-1] @parts] @topics" },
	{ 24, "AddPartitionsToTxn", 5, 3, TOP, 0,
	  "Transactions:[TransactionalId:string @key; ProducerId:int64; ProducerEpoch:int16;"
	  " VerifyOnly:bool; Topics:[Name:string @topic; Partitions:[int32] @parts] @topics] 4+ @keys;"
	  "V3AndBelowTransactionalId:string 0-3 @key; V3AndBelowProducerId:int64 0-3;"
	  "V3AndBelowProducerEpoch:int16 0-3;"
	  "V3AndBelowTopics:[Name:string @topic; Partitions:[int32] @parts] 0-3 @topics",
	  "ThrottleTimeMs:int32; ErrorCode:int16 4+ @err;"
	  "ResultsByTransaction:[TransactionalId:string @key; TopicResults:[Name:string @topic;"
	  " ResultsByPartition:[PartitionIndex:int32 @part; PartitionErrorCode:int16 @err] @parts]"
	  " @topics] 4+ @keys;"
	  "ResultsByTopicV3AndBelow:[Name:string @topic; ResultsByPartition:[PartitionIndex:int32 @part;"
	  " PartitionErrorCode:int16 @err] @parts] 0-3 @topics" },
	{ 25, "AddOffsetsToTxn", 4, 3, TXN, 0, "",
	  "ThrottleTimeMs:int32; ErrorCode:int16 @err" },
	{ 26, "EndTxn", 5, 3, TXN, 0, "",
	  "ThrottleTimeMs:int32; ErrorCode:int16 @err; ProducerId:int64 5+ =-1;"
	  "ProducerEpoch:int16 5+ =-1" },
	{ 28, "TxnOffsetCommit", 5, 3, TOP, 0,
	  "TransactionalId:string; GroupId:string; ProducerId:int64; ProducerEpoch:int16;"
	  "GenerationId:int32 3+; MemberId:string 3+; GroupInstanceId:string 3+;"
	  "Topics:[Name:string @topic; Partitions:[PartitionIndex:int32 @part;"
	  " CommittedOffset:int64; CommittedLeaderEpoch:int32 2+; CommittedMetadata:string] @parts] @topics",
	  "ThrottleTimeMs:int32;"
	  "Topics:[Name:string @topic; Partitions:[PartitionIndex:int32 @part;"
	  " ErrorCode:int16 @err] @parts] @topics" },
	{ 29, "DescribeAcls", 3, 2, CLU, 0, "",
	  "ThrottleTimeMs:int32; ErrorCode:int16 @err; ErrorMessage:string =null;"
	  "Resources:[ResourceType:int8; ResourceName:string; PatternType:int8 1+ =3;"
	  " Acls:[Principal:string; Host:string; Operation:int8; PermissionType:int8]]" },
	{ 32, "DescribeConfigs", 4, 4, TOP, 0,
	  "Resources:[ResourceType:int8 @rtype; ResourceName:string @topic;"
	  " ConfigurationKeys:[string]] @res",
	  "ThrottleTimeMs:int32;"
	  "Results:[ErrorCode:int16 @err; ErrorMessage:string =null; ResourceType:int8 @rtype;"
	  " ResourceName:string @topic; Configs:[Name:string; Value:string; ReadOnly:bool;"
	  "  ConfigSource:int8 1+ =-1; IsDefault:bool 0; IsSensitive:bool;"
	  "  Synonyms:[Name:string; Value:string; Source:int8] 1+; ConfigType:int8 3+;"
	  "  Documentation:string 3+]] @res" },
	{ 33, "AlterConfigs", 2, 2, TOP, 0,
	  "Resources:[ResourceType:int8 @rtype; ResourceName:string @topic;"
	  " Configs:[Name:string; Value:string]] @res",
	  "ThrottleTimeMs:int32;"
	  "Responses:[ErrorCode:int16 @err; ErrorMessage:string =null; ResourceType:int8 @rtype;"
	  " ResourceName:string @topic] @res" },
	{ 34, "AlterReplicaLogDirs", 2, 2, TOP, 0,
	  "Dirs:[Path:string; Topics:[Name:string @topic; Partitions:[int32] @parts] @topics]",
	  "ThrottleTimeMs:int32;"
	  "Results:[TopicName:string @topic; Partitions:[PartitionIndex:int32 @part;"
	  " ErrorCode:int16 @err] @parts] @topics" },
	{ 35, "DescribeLogDirs", 5, 2, TOP, 0,
	  "Topics:[Topic:string @topic; Partitions:[int32] @parts] @topics",
	  "ThrottleTimeMs:int32; ErrorCode:int16 3+ @err;"
	  "Results:[ErrorCode:int16; LogDir:string; Topics:[Name:string;"
	  " Partitions:[PartitionIndex:int32; PartitionSize:int64; OffsetLag:int64;"
	  "  IsFutureKey:bool]]; TotalBytes:int64 4+ =-1; UsableBytes:int64 4+ =-1;"
	  " IsCordoned:bool 5+]" },
	{ 36, "SaslAuthenticate", 2, 2, KAFKA_ERR_SASL_AUTH, 0, "",
	  "ErrorCode:int16 @err; ErrorMessage:string =null; AuthBytes:bytes;"
	  "SessionLifetimeMs:int64 1+" },
	{ 37, "CreatePartitions", 3, 2, TOP, 0,
	  "Topics:[Name:string @topic; Count:int32; Assignments:[BrokerIds:[int32]]] @topics",
	  "ThrottleTimeMs:int32;"
	  "Results:[Name:string @topic; ErrorCode:int16 @err; ErrorMessage:string =null] @topics" },
	{ 42, "DeleteGroups", 2, 2, GRP, 0,
	  "GroupsNames:[string] @keys",
	  "ThrottleTimeMs:int32; Results:[GroupId:string @key; ErrorCode:int16 @err] @keys" },
	{ 43, "ElectLeaders", 2, 2, TOP, 0,
	  "ElectionType:int8 1+; TopicPartitions:[Topic:string @topic; Partitions:[int32] @parts] @topics",
	  "ThrottleTimeMs:int32; ErrorCode:int16 1+ @err;"
	  "ReplicaElectionResults:[Topic:string @topic; PartitionResult:[PartitionId:int32 @part;"
	  " ErrorCode:int16 @err; ErrorMessage:string =null] @parts] @topics" },
	{ 44, "IncrementalAlterConfigs", 1, 1, TOP, 0,
	  "Resources:[ResourceType:int8 @rtype; ResourceName:string @topic;"
	  " Configs:[Name:string; ConfigOperation:int8; Value:string]] @res",
	  "ThrottleTimeMs:int32;"
	  "Responses:[ErrorCode:int16 @err; ErrorMessage:string =null; ResourceType:int8 @rtype;"
	  " ResourceName:string @topic] @res" },
	{ 45, "AlterPartitionReassignments", 1, 0, TOP, 0,
	  "TimeoutMs:int32; AllowReplicationFactorChange:bool 1+;"
	  "Topics:[Name:string @topic; Partitions:[PartitionIndex:int32 @part;"
	  " Replicas:[int32]] @parts] @topics",
	  "ThrottleTimeMs:int32; AllowReplicationFactorChange:bool 1+ =true; ErrorCode:int16 @err;"
	  "ErrorMessage:string =null; Responses:[Name:string @topic;"
	  " Partitions:[PartitionIndex:int32 @part; ErrorCode:int16 @err;"
	  "  ErrorMessage:string =null] @parts] @topics" },
	{ 46, "ListPartitionReassignments", 0, 0, TOP, 0,
	  "TimeoutMs:int32; Topics:[Name:string @topic; PartitionIndexes:[int32] @parts] @topics",
	  "ThrottleTimeMs:int32; ErrorCode:int16 @err; ErrorMessage:string =null;"
	  "Topics:[Name:string @topic; Partitions:[PartitionIndex:int32 @part; Replicas:[int32];"
	  " AddingReplicas:[int32]; RemovingReplicas:[int32]] @parts] @topics" },
	{ 47, "OffsetDelete", 0, -1, TOP, 0,
	  "GroupId:string; Topics:[Name:string @topic; Partitions:[PartitionIndex:int32 @part] @parts] @topics",
	  "ErrorCode:int16 @err; ThrottleTimeMs:int32;"
	  "Topics:[Name:string @topic; Partitions:[PartitionIndex:int32 @part;"
	  " ErrorCode:int16 @err] @parts] @topics" },
	{ 60, "DescribeCluster", 2, 0, CLU, 0, "",
	  "ThrottleTimeMs:int32; ErrorCode:int16 @err; ErrorMessage:string =null;"
	  "EndpointType:int8 1+ =1; ClusterId:string; ControllerId:int32 =-1;"
	  "Brokers:[BrokerId:int32; Host:string; Port:int32; Rack:string =null; IsFenced:bool 2+];"
	  "ClusterAuthorizedOperations:int32 =-2147483648" },
	{ 61, "DescribeProducers", 0, 0, TOP, 0,
	  "Topics:[Name:string @topic; PartitionIndexes:[int32] @parts] @topics",
	  "ThrottleTimeMs:int32;"
	  "Topics:[Name:string @topic; Partitions:[PartitionIndex:int32 @part; ErrorCode:int16 @err;"
	  " ErrorMessage:string =null; ActiveProducers:[ProducerId:int64; ProducerEpoch:int32;"
	  "  LastSequence:int32 =-1; LastTimestamp:int64 =-1; CoordinatorEpoch:int32;"
	  "  CurrentTxnStartOffset:int64 =-1]] @parts] @topics" },
	{ 65, "DescribeTransactions", 0, 0, TXN, 0,
	  "TransactionalIds:[string] @keys",
	  "ThrottleTimeMs:int32;"
	  "TransactionStates:[ErrorCode:int16 @err; TransactionalId:string @key;"
	  " TransactionState:string; TransactionTimeoutMs:int32; TransactionStartTimeMs:int64;"
	  " ProducerId:int64; ProducerEpoch:int16; Topics:[Topic:string; Partitions:[int32]]] @keys" },
	{ 66, "ListTransactions", 2, 0, CLU, 0, "",
	  "ThrottleTimeMs:int32; ErrorCode:int16 @err; UnknownStateFilters:[string];"
	  "TransactionStates:[TransactionalId:string; ProducerId:int64; TransactionState:string]" },
	{ 68, "ConsumerGroupHeartbeat", 1, 0, TOP, 1,
	  "GroupId:string; MemberId:string; MemberEpoch:int32; InstanceId:string;"
	  "RackId:string; RebalanceTimeoutMs:int32; SubscribedTopicNames:[string] @names;"
	  "SubscribedTopicRegex:string 1+ @regex",
	  "ThrottleTimeMs:int32; ErrorCode:int16 @err; ErrorMessage:string =null;"
	  "MemberId:string =null; MemberEpoch:int32; HeartbeatIntervalMs:int32;"
	  "Assignment:{TopicPartitions:[TopicId:uuid; Partitions:[int32]]}? =null" },
	{ 69, "ConsumerGroupDescribe", 0, 0, GRP, 0,
	  "GroupIds:[string] @keys",
	  "ThrottleTimeMs:int32;"
	  "Groups:[ErrorCode:int16 @err; ErrorMessage:string =null; GroupId:string @key;"
	  " GroupState:string; GroupEpoch:int32; AssignmentEpoch:int32; AssignorName:string;"
	  " Members:[MemberId:string; InstanceId:string =null; RackId:string =null;"
	  "  MemberEpoch:int32; ClientId:string; ClientHost:string;"
	  "  SubscribedTopicNames:[string]; SubscribedTopicRegex:string =null;"
	  "  Assignment:{TopicPartitions:[TopicId:uuid; TopicName:string; Partitions:[int32]]};"
	  "  TargetAssignment:{TopicPartitions:[TopicId:uuid; TopicName:string; Partitions:[int32]]}];"
	  " AuthorizedOperations:int32 =-2147483648] @keys" },
	{ 71, "GetTelemetrySubscriptions", 0, 0, CLU, 0, "",
	  "ThrottleTimeMs:int32; ErrorCode:int16 @err; ClientInstanceId:uuid;"
	  "SubscriptionId:int32; AcceptedCompressionTypes:[int8]; PushIntervalMs:int32;"
	  "TelemetryMaxBytes:int32; DeltaTemporality:bool; RequestedMetrics:[string]" },
	{ 72, "PushTelemetry", 0, 0, CLU, 0, "",
	  "ThrottleTimeMs:int32; ErrorCode:int16 @err" },
	{ 75, "DescribeTopicPartitions", 0, 0, TOP, 0,
	  "Topics:[Name:string @topic] @topics",
	  "ThrottleTimeMs:int32;"
	  "Topics:[ErrorCode:int16 @err; Name:string @topic; TopicId:uuid @topicid; IsInternal:bool;"
	  " Partitions:[ErrorCode:int16; PartitionIndex:int32; LeaderId:int32;"
	  "  LeaderEpoch:int32 =-1; ReplicaNodes:[int32]; IsrNodes:[int32];"
	  "  EligibleLeaderReplicas:[int32] =null; LastKnownElr:[int32] =null;"
	  "  OfflineReplicas:[int32]]; TopicAuthorizedOperations:int32 =-2147483648] @topics;"
	  "NextCursor:{TopicName:string; PartitionIndex:int32}? =null" },
};

/*
 * Keys whose requests name topics, described above or not (broker- and
 * controller-only APIs, share groups): a topic rule never allows one the
 * module cannot read. From the entityType "topicName" and topic ID fields
 * of the JSON definitions.
 */
static const int16_t kafka_topic_keys[] = {
	0, 1, 2, 3, 4, 5, 6, 8, 9, 19, 20, 21, 23, 24, 27, 28, 32, 33, 34, 35,
	37, 43, 44, 45, 46, 47, 52, 53, 54, 55, 56, 59, 61, 68, 73, 75, 76, 78,
	79, 83, 84, 85, 86, 87, 88, 90, 91, 92,
};
/* Keys above the last one Kafka 4.3 has are taken to name topics. */
#define KAFKA_LAST_KNOWN_KEY 92

#define N_DEFS (sizeof(kafka_defs) / sizeof(kafka_defs[0]))

static struct {
	int ready;
	struct kafka_api apis[N_DEFS];
	const struct kafka_api *by_key[KAFKA_MAX_KEY + 1];
	/* every compiled field array, to free */
	struct kafka_field **blocks;
	size_t n_blocks, cap_blocks;
} ks;

/* ---- the notation's compiler ---------------------------------------------------------- */

struct ks_parse {
	const char *p;
	const char *api;
	char *err;
	size_t errlen;
	int failed;
};

static void
ks_fail(struct ks_parse *ps, const char *what)
{
	if (!ps->failed && ps->err != NULL && ps->errlen > 0)
		snprintf(ps->err, ps->errlen, "kafka schema %s: %s at \"%.24s\"",
			 ps->api, what, ps->p);
	ps->failed = 1;
}

static void
ks_ws(struct ks_parse *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n')
		ps->p++;
}

static size_t
ks_ident(struct ks_parse *ps, const char **s)
{
	size_t n = 0;

	ks_ws(ps);
	*s = ps->p;
	while (isalnum((unsigned char)ps->p[n]) || ps->p[n] == '_')
		n++;
	ps->p += n;
	return n;
}

static int
ks_prim(const char *s, size_t n)
{
	static const struct { const char *name; int type; } prims[] = {
		{ "int8", KT_INT8 }, { "int16", KT_INT16 }, { "int32", KT_INT32 },
		{ "int64", KT_INT64 }, { "uint16", KT_UINT16 }, { "uint32", KT_UINT32 },
		{ "float64", KT_FLOAT64 }, { "bool", KT_BOOL }, { "uuid", KT_UUID },
		{ "string", KT_STRING }, { "bytes", KT_BYTES }, { "records", KT_RECORDS },
	};

	for (size_t i = 0; i < sizeof(prims) / sizeof(prims[0]); i++)
		if (strlen(prims[i].name) == n && memcmp(prims[i].name, s, n) == 0)
			return prims[i].type;
	return 0;
}

static int
ks_role(const char *s, size_t n)
{
	static const struct { const char *name; int role; } roles[] = {
		{ "topic", KR_TOPIC }, { "topicid", KR_TOPICID }, { "topics", KR_TOPICS },
		{ "forgotten", KR_FORGOTTEN }, { "res", KR_RES }, { "rtype", KR_RTYPE },
		{ "names", KR_NAMES }, { "part", KR_PART }, { "parts", KR_PARTS },
		{ "keys", KR_KEYS }, { "key", KR_KEY }, { "err", KR_ERR },
		{ "acks", KR_ACKS }, { "sessid", KR_SESSID }, { "epoch", KR_EPOCH },
		{ "txnid", KR_TXNID }, { "keytype", KR_KEYTYPE }, { "regex", KR_REGEX },
		{ "brokers", KR_BROKERS }, { "nodeid", KR_NODEID }, { "host", KR_HOST },
		{ "port", KR_PORT }, { "rack", KR_RACK }, { "cluster", KR_CLUSTER },
		{ "controller", KR_CONTROLLER },
	};

	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strlen(roles[i].name) == n && memcmp(roles[i].name, s, n) == 0)
			return roles[i].role;
	return -1;
}

static int
ks_keep(struct kafka_field *block)
{
	if (ks.n_blocks == ks.cap_blocks) {
		size_t cap = ks.cap_blocks ? ks.cap_blocks * 2 : 64;
		struct kafka_field **nb = realloc(ks.blocks, cap * sizeof(*nb));

		if (nb == NULL)
			return -ENOMEM;
		ks.blocks = nb;
		ks.cap_blocks = cap;
	}
	ks.blocks[ks.n_blocks++] = block;
	return 0;
}

static int ks_fields(struct ks_parse *ps, char close, const struct kafka_field **out,
		     uint16_t *n_out);

static long
ks_number(struct ks_parse *ps)
{
	char *end;
	long v = strtol(ps->p, &end, 10);

	if (end == ps->p)
		ks_fail(ps, "number expected");
	ps->p = end;
	return v;
}

/* One field into f. */
static void
ks_field(struct ks_parse *ps, struct kafka_field *f)
{
	const char *s;
	size_t n;

	memset(f, 0, sizeof(*f));
	f->vmin = 0;
	f->vmax = INT16_MAX;
	if ((n = ks_ident(ps, &s)) == 0 || n > 255)
		return ks_fail(ps, "field name expected");
	f->name = s; /* in the definition's text */
	f->name_len = (uint8_t)n;
	ks_ws(ps);
	if (*ps->p++ != ':')
		return ks_fail(ps, "':' expected");
	ks_ws(ps);
	if (*ps->p == '[' || *ps->p == '{') {
		char open = *ps->p++;
		const char *save = ps->p;
		int prim;

		f->type = open == '[' ? KT_ARRAY : KT_STRUCT;
		n = ks_ident(ps, &s);
		ks_ws(ps);
		if (open == '[' && n > 0 && *ps->p == ']' && (prim = ks_prim(s, n)) != 0) {
			f->elem = (uint8_t)prim;
			ps->p++;
		} else {
			ps->p = save;
			if (ks_fields(ps, open == '[' ? ']' : '}', &f->sub, &f->n_sub) < 0)
				return;
			if (open == '{' && *ps->p == '?') {
				f->nullable = 1;
				ps->p++;
			}
		}
	} else {
		n = ks_ident(ps, &s);
		if ((f->type = (uint8_t)ks_prim(s, n)) == 0)
			return ks_fail(ps, "unknown type");
	}
	/* attributes */
	for (;;) {
		ks_ws(ps);
		if (isdigit((unsigned char)*ps->p)) {
			long a = ks_number(ps), b = a;

			if (*ps->p == '+') {
				ps->p++;
				b = INT16_MAX;
			} else if (*ps->p == '-') {
				ps->p++;
				b = ks_number(ps);
			}
			f->vmin = (int16_t)a;
			f->vmax = (int16_t)b;
		} else if (*ps->p == '=') {
			ps->p++;
			if (strncmp(ps->p, "null", 4) == 0) {
				f->def_null = 1;
				ps->p += 4;
			} else if (strncmp(ps->p, "true", 4) == 0) {
				f->def = 1;
				ps->p += 4;
			} else {
				f->def = strtoll(ps->p, (char **)&ps->p, 10);
			}
		} else if (*ps->p == '@') {
			int r;

			ps->p++;
			n = ks_ident(ps, &s);
			if ((r = ks_role(s, n)) < 0)
				return ks_fail(ps, "unknown role");
			f->role = (uint8_t)r;
		} else {
			break;
		}
	}
	if (f->role == KR_TOPIC || f->role == KR_TOPICID || f->role == KR_NAMES)
		f->has_topics = 1;
	for (uint16_t i = 0; i < f->n_sub; i++)
		if (f->sub[i].has_topics)
			f->has_topics = 1;
}

/* Fields up to close (or the end of the text when close is 0). */
static int
ks_fields(struct ks_parse *ps, char close, const struct kafka_field **out,
	  uint16_t *n_out)
{
	struct kafka_field *fs = NULL;
	size_t n = 0, cap = 0;

	*out = NULL;
	*n_out = 0;
	ks_ws(ps);
	if (*ps->p == close) {
		if (close != '\0')
			ps->p++;
		return 0;
	}
	for (;;) {
		if (n == cap) {
			struct kafka_field *nf;

			cap = cap ? cap * 2 : 8;
			if ((nf = realloc(fs, cap * sizeof(*nf))) == NULL) {
				free(fs);
				ks_fail(ps, "out of memory");
				return -ENOMEM;
			}
			fs = nf;
		}
		ks_field(ps, &fs[n++]);
		if (ps->failed)
			break;
		ks_ws(ps);
		if (*ps->p == ';') {
			ps->p++;
			continue;
		}
		if (*ps->p == close) {
			if (close != '\0')
				ps->p++;
			break;
		}
		ks_fail(ps, "';' or end of fields expected");
		break;
	}
	if (ps->failed) {
		free(fs);
		return -EINVAL;
	}
	if (ks_keep(fs) < 0) {
		free(fs);
		return -ENOMEM;
	}
	*out = fs;
	*n_out = (uint16_t)n;
	return 0;
}

/* Is there an @err field inside a topic entry of fs? */
static int
ks_topic_err(const struct kafka_field *fs, uint16_t n, int in_topic)
{
	for (uint16_t i = 0; i < n; i++) {
		const struct kafka_field *f = &fs[i];
		int t = in_topic || f->role == KR_TOPICS || f->role == KR_RES;

		if (f->role == KR_ERR && in_topic)
			return 1;
		if (f->sub != NULL && ks_topic_err(f->sub, f->n_sub, t))
			return 1;
	}
	return 0;
}

void
kafka_schema_fini(void)
{
	for (size_t i = 0; i < ks.n_blocks; i++)
		free(ks.blocks[i]);
	free(ks.blocks);
	memset(&ks, 0, sizeof(ks));
}

int
kafka_schema_init(char *err, size_t errlen)
{
	if (ks.ready)
		return 0;
	for (size_t i = 0; i < N_DEFS; i++) {
		const struct kafka_def *d = &kafka_defs[i];
		struct kafka_api *a = &ks.apis[i];
		struct ks_parse ps = { .api = d->name, .err = err, .errlen = errlen };
		int topic_key = 0;

		a->key = d->key;
		a->name = d->name;
		a->max_version = d->max_version;
		a->flex_from = d->flex_from;
		a->deny_err = d->deny_err;
		a->topics_optional = d->topics_optional;
		ps.p = d->req;
		if (ks_fields(&ps, '\0', &a->req, &a->n_req) < 0)
			goto fail;
		ps.p = d->resp;
		if (ks_fields(&ps, '\0', &a->resp, &a->n_resp) < 0)
			goto fail;
		for (size_t k = 0; k < sizeof(kafka_topic_keys) / sizeof(kafka_topic_keys[0]); k++)
			if (kafka_topic_keys[k] == d->key)
				topic_key = 1;
		for (uint16_t k = 0; k < a->n_req; k++)
			if (a->req[k].has_topics && !topic_key) {
				ks_fail(&ps, "names topics but is not a topic key");
				goto fail;
			}
		a->topic_key = (uint8_t)topic_key;
		a->resp_topic_err = (uint8_t)ks_topic_err(a->resp, a->n_resp, 0);
		a->flow_name = bw_kafka_key_cilium(d->key);
		ks.by_key[d->key] = a;
	}
	ks.ready = 1;
	return 0;
fail:
	kafka_schema_fini();
	return -EINVAL;
}

/* ---- look-ups ----------------------------------------------------------------------------- */

const struct kafka_api *
kafka_api_get(int16_t key)
{
	if (key < 0 || key > KAFKA_MAX_KEY)
		return NULL;
	return ks.by_key[key];
}

int
kafka_api_flexible(int16_t key, int16_t version)
{
	const struct kafka_api *a = kafka_api_get(key);

	if (a == NULL || version < 0 || version > a->max_version)
		return -1;
	return a->flex_from >= 0 && version >= a->flex_from;
}

int
kafka_api_key_by_name(const char *name)
{
	return bw_kafka_key_by_name(name);
}

const char *
kafka_api_flow_name(int16_t key, char *buf, size_t len)
{
	return bw_kafka_key_flow_name(key, buf, len);
}

int
kafka_key_names_topics(int16_t key)
{
	if (key < 0 || key > KAFKA_LAST_KNOWN_KEY)
		return 1;
	for (size_t k = 0; k < sizeof(kafka_topic_keys) / sizeof(kafka_topic_keys[0]); k++)
		if (kafka_topic_keys[k] == key)
			return 1;
	return 0;
}
