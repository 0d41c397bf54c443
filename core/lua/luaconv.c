/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/lua/luaconv.c - what crosses between C and the scripts: a flow as
 * the Hubble JSON object (as a Lua table), the decision requests, Lua
 * values as JSON (what on_flow adds, webhook payloads), and the deep copy
 * of a decision request the worker reads after the asker has returned.
 *
 * push_flow builds the table directly from struct bw_flow rather than
 * through lib/flowjson's jansson tree: a trivial on_flow must cost about
 * a microsecond, and the tree alone costs several. It follows
 * lib/flowjson.c field by field (names, enum spellings, what is left out);
 * tests/unit/test_lua.c renders both for a set of flows and compares them,
 * so the two cannot drift apart unnoticed.
 *
 * Every function that touches a lua_State runs inside a protected call.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lauxlib.h>

#include "core/lua/lua_int.h"
#include "core/node/endpoint.h"
#include "core/node/identity.h"
#include "core/node/ipcache.h"
#include "core/node/labels.h"
#include "lib/flowjson.h"

/* ---- small setters: Hubble leaves zero values out ---------------------------- */

static void
lc_str(lua_State *L, const char *k, const char *v)
{
	if (v != NULL && *v != '\0') {
		lua_pushstring(L, v);
		lua_setfield(L, -2, k);
	}
}

static void
lc_int(lua_State *L, const char *k, uint64_t v)
{
	if (v != 0) {
		lua_pushinteger(L, (lua_Integer)v);
		lua_setfield(L, -2, k);
	}
}

/* 64-bit counters are strings in protojson */
static void
lc_u64str(lua_State *L, const char *k, uint64_t v)
{
	char buf[24];

	if (v == 0)
		return;
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	lua_pushstring(L, buf);
	lua_setfield(L, -2, k);
}

static void
lc_strv(lua_State *L, const char *k, const char *const *v, uint32_t n)
{
	if (v == NULL || n == 0)
		return;
	lua_createtable(L, (int)n, 0);
	for (uint32_t i = 0, j = 1; i < n; i++) {
		if (v[i] == NULL)
			continue;
		lua_pushstring(L, v[i]);
		lua_rawseti(L, -2, j++);
	}
	lua_setfield(L, -2, k);
}

static void
lc_bool(lua_State *L, const char *k, int v)
{
	lua_pushboolean(L, v);
	lua_setfield(L, -2, k);
}

/* ---- the flow --------------------------------------------------------------------- */

/* next(t, k) for __pairs (the base library's is not exported). */
static int
lc_next(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 2);
	if (lua_next(L, 1))
		return 2;
	lua_pushnil(L);
	return 1;
}

static void
lc_endpoint(lua_State *L, const char *k, const struct bw_flow_endpoint *ep)
{
	if (ep->id == 0 && ep->identity == 0 && (ep->ns == NULL || !*ep->ns) &&
	    ep->n_labels == 0 && (ep->pod_name == NULL || !*ep->pod_name) &&
	    (ep->workload_name == NULL || !*ep->workload_name))
		return; /* an unset message is left out */
	lua_createtable(L, 0, 6);
	lc_int(L, "ID", ep->id);
	lc_int(L, "identity", ep->identity);
	lc_str(L, "namespace", ep->ns);
	lc_strv(L, "labels", ep->labels, ep->n_labels);
	lc_str(L, "pod_name", ep->pod_name);
	if (ep->workload_name != NULL && *ep->workload_name != '\0') {
		lua_createtable(L, 1, 0);
		lua_createtable(L, 0, 2);
		lc_str(L, "name", ep->workload_name);
		lc_str(L, "kind", ep->workload_kind);
		lua_rawseti(L, -2, 1);
		lua_setfield(L, -2, "workloads");
	}
	lua_setfield(L, -2, k);
}

static void
lc_policies(lua_State *L, const char *k, const struct bw_flow_policy *p,
	    uint32_t n)
{
	if (p == NULL || n == 0)
		return;
	lua_createtable(L, (int)n, 0);
	for (uint32_t i = 0; i < n; i++) {
		lua_createtable(L, 0, 5);
		lc_str(L, "name", p[i].name);
		lc_str(L, "namespace", p[i].ns);
		lc_strv(L, "labels", p[i].labels, p[i].n_labels);
		lc_u64str(L, "revision", p[i].revision);
		lc_str(L, "kind", p[i].kind);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, k);
}

