# SPDX-License-Identifier: BSD-2-Clause
# cli/: the bulwark command (docs/internals.md, "CLI layout"). Add sources to
# bulwark_SOURCES with +=.

bin_PROGRAMS += bulwark
bulwark_SOURCES =
bulwark_LDADD = libbw.la $(DEPS_LIBS)
bulwark_SOURCES += \
	cli/cli.h cli/main.c \
	cli/client.c cli/client.h \
	cli/output.c cli/output.h \
	cli/cmd_status.c \
	cli/cmd_modules.c

# bulwark observe: its flags become FlowFilters (cli/flowfilter_flags.c);
# the filter model and the Hubble enum tables come from lib/ (libbw.la).
bulwark_SOURCES += cli/cmd_observe.c \
	cli/flowfilter_flags.c cli/flowfilter_flags.h

# bulwark endpoint / namespace / identity
bulwark_SOURCES += cli/cmd_endpoint.c cli/cmd_identity.c

# bulwark policy
bulwark_SOURCES += cli/cmd_policy.c

# bulwark map (GET /v1/map from modules/servicemap; dot/svg rendered here)
bulwark_SOURCES += cli/cmd_map.c

# bulwark fqdn cache [clean] (GET/DELETE /v1/fqdn/cache from modules/fqdn)
bulwark_SOURCES += cli/cmd_fqdn.c

# bulwark lua / quarantine (GET /v1/lua, /v1/quarantines)
bulwark_SOURCES += cli/cmd_lua.c

# bulwark history / exposure / compliance (modules/flowstore's routes)
bulwark_SOURCES += cli/cmd_history.c cli/cmd_exposure.c cli/cmd_compliance.c \
	cli/adoption.c cli/adoption.h

# bulwark recommend / simulate / broad-rules (modules/advisor's routes)
bulwark_SOURCES += cli/cmd_recommend.c cli/cmd_simulate.c cli/cmd_broad_rules.c
