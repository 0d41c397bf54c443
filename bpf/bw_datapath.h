/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bw_datapath.h - every structure and constant that crosses the kernel/user
 * boundary. Included by the BPF programs (bpf/bw_*.bpf.c) and by the daemon
 * (core/datapath/datapath.c, core/flow/ files). Fixed-width types, explicit named padding;
 * the user side asserts the sizes (core/datapath/datapath.c).
 *
 * Map set (pinned under daemon.bpffs_dir, names are the pin file names):
 *   bw_endpoints  HASH      u32 ifindex (host-side veth)      -> struct bw_endpoint_info
 *   bw_epslots    ARRAY     u32 ifindex % BW_EPSLOTS          -> struct bw_endpoint_info
 *                  a direct-mapped copy of bw_endpoints (one array access
 *                  per packet instead of a hash lookup; see BW_EPSLOTS)
 *   bw_ipcache4   LPM_TRIE  struct bw_ipcache4_key             -> struct bw_ipcache_value
 *   bw_ipcache6   LPM_TRIE  struct bw_ipcache6_key             -> struct bw_ipcache_value
 *   bw_policy     LPM_TRIE  struct bw_policy_key               -> struct bw_policy_value
 *   bw_ct         LRU_HASH  struct bw_ct_key                   -> struct bw_ct_entry
 *   bw_metrics    PERCPU_ARRAY u32 BW_METRICS_IDX(reason, dir) -> struct bw_metrics_value
 *   bw_config     ARRAY[1]  u32 0                              -> struct bw_config
 *   bw_events     RINGBUF   struct bw_event records
 *   bw_events_lost PERCPU_ARRAY[1] u32 0                     -> __u64 events lost
 *                  because bw_events was full (the daemon sums the CPUs)
 *   bw_epaddr     HASH      struct bw_epaddr_key               -> u32 endpoint id
 *                  the addresses of local endpoints, exact match: the
 *                  anti-spoofing check (a hash lookup, not an LPM walk);
 *                  the daemon mirrors every host-prefix ipcache entry with
 *                  an endpoint id into it
 *   bw_frag       LRU_HASH  struct bw_frag_key                 -> struct bw_frag_value
 *                  L4 ports of first fragments, so later fragments (which
 *                  carry no L4 header) get the same CT/policy treatment
 *   bw_proxy      ARRAY[BW_PROXY_CLASSES] u32 class          -> struct bw_proxy_info
 *                  per proxy class (dns, http, kafka, named l7proto): the
 *                  listening port (for events) and what happens without a
 *                  proxy socket
 *   bw_proxy_socks SOCKMAP  u32 BW_PROXY_SOCK_KEY(class, udp, v6) -> socket
 *                  the proxies' listening sockets; a socket leaves the map
 *                  by itself when it is closed (daemon stopped)
 *   bw_tw_syn     LRU_HASH  struct bw_twsyn_key               -> u32 proxy class
 *                  a redirected SYN whose tuple a proxy's TIME_WAIT socket
 *                  holds: written by the tc programs, taken by the
 *                  daemon's sk_lookup program (bpf/bw_sklookup.bpf.c),
 *                  which hands the SYN to the class's listener
 *
 * Semantics are documented in docs/datapath.md.
 */
#ifndef BW_DATAPATH_H
#define BW_DATAPATH_H

/* __u8.. __u64, __be16, __be32 on both sides (no private typedefs: they
 * would clash with <linux/types.h>, which libbpf's headers include). */
#include <linux/types.h>

#define BW_MAP_ENDPOINTS "bw_endpoints"
#define BW_MAP_EPSLOTS "bw_epslots"
#define BW_MAP_IPCACHE4 "bw_ipcache4"
#define BW_MAP_IPCACHE6 "bw_ipcache6"
#define BW_MAP_POLICY "bw_policy"
#define BW_MAP_CT "bw_ct"
#define BW_MAP_METRICS "bw_metrics"
#define BW_MAP_CONFIG "bw_config"
#define BW_MAP_EVENTS "bw_events"
#define BW_MAP_EVENTS_LOST "bw_events_lost"
#define BW_MAP_FRAG "bw_frag"
#define BW_MAP_EPADDR "bw_epaddr"
#define BW_MAP_PROXY "bw_proxy"
#define BW_MAP_PROXY_SOCKS "bw_proxy_socks"
#define BW_MAP_TW_SYN "bw_tw_syn"

