#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_map.sh - `bulwark map` (the servicemap module) against real
# traffic: after a known number of connections, the map has exactly the
# expected edges with the right protocols, ports and counts (forwarded
# connections, dropped packets, audited connections); peers outside the
# cluster are nodes of their own (world with its address, a CIDR identity);
# --namespace and --since filter; -o table prints one line per edge; -o dot
# is valid Graphviz (dot -Tsvg accepts it) with one cluster per namespace;
# -o svg renders through Graphviz; bad options are refused.
#
# Topology: x/a (app=web, TCP 80, UDP 5353), x/b (app=client), x/d (app=db,
# audit mode, TCP 80), y/c (app=other), external hosts ext1 (192.0.2.10)
# and ext2 (203.0.113.10), both TCP 80.
# Policy: x/a accepts app=client on TCP 80 and UDP 5353; x/d accepts app=web
# only (x/b -> x/d is audited); y/c may only reach 203.0.113.0/24 (a CIDR
# identity), so y/c -> x/a is dropped at y/c's egress.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init
bw_require_tool jq jq
bw_require_tool dot graphviz
bw_start_daemon

bw namespace set x || bw_die "namespace set x"
bw namespace set y || bw_die "namespace set y"
bw_pod_add x a 10.1.0.1 app=web || bw_die "endpoint add x/a"
bw_pod_add x b 10.1.0.2 app=client || bw_die "endpoint add x/b"
bw_pod_add x d 10.1.0.4 app=db --audit=on || bw_die "endpoint add x/d"
bw_pod_add y c 10.2.0.1 app=other || bw_die "endpoint add y/c"
bw_external_add ext1 192.0.2.10
bw_external_add ext2 203.0.113.10
bw_server_tcp x/a 80
bw_server_udp x/a 5353
bw_server_tcp x/d 80
bw_server_tcp ext1 80
bw_server_tcp ext2 80

bw_policy_import_text policies <<'EOF' || bw_die "import policies"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: web
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
      - port: "5353"
        protocol: UDP
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: db
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      app: db
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: web
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: other-egress
  namespace: y
spec:
  endpointSelector:
    matchLabels:
      app: other
  egress:
  - toCIDR:
    - 203.0.113.0/24
EOF

MAP=$BW_TMP/map.json

# map_check DESC JQ [MAP-ARGS...] : `bulwark map -o json MAP-ARGS` satisfies
# JQ; shows the map on failure. jq gets edge() and node() predefined.
JQ_DEFS='
def edge($s; $d; $p; $port): .edges[] | select(.source == $s and .destination == $d and .protocol == $p and .port == $port);
def node($id): .nodes[] | select(.id == $id);
'
map_check() {
	local desc=$1 expr=$2
	shift 2
	if bw map -o json "$@" >"$MAP" 2>"$MAP.err" &&
	   jq -e "$JQ_DEFS $expr" "$MAP" >/dev/null 2>"$MAP.jq"; then
		bw_pass "$desc"
	else
		bw_fail "$desc"
		echo "#   map $*  jq: $expr"
		cat "$MAP.err" "$MAP.jq" 2>/dev/null | head -3 | sed 's/^/#   | /'
		jq -c '.edges[]' "$MAP" 2>/dev/null | head -20 | sed 's/^/#   | /'
	fi
}

# count_ok N PROBE ARGS... : run the probe N times; prints how many worked.
count_ok() {
	local n=$1 i ok=0
	shift
	for i in $(seq "$n"); do
		"$@" && ok=$((ok + 1))
	done
	echo "$ok"
}

bw_check_fails "a bad --since is refused" \
	bw map --since yesterday-ish
bw_check_fails "unknown -o refused" bw map -o png
out=$(bw map 2>&1)
printf '%s' "$out" | grep -q 'no edges' &&
	bw_pass "empty map: says there are no edges yet" ||
	bw_fail "empty map: '$out'"

# ---- first batch: to the outside world -------------------------------------------
n_world=$(count_ok 3 bw_probe_tcp x/b ext1 80)
[ "$n_world" = 3 ] || bw_fail "x/b -> ext1:80 worked $n_world of 3 times"
bw_probe_icmp x/b ext1 || bw_fail "x/b pings ext1"
sleep 1
T_SPLIT=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
sleep 1

