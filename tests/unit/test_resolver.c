/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_resolver.c - core/policy/resolver*.c: the semantics of resolved
 * policy entries, with hand-built identities and endpoints and a sync
 * callback that records what would be written to the maps.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h" /* before bw_datapath.h */
#include "bpf/bw_datapath.h"
#include "core/node/labels.h"
#include "core/policy/resolver.h"

#define MAX_EP 16

struct synced {
	int count;          /* sync calls */
	uint32_t flags;
	struct bw_rv_entry *e;
	size_t n;
	int stricter;
};

static struct synced S[MAX_EP];
static uint32_t next_cidr_id;
static struct bw_resolver *R;

/* Every CIDR identity the tests created (for the prefix index cross-check). */
#define MAX_REC 1024
static struct {
	uint32_t id;
	int family, plen, alive;
	uint8_t addr[16];
} REC[MAX_REC];
static size_t NREC;

static void rec_put(uint32_t id, int family, const uint8_t *addr, int plen)
{
	size_t i;

	for (i = 0; i < NREC && REC[i].id != id; i++)
		;
	if (i == NREC) {
		if (NREC == MAX_REC)
			return;
		NREC++;
	}
	REC[i].id = id;
	REC[i].family = family;
	REC[i].plen = plen;
	REC[i].alive = 1;
	memset(REC[i].addr, 0, 16);
	memcpy(REC[i].addr, addr, family == 4 ? 4 : 16);
}

static int t_sync(void *arg, const struct bw_rv_endpoint_desc *ep, uint32_t flags,
		  const struct bw_rv_entry *e, size_t n, int stricter, int first)
{
	struct synced *s = &S[ep->ep_id];

	s->count++;
	s->flags = flags;
	s->stricter = stricter;
	free(s->e);
	s->e = n ? malloc(n * sizeof(*e)) : NULL;
	if (n)
		memcpy(s->e, e, n * sizeof(*e));
	s->n = n;
	return 0;
}

/* CIDR identities: labels cidr:<prefix> + reserved:world, like core/node/identity.c */
static int t_cidr_acquire(void *arg, int family, const uint8_t *addr, int plen,
			  uint32_t *id)
{
	char a[64], key[80];
	struct bw_labelset *ls = bw_labelset_new();

	inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, a, sizeof(a));
	snprintf(key, sizeof(key), "%s/%d", a, plen);
	for (char *c = key; family == 6 && *c; c++)
		if (*c == ':')
			*c = '-';
	bw_labelset_add(ls, "cidr", key, "");
	bw_labelset_add(ls, "reserved", "world", "");
	*id = next_cidr_id++;
	rec_put(*id, family, addr, plen);
	bw_resolver_identity_add(R, *id, ls);
	bw_labelset_free(ls);
	return 0;
}

static void t_cidr_release(void *arg, uint32_t id)
{
	for (size_t i = 0; i < NREC; i++)
		if (REC[i].id == id)
			REC[i].alive = 0;
	bw_resolver_identity_remove(R, id);
}

/*
 * Split identities (ipBlock by address), like core/policy/policy.c: the
 * base's labels plus reserved:ipblock-split=<sigkey>; the ipcache writes
 * recorded per address.
 */
#define MAX_SPLIT 64
static struct {
	uint32_t id, base;
	char key[17];
	int alive;
} SPLIT[MAX_SPLIT];
static size_t NSPLIT;
static struct {
	int family;
	uint8_t addr[16];
	uint32_t ep, id;
} AMAP[MAX_SPLIT];
static size_t NAMAP;
static int split_fail;

static int t_split_acquire(void *arg, uint32_t base, const char *sigkey, uint32_t *id)
{
	const struct bw_labelset *bl = bw_resolver_identity_labels(R, base);
	struct bw_labelset *ls;

	if (split_fail || !bl || NSPLIT == MAX_SPLIT)
		return -ENOSPC;
	for (size_t i = 0; i < NSPLIT; i++)
		if (SPLIT[i].alive && SPLIT[i].base == base && !strcmp(SPLIT[i].key, sigkey))
			ck_abort_msg("split %u/%s acquired twice", base, sigkey);
	ls = bw_labelset_dup(bl);
	bw_labelset_add(ls, "reserved", BW_RV_SPLIT_LABEL, sigkey);
	*id = 5000 + (uint32_t)NSPLIT;
	SPLIT[NSPLIT].id = *id;
	SPLIT[NSPLIT].base = base;
	snprintf(SPLIT[NSPLIT].key, sizeof(SPLIT[0].key), "%s", sigkey);
	SPLIT[NSPLIT].alive = 1;
	NSPLIT++;
	bw_resolver_identity_add(R, *id, ls);
	bw_labelset_free(ls);
	return 0;
}

static void t_split_release(void *arg, uint32_t id)
{
	for (size_t i = 0; i < NSPLIT; i++)
		if (SPLIT[i].id == id) {
			ck_assert(SPLIT[i].alive);
			SPLIT[i].alive = 0;
		}
	/* never released while an address still maps to it */
	for (size_t i = 0; i < NAMAP; i++)
		ck_assert_uint_ne(AMAP[i].id, id);
	bw_resolver_identity_remove(R, id);
}

static int t_split_map(void *arg, uint32_t ep_id, const struct bw_rv_addr *a, uint32_t id)
{
	size_t i;

	for (i = 0; i < NAMAP; i++)
		if (AMAP[i].family == a->family && !memcmp(AMAP[i].addr, a->addr, 16))
			break;
	if (!id) {
		ck_assert_msg(i < NAMAP, "unmap of an address never mapped");
		AMAP[i] = AMAP[--NAMAP];
		return 0;
	}
	if (i == NAMAP)
		NAMAP++;
	AMAP[i].family = a->family;
	memcpy(AMAP[i].addr, a->addr, 16);
	AMAP[i].ep = ep_id;
	AMAP[i].id = id;
	return 0;
}

/* The identity the ipcache gives an IPv4 address (0: its endpoint's). */
static uint32_t amap_of(const char *ip)
{
	uint8_t a[16] = { 0 };

	inet_pton(AF_INET, ip, a);
	for (size_t i = 0; i < NAMAP; i++)
		if (AMAP[i].family == 4 && !memcmp(AMAP[i].addr, a, 16))
			return AMAP[i].id;
	return 0;
}

static size_t splits_alive(void)
{
	size_t n = 0;

	for (size_t i = 0; i < NSPLIT; i++)
		n += SPLIT[i].alive;
	return n;
}

/* FQDN selectors entering and leaving the cache (the fqdn_selector op) */
static char FQSEL[8][64];
static int FQREFS[8];

static void t_fqdn_selector(void *arg, const char *text, int add)
{
	int i, free_slot = -1;

	for (i = 0; i < 8; i++) {
		if (FQREFS[i] && !strcmp(FQSEL[i], text))
			break;
		if (!FQREFS[i] && free_slot < 0)
			free_slot = i;
	}
	if (i == 8) {
		ck_assert_msg(add, "%s left the cache without entering it", text);
		i = free_slot;
		snprintf(FQSEL[i], sizeof(FQSEL[i]), "%s", text);
	}
	FQREFS[i] += add ? 1 : -1;
	ck_assert_int_le(FQREFS[i], 1); /* once per cache entry */
}

static int fq_in_cache(const char *text)
{
	for (int i = 0; i < 8; i++)
		if (FQREFS[i] && !strcmp(FQSEL[i], text))
			return 1;
	return 0;
}

/* an FQDN identity: fqdn:<sel> labels (comma-separated) and reserved:world */
static void fqdn_ident(uint32_t id, const char *sels)
{
	struct bw_labelset *ls = bw_labelset_new();
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", sels);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		bw_labelset_add(ls, "fqdn", t, "");
	bw_labelset_add(ls, "reserved", "world", "");
	ck_assert_int_eq(bw_resolver_identity_add(R, id, ls), 0);
	bw_labelset_free(ls);
}

static void setup(void)
{
	struct bw_resolver_ops ops = { .sync = t_sync, .cidr_acquire = t_cidr_acquire,
				       .cidr_release = t_cidr_release,
				       .split_acquire = t_split_acquire,
				       .split_release = t_split_release,
				       .split_map = t_split_map,
				       .fqdn_selector = t_fqdn_selector };

	NSPLIT = NAMAP = 0;
	split_fail = 0;

	memset(FQREFS, 0, sizeof(FQREFS));
	memset(S, 0, sizeof(S));
	NREC = 0;
	next_cidr_id = BW_ID_LOCAL_SCOPE + 1;
	R = bw_resolver_new(&ops);
	ck_assert_ptr_nonnull(R);
}

