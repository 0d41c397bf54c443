#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# demo/run.sh - the quick start's first command, on a fresh Debian 12
# machine, as root, from a checkout of bulwark:
#
#   1. install the Debian packages bulwark needs (.ci/packages);
#   2. build bulwark (in _build/demo) and install it under /usr/local;
#   3. bring up the demo (demo/jobs-app up): bulwarkd on its installed
#      default configuration, guarding the application of the talk "Zero
#      Trust Networking" in network namespaces, with its traffic;
#   4. walk through the adoption path on it (demo/jobs-app walkthrough):
#      live flows, exposure, recommend, simulate, apply, compliance, an
#      alert, a finer recommendation, broad rules; then where to look
#      further.
#
# Usage: demo/run.sh [--yes]
#   --yes  do not wait for Enter between the walkthrough's steps
#
# The demo stays up afterwards, for the web UI, bulwark and hubble;
# `demo/jobs-app down` stops it and removes everything it made. Running this
# again rebuilds, reinstalls and starts the demo afresh.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
yes=()
for a in "$@"; do
	case $a in
	--yes | -y) yes=(--yes) ;;
	-h | --help) sed -n '3,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown argument '$a' (see --help)" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "run.sh: run as root (it installs packages and runs bulwarkd)" >&2; exit 1; }
cd "$top"

step() { printf '\n==> %s\n' "$*"; }
step "installing the build dependencies (.ci/packages)"
.ci/install-deps
step "building bulwark in _build/demo"
./autogen.sh >/dev/null
build=$top/_build/demo
mkdir -p "$build"
cd "$build"
# configure's own clean-up says "rm: cannot remove 'core': Is a directory"
# (autoconf removes core dumps by that name; here core/ is the daemon's
# source folder): only that line is dropped from what it says
"$top"/configure --prefix=/usr/local >/dev/null 2>configure.err || { cat configure.err >&2; exit 1; }
grep -v "^rm: cannot remove 'core': Is a directory$" configure.err >&2 || true
make -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
step "installing it under /usr/local"
make install >/dev/null
cd "$top"

# a demo left running by an earlier run goes first: it runs the old build
demo/jobs-app down >/dev/null
step "bringing up the jobs-app demo with bulwarkd on /usr/local/etc/bulwark/bulwark.conf"
demo/jobs-app --prefix /usr/local up
step "the walkthrough"
exec demo/jobs-app walkthrough "${yes[@]}"
