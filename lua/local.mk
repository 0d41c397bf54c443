# SPDX-License-Identifier: BSD-2-Clause
# lua/: the Lua side of the hook API (docs/lua.md). bulwark.lua is compiled
# into bulwarkd (core/local.mk) and installed with the annotated example
# scripts under $(datadir)/bulwark/lua/ for reading and copying into
# [lua] dir.

bwluadir = $(datadir)/bulwark/lua
dist_bwlua_DATA = lua/bulwark.lua lua/testing.lua
dist_bwlua_DATA += \
	lua/examples/deny-debug-header.lua \
	lua/examples/alert-repeated-denies.lua \
	lua/examples/quarantine-portscan.lua \
	lua/examples/tag-flows.lua \
	lua/examples/dns-denylist.lua \
	lua/examples/line-protocol.lua \
	lua/examples/examples_test.lua
