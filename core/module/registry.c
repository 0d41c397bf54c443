/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/module/registry.c - registries of policy formats, the identity allocator
 * and metrics collectors, each entry tagged with its owner (a module
 * instance) so that a disabled instance leaves nothing behind.
 *
 * Structs that arrive from a module are size-prefixed: we copy what the
 * module's size covers and leave newer members zero, so a module built
 * against an older header keeps working.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "core/log.h"
#include "core/module/registry.h"

struct bw_metrics_out {
	struct evbuffer *buf;
};

struct reg_format {
	struct reg_format *next;
	struct bw_policy_format fmt;
	const void *owner;
};

struct reg_metrics {
	struct reg_metrics *next;
	bw_metrics_collect_fn collect;
	void *arg;
	bw_free_fn free_fn;
	const void *owner;
};

struct reg_dropper {
	struct reg_dropper *next;
	void (*fn)(const void *owner);
};

static struct reg_dropper *droppers;
static struct reg_format *formats;
static struct reg_metrics *collectors;
static struct bw_identity_allocator allocator;
static const void *allocator_owner;
static int allocator_set;

/* Copy a size-prefixed struct: at most what both sides know, rest zero. */
static void
reg_copy(void *dst, size_t dstsize, const void *src, size_t srcsize)
{
	memset(dst, 0, dstsize);
	memcpy(dst, src, srcsize < dstsize ? srcsize : dstsize);
}

static int
reg_in_list(const char *const *list, const char *s)
{
	for (; list != NULL && *list != NULL; list++)
		if (!strcmp(*list, s))
			return 1;
	return 0;
}

static int
reg_format_handles(const struct bw_policy_format *f, const char *api_version,
		   const char *kind)
{
	return reg_in_list(f->api_versions, api_version) &&
	       reg_in_list(f->kinds, kind);
}

int
bw_policy_format_add(const struct bw_policy_format *fmt, const void *owner)
{
	struct reg_format *r, **tail;

	if (fmt == NULL || fmt->size < offsetof(struct bw_policy_format, free_user_data) ||
	    fmt->name == NULL || fmt->parse == NULL || fmt->api_versions == NULL ||
	    fmt->kinds == NULL)
		return -EINVAL;
	for (tail = &formats; *tail != NULL; tail = &(*tail)->next)
		for (const char *const *v = fmt->api_versions; *v; v++)
			for (const char *const *k = fmt->kinds; *k; k++)
				if (reg_format_handles(&(*tail)->fmt, *v, *k))
					return -EEXIST;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -ENOMEM;
	reg_copy(&r->fmt, sizeof(r->fmt), fmt, fmt->size);
	r->fmt.size = sizeof(r->fmt);
	r->owner = owner;
	*tail = r;
	return 0;
}

const struct bw_policy_format *
bw_policy_format_find(const char *api_version, const char *kind)
{
	if (api_version == NULL || kind == NULL)
		return NULL;
	for (struct reg_format *r = formats; r != NULL; r = r->next)
		if (reg_format_handles(&r->fmt, api_version, kind))
			return &r->fmt;
	return NULL;
}

int
bw_policy_format_foreach(int (*cb)(const struct bw_policy_format *, void *),
			 void *arg)
{
	int rc;

	for (struct reg_format *r = formats; r != NULL; r = r->next)
		if ((rc = cb(&r->fmt, arg)) != 0)
			return rc;
	return 0;
}

int
bw_identity_allocator_set(const struct bw_identity_allocator *alloc,
			  const void *owner)
{
	if (alloc == NULL ||
	    alloc->size < offsetof(struct bw_identity_allocator, free_user_data) ||
	    alloc->name == NULL || alloc->allocate == NULL)
		return -EINVAL;
	if (allocator_set)
		return -EEXIST;
	reg_copy(&allocator, sizeof(allocator), alloc, alloc->size);
	allocator.size = sizeof(allocator);
	allocator_owner = owner;
	allocator_set = 1;
	return 0;
}

const struct bw_identity_allocator *
bw_identity_allocator_get(void)
{
	return allocator_set ? &allocator : NULL;
}

int
bw_metrics_register(bw_metrics_collect_fn collect, void *arg,
		    bw_free_fn free_fn, const void *owner)
{
	struct reg_metrics *r, **tail;

	if (collect == NULL)
		return -EINVAL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -ENOMEM;
	r->collect = collect;
	r->arg = arg;
	r->free_fn = free_fn;
	r->owner = owner;
	for (tail = &collectors; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = r;
	return 0;
}

int
bw_metrics_vprintf(struct bw_metrics_out *out, const char *fmt, va_list ap)
{
	if (out == NULL || out->buf == NULL)
		return -EINVAL;
	return evbuffer_add_vprintf(out->buf, fmt, ap) < 0 ? -ENOMEM : 0;
}

int
bw_metrics_printf(struct bw_metrics_out *out, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = bw_metrics_vprintf(out, fmt, ap);
	va_end(ap);
	return rc;
}

void
bw_metrics_collect_all(struct evbuffer *buf)
{
	struct bw_metrics_out out = { buf };

	for (struct reg_metrics *r = collectors; r != NULL; r = r->next)
		r->collect(&out, r->arg);
}

static void
reg_format_free(struct reg_format *r)
{
	if (r->fmt.free_user_data != NULL)
		r->fmt.free_user_data(r->fmt.user_data);
	free(r);
}

static void
reg_allocator_clear(void)
{
	if (allocator_set && allocator.free_user_data != NULL)
		allocator.free_user_data(allocator.user_data);
	memset(&allocator, 0, sizeof(allocator));
	allocator_set = 0;
	allocator_owner = NULL;
}

static void
reg_drop(const void *owner, int all)
{
	struct reg_format **pf = &formats;
	struct reg_metrics **pm = &collectors;

	while (*pf != NULL) {
		struct reg_format *r = *pf;

		if (all || r->owner == owner) {
			*pf = r->next;
			reg_format_free(r);
		} else
			pf = &r->next;
	}
	while (*pm != NULL) {
		struct reg_metrics *r = *pm;

		if (all || r->owner == owner) {
			*pm = r->next;
			if (r->free_fn != NULL)
				r->free_fn(r->arg);
			free(r);
		} else
			pm = &r->next;
	}
	if (allocator_set && (all || allocator_owner == owner))
		reg_allocator_clear();
}

int
bw_registry_add_dropper(void (*fn)(const void *owner))
{
	struct reg_dropper *d;

	for (d = droppers; d != NULL; d = d->next)
		if (d->fn == fn)
			return 0;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -ENOMEM;
	d->fn = fn;
	d->next = droppers;
	droppers = d;
	return 0;
}

void
bw_registry_drop_owner(const void *owner)
{
	if (owner == NULL)
		return;
	for (struct reg_dropper *d = droppers; d != NULL; d = d->next)
		d->fn(owner);
	reg_drop(owner, 0);
}

void
bw_registry_fini(void)
{
	reg_drop(NULL, 1);
	while (droppers != NULL) {
		struct reg_dropper *d = droppers;

		droppers = d->next;
		free(d);
	}
}
