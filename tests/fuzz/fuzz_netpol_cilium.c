/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_netpol_cilium.c - fuzz target for the Cilium policy
 * formats (modules/netpol-cilium), through the document reader.
 */
#include "fuzz_format.h"
