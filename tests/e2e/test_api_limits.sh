#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_api_limits.sh - the control socket and the metrics port
# against clients that do not behave (lib/httpguard.c):
#  - a slow client trickling a request byte by byte is closed once its
#    request deadline (daemon.api_request_timeout) passes;
#  - at daemon.api_max_connections the socket stops accepting, and answers
#    again as soon as the idle connections are closed;
#  - evhttp's own refusals (a malformed request, a body over the limit) are
#    JSON like every other answer, and a CONNECT gets a JSON refusal and
#    the connection is closed;
#  - out of file descriptors (the daemon's limit lowered with prlimit), it
#    neither spins nor floods its log, a policy.dir change made meanwhile is
#    applied once it recovers, and the API answers again;
#  - the metrics port drops a slow client too.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_require_tool jq jq
bw_require_tool prlimit util-linux
bw_init
bw_start_daemon -o daemon.api_max_connections=8 -o daemon.api_request_timeout=2s

bw namespace set x || bw_die "namespace set x"
bw_pod_add x a 10.9.0.1 app=a || bw_die "endpoint add x/a"
bw_pod_add x b 10.9.0.2 app=b || bw_die "endpoint add x/b"
bw_server_tcp x/a 80

api_stat() { bw status -o json | jq -r ".api.$1"; }

# raw_http SOCKET|HOST:PORT PYTHON-ACTION : a client doing odd things; prints
# what the daemon answered (or "CLOSED after N s" when it closed first).
CLIENT='
import socket, sys, time
target, mode = sys.argv[1], sys.argv[2]
if target.startswith("/"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(target)
else:
    h, p = target.rsplit(":", 1); s = socket.create_connection((h, int(p)))
def read_all():
    s.settimeout(10)
    out = b""
    while True:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        out += d
    return out.decode(errors="replace")
if mode == "slow":
    # one byte a second, far slower than the deadline; never finishes
    req = b"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 60
    t0 = time.time()
    for b in req:
        try:
            s.send(bytes([b]))
        except OSError:
            print("CLOSED after %d s" % (time.time() - t0)); sys.exit(0)
        s.settimeout(1)
        try:
            if s.recv(1) == b"":
                print("CLOSED after %d s" % (time.time() - t0)); sys.exit(0)
        except socket.timeout:
            pass
        except OSError:
            print("CLOSED after %d s" % (time.time() - t0)); sys.exit(0)
    print("STILL OPEN after %d s" % (time.time() - t0))
elif mode == "garbage":
    s.sendall(b"THIS IS NOT HTTP\r\n\r\n"); print(read_all())
elif mode == "big":
    s.sendall(b"POST /v1/policies HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n")
    print(read_all())
elif mode == "connect":
    s.sendall(b"CONNECT 192.0.2.1:443 HTTP/1.1\r\nHost: 192.0.2.1:443\r\n\r\n")
    print(read_all()); print("CONNECTION-CLOSED")
'
raw_http() { bw_nsx "$BW_NODE" python3 -c "$CLIENT" "$@"; }

# ---- a slow client is dropped at its deadline ----------------------------------
out=$(raw_http "$BW_SOCK" slow)
if [[ $out == CLOSED* ]]; then
	bw_pass "a client trickling its request is closed ($out)"
else
	bw_fail "a client trickling its request should be closed: $out"
fi
bw_check "status counts it (api.timed_out)" test "$(api_stat timed_out)" -ge 1

# ---- evhttp's own refusals are JSON -------------------------------------------------
out=$(raw_http "$BW_SOCK" garbage)
if printf '%s' "$out" | grep -q '^HTTP/1.1 400' &&
   printf '%s' "$out" | grep -qi '^Content-Type: application/json' &&
   printf '%s' "$out" | tail -n 1 | jq -e '.error | test("400")' >/dev/null; then
	bw_pass "a malformed request gets a JSON 400"
else
	bw_fail "a malformed request should get a JSON 400: $out"
fi
out=$(raw_http "$BW_SOCK" big)
if printf '%s' "$out" | grep -q '^HTTP/1.1 413' &&
   printf '%s' "$out" | tail -n 1 | jq -e '.error | test("too large")' >/dev/null; then
	bw_pass "a body over the limit gets a JSON 413"
else
	bw_fail "a body over the limit should get a JSON 413: $out"
fi
out=$(raw_http "$BW_SOCK" connect)
if printf '%s' "$out" | grep -q '^HTTP/1.1 405' &&
   printf '%s' "$out" | grep -q '"error": *"method CONNECT is not allowed' &&
   printf '%s' "$out" | grep -q 'CONNECTION-CLOSED'; then
	bw_pass "CONNECT gets a JSON 405 and the connection is closed"
else
	bw_fail "CONNECT should get a JSON 405 and a closed connection: $out"
fi

# ---- the connection cap -----------------------------------------------------------
# 20 idle connections (the cap is 8): the daemon takes 8, the rest wait;
# idle ones are closed at the deadline, and the API answers meanwhile or soon.
HOLD='
import socket, sys, time
socks = []
for i in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect(sys.argv[1])
    except (BlockingIOError, OSError):
        pass
    socks.append(s)
time.sleep(float(sys.argv[3]))
'
bw_nsx "$BW_NODE" python3 -c "$HOLD" "$BW_SOCK" 20 8 &
holder=$!
BW_PIDS+=("$holder")
cap_reached() { grep -q "api: 8 connections open, the most it takes" "$BW_DAEMON_LOG"; }
if bw_wait_for 10 cap_reached; then
	bw_pass "at 8 connections the control socket stops accepting (logged)"
else
	bw_fail "the cap of 8 connections was not reached or not logged"
fi
bw_expect_output "while they are held, the API answers again once idle ones are closed" \
	'^ready: +yes' bw status --wait 20
wait "$holder" 2>/dev/null
bw_check "status counts connections closed at their deadline" test "$(api_stat timed_out)" -ge 8

# ---- out of file descriptors ----------------------------------------------------------
pid=$BW_DAEMON_PID
lines_before=$(wc -l <"$BW_DAEMON_LOG")
# the lowest free descriptor number: with the limit there, no new one can be had.
# The guard closes a finished connection's socket at its next sweep (every
# 250 ms): measure once the descriptors have settled.
fd_lowest() { ls /proc/"$pid"/fd | sort -n | awk 'BEGIN { n = 0 } $1 == n { n++ } END { print n }'; }
fds_settled() {
	local a b
	a=$(ls /proc/"$pid"/fd | sort -n | tr '\n' ' ')
	sleep 0.6
	b=$(ls /proc/"$pid"/fd | sort -n | tr '\n' ' ')
	[ "$a" = "$b" ]
}
bw_wait_for 10 fds_settled || bw_die "the daemon's descriptors do not settle"
lowest=$(fd_lowest)
old_limit=$(prlimit --pid "$pid" --nofile --output SOFT --noheadings | tr -d ' ')
prlimit --pid "$pid" --nofile="$lowest:" || bw_die "prlimit"
# a client gets nowhere while the daemon cannot accept
bw_check_fails "out of descriptors: the API cannot take a connection" \
	timeout 5 "$BULWARK" -s "$BW_SOCK" status --wait 1
emfile_logged() { grep -q "api: cannot accept connections: Too many open files; pausing" "$BW_DAEMON_LOG"; }
bw_check "it says so once, and pauses" bw_wait_for 10 emfile_logged
# a policy.dir change now cannot be read
cat >"$BW_POLICY_DIR/deny.yaml" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-a, namespace: x}
spec:
  podSelector: {matchLabels: {app: a}}
  policyTypes: [Ingress]
