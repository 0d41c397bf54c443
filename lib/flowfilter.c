/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/flowfilter.c - Hubble FlowFilter parsing and matching, and the
 * `observe` flag -> FlowFilter builder.
 *
 * The `observe` flag builder is in cli/flowfilter_flags.c, --since/--until
 * in lib/flowfilter_time.c, label selectors in lib/flowfilter_label.c;
 * what they share is lib/flowfilter_int.h.
 *
 * A filter is parsed once into typed value lists (CIDRs, namespace/pod
 * prefixes, label selectors, workloads, numbers) so that matching a flow costs no
 * allocation. Matching follows pkg/hubble/filters: every populated field
 * must match, any value of a field matches.
 *
 * Depends on libc and jansson only: the CLI links this file to build its
 * filters.
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/flowfilter.h"
#include "lib/flowfilter_int.h"
#include "lib/kafkakeys.h"
#include "lib/errbuf.h"
#include "lib/prefix.h"

/* ---- the parsed filter ------------------------------------------------------ */

struct bw_flowfilter {
	struct bw_prefix *src_ip, *dst_ip;
	size_t n_src_ip, n_dst_ip;
	struct ff_pod *src_pod, *dst_pod;
	size_t n_src_pod, n_dst_pod;
	struct ff_selector *src_label, *dst_label;
	size_t n_src_label, n_dst_label;
	uint32_t *src_identity, *dst_identity;
	size_t n_src_identity, n_dst_identity;
	struct ff_workload *src_wl, *dst_wl;
	size_t n_src_wl, n_dst_wl;
	uint32_t *src_port, *dst_port;
	size_t n_src_port, n_dst_port;
	int *verdict;
	size_t n_verdict;
	struct ff_event_type *event_type;
	size_t n_event_type;
	int *protocol; /* IPPROTO_*, -1 = any ICMP, FF_PROTO_* (L7) */
	size_t n_protocol;
	int *direction;
	size_t n_direction;
	uint32_t *tcp_flags; /* each: mask of flags that must all be set */
	size_t n_tcp_flags;
	char **drop_reason_desc;
	size_t n_drop_reason_desc;
	int *ip_version; /* 4, 6, 0 */
	size_t n_ip_version;
	int *reply;
	size_t n_reply;
	char **node_name; /* fnmatch patterns */
	size_t n_node_name;
	char **uuid;
	size_t n_uuid;
	char **src_fqdn, **dst_fqdn; /* lower case, no trailing dot; '*' wildcards */
	size_t n_src_fqdn, n_dst_fqdn;
	regex_t *dns_query;          /* POSIX extended, unanchored */
	size_t n_dns_query;
	/* L7 HTTP (Hubble's pkg/hubble/filters/http.go) */
	char **http_status;     /* "404", or a prefix "4" / "40" from "4+" */
	size_t n_http_status;
	char **http_method;
	size_t n_http_method;
	regex_t *http_path;     /* against the URL's path */
	size_t n_http_path;
	regex_t *http_url;      /* against the whole URL */
	size_t n_http_url;
	struct bw_flow_kv *http_header; /* strdup'd key and value */
	size_t n_http_header;
	/* Hubble's interface (NetworkInterface) and encrypted */
	struct ff_iface {
		uint32_t index; /* 0: any */
		char *name;     /* NULL: any */
	} *iface;
	size_t n_iface;
	int *encrypted;
	size_t n_encrypted;
	/* L7 Kafka (bulwark extension: Hubble's FlowFilter has none) */
	char **kafka_topic;     /* exact topic names */
	size_t n_kafka_topic;
	char **kafka_api_key;   /* l7.kafka.api_key as flows spell it */
	size_t n_kafka_api_key;
};

/*
 * Hubble's FQDN filter (pkg/hubble/filters): lower case, the trailing dot
 * dropped, characters [-a-zA-Z0-9_.*], '*' standing for zero or more of
 * [-a-zA-Z0-9_.] (it may cross dots, unlike a policy's matchPattern),
 * anchored at both ends.
 */
static int
ff_fqdn_parse(const char *s, char **out)
{
	size_t n = strlen(s);
	char *p;

	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	if (n && s[n - 1] == '.')
		n--;
	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' &&
		    s[i] != '.' && s[i] != '*')
			return -EINVAL;
	p = strndup(s, n);
	if (p == NULL)
		return -ENOMEM;
	for (char *q = p; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	*out = p;
	return 0;
}

static int
ff_fqdn_class(int c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.';
}

/* pattern (as parsed) against a name, a trailing dot ignored */
static int
ff_fqdn_match(const char *pat, const char *name)
{
	size_t sl = strlen(name), pl = strlen(pat);
	unsigned char row[512], next[512];

	if (sl && name[sl - 1] == '.')
		sl--;
	if (sl + 1 > sizeof(row))
		return 0;
	memset(row, 0, sl + 1);
	row[0] = 1;
	for (size_t i = 0; i < pl; i++) {
		if (pat[i] == '*') {
			next[0] = row[0];
			for (size_t j = 1; j <= sl; j++)
				next[j] = row[j] ||
					  (next[j - 1] && ff_fqdn_class((unsigned char)name[j - 1]));
		} else {
			next[0] = 0;
			for (size_t j = 1; j <= sl; j++)
				next[j] = row[j - 1] &&
					  tolower((unsigned char)name[j - 1]) == pat[i];
		}
		memcpy(row, next, sl + 1);
	}
	return row[sl];
}

static int
ff_names_match(char *const *pats, size_t npats, const char *const *names,
	       uint32_t nnames)
{
	for (size_t i = 0; i < npats; i++)
		for (uint32_t j = 0; j < nnames; j++)
			if (names[j] != NULL && ff_fqdn_match(pats[i], names[j]))
				return 1;
	return 0;
}

/* Grow *arr (of element size sz) by one zeroed element; NULL on ENOMEM. */
void *
ff_push(void *arrp, size_t *n, size_t sz)
{
	void **arr = arrp;
	char *p = realloc(*arr, (*n + 1) * sz);

	if (p == NULL)
		return NULL;
	*arr = p;
	memset(p + *n * sz, 0, sz);
	return p + (*n)++ * sz;
}

/* ---- reserved identities and enum names ----------------------------------- */

static const char *const ff_identities[] = {
	"unknown", "host", "world", "unmanaged", "health", "init",
	"remote-node", "kube-apiserver", "ingress", "world-ipv4", "world-ipv6",
};

