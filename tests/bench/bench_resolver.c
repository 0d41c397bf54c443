/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/bench_resolver.c - times core/policy/resolver*.c (the code the daemon
 * links, through libbwcore) on synthetic sets, several repetitions, and
 * prints the median, minimum and maximum of each phase. Not a test: nothing
 * is asserted about time; the program only fails if the resolver fails or
 * resolves something other than the expected entries (a sanity check that
 * the timed work was the real work).
 *
 * Phases (each repetition starts from a fresh resolver):
 *   import    1,000 rules (one policy each) x 10,000 identities x E endpoints:
 *             compile the rules, commit them, flush (every endpoint resolved
 *             and handed to the sync callback) - the shape of
 *             tests/unit/test_resolver.c's scale test;
 *   recompute the same set, every endpoint marked and resolved again (what a
 *             mode change or a restart costs);
 *   ident_add one new identity matching one rule's peer selector, then flush
 *             (the incremental path of a new pod); 200 adds per repetition,
 *             p50 and p99 of them;
 *   nomatch   20,000 rules none of which selects the single endpoint: a full
 *             recompute of that endpoint.
 *
 * Usage: bench_resolver [-r REPS] [-e ENDPOINTS] [-o FILE.json]
 * Output: a table on stdout, and the figures as JSON in FILE (optional).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/config.h" /* before bw_datapath.h */
#include "bpf/bw_datapath.h"
#include "core/node/labels.h"
#include "core/policy/resolver.h"

#define BR_IDENTITIES 10000
#define BR_RULES 1000
#define BR_NOMATCH_RULES 20000
#define BR_ADDS 200

static struct bw_resolver *R;
static size_t br_synced_entries; /* entries handed to sync in the last flush(es) */
static unsigned br_syncs;

static int br_sync(void *arg, const struct bw_rv_endpoint_desc *ep, uint32_t flags,
		   const struct bw_rv_entry *e, size_t n, int stricter, int first)
{
	(void)arg;
	(void)ep;
	(void)flags;
	(void)e;
	(void)stricter;
	(void)first;
	br_synced_entries += n;
	br_syncs++;
	return 0;
}

static double br_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void br_die(const char *what)
{
	fprintf(stderr, "bench_resolver: %s\n", what);
	exit(1);
}

static void br_ident(uint32_t id, const char *ns, const char *app, const char *tier)
{
	struct bw_labelset *ls = bw_labelset_new();

	if (!ls)
		br_die("out of memory");
	bw_labelset_add(ls, "k8s", "io.kubernetes.pod.namespace", ns);
	bw_labelset_add(ls, "k8s", "io.cilium.k8s.policy.cluster", "default");
	bw_labelset_add(ls, "k8s", "app", app);
	bw_labelset_add(ls, "k8s", "tier", tier);
	if (bw_resolver_identity_add(R, id, ls) < 0)
		br_die("identity_add failed");
	bw_labelset_free(ls);
}

static void br_reserved(void)
{
	static const char *const names[] = { NULL, "host", "world", "unmanaged", "health",
					     "init", "remote-node", "kube-apiserver",
					     "ingress", "world-ipv4", "world-ipv6" };

	for (uint32_t id = 1; id <= 10; id++) {
		struct bw_labelset *ls = bw_labelset_new();

		bw_labelset_add(ls, "reserved", names[id], "");
		bw_resolver_identity_add(R, id, ls);
		bw_labelset_free(ls);
	}
}

static void br_endpoint(uint32_t ep_id, uint32_t identity)
{
	struct bw_rv_endpoint_desc d = { .ep_id = ep_id, .ifindex = 100 + ep_id,
					 .identity = identity, .ns = "x", .pod = "p" };

	if (bw_resolver_endpoint_set(R, &d) < 0)
		br_die("endpoint_set failed");
}

static void br_policy(const char *rules_json, uint32_t ref)
{
	char err[512];
	json_error_t jerr;
	json_t *rules = json_loads(rules_json, 0, &jerr);
	struct bw_rv_policy *p;

	if (!rules)
		br_die("bad rule JSON");
	p = bw_rv_policy_compile(rules, err, sizeof(err));
	json_decref(rules);
	if (!p) {
		fprintf(stderr, "bench_resolver: compile: %s\n", err);
		exit(1);
	}
	for (size_t i = 0; i < p->nrules; i++)
		for (int d = 1; d <= 2; d++)
			for (size_t j = 0; j < p->rules[i].nentries[d]; j++)
				p->rules[i].entries[d][j].rule_ref = ref++;
	p->owner = p;
	if (bw_resolver_policy_add(R, p) < 0)
		br_die("policy_add failed");
}

