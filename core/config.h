/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/config.h - bulwark.conf: reading, key tables, overrides, printing.
 *
 * The config file is ini, read with inih through one handler. Every line
 * read is kept as a raw entry (section, key, value, file, line); the core
 * sections ([daemon], [policy], [flows], [lua], [proxy]) are then applied to
 * struct bw_daemon_conf through declarative key tables (struct bw_conf_key,
 * the same type modules use), and every other section must be a module
 * instance named in daemon.modules. The module loader applies a module's
 * own table to its section with bw_conf_apply_keys() after dlopen.
 *
 * Every error names where the value came from and what is wrong, e.g.
 *   /etc/bulwark/bulwark.conf:12: unknown key 'x' in [daemon]
 *   /etc/bulwark/bulwark.conf:3: [daemon] log_level: 'loud' is not one of err, warning, notice, info, debug
 *   -o flows.capacity=5: [flows] capacity: 5 is below the minimum 16
 *
 * Values set with -o SECTION.KEY=VALUE are entries like the file's, added
 * after it; their "file" is the option text and they have no line.
 */
#ifndef BW_CONFIG_H
#define BW_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include <bulwark/module.h>

/* policy.enforcement takes the datapath's BW_ENFORCE_* (the kernel side
 * reads them too), defined once, there. */
#include "bpf/bw_datapath.h"

/* A core-only key flag (module keys never carry it): the BW_CONF_STRING
 * value must parse with bw_conf_tcp_flags(). */
#define BW_CONF_F_TCPFLAGS (1u << 30)
/* A core-only key flag: the BW_CONF_STRING value must parse with
 * bw_conf_iflist() (a list of interface names). */
#define BW_CONF_F_IFLIST (1u << 29)

/* datapath.uplinks: at most this many interfaces */
#define BW_CONF_IFLIST_MAX 16

/*
 * An interface list "IF[,IF...]" (commas and/or blanks; empty: none) into
 * names[] (each at most 15 characters, no '/', not "." or ".."; duplicates
 * are kept once). Returns the number of names, or -1 with *bad holding the
 * offending word (too many: the first one that does not fit).
 */
int bw_conf_iflist(const char *v, char names[][16], int max, char *bad, size_t badlen);

/* lua.default_verdict (the order of its enum values) */
#define BW_LUA_VERDICT_DENY 0
#define BW_LUA_VERDICT_ALLOW 1

/* flows.monitor_aggregation */
enum bw_aggregation { /* Cilium's numbers, = the datapath's BW_MONITOR_* */
	BW_AGG_NONE = 0,
	BW_AGG_LOWEST,
	BW_AGG_LOW,
	BW_AGG_MEDIUM,
	BW_AGG_MAXIMUM,
};

/*
 * flows.monitor_flags: "all", "none" or a comma-separated list of syn, fin,
 * rst, psh, ack, urg, ece, cwr -> a mask of TCP header flag bits. Returns 0,
 * or -1 with *bad pointing at the word that is not a flag.
 */
int bw_conf_tcp_flags(const char *v, unsigned *mask, char *bad, size_t badlen);

/* Largest config file read; a larger one (or a FIFO, a device) is refused. */
#define BW_CONF_MAX_BYTES (4 << 20)

/*
 * The core's effective configuration. Strings are owned by the config and
 * valid until the next reload has been applied (copy what must live longer).
 */
struct bw_daemon_conf {
	/* [daemon] */
	char *socket;        /* control API socket path */
	char *socket_group;  /* group allowed on the socket; "" = root's */
	int64_t api_max_connections; /* control socket connections at once */
	int64_t api_request_timeout; /* ms: a whole request must come in this time */
	char *state_dir;     /* persistent state */
	char *bpffs_dir;     /* where maps are pinned */
	int64_t ipcache_max_entries; /* ipcache map size per address family */
	int tc_attach;       /* BW_TC_ATTACH_* (core/datapath/datapath.h): auto, tcx, clsact */
	int64_t redirect_table;    /* routing table of proxy-bound packets */
	int64_t redirect_priority; /* priority of its policy-routing rule */
	int early_demux;     /* enum bw_earlydemux_mode: off, keep */
	char *module_dir;    /* where <module>.so files are */
	char *modules;       /* the raw list, as written */
	int log_level;       /* index into err..debug; see bw_conf_log_level() */
	int log_target;      /* BW_LOG_TARGET_STDERR / _SYSLOG (core/log.h) */

