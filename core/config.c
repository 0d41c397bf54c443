/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/config.c - bulwark.conf through inih, key tables, -o, -n printing.
 *
 * Reading keeps every line as a raw entry under its section, with the file
 * and line it came from. Debian's libinih is built without
 * INI_HANDLER_LINENO, so the file is fed to ini_parse_stream() through a
 * reader that counts lines itself; the reader also records section headers
 * (so an empty misspelt section is still caught), notices indented
 * continuation lines and refuses lines longer than inih can hold.
 *
 * Checking is table-driven: struct bw_conf_key (bulwark/module.h) says a
 * key's type, default, range and place in the destination struct; the same
 * code applies the core's tables here and the modules' tables in the module
 * loader. Defaults live in the tables only.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "core/config.h"
#include "core/log.h"
#include "lib/errbuf.h"
#include "lib/listenaddr.h"
#include "lib/watchlist.h"

#ifndef BW_SYSCONFDIR
#define BW_SYSCONFDIR "/etc"
#endif
#ifndef BW_MODULEDIR
#define BW_MODULEDIR "/usr/lib/bulwark/modules"
#endif

const struct bw_daemon_conf *bw_conf;

/* ---- the core's key tables ------------------------------------------- */

static const char *const conf_log_levels[] = {
	"err", "warning", "notice", "info", "debug", NULL
};
static const char *const conf_log_targets[] = { "stderr", "syslog", NULL };
static const char *const conf_enforcement[] = {
	"default", "always", "never", NULL
};
/* the order of enum bw_tc_attach_mode (core/datapath/datapath.h) */
static const char *const conf_tc_attach[] = { "auto", "tcx", "clsact", NULL };
/* the order of enum bw_earlydemux_mode (core/datapath/earlydemux.h) */
static const char *const conf_early_demux[] = { "off", "keep", NULL };
/* datapath.host_routing: 0 the kernel's routing, 1 eBPF host routing */
static const char *const conf_host_routing[] = { "kernel", "bpf", NULL };
static const char *const conf_aggregation[] = { /* = enum bw_aggregation */
	"none", "lowest", "low", "medium", "maximum", NULL
};

#define DKEY(n, t, d, field, mn, mx, ev, fl, h) \
	{ n, t, d, offsetof(struct bw_daemon_conf, field), mn, mx, ev, fl, h }

const struct bw_conf_key bw_conf_daemon_keys[] = {
	DKEY("socket", BW_CONF_STRING, "/run/bulwark/bulwark.sock", socket,
	     0, 0, NULL, 0, "control API Unix socket"),
	DKEY("socket_group", BW_CONF_STRING, "", socket_group, 0, 0, NULL, 0,
	     "group allowed to use the socket besides root (empty: root only)"),
	DKEY("api_max_connections", BW_CONF_INT, "256", api_max_connections, 1, 65536, NULL, 0,
	     "connections the control socket takes at once; beyond, it stops accepting until one closes"),
	DKEY("api_request_timeout", BW_CONF_DURATION, "10s", api_request_timeout, 1000,
	     3600000, NULL, 0,
	     "time a client has to send a whole request (headers and body) once connected or answered; slower ones are closed"),
	DKEY("state_dir", BW_CONF_STRING, "/var/lib/bulwark", state_dir,
	     0, 0, NULL, 0, "persistent state (endpoints, identities, caches)"),
	DKEY("bpffs_dir", BW_CONF_STRING, "/sys/fs/bpf/bulwark", bpffs_dir,
	     0, 0, NULL, 0, "directory on bpffs where the maps are pinned"),
	DKEY("ipcache_max_entries", BW_CONF_INT, "131072", ipcache_max_entries, 1024, 16777216,
	     NULL, 0,
	     "prefixes the datapath's ipcache holds per address family (endpoint addresses, CIDR peers, the node's); a change replaces the pinned maps at the next start"),
	DKEY("tc_attach", BW_CONF_ENUM, "auto", tc_attach, 0, 0, conf_tc_attach, 0,
	     "how programs attach to endpoint veths: auto (tcx if the kernel has it), tcx, clsact (endpoint add/delete about 1 ms instead of 20-30 ms with tcx, about 0.3 us more per packet)"),
	DKEY("redirect_table", BW_CONF_INT, "2004", redirect_table, 256, 4294967294LL, NULL, 0,
	     "routing table (256 and up) for packets the datapath hands to a local proxy; its only route: local default dev lo"),
	DKEY("redirect_rule_priority", BW_CONF_INT, "9", redirect_priority, 1, 32765, NULL, 0,
	     "priority of the policy-routing rule that sends them there (fwmark 0xb00/0xf00)"),
	DKEY("early_demux", BW_CONF_ENUM, "off", early_demux, 0, 0, conf_early_demux,
	     BW_CONF_F_RELOADABLE,
	     "off: TCP/UDP early demux off in bulwarkd's netns while it runs (connections reusing a proxy's TIME_WAIT tuple are forwarded); keep: leave the kernel's setting"),
	DKEY("module_dir", BW_CONF_STRING, BW_MODULEDIR, module_dir,
	     0, 0, NULL, 0, "where module shared objects are loaded from"),
	DKEY("modules", BW_CONF_STRING, "", modules, 0, 0, NULL, 0,
	     "module instances to load, 'module' or 'module:instance'"),
	DKEY("log_level", BW_CONF_ENUM, "info", log_level, 0, 0,
	     conf_log_levels, BW_CONF_F_RELOADABLE, "least important level logged"),
	DKEY("log_target", BW_CONF_ENUM, "stderr", log_target, 0, 0,
	     conf_log_targets, BW_CONF_F_RELOADABLE, "stderr or syslog"),
	BW_CONF_KEY_END
};

const struct bw_conf_key bw_conf_policy_keys[] = {
	DKEY("dir", BW_CONF_STRING, BW_SYSCONFDIR "/bulwark/policies", policy_dir,
	     0, 0, NULL, 0, "directory of policy files, watched for changes"),
	DKEY("enforcement", BW_CONF_ENUM, "default", enforcement, 0, 0,
	     conf_enforcement, BW_CONF_F_RELOADABLE,
	     "default: deny once selected by a policy; always; never"),
	DKEY("audit", BW_CONF_BOOL, "false", audit, 0, 0, NULL,
	     BW_CONF_F_RELOADABLE, "report drops as AUDIT verdicts and let them pass"),
	BW_CONF_KEY_END
};

