/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/modules/test-redirect.c - a transparent relay for one proxy class,
 * the smallest real user of the redirect ABI (1.2), for the e2e tests
 * (tests/e2e/test_redirect*.sh) and as an example for proxy authors
 * (docs/redirect.md).
 *
 * The instance opens its class's TCP and UDP sockets for IPv4 and IPv6
 * (redirect_listen), and for every redirected connection or datagram asks
 * the core what it is (redirect_lookup), writes that as one JSON line to
 * <state_dir>/<instance>/learned.jsonl, and relays it to the original
 * destination through redirect_upstream(): TCP byte for byte with half-close,
 * UDP one answer per datagram, sent back from the original destination
 * (redirect_reply_udp). It enforces nothing but this: when no L7 rule
 * applies (the rules list is empty), the connection is closed and the
 * datagram dropped, as a proxy must when nothing is allowed.
 *
 * With format = true the instance also registers a policy format for
 * documents written directly in the core's rule model (apiVersion
 * test.bulwark.io/v1, kind RuleModel, metadata.name/namespace, and
 * "rules" as in docs/rule-model.md), so tests can write rules no shipped
 * format produces (DNS rules on ingress: UDP redirected at ingress).
 *
 * Keys ([test-redirect] or [test-redirect:NAME]):
 *   class   the proxy class to serve (dns, http, kafka or an l7proto name)
 *   format  register the RuleModel policy format (one instance only)
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include <bulwark/module.h>

struct rdt_conf {
	char *proxy_class;
	int format;
};

static const struct bw_conf_key rdt_keys[] = {
	{ "class", BW_CONF_STRING, "http", offsetof(struct rdt_conf, proxy_class), 0, 0, NULL, 0,
	  "the proxy class whose redirected traffic this instance relays" },
	{ "format", BW_CONF_BOOL, "false", offsetof(struct rdt_conf, format), 0, 0, NULL, 0,
	  "also register the test.bulwark.io/v1 RuleModel policy format" },
	BW_CONF_KEY_END
};

#define RDT_SOCKS 4 /* TCP and UDP, IPv4 and IPv6 */

/* The core's table is the same for every instance. */
static const struct bw_core_api *rdt_api;

struct rdt {
	const struct bw_core_api *api;
	bw_module_ctx *ctx;
	struct event_base *base;
	const struct rdt_conf *conf;
	int fd[RDT_SOCKS];
	struct event *ev[RDT_SOCKS];
	char log_path[512];
};

/* One relayed TCP connection: a pair of bufferevents. */
struct rdt_pipe {
	struct rdt *t;
	struct bufferevent *side[2]; /* 0 client, 1 upstream */
	int eof[2];                  /* side i sent its FIN */
	int shut[2];                 /* side i was shut for writing */
};

/* A UDP datagram waiting for its answer. */
struct rdt_dgram {
	struct rdt *t;
	int fd;
	struct event *ev;
	struct sockaddr_storage client, orig_dst;
};

static void rdt_record(struct rdt *t, const char *json)
{
	FILE *f = fopen(t->log_path, "a");

	if (f == NULL) {
		t->api->log(t->ctx, BW_LOG_ERR, "cannot write %s", t->log_path);
		return;
	}
	fprintf(f, "%s\n", json);
	fclose(f);
}

/* Look the connection up, record it; 1 when some rule allows it. */
static int rdt_lookup(struct rdt *t, int protocol, const struct sockaddr *client,
		      const struct sockaddr *orig_dst, struct bw_redirect_conn *conn)
{
	int rc;

	memset(conn, 0, sizeof(*conn));
	conn->size = sizeof(*conn);
	rc = t->api->redirect_lookup(t->ctx, protocol, client, orig_dst, conn);
	if (rc < 0) {
		t->api->log(t->ctx, BW_LOG_WARNING, "lookup of a %s connection failed: %s",
			    protocol == IPPROTO_TCP ? "TCP" : "UDP", strerror(-rc));
		return -1;
	}
	rdt_record(t, conn->json);
	t->api->log(t->ctx, BW_LOG_INFO, "%s %s:%u -> %s:%u (%s, class %s, port %u): rules %s",
		    protocol == IPPROTO_TCP ? "TCP" : "UDP", conn->client_ip, conn->client_port,
		    conn->server_ip, conn->server_port,
		    conn->direction == BW_REDIRECT_EGRESS ? "egress" : "ingress",
		    conn->proxy_class, conn->proxy_port, conn->rules);
	if (strcmp(conn->rules, "[]") == 0) {
		t->api->redirect_release(conn);
		return 0;
	}
	return 1;
}

/* ---- TCP ---------------------------------------------------------------------- */

static void rdt_pipe_free(struct rdt_pipe *p)
{
	bufferevent_free(p->side[0]);
	bufferevent_free(p->side[1]);
	free(p);
}

