/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/fqdn/fqdn.c - toFQDNs policy: the DNS cache that turns the
 * answers a DNS proxy sees into FQDN identities (docs/fqdn.md).
 *
 * The module subscribes to DNS answers (bw_core_api.dns_subscribe). For
 * each answer with addresses it records the (name, address) pairs
 * (fqdn_cache.c) and tells the core the names of every address whose names
 * changed (fqdn_ip_set, then fqdn_sync). The core maps the addresses that
 * toFQDNs selectors match to FQDN identities and writes the datapath before
 * fqdn_sync returns, which is before the proxy releases the answer: the
 * workload's first connection to a fresh address is already allowed.
 *
 * A timer collects expired pairs: conntrack tells which expired addresses
 * still carry a connection (ct_peers_alive); those stay, the others go
 * after idle_grace. The cache is kept in <state_dir>/<instance>/cache.json
 * (written by a thread, fqdn_persist.c) and restored at start, before the
 * policies are resolved, so a restart keeps learned addresses allowed
 * without a new lookup.
 *
 * Control API: GET /v1/fqdn/cache[?name=PATTERN] lists the pairs (with the
 * FQDN identity of each address and the selectors in use); DELETE
 * /v1/fqdn/cache[?name=PATTERN] forgets them (`bulwark fqdn cache clean`).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include <bulwark/module.h>

#include "lib/fqdnmatch.h"
#include "fqdn_cache.h"
#include "fqdn_persist.h"

#define FQDN_FILE "cache.json"
#define FQDN_SAVE_DELAY_MS 1000

struct fqdn_conf {
	int64_t min_ttl;          /* ms */
	int64_t idle_grace;       /* ms */
	int64_t max_ips_per_name;
	int64_t max_zombies;
	int64_t gc_interval;      /* ms */
};

static const struct bw_conf_key fqdn_keys[] = {
	{ "min_ttl", BW_CONF_DURATION, "0", offsetof(struct fqdn_conf, min_ttl),
	  0, 0, NULL, BW_CONF_F_RELOADABLE,
	  "an answer's addresses stay allowed at least this long, whatever its TTL (Cilium: tofqdns-min-ttl)" },
	{ "idle_grace", BW_CONF_DURATION, "0", offsetof(struct fqdn_conf, idle_grace),
	  0, 0, NULL, BW_CONF_F_RELOADABLE,
	  "an expired address stays this long after its last connection closed (tofqdns-idle-connection-grace-period)" },
	{ "max_ips_per_name", BW_CONF_INT, "1000", offsetof(struct fqdn_conf, max_ips_per_name),
	  1, 1000000, NULL, BW_CONF_F_RELOADABLE,
	  "fresh addresses kept per name; the oldest expire early (into the zombie path) when more come" },
	{ "max_zombies", BW_CONF_INT, "10000", offsetof(struct fqdn_conf, max_zombies),
	  1, 10000000, NULL, BW_CONF_F_RELOADABLE,
	  "expired addresses kept for live connections at most (tofqdns-max-deferred-connection-deletes)" },
	{ "gc_interval", BW_CONF_DURATION, "5s", offsetof(struct fqdn_conf, gc_interval),
	  100, 3600000, NULL, 0,
	  "how often expired addresses are checked against conntrack" },
	BW_CONF_KEY_END,
};

/* Buckets of bulwark_fqdn_datapath_update_seconds (seconds). */
static const double fqdn_buckets[] = {
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1,
};
#define FQDN_NBUCKETS (sizeof(fqdn_buckets) / sizeof(fqdn_buckets[0]))

/* The service table (the same for every instance), for start/stop/fini. */
static const struct bw_core_api *fqdn_api;

