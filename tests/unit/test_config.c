/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_config.c - core/config.c: key tables, every value type and
 * range, every error path with the exact "file:line" message an operator
 * sees, sections, module instance sections, -o overrides and reload merging.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "tests/unit/tmpdir.h"

static char err[1024];

static struct bw_conf *
load(const char *text)
{
	err[0] = '\0';
	return bw_conf_load_string("t.conf", text, NULL, 0, err, sizeof(err));
}

static struct bw_conf *
load_o(const char *text, char **ovr, size_t n)
{
	err[0] = '\0';
	return bw_conf_load_string("t.conf", text, ovr, n, err, sizeof(err));
}

/* Loading text must fail with exactly this message. */
static void
expect_error(const char *text, const char *msg)
{
	struct bw_conf *cf = load(text);

	ck_assert_msg(cf == NULL, "config was accepted, expected: %s", msg);
	ck_assert_str_eq(err, msg);
}

/* ---- the core sections ------------------------------------------------- */

START_TEST(empty_file_gives_every_default)
{
	struct bw_conf *cf = load("");
	const struct bw_daemon_conf *dc;

	ck_assert_msg(cf != NULL, "%s", err);
	dc = &cf->daemon;
	ck_assert_str_eq(dc->socket, "/run/bulwark/bulwark.sock");
	ck_assert_str_eq(dc->socket_group, "");
	ck_assert_str_eq(dc->state_dir, "/var/lib/bulwark");
	ck_assert_str_eq(dc->bpffs_dir, "/sys/fs/bpf/bulwark");
	ck_assert_str_eq(dc->module_dir, BW_MODULEDIR);
	ck_assert_str_eq(dc->modules, "");
	ck_assert_uint_eq(dc->nmodules, 0);
	ck_assert_int_eq(bw_conf_log_level(dc), BW_LOG_INFO);
	ck_assert_int_eq(dc->log_target, BW_LOG_TARGET_STDERR);
	ck_assert_str_eq(dc->policy_dir, BW_SYSCONFDIR "/bulwark/policies");
	ck_assert_int_eq(dc->enforcement, BW_ENFORCE_DEFAULT);
	ck_assert_int_eq(dc->audit, 0);
	ck_assert_int_eq(dc->flows_capacity, 4096);
	ck_assert_int_eq(dc->monitor_aggregation, BW_AGG_MEDIUM);
	ck_assert_str_eq(bw_conf_default_path(), BW_SYSCONFDIR "/bulwark/bulwark.conf");
	bw_conf_free(cf);
}
END_TEST

START_TEST(core_values_are_applied)
{
	struct bw_conf *cf = load(
		"; a comment\n"
		"# another\n"
		"[daemon]\n"
		"socket = /tmp/x.sock\n"
		"socket_group = root\n"
		"log_level = debug ; inline comment\n"
		"log_target = syslog\n"
		"[policy]\n"
		"dir = /srv/policies\n"
		"enforcement = always\n"
		"audit = yes\n"
		"[flows]\n"
		"capacity = 16\n"
		"monitor_aggregation = none\n"
		"[lua]\n");
	const struct bw_daemon_conf *dc;

	ck_assert_msg(cf != NULL, "%s", err);
	dc = &cf->daemon;
	ck_assert_str_eq(dc->socket, "/tmp/x.sock");
	ck_assert_str_eq(dc->socket_group, "root");
	ck_assert_int_eq(bw_conf_log_level(dc), BW_LOG_DEBUG);
	ck_assert_int_eq(dc->log_target, BW_LOG_TARGET_SYSLOG);
	ck_assert_str_eq(dc->policy_dir, "/srv/policies");
	ck_assert_int_eq(dc->enforcement, BW_ENFORCE_ALWAYS);
	ck_assert_int_eq(dc->audit, 1);
	ck_assert_int_eq(dc->flows_capacity, 16);
	ck_assert_int_eq(dc->monitor_aggregation, BW_AGG_NONE);
	bw_conf_free(cf);
}
END_TEST

START_TEST(later_value_of_a_key_wins)
{
	struct bw_conf *cf = load("[flows]\ncapacity = 100\n[daemon]\n[flows]\ncapacity = 200\n");

	ck_assert_msg(cf != NULL, "%s", err);
	ck_assert_int_eq(cf->daemon.flows_capacity, 200);
	bw_conf_free(cf);
}
END_TEST

