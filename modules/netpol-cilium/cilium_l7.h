/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/netpol-cilium/cilium_l7.h - the L7 rules of a Cilium port rule
 * (toPorts[].rules), see cilium_l7.c.
 */
#ifndef BW_CILIUM_L7_H
#define BW_CILIUM_L7_H

#include <jansson.h>

#include "netpol_common.h"

#define CIL_L7_NONE 0
#define CIL_L7_DNS 1
#define CIL_L7_HTTP 2
#define CIL_L7_KAFKA 3
#define CIL_L7_PROTO 4

/*
 * Check toPorts[i].rules (rules is its value; the current path is the port
 * rule's) with Cilium's meaning and give the rule model's "rules" object in
 * *out (NULL when it holds no rules: empty lists mean a plain port) and its
 * kind. ingress: the port rule is in an ingress rule (DNS rules are egress
 * only). Returns 0 or -EINVAL with a message naming the field.
 */
int cil_l7_rules(struct np_ctx *c, json_t *rules, int ingress, int *kind, json_t **out);

/* "http", "kafka", "dns", "l7proto" (for messages). */
const char *cil_l7_kind_name(int kind);

#endif /* BW_CILIUM_L7_H */
