/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/node/endpoint_journal.c - the endpoint registry's journal. The
 * state file endpoints.json is rewritten in full (O(endpoints)); an add,
 * update or delete instead appends one record to endpoints.json.journal
 * (core/state.h): {"put": ENDPOINT, "next_id": N} or {"del": ID,
 * "next_id": N}, so each costs the same however many endpoints there are.
 * core/node/endpoint.c folds the journal into the file when it holds more
 * records than twice the endpoints, and at every restore; loading the
 * registry replays it over the file (here).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/node/endpoint_int.h"
#include "core/state.h"
#include "lib/errbuf.h"

int bw_ep_journal_append(const char *jpath, json_t *put, uint32_t del_id, uint32_t next_id,
			 char *err, size_t errlen)
{
	json_t *rec = put ? json_pack("{s:o, s:I}", "put", put, "next_id", (json_int_t)next_id)
			  : json_pack("{s:I, s:I}", "del", (json_int_t)del_id, "next_id",
				      (json_int_t)next_id);
	int rc;

	if (!rec) {
		bw_errbuf_set(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = bw_state_journal_append(jpath, rec);
	json_decref(rec);
	if (rc < 0)
		bw_errbuf_set(err, errlen, "cannot write %s: %s", jpath, strerror(-rc));
	return rc;
}

/* Apply one journal record to the state document being restored. */
static int ep_journal_apply(const json_t *rec, void *arg)
{
	json_t *doc = arg, *eps = json_object_get(doc, "endpoints"), *put;
	json_int_t id, next = json_integer_value(json_object_get(rec, "next_id"));
	size_t i;

	put = json_object_get(rec, "put");
	id = put ? json_integer_value(json_object_get(put, "id"))
		 : json_integer_value(json_object_get(rec, "del"));
	if (id <= 0 || (put && !json_is_object(put)))
		return -EINVAL;
	for (i = 0; i < json_array_size(eps); i++)
		if (json_integer_value(json_object_get(json_array_get(eps, i), "id")) == id)
			break;
	if (i < json_array_size(eps))
		json_array_remove(eps, i);
	if (put)
		json_array_append(eps, put);
	if (next > 0)
		json_object_set_new(doc, "next_id", json_integer(next));
	return 0;
}

int bw_ep_state_load(const char *path, const char *jpath, int version, json_t **out,
		     int *replayed)
{
	static const char *const lists[] = { "namespaces", "endpoints", NULL };
	char err[512];
	json_t *doc = bw_state_read_doc(path, version, lists, err, sizeof(err));
	int n;

	*out = NULL;
	*replayed = 0;
	if (!doc) {
		if (errno != ENOENT) {
			bw_err("endpoint: cannot restore the endpoints: %s; bulwarkd does not start (the pinned datapath keeps enforcing); move the file away to start without endpoints, or restore it",
			       err);
			return -EINVAL;
		}
		/* no file yet: the journal may hold everything */
		doc = json_pack("{s:i, s:I, s:[], s:[]}", "version", version, "next_id",
				(json_int_t)1, "namespaces", "endpoints");
		if (!doc)
			return -ENOMEM;
	}
	n = bw_state_journal_read(jpath, ep_journal_apply, doc, err, sizeof(err));
	if (n < 0) {
		bw_err("endpoint: cannot replay %s: %s", jpath, n == -EINVAL ? err : strerror(-n));
		json_decref(doc);
		return n;
	}
	if (!n && json_array_size(json_object_get(doc, "endpoints")) == 0 &&
	    json_array_size(json_object_get(doc, "namespaces")) == 0 && access(path, F_OK) < 0) {
		json_decref(doc);
		return 0; /* nothing was ever saved */
	}
	*out = doc;
	*replayed = n;
	return 0;
}
