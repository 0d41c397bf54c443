#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# tests/modules/test_loader.sh - the module loader against a real bulwarkd:
# every way a module is refused gives its own one-line message naming the
# file, /v1/modules reports it, and the daemon still starts; a required
# instance that fails stops the start; every lifecycle hook, config keys of
# each type, routes, streams, state dirs and reload (SIGHUP) work; a
# module's config check hook (ABI 1.1) makes a bad value a config error
# for -n, a start and SIGHUP, naming FILE:LINE, section and key; an ABI
# 1.0 module (no check member) still loads.

. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/modules/lib.sh"

D=$TESTMOD_DIR
for m in test-full test-badmajor test-newminor test-short test-badsig \
	 test-dupname test-nodesc test-initfail test-check test-oldabi; do
	[ -f "$D/$m.so" ] || { echo "missing $D/$m.so (run make check)"; exit 99; }
done
command -v curl >/dev/null 2>&1 || { echo "SKIP: curl not found"; exit 77; }

# What the daemon's ABI looks like on this machine (messages name sizes).
P=$(python3 -c 'import struct; print(struct.calcsize("P"))')
END=$(python3 -c 'import sys; print("le" if sys.byteorder == "little" else "be")')
SIG="bulwark:1:ptr$P:$END:conf1"
DESC=$((16 + 11 * P))   # the ABI 1.0 descriptor: struct bw_module up to fini
SHORT=$((16 + P))       # sizeof(struct short_desc) in test-short.c
# The daemon's ABI minor, as the header it was built with says.
MINOR=$(sed -n 's/^#define BW_MODULE_ABI_MINOR \([0-9][0-9]*\).*/\1/p' \
	"$abs_top_srcdir/include/bulwark/module.h")
[ -n "$MINOR" ] || { echo "cannot read BW_MODULE_ABI_MINOR"; exit 99; }
NEWER=$((MINOR + 1))

get() {
	curl -s --unix-socket "$T/bulwark.sock" "http://bulwarkd$1"
}

