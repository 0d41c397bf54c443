#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/bench/bench_advisor.sh - the advisor's verbs over a large history
# (docs/benchmarks.md, benchmark 11; modules/advisor). Goal (issue 12):
# recommend and simulate over 1M aggregated rows and 1,000 endpoints in
# at most 2 s each.
#
# A flow store database of ROWS aggregated rows (default 1M; the module's
# own writer, tests/bench/bench_flowstore_fill -a: distinct connections
# between 500 workloads in 50 namespaces, each recorded at both sides, one
# destination in eight outside the cluster, one key in 20 denied), bulwarkd
# started on it with ENDPOINTS endpoints (default 1,000: 50 namespaces x 10
# workloads x 2 pods, veths into one pod netns) and 150 policies (per
# namespace: default deny, allow from the namespace, the world to app0 on
# 80). Timed, RUNS times each (median), from the CLI's start to its end:
#   recommend        bulwark recommend -o json (coarse, every namespace)
#   recommend_fine   bulwark recommend --mode fine -o json
#   simulate         bulwark simulate -f <the coarse recommendation> --replace -o json
#   broad_rules      bulwark broad-rules -o json
# and as the baseline in the same run `bulwark history --limit 1000 -o json`
# (the same database read, grouped, 1,000 rows answered). The advisor's own
# figure for each request (history read included) comes from GET
# /v1/advisor (last_seconds).
#
# Usage: bench_advisor.sh [--quick] [--runs N] [--rows N] [--endpoints N]
# --quick: 1 run each, 200,000 rows.
# Writes tests/bench/results/advisor-DATE.{json,txt} in the build tree.

set -u
BENCH_NAME=advisor
RUNS=3
ROWS=1000000
NEP=1000
while [ $# -gt 0 ]; do
	case $1 in
	--quick) RUNS=1; ROWS=200000 ;;
	--runs) RUNS=$2; shift ;;
	--rows) ROWS=$2; shift ;;
	--endpoints) NEP=$2; shift ;;
	-h | --help) sed -n '3,29p' "$0"; exit 0 ;;
	*) echo "bench_advisor.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_init
T_START=$(bench_now_ns)
MACHINE=$(bench_machine_json)
FILL=$abs_top_builddir/tests/bench/bench_flowstore_fill
[ -x "$FILL" ] || bw_die "build the helper first: make tests/bench/bench_flowstore_fill"

# ---- the history: ROWS rows; a pod key is two rows (both sides), an outside one one --
# keys = rows / (2 * 7/8 + 1/8) = rows * 8 / 15
KEYS=$((ROWS * 8 / 15))
out=$("$FILL" -f "$BW_TMP/h.db" -n "$KEYS" -k "$KEYS" -w 500 -N 50 -H 1 -e 0 -a) ||
	bw_die "fill"
bench_sample fill db keys "$KEYS"
bench_sample fill db rows "$(echo "$out" | awk '{ print $4 }')"
bench_sample fill db bytes "$(echo "$out" | awk '{ print $6 }')"
bench_sample fill db seconds "$(echo "$out" | awk '{ print $8 }')"
bw_log "filled: $out"

# ---- the node: endpoints and policies ----------------------------------------------
bw_start_daemon -o flowstore.path="$BW_TMP/h.db" -o flowstore.max_size=64G \
	-o flowstore.retention=30d -o advisor.window=2h >/dev/null
PODS=$BW_ID-pods
bw_netns_create "$PODS"
{
	for i in $(seq 0 $((NEP - 1))); do
		echo "link add ${BW_ID}p$i type veth peer name e$i netns $PODS"
		echo "link set ${BW_ID}p$i up"
	done
} >"$BW_TMP/veths.batch"
ip -n "$BW_NODE" -batch "$BW_TMP/veths.batch" || bw_die "creating $NEP veths"
for n in $(seq 0 49); do bw namespace set "ns$n" >/dev/null; done
for i in $(seq 0 $((NEP - 1))); do
	ns=ns$((i % 50)) app=app$((i / 50 % 10))
	bw endpoint add "$ns/$app-$i" --host-ifname "${BW_ID}p$i" \
		--ip "10.200.$((i / 250)).$((i % 250 + 1))" --label "app=$app" >/dev/null ||
		bw_die "endpoint $ns/$app-$i"
