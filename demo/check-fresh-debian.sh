#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# demo/check-fresh-debian.sh - check the README's first command on a fresh
# Debian 12: a minimal bookworm (debootstrap --variant=minbase, plus git
# for the checkout) in DIR, a clone of this repository's HEAD in it, then,
# chrooted, in a mount namespace of its own:
#   1. .ci/install-deps, on the host's network (the only step that
#      downloads; services the packages would start are not started:
#      policy-rc.d, so nothing listens on the host);
#   2. `./demo/run.sh --yes` (install-deps again: nothing to do; build,
#      install to /usr/local, up, the walkthrough), in a network namespace
#      of its own that stands for the machine's (only lo), so the web UI
#      forward binds nothing on the host;
#   3. `demo/jobs-app down`, then nothing of the demo may be left.
# The mount namespace ends with it; DIR stays for a second run (which
# reuses the bootstrap and the installed packages). Not part of make check:
# it downloads about 1 GB and takes tens of minutes.
#
# Usage: demo/check-fresh-debian.sh DIR    (as root; needs debootstrap)
#   MIRROR=URL  the Debian mirror (default http://deb.debian.org/debian)
set -euo pipefail
[ $# = 1 ] && [ "$1" != -h ] && [ "$1" != --help ] || {
	sed -n '3,21p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}
[ "$(id -u)" = 0 ] || { echo "check-fresh-debian: run as root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "check-fresh-debian: apt-get install debootstrap" >&2; exit 1; }
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mkdir -p "$1" && cd "$1" && pwd)
root=$dir/root
mirror=${MIRROR:-http://deb.debian.org/debian}

if [ ! -x "$root/usr/bin/git" ]; then
	debootstrap --variant=minbase --include=git,ca-certificates bookworm "$root" "$mirror"
fi
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
EOF
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$root/etc/resolv.conf"
rm -rf "$root/root/bulwark"
git clone -q "$top" "$root/root/bulwark"
git -C "$root/root/bulwark" checkout -q "$(git -C "$top" rev-parse HEAD)"

export root
unshare -m --propagation private bash -euo pipefail -c '
	# the root of a machine is a mount point (ip netns needs that)
	mount --bind "$root" "$root"
	mount -t proc proc "$root/proc"
	mount -t sysfs sys "$root/sys"
	mount --rbind /dev "$root/dev"
	mount -t tmpfs tmpfs "$root/run"
	mount -t tmpfs tmpfs "$root/tmp"
	echo "==> [fresh Debian 12] .ci/install-deps"
	chroot "$root" /bin/bash -c "cd /root/bulwark && .ci/install-deps"
	echo "==> [fresh Debian 12] ./demo/run.sh --yes"
	unshare -n chroot "$root" /bin/bash -c "
		ip link set lo up
		cd /root/bulwark
		date -u +%T
		./demo/run.sh --yes; rc=\$?
		date -u +%T
		echo \"==> [fresh Debian 12] demo/run.sh exited \$rc\"
		echo \"==> [fresh Debian 12] demo/jobs-app down\"
		demo/jobs-app down
		left=\$(ip netns list; ls -d /run/bulwark-demo 2>/dev/null
			find /var/lib/bulwark /run/bulwark -mindepth 1 2>/dev/null
			mountpoint -q /sys/fs/bpf && echo \"bpffs on /sys/fs/bpf\"
			pgrep -af \"^/usr/local/sbin/bulwarkd\")
		[ -z \"\$left\" ] || { echo \"left behind: \$left\"; exit 1; }
		echo \"==> [fresh Debian 12] nothing left behind\"
		exit \$rc"
'
