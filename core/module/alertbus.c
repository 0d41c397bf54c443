/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/module/alertbus.c - the alert bus (core/module/alertbus.h): a list
 * of subscribers and a publish call, so that the module raising deny
 * alerts and whatever wants them (another module, the Lua host's alert
 * hook) do not know of each other.
 *
 * Publishing checks that the record is one JSON object on one line, so a
 * subscriber can always parse what it gets. Subscribing or unsubscribing
 * from inside a callback is allowed: the list is walked by id.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/module/alertbus.h"
#include "core/module/registry.h"

struct alert_sub {
	int id;
	const void *owner;
	bw_alert_cb cb;
	void *ud;
	bw_free_fn free_fn;
};

static struct {
	struct alert_sub *v;
	size_t n;
	int next_id;
	uint64_t published;
	int dropper_set;
} ab = { NULL, 0, 1, 0, 0 };

static void
alertbus_drop_owner(const void *owner)
{
	bw_alert_unsubscribe_owner(owner);
}

int
bw_alert_subscribe(const void *owner, bw_alert_cb cb, void *ud,
		   bw_free_fn free_fn)
{
	struct alert_sub *v;
	int rc;

	if (cb == NULL)
		return -EINVAL;
	if (!ab.dropper_set) {
		/* a disabled module instance takes its subscriptions along */
		if ((rc = bw_registry_add_dropper(alertbus_drop_owner)) < 0)
			return rc;
		ab.dropper_set = 1;
	}
	if ((v = realloc(ab.v, (ab.n + 1) * sizeof(*v))) == NULL)
		return -ENOMEM;
	ab.v = v;
	v[ab.n] = (struct alert_sub){ ab.next_id++, owner, cb, ud, free_fn };
	return v[ab.n++].id;
}

static void
alertbus_remove_at(size_t i)
{
	struct alert_sub s = ab.v[i];

	memmove(&ab.v[i], &ab.v[i + 1], (ab.n - i - 1) * sizeof(*ab.v));
	ab.n--;
	if (s.free_fn != NULL)
		s.free_fn(s.ud);
}

void
bw_alert_unsubscribe(int id)
{
	for (size_t i = 0; i < ab.n; i++)
		if (ab.v[i].id == id) {
			alertbus_remove_at(i);
			return;
		}
}

void
bw_alert_unsubscribe_owner(const void *owner)
{
	size_t i = 0;

	while (i < ab.n) {
		if (ab.v[i].owner == owner && owner != NULL)
			alertbus_remove_at(i);
		else
			i++;
	}
}

int
bw_alert_publish(const char *json)
{
	json_error_t jerr;
	json_t *doc;
	int last = 0, delivered = 0;

	if (json == NULL || strchr(json, '\n') != NULL ||
	    (doc = json_loads(json, 0, &jerr)) == NULL)
		return -EINVAL;
	if (!json_is_object(doc)) {
		json_decref(doc);
		return -EINVAL;
	}
	json_decref(doc);
	ab.published++;
	/* by id, so that callbacks may change the list */
	for (;;) {
		struct alert_sub *next = NULL;

		for (size_t i = 0; i < ab.n; i++)
			if (ab.v[i].id > last &&
			    (next == NULL || ab.v[i].id < next->id))
				next = &ab.v[i];
		if (next == NULL)
			break;
		last = next->id;
		next->cb(json, next->ud);
		delivered++;
	}
	return delivered;
}

uint64_t
bw_alert_published(void)
{
	return ab.published;
}

unsigned
bw_alert_subscribers(void)
{
	return (unsigned)ab.n;
}

void
bw_alertbus_fini(void)
{
	while (ab.n > 0)
		alertbus_remove_at(ab.n - 1);
	free(ab.v);
	ab.v = NULL;
	ab.published = 0;
}
