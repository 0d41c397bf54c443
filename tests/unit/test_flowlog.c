/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/test_flowlog.c - the flowlog module's parts without a daemon:
 * the allowlist/denylist text, the field mask (paths checked against the
 * Flow message, fields kept in order), and the writer (appends, never
 * truncates, cuts a partial last line, rotates into numbered backups
 * without splitting a line, counts what it drops). Then the whole module
 * through its descriptor with a fake core table: filters, mask, reload,
 * stop flushing to the file, and the config check hook (what it refuses,
 * and which key it names).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "bulwark/flow.h"
#include "bulwark/module.h"
#include "lib/flowjson.h"
#include "modules/flowlog/flowlog.h"
#include "tests/unit/fake_core.h"
#include "tests/unit/tmpdir.h"

/* ---- helpers ------------------------------------------------------------------ */

static char tmpdir[256];

static void
mk_tmp(void)
{
	bw_test_tmp(tmpdir, sizeof(tmpdir), "test_flowlog.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
rm_tmp(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

static void
spit(const char *path, const char *text, const char *mode)
{
	FILE *f = fopen(path, mode);

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static off_t
fsize(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; s != NULL && *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- filter lists --------------------------------------------------------------- */

START_TEST(test_filters_text_forms)
{
	char err[256];
	json_t *l;

	l = flowlog_filters_text("", err, sizeof(err));
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(json_array_size(l), 0);
	json_decref(l);

	/* hubble-export-allowlist: comma-separated objects */
	l = flowlog_filters_text("{\"verdict\":[\"DROPPED\",\"ERROR\"]},"
				 " {\"source_pod\":[\"x/\"]}", err, sizeof(err));
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(json_array_size(l), 2);
	ck_assert_ptr_nonnull(json_object_get(json_array_get(l, 1), "source_pod"));
	json_decref(l);

	/* config continuation lines join with a space: no comma needed */
	l = flowlog_filters_text("{\"verdict\":[\"DROPPED\"]} {\"verdict\":[\"AUDIT\"]}",
				 err, sizeof(err));
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(json_array_size(l), 2);
	json_decref(l);

	/* a JSON array */
	l = flowlog_filters_text(" [{\"verdict\":[\"DROPPED\"]}]", err, sizeof(err));
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(json_array_size(l), 1);
	json_decref(l);
}
END_TEST

START_TEST(test_filters_text_errors)
{
	char err[256];

	ck_assert_ptr_null(flowlog_filters_text("{\"verdict\":", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "FlowFilter 1 is not valid JSON"));
	ck_assert_ptr_null(flowlog_filters_text("{} verdict", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "FlowFilter 2: expected a JSON object"));
	ck_assert_ptr_null(flowlog_filters_text("[1]", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "element 1 of the array"));
	ck_assert_ptr_null(flowlog_filters_text("[{}", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not a JSON array"));
}
END_TEST

/* ---- field mask --------------------------------------------------------------------- */

static const char *sample =
	"{\"flow\":{\"time\":\"2026-11-26T08:26:32.684123456Z\",\"uuid\":\"u1\","
	"\"verdict\":\"DROPPED\",\"drop_reason\":133,"
	"\"IP\":{\"source\":\"10.2.0.1\",\"destination\":\"10.1.0.1\",\"ipVersion\":\"IPv4\"},"
	"\"l4\":{\"TCP\":{\"source_port\":40000,\"destination_port\":80,\"flags\":{\"SYN\":true}}},"
	"\"source\":{\"ID\":3,\"identity\":258,\"namespace\":\"y\",\"labels\":[\"k8s:app=other\"],\"pod_name\":\"c\"},"
	"\"destination\":{\"ID\":1,\"identity\":256,\"namespace\":\"x\",\"pod_name\":\"a\"},"
	"\"Type\":\"L3_L4\",\"node_name\":\"vm\",\"drop_reason_desc\":\"POLICY_DENIED\","
	"\"Summary\":\"TCP Flags: SYN\"},\"node_name\":\"vm\","
	"\"time\":\"2026-11-26T08:26:32.684123456Z\"}";

/* A response line with the mask applied to its object (lib/flowmask.c). */
static char *
mask_text(const struct bw_flowmask *m, const char *line)
{
	json_t *doc = json_loads(line, 0, NULL);
	char *out;

	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(bw_flowmask_apply(m, doc), 0);
	out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return out;
}

START_TEST(test_mask_apply_keeps_fields_in_order)
{
	struct bw_flowmask *m;
	char err[256], *out;

	ck_assert_int_eq(bw_flowmask_parse("time source.namespace source.pod_name "
					    "destination.namespace destination.pod_name "
					    "verdict drop_reason_desc", &m, err,
					    sizeof(err)), 0);
	out = mask_text(m, sample);
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out,
		"{\"flow\":{\"time\":\"2026-11-26T08:26:32.684123456Z\","
		"\"verdict\":\"DROPPED\","
		"\"source\":{\"namespace\":\"y\",\"pod_name\":\"c\"},"
		"\"destination\":{\"namespace\":\"x\",\"pod_name\":\"a\"},"
		"\"drop_reason_desc\":\"POLICY_DENIED\"},\"node_name\":\"vm\","
		"\"time\":\"2026-11-26T08:26:32.684123456Z\"}");
	free(out);
	bw_flowmask_free(m);

	/* a whole message, and a wider path swallowing a narrower one */
	ck_assert_int_eq(bw_flowmask_parse("l4.TCP.destination_port,IP l4", &m, err,
					    sizeof(err)), 0);
	out = mask_text(m, sample);
	ck_assert_str_eq(out,
		"{\"flow\":{\"IP\":{\"source\":\"10.2.0.1\",\"destination\":\"10.1.0.1\","
		"\"ipVersion\":\"IPv4\"},\"l4\":{\"TCP\":{\"source_port\":40000,"
		"\"destination_port\":80,\"flags\":{\"SYN\":true}}}},\"node_name\":\"vm\","
		"\"time\":\"2026-11-26T08:26:32.684123456Z\"}");
	free(out);
	bw_flowmask_free(m);

	/* a field the flow does not have: the message is left out */
	ck_assert_int_eq(bw_flowmask_parse("uuid l7.http.code", &m, err, sizeof(err)), 0);
	out = mask_text(m, sample);
	ck_assert_str_eq(out, "{\"flow\":{\"uuid\":\"u1\"},\"node_name\":\"vm\","
			 "\"time\":\"2026-11-26T08:26:32.684123456Z\"}");
	free(out);
	bw_flowmask_free(m);
}
END_TEST

START_TEST(test_mask_parse_errors)
{
	struct bw_flowmask *m = (struct bw_flowmask *)1;
	char err[256];

	ck_assert_int_eq(bw_flowmask_parse("", &m, err, sizeof(err)), 0);
	ck_assert_ptr_null(m);
	ck_assert_int_eq(bw_flowmask_parse("  ", &m, err, sizeof(err)), 0);
	ck_assert_ptr_null(m);

	ck_assert_int_eq(bw_flowmask_parse("time sorce.namespace", &m, err,
					    sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "'sorce.namespace': Flow has no field 'sorce'");
	ck_assert_int_eq(bw_flowmask_parse("source.podname", &m, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "'source.podname': source has no field 'podname'");
	ck_assert_int_eq(bw_flowmask_parse("verdict.x", &m, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "'verdict.x': field 'verdict' has no subfields");
	ck_assert_int_eq(bw_flowmask_parse("source.", &m, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "'source.' is not a field path");
	ck_assert_int_eq(bw_flowmask_parse("source..pod_name", &m, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "'source..pod_name' is not a field path");
}
END_TEST

/* ---- the writer ---------------------------------------------------------------------- */

static struct flowlog_writer *
w_open(const char *name, int64_t max_size, int backups, size_t qmax)
{
	struct flowlog_writer *w;
	char path[512], err[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if (flowlog_writer_open(&w, path, max_size, backups, qmax, err,
				sizeof(err)) < 0)
		ck_abort_msg("open %s: %s", path, err);
	return w;
}

static void
w_line(struct flowlog_writer *w, int i, size_t width)
{
	char buf[4096];

	ck_assert_uint_lt(width, sizeof(buf));
	snprintf(buf, sizeof(buf), "{\"n\":%06d,\"pad\":\"", i);
	while (strlen(buf) < width - 2)
		strcat(buf, "x");
	strcat(buf, "\"}");
	ck_assert_int_eq(flowlog_writer_push(w, buf, strlen(buf)), 0);
}

START_TEST(test_writer_appends_and_repairs)
{
	struct flowlog_writer *w;
	struct flowlog_writer_stats st;
	char path[512], *text;

	mk_tmp();
	snprintf(path, sizeof(path), "%s/sub/dir/events.log", tmpdir);
	/* creates the directories, writes whole lines */
	w = w_open("sub/dir/events.log", 1 << 20, 5, 1 << 20);
	ck_assert_int_eq(flowlog_writer_push(w, "{\"a\":1}", 7), 0);
	ck_assert_int_eq(flowlog_writer_push(w, "{\"a\":2}", 7), 0);
	flowlog_writer_close(w, &st);
	ck_assert_uint_eq(st.lines, 2);
	ck_assert_uint_eq(st.bytes, 16);
	text = slurp(path, NULL);
	ck_assert_str_eq(text, "{\"a\":1}\n{\"a\":2}\n");
	free(text);

	/* a crash left half a line: it is cut, then new lines are appended */
	spit(path, "{\"a\":3,\"b\"", "a");
	w = w_open("sub/dir/events.log", 1 << 20, 5, 1 << 20);
	flowlog_writer_stats(w, &st);
	ck_assert_uint_eq(st.repaired, 10);
	ck_assert_uint_eq(st.file_size, 16);
	ck_assert_int_eq(flowlog_writer_push(w, "{\"a\":4}", 7), 0);
	flowlog_writer_close(w, NULL);
	text = slurp(path, NULL);
	ck_assert_str_eq(text, "{\"a\":1}\n{\"a\":2}\n{\"a\":4}\n");
	free(text);

	/* a file with no newline at all is emptied */
	spit(path, "garbage", "w");
	w = w_open("sub/dir/events.log", 1 << 20, 5, 1 << 20);
	flowlog_writer_close(w, &st);
	ck_assert_uint_eq(st.repaired, 7);
	ck_assert_int_eq(fsize(path), 0);
	rm_tmp();
}
END_TEST

START_TEST(test_writer_rotates)
{
	struct flowlog_writer *w;
	struct flowlog_writer_stats st;
	char path[512], b[600], *text;
	int i, lines = 0, first = -1;

	mk_tmp();
	/* 100-byte lines (with the newline), 1000-byte files: 10 per file */
	w = w_open("events.log", 1000, 3, 1 << 20);
	for (i = 0; i < 95; i++)
		w_line(w, i, 99);
	flowlog_writer_close(w, &st);
	ck_assert_uint_eq(st.lines, 95);
	ck_assert_uint_eq(st.rotations, 9);

	snprintf(path, sizeof(path), "%s/events.log", tmpdir);
	ck_assert_int_eq(fsize(path), 500);
	for (i = 1; i <= 3; i++) {
		snprintf(b, sizeof(b), "%s.%d", path, i);
		ck_assert_int_eq(fsize(b), 1000);
	}
	snprintf(b, sizeof(b), "%s.4", path);
	ck_assert_int_eq(fsize(b), -1);

	/* .3 .2 .1 and the file hold the newest 35 lines, in order */
	for (i = 3; i >= 0; i--) {
		const char *p;

		if (i)
			snprintf(b, sizeof(b), "%s.%d", path, i);
		else
			snprintf(b, sizeof(b), "%s", path);
		text = slurp(b, NULL);
		for (p = text; *p; p = strchr(p, '\n') + 1) {
			int n = atoi(p + 5);

			if (first < 0)
				first = n;
			ck_assert_int_eq(n, first + lines);
			lines++;
		}
		free(text);
	}
	ck_assert_int_eq(first, 60);
	ck_assert_int_eq(lines, 35);

	/* fewer backups on the next start: the extra ones go */
	w = w_open("events.log", 1000, 1, 1 << 20);
	flowlog_writer_close(w, NULL);
	snprintf(b, sizeof(b), "%s.2", path);
	ck_assert_int_eq(fsize(b), -1);
	snprintf(b, sizeof(b), "%s.1", path);
	ck_assert_int_eq(fsize(b), 1000);

	/* max_backups 0: a full file is started afresh */
	w = w_open("events.log", 1000, 0, 1 << 20);
	for (i = 0; i < 7; i++)
		w_line(w, i, 99);
	flowlog_writer_close(w, NULL);
	ck_assert_int_eq(fsize(path), 200);
	rm_tmp();
}
END_TEST

START_TEST(test_writer_big_line_and_limits)
{
	struct flowlog_writer *w;
	struct flowlog_writer_stats st;
	char path[512], b[600], *text;

	mk_tmp();
	snprintf(path, sizeof(path), "%s/events.log", tmpdir);
	/* a line longer than max_size gets a file of its own, never split */
	w = w_open("events.log", 1024, 2, 1 << 20);
	w_line(w, 1, 99);
	w_line(w, 2, 2000);
	w_line(w, 3, 99);
	flowlog_writer_close(w, &st);
	ck_assert_uint_eq(st.lines, 3);
	ck_assert_int_eq(fsize(path), 100);
	snprintf(b, sizeof(b), "%s.1", path);
	ck_assert_int_eq(fsize(b), 2001);
	snprintf(b, sizeof(b), "%s.2", path);
	ck_assert_int_eq(fsize(b), 100);

	/* a line that can never fit the queue is dropped and counted */
	w = w_open("events.log", 1 << 20, 2, 4096);
	text = calloc(1, 5000);
	memset(text, 'x', 4999);
	ck_assert_int_eq(flowlog_writer_push(w, text, 4999), -ENOBUFS);
	ck_assert_int_eq(flowlog_writer_push(w, "{}", 2), 0);
	flowlog_writer_set_limits(w, 1 << 20, 2, 8192);
	ck_assert_int_eq(flowlog_writer_push(w, text, 4999), 0);
	flowlog_writer_close(w, &st);
	ck_assert_uint_eq(st.dropped, 1);
	ck_assert_uint_eq(st.lines, 2);
	free(text);
	ck_assert_int_eq(fsize(path), 100 + 3 + 5000);
	rm_tmp();
}
END_TEST

START_TEST(test_writer_refuses_bad_path)
{
	struct flowlog_writer *w;
	char path[512], err[256];

	mk_tmp();
	snprintf(path, sizeof(path), "%s", tmpdir); /* a directory */
	ck_assert_int_lt(flowlog_writer_open(&w, path, 1024, 1, 4096, err,
					     sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, tmpdir));
	rm_tmp();
}
END_TEST

/* ---- the module through its descriptor, with a fake core ----------------------------- */

extern const struct bw_module bw_module_desc;

/* The instance, driven through the tests' fake core (tests/unit/fake_core.h). */
static struct fake_ctx fk_ctx;

static void
fk_begin(void)
{
	fake_core_reset();
	fake_core.base = event_base_new();
	memset(&fk_ctx, 0, sizeof(fk_ctx));
	fk_ctx.module = "flowlog";
	fk_ctx.instance = "flowlog:t";
	fk_ctx.state_dir = tmpdir;
}

/* A config struct filled from the module's own key table defaults. */
static void *
fk_make_conf(const char *path, const char *allow, const char *mask)
{
	char *c = calloc(1, bw_module_desc.conf_size);

	for (const struct bw_conf_key *k = bw_module_desc.conf_keys; k->name; k++) {
		void *dst = c + k->offset;
		const char *v = k->def;

		if (!strcmp(k->name, "path"))
			v = path;
		else if (!strcmp(k->name, "allowlist"))
			v = allow;
		else if (!strcmp(k->name, "field_mask"))
			v = mask;
		switch (k->type) {
		case BW_CONF_STRING:
			*(char **)dst = (char *)v;
			break;
		case BW_CONF_SIZE:
			*(int64_t *)dst = strtoll(v, NULL, 10) *
					  (strchr(v, 'M') ? 1024 * 1024 : 1);
			break;
		case BW_CONF_INT:
			*(int64_t *)dst = strtoll(v, NULL, 10);
			break;
		default:
			ck_abort_msg("unexpected key type for %s", k->name);
		}
	}
	return c;
}

static void
fk_flow(struct bw_flow *f, enum bw_flow_verdict v, const char *pod, int n)
{
	static const char *const labels[] = { "k8s:app=x" };

	memset(f, 0, sizeof(*f));
	f->size = sizeof(*f);
	f->time_ns = 1764145592684123456ull + (uint64_t)n;
	snprintf(f->uuid, sizeof(f->uuid), "00000000-0000-4000-8000-%012d", n);
	f->node_name = "vm";
	f->verdict = v;
	f->type = BW_FLOW_TYPE_L3_L4;
	f->event_type = v == BW_FLOW_VERDICT_DROPPED ? BW_FLOW_EVENT_DROP :
						       BW_FLOW_EVENT_TRACE;
	f->ip_version = 4;
	strcpy(f->src_ip, "10.2.0.1");
	strcpy(f->dst_ip, "10.1.0.1");
	f->protocol = 6;
	f->src_port = 40000;
	f->dst_port = 80;
	f->source.ns = "y";
	f->source.pod_name = pod;
	f->source.labels = labels;
	f->source.n_labels = 1;
	f->destination.ns = "x";
	f->destination.pod_name = "a";
	f->is_reply = -1;
}

/* The writer with a mask gives what masking its unmasked text gives. */
START_TEST(test_masked_writer_matches_masking_the_text)
{
	static const char *const masks[] = {
		"time verdict source.pod_name", "l4 IP.source", "source destination",
		"uuid l7.http.code", "drop_reason_desc Summary node_name",
	};
	struct bw_flowmask *m;
	struct bw_flow f;
	char err[256], *plain, *masked, *want;

	fk_flow(&f, BW_FLOW_VERDICT_DROPPED, "c", 7);
	ck_assert_int_eq(bw_flowjson_text_masked(&f, NULL, &masked), 0);
	ck_assert_int_eq(bw_flowjson_text(&f, &plain), 0);
	ck_assert_str_eq(masked, plain);
	free(masked);
	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		ck_assert_int_eq(bw_flowmask_parse(masks[i], &m, err, sizeof(err)), 0);
		ck_assert_int_eq(bw_flowjson_text_masked(&f, m, &masked), 0);
		want = mask_text(m, plain);
		ck_assert_str_eq(masked, want);
		free(want);
		free(masked);
		bw_flowmask_free(m);
	}
	free(plain);
}
END_TEST

START_TEST(test_module_filters_mask_reload)
{
	struct bw_flow f;
	void *conf, *conf2;
	char path[512], *text, *line;
	json_t *doc;

	mk_tmp();
	fk_begin();
	conf = fk_make_conf("out/f.log", "{\"verdict\":[\"DROPPED\"]}",
			    "verdict source.pod_name");
	fk_ctx.conf = conf;
	ck_assert_int_eq(bw_module_desc.init(FAKE_CTX(&fk_ctx), fake_core_api(), conf), 0);
	ck_assert_str_eq(fake_core.route_path, "/v1/flowlog/flowlog:t");
	ck_assert_ptr_nonnull(fake_core.flow_cb);
	ck_assert_int_eq(bw_module_desc.start(FAKE_CTX(&fk_ctx)), 0);

	fk_flow(&f, BW_FLOW_VERDICT_FORWARDED, "c", 1);
	fake_core.flow_cb(&f, fake_core.flow_ud);
	fk_flow(&f, BW_FLOW_VERDICT_DROPPED, "c", 2);
	fake_core.flow_cb(&f, fake_core.flow_ud);

	/* reload: all flows, full records; a bad mask is refused first */
	conf2 = fk_make_conf("out/f.log", "", "verdict sorce");
	ck_assert_int_eq(bw_module_desc.reload(FAKE_CTX(&fk_ctx), conf2), -EINVAL);
	ck_assert_ptr_nonnull(strstr(fake_core.log, "[flowlog:t] field_mask: 'sorce': "
					     "Flow has no field 'sorce'"));
	free(conf2);
	fk_flow(&f, BW_FLOW_VERDICT_FORWARDED, "c", 3);
	fake_core.flow_cb(&f, fake_core.flow_ud); /* still the old filter: not written */
	conf2 = fk_make_conf("out/f.log", "", "");
	ck_assert_int_eq(bw_module_desc.reload(FAKE_CTX(&fk_ctx), conf2), 0);
	fk_ctx.conf = conf2;
	fk_flow(&f, BW_FLOW_VERDICT_FORWARDED, "d", 4);
	fake_core.flow_cb(&f, fake_core.flow_ud);

	bw_module_desc.stop(FAKE_CTX(&fk_ctx));
	fake_core.flow_free(fake_core.flow_ud);

	snprintf(path, sizeof(path), "%s/out/f.log", tmpdir);
	text = slurp(path, NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(count_lines(text), 2);
	line = strtok(text, "\n");
	ck_assert_str_eq(line, "{\"flow\":{\"verdict\":\"DROPPED\",\"source\":"
			 "{\"pod_name\":\"c\"}},\"node_name\":\"vm\","
			 "\"time\":\"2025-11-26T08:26:32.684123458Z\"}");
	line = strtok(NULL, "\n");
	/* the unmasked line is exactly flow_to_json's text */
	fk_flow(&f, BW_FLOW_VERDICT_FORWARDED, "d", 4);
	{
		char *want;

		ck_assert_int_eq(bw_flowjson_text(&f, &want), 0);
		ck_assert_str_eq(line, want);
		free(want);
	}
	doc = json_loads(line, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	json_decref(doc);
	free(text);
	free(conf);
	free(conf2);
	event_base_free(fake_core.base);
	rm_tmp();
}
END_TEST

START_TEST(test_module_bad_allowlist_fails_init)
{
	void *conf;

	mk_tmp();
	fk_begin();
	conf = fk_make_conf("f.log", "{\"verdct\":[\"DROPPED\"]}", "");
	fk_ctx.conf = conf;
	ck_assert_int_eq(bw_module_desc.init(FAKE_CTX(&fk_ctx), fake_core_api(), conf),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(fake_core.log, "[flowlog:t] allowlist: filter 1: "
					     "unsupported FlowFilter field 'verdct'"));
	ck_assert_ptr_null(fake_core.flow_cb);
	free(conf);
	event_base_free(fake_core.base);
	rm_tmp();
}
END_TEST

/* check() (ABI 1.1): the same validation as init, without a core. */
START_TEST(test_module_check_hook)
{
	const char *key = "unset";
	char err[512];
	void *conf;

	ck_assert_ptr_nonnull(bw_module_desc.check);
	ck_assert_uint_ge(bw_module_desc.size,
			  offsetof(struct bw_module, check) + sizeof(bw_module_desc.check));
	conf = fk_make_conf("f.log", "{\"verdict\":[\"DROPPED\"]}", "time verdict");
	ck_assert_int_eq(bw_module_desc.check(conf, err, sizeof(err), &key), 0);
	free(conf);
	conf = fk_make_conf("f.log", "", "");
	ck_assert_int_eq(bw_module_desc.check(conf, err, sizeof(err), &key), 0);
	free(conf);

	conf = fk_make_conf("f.log", "{\"verdct\":[\"DROPPED\"]}", "");
	ck_assert_int_eq(bw_module_desc.check(conf, err, sizeof(err), &key), -EINVAL);
	ck_assert_str_eq(key, "allowlist");
	ck_assert_str_eq(err, "filter 1: unsupported FlowFilter field 'verdct'");
	free(conf);

	conf = fk_make_conf("f.log", "", "verdict sorce");
	ck_assert_int_eq(bw_module_desc.check(conf, err, sizeof(err), &key), -EINVAL);
	ck_assert_str_eq(key, "field_mask");
	ck_assert_str_eq(err, "'sorce': Flow has no field 'sorce'");
	free(conf);

	conf = fk_make_conf("", "", "");
	ck_assert_int_eq(bw_module_desc.check(conf, err, sizeof(err), &key), -EINVAL);
	ck_assert_str_eq(key, "path");
	ck_assert_str_eq(err, "must not be empty");
	free(conf);
}
END_TEST

static Suite *
flowlog_suite(void)
{
	Suite *s = suite_create("flowlog");
	TCase *tc = tcase_create("config");
	TCase *tw = tcase_create("writer");
	TCase *tm = tcase_create("module");

	tcase_add_test(tc, test_filters_text_forms);
	tcase_add_test(tc, test_filters_text_errors);
	tcase_add_test(tc, test_mask_apply_keeps_fields_in_order);
	tcase_add_test(tc, test_mask_parse_errors);
	tcase_add_test(tc, test_masked_writer_matches_masking_the_text);
	suite_add_tcase(s, tc);
	tcase_add_test(tw, test_writer_appends_and_repairs);
	tcase_add_test(tw, test_writer_rotates);
	tcase_add_test(tw, test_writer_big_line_and_limits);
	tcase_add_test(tw, test_writer_refuses_bad_path);
	suite_add_tcase(s, tw);
	tcase_add_test(tm, test_module_filters_mask_reload);
	tcase_add_test(tm, test_module_bad_allowlist_fails_init);
	tcase_add_test(tm, test_module_check_hook);
	suite_add_tcase(s, tm);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(flowlog_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