int
bw_flowfilter_identity_parse(const char *name)
{
	const char *n = name;

	if (strncmp(n, "reserved:", 9) == 0)
		n += 9;
	for (size_t i = 0; i < FF_N(ff_identities); i++)
		if (strcmp(n, ff_identities[i]) == 0)
			return (int)i;
	return -1;
}

const char *
bw_flowfilter_identity_name(uint32_t id)
{
	return id < FF_N(ff_identities) ? ff_identities[id] : NULL;
}

const char *const ff_verdicts[] = {
	"VERDICT_UNKNOWN", "FORWARDED", "DROPPED", "ERROR", "AUDIT",
	"REDIRECTED", "TRACED", "TRANSLATED",
};
const size_t ff_n_verdicts = FF_N(ff_verdicts);

int
ff_verdict_parse(const char *s)
{
	for (size_t i = 0; i < FF_N(ff_verdicts); i++)
		if (strcasecmp(s, ff_verdicts[i]) == 0)
			return (int)i;
	return -1;
}

int
ff_direction_parse(const char *s)
{
	if (strcasecmp(s, "TRAFFIC_DIRECTION_UNKNOWN") == 0)
		return BW_FLOW_TRAFFIC_UNKNOWN;
	if (strcasecmp(s, "INGRESS") == 0)
		return BW_FLOW_TRAFFIC_INGRESS;
	if (strcasecmp(s, "EGRESS") == 0)
		return BW_FLOW_TRAFFIC_EGRESS;
	return -1;
}

int
ff_protocol_parse(const char *s)
{
	static const struct {
		const char *name;
		int proto;
	} t[] = {
		{"tcp", 6}, {"udp", 17}, {"sctp", 132}, {"icmp", -1},
		{"icmpv4", 1}, {"icmpv6", 58}, {"dns", FF_PROTO_DNS},
		{"http", FF_PROTO_HTTP}, {"kafka", FF_PROTO_KAFKA},
		{"vrrp", 112}, {"igmp", 2},
	};

	for (size_t i = 0; i < FF_N(t); i++)
		if (strcasecmp(s, t[i].name) == 0)
			return t[i].proto;
	return -3;
}

const struct ff_name_value ff_tcp_flag_names[] = {
	{"FIN", BW_FLOW_TCP_FIN}, {"SYN", BW_FLOW_TCP_SYN}, {"RST", BW_FLOW_TCP_RST},
	{"PSH", BW_FLOW_TCP_PSH}, {"ACK", BW_FLOW_TCP_ACK}, {"URG", BW_FLOW_TCP_URG},
	{"ECE", BW_FLOW_TCP_ECE}, {"CWR", BW_FLOW_TCP_CWR}, {"NS", 0x100},
};
const size_t ff_n_tcp_flag_names = FF_N(ff_tcp_flag_names);

int
ff_tcp_flag_parse(const char *s, size_t len)
{
	for (size_t i = 0; i < FF_N(ff_tcp_flag_names); i++)
		if (strlen(ff_tcp_flag_names[i].name) == len &&
		    strncasecmp(s, ff_tcp_flag_names[i].name, len) == 0)
			return (int)ff_tcp_flag_names[i].value;
	return -1;
}

const struct ff_name_value ff_event_types[] = {
	{"drop", 1}, {"debug", 2}, {"capture", 3}, {"trace", 4},
	{"policy-verdict", 5}, {"recorder", 6}, {"trace-sock", 7},
	{"l7", 129}, {"agent", 130},
};
const size_t ff_n_event_types = FF_N(ff_event_types);

const char *const ff_trace_points[] = {
	"to-endpoint", "to-proxy", "to-host", "to-stack", "to-overlay",
	"from-endpoint", "from-proxy", "from-host", "from-stack",
	"from-overlay", "from-network", "to-network", "from-crypto",
	"to-crypto",
};
const size_t ff_n_trace_points = FF_N(ff_trace_points);

/* ---- values -------------------------------------------------------------- */

int
ff_parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int
ff_parse_pod(const char *s, struct ff_pod *p)
{
	const char *slash = strchr(s, '/');

	if (*s == '\0')
		return -EINVAL;
	if (slash == NULL) {
		p->ns = NULL;
		p->prefix = strdup(s);
		return p->prefix != NULL ? 0 : -ENOMEM;
	}
	p->ns = slash > s ? strndup(s, (size_t)(slash - s)) : NULL;
	p->prefix = strdup(slash + 1);
	if (p->prefix == NULL || (slash > s && p->ns == NULL))
		return -ENOMEM;
	return 0;
}

static int
ff_pod_match(const struct ff_pod *p, const struct bw_flow_endpoint *ep)
{
	const char *ns = ep->ns != NULL ? ep->ns : "";
	const char *pod = ep->pod_name != NULL ? ep->pod_name : "";

	if (*ns == '\0' && *pod == '\0')
		return 0;
	if (p->ns != NULL && strcmp(p->ns, ns) != 0)
		return 0;
	return strncmp(pod, p->prefix, strlen(p->prefix)) == 0;
}

/* ---- workloads ------------------------------------------------------------ */

/*
 * hubble's parseWorkload(): "NAME", or "KIND/NAME" split at the first '/'
 * ("Deployment/" = any Deployment). Empty parts stay NULL (any).
 */
int
ff_parse_workload_text(const char *s, struct ff_workload *w)
{
	const char *slash = strchr(s, '/');

	if (*s == '\0' || strcmp(s, "/") == 0)
		return -EINVAL;
	if (slash == NULL) {
		w->name = strdup(s);
		return w->name != NULL ? 0 : -ENOMEM;
	}
	if (slash > s && (w->kind = strndup(s, (size_t)(slash - s))) == NULL)
		return -ENOMEM;
	if (slash[1] != '\0' && (w->name = strdup(slash + 1)) == NULL)
		return -ENOMEM;
	return 0;
}

/* A Workload object {"name", "kind"} (either may be absent or ""). */
static int
ff_parse_workload_obj(const json_t *v, struct ff_workload *w)
{
	const char *k;
	json_t *x;

	json_object_foreach((json_t *)v, k, x) {
		char **dst;

		if (strcmp(k, "name") == 0)
			dst = &w->name;
		else if (strcmp(k, "kind") == 0)
			dst = &w->kind;
		else
			return -EINVAL;
		if (json_is_null(x))
			continue;
		if (!json_is_string(x))
			return -EINVAL;
		if (*json_string_value(x) != '\0' &&
		    (*dst = strdup(json_string_value(x))) == NULL)
			return -ENOMEM;
	}
	return 0;
}

