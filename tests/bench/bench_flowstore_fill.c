/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/bench_flowstore_fill.c - fills a flow store database the way
 * the module does (the module's own batch and database code, linked in), for
 * the flow store benchmark (tests/bench/bench_flowstore.sh):
 *
 *   bench_flowstore_fill -f FILE -n FLOWS [-k KEYS] [-w WORKLOADS] [-N NAMESPACES]
 *                        [-H HOURS] [-e ENDPOINTS] [-x] [-a]
 *
 * FLOWS connection records spread evenly over KEYS distinct (source,
 * destination, port, verdict) keys and over the last HOURS hours (one
 * bucket per hour of the default 1-minute buckets); sources are WORKLOADS
 * workloads "nsI/appJ" over NAMESPACES namespaces, destinations other
 * workloads (three quarters) or addresses in 198.51.100.0/24, one in 20
 * records DROPPED with a policy. ENDPOINTS endpoints "nsI/appJ-K" get denied
 * counts and every workload seen paths. -x: every flow its own key (the
 * worst case for size). -a (the advisor benchmark, bench_advisor.sh): every
 * key distinct and what a node records: each key is a (source workload,
 * destination workload, port) of WORKLOADS^2 pairs and KEYS / WORKLOADS^2
 * ports, recorded at both sides (an EGRESS and an INGRESS record), one
 * destination in eight outside the cluster (EGRESS only), one key in 20
 * DROPPED. Prints "flows N rows R bytes B seconds S".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/flowpeer.h"
#include "modules/flowstore/flowstore.h"

static double
fill_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
fill_usage(void)
{
	fprintf(stderr, "usage: bench_flowstore_fill -f FILE -n FLOWS [-k KEYS] [-w WORKLOADS] "
			"[-N NAMESPACES] [-H HOURS] [-e ENDPOINTS] [-x]\n");
	exit(2);
}

static unsigned long long fill_pushed;

static void
fill_push(struct fs_db *db, struct fs_batch *b)
{
	fill_pushed++;
	while (fs_db_push(db, b) == -ENOBUFS) {
		/* the queue is full: the batch was freed; this cannot happen
		 * with a large queue, but never spin silently */
		fprintf(stderr, "bench_flowstore_fill: queue full\n");
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	const char *file = NULL;
	long long flows = 0, keys = 1000, wls = 500, nss = 50, hours = 24, eps = 1000;
	int distinct = 0, advisor = 0, c, fd;
	struct fs_db_settings s;
	struct fs_db_stats st;
	struct fs_db *db;
	struct stat sb;
	double t0;
	int64_t now, b0;
	long long rows_per_key_hour, rem, row = 0, done = 0;

	while ((c = getopt(argc, argv, "f:n:k:w:N:H:e:xa")) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 'n': flows = atoll(optarg); break;
		case 'k': keys = atoll(optarg); break;
		case 'w': wls = atoll(optarg); break;
		case 'N': nss = atoll(optarg); break;
		case 'H': hours = atoll(optarg); break;
		case 'e': eps = atoll(optarg); break;
		case 'x': distinct = 1; break;
		case 'a': advisor = 1; break;
		default: fill_usage();
		}
	}
	if (file == NULL || flows <= 0 || keys <= 0 || wls <= 0 || nss <= 0 || hours <= 0)
		fill_usage();
	if (distinct)
		keys = flows;
	memset(&s, 0, sizeof(s));
	s.path = (char *)file;
	s.retention = 3650LL * 86400000;
	s.raw_retention = s.retention;
	s.max_size = 1LL << 42;
	s.bucket = 60000;
	s.queue_max = 1000000;
	if (fs_db_start(&db, &s, &fd) < 0) {
		fprintf(stderr, "bench_flowstore_fill: cannot start the database thread\n");
		return 1;
	}
	now = fs_now_ms();
	b0 = now - now % 60000;
	t0 = fill_now();
	/* each key gets its share of the flows in each hour */
	rows_per_key_hour = flows / (keys * hours);
	rem = flows % (keys * hours);
	if (rows_per_key_hour < 1) {
		rows_per_key_hour = 1;
		rem = 0;
	}
	for (long long h = 0; h < hours && done < flows; h++) {
		int64_t bucket = b0 - h * 3600000;
		struct fs_batch *b = fs_batch_new(100000);

		for (long long k = 0; k < keys && done < flows; k++) {
			char src[64], dst[64], srcns[32], dstns[32];
			long long w = k % wls, v = (k / wls) % wls;
			struct fs_rec r;

			memset(&r, 0, sizeof(r));
			snprintf(srcns, sizeof(srcns), "ns%lld", w % nss);
			snprintf(src, sizeof(src), "ns%lld/app%lld", w % nss, w / nss);
			r.src = src;
			r.src_ns = srcns;
			r.src_kind = BW_PEER_POD;
			if (distinct) {
				snprintf(dst, sizeof(dst), "10.%lld.%lld.%lld/32", (k >> 16) & 255,
					 (k >> 8) & 255, k & 255);
				r.dst_kind = BW_PEER_WORLD;
			} else if (k % 4 != 3) {
				snprintf(dstns, sizeof(dstns), "ns%lld", v % nss);
				snprintf(dst, sizeof(dst), "ns%lld/app%lld", v % nss, v / nss);
				r.dst_ns = dstns;
				r.dst_kind = BW_PEER_POD;
			} else {
				snprintf(dst, sizeof(dst), "198.51.100.%lld/32", k % 250);
				r.dst_kind = BW_PEER_WORLD;
			}
			if (advisor) {
				long long pair = k % (wls * wls), pi = k / (wls * wls);

				w = pair % wls;
				v = pair / wls;
				snprintf(srcns, sizeof(srcns), "ns%lld", w % nss);
				snprintf(src, sizeof(src), "ns%lld/app%lld", w % nss, w / nss);
				if (v % 8 == 7) {
					snprintf(dst, sizeof(dst), "203.0.%lld.%lld/32", (v / 8) % 250,
						 w % 250);
					r.dst_ns = NULL;
					r.dst_kind = BW_PEER_WORLD;
				} else {
					snprintf(dstns, sizeof(dstns), "ns%lld", v % nss);
					snprintf(dst, sizeof(dst), "ns%lld/app%lld", v % nss, v / nss);
					r.dst_ns = dstns;
					r.dst_kind = BW_PEER_POD;
				}
				r.bucket = bucket;
				r.dst = dst;
				r.port = (uint16_t)(1000 + pi);
				r.proto = 6;
				r.verdict = k % 20 == 0 ? BW_FLOW_VERDICT_DROPPED
							: BW_FLOW_VERDICT_FORWARDED;
				r.policies = (char *)"";
				r.count = (uint64_t)(rows_per_key_hour + (row++ < rem ? 1 : 0));
				if (done + (long long)r.count > flows)
					r.count = (uint64_t)(flows - done);
				r.first = bucket;
				r.last = bucket + 59000;
				r.dir = BW_FLOW_TRAFFIC_EGRESS;
				fs_batch_add(b, &r);
				if (r.dst_kind == BW_PEER_POD) {
					r.dir = BW_FLOW_TRAFFIC_INGRESS;
					fs_batch_add(b, &r);
				}
				done += (long long)r.count;
				if (b->nrecs >= 50000) {
					fill_push(db, b);
					b = fs_batch_new(100000);
				}
				continue;
			}
			r.dst = dst;
			r.bucket = bucket;
			r.port = (uint16_t)(80 + k % 40);
			r.proto = 6;
			r.dir = r.dst_kind == BW_PEER_POD ? BW_FLOW_TRAFFIC_INGRESS
							  : BW_FLOW_TRAFFIC_EGRESS;
			r.verdict = k % 20 == 0 ? BW_FLOW_VERDICT_DROPPED : BW_FLOW_VERDICT_FORWARDED;
			r.policies = k % 20 == 0 ? (char *)"NetworkPolicy ns0/default-deny" : (char *)"";
			r.count = (uint64_t)(rows_per_key_hour + (row++ < rem ? 1 : 0));
			if (done + (long long)r.count > flows)
				r.count = (uint64_t)(flows - done);
			r.first = bucket;
			r.last = bucket + 59000;
			fs_batch_add(b, &r);
			done += (long long)r.count;
			if (b->nrecs >= 50000) {
				fill_push(db, b);
				b = fs_batch_new(100000);
			}
		}
		for (long long e = 0; e < eps; e++) {
			char ep[64];

			snprintf(ep, sizeof(ep), "ns%lld/app%lld-%lld", e % nss,
				 (e / nss) % (wls / nss > 0 ? wls / nss : 1), e);
			fs_batch_deny(b, bucket, ep, BW_FLOW_TRAFFIC_INGRESS, BW_FLOW_VERDICT_DROPPED);
		}
		for (long long w = 0; w < wls; w++) {
			char wl[64];

			snprintf(wl, sizeof(wl), "ns%lld/app%lld", w % nss, w / nss);
			fs_batch_seen(b, wl, (int)(w % FS_NPATHS), bucket);
		}
		fill_push(db, b);
	}
	do { /* everything written */
		usleep(10000);
		fs_db_stats(db, &st);
	} while (st.batches + st.write_errors < fill_pushed);
	fs_db_stop(db);
	if (stat(file, &sb) < 0)
		sb.st_size = 0;
	{
		char wal[4096];
		struct stat wb;

		snprintf(wal, sizeof(wal), "%s-wal", file);
		if (stat(wal, &wb) == 0)
			sb.st_size += wb.st_size;
	}
	printf("flows %lld rows %llu bytes %lld seconds %.3f\n", done,
	       (unsigned long long)st.records, (long long)sb.st_size, fill_now() - t0);
	return 0;
}
