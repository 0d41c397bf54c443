/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/node/endpoint_spec.c - parsing and checking endpoint and namespace
 * requests: Kubernetes names, the host-side interface, addresses, labels,
 * named ports, the workload and options; and the workload a pod name
 * implies. Everything here only reads the request and the
 * system (if_nametoindex); the registry checks (conflicts) and the changes
 * are core/node/endpoint.c's. Every message names the field it is about.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/node/endpoint_int.h"
#include "core/node/ifaddr.h"
#include "core/node/labels.h"
#include "lib/errbuf.h"

/*
 * {"k": "v", ...} -> a set of k8s labels, each key and value valid per
 * Kubernetes. Keys Cilium derives itself (the pod's namespace, namespace
 * labels, policy cluster/serviceaccount) are refused so a pod cannot claim
 * another namespace's identity. ns_keys allows them for namespace labels.
 */
int bw_ep_spec_parse_labels(const json_t *obj, const char *field,
				 int namespace_labels, struct bw_labelset **out,
				 char *err, size_t errlen)
{
	struct bw_labelset *ls;
	const char *k;
	json_t *v;
	char sub[384];

	*out = NULL;
	if (obj && !json_is_object(obj) && !json_is_null(obj)) {
		bw_errbuf_set(err, errlen, "%s: must be an object of \"key\": \"value\" strings",
			      field);
		return -EINVAL;
	}
	ls = bw_labelset_new();
	if (!ls)
		return -ENOMEM;
	if (json_is_object(obj)) {
		json_object_foreach((json_t *)obj, k, v) {
			if (!json_is_string(v)) {
				bw_errbuf_set(err, errlen, "%s: value of \"%s\" must be a string",
					      field, k);
				goto inval;
			}
			if (bw_k8s_label_key_valid(k, sub, sizeof(sub)) < 0 ||
			    bw_k8s_label_value_valid(json_string_value(v), sub, sizeof(sub)) < 0) {
				bw_errbuf_set(err, errlen, "%s: %s", field, sub);
				goto inval;
			}
			if (!namespace_labels &&
			    (strcmp(k, BW_LABEL_POD_NAMESPACE) == 0 ||
			     strncmp(k, "io.cilium.k8s.", 14) == 0)) {
				bw_errbuf_set(err, errlen,
					      "%s: label key \"%s\" is reserved: bulwark sets it from the "
					      "namespace", field, k);
				goto inval;
			}
			if (bw_labelset_add(ls, BW_LABEL_SOURCE_K8S, k,
					    json_string_value(v)) < 0) {
				bw_labelset_free(ls);
				return -ENOMEM;
			}
		}
	}
	*out = ls;
	return 0;
inval:
	bw_labelset_free(ls);
	return -EINVAL;
}

/* IANA_SVC_NAME: <= 15 chars, [a-z0-9-], a letter, no leading/trailing/double '-'. */
static int endpoint_port_name_ok(const char *s)
{
	size_t n = strlen(s);
	int letter = 0;

	if (n == 0 || n > 15 || s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = 1;
		else if (!(s[i] >= '0' && s[i] <= '9') && s[i] != '-')
			return 0;
	}
	return letter;
}

static int endpoint_parse_proto(const char *s, uint8_t *p)
{
	if (strcasecmp(s, "TCP") == 0)
		*p = IPPROTO_TCP;
	else if (strcasecmp(s, "UDP") == 0)
		*p = IPPROTO_UDP;
	else if (strcasecmp(s, "SCTP") == 0)
		*p = IPPROTO_SCTP;
	else
		return -EINVAL;
	return 0;
}

static int endpoint_parse_port_num(const char *s, long *out)
{
	char *end;
	long v;

	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	v = strtol(s, &end, 10);
	if (*end || v < 1 || v > 65535)
		return -EINVAL;
	*out = v;
	return 0;
}