static void teardown(void)
{
	bw_resolver_free(R);
	for (int i = 0; i < MAX_EP; i++)
		free(S[i].e);
}

/* identity with "k=v,k=v" k8s labels (namespace given separately) */
static void ident(uint32_t id, const char *ns, const char *labels)
{
	struct bw_labelset *ls = bw_labelset_new();
	char buf[256], *save = NULL;

	if (ns)
		bw_labelset_add(ls, "k8s", "io.kubernetes.pod.namespace", ns);
	if (ns)
		bw_labelset_add(ls, "k8s", "io.cilium.k8s.policy.cluster", "default");
	snprintf(buf, sizeof(buf), "%s", labels ? labels : "");
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');

		*eq = '\0';
		bw_labelset_add(ls, "k8s", t, eq + 1);
	}
	ck_assert_int_eq(bw_resolver_identity_add(R, id, ls), 0);
	bw_labelset_free(ls);
}

static void reserved(void)
{
	static const char *const names[] = { NULL, "host", "world", "unmanaged", "health",
					     "init", "remote-node", "kube-apiserver",
					     "ingress", "world-ipv4", "world-ipv6" };

	for (uint32_t id = 1; id <= 10; id++) {
		struct bw_labelset *ls = bw_labelset_new();

		bw_labelset_add(ls, "reserved", names[id], "");
		if (id == BW_ID_KUBE_APISERVER)
			bw_labelset_add(ls, "reserved", "remote-node", "");
		bw_resolver_identity_add(R, id, ls);
		bw_labelset_free(ls);
	}
}

static void endpoint(uint32_t ep_id, uint32_t identity, const char *ip,
		     const char *portname, uint16_t port)
{
	struct bw_rv_addr a = { 4, { 0 } };
	struct bw_rv_named_port np = { portname, port, 6 };
	struct bw_rv_endpoint_desc d = { .ep_id = ep_id, .ifindex = 100 + ep_id,
					 .identity = identity, .ns = "x", .pod = "p" };

	if (ip) {
		inet_pton(AF_INET, ip, a.addr);
		d.addrs = &a;
		d.naddrs = 1;
	}
	if (portname) {
		d.ports = &np;
		d.nports = 1;
	}
	ck_assert_int_eq(bw_resolver_endpoint_set(R, &d), 0);
}

static struct bw_rv_policy *policy(const char *rules_json, uint32_t ref_base)
{
	char err[512];
	json_error_t jerr;
	json_t *rules = json_loads(rules_json, 0, &jerr);
	struct bw_rv_policy *p;
	uint32_t ref = ref_base;

	ck_assert_msg(rules != NULL, "bad test JSON: %s", jerr.text);
	p = bw_rv_policy_compile(rules, err, sizeof(err));
	ck_assert_msg(p != NULL, "compile: %s", err);
	json_decref(rules);
	for (size_t i = 0; i < p->nrules; i++)
		for (int d = 1; d <= 2; d++)
			for (size_t j = 0; j < p->rules[i].nentries[d]; j++)
				p->rules[i].entries[d][j].rule_ref = ref++;
	p->owner = p;
	ck_assert_int_eq(bw_resolver_policy_add(R, p), 0);
	return p;
}

static const char *compile_error(const char *rules_json)
{
	static char err[512];
	json_t *rules = json_loads(rules_json, 0, NULL);
	struct bw_rv_policy *p = bw_rv_policy_compile(rules, err, sizeof(err));

	json_decref(rules);
	ck_assert_ptr_null(p);
	return err;
}

/* Is there an entry (identity, dir, proto, lo, hi, deny) for ep? */
static int has(uint32_t ep, uint32_t id, int dir, int proto, int lo, int hi, int deny)
{
	for (size_t i = 0; i < S[ep].n; i++) {
		const struct bw_rv_entry *e = &S[ep].e[i];

		if (e->identity == id && e->direction == dir && e->protocol == proto &&
		    e->port_lo == lo && e->port_hi == hi && e->deny == deny)
			return 1;
	}
	return 0;
}

static int has_peer(uint32_t ep, uint32_t id, int dir)
{
	for (size_t i = 0; i < S[ep].n; i++)
		if (S[ep].e[i].identity == id && S[ep].e[i].direction == dir)
			return 1;
	return 0;
}

#define SUBJ_A "{\"match_labels\":{\"k8s:app\":\"a\"}}"
#define SEL(app) "{\"selector\":{\"match_labels\":{\"k8s:app\":\"" app "\"}}}"
#define IN BW_DIR_INGRESS
#define EG BW_DIR_EGRESS

START_TEST(test_allow_from_selector_tcp_port)
{
	reserved();
	ident(1000, "x", "app=a");
	ident(1001, "x", "app=b");
	endpoint(1, 1000, "10.0.0.1", NULL, 0);
	policy("[{\"subject\":" SUBJ_A ",\"default_deny\":{\"ingress\":true},"
	       "\"ingress\":[{\"peers\":[" SEL("b") "],\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}]}]}]",
	       10);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_uint_eq(S[1].flags, BW_EP_F_ENFORCE_INGRESS);
	ck_assert_uint_eq(S[1].n, 1);
	ck_assert(has(1, 1001, IN, 6, 80, 80, 0));
	ck_assert_uint_eq(S[1].e[0].rule_ref, 10);
}
END_TEST

START_TEST(test_deny_beats_allow)
{
	reserved();
	ident(1000, "x", "app=a");
	ident(1001, "x", "app=b");
	endpoint(1, 1000, NULL, NULL, 0);
	/* allow b on TCP 80, deny b on everything: the allow must not survive */
	policy("[{\"subject\":" SUBJ_A ",\"default_deny\":{\"ingress\":true},"
	       "\"ingress\":[{\"peers\":[" SEL("b") "],\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}]},"
	       "{\"deny\":true,\"peers\":[" SEL("b") "]}]}]", 1);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert(has(1, 1001, IN, 0, 0, 0, 1));
	ck_assert(!has(1, 1001, IN, 6, 80, 80, 0));
	ck_assert_uint_eq(S[1].n, 1);
}
END_TEST

START_TEST(test_deny_port_keeps_broader_allow)
{
	reserved();
	ident(1000, "x", "app=a");
	ident(1001, "x", "app=b");
	endpoint(1, 1000, NULL, NULL, 0);
	/* Cilium's example: allow L3, deny 80/TCP: both entries, the LPM prefers the deny */
	policy("[{\"subject\":" SUBJ_A ",\"default_deny\":{\"ingress\":true},"
	       "\"ingress\":[{\"peers\":[" SEL("b") "]},"
	       "{\"deny\":true,\"peers\":[" SEL("b") "],\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}]}]}]",
	       1);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert(has(1, 1001, IN, 0, 0, 0, 0));
	ck_assert(has(1, 1001, IN, 6, 80, 80, 1));
}
END_TEST

START_TEST(test_default_deny_per_direction)
{
	reserved();
	ident(1000, "x", "app=a");
	endpoint(1, 1000, NULL, NULL, 0);
	endpoint(2, 1000, NULL, NULL, 0);
	policy("[{\"subject\":" SUBJ_A ",\"default_deny\":{\"egress\":true}}]", 1);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_uint_eq(S[1].flags, BW_EP_F_ENFORCE_EGRESS);
	ck_assert_uint_eq(S[1].n, 0);
	/* an additive policy (no default deny) changes no flag */
	policy("[{\"subject\":" SUBJ_A ",\"ingress\":[{\"peers\":[{\"entity\":\"world\"}]}]}]", 5);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_uint_eq(S[1].flags, BW_EP_F_ENFORCE_EGRESS);
	{
		void *owners[4];

		ck_assert_uint_eq(bw_resolver_isolating(R, 1, EG, owners, 4), 1);
		ck_assert_uint_eq(bw_resolver_isolating(R, 1, IN, owners, 4), 0);
	}
}
END_TEST

START_TEST(test_deny_without_default_deny_enforces_with_allow_all)
{
	reserved();
	ident(1000, "x", "app=a");
	ident(1001, "x", "app=b");
	endpoint(1, 1000, NULL, NULL, 0);
	policy("[{\"subject\":" SUBJ_A ",\"ingress\":[{\"deny\":true,\"peers\":[" SEL("b") "]}]}]", 1);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_uint_eq(S[1].flags, BW_EP_F_ENFORCE_INGRESS);
	ck_assert(has(1, 1001, IN, 0, 0, 0, 1));
	ck_assert(has(1, 0, IN, 0, 0, 0, 0));
}
END_TEST