START_TEST(unknown_key_names_file_line_and_section)
{
	expect_error("[daemon]\nsocket = /x\n\nsokcet = /y\n",
		     "t.conf:4: unknown key 'sokcet' in [daemon]");
	expect_error("[policy]\nrequired = true\n",
		     "t.conf:2: unknown key 'required' in [policy]");
}
END_TEST

START_TEST(bad_enum_lists_the_choices)
{
	expect_error("[daemon]\nlog_level = loud\n",
		     "t.conf:2: [daemon] log_level: 'loud' is not one of err, warning, notice, info, debug");
	expect_error("[policy]\nenforcement = sometimes\n",
		     "t.conf:2: [policy] enforcement: 'sometimes' is not one of default, always, never");
	expect_error("[flows]\nmonitor_aggregation = Medium\n",
		     "t.conf:2: [flows] monitor_aggregation: 'Medium' is not one of none, lowest, low, medium, maximum");
	expect_error("[daemon]\nlog_target = journal\n",
		     "t.conf:2: [daemon] log_target: 'journal' is not one of stderr, syslog");
}
END_TEST

START_TEST(bool_spellings)
{
	static const struct {
		const char *v;
		int want;
	} cases[] = {
		{ "true", 1 }, { "yes", 1 }, { "on", 1 }, { "1", 1 }, { "TRUE", 1 },
		{ "false", 0 }, { "no", 0 }, { "off", 0 }, { "0", 0 }, { "Off", 0 },
	};
	char text[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bw_conf *cf;

		snprintf(text, sizeof(text), "[policy]\naudit = %s\n", cases[i].v);
		cf = load(text);
		ck_assert_msg(cf != NULL, "%s: %s", cases[i].v, err);
		ck_assert_int_eq(cf->daemon.audit, cases[i].want);
		bw_conf_free(cf);
	}
	expect_error("[policy]\naudit = maybe\n",
		     "t.conf:2: [policy] audit: 'maybe' is not a boolean (true, false, yes, no, on, off, 1, 0)");
	expect_error("[policy]\naudit =\n",
		     "t.conf:2: [policy] audit: '' is not a boolean (true, false, yes, no, on, off, 1, 0)");
}
END_TEST

START_TEST(int_range_and_form)
{
	expect_error("[flows]\ncapacity = 5\n",
		     "t.conf:2: [flows] capacity: 5 is below the minimum 16");
	expect_error("[flows]\ncapacity = 16777217\n",
		     "t.conf:2: [flows] capacity: 16777217 is above the maximum 16777216");
	expect_error("[flows]\ncapacity = -3\n",
		     "t.conf:2: [flows] capacity: -3 is below the minimum 16");
	expect_error("[flows]\ncapacity = lots\n",
		     "t.conf:2: [flows] capacity: 'lots' is not an integer");
	expect_error("[flows]\ncapacity = 4k\n",
		     "t.conf:2: [flows] capacity: '4k' is not an integer");
	expect_error("[flows]\ncapacity = 99999999999999999999\n",
		     "t.conf:2: [flows] capacity: '99999999999999999999' is out of range");
	expect_error("[flows]\ncapacity =\n",
		     "t.conf:2: [flows] capacity: '' is not an integer");
}
END_TEST

START_TEST(paths_must_not_be_empty)
{
	expect_error("[daemon]\nstate_dir =\n",
		     "t.conf:2: [daemon] state_dir: must not be empty");
	expect_error("[policy]\ndir =\n", "t.conf:2: [policy] dir: must not be empty");
}
END_TEST

/* ---- syntax ------------------------------------------------------------ */

START_TEST(syntax_errors_name_the_line)
{
	expect_error("[daemon]\nsocket = /x\nthis is not ini\n",
		     "t.conf:3: syntax error (expected '[section]', 'key = value' or a comment)");
	expect_error("[daemon\nsocket = /x\n",
		     "t.conf:1: syntax error (expected '[section]', 'key = value' or a comment)");
	expect_error("socket = /x\n[daemon]\n",
		     "t.conf:1: 'socket' is outside of any section");
	expect_error("[daemon]\n = /x\n", "t.conf:2: missing key name before '='");
}
END_TEST

START_TEST(byte_order_mark_is_skipped)
{
	struct bw_conf *cf = load("\xEF\xBB\xBF[daemon]\nsocket = /bom.sock\n");

	ck_assert_msg(cf != NULL, "%s", err);
	ck_assert_str_eq(cf->daemon.socket, "/bom.sock");
	bw_conf_free(cf);
}
END_TEST