# ---- second batch -------------------------------------------------------------------
n_web=$(count_ok 4 bw_probe_tcp x/b x/a 80)
[ "$n_web" = 4 ] || bw_fail "x/b -> x/a:80 worked $n_web of 4 times"
n_udp=$(count_ok 2 bw_probe_udp x/b x/a 5353)
[ "$n_udp" = 2 ] || bw_fail "x/b -> x/a:5353/udp worked $n_udp of 2 times"
n_db=$(count_ok 2 bw_probe_tcp x/b x/d 80)
[ "$n_db" = 2 ] || bw_fail "x/b -> x/d:80 (audited) worked $n_db of 2 times"
n_cidr=$(count_ok 1 bw_probe_tcp y/c ext2 80)
[ "$n_cidr" = 1 ] || bw_fail "y/c -> ext2:80 (toCIDR) did not work"
bw_expect_blocked "y/c -> x/a:80 is dropped (egress policy)" bw_probe_tcp y/c x/a 80

have_edges() {
	bw map -o json >"$MAP" 2>/dev/null &&
		jq -e '(.edges | length) >= 7 and any(.edges[]; .dropped > 0)' "$MAP" >/dev/null
}
bw_wait_for 10 have_edges || bw_fail "the map fills up"

# ---- edges and counts ------------------------------------------------------------------
map_check "x/b -> x/a TCP/80: $n_web forwarded, nothing dropped" \
	"[edge(\"x/b\"; \"x/a\"; \"TCP\"; 80)] | length == 1 and .[0].forwarded == $n_web and .[0].dropped == 0 and .[0].audit == 0"
map_check "x/b -> x/a UDP/5353: $n_udp forwarded" \
	"[edge(\"x/b\"; \"x/a\"; \"UDP\"; 5353)] | length == 1 and .[0].forwarded == $n_udp and .[0].dropped == 0"
map_check "x/b -> x/d TCP/80: $n_db forwarded and $n_db audited" \
	"[edge(\"x/b\"; \"x/d\"; \"TCP\"; 80)] | length == 1 and .[0].forwarded == $n_db and .[0].audit == $n_db and .[0].dropped == 0"
map_check "y/c -> x/a TCP/80: dropped, never forwarded" \
	'[edge("y/c"; "x/a"; "TCP"; 80)] | length == 1 and .[0].dropped >= 1 and .[0].forwarded == 0'