/* Side i's data is all written: pass on a FIN, finish when both are done. */
static void rdt_pipe_check(struct rdt_pipe *p)
{
	for (int i = 0; i < 2; i++) {
		int o = 1 - i;

		if (p->eof[i] && !p->shut[o] &&
		    evbuffer_get_length(bufferevent_get_output(p->side[o])) == 0) {
			shutdown(bufferevent_getfd(p->side[o]), SHUT_WR);
			p->shut[o] = 1;
		}
	}
	if (p->shut[0] && p->shut[1])
		rdt_pipe_free(p);
}

static void rdt_pipe_read(struct bufferevent *bev, void *arg)
{
	struct rdt_pipe *p = arg;
	int i = bev == p->side[0] ? 0 : 1;

	bufferevent_write_buffer(p->side[1 - i], bufferevent_get_input(bev));
}

static void rdt_pipe_write(struct bufferevent *bev, void *arg)
{
	rdt_pipe_check(arg);
}

static void rdt_pipe_event(struct bufferevent *bev, short what, void *arg)
{
	struct rdt_pipe *p = arg;
	int i = bev == p->side[0] ? 0 : 1;

	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_EOF) {
		p->eof[i] = 1;
		rdt_pipe_check(p);
		return;
	}
	/* an error (the upstream refused, a reset): drop both sides */
	rdt_pipe_free(p);
}

static void rdt_accept(struct rdt *t, int lfd)
{
	struct sockaddr_storage peer, me;
	socklen_t plen = sizeof(peer), mlen = sizeof(me);
	struct bw_redirect_conn conn;
	struct rdt_pipe *p;
	int fd, up;

	fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	/* the accepted socket's own address is the original destination */
	if (getsockname(fd, (struct sockaddr *)&me, &mlen) < 0 ||
	    rdt_lookup(t, IPPROTO_TCP, (struct sockaddr *)&peer, (struct sockaddr *)&me, &conn) <= 0) {
		close(fd);
		return;
	}
	up = t->api->redirect_upstream(t->ctx, &conn);
	t->api->redirect_release(&conn);
	if (up < 0) {
		t->api->log(t->ctx, BW_LOG_WARNING, "upstream: %s", strerror(-up));
		close(fd);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		close(fd);
		close(up);
		return;
	}
	p->t = t;
	p->side[0] = bufferevent_socket_new(t->base, fd, BEV_OPT_CLOSE_ON_FREE);
	p->side[1] = bufferevent_socket_new(t->base, up, BEV_OPT_CLOSE_ON_FREE);
	for (int i = 0; i < 2; i++) {
		bufferevent_setcb(p->side[i], rdt_pipe_read, rdt_pipe_write, rdt_pipe_event, p);
		bufferevent_enable(p->side[i], EV_READ | EV_WRITE);
	}
}

/* ---- UDP ---------------------------------------------------------------------- */

static void rdt_dgram_free(struct rdt_dgram *d)
{
	event_free(d->ev);
	close(d->fd);
	free(d);
}

static void rdt_dgram_answer(evutil_socket_t fd, short what, void *arg)
{
	struct rdt_dgram *d = arg;
	char buf[65536];
	ssize_t n;

	if (what & EV_READ) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n >= 0)
			d->t->api->redirect_reply_udp((struct sockaddr *)&d->orig_dst,
						      (struct sockaddr *)&d->client, buf,
						      (size_t)n);
	}
	rdt_dgram_free(d);
}

static void rdt_datagram(struct rdt *t, int sfd)
{
	struct timeval tv = { 3, 0 };
	struct bw_redirect_conn conn;
	struct rdt_dgram *d;
	char buf[65536];
	long n;

	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return;
	n = t->api->redirect_recvmsg(sfd, buf, sizeof(buf), &d->client, &d->orig_dst);
	if (n < 0 || rdt_lookup(t, IPPROTO_UDP, (struct sockaddr *)&d->client,
				(struct sockaddr *)&d->orig_dst, &conn) <= 0) {
		free(d);
		return;
	}
	d->t = t;
	d->fd = t->api->redirect_upstream(t->ctx, &conn);
	t->api->redirect_release(&conn);
	if (d->fd < 0 || send(d->fd, buf, (size_t)n, 0) < 0) {
		if (d->fd >= 0)
			close(d->fd);
		free(d);
		return;
	}
	d->ev = event_new(t->base, d->fd, EV_READ, rdt_dgram_answer, d);
	if (d->ev == NULL || event_add(d->ev, &tv) < 0) {
		if (d->ev)
			event_free(d->ev);
		close(d->fd);
		free(d);
	}
}

/* ---- the RuleModel policy format ----------------------------------------- */

