/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/bench_l7_proxy.c - bulwark's L7 proxy engine (core/proxy/)
 * with the http module, in a process of their own, forwarding every
 * connection it accepts to one upstream: what tests/bench/bench_l7.sh puts
 * in the "explicit" position (the client connects to the proxy's address),
 * the same position haproxy has there, so that the engine and the parser
 * are compared without the redirect around them. The daemon's redirect
 * (transparent) is measured by the same script through bulwarkd.
 *
 * Usage: bench_l7_proxy -l IP:PORT -u IP:PORT [-r RULES_JSON] [-s STATS_FILE]
 *   -r  rules.http as JSON (default: everything allowed, flows only)
 *   -s  on SIGUSR1, write "heap_bytes N", "connections N" and
 *       "buffer_bytes N" lines to this file (for memory per connection)
 * SIGTERM / SIGINT stop it. Logs warnings and errors to stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/flow/flow.h"
#include "core/log.h"
#include "core/module/coreapi.h"
#include "core/module/module.h"
#include "core/module/registry.h"
#include "core/proxy/proxy.h"
#include "http.h"

extern const struct bw_module bw_module_desc;

static struct sockaddr_in upstream;
static struct bw_proxy_ruleset *rules;
static const char *stats_file;
static struct event_base *base;

static int
classify(void *arg, int fd, const struct sockaddr *peer, const struct sockaddr *local,
	 struct bw_proxy_target *t)
{
	const struct sockaddr_in *p = (const struct sockaddr_in *)peer;

	t->info.direction = BW_FLOW_TRAFFIC_INGRESS;
	t->info.ip_version = 4;
	memcpy(t->info.client_addr, &p->sin_addr, 4);
	t->info.client_port = ntohs(p->sin_port);
	memcpy(t->info.server_addr, &upstream.sin_addr, 4);
	t->info.server_port = ntohs(upstream.sin_port);
	t->parser = "http";
	t->rules = bw_proxy_ruleset_ref(rules);
	memcpy(&t->upstream, &upstream, sizeof(upstream));
	t->upstream_len = sizeof(upstream);
	return 0;
}

static int
parse_addr(const char *s, struct sockaddr_in *a)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct bw_proxy_stats st;
	struct mallinfo2 mi;
	FILE *f;

	if (sig != SIGUSR1) {
		event_base_loopbreak(base);
		return;
	}
	if (stats_file == NULL || (f = fopen(stats_file, "w")) == NULL)
		return;
	mi = mallinfo2();
	bw_proxy_stats_get(&st);
	fprintf(f, "heap_bytes %zu\nconnections %u\nbuffer_bytes %llu\n", mi.uordblks,
		st.active, (unsigned long long)st.buffer_bytes);
	fclose(f);
}

int
main(int argc, char **argv)
{
	static struct http_conf conf = { .headers_allow = "", .flow_headers = 1,
					 .allow_upgrade = "", .max_pipeline = 32 };
	static struct bw_module_ctx ctx = { .instance = "http", .prefix = "http" };
	static struct bw_core_api api;
	struct bw_proxy_redirect_ops ops = { .classify = classify };
	struct sockaddr_storage ss;
	struct rlimit rl = { 1 << 20, 1 << 20 };
	struct event *sig[3];
	const char *listen_s = NULL, *up_s = NULL, *rules_json = NULL;
	char err[512];
	socklen_t len = sizeof(struct sockaddr_in);
	int c, fd;

	while ((c = getopt(argc, argv, "l:u:r:s:h")) != -1) {
		switch (c) {
		case 'l': listen_s = optarg; break;
		case 'u': up_s = optarg; break;
		case 'r': rules_json = optarg; break;
		case 's': stats_file = optarg; break;
		default:
			fprintf(stderr, "usage: bench_l7_proxy -l IP:PORT -u IP:PORT [-r RULES_JSON] [-s STATS_FILE]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	memset(&ss, 0, sizeof(ss));
	if (listen_s == NULL || up_s == NULL || parse_addr(listen_s, (struct sockaddr_in *)&ss) < 0 ||
	    parse_addr(up_s, &upstream) < 0) {
		fprintf(stderr, "bench_l7_proxy: -l and -u take IPv4:PORT\n");
		return 2;
	}
	setrlimit(RLIMIT_NOFILE, &rl);
	signal(SIGPIPE, SIG_IGN);
	bw_log_init(0, BW_LOG_WARNING);
	base = event_base_new();
	if (base == NULL || bw_flow_ring_init(4096) < 0 || bw_proxy_init(base, NULL) < 0)
		return 1;
	api = *bw_coreapi_get();
	if (bw_module_desc.init(&ctx, &api, &conf) < 0)
		return 1;
	if (rules_json != NULL) {
		rules = bw_proxy_ruleset_get("http", rules_json, NULL, 0, err, sizeof(err));
		if (rules == NULL) {
			fprintf(stderr, "bench_l7_proxy: %s\n", err);
			return 2;
		}
	}
	if ((fd = bw_proxy_listen_socket(&ss, &len, 0)) < 0 ||
	    bw_proxy_listener_add("bench", fd, &ops) < 0) {
		fprintf(stderr, "bench_l7_proxy: cannot listen on %s: %s\n", listen_s,
			strerror(fd < 0 ? -fd : EIO));
		return 1;
	}
	sig[0] = evsignal_new(base, SIGTERM, on_signal, NULL);
	sig[1] = evsignal_new(base, SIGINT, on_signal, NULL);
	sig[2] = evsignal_new(base, SIGUSR1, on_signal, NULL);
	for (int i = 0; i < 3; i++)
		evsignal_add(sig[i], NULL);
	event_base_dispatch(base);
	for (int i = 0; i < 3; i++)
		event_free(sig[i]);
	bw_proxy_ruleset_unref(rules);
	bw_proxy_stop();
	bw_registry_drop_owner(&ctx);
	bw_proxy_fini();
	event_base_free(base);
	return 0;
}
