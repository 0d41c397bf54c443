#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_flowstore.sh - the durable flow history (modules/flowstore):
# what happened is queryable at once, with observe's filters and the JSON
# shape docs/adoption.md gives; it survives a restart and a kill -9 without
# losing what was written or damaging the database; retention drops old
# rows; a damaged database is moved aside, an unwritable one makes the
# verbs say that history is unavailable; bad arguments are named.
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bw_init
bw_require_tool sqlite3 sqlite3
bw_require_tool curl curl

RO=$BW_TMP/ro
# the read-only bind mount below is ours: undone before lib.sh's cleanup
trap 'rc=$?; mountpoint -q "$RO" && umount -l "$RO"; (exit $rc); bw_cleanup' EXIT

DB=$BW_STATE/flowstore/flows.db
bw_start_daemon
bw namespace set x >/dev/null
bw namespace set y >/dev/null
bw_pod_add x a 10.1.0.1 app=web >/dev/null || bw_die "endpoint x/a"
bw_pod_add x b 10.1.0.2 app=client >/dev/null || bw_die "endpoint x/b"
bw_pod_add y c 10.2.0.1 app=other >/dev/null || bw_die "endpoint y/c"
bw_server_tcp x/a 80
bw_server_udp x/a 81

status() { curl -s --unix-socket "$BW_SOCK" http://x/v1/flowstore; }
# hist_count ARGS... : the summed count of `bulwark history ARGS -o json`
hist_count() {
	bw history -o json "$@" | python3 -c 'import json,sys; print(sum(f["count"] for f in json.load(sys.stdin)["flows"]))'
}

# count_ge N ARGS... : the history holds at least N connections matching ARGS
count_ge() {
	local n=$1
	shift
	[ "$(hist_count "$@")" -ge "$n" ]
}

# ---- what happened is there at once -------------------------------------------------
for i in 1 2 3; do
	bw_expect_ok "x/b connects to x/a ($i)" bw_probe_tcp x/b x/a 80
done
# ring_count ARGS... : flows in the flow ring matching observe's ARGS
ring_count() { bw observe --all -o json "$@" | grep -c .; }
three() { [ "$(ring_count --from-pod x/b --to-pod x/a --type trace:to-endpoint --tcp-flags SYN)" = 3 ]; }
bw_check "the three connections are in the flow ring" bw_wait_for 5 three
# no waiting from here: the history answers with what the loop has aggregated
H=$BW_TMP/history.json
bw history -o json --from-pod x/client --traffic-direction ingress >"$H" || bw_die "history"
bw_check "history answers at once: x/client -> x/web:80/TCP INGRESS FORWARDED, count 3" python3 - "$H" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
f = d["flows"]
assert len(f) == 1, f
f = f[0]
assert (f["source"], f["destination"], f["port"], f["protocol"], f["direction"],
        f["verdict"], f["policies"], f["count"]) == \
       ("x/client", "x/web", 80, "TCP", "INGRESS", "FORWARDED", [], 3), f
assert sorted(f) == sorted(["source", "destination", "port", "protocol", "direction",
                            "verdict", "policies", "count", "first_seen", "last_seen"]), f
assert f["first_seen"].endswith("Z") and f["first_seen"] <= f["last_seen"], f
EOF
bw_expect_output "history table" '^[0-9-]+ [0-9:]+ +x/client +x/web +80 +TCP +INGRESS +FORWARDED +3 +-$' \
	bw history --from-pod x/client --traffic-direction ingress
bw_check "the egress side of the same connections is recorded too (x/b's egress is not enforced)" \
	test "$(hist_count --from-workload client --traffic-direction egress --to-port 80)" = 3

# a denial, attributed to its policy
bw_policy_import_text deny <<'EOF' >/dev/null || bw_die "policy import"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web-from-client, namespace: x}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
EOF
bw_expect_blocked "y/c's datagram to x/a:81 is dropped" bw_probe_udp y/c x/a 81
bw history -o json --verdict DROPPED >"$H" || bw_die "history --verdict DROPPED"
bw_check "history --verdict DROPPED: y/other -> x/web:81/UDP, by default deny of web-from-client" python3 - "$H" <<'EOF'
import json, sys
f = json.load(open(sys.argv[1]))["flows"]
assert [(x["source"], x["destination"], x["port"], x["protocol"], x["verdict"], x["policies"], x["count"]) for x in f] == \
       [("y/other", "x/web", 81, "UDP", "DROPPED", ["CiliumNetworkPolicy x/web-from-client"], 1)], f
