/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/lua/lua.c - the Lua host: start and stop, [lua] config, the script
 * directory, loading scripts, failures.
 *
 * Every *.lua file of [lua] dir is a script named after the file. The
 * directory is read at start and watched with inotify; a burst of events
 * becomes one rescan a moment later, which loads new files, reloads files
 * whose content changed (a hash of the text, like policy.dir) and forgets
 * files that went away. Loading compiles the text, runs its top level and
 * checks its hooks in a fresh sandbox on this (the loop) thread; only a
 * script that loads completely replaces the running version, so a broken
 * edit leaves the previous version in force and says why.
 *
 * The host is the decision-hook provider (core/module/hooks.h) and the
 * flow pipeline's stage (core/flow/flow.h) while it runs; hooks run on the
 * bw-lua thread (luaworker.c). Threads and locking: lua_int.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/config.h"
#include "core/flow/flow.h"
#include "core/log.h"
#include "core/lua/lua.h"
#include "core/lua/lua_int.h"
#include "core/module/alertbus.h"
#include "core/module/hooks.h"

#define LH_MAX_FILE (1024 * 1024)
#define LH_TICK_MS 100
#define LH_RESCAN_MS 50

struct lh_host lh = { .efd = -1, .ino_fd = -1, .ino_wd = -1 };

/* content hashes of the loaded files, by script (loop thread) */
struct lh_filehash {
	struct lh_script *s;
	uint64_t hash;
};
static struct lh_filehash *lh_hashes;
static size_t lh_nhashes;
static unsigned lh_ticks;

/* ---- clocks, threads, rates ---------------------------------------------------- */

uint64_t
bw_lua_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
bw_lua_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
bw_lua_on_loop(void)
{
	return !lh.thread_up || pthread_equal(pthread_self(), lh.loop_thread);
}

int
bw_lua_rate_allow(struct lh_rate *r, double rate, double burst)
{
	uint64_t now = bw_lua_now_ns();

	if (r->last_ns == 0)
		r->tokens = burst;
	else
		r->tokens += (double)(now - r->last_ns) / 1e9 * rate;
	if (r->tokens > burst)
		r->tokens = burst;
	r->last_ns = now;
	if (r->tokens >= 1.0) {
		r->tokens -= 1.0;
		return 1;
	}
	r->dropped++;
	return 0;
}

/* ---- limits --------------------------------------------------------------------- */

static void
lh_limits_from(const struct bw_daemon_conf *dc, struct lh_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->lsb.memory = dc != NULL ? (uint64_t)dc->lua_memory_limit : 16u << 20;
	l->lsb.instructions = dc != NULL ? (uint64_t)dc->lua_instruction_limit : 1000000;
	l->lsb.time_ns = (dc != NULL ? (uint64_t)dc->lua_time_limit : 100) * 1000000u;
	l->max_failures = dc != NULL ? (unsigned)dc->lua_max_failures : 5;
	l->failure_window_ns = (dc != NULL ? (uint64_t)dc->lua_failure_window : 60000) *
			       1000000u;
	l->default_deny = dc != NULL ? dc->lua_default_verdict == BW_LUA_VERDICT_DENY : 1;
	l->decision_timeout_ns = (dc != NULL ? (uint64_t)dc->lua_decision_timeout : 1000) *
				 1000000u;
	if (l->lsb.memory == 0)
		l->lsb.memory = 16u << 20;
	if (l->lsb.instructions == 0)
		l->lsb.instructions = 1000000;
	if (l->lsb.time_ns == 0)
		l->lsb.time_ns = 100000000u;
	if (l->max_failures == 0)
		l->max_failures = 5;
}

void
bw_lua_recompute_active(void)
{
	unsigned act = 0, dec = 0;
	const unsigned decision = (1u << BW_LUA_ON_DNS) | (1u << BW_LUA_ON_HTTP) |
				  (1u << BW_LUA_ON_KAFKA);

	/*
	 * Over every script, with the hooks of a version still on its way
	 * to the worker: a request asked right after a reload is queued
	 * behind the install and must not be waved through as "no hook".
	 */
	for (size_t i = 0; i < lh.nscripts; i++) {
		const struct lh_script *s = lh.scripts[i];
		unsigned h = s->hooks | s->pending;

		if (s->state == LH_ST_ACTIVE) {
			act |= h;
			dec |= h & decision;
		} else if (s->state == LH_ST_FAILED && lh.lim.default_deny) {
			dec |= h & decision;
		}
	}
	__atomic_store_n(&lh.active, act, __ATOMIC_RELEASE);
	__atomic_store_n(&lh.deciding, dec, __ATOMIC_RELEASE);
}