static int endpoint_parse_named_port(const json_t *j, const char *field,
				     struct bw_ep_named_port *np, char *err,
				     size_t errlen)
{
	const char *name, *proto;
	long port;

	memset(np, 0, sizeof(*np));
	if (json_is_string(j)) {
		const char *s = json_string_value(j);
		const char *eq = strchr(s, '='), *slash;
		char nbuf[64], pbuf[16];

		slash = eq ? strchr(eq, '/') : NULL;
		if (!eq || !slash || (size_t)(eq - s) >= sizeof(nbuf) ||
		    (size_t)(slash - eq - 1) >= sizeof(pbuf)) {
			bw_errbuf_set(err, errlen,
				      "%s: \"%s\" is not NAME=PORT/PROTO (e.g. http=8080/TCP)",
				      field, s);
			return -EINVAL;
		}
		memcpy(nbuf, s, (size_t)(eq - s));
		nbuf[eq - s] = '\0';
		memcpy(pbuf, eq + 1, (size_t)(slash - eq - 1));
		pbuf[slash - eq - 1] = '\0';
		if (!endpoint_port_name_ok(nbuf)) {
			bw_errbuf_set(err, errlen,
				      "%s: port name \"%s\" must be 1-15 lower-case letters, digits "
				      "and '-' with at least one letter", field, nbuf);
			return -EINVAL;
		}
		if (endpoint_parse_port_num(pbuf, &port) < 0) {
			bw_errbuf_set(err, errlen, "%s: port \"%s\" is not a number in 1-65535",
				      field, pbuf);
			return -EINVAL;
		}
		if (endpoint_parse_proto(slash + 1, &np->protocol) < 0) {
			bw_errbuf_set(err, errlen,
				      "%s: protocol \"%s\" is not one of TCP, UDP, SCTP",
				      field, slash + 1);
			return -EINVAL;
		}
		snprintf(np->name, sizeof(np->name), "%s", nbuf);
		np->port = (uint16_t)port;
		return 0;
	}
	if (!json_is_object(j)) {
		bw_errbuf_set(err, errlen,
			      "%s: must be \"NAME=PORT/PROTO\" or {\"name\", \"port\", \"protocol\"}",
			      field);
		return -EINVAL;
	}
	name = json_string_value(json_object_get(j, "name"));
	proto = json_string_value(json_object_get(j, "protocol"));
	if (!name || !endpoint_port_name_ok(name)) {
		bw_errbuf_set(err, errlen,
			      "%s.name: must be 1-15 lower-case letters, digits and '-' with "
			      "at least one letter", field);
		return -EINVAL;
	}
	if (!json_is_integer(json_object_get(j, "port")) ||
	    json_integer_value(json_object_get(j, "port")) < 1 ||
	    json_integer_value(json_object_get(j, "port")) > 65535) {
		bw_errbuf_set(err, errlen, "%s.port: must be a number in 1-65535", field);
		return -EINVAL;
	}
	if (!proto)
		proto = "TCP";
	if (endpoint_parse_proto(proto, &np->protocol) < 0) {
		bw_errbuf_set(err, errlen, "%s.protocol: \"%s\" is not one of TCP, UDP, SCTP",
			      field, proto);
		return -EINVAL;
	}
	snprintf(np->name, sizeof(np->name), "%s", name);
	np->port = (uint16_t)json_integer_value(json_object_get(j, "port"));
	return 0;
}

static int endpoint_addr_unicast(const struct bw_ep_addr *a)
{
	static const uint8_t zero[16];

	if (a->family == 4) {
		uint8_t b = a->addr[0];

		if (memcmp(a->addr, zero, 4) == 0 || b == 127 || b >= 224)
			return 0;
		return 1;
	}
	if (memcmp(a->addr, zero, 16) == 0 || a->addr[0] == 0xff)
		return 0;
	if (memcmp(a->addr, zero, 15) == 0 && a->addr[15] == 1)
		return 0;
	return 1;
}


/* ---- workloads ------------------------------------------------------------ */

/* Kubernetes' rand.String alphabet: no vowels, no 0, 1 or 3. */
static const char endpoint_wl_alphabet[] = "bcdfghjklmnpqrstvwxz2456789";

/* s[0..n) are all characters Kubernetes' random names use. */
static int endpoint_wl_random(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || !strchr(endpoint_wl_alphabet, s[i]))
			return 0;
	return 1;
}

