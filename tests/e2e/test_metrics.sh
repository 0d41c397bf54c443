#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_metrics.sh - the prometheus module against real traffic:
# bulwarkd runs with -o prometheus.listen=127.0.0.1:PORT in the node netns
# and GET /metrics is scraped from inside it. Allowed, default-denied,
# explicitly denied and audited connections must move Hubble's counters
# (hubble_flows_processed_total, hubble_drop_total,
# hubble_policy_verdicts_total, hubble_tcp_flags_total,
# hubble_port_distribution_total) and bulwark's (verdicts per namespace,
# denied source -> destination, endpoints by enforcement, policies, map
# pressure) and Cilium's datapath counters with the right labels; every
# scrape passes `promtool check metrics`; the output order is stable;
# anything but GET /metrics gets a JSON error; a low max_series folds new
# label values into "other"; a bad listen value is a config error naming
# file and line (bulwarkd -n), and a listen address in use disables the
# instance with a clear message.
#
# Topology: x/a (app=web, TCP 80 and 8080), x/b (app=client), x/d
# (app=db, audited endpoint, TCP 80), y/c (app=other).
# Policy: x/a accepts app=client on 80 and denies app=client on 8080
# (ingressDeny); x/d accepts app=web only.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

bw_init
bw_require_tool curl curl
bw_require_tool promtool prometheus

PORT=$(bw_nsx "$BW_NODE" python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
	bw_die "cannot pick a free port"
URL="http://127.0.0.1:$PORT/metrics"
M="$BW_TMP/metrics.txt"

bw_start_daemon -o "prometheus.listen=127.0.0.1:$PORT"

# scrape [URL] : GET the metrics from inside the node netns into $M.
scrape() {
	bw_nsx "$BW_NODE" curl -sS --max-time 10 -o "$M" \
		-w '%{http_code} %{content_type}\n' "${1:-$URL}" >"$M.status" 2>"$M.err"
}

# The sample parser: msum FILE NAME [LABEL=VALUE]... prints the sum of the
# samples of NAME whose labels include every LABEL=VALUE (0 if none);
# mcount prints how many such series there are.
MPY='import re, sys
mode, path, name = sys.argv[1:4]
want = dict(a.split("=", 1) for a in sys.argv[4:])
tot, n = 0.0, 0
line_re = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$")
lab_re = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"")
for line in open(path):
    line = line.rstrip("\n")
    if not line or line.startswith("#"):
        continue
    m = line_re.match(line)
    if not m or m.group(1) != name:
        continue
    labels = dict(lab_re.findall(m.group(3) or ""))
    if all(labels.get(k) == v for k, v in want.items()):
        tot += float(m.group(4)); n += 1
if mode == "count":
    print(n)
else:
    print(int(tot) if tot == int(tot) else tot)'
msum() { python3 -c "$MPY" sum "$M" "$@"; }
mcount() { python3 -c "$MPY" count "$M" "$@"; }

# expect_cmp DESC OP N NAME [LABEL=VALUE]... : the summed samples compare
# (-ge, -eq, -gt, -le) with N. Shows the family on failure.
expect_cmp() {
	local desc=$1 op=$2 n=$3 got
	shift 3
	got=$(msum "$@")
	if [[ $got =~ ^[0-9]+$ ]] && [ "$got" "$op" "$n" ]; then
		bw_pass "$desc ($* = $got)"
	else
		bw_fail "$desc: expected $* $op $n, got '$got'"
		grep -E "^$1[{ ]" "$M" | head -20 | sed 's/^/#   | /'
	fi
}

# counters_moved NAME [LABEL=VALUE]... : quietly, scrape and check > 0.
counters_moved() {
	scrape && [ "$(msum "$@")" != 0 ]
}

# promtool_clean DESC : `promtool check metrics` reports nothing on $M.
promtool_clean() {
	local out
	if out=$(promtool check metrics <"$M" 2>&1) && [ -z "$out" ]; then
		bw_pass "$1"
	else
		bw_fail "$1: promtool check metrics says:"
		printf '%s\n' "$out" | head -20 | sed 's/^/#   | /'
	fi
}

