/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hello.c - the smallest useful bulwarkd module, built out of tree against
 * the installed <bulwark/module.h>:
 *
 *   cc -shared -fPIC -fvisibility=hidden $(pkg-config --cflags bulwark-module) \
 *      -o hello.so hello.c
 *
 * It has one config key, greeting (reloadable), and serves GET /v1/hello:
 *
 *   $ curl --unix-socket /run/bulwark/bulwark.sock http://bulwarkd/v1/hello
 *   {"message":"hello, world","instance":"hello"}
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bulwark/module.h>

/* The instance's config: the core fills it from the [hello] section. */
struct hello_conf {
	char *greeting;
};

static const struct bw_conf_key hello_keys[] = {
	{ .name = "greeting", .type = BW_CONF_STRING, .def = "hello, world",
	  .offset = offsetof(struct hello_conf, greeting),
	  .flags = BW_CONF_F_RELOADABLE,
	  .help = "what GET /v1/hello answers" },
	BW_CONF_KEY_END,
};

/* The core's table is the same for every instance; keep it. */
static const struct bw_core_api *api;

/* Escape a string for a JSON document (quotes, backslashes, controls). */
static void
hello_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static int
hello_get(bw_api_request *req, void *user_data)
{
	bw_module_ctx *ctx = user_data;
	const struct hello_conf *conf = api->conf(ctx);
	char *json = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if ((f = open_memstream(&json, &len)) == NULL)
		return -ENOMEM;
	fputs("{\"message\":", f);
	hello_json_string(f, conf->greeting);
	fputs(",\"instance\":", f);
	hello_json_string(f, api->instance_name(ctx));
	fputs("}", f);
	fclose(f);
	rc = api->reply_json(req, 200, json);
	free(json);
	return rc;
}

static int
hello_init(bw_module_ctx *ctx, const struct bw_core_api *core, void *conf)
{
	const struct hello_conf *c = conf;

	/* Check a table member before use: one added after ABI 1.0 may be
	 * missing (conf is 1.0's, so this is only the habit). */
	if (!BW_API_HAS(core, conf))
		return -ENOTSUP;
	api = core;
	api->log(ctx, BW_LOG_INFO, "greeting is '%s'", c->greeting);
	return api->api_route(ctx, "GET", "/v1/hello", hello_get, ctx, NULL);
}

static int
hello_reload(bw_module_ctx *ctx, const void *new_conf)
{
	const struct hello_conf *c = new_conf;

	/* Nothing to do: hello_get() reads api->conf(), which is new_conf
	 * as soon as we return 0. */
	api->log(ctx, BW_LOG_INFO, "greeting is now '%s'", c->greeting);
	return 0;
}

BW_MODULE_DEFINE(
	.name = "hello",
	.version = "1.0",
	.description = "answers GET /v1/hello with a greeting",
	.conf_keys = hello_keys,
	.conf_size = sizeof(struct hello_conf),
	.init = hello_init,
	.reload = hello_reload,
);
