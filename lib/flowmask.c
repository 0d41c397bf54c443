/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lib/flowmask.c - Hubble field masks over the Flow message
 * (hubble-export-fieldmask): space- or comma-separated proto field paths
 * ("time source.namespace l4 verdict"), checked against the Flow message's
 * fields (cilium-hubble.md 5.2) so that a typo is a config error instead
 * of a silently empty log. Applying a mask keeps the named fields of the
 * response's "flow" object, in their original order, and the response's
 * own node_name and time, as Hubble's exporter does. The mask is applied
 * to the JSON object the writer builds (bw_flowjson_text_masked), not to
 * its text. Declared in lib/flowjson.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/errbuf.h"
#include "lib/flowjson.h"

/* ---- the Flow message's fields ------------------------------------------------ */

struct flowmask_field {
	const char *name;
	const struct flowmask_field *sub; /* NULL: no subfields (scalar, list, Any) */
};

#define FM_END { NULL, NULL }

static const struct flowmask_field fm_endpoint[] = {
	{ "ID", NULL }, { "identity", NULL }, { "cluster_name", NULL },
	{ "namespace", NULL }, { "labels", NULL }, { "pod_name", NULL },
	{ "workloads", NULL }, FM_END,
};
static const struct flowmask_field fm_ip[] = {
	{ "source", NULL }, { "source_xlated", NULL }, { "destination", NULL },
	{ "ipVersion", NULL }, { "encrypted", NULL }, FM_END,
};
static const struct flowmask_field fm_ethernet[] = {
	{ "source", NULL }, { "destination", NULL }, FM_END,
};
static const struct flowmask_field fm_tcp[] = {
	{ "source_port", NULL }, { "destination_port", NULL },
	{ "flags", NULL }, FM_END,
};
static const struct flowmask_field fm_ports[] = {
	{ "source_port", NULL }, { "destination_port", NULL }, FM_END,
};
static const struct flowmask_field fm_icmp[] = {
	{ "type", NULL }, { "code", NULL }, FM_END,
};
static const struct flowmask_field fm_vrrp[] = {
	{ "type", NULL }, { "vrid", NULL }, { "priority", NULL }, FM_END,
};
static const struct flowmask_field fm_igmp[] = {
	{ "type", NULL }, { "group_address", NULL }, FM_END,
};
static const struct flowmask_field fm_l4[] = {
	{ "TCP", fm_tcp }, { "UDP", fm_ports }, { "ICMPv4", fm_icmp },
	{ "ICMPv6", fm_icmp }, { "SCTP", fm_ports }, { "VRRP", fm_vrrp },
	{ "IGMP", fm_igmp }, FM_END,
};
static const struct flowmask_field fm_event_type[] = {
	{ "type", NULL }, { "sub_type", NULL }, FM_END,
};
static const struct flowmask_field fm_interface[] = {
	{ "index", NULL }, { "name", NULL }, FM_END,
};
static const struct flowmask_field fm_service[] = {
	{ "name", NULL }, { "namespace", NULL }, FM_END,
};
static const struct flowmask_field fm_file[] = {
	{ "name", NULL }, { "line", NULL }, FM_END,
};
static const struct flowmask_field fm_emitter[] = {
	{ "name", NULL }, { "version", NULL }, FM_END,
};
static const struct flowmask_field fm_dns[] = {
	{ "query", NULL }, { "ips", NULL }, { "ttl", NULL }, { "cnames", NULL },
	{ "observation_source", NULL }, { "rcode", NULL }, { "qtypes", NULL },
	{ "rrtypes", NULL }, FM_END,
};
static const struct flowmask_field fm_http[] = {
	{ "code", NULL }, { "method", NULL }, { "url", NULL },
	{ "protocol", NULL }, { "headers", NULL }, FM_END,
};
static const struct flowmask_field fm_kafka[] = {
	{ "error_code", NULL }, { "api_version", NULL }, { "api_key", NULL },
	{ "correlation_id", NULL }, { "topic", NULL }, FM_END,
};
static const struct flowmask_field fm_l7[] = {
	{ "type", NULL }, { "latency_ns", NULL }, { "dns", fm_dns },
	{ "http", fm_http }, { "kafka", fm_kafka }, FM_END,
};
static const struct flowmask_field fm_tunnel[] = {
	{ "protocol", NULL }, { "IP", fm_ip }, { "l4", fm_l4 }, { "vni", NULL },
	FM_END,
};
static const struct flowmask_field fm_ip_trace_id[] = {
	{ "trace_id", NULL }, { "ip_option_type", NULL }, FM_END,
};
static const struct flowmask_field fm_aggregate[] = {
	{ "ingress_flow_count", NULL }, { "egress_flow_count", NULL },
	{ "unknown_direction_flow_count", NULL }, FM_END,
};
static const struct flowmask_field fm_flow[] = {
	{ "time", NULL }, { "uuid", NULL }, { "emitter", fm_emitter },
	{ "verdict", NULL }, { "drop_reason", NULL }, { "auth_type", NULL },
	{ "ethernet", fm_ethernet }, { "IP", fm_ip }, { "l4", fm_l4 },
	{ "tunnel", fm_tunnel }, { "source", fm_endpoint },
	{ "destination", fm_endpoint }, { "Type", NULL }, { "node_name", NULL },
	{ "node_labels", NULL }, { "source_names", NULL },
	{ "destination_names", NULL }, { "l7", fm_l7 }, { "reply", NULL },
	{ "event_type", fm_event_type }, { "source_service", fm_service },
	{ "destination_service", fm_service }, { "traffic_direction", NULL },
	{ "policy_match_type", NULL }, { "trace_observation_point", NULL },
	{ "trace_reason", NULL }, { "file", fm_file },
	{ "ip_trace_id", fm_ip_trace_id }, { "drop_reason_desc", NULL },
	{ "is_reply", NULL }, { "debug_capture_point", NULL },
	{ "interface", fm_interface }, { "proxy_port", NULL },
	{ "trace_context", NULL }, { "sock_xlate_point", NULL },
	{ "socket_cookie", NULL }, { "cgroup_id", NULL }, { "Summary", NULL },
	{ "extensions", NULL }, { "egress_allowed_by", NULL },
	{ "ingress_allowed_by", NULL }, { "egress_denied_by", NULL },
	{ "ingress_denied_by", NULL }, { "policy_log", NULL },
	{ "aggregate", fm_aggregate }, FM_END,
};

