#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/e2e/test_datapath_clsact.sh - tests/e2e/test_datapath.sh with the
# programs attached as clsact filters named explicitly (daemon.tc_attach =
# clsact; auto, the default, resolves to the same), so the key itself keeps
# working whatever auto becomes.
BW_TC_ATTACH=clsact exec bash "$(dirname "$0")/test_datapath.sh" "$@"