struct fqdn {
	const struct bw_core_api *api;
	bw_module_ctx *ctx;
	struct fqdn_conf conf;
	struct fqc *cache;
	struct fqp *writer;
	char *path;
	struct event *gc_ev, *save_ev;
	int dirty, save_failed_logged, ct_failed_logged, sync_failed_logged;
	uint64_t answers, syncs, sync_errors;
	uint64_t hist[FQDN_NBUCKETS + 1];
	double hist_sum;
	uint64_t hist_count;
};

#define fqdn_log(f, lvl, ...) (f)->api->log((f)->ctx, (lvl), __VA_ARGS__)

static int64_t fqdn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t fqdn_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fqdn_cache_conf(const struct fqdn_conf *c, struct fqc_conf *out)
{
	out->min_ttl_ms = c->min_ttl;
	out->idle_grace_ms = c->idle_grace;
	out->max_ips_per_name = c->max_ips_per_name;
	out->max_zombies = c->max_zombies;
}

/* ---- persistence --------------------------------------------------------- */

static void fqdn_save_now(struct fqdn *f)
{
	json_t *doc;
	char *text;
	int rc;

	if (!f->writer)
		return;
	doc = fqc_to_json(f->cache, 0, NULL, NULL);
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text) {
		fqdn_log(f, BW_LOG_ERR, "cannot serialise the cache: out of memory");
		return;
	}
	f->dirty = 0;
	rc = fqp_submit(f->writer, text);
	if (rc < 0 && !f->save_failed_logged) {
		fqdn_log(f, BW_LOG_ERR, "cannot write %s: %s (the cache is kept in memory)",
			 f->path, strerror(-rc));
		f->save_failed_logged = 1;
	} else if (rc == 0) {
		f->save_failed_logged = 0;
	}
}

static void fqdn_save_cb(evutil_socket_t fd, short what, void *arg)
{
	fqdn_save_now(arg);
}

/* The cache changed: write it at most once a second. */
static void fqdn_mark_dirty(struct fqdn *f)
{
	struct timeval tv = { FQDN_SAVE_DELAY_MS / 1000, (FQDN_SAVE_DELAY_MS % 1000) * 1000 };

	if (f->dirty)
		return;
	f->dirty = 1;
	if (!f->save_ev || event_add(f->save_ev, &tv) < 0)
		fqdn_save_now(f);
}

/* ---- pushing names to the core -------------------------------------------- */

static void fqdn_push_cb(const struct fqc_addr *a, const char *const *names,
			 size_t n, void *arg)
{
	struct fqdn *f = arg;
	int rc = f->api->fqdn_ip_set(f->ctx, a->family, a->addr, names, n);

	if (rc < 0)
		f->sync_errors++;
}

/* Hand the changed addresses to the core; returns when the datapath has them. */
static int fqdn_push(struct fqdn *f)
{
	int rc;

	fqc_drain_changed(f->cache, fqdn_push_cb, f);
	rc = f->api->fqdn_sync(f->ctx);
	f->syncs++;
	if (rc < 0) {
		f->sync_errors++;
		if (!f->sync_failed_logged)
			fqdn_log(f, BW_LOG_ERR, "the datapath could not take the learned addresses: %s",
				 strerror(-rc));
		f->sync_failed_logged = 1;
	} else {
		f->sync_failed_logged = 0;
	}
	return rc;
}

/* ---- DNS answers ------------------------------------------------------------ */

static void fqdn_observe_delay(struct fqdn *f, uint64_t since_ns)
{
	uint64_t now = fqdn_now_ns();
	double s = since_ns && now > since_ns ? (double)(now - since_ns) / 1e9 : 0;
	size_t b = 0;

	while (b < FQDN_NBUCKETS && s > fqdn_buckets[b])
		b++;
	f->hist[b]++;
	f->hist_sum += s;
	f->hist_count++;
}