static int endpoint_wl_set(struct bw_ep_workload *out, const char *kind,
			   const char *name, size_t namelen)
{
	if (namelen == 0 || namelen >= sizeof(out->name))
		return 0;
	snprintf(out->kind, sizeof(out->kind), "%s", kind);
	memcpy(out->name, name, namelen);
	out->name[namelen] = '\0';
	return 1;
}

int bw_endpoint_workload_derive(const char *pod, struct bw_ep_workload *out)
{
	const char *last, *prev, *seg;
	size_t seglen, hlen, i;
	int letter = 0;

	memset(out, 0, sizeof(*out));
	if (!pod)
		return 0;
	last = strrchr(pod, '-');
	if (!last || last == pod || !last[1])
		return 0;
	seg = last + 1;
	seglen = strlen(seg);
	/* NAME-<pod-template-hash>-<5 random>: a Deployment's ReplicaSet's pod */
	if (seglen == 5 && endpoint_wl_random(seg, 5)) {
		for (prev = last - 1; prev > pod && *prev != '-'; prev--)
			;
		hlen = (size_t)(last - prev - 1);
		if (prev > pod && *prev == '-' && hlen >= 5 && hlen <= 10 &&
		    endpoint_wl_random(prev + 1, hlen)) {
			for (i = 0; i < hlen; i++)
				if (isalpha((unsigned char)prev[1 + i]))
					letter = 1;
			/* all digits: as likely a CronJob's Job (NAME-<minute>) */
			if (letter)
				return endpoint_wl_set(out, "Deployment", pod,
						       (size_t)(prev - pod));
		}
		/* NAME-<5 random>: DaemonSet, ReplicaSet, Job... ambiguous */
		return 0;
	}
	/* NAME-<ordinal>: a StatefulSet's pod */
	if (seglen > 9 || (seg[0] == '0' && seglen > 1))
		return 0;
	for (i = 0; i < seglen; i++)
		if (seg[i] < '0' || seg[i] > '9')
			return 0;
	return endpoint_wl_set(out, "StatefulSet", pod, (size_t)(last - pod));
}

int bw_endpoint_workload_parse(const char *s, struct bw_ep_workload *out,
			       char *err, size_t errlen)
{
	static const char *const known[] = {
		"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet",
		"ReplicationController", "Job", "CronJob", "Pod",
	};
	const char *slash = s ? strchr(s, '/') : NULL;
	size_t klen, i;
	char sub[384];

	memset(out, 0, sizeof(*out));
	if (!slash || slash == s || !slash[1]) {
		bw_errbuf_set(err, errlen, "\"%s\" is not KIND/NAME (e.g. Deployment/web)",
			      s ? s : "");
		return -EINVAL;
	}
	klen = (size_t)(slash - s);
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strlen(known[i]) == klen && strncasecmp(s, known[i], klen) == 0) {
			snprintf(out->kind, sizeof(out->kind), "%s", known[i]);
			break;
		}
	}
	if (i == sizeof(known) / sizeof(known[0])) {
		int ok = klen < sizeof(out->kind) && s[0] >= 'A' && s[0] <= 'Z';

		for (size_t j = 1; ok && j < klen; j++)
			ok = isalnum((unsigned char)s[j]) && (unsigned char)s[j] < 0x80;
		if (!ok) {
			bw_errbuf_set(err, errlen,
				      "kind \"%.*s\" is not a Kubernetes kind (Deployment, "
				      "StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod, or "
				      "a CamelCase custom kind)", (int)(klen < 80 ? klen : 80), s);
			return -EINVAL;
		}
		memcpy(out->kind, s, klen);
		out->kind[klen] = '\0';
	}
	if (strlen(slash + 1) >= sizeof(out->name) ||
	    bw_k8s_dns_subdomain_valid(slash + 1, sub, sizeof(sub)) < 0) {
		if (strlen(slash + 1) >= sizeof(out->name))
			snprintf(sub, sizeof(sub), "longer than %zu characters",
				 sizeof(out->name) - 1);
		bw_errbuf_set(err, errlen, "name: %s", sub);
		return -EINVAL;
	}
	snprintf(out->name, sizeof(out->name), "%s", slash + 1);
	return 0;
}

