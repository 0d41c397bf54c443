/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/policy/policydoc.c - the policy document reader: YAML or JSON, one or many
 * documents, into one JSON text per policy document.
 *
 * YAML goes through libyaml's event parser; the tree is built with an
 * explicit stack (no recursion on input depth) and scalars are typed by the
 * YAML 1.2 core schema, so a quoted "80" stays a string. JSON input (first
 * non-blank character `{` or `[`) goes through jansson, which gives exact
 * integers and its own precise errors. Both paths end in the same document
 * step: skip empty documents, expand top-level sequences and kubectl Lists,
 * insist on mappings, and dump compact JSON with the starting line kept.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yaml.h>

#include "core/policy/policydoc.h"

#define PD_TAG_PREFIX "tag:yaml.org,2002:"
#ifndef JSON_PARSER_MAX_DEPTH
#define JSON_PARSER_MAX_DEPTH 2048
#endif

/* Where a node of the top two levels starts (to place List items). */
struct pd_mark {
	json_t *node;
	unsigned line, column;
};

struct pd_anchor {
	char *name;
	json_t *node;
	size_t nodes; /* node count of the anchored value */
};

struct pd_frame {
	json_t *node;        /* object or array being filled */
	char *key;           /* pending mapping key (objects) */
	unsigned key_line, key_col;
	char *anchor;        /* anchor to register when the node completes */
	size_t nodes;        /* nodes inside, for alias accounting */
	unsigned line, column;
};

struct pd_reader {
	const char *source;
	struct bw_policydoc_set *out;
	char *err;
	size_t errlen;

	/* YAML tree building */
	struct pd_frame stack[BW_POLICYDOC_MAX_DEPTH];
	int depth;
	json_t *root;
	unsigned root_line, root_col;
	struct pd_anchor *anchors;
	size_t nanchors, anchors_cap;
	size_t alias_nodes;
	struct pd_mark *marks;
	size_t nmarks, marks_cap;
};

static int pd_fail(struct pd_reader *r, unsigned line, unsigned col,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
pd_fail(struct pd_reader *r, unsigned line, unsigned col, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->err != NULL && r->errlen > 0)
		snprintf(r->err, r->errlen, "%s:%u:%u: %s", r->source, line, col,
			 msg);
	return -EINVAL;
}

static int
pd_nomem(struct pd_reader *r)
{
	if (r->err != NULL && r->errlen > 0)
		snprintf(r->err, r->errlen, "%s: out of memory", r->source);
	return -ENOMEM;
}

/* ---- documents ---------------------------------------------------------- */

static int
pd_emit(struct pd_reader *r, json_t *obj, unsigned index, int item,
	unsigned line, unsigned col)
{
	struct bw_policydoc_set *set = r->out;
	struct bw_policydoc *doc;
	char *text;

	if (set->count >= BW_POLICYDOC_MAX_DOCS)
		return pd_fail(r, line, col, "too many documents (at most %d)",
			       BW_POLICYDOC_MAX_DOCS);
	if (set->count == set->cap) {
		size_t ncap = set->cap ? set->cap * 2 : 8;
		struct bw_policydoc *nd = realloc(set->docs, ncap * sizeof(*nd));

		if (nd == NULL)
			return pd_nomem(r);
		set->docs = nd;
		set->cap = ncap;
	}
	text = json_dumps(obj, JSON_COMPACT);
	if (text == NULL)
		return pd_nomem(r);
	doc = &set->docs[set->count++];
	doc->json = text;
	doc->json_len = strlen(text);
	doc->obj = json_incref(obj);
	doc->index = index;
	doc->item = item;
	doc->line = line;
	doc->column = col;
	return 0;
}

static const struct pd_mark *
pd_mark_find(struct pd_reader *r, json_t *node)
{
	for (size_t i = 0; i < r->nmarks; i++)
		if (r->marks[i].node == node)
			return &r->marks[i];
	return NULL;
}

/* A kubectl List: kind "List" or "<Kind>List" holding `items`. */
static int
pd_is_list(json_t *obj, const char **item_kind_out, size_t *item_kind_len)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	size_t klen;

	if (kind == NULL || json_object_get(obj, "items") == NULL)
		return 0;
	klen = strlen(kind);
	if (klen < 4 || strcmp(kind + klen - 4, "List") != 0)
		return 0;
	*item_kind_out = kind;
	*item_kind_len = klen - 4;
	return 1;
}