static void
lc_l4(lua_State *L, const struct bw_flow *f)
{
	static const struct {
		uint8_t bit;
		const char *name;
	} flags[] = {
		{BW_FLOW_TCP_FIN, "FIN"}, {BW_FLOW_TCP_SYN, "SYN"}, {BW_FLOW_TCP_RST, "RST"},
		{BW_FLOW_TCP_PSH, "PSH"}, {BW_FLOW_TCP_ACK, "ACK"}, {BW_FLOW_TCP_URG, "URG"},
		{BW_FLOW_TCP_ECE, "ECE"}, {BW_FLOW_TCP_CWR, "CWR"},
	};
	const char *key;

	switch (f->protocol) {
	case 6: key = "TCP"; break;
	case 17: key = "UDP"; break;
	case 132: key = "SCTP"; break;
	case 1: key = "ICMPv4"; break;
	case 58: key = "ICMPv6"; break;
	default: return;
	}
	lua_createtable(L, 0, 1);
	lua_createtable(L, 0, 3);
	if (f->protocol == 1 || f->protocol == 58) {
		lc_int(L, "type", f->icmp_type);
		lc_int(L, "code", f->icmp_code);
	} else {
		lc_int(L, "source_port", f->src_port);
		lc_int(L, "destination_port", f->dst_port);
	}
	if (f->protocol == 6 && f->tcp_flags != 0 && f->type != BW_FLOW_TYPE_L7) {
		lua_createtable(L, 0, 2);
		for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
			if (f->tcp_flags & flags[i].bit)
				lc_bool(L, flags[i].name, 1);
		lua_setfield(L, -2, "flags");
	}
	lua_setfield(L, -2, key);
	lua_setfield(L, -2, "l4");
}

static void
lc_extensions(lua_State *L, const struct bw_flow *f)
{
	json_t *more = NULL;
	int has_more;

	has_more = BW_FLOW_HAS(f, extensions_json) && f->extensions_json != NULL;
	if (f->n_isolated_by == 0 && f->rule_ref == 0 &&
	    !(f->flags & BW_FLOW_F_CT_CLOSE) && !has_more)
		return;
	lua_createtable(L, 0, 4);
	if (has_more) {
		const char *k;
		json_t *v;

		more = json_loads(f->extensions_json, 0, NULL);
		if (json_is_object(more)) {
			json_object_foreach(more, k, v) {
				bw_luac_push_json(L, v);
				lua_setfield(L, -2, k);
			}
		}
		json_decref(more);
	}
	/* the core's own members win, as in lib/flowjson.c */
	lc_str(L, "@type", "bulwark.io/FlowExtensions");
	lc_int(L, "rule_ref", f->rule_ref);
	lc_policies(L, "isolated_by", f->isolated_by, f->n_isolated_by);
	if (f->flags & BW_FLOW_F_CT_CLOSE) {
		lua_createtable(L, 0, 3);
		lc_bool(L, "closed", 1);
		lc_u64str(L, "packets", f->ct_packets);
		lc_u64str(L, "bytes", f->ct_bytes);
		lua_setfield(L, -2, "connection");
	}
	lua_setfield(L, -2, "extensions");
}

