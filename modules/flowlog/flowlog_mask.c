/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/flowlog/flowlog_mask.c - the values of the flowlog keys that are
 * more than a number: FlowFilter lists (allowlist, denylist) and the field
 * mask.
 *
 * The filter lists take what Hubble's hubble-export-allowlist takes
 * (comma-separated JSON FlowFilters, e.g. {"verdict":["DROPPED","ERROR"]})
 * and also one JSON array of them; the objects themselves are parsed and
 * matched by lib/flowfilter.c, compiled into the module.
 *
 * The field mask is hubble-export-fieldmask: space-separated proto field
 * paths of the Flow message ("time source.namespace l4 verdict"). Paths are
 * checked against the Flow message's fields (cilium-hubble.md 5.2), so a
 * typo is a config error instead of a silently empty log. Applying it keeps
 * the named fields of the response's "flow" object, in their original
 * order, and the response's own node_name and time, as Hubble's exporter
 * does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "flowlog.h"

/* ---- filter lists ----------------------------------------------------------- */

json_t *
flowlog_filters_text(const char *text, char *err, size_t errlen)
{
	const char *p = text != NULL ? text : "";
	json_error_t jerr;
	json_t *list, *v;
	size_t i;

	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p == '[') {
		list = json_loads(p, 0, &jerr);
		if (list == NULL) {
			snprintf(err, errlen, "not a JSON array of FlowFilter "
				 "objects: %s (at character %d)", jerr.text,
				 jerr.position + 1);
			return NULL;
		}
		json_array_foreach(list, i, v) {
			if (!json_is_object(v)) {
				snprintf(err, errlen, "element %zu of the array "
					 "is not a FlowFilter object", i + 1);
				json_decref(list);
				return NULL;
			}
		}
		return list;
	}
	if ((list = json_array()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 1;; i++) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (*p != '{') {
			snprintf(err, errlen, "FlowFilter %zu: expected a JSON "
				 "object ('{'), found '%.20s'", i, p);
			goto fail;
		}
		v = json_loads(p, JSON_DISABLE_EOF_CHECK, &jerr);
		if (v == NULL) {
			snprintf(err, errlen, "FlowFilter %zu is not valid JSON: "
				 "%s", i, jerr.text);
			goto fail;
		}
		json_array_append_new(list, v);
		p += jerr.position;
	}
	return list;
fail:
	json_decref(list);
	return NULL;
}

/* ---- the Flow message's fields ------------------------------------------------ */

struct flowlog_field {
	const char *name;
	const struct flowlog_field *sub; /* NULL: no subfields (scalar, list, Any) */
};

#define FL_END { NULL, NULL }

