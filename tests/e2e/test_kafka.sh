#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Kafka policy end to end (docs/l7.md, "Kafka"): CiliumNetworkPolicy
# rules.kafka on a broker pod's port send its connections through the
# datapath's redirect to the L7 proxy engine and the kafka module, which
# enforces them on every request.
#
# Real peers: the broker is librdkafka's mock cluster (tests/e2e/kafka_mock,
# Debian has no Kafka broker); the clients are kcat (librdkafka 2.0.2) and
# kafka-python 2.0.2. The mock listens on its pod's loopback and advertises
# that address, so a socat relay in the broker pod (pod IP:9092 -> loopback)
# and one in each client pod (the advertised loopback port -> broker pod
# IP:9092) put every Kafka byte on the veths, through the proxy.
#
# What a client sees is checked: produce and consume allowed and refused by
# topic, role and client id (kcat's and kafka-python's own errors), a
# request naming an allowed and a refused topic, metadata, flexible and
# non-flexible protocol versions, consumer groups, acks=0, and the flows
# and metrics the requests leave; an on_kafka Lua script narrowing them.
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

# Optional, to run the same checks with another librdkafka (a newer one
# built by hand speaks the flexible Produce, Fetch with topic IDs, ...):
# KAFKA_MOCK=its kafka_mock build, KAFKA_LIBRDKAFKA=the directory of its
# librdkafka.so.1, which kcat then loads.
bw_init
bw_require_tool kcat kcat
MOCK=${KAFKA_MOCK:-$(bw_find_bin kafka_mock "$abs_top_builddir/tests/e2e/kafka_mock")}
[ -n "$MOCK" ] || bw_skip "tests/e2e/kafka_mock not built (configure without librdkafka-dev)"
KCAT=(kcat)
[ -z "${KAFKA_LIBRDKAFKA:-}" ] || KCAT=(env "LD_LIBRARY_PATH=$KAFKA_LIBRDKAFKA" kcat)
PY=$(bw_find_bin python3 /usr/bin/python3)
"$PY" -c 'import kafka' 2>/dev/null || bw_die "kafka-python not found: apt-get install python3-kafka"
MPORT=$((20000 + $$ % 20000))
BW_CONF=$BW_TMP/bulwark.conf
printf '[daemon]\nmodules = identity-local netpol-k8s netpol-cilium kafka prometheus\n' >"$BW_CONF"
# every check reads flows back: keep all of this test's
mkdir -p "$BW_TMP/lua"
bw_start_daemon -o "prometheus.listen=127.0.0.1:$MPORT" -o flows.capacity=131072 \
	-o "lua.dir=$BW_TMP/lua"
bw_pod_add x broker 10.1.0.1 app=kafka
bw_pod_add x cli 10.1.0.2 app=client
bw_pod_add x other 10.1.0.3 app=other
bw_pod_add x legacy 10.1.0.4 app=kafka
BROKER=10.1.0.1
LEGACY=10.1.0.4
BROKER_NS=$(bw_netns_of x/broker)
CLI_NS=$(bw_netns_of x/cli)
OTHER_NS=$(bw_netns_of x/other)