# every_family_typed : every sample's family has # HELP and # TYPE lines.
every_family_typed() {
	python3 - "$M" <<'EOF'
import re, sys
help_, type_, bad = set(), {}, []
for line in open(sys.argv[1]):
    if line.startswith("# HELP "):
        help_.add(line.split()[2])
    elif line.startswith("# TYPE "):
        type_[line.split()[2]] = line.split()[3]
    elif line.strip() and not line.startswith("#"):
        name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
        fam = name
        for suf in ("_sum", "_count", "_bucket"):
            if name.endswith(suf) and name[:-len(suf)] in type_:
                fam = name[:-len(suf)]
        if fam not in help_ or fam not in type_:
            bad.append(name)
if bad:
    print("no HELP/TYPE for:", " ".join(sorted(set(bad))))
    sys.exit(1)
EOF
}

# families_check DESC subset|exact : the families of $M (# TYPE lines) and
# the module's declared list, modules/prometheus/metrics.list: every listed
# family is there with its type, in the listed order; "exact": nothing else
# is (when no other module registers metrics).
LIST=$abs_top_srcdir/modules/prometheus/metrics.list
FAMPY='import sys
scrape, lst, mode = sys.argv[1:4]
want = [l.split()[:2] for l in open(lst) if l.strip() and not l.startswith("#")]
wantd = dict(want)
got = [l.split()[2:4] for l in open(scrape) if l.startswith("# TYPE ")]
gotd = dict(got)
errs = []
for n, t in want:
    if n not in gotd:
        errs.append("missing: " + n)
    elif gotd[n] != t:
        errs.append("%s is a %s, listed as a %s" % (n, gotd[n], t))
if [n for n, _ in got if n in wantd] != [n for n, _ in want if n in gotd]:
    errs.append("the families are not in the listed order")
if mode == "exact":
    extra = [n for n, _ in got if n not in wantd]
    if extra:
        errs.append("not in metrics.list: " + " ".join(extra))
if errs:
    print("\n".join(errs))
    sys.exit(1)'
families_check() {
	local out
	if out=$(python3 -c "$FAMPY" "$M" "$LIST" "$2" 2>&1); then
		bw_pass "$1"
	else
		bw_fail "$1:"
		printf '%s\n' "$out" | sed 's/^/#   | /'
	fi
}

# ---- the endpoint, before any traffic ----------------------------------------
bw_check "GET /metrics answers" scrape
bw_check "GET /metrics: 200, text format 0.0.4" \
	grep -q '^200 text/plain; version=0.0.4' "$M.status"
promtool_clean "promtool check metrics: the first scrape is clean"
bw_check "every family has # HELP and # TYPE" every_family_typed
families_check "the scrape has every family of metrics.list, typed, in order" subset
expect_cmp "no endpoints yet" -eq 0 bulwark_endpoints
for src in perf_event_ring_buffer hubble_ring_buffer; do
	bw_check "hubble_lost_events_total{source=\"$src\"} is exported" \
		test "$(mcount hubble_lost_events_total source=$src)" = 1
done

# http_reply METHOD PATH : print "CODE CONTENT-TYPE BODY" of one request.
http_reply() {
	local body=$BW_TMP/http.body st
	st=$(bw_nsx "$BW_NODE" curl -sS --max-time 10 -X "$1" -o "$body" \
		-w '%{http_code} %{content_type}' "http://127.0.0.1:$PORT$2") || return 1
	printf '%s %s\n' "$st" "$(tr -d '\n' <"$body")"
}
bw_expect_output "GET /other: 404 with a JSON error" \
	'^404 application/json \{"error": "not found[^"]*"\}$' http_reply GET /other