/* Default capacities (the user side may resize before load). */
#define BW_ENDPOINTS_MAX 4096
#define BW_IPCACHE_MAX 131072
#define BW_POLICY_MAX 262144
#define BW_CT_MAX 262144

#define BW_EVENTS_BYTES (8u << 20)
#define BW_FRAG_MAX 8192
#define BW_EPADDR_MAX (BW_ENDPOINTS_MAX * 4)

/* Reserved identities (Cilium's numbers). */
#define BW_ID_UNKNOWN 0
#define BW_ID_HOST 1
#define BW_ID_WORLD 2
#define BW_ID_UNMANAGED 3
#define BW_ID_HEALTH 4
#define BW_ID_INIT 5
#define BW_ID_REMOTE_NODE 6
#define BW_ID_KUBE_APISERVER 7
#define BW_ID_INGRESS 8
#define BW_ID_WORLD_IPV4 9
#define BW_ID_WORLD_IPV6 10
#define BW_ID_LOCAL_SCOPE 0x01000000u /* node-local (CIDR/FQDN) identities */

/* Directions, as seen from the endpoint. */
#define BW_DIR_INGRESS 1
#define BW_DIR_EGRESS 2

/* ---- endpoints ---------------------------------------------------------- */

#define BW_EP_F_ENFORCE_INGRESS (1u << 0) /* ingress is default-deny */
#define BW_EP_F_ENFORCE_EGRESS (1u << 1)  /* egress is default-deny */
#define BW_EP_F_AUDIT (1u << 2)           /* drops become AUDIT verdicts */
/*
 * Set by the datapath (core/datapath/datapath.c), whatever the caller of
 * bw_datapath_endpoint_put() gives: the endpoint's own addresses, for the
 * anti-spoofing check without a map lookup. HAS_IPV4 / HAS_IPV6: ipv4 /
 * ipv6 hold its only address of that family; EPADDR: it has more than one
 * address of a family, bw_epaddr decides.
 */
#define BW_EP_F_HAS_IPV4 (1u << 3)
#define BW_EP_F_HAS_IPV6 (1u << 4)
#define BW_EP_F_EPADDR (1u << 5)
/*
 * Also the datapath's: the endpoint's veth has the programs (set by
 * bw_datapath_attach, or when an endpoint is put on a veth that has them).
 * Until then no packet is checked for it and it has no connection; host
 * routing delivers only to ready endpoints (others go through the stack
 * to their veth, as without it).
 */
#define BW_EP_F_READY (1u << 6)
#define BW_EP_F_DP_MASK (BW_EP_F_HAS_IPV4 | BW_EP_F_HAS_IPV6 | BW_EP_F_EPADDR | BW_EP_F_READY)

/*
 * One lookup gives everything the programs need of the endpoint whose veth
 * a packet crosses: its identity, enforcement, addresses, and for eBPF
 * host routing (docs/datapath.md) the MAC addresses a packet delivered
 * into it gets.
 */
struct bw_endpoint_info {
	__u32 ep_id;    /* endpoint id (never 0) */
	__u32 identity; /* the endpoint's security identity */
	__u32 flags;    /* BW_EP_F_* */
	__u32 policy_rev; /* revision of the policy the entries were computed for */
	__u8 ipv6[16];  /* with BW_EP_F_HAS_IPV6 */
	__u8 ipv4[4];   /* with BW_EP_F_HAS_IPV4 */
	__u8 mac[6];    /* the pod's interface (the veth's peer); 0 = unknown */
	__u8 host_mac[6]; /* the host-side veth's own address; 0 = unknown */
	__u32 pad0;
	__u32 ifindex;  /* the host-side veth (the bw_endpoints key); last, see
			 * bw_epslots */
};

