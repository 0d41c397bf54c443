/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_state.c - the state-file reader every loader of the
 * daemon's state goes through (bw_state_read_doc, core/state.c), with the
 * shapes of policies.json, policy-refs.json, endpoints.json and
 * quarantines.json, and the plain reader (bw_state_read_json). The bytes
 * are a regular file (a memfd). A refusal names the file; an acceptance is
 * an object of the version asked for holding each list asked for.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>

#include "core/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_shape(const char *path, int version, const char *const *lists)
{
	char err[1024] = "";
	json_t *doc = bw_state_read_doc(path, version, lists, err, sizeof(err));

	if (doc == NULL) {
		if (errno != EINVAL || strstr(err, path) == NULL)
			abort();
		return;
	}
	if (!json_is_object(doc) ||
	    json_integer_value(json_object_get(doc, "version")) != version)
		abort();
	for (size_t i = 0; lists[i] != NULL; i++)
		if (!json_is_array(json_object_get(doc, lists[i])))
			abort();
	json_decref(doc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const policies[] = {"policies", NULL};
	static const char *const refs[] = {"refs", NULL};
	static const char *const endpoints[] = {"namespaces", "endpoints", NULL};
	static const char *const quarantines[] = {"quarantines", NULL};
	char path[64], err[512];
	json_t *doc;
	int fd = memfd_create("fuzz-state", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	fuzz_shape(path, 1, policies);
	fuzz_shape(path, 1, refs);
	fuzz_shape(path, 1, endpoints);
	fuzz_shape(path, 1, quarantines);
	doc = bw_state_read_json(path, err, sizeof(err));
	json_decref(doc);
	close(fd);
	return 0;
}