static void fqdn_on_answer(const struct bw_dns_answer *a, void *arg)
{
	struct fqdn *f = arg;
	struct fqc_addr stackv[64], *v = stackv;
	char name[BW_FQDN_NAME_MAX + 3];
	size_t n = 0;
	int added;

	f->answers++;
	if (a->rcode != 0 || !a->n_ips || !a->qname ||
	    bw_fqdn_name_normalize(a->qname, name, sizeof(name)) < 0)
		return;
	if (a->n_ips > sizeof(stackv) / sizeof(stackv[0]) &&
	    !(v = calloc(a->n_ips, sizeof(*v))))
		return;
	for (size_t i = 0; i < a->n_ips; i++) {
		if (a->ips[i].family != 4 && a->ips[i].family != 6)
			continue;
		v[n].family = a->ips[i].family;
		memset(v[n].addr, 0, 16);
		memcpy(v[n].addr, a->ips[i].addr, a->ips[i].family == 4 ? 4 : 16);
		n++;
	}
	added = fqc_learn(f->cache, name, v, n, a->ttl, a->ep_id, fqdn_now_ms());
	if (v != stackv)
		free(v);
	if (added < 0) {
		fqdn_log(f, BW_LOG_ERR, "cannot record %s: %s", name, strerror(-added));
		return;
	}
	fqdn_push(f);
	fqdn_observe_delay(f, a->time_ns);
	fqdn_mark_dirty(f);
}

/* ---- garbage collection ------------------------------------------------------ */

static void fqdn_gc(struct fqdn *f)
{
	int64_t now = fqdn_now_ms();
	uint8_t (*addrs)[16] = NULL, *alive = NULL;
	size_t n = fqc_gc_candidates(f->cache, now, &addrs), removed;
	int rc = 0;

	if (!n)
		return;
	alive = calloc(n, 1);
	if (alive)
		rc = f->api->ct_peers_alive((const uint8_t (*)[16])addrs, n, alive);
	if (!alive || rc < 0) {
		if (!f->ct_failed_logged)
			fqdn_log(f, BW_LOG_WARNING,
				 "cannot read connection tracking (%s): expired addresses are kept",
				 alive ? strerror(-rc) : "out of memory");
		f->ct_failed_logged = 1;
		free(alive);
		alive = NULL;
	} else {
		f->ct_failed_logged = 0;
	}
	removed = fqc_gc_apply(f->cache, now, (const uint8_t (*)[16])addrs, alive, n);
	free(addrs);
	free(alive);
	if (removed) {
		fqdn_push(f);
		fqdn_mark_dirty(f);
	}
}

static void fqdn_gc_cb(evutil_socket_t fd, short what, void *arg)
{
	fqdn_gc(arg);
}

/* ---- control API ------------------------------------------------------------- */

static uint32_t fqdn_ident_cb(const struct fqc_addr *a, void *arg)
{
	struct fqdn *f = arg;

	return f->api->fqdn_ip_identity(a->family, a->addr);
}

static void fqdn_sel_cb(const char *sel, void *arg)
{
	json_array_append_new(arg, json_string(sel));
}

static int fqdn_api_get(bw_api_request *req, void *arg)
{
	struct fqdn *f = arg;
	const char *pat = f->api->req_query(req, "name");
	struct bw_fqdn_matcher *m = NULL;
	json_t *doc, *entries, *out, *sels = json_array();
	char why[256], *text;
	size_t i;
	json_t *e;
	int rc;

	if (pat && *pat &&
	    !(m = bw_fqdn_matcher_new(BW_FQDN_MATCH_PATTERN, pat, why, sizeof(why)))) {
		json_decref(sels);
		return f->api->reply_error(req, 400, "name: %s", why);
	}
	doc = fqc_to_json(f->cache, fqdn_now_ms(), fqdn_ident_cb, f);
	entries = json_array();
	if (!doc || !entries || !sels) {
		json_decref(doc);
		json_decref(entries);
		json_decref(sels);
		bw_fqdn_matcher_free(m);
		return -ENOMEM;
	}
	json_array_foreach(json_object_get(doc, "entries"), i, e)
		if (!m || bw_fqdn_matcher_match(m, json_string_value(json_object_get(e, "name"))))
			json_array_append(entries, e);
	bw_fqdn_matcher_free(m);
	json_decref(doc);
	f->api->fqdn_selector_foreach(fqdn_sel_cb, sels);
	out = json_pack("{s:o, s:o}", "entries", entries, "selectors", sels);
	text = out ? json_dumps(out, JSON_COMPACT) : NULL;
	json_decref(out);
	if (!text)
		return -ENOMEM;
	rc = f->api->reply_json(req, 200, text);
	free(text);
	return rc;
}

