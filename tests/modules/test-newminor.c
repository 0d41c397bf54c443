/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/modules/test-newminor.c - a module built against a newer minor of
 * the ABI than the daemon's: it may use members the daemon does not have,
 * so the loader must refuse it.
 */
#include <errno.h>

#include <bulwark/module.h>

static int
newminor_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf)
{
	return -EINVAL; /* never called */
}

BW_MODULE_EXPORT const struct bw_module bw_module_desc = {
	.abi_major = BW_MODULE_ABI_MAJOR,
	.abi_minor = BW_MODULE_ABI_MINOR + 1,
	.size = sizeof(struct bw_module),
	.signature = BW_MODULE_SIGNATURE,
	.name = "test-newminor",
	.version = "1",
	.init = newminor_init,
};