	/* [policy] */
	char *policy_dir;    /* watched policy files */
	int enforcement;     /* BW_ENFORCE_* */
	int audit;           /* bool: drops become AUDIT verdicts */

	/* [flows] */
	int64_t flows_capacity;   /* flows kept in the in-memory ring */
	int monitor_aggregation;  /* enum bw_aggregation */
	int64_t monitor_interval; /* ms: medium/maximum re-report interval */
	char *monitor_flags;      /* TCP flags reported when first seen */
	int trace_events;         /* bool: datapath trace events on */
	int drop_events;          /* bool: datapath drop events on */
	int policy_verdict_events; /* bool: datapath policy verdict events on */

	/* [datapath] */
	char *datapath_uplinks; /* "IF[,IF...]": the uplink program's interfaces */
	int host_routing;       /* 0 kernel, 1 bpf (eBPF host routing) */

	/* [lua] (docs/lua.md) */
	char *lua_dir;               /* watched scripts (*.lua) */
	int64_t lua_memory_limit;    /* bytes per script state */
	int64_t lua_instruction_limit; /* VM instructions per call */
	int64_t lua_time_limit;      /* ms, wall clock per call */
	int64_t lua_max_failures;    /* failures within lua_failure_window that fail a script */
	int64_t lua_failure_window;  /* ms */
	int lua_default_verdict;     /* BW_LUA_VERDICT_DENY / _ALLOW */
	int64_t lua_decision_timeout; /* ms */
	int64_t lua_flow_queue;      /* flows held for on_flow / on_verdict */
	int64_t lua_flow_delay;      /* ms a flow may wait for on_flow */
	char *lua_webhooks;          /* URL prefixes bw.webhook may post to */

	/* [proxy] (the L7 proxy engine, core/proxy/) */
	int64_t proxy_max_connections;  /* proxied connections at once */
	int64_t proxy_buffer_size;      /* per-direction buffer, bytes */
	int64_t proxy_max_message_head; /* longest message head a parser may wait for */
	int64_t proxy_head_timeout;     /* ms: an incomplete message head may wait */
	int64_t proxy_idle_timeout;     /* ms: no byte either way (0: never) */
	int64_t proxy_connect_timeout;  /* ms: connecting to the original destination */

	/* daemon.modules split into instance names ("mod" or "mod:inst"). */
	char **module_list;
	size_t nmodules;
};

/* The syslog-numbered level (BW_LOG_*) of a daemon config. */
#define bw_conf_log_level(dc) (BW_LOG_ERR + (dc)->log_level)

/* One raw line of a module instance's (or any) section. */
struct bw_conf_entry {
	char *key;
	char *value;
	char *file;  /* the file, or the -o option text */
	int line;    /* 0 for -o */
};

struct bw_conf_section {
	char *name;
	char *file;  /* where the section was first seen */
	int line;    /* 0 when it only comes from -o */
	struct bw_conf_entry *entries;
	size_t nentries;
	int required; /* the common module key 'required' (bool, default false) */
};

/* A parsed config: the sections as read plus the applied core sections. */
struct bw_conf {
	char *path;
	struct bw_conf_section *sections;
	size_t nsections;
	struct bw_daemon_conf daemon;
};

/*
 * The running daemon's core configuration (NULL before the first load).
 * bulwarkd sets it with bw_conf_set_current().
 */
extern const struct bw_daemon_conf *bw_conf;

/* Default config file: $(sysconfdir)/bulwark/bulwark.conf. */
const char *bw_conf_default_path(void);

/*
 * Read path, add the overrides (each "SECTION.KEY=VALUE"; may be NULL when
 * noverrides is 0), apply the core sections and check every section.
 * Returns the config, or NULL with the one error message in err.
 */
struct bw_conf *bw_conf_load(const char *path, char *const *overrides,
			     size_t noverrides, char *err, size_t errlen);

