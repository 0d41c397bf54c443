/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/module/hooks.h - decision hooks: the proxies ask whether a DNS
 * query, an HTTP request or a Kafka request may go ahead; one provider,
 * the Lua host (core/lua/), answers.
 *
 * This file sits low in the core (with the registries) so that every
 * caller can reach it: the L7 engine (core/proxy/) calls bw_hooks_http()
 * and bw_hooks_kafka() directly, modules (the DNS proxy) call through
 * struct bw_core_api (hook_dns, ...), and the Lua host, higher up,
 * registers itself as the provider with bw_hooks_provider_set() at start.
 * The request and result types are public: include/bulwark/hook.h, whose
 * comment gives the calling contract (BW_HOOK_NONE / BW_HOOK_PENDING,
 * done() exactly once, later, unless cancelled).
 *
 * What this layer adds over the provider: tickets, owners and the
 * guarantee. It keeps one record per pending request (ticket, done,
 * user_data, owner); an answer for a cancelled or unknown ticket is
 * dropped; cancelling a ticket tells the provider, which may skip the
 * work; a module instance that goes away has its pending requests
 * cancelled (bw_hooks_cancel_owner, a registry dropper); a provider that
 * goes away answers everything pending with a fallback deny.
 *
 * Everything here runs on the loop thread.
 */
#ifndef BW_CORE_HOOKS_H
#define BW_CORE_HOOKS_H

#include <stdint.h>

#include "bulwark/hook.h"

/* An answer a caller waited for (bw_hooks_*_wait). */
struct bw_hook_answer {
	struct bw_hook_result res; /* what done() would have been given */
	void *priv;                /* the provider's; bw_hooks_answer_free() */
};

/*
 * The provider. Each decision call copies what it needs from the request
 * before it returns (the request dies with the call) and answers later with
 * bw_hooks_answer(ticket, ...), on the loop thread, exactly once, unless
 * cancel(ticket) came first (then it must not answer). A negative return
 * means it did not take the request (it is then answered as a deny).
 * active() says which hooks (BW_HOOK_F_*) it would run now.
 */
struct bw_hook_provider {
	unsigned (*active)(void *arg);
	int (*dns)(void *arg, const struct bw_hook_dns *q, uint64_t ticket);
	int (*http)(void *arg, const struct bw_hook_http *req, uint64_t ticket);
	int (*kafka)(void *arg, const struct bw_hook_kafka *req, uint64_t ticket);
	void (*cancel)(void *arg, uint64_t ticket);
	/*
	 * Optional, for bw_hooks_*_wait(): decide req (kind BW_HOOK_F_*) and
	 * return only with the answer in *a (or the default verdict after
	 * the provider's deadline); answer_free releases what it put there.
	 */
	int (*wait)(void *arg, unsigned kind, const void *req,
		    struct bw_hook_answer *a);
	void (*answer_free)(void *arg, struct bw_hook_answer *a);
	void *arg;
};

/*
 * Install the provider (copied), or remove it with NULL: every request
 * still pending is then answered with a fallback deny. Returns 0, or
 * -EBUSY when another provider is installed.
 */
int bw_hooks_provider_set(const struct bw_hook_provider *p);

/* The provider's answer for ticket (ignored when cancelled or unknown). */
void bw_hooks_answer(uint64_t ticket, const struct bw_hook_result *res);

/* BW_HOOK_F_* of the hooks some script defines now (0 without a provider). */
unsigned bw_hooks_active(void);

/*
 * Ask. owner groups the requests of a module instance (NULL for core
 * callers). *ticket (may be NULL) gets the ticket for bw_hooks_cancel().
 * Returns BW_HOOK_NONE (allowed, no done() call), BW_HOOK_PENDING (done()
 * later, exactly once, unless cancelled), or -ENOMEM / -EINVAL (deny).
 */
int bw_hooks_dns(const struct bw_hook_dns *q, bw_hook_done_fn done, void *ud,
		 uint64_t *ticket, const void *owner);
int bw_hooks_http(const struct bw_hook_http *req, bw_hook_done_fn done,
		  void *ud, uint64_t *ticket, const void *owner);
int bw_hooks_kafka(const struct bw_hook_kafka *req, bw_hook_done_fn done,
		   void *ud, uint64_t *ticket, const void *owner);

/*
 * Ask and wait, for core callers that must decide before they return (the
 * L7 engine's parsers decide synchronously). The Lua host answers within
 * [lua] decision_timeout (after it, the default verdict, with
 * res.fallback set); while the loop thread waits, the calls the scripts
 * make to it are served, so nothing deadlocks. Returns BW_HOOK_NONE (no
 * hook: allowed, *a untouched), 0 with the answer in *a (release it with
 * bw_hooks_answer_free()), or -ENOMEM / -EINVAL (deny). Prefer the
 * asynchronous calls where the caller can wait for done(): waiting holds
 * up the loop for as long as the scripts take.
 */
int bw_hooks_dns_wait(const struct bw_hook_dns *q, struct bw_hook_answer *a);
int bw_hooks_http_wait(const struct bw_hook_http *req, struct bw_hook_answer *a);
int bw_hooks_kafka_wait(const struct bw_hook_kafka *req,
			struct bw_hook_answer *a);
void bw_hooks_answer_free(struct bw_hook_answer *a);

/* Forget a pending request: its done() will not be called. */
void bw_hooks_cancel(uint64_t ticket);

/* Cancel every pending request of owner (a module instance going away). */
void bw_hooks_cancel_owner(const void *owner);

/* Requests waiting for an answer (status, tests). */
unsigned bw_hooks_pending(void);

#endif /* BW_CORE_HOOKS_H */
