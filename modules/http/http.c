/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/http/http.c - HTTP/1.1 for the L7 proxy engine: CiliumNetworkPolicy
 * `rules.http` enforced on every request, Hubble's l7.http flows for every
 * request and response.
 *
 * Per connection, requests are read one after the other (keep-alive,
 * pipelining) and queued until their response has gone back: a response
 * belongs to the oldest outstanding request. A request the rules allow is
 * forwarded at once; one they deny is dropped (with its body) and answered
 * with 403 "Access denied" when its turn comes, i.e. right after the
 * responses of the requests before it, so a pipelining client gets its
 * answers in order. The same queue carries our other answers: 400 for a
 * malformed or smuggling request (then the connection closes, as nothing
 * after it can be framed safely), 417, 505, and the request/response
 * pairing for flows and latencies.
 *
 * Bodies are framed, never buffered: Content-Length bodies pass (or are
 * dropped) as they arrive without the parser looking at them, chunked
 * bodies are followed chunk by chunk (http_parse.c checks every size line
 * and CRLF), and responses without a length run to the server's FIN.
 * Upgrades (WebSocket, h2c, CONNECT) are refused with 403 unless [http]
 * allow_upgrade names the protocol; a permitted one turns the connection
 * into a tunnel once the server answers 101 (or 2xx to CONNECT).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bulwark/hook.h>
#include <bulwark/l7.h>
#include <bulwark/module.h>

#include "http.h"
#include "http_parse.h"
#include "http_rules.h"

/* ---- configuration ------------------------------------------------------------ */

static const struct bw_conf_key http_keys[] = {
	{ "flow_headers_allow", BW_CONF_STRING,
	  "accept,content-length,content-type,user-agent,x-request-id",
	  offsetof(struct http_conf, headers_allow), 0, 0, NULL, BW_CONF_F_RELOADABLE,
	  "header names whose values flows show; other values are HUBBLE_REDACTED (\"*\": all, \"\": none)" },
	{ "flow_headers", BW_CONF_BOOL, "true", offsetof(struct http_conf, flow_headers),
	  0, 0, NULL, BW_CONF_F_RELOADABLE, "flows list the request's and response's headers" },
	{ "redact_url_query", BW_CONF_BOOL, "false", offsetof(struct http_conf, redact_query),
	  0, 0, NULL, BW_CONF_F_RELOADABLE, "leave the query out of flow URLs (Hubble's redact-http-urlquery)" },
	{ "allow_upgrade", BW_CONF_STRING, "", offsetof(struct http_conf, allow_upgrade),
	  0, 0, NULL, BW_CONF_F_RELOADABLE,
	  "protocols a request may upgrade to, e.g. \"websocket\" (\"connect\" for CONNECT); others get 403" },
	{ "max_pipeline", BW_CONF_INT, "32", offsetof(struct http_conf, max_pipeline),
	  1, 1024, NULL, BW_CONF_F_RELOADABLE,
	  "requests of one connection waiting for their responses before reading more" },
	BW_CONF_KEY_END,
};

/* ---- a connection ---------------------------------------------------------------- */

enum { RQ_HEAD, RQ_BODY_CL, RQ_BODY_CHUNKED, RQ_AWAIT, RQ_TUNNEL };
enum { RS_HEAD, RS_BODY_LEN, RS_BODY_CHUNKED, RS_BODY_CLOSE, RS_TUNNEL };

/* A request whose answer has not gone back yet. */
struct http_pending {
	struct http_pending *next;
	uint64_t start_ns;
	unsigned local;        /* our answer (403, 400, ...) instead of the server's */
	unsigned version;      /* 10 or 11 */
	uint8_t close_after;   /* close the connection after our answer */
	uint8_t head;          /* HEAD: the response has no body */
	uint8_t upgrade;       /* a permitted upgrade (or CONNECT) */
	uint8_t connect;
	char *method, *url;    /* in the same allocation */
};

/* A decision hook's answer about the request at the head of the stream. */
enum { HOOK_NONE, HOOK_PENDING, HOOK_ANSWERED };

struct http_hook {
	int state;
	uint64_t ticket;
	int deny;
	char *extensions_json;
	struct http_edit *edits;  /* set_headers / remove_headers of an allow */
	size_t n_edits;
};

/* One change to a request head before it is forwarded. */
enum { EDIT_REMOVE, EDIT_SET, EDIT_ADD };

struct http_edit {
	int op;
	char *name;
	char *value;
};

struct http_conn {
	struct http_mod *mod;
	bw_l7_conn *conn;
	const struct bw_l7_conn_info *info;
	uint8_t rq, rs;
	uint8_t rq_drop;       /* the body being read belongs to a denied request */
	uint8_t crlf;          /* empty lines skipped before a request */
	uint8_t stop;          /* a closing answer is decided: read no more requests */
	uint8_t injected;      /* something was injected in this call */
	uint64_t rq_left;      /* RQ_BODY_CL: body bytes after a rewritten head */
	size_t rq_scan, rs_scan;
	struct http_chunked rq_ch, rs_ch;
	struct http_pending *q, *q_tail;
	unsigned q_len;
	struct http_hook hook;  /* the decision hook asked about the request at hand */
};

static const struct bw_core_api *http_api;

/* ---- small helpers ------------------------------------------------------------------ */

static int
http_list_has(const char *list, const char *s, size_t n)
{
	const char *p = list;

	if (list == NULL)
		return 0;
	while (*p != '\0') {
		size_t k;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		k = strcspn(p, ", \t");
		if (k == 1 && *p == '*')
			return 1;
		if (k == n && k > 0 && strncasecmp(p, s, n) == 0)
			return 1;
		p += k;
	}
	return 0;
}

