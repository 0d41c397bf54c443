#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_fqdn.sh - DNS rules and toFQDNs with a real DNS server
# (unbound, authoritative for example., in an external namespace on
# 192.0.2.53) and dig in the pods (docs/fqdn.md):
#   - a name the DNS rules deny is answered REFUSED at once, recorded as a
#     DROPPED L7 flow naming the policy;
#   - an allowed name resolves; the address is allowed for the workload's
#     very first connection; before the lookup it was blocked;
#   - names the DNS rules allow but toFQDNs does not: resolved, blocked;
#   - each wildcard form (*.x, **.x, stars only) and exact names;
#   - a CNAME chain: the qname's addresses through the chain;
#   - 100 addresses behind one name: truncated over UDP, dig retries over
#     TCP through the proxy, every address learned; EDNS0 with a large
#     buffer gets it in one UDP answer; DNS over TCP directly;
#   - a server that never answers: SERVFAIL after upstream_timeout;
#   - a pod without DNS rules: its DNS is not touched;
#   - flows (l7.dns fields, --dns-query, --to-fqdn with destination_names),
#     metrics, bulwark fqdn cache and clean;
#   - DNS rules narrowed by a policy replace apply to the next query;
#   - a Lua rule script's on_dns denies names and types the rules allow.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fqdn_lib.sh"

bw_init
fqdn_require
bw_require_tool curl curl
PROM_PORT=9962 # the node netns is this test's own
# a rule script (docs/lua.md): on_dns narrows what the DNS rules allow
LUA=$BW_TMP/lua
mkdir -p "$LUA"
cat >"$LUA/dnsguard.lua" <<'EOF'
function on_dns(q)
  if q.name == "luadeny.example" then
    return "deny", "no lookups of luadeny"
  end
  if q.name == "api.example" and q.qtype == "TXT" then
    return "deny", "no TXT for api"
  end
end
EOF
bw_start_daemon -o dnsproxy.upstream_timeout=1s -o fqdn.gc_interval=1s \
	-o "prometheus.listen=127.0.0.1:$PROM_PORT" -o "lua.dir=$LUA"

BIG=""
for i in $(seq 1 100); do
	BIG+="big IN A 203.0.113.$i"$'\n'
done
fqdn_dns_start "api IN A 198.51.100.10
www.shop IN A 198.51.100.11
shop IN A 198.51.100.12
deep.x.y.cdn IN A 198.51.100.13
alias IN CNAME edge.cdn
edge.cdn IN CNAME origin.cdn
origin.cdn IN A 198.51.100.14
other IN A 198.51.100.15
API2 IN A 198.51.100.16
x.y.denied IN A 198.51.100.17
luadeny IN A 198.51.100.18
$BIG"
# a second "server" that reads queries and never answers
bw_external_add mute 192.0.2.54
bw_bg "$(bw_netns_of mute)" socat -u UDP4-RECV:53,reuseaddr /dev/null
bw_wait_listen "$(bw_netns_of mute)" udp 53

fqdn_web_start 198.51.100.10 198.51.100.11 198.51.100.12 198.51.100.13 \
	198.51.100.14 198.51.100.15 198.51.100.16 198.51.100.17
for i in $(seq 1 100); do
	fqdn_web_addr "203.0.113.$i"
done

bw namespace set x || bw_die "namespace set x"
bw_pod_add x a 10.1.0.1 app=a || bw_die "endpoint add x/a"
bw_pod_add x b 10.1.0.2 app=b || bw_die "endpoint add x/b"

bw_policy_import_text fqdn <<'EOF' || bw_die "policy import"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: a-egress-by-name
  namespace: x
spec:
  endpointSelector:
    matchLabels: {app: a}
  egress:
  - toCIDR: [192.0.2.53/32, 192.0.2.54/32]
    toPorts:
    - ports: [{port: "53", protocol: ANY}]
      rules:
        dns:
        - matchPattern: "*.example"
        - matchPattern: "*.shop.example"
        - matchPattern: "**.cdn.example"
        - matchName: api2.example
  - toFQDNs:
    - matchName: api.example
    - matchName: API2.Example.
    - matchPattern: "*.shop.example"
    - matchPattern: "**.cdn.example"
    - matchName: alias.example
    - matchName: big.example
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
EOF

