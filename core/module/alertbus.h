/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/module/alertbus.h - the alert bus: alert records (JSON objects, one
 * per alert) published by the module that raises them (modules/alerts)
 * and handed to every subscriber: other modules through
 * bw_core_api.alert_subscribe, and core parts such as the Lua host, which
 * subscribe here directly with owner NULL.
 *
 * A record is one JSON object on one line, the shape docs/adoption.md
 * documents ("source", "destination", "port", "protocol", "verdict",
 * "policies", "count", ...). Subscribers run synchronously on the loop
 * thread, in subscription order; the text is valid during the call only.
 * A subscriber must not block.
 */
#ifndef BW_CORE_ALERTBUS_H
#define BW_CORE_ALERTBUS_H

#include <stdint.h>

#include "bulwark/module.h"

typedef void (*bw_alert_cb)(const char *json, void *ud);

/*
 * Call cb for every alert published from now on. owner groups
 * subscriptions (a module instance; NULL for core parts) so that a
 * disabled instance's subscriptions go with it. free_fn(ud) runs when the
 * subscription is dropped. Returns an id > 0, or -EINVAL / -ENOMEM.
 */
int bw_alert_subscribe(const void *owner, bw_alert_cb cb, void *ud,
		       bw_free_fn free_fn);
void bw_alert_unsubscribe(int id);
void bw_alert_unsubscribe_owner(const void *owner);

/*
 * Publish one alert record to every subscriber. Returns how many
 * subscribers got it, or -EINVAL when json is not one JSON object on one
 * line.
 */
int bw_alert_publish(const char *json);

/* Counters: records published and subscriptions now. */
uint64_t bw_alert_published(void);
unsigned bw_alert_subscribers(void);

/* Drop every subscription (daemon exit). */
void bw_alertbus_fini(void);

#endif /* BW_CORE_ALERTBUS_H */