/* ---- failures -------------------------------------------------------------------- */

void
bw_lua_failure(struct lh_script *s, int hook, int fail, const char *msg)
{
	uint64_t now = bw_lua_now_ns();
	unsigned count = 0, max;
	int newly_failed = 0, log_it;
	char prefix[LH_NAME_MAX + 8];

	pthread_mutex_lock(&lh.mu);
	if (hook >= 0 && hook <= BW_LUA_PROTOCOL && fail > 0 && fail < BW_LSB_NFAIL)
		s->st[hook].fails[fail]++;
	snprintf(s->last_error, sizeof(s->last_error), "%s: %s",
		 bw_lua_hook_name(hook), msg);
	s->last_error_ns = bw_lua_wall_ns();
	max = lh.lim.max_failures;
	if (s->fail_cap != max) {
		uint64_t *n = realloc(s->fail_ns, max * sizeof(*n));

		if (n != NULL) {
			s->fail_ns = n;
			s->fail_cap = max;
			s->fail_n = s->fail_next = 0;
		}
	}
	if (s->fail_cap > 0) {
		s->fail_ns[s->fail_next] = now;
		s->fail_next = (s->fail_next + 1) % s->fail_cap;
		if (s->fail_n < s->fail_cap)
			s->fail_n++;
		for (unsigned i = 0; i < s->fail_n; i++)
			if (now - s->fail_ns[i] <= lh.lim.failure_window_ns)
				count++;
	}
	if (count >= max && s->state == LH_ST_ACTIVE) {
		s->state = LH_ST_FAILED;
		newly_failed = 1;
		bw_lua_recompute_active();
	}
	log_it = newly_failed || bw_lua_rate_allow(&s->rl_log, LH_LOG_RATE, LH_LOG_RATE);
	pthread_mutex_unlock(&lh.mu);
	snprintf(prefix, sizeof(prefix), "lua/%s", s->name);
	if (newly_failed)
		bw_logx(prefix, BW_LOG_ERR, "disabled after %u failures within %llu s "
			"(its decisions now answer [lua] default_verdict; fix the "
			"script, or `bulwark lua reload %s`); last: %s: %s: %s",
			count, (unsigned long long)(lh.lim.failure_window_ns / 1000000000u),
			s->name, bw_lua_hook_name(hook), bw_lsb_fail_name(fail), msg);
	else if (log_it)
		bw_logx(prefix, BW_LOG_WARNING, "%s failed (%s): %s",
			bw_lua_hook_name(hook), bw_lsb_fail_name(fail), msg);
}

/* ---- the decision-hook provider -------------------------------------------------- */

static unsigned
lh_prov_active(void *arg)
{
	unsigned d = __atomic_load_n(&lh.deciding, __ATOMIC_ACQUIRE), f = 0;

	if (d & (1u << BW_LUA_ON_DNS))
		f |= BW_HOOK_F_DNS;
	if (d & (1u << BW_LUA_ON_HTTP))
		f |= BW_HOOK_F_HTTP;
	if (d & (1u << BW_LUA_ON_KAFKA))
		f |= BW_HOOK_F_KAFKA;
	return f;
}

static struct lh_dec *
lh_dec_new(int hook, uint64_t ticket)
{
	struct lh_dec *d = calloc(1, sizeof(*d));

	if (d != NULL) {
		d->hook = hook;
		d->ticket = ticket;
	}
	return d;
}

static int
lh_prov_dns(void *arg, const struct bw_hook_dns *q, uint64_t ticket)
{
	struct lh_dec *d = lh_dec_new(BW_LUA_ON_DNS, ticket);

	if (d == NULL || bw_luac_copy_dns(d, q) < 0) {
		free(d);
		return -ENOMEM;
	}
	return bw_luaw_decide(d);
}

static int
lh_prov_http(void *arg, const struct bw_hook_http *r, uint64_t ticket)
{
	struct lh_dec *d = lh_dec_new(BW_LUA_ON_HTTP, ticket);

	if (d == NULL || bw_luac_copy_http(d, r) < 0) {
		free(d);
		return -ENOMEM;
	}
	return bw_luaw_decide(d);
}