# ---- the broker and the relays ------------------------------------------------------------
bw_bg "$BROKER_NS" "$MOCK" -t orders:2 -t audit -t secret -t events -p "$BW_TMP/mock.port"
mock_ready() { test -s "$BW_TMP/mock.port"; }
bw_wait_for 10 mock_ready || bw_die "the mock broker did not start"
BOOT=$(cat "$BW_TMP/mock.port")
LPORT=${BOOT##*:}
bw_bg "$BROKER_NS" socat "TCP-LISTEN:9092,bind=$BROKER,fork,reuseaddr" "TCP:$BOOT"
bw_wait_listen "$BROKER_NS" tcp 9092
# A second broker that accepts only old, classic versions of the data
# requests (Produce v3, Fetch v4, Metadata v1, ListOffsets v1), so that the
# same clients use them.
LEGACY_NS=$(bw_netns_of x/legacy)
bw_bg "$LEGACY_NS" "$MOCK" -t orders -t secret -t audit -p "$BW_TMP/legacy.port" \
	-v 0:3:3 -v 1:4:4 -v 3:1:1 -v 2:1:1
legacy_ready() { test -s "$BW_TMP/legacy.port"; }
bw_wait_for 10 legacy_ready || bw_die "the legacy mock broker did not start"
BOOT_OLD=$(cat "$BW_TMP/legacy.port")
bw_bg "$LEGACY_NS" socat "TCP-LISTEN:9092,bind=$LEGACY,fork,reuseaddr" "TCP:$BOOT_OLD"
bw_wait_listen "$LEGACY_NS" tcp 9092
for ns in "$CLI_NS" "$OTHER_NS"; do
	bw_bg "$ns" socat "TCP-LISTEN:$LPORT,bind=127.0.0.1,fork,reuseaddr" "TCP:$BROKER:9092"
	bw_wait_listen "$ns" tcp "$LPORT"
	bw_bg "$ns" socat "TCP-LISTEN:${BOOT_OLD##*:},bind=127.0.0.1,fork,reuseaddr" "TCP:$LEGACY:9092"
	bw_wait_listen "$ns" tcp "${BOOT_OLD##*:}"
done

# ---- helpers ---------------------------------------------------------------------------------
# kc NETNS ARGS... : kcat against the broker, with a time limit; stderr too,
# and "exit N" when it failed (a refusal is an answer the checks read).
kc() {
	local ns=$1 rc=0
	shift
	bw_nsx "$ns" timeout 20 "${KCAT[@]}" -b "$BOOT" -X socket.timeout.ms=5000 \
		-X message.timeout.ms=8000 "$@" 2>&1 || rc=$?
	[ $rc = 0 ] || echo "exit $rc"
}
# raw ARGS... : tests/e2e/kafka_raw.py from x/cli (one request on one connection).
raw() {
	bw_nsx "$CLI_NS" timeout 30 "$PY" "$abs_top_srcdir/tests/e2e/kafka_raw.py" "$BOOT" "$@" 2>&1
}
# produce NETNS TOPIC MESSAGE [KCAT-ARGS...] : kcat -P, one message.
produce() {
	local ns=$1 topic=$2 msg=$3
	shift 3
	printf '%s\n' "$msg" | kc "$ns" -P -t "$topic" "$@"
}
# consume NETNS TOPIC [KCAT-ARGS...] : every message of TOPIC, then exit.
consume() {
	local ns=$1 topic=$2
	shift 2
	kc "$ns" -C -t "$topic" -o beginning -e -q "$@"
}
# fetch NETNS TOPIC PARTITION [KCAT-ARGS...] : read from offset 0 (a Fetch,
# no ListOffsets).
fetch() {
	local ns=$1 topic=$2 part=$3
	shift 3
	kc "$ns" -C -t "$topic" -p "$part" -o 0 -e -q "$@"
}
metrics() { bw_nsx "$BW_NODE" curl -s "http://127.0.0.1:$MPORT/metrics"; }

# ---- ingress rules.kafka on x/broker:9092 ------------------------------------------------------
bw_policy_import_text kafka-l7 <<'YAML' || bw_die "policy import failed"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: kafka-l7
  namespace: x
spec:
  endpointSelector:
    matchLabels: {app: kafka}
  ingress:
  - fromEndpoints:
    - matchLabels: {app: client}
    toPorts:
    - ports: [{port: "9092", protocol: TCP}]
      rules:
        kafka:
        - role: produce
          topic: orders
        - role: consume
          topic: orders
        - role: produce
          topic: audit
          clientID: auditor
        - apiKey: initproducerid
          clientID: idem
        # a key past Cilium's table, by Kafka's name (a bulwark extension):
        # the telemetry newer clients send
        - apiKey: GetTelemetrySubscriptions
YAML

bw_expect_verdict "policy trace: x/cli -> x/broker:9092 is REDIRECTED to the kafka proxy" \
	REDIRECTED --from x/cli --to x/broker --port 9092

# ---- produce and consume: topics --------------------------------------------------------------
bw_expect_output "kcat produces to an allowed topic" '^$' produce "$CLI_NS" orders first
bw_expect_output "kcat consumes it back" '^first$' consume "$CLI_NS" orders
bw_expect_output "kcat producing to a topic no rule names gets Topic authorization failed" \
	'Topic authorization failed' produce "$CLI_NS" secret leak
bw_expect_output "kcat consuming a topic no rule names gets Topic authorization failed" \
	'Topic authorization failed' consume "$CLI_NS" secret
# straight to the mock in its own pod (loopback, not through the proxy)
bw_expect_output "the refused message never reached the broker" '^$' \
	bw_nsx "$BROKER_NS" timeout 20 "${KCAT[@]}" -b "$BOOT" -C -t secret -o beginning -e -q

# ---- client id ------------------------------------------------------------------------------------
bw_expect_output "clientID: 'auditor' may produce to audit" '^$' \
	produce "$CLI_NS" audit a1 -X client.id=auditor
bw_expect_output "clientID: another client id may not" 'Topic authorization failed' \
	produce "$CLI_NS" audit a2 -X client.id=intruder

# ---- role: producing to audit is not consuming it ------------------------------------------------
bw_expect_output "role: the produce role on audit does not allow reading offsets of it" \
	'Topic authorization failed' consume "$CLI_NS" audit -X client.id=auditor
bw_expect_output "role: ... nor fetching from it" \
	'Topic authorization failed' fetch "$CLI_NS" audit 0 -X client.id=auditor

# ---- metadata --------------------------------------------------------------------------------------
bw_expect_output "metadata for an allowed topic lists it with its partitions" \
	'topic "orders" with 2 partitions' kc "$CLI_NS" -L -t orders
bw_expect_output "metadata for a refused topic carries Topic authorization failed" \
	'topic "secret".*Topic authorization failed' kc "$CLI_NS" -L -t secret

# ---- protocol versions --------------------------------------------------------------------------
# x/legacy accepts only Produce v3, Fetch v4, Metadata v1 and ListOffsets
# v1: the same kcat uses those there.
legacy() {
	local rc=0
	bw_nsx "$CLI_NS" timeout 20 "${KCAT[@]}" -b "$BOOT_OLD" -X socket.timeout.ms=5000 \
		-X message.timeout.ms=8000 "$@" 2>&1 || rc=$?
	[ $rc = 0 ] || echo "exit $rc"
}
legacy_produce() { printf '%s\n' "$2" | legacy -P -t "$1"; }
bw_expect_output "old versions: Produce v3 to an allowed topic" '^$' legacy_produce orders old-versions
bw_expect_output "old versions: Fetch v4 reads it back" '^old-versions$' \
	legacy -C -t orders -o beginning -e -q
bw_expect_output "old versions: a refused topic is refused in Metadata v1" \
	'Topic authorization failed' legacy_produce secret old
bw_expect_output "old versions: Fetch v4 of a topic only the produce role names is refused" \
	'Topic authorization failed' legacy -C -t audit -p 0 -o 0 -e -q -X client.id=auditor

# ---- flexible versions: the idempotent producer's InitProducerId --------------------------------
# librdkafka 2.0.2 against this broker: ApiVersions v3 (flexible, refused by
# the mock, retried in v0) and InitProducerId v4 (flexible request and
# answer), which Cilium's produce role does not include.
bw_expect_output "an idempotent producer without a rule for initproducerid: Cluster authorization failed" \
	'Cluster authorization failed' produce "$CLI_NS" orders idem-1 -X enable.idempotence=true
bw_expect_output "with 'apiKey: initproducerid' for its client id it produces" '^$' \
	produce "$CLI_NS" orders idem-2 -X enable.idempotence=true -X client.id=idem
bw_expect_output "and its message arrives" 'idem-2' consume "$CLI_NS" orders

# ---- consumer groups -----------------------------------------------------------------------------
# kcat -G: FindCoordinator, JoinGroup, SyncGroup, OffsetFetch (no committed
# offset yet: auto.offset.reset), Heartbeat, OffsetCommit, LeaveGroup, all
# under the consume role.
group_consume() {
	bw_nsx "$CLI_NS" timeout 40 "${KCAT[@]}" -b "$BOOT" -G "$1" -e -q -X auto.offset.reset=earliest \
		-X socket.timeout.ms=5000 orders 2>&1
}
bw_expect_output "a consumer group reads the allowed topic" '^first$' group_consume g1

# ---- python3-kafka -----------------------------------------------------------------------------
# pyk SCRIPT : run a kafka-python script in x/cli (argv[1]: the bootstrap).
pyk() {
	printf '%s\n' "$1" >"$BW_TMP/pyk.py"
	bw_nsx "$CLI_NS" timeout 40 "$PY" "$BW_TMP/pyk.py" "$BOOT" 2>&1
}
bw_expect_output "kafka-python produces to orders and reads it back" '^ok py-1$' pyk '
import sys
from kafka import KafkaProducer, KafkaConsumer
boot = sys.argv[1]
p = KafkaProducer(bootstrap_servers=boot, client_id="pyclient")
p.send("orders", b"py-1").get(timeout=10)
p.close()
c = KafkaConsumer("orders", bootstrap_servers=boot, auto_offset_reset="earliest",
                  consumer_timeout_ms=5000, group_id=None)
got = [m.value for m in c]
print("ok py-1" if b"py-1" in got else "missing: %r" % got)'
# kafka-python 2.0.2 retries a metadata request whose only topic comes back
# with an error (kafka/cluster.py) until max_block_ms, as against a broker
# with ACLs; the refusals are in the flows.
bw_expect_output "kafka-python: a refused topic's metadata never comes (KafkaTimeoutError)" \
	'^KafkaTimeoutError' pyk '
import sys
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers=sys.argv[1], retries=0, max_block_ms=8000)
try:
    p.send("secret", b"x").get(timeout=10)
    print("sent")
