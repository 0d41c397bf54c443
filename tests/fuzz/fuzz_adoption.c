/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_adoption.c - fuzz target for what the adoption tools read
 * from their users: the staged-policy annotation of a policy document
 * (core/policy/policy_staged.c), and the history route's parameters, its
 * FlowFilter lists (lib/flowfilter.c) and --since values
 * (lib/flowfilter_time.c). Any bytes. A document the annotation reader
 * accepts leaves "staged" true or absent in the canonical object, nothing
 * else.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/policy/policy_int.h"
#include "lib/flowfilter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], *text = malloc(size + 1);
	json_t *canon = json_pack("{s:s}", "kind", "NetworkPolicy"), *list, *s;
	struct bw_flowfilters fs;
	uint64_t t;

	if (text == NULL || canon == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	/* the annotation */
	if (bw_pol_staged_annotation(text, size, canon, err, sizeof(err)) == 0) {
		s = json_object_get(canon, "staged");
		if ((s != NULL && !json_is_true(s)) || json_object_size(canon) > 2)
			abort();
	} else if (strstr(err, "bulwark.io/staged") == NULL) {
		abort(); /* a refusal names the field */
	}
	json_decref(canon);
	/* the history's filter lists */
	list = json_loads(text, JSON_DECODE_ANY, NULL);
	if (list != NULL && json_is_array(list)) {
		memset(&fs, 0, sizeof(fs));
		if (bw_flowfilters_parse(&fs, list, NULL, err, sizeof(err)) == 0)
			bw_flowfilters_clear(&fs);
	}
	json_decref(list);
	/* --since */
	(void)bw_flowfilter_parse_time(text, 1, &t);
	free(text);
	return 0;
}
