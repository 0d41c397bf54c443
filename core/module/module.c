/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/module/module.c - the module loader.
 *
 * For each entry of daemon.modules ("module" or "module:instance") we dlopen
 * <module_dir>/<module>.so once, find its single descriptor symbol and check
 * it before touching anything else in the object: the ABI major first (the
 * rest of the layout depends on it), then the minor, the descriptor's size,
 * the build signature and the name. Each way a module can be wrong has its
 * own one-line message that starts with the file's path, because that is
 * what an operator has to go and fix or replace.
 *
 * A module refused at load, or whose init()/start() fails, is kept in the
 * instance list with its reason (GET /v1/modules shows it) and the daemon
 * carries on, unless the instance's section says "required = true".
 * Config errors in a module's section are config errors, and always fatal:
 * those of its key table and those its check() hook (ABI 1.1) finds in the
 * filled config struct, which runs for bulwarkd -n, before init() and on
 * SIGHUP before any instance reloads.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "core/api.h"
#include "core/config.h"
#include "core/log.h"
#include "core/module/module.h"
#include "core/module/registry.h"

/*
 * The descriptor size ABI 1.0 defines (up to and including fini):
 * anything shorter is refused. Later minors append members (1.1: check);
 * they are read only from a descriptor whose size covers them, so modules
 * of every older minor keep loading.
 */
#define BW_MODULE_DESC_SIZE_1_0 offsetof(struct bw_module, check)
_Static_assert(BW_MODULE_DESC_SIZE_1_0 ==
	       offsetof(struct bw_module, fini) + sizeof(void (*)(bw_module_ctx *)),
	       "struct bw_module: check must follow fini directly");

/* True when a descriptor of size bytes holds member (a later minor's). */
#define BW_MODULE_DESC_HAS(size, member) \
	((size) >= offsetof(struct bw_module, member) + \
		   sizeof(((struct bw_module *)0)->member))

/* The three leading uint32_t fields every ABI has. */
#define BW_MODULE_DESC_HEAD (3 * sizeof(uint32_t))

static const struct bw_conf_key mod_no_keys[] = { BW_CONF_KEY_END };

static struct {
	struct bw_loaded_module *mods;
	struct bw_module_ctx *insts;
	struct event_base *base;
	char *state_root;
	int check_only;
	int routes;
} ml;

const char *
bw_instance_state_name(enum bw_instance_state state)
{
	switch (state) {
	case BW_INSTANCE_LOADED: return "loaded";
	case BW_INSTANCE_RUNNING: return "running";
	case BW_INSTANCE_DISABLED: return "disabled";
	case BW_INSTANCE_FAILED: return "failed";
	}
	return "unknown";
}

struct bw_module_ctx *
bw_modules_first(void)
{
	return ml.insts;
}

size_t
bw_modules_count(enum bw_instance_state state)
{
	size_t n = 0;

	for (struct bw_module_ctx *c = ml.insts; c != NULL; c = c->next)
		n += c->state == state;
	return n;
}

struct event_base *
bw_modules_event_base(void)
{
	return ml.base;
}

const char *
bw_modules_state_root(void)
{
	return ml.state_root;
}

static const struct bw_conf_key *
mod_keys(const struct bw_module_ctx *c)
{
	if (c->mod == NULL || c->mod->desc->conf_keys == NULL)
		return mod_no_keys;
	return c->mod->desc->conf_keys;
}

/* ---- loading and checking ----------------------------------------------- */

/* The size of the symbol at addr, or 0 when the dynamic table does not say. */
static size_t
mod_symbol_size(const void *addr)
{
	const ElfW(Sym) *sym = NULL;
	Dl_info info;

	if (dladdr1(addr, &info, (void **)&sym, RTLD_DL_SYMENT) == 0 ||
	    sym == NULL || info.dli_sname == NULL ||
	    strcmp(info.dli_sname, BW_MODULE_SYMBOL))
		return 0;
	return sym->st_size;
}

