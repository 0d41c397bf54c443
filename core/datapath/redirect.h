/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/datapath/redirect.h - the node side of transparent proxy redirects
 * (docs/redirect.md): proxy classes, the proxies' sockets, the routing the
 * datapath's socket assignment needs, and the proxies' upstream sockets.
 *
 * The datapath (bpf/lib/redirect.h) hands a redirected connection to the
 * socket of its proxy class in bw_proxy_socks and marks it
 * BW_MARK_TO_PROXY; bw_redirect_init() installs, in the daemon's own
 * network namespace only, one policy-routing rule per family ("fwmark
 * BW_MARK_TO_PROXY/BW_MARK_MAGIC_MASK lookup TABLE") and the table's only
 * route ("local default dev lo"), so such packets are delivered to the
 * local socket instead of being forwarded; bw_redirect_close() removes
 * them again.
 *
 * Everything runs on the daemon's loop thread; functions return 0 (or an
 * fd) or a negative errno and log what failed, unless said otherwise.
 */
#ifndef BW_DATAPATH_REDIRECT_H
#define BW_DATAPATH_REDIRECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct bw_ct_key;

/* daemon.redirect_table / daemon.redirect_rule_priority defaults */
#define BW_REDIRECT_TABLE_DEFAULT 2004
#define BW_REDIRECT_PRIORITY_DEFAULT 9

/*
 * Install the routing rules and routes (IPv4 and IPv6; an existing equal
 * rule is kept) and reset the class table (bw_proxy: ports unknown, DNS
 * passes without its proxy, every other class drops). Call after
 * bw_datapath_init(). A rule or route that cannot be installed is a
 * warning, not an error: only redirected connections need them.
 */
int bw_redirect_init(uint32_t table, uint32_t priority);

/* Remove the rules and routes bw_redirect_init() installed. */
void bw_redirect_close(void);

/*
 * The class number of a proxy class name: "dns", "http", "kafka", or an
 * l7proto name ([a-z0-9._-], at most 63 characters), numbered from
 * BW_PROXY_CLASS_NAMED on in the order they are first asked for (create
 * non-zero). Returns 1..BW_PROXY_CLASSES-1, -ENOENT (unknown and not
 * created), -EINVAL (bad name) or -ENOSPC (no class left).
 */
int bw_redirect_class_id(const char *name, int create);

/* The name of a class number, or NULL. */
const char *bw_redirect_class_name(unsigned cls);

/*
 * Open the class's transparent socket for protocol (IPPROTO_TCP: a
 * listener; IPPROTO_UDP: a datagram socket with IP(V6)_RECVORIGDSTADDR)
 * and family (AF_INET / AF_INET6), non-blocking, bound to the wildcard
 * address and port (0: the port another socket of the class has, else one
 * the kernel picks), and make it the class's socket in bw_proxy_socks (it
 * leaves the map when it is closed). *bound gets the port. Returns the fd
 * (the caller owns it), -EBUSY when an open socket has that slot already.
 */
int bw_redirect_listen(unsigned cls, int protocol, int family, uint16_t port, uint16_t *bound);

/* The class's listening port for protocol (0 when none is open). */
uint16_t bw_redirect_port(unsigned cls, int protocol);

/*
 * A datagram from a class's UDP socket: the client (*src) and the address
 * it was sent to (*orig_dst). Returns the length, or -errno (-EAGAIN when
 * none is waiting). Never logs.
 */
long bw_redirect_recvmsg(int fd, void *buf, size_t len, struct sockaddr_storage *src,
			 struct sockaddr_storage *orig_dst);

/*
 * Send a datagram to a client from its original destination (a transparent
 * socket bound to orig_dst for the call). Returns 0 or -errno. Never logs.
 */
int bw_redirect_reply_udp(const struct sockaddr *orig_dst, const struct sockaddr *client,
			  const void *buf, size_t len);

/*
 * A proxy's upstream socket towards dst: non-blocking, SO_MARK mark, and,
 * with do_connect, connected (TCP: in progress; without it the caller
 * connects to dst). With src it is bound to src's address (transparently,
 * any port); with ep_id as well, a connection-tracking entry (endpoint
 * ep_id, egress, src -> dst, BW_CT_F_UPSTREAM, peer identity peer_id) lets
 * the replies that the node itself sends to src reach the socket (they are
 * turned around at ep_id's veth). The socket never gets src's port (with
 * a port in src, or with ep_id, the bound port is checked and another one
 * taken): its connection would have the client connection's tuple. Returns
 * the fd. Never logs (the caller decides).
 */
int bw_redirect_connect(int protocol, const struct sockaddr *src, const struct sockaddr *dst,
			uint32_t mark, uint32_t ep_id, uint32_t peer_id, int do_connect);

/* Length of a sockaddr of family AF_INET / AF_INET6 (0 otherwise). */
socklen_t bw_redirect_addrlen(const struct sockaddr *sa);

/*
 * The connection-tracking key of a TCP/UDP tuple as the datapath writes it
 * for endpoint ep_id in direction dir (IPv4 addresses IPv4-mapped).
 * Returns 0 or -EAFNOSUPPORT.
 */
int bw_redirect_ct_key(struct bw_ct_key *k, int protocol, const struct sockaddr *src,
		       const struct sockaddr *dst, uint32_t ep_id, uint8_t dir);

#endif /* BW_DATAPATH_REDIRECT_H */