START_TEST(long_line_is_refused)
{
	char text[600];

	snprintf(text, sizeof(text), "[daemon]\n\nsocket = /%0300d\n", 0);
	expect_error(text, "t.conf:3: line too long (at most 198 characters)");
}
END_TEST

START_TEST(continuation_lines_extend_a_value)
{
	struct bw_conf *cf = load("[daemon]\nmodules = a\n    b:one\n\tc\n[a]\n[b:one]\n[c]\n");

	ck_assert_msg(cf != NULL, "%s", err);
	ck_assert_str_eq(cf->daemon.modules, "a b:one c");
	ck_assert_uint_eq(cf->daemon.nmodules, 3);
	ck_assert_str_eq(cf->daemon.module_list[0], "a");
	ck_assert_str_eq(cf->daemon.module_list[1], "b:one");
	ck_assert_str_eq(cf->daemon.module_list[2], "c");
	bw_conf_free(cf);

	/* An indented key would silently become part of the value above. */
	expect_error("[daemon]\nsocket = /x\n  log_level = debug\n",
		     "t.conf:3: indented line is read as a continuation of 'socket'; remove the indentation");
	expect_error("[daemon]\nsocket = /x\n  [policy]\n",
		     "t.conf:3: indented line is read as a continuation of 'socket'; remove the indentation");
}
END_TEST

