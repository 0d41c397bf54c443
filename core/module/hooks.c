/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/module/hooks.c - decision hooks: pending requests between the
 * proxies that ask and the provider (the Lua host) that answers.
 *
 * Pending requests live in a small chained hash table keyed by ticket
 * (tickets count up from 1 and are never reused), so an answer, a cancel
 * or a late answer for a cancelled ticket costs one bucket walk however
 * many requests are in flight.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/module/hooks.h"
#include "core/module/registry.h"

struct hook_pending {
	struct hook_pending *next;
	uint64_t ticket;
	bw_hook_done_fn done;
	void *ud;
	const void *owner;
};

static struct {
	struct bw_hook_provider prov;
	int have_prov;
	struct hook_pending **bucket;
	size_t nbuckets; /* a power of two, or 0 */
	size_t count;
	uint64_t next_ticket;
} hk = { .next_ticket = 1 };

static size_t
hook_slot(uint64_t ticket, size_t n)
{
	/* tickets are sequential: a multiplicative mix spreads them */
	return (size_t)((ticket * 0x9e3779b97f4a7c15ull) >> 20) & (n - 1);
}

static int
hook_grow(void)
{
	size_t n = hk.nbuckets ? hk.nbuckets * 2 : 64;
	struct hook_pending **b = calloc(n, sizeof(*b));

	if (b == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < hk.nbuckets; i++) {
		struct hook_pending *p = hk.bucket[i], *nx;

		for (; p != NULL; p = nx) {
			size_t s = hook_slot(p->ticket, n);

			nx = p->next;
			p->next = b[s];
			b[s] = p;
		}
	}
	free(hk.bucket);
	hk.bucket = b;
	hk.nbuckets = n;
	return 0;
}

/* Unlink the record of ticket and return it (NULL: unknown). */
static struct hook_pending *
hook_take(uint64_t ticket)
{
	struct hook_pending **pp;

	if (hk.nbuckets == 0)
		return NULL;
	for (pp = &hk.bucket[hook_slot(ticket, hk.nbuckets)]; *pp != NULL;
	     pp = &(*pp)->next) {
		struct hook_pending *p = *pp;

		if (p->ticket == ticket) {
			*pp = p->next;
			hk.count--;
			return p;
		}
	}
	return NULL;
}

static void
hook_drop_owner(const void *owner)
{
	bw_hooks_cancel_owner(owner);
}

int
bw_hooks_provider_set(const struct bw_hook_provider *p)
{
	if (p != NULL) {
		if (hk.have_prov)
			return -EBUSY;
		hk.prov = *p;
		hk.have_prov = 1;
		return 0;
	}
	if (!hk.have_prov)
		return 0;
	hk.have_prov = 0;
	memset(&hk.prov, 0, sizeof(hk.prov));
	/* answer what is left: the asker must not wait forever */
	for (size_t i = 0; i < hk.nbuckets; i++) {
		while (hk.bucket[i] != NULL) {
			struct hook_pending *x = hk.bucket[i];
			struct bw_hook_result res = {
				.size = sizeof(res),
				.verdict = BW_HOOK_DENY,
				.reason = "the rule scripts stopped",
				.fallback = 1,
			};

			hk.bucket[i] = x->next;
			hk.count--;
			x->done(&res, x->ud);
			free(x);
		}
	}
	free(hk.bucket);
	hk.bucket = NULL;
	hk.nbuckets = 0;
	return 0;
}

void
bw_hooks_answer(uint64_t ticket, const struct bw_hook_result *res)
{
	struct hook_pending *p = hook_take(ticket);

	if (p == NULL)
		return; /* cancelled, or answered already */
	p->done(res, p->ud);
	free(p);
}

unsigned
bw_hooks_active(void)
{
	if (!hk.have_prov || hk.prov.active == NULL)
		return 0;
	return hk.prov.active(hk.prov.arg);
}

