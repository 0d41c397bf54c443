#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# tests/unit/test_layering.sh - no file includes a header of a layer above
# its own (tests/unit/layering.py, docs/internals.md "Layering"). First the
# checker proves it can fail: on a tree made here with one violation of
# each kind it must name every file:line and both layers, and pass the
# allowed includes; then it runs on the source tree.
set -u

top=${abs_top_srcdir:-${top_srcdir:-.}}
checker="$top/tests/unit/layering.py"
command -v python3 >/dev/null 2>&1 || { echo "SKIP: no python3"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bw-layering-XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

expect() { # expect TEXT: the last output holds TEXT
	if grep -qF -- "$1" "$tmp/out"; then
		echo "ok: names: $1"
	else
		echo "FAIL: the checker did not say: $1"
		fail=1
	fi
}
reject() { # reject TEXT: the last output does not hold TEXT
	if grep -qF -- "$1" "$tmp/out"; then
		echo "FAIL: the checker complained about: $1"
		fail=1
	else
		echo "ok: allowed: $1"
	fi
}

# ---- a crafted tree: one violation of each kind, and allowed includes ----
t="$tmp/tree"
mkdir -p "$t/core/node" "$t/core/policy" "$t/core/datapath" "$t/core/module" \
	"$t/lib" "$t/cli" "$t/modules/m" "$t/modules/n" "$t/include/bulwark" "$t/bpf"
for h in core/log.h core/api.h core/node/endpoint.h core/policy/policy.h \
	core/datapath/datapath.h core/module/module.h lib/prefix.h \
	include/bulwark/module.h bpf/bw_datapath.h cli/cli.h modules/n/shared.h \
	modules/m/m.h; do
	echo "/* $h */" > "$t/$h"
done
printf '#include <errno.h>\n#include "core/log.h"\n#include "core/policy/policy.h"\n' \
	> "$t/core/node/up.c"
printf '/* #include "core/policy/policy.h" in a comment */\n#include "core/node/endpoint.h"\n#include "core/datapath/datapath.h"\n#include "lib/prefix.h"\n#include <bulwark/module.h>\n' \
	> "$t/core/policy/down.c"
printf '#include "core/datapath/datapath.h"\n' > "$t/core/api.c"
printf '#include "core/node/endpoint.h"\n#include "core/policy/policy.h"\n' \
	> "$t/core/module/coreapi.c"
echo '/* the table */' > "$t/core/module/coreapi.h"
printf '#include "core/module/module.h"\n#include "core/module/coreapi.h"\n' \
	> "$t/core/module/loader.c"
printf '#include "lib/prefix.h"\n#include "core/log.h"\n' > "$t/lib/l.c"
printf '#include "cli.h"\n#include "lib/prefix.h"\n#include "bpf/bw_datapath.h"\n#include "core/api.h"\n' \
	> "$t/cli/c.c"
printf '#include "m.h"\n#include "shared.h"\n#include <bulwark/module.h>\n\n#include "core/module/module.h"\n' \
	> "$t/modules/m/m.c"
printf '#include "modules/m/m.h"\n' > "$t/core/datapath/mod.c"
printf 'int x;\n' > "$t/core/newfile.c"

python3 "$checker" "$t" > "$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
if [ "$rc" -eq 1 ]; then
	echo "ok: the crafted tree fails (exit 1)"
else
	echo "FAIL: the crafted tree gave exit $rc, not 1"
	fail=1
fi
expect 'core/node/up.c:3: includes "core/policy/policy.h" (L5 core/policy/), a layer above core/node/up.c'"'"'s own (L4 core/node/)'
expect 'core/api.c:1: includes "core/datapath/datapath.h" (L3 core/datapath/), a layer above core/api.c'"'"'s own (L1 core/{log,config,state,api})'
expect 'lib/l.c:2: includes "core/log.h" (L1 core/{log,config,state,api}), a layer above lib/l.c'"'"'s own (L0 lib/, include/bulwark/, bpf/)'
expect 'cli/c.c:4: includes "core/api.h" (L1 core/{log,config,state,api}), but cli/ may include only'
expect 'modules/m/m.c:5: includes "core/module/module.h" (L2 core/module/), but modules/ may include only'
expect 'core/datapath/mod.c:1: includes "modules/m/m.h" (modules/, beside the core)'
expect 'core/newfile.c: no layer'
expect 'core/module/loader.c:2: includes "core/module/coreapi.h" (top (composition root)), a layer above core/module/loader.c'"'"'s own (L2 core/module/)'
expect 'layering: 8 violation(s)'
reject 'core/policy/down.c'
reject 'core/module/coreapi.c'
reject 'core/module/loader.c:1'
reject 'core/node/up.c:2'
reject 'cli/c.c:1'
reject 'cli/c.c:2'
reject 'cli/c.c:3'
reject 'modules/m/m.c:1'
reject 'modules/m/m.c:2'

# ---- the source tree ----
echo "--- $top"
python3 "$checker" "$top" || fail=1
exit $fail
