/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/module/history.c - the flow history broker (core/module/history.h):
 * a short list of providers, the first of which serves history_scan().
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/module/history.h"
#include "core/module/registry.h"

struct hist_prov {
	struct bw_history_provider p;
	const void *owner;
};

static struct {
	struct hist_prov *v;
	size_t n;
	int dropper_set;
} H;

static void
hist_remove_at(size_t i)
{
	struct hist_prov gone = H.v[i];

	memmove(&H.v[i], &H.v[i + 1], (H.n - i - 1) * sizeof(*H.v));
	H.n--;
	if (gone.p.free_user_data != NULL)
		gone.p.free_user_data(gone.p.user_data);
}

static void
hist_drop_owner(const void *owner)
{
	size_t i = 0;

	while (i < H.n) {
		if (owner != NULL && H.v[i].owner == owner)
			hist_remove_at(i);
		else
			i++;
	}
}

int
bw_history_provider_add(const struct bw_history_provider *p, const void *owner)
{
	struct hist_prov *v;
	int rc;

	if (p == NULL || p->size < offsetof(struct bw_history_provider, free_user_data) ||
	    p->scan == NULL)
		return -EINVAL;
	if (!H.dropper_set) {
		if ((rc = bw_registry_add_dropper(hist_drop_owner)) < 0)
			return rc;
		H.dropper_set = 1;
	}
	if ((v = realloc(H.v, (H.n + 1) * sizeof(*v))) == NULL)
		return -ENOMEM;
	H.v = v;
	memset(&v[H.n], 0, sizeof(v[H.n]));
	memcpy(&v[H.n].p, p, p->size < sizeof(*p) ? p->size : sizeof(*p));
	v[H.n].p.size = sizeof(v[H.n].p);
	v[H.n].owner = owner;
	H.n++;
	return 0;
}

int
bw_history_scan(int64_t since_ms, int (*row)(const struct bw_history_row *r, void *arg),
		void (*done)(int err, const char *message, void *arg), void *arg)
{
	if (row == NULL || done == NULL)
		return -EINVAL;
	if (H.n == 0)
		return -ENOENT;
	return H.v[0].p.scan(H.v[0].p.user_data, since_ms, row, done, arg);
}

const char *
bw_history_provider_name(void)
{
	return H.n > 0 ? H.v[0].p.name : NULL;
}

void
bw_history_fini(void)
{
	while (H.n > 0)
		hist_remove_at(H.n - 1);
	free(H.v);
	H.v = NULL;
}