# wait_log TEXT: up to 10 s for TEXT in the daemon log.
wait_log() {
	i=0
	while [ $i -lt 100 ]; do
		grep -qF -- "$1" "$T/daemon.log" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# ---- 1. every rejection, with the daemon carrying on --------------------
conf=$(bw_conf main <<EOF
modules = test-full test-full:second test-badmajor test-newminor test-short test-badsig test-dupname test-nodesc test-initfail test-missing
[test-full]
greeting = bonjour
count = 7
buffer = 1M
interval = 2m
color = blue
enabled = no
EOF
)
if bw_start "$conf"; then
	ok "bulwarkd starts with refused and failing modules"
else
	fail "bulwarkd starts with refused and failing modules"
	sed 's/^/#   /' "$T/daemon.log"
	bw_done
fi

L=$T/daemon.log
expect_grep "wrong ABI major refused" \
	"err: modules: $D/test-badmajor.so: built for module ABI 2.0 but this bulwarkd loads ABI 1 (up to 1.$MINOR); rebuild the module against this bulwark's module.h; [test-badmajor] not loaded" "$L"
expect_grep "newer ABI minor refused" \
	"err: modules: $D/test-newminor.so: built for module ABI 1.$NEWER, newer than this bulwarkd's 1.$MINOR; upgrade bulwarkd or rebuild the module against this bulwark's module.h; [test-newminor] not loaded" "$L"
expect_grep "short descriptor refused" \
	"err: modules: $D/test-short.so: descriptor is $SHORT bytes, module ABI 1.$MINOR needs at least $DESC; rebuild the module with BW_MODULE_DEFINE; [test-short] not loaded" "$L"
expect_grep "bad build signature refused" \
	"err: modules: $D/test-badsig.so: build signature 'bulwark:1:ptr4:be:conf1' does not match this bulwarkd's '$SIG'; rebuild the module for this system; [test-badsig] not loaded" "$L"
expect_grep "duplicate module name refused" \
	"err: modules: $D/test-dupname.so: module name 'test-full' is already taken by $D/test-full.so; load only one of them; [test-dupname] not loaded" "$L"
expect_grep "missing descriptor refused" \
	"err: modules: $D/test-nodesc.so: not a bulwark module: no bw_module_desc symbol (build it with BW_MODULE_DEFINE); [test-nodesc] not loaded" "$L"
expect_grep "missing file refused" \
	"err: modules: $D/test-missing.so: cannot load module: No such file or directory (check daemon.module_dir and the name in daemon.modules); [test-missing] not loaded" "$L"
expect_grep "failing init disables the instance" \
	"err: modules: $D/test-initfail.so: init of [test-initfail] failed: No route to host; [test-initfail] disabled" "$L"
expect_grep "module log lines carry the instance prefix" \
	"test-initfail: init: cannot reach the frobnicator" "$L"
expect_grep "init sees its config" "test-full: init: greeting=bonjour count=7" "$L"
expect_grep "second instance gets the defaults" "test-full:second: init: greeting=hello count=3" "$L"
expect_grep "start called" "test-full: start" "$L"

get /v1/modules > "$T/modules.json"
state() { json_get "$T/modules.json" "[m for m in d['modules'] if m['instance']=='$1'][0]['$2']"; }
expect_eq "/v1/modules lists every instance" 10 \
	"$(json_get "$T/modules.json" "len(d['modules'])")"
expect_eq "test-full running" running "$(state test-full state)"
expect_eq "test-full version" 1.2.3 "$(state test-full version)"
expect_eq "test-full file" "$D/test-full.so" "$(state test-full file)"
expect_eq "test-full description" "exercises every module entry point" \
	"$(state test-full description)"
expect_eq "test-full:second running" running "$(state test-full:second state)"
expect_eq "test-full:second module" test-full "$(state test-full:second module)"
for m in badmajor newminor short badsig dupname nodesc missing; do
	expect_eq "test-$m failed" failed "$(state test-$m state)"
done
expect_eq "test-initfail disabled" disabled "$(state test-initfail state)"
expect_eq "/v1/modules error of a refused module" \
	"$D/test-nodesc.so: not a bulwark module: no bw_module_desc symbol (build it with BW_MODULE_DEFINE)" \
	"$(state test-nodesc error)"
expect_eq "/v1/modules error of a disabled module" \
	"$D/test-initfail.so: init of [test-initfail] failed: No route to host" \
	"$(state test-initfail error)"
expect_eq "running instance has no error" null "$(state test-full error)"

get /v1/status > "$T/status.json"
expect_eq "status counts loaded modules" 2 \
	"$(json_get "$T/status.json" "d['modules']['loaded']")"
expect_eq "status counts failed modules" 8 \
	"$(json_get "$T/status.json" "d['modules']['failed']")"

# Routes, config of every type, instance data, state dir, streams.
get /v1/test-full/test-full > "$T/full.json"
expect_eq "module route answers with its config" \
	'bonjour 7 1048576 120000 blue false 1 1' \
	"$(json_get "$T/full.json" "' '.join(str(x) for x in [d['greeting'], d['count'], d['buffer'], d['interval_ms'], d['color'], d['enabled']]).replace('False','false') + ' %d %d' % (d['inits'], d['starts'])")"
expect_eq "api->conf() is the config init got" true \
	"$(json_get "$T/full.json" "d['same_conf']")"
expect_eq "second instance has its own route" hello \
	"$(get /v1/test-full/test-full:second | python3 -c 'import json,sys; print(json.load(sys.stdin)["greeting"])')"
expect_eq "module error reply is JSON with the module's message" \
	'{"error":"asked to fail: yes"}' "$(get '/v1/test-full/test-full?fail=yes')"
expect_eq "module stream gives NDJSON lines" '{"n":1}|{"n":2}|{"n":3}' \
	"$(get /v1/test-full/test-full/stream | paste -sd'|')"
# ABI 1.2: an answer given later, the alert bus, the endpoint view.
get /v1/test-full/test-full/later >"$T/later.json" &
later_pid=$!
i=0
until [ "$(get /v1/test-full/test-full/release)" = '{"released":1}' ] || [ $i -ge 50 ]; do
	i=$((i + 1))
	sleep 0.1
done
wait "$later_pid"
expect_eq "reply_later: the request is answered when the module replies" \
	'{"answered":"later"}' "$(cat "$T/later.json")"
expect_eq "alert_publish reaches both instances' subscriptions" '{"subscribers":2}' \
	"$(get /v1/test-full/test-full:second/alert)"
expect_eq "alert_subscribe: the instance got the record" 1 \
	"$(get /v1/test-full/test-full | python3 -c 'import json,sys; print(json.load(sys.stdin)["alerts_seen"])')"
expect_eq "endpoint_walk: no endpoints yet" '{"endpoints":0}' \
	"$(get /v1/test-full/test-full/endpoints)"
expect_eq "state dir created per instance" bonjour "$(cat "$T/state/test-full/greeting" 2>/dev/null)"
expect_eq "state dir is private" 700 "$(stat -c %a "$T/state/test-full" 2>/dev/null)"
expect_eq "route of a failed init is dropped" 404 \
	"$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$T/bulwark.sock" http://bulwarkd/v1/test-initfail)"

# Reload: a reloadable change is applied.
sed -i 's/^greeting = bonjour/greeting = salut/' "$conf"
kill -HUP "$BW_PID"
if wait_log "test-full: reload: greeting=salut"; then
	ok "SIGHUP calls reload with the new config"
else
	fail "SIGHUP calls reload with the new config"
fi
get /v1/test-full/test-full > "$T/full.json"
expect_eq "the new config is in force after reload" "salut 1 true" \
	"$(json_get "$T/full.json" "'%s %d %s' % (d['greeting'], d['reloads'], str(d['same_conf']).lower())")"

# A key that is not reloadable: kept, and said so.
sed -i 's/^buffer = 1M/buffer = 2M/' "$conf"
kill -HUP "$BW_PID"
if wait_log "test-full: changing buffer needs a restart; keeping the running configuration of [test-full]"; then
	ok "a non-reloadable change needs a restart"
else
	fail "a non-reloadable change needs a restart"
	sed 's/^/#   /' "$L"
fi
expect_eq "running value kept" 1048576 \
	"$(get /v1/test-full/test-full | python3 -c 'import json,sys; print(json.load(sys.stdin)["buffer"])')"
sed -i 's/^buffer = 2M/buffer = 1M/' "$conf"

# reload() answering -ENOTSUP.
printf 'refuse_reload = true\n' >> "$conf"
sed -i 's/^greeting = salut/greeting = ciao/' "$conf"
kill -HUP "$BW_PID"
if wait_log "test-full: the new configuration of [test-full] needs a restart; keeping the running one"; then
	ok "reload -ENOTSUP is reported as needing a restart"
else
	fail "reload -ENOTSUP is reported as needing a restart"
fi
expect_eq "greeting unchanged after a refused reload" salut \
	"$(get /v1/test-full/test-full | python3 -c 'import json,sys; print(json.load(sys.stdin)["greeting"])')"

# Stop: hooks in order, socket removed, exit 0.
bw_stop
expect_eq "bulwarkd exits 0 on SIGTERM" 0 "$BW_RC"
expect_grep "stop called" "test-full: stop" "$L"
expect_grep "fini called" "test-full: fini" "$L"
expect_grep "fini of the second instance" "test-full:second: fini" "$L"
if [ -e "$T/bulwark.sock" ]; then fail "socket removed on exit"; else ok "socket removed on exit"; fi

# ---- 2. required instances ---------------------------------------------
conf=$(bw_conf req1 <<EOF
modules = test-initfail:must
[test-initfail:must]
required = true
EOF
)
if bw_start "$conf"; then
	fail "a required instance whose init fails stops the start"
	bw_stop
else
	ok "a required instance whose init fails stops the start"
	[ "$BW_RC" != 0 ] && ok "exit status non-zero ($BW_RC)" || fail "exit status non-zero"
fi
expect_grep "required init failure message" \
	"err: modules: $D/test-initfail.so: init of [test-initfail:must] failed: No route to host; [test-initfail:must] is required" "$T/daemon.log"

conf=$(bw_conf req2 <<EOF
modules = test-badmajor
[test-badmajor]
required = true
EOF
)
if bw_start "$conf"; then
	fail "a required instance that is refused stops the start"
	bw_stop
else
	ok "a required instance that is refused stops the start"
fi
expect_grep "required refusal message" \
	"$D/test-badmajor.so: built for module ABI 2.0 but this bulwarkd loads ABI 1 (up to 1.$MINOR); rebuild the module against this bulwark's module.h ([test-badmajor] is required)" "$T/daemon.log"

conf=$(bw_conf start1 <<EOF
modules = test-full
[test-full]
fail_start = true
EOF
)
if bw_start "$conf"; then
	ok "a failing start() disables the instance, the daemon carries on"
	get /v1/modules > "$T/modules.json"
	expect_eq "failed start state" disabled "$(state test-full state)"
	expect_eq "failed start error" \
		"$D/test-full.so: start of [test-full] failed: Device or resource busy" \
		"$(state test-full error)"
	expect_grep "fini after a failed start" "test-full: fini" "$T/daemon.log"
	bw_stop
	expect_eq "exit 0" 0 "$BW_RC"
else
	fail "a failing start() disables the instance, the daemon carries on"
fi

printf 'required = true\n' >> "$conf"
if bw_start "$conf"; then
	fail "a required instance whose start fails stops the start"
	bw_stop
else
	ok "a required instance whose start fails stops the start"
fi

# ---- 3. config errors in a module's section are fatal -----------------
conf=$(bw_conf bad1 <<EOF
modules = test-full
[test-full]
count = 500
EOF
)
if bw_start "$conf"; then
	fail "an out-of-range module key stops the start"
	bw_stop
else
	ok "an out-of-range module key stops the start"
fi
expect_grep "the bad key is named" "count" "$T/daemon.log"
expect_grep "the file and line are named" "$conf:11" "$T/daemon.log"

conf=$(bw_conf bad2 <<EOF
modules = test-full
[test-full]
colour = blue
EOF
)
if bw_start "$conf"; then
	fail "an unknown module key stops the start"
	bw_stop
else
	ok "an unknown module key stops the start"
fi
expect_grep "unknown key named" "unknown key 'colour' in [test-full]" "$T/daemon.log"

# ---- 4. bulwarkd -n prints every instance's section -------------------
conf=$(bw_conf check <<EOF
modules = test-full test-full:second
[test-full]
greeting = bonjour
EOF
)
"$BULWARKD" -n -c "$conf" > "$T/n.out" 2> "$T/n.err"
expect_eq "bulwarkd -n exits 0" 0 $?
expect_grep "-n prints the instance section" "[test-full]" "$T/n.out"
expect_grep "-n prints set keys" "greeting = bonjour" "$T/n.out"
expect_grep "-n prints defaults" "interval = 30s" "$T/n.out"
expect_grep "-n prints the second instance" "[test-full:second]" "$T/n.out"
expect_grep "-n prints required" "required = false" "$T/n.out"
expect_no_grep "-n does not init modules" "init: greeting" "$T/n.err"

conf=$(bw_conf check2 <<EOF
modules = test-full test-badsig
EOF
)
"$BULWARKD" -n -c "$conf" > "$T/n.out" 2> "$T/n.err"
rc=$?
[ $rc -ne 0 ] && ok "bulwarkd -n fails on a refused module" || fail "bulwarkd -n fails on a refused module"
expect_grep "-n names the refused file" "$D/test-badsig.so: build signature" "$T/n.err"

# ---- 5. the config check hook (bw_module.check, ABI 1.1) -------------------
# bw_conf puts "modules = ..." on line 9, so [test-check] is on line 10 and
# its first key on line 11.

# check_n WHAT ARGS...: bulwarkd -n must fail with exit 1.
check_n() {
	what=$1
	shift
	"$BULWARKD" -n "$@" > "$T/n.out" 2> "$T/n.err"
	expect_eq "$what: bulwarkd -n exits 1" 1 "$?"
}

conf=$(bw_conf chk1 <<EOF
modules = test-check
[test-check]
path = relative/dir
EOF
)
check_n "bad path" -c "$conf"
expect_eq "-n names FILE:LINE, section, key and the module's message" \
	"bulwarkd: $conf:11: [test-check] path: 'relative/dir' is not an absolute path" \
	"$(cat "$T/n.err")"
expect_no_grep "-n prints no configuration after a check error" "[test-check]" "$T/n.out"

conf=$(bw_conf chk2 <<EOF
modules = test-check
[test-check]
low = 7
path = /srv/one
path = also/relative
high = 3
EOF
)
check_n "a later, bad entry of a key" -c "$conf"
expect_eq "the error points at the entry in force (the last one)" \
	"bulwarkd: $conf:13: [test-check] path: 'also/relative' is not an absolute path" \
	"$(cat "$T/n.err")"
sed -i 's|^path = also/relative$|path = /srv/two|' "$conf"
check_n "low above high" -c "$conf"
expect_eq "a whole-section problem names the section's line" \
	"bulwarkd: $conf:10: [test-check]: low (7) is above high (3)" \
	"$(cat "$T/n.err")"

conf=$(bw_conf chk3 <<EOF
modules = test-check
[test-check]
path = /srv/one
EOF
)
check_n "a bad -o value" -c "$conf" -o test-check.path=nope
expect_eq "-o: the error names the option" \
	"bulwarkd: -o test-check.path=nope: [test-check] path: 'nope' is not an absolute path" \
	"$(cat "$T/n.err")"

conf=$(bw_conf chk4 <<EOF
modules = test-check
EOF
)
check_n "no section, only -o" -c "$conf" -o test-check.low=9 -o test-check.high=8
expect_eq "a section from -o only: named by the option that made it" \
	"bulwarkd: -o test-check.low=9: [test-check]: low (9) is above high (8)" \
	"$(cat "$T/n.err")"

conf=$(bw_conf chk5 <<EOF
modules = test-check test-check:two test-oldabi
[test-check]
path = /srv/one
[test-check:two]
low = 4
high = 4
EOF
)
"$BULWARKD" -n -c "$conf" > "$T/n.out" 2> "$T/n.err"
expect_eq "good values pass bulwarkd -n" 0 $?
expect_grep "-n prints the checked value" "path = /srv/one" "$T/n.out"
expect_grep "-n says the configuration is OK" "$conf: configuration OK" "$T/n.err"
expect_grep "-n loads the ABI 1.0 module" \
	"# test-oldabi 1.0: an ABI 1.0 module (no check member)" "$T/n.out"
expect_no_grep "-n does not init a checked module" "init: path" "$T/n.err"

# A normal start refuses a bad value (before any init).
sed -i 's|^path = /srv/one$|path = srv/one|' "$conf"
if bw_start "$conf"; then
	fail "a value check() refuses stops the start"
	bw_stop
else
	ok "a value check() refuses stops the start"
	expect_eq "exit status 1" 1 "$BW_RC"
fi
expect_grep "the start names FILE:LINE, section and key" \
	"$conf:11: [test-check] path: 'srv/one' is not an absolute path" "$T/daemon.log"
expect_no_grep "no instance is initialised" "init:" "$T/daemon.log"

# Good values: the daemon starts, check() ran before init(), the ABI 1.0
# module runs.
sed -i 's|^path = srv/one$|path = /srv/one|' "$conf"
if bw_start "$conf"; then
	ok "bulwarkd starts with checked values and an ABI 1.0 module"
else
	fail "bulwarkd starts with checked values and an ABI 1.0 module"
	sed 's/^/#   /' "$T/daemon.log"
	bw_done
fi
L=$T/daemon.log
expect_grep "check() runs before init()" "test-check: init: path=/srv/one (checked)" "$L"
expect_grep "the ABI 1.0 module is initialised" "test-oldabi: init: an ABI 1.0 module" "$L"
get /v1/modules > "$T/modules.json"
expect_eq "the ABI 1.0 module runs" running "$(state test-oldabi state)"
expect_eq "test-check runs" running "$(state test-check state)"
expect_eq "test-check:two runs" running "$(state test-check:two state)"

# SIGHUP with a bad value: refused as a whole, the running config kept
# (also the other instance's good change).
sed -i 's|^path = /srv/one$|path = nope|; s|^low = 4$|low = 2|' "$conf"
kill -HUP "$BW_PID"
if wait_log "reload refused, running config kept"; then
	ok "SIGHUP with a value check() refuses is refused"
else
	fail "SIGHUP with a value check() refuses is refused"
	sed 's/^/#   /' "$L"
fi
expect_grep "SIGHUP logs FILE:LINE, section, key and message" \
	"$conf:11: [test-check] path: 'nope' is not an absolute path; keeping the running configuration" "$L"
expect_no_grep "no instance reloads a refused config" "reload: path" "$L"
expect_eq "the running path is kept" /srv/one \
	"$(get /v1/test-check/test-check | python3 -c 'import json,sys; print(json.load(sys.stdin)["path"])')"
expect_eq "the other instance's change is not applied either" 4 \
	"$(get /v1/test-check/test-check:two | python3 -c 'import json,sys; print(json.load(sys.stdin)["low"])')"

# SIGHUP with good values: applied.
sed -i 's|^path = nope$|path = /srv/new|' "$conf"
kill -HUP "$BW_PID"
if wait_log "test-check: reload: path=/srv/new"; then
	ok "SIGHUP with good values reloads"
else
	fail "SIGHUP with good values reloads"
	sed 's/^/#   /' "$L"
fi
expect_eq "the new path is in force" /srv/new \
	"$(get /v1/test-check/test-check | python3 -c 'import json,sys; print(json.load(sys.stdin)["path"])')"
expect_eq "the other instance's change is applied" 2 \
	"$(get /v1/test-check/test-check:two | python3 -c 'import json,sys; print(json.load(sys.stdin)["low"])')"
bw_stop
expect_eq "bulwarkd exits 0 after the reloads" 0 "$BW_RC"

bw_done
