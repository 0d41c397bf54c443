/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/lua/luaproxy.c - on_http and on_kafka for the L7 proxy engine.
 *
 * The engine (core/proxy/) asks its request hooks synchronously: a
 * parser records a request with l7_record() and acts on the verdict it
 * returns in the same call. So this hook turns the engine's request (the
 * parser's l7 record and the connection's addresses) into the on_http /
 * on_kafka request, hands it to the bw-lua thread and waits for the
 * answer, at most [lua] decision_timeout (then [lua] default_verdict
 * applies). While it waits it runs the host calls the scripts make
 * (bulwark.endpoint(), ...), so they cannot deadlock the wait. A denial
 * names the script in the flow: extensions.verdict_by is
 * {"by": "lua", "reason": "SCRIPT: REASON"}.
 *
 * The asynchronous interface (core/module/hooks.h) serves the DNS proxy
 * module; both end in the same worker code.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/lua/lua_int.h"
#include "core/proxy/proxy.h"

#define LP_HEADERS_MAX 128

/* "http://host:port/path?q" -> host "host:port", path "/path?q". */
static void
lp_split_url(const char *url, char *host, size_t hlen, const char **path)
{
	const char *p = url, *slash;

	host[0] = '\0';
	*path = url;
	if (url == NULL) {
		*path = "/";
		return;
	}
	if (strncasecmp(p, "http://", 7) == 0)
		p += 7;
	else if (strncasecmp(p, "https://", 8) == 0)
		p += 8;
	else
		return; /* already a path (origin form) */
	slash = strchr(p, '/');
	snprintf(host, hlen, "%.*s", (int)(slash ? slash - p : (long)strlen(p)), p);
	*path = slash != NULL ? slash : "/";
}

static void
lp_peer(struct bw_hook_peer *peer, char *buf, size_t len, int family,
	const uint8_t *addr, uint16_t port)
{
	inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, buf, (socklen_t)len);
	peer->ip = buf;
	peer->port = port;
}

static int
lp_kafka_key(const char *name)
{
	for (unsigned k = 0; name != NULL && k < 64; k++) {
		const char *n = bw_luac_kafka_api_name(k);

		if (n == NULL)
			break;
		if (strcasecmp(n, name) == 0)
			return (int)k;
	}
	return -1;
}

static int
lp_hook(const struct bw_proxy_request *req, void *arg, char *reason,
	size_t reasonlen)
{
	unsigned dec = __atomic_load_n(&lh.deciding, __ATOMIC_ACQUIRE);
	const struct bw_flow_l7 *l7 = req->l7;
	const struct bw_l7_conn_info *ci = req->conn;
	struct bw_hook_header hdr[LP_HEADERS_MAX];
	struct bw_hook_peer src, dst;
	char sip[64], dip[64], host[256];
	struct lh_dec *d;
	int hook, rc, deny;

	if (l7 == NULL || ci == NULL)
		return BW_FLOW_VERDICT_FORWARDED;
	if (BW_FLOW_L7_HAS(l7, http) && l7->http != NULL)
		hook = BW_LUA_ON_HTTP;
	else if (BW_FLOW_L7_HAS(l7, kafka) && l7->kafka != NULL)
		hook = BW_LUA_ON_KAFKA;
	else
		return BW_FLOW_VERDICT_FORWARDED; /* no script hook for it */
	if (!(dec & (1u << hook)))
		return BW_FLOW_VERDICT_FORWARDED;
	memset(&src, 0, sizeof(src));
	memset(&dst, 0, sizeof(dst));
	lp_peer(&src, sip, sizeof(sip), ci->ip_version, ci->client_addr, ci->client_port);
	lp_peer(&dst, dip, sizeof(dip), ci->ip_version, ci->server_addr, ci->server_port);
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		goto fallback;
	d->hook = hook;
	if (hook == BW_LUA_ON_HTTP) {
		struct bw_hook_http r;
		const char *path;
		uint32_t n = 0;

		memset(&r, 0, sizeof(r));
		r.size = sizeof(r);
		r.method = l7->http->method != NULL ? l7->http->method : "";
		lp_split_url(l7->http->url, host, sizeof(host), &path);
		r.path = path;
		for (uint32_t i = 0; i < l7->http->n_headers && n < LP_HEADERS_MAX; i++) {
			hdr[n].name = l7->http->headers[i].key;
			hdr[n].value = l7->http->headers[i].value;
			if (hdr[n].name == NULL || hdr[n].value == NULL)
				continue;
			if (strcasecmp(hdr[n].name, "host") == 0 && host[0] == '\0')
				snprintf(host, sizeof(host), "%s", hdr[n].value);
			n++;
		}
		r.host = host[0] != '\0' ? host : NULL;
		r.headers = hdr;
		r.n_headers = n;
		r.source = src;
		r.destination = dst;
		rc = bw_luac_copy_http(d, &r);
	} else {
		struct bw_hook_kafka k;
		const char *topic = l7->kafka->topic;
		int key = lp_kafka_key(l7->kafka->api_key);

		memset(&k, 0, sizeof(k));
		k.size = sizeof(k);
		k.api_key = key >= 0 ? (uint16_t)key : 0xffff;
		k.api_version = (uint16_t)l7->kafka->api_version;
		k.correlation_id = l7->kafka->correlation_id;
		k.topics = topic != NULL && *topic ? &topic : NULL;
		k.n_topics = topic != NULL && *topic ? 1 : 0;
		k.source = src;
		k.destination = dst;
		rc = bw_luac_copy_kafka(d, &k);
	}
	if (rc < 0) {
		free(d->arena);
		free(d);
		goto fallback;
	}
	if (bw_luaw_decide_sync(d) < 0) {
		snprintf(reason, reasonlen, "no answer from the scripts within "
			 "decision_timeout");
		goto fallback_noreason;
	}
	if (d->res.verdict == BW_HOOK_DENY) {
		snprintf(reason, reasonlen, "%s: %s", d->script[0] ? d->script : "?",
			 d->reason[0] ? d->reason : "denied");
		bw_luaw_dec_free(d);
		return BW_FLOW_VERDICT_DROPPED;
	}
	bw_luaw_dec_free(d);
	return BW_FLOW_VERDICT_FORWARDED;
fallback:
	snprintf(reason, reasonlen, "out of memory");
fallback_noreason:
	pthread_mutex_lock(&lh.mu);
	deny = lh.lim.default_deny;
	pthread_mutex_unlock(&lh.mu);
	return deny ? BW_FLOW_VERDICT_DROPPED : BW_FLOW_VERDICT_FORWARDED;
}

int
bw_luaproxy_init(void)
{
	return bw_proxy_hook_add("lua", lp_hook, NULL);
}

void
bw_luaproxy_fini(void)
{
	bw_proxy_hook_remove(lp_hook, NULL);
}