static void br_new(void)
{
	struct bw_resolver_ops ops = { .sync = br_sync };

	R = bw_resolver_new(&ops);
	if (!R)
		br_die("bw_resolver_new failed");
	br_reserved();
}

/* 10,000 identities: app=app<i % 1000>, tier=t<i % 7>, namespaces x and y */
static void br_identities(void)
{
	char app[32], tier[16];

	for (uint32_t i = 0; i < BR_IDENTITIES; i++) {
		snprintf(app, sizeof(app), "app%u", i % 1000);
		snprintf(tier, sizeof(tier), "t%u", i % 7);
		br_ident(1000 + i, i % 2 ? "x" : "y", app, tier);
	}
}

/* rule i: pods app<i> accept TCP 1000+i from app<i+1> */
static void br_rules(void)
{
	char buf[512];

	for (int i = 0; i < BR_RULES; i++) {
		snprintf(buf, sizeof(buf),
			 "[{\"subject\":{\"match_labels\":{\"k8s:app\":\"app%d\"}},"
			 "\"default_deny\":{\"ingress\":true},\"ingress\":[{\"peers\":["
			 "{\"selector\":{\"match_labels\":{\"k8s:app\":\"app%d\"}}}],"
			 "\"ports\":[{\"port\":%d,\"protocol\":\"TCP\"}]}]}]",
			 i, (i + 1) % 1000, 1000 + i);
		br_policy(buf, 1 + (uint32_t)i);
	}
}

static int br_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct br_stat {
	double med, min, max;
};

static struct br_stat br_stats(double *v, int n)
{
	struct br_stat s;

	qsort(v, (size_t)n, sizeof(*v), br_cmp);
	s.min = v[0];
	s.max = v[n - 1];
	s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return s;
}

static double br_pct(double *v, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);

	qsort(v, (size_t)n, sizeof(*v), br_cmp);
	return v[i];
}