static const struct flowmask_field *
flowmask_field_find(const struct flowmask_field *t, const char *name)
{
	for (; t != NULL && t->name != NULL; t++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

/* ---- the mask tree -------------------------------------------------------------- */

struct bw_flowmask {
	char *name;                /* NULL at the root */
	int all;                   /* keep the whole field */
	struct bw_flowmask *kids; /* array of nkids */
	size_t nkids;
};

static void
flowmask_clear(struct bw_flowmask *m)
{
	for (size_t i = 0; i < m->nkids; i++)
		flowmask_clear(&m->kids[i]);
	free(m->kids);
	free(m->name);
}

void
bw_flowmask_free(struct bw_flowmask *m)
{
	if (m == NULL)
		return;
	flowmask_clear(m);
	free(m);
}

static struct bw_flowmask *
flowmask_kid(struct bw_flowmask *m, const char *name)
{
	struct bw_flowmask *k;

	for (size_t i = 0; i < m->nkids; i++)
		if (!strcmp(m->kids[i].name, name))
			return &m->kids[i];
	k = realloc(m->kids, (m->nkids + 1) * sizeof(*k));
	if (k == NULL)
		return NULL;
	m->kids = k;
	k = &m->kids[m->nkids];
	memset(k, 0, sizeof(*k));
	if ((k->name = strdup(name)) == NULL)
		return NULL;
	m->nkids++;
	return k;
}

/* Add one dotted path, checked against the Flow message. */
static int
flowmask_add(struct bw_flowmask *root, char *path, char *err, size_t errlen)
{
	const struct flowmask_field *table = fm_flow, *f = NULL;
	struct bw_flowmask *m = root;
	char *save = NULL, *comp, *full = strdup(path);
	const char *parent = "Flow";

	if (full == NULL)
		return -ENOMEM;
	for (comp = strtok_r(path, ".", &save); comp != NULL;
	     comp = strtok_r(NULL, ".", &save)) {
		if (table == NULL) {
			bw_errbuf_set(err, errlen, "'%s': field '%s' has no subfields",
				      full, parent);
			goto bad;
		}
		if ((f = flowmask_field_find(table, comp)) == NULL) {
			bw_errbuf_set(err, errlen, "'%s': %s has no field '%s'",
				      full, parent, comp);
			goto bad;
		}
		if ((m = flowmask_kid(m, comp)) == NULL) {
			free(full);
			return -ENOMEM;
		}
		if (m->all)
			break; /* a shorter path keeps all of it already */
		table = f->sub;
		parent = f->name;
	}
	if (f == NULL || strstr(full, "..") != NULL) {
		bw_errbuf_set(err, errlen, "'%s' is not a field path", full);
		goto bad;
	}
	if (comp == NULL) {
		/* the whole field: forget narrower paths under it */
		for (size_t i = 0; i < m->nkids; i++)
			flowmask_clear(&m->kids[i]);
		free(m->kids);
		m->kids = NULL;
		m->nkids = 0;
		m->all = 1;
	}
	free(full);
	return 0;
bad:
	free(full);
	return -EINVAL;
}

int
bw_flowmask_parse(const char *text, struct bw_flowmask **out, char *err,
		  size_t errlen)
{
	struct bw_flowmask *root;
	char *copy, *save = NULL, *tok;
	int rc = 0;

	*out = NULL;
	if (text == NULL || text[strspn(text, " \t,")] == '\0')
		return 0;
	if ((root = calloc(1, sizeof(*root))) == NULL ||
	    (copy = strdup(text)) == NULL) {
		free(root);
		bw_errbuf_set(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (tok = strtok_r(copy, " \t,", &save); tok != NULL && rc == 0;
	     tok = strtok_r(NULL, " \t,", &save)) {
		if (tok[0] == '.' || tok[strlen(tok) - 1] == '.') {
			bw_errbuf_set(err, errlen, "'%s' is not a field path", tok);
			rc = -EINVAL;
			break;
		}
		rc = flowmask_add(root, tok, err, errlen);
		if (rc == -ENOMEM)
			bw_errbuf_set(err, errlen, "out of memory");
	}
	free(copy);
	if (rc < 0) {
		bw_flowmask_free(root);
		return rc;
	}
	*out = root;
	return 0;
}

/* A new object with the masked members of obj, in obj's order. */
static json_t *
flowmask_obj(const struct bw_flowmask *m, json_t *obj)
{
	json_t *out = json_object(), *v;
	const char *key;

	if (out == NULL)
		return NULL;
	json_object_foreach(obj, key, v) {
		const struct bw_flowmask *k = NULL;

		for (size_t i = 0; i < m->nkids; i++)
			if (!strcmp(m->kids[i].name, key)) {
				k = &m->kids[i];
				break;
			}
		if (k == NULL)
			continue;
		if (k->all) {
			json_object_set(out, key, v);
		} else if (json_is_object(v)) {
			json_t *sub = flowmask_obj(k, v);

			if (sub == NULL) {
				json_decref(out);
				return NULL;
			}
			if (json_object_size(sub) > 0)
				json_object_set_new(out, key, sub);
			else
				json_decref(sub);
		}
	}
	return out;
}

int
bw_flowmask_apply(const struct bw_flowmask *m, json_t *response)
{
	json_t *flow = json_object_get(response, "flow"), *masked;

	if (m == NULL || !json_is_object(flow))
		return 0;
	masked = flowmask_obj(m, flow);
	if (masked == NULL)
		return -ENOMEM;
	return json_object_set_new(response, "flow", masked) == 0 ? 0 : -ENOMEM;
}

int
bw_flowjson_text_masked(const struct bw_flow *f, const struct bw_flowmask *m,
			char **out)
{
	json_t *doc = bw_flowjson_response(f);

	*out = NULL;
	if (doc == NULL || bw_flowmask_apply(m, doc) < 0) {
		json_decref(doc);
		return -ENOMEM;
	}
	*out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return *out != NULL ? 0 : -ENOMEM;
}