done
{
	for n in $(seq 0 49); do
		[ "$n" = 0 ] || echo ---
		cat <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: ns$n}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: same-namespace, namespace: ns$n}
spec:
  podSelector: {}
  ingress: [{from: [{podSelector: {}}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: app0-from-world, namespace: ns$n}
spec:
  endpointSelector: {matchLabels: {app: app0}}
  ingress: [{fromEntities: [world], toPorts: [{ports: [{port: "80", protocol: TCP}]}]}]
EOF
	done
} >"$BW_TMP/policies.yaml"
bw policy import "$BW_TMP/policies.yaml" >/dev/null || bw_die "policy import"
bench_sample setup node endpoints "$NEP"

# ---- the verbs ---------------------------------------------------------------------------
advisor_last() { # VERB : the daemon's own time for the last request of VERB
	curl -s --unix-socket "$BW_SOCK" http://x/v1/advisor |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["verbs"][sys.argv[1]]["last_seconds"])' "$1"
}
advisor_phases() { # VERB : samples of the last request's phases (GET /v1/advisor)
	local name=$1 p
	for p in prepare read work free; do
		bench_sample t "$name" "phase_$p" "$(curl -s --unix-socket "$BW_SOCK" http://x/v1/advisor |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["verbs"][sys.argv[1]]["last_phases"][sys.argv[2]])' "$2" "$p")"
	done
}
timed() { # NAME VERB CMD... : RUNS runs, seconds of each (CLI and daemon)
	local name=$1 verb=$2 i a b
	shift 2
	for i in $(seq "$RUNS"); do
		a=$(bench_now_ns)
		"$@" >"$BW_TMP/$name.out" 2>"$BW_TMP/$name.err" || bw_die "$name failed: $(cat "$BW_TMP/$name.err")"
		b=$(bench_now_ns)
		bench_sample t "$name" seconds "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')"
		[ -z "$verb" ] || bench_sample t "$name" daemon_seconds "$(advisor_last "$verb")"
		[ -z "$verb" ] || advisor_phases "$name" "$verb"
	done
}
if [ -n "${BENCH_PERF:-}" ]; then
	# where the time goes (not a figure): perf over one recommend and one simulate
	perf record -q -g -p "$BW_DAEMON_PID" -o "$BW_TMP/perf.data" >/dev/null 2>&1 &
	PERF=$!
	bw recommend -o json >"$BW_TMP/p.json" 2>/dev/null
	python3 -c 'import json,sys; open(sys.argv[2], "w").write(json.load(open(sys.argv[1]))["yaml"])' \
		"$BW_TMP/p.json" "$BW_TMP/p.yaml"
	bw simulate -f "$BW_TMP/p.yaml" --replace -o json >/dev/null 2>&1
	kill -INT "$PERF"; wait "$PERF"
	perf report -i "$BW_TMP/perf.data" --no-children --percent-limit 1.5 --stdio 2>/dev/null |
		grep -v '^$' | head -60
fi
timed history "" bw history --limit 1000 -o json
timed recommend recommend bw recommend -o json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); open(sys.argv[2], "w").write(d["yaml"]); print(d["verification"]["connections"], d["verification"]["allowed"], len(d["policies"]))' \
	"$BW_TMP/recommend.out" "$BW_TMP/coarse.yaml" >"$BW_TMP/rec.check"
read -r rc_conns rc_allowed rc_pols <"$BW_TMP/rec.check"
bench_sample check recommend connections "$rc_conns"
bench_sample check recommend allowed "$rc_allowed"
bench_sample check recommend policies "$rc_pols"
timed simulate simulate bw simulate -f "$BW_TMP/coarse.yaml" --replace -o json
bench_sample check simulate replayed "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["replayed"])' "$BW_TMP/simulate.out")"
bench_sample check simulate newly_dropped "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["newly_dropped"]))' "$BW_TMP/simulate.out")"
timed broad_rules broad-rules bw broad-rules -o json
timed recommend_fine recommend bw recommend --mode fine -o json
bench_sample check recommend_fine yaml_bytes "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["yaml"]))' "$BW_TMP/recommend_fine.out")"
bw_stop_daemon >/dev/null