/* Check a descriptor; 0, or -EINVAL with "FILE: reason" in msg. */
static int
mod_check_desc(const char *file, const struct bw_module *d, size_t symsize,
	       char *msg, size_t msglen)
{
	if (symsize != 0 && symsize < BW_MODULE_DESC_HEAD) {
		snprintf(msg, msglen,
			 "%s: descriptor %s is only %zu bytes, too short to "
			 "hold an ABI version; rebuild the module",
			 file, BW_MODULE_SYMBOL, symsize);
		return -EINVAL;
	}
	if (d->abi_major != BW_MODULE_ABI_MAJOR) {
		snprintf(msg, msglen,
			 "%s: built for module ABI %u.%u but this bulwarkd "
			 "loads ABI %d (up to %d.%d); rebuild the module "
			 "against this bulwark's module.h",
			 file, d->abi_major, d->abi_minor, BW_MODULE_ABI_MAJOR,
			 BW_MODULE_ABI_MAJOR, BW_MODULE_ABI_MINOR);
		return -EINVAL;
	}
	if (d->abi_minor > BW_MODULE_ABI_MINOR) {
		snprintf(msg, msglen,
			 "%s: built for module ABI %u.%u, newer than this "
			 "bulwarkd's %d.%d; upgrade bulwarkd or rebuild the "
			 "module against this bulwark's module.h",
			 file, d->abi_major, d->abi_minor, BW_MODULE_ABI_MAJOR,
			 BW_MODULE_ABI_MINOR);
		return -EINVAL;
	}
	if (d->size < BW_MODULE_DESC_SIZE_1_0 ||
	    (symsize != 0 && symsize < BW_MODULE_DESC_SIZE_1_0)) {
		snprintf(msg, msglen,
			 "%s: descriptor is %zu bytes, module ABI %u.%u needs "
			 "at least %zu; rebuild the module with BW_MODULE_DEFINE",
			 file, symsize != 0 && symsize < d->size ? symsize :
			 (size_t)d->size, d->abi_major, d->abi_minor,
			 (size_t)BW_MODULE_DESC_SIZE_1_0);
		return -EINVAL;
	}
	if (d->signature == NULL || strcmp(d->signature, BW_MODULE_SIGNATURE)) {
		snprintf(msg, msglen,
			 "%s: build signature '%.64s' does not match this "
			 "bulwarkd's '%s'; rebuild the module for this system",
			 file, d->signature != NULL ? d->signature : "(none)",
			 BW_MODULE_SIGNATURE);
		return -EINVAL;
	}
	if (d->name == NULL || d->name[0] == '\0') {
		snprintf(msg, msglen, "%s: descriptor has no module name", file);
		return -EINVAL;
	}
	if (d->init == NULL) {
		snprintf(msg, msglen, "%s: module '%s' has no init function",
			 file, d->name);
		return -EINVAL;
	}
	if (d->conf_keys != NULL && d->conf_keys[0].name != NULL &&
	    d->conf_size == 0) {
		snprintf(msg, msglen,
			 "%s: module '%s' declares config keys but a conf_size of 0",
			 file, d->name);
		return -EINVAL;
	}
	return 0;
}

static struct bw_loaded_module *
mod_find_file(const char *file)
{
	for (struct bw_loaded_module *m = ml.mods; m != NULL; m = m->next)
		if (!strcmp(m->file, file))
			return m;
	return NULL;
}

static struct bw_loaded_module *
mod_find_name(const char *name)
{
	for (struct bw_loaded_module *m = ml.mods; m != NULL; m = m->next)
		if (!strcmp(m->desc->name, name))
			return m;
	return NULL;
}

