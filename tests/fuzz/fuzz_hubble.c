/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_hubble.c - what a gRPC client can send to the
 * hubble-observer module (modules/hubble-observer/hubble_req.c and
 * hubble_pb.c). The first byte of an input picks the parser, the rest is
 * its input:
 *
 *   't'  a grpc-timeout header value: refused (-1), or accepted only when
 *        it is 1 to 8 digits and one unit letter;
 *   'r'  a GetFlowsRequest's bytes: decoded as the server decodes it, then
 *        its filters (FlowFilter -> lib/flowfilter.c, bulwark's
 *        FlowFilterExtensions fields and unknown field numbers included),
 *        its field mask (field_mask or experimental.field_mask) and its
 *        extensions; a refusal must say why, accepted filters are matched
 *        and an accepted mask applied to sample flows, whose encoding must
 *        then pack and decode again;
 *   'f'  a FlowFilter's bytes alone, the same way;
 *   'm'  field mask paths, comma-separated, applied the same way.
 *
 * Other first bytes are ignored. make check replays corpus/hubble/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hubble.h"
#include "lib/flowfilter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- sample flows: an L3/L4 drop and an L7 HTTP response -------------------- */

static const char *const fz_labels[] = { "k8s:app=web", "k8s:io.kubernetes.pod.namespace=x" };
static const struct bw_flow_kv fz_headers[] = { { ":authority", "10.1.0.5" },
						{ "user-agent", "curl/8" } };
static const struct bw_flow_http fz_http = {
	.code = 200, .method = "GET", .url = "http://10.1.0.5/public/a?x=1",
	.protocol = "HTTP/1.1", .headers = fz_headers, .n_headers = 2,
};
static const struct bw_flow_l7 fz_l7 = {
	.size = sizeof(struct bw_flow_l7), .type = BW_FLOW_L7_RESPONSE,
	.latency_ns = 1500000, .http = &fz_http,
};

static void
fz_flows(struct bw_flow f[2])
{
	memset(f, 0, 2 * sizeof(*f));
	for (int i = 0; i < 2; i++) {
		f[i].size = sizeof(f[i]);
		f[i].seq = (uint64_t)i + 1;
		f[i].time_ns = 1796000000123456789ull + (uint64_t)i;
		strcpy(f[i].uuid, "6f1d2c0e-8b7a-4c53-9d8e-2a41f7c3b915");
		f[i].node_name = "node.example";
		f[i].ip_version = 4;
		strcpy(f[i].src_ip, "10.1.0.2");
		strcpy(f[i].dst_ip, "10.1.0.5");
		f[i].src_addr[0] = f[i].dst_addr[0] = 10;
		f[i].src_addr[1] = f[i].dst_addr[1] = 1;
		f[i].src_addr[3] = 2;
		f[i].dst_addr[3] = 5;
		f[i].protocol = 6;
		f[i].src_port = 40000;
		f[i].dst_port = 80;
		f[i].destination.id = 12;
		f[i].destination.identity = 51920;
		f[i].destination.ns = "x";
		f[i].destination.pod_name = "w";
		f[i].destination.labels = fz_labels;
		f[i].destination.n_labels = 2;
		f[i].is_reply = -1;
		f[i].ifindex = 7;
		f[i].ifname = "lxcw";
	}
	f[0].verdict = BW_FLOW_VERDICT_DROPPED;
	f[0].type = BW_FLOW_TYPE_L3_L4;
	f[0].event_type = BW_FLOW_EVENT_DROP;
	f[0].drop_reason = 133;
	f[0].drop_reason_desc = "POLICY_DENIED";
	f[0].tcp_flags = BW_FLOW_TCP_SYN;
	f[0].traffic_direction = BW_FLOW_TRAFFIC_INGRESS;
	f[1].verdict = BW_FLOW_VERDICT_FORWARDED;
	f[1].type = BW_FLOW_TYPE_L7;
	f[1].event_type = BW_FLOW_EVENT_L7;
	f[1].is_reply = 1;
	f[1].l7 = &fz_l7;
}

/* Encode each sample flow with the mask; the bytes must decode again. */
static void
fz_encode(const struct hubble_mask *mask, int ext)
{
	struct bw_flow f[2];
	struct hubble_arena a = { 0 };

	fz_flows(f);
	for (int i = 0; i < 2; i++) {
		Flow__Flow msg;
		Flow__Flow *back;
		uint8_t *buf;
		size_t len;

		hubble_pb_flow(&f[i], ext, &a, &msg);
		hubble_mask_apply(mask, &msg.base);
		buf = hubble_pb_frame(&msg.base, &len);
		if (buf == NULL || len < 5)
			abort();
		back = flow__flow__unpack(NULL, len - 5, buf + 5);
		if (back == NULL)
			abort(); /* what we send must be a valid flow.Flow */
		flow__flow__free_unpacked(back, NULL);
		free(buf);
		hubble_arena_reset(&a);
	}
	hubble_arena_free(&a);
}

