/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_policydoc.c - fuzz target for the policy document reader
 * (core/policy/policydoc.c): any bytes, YAML or JSON. Every document it returns
 * must be valid JSON text that bw_policydoc_kind() can read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/policy/policydoc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bw_policydoc_set set = { 0 };
	char err[256], av[64], kind[64];

	bw_policydoc_read((const char *)data, size, "fuzz", &set, err,
			  sizeof(err));
	for (size_t i = 0; i < set.count; i++) {
		json_t *doc = json_loads(set.docs[i].json, JSON_ALLOW_NUL, NULL);

		/* The reader's output is always a JSON object. */
		if (!json_is_object(doc) ||
		    strlen(set.docs[i].json) != set.docs[i].json_len)
			abort();
		json_decref(doc);
		bw_policydoc_kind(set.docs[i].json, av, sizeof(av), kind,
				  sizeof(kind));
		/* locating a field (error messages) on the same input */
		if (i < 4) {
			unsigned line = 0;

			if (bw_policydoc_locate((const char *)data, size, set.docs[i].line,
						set.docs[i].column, "spec.ingress[0].from[0]",
						&line) == 0 && line == 0)
				abort();
		}
	}
	bw_policydoc_set_free(&set);
	return 0;
}
