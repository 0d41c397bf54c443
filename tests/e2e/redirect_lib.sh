# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# tests/e2e/redirect_lib.sh - what the proxy-redirect tests share (sourced
# after lib.sh): a module directory holding the shipped modules and the
# test relay (tests/modules/test-redirect.c), a daemon started with one
# relay instance per proxy class, and readers of what the relays learned.

# bw_rd_modules : make $BW_TMP/modules with links to every shipped module
# and the test relay; print its path.
bw_rd_modules() {
	local d=$BW_TMP/modules f
	mkdir -p "$d"
	for f in "$(bw_module_dir)"/*.so "$abs_top_builddir"/tests/modules/.libs/test-redirect.so; do
		[ -e "$f" ] || bw_die "module $f not built (make check builds it)"
		ln -sf "$f" "$d/"
	done
	printf '%s\n' "$d"
}

# bw_rd_start_daemon CLASS... [-o ...]... : start bulwarkd with only the
# identity and policy-format modules plus one test-redirect instance per
# CLASS (instance name = the class), from a config file of its own (so no
# shipped proxy module owns a class the relays serve). The -o words go to
# bulwarkd (e.g. -o test-redirect:dns.format=true).
bw_rd_start_daemon() {
	local mods="identity-local netpol-cilium netpol-k8s" c
	local conf=$BW_TMP/redirect.conf
	local -a classes=()
	while [ $# -gt 0 ] && [ "$1" != -o ]; do
		classes+=("$1")
		mods="$mods test-redirect:$1"
		shift
	done
	{
		printf '[daemon]\nmodules = %s\n' "$mods"
		printf '[identity-local]\n[netpol-cilium]\n[netpol-k8s]\n'
		for c in "${classes[@]}"; do
			printf '[test-redirect:%s]\nclass = %s\n' "$c" "$c"
		done
	} >"$conf"
	BW_CONF=$conf
	BW_MODULE_DIR=$(bw_rd_modules)
	export BW_CONF BW_MODULE_DIR
	bw_start_daemon "$@"
}

# bw_rd_learned CLASS : print what the CLASS relay recorded (one JSON
# object per redirected connection or datagram).
bw_rd_learned() {
	cat "$BW_STATE/test-redirect:$1/learned.jsonl" 2>/dev/null
}

# bw_rd_count CLASS : how many connections the CLASS relay saw.
bw_rd_count() {
	bw_rd_learned "$1" | grep -c . || true
}

# bw_rd_clear CLASS : forget what the CLASS relay recorded.
bw_rd_clear() {
	: >"$BW_STATE/test-redirect:$1/learned.jsonl" 2>/dev/null || true
}

# bw_rd_last CLASS PYEXPR : evaluate PYEXPR (python, the last record is `r`)
# and print the result, e.g. bw_rd_last http 'r["server"]["ip"]'.
bw_rd_last() {
	bw_rd_learned "$1" | tail -n 1 | python3 -c \
		'import json,sys; r=json.loads(sys.stdin.read()); print('"$2"')'
}

# bw_rd_expect_last DESC CLASS PYEXPR WANT : the last record's PYEXPR must
# print WANT.
bw_rd_expect_last() {
	local desc=$1 got
	got=$(bw_rd_last "$2" "$3" 2>&1)
	if [ "$got" = "$4" ]; then
		bw_pass "$desc"
	else
		bw_fail "$desc: $3 is '$got', expected '$4'; the last record:"
		bw_rd_learned "$2" | tail -n 1 | sed 's/^/#   | /'
	fi
}

# bw_rd_expect_relayed DESC CLASS PROBE ARGS... : the probe must succeed
# and the CLASS relay must have handled one more connection.
bw_rd_expect_relayed() {
	local desc=$1 cls=$2 before after
	shift 2
	before=$(bw_rd_count "$cls")
	bw_expect_ok "$desc" "$@"
	after=$(bw_rd_count "$cls")
	if [ "$after" -gt "$before" ]; then
		bw_pass "$desc: through the $cls proxy"
	else
		bw_fail "$desc: the $cls proxy did not see it (records: $before -> $after)"
	fi
}

# bw_rd_expect_direct DESC CLASS PROBE ARGS... : the probe must succeed
# without the CLASS relay seeing it.
bw_rd_expect_direct() {
	local desc=$1 cls=$2 before after
	shift 2
	before=$(bw_rd_count "$cls")
	bw_expect_ok "$desc" "$@"
	after=$(bw_rd_count "$cls")
	if [ "$after" = "$before" ]; then
		bw_pass "$desc: not through the $cls proxy"
	else
		bw_fail "$desc: the $cls proxy saw it"
	fi
}
