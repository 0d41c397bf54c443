/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/modules/test-dupname.c - a valid module whose descriptor claims the
 * name of another one (test-full): loaded after it, it must be refused.
 */
#include <errno.h>

#include <bulwark/module.h>

static int
dupname_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf)
{
	return 0;
}

BW_MODULE_DEFINE(
	.name = "test-full",
	.version = "9.9",
	.description = "claims another module's name",
	.init = dupname_init,
);
