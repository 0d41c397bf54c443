#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/conformance/netpol/run.sh - the Kubernetes NetworkPolicy conformance
# suite (make check). Builds the model cluster with tests/e2e/lib.sh (a node
# netns running bulwarkd; namespaces x, y, z; pods a, b, c in each with the
# model labels, named ports serve-{80,81}-{tcp,udp,sctp} and TCP and UDP
# servers on 80 and 81), then hands every case to run.py, which drives the
# daemon through the CLI and probes each matrix.
#
# Cases: $BW_CONFORMANCE_DIR if set (e.g. ../shared/conformance/netpol),
# else the copy in tests/conformance/netpol/cases/. Other knobs:
#   BW_CONFORMANCE_FAMILY=4|6|both   address family of the probes (both)
#   BW_CONFORMANCE_ONLY=REGEX        run only the case ids matching REGEX
#   BW_CONFORMANCE_PARALLEL=N        concurrent probes (18)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../e2e/lib.sh"

cases=${BW_CONFORMANCE_DIR:-$here/cases}
if [ ! -d "$cases" ] || ! ls "$cases"/*.yaml >/dev/null 2>&1; then
	echo "ERROR: no conformance cases in '$cases'" >&2
	echo "ERROR: set BW_CONFORMANCE_DIR to the netpol case directory" \
		"(e.g. ../shared/conformance/netpol)" >&2
	exit 99
fi
# The in-tree copy should follow the shared suite: say so when they differ.
shared=${BW_CONFORMANCE_DIR:-${abs_top_srcdir:-$here/../../..}/../shared/conformance/netpol}
if [ -d "$shared" ] && [ -d "$here/cases" ] &&
   ! diff -rq "$shared" "$here/cases" >/dev/null 2>&1; then
	echo "# note: $shared differs from the in-tree copy ($here/cases)"
fi
PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null || bw_die "python3 not found: apt-get install python3"
"$PYTHON" -c 'import yaml' 2>/dev/null ||
	bw_die "PyYAML not found for $PYTHON: apt-get install python3-yaml"

bw_init
bw_start_daemon

# The model cluster. Pod addresses 10.244.<ns>.<10+pod> (all inside
# 0.0.0.0/4, as the templated cases assume) and fd00::244:<ns>:<10+pod>.
cluster=$BW_TMP/cluster.json
printf '{"pods": {' >"$cluster"
sep=""
n=0
for ns in x y z; do
	n=$((n + 1))
	bw namespace set "$ns" || bw_die "bulwark namespace set $ns failed"
	p=10
	for pod in a b c; do
		p=$((p + 1))
		ip4=10.244.$n.$p
		ip6=fd00::244:$n:$p
		bw_pod_add "$ns" "$pod" "$ip4" "$ip6" "pod=$pod" \
			serve-80-tcp=80/TCP serve-80-udp=80/UDP \
			serve-81-tcp=81/TCP serve-81-udp=81/UDP \
			serve-80-sctp=80/SCTP serve-81-sctp=81/SCTP ||
			bw_die "bulwark endpoint add $ns/$pod failed"
		bw_server_tcp "$ns/$pod" 80 81
		bw_server_udp "$ns/$pod" 80 81
		printf '%s"%s/%s": {"netns": "%s", "ip4": "%s", "ip6": "%s"}' \
			"$sep" "$ns" "$pod" "$(bw_netns_of "$ns/$pod")" \
			"$ip4" "$ip6" >>"$cluster"
		sep=", "
	done
done
printf '}}\n' >>"$cluster"

family=${BW_CONFORMANCE_FAMILY:-both}
bw_log "running the cases in $cases (address family: $family)"
"$PYTHON" "$here/run.py" --cluster "$cluster" --bulwark "$BULWARK" \
	--socket "$BW_SOCK" --family "$family" \
	--parallel "${BW_CONFORMANCE_PARALLEL:-18}" \
	${BW_CONFORMANCE_ONLY:+--only "$BW_CONFORMANCE_ONLY"} \
	--alive "kill -0 $BW_DAEMON_PID" \
	"$cases" | tee "$BW_TMP/run.out"
rc=${PIPESTATUS[0]}
summary=$(tail -n 1 "$BW_TMP/run.out")
more=0
if bw_daemon_alive; then
	if ! bw_stop_daemon >"$BW_TMP/stop.out"; then
		cat "$BW_TMP/stop.out"
		rc=1
		more=1
	fi
else
	echo "FAIL: bulwarkd died during the run"
	rc=1
	more=1
fi
if [ "$rc" != 0 ] && [ -s "$BW_DAEMON_LOG" ]; then
	echo "# ---- bulwarkd log (last 200 lines) ----"
	tail -n 200 "$BW_DAEMON_LOG" | sed 's/^/# /'
	BW_LOG_ON_EXIT=0
	more=1
fi
# Keep run.py's "N passed, M failed" the last line of the output.
[ "$more" = 0 ] || printf '%s\n' "$summary"
exit "$rc"
