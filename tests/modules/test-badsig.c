/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/modules/test-badsig.c - right ABI numbers, wrong build signature
 * (as if built for a 32-bit big-endian system): the loader must refuse it.
 */
#include <errno.h>

#include <bulwark/module.h>

static int
badsig_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf)
{
	return -EINVAL; /* never called */
}

BW_MODULE_EXPORT const struct bw_module bw_module_desc = {
	.abi_major = BW_MODULE_ABI_MAJOR,
	.abi_minor = BW_MODULE_ABI_MINOR,
	.size = sizeof(struct bw_module),
	.signature = "bulwark:" BW_STR(BW_MODULE_ABI_MAJOR) ":ptr4:be:conf1",
	.name = "test-badsig",
	.version = "1",
	.init = badsig_init,
};
