/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/flowfilter_flags.c - the `observe` flag -> Hubble FlowFilter builder:
 * hubble observe's flags (--from-pod, --label, --verdict, --not, ...) turned
 * into the whitelist and blacklist FlowFilter objects that the daemon's
 * parser (lib/flowfilter.c) reads. Libc and jansson only (the CLI links it).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/flowfilter.h"
#include "lib/flowfilter_int.h"
#include "cli/flowfilter_flags.h"
#include "lib/errbuf.h"
#include "lib/prefix.h"

/* ---- the flag builder ------------------------------------------------------ */

/* Flags that conflict with their one-sided forms (bit per family). */
#define FB_POD (1u << 0)
#define FB_POD_SIDE (1u << 1)
#define FB_IP (1u << 2)
#define FB_IP_SIDE (1u << 3)
#define FB_LABEL (1u << 4)
#define FB_LABEL_SIDE (1u << 5)
#define FB_ID (1u << 6)
#define FB_ID_SIDE (1u << 7)
#define FB_PORT (1u << 8)
#define FB_PORT_SIDE (1u << 9)
#define FB_NS (1u << 10)
#define FB_NS_SIDE (1u << 11)
#define FB_WL (1u << 12)
#define FB_WL_SIDE (1u << 13)
#define FB_FQDN (1u << 14)
#define FB_FQDN_SIDE (1u << 15)

enum fb_side { FB_BOTH, FB_EITHER };

static const struct {
	const char *flag;
	const char *field;  /* FlowFilter field (the source one for FB_EITHER) */
	const char *field2; /* destination field for FB_EITHER */
	enum fb_side side;
	unsigned bit, conflicts;
} fb_flags[] = {
	{"pod", "source_pod", "destination_pod", FB_EITHER, FB_POD, FB_POD_SIDE},
	{"from-pod", "source_pod", NULL, FB_BOTH, FB_POD_SIDE, FB_POD},
	{"to-pod", "destination_pod", NULL, FB_BOTH, FB_POD_SIDE, FB_POD},
	{"namespace", "source_pod", "destination_pod", FB_EITHER, FB_NS, FB_NS_SIDE},
	{"from-namespace", "source_pod", NULL, FB_BOTH, FB_NS_SIDE, FB_NS},
	{"to-namespace", "destination_pod", NULL, FB_BOTH, FB_NS_SIDE, FB_NS},
	{"ip", "source_ip", "destination_ip", FB_EITHER, FB_IP, FB_IP_SIDE},
	{"from-ip", "source_ip", NULL, FB_BOTH, FB_IP_SIDE, FB_IP},
	{"to-ip", "destination_ip", NULL, FB_BOTH, FB_IP_SIDE, FB_IP},
	{"label", "source_label", "destination_label", FB_EITHER, FB_LABEL, FB_LABEL_SIDE},
	{"from-label", "source_label", NULL, FB_BOTH, FB_LABEL_SIDE, FB_LABEL},
	{"to-label", "destination_label", NULL, FB_BOTH, FB_LABEL_SIDE, FB_LABEL},
	{"identity", "source_identity", "destination_identity", FB_EITHER, FB_ID, FB_ID_SIDE},
	{"from-identity", "source_identity", NULL, FB_BOTH, FB_ID_SIDE, FB_ID},
	{"to-identity", "destination_identity", NULL, FB_BOTH, FB_ID_SIDE, FB_ID},
	{"port", "source_port", "destination_port", FB_EITHER, FB_PORT, FB_PORT_SIDE},
	{"from-port", "source_port", NULL, FB_BOTH, FB_PORT_SIDE, FB_PORT},
	{"to-port", "destination_port", NULL, FB_BOTH, FB_PORT_SIDE, FB_PORT},
	{"workload", "source_workload", "destination_workload", FB_EITHER, FB_WL, FB_WL_SIDE},
	{"from-workload", "source_workload", NULL, FB_BOTH, FB_WL_SIDE, FB_WL},
	{"to-workload", "destination_workload", NULL, FB_BOTH, FB_WL_SIDE, FB_WL},
	{"fqdn", "source_fqdn", "destination_fqdn", FB_EITHER, FB_FQDN, FB_FQDN_SIDE},
	{"from-fqdn", "source_fqdn", NULL, FB_BOTH, FB_FQDN_SIDE, FB_FQDN},
	{"to-fqdn", "destination_fqdn", NULL, FB_BOTH, FB_FQDN_SIDE, FB_FQDN},
	{"dns-query", "dns_query", NULL, FB_BOTH, 0, 0},
	{"verdict", "verdict", NULL, FB_BOTH, 0, 0},
	{"type", "event_type", NULL, FB_BOTH, 0, 0},
	{"protocol", "protocol", NULL, FB_BOTH, 0, 0},
	{"traffic-direction", "traffic_direction", NULL, FB_BOTH, 0, 0},
	{"tcp-flags", "tcp_flags", NULL, FB_BOTH, 0, 0},
	{"drop-reason-desc", "drop_reason_desc", NULL, FB_BOTH, 0, 0},
	{"node-name", "node_name", NULL, FB_BOTH, 0, 0},
	{"uuid", "uuid", NULL, FB_BOTH, 0, 0},
	{"ip-version", "ip_version", NULL, FB_BOTH, 0, 0},
	{"http-status", "http_status_code", NULL, FB_BOTH, 0, 0},
	{"http-method", "http_method", NULL, FB_BOTH, 0, 0},
	{"http-path", "http_path", NULL, FB_BOTH, 0, 0},
	{"http-url", "http_url", NULL, FB_BOTH, 0, 0},
	{"http-header", "http_header", NULL, FB_BOTH, 0, 0},
	{"kafka-topic", "kafka_topic", NULL, FB_BOTH, 0, 0},
	{"kafka-api-key", "kafka_api_key", NULL, FB_BOTH, 0, 0},
};

