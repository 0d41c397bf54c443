/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/advisor/advisor.c - the advisor: policy recommendation from the
 * flow history, what-if replay of a candidate policy set against it, and
 * rules whose allowed space far exceeds their use (docs/adoption.md has the
 * user's guide and the stable JSON shapes):
 *
 *   GET  /v1/recommend?namespace=NS[,NS...]&mode=coarse|fine&since=DUR
 *   POST /v1/simulate?replace=true&since=DUR&limit=N&source=NAME  (body: the candidate YAML)
 *   GET  /v1/broad-rules?since=DUR
 *   GET  /v1/advisor                             (counters)
 *
 * A request reads the history through the core's history broker
 * (bw_core_api.history_scan: the flowstore module's database thread hands
 * the rows over) into the request's own table, then does its work on the
 * loop thread when the scan is done, and answers (bw_core_api.reply_later).
 * Policy questions go to the core's what-if (bw_core_api.whatif_*): the
 * daemon's resolver on the candidate set, the datapath's decision; the
 * advisor never evaluates a rule itself.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "lib/flowfilter.h"
#include "advisor.h"

enum { ADV_RECOMMEND = 0, ADV_SIMULATE, ADV_BROAD, ADV_NVERBS };

static const char *const adv_verb_names[ADV_NVERBS] = { "recommend", "simulate", "broad-rules" };

static const struct bw_conf_key adv_keys[] = {
	{ "window", BW_CONF_DURATION, "7d", offsetof(struct adv_conf, window), 1000,
	  INT64_C(3650) * 86400000, NULL, BW_CONF_F_RELOADABLE,
	  "the history the verbs read when no --since is given" },
	{ "max_rows", BW_CONF_INT, "5000000", offsetof(struct adv_conf, max_rows), 1000,
	  100000000, NULL, BW_CONF_F_RELOADABLE,
	  "distinct connections (source, destination, port, protocol, direction) read per request" },
	{ "comment_flows", BW_CONF_INT, "3", offsetof(struct adv_conf, comment_flows), 1, 100, NULL,
	  BW_CONF_F_RELOADABLE, "connections named in the comment of each recommended rule" },
	{ "shared_percent", BW_CONF_INT, "50", offsetof(struct adv_conf, shared_percent), 1, 100,
	  NULL, BW_CONF_F_RELOADABLE,
	  "a service used by more than this share of the namespaces (and at least 2) joins the baseline" },
	{ "broad_max_peers", BW_CONF_INT, "16", offsetof(struct adv_conf, broad_max_peers), 1, 10000,
	  NULL, BW_CONF_F_RELOADABLE,
	  "a wide rule (a /16 or wider, the world, every pod of a namespace) used for at most this many peers is broad" },
	{ "broad_max_ports", BW_CONF_INT, "3", offsetof(struct adv_conf, broad_max_ports), 1, 1000,
	  NULL, BW_CONF_F_RELOADABLE,
	  "a rule allowing every port or a range of 16 or more used on at most this many ports is broad" },
	{ "baseline_name", BW_CONF_STRING, "bulwark-baseline", offsetof(struct adv_conf, baseline_name),
	  0, 0, NULL, BW_CONF_F_RELOADABLE,
	  "name of the recommended CiliumClusterwideNetworkPolicy" },
	{ "policy_name", BW_CONF_STRING, "bulwark-recommended", offsetof(struct adv_conf, policy_name),
	  0, 0, NULL, BW_CONF_F_RELOADABLE,
	  "name of the recommended CiliumNetworkPolicy in each namespace" },
	BW_CONF_KEY_END,
};

struct advisor {
	const struct bw_core_api *api;
	bw_module_ctx *ctx;
	uint64_t requests[ADV_NVERBS], failures[ADV_NVERBS];
	uint64_t rows_read, connections_read;
	double last_seconds[ADV_NVERBS];
	/* the last request's phases: prepare (the route: the candidate
	 * resolved), read (the history scan), work, free (reply queued and
	 * the request's memory released, after last_seconds) */
	double last_phase[ADV_NVERBS][4];
	unsigned active;
};

struct adv_req {
	struct advisor *adv;
	bw_api_request *req;
	int verb;
	int64_t since_ms;
	char since_text[64];
	struct adv_rows rows;
	int row_err;
	bw_whatif *w;
	char *cand, *cand_src;   /* simulate: the candidate, resolved once the history is read */
	size_t cand_len;
	unsigned cand_flags;
	size_t limit;            /* simulate: entries per list (0: all) */
	char **ns;
	size_t nns;
	int fine;
	struct timespec t0, t_started, t_read;
};

static double
adv_secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* simulate's lists: the busiest entries by default (?limit=, 0: all) */
#define ADV_SIMULATE_LIMIT 1000

#define adv_log(a, lvl, ...) (a)->api->log((a)->ctx, (lvl), __VA_ARGS__)

static int64_t
adv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct adv_conf *
adv_conf_of(struct advisor *a)
{
	return a->api->conf(a->ctx);
}

static int
adv_reply_doc(struct advisor *a, bw_api_request *req, int status, json_t *doc)
{
	char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	int rc;

	json_decref(doc);
	if (text == NULL)
		return a->api->reply_error(req, 500, "out of memory");
	rc = a->api->reply_json(req, status, text);
	free(text);
	return rc;
}

static void
adv_req_free(struct adv_req *r)
{
	if (r == NULL)
		return;
	adv_rows_free(&r->rows);
	if (r->w != NULL)
		r->adv->api->whatif_free(r->w);
	free(r->cand);
	free(r->cand_src);
	for (size_t i = 0; i < r->nns; i++)
		free(r->ns[i]);
	free(r->ns);
	free(r);
}

/* ---- the scan ------------------------------------------------------------------------ */

/* On the provider's thread: only the request's own table is touched. */
static int
adv_on_row(const struct bw_history_row *row, void *arg)
{
	struct adv_req *r = arg;

	if (adv_rows_add(&r->rows, row) < 0) {
		r->row_err = -ENOMEM;
		return 1;
	}
	return 0;
}

static void
adv_finish(struct adv_req *r, int status, json_t *doc, const char *error)
{
	struct advisor *a = r->adv;
	struct timespec t1, t2;
	int verb = r->verb;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	a->last_seconds[verb] = adv_secs(&r->t0, &t1);
	if (r->t_started.tv_sec != 0) {
		a->last_phase[verb][0] = adv_secs(&r->t0, &r->t_started);
		if (r->t_read.tv_sec != 0) {
			a->last_phase[verb][1] = adv_secs(&r->t_started, &r->t_read);
			a->last_phase[verb][2] = adv_secs(&r->t_read, &t1);
		}
	}
	if (status != 200)
		a->failures[verb]++;
	if (doc != NULL)
		adv_reply_doc(a, r->req, status, doc);
	else
		a->api->reply_error(r->req, status, "%s", error != NULL ? error : "failed");
	a->active--;
	adv_req_free(r);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	a->last_phase[verb][3] = adv_secs(&t1, &t2);
}

static void
adv_on_done(int err, const char *message, void *arg)
{
	struct adv_req *r = arg;
	struct advisor *a = r->adv;
	const struct adv_conf *conf = adv_conf_of(a);
	struct adv_world world;
	char tb[40], errbuf[512];
	json_t *doc = NULL;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &r->t_read);
	if (err < 0) {
		adv_finish(r, err == -EAGAIN ? 503 : 500, NULL,
			   message != NULL ? message : "reading the history failed");
		return;
	}
	if (r->row_err < 0 || r->rows.nomem) {
		adv_finish(r, 500, NULL, "out of memory reading the history");
		return;
	}
	a->rows_read += r->rows.n;
	a->connections_read += r->rows.records;
	adv_rows_name(&r->rows, a->api); /* outside addresses by their DNS names */
	errbuf[0] = '\0';
	if ((rc = adv_world_load(&world, a->api)) < 0) {
		adv_finish(r, 500, NULL, "out of memory");
		return;
	}
	switch (r->verb) {
	case ADV_RECOMMEND: {
		struct adv_recommend_opts o = {
			.namespaces = (const char *const *)r->ns, .nns = r->nns, .fine = r->fine,
			.since_text = r->since_text,
		};

		rc = adv_recommend(a->api, a->ctx, conf, &world, &r->rows, &o, &doc, errbuf,
				   sizeof(errbuf));
		break;
	}
	case ADV_SIMULATE:
		/*
		 * Resolved here, after the history read, and freed at once: a
		 * what-if kept across the read cost four times its making to
		 * free (its many small blocks interleaved with the rows'), all
		 * of it after the reply (benchmark 10).
		 */
		r->w = a->api->whatif_new(a->ctx, r->cand, r->cand_len, r->cand_src, r->cand_flags,
					  errbuf, sizeof(errbuf));
		if (r->w == NULL) {
			int e = errno;

			adv_world_free(&world);
			adv_finish(r, e == EINVAL || e == EEXIST ? 400 : 500, NULL,
				   errbuf[0] ? errbuf : strerror(e));
			return;
		}
		rc = adv_simulate(a->api, r->w, &r->rows, r->limit, &doc);
		a->api->whatif_free(r->w);
		r->w = NULL;
		break;
	case ADV_BROAD:
		rc = adv_broad(a->api, conf, &world, &r->rows, &doc, errbuf, sizeof(errbuf));
		break;
	}
	adv_world_free(&world);
	if (rc < 0 || doc == NULL) {
		adv_finish(r, rc == -EINVAL ? 400 : 500, NULL,
			   errbuf[0] ? errbuf : rc == -ENOMEM ? "out of memory" : strerror(-rc));
		return;
	}
	adv_time_text(r->since_ms, tb, sizeof(tb));
	json_object_set_new(doc, "since", json_string(tb));
	if (r->rows.skipped > 0) {
		snprintf(errbuf, sizeof(errbuf),
			 "the window holds more than %zu distinct connections (max_rows): %" PRIu64
			 " connections of the others were left out",
			 r->rows.max, r->rows.skipped);
		json_object_set_new(doc, "warning", json_string(errbuf));
	}
	adv_finish(r, 200, doc, NULL);
}

