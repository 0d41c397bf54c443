/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/policydir.c - the policy.dir watcher.
 *
 * Every *.yaml, *.yml and *.json file of policy.dir (not hidden ones) is a
 * policy source of its own: its policies are exactly the file's documents.
 * The directory is read at start and watched with inotify through the
 * event loop; a burst of events is folded into one rescan a moment later.
 * A rescan re-reads each file, skips those whose content did not change,
 * applies the changed ones file by file (all or nothing per file) and drops
 * the policies of files that went away. A file that does not parse,
 * translate or compile is refused as a whole: the error, naming the file,
 * document, line, field and reason, is logged and shown in GET /v1/status,
 * and the policies the file had before stay in force.
 *
 * Only complete files are applied: a file is read once it was closed after
 * writing (inotify IN_CLOSE_WRITE) or renamed into place (IN_MOVED_TO); one
 * that was modified and is still open for writing is left as it was (its
 * earlier version stays in force) and shown as pending in the status.
 * Only regular files are read (symbolic links to them too, as a ConfigMap
 * volume has), never blocking: a FIFO or a directory with a policy name is
 * shown as refused, as is a file larger than 16 MiB. When a file or the
 * directory cannot be read for lack of resources (EMFILE, ENFILE, ENOMEM)
 * the scan is tried again a second later, until it succeeds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/datapath/datapath.h"
#include "core/log.h"
#include "core/policy/policy_int.h"
#include "core/state.h"

#define PD_MAX_FILE (16u * 1024 * 1024)

struct pd_file {
	char *path;
	uint64_t hash;
	int seen;
	int pending;  /* modified and not closed yet: not read */
	char *error;  /* last refusal, or NULL */
};

static struct {
	struct event_base *base;
	char *dir;
	int fd;
	struct event *ev;
	struct event *timer;
	struct event *retry;  /* a scan that lacked resources, again */
	struct pd_file *files;
	size_t n, cap;
	char **writing;       /* names modified and not yet closed (inotify) */
	size_t nwriting;
} D = { .fd = -1 };

/* ---- files being written ------------------------------------------------ */

static int pd_writing_find(const char *name)
{
	for (size_t i = 0; i < D.nwriting; i++)
		if (!strcmp(D.writing[i], name))
			return (int)i;
	return -1;
}

static void pd_writing_set(const char *name, int on)
{
	int i = pd_writing_find(name);

	if (on && i < 0) {
		char **v = realloc(D.writing, (D.nwriting + 1) * sizeof(*v));

		if (!v)
			return; /* then it is read as it is: as without the tracking */
		D.writing = v;
		if ((D.writing[D.nwriting] = strdup(name)))
			D.nwriting++;
	} else if (!on && i >= 0) {
		free(D.writing[i]);
		D.writing[i] = D.writing[--D.nwriting];
	}
}

static void pd_writing_clear(void)
{
	for (size_t i = 0; i < D.nwriting; i++)
		free(D.writing[i]);
	free(D.writing);
	D.writing = NULL;
	D.nwriting = 0;
}

static uint64_t pd_hash(const char *buf, size_t len)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)buf[i];
		h *= 1099511628211ull;
	}
	return h ^ len;
}

static int pd_wanted(const char *name)
{
	size_t l = strlen(name);

	if (name[0] == '.')
		return 0;
	return (l > 5 && !strcmp(name + l - 5, ".yaml")) ||
	       (l > 4 && !strcmp(name + l - 4, ".yml")) ||
	       (l > 5 && !strcmp(name + l - 5, ".json"));
}

static struct pd_file *pd_find(const char *path)
{
	for (size_t i = 0; i < D.n; i++)
		if (!strcmp(D.files[i].path, path))
			return &D.files[i];
	return NULL;
}

static struct pd_file *pd_add(const char *path)
{
	struct pd_file *f;

	if (D.n == D.cap) {
		size_t cap = D.cap ? D.cap * 2 : 16;
		struct pd_file *v = realloc(D.files, cap * sizeof(*v));

		if (!v)
			return NULL;
		D.files = v;
		D.cap = cap;
	}
	f = &D.files[D.n];
	memset(f, 0, sizeof(*f));
	f->path = strdup(path);
	if (!f->path)
		return NULL;
	D.n++;
	return f;
}

/*
 * Read a regular file whole. Never blocks: opened O_NONBLOCK; a FIFO,
 * socket or device gives -ENODEV (not a regular file), a directory -EISDIR.
 */
