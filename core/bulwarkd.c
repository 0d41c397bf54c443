/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/bulwarkd.c - the daemon's main(): options, config, loop, signals.
 *
 * bulwarkd runs in the foreground under a supervisor (systemd, a test
 * script). One libevent event_base runs on the main thread; SIGTERM and
 * SIGINT stop it cleanly (exit 0), SIGHUP re-reads the config and applies
 * what can change without a restart. Readiness, reloads and shutdown are
 * reported with sd_notify(3), which does nothing outside systemd.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "core/api.h"
#include "core/config.h" /* before datapath.h (BW_ENFORCE_* macros) */
#include "core/datapath/datapath.h"
#include "core/datapath/redirect.h"
#include "core/datapath/earlydemux.h"
#include "core/datapath/sklookup.h"
#include "core/datapath/uplink.h"
#include "core/node/endpoint.h"
#include "core/flow/flow.h"
#include "core/node/fqdn.h"
#include "core/node/identity.h"
#include "core/node/ipcache.h"
#include "core/log.h"
#include "core/lua/lua.h"
#include "core/module/coreapi.h"
#include "core/module/module.h"
#include "core/policy/policy.h"
#include "core/policy/quarantine.h"
#include "core/module/alertbus.h"
#include "core/proxy/proxy.h"
#include "core/module/registry.h"
#include "core/state.h"

#define BWD_ERR_MAX 1024

struct bwd {
	const char *conf_path;
	char **overrides;
	size_t noverrides;
	struct bw_conf *cf;
	struct event_base *base;
};

#define BWD_USAGE "usage: bulwarkd [-c FILE] [-o SECTION.KEY=VALUE]... [-n [-v]] [-h] [-V]\n"

static void
bwd_usage(FILE *f)
{
	fprintf(f,
BWD_USAGE
"\n"
"bulwark node daemon: identity-based network policy enforced with eBPF,\n"
"flows and metrics. Runs in the foreground.\n"
"\n"
"  -c FILE               config file (default %s)\n"
"  -o SECTION.KEY=VALUE  override one config key, after the file; may repeat\n"
"                        (e.g. -o daemon.socket=/tmp/bw.sock -o policy.audit=true)\n"
"  -n                    check the config and the modules it loads, print the\n"
"                        effective config with every default, and exit\n"
"  -v                    with -n: write each key's help as a comment above it\n"
"  -h, --help            this help\n"
"  -V, --version         print the version and exit\n"
"\n"
"Signals: SIGTERM/SIGINT stop, SIGHUP reloads the config.\n"
"Configuration reference: bulwarkd(8), docs/configuration.md.\n",
		bw_conf_default_path());
}

/* The directory part of a path ("." when there is none). */
static void
bwd_dirname(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(buf, len, ".");
	else if (slash == path)
		snprintf(buf, len, "/");
	else
		snprintf(buf, len, "%.*s", (int)(slash - path), path);
}

static int
bwd_make_dirs(const struct bw_daemon_conf *dc)
{
	char dir[PATH_MAX];
	int rc;

	if ((rc = bw_state_mkdir_p(dc->state_dir, 0700)) < 0) {
		bw_err_errno(rc, "daemon.state_dir %s: cannot create",
			     dc->state_dir);
		return rc;
	}
	bwd_dirname(dc->socket, dir, sizeof(dir));
	if ((rc = bw_state_mkdir_p(dir, 0755)) < 0) {
		bw_err_errno(rc, "daemon.socket: cannot create %s", dir);
		return rc;
	}
	return 0;
}

static void
bwd_apply_log(const struct bw_daemon_conf *dc)
{
	bw_log_init(dc->log_target, bw_conf_log_level(dc));
}

