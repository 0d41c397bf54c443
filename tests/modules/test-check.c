/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/modules/test-check.c - a module with a config check hook (ABI 1.1,
 * bw_module.check), for the loader tests and as an example for authors.
 *
 * Its keys are all reloadable: path (a string that must be an absolute
 * path, which a key table cannot say) and low/high (integers with
 * low <= high, a rule between two keys: a problem of the whole section).
 * check() and init()/reload() share one validation function. init() says
 * whether check() ran before it; GET /v1/test-check/<instance> answers the
 * config in force, so a test sees that a refused reload kept it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bulwark/module.h>

struct chk_conf {
	char *path;
	int64_t low;
	int64_t high;
};

struct chk_state {
	bw_module_ctx *ctx;
	const struct chk_conf *conf;
	char route[128];
};

static const struct bw_core_api *chk_api;
/* Calls of check() so far (every instance), to show it runs before init. */
static unsigned chk_checks;

static const struct bw_conf_key chk_keys[] = {
	{ "path", BW_CONF_STRING, "/var/empty", offsetof(struct chk_conf, path),
	  0, 0, NULL, BW_CONF_F_RELOADABLE, "an absolute path" },
	{ "low", BW_CONF_INT, "1", offsetof(struct chk_conf, low),
	  0, 1000, NULL, BW_CONF_F_RELOADABLE, "at most high" },
	{ "high", BW_CONF_INT, "10", offsetof(struct chk_conf, high),
	  0, 1000, NULL, BW_CONF_F_RELOADABLE, "at least low" },
	BW_CONF_KEY_END,
};

/* The one validation: 0, or -EINVAL with the message and the key. */
static int
chk_validate(const struct chk_conf *c, char *err, size_t errlen,
	     const char **key)
{
	if (c->path == NULL || c->path[0] != '/') {
		*key = "path";
		snprintf(err, errlen, "'%s' is not an absolute path",
			 c->path != NULL ? c->path : "");
		return -EINVAL;
	}
	if (c->low > c->high) {
		*key = NULL; /* two keys disagree: the section is wrong */
		snprintf(err, errlen, "low (%lld) is above high (%lld)",
			 (long long)c->low, (long long)c->high);
		return -EINVAL;
	}
	return 0;
}

static int
chk_check(const void *conf, char *err, size_t errlen, const char **key)
{
	chk_checks++;
	return chk_validate(conf, err, errlen, key);
}

static int
chk_get(bw_api_request *req, void *user_data)
{
	struct chk_state *st = user_data;
	char json[1024];

	snprintf(json, sizeof(json), "{\"path\":\"%s\",\"low\":%lld,\"high\":%lld}",
		 st->conf->path, (long long)st->conf->low,
		 (long long)st->conf->high);
	return chk_api->reply_json(req, 200, json);
}

static int
chk_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf)
{
	struct chk_state *st;
	const char *key = NULL;
	char err[256];
	int rc;

	chk_api = api;
	if ((rc = chk_validate(conf, err, sizeof(err), &key)) < 0) {
		api->log(ctx, BW_LOG_ERR, "init: %s: %s", key ? key : "", err);
		return rc;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return -ENOMEM;
	st->ctx = ctx;
	st->conf = conf;
	snprintf(st->route, sizeof(st->route), "/v1/test-check/%s",
		 api->instance_name(ctx));
	if ((rc = api->api_route(ctx, "GET", st->route, chk_get, st, free)) < 0) {
		free(st);
		return rc;
	}
	api->set_data(ctx, st);
	api->log(ctx, BW_LOG_NOTICE, "init: path=%s (%s)", st->conf->path,
		 chk_checks > 0 ? "checked" : "not checked");
	return 0;
}

static int
chk_reload(bw_module_ctx *ctx, const void *new_conf)
{
	struct chk_state *st = chk_api->get_data(ctx);
	const char *key = NULL;
	char err[256];

	if (chk_validate(new_conf, err, sizeof(err), &key) < 0) {
		chk_api->log(ctx, BW_LOG_ERR, "reload: %s: %s", key ? key : "", err);
		return -EINVAL;
	}
	st->conf = new_conf;
	chk_api->log(ctx, BW_LOG_NOTICE, "reload: path=%s", st->conf->path);
	return 0;
}

BW_MODULE_DEFINE(
	.name = "test-check",
	.version = "1.1",
	.description = "checks its config values (bw_module.check)",
	.conf_keys = chk_keys,
	.conf_size = sizeof(struct chk_conf),
	.init = chk_init,
	.reload = chk_reload,
	.check = chk_check,
);
