/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/datapath/ctpeers.c - which addresses are peers of connections the
 * datapath still tracks: the FQDN cache keeps an expired name's address
 * while a connection to it lives (Cilium's "zombies"), so its entries are
 * not taken away under an established connection.
 *
 * One batched walk of bw_ct for the whole list; the addresses are put in a
 * small open-addressing set first, so the walk costs one hash probe per
 * entry whatever the list's length.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/datapath/datapath.h"
#include "core/datapath/datapath_int.h"

struct ctp {
	const uint8_t (*addrs)[16];
	uint8_t *alive;
	size_t *slots; /* index + 1 into addrs, 0 empty */
	size_t cap;    /* power of two */
	uint32_t now;  /* jiffies (struct bw_ct_entry) */
};

static size_t ctp_hash(const uint8_t *a, size_t cap)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 16; i++)
		h = (h ^ a[i]) * 16777619u;
	return h & (cap - 1);
}

static void ctp_mark(struct ctp *c, const uint8_t *a)
{
	for (size_t h = ctp_hash(a, c->cap); c->slots[h]; h = (h + 1) & (c->cap - 1))
		if (!memcmp(c->addrs[c->slots[h] - 1], a, 16))
			c->alive[c->slots[h] - 1] = 1;
}

static int ctp_cb(const struct bw_ct_key *k, const struct bw_ct_entry *v, void *arg)
{
	struct ctp *c = arg;

	if ((int32_t)(v->expires - c->now) < 0 || (v->flags & BW_CT_F_DENIED))
		return 0;
	ctp_mark(c, k->saddr);
	ctp_mark(c, k->daddr);
	return 0;
}

int bw_datapath_ct_peers_alive(const uint8_t (*addrs)[16], size_t n,
			       uint8_t *alive)
{
	struct ctp c = { addrs, alive, NULL, 16, dp_ct_now() };
	int rc;

	memset(alive, 0, n);
	if (!n)
		return 0;
	while (c.cap < n * 2)
		c.cap *= 2;
	c.slots = calloc(c.cap, sizeof(*c.slots));
	if (!c.slots)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t h = ctp_hash(addrs[i], c.cap);

		while (c.slots[h])
			h = (h + 1) & (c.cap - 1);
		c.slots[h] = i + 1;
	}
	rc = bw_datapath_ct_foreach(ctp_cb, &c);
	free(c.slots);
	return rc;
}