static int
lh_prov_kafka(void *arg, const struct bw_hook_kafka *r, uint64_t ticket)
{
	struct lh_dec *d = lh_dec_new(BW_LUA_ON_KAFKA, ticket);

	if (d == NULL || bw_luac_copy_kafka(d, r) < 0) {
		free(d);
		return -ENOMEM;
	}
	return bw_luaw_decide(d);
}

static void
lh_prov_cancel(void *arg, uint64_t ticket)
{
	bw_luaw_cancel(ticket);
}

/* bw_hooks_*_wait(): the loop waits for the worker (bw_luaw_decide_sync). */
static int
lh_prov_wait(void *arg, unsigned kind, const void *req, struct bw_hook_answer *a)
{
	int hook = kind == BW_HOOK_F_DNS ? BW_LUA_ON_DNS
		 : kind == BW_HOOK_F_HTTP ? BW_LUA_ON_HTTP : BW_LUA_ON_KAFKA;
	struct lh_dec *d = lh_dec_new(hook, 0);
	int rc, deny;

	if (d == NULL)
		return -ENOMEM;
	rc = hook == BW_LUA_ON_DNS ? bw_luac_copy_dns(d, req)
	   : hook == BW_LUA_ON_HTTP ? bw_luac_copy_http(d, req)
	   : bw_luac_copy_kafka(d, req);
	if (rc < 0) {
		free(d->arena);
		free(d);
		return -ENOMEM;
	}
	if (bw_luaw_decide_sync(d) < 0) {
		/* d is the worker's now; the default verdict answers */
		pthread_mutex_lock(&lh.mu);
		deny = lh.lim.default_deny;
		pthread_mutex_unlock(&lh.mu);
		memset(&a->res, 0, sizeof(a->res));
		a->res.size = sizeof(a->res);
		a->res.verdict = deny ? BW_HOOK_DENY : BW_HOOK_ALLOW;
		a->res.hook = bw_lua_hook_name(hook);
		a->res.reason = "no answer from the scripts within decision_timeout";
		a->res.fallback = 1;
		a->res.extensions_json = deny ?
			"{\"lua\":{\"verdict\":\"deny\",\"fallback\":true,"
			"\"reason\":\"no answer from the scripts within decision_timeout\"}}"
			: NULL;
		a->priv = NULL;
		return 0;
	}
	bw_luaw_dec_result(d);
	a->res = d->res;
	a->priv = d;
	return 0;
}

static void
lh_prov_answer_free(void *arg, struct bw_hook_answer *a)
{
	if (a->priv != NULL)
		bw_luaw_dec_free(a->priv);
}

static const struct bw_hook_provider lh_provider = {
	.active = lh_prov_active,
	.dns = lh_prov_dns,
	.http = lh_prov_http,
	.kafka = lh_prov_kafka,
	.cancel = lh_prov_cancel,
	.wait = lh_prov_wait,
	.answer_free = lh_prov_answer_free,
};

/* ---- the flow stage ----------------------------------------------------------------- */

static int
lh_stage_wants(void *arg, const struct bw_flow *f)
{
	unsigned act = __atomic_load_n(&lh.active, __ATOMIC_ACQUIRE);

	if (f->flags & BW_FLOW_F_SCRIPT)
		return BW_FLOW_STAGE_SKIP; /* a script's own flow: no loops */
	if (act & (1u << BW_LUA_ON_FLOW))
		return BW_FLOW_STAGE_HOLD;
	if ((act & (1u << BW_LUA_ON_VERDICT)) &&
	    (f->event_type == BW_FLOW_EVENT_POLICY_VERDICT ||
	     f->event_type == BW_FLOW_EVENT_DROP ||
	     (f->type == BW_FLOW_TYPE_L7 && f->verdict == BW_FLOW_VERDICT_DROPPED)))
		return BW_FLOW_STAGE_OBSERVE;
	return BW_FLOW_STAGE_SKIP;
}

static int
lh_stage_submit(void *arg, const struct bw_flow *f, uint64_t token)
{
	return bw_luaw_flow(f, token);
}

/* ---- scripts --------------------------------------------------------------------------- */

