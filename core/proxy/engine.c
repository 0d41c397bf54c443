/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/proxy/engine.c - the proxy engine's connections: accept, connect to
 * the original destination, move bytes under a parser's decisions,
 * backpressure, timeouts, limits, half-close and clean shutdown.
 *
 * Why raw sockets and not bufferevents: a parser must see the undecided
 * bytes of a direction as one contiguous run (an HTTP request head), and
 * the engine must be able to forward a decided prefix, drop a denied
 * message and slip the parser's own bytes (a 403) in between, in stream
 * order. With evbuffers that means evbuffer_pullup() copies and a second
 * output queue anyway; here each direction has one linear buffer that is
 * both the read buffer and the output (decided bytes are written straight
 * from it), plus a short list of segments for what is not a plain prefix
 * (dropped ranges, injected bytes). Buffers come from a small pool and go
 * back as soon as a direction has nothing in flight, so an idle
 * keep-alive connection holds no buffer at all (docs/l7.md has the
 * figures: memory per idle connection, requests/s against haproxy).
 *
 * Each socket is registered once with libevent, edge-triggered for read,
 * write and peer-close (EV_ET | EV_CLOSED): no epoll_ctl() while a
 * connection lives. The engine remembers readiness: a socket that was
 * readable when the buffer filled up is read again once the other side
 * has drained it (backpressure without re-arming events).
 *
 * Buffers per connection are bounded: a direction reads only while its
 * buffer has room, and grows it (up to [proxy] max_message_head) only
 * while the parser is waiting for a message head that does not fit yet.
 * Bytes a parser injects are bounded too (PX_INJECT_MAX per connection):
 * past it, the parser is not asked again until they are sent.
 *
 * Timeouts run off one engine-wide tick (PX_TICK_MS) that walks the
 * connections: connect, undecided bytes ("head"), idle, and the linger
 * after a close. A connection is freed only at the end of the callback
 * that decided so (c->busy), never in the middle of a parser call.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "core/log.h"
#include "core/proxy/proxy_int.h"

#define PX_REQ BW_L7_DIR_REQUEST
#define PX_REP BW_L7_DIR_REPLY
#define PX_CLIENT 0              /* fd index: the client's socket ... */
#define PX_SERVER 1              /* ... and the one towards the server */
#define PX_TICK_MS 250
#define PX_ACCEPT_BATCH 64       /* accepts per listener wake-up */
#define PX_READ_BUDGET (256 * 1024) /* bytes read per connection per wake-up */
#define PX_INJECT_MAX (256 * 1024)  /* injected bytes queued per connection */
#define PX_LINGER_MS 2000        /* after our FIN: wait for the peer's */
#define PX_LINGER_BYTES (256 * 1024)
#define PX_POOL_MAX 256          /* free buffers kept */

enum px_seg_type { PX_SEG_IN, PX_SEG_SKIP, PX_SEG_OWN };

struct px_seg {
	struct px_seg *next;
	uint8_t type;
	uint32_t n;    /* bytes */
	uint32_t off;  /* OWN: bytes already written */
	uint8_t data[];
};

/* One direction: bytes read from fd[dir] and written to fd[1 - dir]. */
struct px_side {
	uint8_t *buf;
	uint32_t cap, head, tail;  /* buf[head, tail) is held */
	uint32_t out;              /* buf[head, head + out) to write first */
	uint32_t held;             /* out + IN/SKIP segment bytes; the
				    * undecided bytes are buf[head + held, tail) */
	struct px_seg *seg, *seg_tail;   /* after out, in order */
	struct px_seg *post, *post_tail; /* injected during this side's data() */
	uint64_t pass_left, drop_left;
	uint32_t need;             /* MORE: undecided bytes wanted */
	uint64_t since_ms;         /* undecided bytes waiting since (0: none) */
	unsigned readable : 1;     /* the source may have bytes */
	unsigned rdhup : 1;        /* the source's FIN has been seen by epoll */
	unsigned eos : 1;          /* read() returned 0 */
	unsigned eos_told : 1;     /* ... and the parser knows */
	unsigned shut : 1;         /* we shut down writing to the destination */
	unsigned tunnel : 1;
	unsigned wait : 1;
	unsigned notify : 1;       /* a long PASS/DROP ended: tell the parser */
};

struct px_listener {
	struct px_listener *next;
	int id;
	char *name;
	int fd;
	struct event ev;
	struct bw_proxy_redirect_ops ops;
	int log_once;
};

struct bw_l7_conn {
	struct bw_l7_conn *prev, *next;
	int fd[2];
	struct event ev[2];
	struct px_side side[2];
	struct px_parser *parser;
	void *state;
	struct bw_proxy_ruleset *rules;
	struct bw_l7_conn_info info;
	char *ep_ns, *ep_pod;
	struct px_listener *lst;
	uint64_t start_ms, last_ms, linger_ms;
	uint32_t own;              /* injected bytes queued, both sides */
	uint32_t lingered;         /* bytes read away while lingering */
	int deciding;              /* the side in a data() call, or -1 */
	unsigned busy;             /* nested callbacks using the connection */
	unsigned writable[2];      /* fd[i] can take bytes */
	unsigned connecting : 1;
	unsigned closing : 1;      /* flush, then close */
	unsigned linger : 1;       /* FINs sent; reading away until EOF */
	unsigned dead : 1;         /* free at the end of the callback */
	unsigned opened : 1;       /* the parser's conn_open succeeded */
};

struct bw_proxy_stats px_stats;