EOF
bw_expect_ok "x/b still connects (allowed by web-from-client)" bw_probe_tcp x/b x/a 80
bw_expect_flow "its policy verdict is in the flow ring" --from-pod x/b --to-pod x/a --type policy-verdict
bw_expect_output "an allowed connection names its policy" \
	'x/client +x/web +80 +TCP +INGRESS +FORWARDED +1 +CiliumNetworkPolicy x/web-from-client' \
	bw history --to-pod x/ --verdict FORWARDED
bw_check "--not --verdict FORWARDED keeps only the denial" \
	test "$(hist_count --not --verdict FORWARDED)" = 1
bw_check "--since 1h includes everything so far" test "$(hist_count --since 1h)" = "$(hist_count)"
bw_check "--limit 1 gives one line" \
	test "$(bw history -o json --limit 1 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["flows"]))')" = 1

# ---- bad arguments are named -------------------------------------------------------------
bw_expect_output "--since with a bad value names it" "--since: 'soon'" \
	sh -c "\"$BULWARK\" -s \"$BW_SOCK\" history --since soon 2>&1; test \$? = 2"
bw_expect_output "--limit with a bad value names it" "--limit: 'many'" \
	sh -c "\"$BULWARK\" -s \"$BW_SOCK\" history --limit many 2>&1; test \$? = 2"
bw_expect_output "--label is refused by name: history keeps workloads, not labels" \
	"--label: the history keeps workloads.*not labels" \
	sh -c "\"$BULWARK\" -s \"$BW_SOCK\" history --label app=web 2>&1; test \$? = 2"
bw_expect_output "--verdict with a bad value names it" "verdict" \
	sh -c "\"$BULWARK\" -s \"$BW_SOCK\" history --verdict MAYBE 2>&1; test \$? = 2"
bw_expect_output "the API refuses a filter field it cannot answer, naming it" \
	'cannot filter on source_label' \
	curl -s --unix-socket "$BW_SOCK" -G --data-urlencode 'whitelist=[{"source_label":["app=web"]}]' http://x/v1/history

# ---- a restart keeps everything -------------------------------------------------------------
before=$(hist_count)
bw_restart_daemon
bw_check "after a restart the history still holds its $before connections" test "$(hist_count)" = "$before"
bw_check "the start after a clean stop is not reported as unclean" \
	sh -c "curl -s --unix-socket '$BW_SOCK' http://x/v1/flowstore | grep -q '\"unclean_start\":false'"

# ---- kill -9: what was written survives, the database is intact ----------------------------
c0=$(hist_count)
for i in 1 2; do
	bw_expect_ok "x/b connects to x/a before the kill ($i)" bw_probe_tcp x/b x/a 80
done
# each connection is two records: x/a's ingress verdict and x/b's
# unchecked egress; asking the history hands them to the writer
before=$((c0 + 4))
written() { [ "$(hist_count)" = "$before" ] && status | grep -q '"queued_batches":0'; }
bw_wait_for 10 written || bw_fail "the history did not reach $before connections before the kill"
kill -KILL "$BW_DAEMON_PID"
wait "$BW_DAEMON_PID" 2>/dev/null
BW_DAEMON_PID=""
bw_check "after kill -9 the database passes SQLite's integrity check" \
	sh -c "test \"\$(sqlite3 '$DB' 'PRAGMA integrity_check')\" = ok"