int bw_ep_spec_parse_workload(const json_t *spec, struct bw_ep_workload *wl,
			      int *set, char *err, size_t errlen)
{
	const json_t *w = json_object_get(spec, "workload");
	char text[BW_EP_WORKLOAD_KIND_MAX + BW_EP_WORKLOAD_NAME_MAX + 2];
	char sub[512];
	const char *s;

	memset(wl, 0, sizeof(*wl));
	*set = -1;
	if (!w)
		return 0;
	*set = 0;
	if (json_is_null(w) || (json_is_string(w) && !*json_string_value(w)))
		return 0;
	if (json_is_string(w)) {
		s = json_string_value(w);
	} else if (json_is_object(w)) {
		const char *k = json_string_value(json_object_get(w, "kind"));
		const char *n = json_string_value(json_object_get(w, "name"));
		const char *key;
		json_t *v;

		json_object_foreach((json_t *)w, key, v) {
			if (strcmp(key, "kind") != 0 && strcmp(key, "name") != 0) {
				bw_errbuf_set(err, errlen, "workload: unknown field \"%s\"", key);
				return -EINVAL;
			}
		}
		if (!k || !n) {
			bw_errbuf_set(err, errlen,
				      "workload: \"kind\" and \"name\" are both needed (strings)");
			return -EINVAL;
		}
		if (strlen(k) + strlen(n) + 2 > sizeof(text) || strchr(k, '/')) {
			bw_errbuf_set(err, errlen, "workload: kind \"%.80s\" is not a Kubernetes kind",
				      k);
			return -EINVAL;
		}
		snprintf(text, sizeof(text), "%s/%s", k, n);
		s = text;
	} else {
		bw_errbuf_set(err, errlen,
			      "workload: must be \"KIND/NAME\" or {\"kind\", \"name\"} (or null)");
		return -EINVAL;
	}
	if (bw_endpoint_workload_parse(s, wl, sub, sizeof(sub)) < 0) {
		bw_errbuf_set(err, errlen, "workload: %s", sub);
		return -EINVAL;
	}
	*set = 1;
	return 0;
}

int bw_ep_spec_check_fields(const json_t *spec, const char *const *allowed,
				 char *err, size_t errlen)
{
	const char *k;
	json_t *v;

	if (!json_is_object(spec)) {
		bw_errbuf_set(err, errlen, "request body must be a JSON object");
		return -EINVAL;
	}
	json_object_foreach((json_t *)spec, k, v) {
		size_t i;

		for (i = 0; allowed[i]; i++)
			if (strcmp(k, allowed[i]) == 0)
				break;
		if (!allowed[i]) {
			bw_errbuf_set(err, errlen, "unknown field \"%s\"", k);
			return -EINVAL;
		}
	}
	return 0;
}

int bw_ep_spec_parse_audit(const json_t *spec, int *audit, char *err,
				size_t errlen)
{
	const json_t *a = json_object_get(spec, "audit");

	*audit = -1;
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_boolean(a)) {
		bw_errbuf_set(err, errlen, "audit: must be true or false");
		return -EINVAL;
	}
	*audit = json_is_true(a);
	return 0;
}

/* ---- proxy visibility -------------------------------------------------- */

static int ep_vis_word(const char *w, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(w, want, n) == 0;
}

