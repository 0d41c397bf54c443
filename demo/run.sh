#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Quick start on a fresh Debian 12 machine, as root: install the build
# dependencies, build bulwark, install it under /usr/local, then run bulwarkd
# on the installed default configuration (/usr/local/etc/bulwark/bulwark.conf)
# with the demo workload of demo/workload.sh: a shop of three pods and a
# scanner in network namespaces, four policies, traffic every second. Stop
# it with Ctrl-C (the demo removes its namespaces and endpoints).
# From another shell: bulwark status, bulwark observe -f, bulwark map.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

.ci/install-deps
./autogen.sh >/dev/null
build=$top/_build/demo
mkdir -p "$build"
cd "$build"
"$top"/configure --prefix=/usr/local >/dev/null
make -j"$(nproc 2>/dev/null || echo 2)"
make install >/dev/null

# The datapath pins its maps on the BPF filesystem.
if ! mountpoint -q /sys/fs/bpf; then
	mount -t bpf bpf /sys/fs/bpf
fi

/usr/local/sbin/bulwarkd -n >/dev/null
echo "demo: bulwarkd on /usr/local/etc/bulwark/bulwark.conf with the demo workload (Ctrl-C stops it)"
exec "$top"/demo/workload.sh