bw_start_daemon "${BW_DAEMON_OPTS_CUR[@]}"
bw_check "after kill -9 and a start the history holds all $before connections" \
	test "$(hist_count)" = "$before"
bw_check "the start says the previous run did not stop cleanly" \
	bw_wait_for 5 grep -q 'flowstore: the previous run did not close .* cleanly' "$BW_DAEMON_LOG"
bw_check "GET /v1/flowstore: unclean_start true" \
	sh -c "curl -s --unix-socket '$BW_SOCK' http://x/v1/flowstore | grep -q '\"unclean_start\":true'"
bw_check_fails "the database was not moved aside" sh -c "ls '$DB'.bad-* >/dev/null 2>&1"
in_before=$(hist_count --traffic-direction ingress)
bw_expect_ok "x/b connects after the restart" bw_probe_tcp x/b x/a 80
bw_check "and that connection is recorded (at x/a's ingress)" \
	bw_wait_for 5 count_ge "$((in_before + 1))" --traffic-direction ingress
bw_check "... once" test "$(hist_count --traffic-direction ingress)" = "$((in_before + 1))"

# ---- retention drops old rows -----------------------------------------------------------------
bw_restart_daemon -o flowstore.retention=2s -o flowstore.bucket=1s
gone() { [ "$(hist_count)" = 0 ]; }
if bw_wait_for 20 gone; then
	bw_pass "with retention=2s every row older than 2 s is dropped"
else
	bw_fail "retention=2s: the history still holds $(hist_count) connections"
fi
bw_check "GET /v1/flowstore counts the deleted rows" \
	python3 -c 'import json,sys; assert json.loads(sys.argv[1])["deleted_rows"] > 0' "$(status)"
bw_expect_ok "x/b connects after the retention ran" bw_probe_tcp x/b x/a 80
bw_check "a new connection is recorded" bw_wait_for 5 count_ge 1 --from-pod x/client

# ---- a damaged database is moved aside ------------------------------------------------------------
bw_stop_daemon
head -c 8192 /dev/urandom >"$DB"
rm -f "$DB-wal" "$DB-shm"
bw_start_daemon
moved() { grep -q "flowstore: the database $DB was damaged .*: moved it to $DB.bad-" "$BW_DAEMON_LOG"; }
bw_check "a damaged database: the daemon starts and says it moved the file aside" \
	bw_wait_for 5 moved
bw_check "the damaged file is kept next to it" sh -c "ls '$DB'.bad-* >/dev/null"
bw_check "history works on the new database (empty)" test "$(hist_count)" = 0
bw_expect_ok "x/b connects" bw_probe_tcp x/b x/a 80
bw_check "the new database records it" bw_wait_for 5 count_ge 1 --from-pod x/client
bw_stop_daemon

# ---- an unwritable database: history is unavailable, and the verbs say so ----------------------------
mkdir -p "$RO"
mount --bind "$RO" "$RO" && mount -o remount,bind,ro "$RO" || bw_die "read-only bind mount of $RO"
bw_start_daemon -o "flowstore.path=$RO/flows.db"
bw_expect_output "history: says it is unavailable and why" \
	"history is unavailable: .*$RO/flows.db" \
	sh -c "\"$BULWARK\" -s \"$BW_SOCK\" history 2>&1; test \$? = 1"
bw_expect_output "compliance answers, with a warning that denied counts are unknown" \
	"warning: history is unavailable.*denied counts are not known" \
	bw compliance
bw_expect_output "exposure answers, with a warning" "warning: history is unavailable" bw exposure
bw_check "the daemon logged it" bw_wait_for 5 grep -q "flowstore: history is unavailable" "$BW_DAEMON_LOG"
scrape() { bw_nsx "$BW_NODE" curl -s http://127.0.0.1:9962/metrics; }
bw_expect_output "bulwark_flowstore_available 0" '^bulwark_flowstore_available 0$' scrape
bw_stop_daemon
umount "$RO"

bw_finish
