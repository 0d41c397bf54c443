# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# tests/e2e/fqdn_lib.sh - what the DNS/FQDN tests (tests/e2e/test_fqdn*.sh)
# share, on top of lib.sh: a real DNS server (unbound, authoritative for
# "example." from a zone file the test writes) in an external namespace on
# 192.0.2.53, a "web" external host that takes any number of TEST-NET
# addresses (routes and neighbours added in the node), dig from pods.
#
#   fqdn_dns_start ZONE-TEXT      unbound on 192.0.2.53, zone "example."
#   fqdn_dns_reload ZONE-TEXT     new zone content, unbound re-reads it
#   fqdn_web_start ADDR...        the "web" host with TCP servers on 80
#   fqdn_web_addr ADDR            one more address of the web host
#   fqdn_dig POD NAME [ARG]...    dig from POD at 192.0.2.53; prints the
#                                 status line's status and the answers
#   fqdn_status POD NAME [ARG]... the rcode only (NOERROR, REFUSED, ...)

: "${BW_DNS_IP:=192.0.2.53}"
FQDN_DNS_DIR=""
FQDN_DNS_NS=""
FQDN_WEB_NS=""
FQDN_WEB_IF=""
FQDN_WEB_MAC=""

fqdn_require() {
	bw_require_tool unbound unbound
	bw_require_tool dig bind9-dnsutils
}

# fqdn_dns_start ZONE-TEXT : the zone's records below the SOA/NS header.
fqdn_dns_start() {
	fqdn_require
	FQDN_DNS_DIR=$BW_TMP/dns
	mkdir -p "$FQDN_DNS_DIR"
	bw_external_add dns "$BW_DNS_IP"
	FQDN_DNS_NS=$(bw_netns_of dns)
	fqdn_zone_write "$1"
	cat >"$FQDN_DNS_DIR/unbound.conf" <<EOF
server:
	interface: $BW_DNS_IP
	port: 53
	do-daemonize: no
	chroot: ""
	username: ""
	directory: "$FQDN_DNS_DIR"
	pidfile: ""
	use-syslog: no
	logfile: ""
	verbosity: 0
	num-threads: 1
	so-reuseport: no
	do-ip6: no
	minimal-responses: yes
	access-control: 0.0.0.0/0 allow
auth-zone:
	name: "example."
	zonefile: "$FQDN_DNS_DIR/example.zone"
	for-downstream: yes
	for-upstream: no
remote-control:
	control-enable: no
EOF
	bw_bg "$FQDN_DNS_NS" unbound -d -c "$FQDN_DNS_DIR/unbound.conf"
	bw_wait_listen "$FQDN_DNS_NS" udp 53
	bw_wait_listen "$FQDN_DNS_NS" tcp 53
}

fqdn_zone_write() {
	FQDN_ZONE_SERIAL=$(( ${FQDN_ZONE_SERIAL:-0} + 1 ))
	{
		printf '$ORIGIN example.\n$TTL 60\n'
		printf '@ IN SOA ns.example. host.example. %d 3600 600 86400 60\n' \
			"$FQDN_ZONE_SERIAL"
		printf '@ IN NS ns.example.\nns IN A %s\n' "$BW_DNS_IP"
		printf '%s\n' "$1"
	} >"$FQDN_DNS_DIR/example.zone.tmp"
	mv "$FQDN_DNS_DIR/example.zone.tmp" "$FQDN_DNS_DIR/example.zone"
}

# fqdn_dns_reload ZONE-TEXT : rewrite the zone and make unbound read it
# (SIGHUP), then wait until it answers with the new serial.
fqdn_dns_reload() {
	local pid
	fqdn_zone_write "$1"
	for pid in $(ip netns pids "$FQDN_DNS_NS"); do
		kill -HUP "$pid" 2>/dev/null
	done
	bw_wait_for 10 fqdn_serial_is "$FQDN_ZONE_SERIAL" ||
		bw_die "unbound did not load zone serial $FQDN_ZONE_SERIAL"
}