const struct bw_conf_key bw_conf_flows_keys[] = {
	DKEY("capacity", BW_CONF_INT, "4096", flows_capacity, 16, 16777216,
	     NULL, 0, "flows kept in the in-memory flow ring"),
	DKEY("monitor_aggregation", BW_CONF_ENUM, "medium", monitor_aggregation,
	     0, 0, conf_aggregation, BW_CONF_F_RELOADABLE,
	     "trace event aggregation (Cilium's levels): none, lowest, low, medium, maximum"),
	DKEY("monitor_interval", BW_CONF_DURATION, "5s", monitor_interval,
	     0, 3600000, NULL, BW_CONF_F_RELOADABLE,
	     "medium/maximum: trace a connection again after this long without a report in a direction (0: never)"),
	DKEY("monitor_flags", BW_CONF_STRING, "all", monitor_flags,
	     0, 0, NULL, BW_CONF_F_RELOADABLE | BW_CONF_F_TCPFLAGS,
	     "medium/maximum: TCP flags traced when first seen in a direction: all, none, or a list of syn, fin, rst, psh, ack, urg, ece, cwr"),
	DKEY("trace_events", BW_CONF_BOOL, "true", trace_events, 0, 0, NULL,
	     BW_CONF_F_RELOADABLE, "the datapath writes trace events (forwarded packets)"),
	DKEY("drop_events", BW_CONF_BOOL, "true", drop_events, 0, 0, NULL,
	     BW_CONF_F_RELOADABLE,
	     "the datapath writes drop events (drops are counted in the metrics either way)"),
	DKEY("policy_verdict_events", BW_CONF_BOOL, "true", policy_verdict_events,
	     0, 0, NULL, BW_CONF_F_RELOADABLE,
	     "the datapath writes policy verdict events (one per new connection in an enforced direction)"),
	BW_CONF_KEY_END
};

/* The datapath (docs/datapath.md). */
const struct bw_conf_key bw_conf_datapath_keys[] = {
	DKEY("uplinks", BW_CONF_STRING, "", datapath_uplinks, 0, 0, NULL,
	     BW_CONF_F_RELOADABLE | BW_CONF_F_IFLIST,
	     "interfaces traffic from outside the node arrives on (IF[,IF...]): a program there hands TCP connections that a pod's ingress L7 policy redirects to the local proxy; empty: none"),
	DKEY("host_routing", BW_CONF_ENUM, "kernel", host_routing, 0, 0, conf_host_routing,
	     BW_CONF_F_RELOADABLE,
	     "kernel: pod traffic goes through the node's routing and netfilter; bpf: the datapath delivers it itself once policy passed (faster; node iptables no longer see it)"),
	BW_CONF_KEY_END
};

static const char *const conf_lua_verdicts[] = { "deny", "allow", NULL };

/* core/lua/ (docs/lua.md, "Sandbox and budgets") */
const struct bw_conf_key bw_conf_lua_keys[] = {
	DKEY("dir", BW_CONF_STRING, BW_SYSCONFDIR "/bulwark/lua", lua_dir,
	     0, 0, NULL, 0, "directory of Lua scripts (*.lua), watched for changes"),
	DKEY("memory_limit", BW_CONF_SIZE, "16M", lua_memory_limit,
	     65536, 1073741824, NULL, BW_CONF_F_RELOADABLE,
	     "memory one script's Lua state may hold"),
	DKEY("instruction_limit", BW_CONF_INT, "1000000", lua_instruction_limit,
	     1000, 1000000000, NULL, BW_CONF_F_RELOADABLE,
	     "Lua VM instructions per hook call (and for loading a script)"),
	DKEY("time_limit", BW_CONF_DURATION, "100ms", lua_time_limit,
	     1, 60000, NULL, BW_CONF_F_RELOADABLE,
	     "wall-clock time per hook call"),
	DKEY("max_failures", BW_CONF_INT, "5", lua_max_failures, 1, 1000, NULL,
	     BW_CONF_F_RELOADABLE,
	     "failures (errors, overruns, bad return values) within failure_window that disable a script"),
	DKEY("failure_window", BW_CONF_DURATION, "1m", lua_failure_window,
	     1000, 86400000, NULL, BW_CONF_F_RELOADABLE,
	     "the window max_failures counts in"),
	DKEY("default_verdict", BW_CONF_ENUM, "deny", lua_default_verdict, 0, 0,
	     conf_lua_verdicts, BW_CONF_F_RELOADABLE,
	     "what a DNS/HTTP/Kafka request gets when a script deciding it fails, overruns or is disabled after failures"),
	DKEY("decision_timeout", BW_CONF_DURATION, "1s", lua_decision_timeout,
	     10, 60000, NULL, BW_CONF_F_RELOADABLE,
	     "a decision not answered within this time gets default_verdict"),
	DKEY("flow_queue", BW_CONF_INT, "8192", lua_flow_queue, 16, 1048576,
	     NULL, 0, "flows that may wait for on_flow/on_verdict hooks; beyond, flows are published without them (counted)"),
	DKEY("flow_delay", BW_CONF_DURATION, "200ms", lua_flow_delay, 1, 10000,
	     NULL, BW_CONF_F_RELOADABLE,
	     "the longest a flow waits for on_flow before it is published without its extensions"),
	DKEY("webhooks", BW_CONF_STRING, "", lua_webhooks, 0, 0, NULL,
	     BW_CONF_F_RELOADABLE,
	     "space-separated http:// URL prefixes that bulwark.webhook() may post to (empty: none)"),
	BW_CONF_KEY_END
};

/* The L7 proxy engine (core/proxy/, docs/l7.md). */
const struct bw_conf_key bw_conf_proxy_keys[] = {
	DKEY("max_connections", BW_CONF_INT, "16384", proxy_max_connections,
	     1, 1048576, NULL, BW_CONF_F_RELOADABLE,
	     "connections the L7 proxy holds at once; more are refused with a reset"),
	DKEY("buffer_size", BW_CONF_SIZE, "16k", proxy_buffer_size, 1024, 16777216,
	     NULL, BW_CONF_F_RELOADABLE,
	     "buffer per direction of a proxied connection while bytes are in flight (none while idle)"),
	DKEY("max_message_head", BW_CONF_SIZE, "64k", proxy_max_message_head,
	     1024, 16777216, NULL, BW_CONF_F_RELOADABLE,
	     "longest message head (an HTTP request line and headers) a parser may wait for; longer ones are refused (HTTP 431)"),
	DKEY("head_timeout", BW_CONF_DURATION, "30s", proxy_head_timeout,
	     0, 86400000, NULL, BW_CONF_F_RELOADABLE,
	     "how long an incomplete message head may take to arrive (HTTP 408; slow clients); 0: no limit"),
	DKEY("idle_timeout", BW_CONF_DURATION, "1h", proxy_idle_timeout,
	     0, 604800000, NULL, BW_CONF_F_RELOADABLE,
	     "a proxied connection with no byte in either direction for this long is closed; 0: never"),
	DKEY("connect_timeout", BW_CONF_DURATION, "5s", proxy_connect_timeout,
	     100, 600000, NULL, BW_CONF_F_RELOADABLE,
	     "how long connecting to the original destination may take"),
	BW_CONF_KEY_END
};

