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
	char *error;  /* last refusal, or NULL */
};

static struct {
	struct event_base *base;
	char *dir;
	int fd;
	struct event *ev;
	struct event *timer;
	struct pd_file *files;
	size_t n, cap;
} D = { .fd = -1 };

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

static char *pd_read(const char *path, size_t *len, int *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	size_t off = 0;

	*err = 0;
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > PD_MAX_FILE) {
		*err = !S_ISREG(st.st_mode) ? -EISDIR : -EFBIG;
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

static void pd_rescan(void)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (!D.dir)
		return;
	for (size_t i = 0; i < D.n; i++)
		D.files[i].seen = 0;
	d = opendir(D.dir);
	if (!d) {
		bw_warn_errno(errno, "policy: cannot read policy.dir %s",
			      D.dir);
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
		buf = pd_read(path, &len, &e);
		if (!buf) {
			if (e != -ENOENT && e != -EISDIR)
				bw_warn_errno(e, "policy: cannot read %s",
					      path);
			f = pd_find(path);
			if (f && e != -ENOENT)
				f->seen = 1; /* unreadable for now: keep its policies */
			free(path);
			continue;
		}
		h = pd_hash(buf, len);
		f = pd_find(path);
		if (!f)
			f = pd_add(path);
		if (f) {
			f->seen = 1;
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
}

static void pd_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	bw_policydir_rescan();
}

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
							 IN_DELETE | IN_CREATE | IN_ATTRIB |
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
			if (!D.ev || !D.timer || event_add(D.ev, NULL) < 0) {
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
	if (D.fd >= 0)
		close(D.fd);
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
		json_array_append_new(arr, json_pack("{s:s,s:i,s:s?}", "path",
						     D.files[i].path, "policies", (int)npol,
						     "error", D.files[i].error));
	}
	return arr;
}
