/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * conntrack.h - connection tracking in the bw_ct LRU hash. One entry per
 * (endpoint, direction of the first packet, tuple). A packet is
 *   ESTABLISHED  its tuple has an entry in this direction,
 *   REPLY        the reversed tuple has an entry in the other direction,
 *   RELATED      an ICMP error quoting a tracked tuple,
 *   NEW          none of these (policy decides; only allowed NEW packets
 *                create entries).
 * Expired entries count as missing; user space garbage-collects them.
 * Entries flagged BW_CT_F_DENIED are tombstones left by the daemon when a
 * policy change denied the connection (see bw_datapath.h).
 */
#ifndef BW_LIB_CONNTRACK_H
#define BW_LIB_CONNTRACK_H

#include "lib/maps.h"

enum {
	BW_CT_NEW = 0,
	BW_CT_ESTABLISHED,
	BW_CT_REPLY,
	BW_CT_RELATED,
	BW_CT_DENIED_FWD, /* forward hit on a tombstone: re-check policy */
	BW_CT_DENIED_REV, /* reverse hit on a tombstone: never create */
};

/* Deadlines and report times are jiffies truncated to 32 bits (see
 * struct bw_ct_entry): compared as signed differences. */
static __always_inline int bw_ct_expired(const struct bw_ct_entry *e, __u32 now)
{
	return (__s32)(e->expires - now) < 0;
}

static __always_inline void bw_ct_key_fill(struct bw_ct_key *k, const __u8 *s, const __u8 *d,
					   __be16 sp, __be16 dp, __u32 ep, __u8 proto, __u8 dir,
					   __u8 family)
{
	__builtin_memcpy(k->saddr, s, 16);
	__builtin_memcpy(k->daddr, d, 16);
	k->sport = sp;
	k->dport = dp;
	k->ep_id = ep;
	k->protocol = proto;
	k->direction = dir;
	k->family = family;
	k->pad0 = 0;
}

static __always_inline __u8 bw_dir_other(__u8 dir)
{
	return dir == BW_DIR_INGRESS ? BW_DIR_EGRESS : BW_DIR_INGRESS;
}

static __always_inline struct bw_ct_entry *bw_ct_get(struct bw_ct_key *k, __u32 now)
{
	struct bw_ct_entry *e = bpf_map_lookup_elem(&bw_ct, k);

	if (e && bw_ct_expired(e, now)) {
		bpf_map_delete_elem(&bw_ct, k);
		return NULL;
	}
	return e;
}

/* In ticks (bw_config's *_j fields, written by the daemon). */
static __always_inline __u32 bw_ct_lifetime(const struct bw_config *cfg, __u8 proto,
					    __u32 ct_flags)
{
	if (proto != IPPROTO_TCP)
		return cfg->ct_nontcp_j;
	if (ct_flags & (BW_CT_F_RST_SEEN | BW_CT_F_FIN_SEEN))
		return cfg->ct_tcp_close_j;
	if (ct_flags & BW_CT_F_ESTABLISHED)
		return cfg->ct_tcp_j;
	return cfg->ct_tcp_syn_j;
}

/* The forward lookup: an entry of this tuple in this direction. */
static __always_inline int bw_ct_fwd(const struct bw_pkt *p, __u32 ep_id, __u8 dir, __u32 now,
				     struct bw_ct_key *key, struct bw_ct_entry **ep)
{
	struct bw_ct_entry *e;

	bw_ct_key_fill(key, p->saddr, p->daddr, p->sport, p->dport, ep_id, p->proto, dir,
		       p->family);
	e = bw_ct_get(key, now);
	if (!e)
		return BW_CT_NEW;
	if (!(e->flags & (BW_CT_F_DENIED | BW_CT_F_UPSTREAM))) {
		*ep = e;
		return BW_CT_ESTABLISHED;
	}
	if (e->flags & BW_CT_F_DENIED) {
		*ep = e;
		return BW_CT_DENIED_FWD;
	}
	return BW_CT_NEW; /* a proxy's upstream entry serves its replies only */
}

/* The reverse lookup: an entry of the reversed tuple in the other direction. */
static __always_inline int bw_ct_rev(const struct bw_pkt *p, __u32 ep_id, __u8 dir, __u32 now,
				     struct bw_ct_key *key, struct bw_ct_entry **ep)
{
	struct bw_ct_entry *e;

