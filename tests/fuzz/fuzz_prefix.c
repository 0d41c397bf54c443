/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_prefix.c - the IP prefix parser (lib/prefix.c) with every
 * flag, and the cidr: label key parser. An accepted prefix must have its
 * host bits clear, and print back to text that parses to the same prefix.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/prefix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check(const struct bw_prefix *p)
{
	struct bw_prefix m = *p, q;
	char buf[64];

	bw_prefix_mask(&m);
	if (!bw_prefix_equal(&m, p) || (p->family != 4 && p->family != 6))
		abort();
	bw_prefix_format(p, 1, buf, sizeof(buf));
	if (bw_prefix_parse(buf, BW_PREFIX_STRICT | BW_PREFIX_NEED_LEN, &q) < 0 ||
	    !bw_prefix_equal(&q, p) || !bw_prefix_within(p, p, 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct bw_prefix p;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (unsigned flags = 0; flags < 4; flags++)
		if (bw_prefix_parse(s, flags, &p) == 0)
			fuzz_check(&p);
	if (bw_prefix_parse_label(s, &p) == 0)
		fuzz_check(&p);
	free(s);
	return 0;
}