static void
bwd_reload(struct bwd *d)
{
	char err[BWD_ERR_MAX];
	struct bw_conf *next, *old;

	sd_notify(0, "RELOADING=1");
	bw_notice("SIGHUP: reloading %s", d->conf_path);
	next = bw_conf_load(d->conf_path, d->overrides, d->noverrides, err,
			    sizeof(err));
	if (next == NULL) {
		bw_err("reload refused, running config kept: %s", err);
		goto out;
	}
	/* Modules check their new sections first: all or nothing. */
	if (bw_modules_reload(next) < 0) {
		bw_err("reload refused, running config kept (module configuration)");
		bw_conf_free(next);
		goto out;
	}
	bw_conf_merge_reload(d->cf, next);
	old = d->cf;
	d->cf = next;
	bw_conf_set_current(next);
	bwd_apply_log(&next->daemon);
	bw_conf_notify(&old->daemon);
	bw_conf_free(old);
	bw_notice("reload done");
out:
	sd_notify(0, "READY=1");
}

static void
bwd_signal(evutil_socket_t sig, short what, void *arg)
{
	struct bwd *d = arg;

	switch (sig) {
	case SIGHUP:
		bwd_reload(d);
		break;
	default:
		bw_notice("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
		event_base_loopbreak(d->base);
		break;
	}
}

static int
bwd_check(struct bwd *d)
{
	char err[BWD_ERR_MAX];

	size_t failed;

	if (bw_modules_load(d->cf, 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "bulwarkd: %s\n", err);
		bw_modules_fini();
		return 1;
	}
	/*
	 * At run time a module that cannot be loaded is disabled and the
	 * daemon carries on; a check must still say so (reasons were logged).
	 */
	failed = bw_modules_count(BW_INSTANCE_FAILED);
	if (failed > 0) {
		fprintf(stderr, "bulwarkd: %s: %zu module instance(s) cannot be loaded\n",
			d->conf_path, failed);
		bw_modules_fini();
		return 1;
	}
	bw_conf_print(stdout, d->cf);
	bw_modules_print_config(stdout);
	bw_modules_fini();
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "bulwarkd: cannot write the configuration: %s\n",
			strerror(errno));
		return 1;
	}
	fprintf(stderr, "bulwarkd: %s: configuration OK\n", d->conf_path);
	return 0;
}

/* Connection tracking garbage collection (expired entries), every 10 s. */
#define BWD_CT_GC_SECONDS 10

static void
bwd_ct_gc(evutil_socket_t fd, short what, void *arg)
{
	int n = bw_datapath_ct_gc();

	if (n > 0)
		bw_debug("conntrack: %d expired entries removed", n);
}


/*
 * Raise the open-file limit to its hard maximum: every endpoint, client
 * connection, proxied connection and pinned object holds descriptors, and
 * the distribution's default soft limit (1024) is reached under load. What
 * happens when it is reached anyway: the listeners pause accepting
 * (lib/httpguard.c) and policy.dir scans are retried.
 */
static void
bwd_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	{
		rlim_t old = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 20))
			rl.rlim_cur = 1u << 20; /* enough, and what the kernel takes */
		if (rl.rlim_cur <= old)
			return;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			bw_warn_errno(errno, "cannot raise the open files limit from %llu",
				      (unsigned long long)old);
		else
			bw_info("open files limit raised from %llu to %llu",
				(unsigned long long)old, (unsigned long long)rl.rlim_cur);
	}
}