/*
 * bw_epslots: a direct-mapped copy of bw_endpoints, slot ifindex %
 * BW_EPSLOTS, so that the programs find their endpoint with an array
 * access instead of a hash lookup (the endpoint is the one lookup every
 * packet makes). A slot holds the endpoint whose ifindex it names (0:
 * none); an endpoint whose slot is taken by another lives in bw_endpoints
 * only. A slot is given to an endpoint when it is added and freed when it is
 * deleted (after its programs are detached), never handed from one live
 * endpoint to another, and ifindex is the last field the kernel's copy
 * writes: a program reading a slot that names its interface reads that
 * endpoint's values.
 */
#define BW_EPSLOTS 16384

/* ---- ipcache ------------------------------------------------------------ */

struct bw_ipcache4_key {
	__u32 prefixlen; /* LPM prefix length in bits, 0..32 */
	__u8 addr[4];
};

struct bw_ipcache6_key {
	__u32 prefixlen; /* 0..128 */
	__u8 addr[16];
};

struct bw_ipcache_value {
	__u32 identity;
	__u32 ep_id;   /* local endpoint owning this address, 0 if none */
	__u32 ifindex; /* that endpoint's host-side veth (set by the datapath), 0 if none */
};

/* bw_epaddr key: an endpoint's address (IPv4-mapped for IPv4, as in the
 * packet parser) and its family. */
struct bw_epaddr_key {
	__u8 addr[16];
	__u8 family; /* 4 or 6 */
	__u8 pad0[3];
};

/* ---- policy ------------------------------------------------------------- */

/*
 * One LPM trie for all endpoints. The fixed part (ep_id, identity, direction)
 * is always matched in full: its 72 bits count in prefixlen. Then protocol
 * (8 bits) and dport (16 bits, network order) may be wildcarded from the
 * right, as in Cilium's policy map: prefixlen = 72 (any proto, any port),
 * 80 (proto exact, any port), 80+n (proto exact, first n bits of dport).
 * Port ranges are stored as power-of-two aligned blocks. For ICMP/ICMPv6 the
 * ICMP type is stored in the high byte of dport (dport = type << 8, in network
 * order, i.e. the first byte), so a type matches with prefixlen 88.
 * identity 0 means "any peer" (L4-only entries).
 */
#define BW_POLICY_FIXED_BITS 72
#define BW_POLICY_FULL_BITS 96

struct bw_policy_key {
	__u32 prefixlen;
	__u32 ep_id;    /* big endian in the trie (written with htonl) */
	__u32 identity; /* big endian (htonl), 0 = any */
	__u8 direction; /* BW_DIR_* */
	__u8 protocol;  /* IPPROTO_*, 0 = any */
	__be16 dport;   /* network order */
};

#define BW_POL_F_DENY (1u << 0)
/*
 * Visibility (a per-endpoint setting, docs/redirect.md "Visibility"): an
 * entry of identity 0 at one port that gives no verdict of its own (the
 * lookups go on as if it were absent) but sends a connection that the
 * other entries allow to the proxy of its proxy_class, unless they
 * redirect it themselves.
 */
#define BW_POL_F_VISIBILITY (1u << 1)

struct bw_policy_value {
	__u32 rule_ref;  /* index into the daemon's rule table (attribution) */
	__u8 flags;      /* BW_POL_F_* */
	__u8 prefix_len; /* the key's prefixlen - 72 (0..24), to rank matches */
	__u8 proxy_class; /* non-zero: an allow that redirects new connections
			   * to this proxy class (BW_PROXY_CLASS_*) */
	__u8 pad0;
};

/* ---- connection tracking ------------------------------------------------ */

/*
 * One entry per (endpoint, direction, tuple), keyed in the direction of the
 * connection's first packet as seen by that endpoint's check. Addresses are
 * IPv4-mapped for IPv4 (::ffff:a.b.c.d) so one map serves both families.
 */
struct bw_ct_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport; /* for ICMP echo: the identifier (key of the request) */
	__be16 dport; /* for ICMP echo: 0 */
	__u32 ep_id;
	__u8 protocol;
	__u8 direction; /* BW_DIR_* of the check that created it */
	__u8 family;    /* 4 or 6 */
	__u8 pad0;
};