static int rdt_parse(void *user_data, const char *text, size_t len, char **out, char *err,
		     size_t errlen)
{
	json_t *doc = json_loadb(text, len, 0, NULL), *meta, *rules, *pol;
	const char *name, *ns;

	meta = json_object_get(doc, "metadata");
	rules = json_object_get(doc, "rules");
	name = json_string_value(json_object_get(meta, "name"));
	ns = json_string_value(json_object_get(meta, "namespace"));
	if (name == NULL || !json_is_array(rules)) {
		snprintf(err, errlen, "a RuleModel needs metadata.name and rules (a list)");
		json_decref(doc);
		return -EINVAL;
	}
	pol = json_pack("{s:s,s:s,s:s,s:O}", "kind", "RuleModel", "name", name, "namespace",
			ns ? ns : "", "rules", rules);
	json_decref(doc);
	*out = pol ? json_dumps(pol, JSON_COMPACT) : NULL;
	json_decref(pol);
	return *out ? 0 : -ENOMEM;
}

static const char *const rdt_api_versions[] = { "test.bulwark.io/v1", NULL };
static const char *const rdt_kinds[] = { "RuleModel", NULL };

static const struct bw_policy_format rdt_format = {
	.size = sizeof(struct bw_policy_format),
	.name = "test-rule-model",
	.api_versions = rdt_api_versions,
	.kinds = rdt_kinds,
	.parse = rdt_parse,
};

/* ---- life cycle ------------------------------------------------------------ */

static void rdt_ready(evutil_socket_t fd, short what, void *arg)
{
	struct rdt *t = arg;
	int type = 0;
	socklen_t len = sizeof(type);

	getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
	if (type == SOCK_STREAM)
		rdt_accept(t, fd);
	else
		rdt_datagram(t, fd);
}

static int rdt_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf)
{
	struct rdt *t;
	const char *dir;

	rdt_api = api;
	if (!BW_API_HAS(api, redirect_reply_udp)) {
		api->log(ctx, BW_LOG_ERR, "this daemon has no redirect API (ABI 1.2)");
		return -ENOTSUP;
	}
	dir = api->state_dir(ctx);
	if (dir == NULL)
		return -errno;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->api = api;
	t->ctx = ctx;
	t->conf = conf;
	t->base = api->event_base(ctx);
	for (int i = 0; i < RDT_SOCKS; i++)
		t->fd[i] = -1;
	snprintf(t->log_path, sizeof(t->log_path), "%s/learned.jsonl", dir);
	if (t->conf->format) {
		int rc = api->policy_format_register(ctx, &rdt_format);

		if (rc < 0) {
			free(t);
			return rc;
		}
	}
	api->set_data(ctx, t);
	return 0;
}

static int rdt_start(bw_module_ctx *ctx)
{
	static const int protos[2] = { IPPROTO_TCP, IPPROTO_UDP };
	static const int fams[2] = { AF_INET, AF_INET6 };
	struct rdt *t = rdt_api->get_data(ctx);

	for (int i = 0; i < RDT_SOCKS; i++) {
		uint16_t port = 0;

		t->fd[i] = t->api->redirect_listen(ctx, t->conf->proxy_class, protos[i / 2],
						   fams[i % 2], 0, &port);
		if (t->fd[i] < 0) {
			t->api->log(ctx, BW_LOG_ERR, "cannot open the %s socket: %s",
				    t->conf->proxy_class, strerror(-t->fd[i]));
			return t->fd[i];
		}
		t->ev[i] = event_new(t->base, t->fd[i], EV_READ | EV_PERSIST, rdt_ready, t);
		if (t->ev[i] == NULL || event_add(t->ev[i], NULL) < 0)
			return -ENOMEM;
		t->api->log(ctx, BW_LOG_INFO, "relaying class %s, %s/IPv%d on port %u",
			    t->conf->proxy_class, protos[i / 2] == IPPROTO_TCP ? "TCP" : "UDP",
			    fams[i % 2] == AF_INET ? 4 : 6, port);
	}
	return 0;
}

/* Closing the sockets takes them out of the datapath's socket map. */
static void rdt_stop(bw_module_ctx *ctx)
{
	struct rdt *t = rdt_api->get_data(ctx);

	for (int i = 0; t != NULL && i < RDT_SOCKS; i++) {
		if (t->ev[i])
			event_free(t->ev[i]);
		t->ev[i] = NULL;
		if (t->fd[i] >= 0)
			close(t->fd[i]);
		t->fd[i] = -1;
	}
}

static void rdt_fini(bw_module_ctx *ctx)
{
	struct rdt *t = rdt_api->get_data(ctx);

	rdt_stop(ctx);
	free(t);
	rdt_api->set_data(ctx, NULL);
}

BW_MODULE_DEFINE(.name = "test-redirect", .version = "1.0",
		 .description = "test module: relays one proxy class's redirected traffic",
		 .conf_keys = rdt_keys, .conf_size = sizeof(struct rdt_conf),
		 .init = rdt_init, .start = rdt_start, .stop = rdt_stop, .fini = rdt_fini);