# resolve_and_probe POD NAME IP PORT : the lookup succeeds, then the very
# first connection to IP does
resolve_and_probe() {
	[ "$(fqdn_status "$1" "$2")" = NOERROR ] && bw_probe_tcp "$1" "$3" "$4"
}

clean_bad() {
	bw fqdn cache clean "a b" 2>&1
	return 0
}

# ---- before any lookup: nothing learned, nothing allowed -------------------
bw_expect_blocked "before the lookup: x/a -> 198.51.100.10:80" \
	bw_probe_tcp x/a 198.51.100.10 80
bw_expect_output "the policy's toFQDNs selectors are in use" \
	'api\.example.*|\*\.shop\.example' bw fqdn cache

# ---- denied names -------------------------------------------------------------
fqdn_expect_status "x.y.denied.example is not in the DNS rules: REFUSED" \
	REFUSED x/a x.y.denied.example
bw_expect_flow "the refused query is a DROPPED L7 DNS flow" \
	--type l7 --verdict DROPPED --dns-query 'denied\.example\.$'
bw_expect_output "the DROPPED flow names the policy" 'a-egress-by-name' \
	bw observe --all -o json --type l7 --verdict DROPPED

# ---- names the DNS rules allow and a rule script denies --------------------------
fqdn_expect_status "luadeny.example: allowed by *.example, denied by on_dns: REFUSED" \
	REFUSED x/a luadeny.example
bw_expect_output "the script's denial is a DROPPED flow naming the script and its reason" \
	'"dnsguard".*no lookups of luadeny|no lookups of luadeny.*"dnsguard"' \
	bw observe --all -o json --type l7 --verdict DROPPED --dns-query '^luadeny'
fqdn_expect_status "on_dns sees the type: api.example TXT REFUSED" REFUSED x/a api.example TXT
fqdn_expect_status "on_dns lets the rest through: api.example AAAA" NOERROR x/a api.example AAAA

# ---- allowed names: the first connection is allowed ------------------------------
drops_to() {
	bw observe --all -o json --verdict DROPPED --to-ip "$1" 2>/dev/null | grep -c .
}
drops_before=$(drops_to 198.51.100.10)
fqdn_expect_status "api.example resolves through the proxy" NOERROR x/a api.example
# no retry here: the first SYN must pass
bw_check "first connection right after the answer: x/a -> api.example (198.51.100.10)" \
	bw_probe_tcp x/a 198.51.100.10 80 3
drops_after=$(drops_to 198.51.100.10)
[ "$drops_after" = "$drops_before" ] &&
	bw_pass "no packet to the fresh address was dropped ($drops_before drop flows before and after)" ||
	bw_fail "packets to the fresh address were dropped: $drops_before drop flows before, $drops_after after"
bw_expect_ok "api2.example (matchName written API2.Example.) resolves and connects" \
	resolve_and_probe x/a api2.example 198.51.100.16 80
bw_expect_ok "*.shop.example: www.shop.example connects" \
	resolve_and_probe x/a www.shop.example 198.51.100.11 80
fqdn_expect_status "shop.example is allowed by the DNS rule *.example" NOERROR x/a shop.example
bw_expect_blocked "*.shop.example does not match shop.example: blocked" \
	bw_probe_tcp x/a 198.51.100.12 80
fqdn_expect_status "**.cdn.example: deep.x.y.cdn.example resolves" NOERROR \
	x/a deep.x.y.cdn.example
bw_expect_ok "**.cdn.example covers several labels: connects" \
	bw_probe_tcp x/a 198.51.100.13 80
fqdn_expect_status "other.example resolves (DNS rule *.example)" NOERROR x/a other.example
bw_expect_blocked "other.example is not in toFQDNs: blocked" \
	bw_probe_tcp x/a 198.51.100.15 80
bw_expect_blocked "learned addresses are allowed on the policy's ports only" \
	bw_probe_tcp x/a 198.51.100.10 81

