/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/policydoc.h - the policy document reader.
 *
 * Turns the bytes of a policy file or API body (YAML or JSON, one or many
 * documents) into one JSON text per policy document, which the policy
 * repository hands to the policy format registered for the document's
 * apiVersion/kind. The reader knows nothing about any format: it only fixes
 * the typing of YAML scalars, expands kubectl's `kind: List` and remembers
 * where each document starts so that errors can point at it.
 *
 * YAML scalars are typed by the YAML 1.2 core schema: a plain (unquoted)
 * scalar is null (`~`, `null`, empty), a bool (`true`, `false`), an integer
 * (`80`, `0x50`, `0o120`), a float (`1.5`, `1e3`) or else a string; a quoted
 * or block scalar is always a string, so `port: "80"` stays a string while
 * `port: 80` is an integer. Explicit core tags (`!!str 80`) are honoured.
 * Input whose first non-blank character is `{` or `[` is read as JSON (one or
 * more concatenated values) with jansson, for its exact numbers and errors.
 */
#ifndef BW_CORE_POLICYDOC_H
#define BW_CORE_POLICYDOC_H

#include <stddef.h>

/* Limits that keep a hostile document from exhausting memory or stack. */
#define BW_POLICYDOC_MAX_DEPTH 64        /* nesting of mappings/sequences */
#define BW_POLICYDOC_MAX_DOCS 10000      /* documents (after List expansion) */
#define BW_POLICYDOC_MAX_ALIAS_NODES 100000 /* nodes copied through aliases */

/* One policy document. */
struct bw_policydoc {
	char *json;      /* compact JSON text of the document (a JSON object), malloc'd */
	size_t json_len; /* strlen(json) */
	/* the same document as a jansson object (one reference, dropped by
	 * bw_policydoc_set_free), so that the core reads it without parsing
	 * json again; NULL where only the text is kept. Read only. */
	struct json_t *obj;
	unsigned index;  /* 0-based index of the document in the stream (`---`) */
	int item;        /* index in the document's List `items`, or -1 */
	unsigned line;   /* 1-based line where the document (or List item) starts */
	unsigned column; /* 1-based column of that start */
};

/* Every policy document of one input, in input order. */
struct bw_policydoc_set {
	struct bw_policydoc *docs;
	size_t count;
	size_t cap; /* internal */
};

/*
 * Read every document of buf[0..len) (buf need not be NUL-terminated).
 *
 * Each non-empty document must be a mapping; a top-level sequence (YAML) or
 * array (JSON) is read as a list of documents, and a mapping whose `kind` is
 * `List` (or ends in `List`, e.g. `NetworkPolicyList`) with an `items`
 * sequence is replaced by its items. Items of a typed list (`FooList`) that
 * lack apiVersion/kind inherit the list's apiVersion and `Foo`. Empty
 * documents (only comments, or `~`) are skipped.
 *
 * source_name names the input in messages (a file name, "-", "request").
 * On success returns 0 and appends the documents to *out (initialise it with
 * {0}; free it with bw_policydoc_set_free() in every case). On error returns
 * -EINVAL (bad input) or -ENOMEM, leaves *out holding what was read before
 * the error, and writes "<source>:<line>:<column>: <message>" into err.
 */
int bw_policydoc_read(const char *buf, size_t len, const char *source_name,
		      struct bw_policydoc_set *out, char *err, size_t errlen);

/*
 * The line of a field, for error messages: in buf[0..len) (the input
 * bw_policydoc_read() read), find the mapping that starts at line:column
 * (a struct bw_policydoc's position; column 0 = any) and follow path from
 * it ("spec.ingress[0].from[1].ipBlock": keys, which may hold dots, and
 * sequence indexes). *out_line is the line of the deepest key or item
 * reached (the document's line when none is). 0, or -ENOENT when the
 * document is not found (JSON that YAML cannot read, say).
 */
int bw_policydoc_locate(const char *buf, size_t len, unsigned line, unsigned column,
			const char *path, unsigned *out_line);

/* Free the documents of set (not set itself) and reset it to empty. */
void bw_policydoc_set_free(struct bw_policydoc_set *set);

/*
 * Convenience for dispatching: copy the document's top-level `apiVersion`
 * and `kind` strings into the buffers ("" when absent).
 * Returns 0 when both are present strings, -ENOENT when one is missing or not
 * a string, -EINVAL when json is not a JSON object, -ENAMETOOLONG when a
 * buffer is too small (truncated, NUL-terminated).
 */
int bw_policydoc_kind(const char *json, char *api_version, size_t avlen,
		      char *kind, size_t kindlen);

/* The same for a document of a set, from its object (no parsing) when it
 * has one. */
int bw_policydoc_kind_of(const struct bw_policydoc *d, char *api_version,
			 size_t avlen, char *kind, size_t kindlen);

#endif /* BW_CORE_POLICYDOC_H */