#define BW_CT_F_SYN_SEEN (1u << 0)
#define BW_CT_F_ESTABLISHED (1u << 1)
#define BW_CT_F_FIN_SEEN (1u << 2)
#define BW_CT_F_RST_SEEN (1u << 3)
#define BW_CT_F_REPLY_SEEN (1u << 4)
#define BW_CT_F_AUDITED (1u << 5)
/*
 * Tombstone: the daemon found that policy now denies this connection
 * (bw_datapath_ct_revalidate). Forward packets are checked against policy
 * again (and revive the entry if allowed); packets in the reverse direction
 * never create a new entry from it, so a cut connection cannot come back
 * through the reply path.
 */
#define BW_CT_F_DENIED (1u << 6)
/* the peer is another local endpoint: at aggregated monitor levels its own
 * program traces what this endpoint sends it */
#define BW_CT_F_PEER_LOCAL (1u << 7)
/*
 * Proxy redirects (docs/redirect.md). proxy_class != 0: the connection was
 * handed to that class's proxy; its forward packets keep going there.
 * PROXY_INGRESS: the redirect was made for the peer's ingress policy (the
 * peer is a local endpoint; decided at this, the client's, veth).
 * FROM_PROXY: the connection was opened by a local proxy (its SO_MARK):
 * replies are delivered to the proxy's socket in the node.
 * UPSTREAM: written by the daemon for a proxy's upstream socket bound to
 * this endpoint's address; only replies use it (they are turned around to
 * the proxy), a forward packet never matches it.
 */
#define BW_CT_F_PROXY_INGRESS (1u << 8)
#define BW_CT_F_FROM_PROXY (1u << 9)
#define BW_CT_F_UPSTREAM (1u << 10)
/* set with proxy_class != 0, so that one flags test tells a tracked
 * packet whether a proxy is involved at all */
#define BW_CT_F_PROXY (1u << 11)
#define BW_CT_F_PROXY_ANY (BW_CT_F_PROXY | BW_CT_F_FROM_PROXY | BW_CT_F_UPSTREAM)

/*
 * 64 bytes, one cache line. Times are in jiffies (bpf_jiffies64(), the
 * kernel's tick counter: read inline by the programs, where
 * bpf_ktime_get_ns() is a helper call) truncated to 32 bits and compared
 * as signed differences, so a deadline may lie at most 2^31 ticks ahead
 * (24 days at HZ=1000; lifetimes are capped at 7 days). bw_config.hz
 * converts.
 */
struct bw_ct_entry {
	__u64 packets_fwd;
	__u64 bytes_fwd;
	__u64 packets_rev;
	__u64 bytes_rev;
	__u32 expires;     /* deadline, jiffies */
	__u32 rule_ref;    /* policy entry that allowed it */
	__u32 peer_identity;
	__u32 peer_ifindex; /* host veth of the peer when it is a local endpoint */
	__u32 report_fwd;  /* jiffies of the last trace report per direction */
	__u32 report_rev;
	__u16 flags;       /* BW_CT_F_* */
	__u8 tcp_flags_seen; /* union of TCP flags seen in the forward direction */
	__u8 match_type;
	__u8 tcp_flags_rev;  /* union of TCP flags seen in the reply direction */
	__u8 proxy_class;    /* non-zero: redirected to this proxy class */
	__u8 pad0[2];
};

/* ---- fragments ---------------------------------------------------------- */

struct bw_frag_key {
	__u8 saddr[16]; /* IPv4-mapped for IPv4 */
	__u8 daddr[16];
	__u32 id;       /* IPv4 id (16 bits) or IPv6 fragment id, as on the wire */
	__u8 protocol;
	__u8 family;
	__u8 pad0[2];
};

struct bw_frag_value {
	__be16 sport;   /* CT form (ICMP echo: identifier in sport or dport) */
	__be16 dport;
	__u8 icmp_type;
	__u8 flags;     /* internal parse flags of the first fragment */
	__u8 pad0[2];
};

