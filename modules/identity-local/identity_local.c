/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/identity-local/identity_local.c - the node-local identity
 * allocator.
 *
 * Maps canonical label sets to numeric identities without a cluster store:
 * global-scope identities from 256 (Cilium's minimal numeric identity) to
 * 65535, node-local ones (CIDR, FQDN) from 0x01000001. Equal label sets get
 * equal numbers. The table is kept in <state_dir>/<instance>/identities.json
 * (written atomically: temporary file, fsync, rename, directory fsync), so
 * a restart hands out the same numbers. A label set nobody references any
 * more keeps its number for keep_released (persisted too), so an endpoint
 * that comes back - or a daemon that restarts and restores its endpoints -
 * finds its old identity.
 *
 * Saves are coalesced: a change marks the table dirty and schedules one
 * zero-delay event on the daemon's loop, so a request that allocates 10,000
 * CIDR identities writes the file once, after its handler has returned
 * (instead of 10,000 times, each rewrite as long as the table: quadratic).
 * A save that changes few entries of a long table does not rewrite it
 * either: it appends the changed entries to identities.json.journal (one
 * JSON record per line, not fsync'ed: it survives the daemon, which is
 * what the file is for), and the table is rewritten once the journal holds
 * more records than the table has entries, or more changes come at once
 * than half of it. Loading replays the journal over the file. Without this
 * a busy node (pods with labels of their own, each a new number kept for
 * keep_released) paid for the whole table on every pod it started.
 * The instance's stop and its allocator's release (instance finished or
 * disabled) write what is pending. What a crash can lose is therefore the
 * numbers handed out in the last loop turn; see README.md for why the
 * daemon copes with that. Once a write has failed, new numbers are saved
 * synchronously again and an allocation whose save fails is refused, until
 * a save succeeds.
 *
 * Lookups are O(1) (label sets hashed per scope) and a new number costs
 * O(log n) (the lowest free number by bisection of the sorted table), so N
 * allocations cost O(N log N) plus the table's array inserts.
 *
 * The module relies on nothing but the service table it is given (and
 * libevent for the save event, on the loop the table hands out).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include <bulwark/module.h>

#include "lib/atomicfile.h"

#define IDL_FILE "identities.json"
#define IDL_MAX_BYTES (256 << 20) /* a larger file is refused, not read */
#define IDL_VERSION 1
#define IDL_MIN_GLOBAL 256u
#define IDL_MAX_GLOBAL 65535u
#define IDL_MIN_LOCAL 0x01000001u
#define IDL_MAX_LOCAL 0x01ffffffu

struct idl_conf {
	int64_t keep_released; /* ms */
};

static const struct bw_conf_key idl_keys[] = {
	{ "keep_released", BW_CONF_DURATION, "24h", offsetof(struct idl_conf, keep_released),
	  0, 0, NULL, BW_CONF_F_RELOADABLE,
	  "how long a label set no endpoint uses keeps its number (0 = forget at once)" },
	BW_CONF_KEY_END,
};

struct idl_entry {
	uint32_t id;
	char *labels;      /* canonical text */
	unsigned refs;
	int local;
	int64_t released;  /* unix time the last reference went, 0 while in use */
	uint64_t hash;     /* of (local, labels) */
	struct idl_entry *hnext; /* hash chain */
};

struct idl {
	const struct bw_core_api *api;
	bw_module_ctx *ctx;
	char *path;
	int64_t keep_s;
	struct idl_entry **v; /* sorted by id */
	size_t n, cap;
	struct idl_entry **hb; /* hash buckets (power of two) */
	size_t nb;
	int64_t gc_due;     /* earliest time a released entry expires; INT64_MAX: none */
	struct event *save_ev; /* zero-delay save on the daemon's loop, or NULL */
	int dirty;          /* the file is behind the table */
	int save_failed;    /* the last write failed: save synchronously */
	int stopped;        /* the loop is stopping: save at free */
	unsigned long saves; /* files written (tests look at it) */
	char *jpath;        /* <path>.journal */
	uint32_t *chg;      /* ids changed since the last save (may repeat) */
	size_t nchg, capchg;
	size_t jn;          /* records in the journal */
	int full;           /* the next save rewrites the table */
	struct bw_identity_allocator alloc;
};

/* The core's table (the same for every instance); reload() needs it. */
static const struct bw_core_api *idl_api;

#define idl_log(s, lvl, ...) (s)->api->log((s)->ctx, (lvl), __VA_ARGS__)

static int64_t idl_now(void)
{
	return (int64_t)time(NULL);
}

/* ---- persistence ---------------------------------------------------------- */

static json_t *idl_entry_json(const struct idl_entry *e)
{
	json_t *labels = json_array();
	const char *p = e->labels;

	while (labels && *p) {
		size_t l = strcspn(p, "\n");

		json_array_append_new(labels, json_stringn(p, l));
		p += l;
		if (*p)
			p++;
	}
	return json_pack("{s:I, s:s, s:o, s:I}", "id", (json_int_t)e->id, "scope",
			 e->local ? "local" : "global", "labels", labels, "released",
			 (json_int_t)(e->refs ? 0 : e->released));
}

static struct idl_entry *idl_find_id(struct idl *s, uint32_t id);

/* Append the changed entries to the journal: {"put": ENTRY} or {"del": ID}. */
static int idl_journal(struct idl *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int fd, rc = 0;

	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < s->nchg; i++) {
		struct idl_entry *e = idl_find_id(s, s->chg[i]);
		json_t *rec = e ? json_pack("{s:o}", "put", idl_entry_json(e))
				: json_pack("{s:I}", "del", (json_int_t)s->chg[i]);
		char *t = rec ? json_dumps(rec, JSON_COMPACT) : NULL;

		json_decref(rec);
		if (!t) {
			rc = -ENOMEM;
			break;
		}
		fprintf(f, "%s\n", t);
		free(t);
	}
	if (fclose(f) != 0 && rc == 0)
		rc = -ENOMEM;
	if (rc == 0) {
		fd = open(s->jpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd < 0) {
			rc = -errno;
		} else {
			for (size_t off = 0; off < len;) {
				ssize_t w = write(fd, buf + off, len - off);

				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0) {
					rc = -errno;
					break;
				}
				off += (size_t)w;
			}
			if (close(fd) < 0 && rc == 0)
				rc = -errno;
		}
	}
	free(buf);
	if (rc == 0)
		s->jn += s->nchg;
	return rc;
}