static const struct {
	const char *name;
	const struct bw_conf_key *keys;
} conf_core_sections[] = {
	{ "daemon", bw_conf_daemon_keys },
	{ "policy", bw_conf_policy_keys },
	{ "flows", bw_conf_flows_keys },
	{ "datapath", bw_conf_datapath_keys },
	{ "lua", bw_conf_lua_keys },
	{ "proxy", bw_conf_proxy_keys },
};
#define CONF_NCORE (sizeof(conf_core_sections) / sizeof(conf_core_sections[0]))

int
bw_conf_tcp_flags(const char *v, unsigned *mask, char *bad, size_t badlen)
{
	static const struct {
		const char *name;
		unsigned bit;
	} fl[] = {
		{ "fin", 0x01 }, { "syn", 0x02 }, { "rst", 0x04 }, { "psh", 0x08 },
		{ "ack", 0x10 }, { "urg", 0x20 }, { "ece", 0x40 }, { "cwr", 0x80 },
	};
	const char *p = v;

	*mask = 0;
	if (bad && badlen)
		bad[0] = '\0';
	while (*p) {
		size_t n, i;
		char w[16];

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		n = strcspn(p, ", \t");
		if (n >= sizeof(w))
			goto bad;
		memcpy(w, p, n);
		w[n] = '\0';
		for (i = 0; w[i]; i++)
			w[i] = (char)tolower((unsigned char)w[i]);
		if (!strcmp(w, "all")) {
			*mask |= 0xff;
		} else if (!strcmp(w, "none")) {
			/* nothing */
		} else {
			for (i = 0; i < sizeof(fl) / sizeof(fl[0]); i++)
				if (!strcmp(w, fl[i].name))
					break;
			if (i == sizeof(fl) / sizeof(fl[0]))
				goto bad;
			*mask |= fl[i].bit;
		}
		p += n;
		continue;
bad:
		if (bad && badlen)
			snprintf(bad, badlen, "%.*s", (int)(n < 48 ? n : 48), p);
		return -1;
	}
	return 0;
}

int
bw_conf_iflist(const char *v, char names[][16], int max, char *bad, size_t badlen)
{
	const char *p = v ? v : "";
	int n = 0;

	if (bad && badlen)
		bad[0] = '\0';
	while (*p) {
		size_t len;
		int dup = 0;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		len = strcspn(p, ", \t");
		if (len >= 16 || memchr(p, '/', len) != NULL || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.') || n >= max) {
			if (bad && badlen)
				snprintf(bad, badlen, "%.*s", (int)(len < 48 ? len : 48), p);
			return -1;
		}
		for (int i = 0; i < n; i++)
			if (strlen(names[i]) == len && !memcmp(names[i], p, len))
				dup = 1;
		if (!dup) {
			memcpy(names[n], p, len);
			names[n][len] = '\0';
			n++;
		}
		p += len;
	}
	return n;
}

const char *
bw_conf_default_path(void)
{
	return BW_SYSCONFDIR "/bulwark/bulwark.conf";
}

/* ---- small helpers --------------------------------------------------- */

/* "file:line" or, for -o, the option text. */
static const char *
conf_where(const char *file, int line, char *buf, size_t len)
{
	if (line > 0)
		snprintf(buf, len, "%s:%d", file, line);
	else
		snprintf(buf, len, "%s", file);
	return buf;
}

static char *
conf_strdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (d == NULL)
		abort(); /* config is start-up or SIGHUP: no way to go on */
	return d;
}

static void *
conf_grow(void *p, size_t n, size_t size)
{
	void *q = realloc(p, n * size);

	if (q == NULL)
		abort();
	return q;
}

static int
conf_is_core(const char *name)
{
	for (size_t i = 0; i < CONF_NCORE; i++)
		if (strcmp(conf_core_sections[i].name, name) == 0)
			return 1;
	return 0;
}

static struct bw_conf_section *
conf_section_get(struct bw_conf *cf, const char *name, const char *file,
		 int line)
{
	struct bw_conf_section *s;

	for (size_t i = 0; i < cf->nsections; i++)
		if (strcmp(cf->sections[i].name, name) == 0)
			return &cf->sections[i];
	cf->sections = conf_grow(cf->sections, cf->nsections + 1,
				 sizeof(*cf->sections));
	s = &cf->sections[cf->nsections++];
	memset(s, 0, sizeof(*s));
	s->name = conf_strdup(name);
	s->file = conf_strdup(file);
	s->line = line;
	return s;
}

static struct bw_conf_entry *
conf_entry_add(struct bw_conf_section *s, const char *key, const char *value,
	       const char *file, int line)
{
	struct bw_conf_entry *e;

	s->entries = conf_grow(s->entries, s->nentries + 1, sizeof(*s->entries));
	e = &s->entries[s->nentries++];
	e->key = conf_strdup(key);
	e->value = conf_strdup(value);
	e->file = conf_strdup(file);
	e->line = line;
	return e;
}

/* ---- value parsing and formatting ------------------------------------ */

static int
conf_parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -EINVAL;
}

/* A decimal integer with an optional suffix left in *rest. */
static int
conf_parse_number(const char *v, int64_t *out, const char **rest)
{
	char *end;
	long long n;

	if (!isdigit((unsigned char)*v) && !((*v == '-' || *v == '+') &&
					      isdigit((unsigned char)v[1])))
		return -EINVAL;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	*out = n;
	*rest = end;
	return 0;
}

static int
conf_mul(int64_t n, int64_t m, int64_t *out)
{
	if (__builtin_mul_overflow(n, m, out))
		return -ERANGE;
	return 0;
}

static int
conf_parse_size(const char *v, int64_t *out)
{
	const char *rest;
	int64_t n, m = 1;
	int rc;

	if ((rc = conf_parse_number(v, &n, &rest)) < 0)
		return rc;
	if (strcmp(rest, "") == 0)
		m = 1;
	else if (strcmp(rest, "k") == 0 || strcmp(rest, "K") == 0)
		m = 1024;
	else if (strcmp(rest, "M") == 0)
		m = 1024 * 1024;
	else if (strcmp(rest, "G") == 0)
		m = 1024 * 1024 * 1024;
	else
		return -EINVAL;
	return conf_mul(n, m, out);
}

