#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_datapath_clsact.sh - tests/e2e/test_datapath.sh with the
# programs attached as clsact filters (daemon.tc_attach = clsact), so the
# fallback for kernels without tcx keeps passing every datapath check on a
# kernel that has tcx.
BW_TC_ATTACH=clsact exec bash "$(dirname "$0")/test_datapath.sh" "$@"
