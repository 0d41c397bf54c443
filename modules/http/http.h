/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/http/http.h - what the files of the http module share: its
 * config and instance state.
 */
#ifndef BW_HTTP_H
#define BW_HTTP_H

#include <stdint.h>

#include <bulwark/module.h>

#include "http_parse.h"

/* [http] keys (modules/http/README.md) */
struct http_conf {
	char *headers_allow;   /* flow_headers_allow */
	int flow_headers;
	int redact_query;      /* redact_url_query */
	char *allow_upgrade;
	int64_t max_pipeline;
};

/* One instance. The loop is single threaded, so one parsed message and
 * one scratch area serve every connection in turn. */
struct http_mod {
	const struct bw_core_api *api;
	bw_module_ctx *ctx;
	const struct http_conf *conf;
	struct http_msg msg;
	char *scratch;         /* strings of the record being built */
	size_t scratch_len, scratch_cap;
};

#endif /* BW_HTTP_H */
