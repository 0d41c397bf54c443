/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/flowpeer.c - names of flow sides and policies for the adoption tools
 * (lib/flowpeer.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/flowpeer.h"

static const char *const flowpeer_kinds[] = {
	"unknown", "pod", "world", "host", "reserved",
};

const char *
bw_peer_kind_name(int kind)
{
	return kind >= 0 && kind < (int)(sizeof(flowpeer_kinds) / sizeof(*flowpeer_kinds))
		       ? flowpeer_kinds[kind]
		       : "unknown";
}

int
bw_peer_kind_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(flowpeer_kinds) / sizeof(*flowpeer_kinds); i++)
		if (name != NULL && !strcmp(name, flowpeer_kinds[i]))
			return (int)i;
	return -1;
}

/* The value of label key (any source) in labels, or NULL. */
static const char *
flowpeer_label(const char *const *labels, size_t n, const char *key)
{
	size_t klen = strlen(key);

	for (size_t i = 0; i < n; i++) {
		const char *l = labels[i], *colon, *eq;

		if (l == NULL)
			continue;
		eq = strchr(l, '=');
		colon = strchr(l, ':');
		if (colon != NULL && (eq == NULL || colon < eq))
			l = colon + 1;
		if (!strncmp(l, key, klen) && l[klen] == '=')
			return l + klen + 1;
	}
	return NULL;
}

const char *
bw_flowpeer_workload(const char *const *labels, size_t n_labels,
		     const char *workload_name, const char *pod, char *buf,
		     size_t len)
{
	static const char *const keys[] = { "app.kubernetes.io/name", "app", "k8s-app" };
	const char *v;

	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		if ((v = flowpeer_label(labels, n_labels, keys[i])) != NULL && *v) {
			snprintf(buf, len, "%s", v);
			return buf;
		}
	if (workload_name != NULL && *workload_name)
		return workload_name;
	return pod != NULL ? pod : "";
}

static int
flowpeer_has_label(const struct bw_flow_endpoint *s, const char *prefix)
{
	size_t n = strlen(prefix);

	for (uint32_t i = 0; i < s->n_labels; i++)
		if (s->labels[i] != NULL && !strncmp(s->labels[i], prefix, n))
			return 1;
	return 0;
}

int
bw_flowpeer_name(const struct bw_flow_endpoint *side, const char *ip,
		 char *buf, size_t len, const char **ns)
{
	char wbuf[256];
	const char *w;

	if (ns != NULL)
		*ns = NULL;
	if (side->ns != NULL && *side->ns &&
	    (side->pod_name != NULL || side->n_labels > 0)) {
		w = bw_flowpeer_workload(side->labels, side->n_labels,
					 side->workload_name, side->pod_name, wbuf,
					 sizeof(wbuf));
		if (*w == '\0') {
			snprintf(wbuf, sizeof(wbuf), "identity-%u", side->identity);
			w = wbuf;
		}
		snprintf(buf, len, "%s/%s", side->ns, w);
		if (ns != NULL)
			*ns = side->ns;
		return BW_PEER_POD;
	}
	if (side->identity == 1) {
		snprintf(buf, len, "host");
		return BW_PEER_HOST;
	}
	if (side->identity == 2 || side->identity == 9 || side->identity == 10 ||
	    flowpeer_has_label(side, "reserved:world") ||
	    flowpeer_has_label(side, "cidr:") || flowpeer_has_label(side, "fqdn:")) {
		/*
		 * A DNS name when the flow carries one (the FQDN work adds
		 * the names to the flow record); until then the address.
		 */
		if (ip != NULL && *ip)
			snprintf(buf, len, "%s/%s", ip, strchr(ip, ':') ? "128" : "32");
		else
			snprintf(buf, len, "world");
		return BW_PEER_WORLD;
	}
	for (uint32_t i = 0; i < side->n_labels; i++)
		if (side->labels[i] != NULL && !strncmp(side->labels[i], "reserved:", 9)) {
			snprintf(buf, len, "%s", side->labels[i] + 9);
			return BW_PEER_RESERVED;
		}
	if (ip != NULL && *ip)
		snprintf(buf, len, "%s/%s", ip, strchr(ip, ':') ? "128" : "32");
	else
		snprintf(buf, len, "identity-%u", side->identity);
	return BW_PEER_UNKNOWN;
}

const char *
bw_flowpeer_policy(const struct bw_flow_policy *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s%s%s", p->kind != NULL ? p->kind : "Policy",
		 p->ns != NULL ? p->ns : "", p->ns != NULL && *p->ns ? "/" : "",
		 p->name != NULL ? p->name : "?");
	return buf;
}

static int
flowpeer_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t
bw_flowpeer_policies(const struct bw_flow *f, char *buf, size_t len)
{
	char names[32][192];
	const char *sorted[32];
	size_t n = 0, off = 0, k = 0;
	int ingress = f->traffic_direction == BW_FLOW_TRAFFIC_INGRESS;

	if (len > 0)
		buf[0] = '\0';
	/* the policy of the verdict's own direction first, then isolation */
	const struct {
		const struct bw_flow_policy *v;
		uint32_t n;
	} src[] = {
		{ ingress ? f->ingress_denied_by : f->egress_denied_by,
		  ingress ? f->n_ingress_denied_by : f->n_egress_denied_by },
		{ ingress ? f->ingress_allowed_by : f->egress_allowed_by,
		  ingress ? f->n_ingress_allowed_by : f->n_egress_allowed_by },
		{ f->isolated_by, f->n_isolated_by },
	};
	for (size_t s = 0; s < sizeof(src) / sizeof(*src); s++)
		for (uint32_t i = 0; i < src[s].n && n < 32; i++) {
			bw_flowpeer_policy(&src[s].v[i], names[n], sizeof(names[n]));
			sorted[n] = names[n];
			n++;
		}
	qsort(sorted, n, sizeof(*sorted), flowpeer_cmp);
	for (size_t i = 0; i < n; i++) {
		int w;

		if (i > 0 && !strcmp(sorted[i], sorted[i - 1]))
			continue;
		w = snprintf(buf + off, len > off ? len - off : 0, "%s%s",
			     k ? "\n" : "", sorted[i]);
		if (w < 0 || off + (size_t)w >= len)
			break;
		off += (size_t)w;
		k++;
	}
	return k;
}

uint16_t
bw_flowpeer_port(const struct bw_flow *f)
{
	switch (f->protocol) {
	case 6:
	case 17:
	case 132:
		return f->dst_port;
	case 1:
	case 58:
		return f->icmp_type;
	}
	return 0;
}

const char *
bw_flowpeer_proto_name(unsigned proto, char *buf, size_t len)
{
	switch (proto) {
	case 6: return "TCP";
	case 17: return "UDP";
	case 132: return "SCTP";
	case 1: return "ICMPv4";
	case 58: return "ICMPv6";
	}
	snprintf(buf, len, "%u", proto);
	return buf;
}

int
bw_flowpeer_proto_parse(const char *name)
{
	char *end;
	long v;

	if (name == NULL || !*name)
		return -1;
	if (!strcasecmp(name, "tcp"))
		return 6;
	if (!strcasecmp(name, "udp"))
		return 17;
	if (!strcasecmp(name, "sctp"))
		return 132;
	if (!strcasecmp(name, "icmp") || !strcasecmp(name, "icmpv4"))
		return 1;
	if (!strcasecmp(name, "icmpv6") || !strcasecmp(name, "icmp6"))
		return 58;
	v = strtol(name, &end, 10);
	return *end == '\0' && v >= 0 && v <= 255 ? (int)v : -1;
}