static int
adv_start(struct advisor *a, struct adv_req *r)
{
	int rc;

	a->requests[r->verb]++;
	a->active++;
	clock_gettime(CLOCK_MONOTONIC, &r->t_started);
	a->api->reply_later(r->req);
	rc = a->api->history_scan(a->ctx, r->since_ms, adv_on_row, adv_on_done, r);
	if (rc < 0)
		adv_finish(r, rc == -ENOENT || rc == -ENODEV ? 503 : 500, NULL,
			   rc == -ENOENT ? "history is unavailable: no module keeps flow history "
					   "(load the flowstore module)"
			   : rc == -ENODEV ? "history is unavailable: the flow store is not running"
					   : strerror(-rc));
	return 0;
}

/* ---- the routes ----------------------------------------------------------------------- */

static struct adv_req *
adv_req_new(struct advisor *a, bw_api_request *req, int verb)
{
	const struct adv_conf *conf = adv_conf_of(a);
	const char *s = a->api->req_query(req, "since");
	struct adv_req *r = calloc(1, sizeof(*r));
	uint64_t ns;

	if (r == NULL) {
		a->api->reply_error(req, 500, "out of memory");
		return NULL;
	}
	r->adv = a;
	r->req = req;
	r->verb = verb;
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	if (s == NULL || *s == '\0') {
		int64_t w = conf->window;

		r->since_ms = adv_now_ms() - w;
		if (w % 86400000 == 0)
			snprintf(r->since_text, sizeof(r->since_text), "%" PRId64 "d", w / 86400000);
		else if (w % 3600000 == 0)
			snprintf(r->since_text, sizeof(r->since_text), "%" PRId64 "h", w / 3600000);
		else if (w % 60000 == 0)
			snprintf(r->since_text, sizeof(r->since_text), "%" PRId64 "m", w / 60000);
		else
			snprintf(r->since_text, sizeof(r->since_text), "%" PRId64 "s", w / 1000);
	} else if (bw_flowfilter_parse_time(s, (uint64_t)adv_now_ms() * 1000000, &ns) < 0) {
		a->api->reply_error(req, 400,
				    "--since %s: give a duration (30s, 15m, 24h, 7d) or a time "
				    "(2026-11-26T09:00:00Z)", s);
		free(r);
		return NULL;
	} else {
		r->since_ms = (int64_t)(ns / 1000000);
		snprintf(r->since_text, sizeof(r->since_text), "%s", s);
	}
	if (adv_rows_init(&r->rows, (size_t)conf->max_rows) < 0) {
		a->api->reply_error(req, 500, "out of memory");
		free(r);
		return NULL;
	}
	return r;
}