/* /dev/zero would be read for ever (22 GB seen); a FIFO would block. */
START_TEST(non_regular_and_huge_files_are_refused)
{
	char fifo[256], big[256], want[512];
	int fd;

	ck_assert_ptr_null(bw_conf_load("/dev/zero", NULL, 0, err, sizeof(err)));
	ck_assert_str_eq(err, "/dev/zero: not a regular file (a device); give a config file");
	bw_test_tmp(fifo, sizeof(fifo), "bw-test-config-fifo-XXXXXX");
	ck_assert_int_ge(fd = mkstemp(fifo), 0);
	close(fd);
	unlink(fifo);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_ptr_null(bw_conf_load(fifo, NULL, 0, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: not a regular file (a FIFO); give a config file", fifo);
	ck_assert_str_eq(err, want);
	unlink(fifo);
	bw_test_tmp(big, sizeof(big), "bw-test-config-big-XXXXXX");
	ck_assert_int_ge(fd = mkstemp(big), 0);
	ck_assert_int_eq(ftruncate(fd, BW_CONF_MAX_BYTES + 1), 0);
	close(fd);
	ck_assert_ptr_null(bw_conf_load(big, NULL, 0, err, sizeof(err)));
	ck_assert_msg(strstr(err, "larger than a config file may be (4 MiB)") != NULL, "%s", err);
	unlink(big);
	/* /dev/null stays "no config file" */
	{
		struct bw_conf *cf = bw_conf_load("/dev/null", NULL, 0, err, sizeof(err));

		ck_assert_ptr_nonnull(cf);
		bw_conf_free(cf);
	}
}
END_TEST

START_TEST(real_file_reports_its_path_and_lines)
{
	char path[256];
	char want[512];
	int fd = mkstemp(bw_test_tmp(path, sizeof(path), "bw-test-config-XXXXXX"));
	FILE *f;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fputs("# comment\n\n[daemon]\nlog_level = info\n[flows]\n\ncapacity = 1\n", f);
	fclose(f);
	ck_assert_ptr_null(bw_conf_load(path, NULL, 0, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:7: [flows] capacity: 1 is below the minimum 16", path);
	ck_assert_str_eq(err, want);
	unlink(path);

	ck_assert_ptr_null(bw_conf_load("/nonexistent/bulwark.conf", NULL, 0, err,
					sizeof(err)));
	ck_assert_str_eq(err, "/nonexistent/bulwark.conf: No such file or directory");
	/* A directory opens but cannot be read: not an empty config. */
	ck_assert_ptr_null(bw_conf_load("/", NULL, 0, err, sizeof(err)));
	ck_assert_str_eq(err, "/: not a regular file (a directory); give a config file");
}
END_TEST

/* ---- sections and module instances -------------------------------------- */

START_TEST(unknown_section_is_refused)
{
	expect_error("[daemon]\n\n[deamon]\nlog_level = debug\n",
		     "t.conf:3: unknown section [deamon] (not a core section and not a module instance listed in daemon.modules)");
	/* Also when it has keys, and when it is a module not listed. */
	expect_error("[daemon]\nmodules = a\n[a]\n[b]\nx = 1\n",
		     "t.conf:4: unknown section [b] (not a core section and not a module instance listed in daemon.modules)");
}
END_TEST

/* Taking a module out of daemon.modules leaves its (empty) section harmless. */
START_TEST(empty_section_of_unlisted_module_is_accepted)
{
	struct bw_conf *cf = load("[daemon]\nmodules = a\n[a]\n[prometheus]\n# listen = x\n");

	ck_assert_msg(cf != NULL, "config refused: %s", err);
	bw_conf_free(cf);
}
END_TEST

START_TEST(module_sections_keep_raw_entries)
{
	struct bw_conf *cf = load("[daemon]\nmodules = flowlog flowlog:audit\n"
				  "[flowlog:audit]\npath = /var/log/a\nrequired = yes\n"
				  "[flowlog]\nanything = goes\n");
	const struct bw_conf_section *s;

	ck_assert_msg(cf != NULL, "%s", err);
	ck_assert_uint_eq(cf->daemon.nmodules, 2);
	s = bw_conf_section_find(cf, "flowlog:audit");
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(bw_conf_section_required(s), 1);
	ck_assert_uint_eq(s->nentries, 2);
	ck_assert_str_eq(s->entries[0].key, "path");
	ck_assert_str_eq(s->entries[0].value, "/var/log/a");
	ck_assert_str_eq(s->entries[0].file, "t.conf");
	ck_assert_int_eq(s->entries[0].line, 4);
	s = bw_conf_section_find(cf, "flowlog");
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(bw_conf_section_required(s), 0);
	ck_assert_ptr_null(bw_conf_section_find(cf, "flowlog:other"));
	ck_assert_int_eq(bw_conf_section_required(NULL), 0);
	bw_conf_free(cf);

	expect_error("[daemon]\nmodules = m\n[m]\nrequired = maybe\n",
		     "t.conf:4: [m] required: 'maybe' is not a boolean (true, false, yes, no, on, off, 1, 0)");
}
END_TEST

START_TEST(module_list_is_checked)
{
	expect_error("[daemon]\nmodules = a b a\n",
		     "t.conf:2: [daemon] modules: 'a' is listed twice");
	expect_error("[daemon]\nmodules = a b/c\n",
		     "t.conf:2: [daemon] modules: 'b/c' is not a module instance name (MODULE or MODULE:INSTANCE, letters, digits, '-' and '_')");
	expect_error("[daemon]\nmodules = a:b:c\n",
		     "t.conf:2: [daemon] modules: 'a:b:c' is not a module instance name (MODULE or MODULE:INSTANCE, letters, digits, '-' and '_')");
	expect_error("[daemon]\nmodules = :x\n",
		     "t.conf:2: [daemon] modules: ':x' is not a module instance name (MODULE or MODULE:INSTANCE, letters, digits, '-' and '_')");
	expect_error("[daemon]\nmodules = policy\n",
		     "t.conf:2: [daemon] modules: 'policy' is the name of a core section");
}
END_TEST

/* ---- a module's own key table: every type -------------------------------- */

struct tconf {
	int on;
	int64_t count;
	int64_t size;
	int64_t wait;
	char *name;
	int mode;
	char *nodef;
};

static const char *const tmodes[] = { "fast", "safe", NULL };

static const struct bw_conf_key tkeys[] = {
	{ "on", BW_CONF_BOOL, "true", offsetof(struct tconf, on), 0, 0, NULL, 0, "b" },
	{ "count", BW_CONF_INT, "3", offsetof(struct tconf, count), 1, 10, NULL, 0, "i" },
	{ "size", BW_CONF_SIZE, "64M", offsetof(struct tconf, size), 4096, 0, NULL, 0, "s" },
	{ "wait", BW_CONF_DURATION, "30s", offsetof(struct tconf, wait), 0, 0, NULL,
	  BW_CONF_F_RELOADABLE, "d" },
	{ "name", BW_CONF_STRING, "x", offsetof(struct tconf, name), 0, 0, NULL, 0, "str" },
	{ "mode", BW_CONF_ENUM, "safe", offsetof(struct tconf, mode), 0, 0, tmodes, 0, "e" },
	{ "nodef", BW_CONF_STRING, NULL, offsetof(struct tconf, nodef), 0, 0, NULL, 0, "n" },
	BW_CONF_KEY_END
};

/* Apply tkeys to [m] holding the given body; returns the apply result. */
static int
apply_m(const char *body, struct tconf *tc)
{
	char text[1024];
	struct bw_conf *cf;
	int rc;

	snprintf(text, sizeof(text), "[daemon]\nmodules = m\n[m]\n%s", body);
	cf = load(text);
	ck_assert_msg(cf != NULL, "%s", err);
	memset(tc, 0, sizeof(*tc));
	rc = bw_conf_apply_keys(tkeys, tc, "m", bw_conf_section_find(cf, "m"), err,
				sizeof(err));
	bw_conf_free(cf);
	return rc;
}

static void
expect_apply_error(const char *body, const char *msg)
{
	struct tconf tc;

	ck_assert_int_eq(apply_m(body, &tc), -EINVAL);
	ck_assert_str_eq(err, msg);
	/* Nothing is left half-set to free. */
	ck_assert_ptr_null(tc.name);
	ck_assert_ptr_null(tc.nodef);
}

START_TEST(module_keys_defaults)
{
	struct tconf tc;

	memset(&tc, 0xff, sizeof(tc));
	tc.name = NULL;
	tc.nodef = NULL;
	ck_assert_int_eq(bw_conf_apply_keys(tkeys, &tc, "m", NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(tc.on, 1);
	ck_assert_int_eq(tc.count, 3);
	ck_assert_int_eq(tc.size, 64 * 1024 * 1024);
	ck_assert_int_eq(tc.wait, 30000);
	ck_assert_str_eq(tc.name, "x");
	ck_assert_int_eq(tc.mode, 1);
	ck_assert_ptr_null(tc.nodef);
	bw_conf_free_keys(tkeys, &tc);
	ck_assert_ptr_null(tc.name);
}
END_TEST

START_TEST(module_keys_values)
{
	struct tconf tc;

	ck_assert_int_eq(apply_m("on = off\ncount = 10\nsize = 2G\nwait = 250ms\n"
				 "name = hello world\nmode = fast\nnodef = y\nrequired = true\n",
				 &tc), 0);
	ck_assert_int_eq(tc.on, 0);
	ck_assert_int_eq(tc.count, 10);
	ck_assert_int_eq(tc.size, 2LL * 1024 * 1024 * 1024);
	ck_assert_int_eq(tc.wait, 250);
	ck_assert_str_eq(tc.name, "hello world");
	ck_assert_int_eq(tc.mode, 0);
	ck_assert_str_eq(tc.nodef, "y");
	bw_conf_free_keys(tkeys, &tc);
}
END_TEST

START_TEST(sizes)
{
	static const struct {
		const char *v;
		int64_t want;
	} cases[] = {
		{ "4096", 4096 }, { "8k", 8192 }, { "8K", 8192 }, { "3M", 3 << 20 },
		{ "1G", 1 << 30 },
	};
	char body[64];
	struct tconf tc;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), "size = %s\n", cases[i].v);
		ck_assert_msg(apply_m(body, &tc) == 0, "%s: %s", cases[i].v, err);
		ck_assert_int_eq(tc.size, cases[i].want);
		bw_conf_free_keys(tkeys, &tc);
	}
	expect_apply_error("size = 12X\n",
		"t.conf:4: [m] size: '12X' is not a size (a number with an optional k, M or G suffix)");
	expect_apply_error("size = 1.5M\n",
		"t.conf:4: [m] size: '1.5M' is not a size (a number with an optional k, M or G suffix)");
	expect_apply_error("size = 1k\n", "t.conf:4: [m] size: 1k is below the minimum 4k");
	expect_apply_error("size = 99999999999G\n",
		"t.conf:4: [m] size: '99999999999G' is out of range");
}
END_TEST

START_TEST(durations)
{
	static const struct {
		const char *v;
		int64_t want;
	} cases[] = {
		{ "0", 0 }, { "15ms", 15 }, { "2s", 2000 }, { "5m", 300000 },
		{ "2h", 7200000 }, { "1d", 86400000 },
	};
	char body[64];
	struct tconf tc;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), "wait = %s\n", cases[i].v);
		ck_assert_msg(apply_m(body, &tc) == 0, "%s: %s", cases[i].v, err);
		ck_assert_int_eq(tc.wait, cases[i].want);
		bw_conf_free_keys(tkeys, &tc);
	}
	expect_apply_error("wait = 5\n",
		"t.conf:4: [m] wait: '5' is not a duration (a number with a unit: ms, s, m, h or d)");
	expect_apply_error("wait = 5y\n",
		"t.conf:4: [m] wait: '5y' is not a duration (a number with a unit: ms, s, m, h or d)");
	expect_apply_error("wait = s\n",
		"t.conf:4: [m] wait: 's' is not a duration (a number with a unit: ms, s, m, h or d)");
	/* No range in the table, still never negative. */
	expect_apply_error("wait = -5s\n", "t.conf:4: [m] wait: '-5s' is negative");
}
END_TEST

