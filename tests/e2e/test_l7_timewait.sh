#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# A connection that the L7 proxy took part in leaves TIME_WAIT sockets in
# the node's network namespace for 60 s: on the client side (the proxy
# closed first, "Connection: close": client:port <-> server:80) and on the
# upstream side (the proxy closed its connection to the server first:
# client:port' <-> server:80). Once the port is no longer redirected (the
# L7 rule removed), a new connection that reuses one of those tuples is
# forwarded by the node - and the kernel's TCP early demux would attach the
# TIME_WAIT socket to its packets, which ip_forward then drops. bulwarkd
# turns early demux off in its own network namespace while it runs
# (daemon.early_demux = off, the default; docs/redirect.md "TIME_WAIT and
# early demux") and puts the previous values back when it stops. While
# the rule is still there, a client reusing such a port is handed to the
# proxy at its first SYN (bpf/bw_sklookup.bpf.c) instead of meeting the
# TIME_WAIT socket and retrying a second later.
#
# Checked with real peers (nginx in x/srv, curl in x/cli with --local-port):
# every TIME_WAIT tuple the proxy left, reused right after the L7 rule is
# replaced by an L4 rule, connects and gets its answer; the sysctls are off
# while bulwarkd runs and back when it stops, also after a crash; with
# daemon.early_demux = keep the drop is there (the test can fail).
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

bw_init
bw_require_tool nginx nginx-light
bw_require_tool curl curl
bw_require_tool ss iproute2
BW_CONF=$BW_TMP/bulwark.conf
printf '[daemon]\nmodules = identity-local netpol-cilium http\n' >"$BW_CONF"

demux() { bw_nsx "$BW_NODE" cat /proc/sys/net/ipv4/tcp_early_demux \
	/proc/sys/net/ipv4/udp_early_demux | tr '\n' ' ' | sed 's/ $//'; }
bw_expect_output "a fresh node netns has early demux on (tcp 1, udp 1)" '^1 1$' demux

bw_start_daemon
bw_expect_output "while bulwarkd runs, early demux is off in its netns" '^0 0$' demux
bw_expect_output "the daemon says so in its log" \
	'early demux off in this network namespace' cat "$BW_DAEMON_LOG"

bw_pod_add x srv 10.1.0.1 fd00::1:1 app=web
bw_pod_add x cli 10.1.0.2 fd00::1:2 app=client
SRV=10.1.0.1
SRV6=fd00::1:1
CLI_NS=$(bw_netns_of x/cli)

NGX=$BW_TMP/nginx
mkdir -p "$NGX"
cat >"$NGX/nginx.conf" <<EOF
user root root;
worker_processes 1;
daemon off;
error_log $NGX/error.log;
pid $NGX/nginx.pid;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $NGX/body;
	proxy_temp_path $NGX/proxy;
	fastcgi_temp_path $NGX/fastcgi;
	uwsgi_temp_path $NGX/uwsgi;
	scgi_temp_path $NGX/scgi;
	server {
		listen $SRV:80;
		listen [$SRV6]:80;
		location / { return 200 "ok \$request_uri\n"; }
	}
}
EOF
bw_bg "$(bw_netns_of x/srv)" nginx -p "$NGX" -c "$NGX/nginx.conf"
bw_wait_listen "$(bw_netns_of x/srv)" tcp 80

policy() { # policy l7|l4
	{
		printf '%s\n' 'apiVersion: cilium.io/v2' 'kind: CiliumNetworkPolicy' \
			'metadata: {name: web, namespace: x}' 'spec:' \
			'  endpointSelector: {matchLabels: {app: web}}' '  ingress:' \
			'  - fromEndpoints: [{matchLabels: {app: client}}]' '    toPorts:' \
			'    - ports: [{port: "80", protocol: TCP}]'
		[ "$1" = l4 ] ||
			printf '%s\n' '      rules:' '        http: [{method: GET, path: "/.*"}]'
	} | bw_policy_replace_text "web-$1" >/dev/null
}

# get PORT URL [CURL-ARGS...] : one request from x/cli's local port PORT;
# prints the body (nothing when the connection failed).
get() {
	local port=$1 url=$2
	shift 2
	bw_nsx "$CLI_NS" curl -s --connect-timeout 2 --max-time 4 --local-port "$port" "$@" "$url"
}

# syn_retrans : x/cli's count of retransmitted SYNs (TcpExt TCPSynRetrans)
syn_retrans() {
	bw_nsx "$CLI_NS" cat /proc/net/netstat | awk '
		$1 == "TcpExt:" && !h { for (i = 2; i <= NF; i++) f[i] = $i; h = 1; next }
		$1 == "TcpExt:" && h { for (i = 2; i <= NF; i++) if (f[i] == "TCPSynRetrans") print $i }'
}

