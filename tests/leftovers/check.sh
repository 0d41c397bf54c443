#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/leftovers/check.sh - make check's last test: fails, naming them, if
# the tests left anything behind: a mount, a network namespace, an
# interface, a process or a temporary file (tests/leftovers/leftovers.py
# says how each is recognised). It runs after every other test of the run
# (tests/leftovers/local.mk makes its log depend on all the others' logs).
#
# It first proves that the checker fails: it makes one leftover of each
# kind for a scratch run (a directory in its temp dir; as root also a tmpfs
# mount, a network namespace and an interface named with the scratch run's
# id, the interface inside that namespace, where this check then looks) and
# a process with the scratch tag, and checks that each is reported;
# then it removes them and checks the real run. When the real run left
# nothing, its check directory is removed.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

here=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null || { echo "ERROR: python3 not found"; exit 99; }
checker="$here/leftovers.py"
rc=0

# ---- the checker fails on a run that left things behind ------------------------
scratch=$(mktemp -d "/tmp/bwcheck-selftest.XXXXXX") || exit 99
sid=bwst$(printf '%04x' $(($$ & 0xffff)))
stag="selftest-$$-$RANDOM"
mnt=0 ns=0
selftest_cleanup() {
	[ -n "${sleeper:-}" ] && kill "$sleeper" 2>/dev/null && wait "$sleeper" 2>/dev/null
	[ "$mnt" = 1 ] && umount "$scratch/tmp/mnt" 2>/dev/null
	[ "$ns" = 1 ] && ip netns del "$sid-x" 2>/dev/null
	rm -rf "$scratch"
	mnt=0 ns=0 sleeper=
}
trap 'selftest_cleanup' EXIT
mkdir -p "$scratch/tmp/bwtest.left" || exit 99
echo "$sid" >"$scratch/ids"
want=("leftover temp dir: $scratch/tmp/bwtest.left" "leftover process: ")
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$scratch/tmp/mnt"
	mount -t tmpfs -o size=64k bwcheck "$scratch/tmp/mnt" && mnt=1 &&
		want+=("leftover mount: $scratch/tmp/mnt (tmpfs)")
	ip netns add "$sid-x" 2>/dev/null && ns=1 &&
		want+=("leftover network namespace: $sid-x")
	# an interface named with the run id, as a stray veth would be: made in
	# the scratch namespace (never in the host's), where the checker then runs
	[ "$ns" = 1 ] && ip -n "$sid-x" link add "${sid}h1" type veth peer name "${sid}p1" \
		2>/dev/null && want+=("leftover interface: ${sid}h1")
fi
env BW_TEST_TAG="$stag" sleep 600 &
sleeper=$!
if [ "$ns" = 1 ]; then
	out=$(ip netns exec "$sid-x" "$PYTHON" "$checker" --dir "$scratch" --tag "$stag" 2>&1) &&
		src=0 || src=$?
else
	out=$("$PYTHON" "$checker" --dir "$scratch" --tag "$stag" 2>&1) && src=0 || src=$?
fi
if [ "$src" != 1 ]; then
	echo "FAIL: the checker should fail (exit 1) on a run with leftovers, it exited $src:"
	printf '%s\n' "$out" | sed 's/^/#   | /'
	rc=1
fi
for w in "${want[@]}"; do
	if printf '%s\n' "$out" | grep -qF -- "$w"; then
		echo "PASS: the checker reports '$w...'"
	else
		echo "FAIL: the checker should report '$w...'; it said:"
		printf '%s\n' "$out" | sed 's/^/#   | /'
		rc=1
	fi
done
if ! printf '%s\n' "$out" | grep -q "leftover process: $sleeper: sleep 600"; then
	echo "FAIL: the checker should name the process $sleeper (sleep 600)"
	rc=1
fi
selftest_cleanup
trap - EXIT
if out=$("$PYTHON" "$checker" --dir "$scratch" --tag "$stag" 2>&1); then
	echo "PASS: once removed, the scratch run has no leftovers"
else
	echo "FAIL: the scratch run should have no leftovers now:"
	printf '%s\n' "$out" | sed 's/^/#   | /'
	rc=1
fi

# ---- this run ---------------------------------------------------------------------
if [ -z "${BW_CHECK_DIR:-}" ] || [ -z "${BW_TEST_TAG:-}" ]; then
	echo "SKIP: BW_CHECK_DIR and BW_TEST_TAG are set by make check (AM_TESTS_ENVIRONMENT)"
	[ "$rc" = 0 ] && exit 77
	exit "$rc"
fi
if out=$("$PYTHON" "$checker" --dir "$BW_CHECK_DIR" --tag "$BW_TEST_TAG" 2>&1); then
	echo "PASS: the tests of this run left nothing behind ($BW_CHECK_DIR)"
	rm -rf "$BW_CHECK_DIR"
else
	echo "FAIL: the tests of this run left things behind:"
	printf '%s\n' "$out"
	echo "# (their check directory $BW_CHECK_DIR is kept; remove what is listed by hand)"
	rc=1
fi
exit "$rc"