/*
 * Scratch text for one record (flows are copied when published): begin a
 * record with room for need bytes, then take pieces. A piece that does not
 * fit is refused (NULL) rather than moving what earlier pieces point to.
 */
static void
http_scratch_begin(struct http_mod *m, size_t need)
{
	m->scratch_len = 0;
	if (need > m->scratch_cap) {
		char *p = realloc(m->scratch, need);

		if (p != NULL) {
			m->scratch = p;
			m->scratch_cap = need;
		}
	}
}

static char *
http_scratch(struct http_mod *m, size_t n)
{
	char *p;

	if (m->scratch == NULL || m->scratch_len + n > m->scratch_cap)
		return NULL;
	p = m->scratch + m->scratch_len;
	m->scratch_len += n;
	return p;
}

static const char *
http_sdup(struct http_mod *m, const char *s, size_t n)
{
	char *p = http_scratch(m, n + 1);

	if (p == NULL)
		return "";
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static const char *
http_protocol(unsigned version)
{
	return version == 10 ? "HTTP/1.0" : "HTTP/1.1";
}

/* ---- requests: what the rules and flows see ------------------------------------------ */

struct http_target {
	const char *path, *host;
	size_t path_len, host_len;
	int absolute;
};

/* The path and host of a request (RFC 9112 3.2: absolute-form carries both). */
static void
http_target_split(const struct http_msg *msg, struct http_target *t)
{
	const char *s = msg->target, *e = msg->target + msg->target_len, *a, *slash;

	memset(t, 0, sizeof(*t));
	t->path = s;
	t->path_len = msg->target_len;
	if (msg->host >= 0) {
		t->host = msg->field[msg->host].value;
		t->host_len = msg->field[msg->host].value_len;
	}
	a = memchr(s, ':', msg->target_len);
	if (*s == '/' || *s == '*' || a == NULL || e - a < 3 || a[1] != '/' || a[2] != '/')
		return;
	/* scheme://[userinfo@]authority/path?query */
	t->absolute = 1;
	a += 3;
	slash = a;
	while (slash < e && *slash != '/' && *slash != '?')
		slash++;
	for (const char *at = a; at < slash; at++)
		if (*at == '@')
			a = at + 1;
	t->host = a;
	t->host_len = (size_t)(slash - a);
	t->path = slash < e ? slash : "/";
	t->path_len = slash < e ? (size_t)(e - slash) : 1;
}

/* Hubble's url: http://authority/target, the password and (if asked) the
 * query redacted. */
static const char *
http_url(struct http_conn *hc, const struct http_msg *msg,
	 const struct http_target *t)
{
	struct http_mod *m = hc->mod;
	char addr[64] = "";
	const char *src = msg->target, *q;
	size_t n = msg->target_len, hostn = t->host_len, len;
	char *out, *o;

	if (!t->absolute && hostn == 0) {
		/* no Host (HTTP/1.0): the server's address */
		const uint8_t *a = hc->info->server_addr;

		if (hc->info->ip_version == 4)
			snprintf(addr, sizeof(addr), "%u.%u.%u.%u:%u", a[0], a[1], a[2],
				 a[3], hc->info->server_port);
		else
			snprintf(addr, sizeof(addr), "[ipv6]:%u", hc->info->server_port);
	}
	if (m->conf->redact_query && (q = memchr(src, '?', n)) != NULL)
		n = (size_t)(q - src);
	len = n + hostn + strlen(addr) + 32 + sizeof(BW_L7_REDACTED);
	if ((out = http_scratch(m, len)) == NULL)
		return "";
	o = out;
	if (t->absolute) {
		const char *a = (const char *)memchr(src, ':', n) + 3, *at = NULL, *colon;

		for (const char *p = a; p < t->host; p++)
			if (*p == '@')
				at = p;
		colon = at != NULL ? memchr(a, ':', (size_t)(at - a)) : NULL;
		if (colon != NULL) { /* user:password@ */
			memcpy(o, src, (size_t)(colon + 1 - src));
			o += colon + 1 - src;
			memcpy(o, BW_L7_REDACTED, strlen(BW_L7_REDACTED));
			o += strlen(BW_L7_REDACTED);
			memcpy(o, at, (size_t)(src + n - at));
			o += src + n - at;
		} else {
			memcpy(o, src, n);
			o += n;
		}
	} else {
		o += sprintf(o, "http://");
		if (hostn > 0) {
			memcpy(o, t->host, hostn);
			o += hostn;
		} else {
			o += sprintf(o, "%s", addr);
		}
		if (*src == '/') {
			memcpy(o, src, n);
			o += n;
		}
	}
	*o = '\0';
	return out;
}

/* The headers of a message for a flow: names lower-cased, Host as
 * :authority, values redacted unless allowed. */
static void
http_flow_headers(struct http_mod *m, const struct http_msg *msg,
		  struct bw_flow_http *h)
{
	struct bw_flow_kv *kv;

	h->headers = NULL;
	h->n_headers = 0;
	if (!m->conf->flow_headers || msg->n_fields == 0)
		return;
	kv = (struct bw_flow_kv *)http_scratch(m, msg->n_fields * sizeof(*kv) +
						      _Alignof(struct bw_flow_kv));
	if (kv == NULL)
		return;
	kv = (struct bw_flow_kv *)(((uintptr_t)kv + _Alignof(struct bw_flow_kv) - 1) &
				   ~(uintptr_t)(_Alignof(struct bw_flow_kv) - 1));
	for (unsigned i = 0; i < msg->n_fields; i++) {
		const struct http_field *f = &msg->field[i];
		char *name;
		int allowed = http_list_has(m->conf->headers_allow, f->name, f->name_len);

		if (http_name_is(f, "host")) {
			kv[i].key = ":authority";
		} else {
			name = (char *)http_sdup(m, f->name, f->name_len);
			for (char *c = name; *c != '\0'; c++)
				if (*c >= 'A' && *c <= 'Z')
					*c = (char)(*c - 'A' + 'a');
			kv[i].key = name;
		}
		kv[i].value = allowed || http_name_is(f, "host")
				      ? http_sdup(m, f->value, f->value_len)
				      : BW_L7_REDACTED;
	}
	h->headers = kv;
	h->n_headers = msg->n_fields;
}

/* ---- our answers ------------------------------------------------------------------- */

static const char *
http_reason(unsigned status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 408: return "Request Timeout";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	}
	return "Error";
}

