#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Quick start on a fresh Debian 12 machine, as root: install the build
# dependencies, build bulwark, install it under /usr/local and run bulwarkd
# in the foreground on the installed default configuration
# (/usr/local/etc/bulwark/bulwark.conf). Stop it with Ctrl-C.
# From another shell: bulwark status
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
echo "demo: starting bulwarkd on /usr/local/etc/bulwark/bulwark.conf (Ctrl-C stops it)"
exec /usr/local/sbin/bulwarkd