/* Fill the table at the top of the stack with the flow's fields. */
static void
lc_fill_flow(lua_State *L, const struct bw_flow *f)
{
	char buf[128];
	const char *name;

	bw_flowjson_time(f->time_ns, buf, sizeof(buf));
	lc_str(L, "time", buf);
	lc_str(L, "uuid", f->uuid);
	if (f->verdict != BW_FLOW_VERDICT_UNKNOWN &&
	    (name = bw_flowjson_verdict_name(f->verdict)) != NULL)
		lc_str(L, "verdict", name);
	lc_int(L, "drop_reason", f->drop_reason);
	if (f->ip_version == 4 || f->ip_version == 6) {
		lua_createtable(L, 0, 3);
		lc_str(L, "source", f->src_ip);
		lc_str(L, "destination", f->dst_ip);
		lc_str(L, "ipVersion", f->ip_version == 4 ? "IPv4" : "IPv6");
		lua_setfield(L, -2, "IP");
	}
	lc_l4(L, f);
	lc_endpoint(L, "source", &f->source);
	lc_endpoint(L, "destination", &f->destination);
	if (f->type != BW_FLOW_TYPE_UNKNOWN &&
	    (name = bw_flowjson_type_name(f->type)) != NULL)
		lc_str(L, "Type", name);
	lc_str(L, "node_name", f->node_name);
	if (f->is_reply == 1)
		lc_bool(L, "reply", 1);
	if (f->event_type != 0) {
		lua_createtable(L, 0, 2);
		lc_int(L, "type", f->event_type);
		lc_int(L, "sub_type", f->event_sub_type);
		lua_setfield(L, -2, "event_type");
	}
	if (f->traffic_direction != BW_FLOW_TRAFFIC_UNKNOWN &&
	    (name = bw_flowjson_direction_name(f->traffic_direction)) != NULL)
		lc_str(L, "traffic_direction", name);
	lc_int(L, "policy_match_type", f->policy_match_type);
	if (f->trace_observation_point != BW_FLOW_OBS_UNKNOWN_POINT &&
	    (name = bw_flowjson_obs_point_name(f->trace_observation_point)) != NULL)
		lc_str(L, "trace_observation_point", name);
	if (f->trace_reason != BW_FLOW_REASON_UNKNOWN &&
	    (name = bw_flowjson_trace_reason_name(f->trace_reason)) != NULL)
		lc_str(L, "trace_reason", name);
	if (f->drop_reason != 0)
		lc_str(L, "drop_reason_desc", f->drop_reason_desc != NULL
			       ? f->drop_reason_desc : "DROP_REASON_UNKNOWN");
	if (f->is_reply >= 0)
		lc_bool(L, "is_reply", f->is_reply != 0);
	if (f->ifindex != 0 || (f->ifname != NULL && *f->ifname != '\0')) {
		lua_createtable(L, 0, 2);
		lc_int(L, "index", f->ifindex);
		lc_str(L, "name", f->ifname);
		lua_setfield(L, -2, "interface");
	}
	if (f->summary != NULL) {
		lc_str(L, "Summary", f->summary);
	} else {
		bw_flowjson_summary(f, buf, sizeof(buf));
		lc_str(L, "Summary", buf);
	}
	lc_extensions(L, f);
	lc_policies(L, "egress_allowed_by", f->egress_allowed_by,
		    f->n_egress_allowed_by);
	lc_policies(L, "ingress_allowed_by", f->ingress_allowed_by,
		    f->n_ingress_allowed_by);
	lc_policies(L, "egress_denied_by", f->egress_denied_by,
		    f->n_egress_denied_by);
	lc_policies(L, "ingress_denied_by", f->ingress_denied_by,
		    f->n_ingress_denied_by);
}

/*
 * Records (the flow, a DNS question, an HTTP or Kafka request) reach the
 * hook as tables filled on first use: a hook that does not look at its
 * argument, or looks only sometimes, does not pay for the ~80 fields and
 * tables of a Hubble flow (tests/bench/bench_lua.c counts the
 * instructions). The table starts with one hidden entry, the call's
 * generation, and a metatable shared by every record of the state whose
 * __index and __pairs fill it from the C record, then drop the
 * metatable: from there on it is a plain table. The C side (one userdata
 * per state, in the registry) knows the current generation and record;
 * bw_luac_done() forgets the record when the call returns, so a table
 * kept unread past its call says so instead of reading freed memory.
 */
enum { LC_FLOW = 1, LC_DNS, LC_HTTP, LC_KAFKA };

struct lc_state {
	uintptr_t gen;
	int kind;
	const void *rec;
};

static const char lc_state_key;  /* registry: the state's struct lc_state */
static const char lc_mt_key;     /* registry: the shared metatable */
static const char lc_gen_key;    /* a record table's hidden entry */

#define LC_RECORD_MT_NAME "bulwark.record"

static void lc_fill_dns(lua_State *L, const struct bw_hook_dns *q);
static void lc_fill_http(lua_State *L, const struct bw_hook_http *r);
static void lc_fill_kafka(lua_State *L, const struct bw_hook_kafka *r);

/* Fill table t from the state's record if it is this call's; drop the
 * metatable. */
static void
lc_materialize(lua_State *L, int t)
{
	struct lc_state *st = lua_touserdata(L, lua_upvalueindex(1));
	uintptr_t gen;

	t = lua_absindex(L, t);
	lua_rawgetp(L, t, &lc_gen_key);
	gen = (uintptr_t)lua_touserdata(L, -1);
	lua_pop(L, 1);
	if (st->rec == NULL || gen != st->gen)
		luaL_error(L, "this record is gone: a hook's argument is only "
			      "filled during its call (read what you keep)");
	lua_pushnil(L);
	lua_rawsetp(L, t, &lc_gen_key);
	lua_pushvalue(L, t);
	switch (st->kind) {
	case LC_FLOW:
		lc_fill_flow(L, st->rec);
		break;
	case LC_DNS:
		lc_fill_dns(L, st->rec);
		break;
	case LC_HTTP:
		lc_fill_http(L, st->rec);
		break;
	default:
		lc_fill_kafka(L, st->rec);
		break;
	}
	lua_pop(L, 1);
	lua_pushnil(L);
	lua_setmetatable(L, t);
}

