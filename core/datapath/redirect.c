/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/datapath/redirect.c - proxy classes, the proxies' transparent
 * sockets, their routing and their upstream sockets (see
 * core/datapath/redirect.h and docs/redirect.md).
 *
 * The routing rule and route are written with rtnetlink through libmnl (a
 * small, well-kept Debian library) rather than by running ip(8): the
 * daemon must not depend on a shell tool at run time, and an error comes
 * back as an errno it can report. They live in the daemon's own network
 * namespace only; nothing else of the node is touched.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <jansson.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>

#include "core/api.h"
#include "core/config.h" /* before bw_datapath.h: its BW_ENFORCE_* macros */
#include "core/datapath/datapath.h"
#include "core/datapath/datapath_int.h"
#include "core/datapath/redirect.h"
#include "core/log.h"

#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT 19
#endif
#ifndef IP_RECVORIGDSTADDR
#define IP_RECVORIGDSTADDR 20
#endif
#ifndef IP_ORIGDSTADDR
#define IP_ORIGDSTADDR IP_RECVORIGDSTADDR
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif
#ifndef IPV6_RECVORIGDSTADDR
#define IPV6_RECVORIGDSTADDR 74
#endif
#ifndef IPV6_ORIGDSTADDR
#define IPV6_ORIGDSTADDR IPV6_RECVORIGDSTADDR
#endif

#define RD_NAME_MAX 64

static const char *const rd_builtin[BW_PROXY_CLASS_NAMED] = {
	[BW_PROXY_CLASS_DNS] = "dns",
	[BW_PROXY_CLASS_HTTP] = "http",
	[BW_PROXY_CLASS_KAFKA] = "kafka",
};

static struct {
	char names[BW_PROXY_CLASSES][RD_NAME_MAX];
	struct bw_proxy_info info[BW_PROXY_CLASSES]; /* what bw_proxy holds ... */
	uint8_t info_known[BW_PROXY_CLASSES];        /* ... for the classes written */
	uint32_t table, priority;
	int routes; /* bw_redirect_init installed them */
} rd;

/* ---- classes ------------------------------------------------------------- */

static int rd_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= RD_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

int bw_redirect_class_id(const char *name, int create)
{
	unsigned i;

	if (!name || !rd_name_ok(name))
		return -EINVAL;
	for (i = 1; i < BW_PROXY_CLASS_NAMED; i++)
		if (!strcmp(rd_builtin[i], name))
			return (int)i;
	for (i = BW_PROXY_CLASS_NAMED; i < BW_PROXY_CLASSES; i++)
		if (!strcmp(rd.names[i], name))
			return (int)i;
	if (!create)
		return -ENOENT;
	for (i = BW_PROXY_CLASS_NAMED; i < BW_PROXY_CLASSES; i++)
		if (!rd.names[i][0]) {
			snprintf(rd.names[i], sizeof(rd.names[i]), "%s", name);
			return (int)i;
		}
	return -ENOSPC;
}

const char *bw_redirect_class_name(unsigned cls)
{
	if (cls == 0 || cls >= BW_PROXY_CLASSES)
		return NULL;
	if (cls < BW_PROXY_CLASS_NAMED)
		return rd_builtin[cls];
	return rd.names[cls][0] ? rd.names[cls] : NULL;
}

/*
 * The class table is written by this daemon only (rd_info_put), so reads
 * come from a copy: the proxies ask for a class's port on every connection
 * (bw_redirect_port), which would otherwise be a bpf() call each time.
 */
static int rd_info_get(unsigned cls, struct bw_proxy_info *pi)
{
	uint32_t k = cls;

	memset(pi, 0, sizeof(*pi));
	if (dp_ready() < 0)
		return -ENXIO;
	if (cls < BW_PROXY_CLASSES && rd.info_known[cls]) {
		*pi = rd.info[cls];
		return 0;
	}
	if (bpf_map_lookup_elem(dp_fd_proxy(), &k, pi) < 0)
		return -errno;
	return 0;
}

