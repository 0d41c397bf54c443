# SPDX-License-Identifier: BSD-2-Clause
# cli/: the bulwark command (docs/internals.md, "CLI layout"). Add sources to
# bulwark_SOURCES with +=.

bin_PROGRAMS += bulwark
bulwark_SOURCES =
bulwark_LDADD = $(DEPS_LIBS)
bulwark_SOURCES += \
	cli/cli.h cli/main.c \
	cli/client.c cli/client.h \
	cli/output.c cli/output.h \
	cli/cmd_status.c \
	cli/cmd_modules.c

# bulwark observe; it shares the FlowFilter builder and the Hubble enum
# tables with the daemon (core/flowfilter*.c, core/flowjson.c: libc+jansson).
bulwark_SOURCES += cli/cmd_observe.c \
	core/flowfilter.c core/flowfilter.h core/flowfilter_int.h \
	core/flowfilter_flags.c core/flowfilter_time.c \
	core/flowjson.c core/flowjson.h \
	core/dropreason.c core/dropreason.h
# (per-target flags so these objects differ from libbwcore's libtool ones)
bulwark_CPPFLAGS = $(AM_CPPFLAGS)

# bulwark endpoint / namespace / identity
bulwark_SOURCES += cli/cmd_endpoint.c cli/cmd_identity.c

# bulwark policy
bulwark_SOURCES += cli/cmd_policy.c

# bulwark map (GET /v1/map from modules/servicemap; dot/svg rendered here)
bulwark_SOURCES += cli/cmd_map.c
