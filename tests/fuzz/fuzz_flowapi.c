/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_flowapi.c - the /v1/flows request (core/flow/flowapi.c)
 * as a client sends it: the first line of the bytes is the query string
 * (number, first, follow, since, until, ...), the rest the JSON body
 * (whitelist and blacklist FlowFilters), run through the route with
 * bw_api_local_call() over a ring holding a few flows. Every answer must be
 * a JSON refusal (4xx with "error") or a stream of JSON objects; a stream
 * that follows is cancelled as a client that goes away.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "core/api.h"
#include "core/flow/flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct event_base *fz_base;

static void
fz_answer(enum bw_api_call_event ev, int status, const char *text, size_t len,
	  void *arg)
{
	json_t *doc;

	(void)arg;
	if (ev != BW_API_CALL_REPLY && ev != BW_API_CALL_STREAM_LINE)
		return;
	doc = json_loadb(text, len, 0, NULL);
	if (!json_is_object(doc))
		abort(); /* every answer is JSON */
	if (ev == BW_API_CALL_REPLY &&
	    (status < 400 || status > 499 ||
	     !json_is_string(json_object_get(doc, "error"))))
		abort(); /* a plain reply here is a refusal that says why */
	json_decref(doc);
}

static void
fz_setup(void)
{
	struct bw_flow f;

	fz_base = event_base_new();
	if (fz_base == NULL || bw_flow_ring_init(16) < 0)
		abort();
	bw_flow_set_node_name("node-1");
	for (int i = 0; i < 3; i++) {
		memset(&f, 0, sizeof(f));
		f.type = BW_FLOW_TYPE_L3_L4;
		f.is_reply = -1;
		f.src_port = (uint16_t)(40000 + i);
		f.dst_port = 80;
		f.source.ns = "x";
		f.source.pod_name = i == 0 ? "a" : "b";
		if (bw_flow_publish(&f) < 0)
			abort();
	}
	if (bw_flowapi_init(fz_base) < 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t qlen = nl != NULL ? (size_t)(nl - (const char *)data) : size;
	char *target;
	struct bw_api_request *handle = NULL;

	if (fz_base == NULL)
		fz_setup();
	if (qlen > 8192)
		qlen = 8192;
	target = malloc(qlen + 16);
	if (target == NULL)
		return 0;
	memcpy(target, "/v1/flows?", 10);
	memcpy(target + 10, data, qlen);
	target[10 + qlen] = '\0';
	if (memchr(data, '\0', qlen) == NULL) { /* a target is a C string */
		const char *body = nl != NULL ? nl + 1 : "";
		size_t blen = nl != NULL ? size - qlen - 1 : 0;

		if (bw_api_local_call("GET", target, body, blen, fz_answer, NULL,
				      &handle) == 0 &&
		    handle != NULL)
			bw_api_local_cancel(handle);
		event_base_loop(fz_base, EVLOOP_NONBLOCK);
	}
	free(target);
	return 0;
}