# ---- report -------------------------------------------------------------------------------
T_END=$(bench_now_ns)
OUT=$BENCH_RESULTS_DIR/$BENCH_NAME-$BENCH_DATE
python3 - "$BENCH_SAMPLES" "$OUT" "$MACHINE" "$RUNS" "$ROWS" "$NEP" "$T_START" "$T_END" <<'EOF'
import json, statistics, sys
samples, out, machine, runs, rows, nep, t0, t1 = sys.argv[1:9]
S = {}
for line in open(samples):
    mode, n, metric, value = line.rstrip("\n").split("\t")
    S.setdefault((mode, n, metric), []).append(float(value))
def med(mode, n, metric):
    v = S.get((mode, n, metric))
    return statistics.median(v) if v else None
res = {"benchmark": "advisor", "machine": json.loads(machine), "runs": int(runs),
       "seconds": (int(t1) - int(t0)) / 1e9, "verbs": {}, "samples": [[*k, v] for k, v in S.items()]}
db_rows = med("fill", "db", "rows") or 0
lines = ["Benchmark 11: the advisor (%s, %d run(s) each)" % (machine, int(runs)), "",
         "%d aggregated rows (%d distinct connections, %.0f MiB, filled in %.0f s), %s endpoints, 150 policies" % (
             db_rows, med("fill", "db", "keys") or 0, (med("fill", "db", "bytes") or 0) / 1048576,
             med("fill", "db", "seconds") or 0, nep), "",
         "| command | seconds (CLI, median) | daemon's own | ratio to history --limit 1000 | goal |",
         "| --- | ---: | ---: | ---: | --- |"]
base = med("t", "history", "seconds")
for name, goal in (("history", "baseline"), ("recommend", "<= 2 s"), ("simulate", "<= 2 s"),
                   ("broad_rules", "-"), ("recommend_fine", "-")):
    v = med("t", name, "seconds")
    if v is None:
        continue
    d = med("t", name, "daemon_seconds")
    res["verbs"][name] = {"seconds": v, "daemon_seconds": d}
    lines.append("| %s | %.3f | %s | %.1f | %s |" % (name.replace("_", " "), v,
                 "-" if d is None else "%.3f" % d, v / base if base else 0, goal))
    ph = [med("t", name, "phase_" + p) for p in ("prepare", "read", "work", "free")]
    if None not in ph:
        res["verbs"][name]["phases"] = dict(zip(("prepare", "read", "work", "free"), ph))
phl = ["", "The daemon's phases (GET /v1/advisor last_phases, seconds): prepare (the route), read (the history scan), work, "
       "free (after the reply was queued):", ""]
for name, v in res["verbs"].items():
    if "phases" in v:
        phl.append("- %s: %s" % (name.replace("_", " "), ", ".join("%s %.3f" % kv for kv in v["phases"].items())))
if len(phl) > 3:
    lines += phl
res["check"] = {k[1] + "_" + k[2]: v[-1] for k, v in S.items() if k[0] == "check"}
c = res["check"]
lines += ["", "recommend: %d connections replayed through the recommendation, %d stay allowed, %d policies; "
          "simulate of it (--replace): %d replayed, %d newly dropped; the fine YAML: %d bytes." % (
              c.get("recommend_connections", 0), c.get("recommend_allowed", 0), c.get("recommend_policies", 0),
              c.get("simulate_replayed", 0), c.get("simulate_newly_dropped", 0), c.get("recommend_fine_yaml_bytes", 0))]
json.dump(res, open(out + ".json", "w"), indent=1)
open(out + ".txt", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
print("\nwritten: %s.json %s.txt" % (out, out))
EOF
bw_pass "benchmark ran"
bw_finish