static const char *
http_body(unsigned status)
{
	switch (status) {
	case 403: return "Access denied\r\n"; /* Envoy's, as Cilium users see it */
	case 503: return "upstream connect error\r\n";
	}
	return "";
}

static void
http_answer(struct http_conn *hc, unsigned status, int close)
{
	char buf[512];
	const char *body = http_body(status);
	int n;

	if (*body == '\0')
		body = NULL;
	n = snprintf(buf, sizeof(buf),
		     "HTTP/1.1 %u %s\r\n"
		     "content-length: %zu\r\n"
		     "content-type: text/plain\r\n"
		     "%s"
		     "server: bulwark\r\n"
		     "\r\n%s",
		     status, http_reason(status), body != NULL ? strlen(body) : 0,
		     close ? "connection: close\r\n" : "", body != NULL ? body : "");
	http_api->l7_inject(hc->conn, BW_L7_DIR_REPLY, buf, (size_t)n);
	hc->injected = 1;
}

/* ---- the queue of outstanding requests ------------------------------------------------- */

static struct http_pending *
http_enqueue(struct http_conn *hc, const char *method, const char *url,
	     uint64_t now)
{
	size_t ml = strlen(method), ul = strlen(url);
	struct http_pending *p = calloc(1, sizeof(*p) + ml + ul + 2);

	if (p == NULL)
		return NULL;
	p->method = (char *)(p + 1);
	memcpy(p->method, method, ml + 1);
	p->url = p->method + ml + 1;
	memcpy(p->url, url, ul + 1);
	p->start_ns = now;
	p->version = 11;
	if (hc->q_tail != NULL)
		hc->q_tail->next = p;
	else
		hc->q = p;
	hc->q_tail = p;
	hc->q_len++;
	return p;
}

static void
http_pop(struct http_conn *hc)
{
	struct http_pending *p = hc->q;

	if (p == NULL)
		return;
	hc->q = p->next;
	if (hc->q == NULL)
		hc->q_tail = NULL;
	hc->q_len--;
	free(p);
}

/*
 * Answer the requests at the head of the queue that we answer ourselves;
 * returns 1 when one of them closes the connection.
 */
static int
http_flush_answers(struct http_conn *hc)
{
	while (hc->q != NULL && hc->q->local != 0) {
		int close = hc->q->close_after;

		http_answer(hc, hc->q->local, close);
		http_pop(hc);
		if (close)
			return 1;
	}
	return 0;
}

/* ---- flows ---------------------------------------------------------------------------- */

static void
http_record_request(struct http_conn *hc, const struct http_msg *msg,
		    const char *method, const char *url, int verdict, int rule,
		    const char *note, const char *by, const char *reason,
		    const char *extensions)
{
	struct bw_flow_http h = { 0 };
	struct bw_flow_kv field = { "header_mismatch", note };
	struct bw_flow_l7 l7 = { .size = sizeof(l7), .type = BW_FLOW_L7_REQUEST };
	struct bw_l7_record rec = {
		.size = sizeof(rec), .l7 = &l7, .verdict = verdict, .rule = rule,
		.verdict_by = by, .verdict_reason = reason,
		.extensions_json = extensions,
	};

	h.method = method;
	h.url = url;
	h.protocol = http_protocol(msg != NULL ? msg->version : 11);
	if (msg != NULL)
		http_flow_headers(hc->mod, msg, &h);
	l7.http = &h;
	if (note != NULL) {
		l7.fields = &field;
		l7.n_fields = 1;
	}
	http_api->l7_record(hc->conn, &rec);
}

static void
http_record_response(struct http_conn *hc, const struct http_msg *msg,
		     const struct http_pending *p, uint64_t now)
{
	struct bw_flow_http h = { 0 };
	struct bw_flow_l7 l7 = { .size = sizeof(l7), .type = BW_FLOW_L7_RESPONSE };

	h.code = msg->status;
	h.method = p->method;
	h.url = p->url;
	h.protocol = http_protocol(msg->version);
	http_flow_headers(hc->mod, msg, &h);
	l7.http = &h;
	l7.latency_ns = now > p->start_ns ? now - p->start_ns : 0;
	http_api->l7_record(hc->conn, &(struct bw_l7_record){
		.size = sizeof(struct bw_l7_record), .l7 = &l7,
		.verdict = BW_FLOW_VERDICT_FORWARDED, .rule = -1 });
}

/* ---- requests ------------------------------------------------------------------------- */