START_TEST(test_fqdn_peers_select_identities_by_selector_label)
{
	struct bw_rv_policy *p1, *p2;

	reserved();
	ident(1000, "x", "app=a");
	endpoint(1, 1000, NULL, NULL, 0);
	fqdn_ident(BW_ID_LOCAL_SCOPE + 100, "api.example.com");
	fqdn_ident(BW_ID_LOCAL_SCOPE + 101, "*.cdn.example,api.example.com");
	fqdn_ident(BW_ID_LOCAL_SCOPE + 102, "*.cdn.example");
	p1 = policy("[{\"subject\":" SUBJ_A ",\"default_deny\":{\"egress\":true},"
		    "\"egress\":[{\"peers\":[{\"fqdn\":{\"match_name\":\"API.example.com.\"}}],"
		    "\"ports\":[{\"port\":443,\"protocol\":\"TCP\"}]}]}]", 1);
	ck_assert(fq_in_cache("api.example.com"));
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	/* one entry per identity carrying the selector's label, no others */
	ck_assert(has(1, BW_ID_LOCAL_SCOPE + 100, EG, 6, 443, 443, 0));
	ck_assert(has(1, BW_ID_LOCAL_SCOPE + 101, EG, 6, 443, 443, 0));
	ck_assert(!has_peer(1, BW_ID_LOCAL_SCOPE + 102, EG));
	ck_assert_uint_eq(S[1].n, 2);
	/* a new identity for the selector set reaches the endpoint incrementally */
	fqdn_ident(BW_ID_LOCAL_SCOPE + 103, "api.example.com,other.example");
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert(has(1, BW_ID_LOCAL_SCOPE + 103, EG, 6, 443, 443, 0));
	bw_resolver_identity_remove(R, BW_ID_LOCAL_SCOPE + 100);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert(!has_peer(1, BW_ID_LOCAL_SCOPE + 100, EG));
	/* two policies share the cache entry: the op is called once */
	p2 = policy("[{\"subject\":" SUBJ_A ",\"egress\":[{\"peers\":["
		    "{\"fqdn\":{\"match_pattern\":\"api.example.com\"}},"
		    "{\"fqdn\":{\"match_pattern\":\"*.CDN.example\"}}]}]}]", 10);
	ck_assert(fq_in_cache("*.cdn.example"));
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert(has(1, BW_ID_LOCAL_SCOPE + 102, EG, 0, 0, 0, 0));
	bw_resolver_policy_remove(R, p1);
	ck_assert(fq_in_cache("api.example.com"));
	bw_resolver_policy_remove(R, p2);
	ck_assert(!fq_in_cache("api.example.com"));
	ck_assert(!fq_in_cache("*.cdn.example"));
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_uint_eq(S[1].n, 0);
	/* FQDN identities are world: the world entity and 0.0.0.0/0 select them */
	policy("[{\"subject\":" SUBJ_A ",\"egress\":[{\"peers\":[{\"entity\":\"world\"}]},"
	       "{\"peers\":[{\"cidr\":\"0.0.0.0/0\"}],\"ports\":[{\"port\":53,\"protocol\":\"UDP\"}]}]}]", 20);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert(has(1, BW_ID_LOCAL_SCOPE + 102, EG, 0, 0, 0, 0));
	ck_assert(has(1, BW_ID_LOCAL_SCOPE + 102, EG, 17, 53, 53, 0));
	/* FQDN peers are egress only; selectors are checked */
	ck_assert_str_eq(compile_error("[{\"subject\":{},\"ingress\":[{\"peers\":[{\"fqdn\":{\"match_name\":\"a.example\"}}]}]}]"),
			 "rules[0].ingress[0].peers[0].fqdn: FQDN peers are egress only (the source address of a connection says nothing about the names it has)");
	ck_assert_str_eq(compile_error("[{\"subject\":{},\"egress\":[{\"peers\":[{\"fqdn\":{\"match_name\":\"*.example\"}}]}]}]"),
			 "rules[0].egress[0].peers[0].fqdn.match_name: \"*.example\": '*' is not allowed in a matchName (use matchPattern)");
	ck_assert_str_eq(compile_error("[{\"subject\":{},\"egress\":[{\"peers\":[{\"fqdn\":{}}]}]}]"),
			 "rules[0].egress[0].peers[0].fqdn: must be an object with exactly one of match_name, match_pattern");
}
END_TEST

START_TEST(test_enforcement_modes)
{
	reserved();
	ident(1000, "x", "app=a");
	endpoint(1, 1000, NULL, NULL, 0);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_uint_eq(S[1].flags, 0);
	bw_resolver_set_mode(R, BW_ENFORCE_ALWAYS, 0);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_uint_eq(S[1].flags, BW_EP_F_ENFORCE_INGRESS | BW_EP_F_ENFORCE_EGRESS);
	ck_assert(S[1].stricter);
	policy("[{\"subject\":" SUBJ_A ",\"default_deny\":{\"ingress\":true},"
	       "\"ingress\":[{\"peers\":[{\"entity\":\"host\"}]}]}]", 1);
	bw_resolver_set_mode(R, BW_ENFORCE_NEVER, 1);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_uint_eq(S[1].flags, 0);
	ck_assert_uint_eq(S[1].n, 0);
	bw_resolver_set_mode(R, BW_ENFORCE_DEFAULT, 1);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_uint_eq(S[1].flags, BW_EP_F_ENFORCE_INGRESS | BW_EP_F_AUDIT);
	ck_assert(has(1, BW_ID_HOST, IN, 0, 0, 0, 0));
}
END_TEST

START_TEST(test_entities)
{
	reserved();
	ident(1000, "x", "app=a");
	ident(1001, "y", "app=b");
	endpoint(1, 1000, NULL, NULL, 0);
	policy("[{\"subject\":" SUBJ_A ",\"default_deny\":{\"ingress\":true,\"egress\":true},"
	       "\"ingress\":[{\"peers\":[{\"entity\":\"cluster\"}]}],"
	       "\"egress\":[{\"peers\":[{\"entity\":\"world\"},{\"entity\":\"kube-apiserver\"}]},"
	       "{\"peers\":[{\"entity\":\"none\"}]}]}]", 1);
	policy("[{\"subject\":" SUBJ_A ",\"egress\":[{\"peers\":[{\"entity\":\"all\"}],"
	       "\"ports\":[{\"port\":53,\"protocol\":\"UDP\"}]}]}]", 50);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	/* cluster: reserved 1,3..8 and every endpoint identity; not world */
	ck_assert(has_peer(1, 1, IN));
	for (uint32_t id = 3; id <= 8; id++)
		ck_assert_msg(has_peer(1, id, IN), "cluster lacks %u", id);
	ck_assert(has_peer(1, 1000, IN));
	ck_assert(has_peer(1, 1001, IN));
	ck_assert(!has_peer(1, 2, IN));
	ck_assert(!has_peer(1, 9, IN));
	/* world: 2, 9, 10 */
	ck_assert(has_peer(1, 2, EG));
	ck_assert(has_peer(1, 9, EG));
	ck_assert(has_peer(1, 10, EG));
	ck_assert(has_peer(1, 7, EG));
	ck_assert(!has_peer(1, 1, EG));
	ck_assert(!has_peer(1, 1001, EG));
	/* all: the wildcard identity */
	ck_assert(has(1, 0, EG, 17, 53, 53, 0));
	ck_assert(!bw_resolver_entity_valid("everything"));
	ck_assert_str_eq(compile_error("[{\"subject\":{},\"egress\":[{\"peers\":[{\"entity\":\"everything\"}]}]}]"),
			 "rules[0].egress[0].peers[0].entity: \"everything\" is not an entity (all, world, world-ipv4, world-ipv6, cluster, host, remote-node, kube-apiserver, ingress, init, health, unmanaged, none)");
}
END_TEST

