#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""tests/unit/layering.py - the layering of the tree, checked on its includes.

Every C file of core/, lib/, include/, bpf/, cli/ and modules/ may include
headers of its own layer or of a lower one, never of a higher one
(docs/internals.md, "Layering"). Low to high:

  L0  lib/, include/bulwark/, bpf/        shared by the daemon, CLI, modules
  L1  core/log, core/config, core/state, core/api (control-API transport)
  L2  core/module/  loader and registries
  L3  core/datapath/
  L4  core/node/
  L5  core/policy/
  L6  core/flow/
  L7  core/proxy/
  L8  core/lua/
  top core/bulwarkd.c, core/module/coreapi.c (composition roots: anything)

cli/ and modules/ sit beside the core, not on it: they include L0 and
their own folder only (modules reach the core through struct bw_core_api;
modules/ may include a sibling module's header, as netpol-cilium shares
netpol-k8s/netpol_common.h, compiled into each). A file of core/ that no
rule places (a new file at the top of core/) is an error too: give it a
folder, or a line in LAYERS below.

usage: layering.py [TOP_SRCDIR]   exit 0 clean, 1 violations, 2 usage
"""
import os
import re
import sys

# (name, rank, exact files, folder/file prefixes); the first match wins.
TOP_RANK = 100
LAYERS = [
    ("top (composition root)", TOP_RANK,
     ("core/bulwarkd.c", "core/module/coreapi.c", "core/module/coreapi.h"), ()),
    ("L0 lib/, include/bulwark/, bpf/", 0, (), ("lib/", "include/", "bpf/")),
    ("L1 core/{log,config,state,api}", 1, (),
     ("core/log.", "core/config.", "core/state.", "core/api.")),
    ("L2 core/module/", 2, (), ("core/module/",)),
    ("L3 core/datapath/", 3, (), ("core/datapath/",)),
    ("L4 core/node/", 4, (), ("core/node/",)),
    ("L5 core/policy/", 5, (), ("core/policy/",)),
    ("L6 core/flow/", 6, (), ("core/flow/",)),
    ("L7 core/proxy/", 7, (), ("core/proxy/",)),
    ("L8 core/lua/", 8, (), ("core/lua/",)),
]
# Beside the core: may include L0 and these prefixes only.
SIDE = [
    ("cli/", ("cli/",)),
    ("modules/", ("modules/",)),
]
CHECKED = ("core/", "lib/", "include/", "bpf/", "cli/", "modules/")
SUFFIXES = (".c", ".h")

INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"]+)[>"]')


def layer_of(rel):
    """(name, rank) of a path relative to the top, or None."""
    for name, rank, exact, prefixes in LAYERS:
        if rel in exact or any(rel.startswith(p) for p in prefixes):
            return name, rank
    return None


def side_of(rel):
    for name, allowed in SIDE:
        if rel.startswith(name):
            return name, allowed
    return None


def strip_comments(text):
    """Blank out /* */ and // comments, keeping the line structure."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif text[i] == '"':
            j = i + 1
            while j < n and text[j] != '"' and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def resolve(top, rel, kind, name):
    """The included file as a path relative to top, or None (system)."""
    here = os.path.dirname(rel)
    cands = []
    if kind == '"':
        cands.append(os.path.normpath(os.path.join(here, name)))
    cands += [os.path.normpath(name), os.path.normpath("include/" + name)]
    if kind == '"' and rel.startswith("modules/"):
        mods = os.path.join(top, "modules")
        for d in sorted(os.listdir(mods)) if os.path.isdir(mods) else ():
            cands.append(os.path.normpath(os.path.join("modules", d, name)))
    for c in cands:
        if not c.startswith("..") and os.path.isfile(os.path.join(top, c)):
            return c
    # generated headers (bpf/bw_lxc.skel.h is made in the build tree)
    if kind == '"' and name.startswith(CHECKED):
        return os.path.normpath(name)
    return None


def check_file(top, rel):
    errors = []
    with open(os.path.join(top, rel), encoding="utf-8", errors="replace") as f:
        text = strip_comments(f.read())
    own = layer_of(rel)
    side = side_of(rel)
    if own is None and side is None:
        return ["%s: no layer: move it into a subsystem folder of core/ "
                "or give it a line in LAYERS (tests/unit/layering.py)" % rel]
    for lineno, line in enumerate(text.split("\n"), 1):
        m = INCLUDE.match(line)
        if not m:
            continue
        inc = resolve(top, rel, m.group(1), m.group(2))
        if inc is None or not inc.startswith(CHECKED):
            continue
        what = '%s:%d: includes "%s"' % (rel, lineno, m.group(2))
        hl = layer_of(inc)
        hside = side_of(inc)
        if side is not None:
            sname, allowed = side
            if (hl is not None and hl[1] == 0) or inc.startswith(allowed):
                continue
            errors.append("%s (%s), but %s may include only L0 lib/, "
                          "include/bulwark/, bpf/ and %s" %
                          (what, hl[0] if hl else side_of(inc)[0] if hside
                           else inc, sname, " ".join(allowed)))
            continue
        if hl is None:
            errors.append("%s (%s, beside the core), which %s (%s) must not "
                          "include" % (what, hside[0] if hside else inc, rel,
                                       own[0]))
        elif hl[1] > own[1]:
            errors.append("%s (%s), a layer above %s's own (%s)" %
                          (what, hl[0], rel, own[0]))
    return errors


def files(top):
    for d in CHECKED:
        base = os.path.join(top, d)
        for root, dirs, names in os.walk(base):
            dirs.sort()
            for n in sorted(names):
                if n.endswith(SUFFIXES):
                    yield os.path.relpath(os.path.join(root, n), top)


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1] in ("-h", "--help")):
        print(__doc__)
        return 0 if len(argv) == 2 else 2
    top = argv[1] if len(argv) == 2 else "."
    if not os.path.isdir(os.path.join(top, "core")):
        print("layering.py: %s has no core/ folder" % top, file=sys.stderr)
        return 2
    errors, n = [], 0
    for rel in files(top):
        n += 1
        errors += check_file(top, rel)
    for e in errors:
        print(e)
    if errors:
        print("layering: %d violation(s) in %d files (docs/internals.md, "
              "\"Layering\")" % (len(errors), n))
        return 1
    print("layering: %d files, every include goes down or sideways" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