void
bw_flowfilter_builder_init(struct bw_flowfilter_builder *b)
{
	memset(b, 0, sizeof(*b));
}

void
bw_flowfilter_builder_free(struct bw_flowfilter_builder *b)
{
	for (int i = 0; i < 2; i++) {
		json_decref(b->allow[i]);
		json_decref(b->deny[i]);
	}
	memset(b, 0, sizeof(*b));
}

static int
fb_append(json_t **filter, const char *field, json_t *value)
{
	json_t *arr;

	if (*filter == NULL && (*filter = json_object()) == NULL)
		goto nomem;
	arr = json_object_get(*filter, field);
	if (arr == NULL) {
		arr = json_array();
		if (arr == NULL || json_object_set_new(*filter, field, arr) < 0)
			goto nomem;
	}
	if (json_array_append(arr, value) < 0)
		goto nomem;
	return 0;
nomem:
	return -ENOMEM;
}

/* Convert a flag value into the JSON value of its FlowFilter field. */
static json_t *
fb_value(const char *flag, const char *field, const char *v, char *err,
	 size_t errlen)
{
	struct bw_prefix c;
	struct ff_selector sel;
	uint32_t u;
	int n;

	if (strcmp(field, "source_pod") == 0 || strcmp(field, "destination_pod") == 0) {
		if (strstr(flag, "namespace") != NULL) {
			char buf[512];

			if (*v == '\0' || strchr(v, '/') != NULL) {
				bw_errbuf_set(err, errlen, "--%s: '%s' is not a namespace name", flag, v);
				return NULL;
			}
			snprintf(buf, sizeof(buf), "%s/", v);
			return json_string(buf);
		}
		if (*v == '\0') {
			bw_errbuf_set(err, errlen, "--%s: must be [namespace/][pod-name-prefix]", flag);
			return NULL;
		}
		if (strchr(v, '/') == NULL) {
			/* like hubble: no namespace means "default" */
			char buf[512];

			snprintf(buf, sizeof(buf), "default/%s", v);
			return json_string(buf);
		}
		return json_string(v);
	}
	if (strcmp(field, "source_ip") == 0 || strcmp(field, "destination_ip") == 0) {
		if (bw_prefix_parse(v, 0, &c) < 0) {
			bw_errbuf_set(err, errlen, "--%s: '%s' is not an IP address or CIDR", flag, v);
			return NULL;
		}
		return json_string(v);
	}
	if (strcmp(field, "source_label") == 0 || strcmp(field, "destination_label") == 0) {
		if (ff_selector_parse(v, &sel) < 0) {
			bw_errbuf_set(err, errlen, "--%s: invalid label selector '%s'", flag, v);
			return NULL;
		}
		ff_selector_free(&sel);
		return json_string(v);
	}
	if (strcmp(field, "source_identity") == 0 || strcmp(field, "destination_identity") == 0) {
		if (ff_parse_u32(v, 0xffffffffu, &u) == 0)
			return json_integer((json_int_t)u);
		n = bw_flowfilter_identity_parse(v);
		if (n < 0) {
			bw_errbuf_set(err, errlen, "--%s: '%s' is neither a number nor a reserved identity (host, world, unmanaged, health, init, remote-node, kube-apiserver, ingress, world-ipv4, world-ipv6)", flag, v);
			return NULL;
		}
		return json_integer(n);
	}
	if (strcmp(field, "source_workload") == 0 ||
	    strcmp(field, "destination_workload") == 0) {
		struct ff_workload w = { NULL, NULL };
		json_t *o = NULL;

		/* a Workload message, as hubble sends it: {"name", "kind"} */
		if (ff_parse_workload_text(v, &w) == 0)
			o = json_object();
		if (o != NULL && w.name != NULL)
			json_object_set_new(o, "name", json_string(w.name));
		if (o != NULL && w.kind != NULL)
			json_object_set_new(o, "kind", json_string(w.kind));
		free(w.name);
		free(w.kind);
		if (o == NULL)
			bw_errbuf_set(err, errlen, "--%s: '%s' is not [KIND/]NAME (e.g. web, Deployment/web, Deployment/)",
				      flag, v);
		return o;
	}
	if (strcmp(field, "source_port") == 0 || strcmp(field, "destination_port") == 0) {
		if (ff_parse_u32(v, 65535, &u) < 0) {
			bw_errbuf_set(err, errlen, "--%s: '%s' is not a port number", flag, v);
			return NULL;
		}
		return json_string(v);
	}
	if (strcmp(field, "source_fqdn") == 0 || strcmp(field, "destination_fqdn") == 0) {
		for (const char *p = v; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' &&
			    *p != '.' && *p != '*') {
				bw_errbuf_set(err, errlen, "--%s: '%s': only letters, digits, '-', '_', '.' and '*' are allowed", flag, v);
				return NULL;
			}
		if (*v == '\0' || !strcmp(v, ".")) {
			bw_errbuf_set(err, errlen, "--%s: a name or pattern is required", flag);
			return NULL;
		}
		return json_string(v);
	}
	if (strcmp(field, "verdict") == 0) {
		n = ff_verdict_parse(v);
		if (n < 0) {
			bw_errbuf_set(err, errlen, "--verdict: unknown verdict '%s' (FORWARDED, DROPPED, AUDIT, REDIRECTED, ERROR, TRACED, TRANSLATED)", v);
			return NULL;
		}
		return json_string(ff_verdicts[n]);
	}
	if (strcmp(field, "event_type") == 0) {
		const char *colon = strchr(v, ':');
		size_t tlen = colon != NULL ? (size_t)(colon - v) : strlen(v);
		char tbuf[64];
		int type = -1, sub = -1;

		if (tlen >= sizeof(tbuf))
			goto bad_type;
		memcpy(tbuf, v, tlen);
		tbuf[tlen] = '\0';
		for (size_t i = 0; i < ff_n_event_types; i++)
			if (strcasecmp(tbuf, ff_event_types[i].name) == 0)
				type = (int)ff_event_types[i].value;
		if (type < 0 && ff_parse_u32(tbuf, 255, &u) == 0)
			type = (int)u;
		if (type < 0)
			goto bad_type;
		if (colon != NULL) {
			if (type == 4)
				for (size_t i = 0; i < ff_n_trace_points; i++)
					if (strcasecmp(colon + 1, ff_trace_points[i]) == 0)
						sub = (int)i;
			if (sub < 0 && ff_parse_u32(colon + 1, 255, &u) == 0)
				sub = (int)u;
			if (sub < 0) {
				bw_errbuf_set(err, errlen, "--type: unknown sub-type '%s' of '%s'", colon + 1, tbuf);
				return NULL;
			}
			return json_pack("{s:i, s:b, s:i}", "type", type,
					 "match_sub_type", 1, "sub_type", sub);
		}
		return json_pack("{s:i}", "type", type);
bad_type:
		bw_errbuf_set(err, errlen, "--type: unknown event type '%s' (trace[:SUBTYPE], drop, policy-verdict, l7, capture, trace-sock, or a number)", v);
		return NULL;
	}
	if (strcmp(field, "protocol") == 0) {
		if (ff_protocol_parse(v) == -3) {
			bw_errbuf_set(err, errlen, "--protocol: unknown protocol '%s' (tcp, udp, sctp, icmp, icmpv4, icmpv6, dns, http, kafka)", v);
			return NULL;
		}
		return json_string(v);
	}
	if (strcmp(field, "traffic_direction") == 0) {
		n = ff_direction_parse(v);
		if (n != BW_FLOW_TRAFFIC_INGRESS && n != BW_FLOW_TRAFFIC_EGRESS) {
			bw_errbuf_set(err, errlen, "--traffic-direction: must be ingress or egress, not '%s'", v);
			return NULL;
		}
		return json_string(n == BW_FLOW_TRAFFIC_INGRESS ? "INGRESS" : "EGRESS");
	}
	if (strcmp(field, "tcp_flags") == 0) {
		json_t *o = json_object();
		const char *p = v;

		while (o != NULL && *p != '\0') {
			const char *e = strchr(p, ',');
			size_t len = e != NULL ? (size_t)(e - p) : strlen(p);

			n = ff_tcp_flag_parse(p, len);
			if (n < 0) {
				bw_errbuf_set(err, errlen, "--tcp-flags: unknown flag '%.*s' (SYN, ACK, FIN, RST, PSH, URG, ECE, CWR, NS)", (int)len, p);
				json_decref(o);
				return NULL;
			}
			for (size_t i = 0; i < ff_n_tcp_flag_names; i++)
				if (ff_tcp_flag_names[i].value == (uint32_t)n)
					json_object_set_new(o, ff_tcp_flag_names[i].name, json_true());
			p += len + (e != NULL);
		}
		if (o != NULL && json_object_size(o) == 0) {
			bw_errbuf_set(err, errlen, "--tcp-flags: no flag given");
			json_decref(o);
			return NULL;
		}
		return o;
	}
	if (strcmp(field, "ip_version") == 0) {
		if (strcasecmp(v, "v4") == 0 || strcasecmp(v, "ipv4") == 0 || strcmp(v, "4") == 0)
			return json_string("IPv4");
		if (strcasecmp(v, "v6") == 0 || strcasecmp(v, "ipv6") == 0 || strcmp(v, "6") == 0)
			return json_string("IPv6");
		bw_errbuf_set(err, errlen, "--ip-version: must be v4 or v6");
		return NULL;
	}
	if (strcmp(field, "http_header") == 0) {
		const char *colon = strchr(v, ':');

		/* hubble: key:value */
		if (colon == NULL || colon == v) {
			bw_errbuf_set(err, errlen, "--http-header: '%s' is not key:value", v);
			return NULL;
		}
		return json_pack("{s:s%, s:s}", "key", v, (size_t)(colon - v),
				 "value", colon + 1);
	}
	if (strcmp(field, "http_status_code") == 0 || strcmp(field, "http_path") == 0 ||
	    strcmp(field, "http_url") == 0 || strcmp(field, "kafka_api_key") == 0) {
		/* checked by the FlowFilter parser, with Hubble's messages */
		json_t *o = json_pack("{s:[s]}", field, v);
		struct bw_flowfilter *ff;

		if (o == NULL || bw_flowfilter_parse(o, &ff, err, errlen) < 0) {
			json_decref(o);
			return NULL;
		}
		bw_flowfilter_free(ff);
		json_decref(o);
		return json_string(v);
	}
	if (strcmp(field, "drop_reason_desc") == 0) {
		char buf[128];
		size_t i;

		for (i = 0; v[i] != '\0' && i + 1 < sizeof(buf); i++)
			buf[i] = (char)toupper((unsigned char)v[i]);
		buf[i] = '\0';
		return json_string(buf);
	}
	return json_string(v);
}

