#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# demo/workload.sh - run bulwarkd with a small demo workload: a "node"
# network namespace, three pods of a shop and a scanner pod on veth pairs, an
# outside API host, the policies of demo/policies/, and traffic every second,
# some of it allowed and some denied. It cleans everything up when it stops
# (Ctrl-C, SIGTERM, or the end of --duration).
#
# bulwarkd runs in the node namespace only (nsenter --net), so it keeps the
# host's mounts: the default configuration (socket /run/bulwark/bulwark.sock,
# maps under /sys/fs/bpf/bulwark, state in /var/lib/bulwark) works as is,
# and `bulwark ...` from any shell on the host talks to it. Nothing is
# created in, or changed on, the host's own network namespace.
#
#   shop/frontend  10.1.0.10  app=frontend    -> cart:8080 allowed
#   shop/cart      10.1.0.20  app=cart        -> payments:8080 allowed
#   shop/payments  10.1.0.30  app=payments    -> api.example (192.0.2.10):443 allowed
#                                               (plain HTTP on port 443)
#   ops/scanner    10.2.0.10  app=scanner     -> cart:8080 denied (default deny)
#   frontend -> payments:8080 denied, cart -> api.example:443 denied
#
# The web UI listens on 127.0.0.1:9963 inside the node namespace; the demo
# forwards 127.0.0.1:WEBUI-PORT of the host to it (socat), so a browser on
# this machine opens http://127.0.0.1:9963/. --webui-port 0: no forwarder.
#
# Usage: demo/workload.sh [--duration SECONDS] [--quiet] [--webui-port PORT]
#                         [-- BULWARKD-OPTION...]
# Environment: BULWARKD, BULWARK (default: the installed binaries, else the
# ones on PATH), BW_DEMO_PREFIX (netns name prefix, default bwdemo), and
# BULWARK_SOCKET (the CLI's socket, when the daemon options move it).

set -u
here=$(cd "$(dirname "$0")" && pwd)
duration=0
quiet=0
webui_port=9963
daemon_opts=()
while [ $# -gt 0 ]; do
	case $1 in
	--duration) duration=$2; shift ;;
	--quiet) quiet=1 ;;
	--webui-port) webui_port=$2; shift ;;
	-h | --help) sed -n '3,32p' "$0"; exit 0 ;;
	--) shift; daemon_opts=("$@"); break ;;
	*) echo "workload.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

[ "$(id -u)" = 0 ] || { echo "workload.sh: run as root" >&2; exit 1; }
for t in ip nsenter python3 curl; do
	command -v "$t" >/dev/null || { echo "workload.sh: $t is missing" >&2; exit 1; }
done
pick() { # NAME DEFAULT...: first executable
	local n
	for n in "$@"; do
		[ -x "$n" ] && { echo "$n"; return; }
		command -v "$n" 2>/dev/null && return
	done
}
BULWARKD=${BULWARKD:-$(pick /usr/local/sbin/bulwarkd bulwarkd)}
BULWARK=${BULWARK:-$(pick /usr/local/bin/bulwark bulwark)}
[ -n "$BULWARKD" ] && [ -n "$BULWARK" ] ||
	{ echo "workload.sh: bulwarkd/bulwark not found (install bulwark first)" >&2; exit 1; }
P=${BW_DEMO_PREFIX:-bwdemo}
NODE=$P-node
say() { [ "$quiet" = 1 ] || echo "demo: $*"; }