static int fqdn_api_clean(bw_api_request *req, void *arg)
{
	struct fqdn *f = arg;
	const char *pat = f->api->req_query(req, "name");
	char why[256], buf[64];
	int n;

	if (pat && *pat && bw_fqdn_selector_check(BW_FQDN_MATCH_PATTERN, pat, why, sizeof(why)) < 0)
		return f->api->reply_error(req, 400, "name: %s", why);
	n = fqc_clean(f->cache, pat && *pat ? pat : NULL);
	if (n < 0)
		return n;
	if (n > 0) {
		fqdn_push(f);
		fqdn_mark_dirty(f);
	}
	fqdn_log(f, BW_LOG_INFO, "cache clean%s%s: %d entries removed", pat ? " " : "",
		 pat ? pat : "", n);
	snprintf(buf, sizeof(buf), "{\"removed\":%d}", n);
	return f->api->reply_json(req, 200, buf);
}

/* ---- metrics ----------------------------------------------------------------- */

static void fqdn_collect(bw_metrics_out *out, void *arg)
{
	struct fqdn *f = arg;
	const struct bw_core_api *api = f->api;
	const char *inst = api->instance_name(f->ctx);
	struct fqc_stats st;
	size_t nsel = 0;
	uint64_t cum = 0;

	fqc_stats(f->cache, &st);
	{
		json_t *sels = json_array();

		if (sels) {
			api->fqdn_selector_foreach(fqdn_sel_cb, sels);
			nsel = json_array_size(sels);
			json_decref(sels);
		}
	}
#define G(name, help, type, val)                                                  \
	api->metrics_printf(out, "# HELP " name " " help "\n# TYPE " name " " type "\n" \
			    name "{instance=\"%s\"} %" PRIu64 "\n", inst, (uint64_t)(val))
	G("bulwark_fqdn_names", "Names in the FQDN cache.", "gauge", st.names);
	G("bulwark_fqdn_addresses", "Addresses in the FQDN cache.", "gauge", st.addresses);
	G("bulwark_fqdn_entries", "(name, address) pairs in the FQDN cache.", "gauge", st.entries);
	G("bulwark_fqdn_zombies",
	  "Expired pairs kept because a connection lives or the idle grace runs.", "gauge",
	  st.zombies);
	G("bulwark_fqdn_selectors", "toFQDNs selectors the policies use.", "gauge", nsel);
	G("bulwark_fqdn_learned_total", "(name, address) pairs learned from DNS answers.",
	  "counter", st.learned);
	G("bulwark_fqdn_gc_deletions_total", "Expired pairs removed by the collector.",
	  "counter", st.gc_deletions);
	G("bulwark_fqdn_answers_total", "DNS answers seen.", "counter", f->answers);
	G("bulwark_fqdn_sync_errors_total",
	  "Addresses or answers the datapath could not take.", "counter", f->sync_errors);
#undef G
	api->metrics_printf(out,
			    "# HELP bulwark_fqdn_evictions_total Pairs dropped by a cap.\n"
			    "# TYPE bulwark_fqdn_evictions_total counter\n"
			    "bulwark_fqdn_evictions_total{instance=\"%s\",reason=\"max_ips_per_name\"} %" PRIu64 "\n"
			    "bulwark_fqdn_evictions_total{instance=\"%s\",reason=\"max_zombies\"} %" PRIu64 "\n",
			    inst, st.evictions, inst, st.zombie_evictions);
	api->metrics_printf(out,
			    "# HELP bulwark_fqdn_datapath_update_seconds Time from a DNS answer's arrival at the proxy to the datapath allowing its addresses.\n"
			    "# TYPE bulwark_fqdn_datapath_update_seconds histogram\n");
	for (size_t b = 0; b < FQDN_NBUCKETS; b++) {
		cum += f->hist[b];
		api->metrics_printf(out,
				    "bulwark_fqdn_datapath_update_seconds_bucket{instance=\"%s\",le=\"%g\"} %" PRIu64 "\n",
				    inst, fqdn_buckets[b], cum);
	}
	api->metrics_printf(out,
			    "bulwark_fqdn_datapath_update_seconds_bucket{instance=\"%s\",le=\"+Inf\"} %" PRIu64 "\n"
			    "bulwark_fqdn_datapath_update_seconds_sum{instance=\"%s\"} %.9f\n"
			    "bulwark_fqdn_datapath_update_seconds_count{instance=\"%s\"} %" PRIu64 "\n",
			    inst, f->hist_count, inst, f->hist_sum, inst, f->hist_count);
}

