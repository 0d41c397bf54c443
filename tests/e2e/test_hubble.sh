#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_hubble.sh - the hubble-observer module (Hubble's gRPC API)
# against real traffic, with a real gRPC client generated now from the
# module's own .proto files (python3-grpcio, python3-grpc-tools):
#   - every RPC over the Unix socket, over plain TCP on loopback and over
#     TLS off loopback (a second instance, [hubble-observer:tls], with a
#     certificate made here, max_streams = 2);
#   - GetFlows and `bulwark observe -o json` agree field for field on the
#     same flows (forwarded, dropped, policy names, bulwark's extensions,
#     L7 HTTP requests and responses from nginx and curl through an HTTP
#     rule: Flow.l7 with l7.http, its type and latency; l7.dns from dig
#     through a DNS rule (unbound behind) and destination_names; when
#     tests/e2e/kafka_mock is built (librdkafka-dev) and kcat is there,
#     l7.kafka from kcat through a Kafka rule (the mock broker behind));
#   - each FlowFilter field bulwark supports, in whitelists and
#     blacklists and combined, gives the flows that match (and what GET
#     /v1/flows gives), the HTTP ones included; every field of Hubble's
#     FlowFilter is either matched as GET /v1/flows matches it or refused
#     by both naming it; bulwark's own fields (FlowFilterExtensions) work
#     inside a FlowFilter, an unknown field number is refused;
#   - bulwark_hubble_* metrics: L7 flows sent by protocol, the FlowFilter
#     fields clients use and the ones refused;
#   - number, first, since, until, field_mask and the older
#     experimental.field_mask; follow with flows arriving; a stream
#     cancelled mid-way; a deadline; 50 concurrent followers; a client
#     that stops reading (raw HTTP/2, python3-h2) is disconnected and
#     counted; a call over max_streams is refused;
#   - the module's files: the socket in the test's directory, removed at
#     stop; bulwarkd -n refuses a TCP listener off loopback without TLS.
# The checks themselves are tests/e2e/hubble_checks.py.
#
# Topology: x/a (app=web, 10.1.0.1 fd00::1:1, TCP 80 and 8080), x/b
# (app=client, 10.1.0.2 fd00::1:2), y/c (app=other, 10.2.0.1), x/e
# (--workload StatefulSet/store, 10.1.0.4), x/w (app=www, 10.1.0.5, nginx
# on TCP 80), x/d (app=resolver, 10.1.0.6, DNS), x/k (app=kafka, 10.1.0.7,
# the mock Kafka broker), external ext1 (192.0.2.10), dns (192.0.2.53,
# unbound), web (198.51.100.10, api.example).
# Policy: x/a accepts app=client and the store on TCP 80/8080 only; x/w
# accepts app=client on TCP 80 for GET /public... only (rules.http).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init
bw_require_tool curl curl
bw_require_tool nginx nginx-light
bw_require_tool openssl openssl
PY=/usr/bin/python3
$PY -c 'import grpc, grpc_tools' 2>/dev/null ||
	bw_die "python3 grpc not found: apt-get install python3-grpcio python3-grpc-tools"
$PY -c 'import h2' 2>/dev/null || bw_die "python3 h2 not found: apt-get install python3-h2"

PROTO=$abs_top_srcdir/modules/hubble-observer/proto
STUBS=$BW_TMP/stubs
mkdir -p "$STUBS"
$PY "$BW_LIB_DIR/hubble_client.py" --proto "$PROTO" --stubs "$STUBS" gen ||
	bw_die "cannot generate the gRPC client from $PROTO"
bw_pass "the gRPC client is generated from modules/hubble-observer/proto"

# ---- configuration: [hubble-observer] on a Unix socket and loopback TCP,
# [hubble-observer:tls] off loopback with TLS -------------------------------
BASECONF=$(bw_daemon_conf) || bw_die "no bulwark.conf"
grep -Eq '^modules *=.*hubble-observer' "$BASECONF" ||
	bw_die "the default bulwark.conf does not load hubble-observer"