/* CT lifetimes in seconds (defaults; the daemon may override in bw_config). */
#define BW_CT_LIFETIME_TCP_SYN 60
#define BW_CT_LIFETIME_TCP 21600
#define BW_CT_LIFETIME_TCP_CLOSE 10
#define BW_CT_LIFETIME_NONTCP 60
#define BW_CT_LIFETIME_MAX (7 * 86400) /* the jiffies deadline's range */

/* ---- config ------------------------------------------------------------- */

#define BW_ENFORCE_DEFAULT 0
#define BW_ENFORCE_ALWAYS 1
#define BW_ENFORCE_NEVER 2

#define BW_CFG_F_AUDIT (1u << 0) /* global audit mode */
/* event classes switched off ([flows] trace_events, drop_events,
 * policy_verdict_events = false): no record is written to bw_events; drops
 * are still counted in bw_metrics */
#define BW_CFG_F_NO_TRACE (1u << 1)
#define BW_CFG_F_NO_DROP (1u << 2)
#define BW_CFG_F_NO_POLICY_VERDICT (1u << 3)
/* some endpoint's ingress policy redirects to a proxy: new connections
 * between local endpoints look the server's ingress policy up at the
 * client's veth (docs/redirect.md) */
#define BW_CFG_F_INGRESS_REDIRECT (1u << 4)

/* eBPF host routing (datapath.host_routing = bpf, docs/datapath.md): a
 * packet both programs' policy let through goes straight into a local
 * peer's namespace (bpf_redirect_peer) or to the next hop of an off-node
 * destination (bpf_fib_lookup + bpf_redirect_neigh), past the node's
 * routing and netfilter */
#define BW_CFG_F_HOST_ROUTING (1u << 5)

struct bw_config {
	__u32 enforcement; /* BW_ENFORCE_*: always/never override the endpoint
			    * flags in the kernel; default uses them (the user
			    * side may also fold the mode into the flags) */
	__u32 flags;       /* BW_CFG_F_* */
	__u32 ct_tcp_syn_s;
	__u32 ct_tcp_s;
	__u32 ct_tcp_close_s;
	__u32 ct_nontcp_s;
	__u32 monitor_level; /* aggregation level, see BW_MONITOR_* */
	__u32 monitor_interval_ms; /* medium/maximum: report a connection again
				    * after this long in a direction (0: never) */
	__u32 monitor_tcp_flags;   /* medium/maximum: TCP flags (BW_TCP_*) whose
				    * first sighting in a direction is reported */
	/*
	 * Written by the datapath (bw_datapath_set_config) from the fields
	 * above: the kernel's tick rate and the lifetimes and interval in
	 * ticks, which is what the programs read.
	 */
	__u32 hz;
	__u32 ct_tcp_syn_j;
	__u32 ct_tcp_j;
	__u32 ct_tcp_close_j;
	__u32 ct_nontcp_j;
	__u32 monitor_interval_j;
	__u32 pad0;
};

/*
 * Monitor aggregation levels, with Cilium's numbers (--monitor-aggregation):
 *  NONE    a trace at every observation point: both programs trace a packet
 *          between two local endpoints;
 *  LOWEST, LOW  a trace per packet, once, at its transmit side: bw_to_lxc
 *          when it enters a local endpoint, bw_from_lxc only when its
 *          destination is not a local endpoint;
 *  MEDIUM, MAX  at the transmit side, only when conntrack reports: a new
 *          connection, a TCP flag of monitor_tcp_flags first seen in a
 *          direction, the start of the close, the first reply, or
 *          monitor_interval_ms since the last report in that direction.
 *          Packets without a conntrack entry are not traced. (Cilium's
 *          maximum acts like medium in its datapath too.)
 * Drops and policy verdicts are never aggregated.
 */
#define BW_MONITOR_NONE 0
#define BW_MONITOR_LOWEST 1
#define BW_MONITOR_LOW 2
#define BW_MONITOR_MEDIUM 3
#define BW_MONITOR_MAX 4
#define BW_MONITOR_INTERVAL_MS 5000 /* Cilium's --monitor-aggregation-interval */

/* The ring buffer is read in batches: a record only wakes the reader when
 * at least this many bytes wait (or for drops and policy verdicts); the
 * daemon also reads it on a short timer (core/flow/flow.c). */