bw_expect_output "GET /metrics/x: 404" '^404 ' http_reply GET /metrics/x
bw_expect_output "POST /metrics: 405 with a JSON error" \
	'^405 application/json \{"error": "method not allowed[^"]*"\}$' \
	http_reply POST /metrics

# ---- topology, policy, traffic ------------------------------------------------------
bw namespace set x || bw_die "namespace set x"
bw namespace set y || bw_die "namespace set y"
bw_pod_add x a 10.1.0.1 app=web || bw_die "endpoint add x/a"
bw_pod_add x b 10.1.0.2 app=client || bw_die "endpoint add x/b"
bw_pod_add x d 10.1.0.4 app=db --audit=on || bw_die "endpoint add x/d"
bw_pod_add y c 10.2.0.1 app=other || bw_die "endpoint add y/c"
bw_server_tcp x/a 80 8080
bw_server_tcp x/d 80

bw_policy_replace_text pol <<'EOF' || bw_die "policy replace"
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
  ingressDeny:
  - fromEndpoints:
    - matchLabels:
        app: client
    toPorts:
    - ports:
      - port: "8080"
        protocol: TCP
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
EOF

for i in 1 2 3; do
	bw_expect_ok "allowed: x/b -> x/a:80 ($i)" bw_probe_tcp x/b x/a 80
done
bw_expect_blocked "default deny: y/c -> x/a:80" bw_probe_tcp y/c x/a 80
bw_expect_blocked "explicit deny: x/b -> x/a:8080" bw_probe_tcp x/b x/a 8080
bw_expect_ok "audited: x/b -> x/d:80 passes" bw_probe_tcp x/b x/d 80

bw_wait_for 10 counters_moved bulwark_policy_verdicts_by_namespace_total \
	namespace=x action=audit ||
	bw_fail "the audited verdict shows up in a scrape within 10 s"
scrape || bw_fail "scrape after traffic"
cp "$M" "$BW_TMP/after-traffic.txt"

# Hubble's flow metric: every kind of event, with its type and subtype.
expect_cmp "flows_processed: allowed policy verdicts" -ge 3 \
	hubble_flows_processed_total protocol=TCP type=PolicyVerdict subtype= verdict=FORWARDED
expect_cmp "flows_processed: denied policy verdicts" -ge 2 \
	hubble_flows_processed_total protocol=TCP type=PolicyVerdict verdict=DROPPED
expect_cmp "flows_processed: audited policy verdict" -ge 1 \
	hubble_flows_processed_total protocol=TCP type=PolicyVerdict verdict=AUDIT
expect_cmp "flows_processed: drops" -ge 2 \
	hubble_flows_processed_total protocol=TCP type=Drop verdict=DROPPED
expect_cmp "flows_processed: traces at to-endpoint" -ge 3 \
	hubble_flows_processed_total protocol=TCP type=Trace subtype=to-endpoint verdict=FORWARDED
# medium aggregation traces a pod-to-pod packet once, where it enters the
# receiving pod: all the TCP traffic here is pod to pod
expect_cmp "flows_processed: no traces at from-endpoint (medium, pod to pod)" -eq 0 \
	hubble_flows_processed_total protocol=TCP type=Trace subtype=from-endpoint verdict=FORWARDED

# Drops by reason (proto enum names): default deny and the deny rule.
expect_cmp "hubble_drop_total: POLICY_DENIED (default deny)" -ge 1 \
	hubble_drop_total reason=POLICY_DENIED protocol=TCP
expect_cmp "hubble_drop_total: POLICY_DENY (ingressDeny)" -ge 1 \
	hubble_drop_total reason=POLICY_DENY protocol=TCP
expect_cmp "hubble_drop_total: nothing but policy drops" -eq 0 \
	hubble_drop_total reason=CT_MAP_INSERTION_FAILED

# Policy verdicts, lower-case as Hubble.
expect_cmp "policy_verdicts: allowed by the L3-L4 rule" -ge 3 \
	hubble_policy_verdicts_total direction=ingress match=l3-l4 action=forwarded
