/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_log.c - core/log.c: what reaches stderr, at which level
 * and in which form (plain, journal), prefixes, and libbpf's messages
 * routed in. Each test runs in its own process (Check's fork mode), so the
 * log's static state starts fresh.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "core/log.h"
#include "tests/unit/tmpdir.h"

static char path[256];

/* Send stderr to a temporary file. */
static void
capture_begin(void)
{
	int fd;

	bw_test_tmp(path, sizeof(path), "bw-test-log-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	close(fd);
}

/* What was written to stderr since capture_begin() (malloc'd). */
static char *
capture_end(void)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	unlink(path);
	return strdup(buf);
}

START_TEST(level_filters_messages)
{
	char *out;

	unsetenv("JOURNAL_STREAM");
	capture_begin();
	bw_log_init(BW_LOG_TARGET_STDERR, BW_LOG_NOTICE);
	bw_err("e %d", 1);
	bw_warn("w");
	bw_notice("n");
	bw_info("i");
	bw_debug("d");
	ck_assert_int_eq(bw_log_enabled(BW_LOG_NOTICE), 1);
	ck_assert_int_eq(bw_log_enabled(BW_LOG_INFO), 0);
	bw_log_set_level(BW_LOG_DEBUG);
	ck_assert_int_eq(bw_log_get_level(), BW_LOG_DEBUG);
	bw_debug("d2");
	out = capture_end();
	ck_assert_str_eq(out, "err: e 1\nwarning: w\nnotice: n\ndebug: d2\n");
	free(out);
}
END_TEST

START_TEST(prefix_and_trailing_newlines)
{
	char *out;

	unsetenv("JOURNAL_STREAM");
	capture_begin();
	bw_log_init(BW_LOG_TARGET_STDERR, BW_LOG_INFO);
	bw_logx("flowlog:audit", BW_LOG_WARNING, "disk %s\n\n", "full");
	bw_logx(NULL, BW_LOG_INFO, "plain");
	bw_logx("", BW_LOG_INFO, "empty prefix");
	out = capture_end();
	ck_assert_str_eq(out, "warning: flowlog:audit: disk full\ninfo: plain\n"
			      "info: empty prefix\n");
	free(out);
}
END_TEST

/* A message repeated a million times writes a few lines, then the count. */
START_TEST(repeated_lines_are_rate_limited)
{
	char *out, *p;
	int copies = 0;

	unsetenv("JOURNAL_STREAM");
	capture_begin();
	bw_log_init(BW_LOG_TARGET_STDERR, BW_LOG_INFO);
	for (int i = 0; i < 1000000; i++)
		bw_err("accept: Too many open files");
	bw_info("recovered");
	out = capture_end();
	for (p = out; (p = strstr(p, "err: accept: Too many open files\n")); p++)
		copies++;
	/* the burst, and nothing else of it within its second */
	ck_assert_int_ge(copies, 1);
	ck_assert_int_le(copies, 20);
	ck_assert_msg(strstr(out, "err: the last message was repeated ") != NULL, "%s", out);
	ck_assert_msg(strstr(out, " more times\ninfo: recovered\n") != NULL, "%s", out);
	ck_assert_uint_lt(strlen(out), 4096);
	free(out);
}
END_TEST

/* Say that stderr (as it is now) is the journal. */
static void
stderr_is_journal(void)
{
	struct stat st;
	char v[64];

	ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
}

START_TEST(journal_gets_priority_prefix)
{
	char *out;

	capture_begin();
	stderr_is_journal();
	bw_log_init(BW_LOG_TARGET_STDERR, BW_LOG_DEBUG);
	bw_err("bad");
	bw_logx("m", BW_LOG_DEBUG, "dbg");
	out = capture_end();
	ck_assert_str_eq(out, "<3>bad\n<7>m: dbg\n");
	free(out);
}
END_TEST

START_TEST(journal_stream_of_another_file_is_ignored)
{
	char *out;

	/* Inherited from a parent whose stderr was the journal; ours is not. */
	setenv("JOURNAL_STREAM", "8:1234", 1);
	capture_begin();
	bw_log_init(BW_LOG_TARGET_STDERR, BW_LOG_INFO);
	bw_err("bad");
	out = capture_end();
	ck_assert_str_eq(out, "err: bad\n");
	free(out);
}
END_TEST

START_TEST(long_message_is_cut_to_one_line)
{
	char big[4000], *out;

	unsetenv("JOURNAL_STREAM");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	capture_begin();
	bw_log_init(BW_LOG_TARGET_STDERR, BW_LOG_INFO);
	bw_info("%s", big);
	bw_info("after");
	out = capture_end();
	ck_assert_int_eq(strncmp(out, "info: xxxx", 10), 0);
	ck_assert_ptr_nonnull(strstr(out, "x\ninfo: after\n"));
	/* Exactly two lines: the cut message and the next one. */
	size_t lines = 0;

	for (const char *p = out; *p; p++)
		lines += *p == '\n';
	ck_assert_uint_eq(lines, 2);
	ck_assert_uint_lt(strlen(out), 2048 + 20);
	free(out);
}
END_TEST

START_TEST(errno_variant_appends_the_reason_for_either_sign)
{
	char *out;

	unsetenv("JOURNAL_STREAM");
	capture_begin();
	bw_log_init(BW_LOG_TARGET_STDERR, BW_LOG_WARNING);
	errno = EAGAIN;
	bw_err_errno(-ENOENT, "cannot read %s", "/x/state.json");
	ck_assert_int_eq(errno, EAGAIN);
	bw_warn_errno(EACCES, "cannot write");
	bw_logx_errno("flowlog", BW_LOG_ERR, -ENOSPC, "disk %d", 1);
	bw_log_errno(BW_LOG_INFO, EIO, "not written (level)");
	out = capture_end();
	ck_assert_str_eq(out, "err: cannot read /x/state.json: No such file or directory\n"
			      "warning: cannot write: Permission denied\n"
			      "err: flowlog: disk 1: No space left on device\n");
	free(out);
}
END_TEST

START_TEST(level_names)
{
	ck_assert_str_eq(bw_log_level_name(BW_LOG_ERR), "err");
	ck_assert_str_eq(bw_log_level_name(BW_LOG_WARNING), "warning");
	ck_assert_str_eq(bw_log_level_name(BW_LOG_NOTICE), "notice");
	ck_assert_str_eq(bw_log_level_name(BW_LOG_INFO), "info");
	ck_assert_str_eq(bw_log_level_name(BW_LOG_DEBUG), "debug");
	ck_assert_str_eq(bw_log_level_name(0), "err");
	ck_assert_str_eq(bw_log_level_name(99), "debug");
}
END_TEST

START_TEST(libbpf_messages_are_routed_in)
{
	struct bpf_object *obj;
	char *out;

	unsetenv("JOURNAL_STREAM");
	capture_begin();
	bw_log_init(BW_LOG_TARGET_STDERR, BW_LOG_WARNING);
	bw_log_libbpf();
	obj = bpf_object__open_file("/nonexistent/bw-test.bpf.o", NULL);
	ck_assert_int_ne(libbpf_get_error(obj), 0);
	out = capture_end();
	/* libbpf warns that it cannot open the file, through our log. */
	ck_assert_msg(strncmp(out, "warning: libbpf: ", 17) == 0, "got: %s", out);
	ck_assert_ptr_nonnull(strstr(out, "/nonexistent/bw-test.bpf.o"));
	ck_assert_int_eq(out[strlen(out) - 1], '\n');
	ck_assert_ptr_null(strstr(out, "\n\n"));
	free(out);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("stderr");

	tcase_add_test(tc, level_filters_messages);
	tcase_add_test(tc, prefix_and_trailing_newlines);
	tcase_add_test(tc, repeated_lines_are_rate_limited);
	tcase_add_test(tc, journal_gets_priority_prefix);
	tcase_add_test(tc, journal_stream_of_another_file_is_ignored);
	tcase_add_test(tc, long_message_is_cut_to_one_line);
	tcase_add_test(tc, errno_variant_appends_the_reason_for_either_sign);
	tcase_add_test(tc, level_names);
	tcase_add_test(tc, libbpf_messages_are_routed_in);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