#define BW_EVENTS_WAKEUP_BYTES (64 * 1024)

/* ---- drop reasons (Cilium's codes, see lib/dropreason.c for strings) --- */

#define BW_DROP_INVALID_SOURCE_IP 132
#define BW_DROP_POLICY 133
#define BW_DROP_INVALID_PACKET 134
#define BW_DROP_CT_INVALID_HDR 135
#define BW_DROP_CT_UNKNOWN_PROTO 137
#define BW_DROP_UNSUPPORTED_L3 139
#define BW_DROP_UNKNOWN_L4 142
#define BW_DROP_CT_MAP_INSERT_FAILED 155
#define BW_DROP_INVALID_IPV6_EXTHDR 156
#define BW_DROP_FRAG_NOSUPPORT 157
#define BW_DROP_FRAG_NOT_FOUND 175 /* later fragment, first one not seen */
#define BW_DROP_NO_CONFIG 165
#define BW_DROP_SOCKET_LOOKUP_FAILED 178 /* no proxy socket for a redirect */
#define BW_DROP_SOCKET_ASSIGN_FAILED 179
#define BW_DROP_PROXY_UNSUPPORTED 180 /* TCP redirect the node cannot do */
#define BW_DROP_POLICY_DENY 181

/* ---- proxy redirects ---------------------------------------------------- */

/*
 * Proxy classes: one listening socket per (class, TCP/UDP, IPv4/IPv6).
 * 0 is "no redirect"; l7proto names get numbers from
 * BW_PROXY_CLASS_NAMED on, assigned by the daemon (kept in its state dir).
 */
#define BW_PROXY_CLASSES 64
#define BW_PROXY_CLASS_DNS 1
#define BW_PROXY_CLASS_HTTP 2
#define BW_PROXY_CLASS_KAFKA 3
#define BW_PROXY_CLASS_NAMED 4
#define BW_PROXY_SOCK_KEY(cls, udp, v6) \
	((((__u32)(cls)) << 2) | (((__u32)!!(udp)) << 1) | (__u32)!!(v6))
#define BW_PROXY_SOCKS_MAX (BW_PROXY_CLASSES * 4)

/* Without a socket of its class, a redirected connection goes to its
 * original destination (the L3/L4 verdict stands); without this flag it is
 * dropped (BW_DROP_SOCKET_LOOKUP_FAILED). */
#define BW_PROXY_F_PASS (1u << 0)

struct bw_proxy_info {
	__be16 port;  /* the class's listening port (TCP), for events; 0 = none yet */
	__u8 flags;   /* BW_PROXY_F_* */
	__u8 pad0;
	__be16 port_udp; /* the UDP socket's port */
	__u8 pad1[2];
};

/*
 * skb marks. The magic nibble (BW_MARK_MAGIC_MASK) says what the mark
 * means; the policy-routing rule the daemon installs matches
 * BW_MARK_TO_PROXY under that mask and sends the packet to a routing table
 * whose only route is "local default dev lo", so it is delivered to the
 * socket the datapath assigned (or the one its tuple names).
 *   TO_PROXY            deliver locally (to a proxy socket)
 *   HAIRPIN             bw_to_lxc turned the packet around into the ingress
 *                       of the same veth; class in BW_MARK_CLASS()
 *   FROM_PROXY_EGRESS   SO_MARK of a proxy's upstream socket that serves an
 *                       egress redirect: the server's ingress policy still
 *                       applies in full (and may redirect again)
 *   FROM_PROXY_INGRESS  SO_MARK of the upstream of an ingress redirect: the
 *                       server's ingress L7 rules were applied by the proxy
 */
#define BW_MARK_MAGIC_MASK 0x0f00u
#define BW_MARK_TO_PROXY 0x0b00u
#define BW_MARK_HAIRPIN 0x0c00u
#define BW_MARK_FROM_PROXY_EGRESS 0x0d00u
#define BW_MARK_FROM_PROXY_INGRESS 0x0e00u
#define BW_MARK_CLASS_SHIFT 16
#define BW_MARK_CLASS(m) (((m) >> BW_MARK_CLASS_SHIFT) & 0xffu)