static char *pd_read(const char *path, size_t *len, int *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	char *buf;
	size_t off = 0;

	*err = 0;
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		*err = -errno;
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > PD_MAX_FILE) {
		*err = S_ISDIR(st.st_mode) ? -EISDIR : !S_ISREG(st.st_mode) ? -ENODEV : -EFBIG;
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		*err = -ENOMEM;
		close(fd);
		return NULL;
	}
	while (off < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + off, (size_t)st.st_size - off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	close(fd);
	buf[off] = '\0';
	*len = off;
	return buf;
}

static void pd_set_error(struct pd_file *f, const char *msg)
{
	free(f->error);
	f->error = msg ? strdup(msg) : NULL;
}

/* Load one changed file. */
static void pd_load(struct pd_file *f, const char *buf, size_t len)
{
	struct bw_pol_batch b;
	char err[2048];
	unsigned changed = 0;
	int e;

	e = bw_pol_batch_parse(buf, len, f->path, &b, err, sizeof(err));
	if (e == 0) {
		e = bw_pol_apply(&b, f->path, 1, &changed, err, sizeof(err));
		bw_pol_batch_free(&b);
	}
	if (e < 0) {
		bw_err("policy: %s refused: %s; the policies it had before stay in force",
		       f->path, err);
		pd_set_error(f, err);
		return;
	}
	pd_set_error(f, NULL);
	bw_info("policy: loaded %s (%u policies changed)", f->path, changed);
}

static int pd_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void pd_rescan(void);

void bw_policydir_rescan(void)
{
	bw_datapath_batch_begin(); /* one conntrack revalidation for the scan */
	pd_rescan();
	bw_datapath_batch_end();
}

static int pd_lacks_resources(int e)
{
	return e == -EMFILE || e == -ENFILE || e == -ENOMEM;
}

/* Try the scan again in a second (resources were short). */
static void pd_retry_later(void)
{
	struct timeval tv = { 1, 0 };

	if (D.retry && !evtimer_pending(D.retry, NULL))
		evtimer_add(D.retry, &tv);
}

/* A file that is not read this time: say why in the status. */
static struct pd_file *pd_note(const char *path, int e)
{
	struct pd_file *f = pd_find(path);
	char msg[256];

	if (!f)
		f = pd_add(path);
	if (!f)
		return NULL;
	f->seen = 1; /* what it had before stays in force */
	if (e == -EFBIG)
		snprintf(msg, sizeof(msg),
			 "larger than 16 MiB: not read; the policies it had before stay in force");
	else if (e == -EISDIR || e == -ENODEV)
		snprintf(msg, sizeof(msg),
			 "not a regular file (a directory, FIFO, socket or device): not read");
	else if (pd_lacks_resources(e))
		snprintf(msg, sizeof(msg), "cannot read it: %s; tried again in a second",
			 strerror(-e));
	else
		snprintf(msg, sizeof(msg),
			 "cannot read it: %s; the policies it had before stay in force",
			 strerror(-e));
	if (!f->error || strcmp(f->error, msg)) {
		bw_warn("policy: %s: %s", path, msg);
		pd_set_error(f, msg);
	}
	f->hash = 0; /* read again when it can be */
	return f;
}

static void pd_rescan(void)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int lacking = 0;

	if (!D.dir)
		return;
	for (size_t i = 0; i < D.n; i++)
		D.files[i].seen = 0;
	d = opendir(D.dir);
	if (!d) {
		int e = -errno;

		if (pd_lacks_resources(e)) {
			/* keep everything as it is and look again */
			for (size_t i = 0; i < D.n; i++)
				D.files[i].seen = 1;
			lacking = 1;
		}
		bw_warn_errno(e, "policy: cannot read policy.dir %s%s", D.dir,
			      lacking ? " (tried again in a second)" : "");
	} else {
		while ((de = readdir(d)) != NULL) {
			if (!pd_wanted(de->d_name))
				continue;
			if (n == cap) {
				char **v;

				cap = cap ? cap * 2 : 16;
				v = realloc(names, cap * sizeof(*v));
				if (!v)
					break;
				names = v;
			}
			names[n] = strdup(de->d_name);
			if (names[n])
				n++;
		}
		closedir(d);
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), pd_cmp);
	for (size_t i = 0; i < n; i++) {
		size_t plen = strlen(D.dir) + strlen(names[i]) + 2, len = 0;
		char *path = malloc(plen), *buf;
		struct pd_file *f;
		uint64_t h;
		int e;

		if (!path)
			continue;
		snprintf(path, plen, "%s/%s", D.dir, names[i]);
		if (pd_writing_find(names[i]) >= 0) {
			/* modified and still open for writing: not complete */
			f = pd_find(path);
			if (!f)
				f = pd_add(path);
			if (f) {
				f->seen = 1;
				f->pending = 1;
			}
			free(path);
			continue;
		}
		buf = pd_read(path, &len, &e);
		if (!buf) {
			if (e == -ENOENT) {
				free(path);
				continue;
			}
			f = pd_note(path, e);
			if (f)
				f->pending = 0;
			lacking |= pd_lacks_resources(e);
			free(path);
			continue;
		}
		h = pd_hash(buf, len);
		f = pd_find(path);
		if (!f)
			f = pd_add(path);
		if (f) {
			f->seen = 1;
			f->pending = 0;
			if (f->hash != h || !f->hash) {
				f->hash = h;
				pd_load(f, buf, len);
			}
		}
		free(buf);
		free(path);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	/* files that went away take their policies with them */
	for (size_t i = 0; i < D.n;) {
		if (D.files[i].seen) {
			i++;
			continue;
		}
		bw_info("policy: %s was removed", D.files[i].path);
		bw_pol_drop_source(D.files[i].path);
		free(D.files[i].path);
		free(D.files[i].error);
		D.files[i] = D.files[--D.n];
	}
	if (lacking)
		pd_retry_later();
}