/* "deny-debug.lua" -> "deny-debug"; 0 when the file is not a script. */
static int
lh_script_name(const char *file, char *name, size_t len)
{
	size_t n = strlen(file);

	static const char *const reserved[] = {
		/* the members of a decision under extensions.lua */
		"script", "hook", "verdict", "reason", "fallback", "emitted_by",
		"extensions", NULL,
	};

	if (n <= 4 || strcmp(file + n - 4, ".lua") != 0 || file[0] == '.')
		return 0;
	n -= 4;
	for (int i = 0; reserved[i] != NULL; i++)
		if (strlen(reserved[i]) == n && strncmp(file, reserved[i], n) == 0)
			return -1;
	if (n >= len || n >= LH_NAME_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = file[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return -1;
	}
	memcpy(name, file, n);
	name[n] = '\0';
	return 1;
}

struct lh_script *
bw_lua_script_find(const char *name)
{
	for (size_t i = 0; i < lh.nscripts; i++)
		if (strcmp(lh.scripts[i]->name, name) == 0)
			return lh.scripts[i];
	return NULL;
}

static uint64_t *
lh_hash_slot(struct lh_script *s)
{
	struct lh_filehash *n;

	for (size_t i = 0; i < lh_nhashes; i++)
		if (lh_hashes[i].s == s)
			return &lh_hashes[i].hash;
	n = realloc(lh_hashes, (lh_nhashes + 1) * sizeof(*n));
	if (n == NULL)
		return NULL;
	lh_hashes = n;
	lh_hashes[lh_nhashes].s = s;
	lh_hashes[lh_nhashes].hash = 0;
	return &lh_hashes[lh_nhashes++].hash;
}

static void
lh_hash_forget(struct lh_script *s)
{
	for (size_t i = 0; i < lh_nhashes; i++)
		if (lh_hashes[i].s == s) {
			lh_hashes[i] = lh_hashes[--lh_nhashes];
			return;
		}
}

static uint64_t
lh_hash(const char *buf, size_t len)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)buf[i];
		h *= 1099511628211ull;
	}
	return h ^ len;
}

static struct lh_script *
lh_script_new(const char *name, const char *path)
{
	struct lh_script *s = calloc(1, sizeof(*s)), **n;
	size_t i;

	if (s == NULL)
		return NULL;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->path = strdup(path);
	n = realloc(lh.scripts, (lh.nscripts + 1) * sizeof(*n));
	if (s->path == NULL || n == NULL) {
		if (n != NULL)
			lh.scripts = n;
		free(s->path);
		free(s);
		return NULL;
	}
	s->state = LH_ST_ERROR; /* until it loads */
	pthread_mutex_lock(&lh.mu);
	lh.scripts = n;
	for (i = 0; i < lh.nscripts; i++)
		if (strcmp(lh.scripts[i]->name, name) > 0)
			break;
	memmove(&lh.scripts[i + 1], &lh.scripts[i],
		(lh.nscripts - i) * sizeof(*n));
	lh.scripts[i] = s;
	lh.nscripts++;
	pthread_mutex_unlock(&lh.mu);
	return s;
}

/* Free a script the worker never had (or no longer has). */
/*
 * On the alert bus (deny alerts of modules/alerts) while a script defines
 * on_alert, so that the alerts module counts hook deliveries only when
 * someone listens. Loop thread, after a script came or went.
 */
static void
lh_alert_sub_update(void)
{
	int want = 0, rc;

	pthread_mutex_lock(&lh.mu);
	for (size_t i = 0; i < lh.nscripts && !want; i++)
		want = ((lh.scripts[i]->hooks | lh.scripts[i]->pending) &
			(1u << BW_LUA_ON_ALERT)) != 0;
	pthread_mutex_unlock(&lh.mu);
	if (want && lh.alert_sub <= 0) {
		rc = bw_alert_subscribe(NULL, bw_luaw_alert, NULL, NULL);
		if (rc < 0)
			bw_err_errno(rc, "lua: cannot subscribe to the alert bus; "
				     "on_alert is not called");
		else
			lh.alert_sub = rc;
	} else if (!want && lh.alert_sub > 0) {
		bw_alert_unsubscribe(lh.alert_sub);
		lh.alert_sub = 0;
	}
}

static void
lh_script_free(struct lh_script *s)
{
	for (size_t i = 0; i < s->nfam; i++) {
		for (size_t j = 0; j < s->fam[i].n; j++)
			free(s->fam[i].v[j].labels);
		free(s->fam[i].v);
	}
	free(s->fam);
	free(s->fail_ns);
	bw_lsb_free(s->sb);
	free(s->path);
	free(s);
}