START_TEST(test_cidr_except)
{
	uint32_t id8, id16;

	reserved();
	ident(1000, "x", "app=a");
	endpoint(1, 1000, NULL, NULL, 0);
	/* a CIDR identity learned elsewhere (e.g. another policy) inside the range */
	id8 = next_cidr_id;
	policy("[{\"subject\":" SUBJ_A ",\"default_deny\":{\"egress\":true},"
	       "\"egress\":[{\"peers\":[{\"cidr\":\"10.0.0.0/8\",\"except\":[\"10.1.0.0/16\"]}],"
	       "\"ports\":[{\"port\":443,\"protocol\":\"TCP\"}]}]}]", 1);
	id16 = id8 + 1;
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert(has(1, id8, EG, 6, 443, 443, 0));
	ck_assert(!has_peer(1, id16, EG));
	ck_assert(!has_peer(1, BW_ID_WORLD, EG));
	/* a /24 inside the except and one outside appear later */
	policy("[{\"subject\":{\"match_labels\":{\"k8s:app\":\"nobody\"}},"
	       "\"egress\":[{\"peers\":[{\"cidr\":\"10.1.2.0/24\"},{\"cidr\":\"10.2.2.0/24\"}]}]}]", 100);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert(!has_peer(1, id16 + 1, EG));
	ck_assert(has(1, id16 + 2, EG, 6, 443, 443, 0));
	/* 0.0.0.0/0 selects the world identities, minus nothing */
	policy("[{\"subject\":" SUBJ_A ",\"egress\":[{\"peers\":[{\"cidr\":\"0.0.0.0/0\",\"except\":[\"192.168.0.0/16\"]}],"
	       "\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}]}]}]", 200);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert(has(1, BW_ID_WORLD, EG, 6, 80, 80, 0));
	ck_assert(has(1, BW_ID_WORLD_IPV4, EG, 6, 80, 80, 0));
	ck_assert(!has(1, BW_ID_WORLD_IPV6, EG, 6, 80, 80, 0));
	ck_assert(has(1, id8, EG, 6, 80, 80, 0));
	ck_assert(!has(1, id16 + 3, EG, 6, 80, 80, 0)); /* the 192.168/16 except identity */
	ck_assert_str_eq(compile_error("[{\"subject\":{},\"egress\":[{\"peers\":[{\"cidr\":\"10.0.0.0/33\"}]}]}]"),
			 "rules[0].egress[0].peers[0].cidr: \"10.0.0.0/33\" is not a valid CIDR");
	ck_assert_str_eq(compile_error("[{\"subject\":{},\"egress\":[{\"peers\":[{\"cidr\":\"10.0.0.0/8\",\"except\":[\"11.0.0.0/16\"]}]}]}]"),
			 "rules[0].egress[0].peers[0].except[0]: \"11.0.0.0/16\" is not inside 10.0.0.0/8");
}
END_TEST

START_TEST(test_ipblock_matches_endpoints)
{
	reserved();
	ident(1000, "x", "app=a");
	ident(1001, "x", "app=b");
	ident(1002, "x", "app=c");
	endpoint(1, 1000, "10.0.0.1", NULL, 0);
	endpoint(2, 1001, "10.0.1.5", NULL, 0);
	endpoint(3, 1002, "10.0.2.5", NULL, 0);
	/* Kubernetes ipBlock: pods inside cidr minus except match */
	policy("[{\"subject\":" SUBJ_A ",\"default_deny\":{\"ingress\":true},"
	       "\"ingress\":[{\"peers\":[{\"cidr\":\"10.0.0.0/16\",\"except\":[\"10.0.2.0/24\"],"
	       "\"match_endpoints\":true}]}]}]", 1);
	/* Cilium CIDR: never pods */
	policy("[{\"subject\":" SUBJ_A ",\"egress\":[{\"peers\":[{\"cidr\":\"10.0.0.0/16\"}]}]}]", 10);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert(has_peer(1, 1001, IN));
	ck_assert(!has_peer(1, 1002, IN));
	ck_assert(has_peer(1, 1000, IN));
	ck_assert(!has_peer(1, 1001, EG));
	/* a pod moving into the range is picked up */
	S[1].count = 0;
	endpoint(3, 1002, "10.0.3.5", NULL, 0);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_int_eq(S[1].count, 1);
	ck_assert(has_peer(1, 1002, IN));
}
END_TEST

#define KNP_EXCEPT(cidr, exc)                                                        \
	"[{\"subject\":" SUBJ_A ",\"default_deny\":{\"ingress\":true},"                   \
	"\"ingress\":[{\"peers\":[{\"cidr\":\"" cidr "\",\"except\":[\"" exc "\"],"      \
	"\"match_endpoints\":true}]}]}]"

/* Replicas share an identity; the ipBlock holds one and not the other. */
START_TEST(test_ipblock_splits_replicas)
{
	uint32_t sb;

	reserved();
	ident(1000, "x", "app=a");
	ident(1001, "x", "app=same");
	endpoint(1, 1000, "10.1.0.1", NULL, 0);
	endpoint(2, 1001, "10.244.1.12", NULL, 0);
	endpoint(3, 1001, "10.244.1.13", NULL, 0);
	policy(KNP_EXCEPT("10.244.1.0/24", "10.244.1.13/32"), 1);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	/* x/b's address got an identity of its own, x/c's kept the shared one */
	sb = amap_of("10.244.1.12");
	ck_assert_uint_ne(sb, 0);
	ck_assert_uint_eq(amap_of("10.244.1.13"), 0);
	ck_assert_uint_eq(bw_resolver_split_base(R, sb), 1001);
	ck_assert_uint_eq(splits_alive(), 1);
	/* the ipBlock allows the split identity, never the shared one */
	ck_assert(has_peer(1, sb, IN));
	ck_assert(!has_peer(1, 1001, IN));

	/* a label selector sees the split identity as its base */
	policy("[{\"subject\":" SUBJ_A ",\"egress\":[{\"peers\":[" SEL("same") "]}]}]", 20);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert(has_peer(1, 1001, EG));
	ck_assert(has_peer(1, sb, EG));
}
END_TEST

/* Without except: a host prefix holding one replica. */
START_TEST(test_ipblock_host_prefix_one_replica)
{
	struct bw_rv_policy *p;
	uint32_t sb;

	reserved();
	ident(1000, "x", "app=a");
	ident(1001, "x", "app=same");
	endpoint(1, 1000, "10.1.0.1", NULL, 0);
	endpoint(2, 1001, "10.244.1.12", NULL, 0);
	endpoint(3, 1001, "10.244.1.13", NULL, 0);
	p = policy("[{\"subject\":" SUBJ_A ",\"default_deny\":{\"ingress\":true},"
		   "\"ingress\":[{\"peers\":[{\"cidr\":\"10.244.1.12/32\",\"match_endpoints\":true}]}]}]",
		   1);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	sb = amap_of("10.244.1.12");
	ck_assert_uint_ne(sb, 0);
	ck_assert(has_peer(1, sb, IN));
	ck_assert(!has_peer(1, 1001, IN));
	/* the policy goes: the address maps back, the split identity is released */
	bw_resolver_policy_remove(R, p);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_uint_eq(amap_of("10.244.1.12"), 0);
	ck_assert_uint_eq(NAMAP, 0);
	ck_assert_uint_eq(splits_alive(), 0);
	ck_assert_uint_eq(bw_resolver_split_base(R, sb), 0);
}
END_TEST

/* Every replica inside: no split, the shared identity is selected. */
START_TEST(test_ipblock_all_replicas_inside_no_split)
{
	reserved();
	ident(1000, "x", "app=a");
	ident(1001, "x", "app=same");
	endpoint(1, 1000, "10.1.0.1", NULL, 0);
	endpoint(2, 1001, "10.244.1.12", NULL, 0);
	endpoint(3, 1001, "10.244.1.13", NULL, 0);
	policy(KNP_EXCEPT("10.244.0.0/16", "10.244.9.0/24"), 1);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_uint_eq(NSPLIT, 0);
	ck_assert_uint_eq(NAMAP, 0);
	ck_assert(has_peer(1, 1001, IN));
	/* one replica moves out: now they are split */
	endpoint(3, 1001, "10.244.9.13", NULL, 0);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_uint_ne(amap_of("10.244.1.12"), 0);
	ck_assert_uint_eq(amap_of("10.244.9.13"), 0);
	ck_assert(has_peer(1, amap_of("10.244.1.12"), IN));
	ck_assert(!has_peer(1, 1001, IN));
	/* and back: the split identity goes again */
	endpoint(3, 1001, "10.244.1.13", NULL, 0);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_uint_eq(NAMAP, 0);
	ck_assert_uint_eq(splits_alive(), 0);
	ck_assert(has_peer(1, 1001, IN));
}
END_TEST

/* Many replicas, one signature: one split identity for all of them. */
START_TEST(test_ipblock_one_split_per_signature)
{
	char ip[32];

	reserved();
	ident(1000, "x", "app=a");
	ident(1001, "x", "app=same");
	endpoint(1, 1000, "10.1.0.1", NULL, 0);
	for (uint32_t i = 2; i < 12; i++) {
		snprintf(ip, sizeof(ip), "10.244.1.%u", i);
		endpoint(i, 1001, ip, NULL, 0);
	}
	endpoint(12, 1001, "10.9.9.9", NULL, 0);
	policy(KNP_EXCEPT("10.244.0.0/16", "10.244.2.0/24"), 1);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_uint_eq(splits_alive(), 1);
	ck_assert_uint_eq(NAMAP, 10);
	ck_assert_uint_eq(amap_of("10.9.9.9"), 0);
	ck_assert(!has_peer(1, 1001, IN));
}
END_TEST