/* pkg/hubble/filters/workload.go: any workload of the side, name and kind
 * compared exactly when the filter sets them. */
static int
ff_workload_match(const struct ff_workload *w, const struct bw_flow_endpoint *ep)
{
	if (ep->workload_name == NULL || *ep->workload_name == '\0')
		return 0;
	if (w->name != NULL && strcmp(w->name, ep->workload_name) != 0)
		return 0;
	return w->kind == NULL ||
	       (ep->workload_kind != NULL && strcmp(w->kind, ep->workload_kind) == 0);
}

/* ---- parsing a FlowFilter ------------------------------------------------ */

void
bw_flowfilter_free(struct bw_flowfilter *ff)
{
	if (ff == NULL)
		return;
	free(ff->src_ip);
	free(ff->dst_ip);
	for (size_t i = 0; i < ff->n_src_pod; i++) {
		free(ff->src_pod[i].ns);
		free(ff->src_pod[i].prefix);
	}
	for (size_t i = 0; i < ff->n_dst_pod; i++) {
		free(ff->dst_pod[i].ns);
		free(ff->dst_pod[i].prefix);
	}
	free(ff->src_pod);
	free(ff->dst_pod);
	for (size_t i = 0; i < ff->n_src_label; i++)
		ff_selector_free(&ff->src_label[i]);
	for (size_t i = 0; i < ff->n_dst_label; i++)
		ff_selector_free(&ff->dst_label[i]);
	free(ff->src_label);
	free(ff->dst_label);
	free(ff->src_identity);
	free(ff->dst_identity);
	for (size_t i = 0; i < ff->n_src_wl; i++) {
		free(ff->src_wl[i].name);
		free(ff->src_wl[i].kind);
	}
	for (size_t i = 0; i < ff->n_dst_wl; i++) {
		free(ff->dst_wl[i].name);
		free(ff->dst_wl[i].kind);
	}
	free(ff->src_wl);
	free(ff->dst_wl);
	free(ff->src_port);
	free(ff->dst_port);
	free(ff->verdict);
	free(ff->event_type);
	free(ff->protocol);
	free(ff->direction);
	free(ff->tcp_flags);
	for (size_t i = 0; i < ff->n_drop_reason_desc; i++)
		free(ff->drop_reason_desc[i]);
	free(ff->drop_reason_desc);
	free(ff->ip_version);
	free(ff->reply);
	for (size_t i = 0; i < ff->n_node_name; i++)
		free(ff->node_name[i]);
	free(ff->node_name);
	for (size_t i = 0; i < ff->n_uuid; i++)
		free(ff->uuid[i]);
	free(ff->uuid);
	for (size_t i = 0; i < ff->n_src_fqdn; i++)
		free(ff->src_fqdn[i]);
	free(ff->src_fqdn);
	for (size_t i = 0; i < ff->n_dst_fqdn; i++)
		free(ff->dst_fqdn[i]);
	free(ff->dst_fqdn);
	for (size_t i = 0; i < ff->n_dns_query; i++)
		regfree(&ff->dns_query[i]);
	free(ff->dns_query);
	for (size_t i = 0; i < ff->n_http_status; i++)
		free(ff->http_status[i]);
	free(ff->http_status);
	for (size_t i = 0; i < ff->n_http_method; i++)
		free(ff->http_method[i]);
	free(ff->http_method);
	for (size_t i = 0; i < ff->n_http_path; i++)
		regfree(&ff->http_path[i]);
	free(ff->http_path);
	for (size_t i = 0; i < ff->n_http_url; i++)
		regfree(&ff->http_url[i]);
	free(ff->http_url);
	for (size_t i = 0; i < ff->n_http_header; i++) {
		free((char *)ff->http_header[i].key);
		free((char *)ff->http_header[i].value);
	}
	free(ff->http_header);
	for (size_t i = 0; i < ff->n_iface; i++)
		free(ff->iface[i].name);
	free(ff->iface);
	free(ff->encrypted);
	for (size_t i = 0; i < ff->n_kafka_topic; i++)
		free(ff->kafka_topic[i]);
	free(ff->kafka_topic);
	for (size_t i = 0; i < ff->n_kafka_api_key; i++)
		free(ff->kafka_api_key[i]);
	free(ff->kafka_api_key);
	free(ff);
}

/*
 * FlowFilter fields of Hubble's that no bulwark flow can satisfy: the
 * record has nothing they could match. Refused by name (a filter that
 * silently matches nothing would look like an empty node).
 */
static const struct {
	const char *field;
	const char *why;
} ff_unmatchable[] = {
	{"source_ip_xlated", "bulwark translates no addresses: flows have no IP.source_xlated"},
	{"source_service", "bulwark's flows name no Kubernetes services"},
	{"destination_service", "bulwark's flows name no Kubernetes services"},
	{"source_cluster_name", "bulwark's flows carry no cluster name"},
	{"destination_cluster_name", "bulwark's flows carry no cluster name"},
	{"node_labels", "bulwark's flows carry no node labels"},
	{"trace_id", "bulwark's flows carry no trace context"},
	{"ip_trace_id", "bulwark's flows carry no IP trace ID"},
};

static void
ff_unsupported(const char *key, char *err, size_t errlen)
{
	for (size_t i = 0; i < FF_N(ff_unmatchable); i++) {
		if (strcmp(key, ff_unmatchable[i].field) == 0) {
			bw_errbuf_set(err, errlen, "FlowFilter field '%s' is not supported: %s",
				      key, ff_unmatchable[i].why);
			return;
		}
	}
	bw_errbuf_set(err, errlen, "unsupported FlowFilter field '%s'", key);
}