int bw_ep_visibility_parse(const char *text, struct bw_ep_visibility *out, size_t *n,
			   char *err, size_t errlen)
{
	const char *p = text ? text : "";

	*n = 0;
	while (*p == ' ')
		p++;
	if (!*p || !strcasecmp(p, "none"))
		return 0;
	for (;;) {
		const char *start, *end, *f[4];
		size_t flen[4], k = 0;
		struct bw_ep_visibility v;
		char *e;
		long port;

		while (*p == ' ')
			p++;
		start = p;
		if (*p != '<' || !(end = strchr(p, '>')))
			return bw_errbuf_set(err, errlen,
					     "\"%s\": expected <Direction/Port/L4Protocol/L7Protocol>, e.g. <Ingress/80/TCP/HTTP>",
					     start);
		p++;
		while (k < 4) {
			const char *slash = memchr(p, '/', (size_t)(end - p));

			f[k] = p;
			flen[k] = slash ? (size_t)(slash - p) : (size_t)(end - p);
			k++;
			if (!slash)
				break;
			p = slash + 1;
		}
		if (k != 4 || p + flen[3] != end)
			return bw_errbuf_set(err, errlen,
					     "\"%.*s\": expected <Direction/Port/L4Protocol/L7Protocol>",
					     (int)(end - start + 1), start);
		memset(&v, 0, sizeof(v));
		if (ep_vis_word(f[0], flen[0], "Ingress"))
			v.direction = 1;
		else if (ep_vis_word(f[0], flen[0], "Egress"))
			v.direction = 2;
		else
			return bw_errbuf_set(err, errlen,
					     "\"%.*s\": the direction must be Ingress or Egress",
					     (int)(end - start + 1), start);
		port = strtol(f[1], &e, 10);
		if (flen[1] == 0 || e != f[1] + flen[1] || port < 1 || port > 65535)
			return bw_errbuf_set(err, errlen,
					     "\"%.*s\": the port must be a number from 1 to 65535",
					     (int)(end - start + 1), start);
		v.port = (uint16_t)port;
		if (ep_vis_word(f[2], flen[2], "TCP"))
			v.protocol = 6;
		else if (ep_vis_word(f[2], flen[2], "UDP"))
			v.protocol = 17;
		else if (!ep_vis_word(f[2], flen[2], "ANY"))
			return bw_errbuf_set(err, errlen,
					     "\"%.*s\": the L4 protocol must be TCP, UDP or ANY",
					     (int)(end - start + 1), start);
		if (flen[3] == 0 || flen[3] >= sizeof(v.l7))
			return bw_errbuf_set(err, errlen,
					     "\"%.*s\": the L7 protocol must be HTTP, Kafka, DNS or a protocol name",
					     (int)(end - start + 1), start);
		for (size_t i = 0; i < flen[3]; i++) {
			char ch = f[3][i];

			if (ch >= 'A' && ch <= 'Z')
				ch = (char)(ch - 'A' + 'a');
			if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ||
			      ch == '_' || ch == '-'))
				return bw_errbuf_set(err, errlen,
						     "\"%.*s\": the L7 protocol must be HTTP, Kafka, DNS or a protocol name ([a-z0-9._-])",
						     (int)(end - start + 1), start);
			v.l7[i] = ch;
		}
		if (strcmp(v.l7, "dns") && v.protocol == 17)
			return bw_errbuf_set(err, errlen,
					     "\"%.*s\": only DNS is proxied over UDP",
					     (int)(end - start + 1), start);
		for (size_t i = 0; i < *n; i++)
			if (out[i].direction == v.direction && out[i].port == v.port &&
			    out[i].protocol == v.protocol)
				return bw_errbuf_set(err, errlen, "\"%.*s\" is given twice",
						     (int)(end - start + 1), start);
		if (*n == BW_EP_MAX_VISIBILITY)
			return bw_errbuf_set(err, errlen, "at most %d items",
					     BW_EP_MAX_VISIBILITY);
		out[(*n)++] = v;
		p = end + 1;
		while (*p == ' ')
			p++;
		if (!*p)
			return 0;
		if (*p != ',')
			return bw_errbuf_set(err, errlen,
					     "\"%s\": items are separated by commas", p);
		p++;
	}
}

void bw_ep_visibility_format(const struct bw_ep_visibility *v, size_t n, char *buf,
			     size_t len)
{
	size_t off = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++) {
		const char *l7 = !strcmp(v[i].l7, "http")    ? "HTTP"
				 : !strcmp(v[i].l7, "dns")   ? "DNS"
				 : !strcmp(v[i].l7, "kafka") ? "Kafka"
							     : v[i].l7;
		int w = snprintf(buf + off, len - off, "%s<%s/%u/%s/%s>", i ? "," : "",
				 v[i].direction == 1 ? "Ingress" : "Egress", v[i].port,
				 v[i].protocol == 6 ? "TCP" : v[i].protocol == 17 ? "UDP" : "ANY", l7);

		if (w < 0)
			break;
		off += (size_t)w;
	}
}

