/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/endpoint.h - the endpoint registry and namespaces.
 *
 * An endpoint is a workload behind a host-side veth: a small numeric id
 * (never 0, stable across restarts), namespace and pod name, the veth,
 * addresses, pod labels, named ports and an audit option. Its identity
 * labels are Cilium's: k8s:<each security-relevant pod label>,
 * k8s:io.kubernetes.pod.namespace=NS, k8s:io.cilium.k8s.namespace.labels.
 * <k>=<v> for each namespace label, k8s:io.cilium.k8s.policy.cluster=default.
 *
 * Namespaces carry labels (kubernetes.io/metadata.name=NS always present)
 * and an audit option; changing a namespace's labels re-labels every
 * endpoint in it.
 *
 * Endpoints and namespaces are persisted in <state_dir>/endpoints.json
 * (atomic write) and restored at start. Every change is validated in full
 * before anything is touched and is applied completely or not at all. The
 * control API routes (POST/GET /v1/endpoints, PUT/DELETE /v1/endpoints/NS/POD,
 * PUT/GET /v1/namespaces[/NS]) are registered by bw_endpoint_init().
 *
 * Everything here runs on the loop thread. Pointers to endpoints stay valid
 * until the endpoint is deleted (after BW_EP_EVENT_DELETED).
 */
#ifndef BW_ENDPOINT_H
#define BW_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct bw_labelset;
struct bw_endpoint;

#define BW_EP_MAX_IPS 4
#define BW_EP_MAX_NAMED_PORTS 64

struct bw_ep_addr {
	int family;       /* 4 or 6 */
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
};

struct bw_ep_named_port {
	char name[16];    /* IANA service name, <= 15 characters */
	uint16_t port;    /* host order */
	uint8_t protocol; /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP */
};

/* ---- life cycle ------------------------------------------------------------ */

/* Register the control API routes. Returns 0 or a negative errno. */
int bw_endpoint_init(void);

/*
 * Restore endpoints and namespaces from <state_dir>/endpoints.json: the
 * registry, identities (the allocator gives the same numbers) and ipcache
 * entries. The policy is not resolved here and nothing is attached: the
 * caller runs bw_policy_recompute() and then bw_endpoint_attach_all(), so
 * that the maps hold the recomputed policy before programs are (re)attached.
 * An endpoint whose veth no longer exists is dropped with a warning.
 * Returns 0 (also when there is no file) or a negative errno (unreadable
 * or corrupt file: fatal at start-up, the file is left alone).
 */
int bw_endpoint_restore(void);

/*
 * At start, after bw_policy_recompute(): drop stale ipcache entries
 * (bw_ipcache_prune()), then attach the datapath to every endpoint's veth
 * (idempotent, replaces the programs of the previous run).
 */
int bw_endpoint_attach_all(void);

/* Free the registry (nothing is detached: enforcement outlives the daemon). */
void bw_endpoint_fini(void);

/* ---- changes (what the API handlers call) ---------------------------------- */

/*
 * Each takes the request body as the API receives it and returns 0, or a
 * negative errno with a message in err: -EINVAL bad input (400), -ENOENT
 * unknown endpoint (404), -EEXIST conflict (409), anything else internal
 * (500). On error nothing changed.
 *
 * add:    {"namespace", "pod", "host_ifname", "ips": [..],
 *          "labels": {"k": "v"}, "named_ports": ["NAME=PORT/PROTO" |
 *          {"name", "port", "protocol"}], "audit": bool}
 * update: {"labels": {...}, "audit": bool} - labels, when present, replace
 *          the pod's labels; audit, when present, replaces the option
 * namespace_set: {"labels": {...}, "audit": bool} - labels replace the
 *          namespace's labels (kubernetes.io/metadata.name=NS is added)
 */
int bw_endpoint_add(const json_t *spec, struct bw_endpoint **out, char *err,
		    size_t errlen);
int bw_endpoint_update(const char *ns, const char *pod, const json_t *spec,
		       char *err, size_t errlen);
int bw_endpoint_delete(const char *ns, const char *pod, char *err,
		       size_t errlen);
int bw_namespace_set(const char *ns, const json_t *spec, char *err,
		     size_t errlen);

/* HTTP status for one of the errors above. */
int bw_endpoint_http_status(int rc);

/* ---- lookups ----------------------------------------------------------------- */

struct bw_endpoint *bw_endpoint_find(const char *ns, const char *pod);
struct bw_endpoint *bw_endpoint_find_by_id(uint32_t id);
struct bw_endpoint *bw_endpoint_find_by_ifindex(int ifindex);
/* The endpoint owning the address (family 4 or 6, network order). */
struct bw_endpoint *bw_endpoint_find_by_ip(int family, const uint8_t *addr);
/* Visit every endpoint in id order; stops when cb returns non-zero. */
void bw_endpoint_foreach(int (*cb)(struct bw_endpoint *ep, void *arg),
			 void *arg);
size_t bw_endpoint_count(void);

/* ---- accessors ---------------------------------------------------------------- */

uint32_t bw_endpoint_id(const struct bw_endpoint *ep);
const char *bw_endpoint_ns(const struct bw_endpoint *ep);
const char *bw_endpoint_pod(const struct bw_endpoint *ep);
const char *bw_endpoint_ifname(const struct bw_endpoint *ep);
int bw_endpoint_ifindex(const struct bw_endpoint *ep);
const struct bw_ep_addr *bw_endpoint_ips(const struct bw_endpoint *ep,
					 size_t *n);
/* The pod labels as given (source k8s). */
const struct bw_labelset *bw_endpoint_pod_labels(const struct bw_endpoint *ep);
/* Every label: identity labels plus information labels. */
const struct bw_labelset *bw_endpoint_labels(const struct bw_endpoint *ep);
/* The security-relevant subset the identity is made of. */
const struct bw_labelset *bw_endpoint_identity_labels(const struct bw_endpoint *ep);
uint32_t bw_endpoint_identity(const struct bw_endpoint *ep);
const struct bw_ep_named_port *bw_endpoint_named_ports(const struct bw_endpoint *ep,
						       size_t *n);
/*
 * Resolve a named port: proto IPPROTO_* or 0 for any protocol. Returns 0
 * with the port (host order), or -ENOENT.
 */
int bw_endpoint_named_port(const struct bw_endpoint *ep, const char *name,
			   uint8_t proto, uint16_t *port);
/* The endpoint's own audit option, and its namespace's. */
int bw_endpoint_audit(const struct bw_endpoint *ep);
int bw_endpoint_ns_audit(const struct bw_endpoint *ep);

/* The endpoint as GET /v1/endpoints shows it (new reference). */
json_t *bw_endpoint_to_json(const struct bw_endpoint *ep);

/* ---- namespaces ---------------------------------------------------------------- */

/*
 * The labels of a namespace (source k8s, keys as set, e.g.
 * k8s:kubernetes.io/metadata.name=NS), or NULL for a namespace nobody set
 * and no endpoint uses.
 */
const struct bw_labelset *bw_namespace_labels(const char *ns);
/* The namespace's audit option (0 for unknown namespaces). */
int bw_namespace_audit(const char *ns);

/*
 * {"name", "labels": {...}, "audit", "endpoints": N} for one namespace
 * (NULL if unknown), or an array of every namespace (new references).
 */
json_t *bw_namespace_to_json(const char *ns);
json_t *bw_namespaces_to_json(void);

#endif /* BW_ENDPOINT_H */