static int
lc_lazy_index(lua_State *L)
{
	lc_materialize(L, 1);
	lua_pushvalue(L, 2);
	lua_rawget(L, 1);
	return 1;
}

static int
lc_lazy_pairs(lua_State *L)
{
	lc_materialize(L, 1);
	lua_pushcfunction(L, lc_next);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return 3;
}

static struct lc_state *
lc_state(lua_State *L)
{
	struct lc_state *st;

	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &lc_state_key) == LUA_TUSERDATA) {
		st = lua_touserdata(L, -1);
		lua_pop(L, 1);
		return st;
	}
	lua_pop(L, 1);
	st = lua_newuserdatauv(L, sizeof(*st), 0);
	memset(st, 0, sizeof(*st));
	lua_createtable(L, 0, 3); /* the shared metatable */
	lua_pushvalue(L, -2);
	lua_pushcclosure(L, lc_lazy_index, 1);
	lua_setfield(L, -2, "__index");
	lua_pushvalue(L, -2);
	lua_pushcclosure(L, lc_lazy_pairs, 1);
	lua_setfield(L, -2, "__pairs");
	lua_pushliteral(L, LC_RECORD_MT_NAME);
	lua_setfield(L, -2, "__name");
	lua_rawsetp(L, LUA_REGISTRYINDEX, &lc_mt_key);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &lc_state_key);
	return st;
}

/* Push an unfilled record table of this call; the handle for done(). */
static void *
lc_push_record(lua_State *L, int kind, const void *rec)
{
	struct lc_state *st = lc_state(L);

	st->gen++;
	st->kind = kind;
	st->rec = rec;
	lua_createtable(L, 0, 1);
	lua_pushlightuserdata(L, (void *)st->gen);
	lua_rawsetp(L, -2, &lc_gen_key);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &lc_mt_key);
	lua_setmetatable(L, -2);
	return st;
}

void *
bw_luac_push_flow(lua_State *L, const struct bw_flow *f)
{
	return lc_push_record(L, LC_FLOW, f);
}

void
bw_luac_done(void *handle)
{
	if (handle != NULL)
		((struct lc_state *)handle)->rec = NULL;
}

/* If the table at idx is a record not yet filled, fill it now. */
static void
lc_flow_fill_if_lazy(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	if (!lua_getmetatable(L, idx))
		return;
	if (lua_getfield(L, -1, "__name") == LUA_TSTRING &&
	    strcmp(lua_tostring(L, -1), LC_RECORD_MT_NAME) == 0) {
		lua_getfield(L, -2, "__index");
		lua_pushvalue(L, idx);
		lua_pushliteral(L, "time");
		lua_call(L, 2, 0);
	}
	lua_pop(L, 2);
}

/* ---- requests ------------------------------------------------------------------- */

static void
lc_peer(lua_State *L, const char *k, const struct bw_hook_peer *p)
{
	lua_createtable(L, 0, 6);
	lc_str(L, "namespace", p->ns);
	lc_str(L, "pod", p->pod);
	lua_createtable(L, (int)p->n_labels, 0);
	for (uint32_t i = 0, j = 1; i < p->n_labels; i++) {
		if (p->labels[i] == NULL)
			continue;
		lua_pushstring(L, p->labels[i]);
		lua_rawseti(L, -2, j++);
	}
	lua_setfield(L, -2, "labels");
	lc_int(L, "identity", p->identity);
	lc_str(L, "ip", p->ip);
	lc_int(L, "port", p->port);
	lua_setfield(L, -2, k);
}

const char *
bw_luac_qtype_name(unsigned type, char *buf, size_t len)
{
	static const struct {
		unsigned t;
		const char *n;
	} tab[] = {
		{1, "A"}, {2, "NS"}, {5, "CNAME"}, {6, "SOA"}, {12, "PTR"},
		{13, "HINFO"}, {15, "MX"}, {16, "TXT"}, {28, "AAAA"}, {33, "SRV"},
		{35, "NAPTR"}, {39, "DNAME"}, {43, "DS"}, {46, "RRSIG"},
		{47, "NSEC"}, {48, "DNSKEY"}, {52, "TLSA"}, {64, "SVCB"},
		{65, "HTTPS"}, {99, "SPF"}, {252, "AXFR"}, {255, "ANY"},
		{257, "CAA"},
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].t == type)
			return tab[i].n;
	snprintf(buf, len, "TYPE%u", type); /* RFC 3597 */
	return buf;
}