START_TEST(module_key_errors)
{
	expect_apply_error("name = a\ncolour = red\n", "t.conf:5: unknown key 'colour' in [m]");
	expect_apply_error("count = 0\n", "t.conf:4: [m] count: 0 is below the minimum 1");
	expect_apply_error("count = 11\n", "t.conf:4: [m] count: 11 is above the maximum 10");
	expect_apply_error("mode = turbo\n", "t.conf:4: [m] mode: 'turbo' is not one of fast, safe");
	expect_apply_error("on = 2\n",
		"t.conf:4: [m] on: '2' is not a boolean (true, false, yes, no, on, off, 1, 0)");
}
END_TEST

struct lconf {
	char *listen;
};

static const struct bw_conf_key lkeys[] = {
	{ "listen", BW_CONF_STRING, "127.0.0.1:9962", offsetof(struct lconf, listen),
	  0, 0, NULL, BW_CONF_F_LISTEN, "address" },
	BW_CONF_KEY_END
};

START_TEST(listen_addresses)
{
	static const char *const good[] = {
		"127.0.0.1:9962", "[::1]:80", ":9090", "localhost:65535",
		"metrics.example:8080", "0.0.0.0:1",
	};
	static const struct {
		const char *v, *why;
	} bad[] = {
		{ "127.0.0.1", "no :PORT" },
		{ "1.2.3.999:80", "bad IPv4 address" },
		{ "::1:80", "an IPv6 address must be in brackets, [ADDR]:PORT" },
		{ "[::1]80", "expected [IPV6]:PORT" },
		{ "[zz]:80", "bad IPv6 address" },
		{ "host:0", "the port must be 1..65535" },
		{ "host:65536", "the port is above 65535" },
		{ "host:http", "the port is not a number" },
		{ "host:", "no port" },
		{ "bad_host:80", "bad host name" },
	};
	char text[256], want[512];
	struct bw_conf *cf;
	struct lconf lc;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "[daemon]\nmodules = m\n[m]\nlisten = %s\n", good[i]);
		cf = load(text);
		ck_assert_msg(cf != NULL, "%s", err);
		memset(&lc, 0, sizeof(lc));
		ck_assert_msg(bw_conf_apply_keys(lkeys, &lc, "m", bw_conf_section_find(cf, "m"),
						 err, sizeof(err)) == 0, "%s: %s", good[i], err);
		ck_assert_str_eq(lc.listen, good[i]);
		bw_conf_free_keys(lkeys, &lc);
		bw_conf_free(cf);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[daemon]\nmodules = m\n[m]\nlisten = %s\n", bad[i].v);
		cf = load(text);
		ck_assert_msg(cf != NULL, "%s", err);
		memset(&lc, 0, sizeof(lc));
		ck_assert_int_eq(bw_conf_apply_keys(lkeys, &lc, "m", bw_conf_section_find(cf, "m"),
						    err, sizeof(err)), -EINVAL);
		snprintf(want, sizeof(want),
			 "t.conf:4: [m] listen: '%s' is not a listen address (HOST:PORT, [IPV6]:PORT or :PORT): %s",
			 bad[i].v, bad[i].why);
		ck_assert_str_eq(err, want);
		ck_assert_ptr_null(lc.listen);
		bw_conf_free(cf);
	}
}
END_TEST

