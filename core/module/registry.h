/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/module/registry.h - what modules register with the core and other core
 * parts read: policy formats, the identity allocator, metrics collectors.
 *
 * Modules register through struct bw_core_api (core/module/coreapi.c); core parts
 * may register here directly with owner NULL. Every registration made by a
 * module instance is dropped, and its free function called, when the
 * instance is disabled or finished (bw_registry_drop_owner()).
 */
#ifndef BW_CORE_REGISTRY_H
#define BW_CORE_REGISTRY_H

#include <stdarg.h>

#include "bulwark/module.h"

struct evbuffer;

/* ---- policy formats ----------------------------------------------------- */

/*
 * Register a format (the struct is copied; its lists and strings must live
 * until the format is dropped). Returns 0; -EEXIST when another format
 * already claims one of its apiVersion/kind pairs; -EINVAL.
 */
int bw_policy_format_add(const struct bw_policy_format *fmt, const void *owner);

/* The format handling documents of apiVersion api_version and this kind. */
const struct bw_policy_format *bw_policy_format_find(const char *api_version,
						     const char *kind);

/* Visit every format; stops early and returns cb's value if it is non-zero. */
int bw_policy_format_foreach(int (*cb)(const struct bw_policy_format *, void *),
			     void *arg);

/* ---- identity allocation ------------------------------------------------ */

/* Register the allocator; -EEXIST when one is registered already. */
int bw_identity_allocator_set(const struct bw_identity_allocator *alloc,
			      const void *owner);

/* The registered allocator, or NULL if no identity module is loaded. */
const struct bw_identity_allocator *bw_identity_allocator_get(void);

/* ---- metrics ------------------------------------------------------------ */

/* struct bw_metrics_out is the opaque bw_metrics_out of bulwark/module.h. */
typedef void (*bw_metrics_collect_fn)(struct bw_metrics_out *out, void *arg);

/* Add a collector called on each scrape. */
int bw_metrics_register(bw_metrics_collect_fn collect, void *arg,
			bw_free_fn free_fn, const void *owner);

/* Append Prometheus text to a scrape in progress. */
int bw_metrics_printf(struct bw_metrics_out *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int bw_metrics_vprintf(struct bw_metrics_out *out, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Run every collector, appending their text to out (the /metrics body). */
void bw_metrics_collect_all(struct evbuffer *out);

/* ---- lifetime ----------------------------------------------------------- */

/*
 * Have fn(owner) called by bw_registry_drop_owner(), for core parts that
 * keep per-owner registrations of their own (flow subscriptions, ...).
 * Adding the same fn again is a no-op. Returns 0 or -ENOMEM.
 */
int bw_registry_add_dropper(void (*fn)(const void *owner));

/* Drop every registration of owner (calling free functions and droppers). */
void bw_registry_drop_owner(const void *owner);

/* Drop everything (daemon exit). */
void bw_registry_fini(void);

#endif /* BW_CORE_REGISTRY_H */
