/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/flowpeer.h - how the adoption tools (flow history, exposure, deny
 * alerts) name the two sides of a flow and the policies behind it, so that
 * `bulwark history`, `exposure`, `compliance` and the alerts all speak of
 * the same things in the same words.
 *
 *   pods       "NS/WORKLOAD": the workload is the pod's
 *              app.kubernetes.io/name, app or k8s-app label, else its
 *              Kubernetes workload (given with the endpoint or derived from
 *              the pod name: web-7d4b9c8f6-lm5vz -> web), else the pod name
 *   outside    a DNS name when the flow carries one, else the address as a
 *              host CIDR ("203.0.113.7/32", "2001:db8::7/128")
 *   reserved   "host", "remote-node", "kube-apiserver", "ingress", ...
 *   policies   "Kind NS/NAME", or "Kind NAME" for a cluster-wide policy
 *
 * libc only; used by the daemon's modules and the tests.
 */
#ifndef BW_LIB_FLOWPEER_H
#define BW_LIB_FLOWPEER_H

#include <stddef.h>
#include <stdint.h>

#include "bulwark/flow.h"

/* What a side is (the exposure classes are built from these). */
enum bw_peer_kind {
	BW_PEER_UNKNOWN = 0,
	BW_PEER_POD = 1,      /* a pod (local or known by identity): has a namespace */
	BW_PEER_WORLD = 2,    /* outside the cluster: world, CIDR and FQDN identities */
	BW_PEER_HOST = 3,     /* the node itself */
	BW_PEER_RESERVED = 4, /* another reserved identity (remote-node, ...) */
};

/* "pod", "world", "host", "reserved", "unknown". */
const char *bw_peer_kind_name(int kind);
/* The inverse; -1 when unknown. */
int bw_peer_kind_parse(const char *name);

/*
 * The workload name of a pod from its labels ("source:key=value" or
 * "key=value"), its Kubernetes workload name (may be NULL) and its pod
 * name. Returns a pointer into one of them (a label's value is copied
 * into buf, which needs room for it).
 */
const char *bw_flowpeer_workload(const char *const *labels, size_t n_labels,
				 const char *workload_name, const char *pod,
				 char *buf, size_t len);

/*
 * Name one side of a flow into buf (see above). ip is the side's address
 * text (bw_flow.src_ip / dst_ip). Returns its kind; *ns (may be NULL) gets
 * the namespace of a pod, else NULL.
 */
int bw_flowpeer_name(const struct bw_flow_endpoint *side, const char *ip,
		     char *buf, size_t len, const char **ns);

/* "Kind NS/NAME" or "Kind NAME" into buf; returns buf. */
const char *bw_flowpeer_policy(const struct bw_flow_policy *p, char *buf,
			       size_t len);

/*
 * The policies behind a flow's verdict, as "Kind NS/NAME" strings sorted
 * and joined by '\n' into buf ("" when none): the allowing or denying
 * policy of its direction, and for a default deny the isolating ones.
 * Returns how many.
 */
size_t bw_flowpeer_policies(const struct bw_flow *f, char *buf, size_t len);

/*
 * The key of a connection record: the destination port for TCP, UDP and
 * SCTP, the ICMP type for ICMP, else 0.
 */
uint16_t bw_flowpeer_port(const struct bw_flow *f);

/* "TCP", "UDP", "SCTP", "ICMPv4", "ICMPv6", or the number into buf. */
const char *bw_flowpeer_proto_name(unsigned proto, char *buf, size_t len);
/* The inverse (case-insensitive, numbers too); -1 when unknown. */
int bw_flowpeer_proto_parse(const char *name);

#endif /* BW_LIB_FLOWPEER_H */
