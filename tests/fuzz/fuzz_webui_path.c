/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_webui_path.c - fuzz target for the web UI's URL path
 * check (webui_static_path() in modules/webui/webui_static.c): any bytes as
 * the path of a request. Whatever it accepts must name a file strictly
 * below the assets directory: the root and a '/', then only plain, visible
 * names ("." or ".." never, no hidden name, no empty segment, no NUL or
 * backslash).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "modules/webui/webui.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROOT "/usr/share/bulwark/webui"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = malloc(size + 2), out[8192];
	const char *rel, *seg;
	int rc;

	if (path == NULL)
		return 0;
	/* as on the wire: the path starts with '/' (else it is refused) */
	memcpy(path, data, size);
	path[size] = '\0';
	rc = webui_static_path(ROOT, path, out, sizeof(out));
	free(path);
	if (rc < 0) {
		if (rc != -EINVAL && rc != -ENAMETOOLONG && rc != -ENOMEM)
			abort();
		return 0;
	}
	if (strncmp(out, ROOT "/", sizeof(ROOT)) != 0 || strchr(out, '\\') != NULL)
		abort();
	rel = out + sizeof(ROOT);
	for (seg = rel;;) {
		const char *slash = strchr(seg, '/');
		size_t n = slash != NULL ? (size_t)(slash - seg) : strlen(seg);

		if (n == 0 || seg[0] == '.')
			abort();
		if (slash == NULL)
			break;
		seg = slash + 1;
	}
	return 0;
}
