#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/unit/test_prometheus_conf.sh - the prometheus module's config keys
# through `bulwarkd -n` (no root, no BPF): the defaults are printed; every
# malformed [prometheus] listen value is refused naming the file and line
# (or the -o option); well-formed ones (IPv4, [IPv6], :PORT, host name) are
# accepted and printed back; max_series is range-checked; an instance
# section [prometheus:NAME] takes the same keys.
set -u

MODULE=prometheus
. "$(dirname "$0")/modconf_lib.sh"

# The defaults.
printf '[daemon]\nmodules = prometheus\n' >"$conf"
if check && grep -qx '\[prometheus\]' "$tmp/out" &&
   grep -qx 'listen = 127.0.0.1:9962' "$tmp/out" &&
   grep -qx 'max_series = 2000' "$tmp/out"; then
	ok "bulwarkd -n prints [prometheus] with listen = 127.0.0.1:9962, max_series = 2000"
else
	bad "bulwarkd -n prints the defaults of [prometheus]"
	cat "$tmp/out" "$tmp/err"
fi

# Malformed listen values, in the file: FILE:5 names the line.
for v in 256.1.1.1:9962 127.0.0.1 127.0.0.1: 127.0.0.1:0 127.0.0.1:70000 \
	127.0.0.1:80x ::1:9962 '[::1]9962' '[::1]' '[fe80::zz]:1' '[]:80' \
	'bad_host:80' '-x:80' 'a..b:80' ':' ''; do
	printf '[daemon]\nmodules = prometheus\n\n[prometheus]\nlisten = %s\n' "$v" >"$conf"
	if check; then
		bad "listen = '$v' is refused (bulwarkd -n accepted it)"
	elif grep -q "^bulwarkd: $conf:5: \[prometheus\] listen: '.*' is not a listen address (HOST:PORT, \[IPV6\]:PORT or :PORT): " "$tmp/err"; then
		ok "listen = '$v' is refused: $(sed 's/.*): //' "$tmp/err")"
	else
		bad "listen = '$v': expected '$conf:5: [prometheus] listen: ...', got:"
		cat "$tmp/err"
	fi
done

# The same through -o: the message names the option.
printf '[daemon]\nmodules = prometheus\n' >"$conf"
if ! check -o prometheus.listen=nowhere &&
   grep -q "^bulwarkd: -o prometheus.listen=nowhere: \[prometheus\] listen: 'nowhere' is not a listen address" "$tmp/err"; then
	ok "-o prometheus.listen=nowhere is refused naming the option"
else
	bad "-o prometheus.listen=nowhere is refused naming the option"
	cat "$tmp/err"
fi

# Well-formed values are accepted and printed back.
for v in 127.0.0.1:9962 '[::1]:9962' '[::]:65535' ':9962' 0.0.0.0:1 \
	localhost:9962 metrics.node-1.example:9100; do
	if check -o "prometheus.listen=$v" && grep -qxF "listen = $v" "$tmp/out"; then
		ok "listen = '$v' is accepted"
	else
		bad "listen = '$v' is accepted"
		cat "$tmp/err"
	fi
done

# max_series is an integer in 1..1000000.
for v in 0 1000001 x -5; do
	if ! check -o "prometheus.max_series=$v" &&
	   grep -q "\[prometheus\] max_series" "$tmp/err"; then
		ok "max_series = $v is refused"
	else
		bad "max_series = $v is refused"
		cat "$tmp/err"
	fi
done
if check -o prometheus.max_series=10 && grep -qx 'max_series = 10' "$tmp/out"; then
	ok "max_series = 10 is accepted"
else
	bad "max_series = 10 is accepted"
fi

# A second instance has its own section and keys.
printf '[daemon]\nmodules = prometheus prometheus:two\n\n[prometheus:two]\nlisten = [::1]:9965\n' >"$conf"
if check && grep -qx '\[prometheus:two\]' "$tmp/out" &&
   grep -qx 'listen = \[::1\]:9965' "$tmp/out"; then
	ok "[prometheus:two] listen = [::1]:9965"
else
	bad "[prometheus:two] listen = [::1]:9965"
	cat "$tmp/out" "$tmp/err"
fi
printf '[daemon]\nmodules = prometheus prometheus:two\n\n[prometheus:two]\nlisten = two\n' >"$conf"
if ! check && grep -q "$conf:5: \[prometheus:two\] listen: 'two' is not a listen address" "$tmp/err"; then
	ok "[prometheus:two] listen = two is refused"
else
	bad "[prometheus:two] listen = two is refused"
	cat "$tmp/err"
fi

echo "# test_prometheus_conf.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
