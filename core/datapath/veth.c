/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/datapath/veth.c - the two MAC addresses of an endpoint's veth pair,
 * which eBPF host routing writes into a packet it delivers straight into
 * the pod (bpf/lib/hostroute.h): the host side's own, read in the daemon's
 * namespace, and the pod side's, read through the host side's link-netnsid
 * (RTM_GETLINK with IFLA_TARGET_NETNSID), without entering the pod's
 * namespace. rtnetlink through libmnl, as core/datapath/redirect.c does.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "core/datapath/datapath_int.h"

#ifndef IFLA_TARGET_NETNSID
#define IFLA_TARGET_NETNSID 46
#endif

struct veth_link {
	uint8_t mac[6];
	int has_mac;
	uint32_t peer; /* IFLA_LINK: the peer's ifindex (in its namespace) */
	int32_t nsid;  /* IFLA_LINK_NETNSID, -1 if none (same namespace) */
};

static int veth_attr(const struct nlattr *a, void *data)
{
	struct veth_link *l = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_ADDRESS:
		if (mnl_attr_get_payload_len(a) == 6) {
			memcpy(l->mac, mnl_attr_get_payload(a), 6);
			l->has_mac = 1;
		}
		break;
	case IFLA_LINK:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			l->peer = mnl_attr_get_u32(a);
		break;
	case IFLA_LINK_NETNSID:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			l->nsid = (int32_t)mnl_attr_get_u32(a);
		break;
	}
	return MNL_CB_OK;
}

static int veth_msg(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(struct ifinfomsg), veth_attr, data);
	return MNL_CB_OK;
}

/* RTM_GETLINK of ifindex (in namespace nsid, or ours when nsid < 0). */
static int veth_getlink(struct mnl_socket *nl, uint32_t ifindex, int32_t nsid,
			struct veth_link *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;
	unsigned portid = mnl_socket_get_portid(nl);
	uint32_t seq = (uint32_t)time(NULL) ^ ifindex;
	int rc;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	if (nsid >= 0)
		mnl_attr_put_u32(nlh, IFLA_TARGET_NETNSID, (uint32_t)nsid);
	memset(out, 0, sizeof(*out));
	out->nsid = -1;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	rc = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (rc < 0)
		return -errno;
	rc = mnl_cb_run(buf, (size_t)rc, seq, portid, veth_msg, out);
	return rc < 0 ? -errno : 0;
}

int dp_veth_macs(int ifindex, uint8_t host_mac[6], uint8_t peer_mac[6])
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	struct veth_link host, peer;
	int rc;

	memset(host_mac, 0, 6);
	memset(peer_mac, 0, 6);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		goto out;
	}
	rc = veth_getlink(nl, (uint32_t)ifindex, -1, &host);
	if (rc < 0)
		goto out;
	if (host.has_mac)
		memcpy(host_mac, host.mac, 6);
	if (!host.peer) {
		rc = -ENODEV; /* not a veth (or a pair whose peer is gone) */
		goto out;
	}
	rc = veth_getlink(nl, host.peer, host.nsid, &peer);
	if (rc == 0 && peer.has_mac)
		memcpy(peer_mac, peer.mac, 6);
out:
	mnl_socket_close(nl);
	return rc;
}
