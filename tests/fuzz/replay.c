/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/replay.c - a stand-in for libFuzzer's driver: runs the linked
 * fuzz target (LLVMFuzzerTestOneInput) once over every file named on the
 * command line, or in the directories named, or by default in the target's
 * corpus directory (FUZZ_CORPUS). A crash or sanitizer report fails the
 * test; otherwise it prints how many inputs it replayed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t len;
	long size;

	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		fprintf(stderr, "replay: %s: cannot size\n", path);
		return -1;
	}
	/* An exact-size copy, so out-of-bounds reads trip the sanitizers. */
	buf = malloc(size ? (size_t)size : 1);
	if (buf == NULL) {
		fclose(f);
		return -1;
	}
	len = fread(buf, 1, (size_t)size, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int
replay_path(const char *path, unsigned *count)
{
	struct stat st;
	struct dirent **names;
	int n, rc = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (replay_file(path) < 0)
			return -1;
		(*count)++;
		return 0;
	}
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char full[4096];

		if (names[i]->d_name[0] != '.' && rc == 0) {
			snprintf(full, sizeof(full), "%s/%s", path,
				 names[i]->d_name);
			rc = replay_path(full, count);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	unsigned count = 0;
	int rc = 0;

	if (argc < 2) {
		rc = replay_path(FUZZ_CORPUS, &count);
	} else {
		for (int i = 1; i < argc && rc == 0; i++)
			rc = replay_path(argv[i], &count);
	}
	if (rc < 0)
		return 1;
	if (count == 0) {
		fprintf(stderr, "replay: no inputs found\n");
		return 1;
	}
	printf("replay: %u inputs replayed without a crash\n", count);
	return 0;
}
