/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_format.h - the body of a policy format fuzz target: the
 * module under test is compiled in, registered through its descriptor with
 * the tests' fake core API (tests/unit/fake_core.h), and fed the input both as raw JSON and as every
 * document the policy document reader finds in it. A successful parse must
 * give a JSON object with the canonical policy fields.
 */
#ifndef BW_FUZZ_FORMAT_H
#define BW_FUZZ_FORMAT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <bulwark/module.h>

#include "core/policy/policydoc.h"
#include "tests/unit/fake_core.h"

extern const struct bw_module bw_module_desc;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct bw_policy_format *fuzz_fmt;

static void
fuzz_parse(const char *json, size_t len)
{
	char err[512], *out = NULL;
	json_t *policy;

	if (fuzz_fmt->parse(fuzz_fmt->user_data, json, len, &out, err,
			    sizeof(err)) < 0) {
		if (out != NULL || err[0] == '\0')
			abort(); /* a refusal always says why */
		return;
	}
	policy = json_loads(out, 0, NULL);
	if (!json_is_object(policy) ||
	    !json_is_string(json_object_get(policy, "name")) ||
	    !json_is_string(json_object_get(policy, "namespace")) ||
	    !json_is_array(json_object_get(policy, "rules")))
		abort();
	json_decref(policy);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bw_policydoc_set set = { 0 };
	char err[256];

	if (fuzz_fmt == NULL) {
		if (bw_module_desc.init(NULL, fake_core_api(), NULL) < 0 ||
		    (fuzz_fmt = fake_core.format) == NULL)
			abort();
	}
	fuzz_parse((const char *)data, size);
	bw_policydoc_read((const char *)data, size, "fuzz", &set, err,
			  sizeof(err));
	for (size_t i = 0; i < set.count; i++)
		fuzz_parse(set.docs[i].json, set.docs[i].json_len);
	bw_policydoc_set_free(&set);
	return 0;
}

#endif /* BW_FUZZ_FORMAT_H */
