#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_observe.sh - flows from real traffic through the real
# datapath, read with `bulwark observe`: every -o json line is a Hubble
# GetFlowsResponse of the right shape; flows are enriched (pods, namespaces,
# labels, identities, world peers); every filter flag selects what it
# should (either-side flags, --not, --last/--first, --since/--until);
# policy verdicts name the policy behind them (ingress_allowed_by,
# ingress_denied_by, the isolating policies of a default-deny drop) with
# Cilium's match types; audit mode gives AUDIT verdicts; --follow streams
# new flows; the compact, table and dict outputs render like hubble's.
# Workloads: one given with `endpoint add --workload`, one derived from a
# Deployment pod's name, shown as Hubble's `workloads` and selected by
# --workload/--from-workload/--to-workload, kept across a restart. ICMP
# errors carry their code (restarted with monitor_aggregation=none so that
# the RELATED port-unreachable is traced).
#
# (Audit mode is switched on per endpoint; policy.audit=true is the same
# datapath flag.)
#
# Topology: x/a (app=web, 10.1.0.1 fd00::1:1, TCP 80), x/b (app=client,
# 10.1.0.2 fd00::1:2),
# y/c (app=other, 10.2.0.1), external host ext1 (192.0.2.10, TCP 80);
# later x/web-7d4b9c8f6-lm5vz (app=shop, 10.1.0.3, TCP 8080; Deployment web
# by its name) and x/e (app=batch, 10.1.0.4, --workload StatefulSet/store).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init
bw_require_tool jq jq
bw_start_daemon -o flows.monitor_aggregation=medium

bw namespace set x || bw_die "namespace set x"
bw namespace set y || bw_die "namespace set y"
bw_pod_add x a 10.1.0.1 fd00::1:1 app=web || bw_die "endpoint add x/a"
bw_pod_add x b 10.1.0.2 fd00::1:2 app=client || bw_die "endpoint add x/b"
bw_pod_add y c 10.2.0.1 app=other || bw_die "endpoint add y/c"
bw_external_add ext1 192.0.2.10
bw_server_tcp x/a 80
bw_server_tcp ext1 80

OUT="$BW_TMP/observe.json"
ERR="$BW_TMP/observe.err"