/* No split identity to be had: the ipBlock admits no replica (fail closed). */
START_TEST(test_ipblock_split_unavailable_fails_closed)
{
	reserved();
	ident(1000, "x", "app=a");
	ident(1001, "x", "app=same");
	endpoint(1, 1000, "10.1.0.1", NULL, 0);
	endpoint(2, 1001, "10.244.1.12", NULL, 0);
	endpoint(3, 1001, "10.244.1.13", NULL, 0);
	split_fail = 1;
	policy(KNP_EXCEPT("10.244.1.0/24", "10.244.1.13/32"), 1);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_uint_eq(NAMAP, 0);
	ck_assert(!has_peer(1, 1001, IN));
	/* it is tried again on the next flush */
	split_fail = 0;
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_uint_ne(amap_of("10.244.1.12"), 0);
	ck_assert(has_peer(1, amap_of("10.244.1.12"), IN));
}
END_TEST

START_TEST(test_named_ports)
{
	reserved();
	ident(1000, "x", "app=a");
	ident(1001, "x", "app=b");
	ident(1002, "x", "app=c");
	endpoint(1, 1000, NULL, "http", 8080);
	endpoint(2, 1001, NULL, "http", 9090);
	endpoint(3, 1002, NULL, "metrics", 9100);
	/* ingress: the subject's own port; egress: each peer's */
	policy("[{\"subject\":" SUBJ_A ",\"default_deny\":{\"ingress\":true,\"egress\":true},"
	       "\"ingress\":[{\"peers\":[" SEL("b") "],\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\"}]}],"
	       "\"egress\":[{\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\"}]}]}]", 1);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert(has(1, 1001, IN, 6, 8080, 8080, 0));
	ck_assert(has(1, 1001, EG, 6, 9090, 9090, 0));
	ck_assert(has(1, 1000, EG, 6, 8080, 8080, 0));
	ck_assert(!has_peer(1, 1002, EG)); /* no port called http */
	/* a new peer with the name is picked up on egress */
	ident(1003, "x", "app=d");
	endpoint(4, 1003, NULL, "http", 7070);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert(has(1, 1003, EG, 6, 7070, 7070, 0));
}
END_TEST

START_TEST(test_port_ranges_and_icmp)
{
	reserved();
	ident(1000, "x", "app=a");
	endpoint(1, 1000, NULL, NULL, 0);
	policy("[{\"subject\":" SUBJ_A ",\"default_deny\":{\"ingress\":true},"
	       "\"ingress\":[{\"ports\":[{\"port\":80,\"end_port\":90,\"protocol\":\"TCP\"},"
	       "{\"port\":0,\"protocol\":\"UDP\"},{\"port\":5000,\"protocol\":\"ANY\"}]},"
	       "{\"icmps\":[{\"family\":4,\"type\":8},{\"family\":6,\"type\":128}]}]}]", 1);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert(has(1, 0, IN, 6, 80, 87, 0));
	ck_assert(has(1, 0, IN, 6, 88, 89, 0));
	ck_assert(has(1, 0, IN, 6, 90, 90, 0));
	ck_assert(has(1, 0, IN, 17, 0, 0, 0));
	ck_assert(has(1, 0, IN, 132, 5000, 5000, 0));
	ck_assert(has(1, 0, IN, 6, 5000, 5000, 0));
	ck_assert(has(1, 0, IN, 1, 8, 8, 0));
	ck_assert(has(1, 0, IN, 58, 128, 128, 0));
	ck_assert_uint_eq(S[1].n, 9); /* ANY 5000 is TCP, UDP and SCTP */
}
END_TEST

START_TEST(test_incremental_identity_add)
{
	reserved();
	ident(1000, "x", "app=a");
	ident(1001, "x", "app=b");
	ident(1100, "x", "app=other");
	endpoint(1, 1000, NULL, NULL, 0);
	endpoint(2, 1100, NULL, NULL, 0);
	policy("[{\"subject\":" SUBJ_A ",\"default_deny\":{\"ingress\":true},"
	       "\"ingress\":[{\"peers\":[{\"selector\":{\"match_labels\":{\"k8s:role\":\"client\"}}}]}]}]",
	       1);
	policy("[{\"subject\":{\"match_labels\":{\"k8s:app\":\"other\"}},\"default_deny\":{\"ingress\":true},"
	       "\"ingress\":[{\"peers\":[" SEL("b") "]}]}]", 10);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_int_eq(S[1].count, 1);
	ck_assert_int_eq(S[2].count, 1);
	ck_assert_uint_eq(S[1].n, 0);
	/* a new client identity changes endpoint 1 only */
	ident(1002, "x", "app=c,role=client");
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_int_eq(S[1].count, 2);
	ck_assert_int_eq(S[2].count, 1);
	ck_assert(has_peer(1, 1002, IN));
	ck_assert(!S[1].stricter);
	/* and its removal too; that one may cut connections */
	bw_resolver_identity_remove(R, 1002);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_int_eq(S[1].count, 3);
	ck_assert_int_eq(S[2].count, 1);
	ck_assert(!has_peer(1, 1002, IN));
	ck_assert(S[1].stricter);
}
END_TEST

START_TEST(test_policy_remove_and_cidr_release)
{
	struct bw_rv_policy *p;
	struct bw_resolver_stats st;

	reserved();
	ident(1000, "x", "app=a");
	endpoint(1, 1000, NULL, NULL, 0);
	p = policy("[{\"subject\":" SUBJ_A ",\"default_deny\":{\"egress\":true},"
		   "\"egress\":[{\"peers\":[{\"cidr\":\"192.0.2.0/24\"}]}]}]", 1);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert(bw_resolver_identity_known(R, BW_ID_LOCAL_SCOPE + 1));
	ck_assert_uint_eq(bw_resolver_policy_selected(R, p), 1);
	bw_resolver_policy_remove(R, p);
	/* the CIDR identity outlives the entries until the flush wrote them */
	ck_assert(bw_resolver_identity_known(R, BW_ID_LOCAL_SCOPE + 1));
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert(!bw_resolver_identity_known(R, BW_ID_LOCAL_SCOPE + 1));
	ck_assert_uint_eq(S[1].flags, 0);
	ck_assert_uint_eq(S[1].n, 0);
	bw_resolver_stats(R, &st);
	ck_assert_uint_eq(st.selectors, 0);
}
END_TEST

START_TEST(test_compile_errors)
{
	ck_assert_str_eq(compile_error("[{\"ingress\":[]}]"),
			 "rules[0].subject: missing (a selector object)");
	ck_assert_str_eq(compile_error("[{\"subject\":{},\"ingress\":[{\"ports\":[{\"port\":70000}]}]}]"),
			 "rules[0].ingress[0].ports[0].port: must be a number from 0 to 65535");
	ck_assert_str_eq(compile_error("[{\"subject\":{},\"ingress\":[{\"ports\":[{\"port\":80,\"protocol\":\"ICMP\"}]}]}]"),
			 "rules[0].ingress[0].ports[0].protocol: \"ICMP\" is not one of TCP, UDP, SCTP, ANY");
	ck_assert_str_eq(compile_error("[{\"subject\":{},\"egress\":[{\"peers\":[{\"entity\":\"world\",\"cidr\":\"1.0.0.0/8\"}]}]}]"),
			 "rules[0].egress[0].peers[0]: must have exactly one of selector, entity, cidr, fqdn");
	ck_assert_ptr_nonnull(strstr(compile_error("[{\"subject\":{\"match_expressions\":[{\"key\":\"a\",\"operator\":\"Is\"}]}}]"),
				     "rules[0].subject.match_expressions[0].operator"));
}
END_TEST

/* The resolver's part of the benchmark budget: 1,000 rules x 10,000 identities. */
/*
 * The prefix indexes (CIDR identities by prefix, CIDR selectors by prefix)
 * against a brute-force answer: random IPv4 and IPv6 CIDR identities added
 * before and after a policy of random CIDR selectors (with excepts, and
 * /0), then removed and relabelled; after each step every (identity,
 * selector) pair must be in the endpoint's entries exactly when the
 * identity's prefix lies in the selector's and in none of its excepts.
 */
struct xsel {
	int family, plen, eplen;
	uint8_t addr[16], eaddr[16];
};

static int x_within(int fa, const uint8_t *a, int alen, int fb, const uint8_t *b, int blen)
{
	if (fa != fb || alen < blen)
		return 0;
	for (int bit = 0; bit < blen; bit++) {
		int m = 0x80 >> (bit % 8);

		if ((a[bit / 8] & m) != (b[bit / 8] & m))
			return 0;
	}
	return 1;
}

