/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_cli_filters.c - the CLI's request building for
 * `bulwark observe` (cli/flowfilter_flags.c): each line of the bytes is a
 * flag, "NAME VALUE" (or "not"), added to the FlowFilter builder. A refused
 * flag must say why; what the builder accepts must be accepted by the
 * daemon's parser (lib/flowfilter.c): the CLI never builds a request the
 * daemon refuses.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/flowfilter_flags.h"
#include "lib/flowfilter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bw_flowfilter_builder b;
	struct bw_flowfilters fs;
	json_t *wl = NULL, *bl = NULL;
	char err[512], *s = malloc(size + 1), *line, *save = NULL;
	int rc;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	bw_flowfilter_builder_init(&b);
	for (line = strtok_r(s, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');

		if (sp != NULL)
			*sp = '\0';
		err[0] = '\0';
		rc = bw_flowfilter_builder_add(&b, line, sp != NULL ? sp + 1 : NULL,
					       err, sizeof(err));
		if (rc == -EINVAL && err[0] == '\0')
			abort(); /* a refusal names the flag */
	}
	if (bw_flowfilter_builder_finish(&b, &wl, &bl, err, sizeof(err)) == 0) {
		memset(&fs, 0, sizeof(fs));
		if (bw_flowfilters_parse(&fs, wl, bl, err, sizeof(err)) < 0) {
			char *w = json_dumps(wl, JSON_COMPACT), *k = json_dumps(bl, JSON_COMPACT);

			fprintf(stderr, "the daemon refuses what the CLI built: %s\n"
				"whitelist %s\nblacklist %s\n", err, w, k);
			abort();
		}
		bw_flowfilters_clear(&fs);
	}
	json_decref(wl);
	json_decref(bl);
	bw_flowfilter_builder_free(&b);
	free(s);
	return 0;
}
