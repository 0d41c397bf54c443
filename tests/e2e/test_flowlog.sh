#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_flowlog.sh - the flowlog module against real traffic.
#
# Three instances run side by side:
#   [flowlog]         every flow (allowlist emptied), absolute path under the test's temp dir
#   [flowlog:denied]  allowlist {"verdict":["DROPPED","ERROR"]} and a field
#                     mask, relative path (lands in the instance's state dir)
#   [flowlog:rot]     max_size 4k, max_backups 2 (rotation)
# and the test asserts what a user of the files sees:
#   - every line is the exact `bulwark observe -o json` line of a flow
#     (byte for byte), one GetFlowsResponse per line, every flow once;
#   - the allowlist keeps only drops, the field mask only its fields;
#   - rotation keeps events.log + .1 .. .N, no file over max_size, no line
#     split, the oldest removed;
#   - a restart between two traffic bursts neither loses nor repeats a line
#     (count = before + new flows, no duplicate uuid, the old lines intact),
#     and a partial last line left by a "crash" is cut at start;
#   - SIGHUP applies a new allowlist and field mask without a restart; a bad
#     value on SIGHUP keeps the running configuration and names the key;
#   - a bad allowlist or field mask is a config error (the module's check
#     hook): `bulwarkd -n` and a start refuse it naming FILE:LINE, the
#     section and the key, required = true or not;
#   - the status route and (when the prometheus module is built) the
#     metrics count the lines written and dropped.
#
# Topology: x/a (app=web, TCP 80), x/b (app=client), y/c (app=other).
# Policy: x/a accepts app=client on TCP 80 only, so y/c -> x/a is dropped.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init
bw_require_tool jq jq
bw_require_tool curl curl

# ---- configuration -------------------------------------------------------------
BASECONF=$(bw_daemon_conf) || bw_die "no bulwark.conf to start from"
CONF=$BW_TMP/bulwark.conf
LOGDIR=$BW_TMP/flowlogs
EV=$LOGDIR/events.log
ROT=$LOGDIR/rot/rot.log
DEN="$BW_STATE/flowlog:denied/denied.log"
MASK='time source.namespace source.pod_name destination.namespace destination.pod_name verdict drop_reason_desc l4'

# write_conf DENIED-SECTION-BODY : the base config with our three instances;
# the body of [flowlog:denied] is the argument.
write_conf() {
	sed -e 's/^modules = \(.*\)$/modules = \1 flowlog:denied flowlog:rot/' \
		"$BASECONF" >"$CONF"
	grep -q '^modules = .*flowlog ' "$CONF" ||
		sed -i 's/^modules = \(.*\)$/modules = \1 flowlog/' "$CONF"
	cat >>"$CONF" <<EOF

[flowlog]
path = $EV
allowlist =

[flowlog:denied]
$1

[flowlog:rot]
path = $ROT
allowlist =
max_size = 4k
max_backups = 2
EOF
}