static const struct flowlog_field fl_endpoint[] = {
	{ "ID", NULL }, { "identity", NULL }, { "cluster_name", NULL },
	{ "namespace", NULL }, { "labels", NULL }, { "pod_name", NULL },
	{ "workloads", NULL }, FL_END,
};
static const struct flowlog_field fl_ip[] = {
	{ "source", NULL }, { "source_xlated", NULL }, { "destination", NULL },
	{ "ipVersion", NULL }, { "encrypted", NULL }, FL_END,
};
static const struct flowlog_field fl_ethernet[] = {
	{ "source", NULL }, { "destination", NULL }, FL_END,
};
static const struct flowlog_field fl_tcp[] = {
	{ "source_port", NULL }, { "destination_port", NULL },
	{ "flags", NULL }, FL_END,
};
static const struct flowlog_field fl_ports[] = {
	{ "source_port", NULL }, { "destination_port", NULL }, FL_END,
};
static const struct flowlog_field fl_icmp[] = {
	{ "type", NULL }, { "code", NULL }, FL_END,
};
static const struct flowlog_field fl_vrrp[] = {
	{ "type", NULL }, { "vrid", NULL }, { "priority", NULL }, FL_END,
};
static const struct flowlog_field fl_igmp[] = {
	{ "type", NULL }, { "group_address", NULL }, FL_END,
};
static const struct flowlog_field fl_l4[] = {
	{ "TCP", fl_tcp }, { "UDP", fl_ports }, { "ICMPv4", fl_icmp },
	{ "ICMPv6", fl_icmp }, { "SCTP", fl_ports }, { "VRRP", fl_vrrp },
	{ "IGMP", fl_igmp }, FL_END,
};
static const struct flowlog_field fl_event_type[] = {
	{ "type", NULL }, { "sub_type", NULL }, FL_END,
};
static const struct flowlog_field fl_interface[] = {
	{ "index", NULL }, { "name", NULL }, FL_END,
};
static const struct flowlog_field fl_service[] = {
	{ "name", NULL }, { "namespace", NULL }, FL_END,
};
static const struct flowlog_field fl_file[] = {
	{ "name", NULL }, { "line", NULL }, FL_END,
};
static const struct flowlog_field fl_emitter[] = {
	{ "name", NULL }, { "version", NULL }, FL_END,
};
static const struct flowlog_field fl_dns[] = {
	{ "query", NULL }, { "ips", NULL }, { "ttl", NULL }, { "cnames", NULL },
	{ "observation_source", NULL }, { "rcode", NULL }, { "qtypes", NULL },
	{ "rrtypes", NULL }, FL_END,
};
static const struct flowlog_field fl_http[] = {
	{ "code", NULL }, { "method", NULL }, { "url", NULL },
	{ "protocol", NULL }, { "headers", NULL }, FL_END,
};
static const struct flowlog_field fl_kafka[] = {
	{ "error_code", NULL }, { "api_version", NULL }, { "api_key", NULL },
	{ "correlation_id", NULL }, { "topic", NULL }, FL_END,
};
static const struct flowlog_field fl_l7[] = {
	{ "type", NULL }, { "latency_ns", NULL }, { "dns", fl_dns },
	{ "http", fl_http }, { "kafka", fl_kafka }, FL_END,
};
static const struct flowlog_field fl_tunnel[] = {
	{ "protocol", NULL }, { "IP", fl_ip }, { "l4", fl_l4 }, { "vni", NULL },
	FL_END,
};
static const struct flowlog_field fl_ip_trace_id[] = {
	{ "trace_id", NULL }, { "ip_option_type", NULL }, FL_END,
};
static const struct flowlog_field fl_aggregate[] = {
	{ "ingress_flow_count", NULL }, { "egress_flow_count", NULL },
	{ "unknown_direction_flow_count", NULL }, FL_END,
};
static const struct flowlog_field fl_flow[] = {
	{ "time", NULL }, { "uuid", NULL }, { "emitter", fl_emitter },
	{ "verdict", NULL }, { "drop_reason", NULL }, { "auth_type", NULL },
	{ "ethernet", fl_ethernet }, { "IP", fl_ip }, { "l4", fl_l4 },
	{ "tunnel", fl_tunnel }, { "source", fl_endpoint },
	{ "destination", fl_endpoint }, { "Type", NULL }, { "node_name", NULL },
	{ "node_labels", NULL }, { "source_names", NULL },
	{ "destination_names", NULL }, { "l7", fl_l7 }, { "reply", NULL },
	{ "event_type", fl_event_type }, { "source_service", fl_service },
	{ "destination_service", fl_service }, { "traffic_direction", NULL },
	{ "policy_match_type", NULL }, { "trace_observation_point", NULL },
	{ "trace_reason", NULL }, { "file", fl_file },
	{ "ip_trace_id", fl_ip_trace_id }, { "drop_reason_desc", NULL },
	{ "is_reply", NULL }, { "debug_capture_point", NULL },
	{ "interface", fl_interface }, { "proxy_port", NULL },
	{ "trace_context", NULL }, { "sock_xlate_point", NULL },
	{ "socket_cookie", NULL }, { "cgroup_id", NULL }, { "Summary", NULL },
	{ "extensions", NULL }, { "egress_allowed_by", NULL },
	{ "ingress_allowed_by", NULL }, { "egress_denied_by", NULL },
	{ "ingress_denied_by", NULL }, { "policy_log", NULL },
	{ "aggregate", fl_aggregate }, FL_END,
};