static int rd_info_put(unsigned cls, const struct bw_proxy_info *pi)
{
	uint32_t k = cls;

	if (bpf_map_update_elem(dp_fd_proxy(), &k, pi, BPF_ANY) < 0) {
		bw_err("redirect: writing the proxy class table: %s", strerror(errno));
		return -errno;
	}
	if (cls < BW_PROXY_CLASSES) {
		rd.info[cls] = *pi;
		rd.info_known[cls] = 1;
	}
	return 0;
}

uint16_t bw_redirect_port(unsigned cls, int protocol)
{
	struct bw_proxy_info pi;

	if (rd_info_get(cls, &pi) < 0)
		return 0;
	return ntohs(protocol == IPPROTO_UDP ? pi.port_udp : pi.port);
}

/* ---- routing (rtnetlink) ---------------------------------------------------- */

/*
 * One request, answered with an ack. ignore: an errno that counts as
 * success (EEXIST when adding, ENOENT / ESRCH when removing).
 */
static int rd_nl_talk(struct mnl_socket *nl, struct nlmsghdr *nlh, int ignore)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned portid = mnl_socket_get_portid(nl);
	int rc;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	rc = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (rc < 0)
		return -errno;
	rc = mnl_cb_run(buf, (size_t)rc, nlh->nlmsg_seq, portid, NULL, NULL);
	if (rc < 0)
		return errno == ignore ? 0 : -errno;
	return 0;
}

static int rd_rule(struct mnl_socket *nl, int family, int add, uint32_t seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct fib_rule_hdr *frh;

	nlh->nlmsg_type = add ? RTM_NEWRULE : RTM_DELRULE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	nlh->nlmsg_seq = seq;
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = (uint8_t)family;
	frh->action = FR_ACT_TO_TBL;
	frh->table = RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, rd.priority);
	mnl_attr_put_u32(nlh, FRA_FWMARK, BW_MARK_TO_PROXY);
	mnl_attr_put_u32(nlh, FRA_FWMASK, BW_MARK_MAGIC_MASK);
	mnl_attr_put_u32(nlh, FRA_TABLE, rd.table);
	return rd_nl_talk(nl, nlh, add ? EEXIST : ENOENT);
}

static int rd_route(struct mnl_socket *nl, int family, int add, uint32_t seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	unsigned lo = if_nametoindex("lo");
	struct rtmsg *rtm;

	if (!lo)
		return -errno;
	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	nlh->nlmsg_seq = seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = 0;
	rtm->rtm_table = RT_TABLE_UNSPEC;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_HOST;
	rtm->rtm_type = RTN_LOCAL;
	mnl_attr_put_u32(nlh, RTA_TABLE, rd.table);
	mnl_attr_put_u32(nlh, RTA_OIF, lo);
	return rd_nl_talk(nl, nlh, add ? EEXIST : ESRCH);
}

/* Add (or remove) the rule and route of both families. */
static int rd_routing(int add)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	uint32_t seq = (uint32_t)time(NULL);
	int rc = 0;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		mnl_socket_close(nl);
		return rc;
	}
	for (size_t i = 0; i < 2; i++) {
		int e, f = fams[i];

		/* the route first when adding, last when removing: the rule never
		 * points at an empty table */
		e = add ? rd_route(nl, f, 1, seq++) : rd_rule(nl, f, 0, seq++);
		if (e == 0)
			e = add ? rd_rule(nl, f, 1, seq++) : rd_route(nl, f, 0, seq++);
		if (e < 0) {
			/* a node without IPv6 cannot have the IPv6 half */
			if (f == AF_INET6 && (e == -EAFNOSUPPORT || e == -EOPNOTSUPP))
				continue;
			/*
			 * Not fatal: only connections redirected to a proxy
			 * (of this family) cannot be delivered without it; the
			 * rest of the datapath does not depend on it.
			 */
			bw_warn("redirect: cannot %s the IPv%d policy-routing rule (fwmark 0x%x/0x%x lookup %u) or its route (local default dev lo table %u): %s%s",
				add ? "install" : "remove", f == AF_INET ? 4 : 6, BW_MARK_TO_PROXY,
				BW_MARK_MAGIC_MASK, rd.table, rd.table, strerror(-e),
				add ? "; connections redirected to a proxy will fail" : "");
			if (!rc)
				rc = e;
		}
	}
	mnl_socket_close(nl);
	return rc;
}