int
bw_flowfilter_builder_add(struct bw_flowfilter_builder *b, const char *flag,
			  const char *value, char *err, size_t errlen)
{
	json_t **side, *val;
	unsigned *set;
	size_t i;
	int rc = 0, deny;

	if (strcmp(flag, "not") == 0) {
		if (b->negate_next) {
			bw_errbuf_set(err, errlen, "--not: two --not in a row");
			return -EINVAL;
		}
		b->negate_next = 1;
		return 0;
	}
	for (i = 0; i < FF_N(fb_flags); i++)
		if (strcmp(flag, fb_flags[i].flag) == 0)
			break;
	if (i == FF_N(fb_flags))
		return -ENOENT;
	if (value == NULL) {
		bw_errbuf_set(err, errlen, "--%s needs a value", flag);
		return -EINVAL;
	}
	deny = b->negate_next;
	b->negate_next = 0;
	side = deny ? b->deny : b->allow;
	set = deny ? &b->set_deny : &b->set_allow;
	if (*set & fb_flags[i].conflicts) {
		const char *base = flag;

		if (fb_flags[i].side == FB_EITHER) {
			bw_errbuf_set(err, errlen, "--%s cannot be combined with --from-%s or --to-%s",
				      flag, flag, flag);
		} else {
			base += strncmp(flag, "from-", 5) == 0 ? 5 : 3;
			bw_errbuf_set(err, errlen, "--%s cannot be combined with --%s", flag, base);
		}
		return -EINVAL;
	}
	*set |= fb_flags[i].bit;
	val = fb_value(flag, fb_flags[i].field, value, err, errlen);
	if (val == NULL)
		return -EINVAL;
	if (fb_flags[i].side == FB_EITHER) {
		rc = fb_append(&side[0], fb_flags[i].field, val);
		if (rc == 0)
			rc = fb_append(&side[1], fb_flags[i].field2, val);
	} else {
		rc = fb_append(&side[0], fb_flags[i].field, val);
		if (rc == 0)
			rc = fb_append(&side[1], fb_flags[i].field, val);
	}
	json_decref(val);
	return rc;
}

static json_t *
fb_list(json_t *filters[2])
{
	json_t *a = json_array();

	if (a == NULL)
		return NULL;
	if (filters[0] != NULL && filters[1] != NULL &&
	    json_equal(filters[0], filters[1])) {
		json_array_append(a, filters[0]);
		return a;
	}
	for (int i = 0; i < 2; i++)
		if (filters[i] != NULL)
			json_array_append(a, filters[i]);
	return a;
}

int
bw_flowfilter_builder_finish(struct bw_flowfilter_builder *b,
			     json_t **whitelist, json_t **blacklist, char *err,
			     size_t errlen)
{
	*whitelist = *blacklist = NULL;
	if (b->negate_next) {
		bw_errbuf_set(err, errlen, "--not must be followed by a filter flag");
		return -EINVAL;
	}
	*whitelist = fb_list(b->allow);
	*blacklist = fb_list(b->deny);
	if (*whitelist == NULL || *blacklist == NULL) {
		json_decref(*whitelist);
		json_decref(*blacklist);
		*whitelist = *blacklist = NULL;
		return -ENOMEM;
	}
	return 0;
}
