#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_datapath_clsact.sh - tests/e2e/test_datapath.sh with the
# programs attached as clsact filters (daemon.tc_attach = clsact), so the
# fallback for kernels without tcx, and the choice for nodes with much
# endpoint churn, keeps passing every datapath check on a kernel with tcx.
BW_TC_ATTACH=clsact exec bash "$(dirname "$0")/test_datapath.sh" "$@"