/*
 * GET /v1/status "redir" (a short key: `bulwark status` aligns its
 * table on the longest one): the routing table and, per class with an open
 * socket, its ports: {"table": 2004, "classes": {"dns": {"tcp": 41234,
 * "udp": 41234}}}.
 */
static json_t *rd_status(void *arg)
{
	json_t *o = json_pack("{s:I,s:o}", "table", (json_int_t)rd.table, "classes", json_object());
	json_t *classes = json_object_get(o, "classes");

	(void)arg;
	for (unsigned c = 1; c < BW_PROXY_CLASSES && classes; c++) {
		struct bw_proxy_info pi;
		const char *name = bw_redirect_class_name(c);

		if (!name || rd_info_get(c, &pi) < 0 || (!pi.port && !pi.port_udp))
			continue;
		json_object_set_new(classes, name,
				    json_pack("{s:i,s:i}", "tcp", (int)ntohs(pi.port), "udp",
					      (int)ntohs(pi.port_udp)));
	}
	return o;
}

int bw_redirect_init(uint32_t table, uint32_t priority)
{
	int rc = dp_ready();

	if (rc < 0)
		return rc;
	rd.table = table;
	rd.priority = priority;
	rd_routing(1); /* warns; the daemon runs without proxy routing */
	rd.routes = 1;
	/* the sockets of the previous run are gone: ports unknown until a
	 * proxy opens its socket; DNS goes to its server without its proxy */
	for (unsigned c = 1; c < BW_PROXY_CLASSES; c++) {
		struct bw_proxy_info pi = { .flags = c == BW_PROXY_CLASS_DNS ? BW_PROXY_F_PASS : 0 };

		rc = rd_info_put(c, &pi);
		if (rc < 0)
			return rc;
	}
	bw_api_status_add("redir", rd_status, NULL); /* -EEXIST after a re-init: fine */
	bw_info("redirect: proxy traffic (fwmark 0x%x/0x%x) goes to table %u (rule priority %u)",
		BW_MARK_TO_PROXY, BW_MARK_MAGIC_MASK, table, priority);
	return 0;
}

void bw_redirect_close(void)
{
	if (!rd.routes)
		return;
	bw_api_status_remove("redir");
	rd_routing(0);
	rd.routes = 0;
}

/* ---- sockets -------------------------------------------------------------------- */

socklen_t bw_redirect_addrlen(const struct sockaddr *sa)
{
	if (!sa)
		return 0;
	if (sa->sa_family == AF_INET)
		return sizeof(struct sockaddr_in);
	if (sa->sa_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	return 0;
}

static int rd_transparent(int fd, int family)
{
	int one = 1;

	if (family == AF_INET6)
		return setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one));
	return setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one));
}