# jq helpers every check can use; the input is the slurped NDJSON lines.
JQ_DEFS='
def flows: map(select(has("flow")) | .flow);
def tcp_to($port): select(.l4.TCP.destination_port == $port);
def pod($side): (.[$side].namespace // "") + "/" + (.[$side].pod_name // "");
'

# obs_run ARGS... : bulwark observe -o json ARGS... into $OUT ($ERR).
obs_run() {
	bw observe -o json "$@" >"$OUT" 2>"$ERR"
}

# obs_true JQ ARGS... : quietly, does `observe -o json ARGS...` satisfy JQ?
obs_true() {
	local expr=$1
	shift
	obs_run "$@" && jq -es "$JQ_DEFS $expr" "$OUT" >/dev/null 2>&1
}

# obs_check DESC JQ ARGS... : PASS when every output line is JSON and the
# slurped lines satisfy JQ. Shows the output on failure.
obs_check() {
	local desc=$1 expr=$2
	shift 2
	if obs_run "$@" && jq -es "$JQ_DEFS $expr" "$OUT" >/dev/null 2>"$ERR.jq"; then
		bw_pass "$desc"
	else
		bw_fail "$desc"
		echo "#   observe $*"
		echo "#   jq: $expr"
		sed 's/^/#   | /' "$ERR" "$ERR.jq" 2>/dev/null | head -5
		head -c 3000 "$OUT" | sed 's/^/#   | /'
	fi
}

# obs_text_check DESC REGEX ARGS... : `bulwark observe ARGS...` (human
# output) must print a line matching REGEX (extended).
obs_text_check() {
	local desc=$1 re=$2
	shift 2
	if bw observe "$@" >"$OUT" 2>"$ERR" && grep -Eq -- "$re" "$OUT"; then
		bw_pass "$desc"
	else
		bw_fail "$desc"
		echo "#   observe $*  (want /$re/)"
		head -20 "$OUT" "$ERR" | sed 's/^/#   | /'
	fi
}

# ---- traffic without policy -------------------------------------------------
bw_expect_ok "no policy: x/b -> x/a:80" bw_probe_tcp x/b x/a 80
bw_expect_ok "no policy: x/b -> ext1 (ping)" bw_probe_icmp x/b ext1
bw_wait_for 5 obs_true '(flows | map(tcp_to(80)) | length) > 0' --all ||
	bw_fail "flows of x/b -> x/a:80 show up"

obs_check "every line is a Hubble GetFlowsResponse" '
	length > 0 and all(.[];
		(.flow | type) == "object" and (.node_name | type) == "string" and
		(.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.([0-9]{3}|[0-9]{6}|[0-9]{9}))?Z$")) and
		.flow.time == .time and .flow.node_name == .node_name and
		(.flow.uuid | test("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")) and
		.flow.Type == "L3_L4" and
		(.flow.verdict | IN("FORWARDED", "DROPPED", "AUDIT")) and
		(.flow.event_type.type | IN(1, 4, 5)) and
		(.flow.IP.ipVersion | IN("IPv4", "IPv6")) and
		(.flow.Summary | type) == "string" and
		(.flow.l4 | type) == "object")' --all

# medium aggregation traces a pod-to-pod packet once, where it enters the
# receiving endpoint (TO_ENDPOINT); FROM_ENDPOINT traces of x/b's traffic
# are checked with the ping to ext1 below and at monitor_aggregation=none.
obs_check "the SYN x/b -> x/a is traced once (TO_ENDPOINT), enriched" '
	flows | map(tcp_to(80) | select(.l4.TCP.flags.SYN and (.l4.TCP.flags.ACK | not))) |
	(map(select(.trace_observation_point == "FROM_ENDPOINT")) | length == 0) and
	(map(select(.trace_observation_point == "TO_ENDPOINT")) | length > 0 and all(.[];
		pod("source") == "x/b" and pod("destination") == "x/a" and
		.destination.ID > 0 and .source.identity >= 256 and
		(.source.labels | index("k8s:app=client")) != null and
		(.source.labels | index("k8s:io.kubernetes.pod.namespace=x")) != null and
		(.source.labels == (.source.labels | sort)) and
		(.destination.labels | index("k8s:app=web")) != null and
		(.destination.labels == (.destination.labels | sort)) and
		.IP.source == "10.1.0.2" and .IP.destination == "10.1.0.1" and
		.traffic_direction == "INGRESS" and .trace_reason == "NEW" and
		.is_reply == false and .event_type == {"type": 4} and
		.Summary == "TCP Flags: SYN" and
		(.interface.index > 0) and (.interface.name | type) == "string"))' --all

obs_check "the SYN-ACK is a reply: is_reply true, connection direction kept" '
	flows | map(select(.l4.TCP.source_port == 80 and .l4.TCP.flags.SYN and .l4.TCP.flags.ACK)) |
	length > 0 and all(.[]; .is_reply == true and .reply == true and
		.trace_reason == "REPLY" and pod("source") == "x/a" and
		(if .trace_observation_point == "FROM_ENDPOINT" then .traffic_direction == "INGRESS"
		 else .traffic_direction == "EGRESS" end))' --all

obs_check "ping to ext1: world peer, ICMPv4 EchoRequest" '
	flows | map(select(.IP.destination == "192.0.2.10" and .l4.ICMPv4.type == 8)) |
	length > 0 and all(.[]; .destination.identity == 2 and
		.destination.labels == ["reserved:world"] and
		(.destination | has("namespace") | not) and
		.Summary == "ICMPv4 EchoRequest" and pod("source") == "x/b")' --all

bw_expect_ok "no policy: tcp6 x/b -> x/a:80" bw_probe_tcp6 x/b x/a 80
bw_wait_for 5 obs_true 'length > 0' --all --ip-version v6 ||
	bw_fail "IPv6 flows show up"
obs_check "IPv6 flows: ipVersion IPv6, addresses, pods" '
	flows | length > 0 and all(.[]; .IP.ipVersion == "IPv6" and
		(.IP.source | IN("fd00::1:1", "fd00::1:2")) and
		(.IP.destination | IN("fd00::1:1", "fd00::1:2")) and
		(pod("source") | IN("x/a", "x/b")) and (pod("destination") | IN("x/a", "x/b")) and
		(.l4.TCP | type) == "object")' --all --ip-version v6
obs_check "--ip fd00::1:0/112 (IPv6 CIDR)" \
	'length > 0 and (flows | all(.[]; .IP.ipVersion == "IPv6"))' --all --ip fd00::1:0/112

# ---- selection ----------------------------------------------------------------
obs_run --all
all_n=$(jq -s length "$OUT")
first_uuid=$(jq -rs '.[0].flow.uuid' "$OUT")
last_uuid=$(jq -rs '.[-1].flow.uuid' "$OUT")
obs_check "--last 3 gives the 3 newest" "length == 3 and .[2].flow.uuid == \"$last_uuid\"" --last 3
obs_check "without --last/--all: the last 20 ($all_n stored)" \
	"length == ([$all_n, 20] | min) and .[-1].flow.uuid == \"$last_uuid\""
obs_check "--first 2 gives the 2 oldest" "length == 2 and .[0].flow.uuid == \"$first_uuid\"" --first 2
obs_check "--all gives every flow ($all_n)" "length == $all_n" --all
obs_check "--since 1h keeps them" "length == $all_n" --since 1h
obs_check "--until 2000-01-01 gives none" 'length == 0' --until 2000-01-01T00:00:00Z

# ---- filters ------------------------------------------------------------------
obs_check "--pod x/a: x/a on either side" \
	'length > 0 and (flows | all(.[]; pod("source") == "x/a" or pod("destination") == "x/a"))' \
	--all --pod x/a
obs_check "--pod x/a: both directions present" \
	'(flows | any(.[]; pod("source") == "x/a")) and (flows | any(.[]; pod("destination") == "x/a"))' \
	--all --pod x/a
obs_check "--pod a (no namespace means default): nothing" 'length == 0' --all --pod a
obs_check "--pod /a (any namespace)" 'length > 0 and (flows | all(.[]; pod("source") == "x/a" or pod("destination") == "x/a"))' \
	--all --pod /a
obs_check "--from-pod x/b --to-port 80" \
	'length > 0 and (flows | all(.[]; pod("source") == "x/b" and .l4.TCP.destination_port == 80))' \
	--all --from-pod x/b --to-port 80
obs_check "--namespace x (either side)" \
	'length > 0 and (flows | all(.[]; .source.namespace == "x" or .destination.namespace == "x"))' \
	--all -n x
obs_check "--namespace y: no traffic yet" 'length == 0' --all --namespace y
obs_check "--to-namespace x --from-namespace x" \
	'length > 0 and (flows | all(.[]; .source.namespace == "x" and .destination.namespace == "x"))' \
	--all --from-namespace x --to-namespace x
obs_check "--label app=client (either side)" \
	'length > 0 and (flows | all(.[]; ((.source.labels // []) + (.destination.labels // [])) | index("k8s:app=client") != null))' \
	--all --label app=client
obs_check "--from-label 'k8s:app in (web,client)' --to-label reserved:world" \
	'length > 0 and (flows | all(.[]; .destination.labels == ["reserved:world"]))' \
	--all --from-label 'k8s:app in (web,client)' --to-label reserved:world
obs_check "--to-label '!app': only destinations without an app label (ext1)" \
	'length > 0 and (flows | all(.[]; (.destination.labels // []) | map(select(startswith("k8s:app="))) | length == 0))' \
	--all --to-label '!app'
obs_check "--ip 192.0.2.10 (either side)" \
	'length > 0 and (flows | all(.[]; .IP.source == "192.0.2.10" or .IP.destination == "192.0.2.10"))' \
	--all --ip 192.0.2.10
obs_check "--to-ip 10.1.0.0/24 (CIDR)" \
	'length > 0 and (flows | all(.[]; .IP.destination | startswith("10.1.0.")))' \
	--all --to-ip 10.1.0.0/24
obs_check "--identity world" \
	'length > 0 and (flows | all(.[]; .source.identity == 2 or .destination.identity == 2))' \
	--all --identity world
obs_check "--protocol icmp" 'length > 0 and (flows | all(.[]; .l4 | has("ICMPv4")))' --all --protocol icmp
obs_check "--protocol tcp" 'length > 0 and (flows | all(.[]; .l4 | has("TCP")))' --all --protocol tcp
obs_check "--type trace:to-endpoint" \
	'length > 0 and (flows | all(.[]; .event_type.type == 4 and .trace_observation_point == "TO_ENDPOINT"))' \
	--all --type trace:to-endpoint
obs_check "--traffic-direction ingress" 'length > 0 and (flows | all(.[]; .traffic_direction == "INGRESS"))' \
	--all --traffic-direction ingress
obs_check "--tcp-flags syn,ack" 'length > 0 and (flows | all(.[]; .l4.TCP.flags.SYN and .l4.TCP.flags.ACK))' \
	--all --tcp-flags syn,ack
obs_check "--port 80 (either side)" \
	'length > 0 and (flows | all(.[]; .l4.TCP.source_port == 80 or .l4.TCP.destination_port == 80))' \
	--all --port 80
obs_check "--not --protocol tcp" 'length > 0 and (flows | all(.[]; .l4 | has("TCP") | not))' \
	--all --not --protocol tcp
obs_check "--not --pod x/a: x/a on neither side" \
	'length > 0 and (flows | all(.[]; pod("source") != "x/a" and pod("destination") != "x/a"))' \
	--all --not --pod x/a
obs_check "--verdict FORWARDED" 'length > 0 and (flows | all(.[]; .verdict == "FORWARDED"))' --all --verdict FORWARDED
bw_check_fails "--ip and --from-ip conflict" bw observe --ip 10.1.0.1 --from-ip 10.1.0.2
bw_check_fails "a trailing --not is an error" bw observe --verdict DROPPED --not
bw_check_fails "--first with --follow is an error" bw observe --first 2 -f
if bw observe --from-pod x/b --to-port 80 --not --verdict DROPPED --print-raw-filters \
	>"$OUT" 2>&1 && [ "$(cat "$OUT")" = "allowlist:
    - '{\"source_pod\":[\"x/b\"],\"destination_port\":[\"80\"]}'
denylist:
    - '{\"verdict\":[\"DROPPED\"]}'" ]; then
	bw_pass "--print-raw-filters prints hubble's YAML"
else
	bw_fail "--print-raw-filters prints hubble's YAML"
	sed 's/^/#   | /' "$OUT"
fi

# ---- workloads ----------------------------------------------------------------
WEB=web-7d4b9c8f6-lm5vz
bw_pod_add x "$WEB" 10.1.0.3 app=shop || bw_die "endpoint add x/$WEB"
bw_pod_add x e 10.1.0.4 app=batch --workload=StatefulSet/store || bw_die "endpoint add x/e"
bw_server_tcp "x/$WEB" 8080

# ep_json NS/POD JQ : the endpoint in `endpoint list -o json` satisfies JQ.
ep_json() {
	bw endpoint list -o json >"$BW_TMP/eps.json" 2>&1 &&
		jq -e --arg ns "${1%%/*}" --arg pod "${1#*/}" \
			"(.endpoints[] | select(.namespace == \$ns and .pod == \$pod)) | $2" \
			"$BW_TMP/eps.json" >/dev/null
}
bw_check "endpoint list -o json: x/e has the given workload" \
	ep_json x/e '.workload == {"name": "store", "kind": "StatefulSet"} and .workload_derived == false'
bw_check "endpoint list -o json: x/$WEB has Deployment web, from its name" \
	ep_json "x/$WEB" '.workload == {"name": "web", "kind": "Deployment"} and .workload_derived == true'
bw_check "endpoint list -o json: x/a has no workload" ep_json x/a 'has("workload") | not'
bw_expect_output "endpoint list shows the workloads" "x/e .* app=batch +StatefulSet/store" \
	bw endpoint list
bw_expect_output "endpoint get shows a derived workload" \
	'^Workload: +Deployment/web \(from the pod name\)$' bw endpoint get "x/$WEB"
bw_check_fails "endpoint add --workload without a kind is refused" \
	bw endpoint add x/f --host-ifname lo --ip 10.1.0.9 --workload web
if out=$(bw endpoint update x/e --workload 'no such/store' 2>&1); then
	bw_fail "the daemon refuses a bad workload kind (the update succeeded)"
elif printf '%s\n' "$out" | grep -q 'workload: kind "no such" is not a Kubernetes kind'; then
	bw_pass "the daemon refuses a bad workload kind, naming it"
else
	bw_fail "the daemon refuses a bad workload kind, naming it"
	printf '%s\n' "$out" | sed 's/^/#   | /'
fi

bw_expect_ok "workloads: x/e -> x/$WEB:8080" bw_probe_tcp x/e "x/$WEB" 8080
bw_wait_for 5 obs_true 'length > 0' --all --from-pod x/e --to-port 8080 ||
	bw_fail "flows of x/e -> x/$WEB show up"
obs_check "flows carry both sides' workloads (Hubble's workloads list)" '
	flows | length > 0 and all(.[];
		.source.workloads == [{"name": "store", "kind": "StatefulSet"}] and
		.destination.workloads == [{"name": "web", "kind": "Deployment"}] and
		pod("destination") == "x/'"$WEB"'")' \
	--all --from-pod x/e --to-port 8080
obs_check "a pod without a workload has no workloads field" \
	'length > 0 and (flows | all(.[]; (.source | has("workloads") | not) and (.destination | has("workloads") | not)))' \
	--all --from-pod x/b --to-pod x/a
obs_check "--workload web (either side)" '
	length > 0 and (flows | all(.[]; ((.source.workloads // []) + (.destination.workloads // [])) |
		any(.name == "web"))) and
	(flows | any(.[]; .source.workloads[0].name == "web")) and
	(flows | any(.[]; .destination.workloads[0].name == "web"))' --all --workload web
obs_check "--from-workload StatefulSet/store --to-workload Deployment/web" '
	length > 0 and (flows | all(.[]; .source.workloads[0] == {"name": "store", "kind": "StatefulSet"} and
		.destination.workloads[0] == {"name": "web", "kind": "Deployment"}))' \
	--all --from-workload StatefulSet/store --to-workload Deployment/web
obs_check "--to-workload store: the replies towards x/e" '
	length > 0 and (flows | all(.[]; pod("destination") == "x/e" and .is_reply == true))' \
	--all --to-workload store
obs_check "--workload Deployment/ (any Deployment)" '
	length > 0 and (flows | all(.[]; pod("source") == "x/'"$WEB"'" or pod("destination") == "x/'"$WEB"'"))' \
	--all --workload Deployment/
obs_check "--to-workload DaemonSet/web: kinds must match" 'length == 0' --all --to-workload DaemonSet/web
obs_check "--not --workload web" '
	length > 0 and (flows | all(.[]; pod("source") != "x/'"$WEB"'" and pod("destination") != "x/'"$WEB"'"))' \
	--all --not --workload web
bw_check_fails "--workload and --from-workload conflict" bw observe --workload a --from-workload b
if bw observe --from-workload Deployment/web --to-workload db --print-raw-filters >"$OUT" 2>&1 &&
	[ "$(cat "$OUT")" = "allowlist:
    - '{\"source_workload\":[{\"name\":\"web\",\"kind\":\"Deployment\"}],\"destination_workload\":[{\"name\":\"db\"}]}'" ]; then
	bw_pass "--print-raw-filters: workloads as hubble's Workload messages"
else
	bw_fail "--print-raw-filters: workloads as hubble's Workload messages"
	sed 's/^/#   | /' "$OUT"
fi
obs_text_check "compact output is unchanged by workloads" \
	"^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:.]+: x/e:[0-9]+ \\(ID:[0-9]+\\) -> x/$WEB:8080 \\(ID:[0-9]+\\) (to|from)-endpoint FORWARDED \\(TCP Flags: SYN\\)\$" \
	--all --from-pod x/e --to-port 8080

bw_check "endpoint update x/e --workload Deployment/batch" \
	bw endpoint update x/e --workload Deployment/batch
bw_check "an update with only --workload keeps the labels" \
	ep_json x/e '.workload == {"name": "batch", "kind": "Deployment"} and .labels == {"app": "batch"}'
bw_expect_ok "workloads: x/e -> x/$WEB:8080 again" bw_probe_tcp x/e "x/$WEB" 8080
bw_wait_for 5 obs_true 'length > 0' --all --from-workload Deployment/batch ||
	bw_fail "flows of the re-labelled workload show up"
obs_check "new flows carry the updated workload" \
	'length > 0 and (flows | all(.[]; pod("source") == "x/e"))' --all --from-workload Deployment/batch
bw_check "endpoint update x/e --workload none" bw endpoint update x/e --workload none
bw_check "... forgets it (x/e's name implies none)" ep_json x/e 'has("workload") | not'
bw_check "endpoint update x/e --workload StatefulSet/store" \
	bw endpoint update x/e --workload StatefulSet/store

# ---- the API itself -------------------------------------------------------------
# api_get QUERY [BODY] : GET /v1/flows?QUERY on the socket; prints "STATUS BODY".
api_get() {
	local args=(-s -o "$BW_TMP/api.out" -w '%{http_code}' --unix-socket "$BW_SOCK")
	[ -n "${2:-}" ] && args+=(-X GET -H 'Content-Type: application/json' --data "$2")
	printf '%s ' "$(curl "${args[@]}" "http://bulwark/v1/flows?$1")"
	cat "$BW_TMP/api.out"
}
bw_require_tool curl curl
bw_expect_output "API: a bad number is a 400 naming it" '^400 .*number' \
	api_get 'number=abc'
bw_expect_output "API: an unknown FlowFilter field is a 400 naming it" \
	'^400 .*whitelist\[0\]: unsupported FlowFilter field .cel_expression' \
	api_get 'whitelist=%5B%7B%22cel_expression%22%3A%5B%22true%22%5D%7D%5D'
bw_expect_output "API: first with follow is a 400" '^400 .*first cannot be combined with follow' \
	api_get 'first=true&follow=true'
bw_expect_output "API: a JSON body GetFlowsRequest (number 2, whitelist)" \
	'^200 \{"flow":\{.*"verdict":"FORWARDED",.*"l4":\{"ICMPv4":' \
	api_get '' '{"number": 2, "whitelist": [{"verdict": ["FORWARDED"], "protocol": ["icmp"]}]}'
if api_get '' '{"number": 2, "whitelist": [{"protocol": ["tcp"]}]}' >/dev/null &&
	jq -es 'length == 2 and all(.[]; .flow.l4 | has("TCP"))' "$BW_TMP/api.out" >/dev/null; then
	bw_pass "API: the body's number and filters apply"
else
	bw_fail "API: the body's number and filters apply"
	sed 's/^/#   | /' "$BW_TMP/api.out" | head
fi

# ---- output formats -----------------------------------------------------------
obs_text_check "compact: hubble's line" \
	'^[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}: x/b:[0-9]+ \(ID:[0-9]+\) -> x/a:80 \(ID:[0-9]+\) (to|from)-endpoint FORWARDED \(TCP Flags: SYN\)$' \
	--all --from-pod x/b --to-port 80
obs_text_check "compact: world peer shown as (world)" \
	'x/b \(ID:[0-9]+\) -> 192\.0\.2\.10 \(world\) from-endpoint FORWARDED \(ICMPv4 EchoRequest\)' \
	--all --to-ip 192.0.2.10
obs_text_check "compact: a reply is printed with <-" 'x/b:[0-9]+ \(ID:[0-9]+\) <- x/a:80' \
	--all --from-pod x/a --tcp-flags syn,ack
obs_text_check "table: hubble's columns" '^TIMESTAMP +SOURCE +DESTINATION +TYPE +VERDICT +SUMMARY' -o table --last 5
obs_text_check "dict: hubble's fields" '^DESTINATION: +x/a:80 \(ID:[0-9]+\)$' -o dict --all --from-pod x/b --to-port 80
bw_check_fails "-o table with --follow is refused" bw observe -o table -f

# ---- policy attribution -------------------------------------------------------
bw_policy_import_text allow-client <<'EOF' || bw_fail "import allow-client"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: allow-client
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      app: web
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: client
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
EOF
bw_expect_ok "allow-client: x/b -> x/a:80" bw_probe_tcp x/b x/a 80
bw_expect_blocked "allow-client: y/c -> x/a:80 (default deny)" bw_probe_tcp y/c x/a 80

bw_wait_for 5 obs_true 'length > 0' --all --type policy-verdict --from-pod y/c ||
	bw_fail "a policy verdict for y/c -> x/a shows up"

obs_check "allowed verdict names allow-client (L3-L4)" '
	flows | length > 0 and all(.[];
		.verdict == "FORWARDED" and .policy_match_type == 2 and
		.traffic_direction == "INGRESS" and .is_reply == false and
		.event_type == {"type": 5} and
		(.ingress_allowed_by | length == 1) and
		.ingress_allowed_by[0].name == "allow-client" and
		.ingress_allowed_by[0].namespace == "x" and
		.ingress_allowed_by[0].kind == "CiliumNetworkPolicy" and
		(.ingress_allowed_by[0].revision | test("^[0-9]+$")) and
		(has("egress_allowed_by") | not))' \
	--all --type policy-verdict --from-pod x/b --to-pod x/a

obs_check "default-deny verdict: DROPPED, POLICY_DENIED, no match type" '
	flows | length > 0 and all(.[];
		.verdict == "DROPPED" and .drop_reason == 133 and
		.drop_reason_desc == "POLICY_DENIED" and
		(has("is_reply") | not) and (has("policy_match_type") | not) and
		(has("ingress_denied_by") | not) and (has("ingress_allowed_by") | not))' \
	--all --type policy-verdict --from-pod y/c --to-pod x/a

obs_check "default-deny verdict names the isolating policy (extensions.isolated_by)" '
	flows | length > 0 and all(.[];
		.extensions["@type"] == "bulwark.io/FlowExtensions" and
		(.extensions.isolated_by | map(.name) | index("allow-client")) != null and
		(.extensions.isolated_by[0].kind == "CiliumNetworkPolicy"))' \
	--all --type policy-verdict --from-pod y/c --to-pod x/a

obs_check "the drop event: type 1 sub_type 133" '
	flows | length > 0 and all(.[];
		.event_type == {"type": 1, "sub_type": 133} and .verdict == "DROPPED" and
		.drop_reason_desc == "POLICY_DENIED" and .traffic_direction == "INGRESS")' \
	--all --type drop --from-pod y/c
obs_check "--verdict DROPPED selects only drops" \
	'length > 0 and (flows | all(.[]; .verdict == "DROPPED"))' --all --verdict DROPPED
obs_check "--namespace y now has flows" 'length > 0' --all --namespace y
obs_text_check "compact: policy-verdict:L3-L4 INGRESS ALLOWED" \
	'x/b:[0-9]+ \(ID:[0-9]+\) -> x/a:80 \(ID:[0-9]+\) policy-verdict:L3-L4 INGRESS ALLOWED \(TCP Flags: SYN\)' \
	--all --type policy-verdict
obs_text_check "compact: policy-verdict:none INGRESS DENIED" \
	'y/c:[0-9]+ \(ID:[0-9]+\) <> x/a:80 \(ID:[0-9]+\) policy-verdict:none INGRESS DENIED' \
	--all --type policy-verdict
obs_text_check "compact: the drop shows Cilium's drop string" \
	'y/c:[0-9]+ \(ID:[0-9]+\) <> x/a:80 \(ID:[0-9]+\) Policy denied DROPPED' \
	--all --type drop

bw_policy_import_text deny-y <<'EOF' || bw_fail "import deny-y"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: deny-y
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      app: web
  ingressDeny:
  - fromEndpoints:
    - matchLabels:
        k8s:io.kubernetes.pod.namespace: y
EOF
bw_expect_blocked "deny-y: y/c -> x/a:80" bw_probe_tcp y/c x/a 80
bw_wait_for 5 obs_true 'length > 0' --all --drop-reason-desc POLICY_DENY ||
	bw_fail "a POLICY_DENY drop shows up"
obs_check "explicit deny names deny-y (ingress_denied_by, 181)" '
	flows | length > 0 and all(.[];
		.verdict == "DROPPED" and .drop_reason == 181 and
		.drop_reason_desc == "POLICY_DENY" and
		.ingress_denied_by[0].name == "deny-y" and
		.ingress_denied_by[0].namespace == "x" and
		(.extensions.isolated_by == null))' \
	--all --type policy-verdict --drop-reason-desc POLICY_DENY
bw_check "policy delete x/deny-y" bw policy delete x/deny-y

# ---- follow -------------------------------------------------------------------
FOLLOW="$BW_TMP/follow.json"
"$BULWARK" -s "$BW_SOCK" observe -f -o json --to-pod x/a --type policy-verdict \
	>"$FOLLOW" 2>&1 &
follow_pid=$!
BW_PIDS+=("$follow_pid")
sleep 0.5
bw_expect_ok "follow: x/b -> x/a:80 again" bw_probe_tcp x/b x/a 80
bw_probe_tcp x/b ext1 80 >/dev/null 2>&1
follow_got() {
	jq -es "$JQ_DEFS"' flows | any(.[]; pod("source") == "x/b" and .verdict == "FORWARDED")' \
		"$FOLLOW" >/dev/null 2>&1
}
if bw_wait_for 5 follow_got; then
	bw_pass "--follow streams the new verdict"
else
	bw_fail "--follow streams the new verdict"
	sed 's/^/#   | /' "$FOLLOW" | head -10
fi
kill "$follow_pid" 2>/dev/null
wait "$follow_pid" 2>/dev/null
if jq -es "$JQ_DEFS"' flows | length > 0 and all(.[]; pod("destination") == "x/a" and .event_type.type == 5)' \
	"$FOLLOW" >/dev/null 2>&1; then
	bw_pass "--follow applies its filters (only verdicts towards x/a)"
else
	bw_fail "--follow applies its filters (only verdicts towards x/a)"
	sed 's/^/#   | /' "$FOLLOW" | head -10
fi

# ---- status -------------------------------------------------------------------
if bw status -o json >"$OUT" 2>&1 &&
	jq -e '.flows.capacity == 4096 and .flows.flows > 0 and .flows.stored > 0 and
		(.flows.lost_datapath | type) == "number"' "$OUT" >/dev/null; then
	bw_pass "status shows the flow pipeline's counters"
else
	bw_fail "status shows the flow pipeline's counters"
	sed 's/^/#   | /' "$OUT" | head -40
fi

# ---- audit mode ---------------------------------------------------------------
bw_check "endpoint update x/a --audit on" bw endpoint update x/a --label app=web --audit on
bw_expect_ok "audit: y/c -> x/a:80 passes" bw_probe_tcp y/c x/a 80
bw_wait_for 5 obs_true 'length > 0' --all --verdict AUDIT ||
	bw_fail "an AUDIT verdict shows up"
obs_check "audit: AUDIT verdict, is_reply false, isolating policy named" '
	flows | length > 0 and all(.[];
		.event_type.type == 5 and .verdict == "AUDIT" and .is_reply == false and
		(has("drop_reason") | not) and
		(.extensions.isolated_by | map(.name) | index("allow-client")) != null)' \
	--all --verdict AUDIT --from-pod y/c
obs_text_check "compact: AUDITED" 'policy-verdict:none INGRESS AUDITED' --all --verdict AUDIT

# ---- restart: workloads kept; ICMP codes (every packet traced) ------------------
bw_restart_daemon -o flows.monitor_aggregation=none
bw_check "after a restart: the given workload is kept" \
	ep_json x/e '.workload == {"name": "store", "kind": "StatefulSet"} and .workload_derived == false'
bw_check "after a restart: the derived workload is there" \
	ep_json "x/$WEB" '.workload == {"name": "web", "kind": "Deployment"} and .workload_derived == true'
if jq -e '.endpoints[] | select(.pod == "e") | .workload == {"kind": "StatefulSet", "name": "store"}' \
	"$BW_STATE/endpoints.json" >/dev/null 2>&1 &&
	jq -e '.endpoints[] | select(.pod == "'"$WEB"'") | has("workload") | not' \
		"$BW_STATE/endpoints.json" >/dev/null 2>&1; then
	bw_pass "endpoints.json keeps only given workloads"
else
	bw_fail "endpoints.json keeps only given workloads"
	sed 's/^/#   | /' "$BW_STATE/endpoints.json" | head -30
fi
bw_expect_ok "after a restart: x/e -> x/$WEB:8080" bw_probe_tcp x/e "x/$WEB" 8080
bw_wait_for 5 obs_true 'length > 0' --all --from-workload StatefulSet/store ||
	bw_fail "after a restart: flows carry the restored workload"
obs_check "aggregation none: the SYN x/e -> x/$WEB is traced on both sides" '
	flows | map(select(.l4.TCP.destination_port == 8080 and .l4.TCP.flags.SYN and
			   (.l4.TCP.flags.ACK | not) and pod("source") == "x/e")) |
	(map(select(.trace_observation_point == "FROM_ENDPOINT")) | length > 0 and all(.[];
		.event_type == {"type": 4, "sub_type": 5} and .traffic_direction == "EGRESS" and
		.source.ID > 0 and (.source.labels == (.source.labels | sort)) and
		(.interface.index > 0))) and
	(map(select(.trace_observation_point == "TO_ENDPOINT")) | length > 0 and all(.[];
		.event_type == {"type": 4} and .traffic_direction == "INGRESS" and
		.destination.ID > 0))' --all

bw_check "UDP x/b -> ext1:9 (closed) is refused: ICMP port unreachable" \
	bw_probe_udp_refused x/b ext1 9
bw_wait_for 5 obs_true '(flows | map(select(.l4.ICMPv4.type == 3)) | length) > 0' \
	--all --protocol icmp --to-pod x/b ||
	bw_fail "the port unreachable towards x/b shows up"
obs_check "ICMP port unreachable: type 3, code 3, RELATED, gopacket's summary" '
	flows | map(select(.l4.ICMPv4.type == 3)) | length > 0 and all(.[];
		.l4.ICMPv4 == {"type": 3, "code": 3} and .IP.source == "192.0.2.10" and
		pod("destination") == "x/b" and .trace_reason == "RELATED" and
		.Summary == "ICMPv4 DestinationUnreachable(Port)")' \
	--all --protocol icmp --to-pod x/b
obs_text_check "compact: the ICMP error with its code" \
	'192\.0\.2\.10 \(world\) -> x/b \(ID:[0-9]+\) to-endpoint FORWARDED \(ICMPv4 DestinationUnreachable\(Port\)\)' \
	--all --protocol icmp --to-pod x/b
bw_expect_ok "ping x/b -> ext1" bw_probe_icmp x/b ext1
bw_wait_for 5 obs_true '(flows | map(select(.l4.ICMPv4.type == 8)) | length) > 0' \
	--all --protocol icmp --from-pod x/b ||
	bw_fail "the echo request shows up"
obs_check "echo request and reply: code 0 is left out" '
	(flows | map(select(.l4.ICMPv4.type == 8)) | length > 0) and
	(flows | map(select(.l4.ICMPv4.type != 3)) | all(.[]; .l4.ICMPv4 | has("code") | not)) and
	(flows | map(select(.l4.ICMPv4.type == 8)) | all(.[]; .Summary == "ICMPv4 EchoRequest"))' \
	--all --protocol icmp --ip 192.0.2.10

bw_finish
