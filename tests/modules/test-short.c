/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/modules/test-short.c - a descriptor shorter than ABI 1.0 defines
 * (as a hand-rolled or truncated struct would be): the loader must refuse
 * it without reading past its end.
 */
#include <stdint.h>

#include <bulwark/module.h>

struct short_desc {
	uint32_t abi_major;
	uint32_t abi_minor;
	uint32_t size;
	uint32_t flags;
	const char *name;
};

BW_MODULE_EXPORT const struct short_desc bw_module_desc = {
	.abi_major = BW_MODULE_ABI_MAJOR,
	.abi_minor = BW_MODULE_ABI_MINOR,
	.size = sizeof(struct short_desc),
	.name = "test-short",
};
