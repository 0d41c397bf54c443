/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/hubble-observer/hubble_req.c - what a client sends, read: the
 * grpc-timeout header, and a GetFlowsRequest's filters (as the JSON
 * lib/flowfilter.c parses, through hubble_pb_filter_json), field mask
 * (field_mask, or experimental.field_mask of older clients) and
 * extensions. Kept apart from the server and the flow streams so that
 * tests/fuzz/fuzz_hubble.c can feed them anything.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubble.h"
#include "lib/flowfilter.h"
#include "bulwark/extensions.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "observer/observer.pb-c.h"

/* grpc-timeout: up to 8 digits and a unit (H M S m u n). -1 when bad. */
int64_t
hubble_grpc_timeout_ms(const char *v)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; isdigit((unsigned char)v[i]) && i < 8; i++)
		n = n * 10 + (uint64_t)(v[i] - '0');
	if (i == 0 || v[i] == '\0' || v[i + 1] != '\0')
		return -1;
	switch (v[i]) {
	case 'H': return (int64_t)(n * 3600000u);
	case 'M': return (int64_t)(n * 60000u);
	case 'S': return (int64_t)(n * 1000u);
	case 'm': return (int64_t)n;
	case 'u': return (int64_t)((n + 999) / 1000);
	case 'n': return (int64_t)((n + 999999) / 1000000);
	}
	return -1;
}

/* ---- FlowFilter fields, counted ------------------------------------------------- */

const char *
hubble_ff_field_name(size_t i)
{
	const ProtobufCMessageDescriptor *a = &flow__flow_filter__descriptor;
	const ProtobufCMessageDescriptor *b = &flow_filter_extensions__descriptor;

	if (i < a->n_fields)
		return a->fields[i].name;
	i -= a->n_fields;
	if (i < b->n_fields)
		return b->fields[i].name;
	return i == b->n_fields && i + a->n_fields < HUBBLE_FF_MAX ? "unknown_field_number" : NULL;
}

static size_t
req_ff_index(const char *name)
{
	const char *n;
	size_t i;

	for (i = 0; (n = hubble_ff_field_name(i)) != NULL; i++)
		if (strcmp(n, name) == 0)
			return i;
	return i - 1; /* unknown_field_number */
}

/* The field of a filter lib/flowfilter.c refuses: the first one refused
 * on its own, else (a refusal of the combination, HTTP fields without an
 * l7 event type) event_type. */
static const char *
req_ff_guilty(json_t *o)
{
	struct bw_flowfilter *one;
	char err[8];
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		json_t *single = json_pack("{s:O}", k, v);
		int bad;

		if (single == NULL)
			break;
		bad = bw_flowfilter_parse(single, &one, err, sizeof(err)) < 0;
		json_decref(single);
		if (bad)
			return k;
		bw_flowfilter_free(one);
	}
	return json_object_get(o, "event_type") != NULL ? "event_type" : "unknown_field_number";
}

/* One list into arr; counts the fields used (and the one refused). */
static int
req_filter_list(Flow__FlowFilter **v, size_t n, const char *what, json_t *arr,
		struct hubble_ff_stats *st, char *err, size_t errlen)
{
	char sub[400];

	for (size_t i = 0; i < n; i++) {
		json_t *o = hubble_pb_filter_json(v[i], sub, sizeof(sub));
		const char *k;
		json_t *x;

		if (o == NULL) {
			if (st != NULL)
				st->refused[req_ff_index(
					v[i]->experimental != NULL &&
					v[i]->experimental->n_cel_expression > 0
						? "experimental" : "unknown_field_number")]++;
			snprintf(err, errlen, "%s[%zu]: %s", what, i, sub);
			return -EINVAL;
		}
		if (st != NULL)
			json_object_foreach(o, k, x)
				st->used[req_ff_index(k)]++;
		json_array_append_new(arr, o);
	}
	return 0;
}

int
hubble_req_filters(const Observer__GetFlowsRequest *r, struct bw_flowfilters *fs,
		   struct hubble_ff_stats *st, char *err, size_t errlen)
{
	json_t *wl = json_array(), *bl = json_array();
	int rc = -ENOMEM;

	if (wl == NULL || bl == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = req_filter_list(r->whitelist, r->n_whitelist, "whitelist", wl, st, err, errlen);
	if (rc == 0)
		rc = req_filter_list(r->blacklist, r->n_blacklist, "blacklist", bl, st, err,
				     errlen);
	if (rc == 0 && (rc = bw_flowfilters_parse(fs, wl, bl, err, errlen)) < 0 && st != NULL) {
		/* which filter: find the first lib/flowfilter.c refuses */
		for (int l = 0; l < 2; l++) {
			json_t *arr = l == 0 ? wl : bl, *o;
			size_t i;

			json_array_foreach(arr, i, o) {
				struct bw_flowfilter *one;
				char e2[8];

				if (bw_flowfilter_parse(o, &one, e2, sizeof(e2)) == 0) {
					bw_flowfilter_free(one);
					continue;
				}
				st->refused[req_ff_index(req_ff_guilty(o))]++;
				goto out;
			}
		}
	}
out:
	json_decref(wl);
	json_decref(bl);
	return rc;
}

/*
 * The field mask: field_mask, or what older clients (hubble before 1.16)
 * send as experimental.field_mask, field 1 of Experimental, which this
 * proto reserves: protobuf-c keeps it as an unknown field.
 */
int
hubble_req_mask(const Observer__GetFlowsRequest *r, struct hubble_mask **out,
		char *err, size_t errlen)
{
	Google__Protobuf__FieldMask *old = NULL;
	int rc;

	*out = NULL;
	if (r->field_mask != NULL && r->field_mask->n_paths > 0)
		return hubble_mask_parse(r->field_mask->paths, r->field_mask->n_paths,
					 out, err, errlen);
	if (r->experimental == NULL)
		return 0;
	for (unsigned i = 0; i < r->experimental->base.n_unknown_fields; i++) {
		const ProtobufCMessageUnknownField *u = &r->experimental->base.unknown_fields[i];

		size_t hl = 0;

		if (u->tag != 1 || u->wire_type != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED)
			continue;
		/* protobuf-c keeps the field as it came: its length prefix first */
		while (hl < u->len && hl < 10 && (u->data[hl] & 0x80))
			hl++;
		hl++;
		if (hl <= u->len)
			old = google__protobuf__field_mask__unpack(NULL, u->len - hl,
								   u->data + hl);
		if (old == NULL) {
			snprintf(err, errlen, "experimental.field_mask is not a FieldMask");
			return -EINVAL;
		}
		break;
	}
	if (old == NULL)
		return 0;
	rc = hubble_mask_parse(old->paths, old->n_paths, out, err, errlen);
	google__protobuf__field_mask__free_unpacked(old, NULL);
	return rc;
}

/* GetFlowsRequest.extensions: bulwark's GetFlowsExtensions. */
int
hubble_req_extensions(const Observer__GetFlowsRequest *r)
{
	const char *url, *slash;
	GetFlowsExtensions *x;
	int on;

	if (r->extensions == NULL || r->extensions->type_url == NULL)
		return 0;
	url = r->extensions->type_url;
	slash = strrchr(url, '/');
	if (strcmp(slash != NULL ? slash + 1 : url, "GetFlowsExtensions") != 0)
		return 0;
	x = get_flows_extensions__unpack(NULL, r->extensions->value.len,
					 r->extensions->value.data);
	if (x == NULL)
		return 0;
	on = x->flow_extensions;
	get_flows_extensions__free_unpacked(x, NULL);
	return on;
}