# tw_ports FAMILY SIDE : the client ports of the node's TIME_WAIT sockets
# on SIDE "client" (local address = the server: the proxy's accepted
# socket) or "upstream" (local address = the client: the proxy's socket
# towards nginx), one per line.
tw_ports() {
	local fam=$1 side=$2 srv=$SRV cli=10.1.0.2
	[ "$fam" = 6 ] && srv="[$SRV6]" && cli="[fd00::1:2]"
	if [ "$side" = client ]; then
		bw_nsx "$BW_NODE" ss -Htn -"$fam" state time-wait "( sport = :80 )" |
			awk -v s="$srv:80" -v c="$cli" '$3 == s && index($4, c ":") == 1 { sub(/.*:/, "", $4); print $4 }'
	else
		bw_nsx "$BW_NODE" ss -Htn -"$fam" state time-wait "( dport = :80 )" |
			awk -v s="$srv:80" -v c="$cli" '$4 == s && index($3, c ":") == 1 { sub(/.*:/, "", $3); print $3 }'
	fi
}

# round FAMILY BASE : 10 connections through the L7 proxy from ports
# BASE..BASE+9 with "Connection: close" (the proxy closes first) and 10
# from BASE+10..BASE+19 where curl closes first (the proxy then closes
# towards nginx first); then the rule becomes L4-only and every tuple a
# TIME_WAIT socket holds is used again at once.
round() {
	local fam=$1 base=$2 url p n ok tw_c tw_u
	url="http://$SRV/"
	[ "$fam" = 6 ] && url="http://[$SRV6]/"
	policy l7 || bw_die "policy l7 failed"
	bw_expect_verdict "IPv$fam: x/cli -> x/srv:80 is REDIRECTED to the http proxy" \
		REDIRECTED --from x/cli --to x/srv --port 80
	ok=0
	for ((p = base; p < base + 20; p++)); do
		if [ $p -lt $((base + 10)) ]; then
			n=$(get $p "${url}l7-$p" -H 'Connection: close')
		else
			n=$(get $p "${url}l7-$p")
		fi
		[ "$n" = "ok /l7-$p" ] && ok=$((ok + 1))
	done
	if [ $ok = 20 ]; then
		bw_pass "IPv$fam: 20 requests through the L7 proxy from fixed client ports"
	else
		bw_fail "IPv$fam: only $ok of 20 requests through the L7 proxy got their answer"
	fi
	# the proxy's sockets reach TIME_WAIT when their close completes
	tw_c=$(tw_ports "$fam" client | sort -u)
	tw_u=$(tw_ports "$fam" upstream | sort -u)
	if [ "$(printf '%s\n' "$tw_c" | grep -c .)" -ge 1 ]; then
		bw_pass "IPv$fam: the proxy left TIME_WAIT sockets for the client's ports ($(echo $tw_c | wc -w))"
	else
		bw_fail "IPv$fam: expected TIME_WAIT sockets of the proxy's client side, got: $tw_c"
	fi
	if [ "$(printf '%s\n' "$tw_u" | grep -c .)" -ge 1 ]; then
		bw_pass "IPv$fam: and on its upstream side ($(echo $tw_u | wc -w))"
	else
		bw_fail "IPv$fam: expected TIME_WAIT sockets of the proxy's upstream side, got: $tw_u"
	fi
	# the same client ports again while the rule still redirects: the
	# proxy's TIME_WAIT sockets give way at the first SYN (the sk_lookup
	# program hands it to the proxy's listener), no SYN is retransmitted
	r0=$(syn_retrans)
	n=0
	ok=0
	for p in $tw_c; do
		local out rc=0
		out=$(get "$p" "${url}again-$p" -H 'Connection: close') || rc=$?
		if [ $rc = 45 ]; then
			# curl could not bind the port in x/cli itself (the client's
			# own socket on it has not gone yet): not the proxy's doing
			bw_log "IPv$fam: port $p still taken in x/cli (curl 45), not tried"
			continue
		fi
		n=$((n + 1))
		if [ "$out" = "ok /again-$p" ]; then
			ok=$((ok + 1))
		else
			bw_log "IPv$fam: from port $p: curl exit $rc, answer '$out'"
		fi
	done
	r1=$(syn_retrans)
	if [ $n -gt 0 ] && [ $ok = $n ] && [ "$r1" = "$r0" ]; then
		bw_pass "IPv$fam: $n new connections through the proxy from ports in TIME_WAIT, each accepted at its first SYN"
	else
		bw_fail "IPv$fam: reusing ports in TIME_WAIT through the proxy: $ok of $n answered, $((r1 - r0)) SYN retransmits"
	fi
	policy l4 || bw_die "policy l4 failed"
	bw_expect_verdict "IPv$fam: with the L4 rule, x/cli -> x/srv:80 is ALLOWED (not redirected)" \
		ALLOWED --from x/cli --to x/srv --port 80
	n=0
	ok=0
	for p in $tw_c $tw_u; do
		# a port whose last connection the client closed first is in
		# TIME_WAIT in the client itself: it cannot use it (not ours)
		[ -z "$(bw_nsx "$CLI_NS" ss -Htan state time-wait "( sport = :$p )")" ] || continue
		n=$((n + 1))
		if [ "$(get "$p" "${url}l4-$p")" = "ok /l4-$p" ]; then
			ok=$((ok + 1))
		else
			bw_log "port $p failed; node: $(bw_nsx "$BW_NODE" ss -Htan "( sport = :$p or dport = :$p )" | tr '\n' '|')"
			bw_log "client: $(bw_nsx "$CLI_NS" ss -Htan "( sport = :$p )" | tr '\n' '|')"
		fi
	done
	if [ $n -gt 0 ] && [ $ok = $n ]; then
		bw_pass "IPv$fam: right after the L7 rule is gone, all $n connections reusing a TIME_WAIT tuple get through"
	else
		bw_fail "IPv$fam: right after the L7 rule is gone, $ok of $n connections reusing a TIME_WAIT tuple got through"
	fi
	TW_LEFT="$tw_c $tw_u"
}

