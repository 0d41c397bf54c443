/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/flow/flow.c - the flow pipeline: ring buffer consumer, decoding of
 * struct bw_event, enrichment, the flow ring and its subscribers.
 *
 * Each ring buffer record becomes one struct bw_flow. The record is built
 * on the stack with borrowed strings (endpoint, identity and policy data
 * owned by the registries), then deep-copied into a single allocation that
 * the flow ring owns, so a stored flow never points into state that may
 * change later. Subscribers see the stored copy.
 *
 * The enrichment lookups come through struct bw_flow_sources so that this
 * file depends on nothing but the datapath header: the daemon installs the
 * real ones (core/flow/flowenrich.c), unit tests install fakes.
 *
 * Everything runs on the loop thread. The ring buffer callback handles a
 * bounded batch per wake-up so that a flood of events cannot starve the
 * control API; the rest is read on the next loop iteration.
 *
 * The datapath submits records without a wake-up until the ring holds
 * BW_EVENTS_WAKEUP_BYTES (bpf/lib/events.h), so the reader also drains the
 * ring every FLOW_POLL_MS: an event reaches the flow ring (and
 * `observe --follow`) at most that much later, and a busy ring costs one
 * wake-up per batch instead of one per event.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <event2/event.h>

#include "bpf/bw_datapath.h"
#include "core/flow/flow.h"
#include "core/flow/flow_int.h"
#include "lib/dropreason.h"
#include "lib/flowjson.h"
#include "core/log.h"

#define FLOW_BATCH 4096        /* records per loop wake-up */
#define FLOW_POLL_MS 20        /* ring buffer drained at least this often */
#define FLOW_LABELS_MAX BW_FLOW_LABELS_MAX /* labels kept per side */
#define FLOW_ISOLATING_MAX 32  /* policies named by one default-deny drop */

struct flow_sub {
	int id;
	const void *owner;
	bw_flow_cb cb;
	void *ud;
	void (*free_fn)(void *);
	int dead;
};

static struct {
	struct bw_flow_sources src;
	char node_name[256];

	/* the ring: seq -> slot[seq % cap]; seq starts at 1 */
	struct bw_flow **slot;
	size_t *slot_size;     /* bytes allocated for each slot (no read of a
				* cold malloc header per flow) */
	struct bw_flow *spare; /* the last evicted flow's memory, for the next one */
	size_t spare_size;
	uint32_t cap;
	uint64_t next;

	struct flow_sub *subs;
	size_t nsubs;
	int next_sub_id;
	int dispatching;
	int reap;

	struct bw_flow_stats stats;
	void (*lost_fn)(const char *source, uint64_t n);
	uint64_t lost_seen;   /* datapath counter at the last check */
	int lost_primed;

	int64_t mono_to_real; /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
	uint64_t rng[2];

	struct ring_buffer *rb;
	struct event *rb_ev;
	struct event *tick_ev;
	struct event *poll_ev;
	unsigned batch;
} fl = { .next = 1, .next_sub_id = 1 };

/* ---- small helpers -------------------------------------------------------- */

static uint64_t
flow_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
flow_clock_sync(void)
{
	/* bpf_ktime_get_ns() is CLOCK_MONOTONIC; re-read to follow clock steps */
	uint64_t m1 = flow_clock_ns(CLOCK_MONOTONIC);
	uint64_t r = flow_clock_ns(CLOCK_REALTIME);
	uint64_t m2 = flow_clock_ns(CLOCK_MONOTONIC);

	fl.mono_to_real = (int64_t)r - (int64_t)(m1 + (m2 - m1) / 2);
}

static uint64_t
flow_rand(void)
{
	/* xorshift128+: UUIDs need uniqueness, not secrecy */
	uint64_t s1 = fl.rng[0];
	const uint64_t s0 = fl.rng[1];

	if (fl.rng[0] == 0 && fl.rng[1] == 0) {
		if (getrandom(fl.rng, sizeof(fl.rng), 0) != sizeof(fl.rng)) {
			fl.rng[0] = flow_clock_ns(CLOCK_REALTIME) ^ (uint64_t)getpid();
			fl.rng[1] = flow_clock_ns(CLOCK_MONOTONIC) | 1;
		}
		return flow_rand();
	}
	fl.rng[0] = s0;
	s1 ^= s1 << 23;
	fl.rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
	return fl.rng[1] + s0;
}

static void
flow_uuid(char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	uint64_t a = flow_rand(), c = flow_rand();
	size_t o = 0;

	if (len < 37) {
		if (len > 0)
			out[0] = '\0';
		return;
	}
	memcpy(b, &a, 8);
	memcpy(b + 8, &c, 8);
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	/* 8-4-4-4-12 hex digits, without snprintf (one per flow) */
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}

void
bw_flow_set_sources(const struct bw_flow_sources *src)
{
	if (src != NULL)
		fl.src = *src;
	else
		memset(&fl.src, 0, sizeof(fl.src));
	fl.lost_primed = 0;
}

void
bw_flow_set_node_name(const char *name)
{
	if (name != NULL && *name != '\0') {
		snprintf(fl.node_name, sizeof(fl.node_name), "%s", name);
		return;
	}
	if (gethostname(fl.node_name, sizeof(fl.node_name) - 1) < 0)
		snprintf(fl.node_name, sizeof(fl.node_name), "localhost");
	fl.node_name[sizeof(fl.node_name) - 1] = '\0';
}

const char *
bw_flow_node_name(void)
{
	if (fl.node_name[0] == '\0')
		bw_flow_set_node_name(NULL);
	return fl.node_name;
}