static void
fz_match(const struct bw_flowfilters *fs)
{
	struct bw_flow f[2];

	fz_flows(f);
	for (int i = 0; i < 2; i++) {
		int r = bw_flowfilters_match(fs, &f[i]);

		if (r != 0 && r != 1)
			abort();
	}
}

static void
fz_request(const uint8_t *p, size_t n)
{
	Observer__GetFlowsRequest *r = observer__get_flows_request__unpack(NULL, n, p);
	static struct hubble_ff_stats st;
	struct bw_flowfilters fs = { 0 };
	struct hubble_mask *mask = NULL;
	char err[512] = "";
	int ext;

	if (r == NULL)
		return;
	if (hubble_req_filters(r, &fs, &st, err, sizeof(err)) < 0) {
		if (err[0] == '\0' || fs.n_allow != 0 || fs.n_deny != 0)
			abort(); /* a refusal says why and keeps nothing */
	} else {
		fz_match(&fs);
		bw_flowfilters_clear(&fs);
	}
	err[0] = '\0';
	if (hubble_req_mask(r, &mask, err, sizeof(err)) < 0) {
		if (err[0] == '\0' || mask != NULL)
			abort();
	} else {
		ext = hubble_req_extensions(r);
		if (ext != 0 && ext != 1)
			abort();
		fz_encode(mask, ext || (mask != NULL && hubble_mask_has(mask, "extensions")));
		hubble_mask_free(mask);
	}
	observer__get_flows_request__free_unpacked(r, NULL);
}

static void
fz_filter(const uint8_t *p, size_t n)
{
	Flow__FlowFilter *ff = flow__flow_filter__unpack(NULL, n, p);
	struct bw_flowfilter *one = NULL;
	char err[512] = "";
	json_t *o;

	if (ff == NULL)
		return;
	o = hubble_pb_filter_json(ff, err, sizeof(err));
	flow__flow_filter__free_unpacked(ff, NULL);
	if (o == NULL) {
		if (err[0] == '\0')
			abort();
		return;
	}
	if (!json_is_object(o))
		abort();
	if (bw_flowfilter_parse(o, &one, err, sizeof(err)) == 0) {
		struct bw_flow f[2];

		fz_flows(f);
		(void)bw_flowfilter_match(one, &f[0]);
		(void)bw_flowfilter_match(one, &f[1]);
		bw_flowfilter_free(one);
	} else if (err[0] == '\0' || one != NULL) {
		abort();
	}
	json_decref(o);
}

static void
fz_mask(const char *s)
{
	char *copy = strdup(s), *save = NULL, *tok;
	char *paths[64];
	size_t n = 0;
	struct hubble_mask *m = NULL;
	char err[256] = "";

	if (copy == NULL)
		return;
	for (tok = strtok_r(copy, ",", &save); tok != NULL && n < 64;
	     tok = strtok_r(NULL, ",", &save))
		paths[n++] = tok;
	if (hubble_mask_parse(paths, n, &m, err, sizeof(err)) < 0) {
		if (err[0] == '\0' || m != NULL)
			abort();
	} else {
		if (n > 0 && m == NULL)
			abort();
		if (hubble_mask_key(m) == NULL)
			abort();
		fz_encode(m, 1);
		hubble_mask_free(m);
	}
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1)
		return 0;
	switch (data[0]) {
	case 'r':
		fz_request(data + 1, size - 1);
		return 0;
	case 'f':
		fz_filter(data + 1, size - 1);
		return 0;
	case 't':
	case 'm':
		break;
	default:
		return 0;
	}
	s = malloc(size);
	if (s == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] == 'm') {
		fz_mask(s);
	} else {
		int64_t ms = hubble_grpc_timeout_ms(s);
		size_t len = strlen(s), d = strspn(s, "0123456789");

		if (ms < -1)
			abort();
		/* accepted: 1-8 digits then one of H M S m u n, nothing more */
		if (ms >= 0 && !(d >= 1 && d <= 8 && len == d + 1 &&
				 strchr("HMSmun", s[d]) != NULL))
			abort();
	}
	free(s);
	return 0;
}