static int idl_save(struct idl *s)
{
	json_t *a, *doc;
	char *text;
	int rc;

	if (!s->full && s->nchg && s->jn + s->nchg <= 64 + s->n && 2 * s->nchg <= s->n &&
	    access(s->path, F_OK) == 0) {
		rc = idl_journal(s);
		if (rc == 0)
			goto saved;
		/* the table in full, then */
	}
	a = json_array();
	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++)
		json_array_append_new(a, idl_entry_json(s->v[i]));
	doc = json_pack("{s:i, s:o}", "version", IDL_VERSION, "identities", a);
	if (!doc)
		return -ENOMEM;
	text = json_dumps(doc, JSON_INDENT(1));
	json_decref(doc);
	if (!text)
		return -ENOMEM;
	rc = bw_file_write_atomic(s->path, text, strlen(text), 0600);
	free(text);
	if (rc < 0) {
		if (!s->save_failed)
			idl_log(s, BW_LOG_ERR, "cannot write %s: %s", s->path, strerror(-rc));
		s->save_failed = 1;
		return rc;
	}
	/* the file has everything: empty the journal (replaying it again
	 * would give the same table, should that fail) */
	if (truncate(s->jpath, 0) == 0 || errno == ENOENT)
		s->jn = 0;
	s->full = 0;
saved:
	s->nchg = 0;
	if (s->save_failed)
		idl_log(s, BW_LOG_NOTICE, "%s written again", s->path);
	s->save_failed = 0;
	s->dirty = 0;
	s->saves++;
	return 0;
}

/* Write the file now if it is behind the table. */
static int idl_flush(struct idl *s)
{
	return s->dirty ? idl_save(s) : 0;
}

static void idl_save_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	idl_flush(arg); /* logged; retried at the next change and at stop */
}

/* Note that entry id changed (for the journal); 0 if it cannot be noted
 * (the next save then rewrites the table). */
