/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/datapath/earlydemux.c - TCP/UDP early demux off in the daemon's
 * network namespace while it runs (see core/datapath/earlydemux.h).
 *
 * The sysctls are per network namespace (/proc/sys/net is the namespace
 * of the reading process), so only the daemon's own namespace changes.
 * The values found before the change go to <state_dir>/early_demux
 * ({"tcp_early_demux": 1, "udp_early_demux": 1}) before anything is
 * written, and the file is removed once they are back: a daemon that
 * crashed leaves it, and the next start restores from it, not from the
 * zeros it finds.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/config.h"
#include "core/datapath/earlydemux.h"
#include "core/log.h"
#include "core/state.h"

static const char *const ed_keys[2] = { "tcp_early_demux", "udp_early_demux" };

static struct {
	char path[PATH_MAX]; /* <state_dir>/early_demux; "" before apply */
	int saved[2];        /* values to restore; -1: nothing to restore */
	int off;             /* we turned them off */
	int watching;
} ed = { .saved = { -1, -1 } };

static int ed_read(const char *key)
{
	char path[96], buf[16];
	FILE *f;
	int v = -1;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/%s", key);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (fgets(buf, sizeof(buf), f))
		v = atoi(buf);
	fclose(f);
	return v < 0 ? -EIO : v;
}

static int ed_write(const char *key, int v)
{
	char path[96];
	FILE *f;
	int bad;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/%s", key);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	bad = fprintf(f, "%d\n", v) < 0;
	if (fclose(f) != 0 || bad)
		return errno ? -errno : -EIO;
	return 0;
}

/* The values an earlier run saved (and did not restore), if any. */
static int ed_load_saved(int out[2])
{
	json_t *doc = bw_state_read_json(ed.path, NULL, 0);
	int n = 0;

	if (!doc)
		return 0;
	for (int i = 0; i < 2; i++) {
		json_t *v = json_object_get(doc, ed_keys[i]);

		out[i] = json_is_integer(v) ? (int)json_integer_value(v) : -1;
		n += out[i] >= 0;
	}
	json_decref(doc);
	return n;
}

static int ed_store_saved(const int v[2])
{
	json_t *doc = json_pack("{s:i,s:i}", ed_keys[0], v[0], ed_keys[1], v[1]);
	int rc = doc ? bw_state_write_json(ed.path, doc) : -ENOMEM;

	json_decref(doc);
	return rc;
}

static void ed_put_back(const int v[2], const char *why)
{
	int rc = 0;

	for (int i = 0; i < 2; i++) {
		int e;

		if (v[i] < 0 || ed_read(ed_keys[i]) == v[i])
			continue;
		e = ed_write(ed_keys[i], v[i]);
		if (e < 0) {
			bw_warn_errno(e, "redirect: cannot set net.ipv4.%s back to %d", ed_keys[i],
				      v[i]);
			rc = e;
		}
	}
	if (rc == 0) {
		if (unlink(ed.path) < 0 && errno != ENOENT)
			bw_warn_errno(errno, "redirect: cannot remove %s", ed.path);
		bw_info("redirect: early demux back to tcp %d, udp %d in this network namespace (%s)",
			v[0], v[1], why);
	}
}

int bw_earlydemux_apply(int mode, const char *state_dir)
{
	int saved[2] = { -1, -1 }, cur[2], have;

	if (state_dir &&
	    (size_t)snprintf(ed.path, sizeof(ed.path), "%s/early_demux", state_dir) >= sizeof(ed.path))
		return -ENAMETOOLONG;
	have = ed_load_saved(saved);
	if (mode == BW_EARLYDEMUX_KEEP) {
		if (have)
			ed_put_back(saved, "daemon.early_demux = keep");
		else if (ed.off)
			ed_put_back(ed.saved, "daemon.early_demux = keep");
		ed.off = 0;
		ed.saved[0] = ed.saved[1] = -1;
		return 0;
	}
	if (ed.off)
		return 0;
	for (int i = 0; i < 2; i++) {
		cur[i] = ed_read(ed_keys[i]);
		if (cur[i] < 0) {
			bw_warn_errno(cur[i], "redirect: cannot read net.ipv4.%s; connections that reuse a local proxy's TIME_WAIT tuple may be dropped",
				      ed_keys[i]);
			return cur[i];
		}
		if (saved[i] < 0)
			saved[i] = cur[i];
	}
	if (!have && (saved[0] || saved[1])) {
		int rc = ed_store_saved(saved);

		if (rc < 0) {
			/* without the file a crash would lose them: do not change them */
			bw_warn_errno(rc, "redirect: cannot write %s; early demux left on (connections that reuse a local proxy's TIME_WAIT tuple may be dropped)",
				      ed.path);
			return rc;
		}
	}
	for (int i = 0; i < 2; i++) {
		int e = cur[i] ? ed_write(ed_keys[i], 0) : 0;

		if (e < 0) {
			bw_warn_errno(e, "redirect: cannot turn net.ipv4.%s off; connections that reuse a local proxy's TIME_WAIT tuple may be dropped",
				      ed_keys[i]);
			ed.saved[0] = saved[0];
			ed.saved[1] = saved[1];
			ed.off = 1;
			return e;
		}
	}
	ed.saved[0] = saved[0];
	ed.saved[1] = saved[1];
	ed.off = 1;
	bw_info("redirect: TCP and UDP early demux off in this network namespace while bulwarkd runs (were tcp %d, udp %d; daemon.early_demux)",
		saved[0], saved[1]);
	return 0;
}

void bw_earlydemux_restore(void)
{
	if (!ed.off)
		return;
	ed_put_back(ed.saved, "bulwarkd stops");
	ed.off = 0;
	ed.saved[0] = ed.saved[1] = -1;
}

static void ed_conf_changed(const struct bw_daemon_conf *old, const struct bw_daemon_conf *cur,
			    void *arg)
{
	(void)arg;
	if (old->early_demux != cur->early_demux)
		bw_earlydemux_apply(cur->early_demux, NULL);
}

int bw_earlydemux_watch(void)
{
	int rc;

	if (ed.watching)
		return 0;
	rc = bw_conf_watch(ed_conf_changed, NULL);
	if (rc == 0)
		ed.watching = 1;
	return rc;
}
