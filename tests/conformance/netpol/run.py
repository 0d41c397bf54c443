#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Kubernetes NetworkPolicy conformance runner for bulwark.

Runs the cases of ../shared/conformance/netpol (a copy lives in cases/)
against a live model cluster that run.sh builds with tests/e2e/lib.sh:
namespaces x, y, z with pods a, b, c each, TCP and UDP servers on ports 80
and 81 in every pod. Everything goes through the public CLI, as a user
would drive it:

  bulwark namespace set NS [--label K=V]...     model / step labels
  bulwark endpoint update NS/POD --label K=V... model / step labels
  bulwark policy replace -                      the step's complete set

For every step of every case the runner resets the cluster to the model
labels, applies the step's labels and policies (templated placeholders
expanded from live pod addresses), probes every cell of every matrix but
the diagonal, in parallel, re-probes mismatching cells once after 2 s, and
prints each remaining mismatch. The last line is exactly "N passed, M
failed" (cases; with --family both each case counts once per family); the
exit status is 0 only if every case passed.

Usage: run.py --cluster FILE --bulwark PATH --socket PATH [options] CASE...
CASE is a case file or a directory of them (templated/ included).
"""

import argparse
import concurrent.futures
import ipaddress
import json
import os
import re
import subprocess
import sys
import time

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.stderr.write("run.py: PyYAML missing: apt-get install python3-yaml\n")
    sys.exit(99)

ORDER = ["x/a", "x/b", "x/c", "y/a", "y/b", "y/c", "z/a", "z/b", "z/c"]
NAMESPACES = ["x", "y", "z"]
TEMPLATE_RE = re.compile(r"\{\{\s*(hostCIDR|largeCIDR)\s+([a-z]/[a-z])\s*\}\}")


def log(msg):
    print(msg, flush=True)


class Cluster:
    """The live model cluster and the CLI that drives it."""

    def __init__(self, args):
        with open(args.cluster) as f:
            self.pods = json.load(f)["pods"]
        for key in ORDER:
            if key not in self.pods:
                raise SystemExit("run.py: cluster file lacks pod %s" % key)
        self.bulwark = args.bulwark
        self.socket = args.socket
        self.family = args.family
        self.timeout = args.timeout
        self.parallel = args.parallel
        # What the daemon currently holds (None = unknown: set it).
        self.ns_labels = {ns: None for ns in NAMESPACES}
        self.pod_labels = {key: None for key in ORDER}

    # ---- CLI ---------------------------------------------------------------

    def cli(self, argv, stdin=None):
        """Run bulwark; returns (ok, combined output)."""
        cmd = [self.bulwark, "-s", self.socket] + argv
        try:
            p = subprocess.run(cmd, input=stdin, capture_output=True,
                               text=True, timeout=60)
        except subprocess.TimeoutExpired:
            return False, "timed out after 60 s: %s" % " ".join(cmd)
        out = (p.stdout + p.stderr).strip()
        if p.returncode != 0:
            return False, "%s: exit %d: %s" % (" ".join(argv[:3]),
                                               p.returncode, out)
        return True, out

    def set_labels(self, ns_labels, pod_labels):
        """Bring namespace and pod labels to the given complete sets,
        touching only what differs from what the daemon holds."""
        errors = []
        for ns in NAMESPACES:
            want = dict(ns_labels[ns])
            if self.ns_labels[ns] == want:
                continue
            argv = ["namespace", "set", ns]
            for k, v in sorted(want.items()):
                if k == "kubernetes.io/metadata.name" and v == ns:
                    continue  # always present (DESIGN section 15)
                argv += ["--label", "%s=%s" % (k, v)]
            ok, out = self.cli(argv)
            if ok:
                self.ns_labels[ns] = want
            else:
                self.ns_labels[ns] = None
                errors.append(out)
        for key in ORDER:
            want = dict(pod_labels[key])
            if self.pod_labels[key] == want:
                continue
            argv = ["endpoint", "update", key]
            for k, v in sorted(want.items()):
                argv += ["--label", "%s=%s" % (k, v)]
            ok, out = self.cli(argv)
            if ok:
                self.pod_labels[key] = want
            else:
                self.pod_labels[key] = None
                errors.append(out)
        return errors

    def replace_policies(self, policies):
        text = yaml.safe_dump_all(policies, sort_keys=False) if policies else ""
        ok, out = self.cli(["policy", "replace", "-"], stdin=text)
        return [] if ok else [out]

    # ---- templates ---------------------------------------------------------

    def ip_of(self, key):
        return self.pods[key]["ip6" if self.family == 6 else "ip4"]

    def expand(self, obj):
        """Replace {{hostCIDR ns/pod}} / {{largeCIDR ns/pod}} everywhere."""
        if isinstance(obj, dict):
            return {k: self.expand(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.expand(v) for v in obj]
        if isinstance(obj, str):
            def sub(m):
                ip = ipaddress.ip_address(self.ip_of(m.group(2)))
                if m.group(1) == "hostCIDR":
                    return "%s/%d" % (ip, ip.max_prefixlen)
                return str(ipaddress.ip_network("%s/4" % ip, strict=False))
            return TEMPLATE_RE.sub(sub, obj)
        return obj

    # ---- probes ------------------------------------------------------------

    def probe(self, proto, port, src, dst):
        """True if src reaches dst on proto/port (the server answered)."""
        ns = self.pods[src]["netns"]
        ip = self.ip_of(dst)
        t = str(self.timeout)
        if self.family == 6:
            addr = "%s6:[%s]:%d" % (proto, ip, port)
        else:
            addr = "%s4:%s:%d" % (proto, ip, port)
        if proto == "TCP":
            cmd = ["ip", "netns", "exec", ns, "socat", "-T", t, "-t", t, "-",
                   addr + ",connect-timeout=" + t]
            data = ""
        elif proto == "UDP":
            cmd = ["ip", "netns", "exec", ns, "socat", "-T", t, "-t", t, "-",
                   addr + ",readbytes=3"]
            data = "probe\n"
        else:
            raise ValueError("cannot probe protocol %s" % proto)
        try:
            p = subprocess.run(cmd, input=data, capture_output=True,
                               text=True, timeout=self.timeout + 5)
        except subprocess.TimeoutExpired:
            return False
        return p.stdout.strip() == "ok"

    def probe_cells(self, cells):
        """cells: list of (proto, port, src, dst) -> {cell: reachable}."""
        with concurrent.futures.ThreadPoolExecutor(self.parallel) as ex:
            futs = {c: ex.submit(self.probe, *c) for c in cells}
            return {c: f.result() for c, f in futs.items()}


def load_cases(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            for root, _dirs, names in os.walk(p):
                files += [os.path.join(root, n) for n in names
                          if n.endswith((".yaml", ".yml"))]
        elif os.path.isfile(p):
            files.append(p)
        else:
            raise SystemExit("run.py: no such case file or directory: %s" % p)
    # Sort by case number whatever the directory (templated/ included).
    files.sort(key=lambda f: (os.path.basename(f), f))
    cases = []
    for f in files:
        with open(f) as fh:
            doc = yaml.safe_load(fh)
        if not isinstance(doc, dict) or "steps" not in doc:
            raise SystemExit("run.py: %s is not a case file" % f)
        cases.append((os.path.basename(f)[:-5].split(".")[0], f, doc))
    return cases


def model_labels(step):
    ns_labels = {ns: {"kubernetes.io/metadata.name": ns} for ns in NAMESPACES}
    pod_labels = {key: {"pod": key.split("/")[1]} for key in ORDER}
    lab = step.get("labels") or {}
    for ns, labels in (lab.get("namespaces") or {}).items():
        ns_labels[ns] = {str(k): str(v) for k, v in (labels or {}).items()}
    for key, labels in (lab.get("pods") or {}).items():
        pod_labels[key] = {str(k): str(v) for k, v in (labels or {}).items()}
    return ns_labels, pod_labels


def run_step(cluster, case_id, si, step, report):
    """Apply and check one step; returns the number of mismatches (or 1 on
    a setup error)."""
    where = "%s step %d" % (case_id, si)
    ns_labels, pod_labels = model_labels(step)
    policies = cluster.expand(step.get("policies") or [])
    # Policies first when they shrink nothing but labels differ? Order does
    # not matter for the final state the probes see; labels first.
    errors = cluster.set_labels(ns_labels, pod_labels)
    errors += cluster.replace_policies(policies)
    if errors:
        for e in errors:
            report("  %s: setup failed: %s" % (where, e))
        return 1

    cells = []
    expect = {}
    for probe in step.get("probes") or []:
        proto = str(probe.get("protocol") or "TCP").upper()
        port = int(probe["port"])
        matrix = probe["matrix"]
        if len(matrix) != 9 or any(len(r) != 9 for r in matrix):
            report("  %s: malformed matrix for %s/%d" % (where, proto, port))
            return 1
        for i, src in enumerate(ORDER):
            for j, dst in enumerate(ORDER):
                if i == j:
                    continue  # upstream ignores loopback
                c = (proto, port, src, dst)
                cells.append(c)
                expect[c] = matrix[i][j] == "."
    got = cluster.probe_cells(cells)
    bad = [c for c in cells if got[c] != expect[c]]
    if bad:
        time.sleep(2)
        again = cluster.probe_cells(bad)
        for c in bad:
            got[c] = again[c]
        bad = [c for c in cells if got[c] != expect[c]]
    for (proto, port, src, dst) in bad:
        c = (proto, port, src, dst)
        report("  %s %s/%d %s -> %s: expected %s, got %s" % (
            where, proto, port, src, dst,
            "allowed" if expect[c] else "blocked",
            "allowed" if got[c] else "blocked"))
    if bad:
        # A compact picture of what was seen, per probe.
        for probe in step.get("probes") or []:
            proto = str(probe.get("protocol") or "TCP").upper()
            port = int(probe["port"])
            if not any(c[0] == proto and c[1] == port for c in bad):
                continue
            report("  %s %s/%d observed (rows from, cols to; '-' = self):"
                   % (where, proto, port))
            for i, src in enumerate(ORDER):
                row = "".join("-" if i == j else
                              ("." if got[(proto, port, src, dst)] else "X")
                              for j, dst in enumerate(ORDER))
                exp = probe["matrix"][i]
                report("    %s  %s   expected %s" % (src, row, exp))
    return len(bad)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cluster", required=True)
    ap.add_argument("--bulwark", required=True)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--family", choices=("4", "6", "both"), default="4",
                    help="address family of the probes and templates; "
                         "both runs every case over IPv4, then over IPv6")
    ap.add_argument("--timeout", type=int, default=1,
                    help="probe timeout in seconds (default 1)")
    ap.add_argument("--parallel", type=int, default=18)
    ap.add_argument("--only", default=None,
                    help="regular expression: run only matching case ids")
    ap.add_argument("--alive", default=None,
                    help="command that fails once the daemon is gone")
    ap.add_argument("cases", nargs="+")
    args = ap.parse_args()

    families = [4, 6] if args.family == "both" else [int(args.family)]
    args.family = families[0]
    cluster = Cluster(args)
    cases = load_cases(args.cases)
    if args.only:
        cases = [c for c in cases if re.search(args.only, c[0])]
    if not cases:
        raise SystemExit("run.py: no cases")
    runs = [(fam, c) for fam in families for c in cases]
    passed = failed = 0
    t0 = time.time()
    for fam, (case_id, path, doc) in runs:
        cluster.family = fam
        if len(families) > 1:
            case_id = "%s/IPv%d" % (case_id, fam)
        lines = []
        t1 = time.time()
        nbad = 0
        try:
            for si, step in enumerate(doc["steps"], 1):
                nbad += run_step(cluster, case_id, si, step, lines.append)
        except Exception as e:  # a broken case must not stop the run
            lines.append("  %s: runner error: %r" % (case_id, e))
            nbad += 1
        took = time.time() - t1
        if nbad == 0:
            passed += 1
            log("PASS: %s (%s, %.1f s)" % (case_id, doc.get("name", ""), took))
        else:
            failed += 1
            log("FAIL: %s (%s, %.1f s)" % (case_id, doc.get("name", ""), took))
            for l in lines:
                log(l)
        if args.alive and subprocess.run(args.alive, shell=True).returncode:
            log("  bulwarkd is no longer running: stopping here")
            failed += len(runs) - passed - failed
            break
    # Leave the cluster clean for whoever comes next.
    cluster.replace_policies([])
    log("# %d cases x IPv%s = %d runs in %.0f s" % (
        len(cases), "+IPv".join(str(f) for f in families), len(runs),
        time.time() - t0))
    log("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