static const struct flowlog_field *
flowlog_field_find(const struct flowlog_field *t, const char *name)
{
	for (; t != NULL && t->name != NULL; t++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

/* ---- the mask tree -------------------------------------------------------------- */

struct flowlog_mask {
	char *name;                /* NULL at the root */
	int all;                   /* keep the whole field */
	struct flowlog_mask *kids; /* array of nkids */
	size_t nkids;
};

static void
flowlog_mask_clear(struct flowlog_mask *m)
{
	for (size_t i = 0; i < m->nkids; i++)
		flowlog_mask_clear(&m->kids[i]);
	free(m->kids);
	free(m->name);
}

void
flowlog_mask_free(struct flowlog_mask *m)
{
	if (m == NULL)
		return;
	flowlog_mask_clear(m);
	free(m);
}

static struct flowlog_mask *
flowlog_mask_kid(struct flowlog_mask *m, const char *name)
{
	struct flowlog_mask *k;

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
flowlog_mask_add(struct flowlog_mask *root, char *path, char *err,
		 size_t errlen)
{
	const struct flowlog_field *table = fl_flow, *f = NULL;
	struct flowlog_mask *m = root;
	char *save = NULL, *comp, *full = strdup(path);
	const char *parent = "Flow";

	if (full == NULL)
		return -ENOMEM;
	for (comp = strtok_r(path, ".", &save); comp != NULL;
	     comp = strtok_r(NULL, ".", &save)) {
		if (table == NULL) {
			snprintf(err, errlen, "'%s': field '%s' has no subfields",
				 full, parent);
			goto bad;
		}
		if ((f = flowlog_field_find(table, comp)) == NULL) {
			snprintf(err, errlen, "'%s': %s has no field '%s'",
				 full, parent, comp);
			goto bad;
		}
		if ((m = flowlog_mask_kid(m, comp)) == NULL) {
			free(full);
			return -ENOMEM;
		}
		if (m->all)
			break; /* a shorter path keeps all of it already */
		table = f->sub;
		parent = f->name;
	}
	if (f == NULL || strstr(full, "..") != NULL) {
		snprintf(err, errlen, "'%s' is not a field path", full);
		goto bad;
	}
	if (comp == NULL) {
		/* the whole field: forget narrower paths under it */
		for (size_t i = 0; i < m->nkids; i++)
			flowlog_mask_clear(&m->kids[i]);
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
flowlog_mask_parse(const char *text, struct flowlog_mask **out, char *err,
		   size_t errlen)
{
	struct flowlog_mask *root;
	char *copy, *save = NULL, *tok;
	int rc = 0;

	*out = NULL;
	if (text == NULL || text[strspn(text, " \t,")] == '\0')
		return 0;
	if ((root = calloc(1, sizeof(*root))) == NULL ||
	    (copy = strdup(text)) == NULL) {
		free(root);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (tok = strtok_r(copy, " \t,", &save); tok != NULL && rc == 0;
	     tok = strtok_r(NULL, " \t,", &save)) {
		if (tok[0] == '.' || tok[strlen(tok) - 1] == '.') {
			snprintf(err, errlen, "'%s' is not a field path", tok);
			rc = -EINVAL;
			break;
		}
		rc = flowlog_mask_add(root, tok, err, errlen);
		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory");
	}
	free(copy);
	if (rc < 0) {
		flowlog_mask_free(root);
		return rc;
	}
	*out = root;
	return 0;
}

/* A new object with the masked members of obj, in obj's order. */
static json_t *
flowlog_mask_obj(const struct flowlog_mask *m, json_t *obj)
{
	json_t *out = json_object(), *v;
	const char *key;

	if (out == NULL)
		return NULL;
	json_object_foreach(obj, key, v) {
		const struct flowlog_mask *k = NULL;

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
			json_t *sub = flowlog_mask_obj(k, v);

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

char *
flowlog_mask_apply(const struct flowlog_mask *m, const char *line)
{
	json_t *doc, *flow, *masked;
	char *out;

	doc = json_loads(line, 0, NULL);
	if (doc == NULL)
		return NULL;
	flow = json_object_get(doc, "flow");
	if (json_is_object(flow)) {
		masked = flowlog_mask_obj(m, flow);
		if (masked == NULL) {
			json_decref(doc);
			return NULL;
		}
		json_object_set_new(doc, "flow", masked);
	}
	out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return out;
}