static void x_random_prefix(unsigned *seed, int *family, uint8_t *addr, int *plen, int sel)
{
	static const int p4[] = { 8, 16, 20, 24, 28, 32, 32, 32 };
	static const int p6[] = { 32, 48, 56, 64, 120, 128, 128, 128 };
	int k = rand_r(seed) % 8;

	memset(addr, 0, 16);
	*family = rand_r(seed) % 4 == 0 ? 6 : 4;
	if (*family == 4) {
		addr[0] = 10;
		addr[1] = (uint8_t)(rand_r(seed) % 3);
		addr[2] = (uint8_t)(rand_r(seed) % 3);
		addr[3] = (uint8_t)(rand_r(seed) % 8);
		*plen = p4[k];
	} else {
		addr[0] = 0x20;
		addr[1] = 0x01;
		addr[2] = 0x0d;
		addr[3] = 0xb8;
		addr[5] = (uint8_t)(rand_r(seed) % 3);
		addr[7] = (uint8_t)(rand_r(seed) % 3);
		addr[15] = (uint8_t)(rand_r(seed) % 8);
		*plen = p6[k];
	}
	if (sel && rand_r(seed) % 10 == 0)
		*plen = 0;
	/* clear the host bits */
	for (int bit = *plen; bit < (*family == 4 ? 32 : 128); bit++)
		addr[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
}

static void x_prefix_str(int family, const uint8_t *addr, int plen, char *out, size_t len)
{
	char a[64];

	inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, a, sizeof(a));
	snprintf(out, len, "%s/%d", a, plen);
}

static void x_cidr_ident(uint32_t id, int family, const uint8_t *addr, int plen)
{
	char key[80];
	struct bw_labelset *ls = bw_labelset_new();

	x_prefix_str(family, addr, plen, key, sizeof(key));
	for (char *c = key; family == 6 && *c; c++)
		if (*c == ':')
			*c = '-';
	bw_labelset_add(ls, "cidr", key, "");
	bw_labelset_add(ls, "reserved", "world", "");
	rec_put(id, family, addr, plen);
	ck_assert_int_eq(bw_resolver_identity_add(R, id, ls), 0);
	bw_labelset_free(ls);
}

static void x_verify(const struct xsel *sel, int nsel, const char *step)
{
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	for (size_t i = 0; i < NREC; i++) {
		for (int j = 0; j < nsel; j++) {
			int want = REC[i].alive &&
				   x_within(REC[i].family, REC[i].addr, REC[i].plen, sel[j].family,
					    sel[j].addr, sel[j].plen) &&
				   !(sel[j].eplen &&
				     x_within(REC[i].family, REC[i].addr, REC[i].plen,
					      sel[j].family, sel[j].eaddr, sel[j].eplen));
			int got = has(1, REC[i].id, EG, 6, 2000 + j, 2000 + j, 0);

			ck_assert_msg(want == got, "%s: identity %u (rec %zu) selector %d: want %d got %d",
				      step, REC[i].id, i, j, want, got);
		}
	}
}

START_TEST(test_cidr_prefix_index_crosscheck)
{
	enum { NSEL = 40 };
	struct xsel sel[NSEL];
	unsigned seed = 12345;
	char *json = malloc(64 * 1024), pfx[80], epfx[80];
	size_t off = 0;
	uint32_t id = BW_ID_LOCAL_SCOPE + 100000;

	reserved();
	ident(1000, "x", "app=a");
	endpoint(1, 1000, NULL, NULL, 0);
	for (int i = 0; i < 100; i++) {
		int fam, plen;
		uint8_t a[16];

		x_random_prefix(&seed, &fam, a, &plen, 0);
		x_cidr_ident(id++, fam, a, plen);
	}
	off += (size_t)snprintf(json + off, 64 * 1024 - off,
				"[{\"subject\":" SUBJ_A ",\"egress\":[");
	for (int j = 0; j < NSEL; j++) {
		x_random_prefix(&seed, &sel[j].family, sel[j].addr, &sel[j].plen, 1);
		sel[j].eplen = 0;
		x_prefix_str(sel[j].family, sel[j].addr, sel[j].plen, pfx, sizeof(pfx));
		epfx[0] = '\0';
		if (sel[j].plen < (sel[j].family == 4 ? 24 : 120) && rand_r(&seed) % 2) {
			/* an except: the selector's prefix plus 4 more bits */
			memcpy(sel[j].eaddr, sel[j].addr, 16);
			sel[j].eplen = sel[j].plen + 4;
			sel[j].eaddr[sel[j].plen / 8] |= (uint8_t)((rand_r(&seed) % 2) << (7 - sel[j].plen % 8));
			x_prefix_str(sel[j].family, sel[j].eaddr, sel[j].eplen, epfx, sizeof(epfx));
		}
		off += (size_t)snprintf(json + off, 64 * 1024 - off,
			"%s{\"peers\":[{\"cidr\":\"%s\"%s%s%s}],"
			"\"ports\":[{\"port\":%d,\"protocol\":\"TCP\"}]}",
			j ? "," : "", pfx, epfx[0] ? ",\"except\":[\"" : "", epfx,
			epfx[0] ? "\"]" : "", 2000 + j);
	}
	snprintf(json + off, 64 * 1024 - off, "]}]");
	policy(json, 1);
	x_verify(sel, NSEL, "identities before the policy");
	for (int i = 0; i < 100; i++) {
		int fam, plen;
		uint8_t a[16];

		x_random_prefix(&seed, &fam, a, &plen, 0);
		x_cidr_ident(id++, fam, a, plen);
	}
	x_verify(sel, NSEL, "identities after the policy");
	for (uint32_t k = BW_ID_LOCAL_SCOPE + 100000; k < id; k += 4) {
		bw_resolver_identity_remove(R, k);
		for (size_t i = 0; i < NREC; i++)
			if (REC[i].id == k)
				REC[i].alive = 0;
	}
	x_verify(sel, NSEL, "identities removed");
	for (uint32_t k = BW_ID_LOCAL_SCOPE + 100001; k < id; k += 8) {
		int fam, plen;
		uint8_t a[16];

		x_random_prefix(&seed, &fam, a, &plen, 0);
		x_cidr_ident(k, fam, a, plen); /* relabelled: another prefix */
	}
	x_verify(sel, NSEL, "identities relabelled");
	free(json);
}
END_TEST

START_TEST(test_scale_1000_rules_10000_identities)
{
	struct timespec a, b;
	char buf[512];
	double ms;

	reserved();
	for (uint32_t i = 0; i < 10000; i++) {
		snprintf(buf, sizeof(buf), "app=app%u,tier=t%u", i % 1000, i % 7);
		ident(1000 + i, i % 2 ? "x" : "y", buf);
	}
	for (uint32_t e = 1; e < 8; e++)
		endpoint(e, 1000 + e * 3, NULL, NULL, 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 1000; i++) {
		snprintf(buf, sizeof(buf),
			 "[{\"subject\":{\"match_labels\":{\"k8s:app\":\"app%d\"}},"
			 "\"default_deny\":{\"ingress\":true},\"ingress\":[{\"peers\":["
			 "{\"selector\":{\"match_labels\":{\"k8s:app\":\"app%d\"}}}],"
			 "\"ports\":[{\"port\":%d,\"protocol\":\"TCP\"}]}]}]",
			 i, (i + 1) % 1000, 1000 + i);
		policy(buf, 1 + (uint32_t)i);
	}
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
	printf("resolve 1000 rules x 10000 identities: %.1f ms\n", ms);
	/* endpoint 1 has identity 1003 = app3: peers are app4 identities (10) */
	ck_assert_uint_eq(S[1].n, 10);
}
END_TEST

/* ---- L7 ports: redirect entries and their contributions ---------------- */

static uint8_t t_proxy_class(void *arg, const char *name)
{
	return strcmp(name, "r2d2") == 0 ? BW_PROXY_CLASS_NAMED : 0;
}

/* The proxy class of the entry (identity, dir, proto, lo, hi); -1 if none. */
static int redirect_of(uint32_t ep, uint32_t id, int dir, int proto, int lo, int hi)
{
	for (size_t i = 0; i < S[ep].n; i++) {
		const struct bw_rv_entry *e = &S[ep].e[i];

		if (e->identity == id && e->direction == dir && e->protocol == proto &&
		    e->port_lo == lo && e->port_hi == hi && !e->deny)
			return e->proxy_class;
	}
	return -1;
}

/* How many L7 contributions of ep match (id, dir, proto, port), and how
 * many of them are allow_all. */