freeport() {
	bw_nsx "$BW_NODE" $PY -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
TCP_PORT=$(freeport)
TLS_PORT=$(freeport)
CERT=$BW_TMP/tls.crt
KEY=$BW_TMP/tls.key
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=node.example" \
	-addext "subjectAltName=DNS:node.example,IP:$BW_NODE_IP4" \
	-keyout "$KEY" -out "$CERT" >/dev/null 2>&1 || bw_die "openssl req failed"
CONF=$BW_TMP/bulwark.conf
sed -e 's/^modules = \(.*\)$/modules = \1 hubble-observer:tls/' "$BASECONF" >"$CONF"
cat >>"$CONF" <<EOF

[hubble-observer]
listen = 127.0.0.1:$TCP_PORT
client_buffer = 64k
stall_timeout = 2s

[hubble-observer:tls]
socket =
listen = $BW_NODE_IP4:$TLS_PORT
tls_cert = $CERT
tls_key = $KEY
max_streams = 2
EOF
export BW_CONF=$CONF

# bulwarkd -n: off loopback without TLS is a config error naming the key
cat >"$BW_TMP/bad.conf" <<EOF
[daemon]
modules = hubble-observer
module_dir = $(bw_module_dir)

[hubble-observer]
listen = :4245
EOF
BULWARKD_BIN=$(bw_find_bin bulwarkd "${BULWARKD:-}" "$abs_top_builddir/bulwarkd")
bw_expect_output "bulwarkd -n refuses listen off loopback without TLS, naming file, line and key" \
	"bad.conf:6: \[hubble-observer\] listen: ':4245' is not a loopback address: .*TLS" \
	sh -c "! '$BULWARKD_BIN' -n -c '$BW_TMP/bad.conf'"

MPORT=$(freeport)
bw_start_daemon -o flows.monitor_aggregation=medium -o "prometheus.listen=127.0.0.1:$MPORT"

bw_check "the Hubble socket is in the test's directory" test -S "$BW_HUBBLE_SOCK"

bw namespace set x || bw_die "namespace set x"
bw namespace set y || bw_die "namespace set y"
bw_pod_add x a 10.1.0.1 fd00::1:1 app=web || bw_die "endpoint add x/a"
bw_pod_add x b 10.1.0.2 fd00::1:2 app=client || bw_die "endpoint add x/b"
bw_pod_add y c 10.2.0.1 app=other || bw_die "endpoint add y/c"
bw_pod_add x e 10.1.0.4 app=batch --workload=StatefulSet/store || bw_die "endpoint add x/e"
bw_external_add ext1 192.0.2.10
bw_server_tcp x/a 80
bw_server_tcp x/a 8080
bw_server_tcp x/e 80

bw_policy_import_text allow-web <<'EOF' || bw_die "import allow-web"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: allow-web
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      app: web
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: client
    - matchLabels:
        app: batch
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
      - port: "8080"
        protocol: TCP
EOF

# Flows of every kind: allowed TCP (v4, v6), a denied peer (drops with the
# isolating policy), ICMP to the world, a workload on both sides.
bw_expect_ok "x/b -> x/a:80" bw_probe_tcp x/b x/a 80
bw_expect_ok "x/b -> x/a:80 over IPv6" bw_probe_tcp6 x/b x/a 80
bw_expect_blocked "y/c -> x/a:80 is denied" bw_probe_tcp y/c x/a 80
bw_expect_ok "x/b pings ext1" bw_probe_icmp x/b ext1
bw_expect_ok "x/e -> x/a:80" bw_probe_tcp x/e x/a 80
bw_expect_ok "x/b -> x/e:80" bw_probe_tcp x/b x/e 80
bw_expect_flow "a drop is recorded" --verdict DROPPED
bw_expect_flow "the workload's flows are recorded" --to-workload store

# L7: nginx in x/w behind an HTTP rule (the http module, in the shipped
# config), curl from x/b: a request allowed (request and response flows)
# and one denied (a DROPPED request flow, curl gets 403)
bw_pod_add x w 10.1.0.5 app=www || bw_die "endpoint add x/w"
NGX=$BW_TMP/nginx
mkdir -p "$NGX"
cat >"$NGX/nginx.conf" <<EOF
user root root;
worker_processes 1;
daemon off;
error_log $NGX/error.log;
pid $NGX/nginx.pid;
events { worker_connections 64; }
http {
	access_log $NGX/access.log;
	client_body_temp_path $NGX/body;
	proxy_temp_path $NGX/proxy;
	fastcgi_temp_path $NGX/fastcgi;
	uwsgi_temp_path $NGX/uwsgi;
	scgi_temp_path $NGX/scgi;
	server {
		listen 10.1.0.5:80;
		location / { return 200 "\$request_method \$request_uri\n"; }
		location /public/missing { return 404; }
	}
}
EOF
bw_bg "$(bw_netns_of x/w)" nginx -p "$NGX" -c "$NGX/nginx.conf"
bw_wait_listen "$(bw_netns_of x/w)" tcp 80 || bw_die "nginx does not listen in x/w"
bw_policy_import_text www-l7 <<'EOF' || bw_die "import www-l7"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: www-l7
  namespace: x
spec:
  endpointSelector:
    matchLabels:
      app: www
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: client
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
      rules:
        http:
        - method: GET
          path: "/public(/.*)?"
EOF
B_NS=$(bw_netns_of x/b)
bw_expect_output "curl x/b -> x/w GET /public/a?x=1 through the HTTP rule: 200 from nginx" \
	'^GET /public/a\?x=1$' bw_nsx "$B_NS" curl -sS --max-time 10 "http://10.1.0.5/public/a?x=1"
bw_expect_output "curl x/b -> x/w GET /private: 403 from the proxy" '^403$' \
	bw_nsx "$B_NS" curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://10.1.0.5/private"
bw_expect_output "curl x/b -> x/w GET /public/missing: 404 from nginx" '^404$' \
	bw_nsx "$B_NS" curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://10.1.0.5/public/missing"
bw_expect_flow "the HTTP response flows are recorded" --type l7 --http-status 404
bw_expect_flow "the denied HTTP request flow is recorded" --type l7 --verdict DROPPED

# DNS: unbound for example. on 192.0.2.53, dig from x/d through a DNS
# rule (one name allowed, one refused), then a connection to the name's
# address (destination_names). configure requires ldns, so every build
# has the DNS proxy: its absence is an error, not a reason to skip.
[ -e "$(bw_module_dir)/dnsproxy.so" ] || bw_die "the dnsproxy module is not built ($(bw_module_dir))"
HAVE_DNS=1
. "$BW_LIB_DIR/fqdn_lib.sh"
fqdn_dns_start "api IN A 198.51.100.10"
fqdn_web_start 198.51.100.10
bw_pod_add x d 10.1.0.6 app=resolver || bw_die "endpoint add x/d"
bw_policy_import_text d-dns <<'EOF' || bw_die "import d-dns"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: d-dns
  namespace: x
spec:
  endpointSelector:
    matchLabels: {app: resolver}
  egress:
  - toCIDR: [192.0.2.53/32]
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
fqdn_expect_status "dig x/d api.example through the DNS rule: NOERROR" NOERROR x/d api.example
fqdn_expect_status "dig x/d other.example: REFUSED by the DNS rule" REFUSED x/d other.example
bw_expect_ok "x/d -> api.example (198.51.100.10:80), allowed by toFQDNs" \
	bw_probe_tcp x/d 198.51.100.10 80
bw_expect_flow "the DNS answer flow is recorded" --type l7 --dns-query '^api\.example\.$'
bw_expect_flow "the connection's flows name api.example" --to-fqdn api.example

# Kafka (when tests/e2e/kafka_mock is built, i.e. librdkafka-dev, and kcat
# is installed; otherwise the log says the part is left out):
# librdkafka's mock cluster in x/k behind a Kafka rule, kcat in x/b
# (produce to orders allowed, to secret refused), socat relays as in
# tests/e2e/test_kafka.sh
HAVE_KAFKA=0
MOCK=$(bw_find_bin kafka_mock "$abs_top_builddir/tests/e2e/kafka_mock")
if [ -e "$(bw_module_dir)/kafka.so" ] && [ -n "$MOCK" ] && command -v kcat >/dev/null; then
	HAVE_KAFKA=1
	bw_pod_add x k 10.1.0.7 app=kafka || bw_die "endpoint add x/k"
	K_NS=$(bw_netns_of x/k)
	bw_bg "$K_NS" "$MOCK" -t orders -t secret -p "$BW_TMP/mock.port"
	mock_ready() { test -s "$BW_TMP/mock.port"; }
	bw_wait_for 10 mock_ready || bw_die "the mock broker did not start"
	BOOT=$(cat "$BW_TMP/mock.port")
	bw_bg "$K_NS" socat "TCP-LISTEN:9092,bind=10.1.0.7,fork,reuseaddr" "TCP:$BOOT"
	bw_wait_listen "$K_NS" tcp 9092
	bw_bg "$B_NS" socat "TCP-LISTEN:${BOOT##*:},bind=127.0.0.1,fork,reuseaddr" "TCP:10.1.0.7:9092"
	bw_wait_listen "$B_NS" tcp "${BOOT##*:}"
	bw_policy_import_text k-kafka <<'EOF' || bw_die "import k-kafka"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: k-kafka
  namespace: x
spec:
  endpointSelector:
    matchLabels: {app: kafka}
  ingress:
  - fromEndpoints:
    - matchLabels: {app: client}
    toPorts:
    - ports: [{port: "9092", protocol: TCP}]
      rules:
        kafka:
        - role: produce
          topic: orders
EOF
	kc() {
		local rc=0
		bw_nsx "$B_NS" timeout 20 kcat -b "$BOOT" -X socket.timeout.ms=5000 \
			-X message.timeout.ms=8000 "$@" 2>&1 || rc=$?
		[ $rc = 0 ] || echo "exit $rc"
	}
	produce() { printf '%s\n' "$2" | kc -P -t "$1"; }
	bw_expect_output "kcat x/b produces to orders through the Kafka rule" '^$' produce orders m1
	bw_expect_output "kcat x/b cannot produce to secret: Topic authorization failed" \
		'Topic authorization failed' produce secret m2
	bw_expect_flow "the Kafka produce to orders is recorded" --type l7 --kafka-topic orders
	bw_expect_flow "the refused produce to secret is recorded, DROPPED" --type l7 \
		--kafka-topic secret --verdict DROPPED
else
	echo "NOTE: the Kafka part is left out: no tests/e2e/kafka_mock (librdkafka-dev), kcat or kafka.so"
fi

# ---- the checks -------------------------------------------------------------
env HUBBLE_STUBS="$STUBS" BULWARK="$BULWARK" BW_SOCK="$BW_SOCK" \
	HUBBLE_UNIX="unix://$BW_HUBBLE_SOCK" HUBBLE_TCP="127.0.0.1:$TCP_PORT" \
	HUBBLE_TLS="$BW_NODE_IP4:$TLS_PORT" HUBBLE_TLS_CA="$CERT" \
	HUBBLE_TLS_NAME=node.example NS_B="$(bw_netns_of x/b)" \
	NS_C="$(bw_netns_of y/c)" IP_A=10.1.0.1 TRAFFIC_PORT=8080 IP_W=10.1.0.5 \
	METRICS_URL="http://127.0.0.1:$MPORT/metrics" HAVE_DNS=$HAVE_DNS HAVE_KAFKA=$HAVE_KAFKA \
	ip netns exec "$BW_NODE" $PY "$BW_LIB_DIR/hubble_checks.py" >"$BW_TMP/checks.out" 2>&1
rc=$?
cat "$BW_TMP/checks.out"
BW_PASSED=$((BW_PASSED + $(grep -c '^PASS: ' "$BW_TMP/checks.out")))
BW_FAILED=$((BW_FAILED + $(grep -c '^FAIL: ' "$BW_TMP/checks.out")))
if [ $rc != 0 ] && ! grep -q '^FAIL: ' "$BW_TMP/checks.out"; then
	bw_fail "hubble_checks.py exited with status $rc"
fi

# the daemon is still well, and a clean stop removes the socket
bw_check "bulwarkd still answers" bw status
bw_stop_daemon
bw_check "the Hubble socket is removed at stop" test ! -e "$BW_HUBBLE_SOCK"
bw_finish