static void idl_note(struct idl *s, uint32_t id)
{
	if (s->nchg == s->capchg) {
		size_t cap = s->capchg ? s->capchg * 2 : 64;
		uint32_t *c = realloc(s->chg, cap * sizeof(*c));

		if (!c) {
			s->full = 1;
			return;
		}
		s->chg = c;
		s->capchg = cap;
	}
	s->chg[s->nchg++] = id;
}

/*
 * The table changed: save at the end of this loop turn (once, however many
 * changes the turn makes). Without a loop (none handed out), synchronously.
 */
static void idl_mark_dirty(struct idl *s)
{
	static const struct timeval now = { 0, 0 };

	s->dirty = 1;
	if (s->stopped)
		return; /* saved when the allocator is released */
	if (!s->save_ev || event_add(s->save_ev, &now) < 0)
		idl_save(s);
}

/* ---- the table ------------------------------------------------------------- */

static uint64_t idl_hash(const char *labels, int local)
{
	uint64_t h = local ? 0x84222325cbf29ce4ULL : 0xcbf29ce484222325ULL; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)labels; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int idl_hash_grow(struct idl *s)
{
	size_t nb = s->nb ? s->nb * 2 : 256;
	struct idl_entry **hb = calloc(nb, sizeof(*hb));

	if (!hb)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		struct idl_entry *e = s->v[i];

		e->hnext = hb[e->hash & (nb - 1)];
		hb[e->hash & (nb - 1)] = e;
	}
	free(s->hb);
	s->hb = hb;
	s->nb = nb;
	return 0;
}

static struct idl_entry *idl_find_labels(struct idl *s, const char *labels, int local)
{
	uint64_t h = idl_hash(labels, local);

	if (!s->nb)
		return NULL;
	for (struct idl_entry *e = s->hb[h & (s->nb - 1)]; e; e = e->hnext)
		if (e->hash == h && !e->local == !local && strcmp(e->labels, labels) == 0)
			return e;
	return NULL;
}

/* Index of the first entry whose id is >= id (s->n if none). */
static size_t idl_lower_bound(struct idl *s, uint32_t id)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->v[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void idl_unhash(struct idl *s, struct idl_entry *e)
{
	struct idl_entry **pp = &s->hb[e->hash & (s->nb - 1)];

	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
}

/* Remove and free the entry at index i. */
static void idl_remove_at(struct idl *s, size_t i)
{
	struct idl_entry *e = s->v[i];

	idl_unhash(s, e);
	memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(s->v[0]));
	s->n--;
	free(e->labels);
	free(e);
}

/* Add an entry (takes labels on success); -EEXIST if id or labels are taken. */
static int idl_insert(struct idl *s, uint32_t id, char *labels, int local,
		      int64_t released, struct idl_entry **out)
{
	struct idl_entry *e;
	size_t pos;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct idl_entry **v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	if (s->n >= s->nb && idl_hash_grow(s) < 0)
		return -ENOMEM;
	pos = idl_lower_bound(s, id);
	if ((pos < s->n && s->v[pos]->id == id) || idl_find_labels(s, labels, local))
		return -EEXIST;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->id = id;
	e->labels = labels;
	e->local = local;
	e->released = released;
	e->hash = idl_hash(labels, local);
	e->hnext = s->hb[e->hash & (s->nb - 1)];
	s->hb[e->hash & (s->nb - 1)] = e;
	memmove(&s->v[pos + 1], &s->v[pos], (s->n - pos) * sizeof(s->v[0]));
	s->v[pos] = e;
	s->n++;
	if (released && released + s->keep_s < s->gc_due)
		s->gc_due = released + s->keep_s;
	if (out)
		*out = e;
	return 0;
}

/*
 * One entry of the file or of a journal record. replace: the journal's
 * newer version of an entry takes its place.
 */
