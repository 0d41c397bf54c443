/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_module.c - the module loader (core/module/module.c), the core
 * API table (core/module/coreapi.c) and the registries (core/module/registry.c), with the
 * test modules of tests/modules/ loaded for real through dlopen.
 *
 * What a user sees of the same things through a running daemon is tested
 * by tests/modules/test_loader.sh; here we look at the instance list, the
 * config structs, the registries and the lifecycle order directly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "core/api.h"
#include "core/config.h"
#include "core/log.h"
#include "core/module/coreapi.h"
#include "core/module/module.h"
#include "core/module/registry.h"
#include "tests/unit/fake_core.h"
#include "tests/unit/tmpdir.h"

static char moddir[512], dir[256];
static struct event_base *base;
static struct bw_conf *cf;

static void
setup(void)
{
	const char *b = getenv("abs_top_builddir");

	snprintf(moddir, sizeof(moddir), "%s/tests/modules/.libs", b ? b : ".");
	bw_test_tmp(dir, sizeof(dir), "bwmod.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	base = event_base_new();
	bw_log_set_level(BW_LOG_ERR);
	cf = NULL;
}

static void
teardown(void)
{
	char cmd[128];

	bw_modules_fini();
	bw_api_fini();
	bw_registry_fini();
	if (cf != NULL)
		bw_conf_free(cf);
	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* A config with daemon.modules = modules and the extra text after it. */
static struct bw_conf *
conf(const char *modules, const char *extra)
{
	char text[4096], err[512];
	struct bw_conf *c;

	snprintf(text, sizeof(text),
		 "[daemon]\nsocket = %s/s.sock\nstate_dir = %s/state\n"
		 "bpffs_dir = %s/bpffs\nmodule_dir = %s\nmodules = %s\n"
		 "[policy]\ndir = %s/pol\n%s",
		 dir, dir, dir, moddir, modules, dir, extra ? extra : "");
	c = bw_conf_load_string("test.conf", text, NULL, 0, err, sizeof(err));
	ck_assert_msg(c != NULL, "config: %s", err);
	return c;
}

static struct bw_module_ctx *
inst(const char *name)
{
	for (struct bw_module_ctx *c = bw_modules_first(); c; c = c->next)
		if (!strcmp(c->instance, name))
			return c;
	ck_abort_msg("no instance %s", name);
	return NULL;
}

/* The head of a test-full config struct (see tests/modules/test-full.c). */
struct full_conf {
	int enabled;
	int64_t count;
	int64_t buffer;
	int64_t interval;
	char *greeting;
	int color;
};

static int
h_dummy(struct bw_api_request *req, void *arg)
{
	return 0;
}

START_TEST(full_module_lifecycle)
{
	char err[512], path[600];
	struct bw_module_ctx *c;
	const struct full_conf *fc;
	struct evbuffer *out;
	struct stat st;
	size_t len;
	char *text;

	cf = conf("test-full test-full:two",
		  "[test-full]\ngreeting = hi\ncount = 9\nbuffer = 2M\n"
		  "interval = 1500ms\ncolor = red\nenabled = off\n");
	ck_assert_int_eq(bw_modules_load(cf, 0, err, sizeof(err)), 0);
	c = inst("test-full");
	ck_assert_int_eq(c->state, BW_INSTANCE_LOADED);
	ck_assert_str_eq(c->module, "test-full");
	fc = c->conf;
	ck_assert_str_eq(fc->greeting, "hi");
	ck_assert_int_eq(fc->count, 9);
	ck_assert_int_eq(fc->buffer, 2 * 1024 * 1024);
	ck_assert_int_eq(fc->interval, 1500);
	ck_assert_int_eq(fc->color, 0);
	ck_assert_int_eq(fc->enabled, 0);
	fc = inst("test-full:two")->conf;
	ck_assert_str_eq(fc->greeting, "hello");
	ck_assert_int_eq(fc->count, 3);
	/* One .so, two instances. */
	ck_assert_ptr_eq(inst("test-full:two")->mod, c->mod);

	ck_assert_int_eq(bw_modules_init(base, bw_coreapi_get()), 0);
	ck_assert_int_eq(bw_modules_count(BW_INSTANCE_RUNNING), 2);
	/* Its routes are in the table. */
	ck_assert_int_eq(bw_api_route_add("GET", "/v1/test-full/test-full",
					  h_dummy, NULL), -EEXIST);
	ck_assert_int_eq(bw_api_route_add("GET", "/v1/test-full/test-full:two/stream",
					  h_dummy, NULL), -EEXIST);
	/* Its state dir, created on demand, private. */
	snprintf(path, sizeof(path), "%s/state/test-full/greeting", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/state/test-full", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	/* Its metrics. */
	out = evbuffer_new();
	bw_metrics_collect_all(out);
	len = evbuffer_get_length(out);
	text = calloc(1, len + 1);
	evbuffer_remove(out, text, len);
	ck_assert_ptr_nonnull(strstr(text, "test_full_inits{instance=\"test-full\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "test_full_inits{instance=\"test-full:two\"} 1\n"));
	free(text);
	evbuffer_free(out);

	ck_assert_int_eq(bw_modules_start(), 0);
	ck_assert_int_eq(c->started, 1);
	bw_modules_stop();
	ck_assert_int_eq(c->started, 0);
	bw_modules_fini();
	/* Routes dropped with their instances. */
	ck_assert_int_eq(bw_api_route_add("GET", "/v1/test-full/test-full",
					  h_dummy, NULL), 0);
	ck_assert_ptr_null(bw_modules_first());
}
END_TEST

START_TEST(check_only_does_not_init)
{
	char err[512];

	cf = conf("test-full", NULL);
	ck_assert_int_eq(bw_modules_load(cf, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(inst("test-full")->state, BW_INSTANCE_LOADED);
	ck_assert_int_eq(inst("test-full")->inited, 0);
}
END_TEST

/* Load one module and return its error (the instance is FAILED). */
static const char *
refused(const char *module, char *file, size_t filelen)
{
	char err[512];
	struct bw_module_ctx *c;

	cf = conf(module, NULL);
	ck_assert_int_eq(bw_modules_load(cf, 0, err, sizeof(err)), 0);
	c = inst(module);
	ck_assert_int_eq(c->state, BW_INSTANCE_FAILED);
	ck_assert_ptr_null(c->mod);
	snprintf(file, filelen, "%s/%s.so", moddir, module);
	/* Every message starts with the file. */
	ck_assert_msg(!strncmp(c->error, file, strlen(file)), "%s", c->error);
	return c->error + strlen(file);
}

START_TEST(refuse_each_way)
{
	char f[600];

	ck_assert_str_eq(refused("test-badmajor", f, sizeof(f)),
		": built for module ABI 2.0 but this bulwarkd loads ABI 1 (up to 1."
		BW_STR(BW_MODULE_ABI_MINOR) "); "
		"rebuild the module against this bulwark's module.h");
	teardown(); setup();
	{
		char want[200];

		/* test-newminor says BW_MODULE_ABI_MINOR + 1 */
		snprintf(want, sizeof(want),
			 ": built for module ABI 1.%d, newer than this bulwarkd's "
			 "1.%d; upgrade bulwarkd or rebuild the module against "
			 "this bulwark's module.h", BW_MODULE_ABI_MINOR + 1,
			 BW_MODULE_ABI_MINOR);
		ck_assert_str_eq(refused("test-newminor", f, sizeof(f)), want);
	}
	teardown(); setup();
	{
		char want[200];

		/* the threshold stays the ABI 1.0 descriptor (up to fini) */
		snprintf(want, sizeof(want),
			 ": descriptor is %zu bytes, module ABI 1.%d needs at least "
			 "%zu; rebuild the module with BW_MODULE_DEFINE",
			 4 * sizeof(uint32_t) + sizeof(char *), BW_MODULE_ABI_MINOR,
			 offsetof(struct bw_module, fini) + sizeof(void (*)(void)));
		ck_assert_str_eq(refused("test-short", f, sizeof(f)), want);
	}
	teardown(); setup();
	ck_assert_str_eq(refused("test-badsig", f, sizeof(f)),
		": build signature 'bulwark:1:ptr4:be:conf1' does not match this "
		"bulwarkd's '" BW_MODULE_SIGNATURE "'; rebuild the module for this system");
	teardown(); setup();
	ck_assert_str_eq(refused("test-nodesc", f, sizeof(f)),
		": not a bulwark module: no bw_module_desc symbol (build it with "
		"BW_MODULE_DEFINE)");
	teardown(); setup();
	ck_assert_str_eq(refused("test-missing", f, sizeof(f)),
		": cannot load module: No such file or directory (check "
		"daemon.module_dir and the name in daemon.modules)");
}
END_TEST

START_TEST(refuse_duplicate_name)
{
	char err[512], want[1400];
	struct bw_module_ctx *c;

	cf = conf("test-full test-dupname", NULL);
	ck_assert_int_eq(bw_modules_load(cf, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(inst("test-full")->state, BW_INSTANCE_LOADED);
	c = inst("test-dupname");
	ck_assert_int_eq(c->state, BW_INSTANCE_FAILED);
	snprintf(want, sizeof(want),
		 "%s/test-dupname.so: module name 'test-full' is already taken by "
		 "%s/test-full.so; load only one of them", moddir, moddir);
	ck_assert_str_eq(c->error, want);
}
END_TEST

START_TEST(required_refusal_is_fatal)
{
	char err[512];

	cf = conf("test-badsig", "[test-badsig]\nrequired = true\n");
	ck_assert_int_lt(bw_modules_load(cf, 0, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "test-badsig.so: build signature"));
	ck_assert_ptr_nonnull(strstr(err, "([test-badsig] is required)"));
}
END_TEST

START_TEST(init_failure_disables)
{
	char err[512], want[700];
	struct bw_module_ctx *c;

	cf = conf("test-initfail test-full", NULL);
	ck_assert_int_eq(bw_modules_load(cf, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(bw_modules_init(base, bw_coreapi_get()), 0);
	c = inst("test-initfail");
	ck_assert_int_eq(c->state, BW_INSTANCE_DISABLED);
	snprintf(want, sizeof(want),
		 "%s/test-initfail.so: init of [test-initfail] failed: No route to host",
		 moddir);
	ck_assert_str_eq(c->error, want);
	/* The route it registered before failing is gone. */
	ck_assert_int_eq(bw_api_route_add("GET", "/v1/test-initfail", h_dummy,
					  NULL), 0);
	/* The others carry on. */
	ck_assert_int_eq(inst("test-full")->state, BW_INSTANCE_RUNNING);
}
END_TEST

START_TEST(init_failure_required_is_fatal)
{
	char err[512];

	cf = conf("test-initfail", "[test-initfail]\nrequired = yes\n");
	ck_assert_int_eq(bw_modules_load(cf, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(bw_modules_init(base, bw_coreapi_get()), -EHOSTUNREACH);
}
END_TEST

START_TEST(config_error_is_fatal)
{
	char err[512];

	cf = conf("test-full", "[test-full]\ncolor = purple\n");
	ck_assert_int_eq(bw_modules_load(cf, 0, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "color"));
	ck_assert_ptr_nonnull(strstr(err, "purple"));
}
END_TEST

START_TEST(reload_applies_or_keeps)
{
	char err[512];
	struct bw_conf *next;
	const struct full_conf *fc;

	cf = conf("test-full", "[test-full]\ngreeting = one\n");
	ck_assert_int_eq(bw_modules_load(cf, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(bw_modules_init(base, bw_coreapi_get()), 0);

	next = conf("test-full", "[test-full]\ngreeting = two\n");
	ck_assert_int_eq(bw_modules_reload(next), 0);
	fc = inst("test-full")->conf;
	ck_assert_str_eq(fc->greeting, "two");
	bw_conf_free(next);

	/* Not reloadable: kept. */
	next = conf("test-full", "[test-full]\ngreeting = three\nbuffer = 1M\n");
	ck_assert_int_eq(bw_modules_reload(next), 0);
	fc = inst("test-full")->conf;
	ck_assert_str_eq(fc->greeting, "two");
	bw_conf_free(next);

	/* The module says -ENOTSUP: kept. */
	next = conf("test-full", "[test-full]\ngreeting = four\nrefuse_reload = true\n");
	ck_assert_int_eq(bw_modules_reload(next), 0);
	fc = inst("test-full")->conf;
	ck_assert_str_eq(fc->greeting, "two");
	bw_conf_free(next);

	/* A bad value (module keys are checked by the loader): nothing
	 * changes, error returned. */
	next = conf("test-full", "[test-full]\ngreeting = five\ncount = 500\n");
	ck_assert_int_eq(bw_modules_reload(next), -EINVAL);
	fc = inst("test-full")->conf;
	ck_assert_str_eq(fc->greeting, "two");
	bw_conf_free(next);
}
END_TEST

/* The head of a test-check config struct (tests/modules/test-check.c). */
struct chk_conf {
	char *path;
	int64_t low;
	int64_t high;
};

START_TEST(check_hook_refuses_at_load)
{
	char err[1024];

	/* -n and a start take the same path: the check is a config error. */
	for (int check_only = 0; check_only <= 1; check_only++) {
		cf = conf("test-full test-check",
			  "[test-check]\nlow = 2\npath = rel\n");
		ck_assert_int_eq(bw_modules_load(cf, check_only, err, sizeof(err)),
				 -EINVAL);
		/* [test-check] is on line 9 of conf()'s text, path on 11. */
		ck_assert_str_eq(err, "test.conf:11: [test-check] path: 'rel' is "
				 "not an absolute path");
		teardown(); setup();
	}
	/* A problem of the whole section names the section's line. */
	cf = conf("test-check", "[test-check]\nlow = 5\nhigh = 4\n");
	ck_assert_int_eq(bw_modules_load(cf, 1, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "test.conf:9: [test-check]: low (5) is above high (4)");
	teardown(); setup();
	/* A section that only -o makes: named by that option. */
	{
		char *o[] = { "test-check.path=x" }, text[2048];

		snprintf(text, sizeof(text),
			 "[daemon]\nsocket = %s/s.sock\nstate_dir = %s/state\n"
			 "bpffs_dir = %s/bpffs\nmodule_dir = %s\nmodules = test-check\n"
			 "[policy]\ndir = %s/pol\n", dir, dir, dir, moddir, dir);
		cf = bw_conf_load_string("o.conf", text, o, 1, err, sizeof(err));
		ck_assert_ptr_nonnull(cf);
	}
	ck_assert_int_eq(bw_modules_load(cf, 0, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "-o test-check.path=x: [test-check] path: 'x' is "
			 "not an absolute path");
}
END_TEST

START_TEST(check_hook_passes_and_guards_reload)
{
	char err[1024];
	struct bw_conf *next;
	const struct chk_conf *cc;

	cf = conf("test-check test-oldabi", "[test-check]\npath = /a\n");
	ck_assert_int_eq(bw_modules_load(cf, 0, err, sizeof(err)), 0);
	/* A 1.1 descriptor's check is used, a 1.0 one's is never read. */
	ck_assert_ptr_nonnull(inst("test-check")->mod->check);
	ck_assert_ptr_nonnull(inst("test-oldabi")->mod);
	ck_assert_ptr_null(inst("test-oldabi")->mod->check);
	ck_assert_int_eq(bw_modules_init(base, bw_coreapi_get()), 0);
	ck_assert_int_eq(inst("test-check")->state, BW_INSTANCE_RUNNING);
	ck_assert_int_eq(inst("test-oldabi")->state, BW_INSTANCE_RUNNING);

	/* A value the check refuses: the whole reload is refused. */
	next = conf("test-check test-oldabi", "[test-check]\npath = b\n");
	ck_assert_int_eq(bw_modules_reload(next), -EINVAL);
	cc = inst("test-check")->conf;
	ck_assert_str_eq(cc->path, "/a");
	bw_conf_free(next);

	next = conf("test-check test-oldabi", "[test-check]\npath = /b\n");
	ck_assert_int_eq(bw_modules_reload(next), 0);
	cc = inst("test-check")->conf;
	ck_assert_str_eq(cc->path, "/b");
	bw_conf_free(next);
}
END_TEST

static int fmt_parse(void *ud, const char *json, size_t len, char **out,
		     char *err, size_t errlen)
{
	return -ENOTSUP;
}

static int fmt_freed;

static void
fmt_free(void *ud)
{
	fmt_freed++;
}

START_TEST(policy_format_registry)
{
	static const char *const v1[] = { "networking.k8s.io/v1", NULL };
	static const char *const k1[] = { "NetworkPolicy", NULL };
	static const char *const v2[] = { "cilium.io/v2", NULL };
	static const char *const k2[] = { "CiliumNetworkPolicy",
					  "CiliumClusterwideNetworkPolicy", NULL };
	struct bw_policy_format a = {
		.size = sizeof(a), .name = "kubernetes", .api_versions = v1,
		.kinds = k1, .parse = fmt_parse, .free_user_data = fmt_free,
	};
	struct bw_policy_format b = {
		.size = sizeof(b), .name = "cilium", .api_versions = v2,
		.kinds = k2, .parse = fmt_parse,
	};
	int owner = 0;

	fmt_freed = 0;
	ck_assert_int_eq(bw_policy_format_add(&a, &owner), 0);
	ck_assert_int_eq(bw_policy_format_add(&b, NULL), 0);
	ck_assert_int_eq(bw_policy_format_add(&a, NULL), -EEXIST);
	ck_assert_str_eq(bw_policy_format_find("networking.k8s.io/v1",
					       "NetworkPolicy")->name, "kubernetes");
	ck_assert_str_eq(bw_policy_format_find("cilium.io/v2",
					       "CiliumClusterwideNetworkPolicy")->name,
			 "cilium");
	ck_assert_ptr_null(bw_policy_format_find("cilium.io/v2", "NetworkPolicy"));
	bw_registry_drop_owner(&owner);
	ck_assert_int_eq(fmt_freed, 1);
	ck_assert_ptr_null(bw_policy_format_find("networking.k8s.io/v1",
						 "NetworkPolicy"));
	/* An older, shorter struct is accepted; the rest reads as zero. */
	a.size = offsetof(struct bw_policy_format, free_user_data);
	ck_assert_int_eq(bw_policy_format_add(&a, NULL), 0);
	ck_assert_ptr_null(bw_policy_format_find("networking.k8s.io/v1",
						 "NetworkPolicy")->free_user_data);
}
END_TEST

static int
alloc_fn(void *ud, const char *labels, int local, uint32_t *id)
{
	*id = 1000;
	return 0;
}

START_TEST(identity_allocator_registry)
{
	struct bw_identity_allocator a = {
		.size = sizeof(a), .name = "local", .allocate = alloc_fn,
	};
	int owner = 0;
	uint32_t id;

	ck_assert_ptr_null(bw_identity_allocator_get());
	ck_assert_int_eq(bw_identity_allocator_set(&a, &owner), 0);
	ck_assert_int_eq(bw_identity_allocator_set(&a, NULL), -EEXIST);
	ck_assert_int_eq(bw_identity_allocator_get()->allocate(NULL, "", 0, &id), 0);
	ck_assert_uint_eq(id, 1000);
	bw_registry_drop_owner(&owner);
	ck_assert_ptr_null(bw_identity_allocator_get());
}
END_TEST

static const void *dropped;

static void
dropper(const void *owner)
{
	dropped = owner;
}

START_TEST(droppers_called_per_owner)
{
	int owner = 0;

	dropped = NULL;
	ck_assert_int_eq(bw_registry_add_dropper(dropper), 0);
	ck_assert_int_eq(bw_registry_add_dropper(dropper), 0);
	bw_registry_drop_owner(&owner);
	ck_assert_ptr_eq(dropped, &owner);
}
END_TEST

/* Every member of the table is set: a module may call any of them. */
static void
assert_table_complete(const struct bw_core_api *api, const char *which)
{
	ck_assert_uint_eq(api->size, sizeof(struct bw_core_api));
	for (size_t off = sizeof(size_t); off < sizeof(*api); off += sizeof(void *)) {
		void *p;

		memcpy(&p, (const char *)api + off, sizeof(p));
		ck_assert_msg(p != NULL, "%s: member at offset %zu is NULL", which, off);
	}
}

START_TEST(core_api_table_complete)
{
	const struct bw_core_api *api = bw_coreapi_get();

	assert_table_complete(api, "coreapi");
	ck_assert(BW_API_HAS(api, metrics_printf));
	ck_assert(BW_API_HAS(api, conf));
}
END_TEST

/* The module tests' fake (tests/unit/fake_core.c) keeps up with the table. */
START_TEST(fake_core_api_table_complete)
{
	assert_table_complete(fake_core_api(), "fake_core");
}
END_TEST

static Suite *
module_suite(void)
{
	Suite *s = suite_create("module");
	TCase *tc = tcase_create("loader");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, full_module_lifecycle);
	tcase_add_test(tc, check_only_does_not_init);
	tcase_add_test(tc, refuse_each_way);
	tcase_add_test(tc, refuse_duplicate_name);
	tcase_add_test(tc, required_refusal_is_fatal);
	tcase_add_test(tc, init_failure_disables);
	tcase_add_test(tc, init_failure_required_is_fatal);
	tcase_add_test(tc, config_error_is_fatal);
	tcase_add_test(tc, reload_applies_or_keeps);
	tcase_add_test(tc, check_hook_refuses_at_load);
	tcase_add_test(tc, check_hook_passes_and_guards_reload);
	suite_add_tcase(s, tc);

	tc = tcase_create("registry");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, policy_format_registry);
	tcase_add_test(tc, identity_allocator_registry);
	tcase_add_test(tc, core_api_table_complete);
	tcase_add_test(tc, fake_core_api_table_complete);
	tcase_add_test(tc, droppers_called_per_owner);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(module_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