# ---- CNAME chain ------------------------------------------------------------------
got=$(fqdn_dig x/a alias.example)
case $got in
NOERROR*edge.cdn.example.*origin.cdn.example.*198.51.100.14*) bw_pass "alias.example: CNAME chain answered ($got)" ;;
*) bw_fail "alias.example: CNAME chain expected, got '$got'" ;;
esac
bw_expect_ok "alias.example (qname) allows the chain's address" \
	bw_probe_tcp x/a 198.51.100.14 80
bw_expect_flow "the response flow lists the CNAMEs" \
	--type l7 --dns-query '^alias\.example\.$'
bw_expect_output "l7.dns.cnames of the response" '"cnames": *\[ *"edge\.cdn\.example\.", *"origin\.cdn\.example\."' \
	bw observe --all -o json --dns-query '^alias\.example\.$'

# ---- 100 addresses: truncation, TCP, EDNS0 ------------------------------------------
got=$(fqdn_dig x/a big.example +ignore +noedns)
case $got in
NOERROR) bw_pass "big.example over UDP without EDNS: truncated (TC) answer passed through" ;;
*) bw_fail "big.example +ignore +noedns: expected a truncated empty answer, got '${got:0:80}'" ;;
esac
got=$(fqdn_dig x/a big.example +noedns)
n=$(printf '%s' "$got" | wc -w)
if [ "${got%% *}" = NOERROR ] && [ "$n" -eq 101 ]; then
	bw_pass "dig retries over TCP through the proxy: 100 addresses"
else
	bw_fail "big.example: expected 100 addresses after the TCP retry, got $((n - 1)): ${got:0:120}"
fi
bw_expect_ok "an address of the TCP answer connects (203.0.113.77)" \
	bw_probe_tcp x/a 203.0.113.77 80
bw_wait_for 5 fqdn_cached big.example 203.0.113.100 &&
	bw_pass "all 100 addresses are in the cache" ||
	bw_fail "203.0.113.100 of big.example is not in the cache"
got=$(fqdn_dig x/a big.example +edns=0 +bufsize=4096)
n=$(printf '%s' "$got" | wc -w)
[ "$n" -eq 101 ] && bw_pass "EDNS0 with a 4096-byte buffer: one UDP answer with 100 addresses" ||
	bw_fail "EDNS0 big answer: $((n - 1)) addresses"
bw_expect_output "the OPT record comes back (EDNS passed through)" 'EDNS: version: 0' \
	timeout 10 ip netns exec "$(bw_netns_of x/a)" dig +time=3 +tries=1 "@$BW_DNS_IP" \
	api.example +edns=0
fqdn_expect_status "DNS over TCP directly (+tcp)" NOERROR x/a api.example +tcp
bw_expect_flow "a TCP DNS flow" --type l7 --protocol tcp --dns-query '^api\.example\.$'