round 4 41000
round 6 41100

# ---- SIGHUP follows daemon.early_demux --------------------------------------------------
demux_is() { [ "$(demux)" = "$1" ]; }
printf '[daemon]\nmodules = identity-local netpol-cilium http\nearly_demux = keep\n' >"$BW_CONF"
kill -HUP "$BW_DAEMON_PID"
if bw_wait_for 10 demux_is "1 1"; then
	bw_pass "SIGHUP with early_demux = keep puts the values back"
else
	bw_fail "SIGHUP with early_demux = keep: $(demux)"
fi
printf '[daemon]\nmodules = identity-local netpol-cilium http\n' >"$BW_CONF"
kill -HUP "$BW_DAEMON_PID"
if bw_wait_for 10 demux_is "0 0"; then
	bw_pass "SIGHUP with early_demux = off (the default) turns them off again"
else
	bw_fail "SIGHUP with early_demux = off: $(demux)"
fi

# ---- the values come back when bulwarkd stops, also after a crash -----------------
bw_stop_daemon
bw_expect_output "after bulwarkd stops, early demux is back on" '^1 1$' demux
bw_nsx "$BW_NODE" sysctl -qw net.ipv4.udp_early_demux=0
bw_start_daemon
bw_expect_output "a second start turns both off" '^0 0$' demux
kill -KILL "$BW_DAEMON_PID"
wait "$BW_DAEMON_PID" 2>/dev/null
BW_DAEMON_PID=""
bw_expect_output "after a crash they stay off (nothing restored them)" '^0 0$' demux
bw_start_daemon
bw_stop_daemon
bw_expect_output "the start after the crash remembers what to restore: tcp 1, udp 0" '^1 0$' demux
bw_nsx "$BW_NODE" sysctl -qw net.ipv4.udp_early_demux=1

# ---- daemon.early_demux = keep: the drop is real ---------------------------------------
bw_start_daemon -o daemon.early_demux=keep
bw_expect_output "daemon.early_demux = keep leaves them on" '^1 1$' demux
policy l7 || bw_die "policy l7 failed"
for ((p = 41200; p < 41210; p++)); do
	get $p "http://$SRV/keep-$p" -H 'Connection: close' >/dev/null
done
tw=$(tw_ports 4 client)
policy l4 || bw_die "policy l4 failed"
n=0
ok=0
for p in $tw; do
	n=$((n + 1))
	[ "$(get "$p" "http://$SRV/keep2-$p")" = "ok /keep2-$p" ] && ok=$((ok + 1))
done
if [ $n -gt 0 ] && [ $ok -lt $n ]; then
	bw_pass "with early demux on, connections reusing a TIME_WAIT tuple are dropped ($((n - ok)) of $n)"
else
	bw_fail "with early demux on, expected drops: $ok of $n got through"
fi
bw_stop_daemon

bw_finish
