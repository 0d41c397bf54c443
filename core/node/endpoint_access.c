/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/node/endpoint_access.c - read accessors of struct bw_endpoint for the
 * rest of the core (core/node/endpoint.h). The registry and its changes are
 * in core/node/endpoint.c.
 */
#include <errno.h>
#include <string.h>

#include "core/node/endpoint.h"
#include "core/node/endpoint_int.h"

uint32_t bw_endpoint_id(const struct bw_endpoint *ep) { return ep->id; }
const char *bw_endpoint_ns(const struct bw_endpoint *ep) { return ep->ns; }
const char *bw_endpoint_pod(const struct bw_endpoint *ep) { return ep->pod; }
const char *bw_endpoint_ifname(const struct bw_endpoint *ep) { return ep->ifname; }
int bw_endpoint_ifindex(const struct bw_endpoint *ep) { return ep->ifindex; }
uint32_t bw_endpoint_identity(const struct bw_endpoint *ep) { return ep->st.identity; }
int bw_endpoint_audit(const struct bw_endpoint *ep) { return ep->st.audit; }

const struct bw_ep_visibility *bw_endpoint_visibility(const struct bw_endpoint *ep, size_t *n)
{
	*n = ep->st.nvis;
	return ep->st.vis;
}

int bw_endpoint_ns_audit(const struct bw_endpoint *ep) { return ep->nsp ? ep->nsp->audit : 0; }

const struct bw_ep_addr *bw_endpoint_ips(const struct bw_endpoint *ep, size_t *n)
{
	*n = ep->nips;
	return ep->ips;
}

const struct bw_labelset *bw_endpoint_pod_labels(const struct bw_endpoint *ep)
{
	return ep->st.pod_labels;
}

const struct bw_labelset *bw_endpoint_labels(const struct bw_endpoint *ep)
{
	return ep->st.labels;
}

const struct bw_labelset *bw_endpoint_identity_labels(const struct bw_endpoint *ep)
{
	return ep->st.id_labels;
}

const struct bw_ep_named_port *bw_endpoint_named_ports(const struct bw_endpoint *ep,
						       size_t *n)
{
	*n = ep->nports;
	return ep->ports;
}

const struct bw_ep_workload *bw_endpoint_workload(const struct bw_endpoint *ep,
						  int *derived)
{
	if (derived)
		*derived = !ep->wl_set && ep->wl_derived_ok;
	if (ep->wl_set)
		return &ep->wl;
	return ep->wl_derived_ok ? &ep->wl_derived : NULL;
}

int bw_endpoint_named_port(const struct bw_endpoint *ep, const char *name,
			   uint8_t proto, uint16_t *port)
{
	for (size_t i = 0; i < ep->nports; i++) {
		if (strcmp(ep->ports[i].name, name) != 0)
			continue;
		if (proto && ep->ports[i].protocol != proto)
			continue;
		*port = ep->ports[i].port;
		return 0;
	}
	return -ENOENT;
}
