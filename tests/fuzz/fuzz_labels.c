/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_labels.c - labels and selectors (core/node/labels.c,
 * core/node/selector.c): the bytes as a label set's text, as one label, as
 * a Kubernetes label key and value, and as a selector in JSON. An accepted
 * label set prints to canonical text that reads back to the same set; an
 * accepted selector writes back to JSON that parses to an equal selector
 * with the same hash, and matches the same label set.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/node/labels.h"
#include "core/node/selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_labelset(const char *s, struct bw_labelset **out)
{
	char err[256], *text, *text2;
	struct bw_labelset *ls, *back;

	*out = NULL;
	ls = bw_labelset_from_text(s, err, sizeof(err));
	if (ls == NULL)
		return;
	text = bw_labelset_text(ls);
	if (text == NULL)
		abort();
	back = bw_labelset_from_text(text, err, sizeof(err));
	if (back == NULL || !bw_labelset_equal(ls, back))
		abort();
	text2 = bw_labelset_text(back);
	if (text2 == NULL || strcmp(text, text2) != 0)
		abort();
	free(text);
	free(text2);
	bw_labelset_free(back);
	*out = ls;
}

static void
fuzz_selector(const char *s, const struct bw_labelset *ls)
{
	char err[256], *text;
	struct bw_selector *sel, *back;
	json_t *j;

	sel = bw_selector_parse_text(s, err, sizeof(err));
	if (sel == NULL) {
		if (err[0] == '\0')
			abort(); /* a refusal says why */
		return;
	}
	(void)bw_selector_to_string(sel);
	j = bw_selector_to_json(sel);
	text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	if (text == NULL)
		abort();
	back = bw_selector_parse_text(text, err, sizeof(err));
	if (back == NULL || !bw_selector_equal(sel, back) ||
	    bw_selector_hash(sel) != bw_selector_hash(back))
		abort();
	if (ls != NULL &&
	    bw_selector_matches(sel, ls) != bw_selector_matches(back, ls))
		abort();
	free(text);
	json_decref(j);
	bw_selector_free(back);
	bw_selector_free(sel);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *s = malloc(size + 1), *nl;
	struct bw_labelset *ls = NULL;
	struct bw_label l;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	/* the first line a label set; the rest, when there is one, a selector
	 * matched against it; the whole input as both too */
	nl = strchr(s, '\n');
	if (nl != NULL) {
		*nl = '\0';
		fuzz_labelset(s, &ls);
		fuzz_selector(nl + 1, ls);
		bw_labelset_free(ls);
		*nl = '\n';
	}
	fuzz_labelset(s, &ls);
	bw_labelset_free(ls);
	fuzz_selector(s, NULL);
	memset(&l, 0, sizeof(l));
	if (bw_label_parse(s, "any", &l, err, sizeof(err)) == 0)
		bw_label_clear(&l);
	(void)bw_k8s_label_key_valid(s, err, sizeof(err));
	(void)bw_k8s_label_value_valid(s, err, sizeof(err));
	(void)bw_k8s_dns_subdomain_valid(s, err, sizeof(err));
	free(s);
	return 0;
}