static int
conf_parse_duration(const char *v, int64_t *out)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 },
	};
	const char *rest;
	int64_t n;
	int rc;

	if ((rc = conf_parse_number(v, &n, &rest)) < 0)
		return rc;
	if (*rest == '\0')
		return n == 0 ? (*out = 0, 0) : -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(rest, units[i].unit) == 0)
			return conf_mul(n, units[i].ms, out);
	return -EINVAL;
}

static void
conf_format_size(int64_t v, char *buf, size_t len)
{
	static const struct {
		int64_t m;
		char s;
	} u[] = { { 1024LL * 1024 * 1024, 'G' }, { 1024 * 1024, 'M' }, { 1024, 'k' } };

	for (size_t i = 0; i < 3; i++) {
		if (v != 0 && v % u[i].m == 0) {
			snprintf(buf, len, "%" PRId64 "%c", v / u[i].m, u[i].s);
			return;
		}
	}
	snprintf(buf, len, "%" PRId64, v);
}

static void
conf_format_duration(int64_t v, char *buf, size_t len)
{
	static const struct {
		int64_t ms;
		const char *s;
	} u[] = {
		{ 86400000, "d" }, { 3600000, "h" }, { 60000, "m" }, { 1000, "s" },
	};

	if (v == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	for (size_t i = 0; i < 4; i++) {
		if (v % u[i].ms == 0) {
			snprintf(buf, len, "%" PRId64 "%s", v / u[i].ms, u[i].s);
			return;
		}
	}
	snprintf(buf, len, "%" PRId64 "ms", v);
}

static void
conf_format_number(enum bw_conf_type type, int64_t v, char *buf, size_t len)
{
	if (type == BW_CONF_SIZE)
		conf_format_size(v, buf, len);
	else if (type == BW_CONF_DURATION)
		conf_format_duration(v, buf, len);
	else
		snprintf(buf, len, "%" PRId64, v);
}

const char *
bw_conf_format_value(const struct bw_conf_key *k, const void *src, char *buf,
		     size_t buflen)
{
	const char *p = (const char *)src + k->offset;
	int iv;
	int64_t lv;
	const char *s;

	switch (k->type) {
	case BW_CONF_BOOL:
		memcpy(&iv, p, sizeof(iv));
		snprintf(buf, buflen, "%s", iv ? "true" : "false");
		break;
	case BW_CONF_INT:
	case BW_CONF_SIZE:
	case BW_CONF_DURATION:
		memcpy(&lv, p, sizeof(lv));
		conf_format_number(k->type, lv, buf, buflen);
		break;
	case BW_CONF_STRING:
		memcpy(&s, p, sizeof(s));
		snprintf(buf, buflen, "%s", s ? s : "");
		break;
	case BW_CONF_ENUM: {
		int n = 0;

		memcpy(&iv, p, sizeof(iv));
		while (k->enum_values && k->enum_values[n])
			n++;
		snprintf(buf, buflen, "%s",
			 iv >= 0 && iv < n ? k->enum_values[iv] : "?");
		break;
	}
	default:
		snprintf(buf, buflen, "?");
		break;
	}
	return buf;
}

/* "a, b, c" */
static void
conf_enum_list(const char *const *values, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; values && values[i]; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
				 values[i]);

		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
}

/*
 * Parse value into dst for key k. where names the origin ("file:line",
 * "-o ..." or "default"). On error: message in err, -EINVAL.
 */
static int
conf_set_value(const struct bw_conf_key *k, void *dst, const char *section,
	       const char *value, const char *where, char *err, size_t errlen)
{
	char *p = (char *)dst + k->offset;
	char a[64], b[512];
	int64_t lv = 0;
	int iv, rc;

	switch (k->type) {
	case BW_CONF_BOOL:
		if (conf_parse_bool(value, &iv) < 0)
			return bw_errbuf_set(err, errlen,
				"%s: [%s] %s: '%s' is not a boolean (true, false, yes, no, on, off, 1, 0)",
				where, section, k->name, value);
		memcpy(p, &iv, sizeof(iv));
		return 0;
	case BW_CONF_INT:
	case BW_CONF_SIZE:
	case BW_CONF_DURATION:
		if (k->type == BW_CONF_INT) {
			const char *rest = "";

			rc = conf_parse_number(value, &lv, &rest);
			if (rc == 0 && *rest != '\0')
				rc = -EINVAL;
		} else if (k->type == BW_CONF_SIZE) {
			rc = conf_parse_size(value, &lv);
		} else {
			rc = conf_parse_duration(value, &lv);
		}
		if (rc == -ERANGE)
			return bw_errbuf_set(err, errlen, "%s: [%s] %s: '%s' is out of range",
					     where, section, k->name, value);
		if (rc < 0) {
			const char *what =
				k->type == BW_CONF_INT ? "an integer" :
				k->type == BW_CONF_SIZE ?
				"a size (a number with an optional k, M or G suffix)" :
				"a duration (a number with a unit: ms, s, m, h or d)";

			return bw_errbuf_set(err, errlen, "%s: [%s] %s: '%s' is not %s",
					     where, section, k->name, value, what);
		}
		/* A size or a duration is never negative, whatever the range. */
		if (k->type != BW_CONF_INT && lv < 0)
			return bw_errbuf_set(err, errlen,
				"%s: [%s] %s: '%s' is negative",
				where, section, k->name, value);
		if (k->min != 0 || k->max != 0) {
			if (lv < k->min) {
				conf_format_number(k->type, k->min, a, sizeof(a));
				return bw_errbuf_set(err, errlen,
					"%s: [%s] %s: %s is below the minimum %s",
					where, section, k->name, value, a);
			}
			/* An upper bound below the lower one means none. */
			if (k->max >= k->min && lv > k->max) {
				conf_format_number(k->type, k->max, a, sizeof(a));
				return bw_errbuf_set(err, errlen,
					"%s: [%s] %s: %s is above the maximum %s",
					where, section, k->name, value, a);
			}
		}
		memcpy(p, &lv, sizeof(lv));
		return 0;
	case BW_CONF_STRING: {
		char *old, *s;
		const char *why;

		if (k->flags & BW_CONF_F_TCPFLAGS) {
			unsigned mask;
			char bad[64];

			if (bw_conf_tcp_flags(value, &mask, bad, sizeof(bad)) < 0)
				return bw_errbuf_set(err, errlen,
					"%s: [%s] %s: '%s' is not a TCP flag (all, none, or a comma-separated list of syn, fin, rst, psh, ack, urg, ece, cwr)",
					where, section, k->name, bad);
		}
		if (k->flags & BW_CONF_F_IFLIST) {
			char names[BW_CONF_IFLIST_MAX][16], bad[64];

			if (bw_conf_iflist(value, names, BW_CONF_IFLIST_MAX, bad, sizeof(bad)) < 0)
				return bw_errbuf_set(err, errlen,
					"%s: [%s] %s: '%s' is not an interface name (at most 15 characters, no '/'; at most %d interfaces, separated by commas)",
					where, section, k->name, bad, BW_CONF_IFLIST_MAX);
		}
		if ((k->flags & BW_CONF_F_LISTEN) &&
		    (why = bw_listen_parse(value, NULL, 0, NULL)) != NULL)
			return bw_errbuf_set(err, errlen,
				"%s: [%s] %s: '%s' is not a listen address "
				"(HOST:PORT, [IPV6]:PORT or :PORT): %s",
				where, section, k->name, value, why);
		s = conf_strdup(value);
		memcpy(&old, p, sizeof(old));
		free(old);
		memcpy(p, &s, sizeof(s));
		return 0;
	}
	case BW_CONF_ENUM:
		for (iv = 0; k->enum_values && k->enum_values[iv]; iv++) {
			if (strcmp(k->enum_values[iv], value) == 0) {
				memcpy(p, &iv, sizeof(iv));
				return 0;
			}
		}
		conf_enum_list(k->enum_values, b, sizeof(b));
		return bw_errbuf_set(err, errlen, "%s: [%s] %s: '%s' is not one of %s",
				     where, section, k->name, value, b);
	}
	return bw_errbuf_set(err, errlen, "%s: [%s] %s: key has an unknown type %d",
			     where, section, k->name, (int)k->type);
}