static int
adv_route_recommend(bw_api_request *req, void *ud)
{
	struct advisor *a = ud;
	const char *mode = a->api->req_query(req, "mode");
	const char *nsq = a->api->req_query(req, "namespace");
	struct adv_req *r;

	if (mode != NULL && *mode && strcmp(mode, "coarse") && strcmp(mode, "fine"))
		return a->api->reply_error(req, 400, "--mode %s: give coarse or fine", mode);
	if ((r = adv_req_new(a, req, ADV_RECOMMEND)) == NULL)
		return 0;
	r->fine = mode != NULL && !strcmp(mode, "fine");
	while (nsq != NULL && *nsq) {
		const char *comma = strchr(nsq, ',');
		size_t n = comma != NULL ? (size_t)(comma - nsq) : strlen(nsq);
		char **v;

		if (n > 0) {
			if ((v = realloc(r->ns, (r->nns + 1) * sizeof(*v))) == NULL ||
			    (v[r->nns] = strndup(nsq, n)) == NULL) {
				if (v != NULL)
					r->ns = v;
				adv_req_free(r);
				return a->api->reply_error(req, 500, "out of memory");
			}
			r->ns = v;
			r->nns++;
		}
		nsq = comma != NULL ? comma + 1 : NULL;
	}
	return adv_start(a, r);
}