int
bw_flow_monitor_level(const char *name)
{
	static const struct {
		const char *name;
		int level;
	} t[] = {
		{"none", BW_MONITOR_NONE}, {"disabled", BW_MONITOR_NONE},
		{"", BW_MONITOR_NONE}, {"0", BW_MONITOR_NONE},
		{"lowest", BW_MONITOR_LOWEST}, {"1", BW_MONITOR_LOWEST},
		{"low", BW_MONITOR_LOW}, {"2", BW_MONITOR_LOW},
		{"medium", BW_MONITOR_MEDIUM}, {"3", BW_MONITOR_MEDIUM},
		{"maximum", BW_MONITOR_MAX}, {"max", BW_MONITOR_MAX},
		{"4", BW_MONITOR_MAX},
	};

	if (name == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(name, t[i].name) == 0)
			return t[i].level;
	return -1;
}

/* ---- deep copy into one allocation ------------------------------------------ */

/*
 * The same code measures (base == NULL) and copies (into base, at most
 * cap bytes). A copy that does not fit writes nothing past cap and leaves
 * off at the size it needs: the caller then makes room and copies again.
 * The ring copies into the spare flow's memory first, so the usual flow
 * takes one pass, not a measuring pass and a copying pass.
 */
struct flow_copy {
	char *base;
	size_t off, cap;
};

static void *
fc_alloc(struct flow_copy *c, size_t n, size_t align)
{
	void *p;

	c->off = (c->off + align - 1) & ~(align - 1);
	p = c->base != NULL && c->off + n <= c->cap ? c->base + c->off : NULL;
	c->off += n;
	return p;
}