static int
bwd_run(struct bwd *d)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct event *sigev[3] = { NULL, NULL, NULL };
	const struct bw_daemon_conf *dc = &d->cf->daemon;
	char err[BWD_ERR_MAX];
	int rc = 1, api_up = 0, loaded = 0, subsys = 0, flows_up = 0, e;
	int proxy_up = 0, lua_up = 0;
	struct event *ct_gc = NULL;
	struct timeval ct_gc_tv = { BWD_CT_GC_SECONDS, 0 };
	struct bw_config dpcfg;

	bw_log_libbpf();
	bwd_raise_nofile();
	if (bwd_make_dirs(dc) < 0)
		return 1;

	signal(SIGPIPE, SIG_IGN);
	d->base = event_base_new();
	if (d->base == NULL) {
		bw_err("cannot create the event loop");
		return 1;
	}
	for (size_t i = 0; i < 3; i++) {
		sigev[i] = evsignal_new(d->base, sigs[i], bwd_signal, d);
		if (sigev[i] == NULL || evsignal_add(sigev[i], NULL) < 0) {
			bw_err("cannot install the signal handlers");
			goto out;
		}
	}

	if (bw_modules_load(d->cf, 0, err, sizeof(err)) < 0) {
		bw_err("%s", err);
		goto out;
	}
	loaded = 1;
	bw_api_set_limits((unsigned)dc->api_max_connections,
			  (unsigned)((dc->api_request_timeout + 999) / 1000));
	if (bw_api_init(d->base, dc->socket, dc->socket_group) < 0)
		goto out; /* logged */
	api_up = 1;

	/*
	 * Subsystem init in dependency order. Each call logs its own error
	 * and returns < 0 when the daemon must not start. Add new core
	 * subsystems here (datapath, identities, endpoints, policy, flows),
	 * before the modules, which may use them from their init().
	 */
	bw_policy_datapath_config(&dpcfg);
	bw_datapath_set_attach_mode(dc->tc_attach); /* daemon.tc_attach */
	bw_datapath_set_ipcache_max((unsigned)dc->ipcache_max_entries);
	if (bw_datapath_init(dc->bpffs_dir, &dpcfg) < 0)
		goto out; /* logged */
	subsys = 1;
	if (bw_redirect_init((uint32_t)dc->redirect_table, (uint32_t)dc->redirect_priority) < 0)
		goto out; /* logged */
	bw_earlydemux_apply(dc->early_demux, dc->state_dir); /* warns */
	if ((e = bw_earlydemux_watch()) < 0) {
		bw_err_errno(e, "cannot follow daemon.early_demux");
		goto out;
	}
	/* SYNs of redirected clients that reuse a port in TIME_WAIT */
	if (bw_sklookup_init(dc->bpffs_dir) < 0)
		goto out; /* logged */
	/* datapath.uplinks: L7 ingress redirects of traffic from outside */
	if (bw_uplink_init(dc->bpffs_dir, dc->state_dir, dc->datapath_uplinks) < 0)
		goto out; /* logged */
	if ((e = bw_uplink_watch()) < 0) {
		bw_err_errno(e, "cannot follow datapath.uplinks");
		goto out;
	}
	if (bw_ipcache_init() < 0 || bw_identity_init() < 0 || bw_endpoint_init() < 0)
		goto out;
	subsys = 2;
	if (bw_flow_init(d->base) < 0)
		goto out;
	flows_up = 1;
	/* the L7 proxy engine, before the modules that register parsers */
	if (bw_proxy_init(d->base, dc) < 0)
		goto out;
	proxy_up = 1;
	/* each L7 parser the modules register gets its redirect listeners */
	if (bw_proxy_redirect_start(d->base) < 0)
		goto out;

	if (bw_modules_init(d->base, bw_coreapi_get()) < 0)
		goto out;
	if (bw_modules_start() < 0)
		goto out;

	/*
	 * Restart without a window of wrong verdicts (DESIGN 12): the pinned
	 * maps kept enforcing; endpoints and identities come back with their
	 * numbers (the identity module is loaded by now), the policies are
	 * loaded, resolved, and only differences are written before the
	 * programs are re-attached.
	 */
	if (bw_endpoint_restore() < 0)
		goto out;
	if (bw_policy_init(d->base) < 0)
		goto out;
	subsys = 3;
	if ((e = bw_policy_api_init()) < 0) {
		bw_err_errno(e, "policy: cannot register the API routes");
		goto out;
	}
	if (dc->policy_dir && *dc->policy_dir &&
	    (e = bw_policydir_start(d->base, dc->policy_dir)) < 0) {
		bw_err_errno(e, "policy: cannot start the policy.dir watcher");
		goto out;
	}
	/* quarantines are policies too: restored before the first recompute */
	if (bw_quarantine_init(d->base) < 0)
		goto out;
	subsys = 4;
	if (bw_policy_start() < 0)
		goto out;
	if (bw_endpoint_attach_all() < 0)
		bw_warn("some endpoints could not be attached (see above)");
	/* the Lua host: the policy state is complete, flows are flowing */
	if (bw_lua_init(d->base) < 0)
		goto out;
	lua_up = 1;
	ct_gc = event_new(d->base, -1, EV_PERSIST, bwd_ct_gc, NULL);
	if (ct_gc == NULL || event_add(ct_gc, &ct_gc_tv) < 0) {
		bw_err("cannot start the conntrack garbage collector");
		goto out;
	}

	bw_api_set_ready(1);
	sd_notify(0, "READY=1");
	bw_notice("bulwarkd %s started: %zu module instance(s), socket %s",
		  PACKAGE_VERSION, dc->nmodules, dc->socket);

	if (event_base_dispatch(d->base) < 0) {
		bw_err("event loop failed");
		goto out;
	}
	rc = 0;