/* The common part of the three calls: a record, then the provider. */
static int
hook_ask(unsigned flag, const void *req, bw_hook_done_fn done, void *ud,
	 uint64_t *ticket, const void *owner)
{
	struct hook_pending *p;
	uint64_t t;
	int rc;

	if (ticket != NULL)
		*ticket = 0;
	if (req == NULL || done == NULL)
		return -EINVAL;
	if ((bw_hooks_active() & flag) == 0)
		return BW_HOOK_NONE;
	/* a no-op after the first time; kept here so a registry reset
	 * (tests, bw_registry_fini) cannot leave it unregistered */
	if (owner != NULL && bw_registry_add_dropper(hook_drop_owner) < 0)
		return -ENOMEM;
	if (hk.count + 1 > hk.nbuckets * 2 && hook_grow() < 0)
		return -ENOMEM;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	t = hk.next_ticket++;
	p->ticket = t;
	p->done = done;
	p->ud = ud;
	p->owner = owner;
	{
		size_t s = hook_slot(t, hk.nbuckets);

		p->next = hk.bucket[s];
		hk.bucket[s] = p;
		hk.count++;
	}
	switch (flag) {
	case BW_HOOK_F_DNS:
		rc = hk.prov.dns != NULL ? hk.prov.dns(hk.prov.arg, req, t) : -ENOTSUP;
		break;
	case BW_HOOK_F_HTTP:
		rc = hk.prov.http != NULL ? hk.prov.http(hk.prov.arg, req, t) : -ENOTSUP;
		break;
	default:
		rc = hk.prov.kafka != NULL ? hk.prov.kafka(hk.prov.arg, req, t) : -ENOTSUP;
		break;
	}
	if (rc < 0) {
		free(hook_take(t));
		return rc == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	if (ticket != NULL)
		*ticket = t;
	return BW_HOOK_PENDING;
}

int
bw_hooks_dns(const struct bw_hook_dns *q, bw_hook_done_fn done, void *ud,
	     uint64_t *ticket, const void *owner)
{
	if (q != NULL && (q->size < sizeof(size_t) || q->name == NULL))
		return -EINVAL;
	return hook_ask(BW_HOOK_F_DNS, q, done, ud, ticket, owner);
}

int
bw_hooks_http(const struct bw_hook_http *req, bw_hook_done_fn done, void *ud,
	      uint64_t *ticket, const void *owner)
{
	if (req != NULL && (req->size < sizeof(size_t) || req->method == NULL ||
			    req->path == NULL))
		return -EINVAL;
	return hook_ask(BW_HOOK_F_HTTP, req, done, ud, ticket, owner);
}

int
bw_hooks_kafka(const struct bw_hook_kafka *req, bw_hook_done_fn done,
	       void *ud, uint64_t *ticket, const void *owner)
{
	if (req != NULL && req->size < sizeof(size_t))
		return -EINVAL;
	return hook_ask(BW_HOOK_F_KAFKA, req, done, ud, ticket, owner);
}

static int
hook_wait(unsigned flag, const void *req, struct bw_hook_answer *a)
{
	if (req == NULL || a == NULL)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	if ((bw_hooks_active() & flag) == 0)
		return BW_HOOK_NONE;
	if (hk.prov.wait == NULL)
		return -EINVAL;
	return hk.prov.wait(hk.prov.arg, flag, req, a) < 0 ? -ENOMEM : 0;
}

int
bw_hooks_dns_wait(const struct bw_hook_dns *q, struct bw_hook_answer *a)
{
	if (q != NULL && (q->size < sizeof(size_t) || q->name == NULL))
		return -EINVAL;
	return hook_wait(BW_HOOK_F_DNS, q, a);
}

int
bw_hooks_http_wait(const struct bw_hook_http *req, struct bw_hook_answer *a)
{
	if (req != NULL && (req->size < sizeof(size_t) || req->method == NULL ||
			    req->path == NULL))
		return -EINVAL;
	return hook_wait(BW_HOOK_F_HTTP, req, a);
}

int
bw_hooks_kafka_wait(const struct bw_hook_kafka *req, struct bw_hook_answer *a)
{
	if (req != NULL && req->size < sizeof(size_t))
		return -EINVAL;
	return hook_wait(BW_HOOK_F_KAFKA, req, a);
}

void
bw_hooks_answer_free(struct bw_hook_answer *a)
{
	if (a == NULL)
		return;
	if (a->priv != NULL && hk.have_prov && hk.prov.answer_free != NULL)
		hk.prov.answer_free(hk.prov.arg, a);
	memset(a, 0, sizeof(*a));
}

void
bw_hooks_cancel(uint64_t ticket)
{
	struct hook_pending *p = hook_take(ticket);

	if (p == NULL)
		return;
	free(p);
	if (hk.have_prov && hk.prov.cancel != NULL)
		hk.prov.cancel(hk.prov.arg, ticket);
}

void
bw_hooks_cancel_owner(const void *owner)
{
	if (owner == NULL)
		return;
	for (size_t i = 0; i < hk.nbuckets; i++) {
		struct hook_pending **pp = &hk.bucket[i];

		while (*pp != NULL) {
			struct hook_pending *p = *pp;

			if (p->owner != owner) {
				pp = &p->next;
				continue;
			}
			*pp = p->next;
			hk.count--;
			if (hk.have_prov && hk.prov.cancel != NULL)
				hk.prov.cancel(hk.prov.arg, p->ticket);
			free(p);
		}
	}
}

unsigned
bw_hooks_pending(void)
{
	return (unsigned)hk.count;
}
