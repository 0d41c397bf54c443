#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_datapath_tcx.sh - tests/e2e/test_datapath.sh with the
# programs attached as tcx links named explicitly (daemon.tc_attach = tcx),
# so the key itself keeps working whatever auto resolves to. Skips (77) on
# a kernel without tcx.
BW_TC_ATTACH=tcx exec bash "$(dirname "$0")/test_datapath.sh" "$@"