/* Parse one array element of a field; key names the field in errors. */
static int
ff_parse_value(struct bw_flowfilter *ff, const char *key, const json_t *v,
	       char *err, size_t errlen)
{
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;
	int src = strncmp(key, "source_", 7) == 0;
	uint32_t u;
	int n, rc;

#define FF_NEED_STRING()                                                    \
	do {                                                                \
		if (s == NULL) {                                            \
			bw_errbuf_set(err, errlen, "FlowFilter field '%s' takes strings", key); \
			return -EINVAL;                                     \
		}                                                           \
	} while (0)
#define FF_PUSH(arr, n)                                                     \
	({                                                                  \
		void *p_ = ff_push(&(arr), &(n), sizeof(*(arr)));           \
		if (p_ == NULL)                                             \
			return -ENOMEM;                                     \
		(__typeof__(arr))p_;                                        \
	})

	if (strcmp(key, "source_ip") == 0 || strcmp(key, "destination_ip") == 0) {
		struct bw_prefix *c;

		FF_NEED_STRING();
		c = src ? FF_PUSH(ff->src_ip, ff->n_src_ip)
			: FF_PUSH(ff->dst_ip, ff->n_dst_ip);
		if (bw_prefix_parse(s, 0, c) < 0) {
			bw_errbuf_set(err, errlen, "%s: '%s' is not an IP address or CIDR", key, s);
			return -EINVAL;
		}
	} else if (strcmp(key, "source_pod") == 0 ||
		   strcmp(key, "destination_pod") == 0) {
		struct ff_pod *p;

		FF_NEED_STRING();
		p = src ? FF_PUSH(ff->src_pod, ff->n_src_pod)
			: FF_PUSH(ff->dst_pod, ff->n_dst_pod);
		rc = ff_parse_pod(s, p);
		if (rc < 0) {
			bw_errbuf_set(err, errlen, "%s: invalid value '%s', must be [namespace/][pod-prefix]", key, s);
			return rc;
		}
	} else if (strcmp(key, "source_label") == 0 ||
		   strcmp(key, "destination_label") == 0) {
		struct ff_selector *sel;

		FF_NEED_STRING();
		sel = src ? FF_PUSH(ff->src_label, ff->n_src_label)
			  : FF_PUSH(ff->dst_label, ff->n_dst_label);
		if (ff_selector_parse(s, sel) < 0) {
			bw_errbuf_set(err, errlen, "%s: invalid label selector '%s'", key, s);
			return -EINVAL;
		}
	} else if (strcmp(key, "source_identity") == 0 ||
		   strcmp(key, "destination_identity") == 0) {
		uint32_t *id;

		if (json_is_integer(v) && json_integer_value(v) >= 0 &&
		    json_integer_value(v) <= 0xffffffffLL) {
			u = (uint32_t)json_integer_value(v);
		} else if (s != NULL && ff_parse_u32(s, 0xffffffffu, &u) == 0) {
			;
		} else if (s != NULL && (n = bw_flowfilter_identity_parse(s)) >= 0) {
			u = (uint32_t)n;
		} else {
			bw_errbuf_set(err, errlen, "%s: identity must be a number or a reserved name", key);
			return -EINVAL;
		}
		id = src ? FF_PUSH(ff->src_identity, ff->n_src_identity)
			 : FF_PUSH(ff->dst_identity, ff->n_dst_identity);
		*id = u;
	} else if (strcmp(key, "source_workload") == 0 ||
		   strcmp(key, "destination_workload") == 0) {
		struct ff_workload *w;

		w = src ? FF_PUSH(ff->src_wl, ff->n_src_wl)
			: FF_PUSH(ff->dst_wl, ff->n_dst_wl);
		rc = json_is_object(v) ? ff_parse_workload_obj(v, w)
		     : s != NULL ? ff_parse_workload_text(s, w) : -EINVAL;
		if (rc == -EINVAL)
			bw_errbuf_set(err, errlen, "%s: each value is a Workload {\"name\", \"kind\"} or \"[KIND/]NAME\"", key);
		if (rc < 0)
			return rc;
	} else if (strcmp(key, "source_port") == 0 ||
		   strcmp(key, "destination_port") == 0) {
		uint32_t *port;

		if (json_is_integer(v) && json_integer_value(v) >= 0 &&
		    json_integer_value(v) <= 65535)
			u = (uint32_t)json_integer_value(v);
		else if (s == NULL || ff_parse_u32(s, 65535, &u) < 0) {
			bw_errbuf_set(err, errlen, "%s: '%s' is not a port number", key,
				      s != NULL ? s : "?");
			return -EINVAL;
		}
		port = src ? FF_PUSH(ff->src_port, ff->n_src_port)
			   : FF_PUSH(ff->dst_port, ff->n_dst_port);
		*port = u;
	} else if (strcmp(key, "verdict") == 0) {
		if (json_is_integer(v))
			n = (int)json_integer_value(v);
		else
			n = s != NULL ? ff_verdict_parse(s) : -1;
		if (n < 0 || n >= (int)FF_N(ff_verdicts)) {
			bw_errbuf_set(err, errlen, "verdict: unknown verdict '%s' (FORWARDED, DROPPED, ERROR, AUDIT, REDIRECTED, ...)",
				      s != NULL ? s : "?");
			return -EINVAL;
		}
		*FF_PUSH(ff->verdict, ff->n_verdict) = n;
	} else if (strcmp(key, "event_type") == 0) {
		struct ff_event_type *et;
		json_t *t, *st, *ms;

		if (!json_is_object(v) || !json_is_integer(t = json_object_get(v, "type"))) {
			bw_errbuf_set(err, errlen, "event_type: each value is an object {\"type\": N[, \"sub_type\": M, \"match_sub_type\": true]}");
			return -EINVAL;
		}
		et = FF_PUSH(ff->event_type, ff->n_event_type);
		et->type = (uint32_t)json_integer_value(t);
		st = json_object_get(v, "sub_type");
		ms = json_object_get(v, "match_sub_type");
		et->sub_type = json_is_integer(st) ? (uint32_t)json_integer_value(st) : 0;
		et->match_sub_type = json_is_true(ms) || (ms == NULL && st != NULL);
	} else if (strcmp(key, "protocol") == 0) {
		FF_NEED_STRING();
		n = ff_protocol_parse(s);
		if (n == -3) {
			bw_errbuf_set(err, errlen, "protocol: unknown protocol '%s' (tcp, udp, sctp, icmp, icmpv4, icmpv6, dns, http, kafka)", s);
			return -EINVAL;
		}
		*FF_PUSH(ff->protocol, ff->n_protocol) = n;
	} else if (strcmp(key, "traffic_direction") == 0) {
		n = json_is_integer(v) ? (int)json_integer_value(v)
				       : (s != NULL ? ff_direction_parse(s) : -1);
		if (n < 0 || n > 2) {
			bw_errbuf_set(err, errlen, "traffic_direction: must be INGRESS or EGRESS");
			return -EINVAL;
		}
		*FF_PUSH(ff->direction, ff->n_direction) = n;
	} else if (strcmp(key, "tcp_flags") == 0) {
		const char *fk;
		json_t *fv;
		uint32_t mask = 0;

		if (!json_is_object(v)) {
			bw_errbuf_set(err, errlen, "tcp_flags: each value is an object like {\"SYN\": true, \"ACK\": true}");
			return -EINVAL;
		}
		json_object_foreach((json_t *)v, fk, fv) {
			n = ff_tcp_flag_parse(fk, strlen(fk));
			if (n < 0) {
				bw_errbuf_set(err, errlen, "tcp_flags: unknown flag '%s'", fk);
				return -EINVAL;
			}
			if (!json_is_boolean(fv)) {
				bw_errbuf_set(err, errlen, "tcp_flags: %s must be true or false", fk);
				return -EINVAL;
			}
			if (json_is_true(fv))
				mask |= (uint32_t)n;
		}
		*FF_PUSH(ff->tcp_flags, ff->n_tcp_flags) = mask;
	} else if (strcmp(key, "drop_reason_desc") == 0) {
		char **d;

		FF_NEED_STRING();
		d = FF_PUSH(ff->drop_reason_desc, ff->n_drop_reason_desc);
		if ((*d = strdup(s)) == NULL)
			return -ENOMEM;
	} else if (strcmp(key, "ip_version") == 0) {
		if (s != NULL && strcasecmp(s, "IPv4") == 0)
			n = 4;
		else if (s != NULL && strcasecmp(s, "IPv6") == 0)
			n = 6;
		else if (s != NULL && strcasecmp(s, "IP_NOT_USED") == 0)
			n = 0;
		else if (json_is_integer(v) && json_integer_value(v) >= 0 &&
			 json_integer_value(v) <= 2)
			n = (int)json_integer_value(v) == 1 ? 4
			    : (int)json_integer_value(v) == 2 ? 6 : 0;
		else {
			bw_errbuf_set(err, errlen, "ip_version: must be IPv4 or IPv6");
			return -EINVAL;
		}
		*FF_PUSH(ff->ip_version, ff->n_ip_version) = n;
	} else if (strcmp(key, "reply") == 0) {
		if (!json_is_boolean(v)) {
			bw_errbuf_set(err, errlen, "reply: values are true or false");
			return -EINVAL;
		}
		*FF_PUSH(ff->reply, ff->n_reply) = json_is_true(v);
	} else if (strcmp(key, "http_status_code") == 0) {
		char **d;
		size_t len;

		FF_NEED_STRING();
		len = strlen(s);
		/* "404" (^[1-5][0-9]{2}$) or a prefix "4+" / "40+" */
		if (!((len == 3 && s[0] >= '1' && s[0] <= '5' && isdigit((unsigned char)s[1]) &&
		       isdigit((unsigned char)s[2])) ||
		      ((len == 2 || len == 3) && s[0] >= '1' && s[0] <= '5' && s[len - 1] == '+' &&
		       (len == 2 || isdigit((unsigned char)s[1]))))) {
			bw_errbuf_set(err, errlen, "http_status_code: invalid status code prefix: \"%s\"", s);
			return -EINVAL;
		}
		d = FF_PUSH(ff->http_status, ff->n_http_status);
		if ((*d = strndup(s, s[len - 1] == '+' ? len - 1 : len)) == NULL)
			return -ENOMEM;
	} else if (strcmp(key, "http_method") == 0) {
		char **d;

		FF_NEED_STRING();
		d = FF_PUSH(ff->http_method, ff->n_http_method);
		if ((*d = strdup(s)) == NULL)
			return -ENOMEM;
	} else if (strcmp(key, "http_path") == 0 || strcmp(key, "http_url") == 0) {
		regex_t *re;
		char msg[128];

		FF_NEED_STRING();
		re = key[5] == 'p' ? FF_PUSH(ff->http_path, ff->n_http_path)
				   : FF_PUSH(ff->http_url, ff->n_http_url);
		if ((rc = regcomp(re, s, REG_EXTENDED | REG_NOSUB)) != 0) {
			regerror(rc, re, msg, sizeof(msg));
			if (key[5] == 'p')
				ff->n_http_path--;
			else
				ff->n_http_url--;
			bw_errbuf_set(err, errlen, "%s: '%s': %s", key, s, msg);
			return -EINVAL;
		}
	} else if (strcmp(key, "http_header") == 0) {
		struct bw_flow_kv *h;
		const char *hk = json_string_value(json_object_get(v, "key"));
		const char *hv = json_string_value(json_object_get(v, "value"));

		if (!json_is_object(v) || hk == NULL) {
			bw_errbuf_set(err, errlen, "http_header: each value is an object {\"key\": ..., \"value\": ...}");
			return -EINVAL;
		}
		h = FF_PUSH(ff->http_header, ff->n_http_header);
		h->key = strdup(hk);
		h->value = strdup(hv != NULL ? hv : "");
		if (h->key == NULL || h->value == NULL)
			return -ENOMEM;
	} else if (strcmp(key, "kafka_topic") == 0) {
		char **d;

		FF_NEED_STRING();
		d = FF_PUSH(ff->kafka_topic, ff->n_kafka_topic);
		if ((*d = strdup(s)) == NULL)
			return -ENOMEM;
	} else if (strcmp(key, "kafka_api_key") == 0) {
		char **d, kb[16];

		FF_NEED_STRING();

		if ((n = bw_kafka_key_parse(s)) < 0) {
			bw_errbuf_set(err, errlen, "kafka_api_key: unknown API key '%s' (produce, fetch, offsets, metadata, ..., or a number)", s);
			return -EINVAL;
		}
		d = FF_PUSH(ff->kafka_api_key, ff->n_kafka_api_key);
		/* as flows spell it */
		if ((*d = strdup(bw_kafka_key_flow_name(n, kb, sizeof(kb)))) == NULL)
			return -ENOMEM;
	} else if (strcmp(key, "node_name") == 0 || strcmp(key, "uuid") == 0) {
		char **d;

		FF_NEED_STRING();
		d = key[0] == 'n' ? FF_PUSH(ff->node_name, ff->n_node_name)
				  : FF_PUSH(ff->uuid, ff->n_uuid);
		if ((*d = strdup(s)) == NULL)
			return -ENOMEM;
	} else if (strcmp(key, "interface") == 0) {
		struct ff_iface *fi;
		json_t *ix = json_object_get(v, "index"), *nm = json_object_get(v, "name");

		if (!json_is_object(v) || (ix != NULL && !json_is_integer(ix)) ||
		    (nm != NULL && !json_is_string(nm)) ||
		    json_object_size(v) != (size_t)(ix != NULL) + (nm != NULL) ||
		    (ix != NULL && (json_integer_value(ix) < 0 ||
				    json_integer_value(ix) > 0xffffffffLL))) {
			bw_errbuf_set(err, errlen, "interface: each value is an object {\"index\": N, \"name\": \"...\"}");
			return -EINVAL;
		}
		fi = FF_PUSH(ff->iface, ff->n_iface);
		fi->index = ix != NULL ? (uint32_t)json_integer_value(ix) : 0;
		if (nm != NULL && *json_string_value(nm) != '\0' &&
		    (fi->name = strdup(json_string_value(nm))) == NULL)
			return -ENOMEM;
	} else if (strcmp(key, "encrypted") == 0) {
		if (!json_is_boolean(v)) {
			bw_errbuf_set(err, errlen, "encrypted: values are true or false");
			return -EINVAL;
		}
		*FF_PUSH(ff->encrypted, ff->n_encrypted) = json_is_true(v);
	} else if (strcmp(key, "source_fqdn") == 0 ||
		   strcmp(key, "destination_fqdn") == 0) {
		char **d, *pat = NULL;

		FF_NEED_STRING();
		rc = ff_fqdn_parse(s, &pat);
		if (rc == -EINVAL) {
			bw_errbuf_set(err, errlen, "%s: '%s': only letters, digits, '-', '_', '.' and '*' are allowed", key, s);
			return rc;
		}
		if (rc < 0)
			return rc;
		d = src ? FF_PUSH(ff->src_fqdn, ff->n_src_fqdn)
			: FF_PUSH(ff->dst_fqdn, ff->n_dst_fqdn);
		*d = pat;
	} else if (strcmp(key, "dns_query") == 0) {
		regex_t re;

		FF_NEED_STRING();
		rc = regcomp(&re, s, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			char why[128];

			regerror(rc, &re, why, sizeof(why));
			bw_errbuf_set(err, errlen, "dns_query: '%s' is not a regular expression: %s", s, why);
			return -EINVAL;
		}
		{
			regex_t *slot = ff_push(&ff->dns_query, &ff->n_dns_query, sizeof(*slot));

			if (slot == NULL) {
				regfree(&re);
				return -ENOMEM;
			}
			*slot = re;
		}
	} else {
		ff_unsupported(key, err, errlen);
		return -EINVAL;
	}
	return 0;
#undef FF_NEED_STRING
#undef FF_PUSH
}

