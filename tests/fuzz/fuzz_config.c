/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_config.c - the config reader and its value parsers
 * (core/config.c): the bytes as a config file, with and without their first
 * line as a -o override, and as a flows.monitor_flags value. A refusal says
 * why; an accepted config prints (bulwarkd -n) to text that reads back, and
 * prints the same again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
fuzz_print(const struct bw_conf *cf)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		abort();
	bw_conf_print(f, cf);
	if (fclose(f) != 0)
		abort();
	return buf;
}

static void
fuzz_load(const char *text, char *const *ov, size_t nov)
{
	char err[1024] = "", *p1, *p2;
	struct bw_conf *cf, *back;

	cf = bw_conf_load_string("fuzz.conf", text, ov, nov, err, sizeof(err));
	if (cf == NULL) {
		if (err[0] == '\0')
			abort();
		return;
	}
	p1 = fuzz_print(cf);
	back = bw_conf_load_string("printed.conf", p1, NULL, 0, err, sizeof(err));
	if (back == NULL) {
		fprintf(stderr, "printed config refused: %s\n%s", err, p1);
		abort();
	}
	p2 = fuzz_print(back);
	if (strcmp(p1, p2) != 0) {
		fprintf(stderr, "printed twice differently:\n%s---\n%s", p1, p2);
		abort();
	}
	free(p1);
	free(p2);
	bw_conf_free(back);
	bw_conf_free(cf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *nl, bad[64], err[256];
	unsigned mask;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_load(s, NULL, 0);
	nl = strchr(s, '\n');
	if (nl != NULL) {
		char *ov[1] = {s};

		*nl = '\0';
		if (bw_conf_override_check(s, err, sizeof(err)) == 0)
			fuzz_load(nl + 1, ov, 1);
		*nl = '\n';
	}
	(void)bw_conf_tcp_flags(s, &mask, bad, sizeof(bad));
	free(s);
	return 0;
}
