/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/node/endpoint.h - the endpoint registry and namespaces.
 *
 * An endpoint is a workload behind a host-side veth: a small numeric id
 * (never 0, stable across restarts), namespace and pod name, the veth,
 * addresses, pod labels, named ports, an audit option and the workload
 * (Deployment, StatefulSet, ...) the pod belongs to, given or derived from
 * the pod's name (flows show it as Hubble's `workloads`). Its identity
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

/* The workload (owner) of a pod, as Hubble's Workload {name, kind}. */
#define BW_EP_WORKLOAD_KIND_MAX 64
#define BW_EP_WORKLOAD_NAME_MAX 254
struct bw_ep_workload {
	char kind[BW_EP_WORKLOAD_KIND_MAX];  /* "Deployment", "StatefulSet", ... */
	char name[BW_EP_WORKLOAD_NAME_MAX];
};

struct bw_ep_named_port {
	char name[16];    /* IANA service name, <= 15 characters */
	uint16_t port;    /* host order */
	uint8_t protocol; /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP */
};

/*
 * Proxy visibility (docs/redirect.md "Visibility"): one item of an
 * endpoint's setting, Cilium's proxy-visibility annotation format
 * <Direction/Port/L4Protocol/L7Protocol>, e.g. <Ingress/80/TCP/HTTP>.
 */
#define BW_EP_MAX_VISIBILITY 16
struct bw_ep_visibility {
	int direction;    /* 1 ingress, 2 egress (BW_DIR_*) */
	uint16_t port;    /* 1..65535 */
	uint8_t protocol; /* IPPROTO_TCP, IPPROTO_UDP, or 0 for ANY */
	char l7[64];      /* the proxy class: "http", "dns", "kafka", an l7proto name */
};

/*
 * Parse a visibility setting: a comma-separated list of
 * <Ingress|Egress/PORT/TCP|UDP|ANY/L7PROTOCOL> (case-insensitive words;
 * HTTP, Kafka, DNS, or another protocol's name), "" or "none" for none.
 * Fills up to BW_EP_MAX_VISIBILITY items. 0 or -EINVAL with a message.
 */
int bw_ep_visibility_parse(const char *text, struct bw_ep_visibility *out, size_t *n,
			   char *err, size_t errlen);
/* The setting as text, in Cilium's spelling ("" when none). */
void bw_ep_visibility_format(const struct bw_ep_visibility *v, size_t n, char *buf,
			     size_t len);

/* ---- watchers ---------------------------------------------------------------- */

/* Endpoint events, for the watchers. */
#define BW_EP_EVENT_ADDED 1   /* new endpoint, or restored at start */
#define BW_EP_EVENT_UPDATED 2 /* labels, identity, addresses or options changed */
#define BW_EP_EVENT_DELETED 3 /* about to be freed: drop its state */

/*
 * Watch endpoints: fn(ep, event, arg) is called for every change, in
 * registration order, once the endpoint is visible to lookups. This is how
 * higher layers (the policy repository) learn about endpoints; endpoints
 * never call them directly. A watcher returning -errno for ADDED or UPDATED
 * fails the change: the change is undone, and the watchers see DELETED
 * (for ADDED) or UPDATED again with the old state. The return value for
 * DELETED is ignored. Returns 0 or -ENOMEM; unwatch with the same fn, arg.
 */
int bw_endpoint_watch(int (*fn)(struct bw_endpoint *ep, int event, void *arg),
		      void *arg);
void bw_endpoint_unwatch(int (*fn)(struct bw_endpoint *ep, int event, void *arg),
			 void *arg);

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
 *          {"name", "port", "protocol"}], "audit": bool,
 *          "proxy_visibility": "<Ingress/80/TCP/HTTP>,..." (docs/redirect.md),
 *          "workload": "KIND/NAME" | {"kind", "name"} | null}
 * update: {"labels": {...}, "audit": bool, "workload": ...,
 *          "proxy_visibility": ...} - labels, when
 *          present, replace the pod's labels; audit, when present, replaces
 *          the option; workload, when present, replaces the given workload
 *          (null or "": none given, the pod name's is used again)
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
/* The endpoint's proxy visibility items (none: *n = 0). */
const struct bw_ep_visibility *bw_endpoint_visibility(const struct bw_endpoint *ep,
						      size_t *n);
int bw_endpoint_ns_audit(const struct bw_endpoint *ep);

/*
 * The endpoint's workload: the one given with the endpoint, else the one
 * its pod name implies (bw_endpoint_workload_derive()), else NULL.
 * *derived (may be NULL) is set to 1 for a derived one.
 */
const struct bw_ep_workload *bw_endpoint_workload(const struct bw_endpoint *ep,
						  int *derived);

/*
 * The workload a pod name implies, the way Kubernetes names pods:
 *   NAME-<pod-template-hash>-<suffix>  -> Deployment NAME
 *       (hash: 5-10 characters of [bcdfghjklmnpqrstvwxz2456789], at least
 *        one of them a letter; suffix: 5 characters of the same alphabet)
 *   NAME-<ordinal>                     -> StatefulSet NAME
 *       (a decimal number without leading zeros, unless it could also be
 *        a 5-character random suffix)
 * Other names (NAME-<5 random characters> of DaemonSets, ReplicaSets and
 * Jobs, Jobs of CronJobs, bare pods) are ambiguous: 0 and nothing derived.
 * Returns 1 with *out filled.
 */
int bw_endpoint_workload_derive(const char *pod, struct bw_ep_workload *out);

/*
 * Parse and check "KIND/NAME" (e.g. "Deployment/web"). Well-known kinds
 * (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController,
 * Job, CronJob, Pod) are accepted in any case and spelled canonically;
 * others must look like a Kubernetes kind (CamelCase: a capital letter,
 * then letters and digits). NAME is a DNS subdomain. 0 or -EINVAL with a
 * message (without a field name) in err.
 */
int bw_endpoint_workload_parse(const char *s, struct bw_ep_workload *out,
			       char *err, size_t errlen);

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
