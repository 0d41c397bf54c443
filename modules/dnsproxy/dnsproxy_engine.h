/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/dnsproxy/dnsproxy_engine.h - the DNS proxy's engine: a lookup
 * that the datapath redirected (a UDP datagram, or a TCP connection with
 * length-prefixed, possibly pipelined queries) is checked against the DNS
 * rules that apply to it, answered at once when they deny it, and
 * otherwise forwarded to the server the workload asked (the original
 * destination) with a fresh ID. The answer is published to the core
 * (dns_publish: the FQDN module updates the datapath before this returns)
 * and then released to the workload with the workload's ID. Every query
 * and answer becomes an L7 DNS flow.
 *
 * How lookups arrive (sockets, original destinations, the rules of the
 * policy) is the module's business (dnsproxy.c); the engine gets them
 * through dpe_udp_query() and dpe_tcp_accept().
 */
#ifndef BW_DNSPROXY_ENGINE_H
#define BW_DNSPROXY_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <bulwark/module.h>

#include "dnsproxy_msg.h"
#include "dnsproxy_rules.h"

struct event_base;

#define DPE_USOCK_USES 64
#define DPE_USOCK_AGE_MS 2000
#define DPE_USOCK_KEY 64

struct dpe_conf {
	int deny_rcode;             /* DPM_REFUSED or DPM_NXDOMAIN */
	int64_t upstream_timeout_ms;
	int64_t max_inflight;       /* queries waiting for the server */
	int64_t tcp_idle_ms;        /* idle TCP client connection */
	int64_t max_tcp_conns;
	int flows;                  /* publish L7 flows */
};

/* Where one lookup comes from (copied by the engine). */
struct dpe_origin {
	uint32_t ep_id;                   /* the workload's endpoint, 0 unknown */
	uint32_t rule_ref;                /* the policy entry that redirected it */
	struct dpr_rules *rules;          /* NULL: nothing is allowed */
	struct sockaddr_storage client;   /* the workload's address and port */
	struct sockaddr_storage server;   /* the original destination */
	/*
	 * The module's own handle on the lookup (what the redirect service
	 * said about it), held by the engine with ops.cookie_ref/unref while
	 * the lookup (UDP) or the connection (TCP) lives, and handed to
	 * ops.upstream. NULL: none.
	 */
	void *cookie;
};

struct dpe_ops {
	/*
	 * Send a UDP answer to client, from server's address and port (the
	 * workload must see it come from the server it asked). 0 or -errno.
	 */
	int (*udp_reply)(void *arg, const struct sockaddr_storage *server,
			 const struct sockaddr_storage *client, const uint8_t *buf,
			 size_t len);
	/*
	 * The proxy's socket towards o's server for protocol (17: connected;
	 * 6: connect in progress), non-blocking. NULL: the engine opens a
	 * plain one from the node's address. Returns the fd or -errno.
	 */
	int (*upstream)(void *arg, const struct dpe_origin *o, int protocol);
	/*
	 * What o's UDP socket from ops.upstream is, as a key: lookups with
	 * equal keys may share one socket (each socket carries at most
	 * DPE_USOCK_USES queries and lives at most DPE_USOCK_AGE_MS, so the
	 * source port keeps changing). Returns the key's length (at most
	 * len); 0: this lookup gets a socket of its own. NULL with
	 * ops.upstream NULL: the server's address is the key.
	 */
	size_t (*upstream_key)(void *arg, const struct dpe_origin *o, uint8_t *key, size_t len);
	void (*cookie_ref)(void *cookie);
	void (*cookie_unref)(void *cookie);
	void *arg;
};

enum dpe_verdict_counter {
	DPE_ALLOWED,
	DPE_DENIED,
	DPE_LIMITED,        /* over max_inflight: REFUSED */
	DPE_NVERDICTS,
};

struct dpe_stats {
	uint64_t queries[2][DPE_NVERDICTS];  /* [0] UDP [1] TCP */
	uint64_t answers;                    /* answers relayed from servers */
	uint64_t truncated;                  /* of which TC was set */
	uint64_t timeouts;                   /* SERVFAIL after upstream_timeout */
	uint64_t upstream_errors;            /* SERVFAIL after a send/connect error */
	uint64_t hook_denied;                /* denied by a decision hook (Lua on_dns) */
	uint64_t bad[DPM_NERRORS];           /* messages refused, per reason */
	uint64_t inflight;
	uint64_t tcp_conns;
	uint64_t tcp_refused;                /* connections over max_tcp_conns */
	uint64_t upstream_sockets;           /* UDP sockets opened towards servers */
	/* time from a query's arrival to its answer's release, per bucket */
	uint64_t latency_bucket[12];
	uint64_t latency_count;
	double latency_sum;
};

extern const double dpe_latency_bounds[11]; /* seconds; last bucket +Inf */

struct dpe;

struct dpe *dpe_new(struct event_base *base, const struct bw_core_api *api,
		    bw_module_ctx *ctx, const struct dpe_conf *conf,
		    const struct dpe_ops *ops);
void dpe_set_conf(struct dpe *e, const struct dpe_conf *conf);
/* Answer every waiting query SERVFAIL, close every connection, free. */
void dpe_free(struct dpe *e);

/* One redirected UDP datagram. 0, or -errno when it was dropped. */
int dpe_udp_query(struct dpe *e, const uint8_t *buf, size_t len,
		  const struct dpe_origin *o);

/*
 * A redirected TCP connection (fd accepted, non-blocking; the engine owns
 * it from now on). 0, or -errno (the fd is closed).
 */
int dpe_tcp_accept(struct dpe *e, int fd, const struct dpe_origin *o);

void dpe_stats(const struct dpe *e, struct dpe_stats *st);

#endif /* BW_DNSPROXY_ENGINE_H */