static int
adv_route_simulate(bw_api_request *req, void *ud)
{
	struct advisor *a = ud;
	const char *rep = a->api->req_query(req, "replace"), *src;
	const char *lim = a->api->req_query(req, "limit");
	size_t limit = ADV_SIMULATE_LIMIT;
	size_t len = 0;
	const char *body = a->api->req_body(req, &len);
	unsigned flags = 0;
	struct adv_req *r;

	if (rep != NULL && *rep) {
		if (!strcmp(rep, "true") || !strcmp(rep, "1"))
			flags |= BW_WHATIF_REPLACE;
		else if (strcmp(rep, "false") && strcmp(rep, "0"))
			return a->api->reply_error(req, 400, "replace=%s: give true or false", rep);
	}
	if (lim != NULL && *lim) {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(lim, &end, 10);
		if (errno != 0 || *end != '\0' || *lim == '-' || v > 100000000ULL)
			return a->api->reply_error(req, 400,
						   "limit=%s: give the entries per list (0: all)", lim);
		limit = (size_t)v;
	}
	if (body == NULL || len == 0 || strspn(body, " \t\r\n") == len)
		return a->api->reply_error(req, 400,
					   "give the candidate policies (YAML or JSON) in the body");
	if ((r = adv_req_new(a, req, ADV_SIMULATE)) == NULL)
		return 0;
	src = a->api->req_query(req, "source");
	if ((r->cand = malloc(len + 1)) == NULL ||
	    (src != NULL && *src && (r->cand_src = strdup(src)) == NULL)) {
		adv_req_free(r);
		return a->api->reply_error(req, 500, "out of memory");
	}
	memcpy(r->cand, body, len);
	r->cand[len] = '\0';
	r->limit = limit;
	r->cand_len = len;
	r->cand_flags = flags;
	return adv_start(a, r);
}

static int
adv_route_broad(bw_api_request *req, void *ud)
{
	struct advisor *a = ud;
	struct adv_req *r = adv_req_new(a, req, ADV_BROAD);

	return r != NULL ? adv_start(a, r) : 0;
}

static int
adv_route_status(bw_api_request *req, void *ud)
{
	struct advisor *a = ud;
	json_t *doc = json_object(), *verbs = json_object();

	for (int v = 0; v < ADV_NVERBS; v++)
		json_object_set_new(verbs, adv_verb_names[v],
				    json_pack("{s:I,s:I,s:f,s:{s:f,s:f,s:f,s:f}}", "requests",
					      (json_int_t)a->requests[v], "failures",
					      (json_int_t)a->failures[v], "last_seconds",
					      a->last_seconds[v], "last_phases",
					      "prepare", a->last_phase[v][0], "read",
					      a->last_phase[v][1], "work", a->last_phase[v][2],
					      "free", a->last_phase[v][3]));
	json_object_set_new(doc, "verbs", verbs);
	json_object_set_new(doc, "active", json_integer(a->active));
	json_object_set_new(doc, "rows_read", json_integer((json_int_t)a->rows_read));
	json_object_set_new(doc, "records_read", json_integer((json_int_t)a->connections_read));
	return adv_reply_doc(a, req, 200, doc);
}

/* ---- metrics ------------------------------------------------------------------------ */

