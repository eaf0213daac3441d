/* The crawl frontier in Redis, shared by any number of tulip-crawl
 * processes (--redis URL --crawl-id NAME): a crawl_remote (crawler.h).
 *
 * Keys, all under "tulip:{NAME}:" (one hash tag: one Cluster slot):
 *   opts          the crawl's options and seed, written once (SET NX)
 *   delay         the default politeness interval, ms
 *   seen          SET of every URL ever queued
 *   q:HOST        LIST of the host's queued items ("url\tdepth\thops\tsitemap\tparent")
 *   ready         ZSET of hosts with a queued item and free to be asked, by
 *                 the time (ms, Redis TIME) their next request may start
 *   next, ival    HASH host -> next allowed start, politeness interval (ms)
 *   busy          HASH host -> leases held on it
 *   leases        ZSET url -> lease expiry (ms); lease: HASH url -> "host\titem"
 *   stats         HASH queued, claimed, completed, reaped, stale
 * Every change is one Lua script (discover, claim, complete, renew), timed
 * by Redis's TIME, so no worker's clock matters.  See docs/CRAWL.md
 * "Several machines". */
#ifndef TULIP_CRAWL_REDIS_FRONTIER_H
#define TULIP_CRAWL_REDIS_FRONTIER_H

#include <stdio.h>

#include "crawler.h"
#include "redis_client.h"

typedef struct crawl_rfrontier crawl_rfrontier;

typedef struct crawl_rfrontier_stats {
    uint64_t claimed, completed, given_back, stale; /* this process */
    uint64_t released;                              /* given back at close */
    uint64_t claim_calls, discovered;
    /* Redis-wide, as of the last claim */
    int64_t queued, leases;
} crawl_rfrontier_stats;

/* The frontier of crawl id in r (borrowed), for a crawl with options o
 * (concurrency, timeout: the lease is 2 x timeout).  NULL with errno. */
crawl_rfrontier *crawl_rfrontier_new(crawl_redis *r, const char *id, const crawl_opts *o);

/* Join or start the crawl: the options line and the seed are written in
 * one script (SET NX), so no worker can find the crawl done before its
 * seed is queued.  Starts the lease renewer.  Must run in a task.
 * Errors: -EEXIST (a crawl with other options has this id: err says
 * both), -EINVAL (bad start URL), the client's errors. */
int crawl_rfrontier_open(crawl_rfrontier *f, const char *options, char *err, size_t errlen);

/* Called before each round trip that completes URLs: their rows must be
 * written (a kill -9 after the complete must not lose them). */
void crawl_rfrontier_on_commit(crawl_rfrontier *f, void (*fn)(void *), void *arg);

/* The crawl_remote to put in crawl_opts.remote. */
const crawl_remote *crawl_rfrontier_remote(crawl_rfrontier *f);

void crawl_rfrontier_stats_get(const crawl_rfrontier *f, crawl_rfrontier_stats *out);

/* Stop the renewer (leases still held expire and are reaped). */
void crawl_rfrontier_close(crawl_rfrontier *f);
void crawl_rfrontier_free(crawl_rfrontier *f);

/* The options line of o that must agree among the workers of a crawl. */
char *crawl_rfrontier_options(const crawl_opts *o);

/* The counts of crawl id, as Redis has them now. */
typedef struct crawl_rfrontier_counts {
    long long queued, leases, hosts, ready, waiting, busy, seen;
    long long claimed, completed, reaped, stale, released;
} crawl_rfrontier_counts;

/* Must run in a task.  Errors: the client's; -ENOENT: no such crawl. */
int crawl_rfrontier_counts_get(crawl_redis *r, const char *id, crawl_rfrontier_counts *out);

/* --status: those counts of crawl id, printed to out.  The same errors. */
int crawl_rfrontier_status(crawl_redis *r, const char *id, FILE *out);

#endif