/*
 * We answer this request ourselves (status). When nothing is outstanding
 * the answer goes now; otherwise after the responses before it.
 */
static int
http_refuse(struct http_conn *hc, const struct bw_l7_input *in, unsigned status,
	    int close, const char *method, const char *url, size_t *n)
{
	struct http_pending *p = http_enqueue(hc, method, url, in->now_ns);

	if (p == NULL)
		return -ENOMEM;
	p->local = status;
	p->close_after = (uint8_t)close;
	if (close)
		hc->stop = 1;
	if (hc->q == p && http_flush_answers(hc)) {
		*n = 0;
		return BW_L7_CLOSE;
	}
	return BW_L7_DROP;
}

/*
 * A request we cannot read: record it, answer (400, 431, 505, ...), close.
 * A broken body (chunked framing) is answered at once: its request is
 * half sent, so no response from the server will come.
 */
static int
http_bad_body(struct http_conn *hc, const struct bw_l7_input *in, size_t *n)
{
	http_scratch_begin(hc->mod, 4096);
	http_record_request(hc, NULL, hc->q_tail != NULL ? hc->q_tail->method : "",
			    hc->q_tail != NULL ? hc->q_tail->url : "",
			    BW_FLOW_VERDICT_ERROR, -1, NULL, "http",
			    "malformed chunked body", NULL);
	http_answer(hc, 400, 1);
	hc->stop = 1;
	*n = 0;
	return BW_L7_CLOSE;
}

static int
http_bad_request(struct http_conn *hc, const struct bw_l7_input *in,
		 const struct http_msg *msg, unsigned status, size_t *n)
{
	const char *method;

	http_scratch_begin(hc->mod, 4096);
	method = msg != NULL && msg->method_len > 0 && msg->method_len < 1024
			 ? http_sdup(hc->mod, msg->method, msg->method_len) : "";
	http_record_request(hc, NULL, method, "", BW_FLOW_VERDICT_ERROR, -1,
			    NULL, "http", msg != NULL && msg->error != NULL ? msg->error
					  : "malformed request", NULL);
	*n = in->len;
	return http_refuse(hc, in, status, 1, "", "", n);
}

/* Has the upgrade (or CONNECT) of this request been permitted? */
static int
http_upgrade_ok(struct http_conn *hc, const struct http_msg *msg, int connect)
{
	const struct http_field *u;
	size_t k;

	if (connect)
		return http_list_has(hc->mod->conf->allow_upgrade, "connect", 7);
	u = &msg->field[msg->upgrade];
	/* the first protocol offered, without a version: "websocket" */
	for (k = 0; k < u->value_len; k++)
		if (strchr(",/ \t", u->value[k]) != NULL)
			break;
	return k > 0 && http_list_has(hc->mod->conf->allow_upgrade, u->value, k);
}

/* Rebuild the head with the edits applied; inject it towards the server. */
static int
http_rewrite(struct http_conn *hc, const uint8_t *d, const struct http_msg *msg,
	     const struct http_edit *ed, size_t n_ed)
{
	size_t cap = msg->head_len + 64, len;
	const uint8_t *line = (const uint8_t *)memchr(d, '\n', msg->head_len) + 1;
	char *buf;
	int rc;

	for (size_t i = 0; i < n_ed; i++)
		cap += strlen(ed[i].name) + (ed[i].value ? strlen(ed[i].value) : 0) + 4;
	if ((buf = malloc(cap)) == NULL)
		return -ENOMEM;
	len = (size_t)(line - d);
	memcpy(buf, d, len); /* the request line */
	for (unsigned i = 0; i < msg->n_fields; i++) {
		const struct http_field *f = &msg->field[i];
		const char *end = memchr(f->name, '\n', (size_t)((const char *)d + msg->head_len - f->name));
		int drop = 0;

		for (size_t k = 0; k < n_ed; k++)
			if (ed[k].op != EDIT_ADD && http_name_is(f, ed[k].name))
				drop = 1;
		if (!drop && end != NULL) {
			memcpy(buf + len, f->name, (size_t)(end + 1 - f->name));
			len += (size_t)(end + 1 - f->name);
		}
	}
	for (size_t k = 0; k < n_ed; k++)
		if (ed[k].op != EDIT_REMOVE)
			len += (size_t)sprintf(buf + len, "%s: %s\r\n", ed[k].name, ed[k].value);
	memcpy(buf + len, "\r\n", 2);
	len += 2;
	rc = http_api->l7_inject(hc->conn, BW_L7_DIR_REQUEST, buf, len);
	free(buf);
	return rc;
}

static void
http_hook_clear(struct http_hook *hk)
{
	for (size_t i = 0; i < hk->n_edits; i++) {
		free(hk->edits[i].name);
		free(hk->edits[i].value);
	}
	free(hk->edits);
	free(hk->extensions_json);
	memset(hk, 0, sizeof(*hk));
}

static char *
http_strdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* A header value is fine to send: printable text, no CR, LF or NUL. */
static int
http_value_ok(const char *v)
{
	for (; v != NULL && *v != '\0'; v++)
		if ((unsigned char)*v < 0x20 && *v != '\t')
			return 0;
	return v != NULL;
}

static int
http_token_ok(const char *v)
{
	if (v == NULL || *v == '\0')
		return 0;
	for (; *v != '\0'; v++)
		if ((unsigned char)*v <= ' ' || *v == ':' || (unsigned char)*v >= 0x7f)
			return 0;
	return 1;
}

