#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/bench/bench_churn.py - endpoint churn against a running bulwarkd
# (docs/benchmarks.md, "Endpoint churn"): ROUNDS times, add N endpoints
# and delete them again, through the control API (the requests `bulwark
# endpoint add` and `endpoint delete` send: POST /v1/endpoints, DELETE
# /v1/endpoints/NS/POD), one request at a time over one connection, each
# timed from the request to the daemon's reply. The interfaces must exist
# (bench_datapath.sh makes N veth pairs named PREFIX1..PREFIXN in the node
# netns). Every pod gets labels of its own (a pod-template-hash per round,
# as a Deployment's rollout gives), so each round allocates N new
# identities and releases them: what grows from round to round shows.
#
# Usage: bench_churn.py SOCKET PID N ROUNDS IFPREFIX
# Prints one JSON object per round on stdout:
#   {"round": r, "add_ms": [...], "delete_ms": [...], "add_cpu_ms": ..,
#    "delete_cpu_ms": .. (the daemon's CPU time per request), "rss_kib_full":
#    .., "rss_kib_empty": .., "identities_full": .., "identities_empty": ..}

import http.client
import json
import os
import socket
import sys
import time


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=120)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(120)
        self.sock.connect(self.path)


def cpu_ms(pid):
    """The daemon's CPU time (user + system), ms."""
    with open("/proc/%d/stat" % pid) as f:
        w = f.read().rsplit(")", 1)[1].split()
    return (int(w[11]) + int(w[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Client:
    def __init__(self, path):
        self.path = path
        self.c = UnixHTTP(path)

    def call(self, method, url, body=None):
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json"} if data else {}
        for attempt in (0, 1):
            try:
                t0 = time.perf_counter()
                self.c.request(method, url, body=data, headers=hdrs)
                r = self.c.getresponse()
                out = r.read()
                t1 = time.perf_counter()
                return r.status, out, (t1 - t0) * 1000.0
            except (http.client.HTTPException, OSError):
                if attempt:
                    raise
                self.c.close()
                self.c = UnixHTTP(self.path)  # the server closed an idle one
        return 0, b"", 0.0


def identities(cl):
    st, out, _ = cl.call("GET", "/v1/identities")
    if st != 200:
        return None
    d = json.loads(out)
    if isinstance(d, dict):
        d = d.get("identities", [])
    return len(d)


def main():
    sock, pid, n, rounds, pfx = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
        int(sys.argv[4]), sys.argv[5]
    cl = Client(sock)
    for r in range(1, rounds + 1):
        add, dele = [], []
        c0 = cpu_ms(pid)
        for i in range(1, n + 1):
            body = {"namespace": "churn", "pod": "web-%d-p%d" % (r, i),
                    "host_ifname": "%s%d" % (pfx, i),
                    "ips": ["10.%d.%d.%d" % (100 + i // 62500, (i // 250) % 250, i % 250 + 1)],
                    "labels": {"app": "web%d" % (i % 10), "instance": "r%d-%d" % (r, i)}}
            st, out, ms = cl.call("POST", "/v1/endpoints", body)
            if st not in (200, 201):
                sys.exit("add %d: HTTP %d %s" % (i, st, out[:200]))
            add.append(ms)
        c1 = cpu_ms(pid)
        full_rss, full_ids = rss_kib(pid), identities(cl)
        c2 = cpu_ms(pid)
        for i in range(1, n + 1):
            st, out, ms = cl.call("DELETE", "/v1/endpoints/churn/web-%d-p%d" % (r, i))
            if st != 200:
                sys.exit("delete %d: HTTP %d %s" % (i, st, out[:200]))
            dele.append(ms)
        c3 = cpu_ms(pid)
        print(json.dumps({"round": r, "add_ms": add, "delete_ms": dele,
                          "add_cpu_ms": (c1 - c0) / n, "delete_cpu_ms": (c3 - c2) / n,
                          "rss_kib_full": full_rss, "rss_kib_empty": rss_kib(pid),
                          "identities_full": full_ids, "identities_empty": identities(cl)}),
              flush=True)


if __name__ == "__main__":
    main()