static void pd_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	bw_policydir_rescan();
}

/*
 * inotify: which files are being written (modified, not closed: their
 * earlier version stays), then one rescan a moment later for a burst.
 */
static void pd_inotify_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct timeval tv = { 0, 150000 };
	int any = 0;

	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r <= 0)
			break;
		any = 1;
		for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= r;) {
			const struct inotify_event *ev = (const void *)(buf + off);

			off += (ssize_t)sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				pd_writing_clear(); /* events were lost: read what is there */
				continue;
			}
			if (!ev->len || !pd_wanted(ev->name))
				continue;
			if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE))
				pd_writing_set(ev->name, 0);
			else if (ev->mask & IN_MODIFY)
				pd_writing_set(ev->name, 1);
		}
	}
	if (any)
		evtimer_add(D.timer, &tv); /* fold a burst into one rescan */
}

int bw_policydir_start(struct event_base *base, const char *dir)
{
	int e;

	D.base = base;
	D.dir = strdup(dir);
	if (!D.dir)
		return -ENOMEM;
	e = bw_state_mkdir_p(dir, 0755);
	if (e < 0)
		bw_warn_errno(e, "policy: cannot create policy.dir %s", dir);
	if (base) {
		D.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (D.fd < 0 ||
		    inotify_add_watch(D.fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
							 IN_DELETE | IN_CREATE | IN_ATTRIB | IN_MODIFY |
							 IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
			/*
			 * Not fatal: the API-managed policies still work, and a
			 * SIGHUP reads the directory again. Said loudly.
			 */
			bw_err("policy: cannot watch policy.dir %s: %s; its files are read at start and on SIGHUP only",
			       dir, strerror(errno));
			if (D.fd >= 0)
				close(D.fd);
			D.fd = -1;
		} else {
			D.ev = event_new(base, D.fd, EV_READ | EV_PERSIST, pd_inotify_cb, NULL);
			D.timer = evtimer_new(base, pd_timer_cb, NULL);
			D.retry = evtimer_new(base, pd_timer_cb, NULL);
			if (!D.ev || !D.timer || !D.retry || event_add(D.ev, NULL) < 0) {
				bw_policydir_stop();
				return -ENOMEM;
			}
		}
	}
	bw_policydir_rescan();
	return 0;
}

void bw_policydir_stop(void)
{
	if (D.ev)
		event_free(D.ev);
	if (D.timer)
		event_free(D.timer);
	if (D.retry)
		event_free(D.retry);
	if (D.fd >= 0)
		close(D.fd);
	pd_writing_clear();
	for (size_t i = 0; i < D.n; i++) {
		free(D.files[i].path);
		free(D.files[i].error);
	}
	free(D.files);
	free(D.dir);
	memset(&D, 0, sizeof(D));
	D.fd = -1;
}

json_t *bw_policydir_to_json(void)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < D.n && arr; i++) {
		unsigned npol = 0;

		for (struct bw_pol *p = bw_pol_first(); p; p = p->next)
			if (!strcmp(p->source, D.files[i].path))
				npol++;
		json_array_append_new(arr, json_pack("{s:s,s:i,s:s?,s:b}", "path",
						     D.files[i].path, "policies", (int)npol,
						     "error", D.files[i].error, "pending",
						     D.files[i].pending));
	}
	return arr;
}