START_TEST(print_keys_formats_values_back)
{
	struct tconf tc;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert_int_eq(apply_m("wait = 1500ms\nsize = 5000\n", &tc), 0);
	f = open_memstream(&buf, &len);
	bw_conf_print_keys(f, "m", tkeys, &tc);
	fclose(f);
	ck_assert_str_eq(buf, "[m]\non = true\ncount = 3\nsize = 5000\nwait = 1500ms\n"
			      "name = x\nmode = safe\nnodef =\n");
	free(buf);
	bw_conf_free_keys(tkeys, &tc);

	ck_assert_int_eq(apply_m("wait = 120m\nsize = 1024M\non = no\n", &tc), 0);
	f = open_memstream(&buf, &len);
	bw_conf_print_keys(f, "m", tkeys, &tc);
	fclose(f);
	ck_assert_str_eq(buf, "[m]\non = false\ncount = 3\nsize = 1G\nwait = 2h\n"
			      "name = x\nmode = safe\nnodef =\n");
	free(buf);
	bw_conf_free_keys(tkeys, &tc);
}
END_TEST

START_TEST(print_core_sections)
{
	struct bw_conf *cf = load("[daemon]\nmodules = a\n[a]\n");
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert_msg(cf != NULL, "%s", err);
	f = open_memstream(&buf, &len);
	bw_conf_print(f, cf);
	fclose(f);
	ck_assert_msg(strstr(buf, "[daemon]\nsocket = /run/bulwark/bulwark.sock\n"
				  "socket_group =\n") == buf, "%s", buf);
	ck_assert_ptr_nonnull(strstr(buf, "\nmodules = a\nlog_level = info\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\n\n[policy]\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\n\n[flows]\ncapacity = 4096\nmonitor_aggregation = medium\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\n\n[lua]\n"));
	free(buf);
	bw_conf_free(cf);
}
END_TEST