/* Hubble: HTTP fields need an event type filter that lets L7 events in
 * (and so do bulwark's Kafka fields). */
static int
ff_check_http(const struct bw_flowfilter *ff, char *err, size_t errlen)
{
	static const char *const what[] = {
		"http status code", "http method", "http path", "http url", "http headers",
		"kafka topic", "kafka api key",
	};
	size_t n[] = { ff->n_http_status, ff->n_http_method, ff->n_http_path,
		       ff->n_http_url, ff->n_http_header, ff->n_kafka_topic,
		       ff->n_kafka_api_key };

	if (ff->n_event_type == 0)
		return 0;
	for (size_t i = 0; i < ff->n_event_type; i++)
		if (ff->event_type[i].type == BW_FLOW_EVENT_L7)
			return 0;
	for (size_t i = 0; i < FF_N(n); i++) {
		if (n[i] > 0) {
			bw_errbuf_set(err, errlen, "filtering by %s requires the event type filter to only match 'l7' events",
			       what[i]);
			return -EINVAL;
		}
	}
	return 0;
}

int
bw_flowfilter_parse(const json_t *obj, struct bw_flowfilter **out, char *err,
		    size_t errlen)
{
	struct bw_flowfilter *ff;
	const char *key;
	json_t *val;
	int rc;

	*out = NULL;
	if (!json_is_object(obj)) {
		bw_errbuf_set(err, errlen, "a FlowFilter must be a JSON object");
		return -EINVAL;
	}
	ff = calloc(1, sizeof(*ff));
	if (ff == NULL)
		return -ENOMEM;
	json_object_foreach((json_t *)obj, key, val) {
		if (json_is_null(val))
			continue;
		if (!json_is_array(val)) {
			bw_errbuf_set(err, errlen, "FlowFilter field '%s' must be a list", key);
			bw_flowfilter_free(ff);
			return -EINVAL;
		}
		for (size_t i = 0; i < json_array_size(val); i++) {
			rc = ff_parse_value(ff, key, json_array_get(val, i), err,
					    errlen);
			if (rc < 0) {
				bw_flowfilter_free(ff);
				return rc;
			}
		}
	}
	if ((rc = ff_check_http(ff, err, errlen)) < 0) {
		bw_flowfilter_free(ff);
		return rc;
	}
	*out = ff;
	return 0;
}