except Exception as e:
    print(type(e).__name__, e)'
# One request naming an allowed and a refused topic is refused whole, every
# topic with error 29 (Cilium's rule: all topics must be covered), sent
# with kafka-python's protocol classes (its producer will not batch a topic
# whose metadata it was refused).
bw_expect_output "one Produce naming an allowed and a refused topic: refused whole (29, 29)" \
	'^orders:0 29 secret:0 29$' raw produce 7 -1 orders:0 secret:0
bw_expect_output "one Metadata naming an allowed and a refused topic: refused whole (29, 29)" \
	'^orders 29 secret 29$' raw metadata orders secret
bw_expect_output "the same Metadata for the allowed topic alone is answered by the broker" \
	'^orders 0$' raw metadata orders
bw_expect_output "an allowed Produce v3 (first record-batch version) gets the broker's answer" \
	'^orders:1 0$' raw produce 3 1 orders:1
bw_expect_output "an allowed Produce to a partition that does not exist: the broker's error 3" \
	'^orders:9 3$' raw produce 7 1 orders:9

# ---- acks=0: no answer expected; a refused one closes the connection ---------------------------
bw_expect_output "acks=0 to a refused topic: the proxy closes the connection, as a broker does" \
	'^closed$' raw produce 7 0 secret:0
