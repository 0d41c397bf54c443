/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_netpol_k8s.c - fuzz target for the Kubernetes
 * NetworkPolicy format (modules/netpol-k8s), through the document reader.
 */
#include "fuzz_format.h"
