/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/flow/flow_int.h - what the flow pipeline's files share:
 * core/flow/flow.c (decoding, the ring, subscribers) and
 * core/flow/flowstage.c (the stage that may hold flows back before they
 * are stored, for the Lua host's on_flow hooks).
 */
#ifndef BW_CORE_FLOW_INT_H
#define BW_CORE_FLOW_INT_H

#include "bulwark/flow.h"

/* A deep copy in one allocation (free() it), or NULL. */
struct bw_flow *bw_flow_clone(const struct bw_flow *f);

/* Store a stamped flow in the ring and hand it to the subscribers. */
int bw_flow_store(const struct bw_flow *f);

/* flowstage.c: non-zero when a stage is set; hold (or store) a stamped flow. */
int bw_flow_stage_on(void);
int bw_flow_stage_hold(const struct bw_flow *f);

#endif /* BW_CORE_FLOW_INT_H */
