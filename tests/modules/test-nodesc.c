/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/modules/test-nodesc.c - a shared object without the descriptor
 * symbol (a library put in module_dir by mistake): refused.
 */
#include <bulwark/module.h>

BW_MODULE_EXPORT int test_nodesc_something(int x);

BW_MODULE_EXPORT int
test_nodesc_something(int x)
{
	return x + 1;
}