/* dlopen and check file; on error "FILE: reason" in msg. */
static int
mod_open(const char *file, struct bw_loaded_module **out, char *msg,
	 size_t msglen)
{
	const struct bw_module *desc;
	struct bw_loaded_module *m, *other;
	struct stat st;
	size_t symsize;
	void *dl;
	int rc;

	if (stat(file, &st) < 0) {
		snprintf(msg, msglen,
			 "%s: cannot load module: %s (check daemon.module_dir "
			 "and the name in daemon.modules)", file, strerror(errno));
		return -ENOENT;
	}
	dl = dlopen(file, RTLD_NOW | RTLD_LOCAL);
	if (dl == NULL) {
		const char *e = dlerror();
		size_t fl = strlen(file);

		/* dlerror() usually starts with the file name already. */
		if (e != NULL && !strncmp(e, file, fl) && e[fl] == ':')
			e += fl + 1 + (e[fl + 1] == ' ');
		snprintf(msg, msglen, "%s: cannot load module: %s", file,
			 e != NULL ? e : "unknown dlopen error");
		return -ENOEXEC;
	}
	dlerror();
	desc = dlsym(dl, BW_MODULE_SYMBOL);
	if (desc == NULL) {
		snprintf(msg, msglen,
			 "%s: not a bulwark module: no %s symbol (build it with "
			 "BW_MODULE_DEFINE)", file, BW_MODULE_SYMBOL);
		dlclose(dl);
		return -ENOEXEC;
	}
	symsize = mod_symbol_size(desc);
	rc = mod_check_desc(file, desc, symsize, msg, msglen);
	if (rc < 0) {
		dlclose(dl);
		return rc;
	}
	if ((other = mod_find_name(desc->name)) != NULL) {
		snprintf(msg, msglen,
			 "%s: module name '%s' is already taken by %s; load "
			 "only one of them", file, desc->name, other->file);
		dlclose(dl);
		return -EEXIST;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->file = strdup(file)) == NULL) {
		free(m);
		dlclose(dl);
		snprintf(msg, msglen, "%s: out of memory", file);
		return -ENOMEM;
	}
	m->dl = dl;
	m->desc = desc;
	/* An older minor's descriptor ends before check: do not read it. */
	if (BW_MODULE_DESC_HAS(desc->size, check) &&
	    (symsize == 0 || BW_MODULE_DESC_HAS(symsize, check)))
		m->check = desc->check;
	m->next = ml.mods;
	ml.mods = m;
	*out = m;
	return 0;
}

static int
mod_name_ok(const char *s)
{
	if (s[0] == '\0' || s[0] == '.')
		return 0;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && *s != '-' && *s != '_' &&
		    *s != '.')
			return 0;
	return 1;
}

static void
mod_inst_free(struct bw_module_ctx *c)
{
	if (c->conf != NULL) {
		bw_conf_free_keys(mod_keys(c), c->conf);
		free(c->conf);
	}
	free(c->spec);
	free(c->module);
	free(c->instance);
	free(c->file);
	free(c->prefix);
	free(c->state_dir);
	free(c);
}

static struct bw_module_ctx *
mod_inst_new(const char *spec, const char *module_dir)
{
	struct bw_module_ctx *c = calloc(1, sizeof(*c));
	const char *colon = strchr(spec, ':');

	if (c == NULL)
		return NULL;
	c->spec = strdup(spec);
	c->module = colon ? strndup(spec, colon - spec) : strdup(spec);
	c->instance = strdup(spec); /* also the section name */
	c->prefix = strdup(spec);
	if (c->spec == NULL || c->module == NULL || c->instance == NULL ||
	    c->prefix == NULL ||
	    asprintf(&c->file, "%s/%s.so", module_dir, c->module) < 0) {
		c->file = NULL;
		mod_inst_free(c);
		return NULL;
	}
	return c;
}

/*
 * Where a check() error points: the entry that set key in sec (the last
 * one, which is the one in force), else the section's header, else the
 * config file. An entry or a section that only comes from -o is named by
 * the option text ("-o SECTION.KEY=VALUE"), as the key-table errors do.
 */