const char *
bw_luac_kafka_api_name(unsigned key)
{
	/* Cilium's apiKey names */
	static const char *const names[] = {
		"produce", "fetch", "offsets", "metadata", "leaderandisr",
		"stopreplica", "updatemetadata", "controlledshutdown",
		"offsetcommit", "offsetfetch", "findcoordinator", "joingroup",
		"heartbeat", "leavegroup", "syncgroup", "describegroups",
		"listgroups", "saslhandshake", "apiversions", "createtopics",
		"deletetopics", "deleterecords", "initproducerid",
		"offsetforleaderepoch", "addpartitionstotxn", "addoffsetstotxn",
		"endtxn", "writetxnmarkers", "txnoffsetcommit", "describeacls",
		"createacls", "deleteacls", "describeconfigs", "alterconfigs",
	};

	return key < sizeof(names) / sizeof(names[0]) ? names[key] : NULL;
}

static void
lc_fill_dns(lua_State *L, const struct bw_hook_dns *q)
{
	char buf[16];

	lc_str(L, "name", q->name);
	lua_pushstring(L, bw_luac_qtype_name(q->qtype, buf, sizeof(buf)));
	lua_setfield(L, -2, "qtype");
	lua_pushinteger(L, q->qtype);
	lua_setfield(L, -2, "qtype_num");
	lc_peer(L, "source", &q->source);
	lc_peer(L, "destination", &q->destination);
}

static void
lc_fill_http(lua_State *L, const struct bw_hook_http *r)
{
	lc_str(L, "method", r->method);
	lc_str(L, "path", r->path);
	lc_str(L, "host", r->host);
	/* names are lower-cased by the copy; repeated ones joined with ", " */
	lua_createtable(L, 0, (int)r->n_headers);
	for (uint32_t i = 0; i < r->n_headers; i++) {
		const char *n = r->headers[i].name, *v = r->headers[i].value;

		if (n == NULL || v == NULL)
			continue;
		if (lua_getfield(L, -1, n) == LUA_TSTRING) {
			lua_pushliteral(L, ", ");
			lua_pushstring(L, v);
			lua_concat(L, 3);
		} else {
			lua_pop(L, 1);
			lua_pushstring(L, v);
		}
		lua_setfield(L, -2, n);
	}
	lua_setfield(L, -2, "headers");
	lc_peer(L, "source", &r->source);
	lc_peer(L, "destination", &r->destination);
}

static void
lc_fill_kafka(lua_State *L, const struct bw_hook_kafka *r)
{
	const char *api = bw_luac_kafka_api_name(r->api_key);
	char buf[16];

	if (api == NULL) {
		snprintf(buf, sizeof(buf), "%u", r->api_key);
		api = buf;
	}
	lc_str(L, "api_key", api);
	lua_pushinteger(L, r->api_key);
	lua_setfield(L, -2, "api_key_num");
	lua_pushinteger(L, r->api_version);
	lua_setfield(L, -2, "api_version");
	lua_pushinteger(L, r->correlation_id);
	lua_setfield(L, -2, "correlation_id");
	lc_str(L, "client_id", r->client_id);
	lua_createtable(L, (int)r->n_topics, 0);
	for (uint32_t i = 0, j = 1; i < r->n_topics; i++) {
		if (r->topics[i] == NULL)
			continue;
		lua_pushstring(L, r->topics[i]);
		lua_rawseti(L, -2, j++);
	}
	lua_setfield(L, -2, "topics");
	lc_peer(L, "source", &r->source);
	lc_peer(L, "destination", &r->destination);
}

void *
bw_luac_push_dns(lua_State *L, const struct bw_hook_dns *q)
{
	return lc_push_record(L, LC_DNS, q);
}

void *
bw_luac_push_http(lua_State *L, const struct bw_hook_http *r)
{
	return lc_push_record(L, LC_HTTP, r);
}

void *
bw_luac_push_kafka(lua_State *L, const struct bw_hook_kafka *r)
{
	return lc_push_record(L, LC_KAFKA, r);
}

/* ---- JSON ------------------------------------------------------------------------- */

struct lc_jctx {
	int nodes;
	char *err;
	size_t errlen;
};

#define LC_JSON_NODES 1024