/* ---- lifecycle ----------------------------------------------------------------- */

static void fqdn_free(struct fqdn *f)
{
	if (!f)
		return;
	if (f->gc_ev)
		event_free(f->gc_ev);
	if (f->save_ev)
		event_free(f->save_ev);
	fqp_free(f->writer);
	fqc_free(f->cache);
	free(f->path);
	free(f);
}

static int fqdn_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf)
{
	struct fqdn *f;
	struct fqc_conf cc;
	const char *dir;
	struct event_base *base;
	size_t plen;
	int rc;

	if (!BW_API_HAS(api, dns_subscribe) || !BW_API_HAS(api, fqdn_sync) ||
	    !BW_API_HAS(api, ct_peers_alive) || !BW_API_HAS(api, fqdn_selector_foreach)) {
		api->log(ctx, BW_LOG_ERR, "this daemon has no FQDN support (module ABI 1.2 needed)");
		return -ENOTSUP;
	}
	fqdn_api = api;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->api = api;
	f->ctx = ctx;
	f->conf = *(const struct fqdn_conf *)conf;
	fqdn_cache_conf(&f->conf, &cc);
	f->cache = fqc_new(&cc);
	dir = api->state_dir(ctx);
	if (!f->cache) {
		fqdn_free(f);
		return -ENOMEM;
	}
	if (!dir) {
		rc = -errno;
		api->log(ctx, BW_LOG_ERR, "no state directory: %s", strerror(errno));
		fqdn_free(f);
		return rc ? rc : -EIO;
	}
	plen = strlen(dir) + sizeof(FQDN_FILE) + 2;
	f->path = malloc(plen);
	if (!f->path) {
		fqdn_free(f);
		return -ENOMEM;
	}
	snprintf(f->path, plen, "%s/%s", dir, FQDN_FILE);
	base = api->event_base(ctx);
	f->gc_ev = event_new(base, -1, EV_PERSIST, fqdn_gc_cb, f);
	f->save_ev = evtimer_new(base, fqdn_save_cb, f);
	f->writer = fqp_new(f->path);
	if (!f->gc_ev || !f->save_ev || !f->writer) {
		fqdn_free(f);
		return -ENOMEM;
	}
	api->set_data(ctx, f);
	if ((rc = api->dns_subscribe(ctx, fqdn_on_answer, f, NULL)) < 0 ||
	    (rc = api->api_route(ctx, "GET", "/v1/fqdn/cache", fqdn_api_get, f, NULL)) < 0 ||
	    (rc = api->api_route(ctx, "DELETE", "/v1/fqdn/cache", fqdn_api_clean, f, NULL)) < 0 ||
	    (rc = api->metrics_register(ctx, fqdn_collect, f, NULL)) < 0) {
		api->log(ctx, BW_LOG_ERR, "cannot register with the core: %s", strerror(-rc));
		api->set_data(ctx, NULL);
		fqdn_free(f);
		return rc;
	}
	return 0;
}

