/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/modules/test-badmajor.c - a module built for another ABI major
 * (as if against a future module.h): the loader must refuse it.
 */
#include <errno.h>

#include <bulwark/module.h>

static int
badmajor_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf)
{
	return -EINVAL; /* never called */
}

BW_MODULE_EXPORT const struct bw_module bw_module_desc = {
	.abi_major = BW_MODULE_ABI_MAJOR + 1,
	.abi_minor = 0,
	.size = sizeof(struct bw_module),
	.signature = BW_MODULE_SIGNATURE,
	.name = "test-badmajor",
	.version = "1",
	.init = badmajor_init,
};
