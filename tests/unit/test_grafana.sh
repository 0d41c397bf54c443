#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/unit/test_grafana.sh - the Grafana dashboards in etc/grafana/ can be
# imported and query only metrics bulwarkd exports:
#  - each file is a dashboard Grafana imports asking for a Prometheus data
#    source (__inputs DS_PROMETHEUS, every panel and target uses
#    ${DS_PROMETHEUS}), schemaVersion >= 36, unique uid and panel ids;
#  - every PromQL expression (panel targets and template variables) parses
#    (promtool check rules, Grafana's $variables replaced by sample values);
#  - every metric those expressions name is one a module exports: the
#    modules' declared families, modules/*/metrics.list (the prometheus
#    module's, which tests/e2e/test_metrics.sh checks against a real
#    scrape, and those of the modules that register metrics through it:
#    flowstore, alerts, checked by their e2e tests) (a summary's NAME_sum /
#    NAME_count count as NAME);
#  - the dashboards cover what the module is for: verdicts per namespace,
#    top denied source -> destination, drop reasons, lost events,
#    enforcement status;
#  - the adoption dashboard covers exposure per namespace over time,
#    default-deny coverage, top denied source -> destination and alerts;
#  - docs/metrics.md documents every metric of every metrics.list.
set -u

: "${abs_top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
command -v python3 >/dev/null 2>&1 || { echo "python3 not found: apt-get install python3"; exit 99; }
command -v promtool >/dev/null 2>&1 || { echo "promtool not found: apt-get install prometheus"; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bw-grafana.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

python3 - "$abs_top_srcdir" "$tmp" <<'EOF'
import glob, json, os, re, subprocess, sys

top, tmp = sys.argv[1:3]
passed = failed = 0

def check(ok, desc, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("PASS: " + desc)
    else:
        failed += 1
        print("FAIL: " + desc + (": " + detail if detail else ""))

# The modules' declared families.
declared = {}
for path in sorted(glob.glob(os.path.join(top, "modules/*/metrics.list"))):
    for line in open(path):
        if line.strip() and not line.startswith("#"):
            name, mtype = line.split()[:2]
            declared[name] = mtype
check(len(declared) >= 20, "the metrics.list files declare the modules' families (%d)" % len(declared))

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right",
            "bool", "and", "or", "unless", "offset", "inf", "nan"}

def metrics_of(expr):
    """Metric names in a PromQL expression (not functions, labels, keywords)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"'(?:[^'\\]|\\.)*'", "''", e)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w$:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", e):
        if m.group(2) or m.group(1) in KEYWORDS:
            continue
        names.add(m.group(1))
    return names

def known(name):
    if name in declared:
        return True
    for suf in ("_sum", "_count", "_bucket"):
        base = name[: -len(suf)]
        if name.endswith(suf) and declared.get(base) in ("summary", "histogram"):
            return True
    return False

def grafana_to_promql(expr):
    """Replace Grafana's variables with values promtool can parse."""
    e = re.sub(r"\$__(rate_interval|interval|range)\b", "5m", expr)
    e = re.sub(r"\$\{?\w+\}?", ".*", e)
    return e

def panels_of(doc):
    for p in doc.get("panels", []):
        yield p
        for q in p.get("panels", []) or []:
            yield q

def datasources(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "datasource":
                yield v
            yield from datasources(v)
    elif isinstance(node, list):
        for v in node:
            yield from datasources(v)

files = sorted(glob.glob(os.path.join(top, "etc/grafana/*.json")))
check(len(files) >= 1, "etc/grafana has dashboards (%d)" % len(files))
uids, all_exprs, queried = set(), [], {}
for path in files:
    base = os.path.basename(path)
    try:
        doc = json.load(open(path))
    except ValueError as e:
        check(False, base + " is JSON", str(e))
        continue
    inputs = doc.get("__inputs", [])
    check(any(i.get("name") == "DS_PROMETHEUS" and i.get("type") == "datasource"
              and i.get("pluginId") == "prometheus" for i in inputs),
          base + ": __inputs asks for a Prometheus data source as DS_PROMETHEUS")
    check(isinstance(doc.get("schemaVersion"), int) and doc["schemaVersion"] >= 36,
          base + ": schemaVersion >= 36 (%s)" % doc.get("schemaVersion"))
    check(doc.get("id") is None, base + ": id is null (importable)")
    uid = doc.get("uid")
    check(bool(uid) and uid not in uids and len(uid) <= 40, base + ": unique uid " + str(uid))
    uids.add(uid)
    check(bool(doc.get("title")), base + ": has a title")
    bad_ds = [d for d in datasources(doc)
              if not (isinstance(d, dict) and (d.get("uid") == "${DS_PROMETHEUS}"
                      or d.get("uid") == "-- Grafana --"))]
    check(not bad_ds, base + ": every data source is ${DS_PROMETHEUS}", repr(bad_ds[:3]))
    ids = [p.get("id") for p in panels_of(doc)]
    check(len(ids) == len(set(ids)) and None not in ids, base + ": panel ids are unique")
    npanels = 0
    for p in panels_of(doc):
        if p.get("type") == "row":
            continue
        npanels += 1
        g = p.get("gridPos", {})
        where = "%s: panel '%s'" % (base, p.get("title"))
        check(g.get("x", -1) >= 0 and g.get("w", 0) > 0 and g["x"] + g["w"] <= 24
              and g.get("h", 0) > 0, where + " has a grid position")
        targets = p.get("targets", [])
        check(len(targets) > 0 and all(t.get("expr") for t in targets), where + " has queries")
        for t in targets:
            all_exprs.append((where, t["expr"]))
            for n in metrics_of(t["expr"]):
                queried.setdefault(n, set()).add(where)
    check(npanels >= 5, base + ": has panels (%d)" % npanels)
    for v in doc.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.match(r"\s*label_values\((.*),\s*\w+\)\s*$", q or "")
        if m:
            all_exprs.append(("%s: variable %s" % (base, v.get("name")), m.group(1)))
            for n in metrics_of(m.group(1)):
                queried.setdefault(n, set()).add(base + ": variable " + v.get("name", ""))

# Every expression parses.
rules = {"groups": [{"name": "grafana", "rules": [
    {"record": "bw_grafana_check_%d" % i, "expr": grafana_to_promql(e)}
    for i, (_, e) in enumerate(all_exprs)]}]}
rf = os.path.join(tmp, "rules.yml")
json.dump(rules, open(rf, "w"), indent=1)
r = subprocess.run(["promtool", "check", "rules", rf], capture_output=True, text=True)
check(r.returncode == 0, "promtool parses all %d dashboard queries" % len(all_exprs),
      (r.stdout + r.stderr).strip()[-2000:])

# Every queried metric is exported.
check(len(queried) >= 10, "the dashboards query metrics (%d distinct)" % len(queried))
for n in sorted(queried):
    check(known(n), "%s (queried by %s) is exported by a module"
          % (n, sorted(queried[n])[0]),
          "not in any modules/*/metrics.list")

# What the dashboards are for.
def some_expr(pattern):
    return any(re.search(pattern, e) for _, e in all_exprs)
check(some_expr(r"bulwark_policy_verdicts_by_namespace_total") and
      some_expr(r"by \(namespace[,)]"), "a panel shows verdicts per namespace")
check(some_expr(r"topk\(\d+, sum by \(source_namespace, source_workload, destination_namespace, destination_workload\) \(increase\(bulwark_denied_flows_total"),
      "a panel shows the top denied source -> destination pairs")
check(some_expr(r"sum by \(reason\) \(rate\(hubble_drop_total"), "a panel shows drops by reason")
check(some_expr(r"hubble_lost_events_total"), "a panel shows lost events")
check(some_expr(r"bulwark_endpoints\{") and some_expr(r"bulwark_policy_endpoint_enforcement_status"),
      "panels show the enforcement status")

check(some_expr(r"sum by \(namespace\) \(bulwark_exposure_unused_workloads"),
      "a panel shows exposure per namespace over time")
check(some_expr(r"bulwark_compliance_endpoints\{[^}]*mode!=\"none\"\}\) / sum by \(direction\) \(bulwark_compliance_endpoints"),
      "a panel shows default-deny coverage")
check(some_expr(r"bulwark_alerts_raised_total") and some_expr(r"bulwark_alerts_sent_total"),
      "panels show deny alerts raised and delivered")

# Every declared metric is documented.
doc = open(os.path.join(top, "docs/metrics.md")).read()
for n in sorted(declared):
    check("`%s" % n in doc, "docs/metrics.md documents %s" % n)

print("# test_grafana.sh: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
EOF