/* ---- -o overrides -------------------------------------------------------- */

START_TEST(overrides_apply_after_the_file)
{
	char *ovr[] = {
		"daemon.socket=/tmp/o.sock", "policy.audit=true", "flows.capacity=64",
		"daemon.socket_group=", "policy.enforcement=never",
	};
	struct bw_conf *cf = load_o("[daemon]\nsocket = /tmp/f.sock\nsocket_group = g\n",
				    ovr, 5);

	ck_assert_msg(cf != NULL, "%s", err);
	ck_assert_str_eq(cf->daemon.socket, "/tmp/o.sock");
	ck_assert_str_eq(cf->daemon.socket_group, "");
	ck_assert_int_eq(cf->daemon.audit, 1);
	ck_assert_int_eq(cf->daemon.flows_capacity, 64);
	ck_assert_int_eq(cf->daemon.enforcement, BW_ENFORCE_NEVER);
	bw_conf_free(cf);
}
END_TEST

START_TEST(override_can_add_a_module_and_its_section)
{
	char *ovr[] = { "daemon.modules=x x:two", "x:two.key=v" };
	struct bw_conf *cf = load_o("", ovr, 2);
	const struct bw_conf_section *s;

	ck_assert_msg(cf != NULL, "%s", err);
	ck_assert_uint_eq(cf->daemon.nmodules, 2);
	s = bw_conf_section_find(cf, "x:two");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->entries[0].key, "key");
	ck_assert_str_eq(s->entries[0].value, "v");
	ck_assert_str_eq(s->entries[0].file, "-o x:two.key=v");
	ck_assert_int_eq(s->entries[0].line, 0);
	bw_conf_free(cf);
}
END_TEST

