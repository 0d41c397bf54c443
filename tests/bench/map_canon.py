#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/bench/map_canon.py - the datapath maps a policy import writes, in a
# canonical text form that two daemons (two builds, two runs) can be compared
# with: bw_policy, bw_ipcache4, bw_ipcache6 and bw_epaddr as dumped by
# `bpftool map dump pinned ... -j`, identity numbers replaced by the
# identity's labels (GET /v1/identities, read from a file), one entry per
# line, sorted. Used by tests/bench/bench_import.sh.
#
# Usage: map_canon.py BPFFS_DIR IDENTITIES_JSON [--counts EP_ID]
#   --counts EP_ID  print "POLICY_ENTRIES_OF_EP CIDR_IPCACHE_ENTRIES" instead

import json
import subprocess
import sys


def dump(bpffs, name):
    out = subprocess.run(["bpftool", "map", "dump", "pinned", "%s/%s" % (bpffs, name), "-j"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return []
    return json.loads(out.stdout or "[]")


def raw(v):
    """bpftool -j gives "key"/"value" as lists of hex byte strings."""
    return bytes(int(x, 16) for x in v)


def u32le(b, off):
    return int.from_bytes(b[off:off + 4], "little")


def u32be(b, off):
    return int.from_bytes(b[off:off + 4], "big")


def main():
    bpffs, idfile = sys.argv[1], sys.argv[2]
    counts_ep = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--counts" else None
    ids = {}
    cidr_ids = set()
    for e in json.load(open(idfile)).get("identities", []):
        labels = ",".join(sorted("%s:%s=%s" % (l.get("source", ""), l.get("key", ""), l.get("value", ""))
                                 if isinstance(l, dict) else str(l) for l in e.get("labels", [])))
        ids[e["id"]] = labels
        if "cidr:" in labels:
            cidr_ids.add(e["id"])

    def ident(n):
        if n == 0:
            return "any"
        return ids.get(n, "#%d" % n)

    lines = []
    npol = ncidr = 0
    for e in dump(bpffs, "bw_policy"):
        k, v = raw(e["key"]), raw(e["value"])
        plen, ep, idn = u32le(k, 0), u32be(k, 4), u32be(k, 8)
        d, proto, port = k[12], k[13], int.from_bytes(k[14:16], "big")
        if counts_ep is not None and ep == counts_ep:
            npol += 1
        lines.append("policy ep=%d plen=%d id=%s dir=%d proto=%d port=%d rule_ref=%d flags=%d "
                     "prefix_len=%d proxy=%d" % (ep, plen, ident(idn), d, proto, port,
                                                  u32le(v, 0), v[4], v[5], v[6]))
    for name, alen in (("bw_ipcache4", 4), ("bw_ipcache6", 16)):
        for e in dump(bpffs, name):
            k, v = raw(e["key"]), raw(e["value"])
            plen, addr = u32le(k, 0), k[4:4 + alen]
            idn = u32le(v, 0)
            if idn in cidr_ids:
                ncidr += 1
            lines.append("%s %s/%d id=%s ep=%d ifindex=%d" % (name, addr.hex(), plen, ident(idn),
                                                              u32le(v, 4), u32le(v, 8)))
    for e in dump(bpffs, "bw_epaddr"):
        k, v = raw(e["key"]), raw(e["value"])
        lines.append("epaddr %s/%d ep=%d" % (k[:16].hex(), k[16], u32le(v, 0)))
    if counts_ep is not None:
        print(npol, ncidr)
        return
    # rule_ref: numbers only grow and survive restarts (policy-refs.json), so
    # two daemons give the same rules different numbers: rank them instead
    refs = sorted({int(l.split(" rule_ref=")[1].split()[0]) for l in lines if " rule_ref=" in l})
    rank = {r: "R%d" % i for i, r in enumerate(refs)}
    out = []
    for line in lines:
        if " rule_ref=" in line:
            head, tail = line.split(" rule_ref=", 1)
            ref, rest = tail.split(" ", 1)
            line = "%s rule_ref=%s %s" % (head, rank[int(ref)], rest)
        out.append(line)
    for line in sorted(out):
        print(line)


main()