static const char *
mod_where(const struct bw_conf *cf, const struct bw_conf_section *sec,
	  const char *key, char *buf, size_t len)
{
	const struct bw_conf_entry *e = NULL;
	const char *file = cf->path;
	int line = 0;

	for (size_t i = 0; sec != NULL && key != NULL && i < sec->nentries; i++)
		if (!strcmp(sec->entries[i].key, key))
			e = &sec->entries[i];
	if (e != NULL) {
		file = e->file;
		line = e->line;
	} else if (sec != NULL) {
		file = sec->file;
		line = sec->line;
	}
	if (line > 0)
		snprintf(buf, len, "%s:%d", file, line);
	else
		snprintf(buf, len, "%s", file);
	return buf;
}

/*
 * Run the module's check() (ABI 1.1) on a config struct its key table has
 * filled from sec. Returns 0, or -EINVAL with the config error
 * "WHERE: [instance] key: message" (or "WHERE: [instance]: message" for a
 * problem of the whole section) in err.
 */
static int
mod_run_check(const struct bw_module_ctx *c, const struct bw_conf *cf,
	      const struct bw_conf_section *sec, const void *conf, char *err,
	      size_t errlen)
{
	char msg[512], where[PATH_MAX + 64];
	const char *key = NULL;
	int rc;

	if (c->mod == NULL || c->mod->check == NULL)
		return 0;
	msg[0] = '\0';
	rc = c->mod->check(conf, msg, sizeof(msg), &key);
	if (rc >= 0)
		return 0;
	msg[sizeof(msg) - 1] = '\0';
	if (msg[0] == '\0')
		snprintf(msg, sizeof(msg), "%s", strerror(-rc));
	mod_where(cf, sec, key, where, sizeof(where));
	if (key != NULL)
		snprintf(err, errlen, "%s: [%s] %s: %s", where, c->instance, key,
			 msg);
	else
		snprintf(err, errlen, "%s: [%s]: %s", where, c->instance, msg);
	return -EINVAL;
}

static struct bw_module_ctx *
mod_find_instance(const char *instance)
{
	for (struct bw_module_ctx *c = ml.insts; c != NULL; c = c->next)
		if (!strcmp(c->instance, instance))
			return c;
	return NULL;
}