/*
 * A client that reuses its port while the proxy's side of its previous
 * connection waits in TIME_WAIT (the proxy closed first): the kernel
 * delivers the new SYN to the TIME_WAIT socket, which hands it to a
 * listener found by the connection's own destination port - none, for a
 * transparent redirect - unless an sk_lookup program picks one. The tc
 * programs note the tuple here (bw_redirect_assign), the daemon's
 * sk_lookup program picks the class's listener for it, and the kernel
 * retires the TIME_WAIT socket (as iptables TPROXY does). Addresses
 * IPv4-mapped, ports in network order.
 */
#define BW_TWSYN_MAX 4096

struct bw_twsyn_key {
	__u8 saddr[16]; /* the client */
	__u8 daddr[16]; /* the original destination */
	__be16 sport;
	__be16 dport;
	__u8 family;    /* 4 or 6 */
	__u8 pad0[3];
};

/* ---- metrics ------------------------------------------------------------ */

/* What a bw_metrics slot counts (the user side's view of an index). */
struct bw_metrics_key {
	__u8 reason;    /* 0 = forwarded, else a drop reason */
	__u8 direction; /* BW_DIR_* */
	__u8 pad0[2];
};

/* bw_metrics is an array (a per-CPU array lookup is a bounds check and an
 * add, a hash lookup costs tens of ns per packet): slot = direction << 8 |
 * reason, directions 0..2. */
#define BW_METRICS_SLOTS (3 * 256)
#define BW_METRICS_IDX(reason, dir) ((((__u32)(dir)) << 8) | (__u32)(reason))

struct bw_metrics_value {
	__u64 packets;
	__u64 bytes;
};

/* ---- events (ring buffer) ----------------------------------------------- */

#define BW_EVENT_DROP 1           /* Hubble event_type 1 */
#define BW_EVENT_TRACE 4          /* Hubble event_type 4 */
#define BW_EVENT_POLICY_VERDICT 5 /* Hubble event_type 5 */

/* trace sub-types (observation points) */
#define BW_TRACE_TO_ENDPOINT 0   /* TRACE_TO_LXC */
#define BW_TRACE_TO_PROXY 1      /* TRACE_TO_PROXY: handed to a local proxy */
#define BW_TRACE_FROM_ENDPOINT 5 /* TRACE_FROM_LXC */

/* policy-verdict match types (Cilium's numbering) */
#define BW_MATCH_NONE 0
#define BW_MATCH_L3_ONLY 1
#define BW_MATCH_L3_L4 2
#define BW_MATCH_L4_ONLY 3
#define BW_MATCH_ALL 4
#define BW_MATCH_L3_PROTO 5
#define BW_MATCH_PROTO_ONLY 6

#define BW_EV_F_AUDITED (1u << 0)
#define BW_EV_F_IS_REPLY (1u << 1)
#define BW_EV_F_IPV6 (1u << 2)
#define BW_EV_F_CT_NEW (1u << 3)
#define BW_EV_F_CT_CLOSE (1u << 4)
#define BW_EV_F_CT_RELATED (1u << 5) /* ICMP error of a tracked connection */
/*
 * Two events in one record (a POLICY_VERDICT record only): the reader
 * (bw_flow_expand_event, core/flow) hands on the verdict without the flag,
 * then the event the flag names, rebuilt from the same record:
 *   WITH_TRACE  a TRACE of the connection's creation: subtype
 *               BW_TRACE_FROM_ENDPOINT (egress) or BW_TRACE_TO_ENDPOINT
 *               (ingress), verdict FORWARDED, flags BW_EV_F_CT_NEW plus the
 *               record's AUDITED and IPV6, match_type 0, ct_packets 1,
 *               ct_bytes pkt_len;
 *   WITH_DROP   the DROP of the denied packet: type DROP, the rest as is.
 * A new connection's events then cost one ring buffer record, not two.
 */
#define BW_EV_F_WITH_TRACE (1u << 6)
#define BW_EV_F_WITH_DROP (1u << 7)

/* bw_event.verdict (Hubble's Verdict numbers) */
#define BW_VERDICT_FORWARDED 1
#define BW_VERDICT_DROPPED 2
#define BW_VERDICT_AUDIT 4
#define BW_VERDICT_REDIRECTED 5