int main(int argc, char **argv)
{
	int reps = 7, neps = 100, c;
	const char *out = NULL;
	double *imp, *rec, *nom, *add_p50, *add_p99, adds[BR_ADDS];
	size_t entries_import = 0;
	json_t *doc;

	while ((c = getopt(argc, argv, "r:e:o:h")) != -1) {
		switch (c) {
		case 'r':
			reps = atoi(optarg);
			break;
		case 'e':
			neps = atoi(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench_resolver [-r REPS] [-e ENDPOINTS] [-o FILE.json]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (reps < 1 || neps < 1 || neps > BR_IDENTITIES / 3)
		br_die("bad -r or -e");
	imp = calloc((size_t)reps, sizeof(double));
	rec = calloc((size_t)reps, sizeof(double));
	nom = calloc((size_t)reps, sizeof(double));
	add_p50 = calloc((size_t)reps, sizeof(double));
	add_p99 = calloc((size_t)reps, sizeof(double));
	if (!imp || !rec || !nom || !add_p50 || !add_p99)
		br_die("out of memory");

	for (int r = 0; r < reps; r++) {
		double t0;

		/* import + recompute + incremental identity adds */
		br_new();
		br_identities();
		for (int e = 1; e <= neps; e++)
			br_endpoint((uint32_t)e, 1000 + (uint32_t)e * 3);
		if (bw_resolver_flush(R) < 0)
			br_die("flush failed");
		br_synced_entries = 0;
		t0 = br_now_ms();
		br_rules();
		if (bw_resolver_flush(R) < 0)
			br_die("flush failed");
		imp[r] = br_now_ms() - t0;
		/* every endpoint's identity has app<k>; its rule allows the 10
		 * identities of app<k+1>: 10 entries each */
		if (br_synced_entries != (size_t)neps * 10) {
			fprintf(stderr, "bench_resolver: expected %zu entries, got %zu\n",
				(size_t)neps * 10, br_synced_entries);
			return 1;
		}
		entries_import = br_synced_entries;

		bw_resolver_mark_all(R);
		br_synced_entries = 0;
		t0 = br_now_ms();
		if (bw_resolver_flush(R) < 0)
			br_die("flush failed");
		rec[r] = br_now_ms() - t0;

		for (int i = 0; i < BR_ADDS; i++) {
			char app[32];

			/* peers of endpoint e are app<(3e mod 1000) + 1> */
			snprintf(app, sizeof(app), "app%u",
				 ((uint32_t)(1 + i % neps) * 3 + 1) % 1000);
			t0 = br_now_ms();
			br_ident(200000 + (uint32_t)i, "x", app, "t0");
			if (bw_resolver_flush(R) < 0)
				br_die("flush failed");
			adds[i] = br_now_ms() - t0;
		}
		add_p50[r] = br_pct(adds, BR_ADDS, 0.50);
		add_p99[r] = br_pct(adds, BR_ADDS, 0.99);
		bw_resolver_free(R);

		/* 20,000 rules none of which selects the endpoint */
		br_new();
		br_ident(500, "x", "lonely", "t0");
		br_endpoint(1, 500);
		for (int i = 0; i < BR_NOMATCH_RULES; i++) {
			char buf[512];

			snprintf(buf, sizeof(buf),
				 "[{\"subject\":{\"match_labels\":{\"k8s:app\":\"nm%d\"}},"
				 "\"default_deny\":{\"ingress\":true},\"ingress\":[{\"peers\":["
				 "{\"selector\":{\"match_labels\":{\"k8s:app\":\"nm%d\"}}}],"
				 "\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}]}]}]",
				 i, i + 1);
			br_policy(buf, 1 + (uint32_t)i);
		}
		if (bw_resolver_flush(R) < 0)
			br_die("flush failed");
		bw_resolver_mark_all(R);
		t0 = br_now_ms();
		if (bw_resolver_flush(R) < 0)
			br_die("flush failed");
		nom[r] = br_now_ms() - t0;
		bw_resolver_free(R);
		fprintf(stderr, "# rep %d: import %.1f ms, recompute %.2f ms, ident_add p50 %.3f p99 %.3f ms, nomatch %.3f ms\n",
			r + 1, imp[r], rec[r], add_p50[r], add_p99[r], nom[r]);
	}

	struct br_stat si = br_stats(imp, reps), sr = br_stats(rec, reps),
		       sn = br_stats(nom, reps), sa = br_stats(add_p50, reps),
		       sb = br_stats(add_p99, reps);

	printf("%-58s %10s %10s %10s\n", "resolver phase (ms, over repetitions)", "median", "min", "max");
	printf("%-58s %10.2f %10.2f %10.2f\n", "import: 1000 rules x 10000 identities, compile+flush", si.med,
	       si.min, si.max);
	printf("%-58s %10.2f %10.2f %10.2f\n", "recompute: every endpoint again", sr.med, sr.min,
	       sr.max);
	printf("%-58s %10.3f %10.3f %10.3f\n", "ident_add: 1 new identity + flush, p50", sa.med,
	       sa.min, sa.max);
	printf("%-58s %10.3f %10.3f %10.3f\n", "ident_add: 1 new identity + flush, p99", sb.med,
	       sb.min, sb.max);
	printf("%-58s %10.3f %10.3f %10.3f\n", "nomatch: 20000 rules, 1 endpoint, recompute", sn.med,
	       sn.min, sn.max);
	printf("(%d repetitions, %d endpoints, %zu entries resolved per import)\n", reps, neps,
	       entries_import);

	if (out) {
		doc = json_pack("{s:s, s:i, s:i, s:i, s:i, s:I,"
				" s:{s:f, s:f, s:f}, s:{s:f, s:f, s:f}, s:{s:f, s:f, s:f},"
				" s:{s:f, s:f, s:f}, s:{s:f, s:f, s:f}}",
				"benchmark", "resolver", "repetitions", reps, "endpoints", neps,
				"rules", BR_RULES, "identities", BR_IDENTITIES, "entries",
				(json_int_t)entries_import,
				"import_ms", "median", si.med, "min", si.min, "max", si.max,
				"recompute_ms", "median", sr.med, "min", sr.min, "max", sr.max,
				"ident_add_p50_ms", "median", sa.med, "min", sa.min, "max", sa.max,
				"ident_add_p99_ms", "median", sb.med, "min", sb.min, "max", sb.max,
				"nomatch_20k_ms", "median", sn.med, "min", sn.min, "max", sn.max);
		if (!doc || json_dump_file(doc, out, JSON_INDENT(2)) < 0)
			br_die("cannot write the JSON output");
		json_decref(doc);
	}
	free(imp);
	free(rec);
	free(nom);
	free(add_p50);
	free(add_p99);
	return 0;
}