/*
 * One mapping at document level: a policy document, or a List whose items
 * are policy documents. ext_line/ext_col locate obj; items are located
 * through the marks recorded while building (YAML) or get the list's place
 * (JSON, where jansson keeps no positions).
 */
static int
pd_document(struct pd_reader *r, json_t *obj, unsigned index, unsigned line,
	    unsigned col)
{
	const char *kind;
	size_t kind_len;
	json_t *items, *item;
	size_t i;
	int rc;

	if (!json_is_object(obj))
		return pd_fail(r, line, col,
			       "a policy document must be a mapping, not %s",
			       json_is_array(obj) ? "a sequence" : "a scalar");
	if (!pd_is_list(obj, &kind, &kind_len))
		return pd_emit(r, obj, index, -1, line, col);

	items = json_object_get(obj, "items");
	if (json_is_null(items))
		return 0;
	if (!json_is_array(items))
		return pd_fail(r, line, col, "items: a %s must hold a sequence",
			       kind);
	json_array_foreach(items, i, item) {
		const struct pd_mark *m = pd_mark_find(r, item);
		unsigned il = m ? m->line : line, ic = m ? m->column : col;
		json_t *av = json_object_get(obj, "apiVersion");

		if (json_is_null(item))
			continue;
		if (!json_is_object(item))
			return pd_fail(r, il, ic,
				       "items[%zu]: a List item must be a mapping",
				       i);
		/* Typed lists (NetworkPolicyList) omit the items' kind. */
		if (kind_len > 0 && json_object_get(item, "kind") == NULL) {
			if (json_object_set_new(item, "kind",
						json_stringn(kind, kind_len)) < 0)
				return pd_nomem(r);
			if (json_object_get(item, "apiVersion") == NULL &&
			    json_is_string(av) &&
			    json_object_set(item, "apiVersion", av) < 0)
				return pd_nomem(r);
		}
		rc = pd_emit(r, item, index, (int)i, il, ic);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The root of one stream document (YAML document or JSON value). */
static int
pd_root(struct pd_reader *r, json_t *root, unsigned index, unsigned line,
	unsigned col)
{
	json_t *elem;
	size_t i;
	int rc;

	if (root == NULL || json_is_null(root))
		return 0; /* empty document */
	if (!json_is_array(root))
		return pd_document(r, root, index, line, col);
	json_array_foreach(root, i, elem) {
		const struct pd_mark *m = pd_mark_find(r, elem);

		if (json_is_null(elem))
			continue;
		rc = pd_document(r, elem, index, m ? m->line : line,
				 m ? m->column : col);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- JSON --------------------------------------------------------------- */

static void
pd_advance(const char *buf, size_t from, size_t to, unsigned *line,
	   unsigned *col)
{
	for (size_t i = from; i < to; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

static int pd_mark_add(struct pd_reader *r, json_t *node, unsigned line,
		       unsigned col);

/*
 * jansson keeps no positions, so find where the elements of a top-level
 * array, or the `items` of a List object, start in the text s[0..n) of a
 * value it has already accepted: a small scanner tracking strings, nesting
 * and the depth-1 key, recording marks as the YAML path does.
 */
static int
pd_json_marks(struct pd_reader *r, json_t *root, const char *s, size_t n,
	      unsigned line, unsigned col)
{
	char type[JSON_PARSER_MAX_DEPTH + 2];
	size_t count[3] = { 0, 0, 0 }, key_start = 0;
	json_t *items = json_object_get(root, "items");
	int depth = 0, in_str = 0, esc = 0, in_key = 0, expect_key = 0;
	int want_value = 0, key_items = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		unsigned l = line, c = col;

		if (ch == '\n') {
			line++;
			col = 1;
		} else if ((ch & 0xc0) != 0x80) {
			col++;
		}
		if (in_str) {
			if (esc) {
				esc = 0;
			} else if (ch == '\\') {
				esc = 1;
			} else if (ch == '"') {
				in_str = 0;
				if (in_key && depth == 1)
					key_items = i - key_start == 5 &&
						    !memcmp(s + key_start, "items", 5);
				in_key = 0;
			}
			continue;
		}
		if (isspace(ch))
			continue;
		if (want_value && ch != ']' && ch != '}') {
			json_t *node = NULL;

			if (depth == 1 && type[1] == '[')
				node = json_array_get(root, count[1]);
			else if (depth == 2 && type[1] == '{' && key_items &&
				 type[2] == '[' && json_is_array(items))
				node = json_array_get(items, count[2]);
			if (node != NULL && pd_mark_add(r, node, l, c) < 0)
				return pd_nomem(r);
		}
		want_value = 0;
		switch (ch) {
		case '"':
			in_str = 1;
			if (expect_key) {
				in_key = 1;
				key_start = i + 1;
				expect_key = 0;
			}
			break;
		case '{':
		case '[':
			if (depth >= JSON_PARSER_MAX_DEPTH)
				return 0;
			depth++;
			type[depth] = (char)ch;
			if (depth <= 2)
				count[depth] = 0;
			if (ch == '{')
				expect_key = 1;
			else
				want_value = 1;
			break;
		case '}':
		case ']':
			depth--;
			expect_key = 0;
			if (depth <= 0)
				return 0;
			break;
		case ':':
			want_value = 1;
			break;
		case ',':
			if (depth <= 2)
				count[depth]++;
			if (type[depth] == '{')
				expect_key = 1;
			else
				want_value = 1;
			break;
		default:
			break;
		}
	}
	return 0;
}

static int
pd_read_json(struct pd_reader *r, const char *buf, size_t len, size_t off)
{
	unsigned line = 1, col = 1, index = 0;
	size_t pos = off;

	for (;;) {
		json_error_t e;
		json_t *v;
		int rc;

		while (off < len && isspace((unsigned char)buf[off]))
			off++;
		pd_advance(buf, pos, off, &line, &col);
		pos = off;
		if (off >= len)
			return 0;
		if (buf[off] != '{' && buf[off] != '[')
			return pd_fail(r, line, col,
				       "expected '{' or '[' to start the next JSON document");
		v = json_loadb(buf + off, len - off,
			       JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &e);
		if (v == NULL) {
			unsigned el = e.line > 0 ? (unsigned)e.line : 1;
			unsigned ec = e.column > 0 ? (unsigned)e.column : 1;

			return pd_fail(r, line + el - 1,
				       el == 1 ? col + ec - 1 : ec, "%s", e.text);
		}
		r->nmarks = 0;
		if (json_is_array(v) || json_is_array(json_object_get(v, "items")))
			rc = pd_json_marks(r, v, buf + off, e.position, line, col);
		else
			rc = 0;
		if (rc == 0)
			rc = pd_root(r, v, index++, line, col);
		json_decref(v);
		if (rc < 0)
			return rc;
		off += e.position;
	}
}

/* ---- YAML scalars ------------------------------------------------------- */

static int
pd_all(const char *s, size_t n, int (*pred)(int))
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!pred((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
pd_isodigit(int c)
{
	return c >= '0' && c <= '7';
}

static int
pd_is_null(const char *s, size_t n)
{
	return n == 0 || (n == 1 && s[0] == '~') ||
	       (n == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) ||
			   !memcmp(s, "NULL", 4)));
}

static int
pd_is_bool(const char *s, size_t n, int *val)
{
	if (n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "True", 4) ||
		       !memcmp(s, "TRUE", 4))) {
		*val = 1;
		return 1;
	}
	if (n == 5 && (!memcmp(s, "false", 5) || !memcmp(s, "False", 5) ||
		       !memcmp(s, "FALSE", 5))) {
		*val = 0;
		return 1;
	}
	return 0;
}

/* 1 = an integer form, value in *v; -ERANGE = integer form out of range. */
static int
pd_int(const char *s, size_t n, json_int_t *v)
{
	char tmp[80];
	unsigned long long u;
	long long ll;
	char *end;

	if (n == 0 || n >= sizeof(tmp))
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	if (n > 2 && tmp[0] == '0' && (tmp[1] == 'x' || tmp[1] == 'o')) {
		if (!pd_all(tmp + 2, n - 2, tmp[1] == 'x' ? isxdigit : pd_isodigit))
			return 0;
		u = strtoull(tmp + 2, &end, tmp[1] == 'x' ? 16 : 8);
		if (errno == ERANGE || u > (unsigned long long)INT64_MAX)
			return -ERANGE;
		*v = (json_int_t)u;
		return 1;
	}
	if (!pd_all(tmp + (tmp[0] == '-' || tmp[0] == '+'),
		    n - (tmp[0] == '-' || tmp[0] == '+'), isdigit))
		return 0;
	ll = strtoll(tmp, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	*v = (json_int_t)ll;
	return 1;
}

/* 1 = a finite float form; -EDOM = .inf/.nan (not representable in JSON). */
static int
pd_float(const char *s, size_t n, double *v)
{
	char tmp[128];
	size_t i = 0, digits = 0;

	if (n == 0 || n >= sizeof(tmp))
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (tmp[i] == '-' || tmp[i] == '+')
		i++;
	if (!strcmp(tmp + i, ".inf") || !strcmp(tmp + i, ".Inf") ||
	    !strcmp(tmp + i, ".INF") || !strcmp(tmp, ".nan") ||
	    !strcmp(tmp, ".NaN") || !strcmp(tmp, ".NAN"))
		return -EDOM;
	while (isdigit((unsigned char)tmp[i])) {
		i++;
		digits++;
	}
	if (tmp[i] == '.') {
		i++;
		while (isdigit((unsigned char)tmp[i])) {
			i++;
			digits++;
		}
	}
	if (digits == 0)
		return 0;
	if (tmp[i] == 'e' || tmp[i] == 'E') {
		i++;
		if (tmp[i] == '-' || tmp[i] == '+')
			i++;
		if (!isdigit((unsigned char)tmp[i]))
			return 0;
		while (isdigit((unsigned char)tmp[i]))
			i++;
	}
	if (tmp[i] != '\0')
		return 0;
	*v = strtod(tmp, NULL);
	if (!isfinite(*v))
		return -EDOM;
	return 1;
}

/* Type one scalar. Returns a new reference, or NULL with msg set. */
static json_t *
pd_scalar(const yaml_event_t *ev, char *msg, size_t msglen)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	const char *t = NULL; /* core tag name without prefix, or NULL */
	json_int_t iv;
	double dv;
	int bv, rc;
	json_t *j;

	if (tag != NULL && strcmp(tag, "!") != 0) {
		if (strncmp(tag, PD_TAG_PREFIX, strlen(PD_TAG_PREFIX)) != 0) {
			snprintf(msg, msglen, "unsupported tag %s", tag);
			return NULL;
		}
		t = tag + strlen(PD_TAG_PREFIX);
	} else if (tag == NULL && ev->data.scalar.plain_implicit) {
		t = ""; /* resolve by the core schema */
	} else {
		t = "str";
	}

	if (!strcmp(t, "str"))
		goto string;
	if ((!*t || !strcmp(t, "null")) && pd_is_null(s, n))
		return json_null();
	if ((!*t || !strcmp(t, "bool")) && pd_is_bool(s, n, &bv))
		return json_boolean(bv);
	if (!*t || !strcmp(t, "int") || !strcmp(t, "float")) {
		rc = pd_int(s, n, &iv);
		if (rc == -ERANGE) {
			snprintf(msg, msglen, "integer %.*s is out of range",
				 (int)(n > 40 ? 40 : n), s);
			return NULL;
		}
		if (rc == 1)
			return !strcmp(t, "float") ? json_real((double)iv)
						   : json_integer(iv);
	}
	if (!*t || !strcmp(t, "float")) {
		rc = pd_float(s, n, &dv);
		if (rc == -EDOM) {
			snprintf(msg, msglen,
				 "%.*s cannot be represented in JSON",
				 (int)(n > 40 ? 40 : n), s);
			return NULL;
		}
		if (rc == 1)
			return json_real(dv);
	}
	if (*t) {
		snprintf(msg, msglen, "\"%.*s\" is not a valid !!%s",
			 (int)(n > 40 ? 40 : n), s, t);
		return NULL;
	}
string:
	if (memchr(s, '\0', n) != NULL) {
		snprintf(msg, msglen, "a string may not contain NUL (\\0)");
		return NULL;
	}
	j = json_stringn(s, n);
	if (j == NULL)
		snprintf(msg, msglen, "invalid UTF-8 in a string");
	return j;
}

/* ---- YAML tree ---------------------------------------------------------- */

static void
pd_tree_reset(struct pd_reader *r)
{
	while (r->depth > 0) {
		struct pd_frame *f = &r->stack[--r->depth];

		json_decref(f->node);
		free(f->key);
		free(f->anchor);
	}
	json_decref(r->root);
	r->root = NULL;
	for (size_t i = 0; i < r->nanchors; i++) {
		free(r->anchors[i].name);
		json_decref(r->anchors[i].node);
	}
	r->nanchors = 0;
	r->alias_nodes = 0;
	r->nmarks = 0;
}

static int
pd_anchor_set(struct pd_reader *r, const char *name, json_t *node,
	      size_t nodes)
{
	struct pd_anchor *a = NULL;

	for (size_t i = 0; i < r->nanchors; i++)
		if (!strcmp(r->anchors[i].name, name))
			a = &r->anchors[i];
	if (a == NULL) {
		if (r->nanchors == r->anchors_cap) {
			size_t ncap = r->anchors_cap ? r->anchors_cap * 2 : 8;
			struct pd_anchor *na =
				realloc(r->anchors, ncap * sizeof(*na));

			if (na == NULL)
				return -ENOMEM;
			r->anchors = na;
			r->anchors_cap = ncap;
		}
		a = &r->anchors[r->nanchors];
		a->name = strdup(name);
		if (a->name == NULL)
			return -ENOMEM;
		r->nanchors++;
	} else {
		json_decref(a->node);
	}
	a->node = json_incref(node);
	a->nodes = nodes;
	return 0;
}

static int
pd_mark_add(struct pd_reader *r, json_t *node, unsigned line, unsigned col)
{
	if (r->nmarks == r->marks_cap) {
		size_t ncap = r->marks_cap ? r->marks_cap * 2 : 64;
		struct pd_mark *nm = realloc(r->marks, ncap * sizeof(*nm));

		if (nm == NULL)
			return -ENOMEM;
		r->marks = nm;
		r->marks_cap = ncap;
	}
	r->marks[r->nmarks].node = node;
	r->marks[r->nmarks].line = line;
	r->marks[r->nmarks].column = col;
	r->nmarks++;
	return 0;
}

/*
 * Attach a completed node (stolen) to the open container, or make it the
 * document root. line/col is where the node starts.
 */
static int
pd_attach(struct pd_reader *r, json_t *node, size_t nodes, unsigned line,
	  unsigned col)
{
	struct pd_frame *p;

	if (r->depth == 0) {
		r->root = node;
		r->root_line = line;
		r->root_col = col;
		return 0;
	}
	p = &r->stack[r->depth - 1];
	/* Children of the root and of its children locate List items. */
	if (r->depth <= 2 && pd_mark_add(r, node, line, col) < 0) {
		json_decref(node);
		return pd_nomem(r);
	}
	p->nodes += nodes;
	if (json_is_array(p->node)) {
		if (json_array_append_new(p->node, node) < 0)
			return pd_nomem(r);
		return 0;
	}
	if (p->key == NULL) {
		json_decref(node);
		return pd_fail(r, line, col,
			       "a mapping key must be a scalar, not a mapping or sequence");
	}
	if (json_object_set_new(p->node, p->key, node) < 0)
		return pd_nomem(r);
	free(p->key);
	p->key = NULL;
	return 0;
}

static int
pd_event(struct pd_reader *r, yaml_event_t *ev, unsigned *index)
{
	unsigned line = (unsigned)ev->start_mark.line + 1;
	unsigned col = (unsigned)ev->start_mark.column + 1;
	const char *anchor = NULL;
	const char *tag = NULL;
	char msg[256];
	json_t *node;
	struct pd_frame *p = r->depth ? &r->stack[r->depth - 1] : NULL;
	int rc;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		pd_tree_reset(r);
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		rc = pd_root(r, r->root, (*index)++, r->root_line, r->root_col);
		pd_tree_reset(r);
		return rc;
	case YAML_SCALAR_EVENT:
		anchor = (const char *)ev->data.scalar.anchor;
		/* A mapping key: keep its text, untyped. */
		if (p != NULL && json_is_object(p->node) && p->key == NULL) {
			const char *s = (const char *)ev->data.scalar.value;
			size_t n = ev->data.scalar.length;

			if (memchr(s, '\0', n) != NULL)
				return pd_fail(r, line, col,
					       "a mapping key may not contain NUL");
			if (ev->data.scalar.plain_implicit && n == 2 &&
			    !memcmp(s, "<<", 2))
				return pd_fail(r, line, col,
					       "merge keys (<<) are not supported");
			if (json_object_get(p->node, s) != NULL)
				return pd_fail(r, line, col,
					       "duplicate key \"%s\"", s);
			p->key = strdup(s);
			if (p->key == NULL)
				return pd_nomem(r);
			p->key_line = line;
			p->key_col = col;
			if (anchor != NULL) {
				node = json_string(s);
				if (node == NULL || pd_anchor_set(r, anchor, node, 1) < 0) {
					json_decref(node);
					return pd_nomem(r);
				}
				json_decref(node);
			}
			return 0;
		}
		node = pd_scalar(ev, msg, sizeof(msg));
		if (node == NULL)
			return pd_fail(r, line, col, "%s", msg);
		if (anchor != NULL && pd_anchor_set(r, anchor, node, 1) < 0) {
			json_decref(node);
			return pd_nomem(r);
		}
		return pd_attach(r, node, 1, line, col);
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;
		struct pd_anchor *a = NULL;

		for (size_t i = 0; i < r->nanchors; i++)
			if (!strcmp(r->anchors[i].name, name))
				a = &r->anchors[i];
		if (a == NULL)
			return pd_fail(r, line, col, "unknown anchor \"%s\"",
				       name);
		r->alias_nodes += a->nodes;
		if (r->alias_nodes > BW_POLICYDOC_MAX_ALIAS_NODES)
			return pd_fail(r, line, col,
				       "aliases expand to more than %d nodes",
				       BW_POLICYDOC_MAX_ALIAS_NODES);
		if (p != NULL && json_is_object(p->node) && p->key == NULL) {
			const char *s = json_string_value(a->node);

			if (s == NULL)
				return pd_fail(r, line, col,
					       "a mapping key must be a scalar");
			if (json_object_get(p->node, s) != NULL)
				return pd_fail(r, line, col,
					       "duplicate key \"%s\"", s);
			p->key = strdup(s);
			return p->key ? 0 : pd_nomem(r);
		}
		return pd_attach(r, json_incref(a->node), a->nodes, line, col);
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (ev->type == YAML_SEQUENCE_START_EVENT) {
			anchor = (const char *)ev->data.sequence_start.anchor;
			tag = (const char *)ev->data.sequence_start.tag;
		} else {
			anchor = (const char *)ev->data.mapping_start.anchor;
			tag = (const char *)ev->data.mapping_start.tag;
		}
		if (tag != NULL && strcmp(tag, "!") != 0 &&
		    strcmp(tag, ev->type == YAML_SEQUENCE_START_EVENT
					? PD_TAG_PREFIX "seq"
					: PD_TAG_PREFIX "map") != 0)
			return pd_fail(r, line, col, "unsupported tag %s", tag);
		if (p != NULL && json_is_object(p->node) && p->key == NULL)
			return pd_fail(r, line, col,
				       "a mapping key must be a scalar, not a mapping or sequence");
		if (r->depth >= BW_POLICYDOC_MAX_DEPTH)
			return pd_fail(r, line, col,
				       "nesting deeper than %d levels",
				       BW_POLICYDOC_MAX_DEPTH);
		p = &r->stack[r->depth];
		memset(p, 0, sizeof(*p));
		p->node = ev->type == YAML_SEQUENCE_START_EVENT ? json_array()
								: json_object();
		if (p->node == NULL)
			return pd_nomem(r);
		if (anchor != NULL && (p->anchor = strdup(anchor)) == NULL) {
			json_decref(p->node);
			return pd_nomem(r);
		}
		p->nodes = 1;
		p->line = line;
		p->column = col;
		r->depth++;
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT: {
		struct pd_frame f = r->stack[--r->depth];

		free(f.key); /* cannot be set: the parser pairs keys */
		if (f.anchor != NULL) {
			rc = pd_anchor_set(r, f.anchor, f.node, f.nodes);
			free(f.anchor);
			if (rc < 0) {
				json_decref(f.node);
				return pd_nomem(r);
			}
		}
		return pd_attach(r, f.node, f.nodes, f.line, f.column);
	}
	default:
		return 0;
	}
}

/* Line and column (in characters, 1-based) of byte offset off of buf. */
static void
pd_offset_mark(const char *buf, size_t len, size_t off, unsigned *line,
	       unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		unsigned char ch = (unsigned char)buf[i];

		if (ch == '\n') {
			(*line)++;
			*col = 1;
		} else if ((ch & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

static int
pd_read_yaml(struct pd_reader *r, const char *buf, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	unsigned index = 0;
	int rc = 0, done = 0;

	if (!yaml_parser_initialize(&parser))
		return pd_nomem(r);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			if (parser.error == YAML_MEMORY_ERROR) {
				rc = pd_nomem(r);
			} else if (parser.error == YAML_READER_ERROR) {
				unsigned l, c;

				/* the reader's marks are not set: place it by its
				 * byte offset */
				pd_offset_mark(buf, len, parser.problem_offset, &l, &c);
				if (parser.problem_value >= 0)
					rc = pd_fail(r, l, c, "%s (byte 0x%02x)",
						     parser.problem ? parser.problem
								    : "unreadable input",
						     (unsigned)parser.problem_value & 0xffu);
				else
					rc = pd_fail(r, l, c, "%s",
						     parser.problem ? parser.problem
								    : "unreadable input");
			} else if (parser.context != NULL) {
				char ctx[160];

				snprintf(ctx, sizeof(ctx), "%s at line %zu, column %zu",
					 parser.context,
					 parser.context_mark.line + 1,
					 parser.context_mark.column + 1);
				rc = pd_fail(r, (unsigned)parser.problem_mark.line + 1,
					     (unsigned)parser.problem_mark.column + 1,
					     "%s (%s)",
					     parser.problem ? parser.problem : "syntax error",
					     ctx);
			} else {
				rc = pd_fail(r, (unsigned)parser.problem_mark.line + 1,
					     (unsigned)parser.problem_mark.column + 1,
					     "%s",
					     parser.problem ? parser.problem : "syntax error");
			}
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		rc = pd_event(r, &ev, &index);
		yaml_event_delete(&ev);
		if (rc < 0)
			break;
	}
	yaml_parser_delete(&parser);
	pd_tree_reset(r);
	return rc;
}

/* ---- public ------------------------------------------------------------- */

int
bw_policydoc_read(const char *buf, size_t len, const char *source_name,
		  struct bw_policydoc_set *out, char *err, size_t errlen)
{
	struct pd_reader *r;
	size_t off = 0;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL || (buf == NULL && len > 0))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->source = source_name ? source_name : "-";
	r->out = out;
	r->err = err;
	r->errlen = errlen;

	/* A UTF-8 byte order mark is allowed before either syntax. */
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		off = 3;
	while (off < len && isspace((unsigned char)buf[off]))
		off++;
	if (off < len && (buf[off] == '{' || buf[off] == '['))
		rc = pd_read_json(r, buf, len, len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3) ? 3 : 0);
	else
		rc = pd_read_yaml(r, buf, len);

	free(r->anchors);
	free(r->marks);
	free(r);
	return rc;
}

void
bw_policydoc_set_free(struct bw_policydoc_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->count; i++) {
		free(set->docs[i].json);
		json_decref(set->docs[i].obj);
	}
	free(set->docs);
	set->docs = NULL;
	set->count = set->cap = 0;
}

static int
pd_copy(char *dst, size_t dlen, const char *src)
{
	size_t n;

	if (dst == NULL || dlen == 0)
		return src && *src ? -ENAMETOOLONG : 0;
	n = src ? strlen(src) : 0;
	if (n >= dlen) {
		memcpy(dst, src, dlen - 1);
		dst[dlen - 1] = '\0';
		return -ENAMETOOLONG;
	}
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
	return 0;
}

static int
pd_kind(json_t *doc, char *api_version, size_t avlen, char *kind,
	size_t kindlen);

int
bw_policydoc_kind(const char *json, char *api_version, size_t avlen,
		  char *kind, size_t kindlen)
{
	json_t *doc;
	int rc;

	if (api_version != NULL && avlen > 0)
		api_version[0] = '\0';
	if (kind != NULL && kindlen > 0)
		kind[0] = '\0';
	if (json == NULL)
		return -EINVAL;
	doc = json_loads(json, 0, NULL);
	rc = pd_kind(doc, api_version, avlen, kind, kindlen);
	json_decref(doc);
	return rc;
}

int
bw_policydoc_kind_of(const struct bw_policydoc *d, char *api_version,
		     size_t avlen, char *kind, size_t kindlen)
{
	if (d->obj == NULL)
		return bw_policydoc_kind(d->json, api_version, avlen, kind,
					 kindlen);
	if (api_version != NULL && avlen > 0)
		api_version[0] = '\0';
	if (kind != NULL && kindlen > 0)
		kind[0] = '\0';
	return pd_kind(d->obj, api_version, avlen, kind, kindlen);
}

/* apiVersion and kind of doc (not consumed) */
static int
pd_kind(json_t *doc, char *api_version, size_t avlen, char *kind,
	size_t kindlen)
{
	const char *av, *k;
	int rc = 0, rc2;

	if (!json_is_object(doc))
		return -EINVAL;
	av = json_string_value(json_object_get(doc, "apiVersion"));
	k = json_string_value(json_object_get(doc, "kind"));
	if (av == NULL || k == NULL)
		rc = -ENOENT;
	rc2 = pd_copy(api_version, avlen, av);
	if (rc == 0 && rc2 < 0)
		rc = rc2;
	rc2 = pd_copy(kind, kindlen, k);
	if (rc == 0 && rc2 < 0)
		rc = rc2;
	return rc;
}

/* ---- locating a field of a document ------------------------------------------ */

/* Does s start with the key k (k followed by '.', '[' or the end)? */
static size_t
pd_path_key(const char *s, const char *k, size_t klen)
{
	if (strncmp(s, k, klen) != 0)
		return 0;
	if (s[klen] == '\0' || s[klen] == '.' || s[klen] == '[')
		return klen;
	return 0;
}

/*
 * Walk `path` (keys separated by '.', sequence indexes as [N]) from node n
 * of doc; sets *line to the 1-based line of the deepest node reached.
 */
static void
pd_locate_walk(yaml_document_t *doc, yaml_node_t *n, const char *path, unsigned *line)
{
	int depth = 0;

	while (n != NULL && *path != '\0' && depth++ < BW_POLICYDOC_MAX_DEPTH) {
		yaml_node_t *next = NULL;
		size_t used = 0;

		if (*path == '.')
			path++;
		if (*path == '[' && n->type == YAML_SEQUENCE_NODE) {
			char *end;
			unsigned long i = strtoul(path + 1, &end, 10);
			yaml_node_item_t *it = n->data.sequence.items.start;

			if (*end != ']' || it + i >= n->data.sequence.items.top)
				return;
			next = yaml_document_get_node(doc, it[i]);
			used = (size_t)(end + 1 - path);
		} else if (n->type == YAML_MAPPING_NODE) {
			yaml_node_pair_t *p;

			/* the longest key that matches (keys may hold dots) */
			for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
				yaml_node_t *k = yaml_document_get_node(doc, p->key);
				size_t m;

				if (k == NULL || k->type != YAML_SCALAR_NODE)
					continue;
				m = pd_path_key(path, (const char *)k->data.scalar.value,
						k->data.scalar.length);
				if (m > used) {
					used = m;
					next = yaml_document_get_node(doc, p->value);
					*line = (unsigned)k->start_mark.line + 1;
				}
			}
		} else {
			return;
		}
		if (next == NULL || used == 0)
			return;
		if (n->type == YAML_SEQUENCE_NODE)
			*line = (unsigned)next->start_mark.line + 1;
		n = next;
		path += used;
	}
}

int
bw_policydoc_locate(const char *buf, size_t len, unsigned line, unsigned column,
		    const char *path, unsigned *out_line)
{
	yaml_parser_t parser;
	int found = 0, ndocs = 0;

	if (buf == NULL || path == NULL || out_line == NULL || line == 0)
		return -EINVAL;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!found && ndocs++ < BW_POLICYDOC_MAX_DOCS) {
		yaml_document_t doc;
		yaml_node_t *root;

		if (!yaml_parser_load(&parser, &doc))
			break;
		root = yaml_document_get_root_node(&doc);
		if (root == NULL) {
			yaml_document_delete(&doc);
			break; /* the end of the stream */
		}
		/* the mapping that starts where the policy document does */
		for (yaml_node_t *n = doc.nodes.start; n < doc.nodes.top; n++) {
			if (n->type == YAML_MAPPING_NODE &&
			    n->start_mark.line + 1 == line &&
			    (column == 0 || n->start_mark.column + 1 == column)) {
				unsigned l = line;

				pd_locate_walk(&doc, n, path, &l);
				*out_line = l;
				found = 1;
				break;
			}
		}
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	return found ? 0 : -ENOENT;
}