/* The decision hook answered (on the loop, later): keep it, resume. */
static void
http_hook_done(const struct bw_hook_result *res, void *ud)
{
	struct http_conn *hc = ud;
	struct http_hook *hk = &hc->hook;
	size_t n = 0;

	hk->state = HOOK_ANSWERED;
	hk->deny = res->verdict != BW_HOOK_ALLOW;
	hk->extensions_json = http_strdup(res->extensions_json);
	if (!hk->deny && res->n_set_headers + res->n_remove_headers > 0) {
		hk->edits = calloc(res->n_set_headers + res->n_remove_headers,
				   sizeof(*hk->edits));
		for (uint32_t i = 0; hk->edits != NULL && i < res->n_remove_headers; i++)
			if (http_token_ok(res->remove_headers[i]))
				hk->edits[n++] = (struct http_edit){ EDIT_REMOVE,
					strdup(res->remove_headers[i]), NULL };
		for (uint32_t i = 0; hk->edits != NULL && i < res->n_set_headers; i++)
			if (http_token_ok(res->set_headers[i].name) &&
			    http_value_ok(res->set_headers[i].value))
				hk->edits[n++] = (struct http_edit){ EDIT_SET,
					strdup(res->set_headers[i].name),
					strdup(res->set_headers[i].value) };
		hk->n_edits = n;
	}
	http_api->l7_resume(hc->conn, BW_L7_DIR_REQUEST);
}

static void
http_hook_peer(struct http_mod *m, struct bw_hook_peer *p, const uint8_t *addr,
	       uint16_t port, uint32_t identity, const char *ns, const char *pod,
	       int v6)
{
	char *ip = http_scratch(m, 48);

	memset(p, 0, sizeof(*p));
	if (ip != NULL)
		inet_ntop(v6 ? AF_INET6 : AF_INET, addr, ip, 48);
	p->ip = ip;
	p->port = port;
	p->identity = identity;
	p->ns = ns;
	p->pod = pod;
}

/*
 * Ask the rule scripts about a request the rules allow. Returns 1 when
 * the answer is in hc->hook (or no script hooks HTTP: allowed), 0 when it
 * will come later (the caller waits), -1 on an error (deny).
 */
static int
http_hook_ask(struct http_conn *hc, const struct http_msg *msg,
	      const struct http_target *t)
{
	struct http_mod *m = hc->mod;
	const struct bw_l7_conn_info *ci = hc->info;
	struct bw_hook_http req = { .size = sizeof(req) };
	struct bw_hook_header *hv;
	int ingress = ci->direction == BW_FLOW_TRAFFIC_INGRESS, v6 = ci->ip_version == 6;
	int rc;

	if (hc->hook.state == HOOK_ANSWERED)
		return 1;
	if (hc->hook.state == HOOK_PENDING)
		return 0;
	if (!BW_API_HAS(http_api, hook_http) ||
	    !(http_api->hook_active(m->ctx) & BW_HOOK_F_HTTP))
		return 1;
	req.method = http_sdup(m, msg->method, msg->method_len);
	req.path = http_sdup(m, t->path, t->path_len);
	req.host = t->host != NULL ? http_sdup(m, t->host, t->host_len) : NULL;
	hv = (struct bw_hook_header *)http_scratch(m, msg->n_fields * sizeof(*hv) + 16);
	if (hv != NULL) {
		hv = (struct bw_hook_header *)(((uintptr_t)hv + 15) & ~(uintptr_t)15);
		for (unsigned i = 0; i < msg->n_fields; i++) {
			hv[i].name = http_sdup(m, msg->field[i].name, msg->field[i].name_len);
			hv[i].value = http_sdup(m, msg->field[i].value, msg->field[i].value_len);
		}
		req.headers = hv;
		req.n_headers = msg->n_fields;
	}
	http_hook_peer(m, &req.source, ci->client_addr, ci->client_port,
		       ci->client_identity, ingress ? NULL : ci->endpoint_ns,
		       ingress ? NULL : ci->endpoint_pod, v6);
	http_hook_peer(m, &req.destination, ci->server_addr, ci->server_port,
		       ci->server_identity, ingress ? ci->endpoint_ns : NULL,
		       ingress ? ci->endpoint_pod : NULL, v6);
	rc = http_api->hook_http(m->ctx, &req, http_hook_done, hc, &hc->hook.ticket);
	if (rc == BW_HOOK_NONE)
		return 1;
	if (rc == BW_HOOK_PENDING) {
		if (hc->hook.state == HOOK_NONE) /* not answered in between */
			hc->hook.state = HOOK_PENDING;
		return hc->hook.state == HOOK_ANSWERED;
	}
	hc->hook.state = HOOK_ANSWERED;
	hc->hook.deny = 1;
	return 1;
}