# (librdkafka's mock answers even acks=0 requests, which a broker does not;
# the proxy passes an answer it did not expect)
bw_expect_output "acks=0 to an allowed topic is forwarded, the connection stays" \
	'^(no answer|orders:0 0)$' raw produce 7 0 orders:0
bw_expect_output "and its record arrives" 'raw-orders' consume "$CLI_NS" orders
bw_expect_output "bulwark_kafka_closes_total counted the close" \
	'^bulwark_kafka_closes_total [1-9]' metrics

# ---- a pod not allowed at L3/L4 -----------------------------------------------------------------
if kc "$OTHER_NS" -L -m 3 | grep -q 'topic "orders"'; then
	bw_fail "x/other is not allowed at L3/L4: it got metadata"
else
	bw_pass "x/other is not allowed at L3/L4: no answer reaches it"
fi

# ---- flows --------------------------------------------------------------------------------------
if bw_flows_available; then
	bw_expect_flow "a produce to orders is an l7 REQUEST flow, FORWARDED" \
		--type l7 --protocol kafka --kafka-api-key produce --kafka-topic orders --verdict FORWARDED
	bw_expect_flow "a produce to secret is DROPPED" \
		--type l7 --kafka-api-key produce --kafka-topic secret --verdict DROPPED --to-pod x/broker
	bw_expect_flow "metadata of secret is DROPPED" \
		--type l7 --kafka-api-key metadata --kafka-topic secret --verdict DROPPED
	bw_expect_flow "a fetch of audit (produce role only) is DROPPED" \
		--type l7 --kafka-api-key fetch --kafka-topic audit --verdict DROPPED
	bw_expect_output "l7.kafka has api_version, api_key, correlation_id, topic" \
		'"l7":\{"type":"REQUEST","kafka":\{"api_version":[0-9]+,"api_key":"produce","correlation_id":[0-9]+,"topic":"orders"\}' \
		bw observe --all -o json --type l7 --kafka-api-key produce --kafka-topic orders --verdict FORWARDED
	bw_expect_output "the forwarded request names its policy" \
		'"ingress_allowed_by":\[\{"name":"kafka-l7","namespace":"x"' \
		bw observe --all -o json --type l7 --kafka-topic orders --verdict FORWARDED
	bw_expect_output "responses are RESPONSE flows with a latency" \
		'"l7":\{"type":"RESPONSE","latency_ns":"[0-9]+","kafka":\{"api_version":[0-9]+,"api_key":"produce","correlation_id":[0-9]+,"topic":"orders"\}' \
		bw observe --all -o json --type l7 --kafka-api-key produce --kafka-topic orders
	bw_expect_output "a response flow carries the broker's error code" \
		'"type":"RESPONSE".*"kafka":\{"error_code":3,.*"topic":"orders"' \
		bw observe --all -o json --type l7 --kafka-api-key produce --kafka-topic orders
	bw_expect_output "compact output: kafka-request with Hubble's Summary" \
		"x/cli:[0-9]+ \(ID:[0-9]+\) -> x/broker:9092 \(ID:[0-9]+\) kafka-request DROPPED \(Kafka request produce correlation id [0-9]+ topic 'secret'\)" \
		bw observe --all --type l7 --kafka-topic secret --kafka-api-key produce
	for k in findcoordinator joingroup syncgroup offsetfetch heartbeat offsetcommit leavegroup; do
		bw_expect_flow "the consumer group's $k is forwarded" \
			--type l7 --kafka-api-key "$k" --verdict FORWARDED --from-pod x/cli
	done
	bw_expect_output "the flexible InitProducerId v4 refused to the idempotent producer" \
		'"api_version":4,"api_key":"initproducerid"' \
		bw observe --all -o json --type l7 --kafka-api-key initproducerid --verdict DROPPED
	bw_expect_output "flexible ApiVersions v3 is forwarded" \
		'"api_version":3,"api_key":"apiversions"' \
		bw observe --all -o json --type l7 --kafka-api-key apiversions --verdict FORWARDED
	bw_expect_output "old versions in the flows: Produce v3 to x/legacy" \
		'"kafka":\{"api_version":3,"api_key":"produce","correlation_id":[0-9]+,"topic":"orders"' \
		bw observe --all -o json --type l7 --kafka-api-key produce --kafka-topic orders --to-pod x/legacy
	bw_expect_output "old versions in the flows: Fetch v4 of audit DROPPED" \
		'"kafka":\{"api_version":4,"api_key":"fetch","correlation_id":[0-9]+,"topic":"audit"' \
		bw observe --all -o json --type l7 --kafka-api-key fetch --kafka-topic audit --verdict DROPPED --to-pod x/legacy
	# the versions the clients used, for the log; every topic a flow names
	# is a name (topic IDs, Fetch v13+ with newer librdkafka, were named
	# from Metadata answers before they were used)
	bw observe --all -o json --type l7 --protocol kafka >"$BW_TMP/kafka-flows.json"
	kafka_flow_summary() {
		"$PY" -c '
import json, sys
seen, named, unnamed = set(), 0, 0
for line in open(sys.argv[1]):
    k = json.loads(line)["flow"]["l7"]["kafka"]
    seen.add("%s v%d" % (k["api_key"], k.get("api_version", 0)))
    if k.get("topic"):
        if k["topic"] in ("orders", "audit", "secret"):
            named += 1
        else:
            unnamed += 1
if sys.argv[2] == "versions":
    print("# Kafka requests and versions seen: " + ", ".join(sorted(seen)))
else:
    print("named %d unnamed %d" % (named, unnamed))' "$BW_TMP/kafka-flows.json" "$1"
	}
	kafka_flow_summary versions
	bw_expect_output "every topic in the Kafka flows is a topic name, none an unnamed ID" \
		'^named [1-9][0-9]* unnamed 0$' kafka_flow_summary names
	bw_expect_output "ApiVersions v0 (the retry after v3) is in the flows (version 0: no api_version)" \
		'"kafka":\{"api_key":"apiversions","correlation_id":2\}' \
		bw observe --all -o json --type l7 --kafka-api-key apiversions