EOF
# more attempts while out of descriptors
for i in 1 2 3 4 5; do
	timeout 2 "$BULWARK" -s "$BW_SOCK" status --wait 1 >/dev/null 2>&1
done
lines=$(($(wc -l <"$BW_DAEMON_LOG") - lines_before))
if [ "$lines" -lt 200 ]; then
	bw_pass "no log flood while out of descriptors ($lines lines)"
else
	bw_fail "the log grew by $lines lines while out of descriptors"
	tail -n 20 "$BW_DAEMON_LOG" | sed 's/^/#   | /'
fi
prlimit --pid "$pid" --nofile="$old_limit:" || bw_die "prlimit back"
bw_expect_output "once descriptors are back, the API answers" '^ready: +yes' bw status --wait 10
deny_loaded() { bw policy list -o json | jq -e 'map(select(.name == "deny-a")) | length == 1' >/dev/null; }
if bw_wait_for 10 deny_loaded; then
	bw_pass "the policy.dir file written meanwhile is applied after the recovery"
else
	bw_fail "deny.yaml was not applied after the recovery"
	bw status | sed 's/^/#   | /'
fi
bw_expect_blocked "deny-a: x/b -> x/a" bw_probe_tcp x/b x/a 80
bw_check "recovery is logged" grep -q "api: accepting connections again" "$BW_DAEMON_LOG"

# ---- the metrics port ------------------------------------------------------------------
if bw_nsx "$BW_NODE" curl -sf -m 5 http://127.0.0.1:9962/metrics >/dev/null; then
	out=$(raw_http 127.0.0.1:9962 slow)
	if [[ $out == CLOSED* ]]; then
		bw_pass "the metrics port closes a client trickling its request ($out)"
	else
		bw_fail "the metrics port should close a slow client: $out"
	fi
else
	bw_fail "the metrics port does not answer"
fi

bw_stop_daemon
bw_finish