write_conf "path = denied.log
allowlist = {\"verdict\":[\"DROPPED\",\"ERROR\"]}
field_mask = $MASK"
export BW_CONF=$CONF

# With the prometheus module built, scrape the flowlog metrics too.
PROM_PORT=""
START_OPTS=()
if [ -e "$(bw_module_dir)/prometheus.so" ]; then
	PROM_PORT=$(bw_nsx "$BW_NODE" python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	START_OPTS=(-o "prometheus.listen=127.0.0.1:$PROM_PORT")
	grep -q '^modules = .*prometheus' "$CONF" ||
		sed -i 's/^modules = \(.*\)$/modules = \1 prometheus/' "$CONF"
fi

bw_start_daemon "${START_OPTS[@]}"

bw namespace set x || bw_die "namespace set x"
bw namespace set y || bw_die "namespace set y"
bw_pod_add x a 10.1.0.1 app=web || bw_die "endpoint add x/a"
bw_pod_add x b 10.1.0.2 app=client || bw_die "endpoint add x/b"
bw_pod_add y c 10.2.0.1 app=other || bw_die "endpoint add y/c"
bw_server_tcp x/a 80

bw_policy_import_text allow-client <<'EOF' || bw_die "import allow-client"
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

# ---- helpers ---------------------------------------------------------------------

RING=$BW_TMP/ring.json

# ring_flows [ARGS] : the flows in the daemon's ring, as observe -o json
# prints them (lost_events lines left out), into $RING.
ring_flows() {
	bw observe --all -o json "$@" 2>/dev/null | grep '^{"flow":' >"$RING"
}

# nlines FILE : number of lines (0 when the file is missing).
nlines() {
	if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}
# lines_ge A B / lines_gt FILE N : for bw_wait_for, which runs its command
# anew on each try (a "$(nlines ...)" argument would be counted only once)
lines_ge() { [ "$(nlines "$1")" -ge "$(nlines "$2")" ]; }
lines_gt() { [ "$(nlines "$1")" -gt "$2" ]; }

# Every line of every FILE is a JSON GetFlowsResponse; prints
# "LINES UNIQUE-UUIDS" (uuids counted over all files).
CHECK_PY='import json, sys
n, uuids, bad = 0, set(), []
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        bad.append("%s: last line is not terminated" % path)
    for i, line in enumerate(data.splitlines(), 1):
        n += 1
        try:
            o = json.loads(line)
        except ValueError as e:
            bad.append("%s:%d: not JSON: %s" % (path, i, e))
            continue
        if not isinstance(o, dict) or not isinstance(o.get("flow"), dict) \
           or "time" not in o or "node_name" not in o:
            bad.append("%s:%d: not a GetFlowsResponse" % (path, i))
            continue
        u = o["flow"].get("uuid")
        if u is not None:
            uuids.add(u)
for b in bad[:5]:
    print(b, file=sys.stderr)
print(n, len(uuids))
sys.exit(1 if bad else 0)'

# check_lines FILE... : prints "LINES UNIQUE"; fails if a line is bad.
check_lines() {
	python3 -c "$CHECK_PY" "$@"
}

# settled : every flow of the ring is in events.log (the writer caught up),
# compared as sets of uuids.
settled() {
	ring_flows || return 1
	[ -s "$RING" ] || return 1
	local want have
	want=$(jq -r '.flow.uuid' "$RING" | sort)
	have=$(jq -r '.flow.uuid' "$EV" 2>/dev/null | sort)
	[ "$(comm -23 <(printf '%s\n' "$want") <(printf '%s\n' "$have") | wc -l)" = 0 ]
}

# quiesce : wait until the writer caught up, and again a second later (late
# trace events of the last connections), so that ring and file can be
# compared line for line.
quiesce() {
	bw_wait_for 10 settled || return 1
	sleep 1
	bw_wait_for 10 settled
}

# burst N : N allowed connections x/b -> x/a:80 and one denied y/c -> x/a:80.
burst() {
	local i
	for i in $(seq "$1"); do
		bw_probe_tcp x/b x/a 80 || bw_log "probe $i x/b -> x/a failed"
	done
	bw_probe_tcp y/c x/a 80 && bw_log "y/c -> x/a unexpectedly worked"
	return 0
}

status_of() {
	curl -sS --unix-socket "$BW_SOCK" "http://bulwarkd/v1/flowlog/$1"
}

# ---- first burst -------------------------------------------------------------------
burst 10
quiesce || bw_fail "events.log catches up with the flow ring"

if out=$(check_lines "$EV"); then
	bw_pass "events.log: every line is a JSON GetFlowsResponse ($out)"
else
	bw_fail "events.log: every line is a JSON GetFlowsResponse"
fi
read -r L U <<<"$out"
[ "$L" -gt 20 ] && [ "$L" = "$U" ] &&
	bw_pass "events.log: $L lines, each flow once" ||
	bw_fail "events.log: expected > 20 lines with distinct uuids, got $L lines, $U uuids"

# The file holds exactly what observe -o json prints, in the same order.
ring_flows
if cmp -s "$RING" "$EV"; then
	bw_pass "events.log is byte for byte the observe -o json output"
else
	bw_fail "events.log differs from observe -o json"
	diff "$RING" "$EV" | head -5 | cut -c1-300 | sed 's/^/#   | /'
fi

# [flowlog:denied]: drops only, masked, relative path in the state dir.
bw_wait_for 5 test -s "$DEN" || bw_fail "denied.log is written in the instance's state dir"
if check_lines "$DEN" >/dev/null; then
	bw_pass "denied.log: every line is a JSON GetFlowsResponse"
else
	bw_fail "denied.log: every line is a JSON GetFlowsResponse"
fi
ring_flows --verdict DROPPED
bw_wait_for 5 lines_ge "$DEN" "$RING"
nd=$(nlines "$DEN")
[ "$nd" -gt 0 ] && [ "$nd" = "$(nlines "$RING")" ] &&
	bw_pass "allowlist: denied.log has every DROPPED flow ($nd)" ||
	bw_fail "allowlist: denied.log has $nd lines, the ring $(nlines "$RING") DROPPED flows"
if jq -es --arg mask "$MASK" '
	($mask | split(" ") | map(split(".")[0]) | unique) as $top |
	length > 0 and all(.[];
		.flow.verdict == "DROPPED" and (.time | type) == "string" and
		(.node_name | type) == "string" and
		((.flow | keys) - $top) == [] and
		((.flow.source // {} | keys) - ["namespace", "pod_name"]) == [] and
		((.flow.destination // {} | keys) - ["namespace", "pod_name"]) == []) and
	any(.[]; .flow.source.namespace == "y" and .flow.source.pod_name == "c" and
		.flow.destination.pod_name == "a" and
		.flow.l4.TCP.destination_port == 80 and
		.flow.drop_reason_desc == "POLICY_DENIED")' "$DEN" >/dev/null; then
	bw_pass "field mask: denied.log keeps only the masked fields (y/c -> x/a:80 POLICY_DENIED)"
else
	bw_fail "field mask: denied.log keeps only the masked fields"
	head -3 "$DEN" | sed 's/^/#   | /'
fi

# [flowlog:rot]: max_size 4k, 2 backups.
rot_caught_up() {
	[ -s "$ROT" ] && [ "$(tail -n 1 "$ROT")" = "$(tail -n 1 "$EV")" ]
}
burst 10
quiesce
bw_wait_for 5 rot_caught_up || bw_fail "rot.log catches up with events.log"
bw_wait_for 5 test -f "$ROT.2" || bw_fail "rot.log rotated twice"
if out=$(check_lines "$ROT" "$ROT.1" "$ROT.2"); then
	bw_pass "rotation: every line of rot.log, .1, .2 is whole JSON ($out)"
else
	bw_fail "rotation: every line of rot.log, .1, .2 is whole JSON"
fi
big=$(find "$LOGDIR/rot" -name 'rot.log*' -size +4096c | wc -l)
[ "$big" = 0 ] && bw_pass "rotation: no file over max_size" ||
	bw_fail "rotation: $big file(s) over 4k"
[ ! -e "$ROT.3" ] && bw_pass "rotation: the oldest is removed (no rot.log.3)" ||
	bw_fail "rotation: rot.log.3 exists with max_backups = 2"
# The newest lines are in rot.log, the previous ones in .1, in order.
if [ "$(tail -n 1 "$ROT")" = "$(tail -n 1 "$EV")" ] &&
   [ "$(cat "$ROT.1" "$ROT" | tail -n "$(($(nlines "$ROT.1") + $(nlines "$ROT")))")" = \
     "$(tail -n "$(($(nlines "$ROT.1") + $(nlines "$ROT")))" "$EV")" ]; then
	bw_pass "rotation: rot.log.1 + rot.log are the newest lines, in order"
else
	bw_fail "rotation: rot.log.1 + rot.log are not the newest lines of events.log"
fi
rots=$(status_of flowlog:rot | jq -r '.rotations')
[ "${rots:-0}" -ge 2 ] && bw_pass "status: flowlog:rot counts $rots rotations" ||
	bw_fail "status: flowlog:rot rotations = '$rots'"

# ---- status and metrics ------------------------------------------------------------
st=$(status_of flowlog)
if printf '%s' "$st" | jq -e --argjson n "$(nlines "$EV")" \
	'.lines == $n and .dropped == 0 and .write_errors == 0 and .running' >/dev/null; then
	bw_pass "GET /v1/flowlog/flowlog: lines = the file's lines, 0 dropped"
else
	bw_fail "GET /v1/flowlog/flowlog: $st (file has $(nlines "$EV") lines)"
fi
if [ -n "$PROM_PORT" ]; then
	M=$BW_TMP/metrics.txt
	bw_nsx "$BW_NODE" curl -sS --max-time 10 -o "$M" "http://127.0.0.1:$PROM_PORT/metrics"
	if grep -q '^bulwark_flowlog_dropped_total{instance="flowlog"} 0$' "$M" &&
	   grep -q '^bulwark_flowlog_dropped_total{instance="flowlog:denied"} ' "$M" &&
	   grep -Eq '^bulwark_flowlog_lines_total\{instance="flowlog"\} [1-9]' "$M" &&
	   [ "$(grep -c '^# TYPE bulwark_flowlog_dropped_total counter$' "$M")" = 1 ]; then
		bw_pass "metrics: bulwark_flowlog_{lines,dropped}_total per instance"
	else
		bw_fail "metrics: bulwark_flowlog_* missing"
		grep flowlog "$M" | head -20 | sed 's/^/#   | /'
	fi
	if command -v promtool >/dev/null 2>&1; then
		bw_check "metrics: promtool check metrics" \
			sh -c "promtool check metrics <'$M' >/dev/null 2>&1"
	fi
else
	bw_log "prometheus module not built: metrics not checked"
fi

# ---- restart between bursts ------------------------------------------------------------
quiesce
bw_stop_daemon
cp "$EV" "$BW_TMP/before.log"
L1=$(nlines "$EV")
# A crash in the middle of a write leaves a partial last line.
printf '{"flow":{"time":"2026-11-26T08:00:00Z","uuid":"half' >>"$EV"
bw_start_daemon "${START_OPTS[@]}"
bw_wait_for 5 grep -q 'ended in a partial line' "$BW_DAEMON_LOG" &&
	bw_pass "restart: the partial last line is reported" ||
	bw_fail "restart: no 'partial line' message in the log"
burst 10
quiesce || bw_fail "events.log catches up after the restart"
ring_flows
K=$(nlines "$RING")
L2=$(nlines "$EV")
if out=$(check_lines "$EV"); then
	bw_pass "restart: every line is whole JSON after the repair ($out)"
else
	bw_fail "restart: every line is whole JSON after the repair"
fi
read -r L U <<<"$out"
[ "$L2" = $((L1 + K)) ] && [ "$U" = "$L2" ] &&
	bw_pass "restart: $L2 lines = $L1 before + $K new flows, no duplicate uuid" ||
	bw_fail "restart: $L2 lines ($U uuids), expected $L1 before + $K new"
head -n "$L1" "$EV" | cmp -s - "$BW_TMP/before.log" &&
	bw_pass "restart: the lines written before are intact" ||
	bw_fail "restart: the first $L1 lines changed"
tail -n "$K" "$EV" | cmp -s - "$RING" &&
	bw_pass "restart: the new lines are the new flows, as observe prints them" ||
	bw_fail "restart: the new lines differ from the new flows"

# ---- SIGHUP: new filters and field mask -------------------------------------------------
D0=$(nlines "$DEN")
write_conf "path = denied.log
allowlist = {\"source_pod\":[\"x/b\"]},
  {\"source_pod\":[\"x/nobody\"]}
field_mask = verdict source.pod_name"
kill -HUP "$BW_DAEMON_PID"
bw_wait_for 5 grep -q 'flowlog:denied: reloaded: 2 allow' "$BW_DAEMON_LOG" &&
	bw_pass "SIGHUP: [flowlog:denied] reloads its filters" ||
	bw_fail "SIGHUP: no reload message for [flowlog:denied]"
burst 3
bw_wait_for 10 settled
bw_wait_for 5 lines_gt "$DEN" "$D0"
if tail -n +"$((D0 + 1))" "$DEN" | jq -es 'length > 0 and all(.[];
	(.flow | keys) - ["source", "verdict"] == [] and
	.flow.source == {"pod_name": "b"})' >/dev/null; then
	bw_pass "SIGHUP: new lines follow the new allowlist and field mask"
else
	bw_fail "SIGHUP: new lines do not follow the new config"
	tail -n +"$((D0 + 1))" "$DEN" | head -3 | sed 's/^/#   | /'
fi
bw_check "the daemon still runs after the reload" bw_daemon_alive

# A bad value on SIGHUP: named, and the running config is kept.
D1=$(nlines "$DEN")
write_conf "path = denied.log
allowlist = {\"source_pod\":[\"x/b\"]}
field_mask = verdict sorce.pod_name"
kill -HUP "$BW_DAEMON_PID"
bw_wait_for 5 grep -q "field_mask: 'sorce.pod_name': Flow has no field 'sorce'" "$BW_DAEMON_LOG" &&
	bw_pass "SIGHUP with a bad field_mask: the error names the key and the path" ||
	bw_fail "SIGHUP with a bad field_mask: no error naming field_mask"
burst 2
bw_wait_for 10 settled
bw_wait_for 5 lines_gt "$DEN" "$D1"
tail -n +"$((D1 + 1))" "$DEN" | jq -es 'length > 0 and all(.[];
	.flow.source == {"pod_name": "b"})' >/dev/null &&
	bw_pass "SIGHUP with a bad value keeps the running config" ||
	bw_fail "SIGHUP with a bad value: the running config was not kept"

# ---- bad values at start: config errors ----------------------------------------------
bw_stop_daemon
# run_bulwarkd ARGS... : bulwarkd in the node's namespace with the test's
# paths; output in $out, exit status in $rc.
run_bulwarkd() {
	rc=0
	out=$(timeout 30 ip netns exec "$BW_NODE" "$BULWARKD" -c "$CONF" \
		-o "daemon.socket=$BW_SOCK" -o "daemon.state_dir=$BW_STATE" \
		-o "daemon.bpffs_dir=$BW_BPFFS" -o "policy.dir=$BW_POLICY_DIR" \
		-o "daemon.module_dir=$(bw_module_dir)" \
		-o "hubble-observer.socket=$BW_HUBBLE_SOCK" "${START_OPTS[@]}" "$@" 2>&1) || rc=$?
}

write_conf 'allowlist = {"verdct":["DROPPED"]}'
LINE=$(grep -n '^allowlist = {"verdct"' "$CONF" | cut -d: -f1)
WANT="$CONF:$LINE: [flowlog:denied] allowlist: filter 1: unsupported FlowFilter field 'verdct'"
run_bulwarkd -n
if [ "$rc" = 1 ] && printf '%s\n' "$out" | grep -qxF "bulwarkd: $WANT"; then
	bw_pass "bad allowlist: bulwarkd -n refuses it naming file:line, section and key"
else
	bw_fail "bad allowlist: bulwarkd -n exit $rc"
	printf '%s\n' "$out" | tail -5 | sed 's/^/#   | /'
fi
run_bulwarkd
if [ "$rc" != 0 ] && printf '%s\n' "$out" | grep -qF "$WANT"; then
	bw_pass "bad allowlist: the daemon does not start, naming file:line and key"
else
	bw_fail "bad allowlist: start exit $rc"
	printf '%s\n' "$out" | tail -5 | sed 's/^/#   | /'
fi

write_conf 'required = true
field_mask = time nosuchfield'
run_bulwarkd
if [ "$rc" != 0 ] && printf '%s' "$out" | grep -q "\[flowlog:denied\] field_mask: 'nosuchfield'"; then
	bw_pass "bad field_mask stops the start, naming the key"
else
	bw_fail "bad field_mask: exit $rc"
	printf '%s\n' "$out" | tail -5 | sed 's/^/#   | /'
fi

bw_finish