static int idl_load_entry(struct idl *s, const json_t *e, int64_t now, int replace,
			  const char *where, size_t i)
{
	json_t *labels = json_object_get(e, "labels");
	json_int_t id = json_integer_value(json_object_get(e, "id"));
	const char *scope = json_string_value(json_object_get(e, "scope"));
	int local = scope && strcmp(scope, "local") == 0;
	json_int_t released = json_integer_value(json_object_get(e, "released"));
	struct idl_entry *old;
	size_t len = 1;
	char *text;
	int rc;

	if ((local && (id < IDL_MIN_LOCAL || id > IDL_MAX_LOCAL)) ||
	    (!local && (id < IDL_MIN_GLOBAL || id > IDL_MAX_GLOBAL)) || !json_is_array(labels)) {
		idl_log(s, BW_LOG_ERR, "%s: identities[%zu] is not valid", where, i);
		return -EINVAL;
	}
	for (size_t j = 0; j < json_array_size(labels); j++)
		len += strlen(json_string_value(json_array_get(labels, j)) ?: "") + 1;
	text = calloc(1, len);
	if (!text)
		return -ENOMEM;
	for (size_t j = 0; j < json_array_size(labels); j++) {
		if (j)
			strcat(text, "\n");
		strcat(text, json_string_value(json_array_get(labels, j)) ?: "");
	}
	if (replace && (old = idl_find_id(s, (uint32_t)id)))
		idl_remove_at(s, idl_lower_bound(s, old->id));
	/* Nothing references anything until the core restores its
	 * endpoints: the keep period of in-use entries starts now. */
	rc = idl_insert(s, (uint32_t)id, text, local, released ? released : now, NULL);
	if (rc < 0) {
		idl_log(s, BW_LOG_ERR, "%s: identity %lld or its labels listed twice", where,
			(long long)id);
		free(text);
	}
	return rc;
}

/*
 * Read the table. A file that is not the table this module writes (not a
 * regular file, not JSON, another version, no "identities" list) is
 * refused, never read as an empty table: every identity would be
 * numbered afresh while the pinned datapath holds the old numbers.
 */