static void
lh_script_remove(struct lh_script *s)
{
	struct lh_cmd *c;

	pthread_mutex_lock(&lh.mu);
	for (size_t i = 0; i < lh.nscripts; i++)
		if (lh.scripts[i] == s) {
			memmove(&lh.scripts[i], &lh.scripts[i + 1],
				(lh.nscripts - i - 1) * sizeof(lh.scripts[0]));
			lh.nscripts--;
			break;
		}
	bw_lua_recompute_active();
	pthread_mutex_unlock(&lh.mu);
	lh_hash_forget(s);
	bw_luaparser_forget(s);
	lh_alert_sub_update();
	bw_notice("lua/%s: removed (%s is gone)", s->name, s->path);
	if (!s->installed || !lh.thread_up) {
		lh_script_free(s);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		/* cannot tell the worker: keep it, disabled, rather than free it */
		pthread_mutex_lock(&lh.mu);
		s->state = LH_ST_DISABLED;
		bw_lua_recompute_active();
		pthread_mutex_unlock(&lh.mu);
		return;
	}
	c->kind = LH_CMD_REMOVE;
	c->s = s;
	bw_luaw_command(c); /* the loop frees s when the worker acks */
}

static int
lh_read_file(const char *path, char **text, size_t *len, char *err,
	      size_t errlen)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*text = NULL;
	if (fd < 0) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		close(fd);
		return -EINVAL;
	}
	if (st.st_size > LH_MAX_FILE) {
		snprintf(err, errlen, "larger than %d bytes", LH_MAX_FILE);
		close(fd);
		return -EFBIG;
	}
	*text = malloc((size_t)st.st_size + 1);
	if (*text == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size &&
	       (n = read(fd, *text + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	(*text)[got] = '\0';
	*len = got;
	return 0;
}

static void
lh_hooks_text(unsigned hooks, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int h = 0; h <= BW_LUA_PROTOCOL; h++)
		if (hooks & (1u << h))
			o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s",
					      o ? ", " : "", bw_lua_hook_name(h));
	if (o == 0)
		snprintf(buf, len, "none");
}

/*
 * Load s from its file into a new sandbox and hand it to the worker.
 * enable: a disabled script becomes active (an explicit reload).
 */
