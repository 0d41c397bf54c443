/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/watchlist.c - lists of (callback, argument) pairs (lib/watchlist.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/watchlist.h"

int
bw_watchlist_add(struct bw_watchlist *l, void (*fn)(void), void *arg)
{
	struct bw_watch *v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	l->v = v;
	v[l->n].fn = fn;
	v[l->n].arg = arg;
	l->n++;
	return 0;
}

void
bw_watchlist_remove(struct bw_watchlist *l, void (*fn)(void), void *arg)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].fn != fn || l->v[i].arg != arg)
			continue;
		memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(l->v[0]));
		l->n--;
		return;
	}
}

void
bw_watchlist_clear(struct bw_watchlist *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