fi

# ---- on_kafka: a Lua script narrows what the rules allow (docs/lua.md) ---------------------------
# The script refuses produce requests of client id "batch", which the rules
# allow on orders; it is never asked about what the rules refuse.
cat >"$BW_TMP/kafka-gate.lua" <<'EOF'
function on_kafka(req)
  if req.api_key == "produce" and req.client_id == "batch" then
    for _, t in ipairs(req.topics) do
      if t == "secret" then return "deny", "saw a refused topic" end
    end
    return "deny", "batch may not produce from " .. tostring(req.source.pod)
  end
end
EOF
lua_active() {
	bw lua list -o json 2>/dev/null | "$PY" -c 'import json, sys
d = json.load(sys.stdin)
sys.exit(0 if any(s["name"] == "kafka-gate" and s["state"] == "active" for s in d["scripts"]) else 1)'
}
cp "$BW_TMP/kafka-gate.lua" "$BW_TMP/lua/.kafka-gate.tmp"
mv -f "$BW_TMP/lua/.kafka-gate.tmp" "$BW_TMP/lua/kafka-gate.lua"
if bw_wait_for 10 lua_active; then
	bw_pass "on_kafka: script kafka-gate loaded"
	bw_expect_output "on_kafka: client id batch producing to orders (the rules allow it) is refused" \
		'Topic authorization failed' produce "$CLI_NS" orders b1 -X client.id=batch
	bw_expect_output "on_kafka: another client id still produces to orders" '^$' \
		produce "$CLI_NS" orders b2 -X client.id=other
	orders_b2_not_b1() {
		local out
		out=$(bw_nsx "$BROKER_NS" timeout 20 "${KCAT[@]}" -b "$BOOT" -C -t orders -o beginning -e -q)
		if printf '%s\n' "$out" | grep -qx b2 && ! printf '%s\n' "$out" | grep -qx b1; then
			echo "b2 stored, b1 not"
		else
			printf '%s\n' "$out"
		fi
	}
	bw_expect_output "on_kafka: the message it refused never reached the broker" '^b2 stored, b1 not$' \
		orders_b2_not_b1
	bw_expect_output "on_kafka: the DROPPED flow names the script and its reason" \
		'"script":"kafka-gate".*"reason":"batch may not produce from cli"' \
		bw observe --all -o json --type l7 --kafka-api-key produce --verdict DROPPED --kafka-topic orders
	bw_expect_output "on_kafka: a topic the rules refuse gets the policy's refusal" \
		'Topic authorization failed' produce "$CLI_NS" secret b3 -X client.id=batch
	gate_saw_secret() {
		bw observe --all -o json --type l7 --kafka-topic secret | grep -c 'saw a refused topic' || true
	}
	bw_expect_output "on_kafka: ... and the script was never asked about it" '^0$' gate_saw_secret
	bw_expect_output "bulwark lua list counts the script's denial" \
		'kafka-gate +active +on_kafka' bw lua list
	rm -f "$BW_TMP/lua/kafka-gate.lua"
else
	bw_fail "on_kafka: script kafka-gate did not load"
	bw lua list 2>&1 | sed 's/^/#   | /'
fi

# ---- metrics ------------------------------------------------------------------------------------
bw_expect_output "bulwark_kafka_requests_total counts forwarded produce requests" \
	'^bulwark_kafka_requests_total\{api_key="produce",verdict="forwarded"\} [1-9]' metrics
bw_expect_output "bulwark_kafka_requests_total counts dropped ones" \
	'^bulwark_kafka_requests_total\{api_key="produce",verdict="dropped"\} [1-9]' metrics
bw_expect_output "cilium_policy_l7_total counts the kafka denials" \
	'^cilium_policy_l7_total\{proxy_type="kafka",rule="denied"\} [1-9]' metrics
bw_expect_output "hubble_policy_verdicts_total has the kafka L7 verdicts" \
	'^hubble_policy_verdicts_total\{direction="ingress",match="l7/kafka",action="dropped"\} [1-9]' metrics

bw_finish