/*
 * What each event type carries:
 *  DROP            subtype = drop reason; verdict DROPPED; rule_ref and
 *                  match_type of a deny entry when a deny entry caused it.
 *  POLICY_VERDICT  one per new connection in an enforced direction:
 *                  verdict FORWARDED (subtype 0), REDIRECTED (handed to a
 *                  proxy, proxy_port set), DROPPED (subtype = drop
 *                  reason 133/181/178) or AUDIT (subtype = the reason it would
 *                  have had, flags BW_EV_F_AUDITED); rule_ref, match_type.
 *  TRACE           subtype = BW_TRACE_*; verdict FORWARDED; with
 *                  monitor_level NONE one per packet, otherwise one on CT
 *                  create (BW_EV_F_CT_NEW), one per TCP flag first seen in a
 *                  direction, one on close (BW_EV_F_CT_CLOSE, with the
 *                  connection's packet/byte counts in ct_packets/ct_bytes).
 */

/* Every record in bw_events is one struct bw_event. */
struct bw_event {
	__u8 type;      /* BW_EVENT_* */
	__u8 subtype;   /* drop reason, trace observation point */
	__u8 direction; /* BW_DIR_* */
	__u8 protocol;  /* IPPROTO_* */
	__u32 flags;    /* BW_EV_F_* */
	__u64 ts_ns;    /* bpf_ktime_get_ns() (monotonic; user side converts) */
	__u32 ep_id;    /* the endpoint whose check produced it */
	__u32 ifindex;
	__u32 src_identity;
	__u32 dst_identity;
	__u32 rule_ref;   /* policy entry behind a verdict, 0 = none */
	__u8 match_type;  /* BW_MATCH_* */
	__u8 tcp_flags;   /* TCP flags of this packet */
	__u8 verdict;     /* 1 forwarded, 2 dropped, 4 audit (Hubble numbers) */
	__u8 icmp_type;
	__u8 saddr[16];   /* IPv4 in the first 4 bytes when !BW_EV_F_IPV6 */
	__u8 daddr[16];
	__be16 sport;     /* ICMP: the echo identifier (0 for other types) */
	__be16 dport;     /* ICMP: the code, in network order (ntohs(dport) ==
			   * code, 0..255); the type is in icmp_type */
	__u32 pkt_len;
	__u64 ct_packets; /* trace on close: packets/bytes of the connection */
	__u64 ct_bytes;
	__be16 proxy_port; /* REDIRECTED verdicts and to-proxy traces */
	__u8 pad0[6];
};

#ifndef __BPF__
/*
 * The events of one record (see BW_EV_F_WITH_TRACE): ev[0] and, when the
 * record stands for two, ev[1]. Returns how many (1 or 2).
 */
static inline int bw_event_expand(const struct bw_event *rec, struct bw_event ev[2])
{
	ev[0] = *rec;
	if (rec->type != BW_EVENT_POLICY_VERDICT ||
	    !(rec->flags & (BW_EV_F_WITH_TRACE | BW_EV_F_WITH_DROP)))
		return 1;
	ev[0].flags &= ~(BW_EV_F_WITH_TRACE | BW_EV_F_WITH_DROP);
	ev[1] = ev[0];
	if (rec->flags & BW_EV_F_WITH_DROP) {
		ev[1].type = BW_EVENT_DROP;
		return 2;
	}
	ev[1].type = BW_EVENT_TRACE;
	ev[1].subtype = rec->direction == BW_DIR_EGRESS ? BW_TRACE_FROM_ENDPOINT
							: BW_TRACE_TO_ENDPOINT;
	ev[1].verdict = BW_VERDICT_FORWARDED;
	ev[1].flags = BW_EV_F_CT_NEW | (rec->flags & (BW_EV_F_AUDITED | BW_EV_F_IPV6));
	ev[1].match_type = 0;
	ev[1].ct_packets = 1;
	ev[1].ct_bytes = rec->pkt_len;
	return 2;
}
#endif

#endif /* BW_DATAPATH_H */
