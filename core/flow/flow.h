/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/flow/flow.h - the flow pipeline: datapath events -> enriched flow records
 * -> flow ring -> subscribers.
 *
 * The pipeline reads the datapath's ring buffer (bw_events) on the event
 * loop, decodes each struct bw_event, enriches it (endpoint, namespace,
 * pod, workload, labels, identity names, the policy behind a verdict),
 * stamps it with wall-clock time, a UUID and the node name, stores it in
 * the in-memory flow ring (flows.capacity records) and hands it to every
 * subscriber: `observe` streams (core/flow/flowapi.c), modules
 * (bw_core_api.flow_subscribe), and later the flow store and Lua.
 *
 * Everything here runs on the loop thread.
 */
#ifndef BW_CORE_FLOW_H
#define BW_CORE_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "bulwark/flow.h"

struct event_base;

/*
 * Daemon start-up, after the datapath is loaded (bw_datapath_events_fd()
 * valid) and before modules start: reads flows.* from the config, creates
 * the flow ring, attaches the ring buffer consumer to the loop, and
 * registers GET /v1/flows and the "flows" status section. Logs and returns
 * a negative errno on failure.
 */
int bw_flow_init(struct event_base *base);

/*
 * The lower half of bw_flow_init() (core/flow/flow.c): consume the ring buffer
 * behind fd on base. bw_flow_detach() undoes it.
 */
int bw_flow_attach(struct event_base *base, int ringbuf_fd);
void bw_flow_detach(void);
/* Detach from the loop, end follow streams, drop subscribers (calling their
 * free functions) and free the ring. */
void bw_flow_fini(void);

/* ---- enrichment sources ---------------------------------------------------- */

/* What a source reports about one side of a flow. Strings are borrowed:
 * they must stay valid until the call that asked returns to the pipeline. */
struct bw_flow_peer {
	uint32_t ep_id;       /* local endpoint id, 0 when not an endpoint */
	uint32_t identity;
	const char *ns;
	const char *pod;
	const char *ifname;   /* host-side interface of a local endpoint */
	/*
	 * Labels ("source:key=value"): the pipeline provides the array
	 * (labels, labels_cap); the source fills n_labels pointers.
	 */
	const char **labels;
	size_t n_labels;
	size_t labels_cap;
	/* The pod's workload (Hubble's Workload), NULL when unknown. */
	const char *workload_name;
	const char *workload_kind;
};

/*
 * The lookups the pipeline needs from the rest of the core. core/flow/flow.c
 * installs the real ones (core/flow/flowenrich.c) in bw_flow_init(); unit tests
 * install fakes. Any member may be NULL: that part of the enrichment is
 * then skipped.
 */
struct bw_flow_sources {
	/* The local endpoint with this id. 0 or -ENOENT. */
	int (*endpoint)(uint32_t ep_id, struct bw_flow_peer *out);
	/* ipcache: address (family 4 or 6) -> identity and local endpoint. */
	int (*ipcache)(int family, const uint8_t *addr, uint32_t *identity,
		       uint32_t *ep_id);
	/* Labels of an identity into out[0..max); returns how many (0: unknown). */
	size_t (*identity_labels)(uint32_t id, const char **out, size_t max);
	/* The policy behind a rule reference; *deny set for deny entries. */
	int (*rule)(uint32_t rule_ref, struct bw_flow_policy *out, int *deny);
	/*
	 * The policies that make endpoint ep_id default-deny in direction dir
	 * (BW_DIR_INGRESS / BW_DIR_EGRESS): cb once per policy.
	 */
	int (*isolating)(uint32_t ep_id, int dir,
			 void (*cb)(const struct bw_flow_policy *p, void *arg),
			 void *arg);
	/*
	 * Whether endpoint ep_id's direction dir is enforced (new connections
	 * get a policy verdict there): 1 or 0.
	 */
	int (*enforced)(uint32_t ep_id, int dir);
	/*
	 * What the staged policies would decide for a new connection of
	 * ep_id in direction dir with that peer identity, protocol and port
	 * (ICMP: the type): 0 when no staged policy applies, else
	 * BW_FLOW_VERDICT_FORWARDED or _DROPPED, with cb once per policy
	 * behind the verdict.
	 */
	int (*staged)(uint32_t ep_id, int dir, uint32_t peer_identity,
		      uint8_t protocol, uint16_t port,
		      void (*cb)(const struct bw_flow_policy *p, void *arg),
		      void *arg);
	/* Events the datapath failed to queue since it was loaded. */
	uint64_t (*events_lost)(void);
	/*
	 * The DNS names known for an address (the FQDN cache): *out points
	 * to them, valid until the flow is published. Returns how many.
	 */
	size_t (*names)(int family, const uint8_t *addr, const char *const **out);
	/*
	 * The endpoint identity a split identity was made from (an address
	 * a Kubernetes ipBlock splits off, docs/policy.md), else 0: flows
	 * show a local endpoint under its own identity. May be NULL.
	 */
	uint32_t (*identity_base)(uint32_t id);
};

