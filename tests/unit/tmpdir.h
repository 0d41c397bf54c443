/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/tmpdir.h - where unit tests make their temporary files and
 * directories: under $TMPDIR (make check sets it to the run's own
 * directory, which tests/check_leftovers.sh checks is empty at the end),
 * else /tmp. bw_test_tmp(buf, len, "name-XXXXXX") writes the template.
 */
#ifndef BW_TEST_TMP_H
#define BW_TEST_TMP_H

#include <stdio.h>
#include <stdlib.h>

static inline char *bw_test_tmp(char *buf, size_t len, const char *name)
{
	const char *t = getenv("TMPDIR");

	snprintf(buf, len, "%s/%s", t && *t ? t : "/tmp", name);
	return buf;
}

#endif /* BW_TEST_TMP_H */