static int idl_load(struct idl *s)
{
	static const char fix[] =
		"move it away to number identities afresh (policy is recomputed), or restore it";
	json_error_t je;
	json_t *doc, *a;
	int64_t now = idl_now();
	struct stat st;
	FILE *f;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	int rc = 0, fd = open(s->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		if (errno == ENOENT)
			goto journal; /* the journal may hold everything */
		idl_log(s, BW_LOG_ERR, "%s: %s", s->path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > IDL_MAX_BYTES) {
		idl_log(s, BW_LOG_ERR, "%s: %s; %s", s->path,
			S_ISREG(st.st_mode) ? "too large for an identity table" : "not a regular file",
			fix);
		close(fd);
		return -EINVAL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	doc = json_loadf(f, 0, &je);
	fclose(f);
	if (!doc) {
		idl_log(s, BW_LOG_ERR, "%s:%d: %s; %s", s->path, je.line, je.text, fix);
		return -EINVAL;
	}
	if (!json_is_object(doc) || !json_is_integer(json_object_get(doc, "version")) ||
	    json_integer_value(json_object_get(doc, "version")) != IDL_VERSION ||
	    !json_is_array(json_object_get(doc, "identities"))) {
		idl_log(s, BW_LOG_ERR,
			"%s: not an identity table of this version (an object with \"version\": %d and an \"identities\" list); %s",
			s->path, IDL_VERSION, fix);
		json_decref(doc);
		return -EINVAL;
	}
	a = json_object_get(doc, "identities");
	for (size_t i = 0; i < json_array_size(a); i++) {
		rc = idl_load_entry(s, json_array_get(a, i), now, 0, s->path, i);
		if (rc < 0) {
			json_decref(doc);
			return rc;
		}
	}
	json_decref(doc);
journal:
	/* the changes saved since the file was written */
	f = fopen(s->jpath, "re");
	while (f && (n = getline(&line, &cap, f)) >= 0) {
		json_t *rec, *put;

		lineno++;
		if (n == 0 || line[n - 1] != '\n')
			break; /* cut short by a crash */
		rec = json_loadb(line, (size_t)n - 1, 0, &je);
		if (!rec) {
			idl_log(s, BW_LOG_ERR, "%s:%zu: %s", s->jpath, lineno, je.text);
			rc = -EINVAL;
			break;
		}
		put = json_object_get(rec, "put");
		if (put) {
			rc = idl_load_entry(s, put, now, 1, s->jpath, lineno);
		} else {
			struct idl_entry *e = idl_find_id(
				s, (uint32_t)json_integer_value(json_object_get(rec, "del")));

			if (e)
				idl_remove_at(s, idl_lower_bound(s, e->id));
		}
		json_decref(rec);
		if (rc < 0)
			break;
		s->jn++;
	}
	free(line);
	if (f)
		fclose(f);
	if (rc < 0)
		return rc;
	if (s->jn)
		s->full = 1; /* fold the journal in at the next save */
	if (s->n)
		idl_log(s, BW_LOG_INFO, "%zu identities restored from %s", s->n, s->path);
	return 0;
}

/* ---- allocation ----------------------------------------------------------- */

/*
 * Forget released entries whose keep period is over. Walks the table only
 * when one is due (gc_due), so it is not a cost per allocation.
 */
static int idl_gc(struct idl *s)
{
	int64_t now = idl_now(), due = INT64_MAX;
	size_t i = 0;
	int dropped = 0;

	if (now < s->gc_due)
		return 0;
	while (i < s->n) {
		struct idl_entry *e = s->v[i];

		if (e->refs == 0 && e->released && now - e->released >= s->keep_s) {
			idl_note(s, e->id);
			idl_remove_at(s, i);
			dropped++;
		} else {
			if (e->refs == 0 && e->released && e->released + s->keep_s < due)
				due = e->released + s->keep_s;
			i++;
		}
	}
	s->gc_due = due;
	if (dropped)
		idl_mark_dirty(s);
	return dropped;
}

static struct idl_entry *idl_find_id(struct idl *s, uint32_t id)
{
	size_t i = idl_lower_bound(s, id);

	return i < s->n && s->v[i]->id == id ? s->v[i] : NULL;
}

/*
 * Lowest number of [min, max] no entry holds, or 0. The ids are distinct
 * and sorted, so from the first entry >= min, v[first + k] == min + k for
 * every k before the first gap: bisect for it.
 */
static uint32_t idl_free_id(struct idl *s, uint32_t min, uint32_t max)
{
	size_t first = idl_lower_bound(s, min), lo = 0, hi = s->n - first;

	/* Invariant: v[first + k] == min + k for k < lo; not for k >= hi. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->v[first + mid]->id == min + (uint32_t)mid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if ((uint64_t)min + lo > max)
		return 0;
	return min + (uint32_t)lo;
}

static int idl_allocate(void *user_data, const char *labels, int scope_local,
			uint32_t *id)
{
	struct idl *s = user_data;
	struct idl_entry *e = idl_find_labels(s, labels, scope_local);
	uint32_t nid;
	char *copy;
	int rc;

	if (e) {
		e->refs++;
		e->released = 0;
		*id = e->id;
		return 0;
	}
	idl_gc(s);
	nid = scope_local ? idl_free_id(s, IDL_MIN_LOCAL, IDL_MAX_LOCAL)
			  : idl_free_id(s, IDL_MIN_GLOBAL, IDL_MAX_GLOBAL);
	if (!nid) {
		idl_log(s, BW_LOG_ERR, "no %s identity left", scope_local ? "local" : "global");
		return -ENOSPC;
	}
	copy = strdup(labels);
	if (!copy)
		return -ENOMEM;
	rc = idl_insert(s, nid, copy, scope_local, 0, &e);
	if (rc < 0) {
		free(copy);
		return rc;
	}
	e->refs = 1;
	idl_note(s, nid);
	if (s->save_failed) {
		/* The disk refused the last write: do not hand out numbers
		 * that may not survive a restart while it still refuses. */
		rc = idl_save(s);
		if (rc < 0) {
			idl_remove_at(s, idl_lower_bound(s, nid));
			return rc;
		}
	} else {
		idl_mark_dirty(s);
	}
	idl_log(s, BW_LOG_DEBUG, "identity %u allocated", nid);
	*id = nid;
	return 0;
}

static int idl_release(void *user_data, uint32_t id)
{
	struct idl *s = user_data;
	struct idl_entry *e = idl_find_id(s, id);

	if (!e || e->refs == 0)
		return -ENOENT;
	if (--e->refs == 0) {
		e->released = idl_now();
		if (e->released + s->keep_s < s->gc_due)
			s->gc_due = e->released + s->keep_s;
		idl_note(s, id);
		if (s->keep_s == 0)
			idl_gc(s);
		idl_mark_dirty(s); /* only the keep period: the number is saved */
	}
	return 0;
}

static int idl_foreach(void *user_data,
		       int (*cb)(uint32_t id, const char *labels, unsigned refs, void *arg),
		       void *arg)
{
	struct idl *s = user_data;

	for (size_t i = 0; i < s->n; i++) {
		int rc = cb(s->v[i]->id, s->v[i]->labels, s->v[i]->refs, arg);

		if (rc)
			return rc;
	}
	return 0;
}

static void idl_destroy(struct idl *s)
{
	if (s->save_ev)
		event_free(s->save_ev);
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i]->labels);
		free(s->v[i]);
	}
	free(s->v);
	free(s->hb);
	free(s->path);
	free(s->jpath);
	free(s->chg);
	free(s);
}