static struct {
	struct event_base *base;
	struct bw_proxy_limits lim;
	struct px_listener *listeners;
	int next_listener;
	struct bw_l7_conn *conns;
	struct event *tick;
	uint64_t now_ms;
	int has_rdhup;
	/* buffer pool (buffers of lim.buffer_size bytes) */
	uint8_t **pool;
	size_t npool;
	uint32_t pool_size;
	int log_limit;
} px = {
	.lim = {
		.max_connections = 16384,
		.buffer_size = 16384,
		.max_message_head = 65536,
		.head_timeout_ms = 30000,
		.idle_timeout_ms = 3600000,
		.connect_timeout_ms = 5000,
	},
	.next_listener = 1,
};

static void px_conn_event(evutil_socket_t fd, short what, void *arg);
static void px_run(struct bw_l7_conn *c);
static void px_release(struct bw_l7_conn *c);

/* ---- time and small helpers ------------------------------------------------------ */

static uint64_t
px_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t
px_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Close with a reset (SO_LINGER 0): what a refused or broken connection gets. */
static void
px_close_rst(int fd)
{
	struct linger l = { 1, 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static void
px_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* ---- buffers ---------------------------------------------------------------------- */

static uint8_t *
px_buf_get(uint32_t size)
{
	uint8_t *b;

	if (size == px.pool_size && px.npool > 0)
		b = px.pool[--px.npool];
	else
		b = malloc(size);
	if (b != NULL)
		px_stats.buffer_bytes += size;
	return b;
}

static void
px_buf_put(uint8_t *b, uint32_t size)
{
	if (b == NULL)
		return;
	px_stats.buffer_bytes -= size;
	if (size == px.pool_size && px.npool < PX_POOL_MAX && px.pool != NULL) {
		px.pool[px.npool++] = b;
		return;
	}
	free(b);
}

static void
px_pool_reset(uint32_t size)
{
	while (px.npool > 0)
		free(px.pool[--px.npool]);
	if (px.pool == NULL)
		px.pool = calloc(PX_POOL_MAX, sizeof(*px.pool));
	px.pool_size = size;
}

/* Give the side's buffer back when nothing in it is in flight. */
static void
px_side_trim(struct px_side *s)
{
	if (s->buf != NULL && s->head == s->tail) {
		px_buf_put(s->buf, s->cap);
		s->buf = NULL;
		s->cap = s->head = s->tail = 0;
	}
}

static void
px_segs_free(struct px_seg *s)
{
	while (s != NULL) {
		struct px_seg *n = s->next;

		free(s);
		s = n;
	}
}

static void
px_side_free(struct px_side *s)
{
	px_segs_free(s->seg);
	px_segs_free(s->post);
	s->seg = s->seg_tail = s->post = s->post_tail = NULL;
	if (s->buf != NULL)
		px_buf_put(s->buf, s->cap);
	s->buf = NULL;
	s->cap = s->head = s->tail = s->out = s->held = 0;
}

static uint32_t
px_undecided(const struct px_side *s)
{
	return s->tail - s->head - s->held;
}

/* ---- output queue ------------------------------------------------------------------ */

static void
px_seg_append(struct px_seg **head, struct px_seg **tail, struct px_seg *g)
{
	g->next = NULL;
	if (*tail != NULL)
		(*tail)->next = g;
	else
		*head = g;
	*tail = g;
}

/* Queue k undecided bytes for writing (PASS) or for discarding (DROP). */
static int
px_take(struct px_side *s, uint32_t k, int skip)
{
	struct px_seg *g;

	if (k == 0)
		return 0;
	if (s->seg == NULL) {
		if (!skip) {
			s->out += k;
			s->held += k;
			return 0;
		}
		if (s->out == 0) { /* nothing before it: discard at once */
			s->head += k;
			return 0;
		}
	}
	g = s->seg_tail;
	if (g != NULL && g->type == (skip ? PX_SEG_SKIP : PX_SEG_IN)) {
		g->n += k;
		s->held += k;
		return 0;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return -ENOMEM;
	g->type = skip ? PX_SEG_SKIP : PX_SEG_IN;
	g->n = k;
	px_seg_append(&s->seg, &s->seg_tail, g);
	s->held += k;
	return 0;
}

/* ---- the engine's side of the parser ---------------------------------------------------- */

int
bw_proxy_inject(bw_l7_conn *c, int dir, const void *data, size_t len)
{
	struct px_side *s;
	struct px_seg *g;

	if (c == NULL || (dir != PX_REQ && dir != PX_REP) ||
	    (len > 0 && data == NULL))
		return -EINVAL;
	if (c->dead || c->side[dir].shut || c->fd[1 - dir] < 0)
		return -EPIPE;
	if (len == 0)
		return 0;
	if (len > UINT32_MAX - sizeof(*g))
		return -ENOMEM;
	if ((g = malloc(sizeof(*g) + len)) == NULL)
		return -ENOMEM;
	g->type = PX_SEG_OWN;
	g->n = (uint32_t)len;
	g->off = 0;
	memcpy(g->data, data, len);
	s = &c->side[dir];
	if (c->deciding == dir)
		px_seg_append(&s->post, &s->post_tail, g);
	else
		px_seg_append(&s->seg, &s->seg_tail, g);
	c->own += (uint32_t)len;
	return 0;
}

const struct bw_l7_conn_info *
bw_proxy_conn_info(bw_l7_conn *c)
{
	return c != NULL ? &c->info : NULL;
}

const struct bw_proxy_ruleset *
px_conn_ruleset(const bw_l7_conn *c)
{
	return c->rules;
}

struct px_parser *
px_conn_parser(const bw_l7_conn *c)
{
	return c->parser;
}

int
bw_proxy_record(bw_l7_conn *c, const struct bw_l7_record *in)
{
	struct bw_l7_record rec;

	if (c == NULL || in == NULL || in->size < offsetof(struct bw_l7_record, verdict_by) ||
	    in->l7 == NULL || in->l7->size < offsetof(struct bw_flow_l7, proto))
		return -EINVAL;
	memset(&rec, 0, sizeof(rec));
	memcpy(&rec, in, in->size < sizeof(rec) ? in->size : sizeof(rec));
	if (rec.l7->type == BW_FLOW_L7_REQUEST) {
		px_stats.requests++;
		c->parser->received++;
		if (rec.verdict == BW_FLOW_VERDICT_FORWARDED) {
			px_stats.forwarded++;
			c->parser->forwarded++;
		} else if (rec.verdict == BW_FLOW_VERDICT_DROPPED) {
			px_stats.denied++;
			c->parser->denied++;
		}
	} else if (rec.l7->type == BW_FLOW_L7_RESPONSE) {
		px_stats.responses++;
	}
	px_flow_publish(&c->info, c->parser->p.name, c->rules, &rec);
	return 0;
}

int
bw_proxy_resume(bw_l7_conn *c, int dir)
{
	if (c == NULL || (dir != PX_REQ && dir != PX_REP))
		return -EINVAL;
	if (c->dead || c->closing || c->fd[PX_CLIENT] < 0)
		return -EPIPE;
	c->side[dir].wait = 0;
	/* run the connection from the loop, not from inside the caller */
	event_active(&c->ev[PX_CLIENT], EV_TIMEOUT, 0);
	return 0;
}

/* ---- closing ------------------------------------------------------------------------ */

/* Free now (only from px_release, when nobody is inside a callback). */
static void
px_conn_free(struct bw_l7_conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		px.conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	for (int i = 0; i < 2; i++) {
		if (c->fd[i] >= 0) {
			event_del(&c->ev[i]);
			close(c->fd[i]);
		}
		px_side_free(&c->side[i]);
	}
	if (c->opened && c->parser->p.conn_close != NULL)
		c->parser->p.conn_close(c->state);
	if (c->parser != NULL && c->parser->active > 0)
		c->parser->active--;
	bw_proxy_ruleset_unref(c->rules);
	free(c->ep_ns);
	free(c->ep_pod);
	px_stats.active--;
	px_stats.closed++;
	free(c);
}

static void
px_release(struct bw_l7_conn *c)
{
	if (c->busy > 0)
		c->busy--;
	if (c->busy == 0 && c->dead)
		px_conn_free(c);
}

/* Close one socket now, with a reset or not. */
static void
px_fd_close(struct bw_l7_conn *c, int i, int rst)
{
	if (c->fd[i] < 0)
		return;
	event_del(&c->ev[i]);
	if (rst)
		px_close_rst(c->fd[i]);
	else
		close(c->fd[i]);
	c->fd[i] = -1;
	c->writable[i] = 0;
}

/* Tear down: resets on both sockets (errors, refusals). */
static void
px_kill(struct bw_l7_conn *c)
{
	px_fd_close(c, PX_CLIENT, 1);
	px_fd_close(c, PX_SERVER, 1);
	c->dead = 1;
}

/*
 * Read away what a socket holds (so that close() sends a FIN, not a
 * reset, and the peer reads our last bytes). 1 at EOF or error.
 */
static int
px_drain(struct bw_l7_conn *c, int i)
{
	uint8_t scratch[4096];

	for (;;) {
		ssize_t n = read(c->fd[i], scratch, sizeof(scratch));

		if (n > 0) {
			c->lingered += (uint32_t)n;
			if (c->lingered > PX_LINGER_BYTES)
				return 1;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return 1;
	}
}

/* Both outputs are flushed (or cannot be): send FINs, then linger. */
static void
px_finish(struct bw_l7_conn *c)
{
	for (int i = 0; i < 2; i++)
		if (c->fd[i] >= 0)
			shutdown(c->fd[i], SHUT_WR);
	c->linger = 1;
	c->linger_ms = px.now_ms;
	/* the server side needs no linger: nothing of ours is unread there */
	px_fd_close(c, PX_SERVER, 0);
	if (c->fd[PX_CLIENT] < 0 || px_drain(c, PX_CLIENT)) {
		px_fd_close(c, PX_CLIENT, 0);
		c->dead = 1;
	}
}

/* Enter the closing state: stop reading, flush, close. */
static void
px_close_soon(struct bw_l7_conn *c)
{
	c->closing = 1;
	for (int d = 0; d < 2; d++) {
		struct px_side *s = &c->side[d];

		/* what is undecided is never sent */
		s->tail = s->head + s->held;
		s->pass_left = s->drop_left = 0;
		s->since_ms = 0;
		if (s->post != NULL) {
			if (s->seg_tail != NULL)
				s->seg_tail->next = s->post;
			else
				s->seg = s->post;
			s->seg_tail = s->post_tail;
			s->post = s->post_tail = NULL;
		}
	}
}

/* The server is unreachable or broke the connection. */
static void
px_upstream_failed(struct bw_l7_conn *c, int err)
{
	px_stats.upstream_errors++;
	bw_debug("proxy: connection to the server failed: %s", strerror(err));
	px_fd_close(c, PX_SERVER, 1);
	c->connecting = 0;
	/* what was going to the server is gone */
	px_side_free(&c->side[PX_REQ]);
	c->side[PX_REQ].shut = 1;
	if (c->opened && c->parser->p.abort != NULL && !c->closing) {
		c->deciding = -1;
		c->parser->p.abort(c->state, BW_L7_ABORT_UPSTREAM, PX_REQ);
	}
	if (c->side[PX_REP].out == 0 && c->side[PX_REP].seg == NULL) {
		px_kill(c); /* nothing to tell the client: reset, as the server did */
		return;
	}
	px_close_soon(c);
}

/* ---- reading, deciding, writing ------------------------------------------------------ */

/* Room at the buffer's end: compact, allocate, or grow for a message head. */
static int
px_room(struct bw_l7_conn *c, struct px_side *s)
{
	uint32_t want;
	uint8_t *nb;

	if (s->buf == NULL) {
		if ((s->buf = px_buf_get(px.lim.buffer_size)) == NULL)
			return -ENOMEM;
		s->cap = px.lim.buffer_size;
		s->head = s->tail = 0;
	}
	if (s->tail < s->cap)
		return 0;
	if (s->head > 0) {
		memmove(s->buf, s->buf + s->head, s->tail - s->head);
		s->tail -= s->head;
		s->head = 0;
		return 0;
	}
	/* full of bytes: grow only for a parser waiting on a long head */
	if (s->held != 0 || s->need <= px_undecided(s) || s->tunnel ||
	    s->pass_left > 0 || s->drop_left > 0)
		return -ENOSPC;
	if (s->cap >= px.lim.max_message_head)
		return -ENOSPC;
	want = s->cap * 2;
	if (want > px.lim.max_message_head)
		want = px.lim.max_message_head;
	if (want < s->need && s->need <= px.lim.max_message_head)
		want = s->need;
	if ((nb = malloc(want)) == NULL)
		return -ENOMEM;
	memcpy(nb, s->buf, s->tail);
	px_buf_put(s->buf, s->cap);
	px_stats.buffer_bytes += want;
	s->buf = nb;
	s->cap = want;
	return 0;
}

/* Read from fd[d] into side d. 1 when bytes (or EOF) came in. */
static int
px_read(struct bw_l7_conn *c, int d, uint32_t *budget)
{
	struct px_side *s = &c->side[d];
	int progress = 0, rc;

	while (s->readable && !s->eos && !c->closing && c->fd[d] >= 0 &&
	       !(d == PX_REP && c->connecting) && *budget > 0) {
		uint32_t room;
		ssize_t n;

		if ((rc = px_room(c, s)) < 0) {
			if (rc == -ENOMEM)
				px_kill(c);
			break; /* -ENOSPC: backpressure, stay readable */
		}
		room = s->cap - s->tail;
		n = read(c->fd[d], s->buf + s->tail, room);
		if (n > 0) {
			s->tail += (uint32_t)n;
			*budget = (uint32_t)n >= *budget ? 0 : *budget - (uint32_t)n;
			c->last_ms = px.now_ms;
			progress = 1;
			/* a short read empties the socket; epoll says when
			 * more (or the FIN) arrives */
			if ((uint32_t)n < room && px.has_rdhup && !s->rdhup)
				s->readable = 0;
			/* after EPOLLRDHUP every byte before the FIN was queued:
			 * a short read took them all, the FIN is next (no
			 * read() returning 0 needed) */
			if ((uint32_t)n < room && s->rdhup) {
				s->eos = 1;
				s->readable = 0;
				break;
			}
			continue;
		}
		if (n == 0) {
			s->eos = 1;
			s->readable = 0;
			progress = 1;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			s->readable = 0;
			break;
		}
		/* a reset or another error */
		if (d == PX_SERVER)
			px_upstream_failed(c, errno);
		else
			px_kill(c);
		return 1;
	}
	if (s->readable && *budget == 0 && !c->dead)
		event_active(&c->ev[d], EV_READ, 0);
	return progress;
}

/* Apply the injections a data() call made into its own direction. */
static void
px_post(struct px_side *s)
{
	if (s->post == NULL)
		return;
	if (s->seg_tail != NULL)
		s->seg_tail->next = s->post;
	else
		s->seg = s->post;
	s->seg_tail = s->post_tail;
	s->post = s->post_tail = NULL;
}

static void
px_abort(struct bw_l7_conn *c, enum bw_l7_abort why, int d)
{
	if (c->parser->p.abort != NULL) {
		c->deciding = -1;
		c->busy++;
		c->parser->p.abort(c->state, why, (enum bw_l7_dir)d);
		c->busy--;
	}
	px_close_soon(c);
}

/* Let the parser decide on side d's undecided bytes. 1 on progress. */
static int
px_decide(struct bw_l7_conn *c, int d)
{
	struct px_side *s = &c->side[d];
	struct bw_l7_input in;
	int progress = 0, op;
	size_t n;

	while (!c->closing && !c->dead) {
		uint32_t avail = px_undecided(s), k;

		if (s->eos && avail == 0 && (s->pass_left > 0 || s->drop_left > 0)) {
			/* the sender closed in the middle of a message */
			s->pass_left = s->drop_left = 0;
			s->notify = 1;
		}
		if (s->tunnel || s->pass_left > 0) {
			k = s->tunnel ? avail
			    : (uint32_t)(s->pass_left < avail ? s->pass_left : avail);
			if (k == 0)
				break;
			if (px_take(s, k, 0) < 0) {
				px_kill(c);
				break;
			}
			if (!s->tunnel) {
				s->pass_left -= k;
				s->notify = s->pass_left == 0;
			}
			progress = 1;
			continue;
		}
		if (s->drop_left > 0) {
			k = (uint32_t)(s->drop_left < avail ? s->drop_left : avail);
			if (k == 0)
				break;
			if (px_take(s, k, 1) < 0) {
				px_kill(c);
				break;
			}
			s->drop_left -= k;
			s->notify = s->drop_left == 0;
			progress = 1;
			continue;
		}
		if (avail == 0 && !s->notify && !(s->eos && !s->eos_told))
			break;
		if (avail < s->need && !s->eos && !s->notify)
			break;
		if (s->wait || c->own > PX_INJECT_MAX)
			break;
		if (c->fd[1 - d] < 0 && d == PX_REQ && !c->connecting)
			break; /* the server is gone */

		memset(&in, 0, sizeof(in));
		in.size = sizeof(in);
		in.dir = (enum bw_l7_dir)d;
		in.data = s->buf != NULL ? s->buf + s->head + s->held : NULL;
		in.len = avail;
		in.eos = s->eos;
		in.rules = c->rules != NULL ? c->rules->compiled : NULL;
		in.now_ns = px_clock_ns();
		n = 0;
		c->deciding = d;
		op = c->parser->p.data(c->state, &in, &n);
		c->deciding = -1;
		if (c->dead)
			break;
		s->need = 0;
		s->notify = 0;
		if (s->eos)
			s->eos_told = 1;
		c->side[1 - d].wait = 0; /* the other side may go on */
		progress = 1;
		switch (op) {
		case BW_L7_MORE:
			if (s->eos) { /* an incomplete message at the end */
				s->tail = s->head + s->held;
				s->since_ms = 0;
				px_post(s);
				goto out;
			}
			s->need = n > avail ? (uint32_t)(n > UINT32_MAX ? UINT32_MAX : n)
					    : avail + 1;
			/* the head timer runs from the first byte of a message */
			if (s->since_ms == 0 && avail > 0)
				s->since_ms = px.now_ms;
			px_post(s);
			if (s->need > px.lim.max_message_head) {
				px_stats.too_large++;
				px_abort(c, BW_L7_ABORT_TOO_LARGE, d);
			}
			goto out;
		case BW_L7_PASS:
		case BW_L7_DROP:
			k = n < avail ? (uint32_t)n : avail;
			if (px_take(s, k, op == BW_L7_DROP) < 0) {
				px_kill(c);
				goto out;
			}
			if (op == BW_L7_PASS)
				s->pass_left = n - k;
			else
				s->drop_left = n - k;
			/* a message is decided: the next one's head timer starts
			 * when the parser asks for more of it (MORE), not while
			 * it waits for the other direction (a pipelined request
			 * behind a slow response) */
			s->since_ms = 0;
			/* PASS 0 with bytes waiting is fine after an injection
			 * ("inject here"); without one nothing can progress */
			if (n == 0 && avail > 0 && s->post == NULL) {
				px_stats.parse_errors++;
				c->parser->parse_errors++;
				px_kill(c);
				goto out;
			}
			px_post(s);
			break;
		case BW_L7_WAIT:
			s->wait = 1;
			s->since_ms = 0; /* the bytes are complete; the other side is slow */
			px_post(s);
			goto out;
		case BW_L7_CLOSE:
			/* pass *n bytes first (a response before a last word) */
			k = n < avail ? (uint32_t)n : avail;
			if (px_take(s, k, 0) < 0) {
				px_kill(c);
				goto out;
			}
			px_post(s);
			px_close_soon(c);
			goto out;
		case BW_L7_TUNNEL:
			s->tunnel = 1;
			s->since_ms = 0;
			px_post(s);
			break;
		default:
			px_stats.parse_errors++;
			c->parser->parse_errors++;
			bw_debug("proxy: parser '%s' failed: %s", c->parser->p.name,
				 op < 0 ? strerror(-op) : "bad operation");
			px_kill(c);
			goto out;
		}
		if (s->eos && px_undecided(s) == 0 && s->pass_left == 0 &&
		    s->drop_left == 0)
			break;
	}
out:
	return progress;
}

/* Write side d's output to fd[1 - d]. 1 on progress. */
static int
px_flush(struct bw_l7_conn *c, int d)
{
	struct px_side *s = &c->side[d];
	int dst = 1 - d, progress = 0;

	if (c->fd[dst] < 0 || (dst == PX_SERVER && c->connecting))
		return 0;
	while (c->writable[dst]) {
		const uint8_t *p;
		uint32_t len;
		ssize_t w;

		if (s->out > 0) {
			p = s->buf + s->head;
			len = s->out;
		} else if (s->seg != NULL) {
			struct px_seg *g = s->seg;

			if (g->type != PX_SEG_OWN) {
				if (g->type == PX_SEG_IN) {
					s->out = g->n;
				} else {
					s->head += g->n;
					s->held -= g->n;
				}
				s->seg = g->next;
				if (s->seg == NULL)
					s->seg_tail = NULL;
				free(g);
				continue;
			}
			p = g->data + g->off;
			len = g->n - g->off;
		} else {
			break;
		}
		w = send(c->fd[dst], p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				c->writable[dst] = 0;
				break;
			}
			if (dst == PX_SERVER)
				px_upstream_failed(c, errno);
			else
				px_kill(c);
			return 1;
		}
		progress = 1;
		c->last_ms = px.now_ms;
		if (s->out > 0) {
			s->head += (uint32_t)w;
			s->out -= (uint32_t)w;
			s->held -= (uint32_t)w;
		} else {
			struct px_seg *g = s->seg;

			g->off += (uint32_t)w;
			c->own -= (uint32_t)w;
			if (g->off == g->n) {
				s->seg = g->next;
				if (s->seg == NULL)
					s->seg_tail = NULL;
				free(g);
			}
		}
		if ((uint32_t)w < len) {
			c->writable[dst] = 0;
			break;
		}
	}
	if (s->head == s->tail) {
		s->head = s->tail = 0;
		if (s->out == 0 && s->seg == NULL && s->post == NULL)
			px_side_trim(s);
	}
	return progress;
}

static int
px_side_flushed(const struct px_side *s)
{
	return s->out == 0 && s->seg == NULL && s->post == NULL;
}

/* Propagate half-closes; close when both directions are done. */
static void
px_check_done(struct bw_l7_conn *c)
{
	if (c->dead || c->linger)
		return;
	if (c->closing) {
		int done = 1;

		for (int d = 0; d < 2; d++)
			if (c->fd[1 - d] >= 0 && !px_side_flushed(&c->side[d]) &&
			    !(1 - d == PX_SERVER && c->connecting))
				done = 0;
		if (done)
			px_finish(c);
		return;
	}
	for (int d = 0; d < 2; d++) {
		struct px_side *s = &c->side[d];

		if (s->shut || !s->eos || (!s->eos_told && !s->tunnel))
			continue;
		if (px_undecided(s) > 0 || s->pass_left > 0 || s->drop_left > 0)
			continue;
		if (!px_side_flushed(s) || c->fd[1 - d] < 0 ||
		    (d == PX_REQ && c->connecting))
			continue;
		/* the last direction: close() both sockets right after sends
		 * this FIN (everything from that socket was read) */
		if (!c->side[1 - d].shut)
			shutdown(c->fd[1 - d], SHUT_WR);
		s->shut = 1;
	}
	if (c->side[PX_REQ].shut && c->side[PX_REP].shut)
		c->dead = 1; /* both FINs passed on: close both sockets */
}

static void
px_run(struct bw_l7_conn *c)
{
	uint32_t budget[2] = { PX_READ_BUDGET, PX_READ_BUDGET };
	int progress = 1, rounds = 0;

	while (progress && !c->dead && !c->linger && rounds++ < 64) {
		progress = 0;
		for (int d = 0; d < 2 && !c->dead; d++) {
			progress |= px_read(c, d, &budget[d]);
			if (!c->dead)
				progress |= px_decide(c, d);
			if (!c->dead)
				progress |= px_flush(c, d);
		}
	}
	px_check_done(c);
}

/* ---- events --------------------------------------------------------------------------- */

/*
 * The upstream connect finished. Whether it failed shows in the first
 * read or send on the socket (ECONNREFUSED, ...), which end in
 * px_upstream_failed() like any upstream error: no SO_ERROR round trip.
 */
static void
px_connected(struct bw_l7_conn *c)
{
	c->connecting = 0;
}

static void
px_conn_event(evutil_socket_t fd, short what, void *arg)
{
	struct bw_l7_conn *c = arg;
	int i = fd == c->fd[PX_CLIENT] ? PX_CLIENT : PX_SERVER;

	px.now_ms = px_clock_ms();
	c->busy++;
	if (c->linger) {
		if (i == PX_CLIENT && (what & (EV_READ | EV_CLOSED)) &&
		    px_drain(c, PX_CLIENT)) {
			px_fd_close(c, PX_CLIENT, 0);
			c->dead = 1;
		}
		px_release(c);
		return;
	}
	if (what & EV_WRITE) {
		c->writable[i] = 1;
		if (i == PX_SERVER && c->connecting)
			px_connected(c);
	}
	if (what & (EV_READ | EV_CLOSED)) {
		c->side[i].readable = 1;
		if (what & EV_CLOSED)
			c->side[i].rdhup = 1;
	}
	if (!c->dead)
		px_run(c);
	px_release(c);
}

/* ---- accepting ---------------------------------------------------------------------------- */

static char *
px_strdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static int
px_upstream_open(struct px_listener *l, const struct bw_proxy_target *t, int *fd)
{
	int s;

	if (l->ops.upstream_socket != NULL)
		return l->ops.upstream_socket(l->ops.arg, t, fd);
	s = socket(t->upstream.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	*fd = s;
	return 0;
}

static void
px_conn_setup(struct px_listener *l, int cfd, struct bw_proxy_target *t)
{
	struct px_parser *p = px_parser_lookup(t->parser != NULL ? t->parser : "");
	struct bw_l7_conn *c;
	int sfd = -1, rc;

	if (p == NULL && t->upstream_fd >= 0)
		close(t->upstream_fd);
	if (p == NULL) {
		px_stats.refused++;
		if (!l->log_once++)
			bw_warn("proxy: %s: no L7 parser '%s' is loaded; "
				"refusing its connections (logged once)",
				l->name, t->parser != NULL ? t->parser : "");
		bw_proxy_ruleset_unref(t->rules);
		px_close_rst(cfd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		if (t->upstream_fd >= 0)
			close(t->upstream_fd);
		bw_proxy_ruleset_unref(t->rules);
		px_close_rst(cfd);
		px_stats.refused++;
		return;
	}
	c->fd[PX_CLIENT] = cfd;
	c->fd[PX_SERVER] = -1;
	c->deciding = -1;
	c->parser = p;
	c->rules = t->rules;
	c->info = t->info;
	c->info.size = sizeof(c->info);
	c->ep_ns = px_strdup(t->info.endpoint_ns);
	c->ep_pod = px_strdup(t->info.endpoint_pod);
	c->info.endpoint_ns = c->ep_ns;
	c->info.endpoint_pod = c->ep_pod;
	c->info.visibility_only = t->rules == NULL;
	c->lst = l;
	c->start_ms = c->last_ms = px.now_ms;
	c->writable[PX_CLIENT] = 1;
	c->next = px.conns;
	if (px.conns != NULL)
		px.conns->prev = c;
	px.conns = c;
	px_stats.active++;
	px_stats.accepted++;
	p->conns++;
	p->active++;
	c->busy = 1; /* cfd has TCP_NODELAY from the listener */

	if (t->upstream_fd >= 0) {
		/* the redirect opened it, connect in progress */
		c->fd[PX_SERVER] = t->upstream_fd;
		t->upstream_fd = -1;
		px_nodelay(c->fd[PX_SERVER]);
		c->connecting = 1;
		goto opened;
	}
	if ((rc = px_upstream_open(l, t, &sfd)) < 0) {
		bw_debug("proxy: %s: cannot open a socket to the server: %s",
			 l->name, strerror(-rc));
		px_stats.upstream_errors++;
		px_kill(c);
		goto out;
	}
	c->fd[PX_SERVER] = sfd;
	px_nodelay(sfd);
	if (connect(sfd, (const struct sockaddr *)&t->upstream, t->upstream_len) < 0) {
		if (errno != EINPROGRESS) {
			px_stats.upstream_errors++;
			px_kill(c);
			goto out;
		}
		c->connecting = 1;
	} else {
		c->writable[PX_SERVER] = 1;
	}
opened:
	if ((rc = p->p.conn_open(p->p.user_data, c, &c->info, &c->state)) < 0) {
		bw_debug("proxy: parser '%s' refused a connection: %s", p->p.name,
			 strerror(-rc));
		px_stats.parse_errors++;
		px_kill(c);
		goto out;
	}
	c->opened = 1;
	for (int i = 0; i < 2; i++) {
		short ev = EV_READ | EV_WRITE | EV_PERSIST | EV_ET;

		if (px.has_rdhup)
			ev |= EV_CLOSED;
		if (event_assign(&c->ev[i], px.base, c->fd[i], ev, px_conn_event, c) < 0 ||
		    event_add(&c->ev[i], NULL) < 0) {
			bw_err("proxy: cannot watch a connection's socket");
			/* the events that were added go with px_kill's closes */
			px_kill(c);
			goto out;
		}
	}
	/* a request may be waiting already: read it when the loop gets to it */
	c->side[PX_REQ].readable = 1;
	px_run(c);
out:
	px_release(c);
}

static void
px_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct px_listener *l = arg;

	px.now_ms = px_clock_ms();
	for (int i = 0; i < PX_ACCEPT_BATCH; i++) {
		struct sockaddr_storage peer, local;
		socklen_t plen = sizeof(peer), llen = sizeof(local);
		struct bw_proxy_target t;
		int cfd, rc;

		cfd = accept4(lfd, (struct sockaddr *)&peer, &plen,
			      SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && !l->log_once++)
				bw_warn("proxy: %s: accept: %s (logged once)",
					l->name, strerror(errno));
			break;
		}
		if (px_stats.active >= px.lim.max_connections) {
			px_stats.refused++;
			if (!px.log_limit++)
				bw_warn("proxy: %u connections open, the limit "
					"([proxy] max_connections): refusing new "
					"ones (logged once)", px_stats.active);
			px_close_rst(cfd);
			continue;
		}
		if (getsockname(cfd, (struct sockaddr *)&local, &llen) < 0) {
			px_stats.refused++;
			px_close_rst(cfd);
			continue;
		}
		memset(&t, 0, sizeof(t));
		t.want_upstream = 1;
		t.upstream_fd = -1;
		rc = l->ops.classify(l->ops.arg, cfd, (struct sockaddr *)&peer,
				     (struct sockaddr *)&local, &t);
		if (rc < 0) {
			px_stats.refused++;
			bw_debug("proxy: %s: connection refused by the redirect: %s",
				 l->name, strerror(-rc));
			bw_proxy_ruleset_unref(t.rules);
			if (t.upstream_fd >= 0)
				close(t.upstream_fd);
			px_close_rst(cfd);
			continue;
		}
		if (t.upstream_len == 0) {
			t.upstream = local;
			t.upstream_len = llen;
		}
		px_conn_setup(l, cfd, &t);
	}
}

int
bw_proxy_listener_add(const char *name, int fd,
		      const struct bw_proxy_redirect_ops *ops)
{
	struct px_listener *l;

	if (px.base == NULL)
		return -ENXIO;
	if (fd < 0 || ops == NULL || ops->classify == NULL || name == NULL)
		return -EINVAL;
	if ((l = calloc(1, sizeof(*l))) == NULL || (l->name = strdup(name)) == NULL) {
		free(l);
		return -ENOMEM;
	}
	evutil_make_socket_nonblocking(fd);
	/* accepted sockets inherit it: one setsockopt per listener, not per
	 * connection */
	px_nodelay(fd);
	l->fd = fd;
	l->ops = *ops;
	l->id = px.next_listener++;
	if (event_assign(&l->ev, px.base, fd, EV_READ | EV_PERSIST, px_accept, l) < 0 ||
	    event_add(&l->ev, NULL) < 0) {
		free(l->name);
		free(l);
		return -EIO;
	}
	l->next = px.listeners;
	px.listeners = l;
	px_stats.listeners++;
	return l->id;
}

static void
px_listener_free(struct px_listener *l)
{
	event_del(&l->ev);
	close(l->fd);
	for (struct bw_l7_conn *c = px.conns; c != NULL; c = c->next)
		if (c->lst == l)
			c->lst = NULL;
	free(l->name);
	free(l);
	px_stats.listeners--;
}

void
bw_proxy_listener_remove(int id)
{
	for (struct px_listener **pp = &px.listeners; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			struct px_listener *l = *pp;

			*pp = l->next;
			px_listener_free(l);
			return;
		}
	}
}

/* ---- policy changes ------------------------------------------------------------------- */

void
bw_proxy_reclassify(void)
{
	px.now_ms = px_clock_ms();
	for (struct bw_l7_conn *c = px.conns; c != NULL; c = c->next) {
		struct sockaddr_storage peer, local;
		struct bw_proxy_target t;
		int rc;

		if (c->lst == NULL || c->dead || c->closing || c->fd[PX_CLIENT] < 0)
			continue;
		px_sockaddr(&peer, c->info.ip_version, c->info.client_addr,
			    c->info.client_port);
		px_sockaddr(&local, c->info.ip_version, c->info.server_addr,
			    c->info.server_port);
		memset(&t, 0, sizeof(t));
		t.upstream_fd = -1;
		rc = c->lst->ops.classify(c->lst->ops.arg, c->fd[PX_CLIENT],
					  (struct sockaddr *)&peer,
					  (struct sockaddr *)&local, &t);
		if (rc == -ENOENT || (rc == 0 && t.parser != NULL &&
				      strcmp(t.parser, c->parser->p.name) != 0)) {
			/* no longer inspected here: every request passes */
			bw_proxy_ruleset_unref(t.rules);
			t.rules = NULL;
		} else if (rc < 0) {
			c->busy++;
			px_kill(c);
			px_release(c);
			continue;
		}
		bw_proxy_ruleset_unref(c->rules);
		c->rules = t.rules;
		c->info.visibility_only = c->rules == NULL;
	}
}

/* ---- timers ---------------------------------------------------------------------------- */

static void
px_tick(evutil_socket_t fd, short what, void *arg)
{
	struct bw_l7_conn *c, *next;

	px.now_ms = px_clock_ms();
	for (c = px.conns; c != NULL; c = next) {
		next = c->next;
		c->busy++;
		if (c->linger) {
			if (px.now_ms - c->linger_ms >= PX_LINGER_MS) {
				px_fd_close(c, PX_CLIENT, 0);
				c->dead = 1;
			}
		} else if (c->connecting && px.lim.connect_timeout_ms > 0 &&
			   px.now_ms - c->start_ms >= px.lim.connect_timeout_ms) {
			px_upstream_failed(c, ETIMEDOUT);
			px_run(c);
		} else if (!c->closing) {
			int fired = 0;

			for (int d = 0; d < 2 && !fired; d++) {
				struct px_side *s = &c->side[d];

				if (s->since_ms != 0 && px.lim.head_timeout_ms > 0 &&
				    px.now_ms - s->since_ms >= px.lim.head_timeout_ms) {
					px_stats.timeouts_head++;
					px_abort(c, BW_L7_ABORT_TIMEOUT, d);
					fired = 1;
				}
			}
			if (!fired && px.lim.idle_timeout_ms > 0 &&
			    px.now_ms - c->last_ms >= px.lim.idle_timeout_ms) {
				px_stats.timeouts_idle++;
				px_close_soon(c);
				fired = 1;
			}
			if (fired)
				px_run(c);
		}
		px_release(c);
	}
}

/* ---- life cycle --------------------------------------------------------------------------- */

void
bw_proxy_set_limits(const struct bw_proxy_limits *lim)
{
	px.lim = *lim;
	if (px.lim.buffer_size < 1024)
		px.lim.buffer_size = 1024;
	if (px.lim.max_message_head < px.lim.buffer_size)
		px.lim.max_message_head = px.lim.buffer_size;
	if (px.pool_size != px.lim.buffer_size)
		px_pool_reset(px.lim.buffer_size);
	px.log_limit = 0;
}

void
bw_proxy_get_limits(struct bw_proxy_limits *lim)
{
	*lim = px.lim;
}

int
px_engine_start(struct event_base *base)
{
	struct timeval tv = { 0, PX_TICK_MS * 1000 };
	int features = event_base_get_features(base);

	if (!(features & EV_FEATURE_ET)) {
		bw_err("proxy: the event loop's backend (%s) has no edge-triggered "
		       "events", event_base_get_method(base));
		return -ENOTSUP;
	}
	px.base = base;
	px.has_rdhup = (features & EV_FEATURE_EARLY_CLOSE) != 0;
	px.now_ms = px_clock_ms();
	px_pool_reset(px.lim.buffer_size);
	px.tick = event_new(base, -1, EV_PERSIST, px_tick, NULL);
	if (px.tick == NULL || event_add(px.tick, &tv) < 0) {
		bw_err("proxy: cannot start the engine's timer");
		return -ENOMEM;
	}
	return 0;
}

/* Close a connection as cleanly as we can without waiting. */
static void
px_conn_shutdown(struct bw_l7_conn *c)
{
	c->busy++;
	if (!c->dead && !c->linger) {
		px_close_soon(c);
		for (int d = 0; d < 2; d++)
			px_flush(c, d);
	}
	for (int i = 0; i < 2; i++) {
		if (c->fd[i] < 0)
			continue;
		shutdown(c->fd[i], SHUT_WR);
		px_drain(c, i);
		px_fd_close(c, i, 0);
	}
	c->dead = 1;
	px_release(c);
}

void
px_engine_close_parser(struct px_parser *p)
{
	struct bw_l7_conn *c, *next;

	for (c = px.conns; c != NULL; c = next) {
		next = c->next;
		if (c->parser == p)
			px_conn_shutdown(c);
	}
}

void
bw_proxy_stop(void)
{
	unsigned n = px_stats.active;

	px_redirect_stop();
	while (px.listeners != NULL) {
		struct px_listener *l = px.listeners;

		px.listeners = l->next;
		px_listener_free(l);
	}
	while (px.conns != NULL)
		px_conn_shutdown(px.conns);
	if (n > 0)
		bw_notice("proxy: %u connection(s) closed", n);
	if (px.tick != NULL) {
		event_free(px.tick);
		px.tick = NULL;
	}
}

void
px_engine_fini(void)
{
	bw_proxy_stop();
	while (px.npool > 0)
		free(px.pool[--px.npool]);
	free(px.pool);
	px.pool = NULL;
	px.base = NULL;
}

void
bw_proxy_stats_get(struct bw_proxy_stats *st)
{
	*st = px_stats;
}
