/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modules/flowlog/flowlog_filters.c - the values of the allowlist and
 * denylist keys: what Hubble's hubble-export-allowlist takes
 * (comma-separated JSON FlowFilters, e.g. {"verdict":["DROPPED","ERROR"]})
 * and also one JSON array of them; the objects themselves are parsed and
 * matched by lib/flowfilter.c (libbw.la, linked into the module). The field
 * mask is lib/flowmask.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "flowlog.h"

/* ---- filter lists ----------------------------------------------------------- */

json_t *
flowlog_filters_text(const char *text, char *err, size_t errlen)
{
	const char *p = text != NULL ? text : "";
	json_error_t jerr;
	json_t *list, *v;
	size_t i;

	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p == '[') {
		list = json_loads(p, 0, &jerr);
		if (list == NULL) {
			snprintf(err, errlen, "not a JSON array of FlowFilter "
				 "objects: %s (at character %d)", jerr.text,
				 jerr.position + 1);
			return NULL;
		}
		json_array_foreach(list, i, v) {
			if (!json_is_object(v)) {
				snprintf(err, errlen, "element %zu of the array "
					 "is not a FlowFilter object", i + 1);
				json_decref(list);
				return NULL;
			}
		}
		return list;
	}
	if ((list = json_array()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 1;; i++) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (*p != '{') {
			snprintf(err, errlen, "FlowFilter %zu: expected a JSON "
				 "object ('{'), found '%.20s'", i, p);
			goto fail;
		}
		v = json_loads(p, JSON_DISABLE_EOF_CHECK, &jerr);
		if (v == NULL) {
			snprintf(err, errlen, "FlowFilter %zu is not valid JSON: "
				 "%s", i, jerr.text);
			goto fail;
		}
		json_array_append_new(list, v);
		p += jerr.position;
	}
	return list;
fail:
	json_decref(list);
	return NULL;
}