static int
lh_load(struct lh_script *s, const char *text, size_t len, int enable,
	 char *err, size_t errlen)
{
	struct lh_limits lim;
	struct bw_lsb *sb;
	struct lh_cmd *c = NULL;
	char chunk[LH_NAME_MAX + 8], hooks[128], prefix[LH_NAME_MAX + 8];
	const char *base = strrchr(s->path, '/');
	unsigned hk = 0;
	int rc;

	snprintf(prefix, sizeof(prefix), "lua/%s", s->name);
	pthread_mutex_lock(&lh.mu);
	lim = lh.lim;
	pthread_mutex_unlock(&lh.mu);
	sb = bw_lsb_new(s->name, &lim.lsb, bw_luaapi_open, s, err, errlen);
	rc = sb != NULL ? BW_LSB_OK : BW_LSB_FAIL_MEMORY;
	if (sb != NULL) {
		bw_lsb_set_user(sb, s);
		snprintf(chunk, sizeof(chunk), "@%s", base != NULL ? base + 1 : s->path);
		rc = bw_lsb_load(sb, text, len, chunk, &hk, err, errlen);
	}
	if (rc == BW_LSB_OK && (c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = BW_LSB_FAIL_MEMORY;
	}
	if (rc != BW_LSB_OK) {
		bw_lsb_free(sb);
		pthread_mutex_lock(&lh.mu);
		snprintf(s->last_error, sizeof(s->last_error), "load: %s", err);
		s->last_error_ns = bw_lua_wall_ns();
		if (!s->installed)
			s->state = LH_ST_ERROR;
		pthread_mutex_unlock(&lh.mu);
		bw_logx(prefix, BW_LOG_ERR, "%s: cannot load%s: %s", s->path,
			s->installed ? " (the running version stays in force)" : "",
			err);
		return -EINVAL;
	}
	pthread_mutex_lock(&lh.mu);
	if (enable || s->state != LH_ST_DISABLED)
		s->state = LH_ST_ACTIVE;
	s->last_error[0] = '\0';
	s->loaded_ns = bw_lua_wall_ns();
	s->fail_n = s->fail_next = 0;
	if (lh.thread_up)
		s->pending = hk;
	bw_lua_recompute_active();
	pthread_mutex_unlock(&lh.mu);
	c->kind = LH_CMD_INSTALL;
	c->s = s;
	c->sb = sb;
	c->hooks = hk;
	s->installed = 1;
	lh_hooks_text(hk, hooks, sizeof(hooks));
	/* a protocol = {...}: its engine parser follows this script now */
	bw_luaparser_script(s, bw_lsb_protocol(sb), bw_lsb_protocol_response(sb));
	if (lh.thread_up) {
		bw_luaw_command(c);
	} else {
		/* no worker (unit tests of loading): keep the state here */
		bw_lsb_free(s->sb);
		s->sb = sb;
		s->hooks = hk;
		free(c);
	}
	lh_alert_sub_update();
	bw_logx(prefix, BW_LOG_NOTICE, "loaded %s (hooks: %s)%s", s->path, hooks,
		hk == 0 ? "; it defines no hook, so it is never called" : "");
	return 0;
}

/* Read s's file and load it when its content changed (or always). */
static int
lh_refresh(struct lh_script *s, int force, char *err, size_t errlen)
{
	uint64_t *slot = lh_hash_slot(s), h;
	char *text;
	size_t len = 0;
	int rc;

	rc = lh_read_file(s->path, &text, &len, err, errlen);
	if (rc < 0) {
		pthread_mutex_lock(&lh.mu);
		snprintf(s->last_error, sizeof(s->last_error), "load: %s", err);
		pthread_mutex_unlock(&lh.mu);
		bw_err("lua/%s: %s: %s", s->name, s->path, err);
		return rc;
	}
	h = lh_hash(text, len);
	if (!force && slot != NULL && *slot == h && (s->installed || s->state == LH_ST_ERROR)) {
		free(text);
		return 0; /* unchanged */
	}
	if (slot != NULL)
		*slot = h;
	rc = lh_load(s, text, len, force, err, errlen);
	free(text);
	return rc;
}

int
bw_lua_reload_one(struct lh_script *s, char *err, size_t errlen)
{
	return lh_refresh(s, 1, err, errlen);
}

int
bw_lua_disable(struct lh_script *s)
{
	pthread_mutex_lock(&lh.mu);
	s->state = LH_ST_DISABLED;
	bw_lua_recompute_active();
	pthread_mutex_unlock(&lh.mu);
	bw_notice("lua/%s: disabled (`bulwark lua reload %s` enables it again)",
		  s->name, s->name);
	return 0;
}

static void lh_watch(void);

int
bw_lua_rescan(void)
{
	char name[LH_NAME_MAX], path[4096], err[LH_ERR_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (lh.dir == NULL || *lh.dir == '\0')
		return 0;
	lh_watch();
	d = opendir(lh.dir);
	if (d == NULL && errno != ENOENT) {
		n = -errno;
		bw_err_errno(n, "lua: cannot read %s", lh.dir);
		return n;
	}
	for (size_t i = 0; i < lh.nscripts; i++)
		lh.scripts[i]->seen = 0;
	while (d != NULL && (de = readdir(d)) != NULL) {
		struct lh_script *s;
		struct stat st;
		int ok = lh_script_name(de->d_name, name, sizeof(name));

		if (ok == 0)
			continue;
		if (ok < 0) {
			bw_warn("lua: %s/%s: ignored: a script name is made of "
				"letters, digits, '_', '-' and '.' (at most %d), and is "
				"none of script, hook, verdict, reason, fallback, "
				"emitted_by, extensions", lh.dir, de->d_name,
				LH_NAME_MAX - 1);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", lh.dir, de->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		s = bw_lua_script_find(name);
		if (s == NULL && (s = lh_script_new(name, path)) == NULL) {
			bw_err("lua: out of memory");
			continue;
		}
		s->seen = 1;
		lh_refresh(s, 0, err, sizeof(err));
		n++;
	}
	if (d != NULL)
		closedir(d);
	for (size_t i = 0; i < lh.nscripts;) {
		if (!lh.scripts[i]->seen) {
			lh_script_remove(lh.scripts[i]);
			continue;
		}
		i++;
	}
	return n;
}

/* ---- the directory watch -------------------------------------------------------- */

static void
lh_rescan_cb(evutil_socket_t fd, short what, void *arg)
{
	bw_lua_rescan();
}

static void
lh_inotify_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct timeval tv = { 0, LH_RESCAN_MS * 1000 };
	ssize_t n;

	while ((n = read(lh.ino_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))
				lh.ino_wd = -1; /* the directory went away */
			p += sizeof(*ev) + ev->len;
		}
	}
	if (lh.rescan_ev != NULL)
		event_add(lh.rescan_ev, &tv); /* one rescan for a burst */
}

static void
lh_watch(void)
{
	if (lh.ino_fd < 0 || lh.ino_wd >= 0)
		return;
	lh.ino_wd = inotify_add_watch(lh.ino_fd, lh.dir,
				      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
				      IN_DELETE | IN_CREATE | IN_ATTRIB |
				      IN_DELETE_SELF | IN_MOVE_SELF);
}

static void
lh_tick(evutil_socket_t fd, short what, void *arg)
{
	bw_luaw_tick();
	/* a directory that did not exist (or went away) is looked for again */
	if (++lh_ticks % 20 == 0 && lh.ino_fd >= 0 && lh.ino_wd < 0) {
		struct stat st;

		if (stat(lh.dir, &st) == 0 && S_ISDIR(st.st_mode))
			bw_lua_rescan();
	}
}

/* ---- config reload ------------------------------------------------------------------- */

static void
lh_conf_changed(const struct bw_daemon_conf *old, const struct bw_daemon_conf *cur,
		 void *arg)
{
	char *hooks;

	if (!lh.up)
		return;
	hooks = strdup(cur->lua_webhooks != NULL ? cur->lua_webhooks : "");
	pthread_mutex_lock(&lh.mu);
	lh_limits_from(cur, &lh.lim);
	if (hooks != NULL) {
		free(lh.webhooks);
		lh.webhooks = hooks;
	}
	bw_lua_recompute_active();
	pthread_mutex_unlock(&lh.mu);
	bw_flow_stage_set_delay((uint64_t)cur->lua_flow_delay * 1000000u);
}

/* ---- start and stop -------------------------------------------------------------- */

int
bw_lua_init(struct event_base *base)
{
	const struct bw_daemon_conf *dc = bw_conf;
	struct timeval tick = { 0, LH_TICK_MS * 1000 };
	struct bw_flow_stage stage = {
		.wants = lh_stage_wants,
		.submit = lh_stage_submit,
	};
	int rc, n;

	if (lh.thread_up < 0) {
		/* an earlier host's thread never stopped (bw_lua_fini) */
		bw_err("lua: the previous bw-lua thread is still running");
		return -EBUSY;
	}
	lh.base = base;
	lh.loop_thread = pthread_self();
	pthread_mutex_init(&lh.mu, NULL);
	pthread_cond_init(&lh.cv, NULL);
	pthread_cond_init(&lh.rpc_cv, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&lh.sync_cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	lh_limits_from(dc, &lh.lim);
	lh.dir = strdup(dc != NULL && dc->lua_dir != NULL ? dc->lua_dir : "");
	lh.webhooks = strdup(dc != NULL && dc->lua_webhooks != NULL ? dc->lua_webhooks : "");
	lh.fq_cap = dc != NULL && dc->lua_flow_queue > 0 ? (unsigned)dc->lua_flow_queue : 8192;
	lh.fq = calloc(lh.fq_cap, sizeof(*lh.fq));
	lh.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (lh.dir == NULL || lh.webhooks == NULL || lh.fq == NULL || lh.efd < 0) {
		bw_err("lua: cannot start the Lua host: %s",
		       lh.efd < 0 ? strerror(errno) : "out of memory");
		bw_lua_fini();
		return -ENOMEM;
	}
	rc = bw_luaw_start();
	if (rc < 0) {
		bw_err_errno(rc, "lua: cannot start the bw-lua thread");
		bw_lua_fini();
		return rc;
	}
	lh.up = 1;
	rc = bw_hooks_provider_set(&lh_provider);
	if (rc < 0) {
		bw_err("lua: cannot answer decision hooks: another provider is set");
		bw_lua_fini();
		return rc;
	}
	stage.capacity = lh.fq_cap;
	stage.max_delay_ns = (dc != NULL ? (uint64_t)dc->lua_flow_delay : 200) * 1000000u;
	rc = bw_flow_stage_set(base, &stage);
	if (rc < 0) {
		bw_err_errno(rc, "lua: cannot attach to the flow pipeline");
		bw_lua_fini();
		return rc;
	}
	rc = bw_luactl_init();
	if (rc < 0) {
		bw_lua_fini();
		return rc;
	}
	lh.timer_ev = event_new(base, -1, EV_PERSIST, lh_tick, NULL);
	lh.rescan_ev = evtimer_new(base, lh_rescan_cb, NULL);
	if (lh.timer_ev == NULL || lh.rescan_ev == NULL ||
	    event_add(lh.timer_ev, &tick) < 0) {
		bw_err("lua: cannot create the host's timers");
		bw_lua_fini();
		return -ENOMEM;
	}
	if (*lh.dir != '\0') {
		lh.ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (lh.ino_fd < 0) {
			bw_warn("lua: cannot watch %s (%s): changes need `bulwark "
				"lua reload`", lh.dir, strerror(errno));
		} else {
			lh.ino_ev = event_new(base, lh.ino_fd, EV_READ | EV_PERSIST,
					      lh_inotify_cb, NULL);
			if (lh.ino_ev == NULL || event_add(lh.ino_ev, NULL) < 0) {
				bw_err("lua: cannot watch %s", lh.dir);
				bw_lua_fini();
				return -ENOMEM;
			}
		}
	}
	bw_conf_watch(lh_conf_changed, NULL);
	n = bw_lua_rescan();
	if (*lh.dir == '\0')
		bw_info("lua: no script directory ([lua] dir is empty)");
	else if (lh.ino_wd < 0)
		bw_info("lua: %s does not exist (yet): no scripts; it is looked "
			"for again every 2 seconds", lh.dir);
	else
		bw_info("lua: %d script(s) in %s", n < 0 ? 0 : n, lh.dir);
	return 0;
}

void
bw_lua_fini(void)
{
	struct lh_dec *d, *next;

	if (lh.ino_ev != NULL)
		event_free(lh.ino_ev);
	lh.ino_ev = NULL;
	if (lh.ino_fd >= 0)
		close(lh.ino_fd);
	lh.ino_fd = lh.ino_wd = -1;
	if (lh.rescan_ev != NULL)
		event_free(lh.rescan_ev);
	lh.rescan_ev = NULL;
	if (lh.timer_ev != NULL)
		event_free(lh.timer_ev);
	lh.timer_ev = NULL;
	bw_luactl_fini();
	if (lh.alert_sub > 0)
		bw_alert_unsubscribe(lh.alert_sub);
	lh.alert_sub = 0;
	/* whatever is pending is answered (fallback deny) by the hooks layer */
	bw_hooks_provider_set(NULL);
	lh.up = 0;
	bw_luaw_stop();
	if (lh.thread_up < 0)
		return; /* a stuck thread may still read everything below */
	/* the worker has stopped: the stage may store and free what it held */
	bw_flow_stage_set(NULL, NULL);
	for (d = lh.dec_head; d != NULL; d = next) {
		next = d->next;
		for (struct lh_dec *p = lh.inflight; p != NULL; p = p->pnext)
			if (p == d) {
				if (p->pprev != NULL)
					p->pprev->pnext = p->pnext;
				else
					lh.inflight = p->pnext;
				if (p->pnext != NULL)
					p->pnext->pprev = p->pprev;
				else
					lh.inflight_tail = p->pprev;
				break;
			}
		free(d->arena);
		free(d);
	}
	lh.dec_head = NULL;
	lh.inflight = lh.inflight_tail = NULL;
	for (struct lh_cmd *c = lh.cmd_head, *cn; c != NULL; c = cn) {
		cn = c->next;
		bw_lsb_free(c->sb);
		free(c);
	}
	lh.cmd_head = NULL;
	for (struct lh_alert *a = lh.al_head, *an; a != NULL; a = an) {
		an = a->next;
		free(a);
	}
	lh.al_head = NULL;
	lh.al_n = 0;
	for (size_t i = 0; i < lh.nscripts; i++) {
		bw_luaparser_forget(lh.scripts[i]);
		lh_script_free(lh.scripts[i]);
	}
	free(lh.scripts);
	lh.scripts = NULL;
	lh.nscripts = 0;
	free(lh.wscripts);
	lh.wscripts = NULL;
	lh.nwscripts = 0;
	free(lh_hashes);
	lh_hashes = NULL;
	lh_nhashes = 0;
	free(lh.fq);
	lh.fq = NULL;
	lh.fq_n = lh.fq_head = 0;
	if (lh.efd >= 0)
		close(lh.efd);
	lh.efd = -1;
	free(lh.dir);
	lh.dir = NULL;
	free(lh.webhooks);
	lh.webhooks = NULL;
	pthread_mutex_destroy(&lh.mu);
	pthread_cond_destroy(&lh.cv);
	pthread_cond_destroy(&lh.rpc_cv);
	pthread_cond_destroy(&lh.sync_cv);
	memset(&lh, 0, sizeof(lh));
	lh.efd = lh.ino_fd = lh.ino_wd = -1;
}