# ---- a server that never answers ------------------------------------------------------
got=$(timeout 15 ip netns exec "$(bw_netns_of x/a)" dig +time=5 +tries=1 @192.0.2.54 \
	api.example 2>&1 | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')
[ "$got" = SERVFAIL ] && bw_pass "a mute server: SERVFAIL after upstream_timeout (1 s)" ||
	bw_fail "a mute server: expected SERVFAIL, got '$got'"

# ---- a pod without DNS rules ------------------------------------------------------------
fqdn_expect_status "x/b (no DNS rules) resolves directly" NOERROR x/b x.y.denied.example
if bw observe --all -o json --type l7 --from-pod x/b 2>/dev/null | grep -q .; then
	bw_fail "x/b's DNS went through the proxy"
else
	bw_pass "x/b's DNS does not go through the proxy (no L7 flow)"
fi

# ---- flows ------------------------------------------------------------------------------
bw_expect_output "L7 DNS response: query with the dot, ips, ttl, rcode, types, source" \
	'"l7": *\{"type": *"RESPONSE", *"dns": *\{"query": *"api\.example\.", *"ips": *\["198\.51\.100\.10"\], *"ttl": *60, *"observation_source": *"proxy", *"qtypes": *\["A"\], *"rrtypes": *\["A"\]' \
	bw observe --all -o json --dns-query '^api\.example\.$' --verdict FORWARDED
bw_expect_flow "L3/L4 flows to a learned address carry its name (--to-fqdn)" \
	--to-fqdn api.example --protocol tcp
bw_expect_output "destination_names on the L3/L4 flow" '"destination_names": *\["api\.example"\]' \
	bw observe --all -o json --to-fqdn '*.example' --to-ip 198.51.100.10

# ---- metrics --------------------------------------------------------------------------------
m=$(bw_nsx "$BW_NODE" curl -s --max-time 10 "http://127.0.0.1:$PROM_PORT/metrics" 2>/dev/null)
for re in 'hubble_dns_queries_total\{rcode="Policy denied",qtypes="A",ips_returned="0"\} [1-9]' \
	  'hubble_dns_responses_total\{rcode="No Error",qtypes="A",ips_returned="1"\} [1-9]' \
	  'hubble_dns_responses_total\{rcode="Server Failure"' \
	  'hubble_dns_response_types_total\{type="CNAME",qtypes="A"\} [1-9]' \
	  'bulwark_dns_proxy_queries_total\{instance="dnsproxy",protocol="tcp",outcome="allowed"\} [1-9]' \
	  'bulwark_dns_proxy_upstream_timeouts_total\{instance="dnsproxy"\} [1-9]' \
	  'bulwark_dns_proxy_truncated_total\{instance="dnsproxy"\} [1-9]' \
	  'bulwark_fqdn_datapath_update_seconds_count\{instance="fqdn"\} [1-9]'; do
	printf '%s\n' "$m" | grep -Eq "$re" && bw_pass "metric: $re" || bw_fail "metric missing: $re"
done

# ---- the cache --------------------------------------------------------------------------------
bw_expect_output "bulwark fqdn cache lists api.example. with its identity" \
	'api\.example\. +198\.51\.100\.10 +1677[0-9]+ +60s' bw fqdn cache
id_api=$(fqdn_identity_of 198.51.100.10)
id_shop=$(fqdn_identity_of 198.51.100.11)
id_other=$(fqdn_identity_of 198.51.100.15)
[ -n "$id_api" ] && [ "$id_api" != 0 ] && [ "$id_api" != "$id_shop" ] &&
	bw_pass "names of different selector sets get different identities ($id_api, $id_shop)" ||
	bw_fail "identities: api=$id_api shop=$id_shop"
[ "$id_other" = 0 ] && bw_pass "a name no toFQDNs selector matches gets no identity" ||
	bw_fail "other.example has identity '$id_other'"
bw_expect_output "the identity carries the selector's label" 'fqdn:api\.example' \
	bw identity list
bw_expect_output "fqdn cache clean api.example" 'removed 1 cache entries' \
	bw fqdn cache clean api.example
bw_expect_blocked "after clean: 198.51.100.10 is no longer allowed" \
	bw_probe_tcp x/a 198.51.100.10 80
fqdn_expect_status "api.example again" NOERROR x/a api.example
bw_expect_ok "learned again: allowed" bw_probe_tcp x/a 198.51.100.10 80
bw_expect_output "clean with a pattern" 'removed [1-9][0-9]* cache entries' \
	bw fqdn cache clean '*.shop.example'
bw_expect_output "bad patterns are refused" 'not a name or pattern' \
	clean_bad

# ---- the DNS rules change: the next query sees the new ones ---------------------------------
# (the proxy keeps what the redirect service said about a client and server
# while the policy generation is unchanged)
fqdn_expect_status "other.example is allowed by *.example" NOERROR x/a other.example
bw_policy_replace_text fqdn <<'EOF' || bw_fail "policy replace"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: a-egress-by-name
  namespace: x
spec:
  endpointSelector:
    matchLabels: {app: a}
  egress:
  - toCIDR: [192.0.2.53/32, 192.0.2.54/32]
    toPorts:
    - ports: [{port: "53", protocol: ANY}]
      rules:
        dns:
        - matchName: api.example
  - toFQDNs:
    - matchName: api.example
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
EOF
fqdn_expect_status "right after the DNS rules narrowed: other.example REFUSED" \
	REFUSED x/a other.example
fqdn_expect_status "api.example still resolves" NOERROR x/a api.example


bw_finish