	bw_ct_key_fill(key, p->daddr, p->saddr, p->dport, p->sport, ep_id, p->proto,
		       bw_dir_other(dir), p->family);
	e = bw_ct_get(key, now);
	if (!e)
		return BW_CT_NEW;
	*ep = e;
	return (e->flags & BW_CT_F_DENIED) ? BW_CT_DENIED_REV : BW_CT_REPLY;
}

/*
 * Look the packet up. On ESTABLISHED/REPLY/DENIED_* *ep points to the entry
 * and @key holds its key.
 *
 * A tuple has one entry per endpoint: in the direction of its first
 * packet. Which of the two lookups hits first is a guess from the ports: a
 * packet from the lower port to the higher one is usually a server's reply
 * to a client's ephemeral port, so it tries the reversed tuple first and a
 * reply costs one lookup, not a miss and a hit. The order only matters when
 * a tuple has entries both ways for one endpoint (two first packets
 * crossing): then the first lookup's entry serves.
 */
static __always_inline int bw_ct_lookup(const struct bw_pkt *p, __u32 ep_id, __u8 dir, __u32 now,
					struct bw_ct_key *key, struct bw_ct_entry **ep)
{
	struct bw_ct_entry *e;
	int st;

	*ep = NULL;
	if (bpf_ntohs(p->sport) < bpf_ntohs(p->dport)) {
		st = bw_ct_rev(p, ep_id, dir, now, key, ep);
		if (st != BW_CT_NEW)
			return st;
		st = bw_ct_fwd(p, ep_id, dir, now, key, ep);
	} else {
		st = bw_ct_fwd(p, ep_id, dir, now, key, ep);
		if (st != BW_CT_NEW)
			return st;
		st = bw_ct_rev(p, ep_id, dir, now, key, ep);
	}
	if (st != BW_CT_NEW)
		return st;
	if (p->flags & BW_PKT_ICMP_ERR) {
		/* quote of a packet we sent in the connection's direction ... */
		bw_ct_key_fill(key, p->in_saddr, p->in_daddr, p->in_sport, p->in_dport, ep_id,
			       p->in_proto, bw_dir_other(dir), p->family);
		e = bw_ct_get(key, now);
		if (e && !(e->flags & BW_CT_F_DENIED))
			return BW_CT_RELATED;
		/* ... or of a reply we sent */
		bw_ct_key_fill(key, p->in_daddr, p->in_saddr, p->in_dport, p->in_sport, ep_id,
			       p->in_proto, dir, p->family);
		e = bw_ct_get(key, now);
		if (e && !(e->flags & BW_CT_F_DENIED))
			return BW_CT_RELATED;
	}
	return BW_CT_NEW;
}

/*
 * Whether a NEW packet that policy allowed starts a tracked connection.
 * ICMP: only echo requests. TCP: a SYN, or a mid-stream packet that an
 * enforced direction's policy explicitly allowed. A mid-stream TCP packet in
 * an unenforced direction passes without creating an entry: otherwise the
 * peer of a connection that policy cut could re-open it as a "reply" by
 * sending one more segment (retransmit, keepalive).
 */
static __always_inline int bw_ct_creates(const struct bw_pkt *p, int enforced)
{
	if (p->flags & BW_PKT_ICMP)
		return (p->flags & BW_PKT_ECHO_REQ) != 0;
	if (p->proto == IPPROTO_TCP) {
		if ((p->tcp_flags & (BW_TCP_SYN | BW_TCP_ACK)) == BW_TCP_SYN)
			return 1;
		return enforced && !(p->tcp_flags & (BW_TCP_FIN | BW_TCP_RST));
	}
	return 1;
}

/* struct bw_ct_new (what a new entry records besides the packet): lib/maps.h */

static __always_inline int bw_ct_create(const struct bw_pkt *p, __u32 ep_id, __u8 dir,
					const struct bw_config *cfg, __u32 now,
					const struct bw_ct_new *n, struct bw_ct_key *k,
					struct bw_ct_entry *ne)
{
	__u32 fl;