int bw_redirect_listen(unsigned cls, int protocol, int family, uint16_t port, uint16_t *bound)
{
	struct sockaddr_storage ss;
	struct bw_proxy_info pi;
	socklen_t len;
	uint32_t key;
	uint64_t sockfd, cookie;
	int fd, one = 1, rc = dp_ready(), udp = protocol == IPPROTO_UDP;

	if (rc < 0)
		return rc;
	if (cls == 0 || cls >= BW_PROXY_CLASSES || (protocol != IPPROTO_TCP && !udp) ||
	    (family != AF_INET && family != AF_INET6))
		return -EINVAL;
	key = BW_PROXY_SOCK_KEY(cls, udp, family == AF_INET6);
	if (bpf_map_lookup_elem(dp_fd_proxy_socks(), &key, &cookie) == 0)
		return -EBUSY; /* an open socket has the slot (closing it frees it) */
	rd_info_get(cls, &pi);
	if (!port)
		port = ntohs(pi.port ? pi.port : pi.port_udp);
	fd = socket(family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    rd_transparent(fd, family) < 0 ||
	    (family == AF_INET6 && setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    (udp && family == AF_INET &&
	     setsockopt(fd, SOL_IP, IP_RECVORIGDSTADDR, &one, sizeof(one)) < 0) ||
	    (udp && family == AF_INET6 &&
	     setsockopt(fd, SOL_IPV6, IPV6_RECVORIGDSTADDR, &one, sizeof(one)) < 0))
		goto fail;
	for (int attempt = 0; attempt < 2; attempt++) {
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = (sa_family_t)family;
		if (family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = htons(attempt ? 0 : port);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(attempt ? 0 : port);
		if (bind(fd, (struct sockaddr *)&ss, bw_redirect_addrlen((struct sockaddr *)&ss)) == 0)
			break;
		if (attempt || !port || errno != EADDRINUSE)
			goto fail;
	}
	if (!udp && listen(fd, SOMAXCONN) < 0)
		goto fail;
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		goto fail;
	*bound = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					 : ((struct sockaddr_in6 *)&ss)->sin6_port);
	sockfd = (uint64_t)fd;
	if (bpf_map_update_elem(dp_fd_proxy_socks(), &key, &sockfd, BPF_ANY) < 0)
		goto fail;
	if (udp)
		pi.port_udp = htons(*bound);
	else
		pi.port = htons(*bound);
	rc = rd_info_put(cls, &pi);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
fail:
	rc = -errno;
	close(fd);
	return rc;
}

long bw_redirect_recvmsg(int fd, void *buf, size_t len, struct sockaddr_storage *src,
			 struct sockaddr_storage *orig_dst)
{
	char cbuf[256];
	struct iovec iov = { buf, len };
	struct msghdr m = {
		.msg_name = src,
		.msg_namelen = sizeof(*src),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	ssize_t n;

	memset(orig_dst, 0, sizeof(*orig_dst));
	n = recvmsg(fd, &m, 0);
	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_ORIGDSTADDR)
			memcpy(orig_dst, CMSG_DATA(c), sizeof(struct sockaddr_in));
		else if (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_ORIGDSTADDR)
			memcpy(orig_dst, CMSG_DATA(c), sizeof(struct sockaddr_in6));
	}
	if (orig_dst->ss_family == 0)
		return -EPROTO; /* not a redirected datagram */
	return (long)n;
}

