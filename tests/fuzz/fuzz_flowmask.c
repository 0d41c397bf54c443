/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_flowmask.c - the Hubble field mask parser (lib/flowmask.c).
 * A refusal must say why; an accepted mask is applied to a full flow's
 * response, which must stay a JSON object with its "flow".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/flowjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bw_flowmask *m = NULL;
	char err[256] = "", *s = malloc(size + 1), *out = NULL;
	struct bw_flow f;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (bw_flowmask_parse(s, &m, err, sizeof(err)) < 0) {
		if (m != NULL || err[0] == '\0')
			abort(); /* a refusal always says why */
		free(s);
		return 0;
	}
	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	f.verdict = BW_FLOW_VERDICT_DROPPED;
	f.type = BW_FLOW_TYPE_L3_L4;
	f.ip_version = 4;
	strcpy(f.src_ip, "10.1.0.1");
	strcpy(f.dst_ip, "10.1.0.2");
	f.node_name = "fuzz";
	if (bw_flowjson_text_masked(&f, m, &out) == 0) {
		json_t *doc = json_loads(out, 0, NULL);

		if (!json_is_object(json_object_get(doc, "flow")))
			abort();
		json_decref(doc);
		free(out);
	}
	bw_flowmask_free(m);
	free(s);
	return 0;
}