int
bw_modules_load(const struct bw_conf *cf, int check_only, char *err,
		size_t errlen)
{
	const struct bw_daemon_conf *dc = &cf->daemon;
	struct bw_module_ctx **tail = &ml.insts;
	const char *dir = dc->module_dir != NULL ? dc->module_dir : ".";
	int rc;

	if (ml.insts != NULL || ml.mods != NULL) {
		snprintf(err, errlen, "modules are loaded already");
		return -EALREADY;
	}
	ml.check_only = check_only;
	free(ml.state_root);
	ml.state_root = dc->state_dir != NULL ? strdup(dc->state_dir) : NULL;

	for (size_t i = 0; i < dc->nmodules; i++) {
		const char *spec = dc->module_list[i];
		const struct bw_conf_section *sec;
		struct bw_module_ctx *c;
		char msg[sizeof(c->error)];
		const char *colon;

		if ((c = mod_inst_new(spec, dir)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		if (!mod_name_ok(c->module) ||
		    ((colon = strchr(spec, ':')) != NULL && !mod_name_ok(colon + 1))) {
			snprintf(err, errlen,
				 "daemon.modules: '%s' is not a module name "
				 "(letters, digits, '-', '_', '.'; optionally "
				 "module:instance)", spec);
			mod_inst_free(c);
			return -EINVAL;
		}
		if (mod_find_instance(c->instance) != NULL) {
			snprintf(err, errlen,
				 "daemon.modules: instance '%s' is listed twice; "
				 "name the second one %s:NAME and give it a "
				 "[%s:NAME] section", c->instance, c->module,
				 c->module);
			mod_inst_free(c);
			return -EEXIST;
		}
		*tail = c;
		tail = &c->next;

		sec = bw_conf_section_find(cf, c->instance);
		c->required = bw_conf_section_required(sec);
		c->mod = mod_find_file(c->file);
		if (c->mod == NULL &&
		    (rc = mod_open(c->file, &c->mod, msg, sizeof(msg))) < 0) {
			c->mod = NULL;
			c->state = BW_INSTANCE_FAILED;
			snprintf(c->error, sizeof(c->error), "%s", msg);
			if (c->required) {
				snprintf(err, errlen, "%s ([%s] is required)",
					 msg, c->instance);
				return rc;
			}
			bw_logx("modules", BW_LOG_ERR, "%s; [%s] not loaded", msg,
				c->instance);
			continue;
		}
		if ((c->conf = calloc(1, c->mod->desc->conf_size + 1)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		rc = bw_conf_apply_keys(mod_keys(c), c->conf, c->instance, sec,
					err, errlen);
		if (rc < 0) {
			free(c->conf);
			c->conf = NULL;
			return rc;
		}
		/* A value check() refuses is a config error like the above. */
		if ((rc = mod_run_check(c, cf, sec, c->conf, err, errlen)) < 0) {
			bw_conf_free_keys(mod_keys(c), c->conf);
			free(c->conf);
			c->conf = NULL;
			return rc;
		}
		bw_logx("modules", BW_LOG_INFO, "loaded %s %s from %s as [%s]",
			c->mod->desc->name,
			c->mod->desc->version ? c->mod->desc->version : "",
			c->file, c->instance);
	}
	return 0;
}

/* ---- lifecycle ---------------------------------------------------------- */

/* Disable an instance: drop what it registered, run fini if it was inited. */
static void
mod_disable(struct bw_module_ctx *c, enum bw_instance_state state)
{
	bw_api_route_remove_owner(c);
	bw_registry_drop_owner(c);
	if (c->inited && c->mod->desc->fini != NULL)
		c->mod->desc->fini(c);
	c->inited = 0;
	c->started = 0;
	c->state = state;
}

static json_t *
mod_status(void *arg)
{
	(void)arg;
	return json_pack("{s:I, s:I}", "loaded",
			 (json_int_t)bw_modules_count(BW_INSTANCE_RUNNING),
			 "failed",
			 (json_int_t)(bw_modules_count(BW_INSTANCE_FAILED) +
				      bw_modules_count(BW_INSTANCE_DISABLED)));
}

static json_t *
mod_json_str(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static int
mod_api_list(struct bw_api_request *req, void *arg)
{
	json_t *list = json_array();

	(void)arg;
	if (list == NULL)
		return -ENOMEM;
	for (struct bw_module_ctx *c = ml.insts; c != NULL; c = c->next) {
		const struct bw_module *d = c->mod ? c->mod->desc : NULL;
		json_t *o = json_object();

		if (o == NULL) {
			json_decref(list);
			return -ENOMEM;
		}
		json_object_set_new(o, "module", json_string(d ? d->name : c->module));
		json_object_set_new(o, "instance", json_string(c->instance));
		json_object_set_new(o, "file", json_string(c->file));
		json_object_set_new(o, "version", mod_json_str(d ? d->version : NULL));
		json_object_set_new(o, "description",
				    mod_json_str(d ? d->description : NULL));
		json_object_set_new(o, "state",
				    json_string(bw_instance_state_name(c->state)));
		json_object_set_new(o, "required", json_boolean(c->required));
		json_object_set_new(o, "error",
				    c->error[0] ? json_string(c->error) : json_null());
		json_array_append_new(list, o);
	}
	return bw_api_reply_json(req, 200, json_pack("{s:o}", "modules", list));
}

int
bw_modules_init(struct event_base *base, const struct bw_core_api *api)
{
	int rc;

	ml.base = base;
	if (!ml.routes) {
		rc = bw_api_route_add("GET", "/v1/modules", mod_api_list, NULL);
		if (rc == 0)
			rc = bw_api_status_add("modules", mod_status, NULL);
		if (rc < 0) {
			bw_err_errno(rc, "modules: cannot register the API");
			return rc;
		}
		ml.routes = 1;
	}
	for (struct bw_module_ctx *c = ml.insts; c != NULL; c = c->next) {
		if (c->state != BW_INSTANCE_LOADED)
			continue;
		c->inited = 1;
		rc = c->mod->desc->init(c, api, c->conf);
		if (rc >= 0) {
			c->state = BW_INSTANCE_RUNNING;
			continue;
		}
		c->inited = 0; /* a failed init cleans up after itself */
		mod_disable(c, BW_INSTANCE_DISABLED);
		snprintf(c->error, sizeof(c->error), "%s: init of [%s] failed: %s",
			 c->file, c->instance, strerror(-rc));
		if (c->required) {
			bw_logx("modules", BW_LOG_ERR, "%s; [%s] is required", c->error,
				c->instance);
			return rc;
		}
		bw_logx("modules", BW_LOG_ERR, "%s; [%s] disabled", c->error,
			c->instance);
	}
	return 0;
}

int
bw_modules_start(void)
{
	int rc;

	for (struct bw_module_ctx *c = ml.insts; c != NULL; c = c->next) {
		if (c->state != BW_INSTANCE_RUNNING || c->started)
			continue;
		c->started = 1;
		if (c->mod->desc->start == NULL ||
		    (rc = c->mod->desc->start(c)) >= 0)
			continue;
		c->started = 0;
		mod_disable(c, BW_INSTANCE_DISABLED);
		snprintf(c->error, sizeof(c->error),
			 "%s: start of [%s] failed: %s", c->file, c->instance,
			 strerror(-rc));
		if (c->required) {
			bw_logx("modules", BW_LOG_ERR, "%s; [%s] is required",
				c->error, c->instance);
			return rc;
		}
		bw_logx("modules", BW_LOG_ERR, "%s; [%s] disabled", c->error,
			c->instance);
	}
	return 0;
}

/* Names of the keys whose value differs, "" when none; only_fixed limits
 * them to keys without BW_CONF_F_RELOADABLE. */
static void
mod_changed_keys(const struct bw_conf_key *keys, const void *a, const void *b,
		 int only_fixed, char *out, size_t outlen)
{
	char va[1024], vb[1024];

	out[0] = '\0';
	for (const struct bw_conf_key *k = keys; k->name != NULL; k++) {
		if (only_fixed && (k->flags & BW_CONF_F_RELOADABLE))
			continue;
		bw_conf_format_value(k, a, va, sizeof(va));
		bw_conf_format_value(k, b, vb, sizeof(vb));
		if (!strcmp(va, vb))
			continue;
		if (out[0] != '\0')
			strncat(out, ", ", outlen - strlen(out) - 1);
		strncat(out, k->name, outlen - strlen(out) - 1);
	}
}

static int
mod_same_list(const struct bw_daemon_conf *dc)
{
	struct bw_module_ctx *c = ml.insts;
	size_t i;

	for (i = 0; i < dc->nmodules && c != NULL; i++, c = c->next)
		if (strcmp(dc->module_list[i], c->spec))
			return 0;
	return i == dc->nmodules && c == NULL;
}

int
bw_modules_reload(const struct bw_conf *newcf)
{
	struct bw_module_ctx *c;
	size_t n = 0, i;
	void **next;
	char err[PATH_MAX + 1024];
	int rc = 0;

	if (!mod_same_list(&newcf->daemon))
		bw_logx("modules", BW_LOG_NOTICE,
			"daemon.modules changed: restart bulwarkd to load or "
			"unload modules");
	for (c = ml.insts; c != NULL; c = c->next)
		n++;
	if ((next = calloc(n + 1, sizeof(*next))) == NULL)
		return -ENOMEM;

	/* Check every section before changing anything. */
	for (c = ml.insts, i = 0; c != NULL; c = c->next, i++) {
		const struct bw_conf_section *sec;

		if (c->state != BW_INSTANCE_RUNNING)
			continue;
		sec = bw_conf_section_find(newcf, c->instance);
		if ((next[i] = calloc(1, c->mod->desc->conf_size + 1)) == NULL) {
			rc = -ENOMEM;
			break;
		}
		rc = bw_conf_apply_keys(mod_keys(c), next[i], c->instance, sec,
					err, sizeof(err));
		if (rc == 0 &&
		    (rc = mod_run_check(c, newcf, sec, next[i], err,
					sizeof(err))) < 0)
			bw_conf_free_keys(mod_keys(c), next[i]);
		if (rc < 0) {
			free(next[i]);
			next[i] = NULL;
			bw_logx("modules", BW_LOG_ERR,
				"%s; keeping the running configuration", err);
			break;
		}
	}
	for (c = ml.insts, i = 0; c != NULL; c = c->next, i++) {
		const struct bw_conf_key *keys = mod_keys(c);
		char fixed[512], any[512];
		int r;

		if (next[i] == NULL)
			continue;
		if (rc < 0)
			goto drop;
		c->required = bw_conf_section_required(
			bw_conf_section_find(newcf, c->instance));
		mod_changed_keys(keys, c->conf, next[i], 1, fixed, sizeof(fixed));
		mod_changed_keys(keys, c->conf, next[i], 0, any, sizeof(any));
		if (fixed[0] != '\0') {
			bw_logx(c->prefix, BW_LOG_NOTICE,
				"changing %s needs a restart; keeping the running "
				"configuration of [%s]", fixed, c->instance);
			goto drop;
		}
		if (c->mod->desc->reload == NULL) {
			if (any[0] != '\0')
				bw_logx(c->prefix, BW_LOG_NOTICE,
					"changing %s needs a restart (the module "
					"cannot reload)", any);
			goto drop;
		}
		r = c->mod->desc->reload(c, next[i]);
		if (r == -ENOTSUP) {
			bw_logx(c->prefix, BW_LOG_NOTICE,
				"the new configuration of [%s] needs a restart; "
				"keeping the running one", c->instance);
			goto drop;
		} else if (r < 0) {
			bw_logx(c->prefix, BW_LOG_ERR,
				"reload failed: %s; keeping the running "
				"configuration", strerror(-r));
			goto drop;
		}
		bw_conf_free_keys(keys, c->conf);
		free(c->conf);
		c->conf = next[i];
		continue;
drop:
		bw_conf_free_keys(keys, next[i]);
		free(next[i]);
	}
	free(next);
	return rc < 0 ? -EINVAL : 0;
}

static void
mod_stop_rev(struct bw_module_ctx *c)
{
	if (c == NULL)
		return;
	mod_stop_rev(c->next);
	if (c->started && c->mod->desc->stop != NULL)
		c->mod->desc->stop(c);
	c->started = 0;
}

void
bw_modules_stop(void)
{
	mod_stop_rev(ml.insts);
}

static void
mod_fini_rev(struct bw_module_ctx *c)
{
	if (c == NULL)
		return;
	mod_fini_rev(c->next);
	if (c->inited)
		mod_disable(c, c->state);
	mod_inst_free(c);
}

void
bw_modules_fini(void)
{
	mod_stop_rev(ml.insts);
	mod_fini_rev(ml.insts);
	ml.insts = NULL;
	while (ml.mods != NULL) {
		struct bw_loaded_module *m = ml.mods;

		ml.mods = m->next;
		dlclose(m->dl);
		free(m->file);
		free(m);
	}
	if (ml.routes) {
		bw_api_route_remove("GET", "/v1/modules");
		bw_api_status_remove("modules");
		ml.routes = 0;
	}
	free(ml.state_root);
	ml.state_root = NULL;
	ml.base = NULL;
}

void
bw_modules_print_config(FILE *f)
{
	for (struct bw_module_ctx *c = ml.insts; c != NULL; c = c->next) {
		fprintf(f, "\n");
		if (c->mod == NULL) {
			fprintf(f, "# [%s] not loaded: %s\n", c->instance, c->error);
			continue;
		}
		fprintf(f, "# %s %s: %s\n", c->mod->desc->name,
			c->mod->desc->version ? c->mod->desc->version : "",
			c->mod->desc->description ? c->mod->desc->description : "");
		bw_conf_print_keys(f, c->instance, mod_keys(c), c->conf);
		fprintf(f, "required = %s\n", c->required ? "true" : "false");
	}
}
