# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# demo/jobs-app-walkthrough.sh - `demo/jobs-app walkthrough` (sourced by
# demo/jobs-app): the talk's adoption path on the live demo, in 9 steps.
# Each step says in one line what it shows, runs the bulwark commands a
# user would run (shown with a "$ "), and ends with one line "=> ..." that
# sums up what the daemon answered. A step whose feature this build of
# bulwark does not have says so ("not available on this build") and the
# walk goes on. tests/e2e/test_jobs_app.sh reads these lines.

STEPS=9
step_no=0
interactive=0

step() { # TITLE WHAT-IT-SHOWS
	step_no=$((step_no + 1))
	if [ "$interactive" = 1 ] && [ "$step_no" -gt 1 ]; then
		local ans
		read -r -p "-- Enter: step $step_no of $STEPS, q: stop here -- " ans </dev/tty || ans=q
		if [ "$ans" = q ]; then
			echo "Stopped. The demo stays up: '$SELF walkthrough' starts again, '$SELF down' removes it."
			exit 0
		fi
	fi
	printf '\n[%d/%d] %s: %s\n' "$step_no" "$STEPS" "$1" "$2"
}
sums() { printf '  => %s\n' "$*"; }
# shown MAX-LINES CMD... : print "$ CMD" as a user types it, run it, show at
# most MAX-LINES lines of its output, indented
shown() {
	local max=$1 out n
	shift
	printf '  $ %s\n' "$*"
	out=$(run_bulwark "$@" 2>&1)
	n=$(printf '%s\n' "$out" | wc -l)
	printf '%s\n' "$out" | head -n "$max" | sed 's/^/    /'
	[ "$n" -le "$max" ] || printf '    ... (%d more lines)\n' $((n - max))
}
# run_bulwark bulwark ARGS... : the demo's bulwark, on the demo's socket
run_bulwark() {
	shift
	bw "$@"
}
# show_file FILE MAX-LINES : a file the walk wrote
show_file() {
	local n
	n=$(wc -l <"$1")
	head -n "$2" "$1" | sed 's/^/    /'
	[ "$n" -le "$2" ] || printf '    ... (%d more lines in %s)\n' $(($n - $2)) "$1"
}

# show_recommendation FILE MAX-LINES : a recommendation, the per-namespace
# policies (what jobs-app needs beyond the baseline) in full, the baseline
# (the same for every namespace) by its opening comment only
show_recommendation() {
	awk -v max="$2" -v file="$1" '
		function flush(   i, n, base) {
			if (nl == 0)
				return
			base = buf ~ /\nkind: CiliumClusterwideNetworkPolicy\n/
			n = split(buf, l, "\n") - 1
			while (n > 0 && l[n] == "")
				n--
			for (i = 1; i <= n; i++) {
				if (base && i > 1 && l[i] !~ /^#/) {
					out("    ... (the baseline: " n - i + 1 " more lines in " file ")")
					break
				}
				out("    " l[i])
			}
			buf = ""; nl = 0
		}
		function out(s) {
			if (++shown <= max)
				print s
			else
				rest++
		}
		/^---$/ { flush() }
		{ buf = buf $0 "\n"; nl++ }
		END {
			flush()
			if (rest)
				print "    ... (" rest " more lines in " file ")"
		}' "$1"
}

have_advisor() {
	"$BULWARK" recommend --help >/dev/null 2>&1 && have_module advisor
}
NO_ADVISOR="not available on this build: recommend, simulate and broad-rules come with the advisor module (issue 12), which this bulwark does not have"

# policies_in FILE : "Kind name, Kind ns/name" of a YAML file's documents
policies_in() {
	python3 -c '
import sys, yaml
out = []
for d in yaml.safe_load_all(open(sys.argv[1])):
    if not d:
        continue
    m = d.get("metadata", {})
    n = m.get("name", "?")
    if m.get("namespace"):
        n = m["namespace"] + "/" + n
    specs = ([d["spec"]] if d.get("spec") else []) + (d.get("specs") or [])
    rules = sum(len(sp.get(k) or []) for sp in specs
                for k in ("ingress", "egress", "ingressDeny", "egressDeny"))
    out.append("%s %s (%d rules)" % (d.get("kind", "?"), n, rules))
print(", ".join(out) if out else "none")' "$1"
}