void bw_flow_set_sources(const struct bw_flow_sources *src);
/* NULL: the host name. */
void bw_flow_set_node_name(const char *name);
const char *bw_flow_node_name(void);

/* Labels kept per side of a flow. */
#define BW_FLOW_LABELS_MAX 256

/*
 * Enrich one side of a flow built outside the pipeline (the proxies): the
 * local endpoint ep_id (0: look the address up in the ipcache), its pod,
 * namespace, workload and labels, or the identity's labels for a peer
 * that is not a local endpoint. labelbuf holds BW_FLOW_LABELS_MAX
 * pointers and, like the strings the side points to, must stay valid
 * until the flow is published.
 */
void bw_flow_fill_endpoint(struct bw_flow_endpoint *side, const char **labelbuf,
			   uint32_t ep_id, uint32_t identity, int family,
			   const uint8_t *addr);
/*
 * Publish a flow a module built (bw_core_api.flow_publish): address texts,
 * both sides (from the ids, else the addresses), DNS names of peers that
 * are not local endpoints, and the policy of rule_ref, when the module left
 * them out (core/flow/flowenrich.c). 0, -EINVAL, -ENOMEM, -ENXIO.
 */
int bw_flow_publish_module(const struct bw_flow *f);

/* An address as the flow record writes it (family 4 or 6). */
void bw_flow_addr_text(int family, const uint8_t *addr, char *out, size_t len);

/* ---- the ring ------------------------------------------------------------ */

/* (Re)create the flow ring; existing flows are dropped. 0 or -errno. */
int bw_flow_ring_init(unsigned capacity);
/* The flow with sequence number seq, or NULL when evicted / not yet there. */
const struct bw_flow *bw_flow_ring_at(uint64_t seq);
/* Oldest sequence number still held, and the next one to be assigned. */
uint64_t bw_flow_ring_first(void);
uint64_t bw_flow_ring_next(void);

/*
 * Decode one ring buffer record (a struct bw_event), enrich it and publish
 * it. 0, or -EINVAL for a short or unknown record (counted).
 */
int bw_flow_handle_event(const void *data, size_t len);

/*
 * Publish a flow built elsewhere (proxies, tests): deep-copied into the
 * ring; seq, and when unset time_ns, uuid and node_name, are filled in.
 * Subscribers are called before it returns.
 */
int bw_flow_publish(const struct bw_flow *f);

/* ---- subscribers ------------------------------------------------------------ */

typedef void (*bw_flow_cb)(const struct bw_flow *f, void *ud);

/*
 * Call cb for every flow published from now on. owner groups
 * subscriptions (a module instance) for bw_flow_unsubscribe_owner().
 * free_fn(ud) runs when the subscription is dropped. Returns an id > 0, or
 * -ENOMEM. Subscribing or unsubscribing from inside a callback is allowed.
 */
int bw_flow_subscribe(const void *owner, bw_flow_cb cb, void *ud,
		      void (*free_fn)(void *));
