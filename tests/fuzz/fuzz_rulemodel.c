/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_rulemodel.c - the rule-model compiler
 * (core/policy/resolver_compile.c: canonical rules, docs/rule-model.md, to
 * the resolver's form) and Cilium's `cilium policy import` rule lists
 * (core/policy/policy_rulelist.c). The bytes as JSON: the "rules" list of
 * a policy object, or the whole list, to the compiler; and as a policy
 * file, read by the document reader, to the rule-list converter with and
 * without a namespace. A refusal says why; a converted rule becomes a
 * CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy document.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/policy/policy_int.h"
#include "core/policy/policydoc.h"
#include "core/policy/resolver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_compile(const json_t *rules)
{
	char err[512] = "";
	struct bw_rv_policy *p = bw_rv_policy_compile(rules, err, sizeof(err));

	if (p == NULL) {
		if (err[0] == '\0')
			abort();
		return;
	}
	bw_rv_policy_free(p);
}

static void
fuzz_rulelist(const uint8_t *data, size_t size, const char *ns)
{
	struct bw_policydoc_set set;
	struct bw_pol_rulelist *maps = NULL;
	char err[512] = "", kind[128], av[128];

	memset(&set, 0, sizeof(set));
	if (bw_policydoc_read((const char *)data, size, "fuzz.json", &set, err,
			      sizeof(err)) == 0) {
		err[0] = '\0';
		if (bw_pol_rulelist_convert(&set, "fuzz.json", ns, (const char *)data,
					    size, &maps, err, sizeof(err)) == 0) {
			for (size_t i = 0; i < set.count; i++) {
				if (maps == NULL || maps[i].n == 0)
					continue; /* left as it was (no bare rules: no maps) */
				if (bw_policydoc_kind(set.docs[i].json, av, sizeof(av),
						      kind, sizeof(kind)) < 0 ||
				    (strcmp(kind, "CiliumNetworkPolicy") != 0 &&
				     strcmp(kind, "CiliumClusterwideNetworkPolicy") != 0))
					abort();
			}
			bw_pol_rulelist_free(maps, set.count);
		} else if (err[0] == '\0') {
			abort();
		}
	}
	bw_policydoc_set_free(&set);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);

	if (doc != NULL) {
		fuzz_compile(json_is_object(doc) ? json_object_get(doc, "rules") : doc);
		json_decref(doc);
	}
	fuzz_rulelist(data, size, NULL);
	fuzz_rulelist(data, size, "x");
	return 0;
}