expect_cmp "policy_verdicts: default deny (match none)" -ge 1 \
	hubble_policy_verdicts_total direction=ingress match=none action=dropped
expect_cmp "policy_verdicts: dropped in all" -ge 2 \
	hubble_policy_verdicts_total direction=ingress action=dropped
expect_cmp "policy_verdicts: audit" -ge 1 \
	hubble_policy_verdicts_total direction=ingress action=audit
expect_cmp "policy_verdicts: no egress verdicts (egress not enforced)" -eq 0 \
	hubble_policy_verdicts_total direction=egress

# TCP flags and ports of forwarded traffic.
expect_cmp "tcp_flags: SYN" -ge 3 hubble_tcp_flags_total flag=SYN family=IPv4
expect_cmp "tcp_flags: SYN-ACK" -ge 3 hubble_tcp_flags_total flag=SYN-ACK family=IPv4
expect_cmp "tcp_flags: FIN" -ge 1 hubble_tcp_flags_total flag=FIN family=IPv4
expect_cmp "tcp_flags: no IPv6" -eq 0 hubble_tcp_flags_total family=IPv6
expect_cmp "port_distribution: TCP 80" -ge 3 \
	hubble_port_distribution_total protocol=TCP port=80
expect_cmp "port_distribution: no UDP (none sent)" -eq 0 \
	hubble_port_distribution_total protocol=UDP

# bulwark's per-namespace counters.
expect_cmp "verdicts by namespace: x ingress forwarded" -ge 3 \
	bulwark_policy_verdicts_by_namespace_total namespace=x direction=ingress action=forwarded
expect_cmp "verdicts by namespace: x ingress dropped" -ge 2 \
	bulwark_policy_verdicts_by_namespace_total namespace=x direction=ingress action=dropped
expect_cmp "verdicts by namespace: x ingress audit" -ge 1 \
	bulwark_policy_verdicts_by_namespace_total namespace=x direction=ingress action=audit
expect_cmp "verdicts by namespace: none for y (no policy there)" -eq 0 \
	bulwark_policy_verdicts_by_namespace_total namespace=y
expect_cmp "denied: y/c -> x/a" -ge 1 bulwark_denied_flows_total \
	source_namespace=y source_workload=c destination_namespace=x destination_workload=a
expect_cmp "denied: x/b -> x/a (deny rule)" -ge 1 bulwark_denied_flows_total \
	source_namespace=x source_workload=b destination_namespace=x destination_workload=a
expect_cmp "denied: the audited x/b -> x/d is not a denial" -eq 0 \
	bulwark_denied_flows_total destination_workload=d
n=$(mcount bulwark_denied_flows_total)
if [ "$n" = 2 ]; then
	bw_pass "bulwark_denied_flows_total has exactly the two denied pairs"
else
	bw_fail "bulwark_denied_flows_total has $n series, expected 2"
	grep '^bulwark_denied_flows_total' "$M" | sed 's/^/#   | /'
fi

# Endpoints and enforcement.
expect_cmp "endpoints: ingress enforced (x/a)" -eq 1 bulwark_endpoints direction=ingress status=enforced
expect_cmp "endpoints: ingress audit (x/d)" -eq 1 bulwark_endpoints direction=ingress status=audit
expect_cmp "endpoints: ingress none (x/b, y/c)" -eq 2 bulwark_endpoints direction=ingress status=none
expect_cmp "endpoints: egress none (all four)" -eq 4 bulwark_endpoints direction=egress status=none
expect_cmp "enforcement status: x/a ingress enforced" -eq 1 \
	bulwark_policy_endpoint_enforcement_status namespace=x pod=a direction=ingress status=enforced
expect_cmp "enforcement status: x/d ingress audit" -eq 1 \
	bulwark_policy_endpoint_enforcement_status namespace=x pod=d direction=ingress status=audit
expect_cmp "enforcement status: y/c egress none" -eq 1 \
	bulwark_policy_endpoint_enforcement_status namespace=y pod=c direction=egress status=none

