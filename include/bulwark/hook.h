/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bulwark/hook.h - decision hooks: asking the rule scripts (Lua, core/lua/)
 * whether a DNS query, an HTTP request or a Kafka request that policy
 * allowed may go ahead.
 *
 * Who calls: the proxies, after their own policy check has allowed the
 * request (hooks only narrow what policy allows, never widen it). The DNS
 * proxy module calls through struct bw_core_api (hook_dns, ABI 1.2); the
 * core's L7 engine through core/module/hooks.h. Who answers: the Lua host,
 * which runs every enabled script's on_dns / on_http / on_kafka on its own
 * thread, so that a slow script never stalls the daemon's loop.
 *
 * The calling contract, the same for the three kinds:
 *
 *   rc = hook_http(ctx, &req, done, user_data, &ticket);
 *   rc == BW_HOOK_NONE     no script defines on_http: go ahead (allowed);
 *                          done is not called. Cheap: check it first with
 *                          hook_active() to skip building the request.
 *   rc == BW_HOOK_PENDING  done(result, user_data) will be called exactly
 *                          once, later, on the loop thread (never from
 *                          inside hook_http), unless hook_cancel(ticket)
 *                          is called first (a connection that went away).
 *   rc <  0                -ENOMEM / -EINVAL: treat as a deny.
 *
 * The request and everything it points to are copied before the call
 * returns. The result and what it points to are valid during done() only.
 *
 * A request is answered even when a script fails: a script error, an
 * instruction, memory or wall-clock overrun, or no answer within the
 * host's deadline gives the configured default ([lua] default_verdict,
 * deny unless changed) with result->fallback set.
 *
 * C99, self-contained (no other bulwark header needed).
 */
#ifndef BULWARK_HOOK_H
#define BULWARK_HOOK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Which decision hooks some enabled script defines (hook_active()). */
#define BW_HOOK_F_DNS (1u << 0)
#define BW_HOOK_F_HTTP (1u << 1)
#define BW_HOOK_F_KAFKA (1u << 2)

/* Return values of the hook calls (besides a negative errno). */
#define BW_HOOK_PENDING 0 /* done() will be called */
#define BW_HOOK_NONE 1    /* no script hooks this: allowed, no done() */

/*
 * One side of a request. Fill what you know; at least ip. When ns is NULL
 * and identity 0, the host completes namespace, pod, labels and identity
 * from ip (a local endpoint, or the ipcache's identity for other peers).
 */
struct bw_hook_peer {
	const char *ns;             /* Kubernetes namespace, NULL: not known */
	const char *pod;            /* pod name, NULL: not a local pod */
	const char *const *labels;  /* "source:key=value", sorted; may be NULL */
	uint32_t n_labels;
	uint32_t identity;          /* security identity, 0: not known */
	const char *ip;             /* address as text ("10.1.0.2", "fd00::2") */
	uint16_t port;              /* host order, 0 when none */
};

/* An HTTP header (names are compared case-insensitively). */
struct bw_hook_header {
	const char *name;
	const char *value;
};

/* on_dns(q): one DNS question, before it is forwarded. */
struct bw_hook_dns {
	size_t size;                /* sizeof(struct bw_hook_dns) */
	const char *name;           /* query name, e.g. "www.example.com" (the
				     * host lower-cases it and drops a final '.') */
	uint16_t qtype;             /* RR type number (1 A, 28 AAAA, ...) */
	struct bw_hook_peer source;      /* the pod asking */
	struct bw_hook_peer destination; /* the DNS server it asked (ip, port) */
};

/* on_http(req): one HTTP request, before it is forwarded. */
struct bw_hook_http {
	size_t size;                /* sizeof(struct bw_hook_http) */
	const char *method;         /* "GET" */
	const char *path;           /* request target as sent: "/a/b?x=1" */
	const char *host;           /* Host header (or :authority), NULL: none */
	const struct bw_hook_header *headers; /* as received, in order */
	uint32_t n_headers;
	struct bw_hook_peer source;
	struct bw_hook_peer destination;
};

/* on_kafka(req): one Kafka request, before it is forwarded. */
struct bw_hook_kafka {
	size_t size;                /* sizeof(struct bw_hook_kafka) */
	uint16_t api_key;           /* Kafka API key (0 produce, 1 fetch, ...) */
	uint16_t api_version;
	int32_t correlation_id;
	const char *client_id;      /* NULL when absent */
	const char *const *topics;  /* topics the request names */
	uint32_t n_topics;
	struct bw_hook_peer source;
	struct bw_hook_peer destination;
};

enum bw_hook_verdict {
	BW_HOOK_ALLOW = 1,
	BW_HOOK_DENY = 2,
};

/* The answer, valid during done() only. */
struct bw_hook_result {
	size_t size;                /* sizeof(struct bw_hook_result) as the daemon knows it */
	enum bw_hook_verdict verdict;
	/*
	 * A deny: the script that denied (its file name without ".lua"), the
	 * hook ("on_http") and the reason it gave (may be NULL). With
	 * fallback, reason says what failed ("script error: ...").
	 */
	const char *script;
	const char *hook;
	const char *reason;
	int fallback;               /* 1: [lua] default_verdict was applied */
	/*
	 * HTTP, allowed requests only: headers to set (replacing every header
	 * of that name, or adding it) and header names to remove, before the
	 * request is forwarded. Names are lower-case.
	 */
	const struct bw_hook_header *set_headers;
	uint32_t n_set_headers;
	const char *const *remove_headers;
	uint32_t n_remove_headers;
	/*
	 * What the request's L7 flow should carry under "extensions" (a JSON
	 * object text, e.g. {"lua":{"script":"x","hook":"on_http",
	 * "verdict":"deny","reason":"..."}}), or NULL: put it in
	 * struct bw_flow.extensions_json.
	 */
	const char *extensions_json;
};

typedef void (*bw_hook_done_fn)(const struct bw_hook_result *res,
				void *user_data);

#ifdef __cplusplus
}
#endif

#endif /* BULWARK_HOOK_H */
