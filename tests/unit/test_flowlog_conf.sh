#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/unit/test_flowlog_conf.sh - the flowlog module's config values
# through `bulwarkd -n` (no root, no BPF): its check hook makes a bad
# allowlist, denylist or field_mask, or an empty path, a config error that
# names the file and line of the key (or the -o option), the section and
# the key, with exit status 1 and nothing printed; good values are accepted
# and printed back; an instance section [flowlog:NAME] is checked the same.
set -u

MODULE=flowlog
. "$(dirname "$0")/modconf_lib.sh"

# refused WHAT EXPECTED-LINE [ARG]... : -n exits 1 with that line on stderr
# (after the info lines of the instances loaded before) and prints no
# configuration.
refused() {
	what=$1
	want=$2
	shift 2
	check "$@"
	if [ "$rc" -eq 1 ] && [ "$(tail -n 1 "$tmp/err")" = "$want" ] &&
	   [ ! -s "$tmp/out" ]; then
		ok "$what"
	else
		bad "$what (exit $rc)"
		echo "#   expected: $want"
		sed 's/^/#   actual:   /' "$tmp/err"
	fi
}

# section BODY... : [daemon] modules = flowlog, then [flowlog] (line 4)
# with one key per argument from line 5 on.
section() {
	{
		printf '[daemon]\nmodules = flowlog flowlog:two\n\n[flowlog]\n'
		for l in "$@"; do
			printf '%s\n' "$l"
		done
	} >"$conf"
}

# Defaults: accepted and printed.
section
check
if [ "$rc" -eq 0 ] && grep -qx '\[flowlog\]' "$tmp/out" &&
   grep -qx 'allowlist = {"verdict":\["DROPPED","AUDIT","ERROR"\]}' "$tmp/out" &&
   grep -qx 'field_mask =' "$tmp/out" &&
   grep -qx 'path = events.log' "$tmp/out"; then
	ok "bulwarkd -n accepts and prints the defaults of [flowlog]"
else
	bad "bulwarkd -n accepts and prints the defaults of [flowlog] (exit $rc)"
	cat "$tmp/out" "$tmp/err"
fi

# Bad values in the file: FILE:LINE names the key's line.
section 'max_backups = 2' 'allowlist = {"verdct":["DROPPED"]}'
refused "a FlowFilter with an unknown field in allowlist" \
	"bulwarkd: $conf:6: [flowlog] allowlist: filter 1: unsupported FlowFilter field 'verdct'"

section 'allowlist = {"verdict":["DROPPED"]}, {"source_pod":' 'max_backups = 2'
check
# (the end of the message is jansson's own text)
if [ "$rc" -eq 1 ] && [ ! -s "$tmp/out" ] &&
   grep -q "^bulwarkd: $conf:5: \[flowlog\] allowlist: FlowFilter 2 is not valid JSON: ." "$tmp/err"; then
	ok "allowlist that is not JSON: the key and the filter are named"
else
	bad "allowlist that is not JSON: the key and the filter are named (exit $rc)"
	cat "$tmp/err"
fi

section 'denylist = [{"verdict":["DROPPED"]}, 3]'
refused "a denylist array with a non-object" \
	"bulwarkd: $conf:5: [flowlog] denylist: element 2 of the array is not a FlowFilter object"

section 'path = /var/log/x.log' 'field_mask = time sorce.pod_name verdict'
refused "field_mask with an unknown field" \
	"bulwarkd: $conf:6: [flowlog] field_mask: 'sorce.pod_name': Flow has no field 'sorce'"

section 'field_mask = source.pod_name.x'
refused "field_mask below a scalar field" \
	"bulwarkd: $conf:5: [flowlog] field_mask: 'source.pod_name.x': field 'pod_name' has no subfields"

section 'path ='
refused "an empty path" "bulwarkd: $conf:5: [flowlog] path: must not be empty"

# The entry in force is the last one.
section 'field_mask = verdict' 'field_mask = nosuch'
refused "the last of two entries is named" \
	"bulwarkd: $conf:6: [flowlog] field_mask: 'nosuch': Flow has no field 'nosuch'"

# Through -o: the message names the option.
section
refused "-o flowlog.field_mask=nosuch" \
	"bulwarkd: -o flowlog.field_mask=nosuch: [flowlog] field_mask: 'nosuch': Flow has no field 'nosuch'" \
	-o flowlog.field_mask=nosuch
refused "-o flowlog:two.allowlist=x" \
	"bulwarkd: -o flowlog:two.allowlist=x: [flowlog:two] allowlist: FlowFilter 1: expected a JSON object ('{'), found 'x'" \
	-o 'flowlog:two.allowlist=x'

# An instance section is checked the same way.
printf '[daemon]\nmodules = flowlog flowlog:two\n\n[flowlog:two]\nfield_mask = l4.TCP.flag\n' >"$conf"
refused "[flowlog:two] field_mask" \
	"bulwarkd: $conf:5: [flowlog:two] field_mask: 'l4.TCP.flag': TCP has no field 'flag'"

# Good values are accepted and printed back.
section 'allowlist = {"verdict":["DROPPED","ERROR"]}, {"source_pod":["x/"]}' \
	'denylist = [{"destination_port":["53"]}]' \
	'field_mask = time source.namespace l4.TCP verdict'
check
if [ "$rc" -eq 0 ] &&
   grep -qxF 'allowlist = {"verdict":["DROPPED","ERROR"]}, {"source_pod":["x/"]}' "$tmp/out" &&
   grep -qxF 'denylist = [{"destination_port":["53"]}]' "$tmp/out" &&
   grep -qxF 'field_mask = time source.namespace l4.TCP verdict' "$tmp/out" &&
   grep -q 'configuration OK' "$tmp/err"; then
	ok "good filters and field mask pass bulwarkd -n and are printed"
else
	bad "good filters and field mask pass bulwarkd -n (exit $rc)"
	cat "$tmp/err"
fi

echo "# test_flowlog_conf.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
