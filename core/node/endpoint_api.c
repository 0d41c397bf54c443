/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/node/endpoint_api.c - the control API routes of endpoints and
 * namespaces (docs/internals.md): POST/GET /v1/endpoints,
 * GET/PUT/DELETE /v1/endpoints/NS/POD, GET /v1/namespaces,
 * PUT /v1/namespaces/NS. Errors are {"error": ...} with 400 (bad input),
 * 404 (unknown endpoint), 409 (conflict) or 500; nothing changes on error.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/api.h"
#include "core/node/endpoint.h"
#include "core/log.h"

/* "/v1/endpoints/NS/POD" -> ns, pod (in buf). */
static int endpoint_path_split(const char *path, const char *prefix, char *buf,
			       size_t len, char **ns, char **pod)
{
	const char *rest = path + strlen(prefix);
	char *slash;

	if (strlen(rest) >= len)
		return -EINVAL;
	snprintf(buf, len, "%s", rest);
	slash = strchr(buf, '/');
	if (pod) {
		if (!slash || slash == buf || !slash[1] || strchr(slash + 1, '/'))
			return -EINVAL;
		*slash = '\0';
		*pod = slash + 1;
	} else if (slash || !*buf) {
		return -EINVAL;
	}
	*ns = buf;
	return 0;
}

static int endpoint_reply_rc(struct bw_api_request *req, int rc, const char *err)
{
	return bw_api_reply_error(req, bw_endpoint_http_status(rc), "%s",
				  *err ? err : strerror(-rc));
}

static int endpoint_api_list_cb(struct bw_endpoint *ep, void *arg)
{
	json_array_append_new((json_t *)arg, bw_endpoint_to_json(ep));
	return 0;
}

static int endpoint_api_list(struct bw_api_request *req, void *arg)
{
	json_t *a = json_array();

	if (!a)
		return -ENOMEM;
	bw_endpoint_foreach(endpoint_api_list_cb, a);
	return bw_api_reply_json(req, 200, json_pack("{s:o}", "endpoints", a));
}

static int endpoint_api_add(struct bw_api_request *req, void *arg)
{
	json_t *body = bw_api_req_json(req);
	struct bw_endpoint *ep = NULL;
	char err[512] = "";
	int rc;

	if (!body)
		return 0;
	rc = bw_endpoint_add(body, &ep, err, sizeof(err));
	json_decref(body);
	if (rc < 0)
		return endpoint_reply_rc(req, rc, err);
	return bw_api_reply_json(req, 201, bw_endpoint_to_json(ep));
}

static int endpoint_api_one(struct bw_api_request *req, void *arg)
{
	const char *method = bw_api_req_method(req);
	char buf[512], err[512] = "";
	char *ns, *pod;
	json_t *body;
	int rc;

	if (endpoint_path_split(bw_api_req_path(req), "/v1/endpoints/", buf, sizeof(buf),
				&ns, &pod) < 0)
		return bw_api_reply_error(req, 404,
					  "expected /v1/endpoints/NAMESPACE/POD, got %s",
					  bw_api_req_path(req));
	if (strcmp(method, "GET") == 0) {
		struct bw_endpoint *ep = bw_endpoint_find(ns, pod);

		if (!ep)
			return bw_api_reply_error(req, 404, "no endpoint %s/%s", ns, pod);
		return bw_api_reply_json(req, 200, bw_endpoint_to_json(ep));
	}
	if (strcmp(method, "DELETE") == 0) {
		struct bw_endpoint *ep = bw_endpoint_find(ns, pod);
		uint32_t id = ep ? bw_endpoint_id(ep) : 0;

		rc = bw_endpoint_delete(ns, pod, err, sizeof(err));
		if (rc < 0)
			return endpoint_reply_rc(req, rc, err);
		return bw_api_reply_json(req, 200, json_pack("{s:I, s:s, s:s}", "id",
							     (json_int_t)id, "namespace", ns,
							     "pod", pod));
	}
	body = bw_api_req_json(req);
	if (!body)
		return 0;
	rc = bw_endpoint_update(ns, pod, body, err, sizeof(err));
	json_decref(body);
	if (rc < 0)
		return endpoint_reply_rc(req, rc, err);
	return bw_api_reply_json(req, 200, bw_endpoint_to_json(bw_endpoint_find(ns, pod)));
}

static int endpoint_api_ns_list(struct bw_api_request *req, void *arg)
{
	json_t *a = bw_namespaces_to_json();

	if (!a)
		return -ENOMEM;
	return bw_api_reply_json(req, 200, json_pack("{s:o}", "namespaces", a));
}

static int endpoint_api_ns_set(struct bw_api_request *req, void *arg)
{
	char buf[512], err[512] = "";
	char *ns;
	json_t *body;
	int rc;

	if (endpoint_path_split(bw_api_req_path(req), "/v1/namespaces/", buf, sizeof(buf),
				&ns, NULL) < 0)
		return bw_api_reply_error(req, 404, "expected /v1/namespaces/NAMESPACE, got %s",
					  bw_api_req_path(req));
	body = bw_api_req_json(req);
	if (!body)
		return 0;
	rc = bw_namespace_set(ns, body, err, sizeof(err));
	json_decref(body);
	if (rc < 0)
		return endpoint_reply_rc(req, rc, err);
	return bw_api_reply_json(req, 200, bw_namespace_to_json(ns));
}

int bw_endpoint_init(void)
{
	static const struct {
		const char *method, *path;
		bw_api_fn fn;
	} routes[] = {
		{ "GET", "/v1/endpoints", endpoint_api_list },
		{ "POST", "/v1/endpoints", endpoint_api_add },
		{ "GET", "/v1/endpoints/", endpoint_api_one },
		{ "PUT", "/v1/endpoints/", endpoint_api_one },
		{ "DELETE", "/v1/endpoints/", endpoint_api_one },
		{ "GET", "/v1/namespaces", endpoint_api_ns_list },
		{ "PUT", "/v1/namespaces/", endpoint_api_ns_set },
	};

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		int rc = bw_api_route_add(routes[i].method, routes[i].path, routes[i].fn,
					  NULL);

		if (rc < 0 && rc != -EEXIST) {
			bw_err_errno(rc, "endpoint: cannot register %s %s",
				     routes[i].method, routes[i].path);
			return rc;
		}
	}
	return 0;
}