	bw_ct_key_fill(k, p->saddr, p->daddr, p->sport, p->dport, ep_id, p->proto, dir,
		       p->family);
	__builtin_memset(ne, 0, sizeof(*ne));
	ne->packets_fwd = 1;
	ne->bytes_fwd = p->len;
	ne->rule_ref = n->rule_ref;
	ne->peer_identity = n->peer_id;
	ne->peer_ifindex = n->peer_ifindex;
	ne->match_type = n->match_type;
	ne->tcp_flags_seen = p->tcp_flags;
	ne->proxy_class = n->proxy_class;
	fl = n->extra_flags | (n->proxy_class ? BW_CT_F_PROXY : 0);
	if (n->audited)
		fl |= BW_CT_F_AUDITED;
	if (n->peer_local)
		fl |= BW_CT_F_PEER_LOCAL;
	ne->report_fwd = now; /* the creation is reported */
	if (p->proto == IPPROTO_TCP) {
		if (p->tcp_flags & BW_TCP_SYN)
			fl |= BW_CT_F_SYN_SEEN;
		else if (!(p->tcp_flags & (BW_TCP_FIN | BW_TCP_RST)))
			fl |= BW_CT_F_ESTABLISHED; /* picked up mid-stream */
		if (p->tcp_flags & BW_TCP_RST)
			fl |= BW_CT_F_RST_SEEN;
	}
	ne->flags = (__u16)fl;
	ne->expires = now + bw_ct_lifetime(cfg, p->proto, fl);
	return bpf_map_update_elem(&bw_ct, k, ne, BPF_ANY);
}

/*
 * Account an ESTABLISHED or REPLY packet and advance the TCP state. Returns
 * a bit set of what a trace should report at the medium and maximum monitor
 * levels (Cilium's conntrack "report"): 1 = a TCP flag of
 * cfg->monitor_tcp_flags first seen in this direction, 2 = the connection
 * just started closing, 4 = the first packet in the reply direction, or
 * more than the monitor interval since the last report in this direction.
 * The counters are plain adds: two CPUs updating one entry at the same
 * instant (a connection's two directions) may lose a count, as Cilium's
 * do without atomics; a lock costs every packet.
 */
static __always_inline int bw_ct_update(struct bw_ct_entry *e, const struct bw_pkt *p,
					int is_reply, const struct bw_config *cfg, __u32 now)
{
	__u8 fl = p->tcp_flags, newfl;
	__u32 closing_before, closing_now, flags = e->flags, life;
	__u32 *last = is_reply ? &e->report_rev : &e->report_fwd;
	int report = 0;

	if (is_reply) {
		e->packets_rev += 1;
		e->bytes_rev += p->len;
		newfl = fl & ~e->tcp_flags_rev;
		if (newfl)
			e->tcp_flags_rev |= fl;
		if (!(flags & BW_CT_F_REPLY_SEEN)) {
			flags |= BW_CT_F_REPLY_SEEN;
			report |= 4;
		}
	} else {
		e->packets_fwd += 1;
		e->bytes_fwd += p->len;
		newfl = fl & ~e->tcp_flags_seen;
		if (newfl)
			e->tcp_flags_seen |= fl;
	}
	if (cfg->monitor_interval_j && now - *last >= cfg->monitor_interval_j)
		report |= 4;
	if (p->proto != IPPROTO_TCP) {
		life = cfg->ct_nontcp_j;
		goto refresh;
	}
	if (newfl & cfg->monitor_tcp_flags)
		report |= 1;
	closing_before = flags & (BW_CT_F_RST_SEEN | BW_CT_F_FIN_SEEN);
	if (fl & BW_TCP_RST)
		flags |= BW_CT_F_RST_SEEN;
	/* FIN counts as closing once both directions have sent one */
	if ((e->tcp_flags_seen & BW_TCP_FIN) && (e->tcp_flags_rev & BW_TCP_FIN))
		flags |= BW_CT_F_FIN_SEEN;
	closing_now = flags & (BW_CT_F_RST_SEEN | BW_CT_F_FIN_SEEN);
	if (closing_now) {
		if (!closing_before) {
			e->expires = now + cfg->ct_tcp_close_j;
			report |= 2;
		}
		goto out;
	}
	if (!(flags & BW_CT_F_ESTABLISHED) && is_reply && (fl & BW_TCP_ACK))
		flags |= BW_CT_F_ESTABLISHED;
	life = (flags & BW_CT_F_ESTABLISHED) ? cfg->ct_tcp_j : cfg->ct_tcp_syn_j;
refresh:
	/* written when it moves by a tick at least: most packets of a stream
	 * share their tick */
	if (e->expires != now + life)
		e->expires = now + life;
out:
	if (flags != e->flags)
		e->flags = (__u16)flags;
	if (report)
		*last = now;
	return report;
}

#endif /* BW_LIB_CONNTRACK_H */