static size_t l7_count(uint32_t ep, uint32_t id, int dir, int proto, int port, size_t *all)
{
	const struct bw_rv_l7 *l7;
	size_t n, k = 0;

	*all = 0;
	ck_assert_int_eq(bw_resolver_endpoint_l7(R, ep, &l7, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (l7[i].identity == id && l7[i].direction == dir && l7[i].protocol == proto &&
		    port >= l7[i].port_lo && port <= l7[i].port_hi) {
			k++;
			if (l7[i].allow_all)
				(*all)++;
		}
	return k;
}

#define HTTP_GET "\"rules\":{\"http\":[{\"method\":\"GET\"}]}"

START_TEST(test_l7_port_is_a_redirect_entry)
{
	size_t all;

	reserved();
	ident(1000, "x", "app=a");
	ident(1001, "x", "app=b");
	endpoint(1, 1000, NULL, NULL, 0);
	policy("[{\"subject\":" SUBJ_A ",\"default_deny\":{\"ingress\":true,\"egress\":true},"
	       "\"ingress\":[{\"peers\":[" SEL("b") "],\"ports\":[{\"port\":80,\"protocol\":\"TCP\"," HTTP_GET "}]}],"
	       "\"egress\":[{\"ports\":[{\"port\":53,\"protocol\":\"ANY\",\"rules\":{\"dns\":[{\"matchPattern\":\"*\"}]}},"
	       "{\"port\":8080,\"protocol\":\"ANY\"," HTTP_GET "}]}]}]",
	       1);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_int_eq(redirect_of(1, 1001, IN, 6, 80, 80), BW_PROXY_CLASS_HTTP);
	/* DNS on ANY: TCP and UDP redirect to the DNS proxy, SCTP gets nothing */
	ck_assert_int_eq(redirect_of(1, 0, EG, 17, 53, 53), BW_PROXY_CLASS_DNS);
	ck_assert_int_eq(redirect_of(1, 0, EG, 6, 53, 53), BW_PROXY_CLASS_DNS);
	ck_assert_int_eq(redirect_of(1, 0, EG, 132, 53, 53), -1);
	/* HTTP on ANY: TCP only */
	ck_assert_int_eq(redirect_of(1, 0, EG, 6, 8080, 8080), BW_PROXY_CLASS_HTTP);
	ck_assert_int_eq(redirect_of(1, 0, EG, 17, 8080, 8080), -1);
	ck_assert_uint_eq(S[1].n, 4);
	ck_assert_uint_eq(l7_count(1, 1001, IN, 6, 80, &all), 1);
	ck_assert_uint_eq(all, 0);
}
END_TEST

START_TEST(test_l7_rules_of_a_port_are_ored_and_deny_wins)
{
	size_t all;

	reserved();
	ident(1000, "x", "app=a");
	ident(1001, "x", "app=b");
	ident(1002, "x", "app=c");
	endpoint(1, 1000, NULL, NULL, 0);
	/* two rules redirect b's port 80 (OR-ed); a deny of c beats the redirect */
	policy("[{\"subject\":" SUBJ_A ",\"default_deny\":{\"ingress\":true},"
	       "\"ingress\":[{\"peers\":[" SEL("b") "," SEL("c") "],\"ports\":[{\"port\":80,\"protocol\":\"TCP\"," HTTP_GET "}]},"
	       "{\"ports\":[{\"port\":80,\"protocol\":\"TCP\",\"rules\":{\"http\":[{\"path\":\"/x\"}]}}]},"
	       "{\"deny\":true,\"peers\":[" SEL("c") "],\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}]}]}]",
	       10);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_int_eq(redirect_of(1, 1001, IN, 6, 80, 80), BW_PROXY_CLASS_HTTP);
	ck_assert_int_eq(redirect_of(1, 0, IN, 6, 80, 80), BW_PROXY_CLASS_HTTP);
	ck_assert(has(1, 1002, IN, 6, 80, 80, 1));
	ck_assert_int_eq(redirect_of(1, 1002, IN, 6, 80, 80), -1);
	/* b's connection: its own rule and the any-peer rule */
	ck_assert_uint_eq(l7_count(1, 1001, IN, 6, 80, &all) + l7_count(1, 0, IN, 6, 80, &all), 2);
}
END_TEST

START_TEST(test_l7_plain_allow_of_the_same_port_allows_all)
{
	size_t all;

	reserved();
	ident(1000, "x", "app=a");
	ident(1001, "x", "app=b");
	endpoint(1, 1000, NULL, NULL, 0);
	/* Cilium: an L4 rule and an L4+L7 rule for the same port and peer:
	 * still redirected, every request allowed (an allow_all contribution) */
	policy("[{\"subject\":" SUBJ_A ",\"default_deny\":{\"ingress\":true},"
	       "\"ingress\":[{\"peers\":[" SEL("b") "],\"ports\":[{\"port\":80,\"protocol\":\"TCP\"," HTTP_GET "}]},"
	       "{\"peers\":[" SEL("b") "],\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}]}]}]",
	       20);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_int_eq(redirect_of(1, 1001, IN, 6, 80, 80), BW_PROXY_CLASS_HTTP);
	ck_assert_uint_eq(S[1].n, 1);
	ck_assert_uint_eq(l7_count(1, 1001, IN, 6, 80, &all), 2);
	ck_assert_uint_eq(all, 1);
}
END_TEST

START_TEST(test_l7_without_default_deny_still_redirects)
{
	reserved();
	ident(1000, "x", "app=a");
	endpoint(1, 1000, NULL, NULL, 0);
	/* enableDefaultDeny: false with an L7 port: the direction is enforced
	 * (the redirect applies) with an allow-everything entry under it */
	policy("[{\"subject\":" SUBJ_A ",\"default_deny\":{\"egress\":false},"
	       "\"egress\":[{\"ports\":[{\"port\":80,\"protocol\":\"TCP\"," HTTP_GET "}]}]}]",
	       1);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_uint_eq(S[1].flags, BW_EP_F_ENFORCE_EGRESS);
	ck_assert_int_eq(redirect_of(1, 0, EG, 6, 80, 80), BW_PROXY_CLASS_HTTP);
	ck_assert(has(1, 0, EG, 0, 0, 0, 0));
}
END_TEST

START_TEST(test_l7_port_ranges_stay_blocks)
{
	size_t all;

	reserved();
	ident(1000, "x", "app=a");
	endpoint(1, 1000, NULL, NULL, 0);
	policy("[{\"subject\":" SUBJ_A ",\"default_deny\":{\"egress\":true},"
	       "\"egress\":[{\"ports\":[{\"port\":8000,\"end_port\":8999,\"protocol\":\"TCP\"," HTTP_GET "}]}]}]",
	       1);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	/* 8000-8999: aligned blocks, not 1000 entries */
	ck_assert_uint_le(S[1].n, 16);
	for (size_t i = 0; i < S[1].n; i++)
		ck_assert_int_eq(S[1].e[i].proxy_class, BW_PROXY_CLASS_HTTP);
	ck_assert_uint_eq(l7_count(1, 0, EG, 6, 8500, &all), 1);
	ck_assert_uint_eq(l7_count(1, 0, EG, 6, 9000, &all), 0);
}
END_TEST

START_TEST(test_l7proto_class_and_named_ports)
{
	struct bw_resolver_ops ops = { .sync = t_sync, .cidr_acquire = t_cidr_acquire,
				       .cidr_release = t_cidr_release,
				       .proxy_class = t_proxy_class };

	bw_resolver_free(R);
	R = bw_resolver_new(&ops);
	reserved();
	ident(1000, "x", "app=a");
	endpoint(1, 1000, NULL, "r2d2", 4040);
	policy("[{\"subject\":" SUBJ_A ",\"default_deny\":{\"ingress\":true},"
	       "\"ingress\":[{\"ports\":[{\"name\":\"r2d2\",\"protocol\":\"TCP\",\"rules\":{\"l7proto\":\"r2d2\",\"l7\":[{\"cmd\":\"READ\"}]}},"
	       "{\"port\":5000,\"protocol\":\"TCP\",\"rules\":{\"l7proto\":\"unknown\"}}]}]}]",
	       1);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_int_eq(redirect_of(1, 0, IN, 6, 4040, 4040), BW_PROXY_CLASS_NAMED);
	/* a protocol without a class allows nothing (fail closed) */
	ck_assert_int_eq(redirect_of(1, 0, IN, 6, 5000, 5000), -1);
	ck_assert_uint_eq(S[1].n, 1);
}
END_TEST

/* ---- proxy visibility (an endpoint setting) ------------------------------- */

static void endpoint_vis(uint32_t ep_id, uint32_t identity, const struct bw_rv_visibility *v,
			 size_t n)
{
	struct bw_rv_endpoint_desc d = { .ep_id = ep_id, .ifindex = 100 + ep_id,
					 .identity = identity, .ns = "x", .pod = "p",
					 .vis = v, .nvis = n };

	ck_assert_int_eq(bw_resolver_endpoint_set(R, &d), 0);
}

/* The visibility flag of entry (id, dir, proto, port, port); -1 if none. */
static int vis_of(uint32_t ep, uint32_t id, int dir, int proto, int port)
{
	for (size_t i = 0; i < S[ep].n; i++) {
		const struct bw_rv_entry *e = &S[ep].e[i];

		if (e->identity == id && e->direction == dir && e->protocol == proto &&
		    e->port_lo == port && e->port_hi == port)
			return e->visibility;
	}
	return -1;
}

START_TEST(test_visibility_entries)
{
	struct bw_rv_visibility v[] = {
		{ .direction = IN, .protocol = 6, .port = 80, .proxy_class = BW_PROXY_CLASS_HTTP },
		{ .direction = IN, .protocol = 6, .port = 85, .proxy_class = BW_PROXY_CLASS_HTTP },
		{ .direction = IN, .protocol = 6, .port = 443, .proxy_class = BW_PROXY_CLASS_HTTP },
		{ .direction = IN, .protocol = 6, .port = 22, .proxy_class = BW_PROXY_CLASS_HTTP },
	};

	reserved();
	ident(1000, "x", "app=a");
	ident(1001, "x", "app=b");
	endpoint_vis(1, 1000, v, 4);
	/* b may use 80 (identity-specific); anyone 85 (exact key) and 443-450
	 * (a range); nobody 22 (deny) */
	policy("[{\"subject\":" SUBJ_A ",\"default_deny\":{\"ingress\":true},"
	       "\"ingress\":[{\"peers\":[" SEL("b") "],\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}]},"
	       "{\"ports\":[{\"port\":85,\"protocol\":\"TCP\"},{\"port\":443,\"end_port\":450,\"protocol\":\"TCP\"}]},"
	       "{\"deny\":true,\"ports\":[{\"port\":22,\"protocol\":\"TCP\"}]}]}]",
	       1);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	/* 80: nothing of identity 0 covers it: a no-verdict visibility entry */
	ck_assert_int_eq(vis_of(1, 0, IN, 6, 80), 1);
	ck_assert_int_eq(redirect_of(1, 0, IN, 6, 80, 80), BW_PROXY_CLASS_HTTP);
	ck_assert_int_eq(redirect_of(1, 1001, IN, 6, 80, 80), 0); /* b's allow stays plain */
	/* 85: the any-peer allow of that very port redirects now */
	ck_assert_int_eq(vis_of(1, 0, IN, 6, 85), 0);
	ck_assert_int_eq(redirect_of(1, 0, IN, 6, 85, 85), BW_PROXY_CLASS_HTTP);
	/* 443: inside the any-peer range: a redirecting allow at that port */
	ck_assert_int_eq(vis_of(1, 0, IN, 6, 443), 0);
	ck_assert_int_eq(redirect_of(1, 0, IN, 6, 443, 443), BW_PROXY_CLASS_HTTP);
	/* 22: denied: nothing added, the deny stays */
	ck_assert(has(1, 0, IN, 6, 22, 22, 1));
	ck_assert_int_eq(redirect_of(1, 0, IN, 6, 22, 22), -1);
}
END_TEST

START_TEST(test_visibility_on_an_unenforced_direction)
{
	struct bw_rv_visibility v[] = {
		{ .direction = EG, .protocol = 0, .port = 53, .proxy_class = BW_PROXY_CLASS_DNS },
	};

	reserved();
	ident(1000, "x", "app=a");
	endpoint_vis(1, 1000, v, 1);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	/* enforced with an allow-everything entry, DNS on TCP and UDP redirected */
	ck_assert_uint_eq(S[1].flags, BW_EP_F_ENFORCE_EGRESS);
	ck_assert(has(1, 0, EG, 0, 0, 0, 0));
	ck_assert_int_eq(redirect_of(1, 0, EG, 6, 53, 53), BW_PROXY_CLASS_DNS);
	ck_assert_int_eq(redirect_of(1, 0, EG, 17, 53, 53), BW_PROXY_CLASS_DNS);
	ck_assert_uint_eq(S[1].n, 3);
	/* cleared: back to nothing */
	endpoint_vis(1, 1000, NULL, 0);
	ck_assert_int_eq(bw_resolver_flush(R), 0);
	ck_assert_uint_eq(S[1].flags, 0);
	ck_assert_uint_eq(S[1].n, 0);
}
END_TEST

START_TEST(test_l7_compile_errors)
{
	ck_assert_str_eq(compile_error("[{\"subject\":{},\"ingress\":[{\"ports\":[{\"port\":80,\"protocol\":\"UDP\"," HTTP_GET "}]}]}]"),
			 "rules[0].ingress[0].ports[0].protocol: http rules need TCP or ANY");
	ck_assert_str_eq(compile_error("[{\"subject\":{},\"ingress\":[{\"ports\":[{\"port\":0,\"protocol\":\"TCP\"," HTTP_GET "}]}]}]"),
			 "rules[0].ingress[0].ports[0].port: L7 rules need a port (not 0)");
	ck_assert_str_eq(compile_error("[{\"subject\":{},\"egress\":[{\"ports\":[{\"port\":53,\"end_port\":54,\"rules\":{\"dns\":[]}}]}]}]"),
			 "rules[0].egress[0].ports[0].end_port: DNS rules take a single port, not a range");
	ck_assert_str_eq(compile_error("[{\"subject\":{},\"egress\":[{\"ports\":[{\"port\":53,\"rules\":{\"dns\":[],\"http\":[]}}]}]}]"),
			 "rules[0].egress[0].ports[0].rules: must have exactly one of dns, http, kafka, l7proto");
	ck_assert_str_eq(compile_error("[{\"subject\":{},\"egress\":[{\"ports\":[{\"port\":53,\"rules\":{\"ftp\":[]}}]}]}]"),
			 "rules[0].egress[0].ports[0].rules.ftp: unknown kind of L7 rules (dns, http, kafka, l7proto)");
	ck_assert_str_eq(compile_error("[{\"subject\":{},\"egress\":[{\"ports\":[{\"port\":53,\"rules\":{\"dns\":[1]}}]}]}]"),
			 "rules[0].egress[0].ports[0].rules.dns[0]: must be an object");
}
END_TEST

static Suite *resolver_suite(void)
{
	Suite *s = suite_create("resolver");
	TCase *tc = tcase_create("semantics");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_allow_from_selector_tcp_port);
	tcase_add_test(tc, test_deny_beats_allow);
	tcase_add_test(tc, test_deny_port_keeps_broader_allow);
	tcase_add_test(tc, test_default_deny_per_direction);
	tcase_add_test(tc, test_deny_without_default_deny_enforces_with_allow_all);
	tcase_add_test(tc, test_enforcement_modes);
	tcase_add_test(tc, test_fqdn_peers_select_identities_by_selector_label);
	tcase_add_test(tc, test_entities);
	tcase_add_test(tc, test_cidr_except);
	tcase_add_test(tc, test_ipblock_matches_endpoints);
	tcase_add_test(tc, test_ipblock_splits_replicas);
	tcase_add_test(tc, test_ipblock_host_prefix_one_replica);
	tcase_add_test(tc, test_ipblock_all_replicas_inside_no_split);
	tcase_add_test(tc, test_ipblock_one_split_per_signature);
	tcase_add_test(tc, test_ipblock_split_unavailable_fails_closed);
	tcase_add_test(tc, test_named_ports);
	tcase_add_test(tc, test_port_ranges_and_icmp);
	tcase_add_test(tc, test_incremental_identity_add);
	tcase_add_test(tc, test_policy_remove_and_cidr_release);
	tcase_add_test(tc, test_compile_errors);
	tcase_add_test(tc, test_l7_port_is_a_redirect_entry);
	tcase_add_test(tc, test_l7_rules_of_a_port_are_ored_and_deny_wins);
	tcase_add_test(tc, test_l7_plain_allow_of_the_same_port_allows_all);
	tcase_add_test(tc, test_l7_without_default_deny_still_redirects);
	tcase_add_test(tc, test_l7_port_ranges_stay_blocks);
	tcase_add_test(tc, test_l7proto_class_and_named_ports);
	tcase_add_test(tc, test_l7_compile_errors);
	tcase_add_test(tc, test_visibility_entries);
	tcase_add_test(tc, test_visibility_on_an_unenforced_direction);
	tcase_add_test(tc, test_cidr_prefix_index_crosscheck);
	tcase_add_test(tc, test_scale_1000_rules_10000_identities);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(resolver_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