pids=()
daemon_pid=""
created=()
cleanup() {
	trap - EXIT INT TERM
	say "stopping"
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		# leave nothing behind in the daemon's state: the pods go away
		for ep in shop/frontend shop/cart shop/payments ops/scanner; do
			"$BULWARK" endpoint delete "$ep" >/dev/null 2>&1
		done
		for pol in shop/shop-default-deny shop/frontend-to-cart \
			shop/cart-to-payments shop/payments-to-api; do
			"$BULWARK" policy delete "$pol" >/dev/null 2>&1
		done
		kill -TERM "$daemon_pid"
		wait "$daemon_pid" 2>/dev/null
	fi
	wait 2>/dev/null
	for ns in "${created[@]}"; do ip netns del "$ns" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 0' INT TERM

netns() { # NAME : a fresh network namespace with lo up
	ip netns del "$1" 2>/dev/null
	ip netns add "$1" || exit 1
	created+=("$1")
	ip -n "$1" link set lo up
}

# the node
netns "$NODE"
ip netns exec "$NODE" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$NODE" sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec "$NODE" sysctl -qw net.ipv4.conf.default.rp_filter=0
ip -n "$NODE" addr add 10.0.0.1/32 dev lo

# plumb NETNS IP HOSTIF : veth HOSTIF (node) <-> eth0 (NETNS), /32 routes and
# static neighbours both ways, a link-local gateway inside
plumb() {
	local ns=$1 ip4=$2 host=$3 hmac pmac
	ip -n "$NODE" link add "$host" type veth peer name eth0 netns "$ns" || exit 1
	hmac=$(ip -n "$NODE" -br link show dev "$host" | awk '{print $3}')
	pmac=$(ip -n "$ns" -br link show dev eth0 | awk '{print $3}')
	ip -n "$ns" link set eth0 up
	ip -n "$ns" addr add "$ip4/32" dev eth0
	ip -n "$ns" route add 169.254.1.1 dev eth0 scope link
	ip -n "$ns" route add default via 169.254.1.1 dev eth0
	ip -n "$ns" neigh replace 169.254.1.1 lladdr "$hmac" dev eth0 nud permanent
	ip -n "$NODE" link set "$host" up
	ip -n "$NODE" route add "$ip4/32" dev "$host" src 10.0.0.1
	ip -n "$NODE" neigh replace "$ip4" lladdr "$pmac" dev "$host" nud permanent
	ip netns exec "$NODE" sysctl -qw "net.ipv4.conf.$host.rp_filter=0"
}

# A small HTTP server on PORT in a netns: answers "<name> ok".
server() { # NETNS PORT NAME
	ip netns exec "$1" python3 -c '
import http.server, sys
name = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (name + " ok\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), H).serve_forever()' "$2" "$3" &
	pids+=($!)
}

# the daemon, on its configuration, in the node namespace
say "starting bulwarkd in network namespace $NODE"
nsenter --net="/run/netns/$NODE" "$BULWARKD" "${daemon_opts[@]}" &
daemon_pid=$!
if ! "$BULWARK" status --wait 20 >/dev/null; then
	echo "workload.sh: bulwarkd did not become ready" >&2
	exit 1
fi

# pods and the outside host
i=0
for spec in shop/frontend:10.1.0.10:frontend shop/cart:10.1.0.20:cart \
	shop/payments:10.1.0.30:payments ops/scanner:10.2.0.10:scanner; do
	IFS=: read -r name ip app <<<"$spec"
	i=$((i + 1))
	ns=$P-${name/\//-}
	netns "$ns"
	plumb "$ns" "$ip" "${P}p$i"
	"$BULWARK" namespace set "${name%%/*}" >/dev/null 2>&1
	"$BULWARK" endpoint add "$name" --host-ifname "${P}p$i" --ip "$ip" \
		--label "app=$app" >/dev/null || { echo "workload.sh: endpoint add $name failed" >&2; exit 1; }
	server "$ns" 8080 "$app"
done
netns "$P-api"
plumb "$P-api" 192.0.2.10 "${P}x1"
server "$P-api" 443 api.example
for f in "$here"/policies/*.yaml; do
	"$BULWARK" policy import "$f" >/dev/null ||
		{ echo "workload.sh: policy import $f failed" >&2; exit 1; }
done

if [ "$webui_port" != 0 ]; then
	if command -v socat >/dev/null; then
		socat "TCP4-LISTEN:$webui_port,bind=127.0.0.1,fork,reuseaddr" \
			SYSTEM:"exec nsenter --net=/run/netns/$NODE socat STDIO TCP4\\:127.0.0.1\\:9963" &
		pids+=($!)
		say "web UI: http://127.0.0.1:$webui_port/ (forwarded into $NODE)"
	else
		say "web UI: install socat to reach it from this host (it listens in $NODE)"
	fi
fi
say "pods: shop/frontend shop/cart shop/payments ops/scanner; outside: api.example (192.0.2.10)"
say "policies: $(ls "$here"/policies | tr '\n' ' ')"
say "traffic every second; try in another shell:"
say "  bulwark observe -f                       # every flow, Hubble-shaped"
say "  bulwark observe --verdict DROPPED -o compact"
say "  bulwark policy list; bulwark endpoint list"
say "  bulwark map --namespace shop -o dot"
say "  ip netns exec $NODE curl -s 127.0.0.1:9962/metrics | grep hubble_"
say "Ctrl-C stops the demo and removes it"

# call FROM URL : one request from a pod's netns
call() {
	ip netns exec "$P-$1" curl -s -m 1 -o /dev/null "$2" 2>/dev/null
}
start=$(date +%s)
while :; do
	call shop-frontend http://10.1.0.20:8080/cart        # allowed
	call shop-cart http://10.1.0.30:8080/pay             # allowed
	call shop-payments http://192.0.2.10:443/charge      # allowed
	call shop-frontend http://10.1.0.30:8080/pay         # denied
	call ops-scanner http://10.1.0.20:8080/              # denied
	call shop-cart http://192.0.2.10:443/                # denied
	if [ "$duration" -gt 0 ] && [ $(($(date +%s) - start)) -ge "$duration" ]; then
		break
	fi
	kill -0 "$daemon_pid" 2>/dev/null || { echo "workload.sh: bulwarkd exited" >&2; exit 1; }
	sleep 1
done
