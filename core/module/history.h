/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/module/history.h - the flow history broker: the module that keeps
 * flow history (modules/flowstore) registers a provider, and whoever reads
 * history (the advisor module: recommend, simulate, broad-rules) asks the
 * core to scan it, so that neither knows the other and another store could
 * take the flowstore's place (bw_core_api.history_provider_register and
 * history_scan, include/bulwark/module.h).
 *
 * One provider serves: the first registered. A disabled module instance
 * takes its provider along (the registry's owner drop).
 */
#ifndef BW_CORE_HISTORY_H
#define BW_CORE_HISTORY_H

#include <stdint.h>

#include "bulwark/module.h"

/*
 * Register a provider (copied; owner is the module instance). Returns 0,
 * -EINVAL (no scan function, short struct) or -ENOMEM. A second provider
 * is kept and serves once the first goes.
 */
int bw_history_provider_add(const struct bw_history_provider *p, const void *owner);

/*
 * Scan the serving provider's history (see bw_core_api.history_scan).
 * Returns 0, -ENOENT when no provider is registered, or the provider's
 * error (then neither callback runs).
 */
int bw_history_scan(int64_t since_ms, int (*row)(const struct bw_history_row *r, void *arg),
		    void (*done)(int err, const char *message, void *arg), void *arg);

/* The serving provider's name, or NULL. */
const char *bw_history_provider_name(void);

/* Drop every provider (daemon exit). */
void bw_history_fini(void);

#endif /* BW_CORE_HISTORY_H */
