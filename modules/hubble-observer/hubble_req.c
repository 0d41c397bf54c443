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

int
hubble_req_filters(const Observer__GetFlowsRequest *r, struct bw_flowfilters *fs,
		   char *err, size_t errlen)
{
	json_t *wl = json_array(), *bl = json_array();
	char sub[400];
	int rc = -EINVAL;

	if (wl == NULL || bl == NULL)
		goto out;
	for (size_t i = 0; i < r->n_whitelist; i++) {
		json_t *o = hubble_pb_filter_json(r->whitelist[i], sub, sizeof(sub));

		if (o == NULL) {
			snprintf(err, errlen, "whitelist[%zu]: %s", i, sub);
			goto out;
		}
		json_array_append_new(wl, o);
	}
	for (size_t i = 0; i < r->n_blacklist; i++) {
		json_t *o = hubble_pb_filter_json(r->blacklist[i], sub, sizeof(sub));

		if (o == NULL) {
			snprintf(err, errlen, "blacklist[%zu]: %s", i, sub);
			goto out;
		}
		json_array_append_new(bl, o);
	}
	rc = bw_flowfilters_parse(fs, wl, bl, err, errlen);
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