static void
adv_metrics(bw_metrics_out *out, void *ud)
{
	struct advisor *a = ud;
	const struct bw_core_api *api = a->api;

	api->metrics_printf(out, "# HELP bulwark_advisor_requests_total Advisor requests "
			    "(recommend, simulate, broad-rules) by verb and result.\n"
			    "# TYPE bulwark_advisor_requests_total counter\n");
	for (int v = 0; v < ADV_NVERBS; v++) {
		api->metrics_printf(out, "bulwark_advisor_requests_total{verb=\"%s\",result=\"ok\"} %"
				    PRIu64 "\n", adv_verb_names[v],
				    a->requests[v] - a->failures[v]);
		api->metrics_printf(out, "bulwark_advisor_requests_total{verb=\"%s\",result=\"error\"} %"
				    PRIu64 "\n", adv_verb_names[v], a->failures[v]);
	}
	api->metrics_printf(out, "# HELP bulwark_advisor_last_duration_seconds Time the last "
			    "request of each verb took, history read included.\n"
			    "# TYPE bulwark_advisor_last_duration_seconds gauge\n");
	for (int v = 0; v < ADV_NVERBS; v++)
		api->metrics_printf(out, "bulwark_advisor_last_duration_seconds{verb=\"%s\"} %.6f\n",
				    adv_verb_names[v], a->last_seconds[v]);
	api->metrics_printf(out, "# HELP bulwark_advisor_rows_read_total Distinct connections "
			    "read from the history by the advisor's requests.\n"
			    "# TYPE bulwark_advisor_rows_read_total counter\n"
			    "bulwark_advisor_rows_read_total %" PRIu64 "\n", a->rows_read);
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static void
adv_free_cb(void *ud)
{
	free(ud);
}

static int
adv_check(const void *conf, char *err, size_t errlen, const char **key)
{
	const struct adv_conf *c = conf;
	static const char *const names[] = { "baseline_name", "policy_name" };
	const char *vals[] = { c->baseline_name, c->policy_name };

	for (int i = 0; i < 2; i++) {
		const char *v = vals[i];
		size_t n = v != NULL ? strlen(v) : 0;
		int ok = n > 0 && n <= 253;

		for (size_t j = 0; ok && j < n; j++)
			ok = (v[j] >= 'a' && v[j] <= 'z') || (v[j] >= '0' && v[j] <= '9') ||
			     ((v[j] == '-' || v[j] == '.') && j > 0 && j + 1 < n);
		if (!ok) {
			snprintf(err, errlen, "'%s': a policy name is lower-case letters, digits, "
				 "'-' and '.' (a DNS subdomain)", v != NULL ? v : "");
			*key = names[i];
			return -EINVAL;
		}
	}
	return 0;
}

static int
adv_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf)
{
	struct advisor *a;
	int rc;

	if (!BW_API_HAS(api, history_scan) || !BW_API_HAS(api, whatif_new) ||
	    !BW_API_HAS(api, policy_export) || !BW_API_HAS(api, endpoint_walk) ||
	    !BW_API_HAS(api, reply_later)) {
		api->log(ctx, BW_LOG_ERR, "this bulwarkd is older than the advisor module "
			 "(it needs module ABI 1.2 with history_scan and whatif_new)");
		return -ENOTSUP;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -ENOMEM;
	a->api = api;
	a->ctx = ctx;
	/* the first route owns a: the core frees it with the instance */
	if ((rc = api->api_route(ctx, "GET", "/v1/advisor", adv_route_status, a, adv_free_cb)) < 0) {
		free(a);
		return rc;
	}
	if ((rc = api->api_route(ctx, "GET", "/v1/recommend", adv_route_recommend, a, NULL)) < 0 ||
	    (rc = api->api_route(ctx, "POST", "/v1/simulate", adv_route_simulate, a, NULL)) < 0 ||
	    (rc = api->api_route(ctx, "GET", "/v1/broad-rules", adv_route_broad, a, NULL)) < 0 ||
	    (rc = api->metrics_register(ctx, adv_metrics, a, NULL)) < 0)
		return rc;
	api->set_data(ctx, a);
	return 0;
}

static int
adv_reload(bw_module_ctx *ctx, const void *new_conf)
{
	return 0; /* every key is read per request */
}

BW_MODULE_DEFINE(
	.name = "advisor",
	.version = "1.0",
	.description = "policy recommendation, what-if replay and broad-rule detection from flow history",
	.conf_keys = adv_keys,
	.conf_size = sizeof(struct adv_conf),
	.init = adv_init,
	.reload = adv_reload,
	.check = adv_check,
);