/* The core drops the allocator (instance disabled or finished): write what
 * is pending first. */
static void idl_free(void *user_data)
{
	struct idl *s = user_data;

	idl_flush(s);
	s->api->set_data(s->ctx, NULL);
	idl_destroy(s);
}

/* ---- lifecycle ---------------------------------------------------------------- */

static int idl_init(bw_module_ctx *ctx, const struct bw_core_api *api, void *conf)
{
	const struct idl_conf *c = conf;
	struct idl *s;
	const char *dir;
	int rc;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	idl_api = api;
	s->api = api;
	s->ctx = ctx;
	s->keep_s = c->keep_released / 1000;
	s->gc_due = INT64_MAX;
	if (BW_API_HAS(api, event_base) && api->event_base(ctx)) {
		s->save_ev = event_new(api->event_base(ctx), -1, 0, idl_save_cb, s);
		if (!s->save_ev) {
			free(s);
			return -ENOMEM;
		}
	}
	dir = api->state_dir(ctx);
	if (!dir) {
		rc = -errno;
		api->log(ctx, BW_LOG_ERR, "no state directory: %s", strerror(errno));
		idl_destroy(s);
		return rc ? rc : -ENOENT;
	}
	if (asprintf(&s->path, "%s/%s", dir, IDL_FILE) < 0) {
		s->path = NULL;
		idl_destroy(s);
		return -ENOMEM;
	}
	if (asprintf(&s->jpath, "%s.journal", s->path) < 0) {
		s->jpath = NULL;
		idl_destroy(s);
		return -ENOMEM;
	}
	rc = idl_load(s);
	if (rc < 0)
		goto fail;
	s->alloc.size = sizeof(s->alloc);
	s->alloc.name = "identity-local";
	s->alloc.allocate = idl_allocate;
	s->alloc.release = idl_release;
	s->alloc.foreach = idl_foreach;
	s->alloc.user_data = s;
	s->alloc.free_user_data = idl_free;
	api->set_data(ctx, s);
	rc = api->identity_allocator_register(ctx, &s->alloc);
	if (rc < 0) {
		api->log(ctx, BW_LOG_ERR, "cannot register the identity allocator: %s",
			 strerror(-rc));
		api->set_data(ctx, NULL);
		goto fail;
	}
	return 0;
fail:
	idl_destroy(s);
	return rc;
}

static int idl_reload(bw_module_ctx *ctx, const void *new_conf)
{
	const struct idl_conf *c = new_conf;
	struct idl *s = idl_api ? idl_api->get_data(ctx) : NULL;

	if (!s)
		return -ENOTSUP;
	s->keep_s = c->keep_released / 1000;
	s->gc_due = INT64_MIN; /* the next allocation sweeps with the new period */
	return 0;
}

/* The loop is stopping: write what is pending; later changes (the core's
 * teardown releasing identities) are written when the allocator goes. */
static void idl_stop(bw_module_ctx *ctx)
{
	struct idl *s = idl_api ? idl_api->get_data(ctx) : NULL;

	if (!s)
		return;
	if (s->save_ev)
		event_del(s->save_ev);
	s->stopped = 1;
	idl_flush(s);
}

BW_MODULE_DEFINE(.name = "identity-local", .version = "1.0",
		 .description = "node-local identity allocator, persisted in the state directory",
		 .conf_keys = idl_keys, .conf_size = sizeof(struct idl_conf),
		 .init = idl_init, .reload = idl_reload, .stop = idl_stop);
