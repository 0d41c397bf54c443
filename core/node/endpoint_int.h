/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/node/endpoint_int.h - what core/node/endpoint.c shares with its request
 * parser (core/node/endpoint_spec.c) and its accessors
 * (core/node/endpoint_access.c). Not for other parts of the core.
 */
#ifndef BW_ENDPOINT_INT_H
#define BW_ENDPOINT_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/node/endpoint.h"

#include <net/if.h>

struct bw_labelset;

struct endpoint_ns {
	char *name;
	struct bw_labelset *labels; /* source k8s, namespace label keys */
	int audit;
	int explicit_set;           /* set through the API (kept when empty) */
	unsigned nendpoints;
	struct endpoint_ns *next;
};

/* What a relabel swaps in and out. */
struct endpoint_state {
	struct bw_labelset *pod_labels;
	struct bw_labelset *labels;
	struct bw_labelset *id_labels;
	uint32_t identity;
	int audit;
	struct bw_ep_visibility vis[BW_EP_MAX_VISIBILITY]; /* proxy visibility */
	size_t nvis;
};

struct bw_endpoint {
	uint32_t id;
	char *ns;
	char *pod;
	char ifname[IF_NAMESIZE];
	int ifindex;
	struct bw_ep_addr ips[BW_EP_MAX_IPS];
	size_t nips;
	struct endpoint_state st;
	struct bw_ep_named_port ports[BW_EP_MAX_NAMED_PORTS];
	size_t nports;
	struct bw_ep_workload wl;         /* given with the endpoint (wl_set) */
	int wl_set;
	struct bw_ep_workload wl_derived; /* from the pod name (wl_derived_ok) */
	int wl_derived_ok;
	struct endpoint_ns *nsp;
	struct bw_endpoint *next; /* sorted by id */
};


/* Everything of an add request, parsed and checked, nothing applied. */
struct bw_ep_spec {
	const char *ns, *pod, *ifname; /* point into the request */
	int ifindex;
	struct bw_ep_addr ips[BW_EP_MAX_IPS];
	size_t nips;
	struct bw_labelset *labels;    /* owned: free it */
	struct bw_ep_named_port ports[BW_EP_MAX_NAMED_PORTS];
	size_t nports;
	int audit;      /* -1: not given */
	int has_labels;
	int workload;   /* -1: not given, 0: null (none), 1: wl holds it */
	struct bw_ep_workload wl;
	int has_visibility;
	struct bw_ep_visibility vis[BW_EP_MAX_VISIBILITY];
	size_t nvis;
};

/*
 * Parse and check an add request (everything but the registry: names,
 * interface, addresses, labels, named ports, audit). 0 or -EINVAL with a
 * message naming the field; on success s->labels must be freed.
 */
int bw_ep_spec_parse_add(const json_t *spec, struct bw_ep_spec *s, char *err,
			 size_t errlen);

/*
 * {"k": "v"} -> k8s labels valid per Kubernetes. Pod labels may not use
 * the keys bulwark derives from the namespace (namespace_labels 0).
 * *out is a new set (empty for NULL/null obj).
 */
int bw_ep_spec_parse_labels(const json_t *obj, const char *field,
			    int namespace_labels, struct bw_labelset **out,
			    char *err, size_t errlen);

/*
 * "proxy_visibility": absent -> *set 0; null, "" or "none" -> *set 1 and
 * no items; a setting (bw_ep_visibility_parse) -> *set 1 and the items.
 */
int bw_ep_spec_parse_visibility(const json_t *spec, int *set, struct bw_ep_visibility *vis,
				size_t *n, char *err, size_t errlen);

/* "audit": absent/null -> -1, true/false -> 1/0, anything else -EINVAL. */
int bw_ep_spec_parse_audit(const json_t *spec, int *audit, char *err,
			   size_t errlen);

/*
 * "workload": absent -> -1; null or "" -> 0; "KIND/NAME" or
 * {"kind", "name"} -> 1 with *wl filled; anything else -EINVAL.
 */
int bw_ep_spec_parse_workload(const json_t *spec, struct bw_ep_workload *wl,
			      int *set, char *err, size_t errlen);

/* The body is an object with only the allowed (NULL-terminated) fields. */
int bw_ep_spec_check_fields(const json_t *spec, const char *const *allowed,
			    char *err, size_t errlen);

/* core/node/endpoint_journal.c: the registry's journal (see there). */
/* Append {"put": put} (put given: taken over) or {"del": del_id}, with
 * next_id. 0 or -errno with a message in err. */
int bw_ep_journal_append(const char *jpath, json_t *put, uint32_t del_id, uint32_t next_id,
			 char *err, size_t errlen);
/*
 * The saved registry: the state file (or, missing, an empty document of
 * this version) with the journal's records applied. *out NULL when nothing
 * was ever saved; *replayed the number of journal records. 0, or -errno
 * (logged).
 */
int bw_ep_state_load(const char *path, const char *jpath, int version, json_t **out,
		     int *replayed);

#endif /* BW_ENDPOINT_INT_H */