fqdn_serial_is() {
	ip netns exec "$FQDN_DNS_NS" dig +short +time=1 +tries=1 \
		"@$BW_DNS_IP" example. SOA 2>/dev/null | awk '{print $3}' | grep -qx "$1"
}

# fqdn_web_start ADDR... : the "web" external host, TCP servers on port 80
# ("ok" and close) and 81 (echo: a connection that stays open) on every
# address it has.
fqdn_web_start() {
	local a
	bw_external_add web "$1"
	FQDN_WEB_NS=$(bw_netns_of web)
	FQDN_WEB_IF=${BW_IF_OF[web]}
	FQDN_WEB_MAC=$(ip -n "$FQDN_WEB_NS" -br link show dev eth0 | awk '{print $3}')
	shift
	for a in "$@"; do
		fqdn_web_addr "$a"
	done
	bw_bg "$FQDN_WEB_NS" socat "TCP4-LISTEN:80,fork,reuseaddr" "SYSTEM:echo ok"
	bw_bg "$FQDN_WEB_NS" socat "TCP4-LISTEN:81,fork,reuseaddr" "EXEC:cat"
	bw_wait_listen "$FQDN_WEB_NS" tcp 80
	bw_wait_listen "$FQDN_WEB_NS" tcp 81
}

# fqdn_web_addr ADDR : one more IPv4 address of the web host, routed from
# the node (a /32 route and a static neighbour, like bw_plumb's).
fqdn_web_addr() {
	ip -n "$FQDN_WEB_NS" addr add "$1/32" dev eth0 ||
		bw_die "cannot add $1 to the web host"
	ip -n "$BW_NODE" route add "$1/32" dev "$FQDN_WEB_IF" src "$BW_NODE_IP4" ||
		bw_die "cannot route $1 to the web host"
	ip -n "$BW_NODE" neigh replace "$1" lladdr "$FQDN_WEB_MAC" dev "$FQDN_WEB_IF" \
		nud permanent
}

# fqdn_dig POD NAME [DIG-ARG]... : "STATUS ANSWER..." of one lookup.
fqdn_dig() {
	local ns pod=$1 name=$2 out status
	shift 2
	ns=$(bw_netns_of "$pod") || return 2
	out=$(timeout 15 ip netns exec "$ns" dig +time=3 +tries=1 "@$BW_DNS_IP" \
		"$name" "$@" 2>&1)
	status=$(printf '%s\n' "$out" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p' | head -n 1)
	printf '%s' "${status:-NOANSWER}"
	printf '%s\n' "$out" | awk '/^;; ANSWER SECTION:/{a=1;next} /^$/{a=0} a{printf " %s", $NF}'
	echo
}

# fqdn_status POD NAME [DIG-ARG]... : the status alone.
fqdn_status() {
	fqdn_dig "$@" | awk '{print $1}'
}

# fqdn_expect_status DESC STATUS POD NAME [DIG-ARG]...
fqdn_expect_status() {
	local desc=$1 want=$2 got
	shift 2
	got=$(fqdn_dig "$@")
	if [ "${got%% *}" = "$want" ]; then
		bw_pass "$desc"
	else
		bw_fail "$desc: expected $want, got '$got'"
	fi
}

# fqdn_cached NAME [IP] : 0 when `bulwark fqdn cache` lists NAME (with IP).
fqdn_cached() {
	local out
	out=$(bw fqdn cache -o json 2>/dev/null) || return 1
	printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
name = sys.argv[1].rstrip(".").lower() + "."
ip = sys.argv[2] if len(sys.argv) > 2 else None
sys.exit(0 if any(e["name"] == name and (ip is None or e["ip"] == ip)
                  for e in d["entries"]) else 1)' "$@"
}

fqdn_not_cached() {
	! fqdn_cached "$@"
}

# fqdn_identity_of IP : the FQDN identity `bulwark fqdn cache` shows for IP.
fqdn_identity_of() {
	bw fqdn cache -o json 2>/dev/null | python3 -c '
import json, sys
for e in json.load(sys.stdin)["entries"]:
    if e["ip"] == sys.argv[1]:
        print(e["identity"]); break' "$1"
}