# Policy repository, regeneration, maps, datapath counters.
expect_cmp "bulwark_policies: the two policies" -eq 2 bulwark_policies
expect_cmp "regenerations were timed" -ge 1 bulwark_policy_regeneration_seconds_count
expect_cmp "endpoint regenerations counted" -ge 1 bulwark_endpoint_regenerations_total
expect_cmp "map entries: bw_endpoints holds the four pods" -eq 4 \
	bulwark_bpf_map_entries map_name=bw_endpoints
expect_cmp "map entries: bw_policy has entries" -ge 1 bulwark_bpf_map_entries map_name=bw_policy
expect_cmp "map entries: bw_ct has connections" -ge 1 bulwark_bpf_map_entries map_name=bw_ct
expect_cmp "map entries: bw_ipcache4 has the pods" -ge 4 bulwark_bpf_map_entries map_name=bw_ipcache4
if python3 -c "$MPY" sum "$M" bulwark_bpf_map_pressure map_name=bw_policy |
	python3 -c 'import sys; v = float(sys.stdin.read()); sys.exit(not (0 < v < 1))'; then
	bw_pass "map pressure of bw_policy is a ratio in (0, 1)"
else
	bw_fail "map pressure of bw_policy is not in (0, 1)"
	grep '^bulwark_bpf_map' "$M" | sed 's/^/#   | /'
fi
expect_cmp "cilium_drop_count_total: Policy denied, INGRESS" -ge 1 \
	cilium_drop_count_total "reason=Policy denied" direction=INGRESS
expect_cmp "cilium_drop_count_total: Policy denied by denylist, INGRESS" -ge 1 \
	cilium_drop_count_total "reason=Policy denied by denylist" direction=INGRESS
expect_cmp "cilium_drop_bytes_total counts bytes" -ge 40 cilium_drop_bytes_total
expect_cmp "cilium_forward_count_total: INGRESS" -ge 3 cilium_forward_count_total direction=INGRESS
expect_cmp "cilium_forward_count_total: EGRESS" -ge 3 cilium_forward_count_total direction=EGRESS
expect_cmp "no lost events" -eq 0 hubble_lost_events_total

promtool_clean "promtool check metrics: the scrape after traffic is clean"
bw_check "after traffic: every family has # HELP and # TYPE" every_family_typed
families_check "after traffic: every family of metrics.list, typed, in order" subset

# Stable order: with no traffic in between, two scrapes list the same series
# in the same order.
scrape && awk '!/^#/ {print $1}' "$M" >"$BW_TMP/order1"
scrape && awk '!/^#/ {print $1}' "$M" >"$BW_TMP/order2"
bw_check "two scrapes list the same series in the same order" \
	cmp -s "$BW_TMP/order1" "$BW_TMP/order2"
bw_check "series of a family are sorted by labels" sh -c \
	"grep '^hubble_flows_processed_total{' '$M' | LC_ALL=C sort -c"

# ---- cardinality: a low max_series folds into "other" -------------------------------
PORT6=$((PORT == 65535 ? PORT - 1 : PORT + 1))
# From here on a config with only the modules this test needs: then the
# scrape is the module's own.
BW_CONF=$BW_TMP/metrics.conf
printf '[daemon]\nmodules = identity-local netpol-k8s netpol-cilium prometheus\n' >"$BW_CONF"
bw_restart_daemon -o "prometheus.listen=[::1]:$PORT6" -o prometheus.max_series=2
URL6="http://[::1]:$PORT6/metrics"
bw_check "GET /metrics over IPv6 ([::1]:$PORT6)" scrape "$URL6"
families_check "prometheus alone: the scrape has exactly the families of metrics.list" exact
bw_expect_blocked "default deny: y/c -> x/a:80" bw_probe_tcp y/c x/a 80
bw_expect_blocked "explicit deny: x/b -> x/a:8080" bw_probe_tcp x/b x/a 8080
bw_expect_blocked "default deny: x/d -> x/a:80" bw_probe_tcp x/d x/a 80
bw_expect_blocked "default deny: y/c -> x/a:8080" bw_probe_tcp y/c x/a 8080
counters_folded() {
	scrape "$URL6" && [ "$(msum bulwark_metrics_folded_total \
		metric=bulwark_denied_flows_total)" != 0 ]
}
bw_wait_for 10 counters_folded ||
	bw_fail "with max_series=2 the third denied pair is folded within 10 s"