static const char *
fc_str(struct flow_copy *c, const char *s)
{
	size_t n;
	char *p;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	p = fc_alloc(c, n, 1);
	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

static const char *const *
fc_strv(struct flow_copy *c, const char *const *v, uint32_t n)
{
	const char **a;

	if (v == NULL || n == 0)
		return NULL;
	a = fc_alloc(c, n * sizeof(*a), alignof(const char *));
	for (uint32_t i = 0; i < n; i++) {
		const char *s = fc_str(c, v[i]);

		if (a != NULL)
			a[i] = s;
	}
	return a;
}

static void
fc_endpoint(struct flow_copy *c, struct bw_flow_endpoint *d,
	    const struct bw_flow_endpoint *s)
{
	d->ns = fc_str(c, s->ns);
	d->pod_name = fc_str(c, s->pod_name);
	d->labels = fc_strv(c, s->labels, s->n_labels);
	d->n_labels = d->labels != NULL ? s->n_labels : 0;
	d->workload_name = fc_str(c, s->workload_name);
	d->workload_kind = fc_str(c, s->workload_kind);
}

static const struct bw_flow_policy *
fc_policies(struct flow_copy *c, const struct bw_flow_policy *p, uint32_t n)
{
	struct bw_flow_policy *a, tmp;

	if (p == NULL || n == 0)
		return NULL;
	a = fc_alloc(c, n * sizeof(*a), alignof(struct bw_flow_policy));
	for (uint32_t i = 0; i < n; i++) {
		tmp = p[i];
		tmp.name = fc_str(c, p[i].name);
		tmp.ns = fc_str(c, p[i].ns);
		tmp.kind = fc_str(c, p[i].kind);
		tmp.labels = fc_strv(c, p[i].labels, p[i].n_labels);
		tmp.n_labels = tmp.labels != NULL ? p[i].n_labels : 0;
		if (a != NULL)
			a[i] = tmp;
	}
	return a;
}

static const struct bw_flow_kv *
fc_kv(struct flow_copy *c, const struct bw_flow_kv *v, uint32_t n)
{
	struct bw_flow_kv *a;

	if (v == NULL || n == 0)
		return NULL;
	a = fc_alloc(c, n * sizeof(*a), alignof(struct bw_flow_kv));
	for (uint32_t i = 0; i < n; i++) {
		const char *k = fc_str(c, v[i].key), *val = fc_str(c, v[i].value);

		if (a != NULL) {
			a[i].key = k;
			a[i].value = val;
		}
	}
	return a;
}

/* The L7 record, copied at our size (a shorter one from a module too). */
static const struct bw_flow_l7 *
fc_l7(struct flow_copy *c, const struct bw_flow_l7 *s)
{
	struct bw_flow_l7 t, *d;

	if (s == NULL)
		return NULL;
	memset(&t, 0, sizeof(t));
	memcpy(&t, s, s->size < sizeof(t) ? s->size : sizeof(t));
	d = fc_alloc(c, sizeof(*d), alignof(struct bw_flow_l7));
	if (t.http != NULL) {
		struct bw_flow_http *h = fc_alloc(c, sizeof(*h), alignof(struct bw_flow_http));
		struct bw_flow_http ht = *t.http;

		ht.method = fc_str(c, t.http->method);
		ht.url = fc_str(c, t.http->url);
		ht.protocol = fc_str(c, t.http->protocol);
		ht.headers = fc_kv(c, t.http->headers, t.http->n_headers);
		ht.n_headers = ht.headers != NULL ? t.http->n_headers : 0;
		if (h != NULL)
			*h = ht;
		t.http = h;
	}
	if (t.dns != NULL) {
		struct bw_flow_dns *q = fc_alloc(c, sizeof(*q), alignof(struct bw_flow_dns));
		struct bw_flow_dns qt = *t.dns;

		qt.query = fc_str(c, t.dns->query);
		qt.ips = fc_strv(c, t.dns->ips, t.dns->n_ips);
		qt.n_ips = qt.ips != NULL ? t.dns->n_ips : 0;
		qt.cnames = fc_strv(c, t.dns->cnames, t.dns->n_cnames);
		qt.n_cnames = qt.cnames != NULL ? t.dns->n_cnames : 0;
		qt.observation_source = fc_str(c, t.dns->observation_source);
		qt.qtypes = fc_strv(c, t.dns->qtypes, t.dns->n_qtypes);
		qt.n_qtypes = qt.qtypes != NULL ? t.dns->n_qtypes : 0;
		qt.rrtypes = fc_strv(c, t.dns->rrtypes, t.dns->n_rrtypes);
		qt.n_rrtypes = qt.rrtypes != NULL ? t.dns->n_rrtypes : 0;
		if (q != NULL)
			*q = qt;
		t.dns = q;
	}
	if (t.kafka != NULL) {
		struct bw_flow_kafka *k = fc_alloc(c, sizeof(*k), alignof(struct bw_flow_kafka));
		struct bw_flow_kafka kt = *t.kafka;

		kt.api_key = fc_str(c, t.kafka->api_key);
		kt.topic = fc_str(c, t.kafka->topic);
		if (k != NULL)
			*k = kt;
		t.kafka = k;
	}
	t.proto = fc_str(c, t.proto);
	t.fields = fc_kv(c, t.fields, t.n_fields);
	t.n_fields = t.fields != NULL ? t.n_fields : 0;
	t.size = sizeof(t);
	if (d != NULL)
		*d = t;
	return d;
}

static void
fc_flow(struct flow_copy *c, struct bw_flow *d, const struct bw_flow *s)
{
	d->node_name = fc_str(c, s->node_name);
	d->drop_reason_desc = fc_str(c, s->drop_reason_desc);
	fc_endpoint(c, &d->source, &s->source);
	fc_endpoint(c, &d->destination, &s->destination);
	d->ifname = fc_str(c, s->ifname);
	d->summary = fc_str(c, s->summary);
	d->extensions_json = fc_str(c, s->extensions_json);
#define FC_POL(m)                                                      \
	do {                                                           \
		d->m = fc_policies(c, s->m, s->n_##m);                 \
		d->n_##m = d->m != NULL ? s->n_##m : 0;                \
	} while (0)
	FC_POL(ingress_allowed_by);
	FC_POL(egress_allowed_by);
	FC_POL(ingress_denied_by);
	FC_POL(egress_denied_by);
	FC_POL(isolated_by);
	FC_POL(staged_by);
#undef FC_POL
	d->l7 = fc_l7(c, s->l7);
	d->verdict_by = fc_str(c, s->verdict_by);
	d->verdict_reason = fc_str(c, s->verdict_reason);
	d->source_names = fc_strv(c, s->source_names, s->n_source_names);
	d->n_source_names = d->source_names != NULL ? s->n_source_names : 0;
	d->destination_names = fc_strv(c, s->destination_names, s->n_destination_names);
	d->n_destination_names = d->destination_names != NULL ? s->n_destination_names : 0;
}

static size_t
flow_clone_size(const struct bw_flow *s)
{
	struct flow_copy c = { NULL, 0, 0 };
	struct bw_flow dummy = *s;

	fc_flow(&c, &dummy, s); /* measure */
	return sizeof(struct bw_flow) + c.off;
}

/*
 * Copy s and everything it points to into d, which has room for size
 * bytes (at least sizeof(struct bw_flow)). Returns the size the copy
 * needs: when that is more than size, d is not a usable copy.
 */
static size_t
flow_clone_into(struct bw_flow *d, size_t size, const struct bw_flow *s)
{
	struct flow_copy c;

	*d = *s;
	d->size = sizeof(struct bw_flow);
	c.base = (char *)d + sizeof(struct bw_flow);
	c.off = 0;
	c.cap = size - sizeof(struct bw_flow);
	fc_flow(&c, d, s);
	return sizeof(struct bw_flow) + c.off;
}

/* ---- the ring ---------------------------------------------------------------- */

int
bw_flow_ring_init(unsigned capacity)
{
	struct bw_flow **slot;
	size_t *sizes;

	if (capacity == 0)
		return -EINVAL;
	slot = calloc(capacity, sizeof(*slot));
	sizes = calloc(capacity, sizeof(*sizes));
	if (slot == NULL || sizes == NULL) {
		free(slot);
		free(sizes);
		return -ENOMEM;
	}
	if (fl.slot != NULL) {
		for (uint32_t i = 0; i < fl.cap; i++)
			free(fl.slot[i]);
		free(fl.slot);
	}
	free(fl.slot_size);
	fl.slot = slot;
	fl.slot_size = sizes;
	fl.cap = capacity;
	flow_clock_sync();
	/* sequence numbers keep growing so that readers never see one twice */
	return 0;
}

uint64_t
bw_flow_ring_next(void)
{
	return fl.next;
}

uint64_t
bw_flow_ring_first(void)
{
	uint64_t n = fl.next - 1;
	uint64_t first = n > fl.cap ? fl.next - fl.cap : 1;

	/* after a re-init, earlier sequence numbers are gone */
	while (first < fl.next && bw_flow_ring_at(first) == NULL)
		first++;
	return first;
}

const struct bw_flow *
bw_flow_ring_at(uint64_t seq)
{
	struct bw_flow *f;

	if (fl.cap == 0 || seq == 0 || seq >= fl.next)
		return NULL;
	f = fl.slot[seq % fl.cap];
	return f != NULL && f->seq == seq ? f : NULL;
}

/* ---- subscribers --------------------------------------------------------------- */

int
bw_flow_subscribe(const void *owner, bw_flow_cb cb, void *ud,
		  void (*free_fn)(void *))
{
	struct flow_sub *s;

	if (cb == NULL)
		return -EINVAL;
	s = realloc(fl.subs, (fl.nsubs + 1) * sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	fl.subs = s;
	s = &fl.subs[fl.nsubs++];
	memset(s, 0, sizeof(*s));
	s->id = fl.next_sub_id++;
	s->owner = owner;
	s->cb = cb;
	s->ud = ud;
	s->free_fn = free_fn;
	return s->id;
}

static void
flow_sub_kill(struct flow_sub *s)
{
	void (*free_fn)(void *) = s->free_fn;
	void *ud = s->ud;

	if (s->dead)
		return;
	s->dead = 1;
	s->free_fn = NULL;
	fl.reap = 1;
	if (free_fn != NULL)
		free_fn(ud);
}

static void
flow_subs_reap(void)
{
	size_t j = 0;

	if (!fl.reap || fl.dispatching)
		return;
	for (size_t i = 0; i < fl.nsubs; i++)
		if (!fl.subs[i].dead)
			fl.subs[j++] = fl.subs[i];
	fl.nsubs = j;
	fl.reap = 0;
}

void
bw_flow_unsubscribe(int id)
{
	for (size_t i = 0; i < fl.nsubs; i++)
		if (fl.subs[i].id == id)
			flow_sub_kill(&fl.subs[i]);
	flow_subs_reap();
}

void
bw_flow_unsubscribe_owner(const void *owner)
{
	for (size_t i = 0; i < fl.nsubs; i++)
		if (fl.subs[i].owner == owner)
			flow_sub_kill(&fl.subs[i]);
	flow_subs_reap();
}

void
bw_flow_set_lost_handler(void (*fn)(const char *source, uint64_t n))
{
	fl.lost_fn = fn;
}

/* ---- publishing ------------------------------------------------------------------- */

int
bw_flow_publish(const struct bw_flow *in)
{
	struct bw_flow tmp;
	char uuid[40];
	size_t n;

	if (fl.cap == 0)
		return -ENXIO;
	/* accept a shorter (older) record: zero what it lacks */
	memset(&tmp, 0, sizeof(tmp));
	n = in->size < sizeof(tmp) ? in->size : sizeof(tmp);
	memcpy(&tmp, in, n);
	if (tmp.time_ns == 0)
		tmp.time_ns = flow_clock_ns(CLOCK_REALTIME);
	if (tmp.uuid[0] == '\0') {
		flow_uuid(uuid, sizeof(uuid));
		memcpy(tmp.uuid, uuid, sizeof(tmp.uuid));
	}
	if (tmp.node_name == NULL)
		tmp.node_name = bw_flow_node_name();
	/* a stage (the Lua host's on_flow) may hold it back: flowstage.c */
	if (bw_flow_stage_on())
		return bw_flow_stage_hold(&tmp);
	return bw_flow_store(&tmp);
}

struct bw_flow *
bw_flow_clone(const struct bw_flow *s)
{
	size_t n = flow_clone_size(s);
	struct bw_flow *d = malloc(n);

	if (d != NULL)
		flow_clone_into(d, n, s);
	return d;
}

int
bw_flow_store(const struct bw_flow *in)
{
	struct bw_flow tmp = *in, *f;
	size_t n, fsize, slot;

	/*
	 * Memory is recycled: the flow evicted by the previous publish is kept
	 * as a spare and holds this one when it is large enough, so a full
	 * ring costs no malloc and free per flow. (Not the flow this one
	 * evicts: the new flow's strings may still point into it.)
	 */
	f = fl.spare;
	fsize = fl.spare_size;
	fl.spare = NULL;
	n = f != NULL ? flow_clone_into(f, fsize, &tmp) : flow_clone_size(&tmp);
	if (f == NULL || n > fsize) {
		free(f);
		fsize = n < 1024 ? 1024 : n; /* room for the usual sizes to come */
		if ((f = malloc(fsize)) == NULL)
			return -ENOMEM;
		flow_clone_into(f, fsize, &tmp);
	}
	f->seq = fl.next;
	slot = f->seq % fl.cap;
	if (fl.slot[slot] != NULL) {
		fl.spare = fl.slot[slot];
		fl.spare_size = fl.slot_size[slot];
		fl.stats.ring_evicted++;
	}
	fl.slot[slot] = f;
	fl.slot_size[slot] = fsize;
	fl.next++;
	fl.stats.flows++;

	fl.dispatching++;
	/* subscribers added by a callback start with the next flow */
	n = fl.nsubs;
	for (size_t i = 0; i < n; i++) {
		struct flow_sub s = fl.subs[i];

		if (!s.dead)
			s.cb(f, s.ud);
	}
	fl.dispatching--;
	flow_subs_reap();
	return 0;
}

/* ---- decoding and enrichment ------------------------------------------------------ */

/*
 * An address as text. IPv4 by hand: glibc's inet_ntop formats IPv4 with
 * sprintf, which was the largest single cost per event in a profile of
 * the daemon under 100,000 events/s.
 */
static void
flow_addr_str(int family, const uint8_t *a, char *out, size_t len)
{
	size_t o = 0;

	if (family != 4 || len < 16) {
		inet_ntop(family == 4 ? AF_INET : AF_INET6, a, out, (socklen_t)len);
		return;
	}
	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];

		if (i)
			out[o++] = '.';
		if (v >= 100)
			out[o++] = (char)('0' + v / 100);
		if (v >= 10)
			out[o++] = (char)('0' + v / 10 % 10);
		out[o++] = (char)('0' + v % 10);
	}
	out[o] = '\0';
}

static const char *const flow_reserved_labels[] = {
	NULL, "reserved:host", "reserved:world", "reserved:unmanaged",
	"reserved:health", "reserved:init", "reserved:remote-node",
	"reserved:kube-apiserver", "reserved:ingress", "reserved:world-ipv4",
	"reserved:world-ipv6",
};

static int
flow_label_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Hubble keeps only the longest cidr: label of a node-local identity. */
static size_t
flow_longest_cidr(const char **labels, size_t n)
{
	long best = -1;
	size_t besti = 0, j = 0;

	for (size_t i = 0; i < n; i++) {
		const char *slash;

		if (strncmp(labels[i], "cidr:", 5) != 0)
			continue;
		slash = strrchr(labels[i], '/');
		if (slash != NULL && strtol(slash + 1, NULL, 10) > best) {
			best = strtol(slash + 1, NULL, 10);
			besti = i;
		}
	}
	if (best < 0)
		return n;
	for (size_t i = 0; i < n; i++)
		if (strncmp(labels[i], "cidr:", 5) != 0 || i == besti)
			labels[j++] = labels[i];
	return j;
}

static void
flow_fill_side(struct bw_flow_endpoint *side, const char **labelbuf,
	       uint32_t ep_id, uint32_t identity, int family,
	       const uint8_t *addr, const char **ifname)
{
	struct bw_flow_peer peer;
	size_t n = 0;

	memset(&peer, 0, sizeof(peer));
	peer.labels = labelbuf;
	peer.labels_cap = FLOW_LABELS_MAX;
	side->identity = identity;
	if (ep_id == 0 && fl.src.ipcache != NULL) {
		uint32_t id2 = 0, ep2 = 0;

		if (fl.src.ipcache(family, addr, &id2, &ep2) == 0) {
			ep_id = ep2;
			if (side->identity == 0)
				side->identity = id2;
		}
	}
	if (ep_id != 0 && fl.src.endpoint != NULL &&
	    fl.src.endpoint(ep_id, &peer) == 0) {
		side->id = ep_id;
		side->ns = peer.ns;
		side->pod_name = peer.pod;
		if (peer.workload_name != NULL && *peer.workload_name != '\0') {
			side->workload_name = peer.workload_name;
			side->workload_kind = peer.workload_kind;
		}
		if (side->identity == 0)
			side->identity = peer.identity;
		else if (side->identity != peer.identity && fl.src.identity_base != NULL &&
			 fl.src.identity_base(side->identity) == peer.identity)
			side->identity = peer.identity; /* its address's split identity */
		if (ifname != NULL)
			*ifname = peer.ifname;
		n = peer.n_labels <= FLOW_LABELS_MAX ? peer.n_labels : FLOW_LABELS_MAX;
	}
	if (n == 0 && side->identity != 0) {
		if (fl.src.identity_labels != NULL)
			n = fl.src.identity_labels(side->identity, labelbuf,
						   FLOW_LABELS_MAX);
		if (n == 0 && side->identity < sizeof(flow_reserved_labels) /
						       sizeof(flow_reserved_labels[0])) {
			labelbuf[0] = flow_reserved_labels[side->identity];
			n = 1;
		}
		if (side->identity >= BW_ID_LOCAL_SCOPE)
			n = flow_longest_cidr(labelbuf, n);
	}
	/* identity label sets are kept sorted: sort only when they are not */
	for (size_t i = 1; i < n; i++) {
		if (strcmp(labelbuf[i - 1], labelbuf[i]) > 0) {
			qsort(labelbuf, n, sizeof(*labelbuf), flow_label_cmp);
			break;
		}
	}
	side->labels = labelbuf;
	side->n_labels = (uint32_t)n;
}

void
bw_flow_fill_endpoint(struct bw_flow_endpoint *side, const char **labelbuf,
		      uint32_t ep_id, uint32_t identity, int family,
		      const uint8_t *addr)
{
	flow_fill_side(side, labelbuf, ep_id, identity, family, addr, NULL);
}

void
bw_flow_addr_text(int family, const uint8_t *addr, char *out, size_t len)
{
	flow_addr_str(family, addr, out, len);
}

/*
 * Hubble's source_names / destination_names: the names DNS gave for a side
 * that is not a local endpoint (the FQDN cache); they point into the
 * source's table, valid until the flow is published (which copies them).
 */
static void
flow_fill_names(struct bw_flow *f)
{
	const char *const *v;
	int family = f->ip_version == 6 ? 6 : 4;
	size_t n;

	if (fl.src.names == NULL || f->ip_version == 0)
		return;
	if (f->source.id == 0 && (n = fl.src.names(family, f->src_addr, &v)) > 0) {
		f->source_names = v;
		f->n_source_names = (uint32_t)n;
	}
	if (f->destination.id == 0 && (n = fl.src.names(family, f->dst_addr, &v)) > 0) {
		f->destination_names = v;
		f->n_destination_names = (uint32_t)n;
	}
}

struct flow_isolating {
	struct bw_flow_policy *v;
	uint32_t n;
};

static void
flow_isolating_cb(const struct bw_flow_policy *p, void *arg)
{
	struct flow_isolating *iso = arg;

	if (iso->n < FLOW_ISOLATING_MAX)
		iso->v[iso->n++] = *p;
}

/* One staged check of the flow: combine it into f (a drop wins). */
static void
flow_staged_check(struct bw_flow *f, struct flow_isolating *acc, uint32_t ep_id,
		  int dir, uint32_t peer_id)
{
	uint16_t port = f->protocol == 1 || f->protocol == 58 ? f->icmp_type : f->dst_port;
	int v;

	if (fl.src.staged == NULL || ep_id == 0)
		return;
	v = fl.src.staged(ep_id, dir, peer_id, f->protocol, port,
			  flow_isolating_cb, acc);
	if (v == BW_FLOW_VERDICT_DROPPED ||
	    (v == BW_FLOW_VERDICT_FORWARDED &&
	     f->staged_verdict != BW_FLOW_VERDICT_DROPPED))
		f->staged_verdict = (enum bw_flow_verdict)v;
}

/*
 * Which sides of a new connection were checked against policy, and what
 * the staged policies would say where they apply: on a policy verdict its
 * own check; on the trace of a new connection (taken once, where the
 * connection is first seen: entering a local pod, or leaving one for a
 * peer that is not a local pod) the checks that made no verdict event.
 */
static void
flow_connection_checks(struct bw_flow *f, const struct bw_event *ev,
		       struct flow_isolating *stg)
{
	int tx_side;

	if (ev->type == BW_EVENT_POLICY_VERDICT) {
		int ingress = ev->direction == BW_DIR_INGRESS;

		f->flags |= ingress ? BW_FLOW_F_INGRESS_ENFORCED : BW_FLOW_F_EGRESS_ENFORCED;
		flow_staged_check(f, stg, ev->ep_id, ev->direction,
				  ingress ? f->source.identity : f->destination.identity);
		return;
	}
	if (ev->type != BW_EVENT_TRACE || !(ev->flags & BW_EV_F_CT_NEW) ||
	    f->is_reply == 1 || fl.src.enforced == NULL)
		return;
	if (f->destination.id != 0 &&
	    fl.src.enforced(f->destination.id, BW_DIR_INGRESS))
		f->flags |= BW_FLOW_F_INGRESS_ENFORCED;
	if (f->source.id != 0 && fl.src.enforced(f->source.id, BW_DIR_EGRESS))
		f->flags |= BW_FLOW_F_EGRESS_ENFORCED;
	tx_side = f->trace_observation_point == BW_FLOW_OBS_TO_ENDPOINT ||
		  (f->trace_observation_point == BW_FLOW_OBS_FROM_ENDPOINT &&
		   f->destination.id == 0);
	if (!tx_side)
		return;
	if (f->destination.id != 0 && !(f->flags & BW_FLOW_F_INGRESS_ENFORCED))
		flow_staged_check(f, stg, f->destination.id, BW_DIR_INGRESS,
				  f->source.identity);
	if (f->source.id != 0 && !(f->flags & BW_FLOW_F_EGRESS_ENFORCED))
		flow_staged_check(f, stg, f->source.id, BW_DIR_EGRESS,
				  f->destination.identity);
}

static int flow_handle_one(const struct bw_event *ev, size_t len);

/*
 * One record of the ring buffer: one event, or two that the datapath wrote
 * as one (BW_EV_F_WITH_TRACE / BW_EV_F_WITH_DROP, bpf/bw_datapath.h), handed
 * on one after the other as if they had been two records.
 */
int
bw_flow_handle_event(const void *data, size_t len)
{
	struct bw_event ev[2];
	int n, rc, rc2;

	if (len < sizeof(ev[0]))
		return flow_handle_one(data, len);
	n = bw_event_expand(data, ev);
	rc = flow_handle_one(&ev[0], sizeof(ev[0]));
	if (n < 2)
		return rc;
	rc2 = flow_handle_one(&ev[1], sizeof(ev[1]));
	return rc < 0 ? rc : rc2;
}

static int
flow_handle_one(const struct bw_event *ev, size_t len)
{
	static const char *labels[2][FLOW_LABELS_MAX];
	struct bw_flow_policy rule_pol, iso_pol[FLOW_ISOLATING_MAX];
	struct flow_isolating iso = { iso_pol, 0 };
	struct bw_flow_policy stg_pol[FLOW_ISOLATING_MAX];
	struct flow_isolating stg = { stg_pol, 0 };
	struct bw_flow f;
	struct bw_flow_endpoint *local, *peer;
	const char *ifname = NULL;
	int family, leaving, dir_ingress, deny = 0, is_reply;
	int default_deny = 0;

	if (len < sizeof(*ev)) {
		fl.stats.decode_errors++;
		return -EINVAL;
	}
	fl.stats.events++;
	if (ev->type != BW_EVENT_DROP && ev->type != BW_EVENT_TRACE &&
	    ev->type != BW_EVENT_POLICY_VERDICT) {
		fl.stats.decode_errors++;
		return -EINVAL;
	}
	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	family = (ev->flags & BW_EV_F_IPV6) ? 6 : 4;
	f.time_ns = ev->ts_ns != 0 ? (uint64_t)((int64_t)ev->ts_ns + fl.mono_to_real)
				   : flow_clock_ns(CLOCK_REALTIME);

	/* L3 */
	f.ip_version = (uint8_t)family;
	memcpy(f.src_addr, ev->saddr, family == 4 ? 4 : 16);
	memcpy(f.dst_addr, ev->daddr, family == 4 ? 4 : 16);
	flow_addr_str(family, f.src_addr, f.src_ip, sizeof(f.src_ip));
	flow_addr_str(family, f.dst_addr, f.dst_ip, sizeof(f.dst_ip));

	/* L4 */
	f.protocol = ev->protocol;
	switch (ev->protocol) {
	case 6:
		f.tcp_flags = ev->tcp_flags;
		/* fall through */
	case 17:
	case 132:
		f.src_port = ntohs(ev->sport);
		f.dst_port = ntohs(ev->dport);
		break;
	case 1:
	case 58:
		/* the datapath puts the code in dport (bpf/bw_datapath.h) */
		f.icmp_type = ev->icmp_type;
		f.icmp_code = (uint8_t)ntohs(ev->dport);
		break;
	}

	/* the endpoint is the packet's source when the packet leaves it */
	leaving = ev->direction == BW_DIR_EGRESS;
	local = leaving ? &f.source : &f.destination;
	peer = leaving ? &f.destination : &f.source;
	flow_fill_side(local, labels[0], ev->ep_id,
		       leaving ? ev->src_identity : ev->dst_identity, family,
		       leaving ? f.src_addr : f.dst_addr, &ifname);
	flow_fill_side(peer, labels[1], 0,
		       leaving ? ev->dst_identity : ev->src_identity, family,
		       leaving ? f.dst_addr : f.src_addr, NULL);

	flow_fill_names(&f);
	f.type = BW_FLOW_TYPE_L3_L4;
	f.event_type = ev->type;
	f.ifindex = ev->ifindex;
	f.ifname = ifname;
	f.rule_ref = ev->rule_ref;
	f.pkt_len = ev->pkt_len;
	f.proxy_port = ntohs(ev->proxy_port);
	if (ev->flags & BW_EV_F_CT_NEW)
		f.flags |= BW_FLOW_F_CT_NEW;
	if (ev->flags & BW_EV_F_AUDITED)
		f.flags |= BW_FLOW_F_AUDITED;
	dir_ingress = ev->direction == BW_DIR_INGRESS;

	switch (ev->type) {
	case BW_EVENT_TRACE:
		is_reply = (ev->flags & BW_EV_F_IS_REPLY) != 0;
		f.verdict = BW_FLOW_VERDICT_FORWARDED;
		f.event_sub_type = ev->subtype;
		f.trace_observation_point = ev->subtype == BW_TRACE_TO_ENDPOINT
						    ? BW_FLOW_OBS_TO_ENDPOINT
						    : (enum bw_flow_obs_point)ev->subtype;
		f.is_reply = is_reply;
		if (ev->flags & BW_EV_F_CT_RELATED)
			f.trace_reason = BW_FLOW_REASON_RELATED;
		else if (is_reply)
			f.trace_reason = BW_FLOW_REASON_REPLY;
		else if (ev->flags & BW_EV_F_CT_NEW)
			f.trace_reason = BW_FLOW_REASON_NEW;
		else if (ev->ct_packets != 0)
			f.trace_reason = BW_FLOW_REASON_ESTABLISHED;
		/* Hubble: egress when (the endpoint is the source) XOR reply */
		f.traffic_direction = (leaving ^ is_reply) ? BW_FLOW_TRAFFIC_EGRESS
							   : BW_FLOW_TRAFFIC_INGRESS;
		if (ev->flags & BW_EV_F_CT_CLOSE) {
			f.flags |= BW_FLOW_F_CT_CLOSE;
			f.ct_packets = ev->ct_packets;
			f.ct_bytes = ev->ct_bytes;
		}
		break;
	case BW_EVENT_DROP:
		f.verdict = BW_FLOW_VERDICT_DROPPED;
		f.drop_reason = ev->subtype;
		f.event_sub_type = ev->subtype;
		f.is_reply = -1;
		f.traffic_direction = leaving ? BW_FLOW_TRAFFIC_EGRESS
					      : BW_FLOW_TRAFFIC_INGRESS;
		default_deny = ev->subtype == BW_DROP_POLICY && ev->rule_ref == 0;
		break;
	case BW_EVENT_POLICY_VERDICT:
		f.verdict = (enum bw_flow_verdict)ev->verdict;
		if (ev->flags & BW_EV_F_AUDITED)
			f.verdict = BW_FLOW_VERDICT_AUDIT;
		f.policy_match_type = ev->match_type;
		f.traffic_direction = dir_ingress ? BW_FLOW_TRAFFIC_INGRESS
						  : BW_FLOW_TRAFFIC_EGRESS;
		if (f.verdict == BW_FLOW_VERDICT_DROPPED) {
			f.is_reply = -1;
			f.drop_reason = ev->subtype != 0 ? ev->subtype
				      : ev->rule_ref != 0 ? BW_DROP_POLICY_DENY
							  : BW_DROP_POLICY;
		} else {
			f.is_reply = 0;
		}
		/* a drop (or would-be drop) that no policy entry matched */
		default_deny = ev->rule_ref == 0 &&
			       (f.drop_reason == BW_DROP_POLICY ||
				(f.verdict == BW_FLOW_VERDICT_AUDIT &&
				 ev->subtype == BW_DROP_POLICY));
		if (ev->rule_ref != 0 && fl.src.rule != NULL) {
			memset(&rule_pol, 0, sizeof(rule_pol));
			if (fl.src.rule(ev->rule_ref, &rule_pol, &deny) == 0) {
				int denied = deny || f.verdict == BW_FLOW_VERDICT_DROPPED;

				if (denied && dir_ingress) {
					f.ingress_denied_by = &rule_pol;
					f.n_ingress_denied_by = 1;
				} else if (denied) {
					f.egress_denied_by = &rule_pol;
					f.n_egress_denied_by = 1;
				} else if (dir_ingress) {
					f.ingress_allowed_by = &rule_pol;
					f.n_ingress_allowed_by = 1;
				} else {
					f.egress_allowed_by = &rule_pol;
					f.n_egress_allowed_by = 1;
				}
			}
		}
		break;
	}
	if (f.drop_reason != 0)
		f.drop_reason_desc = bw_dropreason_name((int)f.drop_reason);
	if (default_deny && fl.src.isolating != NULL) {
		fl.src.isolating(ev->ep_id, ev->direction, flow_isolating_cb, &iso);
		f.isolated_by = iso.v;
		f.n_isolated_by = iso.n;
	}
	flow_connection_checks(&f, ev, &stg);
	if (f.staged_verdict != BW_FLOW_VERDICT_UNKNOWN) {
		f.staged_by = stg.v;
		f.n_staged_by = stg.n;
	}
	/* no Summary here: the serialisers (lib/flowjson.c) compute it from
	 * the fields when a flow is written out, most flows never are */
	return bw_flow_publish(&f);
}

/* ---- the ring buffer on the loop ----------------------------------------------- */

static int
flow_rb_sample(void *ctx, void *data, size_t size)
{
	bw_flow_handle_event(data, size);
	/* a negative return stops ring_buffer__consume(); the record counts
	 * as read, the rest waits for the next wake-up */
	return ++fl.batch >= FLOW_BATCH ? -EAGAIN : 0;
}

static void
flow_rb_ready(evutil_socket_t fd, short what, void *arg)
{
	fl.batch = 0;
	ring_buffer__consume(fl.rb);
}

static void
flow_rb_poll(evutil_socket_t fd, short what, void *arg)
{
	fl.batch = 0;
	ring_buffer__consume(fl.rb);
}

void
bw_flow_check_lost(void)
{
	uint64_t lost, delta;

	if (fl.src.events_lost == NULL)
		return;
	lost = fl.src.events_lost();
	if (!fl.lost_primed) {
		/* events lost before we started are not ours to report,
		 * except in the counter */
		fl.lost_primed = 1;
		fl.lost_seen = lost;
		fl.stats.lost_datapath = lost;
		return;
	}
	if (lost <= fl.lost_seen)
		return;
	delta = lost - fl.lost_seen;
	fl.lost_seen = lost;
	fl.stats.lost_datapath = lost;
	bw_warn("flows: the datapath lost %llu events (ring buffer full)",
		(unsigned long long)delta);
	if (fl.lost_fn != NULL)
		fl.lost_fn("PERF_EVENT_RING_BUFFER", delta);
}

static void
flow_tick(evutil_socket_t fd, short what, void *arg)
{
	flow_clock_sync();
	bw_flow_check_lost();
}

int
bw_flow_attach(struct event_base *base, int ringbuf_fd)
{
	struct timeval one = { 1, 0 };
	struct timeval poll = { 0, FLOW_POLL_MS * 1000 };

	flow_clock_sync();
	fl.tick_ev = event_new(base, -1, EV_PERSIST, flow_tick, NULL);
	if (fl.tick_ev == NULL || event_add(fl.tick_ev, &one) < 0) {
		bw_err("flows: cannot create the flow timer");
		bw_flow_detach();
		return -ENOMEM;
	}
	bw_flow_check_lost();
	if (ringbuf_fd < 0)
		return 0; /* no datapath: flows published by proxies only */
	fl.rb = ring_buffer__new(ringbuf_fd, flow_rb_sample, NULL, NULL);
	if (fl.rb == NULL) {
		int rc = -errno;

		bw_err_errno(rc, "flows: cannot read the events ring buffer");
		bw_flow_detach();
		return rc;
	}
	fl.rb_ev = event_new(base, ring_buffer__epoll_fd(fl.rb),
			     EV_READ | EV_PERSIST, flow_rb_ready, NULL);
	if (fl.rb_ev == NULL || event_add(fl.rb_ev, NULL) < 0) {
		bw_err("flows: cannot watch the events ring buffer");
		bw_flow_detach();
		return -ENOMEM;
	}
	fl.poll_ev = event_new(base, -1, EV_PERSIST, flow_rb_poll, NULL);
	if (fl.poll_ev == NULL || event_add(fl.poll_ev, &poll) < 0) {
		bw_err("flows: cannot create the ring buffer timer");
		bw_flow_detach();
		return -ENOMEM;
	}
	return 0;
}

void
bw_flow_detach(void)
{
	bw_flow_stage_set(NULL, NULL); /* store what a stage still holds */
	if (fl.rb_ev != NULL) {
		event_free(fl.rb_ev);
		fl.rb_ev = NULL;
	}
	if (fl.tick_ev != NULL) {
		event_free(fl.tick_ev);
		fl.tick_ev = NULL;
	}
	if (fl.poll_ev != NULL) {
		event_free(fl.poll_ev);
		fl.poll_ev = NULL;
	}
	if (fl.rb != NULL) {
		/* read what is left so that a restart does not replay it */
		ring_buffer__consume(fl.rb);
		ring_buffer__free(fl.rb);
		fl.rb = NULL;
	}
	for (size_t i = 0; i < fl.nsubs; i++)
		flow_sub_kill(&fl.subs[i]);
	flow_subs_reap();
	free(fl.subs);
	fl.subs = NULL;
	fl.nsubs = 0;
	if (fl.slot != NULL) {
		for (uint32_t i = 0; i < fl.cap; i++)
			free(fl.slot[i]);
		free(fl.slot);
	}
	free(fl.spare);
	fl.spare = NULL;
	free(fl.slot_size);
	fl.slot_size = NULL;
	fl.slot = NULL;
	fl.cap = 0;
	fl.lost_fn = NULL;
}

/* ---- counters -------------------------------------------------------------------- */

void
bw_flow_stats_get(struct bw_flow_stats *out)
{
	struct bw_flow_stats st = fl.stats;
	size_t n = out->size < sizeof(st) ? out->size : sizeof(st);
	uint64_t held = fl.next - 1;

	st.size = out->size;
	st.ring_capacity = fl.cap;
	st.ring_used = (uint32_t)(held < fl.cap ? held : fl.cap);
	st.subscribers = 0;
	for (size_t i = 0; i < fl.nsubs; i++)
		if (!fl.subs[i].dead)
			st.subscribers++;
	if (n > 0)
		memcpy(out, &st, n);
}

void
bw_flow_stats_lost_followers(uint64_t n)
{
	fl.stats.lost_followers += n;
}

void
bw_flow_stats_followers(int delta)
{
	fl.stats.followers = (uint32_t)((int)fl.stats.followers + delta);
}
