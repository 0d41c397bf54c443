/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/module/module.h - the module loader: dlopen, descriptor checks, one
 * instance per daemon.modules entry, lifecycle, GET /v1/modules.
 *
 * bulwarkd calls, in this order:
 *   bw_modules_load()   at start (and with check_only for -n)
 *   bw_modules_init()   once the event base exists
 *   bw_modules_start()  just before the loop runs
 *   bw_modules_reload() on SIGHUP, with the new config
 *   bw_modules_stop()   when the loop is stopping
 *   bw_modules_fini()   last
 * A module that cannot be loaded or whose init()/start() fails is disabled
 * and reported (log + /v1/modules) while the daemon carries on, unless its
 * section says "required = true": then the call returns an error and the
 * daemon must not start.
 */
#ifndef BW_CORE_MODULE_H
#define BW_CORE_MODULE_H

#include <stddef.h>
#include <stdio.h>

#include "bulwark/module.h"

struct bw_conf;
struct event_base;

/* States reported by GET /v1/modules. */
enum bw_instance_state {
	BW_INSTANCE_LOADED = 0, /* loaded and configured, not initialised */
	BW_INSTANCE_RUNNING,    /* init() (and start()) succeeded */
	BW_INSTANCE_DISABLED,   /* init() or start() failed */
	BW_INSTANCE_FAILED,     /* refused at load: file, descriptor, ABI */
};

/* One loaded .so, shared by its instances. */
struct bw_loaded_module {
	struct bw_loaded_module *next;
	char *file;                  /* <module_dir>/<module>.so */
	void *dl;                    /* dlopen handle */
	const struct bw_module *desc;
	/* desc->check when the descriptor is long enough to hold it (1.1+) */
	int (*check)(const void *conf, char *err, size_t errlen, const char **key);
};

/* One module instance: what a module's bw_module_ctx handle points at. */
struct bw_module_ctx {
	struct bw_module_ctx *next;
	struct bw_loaded_module *mod; /* NULL when the file was refused */
	char *spec;                   /* the daemon.modules entry */
	char *module;                 /* the module part of spec */
	char *instance;               /* = spec: the instance and section name */
	char *file;
	char *prefix;                 /* log prefix */
	void *conf;                   /* desc->conf_size bytes (may be NULL) */
	void *data;                   /* set_data() */
	char *state_dir;              /* created on demand */
	enum bw_instance_state state;
	int required;
	int inited;
	int started;
	char error[512];              /* why it is failed/disabled */
};

/*
 * Load and check every instance of cf's daemon.modules, apply its config
 * section and run the module's check() on the result. A module refused
 * for what it is (missing file, no descriptor, another ABI, short
 * descriptor, another signature, duplicate name) is logged and kept as
 * FAILED unless its section is required; bad config values (the key
 * table's or check()'s) and duplicate instances are always fatal. Returns
 * 0, or a negative errno with the one-line reason in err. With check_only,
 * nothing is initialised (bulwarkd -n).
 */
int bw_modules_load(const struct bw_conf *cf, int check_only, char *err,
		    size_t errlen);

/*
 * Initialise every loaded instance (in daemon.modules order) with api, the
 * core's service table (bulwarkd passes bw_coreapi_get(); the loader does
 * not reach for it), and register GET /v1/modules and the "modules" part
 * of /v1/status. Returns 0, or -errno when a required instance failed
 * (logged).
 */
int bw_modules_init(struct event_base *base, const struct bw_core_api *api);

/* Call start() of every running instance; same error rule as init. */
int bw_modules_start(void);

/*
 * Apply newcf's sections to fresh config structs, check() them and call
 * reload(). A config error (the key table's or check()'s) leaves every
 * instance as it was and returns -EINVAL (logged). -ENOTSUP from a module, or a changed key the module cannot
 * take without a restart, is logged as needing a restart.
 */
int bw_modules_reload(const struct bw_conf *newcf);

void bw_modules_stop(void);
void bw_modules_fini(void);

/* Print each instance's section with every key (bulwarkd -n). */
void bw_modules_print_config(FILE *f);

/* Instances, in daemon.modules order (for tests and status). */
struct bw_module_ctx *bw_modules_first(void);
size_t bw_modules_count(enum bw_instance_state state);
const char *bw_instance_state_name(enum bw_instance_state state);

/* The event base given to bw_modules_init() (for coreapi.c). */
struct event_base *bw_modules_event_base(void);
/* daemon.state_dir as loaded (for coreapi.c). */
const char *bw_modules_state_root(void);

#endif /* BW_CORE_MODULE_H */
