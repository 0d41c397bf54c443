#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# The daemon's life cycle as an operator sees it, in a fresh network
# namespace with its own socket, state, bpffs and policy directories:
# it creates its directories, answers "bulwark status" (also with the
# shipped config and every module), applies a reloadable
# change on SIGHUP, says which changes need a restart, refuses a bad config
# on SIGHUP and keeps running, and exits 0 on SIGTERM and on SIGINT. Its
# systemd notifications (READY, RELOADING, STOPPING) go to a stand-in
# notification socket (notify-recv).
set -u

: "${abs_top_builddir:?run through make check}"
bulwarkd=$abs_top_builddir/bulwarkd
bulwark=$abs_top_builddir/bulwark
notify_recv=$abs_top_builddir/tests/unit/notify-recv

if [ "$(id -u)" -ne 0 ] || ! unshare --net --mount true 2>/dev/null; then
	echo "SKIP: needs root and unshare(1) for a network namespace"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bw-daemon.XXXXXX") || exit 99
pid=
npid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	if [ -n "$npid" ]; then
		kill "$npid" 2>/dev/null
		wait "$npid" 2>/dev/null
	fi
	if mountpoint -q "$tmp/bpf" 2>/dev/null; then
		umount "$tmp/bpf"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail=0
n=0
ok() { n=$((n + 1)); echo "PASS $*"; }
bad() { n=$((n + 1)); fail=$((fail + 1)); echo "FAIL $*"; }

sock=$tmp/run/bulwark.sock
conf=$tmp/bulwark.conf
log=$tmp/bulwarkd.log
notes=$tmp/notify.log

"$notify_recv" "$tmp/notify.sock" "$notes" &
npid=$!

# Wait (at most ~20 s) until file $2 (default: the log) has a line matching $1.
wait_log() {
	i=0
	while [ $i -lt 200 ]; do
		grep -q -- "$1" "${2:-$log}" 2>/dev/null && return 0
		[ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && [ -z "${2:-}" ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# notified STATE: the daemon has sent STATE (e.g. READY=1) since the last reset.
notified() {
	if wait_log "^$1\$" "$notes"; then ok "sd_notify $1"; else bad "no sd_notify $1"; cat "$notes"; fi
}

start() {
	: >"$log"
	: >"$notes"
	# Own network and mount namespaces: a bpffs the datapath mounts on
	# bpffs_dir goes away with the daemon.
	NOTIFY_SOCKET=$tmp/notify.sock unshare --net --mount -- sh -c \
		'ip link set lo up 2>/dev/null; exec "$@"' sh \
		"$bulwarkd" -c "$conf" \
		-o "daemon.socket=$sock" -o "daemon.state_dir=$tmp/state" \
		-o "daemon.bpffs_dir=$tmp/bpf" -o "policy.dir=$tmp/policies" \
		"$@" 2>"$log" &
	pid=$!
	if "$bulwark" -s "$sock" status --wait 20 -o json >"$tmp/status" 2>"$tmp/status.err"; then
		ok "bulwark status answers"
	else
		bad "bulwark status did not answer"
		cat "$tmp/status.err" "$log"
	fi
}

# stop SIGNAL: the daemon must exit 0 and remove its socket.
stop() {
	kill "-$1" "$pid"
	wait "$pid"
	rc=$?
	pid=
	if [ "$rc" -eq 0 ]; then ok "exit 0 on SIG$1"; else bad "exit $rc on SIG$1"; cat "$log"; fi
	notified STOPPING=1
	if [ -e "$sock" ]; then bad "socket left behind after SIG$1"; else ok "socket removed"; fi
}

cat >"$conf" <<EOC
[daemon]
modules =
log_level = info
EOC

start
notified READY=1
grep -q '"ready": *true' "$tmp/status" && ok "status says ready" ||
	{ bad "status is not ready"; cat "$tmp/status"; }
[ -d "$tmp/state" ] && ok "state_dir created" || bad "state_dir not created"
[ -S "$sock" ] && ok "socket created in a new directory" || bad "no socket at $sock"

# A reloadable key changes; a non-reloadable one is reported and kept.
cat >"$conf" <<EOC
[daemon]
modules =
log_level = debug
[flows]
capacity = 32
EOC
: >"$notes"
kill -HUP "$pid"
if wait_log "reload done"; then
	ok "SIGHUP reloads"
else
	bad "SIGHUP: no 'reload done'"; cat "$log"
fi
notified RELOADING=1
notified READY=1
grep -q "daemon.log_level: info -> debug" "$log" && ok "log_level reloaded" ||
	{ bad "log_level change not reported"; cat "$log"; }
grep -q "flows.capacity changed: needs a restart" "$log" && ok "capacity needs a restart" ||
	{ bad "capacity change not reported as needing a restart"; cat "$log"; }

# A bad config is refused as a whole; the daemon keeps serving.
cat >"$conf" <<EOC
[daemon]
log_level = loud
EOC
kill -HUP "$pid"
if wait_log "reload refused, running config kept: $conf:2: \[daemon\] log_level: 'loud' is not one of"; then
	ok "bad config refused on SIGHUP"
else
	bad "bad config on SIGHUP not refused with its file:line"; cat "$log"
fi
"$bulwark" -s "$sock" status >/dev/null 2>&1 && ok "still answers after a refused reload" ||
	bad "no answer after a refused reload"
stop TERM

cat >"$conf" <<EOC
[daemon]
EOC
start
stop INT

# The shipped default config, every module loaded (module_dir: the build tree).
conf=$abs_top_builddir/etc/bulwark.conf
# (the Hubble API's Unix socket goes to the test's directory, not /var/run)
start -o "daemon.module_dir=$abs_top_builddir/modules/.libs" \
	-o "hubble-observer.socket=$tmp/hubble.sock"
nmod=$(sed -n 's/^modules = //p' "$conf" | wc -w)
if grep -Eq "\"loaded\": *$nmod," "$tmp/status" && grep -Eq '"failed": *0' "$tmp/status"; then
	ok "shipped config: $nmod modules loaded, none failed"
else
	bad "shipped config: not every module loaded"; cat "$tmp/status" "$log"
fi
stop TERM

echo "daemon: $n checks, $fail failed"
[ "$fail" -eq 0 ]