static json_t *
lc_json(lua_State *L, int idx, int depth, struct lc_jctx *c)
{
	idx = lua_absindex(L, idx);
	if (++c->nodes > LC_JSON_NODES) {
		snprintf(c->err, c->errlen, "more than %d values", LC_JSON_NODES);
		return NULL;
	}
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		return json_null();
	case LUA_TBOOLEAN:
		return json_boolean(lua_toboolean(L, idx));
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			return json_integer((json_int_t)lua_tointeger(L, idx));
		if (!isfinite(lua_tonumber(L, idx))) {
			snprintf(c->err, c->errlen, "a number that is not finite");
			return NULL;
		}
		return json_real(lua_tonumber(L, idx));
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		json_t *j = json_stringn(s, n);

		if (j == NULL)
			snprintf(c->err, c->errlen, "a string that is not UTF-8");
		return j;
	}
	case LUA_TTABLE: {
		lua_Integer len, count = 0;
		int is_array = 1;
		json_t *o;

		if (depth <= 0) {
			snprintf(c->err, c->errlen, "tables nested too deep");
			return NULL;
		}
		lc_flow_fill_if_lazy(L, idx); /* a flow passed on unread */
		len = (lua_Integer)lua_rawlen(L, idx);
		/* an array when the keys are exactly 1..#t */
		lua_pushnil(L);
		while (lua_next(L, idx) != 0) {
			lua_pop(L, 1);
			count++;
			if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 ||
			    lua_tointeger(L, -1) > len)
				is_array = 0;
		}
		if (count == 0)
			return json_object(); /* {} rather than [] */
		if (is_array && count == len) {
			o = json_array();
			for (lua_Integer i = 1; o != NULL && i <= len; i++) {
				json_t *v;

				lua_rawgeti(L, idx, i);
				v = lc_json(L, -1, depth - 1, c);
				lua_pop(L, 1);
				if (v == NULL) {
					json_decref(o);
					return NULL;
				}
				json_array_append_new(o, v);
			}
			return o;
		}
		o = json_object();
		lua_pushnil(L);
		while (o != NULL && lua_next(L, idx) != 0) {
			json_t *v;

			if (lua_type(L, -2) != LUA_TSTRING) {
				snprintf(c->err, c->errlen, "a table with keys "
					 "that are neither 1..n nor strings");
				lua_pop(L, 2);
				json_decref(o);
				return NULL;
			}
			v = lc_json(L, -1, depth - 1, c);
			if (v == NULL) {
				lua_pop(L, 2);
				json_decref(o);
				return NULL;
			}
			json_object_set_new(o, lua_tostring(L, -2), v);
			lua_pop(L, 1);
		}
		return o;
	}
	default:
		snprintf(c->err, c->errlen, "a %s value", luaL_typename(L, idx));
		return NULL;
	}
}

json_t *
bw_luac_to_json(lua_State *L, int idx, int max_depth, char *err, size_t errlen)
{
	struct lc_jctx c = { 0, err, errlen };

	return lc_json(L, idx, max_depth, &c);
}