static int
http_request_head(struct http_conn *hc, const struct bw_l7_input *in, size_t *n)
{
	struct http_mod *m = hc->mod;
	struct http_msg *msg = &m->msg;
	struct http_action acts[HTTP_MAX_ACTIONS];
	struct http_edit edits[HTTP_MAX_ACTIONS], *ed = edits;
	size_t n_acts = 0, n_ed = 0;
	struct http_target t;
	struct http_req_view view;
	struct http_pending *p;
	const char *method, *url, *err = NULL, *note = NULL, *by = NULL, *why = NULL;
	const char *ext = NULL;
	int connect, upgrade, verdict, rule = -1;
	long end;
	int rc;

	end = http_head_end(in->data, in->len, &hc->rq_scan, &err);
	if (end < 0) {
		msg->method_len = 0;
		return http_bad_request(hc, in, NULL, 400, n);
	}
	if (end == 0) {
		*n = 0;
		return BW_L7_MORE;
	}
	hc->rq_scan = 0;
	rc = http_parse_request(in->data, (size_t)end, msg);
	if (rc != 0)
		return http_bad_request(hc, in, msg, (unsigned)rc, n);

	/* the flow's and the hook's strings (each at most the head) */
	http_scratch_begin(m, 5 * (size_t)end + msg->n_fields * 4 * sizeof(struct bw_flow_kv) + 4096);
	http_target_split(msg, &t);
	connect = msg->method_len == 7 && memcmp(msg->method, "CONNECT", 7) == 0;
	upgrade = connect || msg->upgrade >= 0;

	if (upgrade && !http_upgrade_ok(hc, msg, connect)) {
		verdict = BW_FLOW_VERDICT_DROPPED;
		by = "http";
		why = connect ? "CONNECT is not allowed ([http] allow_upgrade)"
			      : "this upgrade is not allowed ([http] allow_upgrade)";
	} else if (in->rules == NULL) {
		verdict = BW_FLOW_VERDICT_FORWARDED; /* visibility only */
	} else {
		view.method = msg->method;
		view.method_len = msg->method_len;
		view.path = t.path;
		view.path_len = t.path_len;
		view.host = t.host != NULL ? t.host : "";
		view.host_len = t.host_len;
		view.msg = msg;
		rule = http_rules_match(in->rules, &view, acts, &n_acts);
		verdict = rule >= 0 ? BW_FLOW_VERDICT_FORWARDED : BW_FLOW_VERDICT_DROPPED;
		for (size_t k = 0; k < n_acts; k++) {
			if (acts[k].action == HTTP_MISMATCH_LOG) {
				note = acts[k].name;
				continue;
			}
			ed[n_ed].op = acts[k].action == HTTP_MISMATCH_DELETE ? EDIT_REMOVE
				      : acts[k].action == HTTP_MISMATCH_REPLACE ? EDIT_SET
				      : EDIT_ADD;
			ed[n_ed].name = (char *)acts[k].name;
			ed[n_ed].value = (char *)acts[k].value;
			n_ed++;
		}
	}
	/* what the rules allow, the rule scripts may still refuse */
	if (verdict == BW_FLOW_VERDICT_FORWARDED) {
		rc = http_hook_ask(hc, msg, &t);
		if (rc == 0)
			return BW_L7_WAIT; /* http_hook_done() resumes us */
		if (hc->hook.state == HOOK_ANSWERED) {
			ext = hc->hook.extensions_json;
			if (hc->hook.deny) {
				verdict = BW_FLOW_VERDICT_DROPPED;
				if (ext == NULL) {
					by = "lua";
					why = "a decision hook denied the request";
				}
			} else if (hc->hook.n_edits > 0) {
				/* the scripts' changes, after the rules' */
				if (n_ed + hc->hook.n_edits > HTTP_MAX_ACTIONS) {
					ed = calloc(n_ed + hc->hook.n_edits, sizeof(*ed));
					if (ed == NULL)
						return -ENOMEM;
					memcpy(ed, edits, n_ed * sizeof(*ed));
				}
				memcpy(ed + n_ed, hc->hook.edits, hc->hook.n_edits * sizeof(*ed));
				n_ed += hc->hook.n_edits;
			}
		}
	}
	hc->crlf = 0;
	method = http_sdup(m, msg->method, msg->method_len);
	url = http_url(hc, msg, &t);
	http_record_request(hc, msg, method, url, verdict, rule, note, by, why, ext);
	p = http_enqueue(hc, method, url, in->now_ns);
	if (p == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	p->version = msg->version;
	p->head = msg->method_len == 4 && memcmp(msg->method, "HEAD", 4) == 0;
	p->connect = (uint8_t)connect;

	if (verdict != BW_FLOW_VERDICT_FORWARDED) {
		int has_body = msg->chunked || msg->content_length > 0;

		p->local = 403;
		p->close_after = msg->conn_close ||
				 (msg->version == 10 && !msg->conn_keepalive) ||
				 (msg->expect_continue && has_body) || upgrade;
		if (p->close_after) {
			hc->stop = 1;
			*n = in->len;
		} else if (msg->chunked) {
			*n = msg->head_len;
			hc->rq = RQ_BODY_CHUNKED;
			hc->rq_drop = 1;
			http_chunked_init(&hc->rq_ch);
		} else {
			*n = msg->head_len + (msg->content_length > 0 ? (size_t)msg->content_length : 0);
		}
		rc = BW_L7_DROP;
		if (hc->q == p && http_flush_answers(hc)) {
			*n = 0;
			rc = BW_L7_CLOSE;
		}
		goto out;
	}

	p->upgrade = (uint8_t)upgrade;
	hc->rq_drop = 0;
	rc = BW_L7_PASS;
	*n = msg->head_len;
	if (n_ed > 0) {
		/* drop the head as sent; the rewritten one follows it */
		if ((rc = http_rewrite(hc, in->data, msg, ed, n_ed)) < 0)
			goto out;
		rc = BW_L7_DROP;
		if (msg->content_length > 0) {
			hc->rq = RQ_BODY_CL;
			hc->rq_left = (uint64_t)msg->content_length;
		}
	} else if (msg->content_length > 0) {
		*n += (size_t)msg->content_length;
	}
	if (msg->chunked) {
		hc->rq = RQ_BODY_CHUNKED;
		http_chunked_init(&hc->rq_ch);
	} else if (upgrade) {
		hc->rq = RQ_AWAIT; /* until the server answers */
	}
out:
	if (ed != edits)
		free(ed);
	http_hook_clear(&hc->hook);
	return rc;
}

static int
http_request_data(struct http_conn *hc, const struct bw_l7_input *in, size_t *n)
{
	const uint8_t *d = in->data;
	const char *err = NULL;
	uint64_t data;
	size_t used;
	int rc;

	*n = 0;
	switch (hc->rq) {
	case RQ_TUNNEL:
		return BW_L7_TUNNEL;
	case RQ_AWAIT:
		return in->len == 0 ? BW_L7_PASS : BW_L7_WAIT;
	case RQ_BODY_CL:
		*n = hc->rq_left;
		hc->rq_left = 0;
		hc->rq = RQ_HEAD;
		return hc->rq_drop ? BW_L7_DROP : BW_L7_PASS;
	case RQ_BODY_CHUNKED:
		rc = http_chunked_step(&hc->rq_ch, d, in->len, &used, &data, &err);
		if (rc == HTTP_CHUNK_ERROR)
			return http_bad_body(hc, in, n);
		if (rc == HTTP_CHUNK_DONE)
			hc->rq = RQ_HEAD;
		*n = used + data;
		if (*n == 0)
			return BW_L7_MORE;
		return hc->rq_drop ? BW_L7_DROP : BW_L7_PASS;
	}
	/* RQ_HEAD */
	if (in->len == 0)
		return in->eos ? BW_L7_PASS : BW_L7_MORE;
	if (hc->stop) {
		*n = in->len;
		return BW_L7_DROP;
	}
	if (d[0] == '\r' || d[0] == '\n') {
		/* RFC 9112 2.2: an empty line before a request is ignored */
		if (in->len < 2)
			return BW_L7_MORE;
		if (d[0] == '\r' && d[1] == '\n' && hc->crlf++ < 4) {
			*n = 2;
			return BW_L7_DROP;
		}
		return http_bad_request(hc, in, NULL, 400, n);
	}
	if (hc->q_len >= (unsigned)hc->mod->conf->max_pipeline)
		return BW_L7_WAIT;
	return http_request_head(hc, in, n);
}

/* ---- responses ------------------------------------------------------------------------- */

/* The oldest request's response is complete: answer what we answer next. */
static int
http_response_done(struct http_conn *hc)
{
	struct http_pending *p = hc->q;

	hc->rs = RS_HEAD;
	if (p != NULL && p->upgrade && hc->rq == RQ_AWAIT)
		hc->rq = RQ_HEAD; /* the upgrade was not taken */
	http_pop(hc);
	return http_flush_answers(hc);
}

static int
http_response_head(struct http_conn *hc, const struct bw_l7_input *in, size_t *n)
{
	struct http_msg *msg = &hc->mod->msg;
	struct http_pending *p = hc->q;
	const char *err = NULL;
	size_t body_avail;
	long end;
	int rc;

	if (p == NULL || p->local != 0) {
		/* bytes no request asked for (a 408 before an idle close) */
		*n = in->len;
		return BW_L7_PASS;
	}
	end = http_head_end(in->data, in->len, &hc->rs_scan, &err);
	if (end == 0) {
		*n = 0;
		return BW_L7_MORE;
	}
	if (end < 0 || (rc = http_parse_response(in->data, (size_t)end, msg)) != 0) {
		/* the server's answer cannot be framed: 502, and no more */
		http_answer(hc, 502, 1);
		*n = 0;
		return BW_L7_CLOSE;
	}
	hc->rs_scan = 0;
	if (msg->status >= 100 && msg->status < 200) {
		if (msg->status == 101) {
			if (!p->upgrade) {
				http_answer(hc, 502, 1);
				*n = 0;
				return BW_L7_CLOSE;
			}
			http_scratch_begin(hc->mod, 2 * (size_t)end + msg->n_fields *
					   2 * sizeof(struct bw_flow_kv) + 4096);
			http_record_response(hc, msg, p, in->now_ns);
			hc->rs = RS_TUNNEL;
			hc->rq = RQ_TUNNEL;
			return BW_L7_TUNNEL;
		}
		*n = (size_t)end; /* interim (100 Continue): the final one follows */
		return BW_L7_PASS;
	}
	http_scratch_begin(hc->mod, 2 * (size_t)end + msg->n_fields *
			   2 * sizeof(struct bw_flow_kv) + 4096);
	http_record_response(hc, msg, p, in->now_ns);
	if (p->connect && msg->status < 300) {
		hc->rs = RS_TUNNEL;
		hc->rq = RQ_TUNNEL;
		return BW_L7_TUNNEL;
	}
	body_avail = in->len - (size_t)end;
	if (p->head || msg->status == 204 || msg->status == 304) {
		*n = (size_t)end;
	} else if (msg->chunked) {
		*n = (size_t)end;
		hc->rs = RS_BODY_CHUNKED;
		http_chunked_init(&hc->rs_ch);
		return BW_L7_PASS;
	} else if (msg->content_length >= 0) {
		*n = (size_t)end + (size_t)msg->content_length;
		if ((uint64_t)msg->content_length > body_avail) {
			hc->rs = RS_BODY_LEN; /* told when the last byte went by */
			return BW_L7_PASS;
		}
	} else {
		*n = in->len; /* until the server closes */
		hc->rs = RS_BODY_CLOSE;
		return BW_L7_PASS;
	}
	return http_response_done(hc) ? BW_L7_CLOSE : BW_L7_PASS;
}

static int
http_response_data(struct http_conn *hc, const struct bw_l7_input *in, size_t *n)
{
	const char *err = NULL;
	uint64_t data;
	size_t used;
	int rc;

	*n = 0;
	switch (hc->rs) {
	case RS_TUNNEL:
		return BW_L7_TUNNEL;
	case RS_BODY_LEN:
		/* the body went by: the next response may follow */
		if (http_response_done(hc))
			return BW_L7_CLOSE;
		if (hc->injected || in->len == 0)
			return BW_L7_PASS;
		break;
	case RS_BODY_CLOSE:
		/* ends with the server's FIN: nothing can follow it, not even
		 * our answers to later requests */
		*n = in->len;
		if (in->eos)
			while (hc->q != NULL)
				http_pop(hc);
		return BW_L7_PASS;
	case RS_BODY_CHUNKED:
		rc = http_chunked_step(&hc->rs_ch, in->data, in->len, &used, &data, &err);
		if (rc == HTTP_CHUNK_ERROR) {
			*n = 0;
			return BW_L7_CLOSE; /* cut the response: the client sees it end early */
		}
		*n = used + data;
		if (rc == HTTP_CHUNK_DONE)
			return http_response_done(hc) ? BW_L7_CLOSE : BW_L7_PASS;
		return *n == 0 ? BW_L7_MORE : BW_L7_PASS;
	}
	if (in->len == 0)
		return in->eos ? BW_L7_PASS : BW_L7_MORE;
	return http_response_head(hc, in, n);
}

/* ---- the parser ---------------------------------------------------------------------------- */

static int
http_parser_data(void *state, const struct bw_l7_input *in, size_t *n)
{
	struct http_conn *hc = state;

	hc->injected = 0;
	if (in->dir == BW_L7_DIR_REQUEST)
		return http_request_data(hc, in, n);
	return http_response_data(hc, in, n);
}

static int
http_conn_open(void *ud, bw_l7_conn *conn, const struct bw_l7_conn_info *info,
	       void **state)
{
	struct http_conn *hc = calloc(1, sizeof(*hc));

	if (hc == NULL)
		return -ENOMEM;
	hc->mod = ud;
	hc->conn = conn;
	hc->info = info;
	*state = hc;
	return 0;
}

static void
http_conn_close(void *state)
{
	struct http_conn *hc = state;

	if (hc->hook.state == HOOK_PENDING)
		http_api->hook_cancel(hc->mod->ctx, hc->hook.ticket);
	http_hook_clear(&hc->hook);
	while (hc->q != NULL)
		http_pop(hc);
	free(hc);
}

static void
http_abort(void *state, enum bw_l7_abort why, enum bw_l7_dir dir)
{
	struct http_conn *hc = state;

	if (dir == BW_L7_DIR_REQUEST && why != BW_L7_ABORT_UPSTREAM) {
		/* our answer would be taken for an earlier request's response */
		if (hc->q == NULL)
			http_answer(hc, why == BW_L7_ABORT_TOO_LARGE ? 431 : 408, 1);
		return;
	}
	/* the server: unreachable, too slow, or a head too large */
	if (hc->q != NULL && hc->q->local == 0 && hc->rs == RS_HEAD)
		http_answer(hc, why == BW_L7_ABORT_UPSTREAM ? 503
				: why == BW_L7_ABORT_TIMEOUT ? 504 : 502, 1);
}

static int
http_compile(void *ud, const char *json, size_t len, void **rules, char *err,
	     size_t errlen)
{
	struct http_rules *rs;
	int rc = http_rules_compile(json, &rs, err, errlen);

	if (rc == 0)
		*rules = rs;
	return rc;
}

static void
http_rules_release(void *ud, void *rules)
{
	http_rules_free(rules);
}

/* ---- module ---------------------------------------------------------------------------------- */

static void
http_mod_free(void *ud)
{
	struct http_mod *m = ud;

	free(m->scratch);
	free(m);
}

static int
http_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf)
{
	struct bw_l7_parser p = {
		.size = sizeof(p),
		.name = "http",
		.description = "HTTP/1.1: CiliumNetworkPolicy rules.http, Hubble l7.http flows",
		.rules_compile = http_compile,
		.rules_free = http_rules_release,
		.conn_open = http_conn_open,
		.data = http_parser_data,
		.abort = http_abort,
		.conn_close = http_conn_close,
		.free_user_data = http_mod_free,
	};
	struct http_mod *m;
	int rc;

	if (!BW_API_HAS(api, l7_parser_register)) {
		api->log(ctx, BW_LOG_ERR, "this daemon has no L7 proxy engine (ABI < 1.2)");
		return -ENOTSUP;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -ENOMEM;
	http_api = api;
	m->api = api;
	m->ctx = ctx;
	m->conf = conf;
	p.user_data = m;
	api->set_data(ctx, m);
	if ((rc = api->l7_parser_register(ctx, &p)) < 0) {
		free(m);
		return rc;
	}
	return 0;
}

static int
http_reload(bw_module_ctx *ctx, const void *new_conf)
{
	struct http_mod *m = http_api->get_data(ctx);

	if (m != NULL)
		m->conf = new_conf;
	return 0;
}

BW_MODULE_DEFINE(
	.name = "http",
	.version = "1.0",
	.description = "HTTP/1.1 L7 policy and flows for the proxy engine",
	.conf_keys = http_keys,
	.conf_size = sizeof(struct http_conf),
	.init = http_init,
	.reload = http_reload,
);