/* ---- matching ------------------------------------------------------------ */

static int
ff_u32_in(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

static int
ff_int_in(const int *v, size_t n, int x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

static const struct bw_flow_l7 *
ff_l7(const struct bw_flow *f)
{
	if (!BW_FLOW_HAS(f, l7) || f->l7 == NULL ||
	    f->l7->size < offsetof(struct bw_flow_l7, proto))
		return NULL;
	return f->l7;
}

static const struct bw_flow_http *
ff_http(const struct bw_flow *f)
{
	const struct bw_flow_l7 *l7 = ff_l7(f);

	return l7 != NULL ? l7->http : NULL;
}

static int
ff_hex(int c)
{
	return c >= '0' && c <= '9' ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/*
 * The path of a URL as Go's url.ParseRequestURI gives it (what Hubble's
 * --http-path matches): after scheme://authority, up to '?', unescaped.
 * 0, or -1 when the URL cannot be parsed.
 */
static int
ff_url_path(const char *url, char *out, size_t len)
{
	const char *p = strstr(url, "://"), *e;
	size_t o = 0;

	if (p == NULL) {
		if (url[0] != '/')
			return -1;
		p = url;
	} else {
		p = strchr(p + 3, '/');
		if (p == NULL) {
			out[0] = '\0';
			return 0;
		}
	}
	e = p + strcspn(p, "?#");
	for (; p < e && o + 1 < len; p++) {
		if (*p == '%') {
			int h = p + 2 < e ? ff_hex(p[1]) : -1, l = h >= 0 ? ff_hex(p[2]) : -1;

			if (h < 0 || l < 0)
				return -1;
			out[o++] = (char)(h * 16 + l);
			p += 2;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
	return 0;
}

static int
ff_match_http(const struct bw_flowfilter *ff, const struct bw_flow *f)
{
	const struct bw_flow_http *h;
	size_t i;
	int ok;

	if (ff->n_http_status == 0 && ff->n_http_method == 0 && ff->n_http_path == 0 &&
	    ff->n_http_url == 0 && ff->n_http_header == 0)
		return 1;
	if ((h = ff_http(f)) == NULL)
		return 0;
	if (ff->n_http_status) {
		char code[16];

		if (h->code == 0)
			return 0; /* not a response */
		snprintf(code, sizeof(code), "%03u", h->code);
		for (ok = 0, i = 0; i < ff->n_http_status && !ok; i++)
			ok = strncmp(code, ff->http_status[i], strlen(ff->http_status[i])) == 0;
		if (!ok)
			return 0;
	}
	if (ff->n_http_method) {
		if (h->method == NULL || h->method[0] == '\0')
			return 0;
		for (ok = 0, i = 0; i < ff->n_http_method && !ok; i++)
			ok = strcasecmp(h->method, ff->http_method[i]) == 0;
		if (!ok)
			return 0;
	}
	if (ff->n_http_path) {
		char path[4096];

		if (h->url == NULL || h->url[0] == '\0' ||
		    ff_url_path(h->url, path, sizeof(path)) < 0)
			return 0;
		for (ok = 0, i = 0; i < ff->n_http_path && !ok; i++)
			ok = regexec(&ff->http_path[i], path, 0, NULL, 0) == 0;
		if (!ok)
			return 0;
	}
	if (ff->n_http_url) {
		if (h->url == NULL || h->url[0] == '\0')
			return 0;
		for (ok = 0, i = 0; i < ff->n_http_url && !ok; i++)
			ok = regexec(&ff->http_url[i], h->url, 0, NULL, 0) == 0;
		if (!ok)
			return 0;
	}
	if (ff->n_http_header) {
		for (ok = 0, i = 0; i < ff->n_http_header && !ok; i++)
			for (uint32_t k = 0; k < h->n_headers && !ok; k++)
				ok = h->headers[k].key != NULL && h->headers[k].value != NULL &&
				     strcmp(h->headers[k].key, ff->http_header[i].key) == 0 &&
				     strcmp(h->headers[k].value, ff->http_header[i].value) == 0;
		if (!ok)
			return 0;
	}
	return 1;
}

static int
ff_match_kafka(const struct bw_flowfilter *ff, const struct bw_flow *f)
{
	const struct bw_flow_l7 *l7;
	const struct bw_flow_kafka *k;
	size_t i;
	int ok;

	if (ff->n_kafka_topic == 0 && ff->n_kafka_api_key == 0)
		return 1;
	if ((l7 = ff_l7(f)) == NULL || (k = l7->kafka) == NULL)
		return 0;
	if (ff->n_kafka_topic) {
		for (ok = 0, i = 0; i < ff->n_kafka_topic && !ok; i++)
			ok = k->topic != NULL && strcmp(k->topic, ff->kafka_topic[i]) == 0;
		if (!ok)
			return 0;
	}
	if (ff->n_kafka_api_key) {
		for (ok = 0, i = 0; i < ff->n_kafka_api_key && !ok; i++)
			ok = k->api_key != NULL && strcasecmp(k->api_key, ff->kafka_api_key[i]) == 0;
		if (!ok)
			return 0;
	}
	return 1;
}

static int
ff_has_ports(const struct bw_flow *f)
{
	return f->protocol == 6 || f->protocol == 17 || f->protocol == 132;
}

int
bw_flowfilter_match(const struct bw_flowfilter *ff, const struct bw_flow *f)
{
	size_t i;
	int ok;

	if (ff->n_src_ip) {
		for (ok = 0, i = 0; i < ff->n_src_ip && !ok; i++)
			ok = bw_prefix_contains(&ff->src_ip[i], f->ip_version, f->src_addr);
		if (!ok)
			return 0;
	}
	if (ff->n_dst_ip) {
		for (ok = 0, i = 0; i < ff->n_dst_ip && !ok; i++)
			ok = bw_prefix_contains(&ff->dst_ip[i], f->ip_version, f->dst_addr);
		if (!ok)
			return 0;
	}
	if (ff->n_src_pod) {
		for (ok = 0, i = 0; i < ff->n_src_pod && !ok; i++)
			ok = ff_pod_match(&ff->src_pod[i], &f->source);
		if (!ok)
			return 0;
	}
	if (ff->n_dst_pod) {
		for (ok = 0, i = 0; i < ff->n_dst_pod && !ok; i++)
			ok = ff_pod_match(&ff->dst_pod[i], &f->destination);
		if (!ok)
			return 0;
	}
	if (ff->n_src_label) {
		for (ok = 0, i = 0; i < ff->n_src_label && !ok; i++)
			ok = ff_selector_match(&ff->src_label[i], &f->source);
		if (!ok)
			return 0;
	}
	if (ff->n_dst_label) {
		for (ok = 0, i = 0; i < ff->n_dst_label && !ok; i++)
			ok = ff_selector_match(&ff->dst_label[i], &f->destination);
		if (!ok)
			return 0;
	}
	if (ff->n_src_identity &&
	    !ff_u32_in(ff->src_identity, ff->n_src_identity, f->source.identity))
		return 0;
	if (ff->n_dst_identity &&
	    !ff_u32_in(ff->dst_identity, ff->n_dst_identity, f->destination.identity))
		return 0;
	if (ff->n_src_wl) {
		for (ok = 0, i = 0; i < ff->n_src_wl && !ok; i++)
			ok = ff_workload_match(&ff->src_wl[i], &f->source);
		if (!ok)
			return 0;
	}
	if (ff->n_dst_wl) {
		for (ok = 0, i = 0; i < ff->n_dst_wl && !ok; i++)
			ok = ff_workload_match(&ff->dst_wl[i], &f->destination);
		if (!ok)
			return 0;
	}
	if (ff->n_src_port &&
	    (!ff_has_ports(f) || !ff_u32_in(ff->src_port, ff->n_src_port, f->src_port)))
		return 0;
	if (ff->n_dst_port &&
	    (!ff_has_ports(f) || !ff_u32_in(ff->dst_port, ff->n_dst_port, f->dst_port)))
		return 0;
	if (ff->n_verdict && !ff_int_in(ff->verdict, ff->n_verdict, (int)f->verdict))
		return 0;
	if (ff->n_event_type) {
		for (ok = 0, i = 0; i < ff->n_event_type && !ok; i++) {
			const struct ff_event_type *et = &ff->event_type[i];

			ok = et->type == f->event_type &&
			     (!et->match_sub_type || et->sub_type == f->event_sub_type);
		}
		if (!ok)
			return 0;
	}
	if (ff->n_protocol) {
		for (ok = 0, i = 0; i < ff->n_protocol && !ok; i++) {
			int p = ff->protocol[i];

			const struct bw_flow_l7 *l7 = ff_l7(f);

			if (p == -1)
				ok = f->protocol == 1 || f->protocol == 58;
			else if (p == FF_PROTO_DNS)
				ok = l7 != NULL && l7->dns != NULL;
			else if (p == FF_PROTO_HTTP)
				ok = l7 != NULL && l7->http != NULL;
			else if (p == FF_PROTO_KAFKA)
				ok = l7 != NULL && l7->kafka != NULL;
			else
				ok = f->ip_version != 0 && p == f->protocol;
		}
		if (!ok)
			return 0;
	}
	if (ff->n_direction &&
	    !ff_int_in(ff->direction, ff->n_direction, (int)f->traffic_direction))
		return 0;
	if (ff->n_tcp_flags) {
		if (f->protocol != 6)
			return 0;
		for (ok = 0, i = 0; i < ff->n_tcp_flags && !ok; i++)
			ok = ff->tcp_flags[i] != 0 &&
			     (f->tcp_flags & ff->tcp_flags[i]) == ff->tcp_flags[i];
		if (!ok)
			return 0;
	}
	if (ff->n_drop_reason_desc) {
		for (ok = 0, i = 0; i < ff->n_drop_reason_desc && !ok; i++)
			ok = f->drop_reason_desc != NULL &&
			     strcasecmp(f->drop_reason_desc, ff->drop_reason_desc[i]) == 0;
		if (!ok)
			return 0;
	}
	if (ff->n_ip_version &&
	    !ff_int_in(ff->ip_version, ff->n_ip_version, f->ip_version))
		return 0;
	if (ff->n_reply && !ff_int_in(ff->reply, ff->n_reply, f->is_reply == 1))
		return 0;
	if (ff->n_node_name) {
		for (ok = 0, i = 0; i < ff->n_node_name && !ok; i++)
			ok = f->node_name != NULL &&
			     fnmatch(ff->node_name[i], f->node_name, 0) == 0;
		if (!ok)
			return 0;
	}
	if (ff->n_uuid) {
		for (ok = 0, i = 0; i < ff->n_uuid && !ok; i++)
			ok = strcmp(ff->uuid[i], f->uuid) == 0;
		if (!ok)
			return 0;
	}
	if (ff->n_iface) {
		/* pkg/hubble/filters: a flow without an interface matches none;
		 * a filter's zero index or empty name matches any */
		const char *ifn = f->ifname != NULL ? f->ifname : "";

		if (f->ifindex == 0 && *ifn == '\0')
			return 0;
		for (ok = 0, i = 0; i < ff->n_iface && !ok; i++)
			ok = (ff->iface[i].index == 0 || ff->iface[i].index == f->ifindex) &&
			     (ff->iface[i].name == NULL || strcmp(ff->iface[i].name, ifn) == 0);
		if (!ok)
			return 0;
	}
	/* bulwark encrypts nothing: every flow is IP.encrypted false */
	if (ff->n_encrypted && !ff_int_in(ff->encrypted, ff->n_encrypted, 0))
		return 0;
	if (ff->n_src_fqdn &&
	    (!BW_FLOW_HAS(f, n_source_names) ||
	     !ff_names_match(ff->src_fqdn, ff->n_src_fqdn, f->source_names,
			     f->n_source_names)))
		return 0;
	if (ff->n_dst_fqdn &&
	    (!BW_FLOW_HAS(f, n_destination_names) ||
	     !ff_names_match(ff->dst_fqdn, ff->n_dst_fqdn, f->destination_names,
			     f->n_destination_names)))
		return 0;
	if (ff->n_dns_query) {
		const struct bw_flow_l7 *l7 = BW_FLOW_HAS(f, l7) ? f->l7 : NULL;
		const char *q = l7 != NULL && l7->dns != NULL ? l7->dns->query : NULL;

		if (q == NULL)
			return 0;
		for (ok = 0, i = 0; i < ff->n_dns_query && !ok; i++)
			ok = regexec(&ff->dns_query[i], q, 0, NULL, 0) == 0;
		if (!ok)
			return 0;
	}
	return ff_match_http(ff, f) && ff_match_kafka(ff, f);
}

/* ---- filter sets ---------------------------------------------------------- */

void
bw_flowfilters_clear(struct bw_flowfilters *fs)
{
	for (size_t i = 0; i < fs->n_allow; i++)
		bw_flowfilter_free(fs->allow[i]);
	for (size_t i = 0; i < fs->n_deny; i++)
		bw_flowfilter_free(fs->deny[i]);
	free(fs->allow);
	free(fs->deny);
	memset(fs, 0, sizeof(*fs));
}

static int
ff_parse_list(const json_t *list, const char *what, struct bw_flowfilter ***out,
	      size_t *n, char *err, size_t errlen)
{
	char sub[256];
	int rc;

	if (list == NULL || json_is_null(list))
		return 0;
	if (!json_is_array(list)) {
		bw_errbuf_set(err, errlen, "%s must be a list of FlowFilter objects", what);
		return -EINVAL;
	}
	for (size_t i = 0; i < json_array_size(list); i++) {
		struct bw_flowfilter **slot;

		slot = ff_push(out, n, sizeof(**out));
		if (slot == NULL)
			return -ENOMEM;
		rc = bw_flowfilter_parse(json_array_get(list, i), slot, sub,
					 sizeof(sub));
		if (rc < 0) {
			(*n)--;
			bw_errbuf_set(err, errlen, "%s[%zu]: %s", what, i, sub);
			return rc;
		}
	}
	return 0;
}

int
bw_flowfilters_parse(struct bw_flowfilters *fs, const json_t *whitelist,
		     const json_t *blacklist, char *err, size_t errlen)
{
	int rc;

	rc = ff_parse_list(whitelist, "whitelist", &fs->allow, &fs->n_allow,
			   err, errlen);
	if (rc == 0)
		rc = ff_parse_list(blacklist, "blacklist", &fs->deny,
				   &fs->n_deny, err, errlen);
	if (rc < 0)
		bw_flowfilters_clear(fs);
	return rc;
}

int
bw_flowfilters_match(const struct bw_flowfilters *fs, const struct bw_flow *f)
{
	int ok = fs->n_allow == 0;

	for (size_t i = 0; i < fs->n_allow && !ok; i++)
		ok = bw_flowfilter_match(fs->allow[i], f);
	if (!ok)
		return 0;
	for (size_t i = 0; i < fs->n_deny; i++)
		if (bw_flowfilter_match(fs->deny[i], f))
			return 0;
	return 1;
}