# the talk's connections, as the service map shows them since the walk began
map_has_app() {
	bw map --namespace "$NS_APP" --since "$WALK_START" -o json 2>/dev/null | jq -e '
		def e($s; $d; $p): any(.edges[]; .source == $s and (.destination | startswith($d)) and .port == $p and .forwarded > 0);
		e("jobs-app/crawler"; "jobs-app/loader"; 50051) and e("jobs-app/crawler"; "world"; 443) and
		e("jobs-app/crawler"; "world"; 53) and e("jobs-app/jobposting"; "jobs-app/coreapi"; 9080) and
		e("jobs-app/coreapi"; "jobs-app/elasticsearch"; 9200) and e("jobs-app/loader"; "jobs-app/kafka"; 9092) and
		e("jobs-app/recruiter"; "jobs-app/kafka"; 9092) and e("jobs-app/kafka"; "jobs-app/zookeeper"; 2181) and
		e("jobs-ops/monitoring"; "jobs-app/coreapi"; 9080)' >/dev/null 2>&1
}

l7_count() { # TYPE-FILTER... : L7 flows of jobs-app seen so far
	bw observe --all --namespace "$NS_APP" --type l7 "$@" -o json 2>/dev/null | grep -c '"flow"'
}

# what the DNS proxy learned: "names learned: NAME (IP...), ...; N flows to
# NAME carry its name" (the talk's flow table names api.twitter.com)
dns_names() {
	local names named
	names=$(bw fqdn cache -o json 2>/dev/null | jq -r '[.entries[]? | {n: (.name | rtrimstr(".")), ip}] |
		group_by(.n) | map("\(.[0].n) (\(map(.ip) | unique | join(", ")))") |
		if length == 0 then "none" else join(", ") end')
	named=$(bw observe --all --to-fqdn "$TWITTER" -o json 2>/dev/null | grep -c '"flow"')
	echo "names learned: ${names:-none}; $named flows to $TWITTER carry its name"
}

walk_flows() {
	local edges drops http kafka dns
	step "Live flows" "what talks to what in $NS_APP, with the verdict of every connection, and the requests inside them (L7)"
	if ! wait_for 90 map_has_app; then
		sums "the application's connections did not all show up within 90 s (see $RUN/traffic.log)"
		return 1
	fi
	shown 14 bulwark map --namespace "$NS_APP" --since "$WALK_START"
	shown 6 bulwark observe --namespace "$NS_APP" --type l7 --last 6 -o compact
	if [ "$VISIBILITY_dnsproxy" = on ] && have_module fqdn; then
		# the names the crawler's lookups gave, and its flows named by them
		shown 4 bulwark fqdn cache
		shown 2 bulwark observe --to-fqdn "$TWITTER" --last 2 -o compact
	fi
	edges=$(bw map --namespace "$NS_APP" --since "$WALK_START" -o json | jq '.edges | length')
	drops=$(bw observe --all --namespace "$NS_APP" --since "$WALK_START" --verdict DROPPED -o json 2>/dev/null |
		grep -c '"flow"')
	if [ "$drops" = 0 ]; then
		edges="$edges connections between workloads and the outside, all forwarded"
	else
		edges="$edges connections between workloads and the outside, $drops flows dropped"
	fi
	http=$(l7_count --protocol http)
	if [ "$VISIBILITY_kafka" = on ]; then
		kafka="$(l7_count --protocol kafka) Kafka requests"
	else
		kafka="Kafka requests $VISIBILITY_kafka"
	fi
	if [ "$VISIBILITY_dnsproxy" = on ] && have_module fqdn; then
		dns="$(l7_count --protocol dns) DNS lookups; $(dns_names)"
	elif [ "$VISIBILITY_dnsproxy" = on ]; then
		dns="$(l7_count --protocol dns) DNS lookups"
	else
		dns="DNS lookups $VISIBILITY_dnsproxy"
	fi
	sums "$edges (no policy yet); L7: $http HTTP requests and responses; $kafka; $dns"
}

walk_exposure() {
	local doc
	step "Exposure" "where to start: the paths the live policy allows into and out of $NS_APP, and which of them traffic used"
	shown 14 bulwark exposure --namespace "$NS_APP"
	doc=$(bw exposure --namespace "$NS_APP" -o json) || { sums "bulwark exposure failed"; return 1; }
	sums "$(jq -r '[.namespaces[] | .workloads[]] as $w |
		def n(p; f): [$w[] | select(.[p][f])] | length;
		"of \($w | length) workloads, \(n("ingress_from_world"; "allowed")) may be reached from the world (\(n("ingress_from_world"; "seen")) were), \(n("ingress_from_other_namespaces"; "allowed")) from other namespaces (\(n("ingress_from_other_namespaces"; "seen")) were), \(n("egress_to_world"; "allowed")) may reach the world (\(n("egress_to_world"; "seen")) did): allowed but unused paths are risk to remove"' <<<"$doc")"
}

# recommend MODE FILE : bulwark recommend into FILE; prints the summary
recommend() {
	local doc
	doc=$(bw recommend --namespace "$NS_APP" --mode "$1" -o json 2>"$RUN/recommend-$1.err") || {
		sums "bulwark recommend failed: $(tail -n 1 "$RUN/recommend-$1.err")"
		return 1
	}
	jq -r '.yaml' <<<"$doc" >"$2"
	printf '  $ bulwark recommend --namespace %s --mode %s > %s\n' "$NS_APP" "$1" "$2"
	show_recommendation "$2" 60
	jq -r '.not_covered[]? | "    not covered: \(.source) -> \(.destination) \(.protocol)/\(.port): \(.reason)"' <<<"$doc"
	NOT_COVERED=$(jq '.not_covered | length' <<<"$doc")
}

walk_recommend_coarse() {
	step "Recommend (coarse)" "policies learned from the flow history: a baseline (default deny, DNS, everything within the namespace) and the few exceptions per namespace"
	COARSE=
	if ! have_advisor; then
		sums "$NO_ADVISOR"
		return 0
	fi
	recommend coarse "$RUN/coarse.yaml" || return 1
	COARSE=$RUN/coarse.yaml
	sums "$(policies_in "$COARSE"); connections seen but not covered: $NOT_COVERED"
}

walk_simulate() {
	local doc
	step "Simulate" "replay the history through the recommendation before enforcing it: what would it drop that works today?"
	if [ -z "$COARSE" ]; then
		sums "$NO_ADVISOR"
		return 0
	fi
	shown 20 bulwark simulate -f "$COARSE" --replace
	doc=$(bw simulate -f "$COARSE" --replace -o json) || { sums "bulwark simulate failed"; return 1; }
	sums "$(jq -r '"replayed \(.replayed) connections: \(.newly_dropped | length) would be dropped that pass today, \(.newly_allowed | length) would pass that are dropped today"' <<<"$doc")"
}

walk_apply() {
	local ok
	step "Apply" "enforce the recommendation, then run the application's traffic once: it must all still work"
	if [ -z "$COARSE" ]; then
		sums "nothing to apply: there is no recommendation ($NO_ADVISOR)"
		return 0
	fi
	shown 10 bulwark policy replace "$COARSE"
	printf '  $ %s traffic\n' "$SELF"
	quiet=0
	traffic_round 1 0
	ok=$((total - failed))
	if [ "$failed" = 0 ]; then
		sums "enforced: $(policies_in "$COARSE" | sed 's/ ([0-9]* rules)//g'); the application still works: $ok of $total connections answered"
	else
		sums "enforced, but $failed of $total of the application's connections failed"
		return 1
	fi
}

walk_compliance() {
	local doc
	step "Compliance" "prove it: per endpoint and direction, is default deny enforced, by which policies, and what was denied"
	shown 14 bulwark compliance --namespace "$NS_APP"
	doc=$(bw compliance --namespace "$NS_APP" -o json) || { sums "bulwark compliance failed"; return 1; }
	sums "$(jq -r '.endpoints as $e |
		def dd(d): [$e[] | select(.[d].default_deny and .[d].mode == "enforce")] | length;
		"\($e | length) endpoints of jobs-app: \(dd("ingress")) default-deny on ingress, \(dd("egress")) on egress (enforced); policies: \([$e[] | .ingress.policies[], .egress.policies[]] | unique | if length == 0 then "none" else join(", ") end)"' <<<"$doc")"
}

scanner_alerted() {
	curl -s --max-time 5 --unix-socket "$SOCK" http://bulwark/v1/alerts 2>/dev/null |
		jq -e '[.recent[]? | select(.source == "jobs-ops/scanner")] | length > 0' >/dev/null
}

walk_alert() {
	local doc
	step "Alert" "something the application never does - a scanner in jobs-ops probing jobs-app, the crawler calling an unknown host - is denied, and the deny alerts name the policy"
	printf '  $ %s traffic --unexpected\n' "$SELF"
	quiet=0
	total=0
	failed=0
	round_unexpected
	if [ -z "$COARSE" ]; then
		sums "no alert: nothing is denied while no policy is enforced (apply was skipped: $NO_ADVISOR)"
		return 0
	fi
	if ! wait_for 30 scanner_alerted; then
		sums "no alert for the scanner's denied connections within 30 s"
		return 1
	fi
	printf '  $ curl -s --unix-socket %s http://bulwark/v1/alerts   # [alerts] webhook = URL, syslog = true send them on\n' "$SOCK"
	doc=$(curl -s --max-time 5 --unix-socket "$SOCK" http://bulwark/v1/alerts)
	jq -r '.recent[] | "    \(.time) \(.verdict) \(.source) -> \(.destination):\(.port)/\(.protocol) (\(.direction), \(.count)x): \(.reason)"' <<<"$doc" | head -n 8
	sums "$(jq -r '[.recent[] | select(.source == "jobs-ops/scanner")][0] |
		"alert: \(.source) -> \(.destination):\(.port) \(.verdict), \(if .default_deny then "default deny" else "denied" end) by \(.policies | join(", "))"' <<<"$doc")"
}

walk_recommend_fine() {
	step "Recommend (fine)" "the next tightening: per workload instead of per namespace, on both sides of every rule"
	if ! have_advisor; then
		sums "$NO_ADVISOR"
		return 0
	fi
	recommend fine "$RUN/fine.yaml" || return 1
	sums "$(policies_in "$RUN/fine.yaml") (coarse: $(policies_in "$COARSE")); try it: bulwark simulate -f $RUN/fine.yaml --replace"
}

walk_broad() {
	local doc
	step "Broad rules" "rules in force that allow far more than they were used for, each with a tighter replacement"
	if ! have_advisor; then
		sums "$NO_ADVISOR"
		return 0
	fi
	# each finding with its use; the suggested policies (YAML) go to a file
	printf '  $ bulwark broad-rules > %s\n' "$RUN/broad-rules.txt"
	bw broad-rules >"$RUN/broad-rules.txt" 2>&1 || { sums "bulwark broad-rules failed"; return 1; }
	awk -v file="$RUN/broad-rules.txt" '
		/^  suggestion:/ { print "    " $0 " (a tighter policy, in " file ")"; skip = 1; next }
		skip && /^    / { next }
		{ skip = 0; if (++n <= 40) print "    " $0 }
		END { if (n > 40) print "    ... (" n - 40 " more lines in " file ")" }' "$RUN/broad-rules.txt"
	doc=$(bw broad-rules -o json) || { sums "bulwark broad-rules failed"; return 1; }
	sums "$(jq -r 'if (.rules | length) == 0 then "no rule allows far more than it was used for (\(.connections_checked) connections checked)"
		else "\(.rules | length) rules allow far more than they were used for, e.g. \(.rules[0].kind) \(.rules[0].policy): \(.rules[0].allowed) (\(.rules[0].reasons[0]))" end' <<<"$doc")"
}

walk_further() {
	local g=$PREFIX/share/bulwark/grafana
	echo
	echo "Where to look further:"
	if [ -n "${WEBUI_URL:-}" ]; then
		echo "  web UI          $WEBUI_URL  (the live map, flows, policies, exposure, compliance, recommend and simulate; forwarded into $NODE)"
	else
		echo "  web UI          in network namespace $NODE (no host port forwarded)"
	fi
	if [ -n "${METRICS_URL:-}" ]; then
		echo "  metrics         ${METRICS_URL}metrics  (forwarded; scrape it with Prometheus)"
	fi
	echo "  Grafana         with that Prometheus as a data source, import the dashboards"
	echo "                  $g/bulwark-node.json, bulwark-policy-verdicts.json, bulwark-adoption.json"
	if [ -n "${HUBBLE_SOCK:-}" ]; then
		echo "  Hubble          hubble observe --server unix://$HUBBLE_SOCK --namespace $NS_APP -f  (Cilium's hubble CLI)"
	fi
	echo "  bulwark         bulwark observe -f --namespace $NS_APP; bulwark history --verdict DROPPED;"
	echo "                  bulwark compliance -o html > compliance.html; bulwark policy list"
	[ -z "$COARSE" ] || echo "  the policies    $RUN/coarse.yaml (enforced), $RUN/fine.yaml (the next step), $RUN/broad-rules.txt"
	echo "  read            docs/adoption.md, docs/demo.md, man bulwark"
	echo "Stop the demo and remove everything it made: $SELF down"
}

cmd_walkthrough() {
	need_up
	if [ "$yes" = 0 ] && [ -t 0 ] && [ -t 1 ]; then
		interactive=1
	fi
	echo "The jobs-app walkthrough: the adoption path of the talk \"Zero Trust Networking\" on the live demo,"
	echo "$STEPS steps. bulwarkd guards namespaces $NS_APP and $NS_OPS; no policy selects them yet."
	# a walk starts from "everything allowed": the policies an earlier
	# walk applied go (the demo's daemon has no others)
	if [ -n "$(bw policy list -o json 2>/dev/null | jq -r '.[]? // empty' 2>/dev/null)" ]; then
		echo "(removing the policies of an earlier walkthrough: bulwark policy replace /dev/null)"
		bw policy replace /dev/null >/dev/null || return 1
	fi
	WALK_START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	walk_flows || return 1
	walk_exposure || return 1
	walk_recommend_coarse || return 1
	walk_simulate || return 1
	walk_apply || return 1
	walk_compliance || return 1
	walk_alert || return 1
	walk_recommend_fine || return 1
	walk_broad || return 1
	walk_further
}