int bw_ep_spec_parse_visibility(const json_t *spec, int *set, struct bw_ep_visibility *vis,
				size_t *n, char *err, size_t errlen)
{
	const json_t *v = json_object_get(spec, "proxy_visibility");
	char msg[256];

	*set = v != NULL;
	*n = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return bw_errbuf_set(err, errlen, "proxy_visibility: must be a string");
	if (bw_ep_visibility_parse(json_string_value(v), vis, n, msg, sizeof(msg)) < 0)
		return bw_errbuf_set(err, errlen, "proxy_visibility: %s", msg);
	return 0;
}


/*
 * Only an endpoint's host-side veth may be one: the datapath drops what
 * leaves it without the endpoint's own source address, so the loopback
 * interface, or an interface holding the node's addresses, would lose the
 * node its own traffic. A host-side veth holds no address but IPv6
 * link-local ones. Refused as "host_ifname: ... is not an endpoint's
 * host-side veth" (a restored endpoint so refused is dropped).
 */
static int ep_spec_ifname_usable(const char *ifname, int ifindex, char *err, size_t errlen)
{
	char addr[INET6_ADDRSTRLEN] = "";
	int loop = 0;

	/* that interface alone (getifaddrs() would list every link and address
	 * of the namespace: O(endpoints) per add, core/node/ifaddr.c) */
	if (bw_ifaddr_probe(ifindex, &loop, addr, sizeof(addr)) < 0)
		return 0; /* cannot tell: the name resolved, let it be */
	if (loop)
		return bw_errbuf_set(err, errlen,
				     "host_ifname: \"%s\" is the loopback interface, not an endpoint's host-side veth",
				     ifname);
	if (addr[0])
		return bw_errbuf_set(err, errlen,
				     "host_ifname: \"%s\" holds the node's address %s: not an endpoint's host-side veth (which holds no address)",
				     ifname, addr);
	return 0;
}
int bw_ep_spec_parse_add(const json_t *spec, struct bw_ep_spec *s,
			      char *err, size_t errlen)
{
	static const char *const fields[] = {
		"namespace", "pod", "host_ifname", "ips", "labels", "named_ports",
		"audit", "workload", "proxy_visibility", NULL,
	};
	const json_t *ips, *ports;
	char sub[384];
	int rc;

	memset(s, 0, sizeof(*s));
	s->audit = -1;
	if ((rc = bw_ep_spec_check_fields(spec, fields, err, errlen)) < 0)
		return rc;
	s->ns = json_string_value(json_object_get(spec, "namespace"));
	s->pod = json_string_value(json_object_get(spec, "pod"));
	s->ifname = json_string_value(json_object_get(spec, "host_ifname"));
	if (!s->ns) {
		bw_errbuf_set(err, errlen, "namespace: missing (a string)");
		return -EINVAL;
	}
	if (bw_k8s_dns_label_valid(s->ns, sub, sizeof(sub)) < 0) {
		bw_errbuf_set(err, errlen, "namespace: %s", sub);
		return -EINVAL;
	}
	if (!s->pod) {
		bw_errbuf_set(err, errlen, "pod: missing (a string)");
		return -EINVAL;
	}
	if (bw_k8s_dns_subdomain_valid(s->pod, sub, sizeof(sub)) < 0) {
		bw_errbuf_set(err, errlen, "pod: %s", sub);
		return -EINVAL;
	}
	if (!s->ifname || !*s->ifname) {
		bw_errbuf_set(err, errlen, "host_ifname: missing (the host-side interface name)");
		return -EINVAL;
	}
	if (strlen(s->ifname) >= IF_NAMESIZE || strchr(s->ifname, '/')) {
		bw_errbuf_set(err, errlen, "host_ifname: \"%s\" is not a valid interface name",
			      s->ifname);
		return -EINVAL;
	}
	s->ifindex = (int)if_nametoindex(s->ifname);
	if (s->ifindex <= 0) {
		bw_errbuf_set(err, errlen,
			      "host_ifname: no interface \"%s\" in the daemon's network namespace",
			      s->ifname);
		return -EINVAL;
	}
	if ((rc = ep_spec_ifname_usable(s->ifname, s->ifindex, err, errlen)) < 0)
		return rc;
	ips = json_object_get(spec, "ips");
	if (!json_is_array(ips) || json_array_size(ips) == 0) {
		bw_errbuf_set(err, errlen, "ips: at least one address is needed");
		return -EINVAL;
	}
	if (json_array_size(ips) > BW_EP_MAX_IPS) {
		bw_errbuf_set(err, errlen, "ips: at most %d addresses", BW_EP_MAX_IPS);
		return -EINVAL;
	}
	for (size_t i = 0; i < json_array_size(ips); i++) {
		const char *a = json_string_value(json_array_get(ips, i));
		struct bw_ep_addr *ea = &s->ips[s->nips];

		if (!a) {
			bw_errbuf_set(err, errlen, "ips[%zu]: must be a string", i);
			return -EINVAL;
		}
		memset(ea, 0, sizeof(*ea));
		if (inet_pton(AF_INET, a, ea->addr) == 1) {
			ea->family = 4;
		} else if (inet_pton(AF_INET6, a, ea->addr) == 1) {
			ea->family = 6;
		} else {
			bw_errbuf_set(err, errlen,
				      "ips[%zu]: \"%s\" is not an IPv4 or IPv6 address", i, a);
			return -EINVAL;
		}
		if (!endpoint_addr_unicast(ea)) {
			bw_errbuf_set(err, errlen,
				      "ips[%zu]: \"%s\" is not a unicast address", i, a);
			return -EINVAL;
		}
		for (size_t j = 0; j < s->nips; j++) {
			if (s->ips[j].family == ea->family &&
			    memcmp(s->ips[j].addr, ea->addr, 16) == 0) {
				bw_errbuf_set(err, errlen, "ips[%zu]: \"%s\" is given twice", i, a);
				return -EINVAL;
			}
		}
		s->nips++;
	}
	ports = json_object_get(spec, "named_ports");
	if (ports && !json_is_null(ports)) {
		if (!json_is_array(ports)) {
			bw_errbuf_set(err, errlen, "named_ports: must be an array");
			return -EINVAL;
		}
		if (json_array_size(ports) > BW_EP_MAX_NAMED_PORTS) {
			bw_errbuf_set(err, errlen, "named_ports: at most %d",
				      BW_EP_MAX_NAMED_PORTS);
			return -EINVAL;
		}
		for (size_t i = 0; i < json_array_size(ports); i++) {
			char field[32];

			snprintf(field, sizeof(field), "named_ports[%zu]", i);
			rc = endpoint_parse_named_port(json_array_get(ports, i), field,
						       &s->ports[s->nports], err, errlen);
			if (rc < 0)
				return rc;
			for (size_t j = 0; j < s->nports; j++) {
				if (strcmp(s->ports[j].name, s->ports[s->nports].name) == 0) {
					bw_errbuf_set(err, errlen,
						      "%s: port name \"%s\" is given twice",
						      field, s->ports[j].name);
					return -EINVAL;
				}
			}
			s->nports++;
		}
	}
	if ((rc = bw_ep_spec_parse_audit(spec, &s->audit, err, errlen)) < 0 ||
	    (rc = bw_ep_spec_parse_workload(spec, &s->wl, &s->workload, err, errlen)) < 0 ||
	    (rc = bw_ep_spec_parse_visibility(spec, &s->has_visibility, s->vis, &s->nvis, err,
					      errlen)) < 0)
		return rc;
	s->has_labels = json_object_get(spec, "labels") != NULL;
	return bw_ep_spec_parse_labels(json_object_get(spec, "labels"), "labels", 0,
				     &s->labels, err, errlen);
}