START_TEST(override_errors_name_the_option)
{
	static const struct {
		const char *o, *msg;
	} cases[] = {
		{ "daemon.foo=1", "-o daemon.foo=1: unknown key 'foo' in [daemon]" },
		{ "flows.capacity=5", "-o flows.capacity=5: [flows] capacity: 5 is below the minimum 16" },
		{ "daemon.log_level=loud",
		  "-o daemon.log_level=loud: [daemon] log_level: 'loud' is not one of err, warning, notice, info, debug" },
		{ "nope.x=1",
		  "-o nope.x=1: unknown section [nope] (not a core section and not a module instance listed in daemon.modules)" },
		{ "foo", "-o foo: expected SECTION.KEY=VALUE" },
		{ "a.b", "-o a.b: expected SECTION.KEY=VALUE" },
		{ "ab=1", "-o ab=1: expected SECTION.KEY=VALUE" },
		{ ".x=1", "-o .x=1: expected SECTION.KEY=VALUE" },
		{ "a.=1", "-o a.=1: expected SECTION.KEY=VALUE" },
		{ "a.b.c=1", "-o a.b.c=1: expected SECTION.KEY=VALUE" },
		{ "", "-o : expected SECTION.KEY=VALUE" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *ovr[] = { (char *)cases[i].o };

		ck_assert_ptr_null(load_o("", ovr, 1));
		ck_assert_str_eq(err, cases[i].msg);
	}
	ck_assert_int_eq(bw_conf_override_check("a.b=", err, sizeof(err)), 0);
	ck_assert_int_eq(bw_conf_override_check("a.b=x=y", err, sizeof(err)), 0);
	ck_assert_int_eq(bw_conf_override_check("a.b", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "-o a.b: expected SECTION.KEY=VALUE");
}
END_TEST

START_TEST(override_value_may_contain_equals)
{
	char *ovr[] = { "daemon.socket=/tmp/a=b.sock" };
	struct bw_conf *cf = load_o("", ovr, 1);

	ck_assert_msg(cf != NULL, "%s", err);
	ck_assert_str_eq(cf->daemon.socket, "/tmp/a=b.sock");
	bw_conf_free(cf);
}
END_TEST

/* ---- reload ------------------------------------------------------------- */

static int notified;

static void
on_reload(const struct bw_daemon_conf *old, const struct bw_daemon_conf *cur,
	  void *arg)
{
	ck_assert_ptr_eq(arg, &notified);
	ck_assert_int_eq(old->audit, 0);
	ck_assert_int_eq(cur->audit, 1);
	notified++;
}

START_TEST(reload_keeps_what_needs_a_restart)
{
	struct bw_conf *cur = load("[daemon]\nsocket = /a.sock\nmodules = m\n[m]\n");
	struct bw_conf *next = load("[daemon]\nsocket = /b.sock\nlog_level = debug\n"
				    "modules = m n\n[m]\n[n]\n[policy]\naudit = on\n"
				    "[flows]\ncapacity = 32\n");

	ck_assert_ptr_nonnull(cur);
	ck_assert_ptr_nonnull(next);
	bw_log_set_level(BW_LOG_ERR); /* keep the test output quiet */
	/* log_level and policy.audit change; socket, modules, capacity need a restart. */
	ck_assert_int_eq(bw_conf_merge_reload(cur, next), 2);
	ck_assert_str_eq(next->daemon.socket, "/a.sock");
	ck_assert_str_eq(next->daemon.modules, "m");
	ck_assert_uint_eq(next->daemon.nmodules, 1);
	ck_assert_str_eq(next->daemon.module_list[0], "m");
	ck_assert_int_eq(next->daemon.flows_capacity, 4096);
	ck_assert_int_eq(bw_conf_log_level(&next->daemon), BW_LOG_DEBUG);
	ck_assert_int_eq(next->daemon.audit, 1);

	bw_conf_set_current(cur);
	ck_assert_ptr_eq(bw_conf, &cur->daemon);
	ck_assert_int_eq(bw_conf_watch(on_reload, &notified), 0);
	bw_conf_set_current(next);
	bw_conf_notify(&cur->daemon);
	ck_assert_int_eq(notified, 1);
	bw_conf_watch_clear();
	bw_conf_notify(&cur->daemon);
	ck_assert_int_eq(notified, 1);
	bw_conf_set_current(NULL);
	ck_assert_ptr_null(bw_conf);
	bw_conf_free(cur);
	bw_conf_free(next);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_test(tc, empty_file_gives_every_default);
	tcase_add_test(tc, core_values_are_applied);
	tcase_add_test(tc, later_value_of_a_key_wins);
	tcase_add_test(tc, unknown_key_names_file_line_and_section);
	tcase_add_test(tc, bad_enum_lists_the_choices);
	tcase_add_test(tc, bool_spellings);
	tcase_add_test(tc, int_range_and_form);
	tcase_add_test(tc, paths_must_not_be_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("syntax");
	tcase_add_test(tc, syntax_errors_name_the_line);
	tcase_add_test(tc, long_line_is_refused);
	tcase_add_test(tc, byte_order_mark_is_skipped);
	tcase_add_test(tc, continuation_lines_extend_a_value);
	tcase_add_test(tc, real_file_reports_its_path_and_lines);
	tcase_add_test(tc, non_regular_and_huge_files_are_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("sections");
	tcase_add_test(tc, unknown_section_is_refused);
	tcase_add_test(tc, empty_section_of_unlisted_module_is_accepted);
	tcase_add_test(tc, module_sections_keep_raw_entries);
	tcase_add_test(tc, module_list_is_checked);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_add_test(tc, module_keys_defaults);
	tcase_add_test(tc, module_keys_values);
	tcase_add_test(tc, sizes);
	tcase_add_test(tc, durations);
	tcase_add_test(tc, module_key_errors);
	tcase_add_test(tc, listen_addresses);
	tcase_add_test(tc, print_keys_formats_values_back);
	tcase_add_test(tc, print_core_sections);
	suite_add_tcase(s, tc);

	tc = tcase_create("overrides");
	tcase_add_test(tc, overrides_apply_after_the_file);
	tcase_add_test(tc, override_can_add_a_module_and_its_section);
	tcase_add_test(tc, override_errors_name_the_option);
	tcase_add_test(tc, override_value_may_contain_equals);
	suite_add_tcase(s, tc);

	tc = tcase_create("reload");
	tcase_add_test(tc, reload_keeps_what_needs_a_restart);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