/*
 * Restore the cache before the daemon resolves policy (modules start before
 * the endpoints and policies are restored): the core keeps the names and
 * gives the addresses their identities in the first resolve, once the
 * policies' selectors are known, so the datapath's entries for them are
 * never removed and learned addresses stay allowed without a new lookup.
 */
static void fqdn_restore(struct fqdn *f)
{
	json_error_t jerr;
	json_t *doc;
	int n;

	doc = json_load_file(f->path, 0, &jerr);
	if (!doc) {
		FILE *fp = fopen(f->path, "r");

		if (fp) { /* there, but not JSON: say so, start empty */
			fclose(fp);
			fqdn_log(f, BW_LOG_ERR, "%s:%d: %s; starting with an empty cache",
				 f->path, jerr.line, jerr.text);
		}
		return;
	}
	n = fqc_restore(f->cache, doc, fqdn_now_ms());
	json_decref(doc);
	if (n < 0) {
		fqdn_log(f, BW_LOG_ERR, "%s is not a cache file of this version; starting with an empty cache",
			 f->path);
		return;
	}
	fqc_mark_all_changed(f->cache);
	fqdn_push(f);
	fqdn_log(f, BW_LOG_INFO, "restored %d cached name/address pairs from %s", n, f->path);
}

static int fqdn_start(bw_module_ctx *ctx)
{
	struct fqdn *f = fqdn_api ? fqdn_api->get_data(ctx) : NULL;
	struct timeval tv;

	if (!f)
		return -EINVAL;
	fqdn_restore(f);
	tv.tv_sec = f->conf.gc_interval / 1000;
	tv.tv_usec = (f->conf.gc_interval % 1000) * 1000;
	if (event_add(f->gc_ev, &tv) < 0) {
		fqdn_log(f, BW_LOG_ERR, "cannot start the cache collector");
		return -EIO;
	}
	return 0;
}

static int fqdn_reload(bw_module_ctx *ctx, const void *new_conf)
{
	struct fqdn *f = fqdn_api ? fqdn_api->get_data(ctx) : NULL;
	const struct fqdn_conf *nc = new_conf;
	struct fqc_conf cc;

	if (!f)
		return -EINVAL;
	if (nc->gc_interval != f->conf.gc_interval)
		return -ENOTSUP;
	f->conf = *nc;
	fqdn_cache_conf(&f->conf, &cc);
	fqc_set_conf(f->cache, &cc);
	return 0;
}

/* The loop stops: write what is pending (the writer thread finishes it). */
static void fqdn_stop(bw_module_ctx *ctx)
{
	struct fqdn *f = fqdn_api ? fqdn_api->get_data(ctx) : NULL;

	if (!f)
		return;
	event_del(f->gc_ev);
	event_del(f->save_ev);
	fqdn_save_now(f);
	fqp_free(f->writer); /* joins: the file is written when stop returns */
	f->writer = NULL;
}

static void fqdn_fini(bw_module_ctx *ctx)
{
	struct fqdn *f = fqdn_api ? fqdn_api->get_data(ctx) : NULL;

	if (!f)
		return;
	if (f->writer && f->dirty)
		fqdn_save_now(f);
	fqdn_api->set_data(ctx, NULL);
	fqdn_free(f);
}

BW_MODULE_DEFINE(.name = "fqdn", .version = "1.0",
		 .description = "toFQDNs policy: DNS answers become FQDN identities; the cache survives restarts",
		 .conf_keys = fqdn_keys, .conf_size = sizeof(struct fqdn_conf),
		 .init = fqdn_init, .start = fqdn_start, .reload = fqdn_reload,
		 .stop = fqdn_stop, .fini = fqdn_fini);