n=$(mcount bulwark_denied_flows_total)
if [ "$n" -le 3 ]; then
	bw_pass "max_series=2: bulwark_denied_flows_total has $n <= 2 + 1 series"
else
	bw_fail "max_series=2: bulwark_denied_flows_total has $n series"
	grep '^bulwark_denied_flows_total' "$M" | sed 's/^/#   | /'
fi
expect_cmp "max_series=2: the overflow is counted as other -> other" -ge 1 \
	bulwark_denied_flows_total source_namespace=other source_workload=other \
	destination_namespace=other destination_workload=other
expect_cmp "max_series=2: bulwark_metrics_series reports the bound" -le 3 \
	bulwark_metrics_series metric=bulwark_denied_flows_total
expect_cmp "max_series=2: bulwark_metrics_max_series" -eq 2 bulwark_metrics_max_series
expect_cmp "max_series=2: endpoints beyond the bound are other/other" -ge 1 \
	bulwark_policy_endpoint_enforcement_status namespace=other pod=other
n=$(mcount bulwark_policy_endpoint_enforcement_status)
if [ "$n" -le 8 ]; then
	bw_pass "max_series=2: enforcement status has $n <= 2 + 6 series"
else
	bw_fail "max_series=2: enforcement status has $n series"
fi
expect_cmp "max_series=2: enforcement status still counts all 4 endpoints per direction" \
	-eq 4 bulwark_policy_endpoint_enforcement_status direction=ingress
promtool_clean "promtool check metrics: the folded scrape is clean"

# ---- a listen address in use: the instance is disabled, clearly ----------------------
bw_bg "$BW_NODE" socat "TCP4-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,fork" SYSTEM:true
bw_wait_listen "$BW_NODE" tcp "$PORT"
# A second instance, [prometheus:two], on a free port is not affected.
printf '[daemon]\nmodules = identity-local netpol-k8s netpol-cilium prometheus prometheus:two\n' >"$BW_CONF"
bw_restart_daemon -o "prometheus.listen=127.0.0.1:$PORT" \
	-o "prometheus:two.listen=127.0.0.1:$PORT6"
bw_expect_output "address in use: the log says why" \
	"\[prometheus\] listen: cannot listen on 127\.0\.0\.1:$PORT: Address already in use" \
	cat "$BW_DAEMON_LOG"
bw_expect_output "address in use: bulwark modules shows [prometheus] disabled" \
	'^prometheus .*disabled' bw modules
bw_check "[prometheus:two] serves its own listener" scrape "http://127.0.0.1:$PORT6/metrics"
promtool_clean "promtool check metrics: [prometheus:two]'s scrape is clean"

# ---- bad listen values are config errors with file:line -----------------------------
# (every form is in tests/unit/test_prometheus_conf.sh; here the daemon under test)
CONF="$BW_TMP/bad.conf"
MODDIR=$(bw_module_dir)
for bad in 256.1.1.1:9962 ::1:9962 127.0.0.1:70000; do
	printf '[daemon]\nmodules = prometheus\n\n[prometheus]\nlisten = %s\n' \
		"$bad" >"$CONF"
	bw_expect_output "bulwarkd -n refuses listen = $bad with file:line" \
		"^bulwarkd: $CONF:5: \[prometheus\] listen: '.*' is not a listen address" \
		sh -c "! '$BULWARKD' -n -c '$CONF' -o 'daemon.module_dir=$MODDIR' 2>&1 >/dev/null"
done

bw_finish