out:
	sd_notify(0, "STOPPING=1");
	if (api_up)
		bw_api_set_ready(0);
	/* in-flight proxied connections end cleanly, while their parsers live */
	if (proxy_up)
		bw_proxy_stop();
	if (loaded)
		bw_modules_stop();
	if (lua_up)
		bw_lua_fini();
	if (flows_up)
		bw_flow_fini();
	if (api_up)
		bw_api_fini();
	/* Subsystem teardown in reverse order goes here. */
	if (ct_gc)
		event_free(ct_gc);
	if (subsys >= 4)
		bw_quarantine_fini();
	if (subsys >= 3) {
		bw_policydir_stop();
		bw_policy_fini();
	}
	if (subsys >= 2) {
		bw_fqdn_fini();
		bw_endpoint_fini();
		bw_identity_fini();
		bw_ipcache_fini();
	}
	if (subsys >= 1) {
		bw_uplink_close();
		bw_sklookup_close();
		bw_earlydemux_restore();
		bw_redirect_close();
		bw_datapath_close();
	}
	if (loaded)
		bw_modules_fini();
	if (proxy_up)
		bw_proxy_fini();
	bw_alertbus_fini();
	bw_registry_fini();
	for (size_t i = 0; i < 3; i++)
		if (sigev[i])
			event_free(sigev[i]);
	event_base_free(d->base);
	d->base = NULL;
	if (rc == 0)
		bw_notice("stopped");
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct bwd d = { .conf_path = bw_conf_default_path() };
	char err[BWD_ERR_MAX];
	int ch, check = 0, verbose = 0, rc;

	while ((ch = getopt_long(argc, argv, "c:o:nvhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			d.conf_path = optarg;
			break;
		case 'o':
			if (bw_conf_override_check(optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "bulwarkd: %s\n", err);
				return 1;
			}
			d.overrides = realloc(d.overrides,
					      (d.noverrides + 1) * sizeof(char *));
			if (d.overrides == NULL) {
				fprintf(stderr, "bulwarkd: out of memory\n");
				return 1;
			}
			d.overrides[d.noverrides++] = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			bwd_usage(stdout);
			return 0;
		case 'V':
			printf("bulwarkd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			fputs(BWD_USAGE, stderr);
			return 1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "bulwarkd: unexpected argument '%s'\n", argv[optind]);
		fputs(BWD_USAGE, stderr);
		return 1;
	}

	d.cf = bw_conf_load(d.conf_path, d.overrides, d.noverrides, err,
			    sizeof(err));
	if (d.cf == NULL) {
		fprintf(stderr, "bulwarkd: %s\n", err);
		free(d.overrides);
		return 1;
	}
	bw_conf_set_current(d.cf);
	bwd_apply_log(&d.cf->daemon);

	bw_conf_print_set_help(verbose);
	rc = check ? bwd_check(&d) : bwd_run(&d);

	bw_conf_set_current(NULL);
	bw_conf_watch_clear();
	bw_conf_free(d.cf);
	free(d.overrides);
	return rc;
}