void bw_flow_unsubscribe(int id);
void bw_flow_unsubscribe_owner(const void *owner);

/*
 * Lost-event notification (for `observe --follow` streams): fn(source, n)
 * with a LostEventSource name, called at most once a second per source.
 */
void bw_flow_set_lost_handler(void (*fn)(const char *source, uint64_t n));

/*
 * Read the datapath's lost-event counter now (the pipeline does it once a
 * second): the first read only primes it; an increase is counted, logged
 * and passed to the lost handler.
 */
void bw_flow_check_lost(void);

/* ---- the stage ------------------------------------------------------------------ */

/*
 * A stage between enrichment and the ring: the Lua host's on_flow and
 * on_verdict hooks, which run on a thread of their own and may add to a
 * flow's extensions. For every flow published while a stage is set,
 * wants(arg, f) says what the stage needs:
 *   BW_FLOW_STAGE_SKIP     nothing: the flow is stored at once (if no
 *                          earlier flow is still held: order is kept);
 *   BW_FLOW_STAGE_OBSERVE  to read it: the flow is stored at once, and a
 *                          copy stays valid until the stage is done;
 *   BW_FLOW_STAGE_HOLD     to add to it: the flow is stored when the stage
 *                          is done with it, or after max_delay_ns without.
 * submit(arg, f, token) hands the copy over (valid until
 * bw_flow_stage_done(token, ...)); a negative return skips the flow.
 * At most capacity flows are held or observed: when full, every flow
 * still held is stored at once and new flows skip the stage until there is
 * room. Flows are always stored in the order they were published, and
 * none is lost: only the stage misses them (counted).
 * Everything runs on the loop thread, except that the stage may read the
 * copies it was given from another thread until it calls done.
 */
#define BW_FLOW_STAGE_SKIP 0
#define BW_FLOW_STAGE_OBSERVE 1
#define BW_FLOW_STAGE_HOLD 2

struct bw_flow_stage {
	int (*wants)(void *arg, const struct bw_flow *f);
	int (*submit)(void *arg, const struct bw_flow *f, uint64_t token);
	void *arg;
	unsigned capacity;
	uint64_t max_delay_ns;
};

/*
 * Set the stage (copied; base runs its timer), or remove it with NULL:
 * every flow still held is then stored. Remove it only when the stage
 * no longer reads the copies (its thread stopped). 0 or -errno.
 */
int bw_flow_stage_set(struct event_base *base, const struct bw_flow_stage *st);
/* Change max_delay_ns of the stage in place (SIGHUP). */
void bw_flow_stage_set_delay(uint64_t max_delay_ns);

/*
 * The stage is done with token's flow; extensions_json (may be NULL) is
 * merged into the flow's extensions if it is still held. Unknown tokens
 * are ignored.
 */
void bw_flow_stage_done(uint64_t token, const char *extensions_json);

struct bw_flow_stage_stats {
	uint64_t held;      /* flows waiting now */
	uint64_t submitted; /* flows handed to the stage */
	uint64_t skipped;   /* flows the stage never saw (full, refused) */
	uint64_t late;      /* held flows stored before the stage was done */
};
void bw_flow_stage_stats(struct bw_flow_stage_stats *st);

/* ---- counters ---------------------------------------------------------------- */

/* Fill *out up to out->size bytes (the caller sets out->size). */
void bw_flow_stats_get(struct bw_flow_stats *out);
void bw_flow_stats_lost_followers(uint64_t n);
void bw_flow_stats_followers(int delta);

/*
 * A --monitor-aggregation value as Cilium takes it -> the datapath's
 * BW_MONITOR_* level (Cilium's numbers): none/disabled/"" 0, lowest 1,
 * low 2, medium 3, maximum/max 4, and the numbers 0-4. -1 when unknown.
 */
int bw_flow_monitor_level(const char *name);

/* Route registration (core/flow/flowapi.c). */
int bw_flowapi_init(struct event_base *base);
void bw_flowapi_fini(void);

#endif /* BW_CORE_FLOW_H */