map_check "x/b -> world TCP/80: $n_world forwarded; world is its own node with the address" \
	". as \$m | [edge(\"x/b\"; \"world\"; \"TCP\"; 80)] | length == 1 and .[0].forwarded == $n_world and
	 (\$m | node(\"world\") | .kind == \"world\" and (.addresses | index(\"192.0.2.10\")) != null and (has(\"namespace\") | not))"
map_check "x/b -> world ICMPv4: 1 forwarded (no port)" \
	'[edge("x/b"; "world"; "ICMPv4"; 0)] | length == 1 and .[0].forwarded == 1'
map_check "y/c -> cidr:203.0.113.0/24 TCP/80: the CIDR identity is a node" \
	". as \$m | [edge(\"y/c\"; \"cidr:203.0.113.0/24\"; \"TCP\"; 80)] | length == 1 and .[0].forwarded == $n_cidr and
	 (\$m | node(\"cidr:203.0.113.0/24\") | .kind == \"cidr\" and (.addresses | index(\"203.0.113.10\")) != null)"
map_check "replies make no edges; exactly the expected edges" \
	'([.edges[] | "\(.source) \(.destination) \(.protocol)/\(.port)"] | sort) ==
	 (["x/b world ICMPv4/0", "x/b world TCP/80", "x/b x/a TCP/80", "x/b x/a UDP/5353",
	  "x/b x/d TCP/80", "y/c cidr:203.0.113.0/24 TCP/80", "y/c x/a TCP/80"] | sort)'
map_check "workloads carry their namespace and identity; nodes are grouped by namespace" \
	'(node("x/a") | .kind == "workload" and .namespace == "x" and .name == "a" and .identity >= 256) and
	 (node("y/c") | .namespace == "y") and
	 ([.nodes[].namespace // "~"] | . == sort)'
map_check "every edge has RFC 3339 first/last seen times" \
	'all(.edges[]; (.first_seen | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{9}Z$")) and .last_seen >= .first_seen)'

# ---- filters ----------------------------------------------------------------------------
map_check "--namespace y: only edges from or to y" \
	'.namespace == "y" and ([.edges[] | "\(.source) \(.destination)"] | sort ==
	 ["y/c cidr:203.0.113.0/24", "y/c x/a"]) and
	 ([.nodes[].id] | sort == ["cidr:203.0.113.0/24", "x/a", "y/c"])' --namespace y
map_check "--namespace nosuch: empty" '(.edges | length) == 0 and (.nodes | length) == 0' \
	--namespace nosuch
map_check "--since (between the batches): the first batch's edges are left out" \
	'(.edges | length) == 5 and ([.edges[] | select(.destination == "world")] | length) == 0' \
	--since "$T_SPLIT"
map_check "--since 1h: everything" '(.edges | length) == 7' --since 1h

# ---- outputs --------------------------------------------------------------------------------
bw map >"$BW_TMP/map.txt" 2>&1
if grep -Eq '^SOURCE +DESTINATION +PROTOCOL +PORT +FORWARDED +DROPPED +AUDIT +LAST SEEN$' "$BW_TMP/map.txt" &&
   grep -Eq "^x/b +x/a +TCP +80 +$n_web +0 +0 +[0-9]+s ago$" "$BW_TMP/map.txt" &&
   grep -Eq "^x/b +world \\(192\\.0\\.2\\.10\\) +TCP +80 +$n_world +0 +0 " "$BW_TMP/map.txt" &&
   grep -Eq '^y/c +x/a +TCP +80 +0 +[1-9][0-9]* +0 ' "$BW_TMP/map.txt" &&
   grep -Eq '^x/b +world \(192\.0\.2\.10\) +ICMPv4 +- +1 ' "$BW_TMP/map.txt"; then
	bw_pass "table: one line per edge with counts"
else
	bw_fail "table output"
	sed 's/^/#   | /' "$BW_TMP/map.txt"
fi

if bw map -o dot >"$BW_TMP/map.dot" 2>"$BW_TMP/map.dot.err" &&
   dot -Tsvg "$BW_TMP/map.dot" >"$BW_TMP/map-from-dot.svg" 2>"$BW_TMP/dot.err"; then
	bw_pass "-o dot: Graphviz accepts it (dot -Tsvg)"
else
	bw_fail "-o dot: dot -Tsvg failed"
	cat "$BW_TMP/map.dot.err" "$BW_TMP/dot.err" | head -5 | sed 's/^/#   | /'
fi
if grep -q '^	subgraph "cluster_x" {' "$BW_TMP/map.dot" &&
   grep -q '^	subgraph "cluster_y" {' "$BW_TMP/map.dot" &&
   grep -q "^		\"x/a\" \\[label=\"a\"" "$BW_TMP/map.dot" &&
   grep -q '^	"world" \[label="world\\n192.0.2.10"' "$BW_TMP/map.dot" &&
   grep -q "^	\"x/b\" -> \"x/a\" \\[label=\"TCP/80\\\\n$n_web forwarded\"" "$BW_TMP/map.dot" &&
   grep -q '^	"y/c" -> "x/a" \[label="TCP/80\\n[0-9]* dropped", color="red"' "$BW_TMP/map.dot"; then
	bw_pass "-o dot: a cluster per namespace, external nodes outside, labelled edges"
else
	bw_fail "-o dot: unexpected content"
	sed 's/^/#   | /' "$BW_TMP/map.dot" | head -40
fi
bw map -o dot --namespace y >"$BW_TMP/map-y.dot" &&
	! grep -q '"x/b"' "$BW_TMP/map-y.dot" && grep -q '"y/c" -> "x/a"' "$BW_TMP/map-y.dot" &&
	bw_pass "-o dot --namespace y: only y's edges" ||
	bw_fail "-o dot --namespace y"

if bw map -o svg >"$BW_TMP/map.svg" 2>"$BW_TMP/svg.err" &&
   python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' \
	"$BW_TMP/map.svg" 2>>"$BW_TMP/svg.err" &&
   grep -q '<svg' "$BW_TMP/map.svg" && grep -q 'namespace x' "$BW_TMP/map.svg" &&
   grep -q '<title>x/b&#45;&gt;x/a</title>' "$BW_TMP/map.svg"; then
	bw_pass "-o svg: well-formed SVG rendered by Graphviz"
else
	bw_fail "-o svg"
	head -5 "$BW_TMP/svg.err" "$BW_TMP/map.svg" | sed 's/^/#   | /'
fi
BULWARK_DOT=/nonexistent/dot bw map -o svg >/dev/null 2>"$BW_TMP/nodot.err"
rc=$?
[ "$rc" != 0 ] && grep -q 'graphviz' "$BW_TMP/nodot.err" &&
	bw_pass "-o svg without dot: fails and says to install graphviz" ||
	bw_fail "-o svg without dot: exit $rc, $(cat "$BW_TMP/nodot.err")"

# ---- without the module -------------------------------------------------------------
printf '[daemon]\nmodules = identity-local netpol-cilium\n' >"$BW_TMP/nomap.conf"
BW_CONF=$BW_TMP/nomap.conf bw_restart_daemon
out=$(bw map 2>&1)
rc=$?
[ "$rc" = 1 ] && printf '%s' "$out" | grep -q 'load the servicemap module' &&
	bw_pass "without the servicemap module: map says which module to load" ||
	bw_fail "without the servicemap module: exit $rc, '$out'"

bw_finish
