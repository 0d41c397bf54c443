#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""tests/leftovers/leftovers.py - what the tests of one `make check` left
behind (tests/leftovers/check.sh runs it last, after every other test).

A run is identified by its check directory (BW_CHECK_DIR, set by
AM_TESTS_ENVIRONMENT: /tmp/bwcheck.<hash of the build directory>) and its
tag (BW_TEST_TAG, the build directory, in every test's environment):

  temp dirs   anything left in CHECKDIR/tmp (the tests' TMPDIR)
  mounts      any mount point under CHECKDIR (bpffs, tmpfs, ...)
  netns       network namespaces whose name starts with a run id a test
              recorded in CHECKDIR/ids (tests/e2e/lib.sh records BW_ID)
  veths       interfaces of this (the host's) namespace named so
  processes   processes whose environment holds BW_TEST_TAG=TAG, other
              than this checker and its ancestors

Prints one line per leftover, "leftover KIND: what", and exits 1 if there
is any, 0 if none.
"""
import argparse
import os
import sys


def ancestors():
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
            pid = int(st[st.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def unescape(s):
    # /proc/mounts escapes space, tab, newline and backslash as \ooo
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and len(s) >= i + 4 and s[i + 1:i + 4].isdigit():
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True, help="the run's check directory")
    ap.add_argument("--tag", required=True, help="the run's BW_TEST_TAG")
    a = ap.parse_args()
    top = os.path.realpath(a.dir)
    found = []

    tmp = os.path.join(top, "tmp")
    if os.path.isdir(tmp):
        for name in sorted(os.listdir(tmp)):
            found.append(("temp dir" if os.path.isdir(os.path.join(tmp, name))
                          else "temp file", os.path.join(tmp, name)))

    with open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3:
                continue
            mp = unescape(parts[1])
            if mp == top or mp.startswith(top + "/"):
                found.append(("mount", "%s (%s)" % (mp, parts[2])))

    ids = []
    try:
        with open(os.path.join(top, "ids")) as f:
            ids = sorted({l.strip() for l in f if l.strip()})
    except OSError:
        pass
    if ids:
        try:
            names = sorted(os.listdir("/run/netns"))
        except OSError:
            names = []
        for n in names:
            if any(n.startswith(i) for i in ids):
                found.append(("network namespace", n))
        try:
            links = sorted(os.listdir("/sys/class/net"))
        except OSError:
            links = []
        for n in links:
            if any(n.startswith(i) for i in ids):
                found.append(("interface", n))

    mine = ancestors()
    want = ("BW_TEST_TAG=" + a.tag).encode()
    for d in sorted(os.listdir("/proc"), key=lambda x: (len(x), x)):
        if not d.isdigit() or int(d) in mine:
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                env = f.read().split(b"\0")
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if want in env:
            found.append(("process", "%s: %s" % (d, cmd[:200] or "?")))

    for kind, what in found:
        print("leftover %s: %s" % (kind, what))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
