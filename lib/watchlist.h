/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/watchlist.h - a list of (callback, argument) pairs: how a lower layer
 * tells the layers above it about changes without calling them (the
 * config's bw_conf_watch, endpoints' bw_endpoint_watch, identities'
 * bw_identity_watch). The owner keeps the callbacks' real type: it stores
 * them with BW_WATCH_FN() and casts them back before calling.
 */
#ifndef BW_LIB_WATCHLIST_H
#define BW_LIB_WATCHLIST_H

#include <stddef.h>

/* Any function pointer round-trips through void (*)(void). */
#define BW_WATCH_FN(fn) ((void (*)(void))(fn))

struct bw_watch {
	void (*fn)(void); /* cast back to its real type before calling */
	void *arg;
};

struct bw_watchlist {
	struct bw_watch *v; /* in registration order */
	size_t n;
};

/* Append (fn, arg). Returns 0 or -ENOMEM. */
int bw_watchlist_add(struct bw_watchlist *l, void (*fn)(void), void *arg);
/* Remove the first (fn, arg); nothing when it is not there. */
void bw_watchlist_remove(struct bw_watchlist *l, void (*fn)(void), void *arg);
/* Forget every watcher. */
void bw_watchlist_clear(struct bw_watchlist *l);

#endif /* BW_LIB_WATCHLIST_H */