void
bw_luac_push_json(lua_State *L, const json_t *v)
{
	const char *k;
	json_t *x;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		lua_createtable(L, 0, (int)json_object_size(v));
		json_object_foreach((json_t *)v, k, x) {
			bw_luac_push_json(L, x);
			lua_setfield(L, -2, k);
		}
		break;
	case JSON_ARRAY:
		lua_createtable(L, (int)json_array_size(v), 0);
		json_array_foreach(v, i, x) {
			bw_luac_push_json(L, x);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		break;
	case JSON_STRING:
		lua_pushlstring(L, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		lua_pushinteger(L, (lua_Integer)json_integer_value(v));
		break;
	case JSON_REAL:
		lua_pushnumber(L, json_real_value(v));
		break;
	case JSON_TRUE:
		lua_pushboolean(L, 1);
		break;
	case JSON_FALSE:
		lua_pushboolean(L, 0);
		break;
	default:
		lua_pushnil(L);
		break;
	}
}

/* ---- deep copies of requests ---------------------------------------------------- */

/*
 * Two passes over the same code, as core/flow/flow.c does: measure with
 * base == NULL, then copy into one allocation.
 */
struct lc_copy {
	char *base;
	size_t off;
};

static void *
lc_alloc(struct lc_copy *c, size_t n, size_t align)
{
	void *p;

	c->off = (c->off + align - 1) & ~(align - 1);
	p = c->base != NULL ? c->base + c->off : NULL;
	c->off += n;
	return p;
}

static const char *
lc_cstr(struct lc_copy *c, const char *s, int lower)
{
	size_t n;
	char *p;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	p = lc_alloc(c, n, 1);
	if (p != NULL) {
		memcpy(p, s, n);
		if (lower)
			for (char *q = p; *q; q++)
				if (*q >= 'A' && *q <= 'Z')
					*q = (char)(*q - 'A' + 'a');
	}
	return p;
}

static const char *const *
lc_cstrv(struct lc_copy *c, const char *const *v, uint32_t n)
{
	const char **a;

	if (v == NULL || n == 0)
		return NULL;
	a = lc_alloc(c, n * sizeof(*a), sizeof(void *));
	for (uint32_t i = 0; i < n; i++) {
		const char *s = lc_cstr(c, v[i], 0);

		if (a != NULL)
			a[i] = s;
	}
	return a;
}

#define LC_PEER_LABELS 256

/* What the core knows about a peer given only by address (loop thread). */
struct lc_peer_info {
	struct bw_hook_peer p;
	const char *labels[LC_PEER_LABELS];
};

/*
 * Complete a peer: what the caller left out (namespace and pod from the
 * endpoint with that address, the identity from the endpoint or the
 * ipcache, the labels from the identity) is filled in; what it gave is
 * kept. A proxy often knows the identity from the connection and nothing
 * else.
 */
static void
lc_enrich(struct lc_peer_info *pi, const struct bw_hook_peer *in)
{
	const struct bw_labelset *ls = NULL;
	struct bw_ipcache_entry e;
	struct bw_endpoint *ep = NULL;
	uint8_t addr[16];
	int family = 0;

	pi->p = *in;
	if (in->ns != NULL && in->labels != NULL && in->identity != 0)
		return;
	memset(addr, 0, sizeof(addr));
	if (in->ip != NULL && inet_pton(AF_INET, in->ip, addr) == 1)
		family = 4;
	else if (in->ip != NULL && inet_pton(AF_INET6, in->ip, addr) == 1)
		family = 6;
	if (family != 0)
		ep = bw_endpoint_find_by_ip(family, addr);
	if (ep != NULL && in->ns == NULL) {
		pi->p.ns = bw_endpoint_ns(ep);
		pi->p.pod = bw_endpoint_pod(ep);
	}
	if (pi->p.identity == 0) {
		if (ep != NULL) {
			pi->p.identity = bw_endpoint_identity(ep);
		} else if (family != 0) {
			memset(&e, 0, sizeof(e));
			bw_ipcache_lookup(family, addr, &e);
			pi->p.identity = e.identity;
		}
	}
	if (in->labels != NULL)
		return;
	ls = pi->p.identity != 0 ? bw_identity_labels(pi->p.identity) : NULL;
	if (ls == NULL && ep != NULL)
		ls = bw_endpoint_identity_labels(ep);
	if (ls != NULL) {
		uint32_t n = 0;

		for (size_t i = 0; i < bw_labelset_count(ls) && n < LC_PEER_LABELS; i++) {
			const struct bw_label *l = bw_labelset_at(ls, i);

			if (l != NULL && l->text != NULL)
				pi->labels[n++] = l->text;
		}
		pi->p.labels = pi->labels;
		pi->p.n_labels = n;
	}
}

static void
lc_cpeer(struct lc_copy *c, struct bw_hook_peer *d, const struct bw_hook_peer *s)
{
	*d = *s;
	d->ns = lc_cstr(c, s->ns, 0);
	d->pod = lc_cstr(c, s->pod, 0);
	d->labels = lc_cstrv(c, s->labels, s->n_labels);
	d->n_labels = d->labels != NULL ? s->n_labels : 0;
	d->ip = lc_cstr(c, s->ip, 0);
}

struct lc_dns_src {
	const struct bw_hook_dns *q;
	struct lc_peer_info src, dst;
};

static void
lc_copy_dns(struct lc_copy *c, struct bw_hook_dns *d, const struct lc_dns_src *s)
{
	char *name;
	size_t n;

	memset(d, 0, sizeof(*d));
	d->size = sizeof(*d);
	d->qtype = s->q->qtype;
	name = (char *)lc_cstr(c, s->q->name, 1);
	/* no final dot */
	if (name != NULL && (n = strlen(name)) > 1 && name[n - 1] == '.')
		name[n - 1] = '\0';
	d->name = name;
	lc_cpeer(c, &d->source, &s->src.p);
	lc_cpeer(c, &d->destination, &s->dst.p);
}

int
bw_luac_copy_dns(struct lh_dec *d, const struct bw_hook_dns *q)
{
	struct lc_dns_src *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return -ENOMEM;
	s->q = q;
	lc_enrich(&s->src, &q->source);
	/* (older, shorter requests: the size says what is there) */
	if (q->size >= offsetof(struct bw_hook_dns, destination) +
			       sizeof(q->destination))
		lc_enrich(&s->dst, &q->destination);
	do {
		struct lc_copy c_ = { NULL, 0 };

		lc_copy_dns(&c_, &d->req.dns, s);
		d->arena = malloc(c_.off ? c_.off : 1);
		if (d->arena == NULL) {
			free(s);
			return -ENOMEM;
		}
		c_.base = d->arena;
		c_.off = 0;
		lc_copy_dns(&c_, &d->req.dns, s);
	} while (0);
	free(s);
	return 0;
}

struct lc_http_src {
	const struct bw_hook_http *r;
	struct lc_peer_info src, dst;
};

static void
lc_copy_http(struct lc_copy *c, struct bw_hook_http *d, const struct lc_http_src *s)
{
	struct bw_hook_header *h = NULL;

	memset(d, 0, sizeof(*d));
	d->size = sizeof(*d);
	d->method = lc_cstr(c, s->r->method, 0);
	d->path = lc_cstr(c, s->r->path, 0);
	d->host = lc_cstr(c, s->r->host, 0);
	if (s->r->headers != NULL && s->r->n_headers > 0) {
		h = lc_alloc(c, s->r->n_headers * sizeof(*h), sizeof(void *));
		for (uint32_t i = 0; i < s->r->n_headers; i++) {
			const char *n = lc_cstr(c, s->r->headers[i].name, 1);
			const char *v = lc_cstr(c, s->r->headers[i].value, 0);

			if (h != NULL) {
				h[i].name = n;
				h[i].value = v;
			}
		}
		d->n_headers = s->r->n_headers;
	}
	d->headers = h;
	lc_cpeer(c, &d->source, &s->src.p);
	lc_cpeer(c, &d->destination, &s->dst.p);
}

int
bw_luac_copy_http(struct lh_dec *d, const struct bw_hook_http *r)
{
	struct lc_http_src *s = calloc(1, sizeof(*s));
	int rc = 0;

	if (s == NULL)
		return -ENOMEM;
	s->r = r;
	lc_enrich(&s->src, &r->source);
	lc_enrich(&s->dst, &r->destination);
	{
		struct lc_copy c_ = { NULL, 0 };

		lc_copy_http(&c_, &d->req.http, s);
		d->arena = malloc(c_.off ? c_.off : 1);
		if (d->arena == NULL) {
			rc = -ENOMEM;
		} else {
			c_.base = d->arena;
			c_.off = 0;
			lc_copy_http(&c_, &d->req.http, s);
		}
	}
	free(s);
	return rc;
}

struct lc_kafka_src {
	const struct bw_hook_kafka *r;
	struct lc_peer_info src, dst;
};

static void
lc_copy_kafka(struct lc_copy *c, struct bw_hook_kafka *d,
	      const struct lc_kafka_src *s)
{
	memset(d, 0, sizeof(*d));
	d->size = sizeof(*d);
	d->api_key = s->r->api_key;
	d->api_version = s->r->api_version;
	d->correlation_id = s->r->correlation_id;
	d->client_id = lc_cstr(c, s->r->client_id, 0);
	d->topics = lc_cstrv(c, s->r->topics, s->r->n_topics);
	d->n_topics = d->topics != NULL ? s->r->n_topics : 0;
	lc_cpeer(c, &d->source, &s->src.p);
	lc_cpeer(c, &d->destination, &s->dst.p);
}

int
bw_luac_copy_kafka(struct lh_dec *d, const struct bw_hook_kafka *r)
{
	struct lc_kafka_src *s = calloc(1, sizeof(*s));
	int rc = 0;

	if (s == NULL)
		return -ENOMEM;
	s->r = r;
	lc_enrich(&s->src, &r->source);
	lc_enrich(&s->dst, &r->destination);
	{
		struct lc_copy c_ = { NULL, 0 };

		lc_copy_kafka(&c_, &d->req.kafka, s);
		d->arena = malloc(c_.off ? c_.off : 1);
		if (d->arena == NULL) {
			rc = -ENOMEM;
		} else {
			c_.base = d->arena;
			c_.off = 0;
			lc_copy_kafka(&c_, &d->req.kafka, s);
		}
	}
	free(s);
	return rc;
}
