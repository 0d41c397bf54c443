/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/modules/test-initfail.c - a module whose init() fails after it
 * registered a route: the instance must be disabled, its route dropped,
 * and the daemon must carry on (or refuse to start when the instance's
 * section says required = true).
 */
#include <errno.h>

#include <bulwark/module.h>

static int
initfail_get(bw_api_request *req, void *user_data)
{
	const struct bw_core_api *api = user_data;

	return api->reply_json(req, 200, "{\"reached\":true}");
}

static int
initfail_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf)
{
	api->api_route(ctx, "GET", "/v1/test-initfail", initfail_get,
		       (void *)api, NULL);
	api->log(ctx, BW_LOG_ERR, "init: cannot reach the frobnicator");
	return -EHOSTUNREACH;
}

static void
initfail_fini(bw_module_ctx *ctx)
{
	/* Never called: fini is only for instances whose init succeeded. */
	__builtin_trap();
}

BW_MODULE_DEFINE(
	.name = "test-initfail",
	.version = "0.1",
	.description = "init always fails",
	.init = initfail_init,
	.fini = initfail_fini,
);