/* Same as bw_conf_load() with the file's text in memory (tests). name is
 * used in messages as the file name. */
struct bw_conf *bw_conf_load_string(const char *name, const char *text,
				    char *const *overrides, size_t noverrides,
				    char *err, size_t errlen);

void bw_conf_free(struct bw_conf *cf);

/* Make cf the running config: bw_conf then points at cf->daemon. */
void bw_conf_set_current(const struct bw_conf *cf);

/*
 * Check one override's form without applying it: 0, or -EINVAL with
 * "-o TEXT: expected SECTION.KEY=VALUE" in err.
 */
int bw_conf_override_check(const char *text, char *err, size_t errlen);

/* The section called name (exact match), or NULL. */
const struct bw_conf_section *bw_conf_section_find(const struct bw_conf *cf,
						   const char *name);

/* The value of the section's common key 'required' (0 when sec is NULL). */
int bw_conf_section_required(const struct bw_conf_section *sec);

/*
 * Fill dst from a key table: first every key's default, then the section's
 * entries in order (a later entry wins). sec may be NULL (defaults only).
 * A key without a default is zero, or NULL for a string, until set.
 * Unknown keys are refused, except the common module key 'required', which
 * the core reads itself (bw_conf_section_required()). section names the
 * section in messages. dst is overwritten: if it held values from an earlier
 * call, release them with bw_conf_free_keys() first. Returns 0, or -EINVAL
 * with the message in err and dst left with nothing to free.
 */
int bw_conf_apply_keys(const struct bw_conf_key *keys, void *dst,
		       const char *section, const struct bw_conf_section *sec,
		       char *err, size_t errlen);

/* Free the strings that bw_conf_apply_keys() stored in dst. */
void bw_conf_free_keys(const struct bw_conf_key *keys, void *dst);

/*
 * Print "[section]" then "key = value" for every key of the table, defaults
 * included, in table order, values written back the way the file takes them
 * (durations as "30s", sizes as "64M" when exact, enums by name).
 */
void bw_conf_print_keys(FILE *f, const char *section,
			const struct bw_conf_key *keys, const void *src);

/*
 * With on, bw_conf_print_keys() writes each key's help as a "# " comment
 * line before it (bulwarkd -n -v).
 */
void bw_conf_print_set_help(int on);

/* Print the core sections of cf (what bulwarkd -n shows first). */
void bw_conf_print(FILE *f, const struct bw_conf *cf);

/*
 * Format one value of a key the way the file takes it. Returns buf.
 */
const char *bw_conf_format_value(const struct bw_conf_key *key, const void *src,
				 char *buf, size_t buflen);

/*
 * Compare the running core config with a newly loaded one (SIGHUP). For
 * every key that differs and cannot be reloaded, log "SECTION.KEY changed:
 * needs a restart" and keep the running value in next. Returns the number
 * of keys that will change (reloadable ones).
 */
int bw_conf_merge_reload(const struct bw_conf *cur, struct bw_conf *next);

/*
 * Be told when a reload changes the core config (after bw_conf points at the
 * new one): policy.enforcement, policy.audit, ... Return value of fn is
 * ignored; log what fails. Returns 0 or -ENOMEM.
 */
int bw_conf_watch(void (*fn)(const struct bw_daemon_conf *old,
			     const struct bw_daemon_conf *cur, void *arg),
		  void *arg);

/* Call the watchers (bulwarkd, after bw_conf_set_current() on reload). */
void bw_conf_notify(const struct bw_daemon_conf *old);

/* Forget every watcher (shutdown, tests). */
void bw_conf_watch_clear(void);

/* The key tables of the core sections (for tests and documentation). */
extern const struct bw_conf_key bw_conf_daemon_keys[];
extern const struct bw_conf_key bw_conf_policy_keys[];
extern const struct bw_conf_key bw_conf_flows_keys[];
extern const struct bw_conf_key bw_conf_datapath_keys[];
extern const struct bw_conf_key bw_conf_lua_keys[];
extern const struct bw_conf_key bw_conf_proxy_keys[];
extern const struct bw_conf_key bw_conf_datapath_keys[];

#endif /* BW_CONFIG_H */