int bw_redirect_reply_udp(const struct sockaddr *orig_dst, const struct sockaddr *client,
			  const void *buf, size_t len)
{
	int fd, one = 1, rc = 0;

	if (!bw_redirect_addrlen(orig_dst) || orig_dst->sa_family != client->sa_family)
		return -EINVAL;
	fd = socket(orig_dst->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    rd_transparent(fd, orig_dst->sa_family) < 0 ||
	    bind(fd, orig_dst, bw_redirect_addrlen(orig_dst)) < 0 ||
	    sendto(fd, buf, len, 0, client, bw_redirect_addrlen(client)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static void rd_addr16(const struct sockaddr *sa, uint8_t *out, uint16_t *port)
{
	memset(out, 0, 16);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		out[10] = 0xff;
		out[11] = 0xff;
		memcpy(&out[12], &s4->sin_addr, 4);
		*port = s4->sin_port;
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		memcpy(out, &s6->sin6_addr, 16);
		*port = s6->sin6_port;
	}
}

int bw_redirect_ct_key(struct bw_ct_key *k, int protocol, const struct sockaddr *src,
		       const struct sockaddr *dst, uint32_t ep_id, uint8_t dir)
{
	uint16_t sp, dp;

	if (!bw_redirect_addrlen(src) || src->sa_family != dst->sa_family)
		return -EAFNOSUPPORT;
	memset(k, 0, sizeof(*k));
	rd_addr16(src, k->saddr, &sp);
	rd_addr16(dst, k->daddr, &dp);
	k->sport = sp;
	k->dport = dp;
	k->ep_id = ep_id;
	k->protocol = (uint8_t)protocol;
	k->direction = dir;
	k->family = src->sa_family == AF_INET ? 4 : 6;
	return 0;
}

static uint16_t rd_port(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET ? ((const struct sockaddr_in *)sa)->sin_port
					: ((const struct sockaddr_in6 *)sa)->sin6_port;
}

static int rd_connect_once(int protocol, const struct sockaddr *src, const struct sockaddr *dst,
			   uint32_t mark, uint32_t ep_id, uint32_t peer_id, int do_connect)
{
	int fd, rc, family = dst->sa_family;
	int type = protocol == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;

	fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		goto fail;
	if (src) {
		struct sockaddr_storage b;
		socklen_t blen = bw_redirect_addrlen(src);

		memcpy(&b, src, blen);
		if (family == AF_INET)
			((struct sockaddr_in *)&b)->sin_port = 0;
		else
			((struct sockaddr_in6 *)&b)->sin6_port = 0;
		if (rd_transparent(fd, family) < 0 || bind(fd, (struct sockaddr *)&b, blen) < 0)
			goto fail;
		if (!ep_id && rd_port(src) == 0)
			goto bound; /* no port to avoid, no entry to write */
		blen = sizeof(b);
		if (getsockname(fd, (struct sockaddr *)&b, &blen) < 0)
			goto fail;
		if ((family == AF_INET &&
		     ((struct sockaddr_in *)&b)->sin_port == ((const struct sockaddr_in *)src)->sin_port) ||
		    (family == AF_INET6 &&
		     ((struct sockaddr_in6 *)&b)->sin6_port == ((const struct sockaddr_in6 *)src)->sin6_port)) {
			close(fd);
			return -EADDRINUSE; /* the client's port: the caller tries again */
		}
		if (ep_id) {
			struct bw_ct_key k;
			struct bw_ct_entry e;

			bw_redirect_ct_key(&k, protocol, (struct sockaddr *)&b, dst, ep_id,
					   BW_DIR_EGRESS);
			memset(&e, 0, sizeof(e));
			e.flags = BW_CT_F_UPSTREAM | (protocol == IPPROTO_TCP ? BW_CT_F_SYN_SEEN : 0);
			e.peer_identity = peer_id;
			e.expires = dp_ct_now() + dp_ct_ticks(protocol == IPPROTO_TCP
								      ? dp_config()->ct_tcp_syn_s
								      : dp_config()->ct_nontcp_s);
			rc = bw_datapath_ct_put(&k, &e);
			if (rc < 0) {
				close(fd);
				return rc;
			}
		}
	}
bound:
	if (do_connect && connect(fd, dst, bw_redirect_addrlen(dst)) < 0 && errno != EINPROGRESS)
		goto fail;
	return fd;
fail:
	rc = -errno;
	close(fd);
	return rc;
}

int bw_redirect_connect(int protocol, const struct sockaddr *src, const struct sockaddr *dst,
			uint32_t mark, uint32_t ep_id, uint32_t peer_id, int do_connect)
{
	int fd;

	if (!bw_redirect_addrlen(dst) || (src && src->sa_family != dst->sa_family))
		return -EINVAL;
	for (int attempt = 0; src && attempt < 4; attempt++) {
		/*
		 * Never the client's own port: the upstream connection would
		 * have the client connection's tuple, and share its tracking
		 * entries (the client's, at its veth or the uplink).
		 */
		fd = rd_connect_once(protocol, src, dst, mark, ep_id, peer_id, do_connect);
		if (fd != -EADDRINUSE)
			return fd;
	}
	if (src)
		return -EADDRINUSE;
	return rd_connect_once(protocol, NULL, dst, mark, 0, peer_id, do_connect);
}
