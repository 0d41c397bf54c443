/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/modules/test-oldabi.c - a module built against ABI 1.0: minor 0 and
 * a descriptor size that ends after fini, before the 1.1 member check. It
 * must load and run. Where 1.1 has check there is a function that refuses
 * every config: if the loader read past the size the module declares, it
 * would call it and every config would be refused.
 */
#include <errno.h>
#include <stdio.h>

#include <bulwark/module.h>

static int
oldabi_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf)
{
	(void)conf;
	api->log(ctx, BW_LOG_NOTICE, "init: an ABI 1.0 module");
	return 0;
}

/* Never called: the descriptor's size says it has no check member. */
static int
oldabi_never(const void *conf, char *err, size_t errlen, const char **key)
{
	(void)conf;
	*key = NULL;
	snprintf(err, errlen, "the loader read a member past the descriptor's size");
	return -EINVAL;
}

BW_MODULE_EXPORT const struct bw_module bw_module_desc = {
	.abi_major = BW_MODULE_ABI_MAJOR,
	.abi_minor = 0,
	.size = offsetof(struct bw_module, check), /* the 1.0 descriptor */
	.signature = BW_MODULE_SIGNATURE,
	.name = "test-oldabi",
	.version = "1.0",
	.description = "an ABI 1.0 module (no check member)",
	.init = oldabi_init,
	.check = oldabi_never,
};