static void
conf_set_zero(const struct bw_conf_key *k, void *dst)
{
	char *p = (char *)dst + k->offset;

	switch (k->type) {
	case BW_CONF_BOOL:
	case BW_CONF_ENUM:
		memset(p, 0, sizeof(int));
		break;
	case BW_CONF_INT:
	case BW_CONF_SIZE:
	case BW_CONF_DURATION:
		memset(p, 0, sizeof(int64_t));
		break;
	case BW_CONF_STRING: {
		char *null = NULL;

		memcpy(p, &null, sizeof(null));
		break;
	}
	}
}

void
bw_conf_free_keys(const struct bw_conf_key *keys, void *dst)
{
	for (const struct bw_conf_key *k = keys; k && k->name; k++) {
		if (k->type == BW_CONF_STRING) {
			char **p = (char **)(void *)((char *)dst + k->offset);

			free(*p);
			*p = NULL;
		}
	}
}

static const struct bw_conf_key *
conf_key_find(const struct bw_conf_key *keys, const char *name)
{
	for (const struct bw_conf_key *k = keys; k && k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

static int
conf_apply(const struct bw_conf_key *keys, void *dst, const char *section,
	   const struct bw_conf_section *sec, int module_section, char *err,
	   size_t errlen)
{
	char where[PATH_MAX + 32];
	int rc;

	for (const struct bw_conf_key *k = keys; k && k->name; k++)
		conf_set_zero(k, dst);
	for (const struct bw_conf_key *k = keys; k && k->name; k++) {
		if (k->def == NULL)
			continue;
		rc = conf_set_value(k, dst, section, k->def, "default", err, errlen);
		if (rc < 0)
			goto fail;
	}
	for (size_t i = 0; sec && i < sec->nentries; i++) {
		const struct bw_conf_entry *e = &sec->entries[i];
		const struct bw_conf_key *k = conf_key_find(keys, e->key);

		conf_where(e->file, e->line, where, sizeof(where));
		if (k == NULL) {
			if (module_section && strcmp(e->key, "required") == 0)
				continue;
			rc = bw_errbuf_set(err, errlen, "%s: unknown key '%s' in [%s]",
					   where, e->key, section);
			goto fail;
		}
		rc = conf_set_value(k, dst, section, e->value, where, err, errlen);
		if (rc < 0)
			goto fail;
	}
	return 0;
fail:
	bw_conf_free_keys(keys, dst);
	return rc;
}

int
bw_conf_apply_keys(const struct bw_conf_key *keys, void *dst,
		   const char *section, const struct bw_conf_section *sec,
		   char *err, size_t errlen)
{
	return conf_apply(keys, dst, section, sec, 1, err, errlen);
}

static int conf_print_help;

void
bw_conf_print_set_help(int on)
{
	conf_print_help = on;
}

void
bw_conf_print_keys(FILE *f, const char *section, const struct bw_conf_key *keys,
		   const void *src)
{
	char buf[PATH_MAX + 64];

	fprintf(f, "[%s]\n", section);
	for (const struct bw_conf_key *k = keys; k && k->name; k++) {
		if (conf_print_help && k->help && *k->help)
			fprintf(f, "# %s\n", k->help);
		bw_conf_format_value(k, src, buf, sizeof(buf));
		/* No trailing blank for an empty value. */
		fprintf(f, "%s =%s%s\n", k->name, *buf ? " " : "", buf);
	}
}

void
bw_conf_print(FILE *f, const struct bw_conf *cf)
{
	for (size_t i = 0; i < CONF_NCORE; i++) {
		if (i > 0)
			fputc('\n', f);
		bw_conf_print_keys(f, conf_core_sections[i].name,
				   conf_core_sections[i].keys, &cf->daemon);
	}
}

/* ---- reading ---------------------------------------------------------- */

struct conf_reader {
	struct bw_conf *cf;
	const char *name;     /* file name for messages */
	FILE *f;              /* file, or */
	const char *text;     /* in-memory text */
	char *buf;
	size_t bufsize;
	int line;             /* line number of the line handed to inih */
	int continuation;     /* that line starts with blank space */
	struct bw_conf_section *cur;  /* section of the current line */
	struct bw_conf_entry *last;   /* last entry (for continuations) */
	char *err;
	size_t errlen;
	int failed;
	int fail_line;        /* line of the first error found here */
	int read_errno;       /* the file could not be read */
};

static int __attribute__((format(printf, 2, 3)))
conf_reader_fail(struct conf_reader *r, const char *fmt, ...)
{
	va_list ap;

	if (r->failed)
		return 0;
	r->failed = 1;
	r->fail_line = r->line;
	va_start(ap, fmt);
	vsnprintf(r->err, r->errlen, fmt, ap);
	va_end(ap);
	return 0;
}

/* Get the next raw line into r->buf (with its newline); 0 at the end. */
static ssize_t
conf_reader_next(struct conf_reader *r)
{
	if (r->f) {
		ssize_t n = getline(&r->buf, &r->bufsize, r->f);

		if (n < 0 && ferror(r->f))
			r->read_errno = errno ? errno : EIO;
		return n > 0 ? (ssize_t)strlen(r->buf) : 0;
	}
	if (r->text == NULL || *r->text == '\0')
		return 0;
	const char *nl = strchr(r->text, '\n');
	size_t n = nl ? (size_t)(nl - r->text) + 1 : strlen(r->text);

	if (n + 1 > r->bufsize) {
		r->buf = conf_grow(r->buf, n + 1, 1);
		r->bufsize = n + 1;
	}
	memcpy(r->buf, r->text, n);
	r->buf[n] = '\0';
	r->text += n;
	return (ssize_t)n;
}

/*
 * The ini_reader: counts lines, notes section headers and continuation
 * lines, and refuses lines inih would split.
 */
static char *
conf_reader_read(char *str, int num, void *stream)
{
	struct conf_reader *r = stream;
	ssize_t n;
	char *p;

	n = conf_reader_next(r);
	if (n <= 0)
		return NULL;
	r->line++;
	/* inih needs room for the newline and the NUL. */
	if (n > num - 1 || (n == num - 1 && r->buf[n - 1] != '\n')) {
		conf_reader_fail(r, "%s:%d: line too long (at most %d characters)",
				 r->name, r->line, num - 2);
		str[0] = '\n';
		str[1] = '\0';
		return str;
	}
	memcpy(str, r->buf, (size_t)n + 1);

	p = str;
	if (r->line == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3; /* inih skips a UTF-8 byte order mark */
	r->continuation = (*p == ' ' || *p == '\t');
	for (; *p == ' ' || *p == '\t'; p++)
		;
	if (*p == '[' && r->continuation && r->last != NULL) {
		/* inih would take it as more of the last value. */
		conf_reader_fail(r,
			"%s:%d: indented line is read as a continuation of '%s'; remove the indentation",
			r->name, r->line, r->last->key);
	} else if (*p == '[') {
		char *end = strchr(p + 1, ']');

		r->continuation = 0;
		r->last = NULL;
		if (end != NULL) {
			const char *q = p + 1;

			while (*q == ' ' || *q == '\t')
				q++;
			if (q == end)
				conf_reader_fail(r, "%s:%d: a section needs a name ([daemon], [policy], [MODULE], ...)",
						 r->name, r->line);
			*end = '\0';
			r->cur = conf_section_get(r->cf, p + 1, r->name, r->line);
			*end = ']';
		}
	}
	return str;
}

static int
conf_handler(void *user, const char *section, const char *name,
	     const char *value)
{
	struct conf_reader *r = user;
	struct bw_conf_entry *e;
	size_t len;

	if (r->failed)
		return 1;
	if (*section == '\0' || r->cur == NULL)
		return conf_reader_fail(r, "%s:%d: '%s' is outside of any section",
					r->name, r->line, name);
	if (r->continuation && r->last != NULL &&
	    strcmp(r->last->key, name) == 0) {
		/* inih hands an indented line over as more of the last value. */
		if (strchr(value, '=') != NULL)
			return conf_reader_fail(r,
				"%s:%d: indented line is read as a continuation of '%s'; remove the indentation",
				r->name, r->line, name);
		e = r->last;
		len = strlen(e->value);
		e->value = conf_grow(e->value, len + strlen(value) + 2, 1);
		if (len > 0)
			e->value[len++] = ' ';
		strcpy(e->value + len, value);
		return 1;
	}
	if (*name == '\0')
		return conf_reader_fail(r, "%s:%d: missing key name before '='",
					r->name, r->line);
	r->last = conf_entry_add(r->cur, name, value, r->name, r->line);
	return 1;
}

static int
conf_read(struct conf_reader *r)
{
	int rc;

	rc = ini_parse_stream(conf_reader_read, r, conf_handler, r);
	free(r->buf);
	r->buf = NULL;
	if (r->read_errno)
		return bw_errbuf_set(r->err, r->errlen, "%s: %s", r->name,
				     strerror(r->read_errno));
	if (rc == -2)
		return bw_errbuf_set(r->err, r->errlen, "%s: out of memory", r->name);
	/* inih's rc is its first error line; report whichever came first. */
	if (r->failed && (rc <= 0 || rc >= r->fail_line))
		return -EINVAL;
	if (rc > 0)
		return bw_errbuf_set(r->err, r->errlen,
			"%s:%d: syntax error (expected '[section]', 'key = value' or a comment)",
			r->name, rc);
	if (rc < 0)
		return bw_errbuf_set(r->err, r->errlen, "%s: cannot read", r->name);
	return 0;
}

/* ---- overrides --------------------------------------------------------- */

/* Split "SECTION.KEY=VALUE"; the pointers point into buf. */
static int
conf_override_split(const char *text, char *buf, size_t len, char **section,
		    char **key, char **value, char *err, size_t errlen)
{
	char *eq, *dot;

	if (snprintf(buf, len, "%s", text) >= (int)len)
		return bw_errbuf_set(err, errlen, "-o %.64s...: too long", text);
	eq = strchr(buf, '=');
	if (eq != NULL)
		*eq = '\0';
	dot = strchr(buf, '.');
	if (eq == NULL || dot == NULL || dot == buf || dot[1] == '\0' ||
	    strchr(dot + 1, '.') != NULL)
		return bw_errbuf_set(err, errlen, "-o %s: expected SECTION.KEY=VALUE",
				     text);
	*dot = '\0';
	*section = buf;
	*key = dot + 1;
	*value = eq + 1;
	return 0;
}

int
bw_conf_override_check(const char *text, char *err, size_t errlen)
{
	char buf[PATH_MAX + 256], *s, *k, *v;

	return conf_override_split(text, buf, sizeof(buf), &s, &k, &v, err, errlen);
}

/* ---- checking ------------------------------------------------------------ */

static int
conf_instance_name_ok(const char *name)
{
	const char *p = name;
	int colons = 0;

	if (*p == '\0' || *p == ':')
		return 0;
	for (; *p; p++) {
		if (*p == ':') {
			if (++colons > 1 || p[1] == '\0')
				return 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return 0;
	}
	return 1;
}

/* Where daemon.modules was set: its last entry, or the default. */
static const char *
conf_key_where(const struct bw_conf *cf, const char *section, const char *key,
	       char *buf, size_t len)
{
	const struct bw_conf_section *s = bw_conf_section_find(cf, section);
	const struct bw_conf_entry *e = NULL;

	for (size_t i = 0; s && i < s->nentries; i++)
		if (strcmp(s->entries[i].key, key) == 0)
			e = &s->entries[i];
	if (e == NULL)
		return snprintf(buf, len, "%s", cf->path), buf;
	return conf_where(e->file, e->line, buf, len);
}

static void
conf_modules_free(struct bw_daemon_conf *dc)
{
	for (size_t i = 0; i < dc->nmodules; i++)
		free(dc->module_list[i]);
	free(dc->module_list);
	dc->module_list = NULL;
	dc->nmodules = 0;
}

static int
conf_modules_split(struct bw_conf *cf, char *err, size_t errlen)
{
	struct bw_daemon_conf *dc = &cf->daemon;
	char where[PATH_MAX + 32];
	char *copy, *tok, *save = NULL;
	int rc = 0;

	conf_modules_free(dc);
	copy = conf_strdup(dc->modules);
	for (tok = strtok_r(copy, " \t\r\n,", &save); tok;
	     tok = strtok_r(NULL, " \t\r\n,", &save)) {
		if (!conf_instance_name_ok(tok)) {
			rc = bw_errbuf_set(err, errlen,
				"%s: [daemon] modules: '%s' is not a module instance name (MODULE or MODULE:INSTANCE, letters, digits, '-' and '_')",
				conf_key_where(cf, "daemon", "modules", where, sizeof(where)),
				tok);
			break;
		}
		if (conf_is_core(tok)) {
			rc = bw_errbuf_set(err, errlen,
				"%s: [daemon] modules: '%s' is the name of a core section",
				conf_key_where(cf, "daemon", "modules", where, sizeof(where)),
				tok);
			break;
		}
		for (size_t i = 0; i < dc->nmodules; i++) {
			if (strcmp(dc->module_list[i], tok) == 0) {
				rc = bw_errbuf_set(err, errlen,
					"%s: [daemon] modules: '%s' is listed twice",
					conf_key_where(cf, "daemon", "modules", where,
						       sizeof(where)), tok);
				break;
			}
		}
		if (rc < 0)
			break;
		dc->module_list = conf_grow(dc->module_list, dc->nmodules + 1,
					    sizeof(char *));
		dc->module_list[dc->nmodules++] = conf_strdup(tok);
	}
	free(copy);
	return rc;
}

static int
conf_is_instance(const struct bw_conf *cf, const char *name)
{
	for (size_t i = 0; i < cf->daemon.nmodules; i++)
		if (strcmp(cf->daemon.module_list[i], name) == 0)
			return 1;
	return 0;
}

static int
conf_check_paths(struct bw_conf *cf, char *err, size_t errlen)
{
	static const struct {
		const char *section, *key;
		size_t off;
	} paths[] = {
		{ "daemon", "socket", offsetof(struct bw_daemon_conf, socket) },
		{ "daemon", "state_dir", offsetof(struct bw_daemon_conf, state_dir) },
		{ "daemon", "bpffs_dir", offsetof(struct bw_daemon_conf, bpffs_dir) },
		{ "daemon", "module_dir", offsetof(struct bw_daemon_conf, module_dir) },
		{ "policy", "dir", offsetof(struct bw_daemon_conf, policy_dir) },
	};
	char where[PATH_MAX + 32];

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *v;

		memcpy(&v, (const char *)&cf->daemon + paths[i].off, sizeof(v));
		if (v == NULL || *v == '\0')
			return bw_errbuf_set(err, errlen, "%s: [%s] %s: must not be empty",
				conf_key_where(cf, paths[i].section, paths[i].key,
					       where, sizeof(where)),
				paths[i].section, paths[i].key);
	}
	return 0;
}

/*
 * daemon.socket_group must name a group, for -n as for a start (the start
 * would refuse it when it creates the socket).
 */
static int
conf_check_group(struct bw_conf *cf, char *err, size_t errlen)
{
	const char *g = cf->daemon.socket_group;
	struct group gr, *res = NULL;
	char buf[4096], where[PATH_MAX + 32];
	int rc;

	if (g == NULL || *g == '\0')
		return 0;
	rc = getgrnam_r(g, &gr, buf, sizeof(buf), &res);
	if (res != NULL)
		return 0;
	return bw_errbuf_set(err, errlen, "%s: [daemon] socket_group: no such group '%s'%s%s",
			     conf_key_where(cf, "daemon", "socket_group", where, sizeof(where)),
			     g, rc ? ": " : "", rc ? strerror(rc) : "");
}

static int
conf_check(struct bw_conf *cf, char *err, size_t errlen)
{
	char where[PATH_MAX + 32];
	int rc;

	for (size_t i = 0; i < CONF_NCORE; i++) {
		rc = conf_apply(conf_core_sections[i].keys, &cf->daemon,
				conf_core_sections[i].name,
				bw_conf_section_find(cf, conf_core_sections[i].name),
				0, err, errlen);
		if (rc < 0)
			return rc;
	}
	if ((rc = conf_check_paths(cf, err, errlen)) < 0)
		return rc;
	if ((rc = conf_check_group(cf, err, errlen)) < 0)
		return rc;
	if ((rc = conf_modules_split(cf, err, errlen)) < 0)
		return rc;

	for (size_t i = 0; i < cf->nsections; i++) {
		struct bw_conf_section *s = &cf->sections[i];

		if (conf_is_core(s->name))
			continue;
		/*
		 * An empty section of a module that is not loaded sets nothing:
		 * the shipped file has one (keys commented out) per module, and
		 * taking a module out of daemon.modules must not need more.
		 */
		if (!conf_is_instance(cf, s->name) && s->nentries == 0)
			continue;
		if (!conf_is_instance(cf, s->name))
			return bw_errbuf_set(err, errlen,
				"%s: unknown section [%s] (not a core section and not a module instance listed in daemon.modules)",
				conf_where(s->file, s->line, where, sizeof(where)),
				s->name);
		s->required = 0;
		for (size_t j = 0; j < s->nentries; j++) {
			const struct bw_conf_entry *e = &s->entries[j];

			if (strcmp(e->key, "required") != 0)
				continue;
			if (conf_parse_bool(e->value, &s->required) < 0)
				return bw_errbuf_set(err, errlen,
					"%s: [%s] required: '%s' is not a boolean (true, false, yes, no, on, off, 1, 0)",
					conf_where(e->file, e->line, where, sizeof(where)),
					s->name, e->value);
		}
	}
	return 0;
}

static struct bw_conf *
conf_load(const char *name, FILE *f, const char *text, char *const *overrides,
	  size_t noverrides, char *err, size_t errlen)
{
	struct conf_reader r = {
		.name = name, .f = f, .text = text, .err = err, .errlen = errlen,
	};
	struct bw_conf *cf;

	cf = calloc(1, sizeof(*cf));
	if (cf == NULL) {
		bw_errbuf_set(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	cf->path = conf_strdup(name);
	r.cf = cf;
	if (conf_read(&r) < 0)
		goto fail;

	for (size_t i = 0; i < noverrides; i++) {
		char buf[PATH_MAX + 256], opt[PATH_MAX + 256], *s, *k, *v;

		if (conf_override_split(overrides[i], buf, sizeof(buf), &s, &k, &v,
					err, errlen) < 0)
			goto fail;
		snprintf(opt, sizeof(opt), "-o %s", overrides[i]);
		conf_entry_add(conf_section_get(cf, s, opt, 0), k, v, opt, 0);
	}
	if (conf_check(cf, err, errlen) < 0)
		goto fail;
	return cf;
fail:
	bw_conf_free(cf);
	return NULL;
}

struct bw_conf *
bw_conf_load(const char *path, char *const *overrides, size_t noverrides,
	     char *err, size_t errlen)
{
	struct bw_conf *cf;
	struct stat st;
	FILE *f;
	int fd;

	/*
	 * A regular file of sane size (or /dev/null, "no file"): a FIFO or a
	 * device such as /dev/zero is never read, and is opened without
	 * blocking.
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		bw_errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		bw_errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) && strcmp(path, "/dev/null")) {
		bw_errbuf_set(err, errlen, "%s: not a regular file (a %s); give a config file",
			      path,
			      S_ISDIR(st.st_mode) ? "directory" : S_ISFIFO(st.st_mode) ? "FIFO"
				      : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "device"
										   : "socket");
		close(fd);
		return NULL;
	}
	if (S_ISREG(st.st_mode) && st.st_size > BW_CONF_MAX_BYTES) {
		bw_errbuf_set(err, errlen, "%s: %lld bytes, larger than a config file may be (%d MiB)",
			      path, (long long)st.st_size, BW_CONF_MAX_BYTES >> 20);
		close(fd);
		return NULL;
	}
	/* blocking again for the reads (a regular file never blocks) */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	f = fdopen(fd, "r");
	if (f == NULL) {
		bw_errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	cf = conf_load(path, f, NULL, overrides, noverrides, err, errlen);
	fclose(f);
	return cf;
}

struct bw_conf *
bw_conf_load_string(const char *name, const char *text, char *const *overrides,
		    size_t noverrides, char *err, size_t errlen)
{
	return conf_load(name, NULL, text, overrides, noverrides, err, errlen);
}

void
bw_conf_free(struct bw_conf *cf)
{
	if (cf == NULL)
		return;
	for (size_t i = 0; i < CONF_NCORE; i++)
		bw_conf_free_keys(conf_core_sections[i].keys, &cf->daemon);
	conf_modules_free(&cf->daemon);
	for (size_t i = 0; i < cf->nsections; i++) {
		struct bw_conf_section *s = &cf->sections[i];

		for (size_t j = 0; j < s->nentries; j++) {
			free(s->entries[j].key);
			free(s->entries[j].value);
			free(s->entries[j].file);
		}
		free(s->entries);
		free(s->name);
		free(s->file);
	}
	free(cf->sections);
	free(cf->path);
	free(cf);
}

void
bw_conf_set_current(const struct bw_conf *cf)
{
	bw_conf = cf ? &cf->daemon : NULL;
}

const struct bw_conf_section *
bw_conf_section_find(const struct bw_conf *cf, const char *name)
{
	for (size_t i = 0; cf && i < cf->nsections; i++)
		if (strcmp(cf->sections[i].name, name) == 0)
			return &cf->sections[i];
	return NULL;
}

int
bw_conf_section_required(const struct bw_conf_section *sec)
{
	return sec ? sec->required : 0;
}

/* ---- reload ------------------------------------------------------------- */

int
bw_conf_merge_reload(const struct bw_conf *cur, struct bw_conf *next)
{
	char a[PATH_MAX + 64], b[PATH_MAX + 64];
	int changed = 0, modules_kept = 0;

	for (size_t i = 0; i < CONF_NCORE; i++) {
		const char *section = conf_core_sections[i].name;

		for (const struct bw_conf_key *k = conf_core_sections[i].keys;
		     k->name; k++) {
			bw_conf_format_value(k, &cur->daemon, a, sizeof(a));
			bw_conf_format_value(k, &next->daemon, b, sizeof(b));
			if (strcmp(a, b) == 0)
				continue;
			if (k->flags & BW_CONF_F_RELOADABLE) {
				bw_notice("%s.%s: %s -> %s", section, k->name, a, b);
				changed++;
				continue;
			}
			bw_warn("%s.%s changed: needs a restart", section, k->name);
			/* Keep the running value. */
			char *dp = (char *)&next->daemon + k->offset;
			const char *sp = (const char *)&cur->daemon + k->offset;

			if (k->type == BW_CONF_STRING) {
				char *old, *s;

				memcpy(&old, dp, sizeof(old));
				memcpy(&s, sp, sizeof(s));
				free(old);
				s = conf_strdup(s);
				memcpy(dp, &s, sizeof(s));
				if (strcmp(section, "daemon") == 0 &&
				    strcmp(k->name, "modules") == 0)
					modules_kept = 1;
			} else if (k->type == BW_CONF_BOOL || k->type == BW_CONF_ENUM) {
				memcpy(dp, sp, sizeof(int));
			} else {
				memcpy(dp, sp, sizeof(int64_t));
			}
		}
	}
	if (modules_kept)
		conf_modules_split(next, NULL, 0); /* was valid as cur's list */
	return changed;
}

static struct bw_watchlist conf_watchers;

int
bw_conf_watch(void (*fn)(const struct bw_daemon_conf *old,
			 const struct bw_daemon_conf *cur, void *arg),
	      void *arg)
{
	return bw_watchlist_add(&conf_watchers, BW_WATCH_FN(fn), arg);
}

void
bw_conf_notify(const struct bw_daemon_conf *old)
{
	for (size_t i = 0; i < conf_watchers.n; i++) {
		void (*fn)(const struct bw_daemon_conf *, const struct bw_daemon_conf *,
			   void *) = (void (*)(const struct bw_daemon_conf *,
					       const struct bw_daemon_conf *,
					       void *))conf_watchers.v[i].fn;

		fn(old, bw_conf, conf_watchers.v[i].arg);
	}
}

void
bw_conf_watch_clear(void)
{
	bw_watchlist_clear(&conf_watchers);
}
