/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_endpoint.c - the endpoint API's request bodies
 * (core/node/endpoint_spec.c): the bytes as JSON to the add request's
 * parser and to each of its field parsers (labels, namespace labels, audit,
 * workload, proxy_visibility), and as text to the proxy-visibility and
 * workload parsers. A refusal names the field; an add request is never
 * accepted for an interface that does not exist.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/node/endpoint_int.h"
#include "core/node/labels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], *s;
	json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	struct bw_ep_spec spec;
	struct bw_labelset *ls = NULL;
	struct bw_ep_visibility vis[BW_EP_MAX_VISIBILITY];
	struct bw_ep_workload wl;
	size_t n;
	int set, audit;

	if (doc != NULL) {
		err[0] = '\0';
		if (bw_ep_spec_parse_add(doc, &spec, err, sizeof(err)) == 0)
			bw_labelset_free(spec.labels);
		else if (err[0] == '\0')
			abort();
		for (int nsl = 0; nsl < 2; nsl++) {
			ls = NULL;
			if (bw_ep_spec_parse_labels(json_object_get(doc, "labels"), "labels",
						    nsl, &ls, err, sizeof(err)) == 0 &&
			    ls == NULL)
				abort();
			bw_labelset_free(ls);
		}
		(void)bw_ep_spec_parse_audit(doc, &audit, err, sizeof(err));
		(void)bw_ep_spec_parse_workload(doc, &wl, &set, err, sizeof(err));
		if (bw_ep_spec_parse_visibility(doc, &set, vis, &n, err, sizeof(err)) == 0 &&
		    n > BW_EP_MAX_VISIBILITY)
			abort();
		json_decref(doc);
	}
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (bw_ep_visibility_parse(s, vis, &n, err, sizeof(err)) == 0 &&
	    n > BW_EP_MAX_VISIBILITY)
		abort();
	(void)bw_endpoint_workload_parse(s, &wl, err, sizeof(err));
	(void)bw_endpoint_workload_derive(s, &wl);
	free(s);
	return 0;
}
